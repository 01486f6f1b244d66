/*
** test_reduce.c: sum, mean, max, min, var and logsumexp. Hand-computed
** values over every element and over each axis (first, middle, last,
** negative), with and without keepdim, in f64 and f32; gradcheck and
** gradgradcheck in f64, and a third-order check through the keepdim view;
** ties for max and min; the accuracy of long sums; empty axes, 0-d inputs
** and the error paths.
*/
#include "test_util.h"

typedef ag_tensor *(*red_fn)(ag_tape *, ag_tensor *, int, int);

static ag_tensor *var_unbiased(ag_tape *t, ag_tensor *x, int axis, int keepdim)
{
    return ag_var(t, x, axis, 1, keepdim);
}

static ag_tensor *var_biased(ag_tape *t, ag_tensor *x, int axis, int keepdim)
{
    return ag_var(t, x, axis, 0, keepdim);
}

/* The [2,3,2] tensor of the value tests: no ties along any axis.
   x[0] = [[3,-1],[0,5],[2,4]], x[1] = [[-2,7],[6,1],[-3,8]]. */
#define X_SHAPE SHAPE(2, 3, 2)
#define X_VALS VALS(3, -1, 0, 5, 2, 4, -2, 7, 6, 1, -3, 8)

/* One expected reduction of X: its shape without keepdim and its values. */
typedef struct rcase {
    int axis;
    int nd;
    int64_t shape[2];
    double want[6];
} rcase;

/* Checks fn(X, axis, keepdim) against c in dtype dt. */
static void check_case(const char *name, red_fn fn, const rcase *c, ag_dtype dt, int keepdim)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(dt, 3, X_SHAPE, X_VALS);
    ag_tensor *y = fn(t, x, c->axis, keepdim);
    ck_assert_msg(y != NULL, "%s axis %d: %s", name, c->axis, ag_tape_errmsg(t));
    ck_assert_int_eq(ag_tensor_dtype(y), dt);
    if (keepdim) {
        int64_t ks[3] = {2, 3, 2};
        for (int d = 0; d < 3; d++)
            if (c->axis == AG_ALL || d == (c->axis + 3) % 3) ks[d] = 1;
        tu_assert_shape(y, 3, ks);
    } else {
        tu_assert_shape(y, c->nd, c->shape);
    }
    int64_t n = 1;
    for (int d = 0; d < c->nd; d++) n *= c->shape[d];
    ck_assert_int_eq(ag_tensor_numel(y), n);
    for (int64_t i = 0; i < n; i++) {
        double got = ag_tensor_get(y, i), want = c->want[i];
        double tol = (dt == AG_F64 ? 1e-12 : 2e-6) * fmax(1, fabs(want));
        ck_assert_msg(fabs(got - want) <= tol, "%s axis %d keepdim %d %s element %lld: "
                      "got %.17g, expected %.17g", name, c->axis, keepdim,
                      dt == AG_F64 ? "f64" : "f32", (long long)i, got, want);
    }
    ag_tape_free(t);
    ag_tensor_free(x);
}

/* Every case in both dtypes, with and without keepdim. */
static void check_cases(const char *name, red_fn fn, const rcase *cases, int n)
{
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            check_case(name, fn, &cases[i], AG_F64, k);
            check_case(name, fn, &cases[i], AG_F32, k);
        }
}

#define NCASES(a) ((int)(sizeof(a) / sizeof(a)[0]))

START_TEST(test_sum_values)
{
    const rcase cases[] = {
        {AG_ALL, 0, {0}, {30}},
        {0, 2, {3, 2}, {1, 6, 6, 6, -1, 12}},
        {1, 2, {2, 2}, {5, 8, 1, 16}},
        {2, 2, {2, 3}, {2, 5, 6, 5, 7, 5}},
        {-1, 2, {2, 3}, {2, 5, 6, 5, 7, 5}},
        {-2, 2, {2, 2}, {5, 8, 1, 16}},
        {-3, 2, {3, 2}, {1, 6, 6, 6, -1, 12}},
    };
    check_cases("ag_sum", ag_sum, cases, NCASES(cases));
}
END_TEST

