/*
** custom.c: custom ops (ag_custom.h), the op definition made public.
**
** Each call gets a context in the tape's arena whose first member is an
** agi_op naming the user's op and pointing at one shared rule
** (custom_backward); the node's aux points back at the context. So a
** custom op is recorded, walked, named in messages and checked exactly
** like a built-in one. The forward runs with grad mode off, so the output's
** only history is this node. A once-differentiable rule runs with grad
** mode off too, and under create_graph each gradient it gives is wrapped
** in a node whose own rule is an error naming the op. The node's JVP rule
** (custom_jvp) runs the user's forward-mode rule, or refuses by name when
** the op has none.
*/
#include "ag_internal.h"
#include "ag_custom.h"

#include <stdio.h>
#include <string.h>

enum { PHASE_NONE, PHASE_FORWARD, PHASE_BACKWARD, PHASE_JVP };

struct ag_custom_ctx {
    agi_op op;                      /* the node's op: the user's name, custom_backward */
    const ag_custom_op *def;
    void *user;
    ag_tape *tape;
    ag_tensor **in;                 /* the n_in inputs as given */
    int32_t *diff;                  /* node input j is input diff[j] */
    ag_tensor *raw_out;             /* what the forward returned */
    ag_tensor *out;                 /* the recorded output */
    int n_out;                      /* ag_custom_multi's outputs; 0 for ag_custom */
    agi_op op_out;                  /* ag_custom_multi: the nodes of the outputs */
    ag_tensor **outs, **raw_outs;   /* n_out: recorded, as the forward returned them */
    ag_tensor **gys;                /* n_out: the outputs' gradients, gathered */
    ag_tensor **tans;               /* n_out: the outputs' tangents, from the rule */
    const uint8_t *need;            /* in the backward: by input */
    void *state;                    /* ag_custom_alloc's memory */
    ag_tensor *saved[AG_CUSTOM_MAX_SAVED];
    int n_in, n_saved, phase;
    uint8_t grad_mode;              /* the tape's grad mode when called */
};

static int is_diff(const ag_custom_ctx *c, int i)
{
    return !(i < 32 && (c->def->nondiff >> i) & 1u);
}

/* ------------------------------------------------ the once-barrier op --- */

/* y = g, a gradient a once-differentiable rule gave; dg: an error. */
static void once_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                          const uint8_t *need)
{
    (void)gy, (void)gx, (void)need;
    const ag_custom_ctx *c = n->aux;
    agi_fail(t, AG_ERR_STATE, "%s: is once-differentiable (AG_CUSTOM_ONCE_DIFFERENTIABLE): "
             "its rules cannot be differentiated again (a double backward through it, "
             "e.g. ag_grad with create_graph then a second ag_grad or ag_backward, or a "
             "derivative of a tangent ag_jvp recorded)",
             c->def->name);
}

static const agi_op op_once = {"ag_custom (once-differentiable gradient)", once_backward, NULL};

/* g behind a barrier: a view of g that depends on lead[0..n_lead) (the
   output's gradient, or the inputs' tangents) and the op's inputs. */
static ag_tensor *once_barrier(ag_tape *t, ag_custom_ctx *c, const agi_node *n,
                               ag_tensor *g, int n_lead, ag_tensor *const *lead)
{
    int m = n->n_in + n_lead;
    ag_tensor **ins = agi_alloc(t, (size_t)m * sizeof *ins);
    ag_tensor *y = ins ? agi_view(t, op_once.name, g, g->ndim, g->shape) : NULL;
    if (!y) return NULL;
    for (int j = 0; j < n_lead; j++) ins[j] = lead[j];
    for (int j = 0; j < n->n_in; j++) ins[j + n_lead] = n->in[j];
    agi_node *node = agi_record(t, &op_once, y, m, ins);
    if (node) node->aux = c;
    return agi_done(t, &op_once, y);
}

/* ------------------------------------------------------------ backward --- */

