/*
** test_layers.c: the layers of nn/ other than the normalizations (those
** are in test_norm.c): Linear (hand values, PyTorch's default init, 1-D to
** 4-D inputs), Sequential, the activation layers, PReLU, Dropout and
** Embedding. Every layer passes gradcheck and gradgradcheck in f64 with
** respect to its input and each of its parameters; error paths name the
** layer and the shapes.
*/
#include "test_util.h"

/* ------------------------------------------------------------ helpers --- */

/* An ag_fn running the module in ctx on inputs[0]; inputs[1..] are the
   module's own parameters, so perturbing them changes the forward. */
static ag_tensor *module_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_module_forward(ctx, t, in[0]);
}

/* gradcheck + gradgradcheck of m at x with respect to x and its
   n_params parameters (asserted to be all of them). */
static void assert_module_gradchecks(ag_module *m, ag_tensor *x, int n_params)
{
    ag_tensor *in[8] = {x};
    ck_assert_int_eq(ag_module_parameters(m, in + 1, 7), n_params);
    tu_assert_gradchecks(module_fn, m, 1 + n_params, in);
}

/* Sets a persistent tensor's values from doubles. */
static void set_values(ag_tensor *x, const double *v, int64_t n)
{
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(ag_tensor_numel(x), n);
    for (int64_t i = 0; i < n; i++) ck_assert_int_eq(ag_tensor_set(x, i, v[i]), AG_OK);
}

/* Asserts ag_last_error() contains part. */
#define assert_last_error(part)                                               \
    ck_assert_msg(strstr(ag_last_error(), (part)) != NULL,                    \
                  "last error '%s' lacks '%s'", ag_last_error(), (part))

/* ------------------------------------------------------------- Linear --- */

START_TEST(test_linear_forward_by_hand)
{
    ag_rng *r = ag_rng_new(1);
    ag_module *fc = ag_linear_new(3, 2, 1, AG_F64, r);
    ck_assert_ptr_nonnull(fc);
    set_values(ag_module_get(fc, "weight"), VALS(1, 2, 3, 4, 5, 6), 6);
    set_values(ag_module_get(fc, "bias"), VALS(0.5, -1), 2);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 0, -1, 2, 1, 0));
    ag_tensor *y = ag_module_forward(fc, t, x);
    /* row 0: [1-3+0.5, 4-6-1]; row 1: [2+2+0.5, 8+5-1] */
    tu_assert_shape(y, 2, SHAPE(2, 2));
    tu_assert_values(y, VALS(-1.5, -3, 4.5, 12), 4, 1e-12);
    /* without bias, f32 */
    ag_module *nb = ag_linear_new(3, 2, 0, AG_F32, r);
    ck_assert_ptr_null(ag_module_get(nb, "bias"));
    ck_assert_int_eq(ag_module_parameters(nb, NULL, 0), 1);
    set_values(ag_module_get(nb, "weight"), VALS(1, 2, 3, 4, 5, 6), 6);
    ag_tensor *x32 = tu_tensor(AG_F32, 2, SHAPE(1, 3), VALS(0.5, 0.25, 2));
    ag_tensor *y32 = ag_module_forward(nb, t, x32);
    ck_assert_int_eq(ag_tensor_dtype(y32), AG_F32);
    tu_assert_values(y32, VALS(0.5 + 0.5 + 6, 2 + 1.25 + 12), 2, 1e-6);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(x32);
    ag_module_free(fc);
    ag_module_free(nb);
    ag_rng_free(r);
}
END_TEST

/* Weight then bias, each U(-1/sqrt(in), 1/sqrt(in)) drawn in order. */
START_TEST(test_linear_default_init_is_pytorchs)
{
    ag_rng *r = ag_rng_new(99), *ref = ag_rng_new(99);
    ag_module *fc = ag_linear_new(16, 5, 1, AG_F64, r);
    ag_named_tensor nt[2];
    ck_assert_int_eq(ag_module_named_tensors(fc, nt, 2, 1), 2);
    ck_assert_str_eq(nt[0].name, "weight");
    ck_assert_str_eq(nt[1].name, "bias");
    tu_assert_shape(nt[0].tensor, 2, SHAPE(5, 16));
    tu_assert_shape(nt[1].tensor, 1, SHAPE(5));
    ck_assert_int_eq(ag_requires_grad(nt[0].tensor), 1);
    const double bound = 1.0 / sqrt(16.0);
    for (int k = 0; k < 2; k++)
        for (int64_t i = 0; i < ag_tensor_numel(nt[k].tensor); i++) {
            double expect = -bound + 2 * bound * ag_rng_uniform(ref);
            ck_assert_double_eq_tol(ag_tensor_get(nt[k].tensor, i), expect, 1e-15);
        }
    ag_module_free(fc);
    ag_rng_free(r);
    ag_rng_free(ref);
}
END_TEST

