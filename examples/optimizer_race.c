/*
** optimizer_race.c: every optimizer of optim/ on two classic 2-D problems.
**
** (a) Rosenbrock's banana f = (1 - x)^2 + 100 (y - x^2)^2 from (-1.2, 1):
**     steps until |p - (1, 1)| < 1e-4. Newton and L-BFGS (strong Wolfe line
**     search) need tens of steps, as do conjugate gradient and BFGS (the same
**     line search); Gauss-Newton and Levenberg-Marquardt see the function as
**     the squares of r = (1 - x, 10 (y - x^2)) and need a handful; first-order
**     methods crawl along the curved valley for thousands, and some never get
**     that close.
** (b) The saddle f = x^2 - y^2 from (1, 0), exactly on the ridge y = 0: the
**     gradient in y is exactly 0 there, so every deterministic method slides
**     into the saddle point (0, 0) and stays (Gauss-Newton and LM do not
**     apply: x^2 - y^2 is no sum of squares); gradient descent with annealed
**     gradient noise (ag_grad_noise_add) escapes (|y| > 1: f is unbounded
**     below, so that is where the run stops).
** Each optimizer has one learning rate, tuned on Rosenbrock: the fastest of
** the grid that --sweep prints (1e-4 ... 10), else the lowest final loss.
**
** Run:   build/examples/optimizer_race [--quick] [--sweep] [--out DIR]
** Prints a table (optimizer, lr, Rosenbrock steps, evaluations and final
** loss, what happened at the saddle) and writes DIR/rosenbrock.svg and
** DIR/saddle.svg: the trajectories over contour lines of each function.
*/
#include "ag.h"
#include "data_dir.h"
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { GD, MOMENTUM, NESTEROV, ADAGRAD, ADADELTA, RMSPROP, ADAM, ADAMW, ADAMAX, NADAM,
       LBFGS, NEWTON, NOISY_GD, CG_PR, CG_FR, BFGS, GAUSS_NEWTON, LM, N_OPT };
static const char *const names[N_OPT] = {"SGD", "SGD momentum 0.9", "SGD Nesterov 0.9",
    "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW (wd 1e-2)", "Adamax", "NAdam",
    "L-BFGS strong Wolfe", "Newton", "SGD + grad noise", "CG Polak-Ribiere+",
    "CG Fletcher-Reeves", "BFGS", "Gauss-Newton", "Levenberg-Marquardt"};
/* From --sweep; L-BFGS, Newton, CG, BFGS and Gauss-Newton take the full
   step 1 (the line search's first try); LM has no learning rate. */
static const double tuned_lr[N_OPT] = {1e-3, 3e-3, 1e-3, 1, 3e-3, 1e-4, 0.3, 1e-4, 1, 3e-3,
                                       1, 1, 1e-3, 1, 1, 1, 1, 1};
/* The palette's 10 colours, then five more: every series its own. */
static const char *const extra_colors[N_OPT - 10] = {"#000000", "#393b79", "#637939",
    "#b5651d", "#843c39", "#5254a3", "#7b4173", "#8c6d31"};
#define NOISE_ETA 0.01      /* sigma^2 = eta / (1 + step)^0.55, as in the paper */
#define MAX_PTS 2000        /* trajectory points kept per run, for the plot */

typedef struct problem {
    const char *name;
    int saddle;
    double start[2];
    ag_tensor *p[2];        /* x and y: 0-d f64 parameters */
    long evals;             /* objective evaluations */
} problem;

static const char *color_of(int k) { return k < 10 ? svg_color(k) : extra_colors[k - 10]; }

static int least_squares(int k) { return k == GAUSS_NEWTON || k == LM; }

/* Rosenbrock: (1 - x)^2 + 100 (y - x^2)^2; saddle: x^2 - y^2. */
static ag_tensor *objective(ag_tape *t, void *ctx)
{
    problem *pb = ctx;
    ag_tensor *x = pb->p[0], *y = pb->p[1];
    pb->evals++;
    if (pb->saddle) return ag_sub(t, ag_square(t, x), ag_square(t, y));
    ag_tensor *a = ag_rsub_scalar(t, x, 1), *b = ag_sub(t, y, ag_square(t, x));
    return ag_add(t, ag_square(t, a), ag_mul_scalar(t, ag_square(t, b), 100));
}

