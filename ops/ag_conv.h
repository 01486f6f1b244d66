/*
** ag_conv.h: convolutions as ops, with PyTorch's semantics (torch.nn.
** functional's conv1d, conv2d, conv_transpose1d, conv_transpose2d, unfold
** and fold), f32 and f64.
**
**     ag_conv_opts o = {.padding = {1, 1}};                 // the rest: defaults
**     ag_tensor *y = ag_conv2d(t, x, w, b, &o);  // x [N,1,28,28], w [32,1,3,3]
**     // y is [N,32,28,28]
**
** Shapes (N batch, C channels, H x W or L space, k kernel):
**   conv1d            x [N,Cin,L]    w [Cout,Cin/groups,k]       -> [N,Cout,Lout]
**   conv2d            x [N,Cin,H,W]  w [Cout,Cin/groups,kH,kW]   -> [N,Cout,Hout,Wout]
**   conv_transpose1d  x [N,Cin,L]    w [Cin,Cout/groups,k]       -> [N,Cout,Lout]
**   conv_transpose2d  x [N,Cin,H,W]  w [Cin,Cout/groups,kH,kW]   -> [N,Cout,Hout,Wout]
** b is [Cout], or NULL for no bias. An unbatched x ([Cin,L] or [Cin,H,W])
** is accepted as in PyTorch and gives an unbatched result (it runs as a
** batch of one). Per spatial axis, with padding p on each side, stride s,
** dilation d, kernel k, output_padding op:
**   convolution:  out = floor((in + 2p - d(k-1) - 1) / s) + 1
**   transposed:   out = (in - 1) s - 2p + d(k-1) + op + 1
** Groups: the channels are split into groups that do not mix; groups ==
** Cin == Cout is a depthwise convolution (w [C,1,k...]).
**
** The options. A zero (or NULL opts) means PyTorch's default: stride 1,
** padding 0, dilation 1, groups 1, output_padding 0, explicit padding.
** 2-D ops read both entries of each pair ([0] height, [1] width: write
** .stride = {2, 2} for PyTorch's stride=2; {2} alone is (2, 1)); 1-D ops
** read entry [0] and require [1] to be 0.
**
** Every op is differentiable to any order: a convolution's input gradient
** is a transposed convolution of dy with w, its weight gradient a
** correlation of x with dy (a private op, "ag_conv2d (weight gradient)"),
** each again one of these ops, so ag_gradgradcheck passes. The bias's
** gradient is dy summed over N and space (ag_sum).
**
** Speed. The kernels build the patches of one image at a time (im2col)
** into a scratch area on the tape and run the engine's matrix product on
** them; a 1x1 convolution with stride 1 and no padding reads x in place.
** Images are split over the thread pool (ag_threads.h); a single image
** splits its matrix product instead. The weight gradient sums the batch
** in chunks fixed by the shapes alone and adds the chunks in order, so
** results are bit-identical for any thread count. The scratch (the
** patches of about 4 images per thread, the weight gradient's partial
** sums, at most 16 weights' worth) lives on the tape until its reset.
**
** Errors (NULL result, the status and a message naming the function and
** every shape on the tape): AG_ERR_ARG for a NULL x or w, a negative
** stride, padding, dilation, groups or output_padding, an unknown
** padding_kind, "same"/"valid" with nonzero padding, "same" with a stride
** > 1, "same"/"valid" for a transposed convolution (PyTorch has neither),
** an output_padding not smaller than the stride or the dilation, a 1-D op
** given a nonzero entry [1]; AG_ERR_SHAPE for x or w of the wrong number
** of dimensions, groups that do not divide the channels, x's channels not
** what w expects, e.g. "ag_conv2d: input has 3 channels but weight expects
** 1 (groups 1): x is [64,3,28,28], w is [16,1,3,3]", a b that is not
** [Cout], a kernel larger than the padded input, an output size < 1;
** AG_ERR_DTYPE for mixed dtypes; AG_ERR_NOMEM when a size overflows or
** memory runs out.
**
** Differences from PyTorch: padding is zeros only (pad first with another
** op for reflect or replicate), and the options are one struct instead of
** keyword arguments.
*/
#ifndef AG_CONV_H
#define AG_CONV_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a convolution pads its input: PyTorch's padding=(...), "same" and
   "valid". */
