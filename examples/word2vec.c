/*
** word2vec.c: skip-gram and CBOW word embeddings with negative sampling or
** hierarchical softmax.
**
** Reads a text (default: the GPL-3 in /usr/share/common-licenses), splits it
** into lowercase words at every non-letter, keeps the words seen 5 times or
** more, and trains two models of Mikolov et al. (2013), each with an input
** and an output embedding table (ag_embedding_new, ag_embedding_lookup):
**   skip-gram  predicts each word of a random window from the centre word;
**   CBOW       predicts the centre word from the mean of its window's words
**              (a segment mean: ag_index_add of the looked-up rows).
** With negative sampling (--loss neg, the default) both score the true word
** against 5 noise words drawn from the unigram distribution raised to 0.75,
** with loss -log sigmoid(u.h) - sum_k log sigmoid(-u_k.h)
** (ag_bce_with_logits_loss); with hierarchical softmax (--loss hs) the
** output table holds the inner nodes of a Huffman tree over the vocabulary
** (ag_huffman_new) and the loss is -log P(word | h), a product of sigmoids
** along the word's path (ag_hierarchical_softmax_loss). Frequent words are
** dropped anew each epoch (ag_subsample_discard_prob, t = 1e-3) by
** word2vec.c's rule (--subsample c, the default: keep with probability
** sqrt(t/f) + t/f) or the paper's (--subsample paper: discard with
** probability 1 - sqrt(t/f)). Adam on mini-batches.
** It prints the vocabulary size, each model's loss per epoch, the nearest
** neighbours (cosine similarity of input vectors) of a few words, and the
** mean similarity of ten related pairs (source/code, free/software, ...)
** next to the mean over all pairs of words: about 0.65 against 0.15.
** Run:   build/examples/word2vec [--quick] [--epochs N] [--lr X] [--seed N]
**                                 [--loss neg|hs] [--subsample c|paper] [FILE]
**        (--quick: 5 epochs instead of 20)
*/
#include "ag.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM 32
#define WINDOW 4        /* words each side at most; each window is 1..WINDOW */
#define NEG 5           /* noise words per example */
#define MIN_COUNT 5
#define HASH (1 << 18)  /* distinct words at most: 3/4 of this */
#define TABLE 100000    /* noise table entries */
#define BATCH 64        /* examples per step: skip-gram's; CBOW's is a quarter */

typedef struct entry { char *word; int64_t count, id; } entry;

typedef struct corpus {
    entry *hash;        /* every distinct word, open addressing */
    entry **vocab;      /* the words kept, by decreasing count, ties alphabetical */
    int64_t n_distinct, n_vocab, *ids, n;  /* ids: the text as vocabulary ids */
} corpus;

/* An epoch's training examples: example i predicts target[i] from the
   words inputs[start[i] .. start[i+1]). */
typedef struct examples { int64_t *target, *start, *inputs, n; } examples;

/* The entry of word w; if new, added with count 0 when add is set, else
   NULL (NULL too when out of room or memory). */
