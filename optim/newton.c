/*
** newton.c: Newton's method with the exact Hessian, for small parameter
** vectors. The gradient comes from ag_grad with create_graph, each Hessian
** row from one more backward pass through it (the gradient of one
** gradient element), and the step from a Cholesky solve of the damped
** Hessian, with the damping raised when the Hessian is not positive
** definite. The closure helpers are in lbfgs.c (closure_base.h).
*/
#include "closure_base.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct newton {
    ag_optim base;
    ag_newton_opts opt;
    int64_t n;                  /* flat length N */
    ag_tape *eval;              /* the closure's tape */
    ag_tensor **grads, **rows;  /* n_params each: gradient, one Hessian row */
    double *h, *chol;           /* [N*N] Hessian, its damped Cholesky factor */
    double *g, *d;              /* [N] gradient, step */
    double last_damping;
} newton;

static ag_status refuse_step(ag_optim *o, ag_tape *t)
{
    (void)t;
    return ag_set_last_error(AG_ERR_ARG, "ag_optim_step: %s needs a closure: call "
                             "ag_newton_step(o, closure, ctx, &loss)", o->ops->name);
}

static void newton_destroy(ag_optim *o)
{
    newton *nw = (newton *)o;
    ag_tape_free(nw->eval);
    free(nw->grads), free(nw->rows), free(nw->h), free(nw->chol), free(nw->g), free(nw->d);
}

static const agp_optim_ops newton_ops = {"Newton", refuse_step, newton_destroy};

ag_newton_opts ag_newton_default_opts(void)
{
    ag_newton_opts o = {1.0, 0.0, 1000};
    return o;
}

/* Checks the options and the parameter count; NULL + ag_last_error(). */
static int newton_check(const ag_newton_opts *op, int n, ag_tensor *const *params)
{
    const char *fn = "ag_newton_new";
    if (!agp_check_range(fn, "damping", op->damping, 0, INFINITY) ||
        !agp_check_range(fn, "max_params", op->max_params, 1, INT32_MAX))
        return 0;
    int64_t total = 0;
    for (int i = 0; params && i < n; i++) total += ag_tensor_numel(params[i]);
    if (total > op->max_params) {
        ag_set_last_error(AG_ERR_ARG, "%s: the parameters have %lld elements, more than "
                          "max_params %d (the Hessian would be %lld x %lld)", fn,
                          (long long)total, op->max_params, (long long)total, (long long)total);
        return 0;
    }
    return 1;
}

ag_optim *ag_newton_new(int n, ag_tensor *const *params, const ag_newton_opts *opts)
{
    ag_newton_opts op = opts ? *opts : ag_newton_default_opts();
    if (!newton_check(&op, n, params)) return NULL;
    newton *nw = (newton *)agp_optim_new(sizeof(newton), &newton_ops, n, params, op.lr);
    if (!nw) return NULL;
    nw->opt = op;
    nw->n = agp_params_numel(&nw->base);
    size_t vec = (size_t)(nw->n ? nw->n : 1) * sizeof(double);
    nw->eval = ag_tape_new();
    nw->grads = calloc((size_t)n, sizeof *nw->grads);
    nw->rows = calloc((size_t)n, sizeof *nw->rows);
    nw->h = malloc(vec * (size_t)(nw->n ? nw->n : 1));
    nw->chol = malloc(vec * (size_t)(nw->n ? nw->n : 1));
    nw->g = malloc(vec);
    nw->d = malloc(vec);
    if (!nw->eval || !nw->grads || !nw->rows || !nw->h || !nw->chol || !nw->g || !nw->d) {
        ag_optim_free(&nw->base);
        return ag_set_last_error(AG_ERR_NOMEM, "ag_newton_new: out of memory"), NULL;
    }
    return &nw->base;
}

/* ------------------------------------------------------------- Hessian --- */

/* Row k of the Hessian: the gradient of gradient element k (flat index,
   param j, local index l), by one backward pass with a unit vector. */
static ag_status hessian_row(const char *fn, newton *nw, ag_tensor *unit, int j, int64_t l,
                             double *row)
{
    ag_optim *o = &nw->base;
    ag_tensor_set(unit, l, 1);
    ag_status s = ag_grad(nw->eval, 1, &nw->grads[j], &unit, o->n_params, o->params,
                          nw->rows, 0);
    if (s != AG_OK)
        return ag_set_last_error(s, "%s: the Hessian's backward pass failed: %s", fn,
                                 ag_tape_errmsg(nw->eval));
    for (int i = 0; i < o->n_params; i++) {      /* before unit changes: a row may be it */
        agp_copy_values(nw->rows[i], row);
        row += ag_tensor_numel(o->params[i]);
    }
    ag_tensor_set(unit, l, 0);
    return AG_OK;
}

/* Loss, flat gradient nw->g and symmetrized Hessian nw->h; checks they
   are finite. */
