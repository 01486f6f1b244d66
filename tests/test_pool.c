/*
** test_pool.c: max, average and adaptive average pooling (ops/pool*.c).
** Forward values and max pooling's gradient against the naive loops of
** pool_test_util.h over every combination of kernel, stride, padding,
** dilation, ceil_mode and count_include_pad on odd sizes, 1-D and 2-D,
** batched and not, both dtypes; gradcheck and gradgradcheck in f64; the
** same bits for any thread count on inputs split over the pool; error
** paths. Values against PyTorch's (ties and NaNs included) are in
** test_pool_torch.c.
*/
#include "pool_test_util.h"

#include <stdlib.h>

/* ------------------------------------------------------- the sweep --- */

/* The first element where got differs from want (beyond tol; NaN equals
   NaN), or -1: one assertion per case, Check's are slow. */
static int64_t first_diff(const ag_tensor *got, const double *want, int64_t n, double tol)
{
    for (int64_t i = 0; i < n; i++) {
        double v = ag_tensor_get(got, i);
        if (!(v == want[i] || (isnan(v) && isnan(want[i])) || fabs(v - want[i]) <= tol)) return i;
    }
    return -1;
}

/* The naive results of c on every plane of x: y into ref, and for max
   pooling dx (for dy[o] = o % 5 - 2, also set into dy) into dx. */
static void naive_case(const pt_cfg *c, const pt_geo *g, double (*f)(int64_t), int64_t planes,
                       double *ref, double *dx, ag_tensor *dy)
{
    const int64_t in = g->in[0] * g->in[1], out = g->out[0] * g->out[1];
    double *xv = malloc((size_t)in * sizeof *xv);
    int64_t *idx = malloc((size_t)out * sizeof *idx);
    for (int64_t pl = 0; pl < planes; pl++) {
        for (int64_t i = 0; i < in; i++) xv[i] = f(pl * in + i);
        if (c->kind == PT_MAX)
            pt_max_plane(g, xv, ref + pl * out, idx);
        else
            pt_avg_plane(g, c, xv, ref + pl * out);
        for (int64_t o = 0; o < out && c->kind == PT_MAX; o++) {
            ag_tensor_set(dy, pl * out + o, (double)((pl * out + o) % 5 - 2));
            if (idx[o] >= 0) dx[pl * in + idx[o]] += (pl * out + o) % 5 - 2;
        }
    }
    free(xv), free(idx);
}

/* Checks one call on x (shape [..., ih, iw] or [..., L]; pt_val values,
   or for max pooling pt_tie's ties and NaNs) against the naive loops:
   values, and for max pooling dx for dy[o] = o % 5 - 2 (small integers:
   the sums are exact). */
static void check_case(ag_dtype dt, int ndim, const int64_t *shape, const pt_cfg *c)
{
    const int64_t ih = c->dims == 2 ? shape[ndim - 2] : 1, iw = shape[ndim - 1];
    const int64_t planes = ndim == c->dims + 2 ? shape[0] * shape[1] : shape[0];
    pt_geo g = pt_geometry(c, ih, iw);
    ag_tape *t = ag_tape_new();
    double (*f)(int64_t) = c->kind == PT_MAX ? pt_tie : pt_val;
    ag_tensor *x = pt_tensor_of(dt, ndim, shape, f);
    ag_set_requires_grad(x, c->kind == PT_MAX);
    ag_tensor *y = pt_call(t, x, c), *gx = NULL;
    if (g.out[0] < 1 || g.out[1] < 1) {
        tu_assert_error(t, y, AG_ERR_SHAPE, "the output would be", "x is [");
    } else {
        ck_assert_msg(y != NULL, "%s", ag_tape_errmsg(t));
        ck_assert(ag_tensor_ndim(y) == ndim && ag_tensor_dim(y, -1) == g.out[1] &&
                  (c->dims == 1 || ag_tensor_dim(y, -2) == g.out[0]));
        const int64_t n_y = planes * g.out[0] * g.out[1], n_x = planes * ih * iw;
        double *ref = malloc((size_t)n_y * sizeof *ref), *dx = calloc((size_t)n_x, sizeof *dx);
        ag_tensor *dy = ag_zeros(t, dt, ag_tensor_ndim(y), ag_tensor_shape(y));
        naive_case(c, &g, f, planes, ref, dx, dy);
        int64_t bad = first_diff(y, ref, n_y, c->kind == PT_MAX ? 0 : 1e-6);
        ck_assert_msg(bad < 0, "y[%lld]: got %.17g, expected %.17g", (long long)bad,
                      ag_tensor_get(y, bad), bad < 0 ? 0 : ref[bad]);
        if (c->kind == PT_MAX) {
            ck_assert_int_eq(ag_grad(t, 1, &y, &dy, 1, &x, &gx, 0), AG_OK);
            bad = first_diff(gx, dx, n_x, 0);
            ck_assert_msg(bad < 0, "dx[%lld]: got %g, expected %g", (long long)bad,
                          ag_tensor_get(gx, bad), bad < 0 ? 0 : dx[bad]);
        }
        free(ref), free(dx);
    }
    ag_tape_free(t);
    ag_tensor_free(x);
}

