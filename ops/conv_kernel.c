/*
** conv_kernel.c: the kernels behind the convolution ops (conv.c): im2col
** and col2im, and the three convolutions as matrix products over them
** (conv_internal.h has the big/small picture and the weight layout).
**
** Per image and group, with K = Cb/groups * kH * kW, Ps and Pb the small
** and big grids' sizes and col the image's patches [K, Ps] (im2col):
**   forward     ys [Cs/g, Ps]  = [w_g | b] [Cs/g, K+1] @ [col; ones]
**   transposed  col = w_g^T @ xs [Cs/g, Ps], then yb = b + col2im(col)
**   weight      w_g [Cs/g, K] += gs [Cs/g, Ps] @ col^T
**               (or its transpose col @ gs^T when K < Cs/g)
** col lives in a scratch area on the tape, one per task; a 1x1 kernel with
** stride 1 and no padding needs none (col is the image itself). The
** products run on the engine's GEMM (matmul_internal.h).
**
** Where the time goes (a CNN's 32 -> 64 channels 3x3 on 14 x 14): the
** products, at the GEMM's speed on these shapes (about 200 GFLOP/s f32 on
** one AVX-512 core), then im2col and col2im, about a sixth of a product
** each. Both work by rows of the grid (14 values): whole vectors with a
** masked tail on AVX-512, plain loops elsewhere; nothing per row may be a
** library call or a division, which cost more than the row.
**
** Threads. Forward and transposed: the images are split over tasks, each
** image's result computed whole by one task, each product by the serial
** GEMM; a single task (one image, or one thread) lets the GEMM split
** itself instead. Either way every element comes out the same (the GEMM's
** results do not depend on its split). The weight gradient sums the
** images in chunks whose size depends on the shapes alone (about
** CONV_WG_CHUNKS of them); each chunk's sum (images in order) goes to its
** own buffer, and the chunks are then added in order: the same bits for
** any thread count.
*/
#include "ag_ops_internal.h"
#include "conv_internal.h"
#include "matmul_internal.h"

#include <string.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#define CONV_TASKS_PER_THREAD 4
#define CONV_SCRATCH_MAX ((size_t)32 << 20)   /* scratch of all tasks, bytes */
#define CONV_PAR_MIN_FMAS ((int64_t)1 << 18)  /* less work runs as one task */
#define CONV_WG_CHUNKS 16                     /* the weight gradient's chunks */
#define CONV_WG_PARTIAL_MAX ((size_t)32 << 20) /* their buffers, bytes */
#define CONV_SLACK 64                         /* bytes im2col may write past col */

/* ---------------------------------------------------------- geometry --- */

/* [*lo, *hi): the output places o < n_out whose input place o*s + start
   is inside [0, n_in). */
