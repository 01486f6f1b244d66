/*
** index.c: ops driven by integer index arrays. index_select and index_add
** (whole slices along an axis) and gather and scatter_add (one element per
** index entry), each pair the other's backward. Index arrays are the
** caller's plain int64_t arrays: they are checked (negative or >= the dim
** is an AG_ERR_ARG naming the position and the value) and, when a node is
** recorded, copied onto the tape into n->aux, which the backward ops of the
** pair share instead of copying again. Reshaping ops are in shape.c.
*/
#include "ag_ops_internal.h"
#include "ag_shape.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* An index array kept on the tape for backward (n->aux). */
typedef struct index_arg {
    int64_t n;                     /* entries */
    int ndim;                      /* gather/scatter_add: the index's shape */
    int64_t shape[AG_MAX_DIMS];
    int64_t idx[];                 /* the entries */
} index_arg;

/* A tape copy of idx[0..n) (and of the index's shape); NULL + error on OOM. */
static const index_arg *keep(ag_tape *t, const int64_t *idx, int64_t n, int ndim,
                             const int64_t *shape)
{
    const int64_t bytes = agi_mul(n, (int64_t)sizeof(int64_t));
    if (bytes < 0 || (uint64_t)bytes > SIZE_MAX - sizeof(index_arg))
        return agi_fail(t, AG_ERR_NOMEM, "%s: out of memory for %lld indices", agi_fn(t),
                        (long long)n);
    index_arg *k = agi_alloc(t, sizeof *k + (size_t)bytes);
    if (!k) return NULL;
    k->n = n;
    k->ndim = ndim;
    if (ndim) memcpy(k->shape, shape, (size_t)ndim * sizeof *shape);
    if (n) memcpy(k->idx, idx, (size_t)bytes);
    return k;
}

/* Both tensors fine and of one dtype; 0 with the error set otherwise. */
static int check_pair(ag_tape *t, const char *fn, const ag_tensor *base, const ag_tensor *src)
{
    if (!agi_check(t, fn, "base", base) || !agi_check(t, fn, "src", src)) return 0;
    if (base->dtype != src->dtype)
        return agi_fail(t, AG_ERR_DTYPE, "%s: dtypes differ: base is %s, src is %s (use "
                        "ag_cast)", fn, agi_dtype_name(base->dtype), agi_dtype_name(src->dtype)), 0;
    return 1;
}

/*
** Every idx[i] in [0, x.shape[axis]); else an AG_ERR_ARG naming fn, the
** position (pos, the flat position, or the multi-index when ishape is
** given), the value and x's shape.
*/
static int check_values(ag_tape *t, const char *fn, const char *xname, const ag_tensor *x,
                        int axis, const int64_t *idx, int64_t n, int ndim,
                        const int64_t *ishape)
{
    char sx[96], pos[96];
    int64_t dim = x->shape[axis];
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] >= 0 && idx[i] < dim) continue;
        if (ishape) {                      /* the multi-index of flat i */
            int64_t m[AG_MAX_DIMS], r = i;
            for (int d = ndim - 1; d >= 0; d--) {
                m[d] = ishape[d] ? r % ishape[d] : 0;
                r = ishape[d] ? r / ishape[d] : 0;
            }
            agi_dims_str(ndim, m, pos);
        } else {
            snprintf(pos, sizeof pos, "[%lld]", (long long)i);
        }
        return agi_fail(t, AG_ERR_ARG, "%s: %s%s is %lld, %s for axis %d of size %lld (%s is "
                        "%s)", fn, ishape ? "index" : "idx", pos, (long long)idx[i],
                        idx[i] < 0 ? "negative (not allowed)" : "out of range", axis,
                        (long long)dim, xname, agi_shape_str(x, sx)), 0;
    }
    return 1;
}

/* ------------------------------------------------ index_select / add --- */

/* The list idx[0..n) for axis a of x; 0 with the error set if bad. */
static int check_list(ag_tape *t, const char *fn, const char *xname, const ag_tensor *x,
                      int a, const int64_t *idx, int64_t n)
{
    char sx[96];
    if (n < 0 || (n > 0 && !idx))
        return agi_fail(t, AG_ERR_ARG, "%s: %s (%s is %s)", fn,
                        n < 0 ? "n is negative" : "idx is NULL", xname,
                        agi_shape_str(x, sx)), 0;
    return check_values(t, fn, xname, x, a, idx, n, 0, NULL);
}