/* Rosenbrock's residuals r = (1 - x, 10 (y - x^2)): f = |r|^2. */
static ag_tensor *residuals(ag_tape *t, void *ctx)
{
    problem *pb = ctx;
    ag_tensor *x = pb->p[0], *y = pb->p[1];
    pb->evals++;
    ag_tensor *r[2] = {ag_rsub_scalar(t, x, 1),
                       ag_mul_scalar(t, ag_sub(t, y, ag_square(t, x)), 10)};
    for (int i = 0; i < 2; i++) r[i] = ag_reshape(t, r[i], 1, (const int64_t[]){1});
    return ag_concat(t, 2, r, 0);
}

static double f_value(int saddle, double x, double y)
{
    return saddle ? x * x - y * y : (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
}

/* Optimizer k with PyTorch's defaults but the learning rate. */
static ag_optim *make_optimizer(int k, double lr, ag_tensor *const *p)
{
    ag_sgd_opts sgd = ag_sgd_defaults();
    ag_adagrad_opts agr = ag_adagrad_defaults();
    ag_adadelta_opts ad = ag_adadelta_defaults();
    ag_rmsprop_opts rms = ag_rmsprop_defaults();
    ag_adam_opts adam = k == ADAMW ? ag_adamw_defaults() : ag_adam_defaults();
    ag_adamax_opts amax = ag_adamax_defaults();
    ag_nadam_opts nad = ag_nadam_defaults();
    ag_lbfgs_opts lb = ag_lbfgs_default_opts();
    ag_newton_opts nw = ag_newton_default_opts();
    ag_cg_opts cg = ag_cg_default_opts();
    ag_bfgs_opts bf = ag_bfgs_default_opts();
    ag_gauss_newton_opts gn = ag_gauss_newton_default_opts();
    cg.lr = bf.lr = gn.lr = lr;
    cg.variant = k == CG_FR ? AG_CG_FLETCHER_REEVES : AG_CG_POLAK_RIBIERE_PLUS;
    cg.max_iter = bf.max_iter = 1;                  /* steps count iterations */
    cg.tolerance_change = bf.tolerance_change = 1e-15;
    sgd.lr = agr.lr = ad.lr = rms.lr = adam.lr = amax.lr = nad.lr = lb.lr = nw.lr = lr;
    sgd.momentum = k == MOMENTUM || k == NESTEROV ? 0.9 : 0, sgd.nesterov = k == NESTEROV;
    lb.max_iter = 1, lb.max_eval = 25;      /* one iteration per step: steps count iterations */
    lb.line_search = AG_LINE_SEARCH_STRONG_WOLFE;
    switch (k) {
    case ADAGRAD: return ag_adagrad_new(2, p, &agr);
    case ADADELTA: return ag_adadelta_new(2, p, &ad);
    case RMSPROP: return ag_rmsprop_new(2, p, &rms);
    case ADAM: return ag_adam_new(2, p, &adam);
    case ADAMW: return ag_adamw_new(2, p, &adam);
    case ADAMAX: return ag_adamax_new(2, p, &amax);
    case NADAM: return ag_nadam_new(2, p, &nad);
    case LBFGS: return ag_lbfgs_new(2, p, &lb);
    case NEWTON: return ag_newton_new(2, p, &nw);
    case CG_PR: case CG_FR: return ag_cg_new(2, p, &cg);
    case BFGS: return ag_bfgs_new(2, p, &bf);
    case GAUSS_NEWTON: return ag_gauss_newton_new(2, p, &gn);
    case LM: return ag_lm_new(2, p, NULL);
    default: return ag_sgd_new(2, p, &sgd);             /* the SGD family */
    }
}

typedef struct result {
    long steps;             /* to the goal (the escape), -1 if not within the budget */
    long at_saddle;         /* first step within 1e-4 of (0, 0), -1 if never */
    long evals;
    double x, y, loss;      /* where it ended */
    int diverged, n_pts;
    int not_applicable;     /* a least-squares method on a function that is not */
    double px[MAX_PTS], py[MAX_PTS];
} result;

/* Keeps every point of the first 64 steps, then ever sparser ones. */
static void record(result *r, long step, double x, double y)
{
    if (r->n_pts < MAX_PTS - 1 && (step < 64 || step % (step / 64) == 0))
        r->px[r->n_pts] = x, r->py[r->n_pts++] = y;
}

/* One update of optimizer k (noise added to the gradient for NOISY_GD). */
static ag_status take_step(int k, ag_optim *o, problem *pb, ag_tape *t, ag_rng *rng, long step)
{
    if (k == LBFGS) return ag_lbfgs_step(o, objective, pb, NULL);
    if (k == NEWTON) return ag_newton_step(o, objective, pb, NULL);
    if (k == CG_PR || k == CG_FR) return ag_cg_step(o, objective, pb, NULL);
    if (k == BFGS) return ag_bfgs_step(o, objective, pb, NULL);
    if (k == GAUSS_NEWTON) return ag_gauss_newton_step(o, residuals, pb, NULL);
    if (k == LM) return ag_lm_step(o, residuals, pb, NULL);
    ag_tape_reset(t);
    ag_tensor *loss = objective(t, pb);
    if (!loss || ag_backward(t, loss) != AG_OK)
        return ag_set_last_error(ag_tape_status(t), "%s", ag_tape_errmsg(t));
    ag_status s = k == NOISY_GD ? ag_grad_noise_add(2, pb->p, rng, NOISE_ETA, 0.55, step) : AG_OK;
    if (s == AG_OK) s = ag_optim_step(o);
    ag_optim_zero_grad(o);
    return s;
}

/* Runs optimizer k on pb for at most budget steps; 0, or -1 on an error. */
static int race(int k, double lr, problem *pb, long budget, result *r)
{
    memset(r, 0, sizeof *r);
    r->steps = r->at_saddle = -1, pb->evals = 0;
    double x = pb->start[0], y = pb->start[1];
    ag_tensor_set(pb->p[0], 0, x), ag_tensor_set(pb->p[1], 0, y);
    if (pb->saddle && least_squares(k)) {
        r->not_applicable = 1;
        return 0;
    }
    ag_optim *o = make_optimizer(k, lr, pb->p);
    ag_tape *t = ag_tape_new();
    ag_rng *rng = ag_rng_new(7);
    int rc = o && t && rng ? 0 : -1;
    record(r, 0, x, y);
    for (long step = 0; rc == 0 && step < budget; step++) {
        if (take_step(k, o, pb, t, rng, step) != AG_OK) { rc = -1; break; }
        x = ag_tensor_get(pb->p[0], 0), y = ag_tensor_get(pb->p[1], 0);
        record(r, step + 1, x, y);
        if (!isfinite(x) || !isfinite(y) || fabs(x) + fabs(y) > 1e6) { r->diverged = 1; break; }
        if (pb->saddle && r->at_saddle < 0 && hypot(x, y) < 1e-4) r->at_saddle = step + 1;
        if (pb->saddle ? fabs(y) > 1 : hypot(x - 1, y - 1) < 1e-4) { r->steps = step + 1; break; }
    }
    if (rc) fprintf(stderr, "optimizer_race: %s on %s: %s\n", names[k], pb->name, ag_last_error());
    r->x = x, r->y = y, r->loss = f_value(pb->saddle, x, y), r->evals = pb->evals;
    r->px[r->n_pts] = x, r->py[r->n_pts++] = y;
    ag_optim_free(o), ag_tape_free(t), ag_rng_free(rng);
    return rc;
}

/* ------------------------------------------------------------- the plots --- */

/* Contour lines from closed forms, each branch sampled over the part that
   can be in the frame. Rosenbrock's level c is the curve x = 1 + r cos s,
   y = x^2 + r/10 sin s (r = sqrt c; s in [0, pi] above the valley floor
   y = x^2, negated below); the saddle's are the hyperbolas x^2 - y^2 = c. */
static void contours(svg_canvas *c, int saddle)
{
    enum { N = 90 };
    double x[N], y[N], w = fmax(fmax(-c->x0, c->x1), fmax(-c->y0, c->y1));
    for (int lev = 0; lev < (saddle ? 12 : 10); lev++)
        for (int side = -1; side <= 1; side += 2) {
            double level = saddle ? (lev / 2 + 1) * (lev % 2 ? -0.35 : 0.35)
                                  : pow(10, lev * 0.5 - 1.5);   /* 0.03 ... 1000 */
            double r = sqrt(fabs(level)), umax = asinh(w / r);
            double s0 = acos(fmin(1, (c->x1 - 1) / r)), s1 = acos(fmax(-1, (c->x0 - 1) / r));
            for (int i = 0; i < N; i++) {
                double f = (double)i / (N - 1), s = side * (s0 + (s1 - s0) * f), u = umax * (2 * f - 1);
                if (!saddle) x[i] = 1 + r * cos(s), y[i] = x[i] * x[i] + r / 10 * sin(s);
                else if (level > 0) x[i] = side * r * cosh(u), y[i] = r * sinh(u);
                else x[i] = r * sinh(u), y[i] = side * r * cosh(u);
            }
            svg_polyline(c, x, y, N, "#c8c8c8", 1, 0);
        }
}

/* Copies r's points, dropping those within two pixels of the last kept. */
static int thin(const svg_canvas *c, const result *r, double *x, double *y)
{
    int n = 0;
    double lx = 0, ly = 0, px, py;
    for (int i = 0; i < r->n_pts; i++) {
        svg_map(c, r->px[i], r->py[i], &px, &py);
        if (n && i < r->n_pts - 1 && hypot(px - lx, py - ly) < 2) continue;
        x[n] = r->px[i], y[n++] = r->py[i], lx = px, ly = py;
    }
    return n;
}

/* Trajectories over contours, clipped to the frame. 0, or -1 if not written. */
static int plot(const char *path, const problem *pb, result *const *res, double x0, double x1,
                double y0, double y1)
{
    svg_plot pl = {pb->name, "x", "y", 0, 800, 600, 0, 0, 0, 0, 0, 0, NULL};
    svg_series legend[N_OPT];
    svg_canvas c;
    static double x[MAX_PTS], y[MAX_PTS];
    for (int k = 0; k < N_OPT; k++)          /* style k: colour, dashes, marker */
        legend[k] = (svg_series){names[k], NULL, NULL, 0, color_of(k), 0, 1, k + 1};
    if (svg_begin(&c, path, &pl, x0, x1, y0, y1, svg_legend_chars(legend, N_OPT)) != 0)
        return -1;
    fprintf(c.f, "<clipPath id='frame'><rect x='%.1f' y='%.1f' width='%.1f' height='%.1f'/>"
            "</clipPath>\n<g clip-path='url(#frame)'>\n", c.px, c.py, c.pw, c.ph);
    contours(&c, pb->saddle);
    for (int k = 0; k < N_OPT; k++) {  /* each path; its marker every 8th point and last */
        if (res[k]->not_applicable) continue;
        int n = thin(&c, res[k], x, y);
        svg_polyline(&c, x, y, n, color_of(k), 1.5, svg_dash(k));
        for (int i = 0; i < n; i++) {
            double px, py;
            if (i % 8 && i != n - 1) continue;
            svg_map(&c, x[i], y[i], &px, &py);
            svg_marker(&c, px, py, k, color_of(k));
        }
    }
    fprintf(c.f, "</g>\n");
    svg_legend(&c, legend, N_OPT);
    return svg_end(&c);
}

/* ------------------------------------------------------------------ main --- */

/* Steps to converge, else (final loss), for a grid of learning rates. */
static int sweep(problem *rosen, long budget, result *r)
{
    static const double grid[] = {1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1, 3, 10};
    enum { G = sizeof grid / sizeof grid[0] };
    printf("Rosenbrock: steps to |p - (1,1)| < 1e-4 within %ld, else (final loss)\n%-19s",
           budget, "lr");
    for (int j = 0; j < G; j++) printf(" %8g", grid[j]);
    for (int k = 0; k < N_OPT; k++) {
        printf("\n%-19.19s", names[k]);
        for (int j = 0; j < G; j++) {
            if (race(k, grid[j], rosen, budget, r) != 0) return -1;
            if (r->diverged) printf(" %8s", "diverged");
            else if (r->steps < 0) printf(" (%.0e)", r->loss);
            else printf(" %8ld", r->steps);
        }
        fflush(stdout);
    }
    printf("\n");
    return 0;
}

static void print_row(int k, const result *r, const result *s)
{
    char steps[24], outcome[48];
    snprintf(steps, sizeof steps, "%ld", r->steps);
    if (r->steps < 0) strcpy(steps, r->diverged ? "diverged" : "-");
    if (s->not_applicable) {
        printf("%-20s %6g | %6s %6ld %10.3g | %-22s %9s %9s\n", names[k], tuned_lr[k], steps,
               r->evals, r->loss, "n/a: no sum of squares", "-", "-");
        return;
    }
    if (s->steps > 0) snprintf(outcome, sizeof outcome, "escaped @%ld", s->steps);
    else if (s->at_saddle > 0)
        snprintf(outcome, sizeof outcome, "stalled at (0,0) @%ld", s->at_saddle);
    else snprintf(outcome, sizeof outcome, "%s", s->y == 0 ? "stuck on y = 0" : "no escape");
    printf("%-20s %6g | %6s %6ld %10.3g | %-22s %9.2g %9.2g\n", names[k], tuned_lr[k], steps,
           r->evals, r->loss, outcome, s->x, s->y);
}

static int usage(FILE *f, int status)
{
    fprintf(f, "usage: optimizer_race [--quick] [--sweep] [--out DIR]\n"
               "  --quick    smaller step budgets (CI)\n"
               "  --sweep    steps to converge on Rosenbrock over a grid of learning rates\n"
               "  --out DIR  folder for rosenbrock.svg and saddle.svg (default .)\n");
    return status;
}

int main(int argc, char **argv)
{
    int quick = 0, do_sweep = 0, rc = 1;
    const char *out = ".";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--sweep")) do_sweep = 1;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        else {
            fprintf(stderr, "optimizer_race: unknown or incomplete option '%s'\n", argv[i]);
            return usage(stderr, 2);
        }
    }
    if (!example_out_dir("optimizer_race", out)) return 1;
    long budget = quick ? 3000 : 50000, saddle_budget = quick ? 6000 : 10000;
    problem rosen = {"Rosenbrock from (-1.2, 1)", 0, {-1.2, 1}, {NULL, NULL}, 0};
    problem saddle = {"Saddle x^2 - y^2 from (1, 0)", 1, {1, 0}, {NULL, NULL}, 0};
    problem *pbs[2] = {&rosen, &saddle};
    result *res[2][N_OPT] = {{NULL}};
    for (int i = 0; i < 4; i++) {
        ag_tensor **p = &pbs[i / 2]->p[i % 2];
        if (!(*p = ag_scalar(NULL, AG_F64, 0)) || ag_set_requires_grad(*p, 1) != AG_OK)
            goto fail;
    }
    for (int k = 0; k < 2 * N_OPT; k++)
        if (!(res[k / N_OPT][k % N_OPT] = malloc(sizeof(result))))
            goto fail;
    if (do_sweep) {
        rc = sweep(&rosen, budget, res[0][0]) ? 1 : 0;
        goto done;
    }
    printf("Rosenbrock from (-1.2, 1): steps until |p - (1, 1)| < 1e-4 (at most %ld)\n"
           "saddle x^2 - y^2 from (1, 0): escaped when |y| > 1 (at most %ld steps)\n"
           "lr: tuned per optimizer on Rosenbrock (the fastest of the --sweep grid, else the\n"
           "    lowest final loss; the (quasi-)Newton methods and CG start from step 1)\n\n"
           "%-20s %6s | %6s %6s %10s | %-22s %9s %9s\n", budget, saddle_budget, "optimizer",
           "lr", "steps", "evals", "final loss", "saddle", "final x", "final y");
    for (int k = 0; k < N_OPT; k++) {
        if (race(k, tuned_lr[k], &rosen, budget, res[0][k]) ||
            race(k, tuned_lr[k], &saddle, saddle_budget, res[1][k]))
            goto done;
        print_row(k, res[0][k], res[1][k]);
    }
    printf("\n-: not within the budget (Adadelta is slow at every lr of the grid; AdamW's\n"
           "weight decay moves its fixed point off (1, 1) unless lr is small). evals: loss\n"
           "evaluations (the line searches; Newton also builds the 2x2 Hessian, Gauss-\n"
           "Newton and LM the 2x2 Jacobian of the residuals).\n");
    char path[1024];
    snprintf(path, sizeof path, "%s/rosenbrock.svg", out);
    int bad = plot(path, &rosen, res[0], -2, 2.5, -1, 3);
    if (!bad) snprintf(path, sizeof path, "%s/saddle.svg", out);
    if (bad || plot(path, &saddle, res[1], -1.2, 1.2, -1.2, 1.2)) {
        fprintf(stderr, "optimizer_race: cannot write %s\n", path);
        goto done;
    }
    printf("wrote %s/rosenbrock.svg and %s/saddle.svg\n", out, out);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "optimizer_race: setting up: %s\n", ag_last_error());
done:
    for (int k = 0; k < 2 * N_OPT; k++) free(res[k / N_OPT][k % N_OPT]);
    for (int i = 0; i < 4; i++) ag_tensor_free(pbs[i / 2]->p[i % 2]);
    return rc;
}
