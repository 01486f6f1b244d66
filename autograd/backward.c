/*
** backward.c: ag_backward and ag_grad, one reverse walk over the tape.
**
** The tape is in dependency order, so walking it backwards reaches a node
** only after every consumer of its output: its incoming gradient, summed
** in gacc[node] as consumers ran, is complete (memoization), and its rule
** runs once. Rules are written with ops; the walk runs them with grad mode
** set to create_graph, so with create_graph the backward pass is itself
** recorded and can be differentiated again. Nodes that lead to no wanted
** leaf are skipped (mark[] is computed in one forward sweep).
*/
#include "ag_internal.h"
#include "threads_internal.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------- the accumulate op --- */

/* y = a + b (same shapes); da += dy; db += dy */
static void accumulate_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                ag_tensor **gx, const uint8_t *need)
{
    (void)t, (void)n;
    if (need[0]) gx[0] = gy;
    if (need[1]) gx[1] = gy;
}

/* ty = ta + tb */
static ag_tensor *accumulate_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    (void)n;
    return agi_accumulate(t, tx[0], tx[1]);
}

static const agi_op op_accumulate = {"ag_grad (accumulate)", accumulate_backward,
                                     accumulate_jvp};

/* y[i] = a[i] + b[i] over [lo, hi) (y may be a: an accumulation in place). */
typedef struct add_job {
    ag_tensor *y;
    const ag_tensor *a, *b;
} add_job;

static void add_range(void *job, int64_t lo, int64_t hi)
{
    const add_job *j = job;
    if (j->y->dtype == AG_F64) {
        const double *pa = AGI_F64(j->a), *pb = AGI_F64(j->b);
        double *py = AGI_F64(j->y);
        AGI_VLOOP(i, lo, hi, py[i] = pa[i] + pb[i];);
    } else {
        const float *pa = AGI_F32(j->a), *pb = AGI_F32(j->b);
        float *py = AGI_F32(j->y);
        AGI_VLOOP(i, lo, hi, py[i] = pa[i] + pb[i];);
    }
}

static void add_into(ag_tensor *y, const ag_tensor *a, const ag_tensor *b)
{
    if (y->numel == 1) {                  /* a scalar: no job, no split */
        if (y->dtype == AG_F64)
            AGI_F64(y)[0] = AGI_F64(a)[0] + AGI_F64(b)[0];
        else
            AGI_F32(y)[0] = AGI_F32(a)[0] + AGI_F32(b)[0];
        return;
    }
    add_job j = {y, a, b};
    agi_parallel_range(y->numel, AGI_PAR_GRAIN, add_range, &j);
}

/* y = b over [lo, hi) (add_job's a unused). */
static void copy_range(void *job, int64_t lo, int64_t hi)
{
    const add_job *j = job;
    const int dt = j->y->dtype;
    memcpy((char *)j->y->data + agi_bytes(lo, dt), (const char *)j->b->data + agi_bytes(lo, dt),
           agi_bytes(hi - lo, dt));
}

/* A plan's replay of an accumulation. */
static void accumulate_step(const agi_step *st) { add_into(st->y, st->a, st->b); }

ag_tensor *agi_accumulate(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    ag_tensor *y = agi_new_like(t, op_accumulate.name, a);
    if (!y) return NULL;
    add_into(y, a, b);
    if (t->plan) {
        agi_step *st = agi_plan_log(t, 1, accumulate_step, NULL, y, a, b, 0, 0);
        if (st) st->op = &op_accumulate;    /* for the plan's scalar program */
    }
    ag_tensor *in[2] = {a, b};
    agi_record(t, &op_accumulate, y, 2, in);
    return agi_done(t, &op_accumulate, y);
}

/* ---------------------------------------------------------- the walk --- */

/* The walk's loop runs once per node: run_node is inlined into it, the
   rare paths stay out. */
#if defined(__GNUC__)
#define BW_COLD static __attribute__((noinline, cold))
#define BW_HOT static inline __attribute__((always_inline))
#else
#define BW_COLD static
#define BW_HOT static inline
#endif

typedef struct target {          /* a leaf asked for by ag_grad */
    const ag_tensor *x;
    int k;                       /* its first place in inputs[] */
} target;

typedef struct walk {
    const char *fn;
    int n_in;
    ag_tensor *const *inputs;
    ag_tensor **grads;           /* NULL: ag_backward (leaf sinks are .grad) */
    target *leaves;              /* sorted by address */
    int n_leaves;
} walk;

