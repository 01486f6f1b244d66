/*
** ag_lbfgs.h: optimizers that re-evaluate the loss: L-BFGS (PyTorch's
** torch.optim.LBFGS) and Newton's method with the exact Hessian.
**
** Both take a closure that builds the loss from the parameters, because a
** step evaluates it several times (the line search, the Hessian):
**
**     static ag_tensor *loss_fn(ag_tape *t, void *ctx)     // one element
**     {
**         model *m = ctx;
**         return ag_mean(t, ag_square(t, ag_sub(t, forward(m, t), m->y)), AG_ALL, 0);
**     }
**     ag_lbfgs_opts opts = ag_lbfgs_default_opts();
**     opts.line_search = AG_LINE_SEARCH_STRONG_WOLFE;
**     ag_optim *o = ag_lbfgs_new(n_params, params, &opts);
**     double loss;
**     for (int i = 0; i < 10; i++)
**         if (ag_lbfgs_step(o, loss_fn, m, &loss) != AG_OK) puts(ag_last_error());
**     ag_optim_free(o);
**
** The closure. It builds the loss on the tape it is given and returns it
** (a tensor with exactly one element, of any shape), or NULL with the error
** on that tape. The tape belongs to the optimizer, is in grad mode, and is
** reset before every evaluation and at the end of a step: tensors the
** closure makes do not outlive the step. Unlike a PyTorch closure it does
** not call backward: the optimizer takes the gradient itself with ag_grad,
** so the parameters' own grad buffers (ag_tensor_grad) are never read nor
** written. Every parameter must require grad (ag_set_requires_grad); one
** the loss does not depend on has a zero gradient.
**
** Parameters are updated in place (tensor ops, then ag_assign). Calling
** ag_optim_step on these optimizers is an AG_ERR_ARG error: they need a
** closure. Errors are reported as by every optimizer: an ag_status and
** ag_last_error() naming the function ("ag_lbfgs_step: the closure failed:
** ag_matmul: inner dimensions differ: ...").
*/
#ifndef AG_LBFGS_H
#define AG_LBFGS_H
#include "ag_core.h"
#include "ag_optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Builds the loss (one element) on tape t from the parameters. */
typedef ag_tensor *(*ag_closure)(ag_tape *t, void *ctx);

/* ------------------------------------------------------------- L-BFGS --- */

typedef enum ag_line_search {
    AG_LINE_SEARCH_NONE = 0,        /* fixed step lr (PyTorch's None) */
    AG_LINE_SEARCH_STRONG_WOLFE     /* PyTorch's "strong_wolfe" */
} ag_line_search;

typedef struct ag_lbfgs_opts {
    double lr;                /* step length (the line search's first try); 1 */
    int max_iter;             /* iterations per ag_lbfgs_step; 20 */
    int max_eval;             /* closure evaluations per step; 0: max_iter*5/4 */
    double tolerance_grad;    /* stop when max |grad| <= this; 1e-7 */
    double tolerance_change;  /* stop on smaller loss / step changes; 1e-9 */
    int history_size;         /* correction pairs kept; 100 */
    ag_line_search line_search;   /* AG_LINE_SEARCH_NONE */
} ag_lbfgs_opts;

/* PyTorch's defaults, listed above. */
ag_lbfgs_opts ag_lbfgs_default_opts(void);

/*
** L-BFGS over params[0..n) taken together as one flat vector (PyTorch's
** single parameter group). opts NULL: the defaults. Checks lr >= 0,
** max_iter >= 1, max_eval >= 0, tolerances >= 0, history_size >= 1 and
** the params as every optimizer does; NULL + ag_last_error() otherwise.
**
** Memory: with N the parameters' total element count, the state takes
** (2 * history_size + 2) * N doubles from construction on (PyTorch grows
** to the same once its history is full), plus 5 * N doubles of scratch
** and a copy of the parameters for the line search.
**
** State (ag_optim_state), all AG_F64, kept on parameter 0 as PyTorch does:
** "0.func_evals", "0.n_iter" (totals over all steps, scalars), "0.t" (the
** last step length), "0.H_diag", "0.prev_loss", "0.n_history" (scalars),
** "0.d" and "0.prev_flat_grad" ([N]), "0.old_dirs" and "0.old_stps"
** ([history_size, N], the first n_history rows in use, oldest first) and
** "0.ro" ([history_size]). Loading all of them (and ag_optim_set_steps)
** resumes a run exactly. The options are not state. "0.n_history" must be
** a whole number in [0, history_size] (it indexes the history rows),
** "0.func_evals" and "0.n_iter" whole numbers in [0, AG_OPTIM_MAX_STEPS]:
** a checkpoint holding others is refused, and so is a step that finds
** them written through ag_optim_state (AG_ERR_STATE, nothing changed).
*/
ag_optim *ag_lbfgs_new(int n, ag_tensor *const *params, const ag_lbfgs_opts *opts);

