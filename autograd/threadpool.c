/*
** threadpool.c: the persistent POSIX thread pool behind ag_threads.h and
** agi_parallel_for (threads_internal.h).
**
** One job at a time: the thread that takes `pool.use` (a trylock: a busy
** pool means "run inline") publishes the job, bumps the generation and
** wakes the workers; everyone, the caller included, claims task numbers,
** and the caller returns once every task has finished. It never waits for
** a worker that has not claimed a task, so a worker that is slow to wake
** (its core busy with another process) costs nothing: the caller runs the
** tasks itself.
**
** Home ranges: the tasks are cut into one contiguous range per
** participant (the caller is participant 0, worker w is w + 1), each with
** its own counter. A participant runs its own range first, in order, then
** takes what is left of the others'. So when the threads keep pace, the
** same task numbers of the same op run on the same thread step after step,
** and the data they write stays in that core's caches (on a machine whose
** cores sit on different chiplets, moving it costs more than the work).
**
** A counter holds the generation (high 32 bits) and the next task number
** (low 32), so a worker that wakes late for an old job cannot claim a task
** of a newer one: its claim (a compare-and-swap) fails on the generation.
** Before writing a new job, the caller closes every counter (the new
** generation, task number POOL_CLOSED), so a claim that succeeds proves
** the job fields read before it were that job's.
**
** Workers spin briefly on the generation after a job (ops come in
** bursts), then sleep on `pool.wake`. They are made lazily, never while
** the setting is 1, joined by ag_threads_shutdown (also at exit), and
** forgotten in a fork()ed child, which has none of them.
**
** agi_parallel_range (ag_ops_internal.h) splits an elementwise range into
** contiguous pieces, one task each.
*/
#include "ag_internal.h"
#include "ag_threads.h"
#include "threads_internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define POOL_MAX 512
#define POOL_SPIN_NS 50000          /* a worker spins this long before sleeping */
#define POOL_CLOSED 0xffffffffu     /* task number of a job being written */

/* One participant's range of tasks: its counter, alone in a cache line. */
typedef struct pool_range {
    _Alignas(64) atomic_uint_fast64_t next;     /* generation << 32 | next task */
} pool_range;

static struct {
    pthread_mutex_t use;            /* held by the thread running a job */
    pthread_mutex_t lock;           /* guards sleeping on wake and done */
    pthread_cond_t wake;            /* workers: a new job, or stop */
    pthread_cond_t done;            /* the caller: every task finished */
    pthread_t *workers;
    int nworkers;
    atomic_int nthreads;            /* the setting; 0 until first read */
    atomic_int stop;
    atomic_uint_fast64_t gen;       /* job generation */
    atomic_int_fast64_t finished;   /* tasks of the job finished */
    _Atomic(agi_task_fn) fn;        /* the job */
    _Atomic(void *) ctx;
    atomic_int_fast64_t ntasks;
    atomic_int nparts;              /* participants with a home range */
    pool_range ranges[POOL_MAX];
} pool = {.use = PTHREAD_MUTEX_INITIALIZER, .lock = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

static int64_t pool_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* First task of participant c's range when ntasks are cut into nparts. */
static int64_t pool_range_start(int64_t ntasks, int nparts, int c)
{
    return ntasks * c / nparts;
}

/* Claims the next task of range c of generation gen (< end); -1 when none
   is left or the job is no longer gen. */
static int64_t pool_claim(uint64_t gen, int c, int64_t end)
{
    atomic_uint_fast64_t *next = &pool.ranges[c].next;
    uint_fast64_t v = atomic_load(next);
    for (;;) {
        if ((uint32_t)(v >> 32) != (uint32_t)gen) return -1;
        int64_t task = (int64_t)(v & 0xffffffffu);
        if (task >= end) return -1;
        if (atomic_compare_exchange_weak(next, &v, v + 1)) return task;
    }
}

/* Runs tasks of job gen as participant me until none are left: its own
   range, then the others' in turn; signals the caller when the last task
   finishes. */
static void pool_drain(uint64_t gen, int me)
{
    agi_task_fn fn = atomic_load(&pool.fn);
    void *ctx = atomic_load(&pool.ctx);
    int64_t ntasks = atomic_load(&pool.ntasks);
    int nparts = atomic_load(&pool.nparts);
    if (nparts < 1 || nparts > POOL_MAX) return;        /* a newer job being written */
    for (int r = 0; r < nparts; r++) {
        int c = (me + r) % nparts;
        int64_t end = pool_range_start(ntasks, nparts, c + 1);
        for (int64_t task; (task = pool_claim(gen, c, end)) >= 0;) {
            fn(ctx, task);
            if (atomic_fetch_add(&pool.finished, 1) + 1 == ntasks) {
                pthread_mutex_lock(&pool.lock);
                pthread_cond_signal(&pool.done);
                pthread_mutex_unlock(&pool.lock);
            }
        }
    }
}

/* Spins up to POOL_SPIN_NS for gen to move past seen; 1 if it did. */
static int pool_spin(uint64_t seen)
{
    int64_t t0 = pool_ns();
    for (int i = 1;; i++) {
        if (atomic_load(&pool.gen) != seen || atomic_load(&pool.stop)) return 1;
        pool_relax();
        if (i % 64 == 0 && pool_ns() - t0 > POOL_SPIN_NS) return 0;
    }
}

/* What a worker is started with: the generation it has seen and its
   place among the participants. */
typedef struct pool_start {
    uint64_t seen;
    int me;
} pool_start;

static pool_start pool_starts[POOL_MAX];

static void *pool_worker(void *arg)
{
    const pool_start *start = arg;
    uint64_t seen = start->seen;
    const int me = start->me;
    for (;;) {
        if (!pool_spin(seen)) {
            pthread_mutex_lock(&pool.lock);
            while (atomic_load(&pool.gen) == seen && !atomic_load(&pool.stop))
                pthread_cond_wait(&pool.wake, &pool.lock);
            pthread_mutex_unlock(&pool.lock);
        }
        if (atomic_load(&pool.stop)) return NULL;
        seen = atomic_load(&pool.gen);
        pool_drain(seen, me);
    }
}

/* ------------------------------------------------------- lifecycle --- */

/* Joins every worker. Caller holds pool.use. */
static void pool_stop_workers(void)
{
    if (pool.nworkers == 0) return;
    pthread_mutex_lock(&pool.lock);
    atomic_store(&pool.stop, 1);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int i = 0; i < pool.nworkers; i++) pthread_join(pool.workers[i], NULL);
    free(pool.workers);
    pool.workers = NULL;
    pool.nworkers = 0;
    atomic_store(&pool.stop, 0);
}

