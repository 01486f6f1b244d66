/*
** test_norm_ops.c: the fused batch-normalization ops of ag_norm.h
** (ag_batch_norm_stats, ag_channel_affine, ag_batch_norm). Values against
** naive loops over [N, C, ...] inputs of 2, 3 and 4 dims in both dtypes;
** gradcheck and gradgradcheck in f64 with respect to every operand (the
** optional ones absent too); a channel mean far above its spread in f32
** against the f64 result; the same bits for any thread count; errors.
*/
#include "test_util.h"

#include <stdlib.h>

/* Channel c of x [n, C, inner]: mean and biased variance, by a plain loop. */
static void naive_stats(const ag_tensor *x, int64_t c, double *mean, double *var)
{
    const int64_t n = ag_tensor_dim(x, 0), nc = ag_tensor_dim(x, 1);
    const int64_t inner = ag_tensor_numel(x) / (n * nc);
    double s = 0, q = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < inner; k++) s += ag_tensor_get(x, (i * nc + c) * inner + k);
    *mean = s / (double)(n * inner);
    for (int64_t i = 0; i < n; i++)
        for (int64_t k = 0; k < inner; k++) {
            double d = ag_tensor_get(x, (i * nc + c) * inner + k) - *mean;
            q += d * d;
        }
    *var = q / (double)(n * inner);
}

/* The channel of flat element i of x. */
static int64_t chan_at(const ag_tensor *x, int64_t i)
{
    const int64_t nc = ag_tensor_dim(x, 1);
    return i / (ag_tensor_numel(x) / (ag_tensor_dim(x, 0) * nc)) % nc;
}

static const int64_t shapes[3][4] = {{5, 3}, {2, 3, 7}, {2, 3, 4, 5}};

START_TEST(test_stats_affine_and_batch_norm_values)
{
    for (int dt = 0; dt < 2; dt++)
        for (int s = 0; s < 3; s++) {
            const double tol = dt == AG_F64 ? 1e-12 : 2e-5;
            ag_tape *t = ag_tape_new();
            ag_rng *r = ag_rng_new(10 + (uint64_t)s);
            ag_tensor *x = ag_rand_normal(t, r, (ag_dtype)dt, s + 2, shapes[s], 1.5, 2);
            ag_tensor *w = ag_rand_normal(t, r, (ag_dtype)dt, 1, SHAPE(3), 1, 0.5);
            ag_tensor *b = ag_rand_normal(t, r, (ag_dtype)dt, 1, SHAPE(3), 0, 0.5);
            ag_tensor *st = ag_batch_norm_stats(t, x), *st2 = NULL;
            ag_tensor *aff = ag_channel_affine(t, x, w, b), *aff0 = ag_channel_affine(t, x, w, NULL);
            ag_tensor *y = ag_batch_norm(t, x, w, b, 1e-3, &st2), *y0 = ag_batch_norm(t, x, NULL,
                                                                                    NULL, 0.5, NULL);
            tu_assert_shape(st, 2, SHAPE(2, 3));
            double mean[3], var[3];
            for (int c = 0; c < 3; c++) {
                naive_stats(x, c, &mean[c], &var[c]);
                ck_assert_double_eq_tol(ag_tensor_get(st, c), mean[c], tol);
                ck_assert_double_eq_tol(ag_tensor_get(st, 3 + c), var[c], tol * 4);
                ck_assert_double_eq(ag_tensor_get(st2, c), ag_tensor_get(st, c));
                ck_assert_double_eq(ag_tensor_get(st2, 3 + c), ag_tensor_get(st, 3 + c));
            }
            for (int64_t i = 0; i < ag_tensor_numel(x); i++) {
                const int64_t c = chan_at(x, i);
                const double v = ag_tensor_get(x, i), wc = ag_tensor_get(w, c);
                const double bc = ag_tensor_get(b, c);
                ck_assert_double_eq_tol(ag_tensor_get(aff, i), v * wc + bc, tol);
                ck_assert_double_eq_tol(ag_tensor_get(aff0, i), v * wc, tol);
                ck_assert_double_eq_tol(ag_tensor_get(y, i),
                                        (v - mean[c]) / sqrt(var[c] + 1e-3) * wc + bc, tol * 4);
                ck_assert_double_eq_tol(ag_tensor_get(y0, i), (v - mean[c]) / sqrt(var[c] + 0.5),
                                        tol * 4);
            }
            ck_assert_int_eq(ag_requires_grad(st2), 0);
            ag_rng_free(r);
            ag_tape_free(t);
        }
}
END_TEST

/* ----------------------------------------------------- gradchecks --- */

typedef struct nctx {
    int op;                 /* 0 stats, 1 affine, 2 batch_norm */
    int with_b;             /* shift / bias given */
    int with_w;             /* batch_norm: weight given */
    int square;
} nctx;

