/*
** bfgs.c: BFGS with a dense inverse-Hessian estimate (Nocedal & Wright,
** Algorithm 6.1), for small parameter vectors. The step driver and the
** line search are shared with conjugate gradient (descent.c,
** line_search.c).
*/
#include "ag_minimize.h"
#include "descent_base.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct bfgs {
    agp_descent D;
    double *h;                  /* state "0.H" [N, N] */
    double *n_updates;          /* state "0.n_updates" */
    double *s, *y, *hy;         /* [N] scratch */
} bfgs;

static const char *const STEP = "ag_bfgs_step";

static ag_status refuse_step(ag_optim *o, ag_tape *t)
{
    (void)t;
    return ag_set_last_error(AG_ERR_ARG, "ag_optim_step: %s needs a closure: call "
                             "ag_bfgs_step(o, closure, ctx, &loss)", o->ops->name);
}

static void bfgs_destroy(ag_optim *o)
{
    bfgs *b = (bfgs *)o;
    agp_descent_destroy(&b->D);
    free(b->s), free(b->y), free(b->hy);
}

static const agp_optim_ops bfgs_ops = {"BFGS", refuse_step, bfgs_destroy};

/* H = scale I. */
static void set_identity(bfgs *b, double scale)
{
    int64_t n = b->D.n;
    memset(b->h, 0, (size_t)(n * n) * sizeof(double));
    for (int64_t i = 0; i < n; i++) b->h[i * n + i] = scale;
}

/* d = -H g. */
static void apply_h(bfgs *b)
{
    int64_t n = b->D.n;
    for (int64_t i = 0; i < n; i++) b->D.d[i] = -agp_dot(b->h + i * n, b->D.g, n);
}

static void bfgs_restart(agp_descent *D)
{
    bfgs *b = (bfgs *)D;
    set_identity(b, 1);
    *b->n_updates = 0;
    apply_h(b);
}

/* H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T, expanded:
   H - rho (s Hy^T + Hy s^T) + (rho^2 y.Hy + rho) s s^T; kept symmetric. */
static void bfgs_update(bfgs *b, double ys)
{
    int64_t n = b->D.n;
    double rho = 1 / ys, *h = b->h;
    for (int64_t i = 0; i < n; i++) b->hy[i] = agp_dot(h + i * n, b->y, n);
    double c = rho * rho * agp_dot(b->y, b->hy, n) + rho;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = i; j < n; j++) {
            double v = h[i * n + j] - rho * (b->s[i] * b->hy[j] + b->hy[i] * b->s[j]) +
                       c * b->s[i] * b->s[j];
            h[i * n + j] = h[j * n + i] = v;
        }
}

static void bfgs_direction(agp_descent *D)
{
    bfgs *b = (bfgs *)D;
    int64_t n = D->n;
    for (int64_t i = 0; i < n; i++) {
        b->s[i] = *D->t * D->d[i];
        b->y[i] = D->g[i] - D->prev_g[i];
    }
    double ys = agp_dot(b->y, b->s, n);
    if (ys > 1e-10) {
        if (*b->n_updates == 0) set_identity(b, ys / agp_dot(b->y, b->y, n));
        bfgs_update(b, ys);
        *b->n_updates += 1;
    }
    apply_h(b);
}

static double bfgs_trial_step(agp_descent *D, double gtd)
{
    (void)gtd;
    return D->opt.lr;
}

static const agp_descent_ops bfgs_dops = {STEP, bfgs_direction, bfgs_restart, bfgs_trial_step};

ag_bfgs_opts ag_bfgs_default_opts(void)
{
    ag_bfgs_opts o = {1.0, 20, 0, 1e-7, 1e-9, 1000};
    return o;
}

