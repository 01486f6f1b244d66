/*
** ag_batch_iter.h: mini-batches over a dataset, as PyTorch's DataLoader
** (batch_size, shuffle, drop_last) without workers. It reads either kind
** of dataset: the float datasets of ag_dataset_io.h (memory, CSV, NPY) and
** the byte datasets of ag_data.h (IDX, spirals).
**
** An epoch loop (classification; the same shape for regression, where y
** is [B, k] and goes to ag_mse_loss):
**
**     ag_batch_iter_opts o = {0};
**     o.batch_size = 64;
**     o.shuffle = 1, o.seed = 42;          // a new order every epoch
**     ag_batch_iter *it = ag_batch_iter_new(ds, &o);   // ds: ag_tensor_dataset
**     if (!it) { fprintf(stderr, "%s\n", ag_last_error()); return 1; }
**     for (int64_t epoch = 0; epoch < 10; epoch++) {
**         ag_batch_iter_reset(it, epoch);
**         ag_tensor *x, *y;
**         int more;
**         while ((more = ag_batch_iter_next(it, tape, &x, &y)) == 1) {
**             ag_tensor *logits = ag_module_forward(net, tape, x);        // x: [B, F]
**             ag_tensor *loss = ag_cross_entropy_loss_t(tape, logits, y, NULL,
**                                                       AG_REDUCTION_MEAN);  // y: [B]
**             // or ag_cross_entropy_loss(tape, logits, ag_batch_iter_labels(it), ...)
**             ... ag_backward, optimizer step ...
**             ag_tape_reset(tape);
**         }
**         if (more < 0) { fprintf(stderr, "%s\n", ag_tape_errmsg(tape)); break; }
**     }
**     ag_batch_iter_free(it);
**
** Batches. x is [B, sample shape...] ([B, F] with flatten, and always for
** a byte dataset, as ag_dataset_batch gives it) of the options' dtype:
** a float dataset's values converted from its storage dtype; a byte
** dataset's (byte / 255 - mean) / std with its normalization, exactly as
** ag_dataset_batch computes them. y is, by the dataset's targets:
**   - class labels: an index tensor [B] of x's dtype (whole numbers, see
**     ag_index_tensor), for ag_cross_entropy_loss_t and ag_nll_loss_t; the
**     same labels as int64 are in ag_batch_iter_labels(it), for
**     ag_cross_entropy_loss and the other int64_t forms;
**   - float targets: [B, k] of x's dtype (k target columns), for ag_mse_loss
**     and the other regression losses;
**   - none: y is NULL.
** B is batch_size except for the last batch of an epoch, which holds the
** rest (count % batch_size samples) unless drop_last drops it.
**
** Where the tensors live. With a tape, next makes x and y on it (they need
** no grad and live until the tape's reset: reset the tape every step and
** nothing is allocated after the first). With a NULL tape, x and y are
** tensors the iterator owns, made once when it is created (one pair for
** full batches, one for the shorter last batch): borrowed, overwritten by
** the next call, freed by ag_batch_iter_free; a loop with them allocates
** nothing at all.
**
** Order. Without shuffle every epoch reads samples 0, 1, 2, ... With
** shuffle, ag_batch_iter_reset(it, epoch) draws the epoch's order with
** ag_epoch_order: from opts.rng when given (the generator's stream
** continues from epoch to epoch, as a DataLoader's generator), else from a
** generator seeded with ag_rng_new(seed + epoch * 0x9E3779B97F4A7C15), so
** that an epoch's order depends on the seed and the epoch's number only:
** a run resumed at epoch 7 sees the same batches as one that never
** stopped. ag_batch_iter_order gives the order in use. With opts.rng the
** iterator draws nothing when it is made: each ag_batch_iter_reset draws
** one order (or the first ag_batch_iter_next, when no reset came before),
** so "reset at the start of every epoch" draws once an epoch.
**
** Threads. An iterator is used by one thread at a time; several iterators
** may read one dataset at once. The dataset must outlive its iterators.
*/
#ifndef AG_BATCH_ITER_H
#define AG_BATCH_ITER_H

#include "ag_core.h"
#include "ag_data.h"
#include "ag_dataset_io.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_batch_iter ag_batch_iter;

