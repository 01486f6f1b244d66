/*
** test_unary.c: the math ops of ops/unary.c (neg, exp, log, sqrt, square,
** reciprocal, pow_scalar, sin, cos, tanh, abs, sign) and cast:
** hand-computed values in f64 and f32, gradients and higher derivatives
** by hand at chosen points, gradcheck and gradgradcheck in f64, error
** paths. Unary ops do not broadcast: shapes (scalars, empty) are kept.
*/
#include "test_util.h"

#include <stdio.h>

/* An op under test: x -> y, or (x, s) -> y with its scalar. */
typedef struct uop {
    const char *name;                                   /* public function */
    tu_unary_op op;
    ag_tensor *(*op_s)(ag_tape *, ag_tensor *, double);
    double s;
} uop;

static ag_tensor *uop_apply(ag_tape *t, const uop *u, ag_tensor *x)
{
    return u->op ? u->op(t, x) : u->op_s(t, x, u->s);
}

static ag_tensor *uop_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return uop_apply(t, ctx, in[0]);
}

/* Initializers: uop u = U(exp), v = US(pow_scalar, 3); */
#define U(f) {"ag_" #f, ag_##f, NULL, 0}
#define US(f, s) {"ag_" #f, NULL, ag_##f, (s)}

static const double PI = 3.14159265358979323846;
static const double LN2 = 0.69314718055994530942;
static const double E = 2.71828182845904523536;

/*
** Runs u on xs (shape [n]) in dtype dt and asserts y has x's dtype and
** shape and the wanted values: within 1e-15 (f64) or 2e-6 (f32), relative
** beyond 1; a NaN wanted must be a NaN, an infinity that infinity.
*/
static void assert_forward(const uop *u, ag_dtype dt, int n, const double *xs,
                           const double *want)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(dt, 1, SHAPE(n), xs);
    ag_tensor *y = uop_apply(t, u, x);
    ck_assert_msg(y != NULL, "%s: %s", u->name, ag_tape_errmsg(t));
    ck_assert_int_eq(ag_tensor_dtype(y), dt);
    tu_assert_shape(y, 1, SHAPE(n));
    double tol = dt == AG_F64 ? 1e-15 : 2e-6;
    for (int i = 0; i < n; i++) {
        double got = ag_tensor_get(y, i), w = want[i];
        int ok = isnan(w)   ? isnan(got)
                 : isinf(w) ? got == w
                            : fabs(got - w) <= tol * fmax(1, fabs(w));
        ck_assert_msg(ok, "%s(%.17g) %s: got %.17g, expected %.17g", u->name, xs[i],
                      dt == AG_F64 ? "f64" : "f32", got, w);
    }
    ag_tape_free(t);
    ag_tensor_free(x);
}

/* The same hand-computed case in both dtypes. */
static void assert_forward2(const uop *u, int n, const double *xs, const double *want)
{
    assert_forward(u, AG_F64, n, xs, want);
    assert_forward(u, AG_F32, n, xs, want);
}

/* d loss / dx for loss = sum(u(x)), x = xs (shape [n]) in dtype dt. */
static void grad_at(const uop *u, ag_dtype dt, int n, const double *xs, double *g)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(dt, 1, SHAPE(n), xs);
    ag_set_requires_grad(x, 1);
    ag_tensor *loss = ag_sum_to(t, uop_apply(t, u, x), 0, NULL);
    ck_assert_msg(ag_backward(t, loss) == AG_OK, "%s", ag_tape_errmsg(t));
    ag_tensor *gx = ag_tensor_grad(x);
    ck_assert_ptr_nonnull(gx);
    ck_assert_int_eq(ag_tensor_dtype(gx), dt);
    for (int i = 0; i < n; i++) g[i] = ag_tensor_get(gx, i);
    ag_tape_free(t);
    ag_tensor_free(x);
}

/* Asserts the gradient of sum(u(x)) at xs is want, in f64 and f32. */
static void assert_grad(const uop *u, int n, const double *xs, const double *want)
{
    double g[16];
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = d ? AG_F32 : AG_F64;
        grad_at(u, dt, n, xs, g);
        for (int i = 0; i < n; i++)
            ck_assert_msg(fabs(g[i] - want[i]) <= (d ? 2e-6 : 1e-14) * fmax(1, fabs(want[i])),
                          "%s'(%g) %s: got %.17g, expected %.17g", u->name, xs[i],
                          d ? "f32" : "f64", g[i], want[i]);
    }
}

