/*
** ag_shape.h: shape and indexing ops. Results are contiguous tape tensors.
** Axes may be negative (counted from the end).
**
** Shared data. ag_reshape, ag_flatten, ag_squeeze, ag_unsqueeze, and an
** ag_slice that is one contiguous run of x (step 1, every axis before
** `axis` of size 1: rows of a matrix, items of a batch), do not copy:
** the result is a new tensor (its own shape, its own node on the tape,
** its own backward rule) over x's data, as PyTorch's views. So a write
** into one (ag_tensor_data, ag_tensor_set, ag_assign, an out= form, an
** optimizer step on a persistent x) is seen through the other, and the
** result must not be used after x is freed. The out= forms refuse an out
** that overlaps an input other than element for element. Every other op
** here writes a new tensor. Index
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

/*
** Same elements, new shape, sharing x's data (see above). One entry
** may be -1: it is inferred from x's element count. AG_ERR_SHAPE when the
** counts differ, for two -1s, another negative entry, or a -1 that cannot
** be inferred (x has 0 elements, or the rest does not divide the count).
** ndim 0 makes a scalar of a one-element x.
*/
ag_tensor *ag_reshape(ag_tape *t, ag_tensor *x, int ndim, const int64_t *shape);
/* Merges axes start_axis..end_axis (inclusive; negative counts back) into
   one: flatten(x, 1, -1) of [N,C,H,W] is [N,C*H*W]. A scalar becomes [1].
   AG_ERR_AXIS when an axis is out of range or start comes after end. */
ag_tensor *ag_flatten(ag_tape *t, ag_tensor *x, int start_axis, int end_axis);
/* Removes axis, which must have size 1 (AG_ERR_SHAPE otherwise, where
   PyTorch would silently do nothing), or every size-1 axis for AG_ALL. */
ag_tensor *ag_squeeze(ag_tape *t, ag_tensor *x, int axis);
/* Inserts a size-1 axis at position axis: -ndim-1 <= axis <= ndim, a
   negative axis counting from the end of the result (-1 appends).
   AG_ERR_SHAPE when x already has AG_MAX_DIMS dimensions. */
ag_tensor *ag_unsqueeze(ag_tape *t, ag_tensor *x, int axis);
/* Joins xs[0..n) (n >= 1) along axis; every other dim must agree
   (AG_ERR_SHAPE naming both shapes) and all share one dtype
   (AG_ERR_DTYPE). Each input's gradient is its slice of dy. */
ag_tensor *ag_concat(ag_tape *t, int n, ag_tensor *const *xs, int axis);
/* x[start:end:step] along axis, Python's rules: negative start/end count
   from the end, both are clamped to [0, dim], and start >= end gives an
   empty result (dim 0 along axis). step must be >= 1 (AG_ERR_ARG). The
   gradient is dy placed at the slice's positions, zeros elsewhere. A
   slice that is one contiguous run of x shares x's data (see above). */
ag_tensor *ag_slice(ag_tape *t, ag_tensor *x, int axis, int64_t start,
                    int64_t end, int64_t step);

/* The rows (or slices along axis) of x named by idx[0..n): the embedding
   lookup. Result: x's shape with dim axis replaced by n (n may be 0, then
   idx may be NULL). An index may repeat: its gradients add up. Each
   idx[i] must be in [0, dim): negative or too large is AG_ERR_ARG naming
   i and the value (no counting from the end). */
ag_tensor *ag_index_select(ag_tape *t, ag_tensor *x, int axis,
                           const int64_t *idx, int64_t n);
/* base with src's slices added at the positions idx along axis (repeats
   add up): PyTorch's index_add, the backward of index_select. src has
   base's shape with dim axis replaced by n, and base's dtype. Indices are
   checked as in ag_index_select. dbase = dy, dsrc = index_select(dy). */
ag_tensor *ag_index_add(ag_tape *t, ag_tensor *base, int axis,
                        const int64_t *idx, int64_t n, ag_tensor *src);
/* out[i..][j][k..] = x[i..][index[i..][j][k..]][k..] along axis (PyTorch's
   gather). index is row-major with x's ndim and shape index_shape, with
   index_shape[d] <= x's dim d for d != axis (AG_ERR_SHAPE); the result
   has index_shape. Entries must be in [0, x's dim axis): otherwise
   AG_ERR_ARG naming the entry's multi-index and value. */
ag_tensor *ag_gather(ag_tape *t, ag_tensor *x, int axis,
                     const int64_t *index, const int64_t *index_shape);
/* base with src[i..][j][k..] added at base[i..][index[i..][j][k..]][k..]
   (PyTorch's scatter_add, the backward of gather; repeats add up). src
   has exactly index_shape (PyTorch also allows a larger src) and base's
   dtype; index is checked against base as in ag_gather.
   dbase = dy, dsrc = gather(dy). */
ag_tensor *ag_scatter_add(ag_tape *t, ag_tensor *base, int axis,
                          const int64_t *index, const int64_t *index_shape,
                          ag_tensor *src);

#ifdef __cplusplus
}
#endif
#endif
