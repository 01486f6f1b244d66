/*
** test_jvp_rules.c: what ag_jvp does with an op definition it cannot use:
** an op with a backward rule but no forward-mode rule is refused by name,
** and a rule that gives a tangent of the wrong shape is an error naming
** the op, never a wrong number. The ops here are private test ops built
** on agi_record (ag_internal.h).
*/
#include "test_util.h"
#include "ag_internal.h"

#include <string.h>

/* y = x; dx += dy */
static void copy_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                          const uint8_t *need)
{
    (void)t, (void)n, (void)need;
    gx[0] = gy;
}

/* a rule giving a tangent of one element, whatever the output */
static ag_tensor *bad_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    (void)n, (void)tx;
    return ag_zeros(t, AG_F64, 1, SHAPE(1));
}

static const agi_op op_no_jvp = {"test_copy (no jvp)", copy_backward, NULL};
static const agi_op op_bad_jvp = {"test_copy (bad jvp)", copy_backward, bad_jvp};

/* The test op of ctx on x, recorded like any op. */
static ag_tensor *f_copy(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const agi_op *op = ctx;
    ag_tensor *x = ag_exp(t, in[0]);
    ag_tensor *y = x ? agi_new_like(t, op->name, x) : NULL;
    if (!y) return NULL;
    memcpy(y->data, x->data, agi_bytes(x->numel, x->dtype));
    agi_record(t, op, y, 1, &x);
    return ag_mul_scalar(t, y, 2);
}

START_TEST(test_jvp_refuses_an_op_without_a_rule)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_from_f64(t, AG_F64, 1, SHAPE(2), VALS(1, 2)), *y = x, *ty = x, *J = x;
    ag_tensor *v = ag_ones(t, AG_F64, 1, SHAPE(2));
    ck_assert_int_eq(ag_jvp(t, f_copy, (void *)&op_no_jvp, 1, &x, &v, &y, &ty, 0),
                     AG_ERR_STATE);
    ck_assert_ptr_null(y);
    ck_assert_ptr_null(ty);
    tu_assert_error(t, NULL, AG_ERR_STATE, "ag_jvp: op test_copy (no jvp) has no forward-mode rule",
                    "(node #");
    ag_tape_clear_error(t);
    /* reverse mode through it still works; forward mode is refused */
    ck_assert_int_eq(ag_jacobian(t, f_copy, (void *)&op_no_jvp, 1, &x, AG_JAC_REVERSE, &J),
                     AG_OK);
    tu_assert_values(J, VALS(2 * exp(1), 0, 0, 2 * exp(2)), 4, 1e-14);
    ck_assert_int_eq(ag_jacobian(t, f_copy, (void *)&op_no_jvp, 1, &x, AG_JAC_FORWARD, &J),
                     AG_ERR_STATE);
    ck_assert_ptr_null(J);
    ag_tape_clear_error(t);
    /* a zero tangent never reaches the op: nothing to refuse */
    ck_assert_int_eq(ag_jvp(t, f_copy, (void *)&op_no_jvp, 1, &x, NULL, &y, &ty, 0), AG_OK);
    tu_assert_values(ty, VALS(0, 0), 2, 0);
    ag_tape_free(t);
}
END_TEST

START_TEST(test_jvp_checks_a_rule_s_shape)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_from_f64(t, AG_F64, 1, SHAPE(2), VALS(1, 2)), *y, *ty;
    ag_tensor *v = ag_ones(t, AG_F64, 1, SHAPE(2));
    ck_assert_int_eq(ag_jvp(t, f_copy, (void *)&op_bad_jvp, 1, &x, &v, &y, &ty, 0),
                     AG_ERR_SHAPE);
    tu_assert_error(t, NULL, AG_ERR_SHAPE, "ag_jvp: test_copy (bad jvp)'s forward-mode rule gave "
                    "a [1] f64 tangent", "for a [2] f64 output");
    ag_tape_free(t);
}
END_TEST

Suite *suite_jvp_rules(void)
{
    Suite *s = suite_create("jvp_rules");
    TU_ADD(s, test_jvp_refuses_an_op_without_a_rule);
    TU_ADD(s, test_jvp_checks_a_rule_s_shape);
    return s;
}
