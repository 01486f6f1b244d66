/*
** tabular.c: mini-batch training on data from files, a CSV and two .npy.
**
** Two small tasks, each written to a file first, as a user's data would be:
**   regression:     tabular.csv, a header and 600 rows of x1, x2, y, x3 with
**                   y = sin(2 x1) + x2^2 / 2 - x3 + noise (sd 0.05); the target
**                   is the third column. Loaded with ag_tensor_dataset_load_csv,
**                   split 500 / 100 at random, fitted by an MLP 3-32-1 (tanh).
**   classification: tabular_x.npy ([600, 2] float32) and tabular_y.npy ([600]
**                   int64 labels), three Gaussian blobs. Loaded with
**                   ag_tensor_dataset_load_npy, fitted by Linear(2, 3).
** Both train with Adam on shuffled batches of 32 from ag_batch_iter, an epoch
** at a time; the classifier's targets are the iterator's index tensors,
** passed straight to ag_cross_entropy_loss_t.
**
** Run:   build/examples/tabular [--quick] [--out DIR]
** Prints the training loss by epoch, then the held-out MSE against the MSE of
** predicting the mean, and the classifier's accuracy. The files are left in
** DIR (default: the current folder): numpy.load and pandas read them too.
*/
#include "ag.h"
#include "data_dir.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define N 600

/* The regression file: header, then x1, x2, y, x3 per line. */
static int write_csv(const char *path, ag_rng *rng)
{
    FILE *f = fopen(path, "w");
    if (!f) return fprintf(stderr, "tabular: cannot write %s\n", path), -1;
    fprintf(f, "x1,x2,y,x3\n");
    for (int i = 0; i < N; i++) {
        double x1 = 2 * ag_rng_uniform(rng) - 1, x2 = 2 * ag_rng_uniform(rng) - 1;
        double x3 = 2 * ag_rng_uniform(rng) - 1;
        double y = sin(2 * x1) + x2 * x2 / 2 - x3 + 0.05 * ag_rng_normal(rng);
        fprintf(f, "%.6f,%.6f,%.6f,%.6f\n", x1, x2, y, x3);
    }
    return fclose(f) ? (fprintf(stderr, "tabular: cannot write %s\n", path), -1) : 0;
}

/* A .npy file (format 1.0, little-endian as on x86) of shape (n,) or (n, d). */
static int write_npy(const char *path, const char *descr, int64_t n, int d, const void *data,
                     size_t bytes)
{
    char dict[128];
    int len = d ? snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': "
                           "(%lld, %d), }", descr, (long long)n, d)
                : snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': "
                           "(%lld,), }", descr, (long long)n);
    int hlen = (len + 1 + 10 + 63) / 64 * 64 - 10;             /* 64-byte aligned data */
    FILE *f = fopen(path, "wb");
    if (!f) return fprintf(stderr, "tabular: cannot write %s\n", path), -1;
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hlen & 255, f), fputc(hlen >> 8, f);
    fprintf(f, "%s%*s\n", dict, hlen - len - 1, "");
    fwrite(data, 1, bytes, f);
    return fclose(f) ? (fprintf(stderr, "tabular: cannot write %s\n", path), -1) : 0;
}

/* Three blobs of 200 points around (0, 1.5), (-1.3, -0.75), (1.3, -0.75). */
static int write_blobs(const char *xpath, const char *ypath, ag_rng *rng)
{
    static float x[N * 2];
    static int64_t y[N];
    for (int i = 0; i < N; i++) {
        y[i] = i % 3;
        double angle = 1.5707963 + 2.0943951 * (double)y[i];
        x[2 * i] = (float)(1.5 * cos(angle) + 0.5 * ag_rng_normal(rng));
        x[2 * i + 1] = (float)(1.5 * sin(angle) + 0.5 * ag_rng_normal(rng));
    }
    return write_npy(xpath, "<f4", N, 2, x, sizeof x) || write_npy(ypath, "<i8", N, 0, y, sizeof y);
}