static ag_status newton_eval(const char *fn, newton *nw, ag_closure f, void *ctx, double *loss)
{
    ag_optim *o = &nw->base;
    int64_t n = nw->n, k = 0;
    ag_status s = agp_closure_eval(fn, o, nw->eval, f, ctx, 1, loss, nw->grads);
    for (int j = 0; j < o->n_params && s == AG_OK; j++) {
        ag_tensor *p = o->params[j];
        agp_copy_values(nw->grads[j], nw->g + k);
        ag_tensor *unit = ag_zeros(nw->eval, ag_tensor_dtype(p), ag_tensor_ndim(p),
                                   ag_tensor_shape(p));
        if (!unit) s = ag_set_last_error(ag_tape_status(nw->eval), "%s: %s", fn,
                                         ag_tape_errmsg(nw->eval));
        for (int64_t l = 0; l < ag_tensor_numel(p) && s == AG_OK; l++, k++)
            s = hessian_row(fn, nw, unit, j, l, nw->h + k * n);
    }
    if (s != AG_OK) return s;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(nw->g[i]))
            return ag_set_last_error(AG_ERR_ARG, "%s: gradient element %lld is %g", fn,
                                     (long long)i, nw->g[i]);
        for (int64_t c = 0; c <= i; c++) {
            double v = 0.5 * (nw->h[i * n + c] + nw->h[c * n + i]);
            if (!isfinite(v))
                return ag_set_last_error(AG_ERR_ARG, "%s: Hessian entry (%lld, %lld) is %g",
                                         fn, (long long)i, (long long)c, v);
            nw->h[i * n + c] = nw->h[c * n + i] = v;
        }
    }
    return AG_OK;
}

/* ----------------------------------------------------------- the solve --- */

/* chol = the Cholesky factor L of h + lambda I (lower, row-major); 0 when
   a pivot is not positive (not positive definite). */
int agp_cholesky(const double *h, double lambda, double *chol, int64_t n)
{
    for (int64_t j = 0; j < n; j++) {
        double *lj = chol + j * n;
        double s = h[j * n + j] + lambda;
        for (int64_t k = 0; k < j; k++) s -= lj[k] * lj[k];
        if (!(s > 0)) return 0;
        lj[j] = sqrt(s);
        for (int64_t i = j + 1; i < n; i++) {
            double *li = chol + i * n, v = h[i * n + j];
            for (int64_t k = 0; k < j; k++) v -= li[k] * lj[k];
            li[j] = v / lj[j];
        }
    }
    return 1;
}

/* d = (L L^T)^-1 g by forward then back substitution. */
void agp_cholesky_solve(const double *chol, const double *g, double *d, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double v = g[i];
        for (int64_t k = 0; k < i; k++) v -= chol[i * n + k] * d[k];
        d[i] = v / chol[i * n + i];
    }
    for (int64_t i = n - 1; i >= 0; i--) {
        double v = d[i];
        for (int64_t k = i + 1; k < n; k++) v -= chol[k * n + i] * d[k];
        d[i] = v / chol[i * n + i];
    }
}

/* Solves (H + lambda I) d = g, raising lambda until H + lambda I is
   positive definite (see ag_newton_step); the lambda used. */
static ag_status damped_solve(const char *fn, newton *nw, double *lambda)
{
    int64_t n = nw->n;
    double hmax = 0, dmin = INFINITY, lam = nw->opt.damping;
    for (int64_t i = 0; i < n * n; i++) hmax = fmax(hmax, fabs(nw->h[i]));
    for (int64_t i = 0; i < n; i++) dmin = fmin(dmin, nw->h[i * n + i]);
    double beta = hmax > 0 ? 1e-3 * hmax : 1e-3;
    for (int tries = 0; tries < 200; tries++) {
        if (agp_cholesky(nw->h, lam, nw->chol, n)) {
            agp_cholesky_solve(nw->chol, nw->g, nw->d, n);
            *lambda = lam;
            return AG_OK;
        }
        lam = fmax(fmax(2 * lam, beta), beta - dmin);
    }
    return ag_set_last_error(AG_ERR_ARG, "%s: no damping up to %g makes the Hessian positive "
                             "definite", fn, lam);
}

/* --------------------------------------------------------------- steps --- */

static newton *as_newton(const char *fn, ag_optim *o, ag_closure f)
{
    if (!o || o->ops != &newton_ops)
        return ag_set_last_error(AG_ERR_ARG, "%s: the optimizer is %s", fn,
                                 o ? "not a Newton one (ag_newton_new)" : "NULL"), NULL;
    if (!f) return ag_set_last_error(AG_ERR_ARG, "%s: the closure is NULL", fn), NULL;
    return (newton *)o;
}

ag_status ag_newton_step(ag_optim *o, ag_closure f, void *ctx, double *loss)
{
    const char *fn = "ag_newton_step";
    newton *nw = as_newton(fn, o, f);
    if (!nw) return AG_ERR_ARG;
    double fval, lambda = 0;
    ag_status s = agp_step_begin(o, fn);
    if (s != AG_OK) return s;
    s = newton_eval(fn, nw, f, ctx, &fval);
    ag_tape_reset(nw->eval);
    if (s == AG_OK) s = damped_solve(fn, nw, &lambda);
    if (s == AG_OK) s = agp_params_axpy(fn, o, NULL, -o->lr, nw->d);
    if (s != AG_OK) return s;
    if (loss) *loss = fval;
    nw->last_damping = lambda;
    o->steps++;
    return AG_OK;
}

ag_status ag_newton_hessian(ag_optim *o, ag_closure f, void *ctx, double *loss,
                            double *grad, double *hessian)
{
    const char *fn = "ag_newton_hessian";
    newton *nw = as_newton(fn, o, f);
    if (!nw) return AG_ERR_ARG;
    double fval;
    ag_status s = newton_eval(fn, nw, f, ctx, &fval);
    ag_tape_reset(nw->eval);
    if (s != AG_OK) return s;
    if (loss) *loss = fval;
    if (grad) memcpy(grad, nw->g, (size_t)nw->n * sizeof *grad);
    if (hessian) memcpy(hessian, nw->h, (size_t)(nw->n * nw->n) * sizeof *hessian);
    return AG_OK;
}

double ag_newton_last_damping(const ag_optim *o)
{
    return o && o->ops == &newton_ops ? ((const newton *)o)->last_damping : 0;
}