static void pool_fork_prepare(void)
{
    pthread_mutex_lock(&pool.use);
    pthread_mutex_lock(&pool.lock);
}

static void pool_fork_parent(void)
{
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.use);
}

/* The child has only the forking thread: drop the parent's workers (their
   memory is the child's to free) and start afresh. */
static void pool_fork_child(void)
{
    free(pool.workers);
    pool.workers = NULL;
    pool.nworkers = 0;
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    pthread_mutex_unlock(&pool.lock);
    pthread_mutex_unlock(&pool.use);
}

static void pool_register(void)
{
    atexit(ag_threads_shutdown);
    pthread_atfork(pool_fork_prepare, pool_fork_parent, pool_fork_child);
}

/* Makes workers up to want (best effort: fewer if the system refuses).
   Caller holds pool.use. */
static void pool_grow(int want)
{
    if (pool.nworkers >= want) return;
    pthread_once(&pool_once, pool_register);
    pthread_t *w = realloc(pool.workers, (size_t)want * sizeof *w);
    if (!w) return;
    pool.workers = w;
    uint64_t gen = atomic_load(&pool.gen);
    while (pool.nworkers < want) {
        pool_start *start = &pool_starts[pool.nworkers];
        *start = (pool_start){gen, pool.nworkers + 1};
        if (pthread_create(&w[pool.nworkers], NULL, pool_worker, start) != 0) break;
        pool.nworkers++;
    }
}

void ag_threads_shutdown(void)
{
    pthread_mutex_lock(&pool.use);
    pool_stop_workers();
    pthread_mutex_unlock(&pool.use);
}

/* ----------------------------------------------------------- settings --- */

