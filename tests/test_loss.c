/*
** test_loss.c: the elementwise and binary losses (mse, l1, huber, smooth
** l1, bce on probabilities and on logits, hinge), the KL divergence and
** the weight penalties. Every loss against its formula evaluated here, for
** every reduction, in f64 and f32; gradcheck and gradgradcheck in f64 in
** the input (and in the target where the loss is differentiable in it);
** probabilities of exactly 0 and 1, logits of +-1000 and +-1e4 (under
** anomaly mode: no NaN or Inf anywhere, backward included); error paths.
** The class-index losses are in test_loss_class.c.
*/
#include "test_util.h"

#include <stdio.h>

typedef ag_tensor *(*pair_loss)(ag_tape *, ag_tensor *, ag_tensor *, double, ag_reduction);
typedef double (*elem_ref)(double x, double y, double p);

static ag_tensor *mse_w(ag_tape *t, ag_tensor *x, ag_tensor *y, double p, ag_reduction r)
{
    (void)p;
    return ag_mse_loss(t, x, y, r);
}
static ag_tensor *l1_w(ag_tape *t, ag_tensor *x, ag_tensor *y, double p, ag_reduction r)
{
    (void)p;
    return ag_l1_loss(t, x, y, r);
}
static ag_tensor *huber_w(ag_tape *t, ag_tensor *x, ag_tensor *y, double p, ag_reduction r)
{
    return ag_huber_loss(t, x, y, p, r);
}
static ag_tensor *smooth_w(ag_tape *t, ag_tensor *x, ag_tensor *y, double p, ag_reduction r)
{
    return ag_smooth_l1_loss(t, x, y, p, r);
}
static ag_tensor *bce_w(ag_tape *t, ag_tensor *x, ag_tensor *y, double p, ag_reduction r)
{
    (void)p;
    return ag_bce_loss(t, x, y, r);
}
static ag_tensor *bcel_w(ag_tape *t, ag_tensor *x, ag_tensor *y, double p, ag_reduction r)
{
    (void)p;
    return ag_bce_with_logits_loss(t, x, y, r);
}
static ag_tensor *hinge_w(ag_tape *t, ag_tensor *x, ag_tensor *y, double p, ag_reduction r)
{
    (void)p;
    return ag_hinge_loss(t, x, y, r);
}
static ag_tensor *kl_w(ag_tape *t, ag_tensor *x, ag_tensor *y, double p, ag_reduction r)
{
    (void)p;
    return ag_kl_div_loss(t, x, y, r);
}

/* The formulas, one element at a time. */
static double mse_ref(double x, double y, double p) { (void)p; return (x - y) * (x - y); }
static double l1_ref(double x, double y, double p) { (void)p; return fabs(x - y); }
static double huber_ref(double x, double y, double p)
{
    double a = fabs(x - y);
    return a < p ? 0.5 * a * a : p * (a - 0.5 * p);
}
static double smooth_ref(double x, double y, double p)
{
    double a = fabs(x - y);
    if (p == 0) return a;
    return a < p ? 0.5 * a * a / p : a - 0.5 * p;
}
static double bce_ref(double x, double y, double p)
{
    (void)p;
    return -(y * fmax(log(x), -100) + (1 - y) * fmax(log(1 - x), -100));
}
static double bcel_ref(double x, double y, double p)   /* bce(sigmoid(x)), moderate x */
{
    (void)p;
    double s = 1 / (1 + exp(-x));
    return -(y * log(s) + (1 - y) * log(1 - s));
}
static double hinge_ref(double x, double y, double p) { (void)p; return fmax(0, 1 - y * x); }
static double kl_ref(double x, double y, double p)
{
    (void)p;
    return y > 0 ? y * (log(y) - x) : 0;
}

typedef struct elem_case {
    const char *name;
    pair_loss loss;
    elem_ref ref;
    double param;
    double x[6], y[6];          /* shape [2, 3] */
    int target_grad;            /* differentiable in the target */
    int batchmean;              /* takes AG_REDUCTION_BATCHMEAN */
} elem_case;

