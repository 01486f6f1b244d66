/*
** test_init.c: parameter initialization. Fans and gains against PyTorch's
** definitions; each random scheme's sample mean and variance over a
** 512 x 1024 tensor against its formula; bounds of the uniform schemes;
** reproducibility from a seed; constants; error paths.
**
** Tolerances. Over n = 524288 draws the sample variance's relative
** standard error is sqrt(2/n) = 0.2% for a normal and sqrt(0.8/n) = 0.12%
** for a uniform, so 3% is over 10 standard errors. A nonzero mean is
** compared within 3% too; a zero mean within 5 standard errors of the
** mean, 5 * std / sqrt(n).
*/
#include "test_util.h"

enum { ROWS = 512, COLS = 1024 };
#define NUMEL ((int64_t)ROWS * COLS)

#define assert_last_error(part)                                               \
    ck_assert_msg(strstr(ag_last_error(), (part)) != NULL,                    \
                  "last error '%s' lacks '%s'", ag_last_error(), (part))

/* Sample mean and (biased) variance of x's elements. */
static void moments(const ag_tensor *x, double *mean, double *var)
{
    int64_t n = ag_tensor_numel(x);
    double s = 0, q = 0;
    for (int64_t i = 0; i < n; i++) s += ag_tensor_get(x, i);
    *mean = s / (double)n;
    for (int64_t i = 0; i < n; i++) {
        double d = ag_tensor_get(x, i) - *mean;
        q += d * d;
    }
    *var = q / (double)n;
}

/* Asserts the moments of x match mean and var as described at the top. */
static void assert_moments(const char *what, const ag_tensor *x, double mean, double var)
{
    double m, v;
    moments(x, &m, &v);
    ck_assert_msg(fabs(v - var) <= 0.03 * var, "%s: variance %.6g, expected %.6g", what, v, var);
    double tol = mean != 0 ? 0.03 * fabs(mean) : 5 * sqrt(var / (double)ag_tensor_numel(x));
    ck_assert_msg(fabs(m - mean) <= tol, "%s: mean %.6g, expected %.6g (tolerance %.3g)", what,
                  m, mean, tol);
}

/* Asserts every element of x is in [-bound, bound] and the largest |x|
   comes within 0.1% of bound (so the bound is the one intended). */
static void assert_bound(const char *what, const ag_tensor *x, double bound)
{
    double top = 0;
    for (int64_t i = 0; i < ag_tensor_numel(x); i++) top = fmax(top, fabs(ag_tensor_get(x, i)));
    ck_assert_msg(top <= bound * (1 + 1e-7) && top >= 0.999 * bound,
                  "%s: max |x| %.9g, bound %.9g", what, top, bound);
}

START_TEST(test_fans_and_gains)
{
    int64_t fi = -1, fo = -1;
    ag_tensor *w2 = ag_zeros(NULL, AG_F32, 2, SHAPE(64, 32));          /* [out, in] */
    ck_assert_int_eq(ag_init_fans(w2, &fi, &fo), AG_OK);
    ck_assert_int_eq(fi, 32);
    ck_assert_int_eq(fo, 64);
    ag_tensor *w4 = ag_zeros(NULL, AG_F32, 4, SHAPE(8, 4, 3, 5));      /* conv [out, in, kh, kw] */
    ck_assert_int_eq(ag_init_fans(w4, &fi, &fo), AG_OK);
    ck_assert_int_eq(fi, 4 * 15);
    ck_assert_int_eq(fo, 8 * 15);
    ag_tensor *b = ag_zeros(NULL, AG_F32, 1, SHAPE(8));
    ck_assert_int_eq(ag_init_fans(b, &fi, &fo), AG_ERR_SHAPE);
    assert_last_error("ag_init_fans: fan in and fan out need at least 2 dimensions");
    ck_assert_double_eq(ag_init_calculate_gain(AG_NL_LINEAR, 0), 1);
    ck_assert_double_eq(ag_init_calculate_gain(AG_NL_SIGMOID, 0), 1);
    ck_assert_double_eq(ag_init_calculate_gain(AG_NL_TANH, 0), 5.0 / 3);
    ck_assert_double_eq(ag_init_calculate_gain(AG_NL_RELU, 0), sqrt(2.0));
    ck_assert_double_eq(ag_init_calculate_gain(AG_NL_SELU, 0), 0.75);
    ck_assert_double_eq_tol(ag_init_calculate_gain(AG_NL_LEAKY_RELU, 0.2), sqrt(2 / 1.04), 1e-15);
    ck_assert_double_eq(ag_init_calculate_gain(AG_NL_LEAKY_RELU, 0), sqrt(2.0));
    ck_assert(isnan(ag_init_calculate_gain((ag_nonlinearity)42, 0)));
    assert_last_error("ag_init_calculate_gain: unknown nonlinearity 42");
    ag_tensor_free(w2);
    ag_tensor_free(w4);
    ag_tensor_free(b);
}
END_TEST

