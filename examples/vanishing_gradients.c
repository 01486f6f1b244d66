/*
** vanishing_gradients.c: per-layer gradient norms of a deep MLP at init.
**
** A 20-layer MLP (784 -> 64 x 19 -> 10, biases 0) takes one batch of
** Fashion-MNIST test images (random N(0, 1) inputs and labels if the data
** is missing), one cross-entropy backward, and the Frobenius norm of each
** Linear layer's weight gradient is measured, for sigmoid / tanh / ReLU,
** Xavier (Glorot, gain 1) / He (Kaiming, fan_in, gain sqrt 2) init, with
** and without BatchNorm after every hidden Linear, plus ReLU with a too
** large init (He x 2: std 2 sqrt(2 / fan_in)). It shows the textbook facts:
**   - sigmoid gradients vanish towards the input (layer 1 / layer 20 << 1):
**     each layer multiplies the backward signal by sigmoid' <= 1/4;
**   - ReLU with He init keeps them level (Xavier too, but ~1000x smaller);
**   - ReLU with too large an init explodes: every gradient is about 2^19
**     times larger than with He (activations and backward signals double
**     at each layer) and so is the loss;
**   - BatchNorm rescues both: sigmoid's ratio comes back to about 1, and
**     the He x2 net gets the gradients of the He one (BatchNorm undoes the
**     weights' scale). Not a perfect level either: at init the gradients of
**     a deep BatchNorm net grow towards the input by a constant factor per
**     layer, about 1.2 with ReLU (Yang et al. 2019, "A Mean Field Theory of
**     Batch Normalization"), so ~x50 over 20 layers.
** Layer 1 has 784 inputs, not 64: for the same backward signal its weight
** gradient is about sqrt(784 / 64) = 3.5 times larger (the step at layer 1).
**
** Run:   build/examples/vanishing_gradients [--quick] [--batch N] [--data DIR]
**                                           [--out DIR]
** Prints a table (configuration, |grad W| at layers 1, 10 and 20, and the
** ratio first/last) and writes DIR/grad_norms.svg (log scale, one line per
** configuration: gradient norm against the layer index).
*/
#include "ag.h"
#include "data_dir.h"
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEPTH 20
#define WIDTH 64
#define IN 784
#define CLASSES 10

enum { SIGMOID, TANH, RELU };
enum { XAVIER, HE, HE_X2 };
typedef struct config { int act, init, bn; } config;
static const config configs[] = {
    {SIGMOID, XAVIER, 0}, {SIGMOID, HE, 0}, {TANH, XAVIER, 0}, {TANH, HE, 0},
    {RELU, XAVIER, 0},    {RELU, HE, 0},    {RELU, HE_X2, 0},
    {SIGMOID, XAVIER, 1}, {SIGMOID, HE, 1}, {TANH, XAVIER, 1}, {TANH, HE, 1},
    {RELU, XAVIER, 1},    {RELU, HE, 1},    {RELU, HE_X2, 1}};
enum { N_CONFIGS = sizeof configs / sizeof configs[0] };
static const char *const act_names[] = {"sigmoid", "tanh", "ReLU"};
static const char *const init_names[] = {"Xavier", "He", "He x2"};

static void config_name(const config *c, char *buf, size_t n)
{
    snprintf(buf, n, "%s, %s%s", act_names[c->act], init_names[c->init], c->bn ? ", BN" : "");
}

/* Draws a Linear layer's weight (its bias is 0); the same rng state gives
   the same draws for every configuration. */
static ag_status init_linear(ag_module *lin, int init, ag_rng *rng)
{
    ag_tensor *w = ag_module_get(lin, "weight");
    int64_t fan_in = ag_tensor_dim(w, 1);
    ag_status s = init == XAVIER ? ag_init_xavier_normal(w, 1.0, rng)
                : init == HE ? ag_init_kaiming_normal(w, 0, AG_FAN_IN, AG_NL_RELU, rng)
                : ag_init_normal(w, 0, 2 * sqrt(2.0 / fan_in), rng);
    return s != AG_OK ? s : ag_init_zeros(ag_module_get(lin, "bias"));
}

