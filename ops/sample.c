/*
** sample.c: draws from the seeded generator: multinomial (from weights or
** from logits, with or without replacement) and bernoulli. Every draw is
** ag_rng_uniform on the calling thread, in row-major order, so a seed
** gives the same samples whatever the thread count. Arguments are checked
** in full before the first draw: a call that fails draws nothing.
** Nothing here records a node: samples carry no gradient.
*/
#include "ag_ops_internal.h"
#include "ag_sample.h"

#include <stdio.h>
#include <string.h>

/* "[i,j,..]": the multi-index of flat position i in x's shape ("[]" for 0-d). */
static char *position_str(const ag_tensor *x, int64_t i, char *buf)
{
    int64_t m[AG_MAX_DIMS];
    for (int d = x->ndim - 1; d >= 0; d--) {
        m[d] = i % x->shape[d];
        i /= x->shape[d];
    }
    return agi_dims_str(x->ndim, m, buf);
}

static double value_at(const ag_tensor *x, int64_t i)
{
    return x->dtype == AG_F64 ? AGI_F64(x)[i] : (double)AGI_F32(x)[i];
}

/* --------------------------------------------------------- multinomial --- */

typedef struct draw_args {
    const char *fn, *xname;      /* "ag_multinomial", "probs" */
    const ag_tensor *x;          /* [C] or [B, C] */
    int logits;                  /* x holds logits, not weights */
    int64_t rows, C;
} draw_args;

/* A bad entry of row b; records the error and returns -1. */
static int64_t bad_entry(ag_tape *t, const draw_args *a, int64_t at, double v, const char *why)
{
    char sp[96], sx[96];
    return agi_fail(t, AG_ERR_ARG, "%s: %s%s is %g (%s; %s is %s)", a->fn, a->xname,
                    position_str(a->x, at, sp), v, why, a->xname, agi_shape_str(a->x, sx)), -1;
}

/*
** Row b's weights in w, scaled so the largest is 1 (their sum cannot
** overflow): w = p / max p, or exp(l - max l) for logits. Returns how many
** are non-zero, or -1 after recording why the row is refused.
*/
static int64_t row_weights(ag_tape *t, const draw_args *a, int64_t b, double *w)
{
    char sx[96];
    const int64_t base = b * a->C;
    double top = a->logits ? -INFINITY : 0;
    for (int64_t c = 0; c < a->C; c++) {
        const double v = value_at(a->x, base + c);
        if (isnan(v)) return bad_entry(t, a, base + c, v, "NaN");
        if (a->logits && v == INFINITY) return bad_entry(t, a, base + c, v, "infinite");
        if (!a->logits && (v < 0 || isinf(v)))
            return bad_entry(t, a, base + c, v, v < 0 ? "negative" : "infinite");
        if (v > top) top = v;
    }
    if (top == (a->logits ? -INFINITY : 0))
        return agi_fail(t, AG_ERR_ARG, "%s: row %lld of %s has %s, nothing to draw from (%s "
                        "is %s)", a->fn, (long long)b, a->xname, a->logits ?
                        "only -inf logits" : "only zero weights", a->xname,
                        agi_shape_str(a->x, sx)), -1;
    int64_t nonzero = 0;
    for (int64_t c = 0; c < a->C; c++) {
        const double v = value_at(a->x, base + c);
        w[c] = a->logits ? exp(v - top) : v / top;
        nonzero += w[c] > 0;
    }
    return nonzero;
}

/* k independent draws from w[0..C): the first c whose running sum exceeds
   u * total (the last non-zero category if rounding reaches the total). */
static void draw_with(ag_rng *r, const double *w, int64_t C, double *cdf, int64_t k,
                      int64_t *out)
{
    double acc = 0;
    int64_t last = 0;
    for (int64_t c = 0; c < C; c++) {
        acc += w[c];
        cdf[c] = acc;
        if (w[c] > 0) last = c;
    }
    for (int64_t s = 0; s < k; s++) {
        const double u = ag_rng_uniform(r) * acc;
        int64_t lo = 0, hi = C;
        while (lo < hi) {
            const int64_t mid = lo + (hi - lo) / 2;
            if (cdf[mid] > u) hi = mid;
            else lo = mid + 1;
        }
        out[s] = lo < C ? lo : last;
    }
}