/* d = x - y = {0.4, -1.6, 3, -0.6, -0.25, -0.4}: no |d| near 0, 0.5 or 1. */
#define REG_X {0.5, -1.2, 2.0, 0.3, -0.7, 1.1}
#define REG_Y {0.1, 0.4, -1.0, 0.9, -0.45, 1.5}

static const elem_case cases[] = {
    {"mse", mse_w, mse_ref, 0, REG_X, REG_Y, 1, 0},
    {"l1", l1_w, l1_ref, 0, REG_X, REG_Y, 1, 0},
    {"huber", huber_w, huber_ref, 1.0, REG_X, REG_Y, 1, 0},
    {"huber2", huber_w, huber_ref, 2.5, REG_X, REG_Y, 1, 0},
    {"smooth_l1", smooth_w, smooth_ref, 0.5, REG_X, REG_Y, 1, 0},
    {"smooth_l1_0", smooth_w, smooth_ref, 0, REG_X, REG_Y, 1, 0},
    {"bce", bce_w, bce_ref, 0, {0.1, 0.7, 0.45, 0.93, 0.2, 0.6}, {0, 1, 0.3, 1, 0.8, 0}, 1, 0},
    {"bce_logits", bcel_w, bcel_ref, 0, {-2.5, 0, 1.3, 3.2, -0.4, 0.8}, {0, 1, 0.3, 1, 0.8, 0},
     1, 0},
    {"hinge", hinge_w, hinge_ref, 0, {0.3, -1.5, 2.2, -0.4, 0.6, 1.6}, {1, 1, -1, -1, -1, 1}, 0,
     0},
    {"kl", kl_w, kl_ref, 0, {-1.2, -0.3, -2.1, -0.7, -1.6, -0.9},
     {0.2, 0.5, 0.3, 0.1, 0.6, 0.3}, 1, 1},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

static const ag_reduction reds[] = {AG_REDUCTION_MEAN, AG_REDUCTION_SUM, AG_REDUCTION_NONE,
                                    AG_REDUCTION_BATCHMEAN};

/* The input as dt holds it (f32 rounds), so the formula sees the same. */
static double as_dtype(double v, ag_dtype dt) { return dt == AG_F32 ? (double)(float)v : v; }

static void check_case_values(const elem_case *c, ag_dtype dt)
{
    for (int r = 0; r < 4; r++) {
        if (reds[r] == AG_REDUCTION_BATCHMEAN && !c->batchmean) continue;
        ag_tape *t = ag_tape_new();
        ag_tensor *x = ag_from_f64(t, dt, 2, SHAPE(2, 3), c->x);
        ag_tensor *y = ag_from_f64(t, dt, 2, SHAPE(2, 3), c->y);
        ag_tensor *out = c->loss(t, x, y, c->param, reds[r]);
        ck_assert_msg(out != NULL, "%s: %s", c->name, ag_tape_errmsg(t));
        ck_assert_int_eq(ag_tensor_dtype(out), dt);
        double e[6], sum = 0;
        for (int i = 0; i < 6; i++)
            sum += e[i] = c->ref(as_dtype(c->x[i], dt), as_dtype(c->y[i], dt), c->param);
        double tol = dt == AG_F64 ? 1e-13 : 2e-6;
        if (reds[r] == AG_REDUCTION_NONE) {
            tu_assert_shape(out, 2, SHAPE(2, 3));
            for (int i = 0; i < 6; i++)
                ck_assert_msg(fabs(ag_tensor_get(out, i) - e[i]) <= tol * (1 + fabs(e[i])),
                              "%s none [%d]: got %.17g, expected %.17g", c->name, i,
                              ag_tensor_get(out, i), e[i]);
        } else {
            double want = reds[r] == AG_REDUCTION_SUM ? sum
                          : reds[r] == AG_REDUCTION_MEAN ? sum / 6 : sum / 2;
            ck_assert_int_eq(ag_tensor_ndim(out), 0);
            ck_assert_msg(fabs(ag_tensor_get(out, 0) - want) <= tol * (1 + fabs(want)),
                          "%s reduction %d: got %.17g, expected %.17g", c->name, (int)reds[r],
                          ag_tensor_get(out, 0), want);
        }
        ag_tape_free(t);
    }
}

START_TEST(test_elementwise_values)
{
    for (int k = 0; k < N_CASES; k++) {
        check_case_values(&cases[k], AG_F64);
        check_case_values(&cases[k], AG_F32);
    }
}
END_TEST

typedef struct grad_ctx {
    const elem_case *c;
    ag_reduction red;
    ag_tensor *target;          /* fixed target, or NULL: it is inputs[1] */
} grad_ctx;

static ag_tensor *elem_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const grad_ctx *g = ctx;
    return g->c->loss(t, in[0], g->target ? g->target : in[1], g->c->param, g->red);
}

