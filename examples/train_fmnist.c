/*
** train_fmnist.c: trains a Fashion-MNIST classifier, the main job.
**
** A CNN (by default two blocks of a 3x3 convolution, 2x2 max-pooling,
** BatchNorm2d and ReLU, with 32 and 64 channels, then Dropout, Linear 256,
** ReLU, Dropout, Linear 10), or with --model mlp an MLP 784-256-128-10 with
** BatchNorm, ReLU and Dropout, trained with Adam and a cosine learning-rate
** schedule on mini-batches, with a validation
** split held out from the training set and early stopping on validation
** loss. At the end it restores the best weights, reports test accuracy and
** a confusion matrix, and writes into the output folder:
**   metrics.csv        one row per epoch
**   loss.svg, accuracy.svg
**   best.safetensors   the best model (by validation loss)
**   final.safetensors  the model at the end (the best weights)
**   last.ckpt          model, optimizer, generator and run state: --resume
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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_HIDDEN 8
#define MAX_EPOCHS 1000
#define STATE_LEN 8     /* epochs done, best val loss, bad epochs, best epoch */
#define HIST_COLS 6     /* train loss, train acc, val loss, val acc, lr, seconds */
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

static ag_optim *make_optimizer(const config *c, int n, ag_tensor *const *p)
{
    const char *o = c->optimizer;
    if (!strcmp(o, "adam") || !strcmp(o, "adamw")) {
        ag_adam_opts a = o[4] ? ag_adamw_defaults() : ag_adam_defaults();
        a.lr = c->lr, a.weight_decay = c->weight_decay;
        return o[4] ? ag_adamw_new(n, p, &a) : ag_adam_new(n, p, &a);
    }
    if (!strcmp(o, "sgd")) {
        ag_sgd_opts s = ag_sgd_defaults();
        s.lr = c->lr, s.momentum = 0.9, s.nesterov = 1, s.weight_decay = c->weight_decay;
        return ag_sgd_new(n, p, &s);
    }
    if (!strcmp(o, "rmsprop")) {
        ag_rmsprop_opts s = ag_rmsprop_defaults();
        s.lr = c->lr, s.weight_decay = c->weight_decay;
        return ag_rmsprop_new(n, p, &s);
    }
    if (!strcmp(o, "adagrad")) {
        ag_adagrad_opts s = ag_adagrad_defaults();
        s.lr = c->lr, s.weight_decay = c->weight_decay;
        return ag_adagrad_new(n, p, &s);
    }
    if (!strcmp(o, "adadelta")) {
        ag_adadelta_opts s = ag_adadelta_defaults();
        s.lr = c->lr, s.weight_decay = c->weight_decay;
        return ag_adadelta_new(n, p, &s);
    }
    if (!strcmp(o, "adamax")) {
        ag_adamax_opts s = ag_adamax_defaults();
        s.lr = c->lr, s.weight_decay = c->weight_decay;
        return ag_adamax_new(n, p, &s);
    }
    if (!strcmp(o, "nadam")) {
        ag_nadam_opts s = ag_nadam_defaults();
        s.lr = c->lr, s.weight_decay = c->weight_decay;
        return ag_nadam_new(n, p, &s);
    }
    if (!strcmp(o, "lbfgs") || !strcmp(o, "newton"))
        ag_set_last_error(AG_ERR_ARG, "%s re-evaluates the whole loss each step; this trainer "
                          "takes mini-batch optimizers (see examples/optimizer_race.c)", o);
    else
        ag_set_last_error(AG_ERR_ARG, "unknown optimizer '%s' (see --help)", o);
    return NULL;
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

/* ------------------------------------------------------------ run state --- */

/* The model, with the run's own state as buffers beside it, so one
   checkpoint file holds everything --resume needs. */
typedef struct run {
    ag_module base;
    ag_tensor *state, *hist;  /* [STATE_LEN] f64, [MAX_EPOCHS, HIST_COLS] f64 */
} run;

static const ag_module_ops run_ops = {"TrainingRun", NULL, NULL};

static run *run_new(ag_module *model)
{
    run *r = calloc(1, sizeof *r);
    if (!r) return ag_module_free(model), NULL;
    ag_module_init(&r->base, &run_ops);
    r->state = ag_zeros(NULL, AG_F64, 1, (int64_t[]){STATE_LEN});
    r->hist = ag_full(NULL, AG_F64, 2, (int64_t[]){MAX_EPOCHS, HIST_COLS}, NAN);
    if (ag_module_add_child(&r->base, "model", model) ||
        ag_module_add_buffer(&r->base, "state", r->state) ||
        ag_module_add_buffer(&r->base, "history", r->hist))
        return ag_module_free(&r->base), NULL;
    ag_tensor_set(r->state, 1, INFINITY);       /* best validation loss */
    return r;
}

static double st(const run *r, int i) { return ag_tensor_get(r->state, i); }
static double hist(const run *r, int e, int col) { return ag_tensor_get(r->hist, e * HIST_COLS + col); }

/* ------------------------------------------------------------ training --- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Correct predictions among the B rows of logits [B, C]. */
static int64_t count_correct(ag_tensor *logits, const int64_t *labels, int *pred)
{
    int64_t b = ag_tensor_dim(logits, 0), k = ag_tensor_dim(logits, 1), right = 0;
    for (int64_t i = 0; i < b; i++) {
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++)
            if (ag_tensor_get(logits, i * k + j) > ag_tensor_get(logits, i * k + best)) best = j;
        right += best == labels[i];
        if (pred) pred[i] = (int)best;
    }
    return right;
}