/* The k-th derivative of u at x0 (f64), by k nested ag_grad with
   create_graph; 0 once a derivative no longer depends on x. */
static double nth_derivative(const uop *u, double x0, int k)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_scalar(NULL, AG_F64, x0);
    ag_set_requires_grad(x, 1);
    ag_tensor *y = uop_apply(t, u, x);
    ck_assert_ptr_nonnull(y);
    ck_assert(ag_requires_grad(y));
    double r = 0;
    int i = 0;
    for (; i < k && ag_requires_grad(y); i++) {
        ag_tensor *g = NULL;
        ck_assert_msg(ag_grad(t, 1, &y, NULL, 1, &x, &g, 1) == AG_OK, "%s", ag_tape_errmsg(t));
        y = g;
    }
    if (i == k) r = ag_tensor_get(y, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
    return r;
}

#define assert_near(got, want, tol)                                           \
    ck_assert_msg(fabs((got) - (want)) <= (tol), "got %.17g, expected %.17g", \
                  (double)(got), (double)(want))

/* gradcheck + gradgradcheck of u at a random 2x3 input in [lo, hi), with
   every |x| < gap moved to +-gap (gap 0: none). */
static void assert_gradchecks(const uop *u, double lo, double hi, double gap,
                              uint64_t seed)
{
    ag_tensor *x = tu_random(2, SHAPE(2, 3), lo, hi, seed);
    if (gap > 0) tu_push_from_zero(x, gap);
    tu_assert_gradchecks(uop_fn, (void *)u, 1, &x);
    ag_tensor_free(x);
}

/* ------------------------------------------------------------ forward --- */

START_TEST(test_neg_exp_log_values)
{
    uop neg = U(neg), ex = U(exp), lg = U(log);
    assert_forward2(&neg, 4, VALS(1.5, -2, 0, INFINITY), VALS(-1.5, 2, 0, -INFINITY));
    assert_forward2(&ex, 5, VALS(0, 1, -1, LN2, -INFINITY),
                    VALS(1, E, 1 / E, 2, 0));
    assert_forward2(&lg, 6, VALS(1, E, 0.5, 1024, 0, -1),
                    VALS(0, 1, -LN2, 10 * LN2, -INFINITY, NAN));
}
END_TEST

START_TEST(test_power_values)
{
    uop sq = U(sqrt), sqr = U(square), rec = U(reciprocal);
    assert_forward2(&sq, 5, VALS(4, 0.25, 2, 0, -1), VALS(2, 0.5, 1.4142135623730951, 0, NAN));
    assert_forward2(&sqr, 4, VALS(-3, 0.5, 0, 1e3), VALS(9, 0.25, 0, 1e6));
    assert_forward2(&rec, 4, VALS(4, -0.5, 8, 0), VALS(0.25, -2, 0.125, INFINITY));
}
END_TEST

START_TEST(test_pow_scalar_values)
{
    uop half = US(pow_scalar, 0.5), cube = US(pow_scalar, 3);
    uop inv = US(pow_scalar, -1), zero = US(pow_scalar, 0), frac = US(pow_scalar, 1.5);
    assert_forward2(&half, 3, VALS(4, 9, 0.25), VALS(2, 3, 0.5));
    assert_forward2(&cube, 4, VALS(-2, 1.5, 0, 10), VALS(-8, 3.375, 0, 1000));
    assert_forward2(&inv, 3, VALS(4, -0.5, 0), VALS(0.25, -2, INFINITY));
    assert_forward2(&zero, 3, VALS(0, -3, 7), VALS(1, 1, 1));     /* 0^0 = 1 */
    assert_forward2(&frac, 3, VALS(4, 0, -1), VALS(8, 0, NAN));
}
END_TEST

START_TEST(test_trig_values)
{
    uop s = U(sin), c = U(cos), th = U(tanh);
    assert_forward2(&s, 4, VALS(0, PI / 6, PI / 2, -PI / 2), VALS(0, 0.5, 1, -1));
    assert_forward2(&c, 3, VALS(0, PI / 3, PI), VALS(1, 0.5, -1));
    /* tanh(ln a) = (a^2 - 1) / (a^2 + 1) */
    assert_forward2(&th, 5, VALS(0, LN2, -log(3.0), 40, -1000),
                    VALS(0, 0.6, -0.8, 1, -1));
}
END_TEST

