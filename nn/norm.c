/*
** norm.c: BatchNorm1d and BatchNorm2d (batch statistics in training,
** running statistics in evaluation, the running buffers updated in place
** under no-grad), on the fused ops of ag_norm.h, and LayerNorm (over the
** trailing axes of normalized_shape), a composition of ops.
*/
#include "layers_util.h"

#include <math.h>

/* (x - mean) / sqrt(var + eps), times weight plus bias when given. The
   statistics broadcast against x; weight and bias have the stats' shape. */
static ag_tensor *normalize(ag_tape *t, ag_tensor *x, ag_tensor *mean, ag_tensor *var,
                            double eps, ag_tensor *weight, ag_tensor *bias)
{
    ag_tensor *inv_std = ag_pow_scalar(t, ag_add_scalar(t, var, eps), -0.5);
    ag_tensor *y = ag_mul(t, ag_sub(t, x, mean), inv_std);
    if (weight) y = ag_add(t, ag_mul(t, y, weight), bias);
    return y;
}

/* ------------------------------------------------ BatchNorm1d and 2d --- */

typedef struct batchnorm {
    ag_module base;
    int spatial;                        /* 1: BatchNorm1d, 2: BatchNorm2d */
    int track;                          /* track_running_stats */
    ag_dtype dt;
    int64_t features;
    double eps, momentum;
    ag_tensor *weight, *bias;           /* NULL without affine */
    ag_tensor *running_mean, *running_var, *num_batches;   /* NULL without track */
    char desc[AGN_DESC_LEN];
} batchnorm;

/* Batch statistics are used in training, and always without running ones. */
static int uses_batch_stats(const batchnorm *b) { return b->base.training || !b->track; }

/* Row r of the [2, C] batch statistics of ag_batch_norm, as [C]. */
static ag_tensor *stat_row(ag_tape *t, ag_tensor *stats, int r, const int64_t *c)
{
    return ag_reshape(t, ag_slice(t, stats, 0, r, r + 1, 1), 1, c);
}

/* running = (1 - f) running + f stat, under no-grad (stat is [C]). */
static int update_running(ag_tape *t, const char *who, ag_tensor *running, ag_tensor *stat,
                          double f)
{
    ag_tensor *next = ag_add(t, ag_mul_scalar(t, running, 1 - f), ag_mul_scalar(t, stat, f));
    if (!next) return 0;
    ag_status s = ag_assign(running, next);
    if (s != AG_OK) return ag_tape_set_error(t, s, "%s: %s", who, ag_last_error()), 0;
    return 1;
}

/* The running-statistics update of a training step from the batch's
   [2, C] mean and biased var over n values per channel. Records nothing. */
static int track(batchnorm *b, ag_tape *t, ag_tensor *stats, int64_t n)
{
    int was = ag_set_grad_enabled(t, 0);
    double count = ag_tensor_get(b->num_batches, 0) + 1;
    double f = b->momentum < 0 ? 1.0 / count : b->momentum;
    ag_tensor *var = stat_row(t, stats, 1, &b->features);
    ag_tensor *unbiased = ag_mul_scalar(t, var, (double)n / (double)(n - 1));
    int ok = update_running(t, b->desc, b->running_mean, stat_row(t, stats, 0, &b->features), f) &&
             update_running(t, b->desc, b->running_var, unbiased, f);
    ag_set_grad_enabled(t, was);
    if (ok) ag_tensor_set(b->num_batches, 0, count);
    return ok;
}

/* Checks x is [N, C] or [N, C, L] (BatchNorm1d) or [N, C, H, W]
   (BatchNorm2d) with C = features; n = values per channel. */
static int check_batch(batchnorm *b, ag_tape *t, const ag_tensor *x, int64_t *n)
{
    char s[128];
    if (!agn_check_input(t, b->desc, x, b->dt, 0)) return 0;
    int nd = ag_tensor_ndim(x), ok = b->spatial == 1 ? nd == 2 || nd == 3 : nd == 4;
    if (!ok || ag_tensor_shape(x)[1] != b->features) {
        long long c = (long long)b->features;
        if (b->spatial == 2)
            return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x is %s, expected [N, %lld, H, W]",
                                     b->desc, agn_shape_str(x, s, sizeof s), c), 0;
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x is %s, expected [N, %lld] or "
                                 "[N, %lld, L]", b->desc, agn_shape_str(x, s, sizeof s), c, c), 0;
    }
    *n = ag_tensor_numel(x) / b->features;                      /* N * L */
    if (uses_batch_stats(b) && *n == 1)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: Expected more than 1 value per channel "
                                 "when training, got input size %s", b->desc,
                                 agn_shape_str(x, s, sizeof s)), 0;
    return 1;
}

