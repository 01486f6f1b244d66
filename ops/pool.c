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

/* 1 when p has the kernels' own loop for it: every window 2x2, stride 2,
   no padding, inside the plane. */
static int is_2x2(const agi_pool_plan *p)
{
    return p->kernel[0] == 2 && p->kernel[1] == 2 && p->stride[0] == 2 && p->stride[1] == 2 &&
           p->pad[0] == 0 && p->pad[1] == 0 && p->h.step == 1 && p->w.step == 1 &&
           2 * p->h.out <= p->h.in && 2 * p->w.out <= p->w.in;
}

/* best, bi = v, i when v > best or v is NaN (PyTorch's rule). */
#define MAX_SEL(T, V, I)                                                      \
    do {                                                                      \
        const T v_ = (V);                                                     \
        const int take_ = (v_ > best) | (v_ != v_);                           \
        best = take_ ? v_ : best;                                             \
        bi = take_ ? (I) : bi;                                                \
    } while (0)

#if defined(__SSE2__)
/* One MAX_SEL step on four lanes: where v > best or v is NaN, take v and
   its index i. */
#define MAX_SEL4(V, I)                                                        \
    do {                                                                      \
        const __m128 m_ = _mm_or_ps(_mm_cmpgt_ps((V), best), _mm_cmpunord_ps((V), (V))); \
        const __m128i mi_ = _mm_castps_si128(m_);                             \
        best = _mm_or_ps(_mm_and_ps(m_, (V)), _mm_andnot_ps(m_, best));       \
        bi = _mm_or_si128(_mm_and_si128(mi_, (I)), _mm_andnot_si128(mi_, bi)); \
    } while (0)

/* Outputs j of one output row of 2x2 windows (f32), four at a time: the
   rows r0 and r1 split into even and odd columns. Returns where the
   remaining scalar loop starts. */
static int64_t max2x2_f32_sse2(const float *r0, const float *r1, float *yr, int32_t *ir,
                               int64_t ow, int32_t base, int32_t below)
{
    const __m128i one = _mm_set1_epi32(1), bel = _mm_set1_epi32(below);
    const __m128i bel1 = _mm_set1_epi32(below + 1), step = _mm_set_epi32(6, 4, 2, 0);
    int64_t j = 0;
    for (; j + 4 <= ow; j += 4) {
        const __m128 l0 = _mm_loadu_ps(r0 + 2 * j), h0 = _mm_loadu_ps(r0 + 2 * j + 4);
        const __m128 l1 = _mm_loadu_ps(r1 + 2 * j), h1 = _mm_loadu_ps(r1 + 2 * j + 4);
        const __m128 b = _mm_shuffle_ps(l0, h0, _MM_SHUFFLE(3, 1, 3, 1));
        const __m128 c = _mm_shuffle_ps(l1, h1, _MM_SHUFFLE(2, 0, 2, 0));
        const __m128 d = _mm_shuffle_ps(l1, h1, _MM_SHUFFLE(3, 1, 3, 1));
        __m128 best = _mm_shuffle_ps(l0, h0, _MM_SHUFFLE(2, 0, 2, 0));
        __m128i bi = _mm_setzero_si128();
        MAX_SEL4(b, one);
        MAX_SEL4(c, bel);
        MAX_SEL4(d, bel1);
        _mm_storeu_ps(yr + j, best);
        const __m128i at = _mm_add_epi32(_mm_set1_epi32(base + 2 * (int32_t)j), step);
        _mm_storeu_si128((__m128i *)(void *)(ir + j), _mm_add_epi32(at, bi));
    }
    return j;
}
#define MAX2X2_VEC_F32(R0, R1, Y, I, OW, BASE, BELOW) \
    max2x2_f32_sse2(R0, R1, Y, I, OW, BASE, BELOW)

/* The backward of that row, four windows at a time: each element of the
   two rows of dx gets dy where it was chosen, else 0. */
