/*
** test_custom.c: custom ops (autograd/custom.c). A straight-through
** estimator and a gradient-reversal layer against hand-computed gradients
** (first and second order); a function computed by plain C with a
** hand-written VJP, checked by ag_gradcheck, and its once-differentiable
** error; a rule written with ops on saved inputs and the saved output
** through gradcheck and gradgradcheck; non-differentiable inputs; no
** recording without grad; error paths.
*/
#include "test_util.h"

#include <stdio.h>

/* ----------------------------------------------------- straight-through --- */

/* y = sign(x); dx = dy * (|x| <= 1) */
static ag_tensor *ste_forward(ag_custom_ctx *c, ag_tensor *const *in)
{
    if (ag_custom_save(c, 1, in) != AG_OK) return NULL;
    return ag_sign(ag_custom_tape(c), in[0]);
}

static ag_status ste_backward(ag_custom_ctx *c, ag_tensor *gy, ag_tensor **gx)
{
    ag_tape *t = ag_custom_tape(c);
    ag_tensor *x = ag_custom_saved(c, 0);
    gx[0] = ag_mul(t, gy, ag_le_scalar(t, ag_abs(t, x), 1.0));
    return ag_tape_status(t);
}

static const ag_custom_op ste = {.name = "ste", .forward = ste_forward,
                                 .backward = ste_backward};

START_TEST(test_straight_through_estimator)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(5), VALS(-2, -0.5, 0.3, 1.5, 1.0));
    ag_tensor *w = tu_tensor(AG_F64, 1, SHAPE(5), VALS(1, 2, 3, 4, 5));
    ag_set_requires_grad(x, 1);
    ag_tensor *q = ag_custom(t, &ste, NULL, 1, &x);
    tu_assert_values(q, VALS(-1, -1, 1, 1, 1), 5, 0);
    ck_assert(ag_requires_grad(q));
    ck_assert_int_eq(ag_backward(t, ag_sum(t, ag_mul(t, q, w), AG_ALL, 0)), AG_OK);
    /* sign's own gradient is 0; the estimator passes w where |x| <= 1 */
    tu_assert_values(ag_tensor_grad(x), VALS(0, 2, 3, 0, 5), 5, 0);
    /* f32 as well */
    ag_tape_reset(t);
    ag_tensor *xf = tu_tensor(AG_F32, 1, SHAPE(3), VALS(0.5, -3, -1));
    ag_set_requires_grad(xf, 1);
    ag_tensor *qf = ag_custom(t, &ste, NULL, 1, &xf), *g;
    tu_assert_values(qf, VALS(1, -1, -1), 3, 0);
    ck_assert_int_eq(tu_grad_of_sum(t, qf, 1, &xf, &g), AG_OK);
    ck_assert_int_eq(ag_tensor_dtype(g), AG_F32);
    tu_assert_values(g, VALS(1, 0, 1), 3, 0);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
    ag_tensor_free(xf);
}
END_TEST

/* ----------------------------------------------------- gradient reversal --- */

/* y = x; dx = -lambda * dy (Ganin & Lempitsky); lambda behind the user pointer */
static ag_tensor *grl_forward(ag_custom_ctx *c, ag_tensor *const *in)
{
    (void)c;
    return in[0];                           /* returned as is: the op copies it */
}

static ag_status grl_backward(ag_custom_ctx *c, ag_tensor *gy, ag_tensor **gx)
{
    ag_tape *t = ag_custom_tape(c);
    gx[0] = ag_mul_scalar(t, gy, -*(const double *)ag_custom_user(c));
    return ag_tape_status(t);
}

static const ag_custom_op grl = {.name = "gradient_reversal", .forward = grl_forward,
                                 .backward = grl_backward};

