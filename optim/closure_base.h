/*
** closure_base.h: what the closure-driven optimizers (lbfgs.c, newton.c,
** cg.c, bfgs.c, least_squares.c) share (not installed): evaluating the
** closure and its gradient, moving the parameters along a flat vector,
** copying tensor values into flat double vectors (defined in lbfgs.c);
** the strong-Wolfe line search and vector helpers (line_search.c).
*/
#ifndef AG_CLOSURE_BASE_H
#define AG_CLOSURE_BASE_H

#include "optim_base.h"
#include "ag_lbfgs.h"

/* The parameters' total element count (N of the flat vector). */
int64_t agp_params_numel(const ag_optim *o);

/*
** Resets tape t (forcing grad mode on), runs f on it and checks its
** result (not NULL, one element), then the gradient of the loss with
** respect to every parameter: grads[i], a tape tensor of param i's shape
** (ag_grad, create_graph as given). *loss gets the loss value. On error
** returns the status with ag_last_error() set, prefixed with fn.
*/
ag_status agp_closure_eval(const char *fn, ag_optim *o, ag_tape *t, ag_closure f,
                           void *ctx, int create_graph, double *loss, ag_tensor **grads);

/* Copies the values of x (f32 or f64) to out[0..numel). */
void agp_copy_values(ag_tensor *x, double *out);

/*
** Sets every parameter p_i = base_i + alpha * v[off_i .. off_i + numel_i)
** with ops on the optimizer's no-grad tape and ag_assign (base NULL: the
** parameters themselves). v is the flat vector, parameters in order.
*/
ag_status agp_params_axpy(const char *fn, ag_optim *o, ag_tensor *const *base,
                          double alpha, const double *v);

/* chol = the Cholesky factor L of h + lambda I (h [n, n] row-major; L
   lower, row-major); 0 when a pivot is not positive (defined in newton.c). */
int agp_cholesky(const double *h, double lambda, double *chol, int64_t n);
/* d = (L L^T)^-1 g by forward then back substitution. */
void agp_cholesky_solve(const double *chol, const double *g, double *d, int64_t n);

/* a . b and max |a_i| over n elements. */
double agp_dot(const double *a, const double *b, int64_t n);
double agp_max_abs(const double *a, int64_t n);

/* agp_closure_eval (no create_graph) with the gradient copied to the
   flat g[N]; grads holds n_params tensor slots. */
ag_status agp_closure_eval_flat(const char *fn, ag_optim *o, ag_tape *t, ag_closure f,
                                void *ctx, ag_tensor **grads, double *loss, double *g);

/* What a strong-Wolfe line search works with; its caller owns it all. */
typedef struct agp_wolfe {
    ag_optim *o;                /* whose parameters move */
    const char *fn;             /* names the errors */
    ag_closure f;
    void *ctx;
    ag_tape *eval;              /* the closure's tape */
    ag_tensor **grads;          /* n_params slots for one evaluation's gradient */
    ag_tensor **x_init;         /* n_params persistent copies: the start point */
    const double *d;            /* [N] the search direction */
    double *g;                  /* [N] gradient at the start; at the chosen point after */
    double *work;               /* [4N] scratch */
    int64_t n;                  /* N */
    double c1, c2;              /* sufficient decrease, curvature (1e-4, 0.9 in L-BFGS) */
    int max_evals;              /* trial points after the first (25 in L-BFGS) */
    double tolerance_change;    /* the zoom stops when the bracket is this short */
} agp_wolfe;

/*
** The strong Wolfe line search (PyTorch's _strong_wolfe) along d from the
** current parameters (loss *f, gradient w->g, slope gtd = g.d < 0),
** starting at step *t. On success *t, *f and w->g are those of the point
** chosen; the parameters are unchanged (w->x_init holds them during the
** search). *evals gets the closure evaluations made.
*/
ag_status agp_strong_wolfe(const agp_wolfe *w, double *t, double *f, double gtd, int *evals);

#endif
