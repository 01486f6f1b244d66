/*
** test_clear_grad.c: ag_clear_grad and the optimizer's and module's
** forms (grads set to none, PyTorch's set_to_none=True). A none grad reads
** as NULL and is skipped by optimizers; the next backward writes the
** gradient (the products of ag_linear and ag_matmul straight into the
** grad buffer), then later ones add. The values are the zeroed path's bit
** for bit, and the formulas' (written out by hand below).
*/
#include "test_util.h"

#include <math.h>
#include <stdlib.h>

static ag_tensor *sum_all(ag_tape *t, ag_tensor *x) { return ag_sum_to(t, x, 0, NULL); }

/* Asserts a and b hold the same bits (same dtype and size). */
static void assert_same_bits(const ag_tensor *a, const ag_tensor *b)
{
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(ag_tensor_numel(a), ag_tensor_numel(b));
    size_t es = ag_tensor_dtype(a) == AG_F64 ? sizeof(double) : sizeof(float);
    ck_assert_int_eq(memcmp(ag_tensor_data((ag_tensor *)a), ag_tensor_data((ag_tensor *)b),
                            (size_t)ag_tensor_numel(a) * es), 0);
}

/* A persistent leaf that requires grad, uniform in [-1, 1) from seed. */
static ag_tensor *leaf(ag_dtype dt, int ndim, const int64_t *shape, uint64_t seed)
{
    ag_rng *r = ag_rng_new(seed);
    ag_tensor *x = ag_rand_uniform(NULL, r, dt, ndim, shape, -1, 1);
    ag_rng_free(r);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(ag_set_requires_grad(x, 1), AG_OK);
    return x;
}

START_TEST(test_clear_grad_reads_none_then_is_written_then_adds)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_set_requires_grad(x, 1);
    ag_clear_grad(x);                                          /* no grad yet: no-op */
    ck_assert_ptr_null(ag_tensor_grad(x));
    ck_assert_int_eq(ag_backward(t, sum_all(t, ag_mul(t, x, x))), AG_OK);
    tu_assert_values(ag_tensor_grad(x), VALS(2, 4, 6), 3, 0);
    ag_clear_grad(x);
    ck_assert_ptr_null(ag_tensor_grad(x));
    ag_zero_grad(x);                                           /* none stays none */
    ck_assert_ptr_null(ag_tensor_grad(x));
    ag_tape_reset(t);
    ag_tensor *loss = sum_all(t, ag_mul_scalar(t, x, 3));
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);             /* written, not added */
    tu_assert_values(ag_tensor_grad(x), VALS(3, 3, 3), 3, 0);
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);             /* then added */
    tu_assert_values(ag_tensor_grad(x), VALS(6, 6, 6), 3, 0);
    ag_zero_grad(x);
    tu_assert_values(ag_tensor_grad(x), VALS(0, 0, 0), 3, 0);
    ag_clear_grad(NULL);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* The same for a leaf made on a tape (its grad lives on the tape). */
START_TEST(test_clear_grad_tape_leaf)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_from_f64(t, AG_F64, 1, SHAPE(2), VALS(1, -2));
    ag_set_requires_grad(x, 1);
    ag_tensor *loss = sum_all(t, ag_mul(t, x, x));
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);
    tu_assert_values(ag_tensor_grad(x), VALS(2, -4), 2, 0);
    ag_clear_grad(x);
    ck_assert_ptr_null(ag_tensor_grad(x));
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);
    tu_assert_values(ag_tensor_grad(x), VALS(2, -4), 2, 0);
    ag_tape_free(t);
}
END_TEST

/*
** loss = sum(c * (x @ w^T + b)) + sum(d * (x @ v)) + sum(e * (u @ x2)):
** w and v and u take their gradients in place (ag_linear's and ag_matmul's
** rules, both operand sides). The cleared path gives the zeroed path's
** bits, and dw = c^T x, db = sum_i c_i, dv = x^T d, du = e x2^T.
*/
static ag_tensor *three_products(ag_tape *t, ag_tensor *x, ag_tensor *x2, ag_tensor *w,
                                 ag_tensor *b, ag_tensor *v, ag_tensor *u, ag_tensor *c,
                                 ag_tensor *d, ag_tensor *e)
{
    ag_tensor *l1 = sum_all(t, ag_mul(t, c, ag_linear(t, x, w, b)));
    ag_tensor *l2 = sum_all(t, ag_mul(t, d, ag_matmul(t, x, v)));
    ag_tensor *l3 = sum_all(t, ag_mul(t, e, ag_matmul(t, u, x2)));
    return ag_add(t, ag_add(t, l1, l2), l3);
}

