/*
** loss_regression.c: the elementwise losses (mse, l1, huber, smooth l1),
** the binary ones (bce on probabilities and on logits, hinge), the KL
** divergence, and the l1/l2 weight penalties. Each is a composition of
** ops, so its gradient, of any order, comes from the ops' rules.
** Class-index losses live in loss_class.c.
*/
#include "loss_util.h"

#include <math.h>
#include <stdio.h>

/* The checks of a loss of two same-shaped tensors. */
static int pair_args(ag_tape *t, const char *fn, const char *aname, ag_tensor *a,
                     const char *bname, ag_tensor *b, ag_reduction red, int batchmean_ok)
{
    return agi_loss_begin(t, fn) && agi_loss_tensor(t, fn, aname, a) &&
           agi_loss_tensor(t, fn, bname, b) && agi_loss_reduction(t, fn, red, batchmean_ok) &&
           agi_loss_same(t, fn, aname, a, bname, b);
}

/* ------------------------------------------------------- regression --- */

ag_tensor *ag_mse_loss(ag_tape *t, ag_tensor *input, ag_tensor *target, ag_reduction red)
{
    if (!pair_args(t, "ag_mse_loss", "input", input, "target", target, red, 0)) return NULL;
    return agi_loss_reduce(t, ag_square(t, ag_sub(t, input, target)), red);
}

ag_tensor *ag_l1_loss(ag_tape *t, ag_tensor *input, ag_tensor *target, ag_reduction red)
{
    if (!pair_args(t, "ag_l1_loss", "input", input, "target", target, red, 0)) return NULL;
    return agi_loss_reduce(t, ag_abs(t, ag_sub(t, input, target)), red);
}

/* where |d| < k: 0.5 d^2 * quad_scale; elsewhere (|d| - 0.5 k) * lin_scale.
   Both branches are finite, so where's masked gradient is exact. */
static ag_tensor *piecewise_quadratic(ag_tape *t, ag_tensor *d, double k, double quad_scale,
                                      double lin_scale)
{
    ag_tensor *a = ag_abs(t, d);
    ag_tensor *quad = ag_mul_scalar(t, ag_square(t, d), 0.5 * quad_scale);
    ag_tensor *lin = ag_mul_scalar(t, ag_sub_scalar(t, a, 0.5 * k), lin_scale);
    return ag_where(t, ag_lt_scalar(t, a, k), quad, lin);
}

ag_tensor *ag_huber_loss(ag_tape *t, ag_tensor *input, ag_tensor *target, double delta,
                         ag_reduction red)
{
    const char *fn = "ag_huber_loss";
    if (!pair_args(t, fn, "input", input, "target", target, red, 0)) return NULL;
    if (!(delta > 0) || isinf(delta))
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: delta = %g must be positive and finite",
                                 fn, delta), NULL;
    ag_tensor *d = ag_sub(t, input, target);
    return agi_loss_reduce(t, piecewise_quadratic(t, d, delta, 1, delta), red);
}

ag_tensor *ag_smooth_l1_loss(ag_tape *t, ag_tensor *input, ag_tensor *target, double beta,
                             ag_reduction red)
{
    const char *fn = "ag_smooth_l1_loss";
    if (!pair_args(t, fn, "input", input, "target", target, red, 0)) return NULL;
    if (!(beta >= 0) || isinf(beta))
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: beta = %g must be >= 0 and finite",
                                 fn, beta), NULL;
    ag_tensor *d = ag_sub(t, input, target);
    if (beta == 0) return agi_loss_reduce(t, ag_abs(t, d), red);   /* L1, as PyTorch */
    return agi_loss_reduce(t, piecewise_quadratic(t, d, beta, 1 / beta, 1), red);
}

/* ----------------------------------------------------------- binary --- */

/*
** max(log x, -100) for x in [0, 1], as PyTorch clamps BCE's logs. Where
** x <= e^-100 the log is never taken of x (log(1) instead, then replaced
** by -100), so x == 0 gives a finite value and a zero gradient of every
** order, not 0 * inf.
*/
static ag_tensor *clamped_log(ag_tape *t, ag_tensor *x)
{
    if (!x) return NULL;
    ag_dtype dt = ag_tensor_dtype(x);
    ag_tensor *keep = ag_gt_scalar(t, x, exp(-100.0));
    ag_tensor *safe = ag_where(t, keep, x, ag_scalar(t, dt, 1));
    return ag_where(t, keep, ag_log(t, safe), ag_scalar(t, dt, -100));
}

