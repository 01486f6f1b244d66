/*
** jvp_test_util.h: the checks of forward mode shared by test_jvp*.c.
**
** jt_check(fn, ctx, n, inputs): ag_jvp's tangent J v at random tangents v
** against J v assembled from reverse mode (one ag_grad per output element:
** (J v)[e] = sum over i of <d y[e] / d inputs[i], v[i]>), and its output
** against fn run plainly; then the same for the gradient function
** g(x) = grad(<fn(x), w>, x) (w fixed), built with create_graph, whose tape
** holds the ops of fn's backward rules: forward-over-reverse, so each
** rule's helper ops (derivatives, pads, scatters) meet their JVP rules.
** All in f64, within 1e-9 relative (or a tolerance given for f32 inside).
*/
#ifndef JVP_TEST_UTIL_H
#define JVP_TEST_UTIL_H

#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>

#define JT_MAX_IN 4

/* The function under test and, for the gradient function, its w. */
typedef struct jt_ctx {
    ag_fn fn;
    void *ctx;
    int n_in;
} jt_ctx;

/* y = fn(x); the gradient of <y, w> flattened and concatenated, w[e] =
   0.5 + 0.25 sin(e) (fixed, never zero). */
static inline ag_tensor *jt_grad_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const jt_ctx *c = ctx;
    ag_tensor *y = c->fn(t, in, c->ctx), *g[JT_MAX_IN], *flat[JT_MAX_IN];
    if (!y) return NULL;
    ag_tensor *w = ag_zeros(t, AG_F64, ag_tensor_ndim(y), ag_tensor_shape(y));
    if (!w) return NULL;
    for (int64_t e = 0; e < ag_tensor_numel(y); e++)
        ag_tensor_set(w, e, 0.5 + 0.25 * sin((double)e));
    if (ag_grad(t, 1, &y, &w, c->n_in, in, g, 1) != AG_OK) return NULL;
    for (int k = 0; k < c->n_in; k++)
        flat[k] = ag_reshape(t, g[k], 1, (const int64_t[]){ag_tensor_numel(g[k])});
    return ag_concat(t, c->n_in, flat, 0);
}

/* Random tangents of the inputs' shapes (persistent; caller frees). */
static inline void jt_tangents(int n, ag_tensor *const *in, ag_tensor **v, uint64_t seed)
{
    for (int k = 0; k < n; k++)
        v[k] = tu_random(ag_tensor_ndim(in[k]), ag_tensor_shape(in[k]), -1, 1, seed + (uint64_t)k);
}

/* J v from reverse mode, into jv (numel of fn's output); 1 if fine. */
static inline int jt_reverse_jv(ag_fn fn, void *ctx, int n, ag_tensor *const *in,
                                ag_tensor *const *v, double *jv, int64_t numel)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x[JT_MAX_IN], *g[JT_MAX_IN];
    for (int k = 0; k < n; k++) {
        x[k] = ag_detach(t, in[k]);
        ag_set_requires_grad(x[k], 1);
    }
    ag_tensor *y = fn(t, x, ctx);
    ck_assert_msg(y != NULL, "%s", ag_tape_errmsg(t));
    ck_assert_int_eq(ag_tensor_numel(y), numel);
    for (int64_t e = 0; e < numel; e++) {
        jv[e] = 0;
        if (!ag_requires_grad(y)) continue;
        ag_tensor *seed = ag_zeros(t, AG_F64, ag_tensor_ndim(y), ag_tensor_shape(y));
        ag_tensor_set(seed, e, 1);
        ck_assert_msg(ag_grad(t, 1, &y, &seed, n, x, g, 0) == AG_OK, "%s", ag_tape_errmsg(t));
        for (int k = 0; k < n; k++)
            for (int64_t j = 0; j < ag_tensor_numel(g[k]); j++)
                jv[e] += ag_tensor_get(g[k], j) * ag_tensor_get(v[k], j);
    }
    ag_tape_free(t);
    return 1;
}

/* ag_jvp of fn at in against reverse mode; returns the tangent's numel. */
static inline int64_t jt_check_one(const char *name, ag_fn fn, void *ctx, int n,
                                   ag_tensor *const *in, uint64_t seed, double tol)
{
    ag_tensor *v[JT_MAX_IN], *y, *ty;
    jt_tangents(n, in, v, seed);
    ag_tape *t = ag_tape_new();
    ag_status s = ag_jvp(t, fn, ctx, n, in, v, &y, &ty, 0);
    ck_assert_msg(s == AG_OK, "%s: %s", name, ag_tape_errmsg(t));
    tu_assert_shape(ty, ag_tensor_ndim(y), ag_tensor_shape(y));
    const int64_t numel = ag_tensor_numel(y);
    double *jv = malloc((size_t)(numel ? numel : 1) * sizeof *jv);
    jt_reverse_jv(fn, ctx, n, in, v, jv, numel);
    double scale = 1e-300;
    for (int64_t e = 0; e < numel; e++) scale = fmax(scale, fabs(jv[e]));
    for (int64_t e = 0; e < numel; e++)
        ck_assert_msg(fabs(ag_tensor_get(ty, e) - jv[e]) <= tol * (1 + scale),
                      "%s: tangent element %lld is %.17g, reverse mode gives %.17g", name,
                      (long long)e, ag_tensor_get(ty, e), jv[e]);
    /* the primal output is fn's own */
    ag_tape *t2 = ag_tape_new();
    ag_tensor *x2[JT_MAX_IN];
    for (int k = 0; k < n; k++) {
        x2[k] = ag_detach(t2, in[k]);
        ag_set_requires_grad(x2[k], 1);
    }
    ag_tensor *y2 = fn(t2, x2, ctx);
    ck_assert_ptr_nonnull(y2);
    for (int64_t e = 0; e < numel; e++)
        ck_assert_msg(ag_tensor_get(y, e) == ag_tensor_get(y2, e), "%s: output %lld differs",
                      name, (long long)e);
    ag_tape_free(t2);
    free(jv);
    ag_tape_free(t);
    for (int k = 0; k < n; k++) ag_tensor_free(v[k]);
    return numel;
}

/* jt_check_one on fn, then on its gradient function (second order);
   tol 0 is 1e-9 (relative to the largest element of J v). */
static inline void jt_check(const char *name, ag_fn fn, void *ctx, int n, ag_tensor *const *in,
                            double tol)
{
    char buf[128];
    if (tol <= 0) tol = 1e-9;
    ck_assert_int_gt(jt_check_one(name, fn, ctx, n, in, 101, tol), 0);
    jt_ctx c = {fn, ctx, n};
    snprintf(buf, sizeof buf, "%s (gradient, forward-over-reverse)", name);
    jt_check_one(buf, jt_grad_fn, &c, n, in, 202, tol);
}

#endif /* JVP_TEST_UTIL_H */
