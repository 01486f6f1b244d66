/*
** least_squares.c: the residual function and its Jacobian for the
** least-squares methods, and Gauss-Newton. The Jacobian comes from ag_grad
** only: one backward pass per residual (rows), or one per parameter
** element through the backward graph of J^T v (columns). Levenberg-
** Marquardt is in lm.c.
*/
#include "lsq_base.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int agp_lsq_init(agp_lsq *L, ag_lsq_jacobian mode)
{
    int64_t n = L->n = agp_params_numel(&L->base);
    size_t nb = (size_t)(n ? n : 1) * sizeof(double);
    L->mode = mode;
    L->eval = ag_tape_new();
    L->grads = calloc((size_t)L->base.n_params, sizeof *L->grads);
    L->jtj = malloc(nb * (size_t)(n ? n : 1));
    L->chol = malloc(nb * (size_t)(n ? n : 1));
    L->jtr = malloc(nb), L->step = malloc(nb);
    if (L->eval && L->grads && L->jtj && L->chol && L->jtr && L->step) return 1;
    ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", L->base.ops->name);
    return 0;
}

void agp_lsq_destroy(agp_lsq *L)
{
    ag_tape_free(L->eval);
    free(L->grads), free(L->jac), free(L->r), free(L->jtj), free(L->chol), free(L->jtr);
    free(L->step);
}

int agp_lsq_check(const char *fn, int max_params, ag_lsq_jacobian jacobian, int n,
                  ag_tensor *const *params)
{
    if (jacobian != AG_LSQ_JACOBIAN_AUTO && jacobian != AG_LSQ_JACOBIAN_ROWS &&
        jacobian != AG_LSQ_JACOBIAN_COLUMNS) {
        ag_set_last_error(AG_ERR_ARG, "%s: jacobian is %d, must be AG_LSQ_JACOBIAN_AUTO, "
                          "_ROWS or _COLUMNS", fn, (int)jacobian);
        return 0;
    }
    if (!agp_check_range(fn, "max_params", max_params, 1, INT32_MAX)) return 0;
    int64_t total = 0;
    for (int i = 0; params && i < n; i++)
        if (params[i]) total += ag_tensor_numel(params[i]);
    if (total <= max_params) return 1;
    ag_set_last_error(AG_ERR_ARG, "%s: the parameters have %lld elements, more than "
                      "max_params %d (J^T J would be %lld x %lld)", fn, (long long)total,
                      max_params, (long long)total, (long long)total);
    return 0;
}

/* Runs f, checks its result and copies it to L->r; *res gets the tensor. */
static ag_status residuals(agp_lsq *L, const char *fn, ag_residual_fn f, void *ctx,
                           int grad_mode, ag_tensor **res)
{
    for (int i = 0; grad_mode && i < L->base.n_params; i++)
        if (!ag_requires_grad(L->base.params[i]))
            return ag_set_last_error(AG_ERR_ARG, "%s: parameter %d does not require grad "
                                     "(ag_set_requires_grad)", fn, i);
    ag_tape *t = L->eval;
    ag_tape_reset(t);
    ag_set_grad_enabled(t, grad_mode);
    ag_tensor *r = f(t, ctx);
    if (ag_tape_status(t) != AG_OK)
        return ag_set_last_error(ag_tape_status(t), "%s: the residual function failed: %s",
                                 fn, ag_tape_errmsg(t));
    if (!r)
        return ag_set_last_error(AG_ERR_ARG, "%s: the residual function returned NULL with "
                                 "no error on its tape", fn);
    int64_t m = ag_tensor_numel(r);
    if (m < 1)
        return ag_set_last_error(AG_ERR_SHAPE, "%s: the residual function returned no "
                                 "elements", fn);
    if (m > L->m_cap) {
        double *jac = realloc(L->jac, (size_t)(m * (L->n ? L->n : 1)) * sizeof(double));
        if (jac) L->jac = jac;
        double *rv = realloc(L->r, (size_t)m * sizeof(double));
        if (rv) L->r = rv;
        if (!jac || !rv) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
        L->m_cap = m;
    }
    L->m = m;
    agp_copy_values(r, L->r);
    *res = r;
    return AG_OK;
}

