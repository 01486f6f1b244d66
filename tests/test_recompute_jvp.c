/*
** test_recompute_jvp.c: forward mode through ag_recompute (its JVP rule
** runs the segment again under a nested ag_jvp). An MLP in segments gives
** the tangent of the plain run bit for bit, and jt_check's reverse-mode
** and forward-over-reverse checks pass; dropout in a segment meets the
** same masks and leaves the generator as the plain run; a function of two
** inputs through a segment: Hessians by forward-over-reverse equal to
** reverse-over-reverse and to the plain function's, and its recorded
** tangent passes gradcheck and gradgradcheck (reverse-over-forward);
** nested segments; an error inside the recomputation is reported.
*/
#include "jvp_test_util.h"

#include <stdio.h>

typedef struct mlp mlp;

typedef struct segment {
    const mlp *net;
    int from, to;
} segment;

struct mlp {
    int depth;
    ag_tensor *w[4], *b[4];
    ag_rng *drop;                   /* dropout(0.3) after each layer when set */
    segment segs[2];                /* alive as long as the tapes that use them */
};

/* h = tanh(h w^T + b) for layers [from, to) */
static ag_tensor *layers(ag_tape *t, const mlp *m, int from, int to, ag_tensor *h)
{
    for (int i = from; i < to; i++) {
        h = ag_tanh(t, ag_linear(t, h, m->w[i], m->b[i]));
        if (m->drop && h)
            h = ag_mul(t, h, ag_dropout_mask(t, m->drop, ag_tensor_dtype(h), ag_tensor_ndim(h),
                                             ag_tensor_shape(h), 0.3));
    }
    return h;
}

static ag_tensor *segment_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const segment *s = ctx;
    return layers(t, s->net, s->from, s->to, in[0]);
}

/* ctx: the mlp; in[0] through it in two segments of two layers */
static ag_tensor *net_seg(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    mlp *m = ctx;
    segment *segs = m->segs;
    ag_tensor *h = in[0];
    for (int k = 0; k < 2; k++) {
        segs[k] = (segment){m, 2 * k, 2 * k + 2};
        h = ag_recompute(t, segment_fn, &segs[k], 1, &h, m->drop ? 1 : 0, &m->drop);
    }
    return h;
}

static ag_tensor *net_plain(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const mlp *m = ctx;
    return layers(t, m, 0, m->depth, in[0]);
}

static mlp mlp_new(void)
{
    mlp m = {4, {0}, {0}, NULL, {{0}}};
    ag_rng *r = ag_rng_new(7);
    for (int i = 0; i < 4; i++) {
        m.w[i] = ag_rand_uniform(NULL, r, AG_F64, 2, SHAPE(3, 3), -0.9, 0.9);
        m.b[i] = ag_rand_uniform(NULL, r, AG_F64, 1, SHAPE(3), -0.1, 0.1);
        ag_set_requires_grad(m.w[i], 1);
        ag_set_requires_grad(m.b[i], 1);
    }
    ag_rng_free(r);
    return m;
}

static void mlp_free(mlp *m)
{
    for (int i = 0; i < m->depth; i++) ag_tensor_free(m->w[i]), ag_tensor_free(m->b[i]);
}

static void assert_same_bits(const ag_tensor *a, const ag_tensor *b)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(ag_tensor_numel(a), ag_tensor_numel(b));
    for (int64_t i = 0; i < ag_tensor_numel(a); i++) {
        double x = ag_tensor_get(a, i), y = ag_tensor_get(b, i);
        ck_assert_msg(memcmp(&x, &y, sizeof x) == 0, "element %lld: %.17g vs %.17g",
                      (long long)i, x, y);
    }
}

START_TEST(test_mlp_tangent_as_plain_run)
{
    mlp m = mlp_new();
    ag_tensor *x = tu_random(2, SHAPE(2, 3), -1, 1, 8), *v = tu_random(2, SHAPE(2, 3), -1, 1, 9);
    ag_tape *t = ag_tape_new();
    ag_tensor *y[2], *ty[2];
    ck_assert_int_eq(ag_jvp(t, net_plain, &m, 1, &x, &v, &y[0], &ty[0], 0), AG_OK);
    ck_assert_msg(ag_jvp(t, net_seg, &m, 1, &x, &v, &y[1], &ty[1], 0) == AG_OK, "%s",
                  ag_tape_errmsg(t));
    assert_same_bits(y[1], y[0]);
    assert_same_bits(ty[1], ty[0]);
    ag_tape_free(t);
    jt_check("mlp in segments", net_seg, &m, 1, &x, 0);
    ag_tensor_free(x), ag_tensor_free(v);
    mlp_free(&m);
}
END_TEST

