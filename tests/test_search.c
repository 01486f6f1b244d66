/*
** test_search.c: argmax, argmin and topk. Indices against naive loops in
** this file (every axis, keepdim, AG_ALL, f32 and f64), PyTorch's numbers
** for NaN and ties (pasted from torch 1.13, the script lines quoted), topk
** values equal to x at the indices, gradcheck and gradgradcheck of topk's
** values in f64, error paths.
*/
#include "test_util.h"

#include <stdint.h>

#define NAN_ NAN

#define assert_status_error(t, call, status, part1, part2)                    \
    do {                                                                      \
        ag_status s_ = (call);                                                \
        ck_assert_msg(s_ == (status), "returned %s, expected %s: %s",         \
                      ag_status_name(s_), ag_status_name(status),             \
                      ag_tape_errmsg(t));                                     \
        tu_assert_error(t, (void *)NULL, status, part1, part2);               \
    } while (0)

/* Asserts the int64 array got equals want[0..n). */
static void assert_indices(const int64_t *got, const int64_t *want, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i], "index %lld: got %lld, expected %lld", (long long)i,
                      (long long)got[i], (long long)want[i]);
}

/* ---------------------------------------------------- argmax, argmin --- */

/* The naive answer: scan x [outer, n, inner] at (o, j) for the first
   largest (smallest) value; a NaN beats everything. */
static int64_t naive_arg(const ag_tensor *x, int64_t o, int64_t n, int64_t inner, int64_t j,
                         int is_max)
{
    int64_t best = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = ag_tensor_get(x, (o * n + i) * inner + j);
        double b = ag_tensor_get(x, (o * n + best) * inner + j);
        if (isnan(b)) break;
        if (isnan(v) || (is_max ? v > b : v < b)) best = i;
    }
    return best;
}

START_TEST(test_argmax_argmin_match_a_naive_loop)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x64 = tu_random(3, SHAPE(3, 4, 5), -2, 2, 200);
    for (int64_t i = 0; i < 60; i++)                    /* ties: few distinct values */
        ag_tensor_set(x64, i, round(ag_tensor_get(x64, i) * 2));
    ag_tensor *x32 = ag_cast(t, x64, AG_F32);
    for (int dt = 0; dt < 2; dt++) {
        ag_tensor *x = dt ? x32 : x64;
        for (int axis = -3; axis < 3; axis++)
            for (int is_max = 0; is_max < 2; is_max++) {
                int a = axis < 0 ? axis + 3 : axis, nd = -1;
                int64_t out[20], shape[AG_MAX_DIMS], dims[3] = {3, 4, 5};
                int64_t outer = a == 0 ? 1 : a == 1 ? 3 : 12, inner = a == 2 ? 1 : a == 1 ? 5 : 20;
                ag_status s = (is_max ? ag_argmax : ag_argmin)(t, x, axis, 1, out, 20, &nd, shape);
                ck_assert_int_eq(s, AG_OK);
                ck_assert_int_eq(nd, 3);
                dims[a] = 1;
                for (int d = 0; d < 3; d++) ck_assert_int_eq(shape[d], dims[d]);
                for (int64_t o = 0; o < outer; o++)
                    for (int64_t j = 0; j < inner; j++)
                        ck_assert_int_eq(out[o * inner + j],
                                         naive_arg(x, o, 60 / outer / inner, inner, j, is_max));
                ck_assert_int_eq((is_max ? ag_argmax : ag_argmin)(t, x, axis, 0, out, 20, &nd,
                                                                  shape), AG_OK);
                ck_assert_int_eq(nd, 2);
            }
        int64_t all = -1, shape[AG_MAX_DIMS];
        int nd = -1;
        ck_assert_int_eq(ag_argmax(t, x, AG_ALL, 0, &all, 1, &nd, shape), AG_OK);
        ck_assert_int_eq(nd, 0);
        ck_assert_int_eq(all, naive_arg(x, 0, 60, 1, 0, 1));
        ck_assert_int_eq(ag_argmin(t, x, AG_ALL, 1, &all, 1, &nd, shape), AG_OK);
        ck_assert_int_eq(nd, 3);
        ck_assert_int_eq(shape[0] * shape[1] * shape[2], 1);
        ck_assert_int_eq(all, naive_arg(x, 0, 60, 1, 0, 0));
    }
    ag_tensor *s = tu_tensor(AG_F64, 0, NULL, VALS(3));
    int64_t z = -1;
    ck_assert_int_eq(ag_argmax(t, s, 0, 0, &z, 1, NULL, NULL), AG_OK);
    ck_assert_int_eq(z, 0);
    ck_assert_uint_eq(ag_tape_size(t), 0);                /* nothing recorded */
    ag_tape_free(t);
    ag_tensor_free(x64);
    ag_tensor_free(s);
}
END_TEST