START_TEST(test_gradient_reversal)
{
    ag_tape *t = ag_tape_new();
    double lambda = 0.5;
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, -2, 3));
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_custom(t, &grl, &lambda, 1, &x);
    tu_assert_values(y, VALS(1, -2, 3), 3, 0);
    ck_assert_ptr_ne(ag_tensor_data(y), ag_tensor_data(x));     /* a copy */
    /* L = sum y^2: dL/dx = -lambda * 2x */
    ag_tensor *loss = ag_sum(t, ag_mul(t, y, y), AG_ALL, 0), *g, *gg;
    ck_assert_int_eq(ag_grad(t, 1, &loss, NULL, 1, &x, &g, 1), AG_OK);
    tu_assert_values(g, VALS(-1, 2, -3), 3, 1e-15);
    /* sum(g) = -2 lambda sum(y): its gradient goes back through the
       reversal once more, 2 lambda^2 per element */
    ag_tensor *s = ag_sum(t, g, AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &s, NULL, 1, &x, &gg, 0), AG_OK);
    tu_assert_values(gg, VALS(0.5, 0.5, 0.5), 3, 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* ----------------------------------------- external C with its own VJP --- */

/*
** y = s * x^2 * sin(w), computed by plain C; dx = dy*2 s x sin(w),
** dw = dy * s x^2 cos(w). s (one element) is declared non-differentiable.
** The rule reads data, so the op is once-differentiable.
*/
typedef struct ext_probe {
    int calls, needed_s;
} ext_probe;

static ag_tensor *ext_forward(ag_custom_ctx *c, ag_tensor *const *in)
{
    ag_tape *t = ag_custom_tape(c);
    ag_tensor *y = ag_zeros(t, AG_F64, ag_tensor_ndim(in[0]), ag_tensor_shape(in[0]));
    if (!y || ag_custom_save(c, 3, in) != AG_OK) return NULL;
    const double *x = ag_tensor_data(in[0]), *w = ag_tensor_data(in[1]);
    double s = ag_tensor_get(in[2], 0), *py = ag_tensor_data(y);
    for (int64_t i = 0; i < ag_tensor_numel(y); i++) py[i] = s * x[i] * x[i] * sin(w[i]);
    return y;
}

static ag_status ext_backward(ag_custom_ctx *c, ag_tensor *gy, ag_tensor **gx)
{
    ag_tape *t = ag_custom_tape(c);
    ext_probe *probe = ag_custom_user(c);
    ag_tensor *xt = ag_custom_saved(c, 0), *wt = ag_custom_saved(c, 1);
    const double *x = ag_tensor_data(xt), *w = ag_tensor_data(wt), *g = ag_tensor_data(gy);
    double s = ag_tensor_get(ag_custom_saved(c, 2), 0);
    int64_t n = ag_tensor_numel(xt);
    if (probe) probe->calls++, probe->needed_s |= ag_custom_needs_grad(c, 2);
    for (int i = 0; i < 2; i++) {
        if (!ag_custom_needs_grad(c, i)) continue;
        if (!(gx[i] = ag_zeros(t, AG_F64, ag_tensor_ndim(xt), ag_tensor_shape(xt))))
            return ag_tape_status(t);
        double *d = ag_tensor_data(gx[i]);
        for (int64_t k = 0; k < n; k++)
            d[k] = i == 0 ? g[k] * 2 * s * x[k] * sin(w[k]) : g[k] * s * x[k] * x[k] * cos(w[k]);
    }
    return AG_OK;
}

static const ag_custom_op ext = {.name = "external_fn", .forward = ext_forward,
                                 .backward = ext_backward, .nondiff = 1u << 2,
                                 .flags = AG_CUSTOM_ONCE_DIFFERENTIABLE};

/* ag_fn for the checks: in = {x, w}, ctx the scale tensor s */
static ag_tensor *ext_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *args[3] = {in[0], in[1], ctx};
    return ag_custom(t, &ext, NULL, 3, args);
}

START_TEST(test_external_c_vjp_gradcheck)
{
    ag_tensor *x = tu_random(2, SHAPE(2, 3), -2, 2, 11), *w = tu_random(2, SHAPE(2, 3), -3, 3, 12);
    ag_tensor *s = tu_tensor(AG_F64, 1, SHAPE(1), VALS(1.5));
    ag_tensor *in[2] = {x, w};
    ag_gradcheck_report r;
    ck_assert_msg(ag_gradcheck(ext_fn, s, 2, in, NULL, &r) == AG_OK, "%s", r.message);
    ck_assert_int_eq(r.checked, 2 * 6 * 6);
    /* the forward by hand at one element */
    ag_tape *t = ag_tape_new();
    ag_tensor *y = ext_fn(t, in, s);
    ck_assert_double_eq_tol(ag_tensor_get(y, 4), 1.5 * pow(ag_tensor_get(x, 4), 2) *
                            sin(ag_tensor_get(w, 4)), 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
    ag_tensor_free(s);
}
END_TEST

START_TEST(test_nondiff_input_gets_no_gradient)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_tensor *w = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0.5, 1));
    ag_tensor *s = tu_tensor(AG_F64, 1, SHAPE(1), VALS(2));
    ag_set_requires_grad(x, 1);
    ag_set_requires_grad(s, 1);             /* requires grad, but declared nondiff */
    ext_probe probe = {0, 0};
    ag_tensor *args[3] = {x, w, s}, *wrt[2] = {x, s}, *g[2];
    ag_tensor *y = ag_custom(t, &ext, &probe, 3, args);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(ag_tape_size(t), 1);
    ck_assert_int_eq(tu_grad_of_sum(t, y, 2, wrt, g), AG_OK);
    ck_assert_int_eq(probe.calls, 1);
    ck_assert_int_eq(probe.needed_s, 0);
    tu_assert_values(g[0], VALS(2 * 2 * 1 * sin(0.5), 2 * 2 * 2 * sin(1.0)), 2, 1e-15);
    tu_assert_values(g[1], VALS(0), 1, 0);  /* nothing flows to s */
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
    ag_tensor_free(s);
}
END_TEST

