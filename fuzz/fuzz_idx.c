/*
** fuzz_idx.c: the IDX loader and the dataset built on it, fed arbitrary
** files. Input layout (make_seeds.c writes seeds in it):
**     byte 0      number of classes: 0 -> ag_dataset_load_idx (10),
**                 254 -> 0 and 255 -> 257 (both invalid), else the value
**     bytes 1-2   L, little-endian: the image file is the next L bytes
**                 (fewer when the input is shorter), the label file the rest
**     bytes 3-7   choices for the calls below (split point, batch size,
**                 start, normalization, subset indices)
** Each run: ag_idx_load on both files (checking what it returns), then
** ag_dataset_load_idx_classes, and on success every accessor, class counts,
** pixel statistics, normalization, a split, a subset, an epoch order and
** batches (on a tape, persistent, and into a tensor), each value checked
** against the byte it came from.
*/
#include "fuzz_util.h"

#include <math.h>

#define CTRL 8

static void clear_error(void) { ag_set_last_error(AG_OK, "%s", ""); }

static void check_failed(ag_status s, const char *fn)
{
    if (s == AG_OK) return;
    FZ_CHECK(strncmp(ag_last_error(), fn, strlen(fn)) == 0,
             "%s failed with %s, message '%s'", fn, ag_status_name(s), ag_last_error());
}

/* ag_idx_load of path, and what it promises on success and failure. */
static void load_idx(const char *path, int64_t file_size)
{
    ag_idx idx;
    clear_error();
    ag_status s = ag_idx_load(path, &idx);
    check_failed(s, "ag_idx_load");
    if (s != AG_OK) {
        FZ_CHECK(idx.data == NULL && idx.ndim == 0 && idx.size == 0, "failed load owns data");
        return;
    }
    FZ_CHECK(idx.ndim >= 1 && idx.ndim <= AG_IDX_MAX_DIMS, "ndim %d", idx.ndim);
    int64_t size = 1;
    for (int i = 0; i < idx.ndim; i++) {
        FZ_CHECK(idx.dims[i] >= 0 && idx.dims[i] <= UINT32_MAX, "dim %lld",
                 (long long)idx.dims[i]);
        if (idx.dims[i] == 0) size = 0;
    }
    if (size) {
        for (int i = 0; i < idx.ndim; i++) size *= idx.dims[i];   /* <= file size here */
    }
    FZ_CHECK(size == idx.size && size == file_size - 4 - 4 * idx.ndim,
             "size %lld, dims product %lld, file %lld", (long long)idx.size, (long long)size,
             (long long)file_size);
    unsigned sum = 0;
    for (int64_t i = 0; i < idx.size; i++) sum += idx.data[i];   /* every byte readable */
    (void)sum;
    ag_idx_free(&idx);
    ag_idx_free(&idx);                                    /* a zeroed struct: no-op */
}

/* A batch's values against the bytes they came from. */
static void check_batch(const ag_dataset *ds, ag_tensor *x, const int64_t *order,
                        int64_t start, int64_t rows, const int64_t *labels)
{
    int64_t f = ag_dataset_features(ds);
    double mean, std;
    ag_dataset_get_normalize(ds, &mean, &std);
    FZ_CHECK(ag_tensor_ndim(x) == 2 && ag_tensor_dim(x, 1) == f, "batch shape");
    for (int64_t r = 0; r < rows; r++) {
        int64_t i = order ? order[start + r] : start + r;
        const uint8_t *sample = ag_dataset_sample(ds, i);
        FZ_CHECK(sample != NULL, "sample %lld", (long long)i);
        FZ_CHECK(!labels || labels[r] == ag_dataset_label(ds, i), "label of row %lld",
                 (long long)r);
        for (int64_t k = 0; k < f; k++) {
            double want = (sample[k] / 255.0 - mean) / std, got = ag_tensor_get(x, r * f + k);
            if (ag_tensor_dtype(x) == AG_F32) want = (float)want;
            FZ_CHECK(got == want || (isnan(got) && isnan(want)),
                     "row %lld, feature %lld: %.17g, expected %.17g", (long long)r,
                     (long long)k, got, want);
        }
    }
}

