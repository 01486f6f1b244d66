/*
** batch_iter.c: the batch iterator (ag_batch_iter.h). An epoch is an order
** (ag_epoch_order) cut into batches; each batch is gathered by a plain
** loop into x and y, either tensors made on the caller's tape or the
** iterator's own, made once. Byte datasets are read through ag_data.h's
** accessors and normalized exactly as ag_dataset_batch does.
*/
#include "tensor_dataset_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ITER_EPOCH_STEP 0x9E3779B97F4A7C15ULL   /* seed + epoch * this: the epoch's generator */
#define F32_INDEX_MAX 16777216                  /* 2^24: the largest exact f32 index */

struct ag_batch_iter {
    const ag_tensor_dataset *tds;     /* one of the two */
    const ag_dataset *bds;
    ag_batch_iter_opts o;
    int64_t count;
    int64_t features;
    int sample_ndim;                  /* of x's rows */
    int64_t sample_shape[AG_MAX_DIMS];
    ag_target_kind kind;
    int64_t cols;                     /* float targets a row */
    int64_t *order;                   /* [count] */
    int64_t *labels;                  /* [min(batch_size, count)] */
    int64_t epoch, pos, rows, num_batches;
    int drawn;                        /* order holds this epoch's order */
    ag_tensor *x_full, *y_full;       /* the iterator's own, for a NULL tape */
    ag_tensor *x_last, *y_last;       /* the same for a shorter last batch */
};

/* ---------------------------------------------------------- creation --- */

/* A pair (x, y) of `rows` rows on t (or persistent when t is NULL). */
static ag_status make_pair(const ag_batch_iter *it, ag_tape *t, int64_t rows, ag_tensor **x,
                           ag_tensor **y)
{
    int64_t shape[AG_MAX_DIMS + 1] = {rows};
    memcpy(shape + 1, it->sample_shape, (size_t)it->sample_ndim * sizeof *shape);
    *x = ag_zeros(t, it->o.dtype, it->sample_ndim + 1, shape);
    *y = NULL;
    if (*x && it->kind == AG_TARGET_CLASS) *y = ag_zeros(t, it->o.dtype, 1, shape);
    if (*x && it->kind == AG_TARGET_FLOAT)
        *y = ag_zeros(t, it->o.dtype, 2, (const int64_t[]){rows, it->cols});
    if (!*x || (it->kind != AG_TARGET_NONE && !*y)) {
        if (!t) ag_tensor_free(*x), ag_tensor_free(*y);
        *x = *y = NULL;
        return AG_ERR_NOMEM;
    }
    return AG_OK;
}

/* The arrays and the iterator's own tensors, then epoch 0; frees it on
   failure. */
static ag_batch_iter *finish(ag_batch_iter *it)
{
    const int64_t bs = it->o.batch_size, full = it->count < bs ? it->count : bs;
    const int64_t rest = it->count % bs;
    it->num_batches = it->o.drop_last ? it->count / bs : it->count / bs + (rest != 0);
    it->order = malloc((size_t)(it->count ? it->count : 1) * sizeof *it->order);
    it->labels = malloc((size_t)(full ? full : 1) * sizeof *it->labels);
    ag_status s = it->order && it->labels ? AG_OK : AG_ERR_NOMEM;
    if (s == AG_OK && full > 0) s = make_pair(it, NULL, full, &it->x_full, &it->y_full);
    if (s == AG_OK && rest && it->count > bs && !it->o.drop_last)
        s = make_pair(it, NULL, rest, &it->x_last, &it->y_last);
    if (s == AG_OK && !it->o.rng) s = ag_batch_iter_reset(it, 0);   /* a generator's draw waits */
    if (s != AG_OK) {
        const int64_t count = it->count;
        ag_batch_iter_free(it);
        ag_set_last_error(AG_ERR_NOMEM, "ag_batch_iter_new: out of memory for %lld samples in "
                          "batches of %lld", (long long)count, (long long)bs);
        return NULL;
    }
    return it;
}

/* The options checked, with their defaults; NULL it with the error. */
static ag_batch_iter *iter_alloc(const char *fn, const void *ds, const ag_batch_iter_opts *opts)
{
    ag_batch_iter_opts o = {0};
    if (opts) o = *opts;
    if (!o.batch_size) o.batch_size = 1;
    if (!ds) return ag_set_last_error(AG_ERR_ARG, "%s: dataset is NULL", fn), NULL;
    if (o.batch_size < 0)
        return ag_set_last_error(AG_ERR_ARG, "%s: batch_size %lld (must be >= 1)", fn,
                                 (long long)o.batch_size), NULL;
    if (o.dtype != AG_F32 && o.dtype != AG_F64)
        return ag_set_last_error(AG_ERR_DTYPE, "%s: dtype %d is not AG_F32 or AG_F64", fn,
                                 (int)o.dtype), NULL;
    ag_batch_iter *it = calloc(1, sizeof *it);
    if (!it) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn), NULL;
    it->o = o;
    return it;
}

