/*
** vmath_f64_internal.h: the f64 kernels (exp, expm1, log, log1p, tanh,
** sigmoid, softplus, elu, erf) on a vector of VD_N lanes, as the f32 ones
** of vmath_f32_internal.h with longer polynomials; log and log1p divide
** once (fdlibm's s = f / (2 + f) form), which keeps their error under an
** ulp. Included by vmath_kernels_internal.h only.
*/

#define D_MAGIC 6755399441055744.0      /* 1.5 * 2^52: x + it rounds x */
#define D_MAGIC_BITS 0x4338000000000000ull
#define D_TWO52_BITS 0x4330000000000000ull
#define D_SIGN 0x8000000000000000ull

VM_FN vd d_abs(vd a) { return d_from(l_and(d_bits(a), l_set(~D_SIGN))); }

/* |mag| with the sign of sgn (mag >= 0 or +-0). */
VM_FN vd d_copysign(vd mag, vd sgn)
{
    return d_from(l_or(d_bits(mag), l_and(d_bits(sgn), l_set(D_SIGN))));
}

/* 2^n for integer lanes -1022 <= n <= 1023. */
VM_FN vd d_pow2i(vl n) { return d_from(l_sll(l_add(n, l_set(1023)), 52)); }

/* The integer lanes 0 <= e < 2^52 as doubles. */
VM_FN vd d_of_uint(vl e)
{
    return d_sub(d_from(l_add(e, l_set(D_TWO52_BITS))), d_set(0x1p52));
}

VM_FN vd d_horner(vd x, const double *c, int n)
{
    vd p = d_set(c[n - 1]);
#pragma GCC unroll 32
    for (int i = n - 2; i >= 0; i--) p = d_fma(p, x, d_set(c[i]));
    return p;
}
#define D_POLY(x, C) d_horner((x), (C), (int)(sizeof(C) / sizeof((C)[0])))

/* x + lo = n ln2 + rh + rl, |rh + rl| <= ln2/2 (about): rh exact (n
   ln2's first part is), rl = lo - n ln2's second part; lo is a correction
   below x's ulp (pow's double-double exponent; 0 elsewhere). */
VM_FN vd d_exp_reduce(vd x, vd lo, vl *n, vd *rl)
{
    vd t = d_fma(x, d_set(AGI_VM_LOG2E_F64), d_set(D_MAGIC));
    vd nf = d_sub(t, d_set(D_MAGIC));
    *n = l_sub(d_bits(t), l_set(D_MAGIC_BITS));
    *rl = d_fnma(nf, d_set(AGI_VM_LN2_F64_2), lo);
    return d_fnma(nf, d_set(AGI_VM_LN2_F64_1), x);
}

/* e^(rh + rl) = (1 + rh) + (rl + r^2 q(r)), 1 + rh summed exactly: one
   rounding at the end (about half an ulp). */
VM_FN vd d_exp_poly(vd rh, vd rl)
{
    vd r = d_add(rh, rl);
    vd s = d_add(d_set(1.0), rh), e = d_add(d_sub(d_set(1.0), s), rh);
    vd tail = d_fma(d_mul(r, r), D_POLY(r, AGI_VM_EXP_F64), rl);
    return d_add(s, d_add(e, tail));
}

/* e^x for |x| <= 708 (result normal): one scaling. */
VM_FN vd d_exp_core(vd x)
{
    vl n;
    vd rl, rh = d_exp_reduce(x, d_set(0.0), &n, &rl);
    return d_mul(d_exp_poly(rh, rl), d_pow2i(n));
}

/* e^(x + lo) for every x (as f_exp: clamped to [-746, 710], two scalings,
   a subnormal result rounded once). */
VM_FN vd d_exp_dd(vd x, vd lo)
{
    x = d_min(d_set(710.0), d_max(d_set(-746.0), x));
    vl n;
    vd rl, rh = d_exp_reduce(x, lo, &n, &rl);
    vl n1 = l_sub(l_srl(l_add(n, l_set(2048)), 1), l_set(1024));
    vl n2 = l_sub(n, n1);
    return d_mul(d_mul(d_exp_poly(rh, rl), d_pow2i(n1)), d_pow2i(n2));
}
VM_FN vd d_exp(vd x) { return d_exp_dd(x, d_set(0.0)); }

