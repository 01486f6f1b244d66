/*
** jvp.c: forward mode (ag_jvp) and dense Jacobians and Hessians.
**
** fn runs once on tape tensors standing for the inputs ("wraps": an
** identity node each), with grad mode on, so every op it runs is a node
** at index >= start. The forward walk then visits nodes start..end in
** tape order (dependency order): a node's tangent is its op's JVP rule
** applied to its inputs' tangents, a tensor's tangent being tan[node -
** start] for a node of the segment and zero for anything else (a leaf, a
** constant, a node recorded before fn). The rules are written with ops;
** they append their own nodes after end when create_graph is on, which
** the walk never visits. A Jacobian walks once per input element (forward)
** or runs ag_grad once per output element (reverse) over the same record.
*/
#include "ag_internal.h"
#include "ag_jvp.h"

#include <string.h>

/* ---------------------------------------------------- the input wrap --- */

/* y = x; dx += dy */
static void wrap_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    (void)t, (void)n, (void)need;
    gx[0] = gy;
}
/* y = x; ty = tx */
ag_tensor *agi_jvp_identity(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    (void)t, (void)n;
    return tx[0];
}
static const agi_op op_wrap = {"ag_jvp (input)", wrap_backward, agi_jvp_identity};

/* The record of one run of fn: its inputs' wraps and nodes [start, end). */
typedef struct rec {
    const char *who;
    int n_in;
    ag_tensor **wraps;
    int32_t start, end;
    ag_tensor **tan;                /* end - start tangents, NULL = zero */
} rec;

/* A node standing for input x (grad mode on): an identity of x, or of a
   detached leaf requiring grad when x itself does not. */
static ag_tensor *wrap_input(ag_tape *t, const char *who, ag_tensor *x)
{
    if (!agi_check(t, who, "an input", x)) return NULL;
    ag_tensor *src = x;
    if (!x->requires_grad) {
        if (!(src = ag_detach(t, x))) return NULL;
        src->requires_grad = 1;
    }
    ag_tensor *y = agi_view(t, who, x, x->ndim, x->shape);
    if (!y || !agi_record(t, &op_wrap, y, 1, &src)) return NULL;
    return y;
}

/* Checks the arguments, wraps the inputs and runs fn on them (grad mode
   on, restored after); out[0] is fn's result. 1 if fine. */
static int record(ag_tape *t, rec *r, ag_fn fn, void *ctx, ag_tensor *const *inputs,
                  ag_tensor **out)
{
    if (!fn || !inputs || r->n_in < 1)
        return agi_fail(t, AG_ERR_ARG, "%s: %s", r->who,
                        !fn ? "fn is NULL" : !inputs ? "inputs is NULL"
                                                     : "n_inputs must be at least 1"), 0;
    t->fn = r->who;
    if (!(r->wraps = agi_alloc(t, (size_t)r->n_in * sizeof *r->wraps))) return 0;
    int old = t->grad_enabled;
    t->grad_enabled = 1;
    r->start = t->n_nodes;
    for (int i = 0; i < r->n_in && t->status == AG_OK; i++)
        r->wraps[i] = wrap_input(t, r->who, inputs[i]);
    *out = t->status == AG_OK ? fn(t, r->wraps, ctx) : NULL;
    t->grad_enabled = (uint8_t)old;
    if (!*out && t->status == AG_OK)
        agi_fail(t, AG_ERR_ARG, "%s: the function returned NULL", r->who);
    return t->status == AG_OK && agi_check(t, r->who, "the function's result", *out);
}

/* Ends the record at the tape's current node and makes room for tangents. */
static int close_record(ag_tape *t, rec *r)
{
    r->end = t->n_nodes;
    t->fn = r->who;
    r->tan = agi_alloc(t, (size_t)(r->end - r->start + 1) * sizeof *r->tan);
    return r->tan != NULL;
}

/* ------------------------------------------------------------ the walk --- */

ag_tensor *agi_jvp_symmetric(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    ag_tensor *gx[1] = {NULL};
    const uint8_t need[1] = {1};
    n->op->backward(t, n, tx[0], gx, need);
    return gx[0];
}

static ag_tensor *tangent_of(const rec *r, const ag_tensor *x)
{
    return x->node >= r->start && x->node < r->end ? r->tan[x->node - r->start] : NULL;
}

/* Checks a rule's result for node i; 1 if fine. */
static int check_tangent(ag_tape *t, const agi_node *n, int32_t i, const ag_tensor *ty)
{
    char b1[96], b2[96];
    if (t->status != AG_OK) return 0;
    if (!ty)
        return agi_fail(t, AG_ERR_STATE, "ag_jvp: %s's forward-mode rule gave no tangent "
                        "(node #%d)", n->op->name, i), 0;
    if (!agi_same_shape(ty, n->out) || ty->dtype != n->out->dtype)
        return agi_fail(t, AG_ERR_SHAPE, "ag_jvp: %s's forward-mode rule gave a %s %s tangent "
                        "for a %s %s output (node #%d)", n->op->name, agi_shape_str(ty, b1),
                        agi_dtype_name(ty->dtype), agi_shape_str(n->out, b2),
                        agi_dtype_name(n->out->dtype), i), 0;
    return 1;
}

