/*
** lm.c: Levenberg-Marquardt in Moré's trust-region form (Moré 1978; MINPACK
** lmder and lmpar), on the normal equations: the damping lambda is found
** for the trust radius, the radius follows the gain ratio. The residuals
** and the Jacobian come from least_squares.c.
*/
#include "lsq_base.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct lm {
    agp_lsq L;
    ag_lm_opts opt;
    double *x0;                 /* [N] the point of the last accepted step */
    double *y;                  /* [N] scratch: L^-1 D^2 p / |D p| */
    ag_tensor **keep;           /* n_params persistent copies: the step's start */
    /* state */
    double *n_iter, *func_evals, *delta, *par, *diag;
} lm;

static const char *const STEP = "ag_lm_step";

static ag_status lm_refuse_step(ag_optim *o, ag_tape *t)
{
    (void)t;
    return ag_set_last_error(AG_ERR_ARG, "ag_optim_step: %s needs a residual function: call "
                             "ag_lm_step(o, residuals, ctx, &cost)", o->ops->name);
}

static void lm_destroy(ag_optim *o)
{
    lm *l = (lm *)o;
    agp_lsq_destroy(&l->L);
    if (l->keep)
        for (int i = 0; i < o->n_params; i++) ag_tensor_free(l->keep[i]);
    free(l->keep), free(l->x0), free(l->y);
}

static const agp_optim_ops lm_ops = {"LevenbergMarquardt", lm_refuse_step, lm_destroy};

ag_lm_opts ag_lm_default_opts(void)
{
    ag_lm_opts o = {100.0, 10, 1000, AG_LSQ_JACOBIAN_AUTO};
    return o;
}

static double *lm_state(lm *l, const char *name, int ndim, const int64_t *shape,
                        agp_state_rule rule)
{
    ag_optim *o = &l->L.base;
    ag_tensor *x = agp_add_state_shaped(o, 0, name, AG_F64, ndim, shape, 0);
    if (!x) return NULL;
    agp_set_state_rule(o, o->n_state - 1, rule);
    return ag_tensor_data(x);
}

static int lm_alloc(lm *l)
{
    int64_t n = l->L.n;
    const int64_t vec[1] = {n};
    size_t nb = (size_t)(n ? n : 1) * sizeof(double);
    agp_state_rule count = {1, 0, (double)AG_OPTIM_MAX_STEPS, 1, 1};
    agp_state_rule positive = {1, 0, DBL_MAX, 0, 0};
    ag_optim *o = &l->L.base;
    l->x0 = malloc(nb), l->y = malloc(nb);
    l->keep = calloc((size_t)o->n_params, sizeof *l->keep);
    int ok = l->x0 && l->y && l->keep;
    for (int i = 0; ok && i < o->n_params; i++)
        ok = (l->keep[i] = ag_tensor_clone(o->params[i])) != NULL;
    if (!ok) {
        ag_set_last_error(AG_ERR_NOMEM, "ag_lm_new: out of memory");
        return 0;
    }
    return (l->n_iter = lm_state(l, "n_iter", 0, NULL, count)) &&
           (l->func_evals = lm_state(l, "func_evals", 0, NULL, count)) &&
           (l->delta = lm_state(l, "delta", 0, NULL, positive)) &&
           (l->par = lm_state(l, "par", 0, NULL, positive)) &&
           (l->diag = lm_state(l, "diag", 1, vec, positive));
}

ag_optim *ag_lm_new(int n, ag_tensor *const *params, const ag_lm_opts *opts)
{
    const char *fn = "ag_lm_new";
    ag_lm_opts op = opts ? *opts : ag_lm_default_opts();
    if (!(op.factor > 0 && isfinite(op.factor)))
        return ag_set_last_error(AG_ERR_ARG, "%s: factor is %g, must be finite and > 0", fn,
                                 op.factor), NULL;
    if (!agp_check_range(fn, "max_trials", op.max_trials, 1, INT32_MAX) ||
        !agp_lsq_check(fn, op.max_params, op.jacobian, n, params))
        return NULL;
    lm *l = (lm *)agp_optim_new(sizeof(lm), &lm_ops, n, params, 1.0);
    if (!l) return NULL;
    l->opt = op;
    if (!agp_lsq_init(&l->L, op.jacobian) || !lm_alloc(l)) {
        ag_optim_free(&l->L.base);
        return NULL;
    }
    return &l->L.base;
}

/* ------------------------------------------------------------ lmpar --- */

/* |D v| */
static double scaled_norm(const double *diag, const double *v, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += diag[i] * v[i] * diag[i] * v[i];
    return sqrt(s);
}

/* p = -(J^T J + par D^2)^-1 J^T r; 0 when not positive definite. Leaves
   the factor in L->chol. */
