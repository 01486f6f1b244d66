/*
** test_jvp_ops.c: every op's forward-mode (JVP) rule, one table. Each row
** is a small f64 function built on one op (or one op and the ops that
** make its constant arguments); jt_check compares ag_jvp's tangent with
** J v from reverse mode, then does the same for the function's gradient
** (forward-over-reverse), which runs the JVP rules of the ops inside the
** op's backward rule. Inputs are drawn in [lo, hi) and pushed away from
** kinks where the op has one.
*/
#include "jvp_test_util.h"

#define F(NAME, EXPR)                                                         \
    static ag_tensor *f_##NAME(ag_tape *t, ag_tensor *const *x, void *c)      \
    {                                                                         \
        (void)c;                                                              \
        return (EXPR);                                                        \
    }

/* a tape constant in f64 of the given values */
#define CONST(ND, SH, ...) ag_from_f64(t, AG_F64, (ND), SHAPE SH, VALS(__VA_ARGS__))

/* ------------------------------------------------------------ unary --- */
F(neg, ag_neg(t, x[0]))
F(exp, ag_exp(t, x[0]))
F(expm1, ag_expm1(t, x[0]))
F(log, ag_log(t, x[0]))
F(log1p, ag_log1p(t, x[0]))
F(sqrt, ag_sqrt(t, x[0]))
F(abs, ag_abs(t, x[0]))
F(square, ag_square(t, x[0]))
F(reciprocal, ag_reciprocal(t, x[0]))
F(pow_scalar, ag_pow_scalar(t, x[0], 2.5))
F(sin, ag_sin(t, x[0]))
F(cos, ag_cos(t, x[0]))
F(tanh, ag_tanh(t, x[0]))
F(erf, ag_erf(t, x[0]))
F(sigmoid, ag_sigmoid(t, x[0]))
F(softplus, ag_softplus(t, x[0]))
F(relu, ag_mul(t, ag_relu(t, x[0]), x[0]))
F(leaky_relu, ag_mul(t, ag_leaky_relu(t, x[0], 0.1), x[0]))
F(elu, ag_elu(t, x[0], 0.7))
F(clamp, ag_mul(t, ag_clamp(t, x[0], -0.5, 0.5), x[0]))
F(gelu, ag_gelu(t, x[0]))
F(gelu_tanh, ag_gelu_tanh(t, x[0]))
F(silu, ag_silu(t, x[0]))
F(log_sigmoid, ag_log_sigmoid(t, x[0]))
F(softsign, ag_softsign(t, x[0]))
F(hardtanh, ag_mul(t, ag_hardtanh(t, x[0], -0.5, 0.5), x[0]))
F(cast, ag_cast(t, ag_mul(t, ag_cast(t, x[0], AG_F32), ag_cast(t, x[0], AG_F32)), AG_F64))

/* ----------------------------------------------------------- binary --- */
F(add, ag_add(t, x[0], x[1]))
F(sub, ag_sub(t, x[0], x[1]))
F(mul, ag_mul(t, x[0], x[1]))
F(div, ag_div(t, x[0], x[1]))
F(pow, ag_pow(t, x[0], x[1]))
F(maximum, ag_mul(t, ag_maximum(t, x[0], x[1]), x[1]))
F(minimum, ag_mul(t, ag_minimum(t, x[0], x[1]), x[0]))
F(scalars, ag_rdiv_scalar(t, ag_div_scalar(t, ag_mul_scalar(t, ag_rsub_scalar(t,
               ag_sub_scalar(t, ag_add_scalar(t, ag_square(t, x[0]), 1), 0.5), 4), 3), 2), 1.5))
F(where, ag_where(t, ag_gt(t, x[0], x[1]), ag_square(t, x[0]), ag_mul(t, x[0], x[1])))
F(addcmul, ag_addcmul(t, x[0], x[1], x[2], 0.7))
F(addcdiv, ag_addcdiv(t, x[0], x[1], x[2], -0.3))
F(lerp, ag_mul(t, ag_lerp(t, x[0], x[1], 0.3), x[0]))

