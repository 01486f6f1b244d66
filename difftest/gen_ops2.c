/*
** gen_ops2.c: generators for reductions and softmaxes (ag_reduce.h),
** products and permutations (ag_linalg.h), and shape and indexing ops
** (ag_shape.h). Axes are drawn over [-ndim, ndim) (both signs) and AG_ALL
** where the op takes it; keepdim both ways.
**
** Safe domains: max and min reduce groups whose largest (smallest) value
** leads the next by more than 1e-6 (no ties: PyTorch's full max splits the
** gradient among ties, this library gives it to the first); var reduces
** groups with a spread (max - min >= 1e-3 max(1, |x|max)) and more
** elements than the correction.
*/
#include <math.h>
#include <string.h>
#include "gen.h"

static int p_nd1(const dt_node *n) { return ag_tensor_ndim(n->x) >= 1; }
static int p_nd23(const dt_node *n)
{
    return ag_tensor_ndim(n->x) == 2 || ag_tensor_ndim(n->x) == 3;
}

int dt_operand_nd(dt_gen *g, int min_nd, int max_nd)
{
    int a = -1;
    if (min_nd == 1 && max_nd >= 4) a = dt_pick(g, p_nd1);
    else if (min_nd == 2 && max_nd == 3) a = dt_pick(g, p_nd23);
    else if (min_nd == 0) a = dt_pick(g, NULL);
    if (a >= 0 && ag_tensor_ndim(g->nodes[a].x) > max_nd) a = -1;
    if (a < 0 || dt_coin(g, 0.1)) {
        int64_t shape[AG_MAX_DIMS];
        int nd = dt_shape(g, min_nd, max_nd, shape);
        a = dt_leaf(g, nd, shape, -2, 2, 0, dt_coin(g, 0.9));
    }
    return a;
}

int dt_rand_axis(dt_gen *g, int nd, int allow_all)
{
    if (allow_all && dt_coin(g, 0.25)) return AG_ALL;
    if (nd == 0) return dt_coin(g, 0.5) ? 0 : -1;
    int a = dt_int(g, 0, nd - 1);
    return dt_coin(g, 0.4) ? a - nd : a;
}

static const int64_t *shape_of(const dt_gen *g, int i) { return ag_tensor_shape(g->nodes[i].x); }
static int ndim_of(const dt_gen *g, int i) { return ag_tensor_ndim(g->nodes[i].x); }

/* -------------------------------------------------------- reductions --- */

/* 1 when every group reduced along axis suits kind: 0 max, 1 min (a
   unique extreme), 2 var with correction c (a spread; n > c). */
static int groups_ok(const dt_node *x, int axis, int kind, int c)
{
    int nd = ag_tensor_ndim(x->x);
    const int64_t *sh = ag_tensor_shape(x->x);
    int64_t outer = 1, n = ag_tensor_numel(x->x), inner = 1;
    if (axis != AG_ALL && nd > 0) {
        int a = axis < 0 ? axis + nd : axis;
        n = sh[a];
        for (int d = 0; d < a; d++) outer *= sh[d];
        for (int d = a + 1; d < nd; d++) inner *= sh[d];
    }
    const double *v = dt_vals(x);
    double scale = fmax(1, dt_max_abs(x));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double best = -INFINITY, next = -INFINITY, mn = INFINITY, mx = -INFINITY;
            for (int64_t j = 0; j < n; j++) {
                double e = v[(o * n + j) * inner + i] * (kind == 1 ? -1 : 1);
                if (e > best) next = best, best = e;
                else if (e > next) next = e;
                mn = fmin(mn, e), mx = fmax(mx, e);
            }
            if (kind < 2 && n > 1 && best - next <= DT_KINK * fmax(1, fabs(best))) return 0;
            if (kind == 2 && (n <= c || (n > 1 && mx - mn < 1e-3 * scale))) return 0;
        }
    return 1;
}

typedef struct reduce_def {
    ag_tensor *(*fn)(ag_tape *, ag_tensor *, int, int);
    int kind;   /* -1 any, 0 max, 1 min */
} reduce_def;

static const reduce_def def_sum = {ag_sum, -1}, def_mean = {ag_mean, -1},
                        def_max = {ag_max, 0}, def_min = {ag_min, 1},
                        def_logsumexp = {ag_logsumexp, -1};

