/*
** test_random.c: ag_dropout_mask: the drop rate, the kept value, the
** draw order and reproducibility, p = 0 and p = 1, that the mask is a
** constant (and dropout's gradient is the mask), error paths.
*/
#include "test_util.h"

/* Fraction of zeros in x; asserts every other element equals keep. */
static double zero_fraction(const ag_tensor *x, double keep)
{
    int64_t zeros = 0;
    for (int64_t i = 0; i < ag_tensor_numel(x); i++) {
        double v = ag_tensor_get(x, i);
        if (v == 0) zeros++;
        else ck_assert_msg(v == keep, "element %lld is %.17g, expected 0 or %.17g",
                           (long long)i, v, keep);
    }
    return (double)zeros / (double)ag_tensor_numel(x);
}

START_TEST(test_dropout_mask_rate_and_kept_value)
{
    static const double ps[] = {0.1, 0.3, 0.5, 0.9};
    ag_rng *r = ag_rng_new(42);
    ag_tape *t = ag_tape_new();
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        double p = ps[i];
        ag_tensor *m = ag_dropout_mask(t, r, AG_F64, 2, SHAPE(250, 400), p);
        tu_assert_shape(m, 2, SHAPE(250, 400));
        ck_assert_int_eq(ag_tensor_dtype(m), AG_F64);
        double frac = zero_fraction(m, 1.0 / (1.0 - p));
        ck_assert_msg(fabs(frac - p) <= 0.01, "p %g: %g zeros", p, frac);
        ag_tensor *m32 = ag_dropout_mask(t, r, AG_F32, 1, SHAPE(100000), p);
        ck_assert_int_eq(ag_tensor_dtype(m32), AG_F32);
        frac = zero_fraction(m32, (float)(1.0 / (1.0 - p)));
        ck_assert_msg(fabs(frac - p) <= 0.01, "p %g (f32): %g zeros", p, frac);
        ag_tape_reset(t);
    }
    ag_tape_free(t);
    ag_rng_free(r);
}
END_TEST

/* Element i is kept iff the i-th uniform from the generator is >= p. */
START_TEST(test_dropout_mask_follows_the_uniforms_in_order)
{
    ag_rng *r = ag_rng_new(7), *ref = ag_rng_new(7);
    ag_tape *t = ag_tape_new();
    const double p = 0.4;
    ag_tensor *m = ag_dropout_mask(t, r, AG_F64, 3, SHAPE(4, 5, 6), p);
    for (int64_t i = 0; i < 120; i++) {
        double u = ag_rng_uniform(ref);
        ck_assert_double_eq(ag_tensor_get(m, i), u >= p ? 1.0 / (1.0 - p) : 0.0);
    }
    /* one draw per element: both generators are now at the same point */
    ck_assert_uint_eq(ag_rng_u64(r), ag_rng_u64(ref));
    ag_tape_free(t);
    ag_rng_free(r);
    ag_rng_free(ref);
}
END_TEST

/* The boundary: a uniform equal to p keeps its element, the next double
   above it drops it (the integer threshold is exact), in f32 too; the
   generator ends three draws on, as after three ag_rng_u64 calls. */
START_TEST(test_dropout_mask_keeps_a_uniform_equal_to_p)
{
    ag_rng *ref = ag_rng_new(11), *r = ag_rng_new(0);
    uint64_t start[4], end[4], got[4];
    ag_rng_get_state(ref, start);
    double u[3] = {ag_rng_uniform(ref), ag_rng_uniform(ref), ag_rng_uniform(ref)};
    ag_rng_get_state(ref, end);
    ag_tape *t = ag_tape_new();
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(ag_rng_set_state(r, start), AG_OK);
        ag_tensor *at = ag_dropout_mask(t, r, k == 2 ? AG_F32 : AG_F64, 1, SHAPE(3), u[k]);
        ck_assert_int_eq(ag_rng_set_state(r, start), AG_OK);
        ag_tensor *above = ag_dropout_mask(t, r, AG_F64, 1, SHAPE(3), nextafter(u[k], 1));
        ck_assert_double_ne(ag_tensor_get(at, k), 0);
        ck_assert_double_eq(ag_tensor_get(above, k), 0);
        ag_rng_get_state(r, got);
        ck_assert_int_eq(memcmp(got, end, sizeof got), 0);
    }
    ag_tape_free(t);
    ag_rng_free(ref);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_dropout_mask_same_seed_same_mask)
{
    ag_rng *r1 = ag_rng_new(123), *r2 = ag_rng_new(123), *r3 = ag_rng_new(124);
    ag_tape *t = ag_tape_new();
    ag_tensor *a = ag_dropout_mask(t, r1, AG_F32, 2, SHAPE(30, 30), 0.5);
    ag_tensor *b = ag_dropout_mask(t, r2, AG_F32, 2, SHAPE(30, 30), 0.5);
    ag_tensor *c = ag_dropout_mask(t, r3, AG_F32, 2, SHAPE(30, 30), 0.5);
    int64_t differ = 0;
    for (int64_t i = 0; i < 900; i++) {
        ck_assert_double_eq(ag_tensor_get(a, i), ag_tensor_get(b, i));
        differ += ag_tensor_get(a, i) != ag_tensor_get(c, i);
    }
    ck_assert_int_gt(differ, 300);          /* another seed: about half differ */
    ag_tape_free(t);
    ag_rng_free(r1);
    ag_rng_free(r2);
    ag_rng_free(r3);
}
END_TEST

