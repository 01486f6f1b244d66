/*
** test_clip.c: gradient clipping by global norm (2, 1 and infinity norms)
** and by value, the max-norm weight constraint, and annealed gradient
** noise (its sample variance against eta / (1 + step)^gamma), with the
** error paths of each.
*/
#include "test_util.h"

#include <float.h>

/* A persistent parameter of n f64 values whose grad is g (set by a
   backward of sum(g * p)). */
static ag_tensor *param_with_grad(ag_dtype dt, int ndim, const int64_t *shape,
                                  const double *vals, const double *g)
{
    ag_tensor *p = tu_tensor(dt, ndim, shape, vals);
    ag_set_requires_grad(p, 1);
    ag_tensor *gt = tu_tensor(dt, ndim, shape, g);
    ag_tape *t = ag_tape_new();
    ck_assert_int_eq(ag_backward(t, ag_sum(t, ag_mul(t, gt, p), AG_ALL, 0)), AG_OK);
    ag_tape_free(t);
    ag_tensor_free(gt);
    return p;
}

static double grad_at(ag_tensor *p, int64_t i) { return ag_tensor_get(ag_tensor_grad(p), i); }

/* ag_clip_grad_norm that must succeed; its total norm. */
static double clip_norm(int n, ag_tensor *const *p, double max_norm, double norm_type)
{
    double total = -1;
    ck_assert_int_eq(ag_clip_grad_norm(n, p, max_norm, norm_type, 0, &total), AG_OK);
    return total;
}

START_TEST(test_clip_grad_norm_l2)
{
    /* grads {3, 4} and {12}: global norm 13 */
    ag_tensor *p[3] = {param_with_grad(AG_F64, 1, SHAPE(2), VALS(1, 1), VALS(3, 4)),
                       param_with_grad(AG_F64, 0, NULL, VALS(1), VALS(12)),
                       tu_tensor(AG_F64, 1, SHAPE(2), VALS(5, 5))};    /* no grad */
    double norm = clip_norm(3, p, 6.5, 2.0);
    ck_assert_double_eq_tol(norm, 13, 1e-14);
    double coef = 6.5 / (13 + 1e-6);
    ck_assert_double_eq_tol(grad_at(p[0], 0), 3 * coef, 1e-14);
    ck_assert_double_eq_tol(grad_at(p[0], 1), 4 * coef, 1e-14);
    ck_assert_double_eq_tol(grad_at(p[1], 0), 12 * coef, 1e-14);
    double after = sqrt(pow(grad_at(p[0], 0), 2) + pow(grad_at(p[0], 1), 2) +
                        pow(grad_at(p[1], 0), 2));
    ck_assert_double_le(fabs(after - 6.5) / 6.5, 1e-6);
    ck_assert_ptr_null(ag_tensor_grad(p[2]));
    /* below max_norm: returned, grads untouched */
    norm = clip_norm(2, p, 100, 2.0);
    ck_assert_double_eq_tol(norm, after, 1e-14);
    ck_assert_double_eq_tol(grad_at(p[1], 0), 12 * coef, 1e-14);
    /* no grads at all: 0 */
    ck_assert_double_eq(clip_norm(1, &p[2], 1.0, 2.0), 0);
    for (int i = 0; i < 3; i++) ag_tensor_free(p[i]);
}
END_TEST

