/*
** test_activation_seq.c: the activations of sequence models and
** transformers (ops/activation.c: gelu, gelu_tanh, silu, softsign,
** hardtanh, log_sigmoid), the unary ops erf, expm1 and log1p, and their
** layers (nn/activation_layers.c): values, first and second derivatives
** against numbers PyTorch 1.13 gave for the same inputs (f64 and f32),
** the tails, gradcheck and gradgradcheck in f64, error paths.
*/
#include "test_util.h"

#include <float.h>

/* The inputs every PyTorch figure below is for. */
#define NX 9
static const double XS[NX] = {-6.0, -2.5, -1.0, -0.3, 0.0, 0.2, 1.0, 2.7, 5.0};

/* y, dy/dx and d2y/dx2 at XS from PyTorch (float64, autograd). */
typedef struct torch_case {
    const char *name;
    ag_tensor *(*op)(ag_tape *, ag_tensor *);
    double y[NX], d1[NX], d2[NX];
} torch_case;

static ag_tensor *hardtanh_1(ag_tape *t, ag_tensor *x) { return ag_hardtanh(t, x, -1, 1); }
static ag_tensor *hardtanh_2(ag_tape *t, ag_tensor *x) { return ag_hardtanh(t, x, -2, 0.5); }

static const torch_case CASES[] = {
    {"gelu", ag_gelu,
     {-5.9195258694799691e-09, -0.015524163314440398, -0.15865525393145702,
      -0.11462657334331421, 0, 0.11585194188782061, 0.84134474606854304, 2.6906391707317905,
      4.9999985667421409},
     {-3.546870945402639e-08, -0.037611085908145193, -0.083315470587686347,
      0.26767223317289013, 0.5, 0.65746824823419414, 1.0833154705876864, 1.0246695501959004,
      1.0000071469460019},
     {-2.0658001689399173e-07, -0.07449527709766629, 0.24197072451914337,
      0.72845072752960105, 0.79788456080286541, 0.76644368019189357, 0.24197072451914337,
      -0.055126745168295521, -3.4194548838888845e-05}},
    {"gelu_tanh", ag_gelu_tanh,
     {-8.43964897967453e-11, -0.015084266089998577, -0.15880800939172329,
      -0.11462907645724074, 0, 0.11585142978210627, 0.84119199060827676, 2.6911124053605326,
      4.9999997708203807},
     {-7.7099760128363292e-10, -0.037951576212666177, -0.082964083845782577,
      0.26770454836119817, 0.5, 0.65745814919569956, 1.0829640838457826, 1.0246678654351904,
      1.000001546361988},
     {-6.8242471449482308e-09, -0.076245392073612944, 0.24214819798377302,
      0.7281484484339118, 0.79788456080286541, 0.76629645852547146, 0.24214819798377302,
      -0.05671720508192768, -9.9341322248937217e-06}},
    {"silu", ag_silu,
     {-0.014835738939808647, -0.18964545005310887, -0.2689414213699951, -0.12766724495650231,
      0, 0.1099667994624956, 0.7310585786300049, 2.5299719386461099, 4.9665357453785761},
     {-0.012326432591525513, -0.099401111341526821, 0.072329488128513253,
      0.35221998968111728, 0.5, 0.59933731185484995, 0.92767051187148686, 1.0963474676495746,
      1.0265474324296655},
     {-0.0097928521895617321, -0.0084621565233688467, 0.30236611881001529,
      0.47799776819481887, 0.5, 0.49009924933599325, 0.30236611881001529,
      -0.021239464821604929, -0.019499225490032152}},
    {"softsign", ag_softsign,
     {-0.8571428571428571, -0.7142857142857143, -0.5, -0.23076923076923075, 0,
      0.16666666666666669, 0.5, 0.72972972972972971, 0.83333333333333337},
     {0.020408163265306117, 0.081632653061224469, 0.25, 0.59171597633136086, 1,
      0.69444444444444442, 0.25, 0.073046018991964917, 0.027777777777777762},
     {0.0058309037900874626, 0.046647230320699694, 0.25, 0.91033227127901672, 0,
      -1.1574074074074074, -0.25, -0.039484334590251295, -0.0092592592592592553}},
    {"hardtanh(-1, 1)", hardtanh_1,
     {-1, -1, -1, -0.29999999999999999, 0, 0.20000000000000001, 1, 1, 1},
     {0, 0, 0, 1, 1, 1, 0, 0, 0},
     {0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {"hardtanh(-2, 0.5)", hardtanh_2,
     {-2, -2, -1, -0.29999999999999999, 0, 0.20000000000000001, 0.5, 0.5, 0.5},
     {0, 0, 1, 1, 1, 1, 0, 0, 0},
     {0, 0, 0, 0, 0, 0, 0, 0, 0}},
    {"log_sigmoid", ag_log_sigmoid,
     {-6.0024756851377301, -2.5788897342925496, -1.3132616875182228, -0.85435524446852718,
      -0.69314718055994529, -0.59813886938159178, -0.31326168751822286,
      -0.065043561776590542, -0.0067153484891180684},
     {0.99752737684336523, 0.92414181997875644, 0.7310585786300049, 0.57444251681165892, 0.5,
      0.4501660026875221, 0.2689414213699951, 0.062973356056996485, 0.0066928509242848563},
     {-0.002466509291360048, -0.07010371654510815, -0.19661193324148185,
      -0.24445831169074586, -0.25, -0.24751657271185995, -0.19661193324148185,
      -0.059007712483915238, -0.0066480566707900332}},
    {"erf", ag_erf,
     {-1, -0.99959304798255499, -0.84270079294971489, -0.32862675945912739, 0,
      0.22270258921047847, 0.84270079294971489, 0.99986566726005943, 0.99999999999846256},
     {2.6173012392492645e-16, 0.0021782842303527099, 0.41510749742059472, 1.0312609096189631,
      1.1283791670955126, 1.084134787104863, 0.41510749742059472, 0.00076992475985514252,
      1.5670866531017336e-11},
     {3.1407614870991174e-15, 0.01089142115176355, 0.83021499484118944, 0.61875654577137784,
      0, -0.43365391484194521, -0.83021499484118944, -0.0041575937032177698,
      -1.5670866531017336e-10}},
    {"expm1", ag_expm1,
     {-0.99752124782333362, -0.91791500137610116, -0.63212055882855767, -0.25918177931828212,
      0, 0.22140275816016985, 1.7182818284590453, 13.879731724872837, 147.4131591025766},
     {0.0024787521766663767, 0.082084998623898842, 0.36787944117144233, 0.74081822068171788,
      1, 1.2214027581601699, 2.7182818284590455, 14.879731724872837, 148.4131591025766},
     {0.0024787521766663767, 0.082084998623898842, 0.36787944117144233, 0.74081822068171788,
      1, 1.2214027581601699, 2.7182818284590455, 14.879731724872837, 148.4131591025766}},
};
#define NCASES ((int)(sizeof CASES / sizeof CASES[0]))

/* |got - want| <= rtol max(|want|, floor) (exact zeros must be zero). */
static void assert_close(const char *what, int i, double got, double want, double rtol,
                         double floor)
{
    ck_assert_msg(fabs(got - want) <= rtol * fmax(fabs(want), floor),
                  "%s at x = %g: got %.17g, PyTorch %.17g", what, XS[i], got, want);
}

/* The k-th derivatives (k = 1, 2) of op at every XS, by nested ag_grad
   with create_graph on a sum (the ops are elementwise). */
static void derivatives(ag_tensor *(*op)(ag_tape *, ag_tensor *), double *d1, double *d2)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(NX), XS), *g1 = NULL, *g2 = NULL;
    ag_set_requires_grad(x, 1);
    ag_tensor *s = ag_sum(t, op(t, x), AG_ALL, 0);
    ck_assert_msg(ag_grad(t, 1, &s, NULL, 1, &x, &g1, 1) == AG_OK, "%s", ag_tape_errmsg(t));
    for (int i = 0; i < NX; i++) d1[i] = ag_tensor_get(g1, i);
    ag_tensor *s1 = ag_sum(t, g1, AG_ALL, 0);
    if (ag_requires_grad(s1)) {
        ck_assert_msg(ag_grad(t, 1, &s1, NULL, 1, &x, &g2, 0) == AG_OK, "%s",
                      ag_tape_errmsg(t));
        for (int i = 0; i < NX; i++) d2[i] = ag_tensor_get(g2, i);
    } else {
        for (int i = 0; i < NX; i++) d2[i] = 0;    /* the gradient is a constant */
    }
    ag_tape_free(t);
    ag_tensor_free(x);
}