/* Checks the rule's gradient g for input i; 1 if fine. */
static int check_gradient(ag_tape *t, const ag_custom_ctx *c, int i, const ag_tensor *g)
{
    char b1[96], b2[96];
    const ag_tensor *x = c->in[i];
    const char *name = c->def->name;
    if (!g)
        return agi_fail(t, AG_ERR_STATE, "%s: backward gave no gradient for input %d, which "
                        "needs one (ag_custom_needs_grad)", name, i), 0;
    if (!agi_check(t, name, "a gradient from its backward", g)) return 0;
    if (!agi_same_shape(g, x))
        return agi_fail(t, AG_ERR_SHAPE, "%s: backward gave a %s gradient for input %d of "
                        "shape %s", name, agi_shape_str(g, b1), i, agi_shape_str(x, b2)), 0;
    if (g->dtype != x->dtype)
        return agi_fail(t, AG_ERR_DTYPE, "%s: backward gave a %s gradient for input %d, "
                        "which is %s", name, agi_dtype_name(g->dtype), i,
                        agi_dtype_name(x->dtype)), 0;
    return 1;
}

/* The outputs' gradients (multi: gys[0..n_out), NULL where absent) that
   are present, as the inputs of a barrier; returns their count. */
static int present(const ag_custom_ctx *c, ag_tensor *const *gys, ag_tensor **lead)
{
    int m = 0;
    for (int k = 0; k < (c->n_out ? c->n_out : 1); k++)
        if (gys[k]) lead[m++] = gys[k];
    return m;
}

/* Runs the user's rule for node n (the op's node, or ag_custom_multi's
   anchor) given the outputs' gradients gys (one for ag_custom); gx and
   need are by node input. */
static void run_backward(ag_tape *t, const agi_node *n, ag_custom_ctx *c, ag_tensor *const *gys,
                         ag_tensor **gx, const uint8_t *need)
{
    uint8_t uneed[AG_CUSTOM_MAX_INPUTS] = {0};
    ag_tensor *ugx[AG_CUSTOM_MAX_INPUTS] = {0}, *lead[AG_CUSTOM_MAX_OUTPUTS + 1];
    for (int j = 0; j < n->n_in; j++) uneed[c->diff[j]] |= need[j];
    const int once = (c->def->flags & AG_CUSTOM_ONCE_DIFFERENTIABLE) != 0;
    const uint8_t mode = t->grad_enabled;
    if (once) t->grad_enabled = 0;
    c->phase = PHASE_BACKWARD;
    c->need = uneed;
    ag_status s = c->n_out ? c->def->backward_multi(c, gys, ugx) : c->def->backward(c, gys[0], ugx);
    c->phase = PHASE_NONE;
    c->need = NULL;
    t->grad_enabled = mode;
    if (t->status != AG_OK) return;
    if (s != AG_OK) {
        agi_fail(t, s, "%s: backward failed (%s) without a message", c->def->name,
                 ag_status_name(s));
        return;
    }
    for (int j = 0; j < n->n_in; j++) {
        if (!need[j]) continue;
        int i = c->diff[j];
        if (!check_gradient(t, c, i, ugx[i])) return;
        gx[j] = once && mode ? once_barrier(t, c, n, ugx[i], present(c, gys, lead), lead)
                             : ugx[i];
        if (!gx[j]) return;
    }
}

/* dx = the user's rule on dy */
static void custom_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                            const uint8_t *need)
{
    run_backward(t, n, (ag_custom_ctx *)n->aux, &gy, gx, need);
}

/* ----------------------------------------------------------- forward mode --- */

/* Checks the forward-mode rule's tangent ty of output k (the output for
   ag_custom); 1 if fine. */
static int check_tangent(ag_tape *t, const ag_custom_ctx *c, int k, const ag_tensor *ty)
{
    char b1[96], b2[96];
    const char *name = c->def->name;
    const ag_tensor *y = c->n_out ? c->outs[k] : c->out;
    if (!ty && c->n_out)
        return agi_fail(t, AG_ERR_STATE, "ag_jvp: %s: the forward-mode rule (jvp) gave no "
                        "tangent for output %d", name, k), 0;
    if (!ty)
        return agi_fail(t, AG_ERR_STATE, "ag_jvp: %s: the forward-mode rule (jvp) gave no "
                        "tangent", name), 0;
    if (!agi_check(t, name, "a tangent from its forward-mode rule", ty)) return 0;
    if (!agi_same_shape(ty, y) || ty->dtype != y->dtype)
        return agi_fail(t, AG_ERR_SHAPE, "ag_jvp: %s: the forward-mode rule gave a %s %s tangent "
                        "for a %s %s output", name, agi_shape_str(ty, b1),
                        agi_dtype_name(ty->dtype), agi_shape_str(y, b2),
                        agi_dtype_name(y->dtype)), 0;
    return 1;
}

