/*
** test_gradcheck.c: gradcheck as a user feature. It passes correct
** gradients, catches a wrong first derivative and a wrong second
** derivative (made with detach, the only way a user can break a rule),
** reports the worst element, flags kinks, and refuses bad inputs.
*/
#include "test_util.h"

/* f(x, y) = sum(x * y * x) / y: several inputs, broadcasting. */
static ag_tensor *good_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_div(t, ag_mul(t, ag_mul(t, in[0], in[1]), in[0]), ag_add_scalar(t, in[1], 3));
}

START_TEST(test_gradcheck_passes_correct_gradients)
{
    ag_tensor *in[2] = {tu_random(2, SHAPE(2, 3), -1, 1, 1), tu_random(1, SHAPE(3), 0.5, 1, 2)};
    ag_gradcheck_report r;
    ck_assert_int_eq(ag_gradcheck(good_fn, NULL, 2, in, NULL, &r), AG_OK);
    ck_assert_int_eq(r.passed, 1);
    ck_assert_int_eq(r.checked, 6 * 9);                  /* 6 outputs x 9 inputs */
    ck_assert_ptr_nonnull(strstr(r.message, "passed"));
    ck_assert_int_eq(ag_gradgradcheck(good_fn, NULL, 2, in, NULL, &r), AG_OK);
    ck_assert_int_eq(r.checked, 9 * 15);                 /* 9 grads x (9 + 6 of v) */
    ck_assert_int_eq(ag_requires_grad(in[0]), 1);        /* inputs marked */
    ag_tensor_free(in[0]);
    ag_tensor_free(in[1]);
}
END_TEST

/* f(x) = x * detach(x): backward sees x, the true derivative is 2x. */
static ag_tensor *wrong_first(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_mul(t, in[0], ag_detach(t, in[0]));
}

START_TEST(test_gradcheck_catches_a_wrong_gradient)
{
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0.5, -2, 1));
    ag_gradcheck_report r;
    ck_assert_int_eq(ag_gradcheck(wrong_first, NULL, 1, &x, NULL, &r), AG_ERR_GRADCHECK);
    ck_assert_int_eq(r.passed, 0);
    /* the worst entry is x[1] = -2: analytic -2, numeric -4 */
    ck_assert_int_eq(r.input, 0);
    ck_assert_int_eq(r.index, 1);
    ck_assert_int_eq(r.output_index, 1);
    ck_assert_double_eq_tol(r.analytic, -2, 1e-12);
    ck_assert_double_eq_tol(r.numeric, -4, 1e-6);
    ck_assert_double_eq_tol(r.error, 2, 1e-6);
    ck_assert_int_eq(r.kink, 0);
    ck_assert_ptr_nonnull(strstr(r.message, "FAILED"));
    ck_assert_ptr_nonnull(strstr(r.message, "input 0 element 1"));
    ag_tensor_free(x);
}
END_TEST

/* f(x) = x*d - d*d/2 with d = detach(x): the value is x^2/2 and backward
   gives d = x, right; but that gradient is recorded as a constant in x, so
   its derivative comes out 0 instead of 1. */
static ag_tensor *wrong_second(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *d = ag_detach(t, in[0]);
    return ag_sub(t, ag_mul(t, in[0], d), ag_mul_scalar(t, ag_mul(t, d, d), 0.5));
}

START_TEST(test_gradgradcheck_catches_a_wrong_second_derivative)
{
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0.5, 1.5));
    ag_gradcheck_report r;
    ck_assert_int_eq(ag_gradcheck(wrong_second, NULL, 1, &x, NULL, &r), AG_OK);
    ck_assert_int_eq(ag_gradgradcheck(wrong_second, NULL, 1, &x, NULL, &r), AG_ERR_GRADCHECK);
    ck_assert_double_eq_tol(r.analytic, 0, 1e-12);
    ck_assert(fabs(r.numeric) > 0.9);                    /* 2 * v[i], v in [0.5, 1.5) */
    ag_tensor_free(x);
}
END_TEST

/* relu written as where(x > 0, x, 0): derivative 0 at 0, where the central
   difference sees 1/2. */
static ag_tensor *kinked(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_where(t, ag_gt_scalar(t, in[0], 0), in[0], ctx);
}

START_TEST(test_gradcheck_flags_kinks)
{
    ag_tensor *zero = tu_tensor(AG_F64, 0, NULL, VALS(0));
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 0));      /* x[1] at the kink */
    ag_gradcheck_report r;
    ck_assert_int_eq(ag_gradcheck(kinked, zero, 1, &x, NULL, &r), AG_ERR_GRADCHECK);
    ck_assert_int_eq(r.index, 1);
    ck_assert_int_eq(r.kink, 1);
    ck_assert_ptr_nonnull(strstr(r.message, "at a kink"));
    tu_push_from_zero(x, 0.1);                                      /* the documented fix */
    ck_assert_int_eq(ag_gradcheck(kinked, zero, 1, &x, NULL, &r), AG_OK);
    ag_tensor_free(zero);
    ag_tensor_free(x);
}
END_TEST