/* 1-D, 3-D and 4-D inputs give the rows of the 2-D result. */
START_TEST(test_linear_any_leading_dims)
{
    ag_rng *r = ag_rng_new(5);
    ag_module *fc = ag_linear_new(3, 4, 1, AG_F64, r);
    ag_tape *t = ag_tape_new();
    ag_tensor *x4 = tu_random(4, SHAPE(2, 1, 2, 3), -1, 1, 6);       /* 4 rows of 3 */
    ag_tensor *flat = ag_module_forward(fc, t, ag_reshape(t, x4, 2, SHAPE(4, 3)));
    ag_tensor *y3 = ag_module_forward(fc, t, ag_reshape(t, x4, 3, SHAPE(2, 2, 3)));
    ag_tensor *y4 = ag_module_forward(fc, t, x4);
    ag_tensor *y1 = ag_module_forward(fc, t, ag_reshape(t, x4, 1, SHAPE(12)));
    ck_assert_ptr_null(y1);                                            /* 12 != 3 */
    ag_tape_clear_error(t);
    y1 = ag_module_forward(fc, t, ag_slice(t, ag_reshape(t, x4, 1, SHAPE(12)), 0, 9, 12, 1));
    tu_assert_shape(y3, 3, SHAPE(2, 2, 4));
    tu_assert_shape(y4, 4, SHAPE(2, 1, 2, 4));
    tu_assert_shape(y1, 1, SHAPE(4));
    for (int64_t i = 0; i < 16; i++) {
        ck_assert_double_eq_tol(ag_tensor_get(y3, i), ag_tensor_get(flat, i), 1e-14);
        ck_assert_double_eq_tol(ag_tensor_get(y4, i), ag_tensor_get(flat, i), 1e-14);
    }
    for (int64_t i = 0; i < 4; i++)                                    /* the last row */
        ck_assert_double_eq_tol(ag_tensor_get(y1, i), ag_tensor_get(flat, 12 + i), 1e-14);
    ag_tape_free(t);
    ag_tensor_free(x4);
    ag_module_free(fc);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_linear_gradchecks)
{
    ag_rng *r = ag_rng_new(7);
    ag_module *fc = ag_linear_new(3, 2, 1, AG_F64, r);
    ag_tensor *x2 = tu_random(2, SHAPE(4, 3), -1, 1, 8);
    assert_module_gradchecks(fc, x2, 2);
    ag_tensor *x3 = tu_random(3, SHAPE(2, 2, 3), -1, 1, 9);
    assert_module_gradchecks(fc, x3, 2);
    ag_module *nb = ag_linear_new(3, 2, 0, AG_F64, r);
    assert_module_gradchecks(nb, x2, 1);
    ag_tensor_free(x2);
    ag_tensor_free(x3);
    ag_module_free(fc);
    ag_module_free(nb);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_linear_errors)
{
    ag_rng *r = ag_rng_new(1);
    ag_module *fc = ag_linear_new(3, 2, 1, AG_F64, r);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F64, 2, SHAPE(4, 5));
    tu_assert_error(t, ag_module_forward(fc, t, x), AG_ERR_SHAPE,
                    "Linear(in_features=3, out_features=2)", "last dim is 5, expected 3 (x is [4,5])");
    ag_tape_reset(t);
    ag_tensor *x32 = ag_zeros(NULL, AG_F32, 2, SHAPE(4, 3));
    tu_assert_error(t, ag_module_forward(fc, t, x32), AG_ERR_DTYPE, "Linear(", "x is f32 [4,3]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_module_forward(fc, t, NULL), AG_ERR_ARG, "Linear(", "x is NULL");
    ag_tape_reset(t);
    ag_tensor *s = ag_scalar(NULL, AG_F64, 1);
    tu_assert_error(t, ag_module_forward(fc, t, s), AG_ERR_SHAPE, "Linear(", "at least 1 dim");
    ck_assert_ptr_null(ag_linear_new(-1, 2, 1, AG_F64, r));
    assert_last_error("ag_linear_new: in_features -1");
    ag_module *unset = ag_linear_new(3, 2, 1, AG_F64, NULL);   /* zeros, to be loaded */
    tu_assert_values(ag_module_get(unset, "weight"), VALS(0, 0, 0, 0, 0, 0), 6, 0);
    tu_assert_values(ag_module_get(unset, "bias"), VALS(0, 0), 2, 0);
    ag_module_free(unset);
    ck_assert_ptr_null(ag_linear_new(3, 2, 1, (ag_dtype)7, r));
    assert_last_error("unknown dtype 7");
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(x32);
    ag_tensor_free(s);
    ag_module_free(fc);
    ag_rng_free(r);
}
END_TEST

/* --------------------------------------------------------- Sequential --- */

START_TEST(test_sequential_chains_and_names)
{
    ag_rng *r = ag_rng_new(3);
    ag_module *l0 = ag_linear_new(3, 4, 1, AG_F64, r), *l2 = ag_linear_new(4, 2, 1, AG_F64, r);
    ag_module *net = ag_sequential_new(2, (ag_module *[]){l0, ag_tanh_new()});
    ck_assert_ptr_nonnull(net);
    ck_assert_int_eq(ag_sequential_add(net, l2), AG_OK);
    ck_assert_int_eq(ag_sequential_len(net), 3);
    ck_assert_ptr_eq(ag_sequential_get(net, 0), l0);
    ck_assert_ptr_eq(ag_sequential_get(net, 2), l2);
    ck_assert_ptr_null(ag_sequential_get(net, 3));
    ck_assert_str_eq(ag_sequential_get(net, 1)->ops->type, "Tanh");
    ag_named_tensor nt[4];
    ck_assert_int_eq(ag_module_named_tensors(net, nt, 4, 1), 4);
    const char *names[4] = {"0.weight", "0.bias", "2.weight", "2.bias"};
    for (int i = 0; i < 4; i++) ck_assert_str_eq(nt[i].name, names[i]);
    ck_assert_ptr_eq(ag_module_get(net, "2.weight"), ag_module_get(l2, "weight"));
    /* forward = l2(tanh(l0(x))) */
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_random(2, SHAPE(5, 3), -1, 1, 4);
    ag_tensor *y = ag_module_forward(net, t, x);
    ag_tensor *ref = ag_module_forward(l2, t, ag_tanh(t, ag_module_forward(l0, t, x)));
    tu_assert_shape(y, 2, SHAPE(5, 2));
    for (int64_t i = 0; i < 10; i++)
        ck_assert_double_eq(ag_tensor_get(y, i), ag_tensor_get(ref, i));
    assert_module_gradchecks(net, x, 4);
    /* an empty Sequential is the identity */
    ag_module *empty = ag_sequential_new(0, NULL);
    ck_assert_ptr_eq(ag_module_forward(empty, t, x), x);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_module_free(net);
    ag_module_free(empty);
    ag_rng_free(r);
}
END_TEST

/* Ownership passes on failure too: Valgrind checks nothing leaks. */
START_TEST(test_sequential_errors)
{
    ck_assert_ptr_null(ag_sequential_new(3, (ag_module *[]){ag_relu_new(), NULL, ag_tanh_new()}));
    assert_last_error("ag_sequential_new: modules[1] is NULL");
    ck_assert_ptr_null(ag_sequential_new(2, NULL));
    assert_last_error("modules is NULL with n = 2");
    ck_assert_ptr_null(ag_sequential_new(-1, NULL));
    assert_last_error("n is -1");
    ag_module *relu = ag_relu_new();
    ck_assert_int_eq(ag_sequential_add(relu, ag_tanh_new()), AG_ERR_ARG);
    assert_last_error("seq is ReLU, not a Sequential");
    ck_assert_int_eq(ag_sequential_len(relu), 0);
    ck_assert_ptr_null(ag_sequential_get(relu, 0));
    ag_module *seq = ag_sequential_new(1, (ag_module *[]){relu});
    ck_assert_int_eq(ag_sequential_add(seq, NULL), AG_ERR_ARG);
    assert_last_error("module 1 is NULL");
    ag_tape *t = ag_tape_new();
    tu_assert_error(t, ag_module_forward(seq, t, NULL), AG_ERR_ARG, "Sequential", "x is NULL");
    ag_tape_reset(t);
    /* a child's error stays on the tape, first message kept */
    ag_rng *r = ag_rng_new(1);
    ck_assert_int_eq(ag_sequential_add(seq, ag_linear_new(2, 2, 1, AG_F64, r)), AG_OK);
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(1, 3), VALS(1, 2, 3));
    tu_assert_error(t, ag_module_forward(seq, t, x), AG_ERR_SHAPE, "Linear(in_features=2",
                    "(x is [1,3])");
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_module_free(seq);
    ag_rng_free(r);
}
END_TEST

