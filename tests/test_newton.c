/*
** test_newton.c: Newton's method (ag_newton_new, ag_newton_step,
** ag_newton_hessian). The Hessian against the analytic one, the exact
** first step on a quadratic, damping and lr against the solve done here,
** the damping raised on an indefinite Hessian, quadratic convergence on a
** convex function, Rosenbrock against gradient descent, the error paths.
*/
#include "test_util.h"

/* ------------------------------------------------------------ problems --- */

/* f(a, b) = a0^2 a1 + sin(a0) e^b + a1 b^3, a [2] and b [] the parameters. */
static ag_tensor *mixed(ag_tape *t, void *ctx)
{
    ag_tensor **p = ctx;
    ag_tensor *a0 = ag_slice(t, p[0], 0, 0, 1, 1), *a1 = ag_slice(t, p[0], 0, 1, 2, 1);
    ag_tensor *b = p[1];
    ag_tensor *f = ag_add(t, ag_mul(t, ag_square(t, a0), a1),
                          ag_mul(t, ag_sin(t, a0), ag_exp(t, b)));
    return ag_add(t, f, ag_mul(t, a1, ag_pow_scalar(t, b, 3)));
}

/* f(x) = 0.5 x^T A x - b^T x, x = (u0, u1, v) from parameters u [2], v []. */
static const double A3[9] = {4, 1, 0, 1, 3, 1, 0, 1, 2};
static const double B3[3] = {2, -2, 4};
static const double XSTAR3[3] = {1, -2, 3};   /* A x* = b */

static ag_tensor *quadratic(ag_tape *t, void *ctx)
{
    ag_tensor **p = ctx;
    ag_tensor *parts[2] = {p[0], ag_reshape(t, p[1], 1, SHAPE(1))};
    ag_tensor *x = ag_concat(t, 2, parts, 0);
    if (ag_tensor_dtype(p[0]) == AG_F32) x = ag_cast(t, x, AG_F64);
    ag_tensor *A = ag_from_f64(t, AG_F64, 2, SHAPE(3, 3), A3);
    ag_tensor *b = ag_from_f64(t, AG_F64, 1, SHAPE(3), B3);
    ag_tensor *ax = ag_sum(t, ag_mul(t, A, x), 1, 0);
    return ag_sub(t, ag_mul_scalar(t, ag_sum(t, ag_mul(t, x, ax), AG_ALL, 0), 0.5),
                  ag_sum(t, ag_mul(t, b, x), AG_ALL, 0));
}

static void quad_grad(const double *x, double *g)
{
    for (int i = 0; i < 3; i++) {
        g[i] = -B3[i];
        for (int j = 0; j < 3; j++) g[i] += A3[i * 3 + j] * x[j];
    }
}

static void make_uv(ag_tensor **p, ag_dtype dt, double u0, double u1, double v)
{
    p[0] = tu_tensor(dt, 1, SHAPE(2), VALS(u0, u1));
    p[1] = tu_tensor(dt, 0, NULL, VALS(v));
    ag_set_requires_grad(p[0], 1);
    ag_set_requires_grad(p[1], 1);
}

static void get_uv(ag_tensor **p, double *x)
{
    x[0] = ag_tensor_get(p[0], 0), x[1] = ag_tensor_get(p[0], 1), x[2] = ag_tensor_get(p[1], 0);
}

/* Solves the 3x3 system M d = g by Cramer's rule. */
static void solve3(const double *M, const double *g, double *d)
{
#define DET3(a, b, c) ((a)[0] * ((b)[1] * (c)[2] - (b)[2] * (c)[1]) -              \
                       (b)[0] * ((a)[1] * (c)[2] - (a)[2] * (c)[1]) +              \
                       (c)[0] * ((a)[1] * (b)[2] - (a)[2] * (b)[1]))
    double c0[3] = {M[0], M[3], M[6]}, c1[3] = {M[1], M[4], M[7]}, c2[3] = {M[2], M[5], M[8]};
    double det = DET3(c0, c1, c2);
    d[0] = DET3(g, c1, c2) / det;
    d[1] = DET3(c0, g, c2) / det;
    d[2] = DET3(c0, c1, g) / det;
#undef DET3
}

/* ---------------------------------------------------------------- tests --- */

