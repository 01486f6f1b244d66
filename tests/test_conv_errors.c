/*
** test_conv_errors.c: every error path of the convolution ops (ag_conv.h):
** a NULL result, the status and the message text naming the function,
** what is wrong and the shapes or values; sticky errors; no crash on
** hostile sizes (overflowing padding, dilation, kernels).
*/
#include "test_util.h"

#include <stdint.h>

typedef struct err_env {
    ag_tape *t;
    ag_tensor *x, *w, *b, *x32;
} err_env;

/* x [1,3,5,5], w [4,3,3,3], b [4] (f64), x32 [1,3,5,5] (f32). */
static void env_make(err_env *e)
{
    e->t = ag_tape_new();
    e->x = ag_ones(NULL, AG_F64, 4, SHAPE(1, 3, 5, 5));
    e->w = ag_ones(NULL, AG_F64, 4, SHAPE(4, 3, 3, 3));
    e->b = ag_ones(NULL, AG_F64, 1, SHAPE(4));
    e->x32 = ag_ones(NULL, AG_F32, 4, SHAPE(1, 3, 5, 5));
    ck_assert(e->t && e->x && e->w && e->b && e->x32);
}

static void env_free(err_env *e)
{
    ag_tape_free(e->t);
    ag_tensor_free(e->x);
    ag_tensor_free(e->w);
    ag_tensor_free(e->b);
    ag_tensor_free(e->x32);
}

/* conv2d of a fresh tape on tensors of these shapes with opts; asserts the
   error status and the message parts. */
static void expect_conv2d_error(const int64_t *xs, const int64_t *ws, const ag_conv_opts *o,
                                ag_status st, const char *part1, const char *part2)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_ones(t, AG_F64, 4, xs), *w = ag_ones(t, AG_F64, 4, ws);
    tu_assert_error(t, ag_conv2d(t, x, w, NULL, o), st, part1, part2);
    ag_tape_free(t);
}

START_TEST(test_conv2d_names_channels_and_shapes)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(t, AG_F32, 4, SHAPE(64, 3, 28, 28));
    ag_tensor *w = ag_zeros(t, AG_F32, 4, SHAPE(16, 1, 3, 3));
    ck_assert_ptr_null(ag_conv2d(t, x, w, NULL, NULL));
    ck_assert_int_eq(ag_tape_status(t), AG_ERR_SHAPE);
    ck_assert_str_eq(ag_tape_errmsg(t), "ag_conv2d: input has 3 channels but weight expects 1 "
                     "(groups 1): x is [64,3,28,28], w is [16,1,3,3]");
    /* sticky: the next op fails too and the first message stays */
    ck_assert_ptr_null(ag_conv2d(t, x, ag_zeros(t, AG_F32, 4, SHAPE(16, 3, 3, 3)), NULL, NULL));
    ck_assert(strstr(ag_tape_errmsg(t), "weight expects 1") != NULL);
    ag_tape_free(t);
}
END_TEST

START_TEST(test_null_foreign_and_mixed_dtype_operands)
{
    err_env e;
    env_make(&e);
    tu_assert_error(e.t, ag_conv2d(e.t, NULL, e.w, NULL, NULL), AG_ERR_ARG, "ag_conv2d", "x is NULL");
    ag_tape_reset(e.t);
    tu_assert_error(e.t, ag_conv_transpose2d(e.t, e.x, NULL, NULL, NULL), AG_ERR_ARG,
                    "ag_conv_transpose2d", "w is NULL");
    ag_tape_reset(e.t);
    tu_assert_error(e.t, ag_conv2d(e.t, e.x32, e.w, NULL, NULL), AG_ERR_DTYPE, "dtypes differ",
                    "x is f32, w is f64");
    ag_tape_reset(e.t);
    ag_tensor *b32 = ag_ones(e.t, AG_F32, 1, SHAPE(4));
    tu_assert_error(e.t, ag_conv2d(e.t, e.x, e.w, b32, NULL), AG_ERR_DTYPE, "dtypes differ",
                    "b is f32");
    ag_tape_reset(e.t);
    ag_tape *other = ag_tape_new();
    ag_tensor *xo = ag_ones(other, AG_F64, 4, SHAPE(1, 3, 5, 5));
    tu_assert_error(e.t, ag_conv2d(e.t, xo, e.w, NULL, NULL), AG_ERR_STATE, "ag_conv2d",
                    "another tape");
    ag_tape_free(other);
    ck_assert_ptr_null(ag_conv2d(NULL, e.x, e.w, NULL, NULL));
    ck_assert_ptr_null(ag_unfold(NULL, e.x, SHAPE(2, 2), NULL));
    env_free(&e);
}
END_TEST