START_TEST(test_clear_grad_products_write_in_place_same_bits)
{
    for (int dt = AG_F32; dt <= AG_F64; dt++) {
        /* x [5,7]; w [4,7], b [4]; v [7,3]; u [2,5], x2 [5,6] */
        ag_tensor *x = leaf(dt, 2, SHAPE(5, 7), 1), *x2 = leaf(dt, 2, SHAPE(5, 6), 2);
        ag_tensor *w = leaf(dt, 2, SHAPE(4, 7), 3), *b = leaf(dt, 1, SHAPE(4), 4);
        ag_tensor *v = leaf(dt, 2, SHAPE(7, 3), 5), *u = leaf(dt, 2, SHAPE(2, 5), 6);
        ag_tensor *c = leaf(dt, 2, SHAPE(5, 4), 7), *d = leaf(dt, 2, SHAPE(5, 3), 8);
        ag_tensor *e = leaf(dt, 2, SHAPE(2, 6), 9);
        ag_set_requires_grad(x, 0), ag_set_requires_grad(x2, 0);
        ag_set_requires_grad(c, 0), ag_set_requires_grad(d, 0), ag_set_requires_grad(e, 0);
        ag_tensor *p[4] = {w, b, v, u}, *zeroed[4];
        ag_tape *t = ag_tape_new();
        for (int round = 0; round < 3; round++) {
            /* round 0 makes the grads, 1 zeroes them, 2 clears them */
            for (int k = 0; k < 4; k++)
                if (round == 1) ag_zero_grad(p[k]);
                else if (round == 2) ag_clear_grad(p[k]);
            ag_tape_reset(t);
            ck_assert_int_eq(ag_backward(t, three_products(t, x, x2, w, b, v, u, c, d, e)),
                             AG_OK);
            for (int k = 0; round == 1 && k < 4; k++)
                zeroed[k] = ag_tensor_clone(ag_tensor_grad(p[k]));
        }
        for (int k = 0; k < 4; k++) assert_same_bits(ag_tensor_grad(p[k]), zeroed[k]);
        const double tol = dt == AG_F64 ? 1e-12 : 1e-5;
        for (int o = 0; o < 4; o++)
            for (int q = 0; q < 7; q++) {
                double s = 0;
                for (int i = 0; i < 5; i++)
                    s += ag_tensor_get(c, i * 4 + o) * ag_tensor_get(x, i * 7 + q);
                ck_assert_double_eq_tol(ag_tensor_get(ag_tensor_grad(w), o * 7 + q), s, tol);
            }
        for (int o = 0; o < 4; o++) {
            double s = 0;
            for (int i = 0; i < 5; i++) s += ag_tensor_get(c, i * 4 + o);
            ck_assert_double_eq_tol(ag_tensor_get(ag_tensor_grad(b), o), s, tol);
        }
        for (int q = 0; q < 7; q++)
            for (int j = 0; j < 3; j++) {
                double s = 0;
                for (int i = 0; i < 5; i++)
                    s += ag_tensor_get(x, i * 7 + q) * ag_tensor_get(d, i * 3 + j);
                ck_assert_double_eq_tol(ag_tensor_get(ag_tensor_grad(v), q * 3 + j), s, tol);
            }
        for (int r = 0; r < 2; r++)
            for (int i = 0; i < 5; i++) {
                double s = 0;
                for (int j = 0; j < 6; j++)
                    s += ag_tensor_get(e, r * 6 + j) * ag_tensor_get(x2, i * 6 + j);
                ck_assert_double_eq_tol(ag_tensor_get(ag_tensor_grad(u), r * 5 + i), s, tol);
            }
        for (int k = 0; k < 4; k++) ag_tensor_free(zeroed[k]), ag_tensor_free(p[k]);
        ag_tensor_free(x), ag_tensor_free(x2), ag_tensor_free(c), ag_tensor_free(d);
        ag_tensor_free(e);
        ag_tape_free(t);
    }
}
END_TEST

