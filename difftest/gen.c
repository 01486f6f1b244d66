/*
** gen.c: writes random expression graphs, evaluated with this library, as
** a plain-text description that difftest/replay.py replays in PyTorch.
**
**   gen [--seed S] [--count M] [--with-known-bugs] [--inject KIND] [--list-ops]
**   gen --repro NAME      the minimal graph of a known library bug
**   gen --list-repros
**
** Graph k (k = 0..M-1) is drawn from seed S+k, so any graph can be made
** again alone: `gen --seed S+k --count 1`. A graph has 4 to 14 ops (15 to
** 40 for one graph in 7) drawn uniformly from the whole op list
** (gen_ops*.c) on small random shapes; a wide graph (1 in 20) has 3 to 8
** ops on shapes up to 2100 elements and starts with a matmul and a
** reduction sized across the kernels' blocking edges. Then: a scalar loss
** (a random-weighted sum or a sum of squares of the tensors no op
** consumed, times a random scale); its gradient with respect to every leaf
** that requires grad, twice (ag_backward into the leaves' grads, and
** ag_grad with create_graph); a Hessian-vector product (ag_grad of those
** gradients with random grad_outputs v); and ag_grad with respect to up to
** two intermediate tensors and one leaf named twice.
**
** The description, one record per line, every number exact (C's %a hex
** floats, read by Python's float.fromhex):
**
**   graph <seed> <ops> [wide | repro_<name>]
**   leaf <id> <requires_grad> [shape] : <values>
**   node <id> <op> <args> -> [shape] : <values>
**   loss %<id>
**   grad <leaf id> [shape] : <values>      ag_backward's leaf grad
**   gradcg <leaf id> [shape] : <values>    ag_grad(create_graph = 1)
**   vec <leaf id> [shape] : <values>       v for that leaf
**   hvp <leaf id> [shape] : <values>       sum over leaves of v^T d2L/dx dleaf
**   igrad <id> [shape] : <values>          ag_grad with respect to up to two
**                                          intermediate tensors and one leaf
**                                          named twice (in that order)
**   note <generator>                       (anywhere) which generator made
**                                          the records that follow
**   # ...                                  (anywhere) a comment
**   end
**
** <op> is the C function without "ag_" and <args> are its arguments in the
** order of the C call without the tape: %id for a tensor, [%a,%b] for a
** list of tensors, [1,-1] for an int64 list, integers, hex floats.
** cast_rt is ag_cast to f32 and back to f64 (two library calls, one node).
**
** Known bugs: an op found to disagree with PyTorch because of a library bug
** is marked known_bug in its table and left out unless --with-known-bugs
** (DIFFTEST_KNOWN_BUGS=1 in make); see difftest/README.md.
**
** --inject KIND writes one deliberately wrong number, for the self-test:
** the largest element of the first op's value (value), of the loss (loss),
** of the gradient (grad) or of the Hessian-vector product (hvp), off by
** 1e-8 relative, or of the gradient off by 1e-14 (tiny, which must pass).
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "gen.h"

/* ------------------------------------------------------------ random --- */

double dt_unif(dt_gen *g, double lo, double hi)
{
    return lo + (hi - lo) * ag_rng_uniform(g->rng);
}

int dt_int(dt_gen *g, int lo, int hi)
{
    int v = lo + (int)(ag_rng_uniform(g->rng) * (hi - lo + 1));
    return v > hi ? hi : v;
}

int dt_coin(dt_gen *g, double p) { return ag_rng_uniform(g->rng) < p; }

int64_t dt_numel(int nd, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= shape[i];
    return n;
}

int64_t dt_dim(dt_gen *g)
{
    static const int wide[] = {5, 7, 8, 9, 12, 16, 17, 31, 33, 127, 129, 130, 255, 257, 260};
    if (!g->wide || dt_coin(g, 0.4)) return dt_int(g, 1, 4);
    return wide[dt_int(g, 0, (int)(sizeof wide / sizeof *wide) - 1)];
}