START_TEST(test_dropout_mask_p0_ones_p1_zeros)
{
    ag_rng *r = ag_rng_new(1);
    ag_tape *t = ag_tape_new();
    ag_dtype dts[2] = {AG_F64, AG_F32};
    for (int d = 0; d < 2; d++) {
        ag_tensor *ones = ag_dropout_mask(t, r, dts[d], 2, SHAPE(50, 40), 0);
        ag_tensor *zeros = ag_dropout_mask(t, r, dts[d], 2, SHAPE(50, 40), 1);
        ck_assert_ptr_nonnull(ones);
        ck_assert_ptr_nonnull(zeros);
        for (int64_t i = 0; i < 2000; i++) {
            ck_assert_double_eq(ag_tensor_get(ones, i), 1);
            ck_assert_double_eq(ag_tensor_get(zeros, i), 0);
        }
    }
    ag_tensor *scalar = ag_dropout_mask(t, r, AG_F64, 0, NULL, 0);   /* ndim 0 */
    tu_assert_shape(scalar, 0, SHAPE(1));
    ck_assert_double_eq(ag_tensor_get(scalar, 0), 1);
    ag_tape_free(t);
    ag_rng_free(r);
}
END_TEST

/* The mask records nothing and needs no grad; dropout = x * mask has the
   mask as its gradient. */
START_TEST(test_dropout_mask_is_a_constant)
{
    ag_rng *r = ag_rng_new(5);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(6), VALS(1, 2, 3, 4, 5, 6));
    ag_set_requires_grad(x, 1);
    ag_tensor *m = ag_dropout_mask(t, r, AG_F64, 1, SHAPE(6), 0.5);
    ck_assert_int_eq(ag_requires_grad(m), 0);
    ck_assert_int_eq(ag_tape_size(t), 0);
    ag_tensor *y = ag_mul(t, x, m);
    ck_assert_int_eq(ag_tape_size(t), 1);
    ag_tensor *ones = ag_ones(t, AG_F64, 1, SHAPE(6)), *g;
    ck_assert_int_eq(ag_grad(t, 1, &y, &ones, 1, &x, &g, 0), AG_OK);
    for (int64_t i = 0; i < 6; i++) {
        ck_assert_double_eq(ag_tensor_get(g, i), ag_tensor_get(m, i));
        ck_assert_double_eq(ag_tensor_get(y, i), (i + 1) * ag_tensor_get(m, i));
    }
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_dropout_mask_without_tape_is_persistent)
{
    ag_rng *r = ag_rng_new(9);
    ag_tensor *m = ag_dropout_mask(NULL, r, AG_F32, 1, SHAPE(1000), 0.25);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_null(ag_tensor_tape(m));
    double frac = zero_fraction(m, (float)(1.0 / 0.75));
    ck_assert_msg(frac > 0.15 && frac < 0.35, "%g zeros", frac);
    ag_tensor_free(m);
    ck_assert_ptr_null(ag_dropout_mask(NULL, r, AG_F32, 1, SHAPE(10), 2));
    ag_rng_free(r);
}
END_TEST

