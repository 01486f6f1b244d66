/*
** test_backward.c: the engine. Memoized accumulation, accumulation across
** backward calls, no-grad and detach, ag_grad (intermediate, unused and
** repeated inputs), higher order (a Hessian-vector product against the
** analytic one, a third derivative), tape reset and stale tensors, steady
** memory over 1,000 cycles, anomaly mode, DOT export, error paths.
*/
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static ag_tensor *sum_all(ag_tape *t, ag_tensor *x) { return ag_sum_to(t, x, 0, NULL); }

START_TEST(test_shared_subexpression_summed_once)
{
    /* y_{k+1} = y_k + y_k, 60 levels: each node has two consumers. Without
       memoization backward would take 2^60 rule runs; with it, 60. */
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 0, NULL, VALS(1.5));
    ag_set_requires_grad(x, 1);
    ag_tensor *y = x;
    for (int k = 0; k < 60; k++) y = ag_add(t, y, y);
    ck_assert_int_eq(ag_backward(t, y), AG_OK);
    ck_assert_double_eq(ag_tensor_get(ag_tensor_grad(x), 0), ldexp(1.0, 60));
    /* and the rule of a node with two consumers runs once: s = exp(x) used
       twice; with create_graph exp's rule records exactly one mul */
    ag_tape_reset(t);
    ag_tensor *s = ag_exp(t, x);
    ag_tensor *z = ag_add(t, s, s), *g;
    size_t before = ag_tape_size(t);
    ck_assert_int_eq(ag_grad(t, 1, &z, NULL, 1, &x, &g, 1), AG_OK);
    ck_assert_uint_eq(ag_tape_size(t) - before, 1);
    ck_assert_double_eq_tol(ag_tensor_get(g, 0), 2 * exp(1.5), 1e-12);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_backward_accumulates_until_zeroed)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_set_requires_grad(x, 1);
    ck_assert_ptr_null(ag_tensor_grad(x));
    ag_tensor *loss = sum_all(t, ag_mul(t, x, x));            /* d/dx = 2x */
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);
    tu_assert_values(ag_tensor_grad(x), VALS(2, 4, 6), 3, 0);
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);              /* graph kept: adds */
    tu_assert_values(ag_tensor_grad(x), VALS(4, 8, 12), 3, 0);
    ag_zero_grad(x);
    tu_assert_values(ag_tensor_grad(x), VALS(0, 0, 0), 3, 0);
    ag_tape_reset(t);
    ck_assert_int_eq(ag_backward(t, sum_all(t, ag_mul_scalar(t, x, 3))), AG_OK);
    tu_assert_values(ag_tensor_grad(x), VALS(3, 3, 3), 3, 0);   /* grad outlives reset */
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_no_grad_and_detach_do_no_work)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_set_requires_grad(x, 1);
    int old = ag_set_grad_enabled(t, 0);
    ck_assert_int_eq(old, 1);
    ag_tensor *y = sum_all(t, ag_exp(t, ag_mul(t, x, x)));
    ck_assert_int_eq(ag_requires_grad(y), 0);
    ck_assert_uint_eq(ag_tape_size(t), 0);                      /* nothing recorded */
    ck_assert_int_eq(ag_backward(t, y), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "does not require grad"));
    ag_tape_reset(t);
    ck_assert_int_eq(ag_is_grad_enabled(t), 0);                 /* modes survive reset */
    ag_set_grad_enabled(t, 1);
    /* detach: z = x * detach(exp(x)); only the mul is recorded, and
       dz/dx = exp(x) (the detached factor is a constant) */
    ag_tensor *d = ag_detach(t, ag_exp(t, x));
    ck_assert_int_eq(ag_requires_grad(d), 0);
    size_t before = ag_tape_size(t);
    ag_tensor *z = sum_all(t, ag_mul(t, x, d));
    ck_assert_uint_eq(ag_tape_size(t) - before, 2);             /* mul and sum */
    ck_assert_int_eq(ag_backward(t, z), AG_OK);
    tu_assert_values(ag_tensor_grad(x), VALS(exp(1.0), exp(2.0)), 2, 1e-12);
    /* a tensor that needs no grad makes its consumers need none */
    ag_tensor *c = tu_tensor(AG_F64, 1, SHAPE(2), VALS(3, 4));
    ck_assert_int_eq(ag_requires_grad(ag_exp(t, c)), 0);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(c);
}
END_TEST