static int damped_step(lm *l, double par, double *p)
{
    agp_lsq *L = &l->L;
    int64_t n = L->n;
    double *h = L->chol;        /* the factor overwrites this copy row by row */
    for (int64_t i = 0; i < n * n; i++) h[i] = L->jtj[i];
    for (int64_t i = 0; i < n; i++) h[i * n + i] += par * l->diag[i] * l->diag[i];
    if (!agp_cholesky(h, 0, h, n)) return 0;
    agp_cholesky_solve(h, L->jtr, p, n);
    for (int64_t i = 0; i < n; i++) p[i] = -p[i];
    return 1;
}

/* |L^-1 D^2 p / |D p||^2: minus phi'(par) / |D p| in Moré's terms. */
static double phi_slope(lm *l, const double *p, double dxnorm)
{
    int64_t n = l->L.n;
    const double *c = l->L.chol;
    for (int64_t i = 0; i < n; i++) {
        double v = l->diag[i] * l->diag[i] * p[i] / dxnorm;
        for (int64_t k = 0; k < i; k++) v -= c[i * n + k] * l->y[k];
        l->y[i] = v / c[i * n + i];
    }
    return agp_dot(l->y, l->y, n);
}

/*
** Moré's Algorithm 5.5 (MINPACK lmpar): par >= 0 with |D p| within 10%
** of delta, or 0 when the Gauss-Newton step is inside; p the step.
*/
static double lmpar(lm *l, double par, double delta, double *p)
{
    int64_t n = l->L.n;
    double parl = 0, gnorm = 0, fp = INFINITY, dxnorm = 0;
    if (damped_step(l, 0, p)) {
        dxnorm = scaled_norm(l->diag, p, n);
        fp = dxnorm - delta;
        if (fp <= 0.1 * delta) return 0;
        parl = fp / (delta * phi_slope(l, p, dxnorm));
    }
    for (int64_t i = 0; i < n; i++) gnorm += pow(l->L.jtr[i] / l->diag[i], 2);
    gnorm = sqrt(gnorm);
    double paru = gnorm / delta;
    if (paru == 0) paru = DBL_MIN / fmin(delta, 0.1);
    par = fmin(fmax(par, parl), paru);
    if (par == 0) par = dxnorm > 0 ? gnorm / dxnorm : 0.001 * paru;
    for (int iter = 1;; iter++) {
        if (par == 0) par = fmax(DBL_MIN, 0.001 * paru);
        if (!damped_step(l, par, p)) {      /* only by rounding: raise par */
            if (iter > 200) return memset(p, 0, (size_t)n * sizeof *p), par;
            parl = par, par = fmax(2 * par, 0.5 * (par + paru));
            continue;
        }
        dxnorm = scaled_norm(l->diag, p, n);
        double fp_old = fp;
        fp = dxnorm - delta;
        if (fabs(fp) <= 0.1 * delta || (parl == 0 && fp <= fp_old && fp_old < 0) || iter == 10)
            return par;
        double parc = fp / (delta * phi_slope(l, p, dxnorm));
        if (fp > 0) parl = fmax(parl, par);
        if (fp < 0) paru = fmin(paru, par);
        par = fmax(parl, par + parc);
    }
}

/* ------------------------------------------------------------- steps --- */

/* Moré's scaling: D_j = max(D_j, |J column j|), column norms (1 where 0)
   at the first iteration, which also sets delta = factor |D x|. */
static void update_scaling(lm *l)
{
    agp_lsq *L = &l->L;
    int64_t n = L->n;
    for (int64_t j = 0; j < n; j++) {
        double c = sqrt(L->jtj[j * n + j]);
        l->diag[j] = *l->n_iter == 0 ? (c > 0 ? c : 1) : fmax(l->diag[j], c);
    }
    if (*l->n_iter == 0) {
        double xn = scaled_norm(l->diag, l->x0, n);
        *l->delta = xn > 0 ? l->opt.factor * xn : l->opt.factor;
        *l->par = 0;
    }
}

/* |J p| / fnorm and the predicted and directional reductions. */
static void predicted(lm *l, const double *p, double par, double pnorm, double fnorm,
                      double *prered, double *dirder)
{
    agp_lsq *L = &l->L;
    double jp2 = 0;
    for (int64_t i = 0; i < L->m; i++) {
        double v = agp_dot(L->jac + i * L->n, p, L->n);
        jp2 += v * v;
    }
    double t1 = sqrt(jp2) / fnorm, t2 = sqrt(par) * pnorm / fnorm;
    *prered = t1 * t1 + t2 * t2 / 0.5;
    *dirder = -(t1 * t1 + t2 * t2);
}

