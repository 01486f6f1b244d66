/*
** tensor_dataset.c: the float dataset (ag_dataset_io.h): construction from
** memory (checked and copied) and from the loaders' doubles (agn_tds_make,
** for csv.c and npy.c), subsets, accessors. The files are read elsewhere.
*/
#include "tensor_dataset_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *agn_short_path(const char *path, char buf[168])
{
    size_t len = strlen(path);
    if (len <= 160) return path;
    snprintf(buf, 168, "...%s", path + len - 160);
    return buf;
}

static size_t dt_size(ag_dtype dt) { return dt == AG_F64 ? sizeof(double) : sizeof(float); }

/* n values from doubles into dst of dtype dt. */
static void put_values(void *dst, ag_dtype dt, const double *src, int64_t n)
{
    if (dt == AG_F64) {
        if (n > 0) memcpy(dst, src, (size_t)n * sizeof(double));
        return;
    }
    float *f = dst;
    for (int64_t i = 0; i < n; i++) f[i] = (float)src[i];
}

/* Value i of a float* or double* array as a double. */
static double get_value(const void *src, ag_dtype dt, int64_t i)
{
    return dt == AG_F64 ? ((const double *)src)[i] : (double)((const float *)src)[i];
}

/* malloc of count values of size bytes (at least 1 byte), checked. */
static void *alloc_values(int64_t count, size_t size)
{
    int64_t bytes = ag_size_mul(count, (int64_t)size);
    if (bytes < 0 || (uint64_t)bytes > SIZE_MAX) return NULL;
    return malloc(bytes ? (size_t)bytes : 1);
}

/* The struct with its arrays allocated (x, and y or labels by kind), the
   shape checked; NULL with the error. */
static ag_tensor_dataset *tds_alloc(const char *fn, ag_status code, int64_t n, int sample_ndim,
                                    const int64_t *sample_shape, ag_dtype dt,
                                    ag_target_kind kind, int64_t target_cols)
{
    int64_t full[AG_MAX_DIMS] = {n};
    int shape_ok = sample_ndim >= 0 && sample_ndim < AG_MAX_DIMS && (sample_ndim == 0 || sample_shape);
    for (int d = 0; shape_ok && d < sample_ndim; d++) full[d + 1] = sample_shape[d];
    int64_t numel = shape_ok ? ag_shape_numel(sample_ndim + 1, full) : -1;
    int64_t tnumel = ag_shape_numel(2, (const int64_t[]){n, target_cols});
    if (numel < 0 || tnumel < 0)
        return ag_set_last_error(code, "%s: %lld samples of %d dims: a bad sample shape, or more "
                                 "values than a tensor may hold (AG_NUMEL_MAX)", fn,
                                 (long long)n, sample_ndim), NULL;
    ag_tensor_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn), NULL;
    ds->count = n, ds->sample_ndim = sample_ndim, ds->dtype = dt, ds->kind = kind;
    ds->features = ag_shape_numel(sample_ndim, full + 1);
    for (int d = 0; d < sample_ndim; d++) ds->sample_shape[d] = sample_shape[d];
    ds->target_cols = kind == AG_TARGET_NONE ? 0 : kind == AG_TARGET_CLASS ? 1 : target_cols;
    ds->x = alloc_values(numel, dt_size(dt));
    int ok = ds->x != NULL;
    if (ok && kind == AG_TARGET_FLOAT) ok = (ds->y = alloc_values(tnumel, dt_size(dt))) != NULL;
    if (ok && kind == AG_TARGET_CLASS)
        ok = (ds->labels = alloc_values(n, sizeof(int64_t))) != NULL;
    if (!ok) {
        int64_t f = ds->features;
        ag_tensor_dataset_free(ds);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory for %lld samples of %lld "
                                 "values", fn, (long long)n, (long long)f), NULL;
    }
    return ds;
}

ag_tensor_dataset *agn_tds_make(const char *fn, ag_status code, int64_t n, int sample_ndim,
                                const int64_t *sample_shape, ag_dtype dt, const double *x,
                                ag_target_kind kind, int64_t target_cols, const double *y,
                                const int64_t *labels, int64_t num_classes)
{
    ag_tensor_dataset *ds = tds_alloc(fn, code, n, sample_ndim, sample_shape, dt, kind,
                                      target_cols);
    if (!ds) return NULL;
    put_values(ds->x, dt, x, n * ds->features);
    if (kind == AG_TARGET_FLOAT) put_values(ds->y, dt, y, n * target_cols);
    if (kind == AG_TARGET_CLASS) {
        if (n > 0) memcpy(ds->labels, labels, (size_t)n * sizeof *labels);
        ds->num_classes = num_classes;
    }
    return ds;
}

