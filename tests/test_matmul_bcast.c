/*
** test_matmul_bcast.c: ag_matmul, ag_matmul_nt and ag_matmul_tn with
** NumPy batch broadcasting over any number of leading dims, and
** ag_matmul's 1-D operands: values against a naive loop written here
** (broadcast index by index), gradients by gradcheck and gradgradcheck in
** f64 over the broadcast forms, a broadcast gradient summed by hand, an
** empty batch, error messages naming both shapes. The 2-D and 3-D forms
** are in test_linalg.c and test_matmul.c.
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

/* The flat offset of matrix `batch` (an index into the broadcast batch of
   nbd dims, bshape) in x, right-aligned and broadcast, times its size. */
static int64_t matrix_offset(const ag_tensor *x, int nbd, const int64_t *bshape, int64_t batch)
{
    const int xb = ag_tensor_ndim(x) - 2, lead = nbd - xb;
    int64_t off = 0, stride = ag_tensor_dim(x, -1) * ag_tensor_dim(x, -2);
    for (int i = nbd - 1; i >= 0; i--) {
        const int64_t idx = batch % bshape[i];
        batch /= bshape[i];
        if (i < lead) continue;
        const int64_t own = ag_tensor_shape(x)[i - lead];
        off += (own == 1 ? 0 : idx) * stride;
        stride *= own;
    }
    return off;
}

/* Asserts y == op(a) @ op(b) by a naive loop in double (a and b at least
   2-D, the batch broadcast as NumPy), within rtol of the sum of |terms|. */
static void assert_product(const ag_tensor *a, int ta, const ag_tensor *b, int tb,
                           const ag_tensor *y, double rtol)
{
    const int na = ag_tensor_ndim(a), nb = ag_tensor_ndim(b);
    const int nbd = (na > nb ? na : nb) - 2;
    int64_t bshape[AG_MAX_DIMS], nbatch = 1;
    for (int i = 0; i < nbd; i++) {
        const int ia = i - (nbd - (na - 2)), ib = i - (nbd - (nb - 2));
        const int64_t da = ia >= 0 ? ag_tensor_shape(a)[ia] : 1;
        const int64_t db = ib >= 0 ? ag_tensor_shape(b)[ib] : 1;
        bshape[i] = da == 1 ? db : da;
        nbatch *= bshape[i];
        ck_assert_int_eq(ag_tensor_dim(y, i), bshape[i]);
    }
    const int64_t m = ag_tensor_dim(a, ta ? -1 : -2), k = ag_tensor_dim(a, ta ? -2 : -1);
    const int64_t n = ag_tensor_dim(b, tb ? -2 : -1);
    const int64_t acols = ag_tensor_dim(a, -1), bcols = ag_tensor_dim(b, -1);
    ck_assert_int_eq(ag_tensor_numel(y), nbatch * m * n);
    for (int64_t q = 0; q < nbatch; q++) {
        const int64_t oa = matrix_offset(a, nbd, bshape, q), ob = matrix_offset(b, nbd, bshape, q);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                double s = 0, mag = 0;
                for (int64_t p = 0; p < k; p++) {
                    double x = ag_tensor_get(a, oa + (ta ? p * acols + i : i * acols + p));
                    double w = ag_tensor_get(b, ob + (tb ? j * bcols + p : p * bcols + j));
                    s += x * w;
                    mag += fabs(x * w);
                }
                double got = ag_tensor_get(y, (q * m + i) * n + j);
                ck_assert_msg(fabs(got - s) <= rtol * mag + 1e-300,
                              "[%lld,%lld,%lld]: got %.9g, expected %.9g", (long long)q,
                              (long long)i, (long long)j, got, s);
            }
    }
}

typedef struct shape_pair {
    int nda;
    int64_t sa[5];
    int ndb;
    int64_t sb[5];
} shape_pair;

/* Broadcast forms of a @ b: full batches, 2-D against N-D both ways, size-1
   dims stretched on either side, fewer dims on either side, and a batch no
   one stride reaches (a [3,1], b [2]: looped outside the kernel). */