/* The terminal's width in columns (80 when unknown). */
static int term_cols(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    const char *e = getenv("COLUMNS");
    int c = e ? atoi(e) : 0;
    return c >= 20 ? c : 80;
}

/* One progress line, rewritten in place; it fits in cols - 1 characters
   (a line that wraps would leave a stale copy at each update): the bar
   shrinks, then goes, on narrow terminals. */
static void progress(int64_t done, int64_t total, double t0, double loss, int cols)
{
    char line[256];
    double el = now() - t0, rate = done / (el > 1e-9 ? el : 1e-9);
    int n = snprintf(line, sizeof line, " %6lld/%lld  %7.0f samples/s  ETA %4.1fs  loss %.4f ",
                     (long long)done, (long long)total, rate, (total - done) / rate, loss);
    int w = cols - 1 - n - 4;                   /* "  [" bar "]" */
    if (w > 30) w = 30;
    if (w >= 5) {
        int fill = (int)(w * done / total);
        printf("\r  [%.*s%s%*s]%s", fill, "==============================",
               fill < w ? ">" : "", w - fill - (fill < w), "", line);
    } else {
        printf("\r%.*s", cols - 1 < n ? cols - 1 : n, line);
    }
    fflush(stdout);
}

typedef struct trainer {
    const config *cfg;
    ag_module *model;
    ag_optim *opt;
    ag_rng *rng;
    ag_tape *tape;
    int64_t *order, *labels;
    int tty, cols;          /* progress only on a terminal, in its width */
    int64_t width;          /* of an image, for --augment's flips */
} trainer;

/* Augmentation: each image (a row of x, [B, H*W], f32 or f64) mirrored
   left to right with probability 1/2, one draw per image from rng. */
static void flip_some(ag_tensor *x, int64_t width, ag_rng *rng)
{
    int64_t b = ag_tensor_dim(x, 0), f = ag_tensor_dim(x, 1);
    size_t es = ag_tensor_dtype(x) == AG_F64 ? sizeof(double) : sizeof(float);
    char *p = ag_tensor_data(x), tmp[8];
    for (int64_t i = 0; p && width > 1 && i < b; i++) {
        if (ag_rng_uniform(rng) >= 0.5) continue;
        for (int64_t row = i * f; row + width <= (i + 1) * f; row += width)
            for (int64_t l = row, r = row + width - 1; l < r; l++, r--) {
                memcpy(tmp, p + l * es, es);
                memcpy(p + l * es, p + r * es, es);
                memcpy(p + r * es, tmp, es);
            }
    }
}

