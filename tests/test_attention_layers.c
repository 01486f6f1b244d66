/*
** test_attention_layers.c: MultiheadAttention and TransformerEncoderLayer
** against PyTorch 1.13 (torch.nn.MultiheadAttention and
** TransformerEncoderLayer in f64, eval mode, dropout 0, every parameter
** set by the formula 0.5 sin(0.37 i + 0.01 * (sum of the name's bytes))
** here and in python, inputs sin(a i + b)): self- and cross-attention,
** both layouts, boolean key padding and attention masks, an additive
** per-head mask, unbatched input, post- and pre-norm layers with relu and
** gelu, causal; state_dict names as torch's, save/load, gradcheck and
** gradgradcheck in f64, dropout in training only, errors.
*/
#include "st_test_util.h"
#include "test_util.h"

#include <stdlib.h>

/* Numbers printed by PyTorch 1.13 (outputs, row-major). */
static const double mha_self[] = {0.72427266641066068, 0.90075819900307597, 0.23334061109994847, -0.017241349123219452, 0.78330428122822238, 0.5542189968128205, 0.11146645147607592, 0.30719679700039676, 0.67706699135379056, 0.89537138469845345, 0.27956942374944332, -0.0034712517386249475, 0.84308886648380166, 0.57636506933075704, 0.055697906961907795, 0.27493747543224067, 0.61799106835825146, 0.88715728399680682, 0.33715577503671929, 0.015185744999401118, 0.90089498987031891, 0.59732709964528075, 0.0016931062567661637, 0.24418203910010391};
static const double mha_cross[] = {1.0510714948119277, 0.86438641800214799, -0.10005399423734773, -0.041328429029432068, 0.83084686137192465, 0.69385211504256872, 0.089245394650189214, 0.1635340401312152, 0.9374721146032412, 0.87676155217220075, 0.015789533007664003, -0.032696121601523354, 1.0053782009010266, 0.77105536810801745, -0.071285656140166687, 0.057219564761518016};
static const double mha_additive[] = {0.83646586037916193, 0.71865224788994564, 0.088123732307356595, 0.13853050139038814, 0.79756310443163603, 0.71989207770796104, 0.12725132302220016, 0.1443861959953518, 0.67782518562866678, 0.64565190395618033, 0.23352628751599647, 0.23789861708821139, 0.61761113273416546, 0.58418113056362075, 0.28259303064933661, 0.30826731309491678};
static const double mha_unbatched[] = {0.72427266641066068, 0.90075819900307597, 0.23334061109994847, -0.017241349123219452, 0.67706699135379056, 0.89537138469845345, 0.27956942374944332, -0.0034712517386249475, 0.61799106835825146, 0.88715728399680682, 0.33715577503671929, 0.015185744999401118};
static const double enc_post[] = {-0.34592244964741725, 0.024570537133736716, -0.36595799777672444, -0.42200769408025018, 0.088027067268292597, -0.023428037878332003, -0.36346495209135665, -0.22306356973729477, -0.42554612577705658, 0.011695821725097335, -0.37672375731412888, -0.4081069465588319, 0.0095059294898452978, 0.0015123857570593308, -0.36016522045149002, -0.26634810347753546, -0.33909573970792173, 0.013898062265695467, -0.3818084719217551, -0.31012786106791124, -0.049495008649996189, 0.014120357007668675, -0.35933038700396508, -0.29436269541050925};
static const double enc_pre[] = {-0.58121137985344429, -0.21375539138570954, -0.18958633966409244, 0.10866597948682066, -0.38903693302442144, -1.6738686088117165, -2.1159778653718071, -0.74853092620371864, 0.43454954368111703, 0.12735231523227986, -0.53137181243114384, -0.56996749480661524, -1.1888116312984569, -1.6209275498206952, -1.4288388758529209, -0.035816781313979029, 0.81379500012530714, -0.25833533841532264, -1.3576752432433403, -1.2360089377869499, -1.2923507219897499, -1.0168053461438251, -0.49151125673638985, 0.39473710758795755};

/* ------------------------------------------------------------ helpers --- */