/* e^x for x <= 0 (or NaN), as f_exp_nonpos */
VM_FN vd d_exp_nonpos(vd x)
{
    return dm_some(d_lt(x, d_set(-708.0))) ? d_exp(x) : d_exp_core(x);
}

/* e^x - 1 as f_expm1 (n = 1024 is the out-of-range one; x < -38 gives -1) */
VM_FN vd d_expm1(vd x)
{
    vd xc = d_min(d_set(710.0), d_max(d_set(-38.0), x));
    vl n;
    vd rl, rh = d_exp_reduce(xc, d_set(0.0), &n, &rl), r = d_add(rh, rl);
    vd p = d_add(rh, d_fma(d_mul(r, r), d_fma(r, D_POLY(r, AGI_VM_EXPM1_F64), d_set(0.5)), rl));
    vl b = l_srl(l_add(n, l_set(1024)), 11);            /* 1 iff n == 1024 */
    vd t = d_pow2i(l_sub(n, b));
    vd y = d_mul(d_fma(t, p, d_sub(t, d_set(1.0))), d_pow2i(b));
    return d_from(l_or(d_bits(y), l_and(d_bits(x), l_set(D_SIGN))));
}

/* x = 2^k m, m in [sqrt(1/2), sqrt(2)), x > 0 normal; returns m, k. */
VM_FN vd d_log_split(vd x, vd *k)
{
    vl ix = d_bits(x);
    vl e = l_srl(l_add(ix, l_set(0x3ff0000000000000ull - 0x3fe6a09e667f3bcdull)), 52);
    *k = d_sub(d_of_uint(e), d_set(1023.0));
    return d_from(l_sub(ix, l_sll(l_sub(e, l_set(1023)), 52)));
}

/* log1p(f) = f - (hfsq - (s (hfsq + R(s^2)) + lo)), s = f / (2 + f),
   hfsq = f^2 / 2: fdlibm's form; lo holds the small corrections. */
VM_FN vd d_log1p_f(vd f, vd lo)
{
    vd hfsq = d_mul(d_set(0.5), d_mul(f, f));
    vd s = d_div(f, d_add(d_set(2.0), f)), z = d_mul(s, s);
    vd R = d_mul(z, D_POLY(z, AGI_VM_LOGR_F64));
    return d_sub(f, d_sub(hfsq, d_fma(s, d_add(hfsq, R), lo)));
}

VM_FN vd d_log(vd x)
{
    dm sub = d_lt(x, d_set(0x1p-1022));
    vd xs = x, kadj = d_set(0.0), k;
    if (dm_some(sub)) {                  /* subnormal (or <= 0): scale by 2^54 */
        xs = d_sel(sub, d_mul(x, d_set(0x1p54)), x);
        kadj = d_sel(sub, d_set(54.0), d_set(0.0));
    }
    vd f = d_sub(d_log_split(xs, &k), d_set(1.0));
    k = d_sub(k, kadj);
    vd y = d_log1p_f(f, d_mul(k, d_set(AGI_VM_LN2_F64_2)));
    y = d_fma(k, d_set(AGI_VM_LN2_F64_1), y);
    dm bad = dm_not(dm_and(d_gt(x, d_set(0.0)), d_lt(x, d_set(INFINITY))));
    if (dm_some(bad)) {
        y = d_sel(d_eq(x, d_set(INFINITY)), x, y);
        y = d_sel(d_eq(x, d_set(0.0)), d_set(-INFINITY), y);
        y = d_sel(d_lt(x, d_set(0.0)), d_set(NAN), y);
        y = d_sel(d_nan(x), d_add(x, x), y);
    }
    return y;
}