/* ag_sequential_new keeps the message of the constructor that failed, and
   refuses a module given twice (freeing each module once). */
START_TEST(test_sequential_new_keeps_the_failing_childs_message)
{
    ag_module *s = ag_sequential_new(2, (ag_module *[]){ag_relu_new(),
                                                        ag_linear_new(-1, 2, 1, AG_F64, NULL)});
    ck_assert_ptr_null(s);
    assert_last_error("ag_sequential_new: modules[1] is NULL (last error: ag_linear_new");
    ag_module *r = ag_relu_new(), *t = ag_tanh_new();
    ck_assert_ptr_null(ag_sequential_new(3, (ag_module *[]){r, t, r}));
    assert_last_error("ag_sequential_new: modules[2] repeats modules[0]");
    ag_module *inner = ag_sequential_new(1, (ag_module *[]){ag_relu_new()});
    ag_module *outer = ag_sequential_new(1, (ag_module *[]){inner});
    ck_assert_ptr_nonnull(outer);
    ck_assert_ptr_null(ag_sequential_new(2, (ag_module *[]){ag_tanh_new(), inner}));
    assert_last_error("child '1' is already the child '0' of another module");
    ck_assert_int_eq(ag_sequential_len(outer), 1);
    ag_module_free(outer);
}
END_TEST

