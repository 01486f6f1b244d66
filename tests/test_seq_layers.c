/*
** test_seq_layers.c: what sequence models need of nn/ beyond ag_rnn.h:
** LayerNorm over several trailing axes (ag_layernorm_new_shape) and
** Embedding's padding_idx, max_norm and scale_grad_by_freq
** (ag_embedding_new_full). Values against numbers PyTorch 1.13 computed
** once (f64) from formulas both sides evaluate, by this script (run with
** /usr/bin/python3):
**
**     import torch, math
**     torch.set_default_dtype(torch.float64)
**     def fill(shape, a, b, scale=1.0):
**         n = math.prod(shape)
**         return torch.tensor([scale*math.sin(a*i+b) for i in range(n)]).reshape(shape)
**     def show(name, t):
**         v = t.flatten().tolist()
**         print("// %s %s" % (name, list(t.shape)))
**         print("static const double %s[%d] = {" % (name, len(v)))
**         for i in range(0, len(v), 5):
**             print("    " + ", ".join("%.15g" % x for x in v[i:i+5]) + ",")
**         print("};")
**     nn = torch.nn
**     ln = nn.LayerNorm((3, 4), eps=1e-3)
**     with torch.no_grad():
**         ln.weight.copy_(fill((3, 4), 1.3, 0.2, 0.4) + 1); ln.bias.copy_(fill((3, 4), 0.9, 0.5, 0.3))
**     x = fill((2, 3, 4), 0.37, 0.1).requires_grad_()
**     y = ln(x)
**     show("pt_ln_y", y)
**     dx, dw = torch.autograd.grad((y * fill(y.shape, 0.13, 0.0)).sum(), (x, ln.weight))
**     show("pt_ln_dx", dx); show("pt_ln_dw", dw)
**     show("pt_ln_plain_y", nn.LayerNorm((2, 3), elementwise_affine=False)(fill((2, 2, 3), 0.7, 0.4, 2.0)))
**     emb = nn.Embedding(5, 3, padding_idx=1, max_norm=1.0, scale_grad_by_freq=True)
**     with torch.no_grad():
**         emb.weight.copy_(fill((5, 3), 1.3, 0.2, 1.5))
**     idx = torch.tensor([[0, 1, 2, 0], [4, 1, 0, 3]])
**     y = emb(idx)
**     (y * fill(y.shape, 0.13, 0.0)).sum().backward()
**     show("pt_emb_y", y); show("pt_emb_weight", emb.weight.detach()); show("pt_emb_grad", emb.weight.grad)
**     emb = nn.Embedding(4, 3, max_norm=0.8, norm_type=1.0)
**     with torch.no_grad():
**         emb.weight.copy_(fill((4, 3), 1.3, 0.2, 1.5))
**     emb(torch.tensor([3, 0, 3]))
**     show("pt_emb_l1_weight", emb.weight.detach())
*/
#include "test_util.h"

