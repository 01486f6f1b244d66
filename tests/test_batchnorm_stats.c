/*
** test_batchnorm_stats.c: BatchNorm1d and BatchNorm2d with PyTorch's
** track_running_stats = False (and affine = False): no buffers, batch
** statistics in evaluation too, against PyTorch 1.13's outputs.
*/
#include "test_util.h"

#include <math.h>

static const double X1[12] = {0.5, -1.0, 2.0, 1.5, 0.25, -0.75, -0.3, 0.8, 1.1, 2.2, -0.6, 0.4};
static const double X2[16] = {0.5, -1.0, 2.0, 1.5, 0.25, -0.75, -0.3, 0.8,
                              1.1, 2.2, -0.6, 0.4, 0.9, -0.2, 0.3, 1.7};

START_TEST(test_batchnorm_without_running_stats_matches_pytorch)
{
    /* BatchNorm1d(3, affine=False, track_running_stats=False).eval()(x) */
    static const double y1[12] = {-0.49878972706639446, -1.2237690212882344, 1.3056768969244188,
                                  0.55129390886285667, 0.54980927043384442, -1.430027077583887,
                                  -1.3388566358097953, 1.3301837187915591, 0.41035559617624601,
                                  1.2863524540133326, -0.65622396793716919, -0.28600541551677738};
    /* BatchNorm2d(2, eps=1e-3, track_running_stats=False), weight [1.5, -0.5],
       bias [0.25, 1], eval, on x2 [2, 2, 2, 2] */
    static const double y2[16] = {-0.11273091004719704, -2.1854789674597512, 1.9600171473653574,
                                  1.269101128227839, 1.059801544081157, 1.7432477621515232,
                                  1.4356969640198585, 0.68390612414245544, 0.71636831291782477,
                                  2.2363835550203648, -1.6327461521497368, -0.25091411387470064,
                                  0.61556150233541884, 1.3673523422128218, 1.0256292331776387,
                                  0.068804527879125846};
    ag_tape *t = ag_tape_new();
    ag_module *b1 = ag_batchnorm1d_new_ex(3, 1e-5, 0.1, 0, 0, AG_F64);
    ag_module *b2 = ag_batchnorm2d_new_ex(2, 1e-3, 0.1, 1, 0, AG_F64);
    ck_assert_ptr_nonnull(b1);
    ck_assert_ptr_nonnull(b2);
    ck_assert_int_eq(ag_module_named_tensors(b1, NULL, 0, 1), 0);     /* PyTorch's: [] */
    ag_named_tensor nt[4];
    ck_assert_int_eq(ag_module_named_tensors(b2, nt, 4, 1), 2);       /* weight, bias */
    ck_assert_str_eq(nt[0].name, "weight");
    ck_assert_str_eq(nt[1].name, "bias");
    ag_tensor_set(nt[0].tensor, 0, 1.5), ag_tensor_set(nt[0].tensor, 1, -0.5);
    ag_tensor_set(nt[1].tensor, 0, 0.25), ag_tensor_set(nt[1].tensor, 1, 1);
    ag_tensor *x1 = tu_tensor(AG_F64, 2, SHAPE(4, 3), X1);
    ag_tensor *x2 = tu_tensor(AG_F64, 4, SHAPE(2, 2, 2, 2), X2);
    for (int training = 1; training >= 0; training--) {   /* the same in both modes */
        ag_module_train(b1, training), ag_module_train(b2, training);
        tu_assert_values(ag_module_forward(b1, t, x1), y1, 12, 1e-14);
        tu_assert_values(ag_module_forward(b2, t, x2), y2, 16, 1e-14);
    }
    /* one value per channel: refused in evaluation too, as PyTorch */
    ag_tensor *one = tu_tensor(AG_F64, 2, SHAPE(1, 3), VALS(1, 2, 3));
    tu_assert_error(t, ag_module_forward(b1, t, one), AG_ERR_SHAPE, "BatchNorm1d(3)",
                    "Expected more than 1 value per channel when training");
    ag_tape_free(t);
    ag_tensor_free(x1), ag_tensor_free(x2), ag_tensor_free(one);
    ag_module_free(b1), ag_module_free(b2);
}
END_TEST

static ag_module *grad_bn;

static ag_tensor *bn_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    ag_tensor *y = ag_module_forward(grad_bn, t, in[0]);
    return ag_mul(t, y, ag_add_scalar(t, in[0], 0.5));
}

START_TEST(test_batchnorm_without_running_stats_gradchecks_in_eval)
{
    grad_bn = ag_batchnorm1d_new_ex(3, 1e-5, 0.1, 1, 0, AG_F64);
    ck_assert_ptr_nonnull(grad_bn);
    ag_module_train(grad_bn, 0);
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(4, 3), X1);
    tu_assert_gradchecks(bn_fn, NULL, 1, &x);
    ag_tensor_free(x);
    ag_module_free(grad_bn);
    /* the constructors' checks still apply */
    ck_assert_ptr_null(ag_batchnorm2d_new_ex(0, 1e-5, 0.1, 1, 0, AG_F64));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_batchnorm2d_new_ex: num_features 0"));
    ck_assert_ptr_null(ag_batchnorm1d_new_ex(3, 1e-5, 2, 1, 0, AG_F32));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "momentum 2"));
}
END_TEST

Suite *suite_batchnorm_stats(void)
{
    Suite *s = suite_create("batchnorm_stats");
    TU_ADD(s, test_batchnorm_without_running_stats_matches_pytorch);
    TU_ADD(s, test_batchnorm_without_running_stats_gradchecks_in_eval);
    return s;
}
