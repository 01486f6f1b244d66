/*
** vmath_f32_internal.h: the f32 kernels (exp, expm1, log, log1p, tanh,
** sigmoid, softplus, elu, erf) on a vector of VF_N lanes, in the lane
** operations of the including path (vmath_avx512.c, vmath_avx2.c,
** vmath_portable.c). Each is branch-free over its lanes but for rare
** cases (special inputs, subnormals) tested once per vector. Included by
** vmath_kernels_internal.h only; sin, cos and pow in f32 go through the
** f64 kernels (vmath_trig_pow_internal.h).
*/

#define F_MAGIC 12582912.0f             /* 1.5 * 2^23: x + it rounds x */
#define F_MAGIC_BITS 0x4b400000u
#define F_SIGN 0x80000000u

VM_FN vf f_abs(vf a) { return f_from(i_and(f_bits(a), i_set(~F_SIGN))); }

/* |mag| with the sign of sgn (mag >= 0 or +-0). */
VM_FN vf f_copysign(vf mag, vf sgn)
{
    return f_from(i_or(f_bits(mag), i_and(f_bits(sgn), i_set(F_SIGN))));
}

/* 2^n for integer lanes -126 <= n <= 127. */
VM_FN vf f_pow2i(vi n) { return f_from(i_sll(i_add(n, i_set(127)), 23)); }

/* c[0] + x c[1] + ... + x^(n-1) c[n-1], Horner. */
VM_FN vf f_horner(vf x, const float *c, int n)
{
    vf p = f_set(c[n - 1]);
#pragma GCC unroll 32
    for (int i = n - 2; i >= 0; i--) p = f_fma(p, x, f_set(c[i]));
    return p;
}
#define F_POLY(x, C) f_horner((x), (C), (int)(sizeof(C) / sizeof((C)[0])))

/* x = n ln2 + rh + rl, |rh + rl| <= ln2/2 (a hair more off the FMA
   paths): rh exact (n ln2's first part is), rl = -n ln2's second part;
   n as an integer lane and a float. */
VM_FN vf f_exp_reduce(vf x, vi *n, vf *nf, vf *rl)
{
    vf t = f_fma(x, f_set(AGI_VM_LOG2E_F32), f_set(F_MAGIC));
    *nf = f_sub(t, f_set(F_MAGIC));
    *n = i_sub(f_bits(t), i_set(F_MAGIC_BITS));
    *rl = f_mul(*nf, f_set(-AGI_VM_LN2_F32_2));
    return f_fnma(*nf, f_set(AGI_VM_LN2_F32_1), x);
}

/* e^(rh + rl) = (1 + rh) + (rl + r^2 q(r)), r = rh + rl, with 1 + rh
   summed exactly: the result is rounded once (about half an ulp). */
VM_FN vf f_exp_poly(vf rh, vf rl)
{
    vf r = f_add(rh, rl);
    vf s = f_add(f_set(1.0f), rh), e = f_add(f_sub(f_set(1.0f), s), rh);
    vf tail = f_fma(f_mul(r, r), F_POLY(r, AGI_VM_EXP_F32), rl);
    return f_add(s, f_add(e, tail));
}

/* e^x for |x| <= 87 (result normal): one scaling. */
VM_FN vf f_exp_core(vf x)
{
    vi n;
    vf nf, rl, rh = f_exp_reduce(x, &n, &nf, &rl);
    return f_mul(f_exp_poly(rh, rl), f_pow2i(n));
}

/*
** e^x for every x: x clamped to [-104, 89] (NaN kept: the constant is the
** first operand of min/max), then 2^n applied as 2^n1 * 2^n2, each within
** the normal range: the first product is exact, so a subnormal result is
** rounded once, and beyond 88.72 the second overflows to inf.
*/
VM_FN vf f_exp(vf x)
{
    x = f_min(f_set(89.0f), f_max(f_set(-104.0f), x));
    vi n;
    vf nf, rl, rh = f_exp_reduce(x, &n, &nf, &rl);
    vi n1 = i_sub(i_srl(i_add(n, i_set(256)), 1), i_set(128));
    vi n2 = i_sub(n, n1);
    return f_mul(f_mul(f_exp_poly(rh, rl), f_pow2i(n1)), f_pow2i(n2));
}

/* e^x for x <= 0 (or NaN): e^x's result, one scaling when no lane is
   below -87 (the same bits: both scalings are exact for a normal result). */