/* One epoch of Adam steps over it; the mean of the batch losses in *mean.
   classify: cross-entropy on index targets, else MSE. */
static int train_epoch(ag_module *net, ag_optim *opt, ag_batch_iter *it, ag_tape *t,
                       int64_t epoch, int classify, double *mean)
{
    ag_tensor *x, *y;
    double sum = 0;
    int more;
    ag_batch_iter_reset(it, epoch);                             /* a new order */
    while ((more = ag_batch_iter_next(it, t, &x, &y)) == 1) {
        ag_tensor *out = ag_module_forward(net, t, x);
        ag_tensor *loss = classify ? ag_cross_entropy_loss_t(t, out, y, NULL, AG_REDUCTION_MEAN)
                                   : ag_mse_loss(t, out, y, AG_REDUCTION_MEAN);
        if (!loss || ag_backward(t, loss) != AG_OK) break;
        sum += ag_tensor_get(loss, 0);
        if (ag_optim_step(opt) != AG_OK) return fprintf(stderr, "tabular: %s\n", ag_last_error()), -1;
        ag_optim_zero_grad(opt);
        ag_tape_reset(t);
    }
    if (more != 0) return fprintf(stderr, "tabular: %s\n", ag_tape_errmsg(t)), -1;
    *mean = sum / (double)ag_batch_iter_num_batches(it);
    return 0;
}

/* Over ds in order: the MSE (regression) or the accuracy (classify). */
static double evaluate(ag_module *net, const ag_tensor_dataset *ds, ag_tape *t, int classify)
{
    ag_batch_iter_opts o = {0};
    o.batch_size = 100;
    ag_batch_iter *it = ag_batch_iter_new(ds, &o);
    ag_tensor *x, *y;
    double sum = 0;
    int was = ag_set_grad_enabled(t, 0);
    while (it && ag_batch_iter_next(it, t, &x, &y) == 1) {
        ag_tensor *out = ag_module_forward(net, t, x);
        for (int64_t r = 0; out && r < ag_tensor_dim(x, 0); r++) {
            if (!classify) {
                sum += pow(ag_tensor_get(out, r) - ag_tensor_get(y, r), 2);
                continue;
            }
            int best = 0;
            for (int c = 1; c < 3; c++)
                if (ag_tensor_get(out, 3 * r + c) > ag_tensor_get(out, 3 * r + best)) best = c;
            sum += best == ag_batch_iter_labels(it)[r];
        }
        ag_tape_reset(t);
    }
    ag_set_grad_enabled(t, was);
    ag_batch_iter_free(it);
    return sum / (double)ag_tensor_dataset_count(ds);
}

/* Trains net on train for `epochs` epochs, printing the loss now and then. */
static int fit(const char *name, ag_module *net, const ag_tensor_dataset *train, ag_tape *t,
               int epochs, int classify)
{
    ag_tensor *params[8];
    int np = ag_module_parameters(net, params, 8);
    ag_adam_opts ao = ag_adam_defaults();
    ao.lr = 0.01;
    ag_optim *opt = ag_adam_new(np, params, &ao);
    ag_batch_iter_opts o = {0};
    o.batch_size = 32, o.shuffle = 1, o.seed = 7;
    ag_batch_iter *it = opt ? ag_batch_iter_new(train, &o) : NULL;
    int rc = it ? 0 : (fprintf(stderr, "tabular: %s\n", ag_last_error()), -1);
    if (it) printf("%s: %lld samples, %lld batches of up to 32 an epoch\n", name,
                   (long long)ag_batch_iter_count(it), (long long)ag_batch_iter_num_batches(it));
    for (int e = 0; rc == 0 && e < epochs; e++) {
        double loss;
        rc = train_epoch(net, opt, it, t, e, classify, &loss);
        if (rc == 0 && (e % 5 == 0 || e == epochs - 1))
            printf("  epoch %2d  %s %.4f\n", e + 1, classify ? "cross-entropy" : "MSE", loss);
    }
    ag_batch_iter_free(it);
    ag_optim_free(opt);
    return rc;
}