static const shape_pair forms[] = {
    {4, {2, 3, 4, 5}, 4, {2, 3, 5, 3}},
    {3, {2, 4, 5}, 2, {5, 3}},
    {4, {2, 3, 4, 5}, 2, {5, 3}},
    {2, {4, 5}, 4, {2, 3, 5, 3}},
    {4, {2, 1, 4, 5}, 4, {1, 3, 5, 3}},
    {4, {3, 1, 4, 5}, 3, {2, 5, 3}},
    {3, {2, 4, 5}, 4, {3, 1, 5, 3}},
    {5, {2, 1, 3, 4, 5}, 3, {3, 5, 3}},
    {3, {1, 4, 5}, 3, {3, 5, 3}},
};
#define N_FORMS ((int)(sizeof forms / sizeof forms[0]))

/* The same pair with the operands laid out for op: a's last two dims
   swapped when ta, b's when tb. */
static ag_tensor *operand(ag_dtype dt, int nd, const int64_t *s, int trans, uint64_t seed)
{
    int64_t shape[5];
    memcpy(shape, s, sizeof shape);
    if (trans) {
        shape[nd - 2] = s[nd - 1];
        shape[nd - 1] = s[nd - 2];
    }
    return random_tensor(dt, nd, shape, seed);
}

/* ------------------------------------------------------------ forward --- */

START_TEST(test_matmul_bcast_matches_naive_loop)
{
    tu_binary_op ops[3] = {ag_matmul, ag_matmul_nt, ag_matmul_tn};
    const int tas[3] = {0, 0, 1}, tbs[3] = {0, 1, 0};
    for (int d = 0; d < 2; d++)
        for (int o = 0; o < 3; o++)
            for (int f = 0; f < N_FORMS; f++) {
                ag_dtype dt = d ? AG_F64 : AG_F32;
                const shape_pair *sp = &forms[f];
                ag_tape *t = ag_tape_new();
                ag_tensor *a = operand(dt, sp->nda, sp->sa, tas[o], 10 + f);
                ag_tensor *b = operand(dt, sp->ndb, sp->sb, tbs[o], 20 + f);
                ag_tensor *y = ops[o](t, a, b);
                ck_assert_msg(y != NULL, "form %d op %d: %s", f, o, ag_tape_errmsg(t));
                ck_assert_int_eq(ag_tensor_ndim(y), sp->nda > sp->ndb ? sp->nda : sp->ndb);
                assert_product(a, tas[o], b, tbs[o], y, d ? 1e-13 : 1e-5);
                ag_tape_free(t);
                ag_tensor_free(a), ag_tensor_free(b);
            }
}
END_TEST

/* Sizes past the kernel's blocks (depth 300, 130 rows), broadcast. */
START_TEST(test_matmul_bcast_odd_sizes_match_naive_loop)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = random_tensor(AG_F32, 4, SHAPE(2, 1, 130, 300), 1);
    ag_tensor *b = random_tensor(AG_F32, 3, SHAPE(2, 300, 35), 2);
    assert_product(a, 0, b, 0, ag_matmul(t, a, b), 1e-5);
    ag_tensor *c = random_tensor(AG_F32, 4, SHAPE(1, 2, 37, 300), 3);
    assert_product(a, 0, c, 1, ag_matmul_nt(t, a, c), 1e-5);
    ag_tape_free(t);
    ag_tensor_free(a), ag_tensor_free(b), ag_tensor_free(c);
}
END_TEST

/* 1-D operands as NumPy: a dot product, a row times a batch, a batch
   times a column; by hand. */