void ag_tensor_dataset_free(ag_tensor_dataset *ds)
{
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    free(ds->labels);
    free(ds);
}

/* ------------------------------------------------------- from memory --- */

/* The first non-finite of n values of dtype dt, or -1. */
static int64_t first_nonfinite(const void *v, ag_dtype dt, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(get_value(v, dt, i))) return i;
    return -1;
}

/* Checks desc's targets against its kind; sets *classes (num_classes, the
   largest label + 1 when 0). */
static ag_status check_targets(const char *fn, const ag_tensor_dataset_desc *d, int64_t *classes)
{
    const int64_t n = d->n;
    if (d->kind == AG_TARGET_CLASS) {
        if (d->target_cols != 1 || d->float_targets || d->num_classes < 0 || (n > 0 && !d->labels))
            return ag_set_last_error(AG_ERR_ARG, "%s: class targets need labels (non-NULL), "
                                     "target_cols 1, float_targets NULL and num_classes >= 0; got "
                                     "target_cols %lld, num_classes %lld", fn,
                                     (long long)d->target_cols, (long long)d->num_classes);
        int64_t top = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t y = d->labels[i];
            if (y < 0)
                return ag_set_last_error(AG_ERR_ARG, "%s: labels[%lld] = %lld is negative", fn,
                                         (long long)i, (long long)y);
            if (d->num_classes > 0 && y >= d->num_classes)
                return ag_set_last_error(AG_ERR_ARG, "%s: labels[%lld] = %lld is outside [0, %lld) "
                                         "(num_classes)", fn, (long long)i, (long long)y,
                                         (long long)d->num_classes);
            if (y >= top) top = y + 1;
        }
        *classes = d->num_classes ? d->num_classes : (top ? top : 1);
        return AG_OK;
    }
    if (d->kind == AG_TARGET_FLOAT) {
        if (d->target_cols < 1 || d->labels || d->num_classes || (n > 0 && !d->float_targets))
            return ag_set_last_error(AG_ERR_ARG, "%s: float targets need float_targets (non-NULL), "
                                     "target_cols >= 1, labels NULL and num_classes 0; got "
                                     "target_cols %lld", fn, (long long)d->target_cols);
        return AG_OK;
    }
    if (d->kind != AG_TARGET_NONE || d->target_cols || d->labels || d->float_targets)
        return ag_set_last_error(AG_ERR_ARG, "%s: kind %d: AG_TARGET_NONE needs target_cols 0 and "
                                 "no labels or float_targets", fn, (int)d->kind);
    return AG_OK;
}

ag_tensor_dataset *ag_tensor_dataset_new(const ag_tensor_dataset_desc *d)
{
    const char *fn = "ag_tensor_dataset_new";
    if (!d) return ag_set_last_error(AG_ERR_ARG, "%s: desc is NULL", fn), NULL;
    if (d->dtype != AG_F32 && d->dtype != AG_F64)
        return ag_set_last_error(AG_ERR_DTYPE, "%s: dtype %d is not AG_F32 or AG_F64", fn,
                                 (int)d->dtype), NULL;
    if (d->n < 0 || (d->n > 0 && !d->features))
        return ag_set_last_error(AG_ERR_ARG, "%s: n is %lld%s", fn, (long long)d->n,
                                 d->n < 0 ? " (must be >= 0)" : " but features is NULL"), NULL;
    int64_t classes = 0;
    if (check_targets(fn, d, &classes) != AG_OK) return NULL;
    ag_tensor_dataset *ds = tds_alloc(fn, AG_ERR_ARG, d->n, d->sample_ndim, d->sample_shape,
                                      d->dtype, d->kind, d->target_cols);
    if (!ds) return NULL;
    int64_t bad = d->allow_nonfinite ? -1 : first_nonfinite(d->features, d->dtype, d->n * ds->features);
    int64_t bady = d->allow_nonfinite || d->kind != AG_TARGET_FLOAT ? -1
                 : first_nonfinite(d->float_targets, d->dtype, d->n * d->target_cols);
    if (bad >= 0 || bady >= 0) {
        int64_t at = bad >= 0 ? bad : bady, cols = bad >= 0 ? ds->features : d->target_cols;
        ag_tensor_dataset_free(ds);
        return ag_set_last_error(AG_ERR_ARG, "%s: %s of sample %lld, value %lld, is %g (not "
                                 "finite; allow_nonfinite accepts it)", fn,
                                 bad >= 0 ? "feature" : "target", (long long)(at / cols),
                                 (long long)(at % cols),
                                 get_value(bad >= 0 ? d->features : d->float_targets, d->dtype, at)),
               NULL;
    }
    ds->num_classes = classes;
    if (d->n == 0) return ds;                                /* the pointers may be NULL */
    memcpy(ds->x, d->features, (size_t)(d->n * ds->features) * dt_size(d->dtype));
    if (d->kind == AG_TARGET_FLOAT)
        memcpy(ds->y, d->float_targets, (size_t)(d->n * d->target_cols) * dt_size(d->dtype));
    if (d->kind == AG_TARGET_CLASS)
        memcpy(ds->labels, d->labels, (size_t)d->n * sizeof(int64_t));
    return ds;
}