/* Moré's radius update from the gain ratio (MINPACK lmder). */
static void update_radius(lm *l, double ratio, double actred, double dirder, double pnorm,
                          double fnorm, double fnorm1)
{
    if (ratio <= 0.25) {
        double temp = actred >= 0 ? 0.5 : 0.5 * dirder / (dirder + 0.5 * actred);
        if (0.1 * fnorm1 >= fnorm || temp < 0.1) temp = 0.1;
        *l->delta = temp * fmin(*l->delta, pnorm / 0.1);
        *l->par /= temp;
    } else if (*l->par == 0 || ratio >= 0.75) {
        *l->delta = pnorm / 0.5;
        *l->par *= 0.5;
    }
}

/* One trial from x0: a step, its residuals, the radius update; *accepted
   when the ratio is at least 1e-4 (the parameters then stay there). */
static ag_status lm_trial(lm *l, ag_residual_fn f, void *ctx, double *cost, int *accepted)
{
    agp_lsq *L = &l->L;
    int64_t n = L->n;
    double *p = L->step, fnorm = sqrt(2 * *cost), cost1;
    *l->par = lmpar(l, *l->par, *l->delta, p);
    double pnorm = scaled_norm(l->diag, p, n), prered, dirder;
    if (*l->n_iter == 1) *l->delta = fmin(*l->delta, pnorm);
    predicted(l, p, *l->par, pnorm, fnorm, &prered, &dirder);
    ag_status s = agp_params_axpy(STEP, &L->base, l->keep, 1, p);
    if (s == AG_OK) s = agp_lsq_eval(L, STEP, f, ctx, 0, &cost1);
    *l->func_evals += 1;
    double fnorm1 = s == AG_OK ? sqrt(2 * cost1) : INFINITY;
    double actred = 0.1 * fnorm1 < fnorm ? 1 - (fnorm1 / fnorm) * (fnorm1 / fnorm) : -1;
    double ratio = prered != 0 ? actred / prered : 0;
    update_radius(l, ratio, actred, dirder, pnorm, fnorm, fnorm1);
    *accepted = s == AG_OK && ratio >= 1e-4;
    if (*accepted) {
        *cost = cost1;
        return AG_OK;
    }
    ag_status r = AG_OK;                                        /* back to x0 */
    for (int i = 0; i < L->base.n_params && r == AG_OK; i++)
        r = ag_assign(L->base.params[i], l->keep[i]);
    return s != AG_OK ? s : r;
}

/* The parameters as one flat vector. */
static void flat_params(lm *l)
{
    int64_t off = 0;
    for (int i = 0; i < l->L.base.n_params; i++) {
        agp_copy_values(l->L.base.params[i], l->x0 + off);
        off += ag_tensor_numel(l->L.base.params[i]);
    }
}

/* After the first iteration D must be positive (it divides). */
static ag_status check_diag(const lm *l)
{
    for (int64_t j = 0; *l->n_iter > 0 && j < l->L.n; j++)
        if (!(l->diag[j] > 0))
            return ag_set_last_error(AG_ERR_STATE, "%s: LevenbergMarquardt state '0.diag' "
                                     "element %lld is %.17g, must be > 0 after the first "
                                     "iteration", STEP, (long long)j, l->diag[j]);
    return AG_OK;
}

ag_status ag_lm_step(ag_optim *o, ag_residual_fn f, void *ctx, double *cost)
{
    if (!o || o->ops != &lm_ops)
        return ag_set_last_error(AG_ERR_ARG, "%s: the optimizer is %s", STEP,
                                 o ? "not a Levenberg-Marquardt one (ag_lm_new)" : "NULL");
    if (!f) return ag_set_last_error(AG_ERR_ARG, "%s: the residual function is NULL", STEP);
    lm *l = (lm *)o;
    double c;
    ag_status s = agp_step_begin(o, STEP);
    if (s == AG_OK) s = check_diag(l);
    if (s == AG_OK) s = agp_lsq_eval(&l->L, STEP, f, ctx, 1, &c);
    if (s != AG_OK) return s;
    if (cost) *cost = c;
    *l->func_evals += 1;
    flat_params(l);
    for (int i = 0; i < o->n_params && s == AG_OK; i++) s = ag_assign(l->keep[i], o->params[i]);
    update_scaling(l);
    *l->n_iter += 1;
    int accepted = 0;
    double gmax = agp_max_abs(l->L.jtr, l->L.n);
    for (int k = 0; k < l->opt.max_trials && !accepted && c > 0 && gmax > 0 && s == AG_OK; k++)
        s = lm_trial(l, f, ctx, &c, &accepted);
    if (s == AG_OK) o->steps++;
    return s;
}
