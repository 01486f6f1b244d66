/*
** ag_dataset_io.h: datasets of floating-point features (PyTorch's
** TensorDataset), made from memory, from CSV files and from NumPy .npy
** files, beside the byte datasets of ag_data.h (IDX). A batch iterator over
** either kind is in ag_batch_iter.h.
**
**     ag_csv_opts o = {0};                  // ',' delimiter, last column the target
**     o.header = 1;                         // the first line names the columns
**     o.class_targets = 1;                  // the target column holds class labels
**     ag_tensor_dataset *ds = ag_tensor_dataset_load_csv("iris.csv", &o);
**     if (!ds) { fprintf(stderr, "%s\n", ag_last_error()); return 1; }
**     // ag_tensor_dataset_count(ds) rows, ag_tensor_dataset_features(ds) columns
**     ag_tensor_dataset_free(ds);
**
** From memory (copied; x and y stay the caller's):
**
**     float x[100 * 4], y[100];                    // 100 samples of 4 features
**     ag_tensor_dataset_desc d = {0};
**     d.n = 100, d.sample_ndim = 1, d.sample_shape = (const int64_t[]){4};
**     d.dtype = AG_F32, d.features = x;
**     d.kind = AG_TARGET_FLOAT, d.target_cols = 1, d.float_targets = y;
**     ag_tensor_dataset *ds = ag_tensor_dataset_new(&d);
**
** Storage. Features are kept as f32 (4 bytes a value) or f64 (8 bytes), the
** dtype chosen when the dataset is made (options' dtype; AG_F32 by
** default). Targets are one of:
**   - class labels (AG_TARGET_CLASS): one int64 per sample, each in
**     [0, num_classes), any number of classes (not limited to 256 as the
**     byte datasets are); the losses take them as an int64_t array
**     (ag_cross_entropy_loss) or as an index tensor (ag_cross_entropy_loss_t);
**   - float values (AG_TARGET_FLOAT): k >= 1 per sample (regression; k
**     target columns), stored in the features' dtype;
**   - none (AG_TARGET_NONE): features only (autoencoders, clustering).
**
** Values. Every feature and float target is checked where it enters: NaN
** and +-Inf are refused, naming the place (the sample and column, or the
** file's line and column), unless the options' allow_nonfinite is set.
** The file loaders convert values to the storage dtype by C's rounding, and
** refuse a finite value beyond f32's range for f32 storage (FLT_MAX).
**
** Errors. Nothing here takes a tape: failures return NULL (or a status) and
** set ag_last_error() with a message naming the function, the file (quoted)
** and the place: "ag_tensor_dataset_load_csv: 'a.csv': line 7, column 3:
** missing value". AG_ERR_ARG for bad arguments, AG_ERR_IO for a file that
** cannot be opened or read (or is not a regular file: a FIFO, a directory),
** AG_ERR_FORMAT for a file whose contents are wrong, AG_ERR_NOMEM.
** Nothing prints, aborts or exits.
**
** Threads. A dataset is never modified after creation, so reading it from
** several threads at once (iterators, accessors) is safe.
*/
#ifndef AG_DATASET_IO_H
#define AG_DATASET_IO_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a dataset's targets are. */
typedef enum ag_target_kind {
    AG_TARGET_NONE = 0,   /* features only */
    AG_TARGET_CLASS,      /* one int64 class label per sample */
    AG_TARGET_FLOAT       /* k float values per sample (regression) */
} ag_target_kind;

/* Opaque; read it with the accessors below. */
typedef struct ag_tensor_dataset ag_tensor_dataset;

/* ------------------------------------------------------- from memory --- */

/*
** A dataset of n samples (n >= 0) of shape sample_shape[0..sample_ndim)
** (sample_ndim 0 to AG_MAX_DIMS - 1; 0 is one value a sample), copied from
** features: n * F values (F the product of the sample shape), row-major,
** of dt's C type (float for AG_F32, double for AG_F64), which is also the
** storage dtype. Targets, copied too, by kind:
**   AG_TARGET_CLASS: labels holds n int64 labels, each in [0, num_classes);
**       num_classes >= 1, or 0 to take the largest label + 1 (1 when n
**       is 0); target_cols must be 1 and float_targets NULL;
**   AG_TARGET_FLOAT: float_targets holds n * target_cols values of dt's
**       C type (target_cols >= 1); labels NULL and num_classes 0;
**   AG_TARGET_NONE: labels and float_targets NULL, target_cols 0.
** Pointers may be NULL when n is 0. Non-finite values are refused unless
** allow_nonfinite. Returns a new dataset (free it with
** ag_tensor_dataset_free) or NULL with ag_last_error() naming
** ag_tensor_dataset_new and the argument, sample or label at fault.
*/
typedef struct ag_tensor_dataset_desc {
    int64_t n;
    int sample_ndim;
    const int64_t *sample_shape;
    ag_dtype dtype;
    const void *features;
    ag_target_kind kind;
    const int64_t *labels;
    int64_t num_classes;
    int64_t target_cols;
    const void *float_targets;
    int allow_nonfinite;
} ag_tensor_dataset_desc;
ag_tensor_dataset *ag_tensor_dataset_new(const ag_tensor_dataset_desc *desc);

