/*
** test_shape.c: reshape, flatten, squeeze, unsqueeze, concat, slice (and
** its private backward op), expand and sum_to: hand-computed values in f64
** and f32, gradcheck and gradgradcheck in f64 (each op alone, and squared
** so the second derivative is not zero), error paths.
*/
#include "test_util.h"


/* 1, 2, ..., 24: the flat position plus one. */
static const double IOTA[24] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                                13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};

/* ------------------------------------------------------------ reshape --- */

static ag_tensor *fn_reshape(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_reshape(t, in[0], 3, SHAPE(3, -1, 2));
}

START_TEST(test_reshape_forward_and_grads)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 6), IOTA);
    ag_tensor *y = ag_reshape(t, x, 3, SHAPE(3, -1, 2));
    tu_assert_shape(y, 3, SHAPE(3, 2, 2));
    tu_assert_values(y, IOTA, 12, 0);
    y = ag_reshape(t, x, 2, SHAPE(4, 3));
    tu_assert_shape(y, 2, SHAPE(4, 3));
    tu_assert_values(y, IOTA, 12, 0);
    y = ag_reshape(t, x, 1, SHAPE(-1));
    tu_assert_shape(y, 1, SHAPE(12));
    ag_tensor *one = tu_tensor(AG_F64, 2, SHAPE(1, 1), VALS(7));
    y = ag_reshape(t, one, 0, NULL);                  /* to a scalar */
    ck_assert_int_eq(ag_tensor_ndim(y), 0);
    tu_assert_values(y, VALS(7), 1, 0);
    ag_tensor *in[1] = {tu_random(2, SHAPE(2, 6), -1, 1, 1)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_reshape, 1, in);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(one);
    ag_tensor_free(in[0]);
}
END_TEST

START_TEST(test_reshape_f32)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F32, 1, SHAPE(6), VALS(0.5, 1.5, 2.5, 3.5, 4.5, 5.5));
    ag_tensor *y = ag_reshape(t, x, 2, SHAPE(-1, 3));
    tu_assert_shape(y, 2, SHAPE(2, 3));
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_values(y, VALS(0.5, 1.5, 2.5, 3.5, 4.5, 5.5), 6, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_reshape_rejects_bad_targets)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), IOTA);
    tu_assert_error(t, ag_reshape(t, x, 2, SHAPE(4, 2)), AG_ERR_SHAPE, "ag_reshape", "[2,3]");
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "[4,2]"));
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_reshape(t, x, 2, SHAPE(-1, -1)), AG_ERR_SHAPE, "more than one -1",
                    "[-1,-1]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_reshape(t, x, 2, SHAPE(-1, 4)), AG_ERR_SHAPE, "ag_reshape: cannot "
                    "infer", "[2,3]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_reshape(t, x, 2, SHAPE(-2, -3)), AG_ERR_SHAPE, "negative", "[-2,-3]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_reshape(t, x, 2, NULL), AG_ERR_SHAPE, "ag_reshape", "NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_reshape(t, NULL, 1, SHAPE(6)), AG_ERR_ARG, "ag_reshape", "x is NULL");
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* ------------------------------------------------------------ flatten --- */

static ag_tensor *fn_flatten(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_flatten(t, in[0], 1, -1);
}

START_TEST(test_flatten_forward_and_grads)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 3, SHAPE(2, 3, 4), IOTA);
    ag_tensor *y = ag_flatten(t, x, 1, 2);
    tu_assert_shape(y, 2, SHAPE(2, 12));
    tu_assert_values(y, IOTA, 24, 0);
    tu_assert_shape(ag_flatten(t, x, 0, -1), 1, SHAPE(24));
    tu_assert_shape(ag_flatten(t, x, 0, 1), 2, SHAPE(6, 4));
    tu_assert_shape(ag_flatten(t, x, 1, 1), 3, SHAPE(2, 3, 4));
    ag_tensor *s = tu_tensor(AG_F32, 0, NULL, VALS(3));
    y = ag_flatten(t, s, 0, -1);                      /* a scalar becomes [1] */
    tu_assert_shape(y, 1, SHAPE(1));
    tu_assert_values(y, VALS(3), 1, 0);
    tu_assert_error(t, ag_flatten(t, x, 2, 1), AG_ERR_AXIS, "ag_flatten", "[2,3,4]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_flatten(t, x, 0, 3), AG_ERR_AXIS, "ag_flatten", "axis 3");
    ag_tensor *in[1] = {tu_random(3, SHAPE(2, 2, 3), -1, 1, 2)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_flatten, 1, in);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(s);
    ag_tensor_free(in[0]);
}
END_TEST

