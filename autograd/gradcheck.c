/*
** gradcheck.c: ag_gradcheck and ag_gradgradcheck. Both compare a full
** Jacobian from backward (one ag_grad per output element) with central
** differences (two evaluations per input element) in f64. The second-order
** check runs the same comparison on the function (x, v) -> grad(<f(x),v>, x)
** built with create_graph. Uses the core API only.
*/
#include "ag_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A function of n inputs with several outputs (gradgradcheck needs that). */
typedef struct multi multi;
struct multi {
    int (*eval)(const multi *m, ag_tape *t, ag_tensor *const *in, ag_tensor **out);
    ag_fn fn;                 /* the user's function */
    void *ctx;
    int n_user;               /* the user's inputs (gradgradcheck adds v) */
    int n_out;
    const char *who;          /* "ag_gradcheck" or "ag_gradgradcheck" */
};

static int eval_single(const multi *m, ag_tape *t, ag_tensor *const *in, ag_tensor **out)
{
    out[0] = m->fn(t, in, m->ctx);
    if (!out[0] && t->status == AG_OK)
        agi_fail(t, AG_ERR_ARG, "%s: the function returned NULL", m->who);
    return out[0] != NULL;
}

/* grads of <f(x), v> with respect to x, with create_graph: x = in[0..n), v = in[n]. */
static int eval_vjp(const multi *m, ag_tape *t, ag_tensor *const *in, ag_tensor **out)
{
    ag_tensor *y = m->fn(t, in, m->ctx);
    if (!y) {
        if (t->status == AG_OK) agi_fail(t, AG_ERR_ARG, "%s: the function returned NULL", m->who);
        return 0;
    }
    ag_tensor *v = in[m->n_user];
    if (!agi_same_shape(y, v) || y->dtype != AG_F64)
        return agi_fail(t, AG_ERR_SHAPE, "%s: the output must keep one shape and be f64",
                        m->who), 0;
    return ag_grad(t, 1, &y, &v, m->n_user, in, out, 1) == AG_OK;
}

typedef struct jac {
    int n_in;
    ag_tensor *const *in;
    int64_t cols, rows;       /* input elements, output elements */
    double *analytic, *numeric, *kinkgap;   /* rows x cols */
} jac;

/* Which input and element a column is. */
static void col_of(const jac *J, int64_t c, int *input, int64_t *index)
{
    int i = 0;
    while (c >= J->in[i]->numel) c -= J->in[i++]->numel;
    *input = i;
    *index = c;
}

/* Analytic Jacobian: one ag_grad per output element (one-hot grad_outputs). */
static int analytic(const multi *m, jac *J, ag_tape *t, ag_tensor **outs)
{
    ag_tensor *gouts[64], *grads[64];
    int64_t row = 0;
    for (int k = 0; k < m->n_out; k++) {
        for (int64_t e = 0; e < outs[k]->numel; e++, row++) {
            for (int q = 0; q < m->n_out; q++)
                gouts[q] = ag_zeros(t, (ag_dtype)outs[q]->dtype, outs[q]->ndim, outs[q]->shape);
            if (t->status != AG_OK) return 0;
            ag_tensor_set(gouts[k], e, 1.0);
            if (ag_grad(t, m->n_out, outs, gouts, J->n_in, J->in, grads, 0) != AG_OK) return 0;
            int64_t c = 0;
            for (int i = 0; i < J->n_in; i++)
                for (int64_t j = 0; j < J->in[i]->numel; j++, c++)
                    J->analytic[row * J->cols + c] = ag_tensor_get(grads[i], j);
        }
    }
    return 1;
}

/* Runs the function on a fresh tape (grad mode on: the second-order
   function builds its gradients with create_graph); writes the flat outputs. */
static int evaluate(const multi *m, ag_tape *t, ag_tensor *const *in, double *flat)
{
    ag_tensor *outs[64];
    ag_tape_reset(t);
    if (!m->eval(m, t, in, outs)) return 0;
    int64_t r = 0;
    for (int k = 0; k < m->n_out; k++)
        for (int64_t e = 0; e < outs[k]->numel; e++) flat[r++] = ag_tensor_get(outs[k], e);
    return 1;
}