static ag_status grad_failed(agp_lsq *L, const char *fn, ag_status s)
{
    return ag_set_last_error(s, "%s: a backward pass of the Jacobian failed: %s", fn,
                             ag_tape_errmsg(L->eval));
}

/* J by rows: row i is the gradient of r_i (a backward pass with a unit
   grad_output). */
static ag_status jacobian_rows(agp_lsq *L, const char *fn, ag_tensor *r)
{
    ag_optim *o = &L->base;
    ag_tensor *unit = ag_zeros(L->eval, ag_tensor_dtype(r), ag_tensor_ndim(r),
                               ag_tensor_shape(r));
    if (!unit) return grad_failed(L, fn, ag_tape_status(L->eval));
    for (int64_t i = 0; i < L->m; i++) {
        ag_tensor_set(unit, i, 1);
        ag_status s = ag_grad(L->eval, 1, &r, &unit, o->n_params, o->params, L->grads, 0);
        if (s != AG_OK) return grad_failed(L, fn, s);
        double *row = L->jac + i * L->n;
        for (int k = 0; k < o->n_params; k++) {
            agp_copy_values(L->grads[k], row);
            row += ag_tensor_numel(o->params[k]);
        }
        ag_tensor_set(unit, i, 0);
    }
    return AG_OK;
}

/* J by columns: g(v) = J^T v recorded with create_graph for a free v;
   column k of J is the gradient of g_k with respect to v. */
static ag_status jacobian_columns(agp_lsq *L, const char *fn, ag_tensor *r)
{
    ag_optim *o = &L->base;
    ag_tape *t = L->eval;
    ag_tensor *v = ag_zeros(t, ag_tensor_dtype(r), ag_tensor_ndim(r), ag_tensor_shape(r));
    ag_status s = v ? ag_set_requires_grad(v, 1) : ag_tape_status(t);
    if (s == AG_OK) s = ag_grad(t, 1, &r, &v, o->n_params, o->params, L->grads, 1);
    if (s != AG_OK) return grad_failed(L, fn, s);
    double *col = malloc((size_t)L->m * sizeof *col);
    if (!col) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    int64_t k = 0;
    for (int j = 0; j < o->n_params && s == AG_OK; j++) {
        ag_tensor *p = o->params[j], *gv = L->grads[j], *dcol = NULL;
        ag_tensor *unit = ag_zeros(t, ag_tensor_dtype(gv), ag_tensor_ndim(p), ag_tensor_shape(p));
        if (!unit) s = ag_tape_status(t);
        for (int64_t l = 0; s == AG_OK && l < ag_tensor_numel(p); l++, k++) {
            ag_tensor_set(unit, l, 1);
            s = ag_grad(t, 1, &gv, &unit, 1, &v, &dcol, 0);
            if (s != AG_OK) break;
            agp_copy_values(dcol, col);
            for (int64_t i = 0; i < L->m; i++) L->jac[i * L->n + k] = col[i];
            ag_tensor_set(unit, l, 0);
        }
    }
    free(col);
    return s == AG_OK ? AG_OK : grad_failed(L, fn, s);
}

/* Refuses NaN and Inf in r and J. */
static ag_status check_finite(const agp_lsq *L, const char *fn, int jacobian)
{
    for (int64_t i = 0; i < L->m; i++) {
        if (!isfinite(L->r[i]))
            return ag_set_last_error(AG_ERR_ARG, "%s: residual %lld is %g", fn, (long long)i,
                                     L->r[i]);
        for (int64_t k = 0; jacobian && k < L->n; k++)
            if (!isfinite(L->jac[i * L->n + k]))
                return ag_set_last_error(AG_ERR_ARG, "%s: Jacobian entry (%lld, %lld) is %g",
                                         fn, (long long)i, (long long)k, L->jac[i * L->n + k]);
    }
    return AG_OK;
}

/* jtj = J^T J, jtr = J^T r. */
static void normal_equations(agp_lsq *L)
{
    int64_t n = L->n, m = L->m;
    for (int64_t a = 0; a < n; a++) {
        double g = 0;
        for (int64_t i = 0; i < m; i++) g += L->jac[i * n + a] * L->r[i];
        L->jtr[a] = g;
        for (int64_t b = 0; b <= a; b++) {
            double v = 0;
            for (int64_t i = 0; i < m; i++) v += L->jac[i * n + a] * L->jac[i * n + b];
            L->jtj[a * n + b] = L->jtj[b * n + a] = v;
        }
    }
}

