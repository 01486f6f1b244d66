/*
** ag_data.h: data for training loops. An IDX file loader (the format of
** MNIST and Fashion-MNIST), a dataset of byte samples with integer labels,
** deterministic splits, epoch shuffling, mini-batches as tensors, and a
** synthetic fallback (interleaved spirals) for when no real data is at hand.
**
** A training epoch, allocation-free after the first step:
**
**     ag_dataset *all = ag_dataset_load_idx("train-images-idx3-ubyte",
**                                           "train-labels-idx1-ubyte");
**     if (!all) { fprintf(stderr, "%s\n", ag_last_error()); return 1; }
**     ag_dataset *train, *val;
**     ag_dataset_split(all, 54000, &train, &val);     // views; free all three
**     int64_t n = ag_dataset_count(train), *order = malloc(n * sizeof *order);
**     int64_t labels[128];
**     ag_epoch_order(order, n, rng);                   // once per epoch
**     for (int64_t start = 0; start < n; start += 128) {
**         ag_tensor *x = ag_dataset_batch(tape, train, order, start, 128,
**                                         AG_F32, labels);   // [B, 784]
**         ... forward, loss with labels, backward, step ...
**         ag_tape_reset(tape);
**     }
**
** Storage. A dataset keeps samples and labels as bytes (uint8): 60,000
** Fashion-MNIST images cost 47 MB, not four or eight times that. Values
** become floating point only in a batch: byte / 255, then (v - mean) / std
** with the dataset's normalization (ag_dataset_set_normalize).
**
** Errors. Functions here have no tape except the batch functions: they
** return NULL or an error status and set ag_last_error() with a message
** naming the function, the file or argument, and the problem. Files that
** are truncated, carry trailing bytes or a header that does not describe
** them are refused (AG_ERR_FORMAT); a file that cannot be opened or read is
** AG_ERR_IO. Nothing here prints, aborts or exits.
**
** Differences from PyTorch (torch.utils.data, torchvision): no loader
** objects or worker processes; an epoch is an index array (ag_epoch_order)
** and a loop over ag_dataset_batch. ag_dataset_split is contiguous, not
** random (Fashion-MNIST's training file is already in random order); for
** a random split, draw an order and use ag_dataset_subset. Files must be
** uncompressed (no zlib): gunzip the published .gz files first.
*/
#ifndef AG_DATA_H
#define AG_DATA_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- IDX --- */

#define AG_IDX_MAX_DIMS 4   /* most dimensions an IDX file may have here */

/*
** An IDX array of unsigned bytes: dims[0] is the number of items (images
** or labels), the rest their shape; data holds size = product of dims
** bytes, row-major, owned by the struct (release with ag_idx_free).
*/
typedef struct ag_idx {
    int ndim;                         /* 1 to AG_IDX_MAX_DIMS */
    int64_t dims[AG_IDX_MAX_DIMS];    /* unused entries are 0 */
    int64_t size;                     /* bytes in data */
    uint8_t *data;
} ag_idx;

/*
** Reads the uncompressed IDX file at path into *out. The header is a
** big-endian magic number (two zero bytes, the data type, the number of
** dimensions), then one big-endian uint32 per dimension, then the data.
** Only data type 0x08 (unsigned byte) and 1 to 4 dimensions are accepted,
** and the file's length must equal the header plus the product of the
** dimensions exactly: truncated files and trailing bytes are refused, and
** so are dimensions that break the rule of every tensor's shape
** (ag_shape_numel: more than AG_NUMEL_MAX elements, zero dims aside).
** path must be a regular file: a FIFO, a directory or a device is refused
** at once (AG_ERR_IO), never read or waited on.
** Returns AG_OK, or AG_ERR_IO (cannot open or read, not a regular file),
** AG_ERR_FORMAT (bad magic, data type, dimensions or length),
** AG_ERR_NOMEM, AG_ERR_ARG (NULL argument), with ag_last_error() naming
** ag_idx_load, the path and the problem; on failure *out is zeroed and
** owns nothing.
*/
ag_status ag_idx_load(const char *path, ag_idx *out);

/* Frees idx->data and zeroes *idx. NULL, and a zeroed struct, are no-ops. */
void ag_idx_free(ag_idx *idx);

/* ------------------------------------------------------------ dataset --- */

