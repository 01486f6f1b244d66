/*
** test_vmath.c: the vector math (ops/ag_vmath.h) on every path this CPU
** runs, each path's table called directly (agi_vmath_avx512, _avx2,
** _portable): the error in ulps against glibc (its long double functions
** for f64, its double ones for f32) within the bounds ag_vmath.h
** documents, over dense grids, random bit patterns and edge cases; exact
** special values (+-0, +-inf, NaN, overflow); results that do not depend
** on an element's position (tails, slices, in place); the AVX-512 and
** AVX2 paths giving the same bits; the choice of path (AG_KERNEL).
**
** Under Valgrind long double arithmetic has double's precision, so there
** the f64 results are compared with glibc's double functions and the
** bound gets 2 ulps more (glibc's own error plus the reference's).
*/
#include "test_util.h"
#include "ag_vmath.h"
#include "vmath_internal.h"

#include <float.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* ------------------------------------------------------------ helpers --- */

static const agi_vmath_fns *const PATHS[] = {
#ifdef AGI_VMATH_X86
    &agi_vmath_avx512, &agi_vmath_avx2,
#endif
    &agi_vmath_portable};
#define NPATHS ((int)(sizeof PATHS / sizeof PATHS[0]))

/* 1 when long double is wider than double here (not under Valgrind). */
static int long_double_is_extended(void)
{
    volatile long double one = 1, eps = LDBL_EPSILON;
    return LDBL_MANT_DIG > DBL_MANT_DIG && one + eps != one;
}

/*
** |y - ref| in ulps of ref for a type of `mant` fraction bits and exponent
** range [emin, emax]. Both NaN is 0, a NaN against a number 1e9. Past the
** overflow threshold (the largest finite value plus half its ulp) ref
** rounds to inf: y = inf there is 0, y = the largest finite value 1, and
** y = inf short of it 1e9. The long double form is for f64 against an
** extended long double; everything else goes through double (Valgrind's
** long double is double, and its conversions of inf are unreliable).
*/
#define ULP_ERR(T, FABS, LDEXP, FREXP)                                        \
    if (isnan(ref) || isnan(y)) return isnan(ref) && isnan(y) ? 0 : 1e9;    \
    T maxf = LDEXP(2 - LDEXP(1, -mant), emax), thr = maxf + LDEXP(1, emax - mant - 1); \
    int yinf = isinf(y), rinf = FABS(ref) >= thr;                            \
    if (yinf || rinf)                                                        \
        return yinf && rinf && signbit(y) == signbit(ref) ? 0 : FABS(y) == maxf ? 1 : 1e9; \
    int e;                                                                   \
    FREXP(ref, &e);                                                          \
    e = e - 1 < emin ? emin : e - 1;                                         \
    return (double)(FABS(y - ref) / LDEXP(1, e - mant));

static double ulp_err(double y, double ref, int mant, int emin, int emax)
{
    ULP_ERR(double, fabs, ldexp, frexp)
}

static double ulp_err_l(long double y, long double ref, int mant, int emin, int emax)
{
    ULP_ERR(long double, fabsl, ldexpl, frexpl)
}

static uint64_t rng_state;
static uint64_t next64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* --------------------------------------------------- the functions --- */

