/*
** test_plan_scalar.c: a plan's flat scalar program (autograd/plan_scalar.c)
** for each of its instructions: the elementwise functions (exp, expm1, log,
** log1p, tanh, sigmoid, erf, sin, cos, sqrt, abs), pow_scalar, reciprocal,
** steps run as they are (minimum, maximum, softplus, a comparison), constants
** computed at compile time and repeated instructions computed once. Each
** replay gives the value and gradients of a fresh recording bit for bit at
** several points, in f64 and f32, and the value of a naive C formula.
*/
#include "test_util.h"
#include "ag_internal.h"
#include "plan_internal.h"

#include <string.h>

static void same_bits(const ag_tensor *a, const ag_tensor *b)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(a->dtype, b->dtype);
    ck_assert(agi_same_shape(a, b));
    ck_assert_int_eq(memcmp(a->data, b->data, agi_bytes(a->numel, a->dtype)), 0);
}

/* Replays plan p of fn at each point pts[k][0..n) and compares with a fresh
   recording and ag_grad; returns the plan's last output. */
static double replay_vs_fresh(ag_plan *p, ag_plan_fn fn, ag_tensor **x, int n,
                              const double (*pts)[3], int n_pts)
{
    ag_tape *t = ag_tape_new();
    for (int k = 0; k < n_pts; k++) {
        for (int i = 0; i < n; i++) ag_tensor_set(x[i], 0, pts[k][i]);
        ck_assert_int_eq(ag_plan_run(p), AG_OK);
        ag_tape_reset(t);
        ag_tensor *y = fn(t, x), *g[3];
        ck_assert_int_eq(ag_grad(t, 1, &y, NULL, n, x, g, 0), AG_OK);
        same_bits(ag_plan_output(p), y);
        for (int i = 0; i < n; i++) same_bits(ag_plan_grad(p, i), g[i]);
    }
    ag_tape_free(t);
    return ag_tensor_get(ag_plan_output(p), 0);
}

/* The functions with an instruction of their own (ctx: x[2], x[0] > 0). */
static ag_tensor *functions(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx, *a = x[0], *b = x[1];
    ag_tensor *u = ag_add(t, ag_exp(t, b), ag_expm1(t, ag_mul_scalar(t, a, 0.5)));
    u = ag_add(t, u, ag_mul(t, ag_log(t, a), ag_log1p(t, a)));
    u = ag_add(t, u, ag_mul(t, ag_tanh(t, b), ag_sigmoid(t, a)));
    u = ag_add(t, u, ag_sub(t, ag_erf(t, b), ag_mul(t, ag_sin(t, a), ag_cos(t, b))));
    u = ag_add(t, u, ag_div(t, ag_sqrt(t, a), ag_add_scalar(t, ag_abs(t, b), 1)));
    return ag_add(t, u, ag_add(t, ag_pow_scalar(t, a, 2.5), ag_reciprocal(t, ag_add_scalar(t, a, 1))));
}

static double functions_naive(double a, double b)
{
    return exp(b) + expm1(0.5 * a) + log(a) * log1p(a) + tanh(b) / (1 + exp(-a)) + erf(b) -
           sin(a) * cos(b) + sqrt(a) / (fabs(b) + 1) + pow(a, 2.5) + 1 / (a + 1);
}

static void check_functions(ag_dtype dt)
{
    ag_tensor *x[2] = {ag_scalar(NULL, dt, 0.7), ag_scalar(NULL, dt, -0.4)};
    for (int i = 0; i < 2; i++) ag_set_requires_grad(x[i], 1);
    ag_plan *p = ag_plan_capture(functions, x, 2, x);
    ck_assert_msg(p != NULL, "%s", ag_last_error());
    ck_assert(agi_plan_compiled(p));
    const double pts[][3] = {{0.7, -0.4}, {2.5, 1.25}, {0.01, -3}, {1e-4, 0}, {40, 0.3}};
    double y = replay_vs_fresh(p, functions, x, 2, pts, 5);
    double want = functions_naive(40, 0.3);
    ck_assert_double_eq_tol(y, want, (dt == AG_F64 ? 1e-12 : 1e-5) * fabs(want));
    ag_plan_free(p);
    for (int i = 0; i < 2; i++) ag_tensor_free(x[i]);
}

START_TEST(test_plan_scalar_functions_bit_identical_f64) { check_functions(AG_F64); }
END_TEST

START_TEST(test_plan_scalar_functions_bit_identical_f32) { check_functions(AG_F32); }
END_TEST

/* Ops run as steps (no instruction of their own): minimum, maximum,
   softplus, a comparison mask (ctx: x[2]). */
