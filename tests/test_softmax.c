/*
** test_softmax.c: softmax and log_softmax. Hand-computed values along each
** axis (first, middle, last, negative) in f64 and f32, rows summing to 1,
** stability at x = 1000, -inf entries, 0-d and empty inputs, a backward by
** hand, gradcheck and gradgradcheck in f64 plus a third-order check, and
** the error paths.
*/
#include "test_util.h"

typedef ag_tensor *(*sm_fn)(ag_tape *, ag_tensor *, int);

/* X = log(V) + 0.5, shape [2,3,2], V[0] = [[1,3],[2,3],[5,2]] and
   V[1] = [[1,4],[1,2],[2,2]]: softmax along an axis is V over its sum
   along that axis (the constant 0.5 cancels). */
static const double V[12] = {1, 3, 2, 3, 5, 2, 1, 4, 1, 2, 2, 2};

static ag_tensor *make_x(ag_tape *t, ag_dtype dt)
{
    double xs[12];
    for (int i = 0; i < 12; i++) xs[i] = log(V[i]) + 0.5;
    ag_tensor *x = ag_from_f64(t, dt, 3, SHAPE(2, 3, 2), xs);
    ck_assert_ptr_nonnull(x);
    return x;
}

typedef struct scase {
    int axis;
    double want[12];          /* softmax, flat */
} scase;

static const scase cases[] = {
    {0, {1.0 / 2, 3.0 / 7, 2.0 / 3, 3.0 / 5, 5.0 / 7, 1.0 / 2,
         1.0 / 2, 4.0 / 7, 1.0 / 3, 2.0 / 5, 2.0 / 7, 1.0 / 2}},
    {1, {1.0 / 8, 3.0 / 8, 2.0 / 8, 3.0 / 8, 5.0 / 8, 2.0 / 8,
         1.0 / 4, 1.0 / 2, 1.0 / 4, 1.0 / 4, 1.0 / 2, 1.0 / 4}},
    {2, {1.0 / 4, 3.0 / 4, 2.0 / 5, 3.0 / 5, 5.0 / 7, 2.0 / 7,
         1.0 / 5, 4.0 / 5, 1.0 / 3, 2.0 / 3, 1.0 / 2, 1.0 / 2}},
};

/* Checks softmax (or log_softmax, with take_log) of X along each axis and
   its negative twin against the table, in dtype dt. */
static void check_values(sm_fn fn, int take_log, ag_dtype dt)
{
    for (int c = 0; c < 3; c++)
        for (int neg = 0; neg < 2; neg++) {
            ag_tape *t = ag_tape_new();
            int axis = neg ? cases[c].axis - 3 : cases[c].axis;
            ag_tensor *y = fn(t, make_x(t, dt), axis);
            ck_assert_msg(y != NULL, "axis %d: %s", axis, ag_tape_errmsg(t));
            tu_assert_shape(y, 3, SHAPE(2, 3, 2));
            ck_assert_int_eq(ag_tensor_dtype(y), dt);
            for (int i = 0; i < 12; i++) {
                double want = take_log ? log(cases[c].want[i]) : cases[c].want[i];
                double tol = dt == AG_F64 ? 1e-14 : 1e-6;
                ck_assert_msg(fabs(ag_tensor_get(y, i) - want) <= tol,
                              "%s axis %d element %d: got %.17g, expected %.17g",
                              dt == AG_F64 ? "f64" : "f32", axis, i, ag_tensor_get(y, i), want);
            }
            ag_tape_free(t);
        }
}

START_TEST(test_softmax_values)
{
    check_values(ag_softmax, 0, AG_F64);
    check_values(ag_softmax, 0, AG_F32);
}
END_TEST

START_TEST(test_log_softmax_values)
{
    check_values(ag_log_softmax, 1, AG_F64);
    check_values(ag_log_softmax, 1, AG_F32);
}
END_TEST

