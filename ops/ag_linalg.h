/*
** ag_linalg.h: matrix products (plain, with either operand read
** transposed, and the fused linear layer) and axis permutations. Results
** are new contiguous tape tensors (no views); the operands of a product
** must have the same dtype.
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
** a @ b^T, b's last two axes swapped: 2-D [m,k] @ ([n,k])^T -> [m,n];
** batched and broadcast over a leading batch axis as ag_matmul. The
** transpose is read through strides, never copied: one product, as fast
** as ag_matmul. The gradient of a linear layer's input, dy @ W, is this
** product's kind of work. Errors as ag_matmul, the message naming
** ag_matmul_nt and both shapes as given, e.g. "ag_matmul_nt: inner
** dimensions differ: a is [64,784], b is [256,783]".
*/
ag_tensor *ag_matmul_nt(ag_tape *t, ag_tensor *a, ag_tensor *b);

/*
** a^T @ b, a's last two axes swapped: 2-D ([k,m])^T @ [k,n] -> [m,n];
** batched and broadcast as ag_matmul (each matrix of a batch transposed).
** Read in place, like ag_matmul_nt (a weight's gradient, x^T @ dy).
** Errors as ag_matmul, naming ag_matmul_tn.
*/
ag_tensor *ag_matmul_tn(ag_tape *t, ag_tensor *a, ag_tensor *b);

/*
** PyTorch's torch.nn.functional.linear: y = x @ w^T + b, one op (one
** product with the bias added in, no transposed copy of w). x is [..., in]
** (any number of leading axes, or 1-D [in]), w is [out, in], b is [out] or
** NULL; y is [..., out] ([out] for a 1-D x). Each element is the bias
** plus the products accumulated in order, as torch's addmm. The backward
** rule is written with ops (dx = dy @ w, dw = dy^T @ x through
** ag_matmul_tn, db = dy summed over every axis but the last), so higher
** orders work. Differences from PyTorch: w must be 2-D and b 1-D [out]
** (no 1-D w, no 0-d b). Errors: AG_ERR_SHAPE for a 0-d x, a w that is not
** 2-D, x's last dim not w's second, or b not [out], e.g. "ag_linear: x's
** last dim differs from w's: x is [64,783], w is [256,784]"; AG_ERR_DTYPE
** for mixed dtypes; AG_ERR_ARG for a NULL x or w.
*/
ag_tensor *ag_linear(ag_tape *t, ag_tensor *x, ag_tensor *w, ag_tensor *b);

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