START_TEST(test_abs_sign_values)
{
    uop a = U(abs), sg = U(sign);
    assert_forward2(&a, 5, VALS(-2.5, 0, 3, -INFINITY, NAN), VALS(2.5, 0, 3, INFINITY, NAN));
    assert_forward2(&sg, 6, VALS(-2.5, 0, 3, -0.0, -1e-30, NAN), VALS(-1, 0, 1, 0, -1, NAN));
}
END_TEST

/* Every op keeps its input's shape: scalars, 3-D and empty tensors. */
START_TEST(test_shapes_are_kept)
{
    uop ops[] = {U(neg), U(exp), U(log), U(sqrt), U(abs), U(square), U(reciprocal),
                 US(pow_scalar, 2), U(sin), U(cos), U(tanh), U(sign)};
    ag_tape *t = ag_tape_new();
    ag_tensor *s = ag_scalar(NULL, AG_F64, 0.25);
    ag_tensor *cube = ag_full(NULL, AG_F32, 3, SHAPE(2, 1, 3), 4);
    ag_tensor *empty = ag_zeros(NULL, AG_F64, 2, SHAPE(3, 0));
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        ag_tensor *y = uop_apply(t, &ops[i], s);
        ck_assert_msg(y && ag_tensor_ndim(y) == 0 && ag_tensor_numel(y) == 1, "%s", ops[i].name);
        tu_assert_shape(uop_apply(t, &ops[i], cube), 3, SHAPE(2, 1, 3));
        tu_assert_shape(uop_apply(t, &ops[i], empty), 2, SHAPE(3, 0));
    }
    ck_assert_double_eq(ag_tensor_get(ag_sqrt(t, s), 0), 0.5);
    tu_assert_values(ag_sqrt(t, cube), VALS(2, 2, 2, 2, 2, 2), 6, 0);
    tu_assert_shape(ag_cast(t, empty, AG_F32), 2, SHAPE(3, 0));
    ck_assert_int_eq(ag_tape_status(t), AG_OK);
    ag_tape_free(t);
    ag_tensor_free(s);
    ag_tensor_free(cube);
    ag_tensor_free(empty);
}
END_TEST

/* ------------------------------------------------------------ gradients --- */

START_TEST(test_first_derivatives_by_hand)
{
    uop neg = U(neg), ex = U(exp), lg = U(log), sq = U(sqrt), sqr = U(square);
    uop rec = U(reciprocal), s = U(sin), c = U(cos), th = U(tanh);
    assert_grad(&neg, 2, VALS(3, -1), VALS(-1, -1));
    assert_grad(&ex, 2, VALS(0, LN2), VALS(1, 2));
    assert_grad(&lg, 2, VALS(4, 0.5), VALS(0.25, 2));
    assert_grad(&sq, 2, VALS(4, 0.25), VALS(0.25, 1));               /* 1/(2 sqrt x) */
    assert_grad(&sqr, 3, VALS(-3, 0, 0.5), VALS(-6, 0, 1));
    assert_grad(&rec, 2, VALS(2, -0.5), VALS(-0.25, -4));             /* -1/x^2 */
    assert_grad(&s, 2, VALS(0, PI / 3), VALS(1, 0.5));
    assert_grad(&c, 2, VALS(0, PI / 6), VALS(0, -0.5));
    assert_grad(&th, 3, VALS(0, LN2, 1000), VALS(1, 0.64, 0));        /* 1 - y^2 */
}
END_TEST

START_TEST(test_pow_scalar_derivatives_by_hand)
{
    uop cube = US(pow_scalar, 3), half = US(pow_scalar, 0.5), one = US(pow_scalar, 1);
    uop zero = US(pow_scalar, 0), two = US(pow_scalar, 2);
    assert_grad(&cube, 3, VALS(-2, 0, 0.5), VALS(12, 0, 0.75));
    assert_grad(&half, 2, VALS(4, 0.25), VALS(0.25, 1));
    assert_grad(&one, 3, VALS(-2, 0, 5), VALS(1, 1, 1));
    assert_grad(&two, 2, VALS(0, -1.5), VALS(0, -3));
    /* p = 0: zero everywhere, even at x = 0 where p*x^(p-1) would be NaN */
    assert_grad(&zero, 3, VALS(0, -2, 3), VALS(0, 0, 0));
    ck_assert_double_eq(nth_derivative(&cube, 2, 2), 12);             /* 6x */
    ck_assert_double_eq(nth_derivative(&cube, 2, 3), 6);
    ck_assert_double_eq(nth_derivative(&cube, 2, 4), 0);
    assert_near(nth_derivative(&half, 4, 2), -1.0 / 32, 1e-16);       /* -x^-1.5 / 4 */
}
END_TEST

