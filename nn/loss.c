/*
** loss.c: what every loss shares: argument checks that name the loss in
** their messages, and the reductions. The losses themselves live in
** loss_regression.c (elementwise, binary, divergence, penalties) and
** loss_class.c (class-index and probability-target losses).
*/
#include "loss_util.h"

#include <stdio.h>

const char *agi_loss_dims(const ag_tensor *x, char buf[AGI_LOSS_DIMS])
{
    int n = 0, nd = ag_tensor_ndim(x);
    const int64_t *shape = ag_tensor_shape(x);
    buf[n++] = '[';
    for (int i = 0; i < nd && n < AGI_LOSS_DIMS - 24; i++)
        n += snprintf(buf + n, (size_t)(AGI_LOSS_DIMS - n), i ? ",%lld" : "%lld",
                      (long long)shape[i]);
    snprintf(buf + n, (size_t)(AGI_LOSS_DIMS - n), "]");
    return buf;
}

const char *agi_loss_dtype(const ag_tensor *x)
{
    return ag_tensor_dtype(x) == AG_F64 ? "f64" : "f32";
}

int agi_loss_begin(ag_tape *t, const char *fn)
{
    if (!t) return ag_set_last_error(AG_ERR_ARG, "%s: tape is NULL", fn), 0;
    return ag_tape_status(t) == AG_OK;
}

int agi_loss_tensor(ag_tape *t, const char *fn, const char *name, const ag_tensor *x)
{
    if (!x) return ag_tape_set_error(t, AG_ERR_ARG, "%s: %s is NULL", fn, name), 0;
    if (ag_tensor_tape(x) && ag_tensor_tape(x) != t)
        return ag_tape_set_error(t, AG_ERR_STATE, "%s: %s belongs to another tape", fn, name), 0;
    return 1;
}

int agi_loss_reduction(ag_tape *t, const char *fn, ag_reduction red, int batchmean_ok)
{
    if (red == AG_REDUCTION_MEAN || red == AG_REDUCTION_SUM || red == AG_REDUCTION_NONE)
        return 1;
    if (red == AG_REDUCTION_BATCHMEAN && batchmean_ok) return 1;
    if (red == AG_REDUCTION_BATCHMEAN)
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: AG_REDUCTION_BATCHMEAN is only for "
                                 "ag_kl_div_loss (use MEAN, SUM or NONE)", fn), 0;
    return ag_tape_set_error(t, AG_ERR_ARG, "%s: reduction %d is not one of AG_REDUCTION_MEAN, "
                             "AG_REDUCTION_SUM, AG_REDUCTION_NONE", fn, (int)red), 0;
}

int agi_loss_same(ag_tape *t, const char *fn, const char *aname, const ag_tensor *a,
                  const char *bname, const ag_tensor *b)
{
    char sa[AGI_LOSS_DIMS], sb[AGI_LOSS_DIMS];
    if (ag_tensor_dtype(a) != ag_tensor_dtype(b))
        return ag_tape_set_error(t, AG_ERR_DTYPE, "%s: dtypes differ: %s is %s, %s is %s", fn,
                                 aname, agi_loss_dtype(a), bname, agi_loss_dtype(b)), 0;
    int same = ag_tensor_ndim(a) == ag_tensor_ndim(b);
    for (int d = 0; same && d < ag_tensor_ndim(a); d++)
        same = ag_tensor_shape(a)[d] == ag_tensor_shape(b)[d];
    if (!same)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: shapes differ: %s is %s, %s is %s", fn,
                                 aname, agi_loss_dims(a, sa), bname, agi_loss_dims(b, sb)), 0;
    return 1;
}

int agi_loss_broadcasts(ag_tape *t, const char *fn, const char *wname, const ag_tensor *w,
                        const char *xname, const ag_tensor *x)
{
    char sw[AGI_LOSS_DIMS], sx[AGI_LOSS_DIMS];
    if (!agi_loss_tensor(t, fn, wname, w)) return 0;
    if (ag_tensor_dtype(w) != ag_tensor_dtype(x))
        return ag_tape_set_error(t, AG_ERR_DTYPE, "%s: dtypes differ: %s is %s, %s is %s", fn,
                                 wname, agi_loss_dtype(w), xname, agi_loss_dtype(x)), 0;
    int nw = ag_tensor_ndim(w), nx = ag_tensor_ndim(x), fits = nw <= nx;
    for (int d = 0; fits && d < nw; d++) {
        int64_t dw = ag_tensor_shape(w)[nw - 1 - d], dx = ag_tensor_shape(x)[nx - 1 - d];
        fits = dw == dx || dw == 1;
    }
    if (!fits)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: %s of shape %s does not broadcast to "
                                 "%s's shape %s", fn, wname, agi_loss_dims(w, sw), xname,
                                 agi_loss_dims(x, sx)), 0;
    return 1;
}

ag_tensor *agi_loss_reduce(ag_tape *t, ag_tensor *loss, ag_reduction red)
{
    switch (red) {
    case AG_REDUCTION_MEAN: return ag_mean(t, loss, AG_ALL, 0);
    case AG_REDUCTION_SUM: return ag_sum(t, loss, AG_ALL, 0);
    case AG_REDUCTION_BATCHMEAN:
        if (!loss) return NULL;
        return ag_div_scalar(t, ag_sum(t, loss, AG_ALL, 0), (double)ag_tensor_dim(loss, 0));
    case AG_REDUCTION_NONE: return loss;
    }
    return NULL;
}
