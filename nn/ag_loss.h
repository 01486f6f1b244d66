/*
** ag_loss.h: loss functions and weight penalties, PyTorch's
** torch.nn.functional losses in C.
**
** Each loss is a composition of ops on tape t (its gradient comes from the
** ops' backward rules, to any order), so it may be differentiated in every
** tensor argument, targets included, and higher-order gradients work:
**
**     ag_tensor *logits = ag_matmul(t, x, w);                  // [N, C]
**     ag_tensor *loss = ag_cross_entropy_loss(t, logits, labels, AG_REDUCTION_MEAN);
**     loss = ag_add(t, loss, ag_mul_scalar(t, ag_l2_penalty(t, 1, &w), 0.5 * 1e-4));
**     if (!loss || ag_backward(t, loss) != AG_OK) puts(ag_tape_errmsg(t));
**
** Common rules.
** - Reduction: AG_REDUCTION_MEAN (PyTorch's default) gives a 0-d mean,
**   SUM a 0-d sum, NONE the unreduced losses (the input's shape for
**   elementwise losses, the targets' shape for class losses).
**   AG_REDUCTION_BATCHMEAN is for ag_kl_div_loss only.
** - Inputs and targets are tensors of one dtype (AG_F32 or AG_F64), the
**   result is of that dtype. Elementwise losses need target of exactly the
**   input's shape (PyTorch broadcasts some, with a warning).
** - Class-index targets are plain int64_t arrays, copied onto the tape (the
**   caller may free them at once). For an input of shape [N, C, d1..dk]
**   the class axis is 1 and targets holds N*d1*..*dk entries in row-major
**   order of [N, d1..dk]; for a 1-D input [C] it holds one entry and the
**   unreduced loss is 0-d.
** - Errors: NULL is returned and the tape holds the status and a message
**   naming the function: a NULL tensor or targets array (AG_ERR_ARG),
**   a tensor of another tape (AG_ERR_STATE), shapes that do not fit
**   (AG_ERR_SHAPE, naming both shapes), mixed dtypes (AG_ERR_DTYPE), a
**   target index out of [0, C) (AG_ERR_ARG, naming its position and value),
**   a reduction that is not one of the enum's values or a bad parameter
**   (AG_ERR_ARG). A tape already in error gives NULL and keeps its first
**   message, as every op. A NULL tape gives NULL with ag_last_error() set.
** - Values are read from tensors only to check them (targets, labels,
**   probabilities); a loss never writes to its arguments.
*/
#ifndef AG_LOSS_H
#define AG_LOSS_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_reduction {
    AG_REDUCTION_MEAN = 0,   /* mean over the loss elements (default) */
    AG_REDUCTION_SUM,        /* sum of the loss elements */
    AG_REDUCTION_NONE,       /* no reduction */
    AG_REDUCTION_BATCHMEAN   /* sum / input's dim 0 (ag_kl_div_loss only) */
} ag_reduction;

/* ------------------------------------------------------- regression --- */

/* (input - target)^2 elementwise (PyTorch's mse_loss). */
ag_tensor *ag_mse_loss(ag_tape *t, ag_tensor *input, ag_tensor *target,
                       ag_reduction red);
/* |input - target| elementwise (l1_loss). The gradient at input == target
   is 0 (abs'(0) = 0, as PyTorch). */
ag_tensor *ag_l1_loss(ag_tape *t, ag_tensor *input, ag_tensor *target,
                      ag_reduction red);
/*
** Huber loss (huber_loss), with d = input - target:
**   0.5 d^2                   where |d| < delta,
**   delta (|d| - 0.5 delta)   elsewhere.
** delta must be > 0 (and finite), else AG_ERR_ARG.
*/
ag_tensor *ag_huber_loss(ag_tape *t, ag_tensor *input, ag_tensor *target,
                         double delta, ag_reduction red);
/*
** Smooth L1 loss (smooth_l1_loss), with d = input - target:
**   0.5 d^2 / beta   where |d| < beta,
**   |d| - 0.5 beta   elsewhere;
** beta == 0 gives the L1 loss exactly; beta < 0 is AG_ERR_ARG. For
** beta > 0, huber_loss(delta = beta) == beta * smooth_l1_loss(beta): Huber
** keeps the slope delta far out, smooth L1 keeps slope 1.
*/
ag_tensor *ag_smooth_l1_loss(ag_tape *t, ag_tensor *input, ag_tensor *target,
                             double beta, ag_reduction red);