/* Node i's tangent from its inputs' (NULL when they are all zero). */
static int run_rule(ag_tape *t, rec *r, int32_t i)
{
    const agi_node *n = AGI_NODE(t, i);
    ag_tensor *small[16], **tx = small;
    int any = 0;
    for (int j = 0; j < n->n_in; j++) any |= tangent_of(r, n->in[j]) != NULL;
    if (!any) return 1;
    if (!n->op->jvp)
        return agi_fail(t, AG_ERR_STATE, "ag_jvp: op %s has no forward-mode rule (node #%d)",
                        n->op->name, i), 0;
    t->fn = r->who;
    if (n->n_in > 16 && !(tx = agi_alloc(t, (size_t)n->n_in * sizeof *tx))) return 0;
    for (int j = 0; j < n->n_in; j++) {
        const ag_tensor *x = n->in[j];
        tx[j] = tangent_of(r, x);
        if (!tx[j] && !(tx[j] = ag_zeros(t, (ag_dtype)x->dtype, x->ndim, x->shape))) return 0;
    }
    ag_tensor *ty = n->op->jvp(t, n, tx);
    if (!check_tangent(t, n, i, ty)) return 0;
    r->tan[i - r->start] = ty;
    return 1;
}

/* One forward walk from seeds (one per wrap, NULL = zero), with grad mode
   create_graph. 1 if fine. */
static int walk(ag_tape *t, rec *r, ag_tensor *const *seeds, int create_graph)
{
    memset(r->tan, 0, (size_t)(r->end - r->start) * sizeof *r->tan);
    for (int k = 0; k < r->n_in; k++) r->tan[r->wraps[k]->node - r->start] = seeds[k];
    int old = t->grad_enabled;
    t->grad_enabled = create_graph != 0;
    for (int32_t i = r->start; i < r->end && t->status == AG_OK; i++)
        run_rule(t, r, i);      /* a wrap's input has no tangent: its seed stays */
    t->grad_enabled = (uint8_t)old;
    return t->status == AG_OK;
}

/* Checks ag_jvp's tangents against the inputs; 1 if fine. */
static int check_tangents(ag_tape *t, int n, ag_tensor *const *inputs,
                          ag_tensor *const *tangents)
{
    char b1[96], b2[96];
    for (int k = 0; tangents && k < n; k++) {
        const ag_tensor *v = tangents[k], *x = inputs[k];
        if (!v) continue;
        if (!agi_check(t, "ag_jvp", "a tangent", v) || !agi_check(t, "ag_jvp", "an input", x))
            return 0;
        if (!agi_same_shape(v, x))
            return agi_fail(t, AG_ERR_SHAPE, "ag_jvp: tangent %d is %s, input %d is %s", k,
                            agi_shape_str(v, b1), k, agi_shape_str(x, b2)), 0;
        if (v->dtype != x->dtype)
            return agi_fail(t, AG_ERR_DTYPE, "ag_jvp: tangent %d is %s, input %d is %s "
                            "(use ag_cast)", k, agi_dtype_name(v->dtype), k,
                            agi_dtype_name(x->dtype)), 0;
    }
    return 1;
}

ag_status ag_jvp(ag_tape *t, ag_fn fn, void *ctx, int n_inputs,
                 ag_tensor *const *inputs, ag_tensor *const *tangents,
                 ag_tensor **output, ag_tensor **output_tangent, int create_graph)
{
    if (!t) return agi_no_tape("ag_jvp");
    if (output) *output = NULL;
    if (output_tangent) *output_tangent = NULL;
    if (t->status != AG_OK) return t->status;
    if (!output || !output_tangent)
        return agi_fail(t, AG_ERR_ARG, "ag_jvp: output or output_tangent is NULL"), AG_ERR_ARG;
    if (inputs && n_inputs > 0 && !check_tangents(t, n_inputs, inputs, tangents))
        return t->status;
    rec r = {"ag_jvp", n_inputs, NULL, 0, 0, NULL};
    ag_tensor *y;
    if (!record(t, &r, fn, ctx, inputs, &y) || !close_record(t, &r)) return t->status;
    ag_tensor **seeds = agi_alloc(t, (size_t)n_inputs * sizeof *seeds);
    if (!seeds) return t->status;
    for (int k = 0; k < n_inputs; k++) seeds[k] = tangents ? tangents[k] : NULL;
    if (!walk(t, &r, seeds, create_graph)) return t->status;
    ag_tensor *ty = tangent_of(&r, y);
    if (!ty && !(ty = ag_zeros(t, (ag_dtype)y->dtype, y->ndim, y->shape))) return t->status;
    *output = y;
    *output_tangent = ty;
    return AG_OK;
}

