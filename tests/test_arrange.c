/*
** test_arrange.c: stack, split, chunk, flip, roll, tril and triu. Forward
** values by hand or against a naive loop in this file, in f64 and f32;
** PyTorch's numbers for the subtle cases (chunk sizes, roll with negative
** shifts, tril/triu offsets), pasted from torch 1.13 with the script lines
** quoted beside them; gradcheck and gradgradcheck in f64 (each op alone,
** and squared so the second derivative is not zero); error paths.
*/
#include "test_util.h"

#include <stdint.h>

/* 0, 1, 2, ...: the flat position. */
static const double IOTA0[24] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

/* An ag_status call that failed: the status returned, and the tape's
   status and message. */
#define assert_status_error(t, call, status, part1, part2)                    \
    do {                                                                      \
        ag_status s_ = (call);                                                \
        ck_assert_msg(s_ == (status), "returned %s, expected %s: %s",         \
                      ag_status_name(s_), ag_status_name(status),             \
                      ag_tape_errmsg(t));                                     \
        tu_assert_error(t, (void *)NULL, status, part1, part2);               \
    } while (0)

/* -------------------------------------------------------------- stack --- */

START_TEST(test_stack_forward_every_axis)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *xs[3];
    for (int i = 0; i < 3; i++) xs[i] = tu_tensor(AG_F64, 2, SHAPE(2, 2), IOTA0 + 4 * i);
    /* y[.., i, ..] = xs[i]: checked against the inputs element by element */
    for (int axis = -3; axis <= 2; axis++) {
        ag_tensor *y = ag_stack(t, 3, xs, axis);
        int a = axis < 0 ? axis + 3 : axis;
        int64_t shape[3] = {2, 2, 2};
        shape[a] = 3;
        tu_assert_shape(y, 3, shape);
        for (int64_t p = 0; p < 12; p++) {
            int64_t c[3] = {p / (shape[1] * shape[2]), p / shape[2] % shape[1], p % shape[2]};
            int64_t src = 0;
            for (int d = 0; d < 3; d++)
                if (d != a) src = src * 2 + c[d];
            ck_assert_double_eq(ag_tensor_get(y, p), ag_tensor_get(xs[c[a]], src));
        }
    }
    ag_tensor *f[2] = {tu_tensor(AG_F32, 1, SHAPE(2), VALS(0.5, 1.5)),
                       tu_tensor(AG_F32, 1, SHAPE(2), VALS(2.5, 3.5))};
    ag_tensor *y = ag_stack(t, 2, f, 1);
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_shape(y, 2, SHAPE(2, 2));
    tu_assert_values(y, VALS(0.5, 2.5, 1.5, 3.5), 4, 0);
    ag_tensor *s = tu_tensor(AG_F64, 0, NULL, VALS(7));
    ag_tensor *ss[2] = {s, s};
    tu_assert_shape(ag_stack(t, 2, ss, 0), 1, SHAPE(2));       /* scalars to [2] */
    tu_assert_values(ag_stack(t, 2, ss, -1), VALS(7, 7), 2, 0);
    ag_tape_free(t);
    for (int i = 0; i < 3; i++) ag_tensor_free(xs[i]);
    ag_tensor_free(f[0]);
    ag_tensor_free(f[1]);
    ag_tensor_free(s);
}
END_TEST

static ag_tensor *fn_stack(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_stack(t, 3, in, 1);
}

START_TEST(test_stack_grads)
{
    ag_tensor *in[3];
    for (int i = 0; i < 3; i++) in[i] = tu_random(2, SHAPE(2, 3), -1, 1, 100 + (uint64_t)i);
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_stack, 3, in);
    for (int i = 0; i < 3; i++) ag_tensor_free(in[i]);
}
END_TEST

/* ------------------------------------------------------ split, chunk --- */

