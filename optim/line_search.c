/*
** line_search.c: the strong-Wolfe line search the closure-driven
** optimizers share (L-BFGS, conjugate gradient, BFGS), as PyTorch's
** torch.optim.LBFGS has it: cubic interpolation, a bracketing phase that
** extrapolates, then a zoom. Also the flat-vector helpers they share.
** The optimizers' own updates live in lbfgs.c, cg.c and bfgs.c.
*/
#include "closure_base.h"

#include <math.h>
#include <string.h>

double agp_dot(const double *a, const double *b, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

double agp_max_abs(const double *a, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

ag_status agp_closure_eval_flat(const char *fn, ag_optim *o, ag_tape *t, ag_closure f,
                                void *ctx, ag_tensor **grads, double *loss, double *g)
{
    ag_status s = agp_closure_eval(fn, o, t, f, ctx, 0, loss, grads);
    int64_t off = 0;
    for (int i = 0; s == AG_OK && i < o->n_params; i++) {
        agp_copy_values(grads[i], g + off);
        off += ag_tensor_numel(grads[i]);
    }
    return s;
}

/*
** The minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1
** and g2, clamped to [lo, hi]; the middle of [lo, hi] when the cubic has
** no minimum.
*/
static double cubic_interpolate(double x1, double f1, double g1, double x2, double f2,
                                double g2, double lo, double hi)
{
    double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
    double d2sq = d1 * d1 - g1 * g2;
    if (!(d2sq >= 0)) return (lo + hi) / 2;
    double d2 = sqrt(d2sq), x;
    if (x1 <= x2)
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2));
    else
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return fmin(fmax(x, lo), hi);
}

typedef struct ls_point {
    double t, f, gtd;           /* step, loss, directional derivative there */
    double *g;                  /* [N] gradient there */
} ls_point;

typedef struct line_search {
    const agp_wolfe *w;
    double f0, gtd0;            /* at t = 0 */
    int evals;
} line_search;

static void point_copy(ls_point *dst, const ls_point *src, int64_t n)
{
    dst->t = src->t, dst->f = src->f, dst->gtd = src->gtd;
    if (dst->g != src->g) memcpy(dst->g, src->g, (size_t)n * sizeof(double));
}

/* Evaluates the point x_init + t d into p; the parameters end at x_init. */
static ag_status ls_eval(line_search *ls, double t, ls_point *p)
{
    const agp_wolfe *w = ls->w;
    ag_optim *o = w->o;
    ag_status s = agp_params_axpy(w->fn, o, w->x_init, t, w->d);
    if (s == AG_OK) s = agp_closure_eval_flat(w->fn, o, w->eval, w->f, w->ctx, w->grads,
                                              &p->f, p->g);
    ag_status r = AG_OK;
    for (int i = 0; i < o->n_params && r == AG_OK; i++)
        r = ag_assign(o->params[i], w->x_init[i]);
    ls->evals++;
    if (s != AG_OK || r != AG_OK) return s != AG_OK ? s : r;
    p->t = t;
    p->gtd = agp_dot(p->g, w->d, w->n);
    return AG_OK;
}

static int armijo_fails(const line_search *ls, const ls_point *p)
{
    return p->f > ls->f0 + ls->w->c1 * p->t * ls->gtd0;
}

static int curvature_holds(const line_search *ls, const ls_point *p)
{
    return fabs(p->gtd) <= -ls->w->c2 * ls->gtd0;
}

/*
** Bracketing phase: grows the step by cubic extrapolation until it either
** satisfies the strong Wolfe conditions (*done, br[0]) or brackets an
** interval holding such a point (br[0], br[1]). *ls_iter counts the trial
** points after the first.
*/
static ag_status ls_bracket(line_search *ls, double t, ls_point *br, ls_point *prev,
                            ls_point *cur, int *ls_iter, int *done)
{
    int64_t n = ls->w->n;
    ag_status s = ls_eval(ls, t, cur);
    while (s == AG_OK && *ls_iter < ls->w->max_evals) {
        int brackets = armijo_fails(ls, cur) || (*ls_iter > 1 && cur->f >= prev->f);
        if (!brackets && curvature_holds(ls, cur)) {
            point_copy(&br[0], cur, n);
            *done = 1;
            return AG_OK;
        }
        if (brackets || cur->gtd >= 0) {
            point_copy(&br[0], prev, n);
            point_copy(&br[1], cur, n);
            return AG_OK;
        }
        double next = cubic_interpolate(prev->t, prev->f, prev->gtd, cur->t, cur->f, cur->gtd,
                                        cur->t + 0.01 * (cur->t - prev->t), cur->t * 10);
        point_copy(prev, cur, n);
        s = ls_eval(ls, next, cur);
        ++*ls_iter;
    }
    if (s != AG_OK) return s;
    br[0].t = 0, br[0].f = ls->f0, br[0].gtd = ls->gtd0;    /* out of evaluations */
    memcpy(br[0].g, ls->w->g, (size_t)n * sizeof(double));
    point_copy(&br[1], cur, n);
    return AG_OK;
}

