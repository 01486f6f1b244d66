/*
** test_jvp.c: the forward-mode API (ag_jvp.h). ag_jvp against derivatives
** by hand, zero and missing tangents, the tangent differentiated again
** (reverse-over-forward, create_graph) and a Hessian-vector product by
** forward-over-reverse; ag_jacobian in both modes against the formula and
** central differences, tall, wide, several inputs, a 0-d output;
** ag_hessian in both modes against the formula and differences of the
** gradient; every error path with its message.
*/
#include "test_util.h"

/* f(x) = sin(x) * x, so f'(x) = cos(x) x + sin(x) */
static ag_tensor *f_sinx(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_mul(t, ag_sin(t, in[0]), in[0]);
}

START_TEST(test_jvp_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_from_f64(t, AG_F64, 1, SHAPE(3), VALS(0.5, 2, -1));
    ag_tensor *v = ag_from_f64(t, AG_F64, 1, SHAPE(3), VALS(1, 0, -2));
    ag_tensor *y, *ty;
    ck_assert_int_eq(ag_jvp(t, f_sinx, NULL, 1, &x, &v, &y, &ty, 0), AG_OK);
    const double e[3] = {sin(0.5) * 0.5, sin(2) * 2, sin(-1) * -1};
    const double te[3] = {cos(0.5) * 0.5 + sin(0.5), 0, -2 * (cos(-1) * -1 + sin(-1))};
    tu_assert_values(y, e, 3, 1e-15);
    tu_assert_values(ty, te, 3, 1e-15);
    ag_tape_free(t);
}
END_TEST

/* f32 in, f32 out: the tangent keeps the dtype, computed in float */
START_TEST(test_jvp_f32)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_from_f64(t, AG_F32, 1, SHAPE(2), VALS(0.5, 2));
    ag_tensor *v = ag_from_f64(t, AG_F32, 1, SHAPE(2), VALS(1, -1));
    ag_tensor *y, *ty;
    ck_assert_int_eq(ag_jvp(t, f_sinx, NULL, 1, &x, &v, &y, &ty, 0), AG_OK);
    ck_assert_int_eq(ag_tensor_dtype(ty), AG_F32);
    tu_assert_values(ty, VALS(cos(0.5) * 0.5 + sin(0.5), -(cos(2) * 2 + sin(2))), 2, 2e-6);
    ag_tape_free(t);
}
END_TEST

/* y = x0 * x1 + x0 (x1 broadcast over rows) */
static ag_tensor *f_two(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_add(t, ag_mul(t, in[0], in[1]), in[0]);
}

START_TEST(test_jvp_two_inputs_and_null_tangents)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x0 = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(1, 2, 3, 4));
    ag_tensor *x1 = tu_tensor(AG_F64, 1, SHAPE(2), VALS(-1, 0.5));
    ag_tensor *v0 = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(0.5, 1, -1, 2));
    ag_tensor *v1 = tu_tensor(AG_F64, 1, SHAPE(2), VALS(3, -2));
    ag_tensor *in[2] = {x0, x1}, *y, *ty;
    /* both: ty = v0*x1 + x0*v1 + v0 */
    ck_assert_int_eq(ag_jvp(t, f_two, NULL, 2, in, (ag_tensor *[]){v0, v1}, &y, &ty, 0), AG_OK);
    tu_assert_values(ty, VALS(0.5 * -1 + 1 * 3 + 0.5, 1 * 0.5 + 2 * -2 + 1,
                              -1 * -1 + 3 * 3 - 1, 2 * 0.5 + 4 * -2 + 2), 4, 1e-15);
    /* a NULL tangent is zero: only x1 moves */
    ck_assert_int_eq(ag_jvp(t, f_two, NULL, 2, in, (ag_tensor *[]){NULL, v1}, &y, &ty, 0), AG_OK);
    tu_assert_values(ty, VALS(3, -4, 9, -8), 4, 1e-15);
    /* no tangents at all: zeros of y's shape */
    ck_assert_int_eq(ag_jvp(t, f_two, NULL, 2, in, NULL, &y, &ty, 0), AG_OK);
    tu_assert_shape(ty, 2, SHAPE(2, 2));
    tu_assert_values(ty, VALS(0, 0, 0, 0), 4, 0);
    ag_tape_free(t);
    ag_tensor_free(x0), ag_tensor_free(x1), ag_tensor_free(v0), ag_tensor_free(v1);
}
END_TEST