START_TEST(test_elementwise_gradchecks)
{
    for (int k = 0; k < N_CASES; k++)
        for (int r = 0; r < 4; r++) {
            const elem_case *c = &cases[k];
            if (reds[r] == AG_REDUCTION_BATCHMEAN && !c->batchmean) continue;
            ag_tensor *in[2] = {tu_tensor(AG_F64, 2, SHAPE(2, 3), c->x),
                                tu_tensor(AG_F64, 2, SHAPE(2, 3), c->y)};
            grad_ctx g = {c, reds[r], c->target_grad ? NULL : in[1]};
            tu_assert_gradchecks(elem_fn, &g, c->target_grad ? 2 : 1, in);
            ag_tensor_free(in[0]);
            ag_tensor_free(in[1]);
        }
}
END_TEST

/* Runs backward on loss and checks x's gradient against want[0..n). */
static void check_grad(ag_tape *t, ag_tensor *loss, ag_tensor *x, const double *want, int n,
                       double tol)
{
    ck_assert_msg(loss != NULL, "%s", ag_tape_errmsg(t));
    ck_assert_msg(ag_backward(t, loss) == AG_OK, "%s", ag_tape_errmsg(t));
    ag_tensor *g = ag_tensor_grad(x);
    for (int i = 0; i < n; i++) {
        ck_assert_msg(isfinite(ag_tensor_get(g, i)), "grad[%d] = %g", i, ag_tensor_get(g, i));
        ck_assert_msg(fabs(ag_tensor_get(g, i) - want[i]) <= tol, "grad[%d]: got %.17g, "
                      "expected %.17g", i, ag_tensor_get(g, i), want[i]);
    }
}

START_TEST(test_huber_smooth_l1_and_l1_relations)
{
    /* huber(delta) == delta * smooth_l1(beta = delta); smooth_l1(0) == l1 */
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(0.5, -1.2, 2.0, 0.3, -0.7, 1.1));
    ag_tensor *y = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(0.1, 0.4, -1.0, 0.9, -0.45, 1.5));
    const double deltas[3] = {0.3, 1.0, 2.0};
    for (int k = 0; k < 3; k++) {
        ag_tensor *h = ag_huber_loss(t, x, y, deltas[k], AG_REDUCTION_NONE);
        ag_tensor *s = ag_smooth_l1_loss(t, x, y, deltas[k], AG_REDUCTION_NONE);
        for (int i = 0; i < 6; i++)
            ck_assert_double_eq_tol(ag_tensor_get(h, i), deltas[k] * ag_tensor_get(s, i), 1e-14);
    }
    ag_tensor *s0 = ag_smooth_l1_loss(t, x, y, 0, AG_REDUCTION_SUM);
    ag_tensor *l1 = ag_l1_loss(t, x, y, AG_REDUCTION_SUM);
    ck_assert_double_eq(ag_tensor_get(s0, 0), ag_tensor_get(l1, 0));
    /* the gradients by hand: huber's is d inside, delta * sign(d) outside */
    ag_set_requires_grad(x, 1);
    check_grad(t, ag_huber_loss(t, x, y, 1.0, AG_REDUCTION_SUM), x,
               VALS(0.4, -1, 1, -0.6, -0.25, -0.4), 6, 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(y);
}
END_TEST

