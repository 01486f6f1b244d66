/*
** init.c: parameter initialization (torch.nn.init): fans, gains, and the
** uniform/normal/constant/xavier/kaiming fills. Values are written
** straight into the tensor's data (an init is not an op); draws are one
** per element in row-major order from the caller's generator.
*/
#include "ag.h"

#include <math.h>
#include <stdint.h>

/* AG_OK when x can be filled (and r given, when need_rng). */
static ag_status check_target(const char *who, const ag_tensor *x, const ag_rng *r,
                              int need_rng)
{
    if (!x) return ag_set_last_error(AG_ERR_ARG, "%s: tensor is NULL", who);
    if (ag_tensor_tape(x))
        return ag_set_last_error(AG_ERR_ARG, "%s: the tensor belongs to a tape; init fills "
                                 "persistent tensors (parameters) only", who);
    if (need_rng && !r) return ag_set_last_error(AG_ERR_ARG, "%s: generator is NULL", who);
    return AG_OK;
}

typedef enum fill_kind { FILL_CONSTANT, FILL_UNIFORM, FILL_NORMAL } fill_kind;

/* x[i] = value, U(p1, p2) or N(p1, p2^2), for every element in order. */
static void fill(ag_tensor *x, fill_kind kind, double p1, double p2, ag_rng *r)
{
    int64_t n = ag_tensor_numel(x);
    void *data = ag_tensor_data(x);
    int f64 = ag_tensor_dtype(x) == AG_F64;
    for (int64_t i = 0; i < n; i++) {
        double v = p1;
        if (kind == FILL_UNIFORM) v = p1 + (p2 - p1) * ag_rng_uniform(r);
        else if (kind == FILL_NORMAL) v = p1 + p2 * ag_rng_normal(r);
        if (f64) ((double *)data)[i] = v;
        else ((float *)data)[i] = (float)v;
    }
}

double ag_init_calculate_gain(ag_nonlinearity nl, double param)
{
    switch (nl) {
    case AG_NL_LINEAR:
    case AG_NL_SIGMOID: return 1.0;
    case AG_NL_TANH: return 5.0 / 3.0;
    case AG_NL_RELU: return sqrt(2.0);
    case AG_NL_LEAKY_RELU: return sqrt(2.0 / (1.0 + param * param));
    case AG_NL_SELU: return 0.75;
    }
    ag_set_last_error(AG_ERR_ARG, "ag_init_calculate_gain: unknown nonlinearity %d", (int)nl);
    return NAN;
}

/* Fans of x for who's message; AG_ERR_SHAPE under 2 dimensions. */
static ag_status fans(const char *who, const ag_tensor *x, int64_t *fan_in, int64_t *fan_out)
{
    if (!x) return ag_set_last_error(AG_ERR_ARG, "%s: tensor is NULL", who);
    int nd = ag_tensor_ndim(x);
    const int64_t *s = ag_tensor_shape(x);
    if (nd < 2)
        return ag_set_last_error(AG_ERR_SHAPE, "%s: fan in and fan out need at least 2 "
                                 "dimensions; the tensor has %d", who, nd);
    int64_t receptive = 1;
    for (int d = 2; d < nd; d++) receptive *= s[d];
    if (fan_in) *fan_in = s[1] * receptive;
    if (fan_out) *fan_out = s[0] * receptive;
    return AG_OK;
}

ag_status ag_init_fans(const ag_tensor *x, int64_t *fan_in, int64_t *fan_out)
{
    return fans("ag_init_fans", x, fan_in, fan_out);
}

ag_status ag_init_uniform(ag_tensor *x, double lo, double hi, ag_rng *r)
{
    const char *who = "ag_init_uniform";
    ag_status s = check_target(who, x, r, 1);
    if (s != AG_OK) return s;
    if (!isfinite(lo) || !isfinite(hi) || lo > hi)
        return ag_set_last_error(AG_ERR_ARG, "%s: bounds [%.17g, %.17g] must be finite with "
                                 "lo <= hi", who, lo, hi);
    fill(x, FILL_UNIFORM, lo, hi, r);
    return AG_OK;
}

ag_status ag_init_normal(ag_tensor *x, double mean, double std, ag_rng *r)
{
    const char *who = "ag_init_normal";
    ag_status s = check_target(who, x, r, 1);
    if (s != AG_OK) return s;
    if (!isfinite(mean) || !isfinite(std) || std < 0)
        return ag_set_last_error(AG_ERR_ARG, "%s: mean %.17g and std %.17g must be finite, "
                                 "std >= 0", who, mean, std);
    fill(x, FILL_NORMAL, mean, std, r);
    return AG_OK;
}

