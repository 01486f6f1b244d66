/*
** unary.c: elementwise math ops (neg, exp, expm1, log, log1p, sqrt,
** square, reciprocal, pow_scalar, sin, cos, tanh, erf, abs, sign) and
** cast; agi_unary, the runner every one-input elementwise op shares.
** Activations (sigmoid, relu, elu, softplus, clamp...) live in
** activation.c. Each op: a kernel (an expression instantiated for f32 and
** f64 by AGI_UNARY_KERNEL, or the vector math of vmath_internal.h for the
** transcendental functions), its definition with the backward rule
** written with ops, and its constructor. Rules use the saved input
** (n->in[0]) or the output (n->out) so that, under create_graph, the
** gradient is itself differentiable. The JVP rule (forward mode) of every
** elementwise op here is agi_jvp_symmetric (ty = f'(x) tx: the backward rule
** applied to the tangent, the Jacobian being diagonal); cast's casts tx.
*/
#include "ag_ops_internal.h"
#include "ag_binary.h"
#include "ag_unary.h"
#include "vmath_internal.h"

#include <string.h>

/* A plan's replay of a unary op: the kernel again, same operands. */
static void unary_step(const agi_step *st)
{
    ((agi_unary_kernel)st->kernel)(st->a, st->y, st->s, st->s2);
}

/* agi_unary, giving the node scalar rule fn (or none: NULL) when y is one
   element. */
static inline ag_tensor *unary_op(ag_tape *t, const agi_op *op, ag_tensor *x,
                                  agi_unary_kernel kernel, double s, double s2, agi_scalar_fn fn)
{
    if (!agi_check(t, op->name, "x", x)) return NULL;
    ag_tensor *y = agi_new_like(t, op->name, x);
    if (!y) return NULL;
    kernel(x, y, s, s2);
    if (t->plan) {
        agi_step *st = agi_plan_log(t, 1, unary_step, (agi_fnptr)kernel, y, x, NULL, s, s2);
        if (st) st->op = op;                /* for the plan's scalar program */
    }
    if (op->backward) {
        agi_node *n = agi_record(t, op, y, 1, &x);
        if (n) {
            n->fparam[0] = s;
            n->fparam[1] = s2;
            if (fn && y->numel == 1) {
                n->scalar = fn;
                n->src[0] = x->node;
                n->src[1] = -1;
                n->dtype = y->dtype;
                n->val[0] = agi_sval_of(x);
                n->val[1] = agi_sval_of(y);
            }
        }
    } else {
        t->n_ops++;                       /* a mask: a constant */
    }
    return agi_done(t, op, y);
}

ag_tensor *agi_unary(ag_tape *t, const agi_op *op, ag_tensor *x,
                     agi_unary_kernel kernel, double s, double s2)
{
    return unary_op(t, op, x, kernel, s, s2, NULL);
}

ag_tensor *agi_unary_scalar(ag_tape *t, const agi_op *op, ag_tensor *x,
                            agi_unary_kernel kernel, double s, agi_scalar_fn fn)
{
    return unary_op(t, op, x, kernel, s, 0, fn);
}

AGI_UNARY_KERNEL(neg_kernel, -x)
/* y = -x; dx -= dy */
static void neg_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)n, (void)need;
    gx[0] = ag_neg(t, gy);
}
AGI_SCALAR_RULE1(neg_scalar_rule, -gy_)
static const agi_op op_neg = {"ag_neg", neg_backward, agi_jvp_symmetric};
ag_tensor *ag_neg(ag_tape *t, ag_tensor *x)
{
    return unary_op(t, &op_neg, x, neg_kernel, 0, 0, neg_scalar_rule);
}

AGI_VMATH_RANGE(exp_range, exp)
AGI_VMATH_KERNEL(exp_kernel, exp_range)
/* y = e^x; dx += dy * y */
static void exp_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, n->out);
}
AGI_SCALAR_RULE1(exp_scalar_rule, gy_ * y)
AGI_VM_VALUE(exp_value, exp)
static const agi_op op_exp = {"ag_exp", exp_backward, agi_jvp_symmetric};
ag_tensor *ag_exp(ag_tape *t, ag_tensor *x)
{
    return unary_op(t, &op_exp, x, exp_kernel, 0, 0, exp_scalar_rule);
}

