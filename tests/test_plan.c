/*
** test_plan.c: tape replay (ag_plan.h). A replayed plan gives the values
** and gradients of a fresh recording bit for bit, at several input values,
** in both dtypes, for scalar and elementwise vector functions, with
** ag_grad's and ag_backward's gradients; and every refusal path (value
** reads, random draws, ops a plan cannot replay, changed inputs, bad
** arguments) fails with its message.
*/
#include "test_util.h"
#include "ag_internal.h"

#include <string.h>

/* Asserts a and b hold the same bits (same dtype, shape and size). */
static void assert_same_bits(const ag_tensor *a, const ag_tensor *b)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(a->dtype, b->dtype);
    ck_assert(agi_same_shape(a, b));
    ck_assert_int_eq(memcmp(a->data, b->data, agi_bytes(a->numel, a->dtype)), 0);
}

/*
** A scalar objective of the ops a plan replays: the extended Rosenbrock
** term 100 (x1 - x0^2)^2 + (1 - x0)^2, plus x0 x1 / (x1^2 + 2), exp and
** tanh terms, a comparison mask and a maximum (ctx: x[2]).
*/
static ag_tensor *objective(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx;
    ag_tensor *d = ag_sub(t, x[1], ag_square(t, x[0]));
    ag_tensor *r = ag_add(t, ag_mul_scalar(t, ag_mul(t, d, d), 100),
                          ag_square(t, ag_rsub_scalar(t, x[0], 1)));
    ag_tensor *q = ag_div(t, ag_mul(t, x[0], x[1]), ag_add_scalar(t, ag_square(t, x[1]), 2));
    ag_tensor *e = ag_mul(t, ag_exp(t, ag_mul_scalar(t, x[0], 0.5)), ag_tanh(t, x[1]));
    ag_tensor *m = ag_mul(t, ag_gt(t, x[0], x[1]), ag_maximum(t, x[0], x[1]));
    ag_tensor *y = ag_add(t, ag_add(t, r, q), ag_sub(t, e, m));
    return y;
}

/* The same objective recorded afresh: its output and ag_grad's grads. */
static void fresh(ag_tensor *const *x, int n, double *out, ag_tensor **grads, ag_tape *t)
{
    ag_tensor *y = objective(t, (void *)x);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(ag_grad(t, 1, &y, NULL, n, x, grads, 0), AG_OK);
    *out = ag_tensor_get(y, 0);
}

static void check_objective(ag_dtype dt)
{
    ag_tensor *x[2] = {ag_scalar(NULL, dt, 0.3), ag_scalar(NULL, dt, -0.7)};
    ag_set_requires_grad(x[0], 1);
    ag_set_requires_grad(x[1], 1);
    ag_plan *p = ag_plan_capture(objective, x, 2, x);
    ck_assert_msg(p != NULL, "%s", ag_last_error());
    ck_assert_uint_gt(ag_plan_size(p), 30);
    ck_assert(agi_plan_compiled(p));         /* exp, tanh: instructions; gt, maximum: steps */
    const double pts[][2] = {{0.3, -0.7}, {1.5, 0.25}, {-2, 3}, {0.9, 0.9}, {1e-3, -4}};
    ag_tape *t = ag_tape_new();
    for (int k = 0; k < 5; k++) {
        ag_tensor_set(x[0], 0, pts[k][0]);
        ag_tensor_set(x[1], 0, pts[k][1]);
        ck_assert_int_eq(ag_plan_run(p), AG_OK);
        ag_tensor *g[2];
        double y;
        fresh(x, 2, &y, g, t);
        ck_assert(ag_tensor_get(ag_plan_output(p), 0) == y);
        assert_same_bits(ag_plan_grad(p, 0), g[0]);
        assert_same_bits(ag_plan_grad(p, 1), g[1]);
        ag_tape_reset(t);
    }
    /* the naive value at the last point, computed here in double */
    double x0 = 1e-3, x1 = -4, d = x1 - x0 * x0;
    double want = 100 * d * d + (1 - x0) * (1 - x0) + x0 * x1 / (x1 * x1 + 2) +
                  exp(0.5 * x0) * tanh(x1) - (x0 > x1 ? fmax(x0, x1) : 0);
    ck_assert_double_eq_tol(ag_tensor_get(ag_plan_output(p), 0), want,
                            (dt == AG_F64 ? 1e-12 : 1e-5) * fabs(want));
    ag_tape_free(t);
    ag_plan_free(p);
    ag_tensor_free(x[0]);
    ag_tensor_free(x[1]);
}

