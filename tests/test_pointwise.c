/*
** test_pointwise.c: the compound ops ag_addcmul, ag_addcdiv, ag_lerp and
** their out= forms: hand-computed values (f64 and f32), PyTorch's two
** forms of lerp, broadcasting, gradcheck and gradgradcheck in f64, the
** in-place out= update, error paths.
*/
#include "test_util.h"

typedef ag_tensor *(*ternary_op)(ag_tape *, ag_tensor *, ag_tensor *, ag_tensor *, double);

typedef struct pw_ctx {
    ternary_op op;          /* NULL: ag_lerp */
    double s;
} pw_ctx;

static ag_tensor *apply_pw(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const pw_ctx *c = ctx;
    return c->op ? c->op(t, in[0], in[1], in[2], c->s) : ag_lerp(t, in[0], in[1], c->s);
}

/* addcmul(x, g, g): the same tensor twice, its two gradients summed. */
static ag_tensor *apply_addcmul_square(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_addcmul(t, in[0], in[1], in[1], -0.7);
}

/* --------------------------------------------------------------- values --- */

START_TEST(test_addcmul_addcdiv_by_hand)
{
    ag_dtype dts[2] = {AG_F64, AG_F32};
    for (int d = 0; d < 2; d++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *x = tu_tensor(dts[d], 1, SHAPE(3), VALS(1, 2, 3));
        ag_tensor *a = tu_tensor(dts[d], 1, SHAPE(3), VALS(2, 3, 4));
        ag_tensor *b = tu_tensor(dts[d], 1, SHAPE(3), VALS(0.5, -1, 2));
        ag_tensor *y = ag_addcmul(t, x, a, b, 2);        /* x + 2 a b */
        tu_assert_shape(y, 1, SHAPE(3));
        ck_assert_int_eq(ag_tensor_dtype(y), dts[d]);
        tu_assert_values(y, VALS(3, -4, 19), 3, 0);
        y = ag_addcdiv(t, x, a, b, 2);                   /* x + 2 a / b */
        tu_assert_values(y, VALS(9, -4, 7), 3, 0);
        y = ag_addcdiv(t, x, a, b, -0.25);
        tu_assert_values(y, VALS(0, 2.75, 2.5), 3, 0);
        ag_tape_free(t);
        ag_tensor_free(x), ag_tensor_free(a), ag_tensor_free(b);
    }
}
END_TEST

START_TEST(test_lerp_by_hand)
{
    ag_dtype dts[2] = {AG_F64, AG_F32};
    for (int d = 0; d < 2; d++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *a = tu_tensor(dts[d], 1, SHAPE(3), VALS(1, 2, 3));
        ag_tensor *b = tu_tensor(dts[d], 1, SHAPE(3), VALS(3, -2, 5));
        tu_assert_values(ag_lerp(t, a, b, 0.25), VALS(1.5, 1, 3.5), 3, 0);
        tu_assert_values(ag_lerp(t, a, b, 0.75), VALS(2.5, -1, 4.5), 3, 0);
        tu_assert_values(ag_lerp(t, a, b, 0), VALS(1, 2, 3), 3, 0);
        tu_assert_values(ag_lerp(t, a, b, 1), VALS(3, -2, 5), 3, 0);
        tu_assert_values(ag_lerp(t, a, b, -1), VALS(-1, 6, 1), 3, 0);   /* extrapolates */
        ag_tape_free(t);
        ag_tensor_free(a), ag_tensor_free(b);
    }
}
END_TEST

/* PyTorch's large-weight form b - (b - a)(1 - w) gives b exactly at w = 1,
   where a + w (b - a) loses it: 1e16 + (1 - 1e16) is 0 in double. */