/*
** Moves slices along axis between a tensor of n slices, part (outer, n,
** inner), and whole (outer, dim, inner): part[o][k] = whole[o][idx[k]],
** or whole[o][idx[k]] += part[o][k] when adding.
*/
#define ROWS_LOOP(T, PART, WHOLE, ADD)                                        \
    do {                                                                      \
        T *pp_ = (T *)(PART)->data, *pw_ = (T *)(WHOLE)->data;                \
        for (int64_t o_ = 0; o_ < outer; o_++)                                \
            for (int64_t k_ = 0; k_ < n; k_++) {                              \
                T *p_ = pp_ + (o_ * n + k_) * inner;                          \
                T *w_ = pw_ + (o_ * dim + idx[k_]) * inner;                   \
                for (int64_t j_ = 0; j_ < inner; j_++) {                      \
                    if (ADD)                                                  \
                        w_[j_] += p_[j_];                                     \
                    else                                                      \
                        p_[j_] = w_[j_];                                      \
                }                                                             \
            }                                                                 \
    } while (0)

static void rows_kernel(ag_tensor *part, ag_tensor *whole, int axis, const int64_t *idx,
                        int add)
{
    if (part->numel == 0) return;           /* (its outer may still be huge) */
    int64_t outer = agi_dims_prod(whole->shape, 0, axis);
    int64_t inner = agi_dims_prod(whole->shape, axis + 1, whole->ndim);
    int64_t dim = whole->shape[axis], n = part->shape[axis];
    if (whole->dtype == AG_F64) {
        if (add) ROWS_LOOP(double, part, whole, 1);
        else ROWS_LOOP(double, part, whole, 0);
    } else {
        if (add) ROWS_LOOP(float, part, whole, 1);
        else ROWS_LOOP(float, part, whole, 0);
    }
}

static ag_tensor *index_add_op(ag_tape *t, ag_tensor *base, int a, const int64_t *idx,
                               int64_t n, ag_tensor *src, const index_arg *kept);

/* y = index_select(x, axis, idx); dx += index_add(zeros(x.shape), axis, idx, dy) */
static void index_select_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                  ag_tensor **gx, const uint8_t *need)
{
    const index_arg *k = n->aux;
    const ag_tensor *x = n->in[0];
    (void)need;
    ag_tensor *zeros = ag_zeros(t, (ag_dtype)x->dtype, x->ndim, x->shape);
    gx[0] = zeros ? index_add_op(t, zeros, n->iparam[0], k->idx, k->n, gy, k) : NULL;
}

static ag_tensor *index_select_op(ag_tape *t, ag_tensor *x, int a, const int64_t *idx,
                                  int64_t n, const index_arg *kept);

/* ty = index_select(tx, axis, idx) */
static ag_tensor *index_select_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const index_arg *k = n->aux;
    return index_select_op(t, tx[0], n->iparam[0], k->idx, k->n, k);
}

static const agi_op op_index_select = {"ag_index_select", index_select_backward,
                                       index_select_jvp};

/* index_select on checked arguments; kept, when given, is idx on the tape. */
static ag_tensor *index_select_op(ag_tape *t, ag_tensor *x, int a, const int64_t *idx,
                                  int64_t n, const index_arg *kept)
{
    int64_t shape[AG_MAX_DIMS];
    memcpy(shape, x->shape, sizeof shape);
    shape[a] = n;
    ag_tensor *y = agi_new(t, op_index_select.name, (ag_dtype)x->dtype, x->ndim, shape);
    if (!y) return NULL;
    rows_kernel(y, x, a, idx, 0);
    agi_node *nd = agi_record(t, &op_index_select, y, 1, &x);
    if (nd) {
        nd->iparam[0] = a;
        nd->aux = kept ? kept : keep(t, idx, n, 0, NULL);
    }
    return agi_done(t, &op_index_select, y);
}

ag_tensor *ag_index_select(ag_tape *t, ag_tensor *x, int axis, const int64_t *idx,
                           int64_t n)
{
    if (!agi_check(t, "ag_index_select", "x", x)) return NULL;
    int a = agi_axis(t, "ag_index_select", axis, x->ndim);
    if (a < 0 || !check_list(t, "ag_index_select", "x", x, a, idx, n)) return NULL;
    return index_select_op(t, x, a, idx, n, NULL);
}

