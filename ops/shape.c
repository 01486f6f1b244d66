/*
** shape.c: ops that move values without changing them. Reshape and its
** named forms (flatten, squeeze, unsqueeze), concat, and slice with the
** private op that is slice's backward ("slice backward": a gradient placed
** into zeros at the slice's positions). Reshape and its named forms share
** their input's data (a new header, no copy: every tensor is contiguous),
** and so does a slice that is one contiguous run of its input (step 1 on
** the first axis larger than 1); concat and other slices write a new
** contiguous tensor, moving whole runs. expand and sum_to live in
** broadcast.c; index_select, index_add, gather and scatter_add in index.c.
*/
#include "ag_ops_internal.h"
#include "ag_shape.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ reshape --- */

/* y = reshape(x, shape) (and flatten, squeeze, unsqueeze);
   dx += reshape(dy, x.shape) */
static void reshape_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                             ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_reshape(t, gy, n->in[0]->ndim, n->in[0]->shape);
}

/* ty = reshape(tx, y.shape) */
static ag_tensor *reshape_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_reshape(t, tx[0], n->out->ndim, n->out->shape);
}

static const agi_op op_reshape = {"ag_reshape", reshape_backward, reshape_jvp};
static const agi_op op_flatten = {"ag_flatten", reshape_backward, reshape_jvp};
static const agi_op op_squeeze = {"ag_squeeze", reshape_backward, reshape_jvp};
static const agi_op op_unsqueeze = {"ag_unsqueeze", reshape_backward, reshape_jvp};

/* y (shape, same element count as x, checked by the caller) = x's data
   seen with a new shape: no copy (every tensor is contiguous and
   row-major, so the elements keep their order). */
static ag_tensor *reshape_view(ag_tape *t, const agi_op *op, ag_tensor *x, int ndim,
                               const int64_t *shape)
{
    ag_tensor *y = agi_view(t, op->name, x, ndim, shape);
    if (!y) return NULL;
    if (t->plan) agi_plan_log(t, 1, NULL, NULL, y, x, NULL, 0, 0);   /* shares x's data */
    agi_record(t, op, y, 1, &x);
    return agi_done(t, op, y);
}

/* out = shape with its -1 (at most one) inferred from x's element count;
   0, with the error set, when shape cannot hold x's elements. */
static int resolve_shape(ag_tape *t, const ag_tensor *x, int ndim, const int64_t *shape,
                         int64_t *out)
{
    char sx[96], ss[96];            /* shape strings: made on the error paths only */
#define RS_SS agi_dims_str(ndim, shape, ss)
#define RS_SX agi_shape_str(x, sx)
    int infer = -1;
    if (ndim < 0 || ndim > AG_MAX_DIMS || (ndim && !shape))
        return agi_fail(t, AG_ERR_SHAPE, "ag_reshape: bad target: %d dimensions%s (x is %s)",
                        ndim, ndim > 0 && !shape ? " and shape is NULL" : "", RS_SX), 0;
    for (int i = 0; i < ndim; i++) {
        out[i] = shape[i];
        if (shape[i] == -1 && infer < 0) {
            infer = i;
            out[i] = 1;                             /* for the count of the others */
        } else if (shape[i] < 0) {
            return agi_fail(t, AG_ERR_SHAPE, "ag_reshape: %s in target %s (x is %s)",
                            shape[i] == -1 ? "more than one -1" : "a negative dimension",
                            RS_SS, RS_SX), 0;
        }
    }
    int64_t known = agi_numel(ndim, out);          /* the -1 counted as 1 */
    if (known < 0)
        return agi_fail(t, AG_ERR_SHAPE, "ag_reshape: target %s is too large: more than %lld "
                        "elements (AG_NUMEL_MAX), its zero dims aside (x is %s)", RS_SS,
                        (long long)AG_NUMEL_MAX, RS_SX), 0;
    if (infer >= 0 && known != 0 && x->numel % known == 0) {
        out[infer] = x->numel / known;
        known = x->numel;
    } else if (infer >= 0) {
        return agi_fail(t, AG_ERR_SHAPE, "ag_reshape: cannot infer the -1 in %s for x of "
                        "shape %s (%lld elements)", RS_SS, RS_SX, (long long)x->numel), 0;
    }
    if (known != x->numel)
        return agi_fail(t, AG_ERR_SHAPE, "ag_reshape: x is %s (%lld elements), target %s "
                        "holds %lld", RS_SX, (long long)x->numel, RS_SS, (long long)known), 0;
    return 1;
#undef RS_SS
#undef RS_SX
}