START_TEST(test_plan_replays_scalar_objective_bit_identical_f64) { check_objective(AG_F64); }
END_TEST

START_TEST(test_plan_replays_scalar_objective_bit_identical_f32) { check_objective(AG_F32); }
END_TEST

/* bench_scalar's chain, 200 ops: y = y * x1 and y = y + x0 alternately. */
static ag_tensor *chain(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx;
    ag_tensor *y = x[0];
    for (int i = 0; i < 200; i++) y = i % 2 ? ag_add(t, y, x[0]) : ag_mul(t, y, x[1]);
    return y;
}

START_TEST(test_plan_backward_mode_accumulates_like_ag_backward)
{
    ag_tensor *x[2] = {ag_scalar(NULL, AG_F32, 0.5), ag_scalar(NULL, AG_F32, 0.99)};
    ag_tensor *ref[2] = {ag_scalar(NULL, AG_F32, 0.5), ag_scalar(NULL, AG_F32, 0.99)};
    for (int i = 0; i < 2; i++) {
        ag_set_requires_grad(x[i], 1);
        ag_set_requires_grad(ref[i], 1);
    }
    ag_plan *p = ag_plan_capture(chain, x, 0, NULL);
    ck_assert_msg(p != NULL, "%s", ag_last_error());
    ck_assert_ptr_null(ag_plan_grad(p, 0));
    ck_assert(agi_plan_compiled(p));         /* adds, muls, sinks: a scalar program */
    ag_tape *t = ag_tape_new();
    ck_assert_int_eq(ag_backward(t, chain(t, ref)), AG_OK);   /* capture's twin */
    const double pts[][2] = {{0.25, 1.01}, {-1, 0.5}, {2, -0.9}};
    for (int k = 0; k < 3; k++) {
        if (k == 1) {                        /* grads set to none: copied, not added */
            for (int i = 0; i < 2; i++) ag_clear_grad(x[i]), ag_clear_grad(ref[i]);
        }
        for (int i = 0; i < 2; i++) {
            ag_tensor_set(x[i], 0, pts[k][i]);
            ag_tensor_set(ref[i], 0, pts[k][i]);
        }
        ck_assert_int_eq(ag_plan_run(p), AG_OK);
        ag_tape_reset(t);
        ag_tensor *y = chain(t, ref);
        ck_assert_int_eq(ag_backward(t, y), AG_OK);
        ck_assert(ag_tensor_get(ag_plan_output(p), 0) == ag_tensor_get(y, 0));
        for (int i = 0; i < 2; i++)
            assert_same_bits(ag_tensor_grad(x[i]), ag_tensor_grad(ref[i]));
    }
    ag_tape_free(t);
    ag_plan_free(p);
    for (int i = 0; i < 2; i++) ag_tensor_free(x[i]), ag_tensor_free(ref[i]);
}
END_TEST

/* Every op of the scalar program (ag_plan's flat replay): sub, div, neg,
   square and the scalar forms, with a constant made on the tape (ctx: x[2]). */
static ag_tensor *arith(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx;
    ag_tensor *c = ag_scalar(t, (ag_dtype)x[0]->dtype, 0.1);
    ag_tensor *d = ag_sub(t, x[1], ag_square(t, x[0]));
    ag_tensor *e = ag_div(t, ag_rsub_scalar(t, x[0], 1.3), ag_add_scalar(t, ag_square(t, x[1]), 2));
    ag_tensor *f = ag_rdiv_scalar(t, ag_add(t, ag_square(t, x[0]), c), 0.7);
    ag_tensor *h = ag_sub_scalar(t, ag_div_scalar(t, ag_mul_scalar(t, d, 100), 3), 0.2);
    return ag_add(t, ag_neg(t, ag_mul(t, d, h)), ag_sub(t, e, ag_mul(t, f, x[1])));
}

