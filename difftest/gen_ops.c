/*
** gen_ops.c: generators for the elementwise ops (ag_unary.h, ag_binary.h),
** the comparison masks with ag_where, ag_detach, ag_dropout_mask, and the
** exact-kink generators (kink_*). Reductions, products and shape ops are in
** gen_ops2.c and gen_ops3.c.
**
** Safe domains (inputs a generator accepts; anything else is redrawn):
**   log, sqrt, fractional powers, pow's base     >= 0.05
**   reciprocal, div's denominator, powers < 0    |x| >= 0.1
**   abs, relu, leaky_relu, elu, sign             |x| > 1e-6 (no kink)
**   clamp                                        > 1e-6 from both bounds
**   maximum, minimum, masks                      |a - b| > 1e-6 (no tie)
**   exp                                          x <= 6
**   softplus                                     |x| <= 15 (PyTorch's
**                                                formula changes at 20)
**   tanh, sigmoid                                |x| <= 5, |x| <= 10
**   div                                          no element with a == b
**   pow's exponent                               |b| > 1e-6
** Why the last four: saturated, tanh' = 1 - y^2 and sigmoid' = y (1 - y)
** lose digits to cancellation (3e-9 relative at tanh(11), an HVP mismatch
** made of both libraries' rounding); x/x, also through a reshape, is an
** exact 1 whose derivatives are pure rounding residue (4e-12 against 0);
** and PyTorch 1.13's pow backward masks d/da with where(b == 0, 0, ...),
** so at b == 0 exactly its Hessian is asymmetric (d(dy/da)/db = 0 but
** d(dy/db)/da = 1/a, the true value, which this library gives both ways):
** a quirk of the reference, not a bug here.
*/
#include <math.h>
#include <string.h>
#include "gen.h"

static int p_pos(const dt_node *n) { return dt_min(n) >= 0.05; }
static int p_nonzero(const dt_node *n) { return dt_min_abs(n) >= 0.1; }
static int p_kink(const dt_node *n) { return dt_min_abs(n) > DT_KINK; }
static int p_exp(const dt_node *n) { return dt_max(n) <= 6; }
static int p_softplus(const dt_node *n) { return dt_max_abs(n) <= 15; }
static int p_small(const dt_node *n) { return dt_max_abs(n) <= 3; }
static int p_tanh(const dt_node *n) { return dt_max_abs(n) <= 5; }
static int p_sigmoid(const dt_node *n) { return dt_max_abs(n) <= 10; }

/* ------------------------------------------------------------- unary --- */

typedef struct unary_def {
    ag_tensor *(*fn)(ag_tape *, ag_tensor *);
    dt_pred pred;
    double lo, hi;     /* a new leaf's range */
    int push;
} unary_def;

static int run_unary(dt_gen *g, const dt_op *op)
{
    const unary_def *d = op->def;
    int a = dt_operand(g, d->pred, d->lo, d->hi, d->push);
    dt_begin(g);
    dt_arg_t(g, a);
    return dt_commit(g, op->name, d->fn(g->t, g->nodes[a].x));
}

#define UNARY(NAME, PRED, LO, HI, PUSH)                                    \
    static const unary_def def_##NAME = {ag_##NAME, PRED, LO, HI, PUSH};
UNARY(neg, NULL, -2, 2, 0)
UNARY(exp, p_exp, -2, 2, 0)
UNARY(log, p_pos, 0.2, 3, 0)
UNARY(sqrt, p_pos, 0.2, 3, 0)
UNARY(abs, p_kink, -2, 2, 1)
UNARY(square, NULL, -2, 2, 0)
UNARY(reciprocal, p_nonzero, -2, 2, 1)
UNARY(sin, NULL, -3, 3, 0)
UNARY(cos, NULL, -3, 3, 0)
UNARY(tanh, p_tanh, -2, 2, 0)
UNARY(sigmoid, p_sigmoid, -3, 3, 0)
UNARY(softplus, p_softplus, -3, 3, 0)
UNARY(relu, p_kink, -2, 2, 1)
UNARY(sign, p_kink, -2, 2, 1)
UNARY(detach, NULL, -2, 2, 0)

/* -------------------------------------------------- one scalar param --- */

