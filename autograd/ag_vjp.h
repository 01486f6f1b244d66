/*
** ag_vjp.h: function transforms for reverse mode: the vector-Jacobian
** product of a function and the Hessian-vector product of a scalar one
** (torch.autograd.functional.vjp / hvp, JAX's vjp and jvp(grad)).
**
** Both take the function as an ag_fn (ag_core.h) and its point, run it on
** the tape, and differentiate it with respect to each input separately:
** the inputs need not require grad (each is seen through a fresh node, so
** an input computed from another input still gets only its own partial
** derivative, as in JAX), and leaves' .grad buffers are not touched.
**
** A worked example, f(x) = sum(x^3) at x = (1, 2), v = (1, 0):
**
**     static ag_tensor *cube_sum(ag_tape *t, ag_tensor *const *in, void *ctx)
**     {
**         (void)ctx;
**         return ag_sum(t, ag_pow_scalar(t, in[0], 3), AG_ALL, 0);
**     }
**     ...
**     ag_tensor *y, *g, *hv;
**     ag_vjp(t, cube_sum, NULL, 1, &x, NULL, &y, &g, 0);     // g = 3x^2 = (3, 12)
**     ag_hvp(t, cube_sum, NULL, 1, &x, &v, &y, &hv, 0);      // hv = 6x*v = (6, 0)
**
** Cost: ag_vjp is one forward and one backward; ag_hvp is reverse over
** reverse (a backward recorded with create_graph, then a backward of it),
** about four times a gradient. Forward-over-reverse (ag_jvp of the
** gradient) gives the same numbers where forward mode is available.
*/
#ifndef AG_VJP_H
#define AG_VJP_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** Runs *output = fn(t, inputs, ctx) with grad mode on, then stores in
** grads[i] (a tensor of t of inputs[i]'s shape) v^T d output / d inputs[i]
** for each of the n_inputs inputs (1 or more, tensors of t or
** persistent). v has the output's shape and dtype; it may be NULL when the
** output has one element (then it is 1: grads is the gradient). With
** create_graph the products carry history and can be differentiated
** again. output may be NULL when the caller does not want it. Returns
** AG_OK, or the status with t's error set: AG_ERR_ARG for a NULL fn,
** input or grads, a bad n_inputs, or a NULL v for an output of more than
** one element; AG_ERR_SHAPE / AG_ERR_DTYPE when v does not match the
** output; fn's own error. AG_ERR_ARG with ag_last_error() when t is NULL.
*/
ag_status ag_vjp(ag_tape *t, ag_fn fn, void *ctx, int n_inputs, ag_tensor *const *inputs,
                 ag_tensor *v, ag_tensor **output, ag_tensor **grads, int create_graph);

/*
** The Hessian of a scalar function times a vector: runs *output = fn(t,
** inputs, ctx) (one element) and stores in hv[i] the sum over j of
** d^2 output / d inputs[i] d inputs[j] times v[j], a tensor of t of
** inputs[i]'s shape. v[j] has inputs[j]'s shape and dtype. With
** create_graph hv carries history (third derivatives). output may be NULL.
** Errors as ag_vjp's, and AG_ERR_SHAPE for an output of more than one
** element or a v[j] of another shape than inputs[j].
*/
ag_status ag_hvp(ag_tape *t, ag_fn fn, void *ctx, int n_inputs, ag_tensor *const *inputs,
                 ag_tensor *const *v, ag_tensor **output, ag_tensor **hv, int create_graph);

#ifdef __cplusplus
}
#endif
#endif /* AG_VJP_H */