AGI_VMATH_RANGE(log_range, log)
AGI_VMATH_KERNEL(log_kernel, log_range)
/* y = ln x; dx += dy / x */
static void log_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_div(t, gy, n->in[0]);
}
AGI_SCALAR_RULE1(log_scalar_rule, gy_ / x)
AGI_VM_VALUE(log_value, log)
static const agi_op op_log = {"ag_log", log_backward, agi_jvp_symmetric};
ag_tensor *ag_log(ag_tape *t, ag_tensor *x)
{
    return unary_op(t, &op_log, x, log_kernel, 0, 0, log_scalar_rule);
}

AGI_VMATH_RANGE(expm1_range, expm1)
AGI_VMATH_KERNEL(expm1_kernel, expm1_range)
/* y = e^x - 1; dx += dy * (y + 1) */
static void expm1_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                           ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, ag_add_scalar(t, n->out, 1));
}
AGI_SCALAR_RULE1(expm1_scalar_rule, gy_ * (T)(y + (T)1))
AGI_VM_VALUE(expm1_value, expm1)
static const agi_op op_expm1 = {"ag_expm1", expm1_backward, agi_jvp_symmetric};
ag_tensor *ag_expm1(ag_tape *t, ag_tensor *x)
{
    return unary_op(t, &op_expm1, x, expm1_kernel, 0, 0, expm1_scalar_rule);
}

AGI_VMATH_RANGE(log1p_range, log1p)
AGI_VMATH_KERNEL(log1p_kernel, log1p_range)
/* y = ln(1 + x); dx += dy / (1 + x) */
static void log1p_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                           ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_div(t, gy, ag_add_scalar(t, n->in[0], 1));
}
AGI_SCALAR_RULE1(log1p_scalar_rule, gy_ / (T)(x + (T)1))
AGI_VM_VALUE(log1p_value, log1p)
static const agi_op op_log1p = {"ag_log1p", log1p_backward, agi_jvp_symmetric};
ag_tensor *ag_log1p(ag_tape *t, ag_tensor *x)
{
    return unary_op(t, &op_log1p, x, log1p_kernel, 0, 0, log1p_scalar_rule);
}

/* ------------------------------------------------------------- powers --- */

AGI_RANGE_MV(sqrt_range, job, lo, hi)
{
    const agi_unary_job *j = job;
    if (j->y->dtype == AG_F64)
        agi_sqrt_f64((double *)j->y->data + lo, (const double *)j->x->data + lo, hi - lo);
    else
        agi_sqrt_f32((float *)j->y->data + lo, (const float *)j->x->data + lo, hi - lo);
}

static void sqrt_kernel(const ag_tensor *x, ag_tensor *y, double s, double s2)
{
    agi_unary_job j = {x, y, s, s2};
    agi_parallel_range(y->numel, AGI_PAR_GRAIN, sqrt_range, &j);
}
/* y = sqrt x; dx += dy * 0.5 / y */
static void sqrt_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_div(t, gy, ag_mul_scalar(t, n->out, 2));
}
AGI_SCALAR_RULE1(sqrt_scalar_rule, gy_ / (T)(y * (T)2))
/* y = sqrt(x) on one element, as the kernel (agi_sqrt_*) computes it */
static void sqrt_value(int dt, void *y, const void *x)
{
    if (dt == AG_F64) *(double *)y = sqrt(*(const double *)x);
    else *(float *)y = sqrtf(*(const float *)x);
}
static const agi_op op_sqrt = {"ag_sqrt", sqrt_backward, agi_jvp_symmetric};
ag_tensor *ag_sqrt(ag_tape *t, ag_tensor *x)
{
    return unary_op(t, &op_sqrt, x, sqrt_kernel, 0, 0, sqrt_scalar_rule);
}

AGI_UNARY_KERNEL(square_kernel, x * x)
/* y = x^2; dx += dy * 2x */
static void square_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                            ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, ag_mul_scalar(t, n->in[0], 2));
}
AGI_SCALAR_RULE1(square_scalar_rule, gy_ * (T)(x * (T)2))
static const agi_op op_square = {"ag_square", square_backward, agi_jvp_symmetric};
ag_tensor *ag_square(ag_tape *t, ag_tensor *x)
{
    return unary_op(t, &op_square, x, square_kernel, 0, 0, square_scalar_rule);
}