typedef struct scalar_def {
    ag_tensor *(*fn)(ag_tape *, ag_tensor *, double);
    dt_pred pred;
    double lo, hi;      /* a new leaf's range */
    int push;
    double s_lo, s_hi;  /* the scalar's range, */
    int s_push;         /* pushed to at least 0.3 from 0 when set */
} scalar_def;

static int run_scalar(dt_gen *g, const dt_op *op)
{
    const scalar_def *d = op->def;
    int a = dt_operand(g, d->pred, d->lo, d->hi, d->push);
    double s = dt_unif(g, d->s_lo, d->s_hi);
    if (d->s_push && fabs(s) < 0.3) s = s < 0 ? s - 0.3 : s + 0.3;
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_f(g, s);
    return dt_commit(g, op->name, d->fn(g->t, g->nodes[a].x, s));
}

#define SCALAR(NAME, PRED, LO, HI, PUSH, SLO, SHI, SPUSH)                  \
    static const scalar_def def_##NAME = {ag_##NAME, PRED, LO, HI, PUSH, SLO, SHI, SPUSH};
SCALAR(add_scalar, NULL, -2, 2, 0, -2, 2, 0)
SCALAR(sub_scalar, NULL, -2, 2, 0, -2, 2, 0)
SCALAR(rsub_scalar, NULL, -2, 2, 0, -2, 2, 0)
SCALAR(mul_scalar, NULL, -2, 2, 0, -2, 2, 0)
SCALAR(div_scalar, NULL, -2, 2, 0, -3, 3, 1)
SCALAR(rdiv_scalar, p_nonzero, -2, 2, 1, -2, 2, 1)
SCALAR(leaky_relu, p_kink, -2, 2, 1, -0.5, 0.5, 0)
SCALAR(elu, p_kink, -2, 2, 1, 0.2, 2, 0)

/* x^p for p among integers and fractions, each in its own domain. */
static int run_pow_scalar(dt_gen *g, const dt_op *op)
{
    static const double ps[] = {2, 3, 4, 1, 0, -1, -2, 0.5, 1.5, 2.5, -0.5, -1.5};
    double p = ps[dt_int(g, 0, (int)(sizeof ps / sizeof *ps) - 1)];
    int whole = p == floor(p);
    dt_pred pred = !whole ? p_pos : p < 0 ? p_nonzero : NULL;
    int a = whole ? dt_operand(g, pred, -2, 2, 1) : dt_operand(g, pred, 0.2, 3, 0);
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_f(g, p);
    return dt_commit(g, op->name, ag_pow_scalar(g->t, g->nodes[a].x, p));
}

/* clamp(x, lo, hi), one bound possibly infinite, none near a value. */
static int run_clamp(dt_gen *g, const dt_op *op)
{
    int a = dt_operand(g, NULL, -2, 2, 0);
    const dt_node *x = &g->nodes[a];
    double mn = dt_min(x), mx = dt_max(x);
    double lo = dt_unif(g, mn - 0.3, mx), hi = dt_unif(g, mn, mx + 0.3);
    if (lo > hi) { double s = lo; lo = hi; hi = s; }
    int r = dt_int(g, 0, 3);
    if (r == 0) lo = -INFINITY;
    if (r == 1) hi = INFINITY;
    const double *v = dt_vals(x);
    for (int64_t i = 0; i < ag_tensor_numel(x->x); i++)
        if (fabs(v[i] - lo) <= DT_KINK || fabs(v[i] - hi) <= DT_KINK) return -1;
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_f(g, lo), dt_arg_f(g, hi);
    return dt_commit(g, op->name, ag_clamp(g->t, x->x, lo, hi));
}

/* ag_cast to f32 and back: written as one node, cast_rt. */
static int run_cast_rt(dt_gen *g, const dt_op *op)
{
    int a = dt_operand(g, NULL, -2, 2, 0);
    ag_tensor *f = ag_cast(g->t, g->nodes[a].x, AG_F32);
    dt_begin(g);
    dt_arg_t(g, a);
    return dt_commit(g, op->name, ag_cast(g->t, f, AG_F64));
}

/* ------------------------------------------------------------ binary --- */

typedef struct binary_def {
    ag_tensor *(*fn)(ag_tape *, ag_tensor *, ag_tensor *);
    int kind;          /* 0 any, 1 b nonzero (div), 2 pow, 3 no ties */
} binary_def;

