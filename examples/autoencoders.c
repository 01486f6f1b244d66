/*
** autoencoders.c: four autoencoders on Fashion-MNIST, a plain one, a
** denoising one, a sparse one and a convolutional denoising one, side by
** side.
**
** The first three are 784-128-32-128-784 (ReLU, a ReLU code of 32 units,
** logits out); the convolutional one encodes with two 3x3 convolutions of
** stride 2 (1 -> 16 -> 32 channels, 28x28 -> 14x14 -> 7x7, ReLU) and decodes
** with two 3x3 transposed convolutions of stride 2 (32 -> 16 -> 1 channels,
** back to 28x28), a code of 32x7x7 units that keeps where things are. All
** are trained with Adam on binary cross-entropy with logits against the
** clean image. The denoising ones see their inputs with half the pixels
** masked to 0; the sparse one pays an L1 penalty on its code. It prints the loss per
** epoch, then a table: each model's test reconstruction error (mean squared
** error of sigmoid(logits) per pixel, for clean and for masked inputs) below
** that of predicting the mean image, and how sparse each code is (its mean,
** the share of zeros, the units active on 1% of the images or more). The
** denoising model wins on masked inputs and loses on clean ones, which are
** twice as bright as anything it was trained on. Last it writes a PNG
** picture: test inputs, masked inputs, plain and sparse reconstructions of
** the inputs, plain, denoising and convolutional denoising reconstructions
** of the masked inputs.
** Run:   make data build/examples/autoencoders && build/examples/autoencoders
**        (--quick: 2,000 images, 1 epoch; --help for the options)
** Without the data (see data_dir.h) it says so and uses synthetic shapes;
** a --data folder without the files is an error (exit status 1).
*/
#include "ag.h"
#include "data_dir.h"
#include "png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CODE 32
#define MASK_P 0.5      /* masking noise: the fraction of pixels set to 0 */
#define SHOWN 10        /* test images in the picture */
#define ROWS 7          /* rows of the picture */
#define MODELS 4

typedef struct autoencoder {
    const char *name;
    int denoise;        /* trained on masked inputs */
    int conv;           /* the convolutional encoder and decoder */
    double l1;          /* weight of the L1 penalty on the code */
    ag_module *enc, *dec;
    ag_optim *opt;
    double err_clean, err_masked, code_mean, code_zero;
    int64_t units;      /* code units per image */
    int units_used;     /* code units active on at least 1% of test images */
} autoencoder;

static int fail(const char *what, const char *msg)
{
    fprintf(stderr, "autoencoders: %s: %s\n", what, msg);
    return 1;
}

/* x with each pixel set to 0 with probability MASK_P: x * (u >= MASK_P). */
static ag_tensor *mask_noise(ag_tape *t, ag_tensor *x, ag_rng *rng)
{
    ag_tensor *u = ag_rand_uniform(t, rng, AG_F32, 2, ag_tensor_shape(x), 0, 1);
    return ag_mul(t, x, ag_ge_scalar(t, u, MASK_P));
}

/* The convolutional pair: [N,784] -> code [N,32,7,7] -> logits [N,784]. */
static void build_conv(autoencoder *ae, ag_rng *rng)
{
    const ag_conv_opts down = {.stride = {2, 2}, .padding = {1, 1}};
    const ag_conv_opts up = {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}};
    const int64_t k3[2] = {3, 3};
    ae->enc = ag_sequential_new(5, (ag_module *[]){ag_unflatten_new(1, 3, (int64_t[]){1, 28, 28}),
                                ag_conv2d_new(1, 16, k3, &down, 1, AG_F32, rng), ag_relu_new(),
                                ag_conv2d_new(16, 32, k3, &down, 1, AG_F32, rng), ag_relu_new()});
    ae->dec = ag_sequential_new(4, (ag_module *[]){
                                ag_conv_transpose2d_new(32, 16, k3, &up, 1, AG_F32, rng), ag_relu_new(),
                                ag_conv_transpose2d_new(16, 1, k3, &up, 1, AG_F32, rng),
                                ag_flatten_new(1, -1)});
}

