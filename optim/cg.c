/*
** cg.c: nonlinear conjugate gradient, Fletcher-Reeves and Polak-Ribiere+
** (Nocedal & Wright, section 5.2), with restarts. The step driver and the
** line search are shared with BFGS (descent.c, line_search.c).
*/
#include "ag_minimize.h"
#include "descent_base.h"

#include <math.h>

typedef struct cg {
    agp_descent D;
    ag_cg_variant variant;
    int64_t restart_every;
    double *since_restart;      /* state "0.since_restart" */
} cg;

static const char *const STEP = "ag_cg_step";

static ag_status refuse_step(ag_optim *o, ag_tape *t)
{
    (void)t;
    return ag_set_last_error(AG_ERR_ARG, "ag_optim_step: %s needs a closure: call "
                             "ag_cg_step(o, closure, ctx, &loss)", o->ops->name);
}

static void cg_destroy(ag_optim *o) { agp_descent_destroy((agp_descent *)o); }

static const agp_optim_ops cg_ops = {"CG", refuse_step, cg_destroy};

static void cg_restart(agp_descent *D)
{
    for (int64_t i = 0; i < D->n; i++) D->d[i] = -D->g[i];
    *((cg *)D)->since_restart = 0;
}

/* d = -g + beta d; beta by the variant, 0 at a periodic restart. */
static void cg_direction(agp_descent *D)
{
    cg *c = (cg *)D;
    int64_t n = D->n;
    double g0g0 = agp_dot(D->prev_g, D->prev_g, n), beta;
    *c->since_restart += 1;
    if ((c->restart_every && *c->since_restart >= (double)c->restart_every) || !(g0g0 > 0)) {
        cg_restart(D);
        return;
    }
    if (c->variant == AG_CG_FLETCHER_REEVES)
        beta = agp_dot(D->g, D->g, n) / g0g0;
    else
        beta = fmax(0, (agp_dot(D->g, D->g, n) - agp_dot(D->g, D->prev_g, n)) / g0g0);
    for (int64_t i = 0; i < n; i++) D->d[i] = -D->g[i] + beta * D->d[i];
}

/* N&W eq. 3.60: the last step times the ratio of the slopes. */
static double cg_trial_step(agp_descent *D, double gtd)
{
    double t = *D->t * *D->gtd / gtd;
    return isfinite(t) && t > 0 ? t : D->opt.lr;
}

static const agp_descent_ops cg_dops = {STEP, cg_direction, cg_restart, cg_trial_step};

ag_cg_opts ag_cg_default_opts(void)
{
    ag_cg_opts o = {AG_CG_POLAK_RIBIERE_PLUS, 1.0, 20, 0, 1e-7, 1e-9, 0, 0.1};
    return o;
}

static int cg_check_opts(const ag_cg_opts *op)
{
    const char *fn = "ag_cg_new";
    if (op->variant != AG_CG_FLETCHER_REEVES && op->variant != AG_CG_POLAK_RIBIERE_PLUS) {
        ag_set_last_error(AG_ERR_ARG, "%s: variant is %d, must be AG_CG_FLETCHER_REEVES or "
                          "AG_CG_POLAK_RIBIERE_PLUS", fn, (int)op->variant);
        return 0;
    }
    if (!(op->c2 > 1e-4 && op->c2 < 1)) {
        ag_set_last_error(AG_ERR_ARG, "%s: c2 is %g, must be in (1e-4, 1)", fn, op->c2);
        return 0;
    }
    return agp_check_range(fn, "max_iter", op->max_iter, 1, INT32_MAX) &&
           agp_check_range(fn, "max_eval", op->max_eval, 0, INT32_MAX) &&
           agp_check_range(fn, "tolerance_grad", op->tolerance_grad, 0, INFINITY) &&
           agp_check_range(fn, "tolerance_change", op->tolerance_change, 0, INFINITY) &&
           agp_check_range(fn, "restart_every", op->restart_every, 0, INT32_MAX);
}

ag_optim *ag_cg_new(int n, ag_tensor *const *params, const ag_cg_opts *opts)
{
    ag_cg_opts op = opts ? *opts : ag_cg_default_opts();
    if (!cg_check_opts(&op)) return NULL;
    cg *c = (cg *)agp_optim_new(sizeof(cg), &cg_ops, n, params, op.lr);
    if (!c) return NULL;
    int max_eval = op.max_eval ? op.max_eval : (int)fmin((double)op.max_iter * 10, INT32_MAX);
    agp_descent_opts dop = {op.lr, op.max_iter, max_eval, op.tolerance_grad,
                            op.tolerance_change, op.c2};
    c->variant = op.variant;
    agp_state_rule count = {1, 0, (double)AG_OPTIM_MAX_STEPS, 1, 1};
    if (!agp_descent_init(&c->D, &cg_dops, &dop) ||
        !(c->since_restart = agp_descent_state(&c->D, "since_restart", 0, NULL, count))) {
        ag_optim_free(&c->D.base);
        return NULL;
    }
    c->restart_every = op.restart_every;
    return &c->D.base;
}

ag_status ag_cg_step(ag_optim *o, ag_closure f, void *ctx, double *loss)
{
    if (!o || o->ops != &cg_ops)
        return ag_set_last_error(AG_ERR_ARG, "%s: the optimizer is %s", STEP,
                                 o ? "not a CG one (ag_cg_new)" : "NULL");
    if (!f) return ag_set_last_error(AG_ERR_ARG, "%s: the closure is NULL", STEP);
    return agp_descent_step((agp_descent *)o, f, ctx, loss);
}
