/*
** char_lm.c: a character-level LSTM language model, trained to predict
** each next character of a text (default: the GPL-3 in
** /usr/share/common-licenses, 35,149 characters, 76 distinct ones).
**
** The lesson. A recurrent network reads a text one character at a time and
** carries what it has read in its state; the LSTM's cell state, updated by
** gates rather than squashed through a matrix at every step, lets the
** gradient of a character reach back over many steps (see
** gradients_through_time for the measurement). Trained by backpropagation
** through time over windows of 64 characters, its gradient can still
** explode on a bad window: ag_clip_grad_norm scales the whole gradient down
** to norm 1 when it is larger (this run prints how often it did). The last
** 10% of the text is held out: the validation loss per epoch is the honest
** measure (the training loss keeps falling when the model starts to learn
** the text by heart). Sampling shows what the model learned: each next
** character is drawn from softmax(logits / temperature) among the top-k
** most likely (low temperature: safe, repetitive; high: inventive, wrong).
** Training can stop and go on: a checkpoint (weights, Adam's state, the
** generator) is written after each epoch, and --resume continues from it
** bit for bit as if it had never stopped.
**
** Model: Embedding(76, 32) -> LSTM(32, 256) -> Linear(256, 76); the loss is
** the cross-entropy of each next character (ln 76 = 4.33 knows nothing).
** Adam (lr 3e-3), batches of 32 windows, a new random cut of the text into
** windows each epoch. Full run: 25 epochs of 15 batches, about 25 s of CPU
** (a minute on a busy 2-core machine); the validation loss goes from 3.39
** after epoch 1 to 1.91 after 25, where it levels off while the training
** loss (1.12) keeps falling: from there on the model learns this small
** text by heart (40 epochs end at validation 1.99, training 0.80).
** It prints the losses per epoch, writes DIR/char_lm_loss.svg and
** DIR/char_lm.ckpt with DIR/char_lm_history.txt (the losses so far, for
** the plot of a resumed run; DIR default build/examples) and samples 400
** characters after "The " (temperature 0.8, top-k 10).
** Run:   build/examples/char_lm [--quick] [--epochs N] [--batches N] [--resume]
**        [--sample N] [--temperature T] [--top-k K] [--hidden N] [--seed N]
**        [--out DIR] [FILE]
**        (--quick: 3 epochs of 6 batches each, 100 characters sampled;
**        --batches: at most N batches per epoch; --resume: go on from
**        DIR/char_lm.ckpt, to --epochs in all, with the same flags;
**        --hidden: the LSTM's width, default 256)
*/
#include "ag.h"
#include "data_dir.h"
#include "svg.h"
#include "text_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMB 32
#define CTX 64              /* characters per window (steps of BPTT) */
#define BATCH 32
#define MAX_EPOCHS 1000

typedef struct model {
    ag_module *all;         /* owns the three below: "0.*", "1.*", "2.*" */
    ag_module *emb, *lstm, *head;
    int64_t vocab, hidden;
} model;

typedef struct run_opts {
    int epochs, max_batches, resume, n_sample, top_k, hidden;
    double temperature;
    const char *out;
} run_opts;

static int build(model *m, int64_t vocab, int64_t hidden, ag_rng *rng)
{
    ag_module *mods[3];
    m->vocab = vocab;
    m->hidden = hidden;
    mods[0] = m->emb = ag_embedding_new(vocab, EMB, AG_F32, rng);
    mods[1] = m->lstm = ag_lstm_new(EMB, hidden, 1, 1, 1, 0.0, 0, AG_F32, rng);
    mods[2] = m->head = ag_linear_new(hidden, vocab, 1, AG_F32, rng);
    m->all = ag_sequential_new(3, mods);
    return m->all != NULL;
}

/* Logits [b * len, V] for the windows idx[b * len]; the LSTM starts from
   h0, c0 ([1, b, hidden] or NULL: zeros) and leaves its last state in *hn,
   *cn (either may be NULL). */
static ag_tensor *forward(const model *m, ag_tape *t, const int64_t *idx, int64_t b, int64_t len,
                          ag_tensor *h0, ag_tensor *c0, ag_tensor **hn, ag_tensor **cn)
{
    ag_tensor *x = ag_reshape(t, ag_embedding_lookup(m->emb, t, idx, b * len), 3,
                              (int64_t[]){b, len, EMB}), *y = NULL;
    if (ag_rnn_forward(m->lstm, t, x, h0, c0, &y, hn, cn) != AG_OK) return NULL;
    y = ag_reshape(t, y, 2, (int64_t[]){b * len, m->hidden});
    return ag_module_forward(m->head, t, y);
}