ag_tensor *ag_reshape(ag_tape *t, ag_tensor *x, int ndim, const int64_t *shape)
{
    int64_t out[AG_MAX_DIMS];
    if (!agi_check(t, "ag_reshape", "x", x)) return NULL;
    if (!resolve_shape(t, x, ndim, shape, out)) return NULL;
    return reshape_view(t, &op_reshape, x, ndim, out);
}

ag_tensor *ag_flatten(ag_tape *t, ag_tensor *x, int start_axis, int end_axis)
{
    char sx[96];
    int64_t shape[AG_MAX_DIMS];
    if (!agi_check(t, "ag_flatten", "x", x)) return NULL;
    int nd = x->ndim ? x->ndim : 1;         /* a scalar flattens to [1], as in PyTorch */
    int s = agi_axis(t, "ag_flatten", start_axis, nd);
    int e = s < 0 ? -1 : agi_axis(t, "ag_flatten", end_axis, nd);
    if (s < 0 || e < 0) return NULL;
    if (s > e)
        return agi_fail(t, AG_ERR_AXIS, "ag_flatten: start_axis %d comes after end_axis %d "
                        "(x is %s)", start_axis, end_axis, agi_shape_str(x, sx));
    if (x->ndim == 0) {
        shape[0] = 1;
        return reshape_view(t, &op_flatten, x, 1, shape);
    }
    int k = 0;
    for (int d = 0; d < s; d++) shape[k++] = x->shape[d];
    shape[k++] = agi_dims_prod(x->shape, s, e + 1);
    for (int d = e + 1; d < x->ndim; d++) shape[k++] = x->shape[d];
    return reshape_view(t, &op_flatten, x, k, shape);
}

ag_tensor *ag_squeeze(ag_tape *t, ag_tensor *x, int axis)
{
    char sx[96];
    int64_t shape[AG_MAX_DIMS];
    int k = 0, a = -1;
    if (!agi_check(t, "ag_squeeze", "x", x)) return NULL;
    if (axis != AG_ALL) {
        a = agi_axis(t, "ag_squeeze", axis, x->ndim ? x->ndim : 1);
        if (a < 0) return NULL;
        if (x->ndim && x->shape[a] != 1)
            return agi_fail(t, AG_ERR_SHAPE, "ag_squeeze: axis %d has size %lld, not 1 "
                            "(x is %s)", axis, (long long)x->shape[a], agi_shape_str(x, sx));
    }
    for (int d = 0; d < x->ndim; d++)
        if (axis == AG_ALL ? x->shape[d] != 1 : d != a) shape[k++] = x->shape[d];
    return reshape_view(t, &op_squeeze, x, k, shape);
}

ag_tensor *ag_unsqueeze(ag_tape *t, ag_tensor *x, int axis)
{
    char sx[96];
    int64_t shape[AG_MAX_DIMS];
    if (!agi_check(t, "ag_unsqueeze", "x", x)) return NULL;
    int nd = x->ndim + 1;
    if (x->ndim == AG_MAX_DIMS)
        return agi_fail(t, AG_ERR_SHAPE, "ag_unsqueeze: x is %s, already %d dimensions "
                        "(the most)", agi_shape_str(x, sx), AG_MAX_DIMS);
    int a = axis < 0 ? axis + nd : axis;
    if (a < 0 || a >= nd)
        return agi_fail(t, AG_ERR_AXIS, "ag_unsqueeze: axis %d out of range for x of shape "
                        "%s (allowed %d..%d)", axis, agi_shape_str(x, sx), -nd, nd - 1);
    for (int d = 0, k = 0; d < nd; d++) shape[d] = d == a ? 1 : x->shape[k++];
    return reshape_view(t, &op_unsqueeze, x, nd, shape);
}