ag_status agp_lsq_eval(agp_lsq *L, const char *fn, ag_residual_fn f, void *ctx, int jacobian,
                       double *cost)
{
    ag_tensor *r = NULL;
    ag_status s = residuals(L, fn, f, ctx, jacobian, &r);
    if (s == AG_OK && jacobian) {
        int cols = L->mode == AG_LSQ_JACOBIAN_COLUMNS ||
                   (L->mode == AG_LSQ_JACOBIAN_AUTO && L->m > L->n);
        s = cols ? jacobian_columns(L, fn, r) : jacobian_rows(L, fn, r);
    }
    ag_tape_reset(L->eval);
    if (s == AG_OK) s = check_finite(L, fn, jacobian);
    if (s != AG_OK) return s;
    if (jacobian) normal_equations(L);
    *cost = 0.5 * agp_dot(L->r, L->r, L->m);
    return AG_OK;
}

/* ------------------------------------------------------- Gauss-Newton --- */

typedef struct gauss_newton {
    agp_lsq L;
} gauss_newton;

static ag_status gn_refuse_step(ag_optim *o, ag_tape *t)
{
    (void)t;
    return ag_set_last_error(AG_ERR_ARG, "ag_optim_step: %s needs a residual function: call "
                             "ag_gauss_newton_step(o, residuals, ctx, &cost)", o->ops->name);
}

static void gn_destroy(ag_optim *o) { agp_lsq_destroy((agp_lsq *)o); }

static const agp_optim_ops gn_ops = {"GaussNewton", gn_refuse_step, gn_destroy};

ag_gauss_newton_opts ag_gauss_newton_default_opts(void)
{
    ag_gauss_newton_opts o = {1.0, 1000, AG_LSQ_JACOBIAN_AUTO};
    return o;
}

ag_optim *ag_gauss_newton_new(int n, ag_tensor *const *params,
                              const ag_gauss_newton_opts *opts)
{
    ag_gauss_newton_opts op = opts ? *opts : ag_gauss_newton_default_opts();
    if (!agp_lsq_check("ag_gauss_newton_new", op.max_params, op.jacobian, n, params))
        return NULL;
    gauss_newton *g = (gauss_newton *)agp_optim_new(sizeof(gauss_newton), &gn_ops, n, params,
                                                    op.lr);
    if (!g) return NULL;
    if (!agp_lsq_init(&g->L, op.jacobian)) {
        ag_optim_free(&g->L.base);
        return NULL;
    }
    return &g->L.base;
}

ag_status ag_gauss_newton_step(ag_optim *o, ag_residual_fn f, void *ctx, double *cost)
{
    const char *fn = "ag_gauss_newton_step";
    if (!o || o->ops != &gn_ops)
        return ag_set_last_error(AG_ERR_ARG, "%s: the optimizer is %s", fn,
                                 o ? "not a Gauss-Newton one (ag_gauss_newton_new)" : "NULL");
    if (!f) return ag_set_last_error(AG_ERR_ARG, "%s: the residual function is NULL", fn);
    agp_lsq *L = (agp_lsq *)o;
    double c;
    ag_status s = agp_step_begin(o, fn);
    if (s == AG_OK) s = agp_lsq_eval(L, fn, f, ctx, 1, &c);
    if (s != AG_OK) return s;
    if (!agp_cholesky(L->jtj, 0, L->chol, L->n))
        return ag_set_last_error(AG_ERR_ARG, "%s: J^T J is not positive definite (the "
                                 "Jacobian of the %lld residuals has rank < %lld): "
                                 "Levenberg-Marquardt (ag_lm_new) handles that", fn,
                                 (long long)L->m, (long long)L->n);
    agp_cholesky_solve(L->chol, L->jtr, L->step, L->n);
    s = agp_params_axpy(fn, o, NULL, -o->lr, L->step);
    if (s != AG_OK) return s;
    if (cost) *cost = c;
    o->steps++;
    return AG_OK;
}
