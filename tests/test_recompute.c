/*
** test_recompute.c: ag_recompute (autograd/recompute.c). An MLP in
** recomputed segments gives bit-identical gradients to the plain run, in
** ag_backward and ag_grad; dropout inside a segment draws the same mask
** again and leaves the generator as the plain run does; create_graph
** through a segment (gradcheck, gradgradcheck, a Hessian-vector product
** equal to the plain one); a parameter used both before and inside a
** segment is counted once; the tape's peak memory falls for a deep MLP;
** grad mode off; error paths.
*/
#include "test_util.h"

#include <stdio.h>

#define MAX_LAYERS 24

typedef struct mlp {
    int depth;
    ag_tensor *w[MAX_LAYERS], *b[MAX_LAYERS];
    ag_rng *drop;                   /* dropout after each layer when not NULL */
} mlp;

typedef struct segment {
    const mlp *net;
    int from, to;
} segment;

/* h = tanh(h w^T + b) for layers [from, to), with dropout(0.3) if set */
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

/* The net's output from x, in segments of seg layers (0: no recomputation). */
static ag_tensor *run_net(ag_tape *t, const mlp *m, ag_tensor *x, int seg, segment *segs)
{
    if (!seg) return layers(t, m, 0, m->depth, x);
    ag_tensor *h = x;
    for (int k = 0; k * seg < m->depth; k++) {
        segs[k] = (segment){m, k * seg, (k + 1) * seg < m->depth ? (k + 1) * seg : m->depth};
        h = ag_recompute(t, segment_fn, &segs[k], 1, &h, m->drop ? 1 : 0, &m->drop);
    }
    return h;
}

static mlp mlp_new(ag_dtype dt, int depth, int width, uint64_t seed)
{
    mlp m = {depth, {0}, {0}, NULL};
    ag_rng *r = ag_rng_new(seed);
    for (int i = 0; i < depth; i++) {
        double a = 1.5 / sqrt(width);
        m.w[i] = ag_rand_uniform(NULL, r, dt, 2, SHAPE(width, width), -a, a);
        m.b[i] = ag_rand_uniform(NULL, r, dt, 1, SHAPE(width), -0.1, 0.1);
        ag_set_requires_grad(m.w[i], 1);
        ag_set_requires_grad(m.b[i], 1);
    }
    ag_rng_free(r);
    return m;
}

static void mlp_free(mlp *m)
{
    for (int i = 0; i < m->depth; i++) {
        ag_tensor_free(m->w[i]);
        ag_tensor_free(m->b[i]);
    }
}

static void assert_same_bits(const ag_tensor *a, const ag_tensor *b, const char *what)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(ag_tensor_numel(a), ag_tensor_numel(b));
    for (int64_t i = 0; i < ag_tensor_numel(a); i++) {
        double x = ag_tensor_get(a, i), y = ag_tensor_get(b, i);
        ck_assert_msg(memcmp(&x, &y, sizeof x) == 0, "%s element %lld: %.17g vs %.17g", what,
                      (long long)i, x, y);
    }
}

/* Backward of sum(net(x)^2) into the parameters' grads (set to none first)
   and x's; returns the loss. seg as run_net. */
static double net_backward(ag_tape *t, mlp *m, ag_tensor *x, int seg)
{
    segment segs[MAX_LAYERS];
    for (int i = 0; i < m->depth; i++) ag_clear_grad(m->w[i]), ag_clear_grad(m->b[i]);
    ag_clear_grad(x);
    ag_tape_reset(t);
    ag_tensor *y = run_net(t, m, x, seg, segs);
    ag_tensor *loss = ag_sum(t, ag_mul(t, y, y), AG_ALL, 0);
    ck_assert_msg(loss && ag_backward(t, loss) == AG_OK, "%s", ag_tape_errmsg(t));
    return ag_tensor_get(loss, 0);
}

