/*
** minimize_test_util.h: problems shared by the suites of the closure-
** driven minimizers (test_cg_bfgs.c, test_least_squares.c): the extended
** Rosenbrock function (Moré, Garbow & Hillstrom's problem 21) on two
** parameters a, b of n elements, f = sum 100 (b - a^2)^2 + (1 - a)^2,
** minimum 0 at a = b = 1, and its residuals r = (10 (b - a^2), 1 - a).
*/
#ifndef MINIMIZE_TEST_UTIL_H
#define MINIMIZE_TEST_UTIL_H

#include "test_util.h"

typedef struct mt_rosen {
    ag_tensor *p[2];            /* a, b: persistent f64 [n], requiring grad */
    int n;
} mt_rosen;

/* a_i = -1.2 + spread * (i mod 7), b_i = 1: the standard start (-1.2, 1)
   when spread is 0; a spread keeps the pairs from moving in lockstep. */
static inline mt_rosen mt_rosen_new(int n, double spread)
{
    mt_rosen r = {{NULL, NULL}, n};
    r.p[0] = ag_zeros(NULL, AG_F64, 1, SHAPE(n));
    r.p[1] = ag_ones(NULL, AG_F64, 1, SHAPE(n));
    for (int i = 0; i < n; i++) ag_tensor_set(r.p[0], i, -1.2 + spread * (i % 7));
    ag_set_requires_grad(r.p[0], 1);
    ag_set_requires_grad(r.p[1], 1);
    return r;
}

static inline void mt_rosen_free(mt_rosen *r)
{
    ag_tensor_free(r->p[0]);
    ag_tensor_free(r->p[1]);
}

/* The residuals [2n]: 10 (b - a^2), then 1 - a. */
static inline ag_tensor *mt_rosen_residuals(ag_tape *t, void *ctx)
{
    mt_rosen *r = ctx;
    ag_tensor *a = r->p[0], *b = r->p[1];
    ag_tensor *u = ag_mul_scalar(t, ag_sub(t, b, ag_square(t, a)), 10);
    ag_tensor *w = ag_sub(t, ag_ones(t, AG_F64, 1, SHAPE(r->n)), a);
    return ag_concat(t, 2, (ag_tensor *[]){u, w}, 0);
}

/* f = sum of the squared residuals. */
static inline ag_tensor *mt_rosen_loss(ag_tape *t, void *ctx)
{
    return ag_sum(t, ag_square(t, mt_rosen_residuals(t, ctx)), AG_ALL, 0);
}

/* max |x - 1| over a and b. */
static inline double mt_rosen_error(const mt_rosen *r)
{
    double e = 0;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < r->n; i++) e = fmax(e, fabs(ag_tensor_get(r->p[k], i) - 1));
    return e;
}

/* Asserts call returned NULL and ag_last_error() holds both parts. */
#define ot_fails(call, part1, part2)                                          \
    do {                                                                      \
        ag_optim *o_ = (call);                                                \
        ck_assert_msg(o_ == NULL, "expected failure: %s", #call);             \
        ck_assert_msg(strstr(ag_last_error(), (part1)) != NULL,               \
                      "message '%s' lacks '%s'", ag_last_error(), (part1));   \
        ck_assert_msg(strstr(ag_last_error(), (part2)) != NULL,               \
                      "message '%s' lacks '%s'", ag_last_error(), (part2));   \
    } while (0)

#endif
