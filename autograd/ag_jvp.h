/*
** ag_jvp.h: forward mode, and dense Jacobians and Hessians.
**
** ag_jvp computes a Jacobian-vector product J v by propagating tangents
** forward through the ops fn records: each op has a forward-mode rule
** beside its backward rule, written with ops, so the tangent is itself a
** differentiable function of the inputs and the tangents. This is not
** finite differences and not the double-backward trick: one run of fn and
** one forward walk of its ops (PyTorch's torch.func.jvp, JAX's jax.jvp).
**
** Worked example: f(x) = sin(x) * x, so f'(x) = cos(x) x + sin(x).
**
**     static ag_tensor *f(ag_tape *t, ag_tensor *const *in, void *ctx)
**     {
**         (void)ctx;
**         return ag_mul(t, ag_sin(t, in[0]), in[0]);
**     }
**     ...
**     ag_tensor *x = ag_from_f64(t, AG_F64, 1, (int64_t[]){2}, (double[]){0.5, 2});
**     ag_tensor *v = ag_from_f64(t, AG_F64, 1, (int64_t[]){2}, (double[]){1, 0});
**     ag_tensor *y, *ty;
**     ag_jvp(t, f, NULL, 1, &x, &v, &y, &ty, 0);
**     // y = [sin(.5)*.5, sin(2)*2]; ty = [cos(.5)*.5 + sin(.5), 0]
**
**     ag_tensor *J;
**     ag_jacobian(t, f, NULL, 1, &x, AG_JAC_AUTO, &J);  // [2,2], diagonal
**
** A Hessian-vector product of s(x) = sum(f(x)) by forward-over-reverse
** (the JVP of the gradient, recorded with create_graph):
**
**     static ag_tensor *s(ag_tape *t, ag_tensor *const *in, void *ctx)
**     {
**         return ag_sum(t, f(t, in, ctx), AG_ALL, 0);
**     }
**     static ag_tensor *grad_s(ag_tape *t, ag_tensor *const *in, void *ctx)
**     {
**         ag_tensor *y = s(t, in, ctx), *g;
**         return ag_grad(t, 1, &y, NULL, 1, in, &g, 1) == AG_OK ? g : NULL;
**     }
**     ...
**     ag_tensor *g, *hv, *H;
**     ag_jvp(t, grad_s, NULL, 1, &x, &v, &g, &hv, 0);      // hv = H v
**     ag_hessian(t, s, NULL, 1, &x, AG_JAC_FORWARD, &H);   // H [2,2]
**     // H = diag(2 cos x - x sin x), hv = [2 cos(.5) - .5 sin(.5), 0]
**
** Forward or reverse: a Jacobian of an output of m elements in n input
** elements costs n forward walks (forward mode) or m backward walks
** (reverse mode): forward mode wins for tall Jacobians (m > n), reverse
** mode for wide ones (m < n, a gradient is m = 1). AG_JAC_AUTO picks by
** that rule. A Hessian-vector product is a JVP of a gradient
** (forward-over-reverse): run ag_jvp on a function that returns
** ag_grad(..., create_graph = 1) of the loss.
**
** Every op of the engine has a forward-mode rule; so does ag_recompute
** (it runs its segment again with tangents) and a custom op that gives
** one (ag_custom_op.jvp; ag_jvp through a custom op without one is an
** AG_ERR_STATE error naming it). What forward mode sees
** is what fn records: an op run with grad mode off inside fn (ag_no_grad,
** ag_detach, ag_grad without create_graph) is a constant to it, exactly
** as to backward.
*/
#ifndef AG_JVP_H
#define AG_JVP_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** Runs y = fn(t, inputs, ctx) and returns in *output y and in
** *output_tangent its tangent J v = sum over i of (d y / d inputs[i])
** tangents[i], a tape tensor of y's shape and dtype.
**
** inputs: n_inputs >= 1 tensors (persistent or of t); fn receives tape
** tensors sharing their data, of the same shape and dtype, through which
** the graph still reaches inputs that require grad (so y and the tangent
** can be differentiated with respect to them). tangents[i] must have
** inputs[i]'s shape and dtype; a NULL entry is a zero tangent.
** create_graph: 1 records the tangent computation on the tape, so
** *output_tangent can be differentiated again (with respect to the inputs
** or the tangents: reverse-over-forward); 0 keeps it off the tape (faster,
** less memory). fn itself always runs with grad mode on (forward mode
** follows what it records), and grad mode is restored after.
**
** Errors (returned and recorded on t; *output and *output_tangent are NULL):
** AG_ERR_ARG for a NULL tape (ag_last_error), fn, inputs, output pointers,
** n_inputs < 1, or fn returning NULL without an error; AG_ERR_SHAPE /
** AG_ERR_DTYPE for a tangent unlike its input; AG_ERR_STATE when fn ran
** an op with no forward-mode rule ("ag_jvp: op X has no forward-mode
** rule"); any error fn or a rule raised.
*/
ag_status ag_jvp(ag_tape *t, ag_fn fn, void *ctx, int n_inputs,
                 ag_tensor *const *inputs, ag_tensor *const *tangents,
                 ag_tensor **output, ag_tensor **output_tangent, int create_graph);

typedef enum ag_jac_mode {
    AG_JAC_AUTO = 0,      /* forward when the output has more elements than the inputs */
    AG_JAC_REVERSE = 1,   /* one backward walk per output element */
    AG_JAC_FORWARD = 2    /* one forward (JVP) walk per input element */
} ag_jac_mode;

/*
** The Jacobian of y = fn(inputs) as dense tensors: jac[i] (an array of
** n_inputs) is d y / d inputs[i], a tape tensor of shape y.shape followed
** by inputs[i].shape (torch.autograd.functional.jacobian's layout; a
** 0-d y gives the input's shape), of y's dtype, not on the graph
** (a constant). fn runs once, with grad mode on; mode picks forward or
** reverse mode (AG_JAC_AUTO: forward when y has more elements than all
** inputs together). Both modes give the same values (to rounding).
** The Jacobian must have at most AG_MAX_DIMS dims (AG_ERR_SHAPE) and
** AG_NUMEL_MAX elements. Other errors as ag_jvp; jac[i] are NULL then.
*/
ag_status ag_jacobian(ag_tape *t, ag_fn fn, void *ctx, int n_inputs,
                      ag_tensor *const *inputs, ag_jac_mode mode, ag_tensor **jac);

/*
** The Hessian of a one-element y = fn(inputs): hess (an array of
** n_inputs * n_inputs) gets at [i * n_inputs + j] the block
** d^2 y / d inputs[i] d inputs[j], of shape inputs[i].shape followed by
** inputs[j].shape, of y's dtype, a constant. The gradient is built once
** with ag_grad(create_graph = 1); then mode AG_JAC_FORWARD (and
** AG_JAC_AUTO) differentiates it in forward mode, one JVP walk per input
** element (forward-over-reverse), AG_JAC_REVERSE in reverse mode, one
** backward walk per input element (reverse-over-reverse). A y of more
** than one element is AG_ERR_SHAPE. Other errors as ag_jacobian.
*/
ag_status ag_hessian(ag_tape *t, ag_fn fn, void *ctx, int n_inputs,
                     ag_tensor *const *inputs, ag_jac_mode mode, ag_tensor **hess);

#ifdef __cplusplus
}
#endif
#endif /* AG_JVP_H */
