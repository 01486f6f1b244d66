#!/usr/bin/python3
"""vmath_remez.py: the polynomial coefficients of ops/vmath_*_internal.h.

Each approximation is a minimax polynomial found by the Remez exchange
algorithm in 60-digit arithmetic (mpmath), for the weighted error the
kernel cares about (relative error of the final function, as noted per
fit), then rounded to the kernel's type. For each fit it prints the C
array and two figures: the minimax error of the exact coefficients and the
error with the rounded ones, both as a fraction of the type's epsilon
(2^-23 for f32, 2^-52 for f64), so 0.01 means the polynomial adds a
hundredth of an ulp or so before the kernel's own roundings.

    /usr/bin/python3 scripts/vmath_remez.py            every fit
    /usr/bin/python3 scripts/vmath_remez.py exp_f32    one fit

With no argument it prints the whole of ops/vmath_coef_internal.h: the
fits, the splits of ln 2 and pi/2, the double-double constants and the
bits of 2/pi the large-argument sin/cos reduction reads.
"""
import sys

import mpmath as mp
import numpy as np

mp.mp.dps = 60
EPS = {"f32": mp.mpf(2) ** -23, "f64": mp.mpf(2) ** -52}


def nz(x):
    """x kept at least 1e-20 from 0: the fits divide by powers of x (the
    limit is smooth), and 60 digits resolve e^x - 1 - x down to there."""
    tiny = mp.mpf("1e-20")
    return x if abs(x) >= tiny else (tiny if x >= 0 else -tiny)


def remez(f, w, powers, a, b, iters=40, grid=3000):
    """Minimax c for max |w(x) (f(x) - sum_k c_k x^powers[k])| on [a, b]."""
    a, b = mp.mpf(a), mp.mpf(b)
    n = len(powers)
    xs = [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * i / n) for i in range(n + 1)]
    c, E = None, None
    for _ in range(iters):
        A = mp.matrix(n + 1, n + 1)
        rhs = mp.matrix(n + 1, 1)
        for i, x in enumerate(xs):
            for k, p in enumerate(powers):
                A[i, k] = x ** p
            A[i, n] = (-1) ** i / w(x)
            rhs[i] = f(x)
        sol = mp.lu_solve(A, rhs)
        c = [sol[k] for k in range(n)]
        E = abs(sol[n])

        def err(x):
            return w(x) * (f(x) - sum(ck * x ** p for ck, p in zip(c, powers)))
        pts = [a + (b - a) * (1 - mp.cos(mp.pi * i / grid)) / 2 for i in range(grid + 1)]
        vals = [err(x) for x in pts]
        ext = []                                  # local extrema of |err|
        for i in range(len(pts)):
            left = abs(vals[i - 1]) if i > 0 else -1
            right = abs(vals[i + 1]) if i < len(pts) - 1 else -1
            if abs(vals[i]) >= left and abs(vals[i]) >= right:
                x = refine(err, pts, i)
                if not ext or x > ext[-1]:
                    ext.append(x)
        groups = []                               # alternate signs
        for x in ext:
            e = err(x)
            if groups and mp.sign(groups[-1][1]) == mp.sign(e):
                if abs(e) > abs(groups[-1][1]):
                    groups[-1] = (x, e)
            else:
                groups.append((x, e))
        while len(groups) > n + 1:                # drop the smaller end
            if abs(groups[0][1]) < abs(groups[-1][1]):
                groups.pop(0)
            else:
                groups.pop()
        if len(groups) < n + 1:
            break
        xs = [g[0] for g in groups]
        emax = max(abs(g[1]) for g in groups)
        if emax - E <= E * mp.mpf("1e-8"):
            break
    return c, E


def refine(err, pts, i):
    """The extremum of |err| near pts[i], by golden-section search."""
    lo = pts[max(i - 1, 0)]
    hi = pts[min(i + 1, len(pts) - 1)]
    g = (mp.sqrt(5) - 1) / 2
    for _ in range(60):
        m1 = hi - g * (hi - lo)
        m2 = lo + g * (hi - lo)
        if abs(err(m1)) > abs(err(m2)):
            hi = m2
        else:
            lo = m1
    return (lo + hi) / 2


