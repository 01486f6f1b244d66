/*
** ag_random.h: random masks on the tape. (Random tensors themselves,
** ag_rand_uniform and ag_rand_normal, are in ag_core.h.)
*/
#ifndef AG_RANDOM_H
#define AG_RANDOM_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** An inverted-dropout mask of dtype dt and the given shape: each element
** is 0 with probability p, else 1/(1-p) (rounded to dt), so the mask's
** mean is 1. Element i is kept iff the i-th ag_rng_uniform(r) drawn, in
** row-major order, is >= p; exactly one uniform is drawn per element
** whatever p is, so the same generator state gives the same mask. p = 0
** gives all ones, p = 1 all zeros. The mask is a constant: it records
** nothing and does not require grad; dropout is ag_mul(x, mask).
** With t == NULL the mask is persistent (the caller frees it), as with
** ag_rand_uniform. Errors (AG_ERR_ARG): r NULL, p outside [0, 1] or NaN,
** shape NULL with ndim > 0; on a tape already in error, returns NULL
** without drawing.
*/
ag_tensor *ag_dropout_mask(ag_tape *t, ag_rng *r, ag_dtype dt, int ndim,
                           const int64_t *shape, double p);

#ifdef __cplusplus
}
#endif
#endif
