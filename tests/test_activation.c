/*
** test_activation.c: the activations of ops/activation.c (sigmoid,
** softplus, relu, leaky_relu, elu, clamp): hand-computed values in f64
** and f32, stability at +-1000 and accuracy in the tails, derivatives at
** the kinks (PyTorch's conventions), higher derivatives by hand,
** gradcheck and gradgradcheck in f64, error paths.
*/
#include "test_util.h"

#include <stdio.h>

/* An op under test: x -> y, (x, s) -> y, or (x, s, s2) -> y (clamp). */
typedef struct uop {
    const char *name;                                   /* public function */
    tu_unary_op op;
    ag_tensor *(*op_s)(ag_tape *, ag_tensor *, double);
    ag_tensor *(*op_ss)(ag_tape *, ag_tensor *, double, double);
    double s, s2;
} uop;

/* Initializers: uop u = U(relu), v = US(elu, 1), w = USS(clamp, -1, 2); */
#define U(f) {"ag_" #f, ag_##f, NULL, NULL, 0, 0}
#define US(f, s) {"ag_" #f, NULL, ag_##f, NULL, (s), 0}
#define USS(f, s, s2) {"ag_" #f, NULL, NULL, ag_##f, (s), (s2)}

static ag_tensor *uop_apply(ag_tape *t, const uop *u, ag_tensor *x)
{
    if (u->op) return u->op(t, x);
    return u->op_s ? u->op_s(t, x, u->s) : u->op_ss(t, x, u->s, u->s2);
}

static ag_tensor *uop_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return uop_apply(t, ctx, in[0]);
}

static const double LN2 = 0.69314718055994530942;
static const double LN3 = 1.09861228866810969140;

/* |got - want| within rtol relative to max(1, |want|); NaN and Inf exact. */
static int close_to(double got, double want, double rtol)
{
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= rtol * fmax(1, fabs(want));
}

/* Runs u on xs (shape [n]) in dtype dt: y must keep x's dtype and shape
   and hold want (1e-15 for f64, 2e-6 for f32). */
static void assert_forward(const uop *u, ag_dtype dt, int n, const double *xs,
                           const double *want)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(dt, 1, SHAPE(n), xs);
    ag_tensor *y = uop_apply(t, u, x);
    ck_assert_msg(y != NULL, "%s: %s", u->name, ag_tape_errmsg(t));
    ck_assert_int_eq(ag_tensor_dtype(y), dt);
    tu_assert_shape(y, 1, SHAPE(n));
    for (int i = 0; i < n; i++)
        ck_assert_msg(close_to(ag_tensor_get(y, i), want[i], dt == AG_F64 ? 1e-15 : 2e-6),
                      "%s(%.17g) %s: got %.17g, expected %.17g", u->name, xs[i],
                      dt == AG_F64 ? "f64" : "f32", ag_tensor_get(y, i), want[i]);
    ag_tape_free(t);
    ag_tensor_free(x);
}

static void assert_forward2(const uop *u, int n, const double *xs, const double *want)
{
    assert_forward(u, AG_F64, n, xs, want);
    assert_forward(u, AG_F32, n, xs, want);
}

/* Asserts d sum(u(x)) / dx at xs is want, in f64 and f32, with anomaly
   mode on (so every value on the way must be finite). */
static void assert_grad(const uop *u, int n, const double *xs, const double *want)
{
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = d ? AG_F32 : AG_F64;
        ag_tape *t = ag_tape_new();
        ag_set_anomaly(t, 1);
        ag_tensor *x = tu_tensor(dt, 1, SHAPE(n), xs);
        ag_set_requires_grad(x, 1);
        ag_tensor *loss = ag_sum_to(t, uop_apply(t, u, x), 0, NULL);
        ck_assert_msg(ag_backward(t, loss) == AG_OK, "%s", ag_tape_errmsg(t));
        ag_tensor *g = ag_tensor_grad(x);
        ck_assert_int_eq(ag_tensor_dtype(g), dt);
        for (int i = 0; i < n; i++)
            ck_assert_msg(close_to(ag_tensor_get(g, i), want[i], d ? 2e-6 : 1e-15),
                          "%s'(%g) %s: got %.17g, expected %.17g", u->name, xs[i],
                          d ? "f32" : "f64", ag_tensor_get(g, i), want[i]);
        ag_tape_free(t);
        ag_tensor_free(x);
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
    ck_assert(y && ag_requires_grad(y));
    int i = 0;
    for (; i < k && ag_requires_grad(y); i++) {
        ag_tensor *g = NULL;
        ck_assert_msg(ag_grad(t, 1, &y, NULL, 1, &x, &g, 1) == AG_OK, "%s", ag_tape_errmsg(t));
        y = g;
    }
    double r = i == k ? ag_tensor_get(y, 0) : 0;
    ag_tape_free(t);
    ag_tensor_free(x);
    return r;
}

