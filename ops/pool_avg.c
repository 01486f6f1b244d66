/*
** pool_avg.c: average pooling, 1-D and 2-D (ag_avg_pool1d, ag_avg_pool2d),
** and adaptive average pooling (ag_adaptive_avg_pool2d). All three are
** linear maps y = A x given by a plan's windows and divisors (pool_plan.c),
** so they share one forward kernel and one private op for the transpose
** A^T, the backward; A^T's own backward is A again (the same public op
** applied to the incoming gradient), so gradients of every order work.
*/
#include "pool_internal.h"

#include <string.h>

/* Window (i, j)'s divisor: the override, else the product of the axes'
   shares (PyTorch's count_include_pad rule is in the shares). */
static inline double divisor(const agi_pool_plan *p, int64_t i, int64_t j)
{
    return p->divisor ? p->divisor : (double)(p->h.cnt[i] * p->w.cnt[j]);
}

/* y[i, j] = sum of x over window (i, j) / divisor, summed in double; 0
   for a window with no element of x. x is [planes, ih, iw], y [planes,
   oh, ow]. */
#define DEFINE_AVG_FWD(NAME, T)                                               \
    static void NAME(const agi_pool_plan *p, const ag_tensor *xt, ag_tensor *yt, \
                     int64_t lo, int64_t hi)                                  \
    {                                                                         \
        const int64_t iw = p->w.in, oh = p->h.out, ow = p->w.out;             \
        for (int64_t pl = lo; pl < hi; pl++) {                                \
            const T *x = (const T *)xt->data + pl * p->h.in * iw;             \
            T *y = (T *)yt->data + pl * oh * ow;                              \
            for (int64_t i = 0; i < oh; i++) {                                \
                const int64_t h0 = p->h.lo[i], h1 = p->h.hi[i];               \
                for (int64_t j = 0; j < ow; j++) {                            \
                    const int64_t w0 = p->w.lo[j], w1 = p->w.hi[j];           \
                    double s = 0;                                             \
                    for (int64_t h = h0; h < h1; h++)                         \
                        for (int64_t w = w0; w < w1; w++) s += x[h * iw + w]; \
                    y[i * ow + j] = h0 < h1 && w0 < w1 ? (T)(s / divisor(p, i, j)) : 0; \
                }                                                             \
            }                                                                 \
        }                                                                     \
    }

/* The transpose: dx = 0, then dx[h, w] += dy[i, j] / divisor for every
   (h, w) of window (i, j), windows in order (any split, same bits). */
#define DEFINE_AVG_T(NAME, T)                                                 \
    static void NAME(const agi_pool_plan *p, const ag_tensor *dyt, ag_tensor *dxt, \
                     int64_t lo, int64_t hi)                                  \
    {                                                                         \
        const int64_t iw = p->w.in, oh = p->h.out, ow = p->w.out;             \
        for (int64_t pl = lo; pl < hi; pl++) {                                \
            const T *dy = (const T *)dyt->data + pl * oh * ow;                \
            T *dx = (T *)dxt->data + pl * p->h.in * iw;                       \
            memset(dx, 0, (size_t)(p->h.in * iw) * sizeof *dx);               \
            for (int64_t i = 0; i < oh; i++) {                                \
                const int64_t h0 = p->h.lo[i], h1 = p->h.hi[i];               \
                for (int64_t j = 0; j < ow; j++) {                            \
                    const int64_t w0 = p->w.lo[j], w1 = p->w.hi[j];           \
                    if (h0 >= h1 || w0 >= w1) continue;                       \
                    const T v = (T)(dy[i * ow + j] / divisor(p, i, j));       \
                    for (int64_t h = h0; h < h1; h++)                         \
                        for (int64_t w = w0; w < w1; w++) dx[h * iw + w] += v; \
                }                                                             \
            }                                                                 \
        }                                                                     \
    }

DEFINE_AVG_FWD(avg_fwd_f32, float)
DEFINE_AVG_FWD(avg_fwd_f64, double)
DEFINE_AVG_T(avg_t_f32, float)
DEFINE_AVG_T(avg_t_f64, double)

static void avg_fwd(const agi_pool_plan *p, const ag_tensor *x, ag_tensor *y, int64_t lo,
                    int64_t hi)
{
    if (x->dtype == AG_F64)
        avg_fwd_f64(p, x, y, lo, hi);
    else
        avg_fwd_f32(p, x, y, lo, hi);
}

