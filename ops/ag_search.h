/*
** ag_search.h: where the largest or smallest elements are: argmax,
** argmin and topk. PyTorch's semantics unless a comment says otherwise.
**
** Indices are plain int64_t arrays the caller provides, written row-major
** in the result's shape: the same kind of array ag_gather, ag_index_select
** and ag_one_hot take, so argmax or topk indices go straight into them. (A
** float tensor of indices would lose integers above 2^24 in f32 and could
** not be passed to those ops.) capacity is the number of entries out has
** room for; a result larger than that is AG_ERR_ARG and nothing is written.
** Indices carry no gradient.
**
** Order. NaN counts as larger than every number, +inf included: argmax and
** argmin both return the first NaN if a row has one (as PyTorch, and as
** ag_max and ag_min select it), topk with largest puts NaNs first and
** without it last. Ties (equal values, or two NaNs) go to the lower
** index, in argmax, argmin and topk alike.
**
** Errors, as every op (the message names the function, what is wrong and
** the shapes): AG_ERR_ARG for NULL or stale tensors, a NULL out, too small
** a capacity or a bad k; AG_ERR_AXIS for an axis out of range;
** AG_ERR_SHAPE for a row of no elements.
*/
#ifndef AG_SEARCH_H
#define AG_SEARCH_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** The index of the largest (argmax) or smallest (argmin) element along
** axis (negative counts from the end), or over every element with AG_ALL
** (an index into x flattened row-major). The result's shape is x's with
** axis removed, or kept with size 1 with keepdim (AG_ALL: a 0-d result, or
** every dim 1 with keepdim), as ag_max; out receives its numel indices
** and, when ndim and shape are not NULL, *ndim and shape[0..*ndim) its
** shape (shape has room for AG_MAX_DIMS entries). A 0-d x takes axis 0,
** -1 or AG_ALL and gives 0. Reducing an axis (or a tensor) of no elements
** is AG_ERR_SHAPE, as in PyTorch. Records nothing on the tape. Returns
** AG_OK or the tape's status (AG_ERR_ARG when t is NULL).
*/
ag_status ag_argmax(ag_tape *t, ag_tensor *x, int axis, int keepdim, int64_t *out,
                    int64_t capacity, int *ndim, int64_t *shape);
ag_status ag_argmin(ag_tape *t, ag_tensor *x, int axis, int keepdim, int64_t *out,
                    int64_t capacity, int *ndim, int64_t *shape);

/*
** The k largest (largest != 0) or smallest elements of x along axis (one
** axis; AG_ALL is AG_ERR_AXIS), 0 <= k <= x's size along it (AG_ERR_ARG
** otherwise). Returns the values, a tape tensor of x's shape with that
** axis of size k (a 0-d x takes axis 0 or -1 and is seen as [1]: k 1
** gives a 0-d result, k 0 an empty [0] one); indices, unless NULL, receives their positions along axis, row-major in
** the same shape (capacity entries at least). With sorted, each row is in
** order, best first (ties: lower index first); without it, the k selected
** elements are in the order of their indices (PyTorch leaves that order
** unspecified). The values are ag_gather(x, axis, indices, shape of the
** values) and differentiable as that (the gradient goes to the selected
** positions, to any order); the indices carry no gradient.
** Difference from torch.topk: PyTorch's CPU kernel does not break ties by
** index (its indices among equal values vary); the values agree.
*/
ag_tensor *ag_topk(ag_tape *t, ag_tensor *x, int64_t k, int axis, int largest, int sorted,
                   int64_t *indices, int64_t capacity);

#ifdef __cplusplus
}
#endif
#endif
