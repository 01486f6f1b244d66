/*
** lookup.c: bytes to floats through a 256-entry table (ag_vlookup_u8_*,
** ag_vmath.h), a version per instruction set behind the one choice of
** isa_internal.h. Every version reads table[x[i]] exactly, so all give
** the same bits.
**
** AVX-512 (f32): the table lives in 16 registers; each group of 16 bytes
** is looked up in eight 32-entry pairs (vpermi2ps on the low 5 bits of
** each byte) and the result picked by its top 3 bits (three rounds of
** blends): an epoch of Fashion-MNIST's batches in order, 11 ms against
** the loop's 15 to 20 (one thread, loaded machine). Elsewhere, and for
** f64 (a 256-double table fills 32 registers), the plain loop: the
** hardware gather (AVX2, AVX-512) measured slower than it on this
** project's AMD Zen 5 (24-28 ms).
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

/* The 16 entries table[idx] (each 0..255) of the table in t[16]: eight
   32-entry lookups, then three rounds of blends on bits 5, 6 and 7
   (written out: as loops over arrays, gcc -O2 keeps them in memory). */
#define LK_PAIR(k) _mm512_permutex2var_ps(t[2 * (k)], idx, t[2 * (k) + 1])
#define LK_BIT(b) _mm512_test_epi32_mask(idx, _mm512_set1_epi32(b))
LK_AVX512 static inline __m512 lookup16(const __m512 *t, __m512i idx)
{
    const __mmask16 b5 = LK_BIT(32), b6 = LK_BIT(64), b7 = LK_BIT(128);
    const __m512 p01 = _mm512_mask_blend_ps(b5, LK_PAIR(0), LK_PAIR(1));
    const __m512 p23 = _mm512_mask_blend_ps(b5, LK_PAIR(2), LK_PAIR(3));
    const __m512 p45 = _mm512_mask_blend_ps(b5, LK_PAIR(4), LK_PAIR(5));
    const __m512 p67 = _mm512_mask_blend_ps(b5, LK_PAIR(6), LK_PAIR(7));
    return _mm512_mask_blend_ps(b7, _mm512_mask_blend_ps(b6, p01, p23),
                                _mm512_mask_blend_ps(b6, p45, p67));
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

#endif

void ag_vlookup_u8_f32(float *y, const uint8_t *x, int64_t n, const float table[256])
{
    if (n <= 0) return;
#if defined(AGI_ISA_X86)
    if (agi_isa() == AGI_ISA_AVX512)
        lookup_f32_avx512(y, x, n, table);
    else
#endif
        lookup_f32_loop(y, x, n, table);
}

void ag_vlookup_u8_f64(double *y, const uint8_t *x, int64_t n, const double table[256])
{
    if (n > 0) lookup_f64_loop(y, x, n, table);
}
