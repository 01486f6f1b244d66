/*
** matmul_kernel.c: the GEMM kernel (matmul_internal.h): C = op(A) @ op(B)
** for f32 and f64, packed B, cache-blocked, a register-blocked
** micro-kernel. The op, its shapes and its backward are in matmul.c.
**
** Vectors. A thin layer (mmv_*) maps one SIMD register of T to AVX-512
** (__AVX512F__), AVX2 + FMA (__AVX2__ && __FMA__), 16-byte GCC vectors
** (any other GNU C target) or plain scalars (any C11 compiler, or any
** build with -DAGI_MM_SCALAR, which tests that path). The FMA
** builds fuse every multiply-add; the others never do, anywhere, so every
** path of one build rounds alike.
**
** Blocking (the loops of mm_region, outer to inner):
**   k by KC    depth blocks of at most KC (balanced: 784 is 4 x 196),
**   m by MC    rows of A whose [MC, KC] block stays in L2,
**   n by NR    one panel of B, NR = MM_NV vectors wide: packed [KC][NR]
**              into a stack buffer of 32 KB (L1), zero-padded at the
**              right edge, or read in place (see below), then
**   m by MR    the micro-kernel: an [MR, NR] tile of C in registers runs
**              down the panel, one broadcast of A and MM_NV FMAs per row
**              and step (8 x 32 floats, 8 x 16 doubles on AVX-512).
** A is read in place through its strides (a row-major A gives MR short
** streams, a transposed one MR contiguous values per step). A row-major
** B panel is read in place too when at most MM_INPLACE_ROWS rows use it
** (the MLP's batch of 64: packing would cost more than it saves); else it
** is copied. A transposed B is transposed while packing, by 16x16 (f32)
** or 8x8 (f64) blocks in registers on AVX-512. Tiles at the right edge
** (fewer than NR columns) run through a small buffer; at the bottom edge
** a kernel of fewer rows runs.
**
** Measured (one thread of a shared 2-core AMD EPYC Zen 5, gcc 12 -O2
** -march=native, bench/: `make bench`), GFLOP/s f32 / f64: 64x784 @
** 784x256 about 205 / 97; 64x256 @ (784x256)^T 187 / 96; (64x784)^T @
** 64x256 207 / 100; the 64x256 @ 256x128 layer and its backward 195-228
** / 98-115. OpenBLAS 0.3.21 (Cooperlake kernels) on the same: 162-195 /
** 74-79.
**
** Every element of C is acc = fma(a_ip, b_pj, acc) over p in order from
** acc = 0 (or C), whatever the blocking or the thread: storing acc to C
** between k-blocks and loading it back is exact.
**
** Dot products (mm_dot): with at most AGI_GEMM_DOT_ROWS rows, rows of A
** and columns of op(B) both contiguous (x @ W^T for a batch of one or a
** few: the transposing pack would cost several times the product), each
** element is a dot product in AGI_GEMM_DOT_LANES partial sums instead
** (matmul_internal.h gives the order); every build keeps that order,
** whatever its vector width.
*/
#include "ag_internal.h"
#include "matmul_internal.h"
#include "threads_internal.h"

#include <math.h>
#include <string.h>

#if defined(AGI_MM_SCALAR)
#define MM_SCALAR 1
#elif defined(__AVX512F__)
#define MM_AVX512 1
#elif defined(__AVX2__) && defined(__FMA__)
#define MM_AVX2 1
#elif defined(__GNUC__)
#define MM_GNU_VECTOR 1
#else
#define MM_SCALAR 1
#endif

#if defined(MM_AVX512) || defined(MM_AVX2)
#include <immintrin.h>
#endif

/* ------------------------------------------------------------ vectors --- */

