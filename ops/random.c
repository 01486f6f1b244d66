/*
** random.c: random constants drawn on the tape. ag_dropout_mask is a
** constant (it records nothing): dropout itself is ag_mul(x, mask), so its
** gradient, to any order, comes from ag_mul. The draws run the
** generator's step inline (see xoshiro_next).
*/
#include "ag_ops_internal.h"
#include "ag_random.h"

static const agi_op op_dropout_mask = {"ag_dropout_mask", NULL, NULL};

/*
** The generator's step, xoshiro256** as ag_rng_u64 (autograd/rng.c) runs
** it, on a copy of the state held in registers for a whole mask: one call
** per element would cost more than the step itself. The state goes back
** with ag_rng_set_state, so the generator ends where n calls of
** ag_rng_u64 would leave it (test_random checks the two agree).
*/
static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t xoshiro_next(uint64_t *s)
{
    const uint64_t result = rotl(s[1] * 5, 7) * 9, tmp = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= tmp;
    s[3] = rotl(s[3], 45);
    return result;
}

/*
** y[i] = u_i >= p ? 1/(1-p) : 0, one uniform u_i per element in order.
** u_i = (x_i >> 11) 2^-53 for the draw x_i (ag_rng_uniform), and k 2^-53
** >= p exactly when the integer k >= ceil(p 2^53) (p 2^53 is exact): the
** same test without converting each draw to a double. The value is
** looked up, not branched on: a kept/dropped branch mispredicts often.
*/
#define DROPOUT_LOOP(T, Y, S, P)                                              \
    do {                                                                      \
        T *py = (T *)(Y)->data;                                               \
        const T value[2] = {0, (P) < 1 ? (T)(1.0 / (1.0 - (P))) : 0};         \
        const uint64_t cut = (uint64_t)ceil((P) * 0x1.0p53);                  \
        for (int64_t i = 0; i < (Y)->numel; i++)                              \
            py[i] = value[xoshiro_next(S) >> 11 >= cut];                      \
    } while (0)

ag_tensor *ag_dropout_mask(ag_tape *t, ag_rng *r, ag_dtype dt, int ndim,
                           const int64_t *shape, double p)
{
    const char *fn = op_dropout_mask.name;
    if (t && t->status != AG_OK) return NULL;
    if (!r) return agi_fail(t, AG_ERR_ARG, "%s: generator is NULL", fn);
    if (!(p >= 0 && p <= 1))
        return agi_fail(t, AG_ERR_ARG, "%s: p is %.17g, not in [0, 1]", fn, p);
    if (ndim > 0 && !shape) return agi_fail(t, AG_ERR_ARG, "%s: shape is NULL", fn);
    ag_tensor *y = t ? agi_new(t, fn, dt, ndim, shape) : ag_zeros(NULL, dt, ndim, shape);
    if (!y) return NULL;
    uint64_t st[4];
    ag_rng_get_state(r, st);
    if (y->dtype == AG_F64)
        DROPOUT_LOOP(double, y, st, p);
    else
        DROPOUT_LOOP(float, y, st, p);
    ag_rng_set_state(r, st);
    if (!t) return y;
    t->n_ops++;                               /* a constant: no node */
    return agi_done(t, &op_dropout_mask, y);
}
