/*
** test_matmul.c: the transposed-operand products ag_matmul_nt (a @ b^T)
** and ag_matmul_tn (a^T @ b), and the fused layer ag_linear
** (x @ w^T + b): hand-computed values, odd sizes against naive loops
** written here, gradcheck and gradgradcheck in f64 (third order for
** ag_linear), the batch broadcast, error paths. ag_matmul itself is in
** test_linalg.c, the kernel in test_matmul_kernel.c.
*/
#include "test_util.h"

/* ------------------------------------------------------------ helpers --- */

static ag_tensor *random_tensor(ag_dtype dt, int ndim, const int64_t *shape, uint64_t seed)
{
    ag_rng *r = ag_rng_new(seed);
    ag_tensor *x = ag_rand_uniform(NULL, r, dt, ndim, shape, -1, 1);
    ag_rng_free(r);
    ck_assert_ptr_nonnull(x);
    return x;
}

/* Element (i, j) of matrix q of x (a 2-D x has only one). */
static double mat_get(const ag_tensor *x, int64_t q, int64_t i, int64_t j)
{
    int nd = ag_tensor_ndim(x);
    int64_t rows = ag_tensor_dim(x, -2), cols = ag_tensor_dim(x, -1);
    return ag_tensor_get(x, ((nd == 3 ? q : 0) * rows + i) * cols + j);
}

/* op(x)(i, j) of matrix q: x(j, i) when transposed. */
static double op_get(const ag_tensor *x, int trans, int64_t q, int64_t i, int64_t j)
{
    return trans ? mat_get(x, q, j, i) : mat_get(x, q, i, j);
}

/* Asserts y == op(a) @ op(b) by a naive loop in double, to within rtol
   of the sum of |terms| (batched and broadcast as ag_matmul). */
static void assert_product(const ag_tensor *a, int ta, const ag_tensor *b, int tb,
                           const ag_tensor *y, double rtol)
{
    int64_t m = ag_tensor_dim(a, ta ? -1 : -2), k = ag_tensor_dim(a, ta ? -2 : -1);
    int64_t n = ag_tensor_dim(b, tb ? -2 : -1);
    int64_t nb = ag_tensor_ndim(a) == 3 ? ag_tensor_dim(a, 0)
                 : ag_tensor_ndim(b) == 3 ? ag_tensor_dim(b, 0) : 1;
    ck_assert_int_eq(ag_tensor_numel(y), nb * m * n);
    for (int64_t q = 0; q < nb; q++)
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double s = 0, mag = 0;
                for (int64_t p = 0; p < k; p++) {
                    double term = op_get(a, ta, q, i, p) * op_get(b, tb, q, p, j);
                    s += term;
                    mag += fabs(term);
                }
                double got = ag_tensor_get(y, (q * m + i) * n + j);
                ck_assert_msg(fabs(got - s) <= rtol * mag + 1e-300,
                              "[%lld,%lld,%lld]: got %.9g, expected %.9g", (long long)q,
                              (long long)i, (long long)j, got, s);
            }
}

static ag_tensor *apply_linear(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_linear(t, in[0], in[1], ctx ? in[2] : NULL);
}

/* Gradchecks of op (nt or tn) at random operands of these shapes. */
static void check_grads(tu_binary_op op, int nda, const int64_t *sa, int ndb, const int64_t *sb)
{
    ag_tensor *in[2] = {tu_random(nda, sa, -1, 1, 21), tu_random(ndb, sb, -1, 1, 22)};
    tu_binary_ctx c = {op};
    tu_assert_gradchecks(tu_apply_binary, &c, 2, in);
    ag_tensor_free(in[0]);
    ag_tensor_free(in[1]);
}

/* ----------------------------------------------------------- nt, tn --- */

