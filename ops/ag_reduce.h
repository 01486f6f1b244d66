/*
** ag_reduce.h: reductions over every element (axis = AG_ALL) or one axis
** (negative counts from the end), with keepdim; softmax and log_softmax.
** Without keepdim the reduced axis is removed (AG_ALL gives a scalar, ndim
** 0); with it, it is kept with size 1. Reducing an empty axis is an
** AG_ERR_SHAPE error for max, min and logsumexp.
*/
#ifndef AG_REDUCE_H
#define AG_REDUCE_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

ag_tensor *ag_sum(ag_tape *t, ag_tensor *x, int axis, int keepdim);
ag_tensor *ag_mean(ag_tape *t, ag_tensor *x, int axis, int keepdim);
/* max/min: the gradient goes to the selected element, the first one on
   ties (as PyTorch's max along a dim). */
ag_tensor *ag_max(ag_tape *t, ag_tensor *x, int axis, int keepdim);
ag_tensor *ag_min(ag_tape *t, ag_tensor *x, int axis, int keepdim);
/* Variance: sum (x - mean)^2 / (n - correction); correction 0 is the
   biased estimate, 1 the unbiased one (PyTorch's default). */
ag_tensor *ag_var(ag_tape *t, ag_tensor *x, int axis, int correction,
                  int keepdim);
/* log(sum(exp(x))), stable: the max is subtracted first. */
ag_tensor *ag_logsumexp(ag_tape *t, ag_tensor *x, int axis, int keepdim);

/* Along one axis, stable (the max is subtracted first). */
ag_tensor *ag_softmax(ag_tape *t, ag_tensor *x, int axis);
ag_tensor *ag_log_softmax(ag_tape *t, ag_tensor *x, int axis);

#ifdef __cplusplus
}
#endif
#endif