/* One epoch of mini-batch training; writes mean loss and accuracy. */
static int train_epoch(trainer *tr, const ag_dataset *ds, double *loss, double *acc)
{
    int64_t n = ag_dataset_count(ds), correct = 0;
    double sum = 0, t0 = now(), last = now();
    ag_epoch_order(tr->order, n, tr->rng);
    ag_module_train(tr->model, 1);
    for (int64_t start = 0; start < n; start += tr->cfg->batch) {
        ag_tape_reset(tr->tape);
        ag_tensor *x = ag_dataset_batch(tr->tape, ds, tr->order, start, tr->cfg->batch,
                                        tr->cfg->dtype, tr->labels);
        if (tr->cfg->augment && x) flip_some(x, tr->width, tr->rng);
        ag_tensor *logits = ag_module_forward(tr->model, tr->tape, x);
        ag_tensor *l = ag_cross_entropy_loss(tr->tape, logits, tr->labels, AG_REDUCTION_MEAN);
        if (!l || ag_backward(tr->tape, l) != AG_OK)
            return fprintf(stderr, "train_fmnist: %s\n", ag_tape_errmsg(tr->tape)), -1;
        if (ag_optim_step(tr->opt) != AG_OK)
            return fprintf(stderr, "train_fmnist: %s\n", ag_last_error()), -1;
        ag_optim_clear_grad(tr->opt);      /* none, not zeros: the next backward writes */
        int64_t b = ag_tensor_dim(x, 0);
        sum += ag_tensor_get(l, 0) * b;
        correct += count_correct(logits, tr->labels, NULL);
        if (tr->tty && (now() - last > 0.1 || start + b >= n)) {
            progress(start + b, n, t0, sum / (start + b), tr->cols);
            last = now();
        }
    }
    if (tr->tty) printf("\r%*s\r", tr->cols - 1, "");
    *loss = sum / n;
    *acc = (double)correct / n;
    return 0;
}

/* Loss and accuracy on ds in eval mode; confusion [10][10] if not NULL. */
static int evaluate(trainer *tr, const ag_dataset *ds, double *loss, double *acc,
                    int64_t confusion[10][10])
{
    int64_t n = ag_dataset_count(ds), correct = 0, bs = EVAL_BATCH;
    double sum = 0;
    int pred[EVAL_BATCH];
    ag_module_train(tr->model, 0);
    ag_set_grad_enabled(tr->tape, 0);
    for (int64_t start = 0; start < n; start += bs) {
        ag_tape_reset(tr->tape);
        ag_tensor *x = ag_dataset_batch(tr->tape, ds, NULL, start, bs, tr->cfg->dtype, tr->labels);
        ag_tensor *logits = ag_module_forward(tr->model, tr->tape, x);
        ag_tensor *l = ag_cross_entropy_loss(tr->tape, logits, tr->labels, AG_REDUCTION_SUM);
        if (!l) return fprintf(stderr, "train_fmnist: %s\n", ag_tape_errmsg(tr->tape)), -1;
        sum += ag_tensor_get(l, 0);
        correct += count_correct(logits, tr->labels, pred);
        for (int64_t i = 0; confusion && i < ag_tensor_dim(x, 0); i++)
            confusion[tr->labels[i]][pred[i]]++;
    }
    ag_set_grad_enabled(tr->tape, 1);
    *loss = sum / n;
    *acc = (double)correct / n;
    return 0;
}

/* -------------------------------------------------------------- output --- */

/* metrics.csv from the run's history (rewritten whole: resume-safe). */
static int write_csv(const char *dir, const run *r, int epochs)
{
    char path[600];
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n");
    for (int e = 0; e < epochs; e++)
        fprintf(f, "%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.3f\n", e + 1, hist(r, e, 0), hist(r, e, 1),
                hist(r, e, 2), hist(r, e, 3), hist(r, e, 4), hist(r, e, 5));
    return fclose(f);
}