/* PyTorch's float32 results at XS (2 ulps apart at most). */
static const double TORCH_F32[4][NX] = {
    {0, -0.015524178743362427, -0.15865528583526611, -0.11462658643722534, 0,
     0.11585195362567902, 0.84134471416473389, 2.6906390190124512, 4.9999985694885254},
    {-0.0, -0.015084296464920044, -0.15880799293518066, -0.11462908238172531, 0,
     0.11585142463445663, 0.84119200706481934, 2.6911122798919678, 4.9999995231628418},
    {-0.014835738576948643, -0.18964545428752899, -0.26894143223762512, -0.12766724824905396,
     0, 0.10996679961681366, 0.73105859756469727, 2.5299718379974365, 4.9665355682373047},
    {-6.0024757385253906, -2.5788898468017578, -1.3132617473602295, -0.85435521602630615,
     -0.69314718246459961, -0.59813886880874634, -0.31326168775558472, -0.065043561160564423,
     -0.0067153484560549259}};

START_TEST(test_f32_matches_pytorch_f32)
{
    ag_tensor *(*ops[4])(ag_tape *, ag_tensor *) = {ag_gelu, ag_gelu_tanh, ag_silu,
                                                     ag_log_sigmoid};
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F32, 1, SHAPE(NX), XS);
    for (int k = 0; k < 4; k++) {
        ag_tensor *y = ops[k](t, x);
        for (int i = 0; i < NX; i++)
            ck_assert_msg(fabs(ag_tensor_get(y, i) - TORCH_F32[k][i]) <=
                          2.4e-7 * fabs(TORCH_F32[k][i]), "op %d at %g: %.9g vs %.9g", k,
                          XS[i], ag_tensor_get(y, i), TORCH_F32[k][i]);
    }
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_values_and_derivatives_match_pytorch)
{
    for (int c = 0; c < NCASES; c++) {
        const torch_case *k = &CASES[c];
        ag_tape *t = ag_tape_new();
        ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(NX), XS);
        ag_tensor *xf = tu_tensor(AG_F32, 1, SHAPE(NX), XS);
        ag_tensor *y = k->op(t, x), *yf = k->op(t, xf);
        ck_assert_msg(y && yf, "%s: %s", k->name, ag_tape_errmsg(t));
        ck_assert_int_eq(ag_tensor_dtype(yf), AG_F32);
        double d1[NX], d2[NX];
        derivatives(k->op, d1, d2);
        for (int i = 0; i < NX; i++) {
            assert_close(k->name, i, ag_tensor_get(y, i), k->y[i], 2e-15, 1e-300);
            /* f32 against f64: 1 + erf and 1 + tanh cancel below 0, in
               PyTorch's f32 too (gelu(-6) is 0 there): relative to max(|y|, 1) */
            ck_assert_msg(fabs(ag_tensor_get(yf, i) - k->y[i]) <= 4e-7 * fmax(fabs(k->y[i]), 1),
                          "%s f32 at %g: %.9g vs %.17g", k->name, XS[i],
                          ag_tensor_get(yf, i), k->y[i]);
            /* the derivatives of the tanh form add terms like 1 + tanh u
               that cancel far out: absolute there (PyTorch's cancel alike) */
            assert_close(k->name, i, d1[i], k->d1[i], 1e-14, 1);
            assert_close(k->name, i, d2[i], k->d2[i], 1e-13, 1);
        }
        ag_tape_free(t);
        ag_tensor_free(x);
        ag_tensor_free(xf);
    }
}
END_TEST