static ag_tensor *sin_tensor(ag_dtype dt, int ndim, const int64_t *shape, double a, double b)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    double *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) v[i] = sin(a * (double)i + b);
    ag_tensor *x = tu_tensor(dt, ndim, shape, v);
    free(v);
    return x;
}

/* Every parameter of m set by the formula the python used. */
static void fill_params(ag_module *m)
{
    ag_named_tensor nt[32];
    int n = ag_module_named_tensors(m, nt, 32, 0);
    ck_assert_int_le(n, 32);
    for (int k = 0; k < n; k++) {
        double c = 0;
        for (const char *p = nt[k].name; *p; p++) c += (unsigned char)*p;
        for (int64_t i = 0; i < ag_tensor_numel(nt[k].tensor); i++)
            ag_tensor_set(nt[k].tensor, i, 0.5 * sin(0.37 * (double)i + 0.01 * c));
    }
}

/* Asserts m's parameter names are names[0..n) in order. */
static void assert_names(const ag_module *m, const char *const *names, int n)
{
    ag_named_tensor nt[32];
    ck_assert_int_eq(ag_module_named_tensors(m, nt, 32, 1), n);
    for (int k = 0; k < n; k++) ck_assert_str_eq(nt[k].name, names[k]);
}

/* A 0/1 mask from ints. */
static ag_tensor *mask01(ag_tape *t, int ndim, const int64_t *shape, const double *v)
{
    return ag_from_f64(t, AG_F64, ndim, shape, v);
}

/* ---------------------------------------------------------- vs torch --- */

