/*
** random.c: random constants drawn on the tape. ag_dropout_mask is a
** constant (it records nothing): dropout itself is ag_mul(x, mask), so its
** gradient, to any order, comes from ag_mul.
*/
#include "ag_ops_internal.h"
#include "ag_random.h"

static const agi_op op_dropout_mask = {"ag_dropout_mask", NULL};

/* y[i] = u_i >= p ? 1/(1-p) : 0, one uniform u_i per element in order. */
#define DROPOUT_LOOP(T, Y, R, P)                                              \
    do {                                                                      \
        T *py = (T *)(Y)->data;                                               \
        const T keep = (P) < 1 ? (T)(1.0 / (1.0 - (P))) : 0;                  \
        for (int64_t i = 0; i < (Y)->numel; i++)                              \
            py[i] = ag_rng_uniform(R) >= (P) ? keep : 0;                      \
    } while (0)

ag_tensor *ag_dropout_mask(ag_tape *t, ag_rng *r, ag_dtype dt, int ndim,
                           const int64_t *shape, double p)
{
    const char *fn = op_dropout_mask.name;
    if (t && t->status != AG_OK) return NULL;
    if (!r) return agi_fail(t, AG_ERR_ARG, "%s: generator is NULL", fn);
    if (!(p >= 0 && p <= 1))
        return agi_fail(t, AG_ERR_ARG, "%s: p is %g, not in [0, 1]", fn, p);
    if (ndim > 0 && !shape) return agi_fail(t, AG_ERR_ARG, "%s: shape is NULL", fn);
    ag_tensor *y = t ? agi_new(t, fn, dt, ndim, shape) : ag_zeros(NULL, dt, ndim, shape);
    if (!y) return NULL;
    if (y->dtype == AG_F64)
        DROPOUT_LOOP(double, y, r, p);
    else
        DROPOUT_LOOP(float, y, r, p);
    if (!t) return y;
    t->n_ops++;                               /* a constant: no node */
    return agi_done(t, &op_dropout_mask, y);
}
