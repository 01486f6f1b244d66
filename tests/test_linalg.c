/*
** test_linalg.c: ag_matmul (2-D, batched, both broadcast forms), its
** backward products, ag_transpose and ag_permute: hand-computed values,
** odd sizes against a naive loop written here, gradcheck and
** gradgradcheck in f64, error paths.
*/
#include "test_util.h"

/* ------------------------------------------------------------ helpers --- */

/* A persistent tensor of dtype dt, uniform in [-1, 1) from seed. */
static ag_tensor *random_tensor(ag_dtype dt, int ndim, const int64_t *shape, uint64_t seed)
{
    ag_rng *r = ag_rng_new(seed);
    ag_tensor *x = ag_rand_uniform(NULL, r, dt, ndim, shape, -1, 1);
    ag_rng_free(r);
    ck_assert_ptr_nonnull(x);
    return x;
}

/* Element (i, j) of the matrix number `batch` of x (2-D x: the only one). */
static double mat_get(const ag_tensor *x, int64_t batch, int64_t i, int64_t j)
{
    const int64_t *s = ag_tensor_shape(x);
    int nd = ag_tensor_ndim(x);
    int64_t rows = s[nd - 2], cols = s[nd - 1];
    if (nd == 2) batch = 0;
    return ag_tensor_get(x, (batch * rows + i) * cols + j);
}

/* Asserts y == a @ b (2-D or 3-D, broadcast) from a naive i-j-p loop in
   double, to within rtol relative to the sum of |terms|. */
static void assert_matches_naive(const ag_tensor *a, const ag_tensor *b, const ag_tensor *y,
                                 double rtol)
{
    int nda = ag_tensor_ndim(a), ndb = ag_tensor_ndim(b);
    int64_t m = ag_tensor_dim(a, -2), k = ag_tensor_dim(a, -1), n = ag_tensor_dim(b, -1);
    int64_t nb = nda == 3 ? ag_tensor_dim(a, 0) : ndb == 3 ? ag_tensor_dim(b, 0) : 1;
    ck_assert_int_eq(ag_tensor_numel(y), nb * m * n);
    for (int64_t q = 0; q < nb; q++)
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double s = 0, mag = 0;
                for (int64_t p = 0; p < k; p++) {
                    double term = mat_get(a, q, i, p) * mat_get(b, q, p, j);
                    s += term;
                    mag += fabs(term);
                }
                double got = ag_tensor_get(y, (q * m + i) * n + j);
                ck_assert_msg(fabs(got - s) <= rtol * mag + 1e-300,
                              "[%lld,%lld,%lld]: got %.9g, expected %.9g", (long long)q,
                              (long long)i, (long long)j, got, s);
            }
}

/* Gradcheck adapters for the axis ops. */
typedef struct axes_ctx { int axis0, axis1; int perm[AG_MAX_DIMS]; } axes_ctx;

static ag_tensor *apply_transpose(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    axes_ctx *c = ctx;
    return ag_transpose(t, in[0], c->axis0, c->axis1);
}

static ag_tensor *apply_permute(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_permute(t, in[0], ((axes_ctx *)ctx)->perm);
}

/* Runs gradcheck and gradgradcheck of ag_matmul at random a, b of these
   shapes (f64). */
static void check_matmul_grads(int nda, const int64_t *sa, int ndb, const int64_t *sb)
{
    ag_tensor *in[2] = {tu_random(nda, sa, -1, 1, 11), tu_random(ndb, sb, -1, 1, 12)};
    tu_binary_ctx c = {ag_matmul};
    tu_assert_gradchecks(tu_apply_binary, &c, 2, in);
    ag_tensor_free(in[0]);
    ag_tensor_free(in[1]);
}

/* -------------------------------------------------------- matmul fwd --- */