/* The mean loss of the b windows starting at starts[], ids[s..s+CTX]
   predicting ids[s+1..s+CTX+1]. */
static ag_tensor *window_loss(const model *m, ag_tape *t, const int64_t *ids,
                              const int64_t *starts, int64_t b)
{
    int64_t idx[BATCH * CTX], tgt[BATCH * CTX];
    for (int64_t w = 0; w < b; w++)
        for (int i = 0; i < CTX; i++)
            idx[w * CTX + i] = ids[starts[w] + i], tgt[w * CTX + i] = ids[starts[w] + i + 1];
    return ag_cross_entropy_loss(t, forward(m, t, idx, b, CTX, NULL, NULL, NULL, NULL), tgt,
                                 AG_REDUCTION_MEAN);
}

/* The validation loss: every window of [lo, hi), no grad, batch by batch. */
static double validation_loss(const model *m, ag_tape *t, const int64_t *ids, int64_t lo,
                              int64_t hi)
{
    int64_t starts[BATCH], done = 0;
    double sum = 0;
    ag_set_grad_enabled(t, 0);
    for (int64_t s = lo; s + CTX < hi;) {
        int64_t b = 0;
        for (; b < BATCH && s + CTX < hi; s += CTX) starts[b++] = s;
        ag_tape_reset(t);
        ag_tensor *loss = window_loss(m, t, ids, starts, b);
        if (!loss) break;
        sum += ag_tensor_get(loss, 0) * (double)b, done += b;
    }
    ag_set_grad_enabled(t, 1);
    return ag_tape_status(t) == AG_OK && done ? sum / (double)done : -1;
}

/* This epoch's n windows: the text cut every CTX characters from a
   random offset in [0, CTX), in a random order. */
static void epoch_windows(int64_t *starts, int64_t n, ag_rng *rng)
{
    const int64_t off = (int64_t)(ag_rng_uniform(rng) * CTX) % CTX;
    for (int64_t w = 0; w < n; w++) starts[w] = off + w * CTX;
    for (int64_t w = n - 1; w > 0; w--) {
        int64_t j = (int64_t)(ag_rng_uniform(rng) * (double)(w + 1)) % (w + 1), s = starts[w];
        starts[w] = starts[j], starts[j] = s;
    }
}

/* One epoch of nb batches; the mean training loss, -1 on error. */
static double train_epoch(const model *m, ag_tape *t, ag_optim *opt, const int64_t *ids,
                          int64_t *starts, int nb, int *clipped)
{
    ag_tensor *params[16];
    const int np = ag_module_parameters(m->all, params, 16);
    double sum = 0, norm;
    for (int k = 0; k < nb; k++) {
        ag_tape_reset(t);
        ag_tensor *loss = window_loss(m, t, ids, starts + (int64_t)k * BATCH, BATCH);
        ag_optim_zero_grad(opt);
        if (!loss || ag_backward(t, loss) != AG_OK) return -1;
        if (ag_clip_grad_norm(np, params, 1.0, 2.0, 1, &norm) != AG_OK) {
            fprintf(stderr, "char_lm: %s\n", ag_last_error());
            return -1;
        }
        *clipped += norm > 1.0;
        if (ag_optim_step(opt) != AG_OK)
            return fprintf(stderr, "char_lm: %s\n", ag_last_error()), -1;
        sum += ag_tensor_get(loss, 0);
    }
    return sum / nb;
}

/* Prints n characters sampled after prompt, carrying the LSTM's state
   from character to character in h, c [1, 1, hidden] across tape resets. */