/* ------------------------------------------------- squeeze / unsqueeze --- */

static ag_tensor *fn_squeeze(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_squeeze(t, in[0], AG_ALL);
}

static ag_tensor *fn_unsqueeze(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_unsqueeze(t, in[0], 1);
}

START_TEST(test_squeeze_forward_and_grads)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 4, SHAPE(2, 1, 3, 1), IOTA);
    ag_tensor *y = ag_squeeze(t, x, 1);
    tu_assert_shape(y, 3, SHAPE(2, 3, 1));
    tu_assert_values(y, IOTA, 6, 0);
    tu_assert_shape(ag_squeeze(t, x, -1), 3, SHAPE(2, 1, 3));
    tu_assert_shape(ag_squeeze(t, x, AG_ALL), 2, SHAPE(2, 3));
    ag_tensor *ones = tu_tensor(AG_F32, 2, SHAPE(1, 1), VALS(4));
    y = ag_squeeze(t, ones, AG_ALL);
    ck_assert_int_eq(ag_tensor_ndim(y), 0);
    tu_assert_values(y, VALS(4), 1, 0);
    tu_assert_error(t, ag_squeeze(t, x, 2), AG_ERR_SHAPE, "ag_squeeze: axis 2 has size 3",
                    "[2,1,3,1]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_squeeze(t, x, 4), AG_ERR_AXIS, "ag_squeeze", "axis 4");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_squeeze(t, NULL, 0), AG_ERR_ARG, "ag_squeeze", "x is NULL");
    ag_tensor *in[1] = {tu_random(3, SHAPE(1, 3, 1), -1, 1, 3)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_squeeze, 1, in);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(ones);
    ag_tensor_free(in[0]);
}
END_TEST

START_TEST(test_unsqueeze_forward_and_grads)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), IOTA);
    ag_tensor *y = ag_unsqueeze(t, x, 1);
    tu_assert_shape(y, 3, SHAPE(2, 1, 3));
    tu_assert_values(y, IOTA, 6, 0);
    tu_assert_shape(ag_unsqueeze(t, x, 0), 3, SHAPE(1, 2, 3));
    tu_assert_shape(ag_unsqueeze(t, x, 2), 3, SHAPE(2, 3, 1));
    tu_assert_shape(ag_unsqueeze(t, x, -1), 3, SHAPE(2, 3, 1));
    tu_assert_shape(ag_unsqueeze(t, x, -3), 3, SHAPE(1, 2, 3));
    ag_tensor *s = tu_tensor(AG_F32, 0, NULL, VALS(2.5));
    y = ag_unsqueeze(t, s, 0);
    tu_assert_shape(y, 1, SHAPE(1));
    tu_assert_values(y, VALS(2.5), 1, 0);
    tu_assert_error(t, ag_unsqueeze(t, x, 3), AG_ERR_AXIS, "ag_unsqueeze: axis 3", "[2,3]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_unsqueeze(t, x, -4), AG_ERR_AXIS, "ag_unsqueeze", "-3..2");
    ag_tape_clear_error(t);
    ag_tensor *big = tu_tensor(AG_F64, 8, SHAPE(1, 1, 1, 1, 1, 1, 1, 1), VALS(1));
    tu_assert_error(t, ag_unsqueeze(t, big, 0), AG_ERR_SHAPE, "ag_unsqueeze",
                    "[1,1,1,1,1,1,1,1]");
    ag_tensor *in[1] = {tu_random(2, SHAPE(2, 3), -1, 1, 4)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_unsqueeze, 1, in);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(s);
    ag_tensor_free(big);
    ag_tensor_free(in[0]);
}
END_TEST

/* ------------------------------------------------------------- concat --- */

