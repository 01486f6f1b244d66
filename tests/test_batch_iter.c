/*
** test_batch_iter.c: float datasets made from memory (values, labels
** beyond 256, checks, subsets) and the batch iterator over them and over
** byte datasets: every batch equals a naive gather of the same order
** (features, index-tensor targets, int64 labels, float targets, dtype
** conversions), batch counts with and without drop_last, reproducible
** shuffles (from a seed and an epoch, or from a generator), byte batches
** equal to ag_dataset_batch's, the iterator's own tensors and tape ones,
** and misuse refused with its message.
*/
#include "dataio_test_util.h"

#include <math.h>

#define EPOCH_STEP 0x9E3779B97F4A7C15ULL     /* documented in ag_batch_iter.h */

/* n samples of shape [2, 3], value i * 10 + j / 8 (exact in f32), label
   (i * 137) % 1000 of 1000 classes, in storage dt. */
static ag_tensor_dataset *make_class_ds(int64_t n, ag_dtype dt)
{
    double xd[64 * 6];
    float xf[64 * 6];
    int64_t y[64];
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < 6; j++) xd[i * 6 + j] = xf[i * 6 + j] = (float)(i * 10 + j / 8.0);
        y[i] = (i * 137) % 1000;
    }
    ag_tensor_dataset_desc d = {0};
    d.n = n, d.sample_ndim = 2, d.sample_shape = (const int64_t[]){2, 3}, d.dtype = dt;
    d.features = dt == AG_F64 ? (const void *)xd : (const void *)xf;
    d.kind = AG_TARGET_CLASS, d.labels = y, d.num_classes = 1000, d.target_cols = 1;
    ag_tensor_dataset *ds = ag_tensor_dataset_new(&d);
    ck_assert_msg(ds != NULL, "%s", ag_last_error());
    return ds;
}

/* Asserts batch (x, y) is the naive gather of samples order[start ..
   start + rows) of ds: x[r, j] = feature j, y[r] and labels[r] the label. */
static void assert_class_batch(const ag_tensor_dataset *ds, const ag_batch_iter *it,
                               const int64_t *order, int64_t start, int64_t rows, ag_tensor *x,
                               ag_tensor *y)
{
    const int64_t f = ag_tensor_dataset_features(ds);
    ck_assert_int_eq(ag_tensor_dim(x, 0), rows);
    ck_assert_int_eq(ag_tensor_numel(x), rows * f);
    ck_assert_int_eq(ag_tensor_ndim(y), 1);
    ck_assert_int_eq(ag_tensor_dim(y, 0), rows);
    ck_assert_int_eq(ag_batch_iter_batch_rows(it), rows);
    const int64_t *labels = ag_batch_iter_labels(it);
    ck_assert_ptr_nonnull(labels);
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = order[start + r];
        for (int64_t j = 0; j < f; j++)
            ck_assert(ag_tensor_get(x, r * f + j) == ag_tensor_dataset_feature(ds, i, j));
        ck_assert(ag_tensor_get(y, r) == (double)ag_tensor_dataset_label(ds, i));
        ck_assert_int_eq(labels[r], ag_tensor_dataset_label(ds, i));
    }
}

/* Runs one epoch of it against order (rows of batch_size, the last one
   shorter unless dropped); t may be NULL. Returns the batches seen. */
static int64_t check_epoch(const ag_tensor_dataset *ds, ag_batch_iter *it, ag_tape *t,
                           const int64_t *order, int64_t bs)
{
    ag_tensor *x, *y;
    int64_t b = 0, n = ag_tensor_dataset_count(ds);
    int more;
    while ((more = ag_batch_iter_next(it, t, &x, &y)) == 1) {
        ck_assert_int_eq(ag_batch_iter_position(it), b + 1);
        ck_assert_ptr_eq(ag_tensor_tape(x), t);
        assert_class_batch(ds, it, order, b * bs, n - b * bs < bs ? n - b * bs : bs, x, y);
        if (t) ag_tape_reset(t);
        b++;
    }
    ck_assert_int_eq(more, 0);
    ck_assert_int_eq(ag_batch_iter_next(it, t, &x, &y), 0);        /* and again */
    ck_assert_ptr_null(x);
    ck_assert_ptr_null(y);
    return b;
}

