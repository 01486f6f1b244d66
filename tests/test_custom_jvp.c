/*
** test_custom_jvp.c: forward mode through custom ops (ag_custom_op.jvp).
** A straight-through estimator's tangent by hand and against the
** reverse-mode Jacobian its backward gives; softplus computed by plain C
** with rules written with ops, and x * exp(w) of two inputs (one rule
** reading the saved output), through jt_check (ag_jvp against reverse
** mode, first order and forward-over-reverse), gradcheck and
** gradgradcheck, and a gradcheck of the tangent itself
** (reverse-over-forward); forward and reverse Jacobians equal; a
** non-differentiable input's NULL tangent; the once-differentiable
** barrier on a recorded tangent; the errors (no rule, a bad tangent).
*/
#include "jvp_test_util.h"

#include <stdio.h>

/* ----------------------------------------------------- straight-through --- */

/* y = sign(x); dx = dy * (|x| <= 1); ty = tx * (|x| <= 1) */
static ag_tensor *ste_forward(ag_custom_ctx *c, ag_tensor *const *in)
{
    return ag_sign(ag_custom_tape(c), in[0]);
}

static ag_status ste_backward(ag_custom_ctx *c, ag_tensor *gy, ag_tensor **gx)
{
    ag_tape *t = ag_custom_tape(c);
    gx[0] = ag_mul(t, gy, ag_le_scalar(t, ag_abs(t, ag_custom_input(c, 0)), 1.0));
    return ag_tape_status(t);
}

static ag_status ste_jvp(ag_custom_ctx *c, ag_tensor *const *tx, ag_tensor **ty)
{
    ag_tape *t = ag_custom_tape(c);
    *ty = ag_mul(t, tx[0], ag_le_scalar(t, ag_abs(t, ag_custom_input(c, 0)), 1.0));
    return ag_tape_status(t);
}

static const ag_custom_op ste = {.name = "ste", .forward = ste_forward,
                                 .backward = ste_backward, .jvp = ste_jvp};
static const ag_custom_op ste_no_jvp = {.name = "ste_no_jvp", .forward = ste_forward,
                                        .backward = ste_backward};

/* sum(w * ste(x)^... ): the estimator inside other ops */
static ag_tensor *ste_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const ag_custom_op *op = ctx ? ctx : &ste;
    return ag_mul_scalar(t, ag_custom(t, op, NULL, 1, in), 3.0);
}

START_TEST(test_ste_tangent_and_jacobians)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(5), VALS(-2, -0.5, 0.3, 1.5, 1.0));
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(5), VALS(1, 2, 3, 4, 5));
    ag_tensor *y, *ty, *jf, *jr;
    ck_assert_int_eq(ag_jvp(t, ste_fn, NULL, 1, &x, &v, &y, &ty, 0), AG_OK);
    tu_assert_values(y, VALS(-3, -3, 3, 3, 3), 5, 0);
    tu_assert_values(ty, VALS(0, 6, 9, 0, 15), 5, 0);     /* 3 v (|x| <= 1) */
    /* the forward-mode Jacobian equals the one the backward rule gives */
    ck_assert_int_eq(ag_jacobian(t, ste_fn, NULL, 1, &x, AG_JAC_FORWARD, &jf), AG_OK);
    ck_assert_int_eq(ag_jacobian(t, ste_fn, NULL, 1, &x, AG_JAC_REVERSE, &jr), AG_OK);
    tu_assert_shape(jf, 2, SHAPE(5, 5));
    for (int64_t e = 0; e < 25; e++) {
        double want = e / 5 == e % 5 && fabs(ag_tensor_get(x, e % 5)) <= 1 ? 3 : 0;
        ck_assert_double_eq(ag_tensor_get(jf, e), want);
        ck_assert_double_eq(ag_tensor_get(jr, e), want);
    }
    /* f32 too */
    ag_tensor *xf = tu_tensor(AG_F32, 1, SHAPE(3), VALS(0.5, -3, -1));
    ag_tensor *vf = tu_tensor(AG_F32, 1, SHAPE(3), VALS(2, 2, 2));
    ck_assert_int_eq(ag_jvp(t, ste_fn, NULL, 1, &xf, &vf, &y, &ty, 0), AG_OK);
    ck_assert_int_eq(ag_tensor_dtype(ty), AG_F32);
    tu_assert_values(ty, VALS(6, 0, 6), 3, 0);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(v), ag_tensor_free(xf), ag_tensor_free(vf);
}
END_TEST

/* ---------------------------------------------- softplus by plain C --- */