static double sig_d(double x) { return 1 / (1 + exp(-x)); }
static long double sig_l(long double x) { return 1 / (1 + expl(-x)); }
static double sp_d(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static long double sp_l(long double x) { return x > 0 ? x + log1pl(expl(-x)) : log1pl(expl(x)); }
static double elu_d(double x) { return x > 0 ? x : expm1(x); }
static long double elu_l(long double x) { return x > 0 ? x : expm1l(x); }

typedef enum { K_UNARY, K_ELU } vm_kind;

/* A function of ag_vmath.h: where it sits in a path's table, its
   references, its documented bounds (ulps) and its dense grid. */
typedef struct vm_fn {
    const char *name;
    vm_kind kind;
    size_t off32, off64;
    double (*ref_d)(double);
    long double (*ref_l)(long double);
    double bound32, bound64;
    double lo, hi;
} vm_fn;

#define UN(f, b32, b64, lo, hi)                                                  \
    {#f, K_UNARY, offsetof(agi_vmath_fns, f##_f32), offsetof(agi_vmath_fns, f##_f64), \
     f, f##l, b32, b64, lo, hi}
#define UN2(f, rd, rl, b32, b64, lo, hi)                                         \
    {#f, K_UNARY, offsetof(agi_vmath_fns, f##_f32), offsetof(agi_vmath_fns, f##_f64), \
     rd, rl, b32, b64, lo, hi}

/* The bounds of ag_vmath.h's table. */
static const vm_fn FNS[] = {
    UN(exp, 1.0, 1.0, -110, 90),
    UN(expm1, 2.0, 2.0, -20, 20),
    UN(log, 1.0, 1.0, 0, 4),
    UN(log1p, 1.0, 1.0, -1, 4),
    UN(tanh, 1.5, 2.0, -10, 10),
    UN2(sigmoid, sig_d, sig_l, 2.0, 2.0, -110, 40),
    UN2(softplus, sp_d, sp_l, 2.0, 2.0, -110, 40),
    {"elu", K_ELU, 0, 0, elu_d, elu_l, 1.5, 1.5, -20, 5},
    UN(erf, 1.5, 1.5, -7, 7),
    UN(sin, 0.51, 1.0, -100, 100),
    UN(cos, 0.51, 1.0, -100, 100),
};
#define NFNS ((int)(sizeof FNS / sizeof FNS[0]))
#define POW_BOUND32 0.51
#define POW_BOUND64 1.0

static void run32(const agi_vmath_fns *p, const vm_fn *f, float *y, const float *x,
                  int64_t n)
{
    if (f->kind == K_ELU)
        p->elu_f32(y, x, n, 1);
    else
        (*(const agi_vm_f32 *)((const char *)p + f->off32))(y, x, n);
}

static void run64(const agi_vmath_fns *p, const vm_fn *f, double *y, const double *x,
                  int64_t n)
{
    if (f->kind == K_ELU)
        p->elu_f64(y, x, n, 1);
    else
        (*(const agi_vm_f64 *)((const char *)p + f->off64))(y, x, n);
}

/* ------------------------------------------------------------- inputs --- */

#define GRID 2048
#define RANDOM 2048
#define NIN (2 * GRID + RANDOM + 64)

/* Edge cases of both types (as doubles; converted to float for f32). */
static const double EDGES[] = {
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, 1e-7, -1e-7, 1e-30, -1e-30,
    0x1p-149, -0x1p-149, 0x1p-126, -0x1p-126, 0x1.fffffcp-127, 0x1p-1074, -0x1p-1074,
    0x1p-1022, -0x1p-1022, 0x1.ffffffffffffep-1023, FLT_MAX, -FLT_MAX, DBL_MAX, -DBL_MAX,
    INFINITY, -INFINITY, NAN, -NAN,
    88.72283935546875, 88.7228393554688, -87.3365478515625, -103.972084045410,
    -104.0, 89.0, 709.782712893384, 709.79, -708.3964185322641, -745.1332191019411,
    -746.0, 710.0, 0.875, -0.875, 0.625, 0.34657359, -0.34657359, 3.92, 4.0, 5.93,
    1.6e6, -1.6e6, 1.6000000000000002e6, 1e22, 1e300, 1.5707963267948966, 3.141592653589793,
    -1.0000001, -0.9999999, 20.0, -20.0, 0x1p52, 0x1p63};

/* n doubles: a grid of [lo, hi], a grid of [-1, 1], random bit patterns
   (or random floats' for f32: bits32), and the edges. Returns n. */
static int make_inputs(double *x, double lo, double hi, int bits32, uint64_t seed)
{
    int n = 0;
    rng_state = seed;
    for (int i = 0; i < GRID; i++) x[n++] = lo + (hi - lo) * i / (GRID - 1);
    for (int i = 0; i < GRID; i++) x[n++] = -1 + 2.0 * i / (GRID - 1);
    for (int i = 0; i < RANDOM; i++) {
        uint64_t u = next64();
        if (bits32) {
            uint32_t v = (uint32_t)u;
            float f;
            memcpy(&f, &v, 4);
            x[n++] = f;
        } else {
            memcpy(&x[n++], &u, 8);
        }
    }
    for (size_t i = 0; i < sizeof EDGES / sizeof EDGES[0]; i++) x[n++] = EDGES[i];
    return n;
}

/* ----------------------------------------------------------- accuracy --- */

/* f's largest f32 error on path p over its inputs; *at the argument. */
static double max_err32(const agi_vmath_fns *p, const vm_fn *f, double *at)
{
    static double xd[NIN];
    static float x[NIN], y[NIN];
    int n = make_inputs(xd, f->lo, f->hi, 1, 32);
    for (int i = 0; i < n; i++) x[i] = (float)xd[i];
    run32(p, f, y, x, n);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double e = ulp_err(y[i], f->ref_d(x[i]), 23, -126, 127);
        if (e > worst) worst = e, *at = x[i];
    }
    return worst;
}

static double max_err64(const agi_vmath_fns *p, const vm_fn *f, int extended, double *at)
{
    static double x[NIN], y[NIN];
    int n = make_inputs(x, f->lo, f->hi, 0, 64);
    run64(p, f, y, x, n);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double e = extended ? ulp_err_l(y[i], f->ref_l(x[i]), 52, -1022, 1023)
                            : ulp_err(y[i], f->ref_d(x[i]), 52, -1022, 1023);
        if (e > worst) worst = e, *at = x[i];
    }
    return worst;
}

