/*
** char_transformer.c: a small causal transformer language model over the
** characters of a text (default: the GPL-3 in /usr/share/common-licenses).
**
** Model: a token embedding plus a learned position embedding, two pre-norm
** TransformerEncoderLayers (4 heads, GELU, causal self-attention through
** ag_scaled_dot_product_attention), a final LayerNorm and a Linear head
** to the characters; the loss is the cross-entropy of each next character.
** Adam on random windows of 32 characters, 16 per batch, from the first 90%
** of the text; the last 10% is held out. It prints the training loss and
** the validation loss every EVAL steps (the GPL-3 has 76 characters, so
** ln 76 = 4.3 at the start; validation about 3.1 after 60 steps, 2.4
** after 600, 2.1 after the default 1500, some 20 seconds), writes
** DIR/char_transformer_loss.svg (default DIR build/examples), and samples
** 300 characters after "The " (temperature 0.8, top-k 10): words of the
** licence ("License", "work", "the") among made-up ones.
** Run:   build/examples/char_transformer [--quick] [--steps N] [--sample N]
**        [--seed N] [--out DIR] [FILE]   (--quick: 60 steps; --sample: characters)
*/
#include "ag.h"
#include "data_dir.h"
#include "svg.h"
#include "text_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define D 32            /* model width */
#define HEADS 4
#define LAYERS 2
#define CTX 32          /* window length */
#define BATCH 16
#define EVAL 20         /* steps between validation losses */

typedef struct model {
    ag_module *all;                     /* owns every layer below */
    ag_module *tok, *pos, *layer[LAYERS], *norm, *head;
    int64_t vocab;
} model;

static int build(model *m, int64_t vocab, ag_rng *rng)
{
    ag_module *mods[LAYERS + 4];
    m->vocab = vocab;
    mods[0] = m->tok = ag_embedding_new(vocab, D, AG_F32, rng);
    mods[1] = m->pos = ag_embedding_new(CTX, D, AG_F32, rng);
    for (int l = 0; l < LAYERS; l++)
        mods[2 + l] = m->layer[l] = ag_transformer_encoder_layer_new(D, HEADS, 4 * D, 0,
                                                                     AG_FF_GELU, 1e-5, 1, 1,
                                                                     AG_F32, rng);
    mods[LAYERS + 2] = m->norm = ag_layernorm_new(D, 1e-5, 1, AG_F32);
    mods[LAYERS + 3] = m->head = ag_linear_new(D, vocab, 1, AG_F32, rng);
    m->all = ag_sequential_new(LAYERS + 4, mods);
    return m->all != NULL;
}

/* Logits [b * len, V] for the windows idx[b * len] (len <= CTX). */
static ag_tensor *forward(const model *m, ag_tape *t, const int64_t *idx, int64_t b, int64_t len)
{
    int64_t pos[CTX];
    for (int64_t i = 0; i < len; i++) pos[i] = i;
    ag_tensor *x = ag_reshape(t, ag_embedding_lookup(m->tok, t, idx, b * len), 3,
                              (int64_t[]){b, len, D});
    x = ag_add(t, x, ag_embedding_lookup(m->pos, t, pos, len));
    ag_mha_masks causal = {.is_causal = 1};
    for (int l = 0; l < LAYERS; l++) x = ag_transformer_encoder_layer(m->layer[l], t, x, &causal);
    x = ag_module_forward(m->head, t, ag_module_forward(m->norm, t, x));
    return ag_reshape(t, x, 2, (int64_t[]){b * len, m->vocab});
}

/* The mean loss of BATCH windows starting at random offsets in [lo, hi). */
static ag_tensor *batch_loss(const model *m, ag_tape *t, const int64_t *ids, int64_t lo,
                             int64_t hi, ag_rng *rng)
{
    int64_t idx[BATCH * CTX], tgt[BATCH * CTX];
    for (int b = 0; b < BATCH; b++) {
        int64_t o = lo + (int64_t)(ag_rng_uniform(rng) * (double)(hi - lo - CTX - 1));
        for (int i = 0; i < CTX; i++) idx[b * CTX + i] = ids[o + i], tgt[b * CTX + i] = ids[o + i + 1];
    }
    return ag_cross_entropy_loss(t, forward(m, t, idx, BATCH, CTX), tgt, AG_REDUCTION_MEAN);
}

/* Prints n characters sampled after prompt: temperature 0.8, top-k 10. */
static int sample(const model *m, ag_tape *t, const char *chars, const char *prompt, int n,
                  ag_rng *rng)
{
    int64_t ctx[512], len = 0, top[10], pick;
    for (const char *p = prompt; *p; p++)
        for (int64_t c = 0; c < m->vocab; c++)
            if (chars[c] == *p) ctx[len++] = c;
    printf("sample: %s", prompt);
    for (int i = 0; i < n; i++) {
        ag_tape_reset(t);
        const int64_t w = len < CTX ? len : CTX;
        ag_tensor *logits = forward(m, t, ctx + len - w, 1, w);
        ag_tensor *last = ag_slice(t, logits, 0, w - 1, w, 1);
        ag_tensor *best = ag_topk(t, ag_div_scalar(t, last, 0.8), 10, -1, 1, 1, top, 10);
        if (!best || ag_multinomial_logits(t, rng, best, 1, 0, &pick, 1) != AG_OK)
            return fprintf(stderr, "char_transformer: sampling: %s\n", ag_tape_errmsg(t)), 0;
        ctx[len++] = top[pick];
        putchar(chars[top[pick]]);
        if (len == 512) memmove(ctx, ctx + 512 - CTX, CTX * sizeof *ctx), len = CTX;
    }
    printf("\n");
    return 1;
}