/* y = index_add(base, axis, idx, src); dbase += dy; dsrc += index_select(dy, axis, idx) */
static void index_add_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                               ag_tensor **gx, const uint8_t *need)
{
    const index_arg *k = n->aux;
    if (need[0]) gx[0] = gy;
    if (need[1]) gx[1] = index_select_op(t, gy, n->iparam[0], k->idx, k->n, k);
}

/* ty = index_add(tbase, axis, idx, tsrc) */
static ag_tensor *index_add_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const index_arg *k = n->aux;
    return index_add_op(t, tx[0], n->iparam[0], k->idx, k->n, tx[1], k);
}

static const agi_op op_index_add = {"ag_index_add", index_add_backward, index_add_jvp};

static ag_tensor *index_add_op(ag_tape *t, ag_tensor *base, int a, const int64_t *idx,
                               int64_t n, ag_tensor *src, const index_arg *kept)
{
    if (!agi_check(t, op_index_add.name, "src", src)) return NULL;
    ag_tensor *y = agi_new_like(t, op_index_add.name, base);
    if (!y) return NULL;
    memcpy(y->data, base->data, agi_bytes(y->numel, y->dtype));
    rows_kernel(src, y, a, idx, 1);
    ag_tensor *in[2] = {base, src};
    agi_node *nd = agi_record(t, &op_index_add, y, 2, in);
    if (nd) {
        nd->iparam[0] = a;
        nd->aux = kept ? kept : keep(t, idx, n, 0, NULL);
    }
    return agi_done(t, &op_index_add, y);
}

ag_tensor *ag_index_add(ag_tape *t, ag_tensor *base, int axis, const int64_t *idx,
                        int64_t n, ag_tensor *src)
{
    char sb[96], ss[96], se[96];
    int64_t want[AG_MAX_DIMS];
    if (!check_pair(t, "ag_index_add", base, src)) return NULL;
    int a = agi_axis(t, "ag_index_add", axis, base->ndim);
    if (a < 0 || !check_list(t, "ag_index_add", "base", base, a, idx, n)) return NULL;
    memcpy(want, base->shape, sizeof want);
    want[a] = n;
    int ok = src->ndim == base->ndim;
    for (int d = 0; ok && d < base->ndim; d++) ok = src->shape[d] == want[d];
    if (!ok)
        return agi_fail(t, AG_ERR_SHAPE, "ag_index_add: src is %s, expected %s (base is %s, "
                        "%lld indices along axis %d)", agi_shape_str(src, ss),
                        agi_dims_str(base->ndim, want, se), agi_shape_str(base, sb),
                        (long long)n, axis);
    return index_add_op(t, base, a, idx, n, src, NULL);
}

/* ----------------------------------------------- gather / scatter_add --- */

/*
** The index of gather/scatter_add against x (axis a): a shape of x's ndim,
** no dim negative, each <= x's outside axis a, and values in range. Sets
** *numel. 0 with the error set if bad.
*/
static int check_index(ag_tape *t, const char *fn, const char *xname, const ag_tensor *x,
                       int a, const int64_t *index, const int64_t *ishape, int64_t *numel)
{
    char sx[96], si[96];            /* shape strings: made on the error paths only */
    if (!ishape)
        return agi_fail(t, AG_ERR_ARG, "%s: index_shape is NULL (%s is %s)", fn, xname,
                        agi_shape_str(x, sx)), 0;
    for (int d = 0; d < x->ndim; d++)
        if (ishape[d] < 0 || (d != a && ishape[d] > x->shape[d]))
            return agi_fail(t, AG_ERR_SHAPE, "%s: index is %s, %s is %s: dim %d %s", fn,
                            agi_dims_str(x->ndim, ishape, si), xname, agi_shape_str(x, sx), d,
                            ishape[d] < 0 ? "is negative" : "is larger (only axis may be)"), 0;
    *numel = agi_numel(x->ndim, ishape);
    if (*numel < 0)
        return agi_fail(t, AG_ERR_SHAPE, "%s: index shape %s is too large", fn,
                        agi_dims_str(x->ndim, ishape, si)), 0;
    if (*numel > 0 && !index)
        return agi_fail(t, AG_ERR_ARG, "%s: index is NULL (index_shape %s)", fn,
                        agi_dims_str(x->ndim, ishape, si)), 0;
    return check_values(t, fn, xname, x, a, index, *numel, x->ndim, ishape);
}