/* 1 when every element of probs is in [0, 1] (NaN is not). */
static int check_probs(ag_tape *t, const char *fn, const ag_tensor *probs)
{
    if (ag_tape_check(t, fn, "probs", probs) != AG_OK) return 0;
    for (int64_t i = 0; i < ag_tensor_numel(probs); i++) {
        double v = ag_tensor_get(probs, i);
        if (!(v >= 0 && v <= 1))
            return ag_tape_set_error(t, AG_ERR_ARG, "%s: probs[%lld] = %g is outside [0, 1]",
                                     fn, (long long)i, v), 0;
    }
    return 1;
}

static ag_tensor *bce(ag_tape *t, const char *fn, ag_tensor *probs, ag_tensor *target,
                      ag_tensor *weight, ag_reduction red)
{
    if (!pair_args(t, fn, "probs", probs, "target", target, red, 0)) return NULL;
    if (weight && !agi_loss_broadcasts(t, fn, "weight", weight, "probs", probs)) return NULL;
    if (!check_probs(t, fn, probs)) return NULL;
    /* -(y log p + (1 - y) log(1 - p)) */
    ag_tensor *pos = ag_mul(t, target, clamped_log(t, probs));
    ag_tensor *neg = ag_mul(t, ag_rsub_scalar(t, target, 1),
                            clamped_log(t, ag_rsub_scalar(t, probs, 1)));
    ag_tensor *loss = ag_neg(t, ag_add(t, pos, neg));
    if (weight) loss = ag_mul(t, loss, weight);
    return agi_loss_reduce(t, loss, red);
}

ag_tensor *ag_bce_loss(ag_tape *t, ag_tensor *probs, ag_tensor *target, ag_reduction red)
{
    return bce(t, "ag_bce_loss", probs, target, NULL, red);
}

ag_tensor *ag_bce_loss_weighted(ag_tape *t, ag_tensor *probs, ag_tensor *target,
                                ag_tensor *weight, ag_reduction red)
{
    return bce(t, "ag_bce_loss_weighted", probs, target, weight, red);
}

static ag_tensor *bce_logits(ag_tape *t, const char *fn, ag_tensor *x, ag_tensor *y,
                             ag_tensor *weight, ag_tensor *pos_weight, ag_reduction red)
{
    if (!pair_args(t, fn, "logits", x, "target", y, red, 0)) return NULL;
    if (weight && !agi_loss_broadcasts(t, fn, "weight", weight, "logits", x)) return NULL;
    if (pos_weight && !agi_loss_broadcasts(t, fn, "pos_weight", pos_weight, "logits", x))
        return NULL;
    /* softplus(x) - x y: softplus never overflows and its gradient,
       sigmoid, is exact far out; no kink at 0 (unlike max(x, 0) - ...). */
    ag_tensor *loss = ag_sub(t, ag_softplus(t, x), ag_mul(t, x, y));
    if (pos_weight) {   /* + (p - 1) y softplus(-x) */
        ag_tensor *py = ag_mul(t, ag_sub_scalar(t, pos_weight, 1), y);
        loss = ag_add(t, loss, ag_mul(t, py, ag_softplus(t, ag_neg(t, x))));
    }
    if (weight) loss = ag_mul(t, loss, weight);
    return agi_loss_reduce(t, loss, red);
}

ag_tensor *ag_bce_with_logits_loss(ag_tape *t, ag_tensor *logits, ag_tensor *target,
                                   ag_reduction red)
{
    return bce_logits(t, "ag_bce_with_logits_loss", logits, target, NULL, NULL, red);
}

ag_tensor *ag_bce_with_logits_loss_weighted(ag_tape *t, ag_tensor *logits, ag_tensor *target,
                                            ag_tensor *weight, ag_tensor *pos_weight,
                                            ag_reduction red)
{
    return bce_logits(t, "ag_bce_with_logits_loss_weighted", logits, target, weight,
                      pos_weight, red);
}

ag_tensor *ag_hinge_loss(ag_tape *t, ag_tensor *scores, ag_tensor *labels, ag_reduction red)
{
    const char *fn = "ag_hinge_loss";
    if (!pair_args(t, fn, "scores", scores, "labels", labels, red, 0)) return NULL;
    if (ag_tape_check(t, fn, "labels", labels) != AG_OK) return NULL;
    for (int64_t i = 0; i < ag_tensor_numel(labels); i++) {
        double v = ag_tensor_get(labels, i);
        if (v != 1 && v != -1)
            return ag_tape_set_error(t, AG_ERR_ARG, "%s: labels[%lld] = %g is not -1 or +1",
                                     fn, (long long)i, v), NULL;
    }
    /* max(0, 1 - y s) */
    return agi_loss_reduce(t, ag_relu(t, ag_rsub_scalar(t, ag_mul(t, labels, scores), 1)), red);
}