/* y = c (a constant made inside: no input reaches it) */
static ag_tensor *f_const(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)in, (void)ctx;
    return ag_exp(t, ag_from_f64(t, AG_F64, 1, SHAPE(2), VALS(0, 1)));
}

/* y = x with no op at all */
static ag_tensor *f_identity(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)t, (void)ctx;
    return in[0];
}

START_TEST(test_jvp_constant_and_identity)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_from_f64(t, AG_F64, 1, SHAPE(2), VALS(3, 4));
    ag_tensor *v = ag_from_f64(t, AG_F64, 1, SHAPE(2), VALS(-1, 7));
    ag_tensor *y, *ty;
    ck_assert_int_eq(ag_jvp(t, f_const, NULL, 1, &x, &v, &y, &ty, 0), AG_OK);
    tu_assert_values(y, VALS(1, exp(1)), 2, 1e-15);
    tu_assert_values(ty, VALS(0, 0), 2, 0);
    ck_assert_int_eq(ag_jvp(t, f_identity, NULL, 1, &x, &v, &y, &ty, 0), AG_OK);
    tu_assert_values(y, VALS(3, 4), 2, 0);
    tu_assert_values(ty, VALS(-1, 7), 2, 0);
    ag_tape_free(t);
}
END_TEST

/* y = x^3 */
static ag_tensor *f_cube(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_mul(t, ag_square(t, in[0]), in[0]);
}

/* Reverse-over-forward: ty = 3 x^2 v recorded (create_graph), so
   d sum(ty) / dx = 6 x v and d sum(ty) / dv = 3 x^2; y stays
   differentiable in x (dy/dx = 3 x^2). */
START_TEST(test_jvp_create_graph)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(2, -1));
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0.5, 3));
    ag_set_requires_grad(x, 1);
    ag_set_requires_grad(v, 1);
    ag_tensor *y, *ty, *g[2];
    ck_assert_int_eq(ag_jvp(t, f_cube, NULL, 1, &x, &v, &y, &ty, 1), AG_OK);
    tu_assert_values(ty, VALS(3 * 4 * 0.5, 3 * 1 * 3), 2, 1e-15);
    ag_tensor *s = ag_sum(t, ty, AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &s, NULL, 2, (ag_tensor *[]){x, v}, g, 0), AG_OK);
    tu_assert_values(g[0], VALS(6 * 2 * 0.5, 6 * -1 * 3), 2, 1e-15);
    tu_assert_values(g[1], VALS(12, 3), 2, 1e-15);
    ag_tensor *sy = ag_sum(t, y, AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &sy, NULL, 1, &x, g, 0), AG_OK);
    tu_assert_values(g[0], VALS(12, 3), 2, 1e-15);
    /* without create_graph the tangent is a constant */
    ck_assert_int_eq(ag_jvp(t, f_cube, NULL, 1, &x, &v, &y, &ty, 0), AG_OK);
    ck_assert_int_eq(ag_requires_grad(ty), 0);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(v);
}
END_TEST

/* f(x) = sum(x0^2 x1 + sin(x0 x1)) over a vector; its gradient, for a
   Hessian-vector product by forward-over-reverse. */
static ag_tensor *f_scalar(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *x0 = ag_slice(t, in[0], 0, 0, 1, 1), *x1 = ag_slice(t, in[0], 0, 1, 2, 1);
    ag_tensor *p = ag_mul(t, x0, x1);
    return ag_sum(t, ag_add(t, ag_mul(t, p, x0), ag_sin(t, p)), AG_ALL, 0);
}

