/*
** test_word2vec.c: word2vec's helpers (ag_word2vec.h). The subsampling
** probabilities of both rules against their formulas; Huffman codes by
** hand for a small vocabulary, prefix-free with Kraft's sum 1 and of the
** optimal weighted length (against an independent Huffman cost) for a
** random one; the hierarchical softmax: its probabilities sum to 1 over
** the vocabulary, the loss against a naive loop, gradcheck and
** gradgradcheck in f64; the error paths.
*/
#include "test_util.h"

START_TEST(test_subsample_probabilities_follow_the_rules)
{
    double p;
    /* f = 1e-4, t = 1e-5: t/f = 0.1 */
    ck_assert_int_eq(ag_subsample_discard_prob(100, 1000000, 1e-5, AG_SUBSAMPLE_PAPER, &p), AG_OK);
    ck_assert_double_eq_tol(p, 1 - sqrt(0.1), 1e-15);
    ck_assert_int_eq(ag_subsample_discard_prob(100, 1000000, 1e-5, AG_SUBSAMPLE_WORD2VEC_C, &p),
                     AG_OK);
    ck_assert_double_eq_tol(p, 1 - sqrt(0.1) - 0.1, 1e-15);
    /* f = 0.05, t = 1e-3 (the example's): t/f = 0.02 */
    ck_assert_int_eq(ag_subsample_discard_prob(50, 1000, 1e-3, AG_SUBSAMPLE_PAPER, &p), AG_OK);
    ck_assert_double_eq_tol(p, 1 - sqrt(0.02), 1e-15);
    ck_assert_int_eq(ag_subsample_discard_prob(50, 1000, 1e-3, AG_SUBSAMPLE_WORD2VEC_C, &p), AG_OK);
    ck_assert_double_eq_tol(p, 1 - sqrt(0.02) - 0.02, 1e-15);
    /* rare words (f <= t) are always kept; the C rule keeps more */
    ck_assert_int_eq(ag_subsample_discard_prob(1, 1000000, 1e-5, AG_SUBSAMPLE_PAPER, &p), AG_OK);
    ck_assert_double_eq(p, 0);
    ck_assert_int_eq(ag_subsample_discard_prob(4, 100000, 1e-5, AG_SUBSAMPLE_WORD2VEC_C, &p),
                     AG_OK);        /* t/f = 0.25: 1 - 0.5 - 0.25 */
    ck_assert_double_eq_tol(p, 0.25, 1e-15);
    ck_assert_int_eq(ag_subsample_discard_prob(10, 100000, 1e-5, AG_SUBSAMPLE_WORD2VEC_C, &p),
                     AG_OK);        /* t/f = 0.1 */
    ck_assert_double_eq_tol(p, 1 - sqrt(0.1) - 0.1, 1e-15);
    ck_assert_int_eq(ag_subsample_discard_prob(5, 100000, 1e-5, AG_SUBSAMPLE_WORD2VEC_C, &p),
                     AG_OK);        /* t/f = 0.2: 1 - 0.447 - 0.2 */
    ck_assert_double_eq_tol(p, 1 - sqrt(0.2) - 0.2, 1e-15);
    ck_assert_int_eq(ag_subsample_discard_prob(2, 100000, 1e-5, AG_SUBSAMPLE_WORD2VEC_C, &p),
                     AG_OK);        /* t/f = 0.5: negative, clamped */
    ck_assert_double_eq(p, 0);
    /* errors */
    ck_assert_int_eq(ag_subsample_discard_prob(0, 10, 1e-3, AG_SUBSAMPLE_PAPER, &p), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "count 0 of total 10"));
    ck_assert_int_eq(ag_subsample_discard_prob(11, 10, 1e-3, AG_SUBSAMPLE_PAPER, &p), AG_ERR_ARG);
    ck_assert_int_eq(ag_subsample_discard_prob(1, 10, 0, AG_SUBSAMPLE_PAPER, &p), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "t is 0, must be finite and > 0"));
    ck_assert_int_eq(ag_subsample_discard_prob(1, 10, 1e-3, (ag_subsample_rule)5, &p), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "rule is 5"));
    ck_assert_int_eq(ag_subsample_discard_prob(1, 10, 1e-3, AG_SUBSAMPLE_PAPER, NULL), AG_ERR_ARG);
}
END_TEST

