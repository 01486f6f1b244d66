/*
** lsq_base.h: what Gauss-Newton and Levenberg-Marquardt share (not
** installed), defined in least_squares.c: evaluating the residual
** function, its Jacobian through ag_grad (by rows or by columns), and the
** normal equations' J^T J and J^T r.
*/
#ifndef AG_LSQ_BASE_H
#define AG_LSQ_BASE_H

#include "closure_base.h"
#include "ag_minimize.h"

typedef struct agp_lsq {
    ag_optim base;
    ag_lsq_jacobian mode;
    int64_t n;                  /* N, the parameters' total element count */
    int64_t m, m_cap;           /* M of the last evaluation; rows allocated */
    ag_tape *eval;              /* the residual function's tape */
    ag_tensor **grads;          /* n_params slots */
    double *jac;                /* [M, N] */
    double *r;                  /* [M] */
    double *jtj, *chol;         /* [N, N] */
    double *jtr, *step;         /* [N] */
} agp_lsq;

/* Allocates the N-sized buffers and the tape; 0 with ag_last_error(). */
int agp_lsq_init(agp_lsq *L, ag_lsq_jacobian mode);
void agp_lsq_destroy(agp_lsq *L);
/* Checks jacobian, max_params >= 1 and N <= max_params for fn (a
   constructor); 0 with ag_last_error(). */
int agp_lsq_check(const char *fn, int max_params, ag_lsq_jacobian jacobian, int n,
                  ag_tensor *const *params);
/*
** Evaluates the residuals at the current parameters into L->r (L->m
** set), and with jacobian also L->jac, L->jtj = J^T J and L->jtr = J^T r.
** *cost = 0.5 |r|^2. Refuses NaN or Inf in r or J (AG_ERR_ARG naming the
** entry). The status, with ag_last_error() prefixed with fn.
*/
ag_status agp_lsq_eval(agp_lsq *L, const char *fn, ag_residual_fn f, void *ctx, int jacobian,
                       double *cost);

#endif