static int run_binary(dt_gen *g, const dt_op *op)
{
    const binary_def *d = op->def;
    int a, b;
    if (d->kind == 2) {
        a = dt_operand(g, p_pos, 0.3, 2.5, 0);
        b = dt_partner(g, a, p_small, -2, 2, 0);
    } else {
        a = dt_operand(g, NULL, -2, 2, 0);
        b = d->kind == 1 ? dt_partner(g, a, p_nonzero, -2, 2, 1)
                         : dt_partner(g, a, NULL, -2, 2, 0);
    }
    ag_tensor *xa = g->nodes[a].x, *xb = g->nodes[b].x;
    if (d->kind == 3 && dt_min_gap(g, xa, xb) <= DT_KINK) return -1;
    if (d->kind == 2 && dt_min_abs(&g->nodes[b]) <= DT_KINK) return -1;   /* see above */
    if (d->kind == 1 && dt_min_gap(g, xa, xb) == 0) return -1;   /* x/x, see above */
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_t(g, b);
    return dt_commit(g, op->name, d->fn(g->t, xa, xb));
}

#define BINARY(NAME, KIND) static const binary_def def_##NAME = {ag_##NAME, KIND};
BINARY(add, 0)
BINARY(sub, 0)
BINARY(mul, 0)
BINARY(div, 1)
BINARY(pow, 2)
BINARY(maximum, 3)
BINARY(minimum, 3)

/* --------------------------------------------------- masks and where --- */

typedef struct cmp_def {
    const char *name;
    ag_tensor *(*fn)(ag_tape *, ag_tensor *, ag_tensor *);
    ag_tensor *(*fn_s)(ag_tape *, ag_tensor *, double);
} cmp_def;

static const cmp_def cmps[] = {
    {"gt", ag_gt, ag_gt_scalar}, {"ge", ag_ge, ag_ge_scalar},
    {"lt", ag_lt, ag_lt_scalar}, {"le", ag_le, ag_le_scalar},
    {"eq", ag_eq, ag_eq_scalar},
};

/* eq on exact values: sign(a) against +-1, 0 or sign(b). */
static int make_eq_mask(dt_gen *g, int a, const cmp_def *c)
{
    if (!p_kink(&g->nodes[a])) return -1;
    dt_begin(g);
    dt_arg_t(g, a);
    int s = dt_commit(g, "sign", ag_sign(g->t, g->nodes[a].x));
    if (s < 0) return -1;
    char name[32];
    dt_begin(g);
    dt_arg_t(g, s);
    if (dt_coin(g, 0.5)) {
        double v = dt_int(g, -1, 1);
        dt_arg_f(g, v);
        snprintf(name, sizeof name, "%s_scalar", c->name);
        return dt_commit(g, name, c->fn_s(g->t, g->nodes[s].x, v));
    }
    int b = dt_partner(g, a, p_kink, -2, 2, 1);
    dt_begin(g);
    dt_arg_t(g, b);
    int sb = dt_commit(g, "sign", ag_sign(g->t, g->nodes[b].x));
    if (sb < 0) return -1;
    dt_begin(g);
    dt_arg_t(g, s), dt_arg_t(g, sb);
    return dt_commit(g, c->name, c->fn(g->t, g->nodes[s].x, g->nodes[sb].x));
}

/* A comparison mask that broadcasts with a: a against a tensor or a
   scalar, no value within 1e-6 of the other side. */
static int make_mask(dt_gen *g, int a)
{
    const cmp_def *c = &cmps[dt_int(g, 0, 4)];
    if (!strcmp(c->name, "eq")) return make_eq_mask(g, a, c);
    ag_tensor *xa = g->nodes[a].x;
    char name[32];
    if (dt_coin(g, 0.5)) {
        double s = dt_unif(g, dt_min(&g->nodes[a]), dt_max(&g->nodes[a]));
        ag_tensor *sv = ag_scalar(g->t, AG_F64, s);
        if (dt_min_gap(g, xa, sv) <= DT_KINK) return -1;
        snprintf(name, sizeof name, "%s_scalar", c->name);
        dt_begin(g);
        dt_arg_t(g, a), dt_arg_f(g, s);
        return dt_commit(g, name, c->fn_s(g->t, xa, s));
    }
    int b = dt_partner(g, a, NULL, -2, 2, 0);
    ag_tensor *xb = g->nodes[b].x;
    if (dt_min_gap(g, xa, xb) <= DT_KINK) return -1;
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_t(g, b);
    return dt_commit(g, c->name, c->fn(g->t, xa, xb));
}