START_TEST(test_rows_sum_to_one)
{
    ag_tensor *x = tu_random(3, SHAPE(3, 4, 5), -4, 4, 3);
    for (int axis = -3; axis < 3; axis++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *s1 = ag_sum(t, ag_softmax(t, x, axis), axis, 0);
        ag_tensor *s2 = ag_sum(t, ag_exp(t, ag_log_softmax(t, x, axis)), axis, 0);
        ck_assert_ptr_nonnull(s1);
        ck_assert_ptr_nonnull(s2);
        ck_assert_int_eq(ag_tensor_numel(s1), 60 / ag_tensor_dim(x, axis));
        for (int64_t i = 0; i < ag_tensor_numel(s1); i++) {
            ck_assert_double_eq_tol(ag_tensor_get(s1, i), 1, 1e-14);
            ck_assert_double_eq_tol(ag_tensor_get(s2, i), 1, 1e-14);
        }
        ag_tape_free(t);
    }
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_stable_at_large_values)
{
    for (int dt = AG_F32; dt <= AG_F64; dt++) {
        double tol = dt == AG_F64 ? 1e-12 : 1e-4;
        ag_tape *t = ag_tape_new();
        ag_tensor *same = ag_full(t, (ag_dtype)dt, 1, SHAPE(3), 1000);
        tu_assert_values(ag_softmax(t, same, 0), VALS(1.0 / 3, 1.0 / 3, 1.0 / 3), 3, tol);
        tu_assert_values(ag_log_softmax(t, same, -1), VALS(-log(3), -log(3), -log(3)), 3, tol);
        /* [1000, 999, 0]: log_softmax = x - logsumexp(x), all finite */
        ag_tensor *x = ag_from_f64(t, (ag_dtype)dt, 2, SHAPE(1, 3), VALS(1000, 999, 0));
        ag_tensor *ls = ag_log_softmax(t, x, 1);
        ag_tensor *ref = ag_sub(t, x, ag_logsumexp(t, x, 1, 1));
        double lse = 1000 + log(1 + exp(-1.0));    /* e^-1000 is below rounding */
        tu_assert_values(ls, VALS(1000 - lse, 999 - lse, -lse), 3, tol);
        for (int i = 0; i < 3; i++) {
            ck_assert(isfinite(ag_tensor_get(ls, i)));
            ck_assert_double_eq_tol(ag_tensor_get(ls, i), ag_tensor_get(ref, i), tol);
        }
        tu_assert_values(ag_softmax(t, x, 1), VALS(1 / (1 + exp(-1.0)), exp(-1.0) / (1 + exp(-1.0)),
                                                   0), 3, tol);
        ag_tape_free(t);
    }
}
END_TEST

START_TEST(test_minus_infinity_entries)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_from_f64(t, AG_F64, 1, SHAPE(3), VALS(-INFINITY, 0, -INFINITY));
    tu_assert_values(ag_softmax(t, x, 0), VALS(0, 1, 0), 3, 0);
    ag_tensor *ls = ag_log_softmax(t, x, 0);
    ck_assert(isinf(ag_tensor_get(ls, 0)) && ag_tensor_get(ls, 0) < 0);
    ck_assert_double_eq(ag_tensor_get(ls, 1), 0);
    /* a row of only -inf has no distribution: NaN, as in PyTorch */
    ag_tensor *all = ag_full(t, AG_F64, 1, SHAPE(2), -INFINITY);
    ck_assert(isnan(ag_tensor_get(ag_softmax(t, all, 0), 0)));
    ag_tape_free(t);
}
END_TEST