/* y = log(1 + e^x), by C; dx = dy * sigmoid(x); ty = tx * sigmoid(x) */
static ag_tensor *softplus_forward(ag_custom_ctx *c, ag_tensor *const *in)
{
    ag_tensor *x = in[0];
    ag_tensor *y = ag_zeros(ag_custom_tape(c), AG_F64, ag_tensor_ndim(x), ag_tensor_shape(x));
    for (int64_t i = 0; y && i < ag_tensor_numel(x); i++)
        ag_tensor_set(y, i, log1p(exp(ag_tensor_get(x, i))));
    return y;
}

static ag_status softplus_backward(ag_custom_ctx *c, ag_tensor *gy, ag_tensor **gx)
{
    ag_tape *t = ag_custom_tape(c);
    gx[0] = ag_mul(t, gy, ag_sigmoid(t, ag_custom_input(c, 0)));
    return ag_tape_status(t);
}

static ag_status softplus_jvp(ag_custom_ctx *c, ag_tensor *const *tx, ag_tensor **ty)
{
    ag_tape *t = ag_custom_tape(c);
    *ty = ag_mul(t, tx[0], ag_sigmoid(t, ag_custom_input(c, 0)));
    return ag_tape_status(t);
}

static const ag_custom_op softplus_c = {.name = "softplus_c", .forward = softplus_forward,
                                        .backward = softplus_backward, .jvp = softplus_jvp};

/* softplus_c(x) * x: a second derivative that is not zero */
static ag_tensor *softplus_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_mul(t, ag_custom(t, &softplus_c, NULL, 1, in), in[0]);
}

/* ------------------------------------------- x * exp(w), two inputs --- */

/* y = x * e^w; dx = dy e^w, dw = dy y; ty = tx e^w + tw y (y saved) */
static ag_tensor *xexp_forward(ag_custom_ctx *c, ag_tensor *const *in)
{
    ag_tape *t = ag_custom_tape(c);
    ag_tensor *y = ag_mul(t, in[0], ag_exp(t, in[1]));
    return ag_custom_save(c, 1, &y) == AG_OK ? y : NULL;
}

static ag_status xexp_backward(ag_custom_ctx *c, ag_tensor *gy, ag_tensor **gx)
{
    ag_tape *t = ag_custom_tape(c);
    if (ag_custom_needs_grad(c, 0)) gx[0] = ag_mul(t, gy, ag_exp(t, ag_custom_input(c, 1)));
    if (ag_custom_needs_grad(c, 1)) gx[1] = ag_mul(t, gy, ag_custom_saved(c, 0));
    return ag_tape_status(t);
}

static ag_status xexp_jvp(ag_custom_ctx *c, ag_tensor *const *tx, ag_tensor **ty)
{
    ag_tape *t = ag_custom_tape(c);
    ag_tensor *w = ag_custom_input(c, 1), *y = ag_custom_saved(c, 0);
    *ty = ag_add(t, ag_mul(t, tx[0], ag_exp(t, w)), ag_mul(t, tx[1], y));
    return ag_tape_status(t);
}

static const ag_custom_op xexp = {.name = "x_exp_w", .forward = xexp_forward,
                                  .backward = xexp_backward, .jvp = xexp_jvp};

static ag_tensor *xexp_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_custom(t, &xexp, NULL, 2, in);
}

START_TEST(test_rules_with_ops_against_reverse_mode)
{
    ag_tensor *x = tu_random(2, SHAPE(2, 3), -1.5, 1.5, 31);
    ag_tensor *w = tu_random(2, SHAPE(2, 3), -1, 1, 32);
    ag_tensor *in[2] = {x, w};
    jt_check("softplus_c", softplus_fn, NULL, 1, in, 0);
    jt_check("x_exp_w", xexp_fn, NULL, 2, in, 0);
    tu_assert_gradchecks(softplus_fn, NULL, 1, in);
    tu_assert_gradchecks(xexp_fn, NULL, 2, in);
    /* the known derivative, by hand: d/dx softplus(x) x = sigmoid(x) x + softplus(x) */
    ag_tape *t = ag_tape_new();
    ag_tensor *v = tu_random(2, SHAPE(2, 3), -1, 1, 33), *y, *ty;
    ck_assert_int_eq(ag_jvp(t, softplus_fn, NULL, 1, &x, &v, &y, &ty, 0), AG_OK);
    for (int64_t i = 0; i < 6; i++) {
        double xi = ag_tensor_get(x, i), s = 1 / (1 + exp(-xi));
        ck_assert_double_eq_tol(ag_tensor_get(ty, i),
                                (s * xi + log1p(exp(xi))) * ag_tensor_get(v, i), 1e-14);
    }
    /* both Jacobian modes agree through the two-input op */
    ag_tensor *jf[2], *jr[2];
    ck_assert_int_eq(ag_jacobian(t, xexp_fn, NULL, 2, in, AG_JAC_FORWARD, jf), AG_OK);
    ck_assert_int_eq(ag_jacobian(t, xexp_fn, NULL, 2, in, AG_JAC_REVERSE, jr), AG_OK);
    for (int k = 0; k < 2; k++)
        for (int64_t e = 0; e < 36; e++)
            ck_assert_double_eq_tol(ag_tensor_get(jf[k], e), ag_tensor_get(jr[k], e), 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(w), ag_tensor_free(v);
}
END_TEST

/* The tangent of x_exp_w as a function of (x, w, tx, tw): recorded with
   create_graph, so it is differentiable again (reverse-over-forward). */
static ag_tensor *xexp_tangent_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *y, *ty;
    if (ag_jvp(t, xexp_fn, NULL, 2, in, in + 2, &y, &ty, 1) != AG_OK) return NULL;
    return ag_mul(t, ty, y);
}