#define assert_near(got, want, tol)                                           \
    ck_assert_msg(fabs((got) - (want)) <= (tol), "got %.17g, expected %.17g", \
                  (double)(got), (double)(want))

/* Moves every x within gap of kink to kink +- gap. */
static void push_from(ag_tensor *x, double kink, double gap)
{
    for (int64_t i = 0; i < ag_tensor_numel(x); i++) {
        double v = ag_tensor_get(x, i);
        if (fabs(v - kink) < gap) ag_tensor_set(x, i, v < kink ? kink - gap : kink + gap);
    }
}

/* gradcheck + gradgradcheck of u at a random 2x3 input in [lo, hi), kept
   0.1 away from kinks k1 and k2 (NAN: none). */
static void assert_gradchecks(const uop *u, double lo, double hi, double k1, double k2,
                              uint64_t seed)
{
    ag_tensor *x = tu_random(2, SHAPE(2, 3), lo, hi, seed);
    if (!isnan(k1)) push_from(x, k1, 0.1);
    if (!isnan(k2)) push_from(x, k2, 0.1);
    tu_assert_gradchecks(uop_fn, (void *)u, 1, &x);
    ag_tensor_free(x);
}

/* ----------------------------------------------------- sigmoid, softplus --- */

START_TEST(test_sigmoid_values)
{
    uop sg = U(sigmoid);
    /* sigmoid(ln 3) = 1 / (1 + 1/3) */
    assert_forward2(&sg, 8, VALS(0, LN3, -LN3, 1000, -1000, INFINITY, -INFINITY, NAN),
                    VALS(0.5, 0.75, 0.25, 1, 0, 1, 0, NAN));
}
END_TEST

START_TEST(test_softplus_values)
{
    uop sp = U(softplus);
    /* ln(1 + e^0) = ln 2; ln(1 + 3) = 2 ln 2; ln(1 + 1/3) = 2 ln 2 - ln 3 */
    assert_forward2(&sp, 9, VALS(0, LN3, -LN3, 1000, -1000, 40, INFINITY, -INFINITY, NAN),
                    VALS(LN2, 2 * LN2, 2 * LN2 - LN3, 1000, 0, 40, INFINITY, 0, NAN));
}
END_TEST

/* Far below 0 both are ~e^x; a naive formula loses it (1 - (1 - y), or
   log(1 + tiny) = 0). Relative accuracy, in both dtypes. */
START_TEST(test_sigmoid_softplus_tails)
{
    ag_tape *t = ag_tape_new();
    const double xs[3] = {-30, -80, -700};
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = d ? AG_F32 : AG_F64;
        int n = d ? 2 : 3;                    /* e^-700 is below f32's range */
        ag_tensor *x = ag_from_f64(t, dt, 1, SHAPE(n), xs);
        ag_tensor *sg = ag_sigmoid(t, x), *sp = ag_softplus(t, x);
        for (int i = 0; i < n; i++) {
            double e = exp(xs[i]), rtol = d ? 1e-6 : 1e-15;
            double want_sg = e / (1 + e), want_sp = e - e * e / 2;   /* log1p(e) */
            ck_assert_msg(fabs(ag_tensor_get(sg, i) - want_sg) <= rtol * want_sg,
                          "sigmoid(%g): %.17g vs %.17g", xs[i], ag_tensor_get(sg, i), want_sg);
            ck_assert_msg(fabs(ag_tensor_get(sp, i) - want_sp) <= rtol * want_sp,
                          "softplus(%g): %.17g vs %.17g", xs[i], ag_tensor_get(sp, i), want_sp);
        }
    }
    ck_assert_int_eq(ag_tape_status(t), AG_OK);
    ag_tape_free(t);
}
END_TEST

