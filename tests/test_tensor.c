/*
** test_tensor.c: tensor creation, accessors, persistent vs tape ownership,
** and the generator (known answers from an independent implementation of
** splitmix64 + xoshiro256**, and the moments of its distributions).
*/
#include "test_util.h"

START_TEST(test_creation_values)
{
    ag_tape *t = ag_tape_new();
    for (int d = 0; d < 2; d++) {
        ag_dtype dt = d ? AG_F64 : AG_F32;
        ag_tensor *z = ag_zeros(t, dt, 2, SHAPE(2, 3));
        tu_assert_shape(z, 2, SHAPE(2, 3));
        ck_assert_int_eq(ag_tensor_dtype(z), dt);
        tu_assert_values(z, VALS(0, 0, 0, 0, 0, 0), 6, 0);
        tu_assert_values(ag_ones(t, dt, 1, SHAPE(2)), VALS(1, 1), 2, 0);
        tu_assert_values(ag_full(t, dt, 1, SHAPE(2), 2.5), VALS(2.5, 2.5), 2, 0);
        tu_assert_values(ag_arange(t, dt, 0, 1, 0.25), VALS(0, 0.25, 0.5, 0.75), 4, 0);
        tu_assert_values(ag_arange(t, dt, 3, 0, -1), VALS(3, 2, 1), 3, 0);
        tu_assert_values(ag_arange(t, dt, 0, 0, 1), VALS(0), 0, 0);
        tu_assert_values(ag_eye(t, dt, 3), VALS(1, 0, 0, 0, 1, 0, 0, 0, 1), 9, 0);
        ag_tensor *s = ag_scalar(t, dt, -4);
        ck_assert_int_eq(ag_tensor_ndim(s), 0);
        tu_assert_values(s, VALS(-4), 1, 0);
    }
    const float fdata[3] = {1.5f, -2, 3};
    tu_assert_values(ag_from_data(t, AG_F32, 1, SHAPE(3), fdata), VALS(1.5, -2, 3), 3, 0);
    tu_assert_values(ag_from_f64(t, AG_F32, 1, SHAPE(3), VALS(1.5, -2, 3)), VALS(1.5, -2, 3), 3, 0);
    ck_assert_int_eq(ag_tape_status(t), AG_OK);
    ag_tape_free(t);
}
END_TEST

START_TEST(test_accessors_and_ownership)
{
    ag_tensor *x = ag_zeros(NULL, AG_F64, 3, SHAPE(2, 3, 4));
    ck_assert_int_eq(ag_tensor_numel(x), 24);
    ck_assert_int_eq(ag_tensor_dim(x, -1), 4);
    ck_assert_int_eq(ag_tensor_dim(x, 0), 2);
    ck_assert_int_eq(ag_tensor_dim(x, 3), 0);               /* out of range */
    ck_assert_ptr_null(ag_tensor_tape(x));
    ck_assert_int_eq(ag_tensor_set(x, 23, 7), AG_OK);
    ck_assert_double_eq(((double *)ag_tensor_data(x))[23], 7);
    ck_assert_int_eq(ag_tensor_set(x, 24, 1), AG_ERR_ARG);
    ck_assert_double_eq(ag_tensor_get(x, -1), 0);
    ag_tensor *c = ag_tensor_clone(x);
    ck_assert_double_eq(ag_tensor_get(c, 23), 7);
    ck_assert_ptr_ne(ag_tensor_data(c), ag_tensor_data(x));
    ag_tape *t = ag_tape_new();
    ag_tensor *y = ag_zeros(t, AG_F32, 1, SHAPE(2));
    ck_assert_ptr_eq(ag_tensor_tape(y), t);
    ag_tensor_free(y);                                       /* tape-owned: no-op */
    ag_tensor_free(NULL);
    ag_tape_free(t);
    ag_tape_free(NULL);
    ag_tensor_free(x);
    ag_tensor_free(c);
}
END_TEST

