/*
** test_parallel_ops.c: the elementwise and reduction kernels split over
** the thread pool (agi_parallel_range): every index covered once by
** pieces that start on a vector block, and ops on tensors large enough to
** be split giving the same bits with 1 thread and with 4, and the values
** of naive loops written here. Sizes are odd on purpose (tails of the
** vector blocks, uneven pieces).
*/
#include "test_util.h"
#include "ag_ops_internal.h"

#include <stdlib.h>

/* ----------------------------------------------------------- ranges --- */

typedef struct cover {
    int64_t n;
    _Atomic int bad_start;
    unsigned char *hits;            /* each piece writes only its own */
} cover;

static void cover_range(void *ctx, int64_t lo, int64_t hi)
{
    cover *c = ctx;
    if (lo % AGI_VBLOCK != 0 || lo >= hi) c->bad_start = 1;
    for (int64_t i = lo; i < hi; i++) c->hits[i]++;
}

START_TEST(test_parallel_range_covers_each_index_once)
{
    static const int64_t sizes[] = {0, 1, 17, 32767, 32768, 100003, 1000000};
    for (int threads = 1; threads <= 4; threads++) {
        ck_assert_int_eq(ag_set_num_threads(threads), AG_OK);
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            cover c = {sizes[s], 0, calloc((size_t)sizes[s] + 1, 1)};
            ck_assert_ptr_nonnull(c.hits);
            agi_parallel_range(c.n, 1000, cover_range, &c);
            ck_assert_int_eq(c.bad_start, 0);
            int64_t first_bad = -1;         /* one assertion: Check's are slow */
            for (int64_t i = 0; i < c.n && first_bad < 0; i++)
                if (c.hits[i] != 1) first_bad = i;
            ck_assert_msg(first_bad < 0, "n %lld threads %d: index %lld hit %d times",
                          (long long)c.n, threads, (long long)first_bad,
                          first_bad < 0 ? 1 : c.hits[first_bad]);
            free(c.hits);
        }
    }
    ag_set_num_threads(0);
}
END_TEST

/* ------------------------------------------------------------- ops --- */

enum { ROWS = 301, COLS = 257 };    /* 77,357 elements: split in pieces */

/* The ops under test on persistent inputs x [ROWS, COLS] (values in
   [0.5, 2)), row [COLS], col [ROWS, 1]; results into out[]. */
static int run_ops(ag_tape *t, ag_tensor *x, ag_tensor *row, ag_tensor *col, ag_tensor **out)
{
    int k = 0;
    out[k++] = ag_sqrt(t, x);
    out[k++] = ag_exp(t, ag_neg(t, x));
    out[k++] = ag_relu(t, ag_sub_scalar(t, x, 1));
    out[k++] = ag_add(t, x, x);
    out[k++] = ag_div_scalar(t, x, 3);
    out[k++] = ag_mul(t, x, row);                           /* rows of x times row */
    out[k++] = ag_sub(t, col, x);                           /* col held per row */
    out[k++] = ag_addcdiv(t, x, x, ag_add_scalar(t, x, 1), -0.5);
    out[k++] = ag_addcmul(t, x, x, ag_scalar(t, ag_tensor_dtype(x), 2), 0.25);
    out[k++] = ag_lerp(t, col, row, 0.3);                   /* broadcast rows */
    out[k++] = ag_sum(t, x, 0, 0);
    out[k++] = ag_mean(t, x, 1, 1);
    out[k++] = ag_sum(t, x, AG_ALL, 0);
    out[k++] = ag_sum_to(t, x, 1, (const int64_t[]){COLS});
    out[k++] = ag_sum_to(t, x, 2, (const int64_t[]){ROWS, 1});
    out[k++] = ag_expand(t, row, 2, (const int64_t[]){ROWS, COLS});
    out[k++] = ag_expand(t, col, 2, (const int64_t[]){ROWS, COLS});
    return k;
}

#define N_OPS 17

/* Asserts a and b hold the same bits (one assertion: Check's are slow). */
static void assert_same_bits(const ag_tensor *a, const ag_tensor *b, int op)
{
    ck_assert_int_eq(ag_tensor_numel(a), ag_tensor_numel(b));
    size_t bytes = (size_t)ag_tensor_numel(a) * (ag_tensor_dtype(a) == AG_F64 ? 8 : 4);
    ck_assert_msg(memcmp(ag_tensor_data((ag_tensor *)a), ag_tensor_data((ag_tensor *)b),
                         bytes) == 0, "op %d: results differ between 1 and 4 threads", op);
}

