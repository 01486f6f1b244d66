/*
** jacobians.c: forward mode against reverse mode for tall and wide
** Jacobians, and a Hessian by forward-over-reverse.
**
** A Jacobian of an output of m elements in n inputs takes n forward walks
** (one JVP per input direction, ag_jvp's mechanism) or m backward walks
** (one VJP per output element, ag_grad's): forward mode wins when the
** Jacobian is tall (m >> n), reverse mode when it is wide (m << n).
**   tall: y = tanh(W x + b), W [m, n] with n = 8, m = 512 (128 with --quick)
**   wide: the same with n and m swapped
** Both are timed (the best of 3) with ag_jacobian forced to each mode; the results
** agree to rounding. Then the Hessian of the extended Rosenbrock function
** f(x) = sum over i of 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2 in n = 32
** (8) variables, by forward-over-reverse (one JVP of the gradient per
** direction) and by reverse-over-reverse, against the closed form (it is
** tridiagonal).
**
** Run:   build/examples/jacobians [--quick]
** Prints a table: case, mode, walks, milliseconds, max |difference|.
*/
#include "ag.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* y = tanh(W x + b): W [m, n], b [m] in ctx, x [n] the input */
typedef struct layer {
    ag_tensor *w, *b;
} layer;

static ag_tensor *f_layer(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const layer *L = ctx;
    return ag_tanh(t, ag_linear(t, in[0], L->w, L->b));
}

/* the extended Rosenbrock function of x [n] */
static ag_tensor *f_rosen(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const int64_t n = ag_tensor_numel(in[0]);
    (void)ctx;
    ag_tensor *a = ag_slice(t, in[0], 0, 0, n - 1, 1), *b = ag_slice(t, in[0], 0, 1, n, 1);
    ag_tensor *r1 = ag_sub(t, b, ag_square(t, a)), *r2 = ag_rsub_scalar(t, a, 1);
    return ag_sum(t, ag_add(t, ag_mul_scalar(t, ag_square(t, r1), 100), ag_square(t, r2)),
                  AG_ALL, 0);
}

/* Rosenbrock's Hessian at x, into h [n * n] */
static void rosen_hessian(const double *x, int64_t n, double *h)
{
    memset(h, 0, (size_t)(n * n) * sizeof *h);
    for (int64_t i = 0; i + 1 < n; i++) {
        h[i * n + i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
        h[(i + 1) * n + i + 1] += 200;
        h[i * n + i + 1] += -400 * x[i];
        h[(i + 1) * n + i] += -400 * x[i];
    }
}

static double max_diff(const ag_tensor *a, const ag_tensor *b)
{
    double d = 0;
    for (int64_t i = 0; i < ag_tensor_numel(a); i++)
        d = fmax(d, fabs(ag_tensor_get(a, i) - ag_tensor_get(b, i)));
    return d;
}

/* Times both modes on a layer of n inputs and m outputs; 0 if fine. */
static int run_layer(const char *name, int64_t n, int64_t m, ag_rng *r)
{
    layer L = {ag_rand_normal(NULL, r, AG_F64, 2, (int64_t[]){m, n}, 0, 1 / sqrt((double)n)),
               ag_rand_normal(NULL, r, AG_F64, 1, &m, 0, 0.1)};
    ag_tensor *x = ag_rand_normal(NULL, r, AG_F64, 1, &n, 0, 1);
    ag_tape *t = ag_tape_new();
    ag_tensor *jac[2] = {NULL, NULL}, *kept = NULL;     /* kept: forward's, persistent */
    double ms[2];
    int rc = !L.w || !L.b || !x || !t;
    for (int k = 0; k < 2 && !rc; k++)
        for (int rep = 0; rep < 3 && !rc; rep++) {       /* the best of 3 */
            ag_tape_reset(t);
            double t0 = now_ms();
            rc = ag_jacobian(t, f_layer, &L, 1, &x, k ? AG_JAC_REVERSE : AG_JAC_FORWARD,
                             &jac[k]) != AG_OK;
            double dt = now_ms() - t0;
            ms[k] = rep == 0 || dt < ms[k] ? dt : ms[k];
            if (!rc && !k) {
                ag_tensor_free(kept);
                kept = jac[0] = ag_tensor_clone(jac[0]);
            }
        }
    jac[0] = kept;
    if (rc) {
        fprintf(stderr, "jacobians: %s\n", t ? ag_tape_errmsg(t) : "out of memory");
    } else {
        double d = max_diff(jac[0], jac[1]);
        printf("%-6s %4lldx%-4lld  forward  %6lld  %9.3f  %.3g\n", name, (long long)m,
               (long long)n, (long long)n, ms[0], d);
        printf("%-6s %4lldx%-4lld  reverse  %6lld  %9.3f  %.3g\n", name, (long long)m,
               (long long)n, (long long)m, ms[1], d);
    }
    ag_tape_free(t);
    ag_tensor_free(kept);
    ag_tensor_free(L.w), ag_tensor_free(L.b), ag_tensor_free(x);
    return rc;
}

/* Rosenbrock's Hessian both ways against the formula; 0 if fine. */
static int run_hessian(int64_t n, ag_rng *r)
{
    ag_tensor *x = ag_rand_uniform(NULL, r, AG_F64, 1, &n, -1.5, 1.5), *H[2];
    ag_tape *t = ag_tape_new();
    double h[64 * 64], ms[2];
    int rc = !x || !t || n > 64;
    for (int k = 0; k < 2 && !rc; k++) {
        double t0 = now_ms();
        rc = ag_hessian(t, f_rosen, NULL, 1, &x, k ? AG_JAC_REVERSE : AG_JAC_FORWARD,
                        &H[k]) != AG_OK;
        ms[k] = now_ms() - t0;
    }
    if (rc) {
        fprintf(stderr, "jacobians: %s\n", t ? ag_tape_errmsg(t) : "out of memory");
    } else {
        rosen_hessian(ag_tensor_data(x), n, h);
        ag_tensor *exact = ag_from_f64(t, AG_F64, 2, (int64_t[]){n, n}, h);
        for (int k = 0; k < 2; k++)
            printf("hessian %4lldx%-4lld %s  %6lld  %9.3f  %.3g\n", (long long)n, (long long)n,
                   k ? "reverse-over-reverse" : "forward-over-reverse", (long long)n, ms[k],
                   max_diff(H[k], exact));
    }
    ag_tape_free(t);
    ag_tensor_free(x);
    return rc;
}

int main(int argc, char **argv)
{
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if (!strcmp(argv[i], "--help")) {
            printf("usage: jacobians [--quick]\n"
                   "  --quick  smaller problems (CI)\n");
            return 0;
        } else {
            fprintf(stderr, "jacobians: unknown option '%s' (try --help)\n", argv[i]);
            return 2;
        }
    }
    const int64_t big = quick ? 128 : 512, small = 8, hn = quick ? 8 : 32;
    ag_rng *r = ag_rng_new(15);
    printf("case     m x n    mode     walks  ms         max |forward - reverse|\n");
    int rc = !r || run_layer("tall", small, big, r) || run_layer("wide", big, small, r);
    if (!rc) printf("\ncase         n x n  mode                  walks  ms         "
                    "max |H - exact|\n");
    rc = rc || run_hessian(hn, r);
    ag_rng_free(r);
    return rc;
}
