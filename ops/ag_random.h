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
** An inverted-dropout mask: each element is 0 with probability p, else
** 1/(1-p), drawn from r in row-major order (one ag_rng_uniform each). A
** constant (records nothing); dropout is ag_mul(x, mask). p in [0, 1];
** p = 1 gives all zeros.
*/
ag_tensor *ag_dropout_mask(ag_tape *t, ag_rng *r, ag_dtype dt, int ndim,
                           const int64_t *shape, double p);

#ifdef __cplusplus
}
#endif
#endif