START_TEST(test_mlp_gradients_bit_identical)
{
    mlp m = mlp_new(AG_F64, 7, 5, 1);
    ag_tensor *x = tu_random(2, SHAPE(3, 5), -1, 1, 2), *gw[MAX_LAYERS], *gx;
    ag_set_requires_grad(x, 1);
    ag_tape *t = ag_tape_new();
    double plain = net_backward(t, &m, x, 0);
    size_t plain_nodes = ag_tape_size(t);
    for (int i = 0; i < m.depth; i++) gw[i] = ag_tensor_clone(ag_tensor_grad(m.w[i]));
    gx = ag_tensor_clone(ag_tensor_grad(x));
    for (int seg = 1; seg <= 3; seg++) {         /* 7 segments, then 4 and 3 */
        double loss = net_backward(t, &m, x, seg);
        ck_assert(memcmp(&loss, &plain, sizeof loss) == 0);
        ck_assert_uint_eq(ag_tape_size(t), (size_t)(m.depth + seg - 1) / seg + 2);
        ck_assert_uint_lt(ag_tape_size(t), plain_nodes);
        for (int i = 0; i < m.depth; i++) assert_same_bits(ag_tensor_grad(m.w[i]), gw[i], "w");
        assert_same_bits(ag_tensor_grad(x), gx, "x");
    }
    /* ag_grad, the functional form, with the parameters as inputs */
    segment segs[MAX_LAYERS];
    ag_tensor *wrt[3] = {x, m.w[0], m.b[6]}, *g1[3], *g2[3];
    ag_tape_reset(t);
    ck_assert_int_eq(tu_grad_of_sum(t, run_net(t, &m, x, 0, segs), 3, wrt, g1), AG_OK);
    ck_assert_int_eq(tu_grad_of_sum(t, run_net(t, &m, x, 2, segs), 3, wrt, g2), AG_OK);
    for (int k = 0; k < 3; k++) assert_same_bits(g1[k], g2[k], "ag_grad");
    ag_tape_free(t);
    for (int i = 0; i < m.depth; i++) ag_tensor_free(gw[i]);
    ag_tensor_free(gx);
    ag_tensor_free(x);
    mlp_free(&m);
}
END_TEST

START_TEST(test_dropout_mask_drawn_again)
{
    mlp m = mlp_new(AG_F64, 4, 6, 3);
    ag_tensor *x = tu_random(2, SHAPE(4, 6), -1, 1, 4), *gw[MAX_LAYERS];
    ag_tape *t = ag_tape_new();
    uint64_t after_plain[4], after_seg[4];
    m.drop = ag_rng_new(99);
    net_backward(t, &m, x, 0);
    ag_rng_get_state(m.drop, after_plain);
    for (int i = 0; i < m.depth; i++) gw[i] = ag_tensor_clone(ag_tensor_grad(m.w[i]));
    ag_rng_free(m.drop);
    m.drop = ag_rng_new(99);
    net_backward(t, &m, x, 2);
    ag_rng_get_state(m.drop, after_seg);
    /* the same masks (else the gradients would differ), and the generator
       where the plain run left it */
    for (int i = 0; i < m.depth; i++) assert_same_bits(ag_tensor_grad(m.w[i]), gw[i], "w");
    ck_assert(memcmp(after_plain, after_seg, sizeof after_plain) == 0);
    /* some units were dropped: a zero row of grads somewhere is no proof,
       but the gradient of a run without dropout differs */
    ag_rng_free(m.drop);
    m.drop = NULL;
    net_backward(t, &m, x, 2);
    int differs = 0;
    for (int64_t i = 0; i < 36; i++)
        differs |= ag_tensor_get(ag_tensor_grad(m.w[1]), i) != ag_tensor_get(gw[1], i);
    ck_assert(differs);
    ag_tape_free(t);
    for (int i = 0; i < m.depth; i++) ag_tensor_free(gw[i]);
    ag_tensor_free(x);
    mlp_free(&m);
}
END_TEST

/* ---------------------------------------------------------- create_graph --- */

/* y = sin(x * w) * w, w reached through ctx (a parameter), x an input */
static ag_tensor *sinxw(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *w = ctx;
    return ag_mul(t, ag_sin(t, ag_mul(t, in[0], w)), w);
}

/* in = {x, w}: exp(x) goes into a recomputed sinxw whose w is hidden */
static ag_tensor *checked_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *h = ag_exp(t, in[0]);
    ag_tensor *y = ctx ? ag_recompute(t, sinxw, in[1], 1, &h, 0, NULL) : sinxw(t, &h, in[1]);
    return ag_mul(t, y, in[1]);             /* w used outside the segment too */
}

