/*
** fit.c: the training loop (ag_fit.h): epochs of forward, backward and
** optimizer steps, validation, the schedule, early stopping, checkpoints
** with the loop's own state as extra tensors, callbacks and progress
** events. Sources, stock losses and the printer are in fit_data.c.
*/
#include "ag.h"
#include "ag_fit.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* History columns, stored column after column in one block. */
enum { C_TRAIN_LOSS, C_TRAIN_ACC, C_VAL_LOSS, C_VAL_ACC, C_METRIC, C_LR, C_SECONDS, N_COLS };
/* "fit.state": the loop's counters, saved in every checkpoint. */
enum { S_EPOCHS, S_STOP, S_ES_UPDATES, S_ES_BEST, S_ES_BEST_EPOCH, S_ES_BAD, S_SCHED_EPOCH,
       S_LEN };
#define MAX_ROWS 100000000              /* history rows a checkpoint may claim */
#define TICK_SECONDS 0.1

typedef struct fit_run {
    ag_module *model;
    ag_optim *opt;
    ag_fit_data *train, *val;
    ag_fit_opts o;
    ag_fit_history h;
    int cap;                            /* history rows allocated */
    ag_tape *tape;
    ag_early_stop *es;                  /* with validation: the best weights */
    int n_tensors, n_extra;
    ag_tensor **tensors;                /* the model's parameters and buffers */
    ag_named_tensor *extra;             /* fit.state, fit.history, fit.best.* */
    ag_tensor *state;
    double last_tick;
    ag_status own_error;                /* set with ag_last_error() by the loop itself */
} fit_run;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Sets ag_last_error() to "ag_fit: <fmt>" and returns s. */
static ag_status fail(ag_status s, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ag_set_last_error(s, "ag_fit: %s", msg);
}

/* The error of a step: the tape's when it has one, else ag_last_error(). */
static ag_status step_fail(const fit_run *f, const char *what, int epoch, int64_t batch)
{
    int on_tape = ag_tape_status(f->tape) != AG_OK;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", on_tape ? ag_tape_errmsg(f->tape) : ag_last_error());
    ag_status s = on_tape ? ag_tape_status(f->tape) : f->own_error ? f->own_error : AG_ERR_STATE;
    return fail(s == AG_OK ? AG_ERR_STATE : s, "epoch %d, batch %lld: %s: %s", epoch + 1,
                (long long)batch, what, msg[0] ? msg : "failed");
}

/* ------------------------------------------------------------ history --- */

static ag_status history_alloc(fit_run *f, int cap)
{
    double *block = malloc((size_t)cap * N_COLS * sizeof *block);
    if (!block) return fail(AG_ERR_NOMEM, "out of memory (history of %d epochs)", cap);
    for (int64_t i = 0; i < (int64_t)cap * N_COLS; i++) block[i] = NAN;
    double **cols[N_COLS] = {&f->h.train_loss, &f->h.train_acc, &f->h.val_loss, &f->h.val_acc,
                             &f->h.val_metric, &f->h.lr, &f->h.seconds};
    for (int k = 0; k < N_COLS; k++) *cols[k] = block + (int64_t)k * cap;
    f->cap = cap;
    return AG_OK;
}

static double *column(const fit_run *f, int k) { return f->h.train_loss + (int64_t)k * f->cap; }

/* ------------------------------------------------------ checkpointing --- */

/* The rows of "fit.history" in the checkpoint at path ([N_COLS, rows]). */
static ag_status checkpoint_rows(const char *path, int *rows)
{
    ag_safetensors *file = NULL;
    ag_st_info info;
    if (ag_safetensors_open(path, &file) != AG_OK)
        return fail(AG_ERR_IO, "resume: %s", ag_last_error());
    int i = ag_safetensors_find(file, "fit.history");
    ag_status s = i < 0 ? AG_ERR_FORMAT : ag_safetensors_info(file, i, &info);
    if (s == AG_OK && (info.ndim != 2 || info.shape[0] != N_COLS || info.shape[1] < 1 ||
                       info.shape[1] > MAX_ROWS))
        s = AG_ERR_FORMAT;
    if (s == AG_OK) *rows = (int)info.shape[1];
    ag_safetensors_close(file);
    if (s != AG_OK)
        return fail(AG_ERR_FORMAT, "resume: %s: no 'fit.history' of shape [%d, 1..%d]: not a "
                    "checkpoint of ag_fit", path, N_COLS, MAX_ROWS);
    return AG_OK;
}