START_TEST(test_accuracy_within_documented_bounds)
{
    const agi_vmath_fns *p = PATHS[_i];
    if (!agi_vmath_supported(p)) return;            /* this CPU cannot run it */
    int ext = long_double_is_extended();
    for (int k = 0; k < NFNS; k++) {
        const vm_fn *f = &FNS[k];
        double at = 0, e = max_err32(p, f, &at);
        ck_assert_msg(e <= f->bound32, "%s: %s_f32 is %.3f ulp off at %.9g (bound %.1f)",
                      p->name, f->name, e, at, f->bound32);
        e = max_err64(p, f, ext, &at);
        double bound = f->bound64 + (ext ? 0 : 2);
        ck_assert_msg(e <= bound, "%s: %s_f64 is %.3f ulp off at %.17g (bound %.1f)",
                      p->name, f->name, e, at, bound);
    }
}
END_TEST

/* pow over x in (0, 8] and y in [-40, 40], negative x with integer y, and
   random bit pairs. */
START_TEST(test_pow_accuracy)
{
    const agi_vmath_fns *p = PATHS[_i];
    if (!agi_vmath_supported(p)) return;
    enum { N = 4096 };
    static double x[N], y[N], r[N];
    static float xf[N], yf[N], rf[N];
    int ext = long_double_is_extended();
    rng_state = 7;
    for (int i = 0; i < N; i++) {
        uint64_t a = next64(), b = next64();
        x[i] = ldexp((double)(a >> 11), -53) * 8;
        y[i] = ldexp((double)(b >> 11), -53) * 80 - 40;
        if (i % 4 == 1) x[i] = -x[i], y[i] = nearbyint(y[i]);
        if (i % 4 == 2) memcpy(&x[i], &a, 8), memcpy(&y[i], &b, 8);
        xf[i] = (float)x[i], yf[i] = (float)y[i];
        if (i % 4 == 3) {
            uint32_t u = (uint32_t)a, v = (uint32_t)b;
            memcpy(&xf[i], &u, 4), memcpy(&yf[i], &v, 4);
        }
    }
    p->pow_f64(r, x, y, N);
    p->pow_f32(rf, xf, yf, N);
    for (int i = 0; i < N; i++) {
        double e = ext ? ulp_err_l(r[i], powl(x[i], y[i]), 52, -1022, 1023)
                       : ulp_err(r[i], pow(x[i], y[i]), 52, -1022, 1023);
        double bound = POW_BOUND64 + (ext ? 0 : 2);
        ck_assert_msg(e <= bound, "%s: pow_f64(%.17g, %.17g) = %.17g is %.3f ulp off",
                      p->name, x[i], y[i], r[i], e);
        e = ulp_err(rf[i], pow(xf[i], yf[i]), 23, -126, 127);
        ck_assert_msg(e <= POW_BOUND32, "%s: pow_f32(%.9g, %.9g) = %.9g is %.3f ulp off",
                      p->name, xf[i], yf[i], rf[i], e);
    }
}
END_TEST

/* ------------------------------------------------------ special values --- */

/* f(x) must be want exactly (NaN: any NaN; zeros: with their sign). */
typedef struct special { const char *fn; double x, want; } special;

