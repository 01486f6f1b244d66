/*
** ag_update.h: fused parameter updates, the kernels an optimizer's step
** runs (PyTorch's fused=True path of torch.optim.Adam / AdamW, its
** torch._fused_adam_). One pass over memory reads and writes each element
** of the parameter and its state once, where the same rule written with
** ops (lerp_, mul_, addcmul_, sqrt, addcdiv_) takes seven. Nothing is
** recorded: an update has no gradient.
*/
#ifndef AG_UPDATE_H
#define AG_UPDATE_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The hyper-parameters of one Adam step (PyTorch's names). */
typedef struct ag_adam_hparams {
    double lr, beta1, beta2, eps, weight_decay;
    int64_t step;               /* t >= 1: this step's count, for the bias corrections */
    int decoupled;              /* AdamW: p *= 1 - lr wd, else g += wd p */
    int amsgrad;                /* keep max_exp_avg_sq and divide by its root */
    int maximize;               /* ascend: g = -grad */
} ag_adam_hparams;

/*
** One Adam (AdamW when h->decoupled) step of param, in place, with
** PyTorch's rule and its order of operations, element by element:
**   g = grad (-grad when maximize);  g += wd p (Adam) or p *= 1 - lr wd (AdamW)
**   m = lerp(m, g, 1 - beta1);  v = v beta2 + (1 - beta2) g g
**   vmax = max(vmax, v) (amsgrad, then used for v below)
**   p += -lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
** exp_avg (m), exp_avg_sq (v) and, with amsgrad, max_exp_avg_sq (vmax;
** NULL otherwise) are updated in place. Every tensor has param's dtype and
** shape (no broadcasting) and is persistent or of tape t. Nothing is
** recorded, so, as with the out= ops, with grad mode on a tensor that
** requires grad is an error (AG_ERR_ARG): call it with grad mode off, as
** an optimizer does. The hyper-parameters are
** checked (lr, eps, weight_decay finite and >= 0, betas in [0, 1),
** step >= 1). The values equal the composition of ag_lerp_out,
** ag_addcmul_out and ag_addcdiv_out bit for bit in either dtype. Large
** tensors are split over the thread pool; every element gets the same
** result whatever the thread count. Returns param, or NULL with the error
** on t (AG_ERR_ARG, AG_ERR_SHAPE, AG_ERR_DTYPE naming the argument).
*/
ag_tensor *ag_adam_update(ag_tape *t, ag_tensor *param, const ag_tensor *grad,
                          ag_tensor *exp_avg, ag_tensor *exp_avg_sq, ag_tensor *max_exp_avg_sq,
                          const ag_adam_hparams *h);

#ifdef __cplusplus
}
#endif
#endif