static ag_tensor *fn_concat3(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_concat(t, 3, in, -1);
}

static ag_tensor *fn_concat2_axis0(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_concat(t, 2, in, 0);
}

START_TEST(test_concat_forward)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 2, SHAPE(2, 1), VALS(1, 2));
    ag_tensor *b = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(3, 4, 5, 6));
    ag_tensor *c = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(7, 8, 9, 10, 11, 12));
    ag_tensor *xs[3] = {a, b, c};
    ag_tensor *y = ag_concat(t, 3, xs, 1);
    tu_assert_shape(y, 2, SHAPE(2, 6));
    tu_assert_values(y, VALS(1, 3, 4, 7, 8, 9, 2, 5, 6, 10, 11, 12), 12, 0);
    ag_tensor *rows[2] = {b, c};                       /* [2,2] and [2,3]: no */
    ck_assert_ptr_null(ag_concat(t, 2, rows, 0));
    ag_tape_clear_error(t);
    ag_tensor *p = tu_tensor(AG_F32, 2, SHAPE(1, 2), VALS(1.5, 2.5));
    ag_tensor *q = tu_tensor(AG_F32, 2, SHAPE(2, 2), VALS(3.5, 4.5, 5.5, 6.5));
    ag_tensor *pq[2] = {p, q};
    y = ag_concat(t, 2, pq, 0);
    tu_assert_shape(y, 2, SHAPE(3, 2));
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_values(y, VALS(1.5, 2.5, 3.5, 4.5, 5.5, 6.5), 6, 0);
    y = ag_concat(t, 1, pq, 1);                        /* one input: a copy */
    tu_assert_shape(y, 2, SHAPE(1, 2));
    tu_assert_values(y, VALS(1.5, 2.5), 2, 0);
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
    ag_tensor_free(c);
    ag_tensor_free(p);
    ag_tensor_free(q);
}
END_TEST

START_TEST(test_concat_grads)
{
    ag_tensor *in[3] = {tu_random(2, SHAPE(2, 1), -1, 1, 5), tu_random(2, SHAPE(2, 2), -1, 1, 6),
                        tu_random(2, SHAPE(2, 3), -1, 1, 7)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_concat3, 3, in);
    ag_tensor *rows[2] = {tu_random(2, SHAPE(1, 3), -1, 1, 8), in[2]};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_concat2_axis0, 2, rows);
    for (int i = 0; i < 3; i++) ag_tensor_free(in[i]);
    ag_tensor_free(rows[0]);
}
END_TEST

START_TEST(test_concat_rejects_bad_inputs)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *a = tu_tensor(AG_F64, 2, SHAPE(2, 3), IOTA);
    ag_tensor *b = tu_tensor(AG_F64, 2, SHAPE(2, 4), IOTA);
    ag_tensor *f = tu_tensor(AG_F32, 2, SHAPE(2, 3), IOTA);
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(6), IOTA);
    ag_tensor *ab[2] = {a, b}, *af[3] = {a, a, f}, *av[2] = {a, v}, *an[2] = {a, NULL};
    tu_assert_error(t, ag_concat(t, 2, ab, 0), AG_ERR_SHAPE, "ag_concat: xs[0] is [2,3]",
                    "xs[1] is [2,4]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_concat(t, 3, af, 0), AG_ERR_DTYPE, "ag_concat: dtypes differ",
                    "xs[2] is f32");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_concat(t, 2, av, 0), AG_ERR_SHAPE, "ag_concat", "xs[1] is [6]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_concat(t, 2, an, 0), AG_ERR_ARG, "ag_concat", "xs[1] is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_concat(t, 2, NULL, 0), AG_ERR_ARG, "ag_concat", "xs is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_concat(t, 0, ab, 0), AG_ERR_ARG, "ag_concat", "n is 0");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_concat(t, 2, ab, 2), AG_ERR_AXIS, "ag_concat", "axis 2");
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
    ag_tensor_free(f);
    ag_tensor_free(v);
}
END_TEST

/* -------------------------------------------------------------- slice --- */

static ag_tensor *fn_slice_step2(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_slice(t, in[0], 1, -4, 5, 2);            /* columns 1 and 3 */
}

