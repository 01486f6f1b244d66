/*
** ag_ops_internal.h: kernel templates shared by the op files. Each macro
** expands to a typed loop for one dtype; the op writes the expression once
** and instantiates it for float and double. <tgmath.h> makes exp, log,
** fabs... pick the float or double function from the argument type.
*/
#ifndef AG_OPS_INTERNAL_H
#define AG_OPS_INTERNAL_H

#include "ag_internal.h"
#include "isa_internal.h"
#include "threads_internal.h"
#include <tgmath.h>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

/* The loop blocks (AGI_VLOOP) and agi_parallel_range: threads_internal.h. */

/*
** Kernels for the CPU at hand. The default build targets any x86-64
** (SSE2); a kernel defined with AGI_RANGE_MV is compiled three times,
** for AVX-512, for AVX2+FMA and for the baseline, and runs the version
** agi_isa() picks (isa_internal.h: CPUID once, or
** AG_KERNEL=avx512|avx2|portable), so one binary runs at full speed on
** any machine and every path can be tested on this one. gcc compiles C
** without contracting a * b + c into an FMA (-std=c11), nor does clang
** (the Makefile's -ffp-contract=off), so all three give the same bits.
**
**     AGI_RANGE_MV(scale_range, job, lo, hi)
**     {
**         ... the body of an agi_range_fn over [lo, hi) ...
**     }
**
** defines scale_range(void *job, int64_t lo, int64_t hi). The body is an
** always-inline function, so whatever it inlines is compiled for each
** target too.
*/
#if defined(AGI_ISA_X86)
#define AGI_TGT_AVX512 __attribute__((target("avx512f,avx512dq,avx2,fma")))
#define AGI_TGT_AVX2 __attribute__((target("avx2,fma")))
#define AGI_RANGE_MV(NAME, JOB, LO, HI)                                   \
    static inline __attribute__((always_inline)) void NAME##_body(        \
        void *, int64_t, int64_t);                                        \
    AGI_TGT_AVX512 static void NAME##_avx512(void *j_, int64_t l_, int64_t h_) \
    {                                                                     \
        NAME##_body(j_, l_, h_);                                          \
    }                                                                     \
    AGI_TGT_AVX2 static void NAME##_avx2(void *j_, int64_t l_, int64_t h_) \
    {                                                                     \
        NAME##_body(j_, l_, h_);                                          \
    }                                                                     \
    static void NAME##_base(void *j_, int64_t l_, int64_t h_)             \
    {                                                                     \
        NAME##_body(j_, l_, h_);                                          \
    }                                                                     \
    static void NAME(void *j_, int64_t l_, int64_t h_)                    \
    {                                                                     \
        const int isa_ = agi_isa();                                       \
        (isa_ == AGI_ISA_AVX512 ? NAME##_avx512                          \
         : isa_ == AGI_ISA_AVX2 ? NAME##_avx2 : NAME##_base)(j_, l_, h_);   \
    }                                                                     \
    static inline __attribute__((always_inline)) void NAME##_body(        \
        void *JOB, int64_t LO, int64_t HI)
/* A helper a body calls: inlined into each version, so compiled for each
   target too (a static function the compiler keeps out of line would run
   its baseline code in all three). Not for recursive functions. */
#define AGI_MV_HELPER static inline __attribute__((always_inline))
#else
#define AGI_RANGE_MV(NAME, JOB, LO, HI) \
    static void NAME(void *JOB, int64_t LO, int64_t HI)
#define AGI_MV_HELPER static inline
#endif

/*
** y[i] = sqrt(x[i]) for i < n. The library is built with -fno-math-errno
** (the Makefile), so gcc and clang vectorize sqrt for the target at hand
** (AGI_RANGE_MV's versions included) instead of keeping a libm call for
** the errno of a negative x; the SIMD square root is correctly rounded, as
** sqrt is, so the results are the same; a negative x gives NaN either
** way. y may be x.
*/
static inline void agi_sqrt_f32(float *y, const float *x, int64_t n)
{
    AGI_VLOOP(i, 0, n, y[i] = sqrtf(x[i]););
}

static inline void agi_sqrt_f64(double *y, const double *x, int64_t n)
{
    AGI_VLOOP(i, 0, n, y[i] = sqrt(x[i]););
}


/* Moves it to its outer position `outer` (0 <= outer < it->outer). */
void agi_iter_seek(agi_iter *it, int nops, int64_t outer);

/* --------------------------------------------------------- unary --- */

/* The operands of a unary kernel, for its range function. */
typedef struct agi_unary_job {
    const ag_tensor *x;
    ag_tensor *y;
    double s, s2;
} agi_unary_job;