int dt_shape(dt_gen *g, int min_nd, int max_nd, int64_t *shape)
{
    int nd = dt_int(g, min_nd, max_nd);
    if (g->wide && nd > 3) nd = 3;
    for (int i = 0; i < nd; i++) shape[i] = dt_dim(g);
    while (dt_numel(nd, shape) > (g->wide ? DT_WIDE_SHAPE : g->max_numel / 2)) {
        int i = dt_int(g, 0, nd - 1);
        if (shape[i] > 1) shape[i] = dt_coin(g, 0.5) ? shape[i] / 2 : dt_int(g, 1, 4);
    }
    return nd;
}

/* ------------------------------------------------------------ values --- */

const double *dt_vals(const dt_node *nd) { return ag_tensor_data(nd->x); }

#define DT_FOLD(NAME, INIT, EXPR)                                          \
    double NAME(const dt_node *nd)                                         \
    {                                                                      \
        const double *v = dt_vals(nd);                                     \
        double r = INIT;                                                   \
        for (int64_t i = 0; i < ag_tensor_numel(nd->x); i++) r = EXPR;     \
        return r;                                                          \
    }
DT_FOLD(dt_min, INFINITY, fmin(r, v[i]))
DT_FOLD(dt_max, -INFINITY, fmax(r, v[i]))
DT_FOLD(dt_min_abs, INFINITY, fmin(r, fabs(v[i])))
DT_FOLD(dt_max_abs, 0, fmax(r, fabs(v[i])))

double dt_min_gap(dt_gen *g, ag_tensor *a, ag_tensor *b)
{
    int old = ag_set_grad_enabled(g->t, 0);
    ag_tensor *d = ag_sub(g->t, a, b);
    ag_set_grad_enabled(g->t, old);
    if (!d) return 0;
    dt_node tmp = {d, 0, 0, 0};
    return dt_min_abs(&tmp);
}

int dt_bcast(int na, const int64_t *a, int nb, const int64_t *b, int *nout,
             int64_t *out)
{
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int64_t da = i < n - na ? 1 : a[i - (n - na)];
        int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
        if (da != db && da != 1 && db != 1) return 0;
        out[i] = da == 1 ? db : da;
    }
    *nout = n;
    return 1;
}

/* --------------------------------------------------------- the pool --- */

static int add_node(dt_gen *g, ag_tensor *x, int leaf)
{
    if (g->n == DT_MAX_NODES) {
        fprintf(stderr, "gen: more than %d tensors in one graph\n", DT_MAX_NODES);
        exit(3);
    }
    dt_node *nd = &g->nodes[g->n];
    nd->x = x;
    nd->id = g->n;
    nd->used = 0;
    nd->leaf = leaf;
    return g->n++;
}

int dt_pick(dt_gen *g, dt_pred pred)
{
    int cand[DT_MAX_NODES], n = 0, n_rg = 0;
    for (int pass = 0; pass < 2; pass++) {   /* first those that require grad */
        for (int i = 0; i < g->n; i++)
            if ((pass == 0) == (ag_requires_grad(g->nodes[i].x) != 0) &&
                (!pred || pred(&g->nodes[i])))
                cand[n++] = i;
        if (pass == 0) n_rg = n;
    }
    if (n == 0) return -1;
    if (n_rg > 0 && dt_coin(g, 0.85)) n = n_rg;
    int best = 0;                            /* the most recent candidate */
    for (int i = 1; i < n; i++)
        if (cand[i] > cand[best]) best = i;
    return dt_coin(g, 0.5) ? cand[best] : cand[dt_int(g, 0, n - 1)];
}

/* ------------------------------------------------------------ output --- */

static void write_shape(dt_gen *g, const ag_tensor *x)
{
    fputc('[', g->out);
    for (int i = 0; i < ag_tensor_ndim(x); i++)
        fprintf(g->out, i ? ",%lld" : "%lld", (long long)ag_tensor_shape(x)[i]);
    fputc(']', g->out);
}

/* Writes " : v0 v1 ...\n"; corrupt: add delta * max(|v|, 1) to the
   element of largest magnitude (the self-test's injected error). */
static void write_vals(dt_gen *g, const ag_tensor *x, double delta)
{
    int64_t n = ag_tensor_numel(x), worst = 0;
    for (int64_t i = 1; i < n; i++)
        if (fabs(ag_tensor_get(x, i)) > fabs(ag_tensor_get(x, worst))) worst = i;
    fputs(" :", g->out);
    for (int64_t i = 0; i < n; i++) {
        double v = ag_tensor_get(x, i);
        if (delta != 0 && i == worst) v += delta * fmax(fabs(v), 1);
        fprintf(g->out, " %a", v);
    }
    fputc('\n', g->out);
}