START_TEST(test_scalar_and_empty)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *s = ag_scalar(t, AG_F64, 7);
    for (int axis = -1; axis <= 0; axis++) {
        ag_tensor *y = ag_softmax(t, s, axis), *ly = ag_log_softmax(t, s, axis);
        tu_assert_shape(y, 0, SHAPE(0));
        ck_assert_double_eq(ag_tensor_get(y, 0), 1);
        ck_assert_double_eq(ag_tensor_get(ly, 0), 0);
    }
    ag_tensor *e = ag_zeros(t, AG_F32, 2, SHAPE(2, 0));
    tu_assert_shape(ag_softmax(t, e, 1), 2, SHAPE(2, 0));
    tu_assert_shape(ag_log_softmax(t, e, 0), 2, SHAPE(2, 0));
    tu_assert_error(t, ag_softmax(t, s, 1), AG_ERR_AXIS, "ag_softmax", "[]");
    ag_tape_free(t);
    /* the gradient of a 0-d softmax is 0 (it is constant) */
    ag_tensor *x = tu_tensor(AG_F64, 0, NULL, VALS(7));
    ag_set_requires_grad(x, 1);
    t = ag_tape_new();
    ag_tensor *g = NULL, *y = ag_softmax(t, x, 0);
    ck_assert_int_eq(ag_grad(t, 1, &y, NULL, 1, &x, &g, 0), AG_OK);
    ck_assert_double_eq_tol(ag_tensor_get(g, 0), 0, 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_backward_by_hand)
{
    /* softmax([0, 0]) = [1/2, 1/2]; d y0 / dx = y0 (e0 - y) = [1/4, -1/4];
       log_softmax: d y0 / dx = e0 - softmax = [1/2, -1/2] */
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 0));
    ag_set_requires_grad(x, 1);
    ag_tensor *pick = ag_from_f64(t, AG_F64, 1, SHAPE(2), VALS(1, 0));
    ag_tensor *y = ag_softmax(t, x, 0), *ly = ag_log_softmax(t, x, 0), *g = NULL;
    ck_assert_int_eq(ag_grad(t, 1, &y, &pick, 1, &x, &g, 0), AG_OK);
    tu_assert_values(g, VALS(0.25, -0.25), 2, 1e-15);
    ck_assert_int_eq(ag_grad(t, 1, &ly, &pick, 1, &x, &g, 0), AG_OK);
    tu_assert_values(g, VALS(0.5, -0.5), 2, 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* ------------------------------------------------------------ gradients --- */

typedef struct sm_ctx {
    sm_fn fn;
    int axis;
} sm_ctx;

static ag_tensor *apply_sm(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const sm_ctx *c = ctx;
    return c->fn(t, in[0], c->axis);
}

START_TEST(test_gradchecks)
{
    ag_tensor *x = tu_random(3, SHAPE(2, 3, 2), -2, 2, 5);
    const sm_fn fns[] = {ag_softmax, ag_log_softmax};
    const int axes[] = {0, 1, 2, -1};
    for (int f = 0; f < 2; f++)
        for (int a = 0; a < 4; a++) {
            sm_ctx c = {fns[f], axes[a]};
            tu_assert_gradchecks(apply_sm, &c, 1, &x);
        }
    ag_tensor_free(x);
}
END_TEST

/* d/dx sum(f(x)^2) with create_graph: checking it to second order checks
   f to third order. */
static ag_tensor *grad_of_square(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *x = in[0], *g = NULL;
    ag_tensor *y = apply_sm(t, in, ctx);
    ag_tensor *loss = ag_sum(t, ag_mul(t, y, y), AG_ALL, 0);
    if (!loss || ag_grad(t, 1, &loss, NULL, 1, &x, &g, 1) != AG_OK) return NULL;
    return g;
}

START_TEST(test_third_order)
{
    ag_tensor *x = tu_random(2, SHAPE(2, 3), -1, 1, 9);
    sm_ctx c1 = {ag_softmax, 1}, c2 = {ag_log_softmax, 0};
    tu_assert_gradchecks(grad_of_square, &c1, 1, &x);
    tu_assert_gradchecks(grad_of_square, &c2, 1, &x);
    ag_tensor_free(x);
}
END_TEST

/* --------------------------------------------------------------- errors --- */

START_TEST(test_errors)
{
    const sm_fn fns[] = {ag_softmax, ag_log_softmax};
    const char *names[] = {"ag_softmax", "ag_log_softmax"};
    ag_tensor *x = tu_tensor(AG_F64, 3, SHAPE(2, 3, 2),
                             VALS(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    for (int f = 0; f < 2; f++) {
        ag_tape *t = ag_tape_new();
        tu_assert_error(t, fns[f](t, NULL, 0), AG_ERR_ARG, names[f], "NULL");
        ag_tape_reset(t);
        tu_assert_error(t, fns[f](t, x, 3), AG_ERR_AXIS, names[f], "[2,3,2]");
        ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "axis 3"));
        ag_tape_reset(t);
        tu_assert_error(t, fns[f](t, x, -4), AG_ERR_AXIS, names[f], "[2,3,2]");
        ag_tape_reset(t);
        tu_assert_error(t, fns[f](t, x, AG_ALL), AG_ERR_AXIS, names[f], "AG_ALL");
        /* sticky: later calls return NULL and keep the first message */
        ck_assert_ptr_null(fns[1 - f](t, x, 0));
        ck_assert_ptr_null(ag_sum(t, x, 0, 0));
        tu_assert_error(t, NULL, AG_ERR_AXIS, names[f], "AG_ALL");
        ag_tape_free(t);
    }
    ag_tensor_free(x);
}
END_TEST

Suite *suite_softmax(void)
{
    Suite *s = suite_create("softmax");
    TU_ADD(s, test_softmax_values);
    TU_ADD(s, test_log_softmax_values);
    TU_ADD(s, test_rows_sum_to_one);
    TU_ADD(s, test_stable_at_large_values);
    TU_ADD(s, test_minus_infinity_entries);
    TU_ADD(s, test_scalar_and_empty);
    TU_ADD(s, test_backward_by_hand);
    TU_ADD(s, test_gradchecks);
    TU_ADD(s, test_third_order);
    TU_ADD(s, test_errors);
    return s;
}