typedef enum ag_conv_padding {
    AG_CONV_PADDING_EXPLICIT = 0,   /* padding[] zeros on both sides of each axis */
    /* out = in (stride 1 only): d(k-1) zeros in all, half before, the odd
       one after, as PyTorch pads an even kernel */
    AG_CONV_PADDING_SAME,
    AG_CONV_PADDING_VALID           /* no padding */
} ag_conv_padding;

/* The options of every op here; all zeros (or a NULL pointer) is
   PyTorch's defaults. */
typedef struct ag_conv_opts {
    int64_t stride[2];              /* 0: 1 */
    int64_t padding[2];             /* zeros on each side (explicit padding) */
    int64_t dilation[2];            /* 0: 1 */
    int64_t groups;                 /* 0: 1 (conv and conv_transpose only) */
    int64_t output_padding[2];      /* conv_transpose only: added after the end */
    ag_conv_padding padding_kind;   /* convolutions only */
} ag_conv_opts;

/*
** y = conv2d(x, w, b): PyTorch's F.conv2d (a cross-correlation, as every
** deep-learning "convolution"):
**   y[n,o,i,j] = b[o] + sum over c in o's group, p < kH, q < kW of
**                w[o,c,p,q] x[n, g*Cin/groups + c, i*s0 - p0 + p*d0, j*s1 - p1 + q*d1]
** (x is 0 outside its bounds). Shapes, options and errors: see the top.
*/
ag_tensor *ag_conv2d(ag_tape *t, ag_tensor *x, ag_tensor *w, ag_tensor *b,
                     const ag_conv_opts *opts);

/* PyTorch's F.conv1d: conv2d on [N,C,L] (one spatial axis, the options'
   entry [0]). */
ag_tensor *ag_conv1d(ag_tape *t, ag_tensor *x, ag_tensor *w, ag_tensor *b,
                     const ag_conv_opts *opts);

/*
** PyTorch's F.conv_transpose2d: the adjoint of conv2d in x (each input
** element spreads w times itself over the output; the gradient of conv2d
** with respect to its input), plus the bias. w is [Cin, Cout/groups, kH,
** kW]. output_padding (each < stride or < dilation) picks among the
** output sizes a convolution maps to the same input size; padding_kind
** must be explicit.
*/
ag_tensor *ag_conv_transpose2d(ag_tape *t, ag_tensor *x, ag_tensor *w, ag_tensor *b,
                               const ag_conv_opts *opts);

/* PyTorch's F.conv_transpose1d: conv_transpose2d on [N,C,L]. */
ag_tensor *ag_conv_transpose1d(ag_tape *t, ag_tensor *x, ag_tensor *w, ag_tensor *b,
                               const ag_conv_opts *opts);

/*
** PyTorch's F.unfold (im2col): the sliding kH x kW patches of x [N,C,H,W]
** as columns, y [N, C*kH*kW, L] with L = Hout*Wout (the convolution's
** output size) and row (c*kH + p)*kW + q holding x[n,c, i*s0 - p0 + p*d0,
** j*s1 - p1 + q*d1] at column i*Wout + j (zeros outside x). An unbatched
** x [C,H,W] gives [C*kH*kW, L]. kernel is {kH, kW}, each >= 1. opts:
** stride, padding, dilation (groups 0 or 1, output_padding and
** padding_kind 0). A convolution is then ag_matmul(w reshaped [Cout, C*kH*kW], y).
** The gradient is ag_fold of dy. Errors as the convolutions', and
** AG_ERR_ARG for a NULL kernel or an entry < 1.
*/
ag_tensor *ag_unfold(ag_tape *t, ag_tensor *x, const int64_t kernel[2],
                     const ag_conv_opts *opts);

/*
** PyTorch's F.fold (col2im), the adjoint of ag_unfold: x [N, C*kH*kW, L]
** (or unbatched [C*kH*kW, L]) -> y [N, C, H, W] with output_size {H, W},
** each column's values added back at the places unfold took them from
** (overlapping patches add up). L must be the number of patches that
** unfold takes from an H x W input with these options (AG_ERR_SHAPE
** naming both otherwise), and x's dim 1 a multiple of kH*kW. The gradient
** is ag_unfold of dy. Errors as ag_unfold.
*/
ag_tensor *ag_fold(ag_tape *t, ag_tensor *x, const int64_t output_size[2],
                   const int64_t kernel[2], const ag_conv_opts *opts);

#ifdef __cplusplus
}
#endif
#endif /* AG_CONV_H */