/* Options; a zeroed struct is batch_size 1 (0 means 1), no shuffle, last
   batch kept, f32 batches of the sample's shape. */
typedef struct ag_batch_iter_opts {
    int64_t batch_size;     /* >= 1 (0: 1) */
    int shuffle;            /* 1: a new order each epoch (see "Order") */
    uint64_t seed;          /* with shuffle and no rng: the epochs' orders */
    ag_rng *rng;            /* with shuffle: draw orders from it (borrowed; may be NULL) */
    int drop_last;          /* 1: drop the last batch when shorter than batch_size */
    ag_dtype dtype;         /* of x and y: AG_F32 (0) or AG_F64 */
    int flatten;            /* 1: x is [B, F] whatever the sample shape */
} ag_batch_iter_opts;

/*
** An iterator over the float dataset ds (borrowed: it must outlive the
** iterator) with opts (NULL: the defaults), ready for epoch 0 (as after
** ag_batch_iter_reset(it, 0); with opts.rng, see "Order"). Class labels must fit the batch dtype's
** index tensors (below 2^24 for f32). NULL with ag_last_error() naming
** ag_batch_iter_new: a NULL ds, batch_size < 0, a bad dtype, labels too
** large for the dtype (AG_ERR_ARG / AG_ERR_DTYPE), no memory.
*/
ag_batch_iter *ag_batch_iter_new(const ag_tensor_dataset *ds, const ag_batch_iter_opts *opts);
/* The same over a byte dataset (IDX files, ag_dataset_spirals, ...):
   x is [B, features] as ag_dataset_batch, y the labels. */
ag_batch_iter *ag_batch_iter_new_bytes(const ag_dataset *ds, const ag_batch_iter_opts *opts);

/* Frees the iterator and the tensors it owns. NULL is a no-op. */
void ag_batch_iter_free(ag_batch_iter *it);

/*
** Starts epoch `epoch` (>= 0): the first batch comes next, the order is
** drawn anew when shuffling (see "Order"). AG_ERR_ARG with ag_last_error()
** for a NULL it or a negative epoch.
*/
ag_status ag_batch_iter_reset(ag_batch_iter *it, int64_t epoch);

/*
** The next batch of the epoch: sets *x and *y (y NULL for a dataset
** without targets) and returns 1; returns 0 when the epoch is over (and
** again on later calls, *x and *y NULL) until ag_batch_iter_reset. With a
** tape, the tensors are made on it; with t NULL they are the iterator's
** own (see "Where the tensors live"). Returns -1 on error, *x and *y NULL:
** a NULL it, x or y (ag_last_error()), a tape already in error (its
** message kept, as ops do), no memory for the tensors (on the tape).
*/
int ag_batch_iter_next(ag_batch_iter *it, ag_tape *t, ag_tensor **x, ag_tensor **y);

/* The class labels of the last batch next returned (B int64 values,
   borrowed, valid until the next call), or NULL when the dataset has no
   class labels or no batch was returned yet this epoch. */
const int64_t *ag_batch_iter_labels(const ag_batch_iter *it);
/* Rows in the last batch next returned (0 before the first). */
int64_t ag_batch_iter_batch_rows(const ag_batch_iter *it);

/* Batches an epoch has: ceil(count / batch_size), or floor with
   drop_last. 0 for a NULL it. */
int64_t ag_batch_iter_num_batches(const ag_batch_iter *it);
/* Batches returned so far this epoch (the next one's number). */
int64_t ag_batch_iter_position(const ag_batch_iter *it);
/* The current epoch (the last reset's). */
int64_t ag_batch_iter_epoch(const ag_batch_iter *it);
/* The samples of the dataset, in the order this epoch reads them (count
   entries, borrowed, valid until the next reset or free); NULL for a
   NULL it, and with opts.rng before the first draw. */
const int64_t *ag_batch_iter_order(const ag_batch_iter *it);
/* Samples the dataset has. */
int64_t ag_batch_iter_count(const ag_batch_iter *it);
/* Samples an epoch yields: the count, or with drop_last only those in
   whole batches. 0 for a NULL it. */
int64_t ag_batch_iter_epoch_samples(const ag_batch_iter *it);

#ifdef __cplusplus
}
#endif
#endif /* AG_BATCH_ITER_H */
