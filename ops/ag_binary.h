/*
** ag_binary.h: elementwise binary ops with NumPy broadcasting, their scalar
** forms, comparisons (masks, no gradient) and where.
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

#ifdef __cplusplus
}
#endif
#endif
