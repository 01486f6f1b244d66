/*
** conv_rows_internal.h: the template of the convolution's row kernels
** (conv_internal.h: agi_conv_rows), included once per instruction set by
** conv_avx512.c, conv_avx2.c and conv_portable.c, each compiled for its
** target whatever the build's flags. The includer includes the headers
** below, then sets its target (so that no header's declaration gets it),
** defines CONV_ISA (an AGI_ISA_* value), CONV_TABLE (the table's name) and
** CONV_NAME, and includes this.
*/
#include "ag_ops_internal.h"
#include "conv_internal.h"

#if CONV_ISA == AGI_ISA_AVX512
#include <immintrin.h>
#endif

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

/* ------------------------------------------------------------- rows --- */

/*
** Rows of a grid (14 or 28 values in a small CNN) are the unit of im2col
** and col2im: too short for memcpy's call to pay. With AVX-512 a row is
** whole vectors and one masked load and store for its tail; elsewhere
** plain loops (AGI_VLOOP, which gcc vectorizes).
*/
#if CONV_ISA == AGI_ISA_AVX512
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
static void conv_im2col(const agi_conv_dims *cd, int64_t cg, const void *x, void *col, int over)
{
    if (cd->dtype == AG_F64)
        im2col_f64(cd, cg, x, col, over);
    else
        im2col_f32(cd, cg, x, col, over);
}

static void conv_col2im(const agi_conv_dims *cd, int64_t cg, const void *col, void *y)
{
    if (cd->dtype == AG_F64)
        col2im_f64(cd, cg, col, y);
    else
        col2im_f32(cd, cg, col, y);
}

/* n ones at y (the row under the patches that meets the bias). */
static void conv_fill_ones(int dtype, void *y, int64_t n)
{
    if (dtype == AG_F64)
        row_set_f64(y, 1, n);
    else
        row_set_f32(y, 1, n);
}

/* rows x len values at y: row r = v[r] (v NULL: zeros). */
static void conv_fill_rows(int dtype, void *y, int64_t rows, int64_t len, const void *v)
{
    if (dtype == AG_F64)
        fill_rows_f64(y, rows, len, v);
    else
        fill_rows_f32(y, rows, len, v);
}

#if CONV_ISA == AGI_ISA_AVX512
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
static void conv_col2im_set(const agi_conv_dims *cd, int64_t cg, const void *col, void *y,
                            const void *bias)
{
#if CONV_ISA == AGI_ISA_AVX512
    if (cd->g.s[1] == 1 && cd->g.k[0] <= CONV_TAPS && cd->g.k[1] <= CONV_TAPS) {
        if (cd->dtype == AG_F64)
            col2im_rows_f64(cd, cg, col, y, bias);
        else
            col2im_rows_f32(cd, cg, col, y, bias);
        return;
    }
#endif
    conv_fill_rows(cd->dtype, y, cg, cd->hb[0] * cd->hb[1], bias);
    conv_col2im(cd, cg, col, y);
}

/* y [n] = part[0] + ... + part[nchunks - 1], in that order. */
static void conv_sum_chunks(int dtype, void *w, const void *part, int64_t nchunks, int64_t n)
{
    if (dtype == AG_F64)
        sum_chunks_f64(w, part, nchunks, n);
    else
        sum_chunks_f32(w, part, nchunks, n);
}

const agi_conv_rows CONV_TABLE = {
    .name = CONV_NAME,
    .im2col = conv_im2col,
    .col2im_set = conv_col2im_set,
    .fill_rows = conv_fill_rows,
    .fill_ones = conv_fill_ones,
    .sum_chunks = conv_sum_chunks,
};