START_TEST(test_sigmoid_softplus_derivatives)
{
    uop sg = U(sigmoid), sp = U(softplus);
    /* sigmoid' = y(1 - y): 1/4 at 0, 3/16 at ln 3; 0 (finite) at +-1000 */
    assert_grad(&sg, 5, VALS(0, LN3, -LN3, 1000, -1000), VALS(0.25, 0.1875, 0.1875, 0, 0));
    /* softplus' = sigmoid */
    assert_grad(&sp, 5, VALS(0, LN3, -LN3, 1000, -1000), VALS(0.5, 0.75, 0.25, 1, 0));
    /* sigmoid'' = y(1-y)(1-2y), sigmoid''' = y(1-y)(1 - 6y + 6y^2) */
    assert_near(nth_derivative(&sg, LN3, 2), -0.09375, 1e-16);
    assert_near(nth_derivative(&sg, 0, 2), 0, 1e-16);
    assert_near(nth_derivative(&sg, 0, 3), -0.125, 1e-16);
    assert_near(nth_derivative(&sp, LN3, 2), 0.1875, 1e-16);
    assert_near(nth_derivative(&sp, LN3, 3), -0.09375, 1e-16);
    assert_near(nth_derivative(&sp, 1000, 2), 0, 0);
}
END_TEST

/* ----------------------------------------------------- relu, leaky_relu --- */

START_TEST(test_relu_values)
{
    uop r = U(relu);
    assert_forward2(&r, 8, VALS(-2, 0, 3, -0.0, 1e-30, -INFINITY, INFINITY, NAN),
                    VALS(0, 0, 3, 0, 1e-30, 0, INFINITY, NAN));
}
END_TEST

START_TEST(test_leaky_relu_values)
{
    uop l = US(leaky_relu, 0.1), neg = US(leaky_relu, -0.5), one = US(leaky_relu, 1);
    assert_forward2(&l, 6, VALS(-2, 0, 3, -0.5, -INFINITY, NAN),
                    VALS(-0.2, 0, 3, -0.05, -INFINITY, NAN));
    assert_forward2(&neg, 3, VALS(-2, 0, 3), VALS(1, 0, 3));
    assert_forward2(&one, 3, VALS(-2, 0, 3), VALS(-2, 0, 3));
}
END_TEST

/* PyTorch's conventions: relu'(0) = 0, leaky_relu'(0) = slope. */
START_TEST(test_relu_leaky_derivatives_at_kink)
{
    uop r = U(relu), l = US(leaky_relu, 0.1), neg = US(leaky_relu, -0.5);
    assert_grad(&r, 5, VALS(-2, 0, 3, -0.0, 1e-30), VALS(0, 0, 1, 0, 1));
    assert_grad(&l, 4, VALS(-2, 0, 3, -0.0), VALS(0.1, 0.1, 1, 0.1));
    assert_grad(&neg, 2, VALS(-2, 3), VALS(-0.5, 1));
    ck_assert_double_eq(nth_derivative(&r, 2, 2), 0);
    ck_assert_double_eq(nth_derivative(&l, -2, 2), 0);
}
END_TEST

/* ------------------------------------------------------------------ elu --- */

START_TEST(test_elu_values)
{
    uop e1 = US(elu, 1), e2 = US(elu, 2);
    /* alpha (e^x - 1): e^-ln2 = 1/2, e^-ln4 = 1/4 */
    assert_forward2(&e1, 6, VALS(-LN2, -2 * LN2, 0, 2, -INFINITY, NAN),
                    VALS(-0.5, -0.75, 0, 2, -1, NAN));
    assert_forward2(&e2, 4, VALS(-LN2, 0, 3, -1000), VALS(-1, 0, 3, -2));
    /* near 0 from below, elu(x) ~ alpha x to full relative precision (expm1) */
    ag_tape *t = ag_tape_new();
    ag_tensor *y = ag_elu(t, ag_scalar(t, AG_F64, -1e-10), 2);
    ck_assert_double_le(fabs(ag_tensor_get(y, 0) - (-2e-10 + 1e-20)), 1e-15 * 2e-10);
    ag_tape_free(t);
}
END_TEST

