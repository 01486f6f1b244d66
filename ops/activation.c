/*
** activation.c: the elementwise activations: sigmoid, relu, leaky_relu,
** elu, softplus, clamp, and those of sequence models and transformers:
** gelu (erf and tanh forms), silu, softsign, hardtanh, log_sigmoid. Same
** pattern as unary.c (kernel, rule written with ops, constructor;
** agi_unary runs them); the transcendental kernels are the vector math's
** (vmath_internal.h). The constant masks some rules multiply by
** (leaky_relu's slope, clamp's and hardtanh's ranges) are ops with no
** rule, so they record nothing; the derivatives of sigmoid, elu, gelu and
** silu are ops of their own (one pass instead of several ops) with rules
** written with ops, so every order of derivative stays exact.
** Kinks follow PyTorch: relu'(0) = 0, leaky_relu'(0) = slope,
** elu'(0) = alpha, clamp passes the gradient at its bounds, hardtanh
** does not. Every op here (derivatives included) is elementwise of one
** input: its JVP rule is agi_jvp_symmetric (ty = f'(x) tx, the backward rule
** applied to the tangent).
*/
#include "ag_ops_internal.h"
#include "ag_binary.h"
#include "ag_unary.h"
#include "vmath_internal.h"

/* ------------------------------------------------------------ sigmoid --- */

/* Never exp of a large positive number: e^-|x| <= 1, so no overflow, and
   for x < 0 e^x / (1 + e^x) keeps tiny results accurate (ag_vmath.h). */
AGI_VMATH_RANGE(sigmoid_range, sigmoid)
AGI_VMATH_KERNEL(sigmoid_kernel, sigmoid_range)
/* d = y (1 - y) from y = sigmoid x, one pass: an op of its own;
   dy += dd * (1 - 2y) */
AGI_UNARY_KERNEL(sigmoid_deriv_kernel, x * (1 - x))
static void sigmoid_deriv_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                   ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, ag_rsub_scalar(t, ag_mul_scalar(t, n->in[0], 2), 1));
}
static const agi_op op_sigmoid_deriv = {"ag_sigmoid (derivative)", sigmoid_deriv_backward,
                                        agi_jvp_symmetric};

/* y = 1/(1 + e^-x); dx += dy * y * (1 - y) */
static void sigmoid_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                             ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, agi_unary(t, &op_sigmoid_deriv, n->out, sigmoid_deriv_kernel, 0, 0));
}
static const agi_op op_sigmoid = {"ag_sigmoid", sigmoid_backward, agi_jvp_symmetric};
ag_tensor *ag_sigmoid(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_sigmoid, x, sigmoid_kernel, 0, 0);
}

/* ----------------------------------------------------------- softplus --- */

/* max(x, 0) + ln(1 + e^-|x|): e^-|x| <= 1, finite for every x, and log1p
   keeps ln(1 + e^x) ~ e^x accurate far below 0 (ag_vmath.h). */
AGI_VMATH_RANGE(softplus_range, softplus)
AGI_VMATH_KERNEL(softplus_kernel, softplus_range)
/* y = ln(1 + e^x); dx += dy * sigmoid(x) */
static void softplus_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                              ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, ag_sigmoid(t, n->in[0]));
}
static const agi_op op_softplus = {"ag_softplus", softplus_backward, agi_jvp_symmetric};
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
static const agi_op op_relu = {"ag_relu", relu_backward, agi_jvp_symmetric};
ag_tensor *ag_relu(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_relu, x, relu_kernel, 0, 0);
}

/* --------------------------------------------------------- leaky_relu --- */

