/*
** test_norm.c: BatchNorm1d and LayerNorm. Forward values and running
** statistics against the formulas evaluated here (two training steps,
** then evaluation), the cumulative average, [N, C, L] inputs, training
** with one value per channel, gradcheck and gradgradcheck in f64 with
** respect to x and the affine parameters (BatchNorm in training and in
** evaluation mode), error paths.
*/
#include "test_util.h"

/* ------------------------------------------------------------ helpers --- */

static ag_tensor *module_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_module_forward(ctx, t, in[0]);
}

/* gradcheck + gradgradcheck of m at x, with respect to x and all n_params
   parameters of m. */
static void assert_module_gradchecks(ag_module *m, ag_tensor *x, int n_params)
{
    ag_tensor *in[8] = {x};
    ck_assert_int_eq(ag_module_parameters(m, in + 1, 7), n_params);
    tu_assert_gradchecks(module_fn, m, 1 + n_params, in);
}

static void set_values(ag_tensor *x, const double *v, int64_t n)
{
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(ag_tensor_numel(x), n);
    for (int64_t i = 0; i < n; i++) ck_assert_int_eq(ag_tensor_set(x, i, v[i]), AG_OK);
}

#define assert_last_error(part)                                               \
    ck_assert_msg(strstr(ag_last_error(), (part)) != NULL,                    \
                  "last error '%s' lacks '%s'", ag_last_error(), (part))

enum { N = 4, C = 3 };

/* Column c of a row-major [N, C] array: its mean, biased and unbiased var. */
static void column_stats(const double *x, int c, double *mean, double *var, double *var_unb)
{
    double s = 0, q = 0;
    for (int i = 0; i < N; i++) s += x[i * C + c];
    *mean = s / N;
    for (int i = 0; i < N; i++) q += (x[i * C + c] - *mean) * (x[i * C + c] - *mean);
    *var = q / N;
    *var_unb = q / (N - 1);
}

/* Asserts y[i][c] == (x[i][c] - mean[c]) / sqrt(var[c] + eps) * w[c] + b[c]. */
static void assert_normalized(const ag_tensor *y, const double *x, const double *mean,
                              const double *var, double eps, const double *w, const double *b)
{
    tu_assert_shape(y, 2, ((const int64_t[]){N, C}));
    for (int i = 0; i < N; i++)
        for (int c = 0; c < C; c++) {
            double e = (x[i * C + c] - mean[c]) / sqrt(var[c] + eps) * w[c] + b[c];
            ck_assert_msg(fabs(ag_tensor_get(y, i * C + c) - e) <= 1e-12,
                          "[%d,%d]: got %.17g, expected %.17g", i, c,
                          ag_tensor_get(y, i * C + c), e);
        }
}

/* -------------------------------------------------------- BatchNorm1d --- */