/*
** The buffers a forward reads, checked there since a checkpoint or a
** write may have put anything in them: in training num_batches_tracked,
** a count (and with AG_MOMENTUM_CUMULATIVE a divisor), in evaluation
** running_var, under the square root that divides. AG_ERR_STATE on t.
*/
static int check_buffers(batchnorm *b, ag_tape *t)
{
    if (!b->track) return 1;
    if (b->base.training) {
        double nb = ag_tensor_get(b->num_batches, 0);
        if (nb >= 0 && nb <= 9007199254740992.0 && nb == floor(nb)) return 1;
        return ag_tape_set_error(t, AG_ERR_STATE, "%s: num_batches_tracked is %.17g, must be "
                                 "a whole number in [0, 2^53]", b->desc, nb), 0;
    }
    for (int64_t c = 0; c < b->features; c++) {
        double v = ag_tensor_get(b->running_var, c);
        if (!(v >= 0))
            return ag_tape_set_error(t, AG_ERR_STATE, "%s: running_var[%lld] is %.17g, must "
                                     "be >= 0", b->desc, (long long)c, v), 0;
    }
    return 1;
}

/* Evaluation: x * scale + shift per channel, scale = weight / sqrt(
   running_var + eps), shift = bias - running_mean * scale (one pass over x;
   the gradient reaches weight and bias through the small ops). */
static ag_tensor *batchnorm_eval(batchnorm *b, ag_tape *t, ag_tensor *x)
{
    ag_tensor *scale = ag_pow_scalar(t, ag_add_scalar(t, b->running_var, b->eps), -0.5);
    if (b->weight) scale = ag_mul(t, scale, b->weight);
    ag_tensor *shift = ag_neg(t, ag_mul(t, b->running_mean, scale));
    if (b->bias) shift = ag_add(t, shift, b->bias);
    return ag_channel_affine(t, x, scale, shift);
}

static ag_tensor *batchnorm_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    batchnorm *b = (batchnorm *)m;
    int64_t n;
    ag_tensor *stats;
    if (!check_batch(b, t, x, &n) || !check_buffers(b, t)) return NULL;
    if (!uses_batch_stats(b)) return batchnorm_eval(b, t, x);
    ag_tensor *y = ag_batch_norm(t, x, b->weight, b->bias, b->eps, &stats);
    if (!y || (b->track && n > 0 && !track(b, t, stats, n))) return NULL;
    return y;
}

static const ag_module_ops batchnorm1d_ops = {"BatchNorm1d", batchnorm_forward, NULL};
static const ag_module_ops batchnorm2d_ops = {"BatchNorm2d", batchnorm_forward, NULL};

/* Registers a fresh tensor of shape [n] (ndim 1) or a scalar (ndim 0):
   param 1 a parameter, 0 a buffer, 2 an integer buffer. */
static int add_tensor(ag_module *m, const char *name, int param, ag_dtype dt, int ndim,
                      int64_t n, double value, ag_tensor **out)
{
    *out = ag_full(NULL, dt, ndim, (int64_t[]){n}, value);
    ag_status s = param == 1 ? ag_module_add_param(m, name, *out)
                : param == 2 ? ag_module_add_int_buffer(m, name, *out)
                             : ag_module_add_buffer(m, name, *out);
    return s == AG_OK;
}

/* BatchNorm1d or BatchNorm2d (spatial 1 or 2), checked; NULL with
   ag_last_error() set. */