START_TEST(test_batch_iter_in_order_matches_a_gather)
{
    ag_tensor_dataset *ds = make_class_ds(7, AG_F64);
    int64_t seq[7] = {0, 1, 2, 3, 4, 5, 6};
    ag_batch_iter_opts o = {0};
    o.batch_size = 3, o.dtype = AG_F64;
    ag_batch_iter *it = ag_batch_iter_new(ds, &o);
    ck_assert_msg(it != NULL, "%s", ag_last_error());
    ck_assert_int_eq(ag_batch_iter_num_batches(it), 3);             /* 3, 3, 1 */
    ck_assert_ptr_null(ag_batch_iter_labels(it));
    ck_assert_int_eq(check_epoch(ds, it, NULL, seq, 3), 3);
    ag_tape *t = ag_tape_new();
    ck_assert_int_eq(ag_batch_iter_reset(it, 1), AG_OK);
    ck_assert_int_eq(check_epoch(ds, it, t, seq, 3), 3);            /* tensors on the tape */
    const size_t reserved = ag_tape_reserved(t);
    ag_batch_iter_reset(it, 2);
    ck_assert_int_eq(check_epoch(ds, it, t, seq, 3), 3);
    ck_assert_uint_eq(ag_tape_reserved(t), reserved);               /* nothing more allocated */
    ag_batch_iter_free(it);
    /* drop_last, flatten, f32 batches of f64 storage */
    o.drop_last = 1, o.flatten = 1, o.dtype = AG_F32;
    it = ag_batch_iter_new(ds, &o);
    ck_assert_int_eq(ag_batch_iter_num_batches(it), 2);
    ag_tensor *x, *y, *first;
    ck_assert_int_eq(ag_batch_iter_next(it, NULL, &first, &y), 1);
    ck_assert_int_eq(ag_tensor_ndim(first), 2);
    ck_assert_int_eq(ag_tensor_dim(first, 1), 6);
    ck_assert_int_eq(ag_tensor_dtype(first), AG_F32);
    ck_assert_int_eq(ag_batch_iter_next(it, NULL, &x, &y), 1);
    ck_assert_ptr_eq(x, first);                  /* the iterator's own tensor, reused */
    ck_assert(((float *)ag_tensor_data(x))[6 * 2 + 5] == (float)(5 * 10 + 5 / 8.0));
    ck_assert_int_eq(ag_batch_iter_next(it, NULL, &x, &y), 0);      /* sample 6 dropped */
    ag_batch_iter_free(it);
    /* without flatten x keeps the sample shape: [B, 2, 3] */
    o = (ag_batch_iter_opts){0};
    o.batch_size = 100;                                              /* more than the count */
    it = ag_batch_iter_new(ds, &o);
    ck_assert_int_eq(ag_batch_iter_next(it, t, &x, &y), 1);
    tu_assert_shape(x, 3, ((int64_t[]){7, 2, 3}));
    ck_assert_int_eq(ag_batch_iter_num_batches(it), 1);
    ag_batch_iter_free(it);
    ag_tape_free(t);
    ag_tensor_dataset_free(ds);
}
END_TEST

