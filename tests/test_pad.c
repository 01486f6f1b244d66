/*
** test_pad.c: ag_pad. Every mode over combinations of positive, zero and
** negative paddings, 1 and 2 padded axes, batched, unbatched and (constant)
** other ranks, both dtypes, against a naive loop written here; the
** gradient against the naive scatter of dy; gradcheck and gradgradcheck in
** f64; numbers PyTorch 1.13 produced once (the script is quoted below);
** the same bits for any thread count; error paths.
*/
#include "pool_test_util.h"

#include <stdlib.h>

/* The element an output position copies along an axis of n elements with
   `before` added in front, by the definitions (the mirror folded until it
   lands inside); -1 for the constant. */
static int64_t naive_source(int mode, int64_t o, int64_t before, int64_t n)
{
    int64_t i = o - before;
    if (mode == AG_PAD_CONSTANT) return i >= 0 && i < n ? i : -1;
    if (mode == AG_PAD_REPLICATE) return i < 0 ? 0 : (i > n - 1 ? n - 1 : i);
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

/* Checks ag_pad(x, pad) against the naive loop: values, and dx for dy =
   small integers (exact sums). x holds pt_val values. */
static void check_pad(ag_dtype dt, int ndim, const int64_t *shape, int npad, const int64_t *pad,
                      int mode, double value)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = pt_tensor(dt, ndim, shape);
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_pad(t, x, npad, pad, (ag_pad_mode)mode, value);
    const int two = npad == 4;
    const int64_t h = two ? shape[ndim - 2] : 1, w = shape[ndim - 1];
    const int64_t oh = two ? h + pad[2] + pad[3] : 1, ow = w + pad[0] + pad[1];
    if (oh < (mode != AG_PAD_CONSTANT) || ow < (mode != AG_PAD_CONSTANT)) {
        tu_assert_error(t, y, AG_ERR_SHAPE, "ag_pad: padding (", "elements along dim");
        ag_tape_free(t);
        ag_tensor_free(x);
        return;
    }
    ck_assert_msg(y != NULL, "%s", ag_tape_errmsg(t));
    const int64_t outer = ag_tensor_numel(x) / (h * w);
    ck_assert_int_eq(ag_tensor_dim(y, -1), ow);
    if (two) ck_assert_int_eq(ag_tensor_dim(y, -2), oh);
    ag_tensor *dy = ag_zeros(t, dt, ag_tensor_ndim(y), ag_tensor_shape(y)), *dx = NULL;
    double *ex = calloc((size_t)ag_tensor_numel(x), sizeof *ex);
    int64_t bad = -1;                       /* one assertion per case: Check's are slow */
    double bad_e = 0;
    for (int64_t pl = 0; pl < outer; pl++)
        for (int64_t i = 0; i < oh; i++)
            for (int64_t j = 0; j < ow; j++) {
                int64_t r = naive_source(mode, i, two ? pad[2] : 0, h);
                int64_t c = naive_source(mode, j, pad[0], w);
                int64_t o = (pl * oh + i) * ow + j, src = (pl * h + r) * w + c;
                double e = r < 0 || c < 0 ? value : pt_val(src);
                if (ag_tensor_get(y, o) != e && bad < 0) bad = o, bad_e = e;
                ag_tensor_set(dy, o, (double)(o % 7 - 3));
                if (r >= 0 && c >= 0) ex[src] += o % 7 - 3;
            }
    ck_assert_msg(bad < 0, "mode %d pad (%lld,%lld): y[%lld] is %g, expected %g", mode,
                  (long long)pad[0], (long long)pad[1], (long long)bad, ag_tensor_get(y, bad),
                  bad_e);
    ck_assert_int_eq(ag_grad(t, 1, &y, &dy, 1, &x, &dx, 0), AG_OK);
    for (int64_t i = 0; i < ag_tensor_numel(x) && bad < 0; i++)
        if (ag_tensor_get(dx, i) != ex[i]) bad = i;
    ck_assert_msg(bad < 0, "dx[%lld] is %g, expected %g", (long long)bad, ag_tensor_get(dx, bad),
                  bad < 0 ? 0 : ex[bad]);
    free(ex);
    ag_tape_free(t);
    ag_tensor_free(x);
}

