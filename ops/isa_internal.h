/*
** isa_internal.h: the one choice of instruction set for every kernel that
** has versions per ISA (the GEMM, the vector math, the convolution's rows,
** the byte lookup, the AGI_RANGE_MV pointwise loops). Each version is
** compiled for its own target (function attributes or a per-file pragma),
** whatever flags built the library, and isa.c picks one for the whole
** process at the first call: the best this CPU (and its OS) runs, from
** CPUID, or the one the environment variable AG_KERNEL names. Not
** installed.
**
** AG_KERNEL = avx512 | avx2 | portable, read once: the path named, or the
** best the CPU has below it when it lacks that one; any other value is
** ignored (the best path runs).
*/
#ifndef AG_ISA_INTERNAL_H
#define AG_ISA_INTERNAL_H

/* The paths, each a superset of the one below (macros: #if can test them). */
#define AGI_ISA_PORTABLE 0      /* the build's own flags (x86-64: SSE2) */
#define AGI_ISA_AVX2 1          /* AVX2 and FMA */
#define AGI_ISA_AVX512 2        /* AVX512F and DQ, with AVX2 and FMA */
#define AGI_ISA_COUNT 3

/* The x86 paths exist where GNU C (gcc, clang) targets x86-64. */
#if defined(__x86_64__) && defined(__GNUC__)
#define AGI_ISA_X86 1
#endif

/* The path every kernel runs (AGI_ISA_*): chosen at the first call, or
   the one agi_isa_use set. Cheap (one relaxed atomic load). */
int agi_isa(void);

/* "avx512", "avx2" or "portable" (NULL for another value). */
const char *agi_isa_name(int isa);

/* The path called name, or -1. */
int agi_isa_from_name(const char *name);

/* 1 if this CPU and OS run path isa (the portable one always). */
int agi_isa_supported(int isa);

/* The path AG_KERNEL = env gives (see above): the best supported one when
   env is NULL, empty or no path's name. */
int agi_isa_choose(const char *env);

/*
** For tests: every kernel runs path isa from now on if this CPU has it
** (returns 1), else nothing changes (returns 0); isa < 0 returns to the
** path chosen at start (returns 1). Call it while no kernel runs.
*/
int agi_isa_use(int isa);

#endif