START_TEST(test_lerp_uses_pytorch_forms)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1e16, 1));
    ag_tensor *b = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 1e16));
    ag_tensor *y = ag_lerp(t, a, b, 1);
    ck_assert_double_eq(ag_tensor_get(y, 0), 1);
    ck_assert_double_eq(ag_tensor_get(y, 1), 1e16);
    y = ag_lerp(t, b, a, 0);                        /* the small form: a + 0 (b - a) = a */
    ck_assert_double_eq(ag_tensor_get(y, 0), 1);
    /* w = 0.5 takes the large form: b - (b - a) * 0.5 */
    y = ag_lerp(t, a, b, 0.5);
    ck_assert_double_eq(ag_tensor_get(y, 0), 1 - (1 - 1e16) * 0.5);
    ag_tape_free(t);
    ag_tensor_free(a), ag_tensor_free(b);
}
END_TEST

/* x [2,3], a [3], b [2,1]: every operand stretched differently. */
START_TEST(test_pointwise_broadcast_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *a = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_tensor *b = tu_tensor(AG_F64, 2, SHAPE(2, 1), VALS(10, -1));
    ag_tensor *y = ag_addcmul(t, x, a, b, 0.5);
    tu_assert_shape(y, 2, SHAPE(2, 3));
    tu_assert_values(y, VALS(6, 12, 18, 3.5, 4, 4.5), 6, 0);
    y = ag_addcdiv(t, a, x, b, 1);                  /* a + x / b, [2,3] */
    tu_assert_shape(y, 2, SHAPE(2, 3));
    tu_assert_values(y, VALS(1.1, 2.2, 3.3, -3, -3, -3), 6, 1e-15);
    y = ag_lerp(t, b, a, 0.5);                      /* [2,1] with [3]: [2,3] */
    tu_assert_shape(y, 2, SHAPE(2, 3));
    tu_assert_values(y, VALS(5.5, 6, 6.5, 0, 0.5, 1), 6, 0);
    y = ag_addcmul(t, ag_scalar(t, AG_F64, 1), a, ag_scalar(t, AG_F64, 2), 3);
    tu_assert_values(y, VALS(7, 13, 19), 3, 0);      /* 0-d operands */
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(a), ag_tensor_free(b);
}
END_TEST

/* Every mix of full and 0-d operands (each a loop of its own), 37
   elements: two vector blocks and a tail; against the formula here. */
START_TEST(test_pointwise_zero_d_operand_mixes)
{
    ag_tape *t = ag_tape_new();
    for (int mix = 0; mix < 8; mix++) {
        ag_tensor *in[3];
        for (int k = 0; k < 3; k++) {
            in[k] = mix >> (2 - k) & 1 ? ag_arange(t, AG_F32, 1 + k, 38 + k, 1)
                                       : ag_scalar(t, AG_F32, 2.5 + k);
        }
        ag_tensor *y1 = ag_addcmul(t, in[0], in[1], in[2], 0.5);
        ag_tensor *y2 = ag_addcdiv(t, in[0], in[1], in[2], -2);
        ag_tensor *y3 = ag_lerp(t, in[0], in[1], 0.25);
        int64_t n = ag_tensor_numel(y1);
        ck_assert_int_eq(n, mix ? 37 : 1);
        ck_assert_int_eq(ag_tensor_numel(y3), mix & 6 ? 37 : 1);
        for (int64_t i = 0; i < n; i++) {
            float v[3];
            for (int k = 0; k < 3; k++)
                v[k] = (float)ag_tensor_get(in[k], ag_tensor_numel(in[k]) == 1 ? 0 : i);
            ck_assert_float_eq((float)ag_tensor_get(y1, i), v[0] + 0.5f * v[1] * v[2]);
            ck_assert_float_eq((float)ag_tensor_get(y2, i), v[0] + -2.0f * v[1] / v[2]);
            if (i < ag_tensor_numel(y3))    /* lerp broadcasts only its two */
                ck_assert_float_eq_tol((float)ag_tensor_get(y3, i),
                                       v[0] + 0.25f * (v[1] - v[0]), 1e-5);
        }
    }
    ag_tape_free(t);
}
END_TEST

