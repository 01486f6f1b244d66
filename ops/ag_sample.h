/*
** ag_sample.h: sampling from distributions with the seeded generator
** (ag_rng, ag_core.h): multinomial (categorical) from probabilities or
** from logits, with or without replacement, and bernoulli. PyTorch's
** semantics unless a comment says otherwise.
**
** Reproducibility. The draws depend only on the generator's state and the
** arguments: the same seed gives the same samples whatever the thread
** count (sampling runs on the calling thread, in row-major order), and
** each call leaves the generator where its last draw left it. One
** ag_rng_uniform is drawn per sample (multinomial) or per element
** (bernoulli), in order; nothing is drawn when a call fails. PyTorch's
** generator is another one: a seed gives other samples there.
**
** Results. Samples are int64_t category indices in the caller's array
** (capacity entries at least), the kind of array ag_one_hot, ag_gather
** and ag_index_select take; bernoulli gives a constant 0/1 tensor. None
** of them carries a gradient (they record nothing).
**
** Errors return NULL (or the status) with the message on the tape (or in
** ag_last_error() when t is NULL, where allowed), naming the function,
** what is wrong, the position and value, and the shape: AG_ERR_ARG for a
** NULL generator, NULL or stale tensors, bad probabilities or counts, too
** small a capacity; AG_ERR_SHAPE for a probs tensor not 1-D or 2-D.
*/
#ifndef AG_SAMPLE_H
#define AG_SAMPLE_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** num_samples (>= 1) category indices drawn from each row of probs, a 1-D
** [C] or 2-D [B, C] tensor of non-negative weights (they need not add up
** to 1: each row is divided by its sum), written to out as [num_samples]
** or [B, num_samples]. With replacement the draws of a row are
** independent; without it they are as drawing one at a time and removing
** each category drawn (its weight set to 0, the rest renormalized), so a
** row never repeats a category. A category of weight 0 is never drawn.
** Refused (AG_ERR_ARG): a negative, NaN or infinite weight, a row whose
** weights are all 0, num_samples < 1, and without replacement num_samples
** above the number of non-zero weights in a row (PyTorch's documented
** rule; its 1.13 CPU kernel instead returns weight-0 categories once the
** others are drawn). B may be 0 (nothing is drawn).
** The draw: the row's weights are scaled so the largest is 1 (w = p /
** max p); with u the uniform drawn, the sample is the first category whose
** running sum of w exceeds u * sum(w), each sum in double.
*/
ag_status ag_multinomial(ag_tape *t, ag_rng *r, ag_tensor *probs, int64_t num_samples,
                         int replacement, int64_t *out, int64_t capacity);

/*
** As ag_multinomial, with the probabilities softmax(logits) along the last
** axis (a categorical distribution from logits), computed stably in double
** (w = exp(l - max l): logits of 1000 are fine). A
** logit of -inf is a weight of 0; NaN or +inf is refused, as is a row of
** only -inf. To sample with a temperature T, pass logits / T (ag_div_scalar).
*/
ag_status ag_multinomial_logits(ag_tape *t, ag_rng *r, ag_tensor *logits,
                                int64_t num_samples, int replacement, int64_t *out,
                                int64_t capacity);

/*
** A constant tape tensor of probs' shape and dtype: element i is 1 with
** probability probs[i], else 0; precisely, 1 iff the i-th uniform drawn
** (row-major) is < probs[i], so 0 never gives 1 and 1 always does. Every
** probs[i] must be in [0, 1] (NaN or outside: AG_ERR_ARG naming the
** position and the value).
*/
ag_tensor *ag_bernoulli(ag_tape *t, ag_rng *r, ag_tensor *probs);

/*
** The same with one probability p for every element of a new tensor of
** dtype dt and the given shape: torch.bernoulli(torch.full(shape, p)),
** or x.bernoulli_(p). p outside [0, 1] or NaN is AG_ERR_ARG. With t NULL
** the tensor is persistent (the caller frees it), as ag_rand_uniform.
*/
ag_tensor *ag_bernoulli_p(ag_tape *t, ag_rng *r, ag_dtype dt, int ndim,
                          const int64_t *shape, double p);

#ifdef __cplusplus
}
#endif
#endif