/* ------------------------------------------------------- divergence --- */

static ag_tensor *kl_div(const char *fn, ag_tape *t, ag_tensor *input, ag_tensor *target,
                         int log_target, ag_reduction red)
{
    if (!pair_args(t, fn, "input", input, "target", target, red, 1)) return NULL;
    if (red == AG_REDUCTION_BATCHMEAN && ag_tensor_ndim(input) == 0)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: AG_REDUCTION_BATCHMEAN needs a batch "
                                 "axis, input is []", fn), NULL;
    if (log_target)                     /* exp(target) (target - input) */
        return agi_loss_reduce(t, ag_mul(t, ag_exp(t, target), ag_sub(t, target, input)), red);
    /* target (log target - input), 0 log 0 = 0: the log is taken of 1
       where target == 0, so neither the value nor the gradient sees
       log 0. A negative target still gives log < 0 = NaN, as PyTorch. */
    ag_tensor *zero = ag_eq_scalar(t, target, 0);
    ag_tensor *safe = ag_where(t, zero, ag_scalar(t, ag_tensor_dtype(target), 1), target);
    ag_tensor *loss = ag_mul(t, target, ag_sub(t, ag_log(t, safe), input));
    return agi_loss_reduce(t, loss, red);
}

ag_tensor *ag_kl_div_loss(ag_tape *t, ag_tensor *input, ag_tensor *target, ag_reduction red)
{
    return kl_div("ag_kl_div_loss", t, input, target, 0, red);
}

ag_tensor *ag_kl_div_loss_ex(ag_tape *t, ag_tensor *input, ag_tensor *target, int log_target,
                             ag_reduction red)
{
    return kl_div("ag_kl_div_loss_ex", t, input, target, log_target, red);
}

/* --------------------------------------------------- hinge embedding --- */

ag_tensor *ag_hinge_embedding_loss(ag_tape *t, ag_tensor *input, ag_tensor *target,
                                   double margin, ag_reduction red)
{
    const char *fn = "ag_hinge_embedding_loss";
    if (!pair_args(t, fn, "input", input, "target", target, red, 0)) return NULL;
    if (!isfinite(margin))
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: margin = %g is not finite", fn, margin),
               NULL;
    /* PyTorch's: where(y != 1, max(0, margin - x), 0) + where(y != -1, x, 0) */
    ag_tensor *zero = ag_zeros(t, ag_tensor_dtype(input), 0, NULL);
    ag_tensor *hinge = ag_relu(t, ag_add_scalar(t, ag_neg(t, input), margin));
    ag_tensor *pos = ag_eq_scalar(t, target, 1), *neg = ag_eq_scalar(t, target, -1);
    ag_tensor *loss = ag_add(t, ag_where(t, pos, zero, hinge), ag_where(t, neg, zero, input));
    return agi_loss_reduce(t, loss, red);
}

/* -------------------------------------------------------- penalties --- */

static ag_tensor *penalty(ag_tape *t, const char *fn, int n, ag_tensor *const *params,
                          ag_tensor *(*term)(ag_tape *, ag_tensor *))
{
    if (!agi_loss_begin(t, fn)) return NULL;
    if (n < 1 || !params)
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: needs n >= 1 parameters (n = %d, params "
                                 "%s)", fn, n, params ? "given" : "NULL"), NULL;
    ag_tensor *acc = NULL;
    for (int i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "params[%d]", i);
        if (!agi_loss_tensor(t, fn, name, params[i])) return NULL;
        if (ag_tensor_dtype(params[i]) != ag_tensor_dtype(params[0]))
            return ag_tape_set_error(t, AG_ERR_DTYPE, "%s: dtypes differ: params[0] is %s, "
                                     "params[%d] is %s", fn, agi_loss_dtype(params[0]), i,
                                     agi_loss_dtype(params[i])), NULL;
        ag_tensor *s = ag_sum(t, term(t, params[i]), AG_ALL, 0);
        acc = acc ? ag_add(t, acc, s) : s;
    }
    return acc;
}

ag_tensor *ag_l1_penalty(ag_tape *t, int n, ag_tensor *const *params)
{
    return penalty(t, "ag_l1_penalty", n, params, ag_abs);
}

ag_tensor *ag_l2_penalty(ag_tape *t, int n, ag_tensor *const *params)
{
    return penalty(t, "ag_l2_penalty", n, params, ag_square);
}