static inline void conv_valid(int64_t n_out, int64_t n_in, int64_t s, int64_t start,
                              int64_t *lo, int64_t *hi)
{
    int64_t a, b;
    if (s == 1) {                   /* no division: it costs more than a row's copy */
        a = start >= 0 ? 0 : -start;
        b = n_in - start <= 0 ? 0 : n_in - start;
    } else {
        a = start >= 0 ? 0 : (-start + s - 1) / s;
        b = n_in - start <= 0 ? 0 : (n_in - start - 1) / s + 1;
    }
    if (b > n_out) b = n_out;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* The sizes every kernel derives from cd. */
typedef struct conv_sizes {
    int64_t kk, cbg, csg, k, pb, ps;    /* taps, channels per group, K, grids */
    size_t es;
    int direct;                         /* col is the image itself */
} conv_sizes;

static conv_sizes conv_sizes_of(const agi_conv_dims *cd)
{
    const agi_conv_geom *g = &cd->g;
    conv_sizes z;
    z.kk = g->k[0] * g->k[1];
    z.cbg = cd->cb / g->groups;
    z.csg = cd->cs / g->groups;
    z.k = z.cbg * z.kk;
    z.pb = cd->hb[0] * cd->hb[1];
    z.ps = cd->hs[0] * cd->hs[1];
    z.es = agi_dtype_size(cd->dtype);
    z.direct = z.kk == 1 && g->s[0] == 1 && g->s[1] == 1 && g->p[0] == 0 && g->p[1] == 0 &&
               cd->hb[0] == cd->hs[0] && cd->hb[1] == cd->hs[1];
    return z;
}

/* ------------------------------------------------------------- rows --- */

/*
** Rows of a grid (14 or 28 values in a small CNN) are the unit of im2col
** and col2im: too short for memcpy's call to pay. With AVX-512 a row is
** whole vectors and one masked load and store for its tail; elsewhere
** plain loops (AGI_VLOOP, which gcc vectorizes).
*/
#if defined(__AVX512F__)
#define CONV_ROWS(T, SUF, L, V, PS, M)                                        \
    static inline M row_mask_##SUF(int64_t n) { return (M)((1u << n) - 1); }  \
    static inline void row_copy_##SUF(T *d, const T *s, int64_t n)            \
    {                                                                         \
        int64_t o = 0;                                                        \
        for (; o + L <= n; o += L) _mm512_storeu_##PS(d + o, _mm512_loadu_##PS(s + o)); \
        if (o < n) {                                                          \
            const M m = row_mask_##SUF(n - o);                                \
            _mm512_mask_storeu_##PS(d + o, m, _mm512_maskz_loadu_##PS(m, s + o)); \
        }                                                                     \
    }                                                                         \
    static inline void row_add_##SUF(T *d, const T *s, int64_t n)             \
    {                                                                         \
        int64_t o = 0;                                                        \
        for (; o + L <= n; o += L)                                            \
            _mm512_storeu_##PS(d + o, _mm512_add_##PS(_mm512_loadu_##PS(d + o), \
                                                      _mm512_loadu_##PS(s + o))); \
        if (o < n) {                                                          \
            const M m = row_mask_##SUF(n - o);                                \
            V sum = _mm512_add_##PS(_mm512_maskz_loadu_##PS(m, d + o),        \
                                    _mm512_maskz_loadu_##PS(m, s + o));       \
            _mm512_mask_storeu_##PS(d + o, m, sum);                           \
        }                                                                     \
    }                                                                         \
    static inline void row_set_##SUF(T *d, T v, int64_t n)                    \
    {                                                                         \
        const V x = _mm512_set1_##PS(v);                                      \
        int64_t o = 0;                                                        \
        for (; o + L <= n; o += L) _mm512_storeu_##PS(d + o, x);              \
        if (o < n) _mm512_mask_storeu_##PS(d + o, row_mask_##SUF(n - o), x);  \
    }                                                                         \
    /* the same as row_copy and row_set(0), writing whole vectors: up to     \
       L - 1 values past d + n get zeros (see im2col) */                      \
    static inline void row_copy_over_##SUF(T *d, const T *s, int64_t n)       \
    {                                                                         \
        int64_t o = 0;                                                        \
        for (; o + L <= n; o += L) _mm512_storeu_##PS(d + o, _mm512_loadu_##PS(s + o)); \
        if (o < n)                                                            \
            _mm512_storeu_##PS(d + o, _mm512_maskz_loadu_##PS(row_mask_##SUF(n - o), s + o)); \
    }                                                                         \
    /* rows of a plane of im2col (stride 1 along the width): whole-vector  \
       stores, zeros first when the row has padding at its sides, the tail \
       mask made once; may write up to L - 1 values past the plane */       \
    static void plane_rows_##SUF(T *dst, const T *src, int64_t rows, int64_t ws, \
                                 int64_t step, int64_t wlo, int64_t n, int sides) \
    {                                                                         \
        const M m = row_mask_##SUF(n % L);                                    \
        const int64_t full = n / L * L;                                       \
        if (ws <= L) { /* the common case, kept apart: half the time */       \
            const M mn = row_mask_##SUF(n);                                   \
            for (int64_t r = 0; r < rows; r++, dst += ws, src += step) {      \
                if (sides) _mm512_storeu_##PS(dst, _mm512_setzero_##PS());    \
                _mm512_storeu_##PS(dst + wlo, _mm512_maskz_loadu_##PS(mn, src)); \
            }                                                                 \
            return;                                                           \
        }                                                                     \
        for (int64_t r = 0; r < rows; r++, dst += ws, src += step) {          \
            for (int64_t o = 0; sides && o < ws; o += L)                      \
                _mm512_storeu_##PS(dst + o, _mm512_setzero_##PS());           \
            for (int64_t o = 0; o < full; o += L)                             \
                _mm512_storeu_##PS(dst + wlo + o, _mm512_loadu_##PS(src + o)); \
            if (m) _mm512_storeu_##PS(dst + wlo + full, _mm512_maskz_loadu_##PS(m, src + full)); \
        }                                                                     \
    }                                                                         \
    static inline void row_zero_over_##SUF(T *d, int64_t n)                   \
    {                                                                         \
        if (n > 0 && n <= L) /* one store, not a call: gcc makes the loop memset */ \
            _mm512_storeu_##PS(d, _mm512_setzero_##PS());                     \
        else                                                                  \
            for (int64_t o = 0; o < n; o += L) _mm512_storeu_##PS(d + o, _mm512_setzero_##PS()); \
    }
