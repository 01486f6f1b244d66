/*
** ag_mask.h: masks: masked_fill and one_hot. PyTorch's semantics unless a
** comment says otherwise.
**
** A mask here is a tensor (either dtype) whose non-zero entries mean
** true, as ag_where reads its mask: the 0/1 tensors ag_gt, ag_eq and the
** other comparisons make are masks, and so is any float tensor (NaN is
** non-zero, so true). A mask carries no gradient (it gets zeros, as
** ag_where's).
*/
#ifndef AG_MASK_H
#define AG_MASK_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** x with value wherever mask is non-zero (value is converted to x's
** dtype). x and mask broadcast together (NumPy's rules, as PyTorch's
** out-of-place masked_fill): the result has the broadcast shape and x's
** dtype; mask may be of the other dtype. dx = masked_fill(dy, mask, 0),
** summed back to x's shape where x was broadcast.
** Errors: AG_ERR_ARG for a NULL or stale x or mask; AG_ERR_SHAPE when the
** two do not broadcast (the message names both shapes).
*/
ag_tensor *ag_masked_fill(ag_tape *t, ag_tensor *x, ag_tensor *mask, double value);

/*
** The one-hot encoding of the class indices idx, an int64_t array of the
** given shape (ndim entries, 0 <= ndim < AG_MAX_DIMS; row-major, the
** same kind of array ag_argmax writes and ag_gather takes; idx may be NULL
** when the shape has no elements): a constant tape tensor of dtype dt and
** shape [shape..., num_classes], 1 at [p..., idx[p]] and 0 elsewhere.
** num_classes -1 infers it as max(idx) + 1, as PyTorch. Differences from
** torch.nn.functional.one_hot: the result is f32 or f64 (PyTorch's is
** int64), ready to multiply; it records nothing and needs no grad. With
** t NULL the result is persistent (the caller frees it) and an error goes
** to ag_last_error().
** Errors (AG_ERR_ARG, naming the position and the value): a negative
** index, an index >= num_classes, num_classes below -1, -1 with no
** indices to infer it from, a NULL idx with elements; AG_ERR_SHAPE for a
** bad or too large shape.
*/
ag_tensor *ag_one_hot(ag_tape *t, const int64_t *idx, int ndim, const int64_t *shape,
                      int64_t num_classes, ag_dtype dt);

#ifdef __cplusplus
}
#endif
#endif
