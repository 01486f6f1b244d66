/*
** ag_recompute.h: recomputation (activation checkpointing), memory for
** time: a segment of the forward pass keeps only its result on the tape,
** and its intermediates are computed again during backward (PyTorch's
** torch.utils.checkpoint, JAX's jax.checkpoint).
**
** A worked example: a deep MLP in segments of four layers. The tape then
** holds the activations at segment boundaries only; backward recomputes
** one segment at a time on a scratch tape beside t.
**
**     typedef struct { ag_module *layers[4]; } segment;   // its parameters
**     static ag_tensor *run_segment(ag_tape *t, ag_tensor *const *in, void *ctx)
**     {
**         segment *s = ctx;
**         ag_tensor *h = in[0];
**         for (int i = 0; i < 4; i++) h = ag_module_forward(s->layers[i], t, h);
**         return h;
**     }
**     ...
**     ag_tensor *h = x;
**     for (int k = 0; k < n_segments; k++)
**         h = ag_recompute(t, run_segment, &segs[k], 1, &h, 0, NULL);
**     ag_backward(t, ag_mse_loss(t, h, y, AG_REDUCTION_MEAN));  // .grad as without
**
** What the segment may use. fn(tape, inputs, ctx) must build its result
** with ops on the tape it is given (not t: the first run and each
** recomputation happen on a scratch tape), from its inputs and from
** persistent tensors (parameters, data) it reaches through ctx. Tensors of
** t other than the inputs cannot be used there (an AG_ERR_STATE error
** naming the op). Parameters that require grad are found on the first run
** and get their gradients through the recorded op, in ag_backward (their
** .grad) and in ag_grad (as inputs) alike, without being passed as inputs.
**
** Determinism. fn runs twice (once forward, once in backward) and must
** compute the same thing both times. Generators it draws from (dropout)
** are listed in rngs: their states are saved before the first run, set
** back before the recomputation and restored after it, so the masks are
** the same and the generators' streams go on as if nothing had been
** recomputed. Don't let fn change state (a BatchNorm's running
** statistics would be updated twice; train such layers outside segments).
**
** Gradients are bit-identical to those of the same ops run without
** recomputation when each input of the segment is used by the segment
** alone and each parameter once in it (otherwise only the order of the
** sums can change, in the last bits).
**
** create_graph. When the backward is itself recorded (ag_grad with
** create_graph, ag_gradgradcheck, a Hessian-vector product), the segment
** is recomputed on t itself with its history, so gradients of gradients
** are right; that pass saves no memory.
**
** Forward mode. ag_jvp (and ag_jacobian's forward mode, ag_hessian's
** forward-over-reverse) goes through a segment: its forward-mode rule runs
** fn again on t itself under a nested ag_jvp, with the inputs' tangents
** and the generators set back as for the backward, so the tangent is the
** one the same ops give without recomputation (bit for bit). Parameters
** reached through ctx are constants to forward mode (a tangent is given
** to ag_jvp's inputs only, and the segment reads the parameter itself).
** That pass records the segment on t: forward mode through a segment
** saves no memory. With create_graph the tangent is differentiable again.
**
** Memory. The scratch tape is kept beside t and reused; ag_tape_reserved(t)
** counts it. A segment's own size is its peak: choose segments of about
** sqrt(depth) layers.
*/
#ifndef AG_RECOMPUTE_H
#define AG_RECOMPUTE_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AG_RECOMPUTE_MAX_INPUTS 32      /* explicit inputs of a segment */
#define AG_RECOMPUTE_MAX_PARAMS 256     /* parameters it may reach through ctx */
#define AG_RECOMPUTE_MAX_RNGS 8

/*
** Runs fn(tape, inputs, ctx) as one recorded op of t whose backward
** recomputes it. 0 <= n_inputs <= AG_RECOMPUTE_MAX_INPUTS (inputs may be
** NULL when 0), each a tensor of t or persistent; rngs[0..n_rngs) the
** generators fn draws from (n_rngs <= AG_RECOMPUTE_MAX_RNGS). fn, ctx and
** the generators must live until the tape is reset (the backward uses
** them). With grad mode off, fn simply runs on t. Returns fn's result as
** a tensor of t, or NULL with t's error set: AG_ERR_ARG for a NULL fn,
** input or generator or a count out of range; fn's own error, prefixed
** "ag_recompute: "; in the backward, AG_ERR_STATE when the recomputation
** gives a result of another shape or dtype. Sticky like every op.
*/
ag_tensor *ag_recompute(ag_tape *t, ag_fn fn, void *ctx, int n_inputs,
                        ag_tensor *const *inputs, int n_rngs, ag_rng *const *rngs);

#ifdef __cplusplus
}
#endif
#endif /* AG_RECOMPUTE_H */