static int64_t scatter2x2_f32_sse2(const float *g, const int32_t *k, float *d0, float *d1,
                                   int64_t ow, int32_t base, int32_t below)
{
    const __m128i one = _mm_set1_epi32(1), bel = _mm_set1_epi32(below);
    const __m128i bel1 = _mm_set1_epi32(below + 1), step = _mm_set_epi32(6, 4, 2, 0);
    int64_t j = 0;
    for (; j + 4 <= ow; j += 4) {
        const __m128 gv = _mm_loadu_ps(g + j);
        const __m128i kv = _mm_loadu_si128((const __m128i *)(const void *)(k + j));
        const __m128i at = _mm_sub_epi32(kv, _mm_add_epi32(_mm_set1_epi32(base + 2 * (int32_t)j),
                                                           step));       /* 0, 1, iw or iw+1 */
#define PICK(I) _mm_and_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(at, (I))), gv)
        const __m128 v0 = PICK(_mm_setzero_si128()), v1 = PICK(one);
        const __m128 v2 = PICK(bel), v3 = PICK(bel1);
#undef PICK
        _mm_storeu_ps(d0 + 2 * j, _mm_unpacklo_ps(v0, v1));
        _mm_storeu_ps(d0 + 2 * j + 4, _mm_unpackhi_ps(v0, v1));
        _mm_storeu_ps(d1 + 2 * j, _mm_unpacklo_ps(v2, v3));
        _mm_storeu_ps(d1 + 2 * j + 4, _mm_unpackhi_ps(v2, v3));
    }
    return j;
}
#define SCATTER2X2_VEC_F32(G, K, D0, D1, OW, BASE, BELOW) \
    scatter2x2_f32_sse2(G, K, D0, D1, OW, BASE, BELOW)
#else
#define MAX2X2_VEC_F32(R0, R1, Y, I, OW, BASE, BELOW) 0
#define SCATTER2X2_VEC_F32(G, K, D0, D1, OW, BASE, BELOW) 0
#endif

/* The first outputs of a row of 2x2 windows, and of its backward,
   vectorized (f32 with SSE2); the rest scalar. */
#define MAX2X2_HEAD_float(R0, R1, Y, I, OW, BASE, BELOW) \
    MAX2X2_VEC_F32(R0, R1, Y, I, OW, BASE, BELOW)
#define MAX2X2_HEAD_double(R0, R1, Y, I, OW, BASE, BELOW) 0
#define SCATTER2X2_HEAD_float(G, K, D0, D1, OW, BASE, BELOW) \
    SCATTER2X2_VEC_F32(G, K, D0, D1, OW, BASE, BELOW)
#define SCATTER2X2_HEAD_double(G, K, D0, D1, OW, BASE, BELOW) 0

