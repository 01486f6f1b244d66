/*
** optim_test_util.h: helpers shared by the optimizer suites. The test
** problem f(p) = sum c_k p_k^2 (gradient 2 c p) on a 3-element f64
** parameter, a driver that runs an optimizer three steps next to a plain-C
** reference update and compares them to 1e-12, and a convex quadratic
** f(p) = sum a_k (p_k - b_k)^2 for convergence runs.
*/
#ifndef OPTIM_TEST_UTIL_H
#define OPTIM_TEST_UTIL_H

#include "test_util.h"

static const double OT_C[3] = {0.5, 1.5, 3.0};      /* curvatures of sum c p^2 */
static const double OT_P0[3] = {1.0, -2.0, 0.5};    /* start */

/* A persistent f64 parameter of 3 elements, requiring grad. */
static inline ag_tensor *ot_param(const double *v)
{
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(3), v);
    ag_set_requires_grad(p, 1);
    return p;
}

/* The reference's running state: up to 4 arrays of 3, and a scalar. */
typedef struct ot_state {
    double s[4][3];
    double scalar;
} ot_state;

/* One reference update of p (3 elements) at step t (1-based); the
   gradient is 2 c p, computed from p by the reference itself. */
typedef void (*ot_ref_fn)(const void *opts, double *p, ot_state *st, int t);

/* zero_grad, loss = sum(c p^2), backward, step: one optimizer step. */
static inline void ot_step(ag_optim *o, ag_tape *t, ag_tensor *p, const double *c)
{
    ag_tensor *ct = tu_tensor(AG_F64, 1, SHAPE(3), c);
    ag_optim_zero_grad(o);
    ag_tensor *loss = ag_sum(t, ag_mul(t, ct, ag_square(t, p)), AG_ALL, 0);
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);
    ck_assert_msg(ag_optim_step(o) == AG_OK, "step: %s", ag_last_error());
    ag_tape_reset(t);
    ag_tensor_free(ct);
}

/* Runs o (made on p, which holds OT_P0) three steps next to ref and
   asserts the parameters agree to 1e-12 after each; st holds the
   reference's state after the third step. */
static inline void ot_check_three_steps(ag_optim *o, ag_tensor *p, ot_ref_fn ref,
                                        const void *opts, ot_state *st)
{
    double pr[3] = {OT_P0[0], OT_P0[1], OT_P0[2]};
    memset(st, 0, sizeof *st);
    ag_tape *t = ag_tape_new();
    for (int step = 1; step <= 3; step++) {
        ot_step(o, t, p, OT_C);
        ref(opts, pr, st, step);
        for (int k = 0; k < 3; k++)
            ck_assert_msg(fabs(ag_tensor_get(p, k) - pr[k]) <= 1e-12,
                          "step %d element %d: got %.17g, reference %.17g", step, k,
                          ag_tensor_get(p, k), pr[k]);
    }
    ck_assert_int_eq(ag_optim_steps(o), 3);
    ag_tape_free(t);
}

/* The optimizer's state tensor named name ("0.exp_avg"), or NULL. */
static inline ag_tensor *ot_state_tensor(const ag_optim *o, const char *name)
{
    ag_named_tensor st[32];
    int n = ag_optim_state(o, st, 32);
    for (int i = 0; i < n && i < 32; i++)
        if (!strcmp(st[i].name, name)) return st[i].tensor;
    return NULL;
}

/* Asserts state tensor name holds expect[0..3) to 1e-12. */
static inline void ot_assert_state(const ag_optim *o, const char *name, const double *expect)
{
    ag_tensor *x = ot_state_tensor(o, name);
    ck_assert_msg(x != NULL, "no state '%s'", name);
    tu_assert_values(x, expect, 3, 1e-12);
}

/* The convex quadratic f(p) = sum a (p - b)^2, minimum at b. */
static const double OT_A[3] = {1.0, 3.0, 0.5};
static const double OT_B[3] = {1.0, -2.0, 0.5};

/* Runs steps of o on f from p = 0 (p must be that parameter) and returns
   max_k |p_k - b_k| at the end. */
static inline double ot_converge(ag_optim *o, ag_tensor *p, int steps)
{
    ag_tensor *a = tu_tensor(AG_F64, 1, SHAPE(3), OT_A);
    ag_tensor *b = tu_tensor(AG_F64, 1, SHAPE(3), OT_B);
    ag_tape *t = ag_tape_new();
    for (int s = 0; s < steps; s++) {
        ag_optim_zero_grad(o);
        ag_tensor *d = ag_sub(t, p, ag_cast(t, b, ag_tensor_dtype(p)));
        ag_tensor *loss = ag_sum(t, ag_mul(t, ag_cast(t, a, ag_tensor_dtype(p)),
                                           ag_square(t, d)), AG_ALL, 0);
        ck_assert_int_eq(ag_backward(t, loss), AG_OK);
        ck_assert_int_eq(ag_optim_step(o), AG_OK);
        ag_tape_reset(t);
    }
    double err = 0;
    for (int k = 0; k < 3; k++) err = fmax(err, fabs(ag_tensor_get(p, k) - OT_B[k]));
    ag_tape_free(t);
    ag_tensor_free(a);
    ag_tensor_free(b);
    return err;
}

/* Asserts call returned NULL and ag_last_error() holds both parts. */
#define ot_assert_fails(call, part1, part2)                                   \
    do {                                                                      \
        ag_optim *o_ = (call);                                                \
        ck_assert_msg(o_ == NULL, "expected failure: %s", #call);             \
        ck_assert_msg(strstr(ag_last_error(), (part1)) != NULL,               \
                      "message '%s' lacks '%s'", ag_last_error(), (part1));   \
        ck_assert_msg(strstr(ag_last_error(), (part2)) != NULL,               \
                      "message '%s' lacks '%s'", ag_last_error(), (part2));   \
    } while (0)

#endif /* OPTIM_TEST_UTIL_H */