START_TEST(test_creation_errors)
{
    ag_tape *t = ag_tape_new();
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    tu_assert_error(t, ag_zeros(t, AG_F32, 9, nine), AG_ERR_SHAPE, "ag_zeros", "9 dimensions");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_ones(t, AG_F64, 2, SHAPE(2, -1)), AG_ERR_SHAPE, "ag_ones", "[2,-1]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_full(t, (ag_dtype)7, 1, SHAPE(2), 0), AG_ERR_DTYPE, "ag_full", "dtype 7");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_arange(t, AG_F32, 0, 1, 0), AG_ERR_ARG, "ag_arange", "step");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_from_data(t, AG_F32, 1, SHAPE(2), NULL), AG_ERR_ARG, "ag_from_data",
                    "data is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_rand_normal(t, NULL, AG_F32, 1, SHAPE(2), 0, 1), AG_ERR_ARG,
                    "ag_rand_normal", "generator");
    ag_tape_clear_error(t);
    /* an overflowing shape is refused, not allocated */
    tu_assert_error(t, ag_zeros(t, AG_F64, 2, SHAPE(INT64_MAX / 4, 8)), AG_ERR_SHAPE,
                    "ag_zeros", "too large");
    /* persistent creation has no tape to hold a message: NULL */
    ck_assert_ptr_null(ag_zeros(NULL, AG_F32, -1, NULL));
    ag_tape_free(t);
}
END_TEST

START_TEST(test_rng_known_answers)
{
    ag_rng *r = ag_rng_new(42);
    ck_assert_uint_eq(ag_rng_u64(r), 0x15780b2e0c2ec716ULL);
    ck_assert_uint_eq(ag_rng_u64(r), 0x6104d9866d113a7eULL);
    ck_assert_uint_eq(ag_rng_u64(r), 0xae17533239e499a1ULL);
    /* state save/restore replays exactly */
    uint64_t st[4];
    ag_rng_get_state(r, st);
    double u1 = ag_rng_uniform(r), n1 = ag_rng_normal(r);
    ck_assert_int_eq(ag_rng_set_state(r, st), AG_OK);
    ck_assert_double_eq(ag_rng_uniform(r), u1);
    ck_assert_double_eq(ag_rng_normal(r), n1);
    ag_rng_free(r);
    ag_rng_free(NULL);
}
END_TEST