static ag_tensor *f_scalar_grad(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *y = f_scalar(t, in, ctx), *g;
    return ag_grad(t, 1, &y, NULL, 1, in, &g, 1) == AG_OK ? g : NULL;
}

/* The Hessian of f_scalar at (a, b), row-major 2x2. */
static void scalar_hessian(double a, double b, double *h)
{
    const double p = a * b, s = sin(p), c = cos(p);
    h[0] = 2 * b - b * b * s;
    h[1] = h[2] = 2 * a + c - a * b * s;
    h[3] = -a * a * s;
}

START_TEST(test_jvp_hvp_forward_over_reverse)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0.7, -1.3));
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(2), VALS(2, 0.5));
    ag_tensor *g, *hv;
    double h[4];
    scalar_hessian(0.7, -1.3, h);
    ck_assert_int_eq(ag_jvp(t, f_scalar_grad, NULL, 1, &x, &v, &g, &hv, 0), AG_OK);
    tu_assert_values(hv, VALS(h[0] * 2 + h[1] * 0.5, h[2] * 2 + h[3] * 0.5), 2, 1e-14);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(v);
}
END_TEST

/* f(x) = [x0 x1, sin x0, x1^2, exp(x0 + x1)]: a tall 4x2 Jacobian */
static ag_tensor *f_tall(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *x0 = ag_slice(t, in[0], 0, 0, 1, 1), *x1 = ag_slice(t, in[0], 0, 1, 2, 1);
    ag_tensor *parts[4] = {ag_mul(t, x0, x1), ag_sin(t, x0), ag_square(t, x1),
                           ag_exp(t, ag_add(t, x0, x1))};
    return ag_concat(t, 4, parts, 0);
}

START_TEST(test_jacobian_tall_both_modes)
{
    const double a = 0.3, b = -0.8, e = exp(a + b);
    const double J[8] = {b, a, cos(a), 0, 0, 2 * b, e, e};
    const ag_jac_mode modes[3] = {AG_JAC_AUTO, AG_JAC_FORWARD, AG_JAC_REVERSE};
    for (int m = 0; m < 3; m++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *x = ag_from_f64(t, AG_F64, 1, SHAPE(2), VALS(a, b)), *jac;
        ck_assert_int_eq(ag_jacobian(t, f_tall, NULL, 1, &x, modes[m], &jac), AG_OK);
        tu_assert_shape(jac, 2, SHAPE(4, 2));
        tu_assert_values(jac, J, 8, 1e-15);
        ck_assert_int_eq(ag_requires_grad(jac), 0);
        ag_tape_free(t);
    }
}
END_TEST

/* y = softmax(w @ x + b): [3] from w [3,2], x [2], b [3]; wide in all */
static ag_tensor *f_layer(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *z = ag_add(t, ag_reshape(t, ag_matmul(t, in[0], ag_reshape(t, in[1], 2,
                                                                          SHAPE(2, 1))),
                                        1, SHAPE(3)), in[2]);
    return ag_softmax(t, ag_tanh(t, z), 0);
}

/* Central differences of f_layer's output element e in input k, element j. */
static double layer_fd(ag_tensor **in, int k, int64_t j, int64_t e)
{
    const double h = 1e-6, x0 = ag_tensor_get(in[k], j);
    double side[2];
    for (int s = 0; s < 2; s++) {
        ag_tape *t = ag_tape_new();
        ag_tensor_set(in[k], j, x0 + (s ? -h : h));
        side[s] = ag_tensor_get(f_layer(t, in, NULL), e);
        ag_tape_free(t);
    }
    ag_tensor_set(in[k], j, x0);
    return (side[0] - side[1]) / (2 * h);
}