static void avg_t(const agi_pool_plan *p, const ag_tensor *dy, ag_tensor *dx, int64_t lo,
                  int64_t hi)
{
    if (dy->dtype == AG_F64)
        avg_t_f64(p, dy, dx, lo, hi);
    else
        avg_t_f32(p, dy, dx, lo, hi);
}

/* The work of a plane: every window's elements, or at least the plane. */
static int64_t plane_work(const agi_pool_plan *p)
{
    int64_t k = agi_numel(4, (int64_t[]){p->h.out, p->w.out, p->kernel[0] ? p->kernel[0] : 1,
                                         p->kernel[1] ? p->kernel[1] : 1});
    return k < 0 ? -1 : k + p->h.in * p->w.in;
}

static ag_tensor *avg_apply(ag_tape *t, ag_tensor *x, const agi_pool_plan *p);

/* dx = A^T dy; d(dy) += A d(dx) */
static void avg_t_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                           ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = avg_apply(t, gy, n->aux);
}
static ag_tensor *avg_transpose(ag_tape *t, ag_tensor *dy, const agi_pool_plan *p);

/* Both linear: ty = A tx (the pools), A^T tx (the backward op) */
static ag_tensor *avg_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return avg_apply(t, tx[0], n->aux);
}
static ag_tensor *avg_t_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return avg_transpose(t, tx[0], n->aux);
}
static const agi_op op_avg_t = {"ag_avg_pool (backward)", avg_t_backward, avg_t_jvp};

/* A^T dy: y's shape to x's. */
static ag_tensor *avg_transpose(ag_tape *t, ag_tensor *dy, const agi_pool_plan *p)
{
    if (!agi_check(t, op_avg_t.name, "dy", dy)) return NULL;
    ag_tensor *dx = agi_new(t, op_avg_t.name, (ag_dtype)dy->dtype, p->x_ndim, p->x_shape);
    if (!dx) return NULL;
    agi_pool_run(p, avg_t, dy, dx, plane_work(p));
    agi_node *n = agi_record(t, &op_avg_t, dx, 1, &dy);
    if (n) n->aux = p;
    return agi_done(t, &op_avg_t, dx);
}

/* y = A x (average pooling); dx += A^T dy */
static void avg_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = avg_transpose(t, gy, n->aux);
}
static const agi_op op_avg_pool1d = {"ag_avg_pool1d", avg_backward, avg_jvp};
static const agi_op op_avg_pool2d = {"ag_avg_pool2d", avg_backward, avg_jvp};
static const agi_op op_adaptive_avg_pool2d = {"ag_adaptive_avg_pool2d", avg_backward, avg_jvp};

/* A x, recorded as the plan's public op. */
static ag_tensor *avg_apply(ag_tape *t, ag_tensor *x, const agi_pool_plan *p)
{
    if (!agi_check(t, p->op->name, "x", x)) return NULL;
    ag_tensor *y = agi_new(t, p->op->name, (ag_dtype)x->dtype, p->y_ndim, p->y_shape);
    if (!y) return NULL;
    agi_pool_run(p, avg_fwd, x, y, plane_work(p));
    agi_node *n = agi_record(t, p->op, y, 1, &x);
    if (n) n->aux = p;
    return agi_done(t, p->op, y);
}

static ag_tensor *avg_pool(ag_tape *t, const agi_op *op, ag_tensor *x, const agi_pool_args *a)
{
    if (!agi_check(t, op->name, "x", x)) return NULL;
    agi_pool_plan *p = agi_pool_plan_new(t, op, x, a);
    return p ? avg_apply(t, x, p) : NULL;
}

ag_tensor *ag_avg_pool1d(ag_tape *t, ag_tensor *x, int64_t kernel, const ag_pool1d_opts *opts)
{
    agi_pool_args a;
    agi_pool_args_1d(&a, 0, kernel, opts);
    return avg_pool(t, &op_avg_pool1d, x, &a);
}

ag_tensor *ag_avg_pool2d(ag_tape *t, ag_tensor *x, int64_t kernel_h, int64_t kernel_w,
                         const ag_pool2d_opts *opts)
{
    agi_pool_args a;
    agi_pool_args_2d(&a, 0, kernel_h, kernel_w, opts);
    return avg_pool(t, &op_avg_pool2d, x, &a);
}

ag_tensor *ag_adaptive_avg_pool2d(ag_tape *t, ag_tensor *x, int64_t out_h, int64_t out_w)
{
    if (!agi_check(t, op_adaptive_avg_pool2d.name, "x", x)) return NULL;
    agi_pool_plan *p = agi_pool_plan_adaptive(t, &op_adaptive_avg_pool2d, x, out_h, out_w);
    return p ? avg_apply(t, x, p) : NULL;
}