/* Counts |got - want| > tol, keeping the first miss in *where. */
static int64_t misses(double got, double want, double tol, int64_t at, int64_t *where)
{
    int miss = !(fabs(got - want) <= tol);
    if (miss && *where < 0) *where = at;
    return miss;
}

static void check_thread_counts_agree(ag_dtype dt)
{
    ag_rng *r = ag_rng_new(5);
    ag_tensor *x = ag_rand_uniform(NULL, r, dt, 2, SHAPE(ROWS, COLS), 0.5, 2);
    ag_tensor *row = ag_rand_uniform(NULL, r, dt, 1, SHAPE(COLS), -1, 1);
    ag_tensor *col = ag_rand_uniform(NULL, r, dt, 2, SHAPE(ROWS, 1), -1, 1);
    ag_tape *t1 = ag_tape_new(), *t4 = ag_tape_new();
    ag_tensor *one[N_OPS], *four[N_OPS];
    ck_assert_int_eq(ag_set_num_threads(1), AG_OK);
    ck_assert_int_eq(run_ops(t1, x, row, col, one), N_OPS);
    ck_assert_int_eq(ag_set_num_threads(4), AG_OK);
    ck_assert_int_eq(run_ops(t4, x, row, col, four), N_OPS);
    ck_assert_msg(ag_tape_status(t4) == AG_OK, "%s", ag_tape_errmsg(t4));
    for (int k = 0; k < N_OPS; k++) assert_same_bits(one[k], four[k], k);
    /* and the values of naive loops, for a few */
    int64_t bad = 0, where = -1;
    const double tol = dt == AG_F64 ? 1e-15 : 1e-6;
    for (int64_t i = 0; i < ROWS; i++)
        for (int64_t j = 0; j < COLS; j++) {
            const int64_t e = i * COLS + j;
            double xv = ag_tensor_get(x, e), rv = ag_tensor_get(row, j), cv = ag_tensor_get(col, i);
            bad += misses(ag_tensor_get(four[0], e), sqrt(xv), tol, e, &where);
            bad += misses(ag_tensor_get(four[5], e), xv * rv, tol, e, &where);
            bad += misses(ag_tensor_get(four[6], e), cv - xv, tol, e, &where);
            bad += misses(ag_tensor_get(four[9], e), cv + 0.3 * (rv - cv), tol, e, &where);
        }
    for (int64_t j = 0; j < COLS; j++) {
        double s = 0;
        for (int64_t i = 0; i < ROWS; i++) s += ag_tensor_get(x, i * COLS + j);
        bad += misses(ag_tensor_get(four[10], j), s, 1e-4, j, &where);
        bad += misses(ag_tensor_get(four[13], j), s, 1e-3, j, &where);
    }
    ck_assert_msg(bad == 0, "%lld values off the naive loops, the first at element %lld",
                  (long long)bad, (long long)where);
    ag_set_num_threads(0);
    ag_tape_free(t1), ag_tape_free(t4);
    ag_tensor_free(x), ag_tensor_free(row), ag_tensor_free(col);
    ag_rng_free(r);
}

START_TEST(test_ops_same_bits_for_any_thread_count_f32)
{
    check_thread_counts_agree(AG_F32);
}
END_TEST

START_TEST(test_ops_same_bits_for_any_thread_count_f64)
{
    check_thread_counts_agree(AG_F64);
}
END_TEST

/* An out= op in place on a large tensor, split: each element read, then
   written, by one piece. */
START_TEST(test_out_form_in_place_split)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *m = ag_arange(NULL, AG_F32, 0, 100003, 1);
    ag_tensor *g = ag_full(NULL, AG_F32, 1, SHAPE(100003), 1000);
    ck_assert_int_eq(ag_set_num_threads(4), AG_OK);
    ck_assert_ptr_eq(ag_lerp_out(t, m, m, g, 0.25), m);
    int64_t first_bad = -1;
    for (int64_t i = 0; i < 100003 && first_bad < 0; i++)
        if ((float)ag_tensor_get(m, i) != (float)i + 0.25f * (1000.0f - (float)i)) first_bad = i;
    ck_assert_msg(first_bad < 0, "element %lld", (long long)first_bad);
    ag_set_num_threads(0);
    ag_tape_free(t);
    ag_tensor_free(m), ag_tensor_free(g);
}
END_TEST

Suite *suite_parallel_ops(void)
{
    Suite *s = suite_create("parallel_ops");
    TU_ADD(s, test_parallel_range_covers_each_index_once);
    TU_ADD(s, test_ops_same_bits_for_any_thread_count_f32);
    TU_ADD(s, test_ops_same_bits_for_any_thread_count_f64);
    TU_ADD(s, test_out_form_in_place_split);
    return s;
}
