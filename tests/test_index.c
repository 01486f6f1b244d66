/*
** test_index.c: index_select, index_add, gather and scatter_add:
** hand-computed values in f64 and f32, gradients that add up over repeated
** indices, gradcheck and gradgradcheck in f64 (alone, and squared so the
** second derivative is not zero), index arrays freed right after the op,
** error paths.
*/
#include "test_util.h"

#include <stdlib.h>


/* x is [3,2] = {1,2 / 3,4 / 5,6} in most tests. */
#define X32 VALS(1, 2, 3, 4, 5, 6)

/* ------------------------------------------------------ index_select --- */

static const int64_t REPEAT[3] = {2, 0, 2};

static ag_tensor *fn_select_rows(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_index_select(t, in[0], 0, REPEAT, 3);
}

static ag_tensor *fn_select_cols(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_index_select(t, in[0], -1, (const int64_t[]){1, 1, 0}, 3);
}

START_TEST(test_index_select_forward)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(3, 2), X32);
    ag_tensor *y = ag_index_select(t, x, 0, REPEAT, 3);
    tu_assert_shape(y, 2, SHAPE(3, 2));
    tu_assert_values(y, VALS(5, 6, 1, 2, 5, 6), 6, 0);
    y = ag_index_select(t, x, 1, (const int64_t[]){1, 1, 0}, 3);
    tu_assert_shape(y, 2, SHAPE(3, 3));
    tu_assert_values(y, VALS(2, 2, 1, 4, 4, 3, 6, 6, 5), 9, 0);
    tu_assert_shape(ag_index_select(t, x, 0, NULL, 0), 2, SHAPE(0, 2));
    ag_tensor *f = tu_tensor(AG_F32, 1, SHAPE(4), VALS(0.5, 1.5, 2.5, 3.5));
    y = ag_index_select(t, f, 0, (const int64_t[]){3, 1}, 2);
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_values(y, VALS(3.5, 1.5), 2, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(f);
}
END_TEST

/* Row 2 is picked twice: its gradient is the sum of both dy rows; row 1 is
   not picked and gets zeros. The index array is freed before backward. */
START_TEST(test_index_select_gradients_add_up)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(3, 2), X32);
    ag_set_requires_grad(x, 1);
    int64_t *idx = malloc(3 * sizeof *idx);
    ck_assert_ptr_nonnull(idx);
    memcpy(idx, REPEAT, sizeof REPEAT);
    ag_tensor *y = ag_index_select(t, x, 0, idx, 3);
    free(idx);
    ag_tensor *gy = ag_from_f64(t, AG_F64, 2, SHAPE(3, 2), VALS(1, 2, 10, 20, 100, 200));
    ag_tensor *gx = NULL;
    ck_assert_int_eq(ag_grad(t, 1, &y, &gy, 1, &x, &gx, 0), AG_OK);
    tu_assert_values(gx, VALS(10, 20, 0, 0, 101, 202), 6, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_index_select_grads)
{
    ag_tensor *in[1] = {tu_random(2, SHAPE(3, 2), -1, 1, 21)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_select_rows, 1, in);
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_select_cols, 1, in);
    ag_tensor_free(in[0]);
}
END_TEST

/* --------------------------------------------------------- index_add --- */

static ag_tensor *fn_index_add_rows(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_index_add(t, in[0], 0, REPEAT, 3, in[1]);
}

static ag_tensor *fn_index_add_cols(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_index_add(t, in[0], 1, (const int64_t[]){1, 1, 0}, 3, in[1]);
}

