/*
** recompute.c: ag_recompute (ag_recompute.h), an op whose backward runs a
** user function again.
**
** Forward: fn runs on the scratch tape t->sub with grad on (its inputs
** there are views of t's tensors), so the persistent parameters it reaches
** can be found among that tape's node inputs; its result is copied to t
** and one node is recorded whose inputs are the segment's inputs that
** require grad and those parameters. The scratch tape is reset at its next
** use, so t keeps nothing of the segment but its result.
**
** Backward, plain: fn runs again on the scratch tape (generators set back),
** ag_grad there gives the inputs' gradients, which are copied to t.
** Backward with create_graph: the gradients must carry history on t, so fn
** runs again on t itself, each input behind an identity node, and a nested
** ag_grad on t differentiates it. That walk shares t's scratch arrays with
** the walk that called the rule: they are saved and put back around it.
**
** Forward mode (ag_jvp): the JVP rule runs fn again on t under a nested
** ag_jvp with the inputs' tangents; the nested record lies past the end
** of the calling walk's record, which never visits it.
*/
#include "ag_internal.h"
#include "ag_jvp.h"
#include "ag_recompute.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FN "ag_recompute"

typedef struct rc_ctx {
    ag_fn fn;
    void *user;
    ag_tensor **in;                 /* the n_in inputs as given */
    int32_t *slot;                  /* node input j is input slot[j], or -1: a parameter */
    ag_rng **rngs;
    uint64_t (*states)[4];          /* the generators' states before the first run */
    int n_in, n_rngs;
} rc_ctx;

/* -------------------------------------------------- the input wrapper --- */

/* y = x (a view); dx = dy */
static void wrap_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                          const uint8_t *need)
{
    (void)t, (void)n;
    if (need[0]) gx[0] = gy;
}

static const agi_op op_wrap = {"ag_recompute (input)", wrap_backward, agi_jvp_identity};

static ag_tensor *wrap(ag_tape *t, ag_tensor *x)
{
    ag_tensor *y = agi_view(t, op_wrap.name, x, x->ndim, x->shape);
    if (!y) return NULL;
    agi_record(t, &op_wrap, y, 1, &x);
    return agi_done(t, &op_wrap, y);
}

/* ------------------------------------------------------------ helpers --- */

/* The scratch tape, reset, with t's anomaly mode and grad on; NULL + error. */
static ag_tape *scratch_tape(ag_tape *t)
{
    if (!t->sub && !(t->sub = ag_tape_new()))
        return agi_fail(t, AG_ERR_NOMEM, FN ": out of memory for the scratch tape");
    ag_tape_reset(t->sub);
    t->sub->grad_enabled = 1;
    t->sub->anomaly = t->anomaly;
    return t->sub;
}

/* fn's inputs on the scratch tape s: views of t's tensors (requiring grad
   as they do), persistent tensors as they are. 1 if fine. */
static int scratch_inputs(ag_tape *s, const rc_ctx *c, ag_tensor **fin)
{
    for (int k = 0; k < c->n_in; k++) {
        ag_tensor *x = c->in[k];
        fin[k] = x->tape ? agi_view(s, FN, x, x->ndim, x->shape) : x;
        if (!fin[k]) return 0;
        if (x->tape) fin[k]->requires_grad = x->requires_grad;
    }
    return 1;
}

/* Sets the generators to the states of the first run, keeping theirs in
   now (swap back with restore_rngs). */
static void set_rngs(const rc_ctx *c, uint64_t (*now)[4])
{
    for (int r = 0; r < c->n_rngs; r++) {
        ag_rng_get_state(c->rngs[r], now[r]);
        ag_rng_set_state(c->rngs[r], c->states[r]);
    }
}

static void restore_rngs(const rc_ctx *c, uint64_t (*now)[4])
{
    for (int r = c->n_rngs - 1; r >= 0; r--) ag_rng_set_state(c->rngs[r], now[r]);  /* a generator listed twice ends as it was */
}

/* Records on t the failure of fn on tape s (s may be t); returns NULL. */
static void *segment_failed(ag_tape *t, const ag_tape *s, const char *when)
{
    if (s != t && s->status != AG_OK)
        return agi_fail(t, s->status, FN ": %s: %s", when, s->msg);
    if (t->status != AG_OK) return NULL;
    return agi_fail(t, AG_ERR_STATE, FN ": %s: the function returned NULL without an error",
                    when);
}

