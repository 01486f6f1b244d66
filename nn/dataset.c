/*
** dataset.c: the byte dataset: construction (from IDX files or bytes),
** views (split) and copies (subset), accessors, normalization, epoch
** orders and mini-batches as tensors. The IDX reader is idx.c; the
** synthetic spirals are synth.c. Samples and labels stay bytes here; they
** become floating point only inside a batch.
*/
#include "ag.h"
#include "tensor_dataset_util.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLE_DIMS 3
#define FILL_GRAIN 8192          /* elements: a batch of fewer stays on one thread */

#if defined(__GNUC__)
#define AG_PREFETCH(p) __builtin_prefetch(p)
#else
#define AG_PREFETCH(p) ((void)(p))
#endif

/* The bytes, shared by a dataset and its views; freed with the last one. */
typedef struct data_store {
    atomic_int refs;
    uint8_t *samples;     /* count * features bytes */
    uint8_t *labels;      /* count bytes */
} data_store;

struct ag_dataset {
    data_store *store;
    const uint8_t *samples;   /* this dataset's first sample inside store */
    const uint8_t *labels;
    int64_t count, features;
    int sample_ndim;
    int64_t sample_shape[MAX_SAMPLE_DIMS];
    int num_classes;
    double mean, std;         /* batch value = (byte / 255 - mean) / std */
};

/* ------------------------------------------------------- construction --- */

/* A dataset owning samples and labels (malloc'd; freed here on failure);
   NULL with the error. The caller has checked the shape. */
static ag_dataset *dataset_adopt(const char *fn, int64_t n, int sample_ndim,
                                 const int64_t *sample_shape, int num_classes,
                                 uint8_t *samples, uint8_t *labels)
{
    ag_dataset *ds = samples && labels ? calloc(1, sizeof *ds) : NULL;
    data_store *st = ds ? calloc(1, sizeof *st) : NULL;
    if (!st) {
        free(ds), free(samples), free(labels);
        ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory for %lld samples", fn, (long long)n);
        return NULL;
    }
    atomic_init(&st->refs, 1);
    st->samples = samples, st->labels = labels;
    ds->store = st;
    ds->samples = samples, ds->labels = labels;
    ds->count = n, ds->features = ag_shape_numel(sample_ndim, sample_shape);   /* checked */
    ds->sample_ndim = sample_ndim;
    for (int i = 0; i < sample_ndim; i++) ds->sample_shape[i] = sample_shape[i];
    ds->num_classes = num_classes;
    ds->mean = 0, ds->std = 1;
    return ds;
}

/* A dataset with room for n samples (bytes uninitialised); NULL with the
   error. The caller has checked the shape. */
static ag_dataset *dataset_alloc(const char *fn, int64_t n, int sample_ndim,
                                 const int64_t *sample_shape, int num_classes)
{
    const int64_t features = ag_shape_numel(sample_ndim, sample_shape);   /* checked */
    const int64_t bytes = ag_size_mul(n, features);
    if (bytes < 0 || (uint64_t)bytes > SIZE_MAX / 2)
        return ag_set_last_error(AG_ERR_NOMEM, "%s: %lld samples of %lld bytes are too many",
                                 fn, (long long)n, (long long)features), NULL;
    uint8_t *samples = malloc(bytes > 0 ? (size_t)bytes : 1);
    uint8_t *labels = malloc(n > 0 ? (size_t)n : 1);
    return dataset_adopt(fn, n, sample_ndim, sample_shape, num_classes, samples, labels);
}

/* AG_OK when every labels[0..n) < num_classes; else the error naming the
   first bad one (and where, when `where` is given). */
static ag_status check_labels(const char *fn, const uint8_t *labels, int64_t n,
                              int num_classes, const char *where)
{
    for (int64_t i = 0; i < n; i++)
        if (labels[i] >= num_classes)
            return ag_set_last_error(AG_ERR_FORMAT, "%s: label %d at index %lld%s%s%s is out of "
                                     "range for %d classes (0 to %d)", fn, labels[i], (long long)i,
                                     where ? " of '" : "", where ? where : "", where ? "'" : "",
                                     num_classes, num_classes - 1);
    return AG_OK;
}

