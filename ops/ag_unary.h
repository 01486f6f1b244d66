/*
** ag_unary.h: elementwise unary ops, and cast between f32 and f64.
** Each returns a tape tensor of x's shape, or NULL with the error on the
** tape. Derivatives at kinks follow PyTorch: relu'(0) = 0, abs'(0) = 0,
** clamp passes the gradient at its bounds (lo <= x <= hi).
*/
#ifndef AG_UNARY_H
#define AG_UNARY_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

ag_tensor *ag_neg(ag_tape *t, ag_tensor *x);          /* -x */
ag_tensor *ag_exp(ag_tape *t, ag_tensor *x);          /* e^x */
ag_tensor *ag_log(ag_tape *t, ag_tensor *x);          /* ln x (NaN below 0) */
ag_tensor *ag_sqrt(ag_tape *t, ag_tensor *x);
ag_tensor *ag_abs(ag_tape *t, ag_tensor *x);
ag_tensor *ag_square(ag_tape *t, ag_tensor *x);       /* x^2 */
ag_tensor *ag_reciprocal(ag_tape *t, ag_tensor *x);   /* 1/x */
ag_tensor *ag_pow_scalar(ag_tape *t, ag_tensor *x, double p);   /* x^p */
ag_tensor *ag_sin(ag_tape *t, ag_tensor *x);
ag_tensor *ag_cos(ag_tape *t, ag_tensor *x);
ag_tensor *ag_tanh(ag_tape *t, ag_tensor *x);
ag_tensor *ag_sigmoid(ag_tape *t, ag_tensor *x);      /* 1/(1+e^-x), stable */
ag_tensor *ag_relu(ag_tape *t, ag_tensor *x);         /* max(x, 0) */
ag_tensor *ag_leaky_relu(ag_tape *t, ag_tensor *x, double slope);
ag_tensor *ag_elu(ag_tape *t, ag_tensor *x, double alpha);
/* ln(1 + e^x), computed stably for every x (PyTorch's default beta = 1;
   no threshold: large x gives x + ln(1 + e^-x), not a cut-off). */
ag_tensor *ag_softplus(ag_tape *t, ag_tensor *x);
ag_tensor *ag_clamp(ag_tape *t, ag_tensor *x, double lo, double hi);
/* sign(x) in {-1, 0, 1}: a constant to backward (records nothing). */
ag_tensor *ag_sign(ag_tape *t, ag_tensor *x);
/* x converted to dtype dt; differentiable (the gradient is cast back). */
ag_tensor *ag_cast(ag_tape *t, ag_tensor *x, ag_dtype dt);

#ifdef __cplusplus
}
#endif
#endif
