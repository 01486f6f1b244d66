/*
** pool_plan.c: the geometry of pooling, shared by max, average and
** adaptive average pooling (pool.c, pool_avg.c): argument checks with
** PyTorch's rules and messages, output sizes, the window tables of a plan,
** and the runner that splits a kernel over planes. No kernels here.
*/
#include "pool_internal.h"

#include <stdio.h>
#include <string.h>

#define POOL_MAX_ARG 2147483647     /* kernel, stride, padding, dilation */

void agi_pool_args_1d(agi_pool_args *a, int is_max, int64_t kernel, const ag_pool1d_opts *o)
{
    static const ag_pool1d_opts zero;
    if (!o) o = &zero;
    *a = (agi_pool_args){1, is_max, {1, kernel}, {1, o->stride ? o->stride : kernel},
                         {0, o->padding}, {1, o->dilation ? o->dilation : 1},
                         o->ceil_mode != 0, o->exclude_pad != 0, 0};
}

void agi_pool_args_2d(agi_pool_args *a, int is_max, int64_t kh, int64_t kw,
                      const ag_pool2d_opts *o)
{
    static const ag_pool2d_opts zero;
    if (!o) o = &zero;
    *a = (agi_pool_args){2, is_max, {kh, kw},
                         {o->stride[0] ? o->stride[0] : kh, o->stride[1] ? o->stride[1] : kw},
                         {o->padding[0], o->padding[1]},
                         {o->dilation[0] ? o->dilation[0] : 1, o->dilation[1] ? o->dilation[1] : 1},
                         o->ceil_mode != 0, o->exclude_pad != 0, o->divisor_override};
}

/* "3" for 1-D, "3x2" for 2-D (h x w), into buf (32 bytes). */
static const char *pair_str(int dims, const int64_t *v, char *buf)
{
    if (dims == 1)
        snprintf(buf, 32, "%lld", (long long)v[1]);
    else
        snprintf(buf, 32, "%lldx%lld", (long long)v[0], (long long)v[1]);
    return buf;
}

/* x has dims + 1 or dims + 2 dims, none empty but the batch dim. */
static int check_x(ag_tape *t, const char *fn, const ag_tensor *x, int dims)
{
    char sx[96];
    if (x->ndim != dims + 1 && x->ndim != dims + 2)
        return agi_fail(t, AG_ERR_SHAPE, "%s: x is %s, expected %s", fn, agi_shape_str(x, sx),
                        dims == 1 ? "[N,C,L] or [C,L]" : "[N,C,H,W] or [C,H,W]"), 0;
    for (int d = x->ndim == dims + 2; d < x->ndim; d++)
        if (x->shape[d] == 0)
            return agi_fail(t, AG_ERR_SHAPE, "%s: x is %s: dim %d is empty (only the batch dim "
                            "may be)", fn, agi_shape_str(x, sx), d), 0;
    return 1;
}

/* One bound check: v in [lo, POOL_MAX_ARG], else an error naming what. */
static int check_range(ag_tape *t, const char *fn, const ag_tensor *x, int dims,
                       const char *what, const int64_t *v, int64_t lo)
{
    char sx[96], sv[32];
    for (int i = 2 - dims; i < 2; i++)
        if (v[i] < lo || v[i] > POOL_MAX_ARG)
            return agi_fail(t, AG_ERR_ARG, "%s: %s %s must be %s (x is %s)", fn, what,
                            pair_str(dims, v, sv), v[i] < lo ? (lo ? "at least 1" :
                            "non-negative") : "at most 2147483647", agi_shape_str(x, sx)), 0;
    return 1;
}

/* The arguments' own rules (PyTorch's), before any size is computed. */
static int check_args(ag_tape *t, const char *fn, const ag_tensor *x, const agi_pool_args *a)
{
    char sx[96], sp[32], sk[32];
    const int dims = a->dims;
    if (!check_range(t, fn, x, dims, "kernel", a->kernel, 1) ||
        !check_range(t, fn, x, dims, "stride", a->stride, 0) ||
        !check_range(t, fn, x, dims, "padding", a->pad, 0) ||
        !check_range(t, fn, x, dims, "dilation", a->dil, 1))
        return 0;
    for (int i = 2 - dims; i < 2; i++)
        if (a->pad[i] > a->kernel[i] / 2)
            return agi_fail(t, AG_ERR_ARG, "%s: padding %s is more than half the kernel %s "
                            "(x is %s)", fn, pair_str(dims, a->pad, sp),
                            pair_str(dims, a->kernel, sk), agi_shape_str(x, sx)), 0;
    if (!a->is_max && (a->dil[0] != 1 || a->dil[1] != 1))
        return agi_fail(t, AG_ERR_ARG, "%s: dilation %s: average pooling has no dilation "
                        "(x is %s)", fn, pair_str(dims, a->dil, sp), agi_shape_str(x, sx)), 0;
    if (a->is_max && (a->exclude_pad || a->divisor))
        return agi_fail(t, AG_ERR_ARG, "%s: %s is an option of average pooling only (x is %s)",
                        fn, a->exclude_pad ? "exclude_pad" : "divisor_override",
                        agi_shape_str(x, sx)), 0;
    if (a->divisor < 0)
        return agi_fail(t, AG_ERR_ARG, "%s: divisor_override %lld is negative (x is %s)", fn,
                        (long long)a->divisor, agi_shape_str(x, sx)), 0;
    return 1;
}