// pt_ln_y [2, 3, 4]
static const double pt_ln_y[24] = {
    -0.224922466705959, 0.640357256665805, 1.05416826031141, 0.689076346979966, 0.55426493912174,
    0.919936045477343, 0.881126818222824, 0.378080709750305, 0.0616746496984069, -0.518566488110195,
    -1.91109349612784, -2.90605291580453, -1.39597866547878, -1.69146349362362, -1.18296455355881,
    -0.630374478403626, -0.574876053249617, -0.283425924265748, 0.537109094567944, 1.03565235247384,
    0.985807460321345, 1.10382996369483, 1.31013821039613, 0.874232542115898,
};
// pt_ln_dx [2, 3, 4]
static const double pt_ln_dx[24] = {
    -1.15626362765461, -0.62579231267847, -0.253541746686903, -0.18957628866051, -0.00214529496609561,
    0.551332165604611, 0.887740085419862, 0.441867889839326, -0.261953897698217, -0.250529222442996,
    0.368157709875027, 0.490704540048973, -0.0597457854145316, 0.348173945908951, 0.0361631270804548,
    -0.460319134150196, -0.324562752441273, 0.288331733834571, 0.554768194289365, 0.240522842793293,
    -0.0956248974832227, -0.0965316421464579, -0.0771621814698692, -0.354013450801086,
};
// pt_ln_dw [3, 4]
static const double pt_ln_dw[12] = {
    -1.42636647803733, -1.37835042771611, -1.01387407969007, -0.446993278901455, 0.15888845220654,
    0.631911464027104, 0.834708952477767, 0.698856016803492, 0.2423447113574, -0.434228840651938,
    -1.17186091312918, -1.79181740112232,
};
// pt_ln_plain_y [2, 2, 3]
static const double pt_ln_plain_y[12] = {
    0.0664912094715299, 0.937989250410203, 1.08151736994137, 0.429572050760787, -0.711226636594298,
    -1.80434324398959, -1.3071330420488, -1.10061313820889, -0.393312857377745, 0.482113426497992,
    1.11393905319855, 1.2050065579389,
};
// pt_emb_y [2, 4, 3]
static const double pt_emb_y[24] = {
    0.185527866530367, 0.93151326376737, 0.312829547281709, -0.684123187479926, -0.646072213495508,
    0.33847606684604, 0.728211175164931, 0.0916039284110323, -0.679203288070208, 0.185527866530367,
    0.93151326376737, 0.312829547281709, -0.0851252773965336, -0.911453350063406, -0.402500129579302,
    -0.684123187479926, -0.646072213495508, 0.33847606684604, 0.185527866530367, 0.93151326376737,
    0.312829547281709, -0.487664349273281, 0.467102103329016, 0.737562880250467,
};
// pt_emb_weight [5, 3]
static const double pt_emb_weight[15] = {
    0.185527866530367, 0.93151326376737, 0.312829547281709, -0.684123187479926, -0.646072213495508,
    0.33847606684604, 0.728211175164931, 0.0916039284110323, -0.679203288070208, -0.487664349273281,
    0.467102103329016, 0.737562880250467, -0.0851252773965336, -0.911453350063406, -0.402500129579302,
};
// pt_emb_grad [5, 3]
static const double pt_emb_grad[15] = {
    0.546405130268421, 0.571808627785397, 0.587562161350266, 0, 0,
    0, 0.70327941920041, 0.78950373968995, 0.862404227243338, 0.40006947759242,
    0.277885925816586, 0.151012712086344, 0.999941720229966, 0.992903651094118, 0.969109128880456,
};
// pt_emb_l1_weight [4, 3]
static const double pt_emb_l1_weight[12] = {
    0.103801196212524, 0.521173411170873, 0.175025357784454, -1.22741566659662, -1.15914673133398,
    0.607274880924897, 1.48403736993507, 0.186681635260595, -1.38416313241921, -0.230529282758622,
    0.22080907291244, 0.348661619466139,
};

#define N_OF(a) ((int64_t)(sizeof(a) / sizeof(a)[0]))

/* x[i] = scale sin(a i + b), in place. */
static void fill(ag_tensor *x, double a, double b, double scale)
{
    for (int64_t i = 0; i < ag_tensor_numel(x); i++)
        ck_assert_int_eq(ag_tensor_set(x, i, scale * sin(a * (double)i + b)), AG_OK);
}

static ag_tensor *formula(int nd, const int64_t *shape, double a, double b, double scale)
{
    ag_tensor *x = ag_zeros(NULL, AG_F64, nd, shape);
    ck_assert_ptr_nonnull(x);
    fill(x, a, b, scale);
    return x;
}

/* ---------------------------------------------------------- LayerNorm --- */

