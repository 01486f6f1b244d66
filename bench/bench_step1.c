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
** Then the same step replayed (ag_plan.h): the forward and backward
** captured once as a plan and re-run at each new sample, Adam and the
** grad clearing outside it, beside the same step recorded each time,
** blocks of the two alternating. Here the labels are one-hot rows fed to
** ag_cross_entropy_soft_loss (a plan freezes index arrays; a tensor input
** changes at each run), for both.
**
**   bench_step1   prints: step_batch1 us_per_step=T loss=L replay_us_per_step=R
**                         recorded_us_per_step=S
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

/* The replayable step: the MLP on x, cross-entropy against one-hot rows. */
typedef struct soft_step {
    ag_module *net;
    ag_tensor *x, *onehot;
} soft_step;

static ag_tensor *soft_loss(ag_tape *t, void *ctx)
{
    const soft_step *c = ctx;
    return ag_cross_entropy_soft_loss(t, ag_module_forward(c->net, t, c->x), c->onehot,
                                      AG_REDUCTION_MEAN);
}

/* Loads sample i (of the pool, taken again from its start when past its
   end) into c's x and one-hot row. */
static void load(soft_step *c, ag_tensor *pool, const int64_t *labels, int i)
{
    i %= SAMPLES;
    memcpy(ag_tensor_data(c->x), (const float *)ag_tensor_data(pool) + (int64_t)i * BU_IN,
           BU_IN * sizeof(float));
    float *oh = ag_tensor_data(c->onehot);
    for (int k = 0; k < BU_OUT; k++) oh[k] = k == labels[i];
}

/* STEPS steps from sample *k, replayed by p (or recorded on t when p is
   NULL), each followed by Adam; the time per step in us, or -1. */
static double soft_block(soft_step *c, ag_plan *p, ag_tape *t, ag_optim *opt,
                         ag_tensor *pool, const int64_t *labels, int *k)
{
    double t0 = bu_now();
    for (int i = 0; i < STEPS; i++) {
        load(c, pool, labels, (*k)++);
        ag_status s;
        if (p) {
            s = ag_plan_run(p);
        } else {
            ag_tape_reset(t);
            ag_tensor *loss = soft_loss(t, c);
            s = loss ? ag_backward(t, loss) : ag_tape_status(t);
        }
        if (s != AG_OK || ag_optim_step(opt) != AG_OK)
            return fprintf(stderr, "bench_step1: %s\n", p ? ag_plan_errmsg(p) : ag_tape_errmsg(t)),
                   -1;
        ag_optim_clear_grad(opt);
    }
    return (bu_now() - t0) * 1e6 / STEPS;
}

/* The replayed and recorded soft-label steps, alternating blocks; their
   median times per step, or 1 with the error printed. */
static int replay_vs_record(ag_module *net, ag_optim *opt, ag_tape *t, ag_tensor *x,
                            ag_tensor *pool, const int64_t *labels, double *replay_us,
                            double *record_us)
{
    ag_tensor *onehot = ag_zeros(NULL, AG_F32, 2, (int64_t[]){1, BU_OUT});
    soft_step c = {net, x, onehot};
    double rep[BLOCKS], rec[BLOCKS];
    int k = 0, rc = !onehot;
    load(&c, pool, labels, k++);
    ag_plan *p = rc ? NULL : ag_plan_capture(soft_loss, &c, 0, NULL);
    if (!p) fprintf(stderr, "bench_step1: capturing the step: %s\n", ag_last_error());
    rc = !p || ag_optim_step(opt) != AG_OK;
    ag_optim_clear_grad(opt);
    for (int w = 0; w < WARMUP / STEPS + 1 && !rc; w++)
        rc = soft_block(&c, p, t, opt, pool, labels, &k) < 0 ||
             soft_block(&c, NULL, t, opt, pool, labels, &k) < 0;
    for (int b = 0; b < BLOCKS && !rc; b++) {
        rc = (rep[b] = soft_block(&c, p, t, opt, pool, labels, &k)) < 0 ||
             (rec[b] = soft_block(&c, NULL, t, opt, pool, labels, &k)) < 0;
    }
    if (!rc) *replay_us = bu_median(rep, BLOCKS), *record_us = bu_median(rec, BLOCKS);
    ag_plan_free(p);
    ag_tensor_free(onehot);
    return rc;
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
    double replay_us = 0, record_us = 0;
    if (!rc) rc = replay_vs_record(net, opt, t, x, pool, labels, &replay_us, &record_us);
    if (!rc)
        printf("step_batch1 us_per_step=%.2f loss=%.4g replay_us_per_step=%.2f "
               "recorded_us_per_step=%.2f\n", bu_median(us, BLOCKS), loss, replay_us, record_us);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(pool);
    ag_rng_free(rng);
    ag_optim_free(opt);
    ag_module_free(net);
    return rc;
}
