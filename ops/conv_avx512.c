/*
** conv_avx512.c: the convolution's row kernels for AVX-512 (AVX512F),
** whatever the build's own flags: the template conv_rows_internal.h with
** whole-vector rows, masked tails and the col2im gather. conv_kernel.c
** runs them only when the path in use is AVX-512 (isa_internal.h).
*/
#include "ag_ops_internal.h"
#include "conv_internal.h"

#if defined(AGI_ISA_X86)
#include <immintrin.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx2,fma"))), \
                             apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("avx512f,avx512dq,avx2,fma")
#endif

#define CONV_ISA AGI_ISA_AVX512
#define CONV_TABLE agi_conv_rows_avx512
#define CONV_NAME "avx512"
#include "conv_rows_internal.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
typedef int agi_conv_avx512_absent; /* not x86-64: no kernels here */
#endif