START_TEST(test_matmul_vectors_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *u = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(3), VALS(4, -5, 6));
    ag_tensor *m = tu_tensor(AG_F64, 3, SHAPE(2, 3, 2), VALS(1, 0, 0, 1, 1, 1, 2, 0, 0, 2, 1, -1));
    ag_tensor *y = ag_matmul(t, u, v);                  /* 4 - 10 + 18 */
    tu_assert_shape(y, 0, SHAPE(1));
    tu_assert_values(y, VALS(12), 1, 0);
    y = ag_matmul(t, u, m);                              /* [3] @ [2,3,2] -> [2,2] */
    tu_assert_shape(y, 2, SHAPE(2, 2));
    tu_assert_values(y, VALS(4, 5, 5, 1), 4, 0);
    ag_tensor *mt = ag_transpose(t, m, 1, 2);            /* [2,2,3] @ [3] -> [2,2] */
    y = ag_matmul(t, mt, v);
    tu_assert_shape(y, 2, SHAPE(2, 2));
    tu_assert_values(y, VALS(10, 1, 14, -16), 4, 0);
    y = ag_matmul(t, ag_reshape(t, mt, 2, SHAPE(4, 3)), v);   /* [4,3] @ [3] -> [4] */
    tu_assert_shape(y, 1, SHAPE(4));
    tu_assert_values(y, VALS(10, 1, 14, -16), 4, 0);
    ag_tape_free(t);
    ag_tensor_free(u), ag_tensor_free(v), ag_tensor_free(m);
}
END_TEST

/* A batch with a zero dim gives an empty result; a zero depth, zeros. */
START_TEST(test_matmul_bcast_empty)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *y = ag_matmul(t, ag_ones(t, AG_F32, 4, SHAPE(2, 0, 2, 3)),
                             ag_ones(t, AG_F32, 3, SHAPE(1, 3, 4)));
    tu_assert_shape(y, 4, SHAPE(2, 0, 2, 4));
    y = ag_matmul(t, ag_ones(t, AG_F64, 4, SHAPE(2, 1, 2, 0)), ag_ones(t, AG_F64, 3, SHAPE(3, 0, 1)));
    tu_assert_shape(y, 4, SHAPE(2, 3, 2, 1));
    tu_assert_values(y, VALS(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 12, 0);
    ag_tape_free(t);
}
END_TEST

/* ---------------------------------------------------------- gradients --- */

START_TEST(test_matmul_bcast_gradchecks)
{
    tu_binary_op ops[3] = {ag_matmul, ag_matmul_nt, ag_matmul_tn};
    const int tas[3] = {0, 0, 1}, tbs[3] = {0, 1, 0};
    for (int o = 0; o < 3; o++)
        for (int f = 0; f < N_FORMS; f++) {
            const shape_pair *sp = &forms[f];
            int64_t sa[5], sb[5];                       /* smaller: m 2, k 3, n 2 */
            memcpy(sa, sp->sa, sizeof sa), memcpy(sb, sp->sb, sizeof sb);
            sa[sp->nda - 2] = 2, sa[sp->nda - 1] = 3, sb[sp->ndb - 2] = 3, sb[sp->ndb - 1] = 2;
            ag_tensor *in[2] = {operand(AG_F64, sp->nda, sa, tas[o], 30 + f),
                                operand(AG_F64, sp->ndb, sb, tbs[o], 40 + f)};
            tu_binary_ctx c = {ops[o]};
            tu_assert_gradchecks(tu_apply_binary, &c, 2, in);
            ag_tensor_free(in[0]), ag_tensor_free(in[1]);
        }
}
END_TEST

START_TEST(test_matmul_vectors_gradchecks)
{
    static const shape_pair vf[] = {
        {1, {3}, 1, {3}}, {1, {3}, 2, {3, 2}}, {2, {2, 3}, 1, {3}},
        {1, {3}, 3, {2, 3, 2}}, {4, {2, 1, 2, 3}, 1, {3}},
    };
    tu_binary_ctx c = {ag_matmul};
    for (size_t f = 0; f < sizeof vf / sizeof vf[0]; f++) {
        ag_tensor *in[2] = {tu_random(vf[f].nda, vf[f].sa, -1, 1, 50 + f),
                            tu_random(vf[f].ndb, vf[f].sb, -1, 1, 60 + f)};
        tu_assert_gradchecks(tu_apply_binary, &c, 2, in);
        ag_tensor_free(in[0]), ag_tensor_free(in[1]);
    }
}
END_TEST

/* a [2,1,1,2] @ b [3,2,1]: batch [2,3], each row of a against each column
   of b. With dy = ones, da sums b's three columns and db a's two rows. */