#if defined(MM_AVX512)
#define MM_ISA "avx512"
#define MMV_DEF(T, SUF, V, L, PS)                                             \
    typedef V mmv_##SUF;                                                      \
    enum { MM_L_##SUF = L };                                                  \
    static inline V mmv_load_##SUF(const T *p) { return _mm512_loadu_##PS(p); } \
    static inline void mmv_store_##SUF(T *p, V v) { _mm512_storeu_##PS(p, v); } \
    static inline V mmv_bcast_##SUF(const T *p) { return _mm512_set1_##PS(*p); } \
    static inline V mmv_zero_##SUF(void) { return _mm512_setzero_##PS(); }    \
    static inline V mmv_fma_##SUF(V x, V y, V z) { return _mm512_fmadd_##PS(x, y, z); }
MMV_DEF(float, f32, __m512, 16, ps)
MMV_DEF(double, f64, __m512d, 8, pd)
#elif defined(MM_AVX2)
#define MM_ISA "avx2"
#define MMV_DEF(T, SUF, V, L, PS)                                             \
    typedef V mmv_##SUF;                                                      \
    enum { MM_L_##SUF = L };                                                  \
    static inline V mmv_load_##SUF(const T *p) { return _mm256_loadu_##PS(p); } \
    static inline void mmv_store_##SUF(T *p, V v) { _mm256_storeu_##PS(p, v); } \
    static inline V mmv_bcast_##SUF(const T *p) { return _mm256_set1_##PS(*p); } \
    static inline V mmv_zero_##SUF(void) { return _mm256_setzero_##PS(); }    \
    static inline V mmv_fma_##SUF(V x, V y, V z) { return _mm256_fmadd_##PS(x, y, z); }
MMV_DEF(float, f32, __m256, 8, ps)
MMV_DEF(double, f64, __m256d, 4, pd)
#elif defined(MM_GNU_VECTOR)
#define MM_ISA "gnu-vector"
#define MMV_DEF(T, SUF, L)                                                    \
    typedef T mmv_##SUF __attribute__((vector_size(16)));                     \
    enum { MM_L_##SUF = L };                                                  \
    static inline mmv_##SUF mmv_load_##SUF(const T *p)                        \
    {                                                                         \
        mmv_##SUF v;                                                          \
        memcpy(&v, p, sizeof v);                                              \
        return v;                                                             \
    }                                                                         \
    static inline void mmv_store_##SUF(T *p, mmv_##SUF v) { memcpy(p, &v, sizeof v); } \
    static inline mmv_##SUF mmv_bcast_##SUF(const T *p)                       \
    {                                                                         \
        return (mmv_##SUF){0} + *p;                                           \
    }                                                                         \
    static inline mmv_##SUF mmv_zero_##SUF(void) { return (mmv_##SUF){0}; }   \
    static inline mmv_##SUF mmv_fma_##SUF(mmv_##SUF x, mmv_##SUF y, mmv_##SUF z) \
    {                                                                         \
        return x * y + z;                                                     \
    }
MMV_DEF(float, f32, 4)
MMV_DEF(double, f64, 2)
#else
#define MM_ISA "scalar"
#define MMV_DEF(T, SUF)                                                       \
    typedef T mmv_##SUF;                                                      \
    enum { MM_L_##SUF = 1 };                                                  \
    static inline T mmv_load_##SUF(const T *p) { return *p; }                 \
    static inline void mmv_store_##SUF(T *p, T v) { *p = v; }                 \
    static inline T mmv_bcast_##SUF(const T *p) { return *p; }                \
    static inline T mmv_zero_##SUF(void) { return 0; }                        \
    static inline T mmv_fma_##SUF(T x, T y, T z) { return x * y + z; }
MMV_DEF(float, f32)
MMV_DEF(double, f64)
#endif

#if defined(__GNUC__)
#define MM_INLINE static inline __attribute__((always_inline))
#define MM_UNROLL(n) _Pragma(#n)
#else
#define MM_INLINE static inline
#define MM_UNROLL(n)
#endif
#define MM_UNROLL_ALL MM_UNROLL(GCC unroll 16)
#define MM_UNROLL_K MM_UNROLL(GCC unroll 4)

/* --------------------------------------------------------- parameters --- */

#define MM_MR 8                 /* rows of a tile */
#define MM_NV 2                 /* vectors per row of a tile */
#define MM_NR(SUF) (MM_NV * MM_L_##SUF)
#define MM_PANEL_BYTES 32768    /* one packed panel of B: L1 */
#define MM_INPLACE_ROWS 128     /* at most this many rows read B in place */
#define MM_MC 256               /* rows of A per L2 block */
#define MM_KC(T, SUF) (MM_PANEL_BYTES / (int)sizeof(T) / MM_NR(SUF))

/* ------------------------------------------------------- micro-kernel --- */

/*
** c [rows, NR] (row stride ldc) = (load_c ? c : 0) + a [rows, kc] @
** pack [kc, NR], with op(A)(r,p) = a[r*a_rs + p*a_cs]. rows <= MM_MR is
** a constant in each instantiation, so the tile lives in registers.
*/
#define MM_KERNEL(T, SUF)                                                     \
    MM_INLINE void mm_kern_##SUF(const int rows, int64_t kc, const T *a,      \
                                 int64_t a_rs, int64_t a_cs,                  \
                                 const T *restrict pack, int64_t ldb, T *c,   \
                                 int64_t ldc, int load_c)                     \
    {                                                                         \
        enum { L = MM_L_##SUF };                                              \
        mmv_##SUF acc[MM_MR][MM_NV];                                          \
        MM_UNROLL_ALL                                                         \
        for (int r = 0; r < rows; r++)                                        \
            MM_UNROLL_ALL                                                     \
            for (int v = 0; v < MM_NV; v++)                                   \
                acc[r][v] = load_c ? mmv_load_##SUF(c + r * ldc + v * L)      \
                                   : mmv_zero_##SUF();                        \
        MM_UNROLL_K                                                           \
        for (int64_t p = 0; p < kc; p++) {                                    \
            mmv_##SUF bv[MM_NV];                                              \
            MM_UNROLL_ALL                                                     \
            for (int v = 0; v < MM_NV; v++)                                   \
                bv[v] = mmv_load_##SUF(pack + p * ldb + v * L);                  \
            MM_UNROLL_ALL                                                     \
            for (int r = 0; r < rows; r++) {                                  \
                mmv_##SUF x = mmv_bcast_##SUF(a + r * a_rs + p * a_cs);       \
                MM_UNROLL_ALL                                                 \
                for (int v = 0; v < MM_NV; v++)                               \
                    acc[r][v] = mmv_fma_##SUF(x, bv[v], acc[r][v]);           \
            }                                                                 \
        }                                                                     \
        MM_UNROLL_ALL                                                         \
        for (int r = 0; r < rows; r++)                                        \
            MM_UNROLL_ALL                                                     \
            for (int v = 0; v < MM_NV; v++)                                   \
                mmv_store_##SUF(c + r * ldc + v * L, acc[r][v]);              \
    }

/* The instantiations: ROWS rows, A row-major (stride a_cs = 1) or
   transposed (a_rs = 1), the unit stride made a constant. */
#define MM_KERN_INST(T, SUF, ROWS)                                            \
    static void mm_kern_r##ROWS##_##SUF(int64_t kc, const T *a, int64_t lda,  \
                                        const T *pack, int64_t ldb, T *c,     \
                                        int64_t ldc, int load_c)              \
    {                                                                         \
        mm_kern_##SUF(ROWS, kc, a, lda, 1, pack, ldb, c, ldc, load_c);        \
    }                                                                         \
    static void mm_kern_t##ROWS##_##SUF(int64_t kc, const T *a, int64_t lda,  \
                                        const T *pack, int64_t ldb, T *c,     \
                                        int64_t ldc, int load_c)              \
    {                                                                         \
        mm_kern_##SUF(ROWS, kc, a, 1, lda, pack, ldb, c, ldc, load_c);        \
    }

#define MM_KERN_TABLE(T, SUF)                                                 \
    typedef void (*mm_kern_fn_##SUF)(int64_t, const T *, int64_t, const T *,  \
                                     int64_t, T *, int64_t, int);                    \
    MM_KERN_INST(T, SUF, 1) MM_KERN_INST(T, SUF, 2) MM_KERN_INST(T, SUF, 3)   \
    MM_KERN_INST(T, SUF, 4) MM_KERN_INST(T, SUF, 5) MM_KERN_INST(T, SUF, 6)   \
    MM_KERN_INST(T, SUF, 7) MM_KERN_INST(T, SUF, 8)                           \
    /* [transposed A][rows - 1] */                                            \
    static const mm_kern_fn_##SUF mm_kerns_##SUF[2][MM_MR] = {                \
        {mm_kern_r1_##SUF, mm_kern_r2_##SUF, mm_kern_r3_##SUF,                \
         mm_kern_r4_##SUF, mm_kern_r5_##SUF, mm_kern_r6_##SUF,                \
         mm_kern_r7_##SUF, mm_kern_r8_##SUF},                                 \
        {mm_kern_t1_##SUF, mm_kern_t2_##SUF, mm_kern_t3_##SUF,                \
         mm_kern_t4_##SUF, mm_kern_t5_##SUF, mm_kern_t6_##SUF,                \
         mm_kern_t7_##SUF, mm_kern_t8_##SUF},                                 \
    };

/* ------------------------------------------------------------ packing --- */

/*
** pack [kc, NR] = op(B)[p, j] for p < kc, j < nr, zeros for nr <= j < NR;
** op(B)(p,j) = b[p*b_rs + j*b_cs] with b_cs == 1 (row-major) or b_rs == 1
** (transposed: columns of op(B) are contiguous).
*/
#define MM_PACK(T, SUF)                                                       \
    static void mm_pack_##SUF(const T *b, int64_t b_rs, int64_t b_cs,         \
                              int64_t kc, int64_t nr, T *restrict pack)       \
    {                                                                         \
        enum { L = MM_L_##SUF, NR = MM_NR(SUF) };                             \
        if (b_cs == 1 && nr == NR) {                                          \
            for (int64_t p = 0; p < kc; p++)                                  \
                MM_UNROLL_ALL                                                 \
                for (int v = 0; v < MM_NV; v++)                               \
                    mmv_store_##SUF(pack + p * NR + v * L,                    \
                                    mmv_load_##SUF(b + p * b_rs + v * L));    \
            return;                                                           \
        }                                                                     \
        if (b_cs != 1 && mm_pack_t_##SUF(b, b_cs, kc, nr, pack)) return;      \
        for (int64_t p = 0; p < kc; p++) {                                    \
            for (int64_t j = 0; j < nr; j++)                                  \
                pack[p * NR + j] = b[p * b_rs + j * b_cs];                    \
            for (int64_t j = nr; j < NR; j++) pack[p * NR + j] = 0;           \
        }                                                                     \
    }

#if defined(MM_AVX512)
/* Transposes 16 rows of 16 floats r[0..15] in place (r[i][j] -> r[j][i]). */
MM_INLINE void mm_tr16_f32(__m512 r[16])
{
    __m512 t[16];
    MM_UNROLL_ALL
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    MM_UNROLL_ALL
    for (int i = 0; i < 16; i += 4)
        for (int h = 0; h < 2; h++) {
            r[i + 2 * h] = _mm512_castpd_ps(_mm512_unpacklo_pd(
                _mm512_castps_pd(t[i + h]), _mm512_castps_pd(t[i + 2 + h])));
            r[i + 2 * h + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(
                _mm512_castps_pd(t[i + h]), _mm512_castps_pd(t[i + 2 + h])));
        }
    /* r[4g+c], 128-bit lane l: rows 4g..4g+3 of column 4l+c; gather lanes */
    MM_UNROLL_ALL
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
        t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xdd);
        t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
        t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xdd);
    }
    MM_UNROLL_ALL
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
        r[4 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0x88);
        r[12 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0xdd);
    }
}
#endif

#if defined(MM_AVX512)
/* Transposes 8 rows of 8 doubles r[0..7] in place. */
MM_INLINE void mm_tr8_f64(__m512d r[8])
{
    __m512d t[8], u[8];
    MM_UNROLL_ALL
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm512_unpacklo_pd(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_pd(r[i], r[i + 1]);
    }
    /* t[2g+h], 128-bit lane l: rows 2g, 2g+1 of column 2l+h */
    MM_UNROLL_ALL
    for (int h = 0; h < 2; h++) {
        u[h] = _mm512_shuffle_f64x2(t[h], t[2 + h], 0x88);
        u[2 + h] = _mm512_shuffle_f64x2(t[h], t[2 + h], 0xdd);
        u[4 + h] = _mm512_shuffle_f64x2(t[4 + h], t[6 + h], 0x88);
        u[6 + h] = _mm512_shuffle_f64x2(t[4 + h], t[6 + h], 0xdd);
    }
    MM_UNROLL_ALL
    for (int h = 0; h < 2; h++) {
        r[h] = _mm512_shuffle_f64x2(u[h], u[4 + h], 0x88);
        r[4 + h] = _mm512_shuffle_f64x2(u[h], u[4 + h], 0xdd);
        r[2 + h] = _mm512_shuffle_f64x2(u[2 + h], u[6 + h], 0x88);
        r[6 + h] = _mm512_shuffle_f64x2(u[2 + h], u[6 + h], 0xdd);
    }
}

/*
** Transposing pack (b_rs == 1: column j of op(B) is b + j*ldb), by
** square blocks of L x L transposed in registers; the columns past the
** last whole block and the last rows (p) one by one.
*/
#define MM_PACK_T(T, SUF, V, PS, TR)                                          \
    static int mm_pack_t_##SUF(const T *b, int64_t ldb, int64_t kc,           \
                               int64_t nr, T *restrict pack)                  \
    {                                                                         \
        enum { L = MM_L_##SUF, NR = MM_NR(SUF) };                             \
        const int64_t nb = nr / L * L;                                        \
        int64_t p = 0;                                                        \
        for (; p + L <= kc; p += L)                                           \
            for (int64_t j0 = 0; j0 < nb; j0 += L) {                          \
                V r[L];                                                       \
                MM_UNROLL_ALL                                                 \
                for (int j = 0; j < L; j++)                                   \
                    r[j] = _mm512_loadu_##PS(b + (j0 + j) * ldb + p);         \
                TR(r);                                                        \
                MM_UNROLL_ALL                                                 \
                for (int q = 0; q < L; q++)                                   \
                    _mm512_storeu_##PS(pack + (p + q) * NR + j0, r[q]);       \
            }                                                                 \
        for (int64_t q = 0; q < kc; q++) {                                    \
            for (int64_t j = q < p ? nb : 0; j < nr; j++)                     \
                pack[q * NR + j] = b[j * ldb + q];                            \
            for (int64_t j = nr; j < NR; j++) pack[q * NR + j] = 0;           \
        }                                                                     \
        return 1;                                                             \
    }
MM_PACK_T(float, f32, __m512, ps, mm_tr16_f32)
MM_PACK_T(double, f64, __m512d, pd, mm_tr8_f64)
#else
/* No fast transposing pack: the generic loop does it. */
static int mm_pack_t_f32(const float *b, int64_t ldb, int64_t kc, int64_t nr,
                         float *restrict pack)
{
    (void)b, (void)ldb, (void)kc, (void)nr, (void)pack;
    return 0;
}

static int mm_pack_t_f64(const double *b, int64_t ldb, int64_t kc, int64_t nr,
                         double *restrict pack)
{
    (void)b, (void)ldb, (void)kc, (void)nr, (void)pack;
    return 0;
}
#endif

/* ------------------------------------------------------ dot products --- */

/* MM_DW lanes per element; MM_DC columns at a time (what registers hold) */
#if defined(MM_AVX512)
enum { MM_DW = AGI_GEMM_DOT_LANES, MM_DC = 8 };
#else
enum { MM_DW = AGI_GEMM_DOT_LANES, MM_DC = 4 };
#endif

#if defined(MM_AVX512) || defined(MM_AVX2)
#define MM_FMA1_f32(x, y, z) fmaf(x, y, z)
#define MM_FMA1_f64(x, y, z) fma(x, y, z)
#else
#define MM_FMA1_f32(x, y, z) ((x) * (y) + (z))
#define MM_FMA1_f64(x, y, z) ((x) * (y) + (z))
#endif

/*
** s [cols][MM_DW] = the partial sums of a [k] . b [k] for cols <= MM_DC
** columns of op(B) (column c at b + c*ldb): lane l sums the p = l (mod
** MM_DW) terms in order, the whole blocks of MM_DW in vectors, the tail
** one by one.
*/
#define MM_DOT_COLS(T, SUF)                                                   \
    MM_INLINE void mm_dot_cols_##SUF(const int cols, int64_t k, const T *a,   \
                                     const T *b, int64_t ldb, T *s)           \
    {                                                                         \
        enum { L = MM_L_##SUF, DV = MM_DW / MM_L_##SUF };                     \
        mmv_##SUF acc[MM_DC][DV];                                             \
        MM_UNROLL_ALL                                                         \
        for (int c = 0; c < cols; c++)                                        \
            MM_UNROLL_ALL                                                     \
            for (int v = 0; v < DV; v++) acc[c][v] = mmv_zero_##SUF();        \
        int64_t p = 0;                                                        \
        for (; p + MM_DW <= k; p += MM_DW) {                                  \
            mmv_##SUF x[DV];                                                  \
            MM_UNROLL_ALL                                                     \
            for (int v = 0; v < DV; v++) x[v] = mmv_load_##SUF(a + p + v * L); \
            MM_UNROLL_ALL                                                     \
            for (int c = 0; c < cols; c++)                                    \
                MM_UNROLL_ALL                                                 \
                for (int v = 0; v < DV; v++)                                  \
                    acc[c][v] = mmv_fma_##SUF(                                \
                        x[v], mmv_load_##SUF(b + c * ldb + p + v * L), acc[c][v]); \
        }                                                                     \
        MM_UNROLL_ALL                                                         \
        for (int c = 0; c < cols; c++)                                        \
            MM_UNROLL_ALL                                                     \
            for (int v = 0; v < DV; v++) mmv_store_##SUF(s + c * MM_DW + v * L, acc[c][v]); \
        for (; p < k; p++)                                                    \
            for (int c = 0; c < cols; c++) {                                  \
                T *sl = s + c * MM_DW + p % MM_DW;                            \
                *sl = MM_FMA1_##SUF(a[p], b[c * ldb + p], *sl);               \
            }                                                                 \
    }

/*
** The part w of g by dot products (g->k > 0, a_cs == 1, b_rs == 1): the
** lanes of each element summed pairwise (l += l + 8, + 4, + 2, + 1), then
** C = that sum, or C + it.
*/
#define MM_DOT(T, SUF)                                                        \
    static void mm_dot_##SUF(const agi_gemm *g, const mm_part *w)             \
    {                                                                         \
        _Alignas(64) T s[MM_DC * MM_DW];                                      \
        for (int64_t q = w->q0; q < w->q1; q++) {                             \
            const T *a = (const T *)g->a + q * g->a_bs;                       \
            const T *b = (const T *)g->b + q * g->b_bs;                       \
            T *c = (T *)g->c + q * g->c_bs;                                   \
            const int fresh = !g->accumulate && (q == 0 || g->c_bs != 0);     \
            for (int64_t i = w->i0; i < w->i1; i++)                           \
                for (int64_t j = w->j0; j < w->j1; j += MM_DC) {              \
                    const int cols = w->j1 - j < MM_DC ? (int)(w->j1 - j) : MM_DC; \
                    const T *bj = b + j * g->b_cs;                            \
                    if (cols == MM_DC)                                        \
                        mm_dot_cols_##SUF(MM_DC, g->k, a + i * g->a_rs, bj, g->b_cs, s); \
                    else                                                      \
                        for (int e = 0; e < cols; e++)                        \
                            mm_dot_cols_##SUF(1, g->k, a + i * g->a_rs,       \
                                              bj + e * g->b_cs, 0, s + e * MM_DW); \
                    for (int e = 0; e < cols; e++) {                          \
                        T *se = s + e * MM_DW, *ce = c + i * g->ldc + j + e;  \
                        for (int h = MM_DW / 2; h > 0; h /= 2)                \
                            for (int l = 0; l < h; l++) se[l] = se[l] + se[l + h]; \
                        *ce = fresh ? se[0] : *ce + se[0];                    \
                    }                                                         \
                }                                                             \
        }                                                                     \
    }

