/*
** clip.c: gradient clipping by global norm and by value, and the max-norm
** weight constraint. Each call computes the new values with ops on a
** private no-grad tape, then assigns them all, or none on an error.
*/
#include "ag.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

/* A no-grad tape for one call; NULL + ag_last_error when out of memory. */
static ag_tape *work_tape(const char *fn)
{
    ag_tape *t = ag_tape_new();
    if (!t) ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    else ag_set_grad_enabled(t, 0);
    return t;
}

/* The tape's error as ag_last_error(), prefixed with fn. */
static ag_status tape_error(const char *fn, ag_tape *t)
{
    return ag_set_last_error(ag_tape_status(t), "%s: %s", fn, ag_tape_errmsg(t));
}

static ag_status check_params(const char *fn, int n, ag_tensor *const *params)
{
    if (n < 1 || !params)
        return ag_set_last_error(AG_ERR_ARG, "%s: no parameters (n is %d)", fn, n);
    for (int i = 0; i < n; i++)
        if (!params[i]) return ag_set_last_error(AG_ERR_ARG, "%s: parameter %d is NULL", fn, i);
    return AG_OK;
}

/* g -> its new value on tape t. */
typedef ag_tensor *(*grad_map)(ag_tape *t, ag_tensor *g, double arg);

/* Replaces each existing grad g by map(g, arg): all new values are
   computed first, then assigned only if every op succeeded. */
static ag_status map_grads(const char *fn, int n, ag_tensor *const *params, grad_map map,
                           double arg)
{
    ag_tape *t = work_tape(fn);
    ag_tensor **news = malloc((size_t)n * sizeof *news);
    if (!t || !news) {
        ag_tape_free(t), free(news);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    }
    for (int i = 0; i < n; i++) {
        ag_tensor *g = ag_tensor_grad(params[i]);
        news[i] = g ? map(t, g, arg) : NULL;
    }
    ag_status s = ag_tape_status(t) == AG_OK ? AG_OK : tape_error(fn, t);
    for (int i = 0; i < n && s == AG_OK; i++)
        if (news[i]) s = ag_assign(ag_tensor_grad(params[i]), news[i]);
    free(news);
    ag_tape_free(t);
    return s;
}

static ag_tensor *scale_map(ag_tape *t, ag_tensor *g, double c) { return ag_mul_scalar(t, g, c); }
static ag_tensor *clamp_map(ag_tape *t, ag_tensor *g, double c) { return ag_clamp(t, g, -c, c); }

/* |g| in f64 on tape t; NULL for a grad with no elements. */
static ag_tensor *abs_f64(ag_tape *t, ag_tensor *g)
{
    if (ag_tensor_numel(g) == 0) return NULL;
    return ag_abs(t, ag_tensor_dtype(g) == AG_F64 ? g : ag_cast(t, g, AG_F64));
}

/* NaN-propagating max (fmax would drop a NaN grad). */
static double max_nan(double a, double b) { return a > b || isnan(a) ? a : b; }

/* sum (s |g|)^p of one grad, a = |g| in f64, s a power of two. */
static double power_sum(ag_tape *t, ag_tensor *a, double p, double s)
{
    if (s != 1) a = ag_mul_scalar(t, a, s);
    ag_tensor *pw = p == 2 ? ag_square(t, a) : p == 1 ? a : ag_pow_scalar(t, a, p);
    return ag_tensor_get(ag_sum(t, pw, AG_ALL, 0), 0);
}

/*
** The norm of the grads taken together: max |g| (p inf) or
** (sum |g|^p)^(1/p). The largest |g| is m 2^e (m in [0.5, 1)); when m^p
** times the element count could overflow, or m^p is too small for a
** normal double with its 53 bits (about 1e-292), every |g| is scaled by
** 2^-e first and the result by 2^e, as LAPACK's nrm2 scales: exact, as
** the scale is a power of two, so f64 grads of 1e200 or 1e-200 give their
** true norm. Otherwise no scaling: the same operations, the same bits.
*/
static double total_norm(ag_tape *t, int n, ag_tensor *const *params, ag_tensor **abs, double p)
{
    double m = 0, count = 0;
    for (int i = 0; i < n; i++) {
        ag_tensor *g = ag_tensor_grad(params[i]);
        abs[i] = g ? abs_f64(t, g) : NULL;
        if (!abs[i]) continue;
        m = max_nan(m, ag_tensor_get(ag_max(t, abs[i], AG_ALL, 0), 0));
        count += (double)ag_tensor_numel(g);
    }
    if (isinf(p) || m == 0 || !isfinite(m)) {
        if (isinf(p) || m == 0) return m;
        count = 0;                      /* Inf or NaN: the sum says which */
    }
    double top = pow(m, p), s = 1;
    if (count > 0 && !(top <= DBL_MAX / count && top >= DBL_MIN / DBL_EPSILON)) {
        int e;
        frexp(m, &e);
        s = ldexp(1, -e < 1023 ? -e : 1023);    /* 2^-e, 2^1023 at most (finite) */
    }
    double acc = 0;
    for (int i = 0; i < n; i++)
        if (abs[i]) acc += power_sum(t, abs[i], p, s);
    return pow(acc, 1 / p) / s;
}