START_TEST(test_once_differentiable_refuses_double_backward)
{
    ag_tensor *x = tu_random(1, SHAPE(3), 0.5, 2, 13), *w = tu_random(1, SHAPE(3), -1, 1, 14);
    ag_tensor *s = tu_tensor(AG_F64, 1, SHAPE(1), VALS(1));
    ag_tensor *in[2] = {x, w};
    ag_gradcheck_report r;
    ck_assert_int_eq(ag_gradgradcheck(ext_fn, s, 2, in, NULL, &r), AG_ERR_STATE);
    ck_assert_msg(strstr(r.message, "external_fn: is once-differentiable") != NULL, "%s",
                  r.message);
    /* create_graph alone is fine (the first derivative is right); the error
       comes when the gradient is differentiated */
    ag_tape *t = ag_tape_new();
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ext_fn(t, in, s), *g, *gg;
    ck_assert_int_eq(tu_grad_of_sum(t, y, 1, &x, &g), AG_OK);
    ag_tensor *ones = ag_ones(t, AG_F64, 1, SHAPE(3));
    ck_assert_int_eq(ag_grad(t, 1, &y, &ones, 1, &x, &g, 1), AG_OK);
    ck_assert(ag_requires_grad(g));
    ag_tensor *sg = ag_sum(t, g, AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &sg, NULL, 1, &x, &gg, 0), AG_ERR_STATE);
    ck_assert_msg(strstr(ag_tape_errmsg(t), "external_fn: is once-differentiable") != NULL,
                  "%s", ag_tape_errmsg(t));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
    ag_tensor_free(s);
}
END_TEST

/* ------------------------------------- a rule written with ops, twice --- */

/* y = x * exp(w); dx = dy * exp(w), dw = dy * y (the saved output) */
static ag_tensor *xexp_forward(ag_custom_ctx *c, ag_tensor *const *in)
{
    ag_tape *t = ag_custom_tape(c);
    ag_tensor *y = ag_mul(t, in[0], ag_exp(t, in[1]));
    ag_tensor *keep[3] = {in[0], in[1], y};
    return ag_custom_save(c, 3, keep) == AG_OK ? y : NULL;
}

static ag_status xexp_backward(ag_custom_ctx *c, ag_tensor *gy, ag_tensor **gx)
{
    ag_tape *t = ag_custom_tape(c);
    if (ag_custom_needs_grad(c, 0))
        gx[0] = ag_sum_to(t, ag_mul(t, gy, ag_exp(t, ag_custom_saved(c, 1))),
                          ag_tensor_ndim(ag_custom_saved(c, 0)),
                          ag_tensor_shape(ag_custom_saved(c, 0)));
    if (ag_custom_needs_grad(c, 1))
        gx[1] = ag_sum_to(t, ag_mul(t, gy, ag_custom_saved(c, 2)),
                          ag_tensor_ndim(ag_custom_saved(c, 1)),
                          ag_tensor_shape(ag_custom_saved(c, 1)));
    return ag_tape_status(t);
}

static const ag_custom_op xexp = {.name = "x_exp_w", .forward = xexp_forward,
                                  .backward = xexp_backward};

static ag_tensor *xexp_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_custom(t, &xexp, NULL, 2, in);
}

