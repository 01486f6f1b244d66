/*
** vmath.c: the vector math's dispatch and public functions (ag_vmath.h).
** The paths themselves are vmath_avx512.c, vmath_avx2.c and
** vmath_portable.c; this file runs the one isa.c chose (CPUID, AG_KERNEL),
** and holds the one scalar piece they share: the Payne-Hanek reduction
** of a huge sin/cos argument.
*/
#include "ag_vmath.h"
#include "vmath_coef_internal.h"
#include "vmath_internal.h"

#include <stdlib.h>
#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF        /* Dekker's products stay as written */
#endif

/* ------------------------------------------------------------ dispatch --- */

/* The table of each path (isa_internal.h). */
static const agi_vmath_fns *const vm_paths[AGI_ISA_COUNT] = {
#ifdef AGI_VMATH_X86
    &agi_vmath_portable, &agi_vmath_avx2, &agi_vmath_avx512,
#else
    &agi_vmath_portable, &agi_vmath_portable, &agi_vmath_portable,
#endif
};

int agi_vmath_supported(const agi_vmath_fns *p)
{
    for (int i = 0; i < AGI_ISA_COUNT; i++)
        if (vm_paths[i] == p) return agi_isa_supported(i);
    return 0;
}

const agi_vmath_fns *agi_vmath_choose(const char *env) { return vm_paths[agi_isa_choose(env)]; }

const agi_vmath_fns *agi_vm(void) { return vm_paths[agi_isa()]; }

const char *ag_vmath_path(void) { return agi_vm()->name; }

/* ------------------------------------------------------ public functions --- */

#define PUBLIC_UNARY(f)                                                   \
    void ag_v##f##_f32(float *y, const float *x, int64_t n)               \
    {                                                                     \
        if (n > 0) agi_vm()->f##_f32(y, x, n);                            \
    }                                                                     \
    void ag_v##f##_f64(double *y, const double *x, int64_t n)             \
    {                                                                     \
        if (n > 0) agi_vm()->f##_f64(y, x, n);                            \
    }
AGI_VMATH_UNARY(PUBLIC_UNARY)

void ag_velu_f32(float *y, const float *x, int64_t n, float alpha)
{
    if (n > 0) agi_vm()->elu_f32(y, x, n, alpha);
}

void ag_velu_f64(double *y, const double *x, int64_t n, double alpha)
{
    if (n > 0) agi_vm()->elu_f64(y, x, n, alpha);
}

void ag_vpow_f32(float *y, const float *x, const float *p, int64_t n)
{
    if (n > 0) agi_vm()->pow_f32(y, x, p, n);
}

void ag_vpow_f64(double *y, const double *x, const double *p, int64_t n)
{
    if (n > 0) agi_vm()->pow_f64(y, x, p, n);
}

void ag_vpow_scalar_f32(float *y, const float *x, float p, int64_t n)
{
    if (n > 0) agi_vm()->pow_scalar_f32(y, x, p, n);
}

void ag_vpow_scalar_f64(double *y, const double *x, double p, int64_t n)
{
    if (n > 0) agi_vm()->pow_scalar_f64(y, x, p, n);
}

/* ------------------------------------------------------- Payne-Hanek --- */

__extension__ typedef unsigned __int128 u128;

/* 64 bits of 2/pi from bit `from` on (bit 0 is the first after the point). */
static uint64_t two_over_pi_bits(int from)
{
    const int w = from / 64, s = from % 64;
    const uint64_t *t = AGI_VM_TWO_OVER_PI_BITS;
    return s ? (t[w] << s) | (t[w + 1] >> (64 - s)) : t[w];
}

/* 64 bits of the 256-bit p[4] (p[0] least significant) from bit `at` up. */
static uint64_t bits_at(const uint64_t *p, int at)
{
    const int w = at / 64, s = at % 64;
    uint64_t lo = p[w] >> s;
    return s && w < 3 ? lo | (p[w + 1] << (64 - s)) : lo;
}

/* a * b = hi + *lo exactly (Dekker, no fused multiply-add needed). */
static double two_prod(double a, double b, double *lo)
{
    const double c = 134217729.0;
    double p = a * b, ca = c * a, cb = c * b;
    double ah = ca - (ca - a), al = a - ah, bh = cb - (cb - b), bl = b - bh;
    *lo = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
    return p;
}

/* The unsigned 128-bit fraction f (of 2^128) as a double-double. */
static double fraction_dd(u128 f, double *lo)
{
    int lz = 0;
    while (lz < 127 && !(f >> (127 - lz))) lz++;
    f <<= lz;                                       /* leading 1 at bit 127 */
    double scale = 1;
    for (int i = 0; i < lz; i++) scale *= 0.5;      /* exact */
    double hi = (double)(uint64_t)(f >> 75) * 0x1p-53 * scale;
    *lo = (double)(uint64_t)((f >> 22) & ((1ull << 53) - 1)) * 0x1p-106 * scale;
    return hi;
}

/*
** x = m 2^e, m < 2^53. Bits i of 2/pi (from 1) with e - i >= 2 add
** multiples of 4 to x 2/pi, so the product starts at bit i0 = max(1, e-1):
** m times 192 bits of 2/pi is a 245-bit integer P with x 2/pi = P 2^-sh
** (mod 4), sh = i0 + 191 - e; its bits above sh give n mod 4, the next 128
** below the fraction. The fraction beyond 1/2 rounds n up; r = f pi/2.
*/
int agi_vm_rem_pio2(double x, double *r_hi, double *r_lo)
{
    uint64_t ix;
    memcpy(&ix, &x, sizeof ix);
    const int neg = (int)(ix >> 63), ex = (int)((ix >> 52) & 0x7ff);
    const uint64_t m = (ix & ((1ull << 52) - 1)) | (1ull << 52);
    const int e = ex - 1075, i0 = e - 1 > 1 ? e - 1 : 1, sh = i0 + 191 - e;
    const uint64_t w0 = two_over_pi_bits(i0 - 1), w1 = two_over_pi_bits(i0 + 63),
                   w2 = two_over_pi_bits(i0 + 127);
    uint64_t p[4];
    u128 t = (u128)m * w2;
    p[0] = (uint64_t)t;
    t = (u128)m * w1 + (t >> 64);
    p[1] = (uint64_t)t;
    t = (u128)m * w0 + (t >> 64);
    p[2] = (uint64_t)t;
    p[3] = (uint64_t)(t >> 64);
    int n = (int)(bits_at(p, sh) & 3);
    u128 f = ((u128)bits_at(p, sh - 64) << 64) | bits_at(p, sh - 128);
    int fneg = (int)(f >> 127);
    if (fneg) {                                     /* f >= 1/2: f - 1 */
        f = ~f + 1;
        n = (n + 1) & 3;
    }
    double flo, fhi = fraction_dd(f, &flo), plo;
    double hi = two_prod(fhi, AGI_VM_PIO2_DD_1, &plo);
    plo += fhi * AGI_VM_PIO2_DD_2 + flo * AGI_VM_PIO2_DD_1;
    double r = hi + plo;
    *r_lo = plo - (r - hi);
    *r_hi = fneg != neg ? -r : r;
    if (fneg != neg) *r_lo = -*r_lo;
    return neg ? (4 - n) & 3 : n;
}
