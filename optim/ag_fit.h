/*
** ag_fit.h: a training loop (Keras' Model.fit, PyTorch Lightning's
** Trainer.fit) over the public API: epochs of mini-batches from a data
** source, a loss, an optimizer, an optional schedule, validation with
** loss, accuracy and a metric of the caller's, early stopping with the
** best weights restored, a checkpoint every epoch to resume from bit for
** bit, callbacks, and progress output that the caller chooses (none by
** default). Nothing here derives a gradient: each step is forward,
** ag_backward, ag_optim_step.
**
**     ag_fit_data train, val;
**     ag_fit_dataset_opts dopt = ag_fit_dataset_defaults();   // batch 128, shuffled
**     ag_fit_data_from_dataset(&train, train_ds, &dopt);
**     dopt.shuffle = 0, dopt.batch_size = 250;
**     ag_fit_data_from_dataset(&val, val_ds, &dopt);
**     ag_fit_opts o = ag_fit_defaults();
**     o.epochs = 20, o.patience = 5, o.rng = rng;
**     o.progress = ag_fit_print, o.progress_ctx = stdout;     // a table per epoch
**     ag_fit_history h;
**     if (ag_fit(model, opt, &train, &val, &o, &h) != AG_OK)
**         fprintf(stderr, "%s\n", ag_last_error());
**     printf("best epoch %d: %.4f\n", h.best_epoch + 1, h.best_val_loss);
**     ag_fit_history_free(&h);
**     ag_fit_data_close(&train), ag_fit_data_close(&val);
**
** One step, exactly (the test suite checks it against this loop written
** by hand, bit for bit): ag_tape_reset; next batch (the data source may
** draw from the generator: shuffling, augmentation); the model in training
** mode; output = ag_module_forward; loss = opts->loss; ag_backward;
** ag_optim_step; ag_optim_clear_grad (grads set to none); a schedule
** stepped per batch if so chosen. An epoch is reset(epoch) then steps
** until the source says it is done, then validation (evaluation mode,
** grad off) over the whole validation source, then the schedule stepped
** per epoch, early stopping, the checkpoint, the epoch callback.
**
** Errors. ag_fit returns AG_OK or an error status with ag_last_error()
** naming the function (ag_fit), the epoch and batch where it happened and
** the reason (the tape's message, or a loss that is not a scalar).
** Nothing here prints unless the caller
** passes a progress callback (ag_fit_print writes to the FILE* it is
** given), aborts or exits.
**
** Differences from Keras/Lightning: one model, one optimizer; no
** distributed or mixed-precision options; the validation metrics are
** means over samples (each batch's mean loss weighted by its size); a
** non-finite training loss does not stop training (check it in a batch
** callback).
*/
#ifndef AG_FIT_H
#define AG_FIT_H

#include "ag_core.h"
#include "ag_batch_iter.h"
#include "ag_data.h"
#include "ag_module.h"
#include "ag_optim.h"
#include "ag_sched.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------- data sources --- */

/*
** A mini-batch: x is the model's input, [B, ...]; the targets are labels
** (B class indices, for classification losses and accuracy) or y (a
** tensor, for regression), or both; B is size. Tensors belong to the
** tape the batch was made on (or are persistent and the source's).
*/
typedef struct ag_fit_batch {
    ag_tensor *x;
    ag_tensor *y;               /* NULL when there are none */
    const int64_t *labels;      /* NULL when there are none */
    int64_t size;               /* B >= 1 */
} ag_fit_batch;

/*
** Any data the loop can train on: a context and three functions (close
** optional). ag_fit calls reset once before each epoch (epoch counts from
** 0, over resumed runs too; rng is opts->rng, possibly NULL, to shuffle
** or augment with: draw from it only here and in next so a run is
** reproducible), then next until it returns 0. next fills *batch with
** tensors made on tape t (reset before each call) and returns 1, or 0
** when the epoch is over, or -1 on an error with the message on t or in
** ag_last_error(). count returns the samples in an epoch (for progress
** output; -1 when unknown) and may be NULL. close frees ctx
** (ag_fit_data_close); NULL when there is nothing to free.
*/
typedef struct ag_fit_data {
    void *ctx;
    ag_status (*reset)(void *ctx, int64_t epoch, ag_rng *rng);
    int (*next)(void *ctx, ag_tape *t, ag_fit_batch *batch);
    int64_t (*count)(void *ctx);
    void (*close)(void *ctx);
} ag_fit_data;

/* Calls d->close(d->ctx) and zeroes *d. NULL, or a zeroed d, is a no-op. */
void ag_fit_data_close(ag_fit_data *d);

/*
** The adapter for an ag_dataset (ag_data.h): batches of batch_size
** samples (the last one smaller unless drop_last) of dtype, as
** ag_dataset_batch makes them ([B, features], with labels), in the order
** ag_epoch_order draws from the loop's generator when shuffle is set
** (else in sequence). augment, when not NULL, may change each training
** batch's x in place before the model sees it (random flips, noise),
** drawing from rng (the loop's generator; NULL when the loop has none).
*/
typedef struct ag_fit_dataset_opts {
    int64_t batch_size;         /* 128 */
    ag_dtype dtype;             /* AG_F32 */
    int shuffle;                /* 1: a new order each epoch */
    int drop_last;              /* 0: keep the last, smaller batch */
    ag_status (*augment)(void *ctx, ag_tensor *x, const int64_t *labels, ag_rng *rng);
    void *augment_ctx;
} ag_fit_dataset_opts;
ag_fit_dataset_opts ag_fit_dataset_defaults(void);