/* in: x, then the per-channel operands the case has. */
static ag_tensor *norm_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const nctx *c = ctx;
    ag_tensor *y;
    if (c->op == 0)
        y = ag_batch_norm_stats(t, in[0]);
    else if (c->op == 1)
        y = ag_channel_affine(t, in[0], in[1], c->with_b ? in[2] : NULL);
    else
        y = ag_batch_norm(t, in[0], c->with_w ? in[1] : NULL,
                          c->with_b ? in[1 + c->with_w] : NULL, 1e-3, NULL);
    return c->square ? ag_mul(t, y, ag_sin(t, y)) : y;
}

START_TEST(test_norm_ops_gradchecks)
{
    for (int s = 0; s < 3; s++) {
        ag_tensor *in[3] = {tu_random(s + 2, shapes[s], -1, 2, 20 + (uint64_t)s),
                            tu_random(1, SHAPE(3), 0.5, 1.5, 30), tu_random(1, SHAPE(3), -1, 1, 31)};
        for (int sq = 0; sq < 2; sq++) {
            nctx st = {0, 0, 0, sq}, af = {1, 1, 0, sq}, af0 = {1, 0, 0, sq};
            tu_assert_gradchecks(norm_fn, &st, 1, in);
            tu_assert_gradchecks(norm_fn, &af, 3, in);
            tu_assert_gradchecks(norm_fn, &af0, 2, in);
            for (int wb = 0; wb < 4; wb++) {
                nctx bn = {2, wb & 1, wb >> 1, sq};
                ag_tensor *bin[3] = {in[0], in[1], in[2]};
                if (!bn.with_w) bin[1] = in[2];
                tu_assert_gradchecks(norm_fn, &bn, 1 + bn.with_w + bn.with_b, bin);
            }
        }
        for (int k = 0; k < 3; k++) ag_tensor_free(in[k]);
    }
}
END_TEST

/* A mean 1e4 times the spread: f32 gradients stay close to f64's. */
START_TEST(test_batch_norm_large_mean_f32)
{
    ag_tape *t = ag_tape_new();
    ag_rng *r = ag_rng_new(3);
    ag_tensor *x64 = ag_rand_normal(NULL, r, AG_F64, 3, SHAPE(8, 2, 16), 1e4, 1);
    ag_tensor *dy64 = ag_rand_normal(NULL, r, AG_F64, 3, SHAPE(8, 2, 16), 0, 1);
    ag_tensor *x32 = ag_zeros(NULL, AG_F32, 3, SHAPE(8, 2, 16));
    ag_tensor *dy32 = ag_zeros(NULL, AG_F32, 3, SHAPE(8, 2, 16));
    for (int64_t i = 0; i < 256; i++) {        /* the f64 values rounded to f32 */
        ag_tensor_set(x32, i, (float)ag_tensor_get(x64, i));
        ag_tensor_set(x64, i, ag_tensor_get(x32, i));
        ag_tensor_set(dy32, i, (float)ag_tensor_get(dy64, i));
        ag_tensor_set(dy64, i, ag_tensor_get(dy32, i));
    }
    ag_set_requires_grad(x64, 1), ag_set_requires_grad(x32, 1);
    ag_tensor *y64 = ag_batch_norm(t, x64, NULL, NULL, 1e-5, NULL), *g64 = NULL;
    ag_tensor *y32 = ag_batch_norm(t, x32, NULL, NULL, 1e-5, NULL), *g32 = NULL;
    ck_assert_int_eq(ag_grad(t, 1, &y64, &dy64, 1, &x64, &g64, 0), AG_OK);
    ck_assert_int_eq(ag_grad(t, 1, &y32, &dy32, 1, &x32, &g32, 0), AG_OK);
    double worst = 0, worst_y = 0;
    for (int64_t i = 0; i < 256; i++) {
        worst = fmax(worst, fabs(ag_tensor_get(g32, i) - ag_tensor_get(g64, i)));
        worst_y = fmax(worst_y, fabs(ag_tensor_get(y32, i) - ag_tensor_get(y64, i)));
    }
    ck_assert_msg(worst < 2e-3, "f32 dx off by %g", worst);
    ck_assert_msg(worst_y < 5e-3, "f32 y off by %g", worst_y);
    ag_tape_free(t);
    ag_tensor_free(x64), ag_tensor_free(dy64), ag_tensor_free(x32), ag_tensor_free(dy32);
    ag_rng_free(r);
}
END_TEST

