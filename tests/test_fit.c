/*
** test_fit.c: the training loop (ag_fit.h). ag_fit gives the same bits
** as the loop written by hand (parameters, BatchNorm's running stats, the
** history's losses); early stopping stops at the epoch its rule names and
** puts the best weights back; a run paused and resumed from its
** checkpoint ends bit for bit where the uninterrupted run does; callbacks
** and progress events come the right number of times and can stop
** training; bad arguments are refused with a message. The task: two
** spiral arms (40 training, 20 validation points), a small f64 MLP with
** BatchNorm and Dropout, Adam, a cosine schedule, shuffling and an
** augmentation drawing from the same generator as Dropout.
*/
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_TRAIN 40
#define N_VAL 20
#define BATCH 16
#define VAL_BATCH 8

typedef struct task {
    ag_dataset *train, *val;
    ag_module *model;
    ag_optim *opt;
    ag_sched *sched;
    ag_rng *rng;                        /* shuffling, augmentation, dropout */
    ag_fit_data train_src, val_src;
} task;

/* Mirrors x's first coordinate of about half the rows, one draw per row. */
static ag_status mirror_some(void *ctx, ag_tensor *x, const int64_t *labels, ag_rng *rng)
{
    (void)ctx, (void)labels;
    double *d = ag_tensor_data(x);
    for (int64_t i = 0; i < ag_tensor_dim(x, 0); i++)
        if (ag_rng_uniform(rng) < 0.5) d[i * 2] = -d[i * 2];
    return AG_OK;
}

static void task_make(task *k, uint64_t seed, int epochs)
{
    memset(k, 0, sizeof *k);
    ag_rng *init = ag_rng_new(3);
    k->train = ag_dataset_spirals(N_TRAIN, 2, 0.05, init);
    k->val = ag_dataset_spirals(N_VAL, 2, 0.05, init);
    k->rng = ag_rng_new(seed);
    k->model = ag_sequential_new(5, (ag_module *[]){
        ag_linear_new(2, 8, 1, AG_F64, init), ag_batchnorm1d_new(8, 1e-5, 0.1, 1, AG_F64),
        ag_relu_new(), ag_dropout_new(0.25, k->rng), ag_linear_new(8, 2, 1, AG_F64, init)});
    ck_assert_ptr_nonnull(k->model);
    ag_tensor *p[8];
    int n = ag_module_parameters(k->model, p, 8);
    ag_adam_opts ao = ag_adam_defaults();
    ao.lr = 0.05;
    k->opt = ag_adam_new(n, p, &ao);
    k->sched = ag_cosine_annealing_lr_new(k->opt, epochs, 0.001);
    ag_fit_dataset_opts d = ag_fit_dataset_defaults();
    d.batch_size = BATCH, d.dtype = AG_F64, d.augment = mirror_some;
    ck_assert_int_eq(ag_fit_data_from_dataset(&k->train_src, k->train, &d), AG_OK);
    d.batch_size = VAL_BATCH, d.shuffle = 0, d.augment = NULL;
    ck_assert_int_eq(ag_fit_data_from_dataset(&k->val_src, k->val, &d), AG_OK);
    ag_rng_free(init);
    ck_assert(k->train && k->val && k->opt && k->sched);
}

static void task_free(task *k)
{
    ag_fit_data_close(&k->train_src);
    ag_fit_data_close(&k->val_src);
    ag_sched_free(k->sched);
    ag_optim_free(k->opt);
    ag_module_free(k->model);
    ag_rng_free(k->rng);
    ag_dataset_free(k->train);
    ag_dataset_free(k->val);
}

static ag_fit_opts task_opts(task *k, int epochs)
{
    ag_fit_opts o = ag_fit_defaults();
    o.epochs = epochs, o.rng = k->rng, o.sched = k->sched;
    return o;
}