START_TEST(test_uniform_normal_constant)
{
    ag_rng *r = ag_rng_new(1);
    ag_tensor *w = ag_zeros(NULL, AG_F64, 2, SHAPE(ROWS, COLS));
    ck_assert_int_eq(ag_init_uniform(w, -2, 3, r), AG_OK);
    assert_moments("uniform(-2, 3)", w, 0.5, 25.0 / 12);
    double lo = 1e9, hi = -1e9;
    for (int64_t i = 0; i < NUMEL; i++) {
        lo = fmin(lo, ag_tensor_get(w, i));
        hi = fmax(hi, ag_tensor_get(w, i));
    }
    ck_assert(lo >= -2 && lo < -1.99 && hi < 3 && hi > 2.99);
    ck_assert_int_eq(ag_init_normal(w, 1.5, 2, r), AG_OK);
    assert_moments("normal(1.5, 2)", w, 1.5, 4);
    ck_assert_int_eq(ag_init_normal(w, 0, 0.02, r), AG_OK);
    assert_moments("normal(0, 0.02)", w, 0, 0.0004);
    ag_tensor *c = ag_zeros(NULL, AG_F32, 2, SHAPE(3, 4));
    ck_assert_int_eq(ag_init_constant(c, 0.3), AG_OK);
    for (int64_t i = 0; i < 12; i++) ck_assert_double_eq(ag_tensor_get(c, i), (float)0.3);
    ck_assert_int_eq(ag_init_ones(c), AG_OK);
    for (int64_t i = 0; i < 12; i++) ck_assert_double_eq(ag_tensor_get(c, i), 1);
    ck_assert_int_eq(ag_init_zeros(c), AG_OK);
    for (int64_t i = 0; i < 12; i++) ck_assert_double_eq(ag_tensor_get(c, i), 0);
    ag_tensor_free(w);
    ag_tensor_free(c);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_uniform_fan_in)
{
    ag_rng *r = ag_rng_new(2);
    ag_tensor *w = ag_zeros(NULL, AG_F32, 2, SHAPE(ROWS, COLS));
    ck_assert_int_eq(ag_init_uniform_fan_in(w, COLS, r), AG_OK);
    double b = 1 / sqrt((double)COLS);
    assert_moments("uniform_fan_in", w, 0, b * b / 3);
    assert_bound("uniform_fan_in", w, b);
    ck_assert_int_eq(ag_init_uniform_fan_in(w, 0, r), AG_OK);            /* bound 0 */
    for (int64_t i = 0; i < NUMEL; i += 4099) ck_assert_double_eq(ag_tensor_get(w, i), 0);
    ag_tensor_free(w);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_xavier)
{
    ag_rng *r = ag_rng_new(3);
    ag_tensor *w = ag_zeros(NULL, AG_F32, 2, SHAPE(ROWS, COLS));
    const double gain = ag_init_calculate_gain(AG_NL_TANH, 0);
    const double var = gain * gain * 2.0 / (ROWS + COLS);
    ck_assert_int_eq(ag_init_xavier_uniform(w, gain, r), AG_OK);
    assert_moments("xavier_uniform", w, 0, var);
    assert_bound("xavier_uniform", w, gain * sqrt(6.0 / (ROWS + COLS)));
    ck_assert_int_eq(ag_init_xavier_normal(w, gain, r), AG_OK);
    assert_moments("xavier_normal", w, 0, var);
    /* a conv weight: fans include the receptive field (9) */
    ag_tensor *k = ag_zeros(NULL, AG_F64, 4, SHAPE(128, 64, 3, 3));
    ck_assert_int_eq(ag_init_xavier_normal(k, 1, r), AG_OK);
    assert_moments("xavier_normal conv", k, 0, 2.0 / (64 * 9 + 128 * 9));
    ag_tensor_free(w);
    ag_tensor_free(k);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_kaiming)
{
    ag_rng *r = ag_rng_new(4);
    ag_tensor *w = ag_zeros(NULL, AG_F32, 2, SHAPE(ROWS, COLS));
    /* PyTorch's defaults: a = 0, fan_in, leaky_relu: var = 2 / fan_in */
    ck_assert_int_eq(ag_init_kaiming_uniform(w, 0, AG_FAN_IN, AG_NL_LEAKY_RELU, r), AG_OK);
    assert_moments("kaiming_uniform default", w, 0, 2.0 / COLS);
    assert_bound("kaiming_uniform default", w, sqrt(6.0 / COLS));
    /* Linear's a = sqrt(5): bound 1/sqrt(fan_in) */
    ck_assert_int_eq(ag_init_kaiming_uniform(w, sqrt(5.0), AG_FAN_IN, AG_NL_LEAKY_RELU, r), AG_OK);
    assert_bound("kaiming_uniform a=sqrt(5)", w, 1 / sqrt((double)COLS));
    /* fan_out with relu */
    ck_assert_int_eq(ag_init_kaiming_normal(w, 0, AG_FAN_OUT, AG_NL_RELU, r), AG_OK);
    assert_moments("kaiming_normal fan_out relu", w, 0, 2.0 / ROWS);
    /* leaky_relu slope 0.2, fan_in: var = 2 / (1.04 fan_in) */
    ck_assert_int_eq(ag_init_kaiming_normal(w, 0.2, AG_FAN_IN, AG_NL_LEAKY_RELU, r), AG_OK);
    assert_moments("kaiming_normal leaky 0.2", w, 0, 2.0 / (1.04 * COLS));
    /* a only matters for leaky_relu: tanh gain 5/3 */
    ck_assert_int_eq(ag_init_kaiming_uniform(w, 0.7, AG_FAN_OUT, AG_NL_TANH, r), AG_OK);
    assert_moments("kaiming_uniform tanh fan_out", w, 0, 25.0 / 9 / ROWS);
    /* conv weight, fan_in = 64 * 9 */
    ag_tensor *k = ag_zeros(NULL, AG_F64, 4, SHAPE(128, 64, 3, 3));
    ck_assert_int_eq(ag_init_kaiming_normal(k, 0, AG_FAN_IN, AG_NL_RELU, r), AG_OK);
    assert_moments("kaiming_normal conv", k, 0, 2.0 / (64 * 9));
    ag_tensor_free(w);
    ag_tensor_free(k);
    ag_rng_free(r);
}
END_TEST