START_TEST(test_pad_matches_naive_loop)
{
    static const int64_t vals[] = {-2, 0, 1, 3};
    for (int mode = 0; mode < 3; mode++)
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++) {
                int64_t p2[2] = {vals[a], vals[b]};
                check_pad(AG_F64, 3, SHAPE(2, 3, 5), 2, p2, mode, 0);
                check_pad(AG_F32, 2, SHAPE(3, 4), 2, p2, mode, 0);          /* [C,W] */
                if (mode == AG_PAD_CONSTANT) check_pad(AG_F64, 1, SHAPE(5), 2, p2, mode, -1.5);
                for (int c = 0; c < 4; c++)
                    for (int d = 0; d < 4; d++) {
                        int64_t p4[4] = {vals[a], vals[b], vals[c], vals[d]};
                        check_pad(AG_F64, 4, SHAPE(2, 2, 4, 5), 4, p4, mode, 0);
                        if ((a + b + c + d) % 3 == 0)
                            check_pad(AG_F32, 3, SHAPE(2, 5, 4), 4, p4, mode, 0);
                        if (mode == AG_PAD_CONSTANT && c == d)
                            check_pad(AG_F64, 5, SHAPE(2, 1, 2, 4, 5), 4, p4, mode, 2.25);
                    }
            }
}
END_TEST

/* Constant padding: empty inputs and outputs are fine. */
START_TEST(test_pad_constant_empty)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F32, 2, SHAPE(2, 0));
    ag_tensor *y = ag_pad(t, x, 2, (int64_t[]){1, 2}, AG_PAD_CONSTANT, 7);
    tu_assert_shape(y, 2, SHAPE(2, 3));
    tu_assert_values(y, VALS(7, 7, 7, 7, 7, 7), 6, 0);
    ag_tensor *x2 = ag_ones(NULL, AG_F32, 3, SHAPE(1, 1, 6));
    tu_assert_shape(ag_pad(t, x2, 2, (int64_t[]){-3, -3}, AG_PAD_CONSTANT, 0), 3, SHAPE(1, 1, 0));
    ck_assert_int_eq(ag_tape_status(t), AG_OK);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(x2);
}
END_TEST

/* ----------------------------------------------------- gradchecks --- */

typedef struct pad_cfg {
    int npad, mode, square;
    int64_t pad[4];
} pad_cfg;

static ag_tensor *pad_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const pad_cfg *c = ctx;
    ag_tensor *y = ag_pad(t, in[0], c->npad, c->pad, (ag_pad_mode)c->mode, c->mode ? 0 : 0.5);
    return c->square ? ag_mul(t, y, y) : y;
}

START_TEST(test_pad_gradchecks)
{
    ag_tensor *x = tu_random(4, SHAPE(1, 2, 3, 4), -1, 1, 3);
    ag_tensor *x1 = tu_random(2, SHAPE(2, 5), -1, 1, 4);
    for (int mode = 0; mode < 3; mode++)
        for (int square = 0; square < 2; square++) {
            pad_cfg c4 = {4, mode, square, {2, -1, 1, 2}};
            tu_assert_gradchecks(pad_fn, &c4, 1, &x);
            pad_cfg c2 = {2, mode, square, {-2, 3, 0, 0}};
            tu_assert_gradchecks(pad_fn, &c2, 1, &x1);
        }
    ag_tensor_free(x), ag_tensor_free(x1);
}
END_TEST

/* ------------------------------------------------------- PyTorch --- */

/*
** Numbers from PyTorch 1.13 (float64), once:
**   def xs(n): return torch.tensor([((i * 7) % 31 - 15) / 4 for i in range(n)],
**                                  dtype=torch.float64)
**   def dys(y): return torch.arange(1., y.numel() + 1, dtype=y.dtype).reshape(y.shape)
**   x = xs(12).reshape(1, 2, 6).requires_grad_()
**   y = F.pad(x, (-1, 3), mode=m); y.backward(dys(y))        # P1_m_y, P1_m_dx
**   x = xs(12).reshape(1, 3, 4).requires_grad_()
**   y = F.pad(x, (2, -1, 1, 2), mode=m); y.backward(dys(y))  # P2_m_y, P2_m_dx
**   x = xs(24).reshape(2, 3, 4).requires_grad_()
**   y = F.pad(x, (1, -2, -1, 2), value=0.5); y.backward(dys(y))   # P3_y, P3_dx
** for m in reflect, replicate.
*/
static void check_torch(int ndim, const int64_t *shape, int npad, const int64_t *pad, int mode,
                        double value, int64_t n_y, const double *y_pt, const double *dx_pt)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = pt_tensor(AG_F64, ndim, shape), *dx = NULL;
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_pad(t, x, npad, pad, (ag_pad_mode)mode, value);
    tu_assert_values(y, y_pt, n_y, 0);
    ag_tensor *dy = ag_reshape(t, ag_arange(t, AG_F64, 1, (double)n_y + 1, 1), ag_tensor_ndim(y),
                               ag_tensor_shape(y));
    ck_assert_int_eq(ag_grad(t, 1, &y, &dy, 1, &x, &dx, 0), AG_OK);
    tu_assert_values(dx, dx_pt, ag_tensor_numel(x), 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}