def rounded(c, dtype):
    return [mp.mpf(float(np.float32(float(v)))) if dtype == "f32" else mp.mpf(float(v))
            for v in c]


def max_err(f, w, powers, c, a, b, grid=20000):
    a, b = mp.mpf(a), mp.mpf(b)
    m = 0
    for i in range(grid + 1):
        x = a + (b - a) * i / grid
        e = abs(w(x) * (f(x) - sum(ck * x ** p for ck, p in zip(c, powers))))
        m = max(m, e)
    return m


def c_lit(v, dtype):
    if dtype == "f32":
        return "%.9ef" % float(np.float32(float(v)))
    return "%.17e" % float(v)


def fit(name, dtype, f, w0, powers, a, b, doc):
    # A weight that vanishes (x^2 at 0, say) would make a reference point
    # of no weight and the system singular: floor it at 1e-3 of its value
    # at the ends (where it matters: the error there is what counts).
    floor = max(abs(w0(mp.mpf(a))), abs(w0(mp.mpf(b)))) * mp.mpf("1e-3")

    def w(x):
        v = w0(x)
        return v if abs(v) > floor else floor
    c, E = remez(f, w, powers, a, b)
    cr = rounded(c, dtype)
    Er = max_err(f, w, powers, cr, a, b)
    print("/* %s: %s; minimax %.3g eps, rounded %.3g eps */"
          % (name, doc, float(E / EPS[dtype]), float(Er / EPS[dtype])))
    print("static const %s AGI_VM_%s[%d] = {" % ("float" if dtype == "f32" else "double",
                                                 name.upper(), len(c)))
    for v in cr:
        print("    %s," % c_lit(v, dtype))
    print("};\n")


LN2 = mp.log(2)
SQH = mp.sqrt(2) / 2


# e^r = 1 + r + r^2 q(r), |r| <= ln2/2; relative error of e^r.
def exp_q(r):
    r = nz(r)
    return (mp.exp(r) - 1 - r) / r ** 2


def exp_w(r):
    return nz(r) ** 2 / mp.exp(r)


# expm1(r) = r + r^2/2 + r^3 q(r); relative error of expm1.
def expm1_q(r):
    r = nz(r)
    return (mp.expm1(r) - r - r ** 2 / 2) / r ** 3


def expm1_w(r):
    r = nz(r)
    return r ** 3 / mp.expm1(r)


# log1p(f) = f - f^2/2 + f^3 q(f), f in [sqrt(1/2) - 1, sqrt(2) - 1].
def log_q(f):
    f = nz(f)
    return (mp.log1p(f) - f + f ** 2 / 2) / f ** 3


def log_w(f):
    f = nz(f)
    return f ** 3 / mp.log1p(f)


# log1p(f) = f - hfsq + s (hfsq + R), R = z q(z), z = s^2, s = f/(2+f):
# R(z) = (2 atanh s - 2 s) / s. Error in log: s dR, relative ~ dR / 2.
def logr_q(z):
    z = nz(z)
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) - 2 * s) / s / z


def logr_w(z):
    z = nz(z)
    s = mp.sqrt(z)
    return z * s / (2 * mp.atanh(s))


# pow's log: 2 atanh(u/2) = u + u^3/12 + u^5 q(v), v = u^2, |u| <= 0.3432.
def plog_q(v):
    u = mp.sqrt(nz(v))
    return (2 * mp.atanh(u / 2) - u - u ** 3 / 12) / u ** 5


def plog_w(v):
    u = mp.sqrt(nz(v))
    return u ** 5 / (2 * mp.atanh(u / 2))


# tanh(x) = x + x^3 q(z), z = x^2; relative error of tanh.
def tanh_q(z):
    x = mp.sqrt(nz(z))
    return (mp.tanh(x) - x) / x ** 3


def tanh_w(z):
    x = mp.sqrt(nz(z))
    return x ** 3 / mp.tanh(x)


# sin(r) = r + r^3 q(z); cos(r) = 1 - z/2 + z^2 q(z); |r| <= pi/4.
def sin_q(z):
    x = mp.sqrt(nz(z))
    return (mp.sin(x) - x) / x ** 3


