/*
** test_sample.c: multinomial (from weights and from logits, with and
** without replacement) and bernoulli. Each draw against the documented
** rule replayed with a copy of the generator (an independent naive loop);
** reproducibility for a seed and across thread counts; the empirical
** distribution of many draws against the probabilities by a chi-square
** test; no repeats without replacement; error paths, after which nothing
** was drawn.
**
** The chi-square bound. With N draws over K categories of probabilities
** p_k and counts n_k, X = sum (n_k - N p_k)^2 / (N p_k) is close to
** chi-square with K - 1 degrees of freedom for a correct sampler. Each
** test asserts X below that distribution's 1 - 1e-6 quantile (23.93,
** 27.63, 30.66, 35.89 for 1, 2, 3, 5 degrees; computed once with torch
** 1.13's regularized gamma function), so a correct sampler fails for about
** one seed in a million; the seeds are fixed, so the result is too. A
** sampler that moved mass between categories (an off-by-one in the
** search, say) gives X in the hundreds or more at these N.
*/
#include "test_util.h"

#include <stdint.h>
#include <stdlib.h>

#define assert_status_error(t, call, status, part1, part2)                    \
    do {                                                                      \
        ag_status s_ = (call);                                                \
        ck_assert_msg(s_ == (status), "returned %s, expected %s: %s",         \
                      ag_status_name(s_), ag_status_name(status),             \
                      ag_tape_errmsg(t));                                     \
        tu_assert_error(t, (void *)NULL, status, part1, part2);               \
    } while (0)

/* Pearson's X over the categories with p > 0 (a draw of a p = 0 category
   fails at once). */
static double chi_square(const int64_t *draws, int64_t n, int64_t stride, const double *p,
                         int k)
{
    int64_t count[16] = {0};
    for (int64_t i = 0; i < n; i++) {
        int64_t c = draws[i * stride];
        ck_assert_msg(c >= 0 && c < k && p[c] > 0, "draw %lld is category %lld", (long long)i,
                      (long long)c);
        count[c]++;
    }
    double x = 0;
    for (int c = 0; c < k; c++)
        if (p[c] > 0) x += pow((double)count[c] - (double)n * p[c], 2) / ((double)n * p[c]);
    return x;
}

/* The documented draw: the first c whose running sum of w exceeds u * sum(w). */
static int64_t naive_draw(const double *w, int k, double u)
{
    double total = 0, acc = 0;
    for (int c = 0; c < k; c++) total += w[c];
    for (int c = 0; c < k; c++) {
        acc += w[c];
        if (acc > u * total) return c;
    }
    return -1;
}

/* --------------------------------------------------- with replacement --- */

START_TEST(test_multinomial_follows_the_documented_draw)
{
    ag_tape *t = ag_tape_new();
    ag_rng *r = ag_rng_new(5), *ref = ag_rng_new(5);
    static const double W[2][4] = {{1, 2, 3, 4}, {0, 5, 0, 5}};
    ag_tensor *p = tu_tensor(AG_F64, 2, SHAPE(2, 4), &W[0][0]);
    int64_t out[2 * 50];
    ck_assert_int_eq(ag_multinomial(t, r, p, 50, 1, out, 100), AG_OK);
    for (int b = 0; b < 2; b++)
        for (int s = 0; s < 50; s++) {
            /* the row scaled by its max, as the header says (the same ratios) */
            double w[4];
            for (int c = 0; c < 4; c++) w[c] = W[b][c] / (b ? 5 : 4);
            ck_assert_int_eq(out[b * 50 + s], naive_draw(w, 4, ag_rng_uniform(ref)));
        }
    ck_assert_uint_eq(ag_rng_u64(r), ag_rng_u64(ref));   /* one uniform per sample */
    ag_tensor *none = ag_zeros(t, AG_F64, 2, SHAPE(0, 4));    /* no rows: nothing drawn */
    ck_assert_int_eq(ag_multinomial(t, r, none, 3, 0, out, 0), AG_OK);
    ck_assert_uint_eq(ag_rng_u64(r), ag_rng_u64(ref));
    ag_tape_free(t);
    ag_tensor_free(p);
    ag_rng_free(r);
    ag_rng_free(ref);
}
END_TEST