START_TEST(test_matmul_2d_by_hand)
{
    ag_dtype dts[2] = {AG_F64, AG_F32};
    for (int d = 0; d < 2; d++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *a = tu_tensor(dts[d], 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
        ag_tensor *b = tu_tensor(dts[d], 2, SHAPE(3, 2), VALS(7, 8, 9, 10, 11, 12));
        ag_tensor *y = ag_matmul(t, a, b);
        tu_assert_shape(y, 2, SHAPE(2, 2));
        ck_assert_int_eq(ag_tensor_dtype(y), dts[d]);
        /* [1 2 3; 4 5 6] @ [7 8; 9 10; 11 12] */
        tu_assert_values(y, VALS(58, 64, 139, 154), 4, 0);
        ag_tensor *y2 = ag_matmul(t, b, a);             /* [3,2] @ [2,3] */
        tu_assert_shape(y2, 2, SHAPE(3, 3));
        tu_assert_values(y2, VALS(39, 54, 69, 49, 68, 87, 59, 82, 105), 9, 0);
        ag_tape_free(t);
        ag_tensor_free(a);
        ag_tensor_free(b);
    }
}
END_TEST

START_TEST(test_matmul_batched_and_broadcast_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 3, SHAPE(2, 2, 2), VALS(1, 2, 3, 4, 5, 6, 7, 8));
    ag_tensor *b = tu_tensor(AG_F64, 3, SHAPE(2, 2, 2), VALS(1, 0, 0, 1, 2, 1, 1, 2));
    ag_tensor *swap = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(0, 1, 1, 0));
    ag_tensor *y = ag_matmul(t, a, b);         /* a[0] @ I, a[1] @ [2 1; 1 2] */
    tu_assert_shape(y, 3, SHAPE(2, 2, 2));
    tu_assert_values(y, VALS(1, 2, 3, 4, 16, 17, 22, 23), 8, 0);
    y = ag_matmul(t, a, swap);                 /* [B,m,k] @ [k,n]: swaps columns */
    tu_assert_shape(y, 3, SHAPE(2, 2, 2));
    tu_assert_values(y, VALS(2, 1, 4, 3, 6, 5, 8, 7), 8, 0);
    y = ag_matmul(t, swap, a);                 /* [m,k] @ [B,k,n]: swaps rows */
    tu_assert_shape(y, 3, SHAPE(2, 2, 2));
    tu_assert_values(y, VALS(3, 4, 1, 2, 7, 8, 5, 6), 8, 0);
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
    ag_tensor_free(swap);
}
END_TEST

/* Odd sizes that cross the kernel's edges: depth 300 > one 256 panel,
   130 rows > one 128-row block, widths not multiples of a SIMD register. */
START_TEST(test_matmul_odd_sizes_match_naive_loop)
{
    static const int64_t sizes[][3] = {{37, 53, 29}, {130, 300, 35}, {1, 7, 1}, {9, 1, 17}};
    ag_dtype dts[2] = {AG_F32, AG_F64};
    double rtol[2] = {1e-4, 1e-12};
    for (int d = 0; d < 2; d++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            ag_tape *t = ag_tape_new();
            const int64_t *z = sizes[s];
            ag_tensor *a = random_tensor(dts[d], 2, SHAPE(z[0], z[1]), 100 + s);
            ag_tensor *b = random_tensor(dts[d], 2, SHAPE(z[1], z[2]), 200 + s);
            ag_tensor *y = ag_matmul(t, a, b);
            tu_assert_shape(y, 2, SHAPE(z[0], z[2]));
            assert_matches_naive(a, b, y, rtol[d]);
            ag_tape_free(t);
            ag_tensor_free(a);
            ag_tensor_free(b);
        }
}
END_TEST

START_TEST(test_matmul_batched_and_broadcast_match_naive_loop)
{
    static const int64_t shapes[][2][3] = {
        {{3, 19, 37}, {3, 37, 21}},      /* batched */
        {{3, 19, 37}, {0, 37, 21}},      /* [B,m,k] @ [k,n] (0: 2-D) */
        {{0, 19, 37}, {3, 37, 21}},      /* [m,k] @ [B,k,n] */
    };
    for (int d = 0; d < 2; d++)
        for (int s = 0; s < 3; s++) {
            ag_dtype dt = d ? AG_F64 : AG_F32;
            ag_tape *t = ag_tape_new();
            const int64_t *sa = shapes[s][0], *sb = shapes[s][1];
            ag_tensor *a = sa[0] ? random_tensor(dt, 3, sa, 7) : random_tensor(dt, 2, sa + 1, 7);
            ag_tensor *b = sb[0] ? random_tensor(dt, 3, sb, 8) : random_tensor(dt, 2, sb + 1, 8);
            ag_tensor *y = ag_matmul(t, a, b);
            tu_assert_shape(y, 3, SHAPE(3, 19, 21));
            assert_matches_naive(a, b, y, d ? 1e-12 : 1e-4);
            ag_tape_free(t);
            ag_tensor_free(a);
            ag_tensor_free(b);
        }
}
END_TEST