/* Far out: no overflow, no NaN, the asymptotes exact. */
START_TEST(test_tails)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(6), VALS(-1000, -50, -10, 30, 50, 1000));
    ag_tensor *ls = ag_log_sigmoid(t, x), *g = ag_gelu(t, x), *gt = ag_gelu_tanh(t, x);
    ag_tensor *si = ag_silu(t, x), *ss = ag_softsign(t, x);
    /* PyTorch: logsigmoid(-1000) = -1000, (-50) = -50, (30) = -9.3576229688397368e-14 */
    ck_assert_double_eq(ag_tensor_get(ls, 0), -1000);
    ck_assert_double_eq_tol(ag_tensor_get(ls, 1), -50 - exp(-50.0), 1e-14);
    assert_close("log_sigmoid(30)", 0, ag_tensor_get(ls, 3), -9.3576229688397368e-14, 1e-15,
                 0);
    ck_assert(ag_tensor_get(ls, 5) == 0 && ag_tensor_get(ls, 4) < 0);
    for (int i = 0; i < 6; i++) {
        double v = ag_tensor_get(x, i);
        ck_assert(isfinite(ag_tensor_get(g, i)) && isfinite(ag_tensor_get(gt, i)));
        if (v > 0) {
            ck_assert_double_eq(ag_tensor_get(g, i), v);
            ck_assert_double_eq(ag_tensor_get(gt, i), v);
            ck_assert_double_eq_tol(ag_tensor_get(si, i), v, 1e-12 * v);
        } else {
            ck_assert(fabs(ag_tensor_get(g, i)) < 1e-20 && fabs(ag_tensor_get(gt, i)) < 1e-20);
            double w = (double)(v / (1 + expl(-v)));
            ck_assert(fabs(ag_tensor_get(si, i) - w) <= 1e-15 * fabs(w));
        }
        ck_assert_double_eq_tol(ag_tensor_get(ss, i), v / (1 + fabs(v)), 1e-16);
    }
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