/* Checks that the recomputed y matches the recorded out; 1 if fine. */
static int same_result(ag_tape *t, const ag_tensor *y, const ag_tensor *out)
{
    char b1[96], b2[96];
    if (agi_same_shape(y, out) && y->dtype == out->dtype) return 1;
    return agi_fail(t, AG_ERR_STATE, FN ": the recomputation gave a %s %s result, the first "
                    "run a %s %s one (the function must compute the same thing each time)",
                    agi_shape_str(y, b1), agi_dtype_name(y->dtype), agi_shape_str(out, b2),
                    agi_dtype_name(out->dtype)), 0;
}

/* A tape tensor of t holding a copy of x's values; NULL + error. */
static ag_tensor *copy_to(ag_tape *t, const ag_tensor *x)
{
    ag_tensor *y = agi_new_like(t, FN, x);
    if (y) memcpy(y->data, x->data, agi_bytes(x->numel, x->dtype));
    return y;
}

/* The nodes of node n's rule that need a gradient: targets[k] is what fn
   saw as node input idx[k] (fin[slot], or the parameter itself). */
static int targets_of(const agi_node *n, const rc_ctx *c, ag_tensor *const *fin,
                      const uint8_t *need, ag_tensor **targets, int *idx)
{
    int m = 0;
    for (int j = 0; j < n->n_in; j++) {
        if (!need[j]) continue;
        targets[m] = c->slot[j] >= 0 ? fin[c->slot[j]] : n->in[j];
        idx[m++] = j;
    }
    return m;
}

#define MAX_TARGETS (AG_RECOMPUTE_MAX_INPUTS + AG_RECOMPUTE_MAX_PARAMS)

/* ------------------------------------------------------------ backward --- */

/* The plain backward: recompute on the scratch tape, differentiate there. */
static void backward_scratch(ag_tape *t, const agi_node *n, const rc_ctx *c, ag_tensor *gy,
                             ag_tensor **gx, const uint8_t *need)
{
    ag_tensor *fin[AG_RECOMPUTE_MAX_INPUTS + 1], *targets[MAX_TARGETS], *grads[MAX_TARGETS];
    int idx[MAX_TARGETS];
    uint64_t now[AG_RECOMPUTE_MAX_RNGS][4];
    ag_tape *s = scratch_tape(t);
    if (!s) return;
    if (!scratch_inputs(s, c, fin)) {
        segment_failed(t, s, "recomputing the segment");
        return;
    }
    set_rngs(c, now);
    ag_tensor *y = c->fn(s, fin, c->user);
    restore_rngs(c, now);
    if (!y || s->status != AG_OK || !agi_check(s, FN, "the segment's result", y)) {
        segment_failed(t, s, "recomputing the segment");
        return;
    }
    if (!same_result(t, y, n->out)) return;
    int m = targets_of(n, c, fin, need, targets, idx);
    ag_tensor *gys = agi_view(s, FN, gy, gy->ndim, gy->shape);
    if (!gys || ag_grad(s, 1, &y, &gys, m, targets, grads, 0) != AG_OK) {
        segment_failed(t, s, "the segment's backward");
        return;
    }
    for (int k = 0; k < m; k++)
        if (!(gx[idx[k]] = copy_to(t, grads[k]))) return;
}

/* backward_graph's work, between saving the walk's state and restoring it. */
static void nested_grad(ag_tape *t, const agi_node *n, const rc_ctx *c, ag_tensor *gy,
                        ag_tensor **gx, const uint8_t *need)
{
    ag_tensor *fin[AG_RECOMPUTE_MAX_INPUTS + 1], *targets[MAX_TARGETS], *grads[MAX_TARGETS];
    int idx[MAX_TARGETS];
    uint8_t req[AG_RECOMPUTE_MAX_INPUTS + 1];
    uint64_t now[AG_RECOMPUTE_MAX_RNGS][4];
    for (int k = 0; k < c->n_in; k++) {
        ag_tensor *x = c->in[k];
        if (!(fin[k] = x->tape && x->requires_grad ? wrap(t, x) : x)) return;
    }
    set_rngs(c, now);
    ag_tensor *y = c->fn(t, fin, c->user);
    restore_rngs(c, now);
    if (!y || t->status != AG_OK) {
        segment_failed(t, t, "recomputing the segment");
        return;
    }
    if (!same_result(t, y, n->out)) return;
    int m = targets_of(n, c, fin, need, targets, idx);
    /* The inputs' own history is the outer walk's business: hide it, so a
       parameter among the targets gets only the segment's share. */
    for (int k = 0; k < c->n_in; k++) req[k] = c->in[k]->requires_grad;
    for (int k = 0; k < c->n_in; k++)
        if (c->in[k]->tape) c->in[k]->requires_grad = 0;
    ag_status st = ag_grad(t, 1, &y, &gy, m, targets, grads, 1);
    for (int k = 0; k < c->n_in; k++) c->in[k]->requires_grad = req[k];
    for (int k = 0; k < m && st == AG_OK; k++) gx[idx[k]] = grads[k];
}