static ag_status check_classes(const char *fn, int num_classes)
{
    if (num_classes < 1 || num_classes > 256)
        return ag_set_last_error(AG_ERR_ARG, "%s: num_classes %d (1 to 256: labels are bytes)",
                                 fn, num_classes);
    return AG_OK;
}

/* Each sample dim in [0, 2^31), the shape accepted by ag_shape_numel
   (the rule of every tensor's shape) and its element count below 2^31;
   else the error (status s). */
static ag_status check_sample_shape(const char *fn, int ndim, const int64_t *shape, ag_status s)
{
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || shape[i] > INT32_MAX)
            return ag_set_last_error(s, "%s: sample dimension %d is %lld", fn, i,
                                     (long long)shape[i]);
    int64_t features = ag_shape_numel(ndim, shape);
    if (features < 0 || features > INT32_MAX)
        return ag_set_last_error(s, "%s: samples of more than 2^31 bytes%s", fn,
                                 features < 0 ? " (zero dims aside)" : "");
    return AG_OK;
}

ag_dataset *ag_dataset_from_bytes(int64_t n, int sample_ndim, const int64_t *sample_shape,
                                  const uint8_t *samples, const uint8_t *labels,
                                  int num_classes)
{
    const char *fn = "ag_dataset_from_bytes";
    if (check_classes(fn, num_classes) != AG_OK) return NULL;
    if (n < 0 || sample_ndim < 0 || sample_ndim > MAX_SAMPLE_DIMS || (sample_ndim && !sample_shape))
        return ag_set_last_error(AG_ERR_ARG, "%s: bad count %lld or sample shape (%d dimensions, "
                                 "0 to %d)", fn, (long long)n, sample_ndim, MAX_SAMPLE_DIMS), NULL;
    if (check_sample_shape(fn, sample_ndim, sample_shape, AG_ERR_ARG) != AG_OK) return NULL;
    if (n > 0 && (!samples || !labels))
        return ag_set_last_error(AG_ERR_ARG, "%s: %s is NULL for %lld samples", fn,
                                 samples ? "labels" : "samples", (long long)n), NULL;
    if (n > 0 && check_labels(fn, labels, n, num_classes, NULL) != AG_OK) return NULL;
    ag_dataset *ds = dataset_alloc(fn, n, sample_ndim, sample_shape, num_classes);
    if (!ds) return NULL;
    const int64_t bytes = ag_size_mul(n, ds->features);       /* checked by dataset_alloc */
    if (bytes > 0) memcpy(ds->store->samples, samples, (size_t)bytes);
    if (n > 0) memcpy(ds->store->labels, labels, (size_t)n);
    return ds;
}

/* Loads both files; on failure frees both and sets the error. */
static ag_status load_pair(const char *fn, const char *images_path, const char *labels_path,
                           ag_idx *images, ag_idx *labels)
{
    ag_status s = ag_idx_load(images_path, images);
    if (s == AG_OK) s = ag_idx_load(labels_path, labels);
    if (s != AG_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ag_last_error());
        ag_idx_free(images);
        return ag_set_last_error(s, "%s: %s", fn, msg);
    }
    if (labels->ndim != 1)
        s = ag_set_last_error(AG_ERR_FORMAT, "%s: the labels file '%s' has %d dimensions, not 1",
                              fn, labels_path, labels->ndim);
    else if (images->dims[0] != labels->dims[0])
        s = ag_set_last_error(AG_ERR_FORMAT, "%s: %lld images in '%s' but %lld labels in '%s'",
                              fn, (long long)images->dims[0], images_path,
                              (long long)labels->dims[0], labels_path);
    if (s != AG_OK) ag_idx_free(images), ag_idx_free(labels);
    return s;
}