/* k draws from w[0..C), each category's weight set to 0 once drawn. k is
   at most the number of non-zero weights. */
static void draw_without(ag_rng *r, double *w, int64_t C, int64_t k, int64_t *out)
{
    for (int64_t s = 0; s < k; s++) {
        double total = 0, acc = 0;
        for (int64_t c = 0; c < C; c++) total += w[c];
        const double u = ag_rng_uniform(r) * total;
        int64_t pick = -1;
        for (int64_t c = 0; c < C; c++) {
            if (w[c] == 0) continue;
            pick = c;
            acc += w[c];
            if (acc > u) break;
        }
        out[s] = pick;
        w[pick] = 0;
    }
}

/* Every argument but the rows' values; 0 + error if one is bad. */
static int draw_check(ag_tape *t, draw_args *a, ag_rng *r, ag_tensor *x, int64_t k,
                      int replacement, const int64_t *out, int64_t capacity)
{
    char sx[96];
    if (!agi_check(t, a->fn, a->xname, x)) return 0;
    if (!r) return agi_fail(t, AG_ERR_ARG, "%s: generator is NULL", a->fn), 0;
    if (x->ndim != 1 && x->ndim != 2)
        return agi_fail(t, AG_ERR_SHAPE, "%s: %s is %s; it must be 1-D [C] or 2-D [B, C]",
                        a->fn, a->xname, agi_shape_str(x, sx)), 0;
    a->x = x;
    a->C = x->shape[x->ndim - 1];
    a->rows = x->ndim == 2 ? x->shape[0] : 1;
    if (k < 1)
        return agi_fail(t, AG_ERR_ARG, "%s: num_samples is %lld, must be at least 1 (%s is "
                        "%s)", a->fn, (long long)k, a->xname, agi_shape_str(x, sx)), 0;
    if (!replacement && k > a->C)
        return agi_fail(t, AG_ERR_ARG, "%s: cannot draw %lld samples without replacement "
                        "from %lld categories (%s is %s)", a->fn, (long long)k,
                        (long long)a->C, a->xname, agi_shape_str(x, sx)), 0;
    if (!out) return agi_fail(t, AG_ERR_ARG, "%s: out is NULL", a->fn), 0;
    if (a->rows > 0 && k > capacity / a->rows)
        return agi_fail(t, AG_ERR_ARG, "%s: out has room for %lld samples, %lld rows of %lld "
                        "need more (%s is %s)", a->fn, (long long)capacity,
                        (long long)a->rows, (long long)k, a->xname,
                        agi_shape_str(x, sx)), 0;
    return 1;
}

static ag_status multinomial(ag_tape *t, draw_args *a, ag_rng *r, ag_tensor *x, int64_t k,
                             int replacement, int64_t *out, int64_t capacity)
{
    char sx[96];
    if (!t) return AG_ERR_ARG;
    if (!draw_check(t, a, r, x, k, replacement, out, capacity)) return t->status;
    if (a->rows == 0) {                              /* nothing to draw */
        t->n_ops++;
        return AG_OK;
    }
    double *w = agi_alloc(t, (size_t)a->C * sizeof *w + 1);     /* C <= x's numel */
    double *cdf = agi_alloc(t, (size_t)a->C * sizeof *cdf + 1);
    if (!w || !cdf) return t->status;
    for (int64_t b = 0; b < a->rows; b++) {      /* every row checked before a draw */
        const int64_t nonzero = row_weights(t, a, b, w);
        if (nonzero < 0) return t->status;
        if (!replacement && k > nonzero) {
            agi_fail(t, AG_ERR_ARG, "%s: cannot draw %lld samples without replacement from "
                     "row %lld of %s: it has %lld non-zero probabilities (%s is %s)", a->fn,
                     (long long)k, (long long)b, a->xname, (long long)nonzero, a->xname,
                     agi_shape_str(x, sx));
            return t->status;
        }
    }
    for (int64_t b = 0; b < a->rows; b++) {
        row_weights(t, a, b, w);
        if (replacement)
            draw_with(r, w, a->C, cdf, k, out + b * k);
        else
            draw_without(r, w, a->C, k, out + b * k);
    }
    t->n_ops++;                                   /* samples: no node */
    return AG_OK;
}

