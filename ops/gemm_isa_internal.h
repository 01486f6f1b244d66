/*
** gemm_isa_internal.h: between the GEMM driver (matmul_kernel.c: the
** split over threads, the choice of path) and the kernels of each
** instruction set (gemm_avx512.c, gemm_avx2.c, gemm_portable.c, one
** template: gemm_body_internal.h). Not installed.
*/
#ifndef AG_GEMM_ISA_INTERNAL_H
#define AG_GEMM_ISA_INTERNAL_H

#include "isa_internal.h"
#include "matmul_internal.h"

#include <stddef.h>
#include <stdint.h>

/* The instruction sets, for GEMM_ISA in the file that includes the
   template gemm_body_internal.h. */
#define GEMM_ISA_PORTABLE 0
#define GEMM_ISA_AVX2 1
#define GEMM_ISA_AVX512 2

/* A part of a product's work: products [q0, q1) and the block [i0,i1) x
   [j0,j1) of their C. */
typedef struct agi_gemm_part {
    int64_t q0, q1, i0, i1, j0, j1;
} agi_gemm_part;

/* The smallest part the packed path takes: rows, depth, multiply-adds. */
typedef struct agi_gemm_min {
    int64_t rows, depth, fmas;
} agi_gemm_min;

/* A tile of C: rows, and columns for each dtype. */
typedef struct agi_gemm_tile {
    int64_t rows, cols_f32, cols_f64;
} agi_gemm_tile;

/*
** One instruction set's kernels. region_* runs a part of g on the
** calling thread, in the summation order of matmul_internal.h. The tile
** sizes guide the split: a part whose rows start at a multiple of the
** row tile and whose columns start at a multiple of the column tile runs
** whole tiles (any part gives the same bits; whole tiles run faster).
*/
typedef struct agi_gemm_impl {
    const char *name;               /* "avx512", "avx2", "portable" */
    int fuses;                      /* one rounding per multiply-add */
    agi_gemm_tile small;            /* tile of shallow or short parts */
    agi_gemm_tile packed;           /* tile of large parts (packed) */
    agi_gemm_min pack_min;          /* parts at least this are packed */
    int64_t kc[2], mc[2], nc[2];    /* their blocks, [dtype] (for tests) */
    void (*region_f32)(const agi_gemm *g, const agi_gemm_part *w);
    void (*region_f64)(const agi_gemm *g, const agi_gemm_part *w);
} agi_gemm_impl;

/* The packed blocks' sizes where nonzero (agi_gemm_set_blocking, for
   tests), else each path's own: read by the kernels, set while no
   product runs. */
extern agi_gemm_blocking agi_gemm_blocks;

/* a * b * c for sizes >= 0, or INT64_MAX when that overflows. */
static inline int64_t agi_gemm_volume(int64_t a, int64_t b, int64_t c)
{
    if (a && b > INT64_MAX / a) return INT64_MAX;
    const int64_t ab = a * b;
    return ab && c > INT64_MAX / ab ? INT64_MAX : ab * c;
}

/* 1 if a part of rows x depth taking fmas multiply-adds is packed: at
   least im's minimum, each size the test's where it set one. */
static inline int agi_gemm_packs(const agi_gemm_min *im, int64_t rows, int64_t depth,
                                 int64_t fmas)
{
    const agi_gemm_blocking *t = &agi_gemm_blocks;
    return rows >= (t->min_rows > 0 ? t->min_rows : im->rows) &&
           depth >= (t->min_depth > 0 ? t->min_depth : im->depth) &&
           fmas >= (t->min_fmas > 0 ? t->min_fmas : im->fmas);
}

/*
** The calling thread's scratch buffer of at least bytes (64-byte
** aligned), for packing: kept from product to product (glibc would unmap
** a block this big at each free and fault it in again at the next
** product), grown on demand, freed when the thread exits. NULL when it
** cannot be had.
*/
void *agi_gemm_scratch(size_t bytes);

/* The x86 paths exist where GNU C (gcc, clang) targets x86-64. */
#if defined(AGI_ISA_X86)
#define AGI_GEMM_X86 1
extern const agi_gemm_impl agi_gemm_impl_avx512;
extern const agi_gemm_impl agi_gemm_impl_avx2;
#endif
extern const agi_gemm_impl agi_gemm_impl_portable;

#endif
