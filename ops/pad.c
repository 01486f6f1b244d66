/*
** pad.c: ag_pad (constant, reflect, replicate on the last one or two
** axes) and the private transpose that is reflect and replicate padding's
** backward. Both see x as [outer, H, W] (H = 1 when only the last axis is
** padded) and y as [outer, OH, OW], with a plan on the tape mapping every
** output row and column to the input one it copies (-1: the constant).
** The plan is node->aux, shared by the op, its transpose and theirs.
*/
#include "ag_ops_internal.h"
#include "ag_pad.h"

#include <stdio.h>
#include <string.h>

#define PAD_MAX 2147483647

typedef struct pad_plan {
    int mode, npad;
    int64_t pad[4];
    double value;
    int64_t outer, h, w, oh, ow;
    int64_t *rows, *cols;           /* [oh], [ow]: source row / column, -1 for value */
    int x_ndim;
    int64_t x_shape[AG_MAX_DIMS], y_shape[AG_MAX_DIMS];
} pad_plan;

/* The source of output position o along an axis of n with `before`
   elements added in front. */
static int64_t source(int mode, int64_t o, int64_t before, int64_t n)
{
    int64_t i = o - before;
    if (mode == AG_PAD_REFLECT) return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i;
    if (mode == AG_PAD_REPLICATE) return i < 0 ? 0 : i >= n ? n - 1 : i;
    return i < 0 || i >= n ? -1 : i;
}

/* ------------------------------------------------------------ kernels --- */

/* y = pad(x) over planes [lo, hi): the columns [a, b) that copy a run of
   x's row are a memcpy, the others follow the plan. x is [outer, h, w],
   y [outer, oh, ow]. */
#define DEFINE_PAD(NAME, T)                                                   \
    AGI_MV_HELPER void NAME(const pad_plan *p, const T *x, T *y, int64_t lo, int64_t hi) \
    {                                                                         \
        const int64_t left = p->pad[0], ow = p->ow;                           \
        const int64_t c0 = left > 0 ? left : 0;                               \
        const int64_t c1 = left + p->w < ow ? left + p->w : ow;               \
        const int64_t a = c0 < c1 ? c0 : ow, b = c0 < c1 ? c1 : ow;          \
        const T v = (T)p->value;                                              \
        for (int64_t pl = lo; pl < hi; pl++)                                  \
            for (int64_t i = 0; i < p->oh; i++) {                             \
                T *yr = y + (pl * p->oh + i) * ow;                            \
                if (p->rows[i] < 0) {                                         \
                    for (int64_t j = 0; j < ow; j++) yr[j] = v;               \
                    continue;                                                 \
                }                                                             \
                const T *xr = x + (pl * p->h + p->rows[i]) * p->w;            \
                for (int64_t j = 0; j < a; j++) yr[j] = p->cols[j] < 0 ? v : xr[p->cols[j]]; \
                if (b > a) memcpy(yr + a, xr + a - left, (size_t)(b - a) * sizeof *yr); \
                for (int64_t j = b; j < ow; j++) yr[j] = p->cols[j] < 0 ? v : xr[p->cols[j]]; \
            }                                                                 \
    }

/* dx = 0, then dx[source] += dy for every output element, in order. */
#define DEFINE_PAD_T(NAME, T)                                                 \
    AGI_MV_HELPER void NAME(const pad_plan *p, const T *dy, T *dx, int64_t lo, int64_t hi) \
    {                                                                         \
        for (int64_t pl = lo; pl < hi; pl++) {                                \
            T *d = dx + pl * p->h * p->w;                                     \
            memset(d, 0, (size_t)(p->h * p->w) * sizeof *d);                  \
            for (int64_t i = 0; i < p->oh; i++) {                             \
                const T *g = dy + (pl * p->oh + i) * p->ow;                   \
                if (p->rows[i] < 0) continue;                                 \
                T *dr = d + p->rows[i] * p->w;                                \
                for (int64_t j = 0; j < p->ow; j++)                           \
                    if (p->cols[j] >= 0) dr[p->cols[j]] += g[j];              \
            }                                                                 \
        }                                                                     \
    }