static int write_plots(const char *dir, const run *r, int epochs)
{
    double x[MAX_EPOCHS], y[4][MAX_EPOCHS];
    for (int e = 0; e < epochs; e++) {
        x[e] = e + 1;
        for (int k = 0; k < 4; k++) y[k][e] = hist(r, e, k) * (k % 2 ? 100 : 1);
    }
    char path[600], best[48];
    svg_series loss[2] = {{"train", x, y[0], epochs, NULL, 0, 1, 0},
                          {"validation", x, y[2], epochs, NULL, 1, 1, 0}};
    svg_series acc[2] = {{"train", x, y[1], epochs, NULL, 0, 1, 0},
                         {"validation", x, y[3], epochs, NULL, 1, 1, 0}};
    snprintf(best, sizeof best, "best epoch %d", (int)st(r, 3));
    svg_plot pl = {"Cross-entropy loss", "epoch", "loss", 0, 0, 0, 0, 0, 0, 0,
                   1, st(r, 3), st(r, 3) >= 1 ? best : NULL};
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

/* One epoch's bookkeeping: history, schedule, best model, checkpoint.
   Returns 1 when early stopping says stop, 0 to go on, -1 on error. */
static int end_epoch(const config *c, run *r, trainer *tr, ag_sched *s, int e,
                     const double m[HIST_COLS])
{
    char path[600];
    for (int k = 0; k < HIST_COLS; k++) ag_tensor_set(r->hist, e * HIST_COLS + k, m[k]);
    if (s && !strcmp(c->schedule, "plateau")) ag_plateau_step(s, m[2]);
    else if (s) ag_sched_step(s);
    int stop = 0;
    if (m[2] < st(r, 1) - 1e-4) {                       /* improved: keep it */
        ag_tensor_set(r->state, 1, m[2]);
        ag_tensor_set(r->state, 2, 0);
        ag_tensor_set(r->state, 3, e + 1);
        snprintf(path, sizeof path, "%s/best.safetensors", c->out);
        if (ag_module_save(tr->model, path) != AG_OK) return -1;
    } else {
        ag_tensor_set(r->state, 2, st(r, 2) + 1);
        stop = st(r, 2) >= c->patience;
    }
    ag_tensor_set(r->state, 0, e + 1);
    snprintf(path, sizeof path, "%s/last.ckpt", c->out);
    if (ag_checkpoint_save(path, &r->base, tr->opt, tr->rng) != AG_OK) return -1;
    return stop;
}

static void print_row(int e, const double m[HIST_COLS])
{
    printf("%5d | %10.4f %8.2f%% | %10.4f %8.2f%% | %9.2e | %6.1fs\n", e + 1, m[0], 100 * m[1],
           m[2], 100 * m[3], m[4], m[5]);
    fflush(stdout);
}

static int fail(const char *what)
{
    fprintf(stderr, "train_fmnist: %s: %s\n", what, ag_last_error());
    return 1;
}

/* Trains from start_epoch; returns the epochs done, or -1. */
static int train(const config *c, run *r, trainer *tr, ag_sched *s, const data *d)
{
    int e = (int)st(r, 0), end = c->epochs;
    if (c->stop_after && e + c->stop_after < end) end = e + c->stop_after;
    printf("epoch | train loss  accuracy | valid loss  accuracy |        lr |   time\n");
    for (; e < end; e++) {
        double m[HIST_COLS], t0 = now();
        m[4] = ag_optim_get_lr(tr->opt);
        if (train_epoch(tr, d->train, &m[0], &m[1]) || evaluate(tr, d->val, &m[2], &m[3], NULL))
            return -1;
        m[5] = now() - t0;
        print_row(e, m);
        int stop = end_epoch(c, r, tr, s, e, m);
        if (stop < 0) return fail("saving"), -1;
        if (stop && e + 1 < c->epochs) {
            printf("early stopping: validation loss has not improved for %d epochs\n",
                   c->patience);
            return e + 1;
        }
    }
    return e;
}

/* Restores the best weights, evaluates on the test set, writes the files. */
static int finish(const config *c, run *r, trainer *tr, const data *d, int epochs, double t0)
{
    char path[600];
    int64_t confusion[10][10] = {{0}};
    double loss, acc;
    snprintf(path, sizeof path, "%s/best.safetensors", c->out);
    if (access(path, R_OK) == 0 && ag_module_load(tr->model, path) != AG_OK)
        return fail("restoring the best weights");
    if (evaluate(tr, d->test, &loss, &acc, confusion)) return 1;
    int k = ag_dataset_num_classes(d->test);
    print_confusion(confusion, k < 10 ? k : 10, d->synthetic);
    snprintf(path, sizeof path, "%s/final.safetensors", c->out);
    if (ag_module_save(tr->model, path) != AG_OK) return fail("saving the final model");
    if (write_csv(c->out, r, epochs) || write_plots(c->out, r, epochs))
        return fprintf(stderr, "train_fmnist: cannot write into %s\n", c->out), 1;
    double train_s = 0;                   /* every epoch's time, resumed runs' too */
    for (int e = 0; e < epochs; e++) train_s += hist(r, e, 5);
    printf("\nbest epoch %d (validation loss %.4f); %d epochs, %.1f s of training", (int)st(r, 3),
           st(r, 1), epochs, train_s);
    if (c->resume) printf(" in all (this run %.1f s)\n", now() - t0);
    else printf(", %.1f s in all\n", now() - t0);
    printf("test accuracy: %.2f%% (test loss %.4f, %lld %s samples)\n", 100 * acc, loss,
           (long long)ag_dataset_count(d->test), d->synthetic ? "spiral" : "Fashion-MNIST");
    printf("wrote %s/: metrics.csv loss.svg accuracy.svg best.safetensors final.safetensors "
           "last.ckpt\n", c->out);
    return 0;
}

int main(int argc, char **argv)
{
    config c;
    defaults(&c);
    int pr = parse_args(argc, argv, &c);
    if (pr) return pr > 0 ? 0 : 2;
    if (c.threads && ag_set_num_threads(c.threads) != AG_OK) return fail("--threads");
    if (mkdir(c.out, 0777) != 0 && access(c.out, W_OK) != 0)
        return fprintf(stderr, "train_fmnist: cannot create the folder '%s'\n", c.out), 1;
    double t0 = now();
    data d;
    if (load_data(&c, &d)) return 1;
    int rc = 1, n_params = 0;
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
    ag_module *model = c.cnn ? build_cnn(&c, shape, ag_dataset_num_classes(d.train), rng)
                             : build_mlp(&c, ag_dataset_features(d.train),
                                         ag_dataset_num_classes(d.train), rng);
    run *r = model ? run_new(model) : NULL;
    ag_tensor *params[64];
    if (r) n_params = ag_module_parameters(model, params, 64);
    ag_optim *opt = r ? make_optimizer(&c, n_params, params) : NULL;
    ag_sched *sched = opt ? make_schedule(&c, opt) : NULL;
    trainer tr = {&c, model, opt, rng, ag_tape_new(),
                  malloc((size_t)ag_dataset_count(d.train) * sizeof(int64_t)),
                  malloc((size_t)(c.batch > EVAL_BATCH ? c.batch : EVAL_BATCH) * sizeof(int64_t)),
                  isatty(STDOUT_FILENO), term_cols(), shape[1]};
    if (!opt || (!sched && strcmp(c.schedule, "none")) || !tr.tape || !tr.order || !tr.labels) {
        fail("setting up");
        goto done;
    }
    char path[600];
    snprintf(path, sizeof path, "%s/last.ckpt", c.out);
    if (c.resume) {
        if (ag_checkpoint_load(path, &r->base, opt, rng) != AG_OK) {
            fail("--resume");
            goto done;
        }
        if (sched && strcmp(c.schedule, "plateau")) ag_sched_set_last_epoch(sched, (int64_t)st(r, 0));
        printf("resuming after epoch %d from %s\n", (int)st(r, 0), path);
    }
    int64_t total = 0;
    for (int i = 0; i < n_params; i++) total += ag_tensor_numel(params[i]);
    printf("data: %lld train, %lld validation, %lld test samples of %lld features\n",
           (long long)ag_dataset_count(d.train), (long long)ag_dataset_count(d.val),
           (long long)ag_dataset_count(d.test), (long long)ag_dataset_features(d.train));
    if (c.summary) {
        char text[4096];
        if (ag_module_summary(model, 2, (int64_t[]){c.batch, ag_dataset_features(d.train)},
                              c.dtype, text, sizeof text) >= 0)
            fputs(text, stdout);
    }
    printf("model: %s, %lld parameters; %s%s lr %g, %s schedule, batch %d, %s%s, %d thread(s)\n",
           c.model, (long long)total, c.optimizer, strcmp(c.optimizer, "sgd") ? "" :
           " (momentum 0.9, Nesterov)", c.lr, c.schedule, c.batch,
           c.dtype == AG_F64 ? "f64" : "f32", c.augment ? ", flips" : "", ag_get_num_threads());
    int epochs = train(&c, r, &tr, sched, &d);
    if (epochs >= 0 && epochs < c.epochs && st(r, 2) < c.patience) {
        printf("stopped after epoch %d of %d: continue with --resume\n", epochs, c.epochs);
        rc = write_csv(c.out, r, epochs) ? 1 : 0;
    } else if (epochs >= 0) {
        rc = finish(&c, r, &tr, &d, epochs, t0);
    }
done:
    ag_sched_free(sched);
    ag_optim_free(opt);
    ag_module_free(r ? &r->base : NULL);        /* run_new frees model on failure */
    ag_tape_free(tr.tape);
    free(tr.order), free(tr.labels);
    ag_rng_free(rng);
    ag_dataset_free(d.train), ag_dataset_free(d.val), ag_dataset_free(d.test);
    return rc;
}