START_TEST(test_create_graph_gradchecks)
{
    ag_tensor *x = tu_random(1, SHAPE(4), -1, 1, 5), *w = tu_random(1, SHAPE(4), -1, 1, 6);
    ag_tensor *in[2] = {x, w};
    int on = 1;
    tu_assert_gradchecks(checked_fn, &on, 2, in);
    /* a Hessian-vector product through the segment equals the plain one */
    ag_tape *t = ag_tape_new();
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(4), VALS(0.3, -1, 0.5, 2)), *hv[2][2];
    ag_set_requires_grad(x, 1);
    ag_set_requires_grad(w, 1);
    for (int k = 0; k < 2; k++) {
        ag_tensor *y = ag_sum(t, checked_fn(t, in, k ? &on : NULL), AG_ALL, 0), *g[2];
        ck_assert_int_eq(ag_grad(t, 1, &y, NULL, 2, in, g, 1), AG_OK);
        ag_tensor *gv = ag_add(t, ag_sum(t, ag_mul(t, g[0], v), AG_ALL, 0),
                               ag_sum(t, ag_mul(t, g[1], v), AG_ALL, 0));
        ck_assert_msg(ag_grad(t, 1, &gv, NULL, 2, in, hv[k], 0) == AG_OK, "%s",
                      ag_tape_errmsg(t));
    }
    /* w is used twice in the segment and once outside it: the sums into
       it come in another order, so equal to rounding, not to the bit */
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 2; k++)
            ck_assert_double_eq_tol(ag_tensor_get(hv[1][k], i), ag_tensor_get(hv[0][k], i),
                                    1e-14 * fmax(1, fabs(ag_tensor_get(hv[0][k], i))));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
    ag_tensor_free(v);
}
END_TEST

/* y = h * p with p hidden; h = x * p made before the segment */
static ag_tensor *times_p(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_mul(t, in[0], ctx);
}

START_TEST(test_parameter_before_and_inside_counted_once)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1.5, -2));
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(2), VALS(3, 0.5));
    ag_set_requires_grad(p, 1);
    for (int create = 0; create < 2; create++) {
        ag_tape_reset(t);
        ag_tensor *h = ag_mul(t, x, p);
        ag_tensor *y = ag_sum(t, ag_recompute(t, times_p, p, 1, &h, 0, NULL), AG_ALL, 0), *g, *gg;
        /* y = sum x p^2: dy/dp = 2 x p, d(sum dy/dp)/dp = 2 x */
        ck_assert_int_eq(ag_grad(t, 1, &y, NULL, 1, &p, &g, create), AG_OK);
        tu_assert_values(g, VALS(9, -2), 2, 0);
        if (!create) continue;
        ag_tensor *s = ag_sum(t, g, AG_ALL, 0);
        ck_assert_msg(ag_grad(t, 1, &s, NULL, 1, &p, &gg, 0) == AG_OK, "%s", ag_tape_errmsg(t));
        tu_assert_values(gg, VALS(3, -4), 2, 0);
    }
    /* and ag_backward into p's grad */
    ag_tape_reset(t);
    ag_tensor *h = ag_mul(t, x, p);
    ck_assert_int_eq(ag_backward(t, ag_sum(t, ag_recompute(t, times_p, p, 1, &h, 0, NULL),
                                           AG_ALL, 0)), AG_OK);
    tu_assert_values(ag_tensor_grad(p), VALS(9, -2), 2, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(p);
}
END_TEST

/* layers [from, to) of outer as two nested segments: inner (its first
   half) recomputed inside the outer one. Both contexts live as long as the
   tape's contents, as ag_recompute asks. */
typedef struct nested {
    segment outer, inner;
} nested;

static ag_tensor *nested_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    nested *n = ctx;
    n->inner = (segment){n->outer.net, n->outer.from, (n->outer.from + n->outer.to) / 2};
    ag_tensor *h = ag_recompute(t, segment_fn, &n->inner, 1, in, 0, NULL);
    return layers(t, n->outer.net, n->inner.to, n->outer.to, h);
}