START_TEST(test_multinomial_distribution_with_replacement)
{
    ag_tape *t = ag_tape_new();
    ag_rng *r = ag_rng_new(2024);
    enum { N = 20000 };
    int64_t *out = malloc(2 * N * sizeof *out);
    ck_assert_ptr_nonnull(out);
    /* weights that do not add up to 1, one row with zeros, f32 */
    ag_tensor *p = tu_tensor(AG_F32, 2, SHAPE(2, 4), VALS(1, 2, 3, 4, 0.25, 0, 0.75, 0));
    ck_assert_int_eq(ag_multinomial(t, r, p, N, 1, out, 2 * N), AG_OK);
    double x0 = chi_square(out, N, 1, VALS(0.1, 0.2, 0.3, 0.4), 4);
    double x1 = chi_square(out + N, N, 1, VALS(0.25, 0, 0.75, 0), 4);
    ck_assert_msg(x0 < 30.66, "row 0: chi-square %g, 3 degrees", x0);
    ck_assert_msg(x1 < 23.93, "row 1: chi-square %g, 1 degree", x1);
    /* from logits: softmax(log(w) + 100) is w / sum(w); a -inf is never drawn */
    ag_tensor *l = tu_tensor(AG_F64, 1, SHAPE(5), VALS(log(1) + 100, log(2) + 100, -INFINITY,
                                                       log(3) + 100, log(4) + 100));
    ck_assert_int_eq(ag_multinomial_logits(t, r, l, N, 1, out, N), AG_OK);
    double xl = chi_square(out, N, 1, VALS(0.1, 0.2, 0, 0.3, 0.4), 5);
    ck_assert_msg(xl < 30.66, "logits: chi-square %g, 3 degrees", xl);
    free(out);
    ag_tape_free(t);
    ag_tensor_free(p);
    ag_tensor_free(l);
    ag_rng_free(r);
}
END_TEST

/* ------------------------------------------------ without replacement --- */

/* Sequential draws: the first from w, the second from w less the first. */
START_TEST(test_multinomial_without_replacement_follows_the_documented_draw)
{
    ag_tape *t = ag_tape_new();
    ag_rng *r = ag_rng_new(9), *ref = ag_rng_new(9);
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(5), VALS(0.1, 0, 0.4, 0.2, 0.3));
    int64_t out[4];
    for (int rep = 0; rep < 20; rep++) {
        ck_assert_int_eq(ag_multinomial(t, r, p, 4, 0, out, 4), AG_OK);
        double w[5] = {0.25, 0, 1, 0.5, 0.75};               /* scaled by the max */
        for (int s = 0; s < 4; s++) {
            int64_t c = naive_draw(w, 5, ag_rng_uniform(ref));
            ck_assert_int_eq(out[s], c);
            w[c] = 0;
        }
    }
    ag_tape_free(t);
    ag_tensor_free(p);
    ag_rng_free(r);
    ag_rng_free(ref);
}
END_TEST

/* Ordered pairs (i, j) have probability p_i p_j / (1 - p_i); no row ever
   repeats a category; drawing all C gives permutations. */
START_TEST(test_multinomial_without_replacement_distribution)
{
    ag_tape *t = ag_tape_new();
    ag_rng *r = ag_rng_new(77);
    enum { N = 20000 };
    int64_t *out = malloc(2 * N * sizeof *out), pair[N];
    ck_assert_ptr_nonnull(out);
    static const double P[3] = {0.5, 0.3, 0.2};
    ag_tensor *row = tu_tensor(AG_F64, 1, SHAPE(3), P);
    ag_tensor *rows = ag_expand(t, row, 2, SHAPE(N, 3));          /* N rows of P */
    ck_assert_int_eq(ag_multinomial(t, r, rows, 2, 0, out, 2 * N), AG_OK);
    double pp[9] = {0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) pp[i * 3 + j] = i == j ? 0 : P[i] * P[j] / (1 - P[i]);
    for (int64_t n = 0; n < N; n++) {
        ck_assert_int_ne(out[2 * n], out[2 * n + 1]);
        pair[n] = out[2 * n] * 3 + out[2 * n + 1];
    }
    double x = chi_square(pair, N, 1, pp, 9);
    ck_assert_msg(x < 35.89, "pairs: chi-square %g, 5 degrees", x);
    /* all the non-zero categories: a permutation of them every time */
    ag_tensor *w = tu_tensor(AG_F32, 1, SHAPE(6), VALS(3, 0, 1, 2, 0, 5));
    for (int rep = 0; rep < 200; rep++) {
        int seen[6] = {0};
        ck_assert_int_eq(ag_multinomial(t, r, w, 4, 0, out, 4), AG_OK);
        for (int s = 0; s < 4; s++) seen[out[s]]++;
        ck_assert(seen[0] == 1 && seen[2] == 1 && seen[3] == 1 && seen[5] == 1);
    }
    free(out);
    ag_tape_free(t);
    ag_tensor_free(row);
    ag_tensor_free(w);
    ag_rng_free(r);
}
END_TEST

