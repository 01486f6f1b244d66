/*
** train_fmnist.c: trains a Fashion-MNIST classifier, the main job.
**
** A CNN (by default two blocks of a 3x3 convolution, 2x2 max-pooling,
** BatchNorm2d and ReLU, with 32 and 64 channels, then Dropout, Linear 256,
** ReLU, Dropout, Linear 10), or with --model mlp an MLP 784-256-128-10 with
** BatchNorm, ReLU and Dropout, trained with Adam and a cosine learning-rate
** schedule on mini-batches by the library's loop (ag_fit, ag_fit.h), with
** a validation split held out from the training set and early stopping on
** validation loss. At the end it has the best weights back, reports test
** accuracy and a confusion matrix, and writes into the output folder:
**   metrics.csv        one row per epoch
**   loss.svg, accuracy.svg
**   best.safetensors   the best model (by validation loss)
**   final.safetensors  the model at the end (the best weights)
**   last.ckpt          model, optimizer, generator and ag_fit's state: --resume
** Run:   make demo      (gets the data, builds, trains)
**        build/examples/train_fmnist --help
** Without the data it says why and trains on two interleaved spirals.
*/
#include "ag.h"
#include "data_dir.h"
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_HIDDEN 8
#define MAX_EPOCHS 1000
#define CNN_EPOCHS 12   /* the cnn's default: 92.95-92.98% test accuracy (seeds 1-3) */
#define EVAL_BATCH 250  /* evaluation batches: the tape of one stays small (a CNN's
                           activations of 1,000 images would take 600 MB) */

typedef struct config {
    int epochs, batch, n_hidden, hidden[MAX_HIDDEN], threads, patience, quick, resume;
    int cnn, n_channels, channels[MAX_HIDDEN];     /* --model cnn: conv blocks */
    int hidden_given, epochs_given, augment, summary;
    int stop_after;     /* epochs to train in this run at most (0: all) */
    int data_given;     /* --data named a folder: missing files are an error */
    double lr, dropout, weight_decay, val_frac;
    uint64_t seed;
    ag_dtype dtype;
    char model[4], optimizer[16], schedule[16], dtype_name[4], out[512], data[512];
} config;

static const char *const class_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                            "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                                            "Ankle boot"};

static void usage(FILE *f)
{
    fprintf(f,
        "usage: train_fmnist [options]\n"
        "  --epochs N          epochs at most (default: cnn 12, mlp 30; early stopping may\n"
        "                      end sooner)\n"
        "  --batch-size N      mini-batch size (default 128)\n"
        "  --lr X              learning rate (default 2e-3)\n"
        "  --optimizer NAME    adam adamw sgd rmsprop adagrad adadelta adamax nadam (default adam;\n"
        "                      sgd runs with momentum 0.9 and Nesterov)\n"
        "  --schedule NAME     cosine step exponential plateau none (default cosine)\n"
        "  --model cnn|mlp     the network (default cnn): cnn is per --channels entry a 3x3\n"
        "                      convolution, 2x2 max-pooling, BatchNorm2d and ReLU, then the\n"
        "                      --hidden layers; mlp is per --hidden entry Linear, BatchNorm,\n"
        "                      ReLU and Dropout\n"
        "  --channels A,B,...  the cnn's convolution channels (default 32,64)\n"
        "  --hidden A,B,...    fully connected hidden sizes (default: cnn 256, mlp 256,128)\n"
        "  --augment           random horizontal flips of half the training images\n"
        "                      (the cnn's default; --no-augment turns them off)\n"
        "  --summary           print the model's layers, output shapes and parameters first\n"
        "  --dropout P         dropout probability (default 0.3)\n"
        "  --weight-decay X    L2 weight decay (default 0)\n"
        "  --patience N        early-stopping patience in epochs (default 8)\n"
        "  --seed N            random seed (default 1)\n"
        "  --threads N         worker threads (default: all cores)\n"
        "  --dtype f32|f64     (default f32)\n"
        "  --data DIR          folder with the unpacked IDX files (default: $AG_DATA_DIR, else\n"
        "                      build/data/fashion-mnist here or beside the program; without\n"
        "                      them the default falls back to a synthetic task)\n"
        "  --out DIR           output folder (default fmnist-out)\n"
        "  --resume            continue from DIR/last.ckpt\n"
        "  --stop-after N      train at most N epochs in this run (then --resume)\n"
        "  --quick             a small, fast run (CI)\n"
        "  --help\n");
}