START_TEST(test_clip_grad_norm_inf_and_l1)
{
    ag_tensor *p[2] = {param_with_grad(AG_F64, 1, SHAPE(2), VALS(1, 1), VALS(3, -4)),
                       param_with_grad(AG_F64, 1, SHAPE(1), VALS(1), VALS(-12))};
    double norm = clip_norm(2, p, 6, INFINITY);
    ck_assert_double_eq(norm, 12);
    double coef = 6 / (12 + 1e-6);
    ck_assert_double_eq_tol(grad_at(p[1], 0), -12 * coef, 1e-14);
    ck_assert_double_eq_tol(grad_at(p[0], 1), -4 * coef, 1e-14);
    /* 1-norm of the clipped grads: 19 * coef; clip it to 1 */
    norm = clip_norm(2, p, 1, 1.0);
    ck_assert_double_eq_tol(norm, 19 * coef, 1e-13);
    double sum = fabs(grad_at(p[0], 0)) + fabs(grad_at(p[0], 1)) + fabs(grad_at(p[1], 0));
    ck_assert_double_le(fabs(sum - 1), 1e-6);
    /* p = 3: (27 + 64 + 1728)^(1/3) before clipping */
    ag_tensor *q = param_with_grad(AG_F64, 1, SHAPE(3), VALS(0, 0, 0), VALS(3, -4, 12));
    ck_assert_double_eq_tol(clip_norm(1, &q, 1e9, 3.0), cbrt(27 + 64 + 1728), 1e-12);
    ag_tensor_free(q);
    ag_tensor_free(p[0]), ag_tensor_free(p[1]);
}
END_TEST

START_TEST(test_clip_grad_norm_f32_and_nonfinite)
{
    ag_tensor *p = param_with_grad(AG_F32, 1, SHAPE(2), VALS(1, 1), VALS(6, 8));
    ck_assert_double_eq_tol(clip_norm(1, &p, 1, 2.0), 10, 1e-12);
    ck_assert_double_eq_tol(grad_at(p, 0), 0.6, 1e-6);
    ck_assert_double_eq_tol(grad_at(p, 1), 0.8, 1e-6);
    ag_tensor_free(p);
    /* an Inf grad, as PyTorch 1.13: the norm is Inf and the grads are scaled by
       max_norm / (inf + 1e-6) = 0 (torch: [nan, 0.]) ... */
    ag_tensor *q = param_with_grad(AG_F64, 1, SHAPE(2), VALS(1, 1), VALS(INFINITY, 1));
    ck_assert(isinf(clip_norm(1, &q, 1, 2.0)));
    ck_assert(isnan(grad_at(q, 0)));
    ck_assert_double_eq(grad_at(q, 1), 0);
    ag_tensor_free(q);
    /* ... unless error_if_nonfinite: AG_ERR_ANOMALY, the norm, grads unchanged */
    q = param_with_grad(AG_F64, 1, SHAPE(2), VALS(1, 1), VALS(INFINITY, 1));
    double total = 0;
    ck_assert_int_eq(ag_clip_grad_norm(1, &q, 1, 2.0, 1, &total), AG_ERR_ANOMALY);
    ck_assert(isinf(total));
    ck_assert_str_eq(ag_last_error(), "ag_clip_grad_norm: the total norm of order 2 of the "
                     "gradients is inf, so it cannot be clipped (grads left unchanged; "
                     "error_if_nonfinite is set)");
    ck_assert(isinf(grad_at(q, 0)));
    ck_assert_double_eq(grad_at(q, 1), 1);
    ag_tensor_free(q);
}
END_TEST

/* Grads far from 1 (f64 of 1e200, 1e-200, 1e305, 1e-305) give their true
   norm, each order p, and clip to it: the sum of squares is scaled before
   it overflows or underflows. Before, 1e200 gave an infinite norm and no
   clipping, 1e-200 a norm of 0. */
