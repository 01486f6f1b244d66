/*
** loss_class.c: the multi-class losses: cross-entropy from class indices
** (log_softmax + gather) and from probabilities, negative log-likelihood,
** and the multi-class margin loss. Class weights, ignore_index and label
** smoothing follow PyTorch. Compositions of ops only; index targets are
** plain int64_t arrays that gather and index_select copy onto the tape.
*/
#include "loss_util.h"

#include <math.h>
#include <stdlib.h>

/* Where the classes are in an input of shape [N, C, d1..dk] (or [C]). */
typedef struct class_layout {
    int ndim;                      /* the input's */
    int axis;                      /* the class axis: 1, or 0 for a 1-D input */
    int64_t classes;               /* C */
    int64_t count;                 /* targets: N * d1 * .. * dk (1 for [C]) */
    int tndim;                     /* ndim - 1 */
    int64_t tshape[AG_MAX_DIMS];   /* the targets' shape: the input's minus the class axis */
    int64_t ishape[AG_MAX_DIMS];   /* gather's index shape: the input's, class axis 1 */
    int64_t wshape[AG_MAX_DIMS];   /* a class weight's broadcast shape: 1s, C on the axis */
} class_layout;

static int get_layout(ag_tape *t, const char *fn, const char *name, const ag_tensor *x,
                      class_layout *L)
{
    int nd = ag_tensor_ndim(x);
    const int64_t *shape = ag_tensor_shape(x);
    if (nd < 1)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: %s is [], needs a class axis ([C], "
                                 "[N, C] or [N, C, d1, ...])", fn, name), 0;
    L->ndim = nd;
    L->axis = nd == 1 ? 0 : 1;
    L->classes = shape[L->axis];
    L->count = 1;
    L->tndim = 0;
    for (int d = 0; d < nd; d++) {
        L->ishape[d] = d == L->axis ? 1 : shape[d];
        L->wshape[d] = d == L->axis ? L->classes : 1;
        if (d != L->axis)   /* fits: a tensor's shape obeys ag_shape_numel's rule */
            L->count = ag_size_mul(L->count, shape[d]), L->tshape[L->tndim++] = shape[d];
    }
    return 1;
}

/* The target ignore_index names (AG_IGNORE_INDEX unless opts set one). */
static int is_ignored(const ag_class_loss_opts *opts, int64_t target)
{
    return target == (opts && opts->has_ignore_index ? opts->ignore_index : AG_IGNORE_INDEX);
}

/* The number of ignored targets (none unless ignoring), or -1 after
   recording an error for a NULL array or a target out of [0, C). */
static int64_t check_targets(ag_tape *t, const char *fn, const int64_t *targets,
                             const class_layout *L, const ag_class_loss_opts *opts, int ignoring)
{
    int64_t ignored = 0;
    if (L->count > 0 && !targets)
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: targets is NULL", fn), -1;
    for (int64_t i = 0; i < L->count; i++) {
        if (ignoring && is_ignored(opts, targets[i])) {
            ignored++;
            continue;
        }
        if (targets[i] < 0 || targets[i] >= L->classes)
            return ag_tape_set_error(t, AG_ERR_ARG, "%s: targets[%lld] = %lld is out of range "
                                     "[0, %lld)", fn, (long long)i, (long long)targets[i],
                                     (long long)L->classes), -1;
    }
    return ignored;
}

static int check_opts(ag_tape *t, const char *fn, const ag_tensor *x, const class_layout *L,
                      const ag_class_loss_opts *opts, int smoothing_ok, int ignore_ok)
{
    char sw[AGI_LOSS_DIMS], sx[AGI_LOSS_DIMS];
    if (!opts) return 1;
    ag_tensor *w = opts->weight;
    if (w && !agi_loss_tensor(t, fn, "weight", w)) return 0;
    if (w && ag_tensor_dtype(w) != ag_tensor_dtype(x))
        return ag_tape_set_error(t, AG_ERR_DTYPE, "%s: dtypes differ: weight is %s, input is "
                                 "%s", fn, agi_loss_dtype(w), agi_loss_dtype(x)), 0;
    if (w && (ag_tensor_ndim(w) != 1 || ag_tensor_dim(w, 0) != L->classes))
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: weight is %s, expected [%lld] (one per "
                                 "class) for input %s", fn, agi_loss_dims(w, sw),
                                 (long long)L->classes, agi_loss_dims(x, sx)), 0;
    double s = opts->label_smoothing;
    if (!(s >= 0 && s <= 1))
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: label_smoothing = %g is outside [0, 1]",
                                 fn, s), 0;
    if (s != 0 && !smoothing_ok)
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: label_smoothing = %g is for cross-entropy "
                                 "only (must be 0)", fn, s), 0;
    if (opts->has_ignore_index && !ignore_ok)
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: ignore_index does not apply to "
                                 "probability targets", fn), 0;
    return 1;
}