START_TEST(test_newton_hessian_matches_the_analytic_one)
{
    double a0 = 0.7, a1 = -1.3, b = 0.4, eb = exp(b);
    ag_tensor *p[2] = {tu_tensor(AG_F64, 1, SHAPE(2), VALS(a0, a1)),
                       tu_tensor(AG_F64, 0, NULL, VALS(b))};
    ag_set_requires_grad(p[0], 1), ag_set_requires_grad(p[1], 1);
    ag_optim *o = ag_newton_new(2, p, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(ag_optim_name(o), "Newton");
    double loss, g[3], H[9];
    ck_assert_int_eq(ag_newton_hessian(o, mixed, p, &loss, g, H), AG_OK);
    ck_assert_double_eq_tol(loss, a0 * a0 * a1 + sin(a0) * eb + a1 * b * b * b, 1e-14);
    double want_g[3] = {2 * a0 * a1 + cos(a0) * eb, a0 * a0 + b * b * b,
                        sin(a0) * eb + 3 * a1 * b * b};
    double want_h[9] = {2 * a1 - sin(a0) * eb, 2 * a0,  cos(a0) * eb,
                        2 * a0,                0,       3 * b * b,
                        cos(a0) * eb,          3 * b * b, sin(a0) * eb + 6 * a1 * b};
    for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(g[i], want_g[i], 1e-13);
    for (int i = 0; i < 9; i++)
        ck_assert_msg(fabs(H[i] - want_h[i]) < 1e-13, "H[%d][%d] = %.17g, expected %.17g",
                      i / 3, i % 3, H[i], want_h[i]);
    ck_assert_double_eq(ag_tensor_get(p[0], 0), a0);     /* no step taken */
    ck_assert_int_eq(ag_optim_steps(o), 0);
    ck_assert_ptr_null(ag_tensor_grad(p[0]));            /* .grad untouched */
    ck_assert_int_eq(ag_newton_hessian(o, mixed, p, NULL, NULL, NULL), AG_OK);
    ag_optim_free(o);
    ag_tensor_free(p[0]), ag_tensor_free(p[1]);
}
END_TEST

START_TEST(test_newton_first_step_on_a_quadratic_is_exact)
{
    ag_tensor *p[2];
    make_uv(p, AG_F64, 0.3, 0.7, -0.4);
    double x0[3] = {0.3, 0.7, -0.4}, f0 = 0, x[3];
    for (int i = 0; i < 3; i++) {
        f0 -= B3[i] * x0[i];
        for (int j = 0; j < 3; j++) f0 += 0.5 * x0[i] * A3[i * 3 + j] * x0[j];
    }
    ag_optim *o = ag_newton_new(2, p, NULL);
    double loss;
    ck_assert_int_eq(ag_newton_step(o, quadratic, p, &loss), AG_OK);
    ck_assert_double_eq_tol(loss, f0, 1e-14);
    get_uv(p, x);
    for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(x[i], XSTAR3[i], 1e-12);
    ck_assert_double_eq(ag_newton_last_damping(o), 0);
    ck_assert_int_eq(ag_optim_steps(o), 1);
    ck_assert_int_eq(ag_optim_state(o, NULL, 0), 0);     /* stateless */
    /* at the minimum the next step stays there */
    ck_assert_int_eq(ag_newton_step(o, quadratic, p, &loss), AG_OK);
    get_uv(p, x);
    for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(x[i], XSTAR3[i], 1e-12);
    ag_optim_free(o);
    ag_tensor_free(p[0]), ag_tensor_free(p[1]);
}
END_TEST

START_TEST(test_newton_damping_and_lr_follow_the_damped_solve)
{
    /* x1 = x0 - lr (A + lambda I)^-1 g0 */
    double lambda = 0.5, lr = 0.7, x0[3] = {0.3, 0.7, -0.4}, g0[3], M[9], d[3], x[3];
    quad_grad(x0, g0);
    for (int i = 0; i < 9; i++) M[i] = A3[i] + (i % 4 == 0 ? lambda : 0);
    solve3(M, g0, d);
    ag_tensor *p[2];
    make_uv(p, AG_F64, x0[0], x0[1], x0[2]);
    ag_optim *o = ag_newton_new(2, p, &(ag_newton_opts){lr, lambda, 1000});
    ck_assert_double_eq(ag_optim_get_lr(o), lr);
    ck_assert_int_eq(ag_newton_step(o, quadratic, p, NULL), AG_OK);
    get_uv(p, x);
    for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(x[i], x0[i] - lr * d[i], 1e-13);
    ck_assert_double_eq(ag_newton_last_damping(o), lambda);
    ag_optim_free(o);
    ag_tensor_free(p[0]), ag_tensor_free(p[1]);
}
END_TEST

/* f(x, y) = x^2 - y^2 + x y: H = [[2, 1], [1, -2]] is indefinite. */
static ag_tensor *saddle(ag_tape *t, void *ctx)
{
    ag_tensor *p = ctx;
    ag_tensor *x = ag_slice(t, p, 0, 0, 1, 1), *y = ag_slice(t, p, 0, 1, 2, 1);
    return ag_add(t, ag_sub(t, ag_square(t, x), ag_square(t, y)), ag_mul(t, x, y));
}

START_TEST(test_newton_raises_damping_on_an_indefinite_hessian)
{
    double x0 = 1, y0 = 0.5, h[3] = {2, 1, -2};       /* h00, h01, h11 */
    /* the documented rule: lambda = max(2 lambda, beta, beta - min H_ii),
       beta = 1e-3 max |H_ij|, until H + lambda I is positive definite */
    double beta = 1e-3 * 2, lambda = 0;
    int raises = 0;
    while (!(h[0] + lambda > 0 && (h[0] + lambda) * (h[2] + lambda) - h[1] * h[1] > 0)) {
        lambda = fmax(fmax(2 * lambda, beta), beta - (-2));
        raises++;
    }
    ck_assert_int_eq(raises, 2);                      /* 2.002 is not enough */
    double a = h[0] + lambda, c = h[2] + lambda, det = a * c - h[1] * h[1];
    double gx = 2 * x0 + y0, gy = -2 * y0 + x0;
    double dx = (c * gx - h[1] * gy) / det, dy = (a * gy - h[1] * gx) / det;
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(2), VALS(x0, y0));
    ag_set_requires_grad(p, 1);
    ag_optim *o = ag_newton_new(1, &p, NULL);
    double loss;
    ck_assert_int_eq(ag_newton_step(o, saddle, p, &loss), AG_OK);
    ck_assert_double_eq_tol(ag_newton_last_damping(o), lambda, 1e-15);
    ck_assert_double_eq_tol(ag_tensor_get(p, 0), x0 - dx, 1e-14);
    ck_assert_double_eq_tol(ag_tensor_get(p, 1), y0 - dy, 1e-14);
    double x1 = ag_tensor_get(p, 0), y1 = ag_tensor_get(p, 1);
    ck_assert_double_lt(x1 * x1 - y1 * y1 + x1 * y1, loss);   /* a descent step */
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

/* f(x) = sum exp(x_i) - c_i x_i: convex, minimum at x_i = log c_i. */
static ag_tensor *exp_linear(ag_tape *t, void *ctx)
{
    ag_tensor *p = ctx;
    ag_tensor *c = ag_from_f64(t, AG_F64, 1, SHAPE(3), VALS(2, 0.5, 5));
    return ag_sum(t, ag_sub(t, ag_exp(t, p), ag_mul(t, c, p)), AG_ALL, 0);
}

START_TEST(test_newton_converges_quadratically_on_a_convex_function)
{
    const double c[3] = {2, 0.5, 5};
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0, 0, 0));
    ag_set_requires_grad(p, 1);
    ag_optim *o = ag_newton_new(1, &p, NULL);
    double err_prev = INFINITY;
    int steps = 0;
    for (; steps < 20; steps++) {
        double x[3], err = 0;
        for (int i = 0; i < 3; i++) x[i] = ag_tensor_get(p, i);
        ck_assert_int_eq(ag_newton_step(o, exp_linear, p, NULL), AG_OK);
        for (int i = 0; i < 3; i++) {      /* the 1-D Newton update, coordinate-wise */
            double want = x[i] - (exp(x[i]) - c[i]) / exp(x[i]);
            ck_assert_double_eq_tol(ag_tensor_get(p, i), want, 1e-12 * fmax(1, fabs(want)));
            err = fmax(err, fabs(ag_tensor_get(p, i) - log(c[i])));
        }
        if (err_prev < 0.1) ck_assert_double_le(err, err_prev * err_prev + 1e-15);
        err_prev = err;
        if (err < 1e-13) break;
    }
    ck_assert_int_lt(steps, 8);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