/* ----------------------------------------------------------- reduce --- */
F(sum, ag_sum(t, ag_square(t, x[0]), 1, 0))
F(sum_all, ag_sum(t, ag_square(t, x[0]), AG_ALL, 0))
F(mean, ag_mean(t, ag_square(t, x[0]), 0, 1))
F(max, ag_square(t, ag_max(t, x[0], 1, 1)))
F(min, ag_square(t, ag_min(t, x[0], 0, 0)))
F(var, ag_var(t, x[0], 1, 1, 0))
F(logsumexp, ag_logsumexp(t, x[0], 1, 0))
F(softmax, ag_softmax(t, x[0], 1))
F(log_softmax, ag_log_softmax(t, x[0], 0))
F(cumsum, ag_square(t, ag_cumsum(t, x[0], 1)))

/* ------------------------------------------------------------ shape --- */
F(expand, ag_square(t, ag_expand(t, x[0], 3, SHAPE(2, 2, 3))))
F(sum_to, ag_square(t, ag_sum_to(t, x[0], 2, SHAPE(1, 3))))
F(reshape, ag_square(t, ag_reshape(t, x[0], 1, SHAPE(6))))
F(flatten, ag_square(t, ag_flatten(t, ag_unsqueeze(t, x[0], 0), 0, -1)))
F(squeeze, ag_square(t, ag_squeeze(t, ag_unsqueeze(t, x[0], 1), 1)))
F(concat, ag_square(t, ag_concat(t, 2, x, 0)))
F(slice, ag_square(t, ag_slice(t, x[0], 1, 0, 3, 2)))
F(slice_view, ag_square(t, ag_slice(t, x[0], 0, 1, 2, 1)))
F(transpose, ag_square(t, ag_transpose(t, x[0], 0, 1)))
F(permute, ag_square(t, ag_permute(t, x[0], (const int[]){2, 0, 1})))
F(stack, ag_square(t, ag_stack(t, 2, x, 1)))
F(flip, ag_square(t, ag_flip(t, x[0], 1, (const int[]){1})))
F(roll, ag_square(t, ag_roll(t, x[0], 1, (const int64_t[]){1}, (const int[]){1})))
F(tril, ag_square(t, ag_tril(t, x[0], 0)))
F(triu, ag_square(t, ag_triu(t, x[0], 1)))
F(index_select, ag_square(t, ag_index_select(t, x[0], 0, (const int64_t[]){1, 0, 1}, 3)))
F(index_add, ag_square(t, ag_index_add(t, x[0], 0, (const int64_t[]){1, 1}, 2, x[1])))
F(gather, ag_square(t, ag_gather(t, x[0], 1, (const int64_t[]){2, 0, 1, 1}, SHAPE(2, 2))))
F(scatter_add, ag_square(t, ag_scatter_add(t, x[0], 1, (const int64_t[]){2, 0, 0, 0},
                                           SHAPE(2, 2), x[1])))
F(masked_fill, ag_square(t, ag_masked_fill(t, x[0], CONST(2, (2, 3), 1, 0, 0, 1, 0, 1), 2.5)))

/* ----------------------------------------------------------- linalg --- */
F(matmul, ag_matmul(t, x[0], x[1]))
F(matmul_nt, ag_matmul_nt(t, x[0], x[1]))
F(matmul_tn, ag_matmul_tn(t, x[0], x[1]))
F(matmul_batch, ag_matmul(t, ag_reshape(t, x[0], 3, SHAPE(2, 1, 3)), x[1]))
F(linear, ag_linear(t, x[0], x[1], x[2]))
F(linear_nobias, ag_linear(t, x[0], x[1], NULL))

/* -------------------------------------------------------------- conv --- */
static const ag_conv_opts conv_opts = {.stride = {1, 2}, .padding = {1, 0}};
F(conv2d, ag_conv2d(t, x[0], x[1], x[2], &conv_opts))
F(conv1d, ag_conv1d(t, x[0], x[1], NULL, NULL))
F(conv_transpose2d, ag_conv_transpose2d(t, x[0], x[1], x[2], &conv_opts))
F(conv_transpose1d, ag_conv_transpose1d(t, x[0], x[1], NULL, NULL))
F(unfold, ag_square(t, ag_unfold(t, x[0], (const int64_t[]){2, 2}, NULL)))
F(fold, ag_square(t, ag_fold(t, x[0], (const int64_t[]){3, 3}, (const int64_t[]){2, 2}, NULL)))