/* Frees a dataset. NULL is a no-op. */
void ag_tensor_dataset_free(ag_tensor_dataset *ds);

/*
** A new dataset holding copies of the samples indices[0..n) of ds, in that
** order (repeats allowed), each in [0, count) (AG_ERR_ARG names the
** position and the value): with ag_epoch_order, a random split.
*/
ag_tensor_dataset *ag_tensor_dataset_subset(const ag_tensor_dataset *ds,
                                            const int64_t *indices, int64_t n);

/* ---------------------------------------------------------- accessors --- */

/* For a NULL ds these return 0, AG_TARGET_NONE or AG_F32. */
int64_t ag_tensor_dataset_count(const ag_tensor_dataset *ds);      /* samples */
int64_t ag_tensor_dataset_features(const ag_tensor_dataset *ds);   /* values a sample */
ag_dtype ag_tensor_dataset_dtype(const ag_tensor_dataset *ds);     /* storage */
ag_target_kind ag_tensor_dataset_target_kind(const ag_tensor_dataset *ds);
/* Float targets a sample: k for AG_TARGET_FLOAT, 1 for classes, 0 none. */
int64_t ag_tensor_dataset_target_cols(const ag_tensor_dataset *ds);
/* num_classes for AG_TARGET_CLASS, else 0. */
int64_t ag_tensor_dataset_num_classes(const ag_tensor_dataset *ds);
/* Writes the sample shape to shape (room for AG_MAX_DIMS; may be NULL)
   and returns its ndim. */
int ag_tensor_dataset_sample_shape(const ag_tensor_dataset *ds, int64_t *shape);
/* Feature j of sample i as a double (0 when out of range or ds NULL). */
double ag_tensor_dataset_feature(const ag_tensor_dataset *ds, int64_t i, int64_t j);
/* The features of sample i (float* or double* by the dtype, borrowed,
   read-only), or NULL when i is out of [0, count). */
const void *ag_tensor_dataset_sample(const ag_tensor_dataset *ds, int64_t i);
/* Class label of sample i, or -1 (i out of range, not AG_TARGET_CLASS). */
int64_t ag_tensor_dataset_label(const ag_tensor_dataset *ds, int64_t i);
/* Float target k of sample i (0 when out of range or not AG_TARGET_FLOAT). */
double ag_tensor_dataset_target(const ag_tensor_dataset *ds, int64_t i, int64_t k);

/* ---------------------------------------------------------------- CSV --- */

/*
** Options of ag_tensor_dataset_load_csv. A zeroed struct (or NULL) means:
** ',' between fields, no header line, the last column is one float target,
** f32 storage, non-finite values refused.
*/
typedef struct ag_csv_opts {
    char delimiter;          /* between fields; 0 means ','. '"', '\n' and '\r' are refused */
    int header;              /* 1: the first line names the columns and is skipped */
    /* Target columns: ntargets > 0 lists them in targets[0..ntargets),
       0-based, negative counting from the end (-1 is the last column),
       in the order they are stored; ntargets 0 means the last column;
       ntargets < 0 means none (AG_TARGET_NONE). The other columns, in
       file order, are the features. */
    int ntargets;
    const int *targets;
    int class_targets;       /* 1: one target column of class labels (whole numbers) */
    int64_t num_classes;     /* with class_targets: >= 1, or 0 for the largest label + 1 */
    ag_dtype dtype;          /* storage: AG_F32 (0) or AG_F64 */
    int allow_nonfinite;     /* 1: nan, inf and -inf are accepted as features and
                                float targets (never as class labels) */
} ag_csv_opts;

/*
** Reads a CSV file of numbers: one sample a line, each line with the same
** number of fields (at least one feature besides the targets), separated by
** opts->delimiter. Fields are numbers as C's strtod reads them in the C
** locale ("1", "-2.5", "3e-4", "nan", "inf"), with spaces and tabs around
** them ignored, optionally in double quotes ("1.5"); a quoted field may
** hold the delimiter (in the header) and "" for a quote. Lines end with
** "\n" or "\r\n"; the last may lack it; empty lines at the end of the file
** are ignored, and so is a UTF-8 byte order mark at its start. Class labels must be whole numbers in [0, num_classes)
** ("3" and "3.0" are both 3: numpy.savetxt writes "3.000000000000000000e+00").
** Samples are 1-D: [features]. A field longer than 255 bytes is refused as
** not a number. The whole file is read into memory, then parsed.
** Refused with AG_ERR_FORMAT and a message naming the function, the file,
** the line (1-based, counting the header) and the column (1-based) where
** it applies: an empty file, a header without data lines, a missing value
** (an empty field or an empty line), a field that is not a number
** (quoted in the message), a line with another number of fields than the
** first, a quote left open, a non-finite value (unless allowed), a value
** beyond the storage dtype's range, a class label that is negative, not
** whole or not below num_classes, a target column that does not exist.
** NUL bytes in the file are refused. AG_ERR_ARG for bad options (the same
** target column listed twice among them), AG_ERR_IO (cannot open or read; not a regular file, which
** is refused before reading). Returns a new dataset or NULL with
** ag_last_error() set.
*/
ag_tensor_dataset *ag_tensor_dataset_load_csv(const char *path, const ag_csv_opts *opts);