static int reduce_on(dt_gen *g, const char *name, const reduce_def *d, int a, int axis)
{
    int keep = dt_coin(g, 0.5);
    if (d->kind >= 0 && !groups_ok(&g->nodes[a], axis, d->kind, 0)) return -1;
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, axis), dt_arg_i(g, keep);
    return dt_commit(g, name, d->fn(g->t, g->nodes[a].x, axis, keep));
}

static int var_on(dt_gen *g, int a, int axis)
{
    int keep = dt_coin(g, 0.5), corr = dt_int(g, 0, 1);
    if (!groups_ok(&g->nodes[a], axis, 2, corr)) return -1;
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, axis), dt_arg_i(g, corr), dt_arg_i(g, keep);
    return dt_commit(g, "var", ag_var(g->t, g->nodes[a].x, axis, corr, keep));
}

static int softmax_on(dt_gen *g, int a, int axis, int log)
{
    ag_tensor *x = g->nodes[a].x;
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, axis);
    return dt_commit(g, log ? "log_softmax" : "softmax",
                     log ? ag_log_softmax(g->t, x, axis) : ag_softmax(g->t, x, axis));
}

static int run_reduce(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 0, 4);
    return reduce_on(g, op->name, op->def, a, dt_rand_axis(g, ndim_of(g, a), 1));
}

static int run_var(dt_gen *g, const dt_op *op)
{
    (void)op;
    int a = dt_operand_nd(g, 0, 4);
    return var_on(g, a, dt_rand_axis(g, ndim_of(g, a), 1));
}

static int run_softmax(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 0, 4);
    return softmax_on(g, a, dt_rand_axis(g, ndim_of(g, a), 0), op->def != NULL);
}

/* ----------------------------------------------------------- linalg --- */

/* A pool tensor of exactly shape (nd dims), or -1. */
static int find_shape(dt_gen *g, int nd, const int64_t *shape)
{
    int cand[DT_MAX_NODES], n = 0;
    for (int i = 0; i < g->n; i++)
        if (ndim_of(g, i) == nd && !memcmp(shape_of(g, i), shape, (size_t)nd * sizeof *shape))
            cand[n++] = i;
    return n ? cand[dt_int(g, 0, n - 1)] : -1;
}

/* The right operand of a @ b: a's transpose, a pool tensor that fits, or
   a new leaf (2-D, or 3-D with a's batch or, for a 2-D a, any batch). */
static int matmul_rhs(dt_gen *g, int a)
{
    int nd = ndim_of(g, a);
    const int64_t *sa = shape_of(g, a);
    if (dt_coin(g, 0.25)) {
        dt_begin(g);
        dt_arg_t(g, a), dt_arg_i(g, -1), dt_arg_i(g, -2);
        return dt_commit(g, "transpose", ag_transpose(g->t, g->nodes[a].x, -1, -2));
    }
    int64_t sb[3];
    int nb = nd == 3 ? (dt_coin(g, 0.5) ? 3 : 2) : (dt_coin(g, 0.3) ? 3 : 2);
    if (nb == 3) sb[0] = nd == 3 ? sa[0] : dt_int(g, 1, 3);
    sb[nb - 2] = sa[nd - 1];
    sb[nb - 1] = dt_dim(g);
    if (dt_numel(nb, sb) > g->max_numel) return -1;
    int b = dt_coin(g, 0.5) ? find_shape(g, nb, sb) : -1;
    return b >= 0 ? b : dt_leaf(g, nb, sb, -2, 2, 0, dt_coin(g, 0.8));
}

static int matmul_on(dt_gen *g, int a, int b)
{
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_t(g, b);
    return dt_commit(g, "matmul", ag_matmul(g->t, g->nodes[a].x, g->nodes[b].x));
}

static int run_matmul(dt_gen *g, const dt_op *op)
{
    (void)op;
    int a = dt_operand_nd(g, 2, 3), b = matmul_rhs(g, a);
    return b < 0 ? -1 : matmul_on(g, a, b);
}

/* --------------------------------------------------- wide kernels --- */

/* A product on sizes across matmul's edges: full 8-row tiles and 8-column
   panels (AVX-512 f64; 4 with AVX2), more than one 256-deep panel, more
   than one 128-row block; batched or not. */