START_TEST(test_grad_functional_form)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_tensor *w = tu_tensor(AG_F64, 1, SHAPE(2), VALS(5, 6));
    ag_set_requires_grad(x, 1);
    ag_set_requires_grad(w, 1);
    ag_tensor *h = ag_mul(t, x, x);                 /* intermediate */
    ag_tensor *y = sum_all(t, ag_mul(t, h, h));     /* sum x^4 */
    ag_tensor *in[4] = {h, x, w, x}, *g[4];
    ck_assert_int_eq(ag_grad(t, 1, &y, NULL, 4, in, g, 0), AG_OK);
    tu_assert_values(g[0], VALS(2, 8), 2, 0);       /* 2h */
    tu_assert_values(g[1], VALS(4, 32), 2, 0);      /* 4x^3 */
    tu_assert_values(g[2], VALS(0, 0), 2, 0);       /* unused: zeros */
    tu_assert_values(g[3], VALS(4, 32), 2, 0);      /* repeated input */
    ck_assert_ptr_null(ag_tensor_grad(x));          /* leaves' .grad untouched */
    /* a non-scalar output with grad_outputs: vector-Jacobian product */
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, -1));
    ck_assert_int_eq(ag_grad(t, 1, &h, &v, 1, &x, g, 0), AG_OK);
    tu_assert_values(g[0], VALS(2, -4), 2, 0);
    /* an output that needs no grad is a constant: it adds nothing */
    ag_tensor *c = tu_tensor(AG_F64, 0, NULL, VALS(2));
    ag_tensor *k = ag_mul(t, c, c);
    ck_assert_int_eq(ag_grad(t, 1, &k, NULL, 1, &x, g, 0), AG_OK);
    tu_assert_values(g[0], VALS(0, 0), 2, 0);
    ag_tensor_free(c);
    /* two outputs: gradients add */
    ag_tensor *outs[2] = {y, sum_all(t, x)};
    ck_assert_int_eq(ag_grad(t, 2, outs, NULL, 1, &x, g, 0), AG_OK);
    tu_assert_values(g[0], VALS(5, 33), 2, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
    ag_tensor_free(v);
}
END_TEST

START_TEST(test_hessian_vector_product)
{
    /* f(x) = S^3 + sum x_i^3, S = sum x: H = 6S 11^T + diag(6x), so
       Hv = 6S (1.v) 1 + 6 x*v */
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0.5, -1, 2));
    ag_tensor *v = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, -0.5));
    ag_set_requires_grad(x, 1);
    ag_tensor *s = sum_all(t, x);
    ag_tensor *cubes = sum_all(t, ag_mul(t, x, ag_mul(t, x, x)));
    ag_tensor *f = ag_add(t, ag_mul(t, s, ag_mul(t, s, s)), cubes);
    ag_tensor *g, *hv;
    ck_assert_int_eq(ag_grad(t, 1, &f, NULL, 1, &x, &g, 1), AG_OK);
    ck_assert_int_eq(ag_requires_grad(g), 1);
    ck_assert_int_eq(ag_grad(t, 1, &g, &v, 1, &x, &hv, 0), AG_OK);
    const double S = 1.5, dot = 1 + 2 - 0.5;
    const double expect[3] = {6 * S * dot + 6 * 0.5 * 1, 6 * S * dot + 6 * -1.0 * 2,
                              6 * S * dot + 6 * 2 * -0.5};
    tu_assert_values(hv, expect, 3, 1e-12);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(v);
}
END_TEST