/* Numeric Jacobian by central differences; kinkgap = |right - left| slope. */
static int numeric(const multi *m, jac *J, ag_tape *t, double eps, double *f0,
                   double *fp, double *fm)
{
    if (!evaluate(m, t, J->in, f0)) return 0;
    int64_t c = 0;
    for (int i = 0; i < J->n_in; i++) {
        double *x = J->in[i]->data;
        for (int64_t j = 0; j < J->in[i]->numel; j++, c++) {
            double orig = x[j];
            x[j] = orig + eps;
            int ok = evaluate(m, t, J->in, fp);
            x[j] = orig - eps;
            ok = ok && evaluate(m, t, J->in, fm);
            x[j] = orig;
            if (!ok) return 0;
            for (int64_t r = 0; r < J->rows; r++) {
                J->numeric[r * J->cols + c] = (fp[r] - fm[r]) / (2 * eps);
                J->kinkgap[r * J->cols + c] = fabs((fp[r] - f0[r]) - (f0[r] - fm[r])) / eps;
            }
        }
    }
    return 1;
}

/* |a - n| over its tolerance: <= 1 passes. A zero tolerance passes an
   exact match only (0 for it, infinity for any difference); a NaN fails. */
static double error_ratio(double a, double n, const ag_gradcheck_opts *o)
{
    double err = fabs(a - n), tol = o->atol + o->rtol * fabs(n);
    double ratio = err == 0 ? 0 : err / tol;             /* err > 0, tol 0: inf */
    return ratio == ratio ? ratio : INFINITY;
}

/* Finds the worst entry (the largest error over tolerance; of equal
   ratios, as infinite ones with a zero tolerance, the largest error) and
   fills the report; 1 if every entry passes. */
static int compare(const jac *J, const ag_gradcheck_opts *o, ag_gradcheck_report *rep)
{
    const int64_t cells = J->rows * J->cols;              /* checked by jac_alloc */
    double worst = -1, worst_err = -1;
    int64_t wi = 0;
    for (int64_t e = 0; e < cells; e++) {
        double ratio = error_ratio(J->analytic[e], J->numeric[e], o);
        double err = fabs(J->analytic[e] - J->numeric[e]);
        if (ratio > worst || (ratio == worst && err > worst_err))
            worst = ratio, worst_err = err, wi = e;
    }
    rep->checked = cells;
    rep->passed = worst <= 1;
    if (worst < 0) return 1;                             /* nothing to compare */
    rep->output_index = wi / J->cols;
    col_of(J, wi % J->cols, &rep->input, &rep->index);
    rep->analytic = J->analytic[wi];
    rep->numeric = J->numeric[wi];
    rep->error = fabs(rep->analytic - rep->numeric);
    rep->kink = !rep->passed &&
                J->kinkgap[wi] > 10 * (o->atol + o->rtol * fabs(rep->numeric));
    return rep->passed;
}

/* Sets the report's message (printf-style), also as ag_last_error() for a
   caller who passed no report; returns s. */
static ag_status report(ag_gradcheck_report *rep, ag_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static ag_status report(ag_gradcheck_report *rep, ag_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->message, sizeof rep->message, fmt, ap);
    va_end(ap);
    if (s != AG_OK) ag_set_last_error(s, "%s", rep->message);
    return s;
}

/* The three arrays of J and room for three rows of outputs (*f), zeroed;
   AG_ERR_NOMEM (reported) when out of memory or their size overflows. */
