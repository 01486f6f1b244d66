/*
** gemm_avx512.c: the GEMM kernels for AVX-512 (AVX512F and FMA),
** whatever the build's own flags: the template gemm_body_internal.h
** compiled for that target. matmul_kernel.c runs them only on a CPU that
** has AVX-512 (and an OS that saves its registers).
*/
#include "gemm_isa_internal.h"

#if defined(AGI_GEMM_X86)

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx2,fma")
#endif

#define GEMM_ISA GEMM_ISA_AVX512
#include "gemm_body_internal.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
typedef int agi_gemm_avx512_absent; /* not x86: no kernels here */
#endif
