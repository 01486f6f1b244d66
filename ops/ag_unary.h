/*
** ag_unary.h: elementwise unary ops, activations, and cast between f32
** and f64.
**
** Each op returns a new tape tensor of x's shape and dtype (cast: of dtype
** dt), computed in x's precision (float math for f32). x may be persistent
** or belong to t. On error the result is NULL and t holds the status and a
** message naming the function: a NULL x is AG_ERR_ARG ("ag_sqrt: x is
** NULL"), a tensor of another tape or from before a reset AG_ERR_STATE, and
** any op on a tape already in error returns NULL and keeps the first
** message. Unary ops do not broadcast.
**
** Every op but sign is differentiable to any order (its backward rule is
** written with ops). Out of a function's domain the result is IEEE's (log
** of a negative is NaN, 1/0 is Inf), as in PyTorch; anomaly mode reports
** the op that made it. NaN inputs give NaN (sign included).
**
** Derivatives at kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0,
** leaky_relu'(0) = slope, elu'(0) = alpha (and elu''(0) = 0), clamp passes
** the gradient at its bounds (lo <= x <= hi) and hardtanh does not.
**
** The transcendental functions (exp, expm1, log, log1p, pow_scalar, sin,
** cos, tanh, erf, sigmoid, softplus, elu, gelu, silu, log_sigmoid) are
** computed by the vector math of ag_vmath.h, within the error bounds in
** ulps listed there (a few ulps at most; glibc's own are 1 or 2); the
** same bits for any thread count.
*/
#ifndef AG_UNARY_H
#define AG_UNARY_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

ag_tensor *ag_neg(ag_tape *t, ag_tensor *x);          /* -x */
ag_tensor *ag_exp(ag_tape *t, ag_tensor *x);          /* e^x */
ag_tensor *ag_expm1(ag_tape *t, ag_tensor *x);        /* e^x - 1, exact near 0 */
ag_tensor *ag_log(ag_tape *t, ag_tensor *x);          /* ln x (NaN below 0) */
ag_tensor *ag_log1p(ag_tape *t, ag_tensor *x);        /* ln(1 + x), exact near 0 */
ag_tensor *ag_sqrt(ag_tape *t, ag_tensor *x);         /* sqrt x (NaN below 0) */
ag_tensor *ag_abs(ag_tape *t, ag_tensor *x);          /* |x| */
ag_tensor *ag_square(ag_tape *t, ag_tensor *x);       /* x^2 */
ag_tensor *ag_reciprocal(ag_tape *t, ag_tensor *x);   /* 1/x */
/* x^p as C's pow (0^0 = 1; NaN for x < 0 and p not an integer). The
   gradient is p x^(p-1), and 0 everywhere for p == 0 (as PyTorch). */
ag_tensor *ag_pow_scalar(ag_tape *t, ag_tensor *x, double p);
ag_tensor *ag_sin(ag_tape *t, ag_tensor *x);
ag_tensor *ag_cos(ag_tape *t, ag_tensor *x);
ag_tensor *ag_tanh(ag_tape *t, ag_tensor *x);
ag_tensor *ag_erf(ag_tape *t, ag_tensor *x);          /* 2/sqrt(pi) int_0^x e^{-t^2} dt */

/* 1/(1+e^-x), never overflowing: exactly 0 and 1 far out (x = -+1000),
   and accurate relative to e^x far below 0. */
ag_tensor *ag_sigmoid(ag_tape *t, ag_tensor *x);
/* ln(1 + e^x) as max(x, 0) + log1p(e^-|x|): finite for every finite x and
   accurate far below 0 (PyTorch's default beta = 1; no threshold: large x
   gives x + ln(1 + e^-x), not a cut-off). */
ag_tensor *ag_softplus(ag_tape *t, ag_tensor *x);
ag_tensor *ag_relu(ag_tape *t, ag_tensor *x);         /* max(x, 0) */
/* x > 0 ? x : slope * x; any slope (negative too). */
ag_tensor *ag_leaky_relu(ag_tape *t, ag_tensor *x, double slope);
/* x > 0 ? x : alpha * (e^x - 1) (PyTorch's F.elu: scale 1). */
ag_tensor *ag_elu(ag_tape *t, ag_tensor *x, double alpha);
/* min(max(x, lo), hi). Either bound may be infinite for a one-sided
   clamp. lo > hi (where PyTorch returns hi everywhere) or a NaN bound is
   AG_ERR_ARG, with a message naming both bounds and x's shape. */
ag_tensor *ag_clamp(ag_tape *t, ag_tensor *x, double lo, double hi);

/* x Phi(x) = x/2 (1 + erf(x / sqrt 2)): PyTorch's F.gelu (approximate =
   'none'), by the same formula: below x = -8.4 (f64) or -5.7 (f32)
   1 + erf rounds to 0 and so does the result (-0; PyTorch's too). */
ag_tensor *ag_gelu(ag_tape *t, ag_tensor *x);
/* x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))): F.gelu(approximate =
   'tanh'), the derivative that of this formula. */
ag_tensor *ag_gelu_tanh(ag_tape *t, ag_tensor *x);
/* x sigmoid(x): SiLU, or Swish with beta 1 (F.silu). */
ag_tensor *ag_silu(ag_tape *t, ag_tensor *x);
/* ln sigmoid(x) = -softplus(-x): finite and accurate for every finite x
   (F.logsigmoid). */
ag_tensor *ag_log_sigmoid(ag_tape *t, ag_tensor *x);
/* x / (1 + |x|) (F.softsign). */
ag_tensor *ag_softsign(ag_tape *t, ag_tensor *x);
/* min(max(x, min_val), max_val), F.hardtanh: as ag_clamp, but the gradient
   is 0 at the bounds (x == min_val or max_val), as PyTorch's. min_val >
   max_val (where F.hardtanh returns max_val everywhere) or a NaN bound is
   AG_ERR_ARG with both values and x's shape in the message. */
ag_tensor *ag_hardtanh(ag_tape *t, ag_tensor *x, double min_val, double max_val);

/* sign(x) in {-1, 0, 1}: a constant to backward (records nothing, its
   result never requires grad). -0 gives 0; NaN gives NaN (as NumPy;
   PyTorch gives 0). */
ag_tensor *ag_sign(ag_tape *t, ag_tensor *x);
/* x converted to dtype dt; differentiable (the gradient is cast back to
   x's dtype). Casting to x's own dtype gives a copy (new storage) whose
   gradient passes through. f64 values beyond f32's range become Inf.
   A dt other than AG_F32 or AG_F64 is AG_ERR_DTYPE. */
ag_tensor *ag_cast(ag_tape *t, ag_tensor *x, ag_dtype dt);

#ifdef __cplusplus
}
#endif
#endif