static int sample(const model *m, ag_tape *t, const text_chars *tc, const char *prompt,
                  const run_opts *o, ag_rng *rng)
{
    const int64_t shape[3] = {1, 1, m->hidden};
    ag_tensor *h = ag_zeros(NULL, AG_F32, 3, shape), *c = ag_zeros(NULL, AG_F32, 3, shape), *hn, *cn;
    const int plen = (int)strlen(prompt);
    int64_t top[256], pick = 0, next = text_chars_id(tc, prompt[0]);
    int ok = h && c && next >= 0;
    ag_set_grad_enabled(t, 0);
    printf("sample (temperature %g, top-k %d): %s", o->temperature, o->top_k, prompt);
    for (int i = 0; ok && i < plen + o->n_sample - 1; i++) {
        ag_tape_reset(t);
        ag_tensor *logits = forward(m, t, &next, 1, 1, h, c, &hn, &cn);
        ag_tensor *best = ag_topk(t, ag_div_scalar(t, logits, o->temperature), o->top_k, -1, 1,
                                  1, top, 256);
        ok = best && ag_multinomial_logits(t, rng, best, 1, 0, &pick, 1) == AG_OK &&
             ag_assign(h, hn) == AG_OK && ag_assign(c, cn) == AG_OK;
        next = i + 1 < plen ? text_chars_id(tc, prompt[i + 1]) : top[pick];
        if (ok && i + 1 >= plen) putchar(tc->chars[next]);
    }
    printf("\n");
    if (!ok) fprintf(stderr, "char_lm: sampling: %s\n", ag_tape_errmsg(t));
    ag_set_grad_enabled(t, 1);
    ag_tensor_free(h);
    ag_tensor_free(c);
    return ok;
}

/* The history file beside the checkpoint: one line per epoch done,
   "epoch train validation", so a resumed run plots the whole run. */
static int history_load(const char *path, double *train, double *val, int epochs)
{
    FILE *f = fopen(path, "r");
    int e = 0, k;
    double tr, va;
    while (f && e < epochs && fscanf(f, "%d %lf %lf", &k, &tr, &va) == 3 && k == e + 1)
        train[e] = tr, val[e++] = va;
    if (f) fclose(f);
    return e;
}

static void history_save(const char *path, const double *train, const double *val, int epochs)
{
    FILE *f = fopen(path, "w");
    for (int e = 0; f && e < epochs; e++) fprintf(f, "%d %.9g %.9g\n", e + 1, train[e], val[e]);
    if (f) fclose(f);
}

/* Writes the losses per epoch as DIR/char_lm_loss.svg. */
static void plot(const char *dir, const double *train, const double *val, int epochs)
{
    char path[512];
    double x[MAX_EPOCHS];
    for (int e = 0; e < epochs; e++) x[e] = e + 1;
    svg_series s[2] = {{"train (mean over the epoch)", x, train, epochs, NULL, 0, 1, 0},
                       {"validation (held-out 10%)", x, val, epochs, NULL, 0, 1, 0}};
    svg_plot pl = {"character LSTM on the text", "epoch", "cross-entropy (nats)", 0, 0, 0,
                   0, 0, 0, 0, 1, 0, NULL};
    snprintf(path, sizeof path, "%s/char_lm_loss.svg", dir);
    if (svg_line_plot(path, &pl, s, 2) == 0) printf("wrote %s\n", path);
}

/* Trains from the checkpoint's epoch (with --resume) to o->epochs,
   checkpointing after each; then plots and samples. */
static int run(const model *m, const text_chars *tc, const run_opts *o, ag_rng *rng)
{
    ag_tensor *params[16];
    const int np = ag_module_parameters(m->all, params, 16);
    const int64_t split = tc->n * 9 / 10, nwin = (split - CTX) / CTX;
    const int nb = (int)(nwin / BATCH < o->max_batches ? nwin / BATCH : o->max_batches);
    char ckpt[512], hist[512];
    snprintf(ckpt, sizeof ckpt, "%s/char_lm.ckpt", o->out);
    snprintf(hist, sizeof hist, "%s/char_lm_history.txt", o->out);
    ag_adam_opts ao = ag_adam_defaults();
    ao.lr = 3e-3;
    ag_optim *opt = ag_adam_new(np, params, &ao);
    ag_tape *t = ag_tape_new();
    int64_t *starts = malloc((size_t)nwin * sizeof *starts);
    double train[MAX_EPOCHS], val[MAX_EPOCHS];
    int ok = opt && t && starts, start = 0;
    if (ok && o->resume) {
        ok = ag_checkpoint_load(ckpt, m->all, opt, rng) == AG_OK;
        if (!ok) fprintf(stderr, "char_lm: %s\n", ag_last_error());
        const int64_t done = ok ? ag_optim_steps(opt) / nb : 0;
        start = (int)(done < MAX_EPOCHS ? done : MAX_EPOCHS);
        if (ok && history_load(hist, train, val, start) != start)
            ok = 0, fprintf(stderr, "char_lm: '%s' lacks epochs of '%s'\n", hist, ckpt);
        if (ok) printf("resumed from %s after epoch %d\n", ckpt, start);
    }
    printf("%d batches of %d windows of %d characters per epoch\n", nb, BATCH, CTX);
    for (int e = start; ok && e < o->epochs; e++) {
        int clipped = 0;
        epoch_windows(starts, nwin, rng);
        train[e] = train_epoch(m, t, opt, tc->ids, starts, nb, &clipped);
        val[e] = train[e] < 0 ? -1 : validation_loss(m, t, tc->ids, split, tc->n);
        ok = val[e] >= 0;
        if (ok) printf("epoch %3d  train loss %.4f  validation loss %.4f  (%d of %d clipped)\n",
                       e + 1, train[e], val[e], clipped, nb);
        if (ok && ag_checkpoint_save(ckpt, m->all, opt, rng) != AG_OK)
            ok = 0, fprintf(stderr, "char_lm: %s\n", ag_last_error());
        if (ok) history_save(hist, train, val, e + 1);
        fflush(stdout);
    }
    if (!ok && t && ag_tape_status(t) != AG_OK) fprintf(stderr, "char_lm: %s\n", ag_tape_errmsg(t));
    if (ok) plot(o->out, train, val, o->epochs);
    ok = ok && sample(m, t, tc, "The ", o, rng);
    free(starts);
    ag_tape_free(t);
    ag_optim_free(opt);
    return ok;
}