START_TEST(test_bce_exact_zero_and_one)
{
    /* probs exactly 0 and 1: each log clamps at -100, values stay finite
       and the gradient is finite (0 where clamped); anomaly mode on. */
    const double p[6] = {0, 1, 0, 1, 1e-60, 0.5}, y[6] = {0, 0, 1, 1, 1, 0.25};
    const double want[6] = {0, 100, 100, 0, 100, log(2.0)};
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = d ? AG_F32 : AG_F64;
        ag_tape *t = ag_tape_new();
        ag_set_anomaly(t, 1);
        ag_tensor *x = tu_tensor(dt, 1, SHAPE(6), p);
        ag_tensor *yt = ag_from_f64(t, dt, 1, SHAPE(6), y);
        ag_set_requires_grad(x, 1);
        ag_tensor *none = ag_bce_loss(t, x, yt, AG_REDUCTION_NONE);
        ck_assert_msg(none != NULL, "%s", ag_tape_errmsg(t));
        double tol = d ? 1e-5 : 1e-13;
        for (int i = 0; i < 6; i++)
            ck_assert_msg(fabs(ag_tensor_get(none, i) - want[i]) <= tol * (1 + want[i]),
                          "%s [%d]: got %.17g", d ? "f32" : "f64", i, ag_tensor_get(none, i));
        /* d/dp = -y/p + (1 - y)/(1 - p), a clamped log's term taken as 0:
           p = 0, y = 0 keeps 1/(1 - p) = 1; p = 1, y = 1 keeps -1/p = -1;
           at 0.5 it is (p - y) / (p (1 - p)) = 1 */
        check_grad(t, ag_bce_loss(t, x, yt, AG_REDUCTION_SUM), x, VALS(1, 0, 0, -1, 0, 1), 6,
                   1e-6);
        /* a second order through the clamps is finite too */
        ag_zero_grad(x);
        ag_tensor *g;
        ag_tensor *loss = ag_bce_loss(t, x, yt, AG_REDUCTION_SUM);
        ck_assert_int_eq(ag_grad(t, 1, &loss, NULL, 1, &x, &g, 1), AG_OK);
        ck_assert_int_eq(ag_backward(t, ag_sum(t, g, AG_ALL, 0)), AG_OK);
        for (int i = 0; i < 6; i++) ck_assert(isfinite(ag_tensor_get(ag_tensor_grad(x), i)));
        ag_tape_free(t);
        ag_tensor_free(x);
    }
}
END_TEST

START_TEST(test_bce_with_logits_extreme)
{
    /* softplus(x) - x y exactly: 0 for confident right answers, |x| for
       confident wrong ones; gradient sigmoid(x) - y, finite; anomaly on. */
    const double x[7] = {1000, -1000, 1e4, -1e4, 1e4, -1e4, 0};
    const double y[7] = {1, 0, 0, 1, 0.25, 0.75, 0.5};
    const double want[7] = {0, 0, 1e4, 1e4, 0.75e4, 0.75e4, log(2.0)};
    const double grad[7] = {0, 0, 1, -1, 0.75, -0.75, 0};
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = d ? AG_F32 : AG_F64;
        ag_tape *t = ag_tape_new();
        ag_set_anomaly(t, 1);
        ag_tensor *xt = tu_tensor(dt, 1, SHAPE(7), x);
        ag_tensor *yt = ag_from_f64(t, dt, 1, SHAPE(7), y);
        ag_set_requires_grad(xt, 1);
        ag_tensor *none = ag_bce_with_logits_loss(t, xt, yt, AG_REDUCTION_NONE);
        ck_assert_msg(none != NULL, "%s", ag_tape_errmsg(t));
        for (int i = 0; i < 7; i++)
            ck_assert_msg(fabs(ag_tensor_get(none, i) - want[i]) <= 1e-6 * (1 + want[i]),
                          "%s [%d]: got %.17g", d ? "f32" : "f64", i, ag_tensor_get(none, i));
        check_grad(t, ag_bce_with_logits_loss(t, xt, yt, AG_REDUCTION_SUM), xt, grad, 7, 1e-12);
        ag_tape_free(t);
        ag_tensor_free(xt);
    }
}
END_TEST

/* -w [p y log s + (1 - y) log(1 - s)], s = sigmoid(x), w over columns,
   p over columns ([3]) */
static double bcel_weighted_ref(double x, double y, double w, double p)
{
    double s = 1 / (1 + exp(-x));
    return -w * (p * y * log(s) + (1 - y) * log(1 - s));
}

