/*
** test_loss_class.c: the multi-class losses: cross-entropy from class
** indices and from probabilities, nll, multi-margin. Values against
** PyTorch's formulas evaluated here with plain loops (class weights,
** ignore_index, label smoothing, [N, C, d] and [C] inputs) for every
** reduction in f64 and f32; gradcheck and gradgradcheck in f64; logits of
** +-1000 and +-1e4 under anomaly mode; targets freed right after the call;
** error paths.
*/
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

#define N 3
#define C 4
static const double X[N * C] = {0.2, -1.0, 1.5, 0.3,
                                 -0.7, 0.8, 0.1, -2.0,
                                 1.1, 0.4, -0.3, 0.9};
static const int64_t Y[N] = {2, 0, 3};
static const double W[C] = {0.5, 2.0, 1.0, 1.5};
static const double P[N * C] = {0.1, 0.2, 0.6, 0.1,
                                0.7, 0.1, 0.1, 0.1,
                                0.25, 0.25, 0.0, 0.5};

static const ag_reduction reds[3] = {AG_REDUCTION_MEAN, AG_REDUCTION_SUM, AG_REDUCTION_NONE};

/* log_softmax of row x[0..c) into lp, by the definition. */
static void ref_log_softmax(const double *x, int c, double *lp)
{
    double m = x[0], s = 0;
    for (int j = 1; j < c; j++) m = fmax(m, x[j]);
    for (int j = 0; j < c; j++) s += exp(x[j] - m);
    for (int j = 0; j < c; j++) lp[j] = x[j] - m - log(s);
}

/* What the reference needs to know about a call. */
typedef struct ref_opts {
    const double *weight;        /* [c] or NULL */
    int has_ignore;
    int64_t ignore;
    double smoothing;
    int logits;                  /* 1: x are logits; 0: x are log-probabilities */
} ref_opts;

/*
** PyTorch's cross_entropy / nll_loss for rows x[n*c..] (n rows), targets y:
** per-row losses into none[], returns the reduction red.
*/
static double ref_index_loss(const double *x, int n, int c, const int64_t *y, ref_opts o,
                             ag_reduction red, double *none)
{
    double sum = 0, wsum = 0, lp[16];
    for (int i = 0; i < n; i++) {
        if (o.logits) ref_log_softmax(x + i * c, c, lp);
        else for (int j = 0; j < c; j++) lp[j] = x[i * c + j];
        none[i] = 0;
        if (o.has_ignore && y[i] == o.ignore) continue;
        double wy = o.weight ? o.weight[y[i]] : 1, smooth = 0;
        for (int j = 0; j < c; j++) smooth -= (o.weight ? o.weight[j] : 1) * lp[j];
        none[i] = (1 - o.smoothing) * -wy * lp[y[i]] + o.smoothing / c * smooth;
        sum += none[i];
        wsum += wy;
    }
    return red == AG_REDUCTION_SUM ? sum : sum / wsum;
}

/* Cross-entropy with probability targets: -sum_c w_c p'_c lp_c, mean over rows. */
static double ref_soft_loss(const double *x, const double *p, int n, int c, ref_opts o,
                            ag_reduction red, double *none)
{
    double sum = 0, lp[16];
    for (int i = 0; i < n; i++) {
        ref_log_softmax(x + i * c, c, lp);
        none[i] = 0;
        for (int j = 0; j < c; j++) {
            double pj = (1 - o.smoothing) * p[i * c + j] + o.smoothing / c;
            none[i] -= (o.weight ? o.weight[j] : 1) * pj * lp[j];
        }
        sum += none[i];
    }
    return red == AG_REDUCTION_SUM ? sum : sum / n;
}

/* Asserts out is ref's reduction (red) or its per-row losses (NONE, n of them). */
static void assert_reduced(ag_tape *t, ag_tensor *out, ag_reduction red, double reduced,
                           const double *none, int n, double tol, const char *what)
{
    ck_assert_msg(out != NULL, "%s: %s", what, ag_tape_errmsg(t));
    if (red == AG_REDUCTION_NONE) {
        ck_assert_int_eq(ag_tensor_numel(out), n);
        for (int i = 0; i < n; i++)
            ck_assert_msg(fabs(ag_tensor_get(out, i) - none[i]) <= tol * (1 + fabs(none[i])),
                          "%s none[%d]: got %.17g, expected %.17g", what, i,
                          ag_tensor_get(out, i), none[i]);
    } else {
        ck_assert_int_eq(ag_tensor_ndim(out), 0);
        ck_assert_msg(fabs(ag_tensor_get(out, 0) - reduced) <= tol * (1 + fabs(reduced)),
                      "%s reduction %d: got %.17g, expected %.17g", what, (int)red,
                      ag_tensor_get(out, 0), reduced);
    }
}