/* ------------------------------------------------------------ Jacobians --- */

/* Makes the dense block d y / d x: shape y.shape ++ x.shape, zeros. */
static ag_tensor *new_block(ag_tape *t, const char *who, const ag_tensor *y, const ag_tensor *x)
{
    char b1[96], b2[96];
    int64_t shape[AG_MAX_DIMS];
    if (y->ndim + x->ndim > AG_MAX_DIMS)
        return agi_fail(t, AG_ERR_SHAPE, "%s: a Jacobian block of a %s output and a %s input "
                        "has more than %d dims", who, agi_shape_str(y, b1),
                        agi_shape_str(x, b2), AG_MAX_DIMS);
    memcpy(shape, y->shape, (size_t)y->ndim * sizeof *shape);
    memcpy(shape + y->ndim, x->shape, (size_t)x->ndim * sizeof *shape);
    return ag_zeros(t, (ag_dtype)y->dtype, y->ndim + x->ndim, shape);
}

/* block[e * stride + off + j * step] = v[j] for j < v->numel. */
static void put(ag_tensor *block, int64_t off, int64_t step, const ag_tensor *v)
{
    for (int64_t j = 0; j < v->numel; j++) {
        double e = v->dtype == AG_F64 ? AGI_F64(v)[j] : AGI_F32(v)[j];
        if (block->dtype == AG_F64)
            AGI_F64(block)[off + j * step] = e;
        else
            AGI_F32(block)[off + j * step] = (float)e;
    }
}

/* The Jacobian's context: outputs ys[n_out] of a record r. */
typedef struct jacobian {
    rec *r;
    int n_out;
    ag_tensor **ys;
    ag_tensor *const *inputs;
    ag_tensor **blocks;             /* [o * n_in + k] */
} jacobian;

/* Reverse mode: one ag_grad per output element, a row of each block. */
static int jac_reverse(ag_tape *t, jacobian *J)
{
    const int n_in = J->r->n_in;
    ag_tensor **g = agi_alloc(t, (size_t)n_in * sizeof *g);
    if (!g) return 0;
    for (int o = 0; o < J->n_out; o++) {
        ag_tensor *y = J->ys[o];
        if (!y->requires_grad) continue;                 /* a constant: zeros */
        ag_tensor *seed = ag_zeros(t, (ag_dtype)y->dtype, y->ndim, y->shape);
        if (!seed) return 0;
        for (int64_t e = 0; e < y->numel; e++) {         /* seed: one-hot at e */
            ag_tensor_set(seed, e, 1.0);
            if (ag_grad(t, 1, &y, &seed, n_in, J->r->wraps, g, 0) != AG_OK) return 0;
            for (int k = 0; k < n_in; k++) put(J->blocks[o * n_in + k], e * g[k]->numel, 1, g[k]);
            ag_tensor_set(seed, e, 0.0);                 /* the row is copied: reuse it */
        }
    }
    return 1;
}

/* Forward mode: one walk per input element, a column of each block. */
static int jac_forward(ag_tape *t, jacobian *J)
{
    const int n_in = J->r->n_in;
    ag_tensor **seeds = agi_alloc(t, (size_t)n_in * sizeof *seeds);
    if (!seeds) return 0;
    for (int k = 0; k < n_in; k++) seeds[k] = NULL;
    for (int k = 0; k < n_in; k++) {
        const ag_tensor *x = J->inputs[k];
        if (!(seeds[k] = ag_zeros(t, (ag_dtype)x->dtype, x->ndim, x->shape))) return 0;
        for (int64_t j = 0; j < x->numel; j++) {          /* seed: one-hot at j */
            ag_tensor_set(seeds[k], j, 1.0);
            if (!walk(t, J->r, seeds, 0)) return 0;
            for (int o = 0; o < J->n_out; o++) {
                const ag_tensor *ty = tangent_of(J->r, J->ys[o]);
                if (ty) put(J->blocks[o * n_in + k], j, x->numel, ty);
            }
            ag_tensor_set(seeds[k], j, 0.0);              /* the column is copied */
        }
        seeds[k] = NULL;
    }
    return 1;
}