/* Every parameter and buffer of a and b holds the same bits. */
static void assert_same_tensors(const ag_module *a, const ag_module *b)
{
    ag_named_tensor ta[16], tb[16];
    int n = ag_module_named_tensors(a, ta, 16, 1);
    ck_assert_int_eq(n, ag_module_named_tensors(b, tb, 16, 1));
    ck_assert_int_gt(n, 1);
    for (int i = 0; i < n; i++) {
        int64_t m = ag_tensor_numel(ta[i].tensor);
        ck_assert_int_eq(m, ag_tensor_numel(tb[i].tensor));
        ck_assert_msg(!memcmp(ag_tensor_data(ta[i].tensor), ag_tensor_data(tb[i].tensor),
                              (size_t)m * sizeof(double)), "%s differs", ta[i].name);
    }
}

/* The loop ag_fit.h describes, by hand: returns the last epoch's mean
   training loss and validation loss. */
static void hand_loop(task *k, int epochs, double *train_loss, double *val_loss)
{
    ag_tape *t = ag_tape_new();
    int64_t order[N_TRAIN], labels[BATCH];
    for (int e = 0; e < epochs; e++) {
        double sum = 0, vsum = 0;
        ag_epoch_order(order, N_TRAIN, k->rng);
        ag_module_train(k->model, 1);
        for (int64_t start = 0; start < N_TRAIN; start += BATCH) {
            ag_tape_reset(t);
            ag_tensor *x = ag_dataset_batch(t, k->train, order, start, BATCH, AG_F64, labels);
            mirror_some(NULL, x, labels, k->rng);
            ag_tensor *out = ag_module_forward(k->model, t, x);
            ag_tensor *l = ag_cross_entropy_loss(t, out, labels, AG_REDUCTION_MEAN);
            ck_assert_int_eq(ag_backward(t, l), AG_OK);
            ck_assert_int_eq(ag_optim_step(k->opt), AG_OK);
            ag_optim_clear_grad(k->opt);
            sum += ag_tensor_get(l, 0) * (double)ag_tensor_dim(x, 0);
        }
        ag_module_train(k->model, 0);
        ag_set_grad_enabled(t, 0);
        for (int64_t start = 0; start < N_VAL; start += VAL_BATCH) {
            ag_tape_reset(t);
            ag_tensor *x = ag_dataset_batch(t, k->val, NULL, start, VAL_BATCH, AG_F64, labels);
            ag_tensor *l = ag_cross_entropy_loss(t, ag_module_forward(k->model, t, x), labels,
                                                 AG_REDUCTION_MEAN);
            vsum += ag_tensor_get(l, 0) * (double)ag_tensor_dim(x, 0);
        }
        ag_set_grad_enabled(t, 1);
        ck_assert_int_eq(ag_sched_step(k->sched), AG_OK);
        *train_loss = sum / N_TRAIN;
        *val_loss = vsum / N_VAL;
    }
    ag_tape_free(t);
}

START_TEST(test_fit_matches_the_hand_written_loop)
{
    task a, b;
    task_make(&a, 11, 3);
    task_make(&b, 11, 3);
    ag_fit_opts o = task_opts(&a, 3);
    ag_fit_history h;
    ck_assert_int_eq(ag_fit(a.model, a.opt, &a.train_src, &a.val_src, &o, &h), AG_OK);
    double tl = 0, vl = 0;
    hand_loop(&b, 3, &tl, &vl);
    assert_same_tensors(a.model, b.model);
    ck_assert_int_eq(h.epochs, 3);
    ck_assert_int_eq(h.epochs_this_run, 3);
    ck_assert_int_eq(h.stop, AG_FIT_DONE);
    ck_assert(h.train_loss[2] == tl && h.val_loss[2] == vl);
    ck_assert(h.val_acc[2] >= 0 && h.val_acc[2] <= 1 && isnan(h.val_metric[2]));
    ck_assert(ag_optim_get_lr(a.opt) == ag_optim_get_lr(b.opt));
    ck_assert(h.lr[0] == 0.05 && h.lr[1] < 0.05);          /* the cosine, per epoch */
    ck_assert(ag_rng_uniform(a.rng) == ag_rng_uniform(b.rng));
    ck_assert(h.best_epoch >= 0 && h.best_val_loss == h.val_loss[h.best_epoch]);
    ag_fit_history_free(&h);
    ag_fit_history_free(&h);                                /* twice: a no-op */
    task_free(&a);
    task_free(&b);
}
END_TEST