/* Every option combination of 2-D pooling of kind on x of these shapes. */
static void sweep_2d(int kind, int ndim, const int64_t *shape)
{
    static const int64_t ks[][2] = {{1, 1}, {2, 2}, {3, 2}, {2, 3}, {3, 3}};
    static const int64_t ss[][2] = {{0, 0}, {1, 1}, {2, 1}, {1, 3}};
    static const int64_t ps[][2] = {{0, 0}, {1, 0}, {0, 1}, {1, 1}};
    static const int64_t ds[][2] = {{1, 1}, {2, 1}, {1, 2}, {2, 2}};
    for (int k = 0; k < 5; k++)
        for (int s = 0; s < 4; s++)
            for (int p = 0; p < 4; p++)
                for (int d = 0; d < (kind == PT_MAX ? 4 : 1); d++)
                    for (int opt = 0; opt < 4; opt++) {
                        pt_cfg c = {kind, 2, {ks[k][0], ks[k][1]}, {ss[s][0], ss[s][1]},
                                    {ps[p][0], ps[p][1]}, {ds[d][0], ds[d][1]}, opt & 1,
                                    kind == PT_AVG && (opt & 2), 0, 0};
                        if (c.p[0] > c.k[0] / 2 || c.p[1] > c.k[1] / 2) continue;
                        if (kind == PT_MAX && (opt & 2)) continue;
                        check_case(AG_F64, ndim, shape, &c);
                        if (opt == 1 && p == 3) check_case(AG_F32, ndim, shape, &c);
                    }
}

/* Every option combination of 1-D pooling. */
static void sweep_1d(int kind, int ndim, const int64_t *shape)
{
    for (int64_t k = 1; k <= 4; k++)
        for (int64_t s = 0; s <= 3; s++)
            for (int64_t p = 0; p <= k / 2; p++)
                for (int64_t d = 1; d <= (kind == PT_MAX ? 3 : 1); d++)
                    for (int opt = 0; opt < 4; opt++) {
                        if (kind == PT_MAX && (opt & 2)) continue;
                        pt_cfg c = {kind, 1, {0, k}, {0, s}, {0, p}, {0, d}, opt & 1,
                                    (opt & 2) != 0, 0, 0};
                        check_case(AG_F64, ndim, shape, &c);
                        if (d == 1 && opt == 1) check_case(AG_F32, ndim, shape, &c);
                    }
}