START_TEST(test_mean_values)
{
    const rcase cases[] = {
        {AG_ALL, 0, {0}, {2.5}},
        {0, 2, {3, 2}, {0.5, 3, 3, 3, -0.5, 6}},
        {1, 2, {2, 2}, {5.0 / 3, 8.0 / 3, 1.0 / 3, 16.0 / 3}},
        {2, 2, {2, 3}, {1, 2.5, 3, 2.5, 3.5, 2.5}},
        {-1, 2, {2, 3}, {1, 2.5, 3, 2.5, 3.5, 2.5}},
    };
    check_cases("ag_mean", ag_mean, cases, NCASES(cases));
}
END_TEST

START_TEST(test_max_values)
{
    const rcase cases[] = {
        {AG_ALL, 0, {0}, {8}},
        {0, 2, {3, 2}, {3, 7, 6, 5, 2, 8}},
        {1, 2, {2, 2}, {3, 5, 6, 8}},
        {2, 2, {2, 3}, {3, 5, 4, 7, 6, 8}},
        {-2, 2, {2, 2}, {3, 5, 6, 8}},
    };
    check_cases("ag_max", ag_max, cases, NCASES(cases));
}
END_TEST

START_TEST(test_min_values)
{
    const rcase cases[] = {
        {AG_ALL, 0, {0}, {-3}},
        {0, 2, {3, 2}, {-2, -1, 0, 1, -3, 4}},
        {1, 2, {2, 2}, {0, -1, -3, 1}},
        {2, 2, {2, 3}, {-1, 0, 2, -2, 1, -3}},
        {-1, 2, {2, 3}, {-1, 0, 2, -2, 1, -3}},
    };
    check_cases("ag_min", ag_min, cases, NCASES(cases));
}
END_TEST

START_TEST(test_var_values)
{
    /* pairs (a, b): (a-b)^2/2 unbiased; sum of x^2 is 218, mean 2.5 */
    const rcase unbiased[] = {
        {AG_ALL, 0, {0}, {13}},
        {0, 2, {3, 2}, {12.5, 32, 18, 8, 12.5, 8}},
        {1, 2, {2, 2}, {7.0 / 3, 31.0 / 3, 73.0 / 3, 43.0 / 3}},
        {2, 2, {2, 3}, {8, 12.5, 2, 40.5, 12.5, 60.5}},
        {-1, 2, {2, 3}, {8, 12.5, 2, 40.5, 12.5, 60.5}},
    };
    const rcase biased[] = {
        {AG_ALL, 0, {0}, {143.0 / 12}},
        {1, 2, {2, 2}, {14.0 / 9, 62.0 / 9, 146.0 / 9, 86.0 / 9}},
        {-3, 2, {3, 2}, {6.25, 16, 9, 4, 6.25, 4}},
    };
    check_cases("ag_var (correction 1)", var_unbiased, unbiased, NCASES(unbiased));
    check_cases("ag_var (correction 0)", var_biased, biased, NCASES(biased));
}
END_TEST

#define L2(a, b) log(exp(a) + exp(b))
#define L3(a, b, c) log(exp(a) + exp(b) + exp(c))

START_TEST(test_logsumexp_values)
{
    const double all = log(exp(3) + exp(-1) + exp(0) + exp(5) + exp(2) + exp(4) + exp(-2) +
                           exp(7) + exp(6) + exp(1) + exp(-3) + exp(8));
    const rcase cases[] = {
        {AG_ALL, 0, {0}, {all}},
        {0, 2, {3, 2}, {L2(3, -2), L2(-1, 7), L2(0, 6), L2(5, 1), L2(2, -3), L2(4, 8)}},
        {1, 2, {2, 2}, {L3(3, 0, 2), L3(-1, 5, 4), L3(-2, 6, -3), L3(7, 1, 8)}},
        {2, 2, {2, 3}, {L2(3, -1), L2(0, 5), L2(2, 4), L2(-2, 7), L2(6, 1), L2(-3, 8)}},
        {-1, 2, {2, 3}, {L2(3, -1), L2(0, 5), L2(2, 4), L2(-2, 7), L2(6, 1), L2(-3, 8)}},
    };
    check_cases("ag_logsumexp", ag_logsumexp, cases, NCASES(cases));
}
END_TEST

/* ------------------------------------------------------------ gradients --- */

typedef struct red_ctx {
    red_fn fn;
    int axis, keepdim;
} red_ctx;

static ag_tensor *apply_red(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const red_ctx *c = ctx;
    return c->fn(t, in[0], c->axis, c->keepdim);
}

/* Gradcheck and gradgradcheck of fn at x over AG_ALL and axes 0, 1, -1,
   with and without keepdim. */
