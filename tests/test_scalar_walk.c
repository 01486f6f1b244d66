/*
** test_scalar_walk.c: the backward walk's scalar path (backward.c), which
** runs the scalar rules of one-element elementwise nodes on values instead
** of tensors. Its gradients must be the tensor path's bit for bit: the
** references are the same walk under create_graph and under anomaly mode,
** both of which take the tensor path. The expression mixes every op with a
** scalar rule, leaves used several times, a [1]-shaped leaf broadcast
** against 0-d values, and nodes whose gradient also comes from an op's own
** rule (a reshape and a sum), so values and tensors meet in one slot.
*/
#include "test_util.h"

#include <string.h>

enum { NLEAF = 4 };

/* The expression, of leaves x, y, z (0-d) and w ([1]); *a_out is an
   intermediate node, for ag_grad. */
static ag_tensor *expr(ag_tape *t, ag_tensor *const *v, ag_tensor **a_out)
{
    ag_tensor *x = v[0], *y = v[1], *z = v[2], *w = v[3];
    ag_tensor *a = ag_mul(t, x, y);
    ag_tensor *b = ag_add(t, a, ag_square(t, x));
    ag_tensor *c = ag_div(t, b, ag_add_scalar(t, z, 3));
    ag_tensor *d = ag_sub(t, ag_exp(t, ag_mul_scalar(t, c, 0.1)),
                          ag_log(t, ag_add_scalar(t, ag_square(t, y), 1)));
    ag_tensor *e = ag_rsub_scalar(t, d, 2);
    ag_tensor *f = ag_rdiv_scalar(t, ag_add_scalar(t, ag_square(t, e), 1), 1.5);
    ag_tensor *g = ag_div_scalar(t, ag_sqrt(t, ag_add_scalar(t, ag_square(t, f), 1)), 3);
    ag_tensor *h = ag_expm1(t, ag_mul_scalar(t, g, 0.1));
    ag_tensor *k = ag_log1p(t, ag_square(t, h));
    ag_tensor *r = ag_reciprocal(t, ag_add_scalar(t, ag_square(t, k), 1));
    ag_tensor *p = ag_sub_scalar(t, ag_neg(t, r), 0.5);
    const int64_t one = 1;
    ag_tensor *s1 = ag_sum_to(t, ag_reshape(t, a, 1, &one), 0, NULL);  /* op rules into a */
    ag_tensor *loss = ag_add(t, ag_add(t, p, ag_mul(t, s1, w)), ag_mul(t, x, ag_div(t, z, a)));
    if (a_out) *a_out = a;
    return loss;
}

static void make_leaves(ag_dtype dt, ag_tensor **v)
{
    const int64_t one = 1;
    v[0] = ag_scalar(NULL, dt, 0.7);
    v[1] = ag_scalar(NULL, dt, -1.3);
    v[2] = ag_scalar(NULL, dt, 0.4);
    v[3] = ag_full(NULL, dt, 1, &one, 1.9);
    for (int i = 0; i < NLEAF; i++) {
        ck_assert_ptr_nonnull(v[i]);
        ck_assert_int_eq(ag_set_requires_grad(v[i], 1), AG_OK);
    }
}

static void free_leaves(ag_tensor **v)
{
    for (int i = 0; i < NLEAF; i++) ag_tensor_free(v[i]);
}

/* Same dtype, shape and bits? */
static void assert_same_bits(const ag_tensor *a, const ag_tensor *b)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(ag_tensor_dtype(a), ag_tensor_dtype(b));
    ck_assert_int_eq(ag_tensor_ndim(a), ag_tensor_ndim(b));
    ck_assert_int_eq(ag_tensor_numel(a), 1);
    ck_assert_int_eq(ag_tensor_numel(b), 1);
    size_t es = ag_tensor_dtype(a) == AG_F64 ? sizeof(double) : sizeof(float);
    ck_assert_int_eq(memcmp(ag_tensor_data((ag_tensor *)a), ag_tensor_data((ag_tensor *)b), es),
                     0);
}

/* The tensor path's gradients of the leaves (create_graph), as persistent
   copies in ref. */
static void reference(ag_dtype dt, ag_tensor *const *v, ag_tensor **ref)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *grads[NLEAF];
    ag_tensor *loss = expr(t, v, NULL);
    ck_assert_int_eq(ag_grad(t, 1, &loss, NULL, NLEAF, v, grads, 1), AG_OK);
    for (int i = 0; i < NLEAF; i++) {
        ref[i] = ag_zeros(NULL, dt, ag_tensor_ndim(grads[i]), ag_tensor_shape(grads[i]));
        ck_assert_int_eq(ag_assign(ref[i], grads[i]), AG_OK);
    }
    ag_tape_free(t);
}

/* One backward of the expression on leaves v, on the scalar path or (anomaly
   mode) the tensor path. */
static void backward_once(ag_tape *t, ag_tensor *const *v, int tensor_path)
{
    ag_tape_reset(t);
    ag_set_anomaly(t, tensor_path);
    ck_assert_int_eq(ag_backward(t, expr(t, v, NULL)), AG_OK);
}