CONV_ROWS(float, f32, 16, __m512, ps, __mmask16)
CONV_ROWS(double, f64, 8, __m512d, pd, __mmask8)
#define CONV_PLANE_ROWS 1                       /* im2col uses plane_rows_* */
#else
#define CONV_ROWS(T, SUF)                                                     \
    static inline void row_copy_##SUF(T *d, const T *s, int64_t n)            \
    {                                                                         \
        AGI_VLOOP(o, 0, n, d[o] = s[o];);                                     \
    }                                                                         \
    static inline void row_add_##SUF(T *d, const T *s, int64_t n)             \
    {                                                                         \
        AGI_VLOOP(o, 0, n, d[o] += s[o];);                                    \
    }                                                                         \
    static inline void row_set_##SUF(T *d, T v, int64_t n)                    \
    {                                                                         \
        AGI_VLOOP(o, 0, n, d[o] = v;);                                        \
    }                                                                         \
    static inline void row_copy_over_##SUF(T *d, const T *s, int64_t n)       \
    {                                                                         \
        row_copy_##SUF(d, s, n);                                              \
    }                                                                         \
    static inline void row_zero_over_##SUF(T *d, int64_t n) { row_set_##SUF(d, 0, n); }
CONV_ROWS(float, f32)
CONV_ROWS(double, f64)
#define CONV_PLANE_ROWS 0
#define plane_rows_f32(...) ((void)0)
#define plane_rows_f64(...) ((void)0)
#endif

/* ------------------------------------------------------ im2col, col2im --- */

/*
** The typed kernels:
**   im2col   col [cg*kH*kW, Hs*Ws] = the patches of x [cg, Hb, Wb]: row
**            (c*kH + i)*kW + j, column oh*Ws + ow holds x[c][oh*s0 - p0 +
**            i*d0][ow*s1 - p1 + j*d1], 0 outside x;
**   col2im   y [cg, Hb, Wb] += those columns put back, in row order;
**   fill     rows x len values, row r = v[r] (v NULL: zeros);
**   sum      the weight gradient's chunks, added in order.
*/
#define CONV_PATCHES(T, SUF)                                                  \
    static void im2col_row_##SUF(const agi_conv_dims *cd, const T *xc, T *row, \
                                 int64_t i, int64_t j, int over)              \
    {                                                                         \
        const agi_conv_geom *g = &cd->g;                                      \
        const int64_t hs = cd->hs[0], ws = cd->hs[1], wb = cd->hb[1], s1 = g->s[1]; \
        int64_t hlo, hhi, wlo, whi;                                           \
        conv_valid(hs, cd->hb[0], g->s[0], i * g->d[0] - g->p[0], &hlo, &hhi); \
        conv_valid(ws, wb, s1, j * g->d[1] - g->p[1], &wlo, &whi);            \
        over ? row_zero_over_##SUF(row, hlo * ws) : row_set_##SUF(row, 0, hlo * ws); \
        const T *src = xc + (hlo * g->s[0] - g->p[0] + i * g->d[0]) * wb +    \
                       wlo * s1 - g->p[1] + j * g->d[1];                      \
        const int64_t n = whi - wlo, sides = wlo > 0 || whi < ws, step = g->s[0] * wb; \
        if (over && s1 == 1 && CONV_PLANE_ROWS)                                \
            plane_rows_##SUF(row + hlo * ws, src, hhi - hlo, ws, step, wlo, n, sides); \
        else                                                                  \
            for (int64_t oh = hlo; oh < hhi; oh++, src += step) {             \
                T *dst = row + oh * ws;                                       \
                if (sides) /* zeros at the sides: no memset call */           \
                    over ? row_zero_over_##SUF(dst, ws) : row_set_##SUF(dst, 0, ws); \
                if (s1 != 1)                                                  \
                    for (int64_t o = wlo; o < whi; o++) dst[o] = src[(o - wlo) * s1]; \
                else if (over)                                                \
                    row_copy_over_##SUF(dst + wlo, src, n);                   \
                else                                                          \
                    row_copy_##SUF(dst + wlo, src, n);                        \
            }                                                                 \
        T *end = row + hhi * ws;                                              \
        over ? row_zero_over_##SUF(end, (hs - hhi) * ws) : row_set_##SUF(end, 0, (hs - hhi) * ws); \
    }                                                                         \
    static void im2col_##SUF(const agi_conv_dims *cd, int64_t cg, const T *x, T *col, \
                             int over)                                        \
    {                                                                         \
        const int64_t kh = cd->g.k[0], kw = cd->g.k[1];                       \
        const int64_t ps = cd->hs[0] * cd->hs[1], pb = cd->hb[0] * cd->hb[1]; \
        for (int64_t c = 0; c < cg; c++)                                      \
            for (int64_t i = 0; i < kh; i++)                                  \
                for (int64_t j = 0; j < kw; j++)                              \
                    im2col_row_##SUF(cd, x + c * pb, col + ((c * kh + i) * kw + j) * ps, i, j, \
                                     over);                                   \
    }                                                                         \
    static void col2im_##SUF(const agi_conv_dims *cd, int64_t cg, const T *col, T *y) \
    {                                                                         \
        const agi_conv_geom *g = &cd->g;                                      \
        const int64_t hs = cd->hs[0], ws = cd->hs[1], wb = cd->hb[1], s1 = g->s[1]; \
        const int64_t pb = cd->hb[0] * wb;                                    \
        for (int64_t c = 0; c < cg; c++)                                      \
            for (int64_t i = 0; i < g->k[0]; i++)                             \
                for (int64_t j = 0; j < g->k[1]; j++, col += hs * ws) {       \
                    int64_t hlo, hhi, wlo, whi;                               \
                    conv_valid(hs, cd->hb[0], g->s[0], i * g->d[0] - g->p[0], &hlo, &hhi); \
                    conv_valid(ws, wb, s1, j * g->d[1] - g->p[1], &wlo, &whi); \
                    for (int64_t oh = hlo; oh < hhi; oh++) {                  \
                        const int64_t ih = oh * g->s[0] - g->p[0] + i * g->d[0]; \
                        T *dst = y + c * pb + ih * wb + wlo * s1 - g->p[1] + j * g->d[1]; \
                        const T *src = col + oh * ws + wlo;                   \
                        if (s1 == 1)                                          \
                            row_add_##SUF(dst, src, whi - wlo);               \
                        else                                                  \
                            for (int64_t o = 0; o < whi - wlo; o++) dst[o * s1] += src[o]; \
                    }                                                         \
                }                                                             \
    }                                                                         \
    static void fill_rows_##SUF(T *y, int64_t rows, int64_t len, const T *v)  \
    {                                                                         \
        for (int64_t r = 0; r < rows; r++) row_set_##SUF(y + r * len, v ? v[r] : 0, len); \
    }                                                                         \
    static void sum_chunks_##SUF(T *w, const T *part, int64_t nchunks, int64_t n) \
    {                                                                         \
        row_copy_##SUF(w, part, n);                                           \
        for (int64_t c = 1; c < nchunks; c++) row_add_##SUF(w, part + c * n, n); \
    }