/*
** For each position p of the index (small's shape; small is the gather's
** result or the scatter's src): small[p] = big[p with p[axis] = index[p]],
** or big[that] += small[p] when adding. big and small have one ndim.
*/
#define ELEMS_LOOP(T, SMALL, BIG, ADD)                                        \
    do {                                                                      \
        T *ps_ = (T *)(SMALL)->data, *pb_ = (T *)(BIG)->data;                 \
        for (int64_t o_ = 0; o_ < it.outer; o_++) {                           \
            const int64_t *ix_ = index + it.off[0];                           \
            T *s_ = ps_ + it.off[0], *b_ = pb_ + it.off[1];                   \
            for (int64_t j_ = 0; j_ < it.inner; j_++) {                       \
                T *e_ = b_ + j_ * it.istride[1] + ix_[j_] * astride;          \
                if (ADD)                                                      \
                    *e_ += s_[j_];                                            \
                else                                                          \
                    s_[j_] = *e_;                                             \
            }                                                                 \
            agi_iter_next(&it, 2);                                            \
        }                                                                     \
    } while (0)

static void elems_kernel(ag_tensor *small, ag_tensor *big, int axis, const int64_t *index,
                         int add)
{
    int64_t st[4][AG_MAX_DIMS];
    agi_iter it;
    agi_contig_strides(small->ndim, small->shape, st[0]);
    agi_contig_strides(big->ndim, big->shape, st[1]);
    int64_t astride = st[1][axis];
    st[1][axis] = 0;                       /* the axis coordinate comes from index */
    agi_iter_init(&it, small->ndim, small->shape, 2, (const int64_t(*)[AG_MAX_DIMS])st);
    if (big->dtype == AG_F64) {
        if (add) ELEMS_LOOP(double, small, big, 1);
        else ELEMS_LOOP(double, small, big, 0);
    } else {
        if (add) ELEMS_LOOP(float, small, big, 1);
        else ELEMS_LOOP(float, small, big, 0);
    }
}

static ag_tensor *scatter_add_op(ag_tape *t, ag_tensor *base, int a, const int64_t *index,
                                 const int64_t *ishape, ag_tensor *src,
                                 const index_arg *kept);

/* A plan's replay of gather (s: the axis, aux: the index, frozen at
   capture). */
static void gather_step(const agi_step *st)
{
    const index_arg *k = st->aux;
    elems_kernel(st->y, st->a, (int)st->s, k->idx, 0);
}

/* A plan's replay of scatter_add: y = base (a), then src (b) added. */
static void scatter_add_step(const agi_step *st)
{
    const index_arg *k = st->aux;
    memcpy(st->y->data, st->a->data, agi_bytes(st->y->numel, st->y->dtype));
    elems_kernel(st->b, st->y, (int)st->s, k->idx, 1);
}

/* Logs op's step when a plan captures t; returns the index kept on the
   tape (kept, or a new copy), or NULL when none is needed yet. */
static const index_arg *log_index_step(ag_tape *t, agi_step_fn run, ag_tensor *y,
                                       ag_tensor *a, ag_tensor *b, int axis,
                                       const int64_t *index, int64_t n, int ndim,
                                       const int64_t *ishape, const index_arg *kept)
{
    if (!t->plan) return kept;
    if (!kept) kept = keep(t, index, n, ndim, ishape);
    agi_step *st = agi_plan_log(t, 1, run, NULL, y, a, b, axis, 0);
    if (st) st->aux = (void *)kept;
    return kept;
}

/* y = gather(x, axis, index); dx += scatter_add(zeros(x.shape), axis, index, dy) */
static void gather_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                            ag_tensor **gx, const uint8_t *need)
{
    const index_arg *k = n->aux;
    const ag_tensor *x = n->in[0];
    (void)need;
    ag_tensor *zeros = ag_zeros(t, (ag_dtype)x->dtype, x->ndim, x->shape);
    gx[0] = zeros ? scatter_add_op(t, zeros, n->iparam[0], k->idx, k->shape, gy, k) : NULL;
}

static ag_tensor *gather_op(ag_tape *t, ag_tensor *x, int a, const int64_t *index,
                            const int64_t *ishape, int64_t numel, const index_arg *kept);

/* ty = gather(tx, axis, index) */
static ag_tensor *gather_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const index_arg *k = n->aux;
    return gather_op(t, tx[0], n->iparam[0], k->idx, k->shape, k->n, k);
}