static entry *intern(corpus *c, const char *w, int add)
{
    uint64_t h = 1469598103934665603u;
    for (const char *p = w; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211u;
    for (uint64_t i = h & (HASH - 1);; i = (i + 1) & (HASH - 1)) {
        entry *e = &c->hash[i];
        if (e->word && !strcmp(e->word, w)) return e;
        if (e->word) continue;
        if (!add || c->n_distinct >= HASH / 4 * 3 || !(e->word = strdup(w))) return NULL;
        return c->n_distinct++, e->id = -1, e;
    }
}

static int by_count(const void *a, const void *b)
{
    const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
    return x->count != y->count ? (x->count < y->count ? 1 : -1) : strcmp(x->word, y->word);
}

/* Reads the words of path into c; 0 on success, else a message on stderr. */
static int read_corpus(const char *path, corpus *c)
{
    FILE *f = fopen(path, "r");
    if (!f) return fprintf(stderr, "word2vec: cannot open '%s'\n", path), -1;
    int64_t cap = 1 << 16, len = 0;
    char buf[64];
    c->hash = calloc(HASH, sizeof *c->hash);
    c->ids = malloc((size_t)cap * sizeof *c->ids);
    for (int ch = 0; c->hash && c->ids && ch != EOF;) {
        ch = fgetc(f);
        if (ch != EOF && isalpha(ch)) {
            if (len < 63) buf[len++] = (char)tolower(ch);
            continue;
        }
        if (!len) continue;
        buf[len] = 0, len = 0;
        entry *e = intern(c, buf, 1);
        if (c->n == cap) {
            int64_t *grown = realloc(c->ids, (size_t)(cap *= 2) * sizeof *c->ids);
            if (!grown) free(c->ids);
            c->ids = grown;
        }
        if (!e && c->n_distinct >= HASH / 4 * 3) {
            fprintf(stderr, "word2vec: '%s' has more than %d distinct words\n", path, HASH / 4 * 3);
            return fclose(f), -1;
        }
        if (!e || !c->ids) break;
        e->count++, c->ids[c->n++] = e - c->hash;        /* a slot for now */
    }
    int bad = ferror(f) || !feof(f);
    fclose(f);
    c->vocab = malloc(HASH * sizeof *c->vocab);
    if (bad || !c->vocab)
        return fprintf(stderr, "word2vec: cannot read '%s' (or out of memory)\n", path), -1;
    for (int64_t i = 0; i < HASH; i++)
        if (c->hash[i].count >= MIN_COUNT) c->vocab[c->n_vocab++] = &c->hash[i];
    qsort(c->vocab, (size_t)c->n_vocab, sizeof *c->vocab, by_count);
    for (int64_t i = 0; i < c->n_vocab; i++) c->vocab[i]->id = i;
    int64_t kept = 0;
    for (int64_t i = 0; i < c->n; i++)
        if (c->hash[c->ids[i]].id >= 0) c->ids[kept++] = c->hash[c->ids[i]].id;
    c->n = kept;
    return 0;
}

static void free_corpus(corpus *c)
{
    for (int64_t i = 0; c->hash && i < HASH; i++) free(c->hash[i].word);
    free(c->hash), free(c->vocab), free(c->ids);
}

/* The epoch's examples: frequent words dropped at random, then each word
   with a window of 1..WINDOW words each side. Skip-gram: one example per
   (centre, window word), predicting the window word from the centre; CBOW:
   one per centre, predicting it from its window. */
static void make_examples(const corpus *c, int cbow, const double *discard, ag_rng *rng,
                          examples *ex, int64_t *kept)
{
    int64_t n = 0, m = 0;
    for (int64_t i = 0; i < c->n; i++)
        if (ag_rng_uniform(rng) < 1 - discard[c->ids[i]]) kept[n++] = c->ids[i];
    ex->n = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t b = 1 + (int64_t)(ag_rng_u64(rng) % WINDOW), first = m;
        for (int64_t j = i - b; j <= i + b; j++) {
            if (j < 0 || j >= n || j == i) continue;
            if (!cbow) ex->start[ex->n] = m, ex->target[ex->n++] = kept[j];
            ex->inputs[m++] = cbow ? kept[j] : kept[i];
        }
        if (cbow && m > first) ex->start[ex->n] = first, ex->target[ex->n++] = kept[i];
    }
    ex->start[ex->n] = m;
}

/* What training needs besides a model: buffers, the generator, the tape. */
typedef struct work {
    examples ex;
    int64_t *table, *kept, *order, *buf;
    ag_rng *rng;
    ag_tape *t;
    double *discard;            /* [n_vocab] each word's subsampling probability */
    ag_huffman *tree;           /* hierarchical softmax's, or NULL: negative sampling */
} work;

typedef struct model {
    const char *name;
    int cbow;
    ag_module *in, *out;        /* Embedding(n_vocab, DIM); out: n_vocab - 1 rows with hs */
    ag_optim *opt;
} model;

/* Negative sampling's loss: -log sigmoid(u_target.h) - sum_k log
   sigmoid(-u_k.h) over the noise words noise[b * NEG], mean over the batch. */
