/*
** test_mask.c: masked_fill and one_hot. Values by hand in f64 and f32,
** broadcasting of the mask (and of x) as PyTorch's out-of-place
** masked_fill (its numbers pasted from torch 1.13), a causal mask under
** softmax, the gradient by hand and by gradcheck and gradgradcheck in
** f64, one_hot against PyTorch, error paths.
*/
#include "test_util.h"

/* ------------------------------------------------------- masked_fill --- */

START_TEST(test_masked_fill_forward)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *m = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(0, 1, 0, 1, 0, NAN));  /* NaN: true */
    ag_tensor *y = ag_masked_fill(t, x, m, -7.5);
    tu_assert_shape(y, 2, SHAPE(2, 3));
    tu_assert_values(y, VALS(1, -7.5, 3, -7.5, 5, -7.5), 6, 0);
    /* a row mask broadcast over columns; an f32 mask on f64 x */
    ag_tensor *rows = tu_tensor(AG_F32, 2, SHAPE(2, 1), VALS(1, 0));
    y = ag_masked_fill(t, x, rows, 0);
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F64);
    tu_assert_values(y, VALS(0, 0, 0, 4, 5, 6), 6, 0);
    /* f32 x, -inf */
    ag_tensor *f = tu_tensor(AG_F32, 1, SHAPE(3), VALS(0.5, 1.5, 2.5));
    ag_tensor *cols = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0, 0, 2));
    y = ag_masked_fill(t, f, cols, -INFINITY);
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    ck_assert_double_eq(ag_tensor_get(y, 0), 0.5);
    ck_assert_double_eq(ag_tensor_get(y, 1), 1.5);
    ck_assert_double_eq(ag_tensor_get(y, 2), -INFINITY);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(m);
    ag_tensor_free(rows);
    ag_tensor_free(f);
    ag_tensor_free(cols);
}
END_TEST

/* torch 1.13:
     torch.zeros(3).masked_fill(torch.tensor([[True],[False]]), 1.0)
       -> [[1., 1., 1.], [0., 0., 0.]]      (the result takes the broadcast shape) */
START_TEST(test_masked_fill_broadcasts_x_as_pytorch)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F32, 1, SHAPE(3));
    ag_tensor *m = tu_tensor(AG_F32, 2, SHAPE(2, 1), VALS(1, 0));
    ag_tensor *y = ag_masked_fill(t, x, m, 1.0);
    tu_assert_shape(y, 2, SHAPE(2, 3));
    tu_assert_values(y, VALS(1, 1, 1, 0, 0, 0), 6, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(m);
}
END_TEST

/* The causal mask of attention: scores above the diagonal set to -inf,
   then softmax: row i spreads evenly over positions 0..i. */
START_TEST(test_masked_fill_causal_softmax)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *scores = ag_zeros(t, AG_F64, 2, SHAPE(3, 3));
    ag_tensor *upper = ag_triu(t, ag_ones(t, AG_F64, 2, SHAPE(3, 3)), 1);
    ag_tensor *p = ag_softmax(t, ag_masked_fill(t, scores, upper, -INFINITY), -1);
    tu_assert_values(p, VALS(1, 0, 0, 0.5, 0.5, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3), 9, 1e-15);
    ag_tape_free(t);
}
END_TEST

/* x [3] broadcast against a mask [2,3]: dx[j] = sum of dy[i][j] where
   mask[i][j] is 0. */
START_TEST(test_masked_fill_gradient_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_tensor *m = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(0, 1, 1, 0, 0, 1));
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_masked_fill(t, x, m, 9);
    ag_tensor *gy = ag_from_f64(t, AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 10, 20, 30));
    ag_tensor *gx = NULL;
    ck_assert_int_eq(ag_grad(t, 1, &y, &gy, 1, &x, &gx, 0), AG_OK);
    tu_assert_values(gx, VALS(11, 20, 0), 3, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(m);
}
END_TEST

static ag_tensor *MASK;           /* the mask of the gradcheck functions */

static ag_tensor *fn_masked_fill(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_masked_fill(t, in[0], MASK, 0.25);
}

START_TEST(test_masked_fill_grads)
{
    MASK = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(0, 1, 1, 0, 0, 1));
    ag_tensor *same[1] = {tu_random(2, SHAPE(2, 3), -1, 1, 400)};
    ag_tensor *bcast[1] = {tu_random(1, SHAPE(3), -1, 1, 401)};      /* [3] -> [2,3] */
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_masked_fill, 1, same);
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_masked_fill, 1, bcast);
    ag_tensor_free(MASK);
    ag_tensor_free(same[0]);
    ag_tensor_free(bcast[0]);
}
END_TEST

/* ----------------------------------------------------------- one_hot --- */

