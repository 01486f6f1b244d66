/*
** broadcast.c: NumPy broadcasting. The shape rule, the strided odometer
** every non-flat kernel uses, and the pair of ops expand (broadcast_to) and
** sum_to, each the other's backward. agi_reduce_to is the one helper every
** broadcasting op's backward uses to bring a gradient back to its input.
*/
#include "ag_ops_internal.h"
#include "ag_shape.h"

#include <string.h>

int agi_broadcast_shape(ag_tape *t, const char *fn, const ag_tensor *a,
                        const ag_tensor *b, int *ndim, int64_t *shape)
{
    int n = a->ndim > b->ndim ? a->ndim : b->ndim;
    for (int i = 0; i < n; i++) {          /* i counts from the right */
        int64_t da = i < a->ndim ? a->shape[a->ndim - 1 - i] : 1;
        int64_t db = i < b->ndim ? b->shape[b->ndim - 1 - i] : 1;
        if (da != db && da != 1 && db != 1) {
            char s1[96], s2[96];
            agi_fail(t, AG_ERR_SHAPE, "%s: shapes do not broadcast: a is %s, b is %s", fn,
                     agi_shape_str(a, s1), agi_shape_str(b, s2));
            return 0;
        }
        shape[n - 1 - i] = da == 1 ? db : da;
    }
    *ndim = n;
    return 1;
}

void agi_contig_strides(int ndim, const int64_t *shape, int64_t *strides)
{
    for (int i = ndim - 1; i >= 0; i--) strides[i] = agi_dims_prod(shape, i + 1, ndim);
}

void agi_bcast_strides(const ag_tensor *x, int ndim, const int64_t *shape,
                       int64_t *strides)
{
    int64_t own[AG_MAX_DIMS];
    int lead = ndim - x->ndim;
    agi_contig_strides(x->ndim, x->shape, own);
    for (int i = 0; i < ndim; i++) {
        int j = i - lead;
        strides[i] = (j < 0 || (x->shape[j] == 1 && shape[i] != 1)) ? 0 : own[j];
    }
}

void agi_iter_init(agi_iter *it, int ndim, const int64_t *shape, int nops,
                   const int64_t (*strides)[AG_MAX_DIMS])
{
    memset(it, 0, sizeof *it);
    if (ndim == 0) {
        it->inner = 1;
        it->outer = 1;
        return;
    }
    it->ndim = ndim - 1;
    it->inner = shape[ndim - 1];
    it->outer = it->inner ? agi_dims_prod(shape, 0, ndim - 1) : 0;
    for (int d = 0; d < ndim - 1; d++) it->shape[d] = shape[d];
    for (int k = 0; k < nops; k++) {
        memcpy(it->stride[k], strides[k], sizeof strides[k]);
        it->istride[k] = strides[k][ndim - 1];
    }
}

void agi_iter_next(agi_iter *it, int nops)
{
    for (int d = it->ndim - 1; d >= 0; d--) {
        it->idx[d]++;
        for (int k = 0; k < nops; k++) it->off[k] += it->stride[k][d];
        if (it->idx[d] < it->shape[d]) return;
        for (int k = 0; k < nops; k++) it->off[k] -= it->stride[k][d] * it->shape[d];
        it->idx[d] = 0;
    }
}

void agi_iter_seek(agi_iter *it, int nops, int64_t outer)
{
    for (int k = 0; k < nops; k++) it->off[k] = 0;
    for (int d = it->ndim - 1; d >= 0; d--) {
        it->idx[d] = it->shape[d] ? outer % it->shape[d] : 0;
        outer = it->shape[d] ? outer / it->shape[d] : 0;
        for (int k = 0; k < nops; k++) it->off[k] += it->idx[d] * it->stride[k][d];
    }
}

/* The broadcast part of agi_binary_plan: the odometer over y's rows. */
int64_t agi_binary_plan_bcast(agi_binary_job *job)
{
    const ag_tensor *y = job->y;
    int64_t st[4][AG_MAX_DIMS];
    agi_contig_strides(y->ndim, y->shape, st[0]);
    agi_bcast_strides(job->a, y->ndim, y->shape, st[1]);
    agi_bcast_strides(job->b, y->ndim, y->shape, st[2]);
    agi_iter_init(&job->it, y->ndim, y->shape, 3, (const int64_t(*)[AG_MAX_DIMS])st);
    return job->it.outer;
}

/* 1 if a tensor of small's shape broadcasts to big (ndim, shape). */
static int broadcasts_to(int sndim, const int64_t *small, int ndim, const int64_t *big)
{
    if (sndim > ndim) return 0;
    for (int i = 0; i < sndim; i++) {
        int64_t s = small[sndim - 1 - i], b = big[ndim - 1 - i];
        if (s != b && s != 1) return 0;
    }
    return 1;
}

/* y (big) = x (small) broadcast: y[i] = x[bcast(i)]. Each row of y is a
   copy of a row of x, or one element of x repeated. */
#define EXPAND_LOOP(T, X, Y, IT)                                          \
    do {                                                                  \
        const T *px_ = (const T *)(X)->data;                              \
        T *py_ = (T *)(Y)->data;                                          \
        const int64_t n_ = (IT)->inner, sx_ = (IT)->istride[1];           \
        for (int64_t o_ = 0; o_ < (IT)->outer; o_++) {                    \
            T *yy_ = py_ + (IT)->off[0];                                  \
            const T *xx_ = px_ + (IT)->off[1];                            \
            if (sx_ == 1) {                                               \
                memcpy(yy_, xx_, (size_t)n_ * sizeof(T));                 \
            } else {                                                      \
                const T v_ = xx_[0];                                      \
                AGI_VLOOP(j_, 0, n_, yy_[j_] = v_;);                      \
            }                                                             \
            agi_iter_next((IT), 2);                                       \
        }                                                                 \
    } while (0)

