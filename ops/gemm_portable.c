/*
** gemm_portable.c: the GEMM kernels in plain C (GCC vector extensions
** where the compiler has them), for any CPU: the template
** gemm_body_internal.h with the build's own flags. A multiply-add is a
** multiply then an add, each rounded, in every build: contraction into
** fma is turned off here, so this path gives the same bits whether the
** build targets a CPU with FMA or not (and not the bits of the FMA paths).
*/
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define GEMM_ISA GEMM_ISA_PORTABLE
#include "gemm_isa_internal.h"
#include "gemm_body_internal.h"