/* No code is a prefix of another, and sum 2^-length is 1 (a full tree). */
static void assert_prefix_free(const ag_huffman *h)
{
    int64_t n = ag_huffman_num_words(h);
    double kraft = 0;
    for (int64_t a = 0; a < n; a++) {
        int la = ag_huffman_code_length(h, a);
        kraft += ldexp(1, -la);
        ck_assert_int_eq(ag_huffman_path(h, a)[0], n - 2);             /* the root */
        for (int64_t b = 0; b < n; b++) {
            int lb = ag_huffman_code_length(h, b);
            if (a == b || lb < la) continue;
            ck_assert_msg(memcmp(ag_huffman_code(h, a), ag_huffman_code(h, b), (size_t)la) != 0,
                          "code of %lld is a prefix of %lld's", (long long)a, (long long)b);
        }
    }
    ck_assert_double_eq_tol(kraft, 1, 1e-12);
}

START_TEST(test_huffman_codes_by_hand)
{
    static const int64_t counts[5] = {1, 8, 1, 4, 2};
    static const int lengths[5] = {4, 1, 4, 2, 3};
    ag_huffman *h = ag_huffman_new(5, counts);
    ck_assert_ptr_nonnull(h);
    for (int w = 0; w < 5; w++) ck_assert_int_eq(ag_huffman_code_length(h, w), lengths[w]);
    assert_prefix_free(h);
    /* word 1 (count 8) is the root's bit-1 child: the 8 outweighs 1+1+2+4 */
    ck_assert_int_eq(ag_huffman_code(h, 1)[0], 1);
    /* words 0 and 2 are siblings below the same three inner nodes */
    ck_assert_int_eq(memcmp(ag_huffman_path(h, 0), ag_huffman_path(h, 2), 4 * sizeof(int64_t)), 0);
    ck_assert_int_ne(ag_huffman_code(h, 0)[3], ag_huffman_code(h, 2)[3]);
    ck_assert_ptr_null(ag_huffman_code(h, 5));
    ck_assert_int_eq(ag_huffman_code_length(h, -1), 0);
    ag_huffman_free(h);
}
END_TEST

/* The optimal cost sum count * length is the sum of the weights of every
   merge (Huffman's theorem); computed here by an O(n^2) selection. */
static int64_t huffman_cost(int n, const int64_t *counts)
{
    int64_t w[64], cost = 0;
    memcpy(w, counts, (size_t)n * sizeof *w);
    for (int m = n; m > 1; m--) {
        for (int k = 0; k < 2; k++) {      /* move the two smallest to the end */
            int lo = 0;
            for (int i = 1; i < m - k; i++) if (w[i] < w[lo]) lo = i;
            int64_t tmp = w[lo]; w[lo] = w[m - k - 1]; w[m - k - 1] = tmp;
        }
        w[m - 2] += w[m - 1];
        cost += w[m - 2];
    }
    return cost;
}

START_TEST(test_huffman_codes_are_optimal)
{
    int64_t counts[50];
    uint64_t s = 12345;
    for (int i = 0; i < 50; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        counts[i] = 1 + (int64_t)((s >> 33) % (i % 3 ? 20 : 1000));
    }
    ag_huffman *h = ag_huffman_new(50, counts);
    int64_t cost = 0;
    for (int w = 0; w < 50; w++) cost += counts[w] * ag_huffman_code_length(h, w);
    ck_assert_int_eq(cost, huffman_cost(50, counts));
    assert_prefix_free(h);
    ag_huffman_free(h);
    ck_assert_ptr_null(ag_huffman_new(1, counts));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "need at least 2 words"));
    counts[3] = 0;
    ck_assert_ptr_null(ag_huffman_new(50, counts));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_huffman_new: count 3 is 0, must be >= 1"));
}
END_TEST

/* ------------------------------------------------ hierarchical softmax --- */

static const int64_t COUNTS[6] = {5, 9, 2, 7, 1, 3};

typedef struct hs_ctx { ag_huffman *h; const int64_t *targets; int64_t b; } hs_ctx;

static ag_tensor *hs_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    hs_ctx *c = ctx;
    return ag_hierarchical_softmax_loss(t, c->h, in[0], in[1], c->targets, c->b);
}

