/*
** fit_data.c: what ag_fit (fit.c) is fed and prints through: the
** ag_dataset source, the two stock losses, the default progress printer
** and the history's storage. The loop itself is in fit.c.
*/
#include "ag.h"
#include "ag_fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void ag_fit_data_close(ag_fit_data *d)
{
    if (!d) return;
    if (d->close) d->close(d->ctx);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------- the dataset source --- */

typedef struct ds_source {
    const ag_dataset *ds;
    ag_fit_dataset_opts o;
    int64_t n, pos;
    int64_t *order, *labels;    /* [n], [batch_size] */
    ag_rng *rng;                /* the loop's, from reset */
} ds_source;

ag_fit_dataset_opts ag_fit_dataset_defaults(void)
{
    return (ag_fit_dataset_opts){128, AG_F32, 1, 0, NULL, NULL};
}

static void ds_close(void *ctx)
{
    ds_source *s = ctx;
    if (!s) return;
    free(s->order);
    free(s->labels);
    free(s);
}

static ag_status ds_reset(void *ctx, int64_t epoch, ag_rng *rng)
{
    ds_source *s = ctx;
    (void)epoch;
    s->pos = 0;
    s->rng = rng;
    return s->o.shuffle ? ag_epoch_order(s->order, s->n, rng) : AG_OK;
}

/* The next batch_size samples (fewer at the end unless drop_last). */
static int ds_next(void *ctx, ag_tape *t, ag_fit_batch *b)
{
    ds_source *s = ctx;
    int64_t bs = s->o.batch_size;
    if (s->pos >= s->n || (s->o.drop_last && s->pos + bs > s->n)) return 0;
    ag_tensor *x = ag_dataset_batch(t, s->ds, s->o.shuffle ? s->order : NULL, s->pos, bs,
                                    s->o.dtype, s->labels);
    if (!x) return -1;
    *b = (ag_fit_batch){x, NULL, s->labels, ag_tensor_dim(x, 0)};
    s->pos += b->size;
    if (s->o.augment && s->o.augment(s->o.augment_ctx, x, s->labels, s->rng) != AG_OK) return -1;
    return 1;
}

static int64_t ds_count(void *ctx)
{
    const ds_source *s = ctx;
    return s->o.drop_last ? s->n / s->o.batch_size * s->o.batch_size : s->n;
}

ag_status ag_fit_data_from_dataset(ag_fit_data *out, const ag_dataset *ds,
                                   const ag_fit_dataset_opts *opts)
{
    const char *fn = "ag_fit_data_from_dataset";
    ag_fit_dataset_opts o = opts ? *opts : ag_fit_dataset_defaults();
    if (out) memset(out, 0, sizeof *out);
    if (!out || !ds)
        return ag_set_last_error(AG_ERR_ARG, "%s: %s is NULL", fn, out ? "ds" : "out");
    if (o.batch_size < 1)
        return ag_set_last_error(AG_ERR_ARG, "%s: batch_size is %lld, must be >= 1", fn,
                                 (long long)o.batch_size);
    if (o.dtype != AG_F32 && o.dtype != AG_F64)
        return ag_set_last_error(AG_ERR_ARG, "%s: dtype is %d, must be AG_F32 or AG_F64", fn,
                                 (int)o.dtype);
    ds_source *s = calloc(1, sizeof *s);
    int64_t n = ag_dataset_count(ds);
    int64_t cap = o.batch_size < n ? o.batch_size : n;
    if (s) {
        s->order = malloc((size_t)(n > 0 ? n : 1) * sizeof *s->order);
        s->labels = malloc((size_t)(cap > 0 ? cap : 1) * sizeof *s->labels);
    }
    if (!s || !s->order || !s->labels) {
        ds_close(s);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory (%lld samples)", fn,
                                 (long long)n);
    }
    s->ds = ds, s->o = o, s->n = n;
    *out = (ag_fit_data){s, ds_reset, ds_next, ds_count, ds_close};
    return AG_OK;
}

/* ------------------------------------------------ the iterator source --- */

static ag_status it_reset(void *ctx, int64_t epoch, ag_rng *rng)
{
    (void)rng;
    return ag_batch_iter_reset(ctx, epoch);
}

static int it_next(void *ctx, ag_tape *t, ag_fit_batch *b)
{
    ag_tensor *x, *y;
    int r = ag_batch_iter_next(ctx, t, &x, &y);
    if (r == 1) *b = (ag_fit_batch){x, y, ag_batch_iter_labels(ctx), ag_batch_iter_batch_rows(ctx)};
    return r;
}

static int64_t it_count(void *ctx) { return ag_batch_iter_epoch_samples(ctx); }

