/*
** test_threads.c: the thread pool (ag_threads.h, threads_internal.h):
** the setting and its errors, the AG_NUM_THREADS default, every task run
** once, ag_parallel_range's pieces, nested and concurrent use (two tapes on two threads), no thread
** made at 1, shutdown and respawn, and a fork()ed child that gets a pool
** of its own.
*/
#include "test_util.h"
#include "matmul_internal.h"
#include "threads_internal.h"

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers --- */

/* Threads of this process (Linux: entries of /proc/self/task), or -1. */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* thread_count() once it equals want, or after about two seconds: a
   joined thread may linger in /proc for a moment after pthread_join. */
static int settled_thread_count(int want)
{
    int n = thread_count();
    for (int i = 0; i < 2000 && n != want; i++) {
        nanosleep(&(struct timespec){0, 1000000}, NULL);
        n = thread_count();
    }
    return n;
}

/* thread_count() once it has not changed for 20 ms (at most ~2 s). */
static int steady_thread_count(void)
{
    int n = thread_count(), same = 0;
    for (int i = 0; i < 2000 && same < 20; i++) {
        nanosleep(&(struct timespec){0, 1000000}, NULL);
        int m = thread_count();
        same = m == n ? same + 1 : 0;
        n = m;
    }
    return n;
}

static int online_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 512 ? 512 : (int)n;
}

/* A task that counts its own runs (one slot per task: no race). */
typedef struct count_ctx {
    int *runs;
    int64_t ntasks;
} count_ctx;

static void count_task(void *ctx, int64_t task)
{
    count_ctx *c = ctx;
    c->runs[task]++;
}

/* Runs ntasks counting tasks and asserts each ran exactly once. */
static void check_each_task_once(int64_t ntasks)
{
    int *runs = calloc((size_t)(ntasks > 0 ? ntasks : 1), sizeof(int));
    ck_assert_ptr_nonnull(runs);
    count_ctx c = {runs, ntasks};
    agi_parallel_for(ntasks, count_task, &c);
    for (int64_t i = 0; i < ntasks; i++)
        ck_assert_msg(runs[i] == 1, "task %lld ran %d times", (long long)i, runs[i]);
    free(runs);
}

/* ----------------------------------------------------------- settings --- */

START_TEST(test_set_num_threads_rejects_out_of_range)
{
    ck_assert_int_eq(ag_set_num_threads(3), AG_OK);
    ck_assert_int_eq(ag_set_num_threads(-1), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_set_num_threads"));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "-1"));
    ck_assert_int_eq(ag_set_num_threads(513), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "513"));
    ck_assert_int_eq(ag_get_num_threads(), 3);
    ck_assert_int_eq(ag_set_num_threads(1), AG_OK);
    ck_assert_int_eq(ag_get_num_threads(), 1);
    ck_assert_int_eq(ag_set_num_threads(512), AG_OK);
    ck_assert_int_eq(ag_get_num_threads(), 512);
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
}
END_TEST

/* ag_set_num_threads(0) goes back to the default: AG_NUM_THREADS when it
   is a count in range, else the online cores. */
START_TEST(test_default_comes_from_environment_or_cores)
{
    const char *old = getenv("AG_NUM_THREADS");
    char *saved = old ? strdup(old) : NULL;
    const char *bad[] = {"0", "-2", "abc", "3x", "", "100000"};
    setenv("AG_NUM_THREADS", "3", 1);
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
    ck_assert_int_eq(ag_get_num_threads(), 3);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("AG_NUM_THREADS", bad[i], 1);
        ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
        ck_assert_msg(ag_get_num_threads() == online_cores(), "AG_NUM_THREADS=%s gave %d",
                      bad[i], ag_get_num_threads());
    }
    unsetenv("AG_NUM_THREADS");
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
    ck_assert_int_eq(ag_get_num_threads(), online_cores());
    if (saved) setenv("AG_NUM_THREADS", saved, 1);
    free(saved);
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
}
END_TEST

/* --------------------------------------------------------------- jobs --- */

START_TEST(test_parallel_for_runs_each_task_once)
{
    for (int threads = 1; threads <= 4; threads++) {
        ck_assert_int_eq(ag_set_num_threads(threads), AG_OK);
        check_each_task_once(0);
        check_each_task_once(1);
        check_each_task_once(2);
        check_each_task_once(1000);
        /* uneven home ranges, fewer tasks than threads, then more again */
        const int64_t counts[] = {3, 5, 7, 63, 2, 1001, 3};
        for (int rep = 0; rep < 50; rep++)
            for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++)
                check_each_task_once(counts[k]);
    }
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
}
END_TEST

/* ag_parallel_range: counts each index it is given and the pieces. */
typedef struct range_count {
    int *hits;
    atomic_int pieces;
    int64_t grain, n;
    atomic_int short_piece;     /* a piece shorter than grain (but the last) */
} range_count;

static void range_fn(void *ctx, int64_t lo, int64_t hi)
{
    range_count *c = ctx;
    atomic_fetch_add(&c->pieces, 1);
    if (hi - lo < c->grain && hi != c->n) atomic_store(&c->short_piece, 1);
    for (int64_t i = lo; i < hi; i++) c->hits[i]++;
}