/* ----------------------------------------------------------- binary --- */

/*
** Binary cross-entropy on probabilities (binary_cross_entropy):
**   -(target * log(probs) + (1 - target) * log(1 - probs)),
** each log clamped to >= -100 as PyTorch does, so probs of exactly 0 or 1
** give finite values (100 per wrong-sided element). Every probs value must
** be in [0, 1] (AG_ERR_ARG naming the first one outside, NaN included, as
** PyTorch). Targets are not checked (soft targets are fine).
** Gradient: the exact derivative of the clamped function: a log clamped
** (its argument <= e^-100) contributes 0, the other term its usual part,
** so p = 0 gives 1 - y and p = 1 gives -y. PyTorch's hand-written rule
** gives (p - y) / max(p (1 - p), 1e-12) there instead (up to +-1e12).
** For training prefer ag_bce_with_logits_loss: it is exact far out.
*/
ag_tensor *ag_bce_loss(ag_tape *t, ag_tensor *probs, ag_tensor *target,
                       ag_reduction red);
/* The same with an elementwise weight (PyTorch's weight argument) that
   broadcasts to probs's shape; weight may be NULL (all ones). */
ag_tensor *ag_bce_loss_weighted(ag_tape *t, ag_tensor *probs,
                                ag_tensor *target, ag_tensor *weight,
                                ag_reduction red);
/*
** Binary cross-entropy on logits (binary_cross_entropy_with_logits), the
** stable form of bce(sigmoid(x), y):
**   softplus(x) - x y  =  max(x, 0) - x y + log(1 + e^-|x|),
** finite with finite gradient sigmoid(x) - y for any finite x (1e4 too);
** smooth at x = 0.
*/
ag_tensor *ag_bce_with_logits_loss(ag_tape *t, ag_tensor *logits,
                                   ag_tensor *target, ag_reduction red);
/*
** With weights, as PyTorch: weight (elementwise, broadcast to logits's
** shape) multiplies each loss; pos_weight (broadcast likewise, typically
** [C] for logits [N, C]) multiplies the positive term:
**   -w [p y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))]
**   = w [softplus(x) - x y + (p - 1) y softplus(-x)].
** Either may be NULL.
*/
ag_tensor *ag_bce_with_logits_loss_weighted(ag_tape *t, ag_tensor *logits,
                                            ag_tensor *target,
                                            ag_tensor *weight,
                                            ag_tensor *pos_weight,
                                            ag_reduction red);
/*
** Binary hinge loss, as an SVM's or sklearn's hinge_loss:
**   max(0, 1 - labels * scores),
** labels of scores's shape, each exactly -1 or +1 (AG_ERR_ARG naming the
** first other value). PyTorch has no such loss: its HingeEmbeddingLoss is
** a different one (x where y = 1, max(0, margin - x) where y = -1, for
** distances). The gradient at the kink (y s == 1) is 0, as relu'(0).
*/
ag_tensor *ag_hinge_loss(ag_tape *t, ag_tensor *scores, ag_tensor *labels,
                         ag_reduction red);

/* ------------------------------------------------------- multi-class --- */

/* PyTorch's default ignore_index: a class-index target of -100 is
   ignored by cross-entropy and nll (padding), unless opts say otherwise. */
#define AG_IGNORE_INDEX (-100)

/*
** Options of the class-index losses. All-zero ({0}) means no class
** weights, the default ignore index (-100) and no smoothing: the plain
** functions below.
*/
typedef struct ag_class_loss_opts {
    /* [C] rescaling weight of each class (of the input's dtype), or NULL.
       Differentiable here (PyTorch does not differentiate nll's weight). */
    ag_tensor *weight;
    /* A target equal to the ignore index contributes nothing, and mean
       divides by the weight of the others only. The index is PyTorch's
       default, AG_IGNORE_INDEX (-100), unless has_ignore_index is set:
       then it is ignore_index (any value; to ignore nothing, give one no
       target takes, as in PyTorch). With every target
       ignored (an all-padding batch), mean is NaN (0 / 0) and its
       gradient 0 everywhere, as PyTorch's (so a step from it leaves the
       weights alone); sum and none are 0, gradient 0. */
    int has_ignore_index;
    int64_t ignore_index;
    /* In [0, 1]: the target becomes (1 - s) one_hot + s / C (cross-entropy
       only; must be 0 for ag_nll_loss_ex). */
    double label_smoothing;
} ag_class_loss_opts;