static void check_backward_matches(ag_dtype dt)
{
    ag_tensor *v[NLEAF], *u[NLEAF], *ref[NLEAF];
    make_leaves(dt, v);
    make_leaves(dt, u);
    reference(dt, v, ref);
    ag_tape *t = ag_tape_new();
    backward_once(t, v, 0);                                            /* grads made */
    backward_once(t, u, 1);
    for (int i = 0; i < NLEAF; i++) assert_same_bits(ag_tensor_grad(v[i]), ref[i]);
    for (int i = 0; i < NLEAF; i++) assert_same_bits(ag_tensor_grad(u[i]), ref[i]);
    backward_once(t, v, 0);                                            /* added */
    backward_once(t, u, 1);
    for (int i = 0; i < NLEAF; i++) {
        assert_same_bits(ag_tensor_grad(v[i]), ag_tensor_grad(u[i]));
        ck_assert_double_ne(ag_tensor_get(ag_tensor_grad(v[i]), 0), ag_tensor_get(ref[i], 0));
    }
    for (int i = 0; i < NLEAF; i++) ag_clear_grad(v[i]), ag_clear_grad(u[i]);
    backward_once(t, v, 0);                                            /* written */
    backward_once(t, u, 1);
    for (int i = 0; i < NLEAF; i++) assert_same_bits(ag_tensor_grad(v[i]), ref[i]);
    for (int i = 0; i < NLEAF; i++) assert_same_bits(ag_tensor_grad(u[i]), ref[i]);
    ag_tape_free(t);
    free_leaves(v);
    free_leaves(u);
    free_leaves(ref);
}

START_TEST(test_scalar_walk_matches_tensor_path_f64) { check_backward_matches(AG_F64); }
END_TEST

START_TEST(test_scalar_walk_matches_tensor_path_f32) { check_backward_matches(AG_F32); }
END_TEST

/* ag_grad without create_graph takes the scalar path too: the leaves'
   gradients and an intermediate input's are the tensor path's. */
START_TEST(test_scalar_walk_ag_grad_matches)
{
    ag_tensor *v[NLEAF], *ref[NLEAF];
    make_leaves(AG_F64, v);
    reference(AG_F64, v, ref);
    ag_tape *t = ag_tape_new();
    ag_tensor *a, *loss = expr(t, v, &a);
    ag_tensor *in[NLEAF + 2] = {v[2], a, v[0], v[1], v[3], v[0]}, *g[NLEAF + 2];
    ck_assert_int_eq(ag_grad(t, 1, &loss, NULL, NLEAF + 2, in, g, 0), AG_OK);
    assert_same_bits(g[0], ref[2]);
    assert_same_bits(g[2], ref[0]);
    assert_same_bits(g[3], ref[1]);
    assert_same_bits(g[4], ref[3]);
    assert_same_bits(g[5], ref[0]);                                    /* a repeated input */
    ck_assert_int_eq(ag_tensor_ndim(g[4]), 1);                         /* w's shape */
    ag_tensor *ga;                                                     /* a's, by the tensor path */
    ck_assert_int_eq(ag_grad(t, 1, &loss, NULL, 1, &a, &ga, 1), AG_OK);
    assert_same_bits(g[1], ga);
    ag_tape_free(t);
    free_leaves(v);
    free_leaves(ref);
}
END_TEST

/* Values by hand: f = x*y + x^2 + 3x - y/x at x = 3, y = 2:
   df/dx = y + 2x + 3 + y/x^2 = 11 + 2/9, df/dy = x - 1/x = 3 - 1/3. */
START_TEST(test_scalar_walk_values_by_hand)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_scalar(NULL, AG_F64, 3), *y = ag_scalar(NULL, AG_F64, 2);
    ag_set_requires_grad(x, 1);
    ag_set_requires_grad(y, 1);
    ag_tensor *f = ag_sub(t, ag_add(t, ag_add(t, ag_mul(t, x, y), ag_square(t, x)),
                                    ag_mul_scalar(t, x, 3)), ag_div(t, y, x));
    ck_assert_int_eq(ag_backward(t, f), AG_OK);
    ck_assert_double_eq_tol(ag_tensor_get(ag_tensor_grad(x), 0), 11 + 2.0 / 9, 1e-14);
    ck_assert_double_eq_tol(ag_tensor_get(ag_tensor_grad(y), 0), 3 - 1.0 / 3, 1e-14);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(y);
}
END_TEST

/* A leaf whose requires_grad was turned off after recording gets nothing,
   as on the tensor path (which reads it at the walk); a tape leaf gets a
   grad on the tape. */
START_TEST(test_scalar_walk_leaf_kinds)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_scalar(NULL, AG_F32, 2), *y = ag_scalar(NULL, AG_F32, 5);
    ag_tensor *z = ag_scalar(t, AG_F32, 7);
    ag_set_requires_grad(x, 1);
    ag_set_requires_grad(y, 1);
    ag_set_requires_grad(z, 1);
    ag_tensor *f = ag_mul(t, ag_mul(t, x, y), z);
    ag_set_requires_grad(y, 0);
    ck_assert_int_eq(ag_backward(t, f), AG_OK);
    ck_assert_double_eq(ag_tensor_get(ag_tensor_grad(x), 0), 35);
    ck_assert_ptr_null(ag_tensor_grad(y));
    ck_assert_ptr_eq(ag_tensor_tape(ag_tensor_grad(z)), t);
    ck_assert_double_eq(ag_tensor_get(ag_tensor_grad(z), 0), 10);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(y);
}
END_TEST

Suite *suite_scalar_walk(void)
{
    Suite *s = suite_create("scalar_walk");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_scalar_walk_matches_tensor_path_f64);
    tcase_add_test(tc, test_scalar_walk_matches_tensor_path_f32);
    tcase_add_test(tc, test_scalar_walk_ag_grad_matches);
    tcase_add_test(tc, test_scalar_walk_values_by_hand);
    tcase_add_test(tc, test_scalar_walk_leaf_kinds);
    suite_add_tcase(s, tc);
    return s;
}