static void check_grads(red_fn fn, ag_tensor *x)
{
    const int axes[] = {AG_ALL, 0, 1, -1};
    for (int a = 0; a < 4; a++)
        for (int k = 0; k < 2; k++) {
            red_ctx c = {fn, axes[a], k};
            tu_assert_gradchecks(apply_red, &c, 1, &x);
        }
}

START_TEST(test_smooth_reductions_gradchecks)
{
    ag_tensor *x = tu_random(3, X_SHAPE, -1.5, 1.5, 7);
    check_grads(ag_sum, x);
    check_grads(ag_mean, x);
    check_grads(var_unbiased, x);
    check_grads(var_biased, x);
    check_grads(ag_logsumexp, x);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_max_min_gradchecks)
{
    /* X scaled: distinct values 0.3 apart, far from ties for eps 1e-6 */
    ag_tensor *x = tu_tensor(AG_F64, 3, X_SHAPE, X_VALS);
    for (int64_t i = 0; i < 12; i++) ag_tensor_set(x, i, 0.3 * ag_tensor_get(x, i));
    check_grads(ag_max, x);
    check_grads(ag_min, x);
    ag_tensor_free(x);
}
END_TEST

/* d/dx sum(f(x)^2) with create_graph: checking it to second order checks
   f to third order (through the keepdim view when keepdim is off). */
static ag_tensor *grad_of_square(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *x = in[0], *g = NULL;
    ag_tensor *y = apply_red(t, in, ctx);
    ag_tensor *loss = ag_sum(t, ag_mul(t, y, y), AG_ALL, 0);
    if (!loss || ag_grad(t, 1, &loss, NULL, 1, &x, &g, 1) != AG_OK) return NULL;
    return g;
}

START_TEST(test_third_order)
{
    ag_tensor *x = tu_random(3, X_SHAPE, -1, 1, 11);
    const red_fn fns[] = {ag_logsumexp, var_unbiased, ag_mean};
    for (int f = 0; f < 3; f++) {
        red_ctx c = {fns[f], 1, 0};
        tu_assert_gradchecks(grad_of_square, &c, 1, &x);
    }
    ag_tensor_free(x);
}
END_TEST

/* grad of sum(fn(x, axis)) at x (shape nd, sh) compared with want. */
static void check_selection(red_fn fn, int nd, const int64_t *sh, const double *xs,
                            int axis, const double *want)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, nd, sh, xs);
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_sum(t, fn(t, x, axis, 0), AG_ALL, 0);
    ck_assert_int_eq(ag_backward(t, y), AG_OK);
    int64_t n = ag_tensor_numel(x);
    tu_assert_values(ag_tensor_grad(x), want, n, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}

START_TEST(test_max_min_ties_go_to_first)
{
    check_selection(ag_max, 1, SHAPE(4), VALS(1, 5, 5, 2), AG_ALL, VALS(0, 1, 0, 0));
    check_selection(ag_max, 2, SHAPE(2, 3), VALS(5, 5, 1, 2, 7, 7), 1,
                    VALS(1, 0, 0, 0, 1, 0));
    check_selection(ag_max, 2, SHAPE(2, 2), VALS(3, 1, 3, 4), 0, VALS(1, 0, 0, 1));
    check_selection(ag_min, 2, SHAPE(2, 3), VALS(1, 1, 5, 0, 2, 0), -1,
                    VALS(1, 0, 0, 1, 0, 0));
    check_selection(ag_min, 1, SHAPE(4), VALS(2, 0, 0, 1), AG_ALL, VALS(0, 1, 0, 0));
}
END_TEST

START_TEST(test_max_propagates_nan)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, NAN, 3));
    ag_tensor *y = ag_max(t, x, 0, 0);
    ck_assert_ptr_nonnull(y);
    ck_assert(isnan(ag_tensor_get(y, 0)));
    ag_tape_free(t);
    ag_tensor_free(x);
    check_selection(ag_max, 1, SHAPE(3), VALS(1, NAN, 3), 0, VALS(0, 1, 0));
}
END_TEST