START_TEST(test_batchnorm_names_and_defaults)
{
    ag_module *bn = ag_batchnorm1d_new(3, 1e-5, 0.1, 1, AG_F32);
    ck_assert_ptr_nonnull(bn);
    ck_assert_str_eq(bn->ops->type, "BatchNorm1d");
    ag_named_tensor nt[8];
    ck_assert_int_eq(ag_module_named_tensors(bn, nt, 8, 1), 5);
    const char *names[5] = {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"};
    const double init[5] = {1, 0, 0, 1, 0};
    for (int k = 0; k < 5; k++) {
        ck_assert_str_eq(nt[k].name, names[k]);
        ck_assert_int_eq(nt[k].is_buffer, k >= 2);
        ck_assert_int_eq(ag_requires_grad(nt[k].tensor), k < 2);
        tu_assert_shape(nt[k].tensor, k < 4 ? 1 : 0, SHAPE(3));
        for (int64_t i = 0; i < ag_tensor_numel(nt[k].tensor); i++)
            ck_assert_double_eq(ag_tensor_get(nt[k].tensor, i), init[k]);
    }
    ck_assert_int_eq(ag_module_parameters(bn, NULL, 0), 2);
    ag_module *plain = ag_batchnorm1d_new(3, 1e-5, 0.1, 0, AG_F32);     /* no affine */
    ck_assert_int_eq(ag_module_parameters(plain, NULL, 0), 0);
    ck_assert_int_eq(ag_module_named_tensors(plain, NULL, 0, 1), 3);
    ck_assert_ptr_null(ag_module_get(plain, "weight"));
    ag_module_free(bn);
    ag_module_free(plain);
}
END_TEST

/* Two training steps, then evaluation: every number from the formulas. */
START_TEST(test_batchnorm_two_steps_then_eval)
{
    const double eps = 1e-3, mom = 0.3;
    const double w[C] = {1.5, -0.5, 2}, b[C] = {0.1, 0.2, -0.3};
    const double x1[N * C] = {1, -2, 0.5, 3, 0, 0.25, -1, 4, 2, 2, 1, -0.75};
    const double x2[N * C] = {0.5, 1, -1, -0.5, 2, 3, 1.5, -3, 0, 2.5, 0.5, 1};
    ag_module *bn = ag_batchnorm1d_new(C, eps, mom, 1, AG_F64);
    set_values(ag_module_get(bn, "weight"), w, C);
    set_values(ag_module_get(bn, "bias"), b, C);
    ag_tape *t = ag_tape_new();
    ag_tensor *in1 = tu_tensor(AG_F64, 2, SHAPE(N, C), x1);
    ag_tensor *in2 = tu_tensor(AG_F64, 2, SHAPE(N, C), x2);
    double rm[C] = {0, 0, 0}, rv[C] = {1, 1, 1};
    const double *xs[2] = {x1, x2};
    ag_tensor *ins[2] = {in1, in2};
    for (int step = 0; step < 2; step++) {
        double mean[C], var[C], unb[C];
        for (int c = 0; c < C; c++) {
            column_stats(xs[step], c, &mean[c], &var[c], &unb[c]);
            rm[c] = (1 - mom) * rm[c] + mom * mean[c];
            rv[c] = (1 - mom) * rv[c] + mom * unb[c];
        }
        assert_normalized(ag_module_forward(bn, t, ins[step]), xs[step], mean, var, eps, w, b);
    }
    tu_assert_values(ag_module_get(bn, "running_mean"), rm, C, 1e-14);
    tu_assert_values(ag_module_get(bn, "running_var"), rv, C, 1e-14);
    ck_assert_double_eq(ag_tensor_get(ag_module_get(bn, "num_batches_tracked"), 0), 2);
    /* evaluation: the running statistics, and nothing is updated */
    ag_module_train(bn, 0);
    ag_tensor *ye = ag_module_forward(bn, t, in1);
    assert_normalized(ye, x1, rm, rv, eps, w, b);
    tu_assert_values(ag_module_get(bn, "running_mean"), rm, C, 1e-14);
    ck_assert_double_eq(ag_tensor_get(ag_module_get(bn, "num_batches_tracked"), 0), 2);
    /* training and evaluation differ on the same batch */
    ag_module_train(bn, 1);
    ag_tensor *yt = ag_module_forward(bn, t, in1);
    double diff = 0;
    for (int64_t i = 0; i < N * C; i++)
        diff = fmax(diff, fabs(ag_tensor_get(yt, i) - ag_tensor_get(ye, i)));
    ck_assert_double_gt(diff, 0.1);
    ag_tape_free(t);
    ag_tensor_free(in1);
    ag_tensor_free(in2);
    ag_module_free(bn);
}
END_TEST

/* momentum None: the running stats are the average over the batches. */
START_TEST(test_batchnorm_cumulative_average)
{
    const double x1[N * C] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13};
    const double x2[N * C] = {-1, 0, 2, 5, 1, 1, 0, 3, 4, 2, -2, 8};
    ag_module *bn = ag_batchnorm1d_new(C, 1e-5, AG_MOMENTUM_CUMULATIVE, 0, AG_F64);
    ck_assert_ptr_nonnull(bn);
    ag_tape *t = ag_tape_new();
    ag_tensor *in1 = tu_tensor(AG_F64, 2, SHAPE(N, C), x1);
    ag_tensor *in2 = tu_tensor(AG_F64, 2, SHAPE(N, C), x2);
    ck_assert_ptr_nonnull(ag_module_forward(bn, t, in1));
    ck_assert_ptr_nonnull(ag_module_forward(bn, t, in2));
    double rm[C], rv[C];
    for (int c = 0; c < C; c++) {
        double m1, v1, u1, m2, v2, u2;
        column_stats(x1, c, &m1, &v1, &u1);
        column_stats(x2, c, &m2, &v2, &u2);
        rm[c] = (m1 + m2) / 2;
        rv[c] = (u1 + u2) / 2;
    }
    tu_assert_values(ag_module_get(bn, "running_mean"), rm, C, 1e-13);
    tu_assert_values(ag_module_get(bn, "running_var"), rv, C, 1e-13);
    ag_tape_free(t);
    ag_tensor_free(in1);
    ag_tensor_free(in2);
    ag_module_free(bn);
}
END_TEST

