/*
** npy_dataset.c: ag_tensor_dataset_load_npy (ag_dataset_io.h): a features
** file and a targets file read by ag_npy_load, checked against each other
** (counts, target shape, labels, non-finite values) and made a dataset.
*/
#include "tensor_dataset_util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define NPYDS_FN "ag_tensor_dataset_load_npy"

/* Loads path into a; the message gets this function's name in front. */
static ag_status load(const char *path, ag_npy *a)
{
    ag_status s = ag_npy_load(path, a);
    if (s != AG_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", ag_last_error());
        ag_set_last_error(s, "%s: %s", NPYDS_FN, msg);
    }
    return s;
}

/* Checks n values: finite (unless allowed) and within f32's range for f32
   storage; the message names the file, the row and the column. */
static ag_status check_values(const char *shown, const double *v, int64_t n, int64_t cols,
                              const ag_npy_opts *o)
{
    for (int64_t i = 0; i < n; i++) {
        const char *why = !isfinite(v[i]) ? (o->allow_nonfinite ? NULL : "is not finite "
                                             "(allow_nonfinite accepts it)")
                        : o->dtype == AG_F32 && fabs(v[i]) > FLT_MAX
                        ? "is beyond the range of f32 storage (use AG_F64)" : NULL;
        if (why)
            return ag_set_last_error(AG_ERR_FORMAT, "%s: '%s': the value of row %lld, column "
                                     "%lld, %g, %s", NPYDS_FN, shown, (long long)(i / cols),
                                     (long long)(i % cols), v[i], why);
    }
    return AG_OK;
}

/* labels from the targets' values: whole, >= 0, below num_classes (when
   given); *classes the number of classes. */
static ag_status check_labels(const char *shown, const ag_npy *y, int64_t *labels,
                              int64_t num_classes, int64_t *classes)
{
    int64_t top = 0;
    for (int64_t i = 0; i < y->numel; i++) {
        double v = y->data[i];
        const char *why = !(v == floor(v)) ? "is not a whole number" : v < 0 ? "is negative"
                        : num_classes > 0 && v >= (double)num_classes ? "is not below num_classes"
                        : NULL;
        if (why)
            return ag_set_last_error(AG_ERR_FORMAT, "%s: '%s': label %lld, %g, %s%s", NPYDS_FN,
                                     shown, (long long)i, v, why, num_classes > 0 &&
                                     v >= (double)num_classes ? "" : "");
        labels[i] = (int64_t)v;
        if (labels[i] >= top) top = labels[i] + 1;
    }
    *classes = num_classes > 0 ? num_classes : (top ? top : 1);
    return AG_OK;
}

/* The targets' shape against the features' count: k columns in *cols. */
static ag_status check_target_shape(const char *fpath, const char *tpath, const ag_npy *x,
                                    const ag_npy *y, int classes, int64_t *cols)
{
    int ok = y->ndim == 1 || (y->ndim == 2 && (!classes || y->shape[1] == 1));
    *cols = y->ndim == 2 ? y->shape[1] : 1;
    if (!ok || *cols < 1)
        return ag_set_last_error(AG_ERR_FORMAT, "%s: '%s': targets of %d dims ([%lld%s]): %s",
                                 NPYDS_FN, tpath, y->ndim, y->ndim ? (long long)y->shape[0] : 0LL,
                                 y->ndim > 1 ? ", ..." : "", classes ? "class labels must be [N] "
                                 "or [N, 1]" : "float targets must be [N] or [N, k] with k >= 1");
    if (y->shape[0] != x->shape[0])
        return ag_set_last_error(AG_ERR_FORMAT, "%s: %lld samples in '%s' but %lld targets in "
                                 "'%s'", NPYDS_FN, (long long)x->shape[0], fpath,
                                 (long long)y->shape[0], tpath);
    return AG_OK;
}

/* The dataset from loaded arrays (targets y may be NULL). */
static ag_tensor_dataset *make(const char *fshown, const char *tshown, const ag_npy *x,
                               const ag_npy *y, const ag_npy_opts *o)
{
    const int64_t n = x->shape[0], features = n ? x->numel / n : 0;
    int64_t cols = 0, classes = 0, *labels = NULL;
    if (x->ndim < 1)
        return ag_set_last_error(AG_ERR_FORMAT, "%s: '%s': a 0-D array: features need a sample "
                                 "axis first", NPYDS_FN, fshown), NULL;
    if (check_values(fshown, x->data, x->numel, features ? features : 1, o) != AG_OK) return NULL;
    if (y && check_target_shape(fshown, tshown, x, y, o->class_targets, &cols) != AG_OK) return NULL;
    if (y && !o->class_targets && check_values(tshown, y->data, y->numel, cols, o) != AG_OK)
        return NULL;
    if (y && o->class_targets) {
        if (!(labels = malloc((size_t)(n ? n : 1) * sizeof *labels)))
            return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", NPYDS_FN), NULL;
        if (check_labels(tshown, y, labels, o->num_classes, &classes) != AG_OK)
            return free(labels), NULL;
    }
    ag_target_kind kind = !y ? AG_TARGET_NONE : o->class_targets ? AG_TARGET_CLASS
                                                                 : AG_TARGET_FLOAT;
    ag_tensor_dataset *ds = agn_tds_make(NPYDS_FN, AG_ERR_FORMAT, n, x->ndim - 1, x->shape + 1,
                                         o->dtype, x->data, kind, cols, y ? y->data : NULL,
                                         labels, classes);
    free(labels);
    return ds;
}

ag_tensor_dataset *ag_tensor_dataset_load_npy(const char *features_path, const char *targets_path,
                                              const ag_npy_opts *opts)
{
    ag_npy_opts o = {0};
    if (opts) o = *opts;
    if (!features_path)
        return ag_set_last_error(AG_ERR_ARG, "%s: features_path is NULL", NPYDS_FN), NULL;
    if (o.dtype != AG_F32 && o.dtype != AG_F64)
        return ag_set_last_error(AG_ERR_DTYPE, "%s: dtype %d is not AG_F32 or AG_F64", NPYDS_FN,
                                 (int)o.dtype), NULL;
    if (o.num_classes < 0 || (o.num_classes && !o.class_targets) ||
        (o.class_targets && !targets_path))
        return ag_set_last_error(AG_ERR_ARG, "%s: num_classes %lld, class_targets %d, targets "
                                 "path %s: num_classes >= 0 and only with class_targets, which "
                                 "needs a targets file", NPYDS_FN, (long long)o.num_classes,
                                 o.class_targets, targets_path ? "given" : "NULL"), NULL;
    char fbuf[168], tbuf[168];
    ag_npy x, y;
    if (load(features_path, &x) != AG_OK) return NULL;
    if (targets_path && load(targets_path, &y) != AG_OK) return ag_npy_free(&x), NULL;
    ag_tensor_dataset *ds = make(agn_short_path(features_path, fbuf),
                                 targets_path ? agn_short_path(targets_path, tbuf) : NULL, &x,
                                 targets_path ? &y : NULL, &o);
    ag_npy_free(&x);
    if (targets_path) ag_npy_free(&y);
    return ds;
}