/* ------------------------------------------------- early stopping --- */

/* A loss whose validation value is scripted per epoch (training: the real
   cross-entropy), counting the validation batches it sees. */
typedef struct scripted {
    ag_module *model;
    const double *val_losses;
    int val_batches;
} scripted;

static ag_tensor *scripted_loss(void *ctx, ag_tape *t, ag_tensor *out, const ag_fit_batch *b)
{
    scripted *s = ctx;
    if (ag_module_is_training(s->model)) return ag_fit_cross_entropy(NULL, t, out, b);
    int epoch = s->val_batches++ / ((N_VAL + VAL_BATCH - 1) / VAL_BATCH);
    return ag_add_scalar(t, ag_mul_scalar(t, ag_sum(t, out, AG_ALL, 0), 0), s->val_losses[epoch]);
}

/* Copies the weights at the end of epoch 1 (0-based) into ctx's module. */
static int keep_epoch_1(void *ctx, const ag_fit_progress *p)
{
    ag_module **pair = ctx;
    if (p->epoch == 1) {
        ag_named_tensor from[16], to[16];
        int n = ag_module_named_tensors(pair[0], from, 16, 1);
        ag_module_named_tensors(pair[1], to, 16, 1);
        for (int i = 0; i < n; i++) ck_assert_int_eq(ag_assign(to[i].tensor, from[i].tensor), AG_OK);
    }
    return 0;
}

START_TEST(test_early_stopping_stops_at_the_expected_epoch)
{
    /* patience 2, min_delta 1e-4: 4 improves, 3.99995 does not (by less
       than min_delta), 4.5 is the second bad epoch: stop after epoch 4. */
    static const double losses[10] = {5, 4, 3.99995, 4.5, 1, 1, 1, 1, 1, 1};
    task k, copy;
    task_make(&k, 5, 10);
    task_make(&copy, 5, 10);
    scripted s = {k.model, losses, 0};
    ag_module *pair[2] = {k.model, copy.model};
    ag_fit_opts o = task_opts(&k, 10);
    o.loss = scripted_loss, o.loss_ctx = &s, o.patience = 2, o.min_delta = 1e-4;
    o.restore_best = 1, o.on_epoch_end = keep_epoch_1, o.callback_ctx = pair;
    ag_fit_history h;
    ag_status st = ag_fit(k.model, k.opt, &k.train_src, &k.val_src, &o, &h);
    ck_assert_msg(st == AG_OK, "%s", ag_last_error());
    ck_assert_int_eq(h.stop, AG_FIT_EARLY_STOP);
    ck_assert_int_eq(h.epochs, 4);
    ck_assert_int_eq(h.best_epoch, 1);
    ck_assert(h.best_val_loss == 4 && fabs(h.val_loss[2] - 3.99995) < 1e-12 && isnan(h.val_loss[4]));
    assert_same_tensors(k.model, copy.model);           /* the best weights, back */
    ag_fit_history_free(&h);
    task_free(&k);
    task_free(&copy);
}
END_TEST

/* ---------------------------------------------------------- resume --- */

static void temp_path(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/ag_fit_test_%ld_%s.ckpt", (long)getpid(), tag);
}