/* ------------------------------------------------------------- driver --- */

/* A part of the work: products [q0, q1) and the block [i0,i1) x [j0,j1)
   of their C (i0, j0 multiples of MR and NR). */
typedef struct mm_part {
    int64_t q0, q1, i0, i1, j0, j1;
} mm_part;

/*
** C block of one product (rows i0.., cols jr.., nr <= NR wide) from one
** packed panel: whole tiles, a shorter tile at the bottom, and a narrow
** panel through a buffer.
*/
#define MM_PANEL(T, SUF)                                                      \
    static void mm_panel_##SUF(const T *a, int64_t a_rs, int64_t a_cs,        \
                               int64_t rows, int64_t kc, const T *pack,       \
                               int64_t ldb, T *c, int64_t ldc, int64_t nr,    \
                               int load_c)                                    \
    {                                                                         \
        enum { NR = MM_NR(SUF) };                                             \
        const int ta = a_rs == 1 && a_cs != 1;                                \
        const int64_t lda = ta ? a_cs : a_rs;                                 \
        _Alignas(64) T buf[MM_MR * NR];                                       \
        for (int64_t i = 0; i < rows; i += MM_MR) {                           \
            int mr = rows - i < MM_MR ? (int)(rows - i) : MM_MR;              \
            const T *ai = a + i * a_rs;                                       \
            T *ci = c + i * ldc;                                              \
            mm_kern_fn_##SUF kern = mm_kerns_##SUF[ta][mr - 1];               \
            if (nr == NR) {                                                   \
                kern(kc, ai, lda, pack, ldb, ci, ldc, load_c);                   \
                continue;                                                     \
            }                                                                 \
            if (load_c)                                                       \
                for (int r = 0; r < mr; r++)                                  \
                    memcpy(buf + r * NR, ci + r * ldc, (size_t)nr * sizeof(T)); \
            kern(kc, ai, lda, pack, ldb, buf, NR, load_c);                       \
            for (int r = 0; r < mr; r++)                                      \
                memcpy(ci + r * ldc, buf + r * NR, (size_t)nr * sizeof(T));   \
        }                                                                     \
    }