/*
** Cross-entropy from logits and class indices (cross_entropy):
**   loss_n = -log_softmax(logits)[n, targets[n]],
** log_softmax along the class axis (stable: logits of +-1e4 are exact and
** their gradient, softmax - one_hot, is finite). logits is [N, C], or
** [N, C, d1..dk], or [C] (see "Common rules"). Every target must be in
** [0, C) or be AG_IGNORE_INDEX (-100, ignored as in PyTorch: see
** ag_class_loss_opts); others are AG_ERR_ARG.
*/
ag_tensor *ag_cross_entropy_loss(ag_tape *t, ag_tensor *logits,
                                 const int64_t *targets, ag_reduction red);
/*
** With options (opts may be NULL), PyTorch's semantics:
**   loss_n = -w[y_n] logp[n, y_n]  (0 for an ignored target),
**   mean   = sum_n loss_n / sum_n w[y_n] (over targets not ignored; NaN
**            with a 0 gradient when every target is ignored),
** and with smoothing s, loss_n = (1 - s) loss_n + s / C * smooth_n where
** smooth_n = -sum_c w[c] logp[n, c], reduced over the same denominator.
*/
ag_tensor *ag_cross_entropy_loss_ex(ag_tape *t, ag_tensor *logits,
                                    const int64_t *targets,
                                    const ag_class_loss_opts *opts,
                                    ag_reduction red);
/*
** Cross-entropy with probability targets (cross_entropy given a float
** target): loss_n = -sum_c probs[n, c] log_softmax(logits)[n, c], probs of
** logits's shape (one-hot or soft rows; not checked). Mean divides by the
** number of rows (N * d1..dk), as PyTorch. Differentiable in probs too.
*/
ag_tensor *ag_cross_entropy_soft_loss(ag_tape *t, ag_tensor *logits,
                                      ag_tensor *probs, ag_reduction red);
/* With options (opts may be NULL): weight multiplies each class's term and
   label_smoothing mixes probs with the uniform distribution; ignore_index
   does not apply to probabilities (AG_ERR_ARG if set), as PyTorch. */
ag_tensor *ag_cross_entropy_soft_loss_ex(ag_tape *t, ag_tensor *logits,
                                         ag_tensor *probs,
                                         const ag_class_loss_opts *opts,
                                         ag_reduction red);
/*
** Negative log-likelihood of log-probabilities (nll_loss):
** loss_n = -logp[n, targets[n]]; shapes and targets as in cross-entropy.
** ag_cross_entropy_loss(x) == ag_nll_loss(ag_log_softmax(x, 1)).
*/
ag_tensor *ag_nll_loss(ag_tape *t, ag_tensor *logp, const int64_t *targets,
                       ag_reduction red);
/* With class weights and ignore_index (opts may be NULL; its
   label_smoothing must be 0). */
ag_tensor *ag_nll_loss_ex(ag_tape *t, ag_tensor *logp, const int64_t *targets,
                          const ag_class_loss_opts *opts, ag_reduction red);
/*
** Multi-class hinge loss, PyTorch's multi_margin_loss with p = 1 and no
** weight: for scores [N, C] (or [C]) and targets [N] (or one),
**   loss_n = sum_{j != y_n} max(0, margin - x[n, y_n] + x[n, j]) / C.
** Reductions over the N samples. The gradient at a kink is 0. Targets
** must be in [0, C) (no ignore index, as PyTorch).
*/
ag_tensor *ag_multi_margin_loss(ag_tape *t, ag_tensor *scores,
                                const int64_t *targets, double margin,
                                ag_reduction red);
/*
** With PyTorch's p (1 or 2) and weight ([C] of scores's dtype, or NULL):
**   loss_n = sum_{j != y_n} w[y_n] max(0, margin - x[n, y_n] + x[n, j])^p / C;
** mean divides by N (not by the weights, as PyTorch). Differentiable in
** weight too. AG_ERR_ARG for another p or a margin not finite.
*/
ag_tensor *ag_multi_margin_loss_ex(ag_tape *t, ag_tensor *scores,
                                   const int64_t *targets, int p,
                                   double margin, ag_tensor *weight,
                                   ag_reduction red);
/*
** PyTorch's hinge_embedding_loss (HingeEmbeddingLoss), for distances x and
** labels y of x's shape, +1 (similar) or -1 (dissimilar):
**   loss = (y != 1 ? max(0, margin - x) : 0) + (y != -1 ? x : 0),
** PyTorch's formula exactly (a label other than +-1 gets both terms).
** PyTorch's default margin is 1; it must be finite. The gradient at the
** kink (x == margin) is 0. Not differentiable in the labels.
*/
ag_tensor *ag_hinge_embedding_loss(ag_tape *t, ag_tensor *input,
                                   ag_tensor *target, double margin,
                                   ag_reduction red);