int main(int argc, char **argv)
{
    int quick = 0, rc = 1;
    const char *dir = ".";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) quick = 1;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: tabular [--quick] [--out DIR]\n"
                   "  Trains on a generated CSV file and two .npy files, in mini-batches.\n"
                   "  --quick    fewer epochs (CI)\n"
                   "  --out DIR  where the data files go (default: .)\n");
            return 0;
        } else return fprintf(stderr, "tabular: unknown or incomplete option '%s' (see --help)\n",
                              argv[i]), 2;
    }
    if (!example_out_dir("tabular", dir)) return 1;
    char csv[512], xnpy[512], ynpy[512];
    snprintf(csv, sizeof csv, "%s/tabular.csv", dir);
    snprintf(xnpy, sizeof xnpy, "%s/tabular_x.npy", dir);
    snprintf(ynpy, sizeof ynpy, "%s/tabular_y.npy", dir);
    ag_rng *rng = ag_rng_new(3);
    ag_tape *t = ag_tape_new();
    ag_tensor_dataset *all = NULL, *train = NULL, *val = NULL, *blobs = NULL;
    ag_module *mlp = NULL, *linear = NULL;
    int64_t order[N];
    if (!rng || !t || write_csv(csv, rng) || write_blobs(xnpy, ynpy, rng)) goto done;
    ag_csv_opts co = {0};
    co.header = 1, co.ntargets = 1, co.targets = (const int[]){2};   /* y, the third column */
    ag_npy_opts no = {0};
    no.class_targets = 1;
    all = ag_tensor_dataset_load_csv(csv, &co);
    blobs = ag_tensor_dataset_load_npy(xnpy, ynpy, &no);
    if (all && ag_epoch_order(order, N, rng) == AG_OK) {           /* a random split */
        train = ag_tensor_dataset_subset(all, order, 500);
        val = ag_tensor_dataset_subset(all, order + 500, N - 500);
    }
    mlp = ag_sequential_new(3, (ag_module *[]){ag_linear_new(3, 32, 1, AG_F32, rng), ag_tanh_new(),
                                               ag_linear_new(32, 1, 1, AG_F32, rng)});
    linear = ag_linear_new(2, 3, 1, AG_F32, rng);
    if (!train || !val || !blobs || !mlp || !linear) {
        fprintf(stderr, "tabular: %s\n", ag_last_error());
        goto done;
    }
    printf("%s: %lld rows of %lld features, target column 3\n", csv,
           (long long)ag_tensor_dataset_count(all), (long long)ag_tensor_dataset_features(all));
    printf("%s, %s: %lld samples, %lld classes\n\n", xnpy, ynpy,
           (long long)ag_tensor_dataset_count(blobs), (long long)ag_tensor_dataset_num_classes(blobs));
    if (fit("regression (MLP 3-32-1)", mlp, train, t, quick ? 15 : 40, 0)) goto done;
    double ymean = 0, base = 0;
    for (int64_t i = 0; i < 500; i++) ymean += ag_tensor_dataset_target(train, i, 0) / 500;
    for (int64_t i = 0; i < N - 500; i++) base += pow(ag_tensor_dataset_target(val, i, 0) - ymean, 2);
    printf("held-out MSE %.4f (predicting the mean: %.4f)\n\n", evaluate(mlp, val, t, 0),
           base / (N - 500));
    if (fit("classification (Linear 2-3)", linear, blobs, t, quick ? 5 : 10, 1)) goto done;
    printf("accuracy on the 600 points %.1f%%\n", 100 * evaluate(linear, blobs, t, 1));
    rc = 0;
done:
    ag_module_free(mlp), ag_module_free(linear);
    ag_tensor_dataset_free(all), ag_tensor_dataset_free(train), ag_tensor_dataset_free(val);
    ag_tensor_dataset_free(blobs);
    ag_tape_free(t);
    ag_rng_free(rng);
    return rc;
}