static ag_tensor *fn_slice_rows(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_slice(t, in[0], 0, 1, 100, 1);           /* end clamped */
}

START_TEST(test_slice_forward)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(8), VALS(0, 1, 2, 3, 4, 5, 6, 7));
    tu_assert_values(ag_slice(t, v, 0, -6, 8, 2), VALS(2, 4, 6), 3, 0);
    tu_assert_values(ag_slice(t, v, 0, -100, 100, 3), VALS(0, 3, 6), 3, 0);
    tu_assert_values(ag_slice(t, v, -1, 1, -1, 1), VALS(1, 2, 3, 4, 5, 6), 6, 0);
    tu_assert_values(ag_slice(t, v, 0, 5, 8, 5), VALS(5), 1, 0);
    tu_assert_shape(ag_slice(t, v, 0, 5, 2, 1), 1, SHAPE(0));   /* empty */
    tu_assert_shape(ag_slice(t, v, 0, 9, 12, 1), 1, SHAPE(0));
    ag_tensor *x = tu_tensor(AG_F32, 2, SHAPE(3, 5), IOTA);
    ag_tensor *y = ag_slice(t, x, 1, -4, 5, 2);
    tu_assert_shape(y, 2, SHAPE(3, 2));
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_values(y, VALS(2, 4, 7, 9, 12, 14), 6, 0);
    y = ag_slice(t, x, 0, -1, 3, 1);
    tu_assert_shape(y, 2, SHAPE(1, 5));
    tu_assert_values(y, VALS(11, 12, 13, 14, 15), 5, 0);
    ag_tape_free(t);
    ag_tensor_free(v);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_slice_grads)
{
    ag_tensor *in[1] = {tu_random(2, SHAPE(3, 5), -1, 1, 9)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_slice_step2, 1, in);
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_slice_rows, 1, in);
    ag_tensor_free(in[0]);
}
END_TEST

/* The gradient of a slice is dy placed at the slice's positions, zeros
   elsewhere; and of an empty slice, all zeros. */
START_TEST(test_slice_gradient_values)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 5), IOTA);
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_slice(t, x, 1, -5, 4, 2);        /* columns 0 and 2 */
    ag_tensor *gy = ag_from_f64(t, AG_F64, 2, SHAPE(2, 2), VALS(1, 2, 3, 4));
    ag_tensor *gx = NULL;
    ck_assert_int_eq(ag_grad(t, 1, &y, &gy, 1, &x, &gx, 0), AG_OK);
    tu_assert_shape(gx, 2, SHAPE(2, 5));
    tu_assert_values(gx, VALS(1, 0, 2, 0, 0, 3, 0, 4, 0, 0), 10, 0);
    ag_tensor *e = ag_slice(t, x, 0, 1, 1, 1);
    tu_assert_shape(e, 2, SHAPE(0, 5));
    ag_tensor *ge = ag_zeros(t, AG_F64, 2, SHAPE(0, 5));
    ck_assert_int_eq(ag_grad(t, 1, &e, &ge, 1, &x, &gx, 0), AG_OK);
    tu_assert_values(gx, VALS(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 10, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_slice_rejects_bad_arguments)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(3, 5), IOTA);
    tu_assert_error(t, ag_slice(t, x, 1, 0, 5, 0), AG_ERR_ARG, "ag_slice: step is 0", "[3,5]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_slice(t, x, 0, 0, 5, -1), AG_ERR_ARG, "ag_slice: step is -1", "[3,5]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_slice(t, x, 2, 0, 1, 1), AG_ERR_AXIS, "ag_slice", "axis 2");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_slice(t, NULL, 0, 0, 1, 1), AG_ERR_ARG, "ag_slice", "x is NULL");
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* ---------------------------------------------------- expand / sum_to --- */

static ag_tensor *fn_expand(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_expand(t, in[0], 3, SHAPE(2, 3, 2));
}

static ag_tensor *fn_sum_to(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_sum_to(t, in[0], 2, SHAPE(3, 1));
}