static ag_tensor *neg_loss(model *m, ag_tape *t, ag_tensor *h, const int64_t *target,
                           const int64_t *noise, int64_t b)
{
    ag_tensor *pos = ag_sum(t, ag_mul(t, h, ag_embedding_lookup(m->out, t, target, b)), 1, 1);
    ag_tensor *u = ag_reshape(t, ag_embedding_lookup(m->out, t, noise, b * NEG), 3,
                              (int64_t[]){b, NEG, DIM});
    ag_tensor *neg = ag_sum(t, ag_mul(t, u, ag_unsqueeze(t, h, 1)), 2, 0);      /* [b,NEG] */
    ag_tensor *logits = ag_concat(t, 2, (ag_tensor *[]){pos, neg}, 1);
    ag_tensor *labels = ag_concat(t, 2, (ag_tensor *[]){ag_ones(t, AG_F32, 2, (int64_t[]){b, 1}),
                                  ag_zeros(t, AG_F32, 2, (int64_t[]){b, NEG})}, 1);
    return ag_div_scalar(t, ag_bce_with_logits_loss(t, logits, labels, AG_REDUCTION_SUM),
                         (double)b);
}

/* Mean loss of the examples order[0..b) (and one Adam step): h = mean of
   the input rows, then negative sampling's loss with NEG noise words drawn
   from table (never the target itself), or hierarchical softmax's over
   tree (the out table's rows are its inner nodes). */
static double train_step(model *m, ag_tape *t, const examples *ex, const int64_t *order,
                         int64_t b, const work *w)
{
    const int64_t *table = w->table;
    ag_rng *rng = w->rng;
    int64_t *buf = w->buf;
    int64_t *target = buf, *noise = buf + b, *seg = noise + b * NEG, *in = seg + b * 2 * WINDOW;
    float scale[BATCH];
    int64_t n_in = 0;
    for (int64_t i = 0; i < b; i++) {
        const int64_t e = order[i], s = ex->start[e], k = ex->start[e + 1] - s;
        target[i] = ex->target[e], scale[i] = 1.0f / (float)k;
        for (int64_t j = 0; j < k; j++) seg[n_in] = i, in[n_in++] = ex->inputs[s + j];
        for (int j = 0, tries = 0; !w->tree && j < NEG; j++)  /* a few redraws of the target */
            do noise[i * NEG + j] = table[ag_rng_u64(rng) % TABLE];
            while (noise[i * NEG + j] == target[i] && ++tries < 10);
    }
    ag_tape_reset(t);
    ag_tensor *h = ag_index_add(t, ag_zeros(t, AG_F32, 2, (int64_t[]){b, DIM}), 0, seg, n_in,
                                ag_embedding_lookup(m->in, t, in, n_in));        /* [b,DIM] */
    h = ag_mul(t, h, ag_from_data(t, AG_F32, 2, (int64_t[]){b, 1}, scale));
    ag_tensor *loss = w->tree ? ag_hierarchical_softmax_loss(t, w->tree, h,
                                    ag_module_get(m->out, "weight"), target, b)
                              : neg_loss(m, t, h, target, noise, b);
    if (!loss || ag_backward(t, loss) != AG_OK)
        return fprintf(stderr, "word2vec: %s\n", ag_tape_errmsg(t)), -1;
    if (ag_optim_step(m->opt) != AG_OK)
        return fprintf(stderr, "word2vec: %s\n", ag_last_error()), -1;
    ag_optim_zero_grad(m->opt);
    return ag_tensor_get(loss, 0);
}

/* The input vectors scaled to length 1: [n_vocab, DIM], malloc'd (NULL
   when out of memory), so a dot product is a cosine similarity. */
static double *unit_vectors(const model *m, int64_t n_vocab)
{
    const float *w = ag_tensor_data(ag_module_get(m->in, "weight"));
    double *u = malloc((size_t)n_vocab * DIM * sizeof *u);
    for (int64_t i = 0; u && i < n_vocab; i++) {
        double norm = 1e-24;
        for (int d = 0; d < DIM; d++) norm += (double)w[i * DIM + d] * w[i * DIM + d];
        for (int d = 0; d < DIM; d++) u[i * DIM + d] = w[i * DIM + d] / sqrt(norm);
    }
    return u;
}

