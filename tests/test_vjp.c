/*
** test_vjp.c: ag_vjp and ag_hvp (autograd/vjp.c) against analytic values
** and central differences in f64: a vector-Jacobian product of a
** non-scalar function, partial derivatives by argument, create_graph,
** Hessian-vector products of one and two inputs, through a custom op and a
** recomputed segment, and error paths.
*/
#include "test_util.h"

/* y = x * sin(w) (elementwise) */
static ag_tensor *x_sin_w(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_mul(t, in[0], ag_sin(t, in[1]));
}

START_TEST(test_vjp_analytic)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, -2, 0.5));
    ag_tensor *w = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0.3, 1.1, -0.7));
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(3), VALS(2, -1, 4));
    ag_tensor *in[2] = {x, w}, *g[2], *y;
    /* neither input requires grad: the transform needs no marking */
    ck_assert_int_eq(ag_vjp(t, x_sin_w, NULL, 2, in, v, &y, g, 0), AG_OK);
    tu_assert_values(y, VALS(sin(0.3), -2 * sin(1.1), 0.5 * sin(-0.7)), 3, 1e-15);
    /* dx = v sin(w); dw = v x cos(w) */
    tu_assert_values(g[0], VALS(2 * sin(0.3), -sin(1.1), 4 * sin(-0.7)), 3, 1e-15);
    tu_assert_values(g[1], VALS(2 * cos(0.3), 2 * cos(1.1), 4 * 0.5 * cos(-0.7)), 3, 1e-15);
    ck_assert_ptr_null(ag_tensor_grad(x));              /* leaves' grads untouched */
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
    ag_tensor_free(v);
}
END_TEST

/* y = tanh(A x) (A [3,4], x [4]) */
static ag_tensor *tanh_ax(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_tanh(t, ag_reshape(t, ag_matmul(t, in[0], ag_reshape(t, in[1], 2, SHAPE(4, 1))),
                                 1, SHAPE(3)));
}

START_TEST(test_vjp_finite_differences)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_random(2, SHAPE(3, 4), -1, 1, 31), *x = tu_random(1, SHAPE(4), -1, 1, 32);
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0.5, -1.5, 2));
    ag_tensor *in[2] = {a, x}, *g[2];
    ck_assert_int_eq(ag_vjp(t, tanh_ax, NULL, 2, in, v, NULL, g, 0), AG_OK);
    /* d <v, f> / d in[k][i] by central differences */
    const double eps = 1e-6;
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < ag_tensor_numel(in[k]); i++) {
            double x0 = ag_tensor_get(in[k], i), f[2];
            for (int side = 0; side < 2; side++) {
                ag_tensor_set(in[k], i, x0 + (side ? -eps : eps));
                ag_tensor *y = tanh_ax(t, in, NULL);
                f[side] = 0;
                for (int j = 0; j < 3; j++) f[side] += ag_tensor_get(v, j) * ag_tensor_get(y, j);
            }
            ag_tensor_set(in[k], i, x0);
            ck_assert_double_eq_tol(ag_tensor_get(g[k], i), (f[0] - f[1]) / (2 * eps), 1e-8);
        }
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(x);
    ag_tensor_free(v);
}
END_TEST

/* y = x2 * x2 where x2 = 2 x1 is computed from input 0 and passed as input 1 */
static ag_tensor *square_of_second(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_sum(t, ag_add(t, in[0], ag_mul(t, in[1], in[1])), AG_ALL, 0);
}