/* g runs as dot products (see the top of the file). */
#define MM_DOT_OK(g)                                                          \
    ((g)->m <= AGI_GEMM_DOT_ROWS && (g)->k > 0 && (g)->a_cs == 1 && (g)->b_rs == 1)

/* Runs one part of g (see mm_part). */
#define MM_REGION(T, SUF)                                                     \
    static void mm_region_##SUF(const agi_gemm *g, const mm_part *w)          \
    {                                                                         \
        enum { NR = MM_NR(SUF), KCMAX = MM_KC(T, SUF) };                      \
        _Alignas(64) T pack[KCMAX * NR];                                      \
        const int64_t nkb = (g->k + KCMAX - 1) / KCMAX;                       \
        const int64_t kcb = nkb ? (g->k + nkb - 1) / nkb : 0;                 \
        if (MM_DOT_OK(g)) {                                                   \
            mm_dot_##SUF(g, w);                                               \
            return;                                                           \
        }                                                                     \
        for (int64_t q = w->q0; q < w->q1; q++) {                             \
            const T *a = (const T *)g->a + q * g->a_bs;                       \
            const T *b = (const T *)g->b + q * g->b_bs;                       \
            T *c = (T *)g->c + q * g->c_bs;                                   \
            const int fresh = !g->accumulate && (q == 0 || g->c_bs != 0);     \
            if (g->k == 0 && fresh) mm_zero_##SUF(g, c, w);                   \
            for (int64_t p0 = 0; p0 < g->k; p0 += kcb) {                      \
                int64_t kc = g->k - p0 < kcb ? g->k - p0 : kcb;               \
                int load_c = !(fresh && p0 == 0);                             \
                for (int64_t i0 = w->i0; i0 < w->i1; i0 += MM_MC) {           \
                    int64_t rows = w->i1 - i0 < MM_MC ? w->i1 - i0 : MM_MC;   \
                    const T *ab = a + i0 * g->a_rs + p0 * g->a_cs;            \
                    for (int64_t j = w->j0; j < w->j1; j += NR) {             \
                        int64_t nr = w->j1 - j < NR ? w->j1 - j : NR;         \
                        const T *bp = b + p0 * g->b_rs + j * g->b_cs;         \
                        int64_t ldb = g->b_rs;                                \
                        if (g->b_cs != 1 || nr < NR || rows > MM_INPLACE_ROWS) { \
                            mm_pack_##SUF(bp, g->b_rs, g->b_cs, kc, nr, pack); \
                            bp = pack, ldb = NR;                              \
                        }                                                     \
                        mm_panel_##SUF(ab, g->a_rs, g->a_cs, rows, kc, bp,    \
                                       ldb, c + i0 * g->ldc + j, g->ldc, nr,  \
                                       load_c);                               \
                    }                                                         \
                }                                                             \
            }                                                                 \
        }                                                                     \
    }

