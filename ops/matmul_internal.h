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
** (multiply then add where the build has no FMA), by one thread: results
** are bit-identical for any thread count and any blocking.
**
** Except dot products: when m <= AGI_GEMM_DOT_ROWS, k > 0, a_cs == 1 and
** b_rs == 1 (a row or a few times a matrix stored [n,k], as x @ W^T at
** batch 1), each product's element is sum_p a_ip b_pj in
** AGI_GEMM_DOT_LANES partial sums: s_l = fma(a_ip, b_pj, s_l) over p = l
** (mod LANES) in order from s_l = 0; then s_l = s_l + s_{l+h} for l < h,
** h = LANES/2, ..., 2, 1; then C = s_0 (C fresh) or C = C + s_0. The same
** in every build and for any thread count.
*/
#define AGI_GEMM_DOT_ROWS 4
#define AGI_GEMM_DOT_LANES 16

void agi_gemm_run(const agi_gemm *g);

/* The same on the calling thread only. */
void agi_gemm_run_serial(const agi_gemm *g);

/* The instruction set the kernel was built for: "avx512", "avx2",
   "gnu-vector" or "scalar". */
const char *agi_gemm_isa(void);

/* 1 if each multiply-add is one fused operation (fma), 0 if it is a
   multiply then an add, each rounded. */
int agi_gemm_fuses(void);

#endif
