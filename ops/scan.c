/*
** scan.c: cumulative sums along an axis. The forward sum and the reversed
** one (its backward) are one op with a direction flag: each is the
** other's gradient, so gradients of any order stay cumulative sums.
*/
#include "ag_ops_internal.h"
#include "ag_scan.h"

#define TILE 256            /* columns carried together when inner > 1 */

/*
** x, y are [outer, n, inner]: y[o, i, j] = sum of x[o, i', j] for i' <= i
** (i' >= i when reverse), accumulated in double. Columns are carried
** TILE at a time so that the reads along a row stay contiguous.
*/
#define SCAN_LOOP(T, X, Y, OUTER, N, INNER, REV)                              \
    do {                                                                      \
        const T *px_ = (const T *)(X)->data;                                  \
        T *py_ = (T *)(Y)->data;                                              \
        double acc_[TILE];                                                    \
        for (int64_t o_ = 0; o_ < (OUTER); o_++)                              \
            for (int64_t j0_ = 0; j0_ < (INNER); j0_ += TILE) {               \
                const int64_t w_ = (INNER) - j0_ < TILE ? (INNER) - j0_ : TILE; \
                for (int64_t j_ = 0; j_ < w_; j_++) acc_[j_] = 0;             \
                for (int64_t s_ = 0; s_ < (N); s_++) {                        \
                    const int64_t i_ = (REV) ? (N) - 1 - s_ : s_;             \
                    const int64_t at_ = (o_ * (N) + i_) * (INNER) + j0_;      \
                    for (int64_t j_ = 0; j_ < w_; j_++) {                     \
                        acc_[j_] += (double)px_[at_ + j_];                    \
                        py_[at_ + j_] = (T)acc_[j_];                          \
                    }                                                         \
                }                                                             \
            }                                                                 \
    } while (0)

static ag_tensor *cumsum_op(ag_tape *t, ag_tensor *x, int axis, int reverse);

/* y = cumsum(x, axis) (reversed when n->iparam[1]); dx += the other direction of dy */
static void cumsum_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                            ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = cumsum_op(t, gy, n->iparam[0], !n->iparam[1]);
}

/* ty = cumsum(tx, axis) in the node's direction */
static ag_tensor *cumsum_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return cumsum_op(t, tx[0], n->iparam[0], n->iparam[1]);
}

static const agi_op op_cumsum = {"ag_cumsum", cumsum_backward, cumsum_jvp};
static const agi_op op_cumsum_rev = {"ag_cumsum (backward: reversed)", cumsum_backward,
                                     cumsum_jvp};

/* The scan along a checked axis (AG_ALL for a 0-d x). */
static ag_tensor *cumsum_op(ag_tape *t, ag_tensor *x, int axis, int reverse)
{
    const agi_op *op = reverse ? &op_cumsum_rev : &op_cumsum;
    int64_t outer, n, inner;
    if (!agi_check(t, op->name, "x", x)) return NULL;
    if (agi_reduce_axis(t, op->name, x, axis, 1, &outer, &n, &inner) == -1) return NULL;
    ag_tensor *y = agi_new_like(t, op->name, x);
    if (!y) return NULL;
    if (y->numel > 0 && x->dtype == AG_F64)
        SCAN_LOOP(double, x, y, outer, n, inner, reverse);
    else if (y->numel > 0)
        SCAN_LOOP(float, x, y, outer, n, inner, reverse);
    agi_node *nd = agi_record(t, op, y, 1, &x);
    if (nd) {
        nd->iparam[0] = axis;
        nd->iparam[1] = reverse;
    }
    return agi_done(t, op, y);
}

ag_tensor *ag_cumsum(ag_tape *t, ag_tensor *x, int axis)
{
    int64_t outer, n, inner;
    if (!agi_check(t, "ag_cumsum", "x", x)) return NULL;
    int a = agi_reduce_axis(t, "ag_cumsum", x, axis, 0, &outer, &n, &inner);
    if (a == -1) return NULL;
    return cumsum_op(t, x, a, 0);
}