static double as_dtype(double v, ag_dtype dt) { return dt == AG_F32 ? (double)(float)v : v; }

START_TEST(test_cross_entropy_and_nll_values)
{
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = d ? AG_F32 : AG_F64;
        double tol = d ? 2e-6 : 1e-13, xr[N * C], none[N];
        for (int i = 0; i < N * C; i++) xr[i] = as_dtype(X[i], dt);
        for (int r = 0; r < 3; r++) {
            ag_tape *t = ag_tape_new();
            ag_tensor *x = ag_from_f64(t, dt, 2, SHAPE(N, C), X);
            double want = ref_index_loss(xr, N, C, Y, (ref_opts){.logits = 1}, reds[r], none);
            ag_tensor *ce = ag_cross_entropy_loss(t, x, Y, reds[r]);
            assert_reduced(t, ce, reds[r], want, none, N, tol, "cross_entropy");
            ck_assert_int_eq(ag_tensor_dtype(ce), dt);
            if (reds[r] == AG_REDUCTION_NONE) tu_assert_shape(ce, 1, SHAPE(N));
            /* nll of log_softmax is the same; nll of raw values picks -x[y] */
            ag_tensor *nll = ag_nll_loss(t, ag_log_softmax(t, x, 1), Y, reds[r]);
            assert_reduced(t, nll, reds[r], want, none, N, tol, "nll(log_softmax)");
            want = ref_index_loss(xr, N, C, Y, (ref_opts){.logits = 0}, reds[r], none);
            assert_reduced(t, ag_nll_loss(t, x, Y, reds[r]), reds[r], want, none, N, tol, "nll");
            ag_tape_free(t);
        }
    }
}
END_TEST

/* Options tried: weight, ignore (target 0 at row 1 ignored), smoothing. */
static const struct { int weight, ignore; double smoothing; } combos[] = {
    {1, 0, 0}, {0, 1, 0}, {1, 1, 0}, {0, 0, 0.1}, {1, 0, 0.2}, {0, 1, 0.3}, {1, 1, 0.2},
};
#define N_COMBOS ((int)(sizeof combos / sizeof combos[0]))
static const int64_t Y_IGN[N] = {2, -100, 3};

START_TEST(test_cross_entropy_options_values)
{
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < N_COMBOS; k++)
            for (int r = 0; r < 3; r++) {
                ag_dtype dt = d ? AG_F32 : AG_F64;
                double xr[N * C], wr[C], none[N], tol = d ? 2e-6 : 1e-13;
                for (int i = 0; i < N * C; i++) xr[i] = as_dtype(X[i], dt);
                for (int i = 0; i < C; i++) wr[i] = as_dtype(W[i], dt);
                ag_tape *t = ag_tape_new();
                ag_tensor *x = ag_from_f64(t, dt, 2, SHAPE(N, C), X);
                ag_class_loss_opts o = {combos[k].weight ? ag_from_f64(t, dt, 1, SHAPE(C), W)
                                                         : NULL,
                                        combos[k].ignore, -100, combos[k].smoothing};
                ref_opts ro = {combos[k].weight ? wr : NULL, combos[k].ignore, -100,
                               combos[k].smoothing, 1};
                const int64_t *y = combos[k].ignore ? Y_IGN : Y;
                double want = ref_index_loss(xr, N, C, y, ro, reds[r], none);
                char what[64];
                snprintf(what, sizeof what, "ce_ex combo %d %s", k, d ? "f32" : "f64");
                assert_reduced(t, ag_cross_entropy_loss_ex(t, x, y, &o, reds[r]), reds[r], want,
                               none, N, tol, what);
                if (combos[k].smoothing == 0) {    /* nll_ex takes weight and ignore */
                    ro.logits = 0;
                    want = ref_index_loss(xr, N, C, y, ro, reds[r], none);
                    assert_reduced(t, ag_nll_loss_ex(t, x, y, &o, reds[r]), reds[r], want, none,
                                   N, tol, "nll_ex");
                }
                ag_tape_free(t);
            }
}
END_TEST