START_TEST(test_vjp_partials_and_create_graph)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 3));
    ag_set_requires_grad(x, 1);
    ag_tensor *x2 = ag_mul_scalar(t, x, 2);
    ag_tensor *in[2] = {x, x2}, *g[2], *y, *gg;
    /* partials by argument: d/dx0 = 1 (not 1 + 8 x0 through x2) */
    ck_assert_int_eq(ag_vjp(t, square_of_second, NULL, 2, in, NULL, &y, g, 1), AG_OK);
    ck_assert_double_eq_tol(ag_tensor_get(y, 0), 4 + 4 + 36, 1e-15);
    tu_assert_values(g[0], VALS(1, 1), 2, 0);
    tu_assert_values(g[1], VALS(4, 12), 2, 0);
    /* with create_graph g[1] = 2 x2 = 4 x has history back to x */
    ck_assert(ag_requires_grad(g[1]));
    ag_tensor *s = ag_sum(t, g[1], AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &s, NULL, 1, &x, &gg, 0), AG_OK);
    tu_assert_values(gg, VALS(4, 4), 2, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* f(x) = sum(x^3) + sum(x)^2: H = diag(6x) + 2 */
static ag_tensor *cubic(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *s = ag_sum(t, in[0], AG_ALL, 0);
    return ag_add(t, ag_sum(t, ag_pow_scalar(t, in[0], 3), AG_ALL, 0), ag_mul(t, s, s));
}

/* f(x, w) = sum(x^2 w): Hv_x = 2 w vx + 2 x vw; Hv_w = 2 x vx */
static ag_tensor *x2w(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_sum(t, ag_mul(t, ag_mul(t, in[0], in[0]), in[1]), AG_ALL, 0);
}

START_TEST(test_hvp_analytic)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, -2, 0.5));
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 0.5, -1));
    ag_tensor *hv, *y;
    ck_assert_int_eq(ag_hvp(t, cubic, NULL, 1, &x, &v, &y, &hv, 0), AG_OK);
    ck_assert_double_eq_tol(ag_tensor_get(y, 0), 1 - 8 + 0.125 + 0.25, 1e-15);
    /* 6 x v + 2 sum(v), sum(v) = 0.5 */
    tu_assert_values(hv, VALS(6 + 1, -6 + 1, -3 + 1), 3, 1e-14);
    ag_tensor *w = tu_tensor(AG_F64, 1, SHAPE(3), VALS(2, 3, -1));
    ag_tensor *vw = tu_tensor(AG_F64, 1, SHAPE(3), VALS(-1, 2, 0.5));
    ag_tensor *in[2] = {x, w}, *vs[2] = {v, vw}, *h2[2];
    ck_assert_int_eq(ag_hvp(t, x2w, NULL, 2, in, vs, NULL, h2, 0), AG_OK);
    tu_assert_values(h2[0], VALS(2 * 2 * 1 + 2 * 1 * -1, 2 * 3 * 0.5 + 2 * -2 * 2,
                                 2 * -1 * -1 + 2 * 0.5 * 0.5), 3, 1e-14);
    tu_assert_values(h2[1], VALS(2 * 1 * 1, 2 * -2 * 0.5, 2 * 0.5 * -1), 3, 1e-14);
    /* create_graph: d/dx sum(Hv) for cubic is 6 v */
    ag_tensor *xr = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, -2, 0.5)), *g3;
    ag_set_requires_grad(xr, 1);
    ck_assert_int_eq(ag_hvp(t, cubic, NULL, 1, &xr, &v, NULL, &hv, 1), AG_OK);
    ag_tensor *s = ag_sum(t, hv, AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &s, NULL, 1, &xr, &g3, 0), AG_OK);
    tu_assert_values(g3, VALS(6, 3, -6), 3, 1e-14);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(v);
    ag_tensor_free(w);
    ag_tensor_free(vw);
    ag_tensor_free(xr);
}
END_TEST

/* f(A, x) = logsumexp(A x) + sum(sin(x)) */
static ag_tensor *lse(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *ax = ag_matmul(t, in[0], ag_reshape(t, in[1], 2, SHAPE(4, 1)));
    return ag_add(t, ag_logsumexp(t, ag_reshape(t, ax, 1, SHAPE(3)), AG_ALL, 0),
                  ag_sum(t, ag_sin(t, in[1]), AG_ALL, 0));
}

START_TEST(test_hvp_finite_differences)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_random(2, SHAPE(3, 4), -1, 1, 41), *x = tu_random(1, SHAPE(4), -1, 1, 42);
    ag_tensor *va = tu_random(2, SHAPE(3, 4), -1, 1, 43), *vx = tu_random(1, SHAPE(4), -1, 1, 44);
    ag_tensor *in[2] = {a, x}, *vs[2] = {va, vx}, *hv[2], *gp[2], *gm[2];
    ck_assert_int_eq(ag_hvp(t, lse, NULL, 2, in, vs, NULL, hv, 0), AG_OK);
    /* (grad(p + eps v) - grad(p - eps v)) / 2 eps, gradients by ag_vjp */
    const double eps = 1e-5;
    for (int side = 0; side < 2; side++) {
        for (int k = 0; k < 2; k++)
            for (int64_t i = 0; i < ag_tensor_numel(in[k]); i++)
                ag_tensor_set(in[k], i, ag_tensor_get(in[k], i) +
                                            (side ? -2 : 1) * eps * ag_tensor_get(vs[k], i));
        ck_assert_int_eq(ag_vjp(t, lse, NULL, 2, in, NULL, NULL, side ? gm : gp, 0), AG_OK);
    }
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < ag_tensor_numel(in[k]); i++)
            ck_assert_double_eq_tol(ag_tensor_get(hv[k], i),
                                    (ag_tensor_get(gp[k], i) - ag_tensor_get(gm[k], i)) /
                                        (2 * eps), 1e-8);
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(x);
    ag_tensor_free(va);
    ag_tensor_free(vx);
}
END_TEST

/* cubic through a recomputed segment: the same Hessian-vector product */
static ag_tensor *cubic_recomputed(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_recompute(t, cubic, ctx, 1, in, 0, NULL);
}