/* --------------------------------------------------- pool, pad, norm --- */
static const ag_pool2d_opts pool_opts = {.stride = {1, 1}, .padding = {1, 0}};
F(max_pool2d, ag_square(t, ag_max_pool2d(t, x[0], 2, 2, &pool_opts)))
F(max_pool1d, ag_square(t, ag_max_pool1d(t, x[0], 2, NULL)))
F(avg_pool2d, ag_square(t, ag_avg_pool2d(t, x[0], 2, 2, &pool_opts)))
F(avg_pool1d, ag_square(t, ag_avg_pool1d(t, x[0], 2, NULL)))
F(adaptive_avg_pool2d, ag_square(t, ag_adaptive_avg_pool2d(t, x[0], 2, 2)))
F(pad_constant, ag_square(t, ag_pad(t, x[0], 4, (const int64_t[]){1, -1, 0, 2},
                                    AG_PAD_CONSTANT, 0.5)))
F(pad_reflect, ag_square(t, ag_pad(t, x[0], 2, (const int64_t[]){2, 1}, AG_PAD_REFLECT, 0)))
F(pad_replicate, ag_square(t, ag_pad(t, x[0], 4, (const int64_t[]){1, 2, 2, 0},
                                     AG_PAD_REPLICATE, 0)))
F(channel_affine, ag_square(t, ag_channel_affine(t, x[0], x[1], x[2])))
F(batch_norm, ag_square(t, ag_batch_norm(t, x[0], x[1], x[2], 1e-5, NULL)))
F(batch_norm_stats, ag_square(t, ag_batch_norm_stats(t, x[0])))
F(batch_norm_plain, ag_square(t, ag_batch_norm(t, x[0], NULL, NULL, 0.1, NULL)))
F(channel_affine_noshift, ag_square(t, ag_channel_affine(t, x[0], x[1], NULL)))

/* attention: causal, and an additive mask (its tangent too) */
static ag_tensor *f_attention(ag_tape *t, ag_tensor *const *x, void *c)
{
    ag_attention_opts o = {.is_causal = 1};
    (void)c;
    return ag_square(t, ag_scaled_dot_product_attention(t, x[0], x[1], x[2], &o));
}
static ag_tensor *f_attention_mask(ag_tape *t, ag_tensor *const *x, void *c)
{
    ag_attention_opts o = {.mask = x[3], .mask_kind = AG_ATTN_MASK_ADD, .scale = 0.7};
    (void)c;
    return ag_square(t, ag_scaled_dot_product_attention(t, x[0], x[1], x[2], &o));
}

/* 18 inputs to one node (a rule's tangents beyond the 16 kept inline) */
static ag_tensor *f_concat_many(ag_tape *t, ag_tensor *const *x, void *c)
{
    ag_tensor *parts[18];
    (void)c;
    for (int i = 0; i < 18; i++)
        parts[i] = ag_mul_scalar(t, ag_slice(t, x[0], 0, i % 6, i % 6 + 1, 1), i + 1);
    return ag_square(t, ag_concat(t, 18, parts, 0));
}

typedef struct jt_case {
    const char *name;
    ag_fn fn;
    int n_in;
    int ndim[JT_MAX_IN];
    int64_t shape[JT_MAX_IN][4];
    double lo, hi;               /* inputs drawn in [lo, hi) */
    double gap;                  /* then pushed at least gap from 0 (0: not) */
    double tol;                  /* 0: jt_check's 1e-9 */
} jt_case;