static ag_tensor *log1p_shifted(ag_tape *t, ag_tensor *x)
{
    return ag_log1p(t, ag_add_scalar(t, ag_mul(t, x, x), -0.5));  /* 1 + x^2 - 0.5 > 0 */
}

/* gradcheck + gradgradcheck in f64, kinks (softsign's and hardtanh's)
   kept 0.1 away. */
START_TEST(test_gradchecks)
{
    tu_unary_ctx ops[] = {{ag_gelu}, {ag_gelu_tanh}, {ag_silu}, {ag_softsign}, {hardtanh_1},
                          {ag_log_sigmoid}, {ag_erf}, {ag_expm1}, {log1p_shifted}};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        ag_tensor *x = tu_random(2, SHAPE(2, 3), -3, 3, 40 + k);
        tu_push_from_zero(x, 0.1);
        for (int i = 0; i < 6; i++) {
            double v = ag_tensor_get(x, i);
            if (fabs(fabs(v) - 1) < 0.1) ag_tensor_set(x, i, v * 1.25);
        }
        tu_assert_gradchecks(tu_apply_unary, &ops[k], 1, &x);
        ag_tensor_free(x);
    }
}
END_TEST

/* The unary ops against libm (independent), f64 and f32. */
START_TEST(test_erf_expm1_log1p_values)
{
    const double xs[7] = {-0.9, -0.5, -1e-9, 0, 1e-12, 0.75, 4};
    ag_tape *t = ag_tape_new();
    for (int d = 0; d < 2; d++) {
        ag_tensor *x = tu_tensor(d ? AG_F32 : AG_F64, 1, SHAPE(7), xs);
        ag_tensor *e = ag_erf(t, x), *m = ag_expm1(t, x), *l = ag_log1p(t, x);
        double rtol = d ? 2.4e-7 : 4.5e-16;
        for (int i = 0; i < 7; i++) {
            double v = d ? (float)xs[i] : xs[i];
            ck_assert(fabs(ag_tensor_get(e, i) - erf(v)) <= rtol * fabs(erf(v)));
            ck_assert(fabs(ag_tensor_get(m, i) - expm1(v)) <= rtol * fabs(expm1(v)));
            ck_assert(fabs(ag_tensor_get(l, i) - log1p(v)) <= rtol * fabs(log1p(v)));
        }
        ag_tensor_free(x);
    }
    ag_tape_free(t);
}
END_TEST

