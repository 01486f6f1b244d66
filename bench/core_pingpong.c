/*
** core_pingpong.c: how far apart the machine's first two cores are. Two
** threads, pinned to CPUs 0 and 1, pass a counter back and forth through
** one cache line 200,000 times; the median round trip of 5 such runs is
** printed. Cores that share a last-level cache answer in well under
** 100 ns; cores on different chiplets (or sockets) take several hundred,
** and then any tensor one thread writes and the other reads crosses the
** chip: the cost that caps the 2-thread training row. Not a library
** benchmark: bench/run.sh quotes it in the table's notes.
**
**   core_pingpong       prints: core_pingpong round_trip_ns=T
*/
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define TRIPS 200000
#define RUNS 5

static _Alignas(64) atomic_long ball;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Pins the calling thread to cpu; 0 when the system refuses. */
static int pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    return pthread_setaffinity_np(pthread_self(), sizeof s, &s) == 0;
}

static void *partner(void *arg)
{
    (void)arg;
    pin(1);
    for (long i = 0; i < TRIPS; i++) {
        while (atomic_load(&ball) != 2 * i + 1) {}
        atomic_store(&ball, 2 * i + 2);
    }
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    double ns[RUNS];
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return fprintf(stderr, "core_pingpong: one CPU: nothing to measure\n"), 1;
    if (!pin(0)) return fprintf(stderr, "core_pingpong: cannot pin to CPU 0\n"), 1;
    for (int r = 0; r < RUNS; r++) {
        pthread_t t;
        atomic_store(&ball, 0);
        if (pthread_create(&t, NULL, partner, NULL) != 0)
            return fprintf(stderr, "core_pingpong: no second thread\n"), 1;
        double t0 = now();
        for (long i = 0; i < TRIPS; i++) {
            atomic_store(&ball, 2 * i + 1);
            while (atomic_load(&ball) != 2 * i + 2) {}
        }
        ns[r] = (now() - t0) / TRIPS * 1e9;
        pthread_join(t, NULL);
    }
    qsort(ns, RUNS, sizeof ns[0], cmp);
    printf("core_pingpong round_trip_ns=%.0f\n", ns[RUNS / 2]);
    return 0;
}