START_TEST(test_options_zero_and_null_are_plain)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(N, C), X);
    ag_class_loss_opts zero = {0};
    double plain = ag_tensor_get(ag_cross_entropy_loss(t, x, Y, AG_REDUCTION_MEAN), 0);
    ck_assert_double_eq(ag_tensor_get(ag_cross_entropy_loss_ex(t, x, Y, &zero,
                                                               AG_REDUCTION_MEAN), 0), plain);
    ck_assert_double_eq(ag_tensor_get(ag_cross_entropy_loss_ex(t, x, Y, NULL,
                                                               AG_REDUCTION_MEAN), 0), plain);
    /* every target ignored: mean is 0/0 = NaN, sum is 0, as PyTorch */
    ag_class_loss_opts ign = {NULL, 1, 7, 0};
    const int64_t all[N] = {7, 7, 7};
    ck_assert(isnan(ag_tensor_get(ag_cross_entropy_loss_ex(t, x, all, &ign,
                                                           AG_REDUCTION_MEAN), 0)));
    ck_assert_double_eq(ag_tensor_get(ag_cross_entropy_loss_ex(t, x, all, &ign,
                                                               AG_REDUCTION_SUM), 0), 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* [2, 3, 2] logits (N = 2, C = 3, d = 2) with targets [2, 2]: the class
   axis is 1; the reference moves it last and uses the row formula. */
static const double X3[12] = {0.3, -0.2, 1.0, 0.5, -0.8, 0.1, 0.7, -1.1, 0.2, 0.6, -0.4, 1.3};
static const int64_t Y3[4] = {0, 2, 1, 1};

static void rows_of_x3(double rows[12])
{
    for (int n = 0; n < 2; n++)
        for (int k = 0; k < 2; k++)
            for (int c = 0; c < 3; c++) rows[(n * 2 + k) * 3 + c] = X3[n * 6 + c * 2 + k];
}

/* The loss and the input's grad of an index loss with every target ignored. */
typedef ag_tensor *(*index_loss_fn)(ag_tape *, ag_tensor *, const int64_t *,
                                    const ag_class_loss_opts *, ag_reduction);

static double all_ignored(index_loss_fn f, ag_dtype dt, int ndim, const int64_t *shape,
                          const double *x0, const int64_t *y, const ag_class_loss_opts *o,
                          ag_reduction red, ag_tensor *weight)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(dt, ndim, shape, x0);
    ag_set_requires_grad(x, 1);
    ag_tensor *loss = f(t, x, y, o, red);
    ck_assert_msg(loss != NULL, "%s", ag_tape_errmsg(t));
    ag_tensor *scalar = red == AG_REDUCTION_NONE ? ag_sum(t, loss, AG_ALL, 0) : loss;
    double v = ag_tensor_get(scalar, 0);
    ck_assert_int_eq(ag_backward(t, scalar), AG_OK);
    ag_tensor *g = ag_tensor_grad(x);
    for (int64_t i = 0; i < ag_tensor_numel(x); i++)
        ck_assert_msg(ag_tensor_get(g, i) == 0, "grad[%lld] is %g", (long long)i,
                      ag_tensor_get(g, i));
    for (int64_t i = 0; weight && i < ag_tensor_numel(weight); i++)
        ck_assert_double_eq(ag_tensor_get(ag_tensor_grad(weight), i), 0);
    if (weight) ag_zero_grad(weight);
    ag_tape_free(t);
    ag_tensor_free(x);
    return v;
}

/* Every target ignored (an all-padding batch): PyTorch 1.13 gives a NaN
   mean and a gradient of exactly 0 (sum and none: 0 and 0), for
   cross-entropy and NLL, with class weights, label smoothing, [N, C, d]
   and [C] inputs, f32 and f64. Before, the mean's gradient was NaN in
   every entry, so one such batch put NaN into the weights. */