/*
** Fills *out with a source over ds (borrowed: it must outlive *out);
** opts NULL: the defaults. Free with ag_fit_data_close. AG_ERR_ARG (out,
** ds NULL, batch_size < 1, dtype not f32/f64) or AG_ERR_NOMEM with
** ag_last_error() set; *out is zeroed then.
*/
ag_status ag_fit_data_from_dataset(ag_fit_data *out, const ag_dataset *ds,
                                   const ag_fit_dataset_opts *opts);

/*
** The adapter for a batch iterator (ag_batch_iter.h: float datasets from
** memory, CSV or NPY, and byte datasets): each epoch calls
** ag_batch_iter_reset(it, epoch) and yields its batches as they are, x,
** y (an index tensor of the labels for class targets, [B, k] for float
** targets, NULL for none) and labels (ag_batch_iter_labels: int64 class
** indices or NULL). The iterator shuffles with its own options (its
** seed, or the generator given to it), not with the loop's generator, so
** give ag_batch_iter_new opts.rng = the loop's rng to draw from one
** stream. it is borrowed: it must outlive *out (ag_fit_data_close frees
** only the adapter). AG_ERR_ARG with ag_last_error() for a NULL out or
** it; *out is zeroed then.
*/
ag_status ag_fit_data_from_iter(ag_fit_data *out, ag_batch_iter *it);

/* ------------------------------------------------------------- losses --- */

/*
** A loss: a scalar on tape t from the model's output and the batch, the
** mean over the batch's samples (validation weights it by the batch
** size). NULL with the error on t.
*/
typedef ag_tensor *(*ag_fit_loss_fn)(void *ctx, ag_tape *t, ag_tensor *output,
                                     const ag_fit_batch *batch);
/* ag_cross_entropy_loss(output, batch->labels), mean (labels needed). */
ag_tensor *ag_fit_cross_entropy(void *ctx, ag_tape *t, ag_tensor *output,
                                const ag_fit_batch *batch);
/* ag_mse_loss(output, batch->y), mean (y needed). */
ag_tensor *ag_fit_mse(void *ctx, ag_tape *t, ag_tensor *output, const ag_fit_batch *batch);

/* ------------------------------------------------------------ history --- */

/* Why ag_fit returned. */
typedef enum ag_fit_stop {
    AG_FIT_DONE = 0,            /* opts->epochs reached */
    AG_FIT_EARLY_STOP,          /* patience ran out */
    AG_FIT_CALLBACK_STOP,       /* a callback returned nonzero */
    AG_FIT_PAUSED,              /* opts->max_epochs_this_run reached: resume later */
    AG_FIT_ERROR
} ag_fit_stop;

/*
** The per-epoch metrics, rows [0, epochs) (a resumed run's earlier epochs
** included: they come back from the checkpoint). NaN where nothing was
** measured (accuracy without labels, validation without a source, the
** metric without a callback). Arrays owned by the history: free with
** ag_fit_history_free.
*/
typedef struct ag_fit_history {
    int epochs;                 /* rows filled */
    int epochs_this_run;        /* of them, trained in this call */
    int resumed_from;           /* epochs restored from the checkpoint (0: fresh) */
    int best_epoch;             /* 0-based, lowest validation loss; -1: none */
    double best_val_loss;       /* +inf when none */
    ag_fit_stop stop;
    double *train_loss;         /* mean over the epoch's samples */
    double *train_acc;          /* fraction of argmax(output) == label */
    double *val_loss, *val_acc;
    double *val_metric;         /* opts->metric's sum / validation samples */
    double *lr;                 /* group 0's lr during the epoch */
    double *seconds;            /* training and validation time */
} ag_fit_history;

/* Frees the arrays and zeroes *h. NULL, or a zeroed h, is a no-op. */
void ag_fit_history_free(ag_fit_history *h);

/* ----------------------------------------------------------- progress --- */

typedef enum ag_fit_event {
    AG_FIT_BEGIN,               /* before the first epoch of this call */
    AG_FIT_BATCH,               /* after each training step */
    AG_FIT_EPOCH,               /* after each epoch's bookkeeping */
    AG_FIT_END                  /* before returning (history->stop says why) */
} ag_fit_event;

typedef struct ag_fit_opts ag_fit_opts;

