/*
** test_update.c: the fused Adam update (ag_update.h). Its values equal
** the rule written with ops (mul_scalar, addcmul, maximum, sqrt, addcdiv,
** lerp_out, addcdiv_out: the composition PyTorch's Adam runs) bit for bit
** in f32 and f64, with every option, for tensors whose sizes leave tails
** and for one split over threads; one element checked against the
** published rule in doubles; error paths write nothing.
*/
#include "test_util.h"

#include <stdlib.h>

/* param, grad and the three state tensors of one case. */
typedef struct upd_set {
    ag_tensor *p, *g, *m, *v, *vmax;
} upd_set;

/* A set of n elements of dtype dt from seed: p, g normal; m normal small;
   v, vmax uniform in [0, 0.01) (averages of squares are >= 0). */
static upd_set set_new(ag_dtype dt, int64_t n, uint64_t seed)
{
    ag_rng *r = ag_rng_new(seed);
    const int64_t shape[1] = {n};
    upd_set s = {ag_rand_normal(NULL, r, dt, 1, shape, 0, 1),
                 ag_rand_normal(NULL, r, dt, 1, shape, 0, 1),
                 ag_rand_normal(NULL, r, dt, 1, shape, 0, 0.1),
                 ag_rand_uniform(NULL, r, dt, 1, shape, 0, 0.01),
                 ag_rand_uniform(NULL, r, dt, 1, shape, 0, 0.01)};
    ag_rng_free(r);
    ck_assert(s.p && s.g && s.m && s.v && s.vmax);
    return s;
}

static void set_free(upd_set *s)
{
    ag_tensor_free(s->p), ag_tensor_free(s->g), ag_tensor_free(s->m);
    ag_tensor_free(s->v), ag_tensor_free(s->vmax);
}

static void assert_same_bits(ag_tensor *a, ag_tensor *b, const char *what)
{
    size_t size = (size_t)ag_tensor_numel(a) * (ag_tensor_dtype(a) == AG_F64 ? 8 : 4);
    ck_assert_msg(memcmp(ag_tensor_data(a), ag_tensor_data(b), size) == 0,
                  "%s differs from the composed rule", what);
}

/* The same step written with ops on tape t (grad mode off), into s. */
static void composed_step(ag_tape *t, upd_set *s, const ag_adam_hparams *h)
{
    double step = (double)h->step;
    double bc1 = 1 - pow(h->beta1, step), bc2_sqrt = sqrt(1 - pow(h->beta2, step));
    ag_dtype dt = ag_tensor_dtype(s->p);
    ag_tensor *g = s->g, *base = s->p;
    if (h->maximize) g = ag_neg(t, g);
    if (!h->decoupled && h->weight_decay != 0)
        g = ag_add(t, g, ag_mul_scalar(t, s->p, h->weight_decay));
    if (h->decoupled && h->weight_decay != 0) base = ag_mul_scalar(t, s->p, 1 - h->lr * h->weight_decay);
    ag_tensor *v = ag_addcmul(t, ag_mul_scalar(t, s->v, h->beta2), g, g, 1 - h->beta2);
    ck_assert_int_eq(ag_assign(s->v, v), AG_OK);
    if (h->amsgrad) {
        ck_assert_int_eq(ag_assign(s->vmax, ag_maximum(t, s->vmax, s->v)), AG_OK);
        v = s->vmax;
    }
    ag_tensor *den = ag_addcdiv(t, ag_scalar(t, dt, h->eps), ag_sqrt(t, v),
                                ag_scalar(t, dt, bc2_sqrt), 1);
    ck_assert_ptr_nonnull(ag_lerp_out(t, s->m, s->m, g, 1 - h->beta1));
    ck_assert_ptr_nonnull(ag_addcdiv_out(t, s->p, base, s->m, den, -h->lr / bc1));
    ck_assert_int_eq(ag_tape_status(t), AG_OK);
    ag_tape_reset(t);
}

/* Three steps of h on two copies of one set, fused and composed; every
   tensor must agree bit for bit after each. */
static void check_against_composed(ag_dtype dt, int64_t n, ag_adam_hparams h)
{
    ag_tape *t = ag_tape_new();
    ag_set_grad_enabled(t, 0);
    upd_set a = set_new(dt, n, 7), b = set_new(dt, n, 7);
    for (int k = 1; k <= 3; k++) {
        h.step = k;
        ck_assert_ptr_eq(ag_adam_update(t, a.p, a.g, a.m, a.v, h.amsgrad ? a.vmax : NULL, &h),
                         a.p);
        ck_assert_int_eq(ag_tape_status(t), AG_OK);
        composed_step(t, &b, &h);
        assert_same_bits(a.p, b.p, "param");
        assert_same_bits(a.m, b.m, "exp_avg");
        assert_same_bits(a.v, b.v, "exp_avg_sq");
        assert_same_bits(a.vmax, b.vmax, "max_exp_avg_sq");
    }
    set_free(&a), set_free(&b);
    ag_tape_free(t);
}