/* The user's JVP rule on the inputs' tangents tx (by node input) into
   ty[0..max(n_out, 1)); 1 if fine (each checked, behind the barrier when
   the op is once-differentiable and the tangents are recorded). */
static int run_jvp(ag_tape *t, const agi_node *n, ag_custom_ctx *c, ag_tensor *const *tx,
                   ag_tensor **ty)
{
    ag_tensor *utx[AG_CUSTOM_MAX_INPUTS] = {0};
    const int n_ty = c->n_out ? c->n_out : 1;
    for (int k = 0; k < n_ty; k++) ty[k] = NULL;
    if (!c->def->jvp)
        return agi_fail(t, AG_ERR_STATE, "ag_jvp: custom op %s has no forward-mode rule (its "
                        "ag_custom_op.jvp is NULL)", c->def->name), 0;
    for (int j = 0; j < n->n_in; j++) utx[c->diff[j]] = tx[j];
    const int once = (c->def->flags & AG_CUSTOM_ONCE_DIFFERENTIABLE) != 0;
    const uint8_t mode = t->grad_enabled;
    if (once) t->grad_enabled = 0;
    c->phase = PHASE_JVP;
    ag_status s = c->def->jvp(c, utx, ty);
    c->phase = PHASE_NONE;
    t->grad_enabled = mode;
    if (t->status != AG_OK) return 0;
    if (s != AG_OK)
        return agi_fail(t, s, "ag_jvp: %s: the forward-mode rule failed (%s) without a message",
                        c->def->name, ag_status_name(s)), 0;
    for (int k = 0; k < n_ty; k++) {
        if (!check_tangent(t, c, k, ty[k])) return 0;
        if (once && mode && !(ty[k] = once_barrier(t, c, n, ty[k], n->n_in, tx))) return 0;
    }
    return 1;
}

/* ty = the user's JVP rule on the inputs' tangents tx (by node input) */
static ag_tensor *custom_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    ag_tensor *ty;
    return run_jvp(t, n, (ag_custom_ctx *)n->aux, tx, &ty) ? ty : NULL;
}

/* ------------------------------------------------------------- forward --- */

/* Validates the op (for ag_custom_multi when multi) and the inputs; 1 if
   fine. */
static int check_call(ag_tape *t, const ag_custom_op *op, int n, ag_tensor *const *in, int multi)
{
    const char *fn = multi ? "ag_custom_multi" : "ag_custom";
    if (!op) return agi_fail(t, AG_ERR_ARG, "%s: op is NULL", fn), 0;
    if (!op->name) return agi_fail(t, AG_ERR_ARG, "%s: op has no name", fn), 0;
    if (!multi && (!op->forward || !op->backward))
        return agi_fail(t, AG_ERR_ARG, "ag_custom: op '%s' has no %s%s", op->name,
                        op->forward ? "backward" : "forward",
                        op->forward_multi ? " (an op of several outputs: ag_custom_multi)"
                                          : ""), 0;
    if (multi && (!op->forward_multi || !op->backward_multi))
        return agi_fail(t, AG_ERR_ARG, "ag_custom_multi: op '%s' has no %s", op->name,
                        op->forward_multi ? "backward_multi" : "forward_multi"), 0;
    if (multi && (op->n_outputs < 1 || op->n_outputs > AG_CUSTOM_MAX_OUTPUTS))
        return agi_fail(t, AG_ERR_ARG, "ag_custom_multi: op '%s' has %d outputs (1 to %d)",
                        op->name, op->n_outputs, AG_CUSTOM_MAX_OUTPUTS), 0;
    if (n < 1 || n > AG_CUSTOM_MAX_INPUTS)
        return agi_fail(t, AG_ERR_ARG, "%s: %d inputs (1 to %d)", op->name, n,
                        AG_CUSTOM_MAX_INPUTS), 0;
    if (!in) return agi_fail(t, AG_ERR_ARG, "%s: inputs is NULL", op->name), 0;
    for (int i = 0; i < n; i++) {
        char arg[32];
        snprintf(arg, sizeof arg, "input %d", i);
        if (!agi_check(t, op->name, arg, in[i])) return 0;
    }
    return 1;
}