/* torch 1.13:
     x = torch.tensor([[1.,nan,3.,nan],[5.,2.,5.,-1.],[-2.,-2.,nan,-7.]])
     x.argmax(1) -> [1, 0, 2]     x.argmin(1) -> [1, 3, 2]
     x.argmax(0) -> [1, 0, 2, 0]  x.argmin(0) -> [2, 0, 2, 0]
     x.argmax()  -> 1             x.argmin()  -> 1 */
START_TEST(test_argmax_nan_and_ties_match_pytorch)
{
    ag_tape *t = ag_tape_new();
    const double nan = NAN_;
    ag_tensor *x = tu_tensor(AG_F32, 2, SHAPE(3, 4),
                             (const double[]){1, nan, 3, nan, 5, 2, 5, -1, -2, -2, nan, -7});
    int64_t out[4];
    ck_assert_int_eq(ag_argmax(t, x, 1, 0, out, 4, NULL, NULL), AG_OK);
    assert_indices(out, (const int64_t[]){1, 0, 2}, 3);
    ck_assert_int_eq(ag_argmin(t, x, 1, 0, out, 4, NULL, NULL), AG_OK);
    assert_indices(out, (const int64_t[]){1, 3, 2}, 3);
    ck_assert_int_eq(ag_argmax(t, x, 0, 0, out, 4, NULL, NULL), AG_OK);
    assert_indices(out, (const int64_t[]){1, 0, 2, 0}, 4);
    ck_assert_int_eq(ag_argmin(t, x, 0, 0, out, 4, NULL, NULL), AG_OK);
    assert_indices(out, (const int64_t[]){2, 0, 2, 0}, 4);
    ck_assert_int_eq(ag_argmax(t, x, AG_ALL, 0, out, 1, NULL, NULL), AG_OK);
    ck_assert_int_eq(out[0], 1);
    ck_assert_int_eq(ag_argmin(t, x, AG_ALL, 0, out, 1, NULL, NULL), AG_OK);
    ck_assert_int_eq(out[0], 1);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* ------------------------------------------------------------- topk --- */

/* a beats b in topk's order, positions aside: NaN above every number. */
static int naive_beats(double a, double b, int largest)
{
    if (isnan(a) || isnan(b)) return isnan(a) != isnan(b) && (largest ? isnan(a) : isnan(b));
    return largest ? a > b : a < b;
}

/* The naive answer for one row v[0..n): k passes, each taking the best
   position not yet taken, scanning from index 0 and moving only on a
   strictly better value (so ties go to the lower index). */
static void naive_topk(const double *v, int64_t n, int64_t k, int largest, int64_t *pick)
{
    int taken[16] = {0};
    for (int64_t p = 0; p < k; p++) {
        int64_t best = -1;
        for (int64_t i = 0; i < n; i++)
            if (!taken[i] && (best < 0 || naive_beats(v[i], v[best], largest))) best = i;
        taken[best] = 1;
        pick[p] = best;
    }
}

START_TEST(test_topk_matches_a_naive_loop)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_random(2, SHAPE(4, 7), -3, 3, 210);
    for (int64_t i = 0; i < 28; i++) ag_tensor_set(x, i, round(ag_tensor_get(x, i)));
    ag_tensor_set(x, 3, NAN);
    ag_tensor_set(x, 5, NAN);
    ag_tensor_set(x, 9, INFINITY);
    ag_tensor_set(x, 16, -INFINITY);
    for (int axis = 0; axis < 2; axis++)
        for (int64_t k = 0; k <= (axis ? 7 : 4); k++)
            for (int mode = 0; mode < 4; mode++) {
                const int largest = mode & 1, sorted = mode >> 1;
                const int64_t n = axis ? 7 : 4, rows = axis ? 4 : 7;
                int64_t idx[28], pick[7];
                ag_tensor *y = ag_topk(t, x, k, axis, largest, sorted, idx, 28);
                int64_t want[2] = {axis ? 4 : k, axis ? k : 7};
                tu_assert_shape(y, 2, want);
                for (int64_t r = 0; r < rows; r++) {
                    double v[7];
                    for (int64_t i = 0; i < n; i++)
                        v[i] = ag_tensor_get(x, axis ? r * 7 + i : i * 7 + r);
                    naive_topk(v, n, k, largest, pick);
                    if (!sorted)                          /* the same set, by index */
                        for (int64_t a = 1; a < k; a++)
                            for (int64_t b = a; b > 0 && pick[b - 1] > pick[b]; b--) {
                                int64_t tmp = pick[b];
                                pick[b] = pick[b - 1];
                                pick[b - 1] = tmp;
                            }
                    for (int64_t p = 0; p < k; p++) {
                        int64_t at = axis ? r * k + p : p * 7 + r;
                        ck_assert_int_eq(idx[at], pick[p]);
                        double got = ag_tensor_get(y, at), exp = v[pick[p]];
                        ck_assert(got == exp || (isnan(got) && isnan(exp)));
                    }
                }
            }
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* torch 1.13:
     x = torch.tensor([3.,3.,1.,3.,3.,2.,3.,3.])
     torch.topk(x,3)               -> values [3,3,3], indices [6,0,4]
     torch.topk(x,3,largest=False) -> values [1,2,3], indices [2,5,7]
     x = torch.tensor([2.,nan,inf,nan,-inf,0.])
     torch.topk(x,4)               -> values [nan,nan,inf,2], indices [1,3,2,0]
     torch.topk(x,4,largest=False) -> values [-inf,0,2,inf], indices [4,5,0,2]
     x = torch.tensor([[0.5,-1.,2.],[4.,4.,-3.],[1.,0.,2.]])
     torch.topk(x,2,dim=0)         -> values [[4,4,2],[1,0,2]], indices [[1,1,0],[2,2,2]]
   The values agree everywhere. Among equal values PyTorch's CPU kernel
   returns no set order (6,0,4 above); this library takes the lower index
   first (0,1,3 and 2,5,0), which agrees with PyTorch where it has no ties. */
START_TEST(test_topk_matches_pytorch)
{
    ag_tape *t = ag_tape_new();
    const double nan = NAN_;
    ag_tensor *ties = tu_tensor(AG_F64, 1, SHAPE(8), VALS(3, 3, 1, 3, 3, 2, 3, 3));
    ag_tensor *nans = tu_tensor(AG_F32, 1, SHAPE(6), (const double[]){2, nan, INFINITY, nan,
                                                                       -INFINITY, 0});
    ag_tensor *m = tu_tensor(AG_F64, 2, SHAPE(3, 3), VALS(0.5, -1, 2, 4, 4, -3, 1, 0, 2));
    int64_t idx[6];
    ag_tensor *y = ag_topk(t, ties, 3, 0, 1, 1, idx, 6);
    tu_assert_values(y, VALS(3, 3, 3), 3, 0);
    assert_indices(idx, (const int64_t[]){0, 1, 3}, 3);
    y = ag_topk(t, ties, 3, 0, 0, 1, idx, 6);
    tu_assert_values(y, VALS(1, 2, 3), 3, 0);
    assert_indices(idx, (const int64_t[]){2, 5, 0}, 3);
    y = ag_topk(t, nans, 4, -1, 1, 1, idx, 6);
    ck_assert(isnan(ag_tensor_get(y, 0)) && isnan(ag_tensor_get(y, 1)));
    ck_assert_double_eq(ag_tensor_get(y, 2), INFINITY);
    ck_assert_double_eq(ag_tensor_get(y, 3), 2);
    assert_indices(idx, (const int64_t[]){1, 3, 2, 0}, 4);
    y = ag_topk(t, nans, 4, -1, 0, 1, idx, 6);
    ck_assert_double_eq(ag_tensor_get(y, 0), -INFINITY);
    tu_assert_values(ag_slice(t, y, 0, 1, 3, 1), VALS(0, 2), 2, 0);
    ck_assert_double_eq(ag_tensor_get(y, 3), INFINITY);
    assert_indices(idx, (const int64_t[]){4, 5, 0, 2}, 4);
    y = ag_topk(t, m, 2, 0, 1, 1, idx, 6);
    tu_assert_values(y, VALS(4, 4, 2, 1, 0, 2), 6, 0);
    assert_indices(idx, (const int64_t[]){1, 1, 0, 2, 2, 2}, 6);
    /* unsorted: the same elements, in index order */
    y = ag_topk(t, nans, 4, -1, 1, 0, idx, 6);
    assert_indices(idx, (const int64_t[]){0, 1, 2, 3}, 4);
    ag_tape_free(t);
    ag_tensor_free(ties);
    ag_tensor_free(nans);
    ag_tensor_free(m);
}
END_TEST

/* The indices go straight into ag_gather; a 0-d x; indices may be NULL. */
START_TEST(test_topk_indices_gather_and_edge_cases)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_random(3, SHAPE(2, 5, 3), -1, 1, 220);
    int64_t idx[30];
    ag_tensor *y = ag_topk(t, x, 2, 1, 1, 1, idx, 30);
    ag_tensor *g = ag_gather(t, x, 1, idx, ag_tensor_shape(y));
    tu_assert_shape(y, 3, SHAPE(2, 2, 3));
    for (int64_t i = 0; i < 12; i++) ck_assert_double_eq(ag_tensor_get(g, i), ag_tensor_get(y, i));
    tu_assert_shape(ag_topk(t, x, 0, 1, 1, 1, NULL, 0), 3, SHAPE(2, 0, 3));
    ag_tensor *s = tu_tensor(AG_F64, 0, NULL, VALS(5));
    y = ag_topk(t, s, 1, 0, 1, 1, idx, 1);
    ck_assert_int_eq(ag_tensor_ndim(y), 0);
    tu_assert_values(y, VALS(5), 1, 0);
    ck_assert_int_eq(idx[0], 0);
    tu_assert_shape(ag_topk(t, s, 0, -1, 1, 1, idx, 1), 1, SHAPE(0));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(s);
}
END_TEST

