/*
** ag_linalg.h: matrix products and axis permutations. Results are new
** contiguous tape tensors (no views); both operands of a product must have
** the same dtype.
*/
#ifndef AG_LINALG_H
#define AG_LINALG_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** a @ b. 2-D: [m,k] @ [k,n] -> [m,n]. Batched: [B,m,k] @ [B,k,n] ->
** [B,m,n]; a 3-D operand with a 2-D one broadcasts the 2-D one over the
** batch ([B,m,k] @ [k,n], [m,k] @ [B,k,n] -> [B,m,n]), and the 2-D
** operand's gradient is summed over the batch. Differentiable to any
** order (the backward products are again matrix products).
** Differences from torch.matmul: 1-D operands (vectors) and more than 3
** dimensions are not supported, and batch dimensions do not broadcast
** (a batch of 1 does not stretch to B).
** Errors (AG_ERR_SHAPE, the message naming both shapes): an operand not
** 2-D or 3-D; inner dimensions that differ, e.g. "ag_matmul: inner
** dimensions differ: a is [64,784], b is [256,128]"; two batch sizes that
** differ. Mixed dtypes are AG_ERR_DTYPE; NULL operands AG_ERR_ARG.
*/
ag_tensor *ag_matmul(ag_tape *t, ag_tensor *a, ag_tensor *b);

/*
** x with axes axis0 and axis1 swapped (a copy); negative axes count from
** the end, and equal axes give a copy of x. An axis out of range is
** AG_ERR_AXIS (so is any axis of a 0-D x). The gradient is transposed back.
*/
ag_tensor *ag_transpose(ag_tape *t, ag_tensor *x, int axis0, int axis1);

/*
** Result axis i is x's axis perm[i] (a copy): perm has x's ndim entries,
** negative ones counting from the end, and is copied onto the tape, so the
** caller keeps ownership. An entry out of range is AG_ERR_AXIS; an axis
** named twice (not a permutation), or a NULL perm for ndim > 0, is
** AG_ERR_ARG; the message shows perm and x's shape. The gradient is
** permuted back by the inverse permutation.
*/
ag_tensor *ag_permute(ag_tape *t, ag_tensor *x, const int *perm);

#ifdef __cplusplus
}
#endif
#endif
