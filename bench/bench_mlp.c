/*
** bench_mlp.c: one epoch of training the MLP of bench_util.h on
** Fashion-MNIST's 60,000 training images: shuffled mini-batches of 64
** (the last one 32), normalized from bytes per batch, cross-entropy, Adam
** (PyTorch's defaults, lr 1e-3). --hidden H1,H2 and --batch N change the
** hidden widths (default 256,128) and the batch (the last one holds what
** is left); issue 13's wide MLP is --hidden 1024,1024 --batch 256.
** Twin: bench_mlp.py.
**
**   bench_mlp [--dtype f32|f64] [--threads N] [--data DIR] [--hidden H1,H2]
**             [--batch N]
**
** DIR holds train-images-idx3-ubyte and train-labels-idx1-ubyte (real or
** synthetic: run.sh makes synthetic ones when the data is absent). The
** time covers the epoch only, not loading the files. Prints:
**   mlp_epoch dtype=f32 threads=1 seconds=S maxrss_mb=M loss=L samples=N
**             h1=H1 h2=H2 batch=B
** maxrss_mb is the process's peak resident memory (getrusage) at the end,
** loading the data included.
*/
#include "bench_util.h"

/* One epoch over ds in batches of `batch` (labels holds that many);
   returns the mean loss, or -1 on error (printed). */
static double epoch(ag_module *net, ag_optim *opt, const ag_dataset *ds, ag_dtype dt,
                    int64_t *order, ag_rng *rng, int64_t batch, int64_t *labels)
{
    ag_tape *t = ag_tape_new();
    int64_t n = ag_dataset_count(ds);
    double sum = 0;
    if (!t) return fprintf(stderr, "bench_mlp: out of memory\n"), -1;
    ag_epoch_order(order, n, rng);
    for (int64_t start = 0; start < n; start += batch) {
        ag_tape_reset(t);
        ag_tensor *x = ag_dataset_batch(t, ds, order, start, batch, dt, labels);
        ag_tensor *loss = ag_cross_entropy_loss(t, ag_module_forward(net, t, x), labels,
                                                AG_REDUCTION_MEAN);
        if (!loss || ag_backward(t, loss) != AG_OK) {
            fprintf(stderr, "bench_mlp: %s\n", ag_tape_errmsg(t));
            return ag_tape_free(t), -1;
        }
        if (ag_optim_step(opt) != AG_OK) {
            fprintf(stderr, "bench_mlp: %s\n", ag_last_error());
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
    char img[1024], lbl[1024];
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte", a.data);
    snprintf(lbl, sizeof lbl, "%s/train-labels-idx1-ubyte", a.data);
    ag_dataset *ds = ag_dataset_load_idx(img, lbl);
    if (!ds) return fprintf(stderr, "bench_mlp: %s\n", ag_last_error()), 1;
    ag_dataset_set_normalize(ds, 0.2860, 0.3530);
    ag_tensor *params[BU_NPARAMS];
    ag_module *net = bu_mlp_new_sized(a.dtype, "relu", a.h1, a.h2, params);
    ag_optim *opt = net ? ag_adam_new(BU_NPARAMS, params, NULL) : NULL;
    ag_rng *rng = ag_rng_new(2);
    int64_t n = ag_dataset_count(ds), *order = malloc((size_t)n * sizeof *order);
    int64_t *labels = malloc((size_t)a.batch * sizeof *labels);
    int rc = 1;
    if (!opt || !rng || !order || !labels) {
        fprintf(stderr, "bench_mlp: setting up: %s\n", ag_last_error());
    } else {
        double t0 = bu_now(), loss = epoch(net, opt, ds, a.dtype, order, rng, a.batch, labels);
        double seconds = bu_now() - t0;
        if (loss >= 0) {
            printf("mlp_epoch dtype=%s threads=%d seconds=%.4f maxrss_mb=%.1f loss=%.4f "
                   "samples=%lld h1=%d h2=%d batch=%d\n", bu_dtype_name(a.dtype), a.threads,
                   seconds, bu_maxrss_mb(), loss, (long long)n, a.h1, a.h2, a.batch);
            rc = 0;
        }
    }
    free(labels);
    free(order);
    ag_rng_free(rng);
    ag_optim_free(opt);
    ag_module_free(net);
    ag_dataset_free(ds);
    return rc;
}