START_TEST(test_third_derivative)
{
    /* d^3/dx^3 x^4 = 24x, by three nested ag_grad calls */
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 0, NULL, VALS(1.25));
    ag_set_requires_grad(x, 1);
    ag_tensor *x2 = ag_mul(t, x, x), *y = ag_mul(t, x2, x2), *g1, *g2, *g3;
    ck_assert_int_eq(ag_grad(t, 1, &y, NULL, 1, &x, &g1, 1), AG_OK);
    ck_assert_int_eq(ag_grad(t, 1, &g1, NULL, 1, &x, &g2, 1), AG_OK);
    ck_assert_int_eq(ag_grad(t, 1, &g2, NULL, 1, &x, &g3, 1), AG_OK);
    ck_assert_double_eq_tol(ag_tensor_get(g1, 0), 4 * pow(1.25, 3), 1e-12);
    ck_assert_double_eq_tol(ag_tensor_get(g2, 0), 12 * 1.25 * 1.25, 1e-12);
    ck_assert_double_eq_tol(ag_tensor_get(g3, 0), 24 * 1.25, 1e-12);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_f32_backward)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F32, 2, SHAPE(2, 2), VALS(1, 2, 3, 4));
    ag_tensor *b = tu_tensor(AG_F32, 1, SHAPE(2), VALS(0.5, -1));
    ag_set_requires_grad(x, 1);
    ag_set_requires_grad(b, 1);
    ck_assert_int_eq(ag_backward(t, sum_all(t, ag_mul(t, ag_add(t, x, b), x))), AG_OK);
    tu_assert_values(ag_tensor_grad(x), VALS(2.5, 3, 6.5, 7), 4, 1e-6);  /* 2x + b */
    tu_assert_values(ag_tensor_grad(b), VALS(4, 6), 2, 1e-6);            /* column sums */
    ck_assert_int_eq(ag_tensor_dtype(ag_tensor_grad(x)), AG_F32);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(b);
}
END_TEST

START_TEST(test_stale_and_foreign_tensors_are_errors)
{
    ag_tape *t = ag_tape_new(), *u = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_tensor *old = ag_mul(t, x, x);
    ag_tape_reset(t);
    tu_assert_error(t, ag_add(t, old, x), AG_ERR_STATE, "ag_add", "before the tape was reset");
    /* a new step's tensors never reuse the previous step's headers */
    ag_tape_reset(t);
    ag_tensor *prev = ag_mul(t, x, x);
    ag_tape_reset(t);
    for (int k = 0; k < 3; k++) ck_assert_ptr_ne(ag_mul(t, x, x), prev);
    tu_assert_error(t, ag_exp(t, prev), AG_ERR_STATE, "ag_exp", "reset");
    ag_tape_reset(t);
    ag_tensor *other = ag_mul(u, x, x);
    tu_assert_error(t, ag_add(t, x, other), AG_ERR_STATE, "ag_add", "another tape");
    ag_tape_reset(t);
    ck_assert_int_eq(ag_backward(t, old), AG_ERR_STATE);
    ag_tape_free(t);
    ag_tape_free(u);
    ag_tensor_free(x);
}
END_TEST

/* One training-like step: forward, backward, reset. */
static void step(ag_tape *t, ag_tensor *w, ag_tensor *xb)
{
    ag_tensor *h = ag_exp(t, ag_mul(t, xb, w));
    ag_tensor *loss = sum_all(t, ag_div(t, ag_add(t, h, xb), ag_add_scalar(t, h, 1)));
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);
    ag_tape_reset(t);
}

/* Runs cycles steps on a [rows, 300] batch; returns the tape's reserved
   bytes after the first step, and checks they never change after it. */