static ag_tensor *nested_net(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    nested *n = ctx;
    ag_tensor *y = ag_recompute(t, nested_fn, n, 1, in, 0, NULL);
    return ag_sum(t, ag_mul(t, y, y), AG_ALL, 0);
}

static ag_tensor *plain_net(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const mlp *m = ((const nested *)ctx)->outer.net;
    ag_tensor *y = layers(t, m, 0, m->depth, in[0]);
    return ag_sum(t, ag_mul(t, y, y), AG_ALL, 0);
}

START_TEST(test_nested_segments)
{
    mlp m = mlp_new(AG_F64, 4, 3, 9);
    ag_tensor *x = tu_random(2, SHAPE(2, 3), -1, 1, 10), *in[2] = {x, m.w[1]};
    ag_tape *t = ag_tape_new();
    ag_tensor *g1[2], *g2[2];
    nested n = {{&m, 0, m.depth}, {NULL, 0, 0}};
    ag_set_requires_grad(x, 1);
    ck_assert_int_eq(ag_grad(t, 1, (ag_tensor *[]){plain_net(t, &x, &n)}, NULL, 2, in, g1, 0),
                     AG_OK);
    ck_assert_msg(ag_grad(t, 1, (ag_tensor *[]){nested_net(t, &x, &n)}, NULL, 2, in, g2, 0) ==
                  AG_OK, "%s", ag_tape_errmsg(t));
    assert_same_bits(g1[0], g2[0], "x");
    assert_same_bits(g1[1], g2[1], "w1");
    ag_tape_free(t);
    ag_set_requires_grad(x, 0);
    tu_assert_gradchecks(nested_net, &n, 1, &x);    /* create_graph through both levels */
    ag_tensor_free(x);
    mlp_free(&m);
}
END_TEST

/* ---------------------------------------------------------------- memory --- */

START_TEST(test_peak_memory_falls_for_deep_mlp)
{
    /* 24 layers of 64 units, a batch of 256, f64: 128 KB per activation */
    mlp m = mlp_new(AG_F64, 24, 64, 7);
    ag_tensor *x = tu_random(2, SHAPE(256, 64), -1, 1, 8);
    size_t reserved[2], nodes[2];
    double loss[2];
    ag_tensor *g0 = NULL;
    for (int k = 0; k < 2; k++) {
        ag_tape *t = ag_tape_new();
        loss[k] = net_backward(t, &m, x, k ? 4 : 0);
        reserved[k] = ag_tape_reserved(t);
        nodes[k] = ag_tape_size(t);
        if (!k) g0 = ag_tensor_clone(ag_tensor_grad(m.w[0]));
        ag_tape_free(t);
    }
    assert_same_bits(ag_tensor_grad(m.w[0]), g0, "w0");
    ck_assert(memcmp(&loss[0], &loss[1], sizeof loss[0]) == 0);
    printf("recompute: deep MLP tape %zu bytes (%zu nodes) plain, %zu bytes (%zu nodes) "
           "in segments of 4\n", reserved[0], nodes[0], reserved[1], nodes[1]);
    ck_assert_msg(reserved[1] * 3 < reserved[0], "%zu vs %zu", reserved[1], reserved[0]);
    ag_tensor_free(g0);
    ag_tensor_free(x);
    mlp_free(&m);
}
END_TEST

/* ---------------------------------------------------------- grad mode off --- */

START_TEST(test_grad_mode_off_runs_plainly)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(2), VALS(3, 4));
    ag_set_requires_grad(p, 1);
    ag_set_grad_enabled(t, 0);
    ag_tensor *y = ag_recompute(t, times_p, p, 1, &x, 0, NULL);
    tu_assert_values(y, VALS(3, 8), 2, 0);
    ck_assert(!ag_requires_grad(y));
    ck_assert_int_eq(ag_tape_size(t), 0);
    ag_set_grad_enabled(t, 1);
    y = ag_recompute(t, times_p, p, 1, &x, 0, NULL);     /* one node: the segment */
    tu_assert_values(y, VALS(3, 8), 2, 0);
    ck_assert(ag_requires_grad(y));
    ck_assert_int_eq(ag_tape_size(t), 1);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(p);
}
END_TEST

