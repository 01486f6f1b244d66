/*
** ag_word2vec.h: the pieces of word2vec (Mikolov et al. 2013) that are
** not plain embeddings: the subsampling of frequent words, the Huffman
** tree over a vocabulary, and the hierarchical-softmax loss over it
** (built from ops, so its gradients, and their gradients, come from
** backward). Negative sampling needs no helper: it is a
** binary cross-entropy with logits over looked-up rows (ag_loss.h);
** examples/word2vec.c trains with either.
**
**     ag_huffman *tree = ag_huffman_new(n_vocab, counts);
**     ag_tensor *nodes = ag_zeros(NULL, AG_F32, 2, (int64_t[]){n_vocab - 1, dim});
**     ag_set_requires_grad(nodes, 1);
**     ...
**     ag_tensor *loss = ag_hierarchical_softmax_loss(t, tree, h, nodes, targets, b);
**     ag_backward(t, loss);
**     ag_huffman_free(tree);
*/
#ifndef AG_WORD2VEC_H
#define AG_WORD2VEC_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------- subsampling --- */

typedef enum ag_subsample_rule {
    /* The paper's (Mikolov et al. 2013, "Distributed representations of
       words and phrases", eq. 5): P(discard w) = 1 - sqrt(t / f(w)). */
    AG_SUBSAMPLE_PAPER = 0,
    /* The released word2vec.c's: P(keep w) = sqrt(t / f) + t / f, so
       P(discard w) = 1 - sqrt(t / f) - t / f. */
    AG_SUBSAMPLE_WORD2VEC_C
} ag_subsample_rule;

/*
** The probability of discarding one occurrence of a word seen count times
** in a text of total words, f = count / total, by rule with threshold t
** (1e-3 in word2vec.c, 1e-5 in the paper), clamped to [0, 1] (a word with
** f <= t is never discarded by the paper's rule). *p gets it. AG_ERR_ARG
** with ag_last_error() naming the value for p NULL, count < 1, total <
** count, t not finite and > 0, or an unknown rule.
*/
ag_status ag_subsample_discard_prob(int64_t count, int64_t total, double t,
                                    ag_subsample_rule rule, double *p);

/* ------------------------------------------------------- Huffman tree --- */

typedef struct ag_huffman ag_huffman;

/*
** The Huffman tree over n >= 2 words of the given counts (each >= 1), as
** word2vec.c builds it: repeatedly joins the two least frequent nodes (the
** lesser gets bit 0, the other bit 1; ties go to the word of higher
** index, then to the older inner node). Its n - 1 inner nodes are
** numbered 0 .. n-2, the root n-2. Frequent words get short codes; the
** code lengths minimize sum count * length. NULL + ag_last_error() for n
** < 2, counts NULL, a count < 1, or no memory.
*/
ag_huffman *ag_huffman_new(int64_t n, const int64_t *counts);
void ag_huffman_free(ag_huffman *h);                /* NULL is a no-op */

int64_t ag_huffman_num_words(const ag_huffman *h);
/* The length of word w's code (its depth), 0 for w out of range. */
int ag_huffman_code_length(const ag_huffman *h, int64_t w);
/* Word w's code bits (0 or 1) and the inner nodes on its path, both from
   the root down, code_length entries each; NULL for w out of range. They
   belong to h. */
const unsigned char *ag_huffman_code(const ag_huffman *h, int64_t w);
const int64_t *ag_huffman_path(const ag_huffman *h, int64_t w);

/* ---------------------------------------------- hierarchical softmax --- */

/*
** The hierarchical-softmax loss of predicting targets[0..b) from hidden
** [b, D]: the mean over the batch of -log P(target | h), where P(w | h) =
** prod over w's path of sigmoid(v_node . h) when the code bit is 0 and
** sigmoid(-v_node . h) when it is 1 (word2vec.c's convention), v_node the
** row of node_vectors [n - 1, D] (f32 or f64, hidden's dtype). These
** probabilities sum to 1 over the vocabulary. Built from ops
** (index_select, mul, sum, binary cross-entropy with logits): gradients
** of any order reach hidden and node_vectors. A 0-d result on t; NULL
** with the error on t for h, targets or the tensors NULL, b < 1, a target
** out of range, or shapes or dtypes that do not fit.
*/
ag_tensor *ag_hierarchical_softmax_loss(ag_tape *t, const ag_huffman *h, ag_tensor *hidden,
                                        ag_tensor *node_vectors, const int64_t *targets,
                                        int64_t b);

#ifdef __cplusplus
}
#endif
#endif
