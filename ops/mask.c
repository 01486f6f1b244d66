/*
** mask.c: masked_fill (x with a value where a mask is non-zero, the two
** broadcast together) and one_hot (a constant from an index array).
** masked_fill's backward is masked_fill again (zeros where it filled), so
** gradients of any order follow; one_hot records nothing.
*/
#include "ag_ops_internal.h"
#include "ag_mask.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------- masked_fill --- */

/* The broadcast shape of x and mask; 0 with an error naming both if none. */
static int fill_shape(ag_tape *t, const ag_tensor *x, const ag_tensor *m, int *ndim,
                      int64_t *shape)
{
    char sx[96], sm[96];
    const int nd = x->ndim > m->ndim ? x->ndim : m->ndim;
    for (int i = 0; i < nd; i++) {                 /* i counts from the right */
        const int64_t dx = i < x->ndim ? x->shape[x->ndim - 1 - i] : 1;
        const int64_t dm = i < m->ndim ? m->shape[m->ndim - 1 - i] : 1;
        if (dx != dm && dx != 1 && dm != 1)
            return agi_fail(t, AG_ERR_SHAPE, "ag_masked_fill: x is %s, mask is %s: they do not "
                            "broadcast", agi_shape_str(x, sx), agi_shape_str(m, sm)), 0;
        shape[nd - 1 - i] = dx == 1 ? dm : dx;
    }
    *ndim = nd;
    return 1;
}

/* y (broadcast shape) = mask != 0 ? v : x, x (T) and mask (M) read through
   the odometer's strides 1 and 2. */
#define FILL_LOOP(T, M, X, MASK, Y, IT, V)                                    \
    do {                                                                      \
        const T *px_ = (const T *)(X)->data;                                  \
        const M *pm_ = (const M *)(MASK)->data;                               \
        T *py_ = (T *)(Y)->data;                                              \
        const T v_ = (T)(V);                                                  \
        for (int64_t o_ = 0; o_ < (IT)->outer; o_++) {                        \
            for (int64_t j_ = 0; j_ < (IT)->inner; j_++)                      \
                py_[(IT)->off[0] + j_] =                                      \
                    pm_[(IT)->off[2] + j_ * (IT)->istride[2]] != 0            \
                        ? v_ : px_[(IT)->off[1] + j_ * (IT)->istride[1]];     \
            agi_iter_next((IT), 3);                                           \
        }                                                                     \
    } while (0)

static void fill_kernel(const ag_tensor *x, const ag_tensor *m, ag_tensor *y, double v)
{
    int64_t st[4][AG_MAX_DIMS];
    agi_iter it;
    if (y->numel == 0) return;
    agi_contig_strides(y->ndim, y->shape, st[0]);
    agi_bcast_strides(x, y->ndim, y->shape, st[1]);
    agi_bcast_strides(m, y->ndim, y->shape, st[2]);
    agi_iter_init(&it, y->ndim, y->shape, 3, (const int64_t(*)[AG_MAX_DIMS])st);
    if (y->dtype == AG_F64 && m->dtype == AG_F64) FILL_LOOP(double, double, x, m, y, &it, v);
    else if (y->dtype == AG_F64) FILL_LOOP(double, float, x, m, y, &it, v);
    else if (m->dtype == AG_F64) FILL_LOOP(float, double, x, m, y, &it, v);
    else FILL_LOOP(float, float, x, m, y, &it, v);
}

/* y = mask ? value : x; dx += sum_to(masked_fill(dy, mask, 0), x.shape);
   the mask gets zeros */
static void masked_fill_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                 ag_tensor **gx, const uint8_t *need)
{
    ag_tensor *m = n->in[1];
    if (need[0]) gx[0] = agi_reduce_to(t, ag_masked_fill(t, gy, m, 0), n->in[0]);
    if (need[1]) gx[1] = ag_zeros(t, (ag_dtype)m->dtype, m->ndim, m->shape);
}

/* ty = masked_fill(tx, mask, 0) (the mask's tangent is unused) */
static ag_tensor *masked_fill_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_masked_fill(t, tx[0], n->in[1], 0);
}

static const agi_op op_masked_fill = {"ag_masked_fill", masked_fill_backward, masked_fill_jvp};

ag_tensor *ag_masked_fill(ag_tape *t, ag_tensor *x, ag_tensor *mask, double value)
{
    int ndim;
    int64_t shape[AG_MAX_DIMS];
    const char *fn = op_masked_fill.name;
    if (!agi_check(t, fn, "x", x) || !agi_check(t, fn, "mask", mask)) return NULL;
    if (!fill_shape(t, x, mask, &ndim, shape)) return NULL;
    ag_tensor *y = agi_new(t, fn, (ag_dtype)x->dtype, ndim, shape);
    if (!y) return NULL;
    fill_kernel(x, mask, y, value);
    ag_tensor *in[2] = {x, mask};
    agi_node *nd = agi_record(t, &op_masked_fill, y, 2, in);
    if (nd) nd->fparam[0] = value;
    return agi_done(t, &op_masked_fill, y);
}