DEFINE_PAD(pad_f32, float)
DEFINE_PAD(pad_f64, double)
DEFINE_PAD_T(pad_t_f32, float)
DEFINE_PAD_T(pad_t_f64, double)

typedef struct pad_job {
    const pad_plan *p;
    const ag_tensor *in;
    ag_tensor *out;
    int transpose;
} pad_job;

AGI_RANGE_MV(pad_range, ctx, lo, hi)
{
    const pad_job *j = ctx;
    const void *in = j->in->data;
    void *out = j->out->data;
    if (j->in->dtype == AG_F64)
        j->transpose ? pad_t_f64(j->p, in, out, lo, hi) : pad_f64(j->p, in, out, lo, hi);
    else
        j->transpose ? pad_t_f32(j->p, in, out, lo, hi) : pad_f32(j->p, in, out, lo, hi);
}

static void pad_run(const pad_plan *p, const ag_tensor *in, ag_tensor *out, int transpose)
{
    pad_job j = {p, in, out, transpose};
    const int64_t work = p->oh * p->ow + p->h * p->w;
    agi_parallel_range(p->outer, work >= 1 && work < AGI_PAR_GRAIN ?
                       (AGI_PAR_GRAIN + work - 1) / work : 1, pad_range, &j);
}

/* ----------------------------------------------------------- the ops --- */

static ag_tensor *pad_apply(ag_tape *t, ag_tensor *x, const pad_plan *p);
static pad_plan *pad_plan_new(ag_tape *t, const ag_tensor *x, int npad, const int64_t *pad,
                              ag_pad_mode mode, double value);

/* dx = P^T dy (each dy added to the x element it copies); d(dy) += P d(dx) */
static void pad_t_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                           ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = pad_apply(t, gy, n->aux);
}
static ag_tensor *pad_transpose(ag_tape *t, ag_tensor *dy, const pad_plan *p);

/* linear: ty = P^T tx */
static ag_tensor *pad_t_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return pad_transpose(t, tx[0], n->aux);
}
static const agi_op op_pad_t = {"ag_pad (backward)", pad_t_backward, pad_t_jvp};

static ag_tensor *pad_transpose(ag_tape *t, ag_tensor *dy, const pad_plan *p)
{
    if (!agi_check(t, op_pad_t.name, "dy", dy)) return NULL;
    ag_tensor *dx = agi_new(t, op_pad_t.name, (ag_dtype)dy->dtype, p->x_ndim, p->x_shape);
    if (!dx) return NULL;
    pad_run(p, dy, dx, 1);
    agi_node *n = agi_record(t, &op_pad_t, dx, 1, &dy);
    if (n) n->aux = p;
    return agi_done(t, &op_pad_t, dx);
}

/* y = pad(x); constant: dx += pad(dy, -pads) (the crop back), else
   dx += P^T dy */
static void pad_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    const pad_plan *p = n->aux;
    (void)need;
    if (p->mode != AG_PAD_CONSTANT) {
        gx[0] = pad_transpose(t, gy, p);
        return;
    }
    int64_t neg[4];
    for (int i = 0; i < p->npad; i++) neg[i] = -p->pad[i];
    gx[0] = ag_pad(t, gy, p->npad, neg, AG_PAD_CONSTANT, 0);
}
/* ty = P tx: the same padding, with 0 for a constant (its value is no
   function of x) */
static ag_tensor *pad_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const pad_plan *p = n->aux;
    if (p->mode != AG_PAD_CONSTANT) return pad_apply(t, tx[0], p);
    return ag_pad(t, tx[0], p->npad, p->pad, AG_PAD_CONSTANT, 0);
}
static const agi_op op_pad = {"ag_pad", pad_backward, pad_jvp};