/* d leaky_relu / dx = where(x > 0, 1, slope): a constant. */
AGI_UNARY_KERNEL(leaky_slope_kernel, x > 0 ? 1 : s)
static const agi_op op_leaky_slope = {"ag_leaky_relu (slope)", NULL, NULL};

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
static const agi_op op_leaky_relu = {"ag_leaky_relu", leaky_relu_backward, agi_jvp_symmetric};
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
AGI_RANGE_MV(elu_deriv_range, job, lo, hi)
{
    const agi_unary_job *j = job;
    if (j->y->dtype == AG_F64) {
        const double *px = AGI_F64(j->x), s = j->s;
        double *py = AGI_F64(j->y);
        agi_vm()->exp_f64(py + lo, px + lo, hi - lo);
        AGI_VLOOP(i, lo, hi, py[i] = px[i] > 0 ? 1 : s * py[i];);
    } else {
        const float *px = AGI_F32(j->x), s = (float)j->s;
        float *py = AGI_F32(j->y);
        agi_vm()->exp_f32(py + lo, px + lo, hi - lo);
        AGI_VLOOP(i, lo, hi, py[i] = px[i] > 0 ? 1 : s * py[i];);
    }
}
AGI_VMATH_KERNEL(elu_deriv_kernel, elu_deriv_range)
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
static const agi_op op_elu_deriv = {"ag_elu (derivative)", elu_deriv_backward, agi_jvp_symmetric};

AGI_RANGE_MV(elu_range, job, lo, hi)
{
    const agi_unary_job *j = job;
    if (j->y->dtype == AG_F64)
        agi_vm()->elu_f64(AGI_F64(j->y) + lo, AGI_F64(j->x) + lo, hi - lo, j->s);
    else
        agi_vm()->elu_f32(AGI_F32(j->y) + lo, AGI_F32(j->x) + lo, hi - lo, (float)j->s);
}
AGI_VMATH_KERNEL(elu_kernel, elu_range)
/* y = x > 0 ? x : alpha*(e^x - 1); dx += dy * (x > 0 ? 1 : alpha*e^x) */
static void elu_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *d = agi_unary(t, &op_elu_deriv, n->in[0], elu_deriv_kernel,
                             n->fparam[0], 0);
    gx[0] = ag_mul(t, gy, d);
}
static const agi_op op_elu = {"ag_elu", elu_backward, agi_jvp_symmetric};
ag_tensor *ag_elu(ag_tape *t, ag_tensor *x, double alpha)
{
    return agi_unary(t, &op_elu, x, elu_kernel, alpha, 0);
}

/* -------------------------------------------------------------- clamp --- */

/* 1 where lo <= x <= hi: the gradient passes at the bounds (PyTorch). */
AGI_UNARY_KERNEL(clamp_mask_kernel, x >= s && x <= s2)
static const agi_op op_clamp_mask = {"ag_clamp (mask)", NULL, NULL};

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
static const agi_op op_clamp = {"ag_clamp", clamp_backward, agi_jvp_symmetric};

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

/* ------------------------------------------- blocks of vector math --- */