/* The fully connected pair: 784-128-32 (ReLU code) and 32-128-784 (logits). */
static void build_mlp(autoencoder *ae, int64_t features, ag_rng *rng)
{
    ae->enc = ag_sequential_new(4, (ag_module *[]){ag_linear_new(features, 128, 1, AG_F32, rng),
                                ag_relu_new(), ag_linear_new(128, CODE, 1, AG_F32, rng),
                                ag_relu_new()});
    ae->dec = ag_sequential_new(3, (ag_module *[]){ag_linear_new(CODE, 128, 1, AG_F32, rng),
                                ag_relu_new(), ag_linear_new(128, features, 1, AG_F32, rng)});
}

static int build(autoencoder *ae, int64_t features, ag_rng *rng)
{
    if (ae->conv && features != 784)
        return fail("building the models", "the convolutional one wants 28x28 images");
    if (ae->conv) build_conv(ae, rng);
    else build_mlp(ae, features, rng);
    ag_tensor *p[8];
    int n = ae->enc ? ag_module_parameters(ae->enc, p, 8) : 0;
    if (ae->dec) n += ag_module_parameters(ae->dec, p + n, 8 - n);
    ag_adam_opts o = ag_adam_defaults();
    o.lr = 3e-3;
    ae->opt = ae->enc && ae->dec ? ag_adam_new(n, p, &o) : NULL;
    return ae->opt ? 0 : fail("building the models", ag_last_error());
}

/* One epoch on shuffled mini-batches of 32; returns the mean loss, or -1. */
static double train_epoch(autoencoder *ae, ag_tape *t, const ag_dataset *ds, int64_t *order,
                          ag_rng *rng)
{
    int64_t n = ag_dataset_count(ds), bs = 32;
    double sum = 0;
    ag_epoch_order(order, n, rng);
    for (int64_t start = 0; start < n; start += bs) {
        ag_tape_reset(t);
        ag_tensor *x = ag_dataset_batch(t, ds, order, start, bs, AG_F32, NULL);
        ag_tensor *code = ag_module_forward(ae->enc, t, ae->denoise ? mask_noise(t, x, rng) : x);
        ag_tensor *logits = ag_module_forward(ae->dec, t, code);
        ag_tensor *loss = ag_bce_with_logits_loss(t, logits, x, AG_REDUCTION_MEAN);
        if (ae->l1 > 0)       /* + l1 * mean over the batch of sum |code| */
            loss = ag_add(t, loss, ag_mul_scalar(t, ag_sum(t, ag_abs(t, code), AG_ALL, 0),
                                                 ae->l1 / (double)ag_tensor_dim(x, 0)));
        if (!loss || ag_backward(t, loss) != AG_OK) return fail(ae->name, ag_tape_errmsg(t)), -1;
        if (ag_optim_step(ae->opt) != AG_OK) return fail(ae->name, ag_last_error()), -1;
        ag_optim_zero_grad(ae->opt);
        sum += ag_tensor_get(loss, 0) * (double)ag_tensor_dim(x, 0);
    }
    return sum / (double)n;
}

/* Squared error of sigmoid(ae(input)) against x, summed; NULL-safe. */
static double sq_error(ag_tape *t, autoencoder *ae, ag_tensor *input, ag_tensor *x,
                       ag_tensor **code)
{
    *code = ag_module_forward(ae->enc, t, input);
    ag_tensor *y = ag_sigmoid(t, ag_module_forward(ae->dec, t, *code));
    ag_tensor *e = ag_sum(t, ag_square(t, ag_sub(t, y, x)), AG_ALL, 0);
    return e ? ag_tensor_get(e, 0) : -1;
}

/* Test errors and code statistics. The masks come from a generator seeded
   the same for every model, so all of them see the same masked images. */
