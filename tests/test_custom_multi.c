/*
** test_custom_multi.c: custom ops of several outputs (ag_custom_multi).
** (sin x, cos x) with a rule written with ops: gradients by hand with both
** outputs used and with one absent (the rule sees NULL, or zeros with
** AG_CUSTOM_MATERIALIZE_GRADS), gradcheck and gradgradcheck either way;
** polar coordinates (r, theta) -> (r cos theta, r sin theta), two inputs
** and two outputs, against reverse mode and forward-over-reverse through
** its jvp rule, and both Jacobian modes; the rule runs once per walk;
** once-differentiable refusal; grad mode off; errors.
*/
#include "jvp_test_util.h"

/* ------------------------------------------------------- sin and cos --- */

typedef struct seen {
    int calls;
    int absent[2];          /* gys[k] was NULL */
    int zeros[2];           /* gys[k] was all zeros */
} seen;

/* y0 = sin x, y1 = cos x; dx = dy0 cos x - dy1 sin x */
static ag_status sc_forward(ag_custom_ctx *c, ag_tensor *const *in, ag_tensor **out)
{
    ag_tape *t = ag_custom_tape(c);
    out[0] = ag_sin(t, in[0]);
    out[1] = ag_cos(t, in[0]);
    return ag_tape_status(t);
}

static ag_status sc_backward(ag_custom_ctx *c, ag_tensor *const *gy, ag_tensor **gx)
{
    ag_tape *t = ag_custom_tape(c);
    ag_tensor *x = ag_custom_input(c, 0), *g = NULL;
    seen *s = ag_custom_user(c);
    if (s) {
        s->calls++;
        for (int k = 0; k < 2; k++) {
            s->absent[k] += gy[k] == NULL;
            int z = gy[k] != NULL;
            for (int64_t i = 0; gy[k] && i < ag_tensor_numel(gy[k]); i++)
                z &= ag_tensor_get(gy[k], i) == 0;
            s->zeros[k] += z;
        }
    }
    if (gy[0]) g = ag_mul(t, gy[0], ag_cos(t, x));
    if (gy[1]) {
        ag_tensor *b = ag_neg(t, ag_mul(t, gy[1], ag_sin(t, x)));
        g = g ? ag_add(t, g, b) : b;
    }
    gx[0] = g;
    return ag_tape_status(t);
}

static const ag_custom_op sc_op = {.name = "sincos", .n_outputs = 2, .forward_multi = sc_forward,
                                    .backward_multi = sc_backward};
static const ag_custom_op sincos_zeros = {.name = "sincos_zeros", .n_outputs = 2,
                                          .forward_multi = sc_forward,
                                          .backward_multi = sc_backward,
                                          .flags = AG_CUSTOM_MATERIALIZE_GRADS};

/* y0 y1 + y1 (both used) when ctx is NULL; y0 alone otherwise */
static ag_tensor *sc_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *y[2];
    if (ag_custom_multi(t, &sc_op, NULL, 1, in, y) != AG_OK) return NULL;
    return ctx ? ag_mul_scalar(t, y[0], 2) : ag_add(t, ag_mul(t, y[0], y[1]), y[1]);
}

START_TEST(test_sin_cos_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0.3, -1.2, 2.0)), *y[2], *g;
    ag_set_requires_grad(x, 1);
    seen s = {0, {0, 0}, {0, 0}};
    ck_assert_int_eq(ag_custom_multi(t, &sc_op, &s, 1, &x, y), AG_OK);
    ck_assert_int_eq(ag_custom_num_outputs(NULL), 0);
    for (int i = 0; i < 3; i++) {
        double xi = ag_tensor_get(x, i);
        ck_assert_double_eq(ag_tensor_get(y[0], i), sin(xi));
        ck_assert_double_eq(ag_tensor_get(y[1], i), cos(xi));
    }
    ck_assert(ag_requires_grad(y[0]) && ag_requires_grad(y[1]));
    /* both used: d/dx (2 y0 + 3 y1) = 2 cos x - 3 sin x, one call */
    ag_tensor *loss = ag_sum(t, ag_add(t, ag_mul_scalar(t, y[0], 2), ag_mul_scalar(t, y[1], 3)),
                             AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &loss, NULL, 1, &x, &g, 0), AG_OK);
    for (int i = 0; i < 3; i++) {
        double xi = ag_tensor_get(x, i);
        ck_assert_double_eq_tol(ag_tensor_get(g, i), 2 * cos(xi) - 3 * sin(xi), 1e-15);
    }
    ck_assert_int_eq(s.calls, 1);
    ck_assert_int_eq(s.absent[0] + s.absent[1], 0);
    /* y1 alone: the rule gets NULL for y0 */
    loss = ag_sum(t, y[1], AG_ALL, 0);
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_double_eq_tol(ag_tensor_get(ag_tensor_grad(x), i),
                                -sin(ag_tensor_get(x, i)), 1e-15);
    ck_assert_int_eq(s.calls, 2);
    ck_assert_int_eq(s.absent[0], 1);
    ck_assert_int_eq(s.absent[1], 0);
    /* materialized: zeros instead of NULL */
    seen z = {0, {0, 0}, {0, 0}};
    ck_assert_int_eq(ag_custom_multi(t, &sincos_zeros, &z, 1, &x, y), AG_OK);
    loss = ag_sum(t, y[0], AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &loss, NULL, 1, &x, &g, 0), AG_OK);
    ck_assert_int_eq(z.calls, 1);
    ck_assert_int_eq(z.absent[1], 0);
    ck_assert_int_eq(z.zeros[1], 1);
    ck_assert_double_eq_tol(ag_tensor_get(g, 0), cos(0.3), 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_sin_cos_gradchecks)
{
    ag_tensor *x = tu_random(2, SHAPE(2, 3), -2, 2, 51);
    int one = 1;
    tu_assert_gradchecks(sc_fn, NULL, 1, &x);
    tu_assert_gradchecks(sc_fn, &one, 1, &x);      /* an output absent */
    ag_tensor_free(x);
}
END_TEST