static ag_tensor *rosenbrock(ag_tape *t, void *ctx)
{
    ag_tensor *p = ctx;
    ag_tensor *x = ag_slice(t, p, 0, 0, 1, 1), *y = ag_slice(t, p, 0, 1, 2, 1);
    return ag_add(t, ag_square(t, ag_rsub_scalar(t, x, 1)),
                  ag_mul_scalar(t, ag_square(t, ag_sub(t, y, ag_square(t, x))), 100));
}

START_TEST(test_newton_beats_gradient_descent_on_rosenbrock)
{
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(2), VALS(-1.2, 1));
    ag_set_requires_grad(p, 1);
    ag_optim *o = ag_newton_new(1, &p, NULL);
    /* the first step by hand: H d = g with Rosenbrock's analytic g and H */
    double x = -1.2, y = 1, gx = -2 * (1 - x) - 400 * x * (y - x * x), gy = 200 * (y - x * x);
    double hxx = 2 - 400 * (y - x * x) + 800 * x * x, hxy = -400 * x, hyy = 200;
    double det = hxx * hyy - hxy * hxy;
    ck_assert_int_eq(ag_newton_step(o, rosenbrock, p, NULL), AG_OK);
    ck_assert_double_eq_tol(ag_tensor_get(p, 0), x - (hyy * gx - hxy * gy) / det, 1e-13);
    ck_assert_double_eq_tol(ag_tensor_get(p, 1), y - (hxx * gy - hxy * gx) / det, 1e-13);
    int steps = 1;
    while (steps < 100 && hypot(ag_tensor_get(p, 0) - 1, ag_tensor_get(p, 1) - 1) > 1e-6) {
        ck_assert_int_eq(ag_newton_step(o, rosenbrock, p, NULL), AG_OK);
        steps++;
    }
    ck_assert_double_le(hypot(ag_tensor_get(p, 0) - 1, ag_tensor_get(p, 1) - 1), 1e-6);
    ck_assert_int_lt(steps, 100);
    ag_optim_free(o);
    /* gradient descent, x -= lr * grad at a stable lr, 10x as many steps */
    ag_tensor_set(p, 0, -1.2), ag_tensor_set(p, 1, 1);
    ag_tape *t = ag_tape_new();
    for (int k = 0; k < 10 * steps; k++) {
        ag_tensor *f = rosenbrock(t, p), *g;
        ck_assert_int_eq(ag_grad(t, 1, &f, NULL, 1, &p, &g, 0), AG_OK);
        for (int i = 0; i < 2; i++)
            ag_tensor_set(p, i, ag_tensor_get(p, i) - 1e-3 * ag_tensor_get(g, i));
        ag_tape_reset(t);
    }
    ag_tape_free(t);
    double gd = hypot(ag_tensor_get(p, 0) - 1, ag_tensor_get(p, 1) - 1);
    ck_assert_msg(gd > 1e-2 && isfinite(gd), "GD is %g away after %d steps", gd, 10 * steps);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_newton_f32_parameters)
{
    ag_tensor *p[2];
    make_uv(p, AG_F32, 0.3, 0.7, -0.4);
    ag_optim *o = ag_newton_new(2, p, NULL);
    ck_assert_int_eq(ag_newton_step(o, quadratic, p, NULL), AG_OK);
    double x[3];
    get_uv(p, x);
    for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(x[i], XSTAR3[i], 1e-5);
    ck_assert_int_eq(ag_tensor_dtype(p[0]), AG_F32);
    ag_optim_free(o);
    ag_tensor_free(p[0]), ag_tensor_free(p[1]);
}
END_TEST