static void check_steady(int rows, int cycles)
{
    ag_tape *t = ag_tape_new();
    ag_rng *r = ag_rng_new(1);
    ag_tensor *w = ag_rand_normal(NULL, r, AG_F32, 1, SHAPE(300), 0, 0.1);
    ag_tensor *xb = ag_rand_normal(NULL, r, AG_F32, 2, SHAPE(rows, 300), 0, 1);
    ag_set_requires_grad(w, 1);
    step(t, w, xb);                       /* the first step sizes the tape */
    size_t reserved = ag_tape_reserved(t);
    ck_assert_uint_gt(reserved, (size_t)rows * 300 * 4);
    for (int k = 0; k < cycles; k++) {
        step(t, w, xb);
        ck_assert_uint_eq(ag_tape_reserved(t), reserved);
    }
    ag_tape_free(t);
    ag_rng_free(r);
    ag_tensor_free(w);
    ag_tensor_free(xb);
}

START_TEST(test_reset_keeps_memory_steady)
{
    check_steady(4, 1000);                /* 1,000 cycles of a small step */
    check_steady(400, 10);                /* a step spanning several arena blocks */
}
END_TEST

START_TEST(test_anomaly_mode_names_the_op)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, -1));
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_log(t, x);                            /* NaN, silently */
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(ag_set_anomaly(t, 1), 0);
    ag_tensor *e = ag_exp(t, x);
    ck_assert_ptr_nonnull(e);
    tu_assert_error(t, ag_log(t, x), AG_ERR_ANOMALY, "ag_log: NaN at element 1", "op 3 on the tape");
    /* backward: sqrt(x) = x^0.5 is finite at 0, its gradient is not */
    ag_tape_reset(t);
    ag_tensor *z = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 4));
    ag_set_requires_grad(z, 1);
    ag_tensor *half = tu_tensor(AG_F64, 0, NULL, VALS(0.5));
    ag_tensor *s = sum_all(t, ag_pow(t, z, half));
    ck_assert_int_eq(ag_backward(t, s), AG_ERR_ANOMALY);
    ck_assert_msg(strstr(ag_tape_errmsg(t), "Inf") && strstr(ag_tape_errmsg(t), "ag_"),
                  "%s", ag_tape_errmsg(t));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(z);
    ag_tensor_free(half);
}
END_TEST

/* Regression (#11): anomaly inside a backward rule names the op whose rule
   ran and its node, not only the internal op that found the Inf. */