/* The zoom's next trial: cubic, kept 10% of the bracket from its ends. */
static double zoom_trial(const ls_point *br, int *insuf_progress)
{
    double t = cubic_interpolate(br[0].t, br[0].f, br[0].gtd, br[1].t, br[1].f, br[1].gtd,
                                 fmin(br[0].t, br[1].t), fmax(br[0].t, br[1].t));
    double hi = fmax(br[0].t, br[1].t), lo = fmin(br[0].t, br[1].t), eps = 0.1 * (hi - lo);
    if (fmin(hi - t, t - lo) >= eps) {
        *insuf_progress = 0;
    } else if (*insuf_progress || t >= hi || t <= lo) {
        t = fabs(t - hi) < fabs(t - lo) ? hi - eps : lo + eps;
        *insuf_progress = 0;
    } else {
        *insuf_progress = 1;
    }
    return t;
}

/* Zoom phase: shrinks the bracket [br[0], br[1]] to a strong Wolfe point;
   *low is the end with the lower loss. */
static ag_status ls_zoom(line_search *ls, ls_point *br, ls_point *cur, int ls_iter,
                         int done, int *low)
{
    int64_t n = ls->w->n;
    double d_norm = agp_max_abs(ls->w->d, n);
    int insuf = 0, high = 1 - *low;
    while (!done && ls_iter < ls->w->max_evals) {
        if (fabs(br[1].t - br[0].t) * d_norm < ls->w->tolerance_change) break;
        ag_status s = ls_eval(ls, zoom_trial(br, &insuf), cur);
        if (s != AG_OK) return s;
        ls_iter++;
        if (armijo_fails(ls, cur) || cur->f >= br[*low].f) {
            point_copy(&br[high], cur, n);
            *low = br[0].f <= br[1].f ? 0 : 1;
            high = 1 - *low;
        } else {
            if (curvature_holds(ls, cur))
                done = 1;
            else if (cur->gtd * (br[high].t - br[*low].t) >= 0)
                point_copy(&br[high], &br[*low], n);
            point_copy(&br[*low], cur, n);
        }
    }
    return AG_OK;
}

ag_status agp_strong_wolfe(const agp_wolfe *w, double *t, double *f, double gtd, int *evals)
{
    int64_t n = w->n;
    ag_optim *o = w->o;
    line_search ls = {w, *f, gtd, 0};
    ls_point br[2] = {{0, 0, 0, w->work}, {0, 0, 0, w->work + n}};
    ls_point prev = {0, *f, gtd, w->work + 2 * n}, cur = {0, 0, 0, w->work + 3 * n};
    memcpy(prev.g, w->g, (size_t)n * sizeof(double));
    int ls_iter = 0, done = 0;
    ag_status s = AG_OK;
    for (int i = 0; s == AG_OK && i < o->n_params; i++)   /* x_init = x */
        s = ag_assign(w->x_init[i], o->params[i]);
    if (s == AG_OK) s = ls_bracket(&ls, *t, br, &prev, &cur, &ls_iter, &done);
    int low = done || br[0].f <= br[1].f ? 0 : 1;
    if (s == AG_OK) s = ls_zoom(&ls, br, &cur, ls_iter, done, &low);
    *evals = ls.evals;
    if (s != AG_OK) return s;
    *t = br[low].t;
    *f = br[low].f;
    memcpy(w->g, br[low].g, (size_t)n * sizeof(double));
    return AG_OK;
}
