/*
** test_loss_parity.c: the loss options PyTorch has that issue 16 asked
** for, against PyTorch 1.13's numbers (f64): cross-entropy / nll ignoring
** target -100 by default, kl_div with log_target, multi_margin_loss with
** p = 2 and a per-class weight, hinge_embedding_loss; gradients by
** PyTorch's autograd and by gradcheck / gradgradcheck.
*/
#include "test_util.h"

#include <math.h>

static const ag_reduction REDS[3] = {AG_REDUCTION_MEAN, AG_REDUCTION_SUM, AG_REDUCTION_NONE};

/* x [3, 4], y and w of the multi-class cases below */
static const double X[12] = {0.3, -1.2, 0.8, 0.1, 1.5, 0.2, -0.4, 0.9, -0.7, 0.6, 0.05, -1.1};
static const int64_t Y[3] = {2, 0, 3};
static const double W[4] = {0.5, 2.0, 1.0, 1.5};

/* Asserts y (0-d for mean and sum) holds want. */
static void assert_loss(ag_tensor *y, ag_reduction red, const double *want, int64_t n, double tol)
{
    ck_assert_ptr_nonnull(y);
    tu_assert_values(y, want, red == AG_REDUCTION_NONE ? n : 1, tol);
    ck_assert_int_eq(ag_tensor_ndim(y), red == AG_REDUCTION_NONE ? 1 : 0);
}

START_TEST(test_class_losses_ignore_minus_100_by_default)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(3, 4), X);
    const int64_t y[3] = {2, AG_IGNORE_INDEX, 3};
    /* F.cross_entropy(x, [2, -100, 3]); F.nll_loss(x, ..., reduction="sum") */
    ag_tensor *ce = ag_cross_entropy_loss(t, x, y, AG_REDUCTION_MEAN);
    tu_assert_values(ce, VALS(1.6074430044806096), 1, 1e-14);
    tu_assert_values(ag_nll_loss(t, x, y, AG_REDUCTION_SUM), VALS(0.30000000000000004), 1, 1e-15);
    tu_assert_values(ag_nll_loss(t, x, y, AG_REDUCTION_NONE), VALS(-0.8, 0, 1.1), 3, 1e-15);
    /* opts of all zeros: the same default; the ignored row gets no gradient */
    const ag_class_loss_opts zero = {0};
    ag_set_requires_grad(x, 1);
    ag_tensor *ce0 = ag_cross_entropy_loss_ex(t, x, y, &zero, AG_REDUCTION_MEAN);
    tu_assert_values(ce0, VALS(1.6074430044806096), 1, 1e-14);
    ag_tensor *g;
    ck_assert_int_eq(tu_grad_of_sum(t, ce0, 1, &x, &g), AG_OK);
    for (int j = 4; j < 8; j++) ck_assert(ag_tensor_get(g, j) == 0);
    ck_assert(ag_tensor_get(g, 0) != 0);
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_multi_margin_p2_and_weight_match_pytorch)
{
    /* F.multi_margin_loss(x, y, p, margin=0.9, weight) for mean, sum, none */
    static const double want[2][2][5] = {
        {{0.57083333333333341, 1.7125000000000001, 0.14999999999999999, 0.075000000000000011,
          1.4875},
         {0.80625000000000002, 2.4187500000000002, 0.14999999999999999, 0.037500000000000006,
          2.2312500000000002}},
        {{1.0785416666666665, 3.2356249999999998, 0.049999999999999989, 0.022500000000000006,
          3.163125},
         {1.6019791666666665, 4.8059374999999998, 0.049999999999999989, 0.011250000000000003,
          4.7446874999999995}}};
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(3, 4), X), *w = tu_tensor(AG_F64, 1, SHAPE(4), W);
    for (int p = 1; p <= 2; p++)
        for (int k = 0; k < 2; k++)
            for (int r = 0; r < 3; r++)
                assert_loss(ag_multi_margin_loss_ex(t, x, Y, p, 0.9, k ? w : NULL, REDS[r]),
                            REDS[r], want[p - 1][k] + (r < 2 ? r : 2), 3, 1e-14);
    /* p = 1 without weight is ag_multi_margin_loss */
    assert_loss(ag_multi_margin_loss(t, x, Y, 0.9, AG_REDUCTION_MEAN), AG_REDUCTION_MEAN,
                want[0][0], 1, 1e-15);
    /* torch.autograd.grad of the p = 2, weighted mean */
    static const double gx[12] = {0.066666666666666652, 0, -0.099999999999999978,
                                  0.033333333333333326, -0.025000000000000001, 0, 0,
                                  0.025000000000000001, 0.32500000000000001, 0.65000000000000002,
                                  0.51249999999999996, -1.4875};
    ag_set_requires_grad(x, 1);
    ag_tensor *l = ag_multi_margin_loss_ex(t, x, Y, 2, 0.9, w, AG_REDUCTION_MEAN), *g;
    ck_assert_int_eq(tu_grad_of_sum(t, l, 1, &x, &g), AG_OK);
    tu_assert_values(g, gx, 12, 1e-14);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(w);
}
END_TEST