static ag_tensor *bcel_weighted_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_bce_with_logits_loss_weighted(t, in[0], in[1], in[2], in[3],
                                            *(const ag_reduction *)ctx);
}

START_TEST(test_bce_with_logits_weights)
{
    const double x[6] = {-2.5, 0, 1.3, 3.2, -0.4, 0.8}, y[6] = {0, 1, 0.3, 1, 0.8, 0};
    const double w[2] = {0.5, 2}, pw[3] = {3, 0.5, 1.5};   /* w is [2, 1], pw is [3] */
    ag_tensor *in[4] = {tu_tensor(AG_F64, 2, SHAPE(2, 3), x), tu_tensor(AG_F64, 2, SHAPE(2, 3), y),
                        tu_tensor(AG_F64, 2, SHAPE(2, 1), w), tu_tensor(AG_F64, 1, SHAPE(3), pw)};
    ag_tape *t = ag_tape_new();
    double sum = 0;
    ag_tensor *none = bcel_weighted_fn(t, in, &(ag_reduction){AG_REDUCTION_NONE});
    ck_assert_msg(none != NULL, "%s", ag_tape_errmsg(t));
    for (int i = 0; i < 6; i++) {
        double e = bcel_weighted_ref(x[i], y[i], w[i / 3], pw[i % 3]);
        sum += e;
        ck_assert_double_eq_tol(ag_tensor_get(none, i), e, 1e-13);
    }
    ck_assert_double_eq_tol(ag_tensor_get(bcel_weighted_fn(t, in, &(ag_reduction){
                                AG_REDUCTION_SUM}), 0), sum, 1e-13);
    ck_assert_double_eq_tol(ag_tensor_get(bcel_weighted_fn(t, in, &(ag_reduction){
                                AG_REDUCTION_MEAN}), 0), sum / 6, 1e-13);
    /* NULL weights are the plain loss */
    ag_tensor *plain = ag_bce_with_logits_loss(t, in[0], in[1], AG_REDUCTION_SUM);
    ag_tensor *nulls = ag_bce_with_logits_loss_weighted(t, in[0], in[1], NULL, NULL,
                                                        AG_REDUCTION_SUM);
    ck_assert_double_eq(ag_tensor_get(plain, 0), ag_tensor_get(nulls, 0));
    for (int r = 0; r < 3; r++) tu_assert_gradchecks(bcel_weighted_fn, (void *)&reds[r], 4, in);
    ag_tape_free(t);
    for (int i = 0; i < 4; i++) ag_tensor_free(in[i]);
}
END_TEST

static ag_tensor *bce_weighted_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_bce_loss_weighted(t, in[0], in[1], in[2], AG_REDUCTION_MEAN);
}

START_TEST(test_bce_weighted)
{
    const double p[6] = {0.1, 0.7, 0.45, 0.93, 0.2, 0.6}, y[6] = {0, 1, 0.3, 1, 0.8, 0};
    const double w[3] = {0.5, 2, 1.5};
    ag_tensor *in[3] = {tu_tensor(AG_F64, 2, SHAPE(2, 3), p), tu_tensor(AG_F64, 2, SHAPE(2, 3), y),
                        tu_tensor(AG_F64, 1, SHAPE(3), w)};
    ag_tape *t = ag_tape_new();
    ag_tensor *none = ag_bce_loss_weighted(t, in[0], in[1], in[2], AG_REDUCTION_NONE);
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq_tol(ag_tensor_get(none, i), w[i % 3] * bce_ref(p[i], y[i], 0), 1e-13);
    tu_assert_gradchecks(bce_weighted_fn, NULL, 3, in);
    ag_tape_free(t);
    for (int i = 0; i < 3; i++) ag_tensor_free(in[i]);
}
END_TEST