/* ------------------------------------------------------------- concat --- */

/* y = concat(xs, axis); dxs[i] += slice(dy, axis, off_i, off_i + xs[i].dim(axis)) */
static void concat_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                            ag_tensor **gx, const uint8_t *need)
{
    int axis = n->iparam[0];
    int64_t off = 0;
    for (int i = 0; i < n->n_in; i++) {
        int64_t d = n->in[i]->shape[axis];
        if (need[i]) gx[i] = ag_slice(t, gy, axis, off, off + d, 1);
        off += d;
    }
}

/* ty = concat(txs, axis) */
static ag_tensor *concat_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_concat(t, n->n_in, tx, n->iparam[0]);
}

static const agi_op op_concat = {"ag_concat", concat_backward, concat_jvp};

/* Validates ag_concat's arguments; the normalised axis, or -1 (error set). */
static int concat_check(ag_tape *t, int n, ag_tensor *const *xs, int axis)
{
    char arg[32], s0[96], si[96];
    if (!t) return agi_no_tape("ag_concat"), -1;
    if (t->status != AG_OK) return -1;
    if (!xs) return agi_fail(t, AG_ERR_ARG, "ag_concat: xs is NULL"), -1;
    if (n < 1) return agi_fail(t, AG_ERR_ARG, "ag_concat: n is %d, need at least 1", n), -1;
    for (int i = 0; i < n; i++) {
        snprintf(arg, sizeof arg, "xs[%d]", i);
        if (!agi_check(t, "ag_concat", arg, xs[i])) return -1;
    }
    int a = agi_axis(t, "ag_concat", axis, xs[0]->ndim);
    if (a < 0) return -1;
    for (int i = 1; i < n; i++) {
        const ag_tensor *x = xs[i];
        if (x->dtype != xs[0]->dtype)
            return agi_fail(t, AG_ERR_DTYPE, "ag_concat: dtypes differ: xs[0] is %s, xs[%d] "
                            "is %s (use ag_cast)", agi_dtype_name(xs[0]->dtype), i,
                            agi_dtype_name(x->dtype)), -1;
        int ok = x->ndim == xs[0]->ndim;
        for (int d = 0; ok && d < x->ndim; d++) ok = d == a || x->shape[d] == xs[0]->shape[d];
        if (!ok)
            return agi_fail(t, AG_ERR_SHAPE, "ag_concat: xs[0] is %s, xs[%d] is %s: all "
                            "dimensions but axis %d must agree", agi_shape_str(xs[0], s0), i,
                            agi_shape_str(x, si), axis), -1;
    }
    return a;
}

/* y (outer, sum of d_i, inner) = the xs[i] (outer, d_i, inner) side by side.
   An empty y moves nothing (its outer may still be huge: [2^40, 0]). */
static void concat_kernel(int n, ag_tensor *const *xs, int axis, ag_tensor *y)
{
    if (y->numel == 0) return;
    int64_t outer = agi_dims_prod(y->shape, 0, axis);
    char *py = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < n; i++) {
            size_t bytes = agi_bytes(agi_dims_prod(xs[i]->shape, axis, y->ndim), y->dtype);
            memcpy(py, (const char *)xs[i]->data + (size_t)o * bytes, bytes);
            py += bytes;
        }
}