/* where(mask, a, b), the mask from comparing a with something. */
static int run_where(dt_gen *g, const dt_op *op)
{
    int a = dt_operand(g, NULL, -2, 2, 0);
    int m = make_mask(g, a);
    if (m < 0) return -1;
    int b = dt_partner(g, a, NULL, -2, 2, 0), n1, n2;
    ag_tensor *xm = g->nodes[m].x, *xa = g->nodes[a].x, *xb = g->nodes[b].x;
    int64_t s1[AG_MAX_DIMS], s2[AG_MAX_DIMS];
    if (!dt_bcast(ag_tensor_ndim(xm), ag_tensor_shape(xm), ag_tensor_ndim(xa),
                  ag_tensor_shape(xa), &n1, s1) ||
        !dt_bcast(n1, s1, ag_tensor_ndim(xb), ag_tensor_shape(xb), &n2, s2))
        return -1;
    int order = dt_coin(g, 0.5);             /* the compared tensor on either side */
    dt_begin(g);
    dt_arg_t(g, m), dt_arg_t(g, order ? a : b), dt_arg_t(g, order ? b : a);
    return dt_commit(g, op->name, ag_where(g->t, xm, order ? xa : xb, order ? xb : xa));
}

/* x * dropout_mask: the mask is a constant from the generator's stream. */
static int run_dropout(dt_gen *g, const dt_op *op)
{
    static const double ps[] = {0, 0.25, 0.5, 0.8};
    int a = dt_operand(g, NULL, -2, 2, 0);
    ag_tensor *x = g->nodes[a].x;
    double p = ps[dt_int(g, 0, 3)];
    int nd = ag_tensor_ndim(x);
    dt_begin(g);
    dt_arg_f(g, p), dt_arg_il(g, nd, ag_tensor_shape(x));
    int m = dt_commit(g, op->name, ag_dropout_mask(g->t, g->rng, AG_F64, nd,
                                                   ag_tensor_shape(x), p));
    if (m < 0) return -1;
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_t(g, m);
    return dt_commit(g, "mul", ag_mul(g->t, x, g->nodes[m].x));
}

/* ------------------------------------------------------ exact kinks --- */

/* A leaf whose values are, each with probability 0.4, exactly one of the
   kinks ks[0..nk), else uniform in +-[0.1, 2]: both libraries see the
   same exact kink, so their conventions there can be compared. */
static int kink_leaf(dt_gen *g, const double *ks, int nk, const int64_t *shape, int nd)
{
    double v[DT_MAX_NUMEL];
    for (int64_t i = 0; i < dt_numel(nd, shape); i++) {
        v[i] = dt_unif(g, 0.1, 2) * (dt_coin(g, 0.5) ? -1 : 1);
        if (dt_coin(g, 0.4)) v[i] = ks[dt_int(g, 0, nk - 1)];
    }
    return dt_leaf_vals(g, nd, shape, v, 1);
}

/*
** The derivatives at a kink, as the headers promise PyTorch's: relu'(0) =
** 0, abs'(0) = 0, leaky_relu'(0) = slope, elu'(0) = alpha, clamp passes
** the gradient at its bounds, maximum/minimum split a tie half and half,
** and max/min along an axis give it to the first of equal values (not
** AG_ALL: there PyTorch splits it among ties, a documented difference).
*/
/* Ties: maximum/minimum of a and b equal at about half the places, or
   max/min along an axis of rows with repeated values. */