START_TEST(test_layernorm_shape_matches_torch)
{
    ag_module *ln = ag_layernorm_new_shape(2, SHAPE(3, 4), 1e-3, 1, AG_F64);
    ck_assert_ptr_nonnull(ln);
    ag_tensor *w = ag_module_get(ln, "weight"), *b = ag_module_get(ln, "bias");
    tu_assert_shape(w, 2, SHAPE(3, 4));
    fill(w, 1.3, 0.2, 0.4);
    for (int64_t i = 0; i < 12; i++) ag_tensor_set(w, i, ag_tensor_get(w, i) + 1);
    fill(b, 0.9, 0.5, 0.3);
    ag_tensor *x = formula(3, SHAPE(2, 3, 4), 0.37, 0.1, 1);
    ag_tensor *g = formula(3, SHAPE(2, 3, 4), 0.13, 0, 1);
    ck_assert_int_eq(ag_set_requires_grad(x, 1), AG_OK);
    ag_tape *t = ag_tape_new();
    ag_tensor *y = ag_module_forward(ln, t, x);
    tu_assert_shape(y, 3, SHAPE(2, 3, 4));
    tu_assert_values(y, pt_ln_y, N_OF(pt_ln_y), 1e-12);
    ck_assert_int_eq(ag_backward(t, ag_sum(t, ag_mul(t, y, g), AG_ALL, 0)), AG_OK);
    tu_assert_values(ag_tensor_grad(x), pt_ln_dx, N_OF(pt_ln_dx), 1e-12);
    tu_assert_values(ag_tensor_grad(w), pt_ln_dw, N_OF(pt_ln_dw), 1e-12);
    ag_module *plain = ag_layernorm_new_shape(2, SHAPE(2, 3), 1e-5, 0, AG_F64);
    ag_tensor *x2 = formula(3, SHAPE(2, 2, 3), 0.7, 0.4, 2);
    ck_assert_int_eq(ag_module_named_tensors(plain, NULL, 0, 1), 0);
    tu_assert_values(ag_module_forward(plain, t, x2), pt_ln_plain_y, N_OF(pt_ln_plain_y), 1e-12);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(g), ag_tensor_free(x2);
    ag_module_free(ln), ag_module_free(plain);
}
END_TEST

static ag_module *ln_for_grads;

static ag_tensor *ln_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_module_forward(ln_for_grads, t, in[0]);
}

START_TEST(test_layernorm_shape_gradchecks)
{
    ln_for_grads = ag_layernorm_new_shape(2, SHAPE(2, 3), 1e-5, 1, AG_F64);
    ag_tensor *w = ag_module_get(ln_for_grads, "weight");
    fill(w, 1.1, 0.3, 0.5);
    fill(ag_module_get(ln_for_grads, "bias"), 0.7, 0.1, 0.5);
    ag_tensor *in[3] = {formula(3, SHAPE(2, 2, 3), 0.9, 0.2, 1), w,
                        ag_module_get(ln_for_grads, "bias")};
    tu_assert_gradchecks(ln_fn, NULL, 3, in);
    ag_tensor_free(in[0]);
    ag_module_free(ln_for_grads);
}
END_TEST

START_TEST(test_layernorm_shape_errors)
{
    ag_module *ln = ag_layernorm_new_shape(2, SHAPE(3, 4), 1e-5, 1, AG_F64);
    ag_tensor *x = ag_zeros(NULL, AG_F64, 3, SHAPE(2, 4, 3)), *v = ag_zeros(NULL, AG_F64, 1,
                                                                            SHAPE(12));
    ag_tape *t = ag_tape_new();
    tu_assert_error(t, ag_module_forward(ln, t, x), AG_ERR_SHAPE, "LayerNorm((3, 4)): x's last "
                    "2 dims must be [3,4]", "(x is [2,4,3])");
    ag_tape_reset(t);
    tu_assert_error(t, ag_module_forward(ln, t, v), AG_ERR_SHAPE, "LayerNorm((3, 4))",
                    "x is [12], expected at least 2 dimensions");
    ag_tape_free(t);
    ck_assert_ptr_null(ag_layernorm_new_shape(2, SHAPE(3, 0), 1e-5, 1, AG_F64));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "normalized_shape[1] is 0"));
    ck_assert_ptr_null(ag_layernorm_new_shape(0, SHAPE(3), 1e-5, 1, AG_F64));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_layernorm_new_shape: ndim is 0"));
    ag_tensor_free(x), ag_tensor_free(v);
    ag_module_free(ln);
}
END_TEST

