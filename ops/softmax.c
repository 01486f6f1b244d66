/*
** softmax.c: softmax and log_softmax along one axis. Both are stable: each
** row's max is subtracted before exp, so x = 1000 is as fine as x = 0; the
** exps are the vector math's (ag_vmath.h) and their sum accumulates in
** double, in order. Rows are x[o, :, j] of the same
** [outer, n, inner] view the reductions in reduce.c use (its axis check is
** shared). Backward rules are written with ops on the saved output y, so
** they can be differentiated again.
*/
#include "ag_ops_internal.h"
#include "ag_binary.h"
#include "ag_reduce.h"
#include "ag_unary.h"
#include "vmath_internal.h"

#define SM_TILE 256

/*
** One contiguous row (inner == 1): y = softmax (or, with LOG, log_softmax)
** of x[0..n). The exps go through the vector math into y (for log_softmax
** only their sum is kept); the sum accumulates in double, in order.
*/
#define SOFTMAX_ROW(T, SFX, XR, YR, N, LOG)                                   \
    do {                                                                      \
        T m = -INFINITY;                                                      \
        double acc = 0;                                                       \
        for (int64_t k = 0; k < (N); k++)                                     \
            if ((XR)[k] > m) m = (XR)[k];                                     \
        AGI_VLOOP(k, 0, N, (YR)[k] = (XR)[k] - m;);                           \
        agi_vm()->exp##SFX((YR), (YR), (N));                                  \
        for (int64_t k = 0; k < (N); k++) acc += (YR)[k];                     \
        if (LOG) {                                                            \
            double l;                                                         \
            agi_vm()->log_f64(&l, &acc, 1);                                   \
            const T lse = (T)l;                                               \
            AGI_VLOOP(k, 0, N, (YR)[k] = ((XR)[k] - m) - lse;);               \
        } else {                                                              \
            AGI_VLOOP(k, 0, N, (YR)[k] = (T)((YR)[k] / acc););                \
        }                                                                     \
    } while (0)

/*
** The same over the columns j0 <= j < j0 + nj (nj <= SM_TILE) of one
** [n, inner] slab: each column a row, strided by inner; computed a tile
** of columns at a time so the vector math runs along contiguous memory.
*/
#define SOFTMAX_TILE(T, SFX, XS, YS, N, INNER, J0, NJ, LOG)                   \
    do {                                                                      \
        T m[SM_TILE];                                                         \
        double acc[SM_TILE];                                                  \
        for (int jj = 0; jj < (NJ); jj++) m[jj] = -INFINITY, acc[jj] = 0;     \
        for (int64_t k = 0; k < (N); k++)                                     \
            for (int jj = 0; jj < (NJ); jj++) {                               \
                const T v = (XS)[k * (INNER) + (J0) + jj];                    \
                if (v > m[jj]) m[jj] = v;                                     \
            }                                                                 \
        for (int64_t k = 0; k < (N); k++) {                                   \
            const T *xr = (XS) + k * (INNER) + (J0);                          \
            T *yr = (YS) + k * (INNER) + (J0);                                \
            for (int jj = 0; jj < (NJ); jj++) yr[jj] = xr[jj] - m[jj];        \
            agi_vm()->exp##SFX(yr, yr, (NJ));                                 \
            for (int jj = 0; jj < (NJ); jj++) acc[jj] += yr[jj];              \
        }                                                                     \
        if (LOG) agi_vm()->log_f64(acc, acc, (NJ));                           \
        for (int64_t k = 0; k < (N); k++) {                                   \
            const T *xr = (XS) + k * (INNER) + (J0);                          \
            T *yr = (YS) + k * (INNER) + (J0);                                \
            for (int jj = 0; jj < (NJ); jj++)                                 \
                yr[jj] = (LOG) ? (xr[jj] - m[jj]) - (T)acc[jj] : (T)(yr[jj] / acc[jj]); \
        }                                                                     \
    } while (0)

/* y[o, :, j] = softmax (or log_softmax) of x[o, :, j]; x and y are
   [outer, n, inner]. A row of all -inf gives NaN, as in PyTorch. */
