/*
** threads_internal.h: the thread pool's side for the engine and the ops
** (threadpool.c), and the blocked loops their kernels use. It lives in the
** core (autograd/) because the backward walk splits its accumulations over
** the pool too; the ops include it through ag_ops_internal.h. The public
** controls are in ag_threads.h.
*/
#ifndef AG_THREADS_INTERNAL_H
#define AG_THREADS_INTERNAL_H

#include <stdint.h>

/* ---------------------------------------------------------- loops --- */

/*
** AGI_IVDEP before a loop tells gcc no iteration reads what another
** writes (an output may be an input, element for element), so its
** vectorizer needs no runtime overlap check. Clang vectorizes such loops
** with its own checks; its assume_safety pragma would warn (-Werror) on
** every loop with a libm call, so it gets none.
*/
#if defined(__GNUC__) && !defined(__clang__)
#define AGI_IVDEP _Pragma("GCC ivdep")
#else
#define AGI_IVDEP
#endif

#define AGI_VBLOCK 16

/*
** for (I = LO; I < HI; I++) { body }, the body being the variadic part,
** in blocks of AGI_VBLOCK indices then the tail: a block's fixed trip
** count lets gcc -O2 (its "very cheap" vectorizer cost model, which takes
** no loop that needs an epilogue) vectorize it; each index is computed
** alone, so the blocking changes no result.
*/
#define AGI_VLOOP(I, LO, HI, ...)                                         \
    do {                                                                  \
        int64_t I##_base = (LO);                                          \
        const int64_t I##_end = (HI);                                     \
        for (; I##_base + AGI_VBLOCK <= I##_end; I##_base += AGI_VBLOCK) { \
            AGI_IVDEP                                                     \
            for (int I##_k = 0; I##_k < AGI_VBLOCK; I##_k++) {            \
                const int64_t I = I##_base + I##_k;                       \
                __VA_ARGS__                                               \
            }                                                             \
        }                                                                 \
        for (int64_t I = I##_base; I < I##_end; I++) {                    \
            __VA_ARGS__                                                   \
        }                                                                 \
    } while (0)

/* The least work a task of a split gets, in elements: an elementwise
   kernel splits from 2 * AGI_PAR_GRAIN elements (some microseconds of
   work, as the matrix products' threshold), below that it stays on the
   calling thread. */
#define AGI_PAR_GRAIN 32768

typedef void (*agi_range_fn)(void *ctx, int64_t lo, int64_t hi);

/*
** Runs fn(ctx, lo, hi) on contiguous pieces that cover [0, n) once: on
** the calling thread when n < 2 * grain or one thread is set, else split
** over the thread pool (agi_parallel_for), each piece at least grain long
** and starting at a multiple of AGI_VBLOCK. fn must give every index the
** same result whatever the piece, so results do not depend on the thread
** count. Any n and grain: nothing runs for n <= 0, a grain < 1 is 1, and
** no arithmetic overflows (n / 2 < grain is n < 2 * grain). (threadpool.c)
*/
void agi_parallel_range_split(int64_t n, int64_t grain, agi_range_fn fn, void *ctx);
static inline void agi_parallel_range(int64_t n, int64_t grain, agi_range_fn fn, void *ctx)
{
    if (n > 0 && n / 2 < grain)         /* small: no thread setting read */
        fn(ctx, 0, n);
    else
        agi_parallel_range_split(n, grain, fn, ctx);
}

typedef void (*agi_task_fn)(void *ctx, int64_t task);

/* How many threads a parallel region may use now (ag_get_num_threads()). */
int agi_threads_available(void);

/*
** Runs fn(ctx, task) once for every task in [0, ntasks), spread over the
** pool's workers and the calling thread, and returns when all are done.
** Each thread runs its own contiguous range of tasks first (the caller
** the first range), then helps with the others': the same thread usually
** runs the same tasks from call to call, but a task must not depend on
** which thread runs it. When the pool is busy (another thread is in a
** parallel region), or has one thread, every task runs on the calling
** thread, in order.
*/
void agi_parallel_for(int64_t ntasks, agi_task_fn fn, void *ctx);

#endif