/* -------------------------------------------------------- activations --- */

START_TEST(test_activation_layers_values)
{
    const double xs[4] = {-2, -0.5, 0.5, 3};
    ag_module *mods[5] = {ag_sigmoid_new(), ag_tanh_new(), ag_relu_new(),
                          ag_leaky_relu_new(0.2), ag_elu_new(1.5)};
    const char *types[5] = {"Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU"};
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 2), xs);
    for (int k = 0; k < 5; k++) {
        ck_assert_ptr_nonnull(mods[k]);
        ck_assert_str_eq(mods[k]->ops->type, types[k]);
        ck_assert_int_eq(ag_module_parameters(mods[k], NULL, 0), 0);
        ag_tensor *y = ag_module_forward(mods[k], t, x);
        tu_assert_shape(y, 2, SHAPE(2, 2));
        for (int i = 0; i < 4; i++) {
            double v = xs[i], e = 0;
            switch (k) {
            case 0: e = 1 / (1 + exp(-v)); break;
            case 1: e = tanh(v); break;
            case 2: e = v > 0 ? v : 0; break;
            case 3: e = v > 0 ? v : 0.2 * v; break;
            case 4: e = v > 0 ? v : 1.5 * (exp(v) - 1); break;
            }
            ck_assert_double_eq_tol(ag_tensor_get(y, i), e, 1e-14);
        }
        assert_module_gradchecks(mods[k], x, 0);
        ag_module_free(mods[k]);
    }
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_softmax_layer)
{
    ag_module *sm = ag_softmax_new(1), *sm0 = ag_softmax_new(-2);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 0, 0, log(2.0)));
    ag_tensor *y = ag_module_forward(sm, t, x);
    double z = exp(1) + exp(2) + exp(3);
    tu_assert_values(y, VALS(exp(1) / z, exp(2) / z, exp(3) / z, 0.25, 0.25, 0.5), 6, 1e-14);
    ag_tensor *y0 = ag_module_forward(sm0, t, x);                    /* along axis 0 */
    double c0 = exp(1) + 1, c2 = exp(3) + 2;
    ck_assert_double_eq_tol(ag_tensor_get(y0, 0), exp(1) / c0, 1e-14);
    ck_assert_double_eq_tol(ag_tensor_get(y0, 5), 2 / c2, 1e-14);
    assert_module_gradchecks(sm, x, 0);
    ag_module *bad = ag_softmax_new(2);
    tu_assert_error(t, ag_module_forward(bad, t, x), AG_ERR_AXIS, "Softmax(dim=2)",
                    "axis 2 is out of range for x [2,3]");
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_module_free(sm);
    ag_module_free(sm0);
    ag_module_free(bad);
}
END_TEST

START_TEST(test_activation_errors)
{
    ck_assert_ptr_null(ag_leaky_relu_new(NAN));
    assert_last_error("ag_leaky_relu_new: negative_slope nan");
    ck_assert_ptr_null(ag_elu_new(INFINITY));
    assert_last_error("ag_elu_new: alpha inf");
    ag_module *relu = ag_relu_new();
    ag_tape *t = ag_tape_new();
    tu_assert_error(t, ag_module_forward(relu, t, NULL), AG_ERR_ARG, "ReLU()", "x is NULL");
    ag_tape_free(t);
    ag_module_free(relu);
}
END_TEST

/* -------------------------------------------------------------- PReLU --- */