START_TEST(test_matmul_empty_inner_dimension_gives_zeros)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = ag_zeros(t, AG_F32, 2, SHAPE(2, 0));
    ag_tensor *b = ag_zeros(t, AG_F32, 2, SHAPE(0, 3));
    ag_tensor *y = ag_matmul(t, a, b);
    tu_assert_shape(y, 2, SHAPE(2, 3));
    tu_assert_values(y, VALS(0, 0, 0, 0, 0, 0), 6, 0);
    ag_tape_free(t);
}
END_TEST

/* -------------------------------------------------------- matmul bwd --- */

/* dA = dY @ B^T and dB = A^T @ dY in f32 at odd sizes, against naive
   loops: the transposed-operand kernels. */
START_TEST(test_matmul_backward_products_match_naive_f32)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = random_tensor(AG_F32, 2, SHAPE(37, 53), 1);
    ag_tensor *b = random_tensor(AG_F32, 2, SHAPE(53, 29), 2);
    ag_tensor *gy = random_tensor(AG_F32, 2, SHAPE(37, 29), 3);
    ag_set_requires_grad(a, 1);
    ag_set_requires_grad(b, 1);
    ag_tensor *y = ag_matmul(t, a, b);
    ag_tensor *grads[2], *in[2] = {a, b};
    ck_assert_int_eq(ag_grad(t, 1, &y, &gy, 2, in, grads, 0), AG_OK);
    ck_assert_int_eq(ag_tensor_dtype(grads[0]), AG_F32);
    for (int64_t i = 0; i < 37; i++)
        for (int64_t p = 0; p < 53; p++) {
            double s = 0;
            for (int64_t j = 0; j < 29; j++) s += mat_get(gy, 0, i, j) * mat_get(b, 0, p, j);
            ck_assert_double_eq_tol(mat_get(grads[0], 0, i, p), s, 1e-4 * (1 + fabs(s)));
        }
    for (int64_t p = 0; p < 53; p++)
        for (int64_t j = 0; j < 29; j++) {
            double s = 0;
            for (int64_t i = 0; i < 37; i++) s += mat_get(a, 0, i, p) * mat_get(gy, 0, i, j);
            ck_assert_double_eq_tol(mat_get(grads[1], 0, p, j), s, 1e-4 * (1 + fabs(s)));
        }
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
    ag_tensor_free(gy);
}
END_TEST

/* The 2-D operand of a broadcast product gets its gradient summed over the
   batch: with dY = ones, dB[p,j] = sum over batch and rows of A[.,.,p]. */
START_TEST(test_matmul_broadcast_grad_sums_over_batch)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 3, SHAPE(2, 1, 2), VALS(1, 2, 3, 4));
    ag_tensor *b = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
    ag_set_requires_grad(a, 1);
    ag_set_requires_grad(b, 1);
    ag_tensor *y = ag_matmul(t, a, b);
    ag_tensor *ones = ag_ones(t, AG_F64, 3, SHAPE(2, 1, 3));
    ag_tensor *grads[2], *in[2] = {a, b};
    ck_assert_int_eq(ag_grad(t, 1, &y, &ones, 2, in, grads, 0), AG_OK);
    tu_assert_shape(grads[0], 3, SHAPE(2, 1, 2));
    tu_assert_values(grads[0], VALS(6, 15, 6, 15), 4, 0);   /* row sums of b */
    tu_assert_shape(grads[1], 2, SHAPE(2, 3));
    tu_assert_values(grads[1], VALS(4, 4, 4, 6, 6, 6), 6, 0); /* 1+3, 2+4 */
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
}
END_TEST

START_TEST(test_matmul_2d_gradchecks)
{
    check_matmul_grads(2, SHAPE(3, 4), 2, SHAPE(4, 2));
}
END_TEST

START_TEST(test_matmul_batched_gradchecks)
{
    check_matmul_grads(3, SHAPE(2, 3, 4), 3, SHAPE(2, 4, 2));
}
END_TEST

START_TEST(test_matmul_broadcast_gradchecks)
{
    check_matmul_grads(3, SHAPE(2, 3, 4), 2, SHAPE(4, 2));
    check_matmul_grads(2, SHAPE(3, 4), 3, SHAPE(2, 4, 2));
}
END_TEST

/* Third order through the backward products: fn = d<a@b, a@b>/da (built
   with create_graph), checked to second order, so the rules of the
   transposed-operand products are differentiated too. */