/* ---------------------------------------------------- reproducibility --- */

START_TEST(test_sampling_is_reproducible_across_seeds_and_threads)
{
    ag_tensor *p = tu_random(2, SHAPE(3, 7), 0, 1, 500);
    int64_t a[3 * 5], b[3 * 5], c[3 * 5];
    double ba[21], bb[21];
    for (int threads = 1; threads <= 2; threads++) {
        ck_assert_int_eq(ag_set_num_threads(threads), AG_OK);
        ag_tape *t = ag_tape_new();
        ag_rng *r = ag_rng_new(31);
        int64_t *dst = threads == 1 ? a : b;
        double *bd = threads == 1 ? ba : bb;
        ck_assert_int_eq(ag_multinomial(t, r, p, 5, 0, dst, 15), AG_OK);
        ck_assert_int_eq(ag_multinomial_logits(t, r, p, 5, 1, c, 15), AG_OK);
        ag_tensor *m = ag_bernoulli(t, r, p);
        for (int i = 0; i < 21; i++) bd[i] = ag_tensor_get(m, i);
        ag_tape_free(t);
        ag_rng_free(r);
    }
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
    for (int i = 0; i < 15; i++) ck_assert_int_eq(a[i], b[i]);
    for (int i = 0; i < 21; i++) ck_assert_double_eq(ba[i], bb[i]);
    /* another seed gives other draws */
    ag_tape *t = ag_tape_new();
    ag_rng *r = ag_rng_new(32);
    ck_assert_int_eq(ag_multinomial(t, r, p, 5, 0, c, 15), AG_OK);
    ck_assert(memcmp(a, c, sizeof a) != 0);
    ag_tape_free(t);
    ag_rng_free(r);
    ag_tensor_free(p);
}
END_TEST

/* ---------------------------------------------------------- bernoulli --- */

START_TEST(test_bernoulli_follows_the_uniforms)
{
    ag_tape *t = ag_tape_new();
    ag_rng *r = ag_rng_new(13), *ref = ag_rng_new(13);
    ag_tensor *p = tu_random(2, SHAPE(4, 5), 0, 1, 600);
    ag_tensor_set(p, 0, 0);
    ag_tensor_set(p, 1, 1);
    ag_tensor *y = ag_bernoulli(t, r, p);
    tu_assert_shape(y, 2, SHAPE(4, 5));
    ck_assert_int_eq(ag_requires_grad(y), 0);
    for (int64_t i = 0; i < 20; i++)
        ck_assert_double_eq(ag_tensor_get(y, i), ag_rng_uniform(ref) < ag_tensor_get(p, i));
    ck_assert_double_eq(ag_tensor_get(y, 0), 0);
    ck_assert_double_eq(ag_tensor_get(y, 1), 1);
    ag_tensor *f = ag_bernoulli_p(t, r, AG_F32, 1, SHAPE(6), 0.5);
    ck_assert_int_eq(ag_tensor_dtype(f), AG_F32);
    for (int64_t i = 0; i < 6; i++)
        ck_assert_double_eq(ag_tensor_get(f, i), ag_rng_uniform(ref) < 0.5);
    ck_assert_uint_eq(ag_rng_u64(r), ag_rng_u64(ref));
    ck_assert_uint_eq(ag_tape_size(t), 0);
    ag_tape_free(t);
    ag_tensor_free(p);
    ag_rng_free(r);
    ag_rng_free(ref);
}
END_TEST

