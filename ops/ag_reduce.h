/*
** ag_reduce.h: reductions over every element (axis = AG_ALL) or one axis
** (negative counts from the end), with keepdim; softmax and log_softmax.
** PyTorch's semantics unless a comment below says otherwise.
**
** Shapes. Without keepdim the reduced axis is removed (AG_ALL gives a 0-d
** scalar); with it, it is kept with size 1 (AG_ALL: every dim becomes 1).
** A 0-d x takes axis 0, -1 or AG_ALL and reduces nothing.
**
** Each returns a new tape tensor of x's dtype, or NULL with the error on
** the tape: AG_ERR_ARG for a NULL x, AG_ERR_AXIS for an axis out of range
** (the message names the function, the axis and x's shape), AG_ERR_SHAPE
** for max, min or logsumexp over zero elements. Reducing an empty axis
** otherwise follows PyTorch: sum gives 0, mean and var give NaN.
**
** Accuracy. Every sum (also those inside mean, var, logsumexp and the
** softmaxes) accumulates in double, for f32 too; ag_sum and ag_mean add
** contiguous rows (the last axis, or AG_ALL) pairwise, so a long f64 sum
** loses O(log n) roundings, not O(n). Gradients of every order are
** available (every backward rule is written with ops).
*/
#ifndef AG_REDUCE_H
#define AG_REDUCE_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

ag_tensor *ag_sum(ag_tape *t, ag_tensor *x, int axis, int keepdim);
/* sum / n; NaN over zero elements. */
ag_tensor *ag_mean(ag_tape *t, ag_tensor *x, int axis, int keepdim);
/* max/min: the gradient goes to the selected element, the first one on
   ties (as PyTorch's max along a dim; PyTorch's full reduction x.max()
   splits it evenly among ties instead). A NaN is selected over any
   number, so it propagates. Zero elements: AG_ERR_SHAPE. */
ag_tensor *ag_max(ag_tape *t, ag_tensor *x, int axis, int keepdim);
ag_tensor *ag_min(ag_tape *t, ag_tensor *x, int axis, int keepdim);
/* Variance: sum (x - mean)^2 / (n - correction); correction 0 is the
   biased estimate, 1 the unbiased one (PyTorch's default). As in PyTorch
   the divisor is max(n - correction, 0): when n <= correction the result
   is +inf, or NaN if every element is equal (a single one, say), and the
   gradient is inf or NaN likewise. Computed in two passes (mean, then
   squared deviations). */
ag_tensor *ag_var(ag_tape *t, ag_tensor *x, int axis, int correction,
                  int keepdim);
/* log(sum(exp(x))), stable: the max is subtracted first, so x = 1000
   gives 1000 + log(n), not inf. All -inf gives -inf; a +inf gives +inf.
   Zero elements: AG_ERR_SHAPE (PyTorch would return -inf). */
ag_tensor *ag_logsumexp(ag_tape *t, ag_tensor *x, int axis, int keepdim);

/* Along one axis (AG_ALL is an AG_ERR_AXIS error), stable: each row's max
   is subtracted first. The result has x's shape. -inf entries get 0 (or
   -inf in log_softmax); a row of only -inf gives NaN, as in PyTorch. A
   0-d x gives 1 (log_softmax: 0); an empty axis gives an empty result. */
ag_tensor *ag_softmax(ag_tape *t, ag_tensor *x, int axis);
ag_tensor *ag_log_softmax(ag_tape *t, ag_tensor *x, int axis);

#ifdef __cplusplus
}
#endif
#endif