/* The extra tensors: state, history (hist, [N_COLS, rows]), best weights. */
static ag_status make_extras(fit_run *f)
{
    int n = 2 + (f->es ? f->n_tensors : 0);
    f->extra = calloc((size_t)n, sizeof *f->extra);
    ag_named_tensor *named = calloc((size_t)f->n_tensors + 1, sizeof *named);
    if (!f->extra || !named) return free(named), fail(AG_ERR_NOMEM, "out of memory");
    ag_module_named_tensors(f->model, named, f->n_tensors, 1);
    f->n_extra = n;
    strcpy(f->extra[0].name, "fit.state");
    f->extra[0].tensor = f->state;
    strcpy(f->extra[1].name, "fit.history");
    for (int i = 2; i < n; i++) {
        f->extra[i].tensor = ag_early_stop_best_weight(f->es, i - 2);
        if (snprintf(f->extra[i].name, sizeof f->extra[i].name, "fit.best.%s",
                     named[i - 2].name) >= (int)sizeof f->extra[i].name) {
            ag_status s = fail(AG_ERR_ARG, "tensor name '%s' too long for a checkpoint",
                               named[i - 2].name);
            return free(named), s;
        }
    }
    free(named);
    return AG_OK;
}

/* The history's first `rows` rows to or from hist [N_COLS, rows]. */
static void copy_history(fit_run *f, ag_tensor *hist, int rows, int to_tensor)
{
    double *d = ag_tensor_data(hist);
    for (int k = 0; k < N_COLS; k++) {
        double *col = column(f, k);
        if (to_tensor) memcpy(d + (int64_t)k * rows, col, (size_t)rows * sizeof *d);
        else memcpy(col, d + (int64_t)k * rows, (size_t)rows * sizeof *d);
    }
}

static ag_status save_checkpoint(fit_run *f, int stop)
{
    double st[S_LEN] = {f->h.epochs, stop, (double)ag_early_stop_updates(f->es),
                        f->es ? ag_early_stop_best(f->es) : INFINITY,
                        (double)ag_early_stop_best_epoch(f->es),
                        ag_early_stop_bad_epochs(f->es),
                        (double)ag_sched_last_epoch(f->o.sched)};
    memcpy(ag_tensor_data(f->state), st, sizeof st);
    ag_tensor *hist = ag_zeros(NULL, AG_F64, 2, (int64_t[]){N_COLS, f->cap});
    if (!hist) return fail(AG_ERR_NOMEM, "out of memory");
    copy_history(f, hist, f->cap, 1);
    f->extra[1].tensor = hist;
    ag_status s = ag_checkpoint_save_extra(f->o.checkpoint_path, f->model, f->opt, f->o.rng,
                                           f->n_extra, f->extra);
    ag_tensor_free(hist);
    f->extra[1].tensor = NULL;
    return s == AG_OK ? AG_OK : fail(s, "epoch %d: %s", f->h.epochs, ag_last_error());
}

/* The schedule at epoch (it counts steps), its lrs as the checkpoint set
   them (the closed form would round them differently than the steps did). */
static ag_status restore_sched(fit_run *f, double epoch)
{
    int ng = ag_optim_num_groups(f->opt);
    double *lrs = malloc((size_t)(ng + 1) * sizeof *lrs);
    if (!lrs) return fail(AG_ERR_NOMEM, "out of memory");
    for (int g = 0; g < ng; g++) lrs[g] = ag_optim_group_lr(f->opt, g);
    ag_status s = ag_sched_set_last_epoch(f->o.sched, (int64_t)epoch);
    for (int g = 0; g < ng; g++) ag_optim_set_group_lr(f->opt, g, lrs[g]);
    free(lrs);
    return s == AG_OK ? AG_OK : fail(s, "resume: the schedule: %s", ag_last_error());
}