/* -log P(w | h) by a naive loop over the path. */
static double naive_nll(const ag_huffman *h, const double *hid, const double *nodes, int d,
                        int64_t w)
{
    double nll = 0;
    for (int k = 0; k < ag_huffman_code_length(h, w); k++) {
        const double *v = nodes + ag_huffman_path(h, w)[k] * d;
        double z = 0;
        for (int j = 0; j < d; j++) z += v[j] * hid[j];
        if (ag_huffman_code(h, w)[k]) z = -z;
        nll += log1p(exp(-z));
    }
    return nll;
}

START_TEST(test_hierarchical_softmax_is_a_distribution)
{
    ag_huffman *h = ag_huffman_new(6, COUNTS);
    ag_tensor *hid = tu_random(2, SHAPE(3, 4), -1, 1, 11), *nodes = tu_random(2, SHAPE(5, 4), -1, 1, 12);
    ag_tape *t = ag_tape_new();
    const double *hv = ag_tensor_data(hid), *nv = ag_tensor_data(nodes);
    /* one example: the probabilities of the six words sum to 1 */
    double total = 0;
    for (int64_t w = 0; w < 6; w++) {
        ag_tensor *row = ag_slice(t, hid, 0, 0, 1, 1);
        ag_tensor *l = ag_hierarchical_softmax_loss(t, h, row, nodes, &w, 1);
        ck_assert_ptr_nonnull(l);
        ck_assert_double_eq_tol(ag_tensor_get(l, 0), naive_nll(h, hv, nv, 4, w), 1e-12);
        total += exp(-ag_tensor_get(l, 0));
    }
    ck_assert_double_eq_tol(total, 1, 1e-12);
    /* a batch: the mean of the naive losses */
    static const int64_t targets[3] = {4, 1, 2};
    ag_tensor *l = ag_hierarchical_softmax_loss(t, h, hid, nodes, targets, 3);
    double want = 0;
    for (int i = 0; i < 3; i++) want += naive_nll(h, hv + 4 * i, nv, 4, targets[i]) / 3;
    ck_assert_double_eq_tol(ag_tensor_get(l, 0), want, 1e-12);
    /* gradients of first and second order */
    hs_ctx c = {h, targets, 3};
    ag_tensor *in[2] = {hid, nodes};
    tu_assert_gradchecks(hs_fn, &c, 2, in);
    ag_tape_free(t);
    ag_tensor_free(hid), ag_tensor_free(nodes);
    ag_huffman_free(h);
}
END_TEST

START_TEST(test_hierarchical_softmax_errors)
{
    ag_huffman *h = ag_huffman_new(6, COUNTS);
    ag_tensor *hid = tu_random(2, SHAPE(2, 4), -1, 1, 13), *nodes = tu_random(2, SHAPE(5, 4), -1, 1, 12);
    ag_tensor *wrong = tu_random(2, SHAPE(6, 4), -1, 1, 14);
    ag_tape *t = ag_tape_new();
    int64_t targets[2] = {0, 6};
    tu_assert_error(t, ag_hierarchical_softmax_loss(t, h, hid, nodes, targets, 2), AG_ERR_ARG,
                    "ag_hierarchical_softmax_loss: target 1 is 6", "for 6 words");
    ag_tape_reset(t);
    targets[1] = 2;
    tu_assert_error(t, ag_hierarchical_softmax_loss(t, h, hid, wrong, targets, 2), AG_ERR_SHAPE,
                    "node_vectors [n-1=5, D]", "hidden must be [b=2, D]");
    ag_tape_reset(t);
    tu_assert_error(t, ag_hierarchical_softmax_loss(t, NULL, hid, nodes, targets, 2), AG_ERR_ARG,
                    "ag_hierarchical_softmax_loss", "the tree is NULL");
    ag_tape_free(t);
    ag_tensor_free(hid), ag_tensor_free(nodes), ag_tensor_free(wrong);
    ag_huffman_free(h);
}
END_TEST

Suite *suite_word2vec(void)
{
    Suite *s = suite_create("word2vec");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_subsample_probabilities_follow_the_rules);
    tcase_add_test(tc, test_huffman_codes_by_hand);
    tcase_add_test(tc, test_huffman_codes_are_optimal);
    tcase_add_test(tc, test_hierarchical_softmax_is_a_distribution);
    tcase_add_test(tc, test_hierarchical_softmax_errors);
    suite_add_tcase(s, tc);
    return s;
}
