/*
** ag_plan.h: tape replay. A plan records a function's forward pass and its
** backward pass once, as the list of kernels they ran, and re-runs that
** list at new input values: no op is checked, allocated or recorded again
** (ADOL-C's zos_forward + fos_reverse on an existing tape; JAX's compiled
** function). For graphs whose shapes and control flow do not change: a
** scalar objective, a training step's forward and backward.
**
**     static ag_tensor *f(ag_tape *t, void *ctx)   // f(x) = x0 * x1 + x0
**     {
**         ag_tensor *const *x = ctx;
**         return ag_add(t, ag_mul(t, x[0], x[1]), x[0]);
**     }
**     ...
**     ag_tensor *x[2] = {x0, x1};                  // persistent, requires_grad
**     ag_plan *p = ag_plan_capture(f, x, 2, x);
**     if (!p) fprintf(stderr, "%s\n", ag_last_error());
**     ag_tensor_set(x0, 0, 3.0);                   // new input values
**     if (ag_plan_run(p) != AG_OK) fprintf(stderr, "%s\n", ag_plan_errmsg(p));
**     double y = ag_tensor_get(ag_plan_output(p), 0);
**     double g0 = ag_tensor_get(ag_plan_grad(p, 0), 0);
**     ag_plan_free(p);
**
** What a run sees. The inputs of a plan are the persistent tensors the
** function used (made with a NULL tape, parameters among them): a run reads
** their values as they are then, so writing new values into them (with
** ag_tensor_set or through ag_tensor_data) is how a run gets new inputs.
** Everything else the function did is frozen at capture: constants it made
** on the tape (ag_scalar(t, ...), ag_from_data(t, ...)), scalars it passed
** to ops (ag_mul_scalar's s), and every decision its C code took.
**
** What invalidates a plan, and what is refused:
**   - Data-dependent control flow: the function's C code branching on a
**     tensor's value. The plan replays the branch taken at capture. So that
**     this never goes unnoticed, reading a tensor's value while the function
**     runs (ag_tensor_get or ag_tensor_data, on any tensor) makes the
**     capture fail.
**   - Random numbers: drawing from an ag_rng while the function runs
**     (ag_rand_uniform, ag_dropout_mask, sampling) fails the capture, as a
**     replay would repeat the same draws. Draw them outside, into an input.
**   - Ops a plan cannot replay: every op family not listed below. The
**     capture fails with a message naming the op.
**   - A shape change: an input whose shape, dtype or data buffer differs
**     from capture makes ag_plan_run fail (AG_ERR_SHAPE or AG_ERR_STATE),
**     before any kernel runs. Capture a new plan for the new shapes.
**   - A persistent input freed while the plan lives: not detectable; the
**     plan must be freed first.
**
** Ops a plan replays today: the elementwise unary ops of ag_unary.h but
** ag_cast, the activations built on them (relu, tanh, sigmoid...), ag_add
** ag_sub ag_mul ag_div ag_pow ag_maximum ag_minimum with broadcasting and
** their _scalar forms, the comparisons, ag_sum and ag_mean, ag_expand and
** ag_sum_to, ag_matmul ag_matmul_nt ag_matmul_tn (batched and broadcast)
** and ag_linear, ag_softmax and ag_log_softmax, ag_gather and
** ag_scatter_add, the zero-copy reshapes (ag_reshape, ag_flatten,
** ag_squeeze, ag_unsqueeze), ag_detach, and the engine's own gradient
** accumulation: so the losses built on them (cross-entropy, nll, mse...)
** and a Linear/activation MLP's training step (forward and backward;
** run the optimizer after ag_plan_run, on the .grad it filled). Backward
** rules replay when the ops they use do. Index arrays (ag_gather's index,
** ag_cross_entropy_loss's targets) are frozen at capture like scalars: to
** feed new labels at each run, pass them as a tensor input, e.g. one-hot
** rows to ag_cross_entropy_soft_loss. Other ops (ag_max/ag_min, whose
** gradient depends on which element won; conv, pooling, norms, slices,
** concatenation and the rest) are refused with a message naming the op.
**
** Scalar code. A plan whose every op works on one-element tensors of one
** dtype (an objective written in scalar ops, and its backward pass) runs
** as a flat program over an array of values instead of its kernels: add,
** sub, mul, div, neg, square, reciprocal and the _scalar forms, exp,
** expm1, log, log1p, tanh, sigmoid, erf, sin, cos, sqrt, abs and
** pow_scalar are instructions of their own (about a ns each for the
** arithmetic); any other replayable op runs its kernel as a step of the
** program. An arithmetic op on constants is computed once at capture, an
** op repeated on the same values (the two halves of x*x's gradient) once
** per run, and work whose result nobody reads is dropped: the outputs and
** gradients are still those of the same operations in the same type and
** order, the same bits as a fresh recording.
**
** Gradients. With n_wrt > 0 a plan computes the gradients of the output
** with respect to wrt[] (ag_grad without create_graph), read with
** ag_plan_grad. With n_wrt == 0 it runs ag_backward: each leaf's .grad
** accumulates as ag_backward's does (ag_clear_grad between runs as usual).
** Values and gradients of a run are bit-identical to a fresh recording at
** the same inputs: the same kernels run in the same order.
*/
#ifndef AG_PLAN_H
#define AG_PLAN_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_plan ag_plan;

/* The function a plan captures: records ops on t (the plan's own tape) and
   returns its output, a tensor of one element (a loss); NULL on failure (the tape
   holds the error). ctx is the caller's. */
typedef ag_tensor *(*ag_plan_fn)(ag_tape *t, void *ctx);

/*
** Runs fn once on a new tape, then the backward pass of its output (see
** Gradients above), and keeps the kernels both ran as a plan. Returns the
** plan (free with ag_plan_free), its output and gradients already computed
** at the current input values; or NULL with the reason in ag_last_error():
** fn is NULL, n_wrt < 0 or wrt NULL with n_wrt > 0, fn failed (its tape's
** message), the output is not one element or needs no grad, fn read a
** tensor's value, or an op cannot be replayed (named).
*/
ag_plan *ag_plan_capture(ag_plan_fn fn, void *ctx, int n_wrt, ag_tensor *const *wrt);

/*
** Re-runs the plan's forward and backward kernels with the inputs' current
** values. AG_OK, or an error (message in ag_plan_errmsg) when an input's
** shape, dtype or buffer changed since capture: nothing runs then. A NULL
** plan is AG_ERR_ARG (message in ag_last_error()).
*/
ag_status ag_plan_run(ag_plan *p);

/* The output of the last run (or of the capture); owned by the plan, valid
   until ag_plan_free. NULL for a NULL plan. */
const ag_tensor *ag_plan_output(const ag_plan *p);

/* The gradient of the output with respect to wrt[k] after the last run;
   owned by the plan. NULL when p is NULL, k is out of range or the plan
   was captured with n_wrt == 0 (read the leaves' .grad then). */
const ag_tensor *ag_plan_grad(const ag_plan *p, int k);

/* The number of kernels a run executes (forward, backward, accumulation);
   0 for NULL. */
size_t ag_plan_size(const ag_plan *p);

/* The message of the last failed run, "" if none. */
const char *ag_plan_errmsg(const ag_plan *p);

/* Frees the plan and its tape; NULL is a no-op. */
void ag_plan_free(ag_plan *p);

#ifdef __cplusplus
}
#endif

#endif /* AG_PLAN_H */