AGI_UNARY_KERNEL(reciprocal_kernel, 1 / x)
/* y = 1/x; dx -= dy * y^2 */
static void reciprocal_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_neg(t, ag_mul(t, gy, ag_square(t, n->out)));
}
AGI_SCALAR_RULE1(reciprocal_scalar_rule, -(gy_ * (T)(y * y)))
static const agi_op op_reciprocal = {"ag_reciprocal", reciprocal_backward, agi_jvp_symmetric};
ag_tensor *ag_reciprocal(ag_tape *t, ag_tensor *x)
{
    return unary_op(t, &op_reciprocal, x, reciprocal_kernel, 0, 0, reciprocal_scalar_rule);
}

AGI_RANGE_MV(pow_scalar_range, job, lo, hi)
{
    const agi_unary_job *j = job;
    if (j->y->dtype == AG_F64)
        agi_vm()->pow_scalar_f64(AGI_F64(j->y) + lo, AGI_F64(j->x) + lo, j->s, hi - lo);
    else
        agi_vm()->pow_scalar_f32(AGI_F32(j->y) + lo, AGI_F32(j->x) + lo, (float)j->s, hi - lo);
}
AGI_VMATH_KERNEL(pow_scalar_kernel, pow_scalar_range)
/* y = x^p; dx += dy * p * x^(p-1), and 0 for p == 0 (as PyTorch: no
   0 * inf = NaN at x == 0) */
static void pow_scalar_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *x = n->in[0];
    double p = n->fparam[0];
    if (p == 0)
        gx[0] = ag_zeros(t, (ag_dtype)x->dtype, x->ndim, x->shape);
    else
        gx[0] = ag_mul(t, gy, ag_mul_scalar(t, ag_pow_scalar(t, x, p - 1), p));
}
static const agi_op op_pow_scalar = {"ag_pow_scalar", pow_scalar_backward, agi_jvp_symmetric};
ag_tensor *ag_pow_scalar(ag_tape *t, ag_tensor *x, double p)
{
    return agi_unary(t, &op_pow_scalar, x, pow_scalar_kernel, p, 0);
}

/* ------------------------------------------------------ trigonometric --- */

AGI_VMATH_RANGE(sin_range, sin)
AGI_VMATH_KERNEL(sin_kernel, sin_range)
/* y = sin x; dx += dy * cos x */
static void sin_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, ag_cos(t, n->in[0]));
}
AGI_VM_VALUE(sin_value, sin)
static const agi_op op_sin = {"ag_sin", sin_backward, agi_jvp_symmetric};
ag_tensor *ag_sin(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_sin, x, sin_kernel, 0, 0);
}

AGI_VMATH_RANGE(cos_range, cos)
AGI_VMATH_KERNEL(cos_kernel, cos_range)
/* y = cos x; dx -= dy * sin x */
static void cos_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_neg(t, ag_mul(t, gy, ag_sin(t, n->in[0])));
}
AGI_VM_VALUE(cos_value, cos)
static const agi_op op_cos = {"ag_cos", cos_backward, agi_jvp_symmetric};
ag_tensor *ag_cos(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_cos, x, cos_kernel, 0, 0);
}

AGI_VMATH_RANGE(tanh_range, tanh)
AGI_VMATH_KERNEL(tanh_kernel, tanh_range)
/* y = tanh x; dx += dy * (1 - y^2) */
/* d = 1 - y^2 from y = tanh x, one pass (not square, rsub: two): an op of
   its own; dy += dd * -2y */
AGI_UNARY_KERNEL(tanh_deriv_kernel, 1 - x * x)
static void tanh_deriv_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, ag_mul_scalar(t, n->in[0], -2));
}
static const agi_op op_tanh_deriv = {"ag_tanh (derivative)", tanh_deriv_backward,
                                     agi_jvp_symmetric};

static void tanh_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, agi_unary(t, &op_tanh_deriv, n->out, tanh_deriv_kernel, 0, 0));
}
AGI_VM_VALUE(tanh_value, tanh)
static const agi_op op_tanh = {"ag_tanh", tanh_backward, agi_jvp_symmetric};
ag_tensor *ag_tanh(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_tanh, x, tanh_kernel, 0, 0);
}

AGI_VMATH_RANGE(erf_range, erf)
AGI_VMATH_KERNEL(erf_kernel, erf_range)
/* y = erf x; dx += dy * 2/sqrt(pi) e^{-x^2} */
static void erf_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *e = ag_exp(t, ag_neg(t, ag_square(t, n->in[0])));
    gx[0] = ag_mul(t, gy, ag_mul_scalar(t, e, 1.12837916709551257390));
}
AGI_VM_VALUE(erf_value, erf)
static const agi_op op_erf = {"ag_erf", erf_backward, agi_jvp_symmetric};
ag_tensor *ag_erf(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_erf, x, erf_kernel, 0, 0);
}