START_TEST(test_rng_moments)
{
    enum { N = 200000 };
    ag_rng *r = ag_rng_new(7);
    double su = 0, su2 = 0, sn = 0, sn2 = 0, sn4 = 0, umin = 1, umax = 0;
    for (int i = 0; i < N; i++) {
        double u = ag_rng_uniform(r), n = ag_rng_normal(r);
        su += u, su2 += u * u, sn += n, sn2 += n * n, sn4 += n * n * n * n;
        umin = u < umin ? u : umin, umax = u > umax ? u : umax;
    }
    ck_assert(umin >= 0 && umax < 1);
    ck_assert_double_eq_tol(su / N, 0.5, 0.005);            /* 1/2 */
    ck_assert_double_eq_tol(su2 / N - 0.25, 1.0 / 12, 0.002); /* var 1/12 */
    ck_assert_double_eq_tol(sn / N, 0, 0.01);
    ck_assert_double_eq_tol(sn2 / N, 1, 0.01);
    ck_assert_double_eq_tol(sn4 / N, 3, 0.06);              /* normal kurtosis */
    /* tensors: the same seed gives the same tensor, the moments hold */
    ag_rng *a = ag_rng_new(3), *b = ag_rng_new(3);
    ag_tensor *x = ag_rand_normal(NULL, a, AG_F64, 1, SHAPE(10000), 2, 0.5);
    ag_tensor *y = ag_rand_normal(NULL, b, AG_F64, 1, SHAPE(10000), 2, 0.5);
    ck_assert_mem_eq(ag_tensor_data(x), ag_tensor_data(y), 10000 * sizeof(double));
    double m = 0;
    for (int i = 0; i < 10000; i++) m += ag_tensor_get(x, i);
    ck_assert_double_eq_tol(m / 10000, 2, 0.02);
    ag_tensor *u = ag_rand_uniform(NULL, a, AG_F32, 1, SHAPE(1000), -3, -1);
    for (int i = 0; i < 1000; i++)
        ck_assert(ag_tensor_get(u, i) >= -3 && ag_tensor_get(u, i) <= -1);
    ag_tensor_free(x);
    ag_tensor_free(y);
    ag_tensor_free(u);
    ag_rng_free(a);
    ag_rng_free(b);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_assign_copies_in_place)
{
    ag_tensor *dst = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0, 0, 0));
    ag_tensor *src = tu_tensor(AG_F32, 1, SHAPE(3), VALS(1.5, -2, 4));
    void *before = ag_tensor_data(dst);
    ck_assert_int_eq(ag_assign(dst, src), AG_OK);            /* converts f32 -> f64 */
    ck_assert_ptr_eq(ag_tensor_data(dst), before);
    tu_assert_values(dst, VALS(1.5, -2, 4), 3, 0);
    ag_tape *t = ag_tape_new();
    ag_tensor *y = ag_mul_scalar(t, dst, 2);
    ck_assert_int_eq(ag_assign(dst, y), AG_OK);
    tu_assert_values(dst, VALS(3, -4, 8), 3, 0);
    ag_tensor *bad = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 0));
    ck_assert_int_eq(ag_assign(dst, bad), AG_ERR_SHAPE);
    ck_assert_str_eq(ag_last_error(), "ag_assign: dst is [3], src is [2]");
    ck_assert_int_eq(ag_assign(NULL, bad), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_assign: dst is NULL");
    ag_tape_reset(t);
    ck_assert_int_eq(ag_assign(dst, y), AG_ERR_STATE);        /* y is stale */
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "src was made before"));
    /* persistent creation errors land in ag_last_error too */
    ck_assert_ptr_null(ag_zeros(NULL, AG_F32, 9, SHAPE(1, 1, 1, 1, 1, 1, 1, 1, 1)));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_zeros: 9 dimensions"));
    ck_assert_ptr_null(ag_from_data(NULL, AG_F32, 1, SHAPE(2), NULL));
    ck_assert_str_eq(ag_last_error(), "ag_from_data: data is NULL");
    ag_tape_free(t);
    ag_tensor_free(dst);
    ag_tensor_free(src);
    ag_tensor_free(bad);
}
END_TEST

/* Regression (found by fuzzing): after a reset that replaced the tape's
   blocks, a stale tensor's accessors must not touch its freed memory. */
START_TEST(test_stale_tensor_accessors_are_safe)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *big = ag_zeros(t, AG_F32, 1, SHAPE(600000));   /* 2.4 MB: 2 blocks */
    ag_tensor *x = ag_ones(t, AG_F64, 1, SHAPE(3));
    ck_assert_ptr_nonnull(big);
    ck_assert_int_eq(ag_set_requires_grad(x, 1), AG_OK);
    ag_tape_reset(t);                                          /* coalesces the blocks */
    ck_assert_ptr_null(ag_tensor_data(x));
    ck_assert_double_eq(ag_tensor_get(x, 0), 0);
    ck_assert_int_eq(ag_tensor_set(x, 0, 5), AG_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_tensor_set: x was made before"));
    ck_assert_ptr_null(ag_tensor_clone(x));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_tensor_clone: x was made before"));
    ck_assert_int_eq(ag_tape_check(t, "my_layer", "x", x), AG_ERR_STATE);  /* for layers */
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "my_layer: x was made before the tape"));
    ag_tape_clear_error(t);
    ag_zero_grad(x);                                           /* a no-op, no write */
    ck_assert_ptr_null(ag_tensor_grad(x));
    ck_assert_int_eq(ag_tensor_numel(x), 3);                   /* the header is fine */
    ag_tape_free(t);
}
END_TEST