static double cosine(const double *u, int64_t a, int64_t b)
{
    double dot = 0;
    for (int d = 0; d < DIM; d++) dot += u[a * DIM + d] * u[b * DIM + d];
    return dot;
}

/* Prints the 5 nearest neighbours of word (nothing if not in the vocabulary). */
static void print_neighbours(const double *u, corpus *c, const char *word)
{
    entry *e = intern(c, word, 0);
    if (!e || e->id < 0) return;
    int64_t best[5] = {-1, -1, -1, -1, -1};
    double sim[5] = {-2, -2, -2, -2, -2};
    for (int64_t j = 0; j < c->n_vocab; j++) {
        double s = cosine(u, e->id, j);
        if (j == e->id || s <= sim[4]) continue;
        int k = 4;
        for (; k > 0 && s > sim[k - 1]; k--) sim[k] = sim[k - 1], best[k] = best[k - 1];
        sim[k] = s, best[k] = j;
    }
    printf("  %-10s", word);
    for (int k = 0; k < 5 && best[k] >= 0; k++) printf(" %s %.2f", c->vocab[best[k]]->word, sim[k]);
    printf("\n");
}

/* Mean cosine similarity of the related pairs found in the vocabulary, and
   of all pairs of distinct words: with s the sum of the unit vectors,
   sum over i != j of u_i.u_j = |s|^2 - n_vocab. Returns the number of
   related pairs found (printing them when print is set). */
static int compare_pairs(const double *u, corpus *c, double *related, double *all, int print)
{
    static const char *pairs[][2] = {{"source", "code"}, {"object", "code"},
        {"free", "software"}, {"patent", "grant"}, {"general", "public"},
        {"copyright", "holder"}, {"corresponding", "source"}, {"covered", "work"},
        {"modify", "convey"}, {"terms", "conditions"}};
    int found = 0;
    double s[DIM] = {0}, s2 = 0;
    *related = 0;
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
        entry *a = intern(c, pairs[i][0], 0), *b = intern(c, pairs[i][1], 0);
        if (!a || !b || a->id < 0 || b->id < 0) continue;
        if (print) printf(" %s/%s", pairs[i][0], pairs[i][1]);
        *related += cosine(u, a->id, b->id), found++;
    }
    for (int64_t i = 0; i < c->n_vocab; i++)
        for (int d = 0; d < DIM; d++) s[d] += u[i * DIM + d];
    for (int d = 0; d < DIM; d++) s2 += s[d] * s[d];
    *related /= found ? found : 1;
    *all = (s2 - (double)c->n_vocab) / ((double)c->n_vocab * (double)(c->n_vocab - 1));
    return found;
}

/* The noise table: word w fills a share count(w)^0.75 / sum of counts^0.75. */
static void fill_noise_table(const corpus *c, int64_t *table)
{
    double z = 0, acc = 0;
    for (int64_t w = 0; w < c->n_vocab; w++) z += pow((double)c->vocab[w]->count, 0.75);
    for (int64_t w = 0, i = 0; w < c->n_vocab; w++) {
        acc += pow((double)c->vocab[w]->count, 0.75) / z;
        for (; i < TABLE && (double)i < acc * TABLE; i++) table[i] = w;
    }
}

/* The two tables, initialized as word2vec's C code does (input vectors
   U(-0.5/DIM, 0.5/DIM), output vectors 0), and Adam over both. */
static int build(model *m, int64_t n_vocab, int hs, ag_rng *rng, double lr)
{
    m->in = ag_embedding_new(n_vocab, DIM, AG_F32, rng);
    m->out = ag_embedding_new(hs ? n_vocab - 1 : n_vocab, DIM, AG_F32, rng);
    ag_tensor *p[2] = {ag_module_get(m->in, "weight"), ag_module_get(m->out, "weight")};
    ag_adam_opts o = ag_adam_defaults();
    o.lr = lr;
    if (!m->in || !m->out || ag_init_uniform(p[0], -0.5 / DIM, 0.5 / DIM, rng) != AG_OK ||
        ag_init_zeros(p[1]) != AG_OK || !(m->opt = ag_adam_new(2, p, &o)))
        return fprintf(stderr, "word2vec: %s\n", ag_last_error()), -1;
    return 0;
}