static void expand_kernel(const ag_tensor *x, ag_tensor *y)
{
    int64_t st[4][AG_MAX_DIMS];
    agi_iter it;
    agi_contig_strides(y->ndim, y->shape, st[0]);
    agi_bcast_strides(x, y->ndim, y->shape, st[1]);
    agi_iter_init(&it, y->ndim, y->shape, 2, (const int64_t(*)[AG_MAX_DIMS])st);
    if (y->dtype == AG_F64)
        EXPAND_LOOP(double, x, y, &it);
    else
        EXPAND_LOOP(float, x, y, &it);
}

/*
** y (small, zeroed here) = sum of x (big) over the broadcast dims, in the
** order of x's rows, each output element on its own: a row of x adds
** into a row of y (vectorized), or into one element of y, in order.
*/
#define SUM_TO_LOOP(T, X, Y, IT)                                          \
    do {                                                                  \
        const T *px_ = (const T *)(X)->data;                              \
        T *py_ = (T *)(Y)->data;                                          \
        const int64_t n_ = (IT)->inner, sy_ = (IT)->istride[1];           \
        for (int64_t o_ = 0; o_ < (IT)->outer; o_++) {                    \
            const T *xx_ = px_ + (IT)->off[0];                            \
            T *yy_ = py_ + (IT)->off[1];                                  \
            if (sy_ == 1) {                                               \
                AGI_VLOOP(j_, 0, n_, yy_[j_] += xx_[j_];);                \
            } else {                                                      \
                T acc_ = yy_[0];                                          \
                for (int64_t j_ = 0; j_ < n_; j_++) acc_ += xx_[j_];      \
                yy_[0] = acc_;                                            \
            }                                                             \
            agi_iter_next((IT), 2);                                       \
        }                                                                 \
    } while (0)

static void sum_to_kernel(const ag_tensor *x, ag_tensor *y)
{
    int64_t st[4][AG_MAX_DIMS];
    agi_iter it;
    agi_fill(y, 0);
    agi_contig_strides(x->ndim, x->shape, st[0]);
    agi_bcast_strides(y, x->ndim, x->shape, st[1]);
    agi_iter_init(&it, x->ndim, x->shape, 2, (const int64_t(*)[AG_MAX_DIMS])st);
    if (x->dtype == AG_F64)
        SUM_TO_LOOP(double, x, y, &it);
    else
        SUM_TO_LOOP(float, x, y, &it);
}

/* y = expand(x, shape); dx += sum_to(dy, x.shape) */
static void expand_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                            ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_sum_to(t, gy, n->in[0]->ndim, n->in[0]->shape);
}

/* y = sum_to(x, shape); dx += expand(dy, x.shape) */
static void sum_to_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                            ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_expand(t, gy, n->in[0]->ndim, n->in[0]->shape);
}

/* ty = expand(tx, y.shape) */
static ag_tensor *expand_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_expand(t, tx[0], n->out->ndim, n->out->shape);
}

/* ty = sum_to(tx, y.shape) */
static ag_tensor *sum_to_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_sum_to(t, tx[0], n->out->ndim, n->out->shape);
}

static const agi_op op_expand = {"ag_expand", expand_backward, expand_jvp};
static const agi_op op_sum_to = {"ag_sum_to", sum_to_backward, sum_to_jvp};

/* Shared by both constructors: checks, makes y, runs kernel, records. */
static ag_tensor *broadcast_op(ag_tape *t, const agi_op *op, ag_tensor *x, int ndim,
                               const int64_t *shape, int expanding)
{
    char s1[96], s2[96];
    if (!agi_check(t, op->name, "x", x)) return NULL;
    if (ndim < 0 || ndim > AG_MAX_DIMS || (ndim && !shape))
        return agi_fail(t, AG_ERR_SHAPE, "%s: bad target: %d dimensions", op->name, ndim);
    int ok = expanding ? broadcasts_to(x->ndim, x->shape, ndim, shape)
                       : broadcasts_to(ndim, shape, x->ndim, x->shape);
    if (!ok)
        return agi_fail(t, AG_ERR_SHAPE, "%s: x is %s, which does not %s %s", op->name,
                        agi_shape_str(x, s1), expanding ? "broadcast to" : "reduce by broadcast to",
                        agi_dims_str(ndim, shape, s2));
    ag_tensor *y = agi_new(t, op->name, (ag_dtype)x->dtype, ndim, shape);
    if (!y) return NULL;
    agi_xy_kernel kernel = expanding ? expand_kernel : sum_to_kernel;
    kernel(x, y);
    if (t->plan) agi_plan_log(t, 1, agi_step_xy, (agi_fnptr)kernel, y, x, NULL, 0, 0);
    agi_record(t, op, y, 1, &x);
    return agi_done(t, op, y);
}

ag_tensor *ag_expand(ag_tape *t, ag_tensor *x, int ndim, const int64_t *shape)
{
    return broadcast_op(t, &op_expand, x, ndim, shape, 1);
}

ag_tensor *ag_sum_to(ag_tape *t, ag_tensor *x, int ndim, const int64_t *shape)
{
    return broadcast_op(t, &op_sum_to, x, ndim, shape, 0);
}

ag_tensor *agi_reduce_to(ag_tape *t, ag_tensor *g, const ag_tensor *x)
{
    if (!g || agi_same_shape(g, x)) return g;
    return ag_sum_to(t, g, x->ndim, x->shape);
}