/*
** A leaf twice in one product (a @ a) and in two products (shared
** weights): the first gradient is written, the rest added. loss =
** sum(c * (a @ a)) + sum(d * (x @ a)): da = c a^T + a^T c + x^T d.
*/
START_TEST(test_clear_grad_leaf_used_twice)
{
    ag_tensor *a = leaf(AG_F64, 2, SHAPE(3, 3), 11), *x = leaf(AG_F64, 2, SHAPE(2, 3), 12);
    ag_tensor *c = leaf(AG_F64, 2, SHAPE(3, 3), 13), *d = leaf(AG_F64, 2, SHAPE(2, 3), 14);
    ag_set_requires_grad(x, 0), ag_set_requires_grad(c, 0), ag_set_requires_grad(d, 0);
    ag_tape *t = ag_tape_new();
    ag_tensor *zeroed = NULL;
    for (int round = 0; round < 3; round++) {
        if (round == 1) ag_zero_grad(a);
        if (round == 2) ag_clear_grad(a);
        ag_tape_reset(t);
        ag_tensor *loss = ag_add(t, sum_all(t, ag_mul(t, c, ag_matmul(t, a, a))),
                                 sum_all(t, ag_mul(t, d, ag_matmul(t, x, a))));
        ck_assert_int_eq(ag_backward(t, loss), AG_OK);
        if (round == 1) zeroed = ag_tensor_clone(ag_tensor_grad(a));
    }
    assert_same_bits(ag_tensor_grad(a), zeroed);
#define AT(m, i, j) ag_tensor_get(m, (i) * 3 + (j))
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++) s += AT(c, i, k) * AT(a, j, k) + AT(a, k, i) * AT(c, k, j);
            for (int r = 0; r < 2; r++) s += AT(x, r, i) * AT(d, r, j);
            ck_assert_double_eq_tol(AT(ag_tensor_grad(a), i, j), s, 1e-12);
        }
#undef AT
    ag_tensor_free(zeroed), ag_tensor_free(a), ag_tensor_free(x), ag_tensor_free(c);
    ag_tensor_free(d);
    ag_tape_free(t);
}
END_TEST

/*
** A large weight used at several steps (a recurrent layer's): after the
** first step's gradient is written, the products add the others straight
** into the grad (C += A^T B, AGI_GRAD_ADDS), also through ag_linear and a
** batched product summed over its batch. The grad equals ag_grad's (which
** adds separately made gradients), and two backward passes give twice it.
** h1 = tanh(x @ W), h2 = tanh(linear(h1, W)), h3 = tanh(xs @ W) [2,4,64];
** loss = sum(c * h2) + sum(e * h3).
*/
static ag_tensor *shared_weight_loss(ag_tape *t, ag_tensor *x, ag_tensor *xs, ag_tensor *w,
                                     ag_tensor *c, ag_tensor *e)
{
    ag_tensor *h1 = ag_tanh(t, ag_matmul(t, x, w));
    ag_tensor *h2 = ag_tanh(t, ag_linear(t, h1, w, NULL));
    ag_tensor *h3 = ag_tanh(t, ag_matmul(t, xs, w));
    return ag_add(t, sum_all(t, ag_mul(t, c, h2)), sum_all(t, ag_mul(t, e, h3)));
}

START_TEST(test_clear_grad_large_weight_adds_in_place)
{
    for (int dt = AG_F32; dt <= AG_F64; dt++) {
        ag_tensor *w = leaf(dt, 2, SHAPE(64, 64), 31), *x = leaf(dt, 2, SHAPE(4, 64), 32);
        ag_tensor *xs = leaf(dt, 3, SHAPE(2, 4, 64), 33), *c = leaf(dt, 2, SHAPE(4, 64), 34);
        ag_tensor *e = leaf(dt, 3, SHAPE(2, 4, 64), 35), *ref = NULL, *once = NULL;
        ag_set_requires_grad(x, 0), ag_set_requires_grad(xs, 0);
        ag_set_requires_grad(c, 0), ag_set_requires_grad(e, 0);
        ag_tape *t = ag_tape_new();
        ck_assert_int_eq(ag_grad(t, 1, (ag_tensor *[]){shared_weight_loss(t, x, xs, w, c, e)},
                                 NULL, 1, &w, &ref, 0), AG_OK);
        ref = ag_tensor_clone(ref);
        const double tol = dt == AG_F64 ? 1e-12 : 2e-5;
        for (int round = 0; round < 3; round++) {
            if (round < 2) ag_clear_grad(w);     /* round 2 adds to round 1's */
            ag_tape_reset(t);
            ck_assert_int_eq(ag_backward(t, shared_weight_loss(t, x, xs, w, c, e)), AG_OK);
            const ag_tensor *g = ag_tensor_grad(w);
            ck_assert_ptr_nonnull(g);
            for (int64_t i = 0; i < 64 * 64; i++)
                ck_assert_double_eq_tol(ag_tensor_get(g, i),
                                        (round == 2 ? 2 : 1) * ag_tensor_get(ref, i),
                                        tol * (1 + fabs(ag_tensor_get(ref, i))));
            if (round == 0) once = ag_tensor_clone(g);
            if (round == 1) assert_same_bits(g, once);     /* the same path again */
        }
        ag_tensor_free(once), ag_tensor_free(ref), ag_tensor_free(w), ag_tensor_free(x);
        ag_tensor_free(xs), ag_tensor_free(c), ag_tensor_free(e);
        ag_tape_free(t);
    }
}
END_TEST