START_TEST(test_clip_grad_norm_without_overflow_or_underflow)
{
    static const double scales[4] = {1e200, 1e-200, 1e305, 1e-305};
    const double exact[4] = {13, 19, cbrt(27 + 64 + 1728), 12};  /* p = 2, 1, 3, inf */
    const double ps[4] = {2, 1, 3, INFINITY};
    for (int k = 0; k < 4; k++) {
        double sc = scales[k];
        for (int j = 0; j < 4; j++) {
            ag_tensor *p[2] = {param_with_grad(AG_F64, 1, SHAPE(2), VALS(0, 0),
                                               VALS(3 * sc, -4 * sc)),
                               param_with_grad(AG_F64, 0, NULL, VALS(0), VALS(12 * sc))};
            double norm = clip_norm(2, p, 1, ps[j]), want = exact[j] * sc;
            ck_assert_msg(fabs(norm - want) <= 4 * DBL_EPSILON * want, "scale %g, p %g: norm "
                          "%.17g, exact %.17g", sc, ps[j], norm, want);
            /* clipped to norm 1 when that is a reduction */
            double coef = 1 / (norm + 1e-6), g0 = grad_at(p[0], 0);
            if (coef < 1)
                ck_assert_double_eq_tol(g0, 3 * sc * coef, 4 * DBL_EPSILON * fabs(g0));
            else
                ck_assert_double_eq(g0, 3 * sc);
            ag_tensor_free(p[0]), ag_tensor_free(p[1]);
        }
    }
    /* a NaN grad gives a NaN norm in every order (the inf norm dropped it) */
    ag_tensor *q[2] = {param_with_grad(AG_F64, 1, SHAPE(2), VALS(0, 0), VALS(NAN, 1)),
                       param_with_grad(AG_F64, 1, SHAPE(1), VALS(0), VALS(5))};
    double total = 0;
    ck_assert_int_eq(ag_clip_grad_norm(2, q, 1, INFINITY, 1, &total), AG_ERR_ANOMALY);
    ck_assert(isnan(total));
    ck_assert_int_eq(ag_clip_grad_norm(2, q, 1, 2, 1, &total), AG_ERR_ANOMALY);
    ck_assert(isnan(total));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "order 2 of the gradients is nan"));
    ck_assert_double_eq(grad_at(q[1], 0), 5);
    /* without error_if_nonfinite, PyTorch's: every grad times NaN */
    ck_assert(isnan(clip_norm(2, q, 1, 2)));
    ck_assert(isnan(grad_at(q[1], 0)));
    ag_tensor_free(q[0]), ag_tensor_free(q[1]);
}
END_TEST