/* ---------------------------------------------------- index tensors --- */

/*
** The one integer index representation the whole API takes: an index
** tensor, an f32 or f64 tensor of whole numbers (exact up to 2^24 in f32,
** 2^53 in f64). Embedding's forward reads it (so a Sequential can start
** with an Embedding fed integers), and so do the class losses below; the
** int64_t array forms above (and ag_embedding_lookup) remain, and this
** makes one from the other:
**
**     ag_tensor *ids = ag_index_tensor(t, AG_F32, 2, (int64_t[]){4, 7}, tokens);
**     ag_tensor *logits = ag_module_forward(net, t, ids);   // Embedding first
**     ag_tensor *loss = ag_cross_entropy_loss_t(t, logits2d, labels, NULL, AG_REDUCTION_MEAN);
**
** ag_index_tensor: a tensor of shape [ndim; shape] holding idx[0..numel)
** on tape t (or persistent, owned by the caller, with t NULL). NULL with
** the error (on t, else ag_last_error()): AG_ERR_DTYPE for another dtype,
** AG_ERR_ARG for a bad shape, NULL idx, or an index beyond 2^24 (f32) or
** 2^53 (f64) in magnitude.
*/
ag_tensor *ag_index_tensor(ag_tape *t, ag_dtype dt, int ndim, const int64_t *shape,
                           const int64_t *idx);
/*
** ag_cross_entropy_loss_ex and ag_nll_loss_ex with the targets as an index
** tensor (either dtype) of the input's shape without the class axis ([N]
** for [N, C], [N, d1..] for [N, C, d1..], [] for [C]). A target that is
** not a whole number is AG_ERR_ARG naming its position; the shape
** AG_ERR_SHAPE; the rest as the _ex forms (opts may be NULL). Targets get
** no gradient.
*/
ag_tensor *ag_cross_entropy_loss_t(ag_tape *t, ag_tensor *logits,
                                   const ag_tensor *targets,
                                   const ag_class_loss_opts *opts,
                                   ag_reduction red);
ag_tensor *ag_nll_loss_t(ag_tape *t, ag_tensor *logp, const ag_tensor *targets,
                         const ag_class_loss_opts *opts, ag_reduction red);

/* ------------------------------------------------------- divergence --- */

/*
** Kullback-Leibler divergence (kl_div with log_target = false): input holds
** log-probabilities, target probabilities of the same shape;
**   target * (log(target) - input)  elementwise, with 0 where target == 0.
** AG_REDUCTION_BATCHMEAN (sum / input's dim 0; input needs ndim >= 1) is
** the true KL divergence per sample, PyTorch's recommended reduction;
** MEAN divides by every element instead, as PyTorch. A negative target
** gives NaN and target 0 with input -inf gives NaN, as PyTorch.
*/
ag_tensor *ag_kl_div_loss(ag_tape *t, ag_tensor *input, ag_tensor *target,
                          ag_reduction red);
/* With PyTorch's log_target: when set, target holds log-probabilities too
   and loss = exp(target) * (target - input) elementwise (finite where a
   probability is 0: exp(-inf) (-inf - x) is NaN, as PyTorch's). */
ag_tensor *ag_kl_div_loss_ex(ag_tape *t, ag_tensor *input, ag_tensor *target,
                             int log_target, ag_reduction red);

/* -------------------------------------------------------- penalties --- */

/*
** Weight penalties to add to a loss: sum over params[0..n) of sum |p|
** (l1) or sum p^2 (l2), as a 0-d tape tensor. n >= 1; every params[i]
** non-NULL and of one dtype (AG_ERR_ARG / AG_ERR_DTYPE naming i).
** PyTorch's SGD weight_decay = wd adds wd * p to each gradient, the same
** as adding (wd / 2) * ag_l2_penalty to the loss (not so for AdamW, whose
** decay is decoupled from the gradient). |p|'s gradient at 0 is 0.
*/
ag_tensor *ag_l1_penalty(ag_tape *t, int n, ag_tensor *const *params);
ag_tensor *ag_l2_penalty(ag_tape *t, int n, ag_tensor *const *params);

#ifdef __cplusplus
}
#endif
#endif
