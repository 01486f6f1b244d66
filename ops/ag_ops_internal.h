/*
** ag_ops_internal.h: kernel templates shared by the op files. Each macro
** expands to a typed loop for one dtype; the op writes the expression once
** and instantiates it for float and double. <tgmath.h> makes exp, log,
** fabs... pick the float or double function from the argument type.
*/
#ifndef AG_OPS_INTERNAL_H
#define AG_OPS_INTERNAL_H

#include "ag_internal.h"
#include <tgmath.h>

/* y[i] = EXPR over x[i], with the element named x (type T). */
#define AGI_UNARY_LOOP(T, X, Y, EXPR)                                     \
    do {                                                                  \
        const T *restrict px_ = (const T *)(X)->data;                     \
        T *restrict py_ = (T *)(Y)->data;                                 \
        const int64_t n_ = (Y)->numel;                                    \
        for (int64_t i_ = 0; i_ < n_; i_++) {                             \
            const T x = px_[i_];                                          \
            py_[i_] = (T)(EXPR);                                          \
        }                                                                 \
    } while (0)

/* Instantiates a unary kernel NAME(x, y, s, s2) for both dtypes; EXPR may
   use x and the op's scalars s and s2 (converted to the element type). */
#define AGI_UNARY_KERNEL(NAME, EXPR)                                      \
    static void NAME(const ag_tensor *xt_, ag_tensor *yt_, double s_,     \
                     double s2_)                                          \
    {                                                                     \
        if (yt_->dtype == AG_F64) {                                       \
            const double s = s_, s2 = s2_;                                \
            (void)s, (void)s2;                                            \
            AGI_UNARY_LOOP(double, xt_, yt_, EXPR);                       \
        } else {                                                          \
            const float s = (float)s_, s2 = (float)s2_;                   \
            (void)s, (void)s2;                                            \
            AGI_UNARY_LOOP(float, xt_, yt_, EXPR);                        \
        }                                                                 \
    }

typedef void (*agi_unary_kernel)(const ag_tensor *x, ag_tensor *y, double s,
                                 double s2);

/*
** y = EXPR(a, b) over the broadcast of A and B into Y (Y has the broadcast
** shape). Flat loops for equal shapes and scalar operands; otherwise the
** odometer with a strided inner loop.
*/
#define AGI_BINARY_LOOP(T, A, B, Y, EXPR)                                 \
    do {                                                                  \
        const T *pa_ = (const T *)(A)->data, *pb_ = (const T *)(B)->data; \
        T *py_ = (T *)(Y)->data;                                          \
        const int64_t n_ = (Y)->numel;                                    \
        if ((A)->numel == n_ && (B)->numel == n_) {                       \
            for (int64_t i_ = 0; i_ < n_; i_++) {                         \
                const T a = pa_[i_], b = pb_[i_];                         \
                py_[i_] = (T)(EXPR);                                      \
            }                                                             \
        } else if ((B)->numel == 1 && (A)->numel == n_) {                 \
            const T b = pb_[0];                                           \
            for (int64_t i_ = 0; i_ < n_; i_++) {                         \
                const T a = pa_[i_];                                      \
                py_[i_] = (T)(EXPR);                                      \
            }                                                             \
        } else if ((A)->numel == 1 && (B)->numel == n_) {                 \
            const T a = pa_[0];                                           \
            for (int64_t i_ = 0; i_ < n_; i_++) {                         \
                const T b = pb_[i_];                                      \
                py_[i_] = (T)(EXPR);                                      \
            }                                                             \
        } else {                                                          \
            int64_t st_[4][AG_MAX_DIMS];                                  \
            agi_iter it_;                                                 \
            agi_contig_strides((Y)->ndim, (Y)->shape, st_[0]);            \
            agi_bcast_strides((A), (Y)->ndim, (Y)->shape, st_[1]);        \
            agi_bcast_strides((B), (Y)->ndim, (Y)->shape, st_[2]);        \
            agi_iter_init(&it_, (Y)->ndim, (Y)->shape, 3,                 \
                          (const int64_t(*)[AG_MAX_DIMS])st_);            \
            for (int64_t o_ = 0; o_ < it_.outer; o_++) {                  \
                T *yy_ = py_ + it_.off[0];                                \
                const T *aa_ = pa_ + it_.off[1], *bb_ = pb_ + it_.off[2]; \
                const int64_t sa_ = it_.istride[1], sb_ = it_.istride[2]; \
                for (int64_t j_ = 0; j_ < it_.inner; j_++) {              \
                    const T a = aa_[j_ * sa_], b = bb_[j_ * sb_];         \
                    yy_[j_] = (T)(EXPR);                                  \
                }                                                         \
                agi_iter_next(&it_, 3);                                   \
            }                                                             \
        }                                                                 \
    } while (0)

/* Instantiates a binary kernel NAME(a, b, y) for both dtypes. */
#define AGI_BINARY_KERNEL(NAME, EXPR)                                     \
    static void NAME(const ag_tensor *at_, const ag_tensor *bt_,          \
                     ag_tensor *yt_)                                      \
    {                                                                     \
        if (yt_->dtype == AG_F64)                                         \
            AGI_BINARY_LOOP(double, at_, bt_, yt_, EXPR);                 \
        else                                                              \
            AGI_BINARY_LOOP(float, at_, bt_, yt_, EXPR);                  \
    }

typedef void (*agi_binary_kernel)(const ag_tensor *a, const ag_tensor *b,
                                  ag_tensor *y);

/*
** Runs a unary op: checks x, makes y like x, runs kernel with scalar s,
** records op with input x and stores s in fparam[0] (and s2 in fparam[1]).
*/
ag_tensor *agi_unary(ag_tape *t, const agi_op *op, ag_tensor *x,
                     agi_unary_kernel kernel, double s, double s2);

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
