/*
** bench_scalar.c: the cost of one op on the tape when the data is nothing:
** a chain of 10,000 ops on 0-d f32 tensors, y = y * w and y = y + x
** alternately (x, w leaves that require grad), then backward to x and w,
** then the tape is freed for the next chain (ag_tape_reset; PyTorch frees
** its graph when the last reference goes). 21 chains; the median time per
** op. Twin: bench_scalar.py.
**
**   bench_scalar        prints: scalar_chain ops=10000 ns_per_op=T grad_x=G
*/
#include "bench_util.h"

#define OPS 10000
#define REPS 21

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
    if (rc == 0)
        printf("scalar_chain ops=%d ns_per_op=%.1f grad_x=%.6g\n", OPS, bu_median(ns, REPS),
               grad_x);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(w);
    return rc ? 1 : 0;
}