/* ----------------------------------------------------------- gradients --- */

START_TEST(test_addcmul_gradchecks)
{
    ag_tensor *in[3] = {tu_random(2, SHAPE(2, 3), -1, 1, 1), tu_random(1, SHAPE(3), -1, 1, 2),
                        tu_random(2, SHAPE(2, 1), -1, 1, 3)};
    pw_ctx c = {ag_addcmul, -1.5};
    tu_assert_gradchecks(apply_pw, &c, 3, in);
    ag_tensor_free(in[2]);
    in[2] = tu_random(2, SHAPE(2, 3), -1, 1, 4);     /* same shapes */
    tu_assert_gradchecks(apply_pw, &c, 3, in);
    tu_assert_gradchecks(apply_addcmul_square, NULL, 2, in);
    ag_tensor_free(in[0]), ag_tensor_free(in[1]), ag_tensor_free(in[2]);
}
END_TEST

START_TEST(test_addcdiv_gradchecks)
{
    ag_tensor *in[3] = {tu_random(1, SHAPE(3), -1, 1, 5), tu_random(2, SHAPE(2, 3), -1, 1, 6),
                        tu_random(2, SHAPE(2, 1), 0.5, 2, 7)};         /* b away from 0 */
    pw_ctx c = {ag_addcdiv, 0.8};
    tu_assert_gradchecks(apply_pw, &c, 3, in);
    ag_tensor_free(in[2]);
    in[2] = tu_random(2, SHAPE(2, 3), -2, -0.5, 8);
    tu_assert_gradchecks(apply_pw, &c, 3, in);
    ag_tensor_free(in[0]), ag_tensor_free(in[1]), ag_tensor_free(in[2]);
}
END_TEST

START_TEST(test_lerp_gradchecks)
{
    ag_tensor *in[2] = {tu_random(2, SHAPE(2, 3), -1, 1, 9), tu_random(1, SHAPE(3), -1, 1, 10)};
    pw_ctx c = {NULL, 0.3};
    tu_assert_gradchecks(apply_pw, &c, 2, in);
    c.s = 0.9;                                       /* the large-weight form */
    tu_assert_gradchecks(apply_pw, &c, 2, in);
    ag_tensor_free(in[0]), ag_tensor_free(in[1]);
}
END_TEST

/* dx = dy summed to x's shape, da = v dy b, db = v dy a, with dy = ones. */
START_TEST(test_addcmul_grads_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(1), VALS(0));
    ag_tensor *a = tu_tensor(AG_F64, 1, SHAPE(2), VALS(2, 3));
    ag_tensor *b = tu_tensor(AG_F64, 1, SHAPE(2), VALS(5, 7));
    ag_tensor *in[3] = {x, a, b}, *g[3];
    for (int i = 0; i < 3; i++) ag_set_requires_grad(in[i], 1);
    ag_tensor *y = ag_addcmul(t, x, a, b, 2);
    ck_assert_int_eq(tu_grad_of_sum(t, y, 3, in, g), AG_OK);
    tu_assert_values(g[0], VALS(2), 1, 0);
    tu_assert_values(g[1], VALS(10, 14), 2, 0);
    tu_assert_values(g[2], VALS(4, 6), 2, 0);
    ag_tape_reset(t);
    y = ag_addcdiv(t, x, a, b, 2);                   /* db = -2 a / b^2 */
    ck_assert_int_eq(tu_grad_of_sum(t, y, 3, in, g), AG_OK);
    tu_assert_values(g[1], VALS(0.4, 2.0 / 7), 2, 1e-15);
    tu_assert_values(g[2], VALS(-4.0 / 25, -6.0 / 49), 2, 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(a), ag_tensor_free(b);
}
END_TEST

/* ---------------------------------------------------------------- out= --- */