/* P x on a checked plan, recorded as ag_pad. */
static ag_tensor *pad_apply(ag_tape *t, ag_tensor *x, const pad_plan *p)
{
    if (!agi_check(t, op_pad.name, "x", x)) return NULL;
    ag_tensor *y = agi_new(t, op_pad.name, (ag_dtype)x->dtype, p->x_ndim, p->y_shape);
    if (!y) return NULL;
    pad_run(p, x, y, 0);
    agi_node *n = agi_record(t, &op_pad, y, 1, &x);
    if (n) n->aux = p;
    return agi_done(t, &op_pad, y);
}

ag_tensor *ag_pad(ag_tape *t, ag_tensor *x, int npad, const int64_t *pad, ag_pad_mode mode,
                  double value)
{
    if (!agi_check(t, op_pad.name, "x", x)) return NULL;
    pad_plan *p = pad_plan_new(t, x, npad, pad, mode, value);
    return p ? pad_apply(t, x, p) : NULL;
}

/* ------------------------------------------------------------ checks --- */

static const char *mode_name(int mode)
{
    return mode == AG_PAD_REFLECT ? "reflect" : mode == AG_PAD_REPLICATE ? "replicate"
                                                                          : "constant";
}

/* "(1, 2)" or "(1, 2, 3, 4)" into buf (128 bytes). */
static const char *pads_str(int npad, const int64_t *pad, char *buf)
{
    int n = snprintf(buf, 128, "(%lld, %lld", (long long)pad[0], (long long)pad[1]);
    if (npad == 4) n += snprintf(buf + n, 128 - (size_t)n, ", %lld, %lld", (long long)pad[2],
                                 (long long)pad[3]);
    snprintf(buf + n, 128 - (size_t)n, ")");
    return buf;
}

/* The arguments alone: npad, pad, mode, value, the paddings' range. */
static int check_args(ag_tape *t, const ag_tensor *x, int npad, const int64_t *pad,
                      int mode, double value)
{
    char sx[96], sp[128];
    if (npad != 2 && npad != 4)
        return agi_fail(t, AG_ERR_ARG, "ag_pad: npad is %d: give 2 paddings (left, right) or 4 "
                        "(left, right, top, bottom) (x is %s)", npad, agi_shape_str(x, sx)), 0;
    if (!pad)
        return agi_fail(t, AG_ERR_ARG, "ag_pad: pad is NULL (x is %s)", agi_shape_str(x, sx)), 0;
    if (mode != AG_PAD_CONSTANT && mode != AG_PAD_REFLECT && mode != AG_PAD_REPLICATE)
        return agi_fail(t, AG_ERR_ARG, "ag_pad: mode %d is not AG_PAD_CONSTANT, AG_PAD_REFLECT "
                        "or AG_PAD_REPLICATE (x is %s)", mode, agi_shape_str(x, sx)), 0;
    if (mode != AG_PAD_CONSTANT && value != 0)
        return agi_fail(t, AG_ERR_ARG, "ag_pad: %s padding takes no value (got %g; x is %s)",
                        mode_name(mode), value, agi_shape_str(x, sx)), 0;
    for (int i = 0; i < npad; i++)
        if (pad[i] < -PAD_MAX || pad[i] > PAD_MAX)
            return agi_fail(t, AG_ERR_ARG, "ag_pad: padding %s: each must be within "
                            "+-2147483647 (x is %s)", pads_str(npad, pad, sp),
                            agi_shape_str(x, sx)), 0;
    return 1;
}