/*
** One L-BFGS step, as PyTorch's LBFGS.step(closure): evaluates f, then up
** to max_iter iterations (and max_eval evaluations) of the two-loop
** recursion. The first iteration ever is a steepest-descent step of
** length lr * min(1, 1/|g|_1); later ones try lr, then (with the strong
** Wolfe line search: c1 = 1e-4, c2 = 0.9, at most 25 evaluations, cubic
** interpolation and zoom) adjust it. A pair (s, y) enters the history
** only when y.s > 1e-10. Stops early when max |g| <= tolerance_grad, the
** directional derivative is > -tolerance_change, or the step or the loss
** changes by less than tolerance_change. *loss (may be NULL) gets the
** loss at the start of the step. Counts one step (ag_optim_steps).
**
** Errors (AG_ERR_ARG unless said): o NULL or not made by ag_lbfgs_new, f
** NULL, a parameter that does not require grad, the closure returning
** NULL (its tape's error is quoted) or a result that is not one element
** (AG_ERR_SHAPE); AG_ERR_STATE, before anything is evaluated, for a step
** count at AG_OPTIM_MAX_STEPS or a counter out of its range (see the
** state above). The iterations done before an error stay done; the line
** search never leaves the parameters at a trial point.
**
** Differences from PyTorch: vectors and scalars are kept in double for
** f32 parameters too (PyTorch computes in the parameters' dtype); the
** line search uses tolerance_change from the options (PyTorch's passes
** its default 1e-9); when it runs out of evaluations in the bracketing
** phase the bracket's gtd is defined (PyTorch leaves it unset).
*/
ag_status ag_lbfgs_step(ag_optim *o, ag_closure f, void *ctx, double *loss);

/* ------------------------------------------------------------- Newton --- */

typedef struct ag_newton_opts {
    double lr;          /* p -= lr * d; 1 */
    double damping;     /* lambda in (H + lambda I) d = g; 0 */
    int max_params;     /* most parameter elements N (the Hessian is N x N); 1000 */
} ag_newton_opts;

/* lr 1, damping 0 (the pure Newton step), max_params 1000. */
ag_newton_opts ag_newton_default_opts(void);

/*
** Newton's method for small problems (no PyTorch counterpart). params are
** taken together as one flat vector of N elements. opts NULL: the
** defaults. Checks lr >= 0, damping >= 0, max_params >= 1 and N <=
** max_params (AG_ERR_ARG, naming N: the Hessian takes N*N doubles and N
** backward passes per step); NULL + ag_last_error(). No state tensors:
** a run resumes from the parameters alone.
*/
ag_optim *ag_newton_new(int n, ag_tensor *const *params, const ag_newton_opts *opts);

/*
** One Newton step: evaluates f, its gradient g (ag_grad with create_graph)
** and its exact Hessian H row by row (row k is the gradient of g[k], one
** backward pass each), then solves (H + lambda I) d = g by Cholesky and
** sets p -= lr * d. lambda starts at the damping option (0: the pure
** Newton step, exact on a quadratic with positive definite H; a positive
** damping shortens the step towards gradient descent with step 1/lambda).
** When H + lambda I is not positive definite, lambda is raised
** (Levenberg-style, after Nocedal & Wright's Algorithm 3.3) to
** max(2 lambda, beta, beta - min_i H_ii) with beta = 1e-3 * max |H_ij|
** (1e-3 when H is 0), until the factorization succeeds; the lambda used
** is ag_newton_last_damping. The raise is for this step only. *loss (may
** be NULL) gets the loss before the step.
**
** Errors: as ag_lbfgs_step (naming ag_newton_step; Newton has no state
** but its step count), and AG_ERR_ARG when
** H or g has a NaN or an Inf (naming the entry); the parameters are then
** left unchanged.
*/
ag_status ag_newton_step(ag_optim *o, ag_closure f, void *ctx, double *loss);

/*
** The loss, gradient and exact Hessian at the current parameters, without
** a step: grad (N doubles) and hessian (N*N, row-major, symmetrized as
** (H + H^T)/2) may be NULL; the optimizer must come from ag_newton_new.
*/
ag_status ag_newton_hessian(ag_optim *o, ag_closure f, void *ctx, double *loss,
                            double *grad, double *hessian);

/* The lambda the last ag_newton_step solved with (0 before any). */
double ag_newton_last_damping(const ag_optim *o);

#ifdef __cplusplus
}
#endif
#endif