START_TEST(test_index_add_forward)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *base = tu_tensor(AG_F64, 2, SHAPE(3, 2), X32);
    ag_tensor *src = tu_tensor(AG_F64, 2, SHAPE(3, 2), VALS(10, 20, 30, 40, 50, 60));
    ag_tensor *y = ag_index_add(t, base, 0, REPEAT, 3, src);
    tu_assert_shape(y, 2, SHAPE(3, 2));
    tu_assert_values(y, VALS(31, 42, 3, 4, 65, 86), 6, 0);
    ag_tensor *cols = tu_tensor(AG_F64, 2, SHAPE(3, 3), VALS(1, 2, 3, 4, 5, 6, 7, 8, 9));
    y = ag_index_add(t, base, 1, (const int64_t[]){1, 1, 0}, 3, cols);
    tu_assert_values(y, VALS(4, 5, 9, 13, 14, 21), 6, 0);
    ag_tensor *fb = tu_tensor(AG_F32, 1, SHAPE(3), VALS(0.5, 0.5, 0.5));
    ag_tensor *fs = tu_tensor(AG_F32, 1, SHAPE(2), VALS(1, 2));
    y = ag_index_add(t, fb, 0, (const int64_t[]){2, 2}, 2, fs);
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_values(y, VALS(0.5, 0.5, 3.5), 3, 0);
    ag_tape_free(t);
    ag_tensor_free(base);
    ag_tensor_free(src);
    ag_tensor_free(cols);
    ag_tensor_free(fb);
    ag_tensor_free(fs);
}
END_TEST

START_TEST(test_index_add_grads)
{
    ag_tensor *in[2] = {tu_random(2, SHAPE(3, 2), -1, 1, 22), tu_random(2, SHAPE(3, 2), -1, 1, 23)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_index_add_rows, 2, in);
    ag_tensor *cols[2] = {in[0], tu_random(2, SHAPE(3, 3), -1, 1, 24)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_index_add_cols, 2, cols);
    ag_tensor_free(in[0]);
    ag_tensor_free(in[1]);
    ag_tensor_free(cols[1]);
}
END_TEST

/* ------------------------------------------------------------ gather --- */

/* Along axis 1 with a repeat in row 1; along axis 0 with an index of more
   rows than x and fewer columns. */
static const int64_t G1[4] = {2, 0, 1, 1};
static const int64_t G0[6] = {1, 0, 0, 1, 1, 1};

static ag_tensor *fn_gather_axis1(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_gather(t, in[0], 1, G1, SHAPE(2, 2));
}

static ag_tensor *fn_gather_axis0(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_gather(t, in[0], 0, G0, SHAPE(3, 2));
}

START_TEST(test_gather_forward)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), X32);      /* {1,2,3 / 4,5,6} */
    ag_tensor *y = ag_gather(t, x, 1, G1, SHAPE(2, 2));
    tu_assert_shape(y, 2, SHAPE(2, 2));
    tu_assert_values(y, VALS(3, 1, 5, 5), 4, 0);
    y = ag_gather(t, x, 0, G0, SHAPE(3, 2));
    tu_assert_shape(y, 2, SHAPE(3, 2));
    tu_assert_values(y, VALS(4, 2, 1, 5, 4, 5), 6, 0);
    y = ag_gather(t, x, -2, (const int64_t[]){1, 0, 1, 0, 0, 1}, SHAPE(2, 3));
    tu_assert_values(y, VALS(4, 2, 6, 1, 2, 6), 6, 0);
    ag_tensor *f = tu_tensor(AG_F32, 2, SHAPE(2, 3), X32);
    y = ag_gather(t, f, 1, G1, SHAPE(2, 2));
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_values(y, VALS(3, 1, 5, 5), 4, 0);
    tu_assert_shape(ag_gather(t, x, 1, NULL, SHAPE(2, 0)), 2, SHAPE(2, 0));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(f);
}
END_TEST

START_TEST(test_gather_gradients_add_up)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), X32);
    ag_set_requires_grad(x, 1);
    int64_t *index = malloc(sizeof G1);
    ck_assert_ptr_nonnull(index);
    memcpy(index, G1, sizeof G1);
    ag_tensor *y = ag_gather(t, x, 1, index, SHAPE(2, 2));
    free(index);
    ag_tensor *gy = ag_from_f64(t, AG_F64, 2, SHAPE(2, 2), VALS(1, 10, 100, 1000));
    ag_tensor *gx = NULL;
    ck_assert_int_eq(ag_grad(t, 1, &y, &gy, 1, &x, &gx, 0), AG_OK);
    tu_assert_values(gx, VALS(10, 0, 1, 0, 1100, 0), 6, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_gather_grads)
{
    ag_tensor *in[1] = {tu_random(2, SHAPE(2, 3), -1, 1, 25)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_gather_axis1, 1, in);
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_gather_axis0, 1, in);
    ag_tensor_free(in[0]);
}
END_TEST