/* Regression (#11): a zero dim does not excuse huge others. A shape is
   accepted when the product of its non-zero dims is at most AG_NUMEL_MAX,
   whatever the order of its dims; [0, 2^40, 2^40] was accepted and then
   overflowed the ops' element counts. */
START_TEST(test_shape_rule_ignores_the_order_of_dims)
{
    const int64_t h = (int64_t)1 << 40;
    const int64_t orders[3][3] = {{0, h, h}, {h, 0, h}, {h, h, 0}};
    ag_tape *t = ag_tape_new();
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(ag_shape_numel(3, orders[k]), -1);
        tu_assert_error(t, ag_zeros(t, AG_F32, 3, orders[k]), AG_ERR_SHAPE, "ag_zeros",
                        "more than");
        ag_tape_clear_error(t);
        ag_set_last_error(AG_OK, "%s", "");
        ck_assert_ptr_null(ag_ones(NULL, AG_F64, 3, orders[k]));
        ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_ones: shape"));
        ck_assert_ptr_nonnull(strstr(ag_last_error(), "1099511627776"));
    }
    /* the limit itself: 2^59 - 1 elements of any dtype fit int64 bytes */
    ck_assert_int_eq(AG_NUMEL_MAX, INT64_MAX / 16);
    ck_assert_int_eq(ag_shape_numel(2, SHAPE(0, AG_NUMEL_MAX)), 0);
    ck_assert_int_eq(ag_shape_numel(2, SHAPE(AG_NUMEL_MAX, 0)), 0);
    ck_assert_int_eq(ag_shape_numel(3, SHAPE(0, AG_NUMEL_MAX, 2)), -1);
    ck_assert_int_eq(ag_shape_numel(2, SHAPE(2, AG_NUMEL_MAX / 2)), AG_NUMEL_MAX - 1);
    ck_assert_int_eq(ag_shape_numel(2, SHAPE(3, -1)), -1);
    ck_assert_int_eq(ag_shape_numel(0, NULL), 1);
    ck_assert_int_eq(ag_shape_numel(9, SHAPE(1, 1, 1, 1, 1, 1, 1, 1, 1)), -1);
    ag_tensor *empty = ag_zeros(t, AG_F32, 3, SHAPE(0, h, 4));
    tu_assert_shape(empty, 3, SHAPE(0, h, 4));
    ck_assert_int_eq(ag_tensor_numel(empty), 0);
    /* the checked product for sizes */
    ck_assert_int_eq(ag_size_mul(INT64_MAX / 2, 2), INT64_MAX - 1);
    ck_assert_int_eq(ag_size_mul(INT64_MAX / 2 + 1, 2), -1);
    ck_assert_int_eq(ag_size_mul(-1, 0), -1);
    ck_assert_int_eq(ag_size_mul(0, INT64_MAX), 0);
    ag_tape_free(t);
}
END_TEST