static ag_tensor *matmul_grad_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *y = ag_matmul(t, in[0], in[1]), *g = NULL;
    if (!y) return NULL;
    ag_tensor *a = in[0];
    if (ag_grad(t, 1, &y, &y, 1, &a, &g, 1) != AG_OK) return NULL;
    return g;
}

START_TEST(test_matmul_third_order)
{
    ag_tensor *in[2] = {tu_random(3, SHAPE(2, 2, 3), -1, 1, 5), tu_random(2, SHAPE(3, 2), -1, 1, 6)};
    tu_assert_gradchecks(matmul_grad_fn, NULL, 2, in);
    ag_tensor_free(in[0]);
    ag_tensor_free(in[1]);
}
END_TEST

/* ------------------------------------------------------ matmul errors --- */

START_TEST(test_matmul_rejects_inner_dim_mismatch)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = ag_zeros(t, AG_F32, 2, SHAPE(64, 784));
    ag_tensor *b = ag_zeros(t, AG_F32, 2, SHAPE(256, 128));
    tu_assert_error(t, ag_matmul(t, a, b), AG_ERR_SHAPE, "ag_matmul", "inner");
    ck_assert_str_eq(ag_tape_errmsg(t),
                     "ag_matmul: inner dimensions differ: a is [64,784], b is [256,128]");
    /* sticky: a later op on the tape in error fails and keeps the message */
    ag_tensor *ok = ag_zeros(NULL, AG_F32, 2, SHAPE(784, 3));
    ck_assert_ptr_null(ag_matmul(t, a, ok));
    ck_assert_ptr_null(ag_transpose(t, ok, 0, 1));
    ck_assert_str_eq(ag_tape_errmsg(t),
                     "ag_matmul: inner dimensions differ: a is [64,784], b is [256,128]");
    ag_tape_free(t);
    ag_tensor_free(ok);
}
END_TEST

START_TEST(test_matmul_rejects_bad_shapes)
{
    static const int64_t shapes[][2][5] = {        /* {ndim, dims...} */
        {{3, 2, 3, 4}, {3, 3, 4, 5}},               /* batches differ */
        {{0}, {1, 3}},                              /* a scalar */
        {{1, 3}, {3, 2, 4, 2}},                     /* a vector, inner 3 vs 4 */
        {{4, 2, 2, 3, 4}, {4, 3, 2, 4, 3}},         /* 4-D, batch 2 vs 3 */
        {{2, 3, 4}, {4, 1, 1, 5, 2}},               /* inner 4 vs 5 */
    };
    const char *expect[] = {"batch dimensions do not broadcast: a is [2,3,4], b is [3,4,5]",
                            "at least 1-D: a is [], b is [3]",
                            "inner dimensions differ: a is [3], b is [2,4,2]",
                            "batch dimensions do not broadcast: a is [2,2,3,4], b is [3,2,4,3]",
                            "inner dimensions differ: a is [3,4], b is [1,1,5,2]"};
    for (int s = 0; s < 5; s++) {
        ag_tape *t = ag_tape_new();
        const int64_t *sa = shapes[s][0], *sb = shapes[s][1];
        ag_tensor *a = ag_zeros(t, AG_F64, (int)sa[0], sa + 1);
        ag_tensor *b = ag_zeros(t, AG_F64, (int)sb[0], sb + 1);
        tu_assert_error(t, ag_matmul(t, a, b), AG_ERR_SHAPE, "ag_matmul: ", expect[s]);
        ag_tape_free(t);
    }
}
END_TEST

START_TEST(test_matmul_rejects_dtype_mix_and_null)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = ag_zeros(t, AG_F32, 2, SHAPE(2, 3));
    ag_tensor *b = ag_zeros(t, AG_F64, 2, SHAPE(3, 2));
    tu_assert_error(t, ag_matmul(t, a, b), AG_ERR_DTYPE, "ag_matmul", "a is f32, b is f64");
    ag_tape_reset(t);
    b = ag_zeros(t, AG_F64, 2, SHAPE(3, 2));
    tu_assert_error(t, ag_matmul(t, NULL, b), AG_ERR_ARG, "ag_matmul", "a is NULL");
    ag_tape_reset(t);
    b = ag_zeros(t, AG_F64, 2, SHAPE(3, 2));
    tu_assert_error(t, ag_matmul(t, b, NULL), AG_ERR_ARG, "ag_matmul", "b is NULL");
    ag_tape_free(t);
}
END_TEST

