/*
** regression.c: linear and logistic regression by batch gradient descent.
**
** Two small synthetic problems with known true parameters, y = X w + b:
**   linear:   y = X w + b + noise (sd 0.1), loss MSE = mean((X w + b - y)^2)
**   logistic: y ~ Bernoulli(sigmoid(X w + b)), loss BCE with logits
** Each model starts at w = 0, b = 0 and takes full-batch gradient steps
** (SGD without momentum on the whole data set). The gradient of the first
** step, from backward, is printed next to the same gradient computed in
** plain C from its closed form,
**   MSE: dL/dw = (2/N) X^T (X w + b - y),        dL/db = (2/N) sum (X w + b - y)
**   BCE: dL/dw = (1/N) X^T (sigmoid(X w + b) - y), dL/db = (1/N) sum (...)
** then the loss every few steps, and the learned parameters against the true
** ones (and, for the linear model, against the exact least-squares solution
** from the normal equations).
**
** Run:   build/examples/regression [--quick]
*/
#include "ag.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_N 1000
#define MAX_D 3

typedef struct task {
    const char *name;
    int logistic;
    int64_t n;
    int d;
    double w_true[MAX_D], b_true, lr;
    double x[MAX_N * MAX_D], y[MAX_N];      /* the data in plain C, row-major */
    ag_tensor *X, *Y, *w, *b;               /* [n,d], [n,1], [d,1], [1] */
} task;

/* Draws the data and makes the tensors; 0 on success. */
static int make_task(task *k, ag_rng *rng)
{
    for (int64_t i = 0; i < k->n; i++) {
        double z = k->b_true;
        for (int j = 0; j < k->d; j++) {
            k->x[i * k->d + j] = ag_rng_normal(rng);
            z += k->x[i * k->d + j] * k->w_true[j];
        }
        k->y[i] = k->logistic ? (ag_rng_uniform(rng) < 1 / (1 + exp(-z)))
                              : z + 0.1 * ag_rng_normal(rng);
    }
    k->X = ag_from_f64(NULL, AG_F64, 2, (int64_t[]){k->n, k->d}, k->x);
    k->Y = ag_from_f64(NULL, AG_F64, 2, (int64_t[]){k->n, 1}, k->y);
    k->w = ag_zeros(NULL, AG_F64, 2, (int64_t[]){k->d, 1});
    k->b = ag_zeros(NULL, AG_F64, 1, (int64_t[]){1});
    if (!k->X || !k->Y || !k->w || !k->b) return -1;
    return ag_set_requires_grad(k->w, 1) || ag_set_requires_grad(k->b, 1);
}

static ag_tensor *loss_of(ag_tape *t, task *k)
{
    ag_tensor *pred = ag_add(t, ag_matmul(t, k->X, k->w), k->b);  /* [n,1] */
    return k->logistic ? ag_bce_with_logits_loss(t, pred, k->Y, AG_REDUCTION_MEAN)
                       : ag_mse_loss(t, pred, k->Y, AG_REDUCTION_MEAN);
}

/* The closed-form gradient at the current w, b, in plain C: gw[d], gb. */
static void gradient_by_hand(task *k, double *gw, double *gb)
{
    const double *w = ag_tensor_data(k->w), b = ag_tensor_get(k->b, 0);
    memset(gw, 0, (size_t)k->d * sizeof *gw);
    *gb = 0;
    for (int64_t i = 0; i < k->n; i++) {
        double z = b;
        for (int j = 0; j < k->d; j++) z += k->x[i * k->d + j] * w[j];
        double r = k->logistic ? (1 / (1 + exp(-z)) - k->y[i]) / k->n
                               : 2 * (z - k->y[i]) / k->n;
        for (int j = 0; j < k->d; j++) gw[j] += k->x[i * k->d + j] * r;
        *gb += r;
    }
}

static void print_first_gradient(task *k)
{
    double gw[MAX_D], gb, worst = 0;
    gradient_by_hand(k, gw, &gb);
    printf("gradient of the first step (w = 0, b = 0):\n"
           "             backward          closed form %s\n",
           k->logistic ? "(1/N) X^T (sigmoid(Xw+b) - y)" : "(2/N) X^T (Xw+b - y)");
    for (int j = 0; j <= k->d; j++) {
        double a = j < k->d ? ag_tensor_get(ag_tensor_grad(k->w), j)
                            : ag_tensor_get(ag_tensor_grad(k->b), 0);
        double h = j < k->d ? gw[j] : gb;
        char name[16];
        snprintf(name, sizeof name, j < k->d ? "dL/dw[%d]" : "dL/db", j);
        printf("  %-9s %16.12f %16.12f\n", name, a, h);
        worst = fmax(worst, fabs(a - h));
    }
    printf("  max |backward - closed form| = %.3g\n", worst);
}

static double sum_squares(const ag_tensor *x)
{
    double s = 0;
    for (int64_t i = 0; i < ag_tensor_numel(x); i++) s += ag_tensor_get(x, i) * ag_tensor_get(x, i);
    return s;
}

/* Full-batch gradient descent; prints the loss every `every` steps.
   Returns 0, or -1 after printing the error. */