/* The loop's state from "fit.state", checked where it enters. */
static ag_status restore_state(fit_run *f, int rows)
{
    const double *st = ag_tensor_data(f->state);
    const char *path = f->o.checkpoint_path;
    if (!(st[S_EPOCHS] >= 0 && st[S_EPOCHS] <= rows && st[S_EPOCHS] == floor(st[S_EPOCHS])) ||
        !(st[S_STOP] >= 0 && st[S_STOP] < AG_FIT_ERROR))
        return fail(AG_ERR_FORMAT, "resume: %s: 'fit.state' holds %g epochs (of %d rows) and "
                    "stop %g", path, st[S_EPOCHS], rows, st[S_STOP]);
    if (f->es && ag_early_stop_set_state(f->es, (int64_t)st[S_ES_UPDATES], st[S_ES_BEST],
                                         (int64_t)st[S_ES_BEST_EPOCH], (int)st[S_ES_BAD]) != AG_OK)
        return fail(AG_ERR_FORMAT, "resume: %s: %s", path, ag_last_error());
    if (f->o.sched && st[S_SCHED_EPOCH] >= 0 && restore_sched(f, st[S_SCHED_EPOCH]) != AG_OK)
        return AG_ERR_FORMAT;
    f->h.epochs = f->h.resumed_from = (int)st[S_EPOCHS];
    f->h.stop = (ag_fit_stop)st[S_STOP];
    f->h.best_epoch = (int)ag_early_stop_best_epoch(f->es);
    f->h.best_val_loss = f->es ? ag_early_stop_best(f->es) : INFINITY;
    return AG_OK;
}

static ag_status resume(fit_run *f, int rows)
{
    ag_tensor *hist = ag_zeros(NULL, AG_F64, 2, (int64_t[]){N_COLS, rows});
    if (!hist) return fail(AG_ERR_NOMEM, "out of memory");
    f->extra[1].tensor = hist;
    ag_status s = ag_checkpoint_load_extra(f->o.checkpoint_path, f->model, f->opt, f->o.rng,
                                           f->n_extra, f->extra);
    if (s != AG_OK) s = fail(s, "resume: %s", ag_last_error());
    if (s == AG_OK) copy_history(f, hist, rows, 0);
    f->extra[1].tensor = NULL;
    ag_tensor_free(hist);
    return s == AG_OK ? restore_state(f, rows) : s;
}

/* --------------------------------------------------------------- setup --- */

static ag_status setup(fit_run *f)
{
    int rows = 0;
    if (f->o.resume && checkpoint_rows(f->o.checkpoint_path, &rows) != AG_OK) return AG_ERR_IO;
    f->tape = ag_tape_new();
    f->state = ag_zeros(NULL, AG_F64, 1, (int64_t[]){S_LEN});
    f->n_tensors = ag_module_named_tensors(f->model, NULL, 0, 1);
    ag_named_tensor *named = calloc((size_t)f->n_tensors + 1, sizeof *named);
    f->tensors = calloc((size_t)f->n_tensors + 1, sizeof *f->tensors);
    if (!f->tape || !f->state || !named || !f->tensors)
        return free(named), fail(AG_ERR_NOMEM, "out of memory");
    ag_module_named_tensors(f->model, named, f->n_tensors, 1);
    for (int i = 0; i < f->n_tensors; i++) f->tensors[i] = named[i].tensor;
    free(named);
    if (f->val && f->n_tensors > 0) {
        f->es = ag_early_stop_new(f->o.patience >= 0 ? f->o.patience : INT_MAX,
                                  f->o.min_delta, f->n_tensors, f->tensors);
        if (!f->es) return fail(AG_ERR_NOMEM, "%s", ag_last_error());
    }
    f->h.best_epoch = -1;
    f->h.best_val_loss = INFINITY;
    if (history_alloc(f, rows > f->o.epochs ? rows : f->o.epochs) != AG_OK) return AG_ERR_NOMEM;
    ag_status s = f->o.checkpoint_path ? make_extras(f) : AG_OK;
    if (s != AG_OK) return s;
    return f->o.resume ? resume(f, rows) : AG_OK;
}