/* The backward under create_graph: recompute on t with history and run a
   nested ag_grad there, keeping the calling walk's scratch (the slots of
   the nodes it has still to visit, up to this one) around it. */
static void backward_graph(ag_tape *t, const agi_node *n, const rc_ctx *c, ag_tensor *gy,
                           ag_tensor **gx, const uint8_t *need)
{
    const int32_t top = t->rule_node;
    if (top < 0) {
        agi_fail(t, AG_ERR_STATE, FN ": backward run outside a backward walk");
        return;
    }
    size_t keep = (size_t)top + 1;
    ag_tensor **gacc = malloc(keep * sizeof *gacc);
    uint8_t *mark = malloc(keep);
    if (gacc && mark) {
        memcpy(gacc, t->gacc, keep * sizeof *gacc);
        memcpy(mark, t->mark, keep);
        nested_grad(t, n, c, gy, gx, need);
        memcpy(t->gacc, gacc, keep * sizeof *gacc);
        memcpy(t->mark, mark, keep);
        t->in_backward = 1;
        t->rule_node = top;
    } else {
        agi_fail(t, AG_ERR_NOMEM, FN ": out of memory for %d nodes' gradients", (int)keep);
    }
    free(gacc);
    free(mark);
}

/* dx = the segment's vector-Jacobian product with dy, recomputed */
static void recompute_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                               const uint8_t *need)
{
    const rc_ctx *c = n->aux;
    if (t->grad_enabled)
        backward_graph(t, n, c, gy, gx, need);
    else
        backward_scratch(t, n, c, gy, gx, need);
}

/* ty = the segment's Jacobian times the inputs' tangents tx: fn run again
   on t itself under a nested ag_jvp (generators set back as for the
   backward). Parameters (slot -1) are persistent leaves: ag_jvp never
   gives them a tangent, so only the inputs' count. */
static ag_tensor *recompute_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const rc_ctx *c = n->aux;
    ag_tensor *tan[AG_RECOMPUTE_MAX_INPUTS + 1] = {0}, *y, *ty;
    uint64_t now[AG_RECOMPUTE_MAX_RNGS][4];
    for (int j = 0; j < n->n_in; j++)
        if (c->slot[j] >= 0) tan[c->slot[j]] = tx[j];
    if (c->n_in == 0)               /* unreached: a node of parameters alone gets no rule run */
        return ag_zeros(t, (ag_dtype)n->out->dtype, n->out->ndim, n->out->shape);
    set_rngs(c, now);
    ag_status s = ag_jvp(t, c->fn, c->user, c->n_in, c->in, tan, &y, &ty, t->grad_enabled);
    restore_rngs(c, now);
    if (s != AG_OK) return NULL;
    return same_result(t, y, n->out) ? ty : NULL;
}

static const agi_op op_recompute = {"ag_recompute", recompute_backward, recompute_jvp};

/* ------------------------------------------------------------- forward --- */

/* Adds to list[0..m) the persistent tensors requiring grad that s's nodes
   read, each once; returns the new count, or -1 (error on t). */
static int find_params(ag_tape *t, const ag_tape *s, ag_tensor **list, int m)
{
    for (int32_t i = 0; i < s->n_nodes; i++) {
        const agi_node *node = AGI_NODE(s, i);
        for (int j = 0; j < node->n_in; j++) {
            ag_tensor *x = node->in[j];
            int seen = x->tape || !x->requires_grad;
            for (int k = 0; k < m && !seen; k++) seen = list[k] == x;
            if (seen) continue;
            if (m == MAX_TARGETS)
                return agi_fail(t, AG_ERR_ARG, FN ": the segment reads more than %d tensors "
                                "that require grad", MAX_TARGETS), -1;
            list[m++] = x;
        }
    }
    return m;
}