/* C block = 0 (an empty inner dimension). */
#define MM_ZERO(T, SUF)                                                       \
    static void mm_zero_##SUF(const agi_gemm *g, T *c, const mm_part *w)      \
    {                                                                         \
        for (int64_t i = w->i0; i < w->i1; i++)                               \
            memset(c + i * g->ldc + w->j0, 0, (size_t)(w->j1 - w->j0) * sizeof(T)); \
    }

#define MM_ALL(T, SUF)                                                        \
    MM_KERNEL(T, SUF)                                                         \
    MM_KERN_TABLE(T, SUF)                                                     \
    MM_PACK(T, SUF)                                                           \
    MM_PANEL(T, SUF)                                                          \
    MM_ZERO(T, SUF)                                                           \
    MM_DOT_COLS(T, SUF)                                                       \
    MM_DOT(T, SUF)                                                            \
    MM_REGION(T, SUF)

MM_ALL(float, f32)
MM_ALL(double, f64)

/* ------------------------------------------------------------- splits --- */

const char *agi_gemm_isa(void) { return MM_ISA; }

int agi_gemm_fuses(void)
{
#if defined(MM_AVX512) || defined(MM_AVX2)
    return 1;
#else
    return 0;
#endif
}

static void mm_region(const agi_gemm *g, const mm_part *w)
{
    if (g->dtype == AG_F64)
        mm_region_f64(g, w);
    else
        mm_region_f32(g, w);
}