/* ---------------------------------------------------------- transpose --- */

START_TEST(test_transpose_by_hand)
{
    ag_dtype dts[2] = {AG_F64, AG_F32};
    for (int d = 0; d < 2; d++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *x = tu_tensor(dts[d], 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
        ag_tensor *y = ag_transpose(t, x, 0, 1);
        tu_assert_shape(y, 2, SHAPE(3, 2));
        tu_assert_values(y, VALS(1, 4, 2, 5, 3, 6), 6, 0);
        y = ag_transpose(t, x, -1, -2);             /* negative axes: the same */
        tu_assert_values(y, VALS(1, 4, 2, 5, 3, 6), 6, 0);
        y = ag_transpose(t, x, 1, 1);               /* equal axes: a copy */
        tu_assert_shape(y, 2, SHAPE(2, 3));
        tu_assert_values(y, VALS(1, 2, 3, 4, 5, 6), 6, 0);
        ag_tape_free(t);
        ag_tensor_free(x);
    }
}
END_TEST

START_TEST(test_transpose_3d_outer_axes)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_arange(NULL, AG_F64, 0, 24, 1);    /* x[i,j,k] = 12i+4j+k */
    ag_tensor *x3 = ag_from_data(t, AG_F64, 3, SHAPE(2, 3, 4), ag_tensor_data(x));
    ag_tensor *y = ag_transpose(t, x3, 0, -1);            /* y[k,j,i] = x[i,j,k] */
    tu_assert_shape(y, 3, SHAPE(4, 3, 2));
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 3; j++)
            for (int i = 0; i < 2; i++)
                ck_assert_double_eq(ag_tensor_get(y, (k * 3 + j) * 2 + i), 12 * i + 4 * j + k);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_transpose_gradchecks)
{
    ag_tensor *x = tu_random(3, SHAPE(2, 3, 4), -1, 1, 3);
    axes_ctx c = {.axis0 = 0, .axis1 = 2};
    tu_assert_gradchecks(apply_transpose, &c, 1, &x);
    c.axis0 = -1;
    c.axis1 = 1;
    tu_assert_gradchecks(apply_transpose, &c, 1, &x);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_transpose_rejects_bad_axis_and_null)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(t, AG_F64, 2, SHAPE(2, 3));
    tu_assert_error(t, ag_transpose(t, x, 0, 2), AG_ERR_AXIS, "ag_transpose", "axis 2");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F64, 2, SHAPE(2, 3));
    tu_assert_error(t, ag_transpose(t, x, -3, 0), AG_ERR_AXIS, "ag_transpose", "axis -3");
    ag_tape_reset(t);
    tu_assert_error(t, ag_transpose(t, NULL, 0, 1), AG_ERR_ARG, "ag_transpose", "x is NULL");
    ag_tape_free(t);
}
END_TEST

/* ------------------------------------------------------------ permute --- */

START_TEST(test_permute_by_hand)
{
    ag_dtype dts[2] = {AG_F64, AG_F32};
    for (int d = 0; d < 2; d++) {
        ag_tape *t = ag_tape_new();
        ag_tensor *x = ag_arange(t, dts[d], 0, 24, 1);
        ag_tensor *x3 = ag_from_data(t, dts[d], 3, SHAPE(2, 3, 4), ag_tensor_data(x));
        int perm[3] = {2, 0, 1};                       /* y[k,i,j] = x[i,j,k] */
        ag_tensor *y = ag_permute(t, x3, perm);
        perm[0] = -99;                                  /* perm was copied */
        tu_assert_shape(y, 3, SHAPE(4, 2, 3));
        for (int k = 0; k < 4; k++)
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 3; j++)
                    ck_assert_double_eq(ag_tensor_get(y, (k * 2 + i) * 3 + j),
                                        12 * i + 4 * j + k);
        ag_tensor *z = ag_permute(t, x3, (const int[]){-1, -3, -2});  /* the same */
        tu_assert_shape(z, 3, SHAPE(4, 2, 3));
        for (int64_t e = 0; e < 24; e++)
            ck_assert_double_eq(ag_tensor_get(z, e), ag_tensor_get(y, e));
        ag_tape_free(t);
    }
}
END_TEST