/* The mean of n draws of p = 0.3 is within 5 standard deviations,
   5 sqrt(p (1-p) / n) = 0.0072 at n = 1e5 (a correct sampler misses that
   about once in 3.5 million); p = 0 and p = 1 are exact. */
START_TEST(test_bernoulli_rate)
{
    ag_rng *r = ag_rng_new(99);
    ag_tensor *y = ag_bernoulli_p(NULL, r, AG_F64, 1, SHAPE(100000), 0.3);
    ck_assert_ptr_null(ag_tensor_tape(y));
    double sum = 0;
    for (int64_t i = 0; i < 100000; i++) sum += ag_tensor_get(y, i);
    ck_assert_msg(fabs(sum / 100000 - 0.3) < 0.0072, "rate %g", sum / 100000);
    ag_tensor_free(y);
    ag_tape *t = ag_tape_new();
    ag_tensor *z = ag_bernoulli_p(t, r, AG_F64, 1, SHAPE(1000), 0);
    ag_tensor *o = ag_bernoulli_p(t, r, AG_F64, 1, SHAPE(1000), 1);
    for (int64_t i = 0; i < 1000; i++) {
        ck_assert_double_eq(ag_tensor_get(z, i), 0);
        ck_assert_double_eq(ag_tensor_get(o, i), 1);
    }
    ag_tape_free(t);
    ag_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------ errors --- */

START_TEST(test_multinomial_errors_draw_nothing)
{
    ag_tape *t = ag_tape_new();
    ag_rng *r = ag_rng_new(1);
    uint64_t before[4], after[4];
    ag_rng_get_state(r, before);
    ag_tensor *neg = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(1, 1, -0.5, 1));
    ag_tensor *nan = tu_tensor(AG_F64, 1, SHAPE(2), VALS(NAN, 1));
    ag_tensor *inf = tu_tensor(AG_F32, 1, SHAPE(2), VALS(INFINITY, 1));
    ag_tensor *zero = tu_tensor(AG_F64, 2, SHAPE(2, 3), VALS(1, 2, 3, 0, 0, 0));
    ag_tensor *few = tu_tensor(AG_F64, 1, SHAPE(3), VALS(0, 1, 1));
    ag_tensor *cube = ag_ones(NULL, AG_F64, 3, SHAPE(1, 1, 2));
    ag_tensor *ninf = tu_tensor(AG_F64, 1, SHAPE(2), VALS(-INFINITY, -INFINITY));
    int64_t out[8];
    assert_status_error(t, ag_multinomial(t, r, neg, 1, 1, out, 8), AG_ERR_ARG,
                        "ag_multinomial: probs[1,0] is -0.5 (negative", "probs is [2,2]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial(t, r, nan, 1, 1, out, 8), AG_ERR_ARG,
                        "ag_multinomial: probs[0] is nan (NaN", "[2]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial(t, r, inf, 1, 1, out, 8), AG_ERR_ARG,
                        "probs[0] is inf (infinite", "[2]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial(t, r, zero, 1, 1, out, 8), AG_ERR_ARG,
                        "ag_multinomial: row 1 of probs has only zero weights", "[2,3]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial(t, r, few, 3, 0, out, 8), AG_ERR_ARG,
                        "cannot draw 3 samples without replacement from row 0 of probs",
                        "2 non-zero");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial(t, r, few, 4, 0, out, 8), AG_ERR_ARG,
                        "cannot draw 4 samples without replacement from 3 categories", "[3]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial(t, r, few, 0, 1, out, 8), AG_ERR_ARG,
                        "ag_multinomial: num_samples is 0", "at least 1");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial(t, r, cube, 1, 1, out, 8), AG_ERR_SHAPE,
                        "ag_multinomial: probs is [1,1,2]", "1-D [C] or 2-D [B, C]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial(t, r, neg, 5, 1, out, 8), AG_ERR_ARG,
                        "ag_multinomial: out has room for 8 samples, 2 rows of 5", "[2,2]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial(t, r, few, 1, 1, NULL, 8), AG_ERR_ARG,
                        "ag_multinomial", "out is NULL");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial(t, NULL, few, 1, 1, out, 8), AG_ERR_ARG,
                        "ag_multinomial", "generator is NULL");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial_logits(t, r, ninf, 1, 1, out, 8), AG_ERR_ARG,
                        "ag_multinomial_logits: row 0 of logits has only -inf logits", "[2]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial_logits(t, r, nan, 1, 1, out, 8), AG_ERR_ARG,
                        "ag_multinomial_logits: logits[0] is nan", "NaN");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_multinomial_logits(t, r, inf, 1, 1, out, 8), AG_ERR_ARG,
                        "ag_multinomial_logits: logits[0] is inf", "infinite");
    ag_tape_clear_error(t);
    ck_assert_int_eq(ag_multinomial(NULL, r, few, 1, 1, out, 8), AG_ERR_ARG);
    ag_rng_get_state(r, after);
    ck_assert(memcmp(before, after, sizeof before) == 0);      /* nothing was drawn */
    ag_tape_free(t);
    ag_rng_free(r);
    ag_tensor_free(neg);
    ag_tensor_free(nan);
    ag_tensor_free(inf);
    ag_tensor_free(zero);
    ag_tensor_free(few);
    ag_tensor_free(cube);
    ag_tensor_free(ninf);
}
END_TEST