/* A new context in t's arena for a call of op; NULL (error set) if no room. */
static ag_custom_ctx *new_ctx(ag_tape *t, const ag_custom_op *op, void *user, int n,
                              ag_tensor *const *in)
{
    t->fn = op->name;
    ag_custom_ctx *c = agi_alloc(t, sizeof *c);
    ag_tensor **ins = c ? agi_alloc(t, (size_t)n * sizeof *ins) : NULL;
    int32_t *diff = ins ? agi_alloc(t, (size_t)n * sizeof *diff) : NULL;
    if (!diff) return NULL;
    memset(c, 0, sizeof *c);
    c->op = (agi_op){.name = op->name, .backward = custom_backward, .jvp = custom_jvp};
    c->def = op;
    c->user = user;
    c->tape = t;
    c->in = ins;
    c->diff = diff;
    c->n_in = n;
    c->grad_mode = t->grad_enabled;
    for (int i = 0; i < n; i++) ins[i] = in[i];
    return c;
}

/* The recorded output: a new header for y (a copy when y is persistent or an
   input, so the op never shares data the caller may change). */
static ag_tensor *output_of(ag_tape *t, const ag_custom_ctx *c, ag_tensor *y)
{
    int copy = y->tape == NULL;
    for (int i = 0; i < c->n_in; i++) copy |= y == c->in[i];
    if (!copy) return agi_view(t, c->def->name, y, y->ndim, y->shape);
    ag_tensor *out = agi_new_like(t, c->def->name, y);
    if (out) memcpy(out->data, y->data, agi_bytes(y->numel, y->dtype));
    return out;
}

/* The differentiable inputs, the node's, into ins (c->diff maps back);
   returns their count. */
static int diff_inputs(ag_custom_ctx *c, ag_tensor **ins)
{
    int m = 0;
    for (int i = 0; i < c->n_in; i++)
        if (is_diff(c, i)) {
            c->diff[m] = i;
            ins[m++] = c->in[i];
        }
    return m;
}

ag_tensor *ag_custom(ag_tape *t, const ag_custom_op *op, void *user, int n_inputs,
                     ag_tensor *const *inputs)
{
    if (!t) return agi_no_tape("ag_custom"), NULL;
    if (t->status != AG_OK || !check_call(t, op, n_inputs, inputs, 0)) return NULL;
    ag_custom_ctx *c = new_ctx(t, op, user, n_inputs, inputs);
    if (!c) return NULL;
    t->grad_enabled = 0;
    c->phase = PHASE_FORWARD;
    ag_tensor *y = op->forward(c, c->in);
    c->phase = PHASE_NONE;
    t->grad_enabled = c->grad_mode;
    if (t->status != AG_OK) return NULL;
    if (!y)
        return agi_fail(t, AG_ERR_STATE, "%s: forward returned NULL without an error", op->name);
    if (!agi_check(t, op->name, "the forward's output", y)) return NULL;
    ag_tensor *out = output_of(t, c, y);
    if (!out) return NULL;
    ag_tensor *ins[AG_CUSTOM_MAX_INPUTS];
    int m = diff_inputs(c, ins);
    agi_node *node = agi_record(t, &c->op, out, m, ins);
    if (node) node->aux = c;
    c->raw_out = y;
    c->out = out;
    for (int k = 0; k < c->n_saved; k++)
        if (c->saved[k] == y) c->saved[k] = out;     /* the output with its history */
    return agi_done(t, &c->op, out);
}


/* ------------------------------------------------------ several outputs --- */

/*
** ag_custom_multi records an anchor node A (output h, a 0-d zero; inputs
** the op's) and then one node O_k per output (input h), consecutive on the
** tape. A backward walk reaches every O_k before A, and nothing runs
** between them: each O_k's rule keeps its output's gradient in the
** context, and A's rule hands them all to backward_multi at once. In
** forward mode A's rule runs the jvp rule for every output and each O_k's
** rule hands its tangent on.
*/

/* y_k = output k of the op; dh = 0 (dy_k kept for the anchor's rule) */
static void output_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                            const uint8_t *need)
{
    ag_custom_ctx *c = (ag_custom_ctx *)n->aux;
    c->gys[n->iparam[0]] = gy;
    if (need[0]) gx[0] = ag_zeros(t, (ag_dtype)n->in[0]->dtype, 0, NULL);
}

/* ty_k = the tangent the anchor's rule gave output k */
static ag_tensor *output_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    (void)t, (void)tx;
    const ag_custom_ctx *c = n->aux;
    return c->tans[n->iparam[0]];
}

