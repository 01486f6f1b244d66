/*
** ag_attention_layers.h: attention layers, as torch.nn: MultiheadAttention
** and TransformerEncoderLayer, with PyTorch's state_dict names and
** default init, so weights move both ways (ag_module_save / _load). Built
** on ag_scaled_dot_product_attention (ops/ag_attention.h). (Named apart
** from the op's header, which has the name ag_attention.h.)
*/
#ifndef AG_ATTENTION_LAYERS_H
#define AG_ATTENTION_LAYERS_H

#include "ag_core.h"
#include "ag_module.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** The masks of a multi-head attention call (all zeros or a NULL pointer:
** none). The caller keeps ownership; they must live as long as the tape.
** As torch.nn.MultiheadAttention, a boolean mask is a 0/1 tensor whose
** NON-ZERO entries are masked OUT (the opposite of ag_attention_opts'
** boolean mask, which follows scaled_dot_product_attention); an additive
** one is added to the scores. Both are of the layer's dtype.
*/
typedef struct ag_mha_masks {
    ag_tensor *attn_mask;           /* [L, S] or [N * num_heads, L, S] */
    int attn_mask_additive;         /* 0: non-zero = masked out; 1: added */
    ag_tensor *key_padding_mask;    /* [N, S] ([S] unbatched): non-zero = a padded key */
    int key_padding_additive;       /* 0: non-zero = padded; 1: added */
    int is_causal;                  /* mask key j > query i as well */
} ag_mha_masks;

/*
** MultiheadAttention(embed_dim, num_heads, dropout, bias, batch_first):
** y = out_proj(attention(q W_q^T + b_q, k W_k^T + b_k, v W_v^T + b_v))
** over num_heads heads of embed_dim / num_heads each. Parameters
** "in_proj_weight" [3E, E] (W_q, W_k, W_v stacked; xavier_uniform),
** "in_proj_bias" [3E] (zeros), and the child "out_proj" (a Linear E -> E:
** "out_proj.weight" Linear's default init, "out_proj.bias" zeros), as
** PyTorch (the draws come from rng, so the values differ from torch's).
** Without bias there is no in_proj_bias and no out_proj.bias. dropout is
** applied to the attention weights in training (rng is borrowed and must
** outlive the layer). Inputs are [L, N, E] ([N, L, E] with batch_first)
** or unbatched [L, E]. Errors (NULL, ag_last_error()): embed_dim <= 0,
** num_heads <= 0 or not dividing embed_dim, dropout outside [0, 1], an
** unknown dtype. A NULL rng gives zero weights, for a layer whose weights
** will be loaded; a training forward with dropout > 0 then fails on the
** tape ("dropout_p ... needs an rng").
** Differences from PyTorch: key and value have embed_dim features (no
** kdim/vdim); only the output is returned (need_weights=False); is_causal
** applies a causal mask by itself (PyTorch's is a hint beside attn_mask).
*/
ag_module *ag_multihead_attention_new(int64_t embed_dim, int64_t num_heads, double dropout,
                                      int bias, int batch_first, ag_dtype dt, ag_rng *rng);

/*
** The attention output [L, N, E] ([N, L, E] batch_first; [L, E]
** unbatched) of query [L, N, E], key and value [S, N, E] (same layout),
** with masks (NULL: none). ag_module_forward(m, t, x) is this with query =
** key = value = x and no mask. NULL with the error on t (the message
** naming the layer and the shapes) when m is not a MultiheadAttention,
** when the inputs' dtypes, dims or batch sizes differ from the layer's or
** each other's, or a mask's shape does not fit.
*/
ag_tensor *ag_multihead_attention(ag_module *m, ag_tape *t, ag_tensor *query, ag_tensor *key,
                                  ag_tensor *value, const ag_mha_masks *masks);

/* The activation of the feed-forward block. */
typedef enum ag_ff_activation { AG_FF_RELU = 0, AG_FF_GELU = 1 } ag_ff_activation;

/*
** TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout,
** activation, layer_norm_eps, batch_first, norm_first), as PyTorch:
** post-norm (norm_first 0): x = norm1(x + sa(x)); x = norm2(x + ff(x));
** pre-norm (norm_first 1):  x = x + sa(norm1(x)); x = x + ff(norm2(x));
** sa(x) = dropout1(self_attn(x, x, x)), ff(x) = dropout2(linear2(
** dropout(act(linear1(x))))), act relu or gelu (the erf form). Children,
** by PyTorch's names: "self_attn" (a MultiheadAttention with bias),
** "linear1" (d_model -> dim_feedforward), "dropout", "linear2"
** (dim_feedforward -> d_model), "norm1", "norm2" (LayerNorm(d_model,
** layer_norm_eps)), "dropout1", "dropout2". PyTorch's defaults:
** dim_feedforward 2048, dropout 0.1, relu, eps 1e-5, batch_first 0,
** norm_first 0. rng draws the init and the dropout masks (borrowed).
** Errors as ag_multihead_attention_new, plus dim_feedforward <= 0 or an
** unknown activation.
*/
ag_module *ag_transformer_encoder_layer_new(int64_t d_model, int64_t nhead,
                                            int64_t dim_feedforward, double dropout,
                                            ag_ff_activation activation, double layer_norm_eps,
                                            int batch_first, int norm_first, ag_dtype dt,
                                            ag_rng *rng);

/*
** The layer on src [S, N, E] ([N, S, E] batch_first; [S, E] unbatched)
** with the self-attention's masks (src_mask, src_key_padding_mask,
** is_causal; NULL: none); ag_module_forward is this without masks. NULL
** with the error on t as ag_multihead_attention.
*/
ag_tensor *ag_transformer_encoder_layer(ag_module *m, ag_tape *t, ag_tensor *src,
                                        const ag_mha_masks *masks);

#ifdef __cplusplus
}
#endif
#endif