/* The perturbation for the record now written, or 0. */
static double inject_here(dt_gen *g, dt_inject where)
{
    if (g->inject != where || g->injected) return 0;
    g->injected = 1;
    return g->inject == DT_INJECT_TINY ? 1e-14 : 1e-8;
}

int dt_leaf_vals(dt_gen *g, int nd, const int64_t *shape, const double *v, int rg)
{
    ag_tensor *x = ag_from_f64(NULL, AG_F64, nd, shape, v);
    if (!x || (rg && ag_set_requires_grad(x, 1) != AG_OK)) {
        fprintf(stderr, "gen: cannot make a leaf: %s\n", ag_last_error());
        exit(3);
    }
    g->owned[g->n_owned++] = x;
    int idx = add_node(g, x, 1);
    fprintf(g->out, "leaf %d %d ", idx, rg);
    write_shape(g, x);
    write_vals(g, x, 0);
    return idx;
}

int dt_leaf(dt_gen *g, int nd, const int64_t *shape, double lo, double hi,
            int push, int rg)
{
    double v[DT_MAX_NUMEL];
    int64_t n = dt_numel(nd, shape);
    if (n > g->max_numel) {
        fprintf(stderr, "gen: a leaf of %lld elements (at most %lld)\n", (long long)n,
                (long long)g->max_numel);
        exit(3);
    }
    for (int64_t i = 0; i < n; i++) {
        v[i] = dt_unif(g, lo, hi);
        if (push && fabs(v[i]) < 0.1) v[i] = v[i] < 0 ? v[i] - 0.1 : v[i] + 0.1;
    }
    return dt_leaf_vals(g, nd, shape, v, rg);
}

/* An operand: a tensor of the pool in the domain, or a new leaf in
   [lo, hi] (pushed from 0 when push) when none fits, or now and then. */
int dt_operand(dt_gen *g, dt_pred pred, double lo, double hi, int push)
{
    int a = dt_pick(g, pred);
    if (a < 0 || dt_coin(g, 0.1)) {
        int64_t shape[AG_MAX_DIMS];
        int nd = dt_shape(g, 0, 4, shape);
        a = dt_leaf(g, nd, shape, lo, hi, push, dt_coin(g, 0.9));
    }
    return a;
}

int dt_partner(dt_gen *g, int a, dt_pred pred, double lo, double hi, int push)
{
    const ag_tensor *xa = g->nodes[a].x;
    int na = ag_tensor_ndim(xa), nout;
    const int64_t *sa = ag_tensor_shape(xa);
    int64_t out[AG_MAX_DIMS], sb[AG_MAX_DIMS];
    if (dt_coin(g, 0.5)) {                   /* an existing tensor */
        int cand[DT_MAX_NODES], n = 0;
        for (int i = 0; i < g->n; i++) {
            const ag_tensor *x = g->nodes[i].x;
            if (dt_bcast(na, sa, ag_tensor_ndim(x), ag_tensor_shape(x), &nout, out) &&
                dt_numel(nout, out) <= g->max_numel && (!pred || pred(&g->nodes[i])))
                cand[n++] = i;
        }
        if (n) return cand[dt_int(g, 0, n - 1)];
    }
    int r = dt_int(g, 0, 19), nb = na;       /* a new leaf */
    if (r < 3 && na < 4) nb = na + 1;
    else if (r < 8 && na > 0) nb = dt_int(g, 0, na - 1);
    for (int i = 0; i < nb; i++) {
        int ia = i - (nb - na);
        if (ia < 0) sb[i] = dt_int(g, 1, 3);
        else if (sa[ia] == 1) sb[i] = dt_coin(g, 0.5) ? 1 : dt_int(g, 1, 3);
        else sb[i] = dt_coin(g, 0.7) ? sa[ia] : 1;
    }
    if (!dt_bcast(na, sa, nb, sb, &nout, out) || dt_numel(nout, out) > g->max_numel) {
        nb = na;
        memcpy(sb, sa, (size_t)na * sizeof *sb);
    }
    return dt_leaf(g, nb, sb, lo, hi, push, dt_coin(g, 0.8));
}

