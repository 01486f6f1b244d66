/*
** safetensors_convert.c: the dtype conversions of loading (see
** ag_safetensors.h), as PyTorch's load_state_dict copies convert: a
** file tensor of BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16,
** F32 or F64 into an F32 or F64 destination. Floats are rounded to the
** nearest (F64 to F32 as a C cast: out of range gives +-inf, as PyTorch);
** integers must be held exactly: a magnitude beyond 2^24 (F32) or 2^53
** (F64) is refused before anything is written. The F8 types and C64 are
** not converted. Elements are read byte by byte, little-endian, so the
** host's byte order does not matter.
*/
#include "safetensors_util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef enum { K_NONE, K_BOOL, K_UINT, K_SINT, K_F16, K_BF16, K_F32, K_F64 } kind;

static kind kind_of(int dt)
{
    const char *n = agi_st_dtypes[dt].name;
    if (!strcmp(n, "BOOL")) return K_BOOL;
    if (n[0] == 'U') return K_UINT;
    if (n[0] == 'I') return K_SINT;
    if (!strcmp(n, "F16")) return K_F16;
    if (!strcmp(n, "BF16")) return K_BF16;
    if (!strcmp(n, "F32")) return K_F32;
    if (!strcmp(n, "F64")) return K_F64;
    return K_NONE;                                   /* F8_*, C64 */
}

int agi_st_converts(int dt) { return dt >= 0 && kind_of(dt) != K_NONE; }

/* The little-endian unsigned integer of size bytes at p. */
static uint64_t load_le(const unsigned char *p, int size)
{
    uint64_t u = 0;
    for (int b = size - 1; b >= 0; b--) u = u << 8 | p[b];
    return u;
}

/* An IEEE half's value (exact in a double). */
static double half_value(uint64_t h)
{
    int e = (int)(h >> 10 & 0x1f);
    double m = (double)(h & 0x3ff), v;
    if (e == 0) v = ldexp(m, -24);                          /* subnormal or zero */
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexp(m + 1024, e - 25);
    return h >> 15 ? -v : v;
}

/* Element i of a file tensor of dtype dt, as a double; integers also as
   *whole (exactly), with *neg for a negative one. */
static double element(int dt, kind k, const unsigned char *src, int64_t i, uint64_t *mag, int *neg)
{
    int size = agi_st_dtypes[dt].size;
    uint64_t u = load_le(src + i * size, size);
    *neg = 0;
    if (k == K_BOOL) return (double)(*mag = u != 0);
    if (k == K_UINT) return (double)(*mag = u);
    if (k == K_SINT) {
        int shift = 64 - 8 * size;
        int64_t v = (int64_t)(u << shift) >> shift;       /* sign-extended */
        *neg = v < 0;
        *mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
        return (double)v;
    }
    if (k == K_F16) return half_value(u);
    if (k == K_F32 || k == K_BF16) {
        uint32_t b32 = k == K_BF16 ? (uint32_t)u << 16 : (uint32_t)u;
        float f;
        memcpy(&f, &b32, sizeof f);
        return f;
    }
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

int agi_st_first_inexact(int dt, const unsigned char *src, int64_t n, ag_dtype to, int64_t *at,
                         char *val, size_t len)
{
    kind k = kind_of(dt);
    if (k != K_UINT && k != K_SINT) return 0;
    uint64_t limit = to == AG_F64 ? (uint64_t)1 << 53 : (uint64_t)1 << 24, mag;
    int neg;
    for (int64_t i = 0; i < n; i++) {
        element(dt, k, src, i, &mag, &neg);
        if (mag > limit) {
            *at = i;
            snprintf(val, len, "%s%llu", neg ? "-" : "", (unsigned long long)mag);
            return 1;
        }
    }
    return 0;
}

void agi_st_convert(int dt, const unsigned char *src, int64_t n, ag_dtype to, void *dst)
{
    kind k = kind_of(dt);
    uint64_t mag;
    int neg;
    for (int64_t i = 0; i < n; i++) {
        double v = element(dt, k, src, i, &mag, &neg);
        if (to == AG_F64) ((double *)dst)[i] = v;
        else ((float *)dst)[i] = (float)v;
    }
}