/* ------------------------------------------------------------ polar --- */

/* (r, th) -> (r cos th, r sin th); rules written with ops */
static ag_status polar_forward(ag_custom_ctx *c, ag_tensor *const *in, ag_tensor **out)
{
    ag_tape *t = ag_custom_tape(c);
    out[0] = ag_mul(t, in[0], ag_cos(t, in[1]));
    out[1] = ag_mul(t, in[0], ag_sin(t, in[1]));
    return ag_tape_status(t);
}

/* dr = g0 cos th + g1 sin th; dth = r (g1 cos th - g0 sin th) */
static ag_status polar_backward(ag_custom_ctx *c, ag_tensor *const *gy, ag_tensor **gx)
{
    ag_tape *t = ag_custom_tape(c);
    ag_tensor *r = ag_custom_input(c, 0), *th = ag_custom_input(c, 1);
    ag_tensor *z = ag_zeros(t, ag_tensor_dtype(r), ag_tensor_ndim(r), ag_tensor_shape(r));
    ag_tensor *g0 = gy[0] ? gy[0] : z, *g1 = gy[1] ? gy[1] : z;
    ag_tensor *co = ag_cos(t, th), *si = ag_sin(t, th);
    if (ag_custom_needs_grad(c, 0)) gx[0] = ag_add(t, ag_mul(t, g0, co), ag_mul(t, g1, si));
    if (ag_custom_needs_grad(c, 1))
        gx[1] = ag_mul(t, r, ag_sub(t, ag_mul(t, g1, co), ag_mul(t, g0, si)));
    return ag_tape_status(t);
}

/* t0 = tr cos th - r sin th tth; t1 = tr sin th + r cos th tth */
static ag_status polar_jvp(ag_custom_ctx *c, ag_tensor *const *tx, ag_tensor **ty)
{
    ag_tape *t = ag_custom_tape(c);
    ag_tensor *r = ag_custom_input(c, 0), *th = ag_custom_input(c, 1);
    ag_tensor *co = ag_cos(t, th), *si = ag_sin(t, th);
    ty[0] = ag_sub(t, ag_mul(t, tx[0], co), ag_mul(t, ag_mul(t, r, si), tx[1]));
    ty[1] = ag_add(t, ag_mul(t, tx[0], si), ag_mul(t, ag_mul(t, r, co), tx[1]));
    return ag_tape_status(t);
}

static const ag_custom_op polar = {.name = "polar", .n_outputs = 2,
                                   .forward_multi = polar_forward,
                                   .backward_multi = polar_backward, .jvp = polar_jvp};

/* x = r cos th, y = r sin th; returns x^2 y + y (ctx NULL) or y alone */
static ag_tensor *polar_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *y[2];
    if (ag_custom_multi(t, &polar, NULL, 2, in, y) != AG_OK) return NULL;
    if (ctx) return ag_mul_scalar(t, y[1], 1.5);
    return ag_add(t, ag_mul(t, ag_mul(t, y[0], y[0]), y[1]), y[1]);
}