/*
** x[n, y_n] along the class axis (shape tshape). *w gets the weight of
** each target, weight[y_n] times 0 for an ignored one, or NULL when all
** weigh 1; *mask gets 1 for a target kept, 0 for an ignored one, or NULL
** when none is ignored. An ignored target picks class 0, weighed 0.
*/
static ag_tensor *pick(ag_tape *t, const char *fn, ag_tensor *x, const int64_t *targets,
                       const class_layout *L, const ag_class_loss_opts *opts, int64_t ignored,
                       ag_tensor **w, ag_tensor **mask)
{
    const int64_t *idx = targets;
    int64_t *safe = NULL;
    *w = *mask = NULL;
    if (ignored > 0) {
        safe = malloc(sizeof *safe * (size_t)L->count);
        if (!safe)
            return ag_tape_set_error(t, AG_ERR_NOMEM, "%s: out of memory for %lld targets", fn,
                                     (long long)L->count), NULL;
        for (int64_t i = 0; i < L->count; i++) safe[i] = is_ignored(opts, targets[i]) ? 0 : targets[i];
        idx = safe;
        *mask = ag_zeros(t, ag_tensor_dtype(x), L->tndim, L->tshape);
        for (int64_t i = 0; *mask && i < L->count; i++)
            if (!is_ignored(opts, targets[i])) ag_tensor_set(*mask, i, 1);
    }
    ag_tensor *picked = ag_gather(t, x, L->axis, idx, L->ishape);
    picked = ag_reshape(t, picked, L->tndim, L->tshape);
    if (opts && opts->weight)
        *w = ag_reshape(t, ag_index_select(t, opts->weight, 0, idx, L->count), L->tndim, L->tshape);
    free(safe);
    if (*mask) *w = *w ? ag_mul(t, *w, *mask) : *mask;
    return picked;
}

/*
** none: loss; sum: sum loss; mean: sum loss / sum w, or mean loss. With
** every target ignored, mean is 0 / 0, NaN, as PyTorch's, but PyTorch's
** gradient is 0 (its backward writes no entry for an ignored target), not
** the NaN of 0 * (1 / 0): NaN + 0 * sum loss, the NaN a constant.
*/
static ag_tensor *reduce_weighted(ag_tape *t, ag_tensor *loss, ag_tensor *w, ag_reduction red,
                                  int all_ignored)
{
    if (red == AG_REDUCTION_MEAN && all_ignored)
        return ag_add_scalar(t, ag_mul_scalar(t, ag_sum(t, loss, AG_ALL, 0), 0), NAN);
    if (red == AG_REDUCTION_MEAN && w)
        return ag_div(t, ag_sum(t, loss, AG_ALL, 0), ag_sum(t, w, AG_ALL, 0));
    return agi_loss_reduce(t, loss, red);
}