static void teardown(fit_run *f, ag_fit_history *out)
{
    if (out) *out = f->h;
    else ag_fit_history_free(&f->h);
    ag_early_stop_free(f->es);
    ag_tensor_free(f->state);
    ag_tape_free(f->tape);
    free(f->tensors);
    free(f->extra);
}

/* ------------------------------------------------------------- epochs --- */

/* Correct argmax predictions of output [B, C] against labels; -1 when
   there are no labels or output is not [B, C]. */
static int64_t count_correct(ag_tensor *out, const int64_t *labels, int64_t b)
{
    if (!labels || ag_tensor_ndim(out) != 2 || ag_tensor_dim(out, 0) != b) return -1;
    int64_t k = ag_tensor_dim(out, 1), right = 0;
    const void *d = ag_tensor_data(out);
    int f64 = ag_tensor_dtype(out) == AG_F64;
    for (int64_t i = 0; i < b; i++) {
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++) {
            double v = f64 ? ((const double *)d)[i * k + j] : ((const float *)d)[i * k + j];
            double w = f64 ? ((const double *)d)[i * k + best] : ((const float *)d)[i * k + best];
            if (v > w) best = j;
        }
        right += best == labels[i];
    }
    return right;
}

/* Running sums of one pass over a source. */
typedef struct pass_sums {
    int64_t samples, batches, correct;  /* correct -1: no accuracy */
    double loss, metric;
} pass_sums;

/* Forward and loss of one batch into sums; the loss tensor, or NULL. */
static ag_tensor *forward_loss(fit_run *f, const ag_fit_batch *b, pass_sums *ps,
                               ag_tensor **out)
{
    *out = ag_module_forward(f->model, f->tape, b->x);
    ag_tensor *loss = *out ? f->o.loss(f->o.loss_ctx, f->tape, *out, b) : NULL;
    if (loss && ag_tensor_numel(loss) != 1) {
        f->own_error = ag_set_last_error(AG_ERR_SHAPE, "the loss has %lld elements, must be a scalar",
                          (long long)ag_tensor_numel(loss));
        return NULL;
    }
    if (!loss) return NULL;
    ps->loss += ag_tensor_get(loss, 0) * (double)b->size;
    int64_t c = ps->correct < 0 ? -1 : count_correct(*out, b->labels, b->size);
    ps->correct = c < 0 ? -1 : ps->correct + c;
    ps->samples += b->size;
    return loss;
}

/* The next batch of src into b: 1, 0 at the epoch's end, or -1. */
static int next_batch(fit_run *f, ag_fit_data *src, ag_fit_batch *b)
{
    ag_tape_reset(f->tape);
    memset(b, 0, sizeof *b);
    int r = src->next(src->ctx, f->tape, b);
    if (r > 0 && (!b->x || b->size < 1)) {
        f->own_error = ag_set_last_error(AG_ERR_ARG, "the source gave a batch without x or of size %lld",
                          (long long)b->size);
        return -1;
    }
    return r > 0 ? 1 : r < 0 ? -1 : 0;
}

/* Backward, clipping, the step and the per-batch schedule. */
static int update(fit_run *f, ag_tensor *loss)
{
    if (ag_backward(f->tape, loss) != AG_OK) return -1;
    int n = ag_optim_num_params(f->opt);
    ag_tensor **p = f->o.clip_grad_norm > 0 ? malloc((size_t)n * sizeof *p) : NULL;
    for (int i = 0; p && i < n; i++) p[i] = ag_optim_param(f->opt, i);
    ag_status s = !p ? AG_OK : ag_clip_grad_norm(n, p, f->o.clip_grad_norm, 2.0, 0, NULL);
    free(p);
    if (s != AG_OK || (f->o.clip_grad_norm > 0 && !p && n > 0)) return -1;
    if (ag_optim_step(f->opt) != AG_OK) return -1;
    ag_optim_clear_grad(f->opt);
    if (f->o.sched && f->o.sched_mode == AG_FIT_SCHED_BATCH && ag_sched_step(f->o.sched) != AG_OK)
        return -1;
    return 0;
}

