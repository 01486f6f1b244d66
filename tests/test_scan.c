/*
** test_scan.c: cumsum. Values against a naive loop over every axis (also
** across the kernel's 256-column tiles), f32 accumulated in double as
** PyTorch's CPU kernel (its numbers pasted), the backward as a reversed
** cumulative sum by hand, gradcheck and gradgradcheck in f64, error paths.
*/
#include "test_util.h"

/* y[o, i, j] = sum over i' <= i of x[o, i', j], x seen as [outer, n, inner]. */
static void assert_cumsum(const ag_tensor *x, const ag_tensor *y, int64_t outer, int64_t n,
                          int64_t inner, double tol)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            double acc = 0;
            for (int64_t i = 0; i < n; i++) {
                int64_t at = (o * n + i) * inner + j;
                acc += ag_tensor_get(x, at);
                ck_assert_msg(fabs(ag_tensor_get(y, at) - acc) <= tol,
                              "element %lld: got %.17g, expected %.17g", (long long)at,
                              ag_tensor_get(y, at), acc);
            }
        }
}

START_TEST(test_cumsum_matches_a_naive_loop)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_random(3, SHAPE(3, 4, 5), -1, 1, 300);
    ag_tensor *f = ag_cast(t, x, AG_F32);
    for (int axis = -3; axis < 3; axis++) {
        int a = axis < 0 ? axis + 3 : axis;
        int64_t outer = a == 0 ? 1 : a == 1 ? 3 : 12, n = a == 0 ? 3 : a == 1 ? 4 : 5;
        ag_tensor *y = ag_cumsum(t, x, axis);
        tu_assert_shape(y, 3, SHAPE(3, 4, 5));
        assert_cumsum(x, y, outer, n, 60 / outer / n, 1e-14);
        ag_tensor *yf = ag_cumsum(t, f, axis);
        ck_assert_int_eq(ag_tensor_dtype(yf), AG_F32);
        assert_cumsum(f, yf, outer, n, 60 / outer / n, 1e-6);
    }
    /* more columns than one tile of the kernel */
    ag_tensor *wide = tu_random(3, SHAPE(2, 3, 300), -1, 1, 301);
    assert_cumsum(wide, ag_cumsum(t, wide, 1), 2, 3, 300, 1e-14);
    ag_tensor *s = tu_tensor(AG_F64, 0, NULL, VALS(2.5));
    ag_tensor *y = ag_cumsum(t, s, -1);
    ck_assert_int_eq(ag_tensor_ndim(y), 0);
    tu_assert_values(y, VALS(2.5), 1, 0);
    tu_assert_shape(ag_cumsum(t, ag_zeros(t, AG_F64, 2, SHAPE(0, 3)), 0), 2, SHAPE(0, 3));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(wide);
    ag_tensor_free(s);
}
END_TEST

/* torch 1.13 (f32):
     torch.tensor([16777216.,1.,1.,1.,1.]).cumsum(0).tolist()
       -> [16777216.0, 16777216.0, 16777218.0, 16777220.0, 16777220.0]
     torch.tensor([1e8,1.,-1e8,1.]).cumsum(0) -> [1e8, 1e8, 1, 2]
   An f32 accumulator would stick at 2^24 and give 0 for the third. */
START_TEST(test_cumsum_f32_accumulates_in_double_as_pytorch)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F32, 1, SHAPE(5), VALS(16777216, 1, 1, 1, 1));
    ag_tensor *b = tu_tensor(AG_F32, 1, SHAPE(4), VALS(1e8, 1, -1e8, 1));
    tu_assert_values(ag_cumsum(t, a, 0), VALS(16777216, 16777216, 16777218, 16777220, 16777220),
                     5, 0);
    tu_assert_values(ag_cumsum(t, b, 0), VALS(1e8, 1e8, 1, 2), 4, 0);
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
}
END_TEST

/* d sum(w * cumsum(x)) / dx[i] = w[i] + ... + w[n-1], by hand, along
   either axis (the first with create_graph: the rule is recorded). */
START_TEST(test_cumsum_backward_is_a_reversed_cumsum)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 4), VALS(1, 2, 3, 4, 5, 6, 7, 8));
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_cumsum(t, x, 1);
    ag_tensor *w = ag_from_f64(t, AG_F64, 2, SHAPE(2, 4), VALS(1, 2, 3, 4, 0, 0, 1, 10));
    ag_tensor *gx = NULL;
    ck_assert_int_eq(ag_grad(t, 1, &y, &w, 1, &x, &gx, 1), AG_OK);
    tu_assert_values(gx, VALS(10, 9, 7, 4, 11, 11, 11, 10), 8, 0);
    ag_tensor *y0 = ag_cumsum(t, x, 0);
    ck_assert_int_eq(ag_grad(t, 1, &y0, &w, 1, &x, &gx, 0), AG_OK);
    tu_assert_values(gx, VALS(1, 2, 4, 14, 0, 0, 1, 10), 8, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

static ag_tensor *fn_cumsum_last(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_cumsum(t, in[0], -1);
}

static ag_tensor *fn_cumsum_first(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_cumsum(t, in[0], 0);
}

START_TEST(test_cumsum_grads)
{
    ag_tensor *in[1] = {tu_random(3, SHAPE(2, 3, 2), -1, 1, 310)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_cumsum_last, 1, in);
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_cumsum_first, 1, in);
    ag_tensor_free(in[0]);
}
END_TEST

START_TEST(test_cumsum_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
    tu_assert_error(t, ag_cumsum(t, x, AG_ALL), AG_ERR_AXIS, "ag_cumsum", "not AG_ALL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_cumsum(t, x, -3), AG_ERR_AXIS, "ag_cumsum: axis -3", "[2,3]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_cumsum(t, NULL, 0), AG_ERR_ARG, "ag_cumsum", "x is NULL");
    ag_tape_clear_error(t);
    ag_tensor *old = ag_neg(t, x);
    ag_tape_reset(t);
    tu_assert_error(t, ag_cumsum(t, old, 0), AG_ERR_STATE, "ag_cumsum",
                    "before the tape was reset");
    ck_assert_ptr_null(ag_cumsum(t, x, 0));            /* the first error is kept */
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_cumsum: x was made before"));
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

Suite *suite_scan(void)
{
    Suite *s = suite_create("scan");
    TU_ADD(s, test_cumsum_matches_a_naive_loop);
    TU_ADD(s, test_cumsum_f32_accumulates_in_double_as_pytorch);
    TU_ADD(s, test_cumsum_backward_is_a_reversed_cumsum);
    TU_ADD(s, test_cumsum_grads);
    TU_ADD(s, test_cumsum_errors);
    return s;
}