START_TEST(test_anomaly_in_a_rule_names_the_rule)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(4, 0));
    ag_set_requires_grad(x, 1);
    ag_set_anomaly(t, 1);
    ag_tensor *e = ag_mul(t, x, x);                         /* node #0 */
    ag_tensor *s = sum_all(t, ag_sqrt(t, e));               /* sqrt: node #1; 1/0 in its rule */
    ck_assert_int_eq(ag_backward(t, s), AG_ERR_ANOMALY);
    const char *msg = ag_tape_errmsg(t);
    ck_assert_msg(!strncmp(msg, "ag_sqrt", 7) && strstr(msg, "node #1") &&
                  strstr(msg, "ag_div") && strstr(msg, "Inf at element 1"), "%s", msg);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* Regression (#11): with no tape an op, ag_backward and ag_grad leave
   their message in ag_last_error(); a grad_output of the wrong dtype is a
   dtype error naming both. */
START_TEST(test_errors_without_a_tape_leave_a_message)
{
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_tensor *g[1];
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_ptr_null(ag_exp(NULL, x));
    ck_assert_str_eq(ag_last_error(), "ag_exp: tape is NULL");
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_ptr_null(ag_add(NULL, x, x));
    ck_assert_str_eq(ag_last_error(), "ag_add: tape is NULL");
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_ptr_null(ag_matmul(NULL, x, x));
    ck_assert_str_eq(ag_last_error(), "ag_matmul: tape is NULL");
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_ptr_null(ag_concat(NULL, 1, &x, 0));
    ck_assert_str_eq(ag_last_error(), "ag_concat: tape is NULL");
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_ptr_null(ag_sum(NULL, x, AG_ALL, 0));
    ck_assert_str_eq(ag_last_error(), "ag_sum: tape is NULL");
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_ptr_null(ag_detach(NULL, x));
    ck_assert_str_eq(ag_last_error(), "ag_detach: tape is NULL");
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_int_eq(ag_backward(NULL, x), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_backward: tape is NULL");
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_int_eq(ag_grad(NULL, 1, &x, NULL, 1, &x, g, 0), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_grad: tape is NULL");
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_int_eq(ag_tape_check(NULL, "my_layer", "x", x), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "my_layer: tape is NULL");
    /* an f32 grad_output for an f64 output */
    ag_tape *t = ag_tape_new();
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_mul(t, x, x);
    ag_tensor *g32 = ag_ones(t, AG_F32, 1, SHAPE(2));
    ck_assert_int_eq(ag_grad(t, 1, &y, &g32, 1, &x, g, 0), AG_ERR_DTYPE);
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_grad: grad_output 0 is f32, "
                                                    "output 0 is f64"));
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_dot_export)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 6));
    ag_tensor *c = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_set_requires_grad(x, 1);
    sum_all(t, ag_mul(t, ag_exp(t, x), c));
    char path[] = "/tmp/ag_test_dotXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ag_tape_write_dot(t, path), AG_OK);
    FILE *f = fopen(path, "r");
    char buf[4096] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    remove(path);
    ck_assert_uint_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(buf, "digraph tape"));
    ck_assert_ptr_nonnull(strstr(buf, "#0 ag_exp\\n[2,3] f64"));
    ck_assert_ptr_nonnull(strstr(buf, "#1 ag_mul"));
    ck_assert_ptr_nonnull(strstr(buf, "n0 -> n1"));
    ck_assert_ptr_nonnull(strstr(buf, "style=filled,label=\"param [2,3]\""));
    ck_assert_ptr_nonnull(strstr(buf, "label=\"data [3]\""));
    ck_assert_int_eq(ag_tape_write_dot(t, "/nonexistent/dir/x.dot"), AG_ERR_IO);
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "/nonexistent/dir/x.dot"));
    close(fd);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(c);
}
END_TEST

START_TEST(test_backward_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_tensor *c = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_mul(t, x, x), *g[1];
    ck_assert_int_eq(ag_backward(t, y), AG_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_backward: loss is [3], not one element"));
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_grad(t, 1, &y, NULL, 1, &x, g, 0), AG_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "grad_output is needed"));
    ag_tape_clear_error(t);
    ag_tensor *bad = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 1));
    ck_assert_int_eq(ag_grad(t, 1, &y, &bad, 1, &x, g, 0), AG_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "grad_output 0 is [2], output is [3]"));
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_grad(t, 1, &y, &c, 1, &c, g, 0), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "input 0 does not require grad"));
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_backward(t, NULL), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_backward"));
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_grad(t, 0, NULL, NULL, 1, &x, g, 0), AG_ERR_ARG);
    ck_assert_int_eq(ag_backward(NULL, y), AG_ERR_ARG);
    ck_assert_int_eq(ag_set_requires_grad(y, 0), AG_ERR_STATE);  /* not a leaf */
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(c);
    ag_tensor_free(bad);
}
END_TEST

Suite *suite_backward(void)
{
    Suite *s = suite_create("backward");
    TU_ADD(s, test_shared_subexpression_summed_once);
    TU_ADD(s, test_backward_accumulates_until_zeroed);
    TU_ADD(s, test_no_grad_and_detach_do_no_work);
    TU_ADD(s, test_grad_functional_form);
    TU_ADD(s, test_hessian_vector_product);
    TU_ADD(s, test_third_derivative);
    TU_ADD(s, test_f32_backward);
    TU_ADD(s, test_stale_and_foreign_tensors_are_errors);
    TU_ADD(s, test_reset_keeps_memory_steady);
    TU_ADD(s, test_anomaly_mode_names_the_op);
    TU_ADD(s, test_anomaly_in_a_rule_names_the_rule);
    TU_ADD(s, test_errors_without_a_tape_leave_a_message);
    TU_ADD(s, test_dot_export);
    TU_ADD(s, test_backward_errors);
    return s;
}
