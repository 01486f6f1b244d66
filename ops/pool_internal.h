/*
** pool_internal.h: what the pooling files share (pool_plan.c builds and
** checks the geometry, pool.c runs max pooling, pool_avg.c average and
** adaptive average pooling). Not installed.
**
** A plan holds everything a kernel needs, per pooled axis a table of
** windows: output o along the axis reads input positions lo[o], lo[o] +
** step, ... below hi[o] (none when lo[o] >= hi[o]), and cnt[o] is its
** share of the divisor (average pooling). 1-D pooling is 2-D pooling with
** H = 1. Plans live on the tape (node->aux), so the backward ops of a
** pooling op (and theirs) reuse the forward's plan.
*/
#ifndef AG_POOL_INTERNAL_H
#define AG_POOL_INTERNAL_H

#include "ag_ops_internal.h"
#include "ag_pool.h"

typedef struct agi_pool_axis {
    int64_t in, out, step;
    int64_t *lo, *hi, *cnt;         /* [out] each */
} agi_pool_axis;

typedef struct agi_pool_plan {
    const agi_op *op;               /* the public op (its name is in messages) */
    int64_t planes;                 /* N*C (C when unbatched) */
    agi_pool_axis h, w;
    int64_t kernel[2], stride[2], pad[2], dil[2];   /* [h, w], normalised */
    double divisor;                 /* average: divisor_override, or 0 */
    int32_t *argmax;                /* max: per output, the flat index in its
                                       plane of the element chosen, -1: none */
    int x_ndim, y_ndim;
    int64_t x_shape[4], y_shape[4];
} agi_pool_plan;

/* The normalised arguments of a pooling call (2-D; 1-D has h = 1). */
typedef struct agi_pool_args {
    int dims;                       /* 1 or 2 pooled axes */
    int is_max;
    int64_t kernel[2], stride[2], pad[2], dil[2];
    int ceil_mode, exclude_pad;
    int64_t divisor;
} agi_pool_args;

/* The arguments of a 1-D or 2-D call with PyTorch's defaults filled in. */
void agi_pool_args_1d(agi_pool_args *a, int is_max, int64_t kernel, const ag_pool1d_opts *o);
void agi_pool_args_2d(agi_pool_args *a, int is_max, int64_t kh, int64_t kw,
                      const ag_pool2d_opts *o);

/*
** Checks x and the arguments of op (dims-D pooling) and builds the plan on
** the tape, windows included; NULL with the error recorded. Max plans get
** their argmax array.
*/
agi_pool_plan *agi_pool_plan_new(ag_tape *t, const agi_op *op, const ag_tensor *x,
                                 const agi_pool_args *a);

/* The plan of adaptive average pooling of x to out_h x out_w. */
agi_pool_plan *agi_pool_plan_adaptive(ag_tape *t, const agi_op *op, const ag_tensor *x,
                                      int64_t out_h, int64_t out_w);

/* A kernel over the planes [lo, hi) of a plan: in -> out. */
typedef void (*agi_pool_fn)(const agi_pool_plan *p, const ag_tensor *in, ag_tensor *out,
                            int64_t lo, int64_t hi);

/* Runs fn over every plane, split over the thread pool when large;
   work is the cost of one plane in elements touched (below 1: an
   overflowed count, taken as large). */
void agi_pool_run(const agi_pool_plan *p, agi_pool_fn fn, const ag_tensor *in,
                  ag_tensor *out, int64_t work);

#endif /* AG_POOL_INTERNAL_H */