/* dx = the user's rule on every dy_k gathered (NULL or zeros where none) */
static void anchor_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                            const uint8_t *need)
{
    (void)gy;                                 /* a sum of zeros */
    ag_custom_ctx *c = (ag_custom_ctx *)n->aux;
    ag_tensor *gys[AG_CUSTOM_MAX_OUTPUTS];
    for (int k = 0; k < c->n_out; k++) {
        gys[k] = c->gys[k];
        c->gys[k] = NULL;                     /* each walk gathers afresh */
        const ag_tensor *y = c->outs[k];
        if (!gys[k] && (c->def->flags & AG_CUSTOM_MATERIALIZE_GRADS) &&
            !(gys[k] = ag_zeros(t, (ag_dtype)y->dtype, y->ndim, y->shape)))
            return;
    }
    run_backward(t, n, c, gys, gx, need);
}

/* th = 0; the outputs' tangents from the user's rule, kept for their nodes */
static ag_tensor *anchor_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    ag_custom_ctx *c = (ag_custom_ctx *)n->aux;
    if (!run_jvp(t, n, c, tx, c->tans)) return NULL;
    return ag_zeros(t, (ag_dtype)n->out->dtype, 0, NULL);
}

/* Records A and the O_k (when an input requires grad under grad mode). */
static int record_multi(ag_tape *t, ag_custom_ctx *c)
{
    ag_tensor *ins[AG_CUSTOM_MAX_INPUTS];
    int m = diff_inputs(c, ins);
    ag_tensor *h = agi_new(t, c->def->name, (ag_dtype)c->outs[0]->dtype, 0, NULL);
    if (!h) return 0;
    agi_fill(h, 0);
    agi_node *a = agi_record(t, &c->op, h, m, ins);
    if (!a) return t->status == AG_OK;        /* nothing to differentiate */
    a->aux = c;
    for (int k = 0; k < c->n_out; k++) {
        agi_node *o = agi_record(t, &c->op_out, c->outs[k], 1, &h);
        if (!o) return 0;
        o->aux = c;
        o->iparam[0] = k;
    }
    return 1;
}

/* Room for the outputs' arrays and the rules of the nodes; 1 if fine. */
static int multi_ctx(ag_tape *t, ag_custom_ctx *c, int n_out)
{
    ag_tensor **a = agi_alloc(t, 4 * (size_t)n_out * sizeof *a);
    if (!a) return 0;
    memset(a, 0, 4 * (size_t)n_out * sizeof *a);
    c->n_out = n_out;
    c->outs = a, c->raw_outs = a + n_out, c->gys = a + 2 * n_out, c->tans = a + 3 * n_out;
    c->op.backward = anchor_backward;
    c->op.jvp = anchor_jvp;
    c->op_out = (agi_op){.name = c->def->name, .backward = output_backward, .jvp = output_jvp};
    return 1;
}

/* Checks forward_multi's outputs and makes the recorded ones; 1 if fine. */
static int multi_outputs(ag_tape *t, ag_custom_ctx *c)
{
    for (int k = 0; k < c->n_out; k++) {
        ag_tensor *y = c->raw_outs[k];
        if (!y)
            return agi_fail(t, AG_ERR_STATE, "%s: forward_multi left output %d NULL without an "
                            "error", c->def->name, k), 0;
        if (!agi_check(t, c->def->name, "an output of forward_multi", y)) return 0;
        if (!(c->outs[k] = output_of(t, c, y))) return 0;
        for (int s = 0; s < c->n_saved; s++)
            if (c->saved[s] == y) c->saved[s] = c->outs[k];
    }
    return 1;
}