def sin_w(z):
    x = mp.sqrt(nz(z))
    return x ** 3 / mp.sin(x)


def cos_q(z):
    z = nz(z)
    x = mp.sqrt(z)
    return (mp.cos(x) - 1 + z / 2) / z ** 2


def cos_w(z):
    z = nz(z)
    return z ** 2 / mp.cos(mp.sqrt(z))


# erf(x) = x + x q(z), z = x^2, small |x| (q(0) = 2/sqrt(pi) - 1, whose
# rounding costs less than 2/sqrt(pi)'s); relative error of erf.
def erf_q(z):
    x = mp.sqrt(nz(z))
    return mp.erf(x) / x - 1


def erf_w(z):
    x = mp.sqrt(nz(z))
    return x / mp.erf(x)


# erf(x) = 1 - e^{-x^2} g(x), g = erfc(x) e^{x^2} = erfcx, fitted in
# t = x - c; relative error of erf.
def erfc_fit(c):
    def g(t):
        return mp.erfc(t + c) * mp.exp((t + c) ** 2)

    def w(t):
        x = t + c
        return mp.exp(-x * x) / mp.erf(x)
    return g, w


FITS = {
    "exp_f32": ("f32", exp_q, exp_w, range(0, 5), -0.3466, 0.3466,
                "e^r = 1 + r + r^2 q(r), |r| <= ln2/2"),
    "exp_f64": ("f64", exp_q, exp_w, range(0, 10), -0.3466, 0.3466,
                "e^r = 1 + r + r^2 q(r), |r| <= ln2/2"),
    "expm1_f32": ("f32", expm1_q, expm1_w, range(0, 4), -0.3466, 0.3466,
                  "expm1(r) = r + r^2/2 + r^3 q(r), |r| <= ln2/2"),
    "expm1_f64": ("f64", expm1_q, expm1_w, range(0, 10), -0.3466, 0.3466,
                  "expm1(r) = r + r^2/2 + r^3 q(r), |r| <= ln2/2"),
    "log_f32": ("f32", log_q, log_w, range(0, 8), SQH - 1, mp.sqrt(2) - 1,
                "log1p(f) = f - f^2/2 + f^3 q(f), f in [sqrt(1/2)-1, sqrt(2)-1]"),
    "logr_f64": ("f64", logr_q, logr_w, range(0, 7), 0, 0.02944,
                 "R(z) = z q(z) of log1p(f) = f - f^2/2 + s (f^2/2 + R), s = f/(2+f), z = s^2"),
    "plog_f64": ("f64", plog_q, plog_w, range(0, 8), 0, 0.11785,
                 "2 atanh(u/2) = u + u^3/12 + u^5 q(u^2), |u| <= 0.3432 (pow's log)"),
    "tanh_f32": ("f32", tanh_q, tanh_w, range(0, 5), 0, 0.390625,
                 "tanh(x) = x + x^3 q(x^2), |x| <= 0.625"),
    "tanh_f64": ("f64", tanh_q, tanh_w, range(0, 12), 0, 0.390625,
                 "tanh(x) = x + x^3 q(x^2), |x| <= 0.625"),
    "sin_f64": ("f64", sin_q, sin_w, range(0, 6), 0, 0.61685,
                "sin(r) = r + r^3 q(r^2), |r| <= pi/4"),
    "cos_f64": ("f64", cos_q, cos_w, range(0, 6), 0, 0.61685,
                "cos(r) = 1 - r^2/2 + r^4 q(r^2), |r| <= pi/4"),
    "erf_f32": ("f32", erf_q, erf_w, range(0, 7), 0, 0.765625,
                "erf(x) = x + x q(x^2), |x| <= 0.875"),
    "erf_f64": ("f64", erf_q, erf_w, range(0, 12), 0, 0.765625,
                "erf(x) = x + x q(x^2), |x| <= 0.875"),
}


def erfc_fits():
    """The erfc pieces: (name, dtype, centre, lo, hi, degree)."""
    return [("erfc_f32", "f32", 2.4375, 0.875, 4.0, 9),
            ("erfc_f64", "f64", 3.375, 0.875, 5.93, 26)]