static ag_adam_hparams plain(void)
{
    return (ag_adam_hparams){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .step = 1};
}

START_TEST(test_adam_update_matches_composed_rule)
{
    ag_dtype dts[2] = {AG_F32, AG_F64};
    for (int d = 0; d < 2; d++) {
        ag_adam_hparams h = plain();
        check_against_composed(dts[d], 1037, h);          /* 16-blocks and a tail */
        check_against_composed(dts[d], 1, h);
        h.weight_decay = 0.1, h.maximize = 1;             /* L2 decay, ascent */
        check_against_composed(dts[d], 300, h);
        h = plain();
        h.decoupled = 1, h.weight_decay = 0.05, h.amsgrad = 1, h.lr = 0.01;
        check_against_composed(dts[d], 515, h);
        h = plain();
        h.beta1 = 0.3, h.beta2 = 0.5;                     /* lerp's large-weight form */
        check_against_composed(dts[d], 77, h);
    }
}
END_TEST

START_TEST(test_adam_update_one_element_published_rule)
{
    /* f64, by hand: g = 0.5 + 0.1 * 2 = 0.7 (L2), m = (1 - 0.9) 0.7,
       v = (1 - 0.999) 0.49, m_hat = 0.7, v_hat = 0.49, so
       p = 2 - 0.01 * 0.7 / (0.7 + 1e-8) */
    ag_tape *t = ag_tape_new();
    ag_set_grad_enabled(t, 0);
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(1), VALS(2));
    ag_tensor *g = tu_tensor(AG_F64, 1, SHAPE(1), VALS(0.5));
    ag_tensor *m = tu_tensor(AG_F64, 1, SHAPE(1), VALS(0));
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(1), VALS(0));
    ag_adam_hparams h = {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                         .weight_decay = 0.1, .step = 1};
    ck_assert_ptr_eq(ag_adam_update(t, p, g, m, v, NULL, &h), p);
    double m1 = (1 - 0.9) * 0.7, v1 = (1 - 0.999) * 0.7 * 0.7;
    double p1 = 2 - 0.01 / (1 - 0.9) * m1 / (sqrt(v1) / sqrt(1 - 0.999) + 1e-8);
    tu_assert_values(m, VALS(m1), 1, 1e-17);
    tu_assert_values(v, VALS(v1), 1, 1e-18);
    tu_assert_values(p, VALS(p1), 1, 1e-15);
    ck_assert_double_eq_tol(ag_tensor_get(p, 0), 2 - 0.01 * 0.7 / (0.7 + 1e-8), 1e-15);
    /* the second step from there */
    h.step = 2;
    ck_assert_ptr_eq(ag_adam_update(t, p, g, m, v, NULL, &h), p);
    double g2 = 0.5 + 0.1 * p1, m2 = 0.9 * m1 + (1 - 0.9) * g2;
    double v2 = 0.999 * v1 + (1 - 0.999) * g2 * g2;
    double p2 = p1 - 0.01 / (1 - 0.81) * m2 / (sqrt(v2) / sqrt(1 - 0.999 * 0.999) + 1e-8);
    tu_assert_values(p, VALS(p2), 1, 1e-14);
    ag_tensor_free(p), ag_tensor_free(g), ag_tensor_free(m), ag_tensor_free(v);
    ag_tape_free(t);
}
END_TEST

START_TEST(test_adam_update_same_bits_any_thread_count)
{
    const int64_t n = 200003;                 /* split over the pool from 65,536 */
    ag_tape *t = ag_tape_new();
    ag_set_grad_enabled(t, 0);
    int keep = ag_get_num_threads();
    upd_set a = set_new(AG_F32, n, 3), b = set_new(AG_F32, n, 3);
    ag_adam_hparams h = plain();
    h.amsgrad = 1;
    ck_assert_int_eq(ag_set_num_threads(1), AG_OK);
    ck_assert_ptr_nonnull(ag_adam_update(t, a.p, a.g, a.m, a.v, a.vmax, &h));
    ck_assert_int_eq(ag_set_num_threads(2), AG_OK);
    ck_assert_ptr_nonnull(ag_adam_update(t, b.p, b.g, b.m, b.v, b.vmax, &h));
    assert_same_bits(a.p, b.p, "param (2 threads)");
    assert_same_bits(a.m, b.m, "exp_avg (2 threads)");
    assert_same_bits(a.v, b.v, "exp_avg_sq (2 threads)");
    assert_same_bits(a.vmax, b.vmax, "max_exp_avg_sq (2 threads)");
    ck_assert_int_eq(ag_set_num_threads(keep), AG_OK);
    set_free(&a), set_free(&b);
    ag_tape_free(t);
}
END_TEST

