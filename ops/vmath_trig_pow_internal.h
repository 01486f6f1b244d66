/*
** vmath_trig_pow_internal.h: sin, cos and pow on f64 lanes (the f32
** functions convert to these, vmath_kernels_internal.h). Included by
** vmath_kernels_internal.h only.
**
** sin, cos: x = n pi/2 + r by Cody-Waite in four parts of pi/2 (three of
** 33 bits, exact products for n < 2^20, and one of 53), r carried as a
** double-double, for |x| <= 1.6e6. Larger finite lanes (rare) go one by
** one through agi_vm_rem_pio2 (Payne-Hanek, vmath.c), so the bound holds
** for every finite x. Then sin r or cos r by n mod 4.
**
** pow: e^{y ln|x|} with ln|x| as a double-double good to about 2^-100
** and y ln|x| carried as one into exp, so that the error stays near an
** ulp up to the overflow bound (a plain log's 2^-53 times |y ln x| ~ 700
** would be hundreds); then C99's special cases (F.9.4.4).
*/

#define D_TRIG_MAX 1.6e6            /* n = round(x 2/pi) < 2^20 below it */

/* (s, e) = a + b exactly (Knuth's two-sum). */
VM_FN vd d_two_sum(vd a, vd b, vd *e)
{
    vd s = d_add(a, b), bb = d_sub(s, a);
    *e = d_add(d_sub(a, d_sub(s, bb)), d_sub(b, bb));
    return s;
}

/* The lanes of big (|x| > D_TRIG_MAX, inf, NaN) reduced one by one. */
static VM_TGT void d_trig_big(vd x, dm big, vd *r, vd *rl, vd *n)
{
    double xs[VD_N], rs[VD_N], ls[VD_N], ns[VD_N], bs[VD_N];
    d_store(xs, x);
    d_store(rs, *r);
    d_store(ls, *rl);
    d_store(ns, *n);
    d_store(bs, d_sel(big, d_set(1.0), d_set(0.0)));
    for (int i = 0; i < VD_N; i++) {
        if (bs[i] == 0) continue;
        if (xs[i] - xs[i] != 0) {                   /* inf or NaN: NaN */
            rs[i] = ls[i] = xs[i] - xs[i];
            ns[i] = 0;
        } else {
            ns[i] = agi_vm_rem_pio2(xs[i], &rs[i], &ls[i]);
        }
    }
    *r = d_load(rs);
    *rl = d_load(ls);
    *n = d_load(ns);
}

/*
** x = n pi/2 + r + rl, r = rh + rl rounded to nearest; returns rh and n
** mod 4 in the low bits of *q. x - n P1 and the products n P2, n P3 are
** exact; the two subtractions after them are two-sums, so that only the
** last addition rounds, however much cancels.
*/
VM_FN vd d_trig_reduce(vd x, vd *rl, vl *q)
{
    vd t = d_fma(x, d_set(AGI_VM_TWO_OVER_PI), d_set(D_MAGIC));
    vd n = d_sub(t, d_set(D_MAGIC)), e1, e2;
    vd a = d_fnma(n, d_set(AGI_VM_PIO2_1), x);
    vd s = d_two_sum(a, d_mul(n, d_set(-AGI_VM_PIO2_2)), &e1);
    vd u = d_two_sum(s, d_mul(n, d_set(-AGI_VM_PIO2_3)), &e2);
    vd c = d_fnma(n, d_set(AGI_VM_PIO2_4), d_add(e1, e2));
    vd r = d_add(u, c);
    *rl = d_sub(c, d_sub(r, u));
    dm big = dm_not(d_le(d_abs(x), d_set(D_TRIG_MAX)));
    if (dm_any(big)) {
        d_trig_big(x, big, &r, rl, &n);
        t = d_add(n, d_set(D_MAGIC));
    }
    *q = l_sub(d_bits(t), l_set(D_MAGIC_BITS));
    return r;
}

