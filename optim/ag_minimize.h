/*
** ag_minimize.h: more optimizers that re-evaluate the loss through a
** closure, beside L-BFGS and Newton (ag_lbfgs.h, whose closure contract
** they share): nonlinear conjugate gradient, BFGS with a dense
** inverse-Hessian estimate, and for least-squares problems Gauss-Newton
** and Levenberg-Marquardt. None has a PyTorch counterpart; the update
** rules are the published ones (Nocedal & Wright, "Numerical
** Optimization", 2nd ed.: chapters 5, 6 and 10; Moré, "The
** Levenberg-Marquardt algorithm: implementation and theory", 1978).
**
**     ag_cg_opts opts = ag_cg_default_opts();       // Polak-Ribiere+
**     ag_optim *o = ag_cg_new(n_params, params, &opts);
**     double loss;
**     for (int i = 0; i < 10; i++)
**         if (ag_cg_step(o, loss_fn, ctx, &loss) != AG_OK) puts(ag_last_error());
**     ag_optim_free(o);
**
** CG and BFGS search along each direction with the strong-Wolfe line
** search of L-BFGS (cubic interpolation, bracketing then zoom, c1 = 1e-4,
** at most 25 evaluations after the first), and stop a step early by
** L-BFGS' rules: max |g| <= tolerance_grad, a slope g.d >
** -tolerance_change, or a move or loss change smaller than
** tolerance_change. Their flat vectors are kept in double, also for f32
** parameters. Their state (ag_optim_state), all AG_F64 on parameter 0:
** "0.func_evals" and "0.n_iter" (whole numbers in [0,
** AG_OPTIM_MAX_STEPS], checked before every step too), "0.t" (the last
** step length, in [0, DBL_MAX]), "0.gtd" (the last slope g.d, in
** [-DBL_MAX, 0]), "0.d" (the last direction) and "0.prev_flat_grad" (the
** gradient before the last move), [N] with N the parameters' total
** element count, finite; then each method's own below. Loading all of
** them (ag_checkpoint_load, or ag_assign and ag_optim_check_state) and the
** step count resumes a run exactly; a checkpoint holding values outside
** these ranges is refused, and so is a step that finds a counter or an
** index out of range (AG_ERR_STATE, nothing changed).
**
** Errors, as ag_lbfgs_step's: o NULL or of another kind, f NULL, a
** parameter that does not require grad, a closure returning NULL or more
** than one element; the message names the step function.
*/
#ifndef AG_MINIMIZE_H
#define AG_MINIMIZE_H
#include "ag_core.h"
#include "ag_optim.h"
#include "ag_lbfgs.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------ conjugate gradient --- */

typedef enum ag_cg_variant {
    AG_CG_FLETCHER_REEVES = 0,      /* beta = g.g / g0.g0 */
    AG_CG_POLAK_RIBIERE_PLUS        /* beta = max(0, g.(g - g0) / g0.g0) */
} ag_cg_variant;

typedef struct ag_cg_opts {
    ag_cg_variant variant;    /* AG_CG_POLAK_RIBIERE_PLUS */
    double lr;                /* the first iteration's step scale; 1 */
    int max_iter;             /* iterations per ag_cg_step; 20 */
    int max_eval;             /* closure evaluations per step; 0: max_iter * 10 */
    double tolerance_grad;    /* 1e-7 */
    double tolerance_change;  /* 1e-9 */
    int restart_every;        /* steepest descent every this many iterations; 0: never */
    double c2;                /* the line search's curvature constant; 0.1 */
} ag_cg_opts;

/* The defaults listed above. */
ag_cg_opts ag_cg_default_opts(void);

/*
** Nonlinear conjugate gradient over params[0..n) taken as one flat
** vector. opts NULL: the defaults. Checks variant, lr >= 0 and finite,
** max_iter >= 1, max_eval >= 0, tolerances >= 0, restart_every >= 0 and
** c2 in (1e-4, 1) (Fletcher-Reeves needs c2 < 1/2 to be sure of descent,
** Nocedal & Wright Lemma 5.6), and the params as every optimizer does;
** NULL + ag_last_error() otherwise. Memory: 7 N doubles and a copy of the
** parameters. State: the shared state above and "0.since_restart"
** (iterations since the last restart, a whole number in [0,
** AG_OPTIM_MAX_STEPS]).
*/
ag_optim *ag_cg_new(int n, ag_tensor *const *params, const ag_cg_opts *opts);

/*
** One step: evaluates f, then up to max_iter iterations (Nocedal &
** Wright Algorithm 5.4): the first ever is steepest descent with the
** first trial step lr * min(1, 1/|g|_1); later ones take d = -g + beta
** d_prev with beta by the variant, restarting (beta = 0) every
** restart_every iterations and whenever d is not a descent direction
** (g.d >= 0). The line search's first trial after the first iteration is
** t_prev * gtd_prev / gtd (N&W eq. 3.60; lr when that is not positive).
** *loss (may be NULL) gets the loss at the start of the step.
*/
ag_status ag_cg_step(ag_optim *o, ag_closure f, void *ctx, double *loss);

/* --------------------------------------------------------------- BFGS --- */

typedef struct ag_bfgs_opts {
    double lr;                /* the first iteration's step scale, the later trial step; 1 */
    int max_iter;             /* iterations per ag_bfgs_step; 20 */
    int max_eval;             /* closure evaluations per step; 0: max_iter * 10 */
    double tolerance_grad;    /* 1e-7 */
    double tolerance_change;  /* 1e-9 */
    int max_params;           /* most parameter elements N (H is N x N); 1000 */
} ag_bfgs_opts;

/* The defaults listed above. */
ag_bfgs_opts ag_bfgs_default_opts(void);

/*
** BFGS with a dense N x N inverse-Hessian estimate H (for small problems:
** N <= max_params, AG_ERR_ARG naming N otherwise). opts NULL: the
** defaults; checks as ag_cg_new. Memory: N*N + 9 N doubles. State: the
** shared state above, "0.H" ([N, N], finite; a step also refuses an H
** that is not symmetric or has a diagonal entry <= 0, AG_ERR_STATE) and
** "0.n_updates" (updates since the last reset, a whole number in [0,
** AG_OPTIM_MAX_STEPS]).
*/
ag_optim *ag_bfgs_new(int n, ag_tensor *const *params, const ag_bfgs_opts *opts);

/*
** One step: evaluates f, then up to max_iter iterations of Nocedal &
** Wright's Algorithm 6.1 with the line search above (c2 = 0.9): d = -H g;
** after a move s = x+ - x, y = g+ - g, and when y.s > 1e-10 (else H is
** kept) H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T with rho =
** 1/y.s; before the first update H = (y.s / y.y) I (N&W eq. 6.20). The
** first iteration ever (and any whose d is not a descent direction)
** resets H to I and takes d = -g with the trial step lr * min(1, 1/|g|_1);
** later trials start at lr. *loss (may be NULL) gets the loss at the
** start of the step.
*/
ag_status ag_bfgs_step(ag_optim *o, ag_closure f, void *ctx, double *loss);

#ifdef __cplusplus
}
#endif
#endif