START_TEST(test_dropout_masks_drawn_again)
{
    mlp m = mlp_new();
    ag_tensor *x = tu_random(2, SHAPE(4, 3), -1, 1, 10), *v = tu_random(2, SHAPE(4, 3), -1, 1, 11);
    ag_tape *t = ag_tape_new();
    ag_tensor *y[2], *ty[2];
    uint64_t after[2][4];
    for (int k = 0; k < 2; k++) {
        m.drop = ag_rng_new(5);
        ck_assert_int_eq(ag_jvp(t, k ? net_seg : net_plain, &m, 1, &x, &v, &y[k], &ty[k], 0),
                         AG_OK);
        ag_rng_get_state(m.drop, after[k]);
        ag_rng_free(m.drop);
    }
    assert_same_bits(ty[1], ty[0]);
    ck_assert(memcmp(after[0], after[1], sizeof after[0]) == 0);
    int zeros = 0;                  /* the masks dropped something */
    for (int64_t i = 0; i < 12; i++) zeros += ag_tensor_get(ty[0], i) == 0;
    ck_assert_int_gt(zeros, 0);
    m.drop = NULL;
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(v);
    mlp_free(&m);
}
END_TEST

/* y = sin(h w) w: both inputs of the segment */
static ag_tensor *sinhw(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_mul(t, ag_sin(t, ag_mul(t, in[0], in[1])), in[1]);
}

/* sum(sinhw(exp(x), w) * w), the segment recomputed when ctx is set */
static ag_tensor *two_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *seg_in[2] = {ag_exp(t, in[0]), in[1]};
    ag_tensor *y = ctx ? ag_recompute(t, sinhw, NULL, 2, seg_in, 0, NULL) : sinhw(t, seg_in, NULL);
    return ag_sum(t, ag_mul(t, y, in[1]), AG_ALL, 0);
}

/* The tangent of two_fn, recorded (create_graph), at (x, w) along (vx, vw) */
static ag_tensor *two_tangent(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *y, *ty;
    if (ag_jvp(t, two_fn, ctx, 2, in, in + 2, &y, &ty, 1) != AG_OK) return NULL;
    return ag_mul(t, ty, y);
}

START_TEST(test_hessians_and_recorded_tangent)
{
    int on = 1;
    ag_tensor *in[4] = {tu_random(1, SHAPE(3), -1, 1, 12), tu_random(1, SHAPE(3), -1, 1, 13),
                        tu_random(1, SHAPE(3), -1, 1, 14), tu_random(1, SHAPE(3), -1, 1, 15)};
    jt_check("two inputs through a segment", two_fn, &on, 2, in, 0);
    ag_tape *t = ag_tape_new();
    ag_tensor *hf[4], *hr[4], *hp[4];
    ck_assert_msg(ag_hessian(t, two_fn, &on, 2, in, AG_JAC_FORWARD, hf) == AG_OK, "%s",
                  ag_tape_errmsg(t));
    ck_assert_int_eq(ag_hessian(t, two_fn, &on, 2, in, AG_JAC_REVERSE, hr), AG_OK);
    ck_assert_int_eq(ag_hessian(t, two_fn, NULL, 2, in, AG_JAC_FORWARD, hp), AG_OK);
    for (int b = 0; b < 4; b++)
        for (int64_t e = 0; e < 9; e++) {
            double want = ag_tensor_get(hp[b], e);
            ck_assert_double_eq_tol(ag_tensor_get(hf[b], e), want, 1e-14 * fmax(1, fabs(want)));
            ck_assert_double_eq_tol(ag_tensor_get(hr[b], e), want, 1e-14 * fmax(1, fabs(want)));
        }
    ag_tape_free(t);
    tu_assert_gradchecks(two_tangent, &on, 4, in);
    for (int k = 0; k < 4; k++) ag_tensor_free(in[k]);
}
END_TEST

/* a segment holding a segment: tanh(recompute(sinhw)(x, x)) */
static ag_tensor *inner_outer(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *pair[2] = {in[0], in[0]};
    return ag_tanh(t, ag_recompute(t, sinhw, NULL, 2, pair, 0, NULL));
}

static ag_tensor *nested_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_recompute(t, inner_outer, NULL, 1, in, 0, NULL);
}

START_TEST(test_nested_segments)
{
    ag_tensor *x = tu_random(1, SHAPE(4), -1, 1, 16);
    jt_check("nested segments", nested_fn, NULL, 1, &x, 0);
    ag_tensor_free(x);
}
END_TEST

/* Computes something else the second time: the tangent run finds it. */
static int runs;

static ag_tensor *unstable(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return runs++ ? ag_sum(t, in[0], AG_ALL, 0) : ag_exp(t, in[0]);
}

static ag_tensor *unstable_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_recompute(t, unstable, NULL, 1, in, 0, NULL);
}

START_TEST(test_recomputation_that_differs_is_refused)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2)), *y, *ty;
    runs = 0;
    ck_assert_int_eq(ag_jvp(t, unstable_fn, NULL, 1, &x, &x, &y, &ty, 0), AG_ERR_STATE);
    tu_assert_error(t, ty, AG_ERR_STATE, "ag_recompute: the recomputation gave a [] f64 result",
                    "the first run a [2] f64 one");
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

Suite *suite_recompute_jvp(void)
{
    Suite *s = suite_create("recompute_jvp");
    TU_ADD(s, test_mlp_tangent_as_plain_run);
    TU_ADD(s, test_dropout_masks_drawn_again);
    TU_ADD(s, test_hessians_and_recorded_tangent);
    TU_ADD(s, test_nested_segments);
    TU_ADD(s, test_recomputation_that_differs_is_refused);
    return s;
}