/* --------------------------------------------------------- arguments --- */

static void append(dt_gen *g, const char *s)
{
    size_t n = strlen(s);
    if (g->args_len + n + 1 > DT_ARGS) {
        fprintf(stderr, "gen: arguments too long\n");
        exit(3);
    }
    memcpy(g->args + g->args_len, s, n + 1);
    g->args_len += n;
}

void dt_begin(dt_gen *g)
{
    g->args[0] = 0;
    g->args_len = 0;
    g->n_in = 0;
}

void dt_arg_t(dt_gen *g, int idx)
{
    char b[32];
    snprintf(b, sizeof b, " %%%d", g->nodes[idx].id);
    append(g, b);
    if (g->n_in < 16) g->in[g->n_in++] = idx;
}

void dt_arg_tl(dt_gen *g, int n, const int *idx)
{
    char b[32];
    append(g, " [");
    for (int i = 0; i < n; i++) {
        snprintf(b, sizeof b, i ? ",%%%d" : "%%%d", g->nodes[idx[i]].id);
        append(g, b);
        if (g->n_in < 16) g->in[g->n_in++] = idx[i];
    }
    append(g, "]");
}

void dt_arg_i(dt_gen *g, long long v)
{
    char b[32];
    snprintf(b, sizeof b, " %lld", v);
    append(g, b);
}

void dt_arg_f(dt_gen *g, double v)
{
    char b[48];
    snprintf(b, sizeof b, " %a", v);        /* "inf" and "-inf" for infinities */
    append(g, b);
}

void dt_arg_il(dt_gen *g, int n, const int64_t *v)
{
    char b[32];
    append(g, " [");
    for (int i = 0; i < n; i++) {
        snprintf(b, sizeof b, i ? ",%lld" : "%lld", (long long)v[i]);
        append(g, b);
    }
    append(g, "]");
}

void dt_note(dt_gen *g, const char *text) { fprintf(g->out, "note %s\n", text); }

/* ------------------------------------------------------------ commit --- */

static int acceptable(const dt_gen *g, const ag_tensor *y)
{
    int64_t n = ag_tensor_numel(y);
    if (n == 0 || n > g->max_numel) return 0;
    double limit = g->committing_loss ? 1e12 : DT_VALUE_LIMIT;
    for (int64_t i = 0; i < n; i++) {
        double v = ag_tensor_get(y, i);
        if (!isfinite(v) || fabs(v) > limit) return 0;
    }
    return 1;
}

int dt_commit(dt_gen *g, const char *name, ag_tensor *y)
{
    if (!y) {
        fprintf(stderr, "gen: %s%s failed: %s\n", name, g->args, ag_tape_errmsg(g->t));
        exit(3);
    }
    if (!acceptable(g, y)) return -1;
    int idx = add_node(g, y, 0);
    for (int i = 0; i < g->n_in; i++) g->nodes[g->in[i]].used = 1;
    fprintf(g->out, "node %d %s%s -> ", idx, name, g->args);
    write_shape(g, y);
    dt_inject kind = g->committing_loss == 2 ? DT_INJECT_LOSS : DT_INJECT_VALUE;
    write_vals(g, y, inject_here(g, kind));
    return idx;
}

/* -------------------------------------------------- loss, grad, hvp --- */

/* One term of the loss from sink s: sum(s * w) with a constant random w,
   or sum(s^2). Returns the term's pool index or -1. */
static int loss_term(dt_gen *g, int s, int squares)
{
    ag_tensor *x = g->nodes[s].x;
    int p;
    dt_begin(g);
    if (squares) {
        dt_arg_t(g, s);
        p = dt_commit(g, "square", ag_square(g->t, x));
    } else {
        int w = dt_leaf(g, ag_tensor_ndim(x), ag_tensor_shape(x), -1, 1, 0, 0);
        dt_arg_t(g, s), dt_arg_t(g, w);
        p = dt_commit(g, "mul", ag_mul(g->t, x, g->nodes[w].x));
    }
    if (p < 0) return -1;
    dt_begin(g);
    dt_arg_t(g, p), dt_arg_i(g, AG_ALL), dt_arg_i(g, 0);
    return dt_commit(g, "sum", ag_sum(g->t, g->nodes[p].x, AG_ALL, 0));
}