ag_status ag_multinomial(ag_tape *t, ag_rng *r, ag_tensor *probs, int64_t num_samples,
                         int replacement, int64_t *out, int64_t capacity)
{
    draw_args a = {"ag_multinomial", "probs", NULL, 0, 0, 0};
    return multinomial(t, &a, r, probs, num_samples, replacement, out, capacity);
}

ag_status ag_multinomial_logits(ag_tape *t, ag_rng *r, ag_tensor *logits,
                                int64_t num_samples, int replacement, int64_t *out,
                                int64_t capacity)
{
    draw_args a = {"ag_multinomial_logits", "logits", NULL, 1, 0, 0};
    return multinomial(t, &a, r, logits, num_samples, replacement, out, capacity);
}

/* ----------------------------------------------------------- bernoulli --- */

static const agi_op op_bernoulli = {"ag_bernoulli", NULL, NULL};
static const agi_op op_bernoulli_p = {"ag_bernoulli_p", NULL, NULL};

/* y[i] = u_i < p_i ? 1 : 0, one uniform u_i per element in order; p_i is
   probs[i], or p for every i when probs is NULL. */
static void bernoulli_kernel(ag_rng *r, const ag_tensor *probs, double p, ag_tensor *y)
{
    for (int64_t i = 0; i < y->numel; i++) {
        const double pi = probs ? value_at(probs, i) : p;
        const int one = ag_rng_uniform(r) < pi;
        if (y->dtype == AG_F64)
            AGI_F64(y)[i] = one;
        else
            AGI_F32(y)[i] = (float)one;
    }
}

ag_tensor *ag_bernoulli(ag_tape *t, ag_rng *r, ag_tensor *probs)
{
    const char *fn = op_bernoulli.name;
    char sp[96], sx[96];
    if (!agi_check(t, fn, "probs", probs)) return NULL;
    if (!r) return agi_fail(t, AG_ERR_ARG, "%s: generator is NULL", fn);
    for (int64_t i = 0; i < probs->numel; i++) {
        const double p = value_at(probs, i);
        if (!(p >= 0 && p <= 1))
            return agi_fail(t, AG_ERR_ARG, "%s: probs%s is %g, not in [0, 1] (probs is %s)", fn,
                            position_str(probs, i, sp), p, agi_shape_str(probs, sx));
    }
    ag_tensor *y = agi_new_like(t, fn, probs);
    if (!y) return NULL;
    bernoulli_kernel(r, probs, 0, y);
    t->n_ops++;                                   /* a constant: no node */
    return agi_done(t, &op_bernoulli, y);
}

ag_tensor *ag_bernoulli_p(ag_tape *t, ag_rng *r, ag_dtype dt, int ndim, const int64_t *shape,
                          double p)
{
    const char *fn = op_bernoulli_p.name;
    if (t && t->status != AG_OK) return NULL;
    if (!r) return agi_fail(t, AG_ERR_ARG, "%s: generator is NULL", fn);
    if (!(p >= 0 && p <= 1))
        return agi_fail(t, AG_ERR_ARG, "%s: p is %g, not in [0, 1]", fn, p);
    if (ndim > 0 && !shape) return agi_fail(t, AG_ERR_ARG, "%s: shape is NULL", fn);
    ag_tensor *y = t ? agi_new(t, fn, dt, ndim, shape) : ag_zeros(NULL, dt, ndim, shape);
    if (!y) return NULL;
    bernoulli_kernel(r, NULL, p, y);
    if (!t) return y;
    t->n_ops++;                                   /* a constant: no node */
    return agi_done(t, &op_bernoulli_p, y);
}
