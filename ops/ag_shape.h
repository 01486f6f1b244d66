/*
** ag_shape.h: shape and indexing ops. All results are new contiguous tape
** tensors (no views). Axes may be negative (counted from the end). Index
** arrays are plain C int64_t arrays, copied onto the tape, so the caller
** may free them at once; an index out of range is an AG_ERR_ARG error
** naming its position and value.
*/
#ifndef AG_SHAPE_H
#define AG_SHAPE_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Broadcasts x to shape (NumPy rules: x's dims right-aligned, each 1 or
   equal). PyTorch's expand / broadcast_to. */
ag_tensor *ag_expand(ag_tape *t, ag_tensor *x, int ndim, const int64_t *shape);
/* The reverse: sums x down to shape, which must broadcast to x's shape. */
ag_tensor *ag_sum_to(ag_tape *t, ag_tensor *x, int ndim, const int64_t *shape);

/* Same elements, new shape; one entry may be -1 (inferred). */
ag_tensor *ag_reshape(ag_tape *t, ag_tensor *x, int ndim, const int64_t *shape);
/* Merges axes start..end (inclusive) into one. */
ag_tensor *ag_flatten(ag_tape *t, ag_tensor *x, int start_axis, int end_axis);
/* Removes axis (which must have size 1), or every size-1 axis for AG_ALL. */
ag_tensor *ag_squeeze(ag_tape *t, ag_tensor *x, int axis);
/* Inserts a size-1 axis at position axis (-1 appends), 0 <= axis <= ndim. */
ag_tensor *ag_unsqueeze(ag_tape *t, ag_tensor *x, int axis);
/* Joins n tensors along axis; every other dim must agree. */
ag_tensor *ag_concat(ag_tape *t, int n, ag_tensor *const *xs, int axis);
/* x[start:end:step] along axis, Python's rules: negative start/end count
   from the end and are clamped to the axis; step >= 1. */
ag_tensor *ag_slice(ag_tape *t, ag_tensor *x, int axis, int64_t start,
                    int64_t end, int64_t step);

/* The rows (or slices along axis) of x named by idx[0..n): the embedding
   lookup. Result: x's shape with dim axis replaced by n. */
ag_tensor *ag_index_select(ag_tape *t, ag_tensor *x, int axis,
                           const int64_t *idx, int64_t n);
/* base with src's slices added at the positions idx along axis (repeats
   add up): PyTorch's index_add, the backward of index_select. src has
   base's shape with dim axis replaced by n. */
ag_tensor *ag_index_add(ag_tape *t, ag_tensor *base, int axis,
                        const int64_t *idx, int64_t n, ag_tensor *src);
/* out[i..][j][k..] = x[i..][index[i..][j][k..]][k..] along axis (PyTorch's
   gather). index has ndim = x's ndim and shape index_shape, with
   index_shape[d] <= x's dim d for d != axis; the result has index_shape. */
ag_tensor *ag_gather(ag_tape *t, ag_tensor *x, int axis,
                     const int64_t *index, const int64_t *index_shape);
/* base with src[i..][j][k..] added at base[i..][index[i..][j][k..]][k..]
   (PyTorch's scatter_add, the backward of gather). src has index_shape. */
ag_tensor *ag_scatter_add(ag_tape *t, ag_tensor *base, int axis,
                          const int64_t *index, const int64_t *index_shape,
                          ag_tensor *src);

#ifdef __cplusplus
}
#endif
#endif
