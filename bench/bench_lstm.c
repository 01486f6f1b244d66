/*
** bench_lstm.c: one LSTM layer (input 128, hidden 256), 32 steps, batch
** 32, f32, time-major: forward from zero states, then the gradients of
** sum(y * g) for a fixed g into the layer's four tensors (ag_backward,
** grads set to none before each step, as zero_grad(set_to_none=True)).
** x needs no gradient (it is data). The median of 21 iterations after 3
** warm-up ones; the forward alone likewise. Twin: bench_lstm.py.
**
**   bench_lstm [--threads N]
**   prints: lstm_fb dtype=f32 threads=N ms=T cpu_ms=C fwd_ms=F maxrss_mb=M
** ms is wall time, cpu_ms the process's CPU time per iteration (medians).
*/
#include "bench_util.h"

#define T_STEPS 32
#define BATCH 32
#define IN 128
#define HIDDEN 256
#define WARMUP 3
#define ITERS 21

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One iteration; 0 when fine (else the error printed). */
static int step(ag_module *m, ag_tape *t, ag_tensor *x, ag_tensor *g, int backward)
{
    ag_tape_reset(t);
    ag_module_clear_grad(m);
    ag_tensor *y = ag_module_forward(m, t, x);
    ag_tensor *loss = backward ? ag_sum(t, ag_mul(t, y, g), AG_ALL, 0) : y;
    if (!loss || (backward && ag_backward(t, loss) != AG_OK))
        return fprintf(stderr, "bench_lstm: %s\n", ag_tape_errmsg(t)), 1;
    return 0;
}

/* The median wall milliseconds of ITERS iterations (CPU time into *cpu);
   -1 on error. */
static double time_steps(ag_module *m, ag_tape *t, ag_tensor *x, ag_tensor *g, int backward,
                         double *cpu)
{
    double ms[ITERS], cpu_ms[ITERS];
    for (int i = 0; i < WARMUP; i++)
        if (step(m, t, x, g, backward)) return -1;
    for (int i = 0; i < ITERS; i++) {
        double t0 = bu_now(), c0 = cpu_now();
        if (step(m, t, x, g, backward)) return -1;
        ms[i] = (bu_now() - t0) * 1e3;
        cpu_ms[i] = (cpu_now() - c0) * 1e3;
    }
    if (cpu) *cpu = bu_median(cpu_ms, ITERS);
    return bu_median(ms, ITERS);
}

int main(int argc, char **argv)
{
    bu_args a;
    if (bu_parse(argc, argv, &a)) return 2;
    ag_rng *rng = ag_rng_new(7);
    ag_module *m = rng ? ag_lstm_new(IN, HIDDEN, 1, 1, 0, 0.0, 0, AG_F32, rng) : NULL;
    ag_tensor *x = m ? ag_rand_normal(NULL, rng, AG_F32, 3, (int64_t[]){T_STEPS, BATCH, IN}, 0, 1)
                     : NULL;
    ag_tensor *g = x ? ag_rand_normal(NULL, rng, AG_F32, 3,
                                      (int64_t[]){T_STEPS, BATCH, HIDDEN}, 0, 1) : NULL;
    ag_tape *t = g ? ag_tape_new() : NULL;
    int rc = 1;
    if (!t) {
        fprintf(stderr, "bench_lstm: setting up: %s\n", ag_last_error());
    } else {
        double cpu = 0, both = time_steps(m, t, x, g, 1, &cpu);
        double fwd = both < 0 ? -1 : time_steps(m, t, x, g, 0, NULL);
        if (fwd >= 0) {
            printf("lstm_fb dtype=f32 threads=%d ms=%.3f cpu_ms=%.3f fwd_ms=%.3f maxrss_mb=%.1f\n",
                   a.threads, both, cpu, fwd, bu_maxrss_mb());
            rc = 0;
        }
    }
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(g);
    ag_module_free(m);
    ag_rng_free(rng);
    return rc;
}