/*
** Kernels that chain several passes (a pre-scaling, the vector math, a
** combination) run them block by block, ACT_BLOCK elements at a time, so
** each block stays in L1. ACT_KERNEL(NAME, BODY) makes the unary kernel
** NAME from BODY(T, SFX): statements over xb[0..m) (const T *) into
** yb[0..m) (T *), with the op's scalars s, s2, a scratch block tb[] and
** the vector math functions agi_vm()->FN##SFX.
*/
#define ACT_BLOCK 512
#define ACT_KERNEL(NAME, BODY)                                                \
    static void NAME##_f32(float *yb, const float *xb, int m, float s, float s2) \
    {                                                                         \
        float tb[ACT_BLOCK];                                                  \
        (void)s, (void)s2, (void)tb;                                          \
        BODY(float, _f32)                                                     \
    }                                                                         \
    static void NAME##_f64(double *yb, const double *xb, int m, double s,     \
                           double s2)                                         \
    {                                                                         \
        double tb[ACT_BLOCK];                                                 \
        (void)s, (void)s2, (void)tb;                                          \
        BODY(double, _f64)                                                    \
    }                                                                         \
    static void NAME##_range(void *job_, int64_t lo_, int64_t hi_)            \
    {                                                                         \
        const agi_unary_job *j_ = job_;                                       \
        for (int64_t b_ = lo_; b_ < hi_; b_ += ACT_BLOCK) {                   \
            int m_ = (int)(hi_ - b_ < ACT_BLOCK ? hi_ - b_ : ACT_BLOCK);      \
            if (j_->y->dtype == AG_F64)                                       \
                NAME##_f64(AGI_F64(j_->y) + b_, AGI_F64(j_->x) + b_, m_, j_->s, j_->s2); \
            else                                                              \
                NAME##_f32(AGI_F32(j_->y) + b_, AGI_F32(j_->x) + b_, m_,      \
                           (float)j_->s, (float)j_->s2);                      \
        }                                                                     \
    }                                                                         \
    AGI_VMATH_KERNEL(NAME, NAME##_range)

#define SQRT1_2 0.70710678118654752440      /* 1/sqrt(2) */
#define INV_SQRT_2PI 0.39894228040143267794 /* 1/sqrt(2 pi) */
#define GELU_K 0.79788456080286535588       /* sqrt(2/pi) */
#define GELU_C 0.044715

/* -------------------------------------------------------------- gelu --- */

/* y = x Phi(x) = x/2 (1 + erf(x/sqrt2)) */
#define GELU_BODY(T, SFX)                                                     \
    AGI_VLOOP(k, 0, m, yb[k] = xb[k] * (T)SQRT1_2;);                          \
    agi_vm()->erf##SFX(yb, yb, m);                                            \
    AGI_VLOOP(k, 0, m, yb[k] = (T)0.5 * xb[k] * (1 + yb[k]););
ACT_KERNEL(gelu_kernel, GELU_BODY)

/* d = gelu'(x) = Phi(x) + x phi(x), phi(x) = e^{-x^2/2} / sqrt(2 pi) */
#define GELU_DERIV_BODY(T, SFX)                                               \
    AGI_VLOOP(k, 0, m, yb[k] = xb[k] * (T)SQRT1_2;                            \
              tb[k] = (T)-0.5 * xb[k] * xb[k];);                              \
    agi_vm()->erf##SFX(yb, yb, m);                                            \
    agi_vm()->exp##SFX(tb, tb, m);                                            \
    AGI_VLOOP(k, 0, m, yb[k] = (T)0.5 * (1 + yb[k]) + xb[k] * tb[k] * (T)INV_SQRT_2PI;);
ACT_KERNEL(gelu_deriv_kernel, GELU_DERIV_BODY)

/* d = gelu'(x); dx += dy * phi(x) (2 - x^2) */
static void gelu_deriv_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *x2 = ag_square(t, n->in[0]);
    ag_tensor *phi = ag_mul_scalar(t, ag_exp(t, ag_mul_scalar(t, x2, -0.5)), INV_SQRT_2PI);
    gx[0] = ag_mul(t, gy, ag_mul(t, phi, ag_rsub_scalar(t, x2, 2)));
}
static const agi_op op_gelu_deriv = {"ag_gelu (derivative)", gelu_deriv_backward,
                                     agi_jvp_symmetric};

/* y = x Phi(x); dx += dy * gelu'(x) */
static void gelu_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, agi_unary(t, &op_gelu_deriv, n->in[0], gelu_deriv_kernel, 0, 0));
}
static const agi_op op_gelu = {"ag_gelu", gelu_backward, agi_jvp_symmetric};
ag_tensor *ag_gelu(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_gelu, x, gelu_kernel, 0, 0);
}

/* --------------------------------------------------------- gelu_tanh --- */

/* u = sqrt(2/pi) (x + 0.044715 x^3); y = x/2 (1 + tanh u) */
#define GELU_U(T, x) ((T)GELU_K * ((x) + (T)GELU_C * (x) * (x) * (x)))
#define GELU_TANH_BODY(T, SFX)                                                \
    AGI_VLOOP(k, 0, m, yb[k] = GELU_U(T, xb[k]););                            \
    agi_vm()->tanh##SFX(yb, yb, m);                                           \
    AGI_VLOOP(k, 0, m, yb[k] = (T)0.5 * xb[k] * (1 + yb[k]););
