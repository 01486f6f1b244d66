/*
** conv_internal.h: what conv.c (the ops, their shapes and rules),
** conv_kernel.c (the kernels) and conv_avx512.c, conv_avx2.c,
** conv_portable.c (the rows' kernels of each instruction set, one
** template: conv_rows_internal.h) share. Not installed.
**
** Every kernel here sees a convolution as a map between two spatial
** grids: the "big" one (a convolution's input, a transposed convolution's
** output) and the "small" one (a convolution's output), output place o
** and kernel tap k meeting big place o*s - p + k*d on each axis. A 1-D
** op is a 2-D one of height 1. Weights are [Cs, Cb/groups, kH, kW] for
** all three kernels: a convolution's w [Cout, Cin/groups, ...] and a
** transposed convolution's w [Cin, Cout/groups, ...] alike.
*/
#ifndef AG_CONV_INTERNAL_H
#define AG_CONV_INTERNAL_H

#include "ag_internal.h"

typedef struct agi_conv_geom {
    int nsp;                    /* spatial axes of the tensors: 1 or 2 */
    int64_t k[2];               /* kernel (height, width); height 1 for 1-D */
    int64_t s[2];               /* stride */
    int64_t d[2];               /* dilation */
    int64_t p[2];               /* padding before (top, left) */
    int64_t groups;
} agi_conv_geom;

/* One kernel call's sizes (all products checked by the caller). */
typedef struct agi_conv_dims {
    agi_conv_geom g;
    int dtype;
    int64_t n;                  /* images */
    int64_t cb, cs;             /* channels of the big side, of the small side */
    int64_t hb[2], hs[2];       /* the grids (height, width) */
} agi_conv_dims;

/*
** ys [N,Cs,hs] = conv(xb [N,Cb,hb], w) + bias (bias [Cs] or NULL), one
** matrix product per image and group over its patches. ws_bytes: see
** agi_conv_scratch. Returns 0, or -1 when scratch memory runs out (error
** on t).
*/
int agi_conv_forward(ag_tape *t, const agi_conv_dims *cd, const void *xb, const void *w,
                     const void *bias, void *ys);

/* yb [N,Cb,hb] = conv_transpose(xs [N,Cs,hs], w) + bias (bias [Cb] or
   NULL). 0, or -1 with the error on t. */
int agi_conv_transpose(ag_tape *t, const agi_conv_dims *cd, const void *xs, const void *w,
                       const void *bias, void *yb);

/* w [Cs,Cb/groups,kH,kW] = sum over images of gs (x) patches of xb: the
   weight gradient, summed in fixed chunks of images. 0, or -1. */
int agi_conv_wgrad(ag_tape *t, const agi_conv_dims *cd, const void *xb, const void *gs,
                   void *w);

/* y [N, Cb*kH*kW, Ps] = the patches of xb (groups 1); the reverse,
   yb [N,Cb,hb] = the columns of xs added back. */
void agi_conv_unfold(const agi_conv_dims *cd, const void *xb, void *y);
void agi_conv_fold(const agi_conv_dims *cd, const void *xs, void *yb);

/*
** The kernels that move rows of a grid, per instruction set (each path's
** table, compiled for its target; agi_conv_rows_now() gives the one of
** the path in use, isa_internal.h). All paths give the same bits (they
** copy, and add in the same order). dtype is AG_F32 or AG_F64; cd's.
**   im2col      col [cg*kH*kW, Hs*Ws] = the patches of x [cg, Hb, Wb]: row
**               (c*kH + i)*kW + j, column oh*Ws + ow holds x[c][oh*s0 - p0 +
**               i*d0][ow*s1 - p1 + j*d1], 0 outside x; with over, it may
**               write zeros up to 64 bytes past the end of col (a scratch
**               area with that much to spare: whole-vector stores)
**   col2im_set  y [cg, Hb, Wb] = bias[c] (bias NULL: 0) + the columns of col
**               put back, added in row order
**   fill_rows   y [rows, len]: row r = v[r] (v NULL: zeros)
**   fill_ones   n ones at y
**   sum_chunks  w [n] = part[0] + part[1] + ... + part[nchunks-1] (each [n]),
**               added in that order
*/
typedef struct agi_conv_rows {
    const char *name;
    void (*im2col)(const agi_conv_dims *cd, int64_t cg, const void *x, void *col, int over);
    void (*col2im_set)(const agi_conv_dims *cd, int64_t cg, const void *col, void *y,
                       const void *bias);
    void (*fill_rows)(int dtype, void *y, int64_t rows, int64_t len, const void *v);
    void (*fill_ones)(int dtype, void *y, int64_t n);
    void (*sum_chunks)(int dtype, void *w, const void *part, int64_t nchunks, int64_t n);
} agi_conv_rows;

extern const agi_conv_rows agi_conv_rows_avx512, agi_conv_rows_avx2, agi_conv_rows_portable;

/* The table of the path in use (conv_portable.c). */
const agi_conv_rows *agi_conv_rows_now(void);

#endif /* AG_CONV_INTERNAL_H */