static int fit(task *k, int steps, int every)
{
    ag_tensor *params[2] = {k->w, k->b};
    ag_sgd_opts so = ag_sgd_defaults();
    so.lr = k->lr;
    ag_optim *opt = ag_sgd_new(2, params, &so);
    ag_tape *t = ag_tape_new();
    int rc = opt && t ? 0 : -1;
    if (rc) fprintf(stderr, "regression: %s\n", ag_last_error());
    for (int step = 0; rc == 0 && step <= steps; step++) {
        ag_tensor *loss = loss_of(t, k);
        if (!loss || ag_backward(t, loss) != AG_OK) {
            fprintf(stderr, "regression: %s\n", ag_tape_errmsg(t));
            rc = -1;
            break;
        }
        double gnorm = sqrt(sum_squares(ag_tensor_grad(k->w)) + sum_squares(ag_tensor_grad(k->b)));
        if (step == 0) print_first_gradient(k), printf("step   loss          |gradient|\n");
        if (step % every == 0 || step == steps)
            printf("%4d   %.8f   %.3e\n", step, ag_tensor_get(loss, 0), gnorm);
        if (step < steps && ag_optim_step(opt) != AG_OK) {   /* w -= lr * dL/dw, ... */
            fprintf(stderr, "regression: %s\n", ag_last_error());
            rc = -1;
        }
        ag_optim_zero_grad(opt);
        ag_tape_reset(t);
    }
    ag_tape_free(t);
    ag_optim_free(opt);
    return rc;
}

/* Least squares with an intercept by the normal equations [X 1]^T [X 1] p
   = [X 1]^T y, solved by Gaussian elimination: p = (w, b). */
static void least_squares(const task *k, double *p)
{
    int m = k->d + 1;
    double a[MAX_D + 1][MAX_D + 2] = {{0}};
    for (int64_t i = 0; i < k->n; i++)
        for (int r = 0; r < m; r++) {
            double xr = r < k->d ? k->x[i * k->d + r] : 1;
            for (int c = 0; c < m; c++) a[r][c] += xr * (c < k->d ? k->x[i * k->d + c] : 1);
            a[r][m] += xr * k->y[i];
        }
    for (int c = 0; c < m; c++)                         /* the matrix is SPD: no pivoting */
        for (int r = c + 1; r < m; r++) {
            double f = a[r][c] / a[c][c];
            for (int q = c; q <= m; q++) a[r][q] -= f * a[c][q];
        }
    for (int r = m - 1; r >= 0; r--) {
        p[r] = a[r][m];
        for (int c = r + 1; c < m; c++) p[r] -= a[r][c] * p[c];
        p[r] /= a[r][r];
    }
}

static void print_params(task *k)
{
    double ls[MAX_D + 1];
    if (!k->logistic) least_squares(k, ls);
    printf("parameter   learned      true%s\n", k->logistic ? "" : "   least squares");
    for (int j = 0; j <= k->d; j++) {
        double v = j < k->d ? ag_tensor_get(k->w, j) : ag_tensor_get(k->b, 0);
        double tv = j < k->d ? k->w_true[j] : k->b_true;
        char name[16];
        snprintf(name, sizeof name, j < k->d ? "w[%d]" : "b", j);
        printf("  %-6s %10.6f %9.4f", name, v, tv);
        if (!k->logistic) printf("      %10.6f", ls[j]);
        printf("\n");
    }
    if (k->logistic)
        printf("(the maximum-likelihood fit to %lld noisy labels: near the truth, not on it)\n",
               (long long)k->n);
}

static int parse_args(int argc, char **argv, int *quick)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) *quick = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: regression [--quick]\n"
                   "  Linear (MSE) and logistic (BCE) regression by gradient descent on\n"
                   "  synthetic data; the first gradient is compared with its closed form.\n"
                   "  --quick   fewer samples and steps (CI)\n");
            return 1;
        } else {
            fprintf(stderr, "regression: unknown option '%s' (see --help)\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int quick = 0, pr = parse_args(argc, argv, &quick);
    if (pr) return pr > 0 ? 0 : 2;
    static task tasks[2] = {
        {"linear regression, MSE", 0, 100, 3, {2, -3, 0.5}, 1, 0.05, {0}, {0}, 0, 0, 0, 0},
        {"logistic regression, BCE with logits", 1, 1000, 2, {1.5, -2, 0}, 0.5, 0.5, {0}, {0},
         0, 0, 0, 0}};
    int steps[2] = {150, quick ? 200 : 300}, rc = 0;
    ag_rng *rng = ag_rng_new(2024);
    for (int i = 0; i < 2 && rc == 0; i++) {
        task *k = &tasks[i];
        if (quick) k->n /= 2;
        if (!rng || make_task(k, rng)) {
            fprintf(stderr, "regression: %s\n", ag_last_error());
            rc = 1;
            break;
        }
        printf("%s== %s: %lld samples, %d features, lr %g, %d steps\n", i ? "\n" : "", k->name,
               (long long)k->n, k->d, k->lr, steps[i]);
        if (fit(k, steps[i], steps[i] / 10)) rc = 1;
        else print_params(k);
    }
    for (int i = 0; i < 2; i++) {
        ag_tensor_free(tasks[i].X), ag_tensor_free(tasks[i].Y);
        ag_tensor_free(tasks[i].w), ag_tensor_free(tasks[i].b);
    }
    ag_rng_free(rng);
    return rc;
}