static int pool_default_threads(void)
{
    const char *env = getenv("AG_NUM_THREADS");
    if (env && *env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (*end == '\0' && n >= 1 && n <= POOL_MAX) return (int)n;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores < 1 ? 1 : cores > POOL_MAX ? POOL_MAX : (int)cores;
}

int ag_get_num_threads(void)
{
    int n = atomic_load(&pool.nthreads);
    if (n == 0) {
        int expect = 0;
        n = pool_default_threads();
        if (!atomic_compare_exchange_strong(&pool.nthreads, &expect, n)) n = expect;
    }
    return n;
}

ag_status ag_set_num_threads(int n)
{
    if (n < 0 || n > POOL_MAX)
        return ag_set_last_error(AG_ERR_ARG, "ag_set_num_threads: %d threads: must be in "
                                 "[1, %d] (0: the default)", n, POOL_MAX);
    if (n == 0) n = pool_default_threads();
    pthread_mutex_lock(&pool.use);
    atomic_store(&pool.nthreads, n);
    if (pool.nworkers > n - 1) pool_stop_workers();
    pthread_mutex_unlock(&pool.use);
    return AG_OK;
}

int agi_threads_available(void) { return ag_get_num_threads(); }

/* --------------------------------------------------------------- jobs --- */

/* Waits until every task of the job has finished: a spin (the workers
   are usually about to), then the condition variable. */
static void pool_wait(int64_t ntasks)
{
    for (int i = 0; i < 4096; i++) {
        if (atomic_load(&pool.finished) == ntasks) return;
        pool_relax();
    }
    pthread_mutex_lock(&pool.lock);
    while (atomic_load(&pool.finished) != ntasks) pthread_cond_wait(&pool.done, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
}

/* Publishes a job as generation gen, its tasks cut into nparts ranges
   (see the top of the file). Caller holds pool.use and the previous job
   has finished. */
static void pool_publish(uint64_t gen, int64_t ntasks, int nparts, agi_task_fn fn, void *ctx)
{
    const uint_fast64_t g = (gen << 32) & ~(uint_fast64_t)0xffffffffu;
    int old = atomic_load(&pool.nparts);
    for (int c = 0; c < (old > nparts ? old : nparts); c++)
        atomic_store(&pool.ranges[c].next, g | POOL_CLOSED);
    atomic_store(&pool.fn, fn);
    atomic_store(&pool.ctx, ctx);
    atomic_store(&pool.ntasks, ntasks);
    atomic_store(&pool.nparts, nparts);
    atomic_store(&pool.finished, 0);
    for (int c = 0; c < nparts; c++)
        atomic_store(&pool.ranges[c].next, g | (uint_fast64_t)pool_range_start(ntasks, nparts, c));
    pthread_mutex_lock(&pool.lock);
    atomic_store(&pool.gen, gen);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
}

void agi_parallel_for(int64_t ntasks, agi_task_fn fn, void *ctx)
{
    int threads = ag_get_num_threads();
    if (ntasks > 1 && ntasks < POOL_CLOSED && threads > 1 &&
        pthread_mutex_trylock(&pool.use) == 0) {
        int want = threads - 1 < ntasks - 1 ? threads - 1 : (int)(ntasks - 1);
        pool_grow(want);
        if (pool.nworkers > 0) {
            uint64_t gen = atomic_load(&pool.gen) + 1;
            int nparts = pool.nworkers + 1 < ntasks ? pool.nworkers + 1 : (int)ntasks;
            pool_publish(gen, ntasks, nparts, fn, ctx);
            pool_drain(gen, 0);
            pool_wait(ntasks);
            pthread_mutex_unlock(&pool.use);
            return;
        }
        pthread_mutex_unlock(&pool.use);
    }
    for (int64_t task = 0; task < ntasks; task++) fn(ctx, task);
}

/* ------------------------------------------------------------ ranges --- */

typedef struct range_job {
    int64_t n, piece;
    agi_range_fn fn;
    void *ctx;
} range_job;

static void range_task(void *ctx, int64_t task)
{
    const range_job *r = ctx;
    int64_t lo = task * r->piece, hi = r->n - lo < r->piece ? r->n : lo + r->piece;
    r->fn(r->ctx, lo, hi);
}

/* ceil(a / b) for a >= 0, b >= 1, with no a + b - 1 to overflow. */
static int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

void agi_parallel_range_split(int64_t n, int64_t grain, agi_range_fn fn, void *ctx)
{
    int threads = ag_get_num_threads();
    if (grain < 1) grain = 1;
    if (n <= 0) return;
    if (threads <= 1 || n / 2 < grain) {        /* n < 2 * grain */
        fn(ctx, 0, n);
        return;
    }
    int64_t pieces = n / grain;                 /* about 4 per thread, each >= grain */
    if (pieces > 4 * (int64_t)threads) pieces = 4 * (int64_t)threads;
    int64_t piece = ceil_div(ceil_div(n, pieces), AGI_VBLOCK) * AGI_VBLOCK;   /* <= n/2 + 16 */
    range_job r = {n, piece, fn, ctx};
    agi_parallel_for(ceil_div(n, piece), range_task, &r);
}

void ag_parallel_range(int64_t n, int64_t grain, void (*fn)(void *ctx, int64_t lo, int64_t hi),
                       void *ctx)
{
    if (fn) agi_parallel_range(n, grain, fn, ctx);
}
