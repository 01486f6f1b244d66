/*
** ag_rnn.h: recurrent layers, as PyTorch's torch.nn modules of the same
** names: the cells RNNCell (tanh or relu), LSTMCell and GRUCell (one time
** step), and RNN, LSTM and GRU (a whole sequence, stacked layers, one or
** two directions).
**
**     ag_rng *rng = ag_rng_new(0);
**     ag_module *lstm = ag_lstm_new(8, 16, 2, 1, 1, 0.0, 0, AG_F32, rng);
**     ag_tensor *y, *h_n, *c_n;                      // x is [B, T, 8]
**     if (ag_rnn_forward(lstm, t, x, NULL, NULL, &y, &h_n, &c_n) != AG_OK)
**         fprintf(stderr, "%s\n", ag_tape_errmsg(t));
**     // y is [B, T, 16]; h_n and c_n are [2, B, 16]
**
** Weights. PyTorch's names, layouts, gate order and init, so a state_dict
** moves both ways (ag_module_save / ag_module_load, ag_safetensors.h):
** per layer k (and per direction: the reverse one's names end in
** "_reverse") "weight_ih_lk" [G*H, I_k], "weight_hh_lk" [G*H, H],
** "bias_ih_lk" [G*H], "bias_hh_lk" [G*H], listed in that order, layer by
** layer, forward direction first; a cell's are "weight_ih", "weight_hh",
** "bias_ih", "bias_hh". G is 1 (RNN), 4 (LSTM: gates i, f, g, o) or 3
** (GRU: r, z, n); I_0 is input_size, I_k = H * directions above. Every
** tensor is drawn from U(-1/sqrt(H), 1/sqrt(H)) in that order.
**
** The math, as PyTorch's documentation writes it (W_i* and b_i* are the
** rows of weight_ih and bias_ih for one gate, W_h* and b_h* of the hh
** ones):
**     RNN:  h' = act(W_ih x + b_ih + W_hh h + b_hh), act tanh or relu
**     LSTM: i = sigmoid(W_ii x + b_ii + W_hi h + b_hi), f and o alike,
**           g = tanh(W_ig x + b_ig + W_hg h + b_hg),
**           c' = f * c + i * g,  h' = o * tanh(c')
**     GRU:  r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z alike,
**           n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
**           h' = (1 - z) * n + z * h
** Every layer is a composition of ops (ag_linear, ag_unbind, ag_lstm_cell,
** ag_chunk, ag_sigmoid, ag_tanh, ag_addcmul, ag_stack, ...), so gradients
** of every order are available (and ag_jvp). A sequence layer multiplies
** its whole input by W_ih once (b_ih + b_hh added in for RNN and LSTM),
** cuts the product into steps with ag_unbind (whose backward is one
** stack), and runs one product by W_hh per step; an LSTM's step is then
** one op, ag_lstm_cell.
**
** Errors. Constructors return NULL with ag_last_error() set (sizes < 1,
** dropout outside [0, 1], an unknown nonlinearity or dtype). A NULL
** generator gives zero weights, for a model whose weights will be loaded
** (ag_module_load); a training forward of a layer with dropout > 0 then
** fails with "ag_dropout_mask: generator is NULL" on the tape. Forwards return NULL (or a status) with the error on the
** tape; the message starts with the layer's description, as PyTorch
** prints it ("LSTM(3, 4, num_layers=2, bidirectional=True)"), and names
** the shapes: "GRU(3, 4): x is [5,2,7], expected [T, B, 3] or [T, 3]".
** Inputs and states must have the layer's dtype (AG_ERR_DTYPE).
**
** Differences from PyTorch: LSTM's proj_size is not offered; packed
** (variable-length) sequences are not offered; a module's plain forward
** (ag_module_forward) returns the output alone (PyTorch returns a tuple).
*/
#ifndef AG_RNN_H
#define AG_RNN_H

#include "ag_core.h"
#include "ag_module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* -------------------------------------------------------------- cells --- */

/*
** RNNCell(input_size, hidden_size, bias, nonlinearity): nonlinearity is
** "tanh" (or NULL, PyTorch's default) or "relu". LSTMCell and GRUCell take
** the same sizes. No bias tensors when bias is 0 (PyTorch's default: 1).
** The generator is used during construction only.
*/
ag_module *ag_rnn_cell_new(int64_t input_size, int64_t hidden_size, int bias,
                           const char *nonlinearity, ag_dtype dt, ag_rng *rng);
