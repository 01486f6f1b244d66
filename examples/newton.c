/*
** newton.c: Newton's method with the exact Hessian from double backward,
** against gradient descent, on logistic regression.
**
** The loss is the mean binary cross-entropy of a logistic model on 200
** synthetic samples of 5 features of very different scales (so the problem
** is ill-conditioned), plus a small ridge term (1e-3/2 |w|^2) that keeps
** the minimum finite. First, a Hessian-vector product by double backward
** (ag_grad with create_graph, then ag_grad of <g, v>) is checked against
** the full Hessian (ag_newton_hessian) and against the closed form at
** w = 0, H = X~^T X~ / (4N) + ridge. Then both methods run from w = 0 until
** the gradient norm is below 1e-8:
**   Newton (ag_newton_step): solves H d = g with the exact Hessian;
**   gradient descent: steps of 1/L, L the largest eigenvalue of H at w = 0
**   (an upper bound of the curvature everywhere, since sigmoid' <= 1/4).
** Newton needs a handful of iterations (the gradient norm squares each time
** near the end), gradient descent thousands: each of its steps shrinks the
** error along the flattest direction only by a factor 1 - lambda_min / L.
**
** Run:   build/examples/newton [--quick]
** Prints the Hessian-vector check, Newton's iterations, gradient descent's
** progress and a table of iterations and times.
*/
#include "ag.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define D 5                 /* features; parameters: D weights and a bias */
#define P (D + 1)
#define MAX_N 200
#define RIDGE 1e-3
#define TOL 1e-8

typedef struct problem {
    int64_t n;
    double x[MAX_N * D], y[MAX_N];
    ag_tensor *X, *Y, *w, *b;       /* [n,D], [n,1], [D,1], [1] */
} problem;

/* The closure: mean BCE(X w + b, y) + RIDGE/2 |w|^2. */
static ag_tensor *loss_fn(ag_tape *t, void *ctx)
{
    problem *p = ctx;
    ag_tensor *logits = ag_add(t, ag_matmul(t, p->X, p->w), p->b);
    ag_tensor *bce = ag_bce_with_logits_loss(t, logits, p->Y, AG_REDUCTION_MEAN);
    return ag_add(t, bce, ag_mul_scalar(t, ag_l2_penalty(t, 1, &p->w), RIDGE / 2));
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The loss and its gradient at the current parameters: g[P]. 0 on success. */
static int gradient(ag_tape *t, problem *p, double *loss, double *g)
{
    ag_tensor *params[2] = {p->w, p->b}, *grads[2];
    ag_tape_reset(t);
    ag_tensor *l = loss_fn(t, p);
    if (!l || ag_grad(t, 1, &l, NULL, 2, params, grads, 0) != AG_OK)
        return fprintf(stderr, "newton: %s\n", ag_tape_errmsg(t)), -1;
    *loss = ag_tensor_get(l, 0);
    for (int j = 0; j < P; j++)
        g[j] = j < D ? ag_tensor_get(grads[0], j) : ag_tensor_get(grads[1], 0);
    return 0;
}

static double norm(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i] * v[i];
    return sqrt(s);
}

/* The largest eigenvalue of shift*I - H (H symmetric P x P), by power iteration. */
static double top_eigenvalue(const double *h, double shift)
{
    double v[P], hv[P], lambda = 0;
    for (int i = 0; i < P; i++) v[i] = 1 + 0.1 * i;
    for (int it = 0; it < 2000; it++) {
        for (int i = 0; i < P; i++) {
            hv[i] = shift * v[i];
            for (int j = 0; j < P; j++) hv[i] -= h[i * P + j] * v[j];
        }
        lambda = norm(hv, P);
        for (int i = 0; i < P; i++) v[i] = hv[i] / lambda;
    }
    return lambda;
}