START_TEST(test_hvp_through_recompute)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, -2, 0.5));
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 0.5, -1)), *hv;
    ck_assert_msg(ag_hvp(t, cubic_recomputed, NULL, 1, &x, &v, NULL, &hv, 0) == AG_OK, "%s",
                  ag_tape_errmsg(t));
    tu_assert_values(hv, VALS(7, -5, -2), 3, 1e-14);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(v);
}
END_TEST

static ag_tensor *returns_null(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)t, (void)in, (void)ctx;
    return NULL;
}

START_TEST(test_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_tensor *v2 = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_tensor *vf = tu_tensor(AG_F32, 1, SHAPE(3), VALS(1, 2, 3));
    ag_tensor *in2[2] = {x, x}, *g[2], *y = x, *nul[1] = {NULL};
    ck_assert_int_eq(ag_vjp(NULL, cubic, NULL, 1, &x, NULL, NULL, g, 0), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_vjp: tape is NULL");
    ck_assert_int_eq(ag_hvp(NULL, cubic, NULL, 1, &x, &x, NULL, g, 0), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_hvp: tape is NULL");
#define EXPECT(call, st, part)                                                      \
    do {                                                                            \
        ag_tape_reset(t);                                                           \
        ck_assert_int_eq((call), (st));                                             \
        ck_assert_msg(strstr(ag_tape_errmsg(t), (part)) != NULL, "%s", ag_tape_errmsg(t)); \
    } while (0)
    EXPECT(ag_vjp(t, NULL, NULL, 1, &x, NULL, NULL, g, 0), AG_ERR_ARG, "ag_vjp: fn is NULL");
    EXPECT(ag_vjp(t, cubic, NULL, 0, &x, NULL, NULL, g, 0), AG_ERR_ARG, "ag_vjp: 0 inputs");
    EXPECT(ag_vjp(t, cubic, NULL, 1, &x, NULL, NULL, NULL, 0), AG_ERR_ARG,
           "ag_vjp: grads is NULL");
    EXPECT(ag_vjp(t, cubic, NULL, 1, nul, NULL, NULL, g, 0), AG_ERR_ARG,
           "ag_vjp: input 0 is NULL");
    EXPECT(ag_vjp(t, x_sin_w, NULL, 2, in2, NULL, &y, g, 0), AG_ERR_ARG,
           "ag_vjp: v is NULL but the output is [3]");
    ck_assert_ptr_null(y);                          /* *output cleared on failure */
    EXPECT(ag_vjp(t, x_sin_w, NULL, 2, in2, v2, NULL, g, 0), AG_ERR_SHAPE,
           "ag_vjp: v is [2], the output is [3]");
    EXPECT(ag_vjp(t, x_sin_w, NULL, 2, in2, vf, NULL, g, 0), AG_ERR_DTYPE,
           "ag_vjp: v is f32, the output is f64");
    EXPECT(ag_vjp(t, returns_null, NULL, 1, &x, NULL, NULL, g, 0), AG_ERR_STATE,
           "ag_vjp: fn returned NULL without an error");
    EXPECT(ag_vjp(t, tanh_ax, NULL, 2, in2, NULL, NULL, g, 0), AG_ERR_SHAPE, "ag_reshape: x is [3]");
    EXPECT(ag_hvp(t, x_sin_w, NULL, 2, in2, in2, NULL, g, 0), AG_ERR_SHAPE,
           "ag_hvp: the output is [3], not one element");
    EXPECT(ag_hvp(t, cubic, NULL, 1, &x, &v2, NULL, g, 0), AG_ERR_SHAPE,
           "ag_hvp: v[0] is [2], input 0 is [3]");
    EXPECT(ag_hvp(t, cubic, NULL, 1, &x, NULL, NULL, g, 0), AG_ERR_ARG, "ag_hvp: v is NULL");
    ck_assert(ag_is_grad_enabled(t));
    /* grad mode off: the transforms still differentiate, and leave it off */
    ag_tape_reset(t);
    ag_set_grad_enabled(t, 0);
    ck_assert_int_eq(ag_vjp(t, cubic, NULL, 1, &x, NULL, NULL, g, 0), AG_OK);
    tu_assert_values(g[0], VALS(3 + 12, 12 + 12, 27 + 12), 3, 1e-13);
    ck_assert(!ag_is_grad_enabled(t));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(v2);
    ag_tensor_free(vf);
}
END_TEST

Suite *suite_vjp(void)
{
    Suite *s = suite_create("vjp");
    TU_ADD(s, test_vjp_analytic);
    TU_ADD(s, test_vjp_finite_differences);
    TU_ADD(s, test_vjp_partials_and_create_graph);
    TU_ADD(s, test_hvp_analytic);
    TU_ADD(s, test_hvp_finite_differences);
    TU_ADD(s, test_hvp_through_recompute);
    TU_ADD(s, test_errors);
    return s;
}