START_TEST(test_max_pool2d_matches_naive_loops)
{
    sweep_2d(PT_MAX, 4, SHAPE(2, 3, 7, 5));
    sweep_2d(PT_MAX, 3, SHAPE(2, 6, 7));          /* unbatched [C,H,W] */
    /* 2x2 windows of stride 2, rows long enough for the vector loop (f32,
       four outputs at a time), several of its blocks and its tail, with
       ties and NaNs */
    pt_cfg c = {PT_MAX, 2, {2, 2}, {0, 0}, {0, 0}, {0, 0}, 0, 0, 0, 0};
    static const int64_t wide[] = {31, 32, 33, 34, 35, 64, 65, 66, 67};
    for (int k = 0; k < 9; k++) check_case(AG_F32, 4, SHAPE(1, 2, 4, wide[k]), &c);
    for (int64_t w = 8; w <= 21; w++) {
        check_case(AG_F32, 4, SHAPE(2, 3, 6, w), &c);
        check_case(AG_F64, 4, SHAPE(2, 3, 6, w), &c);
        c.ceil = 1;
        check_case(AG_F32, 3, SHAPE(3, 5, w), &c);
        c.ceil = 0;
    }
}
END_TEST

START_TEST(test_avg_pool2d_matches_naive_loops)
{
    sweep_2d(PT_AVG, 4, SHAPE(2, 3, 7, 5));
    sweep_2d(PT_AVG, 3, SHAPE(2, 6, 7));
    /* divisor_override */
    pt_cfg c = {PT_AVG, 2, {3, 2}, {2, 1}, {1, 1}, {0, 0}, 1, 0, 5, 0};
    check_case(AG_F64, 4, SHAPE(1, 2, 5, 6), &c);
    c.exclude_pad = 1;                          /* the override wins */
    check_case(AG_F64, 4, SHAPE(1, 2, 5, 6), &c);
}
END_TEST

START_TEST(test_pool1d_matches_naive_loops)
{
    sweep_1d(PT_MAX, 3, SHAPE(2, 3, 9));
    sweep_1d(PT_MAX, 2, SHAPE(3, 8));           /* unbatched [C,L] */
    sweep_1d(PT_AVG, 3, SHAPE(2, 3, 9));
    sweep_1d(PT_AVG, 2, SHAPE(3, 8));
}
END_TEST

/* N = 0 is allowed: an empty result of the right shape. */
START_TEST(test_pool_empty_batch)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F32, 4, SHAPE(0, 3, 6, 6));
    tu_assert_shape(ag_max_pool2d(t, x, 2, 2, NULL), 4, SHAPE(0, 3, 3, 3));
    tu_assert_shape(ag_avg_pool2d(t, x, 3, 3, NULL), 4, SHAPE(0, 3, 2, 2));
    tu_assert_shape(ag_adaptive_avg_pool2d(t, x, 4, 1), 4, SHAPE(0, 3, 4, 1));
    ck_assert_int_eq(ag_tape_status(t), AG_OK);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* A window that holds no element (dilation wider than x) gives -inf and
   no gradient. */
