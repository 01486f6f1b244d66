/*
** pool.c: max pooling, 1-D and 2-D (ag_max_pool1d, ag_max_pool2d), and
** its two private ops: the scatter of dy to the chosen elements (the
** backward) and the gather at the same places (the scatter's backward),
** each the other's rule, so gradients of every order work. The geometry
** and argument checks are in pool_plan.c; average pooling in pool_avg.c.
**
** The forward saves, per output, the flat index in its plane of the
** element chosen (plan->argmax, 32-bit); the rules read it from the plan
** in node->aux, so neither x nor a mask is kept.
*/
#include "pool_internal.h"

#include <string.h>

/* ------------------------------------------------------------ kernels --- */

/*
** y[o] = the largest x in window o, argmax[o] its place: PyTorch's CPU
** rule, scanning the window row by row, `v > best || v != v` (the first
** of equal values wins; a NaN wins, the last of several NaNs). x is
** [planes, ih, iw], y and argmax [planes, oh, ow]. The common 2x2 window
** of stride 2 without padding has its own loop (same rule, same result).
*/
#define MAX_TAKE(V, I) if ((V) > best || (V) != (V)) best = (V), bi = (I)

#define DEFINE_MAX_FWD(NAME, T)                                               \
    static void NAME##_2x2(const agi_pool_plan *p, const T *x, T *y, int32_t *idx) \
    {                                                                         \
        const int64_t iw = p->w.in, oh = p->h.out, ow = p->w.out;             \
        for (int64_t i = 0; i < oh; i++) {                                    \
            const T *r0 = x + 2 * i * iw, *r1 = r0 + iw;                      \
            for (int64_t j = 0; j < ow; j++) {                                \
                T best = r0[2 * j];                                           \
                int64_t bi = 0;                                               \
                MAX_TAKE(r0[2 * j + 1], 1);                                   \
                MAX_TAKE(r1[2 * j], iw);                                      \
                MAX_TAKE(r1[2 * j + 1], iw + 1);                              \
                y[i * ow + j] = best;                                         \
                idx[i * ow + j] = (int32_t)(2 * i * iw + 2 * j + bi);         \
            }                                                                 \
        }                                                                     \
    }                                                                         \
    static void NAME##_plane(const agi_pool_plan *p, const T *x, T *y, int32_t *idx) \
    {                                                                         \
        const int64_t iw = p->w.in, ow = p->w.out, dh = p->h.step, dw = p->w.step; \
        for (int64_t i = 0; i < p->h.out; i++) {                              \
            const int64_t h0 = p->h.lo[i], h1 = p->h.hi[i];                   \
            for (int64_t j = 0; j < ow; j++) {                                \
                const int64_t w0 = p->w.lo[j], w1 = p->w.hi[j];               \
                if (h0 >= h1 || w0 >= w1) {                                   \
                    y[i * ow + j] = (T)-INFINITY;                             \
                    idx[i * ow + j] = -1;                                     \
                    continue;                                                 \
                }                                                             \
                int64_t bi = h0 * iw + w0;                                    \
                T best = x[bi];                                               \
                for (int64_t h = h0; h < h1; h += dh)                         \
                    for (int64_t w = w0; w < w1; w += dw) {                   \
                        const T v = x[h * iw + w];                            \
                        MAX_TAKE(v, h * iw + w);                              \
                    }                                                         \
                y[i * ow + j] = best;                                         \
                idx[i * ow + j] = (int32_t)bi;                                \
            }                                                                 \
        }                                                                     \
    }                                                                         \
    static void NAME(const agi_pool_plan *p, const ag_tensor *xt, ag_tensor *yt, \
                     int64_t lo, int64_t hi)                                  \
    {                                                                         \
        const int64_t in = p->h.in * p->w.in, out = p->h.out * p->w.out;      \
        const int fast = p->kernel[0] == 2 && p->kernel[1] == 2 &&            \
                         p->stride[0] == 2 && p->stride[1] == 2 &&            \
                         p->pad[0] == 0 && p->pad[1] == 0 && p->h.step == 1 && \
                         p->w.step == 1 && 2 * p->h.out <= p->h.in &&          \
                         2 * p->w.out <= p->w.in;                             \
        for (int64_t pl = lo; pl < hi; pl++) {                                \
            const T *x = (const T *)xt->data + pl * in;                       \
            T *y = (T *)yt->data + pl * out;                                  \
            if (fast)                                                         \
                NAME##_2x2(p, x, y, p->argmax + pl * out);                    \
            else                                                              \
                NAME##_plane(p, x, y, p->argmax + pl * out);                  \
        }                                                                     \
    }