def round_bits(v, bits):
    """v rounded to a number of `bits` significant bits."""
    e = int(mp.floor(mp.log(abs(v), 2)))
    scale = mp.mpf(2) ** (bits - 1 - e)
    return mp.nint(v * scale) / scale


def split(name, v, bits, dtype="f64", parts=2):
    """v as parts: each but the last of `bits` significant bits (so that a
    product by a small integer is exact), the last rounded to the type."""
    rest = v
    out = []
    for i in range(parts - 1):
        p = round_bits(rest, bits)
        out.append(p)
        rest -= p
    out.append(mp.mpf(float(np.float32(float(rest)))) if dtype == "f32" else mp.mpf(float(rest)))
    for i, p in enumerate(out):
        print("#define %s_%d %s" % (name, i + 1, c_lit(p, dtype)))


def tables():
    """Constants: the splits of ln 2 and pi/2, 1/12 and pi/2 as double-
    doubles (pow, the large-argument reduction) and 2/pi as 64-bit words,
    the first holding the 64 bits after the binary point."""
    print("/* ln 2 in two parts, the first of 16 (f32) or 42 (f64) bits: k times")
    print("   it is exact for every exponent k the kernels see. */")
    split("AGI_VM_LN2_F32", LN2, 16, "f32")
    split("AGI_VM_LN2_F64", LN2, 42)
    print("#define AGI_VM_LOG2E_F32 %s" % c_lit(1 / LN2, "f32"))
    print("#define AGI_VM_LOG2E_F64 %s" % c_lit(1 / LN2, "f64"))
    print("/* pi/2 in four parts, three of 33 bits (n times each is exact for")
    print("   n < 2^20) and one of 53. */")
    split("AGI_VM_PIO2", mp.pi / 2, 33, parts=4)
    print("#define AGI_VM_TWO_OVER_PI %s" % c_lit(2 / mp.pi, "f64"))
    print("/* pi/2 and 1/12 as double-doubles (hi + lo). */")
    split("AGI_VM_PIO2_DD", mp.pi / 2, 53)
    split("AGI_VM_TWELFTH_DD", mp.mpf(1) / 12, 53)
    mp.mp.dps = 500
    v = 2 / mp.pi
    words = []
    for _ in range(20):
        v *= mp.mpf(2) ** 64
        w = int(mp.floor(v))
        words.append(w)
        v -= w
    mp.mp.dps = 60
    print("/* 2/pi: bit 64 i + j (from 1) after the point is bit 63 - j of word i. */")
    print("static const uint64_t AGI_VM_TWO_OVER_PI_BITS[20] = {")
    for i in range(0, 20, 2):
        print("    0x%016xull, 0x%016xull," % (words[i], words[i + 1]))
    print("};\n")


HEADER = """/*
** vmath_coef_internal.h: the polynomial coefficients and constants of the
** vector math kernels (vmath_*_internal.h). GENERATED by
**     /usr/bin/python3 scripts/vmath_remez.py > ops/vmath_coef_internal.h
** (minimax fits by the Remez algorithm in 60-digit arithmetic); do not edit.
** Each array holds q's coefficients from the constant term up, for Horner's
** scheme. The comment gives the fit's weighted error in units of the
** type's epsilon before and after rounding the coefficients.
*/
#ifndef AG_VMATH_COEF_INTERNAL_H
#define AG_VMATH_COEF_INTERNAL_H

#include <stdint.h>
"""


def main():
    want = sys.argv[1:]
    if not want:
        print(HEADER)
        tables()
    for name, (dt, f, w, powers, a, b, doc) in FITS.items():
        if not want or name in want:
            fit(name, dt, f, w, list(powers), a, b, doc)
    for name, dt, c, lo, hi, deg in erfc_fits():
        if not want or name in want:
            g, w = erfc_fit(mp.mpf(c))
            fit(name, dt, g, w, list(range(deg + 1)), lo - c, hi - c,
                "erfc(x) e^{x^2} = q(x - %g), x in [%g, %g]" % (c, lo, hi))
    if not want:
        print("#endif")


if __name__ == "__main__":
    main()
