/*
** index_tensor.c: index tensors, the one integer index representation
** every part of the API takes (see ag_loss.h): an f32 or f64 tensor of
** whole numbers, as Embedding's forward reads them, made from int64_t
** arrays here and read back into them for the class-index losses.
*/
#include "loss_util.h"

#include <math.h>
#include <stdlib.h>

ag_tensor *ag_index_tensor(ag_tape *t, ag_dtype dt, int ndim, const int64_t *shape,
                           const int64_t *idx)
{
    const char *fn = "ag_index_tensor";
    if (t && !agi_loss_begin(t, fn)) return NULL;
    int shape_ok = ndim >= 0 && ndim <= AG_MAX_DIMS && (ndim == 0 || shape);
    int64_t n = shape_ok ? ag_shape_numel(ndim, shape) : -1;
    int64_t limit = dt == AG_F32 ? 16777216 : 9007199254740992;
    ag_status s = dt != AG_F32 && dt != AG_F64 ? AG_ERR_DTYPE
                : n < 0 || (n > 0 && !idx) ? AG_ERR_ARG : AG_OK;
    int64_t bad = -1;
    for (int64_t i = 0; s == AG_OK && i < n && bad < 0; i++)
        if (idx[i] > limit || idx[i] < -limit) bad = i;
    if (s != AG_OK || bad >= 0) {
        const char *why = s == AG_ERR_DTYPE ? "dtype must be AG_F32 or AG_F64"
                        : s == AG_ERR_ARG ? "bad shape or NULL indices"
                        : "an index beyond 2^24 (f32) or 2^53 (f64) is not exact";
        if (s == AG_OK) s = AG_ERR_ARG;
        if (t) return ag_tape_set_error(t, s, "%s: %s (at %lld)", fn, why, (long long)bad), NULL;
        return ag_set_last_error(s, "%s: %s (at %lld)", fn, why, (long long)bad), NULL;
    }
    ag_tensor *x = ag_zeros(t, dt, ndim, shape);
    for (int64_t i = 0; x && i < n; i++) ag_tensor_set(x, i, (double)idx[i]);
    return x;
}

/* targets' values as a malloc'ed int64 array of count entries, its shape
   checked against the input's minus the class axis; NULL + error on t. */
static int64_t *read_targets(ag_tape *t, const char *fn, const ag_tensor *x,
                             const ag_tensor *targets)
{
    char sx[AGI_LOSS_DIMS], st[AGI_LOSS_DIMS];
    if (!agi_loss_tensor(t, fn, "input", x) || !agi_loss_tensor(t, fn, "targets", targets))
        return NULL;
    int nd = ag_tensor_ndim(x), axis = nd == 1 ? 0 : 1, k = 0;
    int ok = nd >= 1 && ag_tensor_ndim(targets) == nd - 1;
    for (int d = 0; ok && d < nd; d++)
        if (d != axis) ok = ag_tensor_shape(targets)[k++] == ag_tensor_shape(x)[d];
    if (!ok)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: targets is %s, expected the input's shape "
                                 "%s without the class axis", fn, agi_loss_dims(targets, st),
                                 agi_loss_dims(x, sx)), NULL;
    int64_t n = ag_tensor_numel(targets);
    int64_t *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) return ag_tape_set_error(t, AG_ERR_NOMEM, "%s: out of memory", fn), NULL;
    for (int64_t i = 0; i < n; i++) {
        double y = ag_tensor_get(targets, i);
        if (!(y == floor(y) && fabs(y) <= 9007199254740992.0)) {
            free(v);
            return ag_tape_set_error(t, AG_ERR_ARG, "%s: targets[%lld] = %.17g is not a whole "
                                     "number", fn, (long long)i, y), NULL;
        }
        v[i] = (int64_t)y;
    }
    return v;
}

typedef ag_tensor *(*index_loss_fn)(ag_tape *, ag_tensor *, const int64_t *,
                                    const ag_class_loss_opts *, ag_reduction);

static ag_tensor *tensor_loss(const char *fn, index_loss_fn f, ag_tape *t, ag_tensor *x,
                              const ag_tensor *targets, const ag_class_loss_opts *opts,
                              ag_reduction red)
{
    if (!agi_loss_begin(t, fn)) return NULL;
    int64_t *v = read_targets(t, fn, x, targets);
    if (!v) return NULL;
    ag_tensor *y = f(t, x, v, opts, red);
    free(v);
    return y;
}

ag_tensor *ag_cross_entropy_loss_t(ag_tape *t, ag_tensor *logits, const ag_tensor *targets,
                                   const ag_class_loss_opts *opts, ag_reduction red)
{
    return tensor_loss("ag_cross_entropy_loss_t", ag_cross_entropy_loss_ex, t, logits, targets,
                       opts, red);
}

ag_tensor *ag_nll_loss_t(ag_tape *t, ag_tensor *logp, const ag_tensor *targets,
                         const ag_class_loss_opts *opts, ag_reduction red)
{
    return tensor_loss("ag_nll_loss_t", ag_nll_loss_ex, t, logp, targets, opts, red);
}
