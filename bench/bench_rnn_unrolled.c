/*
** bench_rnn_unrolled.c: an Elman RNN unrolled by hand, per-step ops (not
** the RNN layer): input 128, hidden 256, 32 steps, batch 32, f32, from a
** zero state; each step is
**   h = tanh(x_t @ W_ih^T + h @ W_hh^T + b)
** as five ops (two products ag_matmul_nt, two adds, tanh), and the loss
** sum_t sum(h_t * g_t) for fixed g_t adds a mul, a sum and an add per
** step. One iteration records all that and runs ag_backward into W_ih
** [256,128], W_hh [256,256] and b [256] (grads set to none first, as
** zero_grad(set_to_none=True)); x needs no gradient. The median of 21
** iterations after 3 warm-up ones; the forward alone likewise. Twin:
** bench_rnn_unrolled.py (the same ops with torch's autograd).
**
**   bench_rnn_unrolled [--threads N]
**   prints: rnn_unrolled dtype=f32 threads=N ms=T cpu_ms=C fwd_ms=F maxrss_mb=M
** ms is wall time, cpu_ms the process's CPU time per iteration (medians).
*/
#include "bench_util.h"

#include <math.h>

#define T_STEPS 32
#define BATCH 32
#define IN 128
#define HIDDEN 256
#define WARMUP 3
#define ITERS 21

typedef struct rnn {
    ag_tensor *w_ih, *w_hh, *b;     /* the parameters, requires_grad */
    ag_tensor *h0;                  /* [BATCH,HIDDEN] zeros */
    ag_tensor *x[T_STEPS];          /* each [BATCH,IN] */
    ag_tensor *g[T_STEPS];          /* each [BATCH,HIDDEN] */
} rnn;

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One iteration; 0 when fine (else the error printed). */
static int step(const rnn *r, ag_tape *t, int backward)
{
    ag_tape_reset(t);
    ag_clear_grad(r->w_ih), ag_clear_grad(r->w_hh), ag_clear_grad(r->b);
    ag_tensor *h = r->h0, *loss = NULL;
    for (int s = 0; s < T_STEPS; s++) {
        ag_tensor *pre = ag_add(t, ag_matmul_nt(t, r->x[s], r->w_ih),
                                ag_matmul_nt(t, h, r->w_hh));
        h = ag_tanh(t, ag_add(t, pre, r->b));
        ag_tensor *l = ag_sum(t, ag_mul(t, h, r->g[s]), AG_ALL, 0);
        loss = s ? ag_add(t, loss, l) : l;
    }
    if (!loss || (backward && ag_backward(t, loss) != AG_OK))
        return fprintf(stderr, "bench_rnn_unrolled: %s\n", ag_tape_errmsg(t)), 1;
    return 0;
}

/* The median wall milliseconds of ITERS iterations (CPU time into *cpu);
   -1 on error. */
static double time_steps(const rnn *r, ag_tape *t, int backward, double *cpu)
{
    double ms[ITERS], cpu_ms[ITERS];
    for (int i = 0; i < WARMUP; i++)
        if (step(r, t, backward)) return -1;
    for (int i = 0; i < ITERS; i++) {
        double t0 = bu_now(), c0 = cpu_now();
        if (step(r, t, backward)) return -1;
        ms[i] = (bu_now() - t0) * 1e3;
        cpu_ms[i] = (cpu_now() - c0) * 1e3;
    }
    if (cpu) *cpu = bu_median(cpu_ms, ITERS);
    return bu_median(ms, ITERS);
}

/* Makes r's tensors (PyTorch's RNN init for the parameters, normal x and
   g); 0 when fine. */
static int rnn_init(rnn *r, ag_rng *rng)
{
    double k = 1.0 / sqrt((double)HIDDEN);
    r->w_ih = ag_rand_uniform(NULL, rng, AG_F32, 2, (int64_t[]){HIDDEN, IN}, -k, k);
    r->w_hh = ag_rand_uniform(NULL, rng, AG_F32, 2, (int64_t[]){HIDDEN, HIDDEN}, -k, k);
    r->b = ag_rand_uniform(NULL, rng, AG_F32, 1, (int64_t[]){HIDDEN}, -k, k);
    r->h0 = ag_zeros(NULL, AG_F32, 2, (int64_t[]){BATCH, HIDDEN});
    int ok = r->w_ih && r->w_hh && r->b && r->h0;
    for (int s = 0; s < T_STEPS; s++) {
        r->x[s] = ag_rand_normal(NULL, rng, AG_F32, 2, (int64_t[]){BATCH, IN}, 0, 1);
        r->g[s] = ag_rand_normal(NULL, rng, AG_F32, 2, (int64_t[]){BATCH, HIDDEN}, 0, 1);
        ok = ok && r->x[s] && r->g[s];
    }
    return ok && ag_set_requires_grad(r->w_ih, 1) == AG_OK &&
           ag_set_requires_grad(r->w_hh, 1) == AG_OK &&
           ag_set_requires_grad(r->b, 1) == AG_OK ? 0 : -1;
}

static void rnn_free(rnn *r)
{
    ag_tensor_free(r->w_ih), ag_tensor_free(r->w_hh), ag_tensor_free(r->b);
    ag_tensor_free(r->h0);
    for (int s = 0; s < T_STEPS; s++) ag_tensor_free(r->x[s]), ag_tensor_free(r->g[s]);
}

int main(int argc, char **argv)
{
    bu_args a;
    if (bu_parse(argc, argv, &a)) return 2;
    rnn r = {0};
    ag_rng *rng = ag_rng_new(7);
    ag_tape *t = rng && !rnn_init(&r, rng) ? ag_tape_new() : NULL;
    int rc = 1;
    if (!t) {
        fprintf(stderr, "bench_rnn_unrolled: setting up: %s\n", ag_last_error());
    } else {
        double cpu = 0, both = time_steps(&r, t, 1, &cpu);
        double fwd = both < 0 ? -1 : time_steps(&r, t, 0, NULL);
        if (fwd >= 0) {
            printf("rnn_unrolled dtype=f32 threads=%d ms=%.3f cpu_ms=%.3f fwd_ms=%.3f "
                   "maxrss_mb=%.1f\n", a.threads, both, cpu, fwd, bu_maxrss_mb());
            rc = 0;
        }
    }
    ag_tape_free(t);
    rnn_free(&r);
    ag_rng_free(rng);
    return rc;
}
