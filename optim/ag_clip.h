/*
** ag_clip.h: what is done to gradients between backward and the optimizer
** step, and to weights after it: clipping by global norm and by value
** (PyTorch's torch.nn.utils.clip_grad_norm_ / clip_grad_value_), annealed
** gradient noise (Neelakantan et al. 2015), and the max-norm weight
** constraint (Keras' max_norm, torch.renorm).
**
**     ag_backward(t, loss);
**     double norm;                                    // before clipping
**     ag_clip_grad_norm(n, params, 1.0, 2.0, 0, &norm);
**     ag_optim_step(opt);
**     ag_max_norm_constraint(w, 3.0);
**
** All of them work with tensor ops (on a private tape each call makes and
** frees) and ag_assign into the grads or weights, in their dtype. A
** parameter whose grad is NULL (no backward has reached it) is skipped.
** Errors set ag_last_error() naming the function and the bad value, and
** change nothing.
*/
#ifndef AG_CLIP_H
#define AG_CLIP_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** Scales every grad by max_norm / (total + 1e-6) when that is below 1,
** where total is the norm of all grads together, as if concatenated into
** one vector: (sum |g|^p)^(1/p) for norm_type p > 0 (2.0 usually), or
** max |g| for norm_type INFINITY (PyTorch's clip_grad_norm_). *total_norm
** (may be NULL) gets total, before clipping; 0 when no parameter has a
** grad. The sum is computed in f64 without overflow or underflow: when
** the largest |g|^p is too large (times the element count) or too small
** for a double, every |g| is first scaled by a power of two, as LAPACK's
** nrm2 scales, so grads of 1e200 or 1e-200 give their true norm (to a few
** ulp); other magnitudes are summed unscaled.
**
** A non-finite total (a NaN or Inf grad), as PyTorch: with
** error_if_nonfinite 0 the grads are scaled all the same (by NaN for a
** NaN total, so every grad becomes NaN; by 0 for an Inf total, so Inf
** elements become NaN and the others 0) and AG_OK is returned with the
** total; with error_if_nonfinite 1 nothing changes and AG_ERR_ANOMALY is
** returned (*total_norm still gets the total) with ag_last_error()
** naming the order and the total.
**
** Errors (AG_ERR_ARG, nothing changed, *total_norm NaN): n < 1, params
** NULL or holding NULL, max_norm negative or NaN, norm_type <= 0 or NaN.
*/
ag_status ag_clip_grad_norm(int n, ag_tensor *const *params, double max_norm, double norm_type,
                            int error_if_nonfinite, double *total_norm);

/* Clamps every grad element to [-clip, clip]; clip >= 0 (not NaN). */
ag_status ag_clip_grad_value(int n, ag_tensor *const *params, double clip);

/*
** Annealed Gaussian gradient noise: adds N(0, sigma^2) to every grad
** element, sigma^2 = eta / (1 + step)^gamma, drawn from rng in row-major
** order, parameter by parameter (a fixed seed gives fixed noise). The
** paper uses eta in {0.01, 0.3, 1.0}, gamma = 0.55, step = the training
** step (0-based). Checks: rng not NULL, eta and gamma finite and >= 0,
** step >= 0.
*/
ag_status ag_grad_noise_add(int n, ag_tensor *const *params, ag_rng *rng, double eta,
                            double gamma, int64_t step);

/*
** Max-norm constraint, applied after an optimizer step: every row of
** weight (each output unit's incoming weights: the slice weight[i, ...] of
** a [out, in] or [out, in, k...] tensor) whose L2 norm exceeds max_norm is
** scaled by max_norm / (norm + 1e-7), as torch.renorm(w, 2, 0, max_norm);
** other rows are untouched. Checks: weight not NULL, at least 2-D;
** max_norm finite and >= 0.
*/
ag_status ag_max_norm_constraint(ag_tensor *weight, double max_norm);

#ifdef __cplusplus
}
#endif
#endif /* AG_CLIP_H */