/* Progress and the batch callback after a step; 1 when it says stop. */
static int after_batch(fit_run *f, int epoch, const pass_sums *ps, ag_tensor *loss,
                       double t0)
{
    double t = now();
    int64_t total = f->train->count ? f->train->count(f->train->ctx) : -1;
    int tick = ps->batches == 1 || t - f->last_tick >= TICK_SECONDS || ps->samples == total;
    if (tick) f->last_tick = t;
    ag_fit_progress p = {AG_FIT_BATCH, epoch, ps->batches - 1, ps->samples, total,
                         ag_tensor_get(loss, 0), ps->loss / (double)ps->samples, t - t0, tick,
                         &f->h, &f->o};
    if (f->o.progress) f->o.progress(f->o.progress_ctx, &p);
    return f->o.on_batch_end && f->o.on_batch_end(f->o.callback_ctx, &p);
}

/* One training pass; row gets the mean loss and accuracy. */
static ag_status train_pass(fit_run *f, int epoch, double *row, int *stop)
{
    pass_sums ps = {0, 0, 0, 0, 0};
    double t0 = now();
    if (f->train->reset(f->train->ctx, epoch, f->o.rng) != AG_OK)
        return fail(AG_ERR_ARG, "epoch %d: resetting the training source: %s", epoch + 1,
                    ag_last_error());
    ag_module_train(f->model, 1);
    for (;;) {
        ag_fit_batch b;
        ag_tensor *out;
        int r = next_batch(f, f->train, &b);
        if (r < 0) return step_fail(f, "the training source", epoch, ps.batches);
        if (r == 0) break;
        ag_tensor *loss = forward_loss(f, &b, &ps, &out);
        if (!loss) return step_fail(f, "forward and loss", epoch, ps.batches);
        ps.batches++;
        if (update(f, loss)) return step_fail(f, "backward and step", epoch, ps.batches - 1);
        if (after_batch(f, epoch, &ps, loss, t0)) {
            *stop = AG_FIT_CALLBACK_STOP;
            break;
        }
    }
    row[C_TRAIN_LOSS] = ps.samples ? ps.loss / (double)ps.samples : NAN;
    row[C_TRAIN_ACC] = ps.samples && ps.correct >= 0 ? (double)ps.correct / ps.samples : NAN;
    return AG_OK;
}

/* One validation pass (evaluation mode, grad off). */
static ag_status val_pass(fit_run *f, int epoch, double *row)
{
    pass_sums ps = {0, 0, 0, 0, 0};
    ag_status s = f->val->reset(f->val->ctx, epoch, f->o.rng);
    if (s != AG_OK)
        return fail(s, "epoch %d: resetting the validation source: %s", epoch + 1,
                    ag_last_error());
    ag_module_train(f->model, 0);
    int was = ag_set_grad_enabled(f->tape, 0);
    for (;;) {
        ag_fit_batch b;
        ag_tensor *out;
        int r = next_batch(f, f->val, &b);
        if (r < 0 || (r > 0 && !forward_loss(f, &b, &ps, &out))) {
            s = step_fail(f, r < 0 ? "the validation source" : "validation", epoch, ps.batches);
            break;
        }
        if (r == 0) break;
        ps.batches++;
        if (f->o.metric) ps.metric += f->o.metric(f->o.metric_ctx, out, &b);
    }
    ag_set_grad_enabled(f->tape, was);
    double n = (double)ps.samples;
    row[C_VAL_LOSS] = ps.samples ? ps.loss / n : NAN;
    row[C_VAL_ACC] = ps.samples && ps.correct >= 0 ? (double)ps.correct / n : NAN;
    row[C_METRIC] = ps.samples && f->o.metric ? ps.metric / n : NAN;
    return s;
}