static void check_arith(ag_dtype dt)
{
    ag_tensor *x[2] = {ag_scalar(NULL, dt, 0.3), ag_scalar(NULL, dt, -0.7)};
    for (int i = 0; i < 2; i++) ag_set_requires_grad(x[i], 1);
    ag_plan *p = ag_plan_capture(arith, x, 2, x);
    ck_assert_msg(p != NULL, "%s", ag_last_error());
    ck_assert(agi_plan_compiled(p));
    ag_tape *t = ag_tape_new();
    const double pts[][2] = {{0.3, -0.7}, {1.5, 0.25}, {-2, 3}, {1e-3, -4}};
    for (int k = 0; k < 4; k++) {
        ag_tensor_set(x[0], 0, pts[k][0]);
        ag_tensor_set(x[1], 0, pts[k][1]);
        ck_assert_int_eq(ag_plan_run(p), AG_OK);
        ag_tensor *y = arith(t, x), *g[2];
        ck_assert_int_eq(ag_grad(t, 1, &y, NULL, 2, x, g, 0), AG_OK);
        assert_same_bits(ag_plan_output(p), y);
        assert_same_bits(ag_plan_grad(p, 0), g[0]);
        assert_same_bits(ag_plan_grad(p, 1), g[1]);
        ag_tape_reset(t);
    }
    /* the naive value at the last point, in double */
    double x0 = 1e-3, x1 = -4, d = x1 - x0 * x0, h = d * 100 / 3 - 0.2;
    double want = -(d * h) + ((1.3 - x0) / (x1 * x1 + 2) - 0.7 / (x0 * x0 + 0.1) * x1);
    ck_assert_double_eq_tol(ag_tensor_get(ag_plan_output(p), 0), want,
                            (dt == AG_F64 ? 1e-12 : 1e-5) * fabs(want));
    ag_tape_free(t);
    ag_plan_free(p);
    for (int i = 0; i < 2; i++) ag_tensor_free(x[i]);
}

START_TEST(test_plan_scalar_program_bit_identical_f64) { check_arith(AG_F64); }
END_TEST

START_TEST(test_plan_scalar_program_bit_identical_f32) { check_arith(AG_F32); }
END_TEST

/* Elementwise ops on [1] tensors (the output must be one element and no
   reduction is replayed yet): sigmoid, abs, log1p among them. */
static ag_tensor *vector_fn(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx;
    ag_tensor *a = ag_sigmoid(t, ag_mul(t, x[0], x[1]));
    ag_tensor *b = ag_div(t, ag_sub(t, x[0], x[2]), ag_add_scalar(t, ag_abs(t, x[1]), 1));
    return ag_add(t, ag_mul(t, a, b), ag_log1p(t, ag_square(t, x[2])));
}

START_TEST(test_plan_replays_one_element_vectors)
{
    ag_tensor *x[3];
    for (int i = 0; i < 3; i++) {
        x[i] = ag_from_f64(NULL, AG_F64, 1, SHAPE(1), VALS(0.1 * (i + 1)));
        ag_set_requires_grad(x[i], 1);
    }
    ag_plan *p = ag_plan_capture(vector_fn, x, 3, x);
    ck_assert_msg(p != NULL, "%s", ag_last_error());
    ag_tape *t = ag_tape_new();
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < 3; i++) ag_tensor_set(x[i], 0, (k - 1.5) * (i + 0.5));
        ck_assert_int_eq(ag_plan_run(p), AG_OK);
        ag_tensor *y = vector_fn(t, x), *g[3];
        ck_assert_int_eq(ag_grad(t, 1, &y, NULL, 3, x, g, 0), AG_OK);
        assert_same_bits(ag_plan_output(p), y);
        for (int i = 0; i < 3; i++) assert_same_bits(ag_plan_grad(p, i), g[i]);
        ag_tape_reset(t);
    }
    ag_tape_free(t);
    ag_plan_free(p);
    for (int i = 0; i < 3; i++) ag_tensor_free(x[i]);
}
END_TEST

/* ------------------------------------------------------ training steps --- */

#define MLP_B 4              /* batch */
#define MLP_IN 5
#define MLP_OUT 3
#define MLP_NP 8             /* six Linear parameters, proj, temp */