static ag_status jac_alloc(const multi *m, jac *J, double **f, ag_gradcheck_report *rep)
{
    const int64_t cells = agi_mul(J->rows, J->cols), c3 = agi_mul(cells, 3);
    const int64_t r3 = agi_mul(J->rows, 3);
    const int64_t count = c3 < 0 || r3 < 0 || c3 > INT64_MAX - r3 - 1 ? -1 : c3 + r3 + 1;
    const int64_t bytes = agi_mul(count, (int64_t)sizeof(double));
    double *buf = bytes < 0 || (uint64_t)bytes > SIZE_MAX ? NULL
                                                          : calloc((size_t)count, sizeof *buf);
    if (!buf)
        return report(rep, AG_ERR_NOMEM, "%s: out of memory for a %lldx%lld Jacobian", m->who,
                      (long long)J->rows, (long long)J->cols);
    J->analytic = buf;
    J->numeric = buf + cells;
    J->kinkgap = buf + 2 * cells;
    *f = buf + 3 * cells;
    return AG_OK;
}

/* J of m at in[0..n_in) from the tape t (its outputs evaluated), compared
   under o: AG_OK, AG_ERR_GRADCHECK, or the error met (all reported). */
static ag_status compare_jacobians(const multi *m, jac *J, ag_tape *t, ag_tensor **outs,
                                   const ag_gradcheck_opts *o, ag_gradcheck_report *rep)
{
    double *f = NULL;
    ag_status st = jac_alloc(m, J, &f, rep);
    if (st != AG_OK) return st;
    int ok = analytic(m, J, t, outs) && numeric(m, J, t, o->eps, f, f + J->rows, f + 2 * J->rows);
    int passed = ok && compare(J, o, rep);
    free(J->analytic);
    if (!ok) {
        st = ag_tape_status(t);
        return report(rep, st == AG_OK ? AG_ERR_ARG : st, "%s", ag_tape_errmsg(t));
    }
    st = passed ? AG_OK : AG_ERR_GRADCHECK;
    return report(rep, st, "%s: %s; worst entry: input %d element %lld, output element %lld: "
                  "analytic %.10g, numeric %.10g, error %.3g%s", m->who,
                  st == AG_OK ? "passed" : "FAILED", rep->input, (long long)rep->index,
                  (long long)rep->output_index, rep->analytic, rep->numeric, rep->error,
                  rep->kink ? " (at a kink: the one-sided differences disagree; move "
                              "the input away from it)" : "");
}

/* Shared by both checks: J of m at in[0..n_in), options o (checked). */
static ag_status check(const multi *m, int n_in, ag_tensor *const *in,
                       const ag_gradcheck_opts *o, ag_gradcheck_report *rep)
{
    jac J = {n_in, in, 0, 0, NULL, NULL, NULL};
    ag_tensor *outs[64];
    ag_tape *t = ag_tape_new();
    if (!t) return report(rep, AG_ERR_NOMEM, "%s: out of memory", m->who);
    for (int i = 0; i < n_in; i++) J.cols += in[i]->numel;  /* 32 inputs: no overflow */
    ag_status st;
    if (!m->eval(m, t, in, outs)) {
        st = ag_tape_status(t);
        st = report(rep, st == AG_OK ? AG_ERR_ARG : st, "%s", ag_tape_errmsg(t));
    } else {
        for (int k = 0; k < m->n_out; k++) J.rows += outs[k]->numel;
        st = compare_jacobians(m, &J, t, outs, o, rep);
    }
    ag_tape_free(t);
    return st;
}

/* The options (the defaults when NULL) into o; AG_ERR_ARG (reported)
   unless eps is finite and > 0 and the tolerances finite and >= 0. */
static ag_status check_opts(const char *who, const ag_gradcheck_opts *opts,
                            ag_gradcheck_opts *o, ag_gradcheck_report *rep)
{
    *o = opts ? *opts : (ag_gradcheck_opts){1e-6, 1e-5, 1e-3};
    if (!(isfinite(o->eps) && o->eps > 0))
        return report(rep, AG_ERR_ARG, "%s: opts->eps is %.17g, must be finite and > 0", who,
                      o->eps);
    const double tol[2] = {o->atol, o->rtol};
    for (int k = 0; k < 2; k++)
        if (!(isfinite(tol[k]) && tol[k] >= 0))
            return report(rep, AG_ERR_ARG, "%s: opts->%s is %.17g, must be finite and >= 0", who,
                          k ? "rtol" : "atol", tol[k]);
    return AG_OK;
}