ag_status ag_init_constant(ag_tensor *x, double value)
{
    ag_status s = check_target("ag_init_constant", x, NULL, 0);
    if (s == AG_OK) fill(x, FILL_CONSTANT, value, 0, NULL);
    return s;
}

ag_status ag_init_zeros(ag_tensor *x) { return ag_init_constant(x, 0.0); }
ag_status ag_init_ones(ag_tensor *x) { return ag_init_constant(x, 1.0); }

ag_status ag_init_uniform_fan_in(ag_tensor *x, int64_t fan_in, ag_rng *r)
{
    const char *who = "ag_init_uniform_fan_in";
    ag_status s = check_target(who, x, r, 1);
    if (s != AG_OK) return s;
    if (fan_in < 0)
        return ag_set_last_error(AG_ERR_ARG, "%s: fan_in is %lld, must be >= 0", who,
                                 (long long)fan_in);
    double bound = fan_in > 0 ? 1.0 / sqrt((double)fan_in) : 0.0;
    fill(x, FILL_UNIFORM, -bound, bound, r);
    return AG_OK;
}

/* Xavier: std = gain * sqrt(2 / (fan_in + fan_out)). */
static ag_status xavier(const char *who, ag_tensor *x, double gain, ag_rng *r, fill_kind kind)
{
    int64_t fi, fo;
    ag_status s = check_target(who, x, r, 1);
    if (s == AG_OK) s = fans(who, x, &fi, &fo);
    if (s != AG_OK) return s;
    if (!isfinite(gain))
        return ag_set_last_error(AG_ERR_ARG, "%s: gain %.17g is not finite", who, gain);
    if (ag_tensor_numel(x) == 0) return AG_OK;
    double std = gain * sqrt(2.0 / (double)(fi + fo));
    if (kind == FILL_UNIFORM) fill(x, FILL_UNIFORM, -sqrt(3.0) * std, sqrt(3.0) * std, r);
    else fill(x, FILL_NORMAL, 0.0, std, r);
    return AG_OK;
}

ag_status ag_init_xavier_uniform(ag_tensor *x, double gain, ag_rng *r)
{
    return xavier("ag_init_xavier_uniform", x, gain, r, FILL_UNIFORM);
}

ag_status ag_init_xavier_normal(ag_tensor *x, double gain, ag_rng *r)
{
    return xavier("ag_init_xavier_normal", x, gain, r, FILL_NORMAL);
}

/* Kaiming: std = calculate_gain(nl, a) / sqrt(fan of mode). */
static ag_status kaiming(const char *who, ag_tensor *x, double a, ag_fan_mode mode,
                         ag_nonlinearity nl, ag_rng *r, fill_kind kind)
{
    int64_t fi, fo;
    ag_status s = check_target(who, x, r, 1);
    if (s == AG_OK) s = fans(who, x, &fi, &fo);
    if (s != AG_OK) return s;
    if (mode != AG_FAN_IN && mode != AG_FAN_OUT)
        return ag_set_last_error(AG_ERR_ARG, "%s: unknown mode %d (AG_FAN_IN or AG_FAN_OUT)",
                                 who, (int)mode);
    double gain = ag_init_calculate_gain(nl, a);
    if (!isfinite(gain))
        return ag_set_last_error(AG_ERR_ARG, "%s: no finite gain for nonlinearity %d with "
                                 "a = %.17g", who, (int)nl, a);
    if (ag_tensor_numel(x) == 0) return AG_OK;
    double std = gain / sqrt((double)(mode == AG_FAN_IN ? fi : fo));
    if (kind == FILL_UNIFORM) fill(x, FILL_UNIFORM, -sqrt(3.0) * std, sqrt(3.0) * std, r);
    else fill(x, FILL_NORMAL, 0.0, std, r);
    return AG_OK;
}

ag_status ag_init_kaiming_uniform(ag_tensor *x, double a, ag_fan_mode mode,
                                  ag_nonlinearity nl, ag_rng *r)
{
    return kaiming("ag_init_kaiming_uniform", x, a, mode, nl, r, FILL_UNIFORM);
}

ag_status ag_init_kaiming_normal(ag_tensor *x, double a, ag_fan_mode mode,
                                 ag_nonlinearity nl, ag_rng *r)
{
    return kaiming("ag_init_kaiming_normal", x, a, mode, nl, r, FILL_NORMAL);
}
