/*
** vmath_ulp.c: measures the error of the vector math (ag_vmath.h) in ulps
** against glibc: its double functions for the f32 results, its long
** double ones for the f64 results. Not a benchmark and not a test (the
** suite's tests/test_vmath.c checks the bounds on fewer points): the tool
** that gave the table in ag_vmath.h. Public API only; the path is
** AG_KERNEL's.
**
**   make vmath-ulp                  every path (AG_KERNEL=avx512, avx2, portable)
**   AG_KERNEL=avx2 build/bench/vmath_ulp [--f32-stride S] [--f64-points N]
**                                        [--only NAME]
**
** f32: every S-th bit pattern of the 2^32 (default 64: 67 million inputs
** per function), plus a dense grid of the function's main range; f64: N
** random bit patterns (default 4 million) plus N points of the main range.
** Prints one line per function and dtype: the largest error and where.
*/
#include "ag_vmath.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 4096

/* The error of y in ulps of the exact ref, in f32 or f64. Both NaN is 0;
   a NaN against a number, or infinities that differ, is 1e9. An infinity
   (and a ref beyond the type's range) counts as the next power of two
   past the largest finite value. */
static double ulp_err(long double y, long double ref, int mant, int emin, int emax)
{
    if (isnan(ref) || isnan(y)) return isnan(ref) && isnan(y) ? 0 : 1e9;
    long double big = ldexpl(1, emax + 1);
    if (isinf(ref) && isinf(y)) return signbit(ref) == signbit(y) ? 0 : 1e9;
    if (isinf(ref) || fabsl(ref) > big) ref = copysignl(big, ref);
    if (isinf(y)) y = copysignl(big, y);
    int e;
    frexpl(ref, &e);
    e = e - 1 < emin ? emin : e - 1;
    return (double)(fabsl(y - ref) / ldexpl(1, e - mant));
}

typedef struct fn {
    const char *name;
    void (*f32)(float *, const float *, int64_t);
    void (*f64)(double *, const double *, int64_t);
    double (*ref32)(double);
    long double (*ref64)(long double);
    double lo, hi;                      /* the dense grid */
} fn;