START_TEST(test_matmul_nt_tn_by_hand)
{
    ag_dtype dts[2] = {AG_F64, AG_F32};
    for (int d = 0; d < 2; d++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *a = tu_tensor(dts[d], 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
        ag_tensor *b = tu_tensor(dts[d], 2, SHAPE(2, 3), VALS(7, 8, 9, 10, 11, 12));
        /* [1 2 3; 4 5 6] @ [7 8 9; 10 11 12]^T */
        ag_tensor *y = ag_matmul_nt(t, a, b);
        tu_assert_shape(y, 2, SHAPE(2, 2));
        ck_assert_int_eq(ag_tensor_dtype(y), dts[d]);
        tu_assert_values(y, VALS(50, 68, 122, 167), 4, 0);
        /* [1 2 3; 4 5 6]^T @ [7 8 9; 10 11 12]: [3,2] @ [2,3] */
        y = ag_matmul_tn(t, a, b);
        tu_assert_shape(y, 2, SHAPE(3, 3));
        tu_assert_values(y, VALS(47, 52, 57, 64, 71, 78, 81, 90, 99), 9, 0);
        ag_tape_free(t);
        ag_tensor_free(a);
        ag_tensor_free(b);
    }
}
END_TEST

START_TEST(test_matmul_nt_tn_batched_and_broadcast_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 3, SHAPE(2, 2, 2), VALS(1, 2, 3, 4, 5, 6, 7, 8));
    ag_tensor *up = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(0, 1, 0, 0));  /* [0 1; 0 0] */
    /* a[q] @ up^T = a[q] @ [0 0; 1 0]: column 0 gets column 1, column 1 zeros */
    ag_tensor *y = ag_matmul_nt(t, a, up);
    tu_assert_shape(y, 3, SHAPE(2, 2, 2));
    tu_assert_values(y, VALS(2, 0, 4, 0, 6, 0, 8, 0), 8, 0);
    /* up^T @ a[q] = [0 0; 1 0] @ a[q]: row 1 gets row 0, row 0 zeros */
    y = ag_matmul_tn(t, up, a);
    tu_assert_shape(y, 3, SHAPE(2, 2, 2));
    tu_assert_values(y, VALS(0, 0, 1, 2, 0, 0, 5, 6), 8, 0);
    /* a[q]^T @ a[q] batched: [1 3; 2 4] @ [1 2; 3 4], [5 7; 6 8] @ [5 6; 7 8] */
    y = ag_matmul_tn(t, a, a);
    tu_assert_values(y, VALS(10, 14, 14, 20, 74, 86, 86, 100), 8, 0);
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(up);
}
END_TEST

/* Sizes that cross the kernel's edges (depth 300 > one panel, 130 rows >
   one block, widths not a multiple of a register), both dtypes, 2-D,
   batched and both broadcast forms. */
START_TEST(test_matmul_nt_tn_odd_sizes_match_naive_loop)
{
    static const int64_t sz[][3] = {{37, 53, 29}, {130, 300, 35}, {1, 7, 1}, {9, 1, 17}};
    for (int d = 0; d < 2; d++)
        for (size_t s = 0; s < sizeof sz / sizeof sz[0]; s++) {
            ag_dtype dt = d ? AG_F64 : AG_F32;
            double rtol = d ? 1e-12 : 1e-4;
            const int64_t m = sz[s][0], k = sz[s][1], n = sz[s][2];
            ag_tape *t = ag_tape_new();
            ag_tensor *a = random_tensor(dt, 2, SHAPE(m, k), 30 + s);
            ag_tensor *bt = random_tensor(dt, 2, SHAPE(n, k), 40 + s);
            ag_tensor *at = random_tensor(dt, 2, SHAPE(k, m), 50 + s);
            ag_tensor *b = random_tensor(dt, 2, SHAPE(k, n), 60 + s);
            assert_product(a, 0, bt, 1, ag_matmul_nt(t, a, bt), rtol);
            assert_product(at, 1, b, 0, ag_matmul_tn(t, at, b), rtol);
            ag_tape_free(t);
            ag_tensor_free(a), ag_tensor_free(bt), ag_tensor_free(at), ag_tensor_free(b);
        }
    for (int form = 0; form < 3; form++) {        /* batched, [B,..] @ 2-D, 2-D @ [B,..] */
        ag_tape *t = ag_tape_new();
        ag_tensor *a = form == 2 ? random_tensor(AG_F64, 2, SHAPE(19, 37), 7)
                                 : random_tensor(AG_F64, 3, SHAPE(3, 19, 37), 7);
        ag_tensor *b = form == 1 ? random_tensor(AG_F64, 2, SHAPE(21, 37), 8)
                                 : random_tensor(AG_F64, 3, SHAPE(3, 21, 37), 8);
        ag_tensor *y = ag_matmul_nt(t, a, b);           /* [19,37] @ ([21,37])^T */
        tu_assert_shape(y, 3, SHAPE(3, 19, 21));
        assert_product(a, 0, b, 1, y, 1e-12);
        y = ag_matmul_tn(t, b, a);                      /* ([21,37])^T @ [19,37]: */
        ck_assert_ptr_null(y);                          /* inner 21 vs 19, refused */
        ag_tape_free(t);
        t = ag_tape_new();
        ag_tensor *c = form == 2 ? random_tensor(AG_F64, 2, SHAPE(21, 19), 9)
                                 : random_tensor(AG_F64, 3, SHAPE(3, 21, 19), 9);
        y = ag_matmul_tn(t, b, c);                      /* ([21,37])^T @ [21,19] */
        tu_assert_shape(y, 3, SHAPE(3, 37, 19));
        assert_product(b, 1, c, 0, y, 1e-12);
        ag_tape_free(t);
        ag_tensor_free(a), ag_tensor_free(b), ag_tensor_free(c);
    }
}
END_TEST