START_TEST(test_resume_matches_the_uninterrupted_run)
{
    char pa[128], pb[128];
    temp_path(pa, sizeof pa, "a"), temp_path(pb, sizeof pb, "b");
    task a, b;
    task_make(&a, 21, 5);
    ag_fit_opts o = task_opts(&a, 5);
    o.patience = 50, o.checkpoint_path = pa;
    ag_fit_history ha, hb;
    ck_assert_int_eq(ag_fit(a.model, a.opt, &a.train_src, &a.val_src, &o, &ha), AG_OK);
    ck_assert_int_eq(ha.stop, AG_FIT_DONE);

    task_make(&b, 21, 5);                      /* 2 epochs, then a new process */
    o = task_opts(&b, 5);
    o.patience = 50, o.checkpoint_path = pb, o.max_epochs_this_run = 2;
    ck_assert_int_eq(ag_fit(b.model, b.opt, &b.train_src, &b.val_src, &o, &hb), AG_OK);
    ck_assert_int_eq(hb.stop, AG_FIT_PAUSED);
    ck_assert_int_eq(hb.epochs, 2);
    ag_fit_history_free(&hb);
    task_free(&b);

    task_make(&b, 999, 5);                     /* another seed: the checkpoint's wins */
    o = task_opts(&b, 5);
    o.patience = 50, o.checkpoint_path = pb, o.resume = 1;
    ck_assert_int_eq(ag_fit(b.model, b.opt, &b.train_src, &b.val_src, &o, &hb), AG_OK);
    ck_assert_int_eq(hb.stop, AG_FIT_DONE);
    ck_assert_int_eq(hb.epochs, 5);
    ck_assert_int_eq(hb.resumed_from, 2);
    ck_assert_int_eq(hb.epochs_this_run, 3);
    assert_same_tensors(a.model, b.model);
    ck_assert(ag_optim_get_lr(a.opt) == ag_optim_get_lr(b.opt));
    for (int e = 0; e < 5; e++)
        ck_assert(ha.train_loss[e] == hb.train_loss[e] && ha.val_loss[e] == hb.val_loss[e] &&
                  ha.lr[e] == hb.lr[e]);
    ck_assert_int_eq(ha.best_epoch, hb.best_epoch);
    ck_assert(ag_rng_uniform(a.rng) == ag_rng_uniform(b.rng));
    ag_fit_history_free(&hb);

    /* Resuming a finished run trains nothing and says it is done. */
    ck_assert_int_eq(ag_fit(b.model, b.opt, &b.train_src, &b.val_src, &o, &hb), AG_OK);
    ck_assert_int_eq(hb.epochs_this_run, 0);
    ck_assert_int_eq(hb.epochs, 5);
    ck_assert_int_eq(hb.stop, AG_FIT_DONE);
    ag_fit_history_free(&hb);
    ag_fit_history_free(&ha);
    task_free(&a);
    task_free(&b);
    remove(pa), remove(pb);
}
END_TEST

/* A per-batch schedule (a linear warm-up over 5 steps) resumes exactly too. */
START_TEST(test_resume_with_a_per_batch_schedule)
{
    char pa[128], pb[128];
    temp_path(pa, sizeof pa, "wa"), temp_path(pb, sizeof pb, "wb");
    task a, b;
    ag_fit_opts o;
    for (int run = 0; run < 3; run++) {
        task *k = run ? &b : &a;
        if (run < 2) task_make(k, 31, 4);
        else task_make(k, 77, 4);
        ag_sched_free(k->sched);
        k->sched = ag_linear_lr_new(k->opt, 0.1, 1.0, 5);
        o = task_opts(k, 4);
        o.sched_mode = AG_FIT_SCHED_BATCH, o.checkpoint_path = run ? pb : pa;
        o.max_epochs_this_run = run == 1 ? 1 : 0, o.resume = run == 2;
        ck_assert_int_eq(ag_fit(k->model, k->opt, &k->train_src, &k->val_src, &o, NULL), AG_OK);
        if (run == 1) task_free(k);
    }
    assert_same_tensors(a.model, b.model);
    ck_assert(ag_optim_get_lr(a.opt) == ag_optim_get_lr(b.opt));
    ck_assert_int_eq(ag_sched_last_epoch(a.sched), 12);        /* 3 batches x 4 epochs */
    ck_assert_int_eq(ag_sched_last_epoch(b.sched), 12);
    task_free(&a);
    task_free(&b);
    remove(pa), remove(pb);
}
END_TEST