/* x's dims for the mode, and reflect's limit. */
static int check_x(ag_tape *t, const ag_tensor *x, int npad, const int64_t *pad, int mode)
{
    char sx[96], sp[128];
    const int axes = npad / 2;
    if (x->ndim < axes)
        return agi_fail(t, AG_ERR_SHAPE, "ag_pad: padding %s is for %d dims, x is %s",
                        pads_str(npad, pad, sp), axes, agi_shape_str(x, sx)), 0;
    if (mode == AG_PAD_CONSTANT) return 1;
    if (x->ndim != axes + 1 && x->ndim != axes + 2)
        return agi_fail(t, AG_ERR_SHAPE, "ag_pad: %s padding of the last %d dim%s takes x of %d "
                        "or %d dims, x is %s", mode_name(mode), axes, axes > 1 ? "s" : "",
                        axes + 1, axes + 2, agi_shape_str(x, sx)), 0;
    for (int d = x->ndim == axes + 2; d < x->ndim; d++)
        if (x->shape[d] == 0)
            return agi_fail(t, AG_ERR_SHAPE, "ag_pad: x is %s: %s padding needs every dim but "
                            "the batch dim non-empty", agi_shape_str(x, sx), mode_name(mode)), 0;
    for (int i = 0; mode == AG_PAD_REFLECT && i < npad; i++) {
        int d = x->ndim - 1 - i / 2;
        if (pad[i] >= x->shape[d])
            return agi_fail(t, AG_ERR_ARG, "ag_pad: reflect padding %lld is not below the size "
                            "%lld of dim %d (padding %s, x is %s)", (long long)pad[i],
                            (long long)x->shape[d], d, pads_str(npad, pad, sp),
                            agi_shape_str(x, sx)), 0;
    }
    return 1;
}

/* The source tables of a plan. */
static int fill_tables(ag_tape *t, pad_plan *p)
{
    p->rows = agi_alloc(t, (size_t)(p->oh + 1) * sizeof *p->rows);
    p->cols = agi_alloc(t, (size_t)(p->ow + 1) * sizeof *p->cols);
    if (!p->rows || !p->cols) return 0;
    for (int64_t i = 0; i < p->oh; i++) p->rows[i] = source(p->mode, i, p->pad[2], p->h);
    for (int64_t j = 0; j < p->ow; j++) p->cols[j] = source(p->mode, j, p->pad[0], p->w);
    return 1;
}

/* Checks everything and builds the plan; NULL with the error set. */
static pad_plan *pad_plan_new(ag_tape *t, const ag_tensor *x, int npad, const int64_t *pad,
                              ag_pad_mode mode, double value)
{
    char sx[96], sp[128];
    if (!check_args(t, x, npad, pad, (int)mode, value) || !check_x(t, x, npad, pad, (int)mode))
        return NULL;
    pad_plan *p = agi_alloc(t, sizeof *p);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->mode = (int)mode, p->npad = npad, p->value = value, p->x_ndim = x->ndim;
    memcpy(p->pad, pad, (size_t)npad * sizeof *pad);
    memcpy(p->x_shape, x->shape, sizeof p->x_shape);
    memcpy(p->y_shape, x->shape, sizeof p->y_shape);
    for (int i = 0; i < npad; i += 2) {
        int d = x->ndim - 1 - i / 2;
        p->y_shape[d] = x->shape[d] + pad[i] + pad[i + 1];
        if (p->y_shape[d] < (mode == AG_PAD_CONSTANT ? 0 : 1))
            return agi_fail(t, AG_ERR_SHAPE, "ag_pad: padding %s leaves %lld elements along dim "
                            "%d of x %s%s", pads_str(npad, pad, sp), (long long)p->y_shape[d], d,
                            agi_shape_str(x, sx), mode == AG_PAD_CONSTANT ? "" : " (at least 1 "
                            "is needed)");
    }
    const int axes = npad / 2;
    p->outer = agi_numel(x->ndim - axes, x->shape);
    p->h = axes == 2 ? x->shape[x->ndim - 2] : 1, p->w = x->shape[x->ndim - 1];
    p->oh = axes == 2 ? p->y_shape[x->ndim - 2] : 1, p->ow = p->y_shape[x->ndim - 1];
    return fill_tables(t, p) ? p : NULL;
}