static ag_module *batchnorm_new(const char *who, int spatial, int64_t num_features, double eps,
                                double momentum, int affine, int track_running_stats, ag_dtype dt)
{
    if (agn_check_dtype(who, dt) != AG_OK) return NULL;
    if (num_features < 1 || !(eps >= 0) || !isfinite(eps) ||
        !((momentum >= 0 && momentum <= 1) || momentum == AG_MOMENTUM_CUMULATIVE))
        return ag_set_last_error(AG_ERR_ARG, "%s: num_features %lld must be >= 1, eps %.17g >= 0, "
                                 "momentum %.17g in [0, 1] or AG_MOMENTUM_CUMULATIVE", who,
                                 (long long)num_features, eps, momentum), NULL;
    batchnorm *b = agn_alloc(sizeof *b, spatial == 1 ? &batchnorm1d_ops : &batchnorm2d_ops, who);
    if (!b) return NULL;
    b->spatial = spatial;
    b->track = track_running_stats != 0;
    b->dt = dt;
    b->features = num_features;
    b->eps = eps;
    b->momentum = momentum;
    snprintf(b->desc, sizeof b->desc, "BatchNorm%dd(%lld)", spatial, (long long)num_features);
    ag_module *m = &b->base;
    int ok = !affine || (add_tensor(m, "weight", 1, dt, 1, num_features, 1, &b->weight) &&
                         add_tensor(m, "bias", 1, dt, 1, num_features, 0, &b->bias));
    ok = ok && (!b->track ||
                (add_tensor(m, "running_mean", 0, dt, 1, num_features, 0, &b->running_mean) &&
                 add_tensor(m, "running_var", 0, dt, 1, num_features, 1, &b->running_var) &&
                 add_tensor(m, "num_batches_tracked", 2, dt, 0, 0, 0, &b->num_batches)));
    if (!ok) {
        ag_module_free(m);
        return NULL;
    }
    return m;
}

ag_module *ag_batchnorm1d_new(int64_t num_features, double eps, double momentum, int affine,
                              ag_dtype dt)
{
    return batchnorm_new("ag_batchnorm1d_new", 1, num_features, eps, momentum, affine, 1, dt);
}

ag_module *ag_batchnorm1d_new_ex(int64_t num_features, double eps, double momentum, int affine,
                                 int track_running_stats, ag_dtype dt)
{
    return batchnorm_new("ag_batchnorm1d_new_ex", 1, num_features, eps, momentum, affine,
                         track_running_stats, dt);
}

ag_module *ag_batchnorm2d_new(int64_t num_features, double eps, double momentum, int affine,
                              ag_dtype dt)
{
    return batchnorm_new("ag_batchnorm2d_new", 2, num_features, eps, momentum, affine, 1, dt);
}

ag_module *ag_batchnorm2d_new_ex(int64_t num_features, double eps, double momentum, int affine,
                                 int track_running_stats, ag_dtype dt)
{
    return batchnorm_new("ag_batchnorm2d_new_ex", 2, num_features, eps, momentum, affine,
                         track_running_stats, dt);
}

/* ----------------------------------------------------------- LayerNorm --- */

typedef struct layernorm {
    ag_module base;
    int nd;                             /* dims of normalized_shape */
    int64_t shape[AG_MAX_DIMS], size;   /* normalized_shape and its product */
    double eps;
    ag_tensor *weight, *bias;           /* normalized_shape; NULL without affine */
    ag_dtype dt;
    char desc[AGN_DESC_LEN];
} layernorm;

/* x's trailing dims against normalized_shape; 1 when they match, else 0
   with the error on t. */
static int check_trailing(const layernorm *l, ag_tape *t, const ag_tensor *x)
{
    char s[128], want[128];
    const int off = ag_tensor_ndim(x) - l->nd;
    int ok = 1;
    for (int d = 0; d < l->nd; d++) ok = ok && ag_tensor_shape(x)[off + d] == l->shape[d];
    if (ok) return 1;
    if (l->nd == 1)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x's last dim is %lld, expected %lld "
                                 "(x is %s)", l->desc, (long long)ag_tensor_dim(x, -1),
                                 (long long)l->size, agn_shape_str(x, s, sizeof s)), 0;
    int n = snprintf(want, sizeof want, "[");
    for (int d = 0; d < l->nd; d++)
        n += snprintf(want + n, sizeof want - (size_t)n, d ? ",%lld" : "%lld",
                      (long long)l->shape[d]);
    snprintf(want + n, sizeof want - (size_t)n, "]");
    return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x's last %d dims must be %s (x is %s)",
                             l->desc, l->nd, want, agn_shape_str(x, s, sizeof s)), 0;
}

/* Statistics over the trailing nd axes: x seen as [..., size] (a reshape
   sharing its data), normalized, seen again with x's shape, then the
   elementwise affine of normalized_shape broadcast over the leading axes. */