/* ------------------------------------------------- a source of one's own --- */

/* y = 2 x + 1 at x = -1, -0.5, ..., 1 (5 points), in one batch, as tensors
   made on the tape: a regression source without labels. */
typedef struct line_source {
    int given;
} line_source;

static ag_status line_reset(void *ctx, int64_t epoch, ag_rng *rng)
{
    (void)epoch, (void)rng;
    ((line_source *)ctx)->given = 0;
    return AG_OK;
}

static int line_next(void *ctx, ag_tape *t, ag_fit_batch *b)
{
    line_source *s = ctx;
    if (s->given++) return 0;
    b->x = ag_from_f64(t, AG_F64, 2, SHAPE(5, 1), VALS(-1, -0.5, 0, 0.5, 1));
    b->y = ag_from_f64(t, AG_F64, 2, SHAPE(5, 1), VALS(-1, 0, 1, 2, 3));
    b->size = 5;
    return b->x && b->y ? 1 : -1;
}

START_TEST(test_a_regression_source_of_ones_own)
{
    line_source ls = {0};
    ag_fit_data src = {&ls, line_reset, line_next, NULL, NULL};
    ag_module *lin = ag_linear_new(1, 1, 1, AG_F64, NULL);     /* zeros */
    ag_tensor *p[2];
    int n = ag_module_parameters(lin, p, 2);
    ag_sgd_opts so = ag_sgd_defaults();
    so.lr = 0.3;
    ag_optim *opt = ag_sgd_new(n, p, &so);
    ag_fit_opts o = ag_fit_defaults();
    o.epochs = 200, o.loss = ag_fit_mse;
    ag_fit_history h;
    ck_assert_int_eq(ag_fit(lin, opt, &src, &src, &o, &h), AG_OK);
    ck_assert_double_eq_tol(ag_tensor_get(ag_module_get(lin, "weight"), 0), 2, 1e-9);
    ck_assert_double_eq_tol(ag_tensor_get(ag_module_get(lin, "bias"), 0), 1, 1e-9);
    ck_assert(isnan(h.train_acc[0]) && isnan(h.val_acc[199]));  /* no labels: no accuracy */
    ck_assert(h.train_loss[0] == 3.0);          /* mean of (2x + 1)^2 at the zero model */
    ck_assert(h.val_loss[199] < 1e-18);
    ag_fit_history_free(&h);
    ag_optim_free(opt);
    ag_module_free(lin);
}
END_TEST

/* ---------------------------------------------- a batch iterator source --- */

/* y = 2 x + 1 at 7 points, batches of 3 with drop_last (6 samples an
   epoch, shuffled by the iterator's seed): ag_fit over the iterator moves
   the parameters exactly as a hand-written loop over the same iterator. */
static int64_t iter_total;
static int iter_batch(void *ctx, const ag_fit_progress *p)
{
    (void)ctx;
    iter_total = p->total;
    return 0;
}

static ag_tensor_dataset *line7(void)
{
    static const double xs[7] = {-1, -0.6, -0.2, 0.1, 0.4, 0.7, 1};
    double ys[7];
    for (int i = 0; i < 7; i++) ys[i] = 2 * xs[i] + 1;
    ag_tensor_dataset_desc d = {0};
    d.n = 7, d.sample_ndim = 1, d.sample_shape = SHAPE(1), d.dtype = AG_F64;
    d.features = xs, d.kind = AG_TARGET_FLOAT, d.target_cols = 1, d.float_targets = ys;
    return ag_tensor_dataset_new(&d);
}