/* PyTorch's pooling_output_shape along axis i (may be below 1). Every
   argument is at most 2^31 - 1 and n fits a tensor, so nothing overflows. */
static int64_t out_size(const agi_pool_args *a, int i, int64_t n)
{
    int64_t k = a->kernel[i], s = a->stride[i], p = a->pad[i], d = a->dil[i];
    int64_t num = n + 2 * p - d * (k - 1) - 1 + (a->ceil_mode ? s - 1 : 0);
    int64_t out = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;     /* floor division */
    if (a->ceil_mode && (out - 1) * s >= n + p) out--;   /* the last window starts inside */
    return out;
}

/* A table of n int64 on the tape. */
static int64_t *table(ag_tape *t, int64_t n)
{
    return agi_alloc(t, (size_t)n * sizeof(int64_t));
}

/* Axis i's windows: max pooling's dilated ones, or average pooling's
   with PyTorch's divisor share (padding counted unless exclude_pad). */
static int fill_axis(ag_tape *t, agi_pool_axis *ax, const agi_pool_args *a, int i)
{
    const int64_t k = a->kernel[i], s = a->stride[i], p = a->pad[i], d = a->dil[i];
    ax->step = d;
    ax->lo = table(t, ax->out), ax->hi = table(t, ax->out), ax->cnt = table(t, ax->out);
    if (!ax->lo || !ax->hi || !ax->cnt) return 0;
    for (int64_t o = 0; o < ax->out; o++) {
        int64_t start = o * s - p, lo = start, hi;
        if (a->is_max) {
            if (lo < 0) lo += (-lo + d - 1) / d * d;     /* first position inside */
            hi = start + (k - 1) * d + 1;
        } else {
            hi = start + k < ax->in + p ? start + k : ax->in + p;
            ax->cnt[o] = hi - start;                   /* padding included */
            if (lo < 0) lo = 0;
        }
        if (hi > ax->in) hi = ax->in;
        ax->lo[o] = lo;
        ax->hi[o] = hi;
        if (a->is_max || a->exclude_pad) ax->cnt[o] = hi > lo ? hi - lo : 0;
    }
    return 1;
}

/* A plan with x's shapes and planes, y's shape from out_h, out_w. */
static agi_pool_plan *plan_alloc(ag_tape *t, const agi_op *op, const ag_tensor *x, int dims,
                                 int64_t out_h, int64_t out_w)
{
    agi_pool_plan *p = agi_alloc(t, sizeof *p);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->op = op;
    p->x_ndim = p->y_ndim = x->ndim;
    memcpy(p->x_shape, x->shape, (size_t)x->ndim * sizeof *x->shape);
    memcpy(p->y_shape, x->shape, (size_t)x->ndim * sizeof *x->shape);
    p->planes = agi_numel(x->ndim - dims, x->shape);     /* N*C, or C */
    p->h.in = dims == 2 ? x->shape[x->ndim - 2] : 1;
    p->w.in = x->shape[x->ndim - 1];
    p->h.out = out_h;
    p->w.out = out_w;
    if (dims == 2) p->y_shape[x->ndim - 2] = out_h;
    p->y_shape[x->ndim - 1] = out_w;
    return p;
}

/* An output size below 1: an error naming every argument. */
static void *too_small(ag_tape *t, const char *fn, const ag_tensor *x, const agi_pool_args *a,
                       int64_t oh, int64_t ow)
{
    char sx[96], so[32], sk[32], ss[32], sp[32], sd[32];
    const int64_t out[2] = {oh, ow};
    const int dims = a->dims;
    return agi_fail(t, AG_ERR_SHAPE, "%s: the output would be %s%s (x is %s, kernel %s, "
                    "stride %s, padding %s, dilation %s%s)", fn, pair_str(dims, out, so),
                    dims == 1 ? " long" : "", agi_shape_str(x, sx), pair_str(dims, a->kernel, sk),
                    pair_str(dims, a->stride, ss), pair_str(dims, a->pad, sp),
                    pair_str(dims, a->dil, sd), a->ceil_mode ? ", ceil_mode" : "");
}