/* Validates the user's inputs and options (into o); sets requires_grad.
   AG_OK, or AG_ERR_ARG reported. */
static ag_status prepare(const char *who, int n, ag_tensor *const *in, ag_fn fn,
                         const ag_gradcheck_opts *opts, ag_gradcheck_opts *o,
                         ag_gradcheck_report *rep)
{
    const char *why = NULL;
    if (!fn) why = "fn is NULL";
    else if (n < 1 || n > 32 || !in) why = "needs 1 to 32 inputs";
    for (int i = 0; !why && i < n; i++) {
        if (!in[i]) why = "an input is NULL";
        else if (in[i]->tape) why = "inputs must be persistent (made with a NULL tape)";
        else if (in[i]->dtype != AG_F64) why = "inputs must be AG_F64";
        else if (in[i]->node >= 0) why = "inputs must be leaves";
    }
    if (why) return report(rep, AG_ERR_ARG, "%s: %s", who, why);
    ag_status s = check_opts(who, opts, o, rep);
    if (s != AG_OK) return s;
    for (int i = 0; i < n; i++) in[i]->requires_grad = 1;
    return AG_OK;
}

ag_status ag_gradcheck(ag_fn fn, void *ctx, int n_inputs, ag_tensor *const *inputs,
                       const ag_gradcheck_opts *opts, ag_gradcheck_report *report_out)
{
    ag_gradcheck_report local;
    ag_gradcheck_report *rep = report_out ? report_out : &local;
    ag_gradcheck_opts o;
    memset(rep, 0, sizeof *rep);
    ag_status s = prepare("ag_gradcheck", n_inputs, inputs, fn, opts, &o, rep);
    if (s != AG_OK) return s;
    multi m = {eval_single, fn, ctx, n_inputs, 1, "ag_gradcheck"};
    return check(&m, n_inputs, inputs, &o, rep);
}

/* v: uniform in [0.5, 1.5) of the shape of fn's output at inputs, or NULL
   (reported). */
static ag_tensor *make_v(ag_fn fn, void *ctx, ag_tensor *const *inputs, ag_status *s,
                         ag_gradcheck_report *rep)
{
    const char *who = "ag_gradgradcheck";
    ag_tape *t = ag_tape_new();
    ag_tensor *y = t ? fn(t, inputs, ctx) : NULL;
    if (!y) {
        *s = t && ag_tape_status(t) != AG_OK ? ag_tape_status(t) : t ? AG_ERR_ARG : AG_ERR_NOMEM;
        report(rep, *s, "%s: %s", who, t ? ag_tape_errmsg(t) : "out of memory");
        ag_tape_free(t);
        return NULL;
    }
    ag_rng *r = ag_rng_new(0x5eed);
    ag_tensor *v = r ? ag_rand_uniform(NULL, r, AG_F64, y->ndim, y->shape, 0.5, 1.5) : NULL;
    ag_tape_free(t);
    ag_rng_free(r);
    if (!v) *s = report(rep, AG_ERR_NOMEM, "%s: out of memory", who);
    return v;
}

ag_status ag_gradgradcheck(ag_fn fn, void *ctx, int n_inputs, ag_tensor *const *inputs,
                           const ag_gradcheck_opts *opts, ag_gradcheck_report *report_out)
{
    ag_gradcheck_report local;
    ag_gradcheck_report *rep = report_out ? report_out : &local;
    ag_gradcheck_opts o;
    memset(rep, 0, sizeof *rep);
    ag_status s = prepare("ag_gradgradcheck", n_inputs, inputs, fn, opts, &o, rep);
    if (s != AG_OK) return s;
    ag_tensor *v = make_v(fn, ctx, inputs, &s, rep);
    if (!v) return s;
    v->requires_grad = 1;
    ag_tensor *all[33];
    memcpy(all, inputs, (size_t)n_inputs * sizeof *all);
    all[n_inputs] = v;
    multi m = {eval_vjp, fn, ctx, n_inputs, n_inputs, "ag_gradgradcheck"};
    s = check(&m, n_inputs + 1, all, &o, rep);
    ag_tensor_free(v);
    return s;
}