START_TEST(test_dropout_mask_rejects_bad_arguments)
{
    static const double bad[] = {-0.1, 1.5, NAN, INFINITY, -INFINITY};
    ag_rng *r = ag_rng_new(3);
    ag_tape *t = ag_tape_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_assert_error(t, ag_dropout_mask(t, r, AG_F64, 1, SHAPE(4), bad[i]), AG_ERR_ARG,
                        "ag_dropout_mask", "not in [0, 1]");
        ag_tape_reset(t);
    }
    /* the value exactly: 1.0000001 is not "p is 1" (#11) */
    tu_assert_error(t, ag_dropout_mask(t, r, AG_F64, 1, SHAPE(4), 1.0000001), AG_ERR_ARG,
                    "ag_dropout_mask", "p is 1.0000001000000001, not in [0, 1]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_dropout_mask(t, NULL, AG_F64, 1, SHAPE(4), 0.5), AG_ERR_ARG,
                    "ag_dropout_mask", "generator is NULL");
    ag_tape_reset(t);
    tu_assert_error(t, ag_dropout_mask(t, r, AG_F64, 1, NULL, 0.5), AG_ERR_ARG,
                    "ag_dropout_mask", "shape is NULL");
    ag_tape_reset(t);
    tu_assert_error(t, ag_dropout_mask(t, r, AG_F64, 1, SHAPE(-2), 0.5), AG_ERR_SHAPE,
                    "ag_dropout_mask", "[-2]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_dropout_mask(t, r, (ag_dtype)7, 1, SHAPE(4), 0.5), AG_ERR_DTYPE,
                    "ag_dropout_mask", "dtype");
    ag_tape_free(t);
    ag_rng_free(r);
}
END_TEST

/* On a tape in error: NULL, the first message kept, nothing drawn. */
START_TEST(test_dropout_mask_on_tape_in_error)
{
    ag_rng *r = ag_rng_new(3), *ref = ag_rng_new(3);
    ag_tape *t = ag_tape_new();
    ck_assert_ptr_null(ag_dropout_mask(t, r, AG_F64, 1, SHAPE(4), 2.0));
    ck_assert_ptr_null(ag_dropout_mask(t, r, AG_F64, 1, SHAPE(4), 0.5));
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "p is 2"));
    ck_assert_uint_eq(ag_rng_u64(r), ag_rng_u64(ref));
    ag_tape_free(t);
    ag_rng_free(r);
    ag_rng_free(ref);
}
END_TEST

/* An all-zero state (xoshiro's fixed point: 0 forever, normal draws that
   never return) and NULL arguments are refused; the generator keeps its
   sequence. A state with one bit set is a valid one. */
START_TEST(test_rng_refuses_an_all_zero_state)
{
    ag_rng *r = ag_rng_new(8), *ref = ag_rng_new(8);
    static const uint64_t zero[4] = {0, 0, 0, 0}, one_bit[4] = {0, 0, 1, 0};
    ck_assert_int_eq(ag_rng_set_state(r, zero), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_rng_set_state: the state is all zero (xoshiro256** "
                     "would return 0 forever)");
    ck_assert_int_eq(ag_rng_set_state(r, NULL), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_rng_set_state: state is NULL");
    ck_assert_int_eq(ag_rng_set_state(NULL, one_bit), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_rng_set_state: generator is NULL");
    for (int i = 0; i < 4; i++) ck_assert_uint_eq(ag_rng_u64(r), ag_rng_u64(ref));
    ck_assert_double_eq(ag_rng_normal(r), ag_rng_normal(ref));
    ck_assert_int_eq(ag_rng_set_state(r, one_bit), AG_OK);
    uint64_t any = 0;
    for (int i = 0; i < 8; i++) any |= ag_rng_u64(r);
    ck_assert_uint_ne(any, 0);
    ag_rng_free(r);
    ag_rng_free(ref);
}
END_TEST

Suite *suite_random(void)
{
    Suite *s = suite_create("random");
    TU_ADD(s, test_dropout_mask_rate_and_kept_value);
    TU_ADD(s, test_dropout_mask_follows_the_uniforms_in_order);
    TU_ADD(s, test_dropout_mask_keeps_a_uniform_equal_to_p);
    TU_ADD(s, test_dropout_mask_same_seed_same_mask);
    TU_ADD(s, test_dropout_mask_p0_ones_p1_zeros);
    TU_ADD(s, test_dropout_mask_is_a_constant);
    TU_ADD(s, test_dropout_mask_without_tape_is_persistent);
    TU_ADD(s, test_dropout_mask_rejects_bad_arguments);
    TU_ADD(s, test_dropout_mask_on_tape_in_error);
    TU_ADD(s, test_rng_refuses_an_all_zero_state);
    return s;
}