/* ---------------------------------------------------------------- errors --- */

static ag_tensor *sqrt_sum(ag_tape *t, void *ctx)       /* NaN for x < 0 */
{
    return ag_sum(t, ag_sqrt(t, (ag_tensor *)ctx), AG_ALL, 0);
}

static ag_tensor *two_elements(ag_tape *t, void *ctx) { return ag_exp(t, (ag_tensor *)ctx); }

static ag_tensor *bad_shapes(ag_tape *t, void *ctx)
{
    return ag_add(t, (ag_tensor *)ctx, ag_ones(t, AG_F64, 1, SHAPE(3)));
}

#define assert_last_error(status, expr, part1, part2)                          \
    do {                                                                      \
        ck_assert_int_eq((expr), (status));                                   \
        ck_assert_msg(strstr(ag_last_error(), (part1)), "'%s' lacks '%s'",     \
                      ag_last_error(), (part1));                              \
        ck_assert_msg(strstr(ag_last_error(), (part2)), "'%s' lacks '%s'",     \
                      ag_last_error(), (part2));                              \
    } while (0)

START_TEST(test_newton_refuses_too_many_parameters)
{
    ag_tensor *p[2] = {ag_zeros(NULL, AG_F64, 1, SHAPE(600)), ag_zeros(NULL, AG_F64, 2, SHAPE(1, 401))};
    ag_optim *o = ag_newton_new(1, p, NULL);                  /* 600 <= 1000 */
    ck_assert_ptr_nonnull(o);
    ag_optim_free(o);
    ck_assert_ptr_null(ag_newton_new(2, p, NULL));             /* 1001 > 1000 */
    ck_assert_msg(strstr(ag_last_error(), "ag_newton_new: the parameters have 1001 elements, "
                         "more than max_params 1000"), "%s", ag_last_error());
    o = ag_newton_new(2, p, &(ag_newton_opts){1, 0, 1001});
    ck_assert_ptr_nonnull(o);
    ag_optim_free(o);
    ag_tensor_free(p[0]), ag_tensor_free(p[1]);
}
END_TEST

