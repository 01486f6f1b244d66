/*
** ag_rnn_cell.h: the fused step of recurrent layers, one op where the
** composition of ops would be a dozen (nn/rnn.c's LSTM runs it per step).
*/
#ifndef AG_RNN_CELL_H
#define AG_RNN_CELL_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** One LSTM step from its gates' pre-activations: with z = xg + hg split
** into four column blocks of H (PyTorch's gate order i, f, g, o),
**
**     i = sigmoid(z_i), f = sigmoid(z_f), g = tanh(z_g), o = sigmoid(z_o)
**     c' = f * c + i * g,   h' = o * tanh(c')
**
** stored in *h_out and *c_out (tape tensors of c's shape). xg and hg are
** [B, 4H] (or [4H] for one sample) of one shape and dtype, typically
** x W_ih^T + b and h W_hh^T; hg may be NULL (z = xg). c is [B, H] ([H]).
** PyTorch's torch._thnn_fused_lstm_cell(xg, hg, c) without its biases;
** the sigmoids and tanhs are ag_vmath.h's (ag_sigmoid's and ag_tanh's
** values). One op with two outputs: its backward computes dz (given to
** both xg and hg) and dc in one pass, and under create_graph records the
** same rule with ops, so higher orders, ag_jvp and gradgradcheck work.
** Errors (the outputs NULL, the status returned, sticky): AG_ERR_ARG for
** a NULL t, xg, c, h_out or c_out; AG_ERR_SHAPE when xg is not 1-D or
** 2-D with a last dim divisible by 4, hg's shape differs from xg's, or
** c is not xg's shape with H in place of 4H, e.g. "ag_lstm_cell: c is
** [2,3], expected [2,4] for gates [2,16]"; AG_ERR_DTYPE for mixed dtypes.
*/
ag_status ag_lstm_cell(ag_tape *t, ag_tensor *xg, ag_tensor *hg, ag_tensor *c,
                       ag_tensor **h_out, ag_tensor **c_out);

#ifdef __cplusplus
}
#endif
#endif