START_TEST(test_matmul_nt_tn_gradchecks)
{
    check_grads(ag_matmul_nt, 2, SHAPE(3, 4), 2, SHAPE(2, 4));
    check_grads(ag_matmul_tn, 2, SHAPE(4, 3), 2, SHAPE(4, 2));
}
END_TEST

START_TEST(test_matmul_nt_tn_batched_and_broadcast_gradchecks)
{
    check_grads(ag_matmul_nt, 3, SHAPE(2, 3, 4), 3, SHAPE(2, 2, 4));
    check_grads(ag_matmul_nt, 3, SHAPE(2, 3, 4), 2, SHAPE(2, 4));
    check_grads(ag_matmul_nt, 2, SHAPE(3, 4), 3, SHAPE(2, 2, 4));
    check_grads(ag_matmul_tn, 3, SHAPE(2, 4, 3), 3, SHAPE(2, 4, 2));
    check_grads(ag_matmul_tn, 3, SHAPE(2, 4, 3), 2, SHAPE(4, 2));
    check_grads(ag_matmul_tn, 2, SHAPE(4, 3), 3, SHAPE(2, 4, 2));
}
END_TEST

START_TEST(test_matmul_nt_tn_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = ag_zeros(t, AG_F32, 2, SHAPE(64, 784));
    ag_tensor *b = ag_zeros(t, AG_F32, 2, SHAPE(256, 783));
    tu_assert_error(t, ag_matmul_nt(t, a, b), AG_ERR_SHAPE, "ag_matmul_nt: inner dimensions "
                    "differ", "a is [64,784], b is [256,783]");
    ck_assert_ptr_null(ag_matmul_tn(t, a, a));          /* sticky: keeps the first */
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_matmul_nt"));
    ag_tape_reset(t);
    a = ag_zeros(t, AG_F32, 2, SHAPE(64, 784));
    tu_assert_error(t, ag_matmul_tn(t, a, ag_zeros(t, AG_F32, 2, SHAPE(784, 10))), AG_ERR_SHAPE,
                    "ag_matmul_tn: inner dimensions differ", "a is [64,784], b is [784,10]");
    ag_tape_reset(t);
    a = ag_zeros(t, AG_F64, 1, SHAPE(3));
    tu_assert_error(t, ag_matmul_nt(t, a, a), AG_ERR_SHAPE, "ag_matmul_nt", "at least 2-D");
    ag_tape_reset(t);
    a = ag_zeros(t, AG_F64, 3, SHAPE(2, 3, 4));
    tu_assert_error(t, ag_matmul_tn(t, a, ag_zeros(t, AG_F64, 3, SHAPE(3, 3, 4))), AG_ERR_SHAPE,
                    "ag_matmul_tn: batch dimensions do not broadcast", "b is [3,3,4]");
    ag_tape_reset(t);
    a = ag_zeros(t, AG_F64, 2, SHAPE(2, 3));
    tu_assert_error(t, ag_matmul_nt(t, a, ag_zeros(t, AG_F32, 2, SHAPE(2, 3))), AG_ERR_DTYPE,
                    "ag_matmul_nt", "a is f64, b is f32");
    ag_tape_reset(t);
    tu_assert_error(t, ag_matmul_tn(t, NULL, ag_zeros(t, AG_F64, 2, SHAPE(2, 3))), AG_ERR_ARG,
                    "ag_matmul_tn", "a is NULL");
    ag_tape_free(t);
}
END_TEST

