/*
** bench_util.h: what the benchmarks of bench/ against PyTorch share (the
** matmul pair has bench_shapes.h): a clock, a median, peak resident
** memory, the flags every program takes, and the MLP they all train,
** built from the public API only. Each bench_NAME.c has a twin
** bench_NAME.py doing the same work with PyTorch; both print one result
** line of "key=value" words that bench/run.sh reads.
**
** The MLP: Linear 784-256, act, Linear 256-128, act, Linear 128-10 (act is
** ReLU, or tanh where a smooth function is wanted), PyTorch's default init,
** cross-entropy on the logits; bench_mlp's --hidden 1024,1024 makes the
** wide one, 784-1024-1024-10 (issue 13). No BatchNorm, no Dropout: the issue's
** PyTorch figures are for this plain MLP, and it is what both sides run.
*/
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include "ag.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define BU_IN 784
#define BU_H1 256
#define BU_H2 128
#define BU_OUT 10
#define BU_NPARAMS 6        /* three weights, three biases */

static inline double bu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline int bu_cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The median of v[0..n) (sorts v). */
static inline double bu_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bu_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Peak resident memory of this process so far, in MB (getrusage). */
static inline double bu_maxrss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;   /* Linux: kilobytes */
}

/* The flags every benchmark takes: --dtype f32|f64, --threads N,
   --data DIR (bench_mlp), --act relu|tanh (bench_hvp; NULL when not given),
   --hidden H1,H2 and --batch N (bench_mlp; default 256,128 and 64). */
typedef struct bu_args {
    ag_dtype dtype;
    int threads;
    const char *data;
    const char *act;
    int h1, h2, batch;
} bu_args;

/* Parses argv into a (defaults: f32, 1 thread); sets the thread
   count. Returns 0, or -1 after printing what is wrong. */
static inline int bu_parse(int argc, char **argv, bu_args *a)
{
    *a = (bu_args){AG_F32, 1, "build/data/fashion-mnist", NULL, BU_H1, BU_H2, 64};
    for (int i = 1; i < argc; i += 2) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) goto bad;
        if (!strcmp(f, "--dtype") && (!strcmp(v, "f32") || !strcmp(v, "f64")))
            a->dtype = v[1] == '6' ? AG_F64 : AG_F32;
        else if (!strcmp(f, "--threads") && atoi(v) >= 1) a->threads = atoi(v);
        else if (!strcmp(f, "--data")) a->data = v;
        else if (!strcmp(f, "--act") && (!strcmp(v, "relu") || !strcmp(v, "tanh"))) a->act = v;
        else if (!strcmp(f, "--hidden") && sscanf(v, "%d,%d", &a->h1, &a->h2) == 2 &&
                 a->h1 >= 1 && a->h2 >= 1) continue;
        else if (!strcmp(f, "--batch") && atoi(v) >= 1) a->batch = atoi(v);
        else goto bad;
    }
    if (ag_set_num_threads(a->threads) != AG_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], ag_last_error());
        return -1;
    }
    return 0;
bad:
    fprintf(stderr, "%s: bad flags; takes --dtype f32|f64 --threads N --data DIR "
            "--act relu|tanh --hidden H1,H2 --batch N\n", argv[0]);
    return -1;
}

static inline const char *bu_dtype_name(ag_dtype dt) { return dt == AG_F64 ? "f64" : "f32"; }

/* The MLP 784-h1-h2-10 with act between the layers, init from a fixed
   seed; its parameters into params[BU_NPARAMS]. NULL on failure (message
   printed). */
static inline ag_module *bu_mlp_new_sized(ag_dtype dt, const char *act, int h1, int h2,
                                          ag_tensor **params)
{
    ag_rng *rng = ag_rng_new(1);
    int tanh_act = !strcmp(act, "tanh");
    ag_module *net = rng ? ag_sequential_new(5, (ag_module *[]){
        ag_linear_new(BU_IN, h1, 1, dt, rng), tanh_act ? ag_tanh_new() : ag_relu_new(),
        ag_linear_new(h1, h2, 1, dt, rng), tanh_act ? ag_tanh_new() : ag_relu_new(),
        ag_linear_new(h2, BU_OUT, 1, dt, rng)}) : NULL;
    ag_rng_free(rng);
    if (!net || ag_module_parameters(net, params, BU_NPARAMS) != BU_NPARAMS) {
        fprintf(stderr, "bench: building the MLP: %s\n", ag_last_error());
        ag_module_free(net);
        return NULL;
    }
    return net;
}

/* The MLP 784-256-128-10 (bu_mlp_new_sized's contract). */
static inline ag_module *bu_mlp_new(ag_dtype dt, const char *act, ag_tensor **params)
{
    return bu_mlp_new_sized(dt, act, BU_H1, BU_H2, params);
}

#endif