static int bfgs_check(const ag_bfgs_opts *op, int n, ag_tensor *const *params)
{
    const char *fn = "ag_bfgs_new";
    if (!agp_check_range(fn, "max_iter", op->max_iter, 1, INT32_MAX) ||
        !agp_check_range(fn, "max_eval", op->max_eval, 0, INT32_MAX) ||
        !agp_check_range(fn, "tolerance_grad", op->tolerance_grad, 0, INFINITY) ||
        !agp_check_range(fn, "tolerance_change", op->tolerance_change, 0, INFINITY) ||
        !agp_check_range(fn, "max_params", op->max_params, 1, INT32_MAX))
        return 0;
    int64_t total = 0;
    for (int i = 0; params && i < n; i++)
        if (params[i]) total += ag_tensor_numel(params[i]);
    if (total > op->max_params) {
        ag_set_last_error(AG_ERR_ARG, "%s: the parameters have %lld elements, more than "
                          "max_params %d (H would be %lld x %lld)", fn, (long long)total,
                          op->max_params, (long long)total, (long long)total);
        return 0;
    }
    return 1;
}

static int bfgs_alloc(bfgs *b)
{
    int64_t n = b->D.n;
    const int64_t hs[2] = {n, n};
    agp_state_rule finite = {1, -DBL_MAX, DBL_MAX, 0, 0};
    agp_state_rule count = {1, 0, (double)AG_OPTIM_MAX_STEPS, 1, 1};
    size_t nb = (size_t)(n ? n : 1) * sizeof(double);
    b->s = malloc(nb), b->y = malloc(nb), b->hy = malloc(nb);
    if (!b->s || !b->y || !b->hy) {
        ag_set_last_error(AG_ERR_NOMEM, "ag_bfgs_new: out of memory");
        return 0;
    }
    return (b->h = agp_descent_state(&b->D, "H", 2, hs, finite)) &&
           (b->n_updates = agp_descent_state(&b->D, "n_updates", 0, NULL, count));
}

ag_optim *ag_bfgs_new(int n, ag_tensor *const *params, const ag_bfgs_opts *opts)
{
    ag_bfgs_opts op = opts ? *opts : ag_bfgs_default_opts();
    if (!bfgs_check(&op, n, params)) return NULL;
    bfgs *b = (bfgs *)agp_optim_new(sizeof(bfgs), &bfgs_ops, n, params, op.lr);
    if (!b) return NULL;
    int max_eval = op.max_eval ? op.max_eval : (int)fmin((double)op.max_iter * 10, INT32_MAX);
    agp_descent_opts dop = {op.lr, op.max_iter, max_eval, op.tolerance_grad,
                            op.tolerance_change, 0.9};
    if (!agp_descent_init(&b->D, &bfgs_dops, &dop) || !bfgs_alloc(b)) {
        ag_optim_free(&b->D.base);
        return NULL;
    }
    set_identity(b, 1);
    return &b->D.base;
}

/* H must be symmetric with a positive diagonal (else not positive definite). */
static ag_status check_h(const bfgs *b)
{
    int64_t n = b->D.n;
    for (int64_t i = 0; i < n; i++) {
        if (!(b->h[i * n + i] > 0))
            return ag_set_last_error(AG_ERR_STATE, "%s: BFGS state '0.H' diagonal element "
                                     "%lld is %.17g, must be > 0", STEP, (long long)i,
                                     b->h[i * n + i]);
        for (int64_t j = 0; j < i; j++)
            if (b->h[i * n + j] != b->h[j * n + i])
                return ag_set_last_error(AG_ERR_STATE, "%s: BFGS state '0.H' is not "
                                         "symmetric: (%lld, %lld) is %.17g, (%lld, %lld) "
                                         "%.17g", STEP, (long long)i, (long long)j,
                                         b->h[i * n + j], (long long)j, (long long)i,
                                         b->h[j * n + i]);
    }
    return AG_OK;
}

ag_status ag_bfgs_step(ag_optim *o, ag_closure f, void *ctx, double *loss)
{
    if (!o || o->ops != &bfgs_ops)
        return ag_set_last_error(AG_ERR_ARG, "%s: the optimizer is %s", STEP,
                                 o ? "not a BFGS one (ag_bfgs_new)" : "NULL");
    if (!f) return ag_set_last_error(AG_ERR_ARG, "%s: the closure is NULL", STEP);
    ag_status s = check_h((const bfgs *)o);
    if (s != AG_OK) return s;
    return agp_descent_step((agp_descent *)o, f, ctx, loss);
}