ACT_KERNEL(gelu_tanh_kernel, GELU_TANH_BODY)

/* d = (1 + t)/2 + x/2 (1 - t^2) u', t = tanh u, u' = sqrt(2/pi) (1 + 3c x^2) */
#define GELU_TANH_DERIV_BODY(T, SFX)                                          \
    AGI_VLOOP(k, 0, m, tb[k] = GELU_U(T, xb[k]););                            \
    agi_vm()->tanh##SFX(tb, tb, m);                                           \
    AGI_VLOOP(k, 0, m, const T x = xb[k], th = tb[k];                         \
              const T up = (T)GELU_K * (1 + 3 * (T)GELU_C * x * x);           \
              yb[k] = (T)0.5 * (1 + th) + (T)0.5 * x * (1 - th * th) * up;);
ACT_KERNEL(gelu_tanh_deriv_kernel, GELU_TANH_DERIV_BODY)

/* d = gelu_tanh'(x); dx += dy * (1 - t^2) (u' - x t u'^2 + x u''/2),
   u'' = 6 sqrt(2/pi) c x */
static void gelu_tanh_deriv_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                     ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *x = n->in[0], *x2 = ag_square(t, x);
    ag_tensor *u = ag_mul_scalar(t, ag_add(t, x, ag_mul_scalar(t, ag_mul(t, x, x2), GELU_C)),
                                 GELU_K);
    ag_tensor *th = ag_tanh(t, u), *sech2 = ag_rsub_scalar(t, ag_square(t, th), 1);
    ag_tensor *up = ag_add_scalar(t, ag_mul_scalar(t, x2, 3 * GELU_C * GELU_K), GELU_K);
    ag_tensor *xt = ag_mul(t, x, th);
    ag_tensor *in = ag_sub(t, up, ag_mul(t, xt, ag_square(t, up)));
    in = ag_add(t, in, ag_mul_scalar(t, x2, 3 * GELU_C * GELU_K));      /* x u''/2 */
    gx[0] = ag_mul(t, gy, ag_mul(t, sech2, in));
}
static const agi_op op_gelu_tanh_deriv = {"ag_gelu_tanh (derivative)",
                                          gelu_tanh_deriv_backward, agi_jvp_symmetric};

/* y = x/2 (1 + tanh u); dx += dy * gelu_tanh'(x) */
static void gelu_tanh_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                               ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, agi_unary(t, &op_gelu_tanh_deriv, n->in[0],
                                    gelu_tanh_deriv_kernel, 0, 0));
}
static const agi_op op_gelu_tanh = {"ag_gelu_tanh", gelu_tanh_backward, agi_jvp_symmetric};
ag_tensor *ag_gelu_tanh(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_gelu_tanh, x, gelu_tanh_kernel, 0, 0);
}

/* -------------------------------------------------------------- silu --- */

/* y = x sigmoid(x) */
#define SILU_BODY(T, SFX)                                                     \
    agi_vm()->sigmoid##SFX(yb, xb, m);                                        \
    AGI_VLOOP(k, 0, m, yb[k] = xb[k] * yb[k];);
ACT_KERNEL(silu_kernel, SILU_BODY)

/* d = silu'(x) = s (1 + x (1 - s)), s = sigmoid(x) */
#define SILU_DERIV_BODY(T, SFX)                                               \
    agi_vm()->sigmoid##SFX(yb, xb, m);                                        \
    AGI_VLOOP(k, 0, m, yb[k] = yb[k] * (1 + xb[k] * (1 - yb[k])););
ACT_KERNEL(silu_deriv_kernel, SILU_DERIV_BODY)