START_TEST(test_expand_forward_and_grads)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(3, 1), VALS(1, 2, 3));
    ag_tensor *y = ag_expand(t, x, 3, SHAPE(2, 3, 2));
    tu_assert_shape(y, 3, SHAPE(2, 3, 2));
    tu_assert_values(y, VALS(1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3), 12, 0);
    ag_tensor *r = tu_tensor(AG_F32, 1, SHAPE(2), VALS(0.5, -1.5));
    y = ag_expand(t, r, 2, SHAPE(2, 2));
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_values(y, VALS(0.5, -1.5, 0.5, -1.5), 4, 0);
    tu_assert_error(t, ag_expand(t, x, 2, SHAPE(4, 2)), AG_ERR_SHAPE, "ag_expand: x is [3,1]",
                    "[4,2]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_expand(t, NULL, 2, SHAPE(4, 2)), AG_ERR_ARG, "ag_expand", "NULL");
    ag_tensor *in[1] = {tu_random(2, SHAPE(3, 1), -1, 1, 10)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_expand, 1, in);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(r);
    ag_tensor_free(in[0]);
}
END_TEST

START_TEST(test_sum_to_forward_and_grads)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 3, SHAPE(2, 3, 2), IOTA);
    ag_tensor *y = ag_sum_to(t, x, 2, SHAPE(3, 1));
    tu_assert_shape(y, 2, SHAPE(3, 1));
    /* (1+2+7+8), (3+4+9+10), (5+6+11+12) */
    tu_assert_values(y, VALS(18, 26, 34), 3, 0);
    y = ag_sum_to(t, x, 0, NULL);
    tu_assert_values(y, VALS(78), 1, 0);
    ag_tensor *f = tu_tensor(AG_F32, 2, SHAPE(2, 2), VALS(0.5, 1, 2, 4));
    y = ag_sum_to(t, f, 1, SHAPE(2));
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    tu_assert_values(y, VALS(2.5, 5), 2, 0);
    tu_assert_error(t, ag_sum_to(t, x, 1, SHAPE(3)), AG_ERR_SHAPE, "ag_sum_to: x is [2,3,2]",
                    "[3]");
    ag_tensor *in[1] = {tu_random(3, SHAPE(2, 3, 2), -1, 1, 11)};
    TU_ASSERT_GRADS_ALSO_SQUARED(fn_sum_to, 1, in);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(f);
    ag_tensor_free(in[0]);
}
END_TEST

/* ------------------------------------------------------ sticky errors --- */