/* PyTorch's conventions at the kink: abs'(0) = 0. */
START_TEST(test_abs_derivative_at_kink)
{
    uop a = U(abs);
    assert_grad(&a, 4, VALS(-2, 0, 3, -0.0), VALS(-1, 0, 1, 0));
    ck_assert_double_eq(nth_derivative(&a, -2, 2), 0);
}
END_TEST

START_TEST(test_higher_derivatives_by_hand)
{
    uop ex = U(exp), lg = U(log), sq = U(sqrt), sqr = U(square), rec = U(reciprocal);
    uop s = U(sin), c = U(cos), th = U(tanh), neg = U(neg);
    assert_near(nth_derivative(&ex, LN2, 3), 2, 1e-15);
    assert_near(nth_derivative(&lg, 2, 2), -0.25, 1e-15);             /* -1/x^2 */
    assert_near(nth_derivative(&lg, 2, 3), 0.25, 1e-15);              /* 2/x^3 */
    assert_near(nth_derivative(&sq, 4, 2), -1.0 / 32, 1e-16);
    assert_near(nth_derivative(&sqr, 7, 2), 2, 0);
    assert_near(nth_derivative(&rec, 2, 2), 0.25, 1e-15);             /* 2/x^3 */
    assert_near(nth_derivative(&rec, 2, 3), -0.375, 1e-15);           /* -6/x^4 */
    assert_near(nth_derivative(&s, PI / 6, 2), -0.5, 1e-15);
    assert_near(nth_derivative(&s, PI / 6, 3), -sqrt(3.0) / 2, 1e-15);
    assert_near(nth_derivative(&c, PI / 3, 2), -0.5, 1e-15);
    assert_near(nth_derivative(&c, PI / 3, 3), sqrt(3.0) / 2, 1e-15);
    assert_near(nth_derivative(&th, LN2, 2), -0.768, 1e-15);          /* -2y(1-y^2) */
    assert_near(nth_derivative(&th, 0, 3), -2, 1e-15);
    ck_assert_double_eq(nth_derivative(&neg, 1, 2), 0);
}
END_TEST

START_TEST(test_gradchecks)
{
    uop smooth[] = {U(neg), U(exp), U(square), U(sin), U(cos), U(tanh),
                    US(pow_scalar, 3), US(pow_scalar, 2), US(pow_scalar, 1),
                    US(pow_scalar, 0)};
    uop positive[] = {U(log), U(sqrt), U(reciprocal), US(pow_scalar, 0.5),
                      US(pow_scalar, -1.5), US(pow_scalar, 2.5)};
    for (size_t i = 0; i < sizeof smooth / sizeof *smooth; i++)
        assert_gradchecks(&smooth[i], -2, 2, 0, 10 + i);
    for (size_t i = 0; i < sizeof positive / sizeof *positive; i++)
        assert_gradchecks(&positive[i], 0.5, 2, 0, 30 + i);
    uop a = U(abs), rec = U(reciprocal);
    assert_gradchecks(&a, -2, 2, 0.1, 50);
    assert_gradchecks(&rec, -2, 2, 0.5, 51);                          /* both signs */
}
END_TEST

/* ----------------------------------------------------------------- sign --- */

START_TEST(test_sign_records_nothing)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(-2, 0, 5));
    ag_set_requires_grad(x, 1);
    size_t before = ag_tape_size(t);
    ag_tensor *y = ag_sign(t, x);
    tu_assert_values(y, VALS(-1, 0, 1), 3, 0);
    ck_assert(!ag_requires_grad(y));
    ck_assert_uint_eq(ag_tape_size(t), before);
    /* a loss built from it alone has nothing to differentiate */
    ag_tensor *loss = ag_sum_to(t, y, 0, NULL);
    ck_assert(!ag_requires_grad(loss));
    ck_assert_int_eq(ag_backward(t, loss), AG_ERR_ARG);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* ----------------------------------------------------------------- cast --- */