START_TEST(test_parallel_range_covers_each_index_once)
{
    const int64_t n = 100003, grain = 1000;
    int *hits = calloc((size_t)n, sizeof *hits);
    ck_assert_ptr_nonnull(hits);
    for (int threads = 1; threads <= 3; threads++) {
        ck_assert_int_eq(ag_set_num_threads(threads), AG_OK);
        range_count c = {hits, 0, grain, n, 0};
        memset(hits, 0, (size_t)n * sizeof *hits);
        ag_parallel_range(n, grain, range_fn, &c);
        for (int64_t i = 0; i < n; i++) ck_assert_int_eq(hits[i], 1);
        ck_assert_int_eq(atomic_load(&c.short_piece), 0);
        /* one thread: one piece; more: about 4 per thread */
        ck_assert_int_eq(atomic_load(&c.pieces), threads == 1 ? 1 : 4 * threads);
        c.pieces = 0;                                   /* below 2 grains: one piece */
        memset(hits, 0, (size_t)n * sizeof *hits);
        c.n = 1999;
        ag_parallel_range(1999, grain, range_fn, &c);
        ck_assert_int_eq(atomic_load(&c.pieces), 1);
        ck_assert_int_eq(hits[0] + hits[1998] + hits[1999], 2);
    }
    ag_parallel_range(10, 1, NULL, NULL);               /* no function: nothing runs */
    free(hits);
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
}
END_TEST

/* ag_parallel_range over a range too large to visit: records the pieces. */
typedef struct span_log {
    pthread_mutex_t lock;
    int n;
    int64_t lo[64], hi[64];
} span_log;

static void span_fn(void *ctx, int64_t lo, int64_t hi)
{
    span_log *l = ctx;
    pthread_mutex_lock(&l->lock);
    if (l->n < 64) l->lo[l->n] = lo, l->hi[l->n] = hi;
    l->n++;
    pthread_mutex_unlock(&l->lock);
}

/* The pieces in l tile [0, n) exactly (sorted by lo first). */
static void assert_tiles(span_log *l, int64_t n)
{
    ck_assert_int_ge(l->n, 1);
    ck_assert_int_le(l->n, 64);
    for (int a = 1; a < l->n; a++)                      /* insertion sort by lo */
        for (int b = a; b > 0 && l->lo[b - 1] > l->lo[b]; b--) {
            int64_t tl = l->lo[b], th = l->hi[b];
            l->lo[b] = l->lo[b - 1], l->hi[b] = l->hi[b - 1];
            l->lo[b - 1] = tl, l->hi[b - 1] = th;
        }
    int64_t at = 0;
    for (int k = 0; k < l->n; k++) {
        ck_assert_int_eq(l->lo[k], at);
        ck_assert_int_gt(l->hi[k], l->lo[k]);
        at = l->hi[k];
    }
    ck_assert_int_eq(at, n);
}

/* Regression (#11): a huge grain or n overflowed 2 * grain and the piece
   arithmetic (a division by zero: SIGFPE). */
START_TEST(test_parallel_range_huge_n_and_grain)
{
    const int64_t ns[3] = {INT64_MAX, INT64_MAX - 1, 3};
    const int64_t grains[4] = {INT64_MAX, INT64_MAX / 2 + 1, 1, -5};
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(ag_set_num_threads(threads), AG_OK);
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 4; b++) {
                span_log l = {PTHREAD_MUTEX_INITIALIZER, 0, {0}, {0}};
                ag_parallel_range(ns[a], grains[b], span_fn, &l);
                assert_tiles(&l, ns[a]);
                /* one piece when n < 2 * grain, else (a huge n, threads > 1)
                   several (3 is one piece of AGI_VBLOCK) */
                int whole = grains[b] > ns[a] / 2;
                if (whole || threads == 1) ck_assert_int_eq(l.n, 1);
                else if (ns[a] > 1000) ck_assert_int_ge(l.n, 2);
                pthread_mutex_destroy(&l.lock);
            }
        span_log none = {PTHREAD_MUTEX_INITIALIZER, 0, {0}, {0}};
        ag_parallel_range(0, INT64_MAX, span_fn, &none);       /* empty: nothing runs */
        ag_parallel_range(-7, 1, span_fn, &none);
        ck_assert_int_eq(none.n, 0);
    }
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
}
END_TEST

/* A task that itself runs a parallel loop: the pool is busy, so the inner
   loop runs on the task's own thread, without deadlock. */
static void nested_task(void *ctx, int64_t task)
{
    int *inner = ctx;
    count_ctx c = {inner + task * 50, 50};
    agi_parallel_for(50, count_task, &c);
}

START_TEST(test_parallel_for_nested_runs_inline)
{
    ck_assert_int_eq(ag_set_num_threads(2), AG_OK);
    int *inner = calloc(8 * 50, sizeof(int));
    ck_assert_ptr_nonnull(inner);
    agi_parallel_for(8, nested_task, inner);
    for (int i = 0; i < 8 * 50; i++) ck_assert_int_eq(inner[i], 1);
    free(inner);
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
}
END_TEST