static int evaluate(autoencoder *ae, ag_tape *t, const ag_dataset *ds, uint64_t seed)
{
    int64_t n = ag_dataset_count(ds), f = ag_dataset_features(ds), zero = 0, *active = NULL;
    double clean = 0, masked = 0, act = 0;
    ag_rng *rng = ag_rng_new(seed);
    ae->units = 0;
    ag_set_grad_enabled(t, 0);
    for (int64_t start = 0; start < n; start += 500) {
        ag_tape_reset(t);
        ag_tensor *x = ag_dataset_batch(t, ds, NULL, start, 500, AG_F32, NULL), *code;
        masked += sq_error(t, ae, mask_noise(t, x, rng), x, &code);
        clean += sq_error(t, ae, x, x, &code);
        if (ag_tape_status(t) != AG_OK) break;
        if (!active) {
            ae->units = ag_tensor_numel(code) / ag_tensor_dim(x, 0);
            if (!(active = calloc((size_t)ae->units, sizeof *active))) break;
        }
        for (int64_t i = 0; i < ag_tensor_numel(code); i++) {
            double h = ag_tensor_get(code, i);
            act += h, zero += h < 1e-3, active[i % ae->units] += h >= 1e-3;
        }
    }
    ag_set_grad_enabled(t, 1);
    ag_rng_free(rng);
    if (ag_tape_status(t) != AG_OK) return free(active), fail(ae->name, ag_tape_errmsg(t));
    if (!active) return fail(ae->name, "out of memory");
    ae->err_clean = clean / (double)(n * f), ae->err_masked = masked / (double)(n * f);
    ae->code_mean = act / (double)(n * ae->units);
    ae->code_zero = (double)zero / (double)(n * ae->units);
    for (int64_t j = 0; j < ae->units; j++) ae->units_used += active[j] > 0 && active[j] >= n / 100;
    free(active);
    return 0;
}

/* Mean squared error of predicting every test image by the mean train image. */
static double mean_image_error(const ag_dataset *train, const ag_dataset *test)
{
    int64_t f = ag_dataset_features(train), n = ag_dataset_count(train);
    double *mean = calloc((size_t)f, sizeof *mean), err = 0;
    if (!mean) return -1;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < f; j++) mean[j] += ag_dataset_sample(train, i)[j] / 255.0 / n;
    for (int64_t i = 0; i < ag_dataset_count(test); i++)
        for (int64_t j = 0; j < f; j++) {
            double d = ag_dataset_sample(test, i)[j] / 255.0 - mean[j];
            err += d * d;
        }
    free(mean);
    return err / (double)(ag_dataset_count(test) * f);
}

/* Synthetic 28x28 "garments": a filled rectangle, ellipse, cross or ring
   (label = shape) at a random place, size and brightness, on black. */
static ag_dataset *synthetic(int64_t n, ag_rng *rng)
{
    uint8_t *px = calloc((size_t)n * 784, 1), *lab = malloc((size_t)n);
    ag_dataset *ds = NULL;
    for (int64_t i = 0; px && lab && i < n; i++) {
        int k = (int)(i % 4);
        double cx = 13 + 2 * ag_rng_uniform(rng), cy = 13 + 2 * ag_rng_uniform(rng);
        double rx = 5 + 6 * ag_rng_uniform(rng), ry = 5 + 6 * ag_rng_uniform(rng);
        double v = 150 + 105 * ag_rng_uniform(rng);
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++) {
                double dx = (c - cx) / rx, dy = (r - cy) / ry, d = dx * dx + dy * dy;
                int in = k == 0 ? (dx * dx < 1 && dy * dy < 1) : k == 1 ? d < 1
                       : k == 2 ? ((dx * dx < 0.1 || dy * dy < 0.1) && d < 1.5)
                                : (d < 1 && d > 0.4);
                px[i * 784 + r * 28 + c] = (uint8_t)(in ? v : 0);
            }
        lab[i] = (uint8_t)k;
    }
    if (px && lab) ds = ag_dataset_from_bytes(n, 2, (int64_t[]){28, 28}, px, lab, 4);
    free(px), free(lab);
    return ds;
}

