/*
** adolc_scalar.cpp: ADOL-C twin of bench_scalar.c (the reference only:
** Debian's libadolc-dev, never linked by the library). The same chain of
** 10,000 scalar ops (y = y * w and y = y + x alternately) taped and
** differentiated (trace_on ... trace_off, then gradient()), per op; the
** gradient on the existing tape alone (gradient() = zos_forward +
** fos_reverse), per op; and the extended Rosenbrock function of n = 10,000
** variables, sum_i 100 (x[2i+1] - x[2i]^2)^2 + (1 - x[2i])^2: taping +
** gradient and the gradient on the existing tape, each over the plain C
** function's time. Medians of 21 runs.
**
**   adolc_scalar   prints: adolc_chain ops=10000 ns_per_op=T replay_ns_per_op=R grad_x=G
**                          adolc_rosenbrock n=10000 grad_ratio=A replay_ratio=B plain_us=P
*/
#include <adolc/adolc.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

static const int OPS = 10000, REPS = 21, N = 10000;

static double now()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

/* Tapes the chain on tag 1. */
static void tape_chain(double x0, double w0)
{
    trace_on(1);
    adouble x, w, y;
    x <<= x0;
    w <<= w0;
    y = x;
    for (int i = 0; i < OPS; i++) y = i % 2 ? y + x : y * w;
    double out;
    y >>= out;
    trace_off();
}

template <typename T> static T rosen(const T *x)
{
    T f = 0;
    for (int i = 0; i + 1 < N; i += 2) {
        T d = x[i + 1] - x[i] * x[i], e = 1 - x[i];
        f += 100 * d * d + e * e;
    }
    return f;
}

static void tape_rosen(const double *x0)
{
    trace_on(2);
    std::vector<adouble> x(N);
    for (int i = 0; i < N; i++) x[i] <<= x0[i];
    adouble f = rosen(x.data());
    double out;
    f >>= out;
    trace_off();
}

int main()
{
    double xw[2] = {0.5, 0.9999}, g[2];
    std::vector<double> full, replay;
    tape_chain(xw[0], xw[1]);
    gradient(1, 2, xw, g);                        /* warm up */
    for (int r = 0; r < REPS; r++) {
        double t0 = now();
        tape_chain(xw[0], xw[1]);
        gradient(1, 2, xw, g);
        full.push_back((now() - t0) * 1e9 / OPS);
        t0 = now();
        gradient(1, 2, xw, g);
        replay.push_back((now() - t0) * 1e9 / OPS);
    }
    printf("adolc_chain ops=%d ns_per_op=%.1f replay_ns_per_op=%.2f grad_x=%.6g\n", OPS,
           median(full), median(replay), g[0]);

    std::vector<double> x(N), gx(N), plain, rg, rr;
    for (int i = 0; i < N; i++) x[i] = i % 2 ? 1.0 + 0.001 * (i % 7) : -1.2 + 0.001 * (i % 5);
    volatile double sink = 0;
    for (int r = 0; r < REPS; r++) {
        double t0 = now();
        for (int k = 0; k < 10; k++) sink = sink + rosen(x.data());
        plain.push_back((now() - t0) / 10);
        t0 = now();
        tape_rosen(x.data());
        gradient(2, N, x.data(), gx.data());
        rg.push_back(now() - t0);
        t0 = now();
        gradient(2, N, x.data(), gx.data());
        rr.push_back(now() - t0);
    }
    double p = median(plain);
    printf("adolc_rosenbrock n=%d grad_ratio=%.1f replay_ratio=%.1f plain_us=%.2f g0=%.6g\n", N,
           median(rg) / p, median(rr) / p, p * 1e6, gx[0]);
    return 0;
}
