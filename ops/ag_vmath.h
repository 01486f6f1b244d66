/*
** ag_vmath.h: vector math on arrays of f32 and f64: the transcendental
** functions the ops compute (ag_exp, ag_tanh, ag_sigmoid, ag_softmax,
** ...), for a user's own kernels too.
**
**     float x[1000], y[1000];
**     ag_vtanh_f32(y, x, 1000);           y[i] = tanh(x[i])
**
** Each function computes y[i] = f(x[i]) for 0 <= i < n. y may be x (in
** place) but must not otherwise overlap it; n <= 0 does nothing. No errno,
** no floating-point exception is promised either way; the rounding mode
** must be the default (to nearest). The functions never fail.
**
** Paths. Three implementations give these functions: AVX-512 (16 f32 or
** 8 f64 lanes), AVX2 with FMA (8 or 4), and portable C (any CPU). The
** first call picks the best one this CPU runs (CPUID), whatever the
** build's -march, so a portable build gets the fast paths too. The
** environment variable AG_KERNEL = avx512, avx2 or portable, read once
** at that first call, forces one (a path the CPU lacks, or another value,
** is ignored: the best supported path is used). ag_vmath_path() says
** which runs. Results are deterministic: an element's result depends on
** its input alone (not on n, its position or the thread computing it).
** The AVX-512 and AVX2 paths give the same bits; the portable path
** rounds some intermediate products separately and may differ from them
** in the last bit, within the same bounds.
**
** Accuracy: the bound in ulps of the exact result that the tests hold
** every path to, and (in brackets) the largest error measured against
** glibc (its long double functions for f64, its double ones for f32) by
** `make vmath-ulp` (bench/vmath_ulp.c: every 16th f32 bit pattern plus a
** dense grid of the main range; 4 million random f64 bit patterns plus 4
** million grid points; the edge cases: +-0, subnormals, +-inf, NaN, the
** overflow and underflow boundaries). tests/test_vmath.c checks the
** bounds on every path over smaller sets.
**
**     function    f32            f64            notes
**     exp         1    (0.77)    1    (0.72)
**     expm1       2    (1.70)    2    (1.56)    worst near x = 0.35
**     log         1    (0.89)    1    (0.83)
**     log1p       1    (0.90)    1    (0.84)
**     tanh        1.5  (1.31)    2    (1.50)
**     sigmoid     2    (1.85)    2    (1.80)    1/(1+e^-x)
**     softplus    2    (1.66)    2    (1.46)    ln(1+e^x)
**     elu         1.5  (1.03)    1.5  (0.89)    alpha = 1 (else times alpha)
**     erf         1.5  (1.11)    1.5  (1.13)
**     sin, cos    0.51 (0.50)    1    (0.89)    every finite x
**     pow         0.51 (0.50)    1    (0.73)    every x, y
**
** The f32 sin, cos and pow are computed in f64 and rounded once, so they
** are correctly rounded but where that double rounding lands on a tie.
** sin and cos reduce |x| <= 1.6e6 by Cody-Waite in double-double and
** larger ones one by one to some 120 bits (Payne-Hanek with 192 bits of
** 2/pi): the bound holds up to DBL_MAX, only slower there. pow carries ln|x| and y ln|x| as
** double-doubles, so its error stays under an ulp up to overflow (a plain
** log's would grow with |y ln x|). glibc's own double functions are
** within 1 or 2 ulps (its manual's table).
**
** Special values follow C99's Annex F: exp(-inf) = 0, exp(+inf) = inf,
** log(0) = -inf, log(x < 0) = NaN, log1p(-1) = -inf, tanh(+-inf) = +-1,
** erf(+-inf) = +-1, sin(+-inf) = NaN, the sign of a zero kept where the
** function is odd (tanh, expm1, log1p, erf, sin: f(-0) = -0), NaN in gives
** NaN out (but pow(NaN, 0) = pow(1, NaN) = 1), and pow's full table (a
** negative x with a non-integer y is NaN; pow(-0, -1) = -inf). Results
** overflow to inf and underflow through the subnormals to 0 as the exact
** value rounded would.
*/
#ifndef AG_VMATH_H
#define AG_VMATH_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

void ag_vexp_f32(float *y, const float *x, int64_t n);        /* e^x */
void ag_vexp_f64(double *y, const double *x, int64_t n);
void ag_vexpm1_f32(float *y, const float *x, int64_t n);      /* e^x - 1 */
void ag_vexpm1_f64(double *y, const double *x, int64_t n);
void ag_vlog_f32(float *y, const float *x, int64_t n);        /* ln x */
void ag_vlog_f64(double *y, const double *x, int64_t n);
void ag_vlog1p_f32(float *y, const float *x, int64_t n);      /* ln(1 + x) */
void ag_vlog1p_f64(double *y, const double *x, int64_t n);
void ag_vtanh_f32(float *y, const float *x, int64_t n);
void ag_vtanh_f64(double *y, const double *x, int64_t n);
/* 1 / (1 + e^-x), never overflowing; e^x's accuracy far below 0. */
void ag_vsigmoid_f32(float *y, const float *x, int64_t n);
void ag_vsigmoid_f64(double *y, const double *x, int64_t n);
/* ln(1 + e^x) as max(x, 0) + log1p(e^-|x|): finite for finite x (no
   threshold: PyTorch's softplus returns x itself above x = 20). */
void ag_vsoftplus_f32(float *y, const float *x, int64_t n);
void ag_vsoftplus_f64(double *y, const double *x, int64_t n);
void ag_verf_f32(float *y, const float *x, int64_t n);        /* erf x */
void ag_verf_f64(double *y, const double *x, int64_t n);
void ag_vsin_f32(float *y, const float *x, int64_t n);
void ag_vsin_f64(double *y, const double *x, int64_t n);
void ag_vcos_f32(float *y, const float *x, int64_t n);
void ag_vcos_f64(double *y, const double *x, int64_t n);

/* x > 0 ? x : alpha (e^x - 1): ELU (PyTorch's F.elu, scale 1). */
void ag_velu_f32(float *y, const float *x, int64_t n, float alpha);
void ag_velu_f64(double *y, const double *x, int64_t n, double alpha);

/* y[i] = x[i]^p[i] (C's pow; p may be y or x too). */
void ag_vpow_f32(float *y, const float *x, const float *p, int64_t n);
void ag_vpow_f64(double *y, const double *x, const double *p, int64_t n);
/* y[i] = x[i]^p for one p: p = 1, 2 and -1 give x, x*x and 1/x exactly
   (as PyTorch), any other p pow's result. */
void ag_vpow_scalar_f32(float *y, const float *x, float p, int64_t n);
void ag_vpow_scalar_f64(double *y, const double *x, double p, int64_t n);

/*
** Bytes to floats through a table: y[i] = table[x[i]] for 0 <= i < n, as
** in assembling a batch of byte images (table[v] = (v / 255 - mean) / std,
** say, worked out once in double and rounded). A lookup, so every path
** gives the same bits as the plain loop; AVX-512 looks 16 bytes up at once
** in registers (f32; the other paths and f64 run the loop). y must not
** overlap x or table; n <= 0 does nothing; never fails.
*/
void ag_vlookup_u8_f32(float *y, const uint8_t *x, int64_t n, const float table[256]);
void ag_vlookup_u8_f64(double *y, const uint8_t *x, int64_t n, const double table[256]);

/* The path in use: "avx512", "avx2" or "portable" (chooses it when no
   function has yet). */
const char *ag_vmath_path(void);

#ifdef __cplusplus
}
#endif
#endif