/* ---------------------------------------------------------------- errors --- */

static ag_tensor *failing(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_add(t, in[0], ag_zeros(t, AG_F64, 1, SHAPE(3)));
}

static ag_tensor *uses_tape_tensor(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_mul(t, in[0], ctx);           /* ctx: a tensor of the outer tape */
}

static ag_tensor *returns_null(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)t, (void)in, (void)ctx;
    return NULL;
}

/* The first run gives [2]; later runs [3]. */
static ag_tensor *changes_shape(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    int *runs = ctx;
    ag_tensor *y = ag_mul_scalar(t, in[0], 2);
    return (*runs)++ ? ag_concat(t, 2, (ag_tensor *[]){y, ag_slice(t, y, 0, 0, 1, 1)}, 0) : y;
}

START_TEST(test_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_set_requires_grad(x, 1);
    ag_rng *none[1] = {NULL};
    ag_tensor *null_in[1] = {NULL};
    ck_assert_ptr_null(ag_recompute(NULL, times_p, x, 1, &x, 0, NULL));
    ck_assert_str_eq(ag_last_error(), "ag_recompute: tape is NULL");
    tu_assert_error(t, ag_recompute(t, NULL, NULL, 1, &x, 0, NULL), AG_ERR_ARG, "ag_recompute",
                    "fn is NULL");
    ag_tape_reset(t);
    tu_assert_error(t, ag_recompute(t, times_p, x, 33, &x, 0, NULL), AG_ERR_ARG,
                    "ag_recompute: 33 inputs", "0 to 32");
    ag_tape_reset(t);
    tu_assert_error(t, ag_recompute(t, times_p, x, 1, null_in, 0, NULL), AG_ERR_ARG,
                    "ag_recompute", "input 0 is NULL");
    ag_tape_reset(t);
    tu_assert_error(t, ag_recompute(t, times_p, x, 1, &x, 1, none), AG_ERR_ARG,
                    "ag_recompute", "generator 0 is NULL");
    ag_tape_reset(t);
    tu_assert_error(t, ag_recompute(t, failing, NULL, 1, &x, 0, NULL), AG_ERR_SHAPE,
                    "ag_recompute: the segment: ag_add", "[3]");
    ag_tape_reset(t);
    ag_tensor *own = ag_ones(t, AG_F64, 1, SHAPE(2));
    tu_assert_error(t, ag_recompute(t, uses_tape_tensor, own, 1, &x, 0, NULL), AG_ERR_STATE,
                    "ag_recompute: the segment: ag_mul", "belongs to another tape");
    ag_tape_reset(t);
    tu_assert_error(t, ag_recompute(t, returns_null, NULL, 1, &x, 0, NULL), AG_ERR_STATE,
                    "ag_recompute: the segment", "returned NULL without an error");
    /* a segment that computes something else the second time */
    for (int create = 0; create < 2; create++) {
        ag_tape_reset(t);
        int runs = 0;
        ag_tensor *y = ag_recompute(t, changes_shape, &runs, 1, &x, 0, NULL), *g;
        ck_assert_ptr_nonnull(y);
        ag_tensor *s = ag_sum(t, y, AG_ALL, 0);
        ck_assert_int_eq(ag_grad(t, 1, &s, NULL, 1, &x, &g, create), AG_ERR_STATE);
        ck_assert_msg(strstr(ag_tape_errmsg(t), "ag_recompute: the recomputation gave a [3] f64 "
                             "result, the first run a [2] f64 one") != NULL, "%s",
                      ag_tape_errmsg(t));
    }
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

Suite *suite_recompute(void)
{
    Suite *s = suite_create("recompute");
    TU_ADD(s, test_mlp_gradients_bit_identical);
    TU_ADD(s, test_dropout_mask_drawn_again);
    TU_ADD(s, test_create_graph_gradchecks);
    TU_ADD(s, test_parameter_before_and_inside_counted_once);
    TU_ADD(s, test_nested_segments);
    TU_ADD(s, test_peak_memory_falls_for_deep_mlp);
    TU_ADD(s, test_grad_mode_off_runs_plainly);
    TU_ADD(s, test_errors);
    return s;
}