/* The MLP of c; weights[i] gets layer i's weight (borrowed). NULL on error. */
static ag_module *build(const config *c, ag_tensor **weights, uint64_t seed)
{
    ag_rng *rng = ag_rng_new(seed);
    ag_module *net = rng ? ag_sequential_new(0, NULL) : NULL;
    for (int i = 0; net && i < DEPTH; i++) {
        int last = i == DEPTH - 1;
        ag_module *lin = ag_linear_new(i ? WIDTH : IN, last ? CLASSES : WIDTH, 1, AG_F32, rng);
        weights[i] = lin ? ag_module_get(lin, "weight") : NULL;
        if (ag_sequential_add(net, lin) != AG_OK || init_linear(lin, c->init, rng) != AG_OK)
            goto fail;
        if (last) break;
        if (c->bn && ag_sequential_add(net, ag_batchnorm1d_new(WIDTH, 1e-5, 0.1, 1, AG_F32)))
            goto fail;
        ag_module *act = c->act == SIGMOID ? ag_sigmoid_new()
                       : c->act == TANH ? ag_tanh_new() : ag_relu_new();
        if (ag_sequential_add(net, act) != AG_OK) goto fail;
    }
    ag_rng_free(rng);
    return net;
fail:
    ag_module_free(net);
    ag_rng_free(rng);
    return NULL;
}

/* One forward and backward of c's net on (x, labels): norms[i] = |dL/dW_i|. */
static int measure(const config *c, ag_tape *t, ag_tensor *x, const int64_t *labels,
                   double *norms, double *loss)
{
    ag_tensor *weights[DEPTH];
    ag_module *net = build(c, weights, 42);
    if (!net) return fprintf(stderr, "vanishing_gradients: %s\n", ag_last_error()), -1;
    ag_tape_reset(t);
    ag_tensor *l = ag_cross_entropy_loss(t, ag_module_forward(net, t, x), labels,
                                         AG_REDUCTION_MEAN);
    int rc = l && ag_backward(t, l) == AG_OK ? 0 : -1;
    if (rc) fprintf(stderr, "vanishing_gradients: %s\n", ag_tape_errmsg(t));
    else *loss = ag_tensor_get(l, 0);
    for (int i = 0; rc == 0 && i < DEPTH; i++) {
        ag_tensor *g = ag_tensor_grad(weights[i]);      /* f32, like the weight */
        const float *d = g ? ag_tensor_data(g) : NULL;
        double sum = 0;
        for (int64_t j = 0; d && j < ag_tensor_numel(g); j++) sum += (double)d[j] * d[j];
        norms[i] = d ? sqrt(sum) : NAN;
    }
    ag_tape_reset(t);               /* the graph goes before the parameters it uses */
    ag_module_free(net);
    return rc;
}

/* A batch of n test images and labels, or random ones when the data is
   missing (NULL with a message for a --data folder without the files). */
static ag_tensor *load_batch(const char *given, int synthetic, int64_t n, int64_t *labels)
{
    char dir[600] = "", img[700], lbl[700];
    int found = synthetic ? 0 : example_data_dir(given, dir, sizeof dir);
    if (found < 0) return ag_set_last_error(AG_ERR_IO, "%s", dir), NULL;
    snprintf(img, sizeof img, "%s/t10k-images-idx3-ubyte", dir);
    snprintf(lbl, sizeof lbl, "%s/t10k-labels-idx1-ubyte", dir);
    if (!found) {
        if (synthetic)
            printf("--synthetic: random N(0, 1) inputs and random labels.\n");
        else
            printf("Fashion-MNIST not found in %s (make data unpacks it there; or set\n"
                   "AG_DATA_DIR): random N(0, 1) inputs and random labels instead.\n", dir);
        ag_rng *rng = ag_rng_new(3);
        ag_tensor *x = rng ? ag_rand_normal(NULL, rng, AG_F32, 2, (int64_t[]){n, IN}, 0, 1) : NULL;
        for (int64_t i = 0; rng && i < n; i++) labels[i] = (int64_t)(ag_rng_u64(rng) % CLASSES);
        ag_rng_free(rng);
        return x;
    }
    ag_dataset *ds = ag_dataset_load_idx(img, lbl);
    double mean, std;
    if (!ds || ag_dataset_pixel_stats(ds, &mean, &std) != AG_OK ||
        ag_dataset_set_normalize(ds, mean, std) != AG_OK)
        return ag_dataset_free(ds), NULL;
    ag_tensor *x = ag_dataset_batch(NULL, ds, NULL, 0, n, AG_F32, labels);
    printf("data: %lld Fashion-MNIST test images, normalized to mean 0, std 1\n", (long long)n);
    ag_dataset_free(ds);
    return x;
}