START_TEST(test_kl_div_zero_target_and_log_softmax_input)
{
    /* 0 log 0 = 0: a zero target contributes 0 and its input gets no
       gradient; KL of a distribution with itself is 0 */
    ag_tape *t = ag_tape_new();
    ag_set_anomaly(t, 1);
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(-0.5, -1.5, -2, -0.2));
    ag_tensor *y = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(0, 1, 0.4, 0.6));
    ag_set_requires_grad(x, 1);
    ag_tensor *bm = ag_kl_div_loss(t, x, y, AG_REDUCTION_BATCHMEAN);
    double want = (1 * (0 + 1.5) + 0.4 * (log(0.4) + 2) + 0.6 * (log(0.6) + 0.2)) / 2;
    ck_assert_double_eq_tol(ag_tensor_get(bm, 0), want, 1e-14);
    check_grad(t, bm, x, VALS(0, -0.5, -0.2, -0.3), 4, 1e-15);
    ag_tape_reset(t);
    ag_tensor *q = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(0.3, 0.7, 0.4, 0.6));
    ag_tensor *same = ag_kl_div_loss(t, ag_log(t, q), q, AG_REDUCTION_SUM);
    ck_assert_double_eq_tol(ag_tensor_get(same, 0), 0, 1e-16);
    ag_tensor_free(q);
    ag_tape_reset(t);
    ag_set_anomaly(t, 0);
    /* extreme logits through log_softmax: finite value and gradient */
    ag_tensor *z = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(1e4, -1e4, -1000, 1000));
    ag_set_requires_grad(z, 1);
    ag_tensor *kl = ag_kl_div_loss(t, ag_log_softmax(t, z, 1), y, AG_REDUCTION_BATCHMEAN);
    /* row 0: 1 * (0 - (-2e4)); row 1: 0.4 (log 0.4 + 2000) + 0.6 log 0.6 */
    want = (2e4 + 0.4 * (log(0.4) + 2000) + 0.6 * log(0.6)) / 2;
    ck_assert_double_eq_tol(ag_tensor_get(kl, 0), want, 1e-9);
    /* d/dz = (softmax(z) - y) / 2 per row */
    check_grad(t, kl, z, VALS(0.5, -0.5, -0.2, 0.2), 4, 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(y);
    ag_tensor_free(z);
}
END_TEST

START_TEST(test_hinge_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *s = tu_tensor(AG_F64, 1, SHAPE(4), VALS(2, 0.5, -0.3, -3));
    ag_tensor *y = tu_tensor(AG_F64, 1, SHAPE(4), VALS(1, 1, -1, 1));
    ag_set_requires_grad(s, 1);
    ag_tensor *l = ag_hinge_loss(t, s, y, AG_REDUCTION_SUM);
    ck_assert_double_eq_tol(ag_tensor_get(l, 0), 0 + 0.5 + 0.7 + 4, 1e-15);
    check_grad(t, l, s, VALS(0, -1, 1, -1), 4, 0);
    ag_tape_free(t);
    ag_tensor_free(s);
    ag_tensor_free(y);
}
END_TEST

static ag_tensor *penalty_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ctx ? ag_l2_penalty(t, 2, in) : ag_l1_penalty(t, 2, in);
}

START_TEST(test_penalties)
{
    ag_tensor *p[2] = {tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(0.5, -1.5, 2, -0.25)),
                       tu_tensor(AG_F64, 1, SHAPE(3), VALS(-3, 0.2, 1))};
    ag_tape *t = ag_tape_new();
    ag_tensor *l1 = ag_l1_penalty(t, 2, p), *l2 = ag_l2_penalty(t, 2, p);
    ck_assert_int_eq(ag_tensor_ndim(l1), 0);
    ck_assert_double_eq_tol(ag_tensor_get(l1, 0), 0.5 + 1.5 + 2 + 0.25 + 3 + 0.2 + 1, 1e-14);
    ck_assert_double_eq_tol(ag_tensor_get(l2, 0), 0.25 + 2.25 + 4 + 0.0625 + 9 + 0.04 + 1, 1e-14);
    /* SGD's weight_decay wd adds wd * p to the gradient: (wd / 2) * l2 */
    const double wd = 0.1;
    ag_set_requires_grad(p[0], 1);
    check_grad(t, ag_mul_scalar(t, ag_l2_penalty(t, 1, p), wd / 2), p[0],
               VALS(0.05, -0.15, 0.2, -0.025), 4, 1e-16);
    ag_set_requires_grad(p[0], 0);
    tu_assert_gradchecks(penalty_fn, NULL, 2, p);
    tu_assert_gradchecks(penalty_fn, (void *)1, 2, p);
    ag_tape_free(t);
    ag_tensor_free(p[0]);
    ag_tensor_free(p[1]);
}
END_TEST