#define S1(a) 1, {a}
#define C1(NAME, ND, SH, LO, HI, GAP) {#NAME, f_##NAME, 1, {ND}, {SH}, LO, HI, GAP, 0}
#define C2(NAME, ND0, SH0, ND1, SH1, LO, HI, GAP)                             \
    {#NAME, f_##NAME, 2, {ND0, ND1}, {SH0, SH1}, LO, HI, GAP, 0}
#define C3(NAME, ND0, SH0, ND1, SH1, ND2, SH2, LO, HI, GAP)                   \
    {#NAME, f_##NAME, 3, {ND0, ND1, ND2}, {SH0, SH1, SH2}, LO, HI, GAP, 0}
#define D(...) {__VA_ARGS__}

static const jt_case cases[] = {
    C1(neg, 2, D(2, 3), -2, 2, 0), C1(exp, 2, D(2, 3), -2, 2, 0),
    C1(expm1, 1, D(5), -2, 2, 0), C1(log, 1, D(5), 0.3, 3, 0),
    C1(log1p, 1, D(5), -0.5, 3, 0), C1(sqrt, 1, D(5), 0.3, 3, 0),
    C1(abs, 1, D(6), -2, 2, 0.1), C1(square, 1, D(5), -2, 2, 0),
    C1(reciprocal, 1, D(5), 0.5, 2, 0), C1(pow_scalar, 1, D(5), 0.3, 2, 0),
    C1(sin, 1, D(5), -3, 3, 0), C1(cos, 1, D(5), -3, 3, 0),
    C1(tanh, 1, D(5), -2, 2, 0), C1(erf, 1, D(5), -2, 2, 0),
    C1(sigmoid, 1, D(5), -3, 3, 0), C1(softplus, 1, D(5), -3, 3, 0),
    C1(relu, 1, D(6), -2, 2, 0.1), C1(leaky_relu, 1, D(6), -2, 2, 0.1),
    C1(elu, 1, D(6), -2, 2, 0.1), C1(clamp, 1, D(8), -1, 1, 0.05),
    C1(gelu, 1, D(6), -2, 2, 0), C1(gelu_tanh, 1, D(6), -2, 2, 0),
    C1(silu, 1, D(6), -2, 2, 0), C1(log_sigmoid, 1, D(6), -3, 3, 0),
    C1(softsign, 1, D(6), -2, 2, 0.1), C1(hardtanh, 1, D(8), -1, 1, 0.05),
    /* f32 inside: the two modes round differently */
    {"cast", f_cast, 1, {1}, {{4}}, -1, 1, 0, 1e-6},
    C2(add, 2, D(2, 3), 1, D(3), -1, 1, 0), C2(sub, 1, D(3), 2, D(2, 3), -1, 1, 0),
    C2(mul, 2, D(2, 3), 2, D(1, 3), -1, 1, 0), C2(div, 2, D(2, 3), 1, D(3), 0.5, 2, 0),
    C2(pow, 2, D(2, 3), 1, D(3), 0.5, 2, 0), C2(maximum, 2, D(2, 3), 2, D(2, 3), -1, 1, 0),
    C2(minimum, 2, D(2, 3), 1, D(3), -1, 1, 0), C1(scalars, 1, D(5), -1, 1, 0),
    C2(where, 2, D(2, 3), 2, D(2, 3), -1, 1, 0),
    C3(addcmul, 2, D(2, 3), 1, D(3), 2, D(2, 3), -1, 1, 0),
    C3(addcdiv, 2, D(2, 3), 2, D(2, 3), 1, D(3), 0.5, 2, 0),
    C2(lerp, 2, D(2, 3), 2, D(2, 3), -1, 1, 0),
    C1(sum, 2, D(2, 3), -1, 1, 0), C1(sum_all, 2, D(2, 3), -1, 1, 0),
    C1(mean, 2, D(2, 3), -1, 1, 0), C1(max, 2, D(2, 3), -1, 1, 0),
    C1(min, 2, D(2, 3), -1, 1, 0), C1(var, 2, D(2, 4), -1, 1, 0),
    C1(logsumexp, 2, D(2, 3), -1, 1, 0), C1(softmax, 2, D(2, 3), -1, 1, 0),
    C1(log_softmax, 2, D(3, 2), -1, 1, 0), C1(cumsum, 2, D(2, 3), -1, 1, 0),
    C1(expand, 2, D(1, 3), -1, 1, 0), C1(sum_to, 2, D(2, 3), -1, 1, 0),
    C1(reshape, 2, D(2, 3), -1, 1, 0), C1(flatten, 2, D(2, 3), -1, 1, 0),
    C1(squeeze, 2, D(2, 3), -1, 1, 0), C2(concat, 2, D(2, 3), 2, D(1, 3), -1, 1, 0),
    C1(slice, 2, D(2, 4), -1, 1, 0), C1(slice_view, 2, D(3, 2), -1, 1, 0),
    C1(transpose, 2, D(2, 3), -1, 1, 0), C1(permute, 3, D(2, 3, 2), -1, 1, 0),
    C2(stack, 2, D(2, 3), 2, D(2, 3), -1, 1, 0), C1(flip, 2, D(2, 3), -1, 1, 0),
    C1(roll, 2, D(2, 3), -1, 1, 0), C1(tril, 2, D(3, 3), -1, 1, 0),
    C3(attention, 3, D(2, 3, 2), 3, D(2, 4, 2), 3, D(2, 4, 3), -1, 1, 0),
    {"attention_mask", f_attention_mask, 4, {3, 3, 3, 2}, {{2, 3, 2}, {2, 4, 2}, {2, 4, 3}, {3, 4}},
     -1, 1, 0, 0},
    C1(triu, 2, D(3, 3), -1, 1, 0), C1(index_select, 2, D(2, 3), -1, 1, 0),
    C2(index_add, 2, D(2, 3), 2, D(2, 3), -1, 1, 0), C1(gather, 2, D(2, 3), -1, 1, 0),
    C2(scatter_add, 2, D(2, 3), 2, D(2, 2), -1, 1, 0),
    C1(masked_fill, 2, D(2, 3), -1, 1, 0),
    C2(matmul, 2, D(2, 3), 2, D(3, 2), -1, 1, 0),
    C2(matmul_nt, 2, D(2, 3), 2, D(4, 3), -1, 1, 0),
    C2(matmul_tn, 2, D(3, 2), 2, D(3, 2), -1, 1, 0),
    C2(matmul_batch, 2, D(2, 3), 2, D(3, 2), -1, 1, 0),
    C3(linear, 3, D(2, 1, 3), 2, D(2, 3), 1, D(2), -1, 1, 0),
    C2(linear_nobias, 2, D(2, 3), 2, D(2, 3), -1, 1, 0),
    C3(conv2d, 4, D(1, 2, 3, 4), 4, D(2, 2, 2, 2), 1, D(2), -1, 1, 0),
    C2(conv1d, 3, D(2, 2, 4), 3, D(3, 2, 2), -1, 1, 0),
    C3(conv_transpose2d, 4, D(1, 2, 2, 3), 4, D(2, 2, 2, 2), 1, D(2), -1, 1, 0),
    C2(conv_transpose1d, 3, D(1, 2, 3), 3, D(2, 3, 2), -1, 1, 0),
    C1(unfold, 4, D(1, 2, 3, 3), -1, 1, 0), C1(fold, 3, D(1, 4, 4), -1, 1, 0),
    C1(max_pool2d, 4, D(1, 2, 3, 3), -1, 1, 0), C1(max_pool1d, 3, D(2, 1, 4), -1, 1, 0),
    C1(avg_pool2d, 4, D(1, 2, 3, 3), -1, 1, 0), C1(avg_pool1d, 3, D(2, 1, 4), -1, 1, 0),
    C1(adaptive_avg_pool2d, 4, D(1, 1, 3, 5), -1, 1, 0),
    C1(pad_constant, 4, D(1, 1, 2, 3), -1, 1, 0), C1(pad_reflect, 3, D(1, 2, 3), -1, 1, 0),
    C1(pad_replicate, 4, D(1, 1, 2, 2), -1, 1, 0),
    C3(channel_affine, 4, D(2, 2, 1, 2), 1, D(2), 1, D(2), -1, 1, 0),
    C3(batch_norm, 4, D(2, 2, 1, 2), 1, D(2), 1, D(2), -1, 1, 0),
    C1(batch_norm_stats, 4, D(2, 2, 1, 2), -1, 1, 0),
    C1(batch_norm_plain, 3, D(2, 2, 3), -1, 1, 0),
    C2(channel_affine_noshift, 3, D(2, 2, 3), 1, D(2), -1, 1, 0),
    C1(concat_many, 1, D(6), -1, 1, 0),
};

#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* One row of the table: _i is the row (a loop test). */
START_TEST(test_jvp_op)
{
    const jt_case *c = &cases[_i];
    ag_tensor *in[JT_MAX_IN] = {0};
    for (int k = 0; k < c->n_in; k++) {
        in[k] = tu_random(c->ndim[k], c->shape[k], c->lo, c->hi, 7 + (uint64_t)(31 * _i + k));
        if (c->gap > 0) tu_push_from_zero(in[k], c->gap);
    }
    jt_check(c->name, c->fn, NULL, c->n_in, in, c->tol);
    for (int k = 0; k < c->n_in; k++) ag_tensor_free(in[k]);
}
END_TEST

Suite *suite_jvp_ops(void)
{
    Suite *s = suite_create("jvp_ops");
    TCase *tc = tcase_create("every op");
    tcase_add_loop_test(tc, test_jvp_op, 0, N_CASES);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
