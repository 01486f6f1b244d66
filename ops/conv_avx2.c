/*
** conv_avx2.c: the convolution's row kernels for AVX2 (plain loops,
** which the compiler vectorizes for that target), whatever the build's
** own flags: the template conv_rows_internal.h. GCC also turns AVX-512 off
** here, so that a build with -march=native still tests a true AVX2 path.
*/
#include "ag_ops_internal.h"
#include "conv_internal.h"

#if defined(AGI_ISA_X86)

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC target("no-avx512f,avx2,fma")
#endif

#define CONV_ISA AGI_ISA_AVX2
#define CONV_TABLE agi_conv_rows_avx2
#define CONV_NAME "avx2"
#include "conv_rows_internal.h"

#if defined(__clang__)
#pragma clang attribute pop
#endif
#else
typedef int agi_conv_avx2_absent; /* not x86-64: no kernels here */
#endif
