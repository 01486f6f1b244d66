/*
** test_views.c: the zero-copy shape ops (reshape, flatten, squeeze,
** unsqueeze, contiguous slices share their input's data), slices that copy
** by runs (values against a naive loop on every axis and step), and the
** out= forms refusing an out that overlaps an input partially.
*/
#include "test_util.h"

/* x = 0, 1, 2, ... of shape (persistent, f64 or f32). */
static ag_tensor *iota(ag_dtype dt, int ndim, const int64_t *shape)
{
    ag_tensor *x = ag_zeros(NULL, dt, ndim, shape);
    ck_assert_ptr_nonnull(x);
    for (int64_t i = 0; i < ag_tensor_numel(x); i++) ag_tensor_set(x, i, (double)i);
    return x;
}

START_TEST(test_reshapes_share_data_and_keep_their_rules)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = iota(AG_F64, 3, SHAPE(2, 3, 4));
    ag_set_requires_grad(x, 1);
    ag_tensor *views[4] = {
        ag_reshape(t, x, 2, SHAPE(6, -1)), ag_flatten(t, x, 0, 1),
        ag_unsqueeze(t, x, 1), ag_squeeze(t, ag_unsqueeze(t, x, 0), 0)};
    for (int i = 0; i < 4; i++) {
        ck_assert_ptr_nonnull(views[i]);
        ck_assert_ptr_eq(ag_tensor_data(views[i]), ag_tensor_data(x));
        ck_assert_int_eq(ag_tensor_numel(views[i]), 24);
    }
    ck_assert_int_eq(ag_tensor_shape(views[0])[1], 4);
    ck_assert_int_eq(ag_tensor_shape(views[1])[0], 6);
    /* a write through x is seen by the views (documented in ag_shape.h) */
    ag_tensor_set(x, 5, -7);
    for (int i = 0; i < 4; i++) ck_assert_double_eq(ag_tensor_get(views[i], 5), -7);
    /* each view is still a node with its rule: d/dx sum(w * view) = w */
    ag_tensor *w = iota(AG_F64, 2, SHAPE(6, 4));
    ag_tensor *loss = ag_sum(t, ag_mul(t, views[0], w), AG_ALL, 0);
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);
    for (int64_t i = 0; i < 24; i++)
        ck_assert_double_eq(ag_tensor_get(ag_tensor_grad(x), i), (double)i);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
}
END_TEST

START_TEST(test_contiguous_slices_share_data)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = iota(AG_F32, 3, SHAPE(4, 2, 3));
    ag_tensor *rows = ag_slice(t, x, 0, 1, 3, 1);           /* x[1:3] */
    tu_assert_shape(rows, 3, SHAPE(2, 2, 3));
    ck_assert_ptr_eq(ag_tensor_data(rows), (float *)ag_tensor_data(x) + 6);
    for (int64_t i = 0; i < 12; i++) ck_assert_double_eq(ag_tensor_get(rows, i), 6 + i);
    /* x[2:3] of a [1,...] view: still one run (leading axes of size 1) */
    ag_tensor *one = ag_slice(t, ag_slice(t, x, 0, 2, 3, 1), 1, 1, 2, 1);
    ck_assert_ptr_eq(ag_tensor_data(one), (float *)ag_tensor_data(x) + 15);
    /* not one run: a copy */
    ag_tensor *cols = ag_slice(t, x, 2, 0, 2, 1);
    ck_assert_ptr_ne(ag_tensor_data(cols), ag_tensor_data(x));
    ag_tensor *every2 = ag_slice(t, x, 0, 0, 4, 2);
    ck_assert_ptr_ne(ag_tensor_data(every2), ag_tensor_data(x));
    ag_tensor *empty = ag_slice(t, x, 0, 3, 3, 1);
    tu_assert_shape(empty, 3, SHAPE(0, 2, 3));
    ck_assert_int_eq(ag_tape_status(t), AG_OK);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* Checks ag_slice(x, axis, start, end, step) and its gradient (dy = iota
   of the slice's shape placed into zeros) against naive loops. */
static void check_slice(ag_dtype dt, int axis, int64_t start, int64_t end, int64_t step)
{
    const int64_t shape[3] = {3, 5, 7};
    ag_tape *t = ag_tape_new();
    ag_tensor *x = iota(dt, 3, shape);
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_slice(t, x, axis, start, end, step);
    ck_assert_ptr_nonnull(y);
    int64_t count = (end - start - 1) / step + 1;
    int64_t ys[3] = {3, 5, 7};
    ys[axis] = count;
    tu_assert_shape(y, 3, ys);
    ag_tensor *gy = iota(dt, 3, ys);
    ag_tensor *gx;
    ck_assert_int_eq(ag_grad(t, 1, &y, &gy, 1, &x, &gx, 0), AG_OK);
    double expect_gx[105] = {0};
    int64_t k = 0;
    for (int64_t i = 0; i < ys[0]; i++)
        for (int64_t j = 0; j < ys[1]; j++)
            for (int64_t l = 0; l < ys[2]; l++, k++) {
                int64_t idx[3] = {i, j, l};
                idx[axis] = start + idx[axis] * step;
                int64_t flat = (idx[0] * 5 + idx[1]) * 7 + idx[2];
                ck_assert_double_eq(ag_tensor_get(y, k), (double)flat);
                expect_gx[flat] = (double)k;
            }
    tu_assert_values(gx, expect_gx, 105, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(gy);
}

START_TEST(test_slices_on_every_axis_and_step)
{
    for (int dt = 0; dt < 2; dt++)
        for (int axis = 0; axis < 3; axis++)
            for (int64_t step = 1; step <= 3; step++) {
                check_slice((ag_dtype)dt, axis, 1, 3, step);
                check_slice((ag_dtype)dt, axis, 0, 2 + axis * 2, step);
            }
}
END_TEST

START_TEST(test_out_forms_refuse_partial_overlap)
{
    ag_tape *t = ag_tape_new();
    ag_set_grad_enabled(t, 0);
    ag_tensor *x = iota(AG_F64, 1, SHAPE(8));
    ag_tensor *lo = ag_slice(t, x, 0, 0, 4, 1), *hi = ag_slice(t, x, 0, 2, 6, 1);
    ag_tensor *r = ag_lerp_out(t, hi, lo, lo, 0.5);
    tu_assert_error(t, r, AG_ERR_ARG, "ag_lerp_out", "share part of their memory");
    ag_tape_reset(t);
    /* an out that is an input element for element (a view of the same
       memory) is an update in place, as before: x[0:4] += 2 * 1 * 1 */
    lo = ag_slice(t, x, 0, 0, 4, 1);
    ag_tensor *same = ag_reshape(t, lo, 2, SHAPE(2, 2));
    ag_tensor *ones = ag_ones(t, AG_F64, 2, SHAPE(2, 2));
    ag_tensor *flat = ag_reshape(t, lo, 2, SHAPE(2, 2));
    ck_assert_ptr_nonnull(ag_addcmul_out(t, same, flat, ones, ones, 2));
    tu_assert_values(x, VALS(2, 3, 4, 5, 4, 5, 6, 7), 8, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

Suite *suite_views(void)
{
    Suite *s = suite_create("views");
    TCase *tc = tcase_create("views");
    tcase_add_test(tc, test_reshapes_share_data_and_keep_their_rules);
    tcase_add_test(tc, test_contiguous_slices_share_data);
    tcase_add_test(tc, test_slices_on_every_axis_and_step);
    tcase_add_test(tc, test_out_forms_refuse_partial_overlap);
    suite_add_tcase(s, tc);
    return s;
}
