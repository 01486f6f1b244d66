/*
** bench_vmath.c: the transcendental ops per f32 element: ag_tanh, ag_exp,
** ag_sigmoid and ag_log on a tensor of 32,768 elements (forward only, one
** thread; the output is a new tape tensor each time, the tape reset after
** each op, as PyTorch allocates each result), and the vector math alone
** (ag_vtanh_f32 ... into a fixed buffer). 21 blocks of 100 calls; the
** median block. Inputs uniform in [-4, 4] (log: [0.01, 8]). Twin:
** bench_vmath.py.
**
**   bench_vmath        prints one line:
**   vmath n=32768 path=avx512 tanh_ns=T exp_ns=E sigmoid_ns=S log_ns=L
**         tanh_kernel_ns=... exp_kernel_ns=... sigmoid_kernel_ns=... log_kernel_ns=...
*/
#include "bench_util.h"

#define N 32768
#define BLOCKS 21
#define CALLS 100

typedef ag_tensor *(*op_fn)(ag_tape *, ag_tensor *);
typedef void (*kernel_fn)(float *, const float *, int64_t);

/* ns per element of op over one block, or -1 on error (printed). */
static double op_block(ag_tape *t, op_fn op, ag_tensor *x)
{
    double t0 = bu_now();
    for (int i = 0; i < CALLS; i++) {
        if (!op(t, x)) return fprintf(stderr, "bench_vmath: %s\n", ag_tape_errmsg(t)), -1;
        ag_tape_reset(t);
    }
    return (bu_now() - t0) * 1e9 / ((double)CALLS * N);
}

static double kernel_block(kernel_fn k, float *y, const float *x)
{
    double t0 = bu_now();
    for (int i = 0; i < CALLS; i++) k(y, x, N);
    return (bu_now() - t0) * 1e9 / ((double)CALLS * N);
}

int main(void)
{
    static const char *names[4] = {"tanh", "exp", "sigmoid", "log"};
    const op_fn ops[4] = {ag_tanh, ag_exp, ag_sigmoid, ag_log};
    const kernel_fn kernels[4] = {ag_vtanh_f32, ag_vexp_f32, ag_vsigmoid_f32, ag_vlog_f32};
    if (ag_set_num_threads(1) != AG_OK) return 1;
    ag_rng *rng = ag_rng_new(5);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_rand_uniform(NULL, rng, AG_F32, 1, (int64_t[]){N}, -4, 4);
    ag_tensor *xp = ag_rand_uniform(NULL, rng, AG_F32, 1, (int64_t[]){N}, 0.01, 8);
    float *y = malloc(N * sizeof *y);
    double op_ns[4], k_ns[4], v[BLOCKS];
    int rc = !rng || !t || !x || !xp || !y;
    if (rc) fprintf(stderr, "bench_vmath: setting up: %s\n", ag_last_error());
    for (int f = 0; f < 4 && !rc; f++) {
        ag_tensor *in = f == 3 ? xp : x;
        const float *px = ag_tensor_data(in);
        op_block(t, ops[f], in);                            /* warm up */
        for (int b = 0; b < BLOCKS && !rc; b++) rc = (v[b] = op_block(t, ops[f], in)) < 0;
        op_ns[f] = bu_median(v, BLOCKS);
        kernel_block(kernels[f], y, px);
        for (int b = 0; b < BLOCKS; b++) v[b] = kernel_block(kernels[f], y, px);
        k_ns[f] = bu_median(v, BLOCKS);
    }
    if (!rc) {
        printf("vmath n=%d path=%s", N, ag_vmath_path());
        for (int f = 0; f < 4; f++) printf(" %s_ns=%.4f", names[f], op_ns[f]);
        for (int f = 0; f < 4; f++) printf(" %s_kernel_ns=%.4f", names[f], k_ns[f]);
        printf("\n");
    }
    free(y);
    ag_tensor_free(x);
    ag_tensor_free(xp);
    ag_tape_free(t);
    ag_rng_free(rng);
    return rc;
}