START_TEST(test_permute_gradchecks)
{
    ag_tensor *x = tu_random(3, SHAPE(2, 3, 4), -1, 1, 4);
    axes_ctx c = {.perm = {1, 2, 0}};                 /* its inverse is {2, 0, 1} */
    tu_assert_gradchecks(apply_permute, &c, 1, &x);
    ag_tensor_free(x);
    ag_tensor *x4 = tu_random(4, SHAPE(2, 1, 3, 2), -1, 1, 5);
    axes_ctx c4 = {.perm = {3, 0, 2, 1}};
    tu_assert_gradchecks(apply_permute, &c4, 1, &x4);
    ag_tensor_free(x4);
}
END_TEST

/* The gradient goes back through the inverse permutation: with dy[e] = e,
   dx[i,j,k] = dy at y's position of x[i,j,k]. */
START_TEST(test_permute_grad_is_inverse_permutation)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F64, 3, SHAPE(2, 3, 4));
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_permute(t, x, (const int[]){1, 2, 0});     /* y[j,k,i] */
    ag_tensor *gy = ag_arange(t, AG_F64, 0, 24, 1);
    ag_tensor *gy3 = ag_from_data(t, AG_F64, 3, SHAPE(3, 4, 2), ag_tensor_data(gy));
    ag_tensor *g;
    ck_assert_int_eq(ag_grad(t, 1, &y, &gy3, 1, &x, &g, 0), AG_OK);
    tu_assert_shape(g, 3, SHAPE(2, 3, 4));
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                ck_assert_double_eq(ag_tensor_get(g, (i * 3 + j) * 4 + k), (j * 4 + k) * 2 + i);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_permute_rejects_bad_perm)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(t, AG_F64, 3, SHAPE(2, 3, 4));
    tu_assert_error(t, ag_permute(t, x, (const int[]){0, 0, 1}), AG_ERR_ARG, "ag_permute",
                    "perm {0,0,1} repeats axis 0");
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "[2,3,4]"));
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F64, 3, SHAPE(2, 3, 4));
    tu_assert_error(t, ag_permute(t, x, (const int[]){0, 2, -1}), AG_ERR_ARG, "ag_permute",
                    "repeats axis 2");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F64, 3, SHAPE(2, 3, 4));
    tu_assert_error(t, ag_permute(t, x, (const int[]){0, 1, 3}), AG_ERR_AXIS, "ag_permute",
                    "axis 3 out of range in perm {0,1,3} for x [2,3,4]");
    ag_tape_reset(t);
    x = ag_zeros(t, AG_F64, 3, SHAPE(2, 3, 4));
    tu_assert_error(t, ag_permute(t, x, NULL), AG_ERR_ARG, "ag_permute", "perm is NULL");
    ag_tape_reset(t);
    tu_assert_error(t, ag_permute(t, NULL, (const int[]){0}), AG_ERR_ARG, "ag_permute",
                    "x is NULL");
    ag_tape_free(t);
}
END_TEST

Suite *suite_linalg(void)
{
    Suite *s = suite_create("linalg");
    TU_ADD(s, test_matmul_2d_by_hand);
    TU_ADD(s, test_matmul_batched_and_broadcast_by_hand);
    TU_ADD(s, test_matmul_odd_sizes_match_naive_loop);
    TU_ADD(s, test_matmul_batched_and_broadcast_match_naive_loop);
    TU_ADD(s, test_matmul_empty_inner_dimension_gives_zeros);
    TU_ADD(s, test_matmul_backward_products_match_naive_f32);
    TU_ADD(s, test_matmul_broadcast_grad_sums_over_batch);
    TU_ADD(s, test_matmul_2d_gradchecks);
    TU_ADD(s, test_matmul_batched_gradchecks);
    TU_ADD(s, test_matmul_broadcast_gradchecks);
    TU_ADD(s, test_matmul_third_order);
    TU_ADD(s, test_matmul_rejects_inner_dim_mismatch);
    TU_ADD(s, test_matmul_rejects_bad_shapes);
    TU_ADD(s, test_matmul_rejects_dtype_mix_and_null);
    TU_ADD(s, test_transpose_by_hand);
    TU_ADD(s, test_transpose_3d_outer_axes);
    TU_ADD(s, test_transpose_gradchecks);
    TU_ADD(s, test_transpose_rejects_bad_axis_and_null);
    TU_ADD(s, test_permute_by_hand);
    TU_ADD(s, test_permute_gradchecks);
    TU_ADD(s, test_permute_grad_is_inverse_permutation);
    TU_ADD(s, test_permute_rejects_bad_perm);
    return s;
}
