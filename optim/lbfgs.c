/*
** lbfgs.c: L-BFGS as PyTorch's torch.optim.LBFGS: the two-loop recursion
** over the flat parameter vector and the step driver with its stopping
** rules. The strong-Wolfe line search is shared (line_search.c). Also the
** closure helpers shared with the other closure-driven optimizers (see
** closure_base.h). Newton's method lives in newton.c.
**
** The flat vectors (gradient, direction, history) are plain doubles: they
** are optimizer state, not gradients. The persistent ones are the data of
** registered AG_F64 state tensors, so a checkpoint restores them; the
** parameters themselves only change through ops and ag_assign.
*/
#include "closure_base.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ closure helpers --- */

int64_t agp_params_numel(const ag_optim *o)
{
    int64_t n = 0;
    for (int i = 0; i < o->n_params; i++) n += ag_tensor_numel(o->params[i]);
    return n;
}

/* "[2,3]" into buf (64 bytes). */
static const char *shape_str(const ag_tensor *x, char *buf)
{
    int len = snprintf(buf, 64, "[");
    for (int d = 0; d < ag_tensor_ndim(x) && len < 48; d++)
        len += snprintf(buf + len, (size_t)(64 - len), "%s%lld", d ? "," : "",
                        (long long)ag_tensor_shape(x)[d]);
    snprintf(buf + len, (size_t)(64 - len), "]");
    return buf;
}

/* Checks the closure's result; the status, with ag_last_error() set. */
static ag_status check_loss(const char *fn, ag_tape *t, ag_tensor *loss)
{
    char b[64];
    if (ag_tape_status(t) != AG_OK)
        return ag_set_last_error(ag_tape_status(t), "%s: the closure failed: %s", fn,
                                 ag_tape_errmsg(t));
    if (!loss)
        return ag_set_last_error(AG_ERR_ARG, "%s: the closure returned NULL with no error "
                                 "on its tape", fn);
    if (ag_tensor_numel(loss) != 1)
        return ag_set_last_error(AG_ERR_SHAPE, "%s: the closure must return one element, "
                                 "got shape %s", fn, shape_str(loss, b));
    return AG_OK;
}

ag_status agp_closure_eval(const char *fn, ag_optim *o, ag_tape *t, ag_closure f,
                           void *ctx, int create_graph, double *loss, ag_tensor **grads)
{
    for (int i = 0; i < o->n_params; i++)
        if (!ag_requires_grad(o->params[i]))
            return ag_set_last_error(AG_ERR_ARG, "%s: parameter %d does not require grad "
                                     "(ag_set_requires_grad)", fn, i);
    ag_tape_reset(t);
    ag_set_grad_enabled(t, 1);
    ag_tensor *y = f(t, ctx);
    ag_status s = check_loss(fn, t, y);
    if (s != AG_OK) return s;
    *loss = ag_tensor_get(y, 0);
    s = ag_grad(t, 1, &y, NULL, o->n_params, o->params, grads, create_graph);
    if (s != AG_OK)
        return ag_set_last_error(s, "%s: the gradient of the loss failed: %s", fn,
                                 ag_tape_errmsg(t));
    return AG_OK;
}

void agp_copy_values(ag_tensor *x, double *out)
{
    int64_t n = ag_tensor_numel(x);
    if (ag_tensor_dtype(x) == AG_F64) {
        memcpy(out, ag_tensor_data(x), (size_t)n * sizeof *out);
    } else {
        const float *src = ag_tensor_data(x);
        for (int64_t i = 0; i < n; i++) out[i] = src[i];
    }
}

ag_status agp_params_axpy(const char *fn, ag_optim *o, ag_tensor *const *base,
                          double alpha, const double *v)
{
    ag_tape *t = o->tape;
    ag_status s = AG_OK;
    int64_t off = 0;
    ag_tape_reset(t);
    for (int i = 0; i < o->n_params && s == AG_OK; i++) {
        ag_tensor *p = o->params[i];
        ag_tensor *dv = ag_from_f64(t, ag_tensor_dtype(p), ag_tensor_ndim(p),
                                    ag_tensor_shape(p), v + off);
        ag_tensor *r = ag_add(t, base ? base[i] : p, ag_mul_scalar(t, dv, alpha));
        if (!r)
            s = ag_set_last_error(ag_tape_status(t), "%s: updating parameter %d: %s", fn, i,
                                  ag_tape_errmsg(t));
        else
            s = ag_assign(p, r);
        off += ag_tensor_numel(p);
    }
    ag_tape_reset(t);
    return s;
}