START_TEST(test_pad_matches_pytorch)
{
    check_torch(3, SHAPE(1, 2, 6), 2, (int64_t[]){-1, 3}, AG_PAD_REFLECT, 0, 16,
                VALS(-2.0, -0.25, 1.5, 3.25, -2.75, 3.25, 1.5, -0.25, 0.75, 2.5, -3.5, -1.75, 0.0,
                     -1.75, -3.5, 2.5),
                VALS(0, 1, 10, 10, 10, 5, 0, 9, 26, 26, 26, 13));
    check_torch(3, SHAPE(1, 2, 6), 2, (int64_t[]){-1, 3}, AG_PAD_REPLICATE, 0, 16,
                VALS(-2.0, -0.25, 1.5, 3.25, -2.75, -2.75, -2.75, -2.75, 0.75, 2.5, -3.5, -1.75,
                     0.0, 0.0, 0.0, 0.0),
                VALS(0, 1, 2, 3, 4, 26, 0, 9, 10, 11, 12, 58));
    check_torch(3, SHAPE(1, 3, 4), 4, (int64_t[]){2, -1, 1, 2}, AG_PAD_REFLECT, 0, 30,
                VALS(-1.0, -2.75, 3.25, -2.75, -1.0, -0.25, -2.0, -3.75, -2.0, -0.25, -1.0, -2.75,
                     3.25, -2.75, -1.0, -1.75, -3.5, 2.5, -3.5, -1.75, -1.0, -2.75, 3.25, -2.75,
                     -1.0, -0.25, -2.0, -3.75, -2.0, -0.25),
                VALS(36, 72, 72, 0, 39, 78, 78, 0, 18, 36, 36, 0));
    check_torch(3, SHAPE(1, 3, 4), 4, (int64_t[]){2, -1, 1, 2}, AG_PAD_REPLICATE, 0, 30,
                VALS(-3.75, -3.75, -3.75, -2.0, -0.25, -3.75, -3.75, -3.75, -2.0, -0.25, 3.25,
                     3.25, 3.25, -2.75, -1.0, 2.5, 2.5, 2.5, -3.5, -1.75, 2.5, 2.5, 2.5, -3.5,
                     -1.75, 2.5, 2.5, 2.5, -3.5, -1.75),
                VALS(27, 13, 15, 0, 36, 14, 15, 0, 198, 72, 75, 0));
    check_torch(3, SHAPE(2, 3, 4), 4, (int64_t[]){1, -2, -1, 2}, AG_PAD_CONSTANT, 0.5, 24,
                VALS(0.5, 3.25, -2.75, 0.5, 2.5, -3.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1.0,
                     2.75, 0.5, 0.25, 2.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5),
                VALS(0, 0, 0, 0, 2, 3, 0, 0, 5, 6, 0, 0, 0, 0, 0, 0, 14, 15, 0, 0, 17, 18, 0, 0));
}
END_TEST

/* ------------------------------------------------------- threads --- */

START_TEST(test_pad_same_bits_for_any_thread_count)
{
    ag_rng *r = ag_rng_new(9);
    ag_tensor *x = ag_rand_normal(NULL, r, AG_F32, 4, SHAPE(16, 16, 16, 16), 0, 1);
    ag_tensor *dy = ag_rand_normal(NULL, r, AG_F32, 4, SHAPE(16, 16, 19, 20), 0, 1);
    ag_tensor *ref[2] = {NULL, NULL};
    ag_set_requires_grad(x, 1);
    for (int th = 1; th <= 3; th++) {
        ck_assert_int_eq(ag_set_num_threads(th), AG_OK);
        ag_tape *t = ag_tape_new();
        ag_tensor *y = ag_pad(t, x, 4, (int64_t[]){2, 2, 3, 0}, AG_PAD_REFLECT, 0), *dx = NULL;
        ck_assert_int_eq(ag_grad(t, 1, &y, &dy, 1, &x, &dx, 0), AG_OK);
        if (th == 1) {
            ref[0] = ag_tensor_clone(y), ref[1] = ag_tensor_clone(dx);
        } else {
            ck_assert(!memcmp(ag_tensor_data(y), ag_tensor_data(ref[0]), 16 * 16 * 19 * 20 * 4));
            ck_assert(!memcmp(ag_tensor_data(dx), ag_tensor_data(ref[1]), 16 * 16 * 16 * 16 * 4));
        }
        ag_tape_free(t);
    }
    ag_set_num_threads(0);
    ag_tensor_free(ref[0]), ag_tensor_free(ref[1]);
    ag_tensor_free(x), ag_tensor_free(dy);
    ag_rng_free(r);
}
END_TEST