VM_FN vf f_exp_nonpos(vf x)
{
    return fm_some(f_lt(x, f_set(-87.0f))) ? f_exp(x) : f_exp_core(x);
}

/*
** e^x - 1: r = rh + rl as exp's, p = e^r - 1 = rh + (rl + r^2 (1/2 +
** r q(r))) (rh is x at n = 0), then 2^n p + (2^n - 1) in one rounding (2^n p is
** exact). For n = 128 (x in [88.38, 88.72]) 2^n is out of range: 2^127 is
** used and the result doubled. x < -18 gives -1, the sign of x is kept
** (-0 stays -0).
*/
VM_FN vf f_expm1(vf x)
{
    vf xc = f_min(f_set(89.0f), f_max(f_set(-18.0f), x));
    vi n;
    vf nf, rl, rh = f_exp_reduce(xc, &n, &nf, &rl), r = f_add(rh, rl);
    vf p = f_add(rh, f_fma(f_mul(r, r), f_fma(r, F_POLY(r, AGI_VM_EXPM1_F32), f_set(0.5f)), rl));
    vi b = i_srl(i_add(n, i_set(128)), 8);               /* 1 iff n == 128 */
    vf t = f_pow2i(i_sub(n, b));
    vf y = f_mul(f_fma(t, p, f_sub(t, f_set(1.0f))), f_pow2i(b));
    return f_from(i_or(f_bits(y), i_and(f_bits(x), i_set(F_SIGN))));
}

/*
** x = 2^k m with m in [sqrt(1/2), sqrt(2)) (bits of m from x's, no
** division), x > 0 normal; returns m, k as a float.
*/
VM_FN vf f_log_split(vf x, vf *k)
{
    vi ix = f_bits(x);
    vi e = i_srl(i_add(ix, i_set(0x3f800000u - 0x3f3504f3u)), 23);
    vi kk = i_sub(e, i_set(127));
    *k = f_cvt(kk);
    return f_from(i_sub(ix, i_sll(kk, 23)));
}

/* log1p(f) - f = f^2 (f q(f) - 1/2), f = m - 1 */
VM_FN vf f_log1p_tail(vf f)
{
    return f_mul(f_mul(f, f), f_fma(f, F_POLY(f, AGI_VM_LOG_F32), f_set(-0.5f)));
}

/* ln x = k ln2 + f + tail, the parts of k ln2 added last and first. */
VM_FN vf f_log(vf x)
{
    fm sub = f_lt(x, f_set(0x1p-126f));
    vf xs = x, kadj = f_set(0.0f), k;
    if (fm_some(sub)) {                  /* subnormal (or <= 0): scale by 2^23 */
        xs = f_sel(sub, f_mul(x, f_set(0x1p23f)), x);
        kadj = f_sel(sub, f_set(23.0f), f_set(0.0f));
    }
    vf f = f_sub(f_log_split(xs, &k), f_set(1.0f));
    k = f_sub(k, kadj);
    vf lo = f_fma(k, f_set(AGI_VM_LN2_F32_2), f_log1p_tail(f));
    vf y = f_fma(k, f_set(AGI_VM_LN2_F32_1), f_add(f, lo));
    fm bad = fm_not(fm_and(f_gt(x, f_set(0.0f)), f_lt(x, f_set(INFINITY))));
    if (fm_some(bad)) {
        y = f_sel(f_eq(x, f_set(INFINITY)), x, y);
        y = f_sel(f_eq(x, f_set(0.0f)), f_set(-INFINITY), y);
        y = f_sel(f_lt(x, f_set(0.0f)), f_set(NAN), y);
        y = f_sel(f_nan(x), f_add(x, x), y);
    }
    return y;
}