/* An MLP and the persistent tensors its step reads: a batch (x, its
   one-hot labels or the index labels) and two parameters used outside
   the modules (proj: a matmul, temp: a broadcast product). */
typedef struct mlp {
    ag_module *net;
    ag_tensor *params[MLP_NP];
    ag_optim *opt;
    ag_tensor *x, *onehot;       /* shared by both twins */
    int64_t labels[MLP_B];
    int soft;                    /* one-hot targets (else the index labels) */
} mlp;

/* loss = CE(net(x + x proj) * temp) + mean(proj^2) / 1000: linear,
   tanh, relu, matmul, a broadcast product, log_softmax and mean. */
static ag_tensor *mlp_step(ag_tape *t, void *ctx)
{
    mlp *m = ctx;
    ag_tensor *proj = m->params[6], *temp = m->params[7];
    ag_tensor *h = ag_add(t, m->x, ag_matmul(t, m->x, proj));
    ag_tensor *logits = ag_mul(t, ag_module_forward(m->net, t, h), temp);
    ag_tensor *ce = m->soft ? ag_cross_entropy_soft_loss(t, logits, m->onehot, AG_REDUCTION_MEAN)
                            : ag_cross_entropy_loss(t, logits, m->labels, AG_REDUCTION_MEAN);
    return ag_add(t, ce, ag_mul_scalar(t, ag_mean(t, ag_square(t, proj), AG_ALL, 0), 1e-3));
}

/* A twin: the same initial weights for the same dtype. */
static void mlp_init(mlp *m, ag_dtype dt, ag_tensor *x, ag_tensor *onehot, int soft)
{
    ag_rng *rng = ag_rng_new(7);
    m->net = ag_sequential_new(5, (ag_module *[]){
        ag_linear_new(MLP_IN, 7, 1, dt, rng), ag_tanh_new(), ag_linear_new(7, 6, 1, dt, rng),
        ag_relu_new(), ag_linear_new(6, MLP_OUT, 1, dt, rng)});
    ck_assert_msg(m->net != NULL, "%s", ag_last_error());
    ck_assert_int_eq(ag_module_parameters(m->net, m->params, 6), 6);
    m->params[6] = ag_rand_normal(NULL, rng, dt, 2, SHAPE(MLP_IN, MLP_IN), 0, 0.3);
    m->params[7] = ag_rand_uniform(NULL, rng, dt, 1, SHAPE(MLP_OUT), 0.5, 1.5);
    ag_set_requires_grad(m->params[6], 1);
    ag_set_requires_grad(m->params[7], 1);
    ag_rng_free(rng);
    m->opt = ag_adam_new(MLP_NP, m->params, NULL);
    ck_assert_ptr_nonnull(m->opt);
    m->x = x;
    m->onehot = onehot;
    m->soft = soft;
}

static void mlp_free(mlp *m)
{
    ag_optim_free(m->opt);
    ag_module_free(m->net);
    ag_tensor_free(m->params[6]);
    ag_tensor_free(m->params[7]);
}

/* Batch k: new inputs, and new one-hot labels when the targets are soft
   (index labels are frozen in a plan, as every int64 array an op takes). */
static void new_batch(mlp *m, ag_rng *rng, int k)
{
    ag_tensor *x = ag_rand_normal(NULL, rng, (ag_dtype)m->x->dtype, 2, SHAPE(MLP_B, MLP_IN), 0, 1);
    memcpy(m->x->data, x->data, agi_bytes(m->x->numel, m->x->dtype));
    ag_tensor_free(x);
    for (int i = 0; i < MLP_B; i++)
        for (int c = 0; c < MLP_OUT; c++)
            ag_tensor_set(m->onehot, i * MLP_OUT + c, m->soft && c == (i + k) % MLP_OUT);
}

/* Trains two twins five steps on the same batches, one by replaying a plan
   of its step, the other recording each step; loss, gradients and updated
   parameters agree bit for bit at every step. The optimizer runs outside
   the plan, on the .grad the replay fills: set to none (written in place
   by the fused sinks) or, once, accumulated. */
