/*
** lookup.c: bytes to floats through a 256-entry table (ag_vlookup_u8_*,
** ag_vmath.h), a version per instruction set behind the one choice of
** isa_internal.h. Every version reads table[x[i]] exactly, so all give
** the same bits.
**
** AVX-512 (f32): the table lives in 16 registers; each group of 16 bytes
** is looked up in eight 32-entry pairs (vpermi2ps on the low 5 bits of
** each byte) and the result picked by its top 3 bits (three rounds of
** blends), about 3x the scalar loop's speed. f64 (a 256-double table
** fills 32 registers) and AVX2 use the hardware gather instead.
*/
#include "ag_vmath.h"
#include "isa_internal.h"

#include <string.h>
#if defined(AGI_ISA_X86)
#include <immintrin.h>
#endif

/* y[i] = table[x[i]]: the portable loop, and every version's tail. */
static void lookup_f32_loop(float *y, const uint8_t *x, int64_t n, const float *table)
{
    for (int64_t i = 0; i < n; i++) y[i] = table[x[i]];
}

static void lookup_f64_loop(double *y, const uint8_t *x, int64_t n, const double *table)
{
    for (int64_t i = 0; i < n; i++) y[i] = table[x[i]];
}

#if defined(AGI_ISA_X86)
#define LK_AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma")))
#define LK_AVX2 __attribute__((target("avx2,fma")))

/* The 16 entries table[idx] (each 0..255) from the table in t[16]. */
LK_AVX512 static inline __m512 lookup16(const __m512 *t, __m512i idx)
{
    __m512 p[8];
    for (int k = 0; k < 8; k++) p[k] = _mm512_permutex2var_ps(t[2 * k], idx, t[2 * k + 1]);
    for (int bit = 32, half = 4; half >= 1; bit *= 2, half /= 2) {
        const __mmask16 m = _mm512_test_epi32_mask(idx, _mm512_set1_epi32(bit));
        for (int k = 0; k < half; k++) p[k] = _mm512_mask_blend_ps(m, p[2 * k], p[2 * k + 1]);
    }
    return p[0];
}

LK_AVX512 static void lookup_f32_avx512(float *y, const uint8_t *x, int64_t n,
                                        const float *table)
{
    __m512 t[16];
    for (int k = 0; k < 16; k++) t[k] = _mm512_loadu_ps(table + 16 * k);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm512_storeu_ps(y + i, lookup16(t, idx));
    }
    if (i < n) {                    /* the tail: its bytes copied, a masked store */
        uint8_t tail[16] = {0};
        memcpy(tail, x + i, (size_t)(n - i));
        const __m512i idx = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)tail));
        _mm512_mask_storeu_ps(y + i, (__mmask16)((1u << (n - i)) - 1), lookup16(t, idx));
    }
}

LK_AVX512 static void lookup_f64_avx512(double *y, const uint8_t *x, int64_t n,
                                        const double *table)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(x + i)));
        _mm512_storeu_pd(y + i, _mm512_i32gather_pd(idx, table, 8));
    }
    lookup_f64_loop(y + i, x + i, n - i, table);
}

LK_AVX2 static void lookup_f32_avx2(float *y, const uint8_t *x, int64_t n, const float *table)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i idx = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_i32gather_ps(table, idx, 4));
    }
    lookup_f32_loop(y + i, x + i, n - i, table);
}

LK_AVX2 static void lookup_f64_avx2(double *y, const uint8_t *x, int64_t n, const double *table)
{
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        int32_t four;
        memcpy(&four, x + i, sizeof four);
        const __m128i idx = _mm_cvtepu8_epi32(_mm_cvtsi32_si128(four));
        _mm256_storeu_pd(y + i, _mm256_i32gather_pd(table, idx, 8));
    }
    lookup_f64_loop(y + i, x + i, n - i, table);
}
#endif

void ag_vlookup_u8_f32(float *y, const uint8_t *x, int64_t n, const float table[256])
{
    if (n <= 0) return;
#if defined(AGI_ISA_X86)
    const int isa = agi_isa();
    if (isa == AGI_ISA_AVX512)
        lookup_f32_avx512(y, x, n, table);
    else if (isa == AGI_ISA_AVX2)
        lookup_f32_avx2(y, x, n, table);
    else
#endif
        lookup_f32_loop(y, x, n, table);
}

void ag_vlookup_u8_f64(double *y, const uint8_t *x, int64_t n, const double table[256])
{
    if (n <= 0) return;
#if defined(AGI_ISA_X86)
    const int isa = agi_isa();
    if (isa == AGI_ISA_AVX512)
        lookup_f64_avx512(y, x, n, table);
    else if (isa == AGI_ISA_AVX2)
        lookup_f64_avx2(y, x, n, table);
    else
#endif
        lookup_f64_loop(y, x, n, table);
}