/* Batches from ds in the order order[0..n) (or none), starting at start. */
static void batches(const ag_dataset *ds, const int64_t *order, int64_t start, int64_t bs)
{
    int64_t n = ag_dataset_count(ds), labels[64];
    ag_tape *t = ag_tape_new();
    if (!t) abort();
    for (int dt = 0; dt < 2; dt++) {
        clear_error();
        ag_tensor *x = ag_dataset_batch(t, ds, order, start, bs, (ag_dtype)dt, labels);
        FZ_CHECK(x || ag_tape_status(t) != AG_OK, "batch NULL with no error on the tape");
        int64_t rows = start < n && bs > 0 ? (n - start < bs ? n - start : bs) : 0;
        if (x) check_batch(ds, x, order, start, rows, labels);
        ag_tape_reset(t);
        ag_tensor *p = ag_dataset_batch(NULL, ds, order, start, bs, (ag_dtype)dt, NULL);
        check_failed(p ? AG_OK : AG_ERR_ARG, "ag_dataset_batch");
        if (p) check_batch(ds, p, order, start, rows, NULL);
        ag_tensor_free(p);
    }
    int64_t rows = bs > 0 ? bs : 1, f = ag_dataset_features(ds);
    /* (a file of 0 samples may claim any sample shape: no huge buffers) */
    ag_tensor *dst = f <= (1 << 16) ? ag_zeros(NULL, AG_F64, 2, (int64_t[]){rows, f}) : NULL;
    if (dst) {
        clear_error();
        int64_t got = ag_dataset_batch_into(dst, ds, order, start, labels);
        check_failed(got >= 0 ? AG_OK : AG_ERR_ARG, "ag_dataset_batch_into");
        if (got >= 0) check_batch(ds, dst, order, start, got, labels);
        ag_tensor_free(dst);
    }
    ag_tape_free(t);
}

/* Accessors, counts and statistics of ds. */
static void inspect(const ag_dataset *ds)
{
    int64_t n = ag_dataset_count(ds), shape[3], counts[256] = {0}, total = 0;
    int nc = ag_dataset_num_classes(ds), nd = ag_dataset_sample_shape(ds, shape);
    int64_t features = 1;
    for (int i = 0; i < nd; i++) features *= shape[i];
    FZ_CHECK(nd >= 0 && nd <= 3 && features == ag_dataset_features(ds), "sample shape");
    FZ_CHECK(ag_dataset_label(ds, -1) == -1 && ag_dataset_label(ds, n) == -1, "label range");
    FZ_CHECK(!ag_dataset_sample(ds, n) && !ag_dataset_sample(ds, -1), "sample range");
    FZ_CHECK(ag_dataset_class_counts(ds, counts) == AG_OK, "class counts");
    for (int c = 0; c < nc; c++) total += counts[c];
    FZ_CHECK(total == n, "class counts add to %lld, not %lld", (long long)total, (long long)n);
    for (int64_t i = 0; i < n && i < 4096; i++) {
        int label = ag_dataset_label(ds, i);
        FZ_CHECK(label >= 0 && label < nc, "label %d of %d classes", label, nc);
    }
    double mean, std;
    FZ_CHECK(ag_dataset_pixel_stats(ds, &mean, &std) == AG_OK, "pixel stats");
    FZ_CHECK(mean >= 0 && mean <= 1 && std >= 0 && std <= 1, "stats %g %g", mean, std);
}

