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
** defaults; checks as ag_cg_new. Memory: N*N + 10 N doubles. State: the
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

/* ------------------------------------------------------ least squares --- */

/*
** Builds the residuals r (any shape, M >= 1 elements, f32 or f64) on tape
** t from the parameters; NULL with the error on t. The loss minimized is
** the cost 0.5 * sum r_i^2. The tape is the optimizer's, in grad mode,
** reset around each evaluation, as for ag_closure.
*/
typedef ag_tensor *(*ag_residual_fn)(ag_tape *t, void *ctx);

/*
** How the M x N Jacobian J of the residuals is computed, always through
** ag_grad: ROWS, one backward pass per residual (row i is the gradient of
** r_i); COLUMNS, one backward pass through J^T v (an ag_grad with
** create_graph of r with a free vector v as grad_output) per parameter
** element (column k is the gradient of (J^T v)_k with respect to v); AUTO,
** COLUMNS when M > N, else ROWS (fewer passes).
*/
typedef enum ag_lsq_jacobian {
    AG_LSQ_JACOBIAN_AUTO = 0,
    AG_LSQ_JACOBIAN_ROWS,
    AG_LSQ_JACOBIAN_COLUMNS
} ag_lsq_jacobian;

typedef struct ag_gauss_newton_opts {
    double lr;                  /* p += lr * d; 1 */
    int max_params;             /* most parameter elements N; 1000 */
    ag_lsq_jacobian jacobian;   /* AG_LSQ_JACOBIAN_AUTO */
} ag_gauss_newton_opts;

/* The defaults listed above. */
ag_gauss_newton_opts ag_gauss_newton_default_opts(void);

/*
** Gauss-Newton over params[0..n) taken as one flat vector of N <=
** max_params elements (AG_ERR_ARG naming N otherwise). opts NULL: the
** defaults; checks lr >= 0 and finite, max_params >= 1 and jacobian.
** No state tensors: a run resumes from the parameters alone.
*/
ag_optim *ag_gauss_newton_new(int n, ag_tensor *const *params,
                              const ag_gauss_newton_opts *opts);

/*
** One Gauss-Newton step (Nocedal & Wright eq. 10.23): evaluates r and J,
** solves J^T J d = -J^T r by Cholesky and sets p += lr * d. *cost (may be
** NULL) gets 0.5 |r|^2 before the step. Errors: as ag_cg_step's (naming
** ag_gauss_newton_step; a residual function returning NULL, or an empty
** result, AG_ERR_SHAPE), AG_ERR_ARG for a NaN or Inf in r or J (naming
** the entry) and for a J^T J that is not positive definite (J of rank <
** N: Levenberg-Marquardt handles that); the parameters are then unchanged.
*/
ag_status ag_gauss_newton_step(ag_optim *o, ag_residual_fn r, void *ctx, double *cost);

typedef struct ag_lm_opts {
    double factor;              /* the first trust radius: factor * |D x0| (factor if 0); 100 */
    int max_trials;             /* residual evaluations per step after the first; 10 */
    int max_params;             /* most parameter elements N; 1000 */
    ag_lsq_jacobian jacobian;   /* AG_LSQ_JACOBIAN_AUTO */
} ag_lm_opts;

/* The defaults listed above (MINPACK lmder's factor). */
ag_lm_opts ag_lm_default_opts(void);

/*
** Levenberg-Marquardt as Moré's trust-region form (MINPACK's lmder),
** with the normal equations solved by Cholesky instead of a QR
** factorization. opts NULL: the defaults; checks factor > 0 and finite,
** max_trials >= 1, max_params >= 1 (and N <= it), jacobian. State, all
** AG_F64 on parameter 0: "0.n_iter" and "0.func_evals" (whole numbers in
** [0, AG_OPTIM_MAX_STEPS], checked before every step too), "0.delta"
** (the trust radius, in [0, DBL_MAX]), "0.par" (the damping lambda, in
** [0, DBL_MAX]) and "0.diag" ([N], the scaling D, in [0, DBL_MAX]; after
** the first iteration every element must be > 0, checked before each
** step). A checkpoint holding other values is refused.
*/
ag_optim *ag_lm_new(int n, ag_tensor *const *params, const ag_lm_opts *opts);

/*
** One outer iteration of Moré's Algorithm 7.1: evaluates r and J; D =
** diag(max(D_prev, |J column j|)) (column norms, 1 where 0, at the first
** iteration, with delta = factor |D x|); then up to max_trials times:
** the step p solving (J^T J + lambda D^2) p = -J^T r with lambda >= 0
** chosen (Moré's Algorithm 5.5, a safeguarded Newton iteration on
** |D p| = delta, to 10%) so that |D p| <= 1.1 delta, lambda = 0 when the
** Gauss-Newton step fits; the gain ratio rho = actual / predicted
** reduction of |r|^2; delta shrinks (by a factor in [0.1, 0.5], lambda
** grows alike) when rho <= 0.25, and becomes 2 |D p| (lambda halved) when
** rho >= 0.75 or lambda = 0; the step is taken when rho >= 1e-4, else
** the next trial starts from the same point. The cost 0.5 |r|^2 never
** increases. *cost (may be NULL) gets it before the step. Errors: as
** ag_gauss_newton_step's (naming ag_lm_step; a rank-deficient J is fine),
** and AG_ERR_STATE for state out of its range; the trials taken before
** an error leave the parameters at the last accepted point.
*/
ag_status ag_lm_step(ag_optim *o, ag_residual_fn r, void *ctx, double *cost);

#ifdef __cplusplus
}
#endif
#endif
