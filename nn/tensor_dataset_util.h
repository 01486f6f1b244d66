/*
** tensor_dataset_util.h: the float dataset's struct and the constructor
** the loaders share (tensor_dataset.c), and the file helpers of csv.c and
** npy.c. Not public, not installed.
*/
#ifndef AG_TENSOR_DATASET_UTIL_H
#define AG_TENSOR_DATASET_UTIL_H

#include "ag.h"

struct ag_tensor_dataset {
    int64_t count;                        /* samples */
    int64_t features;                     /* values a sample: product of sample_shape */
    int sample_ndim;
    int64_t sample_shape[AG_MAX_DIMS];
    ag_dtype dtype;                       /* of x and y */
    void *x;                              /* [count, features] */
    ag_target_kind kind;
    int64_t target_cols;                  /* k of y; 1 for classes; 0 for none */
    int64_t num_classes;                  /* AG_TARGET_CLASS only */
    void *y;                              /* [count, target_cols] float targets */
    int64_t *labels;                      /* [count] class labels */
};

/*
** A dataset of n samples of the given sample shape (checked: ndim 0 to
** AG_MAX_DIMS - 1, the whole [n, shape...] within AG_NUMEL_MAX) from
** doubles: x holds n * F features, converted to dt; by kind, y holds
** n * target_cols float targets (converted to dt) or labels n labels
** (already checked to be in [0, num_classes)). Values are not checked.
** NULL with ag_last_error() naming fn (AG_ERR_NOMEM, or code for a shape
** beyond the limits: AG_ERR_FORMAT from a file, AG_ERR_ARG otherwise).
*/
ag_tensor_dataset *agn_tds_make(const char *fn, ag_status code, int64_t n, int sample_ndim,
                                const int64_t *sample_shape, ag_dtype dt, const double *x,
                                ag_target_kind kind, int64_t target_cols, const double *y,
                                const int64_t *labels, int64_t num_classes);

/* A path short enough to quote in a 512-byte message: its last 160 bytes
   after "..." when longer. */
const char *agn_short_path(const char *path, char buf[168]);

/* The index checks both datasets' subsets share (nn/dataset.c): n >= 0,
   indices not NULL when n > 0, each in [0, count). AG_OK, or AG_ERR_ARG
   with ag_last_error() naming fn, the position and the value. */
ag_status agn_check_indices(const char *fn, const int64_t *indices, int64_t n, int64_t count);

#endif