ag_dataset *ag_dataset_load_idx_classes(const char *images_path, const char *labels_path,
                                        int num_classes)
{
    const char *fn = "ag_dataset_load_idx";
    if (check_classes(fn, num_classes) != AG_OK) return NULL;
    if (!images_path || !labels_path)
        return ag_set_last_error(AG_ERR_ARG, "%s: %s path is NULL", fn,
                                 images_path ? "labels" : "images"), NULL;
    ag_idx images, labels;
    if (load_pair(fn, images_path, labels_path, &images, &labels) != AG_OK) return NULL;
    if (check_labels(fn, labels.data, labels.size, num_classes, labels_path) != AG_OK) {
        ag_idx_free(&images), ag_idx_free(&labels);
        return NULL;
    }
    /* a file of 0 samples may declare any sample shape: check it too */
    if (check_sample_shape(fn, images.ndim - 1, images.dims + 1, AG_ERR_FORMAT) != AG_OK) {
        ag_idx_free(&images), ag_idx_free(&labels);
        return NULL;
    }
    /* the files' bytes are moved into the dataset, not copied */
    return dataset_adopt(fn, images.dims[0], images.ndim - 1, images.dims + 1, num_classes,
                         images.data, labels.data);
}

ag_dataset *ag_dataset_load_idx(const char *images_path, const char *labels_path)
{
    return ag_dataset_load_idx_classes(images_path, labels_path, 10);
}

void ag_dataset_free(ag_dataset *ds)
{
    if (!ds) return;
    if (atomic_fetch_sub(&ds->store->refs, 1) == 1) {
        free(ds->store->samples);
        free(ds->store->labels);
        free(ds->store);
    }
    free(ds);
}

/* ---------------------------------------------------------- accessors --- */

int64_t ag_dataset_count(const ag_dataset *ds) { return ds ? ds->count : 0; }
int64_t ag_dataset_features(const ag_dataset *ds) { return ds ? ds->features : 0; }
int ag_dataset_num_classes(const ag_dataset *ds) { return ds ? ds->num_classes : 0; }

int ag_dataset_sample_shape(const ag_dataset *ds, int64_t shape[3])
{
    if (!ds) return 0;
    for (int i = 0; shape && i < ds->sample_ndim; i++) shape[i] = ds->sample_shape[i];
    return ds->sample_ndim;
}

int ag_dataset_label(const ag_dataset *ds, int64_t i)
{
    return ds && i >= 0 && i < ds->count ? ds->labels[i] : -1;
}

const uint8_t *ag_dataset_sample(const ag_dataset *ds, int64_t i)
{
    return ds && i >= 0 && i < ds->count ? ds->samples + i * ds->features : NULL;
}

ag_status ag_dataset_class_counts(const ag_dataset *ds, int64_t *counts)
{
    if (!ds || !counts)
        return ag_set_last_error(AG_ERR_ARG, "ag_dataset_class_counts: %s is NULL",
                                 ds ? "counts" : "dataset");
    for (int c = 0; c < ds->num_classes; c++) counts[c] = 0;
    for (int64_t i = 0; i < ds->count; i++) counts[ds->labels[i]]++;
    return AG_OK;
}

/* ------------------------------------------------------ normalization --- */

ag_status ag_dataset_set_normalize(ag_dataset *ds, double mean, double std)
{
    if (!ds) return ag_set_last_error(AG_ERR_ARG, "ag_dataset_set_normalize: dataset is NULL");
    if (!isfinite(mean) || !isfinite(std) || !(std > 0))
        return ag_set_last_error(AG_ERR_ARG, "ag_dataset_set_normalize: mean %.17g, std %.17g "
                                 "(mean finite, std finite and > 0)", mean, std);
    ds->mean = mean, ds->std = std;
    return AG_OK;
}

void ag_dataset_get_normalize(const ag_dataset *ds, double *mean, double *std)
{
    if (mean) *mean = ds ? ds->mean : 0;
    if (std) *std = ds ? ds->std : 1;
}