START_TEST(test_negative_and_unknown_options)
{
    const ag_conv_opts bad[] = {{.stride = {-1, 1}}, {.padding = {0, -2}}, {.dilation = {-1, 1}},
                                {.groups = -3}, {.output_padding = {-1, 0}}};
    for (int i = 0; i < 5; i++)
        expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(4, 3, 3, 3), &bad[i], AG_ERR_ARG,
                            "ag_conv2d: negative option", "stride (");
    expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(4, 3, 3, 3), &bad[3], AG_ERR_ARG,
                        "groups -3", "a stride, dilation or groups of 0 means 1");
    ag_conv_opts kind = {.padding_kind = (ag_conv_padding)7};
    expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(4, 3, 3, 3), &kind, AG_ERR_ARG,
                        "ag_conv2d", "unknown padding_kind 7");
}
END_TEST

START_TEST(test_same_and_valid_padding_rules)
{
    ag_conv_opts strided = {.padding_kind = AG_CONV_PADDING_SAME, .stride = {2, 2}};
    expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(4, 3, 3, 3), &strided, AG_ERR_ARG,
                        "padding \"same\" is not supported for strided", "stride (2, 2)");
    ag_conv_opts both = {.padding_kind = AG_CONV_PADDING_VALID, .padding = {1, 1}};
    expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(4, 3, 3, 3), &both, AG_ERR_ARG,
                        "padding (1, 1) given with padding_kind \"valid\"", "one or the other");
    ag_conv_opts out_pad = {.output_padding = {1, 0}};
    expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(4, 3, 3, 3), &out_pad, AG_ERR_ARG,
                        "output_padding (1, 0)", "transposed convolutions only");
    err_env e;
    env_make(&e);
    ag_tensor *wt = ag_ones(e.t, AG_F64, 4, SHAPE(3, 2, 3, 3));
    ag_conv_opts same = {.padding_kind = AG_CONV_PADDING_SAME};
    tu_assert_error(e.t, ag_conv_transpose2d(e.t, e.x, wt, NULL, &same), AG_ERR_ARG,
                    "ag_conv_transpose2d: padding_kind \"same\"", "convolutions only");
    env_free(&e);
}
END_TEST

START_TEST(test_output_padding_must_be_below_stride_or_dilation)
{
    err_env e;
    env_make(&e);
    ag_tensor *wt = ag_ones(e.t, AG_F64, 4, SHAPE(3, 2, 3, 3));
    ag_conv_opts o = {.stride = {2, 2}, .dilation = {1, 3}, .output_padding = {1, 3}};
    tu_assert_error(e.t, ag_conv_transpose2d(e.t, e.x, wt, NULL, &o), AG_ERR_ARG,
                    "output padding must be smaller than either stride or dilation",
                    "output_padding (1, 3), stride (2, 2), dilation (1, 3)");
    ag_tape_reset(e.t);
    ag_conv_opts ok = {.stride = {2, 2}, .dilation = {1, 3}, .output_padding = {1, 2}};
    wt = ag_ones(e.t, AG_F64, 4, SHAPE(3, 2, 3, 3));
    ck_assert_ptr_nonnull(ag_conv_transpose2d(e.t, e.x, wt, NULL, &ok));
    env_free(&e);
}
END_TEST