ag_status ag_custom_multi(ag_tape *t, const ag_custom_op *op, void *user, int n_inputs,
                          ag_tensor *const *inputs, ag_tensor **outputs)
{
    if (!t) return agi_no_tape("ag_custom_multi");
    if (!outputs) return agi_fail(t, AG_ERR_ARG, "ag_custom_multi: outputs is NULL"), AG_ERR_ARG;
    for (int k = 0; op && k < op->n_outputs && k < AG_CUSTOM_MAX_OUTPUTS; k++) outputs[k] = NULL;
    if (t->status != AG_OK || !check_call(t, op, n_inputs, inputs, 1)) return t->status;
    ag_custom_ctx *c = new_ctx(t, op, user, n_inputs, inputs);
    if (!c || !multi_ctx(t, c, op->n_outputs)) return t->status;
    t->grad_enabled = 0;
    c->phase = PHASE_FORWARD;
    ag_status s = op->forward_multi(c, c->in, c->raw_outs);
    c->phase = PHASE_NONE;
    t->grad_enabled = c->grad_mode;
    if (t->status != AG_OK) return t->status;
    if (s != AG_OK)
        return agi_fail(t, s, "%s: forward_multi failed (%s) without a message", op->name,
                        ag_status_name(s)), s;
    if (!multi_outputs(t, c) || !record_multi(t, c)) return t->status;
    for (int k = 0; k < c->n_out; k++)
        if (!agi_done(t, &c->op_out, c->outs[k])) break;
    if (t->status != AG_OK) return t->status;
    for (int k = 0; k < c->n_out; k++) outputs[k] = c->outs[k];
    return AG_OK;
}

/* ------------------------------------------------------------- context --- */

ag_tape *ag_custom_tape(const ag_custom_ctx *c) { return c ? c->tape : NULL; }
void *ag_custom_user(const ag_custom_ctx *c) { return c ? c->user : NULL; }
int ag_custom_num_inputs(const ag_custom_ctx *c) { return c ? c->n_in : 0; }
int ag_custom_num_outputs(const ag_custom_ctx *c) { return c ? (c->n_out ? c->n_out : 1) : 0; }

ag_tensor *ag_custom_input(const ag_custom_ctx *c, int i)
{
    if (!c) return ag_set_last_error(AG_ERR_ARG, "ag_custom_input: ctx is NULL"), NULL;
    if (i < 0 || i >= c->n_in)
        return agi_fail(c->tape, AG_ERR_ARG, "%s: ag_custom_input(%d): the op has %d inputs",
                        c->def->name, i, c->n_in);
    return c->in[i];
}

int ag_custom_needs_grad(const ag_custom_ctx *c, int i)
{
    if (!c || i < 0 || i >= c->n_in) return 0;
    if (c->phase == PHASE_BACKWARD) return c->need[i];
    return c->grad_mode && is_diff(c, i) && c->in[i]->requires_grad;
}

ag_status ag_custom_save(ag_custom_ctx *c, int n, ag_tensor *const *tensors)
{
    if (!c) return ag_set_last_error(AG_ERR_ARG, "ag_custom_save: ctx is NULL");
    ag_tape *t = c->tape;
    if (t->status != AG_OK) return t->status;
    const char *name = c->def->name;
    if (c->phase != PHASE_FORWARD)
        return agi_fail(t, AG_ERR_ARG, "%s: ag_custom_save outside the forward", name), AG_ERR_ARG;
    if (n < 0 || n > AG_CUSTOM_MAX_SAVED - c->n_saved || (n && !tensors))
        return agi_fail(t, AG_ERR_ARG, "%s: ag_custom_save of %d tensors (%d saved, at most %d)",
                        name, n, c->n_saved, AG_CUSTOM_MAX_SAVED), AG_ERR_ARG;
    for (int k = 0; k < n; k++)
        if (!agi_check(t, name, "a tensor given to ag_custom_save", tensors[k])) return t->status;
    for (int k = 0; k < n; k++) c->saved[c->n_saved++] = tensors[k];
    return AG_OK;
}

ag_tensor *ag_custom_saved(const ag_custom_ctx *c, int i)
{
    if (!c) return ag_set_last_error(AG_ERR_ARG, "ag_custom_saved: ctx is NULL"), NULL;
    if (i < 0 || i >= c->n_saved)
        return agi_fail(c->tape, AG_ERR_ARG, "%s: ag_custom_saved(%d): %d tensors saved",
                        c->def->name, i, c->n_saved);
    return c->saved[i];
}

void *ag_custom_alloc(ag_custom_ctx *c, size_t bytes)
{
    if (!c) return ag_set_last_error(AG_ERR_ARG, "ag_custom_alloc: ctx is NULL"), NULL;
    ag_tape *t = c->tape;
    if (t->status != AG_OK) return NULL;
    t->fn = c->def->name;
    void *p = agi_alloc(t, bytes ? bytes : 1);
    if (!p) return NULL;
    memset(p, 0, bytes);
    c->state = p;
    return p;
}

void *ag_custom_state(const ag_custom_ctx *c) { return c ? c->state : NULL; }