/* Writes the training and validation losses as DIR/char_transformer_loss.svg. */
static void plot(const char *dir, const double *train, int steps, const double *val, int nval)
{
    char path[512];
    double *x = malloc((size_t)steps * sizeof *x), xv[1024];
    for (int i = 0; i < steps; i++) x[i] = i + 1;
    for (int i = 0; i < nval; i++) xv[i] = (double)(i + 1) * EVAL;
    svg_series s[2] = {{"train (one batch)", x, train, steps, NULL, 0, 0, 0},
                       {"validation", xv, val, nval, NULL, 0, 1, 0}};
    svg_plot pl = {"char transformer on the text", "step", "cross-entropy (nats)", 0, 0, 0,
                   0, 0, 0, 0, 0, 0, NULL};
    snprintf(path, sizeof path, "%s/char_transformer_loss.svg", dir);
    if (svg_line_plot(path, &pl, s, 2) == 0) printf("wrote %s\n", path);
    free(x);
}

/* Trains for steps steps; validation every EVAL steps; then plots and
   samples n_sample characters. */
static int run(const model *m, const int64_t *ids, int64_t n, const char *chars, int steps,
               int n_sample, const char *out, ag_rng *rng)
{
    ag_tensor *params[64];
    const int np = ag_module_parameters(m->all, params, 64);
    ag_adam_opts ao = ag_adam_defaults();
    ao.lr = 3e-3;
    ag_optim *opt = ag_adam_new(np, params, &ao);
    ag_tape *t = ag_tape_new();
    double *train = malloc((size_t)steps * sizeof *train), val[1024];
    int nval = 0, ok = opt && t && train, split = (int)(n * 9 / 10);
    for (int s = 1; ok && s <= steps; s++) {
        ag_tape_reset(t);
        ag_tensor *loss = batch_loss(m, t, ids, 0, split, rng);
        ag_optim_zero_grad(opt);
        ok = loss && ag_backward(t, loss) == AG_OK && ag_optim_step(opt) == AG_OK;
        if (ok) train[s - 1] = ag_tensor_get(loss, 0);
        if (ok && s % EVAL == 0 && nval < 1024) {
            ag_rng *vr = ag_rng_new(99);        /* the same windows each time */
            ag_set_grad_enabled(t, 0);
            double v = 0;
            for (int k = 0; k < 4 && ok; k++) {
                ag_tape_reset(t);
                ag_tensor *vl = batch_loss(m, t, ids, split, n, vr);
                ok = vl != NULL;
                v += ok ? ag_tensor_get(vl, 0) / 4 : 0;
            }
            ag_set_grad_enabled(t, 1);
            ag_rng_free(vr);
            val[nval++] = v;
            printf("step %4d  train loss %.3f  validation loss %.3f\n", s, train[s - 1], v);
        }
    }
    if (!ok) fprintf(stderr, "char_transformer: %s\n", t ? ag_tape_errmsg(t) : ag_last_error());
    if (ok) plot(out, train, steps, val, nval);
    ok = ok && sample(m, t, chars, "The ", n_sample, rng);
    free(train);
    ag_tape_free(t);
    ag_optim_free(opt);
    return ok;
}

int main(int argc, char **argv)
{
    const char *path = "/usr/share/common-licenses/GPL-3", *out = "build/examples";
    int steps = 1500, n_sample = 300;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help"))
            return printf("usage: char_transformer [--quick] [--steps N] [--sample N] [--seed N] "
                          "[--out DIR] [FILE]\n  trains a small causal transformer on FILE's characters "
                          "(default the GPL-3) and samples from it\n"), 0;
        if (!strcmp(argv[i], "--quick")) steps = 60;
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc && atoi(argv[i + 1]) >= 1)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sample") && i + 1 < argc && atoi(argv[i + 1]) >= 1)
            n_sample = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (argv[i][0] != '-') path = argv[i];
        else return fprintf(stderr, "char_transformer: bad or incomplete option '%s'\n", argv[i]), 2;
    }
    if (!example_out_dir("char_transformer", out)) return 1;
    text_chars tc;
    if (!text_chars_load(&tc, "char_transformer", path, 10 * CTX)) return 1;
    printf("%s: %lld characters, vocabulary %lld\n", path, (long long)tc.n, (long long)tc.vocab);
    ag_rng *rng = ag_rng_new(seed);
    model m = {0};
    int ok = build(&m, tc.vocab, rng);
    if (!ok) fprintf(stderr, "char_transformer: building the model: %s\n", ag_last_error());
    ok = ok && run(&m, tc.ids, tc.n, tc.chars, steps, n_sample, out, rng);
    ag_module_free(m.all);
    ag_rng_free(rng);
    text_chars_free(&tc);
    ag_threads_shutdown();
    return ok ? 0 : 1;
}