ag_tensor *ag_concat(ag_tape *t, int n, ag_tensor *const *xs, int axis)
{
    int a = concat_check(t, n, xs, axis);
    if (a < 0) return NULL;
    int64_t shape[AG_MAX_DIMS];
    memcpy(shape, xs[0]->shape, sizeof shape);
    for (int i = 1; i < n; i++) {
        if (shape[a] > AG_NUMEL_MAX - xs[i]->shape[a])     /* the sum, checked */
            return agi_fail(t, AG_ERR_SHAPE, "ag_concat: axis %d would have more than %lld "
                            "elements (AG_NUMEL_MAX) by xs[%d]", axis, (long long)AG_NUMEL_MAX, i);
        shape[a] += xs[i]->shape[a];
    }
    ag_tensor *y = agi_new(t, op_concat.name, (ag_dtype)xs[0]->dtype, xs[0]->ndim, shape);
    if (!y) return NULL;
    concat_kernel(n, xs, a, y);
    agi_node *nd = agi_record(t, &op_concat, y, n, xs);
    if (nd) nd->iparam[0] = a;
    return agi_done(t, &op_concat, y);
}

/* -------------------------------------------------------------- slice --- */

/* dst[k] = src[k * sstep], or dst[k * dstep] = src[k], for k < count: the
   elements of a slice along the last axis (es bytes each). */
static void copy_elems(char *dst, int64_t dstep, const char *src, int64_t sstep,
                       int64_t count, size_t es)
{
    if (es == sizeof(double)) {
        double *d = (double *)(void *)dst;
        const double *s = (const double *)(const void *)src;
        for (int64_t k = 0; k < count; k++) d[k * dstep] = s[k * sstep];
    } else {
        float *d = (float *)(void *)dst;
        const float *s = (const float *)(const void *)src;
        for (int64_t k = 0; k < count; k++) d[k * dstep] = s[k * sstep];
    }
}

/*
** Copies between a slice (outer, count, inner) and the tensor it was cut
** from (outer, dim, inner): part[o][k] = whole[o][start + k*step], or the
** reverse when into_whole is set. Moves contiguous runs: with step 1 the
** count rows of each outer index are one run; with a larger step, each
** row is a run, or each element when rows are single elements. An empty
** part moves nothing.
*/
static void strided_copy(ag_tensor *part, ag_tensor *whole, int axis, int64_t start,
                         int64_t step, int into_whole)
{
    if (part->numel == 0) return;
    int64_t outer = agi_dims_prod(whole->shape, 0, axis);
    int64_t inner = agi_dims_prod(whole->shape, axis + 1, whole->ndim);
    int64_t dim = whole->shape[axis], count = part->shape[axis];
    size_t es = agi_dtype_size(whole->dtype), row = agi_bytes(inner, whole->dtype);
    int64_t krows = step == 1 ? 1 : count, run = step == 1 ? count : 1;
    char *pp = part->data, *pw = whole->data;
    for (int64_t o = 0; o < outer; o++) {
        char *p = pp + (size_t)(o * count) * row;
        char *w = pw + (size_t)(o * dim + start) * row;
        if (inner == 1 && step > 1) {
            if (into_whole)
                copy_elems(w, step, p, 1, count, es);
            else
                copy_elems(p, 1, w, step, count, es);
            continue;
        }
        for (int64_t k = 0; k < krows; k++) {
            char *pk = p + (size_t)k * row, *wk = w + (size_t)(k * step) * row;
            if (into_whole)
                memcpy(wk, pk, (size_t)run * row);
            else
                memcpy(pk, wk, (size_t)run * row);
        }
    }
}

/* n->aux of a slice and of its backward: {start, end, step}, normalised. */

/* y = zeros(x.shape) with y[.., start:end:step, ..] = g; dg += slice(dy, ...) */
static void slice_pad_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                               ag_tensor **gx, const uint8_t *need)
{
    const int64_t *p = n->aux;
    (void)need;
    gx[0] = ag_slice(t, gy, n->iparam[0], p[0], p[1], p[2]);
}

static ag_tensor *slice_pad(ag_tape *t, ag_tensor *g, const ag_tensor *x, int axis,
                            const int64_t *params);