/* elu'(x) = 1 above 0, alpha e^x at and below 0 (PyTorch: alpha at 0). */
START_TEST(test_elu_derivatives)
{
    uop e2 = US(elu, 2);
    assert_grad(&e2, 5, VALS(-LN2, 0, 3, -1000, 1000), VALS(1, 2, 1, 0, 1));
    /* every higher derivative is alpha e^x below 0 and 0 above */
    for (int k = 2; k <= 4; k++) {
        assert_near(nth_derivative(&e2, -LN2, k), 1, 1e-15);
        assert_near(nth_derivative(&e2, -2 * LN2, k), 0.5, 1e-15);
        ck_assert_double_eq(nth_derivative(&e2, 3, k), 0);
    }
    /* at 0 exactly: elu' from the x <= 0 side (alpha), elu'' from the
       x > 0 side (0), as PyTorch's double backward */
    ck_assert_double_eq(nth_derivative(&e2, 0, 1), 2);
    ck_assert_double_eq(nth_derivative(&e2, 0, 2), 0);
    /* far below 0 the gradient keeps its relative precision (alpha e^x,
       not y + alpha) */
    double g = nth_derivative(&e2, -30, 1), want = 2 * exp(-30.0);
    ck_assert_double_le(fabs(g - want), 1e-15 * want);
}
END_TEST