static ag_tensor *fn_topk_rows(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_topk(t, in[0], 2, -1, 1, 1, NULL, 0);
}

static ag_tensor *fn_bottomk_cols(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    int64_t idx[8];
    (void)ctx;
    return ag_topk(t, in[0], 2, 0, 0, 0, idx, 8);
}

START_TEST(test_topk_grads)
{
    ag_tensor *in[1] = {tu_random(2, SHAPE(3, 4), -1, 1, 230)};   /* distinct values */
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_topk_rows, 1, in);
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_bottomk_cols, 1, in);
    ag_tensor_free(in[0]);
}
END_TEST

/* ------------------------------------------------------------ errors --- */

START_TEST(test_search_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *e = ag_zeros(NULL, AG_F64, 2, SHAPE(2, 0));
    int64_t out[6];
    assert_status_error(t, ag_argmax(t, x, 0, 0, out, 2, NULL, NULL), AG_ERR_ARG,
                        "ag_argmax: out has room for 2 indices, the result [3] needs 3", "");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_argmin(t, x, 1, 1, NULL, 6, NULL, NULL), AG_ERR_ARG,
                        "ag_argmin: out is NULL", "[2,1]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_argmax(t, x, 2, 0, out, 6, NULL, NULL), AG_ERR_AXIS,
                        "ag_argmax: axis 2", "[2,3]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_argmax(t, e, 1, 0, out, 6, NULL, NULL), AG_ERR_SHAPE,
                        "ag_argmax: x is [2,0]", "no elements");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_argmin(t, NULL, 0, 0, out, 6, NULL, NULL), AG_ERR_ARG,
                        "ag_argmin", "x is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_topk(t, x, 4, 1, 1, 1, out, 6), AG_ERR_ARG,
                    "ag_topk: k is 4, not in [0, 3]", "[2,3]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_topk(t, x, -1, 1, 1, 1, out, 6), AG_ERR_ARG, "ag_topk: k is -1", "");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_topk(t, x, 2, AG_ALL, 1, 1, out, 6), AG_ERR_AXIS, "ag_topk",
                    "not AG_ALL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_topk(t, x, 2, 1, 1, 1, out, 3), AG_ERR_ARG,
                    "ag_topk: indices has room for 3 indices", "[2,2] needs 4");
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_argmax(NULL, x, 0, 0, out, 6, NULL, NULL), AG_ERR_ARG);
    /* stale input, then the first error is kept */
    ag_tensor *old = ag_neg(t, x);
    ag_tape_reset(t);
    assert_status_error(t, ag_argmax(t, old, 0, 0, out, 6, NULL, NULL), AG_ERR_STATE,
                        "ag_argmax", "before the tape was reset");
    ck_assert_ptr_null(ag_topk(t, x, 1, 0, 1, 1, out, 6));
    ck_assert_int_eq(ag_argmin(t, x, 0, 0, out, 6, NULL, NULL), AG_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_argmax: x was made before"));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(e);
}
END_TEST

Suite *suite_search(void)
{
    Suite *s = suite_create("search");
    TU_ADD(s, test_argmax_argmin_match_a_naive_loop);
    TU_ADD(s, test_argmax_nan_and_ties_match_pytorch);
    TU_ADD(s, test_topk_matches_a_naive_loop);
    TU_ADD(s, test_topk_matches_pytorch);
    TU_ADD(s, test_topk_indices_gather_and_edge_cases);
    TU_ADD(s, test_topk_grads);
    TU_ADD(s, test_search_errors);
    return s;
}