/* ty = slice_pad(tg) */
static ag_tensor *slice_pad_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return slice_pad(t, tx[0], n->out, n->iparam[0], n->aux);
}

static const agi_op op_slice_pad = {"ag_slice (backward)", slice_pad_backward, slice_pad_jvp};

/* The private op: g (a slice's shape) placed into zeros of x's shape. */
static ag_tensor *slice_pad(ag_tape *t, ag_tensor *g, const ag_tensor *x, int axis,
                            const int64_t *params)
{
    if (!agi_check(t, op_slice_pad.name, "dy", g)) return NULL;
    ag_tensor *y = agi_new(t, op_slice_pad.name, (ag_dtype)g->dtype, x->ndim, x->shape);
    if (!y) return NULL;
    memset(y->data, 0, agi_bytes(y->numel, y->dtype));
    strided_copy(g, y, axis, params[0], params[2], 1);
    agi_node *n = agi_record(t, &op_slice_pad, y, 1, &g);
    if (n) {
        n->iparam[0] = axis;
        n->aux = params;                 /* shared with the slice's node */
    }
    return agi_done(t, &op_slice_pad, y);
}

/* y = x[.., start:end:step, ..]; dx += slice_pad(dy) (zeros off the slice) */
static void slice_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                           ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = slice_pad(t, gy, n->in[0], n->iparam[0], n->aux);
}

/* ty = tx[.., start:end:step, ..] */
static ag_tensor *slice_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const int64_t *p = n->aux;
    return ag_slice(t, tx[0], n->iparam[0], p[0], p[1], p[2]);
}

static const agi_op op_slice = {"ag_slice", slice_backward, slice_jvp};

/* A Python slice bound: negative counts from the end; clamped to [0, dim]. */
static int64_t slice_bound(int64_t b, int64_t dim)
{
    if (b < 0) b = b + dim < 0 ? 0 : b + dim;
    return b > dim ? dim : b;
}

ag_tensor *ag_slice(ag_tape *t, ag_tensor *x, int axis, int64_t start, int64_t end,
                    int64_t step)
{
    char sx[96];
    int64_t shape[AG_MAX_DIMS];
    if (!agi_check(t, "ag_slice", "x", x)) return NULL;
    int a = agi_axis(t, "ag_slice", axis, x->ndim);
    if (a < 0) return NULL;
    if (step < 1)
        return agi_fail(t, AG_ERR_ARG, "ag_slice: step is %lld, must be >= 1 (x is %s, "
                        "axis %d)", (long long)step, agi_shape_str(x, sx), axis);
    start = slice_bound(start, x->shape[a]);
    end = slice_bound(end, x->shape[a]);
    memcpy(shape, x->shape, sizeof shape);
    shape[a] = end > start ? (end - start - 1) / step + 1 : 0;
    ag_tensor *y;
    if ((step == 1 || shape[a] <= 1) && agi_dims_prod(x->shape, 0, a) == 1) {
        /* one contiguous run of x: share it (rows of a matrix, a batch) */
        int64_t inner = agi_dims_prod(x->shape, a + 1, x->ndim);
        y = agi_view(t, op_slice.name, x, x->ndim, shape);
        if (!y) return NULL;
        y->numel = agi_dims_prod(shape, 0, x->ndim);
        if (y->numel) y->data = (char *)x->data + agi_bytes(start * inner, x->dtype);
    } else {
        y = agi_new(t, op_slice.name, (ag_dtype)x->dtype, x->ndim, shape);
        if (!y) return NULL;
        strided_copy(y, x, a, start, step, 0);
    }
    agi_node *n = agi_record(t, &op_slice, y, 1, &x);
    int64_t *p = n ? agi_alloc(t, 3 * sizeof *p) : NULL;
    if (p) {
        p[0] = start;
        p[1] = end;
        p[2] = step;
        n->iparam[0] = a;
        n->aux = p;
    }
    return agi_done(t, &op_slice, y);
}
