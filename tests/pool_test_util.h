/*
** pool_test_util.h: what the pooling suites share (test_pool.c,
** test_pool_torch.c): the fixed test values, a configuration of a pooling
** call and the calls themselves, and naive references written from
** PyTorch's definitions (its CPU kernels' loops, one window element at a
** time), independent of the library's window tables.
*/
#ifndef POOL_TEST_UTIL_H
#define POOL_TEST_UTIL_H

#include "test_util.h"

/* The values the PyTorch scripts use: ((i * 7) % 31 - 15) / 4, exact in
   f32, with repeats (ties) every 31 elements. */
static inline double pt_val(int64_t i) { return (double)((i * 7) % 31 - 15) / 4; }

/* Values full of ties (0, 0.5, 1, 1.5) with a NaN every 11 elements:
   what max pooling's tie and NaN rules are tested on. */
static inline double pt_tie(int64_t i) { return i % 11 == 5 ? NAN : (double)((i * 3) % 4) / 2; }

/* A persistent tensor of dtype dt holding f(0), f(1), ... */
static inline ag_tensor *pt_tensor_of(ag_dtype dt, int ndim, const int64_t *shape,
                                      double (*f)(int64_t))
{
    ag_tensor *x = ag_zeros(NULL, dt, ndim, shape);
    ck_assert_ptr_nonnull(x);
    for (int64_t i = 0; i < ag_tensor_numel(x); i++) ag_tensor_set(x, i, f(i));
    return x;
}

static inline ag_tensor *pt_tensor(ag_dtype dt, int ndim, const int64_t *shape)
{
    return pt_tensor_of(dt, ndim, shape, pt_val);
}

enum { PT_MAX, PT_AVG };

/* One pooling call: [h, w] pairs as the library takes them (1-D uses w). */
typedef struct pt_cfg {
    int kind, dims;
    int64_t k[2], s[2], p[2], d[2];
    int ceil, exclude_pad;
    int64_t divisor;
    int square;                 /* gradcheck adapters: return y * y */
} pt_cfg;

static inline ag_tensor *pt_call(ag_tape *t, ag_tensor *x, const pt_cfg *c)
{
    if (c->dims == 1) {
        ag_pool1d_opts o = {c->s[1], c->p[1], c->d[1], c->ceil, c->exclude_pad};
        return c->kind == PT_MAX ? ag_max_pool1d(t, x, c->k[1], &o)
                                 : ag_avg_pool1d(t, x, c->k[1], &o);
    }
    ag_pool2d_opts o = {{c->s[0], c->s[1]}, {c->p[0], c->p[1]}, {c->d[0], c->d[1]},
                        c->ceil, c->exclude_pad, c->divisor};
    return c->kind == PT_MAX ? ag_max_pool2d(t, x, c->k[0], c->k[1], &o)
                             : ag_avg_pool2d(t, x, c->k[0], c->k[1], &o);
}

/* ag_fn for gradcheck: ctx is a pt_cfg. */
static inline ag_tensor *pt_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const pt_cfg *c = ctx;
    ag_tensor *y = pt_call(t, in[0], c);
    return c->square ? ag_mul(t, y, y) : y;
}

/* PyTorch's output size along one axis (its documented formula). */
static inline int64_t pt_out(int64_t n, int64_t k, int64_t s, int64_t p, int64_t d, int ceil_mode)
{
    double v = (double)(n + 2 * p - d * (k - 1) - 1) / (double)s;
    int64_t out = (int64_t)(ceil_mode ? ceil(v) : floor(v)) + 1;
    if (ceil_mode && (out - 1) * s >= n + p) out--;
    return out;
}

/* The geometry of a call on a plane of ih x iw (1-D: ih = 1): effective
   kernel, stride, padding, dilation per axis, output sizes. */
typedef struct pt_geo {
    int64_t k[2], s[2], p[2], d[2], in[2], out[2];
} pt_geo;

static inline pt_geo pt_geometry(const pt_cfg *c, int64_t ih, int64_t iw)
{
    pt_geo g;
    g.in[0] = ih, g.in[1] = iw;
    for (int a = 0; a < 2; a++) {
        int one = c->dims == 1 && a == 0;
        g.k[a] = one ? 1 : c->k[a];
        g.s[a] = one ? 1 : (c->s[a] ? c->s[a] : c->k[a]);
        g.p[a] = one ? 0 : c->p[a];
        g.d[a] = one || c->kind == PT_AVG ? 1 : (c->d[a] ? c->d[a] : 1);
        g.out[a] = pt_out(g.in[a], g.k[a], g.s[a], g.p[a], g.d[a], c->ceil);
    }
    return g;
}

/* Max pooling of one plane, PyTorch's cpu_max_pool loop: maxval = -inf,
   maxindex = the first position inside x, then `v > maxval || isnan(v)`
   over the window in row-major order. idx -1 for a window outside x. */
static inline void pt_max_plane(const pt_geo *g, const double *x, double *y, int64_t *idx)
{
    for (int64_t i = 0; i < g->out[0]; i++)
        for (int64_t j = 0; j < g->out[1]; j++) {
            double best = -INFINITY;
            int64_t bi = -1;
            for (int64_t a = 0; a < g->k[0]; a++)
                for (int64_t b = 0; b < g->k[1]; b++) {
                    int64_t h = i * g->s[0] - g->p[0] + a * g->d[0];
                    int64_t w = j * g->s[1] - g->p[1] + b * g->d[1];
                    if (h < 0 || h >= g->in[0] || w < 0 || w >= g->in[1]) continue;
                    double v = x[h * g->in[1] + w];
                    if (bi < 0) bi = h * g->in[1] + w;
                    if (v > best || isnan(v)) best = v, bi = h * g->in[1] + w;
                }
            y[i * g->out[1] + j] = best;
            idx[i * g->out[1] + j] = bi;
        }
}

/* Average pooling of one plane, PyTorch's cpu_avg_pool: the window
   clipped to the padded input gives pool_size, then to the input. */
static inline void pt_avg_plane(const pt_geo *g, const pt_cfg *c, const double *x, double *y)
{
    for (int64_t i = 0; i < g->out[0]; i++)
        for (int64_t j = 0; j < g->out[1]; j++) {
            int64_t h0 = i * g->s[0] - g->p[0], w0 = j * g->s[1] - g->p[1];
            int64_t h1 = h0 + g->k[0] < g->in[0] + g->p[0] ? h0 + g->k[0] : g->in[0] + g->p[0];
            int64_t w1 = w0 + g->k[1] < g->in[1] + g->p[1] ? w0 + g->k[1] : g->in[1] + g->p[1];
            int64_t pool = (h1 - h0) * (w1 - w0);
            h0 = h0 < 0 ? 0 : h0, w0 = w0 < 0 ? 0 : w0;
            h1 = h1 > g->in[0] ? g->in[0] : h1, w1 = w1 > g->in[1] ? g->in[1] : w1;
            double s = 0;
            for (int64_t h = h0; h < h1; h++)
                for (int64_t w = w0; w < w1; w++) s += x[h * g->in[1] + w];
            int64_t div = c->divisor ? c->divisor : c->exclude_pad ? (h1 - h0) * (w1 - w0) : pool;
            y[i * g->out[1] + j] = h0 >= h1 || w0 >= w1 ? 0 : s / (double)div;
        }
}

#endif /* POOL_TEST_UTIL_H */