/* ------------------------------------------------------------- vectors --- */

static void axpy(double *y, double alpha, const double *x, int64_t n)   /* y += alpha x */
{
    for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

/* --------------------------------------------------------------- state --- */

typedef struct lbfgs {
    ag_optim base;
    ag_lbfgs_opts opt;
    int64_t n;                  /* flat length N */
    ag_tape *eval;              /* the closure's tape (grad mode on) */
    ag_tensor **grads;          /* n_params: the gradient tensors of one evaluation */
    ag_tensor **x_init;         /* n_params persistent copies: the line search's start */
    double *g;                  /* [N] gradient at the current point */
    double *work;               /* [4N] scratch: line-search gradients, y and s */
    double *al;                 /* [history_size] the first loop's coefficients */
    /* the data of the registered state tensors */
    double *func_evals, *n_iter, *t, *h_diag, *prev_loss, *n_hist;
    double *d, *prev_g, *old_dirs, *old_stps, *ro;
} lbfgs;

static ag_status refuse_step(ag_optim *o, ag_tape *t)
{
    (void)t;
    return ag_set_last_error(AG_ERR_ARG, "ag_optim_step: %s needs a closure: call "
                             "ag_lbfgs_step(o, closure, ctx, &loss)", o->ops->name);
}

static void lbfgs_destroy(ag_optim *o)
{
    lbfgs *L = (lbfgs *)o;
    ag_tape_free(L->eval);
    if (L->x_init)
        for (int i = 0; i < o->n_params; i++) ag_tensor_free(L->x_init[i]);
    free(L->x_init), free(L->grads), free(L->g), free(L->work), free(L->al);
}

static const agp_optim_ops lbfgs_ops = {"LBFGS", refuse_step, lbfgs_destroy};

/* Registers "0.<name>", an AG_F64 zero tensor of this shape; its data. */
static double *add_f64_state(ag_optim *o, const char *name, int ndim, const int64_t *shape)
{
    ag_tensor *x = agp_add_state_shaped(o, 0, name, AG_F64, ndim, shape, 0);
    return x ? ag_tensor_data(x) : NULL;
}

/* A whole number in [0, hi], checked before every step too (a counter or
   an index: n_history indexes the history rows). */
static void count_rule(ag_optim *o, double hi)
{
    agp_set_state_rule(o, o->n_state - 1, (agp_state_rule){1, 0, hi, 1, 1});
}

static int lbfgs_add_state(lbfgs *L)
{
    ag_optim *o = &L->base;
    int64_t n = L->n, m = L->opt.history_size;
    const int64_t vec[1] = {n}, hist[2] = {m, n}, len[1] = {m};
    const double most = (double)AG_OPTIM_MAX_STEPS;
    int ok = (L->func_evals = add_f64_state(o, "func_evals", 0, NULL)) != NULL;
    if (ok) count_rule(o, most);
    ok = ok && (L->n_iter = add_f64_state(o, "n_iter", 0, NULL));
    if (ok) count_rule(o, most);
    ok = ok && (L->t = add_f64_state(o, "t", 0, NULL)) &&
         (L->h_diag = add_f64_state(o, "H_diag", 0, NULL)) &&
         (L->prev_loss = add_f64_state(o, "prev_loss", 0, NULL)) &&
         (L->n_hist = add_f64_state(o, "n_history", 0, NULL));
    if (ok) count_rule(o, (double)m);
    return ok && (L->d = add_f64_state(o, "d", 1, vec)) &&
           (L->prev_g = add_f64_state(o, "prev_flat_grad", 1, vec)) &&
           (L->old_dirs = add_f64_state(o, "old_dirs", 2, hist)) &&
           (L->old_stps = add_f64_state(o, "old_stps", 2, hist)) &&
           (L->ro = add_f64_state(o, "ro", 1, len));
}

ag_lbfgs_opts ag_lbfgs_default_opts(void)
{
    ag_lbfgs_opts o = {1.0, 20, 0, 1e-7, 1e-9, 100, AG_LINE_SEARCH_NONE};
    return o;
}

static int lbfgs_check_opts(const ag_lbfgs_opts *op)
{
    const char *fn = "ag_lbfgs_new";
    if (op->line_search != AG_LINE_SEARCH_NONE && op->line_search != AG_LINE_SEARCH_STRONG_WOLFE) {
        ag_set_last_error(AG_ERR_ARG, "%s: line_search is %d, must be AG_LINE_SEARCH_NONE or "
                          "AG_LINE_SEARCH_STRONG_WOLFE", fn, (int)op->line_search);
        return 0;
    }
    return agp_check_range(fn, "max_iter", op->max_iter, 1, INT32_MAX) &&
           agp_check_range(fn, "max_eval", op->max_eval, 0, INT32_MAX) &&
           agp_check_range(fn, "tolerance_grad", op->tolerance_grad, 0, INFINITY) &&
           agp_check_range(fn, "tolerance_change", op->tolerance_change, 0, INFINITY) &&
           agp_check_range(fn, "history_size", op->history_size, 1, INT32_MAX);
}

ag_optim *ag_lbfgs_new(int n, ag_tensor *const *params, const ag_lbfgs_opts *opts)
{
    ag_lbfgs_opts op = opts ? *opts : ag_lbfgs_default_opts();
    if (!lbfgs_check_opts(&op)) return NULL;
    if (op.max_eval == 0) op.max_eval = (int)fmin((double)op.max_iter * 5 / 4, INT32_MAX);
    lbfgs *L = (lbfgs *)agp_optim_new(sizeof(lbfgs), &lbfgs_ops, n, params, op.lr);
    if (!L) return NULL;
    L->opt = op;
    L->n = agp_params_numel(&L->base);
    size_t nb = (size_t)L->n * sizeof(double);
    L->eval = ag_tape_new();
    L->grads = calloc((size_t)n, sizeof *L->grads);
    L->x_init = calloc((size_t)n, sizeof *L->x_init);
    L->g = malloc(nb ? nb : 1);
    L->work = malloc(nb ? 4 * nb : 1);
    L->al = malloc((size_t)op.history_size * sizeof *L->al);
    int ok = L->eval && L->grads && L->x_init && L->g && L->work && L->al;
    for (int i = 0; ok && i < n; i++) ok = (L->x_init[i] = ag_tensor_clone(params[i])) != NULL;
    if (!ok) ag_set_last_error(AG_ERR_NOMEM, "ag_lbfgs_new: out of memory");
    if (!ok || !lbfgs_add_state(L)) {
        ag_optim_free(&L->base);
        return NULL;
    }
    *L->h_diag = 1;
    return &L->base;
}

/* ---------------------------------------------------------- evaluation --- */

static const char *const STEP = "ag_lbfgs_step";

/* f and g at the current parameters. */
static ag_status evaluate(lbfgs *L, ag_closure f, void *ctx, double *loss, double *g)
{
    return agp_closure_eval_flat(STEP, &L->base, L->eval, f, ctx, L->grads, loss, g);
}

/* ------------------------------------------------------------ direction --- */

/* Adds the pair (y, s) to the history, dropping the oldest when full. */
static void push_history(lbfgs *L, const double *y, const double *s, double ys)
{
    int64_t n = L->n, m = L->opt.history_size, k = (int64_t)*L->n_hist;
    if (k == m) {
        memmove(L->old_dirs, L->old_dirs + n, (size_t)((m - 1) * n) * sizeof(double));
        memmove(L->old_stps, L->old_stps + n, (size_t)((m - 1) * n) * sizeof(double));
        memmove(L->ro, L->ro + 1, (size_t)(m - 1) * sizeof(double));
        k--;
    }
    memcpy(L->old_dirs + k * n, y, (size_t)n * sizeof(double));
    memcpy(L->old_stps + k * n, s, (size_t)n * sizeof(double));
    L->ro[k] = 1 / ys;
    *L->n_hist = (double)(k + 1);
    *L->h_diag = ys / agp_dot(y, y, n);
}

/*
** d = -H g by the two-loop recursion, H the L-BFGS inverse-Hessian
** estimate from the history scaled by H_diag; the first iteration ever
** starts a fresh history with d = -g.
*/
static void lbfgs_direction(lbfgs *L)
{
    int64_t n = L->n;
    double *d = L->d, *y = L->work, *s = L->work + n;
    if (*L->n_iter == 1) {
        for (int64_t i = 0; i < n; i++) d[i] = -L->g[i];
        *L->n_hist = 0;
        *L->h_diag = 1;
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        y[i] = L->g[i] - L->prev_g[i];
        s[i] = d[i] * *L->t;
    }
    double ys = agp_dot(y, s, n);
    if (ys > 1e-10) push_history(L, y, s, ys);
    int64_t k = (int64_t)*L->n_hist;
    for (int64_t i = 0; i < n; i++) d[i] = -L->g[i];           /* q, then r: d */
    for (int64_t i = k - 1; i >= 0; i--) {
        L->al[i] = agp_dot(L->old_stps + i * n, d, n) * L->ro[i];
        axpy(d, -L->al[i], L->old_dirs + i * n, n);
    }
    for (int64_t i = 0; i < n; i++) d[i] *= *L->h_diag;
    for (int64_t i = 0; i < k; i++) {
        double be = agp_dot(L->old_dirs + i * n, d, n) * L->ro[i];
        axpy(d, L->al[i] - be, L->old_stps + i * n, n);
    }
}

/* ---------------------------------------------------------- line search --- */

/* The shared strong Wolfe search (line_search.c) along L->d, with
   PyTorch's constants. */
static ag_status strong_wolfe(lbfgs *L, ag_closure fn, void *ctx, double *t, double *f,
                              double gtd, int *evals)
{
    agp_wolfe w = {&L->base, STEP, fn, ctx, L->eval, L->grads, L->x_init, L->d, L->g,
                   L->work, L->n, 1e-4, 0.9, 25, L->opt.tolerance_change};
    return agp_strong_wolfe(&w, t, f, gtd, evals);
}

/* ---------------------------------------------------------------- step --- */

static lbfgs *as_lbfgs(ag_optim *o, ag_closure f)
{
    if (!o || o->ops != &lbfgs_ops)
        return ag_set_last_error(AG_ERR_ARG, "%s: the optimizer is %s", STEP,
                                 o ? "not an L-BFGS one (ag_lbfgs_new)" : "NULL"), NULL;
    if (!f) return ag_set_last_error(AG_ERR_ARG, "%s: the closure is NULL", STEP), NULL;
    return (lbfgs *)o;
}

/*
** One iteration from the current point (loss *f, gradient L->g): a new
** direction, a step along it, the new loss and gradient. *stop is set by
** the stopping rules; *evals counts closure evaluations.
*/
static ag_status lbfgs_iterate(lbfgs *L, ag_closure fn, void *ctx, double *f, int last,
                               int *evals, int *stop)
{
    const ag_lbfgs_opts *op = &L->opt;
    int64_t n = L->n;
    *L->n_iter += 1;
    lbfgs_direction(L);
    memcpy(L->prev_g, L->g, (size_t)n * sizeof(double));
    *L->prev_loss = *f;
    double g1 = 0;
    for (int64_t i = 0; i < n; i++) g1 += fabs(L->g[i]);
    double t = *L->n_iter == 1 ? fmin(1.0, 1.0 / g1) * L->base.lr : L->base.lr;
    double gtd = agp_dot(L->g, L->d, n);
    *L->t = t;
    if (gtd > -op->tolerance_change) return *stop = 1, AG_OK;
    ag_status s = AG_OK;
    *evals = 0;
    int opt_cond = 0;
    if (op->line_search == AG_LINE_SEARCH_STRONG_WOLFE) {
        s = strong_wolfe(L, fn, ctx, &t, f, gtd, evals);
        *L->t = t;
        if (s == AG_OK) s = agp_params_axpy(STEP, &L->base, NULL, t, L->d);
        opt_cond = agp_max_abs(L->g, n) <= op->tolerance_grad;
    } else {
        s = agp_params_axpy(STEP, &L->base, NULL, t, L->d);
        if (s == AG_OK && !last) {
            s = evaluate(L, fn, ctx, f, L->g);
            *evals = 1;
            opt_cond = agp_max_abs(L->g, n) <= op->tolerance_grad;
        }
    }
    *L->func_evals += *evals;
    *stop = opt_cond || agp_max_abs(L->d, n) * fabs(t) <= op->tolerance_change ||
            fabs(*f - *L->prev_loss) < op->tolerance_change;
    return s;
}

ag_status ag_lbfgs_step(ag_optim *o, ag_closure f, void *ctx, double *loss)
{
    lbfgs *L = as_lbfgs(o, f);
    if (!L) return AG_ERR_ARG;
    double fval;
    ag_status s = agp_step_begin(o, STEP);
    if (s != AG_OK) return s;
    s = evaluate(L, f, ctx, &fval, L->g);
    if (s == AG_OK) {
        if (loss) *loss = fval;
        *L->func_evals += 1;
        int evals_total = 1, stop = agp_max_abs(L->g, L->n) <= L->opt.tolerance_grad;
        for (int it = 1; !stop && it <= L->opt.max_iter && s == AG_OK; it++) {
            int evals = 0, last = it == L->opt.max_iter;
            s = lbfgs_iterate(L, f, ctx, &fval, last, &evals, &stop);
            evals_total += evals;
            if (last || evals_total >= L->opt.max_eval) stop = 1;
        }
    }
    ag_tape_reset(L->eval);
    if (s == AG_OK) o->steps++;
    return s;
}
