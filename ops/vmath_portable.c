/*
** vmath_portable.c: the portable path of the vector math (ag_vmath.h):
** the kernels of vmath_kernels_internal.h on one lane, in plain C11 for
** any CPU (the compiler may vectorize its loops for the build's target).
** A fused multiply-add is written as a multiply and an add (fma() would
** be a slow library call on a CPU without one), and a "mask" is a 0/1
** int, so the results may differ from the SIMD paths' in the last bit
** while keeping the same documented bounds. Integer lanes are unsigned:
** their wrap-around is defined, as the SIMD lanes' is.
*/
#include "vmath_internal.h"

#include <string.h>

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF        /* a*b + c stays two roundings */
#endif

#define VM_TGT
#define VM_FN static inline
#define VM_TABLE agi_vmath_portable
#define VM_NAME "portable"
#define VF_N 1
#define VD_N 1
#define VM_UNROLL 16

typedef float vf;
typedef uint32_t vi;
typedef int fm;
typedef double vd;
typedef uint64_t vl;
typedef int dm;

/* ------------------------------------------------------------ f32 --- */
VM_FN vf f_set(float a) { return a; }
VM_FN vf f_load(const float *p) { return *p; }
VM_FN void f_store(float *p, vf a) { *p = a; }
VM_FN vf f_add(vf a, vf b) { return a + b; }
VM_FN vf f_sub(vf a, vf b) { return a - b; }
VM_FN vf f_mul(vf a, vf b) { return a * b; }
VM_FN vf f_div(vf a, vf b) { return a / b; }
VM_FN vf f_fma(vf a, vf b, vf c) { return a * b + c; }
VM_FN vf f_fnma(vf a, vf b, vf c) { return c - a * b; }
VM_FN vf f_min(vf a, vf b) { return a < b ? a : b; }        /* minps: b on NaN */
VM_FN vf f_max(vf a, vf b) { return a > b ? a : b; }        /* maxps: b on NaN */
VM_FN vi f_bits(vf a) { vi r; memcpy(&r, &a, sizeof r); return r; }
VM_FN vf f_from(vi a) { vf r; memcpy(&r, &a, sizeof r); return r; }
VM_FN vf f_cvt(vi a) { return (float)(int32_t)a; }
VM_FN vi i_set(uint32_t a) { return a; }
VM_FN vi i_add(vi a, vi b) { return a + b; }
VM_FN vi i_sub(vi a, vi b) { return a - b; }
VM_FN vi i_and(vi a, vi b) { return a & b; }
VM_FN vi i_or(vi a, vi b) { return a | b; }
#define i_sll(a, k) ((vi)((a) << (k)))
#define i_srl(a, k) ((vi)((a) >> (k)))
VM_FN fm f_lt(vf a, vf b) { return a < b; }
VM_FN fm f_gt(vf a, vf b) { return a > b; }
VM_FN fm f_ge(vf a, vf b) { return a >= b; }
VM_FN fm f_eq(vf a, vf b) { return a == b; }
VM_FN fm f_nan(vf a) { return a != a; }
VM_FN fm fm_and(fm a, fm b) { return a & b; }
VM_FN fm fm_or(fm a, fm b) { return a | b; }
VM_FN fm fm_not(fm a) { return !a; }
#define fm_some(m) ((void)(m), 1)     /* no branch: the work is done always */
VM_FN vf f_sel(fm m, vf a, vf b) { return m ? a : b; }

/* ------------------------------------------------------------ f64 --- */
VM_FN vd d_set(double a) { return a; }
VM_FN vd d_load(const double *p) { return *p; }
VM_FN void d_store(double *p, vd a) { *p = a; }
VM_FN vd d_add(vd a, vd b) { return a + b; }
VM_FN vd d_sub(vd a, vd b) { return a - b; }
VM_FN vd d_mul(vd a, vd b) { return a * b; }
VM_FN vd d_div(vd a, vd b) { return a / b; }
VM_FN vd d_fma(vd a, vd b, vd c) { return a * b + c; }
VM_FN vd d_fnma(vd a, vd b, vd c) { return c - a * b; }
VM_FN vd d_min(vd a, vd b) { return a < b ? a : b; }
VM_FN vd d_max(vd a, vd b) { return a > b ? a : b; }
VM_FN vl d_bits(vd a) { vl r; memcpy(&r, &a, sizeof r); return r; }
VM_FN vd d_from(vl a) { vd r; memcpy(&r, &a, sizeof r); return r; }
VM_FN vl l_set(uint64_t a) { return a; }
VM_FN vl l_add(vl a, vl b) { return a + b; }
VM_FN vl l_sub(vl a, vl b) { return a - b; }
VM_FN vl l_and(vl a, vl b) { return a & b; }
VM_FN vl l_or(vl a, vl b) { return a | b; }
VM_FN vl l_xor(vl a, vl b) { return a ^ b; }
#define l_sll(a, k) ((vl)((a) << (k)))
#define l_srl(a, k) ((vl)((a) >> (k)))
VM_FN dm d_lt(vd a, vd b) { return a < b; }
VM_FN dm d_le(vd a, vd b) { return a <= b; }
VM_FN dm d_gt(vd a, vd b) { return a > b; }
VM_FN dm d_ge(vd a, vd b) { return a >= b; }
VM_FN dm d_eq(vd a, vd b) { return a == b; }
VM_FN dm d_nan(vd a) { return a != a; }
VM_FN dm l_nz(vl a) { return a != 0; }
VM_FN dm dm_and(dm a, dm b) { return a & b; }
VM_FN dm dm_or(dm a, dm b) { return a | b; }
VM_FN dm dm_not(dm a) { return !a; }
VM_FN int dm_any(dm a) { return a; }
#define dm_some(m) ((void)(m), 1)
VM_FN vd d_sel(dm m, vd a, vd b) { return m ? a : b; }

/* The exact a*b - p for p = a*b rounded, without a fused multiply-add:
   Dekker's product of Veltkamp's halves (|a|, |b| below 2^995). */
VM_FN vd d_prod_err(vd a, vd b, vd p)
{
    const double c = 134217729.0;               /* 2^27 + 1 */
    double ca = c * a, cb = c * b;
    double ah = ca - (ca - a), al = a - ah;
    double bh = cb - (cb - b), bl = b - bh;
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

#include "vmath_kernels_internal.h"