START_TEST(test_shape_errors_name_both_shapes)
{
    expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(4, 1, 3, 3), &(ag_conv_opts){.groups = 2},
                        AG_ERR_SHAPE, "groups 2 must divide the input's 3 channels",
                        "x is [1,3,5,5], w is [4,1,3,3]");
    expect_conv2d_error(SHAPE(1, 4, 5, 5), SHAPE(3, 2, 3, 3), &(ag_conv_opts){.groups = 2},
                        AG_ERR_SHAPE, "and w's dim 0 (3", "w is [3,2,3,3]");
    expect_conv2d_error(SHAPE(1, 3, 2, 2), SHAPE(4, 3, 3, 3), NULL, AG_ERR_SHAPE,
                        "kernel (dilated) is larger than the padded input",
                        "x is [1,3,2,2], w is [4,3,3,3]");
    expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(4, 3, 3, 3), &(ag_conv_opts){.dilation = {3, 1}},
                        AG_ERR_SHAPE, "larger than the padded input", "x is [1,3,5,5]");
    expect_conv2d_error(SHAPE(1, 3, 0, 5), SHAPE(4, 3, 1, 1), &(ag_conv_opts){.padding = {1, 1}},
                        AG_ERR_SHAPE, "spatial sizes must be >= 1", "x is [1,3,0,5]");
    expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(4, 3, 0, 3), NULL, AG_ERR_SHAPE,
                        "kernel size must be >= 1", "w is [4,3,0,3]");
    expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(0, 3, 3, 3), NULL, AG_ERR_SHAPE,
                        "must be >= 1", "w is [0,3,3,3]");
    err_env e;
    env_make(&e);
    ag_tensor *x2 = ag_ones(e.t, AG_F64, 2, SHAPE(5, 5));
    tu_assert_error(e.t, ag_conv2d(e.t, x2, e.w, NULL, NULL), AG_ERR_SHAPE,
                    "x must be 3D (unbatched) or 4D (batched)", "x is [5,5]");
    ag_tape_reset(e.t);
    ag_tensor *w3 = ag_ones(e.t, AG_F64, 3, SHAPE(4, 3, 3));
    tu_assert_error(e.t, ag_conv2d(e.t, e.x, w3, NULL, NULL), AG_ERR_SHAPE, "w must be 4D",
                    "w is [4,3,3]");
    ag_tape_reset(e.t);
    ag_tensor *b5 = ag_ones(e.t, AG_F64, 1, SHAPE(5));
    tu_assert_error(e.t, ag_conv2d(e.t, e.x, e.w, b5, NULL), AG_ERR_SHAPE,
                    "b must be [4] (out channels), b is [5]", "w is [4,3,3,3]");
    ag_tape_reset(e.t);
    ag_tensor *xt = ag_ones(e.t, AG_F64, 4, SHAPE(1, 3, 1, 1)), *wt = ag_ones(e.t, AG_F64, 4, SHAPE(3, 2, 1, 1));
    tu_assert_error(e.t, ag_conv_transpose2d(e.t, xt, wt, NULL, &(ag_conv_opts){.padding = {1, 1}}),
                    AG_ERR_SHAPE, "output size is too small", "x is [1,3,1,1], w is [3,2,1,1]");
    ag_tape_reset(e.t);
    ag_tensor *w2 = ag_ones(e.t, AG_F64, 4, SHAPE(2, 2, 3, 3));
    tu_assert_error(e.t, ag_conv_transpose2d(e.t, e.x, w2, NULL, NULL), AG_ERR_SHAPE,
                    "input has 3 channels but weight expects 2", "w is [2,2,3,3]");
    env_free(&e);
}
END_TEST

START_TEST(test_1d_ops_take_entry_0_only)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_ones(t, AG_F64, 3, SHAPE(1, 2, 6)), *w = ag_ones(t, AG_F64, 3, SHAPE(3, 2, 2));
    tu_assert_error(t, ag_conv1d(t, x, w, NULL, &(ag_conv_opts){.stride = {2, 2}}), AG_ERR_ARG,
                    "ag_conv1d: a 1-D op reads entry [0]", "stride[1] 2");
    ag_tape_reset(t);
    x = ag_ones(t, AG_F64, 3, SHAPE(1, 2, 6));
    w = ag_ones(t, AG_F64, 4, SHAPE(3, 2, 2, 2));
    tu_assert_error(t, ag_conv1d(t, x, w, NULL, NULL), AG_ERR_SHAPE, "w must be 3D",
                    "x is [1,2,6], w is [3,2,2,2]");
    ag_tape_reset(t);
    x = ag_ones(t, AG_F64, 3, SHAPE(1, 2, 2));
    w = ag_ones(t, AG_F64, 3, SHAPE(2, 2, 3));
    tu_assert_error(t, ag_conv_transpose1d(t, x, w, NULL, &(ag_conv_opts){.output_padding = {1}}),
                    AG_ERR_ARG, "output_padding 1, stride 1, dilation 1", "smaller than either");
    ag_tape_free(t);
}
END_TEST

