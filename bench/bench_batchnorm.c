/*
** bench_batchnorm.c: BatchNorm2d(32) forward + backward in training mode
** on x [128,32,28,28] (a CNN's first block at batch 128), f32, on the
** thread count given (default 1): the forward (batch statistics, the
** normalization, the running-statistics update) and the gradients with
** respect to x, weight and bias for a fixed dy (ag_grad); 3 warm-up
** repetitions, then the median of 20. Twin: bench_batchnorm.py. Not a
** row of `make bench`; build and run it by hand:
**
**   make build/bench/bench_batchnorm && build/bench/bench_batchnorm
**   prints: batchnorm2d fwd_bwd_ms=T checksum=S
**
** With `--composed 1` it times the same training forward composed of the
** generic ops instead (per-axis means, broadcasting sub/mul/add, and the
** running statistics), as BatchNorm1d was built before ag_norm.h: the
** figure the fused ops are measured against.
*/
#include "bench_util.h"

#define N 128
#define C 32
#define HW 28
#define WARMUP 3
#define REPS 20

/* BatchNorm2d's training forward from generic ops (no fused op). */
static ag_tensor *composed(ag_tape *t, ag_module *bn, ag_tensor *x)
{
    const int64_t c4[4] = {1, C, 1, 1};
    ag_tensor *mean = ag_mean(t, ag_mean(t, ag_mean(t, x, 0, 1), 2, 1), 3, 1);
    ag_tensor *d = ag_sub(t, x, mean);
    ag_tensor *var = ag_mean(t, ag_mean(t, ag_mean(t, ag_square(t, d), 0, 1), 2, 1), 3, 1);
    ag_tensor *y = ag_mul(t, d, ag_pow_scalar(t, ag_add_scalar(t, var, 1e-5), -0.5));
    y = ag_add(t, ag_mul(t, y, ag_reshape(t, ag_module_get(bn, "weight"), 4, c4)),
               ag_reshape(t, ag_module_get(bn, "bias"), 4, c4));
    int was = ag_set_grad_enabled(t, 0);
    const int64_t c1[1] = {C};
    ag_tensor *rm = ag_module_get(bn, "running_mean"), *rv = ag_module_get(bn, "running_var");
    ag_assign(rm, ag_add(t, ag_mul_scalar(t, rm, 0.9),
                         ag_mul_scalar(t, ag_reshape(t, mean, 1, c1), 0.1)));
    ag_assign(rv, ag_add(t, ag_mul_scalar(t, rv, 0.9),
                         ag_mul_scalar(t, ag_reshape(t, var, 1, c1), 0.1 * N * HW * HW /
                                       (N * HW * HW - 1.0))));
    ag_set_grad_enabled(t, was);
    return y;
}

int main(int argc, char **argv)
{
    bu_args a;
    int use_composed = 0;
    if (argc >= 3 && !strcmp(argv[1], "--composed")) {   /* first, then bu_parse's flags */
        use_composed = atoi(argv[2]) != 0;
        argv[2] = argv[0];
        argc -= 2, argv += 2;
    }
    if (bu_parse(argc, argv, &a)) return 1;
    ag_rng *rng = ag_rng_new(7);
    ag_tensor *x = ag_rand_normal(NULL, rng, AG_F32, 4, (int64_t[]){N, C, HW, HW}, 0.5, 2);
    ag_tensor *dy = ag_rand_normal(NULL, rng, AG_F32, 4, (int64_t[]){N, C, HW, HW}, 0, 1);
    ag_module *bn = ag_batchnorm2d_new(C, 1e-5, 0.1, 1, AG_F32);
    ag_tape *t = ag_tape_new();
    double ms[REPS], checksum = 0;
    int rc = !x || !dy || !bn || !t || ag_set_requires_grad(x, 1) != AG_OK;
    if (rc) fprintf(stderr, "bench_batchnorm: setting up: %s\n", ag_last_error());
    ag_tensor *in[3] = {x, bn ? ag_module_get(bn, "weight") : NULL,
                        bn ? ag_module_get(bn, "bias") : NULL};
    for (int r = 0; r < WARMUP + REPS && !rc; r++) {
        ag_tape_reset(t);
        double t0 = bu_now();
        ag_tensor *y = use_composed ? composed(t, bn, x) : ag_module_forward(bn, t, x);
        ag_tensor *g[3] = {NULL, NULL, NULL};
        if (!y || ag_grad(t, 1, &y, &dy, 3, in, g, 0) != AG_OK) {
            fprintf(stderr, "bench_batchnorm: %s\n", ag_tape_errmsg(t));
            rc = 1;
            break;
        }
        if (r >= WARMUP) ms[r - WARMUP] = (bu_now() - t0) * 1e3;
        checksum = ag_tensor_get(g[0], 12345) + ag_tensor_get(g[1], 3) + ag_tensor_get(y, 6789);
    }
    if (!rc) printf("batchnorm2d fwd_bwd_ms=%.3f checksum=%.6g\n", bu_median(ms, REPS), checksum);
    ag_tape_free(t);
    ag_module_free(bn);
    ag_tensor_free(x), ag_tensor_free(dy);
    ag_rng_free(rng);
    return rc;
}