START_TEST(test_split_forward)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(5, 2), IOTA0);
    ag_tensor *out[3];
    ck_assert_int_eq(ag_split(t, x, 3, (const int64_t[]){2, 0, 3}, 0, out), AG_OK);
    tu_assert_shape(out[0], 2, SHAPE(2, 2));
    tu_assert_values(out[0], VALS(0, 1, 2, 3), 4, 0);
    tu_assert_shape(out[1], 2, SHAPE(0, 2));
    tu_assert_shape(out[2], 2, SHAPE(3, 2));
    tu_assert_values(out[2], VALS(4, 5, 6, 7, 8, 9), 6, 0);
    ag_tensor *f = tu_tensor(AG_F32, 2, SHAPE(2, 3), IOTA0);
    ck_assert_int_eq(ag_split(t, f, 2, (const int64_t[]){1, 2}, -1, out), AG_OK);
    ck_assert_int_eq(ag_tensor_dtype(out[1]), AG_F32);
    tu_assert_values(out[0], VALS(0, 3), 2, 0);
    tu_assert_values(out[1], VALS(1, 2, 4, 5), 4, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(f);
}
END_TEST

/* torch 1.13:
     [[c.shape[0] for c in torch.zeros(d).chunk(n)] for d,n in
      [(5,3),(6,4),(17,5),(2,4),(0,3),(7,7),(7,1)]]
   -> [[2,2,1], [2,2,2], [4,4,4,4,1], [1,1], [0,0,0], [1]*7, [7]] */
START_TEST(test_chunk_sizes_match_pytorch)
{
    static const struct { int64_t dim; int chunks; int count; int64_t sizes[7]; } cases[] = {
        {5, 3, 3, {2, 2, 1}},         {6, 4, 3, {2, 2, 2}}, {17, 5, 5, {4, 4, 4, 4, 1}},
        {2, 4, 2, {1, 1}},            {0, 3, 3, {0, 0, 0}}, {7, 7, 7, {1, 1, 1, 1, 1, 1, 1}},
        {7, 1, 1, {7}},
    };
    ag_tape *t = ag_tape_new();
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ag_tensor *x = ag_arange(t, AG_F64, 0, (double)cases[c].dim, 1);
        ag_tensor *out[8];
        int n = -1;
        ck_assert_int_eq(ag_chunk(t, x, cases[c].chunks, 0, out, &n), AG_OK);
        ck_assert_int_eq(n, cases[c].count);
        int64_t off = 0;
        for (int i = 0; i < n; i++) {
            tu_assert_shape(out[i], 1, &cases[c].sizes[i]);
            for (int64_t j = 0; j < cases[c].sizes[i]; j++)
                ck_assert_double_eq(ag_tensor_get(out[i], j), (double)(off + j));
            off += cases[c].sizes[i];
        }
        for (int i = n; i < cases[c].chunks; i++) ck_assert_ptr_null(out[i]);
    }
    /* along a middle axis, f32 */
    ag_tensor *f = tu_tensor(AG_F32, 3, SHAPE(1, 3, 2), IOTA0);
    ag_tensor *out[2];
    ck_assert_int_eq(ag_chunk(t, f, 2, 1, out, NULL), AG_OK);
    tu_assert_shape(out[0], 3, SHAPE(1, 2, 2));
    tu_assert_values(out[0], VALS(0, 1, 2, 3), 4, 0);
    tu_assert_values(out[1], VALS(4, 5), 2, 0);
    ag_tape_free(t);
    ag_tensor_free(f);
}
END_TEST

/* The pieces combined so every one reaches the output, non-linearly. */
static ag_tensor *fn_split(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *p[3];
    (void)ctx;
    if (ag_split(t, in[0], 3, (const int64_t[]){2, 1, 2}, 0, p) != AG_OK) return NULL;
    return ag_add(t, ag_mul(t, p[0], p[2]), p[1]);          /* [2,3] * [2,3] + [1,3] */
}

static ag_tensor *fn_chunk(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *p[4];
    int n;
    (void)ctx;
    if (ag_chunk(t, in[0], 4, 1, p, &n) != AG_OK || n != 3) return NULL;  /* 2,2,1 of 5 */
    return ag_mul(t, ag_sub(t, p[0], p[1]), p[2]);
}

START_TEST(test_split_and_chunk_grads)
{
    ag_tensor *a[1] = {tu_random(2, SHAPE(5, 3), -1, 1, 110)};
    tu_assert_gradchecks(fn_split, NULL, 1, a);
    ag_tensor *b[1] = {tu_random(2, SHAPE(2, 5), -1, 1, 111)};
    tu_assert_gradchecks(fn_chunk, NULL, 1, b);
    ag_tensor_free(a[0]);
    ag_tensor_free(b[0]);
}
END_TEST

