/*
** vjp.c: ag_vjp and ag_hvp (ag_vjp.h), function transforms built on
** ag_grad. Each input is seen through a fresh tensor (an identity node
** when it has history, else a leaf view requiring grad), so the products
** are partial derivatives by argument and the caller's tensors and their
** .grad are left alone. The Hessian-vector product is reverse over
** reverse: the gradient with create_graph, then ag_grad of the gradients
** with v as their grad_outputs, which is sum_j H_ij v_j with no op needed.
*/
#include "ag_internal.h"
#include "ag_vjp.h"

#include <stdio.h>

/* y = x (a view); dx = dy */
static void input_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                           const uint8_t *need)
{
    (void)t, (void)n;
    if (need[0]) gx[0] = gy;
}

static const agi_op op_input = {"ag_vjp (input)", input_backward, agi_jvp_identity};

/* x through a fresh differentiable tensor (grad mode on); NULL + error. */
static ag_tensor *fresh(ag_tape *t, const char *name, ag_tensor *x)
{
    ag_tensor *y = agi_view(t, name, x, x->ndim, x->shape);
    if (!y) return NULL;
    if (x->requires_grad)
        agi_record(t, &op_input, y, 1, &x);
    else
        y->requires_grad = 1;
    return agi_done(t, &op_input, y);
}

/* Checks the arguments, makes the fresh inputs xs and runs fn on them
   with grad mode on. Returns fn's result, or NULL (t's error set). */
static ag_tensor *run_fn(ag_tape *t, const char *name, ag_fn fn, void *ctx, int n,
                         ag_tensor *const *inputs, ag_tensor ***xs)
{
    if (!fn) return agi_fail(t, AG_ERR_ARG, "%s: fn is NULL", name);
    if (n < 1 || !inputs)
        return agi_fail(t, AG_ERR_ARG, "%s: %d inputs%s (1 or more)", name, n,
                        n >= 1 ? " but inputs is NULL" : "");
    for (int i = 0; i < n; i++) {
        char arg[32];
        snprintf(arg, sizeof arg, "input %d", i);
        if (!agi_check(t, name, arg, inputs[i])) return NULL;
    }
    t->fn = name;
    if (!(*xs = agi_alloc(t, (size_t)n * sizeof **xs))) return NULL;
    const uint8_t mode = t->grad_enabled;
    t->grad_enabled = 1;
    for (int i = 0; i < n && t->status == AG_OK; i++) (*xs)[i] = fresh(t, name, inputs[i]);
    ag_tensor *y = t->status == AG_OK ? fn(t, *xs, ctx) : NULL;
    t->grad_enabled = mode;
    if (t->status != AG_OK) return NULL;
    if (!y) return agi_fail(t, AG_ERR_STATE, "%s: fn returned NULL without an error", name);
    return agi_check(t, name, "fn's result", y) ? y : NULL;
}

/* Checks that v (named what) has want's shape and dtype; 1 if fine. */
static int check_like(ag_tape *t, const char *name, const char *what, const ag_tensor *v,
                      const char *wname, const ag_tensor *want)
{
    char b1[96], b2[96];
    if (!agi_check(t, name, what, v)) return 0;
    if (!agi_same_shape(v, want))
        return agi_fail(t, AG_ERR_SHAPE, "%s: %s is %s, %s is %s", name, what,
                        agi_shape_str(v, b1), wname, agi_shape_str(want, b2)), 0;
    if (v->dtype != want->dtype)
        return agi_fail(t, AG_ERR_DTYPE, "%s: %s is %s, %s is %s (use ag_cast)", name, what,
                        agi_dtype_name(v->dtype), wname, agi_dtype_name(want->dtype)), 0;
    return 1;
}

ag_status ag_vjp(ag_tape *t, ag_fn fn, void *ctx, int n_inputs, ag_tensor *const *inputs,
                 ag_tensor *v, ag_tensor **output, ag_tensor **grads, int create_graph)
{
    char b[96];
    ag_tensor **xs;
    if (!t) return agi_no_tape("ag_vjp");
    if (output) *output = NULL;
    if (t->status != AG_OK) return t->status;
    if (!grads) return agi_fail(t, AG_ERR_ARG, "ag_vjp: grads is NULL"), AG_ERR_ARG;
    ag_tensor *y = run_fn(t, "ag_vjp", fn, ctx, n_inputs, inputs, &xs);
    if (!y) return t->status;
    if (v && !check_like(t, "ag_vjp", "v", v, "the output", y)) return t->status;
    if (!v && y->numel != 1)
        return agi_fail(t, AG_ERR_ARG, "ag_vjp: v is NULL but the output is %s (more than "
                        "one element)", agi_shape_str(y, b)), AG_ERR_ARG;
    if (ag_grad(t, 1, &y, v ? &v : NULL, n_inputs, xs, grads, create_graph) != AG_OK)
        return t->status;
    if (output) *output = y;
    return AG_OK;
}

ag_status ag_hvp(ag_tape *t, ag_fn fn, void *ctx, int n_inputs, ag_tensor *const *inputs,
                 ag_tensor *const *v, ag_tensor **output, ag_tensor **hv, int create_graph)
{
    char b[96];
    ag_tensor **xs, **g;
    if (!t) return agi_no_tape("ag_hvp");
    if (output) *output = NULL;
    if (t->status != AG_OK) return t->status;
    if (!hv || !v)
        return agi_fail(t, AG_ERR_ARG, "ag_hvp: %s is NULL", hv ? "v" : "hv"), AG_ERR_ARG;
    ag_tensor *y = run_fn(t, "ag_hvp", fn, ctx, n_inputs, inputs, &xs);
    if (!y) return t->status;
    if (y->numel != 1)
        return agi_fail(t, AG_ERR_SHAPE, "ag_hvp: the output is %s, not one element",
                        agi_shape_str(y, b)), AG_ERR_SHAPE;
    for (int i = 0; i < n_inputs; i++) {
        char what[32], wname[32];
        snprintf(what, sizeof what, "v[%d]", i);
        snprintf(wname, sizeof wname, "input %d", i);
        if (!check_like(t, "ag_hvp", what, v[i], wname, inputs[i])) return t->status;
    }
    if (!(g = agi_alloc(t, (size_t)n_inputs * sizeof *g))) return t->status;
    if (ag_grad(t, 1, &y, NULL, n_inputs, xs, g, 1) != AG_OK ||
        ag_grad(t, n_inputs, g, v, n_inputs, xs, hv, create_graph) != AG_OK)
        return t->status;
    if (output) *output = y;
    return AG_OK;
}