/* Second derivatives stay finite where e^x would overflow (x > 709). */
START_TEST(test_elu_second_derivative_finite_for_large_x)
{
    ag_tape *t = ag_tape_new();
    ag_set_anomaly(t, 1);
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(800, -800, 1));
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_sum_to(t, ag_elu(t, x, 1.5), 0, NULL);
    ag_tensor *g = NULL, *h = NULL;
    ck_assert_int_eq(ag_grad(t, 1, &y, NULL, 1, &x, &g, 1), AG_OK);
    tu_assert_values(g, VALS(1, 0, 1), 3, 0);
    ag_tensor *gs = ag_sum_to(t, g, 0, NULL);
    ck_assert_msg(ag_grad(t, 1, &gs, NULL, 1, &x, &h, 1) == AG_OK, "%s", ag_tape_errmsg(t));
    tu_assert_values(h, VALS(0, 0, 0), 3, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* ---------------------------------------------------------------- clamp --- */

START_TEST(test_clamp_values)
{
    uop c = USS(clamp, -1, 2), pt = USS(clamp, 1, 1), lo_only = USS(clamp, 0, INFINITY);
    uop hi_only = USS(clamp, -INFINITY, 0.5);
    assert_forward2(&c, 8, VALS(-3, -1, 0.5, 2, 5, -INFINITY, INFINITY, NAN),
                    VALS(-1, -1, 0.5, 2, 2, -1, 2, NAN));
    assert_forward2(&pt, 3, VALS(-3, 1, 5), VALS(1, 1, 1));
    assert_forward2(&lo_only, 3, VALS(-3, 0, 5), VALS(0, 0, 5));
    assert_forward2(&hi_only, 3, VALS(-3, 0.5, 5), VALS(-3, 0.5, 0.5));
}
END_TEST

/* PyTorch: the gradient passes at the bounds, lo <= x <= hi. */
START_TEST(test_clamp_derivatives)
{
    uop c = USS(clamp, -1, 2), pt = USS(clamp, 1, 1), hi_only = USS(clamp, -INFINITY, 0.5);
    assert_grad(&c, 6, VALS(-3, -1, 0.5, 2, 5, -1.0000001), VALS(0, 1, 1, 1, 0, 0));
    assert_grad(&pt, 3, VALS(-3, 1, 5), VALS(0, 1, 0));
    assert_grad(&hi_only, 3, VALS(-1e30, 0.5, 5), VALS(1, 1, 0));
    ck_assert_double_eq(nth_derivative(&c, 0.5, 2), 0);
}
END_TEST

/* ------------------------------------------------------------ gradchecks --- */

START_TEST(test_gradchecks)
{
    uop sg = U(sigmoid), sp = U(softplus), r = U(relu);
    uop l1 = US(leaky_relu, 0.1), l2 = US(leaky_relu, -0.3);
    uop e1 = US(elu, 1), e2 = US(elu, 0.5);
    uop c1 = USS(clamp, -0.5, 0.7), c2 = USS(clamp, -INFINITY, 0.3);
    assert_gradchecks(&sg, -4, 4, NAN, NAN, 1);
    assert_gradchecks(&sp, -4, 4, NAN, NAN, 2);
    assert_gradchecks(&r, -2, 2, 0, NAN, 3);
    assert_gradchecks(&l1, -2, 2, 0, NAN, 4);
    assert_gradchecks(&l2, -2, 2, 0, NAN, 5);
    assert_gradchecks(&e1, -3, 2, 0, NAN, 6);
    assert_gradchecks(&e2, -3, 2, 0, NAN, 7);
    assert_gradchecks(&c1, -2, 2, -0.5, 0.7, 8);
    assert_gradchecks(&c2, -2, 2, 0.3, NAN, 9);
}
END_TEST

/* ---------------------------------------------------------------- errors --- */

static const uop all_ops[] = {U(sigmoid), U(softplus), U(relu), US(leaky_relu, 0.1),
                              US(elu, 1), USS(clamp, -1, 1)};
#define N_OPS (sizeof all_ops / sizeof *all_ops)

START_TEST(test_null_input)
{
    ag_tape *t = ag_tape_new();
    for (size_t i = 0; i < N_OPS; i++) {
        tu_assert_error(t, uop_apply(t, &all_ops[i], NULL), AG_ERR_ARG, all_ops[i].name,
                        "x is NULL");
        ag_tape_clear_error(t);
    }
    ag_tape_free(t);
}
END_TEST

START_TEST(test_clamp_rejects_bad_bounds)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F64, 2, SHAPE(2, 3));
    tu_assert_error(t, ag_clamp(t, x, 2, 1), AG_ERR_ARG,
                    "ag_clamp: lo = 2 is greater than hi = 1", "[2,3]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_clamp(t, x, INFINITY, -INFINITY), AG_ERR_ARG, "ag_clamp", "greater");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_clamp(t, x, NAN, 1), AG_ERR_ARG, "ag_clamp", "NaN");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_clamp(t, x, 0, NAN), AG_ERR_ARG, "ag_clamp", "[2,3]");
    ag_tape_clear_error(t);
    /* a NULL x is reported before the bounds */
    tu_assert_error(t, ag_clamp(t, NULL, 2, 1), AG_ERR_ARG, "ag_clamp", "x is NULL");
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_tape_in_error_keeps_first_message)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_full(NULL, AG_F32, 1, SHAPE(2), 0.5);
    ck_assert_ptr_null(ag_clamp(t, x, 1, 0));
    char first[512];
    snprintf(first, sizeof first, "%s", ag_tape_errmsg(t));
    for (size_t i = 0; i < N_OPS; i++) {
        ck_assert_ptr_null(uop_apply(t, &all_ops[i], x));
        ck_assert_ptr_null(uop_apply(t, &all_ops[i], NULL));
    }
    ck_assert_ptr_null(ag_clamp(t, x, NAN, 0));
    ck_assert_int_eq(ag_tape_status(t), AG_ERR_ARG);
    ck_assert_str_eq(ag_tape_errmsg(t), first);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* Every op keeps its input's shape: scalars, 3-D and empty tensors. */