START_TEST(test_prelu_per_channel)
{
    ag_module *p = ag_prelu_new(3, 0.25, AG_F64);
    ag_tensor *w = ag_module_get(p, "weight");
    tu_assert_shape(w, 1, SHAPE(3));
    tu_assert_values(w, VALS(0.25, 0.25, 0.25), 3, 0);
    ck_assert_int_eq(ag_requires_grad(w), 1);
    set_values(w, VALS(0.1, -0.5, 2), 3);
    ag_tape *t = ag_tape_new();
    /* [N, C] = [2, 3]: column c uses slope c */
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(-1, -2, 3, 4, -5, -6));
    ag_tensor *y = ag_module_forward(p, t, x);
    tu_assert_values(y, VALS(-0.1, 1, 3, 4, 2.5, -12), 6, 1e-15);
    /* [N, C, L] = [1, 3, 2]: channel c covers two values */
    ag_tensor *x3 = tu_tensor(AG_F64, 3, SHAPE(1, 3, 2), VALS(-1, 1, -1, 1, -1, 1));
    tu_assert_values(ag_module_forward(p, t, x3), VALS(-0.1, 1, 0.5, 1, -2, 1), 6, 1e-15);
    /* 1-D [C] */
    ag_tensor *x1 = tu_tensor(AG_F64, 1, SHAPE(3), VALS(-1, -1, -1));
    tu_assert_values(ag_module_forward(p, t, x1), VALS(-0.1, 0.5, -2), 3, 1e-15);
    /* gradient at 0 is the slope, as PyTorch */
    ag_tensor *x0 = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0, 0, 0));
    ag_set_requires_grad(x0, 1);
    ag_tensor *g;
    ag_tensor *y0 = ag_sum(t, ag_module_forward(p, t, x0), AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &y0, NULL, 1, &x0, &g, 0), AG_OK);
    tu_assert_values(g, VALS(0.1, -0.5, 2), 3, 0);
    /* gradchecks with respect to x and the slopes */
    ag_tensor *xr = tu_random(3, SHAPE(2, 3, 2), -1, 1, 5);
    tu_push_from_zero(xr, 0.1);
    assert_module_gradchecks(p, xr, 1);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(x3);
    ag_tensor_free(x1);
    ag_tensor_free(x0);
    ag_tensor_free(xr);
    ag_module_free(p);
}
END_TEST

START_TEST(test_prelu_single_slope_and_errors)
{
    ag_module *p = ag_prelu_new(1, 0.25, AG_F64);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 3, SHAPE(1, 2, 2), VALS(-4, 2, -8, 1));
    tu_assert_values(ag_module_forward(p, t, x), VALS(-1, 2, -2, 1), 4, 0);
    ag_tensor *s = tu_tensor(AG_F64, 0, NULL, VALS(-2));
    ag_tensor *ys = ag_module_forward(p, t, s);
    tu_assert_shape(ys, 0, SHAPE(0));
    ck_assert_double_eq(ag_tensor_get(ys, 0), -0.5);
    ag_tensor *xr = tu_random(2, SHAPE(3, 2), -1, 1, 9);
    tu_push_from_zero(xr, 0.1);
    assert_module_gradchecks(p, xr, 1);
    ag_module *p3 = ag_prelu_new(3, 0.25, AG_F64);
    tu_assert_error(t, ag_module_forward(p3, t, x), AG_ERR_SHAPE, "PReLU(num_parameters=3)",
                    "x [1,2,2] has 2 channels on axis 1, expected 3");
    ag_tape_reset(t);
    tu_assert_error(t, ag_module_forward(p3, t, s), AG_ERR_SHAPE, "PReLU(", "x []");
    ag_tape_reset(t);
    ag_tensor *x32 = ag_zeros(NULL, AG_F32, 2, SHAPE(2, 3));
    tu_assert_error(t, ag_module_forward(p3, t, x32), AG_ERR_DTYPE, "PReLU(", "x is f32");
    ck_assert_ptr_null(ag_prelu_new(0, 0.25, AG_F64));
    assert_last_error("ag_prelu_new: num_parameters 0");
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(s);
    ag_tensor_free(xr);
    ag_tensor_free(x32);
    ag_module_free(p);
    ag_module_free(p3);
}
END_TEST

/* ------------------------------------------------------------ Dropout --- */