/* A list of sizes like 256,128 into out (at most MAX_HIDDEN); the count,
   or -1 on a bad list. */
static int parse_sizes(const char *s, int *out)
{
    int n = 0;
    while (s && *s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < 1 || v > 100000 || n == MAX_HIDDEN) return -1;
        out[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') return -1;
    }
    return n ? n : -1;
}

/* Reads a number argument; -1 on a bad one. */
static int number(const char *flag, const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (!v || end == v || *end || !(x >= lo && x <= hi)) {
        fprintf(stderr, "train_fmnist: %s needs a number in [%g, %g], got '%s'\n", flag, lo,
                hi, v ? v : "(nothing)");
        return -1;
    }
    *out = x;
    return 0;
}

#define OPTIMIZERS "adam adamw sgd rmsprop adagrad adadelta adamax nadam"
#define SCHEDULES "cosine step exponential plateau none"

/* Copies v into out (n bytes) when it is one of the space-separated
   words of allowed; else says so, naming the flag; -1 on a bad one. */
static int choice(const char *flag, const char *v, const char *allowed, char *out, size_t n)
{
    size_t len = v ? strlen(v) : 0;
    for (const char *w = allowed; v && len && *w;) {
        size_t wl = strcspn(w, " ");
        if (wl == len && !strncmp(w, v, len) && len < n) return memcpy(out, v, len + 1), 0;
        w += wl + (w[wl] == ' ');
    }
    fprintf(stderr, "train_fmnist: %s must be one of: %s; got '%s'\n", flag, allowed,
            v ? v : "(nothing)");
    return -1;
}

/* 0: go on, 1: --help shown, -1: bad flags (message printed). */
static int parse_args(int argc, char **argv, config *c)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x;
        int used = 1, bad = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(stdout), 1;
        else if (!strcmp(a, "--quick")) c->quick = 1, used = 0;
        else if (!strcmp(a, "--resume")) c->resume = 1, used = 0;
        else if (!strcmp(a, "--augment")) c->augment = 1, used = 0;
        else if (!strcmp(a, "--no-augment")) c->augment = 0, used = 0;
        else if (!strcmp(a, "--summary")) c->summary = 1, used = 0;
        else if (!strcmp(a, "--epochs"))
            bad = number(a, v, 1, MAX_EPOCHS, &x), c->epochs = (int)x, c->epochs_given = 1;
        else if (!strcmp(a, "--batch-size")) bad = number(a, v, 1, 1e6, &x), c->batch = (int)x;
        else if (!strcmp(a, "--lr")) bad = number(a, v, 0, 10, &c->lr);
        else if (!strcmp(a, "--dropout")) bad = number(a, v, 0, 0.99, &c->dropout);
        else if (!strcmp(a, "--weight-decay")) bad = number(a, v, 0, 1, &c->weight_decay);
        else if (!strcmp(a, "--stop-after")) bad = number(a, v, 1, MAX_EPOCHS, &x), c->stop_after = (int)x;
        else if (!strcmp(a, "--patience")) bad = number(a, v, 1, 1000, &x), c->patience = (int)x;
        else if (!strcmp(a, "--seed")) bad = number(a, v, 0, 1e15, &x), c->seed = (uint64_t)x;
        else if (!strcmp(a, "--threads")) bad = number(a, v, 1, 256, &x), c->threads = (int)x;
        else if (!strcmp(a, "--hidden"))
            bad = (c->n_hidden = parse_sizes(v, c->hidden)) < 0, c->hidden_given = 1;
        else if (!strcmp(a, "--channels"))
            bad = (c->n_channels = parse_sizes(v, c->channels)) < 0;
        else if (!strcmp(a, "--model"))
            bad = choice(a, v, "cnn mlp", c->model, sizeof c->model), c->cnn = !strcmp(c->model, "cnn");
        else if (!strcmp(a, "--dtype")) bad = choice(a, v, "f32 f64", c->dtype_name, 4),
                                         c->dtype = !strcmp(c->dtype_name, "f64") ? AG_F64 : AG_F32;
        else if (!strcmp(a, "--optimizer"))
            bad = choice(a, v, OPTIMIZERS, c->optimizer, sizeof c->optimizer);
        else if (!strcmp(a, "--schedule"))
            bad = choice(a, v, SCHEDULES, c->schedule, sizeof c->schedule);
        else if (!strcmp(a, "--out") && v && strlen(v) < sizeof c->out) strcpy(c->out, v);
        else if (!strcmp(a, "--data") && v && strlen(v) < sizeof c->data)
            strcpy(c->data, v), c->data_given = 1;
        else {
            fprintf(stderr, "train_fmnist: unknown or incomplete option '%s' (see --help)\n", a);
            return -1;
        }
        if (bad) {
            if (!strcmp(a, "--hidden") || !strcmp(a, "--channels"))
                fprintf(stderr, "train_fmnist: %s needs sizes like 256,128, got '%s'\n", a,
                        v ? v : "(nothing)");
            return -1;
        }
        i += used;
    }
    return 0;
}