void agi_gemm_run_serial(const agi_gemm *g)
{
    mm_part w = {0, g->batch, 0, g->m, 0, g->n};
    if (g->m > 0 && g->n > 0) mm_region(g, &w);
}

/*
** Parallel split: the tasks are a grid of row blocks x column blocks of C
** (whole tiles, so the tiling of C is the same for any split) times the
** products when each has its own C. A task packs its own panels of B;
** column blocks come first so that a row of tasks shares no packing, row
** blocks for a weight's gradient (MM_ROWS_FIRST). Task numbers run along
** the other dimension first, and the pool gives each thread a contiguous
** range of them (threadpool.c): so a thread's share is a band of C along
** the first dimension (columns of x @ W^T: rows of W; rows of a weight's
** gradient), the same from call to call.
*/
typedef struct mm_split {
    const agi_gemm *g;
    int64_t nq, ni, nj;         /* tasks along products, rows, columns */
    int64_t bi, bj;             /* rows, columns per task */
    int rows_first;             /* task numbers run along columns first */
} mm_split;

static void mm_task(void *ctx, int64_t task)
{
    const mm_split *s = ctx;
    const agi_gemm *g = s->g;
    const int64_t tq = task / s->nj / s->ni, t = task % (s->nj * s->ni);
    const int64_t ti = s->rows_first ? t / s->nj : t % s->ni;
    const int64_t tj = s->rows_first ? t % s->nj : t / s->ni;
    mm_part w = {s->nq > 1 ? tq : 0, s->nq > 1 ? tq + 1 : g->batch,
                 ti * s->bi, (ti + 1) * s->bi < g->m ? (ti + 1) * s->bi : g->m,
                 tj * s->bj, (tj + 1) * s->bj < g->n ? (tj + 1) * s->bj : g->n};
    mm_region(g, &w);
}

