/*
** test_binary.c: add, sub, mul, div, pow, maximum, minimum, the scalar
** forms, comparisons and where: hand-computed values, broadcasting,
** gradcheck and gradgradcheck in f64, f32 forwards, error paths.
*/
#include "test_util.h"

/* ------------------------------------------------------------ forward --- */

/* Runs op on two literal tensors of dtype dt and checks the result. */
static void check_forward(tu_binary_op op, ag_dtype dt, int na, const int64_t *sa,
                          const double *va, int nb, const int64_t *sb, const double *vb,
                          int ny, const int64_t *sy, const double *expect, double tol)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(dt, na, sa, va), *b = tu_tensor(dt, nb, sb, vb);
    ag_tensor *y = op(t, a, b);
    ck_assert_msg(y != NULL, "%s", ag_tape_errmsg(t));
    tu_assert_shape(y, ny, sy);
    ck_assert_int_eq(ag_tensor_dtype(y), dt);
    tu_assert_values(y, expect, ag_tensor_numel(y), tol);
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
}

START_TEST(test_arithmetic_forward_by_hand)
{
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = d ? AG_F64 : AG_F32;
        double tol = d ? 1e-15 : 1e-6;
        const double *a = VALS(1, -2, 3, 4), *b = VALS(2, 4, -8, 0.5);
        const int64_t *s = SHAPE(2, 2);
        check_forward(ag_add, dt, 2, s, a, 2, s, b, 2, s, VALS(3, 2, -5, 4.5), tol);
        check_forward(ag_sub, dt, 2, s, a, 2, s, b, 2, s, VALS(-1, -6, 11, 3.5), tol);
        check_forward(ag_mul, dt, 2, s, a, 2, s, b, 2, s, VALS(2, -8, -24, 2), tol);
        check_forward(ag_div, dt, 2, s, a, 2, s, b, 2, s, VALS(0.5, -0.5, -0.375, 8), tol);
        check_forward(ag_maximum, dt, 2, s, a, 2, s, b, 2, s, VALS(2, 4, 3, 4), tol);
        check_forward(ag_minimum, dt, 2, s, a, 2, s, b, 2, s, VALS(1, -2, -8, 0.5), tol);
        check_forward(ag_pow, dt, 1, SHAPE(3), VALS(2, 9, 4), 1, SHAPE(3), VALS(3, 0.5, -1),
                      1, SHAPE(3), VALS(8, 3, 0.25), tol);
    }
}
END_TEST

START_TEST(test_broadcast_forward_by_hand)
{
    /* [2,1] + [3] -> [2,3] */
    check_forward(ag_add, AG_F64, 2, SHAPE(2, 1), VALS(10, 20), 1, SHAPE(3), VALS(1, 2, 3),
                  2, SHAPE(2, 3), VALS(11, 12, 13, 21, 22, 23), 0);
    /* [2,3] * scalar tensor */
    check_forward(ag_mul, AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6), 0, NULL, VALS(2),
                  2, SHAPE(2, 3), VALS(2, 4, 6, 8, 10, 12), 0);
    /* scalar - [3] */
    check_forward(ag_sub, AG_F32, 0, NULL, VALS(1), 1, SHAPE(3), VALS(1, 2, 3),
                  1, SHAPE(3), VALS(0, -1, -2), 0);
    /* [2,1,2] / [3,1] -> [2,3,2] */
    check_forward(ag_div, AG_F64, 3, SHAPE(2, 1, 2), VALS(1, 2, 3, 4), 2, SHAPE(3, 1),
                  VALS(1, 2, 4), 3, SHAPE(2, 3, 2),
                  VALS(1, 2, 0.5, 1, 0.25, 0.5, 3, 4, 1.5, 2, 0.75, 1), 1e-15);
}
END_TEST

typedef ag_tensor *(*scalar_op)(ag_tape *, ag_tensor *, double);

START_TEST(test_scalar_forms_by_hand)
{
    const scalar_op ops[] = {ag_add_scalar, ag_sub_scalar, ag_rsub_scalar,
                             ag_mul_scalar, ag_div_scalar, ag_rdiv_scalar};
    const double expect[6][3] = {{3, 0, 6}, {-1, -4, 2}, {1, 4, -2},
                                 {2, -4, 8}, {0.5, -1, 2}, {2, -1, 0.5}};
    for (int d = 0; d < 2; d++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *x = tu_tensor(d ? AG_F64 : AG_F32, 1, SHAPE(3), VALS(1, -2, 4));
        for (int k = 0; k < 6; k++) {
            ag_tensor *y = ops[k](t, x, 2.0);
            tu_assert_values(y, expect[k], 3, 1e-7);
        }
        ag_tape_free(t);
        ag_tensor_free(x);
    }
}
END_TEST