CONV_PATCHES(float, f32)
CONV_PATCHES(double, f64)

/* im2col; with over, it may write zeros up to CONV_SLACK bytes past the
   end of col (a scratch area with that much to spare; faster whole-vector
   stores). */
static void im2col(const agi_conv_dims *cd, int64_t cg, const void *x, void *col, int over)
{
    if (cd->dtype == AG_F64)
        im2col_f64(cd, cg, x, col, over);
    else
        im2col_f32(cd, cg, x, col, over);
}

static void col2im(const agi_conv_dims *cd, int64_t cg, const void *col, void *y)
{
    if (cd->dtype == AG_F64)
        col2im_f64(cd, cg, col, y);
    else
        col2im_f32(cd, cg, col, y);
}

/* n ones at y (the row under the patches that meets the bias). */
static void fill_ones(int dtype, void *y, int64_t n)
{
    if (dtype == AG_F64)
        row_set_f64(y, 1, n);
    else
        row_set_f32(y, 1, n);
}

/* rows x len values at y: row r = v[r] (v NULL: zeros). */
static void fill_rows(int dtype, void *y, int64_t rows, int64_t len, const void *v)
{
    if (dtype == AG_F64)
        fill_rows_f64(y, rows, len, v);
    else
        fill_rows_f32(y, rows, len, v);
}