START_TEST(test_a_batch_iterator_source)
{
    ag_tensor_dataset *ds = line7();
    ck_assert_ptr_nonnull(ds);
    ag_batch_iter_opts io = {0};
    io.batch_size = 3, io.shuffle = 1, io.seed = 5, io.drop_last = 1, io.dtype = AG_F64;
    ag_module *lin[2];
    ag_optim *opt[2];
    for (int r = 0; r < 2; r++) {
        lin[r] = ag_linear_new(1, 1, 1, AG_F64, NULL);
        ag_tensor *p[2];
        int n = ag_module_parameters(lin[r], p, 2);
        ag_sgd_opts so = ag_sgd_defaults();
        so.lr = 0.2;
        opt[r] = ag_sgd_new(n, p, &so);
    }
    /* run 0: ag_fit */
    ag_batch_iter *it = ag_batch_iter_new(ds, &io);
    ag_fit_data src;
    ck_assert_int_eq(ag_fit_data_from_iter(&src, it), AG_OK);
    ag_fit_opts o = ag_fit_defaults();
    o.epochs = 30, o.loss = ag_fit_mse, o.on_batch_end = iter_batch;
    ck_assert_int_eq(ag_fit(lin[0], opt[0], &src, NULL, &o, NULL), AG_OK);
    ck_assert_int_eq(iter_total, 6);
    ag_fit_data_close(&src);
    ag_batch_iter_free(it);
    /* run 1: the same by hand */
    it = ag_batch_iter_new(ds, &io);
    ag_tape *t = ag_tape_new();
    for (int64_t e = 0; e < 30; e++) {
        ck_assert_int_eq(ag_batch_iter_reset(it, e), AG_OK);
        ag_tensor *x, *y;
        while (ag_batch_iter_next(it, t, &x, &y) == 1) {
            ag_optim_zero_grad(opt[1]);
            ag_tensor *loss = ag_mse_loss(t, ag_module_forward(lin[1], t, x), y, AG_REDUCTION_MEAN);
            ck_assert_int_eq(ag_backward(t, loss), AG_OK);
            ck_assert_int_eq(ag_optim_step(opt[1]), AG_OK);
            ag_tape_reset(t);
        }
    }
    ag_tape_free(t);
    ag_batch_iter_free(it);
    assert_same_tensors(lin[0], lin[1]);
    ck_assert_double_eq_tol(ag_tensor_get(ag_module_get(lin[0], "weight"), 0), 2, 1e-4);
    ck_assert_double_eq_tol(ag_tensor_get(ag_module_get(lin[0], "bias"), 0), 1, 1e-4);
    /* errors */
    ck_assert_int_eq(ag_fit_data_from_iter(&src, NULL), AG_ERR_ARG);
    ck_assert_str_eq(ag_last_error(), "ag_fit_data_from_iter: it is NULL");
    ck_assert_ptr_null(src.ctx);
    for (int r = 0; r < 2; r++) ag_optim_free(opt[r]), ag_module_free(lin[r]);
    ag_tensor_dataset_free(ds);
}
END_TEST

/* ------------------------------------------------------- callbacks --- */

typedef struct counts {
    int batch, epoch, events[4], stop_at_epoch, stop_at_batch;
    int64_t last_samples;
} counts;

static int on_batch(void *ctx, const ag_fit_progress *p)
{
    counts *c = ctx;
    c->batch++;
    c->last_samples = p->samples;
    ck_assert_int_eq(p->event, AG_FIT_BATCH);
    ck_assert_int_eq(p->total, N_TRAIN);
    return c->batch == c->stop_at_batch;
}

static int on_epoch(void *ctx, const ag_fit_progress *p)
{
    counts *c = ctx;
    c->epoch++;
    ck_assert_int_eq(p->history->epochs, p->epoch + 1);
    return p->epoch == c->stop_at_epoch;
}

static void on_progress(void *ctx, const ag_fit_progress *p) { ((counts *)ctx)->events[p->event]++; }

/* 2 for each validation sample: the metric's mean is 2. */
static double two_each(void *ctx, ag_tensor *out, const ag_fit_batch *b)
{
    (void)ctx, (void)out;
    return 2.0 * (double)b->size;
}

static void run_counted(counts *c, int epochs, ag_fit_history *h)
{
    task k;
    task_make(&k, 8, epochs);
    ag_fit_opts o = task_opts(&k, epochs);
    o.on_batch_end = on_batch, o.on_epoch_end = on_epoch, o.callback_ctx = c;
    o.progress = on_progress, o.progress_ctx = c, o.metric = two_each;
    ck_assert_int_eq(ag_fit(k.model, k.opt, &k.train_src, &k.val_src, &o, h), AG_OK);
    task_free(&k);
}

