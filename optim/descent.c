/*
** descent.c: the step driver of the line-search methods (conjugate
** gradient in cg.c, BFGS in bfgs.c): evaluation, iterations along the
** method's directions with the shared strong-Wolfe line search, and
** L-BFGS' stopping rules. The directions themselves live with each method.
*/
#include "descent_base.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

double *agp_descent_state(agp_descent *D, const char *name, int ndim, const int64_t *shape,
                          agp_state_rule rule)
{
    ag_optim *o = &D->base;
    ag_tensor *x = agp_add_state_shaped(o, 0, name, AG_F64, ndim, shape, 0);
    if (!x) return NULL;
    agp_set_state_rule(o, o->n_state - 1, rule);
    return ag_tensor_data(x);
}

static int descent_add_state(agp_descent *D)
{
    const int64_t vec[1] = {D->n};
    const double most = (double)AG_OPTIM_MAX_STEPS;
    agp_state_rule count = {1, 0, most, 1, 1}, step = {1, 0, DBL_MAX, 0, 0};
    agp_state_rule slope = {1, -DBL_MAX, 0, 0, 0}, finite = {1, -DBL_MAX, DBL_MAX, 0, 0};
    return (D->func_evals = agp_descent_state(D, "func_evals", 0, NULL, count)) &&
           (D->n_iter = agp_descent_state(D, "n_iter", 0, NULL, count)) &&
           (D->t = agp_descent_state(D, "t", 0, NULL, step)) &&
           (D->gtd = agp_descent_state(D, "gtd", 0, NULL, slope)) &&
           (D->d = agp_descent_state(D, "d", 1, vec, finite)) &&
           (D->prev_g = agp_descent_state(D, "prev_flat_grad", 1, vec, finite));
}

int agp_descent_init(agp_descent *D, const agp_descent_ops *dops, const agp_descent_opts *op)
{
    int n = D->base.n_params;
    D->dops = dops;
    D->opt = *op;
    D->n = agp_params_numel(&D->base);
    size_t nb = (size_t)(D->n ? D->n : 1) * sizeof(double);
    D->eval = ag_tape_new();
    D->grads = calloc((size_t)n, sizeof *D->grads);
    D->x_init = calloc((size_t)n, sizeof *D->x_init);
    D->g = malloc(nb);
    D->work = malloc(4 * nb);
    int ok = D->eval && D->grads && D->x_init && D->g && D->work;
    for (int i = 0; ok && i < n; i++)
        ok = (D->x_init[i] = ag_tensor_clone(D->base.params[i])) != NULL;
    if (!ok) {
        ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", D->base.ops->name);
        return 0;
    }
    return descent_add_state(D);
}

void agp_descent_destroy(agp_descent *D)
{
    ag_tape_free(D->eval);
    if (D->x_init)
        for (int i = 0; i < D->base.n_params; i++) ag_tensor_free(D->x_init[i]);
    free(D->x_init), free(D->grads), free(D->g), free(D->work);
}

static ag_status evaluate(agp_descent *D, ag_closure f, void *ctx, double *loss)
{
    return agp_closure_eval_flat(D->dops->step_fn, &D->base, D->eval, f, ctx, D->grads, loss,
                                 D->g);
}

/* The direction of this iteration and its slope g.d (< 0 unless g is 0). */
static double next_direction(agp_descent *D)
{
    if (*D->n_iter == 1) {
        D->dops->restart(D);
    } else {
        D->dops->direction(D);
        if (!(agp_dot(D->g, D->d, D->n) < 0)) D->dops->restart(D);
    }
    return agp_dot(D->g, D->d, D->n);
}

/*
** One iteration from the current point (loss *f, gradient D->g): a
** direction, the line search along it, the move. *stop by the stopping
** rules; *evals counts closure evaluations.
*/
static ag_status descent_iterate(agp_descent *D, ag_closure fn, void *ctx, double *f,
                                 int *evals, int *stop)
{
    const agp_descent_opts *op = &D->opt;
    int64_t n = D->n;
    *D->n_iter += 1;
    double gtd = next_direction(D), f_prev = *f, t;
    if (gtd > -op->tolerance_change) return *stop = 1, AG_OK;
    if (*D->n_iter == 1) {
        double g1 = 0;
        for (int64_t i = 0; i < n; i++) g1 += fabs(D->g[i]);
        t = fmin(1.0, 1.0 / g1) * op->lr;
    } else {
        t = D->dops->trial_step(D, gtd);
    }
    memcpy(D->prev_g, D->g, (size_t)n * sizeof(double));
    agp_wolfe w = {&D->base, D->dops->step_fn, fn, ctx, D->eval, D->grads, D->x_init, D->d,
                   D->g, D->work, n, 1e-4, op->c2, 25, op->tolerance_change};
    ag_status s = agp_strong_wolfe(&w, &t, f, gtd, evals);
    *D->func_evals += *evals;
    if (s == AG_OK) s = agp_params_axpy(D->dops->step_fn, &D->base, NULL, t, D->d);
    if (s != AG_OK) return s;
    *D->t = t;
    *D->gtd = gtd;
    *stop = agp_max_abs(D->g, n) <= op->tolerance_grad ||
            agp_max_abs(D->d, n) * t <= op->tolerance_change ||
            fabs(*f - f_prev) < op->tolerance_change;
    return AG_OK;
}

ag_status agp_descent_step(agp_descent *D, ag_closure f, void *ctx, double *loss)
{
    ag_optim *o = &D->base;
    double fval;
    ag_status s = agp_step_begin(o, D->dops->step_fn);
    if (s == AG_OK) s = evaluate(D, f, ctx, &fval);
    if (s == AG_OK) {
        if (loss) *loss = fval;
        *D->func_evals += 1;
        int evals_total = 1, stop = agp_max_abs(D->g, D->n) <= D->opt.tolerance_grad;
        for (int it = 1; !stop && it <= D->opt.max_iter && s == AG_OK; it++) {
            int evals = 0;
            s = descent_iterate(D, f, ctx, &fval, &evals, &stop);
            evals_total += evals;
            if (evals_total >= D->opt.max_eval) stop = 1;
        }
    }
    ag_tape_reset(D->eval);
    if (s == AG_OK) o->steps++;
    return s;
}