static ag_tensor *layernorm_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    layernorm *l = (layernorm *)m;
    if (!agn_check_input(t, l->desc, x, l->dt, l->nd) || !check_trailing(l, t, x)) return NULL;
    const int lead = ag_tensor_ndim(x) - l->nd;
    ag_tensor *xr = x;
    if (l->nd > 1) {
        int64_t flat[AG_MAX_DIMS];
        memcpy(flat, ag_tensor_shape(x), (size_t)lead * sizeof *flat);
        flat[lead] = l->size;
        xr = ag_reshape(t, x, lead + 1, flat);
    }
    ag_tensor *mean = ag_mean(t, xr, -1, 1);
    ag_tensor *var = ag_mean(t, ag_square(t, ag_sub(t, xr, mean)), -1, 1);    /* biased */
    if (l->nd == 1) return normalize(t, x, mean, var, l->eps, l->weight, l->bias);
    ag_tensor *y = normalize(t, xr, mean, var, l->eps, NULL, NULL);
    y = ag_reshape(t, y, ag_tensor_ndim(x), ag_tensor_shape(x));
    return l->weight ? ag_add(t, ag_mul(t, y, l->weight), l->bias) : y;
}

static const ag_module_ops layernorm_ops = {"LayerNorm", layernorm_forward, NULL};

/* "LayerNorm((4,))", "LayerNorm((3, 4))": PyTorch's repr of the shape. */
static void layernorm_describe(layernorm *l)
{
    int n = snprintf(l->desc, sizeof l->desc, "LayerNorm((");
    for (int d = 0; d < l->nd && n > 0 && (size_t)n < sizeof l->desc; d++)
        n += snprintf(l->desc + n, sizeof l->desc - (size_t)n, d ? ", %lld" : "%lld",
                      (long long)l->shape[d]);
    if (n > 0 && (size_t)n < sizeof l->desc)
        snprintf(l->desc + n, sizeof l->desc - (size_t)n, l->nd == 1 ? ",))" : "))");
}

/* Registers a tensor of normalized_shape filled with value. */
static int add_shaped(layernorm *l, const char *name, double value, ag_tensor **out)
{
    *out = ag_full(NULL, l->dt, l->nd, l->shape, value);
    return ag_module_add_param(&l->base, name, *out) == AG_OK;
}

/* The constructor both entry points share; shape is checked. */
static ag_module *layernorm_new(const char *who, int ndim, const int64_t *shape, double eps,
                                int affine, ag_dtype dt)
{
    layernorm *l = agn_alloc(sizeof *l, &layernorm_ops, who);
    if (!l) return NULL;
    l->nd = ndim;
    memcpy(l->shape, shape, (size_t)ndim * sizeof *shape);
    l->size = ag_shape_numel(ndim, shape);
    l->eps = eps;
    l->dt = dt;
    layernorm_describe(l);
    if (affine && !(add_shaped(l, "weight", 1, &l->weight) && add_shaped(l, "bias", 0, &l->bias))) {
        ag_module_free(&l->base);
        return NULL;
    }
    return &l->base;
}

ag_module *ag_layernorm_new(int64_t normalized_size, double eps, int affine, ag_dtype dt)
{
    const char *who = "ag_layernorm_new";
    if (agn_check_dtype(who, dt) != AG_OK) return NULL;
    if (normalized_size < 1 || !(eps >= 0) || !isfinite(eps))
        return ag_set_last_error(AG_ERR_ARG, "%s: normalized_size %lld must be >= 1 and eps "
                                 "%.17g >= 0", who, (long long)normalized_size, eps), NULL;
    return layernorm_new(who, 1, &normalized_size, eps, affine, dt);
}

ag_module *ag_layernorm_new_shape(int ndim, const int64_t *normalized_shape, double eps,
                                  int affine, ag_dtype dt)
{
    const char *who = "ag_layernorm_new_shape";
    if (agn_check_dtype(who, dt) != AG_OK) return NULL;
    if (ndim < 1 || ndim > AG_MAX_DIMS || !normalized_shape)
        return ag_set_last_error(AG_ERR_ARG, "%s: ndim is %d with normalized_shape %p (1 to %d "
                                 "dims)", who, ndim, (const void *)normalized_shape,
                                 AG_MAX_DIMS), NULL;
    for (int d = 0; d < ndim; d++)
        if (normalized_shape[d] < 1)
            return ag_set_last_error(AG_ERR_ARG, "%s: normalized_shape[%d] is %lld, must be "
                                     ">= 1", who, d, (long long)normalized_shape[d]), NULL;
    if (ag_shape_numel(ndim, normalized_shape) < 0 || !(eps >= 0) || !isfinite(eps))
        return ag_set_last_error(AG_ERR_ARG, "%s: normalized_shape too large or eps %.17g not "
                                 ">= 0", who, eps), NULL;
    return layernorm_new(who, ndim, normalized_shape, eps, affine, dt);
}