static ag_tensor *stepped(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx, *a = x[0], *b = x[1];
    ag_tensor *u = ag_add(t, ag_minimum(t, a, b), ag_maximum(t, a, b));
    return ag_add(t, u, ag_mul(t, ag_softplus(t, b), ag_gt(t, a, b)));
}

static void check_stepped(ag_dtype dt)
{
    ag_tensor *x[2] = {ag_scalar(NULL, dt, 1.5), ag_scalar(NULL, dt, 0.5)};
    for (int i = 0; i < 2; i++) ag_set_requires_grad(x[i], 1);
    ag_plan *p = ag_plan_capture(stepped, x, 2, x);
    ck_assert_msg(p != NULL, "%s", ag_last_error());
    ck_assert(agi_plan_compiled(p));
    const double pts[][3] = {{1.5, 0.5}, {0.25, 2}, {3, 3}, {2, -1.5}};
    double y = replay_vs_fresh(p, stepped, x, 2, pts, 4);
    double want = -1.5 + 2 + log1p(exp(-1.5));
    ck_assert_double_eq_tol(y, want, (dt == AG_F64 ? 1e-12 : 1e-5) * fabs(want));
    ag_plan_free(p);
    for (int i = 0; i < 2; i++) ag_tensor_free(x[i]);
}

START_TEST(test_plan_scalar_steps_bit_identical_f64) { check_stepped(AG_F64); }
END_TEST

START_TEST(test_plan_scalar_steps_bit_identical_f32) { check_stepped(AG_F32); }
END_TEST

/* x*x's gradient is g*x twice (computed once), and 100 * seed a constant. */
static ag_tensor *repeats(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx;
    return ag_mul_scalar(t, ag_mul(t, x[0], x[0]), 100);
}

START_TEST(test_plan_scalar_program_drops_known_and_repeated_work)
{
    ag_tensor *x[1] = {ag_scalar(NULL, AG_F64, 3)};
    ag_set_requires_grad(x[0], 1);
    ag_plan *p = ag_plan_capture(repeats, x, 1, x);
    ck_assert_msg(p != NULL, "%s", ag_last_error());
    /* steps: x*x, *100; 1*100, g*x, g*x, the sum of both halves */
    ck_assert_uint_eq(ag_plan_size(p), 6);
    ck_assert_uint_eq(agi_plan_scalar_size(p), 4);   /* x*x, *100, g*x, g*x + g*x */
    const double pts[][3] = {{3}, {-0.5}, {1e10}};
    double y = replay_vs_fresh(p, repeats, x, 1, pts, 3);
    ck_assert(y == 1e22);
    ck_assert(ag_tensor_get(ag_plan_grad(p, 0), 0) == 2e12);
    ag_plan_free(p);
    ag_tensor_free(x[0]);
}
END_TEST

/* An input read through views only (ctx: x[1], 0-d). */
static ag_tensor *through_views(ag_tape *t, void *ctx)
{
    ag_tensor *const *x = ctx;
    ag_tensor *v = ag_reshape(t, x[0], 1, (int64_t[]){1});
    return ag_mul(t, ag_square(t, v), ag_unsqueeze(t, x[0], 0));
}

START_TEST(test_plan_scalar_input_read_through_a_view)
{
    ag_tensor *x[1] = {ag_scalar(NULL, AG_F32, 2)};
    ag_set_requires_grad(x[0], 1);
    ag_plan *p = ag_plan_capture(through_views, x, 1, x);
    ck_assert_msg(p != NULL, "%s", ag_last_error());
    ck_assert(agi_plan_compiled(p));
    ck_assert(ag_tensor_get(ag_plan_output(p), 0) == 8);
    const double pts[][3] = {{3}, {-1.5}};
    double y = replay_vs_fresh(p, through_views, x, 1, pts, 2);
    ck_assert(y == -3.375);                              /* (-1.5)^3, not 2's cube */
    ck_assert(ag_tensor_get(ag_plan_grad(p, 0), 0) == 6.75);
    ag_plan_free(p);
    ag_tensor_free(x[0]);
}
END_TEST

Suite *suite_plan_scalar(void)
{
    Suite *s = suite_create("plan_scalar");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_plan_scalar_functions_bit_identical_f64);
    tcase_add_test(tc, test_plan_scalar_functions_bit_identical_f32);
    tcase_add_test(tc, test_plan_scalar_steps_bit_identical_f64);
    tcase_add_test(tc, test_plan_scalar_steps_bit_identical_f32);
    tcase_add_test(tc, test_plan_scalar_program_drops_known_and_repeated_work);
    tcase_add_test(tc, test_plan_scalar_input_read_through_a_view);
    suite_add_tcase(s, tc);
    return s;
}