START_TEST(test_backward_values_by_hand)
{
    /* mean over axis 1 of [2,2]: each element gets dy/2; var (biased) of
       a row gets 2 (x - mean) / 2 */
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(1, 3, 2, 6));
    ag_set_requires_grad(x, 1);
    ag_tensor *w = tu_tensor(AG_F64, 1, SHAPE(2), VALS(10, 100));
    ag_tensor *m = ag_sum(t, ag_mul(t, ag_mean(t, x, 1, 0), w), AG_ALL, 0);
    ck_assert_int_eq(ag_backward(t, m), AG_OK);
    tu_assert_values(ag_tensor_grad(x), VALS(5, 5, 50, 50), 4, 1e-12);
    ag_zero_grad(x);
    ag_tensor *v = ag_sum(t, ag_mul(t, ag_var(t, x, -1, 0, 0), w), AG_ALL, 0);
    ck_assert_int_eq(ag_backward(t, v), AG_OK);
    tu_assert_values(ag_tensor_grad(x), VALS(-10, 10, -200, 200), 4, 1e-12);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
}
END_TEST

/* ------------------------------------------------------------- accuracy --- */

START_TEST(test_long_sums_are_accurate)
{
    const int64_t n = (int64_t)1 << 20;
    ag_tape *t = ag_tape_new();
    /* f64 pairwise: sum of 2^20 copies of 0.1 is 0.1 * 2^20 (exact) up to
       O(log n) roundings; in-order summation is off by about 1.6e-6 */
    ag_tensor *d = ag_full(t, AG_F64, 1, &n, 0.1);
    ag_tensor *sd = ag_sum(t, d, AG_ALL, 0);
    ck_assert_ptr_nonnull(sd);
    ck_assert_double_eq_tol(ag_tensor_get(sd, 0), 0.1 * (double)n, 1e-9);
    /* f32 accumulates in double: exactly 0.1f * 2^20 after rounding */
    ag_tensor *f = ag_full(t, AG_F32, 1, &n, 0.1);
    ag_tensor *sf = ag_sum(t, f, 0, 0);
    ck_assert_ptr_nonnull(sf);
    ck_assert_float_eq(((float *)ag_tensor_data(sf))[0], 0.1f * (float)n);
    /* the strided path (inner > 1, past one 256-column tile) likewise */
    ag_tensor *g = ag_full(t, AG_F32, 2, SHAPE(4096, 300), 0.1);
    ag_tensor *sg = ag_sum(t, g, 0, 0), *mg = ag_mean(t, g, 0, 1);
    tu_assert_shape(sg, 1, SHAPE(300));
    tu_assert_shape(mg, 2, SHAPE(1, 300));
    for (int64_t j = 0; j < 300; j++) {
        ck_assert_float_eq(((float *)ag_tensor_data(sg))[j], 0.1f * 4096.0f);
        ck_assert_float_eq(((float *)ag_tensor_data(mg))[j], 0.1f);
    }
    ag_tape_free(t);
}
END_TEST

START_TEST(test_strided_sums_past_a_tile)
{
    /* x[i][j][k] = 1000 i + 10 j + k/1000, shape [2,3,300]: sum over axis
       1 is 3000 i + 30 + 3k/1000 */
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(t, AG_F64, 3, SHAPE(2, 3, 300));
    double *px = ag_tensor_data(x);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 300; k++)
                px[(i * 3 + j) * 300 + k] = 1000 * i + 10 * j + k / 1000.0;
    ag_tensor *y = ag_sum(t, x, 1, 0);
    tu_assert_shape(y, 2, SHAPE(2, 300));
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 300; k++)
            ck_assert_double_eq_tol(ag_tensor_get(y, i * 300 + k), 3000 * i + 30 + 3 * k / 1000.0,
                                    1e-9);
    ag_tape_free(t);
}
END_TEST