/* ln(1 + x) as f_log1p: u = 1 + x and u's rounding error (exact) over u. */
VM_FN vd d_log1p(vd x)
{
    vd u = d_add(d_set(1.0), x), k;
    vd f = d_sub(d_log_split(u, &k), d_set(1.0));
    vd c = d_sel(d_ge(u, d_set(2.0)), d_sub(d_set(1.0), d_sub(u, x)),
                 d_sub(x, d_sub(u, d_set(1.0))));
    vd lo = d_fma(k, d_set(AGI_VM_LN2_F64_2), d_div(c, u));
    vd y = d_fma(k, d_set(AGI_VM_LN2_F64_1), d_log1p_f(f, lo));
    dm bad = dm_or(dm_not(dm_and(d_gt(u, d_set(0.0)), d_lt(u, d_set(INFINITY)))),
                   d_eq(x, d_set(0.0)));
    if (dm_some(bad)) {
        y = d_sel(d_eq(u, d_set(INFINITY)), d_set(INFINITY), y);
        y = d_sel(d_eq(u, d_set(0.0)), d_set(-INFINITY), y);
        y = d_sel(d_lt(u, d_set(0.0)), d_set(NAN), y);
        y = d_sel(d_eq(x, d_set(0.0)), x, y);
        y = d_sel(d_nan(x), d_add(x, x), y);
    }
    return y;
}

/*
** tanh x: |x| < 0.625: |x| + |x|^3 q(x^2); else e / (e + 2) with
** e = expm1(2|x|), |x| clamped to 22 (where tanh rounds to 1). Each side
** computed only when a lane needs it; the sign put back.
*/
VM_FN vd d_tanh(vd x)
{
    vd a = d_abs(x), y = d_set(0.0);
    dm small = d_lt(a, d_set(0.625));
    if (dm_some(small)) {
        vd z = d_mul(a, a);
        y = d_fma(d_mul(a, z), D_POLY(z, AGI_VM_TANH_F64), a);
    }
    if (dm_some(dm_not(small))) {
        vd e = d_expm1(d_min(d_set(44.0), d_add(a, a)));
        y = d_sel(small, y, d_div(e, d_add(e, d_set(2.0))));
    }
    return d_copysign(y, x);
}

/* as f_sigmoid */
VM_FN vd d_sigmoid(vd x)
{
    vd e = d_exp_nonpos(d_sub(d_set(0.0), d_abs(x)));
    vd d = d_add(d_set(1.0), e), dl = d_add(d_sub(d_set(1.0), d), e);
    dm pos = d_ge(x, d_set(0.0));
    vd q = d_div(d_sel(pos, d_set(1.0), e), d);
    vd inv = d_sel(pos, q, d_sub(d_set(1.0), q));
    return d_abs(d_fnma(q, d_mul(dl, inv), q));         /* +0, never -0 */
}

VM_FN vd d_softplus(vd x)
{
    vd e = d_exp_nonpos(d_sub(d_set(0.0), d_abs(x)));
    return d_add(d_max(x, d_set(0.0)), d_log1p(e));
}

VM_FN vd d_elu(vd x, vd alpha)
{
    return d_sel(d_gt(x, d_set(0.0)), x, d_mul(alpha, d_expm1(x)));
}

/*
** erf x: |x| < 0.875: |x| + |x| q(x^2); else 1 - e^{-x^2} g(|x| - 3.375),
** g fitted to erfc(x) e^{x^2} up to |x| = 5.93 (where erf rounds to 1;
** |x| is clamped there), x^2 carried as a double-double into the exp.
*/
VM_FN vd d_erf(vd x)
{
    vd a = d_abs(x), y = d_set(0.0);
    dm small = d_lt(a, d_set(0.875));
    if (dm_some(small))
        y = d_fma(a, D_POLY(d_mul(a, a), AGI_VM_ERF_F64), a);
    if (dm_some(dm_not(small))) {
        vd ac = d_min(d_set(5.93), a);
        vd hi = d_mul(ac, ac), lo = d_prod_err(ac, ac, hi);
        vd e = d_exp_core(d_sub(d_set(0.0), hi));
        e = d_fnma(e, lo, e);                       /* e^{-hi} (1 - lo) */
        vd g = D_POLY(d_sub(ac, d_set(3.375)), AGI_VM_ERFC_F64);
        y = d_sel(small, y, d_fnma(e, g, d_set(1.0)));
    }
    return d_copysign(y, x);
}