START_TEST(test_unfold_and_fold_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_ones(t, AG_F64, 4, SHAPE(1, 2, 4, 4));
    tu_assert_error(t, ag_unfold(t, x, NULL, NULL), AG_ERR_ARG, "ag_unfold", "kernel is NULL");
    ag_tape_reset(t);
    x = ag_ones(t, AG_F64, 4, SHAPE(1, 2, 4, 4));
    tu_assert_error(t, ag_unfold(t, x, SHAPE(0, 2), NULL), AG_ERR_ARG, "kernel (0, 2)", ">= 1");
    ag_tape_reset(t);
    x = ag_ones(t, AG_F64, 4, SHAPE(1, 2, 4, 4));
    tu_assert_error(t, ag_unfold(t, x, SHAPE(2, 2), &(ag_conv_opts){.groups = 2}), AG_ERR_ARG,
                    "takes stride, padding and dilation only", "groups 2");
    ag_tape_reset(t);
    x = ag_ones(t, AG_F64, 2, SHAPE(4, 4));
    tu_assert_error(t, ag_unfold(t, x, SHAPE(2, 2), NULL), AG_ERR_SHAPE, "3D (unbatched) or 4D",
                    "x is [4,4]");
    ag_tape_reset(t);
    x = ag_ones(t, AG_F64, 4, SHAPE(1, 2, 4, 4));
    tu_assert_error(t, ag_unfold(t, x, SHAPE(5, 2), NULL), AG_ERR_SHAPE,
                    "kernel (5, 2) (dilated) is larger than the padded input (4, 4)", "x is [1,2,4,4]");
    ag_tape_reset(t);
    ag_tensor *c = ag_ones(t, AG_F64, 3, SHAPE(1, 8, 15));
    tu_assert_error(t, ag_fold(t, c, SHAPE(5, 5), SHAPE(2, 2), NULL), AG_ERR_SHAPE,
                    "x has 15 columns but output_size (5, 5) gives 4 x 4 sliding blocks",
                    "x is [1,8,15]");
    ag_tape_reset(t);
    c = ag_ones(t, AG_F64, 3, SHAPE(1, 7, 16));
    tu_assert_error(t, ag_fold(t, c, SHAPE(5, 5), SHAPE(2, 2), NULL), AG_ERR_SHAPE,
                    "x's dim 1 (7) must be a multiple of kH*kW = 4", "x is [1,7,16]");
    ag_tape_reset(t);
    c = ag_ones(t, AG_F64, 3, SHAPE(1, 8, 16));
    tu_assert_error(t, ag_fold(t, c, NULL, SHAPE(2, 2), NULL), AG_ERR_ARG, "ag_fold",
                    "output_size is NULL");
    ag_tape_free(t);
}
END_TEST

/* Sizes that overflow an int64 somewhere are refused, never wrapped. */
START_TEST(test_overflowing_sizes_are_refused)
{
    const int64_t big = INT64_MAX / 2;
    expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(4, 3, 3, 3), &(ag_conv_opts){.padding = {big, 0}},
                        AG_ERR_NOMEM, "ag_conv2d", "overflow");
    expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(4, 3, 3, 3),
                        &(ag_conv_opts){.dilation = {INT64_MAX, 1}}, AG_ERR_NOMEM, "ag_conv2d", "overflow");
    /* a padding that fits but makes the patches of one image too large */
    expect_conv2d_error(SHAPE(1, 3, 5, 5), SHAPE(4, 3, 3, 3),
                        &(ag_conv_opts){.padding = {INT64_MAX / 8, INT64_MAX / 8}}, AG_ERR_NOMEM,
                        "ag_conv2d", "overflow");
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_ones(t, AG_F64, 4, SHAPE(1, 2, 4, 4));
    tu_assert_error(t, ag_unfold(t, x, SHAPE(INT64_MAX, INT64_MAX), &(ag_conv_opts){.padding = {big, big}}),
                    AG_ERR_NOMEM, "ag_unfold", "overflow");
    ag_tape_free(t);
}
END_TEST

Suite *suite_conv_errors(void)
{
    Suite *s = suite_create("conv_errors");
    TU_ADD(s, test_conv2d_names_channels_and_shapes);
    TU_ADD(s, test_null_foreign_and_mixed_dtype_operands);
    TU_ADD(s, test_negative_and_unknown_options);
    TU_ADD(s, test_same_and_valid_padding_rules);
    TU_ADD(s, test_output_padding_must_be_below_stride_or_dilation);
    TU_ADD(s, test_shape_errors_name_both_shapes);
    TU_ADD(s, test_1d_ops_take_entry_0_only);
    TU_ADD(s, test_unfold_and_fold_errors);
    TU_ADD(s, test_overflowing_sizes_are_refused);
    return s;
}
