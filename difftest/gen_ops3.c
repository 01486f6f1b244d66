/*
** gen_ops3.c: generators for ag_concat, ag_slice and the indexing ops
** (index_select, index_add, gather, scatter_add). Indices repeat freely
** (their gradients add up); slices use Python's rules with negative and
** out-of-range bounds, but are never empty.
*/
#include <string.h>
#include "gen.h"

static int norm_axis(int axis, int nd) { return axis < 0 ? axis + nd : axis; }

/* A pool tensor of ndim nd with dims equal to shape except along axis
   (any size there), or -1. */
static int find_but_axis(dt_gen *g, int nd, const int64_t *shape, int axis)
{
    int cand[DT_MAX_NODES], n = 0;
    for (int i = 0; i < g->n; i++) {
        const ag_tensor *x = g->nodes[i].x;
        int ok = ag_tensor_ndim(x) == nd;
        for (int d = 0; ok && d < nd; d++)
            ok = d == axis || ag_tensor_shape(x)[d] == shape[d];
        if (ok) cand[n++] = i;
    }
    return n ? cand[dt_int(g, 0, n - 1)] : -1;
}

int dt_run_concat(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 1, 4), nd = ag_tensor_ndim(g->nodes[a].x);
    int axis = dt_rand_axis(g, nd, 0), ax = norm_axis(axis, nd);
    int64_t shape[AG_MAX_DIMS];
    memcpy(shape, ag_tensor_shape(g->nodes[a].x), (size_t)nd * sizeof *shape);
    int parts[4], n = dt_int(g, 1, 3);
    ag_tensor *xs[4];
    parts[0] = a;
    for (int k = 1; k < n; k++) {
        int r = dt_int(g, 0, 2), p = r == 0 ? a : r == 1 ? find_but_axis(g, nd, shape, ax) : -1;
        if (p < 0) {
            shape[ax] = dt_int(g, 1, 3);
            if (dt_numel(nd, shape) > g->max_numel) return -1;
            p = dt_leaf(g, nd, shape, -2, 2, 0, dt_coin(g, 0.8));
        }
        parts[k] = p;
    }
    if (dt_coin(g, 0.5)) {                   /* a not always first */
        int j = dt_int(g, 0, n - 1), s = parts[0];
        parts[0] = parts[j], parts[j] = s;
    }
    for (int k = 0; k < n; k++) xs[k] = g->nodes[parts[k]].x;
    dt_begin(g);
    dt_arg_tl(g, n, parts), dt_arg_i(g, axis);
    return dt_commit(g, op->name, ag_concat(g->t, n, xs, axis));
}

/* Python's slice length for start:end:step over dim. */
static int64_t slice_len(int64_t dim, int64_t start, int64_t end, int64_t step)
{
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    start = start < 0 ? 0 : start > dim ? dim : start;
    end = end < 0 ? 0 : end > dim ? dim : end;
    return end > start ? (end - start + step - 1) / step : 0;
}

int dt_run_slice(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 1, 4), nd = ag_tensor_ndim(g->nodes[a].x);
    int axis = dt_rand_axis(g, nd, 0);
    int64_t dim = ag_tensor_shape(g->nodes[a].x)[norm_axis(axis, nd)];
    int64_t start = 0, end = dim, step = 1;
    for (int tries = 0; tries < 20; tries++) {
        start = dt_int(g, (int)(-dim - 1), (int)dim);
        end = dt_int(g, (int)(-dim - 1), (int)dim + 1);
        step = dt_int(g, 1, 3);
        if (slice_len(dim, start, end, step) > 0) break;
    }
    if (slice_len(dim, start, end, step) == 0) return -1;
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, axis), dt_arg_i(g, start), dt_arg_i(g, end), dt_arg_i(g, step);
    return dt_commit(g, op->name, ag_slice(g->t, g->nodes[a].x, axis, start, end, step));
}