/*
** 1e5 ones at p = 0.3: each output is 0 (prob 0.3) or 1/0.7, mean 1,
** variance p/(1-p) = 0.4286, so the sample mean's std is
** sqrt(0.4286/1e5) = 0.00207: |mean - 1| < 0.01 is a 4.8-sigma bound.
*/
START_TEST(test_dropout_preserves_the_mean)
{
    ag_rng *r = ag_rng_new(2024);
    ag_module *d = ag_dropout_new(0.3, r);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_ones(NULL, AG_F64, 1, SHAPE(100000));
    ag_tensor *y = ag_module_forward(d, t, x);
    double sum = 0;
    int64_t zeros = 0;
    for (int64_t i = 0; i < 100000; i++) {
        double v = ag_tensor_get(y, i);
        zeros += v == 0;
        if (v != 0) ck_assert_double_eq_tol(v, 1 / 0.7, 1e-15);
        sum += v;
    }
    ck_assert_msg(fabs(sum / 1e5 - 1) < 0.01, "mean %g", sum / 1e5);
    /* the drop rate: binomial std sqrt(0.21/1e5) = 0.00145, bound 0.01 */
    ck_assert_msg(fabs((double)zeros / 1e5 - 0.3) < 0.01, "drop rate %g", (double)zeros / 1e5);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_module_free(d);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_dropout_eval_identity_and_same_seed)
{
    ag_rng *r1 = ag_rng_new(11), *r2 = ag_rng_new(11), *ref = ag_rng_new(11);
    ag_module *d1 = ag_dropout_new(0.5, r1), *d2 = ag_dropout_new(0.5, r2);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_random(2, SHAPE(20, 10), 1, 2, 3);
    ag_tensor *y1 = ag_module_forward(d1, t, x), *y2 = ag_module_forward(d2, t, x);
    ag_tensor *mask = ag_dropout_mask(t, ref, AG_F64, 2, SHAPE(20, 10), 0.5);
    int64_t dropped = 0;
    for (int64_t i = 0; i < 200; i++) {
        ck_assert_double_eq(ag_tensor_get(y1, i), ag_tensor_get(y2, i));
        ck_assert_double_eq(ag_tensor_get(y1, i), ag_tensor_get(x, i) * ag_tensor_get(mask, i));
        dropped += ag_tensor_get(y1, i) == 0;
    }
    ck_assert_int_gt(dropped, 50);                  /* about 100 of 200 */
    ck_assert_int_lt(dropped, 150);
    ag_module_train(d1, 0);
    ck_assert_ptr_eq(ag_module_forward(d1, t, x), x);                 /* eval: x itself */
    /* p = 1 drops everything; p = 0 keeps everything */
    ag_module *all = ag_dropout_new(1, r1), *none = ag_dropout_new(0, r1);
    ag_tensor *ya = ag_module_forward(all, t, x), *yn = ag_module_forward(none, t, x);
    for (int64_t i = 0; i < 200; i++) {
        ck_assert_double_eq(ag_tensor_get(ya, i), 0);
        ck_assert_double_eq(ag_tensor_get(yn, i), ag_tensor_get(x, i));
    }
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_module_free(d1);
    ag_module_free(d2);
    ag_module_free(all);
    ag_module_free(none);
    ag_rng_free(r1);
    ag_rng_free(r2);
    ag_rng_free(ref);
}
END_TEST

/* The layer with its generator rewound before each call: one fixed mask. */
typedef struct fixed_dropout { ag_module *d; ag_rng *r; uint64_t state[4]; } fixed_dropout;

static ag_tensor *fixed_dropout_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    fixed_dropout *f = ctx;
    if (ag_rng_set_state(f->r, f->state) != AG_OK) return NULL;
    return ag_module_forward(f->d, t, in[0]);
}

START_TEST(test_dropout_gradchecks)
{
    fixed_dropout f;
    f.r = ag_rng_new(4);
    f.d = ag_dropout_new(0.4, f.r);
    ag_rng_get_state(f.r, f.state);
    ag_tensor *x = tu_random(2, SHAPE(3, 4), -1, 1, 5);
    tu_assert_gradchecks(fixed_dropout_fn, &f, 1, &x);
    ag_tensor_free(x);
    ag_module_free(f.d);
    ag_rng_free(f.r);
}
END_TEST

START_TEST(test_dropout_errors)
{
    ag_rng *r = ag_rng_new(1);
    ck_assert_ptr_null(ag_dropout_new(1.5, r));
    assert_last_error("ag_dropout_new: p is 1.5, must be in [0, 1]");
    ck_assert_ptr_null(ag_dropout_new(NAN, r));
    assert_last_error("p is nan");
    ag_module *d = ag_dropout_new(0.5, r);     /* NULL generators: test_dropout_rng.c */
    ag_tape *t = ag_tape_new();
    tu_assert_error(t, ag_module_forward(d, t, NULL), AG_ERR_ARG, "Dropout(p=0.5)", "x is NULL");
    ag_tape_free(t);
    ag_module_free(d);
    ag_rng_free(r);
}
END_TEST