START_TEST(test_batch_iter_shuffles_reproducibly)
{
    ag_tensor_dataset *ds = make_class_ds(23, AG_F32);
    ag_batch_iter_opts o = {0};
    o.batch_size = 5, o.shuffle = 1, o.seed = 1234;
    ag_batch_iter *a = ag_batch_iter_new(ds, &o), *b = ag_batch_iter_new(ds, &o);
    int64_t want[23], prev[23];
    for (int64_t epoch = 0; epoch < 3; epoch++) {
        ck_assert_int_eq(ag_batch_iter_reset(a, epoch), AG_OK);
        ag_rng *r = ag_rng_new(1234 + (uint64_t)epoch * EPOCH_STEP);   /* as documented */
        ag_epoch_order(want, 23, r);
        ag_rng_free(r);
        for (int i = 0; i < 23; i++) ck_assert_int_eq(ag_batch_iter_order(a)[i], want[i]);
        if (epoch) ck_assert(memcmp(want, prev, sizeof want) != 0);    /* a new order */
        memcpy(prev, want, sizeof want);
        ck_assert_int_eq(check_epoch(ds, a, NULL, want, 5), 5);
        ck_assert_int_eq(ag_batch_iter_epoch(a), epoch);
    }
    /* b, reset straight to epoch 2 (a resumed run), sees epoch 2's order */
    ck_assert_int_eq(ag_batch_iter_reset(b, 2), AG_OK);
    ck_assert(memcmp(ag_batch_iter_order(b), prev, sizeof prev) == 0);
    ag_batch_iter_free(b);
    ag_batch_iter_free(a);
    /* from a generator: its stream, epoch after epoch */
    ag_rng *mine = ag_rng_new(99), *ref = ag_rng_new(99);
    o.rng = mine;
    a = ag_batch_iter_new(ds, &o);
    ck_assert_ptr_null(ag_batch_iter_order(a));                        /* nothing drawn yet */
    ag_epoch_order(want, 23, ref);
    ck_assert_int_eq(check_epoch(ds, a, NULL, want, 5), 5);           /* drawn by next */
    ck_assert(memcmp(ag_batch_iter_order(a), want, sizeof want) == 0);
    ag_batch_iter_reset(a, 1);
    ag_epoch_order(want, 23, ref);
    ck_assert(memcmp(ag_batch_iter_order(a), want, sizeof want) == 0);
    ck_assert_int_eq(check_epoch(ds, a, NULL, want, 5), 5);
    ag_batch_iter_free(a);
    /* reset before every epoch, epoch 0 included: one draw an epoch */
    a = ag_batch_iter_new(ds, &o);
    for (int64_t epoch = 0; epoch < 2; epoch++) {
        ag_batch_iter_reset(a, epoch);
        ag_epoch_order(want, 23, ref);
        ck_assert(memcmp(ag_batch_iter_order(a), want, sizeof want) == 0);
        ck_assert_int_eq(check_epoch(ds, a, NULL, want, 5), 5);
    }
    ag_batch_iter_free(a);
    ag_rng_free(mine), ag_rng_free(ref);
    ag_tensor_dataset_free(ds);
}
END_TEST