/* sin(r + rl) = r + (rl + r^3 q(z)), z = r^2 (rl cos r ~ rl: cos r - 1 is
   below 0.3 and rl below half an ulp of r) */
VM_FN vd d_sin_poly(vd r, vd rl, vd z)
{
    return d_add(r, d_fma(d_mul(r, z), D_POLY(z, AGI_VM_SIN_F64), rl));
}

/* cos(r + rl) = w + (((1 - w) - z/2) + z^2 q(z) - r rl), w = 1 - z/2
   (its rounding error carried, fdlibm's way) */
VM_FN vd d_cos_poly(vd r, vd rl, vd z)
{
    vd hz = d_mul(d_set(0.5), z), w = d_sub(d_set(1.0), hz);
    vd tail = d_fnma(r, rl, d_sub(d_sub(d_set(1.0), w), hz));
    return d_add(w, d_fma(d_mul(z, z), D_POLY(z, AGI_VM_COS_F64), tail));
}

/* sin x: sin r, cos r, -sin r, -cos r for n mod 4 = 0..3; +-0 kept. */
VM_FN vd d_sin(vd x)
{
    vl q;
    vd rl, r = d_trig_reduce(x, &rl, &q), z = d_mul(r, r);
    vd y = d_sel(l_nz(l_and(q, l_set(1))), d_cos_poly(r, rl, z), d_sin_poly(r, rl, z));
    y = d_from(l_xor(d_bits(y), l_sll(l_and(q, l_set(2)), 62)));
    return d_sel(d_eq(x, d_set(0.0)), x, y);
}

/* cos x: cos r, -sin r, -cos r, sin r for n mod 4 = 0..3. */
VM_FN vd d_cos(vd x)
{
    vl q;
    vd rl, r = d_trig_reduce(x, &rl, &q), z = d_mul(r, r);
    vd y = d_sel(l_nz(l_and(q, l_set(1))), d_sin_poly(r, rl, z), d_cos_poly(r, rl, z));
    return d_from(l_xor(d_bits(y), l_sll(l_and(l_add(q, l_set(1)), l_set(2)), 62)));
}

/*
** ln a = hi + lo for a = |x| >= 0: a = 2^k m, u = 2 (m-1) / (m+1) as a
** double-double, ln m = u + u^3/12 + u^5 q(u^2) with the first two terms
** in double-double, k ln2 in three parts. 0, inf, NaN give -inf, inf, NaN
** (lo 0).
*/
VM_FN vd d_log_dd(vd a, vd *lo)
{
    dm sub = d_lt(a, d_set(0x1p-1022));
    vd xs = a, kadj = d_set(0.0), k;
    if (dm_some(sub)) {
        xs = d_sel(sub, d_mul(a, d_set(0x1p54)), a);
        kadj = d_sel(sub, d_set(54.0), d_set(0.0));
    }
    vd f = d_sub(d_log_split(xs, &k), d_set(1.0));
    k = d_sub(k, kadj);
    vd d = d_add(d_set(2.0), f), dl = d_add(d_sub(d_set(2.0), d), f); /* 2 + f */
    vd f2 = d_add(f, f), uh = d_div(f2, d), p = d_mul(uh, d);
    vd rem = d_fnma(uh, dl, d_sub(d_sub(f2, p), d_prod_err(uh, d, p)));
    vd ul = d_div(rem, d);                          /* u = uh + ul */
    vd v = d_mul(uh, uh);
    vd vl_ = d_fma(d_add(uh, uh), ul, d_prod_err(uh, uh, v));   /* u^2 = v + vl_ */
    vd c3 = d_mul(v, uh);
    vd c3l = d_fma(v, ul, d_fma(vl_, uh, d_prod_err(v, uh, c3)));  /* u^3 */
    vd t3 = d_mul(c3, d_set(AGI_VM_TWELFTH_DD_1));
    vd t3l = d_fma(c3l, d_set(AGI_VM_TWELFTH_DD_1),
                   d_fma(c3, d_set(AGI_VM_TWELFTH_DD_2),
                         d_prod_err(c3, d_set(AGI_VM_TWELFTH_DD_1), t3)));
    vd t5 = d_mul(d_mul(c3, v), D_POLY(v, AGI_VM_PLOG_F64));
    vd e1, e2;
    vd s1 = d_two_sum(d_mul(k, d_set(AGI_VM_LN2_F64_1)), uh, &e1);
    vd s2 = d_two_sum(s1, t3, &e2);
    vd small = d_add(d_add(ul, t3l), d_fma(k, d_set(AGI_VM_LN2_F64_2), t5));
    vd l = d_add(d_add(e1, e2), small);
    vd hi = d_add(s2, l);
    *lo = d_sub(l, d_sub(hi, s2));
    dm bad = dm_not(dm_and(d_gt(a, d_set(0.0)), d_lt(a, d_set(INFINITY))));
    if (dm_some(bad)) {
        hi = d_sel(d_eq(a, d_set(0.0)), d_set(-INFINITY), hi);
        hi = d_sel(dm_or(d_eq(a, d_set(INFINITY)), d_nan(a)), a, hi);
        *lo = d_sel(bad, d_set(0.0), *lo);
    }
    return hi;
}

