/*
** bench_hvp.c: the price of second order. On the MLP of bench_util.h with
** tanh (a smooth activation, so the Hessian is not mostly zeros) at batch
** 64, f32, one thread, it times
**   fwd+bwd:  loss, then ag_grad(loss, params)                 (the gradient)
**   HVP:      loss, g = ag_grad(loss, params, create_graph),
**             ag_grad(sum_i <g_i, v_i>, params)                (H v)
** with v fixed random tensors of the parameters' shapes, and prints their
** ratio. Blocks of the two alternate (15 each, 20 iterations a block); the
** medians. Twin: bench_hvp.py.
**
**   bench_hvp [--act tanh|relu]
**   prints: hvp act=tanh fwd_bwd_ms=A hvp_ms=B ratio=B/A
*/
#include "bench_util.h"

#define BATCH 64
#define BLOCKS 15
#define ITERS 20

typedef struct hvp_case {
    ag_module *net;
    ag_tensor *params[BU_NPARAMS], *v[BU_NPARAMS], *x;
    int64_t labels[BATCH];
    ag_tape *t;
} hvp_case;

static ag_tensor *loss_of(hvp_case *c)
{
    ag_tape_reset(c->t);
    return ag_cross_entropy_loss(c->t, ag_module_forward(c->net, c->t, c->x), c->labels,
                                 AG_REDUCTION_MEAN);
}

/* The gradient, or with hvp set H v; 0, or -1 with the error printed. */
static int run(hvp_case *c, int hvp)
{
    ag_tensor *loss = loss_of(c), *g[BU_NPARAMS], *hv[BU_NPARAMS];
    if (loss && ag_grad(c->t, 1, &loss, NULL, BU_NPARAMS, c->params, g, hvp) == AG_OK && hvp) {
        ag_tensor *dot = ag_sum(c->t, ag_mul(c->t, g[0], c->v[0]), AG_ALL, 0);
        for (int i = 1; i < BU_NPARAMS; i++)
            dot = ag_add(c->t, dot, ag_sum(c->t, ag_mul(c->t, g[i], c->v[i]), AG_ALL, 0));
        if (dot) ag_grad(c->t, 1, &dot, NULL, BU_NPARAMS, c->params, hv, 0);
    }
    if (ag_tape_status(c->t) == AG_OK) return 0;
    fprintf(stderr, "bench_hvp: %s\n", ag_tape_errmsg(c->t));
    return -1;
}

/* Milliseconds per run(c, hvp) over one block. */
static double block(hvp_case *c, int hvp, int *rc)
{
    double t0 = bu_now();
    for (int i = 0; i < ITERS && !*rc; i++) *rc = run(c, hvp);
    return (bu_now() - t0) * 1e3 / ITERS;
}

int main(int argc, char **argv)
{
    bu_args a;
    if (bu_parse(argc, argv, &a)) return 2;
    if (!a.act) a.act = "tanh";
    hvp_case c = {0};
    ag_rng *rng = ag_rng_new(4);
    c.net = bu_mlp_new(AG_F32, a.act, c.params);
    c.x = ag_rand_normal(NULL, rng, AG_F32, 2, (int64_t[]){BATCH, BU_IN}, 0, 1);
    c.t = ag_tape_new();
    int rc = !c.net || !c.x || !c.t || !rng;
    for (int i = 0; i < BU_NPARAMS && !rc; i++)
        rc = !(c.v[i] = ag_rand_normal(NULL, rng, AG_F32, ag_tensor_ndim(c.params[i]),
                                       ag_tensor_shape(c.params[i]), 0, 1));
    for (int i = 0; i < BATCH && rng; i++) c.labels[i] = (int64_t)(ag_rng_u64(rng) % BU_OUT);
    if (rc) fprintf(stderr, "bench_hvp: setting up: %s\n", ag_last_error());
    double fb[BLOCKS], hv[BLOCKS];
    if (!rc) rc = run(&c, 0) || run(&c, 1);                 /* warm up */
    for (int b = 0; b < BLOCKS && !rc; b++) fb[b] = block(&c, 0, &rc), hv[b] = block(&c, 1, &rc);
    if (!rc) {
        double f = bu_median(fb, BLOCKS), h = bu_median(hv, BLOCKS);
        printf("hvp act=%s fwd_bwd_ms=%.4f hvp_ms=%.4f ratio=%.3f\n", a.act, f, h, h / f);
    }
    for (int i = 0; i < BU_NPARAMS; i++) ag_tensor_free(c.v[i]);
    ag_tensor_free(c.x);
    ag_tape_free(c.t);
    ag_module_free(c.net);
    ag_rng_free(rng);
    return rc;
}