/* The loss over the sinks (tensors that require grad and that no op
   used); returns its pool index, or -1 when the graph has none. */
static int build_loss(dt_gen *g)
{
    int sinks[DT_MAX_NODES], n = 0, acc = -1, mode = dt_int(g, 0, 2);
    for (int i = 0; i < g->n; i++)
        if (!g->nodes[i].leaf && !g->nodes[i].used && ag_requires_grad(g->nodes[i].x))
            sinks[n++] = i;
    for (int i = g->n - 1; i >= 0 && n == 0; i--)   /* only constants left */
        if (ag_requires_grad(g->nodes[i].x)) sinks[n++] = i;
    g->committing_loss = 1;
    for (int k = 0; k < n; k++) {
        int term = loss_term(g, sinks[k], mode == 2 ? dt_coin(g, 0.5) : mode);
        if (term < 0) continue;
        if (acc >= 0) {
            dt_begin(g);
            dt_arg_t(g, acc), dt_arg_t(g, term);
            term = dt_commit(g, "add", ag_add(g->t, g->nodes[acc].x, g->nodes[term].x));
        }
        acc = term;
    }
    if (acc >= 0) {
        double scale = dt_unif(g, 0.5, 2);
        g->committing_loss = 2;
        dt_begin(g);
        dt_arg_t(g, acc), dt_arg_f(g, scale);
        acc = dt_commit(g, "mul_scalar", ag_mul_scalar(g->t, g->nodes[acc].x, scale));
    }
    g->committing_loss = 0;
    return acc;
}

static void write_record(dt_gen *g, const char *kind, int id, ag_tensor *x,
                         double delta)
{
    fprintf(g->out, "%s %d ", kind, id);
    write_shape(g, x);
    write_vals(g, x, delta);
}

static void fail_tape(dt_gen *g, const char *what)
{
    fprintf(stderr, "gen: %s failed: %s\n", what, ag_tape_errmsg(g->t));
    exit(3);
}

/* Which of xs[0..n) holds the largest |value| (the self-test corrupts that
   one: the tolerance's absolute floor is relative to it). */
static int largest(int n, ag_tensor *const *xs)
{
    int best = 0;
    double m = -1;
    for (int k = 0; k < n; k++)
        for (int64_t i = 0; i < ag_tensor_numel(xs[k]); i++)
            if (fabs(ag_tensor_get(xs[k], i)) > m) m = fabs(ag_tensor_get(xs[k], i)), best = k;
    return best;
}

/* ag_grad's other paths: the gradient with respect to up to two
   intermediate tensors, and to one leaf named twice. */
static void write_inner_grads(dt_gen *g, ag_tensor *y, int n_leaves, const int *leaf_ids)
{
    int cand[DT_MAX_NODES], nc = 0, ids[4], m = 0;
    for (int i = 0; i < g->n; i++)
        if (!g->nodes[i].leaf && ag_requires_grad(g->nodes[i].x)) cand[nc++] = i;
    for (int k = 0; k < 2 && nc > 0; k++) ids[m++] = cand[dt_int(g, 0, nc - 1)];
    if (n_leaves > 0) {
        ids[m] = ids[m + 1] = leaf_ids[dt_int(g, 0, n_leaves - 1)];
        m += 2;
    }
    ag_tensor *in[4], *out[4];
    for (int k = 0; k < m; k++) in[k] = g->nodes[ids[k]].x;
    if (m && ag_grad(g->t, 1, &y, NULL, m, in, out, 0) != AG_OK)
        fail_tape(g, "ag_grad(intermediate inputs)");
    for (int k = 0; k < m; k++) write_record(g, "igrad", ids[k], out[k], 0);
}