/* y[i] = EXPR over x[i] for i in [LO, HI), the element named x (type T). */
#define AGI_UNARY_LOOP(T, X, Y, LO, HI, EXPR)                             \
    do {                                                                  \
        const T *px_ = (const T *)(X)->data;                              \
        T *py_ = (T *)(Y)->data;                                          \
        AGI_VLOOP(i_, LO, HI, const T x = px_[i_]; py_[i_] = (T)(EXPR););  \
    } while (0)

/* Instantiates a unary kernel NAME(x, y, s, s2) for both dtypes, split
   over the pool when large; EXPR may use x and the op's scalars s and s2
   (converted to the element type). */
#define AGI_UNARY_KERNEL(NAME, EXPR)                                      \
    AGI_RANGE_MV(NAME##_range, job_, lo_, hi_)                            \
    {                                                                     \
        const agi_unary_job *jb_ = job_;                                  \
        if (jb_->y->dtype == AG_F64) {                                    \
            const double s = jb_->s, s2 = jb_->s2;                        \
            (void)s, (void)s2;                                            \
            AGI_UNARY_LOOP(double, jb_->x, jb_->y, lo_, hi_, EXPR);       \
        } else {                                                          \
            const float s = (float)jb_->s, s2 = (float)jb_->s2;           \
            (void)s, (void)s2;                                            \
            AGI_UNARY_LOOP(float, jb_->x, jb_->y, lo_, hi_, EXPR);        \
        }                                                                 \
    }                                                                     \
    static void NAME(const ag_tensor *xt_, ag_tensor *yt_, double s_,     \
                     double s2_)                                          \
    {                                                                     \
        if (yt_->numel == 1) {          /* a scalar: no job, no split */  \
            agi_unary_job jb_ = {xt_, yt_, s_, s2_};                      \
            NAME##_range(&jb_, 0, 1);                                     \
            return;                                                       \
        }                                                                 \
        agi_unary_job jb_ = {xt_, yt_, s_, s2_};                          \
        agi_parallel_range(yt_->numel, AGI_PAR_GRAIN, NAME##_range, &jb_); \
    }

typedef void (*agi_unary_kernel)(const ag_tensor *x, ag_tensor *y, double s,
                                 double s2);

/* -------------------------------------------------------- binary --- */

/*
** The operands of a binary kernel: flat (sa, sb: 1 for an operand of y's
** size, 0 for one element) or, when bcast is set, the odometer over y's
** rows with each operand's strides.
*/
typedef struct agi_binary_job {
    const ag_tensor *a, *b;
    ag_tensor *y;
    int bcast;
    int64_t sa, sb;
    agi_iter it;
} agi_binary_job;

/* Plans job for y = f(a, b); returns the number of pieces to split:
   elements when flat, rows (it.outer) when broadcast. (broadcast.c) */
int64_t agi_binary_plan_bcast(agi_binary_job *job);
static inline int64_t agi_binary_plan(agi_binary_job *job, const ag_tensor *a,
                                      const ag_tensor *b, ag_tensor *y)
{
    const int64_t n = y->numel;
    job->a = a;
    job->b = b;
    job->y = y;
    job->sa = a->numel == n;
    job->sb = b->numel == n;
    job->bcast = !((a->numel == n || a->numel == 1) && (b->numel == n || b->numel == 1));
    return job->bcast ? agi_binary_plan_bcast(job) : n;
}

/*
** yy[j] = EXPR(aa[j * sa], bb[j * sb]) for j in [0, N): vectorized when
** each stride is 1 or 0 (an operand held for the row).
*/
#define AGI_BINARY_ROW(T, AA, SA, BB, SB, YY, N, EXPR)                    \
    do {                                                                  \
        const T *aa_ = (AA), *bb_ = (BB);                                 \
        T *yy_ = (YY);                                                    \
        if ((SA) == 1 && (SB) == 1) {                                     \
            AGI_VLOOP(j_, 0, N, const T a = aa_[j_], b = bb_[j_];         \
                      yy_[j_] = (T)(EXPR););                              \
        } else if ((SA) == 1 && (SB) == 0) {                              \
            const T b = bb_[0];                                           \
            AGI_VLOOP(j_, 0, N, const T a = aa_[j_]; yy_[j_] = (T)(EXPR);); \
        } else if ((SA) == 0 && (SB) == 1) {                              \
            const T a = aa_[0];                                           \
            AGI_VLOOP(j_, 0, N, const T b = bb_[j_]; yy_[j_] = (T)(EXPR);); \
        } else {                                                          \
            for (int64_t j_ = 0; j_ < (N); j_++) {                        \
                const T a = aa_[j_ * (SA)], b = bb_[j_ * (SB)];           \
                yy_[j_] = (T)(EXPR);                                      \
            }                                                             \
        }                                                                 \
    } while (0)

/* y = EXPR(a, b) over pieces [LO, HI) of job J (elements or rows). */
#define AGI_BINARY_LOOP(T, J, LO, HI, EXPR)                               \
    do {                                                                  \
        const T *pa_ = (const T *)(J)->a->data;                           \
        const T *pb_ = (const T *)(J)->b->data;                           \
        T *py_ = (T *)(J)->y->data;                                       \
        if (!(J)->bcast) {                                                \
            AGI_BINARY_ROW(T, pa_ + (LO) * (J)->sa, (J)->sa,              \
                           pb_ + (LO) * (J)->sb, (J)->sb, py_ + (LO),     \
                           (HI) - (LO), EXPR);                            \
            break;                                                        \
        }                                                                 \
        agi_iter it_ = (J)->it;                                           \
        agi_iter_seek(&it_, 3, (LO));                                     \
        for (int64_t o_ = (LO); o_ < (HI); o_++) {                        \
            AGI_BINARY_ROW(T, pa_ + it_.off[1], it_.istride[1],           \
                           pb_ + it_.off[2], it_.istride[2],              \
                           py_ + it_.off[0], it_.inner, EXPR);            \
            agi_iter_next(&it_, 3);                                       \
        }                                                                 \
    } while (0)

/* Instantiates a binary kernel NAME(a, b, y) for both dtypes (y has the
   broadcast shape), split over the pool when large. */
#define AGI_BINARY_KERNEL(NAME, EXPR)                                     \
    AGI_RANGE_MV(NAME##_range, job_, lo_, hi_)                            \
    {                                                                     \
        const agi_binary_job *jb_ = job_;                                 \
        if (jb_->y->dtype == AG_F64)                                      \
            AGI_BINARY_LOOP(double, jb_, lo_, hi_, EXPR);                 \
        else                                                              \
            AGI_BINARY_LOOP(float, jb_, lo_, hi_, EXPR);                  \
    }                                                                     \
    static void NAME(const ag_tensor *at_, const ag_tensor *bt_,          \
                     ag_tensor *yt_)                                      \
    {                                                                     \
        if (yt_->numel == 1) {          /* a scalar: no plan, no split */ \
            if (yt_->dtype == AG_F64) {                                   \
                const double a = AGI_F64(at_)[0], b = AGI_F64(bt_)[0];    \
                AGI_F64(yt_)[0] = (double)(EXPR);                         \
            } else {                                                      \
                const float a = AGI_F32(at_)[0], b = AGI_F32(bt_)[0];     \
                AGI_F32(yt_)[0] = (float)(EXPR);                          \
            }                                                             \
            return;                                                       \
        }                                                                 \
        agi_binary_job jb_;                                               \
        int64_t n_ = agi_binary_plan(&jb_, at_, bt_, yt_);                \
        int64_t row_ = jb_.bcast && jb_.it.inner > 0 ? jb_.it.inner : 1;  \
        agi_parallel_range(n_, (AGI_PAR_GRAIN + row_ - 1) / row_,         \
                           NAME##_range, &jb_);                           \
    }

typedef void (*agi_binary_kernel)(const ag_tensor *a, const ag_tensor *b,
                                  ag_tensor *y);

/*
** Runs a unary op: checks x, makes y like x, runs kernel with scalar s,
** records op with input x and stores s in fparam[0] (and s2 in fparam[1]).
*/
ag_tensor *agi_unary(ag_tape *t, const agi_op *op, ag_tensor *x,
                     agi_unary_kernel kernel, double s, double s2);
/* agi_unary (s2 0) whose node gets scalar rule fn when x is one element. */
ag_tensor *agi_unary_scalar(ag_tape *t, const agi_op *op, ag_tensor *x,
                            agi_unary_kernel kernel, double s, agi_scalar_fn fn);

/* Runs a broadcasting binary op: checks, shapes, kernel, record. */
ag_tensor *agi_binary(ag_tape *t, const agi_op *op, ag_tensor *a,
                      ag_tensor *b, agi_binary_kernel kernel);

/*
** Normalises axis for x (negative counts from the end) and gives x's
** [outer, n, inner] view. Returns the axis, AG_ALL for every element (or
** for a 0-d x), or -1 after recording an AG_ERR_AXIS error naming fn and
** x's shape. AG_ALL is accepted only when allow_all is set. (reduce.c)
*/
int agi_reduce_axis(ag_tape *t, const char *fn, const ag_tensor *x, int axis,
                    int allow_all, int64_t *outer, int64_t *n, int64_t *inner);

#endif /* AG_OPS_INTERNAL_H */