/* ----------------------------------------------------------- one_hot --- */

static const agi_op op_one_hot = {"ag_one_hot", NULL, NULL};

/* "[i,j,..]": the multi-index of flat position i in shape (ndim >= 1), or
   "[i]" for ndim 0. */
static char *position_str(int64_t i, int ndim, const int64_t *shape, char *buf)
{
    int64_t m[AG_MAX_DIMS];
    if (ndim == 0) {
        snprintf(buf, 96, "[%lld]", (long long)i);
        return buf;
    }
    for (int d = ndim - 1; d >= 0; d--) {
        m[d] = i % shape[d];
        i /= shape[d];
    }
    return agi_dims_str(ndim, m, buf);
}

/* The shape (ndim < AG_MAX_DIMS) and its element count; -1 + error if bad. */
static int64_t one_hot_numel(ag_tape *t, const int64_t *idx, int ndim, const int64_t *shape)
{
    char ss[96];
    if (ndim < 0 || ndim >= AG_MAX_DIMS || (ndim > 0 && !shape))
        return agi_fail(t, ndim > 0 && ndim < AG_MAX_DIMS ? AG_ERR_ARG : AG_ERR_SHAPE,
                        "ag_one_hot: %s (ndim is %d; the result adds one dimension, at most "
                        "%d in all)", ndim > 0 && !shape ? "shape is NULL" : "bad ndim", ndim,
                        AG_MAX_DIMS), -1;
    int64_t n = agi_numel(ndim, shape);
    if (n < 0)
        return agi_fail(t, AG_ERR_SHAPE, "ag_one_hot: bad or too large shape %s",
                        agi_dims_str(ndim, shape, ss)), -1;
    if (n > 0 && !idx)
        return agi_fail(t, AG_ERR_ARG, "ag_one_hot: idx is NULL (shape %s)",
                        agi_dims_str(ndim, shape, ss)), -1;
    return n;
}

/* The number of classes: num_classes, or max(idx) + 1 for -1; every index
   checked against it. -1 + error if bad. */
static int64_t one_hot_classes(ag_tape *t, const int64_t *idx, int64_t n, int ndim,
                               const int64_t *shape, int64_t num_classes)
{
    char sp[96];
    int64_t top = -1, at = 0;
    if (num_classes < -1)
        return agi_fail(t, AG_ERR_ARG, "ag_one_hot: num_classes is %lld (must be >= 0, or -1 "
                        "to infer it)", (long long)num_classes), -1;
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0)
            return agi_fail(t, AG_ERR_ARG, "ag_one_hot: idx%s is %lld, negative (not allowed)",
                            position_str(i, ndim, shape, sp), (long long)idx[i]), -1;
        if (idx[i] > top) top = idx[i], at = i;
    }
    if (num_classes == -1 && n == 0)
        return agi_fail(t, AG_ERR_ARG, "ag_one_hot: num_classes is -1 but there are no "
                        "indices to infer it from"), -1;
    if (num_classes == -1) return top + 1;      /* top < INT64_MAX: no overflow */
    if (top >= num_classes)
        return agi_fail(t, AG_ERR_ARG, "ag_one_hot: idx%s is %lld, not below num_classes %lld",
                        position_str(at, ndim, shape, sp), (long long)top,
                        (long long)num_classes), -1;
    return num_classes;
}

ag_tensor *ag_one_hot(ag_tape *t, const int64_t *idx, int ndim, const int64_t *shape,
                      int64_t num_classes, ag_dtype dt)
{
    int64_t oshape[AG_MAX_DIMS];
    if (t && t->status != AG_OK) return NULL;
    const int64_t n = one_hot_numel(t, idx, ndim, shape);
    const int64_t C = n < 0 ? -1 : one_hot_classes(t, idx, n, ndim, shape, num_classes);
    if (C < 0) return NULL;
    if (ndim > 0) memcpy(oshape, shape, (size_t)ndim * sizeof *shape);
    oshape[ndim] = C;
    ag_tensor *y = t ? agi_new(t, op_one_hot.name, dt, ndim + 1, oshape)
                     : ag_zeros(NULL, dt, ndim + 1, oshape);
    if (!y) return NULL;
    memset(y->data, 0, (size_t)y->numel * agi_dtype_size(y->dtype));
    for (int64_t i = 0; i < n; i++) {
        if (y->dtype == AG_F64)
            AGI_F64(y)[i * C + idx[i]] = 1;
        else
            AGI_F32(y)[i * C + idx[i]] = 1;
    }
    if (!t) return y;
    t->n_ops++;                                   /* a constant: no node */
    return agi_done(t, &op_one_hot, y);
}