/* Regression (#11): the generators refuse what the init functions refuse. */
START_TEST(test_rand_refuses_bad_bounds)
{
    ag_rng *r = ag_rng_new(1);
    ag_tape *t = ag_tape_new();
    const double bad_uniform[4][2] = {{1, 0}, {0, INFINITY}, {-INFINITY, 0}, {NAN, 1}};
    for (int k = 0; k < 4; k++) {
        tu_assert_error(t, ag_rand_uniform(t, r, AG_F32, 1, SHAPE(2), bad_uniform[k][0],
                                           bad_uniform[k][1]),
                        AG_ERR_ARG, "ag_rand_uniform: bounds", "lo <= hi");
        ag_tape_clear_error(t);
        ck_assert_ptr_null(ag_rand_uniform(NULL, r, AG_F64, 1, SHAPE(2), bad_uniform[k][0],
                                           bad_uniform[k][1]));
        ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_rand_uniform: bounds"));
    }
    const double bad_normal[4][2] = {{0, -1}, {NAN, 1}, {0, NAN}, {0, INFINITY}};
    for (int k = 0; k < 4; k++) {
        tu_assert_error(t, ag_rand_normal(t, r, AG_F32, 1, SHAPE(2), bad_normal[k][0],
                                          bad_normal[k][1]),
                        AG_ERR_ARG, "ag_rand_normal: mean", "std >= 0");
        ag_tape_clear_error(t);
    }
    /* the values are exact in messages: 1.0000001 is not "1" */
    tu_assert_error(t, ag_rand_uniform(t, r, AG_F64, 1, SHAPE(2), 1.0000001, 1),
                    AG_ERR_ARG, "1.0000001", "ag_rand_uniform");
    ag_tape_clear_error(t);
    /* lo == hi and std == 0 are fine: constants */
    tu_assert_values(ag_rand_uniform(t, r, AG_F64, 1, SHAPE(2), 3, 3), VALS(3, 3), 2, 0);
    tu_assert_values(ag_rand_normal(t, r, AG_F64, 1, SHAPE(2), -2, 0), VALS(-2, -2), 2, 0);
    ag_tape_free(t);
    ag_rng_free(r);
}
END_TEST

/* Regression (#11): element access and requires_grad leave a message
   with every error; ag_eye names itself. */
START_TEST(test_accessor_errors_leave_a_message)
{
    ag_tensor *x = ag_zeros(NULL, AG_F64, 2, SHAPE(2, 3));
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_int_eq(ag_tensor_set(x, 6, 1), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_tensor_set: index 6 is out of range"));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "[2,3]"));
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_double_eq(ag_tensor_get(x, -1), 0);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_tensor_get: index -1 is out of range"));
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_int_eq(ag_tensor_set(NULL, 0, 1), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_tensor_set: x is NULL"));
    ck_assert_int_eq(ag_set_requires_grad(NULL, 1), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_set_requires_grad: x is NULL"));
    /* a non-leaf */
    ag_tape *t = ag_tape_new();
    ck_assert_int_eq(ag_set_requires_grad(x, 1), AG_OK);
    ag_tensor *y = ag_mul(t, x, x);
    ck_assert_int_eq(ag_set_requires_grad(y, 0), AG_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_set_requires_grad: x is not a leaf"));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_mul"));
    /* a stale tensor: AG_ERR_STATE, not AG_OK */
    ag_tensor *leaf = ag_ones(t, AG_F64, 1, SHAPE(2));
    ag_tape_reset(t);
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_int_eq(ag_set_requires_grad(leaf, 1), AG_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_set_requires_grad: x was made before"));
    ck_assert_int_eq(ag_requires_grad(leaf), 0);
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_double_eq(ag_tensor_get(leaf, 0), 0);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_tensor_get: x was made before"));
    /* ag_eye names itself, with the value */
    tu_assert_error(t, ag_eye(t, AG_F32, -3), AG_ERR_SHAPE, "ag_eye", "-3");
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_ptr_null(ag_eye(NULL, AG_F32, -3));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_eye: n is -3"));
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

Suite *suite_tensor(void)
{
    Suite *s = suite_create("tensor");
    TU_ADD(s, test_creation_values);
    TU_ADD(s, test_accessors_and_ownership);
    TU_ADD(s, test_creation_errors);
    TU_ADD(s, test_rng_known_answers);
    TU_ADD(s, test_rng_moments);
    TU_ADD(s, test_assign_copies_in_place);
    TU_ADD(s, test_stale_tensor_accessors_are_safe);
    TU_ADD(s, test_shape_rule_ignores_the_order_of_dims);
    TU_ADD(s, test_rand_refuses_bad_bounds);
    TU_ADD(s, test_accessor_errors_leave_a_message);
    return s;
}