START_TEST(test_polar_forward_and_reverse)
{
    ag_tensor *in[2] = {tu_random(1, SHAPE(3), 0.5, 2, 52), tu_random(1, SHAPE(3), -3, 3, 53)};
    int one = 1;
    tu_assert_gradchecks(polar_fn, NULL, 2, in);
    tu_assert_gradchecks(polar_fn, &one, 2, in);
    jt_check("polar", polar_fn, NULL, 2, in, 0);
    jt_check("polar (one output)", polar_fn, &one, 2, in, 0);
    ag_tape *t = ag_tape_new();
    ag_tensor *jf[2], *jr[2];
    ck_assert_int_eq(ag_jacobian(t, polar_fn, NULL, 2, in, AG_JAC_FORWARD, jf), AG_OK);
    ck_assert_int_eq(ag_jacobian(t, polar_fn, NULL, 2, in, AG_JAC_REVERSE, jr), AG_OK);
    for (int k = 0; k < 2; k++)
        for (int64_t e = 0; e < 9; e++)
            ck_assert_double_eq_tol(ag_tensor_get(jf[k], e), ag_tensor_get(jr[k], e), 1e-14);
    /* by hand: d y / d th at the diagonal is r cos th (times 1.5) */
    ck_assert_int_eq(ag_jacobian(t, polar_fn, &one, 2, in, AG_JAC_FORWARD, jf), AG_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_double_eq_tol(ag_tensor_get(jf[1], 4 * i),
                                1.5 * ag_tensor_get(in[0], i) * cos(ag_tensor_get(in[1], i)),
                                1e-15);
    ag_tape_free(t);
    ag_tensor_free(in[0]), ag_tensor_free(in[1]);
}
END_TEST

/* ----------------------------------------------- once, grad off, errors --- */

static const ag_custom_op sincos_once = {.name = "sincos_once", .n_outputs = 2,
                                         .forward_multi = sc_forward,
                                         .backward_multi = sc_backward,
                                         .flags = AG_CUSTOM_ONCE_DIFFERENTIABLE};

START_TEST(test_once_differentiable_and_grad_mode_off)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0.5, 1)), *y[2], *g, *gg;
    ag_set_requires_grad(x, 1);
    ck_assert_int_eq(ag_custom_multi(t, &sincos_once, NULL, 1, &x, y), AG_OK);
    ag_tensor *loss = ag_sum(t, ag_mul(t, y[0], y[1]), AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &loss, NULL, 1, &x, &g, 1), AG_OK);
    /* d/dx sin x cos x = cos 2x */
    ck_assert_double_eq_tol(ag_tensor_get(g, 0), cos(1.0), 1e-15);
    ck_assert_int_eq(tu_grad_of_sum(t, g, 1, &x, &gg), AG_ERR_STATE);
    ck_assert_msg(strstr(ag_tape_errmsg(t), "sincos_once: is once-differentiable"), "%s",
                  ag_tape_errmsg(t));
    ag_tape_reset(t);
    ag_set_grad_enabled(t, 0);
    ck_assert_int_eq(ag_custom_multi(t, &sc_op, NULL, 1, &x, y), AG_OK);
    ck_assert(!ag_requires_grad(y[0]) && !ag_requires_grad(y[1]));
    ck_assert_double_eq_tol(ag_tensor_get(y[1], 1), cos(1.0), 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

static ag_status leaves_null(ag_custom_ctx *c, ag_tensor *const *in, ag_tensor **out)
{
    out[0] = ag_neg(ag_custom_tape(c), in[0]);
    return AG_OK;
}

START_TEST(test_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0.5, 1)), *y[2] = {x, x}, *ty;
    ag_custom_op bad = sc_op;
    bad.forward_multi = leaves_null;
    ck_assert_int_eq(ag_custom_multi(t, &bad, NULL, 1, &x, y), AG_ERR_STATE);
    tu_assert_error(t, y[1], AG_ERR_STATE, "sincos: forward_multi left output 1 NULL", "");
    ck_assert_ptr_null(y[0]);
    ag_tape_reset(t);
    bad = sc_op, bad.n_outputs = 0;
    ck_assert_int_eq(ag_custom_multi(t, &bad, NULL, 1, &x, y), AG_ERR_ARG);
    tu_assert_error(t, NULL, AG_ERR_ARG, "ag_custom_multi: op 'sincos' has 0 outputs", "1 to 16");
    ag_tape_reset(t);
    bad = sc_op, bad.backward_multi = NULL;
    ck_assert_int_eq(ag_custom_multi(t, &bad, NULL, 1, &x, y), AG_ERR_ARG);
    tu_assert_error(t, NULL, AG_ERR_ARG, "ag_custom_multi: op 'sincos' has no backward_multi", "");
    ag_tape_reset(t);
    tu_assert_error(t, ag_custom(t, &sc_op, NULL, 1, &x), AG_ERR_ARG,
                    "ag_custom: op 'sincos' has no forward", "several outputs: ag_custom_multi");
    ag_tape_reset(t);
    ck_assert_int_eq(ag_custom_multi(t, &sc_op, NULL, 1, &x, NULL), AG_ERR_ARG);
    tu_assert_error(t, NULL, AG_ERR_ARG, "ag_custom_multi: outputs is NULL", "");
    ag_tape_reset(t);
    /* forward mode without a jvp rule: refused by name */
    ck_assert_int_eq(ag_jvp(t, sc_fn, NULL, 1, &x, &x, y, &ty, 0), AG_ERR_STATE);
    tu_assert_error(t, ty, AG_ERR_STATE, "ag_jvp: custom op sincos has no forward-mode rule", "");
    ck_assert_int_eq(ag_custom_multi(NULL, &sc_op, NULL, 1, &x, y), AG_ERR_ARG);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

Suite *suite_custom_multi(void)
{
    Suite *s = suite_create("custom_multi");
    TU_ADD(s, test_sin_cos_by_hand);
    TU_ADD(s, test_sin_cos_gradchecks);
    TU_ADD(s, test_polar_forward_and_reverse);
    TU_ADD(s, test_once_differentiable_and_grad_mode_off);
    TU_ADD(s, test_errors);
    return s;
}