START_TEST(test_every_target_ignored_gives_a_zero_gradient)
{
    const int64_t all[N] = {-100, -100, -100}, all4[4] = {-100, -100, -100, -100};
    ag_tensor *w = tu_tensor(AG_F64, 1, SHAPE(C), VALS(1, 2, 3, 0.5));
    ag_set_requires_grad(w, 1);
    ag_class_loss_opts plain = {NULL, 1, -100, 0}, weighted = {w, 1, -100, 0};
    ag_class_loss_opts smooth = {w, 1, -100, 0.1};
    for (int dt = 0; dt < 2; dt++) {
        ag_dtype d = dt ? AG_F32 : AG_F64;
        ag_tensor *wd = dt ? NULL : w;
        const ag_class_loss_opts *os[3] = {&plain, dt ? &plain : &weighted,
                                           dt ? &plain : &smooth};
        for (int k = 0; k < 3; k++) {
            ag_tensor *wk = k ? wd : NULL;
            ck_assert(isnan(all_ignored(ag_cross_entropy_loss_ex, d, 2, SHAPE(N, C), X, all,
                                        os[k], AG_REDUCTION_MEAN, wk)));
            ck_assert_double_eq(all_ignored(ag_cross_entropy_loss_ex, d, 2, SHAPE(N, C), X, all,
                                            os[k], AG_REDUCTION_SUM, wk), 0);
            ck_assert_double_eq(all_ignored(ag_cross_entropy_loss_ex, d, 2, SHAPE(N, C), X, all,
                                            os[k], AG_REDUCTION_NONE, wk), 0);
        }
        ck_assert(isnan(all_ignored(ag_nll_loss_ex, d, 2, SHAPE(N, C), X, all, os[1],
                                    AG_REDUCTION_MEAN, wd)));
        ck_assert(isnan(all_ignored(ag_cross_entropy_loss_ex, d, 3, SHAPE(2, 3, 2), X3, all4,
                                    &plain, AG_REDUCTION_MEAN, NULL)));
        ck_assert(isnan(all_ignored(ag_cross_entropy_loss_ex, d, 1, SHAPE(C), X, all, &plain,
                                    AG_REDUCTION_MEAN, NULL)));
    }
    ag_tensor_free(w);
}
END_TEST

START_TEST(test_higher_dim_and_1d_inputs)
{
    double rows[12], none[4];
    rows_of_x3(rows);
    for (int k = 0; k < 2; k++)
        for (int r = 0; r < 3; r++) {
            ag_tape *t = ag_tape_new();
            ag_tensor *x = ag_from_f64(t, AG_F64, 3, SHAPE(2, 3, 2), X3);
            ag_tensor *w = ag_from_f64(t, AG_F64, 1, SHAPE(3), W);
            ag_class_loss_opts o = {k ? w : NULL, 0, 0, k ? 0.1 : 0};
            ref_opts ro = {k ? W : NULL, 0, 0, k ? 0.1 : 0, 1};
            double want = ref_index_loss(rows, 4, 3, Y3, ro, reds[r], none);
            ag_tensor *ce = ag_cross_entropy_loss_ex(t, x, Y3, &o, reds[r]);
            assert_reduced(t, ce, reds[r], want, none, 4, 1e-13, "ce [2,3,2]");
            if (reds[r] == AG_REDUCTION_NONE) tu_assert_shape(ce, 2, SHAPE(2, 2));
            /* probabilities: one-hot targets of shape [2, 3, 2] */
            double p3[12] = {0}, onehot[12] = {0};
            for (int i = 0; i < 4; i++) onehot[i * 3 + Y3[i]] = 1;
            for (int n = 0; n < 2; n++)
                for (int kk = 0; kk < 2; kk++)
                    for (int c = 0; c < 3; c++)
                        p3[n * 6 + c * 2 + kk] = onehot[(n * 2 + kk) * 3 + c];
            ag_tensor *pt = ag_from_f64(t, AG_F64, 3, SHAPE(2, 3, 2), p3);
            want = ref_soft_loss(rows, onehot, 4, 3, ro, reds[r], none);
            assert_reduced(t, ag_cross_entropy_soft_loss_ex(t, x, pt, &o, reds[r]), reds[r],
                           want, none, 4, 1e-13, "soft [2,3,2]");
            /* a 1-D [C] input is one sample; NONE gives a 0-d loss */
            ag_tensor *x1 = ag_from_f64(t, AG_F64, 1, SHAPE(C), X + C);
            want = ref_index_loss(X + C, 1, C, Y + 1, (ref_opts){.logits = 1}, reds[r], none);
            ag_tensor *ce1 = ag_cross_entropy_loss(t, x1, Y + 1, reds[r]);
            assert_reduced(t, ce1, reds[r], want, none, 1, 1e-13, "ce [C]");
            ck_assert_int_eq(ag_tensor_ndim(ce1), 0);
            ag_tape_free(t);
        }
}
END_TEST