ag_status ag_dataset_pixel_stats(const ag_dataset *ds, double *mean, double *std)
{
    if (!ds || !mean || !std)
        return ag_set_last_error(AG_ERR_ARG, "ag_dataset_pixel_stats: %s is NULL",
                                 !ds ? "dataset" : !mean ? "mean" : "std");
    uint64_t hist[256] = {0};           /* exact: a histogram, not float sums */
    int64_t total = ag_size_mul(ds->count, ds->features);     /* checked when made */
    for (int64_t i = 0; i < total; i++) hist[ds->samples[i]]++;
    if (total == 0) {
        *mean = 0, *std = 1;
        return AG_OK;
    }
    double sum = 0, sq = 0;
    for (int v = 0; v < 256; v++) sum += (double)hist[v] * (v / 255.0);
    double m = sum / (double)total;
    for (int v = 0; v < 256; v++) sq += (double)hist[v] * (v / 255.0 - m) * (v / 255.0 - m);
    *mean = m, *std = sqrt(sq / (double)total);
    return AG_OK;
}

/* -------------------------------------------------- views and copies --- */

/* A view of ds's samples [start, start + n). */
static ag_dataset *make_view(const ag_dataset *ds, int64_t start, int64_t n)
{
    ag_dataset *v = malloc(sizeof *v);
    if (!v) return ag_set_last_error(AG_ERR_NOMEM, "ag_dataset_split: out of memory"), NULL;
    *v = *ds;
    v->samples = ds->samples + start * ds->features;
    v->labels = ds->labels + start;
    v->count = n;
    atomic_fetch_add(&ds->store->refs, 1);
    return v;
}

ag_status ag_dataset_split(const ag_dataset *ds, int64_t n_first, ag_dataset **first,
                           ag_dataset **second)
{
    if (first) *first = NULL;
    if (second) *second = NULL;
    if (!ds || !first || !second)
        return ag_set_last_error(AG_ERR_ARG, "ag_dataset_split: %s is NULL",
                                 !ds ? "dataset" : !first ? "first" : "second");
    if (n_first < 0 || n_first > ds->count)
        return ag_set_last_error(AG_ERR_ARG, "ag_dataset_split: n_first %lld is outside [0, %lld] "
                                 "(the dataset's count)", (long long)n_first, (long long)ds->count);
    *first = make_view(ds, 0, n_first);
    *second = *first ? make_view(ds, n_first, ds->count - n_first) : NULL;
    if (!*second) {
        ag_dataset_free(*first), *first = NULL;
        return AG_ERR_NOMEM;
    }
    return AG_OK;
}

/* indices[0..n) of a subset of a dataset of count samples: n >= 0, each
   in [0, count). AG_OK, or AG_ERR_ARG with ag_last_error() naming fn. */
ag_status agn_check_indices(const char *fn, const int64_t *indices, int64_t n, int64_t count)
{
    if (n < 0 || (n > 0 && !indices))
        return ag_set_last_error(AG_ERR_ARG, "%s: %lld indices%s", fn, (long long)n,
                                 n < 0 ? "" : " but indices is NULL");
    for (int64_t i = 0; i < n; i++)
        if (indices[i] < 0 || indices[i] >= count)
            return ag_set_last_error(AG_ERR_ARG, "%s: indices[%lld] = %lld is outside [0, %lld)",
                                     fn, (long long)i, (long long)indices[i], (long long)count);
    return AG_OK;
}

ag_dataset *ag_dataset_subset(const ag_dataset *ds, const int64_t *indices, int64_t n)
{
    const char *fn = "ag_dataset_subset";
    if (!ds) return ag_set_last_error(AG_ERR_ARG, "%s: dataset is NULL", fn), NULL;
    if (agn_check_indices(fn, indices, n, ds->count) != AG_OK) return NULL;
    ag_dataset *sub = dataset_alloc(fn, n, ds->sample_ndim, ds->sample_shape, ds->num_classes);
    if (!sub) return NULL;
    for (int64_t i = 0; i < n; i++) {
        memcpy(sub->store->samples + i * ds->features, ds->samples + indices[i] * ds->features,
               (size_t)ds->features);
        sub->store->labels[i] = ds->labels[indices[i]];
    }
    sub->mean = ds->mean, sub->std = ds->std;
    return sub;
}