static int cmp_target(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const target *)a)->x, y = (uintptr_t)((const target *)b)->x;
    return x < y ? -1 : x > y;
}

/* Index in inputs[] of leaf x if ag_grad wants it, else -1. */
static int leaf_target(const walk *w, const ag_tensor *x)
{
    target key = {x, 0};
    const target *hit = w->n_leaves ? bsearch(&key, w->leaves, (size_t)w->n_leaves,
                                              sizeof key, cmp_target)
                                    : NULL;
    return hit ? hit->k : -1;
}

/* Does the gradient reaching x (a node's input) have anywhere to go? */
static int wanted(const ag_tape *t, const walk *w, const ag_tensor *x)
{
    if (!x->requires_grad) return 0;
    if (x->node >= 0) return t->mark[x->node] != 0;
    return w->grads ? leaf_target(w, x) >= 0 : 1;
}

/* Adds g into leaf x's own grad buffer (ag_backward), or copies it there
   when the grad is none (ag_clear_grad). */
static int sink_leaf_grad(ag_tape *t, ag_tensor *x, const ag_tensor *g);

/* Leaf x's grad now holds a value: no longer none, and a large one is
   marked for rules that add into it (AGI_GRAD_ADDS). */
static void grad_filled(ag_tensor *x)
{
    x->flags &= (uint8_t)~AGI_GRAD_NONE;
    if (x->numel >= AGI_ADDS_MIN) x->flags |= AGI_GRAD_ADDS;
}

/* A plan's replay of a leaf's grad sink: the same choice made afresh, as
   the grad's state may have changed since capture (ag_clear_grad). */
void agi_plan_sink_step(const agi_step *st) { sink_leaf_grad(NULL, st->y, st->a); }

static int sink_leaf_grad(ag_tape *t, ag_tensor *x, const ag_tensor *g)
{
    if (t && t->plan) agi_plan_log(t, 0, agi_plan_sink_step, NULL, x, (ag_tensor *)g, NULL, 0, 0);
    if (!x->grad) {
        x->grad = x->tape ? agi_new_like(t, "ag_backward", x)
                          : ag_zeros(NULL, (ag_dtype)x->dtype, x->ndim, x->shape);
        if (!x->grad)
            return agi_fail(t, AG_ERR_NOMEM, "ag_backward: out of memory for a grad"), 0;
        if (x->tape) agi_fill(x->grad, 0);
    }
    if ((x->flags & AGI_GRAD_NONE) && g->numel == 1) {
        memcpy(x->grad->data, g->data, agi_dtype_size(g->dtype));
    } else if (x->flags & AGI_GRAD_NONE) {
        add_job j = {x->grad, NULL, g};
        agi_parallel_range(g->numel, AGI_PAR_GRAIN, copy_range, &j);
    } else {
        add_into(x->grad, x->grad, g);
    }
    grad_filled(x);
    return 1;
}

/*
** The walk's scalar path. A node's gradient is a tensor in gacc[i], or,
** when the node ran a scalar rule's sink, a value in sval[i] with gacc[i]
** set to SVAL (so "has a gradient" stays gacc[i] != NULL). A value is
** made a tensor only where a tensor is needed: an op's own rule, ag_grad's
** results. Additions happen in the node's dtype in the order the tensor
** path would make them (slot + g), so both paths give the same bits.
*/
static ag_tensor sval_tag;
#define SVAL (&sval_tag)

/* a + b in dtype dt. */
static inline agi_sval sval_add(int dt, agi_sval a, agi_sval b)
{
    if (dt == AG_F64)
        a.f64 = a.f64 + b.f64;
    else
        a.f32 = a.f32 + b.f32;
    return a;
}

/* A tape tensor of x's shape and dtype holding v; NULL (error set) when
   out of memory. */
static ag_tensor *sval_tensor(ag_tape *t, const ag_tensor *x, agi_sval v)
{
    ag_tensor *g = agi_new_like(t, "ag_backward", x);
    if (!g) return NULL;
    if (g->dtype == AG_F64)
        AGI_F64(g)[0] = v.f64;
    else
        AGI_F32(g)[0] = v.f32;
    return g;
}

/* Node i's gradient as a tensor (made from its value if need be). */
static ag_tensor *slot_tensor(ag_tape *t, int32_t i)
{
    if (t->gacc[i] == SVAL) t->gacc[i] = sval_tensor(t, AGI_NODE(t, i)->out, t->sval[i]);
    return t->gacc[i];
}