static double sig_d(double x) { return 1 / (1 + exp(-x)); }
static long double sig_l(long double x) { return 1 / (1 + expl(-x)); }
static double sp_d(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static long double sp_l(long double x) { return x > 0 ? x + log1pl(expl(-x)) : log1pl(expl(x)); }
static double elu_d(double x) { return x > 0 ? x : expm1(x); }
static long double elu_l(long double x) { return x > 0 ? x : expm1l(x); }
static void elu32(float *y, const float *x, int64_t n) { ag_velu_f32(y, x, n, 1); }
static void elu64(double *y, const double *x, int64_t n) { ag_velu_f64(y, x, n, 1); }

static const fn fns[] = {
    {"exp", ag_vexp_f32, ag_vexp_f64, exp, expl, -110, 110},
    {"expm1", ag_vexpm1_f32, ag_vexpm1_f64, expm1, expm1l, -20, 20},
    {"log", ag_vlog_f32, ag_vlog_f64, log, logl, 0, 4},
    {"log1p", ag_vlog1p_f32, ag_vlog1p_f64, log1p, log1pl, -1, 4},
    {"tanh", ag_vtanh_f32, ag_vtanh_f64, tanh, tanhl, -10, 10},
    {"sigmoid", ag_vsigmoid_f32, ag_vsigmoid_f64, sig_d, sig_l, -110, 40},
    {"softplus", ag_vsoftplus_f32, ag_vsoftplus_f64, sp_d, sp_l, -110, 40},
    {"elu", elu32, elu64, elu_d, elu_l, -20, 5},
    {"erf", ag_verf_f32, ag_verf_f64, erf, erfl, -7, 7},
    {"sin", ag_vsin_f32, ag_vsin_f64, sin, sinl, -100, 100},
    {"cos", ag_vcos_f32, ag_vcos_f64, cos, cosl, -100, 100},
};

typedef struct worst { double err; double at; } worst;

static void check32(const fn *f, const float *x, int n, worst *w)
{
    float y[CHUNK];
    f->f32(y, x, n);
    for (int i = 0; i < n; i++) {
        double e = ulp_err(y[i], f->ref32(x[i]), 23, -126, 127);
        if (e > w->err) w->err = e, w->at = x[i];
    }
}

static void check64(const fn *f, const double *x, int n, worst *w)
{
    double y[CHUNK];
    f->f64(y, x, n);
    for (int i = 0; i < n; i++) {
        double e = ulp_err(y[i], f->ref64(x[i]), 52, -1022, 1023);
        if (e > w->err) w->err = e, w->at = x[i];
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t next64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void run32(const fn *f, uint64_t stride)
{
    worst w = {0, 0};
    float x[CHUNK];
    int k = 0;
    for (uint64_t b = 0; b < (1ull << 32); b += stride) {
        uint32_t u = (uint32_t)b;
        memcpy(&x[k++], &u, 4);
        if (k == CHUNK) check32(f, x, k, &w), k = 0;
    }
    for (int i = 0; i < 1 << 20; i++) {
        x[k++] = (float)(f->lo + (f->hi - f->lo) * i / (1 << 20));
        if (k == CHUNK) check32(f, x, k, &w), k = 0;
    }
    if (k) check32(f, x, k, &w);
    printf("%-9s f32 %6.3f ulp at %.9g\n", f->name, w.err, w.at);
}

static void run64(const fn *f, long n)
{
    worst w = {0, 0};
    double x[CHUNK];
    int k = 0;
    for (long i = 0; i < 2 * n; i++) {
        if (i < n) {
            uint64_t u = next64();
            memcpy(&x[k++], &u, 8);
        } else {
            x[k++] = f->lo + (f->hi - f->lo) * (double)(i - n) / (double)n;
        }
        if (k == CHUNK) check64(f, x, k, &w), k = 0;
    }
    if (k) check64(f, x, k, &w);
    printf("%-9s f64 %6.3f ulp at %.17g\n", f->name, w.err, w.at);
}

/* pow over x in (0, 4] (and its negation) times y in [-40, 40], plus random
   bit pairs. */
static void run_pow(long n)
{
    worst w32 = {0, 0}, w64 = {0, 0};
    double px = 0, py = 0, qx = 0, qy = 0;
    for (long i = 0; i < n; i++) {
        double x, y;
        if (i % 2) {
            uint64_t a = next64(), b = next64();
            memcpy(&x, &a, 8), memcpy(&y, &b, 8);
            if (i % 4 == 1) x = ldexp((double)(a >> 11), -53) * 64, y = ldexp((double)(b >> 11), -53) * 200 - 100;
        } else {
            x = ldexp((double)(next64() >> 11), -53) * 4;
            y = ldexp((double)(next64() >> 11), -53) * 80 - 40;
            if (i % 8 == 0) x = -x, y = nearbyint(y);
        }
        double r64;
        ag_vpow_f64(&r64, &x, &y, 1);
        double e = ulp_err(r64, powl(x, y), 52, -1022, 1023);
        if (e > w64.err) w64.err = e, px = x, py = y;
        float xf = (float)x, yf = (float)y, r32;
        ag_vpow_f32(&r32, &xf, &yf, 1);
        e = ulp_err(r32, pow(xf, yf), 23, -126, 127);
        if (e > w32.err) w32.err = e, qx = xf, qy = yf;
    }
    printf("%-9s f32 %6.3f ulp at %.9g^%.9g\n", "pow", w32.err, qx, qy);
    printf("%-9s f64 %6.3f ulp at %.17g^%.17g\n", "pow", w64.err, px, py);
}

int main(int argc, char **argv)
{
    uint64_t stride = 64;
    long points = 4000000;
    const char *only = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--f32-stride")) stride = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--f64-points")) points = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
    }
    if (stride < 1) stride = 1;
    printf("path %s; f32: every %llu-th bit pattern; f64: %ld random + %ld grid points\n",
           ag_vmath_path(), (unsigned long long)stride, points, points);
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if (only && strcmp(only, fns[i].name)) continue;
        run32(&fns[i], stride);
        run64(&fns[i], points);
        fflush(stdout);
    }
    if (!only || !strcmp(only, "pow")) run_pow(points);
    return 0;
}