ag_status ag_fit_data_from_iter(ag_fit_data *out, ag_batch_iter *it)
{
    if (out) memset(out, 0, sizeof *out);
    if (!out || !it)
        return ag_set_last_error(AG_ERR_ARG, "ag_fit_data_from_iter: %s is NULL",
                                 out ? "it" : "out");
    *out = (ag_fit_data){it, it_reset, it_next, it_count, NULL};
    return AG_OK;
}

/* ------------------------------------------------------------- losses --- */

ag_tensor *ag_fit_cross_entropy(void *ctx, ag_tape *t, ag_tensor *output,
                                const ag_fit_batch *batch)
{
    (void)ctx;
    return ag_cross_entropy_loss(t, output, batch ? batch->labels : NULL, AG_REDUCTION_MEAN);
}

ag_tensor *ag_fit_mse(void *ctx, ag_tape *t, ag_tensor *output, const ag_fit_batch *batch)
{
    (void)ctx;
    return ag_mse_loss(t, output, batch ? batch->y : NULL, AG_REDUCTION_MEAN);
}

/* ------------------------------------------------------------ history --- */

void ag_fit_history_free(ag_fit_history *h)
{
    if (!h) return;
    free(h->train_loss);        /* the one block every array points into */
    memset(h, 0, sizeof *h);
}

/* --------------------------------------------------- the table printer --- */

/* The terminal's width in columns (80 when unknown). */
static int term_cols(FILE *f)
{
    struct winsize ws;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    const char *e = getenv("COLUMNS");
    int c = e ? atoi(e) : 0;
    return c >= 20 ? c : 80;
}

/* One progress line, rewritten in place; it fits in cols - 1 characters
   (a line that wraps would leave a stale copy at each update): the bar
   shrinks, then goes, on narrow terminals. */
static void print_bar(FILE *f, const ag_fit_progress *p)
{
    char line[256];
    int cols = term_cols(f);
    double rate = p->samples / (p->seconds > 1e-9 ? p->seconds : 1e-9);
    int n = p->total > 0
        ? snprintf(line, sizeof line, " %6lld/%lld  %7.0f samples/s  ETA %4.1fs  loss %.4f ",
                   (long long)p->samples, (long long)p->total, rate,
                   (p->total - p->samples) / rate, p->mean_loss)
        : snprintf(line, sizeof line, " %6lld  %7.0f samples/s  loss %.4f ",
                   (long long)p->samples, rate, p->mean_loss);
    int w = cols - 1 - n - 4;                   /* "  [" bar "]" */
    if (w > 30) w = 30;
    if (w >= 5 && p->total > 0) {
        int64_t done = p->samples < p->total ? p->samples : p->total;
        int fill = (int)(w * done / p->total);
        fprintf(f, "\r  [%.*s%s%*s]%s", fill, "==============================",
                fill < w ? ">" : "", w - fill - (fill < w), "", line);
    } else {
        fprintf(f, "\r%.*s", cols - 1 < n ? cols - 1 : n, line);
    }
}

static void print_row(FILE *f, const ag_fit_history *h, int e)
{
    fprintf(f, "%5d | %10.4f %8.2f%% | %10.4f %8.2f%% | %9.2e | %6.1fs\n", e + 1,
            h->train_loss[e], 100 * h->train_acc[e], h->val_loss[e], 100 * h->val_acc[e],
            h->lr[e], h->seconds[e]);
}

void ag_fit_print(void *ctx, const ag_fit_progress *p)
{
    FILE *f = ctx;
    if (!f || !p) return;
    int tty = isatty(fileno(f));
    const ag_fit_history *h = p->history;
    switch (p->event) {
    case AG_FIT_BEGIN:
        if (h->resumed_from)
            fprintf(f, "resuming after epoch %d of %d\n", h->resumed_from, p->opts->epochs);
        if (h->resumed_from < p->opts->epochs)
            fprintf(f, "epoch | train loss  accuracy | valid loss  accuracy |        lr |   time\n");
        break;
    case AG_FIT_BATCH:
        if (tty && p->tick) print_bar(f, p);
        break;
    case AG_FIT_EPOCH:
        if (tty) fprintf(f, "\r%*s\r", term_cols(f) - 1, "");
        print_row(f, h, p->epoch);
        break;
    case AG_FIT_END:
        if (h->stop == AG_FIT_EARLY_STOP)
            fprintf(f, "early stopping: validation loss has not improved for %d epochs\n",
                    p->opts->patience);
        else if (h->stop == AG_FIT_CALLBACK_STOP)
            fprintf(f, "stopped by a callback after epoch %d\n", h->epochs);
        break;
    }
    fflush(f);
}