/* Each word's subsampling probability by rule, and the Huffman tree when
   hs is set; 0 on success. */
static int setup_sampling(const corpus *c, work *w, int hs, ag_subsample_rule rule)
{
    w->discard = malloc((size_t)c->n_vocab * sizeof *w->discard);
    int64_t *counts = malloc((size_t)c->n_vocab * sizeof *counts);
    int rc = w->discard && counts ? 0 : -1;
    for (int64_t i = 0; !rc && i < c->n_vocab; i++) {
        counts[i] = c->vocab[i]->count;
        rc = ag_subsample_discard_prob(counts[i], c->n, 1e-3, rule, &w->discard[i]) != AG_OK;
    }
    if (!rc && hs && !(w->tree = ag_huffman_new(c->n_vocab, counts))) rc = -1;
    if (rc) fprintf(stderr, "word2vec: %s\n", ag_last_error());
    free(counts);
    return rc;
}

static int out_of_memory(void)
{
    fprintf(stderr, "word2vec: out of memory\n");
    return 1;
}

/* Trains m for epochs, printing the loss of each; 0 on success. */
static int train(model *m, const corpus *c, work *w, long epochs)
{
    int64_t bs = m->cbow ? BATCH / 4 : BATCH;   /* about as many steps for both */
    for (long e = 0; e < epochs; e++) {
        make_examples(c, m->cbow, w->discard, w->rng, &w->ex, w->kept);
        ag_epoch_order(w->order, w->ex.n, w->rng);
        double sum = 0;
        for (int64_t s = 0; s < w->ex.n; s += bs) {
            int64_t b = w->ex.n - s < bs ? w->ex.n - s : bs;
            double l = train_step(m, w->t, &w->ex, w->order + s, b, w);
            if (l < 0) return 1;
            sum += l * (double)b;
        }
        printf("%-9s epoch %2ld  loss %.4f  (%lld examples)\n", m->name, e + 1,
               w->ex.n ? sum / (double)w->ex.n : 0.0, (long long)w->ex.n);
    }
    return 0;
}