/* Routes gradient g to input x of a node: another node's slot or a leaf. */
static int sink(ag_tape *t, const walk *w, ag_tensor *x, ag_tensor *g)
{
    ag_tensor **slot;
    if (x->node >= 0) {
        slot = &t->gacc[x->node];
        if (*slot == SVAL) {                 /* a scalar's value: add g's element */
            t->sval[x->node] = sval_add(g->dtype, t->sval[x->node], agi_sval_of(g));
            return 1;
        }
    } else if (w->grads) {
        int k = leaf_target(w, x);
        if (k < 0) return 1;             /* an output leaf nobody asked for */
        slot = &w->grads[k];
    } else {
        return sink_leaf_grad(t, x, g);
    }
    *slot = *slot ? agi_accumulate(t, *slot, g) : g;
    return *slot != NULL;
}

/* Checks a rule's gradient for input j of node n; 1 if fine. */
BW_HOT int check_gx(ag_tape *t, const agi_node *n, int32_t i, int j, const ag_tensor *g)
{
    char b1[96], b2[96];
    const ag_tensor *x = n->in[j];
    if (!g)
        return agi_fail(t, AG_ERR_STATE, "%s: backward gave no gradient for input %d (node #%d)",
                        n->op->name, j, i), 0;
    if (g->dtype != x->dtype || !agi_same_shape(g, x))
        return agi_fail(t, AG_ERR_SHAPE,
                        "%s: backward gave a %s gradient for input %d of shape %s (node #%d)",
                        n->op->name, agi_shape_str(g, b1), j, agi_shape_str(x, b2), i), 0;
    if (t->anomaly)
        for (int64_t e = 0; e < g->numel; e++) {
            double v = ag_tensor_get(g, e);
            if (v != v || v - v != 0)
                return agi_fail(t, AG_ERR_ANOMALY,
                                "%s: %s in the gradient of input %d at element %lld "
                                "(node #%d on the tape)", n->op->name, v != v ? "NaN" : "Inf",
                                j, (long long)e, i), 0;
        }
    return 1;
}

/*
** The grad buffers node n's rule may write (agi_grad_into), by input, or
** NULL when there are none: in ag_backward without create_graph (grad
** mode off), the needed inputs that are leaves with a grad set to none,
** or holding a value and marked AGI_GRAD_ADDS (agi_grad_adds_into), each
** at its first place among the inputs. small holds 16.
*/
BW_COLD ag_tensor **plan_into(ag_tape *t, const agi_node *n, const uint8_t *need,
                             ag_tensor **small)
{
    ag_tensor **into = NULL;
    for (int j = 0; j < n->n_in; j++) {
        ag_tensor *x = n->in[j];
        if (!need[j] || x->node >= 0 || !x->grad ||
            !(x->flags & (AGI_GRAD_NONE | AGI_GRAD_ADDS)))
            continue;
        int first = 1;
        for (int k = 0; k < j && first; k++) first = n->in[k] != x;
        if (!first) continue;
        if (!into) {
            into = n->n_in <= 16 ? small : agi_alloc(t, (size_t)n->n_in * sizeof *into);
            if (!into) return NULL;         /* no room: the rule makes its own */
            for (int k = 0; k < n->n_in; k++) into[k] = NULL;
        }
        into[j] = x->grad;
    }
    return into;
}

/* run_node's end when the rule may write grads in place (into). */
BW_COLD int run_rule_into(ag_tape *t, const walk *w, int32_t i, const agi_node *n,
                         const uint8_t *need, ag_tensor **gx, ag_tensor **into)
{
    uint8_t adds_small[16], *adds = n->n_in <= 16 ? adds_small : agi_alloc(t, (size_t)n->n_in);
    if (!adds) return 0;
    for (int j = 0; j < n->n_in; j++)   /* a buffer holding a value is added into */
        adds[j] = into[j] && !(n->in[j]->flags & AGI_GRAD_NONE);
    t->grad_into = into;
    t->grad_adds = adds;
    n->op->backward(t, n, t->gacc[i], gx, need);
    t->grad_into = NULL;
    t->grad_adds = NULL;
    if (t->status != AG_OK) return 0;
    for (int j = 0; j < n->n_in; j++) {
        if (!need[j]) continue;
        if (!check_gx(t, n, i, j, gx[j])) return 0;
        if (into[j] && gx[j] == into[j])
            grad_filled(n->in[j]);                          /* the rule wrote the grad */
        else if (!sink(t, w, n->in[j], gx[j]))
            return 0;
    }
    return 1;
}

