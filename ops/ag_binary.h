/*
** ag_binary.h: elementwise binary ops with NumPy broadcasting, their scalar
** forms, comparisons (masks, no gradient) and where; the compound ops
** addcmul, addcdiv and lerp, with their out= forms.
**
** Every op takes the tape first and returns a tape tensor, or NULL with the
** error on the tape (NULL input, mixed dtypes, shapes that do not
** broadcast: the message names the function and both shapes).
*/
#ifndef AG_BINARY_H
#define AG_BINARY_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

ag_tensor *ag_add(ag_tape *t, ag_tensor *a, ag_tensor *b);      /* a + b */
ag_tensor *ag_sub(ag_tape *t, ag_tensor *a, ag_tensor *b);      /* a - b */
ag_tensor *ag_mul(ag_tape *t, ag_tensor *a, ag_tensor *b);      /* a * b */
ag_tensor *ag_div(ag_tape *t, ag_tensor *a, ag_tensor *b);      /* a / b */
/* a^b. d/db uses log(a): taken as 0 where a == 0, as PyTorch does. */
ag_tensor *ag_pow(ag_tape *t, ag_tensor *a, ag_tensor *b);
/* Elementwise max/min. On ties the gradient is split half and half
   between a and b, as PyTorch's maximum/minimum. */
ag_tensor *ag_maximum(ag_tape *t, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_minimum(ag_tape *t, ag_tensor *a, ag_tensor *b);

ag_tensor *ag_add_scalar(ag_tape *t, ag_tensor *x, double s);   /* x + s */
ag_tensor *ag_sub_scalar(ag_tape *t, ag_tensor *x, double s);   /* x - s */
ag_tensor *ag_rsub_scalar(ag_tape *t, ag_tensor *x, double s);  /* s - x */
ag_tensor *ag_mul_scalar(ag_tape *t, ag_tensor *x, double s);   /* x * s */
ag_tensor *ag_div_scalar(ag_tape *t, ag_tensor *x, double s);   /* x / s */
ag_tensor *ag_rdiv_scalar(ag_tape *t, ag_tensor *x, double s);  /* s / x */

/* Comparisons: 1 where true, 0 where false, in the inputs' dtype. They
   record nothing: a mask is a constant to backward. */
ag_tensor *ag_gt(ag_tape *t, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_ge(ag_tape *t, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_lt(ag_tape *t, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_le(ag_tape *t, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_eq(ag_tape *t, ag_tensor *a, ag_tensor *b);
ag_tensor *ag_gt_scalar(ag_tape *t, ag_tensor *x, double s);
ag_tensor *ag_ge_scalar(ag_tape *t, ag_tensor *x, double s);
ag_tensor *ag_lt_scalar(ag_tape *t, ag_tensor *x, double s);
ag_tensor *ag_le_scalar(ag_tape *t, ag_tensor *x, double s);
ag_tensor *ag_eq_scalar(ag_tape *t, ag_tensor *x, double s);

/* mask != 0 ? a : b, the three broadcast together; differentiable in a
   and b (the mask gets a zero gradient). All three share one dtype. */
ag_tensor *ag_where(ag_tape *t, ag_tensor *mask, ag_tensor *a, ag_tensor *b);

/*
** Compound ops (PyTorch's torch.addcmul, torch.addcdiv, torch.lerp): one
** pass over memory where the composition of binary ops takes three. The
** tensors broadcast together and share one dtype (the messages name x, a
** and b, or a and b); the scalar is converted to it (float math for f32).
** Differentiable in every tensor, to any order.
*/
/* x + value * a * b, evaluated as x + (value * a) * b, as PyTorch. */
ag_tensor *ag_addcmul(ag_tape *t, ag_tensor *x, ag_tensor *a, ag_tensor *b, double value);
/* x + value * a / b, evaluated as x + (value * a) / b, as PyTorch. */
ag_tensor *ag_addcdiv(ag_tape *t, ag_tensor *x, ag_tensor *a, ag_tensor *b, double value);
/*
** a + weight * (b - a), with PyTorch's two forms: for |weight| >= 0.5 it
** is b - (b - a) * (1 - weight), so weight 1 gives b exactly. The gradient
** is (1 - weight) dy for a, weight dy for b. PyTorch also takes a tensor
** weight; here it is a scalar.
*/
ag_tensor *ag_lerp(ag_tape *t, ag_tensor *a, ag_tensor *b, double weight);

/*
** The out= forms (PyTorch's out= argument): the same values written into
** out, which must have the inputs' dtype and exactly their broadcast
** shape, and may be one of the inputs (an update in place, e.g.
** ag_lerp_out(t, m, m, g, 0.1) for m.lerp_(g, 0.1)); each element is read
** before it is written; out may not overlap an input otherwise (a view of
** it at another offset or size, see ag_shape.h: AG_ERR_ARG). out is
** persistent or a tensor of tape t. Nothing
** is recorded (as PyTorch, out= has no gradient), so with grad mode on an
** input or out that requires grad is an error (AG_ERR_ARG): call them
** with grad mode off, as an optimizer does. Like ag_assign, the write is
** seen by any node that saved out. Return out, or NULL with the error on
** t (out NULL or of the wrong shape or dtype, and the errors above).
*/
ag_tensor *ag_addcmul_out(ag_tape *t, ag_tensor *out, ag_tensor *x, ag_tensor *a, ag_tensor *b,
                          double value);
ag_tensor *ag_addcdiv_out(ag_tape *t, ag_tensor *out, ag_tensor *x, ag_tensor *a, ag_tensor *b,
                          double value);
ag_tensor *ag_lerp_out(ag_tape *t, ag_tensor *out, ag_tensor *a, ag_tensor *b, double weight);

#ifdef __cplusplus
}
#endif
#endif