DEFINE_MAX_FWD(max_fwd_f32, float)
DEFINE_MAX_FWD(max_fwd_f64, double)

static void max_fwd(const agi_pool_plan *p, const ag_tensor *x, ag_tensor *y, int64_t lo,
                    int64_t hi)
{
    if (x->dtype == AG_F64)
        max_fwd_f64(p, x, y, lo, hi);
    else
        max_fwd_f32(p, x, y, lo, hi);
}

/* dx = 0, then dx[argmax[o]] += dy[o] (dy is [planes, oh, ow], dx
   [planes, ih, iw]; in order within a plane, so any split gives the same
   sums). */
#define DEFINE_SCATTER(NAME, T)                                               \
    static void NAME(const agi_pool_plan *p, const ag_tensor *dyt, ag_tensor *dxt, \
                     int64_t lo, int64_t hi)                                  \
    {                                                                         \
        const int64_t in = p->h.in * p->w.in, out = p->h.out * p->w.out;      \
        for (int64_t pl = lo; pl < hi; pl++) {                                \
            const T *dy = (const T *)dyt->data + pl * out;                    \
            const int32_t *idx = p->argmax + pl * out;                        \
            T *dx = (T *)dxt->data + pl * in;                                 \
            memset(dx, 0, (size_t)in * sizeof *dx);                           \
            for (int64_t o = 0; o < out; o++)                                 \
                if (idx[o] >= 0) dx[idx[o]] += dy[o];                         \
        }                                                                     \
    }

DEFINE_SCATTER(scatter_f32, float)
DEFINE_SCATTER(scatter_f64, double)

/* g2[o] = g[argmax[o]] (0 where no element was chosen). */
#define DEFINE_GATHER(NAME, T)                                                \
    static void NAME(const agi_pool_plan *p, const ag_tensor *gt, ag_tensor *g2t, \
                     int64_t lo, int64_t hi)                                  \
    {                                                                         \
        const int64_t in = p->h.in * p->w.in, out = p->h.out * p->w.out;      \
        for (int64_t pl = lo; pl < hi; pl++) {                                \
            const T *g = (const T *)gt->data + pl * in;                       \
            const int32_t *idx = p->argmax + pl * out;                        \
            T *g2 = (T *)g2t->data + pl * out;                                \
            for (int64_t o = 0; o < out; o++) g2[o] = idx[o] >= 0 ? g[idx[o]] : 0; \
        }                                                                     \
    }

DEFINE_GATHER(gather_f32, float)
DEFINE_GATHER(gather_f64, double)

static void scatter(const agi_pool_plan *p, const ag_tensor *dy, ag_tensor *dx, int64_t lo,
                    int64_t hi)
{
    if (dy->dtype == AG_F64)
        scatter_f64(p, dy, dx, lo, hi);
    else
        scatter_f32(p, dy, dx, lo, hi);
}

static void gather(const agi_pool_plan *p, const ag_tensor *g, ag_tensor *g2, int64_t lo,
                   int64_t hi)
{
    if (g->dtype == AG_F64)
        gather_f64(p, g, g2, lo, hi);
    else
        gather_f32(p, g, g2, lo, hi);
}