#if defined(__AVX512F__)
/*
** col2im by rows of y, for stride 1 along the width: each vector of a row
** of y sums its taps (i, j) in order in a register and is stored once.
** (Adding row after shifted row into y, as col2im does, makes each load
** wait for the overlapping store before it.) The same sums in the same
** order as fill_rows then col2im, so the same bits.
**
** For a vector of y at column c0, tap column j (y column iw takes the tap
** row's value at iw - shift) covers lanes [lo, hi): loaded from inside the
** tap row only (at off, hi - lo values), moved up lo lanes when lo > 0.
** These depend on c0 and j alone: worked out once per vector column.
*/
#define CONV_TAPS 16            /* kernel widths the gather takes */
#define CONV_GATHER(T, SUF, L, V, PS, M, IOTA, SUBI)                          \
    typedef struct conv_tap_##SUF {                                           \
        M lanes, load;          /* lanes of y covered; values loaded */       \
        int64_t off, lo;                                                      \
        __m512i perm;           /* lane l takes loaded value l - lo */        \
    } conv_tap_##SUF;                                                         \
    static void taps_##SUF(const agi_conv_dims *cd, int64_t c0, int64_t lanes, \
                           conv_tap_##SUF *tap)                               \
    {                                                                         \
        for (int64_t j = 0; j < cd->g.k[1]; j++) {                            \
            const int64_t shift = j * cd->g.d[1] - cd->g.p[1], ws = cd->hs[1]; \
            const int64_t lo = shift - c0 > 0 ? shift - c0 : 0;               \
            const int64_t hi = ws + shift - c0 < lanes ? ws + shift - c0 : lanes; \
            tap[j].lanes = lo < hi ? (M)(row_mask_##SUF(hi) & ~row_mask_##SUF(lo)) : 0; \
            tap[j].load = lo < hi ? row_mask_##SUF(hi - lo) : 0;              \
            tap[j].off = c0 + lo - shift;                                     \
            tap[j].lo = lo;                                                   \
            tap[j].perm = SUBI(IOTA, lo);                                     \
        }                                                                     \
    }                                                                         \
    /* y row vector (c0) = init + its taps from col rows crow[i] (NULL: none) */ \
    static inline V gather_##SUF(const T *const *crow, int64_t kh, int64_t kw, \
                                 int64_t ps, const conv_tap_##SUF *tap, T init) \
    {                                                                         \
        V acc = _mm512_set1_##PS(init);                                       \
        for (int64_t i = 0; i < kh; i++)                                      \
            for (int64_t j = 0; crow[i] && j < kw; j++) {                     \
                if (!tap[j].lanes) continue;                                  \
                V v = _mm512_maskz_loadu_##PS(tap[j].load, crow[i] + j * ps + tap[j].off); \
                if (tap[j].lo) v = _mm512_permutexvar_##PS(tap[j].perm, v);   \
                acc = _mm512_mask_add_##PS(acc, tap[j].lanes, acc, v);        \
            }                                                                 \
        return acc;                                                           \
    }                                                                         \
    static void col2im_rows_##SUF(const agi_conv_dims *cd, int64_t cg, const T *col, T *y, \
                                  const T *bias)                              \
    {                                                                         \
        const agi_conv_geom *g = &cd->g;                                      \
        const int64_t hs = cd->hs[0], ws = cd->hs[1], hb = cd->hb[0], wb = cd->hb[1]; \
        const int64_t kh = g->k[0], kw = g->k[1], ps = hs * ws;               \
        conv_tap_##SUF tap[CONV_TAPS];                                        \
        const T *crow[CONV_TAPS];                                             \
        for (int64_t c0 = 0; c0 < wb; c0 += L) {                              \
            const int64_t lanes = wb - c0 < L ? wb - c0 : L;                  \
            taps_##SUF(cd, c0, lanes, tap);                                   \
            for (int64_t c = 0; c < cg; c++)                                  \
                for (int64_t ih = 0; ih < hb; ih++) {                         \
                    for (int64_t i = 0; i < kh; i++) {                        \
                        int64_t oh = ih + g->p[0] - i * g->d[0];              \
                        if (g->s[0] > 1) oh = oh % g->s[0] ? -1 : oh / g->s[0]; \
                        crow[i] = oh < 0 || oh >= hs ? NULL                   \
                                  : col + ((c * kh + i) * kw * hs + oh) * ws; \
                    }                                                         \
                    V acc = gather_##SUF(crow, kh, kw, ps, tap, bias ? bias[c] : 0); \
                    _mm512_mask_storeu_##PS(y + (c * hb + ih) * wb + c0, row_mask_##SUF(lanes), \
                                            acc);                             \
                }                                                             \
        }                                                                     \
    }
#define CONV_IOTA32 _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
#define CONV_IOTA64 _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0)
#define CONV_SUB32(v, n) _mm512_sub_epi32((v), _mm512_set1_epi32((int)(n)))
#define CONV_SUB64(v, n) _mm512_sub_epi64((v), _mm512_set1_epi64((long long)(n)))
CONV_GATHER(float, f32, 16, __m512, ps, __mmask16, CONV_IOTA32, CONV_SUB32)
CONV_GATHER(double, f64, 8, __m512d, pd, __mmask8, CONV_IOTA64, CONV_SUB64)
#endif

/* y [cg, Hb, Wb] = bias[c] (or 0) + the columns of col put back. */
static void col2im_set(const agi_conv_dims *cd, int64_t cg, const void *col, void *y,
                       const void *bias)
{
#if defined(__AVX512F__)
    if (cd->g.s[1] == 1 && cd->g.k[0] <= CONV_TAPS && cd->g.k[1] <= CONV_TAPS) {
        if (cd->dtype == AG_F64)
            col2im_rows_f64(cd, cg, col, y, bias);
        else
            col2im_rows_f32(cd, cg, col, y, bias);
        return;
    }
#endif
    fill_rows(cd->dtype, y, cg, cd->hb[0] * cd->hb[1], bias);
    col2im(cd, cg, col, y);
}

/* ------------------------------------------------------------- tasks --- */

typedef struct conv_run conv_run;
typedef void (*conv_item_fn)(const conv_run *r, char *ws, int64_t item);

/* One kernel call: its operands, scratch, and how its items (images, or
   the weight gradient's chunks) are cut into tasks. */
struct conv_run {
    const agi_conv_dims *cd;
    conv_sizes z;
    const char *in1, *in2;          /* the two operands (see each kernel) */
    const char *bias;
    char *out;
    char *ws;                       /* ntasks scratch areas of ws_bytes */
    size_t ws_bytes;
    char *partial;                  /* the weight gradient's chunk sums */
    int64_t nitems, ntasks, chunk;
    int par_gemm;                   /* one task: the GEMM may split itself */
    int wg_tr;                      /* weight gradient taken transposed */
    conv_item_fn item;
};

