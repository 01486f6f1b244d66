/*
** attention.c: MultiheadAttention and TransformerEncoderLayer, composed
** from public ops (ag_linear, ag_scaled_dot_product_attention, reshapes,
** LayerNorm, Dropout) with PyTorch's parameter names and init. Masks are
** turned into one additive mask [N, 1 or H, L, S] for the attention op.
*/
#include "layers_util.h"

#include <math.h>

typedef struct mha {
    ag_module base;
    int64_t embed, heads;
    int batch_first;
    double dropout;
    ag_rng *rng;
    ag_tensor *in_w, *in_b;             /* registered; in_b may be NULL */
    ag_module *out_proj;                /* child */
    char desc[AGN_DESC_LEN];
} mha;

static const ag_module_ops mha_ops;

/* ------------------------------------------------------------- layout --- */

/* x in the layer's layout -> [N, L, E]; y [N, L, E] -> the layout back. */
static ag_tensor *to_batch_first(ag_tape *t, const mha *a, ag_tensor *x, int unbatched)
{
    if (unbatched) return ag_unsqueeze(t, x, 0);
    return a->batch_first ? x : ag_transpose(t, x, 0, 1);
}

static ag_tensor *from_batch_first(ag_tape *t, const mha *a, ag_tensor *y, int unbatched)
{
    if (unbatched) return ag_squeeze(t, y, 0);
    return a->batch_first ? y : ag_transpose(t, y, 0, 1);
}

/* x [N, L, E] projected by rows [i E, (i+1) E) of in_proj -> heads
   [N, H, L, D]. */
static ag_tensor *project(ag_tape *t, const mha *a, ag_tensor *x, int i)
{
    const int64_t n = ag_tensor_dim(x, 0), len = ag_tensor_dim(x, 1), e = a->embed;
    ag_tensor *w = ag_slice(t, a->in_w, 0, i * e, (i + 1) * e, 1);
    ag_tensor *b = a->in_b ? ag_slice(t, a->in_b, 0, i * e, (i + 1) * e, 1) : NULL;
    ag_tensor *y = ag_reshape(t, ag_linear(t, x, w, b), 4,
                              (int64_t[]){n, len, a->heads, e / a->heads});
    return ag_permute(t, y, (const int[]){0, 2, 1, 3});
}

/* ------------------------------------------------------------- checks --- */

/* query, key and value: present, the layer's dtype, 3-D (2-D unbatched)
   alike, E features, key and value of one shape, one batch size. */
static int mha_check(ag_tape *t, const mha *a, ag_tensor *const *x)
{
    const char *names[3] = {"query", "key", "value"};
    char s1[128], s2[128], s3[128];
    const ag_dtype dt = ag_tensor_dtype(a->in_w);
    for (int i = 0; i < 3; i++) {
        if (!x[i]) return ag_tape_set_error(t, AG_ERR_ARG, "%s: %s is NULL", a->desc, names[i]), 0;
        if (ag_tensor_dtype(x[i]) != dt)
            return ag_tape_set_error(t, AG_ERR_DTYPE, "%s: %s is %s, the layer is %s", a->desc,
                                     names[i], agn_dtype_name(ag_tensor_dtype(x[i])),
                                     agn_dtype_name(dt)), 0;
    }
    const int nd = ag_tensor_ndim(x[0]), bd = a->batch_first ? 0 : 1;
    int ok = (nd == 2 || nd == 3) && ag_tensor_ndim(x[1]) == nd && ag_tensor_ndim(x[2]) == nd;
    for (int d = 0; ok && d < nd; d++) ok = ag_tensor_dim(x[1], d) == ag_tensor_dim(x[2], d);
    ok = ok && ag_tensor_dim(x[0], -1) == a->embed && ag_tensor_dim(x[1], -1) == a->embed;
    ok = ok && (nd == 2 || ag_tensor_dim(x[0], bd) == ag_tensor_dim(x[1], bd));
    if (!ok)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: query, key and value must be %s (or "
                                 "unbatched [L, E]) with E = %lld, key and value alike: query "
                                 "is %s, key is %s, value is %s", a->desc,
                                 a->batch_first ? "[N, L, E]" : "[L, N, E]", (long long)a->embed,
                                 agn_shape_str(x[0], s1, sizeof s1),
                                 agn_shape_str(x[1], s2, sizeof s2),
                                 agn_shape_str(x[2], s3, sizeof s3)), 0;
    return 1;
}