/*
** Samples of one shape (up to 3 dimensions: an image is [rows, cols]),
** each `features` bytes, with a label in [0, num_classes) per sample.
** Opaque; read it with the accessors below. A dataset made by a split is a
** view sharing its parent's bytes: the bytes live until the last dataset
** sharing them is freed, so views and parents may be freed in any order
** (but not concurrently from two threads). A dataset is never modified
** after creation except for its normalization, so reading it (batches,
** accessors) from several threads at once is safe.
*/
typedef struct ag_dataset ag_dataset;

/*
** Loads an image file and a label file in IDX format (see ag_idx_load),
** e.g. Fashion-MNIST's train-images-idx3-ubyte and train-labels-idx1-ubyte,
** with 10 classes. The label file must be 1-D, the image file 1-D to 4-D
** (an image file of [N, 28, 28] gives samples of shape [28, 28], 784
** features), the counts must match (the message names both counts and
** both paths), and every label must be below the number of classes (the
** message names the first bad label and its index). Normalization starts
** as mean 0, std 1 (batches hold byte / 255, as torchvision's ToTensor).
** Returns a new dataset (free with ag_dataset_free), or NULL with
** ag_last_error() set; the message of a file error is ag_idx_load's with
** this function's name in front.
*/
ag_dataset *ag_dataset_load_idx(const char *images_path, const char *labels_path);
/* The same with num_classes classes (1 to 256). */
ag_dataset *ag_dataset_load_idx_classes(const char *images_path, const char *labels_path,
                                        int num_classes);

/*
** A dataset of n samples (n >= 0) of shape sample_shape[0..sample_ndim)
** (sample_ndim 0 to 3; a 0-D sample is one byte), copied from samples
** (n * features bytes, row-major) and labels (n bytes, each below
** num_classes, which is 1 to 256). samples and labels may be NULL when
** n is 0. Returns NULL with ag_last_error() on a bad argument or label.
*/
ag_dataset *ag_dataset_from_bytes(int64_t n, int sample_ndim, const int64_t *sample_shape,
                                  const uint8_t *samples, const uint8_t *labels,
                                  int num_classes);

/* Frees a dataset (its bytes when no other view shares them). NULL is a no-op. */
void ag_dataset_free(ag_dataset *ds);

/* Accessors. For a NULL ds they return 0 (count, features, num_classes,
   sample_ndim), -1 (label) or NULL (sample). */
int64_t ag_dataset_count(const ag_dataset *ds);       /* samples */
int64_t ag_dataset_features(const ag_dataset *ds);    /* bytes per sample: 784 */
int ag_dataset_num_classes(const ag_dataset *ds);
/* Writes the sample shape to shape (room for 3) and returns its ndim. */
int ag_dataset_sample_shape(const ag_dataset *ds, int64_t shape[3]);
/* Label of sample i, or -1 when i is out of [0, count). */
int ag_dataset_label(const ag_dataset *ds, int64_t i);
/* The features bytes of sample i (borrowed, read-only), or NULL when i is
   out of [0, count). */
const uint8_t *ag_dataset_sample(const ag_dataset *ds, int64_t i);
/* counts[c] = number of samples of class c, for c < num_classes (counts
   has room for num_classes entries). AG_ERR_ARG for NULL arguments. */
ag_status ag_dataset_class_counts(const ag_dataset *ds, int64_t *counts);

/*
** Normalization applied by the batch functions: value = (byte / 255 -
** mean) / std, as torchvision's ToTensor then Normalize(mean, std) with
** one channel. Each dataset has its own (views start with their parent's).
** AG_ERR_ARG when mean is not finite or std is not finite and > 0.
*/
ag_status ag_dataset_set_normalize(ag_dataset *ds, double mean, double std);
void ag_dataset_get_normalize(const ag_dataset *ds, double *mean, double *std);
/*
** The mean and the (population) standard deviation of byte / 255 over
** every byte of every sample, to pass to ag_dataset_set_normalize
** (compute them on the training split; Fashion-MNIST's training images
** give about 0.286 and 0.353). An empty dataset gives mean 0, std 1.
*/
ag_status ag_dataset_pixel_stats(const ag_dataset *ds, double *mean, double *std);

