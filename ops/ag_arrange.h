/*
** ag_arrange.h: ops that rearrange elements without changing them: stack,
** split, chunk, flip, roll, tril and triu. PyTorch's semantics unless a
** comment says otherwise. Every result is a new contiguous tape tensor (no
** views) of x's dtype; gradients of every order are available.
**
** Errors, as every op: NULL (or a status) with the error on the tape, the
** message naming the function, what is wrong and the shapes or values:
** AG_ERR_ARG for NULL or stale tensors and bad counts, AG_ERR_AXIS for an
** axis out of range or repeated, AG_ERR_SHAPE for shapes that do not fit,
** AG_ERR_DTYPE for mixed dtypes. A tape already in error gives NULL (or its
** status) and keeps its first message.
*/
#ifndef AG_ARRANGE_H
#define AG_ARRANGE_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** xs[0..n) (n >= 1, one shape, one dtype) joined along a new axis: the
** result has the inputs' shape with n inserted at position axis, where
** -ndim-1 <= axis <= ndim (ndim the inputs'; a negative axis counts from
** the end of the result). dxs[i] is dy's slice i along axis. Differences
** from torch.stack: mixed dtypes are AG_ERR_DTYPE (PyTorch promotes);
** inputs that already have AG_MAX_DIMS dimensions are AG_ERR_SHAPE.
*/
ag_tensor *ag_stack(ag_tape *t, int n, ag_tensor *const *xs, int axis);

/*
** torch.unbind: the d = x's size along axis slices of x, the axis removed,
** into out[0..d) (out has room for d tensors; d = 0 writes none). x has at
** least one dimension (AG_ERR_SHAPE); -ndim <= axis < ndim (AG_ERR_AXIS).
** One op of d outputs: its backward stacks the pieces' gradients once
** (zeros for a piece that got none), a pass over x's size in all (ag_split's
** pieces would cost d times that). Pieces along a leading axis (every dim
** before it 1, such as axis 0) share x's data, as ag_reshape's result
** does: a write into one through ag_tensor_data is seen in x. On error
** the tape's status is returned (AG_ERR_ARG for a NULL t, x or out) and
** out[0..d) are NULL once x and axis have passed the checks (before, out
** is left as it was).
*/
ag_status ag_unbind(ag_tape *t, ag_tensor *x, int axis, ag_tensor **out);

/*
** Several tensors from one. Each piece is x[.., off:off+size, ..] along
** axis, made by ag_slice (its node is a slice's; its gradient is dy placed
** into zeros of x's shape, so the backward of p pieces costs p times x's
** size). The caller provides out; the pieces are tape tensors. On error
** every entry of out that the call may write is set to NULL and the
** tape's status is returned (AG_ERR_ARG when t is NULL).
**
** ag_split: torch.split with a list of sizes (split_with_sizes): n pieces
** (n >= 0), piece i of sizes[i] >= 0 along axis; the sizes must add up to
** x's size along axis (AG_ERR_SHAPE otherwise, the message naming the
** sizes and the shape). out has room for n tensors.
*/
ag_status ag_split(ag_tape *t, ag_tensor *x, int n, const int64_t *sizes, int axis,
                   ag_tensor **out);
/*
** ag_chunk: torch.chunk. chunks >= 1; out has room for chunks tensors.
** With d = x's size along axis, every piece has ceil(d / chunks) elements
** along axis but the last, which has what is left; so there may be fewer
** pieces than asked (d = 6, chunks = 4 gives 2,2,2). d = 0 gives chunks
** empty pieces. *n_out (n_out may be NULL) receives the number of pieces;
** the entries of out past it are set to NULL. x must have at least one
** dimension (AG_ERR_SHAPE).
*/
ag_status ag_chunk(ag_tape *t, ag_tensor *x, int chunks, int axis, ag_tensor **out,
                   int *n_out);

/*
** x with the order of elements reversed along each of axes[0..n) (n >= 0;
** n = 0 copies x). An axis given twice is AG_ERR_AXIS, as in PyTorch. A
** 0-d x takes axis 0 or -1 (nothing to reverse). dx = flip(dy, axes).
*/
ag_tensor *ag_flip(ag_tape *t, ag_tensor *x, int n, const int *axes);

/*
** x with its elements shifted along axes[i] by shifts[i] places (i < n,
** n >= 1), wrapping around: y[.., (j + s) mod d, ..] = x[.., j, ..]. A
** negative shift moves towards the start; any int64 shift is taken
** modulo the axis size. An axis given twice gets the sum of its shifts
** (as PyTorch, which rolls once per entry). With axes NULL, x is rolled
** as if flattened (n must be 1) and keeps its shape: torch.roll with
** dims=None. dx = roll(dy, -shifts).
*/
ag_tensor *ag_roll(ag_tape *t, ag_tensor *x, int n, const int64_t *shifts,
                   const int *axes);

/*
** The lower (tril) or upper (triu) triangle of the matrices in x's last
** two axes ([..., R, C], batched over any leading axes; fewer than 2
** dimensions is AG_ERR_SHAPE). tril keeps x[.., i, j] where j - i <=
** diagonal, triu where j - i >= diagonal; the rest is zero. diagonal 0 is
** the main diagonal, > 0 above it, < 0 below; any value is allowed.
** dx = tril(dy, diagonal) (triu likewise).
*/
ag_tensor *ag_tril(ag_tape *t, ag_tensor *x, int64_t diagonal);
ag_tensor *ag_triu(ag_tape *t, ag_tensor *x, int64_t diagonal);

#ifdef __cplusplus
}
#endif
#endif