/* The error checks every two-tensor loss makes, for one of them. */
static void check_pair_errors(pair_loss f, const char *fn, const char *aname,
                              const char *bname, double param)
{
    char want[160];
    ag_tape *t = ag_tape_new(), *other = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(0.1, 0.2, 0.3, 0.4, 0.5, 0.6));
    ag_tensor *b = tu_tensor(AG_F64, 2, SHAPE(3, 2), VALS(1, 1, -1, -1, 1, 1));
    ag_tensor *b32 = tu_tensor(AG_F32, 2, SHAPE(2, 3), VALS(1, 1, -1, -1, 1, 1));
    snprintf(want, sizeof want, "%s: shapes differ: %s is [2,3], %s is [3,2]", fn, aname, bname);
    tu_assert_error(t, f(t, a, b, param, AG_REDUCTION_MEAN), AG_ERR_SHAPE, want, fn);
    ag_tape_reset(t);
    snprintf(want, sizeof want, "%s: dtypes differ: %s is f64, %s is f32", fn, aname, bname);
    tu_assert_error(t, f(t, a, b32, param, AG_REDUCTION_MEAN), AG_ERR_DTYPE, want, fn);
    ag_tape_reset(t);
    snprintf(want, sizeof want, "%s: %s is NULL", fn, aname);
    tu_assert_error(t, f(t, NULL, b, param, AG_REDUCTION_MEAN), AG_ERR_ARG, want, fn);
    ag_tape_reset(t);
    snprintf(want, sizeof want, "%s: %s is NULL", fn, bname);
    tu_assert_error(t, f(t, a, NULL, param, AG_REDUCTION_MEAN), AG_ERR_ARG, want, fn);
    ag_tape_reset(t);
    tu_assert_error(t, f(t, a, a, param, (ag_reduction)7), AG_ERR_ARG, fn, "reduction 7 is not");
    ag_tape_reset(t);
    ag_tensor *foreign = ag_from_f64(other, AG_F64, 2, SHAPE(2, 3), VALS(1, 1, 1, 1, 1, 1));
    tu_assert_error(t, f(t, a, foreign, param, AG_REDUCTION_MEAN), AG_ERR_STATE, fn,
                    "belongs to another tape");
    /* sticky: the first message stays */
    ck_assert_ptr_null(f(t, a, a, param, AG_REDUCTION_MEAN));
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "another tape"));
    /* no tape: ag_last_error */
    ck_assert_ptr_null(f(NULL, a, a, param, AG_REDUCTION_MEAN));
    snprintf(want, sizeof want, "%s: tape is NULL", fn);
    ck_assert_str_eq(ag_last_error(), want);
    ag_tape_free(t);
    ag_tape_free(other);
    ag_tensor_free(a);
    ag_tensor_free(b);
    ag_tensor_free(b32);
}

START_TEST(test_errors_common)
{
    check_pair_errors(mse_w, "ag_mse_loss", "input", "target", 0);
    check_pair_errors(l1_w, "ag_l1_loss", "input", "target", 0);
    check_pair_errors(huber_w, "ag_huber_loss", "input", "target", 1);
    check_pair_errors(smooth_w, "ag_smooth_l1_loss", "input", "target", 1);
    check_pair_errors(bce_w, "ag_bce_loss", "probs", "target", 0);
    check_pair_errors(bcel_w, "ag_bce_with_logits_loss", "logits", "target", 0);
    check_pair_errors(hinge_w, "ag_hinge_loss", "scores", "labels", 0);
    check_pair_errors(kl_w, "ag_kl_div_loss", "input", "target", 0);
}
END_TEST