/* Loads the first n_train and n_test images, or makes shapes; 0 on success. */
static int load(const char *dir, int64_t n_train, int64_t n_test, ag_dataset **train,
                ag_dataset **test, uint64_t seed)
{
    char where[600], img[700], lbl[700], timg[700], tlbl[700];
    int found = example_data_dir(dir, where, sizeof where);
    if (found < 0) return fail("loading the data", where);
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte", where);
    snprintf(lbl, sizeof lbl, "%s/train-labels-idx1-ubyte", where);
    snprintf(timg, sizeof timg, "%s/t10k-images-idx3-ubyte", where);
    snprintf(tlbl, sizeof tlbl, "%s/t10k-labels-idx1-ubyte", where);
    if (!found) {
        printf("Fashion-MNIST not found in %s (make data unpacks it; or set AG_DATA_DIR): "
               "using synthetic shapes instead\n", where);
        ag_rng *r = ag_rng_new(seed + 1);
        *train = synthetic(n_train, r), *test = synthetic(n_test, r);
        ag_rng_free(r);
    } else {
        ag_dataset *a = ag_dataset_load_idx(img, lbl), *b = a ? ag_dataset_load_idx(timg, tlbl) : NULL;
        ag_dataset *rest1 = NULL, *rest2 = NULL;
        if (b && n_train <= ag_dataset_count(a) && n_test <= ag_dataset_count(b)) {
            ag_dataset_split(a, n_train, train, &rest1);
            ag_dataset_split(b, n_test, test, &rest2);
        } else if (b)
            ag_set_last_error(AG_ERR_ARG, "asked for more images than the files hold");
        ag_dataset_free(a), ag_dataset_free(b), ag_dataset_free(rest1), ag_dataset_free(rest2);
    }
    if (*train && *test) return 0;
    ag_dataset_free(*train), ag_dataset_free(*test);
    return fail("loading the data", ag_last_error());
}

/* sigmoid(ae(x)) as a tape tensor. */
static ag_tensor *reconstruct(ag_tape *t, autoencoder *ae, ag_tensor *x)
{
    return ag_sigmoid(t, ag_module_forward(ae->dec, t, ag_module_forward(ae->enc, t, x)));
}

/* The picture, a greyscale PNG: one test image per class in columns;
   rows: inputs, masked inputs, plain and sparse reconstructions of the
   inputs, plain, denoising and convolutional denoising reconstructions of
   the masked inputs. */
static int write_picture(const char *path, ag_tape *t, autoencoder *ae, const ag_dataset *test,
                         uint64_t seed)
{
    int64_t idx[SHOWN], k = 0;
    int seen[256] = {0}, classes = ag_dataset_num_classes(test);
    for (int64_t i = 0; i < ag_dataset_count(test) && k < SHOWN; i++)   /* spread over classes */
        if (seen[ag_dataset_label(test, i)]++ < (SHOWN + classes - 1) / classes) idx[k++] = i;
    ag_rng *rng = ag_rng_new(seed);
    ag_tape_reset(t);
    ag_set_grad_enabled(t, 0);
    ag_tensor *x = ag_dataset_batch(t, test, idx, 0, k, AG_F32, NULL);
    ag_tensor *masked = mask_noise(t, x, rng);
    ag_tensor *rows[ROWS] = {x, masked, reconstruct(t, &ae[0], x), reconstruct(t, &ae[2], x),
                             reconstruct(t, &ae[0], masked), reconstruct(t, &ae[1], masked),
                             reconstruct(t, &ae[3], masked)};
    ag_set_grad_enabled(t, 1);
    ag_rng_free(rng);
    if (ag_tape_status(t) != AG_OK) return fail("the picture", ag_tape_errmsg(t));
    int w = (int)k * 30 + 2, h = ROWS * 30 + 2;
    uint8_t *img = malloc((size_t)w * h);
    if (!img) return fail(path, "out of memory");
    memset(img, 128, (size_t)w * h);                     /* grey gaps */
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < k; c++)
            for (int p = 0; p < 784; p++) {
                double v = ag_tensor_get(rows[r], c * 784 + p);
                img[(r * 30 + 2 + p / 28) * w + c * 30 + 2 + p % 28] =
                    (uint8_t)(255 * (v < 0 ? 0 : v > 1 ? 1 : v) + 0.5);
            }
    int bad = png_write_gray(path, img, w, h);
    free(img);
    if (bad) return fail(path, "cannot write the file");
    printf("wrote %s (%dx%d): rows are inputs, masked inputs, plain and sparse\n"
           "reconstructions of the inputs, plain, denoising and convolutional denoising\n"
           "ones of the masked inputs\n",
           path, w, h);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: autoencoders [--quick] [--epochs N] [--train N] [--test N] [--l1 X]\n"
               "                    [--data DIR] [--out FILE.png] [--seed N]\n"
               "  --epochs N   epochs per model (default 4; --quick: 1)\n"
               "  --train N    training images (default 10000; --quick: 2000)\n"
               "  --test N     test images (default 2000; --quick: 500)\n"
               "  --l1 X       the sparse model's L1 penalty weight (default 1e-3)\n"
               "  --data DIR   the unpacked IDX files (default: $AG_DATA_DIR, else\n"
               "               build/data/fashion-mnist here or beside the program)\n"
               "  --out FILE   the picture (default autoencoders.png)\n"
               "  --seed N     random seed (default 1)\n");
}