/* The schedule, early stopping, the checkpoint, progress and the epoch
   callback, after epoch's row is recorded. */
static ag_status end_epoch(fit_run *f, int epoch, int *stop)
{
    double vloss = f->h.val_loss[epoch];
    ag_sched *sc = f->o.sched;
    ag_status s = AG_OK;
    if (sc && f->o.sched_mode == AG_FIT_SCHED_EPOCH) s = ag_sched_step(sc);
    if (sc && f->o.sched_mode == AG_FIT_SCHED_PLATEAU) s = ag_plateau_step(sc, vloss);
    if (s != AG_OK) return fail(s, "epoch %d: the schedule: %s", epoch + 1, ag_last_error());
    if (f->es) {
        int r = ag_early_stop_update(f->es, vloss);
        if (r < 0) return fail(AG_ERR_NOMEM, "epoch %d: %s", epoch + 1, ag_last_error());
        if (r && f->o.patience >= 0) *stop = AG_FIT_EARLY_STOP;
        f->h.best_epoch = (int)ag_early_stop_best_epoch(f->es);
        f->h.best_val_loss = ag_early_stop_best(f->es);
    }
    if (f->o.checkpoint_path && save_checkpoint(f, *stop == AG_FIT_EARLY_STOP) != AG_OK)
        return AG_ERR_IO;
    ag_fit_progress p = {AG_FIT_EPOCH, epoch, 0, 0, 0, vloss, f->h.train_loss[epoch],
                         f->h.seconds[epoch], 1, &f->h, &f->o};
    if (f->o.progress) f->o.progress(f->o.progress_ctx, &p);
    if (f->o.on_epoch_end && f->o.on_epoch_end(f->o.callback_ctx, &p) && !*stop)
        *stop = AG_FIT_CALLBACK_STOP;
    return AG_OK;
}

static ag_status one_epoch(fit_run *f, int epoch, int *stop)
{
    double row[N_COLS], t0 = now();
    for (int k = 0; k < N_COLS; k++) row[k] = NAN;
    row[C_LR] = ag_optim_get_lr(f->opt);
    ag_status s = train_pass(f, epoch, row, stop);
    if (s == AG_OK && f->val) s = val_pass(f, epoch, row);
    if (s != AG_OK) return s;
    row[C_SECONDS] = now() - t0;
    for (int k = 0; k < N_COLS; k++) column(f, k)[epoch] = row[k];
    f->h.epochs = epoch + 1;
    f->h.epochs_this_run++;
    return end_epoch(f, epoch, stop);
}

static void emit(fit_run *f, ag_fit_event ev, int epoch)
{
    ag_fit_progress p = {ev, epoch, 0, 0, 0, NAN, NAN, 0, 1, &f->h, &f->o};
    if (f->o.progress) f->o.progress(f->o.progress_ctx, &p);
}

static ag_status run_epochs(fit_run *f)
{
    int e = f->h.epochs, stop = AG_FIT_DONE, end = f->o.epochs;
    if (f->h.stop == AG_FIT_EARLY_STOP && f->es &&
        ag_early_stop_bad_epochs(f->es) >= f->o.patience && f->o.patience >= 0)
        stop = AG_FIT_EARLY_STOP;               /* a resumed run that had stopped */
    if (f->o.max_epochs_this_run && e + f->o.max_epochs_this_run < end)
        end = e + f->o.max_epochs_this_run;
    emit(f, AG_FIT_BEGIN, e);
    ag_status s = AG_OK;
    for (; e < end && stop == AG_FIT_DONE && s == AG_OK; e++) s = one_epoch(f, e, &stop);
    if (s != AG_OK) {
        f->h.stop = AG_FIT_ERROR;
        return s;
    }
    if (stop != AG_FIT_DONE && f->h.epochs >= f->o.epochs && f->h.epochs_this_run)
        stop = AG_FIT_DONE;                     /* it had ended anyway */
    if (stop == AG_FIT_DONE && f->h.epochs < f->o.epochs) stop = AG_FIT_PAUSED;
    f->h.stop = (ag_fit_stop)stop;
    if (f->o.restore_best && stop != AG_FIT_PAUSED && f->es && f->h.best_epoch >= 0 &&
        ag_early_stop_restore(f->es) != AG_OK)
        return fail(AG_ERR_NOMEM, "restoring the best weights: %s", ag_last_error());
    emit(f, AG_FIT_END, f->h.epochs ? f->h.epochs - 1 : 0);
    return AG_OK;
}