START_TEST(test_max_pool_window_outside_x)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 3, SHAPE(1, 1, 4), VALS(1, 2, 3, 4));
    ag_set_requires_grad(x, 1);
    ag_pool1d_opts o = {.stride = 1, .padding = 1, .dilation = 5};
    ag_tensor *y = ag_max_pool1d(t, x, 2, &o);
    tu_assert_shape(y, 3, SHAPE(1, 1, 1));
    ck_assert(isinf(ag_tensor_get(y, 0)) && ag_tensor_get(y, 0) < 0);
    ag_tensor *dx = NULL;
    ck_assert_int_eq(tu_grad_of_sum(t, y, 1, &x, &dx), AG_OK);       /* dy = 1 */
    tu_assert_values(dx, VALS(0, 0, 0, 0), 4, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* ------------------------------------------------------- adaptive --- */

START_TEST(test_adaptive_avg_pool2d_matches_naive_loops)
{
    static const int64_t outs[][2] = {{1, 1}, {2, 3}, {3, 2}, {5, 7}, {7, 9}, {4, 1}};
    ag_tape *t = ag_tape_new();
    for (int u = 0; u < 2; u++) {
        ag_tensor *x = u ? pt_tensor(AG_F64, 3, SHAPE(2, 5, 7)) : pt_tensor(AG_F64, 4,
                                                                              SHAPE(2, 3, 5, 7));
        const int64_t planes = u ? 2 : 6;
        for (int k = 0; k < 6; k++) {
            const int64_t oh = outs[k][0], ow = outs[k][1];
            ag_tensor *y = ag_adaptive_avg_pool2d(t, x, oh, ow);
            ck_assert_int_eq(ag_tensor_dim(y, -2), oh);
            ck_assert_int_eq(ag_tensor_dim(y, -1), ow);
            ck_assert_int_eq(ag_tensor_ndim(y), u ? 3 : 4);
            for (int64_t pl = 0; pl < planes; pl++)
                for (int64_t i = 0; i < oh; i++)
                    for (int64_t j = 0; j < ow; j++) {
                        int64_t h0 = (int64_t)floor((double)(i * 5) / (double)oh);
                        int64_t h1 = (int64_t)ceil((double)((i + 1) * 5) / (double)oh);
                        int64_t w0 = (int64_t)floor((double)(j * 7) / (double)ow);
                        int64_t w1 = (int64_t)ceil((double)((j + 1) * 7) / (double)ow);
                        double s = 0;
                        for (int64_t h = h0; h < h1; h++)
                            for (int64_t w = w0; w < w1; w++) s += pt_val(pl * 35 + h * 7 + w);
                        double e = s / (double)((h1 - h0) * (w1 - w0));
                        ck_assert_double_eq_tol(ag_tensor_get(y, (pl * oh + i) * ow + j), e, 1e-12);
                    }
        }
        ag_tensor_free(x);
    }
    ag_tape_free(t);
}
END_TEST

/* ---------------------------------------------------- gradchecks --- */

/* gradcheck + gradgradcheck of c on x, plain and squared. */
static void assert_pool_gradchecks(pt_cfg c, ag_tensor *x)
{
    c.square = 0;
    tu_assert_gradchecks(pt_fn, &c, 1, &x);
    c.square = 1;
    tu_assert_gradchecks(pt_fn, &c, 1, &x);
}

START_TEST(test_max_pool_gradchecks)
{
    ag_tensor *x = tu_random(4, SHAPE(1, 2, 5, 6), -1, 1, 11);   /* no ties */
    ag_tensor *x1 = tu_random(2, SHAPE(2, 7), -1, 1, 12);
    assert_pool_gradchecks((pt_cfg){PT_MAX, 2, {2, 2}, {0, 0}, {0, 0}, {0, 0}, 0, 0, 0, 0}, x);
    assert_pool_gradchecks((pt_cfg){PT_MAX, 2, {3, 2}, {2, 1}, {1, 1}, {1, 2}, 1, 0, 0, 0}, x);
    assert_pool_gradchecks((pt_cfg){PT_MAX, 2, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 0, 0, 0, 0}, x);
    assert_pool_gradchecks((pt_cfg){PT_MAX, 1, {0, 3}, {0, 2}, {0, 1}, {0, 2}, 1, 0, 0, 0}, x1);
    ag_tensor_free(x);
    ag_tensor_free(x1);
}
END_TEST

START_TEST(test_avg_pool_gradchecks)
{
    ag_tensor *x = tu_random(4, SHAPE(1, 2, 5, 6), -1, 1, 13);
    ag_tensor *x1 = tu_random(3, SHAPE(1, 2, 7), -1, 1, 14);
    assert_pool_gradchecks((pt_cfg){PT_AVG, 2, {3, 2}, {2, 1}, {1, 1}, {0, 0}, 1, 0, 0, 0}, x);
    assert_pool_gradchecks((pt_cfg){PT_AVG, 2, {3, 3}, {2, 2}, {1, 1}, {0, 0}, 1, 1, 0, 0}, x);
    assert_pool_gradchecks((pt_cfg){PT_AVG, 2, {2, 3}, {1, 2}, {1, 0}, {0, 0}, 0, 0, 4, 0}, x);
    assert_pool_gradchecks((pt_cfg){PT_AVG, 1, {0, 4}, {0, 3}, {0, 2}, {0, 0}, 1, 1, 0, 0}, x1);
    ag_tensor_free(x);
    ag_tensor_free(x1);
}
END_TEST

static ag_tensor *adaptive_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const int64_t *o = ctx;
    ag_tensor *y = ag_adaptive_avg_pool2d(t, in[0], o[0], o[1]);
    return o[2] ? ag_mul(t, y, y) : y;
}