/*
** Splits ds into its first n_first samples and the rest (0 <= n_first <=
** count), e.g. 54,000 for training and 6,000 held out for validation from
** Fashion-MNIST's 60,000. Both are views sharing ds's bytes (no copy) and
** must each be freed with ag_dataset_free, like ds. Deterministic; see
** ag_dataset_subset for a random split. On failure both are set to NULL.
*/
ag_status ag_dataset_split(const ag_dataset *ds, int64_t n_first, ag_dataset **first,
                           ag_dataset **second);

/*
** A new dataset holding copies of the samples indices[0..n) of ds, in that
** order (repeats allowed), as PyTorch's Subset but copied; each index must
** be in [0, count) (the message names the position and the value).
** ag_epoch_order then two subsets make a random split.
*/
ag_dataset *ag_dataset_subset(const ag_dataset *ds, const int64_t *indices, int64_t n);

/* ------------------------------------------------------------ epochs --- */

/*
** Writes a permutation of 0..n-1 to order: a uniform Fisher-Yates shuffle
** drawn from rng (the same generator state gives the same order on every
** platform), or 0..n-1 in sequence when rng is NULL. Call once per epoch,
** as a DataLoader with shuffle=True draws a new order each epoch.
** AG_ERR_ARG when order is NULL with n > 0, or n < 0.
*/
ag_status ag_epoch_order(int64_t *order, int64_t n, ag_rng *rng);

/*
** A mini-batch: the samples order[start], order[start+1], ... (or start,
** start+1, ... when order is NULL), B = min(batch_size, count - start) of
** them, so the last batch of an epoch may be smaller (PyTorch's
** drop_last=False; to drop it, stop while start + batch_size > count).
** Returns a [B, features] tensor of dtype dt on tape t holding
** (byte / 255 - mean) / std, and writes the B labels to labels (int64,
** room for B; may be NULL). The tensor needs no grad. With t NULL the
** tensor is persistent and the caller frees it. Errors (start outside
** [0, count), batch_size < 1, an order entry outside [0, count), NULL ds,
** bad dt) return NULL with the message on t, or in ag_last_error() when t
** is NULL. On a tape that is reset every step this allocates nothing
** after the first step.
*/
ag_tensor *ag_dataset_batch(ag_tape *t, const ag_dataset *ds, const int64_t *order,
                            int64_t start, int64_t batch_size, ag_dtype dt, int64_t *labels);

/*
** The same into an existing tensor dst of shape [capacity, features]
** (f32 or f64, persistent or on a tape): fills its first B = min(capacity,
** count - start) rows and labels[0..B), leaves any further rows untouched,
** and returns B; for a partial last batch use ag_slice(t, dst, 0, 0, B, 1).
** Returns -1 with ag_last_error() set on error (dst of the wrong shape or
** dtype, AG_ERR_STATE for a tape tensor from before its tape's reset, or
** the errors of ag_dataset_batch).
*/
int64_t ag_dataset_batch_into(ag_tensor *dst, const ag_dataset *ds, const int64_t *order,
                              int64_t start, int64_t *labels);

/* ---------------------------------------------------------- synthetic --- */

/*
** num_classes (2 to 256) interleaved spiral arms in the plane, n points in
** all, the fallback task when no real data can be had: a small MLP (2 ->
** 64 -> 64 -> 3, Adam) learns 3 arms at noise 0.05 to about 96% accuracy
** on held-out points in under a second (noise 0.03: 98%), while a linear
** model stays below 50%. Sample i belongs to class i % K (so
** classes are balanced within one sample, in any contiguous split too);
** its position along the arm, t, is uniform in [0, 1), at radius 0.9 t
** and angle 2 pi (k / K + 0.75 t), plus Gaussian noise of standard
** deviation `noise` on each coordinate (0.03 to 0.05 keeps the arms apart).
** Samples have shape [2] (features 2), stored as bytes quantizing [-1, 1]
** (coordinates beyond are clamped); the normalization is set to mean 0.5,
** std 0.5, so batches hold the coordinates in [-1, 1]. Deterministic for
** a given rng state (across platforms up to libm's cos and sin rounding a
** coordinate to the other byte). NULL with ag_last_error() on bad arguments.
*/
ag_dataset *ag_dataset_spirals(int64_t n, int num_classes, double noise, ag_rng *rng);

#ifdef __cplusplus
}
#endif
#endif /* AG_DATA_H */