/* ---------------------------------------------------------------- NPY --- */

/* The element types of .npy files read here, by their 'descr' string. */
typedef enum ag_npy_type {
    AG_NPY_F4 = 0,   /* '<f4' or '>f4': float32 */
    AG_NPY_F8,       /* '<f8' or '>f8': float64 */
    AG_NPY_I4,       /* '<i4' or '>i4': int32 */
    AG_NPY_I8,       /* '<i8' or '>i8': int64 */
    AG_NPY_U1        /* '|u1': uint8 */
} ag_npy_type;

/*
** An array read from a .npy file: shape[0..ndim) (ndim 0 to AG_MAX_DIMS;
** numel is the product, 1 for ndim 0), the values converted to double in
** C (row-major) order whatever the file's order, owned by the struct
** (release with ag_npy_free). type is the file's element type.
*/
typedef struct ag_npy {
    ag_npy_type type;
    int ndim;
    int64_t shape[AG_MAX_DIMS];
    int64_t numel;
    double *data;
} ag_npy;

/*
** Reads the .npy file at path (NumPy's format, versions 1.0, 2.0 and
** 3.0): the magic "\x93NUMPY", the version bytes, the header length (2
** bytes little-endian in 1.0, 4 in 2.0 and 3.0), and the header: a Python
** dict literal ending with a newline, with exactly the keys 'descr' (one
** of the types above, in either byte order; '|u1' for bytes),
** 'fortran_order' (True or False: a Fortran-order array is transposed
** into C order as it is read, so shape and data always read row-major) and
** 'shape' (a tuple of non-negative integers). The data must be exactly
** numel values: a shorter file is refused as truncated, a longer one for
** its trailing bytes. int64 values beyond 2^53 in magnitude are refused
** (not exact as doubles). Refused with AG_ERR_FORMAT and a message naming
** ag_npy_load, the file and the fault: a bad magic, an unsupported
** version, a header that runs past the file or does not end in a newline,
** a dict that does not parse (the message quotes the header), a missing,
** repeated or unknown key, an unsupported descr (quoted; structured
** dtypes too), more than AG_MAX_DIMS dimensions, a shape of more than
** AG_NUMEL_MAX elements, the length. AG_ERR_IO as ag_idx_load,
** AG_ERR_NOMEM, AG_ERR_ARG for NULL arguments. On failure *out is zeroed
** and owns nothing.
*/
ag_status ag_npy_load(const char *path, ag_npy *out);

/* Frees npy->data and zeroes *npy. NULL and a zeroed struct are no-ops. */
void ag_npy_free(ag_npy *npy);

/* Options of ag_tensor_dataset_load_npy; zeroed (or NULL): f32 storage,
   float targets, non-finite values refused. */
typedef struct ag_npy_opts {
    int class_targets;       /* 1: targets are class labels */
    int64_t num_classes;     /* with class_targets: >= 1, or 0 for the largest label + 1 */
    ag_dtype dtype;          /* storage: AG_F32 (0) or AG_F64 */
    int allow_nonfinite;     /* 1: NaN and Inf accepted as features and float targets */
} ag_npy_opts;

/*
** A dataset from a features file, shape [N, d1, ...] (a sample is [d1,
** ...]; a 1-D file gives one value a sample), and a targets file (or NULL
** for AG_TARGET_NONE): [N] or [N, k] of float targets, or, with
** class_targets, [N] of whole numbers (an integer or a float dtype) in
** [0, num_classes). Both files as ag_npy_load reads them. Refused with
** AG_ERR_FORMAT naming ag_tensor_dataset_load_npy, the file and the
** fault: a 0-D features file, more than AG_MAX_DIMS - 1 sample dims,
** targets of another shape or a count that differs from the features'
** (both counts and both paths named), a label that is negative, not whole
** or not below num_classes (its index), a non-finite value (its index).
*/
ag_tensor_dataset *ag_tensor_dataset_load_npy(const char *features_path,
                                              const char *targets_path,
                                              const ag_npy_opts *opts);

#ifdef __cplusplus
}
#endif
#endif /* AG_DATASET_IO_H */
