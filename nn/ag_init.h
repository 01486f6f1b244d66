/*
** ag_init.h: parameter initialization, as torch.nn.init. Each function
** fills a persistent tensor in place (any shape, f32 or f64), drawing from
** a seeded generator in row-major order, so the same seed gives the same
** values. Nothing is recorded on a tape and grads are not touched: an init
** is a write, not an op (PyTorch runs them under no_grad likewise).
**
** A layer's tensors are reached by name, so a different init is one call:
**
**     ag_module *fc = ag_linear_new(784, 128, 1, AG_F32, rng);
**     ag_init_kaiming_normal(ag_module_get(fc, "weight"), 0, AG_FAN_IN,
**                            AG_NL_RELU, rng);
**     ag_init_zeros(ag_module_get(fc, "bias"));
**
** Fans follow PyTorch: for a weight of shape [out, in, k1, k2, ...],
** fan_in = in * k1 * k2 * ... and fan_out = out * k1 * k2 * ...; a tensor of
** fewer than 2 dimensions has no fans (AG_ERR_SHAPE from the schemes that
** need them, as PyTorch's ValueError).
**
** Errors: every function returns AG_OK, or an error with ag_last_error()
** set and the tensor left as it was: AG_ERR_ARG for a NULL tensor or
** generator, a tape tensor (an op's result must not be overwritten behind
** the tape's back), or a bad argument (lo > hi, std < 0, a NaN, an unknown
** nonlinearity or mode); AG_ERR_SHAPE for missing fans.
*/
#ifndef AG_INIT_H
#define AG_INIT_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The nonlinearities of torch.nn.init.calculate_gain. */
typedef enum ag_nonlinearity {
    AG_NL_LINEAR = 0,   /* identity; also PyTorch's conv and conv_transpose names */
    AG_NL_SIGMOID,
    AG_NL_TANH,
    AG_NL_RELU,
    AG_NL_LEAKY_RELU,   /* param: the negative slope (PyTorch's None is 0.01) */
    AG_NL_SELU
} ag_nonlinearity;

/* Which fan kaiming init preserves: fan_in the forward pass's variance,
   fan_out the backward pass's. */
typedef enum ag_fan_mode { AG_FAN_IN = 0, AG_FAN_OUT } ag_fan_mode;

/*
** The recommended gain: linear and sigmoid 1, tanh 5/3, relu sqrt(2),
** leaky_relu sqrt(2 / (1 + param^2)), selu 3/4. param is used by
** leaky_relu only. An unknown value gives NaN and sets ag_last_error().
*/
double ag_init_calculate_gain(ag_nonlinearity nl, double param);

/* x's fans (see above) into *fan_in and *fan_out (either may be NULL).
   AG_ERR_SHAPE for fewer than 2 dimensions, AG_ERR_ARG for a NULL x. */
ag_status ag_init_fans(const ag_tensor *x, int64_t *fan_in, int64_t *fan_out);

/* U(lo, hi); lo <= hi, both finite. */
ag_status ag_init_uniform(ag_tensor *x, double lo, double hi, ag_rng *r);
/* N(mean, std^2); std >= 0, both finite. */
ag_status ag_init_normal(ag_tensor *x, double mean, double std, ag_rng *r);
/* Every element set to value (converted to x's dtype); draws nothing. */
ag_status ag_init_constant(ag_tensor *x, double value);
ag_status ag_init_zeros(ag_tensor *x);
ag_status ag_init_ones(ag_tensor *x);

/*
** U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for a Linear's
** bias, whose fan_in is its weight's (pass it: a 1-D bias has no fans of
** its own). fan_in 0 gives zeros (bound 0), as PyTorch; fan_in < 0 is
** AG_ERR_ARG.
*/
ag_status ag_init_uniform_fan_in(ag_tensor *x, int64_t fan_in, ag_rng *r);

/* Glorot: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)), and
   N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)). gain is
   typically ag_init_calculate_gain(...), 1 in PyTorch's default. */
ag_status ag_init_xavier_uniform(ag_tensor *x, double gain, ag_rng *r);
ag_status ag_init_xavier_normal(ag_tensor *x, double gain, ag_rng *r);

/*
** He: with fan the mode's fan and gain = ag_init_calculate_gain(nl, a),
** std = gain / sqrt(fan); uniform draws U(-sqrt(3) std, sqrt(3) std),
** normal N(0, std^2). a is the negative slope, used with AG_NL_LEAKY_RELU
** only. PyTorch's defaults are a = 0, AG_FAN_IN, AG_NL_LEAKY_RELU (gain
** sqrt(2)). A tensor with no elements is left alone (PyTorch warns).
** Linear's default weight init is kaiming_uniform(a = sqrt(5)), i.e.
** U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
*/
ag_status ag_init_kaiming_uniform(ag_tensor *x, double a, ag_fan_mode mode,
                                  ag_nonlinearity nl, ag_rng *r);
ag_status ag_init_kaiming_normal(ag_tensor *x, double a, ag_fan_mode mode,
                                 ag_nonlinearity nl, ag_rng *r);

#ifdef __cplusplus
}
#endif
#endif /* AG_INIT_H */
