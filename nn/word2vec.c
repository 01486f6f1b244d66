/*
** word2vec.c: word2vec's subsampling rule, its Huffman tree (the two-queue
** construction of the released word2vec.c) and the hierarchical-softmax
** loss over the tree, composed from ops. Training loops live in
** examples/word2vec.c.
*/
#include "ag.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

ag_status ag_subsample_discard_prob(int64_t count, int64_t total, double t,
                                    ag_subsample_rule rule, double *p)
{
    const char *fn = "ag_subsample_discard_prob";
    if (!p) return ag_set_last_error(AG_ERR_ARG, "%s: p is NULL", fn);
    if (count < 1 || total < count)
        return ag_set_last_error(AG_ERR_ARG, "%s: count %lld of total %lld: need 1 <= count "
                                 "<= total", fn, (long long)count, (long long)total);
    if (!(t > 0 && isfinite(t)))
        return ag_set_last_error(AG_ERR_ARG, "%s: t is %g, must be finite and > 0", fn, t);
    double r = t / ((double)count / (double)total);
    if (rule == AG_SUBSAMPLE_PAPER) *p = 1 - sqrt(r);
    else if (rule == AG_SUBSAMPLE_WORD2VEC_C) *p = 1 - sqrt(r) - r;
    else return ag_set_last_error(AG_ERR_ARG, "%s: rule is %d, must be AG_SUBSAMPLE_PAPER or "
                                  "AG_SUBSAMPLE_WORD2VEC_C", fn, (int)rule);
    *p = fmin(1, fmax(0, *p));
    return AG_OK;
}

/* ------------------------------------------------------- Huffman tree --- */

struct ag_huffman {
    int64_t n;
    int *len;                   /* [n] code lengths */
    unsigned char *code;        /* [n * max_len] bits, root first */
    int64_t *path;              /* [n * max_len] inner nodes, root first */
    int max_len;
};

typedef struct word_count { int64_t count, word; } word_count;

/* Decreasing count, then increasing index. */
static int by_count(const void *a, const void *b)
{
    const word_count *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return (x->word > y->word) - (x->word < y->word);
}

/* order[] = the words by decreasing count (ties by index); 0 when out of
   memory. */
static int sort_words(int64_t n, const int64_t *counts, int64_t *order)
{
    word_count *wc = malloc((size_t)n * sizeof *wc);
    if (!wc) return 0;
    for (int64_t i = 0; i < n; i++) wc[i].count = counts[i], wc[i].word = i;
    qsort(wc, (size_t)n, sizeof *wc, by_count);
    for (int64_t i = 0; i < n; i++) order[i] = wc[i].word;
    free(wc);
    return 1;
}

/* Joins the two least frequent nodes n - 1 times; nodes 0..n-1 are the
   words in order[] (by decreasing count), n.. the inner nodes. */
static void build_tree(int64_t n, const int64_t *counts, const int64_t *order, int64_t *cnt,
                       int64_t *parent, unsigned char *bit)
{
    for (int64_t i = 0; i < n; i++) cnt[i] = counts[order[i]];
    for (int64_t i = n; i < 2 * n; i++) cnt[i] = INT64_MAX;
    int64_t pos1 = n - 1, pos2 = n;
    for (int64_t a = 0; a < n - 1; a++) {
        int64_t m[2];
        for (int k = 0; k < 2; k++)
            m[k] = pos1 >= 0 && cnt[pos1] < cnt[pos2] ? pos1-- : pos2++;
        cnt[n + a] = cnt[m[0]] + cnt[m[1]];
        parent[m[0]] = parent[m[1]] = n + a;
        bit[m[0]] = 0, bit[m[1]] = 1;
    }
}

/* Codes and paths from each word up to the root, stored root first. */
static int fill_codes(ag_huffman *h, const int64_t *order, const int64_t *parent,
                      const unsigned char *bit)
{
    int64_t n = h->n, root = 2 * n - 2;
    h->max_len = 0;
    for (int64_t i = 0; i < n; i++) {
        int len = 0;
        for (int64_t b = i; b != root; b = parent[b]) len++;
        h->len[order[i]] = len;
        if (len > h->max_len) h->max_len = len;
    }
    h->code = malloc((size_t)(n * h->max_len));
    h->path = malloc((size_t)(n * h->max_len) * sizeof *h->path);
    if (!h->code || !h->path) return 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t w = order[i], b = i;
        for (int d = h->len[w] - 1; d >= 0; d--, b = parent[b]) {
            h->code[w * h->max_len + d] = bit[b];
            h->path[w * h->max_len + d] = parent[b] - n;
        }
    }
    return 1;
}