static ag_tensor *failing(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_add(t, in[0], NULL);
}

START_TEST(test_gradcheck_refuses_bad_input)
{
    ag_gradcheck_report r;
    ag_tensor *f = tu_tensor(AG_F32, 1, SHAPE(2), VALS(1, 2));
    ag_tensor *d = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ck_assert_int_eq(ag_gradcheck(good_fn, NULL, 1, &f, NULL, &r), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(r.message, "AG_F64"));
    ck_assert_int_eq(ag_gradcheck(NULL, NULL, 1, &d, NULL, &r), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(r.message, "fn is NULL"));
    ck_assert_int_eq(ag_gradcheck(good_fn, NULL, 0, &d, NULL, NULL), AG_ERR_ARG);
    ck_assert_int_eq(ag_gradcheck(failing, NULL, 1, &d, NULL, &r), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(r.message, "ag_add: b is NULL"));
    ck_assert_int_eq(ag_gradgradcheck(failing, NULL, 1, &d, NULL, &r), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(r.message, "ag_add: b is NULL"));
    /* custom tolerances are honoured: an impossible one fails */
    ag_gradcheck_opts strict = {1e-6, 0, 0};
    ag_tensor *in[2] = {d, d};
    ck_assert_int_eq(ag_gradcheck(good_fn, NULL, 2, in, &strict, &r), AG_ERR_GRADCHECK);
    ag_tensor_free(f);
    ag_tensor_free(d);
}
END_TEST

/* f(x) = 2x + 1: with eps a power of two the differences are exact. */
static ag_tensor *affine(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_add_scalar(t, ag_mul_scalar(t, ag_mul(t, in[0], in[0]), 2), 1);
}

/* Regression (#11): options are validated (a negative tolerance made a
   wrong gradient pass; eps 0 failed a correct one), and atol = rtol = 0
   passes an exact match. */
START_TEST(test_gradcheck_validates_options)
{
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0.5, -2, 1));
    ag_gradcheck_report r;
    const struct {
        ag_gradcheck_opts o;
        const char *what;
    } bad[] = {
        {{1e-6, -1, 1e-3}, "atol is -1"}, {{1e-6, 1e-5, -1}, "rtol is -1"},
        {{1e-6, NAN, 1e-3}, "atol is nan"}, {{1e-6, 1e-5, INFINITY}, "rtol is inf"},
        {{0, 1e-5, 1e-3}, "eps is 0"}, {{-1e-6, 1e-5, 1e-3}, "eps is -9.9999999999999995e-07"},
        {{NAN, 1e-5, 1e-3}, "eps is nan"}, {{INFINITY, 1e-5, 1e-3}, "eps is inf"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        ag_set_last_error(AG_OK, "%s", "");
        ck_assert_int_eq(ag_gradcheck(wrong_first, NULL, 1, &x, &bad[k].o, &r), AG_ERR_ARG);
        ck_assert_int_eq(r.passed, 0);
        ck_assert_msg(strstr(r.message, "ag_gradcheck: opts->") && strstr(r.message, bad[k].what),
                      "case %zu: %s", k, r.message);
        ck_assert_str_eq(ag_last_error(), r.message);          /* also with no report */
        ck_assert_int_eq(ag_gradgradcheck(affine, NULL, 1, &x, &bad[k].o, NULL), AG_ERR_ARG);
        ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_gradgradcheck: opts->"));
    }
    /* exact: f(x) = 2x^2 + 1 at halves with eps = 1/2, every difference exact */
    ag_gradcheck_opts exact = {0.5, 0, 0};
    ck_assert_int_eq(ag_gradcheck(affine, NULL, 1, &x, &exact, &r), AG_OK);
    ck_assert_msg(r.passed && strstr(r.message, "passed"), "%s", r.message);
    ck_assert_double_eq(r.error, 0);
    /* ... and an inexact one still fails with them */
    ck_assert_int_eq(ag_gradcheck(wrong_first, NULL, 1, &x, &exact, &r), AG_ERR_GRADCHECK);
    ck_assert_double_eq_tol(r.error, 2, 1e-12);
    ag_tensor_free(x);
}
END_TEST

Suite *suite_gradcheck(void)
{
    Suite *s = suite_create("gradcheck");
    TU_ADD(s, test_gradcheck_passes_correct_gradients);
    TU_ADD(s, test_gradcheck_catches_a_wrong_gradient);
    TU_ADD(s, test_gradgradcheck_catches_a_wrong_second_derivative);
    TU_ADD(s, test_gradcheck_flags_kinks);
    TU_ADD(s, test_gradcheck_refuses_bad_input);
    TU_ADD(s, test_gradcheck_validates_options);
    return s;
}