static int usage(void)
{
    printf("usage: char_lm [--quick] [--epochs N] [--batches N] [--resume] [--sample N]\n"
           "               [--temperature T] [--top-k K] [--hidden N] [--seed N] [--out DIR] [FILE]\n"
           "  trains a character-level LSTM on FILE (default the GPL-3) and samples from it;\n"
           "  --resume continues from DIR/char_lm.ckpt\n");
    return 0;
}

/* Parses argv into o, *path, *seed; 0 when fine, else the exit status. */
static int parse(int argc, char **argv, run_opts *o, const char **path, uint64_t *seed)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) return usage(), -1;
        if (!strcmp(a, "--quick")) o->epochs = 3, o->max_batches = 6, o->n_sample = 100;
        else if (!strcmp(a, "--resume")) o->resume = 1;
        else if (!strcmp(a, "--epochs") && v && atoi(v) >= 1 && atoi(v) <= MAX_EPOCHS)
            o->epochs = atoi(argv[++i]);
        else if (!strcmp(a, "--batches") && v && atoi(v) >= 1) o->max_batches = atoi(argv[++i]);
        else if (!strcmp(a, "--sample") && v && atoi(v) >= 1) o->n_sample = atoi(argv[++i]);
        else if (!strcmp(a, "--temperature") && v && atof(v) > 0)
            o->temperature = atof(argv[++i]);
        else if (!strcmp(a, "--top-k") && v && atoi(v) >= 1) o->top_k = atoi(argv[++i]);
        else if (!strcmp(a, "--hidden") && v && atoi(v) >= 1) o->hidden = atoi(argv[++i]);
        else if (!strcmp(a, "--seed") && v) *seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--out") && v) o->out = argv[++i];
        else if (a[0] != '-') *path = a;
        else return fprintf(stderr, "char_lm: bad or incomplete option '%s'\n", a), 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    run_opts o = {25, 1 << 30, 0, 400, 10, 256, 0.8, "build/examples"};
    const char *path = "/usr/share/common-licenses/GPL-3";
    uint64_t seed = 1;
    int rc = parse(argc, argv, &o, &path, &seed);
    if (rc) return rc < 0 ? 0 : rc;
    if (!example_out_dir("char_lm", o.out)) return 1;
    text_chars tc;
    if (!text_chars_load(&tc, "char_lm", path, 10 * ((BATCH + 1) * CTX + 1) / 9 + 2)) return 1;
    printf("%s: %lld characters, vocabulary %lld\n", path, (long long)tc.n, (long long)tc.vocab);
    if (o.top_k > tc.vocab) o.top_k = (int)tc.vocab;
    ag_rng *rng = ag_rng_new(seed);
    model m = {0};
    int ok = build(&m, tc.vocab, o.hidden, rng);
    if (!ok) fprintf(stderr, "char_lm: building the model: %s\n", ag_last_error());
    ok = ok && run(&m, &tc, &o, rng);
    ag_module_free(m.all);
    ag_rng_free(rng);
    text_chars_free(&tc);
    ag_threads_shutdown();
    return ok ? 0 : 1;
}