static ag_tensor *mm_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_multi_margin_loss_ex(t, in[0], Y, 2, 0.9, in[1], AG_REDUCTION_SUM);
}

static ag_tensor *kl_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_kl_div_loss_ex(t, in[0], in[1], 1, AG_REDUCTION_BATCHMEAN);
}

static const double HX[6] = {0.3, -1.2, 2.5, 1.5, 0.2, -0.4};
static const double HY[6] = {1, -1, -1, -1, 1, -1};

static ag_tensor *he_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *y = ag_zeros(t, AG_F64, 2, SHAPE(2, 3));     /* the labels, on the tape */
    for (int i = 0; y && i < 6; i++) ag_tensor_set(y, i, HY[i]);
    ag_tensor *l = ag_hinge_embedding_loss(t, in[0], y, 1.3, AG_REDUCTION_MEAN);
    (void)ctx;
    return ag_mul(t, l, l);
}

START_TEST(test_new_losses_gradcheck)
{
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(3, 4), X), *w = tu_tensor(AG_F64, 1, SHAPE(4), W);
    tu_assert_gradchecks(mm_fn, NULL, 2, ((ag_tensor *[]){x, w}));
    ag_tensor *li = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(-1.2, -0.5, -2.0, -0.1, -3.0, -0.7));
    ag_tensor *lt = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(-0.9, -1.6, -1.1, -2.2, -0.3, -1.4));
    tu_assert_gradchecks(kl_fn, NULL, 2, ((ag_tensor *[]){li, lt}));
    ag_tensor *hx = tu_tensor(AG_F64, 2, SHAPE(2, 3), HX);
    tu_assert_gradchecks(he_fn, NULL, 1, ((ag_tensor *[]){hx}));
    ag_tensor_free(x), ag_tensor_free(w), ag_tensor_free(li), ag_tensor_free(lt);
    ag_tensor_free(hx);
}
END_TEST

START_TEST(test_kl_div_log_target_matches_pytorch)
{
    /* F.kl_div(inp, tgt, reduction=..., log_target=True) */
    ag_tape *t = ag_tape_new();
    ag_tensor *in = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(-1.2, -0.5, -2.0, -0.1, -3.0, -0.7));
    ag_tensor *tg = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(-0.9, -1.6, -1.1, -2.2, -0.3, -1.4));
    static const double none[6] = {0.1219708979221797, -0.22208616979412094,
                                   0.29958397532827158, -0.23268663256090111,
                                   2.0002091958406383, -0.17261787475912455};
    tu_assert_values(ag_kl_div_loss_ex(t, in, tg, 1, AG_REDUCTION_BATCHMEAN),
                     VALS(0.89718669598847134), 1, 1e-14);
    tu_assert_values(ag_kl_div_loss_ex(t, in, tg, 1, AG_REDUCTION_MEAN),
                     VALS(0.29906223199615711), 1, 1e-14);
    tu_assert_values(ag_kl_div_loss_ex(t, in, tg, 1, AG_REDUCTION_SUM),
                     VALS(1.7943733919769427), 1, 1e-14);
    ag_tensor *n = ag_kl_div_loss_ex(t, in, tg, 1, AG_REDUCTION_NONE);
    tu_assert_values(n, none, 6, 1e-15);
    tu_assert_shape(n, 2, SHAPE(2, 3));
    static const double gi[6] = {-0.20328482987029955, -0.10094825899732769,
                                 -0.16643554184903978, -0.055401579181166928,
                                 -0.37040911034085894, -0.12329848197080324};
    static const double gt[6] = {0.26427027883138943, -0.010094825899732776,
                                 0.31622752951317556, -0.060941737099283626,
                                 1.370513708261178, 0.036989544591240972};
    ag_set_requires_grad(in, 1), ag_set_requires_grad(tg, 1);
    ag_tensor *l = ag_kl_div_loss_ex(t, in, tg, 1, AG_REDUCTION_BATCHMEAN), *g[2];
    ck_assert_int_eq(tu_grad_of_sum(t, l, 2, (ag_tensor *[]){in, tg}, g), AG_OK);
    tu_assert_values(g[0], gi, 6, 1e-15);
    tu_assert_values(g[1], gt, 6, 1e-15);
    /* log_target 0 is ag_kl_div_loss */
    ag_tensor *p = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(0.2, 0.3, 0.5, 0.1, 0.0, 0.9));
    ag_tensor *a = ag_kl_div_loss_ex(t, in, p, 0, AG_REDUCTION_SUM);
    ag_tensor *b = ag_kl_div_loss(t, in, p, AG_REDUCTION_SUM);
    ck_assert(ag_tensor_get(a, 0) == ag_tensor_get(b, 0));
    tu_assert_error(t, ag_kl_div_loss_ex(t, in, ag_zeros(t, AG_F64, 1, SHAPE(6)), 1,
                                         AG_REDUCTION_SUM), AG_ERR_SHAPE, "ag_kl_div_loss_ex",
                    "[6]");
    ag_tape_free(t);
    ag_tensor_free(in), ag_tensor_free(tg), ag_tensor_free(p);
}
END_TEST

