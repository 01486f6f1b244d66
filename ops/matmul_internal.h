/*
** matmul_internal.h: the GEMM kernel behind ag_matmul and its backward
** products (matmul_kernel.c), for ops/ and the kernel benchmark. Users
** call ag_matmul; this header is not installed.
*/
#ifndef AG_MATMUL_INTERNAL_H
#define AG_MATMUL_INTERNAL_H

#include <stdint.h>

/*
** One batch of products C = op(A) @ op(B) (or C += when accumulate):
** op(A)(i,p) = a[i*a_rs + p*a_cs] is [m,k], op(B)(p,j) = b[p*b_rs + j*b_cs]
** is [k,n], C(i,j) = c[i*ldc + j]. Each operand is a contiguous matrix
** read in place or transposed: one of its two strides must be 1. Product
** q reads a + q*a_bs and b + q*b_bs and writes c + q*c_bs; c_bs == 0 sums
** every product of the batch into one C (in batch order).
*/
typedef struct agi_gemm {
    int dtype;                      /* AG_F32 or AG_F64 */
    int accumulate;                 /* C += instead of C = */
    int64_t m, n, k;
    const void *a;
    int64_t a_rs, a_cs;
    const void *b;
    int64_t b_rs, b_cs;
    void *c;
    int64_t ldc;
    int64_t batch;                  /* >= 1 */
    int64_t a_bs, b_bs, c_bs;
} agi_gemm;

/*
** Runs g, split over the thread pool (ag_threads.h) when it is big enough
** to pay. Every element of C is the sum of its k (times batch) products
** accumulated in order p = 0, 1, ... with one fused multiply-add each
** (a multiply then an add, each rounded, on the portable path), by one
** thread: results are bit-identical for any thread count and any
** blocking, and the same on the AVX-512 and AVX2 paths.
**
** Except dot products: when m <= AGI_GEMM_DOT_ROWS, k > 0, a_cs == 1 and
** b_rs == 1 (a row or a few times a matrix stored [n,k], as x @ W^T at
** batch 1), each product's element is sum_p a_ip b_pj in
** AGI_GEMM_DOT_LANES partial sums: s_l = fma(a_ip, b_pj, s_l) over p = l
** (mod LANES) in order from s_l = 0; then s_l = s_l + s_{l+h} for l < h,
** h = LANES/2, ..., 2, 1; then C = s_0 (C fresh) or C = C + s_0. The same
** on every path (with a multiply then an add on the portable one) and for
** any thread count.
**
** Large products pack their operands into a scratch buffer that each
** thread keeps (up to about 5 MB; freed when the thread exits, the
** calling thread's at process exit).
**
** The path (instruction set) is the one every per-ISA kernel runs
** (isa_internal.h), chosen once per process: the fastest this CPU runs,
** "avx512" (AVX512F, DQ and FMA), "avx2" (AVX2 and FMA) or "portable"
** (plain C), whatever flags built the library. The environment variable
** AG_KERNEL=avx512|avx2|portable caps it (read once): the fastest path the
** CPU runs at or below the one named; any other value is ignored.
*/
#define AGI_GEMM_DOT_ROWS 4
#define AGI_GEMM_DOT_LANES 16

void agi_gemm_run(const agi_gemm *g);

/* The same on the calling thread only. */
void agi_gemm_run_serial(const agi_gemm *g);

/* The path the kernel runs: "avx512", "avx2" or "portable". */
const char *agi_gemm_isa(void);

/* 1 if each multiply-add of the path is one fused operation (fma), 0 if
   it is a multiply then an add, each rounded. */
int agi_gemm_fuses(void);

/*
** For tests: runs every later product (and every other per-ISA kernel:
** agi_isa_use) on path isa ("avx512", "avx2" or "portable") if this CPU
** has it (returns 1), else changes nothing (returns 0); NULL returns to
** the path chosen at start (returns 1). Call it while no product runs.
*/
int agi_gemm_use(const char *isa);

/*
** For tests: the packed path's blocks (gemm_body_internal.h): depth kc (at
** most the default), mc rows of A per block, nc columns of B per block,
** rows of A packed at once (chunk), all rounded up to whole tiles and
** blocks, for parts of at least min_rows rows, min_depth deep and
** min_fmas multiply-adds. A zero keeps that size's default; NULL restores
** every default. Small blocks put every block edge within reach of small
** products (the results are the same bits). Call it while no product
** runs.
*/
typedef struct agi_gemm_blocking {
    int64_t kc, mc, nc, chunk;
    int64_t min_rows, min_depth, min_fmas;
} agi_gemm_blocking;

void agi_gemm_set_blocking(const agi_gemm_blocking *b);

#endif