/* ag_grad returns gradients and leaves a none grad none; ag_backward after
   ag_grad with create_graph still writes the grad. */
START_TEST(test_clear_grad_and_functional_grad)
{
    ag_tensor *w = leaf(AG_F64, 2, SHAPE(2, 3), 21), *x = leaf(AG_F64, 2, SHAPE(4, 3), 22);
    ag_set_requires_grad(x, 0);
    ag_tape *t = ag_tape_new();
    ag_tensor *loss = sum_all(t, ag_linear(t, x, w, NULL));
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);
    ag_clear_grad(w);
    ag_tensor *g = NULL;
    ck_assert_int_eq(ag_grad(t, 1, &loss, NULL, 1, &w, &g, 1), AG_OK);
    ck_assert_ptr_null(ag_tensor_grad(w));
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);
    assert_same_bits(ag_tensor_grad(w), g);
    for (int o = 0; o < 2; o++)                  /* dw[o][q] = sum_i x[i][q] */
        for (int q = 0; q < 3; q++) {
            double s = 0;
            for (int i = 0; i < 4; i++) s += ag_tensor_get(x, i * 3 + q);
            ck_assert_double_eq_tol(ag_tensor_get(g, o * 3 + q), s, 1e-12);
        }
    ag_tape_free(t);
    ag_tensor_free(w), ag_tensor_free(x);
}
END_TEST

/* The optimizer skips a none grad (its parameter and state unchanged);
   ag_optim_clear_grad and ag_module_clear_grad clear every grad. */
START_TEST(test_clear_grad_optimizer_and_module)
{
    ag_tensor *p1 = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_tensor *p2 = tu_tensor(AG_F64, 1, SHAPE(2), VALS(3, 4));
    ag_set_requires_grad(p1, 1), ag_set_requires_grad(p2, 1);
    ag_tensor *ps[2] = {p1, p2};
    ag_optim *o = ag_sgd_new(2, ps, &(ag_sgd_opts){.lr = 0.5});
    ck_assert_ptr_nonnull(o);
    ag_tape *t = ag_tape_new();
    ck_assert_int_eq(ag_backward(t, sum_all(t, ag_add(t, ag_mul(t, p1, p1), p2))), AG_OK);
    ag_optim_clear_grad(o);
    ck_assert_ptr_null(ag_tensor_grad(p1));
    ck_assert_ptr_null(ag_tensor_grad(p2));
    ag_tape_reset(t);
    ck_assert_int_eq(ag_backward(t, sum_all(t, ag_mul(t, p1, p1))), AG_OK);   /* p1 only */
    ck_assert_int_eq(ag_optim_step(o), AG_OK);
    tu_assert_values(p1, VALS(0, 0), 2, 0);          /* p - 0.5 * 2p */
    tu_assert_values(p2, VALS(3, 4), 2, 0);          /* skipped */
    ag_optim_free(o);
    ag_tape_free(t);
    ag_tensor_free(p1), ag_tensor_free(p2);

    ag_rng *r = ag_rng_new(4);
    ag_module *m = ag_sequential_new(2, (ag_module *[]){ag_linear_new(3, 2, 1, AG_F64, r),
                                                       ag_linear_new(2, 1, 1, AG_F64, r)});
    ag_rng_free(r);
    ck_assert_ptr_nonnull(m);
    ag_tensor *mp[4];
    ck_assert_int_eq(ag_module_parameters(m, mp, 4), 4);
    t = ag_tape_new();
    ag_tensor *in = ag_ones(t, AG_F64, 2, SHAPE(1, 3));
    ck_assert_int_eq(ag_backward(t, sum_all(t, ag_module_forward(m, t, in))), AG_OK);
    for (int k = 0; k < 4; k++) ck_assert_ptr_nonnull(ag_tensor_grad(mp[k]));
    ag_module_clear_grad(m);
    for (int k = 0; k < 4; k++) ck_assert_ptr_null(ag_tensor_grad(mp[k]));
    ag_tape_free(t);
    ag_module_free(m);
}
END_TEST