/* 1 if x has ndim dims of these sizes. */
static int has_shape(const ag_tensor *x, int ndim, const int64_t *shape)
{
    if (ag_tensor_ndim(x) != ndim) return 0;
    for (int d = 0; d < ndim; d++)
        if (ag_tensor_shape(x)[d] != shape[d]) return 0;
    return 1;
}

/* ------------------------------------------------------------- masks --- */

/* m as an additive mask: itself, or 0 / -inf where m is non-zero. */
static ag_tensor *additive(ag_tape *t, ag_tensor *m, int is_additive)
{
    if (is_additive) return m;
    ag_tensor *z = ag_zeros(t, ag_tensor_dtype(m), ag_tensor_ndim(m), ag_tensor_shape(m));
    return ag_masked_fill(t, z, m, -INFINITY);
}

/* The attention mask [L, S] or [N H, L, S] as [L, S] or [N, H, L, S]. */
static ag_tensor *attn_mask_4d(ag_tape *t, const mha *a, ag_tensor *m, int64_t n, int64_t len,
                               int64_t s)
{
    char buf[128];
    if (has_shape(m, 2, (int64_t[]){len, s})) return m;
    if (has_shape(m, 3, (int64_t[]){n * a->heads, len, s}))
        return ag_reshape(t, m, 4, (int64_t[]){n, a->heads, len, s});
    return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: attn_mask is %s, expected [L, S] = [%lld,%lld] "
                             "or [N*num_heads, L, S] = [%lld,%lld,%lld]", a->desc,
                             agn_shape_str(m, buf, sizeof buf), (long long)len, (long long)s,
                             (long long)(n * a->heads), (long long)len, (long long)s), NULL;
}

/* The masks as one additive mask broadcasting to [N, H, L, S], or NULL
   (none, or an error on t). */
static ag_tensor *mha_mask(ag_tape *t, const mha *a, const ag_mha_masks *mk, int64_t n,
                           int64_t len, int64_t s, int unbatched)
{
    ag_tensor *mask = NULL, *kp = mk->key_padding_mask;
    char buf[128];
    if (mk->attn_mask) {
        ag_tensor *m4 = attn_mask_4d(t, a, mk->attn_mask, n, len, s);
        if (!m4) return NULL;
        mask = additive(t, m4, mk->attn_mask_additive);
    }
    if (kp) {
        if (!(unbatched ? has_shape(kp, 1, (int64_t[]){s}) : has_shape(kp, 2, (int64_t[]){n, s})))
            return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: key_padding_mask is %s, expected "
                                     "[N, S] = [%lld,%lld] ([S] unbatched)", a->desc,
                                     agn_shape_str(kp, buf, sizeof buf), (long long)n,
                                     (long long)s), NULL;
        ag_tensor *k4 = ag_reshape(t, additive(t, kp, mk->key_padding_additive), 4,
                                   (int64_t[]){n, 1, 1, s});
        mask = mask ? ag_add(t, mask, k4) : k4;
    }
    return mask;
}

/* ------------------------------------------------------------ forward --- */

ag_tensor *ag_multihead_attention(ag_module *m, ag_tape *t, ag_tensor *query, ag_tensor *key,
                                  ag_tensor *value, const ag_mha_masks *masks)
{
    if (!agn_is(m, &mha_ops))
        return ag_tape_set_error(t, AG_ERR_ARG, "ag_multihead_attention: m is not a "
                                 "MultiheadAttention"), NULL;
    const mha *a = (const mha *)m;
    const ag_mha_masks none = {0}, *mk = masks ? masks : &none;
    ag_tensor *x[3] = {query, key, value};
    if (!mha_check(t, a, x)) return NULL;
    const int unbatched = ag_tensor_ndim(query) == 2;
    for (int i = 0; i < 3; i++) x[i] = to_batch_first(t, a, x[i], unbatched);
    if (!x[0] || !x[1] || !x[2]) return NULL;
    const int64_t n = ag_tensor_dim(x[0], 0), len = ag_tensor_dim(x[0], 1);
    ag_tensor *mask = mha_mask(t, a, mk, n, len, ag_tensor_dim(x[1], 1), unbatched);
    if ((mk->attn_mask || mk->key_padding_mask) && !mask) return NULL;
    ag_attention_opts o = {.mask = mask, .mask_kind = AG_ATTN_MASK_ADD,
                           .is_causal = mk->is_causal, .rng = a->rng,
                           .dropout_p = ag_module_is_training(m) ? a->dropout : 0};
    ag_tensor *heads = ag_scaled_dot_product_attention(t, project(t, a, x[0], 0),
                                                       project(t, a, x[1], 1),
                                                       project(t, a, x[2], 2), &o);
    ag_tensor *y = ag_reshape(t, ag_permute(t, heads, (const int[]){0, 2, 1, 3}), 3,
                              (int64_t[]){n, len, a->embed});
    return from_batch_first(t, a, ag_module_forward(a->out_proj, t, y), unbatched);
}