START_TEST(test_hinge_embedding_matches_pytorch)
{
    /* F.hinge_embedding_loss(hx, hy, margin=1.3, reduction=...) */
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 3), HX), *y = tu_tensor(AG_F64, 2, SHAPE(2, 3), HY);
    tu_assert_values(ag_hinge_embedding_loss(t, x, y, 1.3, AG_REDUCTION_MEAN),
                     VALS(0.78333333333333333), 1, 1e-15);
    tu_assert_values(ag_hinge_embedding_loss(t, x, y, 1.3, AG_REDUCTION_SUM),
                     VALS(4.7000000000000002), 1, 1e-15);
    tu_assert_values(ag_hinge_embedding_loss(t, x, y, 1.3, AG_REDUCTION_NONE),
                     VALS(0.3, 2.5, 0, 0, 0.2, 1.7000000000000002), 6, 1e-15);
    ag_set_requires_grad(x, 1);
    ag_tensor *l = ag_hinge_embedding_loss(t, x, y, 1.3, AG_REDUCTION_MEAN), *g;
    ck_assert_int_eq(tu_grad_of_sum(t, l, 1, &x, &g), AG_OK);
    const double s = 1.0 / 6;
    tu_assert_values(g, VALS(s, -s, 0, 0, s, -s), 6, 1e-15);
    /* a label other than +-1 gets both terms, as PyTorch: x + max(0, m - x) */
    ag_tensor *odd = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 2));
    ag_tensor *x2 = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0.5, 2));
    tu_assert_values(ag_hinge_embedding_loss(t, x2, odd, 1.3, AG_REDUCTION_NONE),
                     VALS(1.3, 2), 2, 1e-15);
    tu_assert_error(t, ag_hinge_embedding_loss(t, x, y, NAN, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_hinge_embedding_loss: margin", "not finite");
    ag_tape_free(t);
    t = ag_tape_new();
    tu_assert_error(t, ag_hinge_embedding_loss(t, x, x2, 1, AG_REDUCTION_MEAN), AG_ERR_SHAPE,
                    "ag_hinge_embedding_loss", "[2]");
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(y), ag_tensor_free(odd), ag_tensor_free(x2);
}
END_TEST

START_TEST(test_multi_margin_ex_errors)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(3, 4), X);
    ag_tensor *w3 = tu_tensor(AG_F64, 1, SHAPE(3), VALS(1, 1, 1));
    ag_tensor *w32 = tu_tensor(AG_F32, 1, SHAPE(4), VALS(1, 1, 1, 1));
    tu_assert_error(t, ag_multi_margin_loss_ex(t, x, Y, 3, 1, NULL, AG_REDUCTION_MEAN), AG_ERR_ARG,
                    "ag_multi_margin_loss_ex", "p = 3 must be 1 or 2");
    ag_tape_reset(t);
    tu_assert_error(t, ag_multi_margin_loss_ex(t, x, Y, 2, 1, w3, AG_REDUCTION_MEAN), AG_ERR_SHAPE,
                    "ag_multi_margin_loss_ex: weight is [3]", "expected [4]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_multi_margin_loss_ex(t, x, Y, 2, 1, w32, AG_REDUCTION_MEAN),
                    AG_ERR_DTYPE, "ag_multi_margin_loss_ex: dtypes differ", "f32");
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(w3), ag_tensor_free(w32);
}
END_TEST

Suite *suite_loss_parity(void)
{
    Suite *s = suite_create("loss_parity");
    TU_ADD(s, test_class_losses_ignore_minus_100_by_default);
    TU_ADD(s, test_multi_margin_p2_and_weight_match_pytorch);
    TU_ADD(s, test_kl_div_log_target_matches_pytorch);
    TU_ADD(s, test_hinge_embedding_matches_pytorch);
    TU_ADD(s, test_new_losses_gradcheck);
    TU_ADD(s, test_multi_margin_ex_errors);
    return s;
}