/* ------------------------------------------------------------- epochs --- */

/* Uniform in [0, bound) (bound >= 1) without modulo bias: draws below
   2^64 mod bound are rejected. */
static uint64_t uniform_below(ag_rng *rng, uint64_t bound)
{
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t r = ag_rng_u64(rng);
        if (r >= threshold) return r % bound;
    }
}

ag_status ag_epoch_order(int64_t *order, int64_t n, ag_rng *rng)
{
    if (n < 0 || (n > 0 && !order))
        return ag_set_last_error(AG_ERR_ARG, "ag_epoch_order: n is %lld%s", (long long)n,
                                 n < 0 ? " (must be >= 0)" : " but order is NULL");
    for (int64_t i = 0; i < n; i++) order[i] = i;
    if (!rng) return AG_OK;
    for (int64_t i = n - 1; i > 0; i--) {         /* Fisher-Yates, from the end */
        int64_t j = (int64_t)uniform_below(rng, (uint64_t)i + 1);
        int64_t tmp = order[i];
        order[i] = order[j], order[j] = tmp;
    }
    return AG_OK;
}

/* ------------------------------------------------------------ batches --- */

/* B for a batch at start, or -1 with the message in msg. */
static int64_t batch_rows(const ag_dataset *ds, const int64_t *order, int64_t start,
                          int64_t batch_size, char *msg, size_t cap)
{
    if (batch_size < 1) {
        snprintf(msg, cap, "batch_size %lld (must be >= 1)", (long long)batch_size);
        return -1;
    }
    if (start < 0 || start >= ds->count) {
        snprintf(msg, cap, "start %lld is outside [0, %lld) (the dataset's count)",
                 (long long)start, (long long)ds->count);
        return -1;
    }
    int64_t rows = ds->count - start < batch_size ? ds->count - start : batch_size;
    for (int64_t r = 0; order && r < rows; r++)
        if (order[start + r] < 0 || order[start + r] >= ds->count) {
            snprintf(msg, cap, "order[%lld] = %lld is outside [0, %lld)", (long long)(start + r),
                     (long long)order[start + r], (long long)ds->count);
            return -1;
        }
    return rows;
}

/* The rows of one batch being assembled (fill_rows). */
typedef struct fill_job {
    const ag_dataset *ds;
    const int64_t *order;
    int64_t start;
    ag_dtype dt;
    void *x;
    int64_t *labels;
    double table[256];        /* (v / 255 - mean) / std */
    float table32[256];       /* the same rounded to f32 */
} fill_job;

/* Sample index of batch row r. */
static int64_t fill_index(const fill_job *j, int64_t r)
{
    return j->order ? j->order[j->start + r] : j->start + r;
}

/* Asks for the bytes of batch row r (each 64-byte line). */
static void fill_prefetch(const fill_job *j, int64_t r)
{
    const int64_t f = j->ds->features;
    const uint8_t *src = j->ds->samples + fill_index(j, r) * f;
    for (int64_t k = 0; k < f; k += 64) AG_PREFETCH(src + k);
}

/* Rows [lo, hi) of the batch: x[r, :] = table[sample bytes] (a vector
   lookup, ag_vmath.h), each row's
   bytes asked for two rows ahead (a shuffled order reads rows scattered
   over the whole dataset, so each would otherwise wait on memory). */
static void fill_range(void *ctx, int64_t lo, int64_t hi)
{
    const fill_job *j = ctx;
    const int64_t f = j->ds->features;
    for (int64_t r = lo; r < hi && r < lo + 2; r++) fill_prefetch(j, r);
    for (int64_t r = lo; r < hi; r++) {
        int64_t i = fill_index(j, r);
        const uint8_t *src = j->ds->samples + i * f;
        if (r + 2 < hi) fill_prefetch(j, r + 2);
        if (j->dt == AG_F32)
            ag_vlookup_u8_f32((float *)j->x + r * f, src, f, j->table32);
        else
            ag_vlookup_u8_f64((double *)j->x + r * f, src, f, j->table);
        if (j->labels) j->labels[r] = j->ds->labels[i];
    }
}