START_TEST(test_logsumexp_is_stable)
{
    for (int dt = AG_F32; dt <= AG_F64; dt++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *big = ag_full(t, (ag_dtype)dt, 1, SHAPE(3), 1000);
        ag_tensor *y = ag_logsumexp(t, big, 0, 0);
        ck_assert_ptr_nonnull(y);
        ck_assert_double_eq_tol(ag_tensor_get(y, 0), 1000 + log(3), dt == AG_F64 ? 1e-12 : 1e-4);
        ag_tensor *neg = ag_full(t, (ag_dtype)dt, 1, SHAPE(2), -1000);
        ck_assert_double_eq_tol(ag_tensor_get(ag_logsumexp(t, neg, -1, 0), 0),
                                -1000 + log(2), dt == AG_F64 ? 1e-12 : 1e-4);
        ag_tensor *ninf = ag_full(t, (ag_dtype)dt, 1, SHAPE(2), -INFINITY);
        ag_tensor *yn = ag_logsumexp(t, ninf, 0, 0);
        ck_assert(isinf(ag_tensor_get(yn, 0)) && ag_tensor_get(yn, 0) < 0);
        ag_tensor *pinf = ag_from_f64(t, (ag_dtype)dt, 1, SHAPE(2), VALS(INFINITY, 0));
        ag_tensor *yp = ag_logsumexp(t, pinf, 0, 0);
        ck_assert(isinf(ag_tensor_get(yp, 0)) && ag_tensor_get(yp, 0) > 0);
        ag_tape_free(t);
    }
    /* the gradient at x = 1000 is the softmax, 1/3 each */
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1000, 1000, 1000));
    ag_set_requires_grad(x, 1);
    ck_assert_int_eq(ag_backward(t, ag_logsumexp(t, x, AG_ALL, 0)), AG_OK);
    tu_assert_values(ag_tensor_grad(x), VALS(1.0 / 3, 1.0 / 3, 1.0 / 3), 3, 1e-12);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* ----------------------------------------------------------- edge cases --- */

START_TEST(test_empty_axes)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(t, AG_F64, 2, SHAPE(2, 0));
    ag_tensor *s = ag_sum(t, x, 1, 0), *m = ag_mean(t, x, 1, 0), *v = ag_var(t, x, 1, 1, 0);
    tu_assert_values(s, VALS(0, 0), 2, 0);
    tu_assert_shape(m, 1, SHAPE(2));
    ck_assert(isnan(ag_tensor_get(m, 0)) && isnan(ag_tensor_get(m, 1)));
    ck_assert(isnan(ag_tensor_get(v, 0)));
    /* reducing the non-empty axis 0 of [2,0] gives an empty [0] */
    tu_assert_shape(ag_max(t, x, 0, 0), 1, SHAPE(0));
    tu_assert_shape(ag_logsumexp(t, x, 0, 1), 2, SHAPE(1, 0));
    ag_tensor *mean_all = ag_mean(t, x, AG_ALL, 0);
    ck_assert(isnan(ag_tensor_get(mean_all, 0)));
    ck_assert_int_eq(ag_tape_status(t), AG_OK);
    tu_assert_error(t, ag_max(t, x, 1, 0), AG_ERR_SHAPE, "ag_max", "[2,0]");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F32, 2, SHAPE(2, 0));
    tu_assert_error(t, ag_min(t, x, -1, 1), AG_ERR_SHAPE, "ag_min", "[2,0]");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F64, 2, SHAPE(2, 0));
    tu_assert_error(t, ag_logsumexp(t, x, 1, 0), AG_ERR_SHAPE, "ag_logsumexp", "[2,0]");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F64, 2, SHAPE(2, 0));
    tu_assert_error(t, ag_max(t, x, AG_ALL, 0), AG_ERR_SHAPE, "ag_max", "no elements");
    ag_tape_free(t);
}
END_TEST

START_TEST(test_scalar_input)
{
    const red_fn fns[] = {ag_sum, ag_mean, ag_max, ag_min, ag_logsumexp};
    const int axes[] = {0, -1, AG_ALL};
    ag_tensor *x = tu_tensor(AG_F64, 0, NULL, VALS(4));
    ag_set_requires_grad(x, 1);
    for (int f = 0; f < 5; f++)
        for (int a = 0; a < 3; a++)
            for (int k = 0; k < 2; k++) {
                ag_tape *t = ag_tape_new();
                ag_tensor *y = fns[f](t, x, axes[a], k);
                tu_assert_shape(y, 0, SHAPE(0));
                ck_assert_double_eq_tol(ag_tensor_get(y, 0), 4, 1e-12);
                ag_tensor *g = NULL;
                ck_assert_int_eq(ag_grad(t, 1, &y, NULL, 1, &x, &g, 0), AG_OK);
                ck_assert_double_eq_tol(ag_tensor_get(g, 0), 1, 1e-12);
                ag_tape_free(t);
            }
    ag_tape *t = ag_tape_new();
    ck_assert(isnan(ag_tensor_get(ag_var(t, x, 0, 1, 0), 0)));   /* n - correction = 0 */
    ck_assert_double_eq(ag_tensor_get(ag_var(t, x, AG_ALL, 0, 1), 0), 0);
    tu_assert_error(t, ag_sum(t, x, 1, 0), AG_ERR_AXIS, "ag_sum", "[]");
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_var_without_degrees_of_freedom)
{
    /* PyTorch's divisor max(n - correction, 0): 0 gives ss/0 */
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 4));
    ag_tensor *v3 = ag_var(t, x, 0, 3, 0), *v5 = ag_var(t, x, 0, 5, 0);
    ck_assert(isinf(ag_tensor_get(v3, 0)) && ag_tensor_get(v3, 0) > 0);
    ck_assert(isinf(ag_tensor_get(v5, 0)) && ag_tensor_get(v5, 0) > 0);
    ag_tensor *one = tu_tensor(AG_F64, 1, SHAPE(1), VALS(5));
    ck_assert(isnan(ag_tensor_get(ag_var(t, one, 0, 1, 0), 0)));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(one);
}
END_TEST