int main(int argc, char **argv)
{
    const char *data = NULL, *out = "autoencoders.png";      /* data: see data_dir.h */
    long epochs = 0, n_train = 0, n_test = 0, seed = 1;
    double l1 = 1e-3;
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        char *end = NULL;
        long *num = !strcmp(a, "--epochs") ? &epochs : !strcmp(a, "--train") ? &n_train
                  : !strcmp(a, "--test") ? &n_test : !strcmp(a, "--seed") ? &seed : NULL;
        if (!strcmp(a, "--help")) return usage(stdout), 0;
        if (!strcmp(a, "--quick")) quick = 1;
        else if (num && v && (*num = strtol(v, &end, 10)) >= (num == &seed ? 0 : 1) && !*end
                 && *num <= 60000) i++;
        else if (!strcmp(a, "--l1") && v && (l1 = strtod(v, &end)) >= 0 && !*end) i++;
        else if (!strcmp(a, "--data") && v) data = argv[++i];
        else if (!strcmp(a, "--out") && v) out = argv[++i];
        else {
            fprintf(stderr, "autoencoders: bad or incomplete option '%s' (see --help)\n", a);
            return 2;
        }
    }
    if (!epochs) epochs = quick ? 1 : 4;
    if (!n_train) n_train = quick ? 2000 : 10000;
    if (!n_test) n_test = quick ? 500 : 2000;
    ag_dataset *train = NULL, *test = NULL;
    if (load(data, n_train, n_test, &train, &test, (uint64_t)seed)) return 1;
    printf("%lld training and %lld test images; %ld epoch(s) each, Adam, batch 32\n",
           (long long)ag_dataset_count(train), (long long)ag_dataset_count(test), epochs);
    autoencoder ae[MODELS] = {{.name = "plain"}, {.name = "denoising", .denoise = 1},
                              {.name = "sparse", .l1 = l1},
                              {.name = "conv-denoising", .denoise = 1, .conv = 1}};
    ag_rng *rng = ag_rng_new((uint64_t)seed);
    ag_tape *t = ag_tape_new();
    int64_t *order = malloc((size_t)n_train * sizeof *order);
    int rc = !rng || !t || !order ? fail("setting up", "out of memory") : 0;
    for (int m = 0; m < MODELS && !rc; m++) {
        rc = build(&ae[m], ag_dataset_features(train), rng);
        for (long e = 0; e < epochs && !rc; e++) {
            double loss = train_epoch(&ae[m], t, train, order, rng);
            if (loss < 0) rc = 1;
            else printf("%-14s epoch %ld  train loss %.4f\n", ae[m].name, e + 1, loss);
        }
        if (!rc) rc = evaluate(&ae[m], t, test, (uint64_t)seed + 100);
    }
    if (!rc) {
        printf("\nmean-image baseline: test error %.4f\n", mean_image_error(train, test));
        printf("model           error (inputs)  error (masked)  mean code  zero codes  units used\n");
        for (int m = 0; m < MODELS; m++)
            printf("%-14s  %14.4f  %14.4f  %9.3f  %9.1f%%  %5d/%-5lld\n", ae[m].name, ae[m].err_clean,
                   ae[m].err_masked, ae[m].code_mean, 100 * ae[m].code_zero, ae[m].units_used,
                   (long long)ae[m].units);
        rc = write_picture(out, t, ae, test, (uint64_t)seed + 200);
    }
    for (int m = 0; m < MODELS; m++)
        ag_optim_free(ae[m].opt), ag_module_free(ae[m].enc), ag_module_free(ae[m].dec);
    ag_tape_free(t);
    ag_rng_free(rng);
    free(order);
    ag_dataset_free(train), ag_dataset_free(test);
    return rc;
}