/* ------------------------------------------------- the private ops --- */

static ag_tensor *max_scatter(ag_tape *t, ag_tensor *dy, const agi_pool_plan *p);

/* g2 = gather(g) at the argmax; dg += scatter(dg2) */
static void gather_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                            ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = max_scatter(t, gy, n->aux);
}
static const agi_op op_max_gather = {"ag_max_pool (gather at the argmax)", gather_backward};

/* g (x's shape) at the argmax: y's shape. */
static ag_tensor *max_gather(ag_tape *t, ag_tensor *g, const agi_pool_plan *p)
{
    if (!agi_check(t, op_max_gather.name, "g", g)) return NULL;
    ag_tensor *y = agi_new(t, op_max_gather.name, (ag_dtype)g->dtype, p->y_ndim, p->y_shape);
    if (!y) return NULL;
    agi_pool_run(p, gather, g, y, p->h.out * p->w.out);
    agi_node *n = agi_record(t, &op_max_gather, y, 1, &g);
    if (n) n->aux = p;
    return agi_done(t, &op_max_gather, y);
}

/* dx = scatter(dy) to the argmax; d(dy) += gather(d(dx)) */
static void scatter_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                             ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = max_gather(t, gy, n->aux);
}
static const agi_op op_max_scatter = {"ag_max_pool (backward)", scatter_backward};

/* dy (y's shape) scattered into zeros of x's shape. */
static ag_tensor *max_scatter(ag_tape *t, ag_tensor *dy, const agi_pool_plan *p)
{
    if (!agi_check(t, op_max_scatter.name, "dy", dy)) return NULL;
    ag_tensor *dx = agi_new(t, op_max_scatter.name, (ag_dtype)dy->dtype, p->x_ndim, p->x_shape);
    if (!dx) return NULL;
    agi_pool_run(p, scatter, dy, dx, p->h.in * p->w.in);
    agi_node *n = agi_record(t, &op_max_scatter, dx, 1, &dy);
    if (n) n->aux = p;
    return agi_done(t, &op_max_scatter, dx);
}

/* ------------------------------------------------------ the public ops --- */

/* y = maxpool(x); dx += scatter(dy) to the argmax */
static void max_pool_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                              ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = max_scatter(t, gy, n->aux);
}
static const agi_op op_max_pool1d = {"ag_max_pool1d", max_pool_backward};
static const agi_op op_max_pool2d = {"ag_max_pool2d", max_pool_backward};

static ag_tensor *max_pool(ag_tape *t, const agi_op *op, ag_tensor *x, const agi_pool_args *a)
{
    if (!agi_check(t, op->name, "x", x)) return NULL;
    agi_pool_plan *p = agi_pool_plan_new(t, op, x, a);
    if (!p) return NULL;
    ag_tensor *y = agi_new(t, op->name, (ag_dtype)x->dtype, p->y_ndim, p->y_shape);
    if (!y) return NULL;
    agi_pool_run(p, max_fwd, x, y, agi_numel(4, (int64_t[]){p->h.out, p->w.out, p->kernel[0],
                                                           p->kernel[1]}));
    agi_node *n = agi_record(t, op, y, 1, &x);
    if (n) n->aux = p;
    return agi_done(t, op, y);
}

ag_tensor *ag_max_pool1d(ag_tape *t, ag_tensor *x, int64_t kernel, const ag_pool1d_opts *opts)
{
    agi_pool_args a;
    agi_pool_args_1d(&a, 1, kernel, opts);
    return max_pool(t, &op_max_pool1d, x, &a);
}

ag_tensor *ag_max_pool2d(ag_tape *t, ag_tensor *x, int64_t kernel_h, int64_t kernel_w,
                         const ag_pool2d_opts *opts)
{
    agi_pool_args a;
    agi_pool_args_2d(&a, 1, kernel_h, kernel_w, opts);
    return max_pool(t, &op_max_pool2d, x, &a);
}
