/*
** vmath_internal.h: the vector math paths behind ag_vmath.h, for ops/ and
** the tests. Each path (vmath_avx512.c, vmath_avx2.c, vmath_portable.c) is
** a table of the same array functions, compiled for its instruction set by
** function attributes; agi_vm() returns the one of the path chosen once at
** run time (isa_internal.h: CPUID, or the AG_KERNEL environment variable). Ops call
** agi_vm()->exp_f32(...) and the like, on any range of their elements:
** every element's result depends on its own input only, never on where a
** range starts or ends, so a kernel split over threads gives the same bits
** for any split.
*/
#ifndef AG_VMATH_INTERNAL_H
#define AG_VMATH_INTERNAL_H

#include "isa_internal.h"

#include <stdint.h>

/* The functions of one input, X(name): y[i] = name(x[i]). */
#define AGI_VMATH_UNARY(X)                                                \
    X(exp) X(expm1) X(log) X(log1p) X(tanh) X(sigmoid) X(softplus) X(erf) \
    X(sin) X(cos)

typedef void (*agi_vm_f32)(float *y, const float *x, int64_t n);
typedef void (*agi_vm_f64)(double *y, const double *x, int64_t n);

#define AGI_VM_FIELDS(f) agi_vm_f32 f##_f32; agi_vm_f64 f##_f64;

/* One path: its name ("avx512", "avx2", "portable") and its functions,
   each with ag_vmath.h's contract (y may be x; n <= 0 does nothing). */
typedef struct agi_vmath_fns {
    const char *name;
    AGI_VMATH_UNARY(AGI_VM_FIELDS)
    /* y = x > 0 ? x : alpha (e^x - 1) */
    void (*elu_f32)(float *y, const float *x, int64_t n, float alpha);
    void (*elu_f64)(double *y, const double *x, int64_t n, double alpha);
    /* y = x^p, p an array (pow) or one value (pow_scalar) */
    void (*pow_f32)(float *y, const float *x, const float *p, int64_t n);
    void (*pow_f64)(double *y, const double *x, const double *p, int64_t n);
    void (*pow_scalar_f32)(float *y, const float *x, float p, int64_t n);
    void (*pow_scalar_f64)(double *y, const double *x, double p, int64_t n);
} agi_vmath_fns;

/* The paths, best first. The x86 ones exist on x86-64 builds only. */
#if defined(AGI_ISA_X86)
#define AGI_VMATH_X86 1
extern const agi_vmath_fns agi_vmath_avx512;
extern const agi_vmath_fns agi_vmath_avx2;
#endif
extern const agi_vmath_fns agi_vmath_portable;

/* The path in use: agi_isa()'s (thread-safe). */
const agi_vmath_fns *agi_vm(void);

/* 1 when this CPU can run path p (the portable one always). */
int agi_vmath_supported(const agi_vmath_fns *p);

/*
** The path AG_KERNEL = env asks for: "avx512", "avx2" or "portable" when
** the CPU has it; the best supported path when env is NULL, empty, not a
** path's name, or a path the CPU lacks.
*/
const agi_vmath_fns *agi_vmath_choose(const char *env);

/*
** Payne-Hanek reduction for sin and cos of a large finite x (|x| beyond
** the kernels' Cody-Waite range, about 1.6e6): returns n mod 4 with
** x = n pi/2 + r, |r| <= pi/4 (about), r = *r_hi + *r_lo to some 100 bits.
** Exact integer arithmetic on 192 bits of 2/pi. (vmath.c)
*/
int agi_vm_rem_pio2(double x, double *r_hi, double *r_lo);

/* y[i] = fn(x[i]) for the elements [lo, hi) of a unary job's tensors, in
   x's dtype: the range function of a unary op computed by path function
   FN (an AGI_VMATH_UNARY name). Needs ag_ops_internal.h. */
#define AGI_VMATH_RANGE(NAME, FN)                                         \
    static void NAME(void *job_, int64_t lo_, int64_t hi_)                \
    {                                                                     \
        const agi_unary_job *jb_ = job_;                                  \
        if (jb_->y->dtype == AG_F64)                                      \
            agi_vm()->FN##_f64((double *)jb_->y->data + lo_,              \
                               (const double *)jb_->x->data + lo_, hi_ - lo_); \
        else                                                              \
            agi_vm()->FN##_f32((float *)jb_->y->data + lo_,               \
                               (const float *)jb_->x->data + lo_, hi_ - lo_); \
    }

/* A unary kernel NAME(x, y, s, s2) running range function RANGE over the
   pool (as AGI_UNARY_KERNEL's). */
#define AGI_VMATH_KERNEL(NAME, RANGE)                                     \
    static void NAME(const ag_tensor *x_, ag_tensor *y_, double s_, double s2_) \
    {                                                                     \
        agi_unary_job jb_ = {x_, y_, s_, s2_};                            \
        agi_parallel_range(y_->numel, AGI_PAR_GRAIN, RANGE, &jb_);        \
    }

/* NAME(dt, y, x): y = FN(x) on one element by the vector math, as the
   op's kernel computes it: an op's agi_op.value (ag_internal.h). */
#define AGI_VM_VALUE(NAME, FN)                                               \
    static void NAME(int dt_, void *y_, const void *x_)                      \
    {                                                                        \
        if (dt_ == AG_F64)                                                   \
            agi_vm()->FN##_f64((double *)y_, (const double *)x_, 1);         \
        else                                                                 \
            agi_vm()->FN##_f32((float *)y_, (const float *)x_, 1);           \
    }

#endif /* AG_VMATH_INTERNAL_H */