/* --------------------------------------------------------- sign, abs --- */

/* NaN stays NaN (NumPy; PyTorch gives 0). -0 gives 0. */
AGI_UNARY_KERNEL(sign_kernel, x > 0 ? 1 : (x < 0 ? -1 : (x == 0 ? 0 : x)))
static const agi_op op_sign = {"ag_sign", NULL, NULL};   /* a constant: no rule */
ag_tensor *ag_sign(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_sign, x, sign_kernel, 0, 0);
}

AGI_UNARY_KERNEL(abs_kernel, fabs(x))
/* y = |x|; dx += dy * sign(x) (0 at x == 0, as PyTorch) */
static void abs_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, ag_sign(t, n->in[0]));
}
/* y = |x| on one element */
static void abs_value(int dt, void *y, const void *x)
{
    if (dt == AG_F64) *(double *)y = fabs(*(const double *)x);
    else *(float *)y = (float)fabs(*(const float *)x);
}
static const agi_op op_abs = {"ag_abs", abs_backward, agi_jvp_symmetric};
ag_tensor *ag_abs(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_abs, x, abs_kernel, 0, 0);
}

/* --------------------------------------------------------------- cast --- */

/* y = x converted to y's dtype; same shapes. */
static void cast_kernel(const ag_tensor *x, ag_tensor *y)
{
    const int64_t n = y->numel;
    if (n == 0) return;
    if (x->dtype == y->dtype) {
        memcpy(y->data, x->data, agi_bytes(n, y->dtype));
    } else if (y->dtype == AG_F64) {
        const float *px = AGI_F32(x);
        double *py = AGI_F64(y);
        for (int64_t i = 0; i < n; i++) py[i] = px[i];
    } else {
        const double *px = AGI_F64(x);
        float *py = AGI_F32(y);
        for (int64_t i = 0; i < n; i++) py[i] = (float)px[i];
    }
}

/* y = cast(x, dt); dx += cast(dy, x's dtype) (dy itself when dt is x's) */
static void cast_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_dtype dt = (ag_dtype)n->in[0]->dtype;
    gx[0] = gy->dtype == dt ? gy : ag_cast(t, gy, dt);
}
/* ty = cast(tx, dt) */
static ag_tensor *cast_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_cast(t, tx[0], (ag_dtype)n->out->dtype);
}
static const agi_op op_cast = {"ag_cast", cast_backward, cast_jvp};

ag_tensor *ag_cast(ag_tape *t, ag_tensor *x, ag_dtype dt)
{
    char buf[96];
    if (!agi_check(t, "ag_cast", "x", x)) return NULL;
    if (dt != AG_F32 && dt != AG_F64)
        return agi_fail(t, AG_ERR_DTYPE, "ag_cast: unknown dtype %d for x of shape %s "
                        "(use AG_F32 or AG_F64)", (int)dt, agi_shape_str(x, buf));
    ag_tensor *y = agi_new(t, "ag_cast", dt, x->ndim, x->shape);
    if (!y) return NULL;
    cast_kernel(x, y);
    agi_record(t, &op_cast, y, 1, &x);
    return agi_done(t, &op_cast, y);
}

/* ------------------------------------------- one-element functions --- */

/* sigmoid's, for the table (its op lives in activation.c) */
AGI_VM_VALUE(sigmoid_value, sigmoid)

agi_value_fn agi_op_value(const char *name)
{
    static const struct {
        const char *name;
        agi_value_fn fn;
    } fns[] = {
        {"ag_exp", exp_value},   {"ag_expm1", expm1_value}, {"ag_log", log_value},
        {"ag_log1p", log1p_value}, {"ag_tanh", tanh_value}, {"ag_sigmoid", sigmoid_value},
        {"ag_erf", erf_value},   {"ag_sin", sin_value},     {"ag_cos", cos_value},
        {"ag_sqrt", sqrt_value}, {"ag_abs", abs_value},
    };
    for (size_t i = 0; name && i < sizeof fns / sizeof *fns; i++)
        if (!strcmp(name, fns[i].name)) return fns[i].fn;
    return NULL;
}

void agi_pow_value(int dt, void *y, const void *x, double p)
{
    if (dt == AG_F64)
        agi_vm()->pow_scalar_f64((double *)y, (const double *)x, p, 1);
    else
        agi_vm()->pow_scalar_f32((float *)y, (const float *)x, (float)p, 1);
}
