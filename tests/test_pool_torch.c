/*
** test_pool_torch.c: pooling against numbers PyTorch 1.13 produced once
** (CPU, float64; the script below, run with /usr/bin/python3), pasted
** here: every option of max, average and adaptive average pooling on
** fixed inputs, and max pooling's tie and NaN rules, through the values,
** the indices PyTorch chose and the gradient each element received.
**
**   import torch, torch.nn.functional as F
**   def xs(n): return torch.tensor([((i * 7) % 31 - 15) / 4 for i in range(n)],
**                                  dtype=torch.float64)
**   def dys(y): return torch.arange(1., y.numel() + 1, dtype=y.dtype).reshape(y.shape)
**   # A: max_pool2d, ties between windows, every option
**   x = xs(60).reshape(1, 2, 5, 6).requires_grad_()
**   y = F.max_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 1), dilation=(1, 2),
**                    ceil_mode=True); y.backward(dys(y))          # A_y, x.grad: A_dx
**   # B: max_pool1d, unbatched
**   x = xs(14).reshape(2, 7).requires_grad_()
**   y = F.max_pool1d(x, 3, stride=2, padding=1, dilation=2, ceil_mode=True)
**   y.backward(dys(y))                                             # B_y, B_dx
**   # C: avg_pool2d
**   x = xs(25).reshape(1, 1, 5, 5)
**   F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True,
**                count_include_pad=inc)                            # C_y_1, C_y_0
**   F.avg_pool2d(x, (2, 3), stride=(3, 2), padding=(1, 1), divisor_override=2)  # C_y_div
**   # D: avg_pool1d
**   x = xs(14).reshape(1, 2, 7)
**   F.avg_pool1d(x, 4, stride=3, padding=2, ceil_mode=True,
**                count_include_pad=inc)                            # D_y_1, D_y_0
**   # E: adaptive
**   x = xs(70).reshape(1, 2, 5, 7)
**   F.adaptive_avg_pool2d(x, (3, 4))                               # E_y_34
**   F.adaptive_avg_pool2d(x[0, :1, :3, :2], (7, 3))                # E_y_73
**   # F, G: ties and NaNs (float32)
**   x = torch.tensor([[[1., 3, 3, nan, 2, nan, 5, 5, -inf]]], requires_grad=True)
**   y, i = F.max_pool1d(x, 3, stride=1, padding=1, return_indices=True)
**   y.backward(dys(y))                                             # F_y, F_i, F_dx
**   x = torch.tensor([[[[2., 2, 1], [2, 2, 7], [7, 1, 7]]]], requires_grad=True)
**   y, i = F.max_pool2d(x, 2, stride=1, return_indices=True)
**   y.backward(dys(y))                                             # G_y, G_i, G_dx
*/
#include "pool_test_util.h"

/* Asserts x holds e[0..n) exactly (NaN where e is NaN). */
static void assert_exact(ag_tensor *x, const double *e, int64_t n)
{
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(ag_tensor_numel(x), n);
    for (int64_t i = 0; i < n; i++) {
        double v = ag_tensor_get(x, i);
        ck_assert_msg(v == e[i] || (isnan(v) && isnan(e[i])), "element %lld: got %.17g, "
                      "PyTorch %.17g", (long long)i, v, e[i]);
    }
}

/* dy = 1, 2, ... of y's shape, and dx = d <y, dy> / d x. */
static ag_tensor *grad_for_arange(ag_tape *t, ag_tensor *y, ag_tensor *x)
{
    ck_assert_ptr_nonnull(y);
    ag_tensor *dy = ag_arange(t, ag_tensor_dtype(y), 1, (double)ag_tensor_numel(y) + 1, 1);
    dy = ag_reshape(t, dy, ag_tensor_ndim(y), ag_tensor_shape(y));
    ag_tensor *dx = NULL;
    ck_assert_int_eq(ag_grad(t, 1, &y, &dy, 1, &x, &dx, 0), AG_OK);
    return dx;
}