START_TEST(test_errors)
{
    ag_tape *t = ag_tape_new();
    tu_assert_error(t, ag_gelu(t, NULL), AG_ERR_ARG, "ag_gelu", "x is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_silu(t, NULL), AG_ERR_ARG, "ag_silu", "x is NULL");
    ag_tape_clear_error(t);
    ag_tensor *x = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(1, 2, 3, 4));
    tu_assert_error(t, ag_hardtanh(t, x, 1, -1), AG_ERR_ARG, "ag_hardtanh: min_val = 1",
                    "max_val = -1 (nor be NaN) (x is [2,2])");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_hardtanh(t, x, NAN, 1), AG_ERR_ARG, "ag_hardtanh", "x is [2,2]");
    /* sticky: the first message stays */
    tu_assert_error(t, ag_gelu_tanh(t, x), AG_ERR_ARG, "ag_hardtanh", "min_val = nan");
    ag_tape_clear_error(t);
    ck_assert_ptr_nonnull(ag_hardtanh(t, x, 2, 2));            /* min == max: allowed */
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

/* ------------------------------------------------------------ layers --- */

static ag_module *gelu_tanh_layer(void) { return ag_gelu_new("tanh"); }
static ag_module *gelu_layer(void) { return ag_gelu_new(NULL); }
static ag_module *gelu_none_layer(void) { return ag_gelu_new("none"); }
static ag_module *hardtanh_layer(void) { return ag_hardtanh_new(-2, 0.5); }

START_TEST(test_layers_match_the_ops)
{
    struct { ag_module *(*make)(void); const char *type; int c; } L[] = {
        {gelu_layer, "GELU", 0}, {gelu_none_layer, "GELU", 0}, {gelu_tanh_layer, "GELU", 1},
        {ag_silu_new, "SiLU", 2}, {ag_softsign_new, "Softsign", 3},
        {hardtanh_layer, "Hardtanh", 5}, {ag_log_sigmoid_new, "LogSigmoid", 6}};
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(NX), XS);
    for (size_t k = 0; k < sizeof L / sizeof L[0]; k++) {
        ag_module *m = L[k].make();
        ck_assert_ptr_nonnull(m);
        ck_assert_str_eq(m->ops->type, L[k].type);
        ck_assert_int_eq(ag_module_parameters(m, NULL, 0), 0);
        ag_tensor *y = ag_module_forward(m, t, x);
        for (int i = 0; i < NX; i++)
            assert_close(L[k].type, i, ag_tensor_get(y, i), CASES[L[k].c].y[i], 2e-15, 1e-300);
        tu_assert_error(t, ag_module_forward(m, t, NULL), AG_ERR_ARG, L[k].type, "x is NULL");
        ag_tape_clear_error(t);
        ag_module_free(m);
    }
    ag_tape_free(t);
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_layer_errors)
{
    ck_assert_ptr_null(ag_gelu_new("exact"));
    ck_assert_msg(strstr(ag_last_error(), "ag_gelu_new: approximate 'exact' is not 'none' "
                                          "or 'tanh'"), "%s", ag_last_error());
    ck_assert_ptr_null(ag_hardtanh_new(1, 1));
    ck_assert_msg(strstr(ag_last_error(), "ag_hardtanh_new: min_val 1 must be below "
                                          "max_val 1"), "%s", ag_last_error());
    ck_assert_ptr_null(ag_hardtanh_new(NAN, 1));
    ag_module *inf = ag_hardtanh_new(-INFINITY, 0);             /* a one-sided clamp */
    ck_assert_ptr_nonnull(inf);
    ag_module_free(inf);
}
END_TEST

Suite *suite_activation_seq(void)
{
    Suite *s = suite_create("activation_seq");
    TU_ADD(s, test_values_and_derivatives_match_pytorch);
    TU_ADD(s, test_f32_matches_pytorch_f32);
    TU_ADD(s, test_tails);
    TU_ADD(s, test_gradchecks);
    TU_ADD(s, test_erf_expm1_log1p_values);
    TU_ADD(s, test_errors);
    TU_ADD(s, test_layers_match_the_ops);
    TU_ADD(s, test_layer_errors);
    return s;
}