START_TEST(test_batch_iter_regression_targets_and_dtypes)
{
    float xf[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
    float yf[8] = {1.1f, -1, 2.2f, -2, 3.3f, -3, 4.4f, -4};
    ag_tensor_dataset_desc d = {0};
    d.n = 4, d.sample_ndim = 1, d.sample_shape = (const int64_t[]){2}, d.dtype = AG_F32;
    d.features = xf, d.kind = AG_TARGET_FLOAT, d.target_cols = 2, d.float_targets = yf;
    ag_tensor_dataset *ds = ag_tensor_dataset_new(&d);
    ck_assert_msg(ds != NULL, "%s", ag_last_error());
    ag_batch_iter_opts o = {0};
    o.batch_size = 3, o.shuffle = 1, o.seed = 7, o.dtype = AG_F64;    /* f32 storage, f64 batch */
    ag_batch_iter *it = ag_batch_iter_new(ds, &o);
    const int64_t *order = ag_batch_iter_order(it);
    ag_tensor *x, *y;
    for (int64_t b = 0, start = 0; ag_batch_iter_next(it, NULL, &x, &y) == 1; b++, start += 3) {
        const int64_t rows = b == 0 ? 3 : 1;
        tu_assert_shape(y, 2, ((int64_t[]){rows, 2}));
        ck_assert_int_eq(ag_tensor_dtype(y), AG_F64);
        ck_assert_ptr_null(ag_batch_iter_labels(it));
        for (int64_t r = 0; r < rows; r++)
            for (int k = 0; k < 2; k++) {
                ck_assert(ag_tensor_get(x, r * 2 + k) == (double)xf[order[start + r] * 2 + k]);
                ck_assert(ag_tensor_get(y, r * 2 + k) == (double)yf[order[start + r] * 2 + k]);
            }
    }
    ag_batch_iter_free(it);
    /* a features-only dataset: y is NULL */
    d.kind = AG_TARGET_NONE, d.target_cols = 0, d.float_targets = NULL;
    ag_tensor_dataset *fx = ag_tensor_dataset_new(&d);
    it = ag_batch_iter_new(fx, NULL);                                  /* batches of 1 */
    ck_assert_int_eq(ag_batch_iter_num_batches(it), 4);
    ck_assert_int_eq(ag_batch_iter_next(it, NULL, &x, &y), 1);
    ck_assert_ptr_null(y);
    ck_assert(ag_tensor_get(x, 1) == (double)0.2f);
    ag_batch_iter_free(it);
    ag_tensor_dataset_free(fx);
    ag_tensor_dataset_free(ds);
}
END_TEST

START_TEST(test_batch_iter_bytes_equal_dataset_batch)
{
    uint8_t px[5 * 4], lab[5] = {3, 0, 2, 1, 3};
    for (int i = 0; i < 20; i++) px[i] = (uint8_t)(i * 13 + 7);
    ag_dataset *ds = ag_dataset_from_bytes(5, 2, (const int64_t[]){2, 2}, px, lab, 4);
    ck_assert_int_eq(ag_dataset_set_normalize(ds, 0.3, 0.7), AG_OK);
    ag_tape *t = ag_tape_new();
    for (int dt = AG_F32; dt <= AG_F64; dt++) {
        ag_batch_iter_opts o = {0};
        o.batch_size = 2, o.shuffle = 1, o.seed = 5, o.dtype = (ag_dtype)dt;
        ag_batch_iter *it = ag_batch_iter_new_bytes(ds, &o);
        ck_assert_msg(it != NULL, "%s", ag_last_error());
        ck_assert_int_eq(ag_batch_iter_num_batches(it), 3);
        ag_tensor *x, *y;
        int64_t start = 0, want_labels[2];
        while (ag_batch_iter_next(it, t, &x, &y) == 1) {
            ag_tensor *ref = ag_dataset_batch(t, ds, ag_batch_iter_order(it), start, 2,
                                              (ag_dtype)dt, want_labels);
            ck_assert_int_eq(ag_tensor_numel(x), ag_tensor_numel(ref));
            tu_assert_shape(x, 2, ((int64_t[]){ag_tensor_dim(ref, 0), 4}));
            size_t bytes = (size_t)ag_tensor_numel(ref) * (dt == AG_F32 ? 4 : 8);
            ck_assert(memcmp(ag_tensor_data(x), ag_tensor_data(ref), bytes) == 0);
            for (int64_t r = 0; r < ag_tensor_dim(ref, 0); r++) {
                ck_assert_int_eq(ag_batch_iter_labels(it)[r], want_labels[r]);
                ck_assert(ag_tensor_get(y, r) == (double)want_labels[r]);
            }
            start += 2;
            ag_tape_reset(t);
        }
        ck_assert_int_eq(start, 6);
        ag_batch_iter_free(it);
    }
    ag_tape_free(t);
    ag_dataset_free(ds);
}
END_TEST

START_TEST(test_batch_iter_refuses_misuse)
{
    ag_tensor_dataset *ds = make_class_ds(4, AG_F32);
    ag_batch_iter_opts o = {0};
    dio_assert_fails(!ag_batch_iter_new(NULL, NULL), "ag_batch_iter_new", "dataset is NULL");
    dio_assert_fails(!ag_batch_iter_new_bytes(NULL, NULL), "ag_batch_iter_new_bytes", "NULL");
    o.batch_size = -2;
    dio_assert_fails(!ag_batch_iter_new(ds, &o), "ag_batch_iter_new", "batch_size -2 (must be >= 1)");
    o.batch_size = 2, o.dtype = (ag_dtype)5;
    dio_assert_fails(!ag_batch_iter_new(ds, &o), "ag_batch_iter_new", "dtype 5 is not AG_F32");
    o.dtype = AG_F32;
    ag_batch_iter *it = ag_batch_iter_new(ds, &o);
    ag_tensor *x = (ag_tensor *)1, *y = (ag_tensor *)1;
    ck_assert_int_eq(ag_batch_iter_next(it, NULL, &x, NULL), -1);
    ck_assert_ptr_null(x);
    ck_assert_msg(strstr(ag_last_error(), "ag_batch_iter_next: y is NULL"), "%s", ag_last_error());
    ck_assert_int_eq(ag_batch_iter_next(NULL, NULL, &x, &y), -1);
    ck_assert_ptr_null(y);
    dio_assert_fails(ag_batch_iter_reset(it, -1) == AG_ERR_ARG, "ag_batch_iter_reset", "negative epoch");
    dio_assert_fails(ag_batch_iter_reset(NULL, 0) == AG_ERR_ARG, "ag_batch_iter_reset", "NULL");
    /* a tape in error: -1, its first message kept */
    ag_tape *t = ag_tape_new();
    ag_tape_set_error(t, AG_ERR_SHAPE, "first error");
    ck_assert_int_eq(ag_batch_iter_next(it, t, &x, &y), -1);
    ck_assert_str_eq(ag_tape_errmsg(t), "first error");
    ck_assert_int_eq(ag_batch_iter_position(it), 0);
    ag_tape_free(t);
    ag_batch_iter_free(it);
    ag_batch_iter_free(NULL);
    ck_assert_int_eq(ag_batch_iter_num_batches(NULL), 0);
    ck_assert_ptr_null(ag_batch_iter_order(NULL));
    ck_assert_ptr_null(ag_batch_iter_labels(NULL));
    /* labels past 2^24 need f64 index tensors */
    int64_t big = 16777217;
    float one = 1;
    ag_tensor_dataset_desc d = {0};
    d.n = 1, d.dtype = AG_F32, d.features = &one, d.kind = AG_TARGET_CLASS, d.labels = &big;
    d.target_cols = 1;
    ag_tensor_dataset *wide = ag_tensor_dataset_new(&d);
    ck_assert_int_eq(ag_tensor_dataset_num_classes(wide), 16777218);
    dio_assert_fails(!ag_batch_iter_new(wide, NULL), "16777218 classes", "use dtype AG_F64");
    o = (ag_batch_iter_opts){0};
    o.dtype = AG_F64;
    it = ag_batch_iter_new(wide, &o);
    ck_assert_int_eq(ag_batch_iter_next(it, NULL, &x, &y), 1);
    ck_assert(ag_tensor_get(y, 0) == 16777217.0);
    ag_batch_iter_free(it);
    ag_tensor_dataset_free(wide);
    /* an empty dataset: no batches */
    ag_tensor_dataset *none = make_class_ds(0, AG_F32);
    it = ag_batch_iter_new(none, NULL);
    ck_assert_int_eq(ag_batch_iter_num_batches(it), 0);
    ck_assert_int_eq(ag_batch_iter_next(it, NULL, &x, &y), 0);
    ag_batch_iter_free(it);
    ag_tensor_dataset_free(none);
    ag_tensor_dataset_free(ds);
}
END_TEST

/* ---------------------------------------------------- from memory --- */

START_TEST(test_tensor_dataset_new_checks_and_subset)
{
    double x[6] = {1, 2, 3, 4, 5, 6};
    int64_t y[3] = {2, 0, 511};
    ag_tensor_dataset_desc d = {0};
    d.n = 3, d.sample_ndim = 1, d.sample_shape = (const int64_t[]){2}, d.dtype = AG_F64;
    d.features = x, d.kind = AG_TARGET_CLASS, d.labels = y, d.target_cols = 1;
    ag_tensor_dataset *ds = ag_tensor_dataset_new(&d);
    ck_assert_int_eq(ag_tensor_dataset_num_classes(ds), 512);
    x[0] = 99;                                             /* copied: the dataset keeps 1 */
    ck_assert(ag_tensor_dataset_feature(ds, 0, 0) == 1);
    ag_tensor_dataset *sub = ag_tensor_dataset_subset(ds, (const int64_t[]){2, 2, 0}, 3);
    ck_assert_int_eq(ag_tensor_dataset_count(sub), 3);
    ck_assert(ag_tensor_dataset_feature(sub, 1, 1) == 6 && ag_tensor_dataset_feature(sub, 2, 0) == 1);
    ck_assert_int_eq(ag_tensor_dataset_label(sub, 0), 511);
    ck_assert_int_eq(ag_tensor_dataset_num_classes(sub), 512);
    ag_tensor_dataset_free(sub);
    dio_assert_fails(!ag_tensor_dataset_subset(ds, (const int64_t[]){0, 3}, 2), "ag_tensor_dataset_subset",
                     "indices[1] = 3 is outside [0, 3)");
    ag_tensor_dataset_free(ds);
    x[0] = 1;
    d.num_classes = 300;
    dio_assert_fails(!ag_tensor_dataset_new(&d), "ag_tensor_dataset_new",
                     "labels[2] = 511 is outside [0, 300) (num_classes)");
    d.num_classes = 0, y[1] = -4;
    dio_assert_fails(!ag_tensor_dataset_new(&d), "ag_tensor_dataset_new", "labels[1] = -4 is negative");
    y[1] = 0, x[3] = NAN;
    dio_assert_fails(!ag_tensor_dataset_new(&d), "feature of sample 1, value 1, is nan",
                     "allow_nonfinite");
    d.allow_nonfinite = 1;
    ds = ag_tensor_dataset_new(&d);
    ck_assert(ds && isnan(ag_tensor_dataset_feature(ds, 1, 1)));
    ag_tensor_dataset_free(ds);
    d.kind = AG_TARGET_FLOAT;
    dio_assert_fails(!ag_tensor_dataset_new(&d), "float targets need float_targets", "labels NULL");
    d.kind = AG_TARGET_NONE, d.labels = NULL, d.target_cols = 0, d.sample_ndim = AG_MAX_DIMS;
    dio_assert_fails(!ag_tensor_dataset_new(&d), "ag_tensor_dataset_new", "a bad sample shape");
    dio_assert_fails(!ag_tensor_dataset_new(NULL), "ag_tensor_dataset_new", "desc is NULL");
    /* no samples: NULL arrays are fine, num_classes as given */
    d = (ag_tensor_dataset_desc){0};
    d.kind = AG_TARGET_CLASS, d.target_cols = 1, d.num_classes = 40;
    ds = ag_tensor_dataset_new(&d);
    ck_assert_msg(ds != NULL, "%s", ag_last_error());
    ck_assert_int_eq(ag_tensor_dataset_count(ds), 0);
    ck_assert_int_eq(ag_tensor_dataset_num_classes(ds), 40);
    ag_tensor_dataset_free(ds);
    ck_assert_int_eq(ag_tensor_dataset_count(NULL), 0);
    ck_assert_int_eq(ag_tensor_dataset_label(NULL, 0), -1);
    ck_assert_ptr_null(ag_tensor_dataset_sample(NULL, 0));
    ag_tensor_dataset_free(NULL);
}
END_TEST

Suite *suite_batch_iter(void)
{
    Suite *s = suite_create("batch_iter");
    TU_ADD(s, test_batch_iter_in_order_matches_a_gather);
    TU_ADD(s, test_batch_iter_shuffles_reproducibly);
    TU_ADD(s, test_batch_iter_regression_targets_and_dtypes);
    TU_ADD(s, test_batch_iter_bytes_equal_dataset_batch);
    TU_ADD(s, test_batch_iter_refuses_misuse);
    TU_ADD(s, test_tensor_dataset_new_checks_and_subset);
    return s;
}