START_TEST(test_max_pool2d_every_option_matches_pytorch)
{
    static const double y_pt[36] = {
        0.75, 2.5, 1.5, 3.25, 1.5, 3.25, 3.5, 2.5, 3.5, 3.75, 2.75, 3.75, 1.25, 3.0, 2.0, 3.75,
        2.0, 3.75, -1.0, 2.25, 2.5, 1.5, 3.25, 1.5, 1.75, 3.5, 2.5, 3.5, 3.75, 2.0, -0.5, 2.75,
        3.0, 2.0, 3.75, 2.0};
    static const double dx_pt[60] = {
        0, 0, 0, 8, 10, 0, 0, 1, 10, 0, 0, 0, 0, 16, 0, 0, 0, 11, 0, 0, 0, 32, 56, 0, 0, 13, 14,
        0, 0, 0, 20, 0, 0, 0, 46, 23, 0, 19, 0, 48, 0, 0, 0, 25, 54, 0, 0, 0, 32, 0, 0, 0, 100,
        64, 0, 31, 0, 33, 0, 0};
    for (int dt = 0; dt < 2; dt++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *x = pt_tensor((ag_dtype)dt, 4, SHAPE(1, 2, 5, 6));
        ag_set_requires_grad(x, 1);
        ag_pool2d_opts o = {{2, 1}, {1, 1}, {1, 2}, 1, 0, 0};
        ag_tensor *y = ag_max_pool2d(t, x, 3, 2, &o);
        tu_assert_shape(y, 4, SHAPE(1, 2, 3, 6));
        assert_exact(y, y_pt, 36);
        assert_exact(grad_for_arange(t, y, x), dx_pt, 60);
        ag_tape_free(t);
        ag_tensor_free(x);
    }
}
END_TEST

START_TEST(test_max_pool1d_unbatched_matches_pytorch)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = pt_tensor(AG_F64, 2, SHAPE(2, 7));
    ag_set_requires_grad(x, 1);
    ag_pool1d_opts o = {.stride = 2, .padding = 1, .dilation = 2, .ceil_mode = 1};
    ag_tensor *y = ag_max_pool1d(t, x, 3, &o);
    tu_assert_shape(y, 2, SHAPE(2, 3));
    assert_exact(y, VALS(1.5, 1.5, 1.5, 2.5, 2.5, 1.75), 6);
    assert_exact(grad_for_arange(t, y, x), VALS(0, 0, 0, 6, 0, 0, 0, 0, 9, 0, 0, 0, 6, 0), 14);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_avg_pool_matches_pytorch)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = pt_tensor(AG_F64, 4, SHAPE(1, 1, 5, 5));
    ag_pool2d_opts o = {.stride = {2, 2}, .padding = {1, 1}, .ceil_mode = 1};
    tu_assert_values(ag_avg_pool2d(t, x, 3, 3, &o), VALS(-1.0555555555555556, 0.16666666666666666,
                     0.4166666666666667, -0.5833333333333334, 0.8888888888888888,
                     -0.5277777777777778, 0.2777777777777778, 0.4444444444444444,
                     -0.8333333333333334), 9, 1e-15);
    o.exclude_pad = 1;
    tu_assert_values(ag_avg_pool2d(t, x, 3, 3, &o), VALS(-2.375, 0.25, 0.9375, -0.875,
                     0.8888888888888888, -0.7916666666666666, 0.625, 0.6666666666666666, -1.875),
                     9, 1e-15);
    ag_pool2d_opts od = {.stride = {3, 2}, .padding = {1, 1}, .divisor_override = 2};
    ag_tensor *yd = ag_avg_pool2d(t, x, 2, 3, &od);
    tu_assert_shape(yd, 4, SHAPE(1, 1, 2, 3));
    tu_assert_values(yd, VALS(-2.875, -0.375, 2.375, -0.75, 2.875, -1.875), 6, 1e-15);
    ag_tensor *x1 = pt_tensor(AG_F32, 3, SHAPE(1, 2, 7));
    ag_pool1d_opts o1 = {.stride = 3, .padding = 2, .ceil_mode = 1};
    tu_assert_values(ag_avg_pool1d(t, x1, 4, &o1), VALS(-1.4375, 0.625, -0.125, 0.8125, -0.6875,
                     1.3125), 6, 1e-6);
    o1.exclude_pad = 1;
    tu_assert_values(ag_avg_pool1d(t, x1, 4, &o1), VALS(-2.875, 0.625, -0.16666666666666666,
                     1.625, -0.6875, 1.75), 6, 1e-6);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(x1);
}
END_TEST