/* ---------------------------------------------------------- Embedding --- */

/* padding_idx 1, max_norm 1, scale_grad_by_freq: the output, the table
   after the renorm and its gradient, as PyTorch's; the int64 path too. */
START_TEST(test_embedding_options_match_torch)
{
    ag_rng *r = ag_rng_new(5);
    ag_module *e = ag_embedding_new_full(5, 3, 1, 1.0, 2.0, 1, AG_F64, r);
    ck_assert_ptr_nonnull(e);
    ag_tensor *w = ag_module_get(e, "weight");
    fill(w, 1.3, 0.2, 1.5);                             /* the padding row too */
    ag_tensor *idx = tu_tensor(AG_F64, 2, SHAPE(2, 4), VALS(0, 1, 2, 0, 4, 1, 0, 3));
    ag_tensor *g = formula(3, SHAPE(2, 4, 3), 0.13, 0, 1);
    ag_tape *t = ag_tape_new();
    ag_tensor *y = ag_module_forward(e, t, idx);
    tu_assert_shape(y, 3, SHAPE(2, 4, 3));
    tu_assert_values(y, pt_emb_y, N_OF(pt_emb_y), 1e-12);
    tu_assert_values(w, pt_emb_weight, N_OF(pt_emb_weight), 1e-12);
    ck_assert_int_eq(ag_backward(t, ag_sum(t, ag_mul(t, y, g), AG_ALL, 0)), AG_OK);
    tu_assert_values(ag_tensor_grad(w), pt_emb_grad, N_OF(pt_emb_grad), 1e-12);
    ag_tape_reset(t);                                   /* the int64 path */
    ag_zero_grad(w);
    y = ag_embedding_lookup(e, t, (const int64_t[]){0, 1, 2, 0, 4, 1, 0, 3}, 8);
    ck_assert_int_eq(ag_backward(t, ag_sum(t, ag_mul(t, ag_reshape(t, y, 3, SHAPE(2, 4, 3)), g),
                                           AG_ALL, 0)), AG_OK);
    tu_assert_values(ag_tensor_grad(w), pt_emb_grad, N_OF(pt_emb_grad), 1e-12);
    ag_tape_free(t);
    ag_tensor_free(idx), ag_tensor_free(g);
    ag_module_free(e);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_embedding_l1_max_norm_and_padding_init)
{
    ag_rng *r = ag_rng_new(5);
    ag_module *e = ag_embedding_new_full(4, 3, AG_EMBEDDING_NO_PADDING, 0.8, 1.0, 0, AG_F64, r);
    ag_tensor *w = ag_module_get(e, "weight");
    fill(w, 1.3, 0.2, 1.5);
    ag_tape *t = ag_tape_new();
    ag_tensor *idx = tu_tensor(AG_F64, 1, SHAPE(3), VALS(3, 0, 3));
    ck_assert_ptr_nonnull(ag_module_forward(e, t, idx));
    tu_assert_values(w, pt_emb_l1_weight, N_OF(pt_emb_l1_weight), 1e-12);
    ag_module *p = ag_embedding_new_full(4, 3, -2, 0, 2, 0, AG_F32, r);   /* row 2 */
    ag_tensor *pw = ag_module_get(p, "weight");
    for (int64_t i = 0; i < 12; i++)
        ck_assert(i / 3 == 2 ? ag_tensor_get(pw, i) == 0 : ag_tensor_get(pw, i) != 0);
    ag_tape_free(t);
    ag_tensor_free(idx);
    ag_module_free(e), ag_module_free(p);
    ag_rng_free(r);
}
END_TEST