static void exercise(ag_dataset *ds, const uint8_t *ctrl)
{
    inspect(ds);
    int64_t n = ag_dataset_count(ds);
    static const double stds[4] = {1.0, 0.25, 0.0, -1.0}, means[4] = {0.0, 0.5, 1e300, NAN};
    ag_status s = ag_dataset_set_normalize(ds, means[ctrl[6] & 3], stds[ctrl[6] >> 2 & 3]);
    check_failed(s, "ag_dataset_set_normalize");
    ag_dataset *a = NULL, *b = NULL;
    int64_t k = (int64_t)ctrl[3] - 8;                         /* may be < 0 or > n */
    clear_error();
    s = ag_dataset_split(ds, k, &a, &b);
    check_failed(s, "ag_dataset_split");
    FZ_CHECK(s != AG_OK || ag_dataset_count(a) + ag_dataset_count(b) == n, "split counts");
    int64_t order[64], idx[8];
    int64_t m = n < 64 ? n : 64;
    ag_rng *rng = ag_rng_new(ctrl[7]);
    FZ_CHECK(ag_epoch_order(order, m, rng) == AG_OK, "epoch order");
    for (int i = 0; i < 8; i++) idx[i] = (int64_t)(ctrl[7] * (i + 1)) % (n + 2) - 1;  /* -1..n */
    clear_error();
    ag_dataset *sub = ag_dataset_subset(ds, idx, ctrl[7] & 7);
    check_failed(sub ? AG_OK : AG_ERR_ARG, "ag_dataset_subset");
    int64_t bs = (int64_t)(ctrl[4] % 66) - 1, start = (int64_t)(ctrl[5] % 70) - 2;
    batches(ds, NULL, start, bs);
    if (m == n) batches(ds, order, start, bs);
    if (a) batches(a, NULL, start, bs);
    if (sub) inspect(sub), batches(sub, NULL, 0, 8);
    ag_dataset_free(ds);        /* views outlive their parent */
    if (b) inspect(b), batches(b, NULL, start, bs);
    ag_dataset_free(a), ag_dataset_free(b), ag_dataset_free(sub);
    ag_rng_free(rng);
}

/*
** Known bug (fuzz/crashes/idx-dataset-features-overflow): an image file
** with 0 items whose sample dims multiply past INT64_MAX (possible: the
** file then has no data bytes) makes dataset_adopt (nn/dataset.c)
** overflow int64 computing the sample size. 1 for such a file.
*/
static int features_overflow(const uint8_t *img, size_t n)
{
    if (n < 8 || img[0] || img[1] || img[2] != 8 || img[3] < 2 || img[3] > 4 ||
        n < 4 + 4 * (size_t)img[3])
        return 0;
    uint64_t dims[4];
    for (int i = 0; i < img[3]; i++)
        dims[i] = (uint64_t)img[4 + 4 * i] << 24 | img[5 + 4 * i] << 16 | img[6 + 4 * i] << 8 |
                  img[7 + 4 * i];
    if (dims[0] != 0) return 0;
    uint64_t f = 1;
    for (int i = 1; i < img[3]; i++) {
        if (dims[i] == 0) return 0;
        if (f > INT64_MAX / dims[i]) return 1;
        f *= dims[i];
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t ctrl[CTRL] = {0};
    memcpy(ctrl, data, size < CTRL ? size : CTRL);
    size_t rest = size > CTRL ? size - CTRL : 0, li = (size_t)(ctrl[1] | ctrl[2] << 8);
    if (li > rest) li = rest;
    const char *img = fz_write_file("images.idx", data + CTRL, li);
    const char *lbl = fz_write_file("labels.idx", data + CTRL + li, rest - li);
    load_idx(img, (int64_t)li);
    load_idx(lbl, (int64_t)(rest - li));
    if (fz_avoid_known_bugs() && features_overflow(data + CTRL, li)) return 0;
    int nc = ctrl[0] == 254 ? 0 : ctrl[0] == 255 ? 257 : ctrl[0];
    clear_error();
    ag_dataset *ds = nc ? ag_dataset_load_idx_classes(img, lbl, nc)
                        : ag_dataset_load_idx(img, lbl);
    check_failed(ds ? AG_OK : AG_ERR_FORMAT, "ag_dataset_load_idx");
    if (ds) exercise(ds, ctrl);
    return 0;
}