START_TEST(test_clip_grad_norm_rejects_bad_arguments)
{
    ag_tensor *p = param_with_grad(AG_F64, 1, SHAPE(2), VALS(1, 1), VALS(3, 4));
    double total = 0;
    ck_assert_int_eq(ag_clip_grad_norm(0, &p, 1, 2, 0, &total), AG_ERR_ARG);
    ck_assert(isnan(total));
    ck_assert_str_eq(ag_last_error(), "ag_clip_grad_norm: no parameters (n is 0)");
    ag_tensor *two[2] = {p, NULL};
    ck_assert_int_eq(ag_clip_grad_norm(2, two, 1, 2, 0, &total), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_clip_grad_norm: parameter 1 is NULL");
    ck_assert_int_eq(ag_clip_grad_norm(1, &p, -1, 2, 0, NULL), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_clip_grad_norm: max_norm is -1, must be >= 0");
    ck_assert_int_eq(ag_clip_grad_norm(1, &p, NAN, 2, 1, &total), AG_ERR_ARG);
    ck_assert(isnan(total));
    ck_assert_int_eq(ag_clip_grad_norm(1, &p, 1, 0, 0, &total), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "norm_type is 0, must be > 0"));
    ck_assert_int_eq(ag_clip_grad_norm(1, &p, 1, NAN, 0, &total), AG_ERR_ARG);
    tu_assert_values(ag_tensor_grad(p), VALS(3, 4), 2, 0);   /* nothing changed */
    /* a NULL total_norm is allowed */
    ck_assert_int_eq(ag_clip_grad_norm(1, &p, 1, 2, 1, NULL), AG_OK);
    tu_assert_values(ag_tensor_grad(p), VALS(3 / (5 + 1e-6), 4 / (5 + 1e-6)), 2, 1e-15);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_clip_grad_value)
{
    ag_tensor *p[2] = {param_with_grad(AG_F64, 1, SHAPE(3), VALS(0, 0, 0), VALS(3, -4, 0.5)),
                       param_with_grad(AG_F32, 2, SHAPE(1, 2), VALS(0, 0), VALS(-0.25, 7))};
    ck_assert_int_eq(ag_clip_grad_value(2, p, 1.0), AG_OK);
    tu_assert_values(ag_tensor_grad(p[0]), VALS(1, -1, 0.5), 3, 0);
    tu_assert_values(ag_tensor_grad(p[1]), VALS(-0.25, 1), 2, 0);
    ck_assert_int_eq(ag_clip_grad_value(2, p, -1), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_clip_grad_value: clip is -1, must be >= 0");
    ck_assert_int_eq(ag_clip_grad_value(2, p, NAN), AG_ERR_ARG);
    ck_assert_int_eq(ag_clip_grad_value(0, p, 1), AG_ERR_ARG);
    ag_tensor_free(p[0]), ag_tensor_free(p[1]);
}
END_TEST

START_TEST(test_max_norm_constraint_rows)
{
    /* rows of norm 5, 1 and exactly 2; max_norm 2 scales only the first */
    ag_tensor *w = tu_tensor(AG_F64, 2, SHAPE(3, 2), VALS(3, 4, 0.6, 0.8, 0, 2));
    ck_assert_int_eq(ag_max_norm_constraint(w, 2.0), AG_OK);
    double s = 2 / (5 + 1e-7);
    tu_assert_values(w, VALS(3 * s, 4 * s, 0.6, 0.8, 0, 2), 6, 1e-15);
    for (int r = 0; r < 3; r++)
        ck_assert_double_le(hypot(ag_tensor_get(w, 2 * r), ag_tensor_get(w, 2 * r + 1)), 2.0);
    ag_tensor_free(w);
    /* [out, in, k]: each output unit's slice as one row */
    ag_tensor *c = tu_tensor(AG_F32, 3, SHAPE(2, 2, 2), VALS(1, 1, 1, 1, 0.1, 0.1, 0.1, 0.1));
    ck_assert_int_eq(ag_max_norm_constraint(c, 1.0), AG_OK);
    double s2 = 1 / (2 + 1e-7);
    tu_assert_values(c, VALS(s2, s2, s2, s2, 0.1, 0.1, 0.1, 0.1), 8, 1e-7);
    ag_tensor_free(c);
}
END_TEST

START_TEST(test_max_norm_constraint_rejects_bad_arguments)
{
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(2), VALS(3, 4));
    ck_assert_int_eq(ag_max_norm_constraint(v, 1), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_max_norm_constraint: weight is 1-D, must be at "
                     "least 2-D ([out, in, ...])");
    ck_assert_int_eq(ag_max_norm_constraint(NULL, 1), AG_ERR_ARG);
    ag_tensor *w = tu_tensor(AG_F64, 2, SHAPE(1, 2), VALS(3, 4));
    ck_assert_int_eq(ag_max_norm_constraint(w, -1), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_max_norm_constraint: max_norm is -1, must be finite "
                     "and >= 0");
    ck_assert_int_eq(ag_max_norm_constraint(w, INFINITY), AG_ERR_ARG);
    tu_assert_values(w, VALS(3, 4), 2, 0);
    ag_tensor_free(v);
    ag_tensor_free(w);
}
END_TEST

/* Mean and variance of a tensor's elements. */
static void moments(ag_tensor *x, double *mean, double *var)
{
    int64_t n = ag_tensor_numel(x);
    double s = 0, ss = 0;
    for (int64_t i = 0; i < n; i++) s += ag_tensor_get(x, i);
    *mean = s / n;
    for (int64_t i = 0; i < n; i++) ss += pow(ag_tensor_get(x, i) - *mean, 2);
    *var = ss / (n - 1);
}

START_TEST(test_grad_noise_variance_follows_schedule)
{
    /* 50,000 draws: the sample variance's relative s.d. is 0.6%; 3% is 5 s.d. */
    enum { N = 50000 };
    ag_tensor *p = ag_zeros(NULL, AG_F64, 1, SHAPE(N));
    ag_set_requires_grad(p, 1);
    ag_tape *t = ag_tape_new();
    ck_assert_int_eq(ag_backward(t, ag_sum(t, p, AG_ALL, 0)), AG_OK);   /* grad = 1 */
    ag_tape_free(t);
    ag_rng *rng = ag_rng_new(7);
    const int64_t steps[3] = {0, 9, 99};
    for (int k = 0; k < 3; k++) {
        ag_zero_grad(p);
        ck_assert_int_eq(ag_grad_noise_add(1, &p, rng, 0.3, 0.55, steps[k]), AG_OK);
        double want = 0.3 / pow(1 + steps[k], 0.55), mean, var;
        moments(ag_tensor_grad(p), &mean, &var);
        ck_assert_msg(fabs(var / want - 1) < 0.03, "step %lld: variance %g, expected %g",
                      (long long)steps[k], var, want);
        ck_assert_double_le(fabs(mean), 5 * sqrt(want / N));
    }
    ag_rng_free(rng);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_grad_noise_adds_to_the_grad)
{
    /* same seed, same draws: grad = 1 + the normals a fresh generator gives */
    ag_tensor *p[2] = {param_with_grad(AG_F32, 1, SHAPE(3), VALS(0, 0, 0), VALS(1, 2, 3)),
                       tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 0))};       /* no grad */
    ag_rng *r1 = ag_rng_new(11), *r2 = ag_rng_new(11);
    ck_assert_int_eq(ag_grad_noise_add(2, p, r1, 4.0, 1.0, 3), AG_OK);   /* sigma 1 */
    for (int k = 0; k < 3; k++)
        ck_assert_double_eq_tol(grad_at(p[0], k), k + 1 + ag_rng_normal(r2), 1e-6);
    ck_assert_ptr_null(ag_tensor_grad(p[1]));
    ag_rng_free(r1), ag_rng_free(r2);
    ag_tensor_free(p[0]), ag_tensor_free(p[1]);
}
END_TEST