static int usage(FILE *f, int status)
{
    fprintf(f, "usage: vanishing_gradients [--quick] [--batch N] [--data DIR] [--synthetic]\n"
               "                           [--out DIR]\n"
               "  --quick     a batch of 64 (CI)\n"
               "  --synthetic random N(0, 1) inputs and labels instead of Fashion-MNIST\n"
               "  --batch N   images in the batch, 2 to 256 (default 256)\n"
               "  --data DIR  Fashion-MNIST's IDX files (default: $AG_DATA_DIR, else\n"
               "              build/data/fashion-mnist here or beside the program)\n"
               "  --out DIR   folder for grad_norms.svg (default .)\n");
    return status;
}

int main(int argc, char **argv)
{
    int quick = 0, synthetic = 0, rc = 1;
    long batch = 0;
    char *end;
    const char *data = NULL, *out = ".";        /* data: see data_dir.h */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--synthetic")) synthetic = 1;
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) data = argv[++i];
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            batch = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || batch < 2 || batch > 256) {
                fprintf(stderr, "vanishing_gradients: --batch needs a number in [2, 256], "
                        "got '%s'\n", argv[i]);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        else {
            fprintf(stderr, "vanishing_gradients: unknown or incomplete option '%s'\n", argv[i]);
            return usage(stderr, 2);
        }
    }
    if (!example_out_dir("vanishing_gradients", out)) return 1;
    int64_t labels[256];
    if (!batch) batch = quick ? 64 : 256;
    static double norms[N_CONFIGS][DEPTH], layer_index[DEPTH];
    static char names[N_CONFIGS][32];
    svg_series series[N_CONFIGS];
    ag_tensor *x = load_batch(data, synthetic, (int64_t)batch, labels);
    ag_tape *t = ag_tape_new();
    if (!x || !t) {
        fprintf(stderr, "vanishing_gradients: %s\n", ag_last_error());
        goto done;
    }
    printf("net: %d Linear layers (%d -> %d x %d -> %d), one backward of the mean "
           "cross-entropy\n\n%-20s %10s %10s %10s %11s %8s\n", DEPTH, IN, WIDTH, DEPTH - 1,
           CLASSES, "configuration", "|dW| 1", "|dW| 10", "|dW| 20", "first/last", "loss");
    for (int k = 0; k < N_CONFIGS; k++) {
        double loss, *nk = norms[k];
        if (measure(&configs[k], t, x, labels, nk, &loss)) goto done;
        config_name(&configs[k], names[k], sizeof names[k]);
        printf("%-20s %10.2e %10.2e %10.2e %11.2e %8.3g\n", names[k], nk[0], nk[DEPTH / 2 - 1],
               nk[DEPTH - 1], nk[0] / nk[DEPTH - 1], loss);
        int style = configs[k].act * 3 + configs[k].init;  /* colour and marker */
        series[k] = (svg_series){names[k], layer_index, nk, DEPTH, NULL, configs[k].bn, 1,
                                 style + 1};
    }
    for (int i = 0; i < DEPTH; i++) layer_index[i] = i + 1;
    char path[1024];
    snprintf(path, sizeof path, "%s/grad_norms.svg", out);
    svg_plot pl = {"Weight gradient norm per layer at init (dashed: with BatchNorm)",
                   "layer (1 = input side)", "|dL/dW|", 1, 900, 600, 0.5, DEPTH + 0.5, 0, 0,
                   1, 0, NULL};
    if (svg_line_plot(path, &pl, series, N_CONFIGS) != 0) {
        fprintf(stderr, "vanishing_gradients: cannot write %s\n", path);
        goto done;
    }
    printf("\nwrote %s\n", path);
    rc = 0;
done:
    ag_tape_free(t);
    ag_tensor_free(x);
    return rc;
}