START_TEST(test_newton_error_paths)
{
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(2), VALS(-1.2, 1));
    ag_set_requires_grad(p, 1);
    ag_optim *o = ag_newton_new(1, &p, NULL);
    assert_last_error(AG_ERR_ARG, ag_newton_step(o, NULL, p, NULL), "ag_newton_step",
                      "closure is NULL");
    assert_last_error(AG_ERR_ARG, ag_newton_step(NULL, rosenbrock, p, NULL), "ag_newton_step",
                      "NULL");
    assert_last_error(AG_ERR_ARG, ag_optim_step(o), "Newton", "needs a closure");
    assert_last_error(AG_ERR_SHAPE, ag_newton_step(o, two_elements, p, NULL), "ag_newton_step",
                      "one element, got shape [2]");
    assert_last_error(AG_ERR_SHAPE, ag_newton_step(o, bad_shapes, p, NULL),
                      "ag_newton_step: the closure failed: ag_add", "[3]");
    assert_last_error(AG_ERR_ARG, ag_newton_hessian(o, NULL, p, NULL, NULL, NULL),
                      "ag_newton_hessian", "closure is NULL");
    /* a NaN gradient: refused, parameters unchanged */
    assert_last_error(AG_ERR_ARG, ag_newton_step(o, sqrt_sum, p, NULL), "ag_newton_step",
                      "gradient element 0 is ");
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "nan"));
    ck_assert_double_eq(ag_tensor_get(p, 0), -1.2);
    ck_assert_double_eq(ag_tensor_get(p, 1), 1);
    ck_assert_int_eq(ag_optim_steps(o), 0);
    ag_set_requires_grad(p, 0);
    assert_last_error(AG_ERR_ARG, ag_newton_step(o, rosenbrock, p, NULL), "parameter 0",
                      "does not require grad");
    ag_set_requires_grad(p, 1);
    ag_optim *lb = ag_lbfgs_new(1, &p, NULL);
    assert_last_error(AG_ERR_ARG, ag_newton_step(lb, rosenbrock, p, NULL), "ag_newton_step",
                      "not a Newton");
    assert_last_error(AG_ERR_ARG, ag_newton_hessian(lb, rosenbrock, p, NULL, NULL, NULL),
                      "ag_newton_hessian", "not a Newton");
    ck_assert_double_eq(ag_newton_last_damping(lb), 0);
    ck_assert_double_eq(ag_newton_last_damping(NULL), 0);
    ag_optim_free(lb);
    ck_assert_ptr_null(ag_newton_new(1, &p, &(ag_newton_opts){1, -1, 1000}));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_newton_new: damping is -1"));
    ck_assert_ptr_null(ag_newton_new(1, &p, &(ag_newton_opts){1, 0, 0}));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "max_params is 0"));
    ck_assert_ptr_null(ag_newton_new(1, &p, &(ag_newton_opts){-2, 0, 10}));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "lr is -2"));
    /* still usable */
    double loss;
    ck_assert_int_eq(ag_newton_step(o, rosenbrock, p, &loss), AG_OK);
    ck_assert_double_eq_tol(loss, 24.2, 1e-12);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

Suite *suite_newton(void)
{
    Suite *s = suite_create("newton");
    TU_ADD(s, test_newton_hessian_matches_the_analytic_one);
    TU_ADD(s, test_newton_first_step_on_a_quadratic_is_exact);
    TU_ADD(s, test_newton_damping_and_lr_follow_the_damped_solve);
    TU_ADD(s, test_newton_raises_damping_on_an_indefinite_hessian);
    TU_ADD(s, test_newton_converges_quadratically_on_a_convex_function);
    TU_ADD(s, test_newton_beats_gradient_descent_on_rosenbrock);
    TU_ADD(s, test_newton_f32_parameters);
    TU_ADD(s, test_newton_refuses_too_many_parameters);
    TU_ADD(s, test_newton_error_paths);
    return s;
}