/* The optimizer's use: m.lerp_(g, 0.1), p.addcdiv_(m, d, -lr), in place
   on persistent tensors with grad mode off; nothing is recorded. */
START_TEST(test_out_forms_update_in_place)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *m = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_tensor *g = tu_tensor(AG_F64, 1, SHAPE(3), VALS(11, -8, 3));
    ag_tensor *d = tu_tensor(AG_F64, 1, SHAPE(3), VALS(2, 4, 8));
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 1, 1));
    ag_set_requires_grad(p, 1);
    ag_set_grad_enabled(t, 0);
    ck_assert_ptr_eq(ag_lerp_out(t, m, m, g, 0.1), m);
    tu_assert_values(m, VALS(2, 1, 3), 3, 1e-15);
    ck_assert_ptr_eq(ag_addcdiv_out(t, p, p, m, d, -0.5), p);
    tu_assert_values(p, VALS(0.5, 0.875, 0.8125), 3, 1e-15);
    ck_assert_ptr_eq(ag_addcmul_out(t, g, p, m, d, 2), g);      /* out another input's */
    tu_assert_values(g, VALS(8.5, 8.875, 48.8125), 3, 1e-15);
    ck_assert_int_eq(ag_tape_size(t), 0);
    ck_assert_int_eq(ag_requires_grad(p), 1);
    ag_tape_free(t);
    ag_tensor_free(m), ag_tensor_free(g), ag_tensor_free(d), ag_tensor_free(p);
}
END_TEST

/* The out= forms give the values of the plain ops, bit for bit, also
   when the inputs broadcast into out (and into a tape tensor), in f32. */
START_TEST(test_out_forms_match_plain_ops)
{
    ag_tape *t = ag_tape_new();
    ag_rng *r = ag_rng_new(3);
    ag_tensor *x = ag_rand_uniform(t, r, AG_F32, 2, SHAPE(4, 5), -1, 1);
    ag_tensor *a = ag_rand_uniform(t, r, AG_F32, 1, SHAPE(5), -1, 1);
    ag_tensor *b = ag_rand_uniform(t, r, AG_F32, 2, SHAPE(4, 1), 1, 2);
    ag_tensor *out = ag_zeros(t, AG_F32, 2, SHAPE(4, 5));
    ag_tensor *want[3] = {ag_addcmul(t, x, a, b, 0.3), ag_addcdiv(t, x, a, b, 0.3),
                          ag_lerp(t, x, a, 0.7)};
    for (int k = 0; k < 3; k++) {
        ag_tensor *got = k == 0 ? ag_addcmul_out(t, out, x, a, b, 0.3)
                         : k == 1 ? ag_addcdiv_out(t, out, x, a, b, 0.3)
                                  : ag_lerp_out(t, out, x, a, 0.7);
        ck_assert_ptr_eq(got, out);
        for (int64_t e = 0; e < 20; e++)
            ck_assert_float_eq((float)ag_tensor_get(out, e), (float)ag_tensor_get(want[k], e));
    }
    ag_rng_free(r);
    ag_tape_free(t);
}
END_TEST