/* x[r, :] = (sample(order[start + r]) / 255 - mean) / std for r < rows,
   through a 256-entry table; labels[r] likewise. x is [rows, features].
   Rows are split over the thread pool (ag_parallel_range). */
static void fill_rows(const ag_dataset *ds, const int64_t *order, int64_t start, int64_t rows,
                      ag_dtype dt, void *x, int64_t *labels)
{
    fill_job j = {ds, order, start, dt, x, labels, {0}, {0}};
    for (int v = 0; v < 256; v++) {
        j.table[v] = (v / 255.0 - ds->mean) / ds->std;
        j.table32[v] = (float)j.table[v];
    }
    int64_t grain = ds->features > 0 ? FILL_GRAIN / ds->features : rows;
    ag_parallel_range(rows, grain > 0 ? grain : 1, fill_range, &j);
}

ag_tensor *ag_dataset_batch(ag_tape *t, const ag_dataset *ds, const int64_t *order,
                            int64_t start, int64_t batch_size, ag_dtype dt, int64_t *labels)
{
    const char *fn = "ag_dataset_batch";
    char msg[256];
    int64_t rows = -1;
    if (t && ag_tape_status(t) != AG_OK) return NULL;          /* sticky, as ops */
    if (!ds) snprintf(msg, sizeof msg, "dataset is NULL");
    else if (dt != AG_F32 && dt != AG_F64) snprintf(msg, sizeof msg, "dtype %d is not AG_F32 "
                                                    "or AG_F64", (int)dt);
    else rows = batch_rows(ds, order, start, batch_size, msg, sizeof msg);
    if (rows < 0) {
        ag_status s = ds && dt != AG_F32 && dt != AG_F64 ? AG_ERR_DTYPE : AG_ERR_ARG;
        if (t) ag_tape_set_error(t, s, "%s: %s", fn, msg);
        else ag_set_last_error(s, "%s: %s", fn, msg);
        return NULL;
    }
    ag_tensor *x = ag_zeros(t, dt, 2, (const int64_t[]){rows, ds->features});
    if (!x) return NULL;
    fill_rows(ds, order, start, rows, dt, ag_tensor_data(x), labels);
    return x;
}

int64_t ag_dataset_batch_into(ag_tensor *dst, const ag_dataset *ds, const int64_t *order,
                              int64_t start, int64_t *labels)
{
    const char *fn = "ag_dataset_batch_into";
    char msg[256];
    if (!dst || !ds)
        return ag_set_last_error(AG_ERR_ARG, "%s: %s is NULL", fn, dst ? "dataset" : "dst"), -1;
    void *data = ag_tensor_data(dst);            /* NULL: a tape tensor from before a reset */
    if (!data)
        return ag_set_last_error(AG_ERR_STATE, "%s: dst was made before its tape was reset",
                                 fn), -1;
    const int64_t *shape = ag_tensor_shape(dst);
    int ndim = ag_tensor_ndim(dst);
    if (ndim != 2 || shape[1] != ds->features || shape[0] < 1) {
        int at = snprintf(msg, sizeof msg, "[");
        for (int i = 0; i < ndim; i++)
            at += snprintf(msg + at, sizeof msg - (size_t)at, "%s%lld", i ? "," : "",
                           (long long)shape[i]);
        snprintf(msg + at, sizeof msg - (size_t)at, "]");
        return ag_set_last_error(AG_ERR_SHAPE, "%s: dst is %s; it must be [batch, %lld] with "
                                 "batch >= 1", fn, msg, (long long)ds->features), -1;
    }
    int64_t rows = batch_rows(ds, order, start, shape[0], msg, sizeof msg);
    if (rows < 0) return ag_set_last_error(AG_ERR_ARG, "%s: %s", fn, msg), -1;
    fill_rows(ds, order, start, rows, ag_tensor_dtype(dst), data, labels);
    return rows;
}
