/*
** bench_batch.c: batch assembly, the byte-to-float conversion of issue
** 13. One shuffled epoch of Fashion-MNIST's 60,000 training images in
** batches of --batch (default 64), each made by ag_dataset_batch: the
** rows gathered in the epoch's order and normalized from bytes ((v / 255
** - mean) / std through a 256-entry table, ag_vlookup_u8_f32), with their
** labels; nothing else. The median of 7 epochs (a fresh order each), one
** thread unless --threads. Twin: bench_batch.py.
**
**   bench_batch [--dtype f32|f64] [--threads N] [--data DIR] [--batch N]
**   prints: batch_epoch dtype=f32 threads=1 ms=M batch=B samples=N checksum=C
*/
#include "bench_util.h"

#define EPOCHS 7

/* One epoch's assembly; the sum of one element per batch into *sum. */
static int epoch(const ag_dataset *ds, ag_tape *t, ag_dtype dt, int64_t *order, ag_rng *rng,
                 int64_t batch, int64_t *labels, double *sum)
{
    const int64_t n = ag_dataset_count(ds);
    ag_epoch_order(order, n, rng);
    for (int64_t start = 0; start < n; start += batch) {
        ag_tape_reset(t);
        ag_tensor *x = ag_dataset_batch(t, ds, order, start, batch, dt, labels);
        if (!x) return fprintf(stderr, "bench_batch: %s\n", ag_tape_errmsg(t)), 1;
        *sum += ag_tensor_get(x, start % 784) + (double)labels[0];
    }
    return 0;
}

int main(int argc, char **argv)
{
    bu_args a;
    if (bu_parse(argc, argv, &a)) return 2;
    char img[1024], lbl[1024];
    snprintf(img, sizeof img, "%s/train-images-idx3-ubyte", a.data);
    snprintf(lbl, sizeof lbl, "%s/train-labels-idx1-ubyte", a.data);
    ag_dataset *ds = ag_dataset_load_idx(img, lbl);
    if (!ds) return fprintf(stderr, "bench_batch: %s\n", ag_last_error()), 1;
    ag_dataset_set_normalize(ds, 0.2860, 0.3530);
    const int64_t n = ag_dataset_count(ds);
    int64_t *order = malloc((size_t)n * sizeof *order);
    int64_t *labels = malloc((size_t)a.batch * sizeof *labels);
    ag_rng *rng = ag_rng_new(2);
    ag_tape *t = ag_tape_new();
    double ms[EPOCHS], sum = 0;
    int rc = !order || !labels || !rng || !t;
    if (rc) fprintf(stderr, "bench_batch: out of memory\n");
    for (int e = 0; e <= EPOCHS && !rc; e++) {      /* epoch 0 warms up */
        double t0 = bu_now();
        rc = epoch(ds, t, a.dtype, order, rng, a.batch, labels, &sum);
        if (e > 0) ms[e - 1] = (bu_now() - t0) * 1e3;
    }
    if (!rc)
        printf("batch_epoch dtype=%s threads=%d ms=%.3f batch=%d samples=%lld checksum=%.6g\n",
               bu_dtype_name(a.dtype), a.threads, bu_median(ms, EPOCHS), a.batch, (long long)n,
               sum);
    ag_tape_free(t);
    ag_rng_free(rng);
    free(order), free(labels);
    ag_dataset_free(ds);
    return rc;
}
