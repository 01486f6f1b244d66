/*
** isa.c: the choice of instruction set (isa_internal.h): one CPUID probe,
** one reading of AG_KERNEL, one value every per-ISA kernel dispatches on.
*/
#include "isa_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const isa_names[AGI_ISA_COUNT] = {"portable", "avx2", "avx512"};

const char *agi_isa_name(int isa)
{
    return isa >= 0 && isa < AGI_ISA_COUNT ? isa_names[isa] : NULL;
}

int agi_isa_from_name(const char *name)
{
    for (int i = 0; name && i < AGI_ISA_COUNT; i++)
        if (!strcmp(name, isa_names[i])) return i;
    return -1;
}

/* The best path this CPU runs (__builtin_cpu_supports also asks the OS,
   through XGETBV, whether it saves the wider registers). */
static int isa_best(void)
{
#if defined(AGI_ISA_X86)
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
        return AGI_ISA_PORTABLE;
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512dq"))
        return AGI_ISA_AVX2;
    return AGI_ISA_AVX512;
#else
    return AGI_ISA_PORTABLE;
#endif
}

int agi_isa_supported(int isa)
{
    return isa >= 0 && isa <= isa_best();
}

int agi_isa_choose(const char *env)
{
    const int best = isa_best(), named = agi_isa_from_name(env);
    return named >= 0 && named < best ? named : best;
}

static _Atomic int isa_now = -1;            /* the path in use; -1 before the first */
static int isa_start;                       /* chosen at the first call */
static pthread_once_t isa_once = PTHREAD_ONCE_INIT;

static void isa_init(void)
{
    isa_start = agi_isa_choose(getenv("AG_KERNEL"));
    int unset = -1;
    atomic_compare_exchange_strong(&isa_now, &unset, isa_start);
}

int agi_isa(void)
{
    const int isa = atomic_load_explicit(&isa_now, memory_order_relaxed);
    if (isa >= 0) return isa;
    pthread_once(&isa_once, isa_init);
    return atomic_load(&isa_now);
}

int agi_isa_use(int isa)
{
    pthread_once(&isa_once, isa_init);
    if (isa >= 0 && !agi_isa_supported(isa)) return 0;
    atomic_store(&isa_now, isa < 0 ? isa_start : isa);
    return 1;
}