static int wide_matmul(dt_gen *g)
{
    static const int64_t mnk[][3] = {{9, 3, 9}, {8, 8, 8}, {17, 5, 17}, {16, 16, 16},
                                     {130, 2, 9}, {129, 3, 8}, {2, 260, 8}, {8, 257, 8},
                                     {1, 300, 1}, {33, 33, 17}, {12, 40, 25}};
    const int64_t *t = mnk[dt_int(g, 0, (int)(sizeof mnk / sizeof *mnk) - 1)];
    int64_t m = t[0], k = t[1], n = t[2], batch = dt_int(g, 1, 3);
    int three = dt_coin(g, 0.4) && batch * (m * k + k * n + m * n) <= g->max_numel;
    int a3 = three, b3 = three && dt_coin(g, 0.6);
    int64_t sa[3] = {batch, m, k}, sb[3] = {batch, k, n};
    int a = dt_leaf(g, 2 + a3, sa + !a3, -2, 2, 0, 1);
    int b = dt_leaf(g, 2 + b3, sb + !b3, -2, 2, 0, dt_coin(g, 0.8));
    return matmul_on(g, a, b);
}

/* A reduction or softmax on rows across reduce's edges: longer than the
   128-element pairwise base, more than 256 columns at once. */
static int wide_reduce(dt_gen *g)
{
    static const struct { int nd; int64_t shape[3]; int axis; } rd[] = {
        {2, {2, 260}, 0}, {2, {3, 257}, -1}, {2, {257, 3}, 0}, {3, {2, 129, 3}, 1},
        {1, {600}, 0}, {2, {4, 130}, AG_ALL}, {3, {2, 3, 129}, -1}, {2, {260, 2}, -1},
        {2, {1, 300}, 0}, {2, {2, 300}, -2}};
    int r = dt_int(g, 0, (int)(sizeof rd / sizeof *rd) - 1), kind = dt_int(g, 0, 7);
    int a = dt_leaf(g, rd[r].nd, rd[r].shape, -2, 2, 0, 1), axis = rd[r].axis;
    static const reduce_def *defs[] = {&def_sum, &def_mean, &def_max, &def_min, &def_logsumexp};
    static const char *names[] = {"sum", "mean", "max", "min", "logsumexp"};
    if (kind < 5) return reduce_on(g, names[kind], defs[kind], a, axis);
    if (kind == 5) return var_on(g, a, axis);
    return softmax_on(g, a, axis == AG_ALL ? -1 : axis, kind == 7);
}

int dt_wide_kernels(dt_gen *g)
{
    int done = wide_matmul(g) >= 0;
    return done + (wide_reduce(g) >= 0);
}

static int run_transpose(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 1, 4), nd = ndim_of(g, a);
    int a0 = dt_rand_axis(g, nd, 0), a1 = dt_rand_axis(g, nd, 0);
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, a0), dt_arg_i(g, a1);
    return dt_commit(g, op->name, ag_transpose(g->t, g->nodes[a].x, a0, a1));
}

static int run_permute(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 1, 4), nd = ndim_of(g, a), perm[AG_MAX_DIMS];
    int64_t p64[AG_MAX_DIMS];
    for (int i = 0; i < nd; i++) perm[i] = i;
    for (int i = nd - 1; i > 0; i--) {
        int j = dt_int(g, 0, i), s = perm[i];
        perm[i] = perm[j], perm[j] = s;
    }
    for (int i = 0; i < nd; i++) {
        if (dt_coin(g, 0.3)) perm[i] -= nd;
        p64[i] = perm[i];
    }
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_il(g, nd, p64);
    return dt_commit(g, op->name, ag_permute(g->t, g->nodes[a].x, perm));
}

/* ------------------------------------------------------------ shapes --- */

/* A random shape of numel n (up to 4 dims; -1 for one entry now and then). */
static int factor_shape(dt_gen *g, int64_t n, int64_t *shape)
{
    int nd = n == 1 && dt_coin(g, 0.2) ? 0 : dt_int(g, 1, 4);
    for (int i = 0; i < nd; i++) shape[i] = 1;
    for (int64_t p = 2, m = n; m > 1; p++)
        while (m % p == 0) shape[dt_int(g, 0, nd - 1)] *= p, m /= p;
    if (nd > 0 && dt_coin(g, 0.3)) shape[dt_int(g, 0, nd - 1)] = -1;
    return nd;
}

static int run_reshape(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 0, 4);
    int64_t shape[AG_MAX_DIMS];
    int nd = factor_shape(g, ag_tensor_numel(g->nodes[a].x), shape);
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_il(g, nd, shape);
    return dt_commit(g, op->name, ag_reshape(g->t, g->nodes[a].x, nd, shape));
}

