/*
** vmath_kernels_internal.h: the vector math kernels and the table of
** array functions of one path. Included once by each path's file
** (vmath_avx512.c, vmath_avx2.c, vmath_portable.c) after it has defined
** its lane types and operations:
**
**   VM_TGT, VM_FN           the target attribute; "static inline VM_TGT"
**   VM_TABLE, VM_NAME       the table's symbol and its name
**   vf vi fm / vd vl dm     f32 lanes, their bits, a mask (VF_N lanes);
**                           f64 lanes, their bits, a mask (VD_N lanes)
**   f_set f_load f_store f_add f_sub f_mul f_div f_fma (a b + c)
**   f_fnma (c - a b) f_min f_max (SSE's: b when either is NaN) f_bits
**   f_from f_cvt (int32 to float) i_set i_add i_sub i_and i_or
**   i_sll i_srl f_lt f_gt f_ge f_eq f_nan fm_and fm_or fm_not fm_some
**   f_sel (m ? a : b), and the same with d_, l_, dm_ for f64 lanes, plus
**   l_nz (lanes != 0) and d_prod_err (the exact error of a product).
**
** The kernels are in vmath_f32_internal.h, vmath_f64_internal.h and
** vmath_trig_pow_internal.h; the polynomials in vmath_coef_internal.h.
** fm_some(m) / dm_some(m) gate work that only the lanes of m need (rare
** cases): a test of m on the SIMD paths, always 1 on the portable one so
** that its loops stay free of branches and the compiler may vectorize
** them; either way each lane's result is the same. VM_UNROLL is how many
** vectors a path's loops take at a time (16 one-lane "vectors" for the
** portable path: a fixed inner trip count that gcc -O2 vectorizes).
** Whatever the path, an element's result depends on its input alone: a
** short tail is computed as a whole vector in a zeroed buffer.
*/
#include <math.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
#define VM_IVDEP _Pragma("GCC ivdep")
#else
#define VM_IVDEP
#endif

#include "vmath_coef_internal.h"
#include "vmath_f32_internal.h"
#include "vmath_f64_internal.h"
#include "vmath_trig_pow_internal.h"

#define VM_COMMA ,

/* y[i] = K(x[i] ...) for i < n, the function taking (y, x, n PARAMS) and
   K the extra arguments after PARAMS (VM_COMMA value...; or nothing). */
#define VM_MAP(NAME, T, V, N, LOAD, STORE, K, PARAMS, ...)                \
    static VM_TGT void NAME(T *y, const T *x, int64_t n PARAMS)           \
    {                                                                     \
        int64_t i = 0;                                                    \
        for (; i + (N) * VM_UNROLL <= n; i += (N) * VM_UNROLL) {          \
            VM_IVDEP                                                      \
            for (int u_ = 0; u_ < VM_UNROLL; u_++)                        \
                STORE(y + i + u_ * (N), K(LOAD(x + i + u_ * (N)) __VA_ARGS__)); \
        }                                                                 \
        for (; i + (N) <= n; i += (N)) STORE(y + i, K(LOAD(x + i) __VA_ARGS__)); \
        if (i < n) {                                                      \
            T b_[N];                                                      \
            memset(b_, 0, sizeof b_);                                     \
            memcpy(b_, x + i, (size_t)(n - i) * sizeof *x);               \
            STORE(b_, K(LOAD(b_) __VA_ARGS__));                           \
            memcpy(y + i, b_, (size_t)(n - i) * sizeof *y);               \
        }                                                                 \
    }
#define VM_MAP_F32(NAME, K) VM_MAP(NAME, float, vf, VF_N, f_load, f_store, K, , )
#define VM_MAP_F64(NAME, K) VM_MAP(NAME, double, vd, VD_N, d_load, d_store, K, , )

VM_MAP_F32(exp_f32, f_exp)
VM_MAP_F32(expm1_f32, f_expm1)
VM_MAP_F32(log_f32, f_log)
VM_MAP_F32(log1p_f32, f_log1p)
VM_MAP_F32(tanh_f32, f_tanh)
VM_MAP_F32(sigmoid_f32, f_sigmoid)
VM_MAP_F32(softplus_f32, f_softplus)
VM_MAP_F32(erf_f32, f_erf)
VM_MAP(elu_f32, float, vf, VF_N, f_load, f_store, f_elu, VM_COMMA float alpha, ,
       f_set(alpha))

VM_MAP_F64(exp_f64, d_exp)
VM_MAP_F64(expm1_f64, d_expm1)
VM_MAP_F64(log_f64, d_log)
VM_MAP_F64(log1p_f64, d_log1p)
VM_MAP_F64(tanh_f64, d_tanh)
VM_MAP_F64(sigmoid_f64, d_sigmoid)
VM_MAP_F64(softplus_f64, d_softplus)
VM_MAP_F64(erf_f64, d_erf)
VM_MAP_F64(sin_f64, d_sin)
VM_MAP_F64(cos_f64, d_cos)
VM_MAP(elu_f64, double, vd, VD_N, d_load, d_store, d_elu, VM_COMMA double alpha, ,
       d_set(alpha))