static ag_tensor *mha_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    return ag_multihead_attention(m, t, x, x, x, NULL);
}

static const ag_module_ops mha_ops = {"MultiheadAttention", mha_forward, NULL};

/* Checks the arguments both constructors share; 0 with ag_last_error(). */
static int mha_args_ok(const char *who, int64_t embed, int64_t heads, double dropout,
                       ag_dtype dt, const ag_rng *rng)
{
    if (agn_check_dtype(who, dt) != AG_OK) return 0;
    if (embed <= 0 || heads <= 0 || embed % heads != 0)
        return ag_set_last_error(AG_ERR_ARG, "%s: embed_dim %lld must be > 0 and divisible by "
                                 "num_heads %lld (> 0)", who, (long long)embed,
                                 (long long)heads), 0;
    if (!(dropout >= 0 && dropout <= 1))
        return ag_set_last_error(AG_ERR_ARG, "%s: dropout is %g, must be in [0, 1]", who,
                                 dropout), 0;
    (void)rng;                          /* NULL: zeros, to be loaded */
    return 1;
}

ag_module *ag_multihead_attention_new(int64_t embed_dim, int64_t num_heads, double dropout,
                                      int bias, int batch_first, ag_dtype dt, ag_rng *rng)
{
    const char *who = "ag_multihead_attention_new";
    if (!mha_args_ok(who, embed_dim, num_heads, dropout, dt, rng)) return NULL;
    mha *a = agn_alloc(sizeof *a, &mha_ops, who);
    if (!a) return NULL;
    a->embed = embed_dim, a->heads = num_heads, a->batch_first = batch_first != 0;
    a->dropout = dropout, a->rng = rng;
    snprintf(a->desc, sizeof a->desc, "MultiheadAttention(embed_dim=%lld, num_heads=%lld)",
             (long long)embed_dim, (long long)num_heads);
    a->in_w = ag_zeros(NULL, dt, 2, (int64_t[]){3 * embed_dim, embed_dim});
    if (ag_module_add_param(&a->base, "in_proj_weight", a->in_w) != AG_OK) goto fail;
    if (bias) {
        a->in_b = ag_zeros(NULL, dt, 1, (int64_t[]){3 * embed_dim});
        if (ag_module_add_param(&a->base, "in_proj_bias", a->in_b) != AG_OK) goto fail;
    }
    a->out_proj = ag_linear_new(embed_dim, embed_dim, bias, dt, rng);
    if (ag_module_add_child(&a->base, "out_proj", a->out_proj) != AG_OK) goto fail;
    if (rng && ag_init_xavier_uniform(a->in_w, 1, rng) != AG_OK) goto fail;
    if (bias && ag_init_zeros(ag_module_get(a->out_proj, "bias")) != AG_OK) goto fail;
    return &a->base;
fail:
    ag_module_free(&a->base);
    return NULL;
}

/* ---------------------------------------------------- encoder layer --- */

typedef struct encoder_layer {
    ag_module base;
    ag_module *self_attn, *linear1, *dropout, *linear2, *norm1, *norm2, *dropout1, *dropout2;
    ag_ff_activation activation;
    int norm_first;
} encoder_layer;

static const ag_module_ops encoder_ops;

/* dropout1(self_attn(x, x, x)) */
static ag_tensor *sa_block(ag_tape *t, const encoder_layer *l, ag_tensor *x,
                           const ag_mha_masks *mk)
{
    return ag_module_forward(l->dropout1, t, ag_multihead_attention(l->self_attn, t, x, x, x, mk));
}