static int run_flatten(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 0, 4), nd = ndim_of(g, a), s = 0, e = 0;
    int m = nd ? nd : 1;
    s = dt_int(g, 0, m - 1), e = dt_int(g, s, m - 1);
    if (dt_coin(g, 0.3)) s -= m;
    if (dt_coin(g, 0.3)) e -= m;
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, s), dt_arg_i(g, e);
    return dt_commit(g, op->name, ag_flatten(g->t, g->nodes[a].x, s, e));
}

static int run_squeeze(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 0, 4), nd = ndim_of(g, a), ones[AG_MAX_DIMS], n = 0;
    const int64_t *sh = shape_of(g, a);
    for (int d = 0; d < nd; d++)
        if (sh[d] == 1) ones[n++] = d;
    int axis = AG_ALL;
    if (nd == 0 && dt_coin(g, 0.5)) axis = dt_coin(g, 0.5) ? 0 : -1;
    if (n && dt_coin(g, 0.7)) {
        axis = ones[dt_int(g, 0, n - 1)];
        if (dt_coin(g, 0.4)) axis -= nd;
    }
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, axis);
    return dt_commit(g, op->name, ag_squeeze(g->t, g->nodes[a].x, axis));
}

static int run_unsqueeze(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 0, 4), nd = ndim_of(g, a);
    int axis = dt_int(g, -nd - 1, nd);
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, axis);
    return dt_commit(g, op->name, ag_unsqueeze(g->t, g->nodes[a].x, axis));
}

static int run_expand(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 0, 4), nd = ndim_of(g, a), lead = nd < 4 && dt_coin(g, 0.4);
    const int64_t *sh = shape_of(g, a);
    int64_t shape[AG_MAX_DIMS];
    if (lead) shape[0] = dt_int(g, 1, 3);
    for (int d = 0; d < nd; d++)
        shape[lead + d] = sh[d] == 1 && dt_coin(g, 0.6) ? dt_int(g, 1, 3) : sh[d];
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_il(g, nd + lead, shape);
    return dt_commit(g, op->name, ag_expand(g->t, g->nodes[a].x, nd + lead, shape));
}

static int run_sum_to(dt_gen *g, const dt_op *op)
{
    int a = dt_operand_nd(g, 0, 4), nd = ndim_of(g, a), drop = dt_int(g, 0, nd);
    if (drop > 1 && dt_coin(g, 0.5)) drop = 0;
    const int64_t *sh = shape_of(g, a);
    int64_t shape[AG_MAX_DIMS];
    for (int d = drop; d < nd; d++) shape[d - drop] = dt_coin(g, 0.4) ? 1 : sh[d];
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_il(g, nd - drop, shape);
    return dt_commit(g, op->name, ag_sum_to(g->t, g->nodes[a].x, nd - drop, shape));
}

/* ---------------------------------------------------------- table b --- */

static const int log_flag = 1;
const dt_op dt_ops_b[] = {
    {"sum", run_reduce, &def_sum, 0}, {"mean", run_reduce, &def_mean, 0},
    {"max", run_reduce, &def_max, 0}, {"min", run_reduce, &def_min, 0},
    {"logsumexp", run_reduce, &def_logsumexp, 0}, {"var", run_var, NULL, 0},
    {"softmax", run_softmax, NULL, 0}, {"log_softmax", run_softmax, &log_flag, 0},
    {"matmul", run_matmul, NULL, 0}, {"transpose", run_transpose, NULL, 0},
    {"permute", run_permute, NULL, 0}, {"reshape", run_reshape, NULL, 0},
    {"flatten", run_flatten, NULL, 0}, {"squeeze", run_squeeze, NULL, 0},
    {"unsqueeze", run_unsqueeze, NULL, 0}, {"expand", run_expand, NULL, 0},
    {"sum_to", run_sum_to, NULL, 0}, {"concat", dt_run_concat, NULL, 0},
    {"slice", dt_run_slice, NULL, 0}, {"index_select", dt_run_index_select, NULL, 0},
    {"index_add", dt_run_index_add, NULL, 0}, {"gather", dt_run_gather, NULL, 0},
    {"scatter_add", dt_run_scatter_add, NULL, 0},
};
const int dt_n_ops_b = (int)(sizeof dt_ops_b / sizeof *dt_ops_b);
