/*
** bench_pool.c: max pooling forward + backward, 2x2 windows of stride 2
** on x [128,32,28,28] (a CNN's first pooling layer at batch 128), f32, on
** the thread count given (default 1). Each repetition: the forward
** (ag_max_pool2d) and the gradient with respect to x for a fixed dy
** (ag_grad, the scatter of dy to the chosen elements), then a tape reset;
** 5 warm-up repetitions, then the median of 30. Twin: bench_pool.py.
**
**   bench_pool [--threads N]    prints: maxpool fwd_bwd_ms=T checksum=S
*/
#include "bench_util.h"

#define N 128
#define C 32
#define HW 28
#define WARMUP 5
#define REPS 30

int main(int argc, char **argv)
{
    bu_args a;
    if (bu_parse(argc, argv, &a)) return 1;
    ag_rng *rng = ag_rng_new(7);
    ag_tensor *x = ag_rand_normal(NULL, rng, AG_F32, 4, (int64_t[]){N, C, HW, HW}, 0, 1);
    ag_tensor *dy = ag_rand_normal(NULL, rng, AG_F32, 4, (int64_t[]){N, C, HW / 2, HW / 2}, 0, 1);
    ag_tape *t = ag_tape_new();
    double ms[REPS], checksum = 0;
    int rc = !x || !dy || !t || ag_set_requires_grad(x, 1) != AG_OK;
    if (rc) fprintf(stderr, "bench_pool: setting up: %s\n", ag_last_error());
    for (int r = 0; r < WARMUP + REPS && !rc; r++) {
        ag_tape_reset(t);
        double t0 = bu_now();
        ag_tensor *y = ag_max_pool2d(t, x, 2, 2, NULL), *dx = NULL;
        if (!y || ag_grad(t, 1, &y, &dy, 1, &x, &dx, 0) != AG_OK) {
            fprintf(stderr, "bench_pool: %s\n", ag_tape_errmsg(t));
            rc = 1;
            break;
        }
        if (r >= WARMUP) ms[r - WARMUP] = (bu_now() - t0) * 1e3;
        checksum = ag_tensor_get(dx, 12345) + ag_tensor_get(y, 6789);
    }
    if (!rc) printf("maxpool fwd_bwd_ms=%.3f checksum=%.6g\n", bu_median(ms, REPS), checksum);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(dy);
    ag_rng_free(rng);
    return rc;
}