/* Runs node i's rule on its summed gradient and routes the results. */
BW_HOT int run_node(ag_tape *t, const walk *w, int32_t i)
{
    const agi_node *n = AGI_NODE(t, i);
    uint8_t need_small[16], *need = need_small;
    ag_tensor *gx_small[16], **gx = gx_small, *into_small[16], **into = NULL;
    const int n_in = n->n_in;
    int any = 0, flags = 0;
    if (n_in > 16) {                       /* a concat of many: scratch on the tape */
        t->fn = w->fn;
        need = agi_alloc(t, (size_t)n_in);
        gx = agi_alloc(t, (size_t)n_in * sizeof *gx);
        if (!need || !gx) return 0;
    }
    for (int j = 0; j < n_in; j++) {
        const ag_tensor *x = n->in[j];
        const int nd = wanted(t, w, x);
        need[j] = (uint8_t)nd;
        gx[j] = NULL;
        any |= nd;
        flags |= nd ? x->flags : 0;
    }
    if (!any) return 1;
    if ((flags & (AGI_GRAD_NONE | AGI_GRAD_ADDS)) && !w->grads && !t->grad_enabled &&
        !t->plan)                                                       /* leaves */
        into = plan_into(t, n, need, into_small);
    if (into) return run_rule_into(t, w, i, n, need, gx, into);
    n->op->backward(t, n, t->gacc[i], gx, need);
    if (t->status != AG_OK) return 0;
    for (int j = 0; j < n_in; j++) {
        if (!need[j]) continue;
        if (!check_gx(t, n, i, j, gx[j])) return 0;
        if (!sink(t, w, n->in[j], gx[j])) return 0;
    }
    return 1;
}

/* Adds value v (dtype dt) into leaf x's grad, as sink_leaf_grad would add
   a one-element tensor holding it (x wanted by ag_backward). */
BW_HOT int sink_leaf_value(ag_tape *t, ag_tensor *x, int dt, agi_sval v)
{
    ag_tensor *gr = x->grad;
    if (!gr || gr->numel != 1 || gr->dtype != dt) {     /* no grad yet: the tensor path */
        ag_tensor *g = sval_tensor(t, x, v);
        return g && sink_leaf_grad(t, x, g);
    }
    if (x->flags & AGI_GRAD_NONE)                       /* a copy, as the tensor path's */
        x->flags &= (uint8_t)~AGI_GRAD_NONE;
    else
        v = sval_add(dt, agi_sval_of(gr), v);
    if (dt == AG_F64)
        AGI_F64(gr)[0] = v.f64;
    else
        AGI_F32(gr)[0] = v.f32;
    return 1;
}

/* Routes value v, the gradient for input j of scalar node n, as sink would
   route it as a tensor: into a node's value slot, or to a leaf. */
BW_HOT int sink_value(ag_tape *t, const walk *w, const agi_node *n, int j, int dt, agi_sval v)
{
    const int32_t src = n->src[j];
    if (src >= 0) {
        if (!t->mark[src]) return 1;                    /* leads to no wanted input */
        ag_tensor *slot = t->gacc[src];
        if (!slot) {
            t->sval[src] = v;
            t->gacc[src] = SVAL;
        } else if (slot == SVAL) {
            t->sval[src] = sval_add(dt, t->sval[src], v);
        } else {                                        /* a tensor so far */
            t->sval[src] = sval_add(dt, agi_sval_of(slot), v);
            t->gacc[src] = SVAL;
        }
        return 1;
    }
    ag_tensor *x = n->in_inline[j];                     /* a scalar node's inputs */
    if (!x->requires_grad) return 1;
    if (!w->grads) return sink_leaf_value(t, x, dt, v);
    if (leaf_target(w, x) < 0) return 1;
    ag_tensor *g = sval_tensor(t, x, v);
    return g && sink(t, w, x, g);
}

/* Runs scalar node i (n->scalar set) on its gradient, making no tensor. */
BW_HOT int run_scalar(ag_tape *t, const walk *w, int32_t i, const agi_node *n)
{
    const ag_tensor *g = t->gacc[i];
    const int dt = n->dtype;
    agi_sval gx[2];
    n->scalar(n, g == SVAL ? t->sval[i] : agi_sval_of(g), gx);
    if (!sink_value(t, w, n, 0, dt, gx[0])) return 0;
    return n->n_in < 2 || sink_value(t, w, n, 1, dt, gx[1]);
}

