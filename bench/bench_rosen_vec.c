/*
** bench_rosen_vec.c: the extended Rosenbrock function of n = 10,000 f64
** variables written with slices over ONE tensor x [n] (bench_scalar.c's
** rosen_plain, vectorized):
**   xe = x[0::2], xo = x[1::2], d = xo - xe*xe, e = 1 - xe,
**   f = sum(100 * (d*d) + e*e)
** and its gradient by reverse mode (ag_grad with respect to x; nothing
** else accumulates). One iteration records f on a reset tape and runs
** ag_grad; one thread; the median of 201 iterations after 20 warm-up ones.
** Twin: bench_rosen_vec.py (the same ops with torch.autograd.grad).
**
**   bench_rosen_vec
**   prints: rosen_vec n=10000 dtype=f64 us=T fwd_us=F f=V g0=G g1=H
** us is one forward + gradient, fwd_us the forward alone (medians).
*/
#include "bench_util.h"

#define N 10000
#define WARMUP 20
#define ITERS 201

/* f(x) on t: the slices, the pair terms, their sum. */
static ag_tensor *rosen(ag_tape *t, ag_tensor *x)
{
    ag_tensor *xe = ag_slice(t, x, 0, 0, N, 2), *xo = ag_slice(t, x, 0, 1, N, 2);
    ag_tensor *d = ag_sub(t, xo, ag_mul(t, xe, xe));
    ag_tensor *e = ag_rsub_scalar(t, xe, 1);
    ag_tensor *terms = ag_add(t, ag_mul_scalar(t, ag_mul(t, d, d), 100), ag_mul(t, e, e));
    return ag_sum(t, terms, AG_ALL, 0);
}

/* One iteration (gradient when want_grad); 0, or -1 with the error printed. */
static int iter(ag_tape *t, ag_tensor *x, int want_grad, double *f, double *g01)
{
    ag_tape_reset(t);
    ag_tensor *y = rosen(t, x), *g = NULL;
    if (!y || (want_grad && ag_grad(t, 1, &y, NULL, 1, &x, &g, 0) != AG_OK))
        return fprintf(stderr, "bench_rosen_vec: %s\n", ag_tape_errmsg(t)), -1;
    *f = ag_tensor_get(y, 0);
    if (want_grad) g01[0] = ag_tensor_get(g, 0), g01[1] = ag_tensor_get(g, 1);
    return 0;
}

int main(void)
{
    if (ag_set_num_threads(1) != AG_OK) return 1;
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F64, 1, (int64_t[]){N});
    if (!t || !x || ag_set_requires_grad(x, 1) != AG_OK)
        return fprintf(stderr, "bench_rosen_vec: %s\n", ag_last_error()), 1;
    double *xs = ag_tensor_data(x), f = 0, g01[2] = {0, 0}, full[ITERS], fwd[ITERS];
    for (int i = 0; i < N; i++) xs[i] = i % 2 ? 1.0 + 0.001 * (i % 7) : -1.2 + 0.001 * (i % 5);
    int rc = 0;
    for (int r = 0; r < WARMUP && !rc; r++) rc = iter(t, x, 1, &f, g01);
    for (int r = 0; r < ITERS && !rc; r++) {
        double t0 = bu_now();
        rc = iter(t, x, 1, &f, g01);
        full[r] = (bu_now() - t0) * 1e6;
        t0 = bu_now();
        if (!rc) rc = iter(t, x, 0, &f, g01);
        fwd[r] = (bu_now() - t0) * 1e6;
    }
    if (!rc)
        printf("rosen_vec n=%d dtype=f64 us=%.2f fwd_us=%.2f f=%.10g g0=%.10g g1=%.10g\n", N,
               bu_median(full, ITERS), bu_median(fwd, ITERS), f, g01[0], g01[1]);
    ag_tape_free(t);
    ag_tensor_free(x);
    return rc ? 1 : 0;
}