/* n random indices in [0, dim). */
static void rand_idx(dt_gen *g, int64_t n, int64_t dim, int64_t *idx)
{
    for (int64_t i = 0; i < n; i++) idx[i] = dt_int(g, 0, (int)dim - 1);
}

int dt_run_index_select(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 1, 4), nd = ag_tensor_ndim(g->nodes[a].x);
    int axis = dt_rand_axis(g, nd, 0), n = dt_int(g, 1, 4);
    int64_t idx[4];
    rand_idx(g, n, ag_tensor_shape(g->nodes[a].x)[norm_axis(axis, nd)], idx);
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, axis), dt_arg_il(g, n, idx);
    return dt_commit(g, op->name, ag_index_select(g->t, g->nodes[a].x, axis, idx, n));
}

int dt_run_index_add(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 1, 4), nd = ag_tensor_ndim(g->nodes[a].x);
    int axis = dt_rand_axis(g, nd, 0), ax = norm_axis(axis, nd), n = dt_int(g, 1, 4);
    int64_t idx[4], shape[AG_MAX_DIMS];
    memcpy(shape, ag_tensor_shape(g->nodes[a].x), (size_t)nd * sizeof *shape);
    rand_idx(g, n, shape[ax], idx);
    shape[ax] = n;
    if (dt_numel(nd, shape) > g->max_numel) return -1;
    int src = dt_coin(g, 0.5) ? -1 : find_but_axis(g, nd, shape, -1);
    if (src < 0) src = dt_leaf(g, nd, shape, -2, 2, 0, dt_coin(g, 0.8));
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, axis), dt_arg_il(g, n, idx), dt_arg_t(g, src);
    return dt_commit(g, op->name, ag_index_add(g->t, g->nodes[a].x, axis, idx, n,
                                                 g->nodes[src].x));
}

/* An index for gather/scatter_add against x along ax: its shape (each dim
   at most x's but along ax) and entries in [0, x's dim ax). */
static int64_t rand_index(dt_gen *g, const ag_tensor *x, int ax, int64_t *ishape,
                          int64_t *index)
{
    int nd = ag_tensor_ndim(x);
    for (int d = 0; d < nd; d++)
        ishape[d] = d == ax ? dt_int(g, 1, 3) : dt_int(g, 1, (int)ag_tensor_shape(x)[d]);
    int64_t n = dt_numel(nd, ishape);
    rand_idx(g, n, ag_tensor_shape(x)[ax], index);
    return n;
}

int dt_run_gather(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 1, 4), nd = ag_tensor_ndim(g->nodes[a].x);
    int axis = dt_rand_axis(g, nd, 0);
    int64_t ishape[AG_MAX_DIMS], index[DT_MAX_NUMEL * 3];
    int64_t n = rand_index(g, g->nodes[a].x, norm_axis(axis, nd), ishape, index);
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, axis), dt_arg_il(g, (int)n, index), dt_arg_il(g, nd, ishape);
    return dt_commit(g, op->name, ag_gather(g->t, g->nodes[a].x, axis, index, ishape));
}

int dt_run_scatter_add(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 1, 4), nd = ag_tensor_ndim(g->nodes[a].x);
    int axis = dt_rand_axis(g, nd, 0), ax = norm_axis(axis, nd);
    int64_t ishape[AG_MAX_DIMS], index[DT_MAX_NUMEL * 3];
    int64_t n = rand_index(g, g->nodes[a].x, ax, ishape, index);
    if (n > g->max_numel) return -1;
    int src = dt_coin(g, 0.5) ? -1 : find_but_axis(g, nd, ishape, -1);
    if (src < 0) src = dt_leaf(g, nd, ishape, -2, 2, 0, dt_coin(g, 0.8));
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, axis), dt_arg_il(g, (int)n, index), dt_arg_il(g, nd, ishape);
    dt_arg_t(g, src);
    return dt_commit(g, op->name, ag_scatter_add(g->t, g->nodes[a].x, axis, index, ishape,
                                                   g->nodes[src].x));
}
