/*
** ag_norm.h: fused per-channel ops for batch normalization. x is
** [N, C, ...] (at least 2 dims): axis 1 is the channel axis, and a
** channel's values are x[n, c, ...] over every n and every trailing
** position (M = numel / C of them). Per-channel tensors are 1-D [C] of x's
** dtype. BatchNorm1d and BatchNorm2d (ag_layers.h, ag_cnn_layers.h) run on
** these; they are public so that other normalizations can too.
**
** Each op reads x once or twice and writes once, where the same math
** composed of broadcasting ops takes a dozen passes. Sums accumulate in
** double for both dtypes, channel by channel in a fixed order, so the
** results do not depend on the thread count (large inputs are split over
** the thread pool, by channels or rows). Every backward rule is written
** with these ops and the ops of ag_binary.h, so gradients of every order
** work (gradgradcheck passes).
**
** Errors: NULL with the error on the tape. AG_ERR_SHAPE when x has fewer
** than 2 dims or a per-channel tensor is not [C]; AG_ERR_DTYPE when the
** dtypes differ; AG_ERR_ARG for a negative or non-finite eps. Messages
** name the op and the shapes.
*/
#ifndef AG_NORM_H
#define AG_NORM_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** The batch statistics of every channel: [2, C], row 0 the means, row 1
** the biased variances (sum of squared deviations over M), two passes per
** channel. M = 0 gives NaN. Differentiable (both rows, any order).
*/
ag_tensor *ag_batch_norm_stats(ag_tape *t, ag_tensor *x);

/*
** y = x * scale[c] + shift[c] along the channel axis (y has x's shape);
** shift may be NULL (0). BatchNorm's evaluation mode is this op with
** scale = weight / sqrt(running_var + eps), shift = bias - running_mean *
** scale. Gradients flow to x, scale and shift.
*/
ag_tensor *ag_channel_affine(ag_tape *t, ag_tensor *x, ag_tensor *scale, ag_tensor *shift);

/*
** Batch normalization with the batch's statistics (PyTorch's
** F.batch_norm with training=True):
**     y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c]
** mean and biased var over each channel's M values. weight and bias may
** each be NULL (1 and 0). When stats is not NULL it receives the [2, C]
** tape tensor of the means and biased variances the forward used (as
** ag_batch_norm_stats gives them), a constant without gradient: what the
** running statistics are updated from. The backward is PyTorch's in two
** passes over x and dy; gradients flow to x, weight and bias.
*/
ag_tensor *ag_batch_norm(ag_tape *t, ag_tensor *x, ag_tensor *weight, ag_tensor *bias,
                         double eps, ag_tensor **stats);

#ifdef __cplusplus
}
#endif
#endif /* AG_NORM_H */