/* dropout2(linear2(dropout(act(linear1(x))))) */
static ag_tensor *ff_block(ag_tape *t, const encoder_layer *l, ag_tensor *x)
{
    ag_tensor *h = ag_module_forward(l->linear1, t, x);
    h = l->activation == AG_FF_GELU ? ag_gelu(t, h) : ag_relu(t, h);
    h = ag_module_forward(l->linear2, t, ag_module_forward(l->dropout, t, h));
    return ag_module_forward(l->dropout2, t, h);
}

ag_tensor *ag_transformer_encoder_layer(ag_module *m, ag_tape *t, ag_tensor *src,
                                        const ag_mha_masks *masks)
{
    if (!agn_is(m, &encoder_ops))
        return ag_tape_set_error(t, AG_ERR_ARG, "ag_transformer_encoder_layer: m is not a "
                                 "TransformerEncoderLayer"), NULL;
    const encoder_layer *l = (const encoder_layer *)m;
    ag_tensor *x = src;
    if (l->norm_first) {
        x = ag_add(t, x, sa_block(t, l, ag_module_forward(l->norm1, t, x), masks));
        return ag_add(t, x, ff_block(t, l, ag_module_forward(l->norm2, t, x)));
    }
    x = ag_module_forward(l->norm1, t, ag_add(t, x, sa_block(t, l, x, masks)));
    return ag_module_forward(l->norm2, t, ag_add(t, x, ff_block(t, l, x)));
}

static ag_tensor *encoder_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    return ag_transformer_encoder_layer(m, t, x, NULL);
}

static const ag_module_ops encoder_ops = {"TransformerEncoderLayer", encoder_forward, NULL};

/* Makes the children in PyTorch's order and registers them; 0 on failure. */
static int add_children(encoder_layer *l, int64_t d, int64_t nhead, int64_t ff, double p,
                        double eps, int batch_first, ag_dtype dt, ag_rng *rng)
{
    struct { const char *name; ag_module **slot; ag_module *m; } c[8] = {
        {"self_attn", &l->self_attn, ag_multihead_attention_new(d, nhead, p, 1, batch_first, dt, rng)},
        {"linear1", &l->linear1, ag_linear_new(d, ff, 1, dt, rng)},
        {"dropout", &l->dropout, ag_dropout_new(p, rng)},
        {"linear2", &l->linear2, ag_linear_new(ff, d, 1, dt, rng)},
        {"norm1", &l->norm1, ag_layernorm_new(d, eps, 1, dt)},
        {"norm2", &l->norm2, ag_layernorm_new(d, eps, 1, dt)},
        {"dropout1", &l->dropout1, ag_dropout_new(p, rng)},
        {"dropout2", &l->dropout2, ag_dropout_new(p, rng)},
    };
    int ok = 1;
    for (int i = 0; i < 8; i++) {
        *c[i].slot = c[i].m;
        if (!ok || !c[i].m) {
            ag_module_free(c[i].m);
            ok = 0;
        } else if (ag_module_add_child(&l->base, c[i].name, c[i].m) != AG_OK) {
            ok = 0;
        }
    }
    return ok;
}

ag_module *ag_transformer_encoder_layer_new(int64_t d_model, int64_t nhead,
                                            int64_t dim_feedforward, double dropout,
                                            ag_ff_activation activation, double layer_norm_eps,
                                            int batch_first, int norm_first, ag_dtype dt,
                                            ag_rng *rng)
{
    const char *who = "ag_transformer_encoder_layer_new";
    if (!mha_args_ok(who, d_model, nhead, dropout, dt, rng)) return NULL;
    if (dim_feedforward <= 0 || (activation != AG_FF_RELU && activation != AG_FF_GELU))
        return ag_set_last_error(AG_ERR_ARG, "%s: dim_feedforward %lld must be > 0 and the "
                                 "activation AG_FF_RELU or AG_FF_GELU (got %d)", who,
                                 (long long)dim_feedforward, (int)activation), NULL;
    encoder_layer *l = agn_alloc(sizeof *l, &encoder_ops, who);
    if (!l) return NULL;
    l->activation = activation;
    l->norm_first = norm_first != 0;
    if (!add_children(l, d_model, nhead, dim_feedforward, dropout, layer_norm_eps, batch_first,
                      dt, rng)) {
        ag_module_free(&l->base);
        return NULL;
    }
    return &l->base;
}