/* ----------------------------------------------------------- the call --- */

ag_fit_opts ag_fit_defaults(void)
{
    ag_fit_opts o;
    memset(&o, 0, sizeof o);
    o.epochs = 10;
    o.loss = ag_fit_cross_entropy;
    o.patience = -1;
    return o;
}

static ag_status check_source(const char *which, const ag_fit_data *d)
{
    if (d && (!d->reset || !d->next))
        return fail(AG_ERR_ARG, "the %s source has no %s function", which,
                    d->reset ? "next" : "reset");
    return AG_OK;
}

static ag_status check_args(const ag_module *model, const ag_optim *opt,
                            const ag_fit_data *train, const ag_fit_data *val,
                            const ag_fit_opts *o)
{
    if (!model || !opt || !train)
        return fail(AG_ERR_ARG, "%s is NULL", !model ? "model" : !opt ? "opt" : "train");
    if (check_source("training", train) || check_source("validation", val)) return AG_ERR_ARG;
    if (o->epochs < 1 || o->max_epochs_this_run < 0)
        return fail(AG_ERR_ARG, "epochs is %d and max_epochs_this_run %d: must be >= 1 and >= 0",
                    o->epochs, o->max_epochs_this_run);
    if (!o->loss) return fail(AG_ERR_ARG, "loss is NULL (ag_fit_cross_entropy, ag_fit_mse)");
    if (!val && (o->patience >= 0 || o->restore_best ||
                 (o->sched && o->sched_mode == AG_FIT_SCHED_PLATEAU)))
        return fail(AG_ERR_ARG, "%s needs a validation source (val is NULL)",
                    o->patience >= 0 ? "early stopping (patience >= 0)"
                    : o->restore_best ? "restore_best" : "a plateau schedule");
    if (!(isfinite(o->min_delta) && o->min_delta >= 0) ||
        !(isfinite(o->clip_grad_norm) && o->clip_grad_norm >= 0))
        return fail(AG_ERR_ARG, "min_delta is %g and clip_grad_norm %g: must be finite and >= 0",
                    o->min_delta, o->clip_grad_norm);
    if ((unsigned)o->sched_mode > AG_FIT_SCHED_PLATEAU)
        return fail(AG_ERR_ARG, "sched_mode is %d, must be AG_FIT_SCHED_EPOCH, _BATCH or "
                    "_PLATEAU", (int)o->sched_mode);
    if (o->resume && !o->checkpoint_path)
        return fail(AG_ERR_ARG, "resume is set but checkpoint_path is NULL");
    return AG_OK;
}

ag_status ag_fit(ag_module *model, ag_optim *opt, ag_fit_data *train, ag_fit_data *val,
                 const ag_fit_opts *opts, ag_fit_history *history)
{
    ag_fit_opts o = opts ? *opts : ag_fit_defaults();
    if (history) memset(history, 0, sizeof *history);
    ag_status s = check_args(model, opt, train, val, &o);
    if (s != AG_OK) {
        if (history) history->stop = AG_FIT_ERROR;
        return s;
    }
    fit_run f;
    memset(&f, 0, sizeof f);
    f.model = model, f.opt = opt, f.train = train, f.val = val, f.o = o;
    int was_training = ag_module_is_training(model);
    s = setup(&f);
    if (s == AG_OK) s = run_epochs(&f);
    if (s != AG_OK) f.h.stop = AG_FIT_ERROR;
    ag_module_train(model, was_training);
    teardown(&f, history);
    return s;
}