START_TEST(test_soft_cross_entropy_values)
{
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 3; k++)
            for (int r = 0; r < 3; r++) {
                ag_dtype dt = d ? AG_F32 : AG_F64;
                double xr[N * C], pr[N * C], wr[C], none[N], tol = d ? 2e-6 : 1e-13;
                for (int i = 0; i < N * C; i++) xr[i] = as_dtype(X[i], dt), pr[i] = as_dtype(P[i], dt);
                for (int i = 0; i < C; i++) wr[i] = as_dtype(W[i], dt);
                ag_tape *t = ag_tape_new();
                ag_tensor *x = ag_from_f64(t, dt, 2, SHAPE(N, C), X);
                ag_tensor *p = ag_from_f64(t, dt, 2, SHAPE(N, C), P);
                ag_class_loss_opts o = {k == 2 ? ag_from_f64(t, dt, 1, SHAPE(C), W) : NULL, 0,
                                        0, k ? 0.15 : 0};
                ref_opts ro = {k == 2 ? wr : NULL, 0, 0, k ? 0.15 : 0, 1};
                double want = ref_soft_loss(xr, pr, N, C, ro, reds[r], none);
                ag_tensor *out = k ? ag_cross_entropy_soft_loss_ex(t, x, p, &o, reds[r])
                                   : ag_cross_entropy_soft_loss(t, x, p, reds[r]);
                assert_reduced(t, out, reds[r], want, none, N, tol, "soft ce");
                ag_tape_free(t);
            }
    /* one-hot probabilities equal the index form, smoothing included */
    ag_tape *t = ag_tape_new();
    double onehot[N * C] = {0};
    for (int i = 0; i < N; i++) onehot[i * C + Y[i]] = 1;
    ag_tensor *x = ag_from_f64(t, AG_F64, 2, SHAPE(N, C), X);
    ag_tensor *p = ag_from_f64(t, AG_F64, 2, SHAPE(N, C), onehot);
    ag_class_loss_opts o = {NULL, 0, 0, 0.25};
    ck_assert_double_eq_tol(ag_tensor_get(ag_cross_entropy_soft_loss_ex(t, x, p, &o,
                                                                        AG_REDUCTION_MEAN), 0),
                            ag_tensor_get(ag_cross_entropy_loss_ex(t, x, Y, &o,
                                                                   AG_REDUCTION_MEAN), 0),
                            1e-14);
    ag_tape_free(t);
}
END_TEST

static double ref_margin(const double *x, int n, int c, const int64_t *y, double margin,
                         ag_reduction red, double *none)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        none[i] = 0;
        for (int j = 0; j < c; j++)
            if (j != y[i]) none[i] += fmax(0, margin - x[i * c + y[i]] + x[i * c + j]) / c;
        sum += none[i];
    }
    return red == AG_REDUCTION_SUM ? sum : sum / n;
}

START_TEST(test_multi_margin_values)
{
    const double margins[3] = {1.0, 0.5, 2.0};
    for (int d = 0; d < 2; d++)
        for (int m = 0; m < 3; m++)
            for (int r = 0; r < 3; r++) {
                ag_dtype dt = d ? AG_F32 : AG_F64;
                double xr[N * C], none[N], tol = d ? 2e-6 : 1e-14;
                for (int i = 0; i < N * C; i++) xr[i] = as_dtype(X[i], dt);
                ag_tape *t = ag_tape_new();
                ag_tensor *x = ag_from_f64(t, dt, 2, SHAPE(N, C), X);
                double want = ref_margin(xr, N, C, Y, margins[m], reds[r], none);
                assert_reduced(t, ag_multi_margin_loss(t, x, Y, margins[m], reds[r]), reds[r],
                               want, none, N, tol, "multi_margin");
                ag_tensor *x1 = ag_from_f64(t, dt, 1, SHAPE(C), X);
                want = ref_margin(xr, 1, C, Y, margins[m], reds[r], none);
                assert_reduced(t, ag_multi_margin_loss(t, x1, Y, margins[m], reds[r]), reds[r],
                               want, none, 1, tol, "multi_margin [C]");
                ag_tape_free(t);
            }
}
END_TEST

/* Runs backward and checks x's gradient against want[0..n). */
static void check_grad(ag_tape *t, ag_tensor *loss, ag_tensor *x, const double *want, int n,
                       double tol)
{
    ck_assert_msg(loss != NULL, "%s", ag_tape_errmsg(t));
    ck_assert_msg(ag_backward(t, loss) == AG_OK, "%s", ag_tape_errmsg(t));
    for (int i = 0; i < n; i++) {
        double g = ag_tensor_get(ag_tensor_grad(x), i);
        ck_assert_msg(isfinite(g) && fabs(g - want[i]) <= tol, "grad[%d]: got %.17g, expected "
                      "%.17g", i, g, want[i]);
    }
}