ag_module *ag_lstm_cell_new(int64_t input_size, int64_t hidden_size, int bias,
                            ag_dtype dt, ag_rng *rng);
ag_module *ag_gru_cell_new(int64_t input_size, int64_t hidden_size, int bias,
                           ag_dtype dt, ag_rng *rng);

/*
** One step of a cell: x [B, input_size] (or [input_size], unbatched, then
** every state is [hidden_size]), h [B, hidden_size] or NULL (zeros), c
** likewise for an LSTMCell and NULL for the others (a c given to them is
** AG_ERR_ARG). *h_out receives h' and, for an LSTMCell, *c_out c' (c_out
** may be NULL; for the other cells *c_out is set to NULL). Returns AG_OK
** or the tape's status, with the outputs NULL on error (AG_ERR_ARG when m
** is not a cell; AG_ERR_SHAPE / AG_ERR_DTYPE naming x, h or c).
** ag_module_forward(cell, t, x) is this step from zero states and returns
** h' (an LSTMCell's c' is dropped).
*/
ag_status ag_rnn_cell_forward(ag_module *cell, ag_tape *t, ag_tensor *x, ag_tensor *h,
                              ag_tensor *c, ag_tensor **h_out, ag_tensor **c_out);

/* ---------------------------------------------------------- sequences --- */

/*
** RNN, LSTM and GRU over a sequence, PyTorch's arguments in PyTorch's
** order (its defaults: num_layers 1, nonlinearity "tanh", bias 1,
** batch_first 0, dropout 0, bidirectional 0):
**   num_layers >= 1 stacked layers, layer k > 0 reading layer k-1's
**   output; with bidirectional each layer also runs from the last step
**   to the first and the two outputs are joined along the last axis;
**   dropout in [0, 1]: in training, ag_dropout_mask on each layer's
**   output but the last's (none in evaluation); rng is then drawn from at
**   every forward, so it is borrowed and must outlive the layer (it also
**   draws the init).
** With batch_first x is [B, T, I] and y [B, T, D*H], else [T, B, I] and
** [T, B, D*H]; an unbatched x is [T, I] and y [T, D*H] (batch_first has
** no effect then, as in PyTorch). D is 2 with bidirectional, else 1.
*/
ag_module *ag_rnn_new(int64_t input_size, int64_t hidden_size, int num_layers,
                      const char *nonlinearity, int bias, int batch_first, double dropout,
                      int bidirectional, ag_dtype dt, ag_rng *rng);
ag_module *ag_lstm_new(int64_t input_size, int64_t hidden_size, int num_layers, int bias,
                       int batch_first, double dropout, int bidirectional, ag_dtype dt,
                       ag_rng *rng);
ag_module *ag_gru_new(int64_t input_size, int64_t hidden_size, int num_layers, int bias,
                      int batch_first, double dropout, int bidirectional, ag_dtype dt,
                      ag_rng *rng);

/*
** Runs a sequence module on x (shapes above) from the initial states h0
** and, for an LSTM, c0: each [num_layers * D, B, H] ([num_layers * D, H]
** for an unbatched x) whatever batch_first, in the order of h_n below, or
** NULL for zeros; a c0 given to an RNN or GRU is AG_ERR_ARG. Outputs: *y
** the last layer's output at every step; *h_n the final hidden state of
** every layer and direction, [num_layers * D, B, H] (layer 0 forward,
** layer 0 reverse, layer 1 forward, ...; a reverse direction's final state
** is the one after step 0); *c_n likewise for an LSTM (NULL for the
** others). Any of y, h_n, c_n may be NULL when not wanted. Returns AG_OK
** or the tape's status, the outputs NULL on error (AG_ERR_ARG when m is
** not RNN/LSTM/GRU; AG_ERR_SHAPE naming x, h0 or c0 and the expected
** shape; AG_ERR_DTYPE). ag_module_forward(m, t, x) returns *y from zero
** states. An empty sequence (T = 0) is AG_ERR_SHAPE.
*/
ag_status ag_rnn_forward(ag_module *m, ag_tape *t, ag_tensor *x, ag_tensor *h0,
                         ag_tensor *c0, ag_tensor **y, ag_tensor **h_n, ag_tensor **c_n);

#ifdef __cplusplus
}
#endif
#endif /* AG_RNN_H */