START_TEST(test_jacobian_several_inputs_against_differences)
{
    ag_tensor *in[3] = {tu_random(2, SHAPE(3, 2), -1, 1, 5), tu_random(1, SHAPE(2), -1, 1, 6),
                        tu_random(1, SHAPE(3), -1, 1, 7)};
    const int64_t shapes[3][3] = {{3, 3, 2}, {3, 2, 0}, {3, 3, 0}};
    const int nd[3] = {3, 2, 2};
    ag_tensor *jf[3], *jr[3];
    ag_tape *t = ag_tape_new();
    ck_assert_int_eq(ag_jacobian(t, f_layer, NULL, 3, in, AG_JAC_FORWARD, jf), AG_OK);
    ck_assert_int_eq(ag_jacobian(t, f_layer, NULL, 3, in, AG_JAC_REVERSE, jr), AG_OK);
    for (int k = 0; k < 3; k++) {
        tu_assert_shape(jf[k], nd[k], shapes[k]);
        const int64_t nk = ag_tensor_numel(in[k]);
        for (int64_t e = 0; e < 3; e++)
            for (int64_t j = 0; j < nk; j++) {
                double f = ag_tensor_get(jf[k], e * nk + j), r = ag_tensor_get(jr[k], e * nk + j);
                ck_assert_msg(fabs(f - r) <= 1e-14, "input %d [%lld,%lld]: %g vs %g", k,
                              (long long)e, (long long)j, f, r);
                ck_assert_msg(fabs(f - layer_fd(in, k, j, e)) <= 1e-8, "input %d [%lld,%lld]",
                              k, (long long)e, (long long)j);
            }
    }
    ag_tape_free(t);
    for (int k = 0; k < 3; k++) ag_tensor_free(in[k]);
}
END_TEST

/* a 0-d output: the Jacobian has the input's shape (the gradient) */
START_TEST(test_jacobian_scalar_output)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_from_f64(t, AG_F64, 1, SHAPE(2), VALS(0.7, -1.3)), *jac;
    ck_assert_int_eq(ag_jacobian(t, f_scalar, NULL, 1, &x, AG_JAC_FORWARD, &jac), AG_OK);
    tu_assert_shape(jac, 1, SHAPE(2));
    const double p = 0.7 * -1.3;
    tu_assert_values(jac, VALS(2 * p + -1.3 * cos(p), 0.7 * 0.7 + 0.7 * cos(p)), 2, 1e-15);
    ag_tape_free(t);
}
END_TEST

START_TEST(test_hessian_both_modes)
{
    double h[4];
    scalar_hessian(0.7, -1.3, h);
    const ag_jac_mode modes[3] = {AG_JAC_AUTO, AG_JAC_FORWARD, AG_JAC_REVERSE};
    for (int m = 0; m < 3; m++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *x = ag_from_f64(t, AG_F64, 1, SHAPE(2), VALS(0.7, -1.3)), *H;
        ck_assert_int_eq(ag_hessian(t, f_scalar, NULL, 1, &x, modes[m], &H), AG_OK);
        tu_assert_shape(H, 2, SHAPE(2, 2));
        tu_assert_values(H, h, 4, 1e-14);
        ag_tape_free(t);
    }
}
END_TEST

/* f(x, y) = sum(x * y^2) + sum(x)^2 over x [2], y [2] */
static ag_tensor *f_xy(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *a = ag_sum(t, ag_mul(t, in[0], ag_square(t, in[1])), AG_ALL, 0);
    return ag_add(t, a, ag_square(t, ag_sum(t, in[0], AG_ALL, 0)));
}

/* The gradient of f_xy in input k, element j, at in (by reverse mode). */
static double xy_grad(ag_tensor **in, int k, int64_t j)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x[2] = {ag_detach(t, in[0]), ag_detach(t, in[1])}, *g[2];
    ag_set_requires_grad(x[0], 1), ag_set_requires_grad(x[1], 1);
    ag_tensor *y = f_xy(t, x, NULL);
    ck_assert_int_eq(ag_grad(t, 1, &y, NULL, 2, x, g, 0), AG_OK);
    double v = ag_tensor_get(g[k], j);
    ag_tape_free(t);
    return v;
}

