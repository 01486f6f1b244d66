/*
** least_squares.c: fitting a nonlinear model, a sum of two exponentials
** y(t) = c1 exp(-k1 t) + c2 exp(-k2 t), to 40 noisy samples, with
** Gauss-Newton, Levenberg-Marquardt and Adam.
**
** The data come from c1 = 3, k1 = 2, c2 = 1, k2 = 0.3 plus Gaussian noise
** of sigma 0.01 (seed 7). Each method starts from (1, 1, 1, 0.1) and
** minimizes the cost 0.5 * sum of squared residuals:
**   Gauss-Newton (ag_gauss_newton_step): J^T J d = -J^T r, J from ag_grad;
**   Levenberg-Marquardt (ag_lm_step): Moré's trust-region damping;
**   Adam (lr 0.05) on the same cost, its gradient by backward.
** The least-squares methods stop when the cost changes by less than 1e-12
** relative; Adam runs its budget. Decaying exponentials are a classic hard
** fit (the rates trade off against the amplitudes): the second-order
** methods land on the noise floor (cost about 40 * 0.01^2 / 2) in a
** handful of iterations, Adam needs hundreds to come within 1% of it.
**
** Run:   build/examples/least_squares [--quick] [--out DIR]
** Prints a table (method, iterations run, iterations until the cost is
** within 1% of the best found, final cost, the fitted parameters)
** and writes DIR/least_squares.svg, the cost per iteration of each method.
*/
#include "ag.h"
#include "data_dir.h"
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_PTS 40
#define MAX_IT 20000
static const double truth[4] = {3, 2, 1, 0.3}, start[4] = {1, 1, 1, 0.1};

typedef struct fit {
    ag_tensor *x;                   /* (c1, k1, c2, k2) */
    double t[N_PTS], y[N_PTS];
} fit;

/* The residuals model(t) - y, [N_PTS]. */
static ag_tensor *residuals(ag_tape *tp, void *ctx)
{
    fit *f = ctx;
    ag_tensor *t = ag_from_f64(tp, AG_F64, 1, (const int64_t[]){N_PTS}, f->t), *model = NULL;
    for (int k = 0; k < 2; k++) {
        ag_tensor *c = ag_slice(tp, f->x, 0, 2 * k, 2 * k + 1, 1);
        ag_tensor *rate = ag_slice(tp, f->x, 0, 2 * k + 1, 2 * k + 2, 1);
        ag_tensor *term = ag_mul(tp, c, ag_exp(tp, ag_neg(tp, ag_mul(tp, rate, t))));
        model = model ? ag_add(tp, model, term) : term;
    }
    return ag_sub(tp, model, ag_from_f64(tp, AG_F64, 1, (const int64_t[]){N_PTS}, f->y));
}

static ag_tensor *cost_fn(ag_tape *tp, void *ctx)     /* 0.5 |r|^2 */
{
    return ag_mul_scalar(tp, ag_sum(tp, ag_square(tp, residuals(tp, ctx)), AG_ALL, 0), 0.5);
}

enum { GN, LM, ADAM, N_METHODS };
static const char *const names[N_METHODS] = {"Gauss-Newton", "Levenberg-Marquardt", "Adam"};

/* One iteration of method m; *cost gets the cost before it. */
static ag_status iterate(int m, ag_optim *o, fit *f, ag_tape *tp, double *cost)
{
    if (m == GN) return ag_gauss_newton_step(o, residuals, f, cost);
    if (m == LM) return ag_lm_step(o, residuals, f, cost);
    ag_tape_reset(tp);
    ag_tensor *c = cost_fn(tp, f);
    ag_status s = c ? ag_backward(tp, c) : ag_tape_status(tp);
    if (s != AG_OK) return ag_set_last_error(s, "%s", ag_tape_errmsg(tp));
    *cost = ag_tensor_get(c, 0);
    s = ag_optim_step(o);
    ag_optim_zero_grad(o);
    return s;
}