START_TEST(test_rule_with_ops_gradgradcheck)
{
    /* w broadcast over x's rows: the rule reduces with ag_sum_to */
    ag_tensor *x = tu_random(2, SHAPE(2, 3), -1, 1, 21), *w = tu_random(1, SHAPE(3), -1, 1, 22);
    ag_tensor *in[2] = {x, w};
    TU_ASSERT_GRADS_ALSO_SQUARED(xexp_fn, 2, in);
    ag_tape *t = ag_tape_new();
    ag_tensor *y = xexp_fn(t, in, NULL);
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq_tol(ag_tensor_get(y, i),
                                ag_tensor_get(x, i) * exp(ag_tensor_get(w, i % 3)), 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
}
END_TEST

START_TEST(test_needs_grad_and_no_recording_without_grad)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_tensor *w = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 1));
    ag_tensor *in[2] = {x, w};
    ag_tensor *y = ag_custom(t, &xexp, NULL, 2, in);    /* nothing requires grad */
    tu_assert_values(y, VALS(1, 2 * exp(1.0)), 2, 1e-15);
    ck_assert(!ag_requires_grad(y));
    ck_assert_int_eq(ag_tape_size(t), 0);
    ag_set_requires_grad(w, 1);
    ag_set_grad_enabled(t, 0);
    y = ag_custom(t, &xexp, NULL, 2, in);
    ck_assert(!ag_requires_grad(y));
    ck_assert_int_eq(ag_tape_size(t), 0);
    ag_set_grad_enabled(t, 1);
    y = ag_custom(t, &xexp, NULL, 2, in);
    ck_assert(ag_requires_grad(y));
    ck_assert_int_eq(ag_tape_size(t), 1);               /* the forward's ops are not recorded */
    ag_tensor *g;
    ck_assert_int_eq(tu_grad_of_sum(t, y, 1, &w, &g), AG_OK);
    tu_assert_values(g, VALS(1, 2 * exp(1.0)), 2, 1e-15);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(w);
}
END_TEST

/* ------------------------------------------------------------- errors --- */

static ag_tensor *null_forward(ag_custom_ctx *c, ag_tensor *const *in)
{
    (void)c, (void)in;
    return NULL;
}

static ag_tensor *bad_op_forward(ag_custom_ctx *c, ag_tensor *const *in)
{
    ag_tape *t = ag_custom_tape(c);
    return ag_add(t, in[0], ag_zeros(t, AG_F64, 1, SHAPE(4)));   /* [3] + [4] */
}

/* mode 0: no gradient; 1: a wrong shape; 2: a wrong dtype; 3: a status
   without a message; 4: ag_custom_save in the backward */
static ag_status bad_backward(ag_custom_ctx *c, ag_tensor *gy, ag_tensor **gx)
{
    ag_tape *t = ag_custom_tape(c);
    switch (*(int *)ag_custom_user(c)) {
    case 1: gx[0] = ag_zeros(t, AG_F64, 1, SHAPE(2)); break;
    case 2: gx[0] = ag_zeros(t, AG_F32, 1, SHAPE(3)); break;
    case 3: return AG_ERR_ARG;
    case 4: return ag_custom_save(c, 1, &gy);
    default: break;
    }
    return AG_OK;
}

static ag_tensor *copy_forward(ag_custom_ctx *c, ag_tensor *const *in)
{
    return ag_mul_scalar(ag_custom_tape(c), in[0], 1.0);
}