/* [N, C, L]: statistics per channel over N and L. */
START_TEST(test_batchnorm_three_dims)
{
    /* x[n][c][l], N = 2, C = 2, L = 3 */
    const double x[12] = {1, 2, 3, -1, 0, 1, 4, 5, 9, 2, 2, 8};
    ag_module *bn = ag_batchnorm1d_new(2, 1e-5, 0.1, 1, AG_F64);
    set_values(ag_module_get(bn, "weight"), VALS(2, 0.5), 2);
    set_values(ag_module_get(bn, "bias"), VALS(-1, 1), 2);
    ag_tape *t = ag_tape_new();
    ag_tensor *in = tu_tensor(AG_F64, 3, SHAPE(2, 2, 3), x);
    ag_tensor *y = ag_module_forward(bn, t, in);
    tu_assert_shape(y, 3, SHAPE(2, 2, 3));
    const double w[2] = {2, 0.5}, b[2] = {-1, 1};
    for (int c = 0; c < 2; c++) {
        double s = 0, q = 0;
        for (int n = 0; n < 2; n++)
            for (int l = 0; l < 3; l++) s += x[n * 6 + c * 3 + l];
        double mean = s / 6;
        for (int n = 0; n < 2; n++)
            for (int l = 0; l < 3; l++) q += pow(x[n * 6 + c * 3 + l] - mean, 2);
        for (int n = 0; n < 2; n++)
            for (int l = 0; l < 3; l++) {
                int i = n * 6 + c * 3 + l;
                double e = (x[i] - mean) / sqrt(q / 6 + 1e-5) * w[c] + b[c];
                ck_assert_double_eq_tol(ag_tensor_get(y, i), e, 1e-12);
            }
        ck_assert_double_eq_tol(ag_tensor_get(ag_module_get(bn, "running_mean"), c), 0.1 * mean,
                                1e-14);
        ck_assert_double_eq_tol(ag_tensor_get(ag_module_get(bn, "running_var"), c),
                                0.9 + 0.1 * q / 5, 1e-14);
    }
    ag_tape_free(t);
    ag_tensor_free(in);
    ag_module_free(bn);
}
END_TEST

START_TEST(test_batchnorm_gradchecks_train_and_eval)
{
    ag_module *bn = ag_batchnorm1d_new(3, 1e-5, 0.1, 1, AG_F64);
    ag_rng *r = ag_rng_new(3);
    ag_init_uniform(ag_module_get(bn, "weight"), 0.5, 1.5, r);
    ag_init_uniform(ag_module_get(bn, "bias"), -0.5, 0.5, r);
    ag_tensor *x = tu_random(2, SHAPE(4, 3), -1, 1, 21);
    assert_module_gradchecks(bn, x, 2);                 /* training mode */
    ag_tensor *x3 = tu_random(3, SHAPE(2, 3, 2), -1, 1, 22);
    assert_module_gradchecks(bn, x3, 2);
    ag_module_train(bn, 0);                             /* running stats moved: not 0/1 */
    assert_module_gradchecks(bn, x, 2);
    ag_module *plain = ag_batchnorm1d_new(3, 1e-5, 0.1, 0, AG_F64);
    assert_module_gradchecks(plain, x, 0);
    ag_tensor_free(x);
    ag_tensor_free(x3);
    ag_module_free(bn);
    ag_module_free(plain);
    ag_rng_free(r);
}
END_TEST