VM_MAP(pow_scalar_gen_f64, double, vd, VD_N, d_load, d_store, d_pow,
       VM_COMMA double p, , d_set(p))

/* The f32 functions computed by an f64 kernel: blocks of VM_BLOCK
   converted in and out (exact in, one rounding out). */
#define VM_BLOCK 256
#define VM_VIA_F64(NAME, K64)                                             \
    static VM_TGT void NAME(float *y, const float *x, int64_t n)          \
    {                                                                     \
        double b[VM_BLOCK];                                               \
        for (int64_t i = 0; i < n; i += VM_BLOCK) {                       \
            int m = n - i < VM_BLOCK ? (int)(n - i) : VM_BLOCK;           \
            for (int j = 0; j < m; j++) b[j] = x[i + j];                  \
            K64(b, b, m);                                                 \
            for (int j = 0; j < m; j++) y[i + j] = (float)b[j];           \
        }                                                                 \
    }
VM_VIA_F64(sin_f32, sin_f64)
VM_VIA_F64(cos_f32, cos_f64)

/* y = x^p, both arrays. */
static VM_TGT void pow_f64(double *y, const double *x, const double *p, int64_t n)
{
    int64_t i = 0;
    for (; i + VD_N <= n; i += VD_N) d_store(y + i, d_pow(d_load(x + i), d_load(p + i)));
    if (i < n) {
        double bx[VD_N], bp[VD_N];
        memset(bx, 0, sizeof bx);
        memset(bp, 0, sizeof bp);
        memcpy(bx, x + i, (size_t)(n - i) * sizeof *x);
        memcpy(bp, p + i, (size_t)(n - i) * sizeof *p);
        d_store(bx, d_pow(d_load(bx), d_load(bp)));
        memcpy(y + i, bx, (size_t)(n - i) * sizeof *y);
    }
}

/* f32 x^p through d_pow_lite, VD_N lanes at a time from blocks. */
static VM_TGT void pow_f32(float *y, const float *x, const float *p, int64_t n)
{
    double bx[VM_BLOCK], bp[VM_BLOCK];
    for (int64_t i = 0; i < n; i += VM_BLOCK) {
        int m = n - i < VM_BLOCK ? (int)(n - i) : VM_BLOCK, j = 0;
        for (j = 0; j < m; j++) bx[j] = x[i + j], bp[j] = p[i + j];
        for (j = m; j % VD_N; j++) bx[j] = bp[j] = 0;
        for (j = 0; j < m; j += VD_N)
            d_store(bx + j, d_pow_lite(d_load(bx + j), d_load(bp + j)));
        for (j = 0; j < m; j++) y[i + j] = (float)bx[j];
    }
}

/* x^p with one p: the exponents 1, 2 and -1 exactly (x, x*x, 1/x, as
   PyTorch's), any other through pow. */
static VM_TGT void pow_scalar_f64(double *y, const double *x, double p, int64_t n)
{
    if (p == 1) {
        if (y != x && n > 0) memmove(y, x, (size_t)n * sizeof *y);
    } else if (p == 2) {
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * x[i];
    } else if (p == -1) {
        for (int64_t i = 0; i < n; i++) y[i] = 1 / x[i];
    } else {
        pow_scalar_gen_f64(y, x, n, p);
    }
}

static VM_TGT void pow_scalar_f32(float *y, const float *x, float p, int64_t n)
{
    if (p == 1) {
        if (y != x && n > 0) memmove(y, x, (size_t)n * sizeof *y);
    } else if (p == 2) {
        for (int64_t i = 0; i < n; i++) y[i] = x[i] * x[i];
    } else if (p == -1) {
        for (int64_t i = 0; i < n; i++) y[i] = 1 / x[i];
    } else {
        float bp[VM_BLOCK];
        for (int j = 0; j < VM_BLOCK; j++) bp[j] = p;
        for (int64_t i = 0; i < n; i += VM_BLOCK)
            pow_f32(y + i, x + i, bp, n - i < VM_BLOCK ? n - i : VM_BLOCK);
    }
}

#define VM_ENTRY(f) .f##_f32 = f##_f32, .f##_f64 = f##_f64,
const agi_vmath_fns VM_TABLE = {
    .name = VM_NAME,
    AGI_VMATH_UNARY(VM_ENTRY)
    .elu_f32 = elu_f32,
    .elu_f64 = elu_f64,
    .pow_f32 = pow_f32,
    .pow_f64 = pow_f64,
    .pow_scalar_f32 = pow_scalar_f32,
    .pow_scalar_f64 = pow_scalar_f64,
};