/* The layers that return x itself (Dropout in evaluation, an empty
   Sequential) check it as an op does: a stale tensor (from before a
   reset) or one of another tape is an error on the tape, not passed on. */
START_TEST(test_pass_through_layers_check_their_input)
{
    ag_rng *r = ag_rng_new(1);
    ag_module *d = ag_dropout_new(0.5, r), *empty = ag_sequential_new(0, NULL);
    ag_module_train(d, 0);
    ag_tape *t = ag_tape_new(), *other = ag_tape_new();
    ag_tensor *x = ag_ones(t, AG_F64, 1, SHAPE(2));
    ck_assert_ptr_eq(ag_module_forward(d, t, x), x);
    ck_assert_ptr_eq(ag_module_forward(empty, t, x), x);
    ag_tape_reset(t);                               /* x is stale now */
    tu_assert_error(t, ag_module_forward(d, t, x), AG_ERR_STATE, "Dropout(p=0.5): x was made "
                    "before the tape was reset", "");
    ag_tape_reset(t);
    tu_assert_error(t, ag_module_forward(empty, t, x), AG_ERR_STATE, "Sequential: x was made "
                    "before the tape was reset", "");
    ag_tape_reset(t);
    ag_tensor *foreign = ag_ones(other, AG_F64, 1, SHAPE(2));
    tu_assert_error(t, ag_module_forward(d, t, foreign), AG_ERR_STATE, "Dropout(p=0.5): x "
                    "belongs to another tape", "");
    ag_tape_reset(t);
    tu_assert_error(t, ag_module_forward(empty, t, foreign), AG_ERR_STATE, "Sequential: x "
                    "belongs to another tape", "");
    ag_tensor *p = ag_ones(NULL, AG_F64, 1, SHAPE(2));  /* persistent: fine on any tape */
    ag_tape_reset(t);
    ck_assert_ptr_eq(ag_module_forward(d, t, p), p);
    ck_assert_ptr_eq(ag_module_forward(empty, t, p), p);
    ag_tensor_free(p);
    ag_tape_free(t), ag_tape_free(other);
    ag_module_free(d), ag_module_free(empty);
    ag_rng_free(r);
}
END_TEST

/* ---------------------------------------------------------- Embedding --- */

START_TEST(test_embedding_init_and_lookup)
{
    ag_rng *r = ag_rng_new(8), *ref = ag_rng_new(8);
    ag_module *e = ag_embedding_new(5, 3, AG_F64, r);
    ag_tensor *w = ag_module_get(e, "weight");
    tu_assert_shape(w, 2, SHAPE(5, 3));
    for (int64_t i = 0; i < 15; i++)                                   /* N(0, 1) in order */
        ck_assert_double_eq(ag_tensor_get(w, i), ag_rng_normal(ref));
    ag_tape *t = ag_tape_new();
    ag_tensor *rows = ag_embedding_lookup(e, t, (int64_t[]){4, 0, 4}, 3);
    tu_assert_shape(rows, 2, SHAPE(3, 3));
    for (int j = 0; j < 3; j++) {
        ck_assert_double_eq(ag_tensor_get(rows, j), ag_tensor_get(w, 12 + j));
        ck_assert_double_eq(ag_tensor_get(rows, 3 + j), ag_tensor_get(w, j));
        ck_assert_double_eq(ag_tensor_get(rows, 6 + j), ag_tensor_get(w, 12 + j));
    }
    /* the forward from a tensor of indices: S + [dim] */
    ag_tensor *idx = tu_tensor(AG_F32, 2, SHAPE(2, 2), VALS(1, 2, 3, 1));
    ag_tensor *y = ag_module_forward(e, t, idx);
    tu_assert_shape(y, 3, SHAPE(2, 2, 3));
    const int expect_rows[4] = {1, 2, 3, 1};
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 3; j++)
            ck_assert_double_eq(ag_tensor_get(y, 3 * k + j),
                                ag_tensor_get(w, 3 * expect_rows[k] + j));
    /* a repeated row gets the sum of its gradients */
    ag_tensor *loss = ag_sum(t, ag_mul_scalar(t, rows, 2), AG_ALL, 0);
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);
    tu_assert_values(ag_tensor_grad(w), VALS(2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4), 15, 0);
    ag_tape_free(t);
    ag_tensor_free(idx);
    ag_module_free(e);
    ag_rng_free(r);
    ag_rng_free(ref);
}
END_TEST