/* The same seed gives the same values; draws go in row-major order. */
START_TEST(test_init_reproducible)
{
    ag_rng *r1 = ag_rng_new(77), *r2 = ag_rng_new(77), *ref = ag_rng_new(77);
    ag_tensor *a = ag_zeros(NULL, AG_F64, 2, SHAPE(6, 5));
    ag_tensor *b = ag_zeros(NULL, AG_F64, 2, SHAPE(6, 5));
    ag_init_xavier_normal(a, 1, r1);
    ag_init_xavier_normal(b, 1, r2);
    double std = sqrt(2.0 / 11);
    for (int64_t i = 0; i < 30; i++) {
        ck_assert_double_eq(ag_tensor_get(a, i), ag_tensor_get(b, i));
        ck_assert_double_eq_tol(ag_tensor_get(a, i), std * ag_rng_normal(ref), 1e-15);
    }
    ag_tensor_free(a);
    ag_tensor_free(b);
    ag_rng_free(r1);
    ag_rng_free(r2);
    ag_rng_free(ref);
}
END_TEST

START_TEST(test_init_errors)
{
    ag_rng *r = ag_rng_new(1);
    ag_tensor *w = ag_zeros(NULL, AG_F32, 2, SHAPE(4, 3));
    ag_tensor *b = ag_zeros(NULL, AG_F32, 1, SHAPE(3));
    ck_assert_int_eq(ag_init_uniform(w, 1, 0, r), AG_ERR_ARG);
    assert_last_error("ag_init_uniform: bounds [1, 0]");
    ck_assert_int_eq(ag_init_uniform(w, 0, INFINITY, r), AG_ERR_ARG);
    ck_assert_int_eq(ag_init_normal(w, 0, -1, r), AG_ERR_ARG);
    assert_last_error("ag_init_normal: mean 0 and std -1");
    ck_assert_int_eq(ag_init_normal(w, 0, 1, NULL), AG_ERR_ARG);
    assert_last_error("ag_init_normal: generator is NULL");
    ck_assert_int_eq(ag_init_zeros(NULL), AG_ERR_ARG);
    assert_last_error("ag_init_constant: tensor is NULL");
    ck_assert_int_eq(ag_init_uniform_fan_in(b, -3, r), AG_ERR_ARG);
    assert_last_error("fan_in is -3");
    ck_assert_int_eq(ag_init_xavier_uniform(b, 1, r), AG_ERR_SHAPE);
    assert_last_error("ag_init_xavier_uniform: fan in and fan out need at least 2 dimensions; "
                      "the tensor has 1");
    ck_assert_int_eq(ag_init_kaiming_normal(b, 0, AG_FAN_IN, AG_NL_RELU, r), AG_ERR_SHAPE);
    ck_assert_int_eq(ag_init_kaiming_normal(w, 0, (ag_fan_mode)5, AG_NL_RELU, r), AG_ERR_ARG);
    assert_last_error("unknown mode 5");
    ck_assert_int_eq(ag_init_kaiming_uniform(w, 0, AG_FAN_IN, (ag_nonlinearity)9, r), AG_ERR_ARG);
    assert_last_error("ag_init_kaiming_uniform: no finite gain for nonlinearity 9");
    for (int64_t i = 0; i < 12; i++) ck_assert_double_eq(ag_tensor_get(w, i), 0);  /* untouched */
    /* a tape tensor is refused */
    ag_tape *t = ag_tape_new();
    ag_tensor *tt = ag_zeros(t, AG_F32, 2, SHAPE(2, 2));
    ck_assert_int_eq(ag_init_ones(tt), AG_ERR_ARG);
    assert_last_error("belongs to a tape");
    ck_assert_double_eq(ag_tensor_get(tt, 0), 0);
    /* an empty weight is left alone */
    ag_tensor *e = ag_zeros(NULL, AG_F32, 2, SHAPE(0, 3));
    ck_assert_int_eq(ag_init_kaiming_uniform(e, 0, AG_FAN_OUT, AG_NL_RELU, r), AG_OK);
    ag_tape_free(t);
    ag_tensor_free(w);
    ag_tensor_free(b);
    ag_tensor_free(e);
    ag_rng_free(r);
}
END_TEST

Suite *suite_init(void)
{
    Suite *s = suite_create("init");
    TU_ADD(s, test_fans_and_gains);
    TU_ADD(s, test_uniform_normal_constant);
    TU_ADD(s, test_uniform_fan_in);
    TU_ADD(s, test_xavier);
    TU_ADD(s, test_kaiming);
    TU_ADD(s, test_init_reproducible);
    TU_ADD(s, test_init_errors);
    return s;
}