/* ag_set_grad: a copy of g becomes x's grad; backward adds to it; NULL
   clears; a tape leaf too; clipping acts on a set grad; errors. */
START_TEST(test_set_grad_copies_then_backward_adds)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ck_assert_int_eq(ag_set_requires_grad(x, 1), AG_OK);
    ag_tensor *g = tu_tensor(AG_F64, 1, SHAPE(3), VALS(3, 0, -4));
    ck_assert_int_eq(ag_set_grad(x, g), AG_OK);
    ag_tensor_set(g, 0, 100);                       /* a copy: x's grad keeps 3 */
    tu_assert_values(ag_tensor_grad(x), VALS(3, 0, -4), 3, 0);
    /* clip to norm 1: the grad was (3, 0, -4), norm 5 */
    double norm = 0;
    ck_assert_int_eq(ag_clip_grad_norm(1, &x, 1.0, 2.0, 0, &norm), AG_OK);
    ck_assert(norm == 5.0);
    tu_assert_values(ag_tensor_grad(x), VALS(0.6, 0, -0.8), 3, 1e-6);
    /* d/dx sum(x*x) = 2x adds to it */
    ck_assert_int_eq(ag_backward(t, sum_all(t, ag_mul(t, x, x))), AG_OK);
    tu_assert_values(ag_tensor_grad(x), VALS(2.6, 4, 5.2), 3, 1e-6);
    ck_assert_int_eq(ag_set_grad(x, NULL), AG_OK);
    ck_assert_ptr_null(ag_tensor_grad(x));
    /* a tape leaf and a g on the tape */
    ag_tensor *y = ag_from_f64(t, AG_F32, 2, SHAPE(1, 2), VALS(5, 6));
    ck_assert_int_eq(ag_set_grad(y, ag_from_f64(t, AG_F32, 2, SHAPE(1, 2), VALS(-1, 7))), AG_OK);
    tu_assert_values(ag_tensor_grad(y), VALS(-1, 7), 2, 0);
    /* errors leave x's grad as it was */
    ck_assert_int_eq(ag_set_grad(x, g), AG_OK);
    ag_tensor *bad = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ck_assert_int_eq(ag_set_grad(x, bad), AG_ERR_SHAPE);
    ck_assert_str_eq(ag_last_error(), "ag_set_grad: g is f64 [2], x is f64 [3]: a grad has its "
                                      "tensor's dtype and shape");
    tu_assert_values(ag_tensor_grad(x), VALS(100, 0, -4), 3, 0);
    ag_tensor *g32 = ag_from_f64(t, AG_F32, 1, SHAPE(3), VALS(1, 1, 1));
    ck_assert_int_eq(ag_set_grad(x, g32), AG_ERR_SHAPE);
    ck_assert_int_eq(ag_set_grad(ag_mul(t, x, x), g), AG_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_set_grad: x is not a leaf"));
    ck_assert_int_eq(ag_set_grad(NULL, g), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_set_grad: x is NULL");
    ag_tape_reset(t);
    ck_assert_int_eq(ag_set_grad(x, g32), AG_ERR_STATE);  /* g32 is stale */
    ag_tensor_free(bad);
    ag_tensor_free(g);
    ag_tensor_free(x);
    ag_tape_free(t);
}
END_TEST

Suite *suite_clear_grad(void)
{
    Suite *s = suite_create("clear_grad");
    TU_ADD(s, test_clear_grad_reads_none_then_is_written_then_adds);
    TU_ADD(s, test_set_grad_copies_then_backward_adds);
    TU_ADD(s, test_clear_grad_tape_leaf);
    TU_ADD(s, test_clear_grad_products_write_in_place_same_bits);
    TU_ADD(s, test_clear_grad_leaf_used_twice);
    TU_ADD(s, test_clear_grad_large_weight_adds_in_place);
    TU_ADD(s, test_clear_grad_and_functional_grad);
    TU_ADD(s, test_clear_grad_optimizer_and_module);
    return s;
}