/* Fills blocks (n_out * n_in, NULL on failure) for the outputs of r. */
static ag_status jac_run(ag_tape *t, jacobian *J, ag_jac_mode mode)
{
    const int n_in = J->r->n_in;
    int64_t rows = 0, cols = 0;
    if (mode != AG_JAC_AUTO && mode != AG_JAC_REVERSE && mode != AG_JAC_FORWARD)
        return agi_fail(t, AG_ERR_ARG, "%s: mode %d is not AG_JAC_AUTO, AG_JAC_REVERSE or "
                        "AG_JAC_FORWARD", J->r->who, (int)mode), AG_ERR_ARG;
    for (int o = 0; o < J->n_out; o++) {
        rows += J->ys[o]->numel;
        for (int k = 0; k < n_in; k++)
            if (!(J->blocks[o * n_in + k] = new_block(t, J->r->who, J->ys[o], J->inputs[k])))
                return t->status;
    }
    for (int k = 0; k < n_in; k++) cols += J->inputs[k]->numel;
    if (mode == AG_JAC_AUTO) mode = rows > cols ? AG_JAC_FORWARD : AG_JAC_REVERSE;
    int ok = mode == AG_JAC_FORWARD ? jac_forward(t, J) : jac_reverse(t, J);
    return ok ? AG_OK : t->status;
}

/* Clears n result pointers (when given) and checks the common arguments. */
static ag_status jac_begin(ag_tape *t, const char *who, int n_inputs, ag_tensor **out, int n)
{
    if (!t) return agi_no_tape(who);
    if (!out) return agi_fail(t, AG_ERR_ARG, "%s: the result array is NULL", who), AG_ERR_ARG;
    for (int i = 0; i < n; i++) out[i] = NULL;
    if (t->status != AG_OK) return t->status;
    if (n_inputs < 1)
        return agi_fail(t, AG_ERR_ARG, "%s: n_inputs must be at least 1", who), AG_ERR_ARG;
    return AG_OK;
}

/* Sets the n results to NULL after a failure; returns t's status. */
static ag_status jac_fail(ag_tape *t, ag_tensor **out, int n)
{
    for (int i = 0; i < n; i++) out[i] = NULL;
    return t->status;
}

ag_status ag_jacobian(ag_tape *t, ag_fn fn, void *ctx, int n_inputs,
                      ag_tensor *const *inputs, ag_jac_mode mode, ag_tensor **jac)
{
    ag_status s = jac_begin(t, "ag_jacobian", n_inputs, jac, n_inputs > 0 ? n_inputs : 0);
    if (s != AG_OK) return s;
    rec r = {"ag_jacobian", n_inputs, NULL, 0, 0, NULL};
    ag_tensor *y;
    if (!record(t, &r, fn, ctx, inputs, &y) || !close_record(t, &r))
        return jac_fail(t, jac, n_inputs);
    jacobian J = {&r, 1, &y, inputs, jac};
    if (jac_run(t, &J, mode) != AG_OK) return jac_fail(t, jac, n_inputs);
    return AG_OK;
}

ag_status ag_hessian(ag_tape *t, ag_fn fn, void *ctx, int n_inputs,
                     ag_tensor *const *inputs, ag_jac_mode mode, ag_tensor **hess)
{
    const int nn = n_inputs > 0 && n_inputs <= 4096 ? n_inputs * n_inputs : 0;
    ag_status s = jac_begin(t, "ag_hessian", n_inputs, hess, nn);
    if (s != AG_OK) return s;
    if (!nn) return agi_fail(t, AG_ERR_ARG, "ag_hessian: n_inputs %d is more than 4096",
                             n_inputs), AG_ERR_ARG;
    rec r = {"ag_hessian", n_inputs, NULL, 0, 0, NULL};
    ag_tensor *y, **g;
    if (!record(t, &r, fn, ctx, inputs, &y)) return jac_fail(t, hess, nn);
    if (y->numel != 1) {
        char b[96];
        agi_fail(t, AG_ERR_SHAPE, "ag_hessian: the function's result is %s, not one element",
                 agi_shape_str(y, b));
        return jac_fail(t, hess, nn);
    }
    if (!(g = agi_alloc(t, (size_t)n_inputs * sizeof *g))) return jac_fail(t, hess, nn);
    if (!y->requires_grad) {                     /* a constant function: H = 0 */
        for (int k = 0; k < n_inputs; k++)
            if (!(g[k] = ag_zeros(t, (ag_dtype)y->dtype, inputs[k]->ndim, inputs[k]->shape)))
                return jac_fail(t, hess, nn);
    } else if (ag_grad(t, 1, &y, NULL, n_inputs, r.wraps, g, 1) != AG_OK) {
        return jac_fail(t, hess, nn);
    }
    if (!close_record(t, &r)) return jac_fail(t, hess, nn);
    jacobian J = {&r, n_inputs, g, inputs, hess};
    if (jac_run(t, &J, mode == AG_JAC_AUTO ? AG_JAC_FORWARD : mode) != AG_OK)
        return jac_fail(t, hess, nn);
    return AG_OK;
}