/* Gradients (both ways) and the Hessian-vector product of the loss. */
static void write_derivatives(dt_gen *g, int loss)
{
    ag_tensor *leaves[DT_MAX_NODES], *gc[DT_MAX_NODES], *v[DT_MAX_NODES],
        *h[DT_MAX_NODES];
    int ids[DT_MAX_NODES], n = 0;
    for (int i = 0; i < g->n; i++)
        if (g->nodes[i].leaf && ag_requires_grad(g->nodes[i].x))
            ids[n] = i, leaves[n++] = g->nodes[i].x;
    ag_tensor *y = g->nodes[loss].x;
    if (ag_backward(g->t, y) != AG_OK) fail_tape(g, "ag_backward");
    if (ag_grad(g->t, 1, &y, NULL, n, leaves, gc, 1) != AG_OK)
        fail_tape(g, "ag_grad(create_graph)");
    for (int k = 0; k < n; k++) {
        const ag_tensor *x = leaves[k];
        v[k] = g->fixed_v ? ag_ones(g->t, AG_F64, ag_tensor_ndim(x), ag_tensor_shape(x))
                          : ag_rand_normal(g->t, g->rng, AG_F64, ag_tensor_ndim(x),
                                           ag_tensor_shape(x), 0, 1);
        if (!v[k]) fail_tape(g, "ag_rand_normal");
    }
    if (ag_grad(g->t, n, gc, v, n, leaves, h, 0) != AG_OK) fail_tape(g, "ag_grad(hvp)");
    fprintf(g->out, "loss %%%d\n", loss);
    int kg = largest(n, gc), kh = largest(n, h);
    for (int k = 0; k < n; k++) {
        ag_tensor *bg = ag_tensor_grad(leaves[k]);
        if (!bg) bg = gc[k];          /* backward did not reach it: zeros */
        dt_inject grad_kind = g->inject == DT_INJECT_TINY ? DT_INJECT_TINY : DT_INJECT_GRAD;
        write_record(g, "grad", ids[k], bg, k == kg ? inject_here(g, grad_kind) : 0);
        write_record(g, "gradcg", ids[k], gc[k], 0);
        write_record(g, "vec", ids[k], v[k], 0);
        write_record(g, "hvp", ids[k], h[k], k == kh ? inject_here(g, DT_INJECT_HVP) : 0);
    }
    write_inner_grads(g, y, n, ids);
}

/* -------------------------------------------------------------- main --- */

static const dt_op *pick_op(dt_gen *g)
{
    for (;;) {
        int k = dt_int(g, 0, dt_n_ops_a + dt_n_ops_b - 1);
        const dt_op *op = k < dt_n_ops_a ? &dt_ops_a[k] : &dt_ops_b[k - dt_n_ops_a];
        if (!op->known_bug || g->known_bugs) return op;
    }
}

/* The ops of a random graph and its loss; returns the loss or -1. */
static int random_graph(dt_gen *g, uint64_t seed)
{
    g->wide = dt_coin(g, 0.05);
    g->max_numel = g->wide ? DT_WIDE_NUMEL : DT_SMALL_NUMEL;
    int n_ops = g->wide ? dt_int(g, 3, 8) : dt_coin(g, 0.15) ? dt_int(g, 15, 40) : dt_int(g, 4, 14);
    int done = 0;
    fprintf(g->out, "graph %llu %d%s\n", (unsigned long long)seed, n_ops, g->wide ? " wide" : "");
    int64_t shape[AG_MAX_DIMS];
    int nd = dt_shape(g, 0, 4, shape);
    dt_leaf(g, nd, shape, -2, 2, 1, 1);
    if (g->wide) done += dt_wide_kernels(g);
    for (int tries = 0; done < n_ops && tries < 100 * n_ops; tries++) {
        const dt_op *op = pick_op(g);
        if (op->run(g, op) >= 0) done++;
    }
    return build_loss(g);
}

/* --------------------------------------------------------- reproducers --- */

/* sum(elu(x, 1)) at x = [0, -1, 1]: the HVP (v = 1) is elu''(x), which
   PyTorch gives as [0, e^-1, 0] and this library as [1, e^-1, 0]. */
static int repro_elu_at_0(dt_gen *g)
{
    static const int64_t shape[1] = {3};
    static const double x[3] = {0, -1, 1};
    int a = dt_leaf_vals(g, 1, shape, x, 1);
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_f(g, 1.0);
    int e = dt_commit(g, "elu", ag_elu(g->t, g->nodes[a].x, 1.0));
    dt_begin(g);
    dt_arg_t(g, e), dt_arg_i(g, AG_ALL), dt_arg_i(g, 0);
    return dt_commit(g, "sum", ag_sum(g->t, g->nodes[e].x, AG_ALL, 0));
}

