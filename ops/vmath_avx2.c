/*
** vmath_avx2.c: the AVX2 + FMA path of the vector math (ag_vmath.h): 8
** f32 or 4 f64 lanes, masks held as vectors of all-ones lanes. Compiled
** for its target by function attributes (vmath.c calls it only on a CPU
** with AVX2 and FMA); the kernels are vmath_kernels_internal.h's, so the
** results are bit for bit the AVX-512 path's.
*/
#include "vmath_internal.h"

#ifdef AGI_VMATH_X86
#include <immintrin.h>

#define VM_TGT __attribute__((target("avx2,fma")))
#define VM_FN static inline VM_TGT
#define VM_TABLE agi_vmath_avx2
#define VM_NAME "avx2"
#define VF_N 8
#define VD_N 4
#define VM_UNROLL 1

typedef __m256 vf;
typedef __m256i vi;
typedef __m256 fm;
typedef __m256d vd;
typedef __m256i vl;
typedef __m256d dm;

/* ------------------------------------------------------------ f32 --- */
VM_FN vf f_set(float a) { return _mm256_set1_ps(a); }
VM_FN vf f_load(const float *p) { return _mm256_loadu_ps(p); }
VM_FN void f_store(float *p, vf a) { _mm256_storeu_ps(p, a); }
VM_FN vf f_add(vf a, vf b) { return _mm256_add_ps(a, b); }
VM_FN vf f_sub(vf a, vf b) { return _mm256_sub_ps(a, b); }
VM_FN vf f_mul(vf a, vf b) { return _mm256_mul_ps(a, b); }
VM_FN vf f_div(vf a, vf b) { return _mm256_div_ps(a, b); }
VM_FN vf f_fma(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
VM_FN vf f_fnma(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
VM_FN vf f_min(vf a, vf b) { return _mm256_min_ps(a, b); }
VM_FN vf f_max(vf a, vf b) { return _mm256_max_ps(a, b); }
VM_FN vi f_bits(vf a) { return _mm256_castps_si256(a); }
VM_FN vf f_from(vi a) { return _mm256_castsi256_ps(a); }
VM_FN vf f_cvt(vi a) { return _mm256_cvtepi32_ps(a); }
VM_FN vi i_set(uint32_t a) { return _mm256_set1_epi32((int)a); }
VM_FN vi i_add(vi a, vi b) { return _mm256_add_epi32(a, b); }
VM_FN vi i_sub(vi a, vi b) { return _mm256_sub_epi32(a, b); }
VM_FN vi i_and(vi a, vi b) { return _mm256_and_si256(a, b); }
VM_FN vi i_or(vi a, vi b) { return _mm256_or_si256(a, b); }
#define i_sll(a, k) _mm256_slli_epi32((a), (k))
#define i_srl(a, k) _mm256_srli_epi32((a), (k))
VM_FN fm f_lt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
VM_FN fm f_gt(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
VM_FN fm f_ge(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
VM_FN fm f_eq(vf a, vf b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
VM_FN fm f_nan(vf a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
VM_FN fm fm_and(fm a, fm b) { return _mm256_and_ps(a, b); }
VM_FN fm fm_or(fm a, fm b) { return _mm256_or_ps(a, b); }
VM_FN fm fm_not(fm a) { return _mm256_xor_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(-1))); }
VM_FN int fm_any(fm a) { return _mm256_movemask_ps(a) != 0; }
#define fm_some fm_any
VM_FN vf f_sel(fm m, vf a, vf b) { return _mm256_blendv_ps(b, a, m); }

/* ------------------------------------------------------------ f64 --- */
VM_FN vd d_set(double a) { return _mm256_set1_pd(a); }
VM_FN vd d_load(const double *p) { return _mm256_loadu_pd(p); }
VM_FN void d_store(double *p, vd a) { _mm256_storeu_pd(p, a); }
VM_FN vd d_add(vd a, vd b) { return _mm256_add_pd(a, b); }
VM_FN vd d_sub(vd a, vd b) { return _mm256_sub_pd(a, b); }
VM_FN vd d_mul(vd a, vd b) { return _mm256_mul_pd(a, b); }
VM_FN vd d_div(vd a, vd b) { return _mm256_div_pd(a, b); }
VM_FN vd d_fma(vd a, vd b, vd c) { return _mm256_fmadd_pd(a, b, c); }
VM_FN vd d_fnma(vd a, vd b, vd c) { return _mm256_fnmadd_pd(a, b, c); }
VM_FN vd d_min(vd a, vd b) { return _mm256_min_pd(a, b); }
VM_FN vd d_max(vd a, vd b) { return _mm256_max_pd(a, b); }
VM_FN vl d_bits(vd a) { return _mm256_castpd_si256(a); }
VM_FN vd d_from(vl a) { return _mm256_castsi256_pd(a); }
VM_FN vl l_set(uint64_t a) { return _mm256_set1_epi64x((long long)a); }
VM_FN vl l_add(vl a, vl b) { return _mm256_add_epi64(a, b); }
VM_FN vl l_sub(vl a, vl b) { return _mm256_sub_epi64(a, b); }
VM_FN vl l_and(vl a, vl b) { return _mm256_and_si256(a, b); }
VM_FN vl l_or(vl a, vl b) { return _mm256_or_si256(a, b); }
VM_FN vl l_xor(vl a, vl b) { return _mm256_xor_si256(a, b); }
#define l_sll(a, k) _mm256_slli_epi64((a), (k))
#define l_srl(a, k) _mm256_srli_epi64((a), (k))
VM_FN dm d_lt(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_LT_OQ); }
VM_FN dm d_le(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_LE_OQ); }
VM_FN dm d_gt(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_GT_OQ); }
VM_FN dm d_ge(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_GE_OQ); }
VM_FN dm d_eq(vd a, vd b) { return _mm256_cmp_pd(a, b, _CMP_EQ_OQ); }
VM_FN dm d_nan(vd a) { return _mm256_cmp_pd(a, a, _CMP_UNORD_Q); }
VM_FN dm l_nz(vl a)
{
    vl zero = _mm256_cmpeq_epi64(a, _mm256_setzero_si256());
    return _mm256_castsi256_pd(_mm256_xor_si256(zero, _mm256_set1_epi64x(-1)));
}
VM_FN dm dm_and(dm a, dm b) { return _mm256_and_pd(a, b); }
VM_FN dm dm_or(dm a, dm b) { return _mm256_or_pd(a, b); }
VM_FN dm dm_not(dm a) { return _mm256_xor_pd(a, _mm256_castsi256_pd(_mm256_set1_epi64x(-1))); }
VM_FN int dm_any(dm a) { return _mm256_movemask_pd(a) != 0; }
#define dm_some dm_any
VM_FN vd d_sel(dm m, vd a, vd b) { return _mm256_blendv_pd(b, a, m); }
/* The exact a*b - p for p = a*b rounded: one fused multiply-add. */
VM_FN vd d_prod_err(vd a, vd b, vd p) { return _mm256_fmsub_pd(a, b, p); }

#include "vmath_kernels_internal.h"

#endif /* AGI_VMATH_X86 */