/* -------------------------------------------------------------- linear --- */

START_TEST(test_linear_by_hand)
{
    ag_dtype dts[2] = {AG_F64, AG_F32};
    for (int d = 0; d < 2; d++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *x = tu_tensor(dts[d], 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
        ag_tensor *w = tu_tensor(dts[d], 2, SHAPE(2, 3), VALS(7, 8, 9, 10, 11, 12));
        ag_tensor *b = tu_tensor(dts[d], 1, SHAPE(2), VALS(0.5, -1));
        ag_tensor *y = ag_linear(t, x, w, b);            /* x @ w^T = [50 68; 122 167] */
        tu_assert_shape(y, 2, SHAPE(2, 2));
        ck_assert_int_eq(ag_tensor_dtype(y), dts[d]);
        tu_assert_values(y, VALS(50.5, 67, 122.5, 166), 4, 0);
        tu_assert_values(ag_linear(t, x, w, NULL), VALS(50, 68, 122, 167), 4, 0);
        ag_tensor *x1 = ag_reshape(t, x, 1, SHAPE(6));   /* 1-D x: [in] -> [out] */
        ag_tensor *w1 = tu_tensor(dts[d], 2, SHAPE(1, 6), VALS(1, 0, -1, 0, 2, 0));
        y = ag_linear(t, x1, w1, NULL);
        tu_assert_shape(y, 1, SHAPE(1));
        tu_assert_values(y, VALS(8), 1, 0);              /* 1 - 3 + 2*5 */
        ag_tensor *x3 = ag_reshape(t, x, 3, SHAPE(2, 1, 3));
        y = ag_linear(t, x3, w, b);                      /* leading dims kept */
        tu_assert_shape(y, 3, SHAPE(2, 1, 2));
        tu_assert_values(y, VALS(50.5, 67, 122.5, 166), 4, 0);
        ag_tape_free(t);
        ag_tensor_free(x), ag_tensor_free(w), ag_tensor_free(b), ag_tensor_free(w1);
    }
}
END_TEST

/* in = 0: y is the bias (zeros without one); no rows: an empty result. */
START_TEST(test_linear_empty)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(t, AG_F32, 2, SHAPE(2, 0)), *w = ag_zeros(t, AG_F32, 2, SHAPE(3, 0));
    ag_tensor *b = ag_from_f64(t, AG_F32, 1, SHAPE(3), VALS(1, 2, 3));
    tu_assert_values(ag_linear(t, x, w, b), VALS(1, 2, 3, 1, 2, 3), 6, 0);
    tu_assert_values(ag_linear(t, x, w, NULL), VALS(0, 0, 0, 0, 0, 0), 6, 0);
    ag_tensor *y = ag_linear(t, ag_zeros(t, AG_F32, 2, SHAPE(0, 4)),
                             ag_ones(t, AG_F32, 2, SHAPE(3, 4)), NULL);
    tu_assert_shape(y, 2, SHAPE(0, 3));
    ag_tape_free(t);
}
END_TEST

/* At odd sizes in f32: the fused op against its composition from other
   ops, forward and every gradient. */