/* No worker exists at 1 thread; 3 threads make 2; shutdown joins them and
   the next job makes them again. */
START_TEST(test_workers_made_lazily_and_joined)
{
    ag_threads_shutdown();
    int base = steady_thread_count();
    if (base < 0) return;           /* no /proc: nothing to count with */
    ck_assert_int_eq(ag_set_num_threads(1), AG_OK);
    check_each_task_once(100);
    ck_assert_int_eq(settled_thread_count(base), base);
    ck_assert_int_eq(ag_set_num_threads(3), AG_OK);
    check_each_task_once(100);
    ck_assert_int_eq(settled_thread_count(base + 2), base + 2);
    ck_assert_int_eq(ag_set_num_threads(2), AG_OK);     /* fewer: joined */
    ck_assert_int_eq(settled_thread_count(base), base);
    check_each_task_once(100);
    ck_assert_int_eq(settled_thread_count(base + 1), base + 1);
    ag_threads_shutdown();
    ck_assert_int_eq(settled_thread_count(base), base);
    check_each_task_once(100);
    ck_assert_int_eq(settled_thread_count(base + 1), base + 1);
    ag_threads_shutdown();
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
}
END_TEST

/* --------------------------------------------------- threads and tapes --- */

enum { CM = 70, CK = 130, CN = 61, CROUNDS = 3 };

typedef struct tape_job {
    ag_tensor *a, *b;
    double out[CM * CN];
    int ok;
} tape_job;

/* Products on a tape of this thread's own, several times over. */
static void *tape_thread(void *arg)
{
    tape_job *j = arg;
    ag_tape *t = ag_tape_new();
    j->ok = t != NULL;
    for (int r = 0; r < CROUNDS && j->ok; r++) {
        ag_tensor *y = ag_matmul(t, j->a, j->b);
        j->ok = y != NULL;
        for (int64_t i = 0; j->ok && i < CM * CN; i++) j->out[i] = ag_tensor_get(y, i);
        ag_tape_reset(t);
    }
    ag_tape_free(t);
    return NULL;
}

/* Two threads, each with its own tape, multiply at once (one of them gets
   the pool, the other runs inline): both get the one-thread result. */
START_TEST(test_two_tapes_on_two_threads)
{
    ag_rng *r = ag_rng_new(9);
    ag_tensor *a = ag_rand_uniform(NULL, r, AG_F32, 2, SHAPE(CM, CK), -1, 1);
    ag_tensor *b = ag_rand_uniform(NULL, r, AG_F32, 2, SHAPE(CK, CN), -1, 1);
    ag_rng_free(r);
    static tape_job ref, jobs[2];
    ck_assert_int_eq(ag_set_num_threads(1), AG_OK);
    ref.a = a, ref.b = b;
    tape_thread(&ref);
    ck_assert(ref.ok);
    ck_assert_int_eq(ag_set_num_threads(2), AG_OK);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        jobs[i].a = a, jobs[i].b = b;
        ck_assert_int_eq(pthread_create(&th[i], NULL, tape_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
        ck_assert(jobs[i].ok);
        ck_assert_int_eq(memcmp(jobs[i].out, ref.out, sizeof ref.out), 0);
    }
    ag_tensor_free(a);
    ag_tensor_free(b);
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
}
END_TEST

/* The parent has workers; a fork()ed child has none of them, makes its
   own for a parallel product, and shuts them down. */
START_TEST(test_forked_child_gets_its_own_pool)
{
    ck_assert_int_eq(ag_set_num_threads(2), AG_OK);
    check_each_task_once(64);                       /* the parent's worker */
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        int runs[64] = {0}, ok = 1;
        count_ctx c = {runs, 64};
        agi_parallel_for(64, count_task, &c);
        for (int i = 0; i < 64; i++) ok &= runs[i] == 1;
        ag_threads_shutdown();
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    check_each_task_once(64);                       /* the parent's pool still works */
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
}
END_TEST

Suite *suite_threads(void)
{
    Suite *s = suite_create("threads");
    TU_ADD(s, test_set_num_threads_rejects_out_of_range);
    TU_ADD(s, test_default_comes_from_environment_or_cores);
    TU_ADD(s, test_parallel_for_runs_each_task_once);
    TU_ADD(s, test_parallel_for_nested_runs_inline);
    TU_ADD(s, test_parallel_range_covers_each_index_once);
    TU_ADD(s, test_parallel_range_huge_n_and_grain);
    TU_ADD(s, test_workers_made_lazily_and_joined);
    TU_ADD(s, test_two_tapes_on_two_threads);
    {   /* tagged: ThreadSanitizer cannot follow threads made in a forked
           child ("dup thread with used id"), so make test-tsan leaves it out */
        TCase *tc = tcase_create("test_forked_child_gets_its_own_pool");
        tcase_set_tags(tc, "fork");
        tcase_add_test(tc, test_forked_child_gets_its_own_pool);
        suite_add_tcase(s, tc);
    }
    return s;
}