START_TEST(test_shape_ops_keep_the_first_error)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), IOTA);
    ck_assert_ptr_null(ag_reshape(t, x, 1, SHAPE(5)));
    const char *first = "ag_reshape: x is [2,3] (6 elements), target [5] holds 5";
    ck_assert_str_eq(ag_tape_errmsg(t), first);
    ag_tensor *xs[1] = {x};
    ck_assert_ptr_null(ag_reshape(t, x, 1, SHAPE(6)));
    ck_assert_ptr_null(ag_flatten(t, x, 0, 1));
    ck_assert_ptr_null(ag_squeeze(t, x, AG_ALL));
    ck_assert_ptr_null(ag_unsqueeze(t, x, 0));
    ck_assert_ptr_null(ag_concat(t, 1, xs, 0));
    ck_assert_ptr_null(ag_slice(t, x, 0, 0, 1, 1));
    ck_assert_ptr_null(ag_expand(t, x, 2, SHAPE(2, 3)));
    ck_assert_int_eq(ag_tape_status(t), AG_ERR_SHAPE);
    ck_assert_str_eq(ag_tape_errmsg(t), first);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* Regression (#11): shapes an op derives from valid operands obey the one
   shape rule too: a target or a result with a zero dim next to huge ones
   is refused (a reshape or an expand of an empty tensor accepted them, and
   their element counts then overflowed), and so is a concatenated axis or
   a product whose size would overflow (computed before, as undefined
   behaviour, then refused by luck). */
START_TEST(test_derived_shapes_are_checked)
{
    const int64_t h = (int64_t)1 << 40;
    ag_tape *t = ag_tape_new();
    ag_tensor *empty = ag_zeros(t, AG_F32, 3, SHAPE(0, 1, 1));
    tu_assert_error(t, ag_reshape(t, empty, 3, SHAPE(0, h, h)), AG_ERR_SHAPE, "ag_reshape",
                    "[0,1099511627776,1099511627776]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_reshape(t, empty, 3, SHAPE(h, h, 0)), AG_ERR_SHAPE, "ag_reshape",
                    "[1099511627776,1099511627776,0]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_expand(t, empty, 3, SHAPE(0, h, h)), AG_ERR_SHAPE, "ag_expand",
                    "more than");
    ag_tape_clear_error(t);
    /* a [2^40, 0] @ [0, 2^40] product would be [2^40, 2^40] */
    ag_tensor *a = ag_zeros(t, AG_F64, 2, SHAPE(h, 0)), *b = ag_zeros(t, AG_F64, 2, SHAPE(0, h));
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    tu_assert_error(t, ag_matmul(t, a, b), AG_ERR_SHAPE, "ag_matmul",
                    "[1099511627776,1099511627776]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_mul(t, ag_reshape(t, a, 3, SHAPE(h, 0, 1)),
                              ag_reshape(t, b, 3, SHAPE(1, 0, h))),
                    AG_ERR_SHAPE, "ag_mul", "more than");
    ag_tape_clear_error(t);
    /* 17 tensors of [AG_NUMEL_MAX, 0]: the concatenated axis overflows int64 */
    ag_tensor *xs[17];
    for (int i = 0; i < 17; i++) xs[i] = ag_zeros(t, AG_F32, 2, SHAPE(AG_NUMEL_MAX, 0));
    tu_assert_error(t, ag_concat(t, 17, xs, 0), AG_ERR_SHAPE, "ag_concat: axis 0",
                    "more than");
    ag_tape_clear_error(t);
    /* empty results with a huge outer part are made at once, not by
       visiting 2^59 empty rows */
    ag_tensor *two = ag_concat(t, 2, xs, 1);                /* along the empty axis: fine */
    tu_assert_shape(two, 2, SHAPE(AG_NUMEL_MAX, 0));
    tu_assert_shape(ag_slice(t, two, 1, 0, 5, 1), 2, SHAPE(AG_NUMEL_MAX, 0));
    tu_assert_shape(ag_index_select(t, two, 1, NULL, 0), 2, SHAPE(AG_NUMEL_MAX, 0));
    ag_tensor *wide = ag_zeros(t, AG_F64, 3, SHAPE(h, 0, 1 << 18));
    tu_assert_shape(ag_softmax(t, wide, 1), 3, SHAPE(h, 0, 1 << 18));
    tu_assert_shape(ag_log_softmax(t, wide, 1), 3, SHAPE(h, 0, 1 << 18));
    tu_assert_shape(ag_sum(t, wide, 0, 0), 2, SHAPE(0, 1 << 18));
    /* a flatten of an accepted shape always fits */
    ag_tensor *f = ag_flatten(t, ag_zeros(t, AG_F32, 3, SHAPE(h, 0, 1 << 18)), 0, 2);
    tu_assert_shape(f, 1, SHAPE(0));
    ag_tape_free(t);
}
END_TEST

Suite *suite_shape(void)
{
    Suite *s = suite_create("shape");
    TU_ADD(s, test_reshape_forward_and_grads);
    TU_ADD(s, test_reshape_f32);
    TU_ADD(s, test_reshape_rejects_bad_targets);
    TU_ADD(s, test_flatten_forward_and_grads);
    TU_ADD(s, test_squeeze_forward_and_grads);
    TU_ADD(s, test_unsqueeze_forward_and_grads);
    TU_ADD(s, test_concat_forward);
    TU_ADD(s, test_concat_grads);
    TU_ADD(s, test_concat_rejects_bad_inputs);
    TU_ADD(s, test_slice_forward);
    TU_ADD(s, test_slice_grads);
    TU_ADD(s, test_slice_gradient_values);
    TU_ADD(s, test_slice_rejects_bad_arguments);
    TU_ADD(s, test_expand_forward_and_grads);
    TU_ADD(s, test_sum_to_forward_and_grads);
    TU_ADD(s, test_shape_ops_keep_the_first_error);
    TU_ADD(s, test_derived_shapes_are_checked);
    return s;
}
