/*
** activation.c: the elementwise activations: sigmoid, relu, leaky_relu,
** elu, softplus and clamp. Same pattern as unary.c (kernel, rule written
** with ops, constructor; agi_unary runs them). The constant masks some
** rules multiply by (leaky_relu's slope, clamp's range) are ops with no
** rule, so they record nothing; elu's derivative is an op of its own with
** a rule, so every order of derivative stays exact.
** Kinks follow PyTorch: relu'(0) = 0, leaky_relu'(0) = slope,
** elu'(0) = alpha, clamp passes the gradient at its bounds.
*/
#include "ag_ops_internal.h"
#include "ag_binary.h"
#include "ag_unary.h"

/* ------------------------------------------------------------ sigmoid --- */

/* Never exp of a large positive number: e^-|x| <= 1, so no overflow, and
   the x < 0 branch keeps tiny results accurate instead of 1 - (1 - y). */
AGI_UNARY_KERNEL(sigmoid_kernel,
                 x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)))
/* y = 1/(1 + e^-x); dx += dy * y * (1 - y) */
static void sigmoid_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                             ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *y = n->out;
    gx[0] = ag_mul(t, gy, ag_mul(t, y, ag_rsub_scalar(t, y, 1)));
}
static const agi_op op_sigmoid = {"ag_sigmoid", sigmoid_backward};
ag_tensor *ag_sigmoid(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_sigmoid, x, sigmoid_kernel, 0, 0);
}

/* ----------------------------------------------------------- softplus --- */

/* max(x, 0) + ln(1 + e^-|x|): e^-|x| <= 1, finite for every x, and log1p
   keeps ln(1 + e^x) ~ e^x accurate far below 0. */
AGI_UNARY_KERNEL(softplus_kernel, (x > 0 ? x : 0) + log1p(exp(-fabs(x))))
/* y = ln(1 + e^x); dx += dy * sigmoid(x) */
static void softplus_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                              ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, ag_sigmoid(t, n->in[0]));
}
static const agi_op op_softplus = {"ag_softplus", softplus_backward};
ag_tensor *ag_softplus(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_softplus, x, softplus_kernel, 0, 0);
}

/* ---------------------------------------------------------------- relu --- */

/* x <= 0 is false for NaN, so NaN goes through (as PyTorch). */
AGI_UNARY_KERNEL(relu_kernel, x <= 0 ? 0 : x)
/* y = max(x, 0); dx += dy * (x > 0) */
static void relu_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, ag_gt_scalar(t, n->in[0], 0));
}
static const agi_op op_relu = {"ag_relu", relu_backward};
ag_tensor *ag_relu(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_relu, x, relu_kernel, 0, 0);
}

/* --------------------------------------------------------- leaky_relu --- */

/* d leaky_relu / dx = where(x > 0, 1, slope): a constant. */
AGI_UNARY_KERNEL(leaky_slope_kernel, x > 0 ? 1 : s)
static const agi_op op_leaky_slope = {"ag_leaky_relu (slope)", NULL};

AGI_UNARY_KERNEL(leaky_relu_kernel, x > 0 ? x : x * s)
/* y = x > 0 ? x : slope*x; dx += dy * where(x > 0, 1, slope) */
static void leaky_relu_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *d = agi_unary(t, &op_leaky_slope, n->in[0], leaky_slope_kernel,
                             n->fparam[0], 0);
    gx[0] = ag_mul(t, gy, d);
}
static const agi_op op_leaky_relu = {"ag_leaky_relu", leaky_relu_backward};
ag_tensor *ag_leaky_relu(ag_tape *t, ag_tensor *x, double slope)
{
    return agi_unary(t, &op_leaky_relu, x, leaky_relu_kernel, slope, 0);
}

/* ---------------------------------------------------------------- elu --- */

/*
** d = elu'(x) = x > 0 ? 1 : alpha*e^x, an op of its own: its derivative is
** d * (x < 0), written with d itself, so third and later orders work.
** Written as alpha*e^x rather than y + alpha, which loses the digits of a
** small e^x to cancellation; and never e^x of a large positive x, whose
** Inf would turn the zero gradient of a where() branch into NaN.
*/
AGI_UNARY_KERNEL(elu_deriv_kernel, x > 0 ? 1 : s * exp(x))
/* d = elu'(x); dx += dy * d * (x < 0) */
static void elu_deriv_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                               ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    /* x < 0, not x <= 0: at 0 exactly elu' takes alpha (the x <= 0 side)
       but elu'' takes 0 (the x > 0 side), as PyTorch's double backward */
    ag_tensor *mask = ag_lt_scalar(t, n->in[0], 0);
    gx[0] = ag_mul(t, gy, ag_mul(t, n->out, mask));
}
static const agi_op op_elu_deriv = {"ag_elu (derivative)", elu_deriv_backward};

AGI_UNARY_KERNEL(elu_kernel, x > 0 ? x : s * expm1(x))
/* y = x > 0 ? x : alpha*(e^x - 1); dx += dy * (x > 0 ? 1 : alpha*e^x) */
static void elu_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *d = agi_unary(t, &op_elu_deriv, n->in[0], elu_deriv_kernel,
                             n->fparam[0], 0);
    gx[0] = ag_mul(t, gy, d);
}
static const agi_op op_elu = {"ag_elu", elu_backward};
ag_tensor *ag_elu(ag_tape *t, ag_tensor *x, double alpha)
{
    return agi_unary(t, &op_elu, x, elu_kernel, alpha, 0);
}

/* -------------------------------------------------------------- clamp --- */

/* 1 where lo <= x <= hi: the gradient passes at the bounds (PyTorch). */
AGI_UNARY_KERNEL(clamp_mask_kernel, x >= s && x <= s2)
static const agi_op op_clamp_mask = {"ag_clamp (mask)", NULL};

/* Comparisons are false for NaN, so NaN goes through (as PyTorch). */
AGI_UNARY_KERNEL(clamp_kernel, x < s ? s : (x > s2 ? s2 : x))
/* y = min(max(x, lo), hi); dx += dy * (lo <= x <= hi) */
static void clamp_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                           ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *mask = agi_unary(t, &op_clamp_mask, n->in[0], clamp_mask_kernel,
                                n->fparam[0], n->fparam[1]);
    gx[0] = ag_mul(t, gy, mask);
}
static const agi_op op_clamp = {"ag_clamp", clamp_backward};

ag_tensor *ag_clamp(ag_tape *t, ag_tensor *x, double lo, double hi)
{
    char buf[96];
    if (!agi_check(t, "ag_clamp", "x", x)) return NULL;
    if (isnan(lo) || isnan(hi))
        return agi_fail(t, AG_ERR_ARG, "ag_clamp: bounds lo = %.17g, hi = %.17g include a NaN "
                        "(x is %s)", lo, hi, agi_shape_str(x, buf));
    if (lo > hi)
        return agi_fail(t, AG_ERR_ARG, "ag_clamp: lo = %.17g is greater than hi = %.17g "
                        "(x is %s)", lo, hi, agi_shape_str(x, buf));
    return agi_unary(t, &op_clamp, x, clamp_kernel, lo, hi);
}