START_TEST(test_cast_values)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(1.5, -2.25, 0.1, 1e300));
    ag_tensor *y = ag_cast(t, x, AG_F32);
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_shape(y, 2, SHAPE(2, 2));
    const float *f = ag_tensor_data(y);
    ck_assert(f[0] == 1.5f && f[1] == -2.25f && f[2] == 0.1f && isinf(f[3]));
    ag_tensor *z = ag_cast(t, y, AG_F64);                /* f32 -> f64 is exact */
    ck_assert_int_eq(ag_tensor_dtype(z), AG_F64);
    const double *d = ag_tensor_data(z);
    ck_assert(d[0] == 1.5 && d[1] == -2.25 && d[2] == (double)0.1f && d[2] != 0.1);
    /* the same dtype: a copy, not the same storage */
    ag_tensor *c = ag_cast(t, x, AG_F64);
    ck_assert_ptr_ne(c, x);
    ck_assert_ptr_ne(ag_tensor_data(c), ag_tensor_data(x));
    tu_assert_values(c, VALS(1.5, -2.25, 0.1, 1e300), 4, 0);
    ag_tensor_set(c, 0, 7);
    ck_assert_double_eq(ag_tensor_get(x, 0), 1.5);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* The gradient comes back in the leaf's dtype. */
START_TEST(test_cast_gradient_dtype)
{
    for (int d = 0; d < 2; d++) {
        ag_dtype from = d ? AG_F64 : AG_F32, to = d ? AG_F32 : AG_F64;
        ag_tape *t = ag_tape_new();
        ag_tensor *x = tu_tensor(from, 1, SHAPE(3), VALS(1, -2, 0.5));
        ag_set_requires_grad(x, 1);
        ag_tensor *y = ag_cast(t, x, to);
        ck_assert(ag_requires_grad(y));
        ag_tensor *loss = ag_sum_to(t, ag_square(t, y), 0, NULL);      /* sum x^2 */
        ck_assert_int_eq(ag_tensor_dtype(loss), to);
        ck_assert_int_eq(ag_backward(t, loss), AG_OK);
        ag_tensor *g = ag_tensor_grad(x);
        ck_assert_int_eq(ag_tensor_dtype(g), from);
        tu_assert_values(g, VALS(2, -4, 1), 3, 0);
        ag_tape_free(t);
        ag_tensor_free(x);
    }
}
END_TEST

static ag_tensor *cast_same(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_mul(t, ag_cast(t, in[0], AG_F64), in[0]);              /* x^2 */
}

static ag_tensor *cast_round_trip(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *x32 = ag_cast(t, in[0], AG_F32);
    return ag_cast(t, ag_mul(t, x32, ag_sin(t, x32)), AG_F64);      /* x sin x in f32 */
}

START_TEST(test_cast_gradchecks)
{
    ag_tensor *x = tu_random(2, SHAPE(2, 3), -2, 2, 70);
    tu_assert_gradchecks(cast_same, NULL, 1, &x);
    /* through f32: a step of 1e-3 keeps f32 rounding (~1e-7) below tolerance */
    ag_gradcheck_opts o = {1e-3, 1e-4, 1e-2};
    ag_gradcheck_report r;
    ck_assert_msg(ag_gradcheck(cast_round_trip, NULL, 1, &x, &o, &r) == AG_OK, "%s", r.message);
    ck_assert_msg(ag_gradgradcheck(cast_round_trip, NULL, 1, &x, &o, &r) == AG_OK, "%s",
                  r.message);
    ck_assert_int_gt(r.checked, 0);
    ag_tensor_free(x);
}
END_TEST

/* --------------------------------------------------------------- errors --- */

static const uop all_ops[] = {
    U(neg), U(exp), U(log), U(sqrt), U(abs), U(square), U(reciprocal),
    US(pow_scalar, 2), U(sin), U(cos), U(tanh), U(sign)};
#define N_OPS (sizeof all_ops / sizeof *all_ops)

START_TEST(test_null_input)
{
    ag_tape *t = ag_tape_new();
    for (size_t i = 0; i < N_OPS; i++) {
        tu_assert_error(t, uop_apply(t, &all_ops[i], NULL), AG_ERR_ARG, all_ops[i].name,
                        "x is NULL");
        ag_tape_clear_error(t);
    }
    tu_assert_error(t, ag_cast(t, NULL, AG_F32), AG_ERR_ARG, "ag_cast", "x is NULL");
    ag_tape_free(t);
}
END_TEST