/* Hv by double backward at w = 0, against H v and the closed form. */
static int check_hvp(ag_tape *t, problem *p, const double *h)
{
    static const double v[P] = {1, -2, 0.5, 3, -1, 2};
    ag_tensor *params[2] = {p->w, p->b}, *g[2], *hv[2];
    ag_tape_reset(t);
    ag_tensor *vw = ag_from_f64(t, AG_F64, 2, (int64_t[]){D, 1}, v);
    ag_tensor *vb = ag_from_f64(t, AG_F64, 1, (int64_t[]){1}, v + D);
    ag_tensor *l = loss_fn(t, p);
    if (!l || ag_grad(t, 1, &l, NULL, 2, params, g, 1) != AG_OK) goto fail;   /* g, recorded */
    ag_tensor *gv = ag_add(t, ag_sum(t, ag_mul(t, g[0], vw), AG_ALL, 0),
                           ag_sum(t, ag_mul(t, g[1], vb), AG_ALL, 0));     /* <g, v> */
    if (!gv || ag_grad(t, 1, &gv, NULL, 2, params, hv, 0) != AG_OK) goto fail;
    printf("Hessian-vector product at w = 0, v = (1, -2, 0.5, 3, -1, 2):\n"
           "  double backward     H v (ag_newton_hessian)  closed form X~^T X~ v / 4N + ridge\n");
    double worst = 0;
    for (int i = 0; i < P; i++) {
        double a = i < D ? ag_tensor_get(hv[0], i) : ag_tensor_get(hv[1], 0), hm = 0, cf = 0;
        for (int j = 0; j < P; j++) hm += h[i * P + j] * v[j];
        for (int64_t k = 0; k < p->n; k++) {        /* x~ = (x, 1); sigmoid'(0) = 1/4 */
            double xi = i < D ? p->x[k * D + i] : 1, xv = v[D];
            for (int j = 0; j < D; j++) xv += p->x[k * D + j] * v[j];
            cf += xi * xv / (4.0 * p->n);
        }
        cf += i < D ? RIDGE * v[i] : 0;
        printf("  %16.12f   %16.12f         %16.12f\n", a, hm, cf);
        worst = fmax(worst, fmax(fabs(a - hm), fabs(a - cf)));
    }
    printf("  max difference %.3g\n\n", worst);
    return 0;
fail:
    return fprintf(stderr, "newton: %s\n", ag_tape_errmsg(t)), -1;
}

static void reset_params(problem *p)
{
    ag_init_zeros(p->w), ag_init_zeros(p->b);
}

/* Newton's method from w = 0; returns the iterations, or -1. */
static int run_newton(ag_tape *t, problem *p, double *loss, double *gn)
{
    ag_tensor *params[2] = {p->w, p->b};
    ag_optim *o = ag_newton_new(2, params, NULL);
    if (!o) return fprintf(stderr, "newton: %s\n", ag_last_error()), -1;
    double g[P];
    int it = 0;
    printf("Newton's method (exact Hessian, %d backward passes per iteration):\n"
           "  iter   loss                |gradient|\n", 1 + P);
    for (;; it++) {
        if (gradient(t, p, loss, g)) return ag_optim_free(o), -1;
        *gn = norm(g, P);
        printf("  %4d   %.15f   %.3e\n", it, *loss, *gn);
        if (*gn < TOL || it == 50) break;
        if (ag_newton_step(o, loss_fn, p, NULL) != AG_OK)
            return fprintf(stderr, "newton: %s\n", ag_last_error()), ag_optim_free(o), -1;
    }
    ag_optim_free(o);
    return *gn < TOL ? it : -1;
}

/* Gradient descent with step 1/L from w = 0; returns the iterations, or -1. */
static int run_gd(ag_tape *t, problem *p, double lr, int max_iter, double *loss, double *gn)
{
    double g[P];
    int it = 0;
    printf("\ngradient descent (step 1/L = %.4g):\n  iter   loss                |gradient|\n", lr);
    for (;; it++) {
        if (gradient(t, p, loss, g)) return -1;
        *gn = norm(g, P);
        if (it % 1000 == 0 || *gn < TOL) printf("  %4d   %.15f   %.3e\n", it, *loss, *gn);
        if (*gn < TOL || it == max_iter) break;
        double *w = ag_tensor_data(p->w), *b = ag_tensor_data(p->b);   /* p -= lr g */
        for (int j = 0; j < D; j++) w[j] -= lr * g[j];
        b[0] -= lr * g[D];
    }
    return *gn < TOL ? it : -1;
}

