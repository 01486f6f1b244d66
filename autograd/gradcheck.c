/*
** gradcheck.c: ag_gradcheck and ag_gradgradcheck. Both compare a full
** Jacobian from backward (one ag_grad per output element) with central
** differences (two evaluations per input element) in f64. The second-order
** check runs the same comparison on the function (x, v) -> grad(<f(x),v>, x)
** built with create_graph. Uses the core API only.
*/
#include "ag_internal.h"

#include <math.h>
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

/* Finds the worst entry and fills the report; 1 if every entry passes. */
static int compare(const jac *J, const ag_gradcheck_opts *o, ag_gradcheck_report *rep)
{
    double worst = -1;
    int64_t wi = 0;
    for (int64_t e = 0; e < J->rows * J->cols; e++) {
        double a = J->analytic[e], n = J->numeric[e];
        double ratio = fabs(a - n) / (o->atol + o->rtol * fabs(n));
        if (ratio != ratio) ratio = INFINITY;            /* a NaN anywhere fails */
        if (ratio > worst) worst = ratio, wi = e;
    }
    rep->checked = J->rows * J->cols;
    rep->passed = worst <= 1;
    if (worst < 0) return 1;                             /* nothing to compare */
    rep->output_index = wi / J->cols;
    col_of(J, wi % J->cols, &rep->input, &rep->index);
    rep->analytic = J->analytic[wi];
    rep->numeric = J->numeric[wi];
    rep->error = fabs(rep->analytic - rep->numeric);
    rep->kink = J->kinkgap[wi] > 10 * (o->atol + o->rtol * fabs(rep->numeric));
    return rep->passed;
}

/* Shared by both checks: J of m at in[0..n_in). */
static ag_status check(const multi *m0, int n_in, ag_tensor *const *in,
                       const ag_gradcheck_opts *opts, ag_gradcheck_report *rep)
{
    multi mm = *m0, *m = &mm;
    ag_gradcheck_opts o = opts ? *opts : (ag_gradcheck_opts){1e-6, 1e-5, 1e-3};
    jac J = {n_in, in, 0, 0, NULL, NULL, NULL};
    ag_tensor *outs[64];
    ag_status st = AG_OK;
    ag_tape *t = ag_tape_new();
    if (!t) return snprintf(rep->message, sizeof rep->message, "%s: out of memory", m->who), AG_ERR_NOMEM;
    for (int i = 0; i < n_in; i++) J.cols += in[i]->numel;
    if (!m->eval(m, t, in, outs)) goto fail;
    for (int k = 0; k < m->n_out; k++) J.rows += outs[k]->numel;
    size_t cells = (size_t)(J.rows * J.cols);
    double *buf = malloc((3 * cells + 3 * (size_t)J.rows + 1) * sizeof *buf);
    if (!buf) {
        ag_tape_free(t);
        snprintf(rep->message, sizeof rep->message, "%s: out of memory for a %lldx%lld "
                 "Jacobian", m->who, (long long)J.rows, (long long)J.cols);
        return AG_ERR_NOMEM;
    }
    memset(buf, 0, cells * sizeof *buf);
    J.analytic = buf;
    J.numeric = buf + cells;
    J.kinkgap = buf + 2 * cells;
    double *f = buf + 3 * cells;
    int ok = analytic(m, &J, t, outs) &&
             numeric(m, &J, t, o.eps, f, f + J.rows, f + 2 * J.rows);
    if (ok) {
        st = compare(&J, &o, rep) ? AG_OK : AG_ERR_GRADCHECK;
        snprintf(rep->message, sizeof rep->message,
                 "%s: %s; worst entry: input %d element %lld, output element %lld: "
                 "analytic %.10g, numeric %.10g, error %.3g%s", m->who,
                 st == AG_OK ? "passed" : "FAILED", rep->input, (long long)rep->index,
                 (long long)rep->output_index, rep->analytic, rep->numeric, rep->error,
                 rep->kink ? " (at a kink: the one-sided differences disagree; move "
                             "the input away from it)" : "");
    }
    free(buf);
    if (ok) {
        ag_tape_free(t);
        return st;
    }
fail:
    st = ag_tape_status(t);
    snprintf(rep->message, sizeof rep->message, "%s", ag_tape_errmsg(t));
    ag_tape_free(t);
    return st == AG_OK ? AG_ERR_ARG : st;
}

/* Validates the user's inputs; sets requires_grad. 1 if fine. */
static int prepare(const char *who, int n, ag_tensor *const *in, ag_fn fn,
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
    if (why) {
        snprintf(rep->message, sizeof rep->message, "%s: %s", who, why);
        return 0;
    }
    for (int i = 0; i < n; i++) in[i]->requires_grad = 1;
    return 1;
}

ag_status ag_gradcheck(ag_fn fn, void *ctx, int n_inputs, ag_tensor *const *inputs,
                       const ag_gradcheck_opts *opts, ag_gradcheck_report *report)
{
    ag_gradcheck_report local;
    ag_gradcheck_report *rep = report ? report : &local;
    memset(rep, 0, sizeof *rep);
    if (!prepare("ag_gradcheck", n_inputs, inputs, fn, rep)) return AG_ERR_ARG;
    multi m = {eval_single, fn, ctx, n_inputs, 1, "ag_gradcheck"};
    return check(&m, n_inputs, inputs, opts, rep);
}

ag_status ag_gradgradcheck(ag_fn fn, void *ctx, int n_inputs, ag_tensor *const *inputs,
                           const ag_gradcheck_opts *opts, ag_gradcheck_report *report)
{
    ag_gradcheck_report local;
    ag_gradcheck_report *rep = report ? report : &local;
    memset(rep, 0, sizeof *rep);
    if (!prepare("ag_gradgradcheck", n_inputs, inputs, fn, rep)) return AG_ERR_ARG;
    /* the output's shape, for v */
    ag_tape *t = ag_tape_new();
    ag_tensor *y = t ? fn(t, inputs, ctx) : NULL;
    if (!y) {
        snprintf(rep->message, sizeof rep->message, "ag_gradgradcheck: %s",
                 t ? ag_tape_errmsg(t) : "out of memory");
        ag_status st = t && ag_tape_status(t) != AG_OK ? ag_tape_status(t) : AG_ERR_ARG;
        ag_tape_free(t);
        return st;
    }
    ag_rng *r = ag_rng_new(0x5eed);
    ag_tensor *v = r ? ag_rand_uniform(NULL, r, AG_F64, y->ndim, y->shape, 0.5, 1.5) : NULL;
    ag_tape_free(t);
    ag_rng_free(r);
    if (!v) return snprintf(rep->message, sizeof rep->message, "ag_gradgradcheck: out of memory"),
                  AG_ERR_NOMEM;
    v->requires_grad = 1;
    ag_tensor *all[33];
    memcpy(all, inputs, (size_t)n_inputs * sizeof *all);
    all[n_inputs] = v;
    multi m = {eval_vjp, fn, ctx, n_inputs, n_inputs, "ag_gradgradcheck"};
    ag_status st = check(&m, n_inputs + 1, all, opts, rep);
    ag_tensor_free(v);
    return st;
}