/* Makes the scratch arrays hold n nodes, zeroed. */
static int scratch(ag_tape *t, size_t n)
{
    if (n > t->cap_scratch) {
        size_t cap = t->cap_scratch ? t->cap_scratch : 256;
        while (cap < n) cap *= 2;
        ag_tensor **g = realloc(t->gacc, cap * sizeof *g);
        if (g) t->gacc = g;
        agi_sval *v = g ? realloc(t->sval, cap * sizeof *v) : NULL;
        if (v) t->sval = v;
        uint8_t *m = v ? realloc(t->mark, cap) : NULL;
        if (m) t->mark = m;
        if (!g || !v || !m) return 0;
        t->cap_scratch = cap;
    }
    memset(t->gacc, 0, n * sizeof *t->gacc);
    memset(t->mark, 0, n);
    return 1;
}

/* mark[i] = 1 when node i leads to a wanted input (0 for ag_backward: all). */
static void mark_needed(ag_tape *t, const walk *w, int32_t n_nodes)
{
    if (!w->grads) {
        memset(t->mark, 1, (size_t)n_nodes);
        return;
    }
    for (int k = 0; k < w->n_in; k++)
        if (w->inputs[k]->node >= 0) t->mark[w->inputs[k]->node] = 1;
    for (int32_t i = 0; i < n_nodes; i++) {
        const agi_node *n = AGI_NODE(t, i);
        for (int j = 0; j < n->n_in && !t->mark[i]; j++)
            t->mark[i] = (uint8_t)wanted(t, w, n->in[j]);
    }
}

/* Seeds gacc from the outputs; returns the highest node to walk from. */
static int32_t seed(ag_tape *t, const walk *w, int n_out, ag_tensor *const *outs,
                    ag_tensor *const *gouts)
{
    char b1[96], b2[96];
    int32_t top = -1;
    for (int k = 0; k < n_out; k++) {
        ag_tensor *y = outs[k], *g = gouts ? gouts[k] : NULL;
        if (!agi_check(t, w->fn, "an output", y)) return -2;
        if (!y->requires_grad) {
            if (w->grads) continue;          /* ag_grad: a constant adds nothing */
            return agi_fail(t, AG_ERR_ARG, "%s: output %d does not require grad "
                            "(no input of it requires grad, or grad mode was off)", w->fn, k), -2;
        }
        if (g) {
            if (!agi_check(t, w->fn, "a grad_output", g)) return -2;
            if (!agi_same_shape(g, y))
                return agi_fail(t, AG_ERR_SHAPE, "%s: grad_output %d is %s, output is %s",
                                w->fn, k, agi_shape_str(g, b1), agi_shape_str(y, b2)), -2;
            if (g->dtype != y->dtype)
                return agi_fail(t, AG_ERR_DTYPE, "%s: grad_output %d is %s, output %d is %s "
                                "(use ag_cast)", w->fn, k, agi_dtype_name(g->dtype), k,
                                agi_dtype_name(y->dtype)), -2;
        } else if (y->numel != 1) {
            return agi_fail(t, AG_ERR_SHAPE, "%s: output %d is %s: a grad_output is needed "
                            "for outputs of more than one element", w->fn, k,
                            agi_shape_str(y, b1)), -2;
        } else if (!(g = ag_ones(t, (ag_dtype)y->dtype, y->ndim, y->shape))) {
            return -2;
        }
        if (!sink(t, w, y, g)) return -2;
        if (y->node > top) top = y->node;
    }
    return top;
}

/* ag_grad's inputs that node i made get its gradient; 0 when out of
   memory. */
static int intermediate(ag_tape *t, const walk *w, int32_t i)
{
    for (int k = 0; k < w->n_in; k++)
        if (w->inputs[k]->node == i && !w->grads[k] && !(w->grads[k] = slot_tensor(t, i)))
            return 0;
    return 1;
}