START_TEST(test_callbacks_are_called_and_can_stop)
{
    counts c = {0, 0, {0}, -1, -1, 0};
    ag_fit_history h;
    run_counted(&c, 3, &h);                     /* 3 batches an epoch: 16, 16, 8 */
    ck_assert_int_eq(c.batch, 9);
    ck_assert_int_eq(c.epoch, 3);
    ck_assert_int_eq(c.last_samples, N_TRAIN);
    ck_assert_int_eq(c.events[AG_FIT_BEGIN], 1);
    ck_assert_int_eq(c.events[AG_FIT_BATCH], 9);
    ck_assert_int_eq(c.events[AG_FIT_EPOCH], 3);
    ck_assert_int_eq(c.events[AG_FIT_END], 1);
    ck_assert(h.val_metric[0] == 2 && h.val_metric[2] == 2);
    ag_fit_history_free(&h);

    counts e = {0, 0, {0}, 1, -1, 0};           /* the epoch callback stops after epoch 2 */
    run_counted(&e, 5, &h);
    ck_assert_int_eq(h.stop, AG_FIT_CALLBACK_STOP);
    ck_assert_int_eq(h.epochs, 2);
    ck_assert_int_eq(e.batch, 6);
    ag_fit_history_free(&h);

    counts b = {0, 0, {0}, -1, 5, 0};           /* the batch callback: 2nd batch of epoch 2 */
    run_counted(&b, 5, &h);
    ck_assert_int_eq(h.stop, AG_FIT_CALLBACK_STOP);
    ck_assert_int_eq(h.epochs, 2);              /* the cut epoch is validated and recorded */
    ck_assert_int_eq(b.batch, 5);
    ck_assert_int_eq(b.last_samples, 2 * BATCH);
    ag_fit_history_free(&h);
}
END_TEST

/* ----------------------------------------------------------- errors --- */

static ag_tensor *vector_loss(void *ctx, ag_tape *t, ag_tensor *out, const ag_fit_batch *b)
{
    (void)ctx, (void)b;
    return ag_sum(t, out, 0, 0);                /* [2]: not a scalar */
}

#define ASSERT_FIT_FAILS(call, status, part)                                            \
    do {                                                                               \
        ck_assert_int_eq((call), (status));                                            \
        ck_assert_msg(strstr(ag_last_error(), (part)) != NULL, "message '%s' lacks '%s'", \
                      ag_last_error(), (part));                                        \
    } while (0)