START_TEST(test_records_only_when_needed)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 3, X_SHAPE, X_VALS);
    const red_fn fns[] = {ag_sum, ag_mean, ag_max, ag_min, var_unbiased, ag_logsumexp};
    for (int f = 0; f < 6; f++) ck_assert_ptr_nonnull(fns[f](t, x, 1, 0));
    ck_assert_uint_eq(ag_tape_size(t), 0);
    ag_set_requires_grad(x, 1);
    for (int f = 0; f < 6; f++) ck_assert_ptr_nonnull(fns[f](t, x, 1, 0));
    ck_assert_uint_eq(ag_tape_size(t), 6);
    ag_set_grad_enabled(t, 0);
    for (int f = 0; f < 6; f++) ck_assert_ptr_nonnull(fns[f](t, x, 1, 0));
    ck_assert_uint_eq(ag_tape_size(t), 6);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* --------------------------------------------------------------- errors --- */

START_TEST(test_errors)
{
    const red_fn fns[] = {ag_sum, ag_mean, ag_max, ag_min, var_unbiased, ag_logsumexp};
    const char *names[] = {"ag_sum", "ag_mean", "ag_max", "ag_min", "ag_var", "ag_logsumexp"};
    ag_tensor *x = tu_tensor(AG_F32, 3, X_SHAPE, X_VALS);
    for (int f = 0; f < 6; f++) {
        ag_tape *t = ag_tape_new();
        tu_assert_error(t, fns[f](t, NULL, 0, 0), AG_ERR_ARG, names[f], "NULL");
        ag_tape_reset(t);
        tu_assert_error(t, fns[f](t, x, 3, 0), AG_ERR_AXIS, names[f], "[2,3,2]");
        ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "axis 3"));
        ag_tape_reset(t);
        tu_assert_error(t, fns[f](t, x, -4, 1), AG_ERR_AXIS, names[f], "[2,3,2]");
        ag_tape_reset(t);
        /* sticky: a valid call on a tape in error keeps the first message */
        tu_assert_error(t, fns[f](t, x, 7, 0), AG_ERR_AXIS, names[f], "axis 7");
        ck_assert_ptr_null(fns[(f + 1) % 6](t, x, 0, 0));
        ck_assert_ptr_null(fns[f](t, x, AG_ALL, 0));
        tu_assert_error(t, NULL, AG_ERR_AXIS, names[f], "axis 7");
        ag_tape_free(t);
    }
    ag_tensor_free(x);
    ck_assert_ptr_null(ag_sum(NULL, NULL, 0, 0));
}
END_TEST

Suite *suite_reduce(void)
{
    Suite *s = suite_create("reduce");
    TU_ADD(s, test_sum_values);
    TU_ADD(s, test_mean_values);
    TU_ADD(s, test_max_values);
    TU_ADD(s, test_min_values);
    TU_ADD(s, test_var_values);
    TU_ADD(s, test_logsumexp_values);
    TU_ADD(s, test_smooth_reductions_gradchecks);
    TU_ADD(s, test_max_min_gradchecks);
    TU_ADD(s, test_third_order);
    TU_ADD(s, test_max_min_ties_go_to_first);
    TU_ADD(s, test_max_propagates_nan);
    TU_ADD(s, test_backward_values_by_hand);
    TU_ADD(s, test_long_sums_are_accurate);
    TU_ADD(s, test_strided_sums_past_a_tile);
    TU_ADD(s, test_logsumexp_is_stable);
    TU_ADD(s, test_empty_axes);
    TU_ADD(s, test_scalar_input);
    TU_ADD(s, test_var_without_degrees_of_freedom);
    TU_ADD(s, test_records_only_when_needed);
    TU_ADD(s, test_errors);
    return s;
}