START_TEST(test_extreme_logits)
{
    /* lp rows: {0, -2e4, -1e4}, {-2000, 0, -1000}, {-ln2, -ln2, -2e4-ln2}.
       Anomaly mode: no NaN or Inf in any result or gradient. */
    const double x[9] = {1e4, -1e4, 0, -1000, 1000, 0, 1e4, 1e4, -1e4};
    const int64_t y[3] = {0, 0, 2};
    const double p[9] = {0, 1, 0, 0.5, 0.5, 0, 0.2, 0.3, 0.5};
    const double ln2 = log(2.0);
    const double ce[3] = {0, 2000, 2e4 + ln2}, soft[3] = {2e4, 1000, 1e4 + ln2};
    /* d mean / dx = (softmax - target) / 3 */
    const double gce[9] = {0, 0, 0, -1. / 3, 1. / 3, 0, 1. / 6, 1. / 6, -1. / 3};
    const double gsoft[9] = {1. / 3, -1. / 3, 0, -1. / 6, 1. / 6, 0, 0.1, 0.2 / 3, -0.5 / 3};
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = d ? AG_F32 : AG_F64;
        double tol = d ? 1e-6 : 1e-14;
        ag_tape *t = ag_tape_new();
        ag_set_anomaly(t, 1);
        ag_tensor *xt = tu_tensor(dt, 2, SHAPE(3, 3), x);
        ag_tensor *pt = ag_from_f64(t, dt, 2, SHAPE(3, 3), p);
        ag_set_requires_grad(xt, 1);
        assert_reduced(t, ag_cross_entropy_loss(t, xt, y, AG_REDUCTION_NONE), AG_REDUCTION_NONE,
                       0, ce, 3, tol, "extreme ce");
        assert_reduced(t, ag_nll_loss(t, ag_log_softmax(t, xt, 1), y, AG_REDUCTION_NONE),
                       AG_REDUCTION_NONE, 0, ce, 3, tol, "extreme nll");
        assert_reduced(t, ag_cross_entropy_soft_loss(t, xt, pt, AG_REDUCTION_NONE),
                       AG_REDUCTION_NONE, 0, soft, 3, tol, "extreme soft");
        check_grad(t, ag_cross_entropy_loss(t, xt, y, AG_REDUCTION_MEAN), xt, gce, 9, 1e-7);
        ag_zero_grad(xt);
        check_grad(t, ag_cross_entropy_soft_loss(t, xt, pt, AG_REDUCTION_MEAN), xt, gsoft, 9,
                   1e-7);
        ag_zero_grad(xt);
        ag_class_loss_opts o = {NULL, 0, 0, 0.1};    /* smoothing sums every lp: finite */
        ag_tensor *sm = ag_cross_entropy_loss_ex(t, xt, y, &o, AG_REDUCTION_SUM);
        ck_assert_msg(sm && isfinite(ag_tensor_get(sm, 0)), "%s", ag_tape_errmsg(t));
        ck_assert_int_eq(ag_backward(t, sm), AG_OK);
        ag_tape_free(t);
        ag_tensor_free(xt);
    }
}
END_TEST

START_TEST(test_targets_copied_and_backward_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(N, C), X);
    ag_set_requires_grad(x, 1);
    int64_t *y = malloc(sizeof *y * N);
    ck_assert_ptr_nonnull(y);
    memcpy(y, Y, sizeof *y * N);
    ag_tensor *loss = ag_cross_entropy_loss(t, x, y, AG_REDUCTION_MEAN);
    for (int i = 0; i < N; i++) y[i] = 1;           /* the loss must not see this */
    free(y);
    double want[N * C], lp[C];
    for (int i = 0; i < N; i++) {
        ref_log_softmax(X + i * C, C, lp);
        for (int j = 0; j < C; j++) want[i * C + j] = (exp(lp[j]) - (j == Y[i])) / N;
    }
    check_grad(t, loss, x, want, N * C, 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

enum { K_CE, K_NLL, K_SOFT, K_MARGIN };

typedef struct cls_ctx {
    int kind;
    const int64_t *targets;
    ag_class_loss_opts opts;
    int weighted;                /* the class weight is the last input */
    ag_reduction red;
} cls_ctx;

/* inputs: x, then probs (K_SOFT), then the class weight (weighted). */
static ag_tensor *cls_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const cls_ctx *c = ctx;
    ag_class_loss_opts o = c->opts;
    ag_tensor *probs = c->kind == K_SOFT ? in[1] : NULL;
    if (c->weighted) o.weight = in[c->kind == K_SOFT ? 2 : 1];
    switch (c->kind) {
    case K_CE: return ag_cross_entropy_loss_ex(t, in[0], c->targets, &o, c->red);
    case K_NLL: return ag_nll_loss_ex(t, in[0], c->targets, &o, c->red);
    case K_SOFT: return ag_cross_entropy_soft_loss_ex(t, in[0], probs, &o, c->red);
    default: return ag_multi_margin_loss(t, in[0], c->targets, 1.0, c->red);
    }
}