START_TEST(test_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ag_set_requires_grad(x, 1);
    ag_tensor *two[2] = {x, NULL};
    ck_assert_ptr_null(ag_custom(NULL, &ste, NULL, 1, &x));
    ck_assert_str_eq(ag_last_error(), "ag_custom: tape is NULL");
    tu_assert_error(t, ag_custom(t, NULL, NULL, 1, &x), AG_ERR_ARG, "ag_custom", "op is NULL");
    ag_tape_reset(t);
    ag_custom_op half = {.name = "half", .forward = ste_forward};
    tu_assert_error(t, ag_custom(t, &half, NULL, 1, &x), AG_ERR_ARG, "op 'half'", "no backward");
    ag_tape_reset(t);
    tu_assert_error(t, ag_custom(t, &ste, NULL, 0, &x), AG_ERR_ARG, "ste: 0 inputs", "1 to 32");
    ag_tape_reset(t);
    tu_assert_error(t, ag_custom(t, &xexp, NULL, 2, two), AG_ERR_ARG, "x_exp_w", "input 1 is NULL");
    ag_tape_reset(t);
    ag_custom_op nul = {.name = "nul", .forward = null_forward, .backward = ste_backward};
    tu_assert_error(t, ag_custom(t, &nul, NULL, 1, &x), AG_ERR_STATE, "nul: forward returned NULL",
                    "without an error");
    ag_tape_reset(t);
    ag_custom_op bad = {.name = "bad", .forward = bad_op_forward, .backward = ste_backward};
    tu_assert_error(t, ag_custom(t, &bad, NULL, 1, &x), AG_ERR_SHAPE, "ag_add", "[3]");
    ck_assert(ag_is_grad_enabled(t));                   /* restored after a failed forward */
    ag_tape_reset(t);
    /* a stale input */
    ag_tensor *stale = ag_ones(t, AG_F64, 1, SHAPE(3));
    ag_tape_reset(t);
    tu_assert_error(t, ag_custom(t, &ste, NULL, 1, &stale), AG_ERR_STATE, "ste: input 0",
                    "before the tape was reset");
    /* rules that misbehave */
    static const char *const want[] = {"bb: backward gave no gradient for input 0",
                                       "bb: backward gave a [2] gradient for input 0 of shape [3]",
                                       "bb: backward gave a f32 gradient for input 0, which is f64",
                                       "bb: backward failed (AG_ERR_ARG) without a message",
                                       "bb: ag_custom_save outside the forward"};
    static const ag_status status[] = {AG_ERR_STATE, AG_ERR_SHAPE, AG_ERR_DTYPE, AG_ERR_ARG,
                                       AG_ERR_ARG};
    ag_custom_op bb = {.name = "bb", .forward = copy_forward, .backward = bad_backward};
    for (int mode = 0; mode < 5; mode++) {
        ag_tape_reset(t);
        ag_tensor *y = ag_custom(t, &bb, &mode, 1, &x);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(ag_backward(t, ag_sum(t, y, AG_ALL, 0)), status[mode]);
        ck_assert_msg(strstr(ag_tape_errmsg(t), want[mode]) != NULL, "mode %d: %s", mode,
                      ag_tape_errmsg(t));
    }
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* saves too many, or reads a saved tensor that is not there */
static ag_tensor *greedy_forward(ag_custom_ctx *c, ag_tensor *const *in)
{
    int mode = *(int *)ag_custom_user(c);
    if (mode == 0) {
        ag_tensor *many[AG_CUSTOM_MAX_SAVED + 1];
        for (int i = 0; i <= AG_CUSTOM_MAX_SAVED; i++) many[i] = in[0];
        if (ag_custom_save(c, AG_CUSTOM_MAX_SAVED + 1, many) != AG_OK) return NULL;
    }
    if (mode == 1 && !ag_custom_saved(c, 0)) return NULL;
    if (mode == 2 && !ag_custom_alloc(c, 16)) return NULL;
    return ag_mul_scalar(ag_custom_tape(c), in[0], 2.0);
}

START_TEST(test_context_errors_and_state)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    int mode = 0;
    ag_custom_op g = {.name = "greedy", .forward = greedy_forward, .backward = ste_backward};
    tu_assert_error(t, ag_custom(t, &g, &mode, 1, &x), AG_ERR_ARG, "greedy: ag_custom_save of 9",
                    "at most 8");
    ag_tape_reset(t);
    mode = 1;
    tu_assert_error(t, ag_custom(t, &g, &mode, 1, &x), AG_ERR_ARG, "greedy: ag_custom_saved(0)",
                    "0 tensors saved");
    ag_tape_reset(t);
    mode = 2;
    ag_tensor *y = ag_custom(t, &g, &mode, 1, &x);
    tu_assert_values(y, VALS(2, 4), 2, 0);
    ck_assert_ptr_null(ag_custom_tape(NULL));
    ck_assert_int_eq(ag_custom_num_inputs(NULL), 0);
    ck_assert_int_eq(ag_custom_needs_grad(NULL, 0), 0);
    ck_assert_int_eq(ag_custom_save(NULL, 0, NULL), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_custom_save: ctx is NULL");
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

Suite *suite_custom(void)
{
    Suite *s = suite_create("custom");
    TU_ADD(s, test_straight_through_estimator);
    TU_ADD(s, test_gradient_reversal);
    TU_ADD(s, test_external_c_vjp_gradcheck);
    TU_ADD(s, test_nondiff_input_gets_no_gradient);
    TU_ADD(s, test_once_differentiable_refuses_double_backward);
    TU_ADD(s, test_rule_with_ops_gradgradcheck);
    TU_ADD(s, test_needs_grad_and_no_recording_without_grad);
    TU_ADD(s, test_errors);
    TU_ADD(s, test_context_errors_and_state);
    return s;
}
