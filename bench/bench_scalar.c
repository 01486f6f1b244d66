/*
** bench_scalar.c: the cost of one op on the tape when the data is nothing:
** a chain of 10,000 ops on 0-d f32 tensors, y = y * w and y = y + x
** alternately (x, w leaves that require grad), then backward to x and w,
** then the tape is freed for the next chain (ag_tape_reset; PyTorch frees
** its graph when the last reference goes). 21 chains; the median time per
** op. Then the same chain captured once as a plan (ag_plan.h) and replayed
** (forward and backward, no recording), per op; and the extended
** Rosenbrock function of n = 10,000 0-d f64 variables,
** sum_i 100 (x[2i+1] - x[2i]^2)^2 + (1 - x[2i])^2: recording + backward,
** and a plan's replay, each over the plain C function's time (the replay
** timed right after another replay, as adolc_scalar.cpp times gradient()
** right after a gradient() on the same tape: not after our recording on
** another tape, which leaves the plan's program out of cache). Twins:
** bench_scalar.py (the chain, PyTorch), adolc_scalar.cpp (ADOL-C).
**
**   bench_scalar   prints: scalar_chain ops=10000 ns_per_op=T replay_ns_per_op=R grad_x=G
**                          rosenbrock n=10000 grad_ratio=A replay_ratio=B plain_us=P
*/
#include "bench_util.h"

#define OPS 10000
#define REPS 21
#define RN 10000                      /* Rosenbrock's variables */

/* The chain as a plan's function (ctx: x and w). */
static ag_tensor *chain_fn(ag_tape *t, void *ctx)
{
    ag_tensor *const *xw = ctx, *y = xw[0];
    for (int i = 0; i < OPS; i++) y = i % 2 ? ag_add(t, y, xw[0]) : ag_mul(t, y, xw[1]);
    return y;
}

static double rosen_plain(const double *x)
{
    double f = 0;
    for (int i = 0; i + 1 < RN; i += 2) {
        double d = x[i + 1] - x[i] * x[i], e = 1 - x[i];
        f += 100 * d * d + e * e;
    }
    return f;
}

/* Rosenbrock on the tape (ctx: RN 0-d leaves). */
static ag_tensor *rosen_fn(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx, *f = NULL;
    for (int i = 0; i + 1 < RN; i += 2) {
        ag_tensor *d = ag_sub(t, x[i + 1], ag_mul(t, x[i], x[i]));
        ag_tensor *e = ag_rsub_scalar(t, x[i], 1);
        ag_tensor *term = ag_add(t, ag_mul_scalar(t, ag_mul(t, d, d), 100), ag_mul(t, e, e));
        f = f ? ag_add(t, f, term) : term;
    }
    return f;
}

/* The Rosenbrock line: recording + backward and replay over plain C. */
static int rosenbrock(ag_tape *t)
{
    static ag_tensor *x[RN];
    static double xs[RN];
    double plain[REPS], rec[REPS], rep[REPS];
    volatile double sink = 0;
    for (int i = 0; i < RN; i++) {
        xs[i] = i % 2 ? 1.0 + 0.001 * (i % 7) : -1.2 + 0.001 * (i % 5);
        if (!(x[i] = ag_scalar(NULL, AG_F64, xs[i])) || ag_set_requires_grad(x[i], 1))
            return fprintf(stderr, "bench_scalar: %s\n", ag_last_error()), -1;
    }
    ag_plan *p = ag_plan_capture(rosen_fn, x, 0, NULL);
    if (!p) return fprintf(stderr, "bench_scalar: %s\n", ag_last_error()), -1;
    for (int r = 0; r < REPS; r++) {
        double t0 = bu_now();
        for (int k = 0; k < 10; k++) sink = sink + rosen_plain(xs);
        plain[r] = (bu_now() - t0) / 10;
        t0 = bu_now();
        ag_tensor *f = rosen_fn(t, x);
        if (!f || ag_backward(t, f) != AG_OK)
            return fprintf(stderr, "bench_scalar: %s\n", ag_tape_errmsg(t)), -1;
        ag_tape_reset(t);
        rec[r] = bu_now() - t0;
        if (ag_plan_run(p) != AG_OK)        /* as ADOL-C's, after a gradient on its tape */
            return fprintf(stderr, "bench_scalar: %s\n", ag_plan_errmsg(p)), -1;
        t0 = bu_now();
        if (ag_plan_run(p) != AG_OK)
            return fprintf(stderr, "bench_scalar: %s\n", ag_plan_errmsg(p)), -1;
        rep[r] = bu_now() - t0;
    }
    double pl = bu_median(plain, REPS);
    printf("rosenbrock n=%d grad_ratio=%.1f replay_ratio=%.1f plain_us=%.2f g0=%.6g\n", RN,
           bu_median(rec, REPS) / pl, bu_median(rep, REPS) / pl, pl * 1e6,
           ag_tensor_get(ag_tensor_grad(x[0]), 0));
    ag_plan_free(p);
    for (int i = 0; i < RN; i++) ag_tensor_free(x[i]);
    return 0;
}

/* The replay line: the chain captured once, replayed REPS times. */
static double replay_chain(ag_tensor *x, ag_tensor *w)
{
    ag_tensor *xw[2] = {x, w};
    double ns[REPS];
    ag_plan *p = ag_plan_capture(chain_fn, xw, 2, xw);
    if (!p) return fprintf(stderr, "bench_scalar: %s\n", ag_last_error()), -1;
    for (int r = 0; r < REPS; r++) {
        double t0 = bu_now();
        ag_plan_run(p);
        ns[r] = (bu_now() - t0) * 1e9 / OPS;
    }
    ag_plan_free(p);
    return bu_median(ns, REPS);
}

/* One chain: forward, backward, reset. 0, or -1 with the error printed. */
static int chain(ag_tape *t, ag_tensor *x, ag_tensor *w)
{
    ag_tensor *y = x;
    for (int i = 0; i < OPS; i++) y = i % 2 ? ag_add(t, y, x) : ag_mul(t, y, w);
    if (!y || ag_backward(t, y) != AG_OK)
        return fprintf(stderr, "bench_scalar: %s\n", ag_tape_errmsg(t)), -1;
    ag_tape_reset(t);
    return 0;
}

int main(void)
{
    if (ag_set_num_threads(1) != AG_OK) return 1;
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_scalar(NULL, AG_F32, 0.5), *w = ag_scalar(NULL, AG_F32, 0.9999);
    if (!t || !x || !w || ag_set_requires_grad(x, 1) || ag_set_requires_grad(w, 1))
        return fprintf(stderr, "bench_scalar: %s\n", ag_last_error()), 1;
    double ns[REPS], grad_x = 0;
    int rc = chain(t, x, w);                    /* warm up: the arena grows once */
    for (int r = 0; r < REPS && rc == 0; r++) {
        ag_clear_grad(x), ag_clear_grad(w);
        double t0 = bu_now();
        rc = chain(t, x, w);
        ns[r] = (bu_now() - t0) * 1e9 / OPS;
        grad_x = ag_tensor_get(ag_tensor_grad(x), 0);
    }
    double replay = rc == 0 ? replay_chain(x, w) : -1;
    if (replay < 0) rc = -1;
    if (rc == 0)
        printf("scalar_chain ops=%d ns_per_op=%.1f replay_ns_per_op=%.2f grad_x=%.6g\n", OPS,
               bu_median(ns, REPS), replay, grad_x);
    if (rc == 0) rc = rosenbrock(t);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(w);
    return rc ? 1 : 0;
}