/* ------------------------------------------------------- scatter_add --- */

static ag_tensor *fn_scatter_axis1(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_scatter_add(t, in[0], 1, G1, SHAPE(2, 2), in[1]);
}

static ag_tensor *fn_scatter_axis0(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_scatter_add(t, in[0], 0, G0, SHAPE(3, 2), in[1]);
}

START_TEST(test_scatter_add_forward)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *base = tu_tensor(AG_F64, 2, SHAPE(2, 3), X32);
    ag_tensor *s1 = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(10, 20, 30, 40));
    ag_tensor *y = ag_scatter_add(t, base, 1, G1, SHAPE(2, 2), s1);
    tu_assert_shape(y, 2, SHAPE(2, 3));
    tu_assert_values(y, VALS(21, 2, 13, 4, 75, 6), 6, 0);
    ag_tensor *s0 = tu_tensor(AG_F64, 2, SHAPE(3, 2), VALS(10, 20, 30, 40, 50, 60));
    y = ag_scatter_add(t, base, 0, G0, SHAPE(3, 2), s0);
    /* base[1][0] += 10, base[0][1] += 20, base[0][0] += 30, base[1][1] += 40,
       base[1][0] += 50, base[1][1] += 60 */
    tu_assert_values(y, VALS(31, 22, 3, 64, 105, 6), 6, 0);
    ag_tensor *fb = tu_tensor(AG_F32, 2, SHAPE(2, 3), X32);
    ag_tensor *fs = tu_tensor(AG_F32, 2, SHAPE(2, 2), VALS(0.5, 0.25, 1, 2));
    y = ag_scatter_add(t, fb, 1, G1, SHAPE(2, 2), fs);
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_values(y, VALS(1.25, 2, 3.5, 4, 8, 6), 6, 0);
    ag_tape_free(t);
    ag_tensor_free(base);
    ag_tensor_free(s1);
    ag_tensor_free(s0);
    ag_tensor_free(fb);
    ag_tensor_free(fs);
}
END_TEST

START_TEST(test_scatter_add_grads)
{
    ag_tensor *in[2] = {tu_random(2, SHAPE(2, 3), -1, 1, 26), tu_random(2, SHAPE(2, 2), -1, 1, 27)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_scatter_axis1, 2, in);
    ag_tensor *rows[2] = {in[0], tu_random(2, SHAPE(3, 2), -1, 1, 28)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_scatter_axis0, 2, rows);
    ag_tensor_free(in[0]);
    ag_tensor_free(in[1]);
    ag_tensor_free(rows[1]);
}
END_TEST

/* ------------------------------------------------------------ errors --- */

START_TEST(test_index_ops_reject_bad_indices)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(3, 2), X32);
    ag_tensor *s = tu_tensor(AG_F64, 2, SHAPE(2, 2), X32);
    tu_assert_error(t, ag_index_select(t, x, 0, (const int64_t[]){0, 3}, 2), AG_ERR_ARG,
                    "ag_index_select: idx[1] is 3, out of range", "[3,2]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_index_select(t, x, 1, (const int64_t[]){-1}, 1), AG_ERR_ARG,
                    "ag_index_select: idx[0] is -1, negative", "[3,2]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_index_add(t, x, 0, (const int64_t[]){1, 7}, 2, s), AG_ERR_ARG,
                    "ag_index_add: idx[1] is 7", "base is [3,2]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_gather(t, x, 1, (const int64_t[]){0, 1, 1, 2}, SHAPE(2, 2)),
                    AG_ERR_ARG, "ag_gather: index[1,1] is 2, out of range", "[3,2]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_gather(t, x, 0, (const int64_t[]){0, -2}, SHAPE(1, 2)), AG_ERR_ARG,
                    "ag_gather: index[0,1] is -2, negative", "[3,2]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_scatter_add(t, x, 0, (const int64_t[]){0, 1, 3, 0}, SHAPE(2, 2), s),
                    AG_ERR_ARG, "ag_scatter_add: index[1,0] is 3", "base is [3,2]");
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(s);
}
END_TEST