static void check_mlp_steps(ag_dtype dt, int soft)
{
    ag_rng *rng = ag_rng_new(11);
    ag_tensor *x = ag_zeros(NULL, dt, 2, SHAPE(MLP_B, MLP_IN));
    ag_tensor *onehot = ag_zeros(NULL, dt, 2, SHAPE(MLP_B, MLP_OUT));
    mlp a, b;
    mlp_init(&a, dt, x, onehot, soft);
    mlp_init(&b, dt, x, onehot, soft);
    for (int i = 0; i < MLP_B; i++) a.labels[i] = b.labels[i] = (2 * i + 1) % MLP_OUT;
    ag_tape *t = ag_tape_new();
    ag_plan *p = NULL;
    for (int k = 0; k < 5; k++) {
        new_batch(&a, rng, k);
        if (k == 0) {
            p = ag_plan_capture(mlp_step, &a, 0, NULL);       /* runs step 0 */
            ck_assert_msg(p != NULL, "%s", ag_last_error());
        } else {
            ck_assert_int_eq(ag_plan_run(p), AG_OK);
        }
        ag_tape_reset(t);
        ag_tensor *loss = mlp_step(t, &b);
        ck_assert_msg(loss != NULL, "%s", ag_tape_errmsg(t));
        ck_assert_int_eq(ag_backward(t, loss), AG_OK);
        assert_same_bits(ag_plan_output(p), loss);
        for (int i = 0; i < MLP_NP; i++)
            assert_same_bits(ag_tensor_grad(a.params[i]), ag_tensor_grad(b.params[i]));
        ck_assert_int_eq(ag_optim_step(a.opt), AG_OK);
        ck_assert_int_eq(ag_optim_step(b.opt), AG_OK);
        if (k != 2) {                   /* after step 2 the next grads accumulate */
            ag_optim_clear_grad(a.opt);
            ag_optim_clear_grad(b.opt);
        }
        for (int i = 0; i < MLP_NP; i++) assert_same_bits(a.params[i], b.params[i]);
    }
    /* the loss moved: the replays saw the new batches and weights */
    ck_assert(ag_tensor_get(ag_plan_output(p), 0) > 0);
    ck_assert_uint_gt(ag_plan_size(p), 40);
    ag_plan_free(p);
    ag_tape_free(t);
    mlp_free(&a);
    mlp_free(&b);
    ag_tensor_free(x);
    ag_tensor_free(onehot);
    ag_rng_free(rng);
}

START_TEST(test_plan_replays_mlp_training_step_soft_targets_f64) { check_mlp_steps(AG_F64, 1); }
END_TEST

START_TEST(test_plan_replays_mlp_training_step_index_targets_f32) { check_mlp_steps(AG_F32, 0); }
END_TEST

/* ------------------------------------------------------------ refusals --- */

static ag_tensor *reads_value(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx;
    ag_tensor *y = ag_mul(t, x[0], x[0]);
    return ag_tensor_get(y, 0) > 1 ? y : ag_neg(t, y);     /* data-dependent */
}

static ag_tensor *draws(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx;
    ag_rng *r = ag_rng_new(1);
    ag_tensor *noise = ag_rand_uniform(t, r, AG_F64, 0, NULL, 0, 1);
    ag_rng_free(r);
    return ag_mul(t, x[0], noise);
}

static ag_tensor *maxes(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx;
    return ag_max(t, ag_mul(t, x[0], x[0]), AG_ALL, 0);
}

static ag_tensor *fails(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx;
    return ag_add(t, x[0], NULL);
}

static ag_tensor *vector_out(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx;
    return ag_mul(t, x[0], x[0]);
}

/* Asserts the capture of fn on x fails with status s and message parts. */
static void assert_refused(ag_plan_fn fn, ag_tensor **x, ag_status s, const char *part1,
                           const char *part2)
{
    ag_set_last_error(AG_OK, "%s", "");
    ag_plan *p = ag_plan_capture(fn, x, 1, x);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(ag_last_error(), part1) && strstr(ag_last_error(), part2),
                  "message: %s", ag_last_error());
    (void)s;
}

