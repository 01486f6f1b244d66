/*
** bench_conv.c: conv2d forward + backward at the shapes of a Fashion-MNIST
** CNN's two 3x3 convolutions, batch 128, f32:
**   layer 1: x [128,1,28,28] (no grad)  w [32,1,3,3]  b [32]  padding 1
**   layer 2: x [128,32,14,14] (grad)    w [64,32,3,3] b [64]  padding 1
** One iteration: both forwards, then ag_grad of both outputs with fixed
** random upstream gradients into w1, b1, w2, b2 and x2 (layer 1's input
** gradient is not needed, as in a CNN's first layer). The median of ITERS
** iterations after WARMUP, and each layer alone likewise. Twin:
** bench_conv.py.
**
**   bench_conv [--threads N]
**   prints: conv2d_fb dtype=f32 threads=N ms=T cpu_ms=C layer1_ms=A layer2_ms=B maxrss_mb=M
** ms is wall time; cpu_ms the process's CPU time per iteration (median),
** which a busy machine disturbs less.
*/
#include "bench_util.h"

#define WARMUP 3
#define ITERS 21

typedef struct conv_bench {
    ag_tape *t;
    ag_tensor *x1, *w1, *b1, *g1;       /* layer 1, its upstream gradient */
    ag_tensor *x2, *w2, *b2, *g2;       /* layer 2 */
} conv_bench;

static ag_tensor *randn(ag_rng *r, int ndim, const int64_t *shape, int grad)
{
    ag_tensor *x = ag_rand_normal(NULL, r, AG_F32, ndim, shape, 0, 1);
    if (x && grad) ag_set_requires_grad(x, 1);
    return x;
}

/* One forward + backward of the layers in mask (1: layer 1, 2: layer 2);
   0, or -1 with the error printed. */
static int step(conv_bench *c, int mask)
{
    const ag_conv_opts pad1 = {.padding = {1, 1}};
    ag_tensor *y[2], *dy[2], *in[5], *grads[5];
    int ny = 0, nin = 0;
    ag_tape_reset(c->t);
    if (mask & 1) {
        y[ny] = ag_conv2d(c->t, c->x1, c->w1, c->b1, &pad1);
        dy[ny++] = c->g1;
        in[nin++] = c->w1, in[nin++] = c->b1;
    }
    if (mask & 2) {
        y[ny] = ag_conv2d(c->t, c->x2, c->w2, c->b2, &pad1);
        dy[ny++] = c->g2;
        in[nin++] = c->w2, in[nin++] = c->b2, in[nin++] = c->x2;
    }
    if (ag_grad(c->t, ny, y, dy, nin, in, grads, 0) != AG_OK) {
        fprintf(stderr, "bench_conv: %s\n", ag_tape_errmsg(c->t));
        return -1;
    }
    return 0;
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The median wall milliseconds of ITERS steps (and of CPU time into *cpu
   when not NULL); -1 on error. */
static double time_steps(conv_bench *c, int mask, double *cpu)
{
    double ms[ITERS], cpu_ms[ITERS];
    for (int i = 0; i < WARMUP; i++)
        if (step(c, mask)) return -1;
    for (int i = 0; i < ITERS; i++) {
        double t0 = bu_now(), c0 = cpu_now();
        if (step(c, mask)) return -1;
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
    ag_rng *r = ag_rng_new(7);
    conv_bench c = {ag_tape_new(),
                    randn(r, 4, (int64_t[]){128, 1, 28, 28}, 0),
                    randn(r, 4, (int64_t[]){32, 1, 3, 3}, 1), randn(r, 1, (int64_t[]){32}, 1),
                    randn(r, 4, (int64_t[]){128, 32, 28, 28}, 0),
                    randn(r, 4, (int64_t[]){128, 32, 14, 14}, 1),
                    randn(r, 4, (int64_t[]){64, 32, 3, 3}, 1), randn(r, 1, (int64_t[]){64}, 1),
                    randn(r, 4, (int64_t[]){128, 64, 14, 14}, 0)};
    ag_tensor *all[8] = {c.x1, c.w1, c.b1, c.g1, c.x2, c.w2, c.b2, c.g2};
    int rc = !c.t;
    for (int i = 0; i < 8; i++) rc |= !all[i];
    if (rc) fprintf(stderr, "bench_conv: setting up: %s\n", ag_last_error());
    double cpu = 0, both = rc ? -1 : time_steps(&c, 3, &cpu);
    double l1 = both < 0 ? -1 : time_steps(&c, 1, NULL);
    double l2 = l1 < 0 ? -1 : time_steps(&c, 2, NULL);
    if (l2 >= 0)
        printf("conv2d_fb dtype=f32 threads=%d ms=%.3f cpu_ms=%.3f layer1_ms=%.3f "
               "layer2_ms=%.3f maxrss_mb=%.1f\n", a.threads, both, cpu, l1, l2, bu_maxrss_mb());
    else
        rc = 1;
    for (int i = 0; i < 8; i++) ag_tensor_free(all[i]);
    ag_tape_free(c.t);
    ag_rng_free(r);
    return rc;
}