/* Backward through a training step reaches x and the parameters; the
   running buffers take no part in the graph. */
START_TEST(test_batchnorm_backward_leaves_buffers_alone)
{
    ag_module *bn = ag_batchnorm1d_new(3, 1e-5, 0.1, 1, AG_F64);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_random(2, SHAPE(5, 3), -2, 2, 4);
    ag_set_requires_grad(x, 1);
    ag_tensor *y = ag_module_forward(bn, t, x);
    /* loss = sum(y * k) with k[c] = c + 1: dbias = N * k, dx sums to 0 per column */
    ag_tensor *k = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 2, 3));
    ck_assert_int_eq(ag_backward(t, ag_sum(t, ag_mul(t, y, k), AG_ALL, 0)), AG_OK);
    tu_assert_values(ag_tensor_grad(ag_module_get(bn, "bias")), VALS(5, 10, 15), 3, 1e-12);
    for (int c = 0; c < 3; c++) {
        double s = 0;
        for (int i = 0; i < 5; i++) s += ag_tensor_get(ag_tensor_grad(x), i * 3 + c);
        ck_assert_double_eq_tol(s, 0, 1e-12);
    }
    ck_assert_int_eq(ag_requires_grad(ag_module_get(bn, "running_mean")), 0);
    ck_assert_ptr_null(ag_tensor_grad(ag_module_get(bn, "running_mean")));
    ck_assert_ptr_null(ag_tensor_grad(ag_module_get(bn, "running_var")));
    ck_assert_int_eq(ag_is_grad_enabled(t), 1);         /* grad mode restored */
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(k);
    ag_module_free(bn);
}
END_TEST

START_TEST(test_batchnorm_one_value_per_channel)
{
    ag_module *bn = ag_batchnorm1d_new(3, 1e-5, 0.1, 1, AG_F32);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_ones(NULL, AG_F32, 2, SHAPE(1, 3));
    tu_assert_error(t, ag_module_forward(bn, t, x), AG_ERR_SHAPE, "BatchNorm1d(3)",
                    "Expected more than 1 value per channel when training, got input size [1,3]");
    ck_assert_double_eq(ag_tensor_get(ag_module_get(bn, "num_batches_tracked"), 0), 0);
    ag_tape_reset(t);
    ag_tensor *x3 = ag_ones(NULL, AG_F32, 3, SHAPE(1, 3, 1));
    tu_assert_error(t, ag_module_forward(bn, t, x3), AG_ERR_SHAPE, "BatchNorm1d(3)",
                    "got input size [1,3,1]");
    ag_tape_reset(t);
    ag_module_train(bn, 0);                             /* evaluation takes one sample */
    ag_tensor *y = ag_module_forward(bn, t, x);
    double e = 1 / sqrt(1 + 1e-5);                      /* (1 - 0) / sqrt(1 + eps) */
    tu_assert_values(y, VALS(e, e, e), 3, 1e-6);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(x3);
    ag_module_free(bn);
}
END_TEST

