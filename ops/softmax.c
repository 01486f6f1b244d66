/*
** softmax.c: softmax and log_softmax along one axis. Both are stable: each
** row's max is subtracted before exp, so x = 1000 is as fine as x = 0; the
** sum of the exps accumulates in double. Rows are x[o, :, j] of the same
** [outer, n, inner] view the reductions in reduce.c use (its axis check is
** shared). Backward rules are written with ops on the saved output y, so
** they can be differentiated again.
*/
#include "ag_ops_internal.h"
#include "ag_binary.h"
#include "ag_reduce.h"
#include "ag_unary.h"

/*
** y[o, :, j] = softmax (or, with LOG, log_softmax) of x[o, :, j]; x and y
** are [outer, n, inner]. A row of all -inf gives NaN, as in PyTorch.
*/
#define SOFTMAX_LOOP(T, X, Y, OUTER, N, INNER, LOG)                       \
    do {                                                                  \
        const T *px = (const T *)(X)->data;                               \
        T *py = (T *)(Y)->data;                                           \
        for (int64_t o = 0; o < (OUTER); o++)                             \
            for (int64_t j = 0; j < (INNER); j++) {                       \
                const int64_t s = (INNER), base = o * (N) * s + j;        \
                const T *xr = px + base;                                  \
                T *yr = py + base;                                        \
                T m = -INFINITY;                                          \
                double acc = 0;                                           \
                for (int64_t k = 0; k < (N); k++)                         \
                    if (xr[k * s] > m) m = xr[k * s];                     \
                for (int64_t k = 0; k < (N); k++) {                       \
                    const T e = exp(xr[k * s] - m);                       \
                    if (!(LOG)) yr[k * s] = e;                            \
                    acc += e;                                             \
                }                                                         \
                if (LOG) {                                                \
                    const T lse = (T)log(acc);                            \
                    for (int64_t k = 0; k < (N); k++)                     \
                        yr[k * s] = (xr[k * s] - m) - lse;                \
                } else {                                                  \
                    for (int64_t k = 0; k < (N); k++)                     \
                        yr[k * s] = (T)(yr[k * s] / acc);                 \
                }                                                         \
            }                                                             \
    } while (0)

/* y = softmax or log_softmax of x seen as [outer, n, inner]. An empty x
   computes nothing (its outer and inner may still be huge: [2^40, 0, 8]). */
static void softmax_kernel(const ag_tensor *x, ag_tensor *y, int64_t outer, int64_t n,
                           int64_t inner, int log_form)
{
    if (x->numel == 0) return;
    if (x->dtype == AG_F64 && log_form)
        SOFTMAX_LOOP(double, x, y, outer, n, inner, 1);
    else if (x->dtype == AG_F64)
        SOFTMAX_LOOP(double, x, y, outer, n, inner, 0);
    else if (log_form)
        SOFTMAX_LOOP(float, x, y, outer, n, inner, 1);
    else
        SOFTMAX_LOOP(float, x, y, outer, n, inner, 0);
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
static const agi_op op_softmax = {"ag_softmax", softmax_backward};

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
static const agi_op op_log_softmax = {"ag_log_softmax", log_softmax_backward};

ag_tensor *ag_log_softmax(ag_tape *t, ag_tensor *x, int axis)
{
    return softmax_op(t, &op_log_softmax, x, axis, 1);
}