/* -w_n logp[n, y_n], plus label smoothing's -s/C sum_c w_c logp[n, c]. */
static ag_tensor *nll_core(ag_tape *t, const char *fn, ag_tensor *logp, const int64_t *targets,
                           const ag_class_loss_opts *opts, const class_layout *L,
                           int64_t ignored, ag_reduction red)
{
    ag_tensor *w, *mask;
    ag_tensor *picked = pick(t, fn, logp, targets, L, opts, ignored, &w, &mask);
    ag_tensor *loss = ag_neg(t, w ? ag_mul(t, picked, w) : picked);
    double s = opts ? opts->label_smoothing : 0;
    if (s > 0) {
        ag_tensor *terms = logp;
        if (opts->weight)
            terms = ag_mul(t, terms, ag_reshape(t, opts->weight, L->ndim, L->wshape));
        ag_tensor *smooth = ag_neg(t, ag_sum(t, terms, L->axis, 0));
        if (mask) smooth = ag_mul(t, smooth, mask);
        loss = ag_add(t, ag_mul_scalar(t, loss, 1 - s),
                      ag_mul_scalar(t, smooth, s / (double)L->classes));
    }
    return reduce_weighted(t, loss, w, red, ignored > 0 && ignored == L->count);
}

/* Cross-entropy (from_logits) or nll on the class-index targets. */
static ag_tensor *index_loss(ag_tape *t, const char *fn, const char *name, ag_tensor *x,
                             const int64_t *targets, const ag_class_loss_opts *opts,
                             ag_reduction red, int from_logits)
{
    class_layout L;
    if (!agi_loss_begin(t, fn) || !agi_loss_tensor(t, fn, name, x) ||
        !agi_loss_reduction(t, fn, red, 0) || !get_layout(t, fn, name, x, &L) ||
        !check_opts(t, fn, x, &L, opts, from_logits, 1))
        return NULL;
    int64_t ignored = check_targets(t, fn, targets, &L, opts, 1);
    if (ignored < 0) return NULL;
    ag_tensor *logp = from_logits ? ag_log_softmax(t, x, L.axis) : x;
    return nll_core(t, fn, logp, targets, opts, &L, ignored, red);
}

ag_tensor *ag_cross_entropy_loss(ag_tape *t, ag_tensor *logits, const int64_t *targets,
                                 ag_reduction red)
{
    return index_loss(t, "ag_cross_entropy_loss", "logits", logits, targets, NULL, red, 1);
}

ag_tensor *ag_cross_entropy_loss_ex(ag_tape *t, ag_tensor *logits, const int64_t *targets,
                                    const ag_class_loss_opts *opts, ag_reduction red)
{
    return index_loss(t, "ag_cross_entropy_loss_ex", "logits", logits, targets, opts, red, 1);
}

ag_tensor *ag_nll_loss(ag_tape *t, ag_tensor *logp, const int64_t *targets, ag_reduction red)
{
    return index_loss(t, "ag_nll_loss", "logp", logp, targets, NULL, red, 0);
}

ag_tensor *ag_nll_loss_ex(ag_tape *t, ag_tensor *logp, const int64_t *targets,
                          const ag_class_loss_opts *opts, ag_reduction red)
{
    return index_loss(t, "ag_nll_loss_ex", "logp", logp, targets, opts, red, 0);
}

static ag_tensor *soft_cross_entropy(ag_tape *t, const char *fn, ag_tensor *x, ag_tensor *probs,
                                     const ag_class_loss_opts *opts, ag_reduction red)
{
    class_layout L;
    if (!agi_loss_begin(t, fn) || !agi_loss_tensor(t, fn, "logits", x) ||
        !agi_loss_tensor(t, fn, "probs", probs) || !agi_loss_reduction(t, fn, red, 0) ||
        !agi_loss_same(t, fn, "logits", x, "probs", probs) ||
        !get_layout(t, fn, "logits", x, &L) || !check_opts(t, fn, x, &L, opts, 1, 0))
        return NULL;
    ag_tensor *y = probs;
    double s = opts ? opts->label_smoothing : 0;
    if (s > 0) y = ag_add_scalar(t, ag_mul_scalar(t, probs, 1 - s), s / (double)L.classes);
    /* -sum_c w_c y_c log_softmax(x)_c; mean over the N * d1.. rows */
    ag_tensor *terms = ag_mul(t, ag_log_softmax(t, x, L.axis), y);
    if (opts && opts->weight)
        terms = ag_mul(t, terms, ag_reshape(t, opts->weight, L.ndim, L.wshape));
    return agi_loss_reduce(t, ag_neg(t, ag_sum(t, terms, L.axis, 0)), red);
}