static void conv_task(void *ctx, int64_t task)
{
    const conv_run *r = ctx;
    const int64_t lo = task * r->nitems / r->ntasks, hi = (task + 1) * r->nitems / r->ntasks;
    char *ws = r->ws ? r->ws + (size_t)task * r->ws_bytes : NULL;
    for (int64_t i = lo; i < hi; i++) r->item(r, ws, i);
}

static void conv_gemm(const conv_run *r, const agi_gemm *g)
{
    if (r->par_gemm)
        agi_gemm_run(g);
    else
        agi_gemm_run_serial(g);
}

/*
** Runs r's items: about CONV_TASKS_PER_THREAD tasks per thread, each with
** its own scratch of ws_bytes from the tape (fewer tasks when that would
** pass CONV_SCRATCH_MAX), or one task when the work (fmas) is small or one
** thread is set. Returns 0, or -1 when the scratch cannot be had.
*/
static int conv_launch(ag_tape *t, const char *fn, conv_run *r, size_t ws_bytes, double fmas)
{
    const int64_t threads = agi_threads_available();
    int64_t ntasks = threads > 1 && fmas >= (double)CONV_PAR_MIN_FMAS ? threads * CONV_TASKS_PER_THREAD : 1;
    if (ntasks > r->nitems) ntasks = r->nitems;
    ws_bytes = (ws_bytes + AGI_ALIGN - 1) & ~(size_t)(AGI_ALIGN - 1);
    if (ntasks > 1 && ws_bytes > CONV_SCRATCH_MAX / (size_t)ntasks)
        ntasks = threads < r->nitems ? threads : r->nitems;
    if (ntasks < 1) return 0;                       /* no items */
    r->ntasks = ntasks;
    r->ws_bytes = ws_bytes;
    r->par_gemm = ntasks == 1;
    r->ws = NULL;
    if (ws_bytes) {
        if (ws_bytes > SIZE_MAX / (size_t)ntasks)
            return agi_fail(t, AG_ERR_NOMEM, "%s: scratch of %lld x %zu bytes is too large", fn,
                            (long long)ntasks, ws_bytes), -1;
        if (!(r->ws = agi_alloc(t, ws_bytes * (size_t)ntasks))) return -1;
    }
    if (ntasks == 1)
        conv_task(r, 0);
    else
        agi_parallel_for(ntasks, conv_task, r);
    return 0;
}

/* The multiply-adds of a call (in double: the product may pass int64). */
static double conv_fmas(const agi_conv_dims *cd, const conv_sizes *z)
{
    return (double)cd->n * (double)cd->cs * (double)z->ps * (double)z->k;
}

/* Bytes of one image's patches (K x Ps) and the slack im2col may write
   past them; 0 when col is the image. */
static size_t col_bytes(const conv_sizes *z)
{
    return z->direct ? 0 : (size_t)(z->k * z->ps) * z->es + CONV_SLACK;
}

/* --------------------------------------------------------- forward --- */

/*
** Image n: ys[n] = w_g @ patches of xb[n] + bias, group by group. With a
** bias and patches, the bias is one more column of the weights (r->in2,
** [Cs, K + 1]) against a row of ones under the patches: the product
** writes y once, with no pass to fill it first. (1x1, in place: y is
** filled with the bias, the product added.)
*/
static void fwd_item(const conv_run *r, char *ws, int64_t n)
{
    const agi_conv_dims *cd = r->cd;
    const conv_sizes *z = &r->z;
    const int aug = r->bias && !z->direct;
    const int64_t ka = z->k + aug;
    for (int64_t gi = 0; gi < cd->g.groups; gi++) {
        char *y = r->out + (size_t)((n * cd->cs + gi * z->csg) * z->ps) * z->es;
        const char *x = r->in1 + (size_t)((n * cd->cb + gi * z->cbg) * z->pb) * z->es;
        const char *col = x;
        if (z->direct && r->bias)
            fill_rows(cd->dtype, y, z->csg, z->ps, r->bias + (size_t)(gi * z->csg) * z->es);
        if (!z->direct) {
            im2col(cd, z->cbg, x, ws, 1);
            if (aug) fill_ones(cd->dtype, ws + (size_t)(z->k * z->ps) * z->es, z->ps);
            col = ws;
        }
        agi_gemm g = {.dtype = cd->dtype, .accumulate = z->direct && r->bias, .m = z->csg,
                      .n = z->ps, .k = ka, .a = r->in2 + (size_t)(gi * z->csg * ka) * z->es,
                      .a_rs = ka, .a_cs = 1, .b = col, .b_rs = z->ps, .b_cs = 1, .c = y,
                      .ldc = z->ps, .batch = 1};
        conv_gemm(r, &g);
    }
}