START_TEST(test_batchnorm_errors)
{
    ag_module *bn = ag_batchnorm1d_new(3, 1e-5, 0.1, 1, AG_F64);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F64, 2, SHAPE(4, 2));
    tu_assert_error(t, ag_module_forward(bn, t, x), AG_ERR_SHAPE, "BatchNorm1d(3)",
                    "x is [4,2], expected [N, 3] or [N, 3, L]");
    ag_tape_reset(t);
    ag_tensor *x4 = ag_zeros(NULL, AG_F64, 4, SHAPE(2, 3, 1, 1));
    tu_assert_error(t, ag_module_forward(bn, t, x4), AG_ERR_SHAPE, "BatchNorm1d(3)",
                    "x is [2,3,1,1]");
    ag_tape_reset(t);
    ag_tensor *x32 = ag_zeros(NULL, AG_F32, 2, SHAPE(4, 3));
    tu_assert_error(t, ag_module_forward(bn, t, x32), AG_ERR_DTYPE, "BatchNorm1d(3)",
                    "x is f32 [4,3], the layer is f64");
    ck_assert_ptr_null(ag_batchnorm1d_new(0, 1e-5, 0.1, 1, AG_F64));
    assert_last_error("ag_batchnorm1d_new: num_features 0");
    ck_assert_ptr_null(ag_batchnorm1d_new(3, 1e-5, 1.5, 1, AG_F64));
    assert_last_error("momentum 1.5");
    ck_assert_ptr_null(ag_batchnorm1d_new(3, -1, 0.1, 1, AG_F64));
    assert_last_error("eps -1");
    /* buffers a checkpoint or a write put out of range: refused where read */
    ag_tensor *ok = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 4, 5, 7));
    ag_tensor *nb = ag_module_get(bn, "num_batches_tracked");
    ag_tensor *rv = ag_module_get(bn, "running_var");
    const double bad_counts[3] = {-1, 0.5, NAN};
    for (int i = 0; i < 3; i++) {
        ag_tape_reset(t);
        ag_tensor_set(nb, 0, bad_counts[i]);
        tu_assert_error(t, ag_module_forward(bn, t, ok), AG_ERR_STATE, "BatchNorm1d(3): "
                        "num_batches_tracked is ", "must be a whole number in [0, 2^53]");
    }
    ag_tensor_set(nb, 0, 2);
    ag_tape_reset(t);
    ck_assert_ptr_nonnull(ag_module_forward(bn, t, ok));
    ck_assert_double_eq(ag_tensor_get(nb, 0), 3);
    ag_module_train(bn, 0);
    ag_tensor_set(rv, 1, -0.25);
    ag_tape_reset(t);
    tu_assert_error(t, ag_module_forward(bn, t, ok), AG_ERR_STATE, "BatchNorm1d(3): "
                    "running_var[1] is -0.25, must be >= 0", "");
    ag_tensor_set(rv, 1, 0);
    ag_tape_reset(t);
    ck_assert_ptr_nonnull(ag_module_forward(bn, t, ok));
    ag_tensor_free(ok);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(x4);
    ag_tensor_free(x32);
    ag_module_free(bn);
}
END_TEST

/* ---------------------------------------------------------- LayerNorm --- */

START_TEST(test_layernorm_forward_by_formula)
{
    const double x[12] = {1, 2, 4, 9, -1, 0, 0, 3, 5, 5, 5, 6};      /* [3, 4] */
    const double w[4] = {1, -2, 0.5, 3}, b[4] = {0, 1, -1, 0.25};
    ag_module *ln = ag_layernorm_new(4, 1e-5, 1, AG_F64);
    ck_assert_str_eq(ln->ops->type, "LayerNorm");
    tu_assert_values(ag_module_get(ln, "weight"), VALS(1, 1, 1, 1), 4, 0);
    tu_assert_values(ag_module_get(ln, "bias"), VALS(0, 0, 0, 0), 4, 0);
    set_values(ag_module_get(ln, "weight"), w, 4);
    set_values(ag_module_get(ln, "bias"), b, 4);
    ag_tape *t = ag_tape_new();
    ag_tensor *in2 = tu_tensor(AG_F64, 2, SHAPE(3, 4), x);
    ag_tensor *in3 = tu_tensor(AG_F64, 3, SHAPE(3, 1, 4), x);
    ag_tensor *y2 = ag_module_forward(ln, t, in2), *y3 = ag_module_forward(ln, t, in3);
    tu_assert_shape(y3, 3, SHAPE(3, 1, 4));
    for (int i = 0; i < 3; i++) {
        double mean = 0, var = 0;
        for (int j = 0; j < 4; j++) mean += x[i * 4 + j] / 4;
        for (int j = 0; j < 4; j++) var += pow(x[i * 4 + j] - mean, 2) / 4;   /* biased */
        for (int j = 0; j < 4; j++) {
            double e = (x[i * 4 + j] - mean) / sqrt(var + 1e-5) * w[j] + b[j];
            ck_assert_double_eq_tol(ag_tensor_get(y2, i * 4 + j), e, 1e-12);
            ck_assert_double_eq_tol(ag_tensor_get(y3, i * 4 + j), e, 1e-12);
        }
    }
    /* training and evaluation are the same for LayerNorm */
    ag_module_train(ln, 0);
    ag_tensor *ye = ag_module_forward(ln, t, in2);
    for (int64_t i = 0; i < 12; i++) ck_assert_double_eq(ag_tensor_get(ye, i), ag_tensor_get(y2, i));
    ag_tape_free(t);
    ag_tensor_free(in2);
    ag_tensor_free(in3);
    ag_module_free(ln);
}
END_TEST