static const special SPECIALS[] = {
    {"exp", -INFINITY, 0}, {"exp", INFINITY, INFINITY}, {"exp", NAN, NAN},
    {"exp", 0, 1}, {"exp", -0.0, 1}, {"exp", 1000, INFINITY}, {"exp", -1000, 0},
    {"expm1", -0.0, -0.0}, {"expm1", 0, 0}, {"expm1", -INFINITY, -1},
    {"expm1", INFINITY, INFINITY}, {"expm1", -1000, -1}, {"expm1", NAN, NAN},
    {"log", 0, -INFINITY}, {"log", -0.0, -INFINITY}, {"log", -1, NAN}, {"log", 1, 0},
    {"log", INFINITY, INFINITY}, {"log", -INFINITY, NAN}, {"log", NAN, NAN},
    {"log1p", -0.0, -0.0}, {"log1p", 0, 0}, {"log1p", -1, -INFINITY}, {"log1p", -2, NAN},
    {"log1p", INFINITY, INFINITY}, {"log1p", NAN, NAN},
    {"tanh", -0.0, -0.0}, {"tanh", INFINITY, 1}, {"tanh", -INFINITY, -1},
    {"tanh", 30, 1}, {"tanh", NAN, NAN},
    {"sigmoid", INFINITY, 1}, {"sigmoid", -INFINITY, 0}, {"sigmoid", 0, 0.5},
    {"sigmoid", 1000, 1}, {"sigmoid", -1000, 0}, {"sigmoid", NAN, NAN},
    {"softplus", -INFINITY, 0}, {"softplus", INFINITY, INFINITY}, {"softplus", NAN, NAN},
    {"softplus", 1000, 1000}, {"softplus", -1000, 0},
    {"elu", -INFINITY, -1}, {"elu", INFINITY, INFINITY}, {"elu", -0.0, -0.0},
    {"elu", NAN, NAN},
    {"erf", -0.0, -0.0}, {"erf", INFINITY, 1}, {"erf", -INFINITY, -1}, {"erf", 10, 1},
    {"erf", NAN, NAN},
    {"sin", -0.0, -0.0}, {"sin", 0, 0}, {"sin", INFINITY, NAN}, {"sin", NAN, NAN},
    {"cos", 0, 1}, {"cos", -INFINITY, NAN}, {"cos", NAN, NAN},
};

static int same_value(double got, double want)
{
    if (isnan(want)) return isnan(got);
    return got == want && signbit(got) == signbit(want);
}

START_TEST(test_special_values)
{
    const agi_vmath_fns *p = PATHS[_i];
    if (!agi_vmath_supported(p)) return;
    for (size_t i = 0; i < sizeof SPECIALS / sizeof SPECIALS[0]; i++) {
        const special *s = &SPECIALS[i];
        const vm_fn *f = NULL;
        for (int k = 0; k < NFNS; k++)
            if (!strcmp(FNS[k].name, s->fn)) f = &FNS[k];
        ck_assert_ptr_nonnull(f);
        double y;
        float x32 = (float)s->x, y32;
        run64(p, f, &y, &s->x, 1);
        run32(p, f, &y32, &x32, 1);
        ck_assert_msg(same_value(y, s->want), "%s: %s_f64(%g) = %g, expected %g", p->name,
                      s->fn, s->x, y, s->want);
        ck_assert_msg(same_value(y32, s->want), "%s: %s_f32(%g) = %g, expected %g", p->name,
                      s->fn, s->x, (double)y32, s->want);
    }
}
END_TEST

/* C99's pow table (F.9.4.4), both dtypes. */
static const double POW_SPECIALS[][3] = {
    {NAN, 0, 1}, {INFINITY, -0.0, 1}, {1, NAN, 1}, {1, INFINITY, 1}, {-1, INFINITY, 1},
    {-1, -INFINITY, 1}, {NAN, 2, NAN}, {2, NAN, NAN},
    {0.5, INFINITY, 0}, {2, INFINITY, INFINITY}, {0.5, -INFINITY, INFINITY},
    {2, -INFINITY, 0}, {-0.5, INFINITY, 0}, {-2, -INFINITY, 0},
    {-0.0, -1, -INFINITY}, {0.0, -1, INFINITY}, {-0.0, -2, INFINITY}, {-0.0, -0.5, INFINITY},
    {-0.0, 3, -0.0}, {-0.0, 2, 0}, {-0.0, 0.5, 0}, {0, 3, 0},
    {-INFINITY, -3, -0.0}, {-INFINITY, -2, 0}, {-INFINITY, 3, -INFINITY},
    {-INFINITY, 2, INFINITY}, {-INFINITY, 0.5, INFINITY}, {INFINITY, -1, 0},
    {INFINITY, 0.5, INFINITY}, {-8, 1.0 / 3, NAN}, {-2, 3, -8}, {-2, -2, 0.25},
    {-1, 1e300, 1}, {2, 10, 1024}, {4, 0.5, 2}, {10, 400, INFINITY}, {10, -400, 0},
};