START_TEST(test_comparisons_are_masks)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_tensor *b = tu_tensor(AG_F64, 1, SHAPE(3), VALS(2, 2, 2));
    ag_set_requires_grad(a, 1);
    tu_assert_values(ag_gt(t, a, b), VALS(0, 0, 1), 3, 0);
    tu_assert_values(ag_ge(t, a, b), VALS(0, 1, 1), 3, 0);
    tu_assert_values(ag_lt(t, a, b), VALS(1, 0, 0), 3, 0);
    tu_assert_values(ag_le(t, a, b), VALS(1, 1, 0), 3, 0);
    tu_assert_values(ag_eq(t, a, b), VALS(0, 1, 0), 3, 0);
    tu_assert_values(ag_gt_scalar(t, a, 2), VALS(0, 0, 1), 3, 0);
    tu_assert_values(ag_ge_scalar(t, a, 2), VALS(0, 1, 1), 3, 0);
    tu_assert_values(ag_lt_scalar(t, a, 2), VALS(1, 0, 0), 3, 0);
    tu_assert_values(ag_le_scalar(t, a, 2), VALS(1, 1, 0), 3, 0);
    ag_tensor *m = ag_eq_scalar(t, a, 2);
    tu_assert_values(m, VALS(0, 1, 0), 3, 0);
    ck_assert_int_eq(ag_requires_grad(m), 0);     /* a constant */
    ck_assert_uint_eq(ag_tape_size(t), 0);        /* nothing recorded */
    /* broadcast: [3,1] > [3] */
    ag_tensor *c = tu_tensor(AG_F32, 2, SHAPE(3, 1), VALS(1, 2, 3));
    ag_tensor *d = tu_tensor(AG_F32, 1, SHAPE(3), VALS(1, 2, 3));
    tu_assert_values(ag_gt(t, c, d), VALS(0, 0, 0, 1, 0, 0, 1, 1, 0), 9, 0);
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
    ag_tensor_free(c);
    ag_tensor_free(d);
}
END_TEST

START_TEST(test_where_forward_broadcast)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *m = tu_tensor(AG_F64, 2, SHAPE(2, 1), VALS(1, 0));
    ag_tensor *a = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_tensor *b = tu_tensor(AG_F64, 0, NULL, VALS(-1));
    ag_tensor *y = ag_where(t, m, a, b);
    tu_assert_shape(y, 2, SHAPE(2, 3));
    tu_assert_values(y, VALS(1, 2, 3, -1, -1, -1), 6, 0);
    ag_tape_free(t);
    ag_tensor_free(m);
    ag_tensor_free(a);
    ag_tensor_free(b);
}
END_TEST

/* ---------------------------------------------------------- gradients --- */

/* Gradchecks op on a (sa) and b (sb) with values in [lo, hi). */
static void check_grads(tu_binary_op op, int na, const int64_t *sa, int nb,
                        const int64_t *sb, double lo, double hi)
{
    tu_binary_ctx c = {op};
    ag_tensor *in[2] = {tu_random(na, sa, lo, hi, 1), tu_random(nb, sb, lo, hi, 2)};
    tu_assert_gradchecks(tu_apply_binary, &c, 2, in);
    ag_tensor_free(in[0]);
    ag_tensor_free(in[1]);
}

START_TEST(test_arithmetic_gradients)
{
    const tu_binary_op ops[] = {ag_add, ag_sub, ag_mul, ag_div, ag_maximum, ag_minimum};
    for (int k = 0; k < 6; k++) {
        check_grads(ops[k], 2, SHAPE(2, 3), 2, SHAPE(2, 3), 0.5, 2.0);
        check_grads(ops[k], 2, SHAPE(2, 3), 1, SHAPE(3), 0.5, 2.0);      /* broadcast b */
        check_grads(ops[k], 2, SHAPE(2, 1), 2, SHAPE(1, 3), 0.5, 2.0);   /* both */
        check_grads(ops[k], 0, NULL, 2, SHAPE(2, 2), 0.5, 2.0);         /* scalar a */
    }
    check_grads(ag_pow, 2, SHAPE(2, 2), 2, SHAPE(2, 2), 0.5, 2.0);
    check_grads(ag_pow, 2, SHAPE(2, 2), 1, SHAPE(1), 0.5, 2.0);
}
END_TEST

START_TEST(test_maximum_splits_ties)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_tensor *b = tu_tensor(AG_F64, 1, SHAPE(3), VALS(2, 2, 2));
    ag_tensor *in[2] = {a, b}, *g[2];
    ag_set_requires_grad(a, 1);
    ag_set_requires_grad(b, 1);
    ck_assert_int_eq(tu_grad_of_sum(t, ag_maximum(t, a, b), 2, in, g), AG_OK);
    tu_assert_values(g[0], VALS(0, 0.5, 1), 3, 0);
    tu_assert_values(g[1], VALS(1, 0.5, 0), 3, 0);
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
}
END_TEST