START_TEST(test_shapes_are_kept)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *s = ag_scalar(NULL, AG_F64, -0.5);
    ag_tensor *cube = ag_full(NULL, AG_F32, 3, SHAPE(2, 1, 3), 3);
    ag_tensor *empty = ag_zeros(NULL, AG_F64, 2, SHAPE(3, 0));
    for (size_t i = 0; i < N_OPS; i++) {
        ag_tensor *y = uop_apply(t, &all_ops[i], s);
        ck_assert_msg(y && ag_tensor_ndim(y) == 0 && ag_tensor_numel(y) == 1, "%s",
                      all_ops[i].name);
        tu_assert_shape(uop_apply(t, &all_ops[i], cube), 3, SHAPE(2, 1, 3));
        tu_assert_shape(uop_apply(t, &all_ops[i], empty), 2, SHAPE(3, 0));
    }
    ck_assert_double_eq(ag_tensor_get(ag_leaky_relu(t, s, 0.5), 0), -0.25);
    tu_assert_values(ag_clamp(t, cube, 0, 2), VALS(2, 2, 2, 2, 2, 2), 6, 0);
    ck_assert_int_eq(ag_tape_status(t), AG_OK);
    ag_tape_free(t);
    ag_tensor_free(s);
    ag_tensor_free(cube);
    ag_tensor_free(empty);
}
END_TEST

/* An op records one node; backward's masks record nothing. */
START_TEST(test_recording)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(-1, 0.5, 2));
    ag_set_requires_grad(x, 1);
    for (size_t i = 0; i < N_OPS; i++) {
        size_t before = ag_tape_size(t);
        ag_tensor *y = uop_apply(t, &all_ops[i], x);
        ck_assert(ag_requires_grad(y));
        ck_assert_uint_eq(ag_tape_size(t), before + 1);
        /* a plain backward records nothing */
        ag_tensor *g = NULL, *ones = ag_ones(t, AG_F64, 1, SHAPE(3));
        ck_assert_int_eq(ag_grad(t, 1, &y, &ones, 1, &x, &g, 0), AG_OK);
        ck_assert_uint_eq(ag_tape_size(t), before + 1);
    }
    ag_set_grad_enabled(t, 0);
    for (size_t i = 0; i < N_OPS; i++)
        ck_assert(!ag_requires_grad(uop_apply(t, &all_ops[i], x)));
    ck_assert_uint_eq(ag_tape_size(t), N_OPS);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* elu at exactly 0: elu'(0) = alpha from the x <= 0 side, elu''(0) = 0
   from the x > 0 side, as PyTorch (found by difftest against PyTorch 1.13) */
START_TEST(test_elu_derivatives_at_zero_match_pytorch)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0, -1, 1)), *g1, *g2;
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_sum(t, ag_elu(t, x, 1.5), AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &y, NULL, 1, &x, &g1, 1), AG_OK);
    tu_assert_values(g1, VALS(1.5, 1.5 * exp(-1.0), 1), 3, 1e-15);
    ag_tensor *v = ag_ones(t, AG_F64, 1, SHAPE(3));
    ck_assert_int_eq(ag_grad(t, 1, &g1, &v, 1, &x, &g2, 0), AG_OK);
    tu_assert_values(g2, VALS(0, 1.5 * exp(-1.0), 0), 3, 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

Suite *suite_activation(void)
{
    Suite *s = suite_create("activation");
    TU_ADD(s, test_sigmoid_values);
    TU_ADD(s, test_softplus_values);
    TU_ADD(s, test_sigmoid_softplus_tails);
    TU_ADD(s, test_sigmoid_softplus_derivatives);
    TU_ADD(s, test_relu_values);
    TU_ADD(s, test_leaky_relu_values);
    TU_ADD(s, test_relu_leaky_derivatives_at_kink);
    TU_ADD(s, test_elu_values);
    TU_ADD(s, test_elu_derivatives);
    TU_ADD(s, test_elu_second_derivative_finite_for_large_x);
    TU_ADD(s, test_elu_derivatives_at_zero_match_pytorch);
    TU_ADD(s, test_clamp_values);
    TU_ADD(s, test_clamp_derivatives);
    TU_ADD(s, test_gradchecks);
    TU_ADD(s, test_shapes_are_kept);
    TU_ADD(s, test_null_input);
    TU_ADD(s, test_clamp_rejects_bad_bounds);
    TU_ADD(s, test_tape_in_error_keeps_first_message);
    TU_ADD(s, test_recording);
    return s;
}