/*
** Split C by rows first (else by columns: then a row of tasks shares no
** packing) for A^T @ B with B row-major and shallow (a weight's gradient,
** x^T @ dy: B is read in place, so rows cost no packing): each task then
** writes whole rows of C, the contiguous ranges an optimizer's split of
** the same parameter gives the same thread (threadpool.c).
*/
#define MM_ROWS_FIRST(g)                                                      \
    ((g)->a_rs == 1 && (g)->a_cs != 1 && (g)->b_cs == 1 && (g)->k <= MM_INPLACE_ROWS)

/* Below this many multiply-adds a product runs on the calling thread. */
#define MM_PAR_MIN_FMAS (1 << 19)

static int64_t mm_ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }

void agi_gemm_run(const agi_gemm *g)
{
    if (g->m <= 0 || g->n <= 0) return;
    const int64_t nr = g->dtype == AG_F64 ? MM_NR(f64) : MM_NR(f32);
    /* multiply-adds (INT64_MAX when they overflow: m, n, k and batch each
       fit, their product need not) */
    int64_t work = agi_mul(agi_mul(agi_mul(g->m, g->n), g->k > 0 ? g->k : 1), g->batch);
    if (work < 0) work = INT64_MAX;
    int threads = agi_threads_available();
    if (threads <= 1 || work < MM_PAR_MIN_FMAS) {
        agi_gemm_run_serial(g);
        return;
    }
    /* about 4 tasks per thread, each at least MM_PAR_MIN_FMAS / 2 */
    int64_t want = 4 * (int64_t)threads, max_tasks = work / (MM_PAR_MIN_FMAS / 2);
    if (want > max_tasks) want = max_tasks;
    mm_split s = {g, g->c_bs != 0 ? g->batch : 1, 1, 1, g->m, g->n, MM_ROWS_FIRST(g)};
    int64_t rest = mm_ceil_div(want, s.nq);
    int64_t col_tiles = mm_ceil_div(g->n, nr), row_tiles = mm_ceil_div(g->m, MM_MR);
    if (s.rows_first) {
        s.ni = rest < row_tiles ? rest : row_tiles;
        rest = mm_ceil_div(rest, s.ni);
        s.nj = rest < col_tiles ? rest : col_tiles;
    } else {
        s.nj = rest < col_tiles ? rest : col_tiles;
        rest = mm_ceil_div(rest, s.nj);
        s.ni = rest < row_tiles ? rest : row_tiles;
    }
    s.bj = mm_ceil_div(col_tiles, s.nj) * nr;
    s.bi = mm_ceil_div(row_tiles, s.ni) * MM_MR;
    s.nj = mm_ceil_div(g->n, s.bj);
    s.ni = mm_ceil_div(g->m, s.bi);
    agi_parallel_for(s.nq * s.ni * s.nj, mm_task, &s);
}
