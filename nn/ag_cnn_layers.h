/*
** ag_cnn_layers.h: the layers of a convolutional network beside the
** convolutions: pooling, BatchNorm2d, Dropout2d, Flatten and Unflatten,
** as PyTorch's torch.nn modules of the same names. The conventions of
** ag_layers.h hold: a constructor returns an ag_module (run it with
** ag_module_forward, switch it with ag_module_train, free it with
** ag_module_free) or NULL with ag_last_error() set; a forward returns NULL
** with the error on the tape. Tensors have PyTorch's state_dict names, so
** a model saved with ag_module_save loads into the same torch.nn model.
**
**     ag_module *block = ag_sequential_new(4, (ag_module *[]){
**         conv,                                   // a Conv2d, [N,16,28,28] out
**         ag_batchnorm2d_new(16, 1e-5, 0.1, 1, AG_F32),
**         ag_relu_new(),
**         ag_maxpool2d_new(2, 2, NULL)});         // [N,16,14,14]
*/
#ifndef AG_CNN_LAYERS_H
#define AG_CNN_LAYERS_H

#include "ag_core.h"
#include "ag_module.h"
#include "ag_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ----------------------------------------------------------- pooling --- */

/*
** MaxPool2d(kernel_size=(kernel_h, kernel_w), ...) and AvgPool2d: the
** layers of ag_max_pool2d and ag_avg_pool2d (ag_pool.h, where the shapes,
** the output size and every option are described), x [N,C,H,W] or
** [C,H,W]. opts may be NULL (PyTorch's defaults: stride = kernel, no
** padding, dilation 1, floor mode, count_include_pad); it is copied. No
** tensors. The constructor refuses what no input could make valid
** (AG_ERR_ARG): a kernel below 1, a negative stride, padding, dilation or
** divisor_override, a padding above half the kernel, an option of the
** other kind of pooling. Errors of a forward are the op's (they name
** ag_max_pool2d or ag_avg_pool2d and x's shape).
*/
ag_module *ag_maxpool2d_new(int64_t kernel_h, int64_t kernel_w, const ag_pool2d_opts *opts);
ag_module *ag_avgpool2d_new(int64_t kernel_h, int64_t kernel_w, const ag_pool2d_opts *opts);

/* AdaptiveAvgPool2d((out_h, out_w)): ag_adaptive_avg_pool2d as a layer.
   out_h and out_w must be >= 1 (AG_ERR_ARG). */
ag_module *ag_adaptive_avgpool2d_new(int64_t out_h, int64_t out_w);

/* ------------------------------------------------------- BatchNorm2d --- */

/*
** BatchNorm2d(num_features, eps, momentum, affine) on x [N, C, H, W],
** statistics per channel C over N, H and W: BatchNorm1d of ag_layers.h
** with four dims (the same parameters "weight", "bias", buffers
** "running_mean", "running_var", "num_batches_tracked", defaults, momentum
** rule including AG_MOMENTUM_CUMULATIVE, and differences). Training
** normalizes with the batch mean and biased variance and updates the
** buffers with the unbiased one; evaluation uses the buffers. x of another
** rank or channel count is AG_ERR_SHAPE ("BatchNorm2d(16): x is [8,16,5],
** expected [N, 16, H, W]"); training with one value per channel (N*H*W
** == 1) is AG_ERR_SHAPE as in PyTorch. Runs on ag_batch_norm_stats and
** ag_channel_affine (ag_norm.h): two passes over x forward, three back.
*/
ag_module *ag_batchnorm2d_new(int64_t num_features, double eps, double momentum,
                              int affine, ag_dtype dt);
/* With PyTorch's track_running_stats, as ag_batchnorm1d_new_ex: 0 gives no
   buffers and batch statistics in evaluation too. */
ag_module *ag_batchnorm2d_new_ex(int64_t num_features, double eps, double momentum,
                                 int affine, int track_running_stats, ag_dtype dt);

/* --------------------------------------------------------- Dropout2d --- */

/*
** Dropout2d(p): in training, each channel of each sample, x[n, c], is
** zeroed as a whole with probability p and the others are scaled by
** 1/(1-p): y = x * mask with mask = ag_dropout_mask of shape [N, C, 1, 1]
** (or [N, C, 1] for a 3-D x), one draw per channel in row-major order from
** rng. In evaluation the forward returns x itself. As PyTorch 1.13, x is
** [N, C, H, W] or [N, C, L] (a 3-D x is taken as batched and each [n, c]
** row dropped whole, PyTorch's historical behaviour, not as an unbatched
** [C, H, W]); any other rank is AG_ERR_SHAPE (PyTorch warns and goes on).
** p in [0, 1] (PyTorch's default 0.5). rng is borrowed and must outlive
** the layer; NULL as for Dropout (ag_dropout_new): training then needs
** ag_dropout_set_rng first.
*/
ag_module *ag_dropout2d_new(double p, ag_rng *rng);

/* ---------------------------------------------------------- reshapes --- */

/*
** Flatten(start_dim, end_dim): merges axes start_axis..end_axis
** (inclusive; negative counts from the end) with ag_flatten. PyTorch's
** defaults: 1 and -1, so [N,C,H,W] becomes [N, C*H*W]. An axis out of
** range for x is the op's AG_ERR_AXIS. No tensors.
*/
ag_module *ag_flatten_new(int start_axis, int end_axis);

/*
** Unflatten(dim, unflattened_size): splits axis (negative counts from the
** end) into the n sizes given (copied; n >= 1, at most 8), one of which may
** be -1 (inferred). The product of the sizes must equal the axis' length
** and the result may have at most 8 dims (AG_ERR_SHAPE naming x's shape).
** Constructor errors (AG_ERR_ARG): n out of range, sizes NULL, a size
** below -1 or two -1s.
*/
ag_module *ag_unflatten_new(int axis, int n, const int64_t *sizes);

#ifdef __cplusplus
}
#endif
#endif /* AG_CNN_LAYERS_H */
