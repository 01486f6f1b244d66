/*
** bench_shapes.h: the matmul shapes both benchmarks time (ours in
** bench_matmul.c, OpenBLAS's in openblas_matmul.c), the timer, and the
** output line format that bench/matmul_table.sh joins into a table.
**
** The shapes are the MLP's: a 784-256-128 network at batch 64, forward
** products and the two backward products of each Linear:
**   NN  y  = x @ W            [m,k] @ [k,n]
**   NT  dx = dy @ W^T         [m,k] @ ([n,k])^T
**   TN  dW = x^T @ dy         ([k,m])^T @ [k,n]
** on one thread (target: 0.85x OpenBLAS), then square products of 1024
** and 2048 on 1 and 2 threads (target: 1.0x OpenBLAS, issue 13).
*/
#ifndef BENCH_SHAPES_H
#define BENCH_SHAPES_H

#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct bench_shape {
    const char *name;   /* printed; no spaces */
    int ta, tb;         /* op(A) = A^T, op(B) = B^T */
    int64_t m, k, n;    /* op(A) [m,k] @ op(B) [k,n] */
    int threads;        /* both libraries run on this many threads */
    double target;      /* ours / OpenBLAS at least this */
} bench_shape;

static const bench_shape bench_shapes[] = {
    {"64x784@784x256", 0, 0, 64, 784, 256, 1, 0.85},
    {"64x256@(784x256)^T", 0, 1, 64, 256, 784, 1, 0.85},
    {"(64x784)^T@64x256", 1, 0, 784, 64, 256, 1, 0.85},
    {"64x256@256x128", 0, 0, 64, 256, 128, 1, 0.85},
    {"64x128@(256x128)^T", 0, 1, 64, 128, 256, 1, 0.85},
    {"(64x256)^T@64x128", 1, 0, 256, 64, 128, 1, 0.85},
    {"1024x1024@1024x1024", 0, 0, 1024, 1024, 1024, 1, 1.0},
    {"1024x1024@1024x1024", 0, 0, 1024, 1024, 1024, 2, 1.0},
    {"2048x2048@2048x2048", 0, 0, 2048, 2048, 2048, 1, 1.0},
    {"2048x2048@2048x2048", 0, 0, 2048, 2048, 2048, 2, 1.0},
};
#define BENCH_NSHAPES ((int)(sizeof bench_shapes / sizeof bench_shapes[0]))
#define BENCH_REPS 21           /* repetitions at most; the median is reported */
#define BENCH_MIN_REPS 7        /* repetitions at least */
#define BENCH_MAX_SECONDS 1.5   /* no new repetition past this (large shapes) */
#define BENCH_MIN_SECONDS 0.004 /* each repetition runs at least this long */

static double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bench_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* GFLOP/s of run(ctx) doing `flops` per call: a calibrated number of calls
   per repetition, BENCH_REPS repetitions (fewer, but BENCH_MIN_REPS, when
   they would take more than BENCH_MAX_SECONDS); the median, and in *best
   the fastest repetition (for a busy machine). */
static double bench_gflops(void (*run)(void *), void *ctx, double flops, double *best)
{
    double t_rep[BENCH_REPS];
    long calls = 1;
    run(ctx);                                       /* warm up */
    for (;;) {
        double t0 = bench_now();
        for (long c = 0; c < calls; c++) run(ctx);
        if (bench_now() - t0 >= BENCH_MIN_SECONDS) break;
        calls *= 2;
    }
    int reps = 0;
    for (double start = bench_now(); reps < BENCH_REPS; reps++) {
        if (reps >= BENCH_MIN_REPS && bench_now() - start > BENCH_MAX_SECONDS) break;
        double t0 = bench_now();
        for (long c = 0; c < calls; c++) run(ctx);
        t_rep[reps] = (bench_now() - t0) / (double)calls;
    }
    qsort(t_rep, (size_t)reps, sizeof t_rep[0], bench_cmp);
    *best = flops / t_rep[0] * 1e-9;
    return flops / t_rep[reps / 2] * 1e-9;
}

/* Fills x[0..n) with values in [-1, 1) from a fixed xorshift stream. */
static void bench_fill(double *x, int64_t n, uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        x[i] = (double)(s >> 11) / 9007199254740992.0 * 2 - 1;
    }
}

/* A matrix of n values in [-1, 1) from seed, as f64 or f32 (malloc'ed;
   NULL when out of memory). */
static void *bench_matrix(int64_t n, int f64, uint64_t seed)
{
    double *v = malloc((size_t)n * sizeof(double));
    if (!v) return NULL;
    bench_fill(v, n, seed);
    if (!f64) {
        float *f = (float *)v;          /* narrow in place, front to back */
        for (int64_t i = 0; i < n; i++) f[i] = (float)v[i];
    }
    return v;
}

/* One result line: "matmul SHAPE DTYPE MEDIAN_GFLOPS BEST_GFLOPS THREADS
   TARGET". */
static void bench_report(const bench_shape *s, const char *dtype, double median, double best)
{
    printf("matmul %s %s %.1f %.1f %d %.2f\n", s->name, dtype, median, best, s->threads,
           s->target);
    fflush(stdout);
}

#endif