START_TEST(test_out_forms_reject_bad_out)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_ones(t, AG_F64, 2, SHAPE(2, 3)), *a = ag_ones(t, AG_F64, 1, SHAPE(3));
    tu_assert_error(t, ag_lerp_out(t, a, a, x, 0.5), AG_ERR_SHAPE, "ag_lerp_out",
                    "out is [3], the result is [2,3]");
    ag_tape_reset(t);
    x = ag_ones(t, AG_F64, 2, SHAPE(2, 3));
    tu_assert_error(t, ag_addcmul_out(t, ag_ones(t, AG_F32, 2, SHAPE(2, 3)), x, x, x, 1),
                    AG_ERR_DTYPE, "ag_addcmul_out", "out is f32, the inputs are f64");
    ag_tape_reset(t);
    x = ag_ones(t, AG_F64, 2, SHAPE(2, 3));
    tu_assert_error(t, ag_addcdiv_out(t, NULL, x, x, x, 1), AG_ERR_ARG, "ag_addcdiv_out",
                    "out is NULL");
    ag_tape_reset(t);
    ag_tensor *p = ag_ones(NULL, AG_F64, 1, SHAPE(3));   /* grad mode on, p requires grad */
    ag_set_requires_grad(p, 1);
    x = ag_ones(t, AG_F64, 1, SHAPE(3));
    tu_assert_error(t, ag_lerp_out(t, x, x, p, 0.5), AG_ERR_ARG, "ag_lerp_out",
                    "b requires grad");
    ag_tape_reset(t);
    x = ag_ones(t, AG_F64, 1, SHAPE(3));
    tu_assert_error(t, ag_addcmul_out(t, p, x, x, x, 1), AG_ERR_ARG, "ag_addcmul_out",
                    "out requires grad");
    ag_tape_free(t);
    ag_tensor_free(p);
}
END_TEST

/* -------------------------------------------------------------- errors --- */

START_TEST(test_pointwise_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_ones(t, AG_F64, 2, SHAPE(2, 3)), *a = ag_ones(t, AG_F64, 1, SHAPE(4));
    ag_tensor *b = ag_ones(t, AG_F64, 1, SHAPE(3));
    tu_assert_error(t, ag_addcmul(t, x, a, b, 1), AG_ERR_SHAPE, "ag_addcmul: shapes do not "
                    "broadcast", "x is [2,3], a is [4], b is [3]");
    ck_assert_ptr_null(ag_lerp(t, x, x, 0.5));       /* sticky: keeps the first message */
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_addcmul"));
    ag_tape_reset(t);
    x = ag_ones(t, AG_F64, 2, SHAPE(2, 3));
    tu_assert_error(t, ag_lerp(t, x, ag_ones(t, AG_F64, 1, SHAPE(2)), 0.5), AG_ERR_SHAPE,
                    "ag_lerp: shapes do not broadcast", "a is [2,3], b is [2]");
    ag_tape_reset(t);
    x = ag_ones(t, AG_F64, 1, SHAPE(3));
    tu_assert_error(t, ag_addcdiv(t, x, x, ag_ones(t, AG_F32, 1, SHAPE(3)), 1), AG_ERR_DTYPE,
                    "ag_addcdiv", "x is f64, b is f32");
    ag_tape_reset(t);
    x = ag_ones(t, AG_F64, 1, SHAPE(3));
    tu_assert_error(t, ag_addcdiv(t, x, NULL, x, 1), AG_ERR_ARG, "ag_addcdiv", "a is NULL");
    ag_tape_reset(t);
    tu_assert_error(t, ag_lerp(t, NULL, x, 1), AG_ERR_ARG, "ag_lerp", "a is NULL");
    ag_tape_free(t);
}
END_TEST

Suite *suite_pointwise(void)
{
    Suite *s = suite_create("pointwise");
    TU_ADD(s, test_addcmul_addcdiv_by_hand);
    TU_ADD(s, test_lerp_by_hand);
    TU_ADD(s, test_lerp_uses_pytorch_forms);
    TU_ADD(s, test_pointwise_broadcast_by_hand);
    TU_ADD(s, test_pointwise_zero_d_operand_mixes);
    TU_ADD(s, test_addcmul_gradchecks);
    TU_ADD(s, test_addcdiv_gradchecks);
    TU_ADD(s, test_lerp_gradchecks);
    TU_ADD(s, test_addcmul_grads_by_hand);
    TU_ADD(s, test_out_forms_update_in_place);
    TU_ADD(s, test_out_forms_match_plain_ops);
    TU_ADD(s, test_out_forms_reject_bad_out);
    TU_ADD(s, test_pointwise_errors);
    return s;
}