agi_pool_plan *agi_pool_plan_new(ag_tape *t, const agi_op *op, const ag_tensor *x,
                                 const agi_pool_args *a)
{
    char sx[96];
    const char *fn = op->name;
    if (!check_x(t, fn, x, a->dims) || !check_args(t, fn, x, a)) return NULL;
    const int64_t in_h = a->dims == 2 ? x->shape[x->ndim - 2] : 1, in_w = x->shape[x->ndim - 1];
    const int64_t oh = out_size(a, 0, in_h), ow = out_size(a, 1, in_w);
    if (oh < 1 || ow < 1) return too_small(t, fn, x, a, oh, ow);
    const int64_t plane = agi_numel(2, (int64_t[]){in_h, in_w});
    if (a->is_max && (plane < 0 || plane > INT32_MAX))
        return agi_fail(t, AG_ERR_SHAPE, "%s: x is %s: a plane of %lld elements is more than "
                        "the 2147483647 max pooling indexes", fn, agi_shape_str(x, sx),
                        (long long)plane);
    agi_pool_plan *p = plan_alloc(t, op, x, a->dims, oh, ow);
    if (!p || !fill_axis(t, &p->h, a, 0) || !fill_axis(t, &p->w, a, 1)) return NULL;
    memcpy(p->kernel, a->kernel, sizeof p->kernel);
    memcpy(p->stride, a->stride, sizeof p->stride);
    memcpy(p->pad, a->pad, sizeof p->pad);
    memcpy(p->dil, a->dil, sizeof p->dil);
    p->divisor = (double)a->divisor;
    if (a->is_max) {
        int64_t n = agi_numel(3, (int64_t[]){p->planes, oh, ow});
        if (n < 0 || (uint64_t)n > SIZE_MAX / sizeof(int32_t))
            return agi_fail(t, AG_ERR_NOMEM, "%s: the output of x %s is too large", fn,
                            agi_shape_str(x, sx));
        if (!(p->argmax = agi_alloc(t, (size_t)n * sizeof(int32_t)))) return NULL;
    }
    return p;
}

/* Adaptive windows along ax: [floor(o*in/out), ceil((o+1)*in/out)). */
static int fill_adaptive(ag_tape *t, agi_pool_axis *ax)
{
    ax->step = 1;
    ax->lo = table(t, ax->out), ax->hi = table(t, ax->out), ax->cnt = table(t, ax->out);
    if (!ax->lo || !ax->hi || !ax->cnt) return 0;
    for (int64_t o = 0; o < ax->out; o++) {
        ax->lo[o] = o * ax->in / ax->out;
        ax->hi[o] = ((o + 1) * ax->in + ax->out - 1) / ax->out;
        ax->cnt[o] = ax->hi[o] - ax->lo[o];
    }
    return 1;
}

agi_pool_plan *agi_pool_plan_adaptive(ag_tape *t, const agi_op *op, const ag_tensor *x,
                                      int64_t out_h, int64_t out_w)
{
    char sx[96];
    const char *fn = op->name;
    if (!check_x(t, fn, x, 2)) return NULL;
    if (out_h < 1 || out_w < 1 || out_h > POOL_MAX_ARG || out_w > POOL_MAX_ARG)
        return agi_fail(t, AG_ERR_ARG, "%s: output size %lldx%lld must be at least 1x1 and at "
                        "most 2147483647 each (x is %s)", fn, (long long)out_h,
                        (long long)out_w, agi_shape_str(x, sx));
    const int64_t in_h = x->shape[x->ndim - 2], in_w = x->shape[x->ndim - 1];
    if (agi_numel(2, (int64_t[]){in_h + 1, out_h}) < 0 ||
        agi_numel(2, (int64_t[]){in_w + 1, out_w}) < 0)     /* (o + 1) * in must fit */
        return agi_fail(t, AG_ERR_SHAPE, "%s: output size %lldx%lld is too large for x %s", fn,
                        (long long)out_h, (long long)out_w, agi_shape_str(x, sx));
    agi_pool_plan *p = plan_alloc(t, op, x, 2, out_h, out_w);
    if (!p || !fill_adaptive(t, &p->h) || !fill_adaptive(t, &p->w)) return NULL;
    return p;
}

/* ------------------------------------------------------------ runner --- */

typedef struct pool_job {
    const agi_pool_plan *plan;
    agi_pool_fn fn;
    const ag_tensor *in;
    ag_tensor *out;
} pool_job;

AGI_RANGE_MV(pool_range, ctx, lo, hi)
{
    const pool_job *j = ctx;
    j->fn(j->plan, j->in, j->out, lo, hi);
}

void agi_pool_run(const agi_pool_plan *p, agi_pool_fn fn, const ag_tensor *in,
                  ag_tensor *out, int64_t work)
{
    pool_job j = {p, fn, in, out};
    int64_t grain = work >= 1 && work < AGI_PAR_GRAIN ? (AGI_PAR_GRAIN + work - 1) / work : 1;
    agi_parallel_range(p->planes, grain, pool_range, &j);
}