START_TEST(test_matmul_bcast_grads_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 4, SHAPE(2, 1, 1, 2), VALS(1, 2, 3, 4));
    ag_tensor *b = tu_tensor(AG_F64, 3, SHAPE(3, 2, 1), VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *in[2] = {a, b}, *g[2];
    ag_set_requires_grad(a, 1), ag_set_requires_grad(b, 1);
    ag_tensor *y = ag_matmul(t, a, b);
    tu_assert_shape(y, 4, SHAPE(2, 3, 1, 1));
    tu_assert_values(y, VALS(5, 11, 17, 11, 25, 39), 6, 0);
    ck_assert_int_eq(tu_grad_of_sum(t, y, 2, in, g), AG_OK);
    tu_assert_shape(g[0], 4, SHAPE(2, 1, 1, 2));
    tu_assert_values(g[0], VALS(9, 12, 9, 12), 4, 0);   /* 1+3+5, 2+4+6 */
    tu_assert_shape(g[1], 3, SHAPE(3, 2, 1));
    tu_assert_values(g[1], VALS(4, 6, 4, 6, 4, 6), 6, 0);   /* 1+3, 2+4 */
    ag_tape_free(t);
    ag_tensor_free(a), ag_tensor_free(b);
}
END_TEST

/* -------------------------------------------------------------- errors --- */

START_TEST(test_matmul_bcast_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = ag_zeros(t, AG_F32, 4, SHAPE(8, 8, 128, 64));
    ag_tensor *b = ag_zeros(t, AG_F32, 4, SHAPE(8, 4, 64, 128));
    tu_assert_error(t, ag_matmul(t, a, b), AG_ERR_SHAPE, "ag_matmul: batch dimensions do not "
                    "broadcast", "a is [8,8,128,64], b is [8,4,64,128]");
    ag_tape_reset(t);
    a = ag_zeros(t, AG_F32, 4, SHAPE(8, 8, 128, 64));
    tu_assert_error(t, ag_matmul_nt(t, a, ag_zeros(t, AG_F32, 3, SHAPE(8, 128, 63))),
                    AG_ERR_SHAPE, "ag_matmul_nt: inner dimensions differ",
                    "a is [8,8,128,64], b is [8,128,63]");
    ag_tape_reset(t);
    a = ag_zeros(t, AG_F32, 3, SHAPE(2, 3, 4));
    tu_assert_error(t, ag_matmul(t, a, ag_zeros(t, AG_F32, 1, SHAPE(5))), AG_ERR_SHAPE,
                    "ag_matmul: inner dimensions differ", "a is [2,3,4], b is [5]");
    ag_tape_reset(t);
    a = ag_zeros(t, AG_F32, 1, SHAPE(4));
    tu_assert_error(t, ag_matmul_tn(t, a, ag_zeros(t, AG_F32, 2, SHAPE(4, 1))), AG_ERR_SHAPE,
                    "ag_matmul_tn: operands must be at least 2-D", "a is [4], b is [4,1]");
    ag_tape_reset(t);
    a = ag_zeros(t, AG_F32, 1, SHAPE(4));
    tu_assert_error(t, ag_matmul(t, a, ag_zeros(t, AG_F64, 1, SHAPE(4))), AG_ERR_DTYPE,
                    "ag_matmul", "a is f32, b is f64");
    ag_tape_free(t);
}
END_TEST

Suite *suite_matmul_bcast(void)
{
    Suite *s = suite_create("matmul_bcast");
    TU_ADD(s, test_matmul_bcast_matches_naive_loop);
    TU_ADD(s, test_matmul_bcast_odd_sizes_match_naive_loop);
    TU_ADD(s, test_matmul_vectors_by_hand);
    TU_ADD(s, test_matmul_bcast_empty);
    TU_ADD(s, test_matmul_bcast_gradchecks);
    TU_ADD(s, test_matmul_vectors_gradchecks);
    TU_ADD(s, test_matmul_bcast_grads_by_hand);
    TU_ADD(s, test_matmul_bcast_errors);
    return s;
}