/* -------------------------------------------------------------- flip --- */

START_TEST(test_flip_forward)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 3, SHAPE(2, 3, 4), IOTA0);
    /* every subset of the axes, against y[i,j,k] = x[i',j',k'] */
    for (int mask = 0; mask < 8; mask++) {
        int axes[3], n = 0;
        for (int d = 0; d < 3; d++)
            if (mask >> d & 1) axes[n++] = d - (mask == 5 ? 3 : 0);   /* some negative */
        ag_tensor *y = ag_flip(t, x, n, axes);
        tu_assert_shape(y, 3, SHAPE(2, 3, 4));
        for (int64_t p = 0; p < 24; p++) {
            int64_t i = p / 12, j = p / 4 % 3, k = p % 4;
            if (mask & 1) i = 1 - i;
            if (mask & 2) j = 2 - j;
            if (mask & 4) k = 3 - k;
            ck_assert_double_eq(ag_tensor_get(y, p), (double)(i * 12 + j * 4 + k));
        }
    }
    ag_tensor *f = tu_tensor(AG_F32, 2, SHAPE(2, 2), VALS(0.5, 1.5, 2.5, 3.5));
    ag_tensor *y = ag_flip(t, f, 1, (const int[]){-1});
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_values(y, VALS(1.5, 0.5, 3.5, 2.5), 4, 0);
    ag_tensor *s = tu_tensor(AG_F64, 0, NULL, VALS(4));
    tu_assert_values(ag_flip(t, s, 1, (const int[]){0}), VALS(4), 1, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(f);
    ag_tensor_free(s);
}
END_TEST

static ag_tensor *fn_flip(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_flip(t, in[0], 2, (const int[]){0, -1});
}

START_TEST(test_flip_grads)
{
    ag_tensor *in[1] = {tu_random(3, SHAPE(2, 2, 3), -1, 1, 120)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_flip, 1, in);
    ag_tensor_free(in[0]);
}
END_TEST

/* -------------------------------------------------------------- roll --- */

/* torch 1.13, y = torch.arange(6.).reshape(2,3), z = torch.arange(24.).reshape(2,3,4):
     torch.roll(y, -4)               -> [4, 5, 0, 1, 2, 3]
     torch.roll(y, (-1, 5), (0, 1))  -> [4, 5, 3, 1, 2, 0]
     torch.roll(y, (-7,), (1,))      -> [1, 2, 0, 4, 5, 3]
     torch.roll(z, (1, -2), (-1, 1)) -> [11, 8, 9, 10, 3, 0, 1, 2, 7, 4, 5, 6,
                                         23, 20, 21, 22, 15, 12, 13, 14, 19, 16, 17, 18] */
START_TEST(test_roll_matches_pytorch)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *y = tu_tensor(AG_F64, 2, SHAPE(2, 3), IOTA0);
    ag_tensor *z = tu_tensor(AG_F32, 3, SHAPE(2, 3, 4), IOTA0);
    ag_tensor *r = ag_roll(t, y, 1, (const int64_t[]){-4}, NULL);
    tu_assert_shape(r, 2, SHAPE(2, 3));
    tu_assert_values(r, VALS(4, 5, 0, 1, 2, 3), 6, 0);
    r = ag_roll(t, y, 2, (const int64_t[]){-1, 5}, (const int[]){0, 1});
    tu_assert_values(r, VALS(4, 5, 3, 1, 2, 0), 6, 0);
    r = ag_roll(t, y, 1, (const int64_t[]){-7}, (const int[]){1});
    tu_assert_values(r, VALS(1, 2, 0, 4, 5, 3), 6, 0);
    r = ag_roll(t, z, 2, (const int64_t[]){1, -2}, (const int[]){-1, 1});
    ck_assert_int_eq(ag_tensor_dtype(r), AG_F32);
    tu_assert_values(r, VALS(11, 8, 9, 10, 3, 0, 1, 2, 7, 4, 5, 6, 23, 20, 21, 22, 15, 12, 13,
                             14, 19, 16, 17, 18), 24, 0);
    /* an axis given twice gets the sum of its shifts; huge shifts wrap */
    r = ag_roll(t, y, 2, (const int64_t[]){1, 1}, (const int[]){1, 1});
    tu_assert_values(r, VALS(1, 2, 0, 4, 5, 3), 6, 0);
    r = ag_roll(t, y, 1, (const int64_t[]){INT64_MIN}, NULL);      /* -2^63 mod 6 = 4 */
    tu_assert_values(r, VALS(2, 3, 4, 5, 0, 1), 6, 0);
    ag_tape_free(t);
    ag_tensor_free(y);
    ag_tensor_free(z);
}
END_TEST