START_TEST(test_hessian_blocks_against_differences)
{
    ag_tensor *in[2] = {tu_tensor(AG_F64, 1, SHAPE(2), VALS(0.5, -2)),
                        tu_tensor(AG_F64, 1, SHAPE(2), VALS(1.5, 0.25))};
    ag_tensor *H[4];
    ag_tape *t = ag_tape_new();
    ck_assert_int_eq(ag_hessian(t, f_xy, NULL, 2, in, AG_JAC_FORWARD, H), AG_OK);
    /* by hand: Hxx = 2 (all ones), Hxy = diag(2y), Hyx = diag(2y), Hyy = diag(2x) */
    tu_assert_values(H[0], VALS(2, 2, 2, 2), 4, 1e-15);
    tu_assert_values(H[1], VALS(3, 0, 0, 0.5), 4, 1e-15);
    tu_assert_values(H[2], VALS(3, 0, 0, 0.5), 4, 1e-15);
    tu_assert_values(H[3], VALS(1, 0, 0, -4), 4, 1e-15);
    /* and by central differences of the gradient */
    for (int k = 0; k < 2; k++)
        for (int l = 0; l < 2; l++)
            for (int64_t i = 0; i < 2; i++)
                for (int64_t j = 0; j < 2; j++) {
                    const double x0 = ag_tensor_get(in[l], j), h = 1e-6;
                    ag_tensor_set(in[l], j, x0 + h);
                    double gp = xy_grad(in, k, i);
                    ag_tensor_set(in[l], j, x0 - h);
                    double gm = xy_grad(in, k, i);
                    ag_tensor_set(in[l], j, x0);
                    ck_assert(fabs(ag_tensor_get(H[k * 2 + l], i * 2 + j) - (gp - gm) / (2 * h))
                              <= 1e-7);
                }
    ag_tape_free(t);
    ag_tensor_free(in[0]), ag_tensor_free(in[1]);
}
END_TEST

/* a linear function: its Hessian is zero, its gradient a constant */
static ag_tensor *f_linear(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_sum(t, ag_mul_scalar(t, in[0], 3), AG_ALL, 0);
}

START_TEST(test_hessian_linear_and_constant)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_from_f64(t, AG_F64, 1, SHAPE(3), VALS(1, 2, 3)), *H;
    for (int m = AG_JAC_FORWARD; m >= AG_JAC_REVERSE; m--) {
        ck_assert_int_eq(ag_hessian(t, f_linear, NULL, 1, &x, (ag_jac_mode)m, &H), AG_OK);
        tu_assert_shape(H, 2, SHAPE(3, 3));
        tu_assert_values(H, VALS(0, 0, 0, 0, 0, 0, 0, 0, 0), 9, 0);
    }
    ag_tape_free(t);
}
END_TEST

static ag_tensor *f_null(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)t, (void)in, (void)ctx;
    return NULL;
}

START_TEST(test_jvp_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_from_f64(t, AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_tensor *v3 = ag_from_f64(t, AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_tensor *vf = ag_ones(t, AG_F32, 1, SHAPE(2));
    ag_tensor *y = x, *ty = x;
    ck_assert_int_eq(ag_jvp(NULL, f_sinx, NULL, 1, &x, NULL, &y, &ty, 0), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_jvp: tape is NULL"));
    ck_assert_int_eq(ag_jvp(t, f_sinx, NULL, 1, &x, &v3, &y, &ty, 0), AG_ERR_SHAPE);
    ck_assert_ptr_null(y);
    ck_assert_ptr_null(ty);
    tu_assert_error(t, NULL, AG_ERR_SHAPE, "ag_jvp: tangent 0 is [3]", "input 0 is [2]");
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_jvp(t, f_sinx, NULL, 1, &x, &vf, &y, &ty, 0), AG_ERR_DTYPE);
    tu_assert_error(t, NULL, AG_ERR_DTYPE, "ag_jvp: tangent 0 is f32", "input 0 is f64");
    /* sticky: a tape in error refuses */
    ck_assert_int_eq(ag_jvp(t, f_sinx, NULL, 1, &x, NULL, &y, &ty, 0), AG_ERR_DTYPE);
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_jvp(t, NULL, NULL, 1, &x, NULL, &y, &ty, 0), AG_ERR_ARG);
    tu_assert_error(t, NULL, AG_ERR_ARG, "ag_jvp", "fn is NULL");
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_jvp(t, f_sinx, NULL, 0, &x, NULL, &y, &ty, 0), AG_ERR_ARG);
    tu_assert_error(t, NULL, AG_ERR_ARG, "ag_jvp", "n_inputs must be at least 1");
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_jvp(t, f_sinx, NULL, 1, &x, NULL, NULL, &ty, 0), AG_ERR_ARG);
    tu_assert_error(t, NULL, AG_ERR_ARG, "ag_jvp", "output or output_tangent is NULL");
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_jvp(t, f_null, NULL, 1, &x, NULL, &y, &ty, 0), AG_ERR_ARG);
    tu_assert_error(t, NULL, AG_ERR_ARG, "ag_jvp", "the function returned NULL");
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_jvp(t, f_sinx, NULL, 1, (ag_tensor *[]){NULL}, NULL, &y, &ty, 0),
                     AG_ERR_ARG);
    tu_assert_error(t, NULL, AG_ERR_ARG, "ag_jvp", "an input");
    ag_tape_free(t);
}
END_TEST