/* d = silu'(x); dx += dy * s (1 - s) (2 + x (1 - 2 s)) */
static void silu_deriv_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *x = n->in[0], *sg = ag_sigmoid(t, x);
    ag_tensor *ds = ag_mul(t, sg, ag_rsub_scalar(t, sg, 1));
    ag_tensor *in = ag_add_scalar(t, ag_mul(t, x, ag_rsub_scalar(t, ag_mul_scalar(t, sg, 2), 1)),
                                  2);
    gx[0] = ag_mul(t, gy, ag_mul(t, ds, in));
}
static const agi_op op_silu_deriv = {"ag_silu (derivative)", silu_deriv_backward,
                                     agi_jvp_symmetric};

/* y = x sigmoid(x); dx += dy * silu'(x) */
static void silu_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, agi_unary(t, &op_silu_deriv, n->in[0], silu_deriv_kernel, 0, 0));
}
static const agi_op op_silu = {"ag_silu", silu_backward, agi_jvp_symmetric};
ag_tensor *ag_silu(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_silu, x, silu_kernel, 0, 0);
}

/* ------------------------------------------------------- log_sigmoid --- */

/* y = -softplus(-x): exact far out on both sides (x - softplus(x) would
   lose e^-x to cancellation for large x) */
#define LOG_SIGMOID_BODY(T, SFX)                                              \
    AGI_VLOOP(k, 0, m, yb[k] = -xb[k];);                                      \
    agi_vm()->softplus##SFX(yb, yb, m);                                       \
    AGI_VLOOP(k, 0, m, yb[k] = -yb[k];);
ACT_KERNEL(log_sigmoid_kernel, LOG_SIGMOID_BODY)

/* y = ln sigmoid(x); dx += dy * sigmoid(-x) */
static void log_sigmoid_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                 ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, ag_sigmoid(t, ag_neg(t, n->in[0])));
}
static const agi_op op_log_sigmoid = {"ag_log_sigmoid", log_sigmoid_backward, agi_jvp_symmetric};
ag_tensor *ag_log_sigmoid(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_log_sigmoid, x, log_sigmoid_kernel, 0, 0);
}

/* ---------------------------------------------------------- softsign --- */

AGI_UNARY_KERNEL(softsign_kernel, x / (1 + fabs(x)))
/* y = x / (1 + |x|); dx += dy / (1 + |x|)^2 */
static void softsign_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                              ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_div(t, gy, ag_square(t, ag_add_scalar(t, ag_abs(t, n->in[0]), 1)));
}
static const agi_op op_softsign = {"ag_softsign", softsign_backward, agi_jvp_symmetric};
ag_tensor *ag_softsign(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_softsign, x, softsign_kernel, 0, 0);
}

/* ---------------------------------------------------------- hardtanh --- */

/* 1 where lo < x < hi: no gradient at the bounds (PyTorch's hardtanh). */
AGI_UNARY_KERNEL(hardtanh_mask_kernel, x > s && x < s2)
static const agi_op op_hardtanh_mask = {"ag_hardtanh (mask)", NULL, NULL};

/* y = min(max(x, lo), hi); dx += dy * (lo < x < hi) */
static void hardtanh_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                              ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *mask = agi_unary(t, &op_hardtanh_mask, n->in[0], hardtanh_mask_kernel,
                                n->fparam[0], n->fparam[1]);
    gx[0] = ag_mul(t, gy, mask);
}
static const agi_op op_hardtanh = {"ag_hardtanh", hardtanh_backward, agi_jvp_symmetric};

ag_tensor *ag_hardtanh(ag_tape *t, ag_tensor *x, double min_val, double max_val)
{
    char buf[96];
    if (!agi_check(t, "ag_hardtanh", "x", x)) return NULL;
    if (isnan(min_val) || isnan(max_val) || min_val > max_val)
        return agi_fail(t, AG_ERR_ARG, "ag_hardtanh: min_val = %g must not exceed max_val "
                        "= %g (nor be NaN) (x is %s)", min_val, max_val,
                        agi_shape_str(x, buf));
    return agi_unary(t, &op_hardtanh, x, clamp_kernel, min_val, max_val);
}