/* [8, 16, 24, 24]: the channels and rows are split over the pool. */
START_TEST(test_norm_ops_same_bits_for_any_thread_count)
{
    ag_rng *r = ag_rng_new(4);
    ag_tensor *x = ag_rand_normal(NULL, r, AG_F32, 4, SHAPE(8, 16, 24, 24), 1, 2);
    ag_tensor *dy = ag_rand_normal(NULL, r, AG_F32, 4, SHAPE(8, 16, 24, 24), 0, 1);
    ag_tensor *w = ag_rand_normal(NULL, r, AG_F32, 1, SHAPE(16), 1, 0.3);
    ag_tensor *b = ag_rand_normal(NULL, r, AG_F32, 1, SHAPE(16), 0, 0.3);
    ag_tensor *in[3] = {x, w, b}, *ref[4] = {NULL};
    for (int k = 0; k < 3; k++) ag_set_requires_grad(in[k], 1);
    for (int th = 1; th <= 3; th++) {
        ck_assert_int_eq(ag_set_num_threads(th), AG_OK);
        ag_tape *t = ag_tape_new();
        ag_tensor *y = ag_batch_norm(t, x, w, b, 1e-5, NULL), *g[3] = {NULL, NULL, NULL};
        ck_assert_int_eq(ag_grad(t, 1, &y, &dy, 3, in, g, 0), AG_OK);
        ag_tensor *got[4] = {y, g[0], g[1], g[2]};
        for (int k = 0; k < 4; k++) {
            if (th == 1) {
                ref[k] = ag_tensor_clone(got[k]);
                continue;
            }
            ck_assert_msg(!memcmp(ag_tensor_data(got[k]), ag_tensor_data(ref[k]),
                                  (size_t)ag_tensor_numel(got[k]) * 4), "result %d differs with "
                          "%d threads", k, th);
        }
        ag_tape_free(t);
    }
    ag_set_num_threads(0);
    for (int k = 0; k < 4; k++) ag_tensor_free(ref[k]);
    ag_tensor_free(x), ag_tensor_free(dy), ag_tensor_free(w), ag_tensor_free(b);
    ag_rng_free(r);
}
END_TEST

/* No channels or no samples: empty results of the right shapes, no crash. */
START_TEST(test_norm_ops_empty)
{
    ag_tape *t = ag_tape_new();
    const int64_t shapes_e[2][3] = {{0, 3, 4}, {2, 0, 3}};
    for (int k = 0; k < 2; k++) {
        ag_tensor *x = ag_zeros(NULL, AG_F64, 3, shapes_e[k]), *dx = NULL, *st = NULL;
        ag_set_requires_grad(x, 1);
        ag_tensor *y = ag_batch_norm(t, x, NULL, NULL, 1e-5, &st);
        tu_assert_shape(y, 3, shapes_e[k]);
        tu_assert_shape(st, 2, SHAPE(2, shapes_e[k][1]));
        ck_assert_int_eq(ag_grad(t, 1, &y, &y, 1, &x, &dx, 1), AG_OK);
        tu_assert_shape(dx, 3, shapes_e[k]);
        tu_assert_shape(ag_batch_norm_stats(t, x), 2, SHAPE(2, shapes_e[k][1]));
        ag_tape_reset(t);                   /* its nodes hold x */
        ag_tensor_free(x);
    }
    ag_tape_free(t);
}
END_TEST

START_TEST(test_norm_ops_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F32, 3, SHAPE(2, 3, 4));
    ag_tensor *x1 = ag_zeros(NULL, AG_F32, 1, SHAPE(3));
    ag_tensor *w4 = ag_ones(NULL, AG_F32, 1, SHAPE(4));
    ag_tensor *w64 = ag_ones(NULL, AG_F64, 1, SHAPE(3));
    tu_assert_error(t, ag_batch_norm_stats(t, x1), AG_ERR_SHAPE, "ag_batch_norm_stats: x is [3]",
                    "expected [N, C, ...] (at least 2 dims)");
    ag_tape_reset(t);
    tu_assert_error(t, ag_channel_affine(t, x, w4, NULL), AG_ERR_SHAPE,
                    "ag_channel_affine: scale is [4], expected [3]", "(x is [2,3,4])");
    ag_tape_reset(t);
    tu_assert_error(t, ag_channel_affine(t, x, NULL, NULL), AG_ERR_ARG,
                    "ag_channel_affine: scale is NULL", "");
    ag_tape_reset(t);
    tu_assert_error(t, ag_batch_norm(t, x, w64, NULL, 1e-5, NULL), AG_ERR_DTYPE,
                    "ag_batch_norm: weight is f64, x is f32", "ag_cast");
    ag_tape_reset(t);
    tu_assert_error(t, ag_batch_norm(t, x, NULL, w4, 1e-5, NULL), AG_ERR_SHAPE,
                    "ag_batch_norm: bias is [4], expected [3]", "(x is [2,3,4])");
    ag_tape_reset(t);
    ag_tensor *st = x;                          /* set to NULL on failure */
    tu_assert_error(t, ag_batch_norm(t, x, NULL, NULL, -1, &st), AG_ERR_ARG,
                    "ag_batch_norm: eps -1 must be finite and >= 0", "");
    ck_assert_ptr_null(st);
    ag_tape_reset(t);
    tu_assert_error(t, ag_batch_norm(t, NULL, NULL, NULL, 1e-5, NULL), AG_ERR_ARG,
                    "ag_batch_norm", "x");
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(x1), ag_tensor_free(w4), ag_tensor_free(w64);
}
END_TEST

Suite *suite_norm_ops(void)
{
    Suite *s = suite_create("norm_ops");
    TU_ADD(s, test_stats_affine_and_batch_norm_values);
    TU_ADD(s, test_norm_ops_gradchecks);
    TU_ADD(s, test_batch_norm_large_mean_f32);
    TU_ADD(s, test_norm_ops_same_bits_for_any_thread_count);
    TU_ADD(s, test_norm_ops_empty);
    TU_ADD(s, test_norm_ops_errors);
    return s;
}