/* The scaled gradients, first and second order, by hand: L = sum(y^2)
   over idx {2, 0, 2, 1, 2} with padding_idx 0 and scale_grad_by_freq
   (scales s = 1/3 for index 2, 1 for 1, 0 for 0), so dL/dw[r] =
   2 w[r] S_r with S_r the sum of r's scales, S = {0, 1, 1}, and
   d sum(dL/dw) / dw[r] = 2 Q_r with Q_r the sum of their squares (the
   scale applies on each way through the lookup; see ag_layers.h),
   Q = {0, 1, 1/3}. */
START_TEST(test_embedding_scaled_gradients_first_and_second_order)
{
    ag_rng *r = ag_rng_new(5);
    ag_module *e = ag_embedding_new_full(3, 2, 0, 0, 2, 1, AG_F64, r);
    ag_tensor *w = ag_module_get(e, "weight");
    fill(w, 0.9, 0.4, 1);
    ag_tape *t = ag_tape_new();
    ag_tensor *y = ag_embedding_lookup(e, t, (const int64_t[]){2, 0, 2, 1, 2}, 5), *g1, *g2;
    ag_tensor *loss = ag_sum(t, ag_mul(t, y, y), AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &loss, NULL, 1, &w, &g1, 1), AG_OK);
    ag_tensor *s1 = ag_sum(t, g1, AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &s1, NULL, 1, &w, &g2, 0), AG_OK);
    const double S[3] = {0, 1, 1}, Q[3] = {0, 1, 1.0 / 3};
    for (int64_t i = 0; i < 6; i++) {
        ck_assert_double_eq_tol(ag_tensor_get(g1, i), 2 * ag_tensor_get(w, i) * S[i / 2], 1e-14);
        ck_assert_double_eq_tol(ag_tensor_get(g2, i), 2 * Q[i / 2], 1e-14);
    }
    static const int64_t rows[5] = {2, 0, 2, 1, 2};
    for (int64_t i = 0; i < 10; i++)           /* the rows' values, untouched */
        ck_assert_double_eq(ag_tensor_get(y, i), ag_tensor_get(w, 2 * rows[i / 2] + i % 2));
    ag_tape_free(t);
    ag_module_free(e);
    ag_rng_free(r);
}
END_TEST

START_TEST(test_embedding_options_errors)
{
    ag_rng *r = ag_rng_new(5);
    ck_assert_ptr_null(ag_embedding_new_full(4, 3, 4, 0, 2, 0, AG_F64, r));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_embedding_new_full: padding_idx 4"));
    ck_assert_ptr_null(ag_embedding_new_full(4, 3, -5, 0, 2, 0, AG_F64, r));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "padding_idx -5 must be within"));
    ck_assert_ptr_null(ag_embedding_new_full(4, 3, 0, -1, 2, 0, AG_F64, r));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "max_norm -1 must be >= 0"));
    ck_assert_ptr_null(ag_embedding_new_full(4, 3, 0, 1, 0, 0, AG_F64, r));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "norm_type 0 > 0"));
    ag_module *e = ag_embedding_new_full(4, 3, 1, 0, 2, 1, AG_F64, r);
    ag_tape *t = ag_tape_new();
    ag_tensor *idx = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 4));
    tu_assert_error(t, ag_module_forward(e, t, idx), AG_ERR_ARG,
                    "Embedding(4, 3, padding_idx=1, scale_grad_by_freq=True)", "x[1] is 4");
    ag_tape_free(t);
    ag_tensor_free(idx);
    ag_module_free(e);
    ag_rng_free(r);
}
END_TEST

Suite *suite_seq_layers(void)
{
    Suite *s = suite_create("seq_layers");
    TU_ADD(s, test_layernorm_shape_matches_torch);
    TU_ADD(s, test_layernorm_shape_gradchecks);
    TU_ADD(s, test_layernorm_shape_errors);
    TU_ADD(s, test_embedding_options_match_torch);
    TU_ADD(s, test_embedding_l1_max_norm_and_padding_init);
    TU_ADD(s, test_embedding_scaled_gradients_first_and_second_order);
    TU_ADD(s, test_embedding_options_errors);
    return s;
}