START_TEST(test_index_ops_reject_bad_shapes_and_arguments)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(3, 2), X32);
    ag_tensor *s = tu_tensor(AG_F64, 2, SHAPE(2, 3), X32);
    ag_tensor *f = tu_tensor(AG_F32, 2, SHAPE(2, 2), X32);
    const int64_t two[2] = {0, 1}, four[4] = {0, 1, 1, 0};
    tu_assert_error(t, ag_index_select(t, NULL, 0, two, 2), AG_ERR_ARG, "ag_index_select",
                    "x is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_index_select(t, x, 0, NULL, 2), AG_ERR_ARG, "idx is NULL", "[3,2]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_index_select(t, x, 0, two, -1), AG_ERR_ARG, "n is negative", "[3,2]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_index_select(t, x, 2, two, 2), AG_ERR_AXIS, "ag_index_select", "axis 2");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_index_add(t, x, 0, two, 2, s), AG_ERR_SHAPE,
                    "ag_index_add: src is [2,3], expected [2,2]", "base is [3,2]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_index_add(t, x, 0, two, 2, f), AG_ERR_DTYPE, "ag_index_add",
                    "src is f32");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_index_add(t, x, 0, two, 2, NULL), AG_ERR_ARG, "ag_index_add",
                    "src is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_gather(t, x, 0, four, SHAPE(1, 4)), AG_ERR_SHAPE,
                    "ag_gather: index is [1,4], x is [3,2]", "dim 1");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_gather(t, x, 0, four, SHAPE(-1, 2)), AG_ERR_SHAPE, "ag_gather",
                    "dim 0 is negative");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_gather(t, x, 0, NULL, SHAPE(2, 2)), AG_ERR_ARG, "ag_gather",
                    "index is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_gather(t, x, 0, four, NULL), AG_ERR_ARG, "ag_gather",
                    "index_shape is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_scatter_add(t, x, 0, four, SHAPE(2, 2), s), AG_ERR_SHAPE,
                    "ag_scatter_add: src is [2,3], index is [2,2]", "base is [3,2]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_scatter_add(t, x, 0, four, SHAPE(2, 2), f), AG_ERR_DTYPE,
                    "ag_scatter_add", "base is f64, src is f32");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_scatter_add(t, NULL, 0, four, SHAPE(2, 2), s), AG_ERR_ARG,
                    "ag_scatter_add", "base is NULL");
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(s);
    ag_tensor_free(f);
}
END_TEST

START_TEST(test_index_ops_keep_the_first_error)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(3, 2), X32);
    const int64_t ok[2] = {0, 1};
    ck_assert_ptr_null(ag_index_select(t, x, 0, (const int64_t[]){5}, 1));
    const char *first = "ag_index_select: idx[0] is 5, out of range for axis 0 of size 3 "
                        "(x is [3,2])";
    ck_assert_str_eq(ag_tape_errmsg(t), first);
    ck_assert_ptr_null(ag_index_select(t, x, 0, ok, 2));
    ck_assert_ptr_null(ag_index_add(t, x, 1, ok, 2, x));
    ck_assert_ptr_null(ag_gather(t, x, 1, ok, SHAPE(1, 2)));
    ck_assert_ptr_null(ag_scatter_add(t, x, 1, ok, SHAPE(1, 2), x));
    ck_assert_int_eq(ag_tape_status(t), AG_ERR_ARG);
    ck_assert_str_eq(ag_tape_errmsg(t), first);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

Suite *suite_index(void)
{
    Suite *s = suite_create("index");
    TU_ADD(s, test_index_select_forward);
    TU_ADD(s, test_index_select_gradients_add_up);
    TU_ADD(s, test_index_select_grads);
    TU_ADD(s, test_index_add_forward);
    TU_ADD(s, test_index_add_grads);
    TU_ADD(s, test_gather_forward);
    TU_ADD(s, test_gather_gradients_add_up);
    TU_ADD(s, test_gather_grads);
    TU_ADD(s, test_scatter_add_forward);
    TU_ADD(s, test_scatter_add_grads);
    TU_ADD(s, test_index_ops_reject_bad_indices);
    TU_ADD(s, test_index_ops_reject_bad_shapes_and_arguments);
    TU_ADD(s, test_index_ops_keep_the_first_error);
    return s;
}