START_TEST(test_class_gradchecks)
{
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(N, C), X);
    ag_tensor *p = tu_tensor(AG_F64, 2, SHAPE(N, C), P);
    ag_tensor *w = tu_tensor(AG_F64, 1, SHAPE(C), W);
    ag_tensor *x3 = tu_tensor(AG_F64, 3, SHAPE(2, 3, 2), X3);
    ag_tensor *w3 = tu_tensor(AG_F64, 1, SHAPE(3), W);
    for (int r = 0; r < 3; r++) {
        ag_reduction red = reds[r];
        ag_tensor *xw[2] = {x, w}, *xpw[3] = {x, p, w}, *x3w[2] = {x3, w3};
        cls_ctx plain = {K_CE, Y, {0}, 0, red};
        tu_assert_gradchecks(cls_fn, &plain, 1, xw);
        cls_ctx full = {K_CE, Y_IGN, {NULL, 1, -100, 0.2}, 1, red};
        tu_assert_gradchecks(cls_fn, &full, 2, xw);
        cls_ctx kdim = {K_CE, Y3, {NULL, 0, 0, 0.1}, 1, red};
        tu_assert_gradchecks(cls_fn, &kdim, 2, x3w);
        cls_ctx nll = {K_NLL, Y_IGN, {NULL, 1, -100, 0}, 1, red};
        tu_assert_gradchecks(cls_fn, &nll, 2, xw);
        cls_ctx soft = {K_SOFT, NULL, {NULL, 0, 0, 0.1}, 1, red};
        tu_assert_gradchecks(cls_fn, &soft, 3, xpw);
        cls_ctx margin = {K_MARGIN, Y, {0}, 0, red};   /* no hinge within 0.2 of its kink */
        tu_assert_gradchecks(cls_fn, &margin, 1, xw);
    }
    ag_tensor_free(x);
    ag_tensor_free(p);
    ag_tensor_free(w);
    ag_tensor_free(x3);
    ag_tensor_free(w3);
}
END_TEST

