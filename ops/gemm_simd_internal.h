/*
** gemm_simd_internal.h: the vectors of the GEMM template
** (gemm_body_internal.h), for the instruction set GEMM_ISA of the file
** that includes it: one SIMD register of T (mmv_*), and transposes of
** square blocks in registers for packing a transposed B.
**
** Vectors. A thin layer (mmv_*) maps one SIMD register of T to AVX-512,
** AVX2 + FMA, 16-byte GCC vectors (the portable path of any GNU C
** compiler) or plain scalars (the portable path of any C11 compiler, or
** with -DAGI_MM_SCALAR, which tests it). AVX-512 and AVX2 fuse every
** multiply-add (fma); the portable path never does (multiply, round,
** add, round: the file is compiled with contraction off), so the two
** FMA paths give the same bits and the portable one its own.
*/
#ifndef AG_GEMM_SIMD_INTERNAL_H
#define AG_GEMM_SIMD_INTERNAL_H

#include "gemm_isa_internal.h"

#include <string.h>

#if GEMM_ISA == GEMM_ISA_PORTABLE && (defined(AGI_MM_SCALAR) || !defined(__GNUC__))
#define MM_SCALAR 1
#elif GEMM_ISA == GEMM_ISA_PORTABLE
#define MM_GNU_VECTOR 1
#endif

#if GEMM_ISA != GEMM_ISA_PORTABLE
#include <immintrin.h>
#endif

/* ------------------------------------------------------------ vectors --- */

#if GEMM_ISA == GEMM_ISA_AVX512
#define MM_NAME "avx512"
#define MM_IMPL agi_gemm_impl_avx512
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
#elif GEMM_ISA == GEMM_ISA_AVX2
#define MM_NAME "avx2"
#define MM_IMPL agi_gemm_impl_avx2
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
#define MM_NAME "portable"
#define MM_IMPL agi_gemm_impl_portable
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
#define MM_NAME "portable"
#define MM_IMPL agi_gemm_impl_portable
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

/* ---------------------------------------------------------- transposes --- */

#if GEMM_ISA == GEMM_ISA_AVX512
/* Transposes 16 rows of 16 floats r[0..15] in place (r[i][j] -> r[j][i]). */
MM_INLINE void mm_tr_f32(__m512 r[16])
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

/* Transposes 8 rows of 8 doubles r[0..7] in place. */
MM_INLINE void mm_tr_f64(__m512d r[8])
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
#elif GEMM_ISA == GEMM_ISA_AVX2
/* Transposes 8 rows of 8 floats r[0..7] in place. */
MM_INLINE void mm_tr_f32(__m256 r[8])
{
    __m256 t[8];
    MM_UNROLL_ALL
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    MM_UNROLL_ALL
    for (int i = 0; i < 8; i += 4)
        for (int h = 0; h < 2; h++) {
            r[i + 2 * h] = _mm256_castpd_ps(_mm256_unpacklo_pd(
                _mm256_castps_pd(t[i + h]), _mm256_castps_pd(t[i + 2 + h])));
            r[i + 2 * h + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(
                _mm256_castps_pd(t[i + h]), _mm256_castps_pd(t[i + 2 + h])));
        }
    /* r[4g+c], 128-bit lane l: rows 4g..4g+3 of column 4l+c */
    MM_UNROLL_ALL
    for (int i = 0; i < 4; i++) {
        t[i] = _mm256_permute2f128_ps(r[i], r[4 + i], 0x20);
        t[4 + i] = _mm256_permute2f128_ps(r[i], r[4 + i], 0x31);
    }
    MM_UNROLL_ALL
    for (int i = 0; i < 8; i++) r[i] = t[i];
}

/* Transposes 4 rows of 4 doubles r[0..3] in place. */
MM_INLINE void mm_tr_f64(__m256d r[4])
{
    __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}
#endif

#endif