START_TEST(test_mha_matches_torch)
{
    ag_rng *r = ag_rng_new(1);
    ag_module *m = ag_multihead_attention_new(4, 2, 0, 1, 0, AG_F64, r);
    ag_module *mb = ag_multihead_attention_new(4, 2, 0, 1, 1, AG_F64, r);
    ck_assert_ptr_nonnull(m);
    ck_assert_ptr_nonnull(mb);
    static const char *const names[] = {"in_proj_weight", "in_proj_bias", "out_proj.weight",
                                        "out_proj.bias"};
    assert_names(m, names, 4);
    fill_params(m), fill_params(mb);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = sin_tensor(AG_F64, 3, SHAPE(3, 2, 4), 0.7, 0.1);
    ag_tensor *y = ag_module_forward(m, t, x);                  /* self-attention [L,N,E] */
    tu_assert_shape(y, 3, SHAPE(3, 2, 4));
    tu_assert_values(y, mha_self, 24, 1e-13);
    ag_tensor *q = sin_tensor(AG_F64, 3, SHAPE(2, 2, 4), 0.5, 0.3);
    ag_tensor *k = sin_tensor(AG_F64, 3, SHAPE(2, 3, 4), 1.1, -0.2);
    ag_tensor *v = sin_tensor(AG_F64, 3, SHAPE(2, 3, 4), 0.6, 0.7);
    ag_mha_masks mk = {.key_padding_mask = mask01(t, 2, SHAPE(2, 3), VALS(0, 0, 1, 0, 1, 0)),
                       .attn_mask = mask01(t, 2, SHAPE(2, 3), VALS(0, 1, 0, 0, 0, 0))};
    y = ag_multihead_attention(mb, t, q, k, v, &mk);            /* cross, batch_first */
    tu_assert_shape(y, 3, SHAPE(2, 2, 4));
    tu_assert_values(y, mha_cross, 16, 1e-13);
    ag_tensor *am = sin_tensor(AG_F64, 3, SHAPE(4, 2, 3), 2.1, 0.4);
    mk = (ag_mha_masks){.attn_mask = am, .attn_mask_additive = 1};
    tu_assert_values(ag_multihead_attention(mb, t, q, k, v, &mk), mha_additive, 16, 1e-13);
    ag_tensor *x0 = ag_reshape(t, ag_slice(t, ag_reshape(t, x, 2, SHAPE(3, 8)), 1, 0, 4, 1), 2,
                               SHAPE(3, 4));                     /* x[:, 0], unbatched */
    y = ag_module_forward(m, t, x0);
    tu_assert_shape(y, 2, SHAPE(3, 4));
    tu_assert_values(y, mha_unbatched, 12, 1e-13);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(q), ag_tensor_free(k), ag_tensor_free(v), ag_tensor_free(am);
    ag_module_free(m), ag_module_free(mb);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_encoder_layer_matches_torch)
{
    ag_rng *r = ag_rng_new(2);
    ag_module *post = ag_transformer_encoder_layer_new(4, 2, 6, 0, AG_FF_RELU, 1e-5, 0, 0,
                                                       AG_F64, r);
    ag_module *pre = ag_transformer_encoder_layer_new(4, 2, 6, 0, AG_FF_GELU, 1e-5, 1, 1,
                                                      AG_F64, r);
    ck_assert_ptr_nonnull(post);
    ck_assert_ptr_nonnull(pre);
    static const char *const names[] = {
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight",
        "self_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight",
        "linear2.bias", "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias"};
    assert_names(post, names, 12);
    fill_params(post), fill_params(pre);
    ag_module_train(post, 0), ag_module_train(pre, 0);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = sin_tensor(AG_F64, 3, SHAPE(3, 2, 4), 0.7, 0.1);
    ag_tensor *y = ag_module_forward(post, t, x);
    tu_assert_shape(y, 3, SHAPE(3, 2, 4));
    tu_assert_values(y, enc_post, 24, 1e-12);
    ag_tensor *src = sin_tensor(AG_F64, 3, SHAPE(2, 3, 4), 0.9, -0.3);
    ag_mha_masks mk = {.is_causal = 1,
                       .key_padding_mask = mask01(t, 2, SHAPE(2, 3), VALS(0, 0, 1, 0, 0, 0))};
    y = ag_transformer_encoder_layer(pre, t, src, &mk);
    tu_assert_shape(y, 3, SHAPE(2, 3, 4));
    tu_assert_values(y, enc_pre, 24, 1e-12);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(src);
    ag_module_free(post), ag_module_free(pre);
    ag_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------- init --- */

/* PyTorch's init: in_proj_weight xavier_uniform (|w| <= sqrt(6 / 4E)),
   in_proj_bias and out_proj.bias zeros, out_proj.weight Linear's. */
START_TEST(test_mha_init)
{
    ag_rng *r = ag_rng_new(3);
    ag_module *m = ag_multihead_attention_new(8, 2, 0, 1, 0, AG_F32, r);
    ag_tensor *w = ag_module_get(m, "in_proj_weight");
    tu_assert_shape(w, 2, SHAPE(24, 8));
    double bound = sqrt(6.0 / 32), mx = 0;
    for (int64_t i = 0; i < ag_tensor_numel(w); i++) mx = fmax(mx, fabs(ag_tensor_get(w, i)));
    ck_assert(mx <= bound && mx > 0.8 * bound);
    ag_tensor *b = ag_module_get(m, "in_proj_bias"), *ob = ag_module_get(m, "out_proj.bias");
    for (int64_t i = 0; i < 24; i++) ck_assert(ag_tensor_get(b, i) == 0);
    for (int64_t i = 0; i < 8; i++) ck_assert(ag_tensor_get(ob, i) == 0);
    ag_module *nb = ag_multihead_attention_new(8, 2, 0, 0, 0, AG_F32, r);  /* no bias */
    static const char *const names[] = {"in_proj_weight", "out_proj.weight"};
    assert_names(nb, names, 2);
    ag_module_free(m), ag_module_free(nb);
    ag_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------ gradients --- */

typedef struct layer_ctx {
    ag_module *m;
    int encoder;
} layer_ctx;

/* in[0] is x; the others are the layer's own parameters (perturbed in
   place by gradcheck). With masks: key padding and causal. */
static ag_tensor *apply_layer(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const layer_ctx *c = ctx;
    ag_mha_masks mk = {.is_causal = 1,
                       .key_padding_mask = mask01(t, 2, SHAPE(2, 3), VALS(0, 0, 1, 0, 0, 0))};
    if (c->encoder) return ag_transformer_encoder_layer(c->m, t, in[0], &mk);
    return ag_multihead_attention(c->m, t, in[0], in[0], in[0], &mk);
}

START_TEST(test_attention_layers_gradchecks)
{
    ag_rng *r = ag_rng_new(4);
    layer_ctx c = {ag_multihead_attention_new(4, 2, 0, 1, 1, AG_F64, r), 0};
    ag_tensor *x = sin_tensor(AG_F64, 3, SHAPE(2, 3, 4), 0.9, -0.3);
    ag_tensor *in[3] = {x, ag_module_get(c.m, "in_proj_weight"),
                        ag_module_get(c.m, "out_proj.bias")};
    tu_assert_gradchecks(apply_layer, &c, 3, in);
    ag_module_free(c.m);
    c = (layer_ctx){ag_transformer_encoder_layer_new(4, 2, 3, 0, AG_FF_GELU, 1e-5, 1, 0,
                                                     AG_F64, r), 1};
    ag_module_train(c.m, 0);
    in[1] = ag_module_get(c.m, "linear1.weight");
    in[2] = ag_module_get(c.m, "norm1.weight");
    tu_assert_gradchecks(apply_layer, &c, 3, in);
    ag_module_free(c.m);
    ag_tensor_free(x);
    ag_rng_free(r);
}
END_TEST

/* --------------------------------------------------------- save/load --- */

/* Saved under PyTorch's names and loaded into a layer of other values:
   the same output. */
START_TEST(test_encoder_layer_save_load)
{
    tu_dir d;
    tu_dir_make(&d);
    ag_rng *r = ag_rng_new(5);
    ag_module *a = ag_transformer_encoder_layer_new(4, 2, 6, 0.1, AG_FF_RELU, 1e-5, 0, 1,
                                                    AG_F32, r);
    ag_module *b = ag_transformer_encoder_layer_new(4, 2, 6, 0.1, AG_FF_RELU, 1e-5, 0, 1,
                                                    AG_F32, r);
    ag_module_train(a, 0), ag_module_train(b, 0);
    const char *path = tu_path(&d, "enc.safetensors");
    ck_assert_int_eq(ag_module_save(a, path), AG_OK);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = sin_tensor(AG_F32, 3, SHAPE(3, 2, 4), 0.7, 0.1);
    ag_tensor *ya = ag_module_forward(a, t, x), *yb = ag_module_forward(b, t, x);
    ck_assert(ag_tensor_get(ya, 0) != ag_tensor_get(yb, 0));
    ck_assert_int_eq(ag_module_load(b, path), AG_OK);
    yb = ag_module_forward(b, t, x);
    for (int64_t i = 0; i < 24; i++) ck_assert(ag_tensor_get(ya, i) == ag_tensor_get(yb, i));
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_module_free(a), ag_module_free(b);
    ag_rng_free(r);
    tu_dir_remove(&d);
}
END_TEST

/* ------------------------------------------------------------ dropout --- */

/* Dropout acts in training only: eval is deterministic, training draws. */
START_TEST(test_mha_dropout_training_only)
{
    ag_rng *r = ag_rng_new(6);
    ag_module *m = ag_multihead_attention_new(4, 2, 0.5, 1, 0, AG_F64, r);
    ag_tape *t = ag_tape_new();
    ag_tensor *x = sin_tensor(AG_F64, 3, SHAPE(5, 2, 4), 0.7, 0.1);
    ag_module_train(m, 0);
    ag_tensor *e1 = ag_module_forward(m, t, x), *e2 = ag_module_forward(m, t, x);
    ag_module_train(m, 1);
    ag_tensor *d1 = ag_module_forward(m, t, x);
    int same = 1, differ = 0;
    for (int64_t i = 0; i < 40; i++) {
        same &= ag_tensor_get(e1, i) == ag_tensor_get(e2, i);
        differ |= ag_tensor_get(e1, i) != ag_tensor_get(d1, i);
    }
    ck_assert(same && differ);
    ag_tape_free(t);
    ag_tensor_free(x);
    ag_module_free(m);
    ag_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------- errors --- */

START_TEST(test_attention_layers_errors)
{
    ag_rng *r = ag_rng_new(7);
    ck_assert_ptr_null(ag_multihead_attention_new(6, 4, 0, 1, 0, AG_F32, r));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "embed_dim 6 must be > 0 and divisible by "
                                 "num_heads 4"));
    ck_assert_ptr_null(ag_multihead_attention_new(8, 2, 1.5, 1, 0, AG_F32, r));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "dropout is 1.5"));
    ck_assert_ptr_null(ag_transformer_encoder_layer_new(8, 2, 0, 0, AG_FF_RELU, 1e-5, 0, 0,
                                                        AG_F32, r));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "dim_feedforward 0"));
    /* a NULL generator: zero weights, to be loaded */
    ag_module *z = ag_transformer_encoder_layer_new(8, 2, 16, 0.1, AG_FF_RELU, 1e-5, 0, 0,
                                                    AG_F32, NULL);
    ck_assert_ptr_nonnull(z);
    ck_assert(ag_tensor_get(ag_module_get(z, "self_attn.in_proj_weight"), 9) == 0);
    ck_assert(ag_tensor_get(ag_module_get(z, "linear1.weight"), 3) == 0);
    ag_module_free(z);
    ag_module *m = ag_multihead_attention_new(4, 2, 0, 1, 0, AG_F32, r);
    ag_tape *t = ag_tape_new();
    ag_tensor *q = ag_zeros(t, AG_F32, 3, SHAPE(3, 2, 4));
    tu_assert_error(t, ag_multihead_attention(m, t, q, ag_zeros(t, AG_F32, 3, SHAPE(5, 3, 4)),
                                              ag_zeros(t, AG_F32, 3, SHAPE(5, 3, 4)), NULL),
                    AG_ERR_SHAPE, "MultiheadAttention(embed_dim=4, num_heads=2): query, key",
                    "query is [3,2,4], key is [5,3,4], value is [5,3,4]");
    ag_tape_reset(t);
    q = ag_zeros(t, AG_F32, 3, SHAPE(3, 2, 4));
    ag_mha_masks mk = {.attn_mask = ag_zeros(t, AG_F32, 2, SHAPE(3, 4))};
    tu_assert_error(t, ag_multihead_attention(m, t, q, q, q, &mk), AG_ERR_SHAPE,
                    "attn_mask is [3,4]", "expected [L, S] = [3,3] or [N*num_heads, L, S] = "
                    "[4,3,3]");
    ag_tape_reset(t);
    q = ag_zeros(t, AG_F32, 3, SHAPE(3, 2, 4));
    mk = (ag_mha_masks){.key_padding_mask = ag_zeros(t, AG_F32, 2, SHAPE(3, 2))};
    tu_assert_error(t, ag_multihead_attention(m, t, q, q, q, &mk), AG_ERR_SHAPE,
                    "key_padding_mask is [3,2]", "expected [N, S] = [2,3]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_multihead_attention(m, t, ag_zeros(t, AG_F64, 3, SHAPE(3, 2, 4)), NULL,
                                              NULL, NULL), AG_ERR_DTYPE, "query is f64",
                    "the layer is f32");
    ag_tape_reset(t);
    ag_module *lin = ag_linear_new(4, 4, 1, AG_F32, r);
    q = ag_zeros(t, AG_F32, 3, SHAPE(3, 2, 4));
    tu_assert_error(t, ag_multihead_attention(lin, t, q, q, q, NULL), AG_ERR_ARG,
                    "ag_multihead_attention", "not a MultiheadAttention");
    ag_tape_reset(t);
    q = ag_zeros(t, AG_F32, 3, SHAPE(3, 2, 4));
    tu_assert_error(t, ag_transformer_encoder_layer(m, t, q, NULL), AG_ERR_ARG,
                    "ag_transformer_encoder_layer", "not a TransformerEncoderLayer");
    ag_tape_free(t);
    ag_module_free(m), ag_module_free(lin);
    ag_rng_free(r);
}
END_TEST

Suite *suite_attention_layers(void)
{
    Suite *s = suite_create("attention_layers");
    TU_ADD(s, test_mha_matches_torch);
    TU_ADD(s, test_encoder_layer_matches_torch);
    TU_ADD(s, test_mha_init);
    TU_ADD(s, test_attention_layers_gradchecks);
    TU_ADD(s, test_encoder_layer_save_load);
    TU_ADD(s, test_mha_dropout_training_only);
    TU_ADD(s, test_attention_layers_errors);
    return s;
}