/* wb [Cs, K + 1] = w [Cs, K] with the bias [Cs] as its last column. */
static void weights_with_bias(const conv_sizes *z, int64_t cs, const char *w, const char *bias,
                              char *wb)
{
    for (int64_t o = 0; o < cs; o++) {
        memcpy(wb + (size_t)(o * (z->k + 1)) * z->es, w + (size_t)(o * z->k) * z->es,
               (size_t)z->k * z->es);
        memcpy(wb + (size_t)(o * (z->k + 1) + z->k) * z->es, bias + (size_t)o * z->es, z->es);
    }
}

int agi_conv_forward(ag_tape *t, const agi_conv_dims *cd, const void *xb, const void *w,
                     const void *bias, void *ys)
{
    conv_run r = {.cd = cd, .z = conv_sizes_of(cd), .in1 = xb, .in2 = w, .bias = bias,
                  .out = ys, .nitems = cd->n, .item = fwd_item};
    const int aug = bias && !r.z.direct;
    if (aug && cd->n > 0) {
        char *wb = agi_alloc(t, (size_t)(cd->cs * (r.z.k + 1)) * r.z.es);
        if (!wb) return -1;
        weights_with_bias(&r.z, cd->cs, w, bias, wb);
        r.in2 = wb;
    }
    return conv_launch(t, "ag_conv", &r, col_bytes(&r.z) + (aug ? (size_t)r.z.ps * r.z.es : 0),
                       conv_fmas(cd, &r.z));
}

/* ------------------------------------------------------ transposed --- */

/* Image n: yb[n] = bias + col2im(w_g^T @ xs[n]), group by group. */
static void tr_item(const conv_run *r, char *ws, int64_t n)
{
    const agi_conv_dims *cd = r->cd;
    const conv_sizes *z = &r->z;
    for (int64_t gi = 0; gi < cd->g.groups; gi++) {
        char *y = r->out + (size_t)((n * cd->cb + gi * z->cbg) * z->pb) * z->es;
        const char *x = r->in1 + (size_t)((n * cd->cs + gi * z->csg) * z->ps) * z->es;
        const char *bg = r->bias ? r->bias + (size_t)(gi * z->cbg) * z->es : NULL;
        if (z->direct && bg) fill_rows(cd->dtype, y, z->cbg, z->pb, bg);
        agi_gemm g = {.dtype = cd->dtype, .accumulate = z->direct && bg, .m = z->k,
                      .n = z->ps, .k = z->csg, .a = r->in2 + (size_t)(gi * z->csg * z->k) * z->es,
                      .a_rs = 1, .a_cs = z->k, .b = x, .b_rs = z->ps, .b_cs = 1,
                      .c = z->direct ? y : ws, .ldc = z->ps, .batch = 1};
        conv_gemm(r, &g);
        if (!z->direct) col2im_set(cd, z->cbg, ws, y, bg);
    }
}

int agi_conv_transpose(ag_tape *t, const agi_conv_dims *cd, const void *xs, const void *w,
                       const void *bias, void *yb)
{
    conv_run r = {.cd = cd, .z = conv_sizes_of(cd), .in1 = xs, .in2 = w, .bias = bias,
                  .out = yb, .nitems = cd->n, .item = tr_item};
    return conv_launch(t, "ag_conv_transpose", &r, col_bytes(&r.z),
                       conv_fmas(cd, &r.z));
}

/* -------------------------------------------------- weight gradient --- */

/*
** Chunk c of the images: its sum of gs[n] @ patches(xb[n])^T, images in
** order, into its own buffer (the result itself when there is one chunk).
** With few patch rows (K < Cs/g, a first layer's 1 x 3 x 3) the product
** is taken the other way round, patches @ gs^T, into [groups][K][Cs/g]
** (r->wg_tr): its wide side then fills the GEMM's panels.
*/
static void wg_item(const conv_run *r, char *ws, int64_t c)
{
    const agi_conv_dims *cd = r->cd;
    const conv_sizes *z = &r->z;
    const int64_t n0 = c * r->chunk, n1 = n0 + r->chunk < cd->n ? n0 + r->chunk : cd->n;
    const int64_t wg = z->csg * z->k;                   /* one group's block */
    char *dst = r->nitems == 1 && !r->wg_tr ? r->out : r->partial + (size_t)(c * cd->cs * z->k) * z->es;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t gi = 0; gi < cd->g.groups; gi++) {
            const char *x = r->in1 + (size_t)((n * cd->cb + gi * z->cbg) * z->pb) * z->es;
            const char *gy = r->in2 + (size_t)((n * cd->cs + gi * z->csg) * z->ps) * z->es;
            const char *col = x;
            if (!z->direct) {
                im2col(cd, z->cbg, x, ws, 1);
                col = ws;
            }
            const char *a = r->wg_tr ? col : gy, *b = r->wg_tr ? gy : col;
            agi_gemm g = {.dtype = cd->dtype, .accumulate = n > n0,
                          .m = r->wg_tr ? z->k : z->csg, .n = r->wg_tr ? z->csg : z->k,
                          .k = z->ps, .a = a, .a_rs = z->ps, .a_cs = 1, .b = b, .b_rs = 1,
                          .b_cs = z->ps, .c = dst + (size_t)(gi * wg) * z->es,
                          .ldc = r->wg_tr ? z->csg : z->k, .batch = 1};
            conv_gemm(r, &g);
        }
}