START_TEST(test_layernorm_gradchecks)
{
    ag_module *ln = ag_layernorm_new(4, 1e-5, 1, AG_F64);
    ag_rng *r = ag_rng_new(5);
    ag_init_uniform(ag_module_get(ln, "weight"), 0.5, 1.5, r);
    ag_init_uniform(ag_module_get(ln, "bias"), -0.5, 0.5, r);
    ag_tensor *x = tu_random(2, SHAPE(2, 4), -1, 1, 31);
    assert_module_gradchecks(ln, x, 2);
    ag_tensor *x3 = tu_random(3, SHAPE(2, 1, 4), -1, 1, 32);
    assert_module_gradchecks(ln, x3, 2);
    ag_module *plain = ag_layernorm_new(4, 1e-5, 0, AG_F64);
    ck_assert_int_eq(ag_module_named_tensors(plain, NULL, 0, 1), 0);
    assert_module_gradchecks(plain, x, 0);
    ag_tensor_free(x);
    ag_tensor_free(x3);
    ag_module_free(ln);
    ag_module_free(plain);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_layernorm_errors)
{
    ag_module *ln = ag_layernorm_new(4, 1e-5, 1, AG_F32);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(NULL, AG_F32, 2, SHAPE(2, 3));
    tu_assert_error(t, ag_module_forward(ln, t, x), AG_ERR_SHAPE, "LayerNorm((4,))",
                    "x's last dim is 3, expected 4 (x is [2,3])");
    ag_tape_reset(t);
    ag_tensor *s = ag_scalar(NULL, AG_F32, 1);
    tu_assert_error(t, ag_module_forward(ln, t, s), AG_ERR_SHAPE, "LayerNorm((4,))",
                    "x is [], expected at least 1 dimension");
    ag_tape_reset(t);
    tu_assert_error(t, ag_module_forward(ln, t, NULL), AG_ERR_ARG, "LayerNorm", "x is NULL");
    ck_assert_ptr_null(ag_layernorm_new(0, 1e-5, 1, AG_F32));
    assert_last_error("ag_layernorm_new: normalized_size 0");
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_tensor_free(s);
    ag_module_free(ln);
}
END_TEST

Suite *suite_norm(void)
{
    Suite *s = suite_create("norm");
    TU_ADD(s, test_batchnorm_names_and_defaults);
    TU_ADD(s, test_batchnorm_two_steps_then_eval);
    TU_ADD(s, test_batchnorm_cumulative_average);
    TU_ADD(s, test_batchnorm_three_dims);
    TU_ADD(s, test_batchnorm_gradchecks_train_and_eval);
    TU_ADD(s, test_batchnorm_backward_leaves_buffers_alone);
    TU_ADD(s, test_batchnorm_one_value_per_channel);
    TU_ADD(s, test_batchnorm_errors);
    TU_ADD(s, test_layernorm_forward_by_formula);
    TU_ADD(s, test_layernorm_gradchecks);
    TU_ADD(s, test_layernorm_errors);
    return s;
}