START_TEST(test_recorded_tangent_gradchecks)
{
    ag_tensor *in[4] = {tu_random(1, SHAPE(3), -1, 1, 41), tu_random(1, SHAPE(3), -1, 1, 42),
                        tu_random(1, SHAPE(3), -1, 1, 43), tu_random(1, SHAPE(3), -1, 1, 44)};
    tu_assert_gradchecks(xexp_tangent_fn, NULL, 4, in);
    for (int k = 0; k < 4; k++) ag_tensor_free(in[k]);
}
END_TEST

/* ------------------------------------------- a non-differentiable input --- */

/* y = x * s with s declared non-differentiable; ty = tx * s */
static ag_tensor *scale_forward(ag_custom_ctx *c, ag_tensor *const *in)
{
    return ag_mul(ag_custom_tape(c), in[0], in[1]);
}

static ag_status scale_backward(ag_custom_ctx *c, ag_tensor *gy, ag_tensor **gx)
{
    gx[0] = ag_mul(ag_custom_tape(c), gy, ag_custom_input(c, 1));
    return ag_tape_status(ag_custom_tape(c));
}

static ag_status scale_jvp(ag_custom_ctx *c, ag_tensor *const *tx, ag_tensor **ty)
{
    ag_tape *t = ag_custom_tape(c);
    if (tx[1] != NULL) return ag_tape_set_error(t, AG_ERR_STATE, "scale: tx[1] given");
    *ty = ag_mul(t, tx[0], ag_custom_input(c, 1));
    return ag_tape_status(t);
}

static const ag_custom_op scale = {.name = "scale", .forward = scale_forward,
                                   .backward = scale_backward, .jvp = scale_jvp,
                                   .nondiff = 2u};

static ag_tensor *scale_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_custom(t, &scale, NULL, 2, in);
}

START_TEST(test_nondiff_input_has_no_tangent)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_tensor *s = tu_tensor(AG_F64, 1, SHAPE(2), VALS(3, -4));
    ag_tensor *in[2] = {x, s}, *tv[2] = {tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 1)),
                                         tu_tensor(AG_F64, 1, SHAPE(2), VALS(9, 9))};
    ag_tensor *y, *ty;
    ck_assert_msg(ag_jvp(t, scale_fn, NULL, 2, in, tv, &y, &ty, 0) == AG_OK, "%s",
                  ag_tape_errmsg(t));
    tu_assert_values(ty, VALS(3, -4), 2, 0);          /* s's tangent plays no part */
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(s), ag_tensor_free(tv[0]), ag_tensor_free(tv[1]);
}
END_TEST

/* ------------------------------------------------ once-differentiable --- */

static const ag_custom_op softplus_once = {.name = "softplus_once", .forward = softplus_forward,
                                           .backward = softplus_backward, .jvp = softplus_jvp,
                                           .flags = AG_CUSTOM_ONCE_DIFFERENTIABLE};

static ag_tensor *once_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_custom(t, &softplus_once, NULL, 1, in);
}