/* torch 1.13:
     torch.nn.functional.one_hot(torch.tensor([[0,2],[1,0]]))
       -> [[[1,0,0],[0,0,1]], [[0,1,0],[1,0,0]]]                  (shape [2,2,3]) */
START_TEST(test_one_hot_matches_pytorch)
{
    ag_tape *t = ag_tape_new();
    const int64_t idx[4] = {0, 2, 1, 0};
    ag_tensor *y = ag_one_hot(t, idx, 2, SHAPE(2, 2), -1, AG_F32);
    tu_assert_shape(y, 3, SHAPE(2, 2, 3));
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_values(y, VALS(1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0), 12, 0);
    ck_assert_int_eq(ag_requires_grad(y), 0);
    y = ag_one_hot(t, idx, 1, SHAPE(4), 4, AG_F64);
    tu_assert_shape(y, 2, SHAPE(4, 4));
    tu_assert_values(y, VALS(1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0), 16, 0);
    y = ag_one_hot(t, idx + 2, 0, NULL, 3, AG_F64);           /* a 0-d index: [3] */
    tu_assert_shape(y, 1, SHAPE(3));
    tu_assert_values(y, VALS(0, 1, 0), 3, 0);
    tu_assert_shape(ag_one_hot(t, NULL, 1, SHAPE(0), 5, AG_F64), 2, SHAPE(0, 5));
    ck_assert_uint_eq(ag_tape_size(t), 0);                    /* a constant */
    ag_tensor *p = ag_one_hot(NULL, idx, 1, SHAPE(4), -1, AG_F64);   /* persistent */
    tu_assert_shape(p, 2, SHAPE(4, 3));
    ck_assert_ptr_null(ag_tensor_tape(p));
    ag_tensor_free(p);
    ag_tape_free(t);
}
END_TEST

/* ------------------------------------------------------------ errors --- */

START_TEST(test_mask_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *m = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 1));
    tu_assert_error(t, ag_masked_fill(t, x, m, 0), AG_ERR_SHAPE,
                    "ag_masked_fill: x is [2,3], mask is [2]", "do not broadcast");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_masked_fill(t, x, NULL, 0), AG_ERR_ARG, "ag_masked_fill",
                    "mask is NULL");
    ag_tape_clear_error(t);
    const int64_t idx[3] = {0, -2, 5};
    tu_assert_error(t, ag_one_hot(t, idx, 2, SHAPE(1, 3), -1, AG_F64), AG_ERR_ARG,
                    "ag_one_hot: idx[0,1] is -2", "negative");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_one_hot(t, idx + 2, 1, SHAPE(1), 3, AG_F64), AG_ERR_ARG,
                    "ag_one_hot: idx[0] is 5", "not below num_classes 3");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_one_hot(t, NULL, 1, SHAPE(0), -1, AG_F64), AG_ERR_ARG, "ag_one_hot",
                    "no indices to infer it from");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_one_hot(t, idx, 1, SHAPE(1), -2, AG_F64), AG_ERR_ARG,
                    "ag_one_hot: num_classes is -2", "-1 to infer");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_one_hot(t, NULL, 1, SHAPE(2), 3, AG_F64), AG_ERR_ARG, "ag_one_hot",
                    "idx is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_one_hot(t, idx, 8, SHAPE(1, 1, 1, 1, 1, 1, 1, 1), 3, AG_F64),
                    AG_ERR_SHAPE, "ag_one_hot", "ndim is 8");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_one_hot(t, idx, 1, SHAPE(-1), 3, AG_F64), AG_ERR_SHAPE, "ag_one_hot",
                    "[-1]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_one_hot(t, idx, 1, SHAPE(1), 3, (ag_dtype)9), AG_ERR_DTYPE,
                    "ag_one_hot", "dtype");
    ag_tape_clear_error(t);
    ck_assert_ptr_null(ag_one_hot(NULL, idx, 1, SHAPE(2), 3, AG_F64));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_one_hot: idx[1] is -2"));
    ag_tensor *old = ag_neg(t, x);
    ag_tape_reset(t);
    tu_assert_error(t, ag_masked_fill(t, old, m, 0), AG_ERR_STATE, "ag_masked_fill",
                    "before the tape was reset");
    ck_assert_ptr_null(ag_one_hot(t, idx, 1, SHAPE(1), 3, AG_F64));   /* first error kept */
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_masked_fill: x was made before"));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(m);
}
END_TEST

Suite *suite_mask(void)
{
    Suite *s = suite_create("mask");
    TU_ADD(s, test_masked_fill_forward);
    TU_ADD(s, test_masked_fill_broadcasts_x_as_pytorch);
    TU_ADD(s, test_masked_fill_causal_softmax);
    TU_ADD(s, test_masked_fill_gradient_by_hand);
    TU_ADD(s, test_masked_fill_grads);
    TU_ADD(s, test_one_hot_matches_pytorch);
    TU_ADD(s, test_mask_errors);
    return s;
}