/*
** y[o] = the largest x in window o, argmax[o] its place: PyTorch's CPU
** rule, scanning the window row by row, `v > best || v != v` (the first
** of equal values wins; a NaN wins, the last of several NaNs). x is
** [planes, ih, iw], y and argmax [planes, oh, ow]. The common 2x2 window
** of stride 2 without padding has its own loop (same rule, same result).
*/
#define DEFINE_MAX_FWD(NAME, T)                                               \
    static void NAME##_2x2(const agi_pool_plan *p, const T *x, T *y, int32_t *idx) \
    {                                                                         \
        const int64_t iw = p->w.in, oh = p->h.out, ow = p->w.out;             \
        const int32_t below = (int32_t)iw;                                    \
        for (int64_t i = 0; i < oh; i++) {                                    \
            const T *r0 = x + 2 * i * iw, *r1 = r0 + iw;                      \
            T *yr = y + i * ow;                                               \
            int32_t *ir = idx + i * ow;                                       \
            const int32_t base = (int32_t)(2 * i * iw);                       \
            int64_t j = MAX2X2_HEAD_##T(r0, r1, yr, ir, ow, base, below);     \
            for (; j < ow; j++) {                                             \
                T best = r0[2 * j];                                           \
                int32_t bi = 0;                                               \
                MAX_SEL(T, r0[2 * j + 1], 1);                                 \
                MAX_SEL(T, r1[2 * j], below);                                 \
                MAX_SEL(T, r1[2 * j + 1], below + 1);                         \
                yr[j] = best;                                                 \
                ir[j] = base + 2 * (int32_t)j + bi;                           \
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
                        MAX_SEL(T, x[h * iw + w], h * iw + w);                   \
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
        const int fast = is_2x2(p);                                           \
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

/*
** dx = 0, then dx[argmax[o]] += dy[o] (dy is [planes, oh, ow], dx
** [planes, ih, iw]; in order within a plane, so any split gives the same
** sums). Disjoint 2x2 windows write each element of dx once instead: dy
** where it was chosen, 0 elsewhere, and 0 in a last odd row or column.
*/
#define DEFINE_SCATTER(NAME, T)                                               \
    static void NAME##_2x2(const agi_pool_plan *p, const T *dy, const int32_t *idx, T *dx) \
    {                                                                         \
        const int64_t ih = p->h.in, iw = p->w.in, oh = p->h.out, ow = p->w.out; \
        for (int64_t i = 0; i < oh; i++) {                                    \
            T *d0 = dx + 2 * i * iw, *d1 = d0 + iw;                           \
            const T *g = dy + i * ow;                                         \
            const int32_t *k = idx + i * ow;                                  \
            const int32_t base = (int32_t)(2 * i * iw), below = (int32_t)iw;  \
            int64_t j = SCATTER2X2_HEAD_##T(g, k, d0, d1, ow, base, below);   \
            for (; j < ow; j++) {                                             \
                const int32_t at = k[j] - base - 2 * (int32_t)j;              \
                d0[2 * j] = at == 0 ? g[j] : 0;                               \
                d0[2 * j + 1] = at == 1 ? g[j] : 0;                           \
                d1[2 * j] = at == below ? g[j] : 0;                           \
                d1[2 * j + 1] = at == below + 1 ? g[j] : 0;                   \
            }                                                                 \
            for (int64_t w = 2 * ow; w < iw; w++) d0[w] = d1[w] = 0;          \
        }                                                                     \
        if (2 * oh < ih) memset(dx + 2 * oh * iw, 0, (size_t)((ih - 2 * oh) * iw) * sizeof *dx); \
    }                                                                         \
    static void NAME(const agi_pool_plan *p, const ag_tensor *dyt, ag_tensor *dxt, \
                     int64_t lo, int64_t hi)                                  \
    {                                                                         \
        const int64_t in = p->h.in * p->w.in, out = p->h.out * p->w.out;      \
        const int fast = is_2x2(p);                                           \
        for (int64_t pl = lo; pl < hi; pl++) {                                \
            const T *dy = (const T *)dyt->data + pl * out;                    \
            const int32_t *idx = p->argmax + pl * out;                        \
            T *dx = (T *)dxt->data + pl * in;                                 \
            if (fast) {                                                       \
                NAME##_2x2(p, dy, idx, dx);                                   \
                continue;                                                     \
            }                                                                 \
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
static ag_tensor *max_gather(ag_tape *t, ag_tensor *g, const agi_pool_plan *p);

/* Each of the three is linear in its input and picks or places at the
   argmax: ty = gather(tx) (max pool, gather), scatter(tx) (scatter). */
static ag_tensor *gather_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return max_gather(t, tx[0], n->aux);
}
static ag_tensor *scatter_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return max_scatter(t, tx[0], n->aux);
}

/* g2 = gather(g) at the argmax; dg += scatter(dg2) */
static void gather_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                            ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = max_scatter(t, gy, n->aux);
}
static const agi_op op_max_gather = {"ag_max_pool (gather at the argmax)", gather_backward,
                                        gather_jvp};

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
static const agi_op op_max_scatter = {"ag_max_pool (backward)", scatter_backward,
                                         scatter_jvp};

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
static const agi_op op_max_pool1d = {"ag_max_pool1d", max_pool_backward, gather_jvp};
static const agi_op op_max_pool2d = {"ag_max_pool2d", max_pool_backward, gather_jvp};

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