ag_tensor_dataset *ag_tensor_dataset_subset(const ag_tensor_dataset *ds, const int64_t *indices,
                                            int64_t n)
{
    const char *fn = "ag_tensor_dataset_subset";
    if (!ds) return ag_set_last_error(AG_ERR_ARG, "%s: dataset is NULL", fn), NULL;
    if (agn_check_indices(fn, indices, n, ds->count) != AG_OK) return NULL;
    ag_tensor_dataset *sub = tds_alloc(fn, AG_ERR_ARG, n, ds->sample_ndim, ds->sample_shape,
                                       ds->dtype, ds->kind, ds->target_cols);
    if (!sub) return NULL;
    const size_t row = (size_t)ds->features * dt_size(ds->dtype);
    const size_t trow = (size_t)ds->target_cols * dt_size(ds->dtype);
    for (int64_t i = 0; i < n; i++) {
        memcpy((char *)sub->x + i * row, (const char *)ds->x + indices[i] * row, row);
        if (ds->kind == AG_TARGET_FLOAT)
            memcpy((char *)sub->y + i * trow, (const char *)ds->y + indices[i] * trow, trow);
        if (ds->kind == AG_TARGET_CLASS) sub->labels[i] = ds->labels[indices[i]];
    }
    sub->num_classes = ds->num_classes;
    return sub;
}

/* ---------------------------------------------------------- accessors --- */

int64_t ag_tensor_dataset_count(const ag_tensor_dataset *ds) { return ds ? ds->count : 0; }
int64_t ag_tensor_dataset_features(const ag_tensor_dataset *ds) { return ds ? ds->features : 0; }
ag_dtype ag_tensor_dataset_dtype(const ag_tensor_dataset *ds) { return ds ? ds->dtype : AG_F32; }

ag_target_kind ag_tensor_dataset_target_kind(const ag_tensor_dataset *ds)
{
    return ds ? ds->kind : AG_TARGET_NONE;
}

int64_t ag_tensor_dataset_target_cols(const ag_tensor_dataset *ds)
{
    return ds ? ds->target_cols : 0;
}

int64_t ag_tensor_dataset_num_classes(const ag_tensor_dataset *ds)
{
    return ds ? ds->num_classes : 0;
}

int ag_tensor_dataset_sample_shape(const ag_tensor_dataset *ds, int64_t *shape)
{
    if (!ds) return 0;
    for (int d = 0; shape && d < ds->sample_ndim; d++) shape[d] = ds->sample_shape[d];
    return ds->sample_ndim;
}

double ag_tensor_dataset_feature(const ag_tensor_dataset *ds, int64_t i, int64_t j)
{
    if (!ds || i < 0 || i >= ds->count || j < 0 || j >= ds->features) return 0;
    return get_value(ds->x, ds->dtype, i * ds->features + j);
}

const void *ag_tensor_dataset_sample(const ag_tensor_dataset *ds, int64_t i)
{
    if (!ds || i < 0 || i >= ds->count) return NULL;
    return (const char *)ds->x + (size_t)(i * ds->features) * dt_size(ds->dtype);
}

int64_t ag_tensor_dataset_label(const ag_tensor_dataset *ds, int64_t i)
{
    if (!ds || ds->kind != AG_TARGET_CLASS || i < 0 || i >= ds->count) return -1;
    return ds->labels[i];
}

double ag_tensor_dataset_target(const ag_tensor_dataset *ds, int64_t i, int64_t k)
{
    if (!ds || ds->kind != AG_TARGET_FLOAT || i < 0 || i >= ds->count || k < 0 ||
        k >= ds->target_cols)
        return 0;
    return get_value(ds->y, ds->dtype, i * ds->target_cols + k);
}