/* What a progress or batch callback sees (read-only, valid during the call). */
typedef struct ag_fit_progress {
    ag_fit_event event;
    int epoch;                  /* 0-based: the epoch running or just done */
    int64_t batch;              /* BATCH: 0-based batch within the epoch */
    int64_t samples, total;     /* BATCH: samples so far this epoch; count (-1 unknown) */
    double loss;                /* BATCH: the batch's loss; EPOCH: the validation loss */
    double mean_loss;           /* BATCH: the epoch's running mean; EPOCH: its mean */
    double seconds;             /* since the epoch began */
    int tick;                   /* BATCH: 1 at most ten times a second, and at the epoch's
                                   first and last batches: when a printer should redraw */
    const ag_fit_history *history;
    const ag_fit_opts *opts;
} ag_fit_progress;

/*
** The default printer: ctx is the FILE* to write to (stdout, stderr).
** BEGIN: "resuming after epoch N" when resumed, then the header of the
** table; BATCH: when the FILE is a terminal, one progress bar rewritten in
** place to fit its width (COLUMNS, or the terminal's), throttled to ten
** a second and erased at the epoch's end (nothing when not a terminal);
** EPOCH: one row (epoch, train loss and accuracy, validation loss and
** accuracy, lr, seconds); END: why it stopped early, if it did.
*/
void ag_fit_print(void *ctx, const ag_fit_progress *p);

/* ------------------------------------------------------------ options --- */

typedef enum ag_fit_sched_mode {
    AG_FIT_SCHED_EPOCH = 0,     /* ag_sched_step after each epoch */
    AG_FIT_SCHED_BATCH,         /* ag_sched_step after each step (warm-up, one-cycle) */
    AG_FIT_SCHED_PLATEAU        /* ag_plateau_step(validation loss) after each epoch */
} ag_fit_sched_mode;

struct ag_fit_opts {
    int epochs;                 /* 10: epochs in all (a resumed run's included), >= 1 */
    int max_epochs_this_run;    /* 0: no limit; else pause after that many (AG_FIT_PAUSED) */
    ag_fit_loss_fn loss;        /* ag_fit_cross_entropy */
    void *loss_ctx;
    ag_rng *rng;                /* NULL; handed to the sources, saved in checkpoints */
    ag_sched *sched;            /* NULL: none (borrowed, bound to the optimizer) */
    ag_fit_sched_mode sched_mode;
    double clip_grad_norm;      /* 0: none; else ag_clip_grad_norm(2-norm) before each step */
    /* Early stopping on the validation loss (ag_early_stop): after
       patience epochs without an improvement by more than min_delta.
       -1: never (the best epoch is still tracked). Needs validation. */
    int patience;               /* -1 */
    double min_delta;           /* 0 */
    int restore_best;           /* 0; 1: the best epoch's weights (parameters and
                                   buffers) put back when training ends (not on PAUSED) */
    /* Validation metric of the caller's: the sum of its value over the
       batch's samples (ag_fit divides by the validation samples). */
    double (*metric)(void *ctx, ag_tensor *output, const ag_fit_batch *batch);
    void *metric_ctx;
    /* Checkpoint: the model, the optimizer, the generator and the loop's
       state (epochs, history, early stopping and its best weights, the
       schedule's epoch) saved to this path after every epoch
       (ag_checkpoint_save_extra; atomic). NULL: none. With resume set,
       ag_fit first restores them from it (the file must exist) and
       continues after the last epoch saved. */
    /* ReduceLROnPlateau's counters are not saved (ag_sched.h has no
       accessor for them): a resumed plateau schedule keeps the saved lr
       and counts its bad epochs afresh. */
    const char *checkpoint_path;
    int resume;
    /* Callbacks (NULL: none); a nonzero return stops training
       (AG_FIT_CALLBACK_STOP) after this batch or epoch. */
    int (*on_batch_end)(void *ctx, const ag_fit_progress *p);
    int (*on_epoch_end)(void *ctx, const ag_fit_progress *p);
    void *callback_ctx;
    /* Progress output: NULL (the default) prints nothing; ag_fit_print
       with a FILE* prints a table. */
    void (*progress)(void *ctx, const ag_fit_progress *p);
    void *progress_ctx;
};

/* The defaults written beside each field above. */
ag_fit_opts ag_fit_defaults(void);

/*
** Trains model with opt on train and validates on val (NULL: no
** validation) each epoch, as opts says (NULL: the defaults), then fills
** *history (may be NULL; free it with ag_fit_history_free). The model,
** optimizer, sources and the opts' pointers are borrowed. The optimizer
** must update the model's parameters (checkpoints match them by
** position).
** Returns AG_OK when training ended for any reason but an error
** (history->stop says which), or an error with ag_last_error() naming
** ag_fit and the problem: AG_ERR_ARG for NULL model, opt or train, a
** source without reset or next, epochs < 1, max_epochs_this_run < 0,
** patience >= 0 or restore_best without val, a negative or non-finite
** min_delta or clip_grad_norm, resume without checkpoint_path, a
** schedule mode out of range; the error of a loss, forward, backward,
** step, source or checkpoint (with the epoch and batch). On an error,
** history holds the epochs finished so far, with stop AG_FIT_ERROR.
*/
ag_status ag_fit(ag_module *model, ag_optim *opt, ag_fit_data *train, ag_fit_data *val,
                 const ag_fit_opts *opts, ag_fit_history *history);

#ifdef __cplusplus
}
#endif
#endif /* AG_FIT_H */