START_TEST(test_linear_matches_composition_f32)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = random_tensor(AG_F32, 2, SHAPE(37, 53), 1);
    ag_tensor *w = random_tensor(AG_F32, 2, SHAPE(29, 53), 2);
    ag_tensor *b = random_tensor(AG_F32, 1, SHAPE(29), 3);
    ag_tensor *gy = random_tensor(AG_F32, 2, SHAPE(37, 29), 4);
    ag_tensor *in[3] = {x, w, b}, *g1[3], *g2[3];
    for (int i = 0; i < 3; i++) ag_set_requires_grad(in[i], 1);
    ag_tensor *y1 = ag_linear(t, x, w, b);
    ag_tensor *y2 = ag_add(t, ag_matmul(t, x, ag_transpose(t, w, 0, 1)), b);
    ck_assert_int_eq(ag_grad(t, 1, &y1, &gy, 3, in, g1, 0), AG_OK);
    ck_assert_int_eq(ag_grad(t, 1, &y2, &gy, 3, in, g2, 0), AG_OK);
    for (int64_t e = 0; e < ag_tensor_numel(y1); e++)
        ck_assert_double_eq_tol(ag_tensor_get(y1, e), ag_tensor_get(y2, e), 1e-5);
    for (int i = 0; i < 3; i++) {
        tu_assert_shape(g1[i], ag_tensor_ndim(in[i]), ag_tensor_shape(in[i]));
        for (int64_t e = 0; e < ag_tensor_numel(g1[i]); e++)
            ck_assert_double_eq_tol(ag_tensor_get(g1[i], e), ag_tensor_get(g2[i], e), 1e-4);
    }
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(w), ag_tensor_free(b), ag_tensor_free(gy);
}
END_TEST

START_TEST(test_linear_gradchecks)
{
    ag_tensor *in[3] = {tu_random(2, SHAPE(3, 4), -1, 1, 1), tu_random(2, SHAPE(2, 4), -1, 1, 2),
                        tu_random(1, SHAPE(2), -1, 1, 3)};
    int with_bias = 1;
    tu_assert_gradchecks(apply_linear, &with_bias, 3, in);
    tu_assert_gradchecks(apply_linear, NULL, 2, in);
    ag_tensor_free(in[0]), ag_tensor_free(in[1]), ag_tensor_free(in[2]);
}
END_TEST

/* x with more leading dims, and a 1-D x: w and b are shared by every
   row, so their gradients sum over the rows (the op's broadcast). */
START_TEST(test_linear_leading_dims_gradchecks)
{
    int with_bias = 1;
    ag_tensor *in[3] = {tu_random(3, SHAPE(2, 2, 3), -1, 1, 4),
                        tu_random(2, SHAPE(2, 3), -1, 1, 5), tu_random(1, SHAPE(2), -1, 1, 6)};
    tu_assert_gradchecks(apply_linear, &with_bias, 3, in);
    ag_tensor_free(in[0]);
    in[0] = tu_random(1, SHAPE(3), -1, 1, 7);
    tu_assert_gradchecks(apply_linear, &with_bias, 3, in);
    ag_tensor_free(in[0]), ag_tensor_free(in[1]), ag_tensor_free(in[2]);
}
END_TEST

/* The bias gradient sums dy over every row: with dy = ones and 2x3 rows,
   db = 6 each; dw[j, p] = sum of x[..., p]. */
START_TEST(test_linear_grads_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 3, SHAPE(2, 3, 1), VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *w = tu_tensor(AG_F64, 2, SHAPE(2, 1), VALS(2, -1));
    ag_tensor *b = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 0));
    ag_tensor *in[3] = {x, w, b}, *g[3];
    for (int i = 0; i < 3; i++) ag_set_requires_grad(in[i], 1);
    ag_tensor *y = ag_linear(t, x, w, b);
    ag_tensor *ones = ag_ones(t, AG_F64, 3, SHAPE(2, 3, 2));
    ck_assert_int_eq(ag_grad(t, 1, &y, &ones, 3, in, g, 0), AG_OK);
    tu_assert_shape(g[0], 3, SHAPE(2, 3, 1));
    tu_assert_values(g[0], VALS(1, 1, 1, 1, 1, 1), 6, 0);   /* 2 + (-1) */
    tu_assert_values(g[1], VALS(21, 21), 2, 0);
    tu_assert_values(g[2], VALS(6, 6), 2, 0);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(w), ag_tensor_free(b);
}
END_TEST

/* Third order: fn = d<y, y>/dx built with create_graph, checked to second
   order, so the rule's own products and sum are differentiated twice. */
static ag_tensor *linear_grad_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *y = ag_linear(t, in[0], in[1], in[2]), *g = NULL;
    ag_tensor *w = in[1];
    if (!y || ag_grad(t, 1, &y, &y, 1, &w, &g, 1) != AG_OK) return NULL;
    return g;
}