static int run_tie(dt_gen *g, int which, int a, int nd, const int64_t *shape)
{
    ag_tensor *x = g->nodes[a].x;
    int mx = dt_coin(g, 0.5);
    if (which == 6) {
        double vb[DT_MAX_NUMEL];
        const double *va = dt_vals(&g->nodes[a]);
        for (int64_t i = 0; i < ag_tensor_numel(x); i++)
            vb[i] = dt_coin(g, 0.5) ? va[i] : dt_unif(g, -2, 2);
        int b = dt_leaf_vals(g, nd, shape, vb, dt_coin(g, 0.8));
        dt_begin(g);
        dt_arg_t(g, a), dt_arg_t(g, b);
        return dt_commit(g, mx ? "maximum" : "minimum",
                         (mx ? ag_maximum : ag_minimum)(g->t, x, g->nodes[b].x));
    }
    int axis = dt_int(g, -nd, nd - 1), keep = dt_coin(g, 0.5);
    dt_begin(g);
    dt_arg_t(g, a), dt_arg_i(g, axis), dt_arg_i(g, keep);
    return dt_commit(g, mx ? "max" : "min", (mx ? ag_max : ag_min)(g->t, x, axis, keep));
}

static int run_kink(dt_gen *g, const dt_op *op)
{
    int64_t shape[AG_MAX_DIMS];
    int nd = dt_shape(g, 1, 3, shape), which = *(const int *)op->def;
    double lo = dt_unif(g, -1, 0), hi = dt_unif(g, 0.1, 1), zero = 0, p = 0;
    double bounds[2] = {lo, hi}, ties[3] = {-1, 0.5, 2};
    dt_note(g, op->name);
    int a = which == 4 ? kink_leaf(g, bounds, 2, shape, nd)
            : which >= 6 ? kink_leaf(g, ties, 3, shape, nd) : kink_leaf(g, &zero, 1, shape, nd);
    if (which >= 6) return run_tie(g, which, a, nd, shape);
    ag_tensor *x = g->nodes[a].x;
    dt_begin(g);
    dt_arg_t(g, a);
    switch (which) {
    case 0: return dt_commit(g, "relu", ag_relu(g->t, x));
    case 1: return dt_commit(g, "abs", ag_abs(g->t, x));
    case 2:
        dt_arg_f(g, p = dt_unif(g, -0.5, 0.5));
        return dt_commit(g, "leaky_relu", ag_leaky_relu(g->t, x, p));
    case 3:
        dt_arg_f(g, p = dt_unif(g, 0.2, 2));
        return dt_commit(g, "elu", ag_elu(g->t, x, p));
    case 4:
        dt_arg_f(g, lo), dt_arg_f(g, hi);
        return dt_commit(g, "clamp", ag_clamp(g->t, x, lo, hi));
    default: return dt_commit(g, "sign", ag_sign(g->t, x));
    }
}

/* ------------------------------------------------------------- table --- */

static const int kinds[] = {0, 1, 2, 3, 4, 5, 6, 7};
#define U(NAME) {#NAME, run_unary, &def_##NAME, 0}
#define S(NAME) {#NAME, run_scalar, &def_##NAME, 0}
#define B(NAME) {#NAME, run_binary, &def_##NAME, 0}
const dt_op dt_ops_a[] = {
    U(neg), U(exp), U(log), U(sqrt), U(abs), U(square), U(reciprocal), U(sin),
    U(cos), U(tanh), U(sigmoid), U(softplus), U(relu), U(sign), U(detach),
    S(add_scalar), S(sub_scalar), S(rsub_scalar), S(mul_scalar), S(div_scalar),
    S(rdiv_scalar), S(leaky_relu), S(elu),
    {"pow_scalar", run_pow_scalar, NULL, 0}, {"clamp", run_clamp, NULL, 0},
    {"cast_rt", run_cast_rt, NULL, 0},
    B(add), B(sub), B(mul), B(div), B(pow), B(maximum), B(minimum),
    {"where", run_where, NULL, 0}, {"dropout_mask", run_dropout, NULL, 0},
    {"kink_relu", run_kink, &kinds[0], 0}, {"kink_abs", run_kink, &kinds[1], 0},
    {"kink_leaky_relu", run_kink, &kinds[2], 0},
    /* was a bug (repro_elu_second_derivative_at_0.txt): at x == 0 exactly
       elu''(0) was alpha, PyTorch's is 0; fixed, now compared like the rest */
    {"kink_elu", run_kink, &kinds[3], 0},
    {"kink_clamp", run_kink, &kinds[4], 0}, {"kink_sign", run_kink, &kinds[5], 0},
    {"kink_maximum_tie", run_kink, &kinds[6], 0}, {"kink_max_tie", run_kink, &kinds[7], 0},
};
const int dt_n_ops_a = (int)(sizeof dt_ops_a / sizeof *dt_ops_a);