START_TEST(test_grad_noise_rejects_bad_arguments)
{
    ag_tensor *p = param_with_grad(AG_F64, 1, SHAPE(2), VALS(0, 0), VALS(1, 2));
    ag_rng *r = ag_rng_new(1);
    ck_assert_int_eq(ag_grad_noise_add(1, &p, NULL, 0.3, 0.55, 0), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_grad_noise_add: rng is NULL");
    ck_assert_int_eq(ag_grad_noise_add(1, &p, r, -0.3, 0.55, 0), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_grad_noise_add: eta is -0.3, must be finite and >= 0");
    ck_assert_int_eq(ag_grad_noise_add(1, &p, r, 0.3, NAN, 0), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "gamma is nan"));
    ck_assert_int_eq(ag_grad_noise_add(1, &p, r, 0.3, 0.55, -1), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "step is -1, must be >= 0"));
    ck_assert_int_eq(ag_grad_noise_add(0, &p, r, 0.3, 0.55, 0), AG_ERR_ARG);
    tu_assert_values(ag_tensor_grad(p), VALS(1, 2), 2, 0);
    ag_rng_free(r);
    ag_tensor_free(p);
}
END_TEST

Suite *suite_clip(void)
{
    Suite *s = suite_create("clip");
    TU_ADD(s, test_clip_grad_norm_l2);
    TU_ADD(s, test_clip_grad_norm_inf_and_l1);
    TU_ADD(s, test_clip_grad_norm_f32_and_nonfinite);
    TU_ADD(s, test_clip_grad_norm_without_overflow_or_underflow);
    TU_ADD(s, test_clip_grad_norm_rejects_bad_arguments);
    TU_ADD(s, test_clip_grad_value);
    TU_ADD(s, test_max_norm_constraint_rows);
    TU_ADD(s, test_max_norm_constraint_rejects_bad_arguments);
    TU_ADD(s, test_grad_noise_variance_follows_schedule);
    TU_ADD(s, test_grad_noise_adds_to_the_grad);
    TU_ADD(s, test_grad_noise_rejects_bad_arguments);
    return s;
}