ag_huffman *ag_huffman_new(int64_t n, const int64_t *counts)
{
    const char *fn = "ag_huffman_new";
    if (n < 2 || !counts)
        return ag_set_last_error(AG_ERR_ARG, "%s: %s", fn, !counts ? "counts is NULL" :
                                 "need at least 2 words"), NULL;
    for (int64_t i = 0; i < n; i++)
        if (counts[i] < 1)
            return ag_set_last_error(AG_ERR_ARG, "%s: count %lld is %lld, must be >= 1", fn,
                                     (long long)i, (long long)counts[i]), NULL;
    ag_huffman *h = calloc(1, sizeof *h);
    int64_t *order = malloc((size_t)n * sizeof *order);
    int64_t *cnt = malloc((size_t)(2 * n) * sizeof *cnt);
    int64_t *parent = malloc((size_t)(2 * n) * sizeof *parent);
    unsigned char *bit = malloc((size_t)(2 * n));
    int ok = h && order && cnt && parent && bit &&
             (h->len = malloc((size_t)n * sizeof *h->len)) != NULL;
    if (ok) {
        h->n = n;
        ok = sort_words(n, counts, order);
    }
    if (ok) {
        build_tree(n, counts, order, cnt, parent, bit);
        ok = fill_codes(h, order, parent, bit);
    }
    free(order), free(cnt), free(parent), free(bit);
    if (!ok) {
        ag_huffman_free(h);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn), NULL;
    }
    return h;
}

void ag_huffman_free(ag_huffman *h)
{
    if (!h) return;
    free(h->len), free(h->code), free(h->path), free(h);
}

int64_t ag_huffman_num_words(const ag_huffman *h) { return h ? h->n : 0; }

int ag_huffman_code_length(const ag_huffman *h, int64_t w)
{
    return h && w >= 0 && w < h->n ? h->len[w] : 0;
}

const unsigned char *ag_huffman_code(const ag_huffman *h, int64_t w)
{
    return h && w >= 0 && w < h->n ? h->code + w * h->max_len : NULL;
}

const int64_t *ag_huffman_path(const ag_huffman *h, int64_t w)
{
    return h && w >= 0 && w < h->n ? h->path + w * h->max_len : NULL;
}

/* ---------------------------------------------- hierarchical softmax --- */

static const char *const HS = "ag_hierarchical_softmax_loss";

static int hs_check(ag_tape *t, const ag_huffman *h, ag_tensor *hidden, ag_tensor *nodes,
                    const int64_t *targets, int64_t b)
{
    if (!h || !hidden || !nodes || !targets || b < 1)
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: %s", HS, !h ? "the tree is NULL" :
                                 !hidden ? "hidden is NULL" : !nodes ? "node_vectors is NULL" :
                                 !targets ? "targets is NULL" : "b < 1"), 0;
    if (ag_tensor_ndim(hidden) != 2 || ag_tensor_shape(hidden)[0] != b ||
        ag_tensor_ndim(nodes) != 2 || ag_tensor_shape(nodes)[0] != h->n - 1 ||
        ag_tensor_shape(nodes)[1] != ag_tensor_shape(hidden)[1])
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: hidden must be [b=%lld, D] and "
                                 "node_vectors [n-1=%lld, D]", HS, (long long)b,
                                 (long long)(h->n - 1)), 0;
    for (int64_t i = 0; i < b; i++)
        if (targets[i] < 0 || targets[i] >= h->n)
            return ag_tape_set_error(t, AG_ERR_ARG, "%s: target %lld is %lld, out of range "
                                     "for %lld words", HS, (long long)i,
                                     (long long)targets[i], (long long)h->n), 0;
    return 1;
}

ag_tensor *ag_hierarchical_softmax_loss(ag_tape *t, const ag_huffman *h, ag_tensor *hidden,
                                        ag_tensor *node_vectors, const int64_t *targets,
                                        int64_t b)
{
    if (!t || !hs_check(t, h, hidden, node_vectors, targets, b)) return NULL;
    int64_t total = 0, k = 0;
    for (int64_t i = 0; i < b; i++) total += h->len[targets[i]];
    int64_t *node = malloc((size_t)total * sizeof *node);
    int64_t *row = malloc((size_t)total * sizeof *row);
    double *label = malloc((size_t)total * sizeof *label);
    ag_tensor *loss = NULL;
    if (node && row && label) {
        for (int64_t i = 0; i < b; i++)        /* one entry per (example, path node) */
            for (int d = 0; d < h->len[targets[i]]; d++, k++) {
                node[k] = ag_huffman_path(h, targets[i])[d];
                row[k] = i;
                label[k] = 1 - ag_huffman_code(h, targets[i])[d];
            }
        ag_dtype dt = ag_tensor_dtype(hidden);
        ag_tensor *v = ag_index_select(t, node_vectors, 0, node, total);     /* [total, D] */
        ag_tensor *x = ag_index_select(t, hidden, 0, row, total);            /* [total, D] */
        ag_tensor *logits = ag_sum(t, ag_mul(t, v, x), 1, 0);               /* [total] */
        ag_tensor *y = ag_from_f64(t, dt, 1, (const int64_t[]){total}, label);
        loss = ag_div_scalar(t, ag_bce_with_logits_loss(t, logits, y, AG_REDUCTION_SUM),
                             (double)b);
    } else {
        (void)ag_tape_set_error(t, AG_ERR_NOMEM, "%s: out of memory", HS);
    }
    free(node), free(row), free(label);
    return loss;
}