/* Minimal graphs of library bugs difftest found (gen --repro NAME), built
   by the library as it is now: the self-test checks they stay fixed. */
static const struct repro {
    const char *name;
    int (*build)(dt_gen *g);
} repros[] = {
    {"elu_second_derivative_at_0", repro_elu_at_0},
};

/* One graph from seed (or the reproducer r); returns 0, or 1 when it has
   no loss (never seen). */
static int one_graph(dt_gen *g, uint64_t seed, const struct repro *r)
{
    g->rng = ag_rng_new(seed);
    g->t = ag_tape_new();
    if (!g->rng || !g->t) fprintf(stderr, "gen: out of memory\n"), exit(3);
    g->n = g->n_owned = 0;
    g->injected = 0;
    g->fixed_v = r != NULL;
    int loss;
    if (r) {
        g->max_numel = DT_SMALL_NUMEL;
        fprintf(g->out, "graph %llu 1 repro_%s\n", (unsigned long long)seed, r->name);
        loss = r->build(g);
    } else {
        loss = random_graph(g, seed);
    }
    if (loss >= 0) write_derivatives(g, loss);
    fprintf(g->out, "end\n");
    for (int i = 0; i < g->n_owned; i++) ag_tensor_free(g->owned[i]);
    ag_tape_free(g->t);
    ag_rng_free(g->rng);
    if (loss < 0) fprintf(stderr, "gen: graph %llu has no loss\n", (unsigned long long)seed);
    return loss < 0;
}

static const struct repro *find_repro(const char *name)
{
    for (size_t i = 0; i < sizeof repros / sizeof *repros; i++)
        if (!strcmp(name, repros[i].name)) return &repros[i];
    fprintf(stderr, "gen: no reproducer %s; they are:", name);
    for (size_t i = 0; i < sizeof repros / sizeof *repros; i++)
        fprintf(stderr, " %s", repros[i].name);
    fprintf(stderr, "\n");
    exit(2);
}

static dt_inject parse_inject(const char *s)
{
    static const char *names[] = {"none", "value", "loss", "grad", "hvp", "tiny"};
    for (int i = 0; i < 6; i++)
        if (!strcmp(s, names[i])) return (dt_inject)i;
    fprintf(stderr, "gen: --inject takes value, loss, grad, hvp or tiny, not %s\n", s);
    exit(2);
}

static void list_ops(void)
{
    for (int i = 0; i < dt_n_ops_a + dt_n_ops_b; i++) {
        const dt_op *op = i < dt_n_ops_a ? &dt_ops_a[i] : &dt_ops_b[i - dt_n_ops_a];
        printf("%s%s\n", op->name, op->known_bug ? " (known bug: off by default)" : "");
    }
}

static void list_repros(void)
{
    for (size_t i = 0; i < sizeof repros / sizeof *repros; i++) printf("%s\n", repros[i].name);
}

int main(int argc, char **argv)
{
    static dt_gen g;
    unsigned long long seed = 1, count = 1;
    const struct repro *r = NULL;
    g.out = stdout;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--count") && i + 1 < argc) count = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--with-known-bugs")) g.known_bugs = 1;
        else if (!strcmp(argv[i], "--inject") && i + 1 < argc) g.inject = parse_inject(argv[++i]);
        else if (!strcmp(argv[i], "--list-ops")) return list_ops(), 0;
        else if (!strcmp(argv[i], "--list-repros")) return list_repros(), 0;
        else if (!strcmp(argv[i], "--repro") && i + 1 < argc) r = find_repro(argv[++i]);
        else {
            fprintf(stderr, "usage: gen [--seed S] [--count M] [--with-known-bugs] "
                            "[--inject value|loss|grad|hvp|tiny] [--list-ops]\n"
                            "       gen --repro NAME | --list-repros\n");
            return 2;
        }
    }
    if (r) return one_graph(&g, seed, r) || fflush(stdout) != 0 ? 3 : 0;
    int bad = 0;
    for (unsigned long long k = 0; k < count; k++) bad |= one_graph(&g, seed + k, NULL);
    return fflush(stdout) != 0 || bad ? 3 : 0;
}