START_TEST(test_pow_special_values)
{
    const agi_vmath_fns *p = PATHS[_i];
    if (!agi_vmath_supported(p)) return;
    for (size_t i = 0; i < sizeof POW_SPECIALS / sizeof POW_SPECIALS[0]; i++) {
        const double *c = POW_SPECIALS[i];
        double y;
        float x32 = (float)c[0], p32 = (float)c[1], y32;
        p->pow_f64(&y, &c[0], &c[1], 1);
        p->pow_f32(&y32, &x32, &p32, 1);
        ck_assert_msg(same_value(y, c[2]), "%s: pow_f64(%g, %g) = %g, expected %g", p->name,
                      c[0], c[1], y, c[2]);
        if (fabs(c[1]) < 100)                       /* (float)1e300 is inf */
            ck_assert_msg(same_value(y32, c[2]), "%s: pow_f32(%g, %g) = %g, expected %g",
                          p->name, c[0], c[1], (double)y32, c[2]);
        p->pow_scalar_f64(&y, &c[0], c[1], 1);
        ck_assert_msg(same_value(y, c[2]), "%s: pow_scalar_f64(%g, %g) = %g, expected %g",
                      p->name, c[0], c[1], y, c[2]);
    }
}
END_TEST

/* pow_scalar's exact exponents (x, x*x, 1/x) and the general one. */
START_TEST(test_pow_scalar_exact_exponents)
{
    const agi_vmath_fns *p = PATHS[_i];
    if (!agi_vmath_supported(p)) return;
    const double x[5] = {3.0000000000000004, -0.1, 7e-200, -0.0, 1e200};
    const float xf[5] = {3.0000002f, -0.1f, 7e-30f, -0.0f, 1e30f};
    double y[5];
    float yf[5];
    for (int e = 0; e < 3; e++) {
        double pe = e == 0 ? 1 : e == 1 ? 2 : -1;
        p->pow_scalar_f64(y, x, pe, 5);
        p->pow_scalar_f32(yf, xf, (float)pe, 5);
        for (int i = 0; i < 5; i++) {
            double w = e == 0 ? x[i] : e == 1 ? x[i] * x[i] : 1 / x[i];
            float wf = e == 0 ? xf[i] : e == 1 ? xf[i] * xf[i] : 1 / xf[i];
            ck_assert_msg(same_value(y[i], w), "pow_scalar_f64(%g, %g) = %g", x[i], pe, y[i]);
            ck_assert_msg(same_value(yf[i], wf), "pow_scalar_f32(%g, %g)", (double)xf[i], pe);
        }
    }
    p->pow_scalar_f64(y, x, 3, 3);
    ck_assert(fabs(y[0] - 27.000000000000011) <= 4e-15 && fabs(y[1] + 0.001) <= 1e-18);
}
END_TEST

/* ------------------------------------------------------- determinism --- */

#define NDET 75

/* Every slice [off, off + n) of the inputs gives the bits the whole array
   gave there, in place too: no result depends on a lane's position. */