START_TEST(test_bad_arguments_are_refused_with_messages)
{
    task k;
    task_make(&k, 2, 3);
    ag_fit_opts o = task_opts(&k, 3);
    ag_fit_history h;
    ASSERT_FIT_FAILS(ag_fit(NULL, k.opt, &k.train_src, NULL, &o, &h), AG_ERR_ARG,
                     "ag_fit: model is NULL");
    ck_assert_int_eq(h.stop, AG_FIT_ERROR);
    o.epochs = 0;
    ASSERT_FIT_FAILS(ag_fit(k.model, k.opt, &k.train_src, NULL, &o, NULL), AG_ERR_ARG,
                     "epochs is 0");
    o = task_opts(&k, 3);
    o.patience = 3;
    ASSERT_FIT_FAILS(ag_fit(k.model, k.opt, &k.train_src, NULL, &o, NULL), AG_ERR_ARG,
                     "early stopping (patience >= 0) needs a validation source");
    o = task_opts(&k, 3);
    o.resume = 1;
    ASSERT_FIT_FAILS(ag_fit(k.model, k.opt, &k.train_src, NULL, &o, NULL), AG_ERR_ARG,
                     "checkpoint_path is NULL");
    o.checkpoint_path = "/nonexistent/ag_fit.ckpt";
    ASSERT_FIT_FAILS(ag_fit(k.model, k.opt, &k.train_src, NULL, &o, NULL), AG_ERR_IO,
                     "/nonexistent/ag_fit.ckpt");
    o = task_opts(&k, 3);
    o.loss = vector_loss;
    ASSERT_FIT_FAILS(ag_fit(k.model, k.opt, &k.train_src, NULL, &o, &h), AG_ERR_SHAPE,
                     "epoch 1, batch 0: forward and loss: the loss has 2 elements");
    ck_assert_int_eq(h.epochs, 0);
    ag_fit_history_free(&h);
    ag_fit_data broken = {NULL, NULL, NULL, NULL, NULL};
    ASSERT_FIT_FAILS(ag_fit(k.model, k.opt, &broken, NULL, NULL, NULL), AG_ERR_ARG,
                     "the training source has no reset function");
    ag_fit_dataset_opts d = ag_fit_dataset_defaults();
    d.batch_size = 0;
    ASSERT_FIT_FAILS(ag_fit_data_from_dataset(&broken, k.train, &d), AG_ERR_ARG,
                     "ag_fit_data_from_dataset: batch_size is 0");
    ck_assert_int_eq(ag_early_stop_set_state(NULL, 0, INFINITY, -1, 0), AG_ERR_ARG);
    task_free(&k);
}
END_TEST

/* A checkpoint's extra tensors cannot take a reserved or a used name. */
START_TEST(test_checkpoint_extras_refuse_taken_names)
{
    task k;
    task_make(&k, 2, 3);
    ag_named_tensor extra = {"0.weight", ag_zeros(NULL, AG_F64, 1, SHAPE(2)), 0};
    ASSERT_FIT_FAILS(ag_checkpoint_save_extra("/tmp/unused.ckpt", k.model, k.opt, NULL, 1,
                                              &extra), AG_ERR_ARG,
                     "extra tensor name '0.weight' is taken");
    strcpy(extra.name, "optim.x");
    ASSERT_FIT_FAILS(ag_checkpoint_save_extra("/tmp/unused.ckpt", k.model, k.opt, NULL, 1,
                                              &extra), AG_ERR_ARG, "is empty or reserved");
    ag_tensor_free(extra.tensor);
    task_free(&k);
}
END_TEST

/* The default printer: a header and one row per epoch, no bar off a terminal. */
START_TEST(test_print_writes_a_table)
{
    task k;
    task_make(&k, 4, 2);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ag_fit_opts o = task_opts(&k, 2);
    o.progress = ag_fit_print, o.progress_ctx = f;
    ck_assert_int_eq(ag_fit(k.model, k.opt, &k.train_src, &k.val_src, &o, NULL), AG_OK);
    char text[1024] = {0};
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    ck_assert_uint_gt(n, 0);
    ck_assert_ptr_nonnull(strstr(text, "epoch | train loss  accuracy | valid loss"));
    ck_assert_ptr_nonnull(strstr(text, "\n    1 | "));
    ck_assert_ptr_nonnull(strstr(text, "\n    2 | "));
    ck_assert_ptr_null(strstr(text, "samples/s"));
    task_free(&k);
}
END_TEST

Suite *suite_fit(void)
{
    Suite *s = suite_create("fit");
    TU_ADD(s, test_fit_matches_the_hand_written_loop);
    TU_ADD(s, test_early_stopping_stops_at_the_expected_epoch);
    TU_ADD(s, test_resume_matches_the_uninterrupted_run);
    TU_ADD(s, test_resume_with_a_per_batch_schedule);
    TU_ADD(s, test_a_regression_source_of_ones_own);
    TU_ADD(s, test_a_batch_iterator_source);
    TU_ADD(s, test_callbacks_are_called_and_can_stop);
    TU_ADD(s, test_bad_arguments_are_refused_with_messages);
    TU_ADD(s, test_checkpoint_extras_refuse_taken_names);
    TU_ADD(s, test_print_writes_a_table);
    return s;
}
