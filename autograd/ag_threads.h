/*
** ag_threads.h: the thread pool that large ops split their work over:
** the matrix products (ag_matmul, ag_matmul_nt, ag_matmul_tn, ag_linear
** and their backward products, from about half a million multiply-adds
** up), and the elementwise ops, compound ops and reductions from about
** 65,536 elements up (a reduction only across its outputs, each summed
** whole by one thread). The pool is persistent: its workers are made the
** first time a parallel op runs with more than one thread, park on a
** condition variable between ops (after a spin of some tens of
** microseconds), and are joined at exit. Results do not depend on the
** number of threads: every output element is computed by one thread in
** one fixed order, so 1 thread and 8 give bit-identical tensors.
**
** Threads and tapes: a tape is used by one thread at a time, but two
** threads may each drive their own tape at once. Only one of them at a
** time gets the pool; an op that finds it busy runs on its own thread
** instead (same results, no waiting). After fork() the child starts with
** no workers and makes its own when it needs them.
**
** Persistent tensors are shared, not locked. One persistent parameter
** must not receive gradients from two threads at once: ag_backward and
** ag_grad accumulate into a leaf's grad buffer (make it, add to it) with
** no lock, so two tapes whose backward passes reach the same parameter
** concurrently race (lost updates; a data race to ThreadSanitizer). Give
** each thread its own copy of the parameters and sum the grads after, or
** run those backward passes one after the other. The same holds for any
** write to a persistent tensor (ag_assign, an optimizer step, a module's
** running statistics) while another thread reads or writes it.
*/
#ifndef AG_THREADS_H
#define AG_THREADS_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** Sets the number of threads a parallel op uses, the calling thread
** included (1: everything runs on the caller and no thread is made; 0:
** back to the default, see ag_get_num_threads). Waits for a parallel op
** running on another thread to finish; workers beyond the new count are
** joined (the next parallel op makes as many as it needs).
** Returns AG_OK, or AG_ERR_ARG (with ag_last_error()) when n is not in
** [0, 512]; the setting is then kept.
*/
ag_status ag_set_num_threads(int n);

/*
** The number of threads a parallel op uses. The default (until
** ag_set_num_threads is called, or after ag_set_num_threads(0)): the
** environment variable AG_NUM_THREADS when it holds an integer in
** [1, 512], else the number of online cores.
**
** On a loaded machine. A worker whose core is taken by another process
** costs little when it has not yet claimed a task (the caller runs that
** task itself), but when it is descheduled in the middle of one the
** caller waits for it. Measured on this project's 2-core machine with
** other jobs running (load average 9 to 12), train_fmnist --quick
** --epochs 2 (the CNN), with a busy-loop process added beside it: 1
** thread 21.4, 23.1, 21.5 s of training; 2 threads (the default) 15.2,
** 18.1, 20.1 s; without the busy loop (load 9 to 10): 1 thread 12.8,
** 11.9, 13.0 s, 2 threads 14.3, 11.9, 12.7 s. So the default stays the
** core count: under a fair scheduler two threads also get two shares of
** the machine. A pool that backs off (the caller runs jobs alone for a
** while after a job that took longer than the caller alone would have)
** was tried and was slower there (21.8, 25.6, 22.9 s with the busy loop):
** it gave up the second share too often. Set AG_NUM_THREADS=1 where one
** thread is known to be better (many processes each training at once).
*/
int ag_get_num_threads(void);

/*
** Runs fn(ctx, lo, hi) on contiguous pieces that cover [0, n) exactly
** once (PyTorch's at::parallel_for): on the calling thread when n < 2 *
** grain, one thread is set or the pool is busy, else over the pool, each
** piece at least grain long (about 4 pieces per thread). Returns when
** every piece has run. fn must give each index the same result whatever
** the piece (then results do not depend on the thread count) and may run
** on several threads at once, so it must not call ops on one tape from
** two pieces; ops it calls on its own data run on its thread. For a loop
** of the user's own (a data loader's batch assembly, a custom kernel).
** Any n and grain are safe: nothing runs when n <= 0, a grain below 1 is
** taken as 1, and a huge n or grain (up to INT64_MAX) overflows nothing.
*/
void ag_parallel_range(int64_t n, int64_t grain, void (*fn)(void *ctx, int64_t lo, int64_t hi),
                       void *ctx);

/*
** Joins and frees the pool's workers (the setting is kept; the next
** parallel op makes them again). Registered with atexit() when the first
** worker is made, so a program need not call it. Must not be called while
** another thread runs an op.
*/
void ag_threads_shutdown(void);

#ifdef __cplusplus
}
#endif
#endif