START_TEST(test_class_errors_targets_and_shapes)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(N, C), X);
    ag_tensor *s = tu_tensor(AG_F64, 0, NULL, VALS(1));
    ag_tensor *pt = tu_tensor(AG_F64, 2, SHAPE(C, N), P);
    ag_tensor *x3 = tu_tensor(AG_F64, 3, SHAPE(2, 3, 2), X3);
    tu_assert_error(t, ag_cross_entropy_loss(t, x, (int64_t[]){2, 4, 0}, AG_REDUCTION_MEAN),
                    AG_ERR_ARG, "ag_cross_entropy_loss: targets[1] = 4", "out of range [0, 4)");
    ag_tape_reset(t);
    /* -100 is ignored by default (test_loss_parity); with another ignore
       index, and in multi_margin (which ignores nothing), it is out of range */
    const ag_class_loss_opts other = {NULL, 1, 0, 0};
    tu_assert_error(t, ag_nll_loss_ex(t, x, Y_IGN, &other, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_nll_loss_ex: targets[1] = -100", "out of range [0, 4)");
    ag_tape_reset(t);
    tu_assert_error(t, ag_multi_margin_loss(t, x, Y_IGN, 1, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_multi_margin_loss: targets[1] = -100", "out of range [0, 4)");
    ag_tape_reset(t);
    tu_assert_error(t, ag_multi_margin_loss(t, x, (int64_t[]){0, 1, -1}, 1, AG_REDUCTION_MEAN),
                    AG_ERR_ARG, "ag_multi_margin_loss: targets[2] = -1", "out of range");
    ag_tape_reset(t);
    tu_assert_error(t, ag_cross_entropy_loss(t, x, NULL, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_cross_entropy_loss: targets is NULL", "");
    ag_tape_reset(t);
    tu_assert_error(t, ag_cross_entropy_loss(t, NULL, Y, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_cross_entropy_loss: logits is NULL", "");
    ag_tape_reset(t);
    tu_assert_error(t, ag_cross_entropy_loss(t, s, Y, AG_REDUCTION_MEAN), AG_ERR_SHAPE,
                    "ag_cross_entropy_loss: logits is []", "needs a class axis");
    ag_tape_reset(t);
    tu_assert_error(t, ag_cross_entropy_soft_loss(t, x, pt, AG_REDUCTION_MEAN), AG_ERR_SHAPE,
                    "ag_cross_entropy_soft_loss: shapes differ", "logits is [3,4], probs is [4,3]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_multi_margin_loss(t, x3, Y3, 1, AG_REDUCTION_MEAN), AG_ERR_SHAPE,
                    "ag_multi_margin_loss: scores is [2,3,2]", "expected [N, C] or [C]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_multi_margin_loss(t, x, Y, NAN, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_multi_margin_loss: margin = nan", "not finite");
    ag_tape_reset(t);
    ck_assert_ptr_null(ag_cross_entropy_loss(NULL, x, Y, AG_REDUCTION_MEAN));
    ck_assert_str_eq(ag_last_error(), "ag_cross_entropy_loss: tape is NULL");
    /* sticky: a tape in error keeps its first message */
    ck_assert_ptr_null(ag_nll_loss(t, s, Y, AG_REDUCTION_MEAN));
    ck_assert_ptr_null(ag_cross_entropy_loss(t, x, Y, AG_REDUCTION_MEAN));
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_nll_loss: logp is []"));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(s);
    ag_tensor_free(pt);
    ag_tensor_free(x3);
}
END_TEST

START_TEST(test_class_errors_options_and_reductions)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(N, C), X);
    ag_tensor *w3 = tu_tensor(AG_F64, 1, SHAPE(3), W);
    ag_tensor *w32 = tu_tensor(AG_F32, 1, SHAPE(C), W);
    tu_assert_error(t, ag_cross_entropy_loss(t, x, Y, AG_REDUCTION_BATCHMEAN), AG_ERR_ARG,
                    "ag_cross_entropy_loss", "only for ag_kl_div_loss");
    ag_tape_reset(t);
    tu_assert_error(t, ag_nll_loss(t, x, Y, (ag_reduction)-1), AG_ERR_ARG, "ag_nll_loss",
                    "reduction -1 is not one of");
    ag_tape_reset(t);
    ag_class_loss_opts o = {w3, 0, 0, 0};
    tu_assert_error(t, ag_cross_entropy_loss_ex(t, x, Y, &o, AG_REDUCTION_MEAN), AG_ERR_SHAPE,
                    "ag_cross_entropy_loss_ex: weight is [3], expected [4]", "input [3,4]");
    ag_tape_reset(t);
    o.weight = w32;
    tu_assert_error(t, ag_nll_loss_ex(t, x, Y, &o, AG_REDUCTION_MEAN), AG_ERR_DTYPE,
                    "ag_nll_loss_ex: dtypes differ", "weight is f32, input is f64");
    ag_tape_reset(t);
    o = (ag_class_loss_opts){NULL, 0, 0, 1.5};
    tu_assert_error(t, ag_cross_entropy_loss_ex(t, x, Y, &o, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_cross_entropy_loss_ex: label_smoothing = 1.5", "outside [0, 1]");
    ag_tape_reset(t);
    o.label_smoothing = 0.1;
    tu_assert_error(t, ag_nll_loss_ex(t, x, Y, &o, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_nll_loss_ex: label_smoothing = 0.1", "cross-entropy only");
    ag_tape_reset(t);
    o = (ag_class_loss_opts){NULL, 1, -100, 0};
    tu_assert_error(t, ag_cross_entropy_soft_loss_ex(t, x, x, &o, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_cross_entropy_soft_loss_ex: ignore_index", "probability targets");
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w3);
    ag_tensor_free(w32);
}
END_TEST

Suite *suite_loss_class(void)
{
    Suite *s = suite_create("loss_class");
    TU_ADD(s, test_cross_entropy_and_nll_values);
    TU_ADD(s, test_cross_entropy_options_values);
    TU_ADD(s, test_options_zero_and_null_are_plain);
    TU_ADD(s, test_higher_dim_and_1d_inputs);
    TU_ADD(s, test_soft_cross_entropy_values);
    TU_ADD(s, test_multi_margin_values);
    TU_ADD(s, test_extreme_logits);
    TU_ADD(s, test_targets_copied_and_backward_by_hand);
    TU_ADD(s, test_every_target_ignored_gives_a_zero_gradient);
    TU_ADD(s, test_class_gradchecks);
    TU_ADD(s, test_class_errors_targets_and_shapes);
    TU_ADD(s, test_class_errors_options_and_reductions);
    return s;
}