START_TEST(test_adaptive_avg_pool2d_matches_pytorch)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = pt_tensor(AG_F64, 4, SHAPE(1, 2, 5, 7));
    tu_assert_values(ag_adaptive_avg_pool2d(t, x, 3, 4), VALS(-0.625, -0.5833333333333334,
                     0.3333333333333333, 0.375, 0.9583333333333334, 0.1388888888888889,
                     0.19444444444444445, 0.6666666666666666, 1.25, 0.0, -0.375, 0.3125, 0.5625,
                     -0.041666666666666664, -0.4166666666666667, -0.375, 0.20833333333333334,
                     0.25, 0.3055555555555555, -0.08333333333333333, 0.5, 0.5416666666666666,
                     0.16666666666666666, -0.4375), 24, 1e-15);
    /* x[0, :1, :3, :2] to 7x3: more outputs than inputs */
    ag_tensor *small = tu_tensor(AG_F64, 3, SHAPE(1, 3, 2), VALS(pt_val(0), pt_val(1), pt_val(7),
                                 pt_val(8), pt_val(14), pt_val(15)));
    ag_tensor *y = ag_adaptive_avg_pool2d(t, small, 7, 3);
    tu_assert_shape(y, 3, SHAPE(1, 7, 3));
    tu_assert_values(y, VALS(-3.75, -2.875, -2.0, -3.75, -2.875, -2.0, -1.5, -0.625, 0.25, 0.75,
                     1.625, 2.5, -0.875, 0.0, 0.875, -2.5, -1.625, -0.75, -2.5, -1.625, -0.75),
                     21, 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(small);
}
END_TEST

/* Ties: the first wins; NaN: wins over numbers, the last NaN of a window
   wins; -inf padding never wins. PyTorch's indices F_i: 1 1 3 3 5 5 5 6 7. */
START_TEST(test_max_pool_ties_and_nans_match_pytorch)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F32, 3, SHAPE(1, 1, 9), VALS(1, 3, 3, NAN, 2, NAN, 5, 5,
                             -INFINITY));
    ag_set_requires_grad(x, 1);
    ag_pool1d_opts o = {.stride = 1, .padding = 1};
    ag_tensor *y = ag_max_pool1d(t, x, 3, &o);
    assert_exact(y, VALS(3, 3, NAN, NAN, NAN, NAN, NAN, 5, 5), 9);
    assert_exact(grad_for_arange(t, y, x), VALS(0, 3, 0, 7, 0, 18, 8, 9, 0), 9);
    /* 2-D, PyTorch's indices G_i: 0 5 6 5 */
    ag_tensor *x2 = tu_tensor(AG_F32, 4, SHAPE(1, 1, 3, 3), VALS(2, 2, 1, 2, 2, 7, 7, 1, 7));
    ag_set_requires_grad(x2, 1);
    ag_tensor *y2 = ag_max_pool2d(t, x2, 2, 2, &(ag_pool2d_opts){.stride = {1, 1}});
    assert_exact(y2, VALS(2, 7, 7, 7), 4);
    assert_exact(grad_for_arange(t, y2, x2), VALS(1, 0, 0, 0, 0, 6, 3, 0, 0), 9);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(x2);
}
END_TEST

Suite *suite_pool_torch(void)
{
    Suite *s = suite_create("pool_torch");
    TU_ADD(s, test_max_pool2d_every_option_matches_pytorch);
    TU_ADD(s, test_max_pool1d_unbatched_matches_pytorch);
    TU_ADD(s, test_avg_pool_matches_pytorch);
    TU_ADD(s, test_adaptive_avg_pool2d_matches_pytorch);
    TU_ADD(s, test_max_pool_ties_and_nans_match_pytorch);
    return s;
}