#define SOFTMAX_DEF(T, SFX)                                                   \
    static void softmax##SFX(const T *px, T *py, int64_t outer, int64_t n,    \
                             int64_t inner, int log_form)                     \
    {                                                                         \
        for (int64_t o = 0; o < outer; o++) {                                 \
            const T *xs = px + o * n * inner;                                 \
            T *ys = py + o * n * inner;                                       \
            if (inner == 1 && log_form) SOFTMAX_ROW(T, SFX, xs, ys, n, 1);    \
            else if (inner == 1) SOFTMAX_ROW(T, SFX, xs, ys, n, 0);           \
            for (int64_t j0 = 0; inner > 1 && j0 < inner; j0 += SM_TILE) {    \
                const int nj = (int)(inner - j0 < SM_TILE ? inner - j0 : SM_TILE); \
                if (log_form) SOFTMAX_TILE(T, SFX, xs, ys, n, inner, j0, nj, 1); \
                else SOFTMAX_TILE(T, SFX, xs, ys, n, inner, j0, nj, 0);       \
            }                                                                 \
        }                                                                     \
    }
SOFTMAX_DEF(float, _f32)
SOFTMAX_DEF(double, _f64)

/* y = softmax (log_form: log_softmax) of x seen as [outer, n, inner]. */
static void softmax_kernel(const ag_tensor *x, ag_tensor *y, int64_t outer, int64_t n,
                           int64_t inner, int log_form)
{
    if (x->numel == 0)
        ;   /* nothing to compute; outer and inner may be huge: [2^40, 0, 8] */
    else if (x->dtype == AG_F64)
        softmax_f64(AGI_F64(x), AGI_F64(y), outer, n, inner, log_form);
    else
        softmax_f32(AGI_F32(x), AGI_F32(y), outer, n, inner, log_form);
}

/* A plan's replay (aux: outer, n, inner; s: log_form). */
static void softmax_step(const agi_step *st)
{
    const int64_t *g = st->aux;
    softmax_kernel(st->a, st->y, g[0], g[1], g[2], st->s != 0);
}

/* Shared by both ops: checks, kernel, record (the axis in iparam[0]). */
static ag_tensor *softmax_op(ag_tape *t, const agi_op *op, ag_tensor *x, int axis,
                             int log_form)
{
    int64_t outer, n, inner;
    if (!agi_check(t, op->name, "x", x)) return NULL;
    int a = agi_reduce_axis(t, op->name, x, axis, 0, &outer, &n, &inner);
    if (a == -1) return NULL;
    ag_tensor *y = agi_new_like(t, op->name, x);
    if (!y) return NULL;
    softmax_kernel(x, y, outer, n, inner, log_form);
    if (t->plan) {
        agi_step *st = agi_plan_log(t, 1, softmax_step, NULL, y, x, NULL, log_form, 0);
        if (st) st->aux = agi_plan_keep(t, (const int64_t[3]){outer, n, inner},
                                        3 * sizeof(int64_t));
    }
    agi_node *node = agi_record(t, op, y, 1, &x);
    if (node) node->iparam[0] = a;              /* AG_ALL for a 0-d x */
    return agi_done(t, op, y);
}

/* y = exp(x) / sum_a exp(x); dx += y * (dy - sum_a(dy * y)) */
static void softmax_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                             ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *y = n->out;
    ag_tensor *dot = ag_sum(t, ag_mul(t, gy, y), n->iparam[0], 1);
    gx[0] = ag_mul(t, y, ag_sub(t, gy, dot));
}
/* ty = y * (tx - sum_a(tx * y)): the Jacobian diag(y) - y y^T is symmetric,
   so the backward rule applied to tx (agi_jvp_symmetric) */
static const agi_op op_softmax = {"ag_softmax", softmax_backward, agi_jvp_symmetric};

ag_tensor *ag_softmax(ag_tape *t, ag_tensor *x, int axis)
{
    return softmax_op(t, &op_softmax, x, axis, 0);
}

/* y = x - log sum_a exp(x); dx += dy - exp(y) * sum_a dy */
static void log_softmax_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                 ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *total = ag_sum(t, gy, n->iparam[0], 1);
    gx[0] = ag_sub(t, gy, ag_mul(t, ag_exp(t, n->out), total));
}
/* ty = tx - sum_a(exp(y) * tx) */
static ag_tensor *log_softmax_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    ag_tensor *dot = ag_sum(t, ag_mul(t, ag_exp(t, n->out), tx[0]), n->iparam[0], 1);
    return ag_sub(t, tx[0], dot);
}
static const agi_op op_log_softmax = {"ag_log_softmax", log_softmax_backward,
                                      log_softmax_jvp};

ag_tensor *ag_log_softmax(ag_tape *t, ag_tensor *x, int axis)
{
    return softmax_op(t, &op_log_softmax, x, axis, 1);
}