/* The same, against y[(i + s) mod d] = x[i] per axis, for random shifts. */
START_TEST(test_roll_matches_a_naive_loop)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 3, SHAPE(2, 3, 4), IOTA0);
    const int64_t shifts[4][3] = {{0, 0, 0}, {1, -1, 5}, {-3, 7, -9}, {-100, 101, 33}};
    for (int c = 0; c < 4; c++) {
        ag_tensor *y = ag_roll(t, x, 3, shifts[c], (const int[]){0, 1, 2});
        for (int64_t p = 0; p < 24; p++) {
            int64_t i = p / 12, j = p / 4 % 3, k = p % 4;
            int64_t ti = ((i + shifts[c][0]) % 2 + 2) % 2, tj = ((j + shifts[c][1]) % 3 + 3) % 3;
            int64_t tk = ((k + shifts[c][2]) % 4 + 4) % 4;
            ck_assert_double_eq(ag_tensor_get(y, ti * 12 + tj * 4 + tk), (double)p);
        }
    }
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

static ag_tensor *fn_roll(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_roll(t, in[0], 2, (const int64_t[]){-1, 2}, (const int[]){0, 1});
}

static ag_tensor *fn_roll_flat(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_roll(t, in[0], 1, (const int64_t[]){-4}, NULL);
}

START_TEST(test_roll_grads)
{
    ag_tensor *in[1] = {tu_random(2, SHAPE(2, 3), -1, 1, 130)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_roll, 1, in);
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_roll_flat, 1, in);
    ag_tensor_free(in[0]);
}
END_TEST

/* -------------------------------------------------------- tril, triu --- */

/* torch 1.13, m = torch.arange(1.,13.).reshape(3,4):
     m.tril(-1) -> [0,0,0,0, 5,0,0,0, 9,10,0,0]
     m.tril(0)  -> [1,0,0,0, 5,6,0,0, 9,10,11,0]
     m.tril(2)  -> [1,2,3,0, 5,6,7,8, 9,10,11,12]
     m.triu(-2) -> [1,2,3,4, 5,6,7,8, 9,10,11,12]
     m.triu(1)  -> [0,2,3,4, 0,0,7,8, 0,0,0,12]
   b = torch.arange(1.,25.).reshape(2,3,4):
     b.tril(-1) -> [0,0,0,0, 5,0,0,0, 9,10,0,0, 0,0,0,0, 17,0,0,0, 21,22,0,0]
     b.triu(1)  -> [0,2,3,4, 0,0,7,8, 0,0,0,12, 0,14,15,16, 0,0,19,20, 0,0,0,24] */
START_TEST(test_tril_triu_match_pytorch)
{
    static const double IOTA1[24] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                                     13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
    ag_tape *t = ag_tape_new();
    ag_tensor *m = tu_tensor(AG_F64, 2, SHAPE(3, 4), IOTA1);
    ag_tensor *b = tu_tensor(AG_F32, 3, SHAPE(2, 3, 4), IOTA1);
    tu_assert_values(ag_tril(t, m, -1), VALS(0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0), 12, 0);
    tu_assert_values(ag_tril(t, m, 0), VALS(1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0), 12, 0);
    tu_assert_values(ag_tril(t, m, 2), VALS(1, 2, 3, 0, 5, 6, 7, 8, 9, 10, 11, 12), 12, 0);
    tu_assert_values(ag_triu(t, m, -2), IOTA1, 12, 0);
    tu_assert_values(ag_triu(t, m, 1), VALS(0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12), 12, 0);
    ag_tensor *y = ag_tril(t, b, -1);
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_shape(y, 3, SHAPE(2, 3, 4));
    tu_assert_values(y, VALS(0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 21,
                             22, 0, 0), 24, 0);
    tu_assert_values(ag_triu(t, b, 1), VALS(0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12, 0, 14, 15, 16,
                                            0, 0, 19, 20, 0, 0, 0, 24), 24, 0);
    ag_tape_free(t);
    ag_tensor_free(m);
    ag_tensor_free(b);
}
END_TEST