START_TEST(test_linear_third_order)
{
    ag_tensor *in[3] = {tu_random(2, SHAPE(3, 2), -1, 1, 8), tu_random(2, SHAPE(2, 2), -1, 1, 9),
                        tu_random(1, SHAPE(2), -1, 1, 10)};
    tu_assert_gradchecks(linear_grad_fn, NULL, 3, in);
    ag_tensor_free(in[0]), ag_tensor_free(in[1]), ag_tensor_free(in[2]);
}
END_TEST

START_TEST(test_linear_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(t, AG_F32, 2, SHAPE(64, 783));
    ag_tensor *w = ag_zeros(t, AG_F32, 2, SHAPE(256, 784));
    ag_tensor *b = ag_zeros(t, AG_F32, 1, SHAPE(256));
    tu_assert_error(t, ag_linear(t, x, w, b), AG_ERR_SHAPE, "ag_linear: x's last dim differs",
                    "x is [64,783], w is [256,784]");
    ck_assert_ptr_null(ag_linear(t, w, w, NULL));        /* sticky */
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "[64,783]"));
    ag_tape_reset(t);
    w = ag_zeros(t, AG_F32, 2, SHAPE(256, 784));
    x = ag_zeros(t, AG_F32, 2, SHAPE(64, 784));
    tu_assert_error(t, ag_linear(t, x, w, ag_zeros(t, AG_F32, 1, SHAPE(255))), AG_ERR_SHAPE,
                    "ag_linear: b must be [out] = [256]", "b is [255], w is [256,784]");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F32, 2, SHAPE(64, 784));
    tu_assert_error(t, ag_linear(t, x, ag_zeros(t, AG_F32, 1, SHAPE(784)), NULL), AG_ERR_SHAPE,
                    "ag_linear", "x is [64,784], w is [784]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_linear(t, ag_scalar(t, AG_F32, 1), ag_zeros(t, AG_F32, 2, SHAPE(1, 1)),
                                 NULL), AG_ERR_SHAPE, "ag_linear", "x is [], w is [1,1]");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F32, 2, SHAPE(2, 3));
    tu_assert_error(t, ag_linear(t, x, ag_zeros(t, AG_F64, 2, SHAPE(4, 3)), NULL), AG_ERR_DTYPE,
                    "ag_linear", "x is f32, w is f64");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F32, 2, SHAPE(2, 3));
    tu_assert_error(t, ag_linear(t, x, ag_zeros(t, AG_F32, 2, SHAPE(4, 3)),
                                 ag_zeros(t, AG_F64, 1, SHAPE(4))), AG_ERR_DTYPE, "ag_linear",
                    "x is f32, b is f64");
    ag_tape_reset(t);
    tu_assert_error(t, ag_linear(t, NULL, ag_zeros(t, AG_F32, 2, SHAPE(4, 3)), NULL), AG_ERR_ARG,
                    "ag_linear", "x is NULL");
    ag_tape_reset(t);
    tu_assert_error(t, ag_linear(t, ag_zeros(t, AG_F32, 2, SHAPE(2, 3)), NULL, NULL), AG_ERR_ARG,
                    "ag_linear", "w is NULL");
    ag_tape_free(t);
}
END_TEST

Suite *suite_matmul(void)
{
    Suite *s = suite_create("matmul");
    TU_ADD(s, test_matmul_nt_tn_by_hand);
    TU_ADD(s, test_matmul_nt_tn_batched_and_broadcast_by_hand);
    TU_ADD(s, test_matmul_nt_tn_odd_sizes_match_naive_loop);
    TU_ADD(s, test_matmul_nt_tn_gradchecks);
    TU_ADD(s, test_matmul_nt_tn_batched_and_broadcast_gradchecks);
    TU_ADD(s, test_matmul_nt_tn_errors);
    TU_ADD(s, test_linear_by_hand);
    TU_ADD(s, test_linear_empty);
    TU_ADD(s, test_linear_matches_composition_f32);
    TU_ADD(s, test_linear_gradchecks);
    TU_ADD(s, test_linear_leading_dims_gradchecks);
    TU_ADD(s, test_linear_grads_by_hand);
    TU_ADD(s, test_linear_third_order);
    TU_ADD(s, test_linear_errors);
    return s;
}
