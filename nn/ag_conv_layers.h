/*
** ag_conv_layers.h: the convolution layers, as PyTorch's torch.nn.Conv1d,
** Conv2d, ConvTranspose1d and ConvTranspose2d: ag_module constructors
** (ag_module.h) over the ops of ag_conv.h.
**
**     ag_rng *rng = ag_rng_new(0);
**     ag_conv_opts pad1 = {.padding = {1, 1}};
**     ag_module *conv = ag_conv2d_new(1, 32, (int64_t[]){3, 3}, &pad1, 1, AG_F32, rng);
**     ag_tensor *y = ag_module_forward(conv, t, x);  // x [N,1,28,28] -> y [N,32,28,28]
**
** Tensors, under PyTorch's state_dict names, so a model saves to
** safetensors and loads into the same torch.nn model:
**   Conv:          "weight" [out, in/groups, kH, kW]  "bias" [out]
**   ConvTranspose: "weight" [in, out/groups, kH, kW]  "bias" [out]
** (1-D: one kernel size). Init as PyTorch's: weight kaiming_uniform(a =
** sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight's
** dim 1 times the kernel's area, then bias U(-1/sqrt(fan_in),
** 1/sqrt(fan_in)), both drawn from rng (weight first); with a NULL rng
** both are zeros, meant to be loaded (ag_module_load). For another init,
** fill them through ag_module_get(m, "weight").
**
** opts are the ops' options (ag_conv.h: stride, padding, dilation, groups,
** output_padding, padding_kind "same"/"valid"; NULL or zeros for PyTorch's
** defaults), copied into the layer. A 1-D layer reads entry [0] of each.
** The forward takes x [N, in, ...] or unbatched [in, ...] of the layer's
** dtype and returns the op's result.
**
** Errors. Constructors return NULL and set ag_last_error(), naming the
** constructor: channels < 1, a kernel size < 1, groups that do not divide
** both channel counts, any option the op would refuse (negative values,
** "same" with a stride > 1, "same"/"valid" for a transposed layer, an
** output_padding not below the stride or the dilation, a 1-D layer given
** an entry [1]), an unknown dtype, out of memory. The
** forward returns NULL with the error on the tape, the message starting
** with the layer's description as PyTorch prints it: "Conv2d(1, 16,
** kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)): x has 3 channels,
** expected 1 (x is [64,3,28,28])"; a wrong dtype or number of dimensions
** likewise.
**
** Differences from PyTorch: padding_mode is zeros only (pad first with
** another op for reflect or replicate); the generator is borrowed for the
** constructor only.
*/
#ifndef AG_CONV_LAYERS_H
#define AG_CONV_LAYERS_H

#include "ag_conv.h"
#include "ag_core.h"
#include "ag_module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Conv2d(in_channels, out_channels, kernel_size {kH, kW}, ...). */
ag_module *ag_conv2d_new(int64_t in_channels, int64_t out_channels,
                         const int64_t kernel_size[2], const ag_conv_opts *opts, int bias,
                         ag_dtype dt, ag_rng *rng);

/* Conv1d(in_channels, out_channels, kernel_size, ...). */
ag_module *ag_conv1d_new(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
                         const ag_conv_opts *opts, int bias, ag_dtype dt, ag_rng *rng);

/* ConvTranspose2d(in_channels, out_channels, kernel_size {kH, kW}, ...):
   the transposed convolution (a decoder's upsampling layer). */
ag_module *ag_conv_transpose2d_new(int64_t in_channels, int64_t out_channels,
                                   const int64_t kernel_size[2], const ag_conv_opts *opts,
                                   int bias, ag_dtype dt, ag_rng *rng);

/* ConvTranspose1d(in_channels, out_channels, kernel_size, ...). */
ag_module *ag_conv_transpose1d_new(int64_t in_channels, int64_t out_channels,
                                   int64_t kernel_size, const ag_conv_opts *opts, int bias,
                                   ag_dtype dt, ag_rng *rng);

#ifdef __cplusplus
}
#endif
#endif /* AG_CONV_LAYERS_H */