START_TEST(test_cast_rejects_unknown_dtype)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F64, 2, SHAPE(2, 3));
    tu_assert_error(t, ag_cast(t, x, (ag_dtype)7), AG_ERR_DTYPE, "ag_cast: unknown dtype 7",
                    "[2,3]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_cast(t, x, (ag_dtype)-1), AG_ERR_DTYPE, "ag_cast", "dtype -1");
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* Sticky errors: every op on a tape in error returns NULL and the first
   message stays. */
START_TEST(test_tape_in_error_keeps_first_message)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_full(NULL, AG_F64, 1, SHAPE(2), 0.5);
    ck_assert_ptr_null(ag_sqrt(t, NULL));
    char first[512];
    snprintf(first, sizeof first, "%s", ag_tape_errmsg(t));
    ck_assert_str_eq(first, "ag_sqrt: x is NULL");
    for (size_t i = 0; i < N_OPS; i++)
        ck_assert_ptr_null(uop_apply(t, &all_ops[i], x));
    ck_assert_ptr_null(ag_cast(t, x, AG_F32));
    ck_assert_ptr_null(ag_cast(t, x, (ag_dtype)9));
    ck_assert_int_eq(ag_tape_status(t), AG_ERR_ARG);
    ck_assert_str_eq(ag_tape_errmsg(t), first);
    ag_tape_reset(t);                                     /* clears the error */
    ck_assert_ptr_nonnull(ag_sqrt(t, x));
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_stale_and_foreign_inputs)
{
    ag_tape *t = ag_tape_new(), *other = ag_tape_new();
    ag_tensor *x = ag_full(t, AG_F64, 1, SHAPE(2), 4);
    ag_tape_reset(t);
    tu_assert_error(t, ag_exp(t, x), AG_ERR_STATE, "ag_exp", "reset");
    ag_tape_clear_error(t);
    ag_tensor *w = ag_full(other, AG_F64, 1, SHAPE(2), 4);
    tu_assert_error(t, ag_cast(t, w, AG_F32), AG_ERR_STATE, "ag_cast", "another tape");
    ag_tape_free(t);
    ag_tape_free(other);
}
END_TEST

/* Anomaly mode names the op that made the NaN. */
START_TEST(test_anomaly_names_the_op)
{
    ag_tape *t = ag_tape_new();
    ag_set_anomaly(t, 1);
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(4, -1, 9));
    tu_assert_error(t, ag_sqrt(t, x), AG_ERR_ANOMALY, "ag_sqrt", "NaN at element 1");
    ag_tape_reset(t);
    tu_assert_error(t, ag_reciprocal(t, ag_sub_scalar(t, x, 4)), AG_ERR_ANOMALY,
                    "ag_reciprocal", "Inf at element 0");
    ag_tape_reset(t);
    ck_assert_ptr_nonnull(ag_sqrt(t, ag_abs(t, x)));
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_no_grad_records_nothing)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_set_requires_grad(x, 1);
    ag_set_grad_enabled(t, 0);
    for (size_t i = 0; i < N_OPS; i++) {
        ag_tensor *y = uop_apply(t, &all_ops[i], x);
        ck_assert_ptr_nonnull(y);
        ck_assert(!ag_requires_grad(y));
    }
    ck_assert(!ag_requires_grad(ag_cast(t, x, AG_F32)));
    ck_assert_uint_eq(ag_tape_size(t), 0);
    ag_set_grad_enabled(t, 1);
    ck_assert(ag_requires_grad(ag_exp(t, x)));
    ck_assert_uint_eq(ag_tape_size(t), 1);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

Suite *suite_unary(void)
{
    Suite *s = suite_create("unary");
    TU_ADD(s, test_neg_exp_log_values);
    TU_ADD(s, test_power_values);
    TU_ADD(s, test_pow_scalar_values);
    TU_ADD(s, test_trig_values);
    TU_ADD(s, test_abs_sign_values);
    TU_ADD(s, test_shapes_are_kept);
    TU_ADD(s, test_first_derivatives_by_hand);
    TU_ADD(s, test_pow_scalar_derivatives_by_hand);
    TU_ADD(s, test_abs_derivative_at_kink);
    TU_ADD(s, test_higher_derivatives_by_hand);
    TU_ADD(s, test_gradchecks);
    TU_ADD(s, test_sign_records_nothing);
    TU_ADD(s, test_cast_values);
    TU_ADD(s, test_cast_gradient_dtype);
    TU_ADD(s, test_cast_gradchecks);
    TU_ADD(s, test_null_input);
    TU_ADD(s, test_cast_rejects_unknown_dtype);
    TU_ADD(s, test_tape_in_error_keeps_first_message);
    TU_ADD(s, test_stale_and_foreign_inputs);
    TU_ADD(s, test_anomaly_names_the_op);
    TU_ADD(s, test_no_grad_records_nothing);
    return s;
}