START_TEST(test_plan_refuses_what_it_cannot_replay)
{
    ag_tensor *x[1] = {ag_scalar(NULL, AG_F64, 2)};
    ag_tensor *v[1] = {ag_from_f64(NULL, AG_F64, 1, SHAPE(3), VALS(1, 2, 3))};
    ag_set_requires_grad(x[0], 1);
    ag_set_requires_grad(v[0], 1);
    assert_refused(reads_value, x, AG_ERR_STATE, "read a tensor's value", "ag_tensor_get");
    assert_refused(draws, x, AG_ERR_STATE, "drew random numbers", "ag_rng_u64");
    assert_refused(maxes, v, AG_ERR_STATE, "ag_max cannot be replayed", "ag_plan.h");
    assert_refused(fails, x, AG_ERR_ARG, "the function failed", "b is NULL");
    assert_refused(vector_out, v, AG_ERR_SHAPE, "the output is [3]", "not one element");
    /* arguments */
    ck_assert_ptr_null(ag_plan_capture(NULL, x, 1, x));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "fn is NULL"));
    ck_assert_ptr_null(ag_plan_capture(vector_out, x, -1, x));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "n_wrt is negative"));
    ck_assert_ptr_null(ag_plan_capture(vector_out, x, 1, NULL));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "wrt is NULL"));
    ck_assert_int_eq(ag_plan_run(NULL), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "plan is NULL"));
    ck_assert_ptr_null(ag_plan_output(NULL));
    ck_assert_uint_eq(ag_plan_size(NULL), 0);
    ag_plan_free(NULL);
    /* reads outside a capture are fine again */
    ck_assert(ag_tensor_get(x[0], 0) == 2);
    ag_tensor_free(x[0]);
    ag_tensor_free(v[0]);
}
END_TEST

START_TEST(test_plan_run_refuses_changed_inputs)
{
    ag_tensor *x[2] = {ag_from_f64(NULL, AG_F64, 1, SHAPE(1), VALS(0.5)),
                       ag_from_f64(NULL, AG_F64, 1, SHAPE(1), VALS(2))};
    ag_tensor *in[3] = {x[0], x[1], x[1]};
    for (int i = 0; i < 2; i++) ag_set_requires_grad(x[i], 1);
    ag_plan *p = ag_plan_capture(vector_fn, in, 2, x);
    ck_assert_msg(p != NULL, "%s", ag_last_error());
    double before = ag_tensor_get(ag_plan_output(p), 0);
    /* what a resize would do to the header: the run must refuse, run nothing */
    x[1]->ndim = 2;
    x[1]->shape[1] = 1;
    ag_tensor_set(x[0], 0, 7);
    ck_assert_int_eq(ag_plan_run(p), AG_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ag_plan_errmsg(p), "is [1,1], it was [1] at capture"));
    ck_assert(ag_tensor_get(ag_plan_output(p), 0) == before);
    x[1]->ndim = 1;
    ck_assert_int_eq(ag_plan_run(p), AG_OK);
    ck_assert_str_eq(ag_plan_errmsg(p), "");
    ck_assert(ag_tensor_get(ag_plan_output(p), 0) != before);
    x[1]->dtype = AG_F32;
    ck_assert_int_eq(ag_plan_run(p), AG_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ag_plan_errmsg(p), "changed dtype"));
    x[1]->dtype = AG_F64;
    ag_plan_free(p);
    for (int i = 0; i < 2; i++) ag_tensor_free(x[i]);
}
END_TEST

Suite *suite_plan(void)
{
    Suite *s = suite_create("plan");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_plan_replays_scalar_objective_bit_identical_f64);
    tcase_add_test(tc, test_plan_replays_scalar_objective_bit_identical_f32);
    tcase_add_test(tc, test_plan_backward_mode_accumulates_like_ag_backward);
    tcase_add_test(tc, test_plan_replays_one_element_vectors);
    tcase_add_test(tc, test_plan_scalar_program_bit_identical_f64);
    tcase_add_test(tc, test_plan_scalar_program_bit_identical_f32);
    tcase_add_test(tc, test_plan_replays_mlp_training_step_soft_targets_f64);
    tcase_add_test(tc, test_plan_replays_mlp_training_step_index_targets_f32);
    tcase_add_test(tc, test_plan_refuses_what_it_cannot_replay);
    tcase_add_test(tc, test_plan_run_refuses_changed_inputs);
    suite_add_tcase(s, tc);
    return s;
}