/*
** ln(1 + x): u = 1 + x split as log's, plus u's rounding error c / u:
** c = x - (u - 1) for u < 2, 1 - (u - x) above, each exact there (u - 1
** and u - x are, by Sterbenz's lemma). u is never subnormal; -0 stays -0.
*/
VM_FN vf f_log1p(vf x)
{
    vf u = f_add(f_set(1.0f), x), k;
    vf f = f_sub(f_log_split(u, &k), f_set(1.0f));
    vf c = f_sel(f_ge(u, f_set(2.0f)), f_sub(f_set(1.0f), f_sub(u, x)),
                 f_sub(x, f_sub(u, f_set(1.0f))));
    vf lo = f_fma(k, f_set(AGI_VM_LN2_F32_2), f_add(f_div(c, u), f_log1p_tail(f)));
    vf y = f_fma(k, f_set(AGI_VM_LN2_F32_1), f_add(f, lo));
    fm bad = fm_or(fm_not(fm_and(f_gt(u, f_set(0.0f)), f_lt(u, f_set(INFINITY)))),
                   f_eq(x, f_set(0.0f)));
    if (fm_some(bad)) {
        y = f_sel(f_eq(u, f_set(INFINITY)), f_set(INFINITY), y);
        y = f_sel(f_eq(u, f_set(0.0f)), f_set(-INFINITY), y);
        y = f_sel(f_lt(u, f_set(0.0f)), f_set(NAN), y);
        y = f_sel(f_eq(x, f_set(0.0f)), x, y);
        y = f_sel(f_nan(x), f_add(x, x), y);
    }
    return y;
}

/*
** tanh x: |x| < 0.625: |x| + |x|^3 q(x^2); else 1 - 2 / (e^{2|x|} + 1)
** with |x| clamped to 10 (tanh rounds to 1 from 9.01); the sign put back.
*/
VM_FN vf f_tanh(vf x)
{
    vf a = f_abs(x), z = f_mul(a, a);
    vf small = f_fma(f_mul(a, z), F_POLY(z, AGI_VM_TANH_F32), a);
    vf e = f_exp_core(f_min(f_set(20.0f), f_add(a, a)));
    vf large = f_sub(f_set(1.0f), f_div(f_set(2.0f), f_add(e, f_set(1.0f))));
    return f_copysign(f_sel(f_lt(a, f_set(0.625f)), small, large), x);
}

/*
** 1 / (1 + e^-x) for x >= 0, e^x / (1 + e^x) below, e = e^-|x| <= 1: no
** overflow, and e^x's accuracy far below 0 (down to the subnormals). The
** rounding error dl of d = 1 + e is put back: q (1 - dl / d), 1 / d being
** q itself (x >= 0) or 1 - q.
*/
VM_FN vf f_sigmoid(vf x)
{
    vf e = f_exp_nonpos(f_sub(f_set(0.0f), f_abs(x)));
    vf d = f_add(f_set(1.0f), e), dl = f_add(f_sub(f_set(1.0f), d), e);
    fm pos = f_ge(x, f_set(0.0f));
    vf q = f_div(f_sel(pos, f_set(1.0f), e), d);
    vf inv = f_sel(pos, q, f_sub(f_set(1.0f), q));
    return f_abs(f_fnma(q, f_mul(dl, inv), q));         /* +0, never -0 */
}

/* ln(1 + e^x) = max(x, 0) + log1p(e^-|x|): finite for finite x. */
VM_FN vf f_softplus(vf x)
{
    vf e = f_exp_nonpos(f_sub(f_set(0.0f), f_abs(x)));
    return f_add(f_max(x, f_set(0.0f)), f_log1p(e));
}

/* x > 0 ? x : alpha (e^x - 1) */
VM_FN vf f_elu(vf x, vf alpha)
{
    return f_sel(f_gt(x, f_set(0.0f)), x, f_mul(alpha, f_expm1(x)));
}

/*
** erf x: |x| < 0.875: |x| + |x| q(x^2); else 1 - e^{-x^2} g(|x| - 2.4375),
** g fitted to erfc(x) e^{x^2} up to |x| = 4 (where erf rounds to 1; |x|
** is clamped there). Each side computed only when a lane needs it.
*/
VM_FN vf f_erf(vf x)
{
    vf a = f_abs(x), y = f_set(0.0f);
    fm small = f_lt(a, f_set(0.875f));
    if (fm_some(small))
        y = f_fma(a, F_POLY(f_mul(a, a), AGI_VM_ERF_F32), a);
    if (fm_some(fm_not(small))) {
        vf ac = f_min(f_set(4.0f), a);
        vf e = f_exp_core(f_sub(f_set(0.0f), f_mul(ac, ac)));
        vf g = F_POLY(f_sub(ac, f_set(2.4375f)), AGI_VM_ERFC_F32);
        y = f_sel(small, y, f_fnma(e, g, f_set(1.0f)));
    }
    return f_copysign(y, x);
}