static int check_args(ag_tape *t, ag_fn fn, int n_in, ag_tensor *const *in, int n_rngs,
                      ag_rng *const *rngs)
{
    if (!fn) return agi_fail(t, AG_ERR_ARG, FN ": fn is NULL"), 0;
    if (n_in < 0 || n_in > AG_RECOMPUTE_MAX_INPUTS || (n_in && !in))
        return agi_fail(t, AG_ERR_ARG, FN ": %d inputs%s (0 to %d)", n_in,
                        n_in > 0 && !in ? " but inputs is NULL" : "",
                        AG_RECOMPUTE_MAX_INPUTS), 0;
    for (int k = 0; k < n_in; k++) {
        char arg[32];
        snprintf(arg, sizeof arg, "input %d", k);
        if (!agi_check(t, FN, arg, in[k])) return 0;
    }
    if (n_rngs < 0 || n_rngs > AG_RECOMPUTE_MAX_RNGS || (n_rngs && !rngs))
        return agi_fail(t, AG_ERR_ARG, FN ": %d generators%s (0 to %d)", n_rngs,
                        n_rngs > 0 && !rngs ? " but rngs is NULL" : "",
                        AG_RECOMPUTE_MAX_RNGS), 0;
    for (int r = 0; r < n_rngs; r++)
        if (!rngs[r]) return agi_fail(t, AG_ERR_ARG, FN ": generator %d is NULL", r), 0;
    return 1;
}

/* The op's context in t's arena, the generators' states taken; NULL + error. */
static rc_ctx *new_ctx(ag_tape *t, ag_fn fn, void *user, int n_in, ag_tensor *const *in,
                       int n_rngs, ag_rng *const *rngs)
{
    t->fn = FN;
    rc_ctx *c = agi_alloc(t, sizeof *c);
    ag_tensor **ins = c ? agi_alloc(t, (size_t)(n_in + 1) * sizeof *ins) : NULL;
    ag_rng **rs = ins ? agi_alloc(t, (size_t)(n_rngs + 1) * sizeof *rs) : NULL;
    uint64_t(*st)[4] = rs ? agi_alloc(t, (size_t)(n_rngs + 1) * sizeof *st) : NULL;
    if (!st) return NULL;
    *c = (rc_ctx){fn, user, ins, NULL, rs, st, n_in, n_rngs};
    for (int k = 0; k < n_in; k++) ins[k] = in[k];
    for (int r = 0; r < n_rngs; r++) {
        rs[r] = rngs[r];
        ag_rng_get_state(rngs[r], st[r]);
    }
    return c;
}

/* Records node: inputs the segment's inputs requiring grad, then the
   parameters found on s. Returns 1 if fine. */
static int record(ag_tape *t, const ag_tape *s, rc_ctx *c, ag_tensor *y)
{
    ag_tensor *list[MAX_TARGETS];
    int32_t slot[MAX_TARGETS];
    int m = 0;
    for (int k = 0; k < c->n_in; k++)
        if (c->in[k]->tape && c->in[k]->requires_grad) {
            slot[m] = k;
            list[m++] = c->in[k];
        }
    int tape_inputs = m;
    if ((m = find_params(t, s, list, m)) < 0) return 0;
    for (int j = tape_inputs; j < m; j++) slot[j] = -1;
    if (!(c->slot = agi_alloc(t, (size_t)(m + 1) * sizeof *c->slot))) return 0;
    memcpy(c->slot, slot, (size_t)m * sizeof *slot);
    agi_node *node = agi_record(t, &op_recompute, y, m, list);
    if (node) node->aux = c;
    return t->status == AG_OK;
}

ag_tensor *ag_recompute(ag_tape *t, ag_fn fn, void *ctx, int n_inputs,
                        ag_tensor *const *inputs, int n_rngs, ag_rng *const *rngs)
{
    if (!t) return agi_no_tape(FN), NULL;
    if (t->status != AG_OK || !check_args(t, fn, n_inputs, inputs, n_rngs, rngs)) return NULL;
    if (!t->grad_enabled) {                 /* nothing to save: just run it */
        ag_tensor *y = fn(t, inputs, ctx);
        return y && t->status == AG_OK ? y : segment_failed(t, t, "the segment");
    }
    rc_ctx *c = new_ctx(t, fn, ctx, n_inputs, inputs, n_rngs, rngs);
    ag_tape *s = c ? scratch_tape(t) : NULL;
    ag_tensor *fin[AG_RECOMPUTE_MAX_INPUTS + 1];
    if (!s) return NULL;
    if (!scratch_inputs(s, c, fin)) return segment_failed(t, s, "the segment");
    ag_tensor *ys = fn(s, fin, ctx);
    if (!ys || s->status != AG_OK || !agi_check(s, FN, "the segment's result", ys))
        return segment_failed(t, s, "the segment");
    ag_tensor *y = copy_to(t, ys);
    if (!y || !record(t, s, c, y)) return NULL;
    return agi_done(t, &op_recompute, y);
}
