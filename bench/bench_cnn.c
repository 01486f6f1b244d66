/*
** bench_cnn.c: one epoch of training the main job's CNN on Fashion-MNIST's
** 60,000 training images: per block a 3x3 convolution (padding 1), 2x2
** max-pooling, BatchNorm2d and ReLU, with 32 then 64 channels; then
** Dropout(0.3), Linear 3136-256, ReLU, Dropout(0.3), Linear 256-10.
** Shuffled mini-batches of 128, normalized from bytes per batch,
** cross-entropy, Adam (lr 2e-3). Twin: bench_cnn.py.
**
**   bench_cnn [--threads N] [--data DIR]
**
** DIR holds train-images-idx3-ubyte and train-labels-idx1-ubyte (real or
** synthetic). The time covers the epoch only, not loading the files.
** Prints:
**   cnn_epoch dtype=f32 threads=1 seconds=S maxrss_mb=M loss=L samples=N
** maxrss_mb is the process's peak resident memory (getrusage) at the end,
** loading the data (47 MB of bytes) included.
*/
#include "bench_util.h"

#define BATCH 128
#define MAXP 16

/* The main job's CNN (examples/train_fmnist.c, --model cnn). */
static ag_module *cnn_new(ag_rng *r)
{
    ag_conv_opts pad1 = {.padding = {1, 1}};
    return ag_sequential_new(15, (ag_module *[]){
        ag_unflatten_new(1, 3, (int64_t[]){1, 28, 28}),
        ag_conv2d_new(1, 32, (int64_t[]){3, 3}, &pad1, 1, AG_F32, r), ag_maxpool2d_new(2, 2, NULL),
        ag_batchnorm2d_new(32, 1e-5, 0.1, 1, AG_F32), ag_relu_new(),
        ag_conv2d_new(32, 64, (int64_t[]){3, 3}, &pad1, 1, AG_F32, r), ag_maxpool2d_new(2, 2, NULL),
        ag_batchnorm2d_new(64, 1e-5, 0.1, 1, AG_F32), ag_relu_new(),
        ag_flatten_new(1, -1), ag_dropout_new(0.3, r), ag_linear_new(3136, 256, 1, AG_F32, r),
        ag_relu_new(), ag_dropout_new(0.3, r), ag_linear_new(256, 10, 1, AG_F32, r)});
}

/* One epoch over ds; returns the mean loss, or -1 on error (printed). */
static double epoch(ag_module *net, ag_optim *opt, const ag_dataset *ds, int64_t *order,
                    ag_rng *rng)
{
    ag_tape *t = ag_tape_new();
    int64_t n = ag_dataset_count(ds), labels[BATCH];
    double sum = 0;
    if (!t) return fprintf(stderr, "bench_cnn: out of memory\n"), -1;
    ag_epoch_order(order, n, rng);
    for (int64_t start = 0; start < n; start += BATCH) {
        ag_tape_reset(t);
        ag_tensor *x = ag_dataset_batch(t, ds, order, start, BATCH, AG_F32, labels);
        ag_tensor *loss = ag_cross_entropy_loss(t, ag_module_forward(net, t, x), labels,
                                                AG_REDUCTION_MEAN);
        if (!loss || ag_backward(t, loss) != AG_OK) {
            fprintf(stderr, "bench_cnn: %s\n", ag_tape_errmsg(t));
            return ag_tape_free(t), -1;
        }
        if (ag_optim_step(opt) != AG_OK) {
            fprintf(stderr, "bench_cnn: %s\n", ag_last_error());
            return ag_tape_free(t), -1;
        }
        ag_optim_clear_grad(opt);
        sum += ag_tensor_get(loss, 0) * (double)ag_tensor_dim(x, 0);
    }
    ag_tape_free(t);
    return sum / (double)n;
}

int main(int argc, char **argv)
{
    bu_args a;
    if (bu_parse(argc, argv, &a)) return 2;
    if (a.dtype != AG_F32) return fprintf(stderr, "bench_cnn: f32 only\n"), 2;
    char img[1024], lbl[1024];
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte", a.data);
    snprintf(lbl, sizeof lbl, "%s/train-labels-idx1-ubyte", a.data);
    ag_dataset *ds = ag_dataset_load_idx(img, lbl);
    if (!ds) return fprintf(stderr, "bench_cnn: %s\n", ag_last_error()), 1;
    ag_dataset_set_normalize(ds, 0.2860, 0.3530);
    ag_rng *rng = ag_rng_new(2);
    ag_module *net = rng ? cnn_new(rng) : NULL;
    ag_tensor *params[MAXP];
    int np = net ? ag_module_parameters(net, params, MAXP) : 0;
    ag_adam_opts o = ag_adam_defaults();
    o.lr = 2e-3;
    ag_optim *opt = net ? ag_adam_new(np, params, &o) : NULL;
    int64_t n = ag_dataset_count(ds), *order = malloc((size_t)n * sizeof *order);
    int rc = 1;
    if (!opt || !order) {
        fprintf(stderr, "bench_cnn: setting up: %s\n", ag_last_error());
    } else {
        double t0 = bu_now(), loss = epoch(net, opt, ds, order, rng);
        double seconds = bu_now() - t0;
        if (loss >= 0) {
            printf("cnn_epoch dtype=f32 threads=%d seconds=%.4f maxrss_mb=%.1f loss=%.4f "
                   "samples=%lld\n", a.threads, seconds, bu_maxrss_mb(), loss, (long long)n);
            rc = 0;
        }
    }
    free(order);
    ag_optim_free(opt);
    ag_module_free(net);
    ag_rng_free(rng);
    ag_dataset_free(ds);
    return rc;
}
