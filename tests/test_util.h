/*
** test_util.h: helpers shared by the Check suites. Persistent f64 tensors
** from literals, value comparisons, gradcheck + gradgradcheck assertions
** that print the report on failure, and error-path assertions.
*/
#ifndef TEST_UTIL_H
#define TEST_UTIL_H

#include <check.h>
#include <math.h>
#include <string.h>

#include "ag.h"

/* A shape literal: SHAPE(2, 3). */
#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
/* A double array literal: VALS(1, 2, 3). */
#define VALS(...) ((const double[]){__VA_ARGS__})

/* A persistent tensor of dtype dt from doubles (caller frees). */
static inline ag_tensor *tu_tensor(ag_dtype dt, int ndim, const int64_t *shape,
                                   const double *vals)
{
    ag_tensor *x = ag_from_f64(NULL, dt, ndim, shape, vals);
    ck_assert_ptr_nonnull(x);
    return x;
}

/* A persistent f64 tensor with uniform values in [lo, hi) from seed. */
static inline ag_tensor *tu_random(int ndim, const int64_t *shape, double lo,
                                   double hi, uint64_t seed)
{
    ag_rng *r = ag_rng_new(seed);
    ag_tensor *x = ag_rand_uniform(NULL, r, AG_F64, ndim, shape, lo, hi);
    ag_rng_free(r);
    ck_assert_ptr_nonnull(x);
    return x;
}

/* Moves every element with |x| < gap to sign(x)*gap (keeps gradcheck away
   from kinks at 0). */
static inline void tu_push_from_zero(ag_tensor *x, double gap)
{
    for (int64_t i = 0; i < ag_tensor_numel(x); i++) {
        double v = ag_tensor_get(x, i);
        if (fabs(v) < gap) ag_tensor_set(x, i, v < 0 ? -gap : gap);
    }
}

/* Asserts x has this shape. */
#define tu_assert_shape(x, ndim, shape)                                       \
    do {                                                                      \
        ck_assert_ptr_nonnull(x);                                             \
        ck_assert_int_eq(ag_tensor_ndim(x), (ndim));                          \
        for (int d_ = 0; d_ < (ndim); d_++)                                   \
            ck_assert_int_eq(ag_tensor_shape(x)[d_], (shape)[d_]);            \
    } while (0)

/* Asserts every element of x is within tol of expect[]. */
#define tu_assert_values(x, expect, n, tol)                                   \
    do {                                                                      \
        ck_assert_ptr_nonnull(x);                                             \
        ck_assert_int_eq(ag_tensor_numel(x), (n));                            \
        for (int64_t i_ = 0; i_ < (n); i_++)                                  \
            ck_assert_msg(fabs(ag_tensor_get((x), i_) - (expect)[i_]) <= (tol), \
                          "element %lld: got %.17g, expected %.17g",          \
                          (long long)i_, ag_tensor_get((x), i_), (expect)[i_]); \
    } while (0)

/* Asserts fn passes ag_gradcheck and ag_gradgradcheck at inputs. */
#define tu_assert_gradchecks(fn, ctx, n, inputs)                              \
    do {                                                                      \
        ag_gradcheck_report r1_, r2_;                                         \
        ag_status s1_ = ag_gradcheck((fn), (ctx), (n), (inputs), NULL, &r1_); \
        ck_assert_msg(s1_ == AG_OK, "%s", r1_.message);                       \
        ck_assert_int_gt(r1_.checked, 0);                                     \
        ag_status s2_ = ag_gradgradcheck((fn), (ctx), (n), (inputs), NULL, &r2_); \
        ck_assert_msg(s2_ == AG_OK, "%s", r2_.message);                       \
        ck_assert_int_gt(r2_.checked, 0);                                     \
    } while (0)

/* fn's output squared (ctx points at an ag_fn): y = f(x)^2 makes the second
   derivative through f's backward non-zero even for a linear f. */
static inline ag_tensor *tu_apply_squared(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *y = (*(ag_fn *)ctx)(t, in, NULL);
    return ag_mul(t, y, y);
}

/* gradcheck + gradgradcheck of fn alone and of fn squared. */
#define TU_ASSERT_GRADS_ALSO_SQUARED(fn, n, in)                               \
    do {                                                                      \
        ag_fn f_ = (fn);                                                      \
        tu_assert_gradchecks(f_, NULL, (n), (in));                            \
        tu_assert_gradchecks(tu_apply_squared, &f_, (n), (in));               \
    } while (0)

/* Asserts the op result is NULL and the tape holds status with msg parts. */
#define tu_assert_error(t, result, status, part1, part2)                      \
    do {                                                                      \
        ck_assert_ptr_null(result);                                           \
        ck_assert_msg(ag_tape_status(t) == (status), "status %s, expected %s: %s", \
                      ag_status_name(ag_tape_status(t)), ag_status_name(status), \
                      ag_tape_errmsg(t));                                     \
        ck_assert_msg(strstr(ag_tape_errmsg(t), (part1)) != NULL,             \
                      "message '%s' lacks '%s'", ag_tape_errmsg(t), (part1)); \
        ck_assert_msg(strstr(ag_tape_errmsg(t), (part2)) != NULL,             \
                      "message '%s' lacks '%s'", ag_tape_errmsg(t), (part2)); \
    } while (0)

/* Gradcheck adapters: ctx is an op pointer, inputs are the op's operands. */
typedef ag_tensor *(*tu_unary_op)(ag_tape *, ag_tensor *);
typedef ag_tensor *(*tu_binary_op)(ag_tape *, ag_tensor *, ag_tensor *);

typedef struct tu_unary_ctx { tu_unary_op op; } tu_unary_ctx;
typedef struct tu_binary_ctx { tu_binary_op op; } tu_binary_ctx;

static inline ag_tensor *tu_apply_unary(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ((tu_unary_ctx *)ctx)->op(t, in[0]);
}

static inline ag_tensor *tu_apply_binary(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ((tu_binary_ctx *)ctx)->op(t, in[0], in[1]);
}

/* grads[i] = d sum(y) / d inputs[i] (ag_grad with a ones grad_output). */
static inline ag_status tu_grad_of_sum(ag_tape *t, ag_tensor *y, int n,
                                       ag_tensor *const *inputs, ag_tensor **grads)
{
    ag_tensor *ones = y ? ag_ones(t, ag_tensor_dtype(y), ag_tensor_ndim(y),
                                  ag_tensor_shape(y)) : NULL;
    if (!ones) return ag_tape_status(t) ? ag_tape_status(t) : AG_ERR_ARG;
    return ag_grad(t, 1, &y, &ones, n, inputs, grads, 0);
}

/* Adds a test case named after the function to suite s. */
#define TU_ADD(s, fn)                                                         \
    do {                                                                      \
        TCase *tc_ = tcase_create(#fn);                                       \
        tcase_add_test(tc_, fn);                                              \
        suite_add_tcase((s), tc_);                                            \
    } while (0)

#endif /* TEST_UTIL_H */