START_TEST(test_errors_parameters_and_values)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0.2, 0.5, 0.7));
    ag_tensor *s = tu_tensor(AG_F64, 0, NULL, VALS(0.5));
    tu_assert_error(t, ag_mse_loss(t, a, a, AG_REDUCTION_BATCHMEAN), AG_ERR_ARG, "ag_mse_loss",
                    "AG_REDUCTION_BATCHMEAN is only for ag_kl_div_loss");
    ag_tape_reset(t);
    tu_assert_error(t, ag_kl_div_loss(t, s, s, AG_REDUCTION_BATCHMEAN), AG_ERR_SHAPE,
                    "ag_kl_div_loss", "needs a batch axis, input is []");
    ag_tape_reset(t);
    tu_assert_error(t, ag_huber_loss(t, a, a, 0, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_huber_loss: delta = 0", "positive");
    ag_tape_reset(t);
    tu_assert_error(t, ag_huber_loss(t, a, a, NAN, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_huber_loss: delta = nan", "positive");
    ag_tape_reset(t);
    tu_assert_error(t, ag_smooth_l1_loss(t, a, a, -0.5, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_smooth_l1_loss: beta = -0.5", ">= 0");
    ag_tape_reset(t);
    ag_tensor *bad = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0.2, 1.5, 0.7));
    tu_assert_error(t, ag_bce_loss(t, bad, a, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_bce_loss: probs[1] = 1.5", "outside [0, 1]");
    ag_tape_reset(t);
    ag_tensor_set(bad, 1, NAN);
    tu_assert_error(t, ag_bce_loss(t, bad, a, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_bce_loss: probs[1] = nan", "outside [0, 1]");
    ag_tape_reset(t);
    ag_tensor *labels = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, -1, 0));
    tu_assert_error(t, ag_hinge_loss(t, a, labels, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_hinge_loss: labels[2] = 0", "is not -1 or +1");
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(s);
    ag_tensor_free(bad);
    ag_tensor_free(labels);
}
END_TEST

START_TEST(test_errors_weights_and_penalties)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0.2, 0.5, 0.7));
    ag_tensor *w = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    tu_assert_error(t, ag_bce_with_logits_loss_weighted(t, a, a, NULL, w, AG_REDUCTION_MEAN),
                    AG_ERR_SHAPE, "ag_bce_with_logits_loss_weighted: pos_weight of shape [2]",
                    "does not broadcast to logits's shape [3]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_bce_loss_weighted(t, a, a, w, AG_REDUCTION_MEAN), AG_ERR_SHAPE,
                    "ag_bce_loss_weighted: weight of shape [2]", "probs's shape [3]");
    ag_tape_reset(t);
    ag_tensor *ps[2] = {a, NULL};
    tu_assert_error(t, ag_l1_penalty(t, 0, ps), AG_ERR_ARG, "ag_l1_penalty", "n >= 1");
    ag_tape_reset(t);
    tu_assert_error(t, ag_l2_penalty(t, 2, ps), AG_ERR_ARG, "ag_l2_penalty", "params[1] is NULL");
    ag_tape_reset(t);
    ag_tensor *f32 = tu_tensor(AG_F32, 1, SHAPE(1), VALS(1));
    ps[1] = f32;
    tu_assert_error(t, ag_l2_penalty(t, 2, ps), AG_ERR_DTYPE, "ag_l2_penalty",
                    "params[0] is f64, params[1] is f32");
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(w);
    ag_tensor_free(f32);
}
END_TEST

Suite *suite_loss(void)
{
    Suite *s = suite_create("loss");
    TU_ADD(s, test_elementwise_values);
    TU_ADD(s, test_elementwise_gradchecks);
    TU_ADD(s, test_huber_smooth_l1_and_l1_relations);
    TU_ADD(s, test_bce_exact_zero_and_one);
    TU_ADD(s, test_bce_with_logits_extreme);
    TU_ADD(s, test_bce_with_logits_weights);
    TU_ADD(s, test_bce_weighted);
    TU_ADD(s, test_kl_div_zero_target_and_log_softmax_input);
    TU_ADD(s, test_hinge_by_hand);
    TU_ADD(s, test_penalties);
    TU_ADD(s, test_errors_common);
    TU_ADD(s, test_errors_parameters_and_values);
    TU_ADD(s, test_errors_weights_and_penalties);
    return s;
}