/* Nearest neighbours of a few words, then related pairs against all pairs. */
static int report(const model *m, corpus *c)
{
    const char *queries[] = {"software", "license", "copy", "source", "program", "code",
                             "patent", "free"};
    double *unit[2] = {unit_vectors(&m[0], c->n_vocab), unit_vectors(&m[1], c->n_vocab)};
    double related, all;
    if (!unit[0] || !unit[1]) return free(unit[0]), free(unit[1]), out_of_memory();
    for (int k = 0; k < 2; k++) {
        printf("\nnearest neighbours, %s:\n", m[k].name);
        for (size_t q = 0; q < sizeof queries / sizeof *queries; q++)
            print_neighbours(unit[k], c, queries[q]);
    }
    printf("\nrelated pairs:");
    int found = compare_pairs(unit[0], c, &related, &all, 1);
    printf(found ? " (%d in the vocabulary)\n" : " none in the vocabulary\n", found);
    for (int k = 0; k < 2 && compare_pairs(unit[k], c, &related, &all, 0); k++)
        printf("%-9s mean cosine similarity: related pairs %.3f, all pairs %.3f\n", m[k].name,
               related, all);
    free(unit[0]), free(unit[1]);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = "/usr/share/common-licenses/GPL-3";
    long epochs = 0, seed = 1;
    double lr = 0.01;
    int quick = 0, hs = 0;
    ag_subsample_rule rule = AG_SUBSAMPLE_WORD2VEC_C;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        long *num = !strcmp(a, "--epochs") ? &epochs : !strcmp(a, "--seed") ? &seed : NULL;
        if (!strcmp(a, "--help")) {
            printf("usage: word2vec [--quick] [--epochs N] [--lr X] [--seed N] [--loss neg|hs]\n"
                   "                [--subsample c|paper] [FILE]\n"
                   "  FILE        a text (default %s)\n"
                   "  --loss L    neg: negative sampling (default); hs: hierarchical softmax\n"
                   "  --subsample R  c: word2vec.c's rule (default); paper: 1 - sqrt(t/f)\n"
                   "  --epochs N  epochs per model (default 20; --quick: 5)\n"
                   "  --lr X      Adam's learning rate (default 0.01)\n"
                   "  --seed N    random seed (default 1)\n", path);
            return 0;
        }
        if (!strcmp(a, "--quick")) quick = 1;
        else if (num && v && (*num = strtol(v, &end, 10)) >= (num == &epochs) && !*end &&
                 *num < 100000) i++;
        else if (!strcmp(a, "--lr") && v && (lr = strtod(v, &end)) > 0 && !*end) i++;
        else if (!strcmp(a, "--loss") && v && (!strcmp(v, "neg") || !strcmp(v, "hs")))
            hs = !strcmp(argv[++i], "hs");
        else if (!strcmp(a, "--subsample") && v && (!strcmp(v, "c") || !strcmp(v, "paper")))
            rule = !strcmp(argv[++i], "c") ? AG_SUBSAMPLE_WORD2VEC_C : AG_SUBSAMPLE_PAPER;
        else if (a[0] != '-') path = a;
        else
            return fprintf(stderr, "word2vec: bad or incomplete option '%s' (see --help)\n", a), 2;
    }
    if (!epochs) epochs = quick ? 5 : 20;
    corpus c = {0};
    int rc = read_corpus(path, &c);
    if (!rc && c.n_vocab < 2)
        rc = (fprintf(stderr, "word2vec: '%s' has fewer than 2 words seen %d times\n", path,
                      MIN_COUNT), 1);
    if (rc) return free_corpus(&c), 1;
    printf("%s: %lld words, vocabulary %lld (count >= %d)\n%s; subsampling by %s rule\n",
           path, (long long)c.n, (long long)c.n_vocab, MIN_COUNT,
           hs ? "hierarchical softmax" : "negative sampling (5 noise words)",
           rule == AG_SUBSAMPLE_PAPER ? "the paper's" : "word2vec.c's");
    size_t cap = (size_t)c.n * 2 * WINDOW;
    work w = {{malloc(cap * sizeof(int64_t)), malloc((cap + 1) * sizeof(int64_t)),
               malloc(cap * sizeof(int64_t)), 0},
              malloc(TABLE * sizeof(int64_t)), malloc((size_t)c.n * sizeof(int64_t)),
              malloc(cap * sizeof(int64_t)),
              malloc(BATCH * (1 + NEG + 4 * WINDOW) * sizeof(int64_t)),
              ag_rng_new((uint64_t)seed), ag_tape_new(), NULL, NULL};
    model m[2] = {{"skip-gram", 0, NULL, NULL, NULL}, {"CBOW", 1, NULL, NULL, NULL}};
    if (!w.ex.target || !w.ex.start || !w.ex.inputs || !w.table || !w.kept || !w.order ||
        !w.buf || !w.rng || !w.t)
        rc = out_of_memory();
    if (!rc) fill_noise_table(&c, w.table);
    if (!rc) rc = setup_sampling(&c, &w, hs, rule);
    for (int k = 0; k < 2 && !rc; k++)
        rc = build(&m[k], c.n_vocab, hs, w.rng, lr) || train(&m[k], &c, &w, epochs);
    if (!rc) rc = report(m, &c);
    for (int k = 0; k < 2; k++)
        ag_optim_free(m[k].opt), ag_module_free(m[k].in), ag_module_free(m[k].out);
    free(w.ex.target), free(w.ex.start), free(w.ex.inputs);
    free(w.table), free(w.kept), free(w.order), free(w.buf), free(w.discard);
    ag_huffman_free(w.tree);
    ag_rng_free(w.rng);
    ag_tape_free(w.t);
    free_corpus(&c);
    return rc;
}