ag_tensor *ag_cross_entropy_soft_loss(ag_tape *t, ag_tensor *logits, ag_tensor *probs,
                                      ag_reduction red)
{
    return soft_cross_entropy(t, "ag_cross_entropy_soft_loss", logits, probs, NULL, red);
}

ag_tensor *ag_cross_entropy_soft_loss_ex(ag_tape *t, ag_tensor *logits, ag_tensor *probs,
                                         const ag_class_loss_opts *opts, ag_reduction red)
{
    return soft_cross_entropy(t, "ag_cross_entropy_soft_loss_ex", logits, probs, opts, red);
}

/* weight [C] of x's dtype, or NULL. */
static int check_class_weight(ag_tape *t, const char *fn, const ag_tensor *w, const ag_tensor *x,
                              const class_layout *L)
{
    char sw[AGI_LOSS_DIMS];
    if (!w) return 1;
    if (!agi_loss_tensor(t, fn, "weight", w)) return 0;
    if (ag_tensor_dtype(w) != ag_tensor_dtype(x))
        return ag_tape_set_error(t, AG_ERR_DTYPE, "%s: dtypes differ: weight is %s, scores is "
                                 "%s", fn, agi_loss_dtype(w), agi_loss_dtype(x)), 0;
    if (ag_tensor_ndim(w) != 1 || ag_tensor_dim(w, 0) != L->classes)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: weight is %s, expected [%lld] (one per "
                                 "class)", fn, agi_loss_dims(w, sw), (long long)L->classes), 0;
    return 1;
}

static ag_tensor *multi_margin(const char *fn, ag_tape *t, ag_tensor *scores,
                               const int64_t *targets, int p, double margin, ag_tensor *weight,
                               ag_reduction red)
{
    char sx[AGI_LOSS_DIMS];
    class_layout L;
    if (!agi_loss_begin(t, fn) || !agi_loss_tensor(t, fn, "scores", scores) ||
        !agi_loss_reduction(t, fn, red, 0) || !get_layout(t, fn, "scores", scores, &L) ||
        !check_class_weight(t, fn, weight, scores, &L))
        return NULL;
    if (L.ndim > 2)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: scores is %s, expected [N, C] or [C]",
                                 fn, agi_loss_dims(scores, sx)), NULL;
    if (!isfinite(margin))
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: margin = %g is not finite", fn, margin),
               NULL;
    if (p != 1 && p != 2)
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: p = %d must be 1 or 2", fn, p), NULL;
    if (check_targets(t, fn, targets, &L, NULL, 0) < 0) return NULL;
    /* sum_{j != y} w_y max(0, margin - x_y + x_j)^p / C */
    ag_tensor *xy = ag_gather(t, scores, L.axis, targets, L.ishape);      /* [N, 1] */
    ag_tensor *hinge = ag_relu(t, ag_add_scalar(t, ag_sub(t, scores, xy), margin));
    if (p == 2) hinge = ag_square(t, hinge);
    ag_tensor *others = ag_ones(t, ag_tensor_dtype(scores), L.ndim, ag_tensor_shape(scores));
    for (int64_t i = 0; others && i < L.count; i++)      /* 0 at each sample's target */
        ag_tensor_set(others, i * L.classes + targets[i], 0);
    ag_tensor *loss = ag_sum(t, ag_mul(t, hinge, others), L.axis, 0);
    if (weight)
        loss = ag_mul(t, loss, ag_reshape(t, ag_index_select(t, weight, 0, targets, L.count),
                                          L.tndim, L.tshape));
    return agi_loss_reduce(t, ag_div_scalar(t, loss, (double)L.classes), red);
}

ag_tensor *ag_multi_margin_loss(ag_tape *t, ag_tensor *scores, const int64_t *targets,
                                double margin, ag_reduction red)
{
    return multi_margin("ag_multi_margin_loss", t, scores, targets, 1, margin, NULL, red);
}

ag_tensor *ag_multi_margin_loss_ex(ag_tape *t, ag_tensor *scores, const int64_t *targets, int p,
                                   double margin, ag_tensor *weight, ag_reduction red)
{
    return multi_margin("ag_multi_margin_loss_ex", t, scores, targets, p, margin, weight, red);
}