ag_batch_iter *ag_batch_iter_new(const ag_tensor_dataset *ds, const ag_batch_iter_opts *opts)
{
    const char *fn = "ag_batch_iter_new";
    ag_batch_iter *it = iter_alloc(fn, ds, opts);
    if (!it) return NULL;
    if (ds->kind == AG_TARGET_CLASS && it->o.dtype == AG_F32 && ds->num_classes > F32_INDEX_MAX + 1) {
        free(it);
        return ag_set_last_error(AG_ERR_DTYPE, "%s: %lld classes: labels beyond 2^24 are not "
                                 "exact in f32 index tensors (use dtype AG_F64)", fn,
                                 (long long)ds->num_classes), NULL;
    }
    it->tds = ds;
    it->count = ds->count, it->features = ds->features, it->kind = ds->kind;
    it->cols = ds->target_cols;
    it->sample_ndim = it->o.flatten ? 1 : ds->sample_ndim;
    if (it->o.flatten) it->sample_shape[0] = ds->features;
    else memcpy(it->sample_shape, ds->sample_shape, sizeof it->sample_shape);
    return finish(it);
}

ag_batch_iter *ag_batch_iter_new_bytes(const ag_dataset *ds, const ag_batch_iter_opts *opts)
{
    ag_batch_iter *it = iter_alloc("ag_batch_iter_new_bytes", ds, opts);
    if (!it) return NULL;
    it->bds = ds;
    it->count = ag_dataset_count(ds), it->features = ag_dataset_features(ds);
    it->kind = AG_TARGET_CLASS, it->cols = 1;
    it->sample_ndim = 1, it->sample_shape[0] = it->features;
    return finish(it);
}

void ag_batch_iter_free(ag_batch_iter *it)
{
    if (!it) return;
    ag_tensor_free(it->x_full), ag_tensor_free(it->y_full);
    ag_tensor_free(it->x_last), ag_tensor_free(it->y_last);
    free(it->order);
    free(it->labels);
    free(it);
}

/* ------------------------------------------------------------- epochs --- */

/* Draws the order of epoch it->epoch. */
static ag_status draw_order(ag_batch_iter *it)
{
    const int64_t epoch = it->epoch;
    ag_rng *rng = !it->o.shuffle ? NULL : it->o.rng ? it->o.rng
                : ag_rng_new(it->o.seed + (uint64_t)epoch * ITER_EPOCH_STEP);
    if (it->o.shuffle && !rng)
        return ag_set_last_error(AG_ERR_NOMEM, "ag_batch_iter_reset: out of memory");
    ag_status s = ag_epoch_order(it->order, it->count, rng);
    if (rng != it->o.rng) ag_rng_free(rng);
    it->drawn = s == AG_OK;
    return s;
}

ag_status ag_batch_iter_reset(ag_batch_iter *it, int64_t epoch)
{
    if (!it || epoch < 0)
        return ag_set_last_error(AG_ERR_ARG, "ag_batch_iter_reset: %s", !it ? "iterator is NULL"
                                 : "a negative epoch");
    it->epoch = epoch, it->pos = 0, it->rows = 0;
    return draw_order(it);
}

/* ------------------------------------------------------------ batches --- */

/* dst row r = src row i, n values, converted from dtype from to dtype to. */
static void copy_row(void *dst, ag_dtype to, const void *src, ag_dtype from, int64_t r, int64_t i,
                     int64_t n)
{
    if (to == from) {
        const size_t sz = from == AG_F64 ? sizeof(double) : sizeof(float);
        memcpy((char *)dst + (size_t)(r * n) * sz, (const char *)src + (size_t)(i * n) * sz,
               (size_t)n * sz);
    } else if (from == AG_F32) {                               /* f32 storage, f64 batch */
        for (int64_t j = 0; j < n; j++) ((double *)dst)[r * n + j] = ((const float *)src)[i * n + j];
    } else {                                                   /* f64 storage, f32 batch */
        for (int64_t j = 0; j < n; j++)
            ((float *)dst)[r * n + j] = (float)((const double *)src)[i * n + j];
    }
}

/* Rows of a float dataset: x[r] = features of order[start + r], y[r] its
   float targets or labels[r] its label. x is [rows, F], y [rows, k]. */