/* Every offset from far below to far above (the extremes of int64 too),
   against the rule j - i <= k (tril) or >= k (triu), batched. */
START_TEST(test_tril_triu_match_a_naive_loop)
{
    static const int64_t ks[] = {INT64_MIN, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, INT64_MAX};
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 3, SHAPE(2, 4, 3), IOTA0);
    for (size_t c = 0; c < sizeof ks / sizeof ks[0]; c++) {
        ag_tensor *lo = ag_tril(t, x, ks[c]), *up = ag_triu(t, x, ks[c]);
        for (int64_t p = 0; p < 24; p++) {
            int64_t i = p / 3 % 4, j = p % 3, k = ks[c];
            ck_assert_double_eq(ag_tensor_get(lo, p), j - i <= k ? (double)p : 0);
            ck_assert_double_eq(ag_tensor_get(up, p), j - i >= k ? (double)p : 0);
        }
    }
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

static ag_tensor *fn_tril(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_tril(t, in[0], -1);
}

static ag_tensor *fn_triu(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_triu(t, in[0], 1);
}

START_TEST(test_tril_triu_grads)
{
    ag_tensor *in[1] = {tu_random(3, SHAPE(2, 3, 3), -1, 1, 140)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_tril, 1, in);
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_triu, 1, in);
    ag_tensor_free(in[0]);
}
END_TEST

/* ------------------------------------------------------------ errors --- */

START_TEST(test_stack_split_chunk_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 2, SHAPE(2, 3), IOTA0);
    ag_tensor *b = tu_tensor(AG_F64, 2, SHAPE(3, 2), IOTA0);
    ag_tensor *f = tu_tensor(AG_F32, 2, SHAPE(2, 3), IOTA0);
    ag_tensor *s = tu_tensor(AG_F64, 0, NULL, VALS(1));
    ag_tensor *out[4] = {a, a, a, a};
    tu_assert_error(t, ag_stack(t, 2, (ag_tensor *[]){a, b}, 0), AG_ERR_SHAPE,
                    "ag_stack: xs[0] is [2,3], xs[1] is [3,2]", "one shape");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_stack(t, 2, (ag_tensor *[]){a, f}, 0), AG_ERR_DTYPE, "ag_stack",
                    "xs[1] is f32");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_stack(t, 2, (ag_tensor *[]){a, NULL}, 0), AG_ERR_ARG, "ag_stack",
                    "xs[1] is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_stack(t, 0, (ag_tensor *[]){a}, 0), AG_ERR_ARG, "ag_stack",
                    "n is 0");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_stack(t, 1, (ag_tensor *[]){a}, 3), AG_ERR_AXIS, "ag_stack: axis 3",
                    "allowed -3..2");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_split(t, a, 2, (const int64_t[]){1, 1}, 1, out), AG_ERR_SHAPE,
                        "ag_split: sizes [1,1] add up to 2, not 3", "axis 1 of x (shape [2,3])");
    ck_assert_ptr_null(out[0]);
    ck_assert_ptr_null(out[1]);
    ag_tape_clear_error(t);
    assert_status_error(t, ag_split(t, a, 2, (const int64_t[]){4, -1}, 1, out), AG_ERR_ARG,
                        "ag_split: sizes[1] is -1, negative", "[2,3]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_split(t, a, 2, (const int64_t[]){3, 3}, 1, out), AG_ERR_SHAPE,
                        "ag_split: sizes [3,3] add up to more than 3", "[2,3]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_split(t, a, 1, (const int64_t[]){2}, 0, NULL), AG_ERR_ARG,
                        "ag_split", "out is NULL");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_split(t, s, 1, (const int64_t[]){1}, 0, out), AG_ERR_SHAPE,
                        "ag_split", "0-d");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_chunk(t, a, 0, 0, out, NULL), AG_ERR_ARG,
                        "ag_chunk: chunks is 0, must be at least 1", "[2,3]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_chunk(t, a, 2, -3, out, NULL), AG_ERR_AXIS, "ag_chunk",
                        "axis -3");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_chunk(t, NULL, 2, 0, out, NULL), AG_ERR_ARG, "ag_chunk",
                        "x is NULL");
    ck_assert_int_eq(ag_split(NULL, a, 1, (const int64_t[]){2}, 0, out), AG_ERR_ARG);
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
    ag_tensor_free(f);
    ag_tensor_free(s);
}
END_TEST

