/*
** threads_internal.h: the thread pool's side for ops (threadpool.c). The
** public controls are in ag_threads.h.
*/
#ifndef AG_THREADS_INTERNAL_H
#define AG_THREADS_INTERNAL_H

#include <stdint.h>

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