START_TEST(test_adaptive_avg_pool_gradchecks)
{
    ag_tensor *x = tu_random(3, SHAPE(2, 5, 7), -1, 1, 15);
    int64_t o[3] = {3, 4, 0};
    tu_assert_gradchecks(adaptive_fn, o, 1, &x);
    o[2] = 1;
    tu_assert_gradchecks(adaptive_fn, o, 1, &x);
    o[0] = 7, o[1] = 2;                                  /* overlapping windows */
    tu_assert_gradchecks(adaptive_fn, o, 1, &x);
    ag_tensor_free(x);
}
END_TEST

/* ------------------------------------------------------- threads --- */

/* Forward and dx of op on a [16,16,16,16] input (256 planes, split over
   the pool) give the same bits for 1, 2 and 3 threads. */
static void assert_same_bits_any_threads(const pt_cfg *c)
{
    ag_tensor *ref[2] = {NULL, NULL};
    ag_rng *r = ag_rng_new(5);
    ag_tensor *x = ag_rand_normal(NULL, r, AG_F32, 4, SHAPE(16, 16, 16, 16), 0, 1);
    ag_set_requires_grad(x, 1);
    for (int th = 1; th <= 3; th++) {
        ck_assert_int_eq(ag_set_num_threads(th), AG_OK);
        ag_tape *t = ag_tape_new();
        ag_tensor *y = pt_call(t, x, c);
        ag_rng_set_state(r, (uint64_t[4]){1, 2, 3, 4});      /* the same dy each time */
        ag_tensor *dy = ag_rand_normal(t, r, AG_F32, 4, ag_tensor_shape(y), 0, 1), *dx = NULL;
        ck_assert_int_eq(ag_grad(t, 1, &y, &dy, 1, &x, &dx, 0), AG_OK);
        if (th == 1) {
            ref[0] = ag_tensor_clone(y), ref[1] = ag_tensor_clone(dx);
        } else {
            ck_assert_msg(!memcmp(ag_tensor_data(y), ag_tensor_data(ref[0]),
                                  (size_t)ag_tensor_numel(y) * 4), "y differs, %d threads", th);
            ck_assert_msg(!memcmp(ag_tensor_data(dx), ag_tensor_data(ref[1]),
                                  (size_t)ag_tensor_numel(dx) * 4), "dx differs, %d threads", th);
        }
        ag_tape_free(t);
    }
    ag_set_num_threads(0);
    ag_tensor_free(ref[0]), ag_tensor_free(ref[1]);
    ag_tensor_free(x);
    ag_rng_free(r);
}

START_TEST(test_pool_same_bits_for_any_thread_count)
{
    assert_same_bits_any_threads(&(pt_cfg){PT_MAX, 2, {2, 2}, {0, 0}, {0, 0}, {0, 0}, 0, 0, 0, 0});
    assert_same_bits_any_threads(&(pt_cfg){PT_MAX, 2, {3, 3}, {1, 1}, {1, 1}, {1, 1}, 0, 0, 0, 0});
    assert_same_bits_any_threads(&(pt_cfg){PT_AVG, 2, {3, 3}, {2, 2}, {1, 1}, {0, 0}, 1, 0, 0, 0});
}
END_TEST

/* -------------------------------------------------------- errors --- */

