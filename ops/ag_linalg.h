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
** a @ b, as torch.matmul (NumPy's matmul). 2-D: [m,k] @ [k,n] -> [m,n].
** Batched: every dim before the last two is a batch dim, and the batch
** dims broadcast as NumPy's (right-aligned, a dim of 1 stretches, a
** missing dim counts as 1): [B,H,T,D] @ [B,H,D,T] -> [B,H,T,T],
** [B,T,D] @ [D,E] -> [B,T,E], [B,1,m,k] @ [H,k,n] -> [B,H,m,n]. A 1-D a
** is a row [1,k] and a 1-D b a column [k,1], the added dim dropped from
** the result: [k] @ [k] is a 0-D scalar, [k] @ [...,k,n] is [...,n],
** [...,m,k] @ [k] is [...,m]. An operand broadcast over batch dims has
** its gradient summed over them. One kernel call covers every batch that
** one stride per operand reaches (all of them unless a dim of 1 and a
** missing dim interleave), and a stack over a shared 2-D operand is one
** taller product: as fast as the 2-D and 3-D forms were. Differentiable
** to any order (the backward products are again matrix products).
** Errors (AG_ERR_SHAPE, the message naming both shapes as given): a 0-D
** operand ("operands must be at least 1-D"); inner dimensions that
** differ, e.g. "ag_matmul: inner dimensions differ: a is [64,784], b is
** [256,128]"; batch dims that do not broadcast ("batch dimensions do not
** broadcast: a is [8,8,128,64], b is [8,4,64,128]"). Mixed dtypes are
** AG_ERR_DTYPE; NULL operands AG_ERR_ARG.
*/
ag_tensor *ag_matmul(ag_tape *t, ag_tensor *a, ag_tensor *b);

/*
** a @ b^T, b's last two axes swapped: 2-D [m,k] @ ([n,k])^T -> [m,n];
** batch dims broadcast as ag_matmul's ([B,H,T,D] @ ([B,H,S,D])^T ->
** [B,H,T,S]); both operands must be at least 2-D (no vectors). The
** transpose is read through strides, never copied: one product, as fast
** as ag_matmul. The gradient of a linear layer's input, dy @ W, is this
** product's kind of work. Errors as ag_matmul, the message naming
** ag_matmul_nt and both shapes as given, e.g. "ag_matmul_nt: inner
** dimensions differ: a is [64,784], b is [256,783]".
*/
ag_tensor *ag_matmul_nt(ag_tape *t, ag_tensor *a, ag_tensor *b);

/*
** a^T @ b, a's last two axes swapped: 2-D ([k,m])^T @ [k,n] -> [m,n];
** batch dims broadcast as ag_matmul's (each matrix of a batch
** transposed); both operands at least 2-D.
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

/* The instruction set the matrix products run: "avx512", "avx2" or
   "portable", chosen once from the CPU (AG_KERNEL forces one it has). */
const char *ag_matmul_path(void);

#ifdef __cplusplus
}
#endif
#endif