START_TEST(test_results_do_not_depend_on_position)
{
    const agi_vmath_fns *p = PATHS[_i];
    if (!agi_vmath_supported(p)) return;
    double xd[NDET], yd[NDET], sd[NDET];
    float xf[NDET], yf[NDET], sf[NDET];
    rng_state = 3;
    for (int i = 0; i < NDET; i++) {
        xd[i] = ldexp((double)(next64() >> 11), -53) * 24 - 12;
        if (i % 7 == 3) xd[i] = EDGES[i % (sizeof EDGES / sizeof EDGES[0])];
        xf[i] = (float)xd[i];
    }
    for (int k = 0; k < NFNS; k++) {
        const vm_fn *f = &FNS[k];
        run64(p, f, yd, xd, NDET);
        run32(p, f, yf, xf, NDET);
        for (int off = 0; off < 20; off += 3)
            for (int n = 0; off + n <= NDET; n += 1 + n / 4) {
                run64(p, f, sd, xd + off, n);
                run32(p, f, sf, xf + off, n);
                ck_assert_msg(!memcmp(sd, yd + off, (size_t)n * sizeof *sd) &&
                              !memcmp(sf, yf + off, (size_t)n * sizeof *sf),
                              "%s: %s over [%d, %d) differs from the whole array's",
                              p->name, f->name, off, off + n);
            }
        memcpy(sd, xd, sizeof sd);
        memcpy(sf, xf, sizeof sf);
        run64(p, f, sd, sd, NDET);
        run32(p, f, sf, sf, NDET);
        ck_assert_msg(!memcmp(sd, yd, sizeof sd) && !memcmp(sf, yf, sizeof sf),
                      "%s: %s in place differs", p->name, f->name);
    }
}
END_TEST

/* The AVX-512 and AVX2 paths give the same bits on every input (both
   documented and relied on: a Valgrind run takes the AVX2 path). */
START_TEST(test_avx512_and_avx2_agree_bit_for_bit)
{
#ifdef AGI_VMATH_X86
    if (!agi_vmath_supported(&agi_vmath_avx512) || !agi_vmath_supported(&agi_vmath_avx2))
        return;
    static double x[NIN], y1[NIN], y2[NIN];
    static float xf[NIN], yf1[NIN], yf2[NIN];
    for (int k = 0; k < NFNS; k++) {
        const vm_fn *f = &FNS[k];
        int n = make_inputs(x, f->lo, f->hi, 0, 99);
        for (int i = 0; i < n; i++) xf[i] = (float)x[i];
        run64(&agi_vmath_avx512, f, y1, x, n);
        run64(&agi_vmath_avx2, f, y2, x, n);
        run32(&agi_vmath_avx512, f, yf1, xf, n);
        run32(&agi_vmath_avx2, f, yf2, xf, n);
        for (int i = 0; i < n; i++) {
            ck_assert_msg(!memcmp(&y1[i], &y2[i], 8), "%s_f64(%a): %a vs %a", f->name,
                          x[i], y1[i], y2[i]);
            ck_assert_msg(!memcmp(&yf1[i], &yf2[i], 4), "%s_f32(%a)", f->name, (double)xf[i]);
        }
    }
    make_inputs(y1, -10, 10, 0, 5);
    agi_vmath_avx512.pow_f64(y2, x, y1, NIN);
    agi_vmath_avx2.pow_f64(x, x, y1, NIN);
    ck_assert(!memcmp(x, y2, sizeof x));
#endif
}
END_TEST

/* ---------------------------------------------------------- dispatch --- */

START_TEST(test_path_choice)
{
    const agi_vmath_fns *best = agi_vmath_choose(NULL);
    ck_assert(agi_vmath_supported(best));
    for (int i = 0; i < NPATHS && PATHS[i] != best; i++)
        ck_assert_msg(!agi_vmath_supported(PATHS[i]), "%s is supported but %s was chosen",
                      PATHS[i]->name, best->name);
    ck_assert_ptr_eq(agi_vmath_choose(""), best);
    ck_assert_ptr_eq(agi_vmath_choose("sse9"), best);
    ck_assert_ptr_eq(agi_vmath_choose("portable"), &agi_vmath_portable);
    for (int i = 0; i < NPATHS; i++)
        ck_assert_ptr_eq(agi_vmath_choose(PATHS[i]->name),
                         agi_vmath_supported(PATHS[i]) ? PATHS[i] : best);
    ck_assert(agi_vmath_supported(&agi_vmath_portable));
    /* the one in use is what AG_KERNEL asked for, read once */
    ck_assert_ptr_eq(agi_vm(), agi_vmath_choose(getenv("AG_KERNEL")));
    ck_assert_str_eq(ag_vmath_path(), agi_vm()->name);
}
END_TEST