START_TEST(test_pow_exponent_gradient_at_zero_base)
{
    /* d/db 0^b = 0 (PyTorch masks log 0), and d/da a^2 at 0 is 0 */
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 3));
    ag_tensor *b = tu_tensor(AG_F64, 1, SHAPE(2), VALS(2, 2));
    ag_tensor *in[2] = {a, b}, *g[2];
    ag_set_requires_grad(a, 1);
    ag_set_requires_grad(b, 1);
    ck_assert_int_eq(tu_grad_of_sum(t, ag_pow(t, a, b), 2, in, g), AG_OK);
    tu_assert_values(g[0], VALS(0, 6), 2, 1e-15);
    tu_assert_values(g[1], VALS(0, 9 * log(3.0)), 2, 1e-14);
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
}
END_TEST

typedef struct scalar_ctx {
    scalar_op op;
    double s;
} scalar_ctx;

static ag_tensor *apply_scalar(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    scalar_ctx *c = ctx;
    return c->op(t, in[0], c->s);
}

START_TEST(test_scalar_form_gradients)
{
    const scalar_op ops[] = {ag_add_scalar, ag_sub_scalar, ag_rsub_scalar,
                             ag_mul_scalar, ag_div_scalar, ag_rdiv_scalar};
    ag_tensor *x = tu_random(2, SHAPE(2, 3), 0.5, 2.0, 3);
    for (int k = 0; k < 6; k++) {
        scalar_ctx c = {ops[k], -1.5};
        tu_assert_gradchecks(apply_scalar, &c, 1, &x);
    }
    ag_tensor_free(x);
}
END_TEST

static ag_tensor *apply_where(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_where(t, ctx, in[0], in[1]);
}

START_TEST(test_where_gradients)
{
    ag_tensor *mask = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 0, 1, 0, 0, 1));
    ag_tensor *a = tu_random(2, SHAPE(2, 3), -1, 1, 4), *b = tu_random(1, SHAPE(3), -1, 1, 5);
    ag_tensor *in[2] = {a, b};
    tu_assert_gradchecks(apply_where, mask, 2, in);
    /* the values: d sum(where)/da = mask, d/db = column sums of 1-mask */
    ag_tape *t = ag_tape_new();
    ag_tensor *g[2];
    ck_assert_int_eq(tu_grad_of_sum(t, ag_where(t, mask, a, b), 2, in, g), AG_OK);
    tu_assert_values(g[0], VALS(1, 0, 1, 0, 0, 1), 6, 0);
    tu_assert_values(g[1], VALS(1, 2, 0), 3, 0);
    ag_tape_free(t);
    ag_tensor_free(mask);
    ag_tensor_free(a);
    ag_tensor_free(b);
}
END_TEST

/* ------------------------------------------------------------- errors --- */

START_TEST(test_binary_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *b = tu_tensor(AG_F64, 1, SHAPE(4), VALS(1, 2, 3, 4));
    ag_tensor *f = tu_tensor(AG_F32, 1, SHAPE(3), VALS(1, 2, 3));
    const tu_binary_op ops[] = {ag_add, ag_sub, ag_mul, ag_div, ag_pow, ag_maximum,
                                ag_minimum, ag_gt, ag_ge, ag_lt, ag_le, ag_eq};
    const char *names[] = {"ag_add", "ag_sub", "ag_mul", "ag_div", "ag_pow", "ag_maximum",
                           "ag_minimum", "ag_gt", "ag_ge", "ag_lt", "ag_le", "ag_eq"};
    for (int k = 0; k < 12; k++) {
        tu_assert_error(t, ops[k](t, a, b), AG_ERR_SHAPE, names[k], "a is [2,3], b is [4]");
        ag_tape_clear_error(t);
        tu_assert_error(t, ops[k](t, a, f), AG_ERR_DTYPE, names[k], "a is f64, b is f32");
        ag_tape_clear_error(t);
        tu_assert_error(t, ops[k](t, NULL, a), AG_ERR_ARG, names[k], "a is NULL");
        ag_tape_clear_error(t);
    }
    tu_assert_error(t, ag_mul_scalar(t, NULL, 2), AG_ERR_ARG, "ag_mul_scalar", "x is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_where(t, a, a, b), AG_ERR_SHAPE, "ag_where", "[4]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_where(t, f, a, a), AG_ERR_DTYPE, "ag_where", "mask is f32");
    /* sticky: the first message stays, later ops return NULL */
    ck_assert_ptr_null(ag_add(t, a, a));
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "mask is f32"));
    ck_assert_ptr_null(ag_add(NULL, a, a));                 /* no tape: NULL */
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
    ag_tensor_free(f);
}
END_TEST

Suite *suite_binary(void)
{
    Suite *s = suite_create("binary");
    TU_ADD(s, test_arithmetic_forward_by_hand);
    TU_ADD(s, test_broadcast_forward_by_hand);
    TU_ADD(s, test_scalar_forms_by_hand);
    TU_ADD(s, test_comparisons_are_masks);
    TU_ADD(s, test_where_forward_broadcast);
    TU_ADD(s, test_arithmetic_gradients);
    TU_ADD(s, test_maximum_splits_ties);
    TU_ADD(s, test_pow_exponent_gradient_at_zero_base);
    TU_ADD(s, test_scalar_form_gradients);
    TU_ADD(s, test_where_gradients);
    TU_ADD(s, test_binary_errors);
    return s;
}