static int parse_args(int argc, char **argv, int *quick)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) *quick = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: newton [--quick]\n"
                   "  Logistic regression by Newton's method (exact Hessian from double\n"
                   "  backward) against gradient descent, to a gradient norm below 1e-8.\n"
                   "  --quick   100 samples instead of 200 (CI)\n");
            return 1;
        } else {
            fprintf(stderr, "newton: unknown option '%s' (see --help)\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int quick = 0, pr = parse_args(argc, argv, &quick);
    if (pr) return pr > 0 ? 0 : 2;
    static problem p;
    static const double scale[D] = {1, 3, 0.3, 1, 2}, w_true[D] = {1, -0.5, 2, 0, -1};
    ag_rng *rng = ag_rng_new(11);
    p.n = quick ? MAX_N / 2 : MAX_N;
    for (int64_t k = 0; rng && k < p.n; k++) {
        double z = 0.3;
        for (int j = 0; j < D; j++) {
            p.x[k * D + j] = scale[j] * ag_rng_normal(rng);
            z += w_true[j] * p.x[k * D + j];
        }
        p.y[k] = ag_rng_uniform(rng) < 1 / (1 + exp(-z));
    }
    p.X = ag_from_f64(NULL, AG_F64, 2, (int64_t[]){p.n, D}, p.x);
    p.Y = ag_from_f64(NULL, AG_F64, 2, (int64_t[]){p.n, 1}, p.y);
    p.w = ag_zeros(NULL, AG_F64, 2, (int64_t[]){D, 1});
    p.b = ag_zeros(NULL, AG_F64, 1, (int64_t[]){1});
    ag_tape *t = ag_tape_new();
    ag_tensor *params[2] = {p.w, p.b};
    int ok = p.w && p.b && !ag_set_requires_grad(p.w, 1) && !ag_set_requires_grad(p.b, 1);
    ag_optim *hess = ok ? ag_newton_new(2, params, NULL) : NULL;    /* for ag_newton_hessian */
    double h0[P * P], h1[P * P], loss[2], gn[2], secs[2], w_newton[P];
    int iters[2] = {-1, -1}, rc = 1;
    if (!rng || !p.X || !p.Y || !t || !hess ||
        ag_newton_hessian(hess, loss_fn, &p, NULL, NULL, h0) != AG_OK) {
        fprintf(stderr, "newton: %s\n", ag_last_error());
        goto done;
    }
    printf("logistic regression: %lld samples, %d features (scales 1, 3, 0.3, 1, 2), "
           "ridge %g\n\n", (long long)p.n, D, RIDGE);
    if (check_hvp(t, &p, h0)) goto done;
    secs[0] = now();
    iters[0] = run_newton(t, &p, &loss[0], &gn[0]);
    secs[0] = now() - secs[0];
    for (int j = 0; j < P; j++) w_newton[j] = j < D ? ag_tensor_get(p.w, j) : ag_tensor_get(p.b, 0);
    if (ag_newton_hessian(hess, loss_fn, &p, NULL, NULL, h1) != AG_OK) {
        fprintf(stderr, "newton: %s\n", ag_last_error());
        goto done;
    }
    double L = top_eigenvalue(h0, 0), lmax = top_eigenvalue(h1, 0);
    double kappa = lmax / (lmax - top_eigenvalue(h1, lmax));
    reset_params(&p);
    secs[1] = now();
    iters[1] = run_gd(t, &p, 1 / L, 200000, &loss[1], &gn[1]);
    secs[1] = now() - secs[1];
    double dw = 0;
    for (int j = 0; j < P; j++)
        dw = fmax(dw, fabs(w_newton[j] - (j < D ? ag_tensor_get(p.w, j) : ag_tensor_get(p.b, 0))));
    printf("\nthe Hessian at the minimum has condition number %.0f (eigenvalues %.3g .. %.3g)\n"
           "\nmethod                    iterations   final loss          |gradient|    time\n",
           kappa, lmax / kappa, lmax);
    const char *names[2] = {"Newton, exact Hessian", "gradient descent, 1/L"};
    for (int m = 0; m < 2; m++)
        printf("%-25s %10d   %.15f   %.2e   %7.1f ms\n", names[m], iters[m], loss[m], gn[m],
               1e3 * secs[m]);
    printf("the two minimizers differ by %.2g (max over the %d parameters)\n", dw, P);
    rc = iters[0] < 0 || iters[1] < 0;
done:
    ag_optim_free(hess);
    ag_tape_free(t);
    ag_tensor_free(p.X), ag_tensor_free(p.Y), ag_tensor_free(p.w), ag_tensor_free(p.b);
    ag_rng_free(rng);
    return rc;
}
