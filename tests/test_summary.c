/*
** test_summary.c: ag_module_summary's table (shapes, counts, totals) for a
** Sequential with a nested Sequential, that it changes nothing in the model
** (training flags, BatchNorm's running statistics), its snprintf-style
** length when the buffer is short, and its errors.
*/
#include "test_util.h"

/* Linear(4,3), BatchNorm1d(3), Sequential(ReLU, Linear(3,2)): 15 + 6 + 8
   parameters, BatchNorm's 3 + 3 + 1 buffers. */
static ag_module *small_net(void)
{
    ag_rng *r = ag_rng_new(1);
    ag_module *inner = ag_sequential_new(2, (ag_module *[]){ag_relu_new(),
                                         ag_linear_new(3, 2, 1, AG_F32, r)});
    ag_module *net = ag_sequential_new(3, (ag_module *[]){ag_linear_new(4, 3, 1, AG_F32, r),
                                       ag_batchnorm1d_new(3, 1e-5, 0.1, 1, AG_F32), inner});
    ag_rng_free(r);
    ck_assert_ptr_nonnull(net);
    return net;
}

/* Activations: Linear 5x3, BatchNorm 5x3, ReLU 5x3, Linear 5x2: 55 floats. */
static const char *const expected =
    "Layer (type)                  Output shape           Param #\n"
    "============================================================\n"
    "Sequential                    [5,2]                       29\n"
    "  0 (Linear)                  [5,3]                       15\n"
    "  1 (BatchNorm1d)             [5,3]                        6\n"
    "  2 (Sequential)              [5,2]                        8\n"
    "    0 (ReLU)                  [5,3]                       --\n"
    "    1 (Linear)                [5,2]                        8\n"
    "============================================================\n"
    "Parameters: 29 (116 B); buffers: 7 (28 B)\n"
    "Activations of one forward pass: 220 B\n";

START_TEST(test_summary_table)
{
    ag_module *net = small_net();
    char text[2048];
    int64_t n = ag_module_summary(net, 2, SHAPE(5, 4), AG_F32, text, sizeof text);
    ck_assert_msg(!strcmp(text, expected), "got:\n%s", text);
    ck_assert_int_eq(n, (int64_t)strlen(expected));
    ag_module_free(net);
}
END_TEST

START_TEST(test_summary_changes_nothing)
{
    ag_module *net = small_net();
    ag_module *bn = ag_sequential_get(net, 1);
    ag_module_train(ag_sequential_get(net, 2), 0);      /* mixed flags, kept */
    ag_tensor *mean = ag_module_get(net, "1.running_mean");
    ag_tensor_set(mean, 0, 0.5);
    char text[2048];
    ck_assert_int_gt(ag_module_summary(net, 2, SHAPE(5, 4), AG_F32, text, sizeof text), 0);
    ck_assert_int_eq(ag_module_is_training(net), 1);
    ck_assert_int_eq(ag_module_is_training(bn), 1);
    ck_assert_int_eq(ag_module_is_training(ag_sequential_get(net, 2)), 0);
    ck_assert_double_eq(ag_tensor_get(mean, 0), 0.5);
    ck_assert_double_eq(ag_tensor_get(ag_module_get(net, "1.num_batches_tracked"), 0), 0);
    ag_module_free(net);
}
END_TEST

START_TEST(test_summary_short_buffer_and_errors)
{
    ag_module *net = small_net();
    char text[40];
    int64_t need = ag_module_summary(net, 2, SHAPE(5, 4), AG_F32, NULL, 0);
    ck_assert_int_eq(need, (int64_t)strlen(expected));
    ck_assert_int_eq(ag_module_summary(net, 2, SHAPE(5, 4), AG_F32, text, sizeof text), need);
    ck_assert_int_eq(strlen(text), sizeof text - 1);
    ck_assert(!strncmp(text, expected, sizeof text - 1));
    ck_assert_int_eq(ag_module_summary(net, 2, SHAPE(5, 7), AG_F32, text, sizeof text), -1);
    ck_assert_msg(strstr(ag_last_error(), "ag_module_summary: the forward failed") &&
                  strstr(ag_last_error(), "Linear"), "%s", ag_last_error());
    ck_assert_int_eq(ag_module_is_training(net), 1);
    ck_assert_int_eq(ag_module_summary(NULL, 2, SHAPE(5, 4), AG_F32, text, sizeof text), -1);
    ck_assert(strstr(ag_last_error(), "m is NULL"));
    ck_assert_int_eq(ag_module_summary(net, 9, SHAPE(1, 1, 1, 1, 1, 1, 1, 1, 1), AG_F32, text,
                                       sizeof text), -1);
    ck_assert(strstr(ag_last_error(), "ag_module_summary"));
    ag_module_free(net);
}
END_TEST

Suite *suite_summary(void)
{
    Suite *s = suite_create("summary");
    TCase *tc = tcase_create("summary");
    tcase_add_test(tc, test_summary_table);
    tcase_add_test(tc, test_summary_changes_nothing);
    tcase_add_test(tc, test_summary_short_buffer_and_errors);
    suite_add_tcase(s, tc);
    return s;
}