/* The walk shared by ag_backward (w->grads NULL) and ag_grad. */
static ag_status run(ag_tape *t, walk *w, int n_out, ag_tensor *const *outs,
                     ag_tensor *const *gouts, int create_graph)
{
    int32_t n_nodes = t->n_nodes;
    t->fn = w->fn;                        /* for out-of-memory messages */
    if (!scratch(t, (size_t)n_nodes + 1)) {
        agi_fail(t, AG_ERR_NOMEM, "%s: out of memory for %d nodes", w->fn, n_nodes);
        return t->status;
    }
    mark_needed(t, w, n_nodes);
    int old_mode = t->grad_enabled;
    t->grad_enabled = create_graph != 0;
    t->in_backward = 1;
    int32_t top = seed(t, w, n_out, outs, gouts);
    const int scalar = !create_graph && !t->plan && !t->anomaly;   /* the scalar path */
    for (int32_t i = top; i >= 0 && t->status == AG_OK; i--) {
        if (!t->gacc[i]) continue;
        if (w->grads && !intermediate(t, w, i)) break;
        t->rule_node = i;                   /* for anomaly messages */
        const agi_node *n = AGI_NODE(t, i);
        if (scalar && n->scalar)
            run_scalar(t, w, i, n);
        else if (slot_tensor(t, i))
            run_node(t, w, i);
    }
    t->rule_node = -1;
    t->grad_enabled = (uint8_t)old_mode;
    t->in_backward = 0;
    return t->status;
}

ag_status ag_backward(ag_tape *t, ag_tensor *loss)
{
    if (!t) return agi_no_tape("ag_backward");
    if (t->status != AG_OK) return t->status;
    walk w = {"ag_backward", 0, NULL, NULL, NULL, 0};
    if (!agi_check(t, "ag_backward", "loss", loss)) return t->status;
    if (loss->numel != 1) {
        char buf[96];
        agi_fail(t, AG_ERR_SHAPE, "ag_backward: loss is %s, not one element "
                 "(use ag_grad with grad_outputs)", agi_shape_str(loss, buf));
        return t->status;
    }
    return run(t, &w, 1, &loss, NULL, 0);
}

/* Validates ag_grad's inputs and builds the sorted leaf table; 1 if fine. */
static int prepare_inputs(ag_tape *t, walk *w)
{
    if (w->n_in < 0 || (w->n_in && (!w->inputs || !w->grads)))
        return agi_fail(t, AG_ERR_ARG, "ag_grad: inputs or grads is NULL"), 0;
    w->leaves = w->n_in ? agi_alloc(t, (size_t)w->n_in * sizeof *w->leaves) : NULL;
    if (w->n_in && !w->leaves) return 0;
    for (int k = 0; k < w->n_in; k++) {
        const ag_tensor *x = w->inputs[k];
        w->grads[k] = NULL;
        if (!agi_check(t, "ag_grad", "an input", x)) return 0;
        if (!x->requires_grad)
            return agi_fail(t, AG_ERR_ARG, "ag_grad: input %d does not require grad", k), 0;
        if (x->node < 0) w->leaves[w->n_leaves++] = (target){x, k};
    }
    /* stable for duplicates: equal addresses keep the lowest k first */
    for (int a = 1; a < w->n_leaves; a++)
        for (int b = a; b > 0 && (cmp_target(&w->leaves[b - 1], &w->leaves[b]) > 0 ||
                                  (w->leaves[b - 1].x == w->leaves[b].x &&
                                   w->leaves[b - 1].k > w->leaves[b].k)); b--) {
            target tmp = w->leaves[b];
            w->leaves[b] = w->leaves[b - 1];
            w->leaves[b - 1] = tmp;
        }
    return 1;
}

ag_status ag_grad(ag_tape *t, int n_outputs, ag_tensor *const *outputs,
                  ag_tensor *const *grad_outputs, int n_inputs,
                  ag_tensor *const *inputs, ag_tensor **grads, int create_graph)
{
    if (!t) return agi_no_tape("ag_grad");
    if (t->status != AG_OK) return t->status;
    if (n_outputs < 1 || !outputs) {
        agi_fail(t, AG_ERR_ARG, "ag_grad: no outputs");
        return t->status;
    }
    walk w = {"ag_grad", n_inputs, inputs, grads, NULL, 0};
    if (!prepare_inputs(t, &w)) return t->status;
    if (run(t, &w, n_outputs, outputs, grad_outputs, create_graph) != AG_OK) return t->status;
    for (int k = 0; k < n_inputs; k++) {
        const ag_tensor *x = inputs[k];
        int first = x->node >= 0 ? k : leaf_target(&w, x);
        if (first != k) grads[k] = grads[first];      /* a repeated input */
        if (!grads[k]) grads[k] = ag_zeros(t, (ag_dtype)x->dtype, x->ndim, x->shape);
        if (!grads[k]) return t->status;
    }
    return AG_OK;
}