/* -------------------------------------------------------- errors --- */

START_TEST(test_pad_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F64, 3, SHAPE(1, 1, 6));
    ag_tensor *x4 = ag_zeros(NULL, AG_F64, 4, SHAPE(1, 1, 1, 6));
    ag_tensor *xe = ag_zeros(NULL, AG_F64, 3, SHAPE(1, 0, 6));
    tu_assert_error(t, ag_pad(t, x, 2, (int64_t[]){6, 0}, AG_PAD_REFLECT, 0), AG_ERR_ARG,
                    "ag_pad: reflect padding 6 is not below the size 6 of dim 2",
                    "(padding (6, 0), x is [1,1,6])");
    ag_tape_reset(t);
    tu_assert_error(t, ag_pad(t, x, 2, (int64_t[]){-4, -3}, AG_PAD_CONSTANT, 0), AG_ERR_SHAPE,
                    "ag_pad: padding (-4, -3) leaves -1 elements along dim 2", "x [1,1,6]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_pad(t, x, 2, (int64_t[]){-3, -3}, AG_PAD_REPLICATE, 0), AG_ERR_SHAPE,
                    "leaves 0 elements along dim 2", "(at least 1 is needed)");
    ag_tape_reset(t);
    tu_assert_error(t, ag_pad(t, x4, 2, (int64_t[]){1, 1}, AG_PAD_REFLECT, 0), AG_ERR_SHAPE,
                    "ag_pad: reflect padding of the last 1 dim takes x of 2 or 3 dims",
                    "x is [1,1,1,6]");
    ag_tape_reset(t);
    ag_tensor *x1 = ag_zeros(t, AG_F64, 1, SHAPE(6));
    tu_assert_error(t, ag_pad(t, x1, 4, (int64_t[]){1, 1, 1, 1}, AG_PAD_CONSTANT, 0),
                    AG_ERR_SHAPE, "ag_pad: padding (1, 1, 1, 1) is for 2 dims", "x is [6]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_pad(t, xe, 2, (int64_t[]){1, 1}, AG_PAD_REPLICATE, 0), AG_ERR_SHAPE,
                    "ag_pad: x is [1,0,6]: replicate padding needs every dim but the batch dim",
                    "non-empty");
    ag_tape_reset(t);
    tu_assert_error(t, ag_pad(t, x, 3, (int64_t[]){1, 1, 1}, AG_PAD_CONSTANT, 0), AG_ERR_ARG,
                    "ag_pad: npad is 3", "x is [1,1,6]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_pad(t, x, 2, NULL, AG_PAD_CONSTANT, 0), AG_ERR_ARG, "ag_pad: pad is NULL",
                    "x is [1,1,6]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_pad(t, x, 2, (int64_t[]){1, 1}, (ag_pad_mode)7, 0), AG_ERR_ARG,
                    "ag_pad: mode 7 is not AG_PAD_CONSTANT", "x is [1,1,6]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_pad(t, x, 2, (int64_t[]){1, 1}, AG_PAD_REPLICATE, 3), AG_ERR_ARG,
                    "ag_pad: replicate padding takes no value (got 3", "x is [1,1,6]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_pad(t, x, 2, (int64_t[]){1, 5000000000LL}, AG_PAD_CONSTANT, 0),
                    AG_ERR_ARG, "ag_pad: padding (1, 5000000000): each must be within",
                    "x is [1,1,6]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_pad(t, NULL, 2, (int64_t[]){1, 1}, AG_PAD_CONSTANT, 0), AG_ERR_ARG,
                    "ag_pad", "x");
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(x4), ag_tensor_free(xe);
}
END_TEST

Suite *suite_pad(void)
{
    Suite *s = suite_create("pad");
    TU_ADD(s, test_pad_matches_naive_loop);
    TU_ADD(s, test_pad_constant_empty);
    TU_ADD(s, test_pad_gradchecks);
    TU_ADD(s, test_pad_matches_pytorch);
    TU_ADD(s, test_pad_same_bits_for_any_thread_count);
    TU_ADD(s, test_pad_errors);
    return s;
}