/* w = the chunks' sums added in order; transposed back from [groups][K][Cs/g]
   when they were taken that way. */
#define CONV_WG_SUM(T, SUF)                                                   \
    static void wg_sum_##SUF(const conv_run *r, T *w, const T *part)          \
    {                                                                         \
        const conv_sizes *z = &r->z;                                          \
        const int64_t n = r->cd->cs * z->k, csg = z->csg, k = z->k;           \
        if (!r->wg_tr) {                                                      \
            sum_chunks_##SUF(w, part, r->nitems, n);                          \
            return;                                                           \
        }                                                                     \
        for (int64_t gi = 0; gi < r->cd->g.groups; gi++)                      \
            for (int64_t o = 0; o < csg; o++)                                 \
                for (int64_t p = 0; p < k; p++) {                             \
                    const T *src = part + (gi * k + p) * csg + o;             \
                    T sum = src[0];                                           \
                    for (int64_t c = 1; c < r->nitems; c++) sum += src[c * n]; \
                    w[(gi * csg + o) * k + p] = sum;                          \
                }                                                             \
    }
CONV_WG_SUM(float, f32)
CONV_WG_SUM(double, f64)

int agi_conv_wgrad(ag_tape *t, const agi_conv_dims *cd, const void *xb, const void *gs,
                   void *w)
{
    conv_run r = {.cd = cd, .z = conv_sizes_of(cd), .in1 = xb, .in2 = gs, .out = w,
                  .item = wg_item};
    const int64_t wn = cd->cs * r.z.k;
    const size_t wbytes = (size_t)wn * r.z.es;
    if (cd->n == 0 || wn == 0) {
        memset(w, 0, wbytes);
        return 0;
    }
    int64_t nchunks = cd->n < CONV_WG_CHUNKS ? cd->n : CONV_WG_CHUNKS;
    if (wbytes > CONV_WG_PARTIAL_MAX / (size_t)nchunks)
        nchunks = wbytes >= CONV_WG_PARTIAL_MAX ? 1 : (int64_t)(CONV_WG_PARTIAL_MAX / wbytes);
    r.chunk = (cd->n + nchunks - 1) / nchunks;
    r.nitems = (cd->n + r.chunk - 1) / r.chunk;
    r.wg_tr = r.z.k < r.z.csg;
    if ((r.nitems > 1 || r.wg_tr) && !(r.partial = agi_alloc(t, wbytes * (size_t)r.nitems)))
        return -1;
    if (conv_launch(t, "ag_conv (weight gradient)", &r, col_bytes(&r.z),
                    conv_fmas(cd, &r.z)) < 0)
        return -1;
    if (r.nitems > 1 || r.wg_tr) {
        if (cd->dtype == AG_F64)
            wg_sum_f64(&r, w, (const double *)r.partial);
        else
            wg_sum_f32(&r, w, (const float *)r.partial);
    }
    return 0;
}

/* ---------------------------------------------------- unfold, fold --- */

static void unfold_item(const conv_run *r, char *ws, int64_t n)
{
    (void)ws;
    const conv_sizes *z = &r->z;
    im2col(r->cd, r->cd->cb, r->in1 + (size_t)(n * r->cd->cb * z->pb) * z->es,
           r->out + (size_t)(n * z->k * z->ps) * z->es, 0);
}

static void fold_item(const conv_run *r, char *ws, int64_t n)
{
    (void)ws;
    const conv_sizes *z = &r->z;
    col2im_set(r->cd, r->cd->cb, r->in1 + (size_t)(n * z->k * z->ps) * z->es,
               r->out + (size_t)(n * r->cd->cb * z->pb) * z->es, NULL);
}

/* Runs unfold or fold over the images (no scratch: cannot fail). */
static void conv_copy_run(const agi_conv_dims *cd, const void *in, void *out, conv_item_fn item)
{
    conv_run r = {.cd = cd, .z = conv_sizes_of(cd), .in1 = in, .out = out, .nitems = cd->n,
                  .item = item};
    (void)conv_launch(NULL, "ag_unfold", &r, 0, conv_fmas(cd, &r.z));
}

void agi_conv_unfold(const agi_conv_dims *cd, const void *xb, void *y)
{
    conv_copy_run(cd, xb, y, unfold_item);
}

void agi_conv_fold(const agi_conv_dims *cd, const void *xs, void *yb)
{
    conv_copy_run(cd, xs, yb, fold_item);
}