/* ---------------------------------------------------------------- data --- */

typedef struct data {
    ag_dataset *train, *val, *test;
    int synthetic;
} data;

/* Loads Fashion-MNIST from c->data, or makes the spirals; 0 on success. */
static int load_data(const config *c, data *d)
{
    char dir[600], img[700], lbl[700], timg[700], tlbl[700];
    int found = example_data_dir(c->data_given ? c->data : NULL, dir, sizeof dir);
    if (found < 0) return fprintf(stderr, "train_fmnist: %s\n", dir), -1;
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte", dir);
    snprintf(lbl, sizeof lbl, "%s/train-labels-idx1-ubyte", dir);
    snprintf(timg, sizeof timg, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(tlbl, sizeof tlbl, "%s/t10k-labels-idx1-ubyte", dir);
    ag_dataset *all = NULL;
    memset(d, 0, sizeof *d);
    if (!found) {
        printf("Fashion-MNIST not found in %s (make demo unpacks it there from Debian's\n"
               "dataset-fashion-mnist; or set AG_DATA_DIR): training on two interleaved\n"
               "spirals instead.\n", dir);
        ag_rng *r = ag_rng_new(c->seed + 7);
        all = ag_dataset_spirals(c->quick ? 3000 : 12000, 2, 0.04, r);
        d->test = ag_dataset_spirals(c->quick ? 1000 : 4000, 2, 0.04, r);
        ag_rng_free(r);
        d->synthetic = 1;
    } else {
        all = ag_dataset_load_idx(img, lbl);
        d->test = all ? ag_dataset_load_idx(timg, tlbl) : NULL;
    }
    if (!all || !d->test) {
        fprintf(stderr, "train_fmnist: %s\n", ag_last_error());
        ag_dataset_free(all);
        ag_dataset_free(d->test);
        return -1;
    }
    if (c->quick && !d->synthetic) {          /* the first 6,000 and 1,000 */
        ag_dataset *a, *rest, *t, *trest;
        ag_dataset_split(all, 6000, &a, &rest);
        ag_dataset_split(d->test, 1000, &t, &trest);
        ag_dataset_free(all), ag_dataset_free(rest), ag_dataset_free(d->test);
        ag_dataset_free(trest);
        all = a, d->test = t;
    }
    double mean, std;
    ag_dataset_pixel_stats(all, &mean, &std);  /* normalise with the train stats */
    ag_dataset_set_normalize(all, mean, std);
    ag_dataset_set_normalize(d->test, mean, std);
    int64_t n = ag_dataset_count(all), n_val = (int64_t)(n * c->val_frac);
    ag_status s = ag_dataset_split(all, n - n_val, &d->train, &d->val);
    ag_dataset_free(all);
    if (s != AG_OK) return fprintf(stderr, "train_fmnist: %s\n", ag_last_error()), -1;
    return 0;
}

/* --------------------------------------------------------------- model --- */

/* The CNN: per entry of --channels, conv 3x3 (padding 1) -> max-pool 2x2 ->
   BatchNorm2d -> ReLU (pooling first: the normalization and the ReLU then
   run on a quarter of the pixels, 30% faster in all); then Flatten, and per --hidden size Dropout ->
   Linear -> ReLU; then Dropout -> Linear to the classes. */
static ag_module *build_cnn(const config *c, const int64_t shape[2], int classes, ag_rng *r)
{
    ag_conv_opts pad1 = {.padding = {1, 1}};
    int64_t h = shape[0], w = shape[1], ch = 1;
    ag_module *net = ag_sequential_new(1, (ag_module *[]){ag_unflatten_new(1, 3,
                                                          (int64_t[]){1, h, w})});
    for (int i = 0; net && i < c->n_channels; i++) {
        if (ag_sequential_add(net, ag_conv2d_new(ch, c->channels[i], (int64_t[]){3, 3}, &pad1,
                                                 1, c->dtype, r)) ||
            ag_sequential_add(net, ag_maxpool2d_new(2, 2, NULL)) ||
            ag_sequential_add(net, ag_batchnorm2d_new(c->channels[i], 1e-5, 0.1, 1, c->dtype)) ||
            ag_sequential_add(net, ag_relu_new()))
            return ag_module_free(net), NULL;
        ch = c->channels[i], h /= 2, w /= 2;
    }
    int64_t prev = ch * h * w;
    if (net && ag_sequential_add(net, ag_flatten_new(1, -1))) return ag_module_free(net), NULL;
    for (int i = 0; net && i < c->n_hidden; i++) {
        if ((c->dropout > 0 && ag_sequential_add(net, ag_dropout_new(c->dropout, r))) ||
            ag_sequential_add(net, ag_linear_new(prev, c->hidden[i], 1, c->dtype, r)) ||
            ag_sequential_add(net, ag_relu_new()))
            return ag_module_free(net), NULL;
        prev = c->hidden[i];
    }
    if (net && ((c->dropout > 0 && ag_sequential_add(net, ag_dropout_new(c->dropout, r))) ||
                ag_sequential_add(net, ag_linear_new(prev, classes, 1, c->dtype, r))))
        return ag_module_free(net), NULL;
    return net;
}

/* The MLP: Linear -> BatchNorm -> ReLU -> Dropout per hidden layer, then Linear. */
static ag_module *build_mlp(const config *c, int64_t in, int classes, ag_rng *r)
{
    ag_module *net = ag_sequential_new(0, NULL);
    int64_t prev = in;
    for (int i = 0; net && i < c->n_hidden; i++) {
        if (ag_sequential_add(net, ag_linear_new(prev, c->hidden[i], 1, c->dtype, r)) ||
            ag_sequential_add(net, ag_batchnorm1d_new(c->hidden[i], 1e-5, 0.1, 1, c->dtype)) ||
            ag_sequential_add(net, ag_relu_new()) ||
            (c->dropout > 0 && ag_sequential_add(net, ag_dropout_new(c->dropout, r))))
            return ag_module_free(net), NULL;
        prev = c->hidden[i];
    }
    if (net && ag_sequential_add(net, ag_linear_new(prev, classes, 1, c->dtype, r)))
        return ag_module_free(net), NULL;
    return net;
}

/* The optimizers whose options are lr and weight decay over defaults. */
#define PLAIN_OPTIMIZER(name)                                                 \
    if (!strcmp(o, #name)) {                                                  \
        ag_##name##_opts s = ag_##name##_defaults();                          \
        s.lr = c->lr, s.weight_decay = c->weight_decay;                       \
        return ag_##name##_new(n, p, &s);                                     \
    }

static ag_optim *make_optimizer(const config *c, int n, ag_tensor *const *p)
{
    const char *o = c->optimizer;
    if (!strcmp(o, "adam") || !strcmp(o, "adamw")) {
        ag_adam_opts a = o[4] ? ag_adamw_defaults() : ag_adam_defaults();
        a.lr = c->lr, a.weight_decay = c->weight_decay;
        return o[4] ? ag_adamw_new(n, p, &a) : ag_adam_new(n, p, &a);
    }
    if (!strcmp(o, "sgd")) {        /* --help and the model line say so */
        ag_sgd_opts s = ag_sgd_defaults();
        s.lr = c->lr, s.momentum = 0.9, s.nesterov = 1, s.weight_decay = c->weight_decay;
        return ag_sgd_new(n, p, &s);
    }
    PLAIN_OPTIMIZER(rmsprop)
    PLAIN_OPTIMIZER(adagrad)
    PLAIN_OPTIMIZER(adadelta)
    PLAIN_OPTIMIZER(adamax)
    PLAIN_OPTIMIZER(nadam)
    ag_set_last_error(AG_ERR_ARG, "unknown optimizer '%s' (see --help)", o);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static ag_sched *make_schedule(const config *c, ag_optim *o)
{
    const char *s = c->schedule;
    if (!strcmp(s, "cosine")) return ag_cosine_annealing_lr_new(o, c->epochs, 0);
    if (!strcmp(s, "step")) return ag_step_lr_new(o, c->epochs > 3 ? c->epochs / 3 : 1, 0.3);
    if (!strcmp(s, "exponential")) return ag_exponential_lr_new(o, 0.9);
    if (!strcmp(s, "plateau")) {
        ag_plateau_opts p = ag_plateau_defaults();
        p.patience = 2;
        return ag_reduce_lr_on_plateau_new(o, &p);
    }
    if (strcmp(s, "none")) ag_set_last_error(AG_ERR_ARG, "unknown schedule '%s'", s);
    return NULL;
}

/* ------------------------------------------------------------ training --- */

/* Augmentation (ag_fit_dataset_opts.augment): each image (a row of x,
   [B, H*W], f32 or f64) mirrored left to right with probability 1/2, one
   draw per image from the loop's generator. */
static ag_status flip_some(void *ctx, ag_tensor *x, const int64_t *labels, ag_rng *rng)
{
    int64_t width = *(const int64_t *)ctx, b = ag_tensor_dim(x, 0), f = ag_tensor_dim(x, 1);
    size_t es = ag_tensor_dtype(x) == AG_F64 ? sizeof(double) : sizeof(float);
    char *p = ag_tensor_data(x), tmp[8];
    (void)labels;
    for (int64_t i = 0; p && width > 1 && i < b; i++) {
        if (ag_rng_uniform(rng) >= 0.5) continue;
        for (int64_t row = i * f; row + width <= (i + 1) * f; row += width)
            for (int64_t l = row, r = row + width - 1; l < r; l++, r--) {
                memcpy(tmp, p + l * es, es);
                memcpy(p + l * es, p + r * es, es);
                memcpy(p + r * es, tmp, es);
            }
    }
    return AG_OK;
}

/* ag_fit's epoch callback: the best model so far to best.safetensors. */
static int save_best(void *ctx, const ag_fit_progress *p)
{
    const config *c = ((void **)ctx)[0];
    char path[600];
    if (p->history->best_epoch != p->epoch) return 0;
    snprintf(path, sizeof path, "%s/best.safetensors", c->out);
    if (ag_module_save(((void **)ctx)[1], path) == AG_OK) return 0;
    fprintf(stderr, "train_fmnist: %s\n", ag_last_error());
    return 1;                                   /* stop: the run cannot keep its best */
}

/* Loss, accuracy and the confusion matrix [10][10] on ds, in eval mode. */
static int evaluate(const config *c, ag_module *model, const ag_dataset *ds, double *loss,
                    double *acc, int64_t confusion[10][10])
{
    int64_t n = ag_dataset_count(ds), correct = 0, labels[EVAL_BATCH];
    double sum = 0;
    ag_tape *t = ag_tape_new();
    ag_module_train(model, 0);
    ag_set_grad_enabled(t, 0);
    for (int64_t start = 0; t && start < n; start += EVAL_BATCH) {
        ag_tape_reset(t);
        ag_tensor *x = ag_dataset_batch(t, ds, NULL, start, EVAL_BATCH, c->dtype, labels);
        ag_tensor *logits = ag_module_forward(model, t, x);
        ag_tensor *l = ag_cross_entropy_loss(t, logits, labels, AG_REDUCTION_SUM);
        if (!l) break;
        sum += ag_tensor_get(l, 0);
        for (int64_t i = 0, k = ag_tensor_dim(logits, 1); i < ag_tensor_dim(x, 0); i++) {
            int64_t best = 0;
            for (int64_t j = 1; j < k; j++)
                if (ag_tensor_get(logits, i * k + j) > ag_tensor_get(logits, i * k + best))
                    best = j;
            correct += best == labels[i];
            if (labels[i] < 10 && best < 10) confusion[labels[i]][best]++;
        }
    }
    int bad = !t || ag_tape_status(t) != AG_OK;
    if (bad) fprintf(stderr, "train_fmnist: %s\n", t ? ag_tape_errmsg(t) : "out of memory");
    ag_tape_free(t);
    *loss = sum / n;
    *acc = (double)correct / n;
    return bad ? -1 : 0;
}

/* -------------------------------------------------------------- output --- */

/* metrics.csv from the run's history (every epoch, resumed runs' too). */
static int write_csv(const char *dir, const ag_fit_history *h)
{
    char path[600];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n");
    for (int e = 0; e < h->epochs; e++)
        fprintf(f, "%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f\n", e + 1, h->train_loss[e],
                h->train_acc[e], h->val_loss[e], h->val_acc[e], h->lr[e], h->seconds[e]);
    return fclose(f);
}

static int write_plots(const char *dir, const ag_fit_history *h)
{
    int n = h->epochs;
    double x[MAX_EPOCHS], tacc[MAX_EPOCHS], vacc[MAX_EPOCHS];
    for (int e = 0; e < n; e++)
        x[e] = e + 1, tacc[e] = 100 * h->train_acc[e], vacc[e] = 100 * h->val_acc[e];
    char path[600], best[48];
    svg_series loss[2] = {{"train", x, h->train_loss, n, NULL, 0, 1, 0},
                          {"validation", x, h->val_loss, n, NULL, 1, 1, 0}};
    svg_series acc[2] = {{"train", x, tacc, n, NULL, 0, 1, 0},
                         {"validation", x, vacc, n, NULL, 1, 1, 0}};
    snprintf(best, sizeof best, "best epoch %d", h->best_epoch + 1);
    svg_plot pl = {"Cross-entropy loss", "epoch", "loss", 0, 0, 0, 0, 0, 0, 0,
                   1, h->best_epoch + 1, h->best_epoch >= 0 ? best : NULL};
    snprintf(path, sizeof path, "%s/loss.svg", dir);
    if (svg_line_plot(path, &pl, loss, 2)) return -1;
    svg_plot pa = {"Accuracy", "epoch", "accuracy (%)", 0, 0, 0, 0, 0, 0, 0, 1, 0, NULL};
    snprintf(path, sizeof path, "%s/accuracy.svg", dir);
    return svg_line_plot(path, &pa, acc, 2);
}

static void print_confusion(int64_t m[10][10], int k, int synthetic)
{
    printf("\nconfusion matrix (rows: true class, columns: predicted)\n%13s", "");
    for (int j = 0; j < k; j++) printf(" %5d", j);
    printf("\n");
    for (int i = 0; i < k; i++) {
        char name[16];
        snprintf(name, sizeof name, "%d %s", i, synthetic ? "arm" : class_names[i]);
        printf("%-13.13s", name);
        for (int j = 0; j < k; j++) printf(" %5lld", (long long)m[i][j]);
        printf("\n");
    }
}

/* ---------------------------------------------------------------- main --- */

static void defaults(config *c)
{
    memset(c, 0, sizeof *c);
    c->epochs = 30, c->batch = 128, c->lr = 2e-3, c->dropout = 0.3, c->patience = 8;
    c->val_frac = 0.1, c->seed = 1, c->dtype = AG_F32, c->n_hidden = 2;
    c->hidden[0] = 256, c->hidden[1] = 128;
    c->augment = -1;                        /* the model's default */
    c->cnn = 1, c->n_channels = 2, c->channels[0] = 32, c->channels[1] = 64;
    strcpy(c->model, "cnn");
    strcpy(c->optimizer, "adam"), strcpy(c->schedule, "cosine");
    strcpy(c->out, "fmnist-out"), strcpy(c->data, "build/data/fashion-mnist");
}

static int fail(const char *what)
{
    fprintf(stderr, "train_fmnist: %s: %s\n", what, ag_last_error());
    return 1;
}

/* The test set with the best weights (ag_fit put them back), the files. */
static int finish(const config *c, ag_module *model, const data *d, const ag_fit_history *h,
                  double t0)
{
    char path[600];
    int64_t confusion[10][10] = {{0}};
    double loss, acc, train_s = 0;
    if (evaluate(c, model, d->test, &loss, &acc, confusion)) return 1;
    int k = ag_dataset_num_classes(d->test);
    print_confusion(confusion, k < 10 ? k : 10, d->synthetic);
    snprintf(path, sizeof path, "%s/final.safetensors", c->out);
    if (ag_module_save(model, path) != AG_OK) return fail("saving the final model");
    if (write_csv(c->out, h) || write_plots(c->out, h))
        return fprintf(stderr, "train_fmnist: cannot write into %s\n", c->out), 1;
    for (int e = 0; e < h->epochs; e++) train_s += h->seconds[e];   /* resumed runs' too */
    printf("\nbest epoch %d (validation loss %.4f); %d epochs, %.1f s of training",
           h->best_epoch + 1, h->best_val_loss, h->epochs, train_s);
    if (h->resumed_from) printf(" in all (this run %.1f s)\n", now() - t0);
    else printf(", %.1f s in all\n", now() - t0);
    printf("test accuracy: %.2f%% (test loss %.4f, %lld %s samples)\n", 100 * acc, loss,
           (long long)ag_dataset_count(d->test), d->synthetic ? "spiral" : "Fashion-MNIST");
    printf("wrote %s/: metrics.csv loss.svg accuracy.svg best.safetensors final.safetensors "
           "last.ckpt\n", c->out);
    return 0;
}

/* The model's description line (and --summary's table). */
static void print_model(const config *c, ag_module *model, const data *d)
{
    ag_tensor *params[64];
    int64_t total = 0, n = ag_module_parameters(model, params, 64);
    for (int i = 0; i < n && i < 64; i++) total += ag_tensor_numel(params[i]);
    printf("data: %lld train, %lld validation, %lld test samples of %lld features\n",
           (long long)ag_dataset_count(d->train), (long long)ag_dataset_count(d->val),
           (long long)ag_dataset_count(d->test), (long long)ag_dataset_features(d->train));
    if (c->summary) {
        char text[4096];
        if (ag_module_summary(model, 2, (int64_t[]){c->batch, ag_dataset_features(d->train)},
                              c->dtype, text, sizeof text) >= 0)
            fputs(text, stdout);
    }
    printf("model: %s, %lld parameters; %s%s lr %g, %s schedule, batch %d, %s%s, %d thread(s)\n",
           c->model, (long long)total, c->optimizer, strcmp(c->optimizer, "sgd") ? "" :
           " (momentum 0.9, Nesterov)", c->lr, c->schedule, c->batch,
           c->dtype == AG_F64 ? "f64" : "f32", c->augment ? ", flips" : "", ag_get_num_threads());
}

/* Trains with ag_fit; then the test set and the files, or a pause. */
static int train(const config *c, ag_module *model, ag_optim *opt, ag_sched *sched,
                 ag_rng *rng, const data *d, int64_t width, double t0)
{
    char ckpt[600];
    snprintf(ckpt, sizeof ckpt, "%s/last.ckpt", c->out);
    ag_fit_dataset_opts dt = ag_fit_dataset_defaults();
    dt.batch_size = c->batch, dt.dtype = c->dtype;
    dt.augment = c->augment ? flip_some : NULL, dt.augment_ctx = &width;
    ag_fit_dataset_opts dv = {EVAL_BATCH, c->dtype, 0, 0, NULL, NULL};
    ag_fit_data train_src, val_src;
    ag_fit_data_from_dataset(&train_src, d->train, &dt);
    ag_fit_data_from_dataset(&val_src, d->val, &dv);
    void *cb[2] = {(void *)c, model};
    ag_fit_opts o = ag_fit_defaults();
    o.epochs = c->epochs, o.max_epochs_this_run = c->stop_after, o.rng = rng;
    o.sched = sched;
    o.sched_mode = strcmp(c->schedule, "plateau") ? AG_FIT_SCHED_EPOCH : AG_FIT_SCHED_PLATEAU;
    o.patience = c->patience, o.min_delta = 1e-4, o.restore_best = 1;
    o.checkpoint_path = ckpt, o.resume = c->resume;
    o.on_epoch_end = save_best, o.callback_ctx = cb;
    o.progress = ag_fit_print, o.progress_ctx = stdout;
    ag_fit_history h;
    int rc = 1;
    if (ag_fit(model, opt, &train_src, &val_src, &o, &h) != AG_OK) fail("training");
    else if (h.stop == AG_FIT_CALLBACK_STOP) rc = 1;        /* save_best said why */
    else if (h.stop == AG_FIT_PAUSED) {
        printf("stopped after epoch %d of %d: continue with --resume\n", h.epochs, c->epochs);
        rc = write_csv(c->out, &h) ? 1 : 0;
    } else rc = finish(c, model, d, &h, t0);
    ag_fit_history_free(&h);
    ag_fit_data_close(&train_src), ag_fit_data_close(&val_src);
    return rc;
}

int main(int argc, char **argv)
{
    config c;
    defaults(&c);
    int pr = parse_args(argc, argv, &c);
    if (pr) return pr > 0 ? 0 : 2;
    if (c.threads && ag_set_num_threads(c.threads) != AG_OK) return fail("--threads");
    if (!example_out_dir("train_fmnist", c.out)) return 1;
    double t0 = now();
    data d;
    if (load_data(&c, &d)) return 1;
    int rc = 1;
    ag_rng *rng = ag_rng_new(c.seed);
    int64_t shape[3] = {0, 0, 0};
    if (c.cnn && ag_dataset_sample_shape(d.train, shape) != 2) {
        printf("the data are not images: training the MLP instead of the CNN\n");
        c.cnn = 0;
        strcpy(c.model, "mlp");
    }
    if (c.cnn && !c.hidden_given) c.n_hidden = 1;      /* the cnn's default: 256 */
    if (c.augment < 0) c.augment = c.cnn;               /* flips help the cnn only */
    if (!c.epochs_given) c.epochs = c.quick ? 3 : c.cnn ? CNN_EPOCHS : 30;
    int classes = ag_dataset_num_classes(d.train);
    ag_module *model = c.cnn ? build_cnn(&c, shape, classes, rng)
                             : build_mlp(&c, ag_dataset_features(d.train), classes, rng);
    ag_tensor *params[64];
    int n_params = model ? ag_module_parameters(model, params, 64) : 0;
    ag_optim *opt = model ? make_optimizer(&c, n_params, params) : NULL;
    ag_sched *sched = opt ? make_schedule(&c, opt) : NULL;
    if (!opt || (!sched && strcmp(c.schedule, "none"))) {
        fail("setting up");
    } else {
        print_model(&c, model, &d);
        rc = train(&c, model, opt, sched, rng, &d, shape[1], t0);
    }
    ag_sched_free(sched);
    ag_optim_free(opt);
    ag_module_free(model);
    ag_rng_free(rng);
    ag_dataset_free(d.train), ag_dataset_free(d.val), ag_dataset_free(d.test);
    return rc;
}