START_TEST(test_jacobian_hessian_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_from_f64(t, AG_F64, 1, SHAPE(2), VALS(1, 2)), *J = x, *H[1] = {x};
    ck_assert_int_eq(ag_jacobian(NULL, f_sinx, NULL, 1, &x, AG_JAC_AUTO, &J), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_jacobian: tape is NULL"));
    ck_assert_int_eq(ag_jacobian(t, f_sinx, NULL, 1, &x, (ag_jac_mode)7, &J), AG_ERR_ARG);
    ck_assert_ptr_null(J);
    tu_assert_error(t, NULL, AG_ERR_ARG, "ag_jacobian: mode 7", "AG_JAC_FORWARD");
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_jacobian(t, f_sinx, NULL, 1, &x, AG_JAC_AUTO, NULL), AG_ERR_ARG);
    tu_assert_error(t, NULL, AG_ERR_ARG, "ag_jacobian", "the result array is NULL");
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_jacobian(t, f_null, NULL, 1, &x, AG_JAC_AUTO, &J), AG_ERR_ARG);
    tu_assert_error(t, NULL, AG_ERR_ARG, "ag_jacobian", "the function returned NULL");
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_hessian(t, f_sinx, NULL, 1, &x, AG_JAC_AUTO, H), AG_ERR_SHAPE);
    ck_assert_ptr_null(H[0]);
    tu_assert_error(t, NULL, AG_ERR_SHAPE, "ag_hessian: the function's result is [2]",
                    "not one element");
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_hessian(t, f_scalar, NULL, 0, &x, AG_JAC_AUTO, H), AG_ERR_ARG);
    tu_assert_error(t, NULL, AG_ERR_ARG, "ag_hessian", "n_inputs must be at least 1");
    ag_tape_free(t);
}
END_TEST

Suite *suite_jvp(void)
{
    Suite *s = suite_create("jvp");
    TU_ADD(s, test_jvp_by_hand);
    TU_ADD(s, test_jvp_f32);
    TU_ADD(s, test_jvp_two_inputs_and_null_tangents);
    TU_ADD(s, test_jvp_constant_and_identity);
    TU_ADD(s, test_jvp_create_graph);
    TU_ADD(s, test_jvp_hvp_forward_over_reverse);
    TU_ADD(s, test_jacobian_tall_both_modes);
    TU_ADD(s, test_jacobian_several_inputs_against_differences);
    TU_ADD(s, test_jacobian_scalar_output);
    TU_ADD(s, test_hessian_both_modes);
    TU_ADD(s, test_hessian_blocks_against_differences);
    TU_ADD(s, test_hessian_linear_and_constant);
    TU_ADD(s, test_jvp_errors);
    TU_ADD(s, test_jacobian_hessian_errors);
    return s;
}