START_TEST(test_pool_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F32, 4, SHAPE(1, 1, 5, 5));
    ag_tensor *x2 = ag_zeros(NULL, AG_F32, 2, SHAPE(5, 5));
    ag_tensor *xe = ag_zeros(NULL, AG_F32, 4, SHAPE(1, 0, 5, 5));
    ag_tensor *x1 = ag_zeros(NULL, AG_F64, 3, SHAPE(2, 3, 4));
    ag_pool2d_opts o = {.padding = {2, 2}};
    tu_assert_error(t, ag_max_pool2d(t, x, 3, 3, &o), AG_ERR_ARG, "ag_max_pool2d: padding 2x2 "
                    "is more than half the kernel 3x3", "(x is [1,1,5,5])");
    ag_tape_reset(t);
    tu_assert_error(t, ag_max_pool2d(t, x, 7, 7, NULL), AG_ERR_SHAPE, "ag_max_pool2d: the output "
                    "would be 0x0", "x is [1,1,5,5], kernel 7x7, stride 7x7");
    ag_tape_reset(t);
    tu_assert_error(t, ag_max_pool2d(t, x2, 2, 2, NULL), AG_ERR_SHAPE,
                    "ag_max_pool2d: x is [5,5]", "expected [N,C,H,W] or [C,H,W]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_avg_pool2d(t, xe, 2, 2, NULL), AG_ERR_SHAPE,
                    "ag_avg_pool2d: x is [1,0,5,5]: dim 1 is empty", "only the batch dim");
    ag_tape_reset(t);
    tu_assert_error(t, ag_max_pool1d(t, x, 2, NULL), AG_ERR_SHAPE, "ag_max_pool1d: x is "
                    "[1,1,5,5]", "expected [N,C,L] or [C,L]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_max_pool1d(t, x1, 0, NULL), AG_ERR_ARG, "ag_max_pool1d: kernel 0 "
                    "must be at least 1", "x is [2,3,4]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_avg_pool1d(t, x1, 2, &(ag_pool1d_opts){.stride = -1}), AG_ERR_ARG,
                    "ag_avg_pool1d: stride -1 must be non-negative", "x is [2,3,4]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_max_pool1d(t, x1, 2, &(ag_pool1d_opts){.dilation = -2}), AG_ERR_ARG,
                    "dilation -2 must be at least 1", "x is [2,3,4]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_max_pool2d(t, x, 3, 3000000000LL, NULL), AG_ERR_ARG,
                    "kernel 3x3000000000 must be at most 2147483647", "x is [1,1,5,5]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_avg_pool2d(t, x, 2, 2, &(ag_pool2d_opts){.dilation = {2, 1}}),
                    AG_ERR_ARG, "ag_avg_pool2d: dilation 2x1: average pooling has no dilation",
                    "x is [1,1,5,5]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_max_pool2d(t, x, 2, 2, &(ag_pool2d_opts){.exclude_pad = 1}),
                    AG_ERR_ARG, "ag_max_pool2d: exclude_pad is an option of average pooling "
                    "only", "x is [1,1,5,5]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_avg_pool2d(t, x, 2, 2, &(ag_pool2d_opts){.divisor_override = -3}),
                    AG_ERR_ARG, "ag_avg_pool2d: divisor_override -3 is negative", "[1,1,5,5]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_adaptive_avg_pool2d(t, x, 0, 2), AG_ERR_ARG,
                    "ag_adaptive_avg_pool2d: output size 0x2 must be at least 1x1", "[1,1,5,5]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_max_pool2d(t, NULL, 2, 2, NULL), AG_ERR_ARG, "ag_max_pool2d", "x");
    /* sticky: the first error stays */
    ck_assert_ptr_null(ag_avg_pool2d(t, x, 2, 2, NULL));
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_max_pool2d"));
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(x2), ag_tensor_free(xe), ag_tensor_free(x1);
}
END_TEST

Suite *suite_pool(void)
{
    Suite *s = suite_create("pool");
    TU_ADD(s, test_max_pool2d_matches_naive_loops);
    TU_ADD(s, test_avg_pool2d_matches_naive_loops);
    TU_ADD(s, test_pool1d_matches_naive_loops);
    TU_ADD(s, test_pool_empty_batch);
    TU_ADD(s, test_max_pool_window_outside_x);
    TU_ADD(s, test_adaptive_avg_pool2d_matches_naive_loops);
    TU_ADD(s, test_max_pool_gradchecks);
    TU_ADD(s, test_avg_pool_gradchecks);
    TU_ADD(s, test_adaptive_avg_pool_gradchecks);
    TU_ADD(s, test_pool_same_bits_for_any_thread_count);
    TU_ADD(s, test_pool_errors);
    return s;
}