START_TEST(test_flip_roll_tri_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 2, SHAPE(2, 3), IOTA0);
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(3), IOTA0);
    tu_assert_error(t, ag_flip(t, a, 2, (const int[]){1, -1}), AG_ERR_AXIS,
                    "ag_flip: axis -1 appears twice", "[2,3]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_flip(t, a, 1, (const int[]){2}), AG_ERR_AXIS, "ag_flip", "axis 2");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_flip(t, a, 1, NULL), AG_ERR_ARG, "ag_flip", "axes is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_roll(t, a, 2, (const int64_t[]){1, 2}, NULL), AG_ERR_ARG,
                    "ag_roll: 2 shifts but axes is NULL", "[2,3]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_roll(t, a, 0, (const int64_t[]){1}, (const int[]){0}), AG_ERR_ARG,
                    "ag_roll", "at least one shift");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_roll(t, a, 1, (const int64_t[]){1}, (const int[]){-3}), AG_ERR_AXIS,
                    "ag_roll", "axis -3");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_tril(t, v, 0), AG_ERR_SHAPE, "ag_tril: x is [3]",
                    "at least 2 dimensions");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_triu(t, NULL, 0), AG_ERR_ARG, "ag_triu", "x is NULL");
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(v);
}
END_TEST

/* A tensor from before a reset is refused; the first error is kept. */
START_TEST(test_arrange_stale_input_and_sticky_error)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 2, SHAPE(2, 3), IOTA0);
    ag_tensor *old = ag_flip(t, a, 1, (const int[]){0});
    ag_tape_reset(t);
    tu_assert_error(t, ag_roll(t, old, 1, (const int64_t[]){1}, NULL), AG_ERR_STATE, "ag_roll",
                    "before the tape was reset");
    ck_assert_ptr_null(ag_tril(t, a, 0));
    ck_assert_ptr_null(ag_stack(t, 1, &a, 0));
    ag_tensor *out[2] = {a, a};
    ck_assert_int_eq(ag_chunk(t, a, 2, 0, out, NULL), AG_ERR_STATE);
    ck_assert_ptr_null(out[0]);
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_roll: x was made before"));
    ag_tape_free(t);
    ag_tensor_free(a);
}
END_TEST

Suite *suite_arrange(void)
{
    Suite *s = suite_create("arrange");
    TU_ADD(s, test_stack_forward_every_axis);
    TU_ADD(s, test_stack_grads);
    TU_ADD(s, test_split_forward);
    TU_ADD(s, test_chunk_sizes_match_pytorch);
    TU_ADD(s, test_split_and_chunk_grads);
    TU_ADD(s, test_flip_forward);
    TU_ADD(s, test_flip_grads);
    TU_ADD(s, test_roll_matches_pytorch);
    TU_ADD(s, test_roll_matches_a_naive_loop);
    TU_ADD(s, test_roll_grads);
    TU_ADD(s, test_tril_triu_match_pytorch);
    TU_ADD(s, test_tril_triu_match_a_naive_loop);
    TU_ADD(s, test_tril_triu_grads);
    TU_ADD(s, test_stack_split_chunk_errors);
    TU_ADD(s, test_flip_roll_tri_errors);
    TU_ADD(s, test_arrange_stale_input_and_sticky_error);
    return s;
}