START_TEST(test_once_differentiable_tangent_is_behind_the_barrier)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 1));
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(2), VALS(2, 1));
    ag_set_requires_grad(x, 1);
    ag_tensor *y, *ty, *g;
    ck_assert_int_eq(ag_jvp(t, once_fn, NULL, 1, &x, &v, &y, &ty, 0), AG_OK);
    tu_assert_values(ty, VALS(1, 1 / (1 + exp(-1.0))), 2, 1e-15);
    ck_assert_int_eq(ag_jvp(t, once_fn, NULL, 1, &x, &v, &y, &ty, 1), AG_OK);
    tu_assert_values(ty, VALS(1, 1 / (1 + exp(-1.0))), 2, 1e-15);
    ck_assert_int_eq(tu_grad_of_sum(t, ty, 1, &x, &g), AG_ERR_STATE);
    ck_assert_msg(strstr(ag_tape_errmsg(t), "softplus_once: is once-differentiable") != NULL,
                  "%s", ag_tape_errmsg(t));
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(v);
}
END_TEST

/* ------------------------------------------------------------- errors --- */

static int bad_mode;
static ag_tape *other_tape;

/* ty: 0 NULL, 1 the wrong shape, 2 a tensor of another tape, 3 an error
   without a message, 4 input 1 of an op of one input */
static ag_status bad_jvp(ag_custom_ctx *c, ag_tensor *const *tx, ag_tensor **ty)
{
    (void)tx;
    ag_tape *t = ag_custom_tape(c);
    if (bad_mode == 1) *ty = ag_zeros(t, AG_F64, 1, SHAPE(7));
    if (bad_mode == 2) *ty = ag_zeros(other_tape, AG_F64, 1, SHAPE(2));
    if (bad_mode == 4) *ty = ag_custom_input(c, 1);
    return bad_mode == 3 ? AG_ERR_STATE : AG_OK;
}

static const ag_custom_op bad = {.name = "bad_jvp", .forward = ste_forward,
                                 .backward = ste_backward, .jvp = bad_jvp};

static ag_tensor *bad_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_custom(t, &bad, NULL, 1, in);
}

START_TEST(test_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0.5, 2)), *y, *ty;
    /* no rule: refused by name; reverse mode still works */
    ck_assert_int_eq(ag_jvp(t, ste_fn, (void *)&ste_no_jvp, 1, &x, NULL, &y, &ty, 0), AG_OK);
    tu_assert_values(ty, VALS(0, 0), 2, 0);            /* zero tangents: no rule runs */
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 1));
    ck_assert_int_eq(ag_jvp(t, ste_fn, (void *)&ste_no_jvp, 1, &x, &v, &y, &ty, 0),
                     AG_ERR_STATE);
    tu_assert_error(t, ty, AG_ERR_STATE, "ag_jvp: custom op ste_no_jvp has no forward-mode rule",
                    "ag_custom_op.jvp is NULL");
    ag_tape_reset(t);
    ag_tensor *J;
    ck_assert_int_eq(ag_jacobian(t, ste_fn, (void *)&ste_no_jvp, 1, &x, AG_JAC_REVERSE, &J),
                     AG_OK);
    other_tape = ag_tape_new();
    const char *want[5][2] = {{"ag_jvp: bad_jvp: the forward-mode rule (jvp) gave no tangent", ""},
                              {"ag_jvp: bad_jvp: the forward-mode rule gave a [7] f64 tangent",
                               "for a [2] f64 output"},
                              {"bad_jvp", "a tangent from its forward-mode rule"},
                              {"ag_jvp: bad_jvp: the forward-mode rule failed (AG_ERR_STATE)",
                               "without a message"},
                              {"bad_jvp: ag_custom_input(1)", "the op has 1 inputs"}};
    const ag_status code[5] = {AG_ERR_STATE, AG_ERR_SHAPE, AG_ERR_STATE, AG_ERR_STATE,
                               AG_ERR_ARG};
    for (bad_mode = 0; bad_mode < 5; bad_mode++) {
        ag_tape_reset(t);
        ck_assert_int_ne(ag_jvp(t, bad_fn, NULL, 1, &x, &v, &y, &ty, 0), AG_OK);
        tu_assert_error(t, ty, code[bad_mode], want[bad_mode][0], want[bad_mode][1]);
    }
    ag_tape_reset(t);
    ck_assert_ptr_null(ag_custom_input(NULL, 0));
    ck_assert_str_eq(ag_last_error(), "ag_custom_input: ctx is NULL");
    ag_tape_free(other_tape);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(v);
}
END_TEST

Suite *suite_custom_jvp(void)
{
    Suite *s = suite_create("custom_jvp");
    TU_ADD(s, test_ste_tangent_and_jacobians);
    TU_ADD(s, test_rules_with_ops_against_reverse_mode);
    TU_ADD(s, test_recorded_tangent_gradchecks);
    TU_ADD(s, test_nondiff_input_has_no_tangent);
    TU_ADD(s, test_once_differentiable_tangent_is_behind_the_barrier);
    TU_ADD(s, test_errors);
    return s;
}
