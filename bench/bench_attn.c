/*
** bench_attn.c: scaled dot-product attention forward + backward at
** B 8, H 8, T 128, D 64 (q, k, v [8,8,128,64]), f32, no mask, on the
** thread count given (default 1). Each repetition: the forward
** (ag_scaled_dot_product_attention, one op) and the gradients with
** respect to q, k and v for a fixed dy (ag_grad), then a tape reset;
** 3 warm-up repetitions, then the median of 20. Twin: bench_attn.py
** (PyTorch's per-op composition softmax(q k^T / sqrt(D)) v).
**
**   bench_attn [--threads N]    prints: attn fwd_bwd_ms=T checksum=S
*/
#include "bench_util.h"

#define WARMUP 3
#define REPS 20

int main(int argc, char **argv)
{
    bu_args a;
    if (bu_parse(argc, argv, &a)) return 1;
    const int64_t shape[4] = {8, 8, 128, 64};
    ag_rng *rng = ag_rng_new(7);
    ag_tensor *in[3], *dy = ag_rand_normal(NULL, rng, AG_F32, 4, shape, 0, 1);
    int rc = !dy;
    for (int i = 0; i < 3; i++) {
        in[i] = ag_rand_normal(NULL, rng, AG_F32, 4, shape, 0, 1);
        rc |= !in[i] || ag_set_requires_grad(in[i], 1) != AG_OK;
    }
    ag_tape *t = ag_tape_new();
    double ms[REPS], checksum = 0;
    if (rc || !t) fprintf(stderr, "bench_attn: setting up: %s\n", ag_last_error());
    for (int r = 0; r < WARMUP + REPS && !rc && t; r++) {
        ag_tape_reset(t);
        double t0 = bu_now();
        ag_tensor *y = ag_scaled_dot_product_attention(t, in[0], in[1], in[2], NULL), *g[3];
        if (!y || ag_grad(t, 1, &y, &dy, 3, in, g, 0) != AG_OK) {
            fprintf(stderr, "bench_attn: %s\n", ag_tape_errmsg(t));
            rc = 1;
            break;
        }
        if (r >= WARMUP) ms[r - WARMUP] = (bu_now() - t0) * 1e3;
        checksum = ag_tensor_get(g[0], 12345) + ag_tensor_get(g[1], 777) +
                   ag_tensor_get(g[2], 4242) + ag_tensor_get(y, 6789);
    }
    if (!rc) printf("attn fwd_bwd_ms=%.3f checksum=%.6g\n", bu_median(ms, REPS), checksum);
    ag_tape_free(t);
    for (int i = 0; i < 3; i++) ag_tensor_free(in[i]);
    ag_tensor_free(dy);
    ag_rng_free(rng);
    return rc;
}
