/*
** ag_attention.h: scaled dot-product attention as one op (PyTorch 2.x's
** torch.nn.functional.scaled_dot_product_attention), with its own
** backward rule. Multi-head attention and the transformer layer built on
** it are in nn/ag_attention.h.
*/
#ifndef AG_ATTENTION_H
#define AG_ATTENTION_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How ag_attention_opts.mask is read. */
typedef enum ag_attn_mask_kind {
    AG_ATTN_MASK_BOOL = 0,      /* non-zero: attend; zero: the score is -inf */
    AG_ATTN_MASK_ADD = 1        /* added to the scaled scores (0, -inf, a bias) */
} ag_attn_mask_kind;

/*
** The options of ag_scaled_dot_product_attention; all zeros (or a NULL
** pointer) is PyTorch's defaults: no mask, not causal, no dropout, the
** scale 1/sqrt(E). Nothing here is kept by the op beyond the call except
** the mask tensor, which the op reads again in its backward (keep it alive
** until then, as any input).
*/
typedef struct ag_attention_opts {
    ag_tensor *mask;            /* NULL, or broadcastable to the scores [..., L, S] */
    ag_attn_mask_kind mask_kind;
    int is_causal;              /* query i attends keys j <= i (torch's tril(ones(L, S))) */
    double dropout_p;           /* on the attention weights, in [0, 1]; 0: none */
    ag_rng *rng;                /* draws the dropout mask; needed when dropout_p > 0 */
    double scale;               /* 0: 1/sqrt(E) (1 for E = 0) */
} ag_attention_opts;

/*
** softmax(q @ k^T * scale + mask) @ v, PyTorch's
** scaled_dot_product_attention: q is [..., L, E], k [..., S, E], v
** [..., S, Ev]; the result is [..., L, Ev]. The batch dims (all but the
** last two) of q and k broadcast as ag_matmul's into the scores' batch,
** and v's (and the mask's) must broadcast to the scores [..., L, S]
** without enlarging them. A boolean mask (AG_ATTN_MASK_BOOL, a 0/1 tensor
** of q's dtype such as ag_gt gives) lets query i attend key j where it is
** non-zero, as torch's True; an additive mask (AG_ATTN_MASK_ADD) is added
** to the scaled scores and is differentiable (a learned bias gets its
** gradient, summed over its broadcast dims). is_causal masks j > i as
** well (top-left aligned when L != S, as torch). The softmax is the
** stable one (each row's max subtracted). With dropout_p > 0 each weight
** is zeroed with probability dropout_p and the rest scaled by
** 1/(1 - dropout_p) (ag_dropout_mask: the same rng state gives the same
** mask); as torch's function, dropout applies whenever dropout_p > 0
** (pass 0 in evaluation).
**
** One node on the tape. It keeps the attention weights softmax(...)
** [..., L, S] (and the dropout mask when dropout_p > 0): nothing else of
** size L x S. Its backward rule is written with ops (dv = W^T @ dy,
** dW = dy @ v^T, dS = W * (dW - rowsum(dW * W)), dq = scale dS @ k,
** dk = scale dS^T @ q), so gradients of any order follow: under
** create_graph the rule recomputes the weights from q and k with ops.
** Differences from PyTorch: masks are 0/1 (or additive) tensors of q's
** dtype, not torch.bool; a query row whose every key is masked gives NaN
** (as PyTorch 2.0's math path; later fused kernels differ); no enable_gqa.
** Errors: AG_ERR_ARG for a NULL q, k or v, dropout_p outside [0, 1] or
** NaN, dropout_p > 0 without an rng, a scale that is not finite, or an
** unknown mask_kind; AG_ERR_DTYPE when q, k, v and mask differ in dtype;
** AG_ERR_SHAPE, naming q, k, v (and the mask) with their shapes, for an
** operand below 2-D, q's E not k's, k's S not v's, batch dims that do not
** broadcast, or a mask that does not broadcast to the scores.
*/
ag_tensor *ag_scaled_dot_product_attention(ag_tape *t, ag_tensor *q, ag_tensor *k,
                                           ag_tensor *v, const ag_attention_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