/*
** C99's pow rules around mag = |x|^y: the sign for x < 0 (and -0, -inf)
** and an odd integer y; NaN for finite x < 0 and finite non-integer y;
** 1 for y = +-0 (even x NaN), for x = 1 (even y NaN) and for x = -1 with
** y = +-inf.
*/
VM_FN vd d_pow_fix(vd x, vd y, vd mag)
{
    vd ay = d_abs(y);
    dm below52 = d_lt(ay, d_set(0x1p52));
    vd b = d_sel(below52, d_add(ay, d_set(0x1p52)), ay);   /* ulp 1 below 2^53 */
    dm yint = dm_or(dm_not(below52), d_eq(d_sub(b, d_set(0x1p52)), ay));
    dm odd = dm_and(dm_and(yint, d_lt(ay, d_set(0x1p53))), l_nz(l_and(d_bits(b), l_set(1))));
    vd sgn = d_sel(odd, d_from(l_and(d_bits(x), l_set(D_SIGN))), d_set(0.0));
    vd r = d_from(l_xor(d_bits(mag), d_bits(sgn)));
    dm neg = dm_and(d_lt(x, d_set(0.0)), d_gt(x, d_set(-INFINITY)));
    r = d_sel(dm_and(neg, dm_not(dm_or(yint, dm_not(d_lt(ay, d_set(INFINITY)))))),
              d_set(NAN), r);
    dm one = dm_or(dm_or(d_eq(y, d_set(0.0)), d_eq(x, d_set(1.0))),
                   dm_and(d_eq(x, d_set(-1.0)), d_eq(ay, d_set(INFINITY))));
    return d_sel(one, d_set(1.0), r);
}

/* x^y to about an ulp (see the top of this file). */
VM_FN vd d_pow(vd x, vd y)
{
    vd lo, hi = d_log_dd(d_abs(x), &lo);
    vd zh = d_mul(y, hi);
    vd zl = d_fma(y, lo, d_prod_err(y, hi, zh));
    zl = d_sel(d_lt(d_abs(zh), d_set(1000.0)), zl, d_set(0.0));  /* inf, NaN */
    return d_pow_fix(x, y, d_exp_dd(zh, zl));
}

/* x^y for the f32 functions: a plain log is enough there (|y ln x| <= 104
   before f32 overflows, so its error stays near 2^-45). */
VM_FN vd d_pow_lite(vd x, vd y)
{
    return d_pow_fix(x, y, d_exp(d_mul(y, d_log(d_abs(x)))));
}