/* The public functions run the chosen path; n <= 0 touches nothing. */
START_TEST(test_public_functions)
{
    double x[3] = {0.5, -2, 3}, y[3] = {7, 7, 7}, w[3];
    float xf[3] = {0.5f, -2, 3}, yf[3] = {7, 7, 7}, wf[3];
    ag_vexp_f64(y, x, 0);
    ag_vexp_f64(y, x, -5);
    ag_vtanh_f32(yf, xf, -1);
    ck_assert(y[0] == 7 && yf[0] == 7);
#define SAME_AS_PATH(f)                                                       \
    ag_v##f##_f64(y, x, 3), agi_vm()->f##_f64(w, x, 3);                       \
    ag_v##f##_f32(yf, xf, 3), agi_vm()->f##_f32(wf, xf, 3);                   \
    ck_assert(!memcmp(y, w, sizeof y) && !memcmp(yf, wf, sizeof yf));
    AGI_VMATH_UNARY(SAME_AS_PATH)
    ag_velu_f64(y, x, 3, 0.5);
    ck_assert(y[0] == 0.5 && fabs(y[1] - 0.5 * expm1(-2.0)) < 1e-16 && y[2] == 3);
    ag_velu_f32(yf, xf, 3, 2);
    ck_assert(yf[2] == 3 && fabsf(yf[1] - 2 * expm1f(-2)) < 1e-6f);
    ag_vpow_f64(y, x, x, 3);
    ck_assert(fabs(y[0] - sqrt(0.5)) < 1e-16 && y[1] == 0.25 && y[2] == 27);
    ag_vpow_scalar_f32(yf, xf, 3, 3);
    ck_assert(yf[0] == 0.125f && yf[1] == -8 && yf[2] == 27);
    ag_vpow_f32(yf, xf, xf, 3);
    ag_vpow_scalar_f64(y, x, 2, 3);
    ck_assert(yf[1] == 0.25f && y[1] == 4);
}
END_TEST

/* Large sin/cos arguments: the Payne-Hanek reduction against known values
   (sin 1e22 is -0.8522008497671888...). */
START_TEST(test_huge_arguments_are_reduced_exactly)
{
    const agi_vmath_fns *p = PATHS[_i];
    if (!agi_vmath_supported(p)) return;
    const double x[6] = {1e22, -1e22, DBL_MAX, 0x1.8p1000, 1.6e6 * (1 + 1e-15), 8.5e6};
    double s[6], c[6];
    p->sin_f64(s, x, 6);
    p->cos_f64(c, x, 6);
    ck_assert_msg(fabs(s[0] + 0.8522008497671888) < 2e-16, "sin 1e22 = %.17g", s[0]);
    ck_assert(s[1] == -s[0]);
    ck_assert_msg(fabs(c[0] - 0.5232147853951389) < 2e-16, "cos 1e22 = %.17g", c[0]);
    for (int i = 0; i < 6; i++) {
        ck_assert_msg(fabs(s[i] * s[i] + c[i] * c[i] - 1) < 1e-15, "%g", x[i]);
        if (long_double_is_extended()) {
            ck_assert_msg(ulp_err_l(s[i], sinl(x[i]), 52, -1022, 1023) <= 1, "sin %a", x[i]);
            ck_assert_msg(ulp_err_l(c[i], cosl(x[i]), 52, -1022, 1023) <= 1, "cos %a", x[i]);
        }
    }
    double r_hi, r_lo;
    int q = agi_vm_rem_pio2(1e22, &r_hi, &r_lo);
    ck_assert(q >= 0 && q < 4 && fabs(r_hi) <= 0.7854 && fabs(r_lo) <= 1e-16 * fabs(r_hi));
}
END_TEST

Suite *suite_vmath(void)
{
    Suite *s = suite_create("vmath");
    TCase *tc = tcase_create("paths");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_accuracy_within_documented_bounds, 0, NPATHS);
    tcase_add_loop_test(tc, test_pow_accuracy, 0, NPATHS);
    tcase_add_loop_test(tc, test_special_values, 0, NPATHS);
    tcase_add_loop_test(tc, test_pow_special_values, 0, NPATHS);
    tcase_add_loop_test(tc, test_pow_scalar_exact_exponents, 0, NPATHS);
    tcase_add_loop_test(tc, test_results_do_not_depend_on_position, 0, NPATHS);
    tcase_add_loop_test(tc, test_huge_arguments_are_reduced_exactly, 0, NPATHS);
    suite_add_tcase(s, tc);
    TU_ADD(s, test_avx512_and_avx2_agree_bit_for_bit);
    TU_ADD(s, test_path_choice);
    TU_ADD(s, test_public_functions);
    return s;
}