/* Asserts the call failed with status and message parts, and p is unchanged. */
#define assert_update_error(t, call, p, before, status, part1, part2)         \
    do {                                                                      \
        tu_assert_error(t, call, status, part1, part2);                       \
        ck_assert_double_eq(ag_tensor_get(p, 0), before);                     \
        ag_tape_reset(t);                                                     \
    } while (0)

START_TEST(test_adam_update_errors)
{
    ag_tape *t = ag_tape_new();
    ag_set_grad_enabled(t, 0);
    upd_set s = set_new(AG_F32, 4, 1);
    const double p0 = ag_tensor_get(s.p, 0);
    ag_tensor *g64 = ag_zeros(NULL, AG_F64, 1, SHAPE(4));
    ag_tensor *g5 = ag_zeros(NULL, AG_F32, 1, SHAPE(5));
    ag_adam_hparams h = plain();
    assert_update_error(t, ag_adam_update(t, s.p, g64, s.m, s.v, NULL, &h), s.p, p0,
                        AG_ERR_DTYPE, "ag_adam_update", "grad is f64, param is f32");
    assert_update_error(t, ag_adam_update(t, s.p, s.g, g5, s.v, NULL, &h), s.p, p0,
                        AG_ERR_SHAPE, "ag_adam_update", "exp_avg is [5], param is [4]");
    assert_update_error(t, ag_adam_update(t, s.p, s.g, s.m, NULL, NULL, &h), s.p, p0,
                        AG_ERR_ARG, "ag_adam_update", "exp_avg_sq");
    h.amsgrad = 1;
    assert_update_error(t, ag_adam_update(t, s.p, s.g, s.m, s.v, NULL, &h), s.p, p0,
                        AG_ERR_ARG, "ag_adam_update", "max_exp_avg_sq is NULL");
    h = plain();
    h.beta1 = 1;
    assert_update_error(t, ag_adam_update(t, s.p, s.g, s.m, s.v, NULL, &h), s.p, p0,
                        AG_ERR_ARG, "ag_adam_update", "beta1 is 1, must be in [0, 1)");
    h = plain();
    h.lr = NAN;
    assert_update_error(t, ag_adam_update(t, s.p, s.g, s.m, s.v, NULL, &h), s.p, p0,
                        AG_ERR_ARG, "ag_adam_update", "lr is nan");
    h = plain();
    h.step = 0;
    assert_update_error(t, ag_adam_update(t, s.p, s.g, s.m, s.v, NULL, &h), s.p, p0,
                        AG_ERR_ARG, "ag_adam_update", "step is 0, must be >= 1");
    assert_update_error(t, ag_adam_update(t, s.p, s.g, s.m, s.v, NULL, NULL), s.p, p0,
                        AG_ERR_ARG, "ag_adam_update", "h is NULL");
    /* with grad mode on, a tensor that requires grad is refused */
    h = plain();
    ag_set_grad_enabled(t, 1);
    ck_assert_int_eq(ag_set_requires_grad(s.p, 1), AG_OK);
    assert_update_error(t, ag_adam_update(t, s.p, s.g, s.m, s.v, NULL, &h), s.p, p0,
                        AG_ERR_ARG, "ag_adam_update", "param requires grad");
    ag_set_grad_enabled(t, 0);
    ck_assert_ptr_eq(ag_adam_update(t, s.p, s.g, s.m, s.v, NULL, &h), s.p);
    ck_assert(ag_tensor_get(s.p, 0) != p0);
    ag_tensor_free(g64), ag_tensor_free(g5);
    set_free(&s);
    ag_tape_free(t);
}
END_TEST

Suite *suite_update(void)
{
    Suite *s = suite_create("update");
    TU_ADD(s, test_adam_update_matches_composed_rule);
    TU_ADD(s, test_adam_update_one_element_published_rule);
    TU_ADD(s, test_adam_update_same_bits_any_thread_count);
    TU_ADD(s, test_adam_update_errors);
    return s;
}
