/*
** descent_base.h: the driver shared by the line-search methods cg.c and
** bfgs.c (not installed): an iteration computes a direction d, searches
** along it with the strong-Wolfe line search (line_search.c) and moves
** the parameters; a step runs up to max_iter iterations with L-BFGS'
** stopping rules. Each method supplies its direction, its restart and
** the first trial step; the flat vectors are the data of registered
** AG_F64 state tensors, so a checkpoint restores them.
*/
#ifndef AG_DESCENT_BASE_H
#define AG_DESCENT_BASE_H

#include "closure_base.h"

typedef struct agp_descent agp_descent;

typedef struct agp_descent_ops {
    const char *step_fn;                /* "ag_cg_step" */
    /* d from g, prev_g, the last d and t (an iteration after the first). */
    void (*direction)(agp_descent *D);
    /* d = -g and the method's memory cleared (the first iteration, and
       when direction gave no descent direction). */
    void (*restart)(agp_descent *D);
    /* The line search's first trial step (an iteration after the first);
       gtd = g.d. */
    double (*trial_step)(agp_descent *D, double gtd);
} agp_descent_ops;

typedef struct agp_descent_opts {
    double lr;                          /* the first iteration's step scale */
    int max_iter, max_eval;
    double tolerance_grad, tolerance_change;
    double c2;                          /* the curvature condition's constant */
} agp_descent_opts;

struct agp_descent {
    ag_optim base;
    const agp_descent_ops *dops;
    agp_descent_opts opt;
    int64_t n;                          /* flat length N */
    ag_tape *eval;                      /* the closure's tape */
    ag_tensor **grads, **x_init;        /* n_params each */
    double *g;                          /* [N] gradient at the current point */
    double *work;                       /* [4N] the line search's scratch */
    /* registered state: "0.func_evals", "0.n_iter", "0.t", "0.gtd", "0.d",
       "0.prev_flat_grad" */
    double *func_evals, *n_iter, *t, *gtd, *d, *prev_g;
};

/*
** Fills the base of D (allocated by agp_optim_new with ops) and registers
** the shared state; the method registers its own after. 0 with
** ag_last_error() set on failure (the caller frees the optimizer).
*/
int agp_descent_init(agp_descent *D, const agp_descent_ops *dops, const agp_descent_opts *op);
/* Frees what agp_descent_init allocated (call from the destroy hook). */
void agp_descent_destroy(agp_descent *D);
/* Registers "0.<name>" (AG_F64 zeros of this shape) with the rule that
   every element is in [lo, hi] (whole numbers when integral; checked
   before every step when every_step); its data, NULL on failure. */
double *agp_descent_state(agp_descent *D, const char *name, int ndim, const int64_t *shape,
                          agp_state_rule rule);
/* One step of the driver (see ag_cg_step); the caller has checked D. */
ag_status agp_descent_step(agp_descent *D, ag_closure f, void *ctx, double *loss);

#endif