START_TEST(test_bernoulli_errors_and_stale_inputs)
{
    ag_tape *t = ag_tape_new();
    ag_rng *r = ag_rng_new(1);
    uint64_t before[4], after[4];
    ag_rng_get_state(r, before);
    ag_tensor *p = tu_tensor(AG_F64, 2, SHAPE(2, 2), VALS(0.5, 0.5, 1.5, 0.5));
    tu_assert_error(t, ag_bernoulli(t, r, p), AG_ERR_ARG,
                    "ag_bernoulli: probs[1,0] is 1.5, not in [0, 1]", "[2,2]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_bernoulli(t, NULL, p), AG_ERR_ARG, "ag_bernoulli",
                    "generator is NULL");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_bernoulli_p(t, r, AG_F64, 1, SHAPE(3), NAN), AG_ERR_ARG,
                    "ag_bernoulli_p: p is nan", "not in [0, 1]");
    ag_tape_clear_error(t);
    tu_assert_error(t, ag_bernoulli_p(t, r, AG_F64, 1, NULL, 0.5), AG_ERR_ARG,
                    "ag_bernoulli_p", "shape is NULL");
    ag_tape_clear_error(t);
    ck_assert_ptr_null(ag_bernoulli_p(NULL, r, AG_F64, 1, SHAPE(2), -0.1));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_bernoulli_p: p is -0.1"));
    ag_rng_get_state(r, after);
    ck_assert(memcmp(before, after, sizeof before) == 0);
    /* a tensor from before a reset; then the first error is kept */
    ag_tensor *old = ag_neg(t, p);
    int64_t out[4];
    ag_tape_reset(t);
    assert_status_error(t, ag_multinomial(t, r, old, 1, 1, out, 4), AG_ERR_STATE,
                        "ag_multinomial", "before the tape was reset");
    ck_assert_ptr_null(ag_bernoulli(t, r, p));
    ck_assert_int_eq(ag_multinomial(t, r, p, 1, 1, out, 4), AG_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "ag_multinomial: probs was made before"));
    ag_tape_free(t);
    ag_rng_free(r);
    ag_tensor_free(p);
}
END_TEST

Suite *suite_sample(void)
{
    Suite *s = suite_create("sample");
    TU_ADD(s, test_multinomial_follows_the_documented_draw);
    TU_ADD(s, test_multinomial_distribution_with_replacement);
    TU_ADD(s, test_multinomial_without_replacement_follows_the_documented_draw);
    TU_ADD(s, test_multinomial_without_replacement_distribution);
    TU_ADD(s, test_sampling_is_reproducible_across_seeds_and_threads);
    TU_ADD(s, test_bernoulli_follows_the_uniforms);
    TU_ADD(s, test_bernoulli_rate);
    TU_ADD(s, test_multinomial_errors_draw_nothing);
    TU_ADD(s, test_bernoulli_errors_and_stale_inputs);
    return s;
}