/* The weight is in[0] (the module's own tensor); the indices are data in
   ctx, not differentiated: through ag_embedding_lookup, or through the
   generic forward when idx is set. */
typedef struct lookup_ctx { ag_module *e; ag_tensor *idx; } lookup_ctx;

static ag_tensor *lookup_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    lookup_ctx *c = ctx;
    (void)in;
    if (c->idx) return ag_module_forward(c->e, t, c->idx);
    return ag_embedding_lookup(c->e, t, (int64_t[]){2, 0, 2, 3}, 4);
}

START_TEST(test_embedding_gradchecks)
{
    ag_rng *r = ag_rng_new(12);
    lookup_ctx c = {ag_embedding_new(4, 2, AG_F64, r), NULL};
    ag_tensor *w = ag_module_get(c.e, "weight");
    tu_assert_gradchecks(lookup_fn, &c, 1, &w);
    c.idx = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(3, 3, 1, 0));
    tu_assert_gradchecks(lookup_fn, &c, 1, &w);
    ag_tensor_free(c.idx);
    ag_module_free(c.e);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_embedding_errors)
{
    ag_rng *r = ag_rng_new(1);
    ag_module *e = ag_embedding_new(4, 2, AG_F64, r);
    ag_tape *t = ag_tape_new();
    tu_assert_error(t, ag_embedding_lookup(e, t, (int64_t[]){1, 4}, 2), AG_ERR_ARG,
                    "Embedding(4, 2)", "index 4 at position 1 is out of range [0, 4)");
    ag_tape_reset(t);
    tu_assert_error(t, ag_embedding_lookup(e, t, (int64_t[]){-1}, 1), AG_ERR_ARG,
                    "Embedding(4, 2)", "index -1 at position 0");
    ag_tape_reset(t);
    ag_tensor *frac = tu_tensor(AG_F64, 2, SHAPE(1, 2), VALS(1, 1.5));
    tu_assert_error(t, ag_module_forward(e, t, frac), AG_ERR_ARG, "Embedding(4, 2)",
                    "x[1] is 1.5, not an index in [0, 4) (x is [1,2])");
    ag_tape_reset(t);
    ag_tensor *big = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 4));
    tu_assert_error(t, ag_module_forward(e, t, big), AG_ERR_ARG, "Embedding(4, 2)",
                    "x[1] is 4, not an index");
    ag_tape_reset(t);
    ag_module *relu = ag_relu_new();
    tu_assert_error(t, ag_embedding_lookup(relu, t, (int64_t[]){0}, 1), AG_ERR_ARG,
                    "ag_embedding_lookup", "the module is ReLU, not an Embedding");
    ck_assert_ptr_null(ag_embedding_new(-1, 2, AG_F64, r));
    assert_last_error("ag_embedding_new: num_embeddings -1");
    ag_module *unset = ag_embedding_new(4, 2, AG_F64, NULL);   /* zeros, to be loaded */
    tu_assert_values(ag_module_get(unset, "weight"), VALS(0, 0, 0, 0, 0, 0, 0, 0), 8, 0);
    ag_module_free(unset);
    ag_tape_free(t);
    ag_tensor_free(frac);
    ag_tensor_free(big);
    ag_module_free(e);
    ag_module_free(relu);
    ag_rng_free(r);
}
END_TEST

Suite *suite_layers(void)
{
    Suite *s = suite_create("layers");
    TU_ADD(s, test_linear_forward_by_hand);
    TU_ADD(s, test_linear_default_init_is_pytorchs);
    TU_ADD(s, test_linear_any_leading_dims);
    TU_ADD(s, test_linear_gradchecks);
    TU_ADD(s, test_linear_errors);
    TU_ADD(s, test_sequential_chains_and_names);
    TU_ADD(s, test_sequential_errors);
    TU_ADD(s, test_sequential_new_keeps_the_failing_childs_message);
    TU_ADD(s, test_activation_layers_values);
    TU_ADD(s, test_softmax_layer);
    TU_ADD(s, test_activation_errors);
    TU_ADD(s, test_prelu_per_channel);
    TU_ADD(s, test_prelu_single_slope_and_errors);
    TU_ADD(s, test_dropout_preserves_the_mean);
    TU_ADD(s, test_dropout_eval_identity_and_same_seed);
    TU_ADD(s, test_dropout_gradchecks);
    TU_ADD(s, test_dropout_errors);
    TU_ADD(s, test_pass_through_layers_check_their_input);
    TU_ADD(s, test_embedding_init_and_lookup);
    TU_ADD(s, test_embedding_gradchecks);
    TU_ADD(s, test_embedding_errors);
    return s;
}