static const agi_op op_gather = {"ag_gather", gather_backward, gather_jvp};

/* gather on checked arguments; kept, when given, is index on the tape. */
static ag_tensor *gather_op(ag_tape *t, ag_tensor *x, int a, const int64_t *index,
                            const int64_t *ishape, int64_t numel, const index_arg *kept)
{
    ag_tensor *y = agi_new(t, op_gather.name, (ag_dtype)x->dtype, x->ndim, ishape);
    if (!y) return NULL;
    elems_kernel(y, x, a, index, 0);
    kept = log_index_step(t, gather_step, y, x, NULL, a, index, numel, x->ndim, ishape, kept);
    agi_node *nd = agi_record(t, &op_gather, y, 1, &x);
    if (nd) {
        nd->iparam[0] = a;
        nd->aux = kept ? kept : keep(t, index, numel, x->ndim, ishape);
    }
    return agi_done(t, &op_gather, y);
}

ag_tensor *ag_gather(ag_tape *t, ag_tensor *x, int axis, const int64_t *index,
                     const int64_t *index_shape)
{
    int64_t numel;
    if (!agi_check(t, "ag_gather", "x", x)) return NULL;
    int a = agi_axis(t, "ag_gather", axis, x->ndim);
    if (a < 0 || !check_index(t, "ag_gather", "x", x, a, index, index_shape, &numel))
        return NULL;
    return gather_op(t, x, a, index, index_shape, numel, NULL);
}

/* y = scatter_add(base, axis, index, src); dbase += dy; dsrc += gather(dy, axis, index) */
static void scatter_add_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                 ag_tensor **gx, const uint8_t *need)
{
    const index_arg *k = n->aux;
    if (need[0]) gx[0] = gy;
    if (need[1]) gx[1] = gather_op(t, gy, n->iparam[0], k->idx, k->shape, k->n, k);
}

/* ty = scatter_add(tbase, axis, index, tsrc) */
static ag_tensor *scatter_add_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const index_arg *k = n->aux;
    return scatter_add_op(t, tx[0], n->iparam[0], k->idx, k->shape, tx[1], k);
}

static const agi_op op_scatter_add = {"ag_scatter_add", scatter_add_backward,
                                      scatter_add_jvp};

static ag_tensor *scatter_add_op(ag_tape *t, ag_tensor *base, int a, const int64_t *index,
                                 const int64_t *ishape, ag_tensor *src,
                                 const index_arg *kept)
{
    if (!agi_check(t, op_scatter_add.name, "src", src)) return NULL;
    ag_tensor *y = agi_new_like(t, op_scatter_add.name, base);
    if (!y) return NULL;
    memcpy(y->data, base->data, agi_bytes(y->numel, y->dtype));
    elems_kernel(src, y, a, index, 1);
    kept = log_index_step(t, scatter_add_step, y, base, src, a, index, src->numel, base->ndim,
                          ishape, kept);
    ag_tensor *in[2] = {base, src};
    agi_node *nd = agi_record(t, &op_scatter_add, y, 2, in);
    if (nd) {
        nd->iparam[0] = a;
        nd->aux = kept ? kept : keep(t, index, src->numel, base->ndim, ishape);
    }
    return agi_done(t, &op_scatter_add, y);
}

ag_tensor *ag_scatter_add(ag_tape *t, ag_tensor *base, int axis, const int64_t *index,
                          const int64_t *index_shape, ag_tensor *src)
{
    char sb[96], ss[96], si[96];
    int64_t numel;
    if (!check_pair(t, "ag_scatter_add", base, src)) return NULL;
    int a = agi_axis(t, "ag_scatter_add", axis, base->ndim);
    if (a < 0 || !check_index(t, "ag_scatter_add", "base", base, a, index, index_shape, &numel))
        return NULL;
    int ok = src->ndim == base->ndim;
    for (int d = 0; ok && d < base->ndim; d++) ok = src->shape[d] == index_shape[d];
    if (!ok)
        return agi_fail(t, AG_ERR_SHAPE, "ag_scatter_add: src is %s, index is %s: they must "
                        "agree (base is %s)", agi_shape_str(src, ss),
                        agi_dims_str(base->ndim, index_shape, si), agi_shape_str(base, sb));
    return scatter_add_op(t, base, a, index, index_shape, src, NULL);
}
