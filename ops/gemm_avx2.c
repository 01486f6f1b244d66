/*
** gemm_avx2.c: the GEMM kernels for AVX2 with FMA (x86-64 since 2013),
** whatever the build's own flags: the template gemm_body_internal.h
** compiled for that target. matmul_kernel.c runs them only on a CPU that
** has both. GCC also turns AVX-512 off here, so that a build with
** -march=native on an AVX-512 machine still tests a true AVX2 path (clang
** 14 cannot inline its intrinsics into such a function: there the path
** may use AVX-512 encodings when the build allows them).
*/
#include "gemm_isa_internal.h"

#if defined(AGI_GEMM_X86)

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("no-avx512f,avx2,fma")
#endif

#define GEMM_ISA GEMM_ISA_AVX2
#include "gemm_body_internal.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
typedef int agi_gemm_avx2_absent; /* not x86: no kernels here */
#endif
