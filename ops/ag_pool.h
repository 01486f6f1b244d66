/*
** ag_pool.h: pooling over the last one (1-D) or two (2-D) axes, as
** PyTorch's F.max_pool1d/2d, F.avg_pool1d/2d and F.adaptive_avg_pool2d.
**
** Shapes. A 1-D op takes x [N,C,L] or, unbatched, [C,L]; a 2-D op takes
** [N,C,H,W] or [C,H,W]. The result has the same leading dims and the
** pooled sizes last. N may be 0; C, L, H and W must not be (PyTorch's
** rule). Every (n, c) plane is pooled alone; large inputs are split over
** the thread pool by planes, with bit-identical results for any thread
** count.
**
** Options. A NULL opts, or a zeroed struct, is PyTorch's defaults; set
** only what you need:
**
**     ag_pool2d_opts o = {.stride = {1, 1}, .padding = {1, 1}};
**     ag_tensor *y = ag_max_pool2d(t, x, 3, 3, &o);      // [N,C,H,W] -> same H,W
**     ag_tensor *z = ag_max_pool2d(t, x, 2, 2, NULL);    // 2x2, stride 2
**
** Output size, per pooled axis of input size n, PyTorch's formula:
**     out = floor((n + 2 padding - dilation (kernel - 1) - 1 + (ceil_mode ?
**            stride - 1 : 0)) / stride) + 1
** and with ceil_mode, out is reduced by one when the last window would
** start at or beyond n + padding (past the input and its left padding).
** dilation is 1 for average pooling.
**
** Errors: NULL with the error on the tape (sticky). AG_ERR_SHAPE when x
** has the wrong number of dims or an empty non-batch dim, or the output
** would have a size below 1. AG_ERR_ARG for a kernel below 1, a negative
** stride, padding or dilation, a padding above half the kernel, a value
** above 2147483647, and an option that the op does not have (dilation for
** average pooling, exclude_pad or divisor_override for max pooling). The
** message names the op, the values and x's shape, e.g.
** "ag_max_pool2d: padding 2 is more than half the kernel 3 (x is
** [1,1,5,5])".
**
** Gradients of every order: each backward rule is written with ops (max
** pooling's is a scatter of dy to the selected elements, whose own rule is
** the gather at the same places; average pooling's is its transpose,
** whose rule is average pooling again).
*/
#ifndef AG_POOL_H
#define AG_POOL_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options of the 1-D ops; zero fields are PyTorch's defaults. */
typedef struct ag_pool1d_opts {
    int64_t stride;     /* 0: the kernel size (PyTorch's stride=None) */
    int64_t padding;    /* implicit padding at both ends, 0 <= padding <= kernel / 2;
                           max pooling pads with -inf, average pooling with 0 */
    int64_t dilation;   /* max pooling only: spacing of the window's elements; 0 means 1 */
    int ceil_mode;      /* 1: round the output size up (see above) */
    int exclude_pad;    /* average pooling only: 1 is PyTorch's count_include_pad=False */
} ag_pool1d_opts;

/* Options of the 2-D ops, each pair [h, w]; zero fields are PyTorch's
   defaults, per axis (stride {0, 1}: stride kernel_h along H, 1 along W). */
typedef struct ag_pool2d_opts {
    int64_t stride[2];
    int64_t padding[2];
    int64_t dilation[2];        /* max pooling only */
    int ceil_mode;
    int exclude_pad;            /* average pooling only */
    int64_t divisor_override;   /* average pooling only: divide every window's
                                   sum by this instead (0: none) */
} ag_pool2d_opts;

/*
** Max pooling: each output is the largest element of its window (padding
** never wins). Ties: the first in row-major order within the window wins,
** and gets the gradient. A NaN wins over any number, and among NaNs the
** last one wins (PyTorch's CPU kernel: `v > best || isnan(v)`). A window
** that holds no element of x at all (possible only with dilation larger
** than the input) gives -inf and passes no gradient (PyTorch gives -inf
** too, with an index outside the input). Indices are 32-bit inside the
** op: a plane (H*W or L) above 2147483647 elements is AG_ERR_SHAPE.
*/
ag_tensor *ag_max_pool1d(ag_tape *t, ag_tensor *x, int64_t kernel,
                         const ag_pool1d_opts *opts);
ag_tensor *ag_max_pool2d(ag_tape *t, ag_tensor *x, int64_t kernel_h,
                         int64_t kernel_w, const ag_pool2d_opts *opts);

/*
** Average pooling: each output is the sum of its window over a divisor.
** The window of output o along an axis starts at o*stride - padding and
** ends at the smaller of start + kernel and n + padding; the divisor is
** the product over the axes of those lengths (padding counted, PyTorch's
** count_include_pad=True, the default), or with exclude_pad the number of
** input elements in the window, or divisor_override when set (2-D only,
** as in PyTorch). So the part of a ceil_mode window beyond the right
** padding is never counted. A window with no input element gives 0.
** Sums accumulate in double for both dtypes.
*/
ag_tensor *ag_avg_pool1d(ag_tape *t, ag_tensor *x, int64_t kernel,
                         const ag_pool1d_opts *opts);
ag_tensor *ag_avg_pool2d(ag_tape *t, ag_tensor *x, int64_t kernel_h,
                         int64_t kernel_w, const ag_pool2d_opts *opts);

/*
** Adaptive average pooling to out_h x out_w: output (i, j) averages rows
** floor(i*H/out_h) to ceil((i+1)*H/out_h) - 1 and the columns likewise
** (windows may overlap; out_h may exceed H). out_h and out_w must be >= 1
** (AG_ERR_ARG; PyTorch's None, "keep the input's size", is out_h = H).
*/
ag_tensor *ag_adaptive_avg_pool2d(ag_tape *t, ag_tensor *x, int64_t out_h,
                                  int64_t out_w);

#ifdef __cplusplus
}
#endif
#endif /* AG_POOL_H */