static void gather_float(ag_batch_iter *it, int64_t start, int64_t rows, void *x, void *y)
{
    const ag_tensor_dataset *ds = it->tds;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = it->order[start + r];
        copy_row(x, it->o.dtype, ds->x, ds->dtype, r, i, ds->features);
        if (ds->kind == AG_TARGET_FLOAT)
            copy_row(y, it->o.dtype, ds->y, ds->dtype, r, i, ds->target_cols);
        if (ds->kind == AG_TARGET_CLASS) it->labels[r] = ds->labels[i];
    }
}

/* Rows of a byte dataset: x[r, :] = (byte / 255 - mean) / std of sample
   order[start + r], as ag_dataset_batch computes it. x is [rows, F]. */
static void gather_bytes(ag_batch_iter *it, int64_t start, int64_t rows, void *x)
{
    double mean, std, table[256];
    ag_dataset_get_normalize(it->bds, &mean, &std);
    for (int v = 0; v < 256; v++) table[v] = (v / 255.0 - mean) / std;
    const int64_t f = it->features;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t i = it->order[start + r];
        const uint8_t *src = ag_dataset_sample(it->bds, i);
        if (it->o.dtype == AG_F32)
            for (int64_t j = 0; j < f; j++) ((float *)x)[r * f + j] = (float)table[src[j]];
        else
            for (int64_t j = 0; j < f; j++) ((double *)x)[r * f + j] = table[src[j]];
        it->labels[r] = ag_dataset_label(it->bds, i);
    }
}

/* y[r] = labels[r] as whole numbers in the batch dtype (an index tensor). */
static void put_labels(const ag_batch_iter *it, int64_t rows, void *y)
{
    for (int64_t r = 0; r < rows; r++) {
        if (it->o.dtype == AG_F32) ((float *)y)[r] = (float)it->labels[r];
        else ((double *)y)[r] = (double)it->labels[r];
    }
}

int ag_batch_iter_next(ag_batch_iter *it, ag_tape *t, ag_tensor **x, ag_tensor **y)
{
    if (x) *x = NULL;
    if (y) *y = NULL;
    if (!it || !x || !y)
        return ag_set_last_error(AG_ERR_ARG, "ag_batch_iter_next: %s is NULL",
                                 !it ? "iterator" : !x ? "x" : "y"), -1;
    if (t && ag_tape_status(t) != AG_OK) return -1;              /* sticky, as ops */
    if (it->pos >= it->num_batches) return 0;
    if (!it->drawn && draw_order(it) != AG_OK) {
        if (t) ag_tape_set_error(t, AG_ERR_NOMEM, "ag_batch_iter_next: %s", ag_last_error());
        return -1;
    }
    const int64_t bs = it->o.batch_size, start = it->pos * bs;
    const int64_t rows = it->count - start < bs ? it->count - start : bs;
    ag_tensor *bx = NULL, *by = NULL;
    if (t && make_pair(it, t, rows, &bx, &by) != AG_OK) return -1;   /* the error is on t */
    if (!t) {
        const int full = rows == ag_tensor_dim(it->x_full, 0);
        bx = full ? it->x_full : it->x_last, by = full ? it->y_full : it->y_last;
    }
    if (it->tds) gather_float(it, start, rows, ag_tensor_data(bx), by ? ag_tensor_data(by) : NULL);
    else gather_bytes(it, start, rows, ag_tensor_data(bx));
    if (it->kind == AG_TARGET_CLASS) put_labels(it, rows, ag_tensor_data(by));
    it->pos++, it->rows = rows;
    *x = bx, *y = by;
    return 1;
}

/* ---------------------------------------------------------- accessors --- */

const int64_t *ag_batch_iter_labels(const ag_batch_iter *it)
{
    return it && it->kind == AG_TARGET_CLASS && it->rows > 0 ? it->labels : NULL;
}

int64_t ag_batch_iter_batch_rows(const ag_batch_iter *it) { return it ? it->rows : 0; }
int64_t ag_batch_iter_num_batches(const ag_batch_iter *it) { return it ? it->num_batches : 0; }
int64_t ag_batch_iter_position(const ag_batch_iter *it) { return it ? it->pos : 0; }
int64_t ag_batch_iter_epoch(const ag_batch_iter *it) { return it ? it->epoch : 0; }
const int64_t *ag_batch_iter_order(const ag_batch_iter *it)
{
    return it && it->drawn ? it->order : NULL;
}
int64_t ag_batch_iter_count(const ag_batch_iter *it) { return it ? it->count : 0; }
int64_t ag_batch_iter_epoch_samples(const ag_batch_iter *it)
{
    if (!it) return 0;
    int64_t bs = it->o.batch_size > 0 ? it->o.batch_size : 1;
    return it->o.drop_last ? it->num_batches * bs : it->count;
}