/* The checks of ag_clip_grad_norm's arguments. */
static ag_status clip_norm_check(const char *fn, int n, ag_tensor *const *params,
                                 double max_norm, double norm_type)
{
    ag_status s = check_params(fn, n, params);
    if (s != AG_OK) return s;
    if (!(max_norm >= 0))
        return ag_set_last_error(AG_ERR_ARG, "%s: max_norm is %g, must be >= 0", fn, max_norm);
    if (!(norm_type > 0))
        return ag_set_last_error(AG_ERR_ARG, "%s: norm_type is %g, must be > 0 (or INFINITY)",
                                 fn, norm_type);
    return AG_OK;
}

/* The norm of every grad together into *total; AG_OK or the error. */
static ag_status grads_norm(const char *fn, int n, ag_tensor *const *params, double norm_type,
                            double *total)
{
    ag_tape *t = work_tape(fn);
    ag_tensor **abs = malloc((size_t)n * sizeof *abs);
    if (!t || !abs) {
        ag_tape_free(t), free(abs);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    }
    *total = total_norm(t, n, params, abs, norm_type);
    free(abs);
    ag_status s = ag_tape_status(t) == AG_OK ? AG_OK : tape_error(fn, t);
    ag_tape_free(t);
    return s;
}

ag_status ag_clip_grad_norm(int n, ag_tensor *const *params, double max_norm, double norm_type,
                            int error_if_nonfinite, double *total_norm_out)
{
    const char *fn = "ag_clip_grad_norm";
    double total = NAN;
    if (total_norm_out) *total_norm_out = NAN;
    ag_status s = clip_norm_check(fn, n, params, max_norm, norm_type);
    if (s == AG_OK) s = grads_norm(fn, n, params, norm_type, &total);
    if (s != AG_OK) return s;
    if (total_norm_out) *total_norm_out = total;
    if (!isfinite(total) && error_if_nonfinite)
        return ag_set_last_error(AG_ERR_ANOMALY, "%s: the total norm of order %g of the "
                                 "gradients is %g, so it cannot be clipped (grads left "
                                 "unchanged; error_if_nonfinite is set)", fn, norm_type, total);
    /* PyTorch's clamp(max_norm / (total + 1e-6), max=1): NaN stays NaN */
    double coef = max_norm / (total + 1e-6);
    if (coef >= 1) return AG_OK;        /* a product by 1 changes nothing */
    return map_grads(fn, n, params, scale_map, coef);
}

ag_status ag_clip_grad_value(int n, ag_tensor *const *params, double clip)
{
    const char *fn = "ag_clip_grad_value";
    ag_status s = check_params(fn, n, params);
    if (s != AG_OK) return s;
    if (!(clip >= 0))
        return ag_set_last_error(AG_ERR_ARG, "%s: clip is %g, must be >= 0", fn, clip);
    return map_grads(fn, n, params, clamp_map, clip);
}

/* w2 [out, m] scaled row by row: rows with norm > c by c / (norm + 1e-7). */
static ag_tensor *renorm_rows(ag_tape *t, ag_tensor *w2, double c)
{
    int64_t col[2] = {ag_tensor_dim(w2, 0), 1};
    ag_tensor *norm = ag_sqrt(t, ag_sum(t, ag_square(t, w2), 1, 1));          /* [out, 1] */
    ag_tensor *scale = ag_where(t, ag_gt_scalar(t, norm, c),
                                ag_rdiv_scalar(t, ag_add_scalar(t, norm, 1e-7), c),
                                ag_ones(t, ag_tensor_dtype(w2), 2, col));
    return ag_mul(t, w2, scale);
}

ag_status ag_max_norm_constraint(ag_tensor *weight, double max_norm)
{
    const char *fn = "ag_max_norm_constraint";
    if (!weight) return ag_set_last_error(AG_ERR_ARG, "%s: weight is NULL", fn);
    if (ag_tensor_ndim(weight) < 2)
        return ag_set_last_error(AG_ERR_ARG, "%s: weight is %d-D, must be at least 2-D "
                                 "([out, in, ...])", fn, ag_tensor_ndim(weight));
    if (!(isfinite(max_norm) && max_norm >= 0))
        return ag_set_last_error(AG_ERR_ARG, "%s: max_norm is %g, must be finite and >= 0", fn,
                                 max_norm);
    ag_tape *t = work_tape(fn);
    if (!t) return AG_ERR_NOMEM;
    int64_t rows[2] = {ag_tensor_dim(weight, 0), -1};
    if (ag_tensor_numel(weight) == 0) rows[1] = 0;
    ag_tensor *w2 = ag_reshape(t, weight, 2, rows);
    ag_tensor *w = ag_reshape(t, renorm_rows(t, w2, max_norm), ag_tensor_ndim(weight),
                              ag_tensor_shape(weight));
    ag_status s = w ? ag_assign(weight, w) : tape_error(fn, t);
    ag_tape_free(t);
    return s;
}
