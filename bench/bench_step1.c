/*
** bench_step1.c: one training step at batch 1 on the MLP of bench_util.h
** (f32, one thread): forward, cross-entropy, backward, Adam, clear the
** grads (set to none, as the twin does), free the step's tensors. At
** batch 1 the step is almost all overhead (about 0.5 MFLOP of products),
** which is what this measures.
** Each step takes the next of 1,550 fixed random samples with random
** labels, one pass as in training (one sample repeated is learnt by heart:
** its loss and gradients fall toward zero, toward subnormal floats, which
** is not a training step's work); 15 blocks of 100 steps after 50 warm-up
** steps; the median time per step. Twin: bench_step1.py.
**
**   bench_step1         prints: step_batch1 us_per_step=T loss=L
*/
#include "bench_util.h"

#define BLOCKS 15
#define STEPS 100
#define WARMUP 50
#define SAMPLES (WARMUP + BLOCKS * STEPS)

/* One step on sample i of pool into x; the loss, or -1 with the error
   printed. */
static double step(ag_module *net, ag_optim *opt, ag_tape *t, ag_tensor *x, ag_tensor *pool,
                   const int64_t *labels, int i)
{
    const int64_t *label = labels + i;
    ag_tape_reset(t);
    memcpy(ag_tensor_data(x), (float *)ag_tensor_data(pool) + (int64_t)i * BU_IN,
           BU_IN * sizeof(float));
    ag_tensor *loss = ag_cross_entropy_loss(t, ag_module_forward(net, t, x), label,
                                            AG_REDUCTION_MEAN);
    if (!loss || ag_backward(t, loss) != AG_OK)
        return fprintf(stderr, "bench_step1: %s\n", ag_tape_errmsg(t)), -1;
    if (ag_optim_step(opt) != AG_OK)
        return fprintf(stderr, "bench_step1: %s\n", ag_last_error()), -1;
    ag_optim_clear_grad(opt);
    return ag_tensor_get(loss, 0);
}

int main(void)
{
    if (ag_set_num_threads(1) != AG_OK) return 1;
    ag_tensor *params[BU_NPARAMS];
    ag_module *net = bu_mlp_new(AG_F32, "relu", params);
    ag_optim *opt = net ? ag_adam_new(BU_NPARAMS, params, NULL) : NULL;
    ag_rng *rng = ag_rng_new(3);
    ag_tensor *pool = ag_rand_normal(NULL, rng, AG_F32, 2, (int64_t[]){SAMPLES, BU_IN}, 0, 1);
    ag_tensor *x = ag_zeros(NULL, AG_F32, 2, (int64_t[]){1, BU_IN});
    ag_tape *t = ag_tape_new();
    static int64_t labels[SAMPLES];
    double us[BLOCKS], loss = 0;
    int rc = !opt || !pool || !x || !t, k = 0;
    if (rc) fprintf(stderr, "bench_step1: setting up: %s\n", ag_last_error());
    for (int i = 0; i < SAMPLES && !rc; i++) labels[i] = (int64_t)(ag_rng_u64(rng) % BU_OUT);
    while (k < WARMUP && !rc) rc = step(net, opt, t, x, pool, labels, k++) < 0;
    for (int b = 0; b < BLOCKS && !rc; b++) {
        double t0 = bu_now();
        for (int i = 0; i < STEPS && !rc; i++)
            rc = (loss = step(net, opt, t, x, pool, labels, k++)) < 0;
        us[b] = (bu_now() - t0) * 1e6 / STEPS;
    }
    if (!rc) printf("step_batch1 us_per_step=%.2f loss=%.4g\n", bu_median(us, BLOCKS), loss);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(pool);
    ag_rng_free(rng);
    ag_optim_free(opt);
    ag_module_free(net);
    return rc;
}
