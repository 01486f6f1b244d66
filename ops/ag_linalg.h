/*
** ag_linalg.h: matrix products and axis permutations.
*/
#ifndef AG_LINALG_H
#define AG_LINALG_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** a @ b. 2-D: [m,k] @ [k,n] -> [m,n]. Batched: [B,m,k] @ [B,k,n] ->
** [B,m,n]; a 3-D operand with a 2-D one broadcasts the 2-D one over the
** batch ([B,m,k] @ [k,n], [m,k] @ [B,k,n]).
*/
ag_tensor *ag_matmul(ag_tape *t, ag_tensor *a, ag_tensor *b);
/* Swaps two axes (a copy). */
ag_tensor *ag_transpose(ag_tape *t, ag_tensor *x, int axis0, int axis1);
/* Result axis i is x's axis perm[i]; perm is a permutation of 0..ndim-1. */
ag_tensor *ag_permute(ag_tape *t, ag_tensor *x, const int *perm);

#ifdef __cplusplus
}
#endif
#endif