/* Runs method m from the start; the costs per iteration into hist. */
static int run(int m, fit *f, int budget, double *hist, int *iters)
{
    for (int i = 0; i < 4; i++) ag_tensor_set(f->x, i, start[i]);
    ag_adam_opts adam = ag_adam_defaults();
    adam.lr = 0.05;
    ag_optim *o = m == GN ? ag_gauss_newton_new(1, &f->x, NULL)
                : m == LM ? ag_lm_new(1, &f->x, NULL) : ag_adam_new(1, &f->x, &adam);
    ag_tape *tp = ag_tape_new();
    int rc = o && tp ? 0 : -1, it = 0;
    for (; rc == 0 && it < budget; it++) {
        if (iterate(m, o, f, tp, &hist[it]) != AG_OK) { rc = -1; break; }
        if (m != ADAM && it > 0 && fabs(hist[it - 1] - hist[it]) <= 1e-12 * hist[it]) { it++; break; }
    }
    if (rc) fprintf(stderr, "least_squares: %s: %s\n", names[m], ag_last_error());
    *iters = it;
    ag_optim_free(o), ag_tape_free(tp);
    return rc;
}

static int usage(FILE *f, int status)
{
    fprintf(f, "usage: least_squares [--quick] [--out DIR]\n"
               "  --quick    2,000 Adam iterations instead of 20,000 (CI)\n"
               "  --out DIR  folder for least_squares.svg (default .)\n");
    return status;
}

int main(int argc, char **argv)
{
    int quick = 0;
    const char *out = ".";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        else {
            fprintf(stderr, "least_squares: unknown or incomplete option '%s'\n", argv[i]);
            return usage(stderr, 2);
        }
    }
    if (!example_out_dir("least_squares", out)) return 1;
    fit f;
    ag_rng *rng = ag_rng_new(7);
    ag_tensor *noise = rng ? ag_rand_normal(NULL, rng, AG_F64, 1, (const int64_t[]){N_PTS}, 0, 0.01)
                           : NULL;
    f.x = ag_zeros(NULL, AG_F64, 1, (const int64_t[]){4});
    static double hist[N_METHODS][MAX_IT], xs[MAX_IT];
    int iters[N_METHODS], rc = 1;
    if (!noise || !f.x || ag_set_requires_grad(f.x, 1) != AG_OK) {
        fprintf(stderr, "least_squares: setting up: %s\n", ag_last_error());
        goto done;
    }
    for (int i = 0; i < N_PTS; i++) {
        f.t[i] = 0.2 * i;
        f.y[i] = truth[0] * exp(-truth[1] * f.t[i]) + truth[2] * exp(-truth[3] * f.t[i]) +
                 ag_tensor_get(noise, i);
    }
    printf("fit of c1 exp(-k1 t) + c2 exp(-k2 t) to %d points, noise sigma 0.01\n"
           "truth (3, 2, 1, 0.3), start (1, 1, 1, 0.1)\n\n%-20s %6s %6s %12s   %s\n", N_PTS,
           "method", "iters", "to 1%", "final cost", "c1, k1, c2, k2");
    double fitted[N_METHODS][4], best = INFINITY;
    for (int m = 0; m < N_METHODS; m++) {
        if (run(m, &f, m == ADAM ? (quick ? 2000 : MAX_IT) : 200, hist[m], &iters[m])) goto done;
        for (int i = 0; i < iters[m]; i++) best = fmin(best, hist[m][i]);
        for (int i = 0; i < 4; i++) fitted[m][i] = ag_tensor_get(f.x, i);
    }
    for (int m = 0; m < N_METHODS; m++) {
        int within = 0;
        while (within < iters[m] && hist[m][within] > 1.01 * best) within++;
        printf("%-20s %6d %6d %12.4e   %.4f, %.4f, %.4f, %.4f\n", names[m], iters[m], within,
               hist[m][iters[m] - 1], fitted[m][0], fitted[m][1], fitted[m][2], fitted[m][3]);
    }
    for (int i = 0; i < MAX_IT; i++) xs[i] = i;
    svg_series series[N_METHODS];
    for (int m = 0; m < N_METHODS; m++)
        series[m] = (svg_series){names[m], xs, hist[m], iters[m], NULL, 0, m != ADAM, 0};
    svg_plot pl = {"Sum of two exponentials: cost per iteration", "iteration",
                   "cost 0.5 |r|^2", 1, 0, 0, 0, 0, 0, 0, 1, 0, NULL};
    char path[1024];
    snprintf(path, sizeof path, "%s/least_squares.svg", out);
    if (svg_line_plot(path, &pl, series, N_METHODS) != 0) {
        fprintf(stderr, "least_squares: cannot write %s\n", path);
        goto done;
    }
    printf("\nwrote %s\n", path);
    rc = 0;
done:
    ag_tensor_free(noise), ag_tensor_free(f.x), ag_rng_free(rng);
    return rc;
}
