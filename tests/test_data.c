/*
** test_data.c: the data utilities. IDX files written byte by byte here
** (never the real Fashion-MNIST files: the suite must run without them)
** and read back exactly; refusal of truncated, corrupt, mismatched and
** missing files with their messages; dataset accessors, splits and
** subsets; epoch orders (permutations, reproducible, uniform); batches
** against byte / 255 and the labels; the spirals' geometry and balance.
*/
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ helpers --- */

#define TWO_PI 6.283185307179586

static char tmpdir[64];

/* A fresh temporary folder for one test (removed by rm_tmpdir). */
static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ag_test_data_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static const char *tmp_path(const char *name, char buf[128])
{
    snprintf(buf, 128, "%s/%s", tmpdir, name);
    return buf;
}

static void rm_tmpdir(const char *const *names, int n)
{
    char buf[128];
    for (int i = 0; i < n; i++) unlink(tmp_path(names[i], buf));
    ck_assert_int_eq(rmdir(tmpdir), 0);
}

static void write_bytes(const char *path, const uint8_t *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
}

/* An IDX file image in buf: magic (0, 0, type, ndim), big-endian dims,
   then ndata bytes of data. Returns its length. */
static size_t idx_image(uint8_t *buf, uint8_t type, int ndim, const uint32_t *dims,
                        const uint8_t *data, size_t ndata)
{
    size_t at = 0;
    buf[at++] = 0, buf[at++] = 0, buf[at++] = type, buf[at++] = (uint8_t)ndim;
    for (int i = 0; i < ndim; i++) {
        buf[at++] = (uint8_t)(dims[i] >> 24), buf[at++] = (uint8_t)(dims[i] >> 16);
        buf[at++] = (uint8_t)(dims[i] >> 8), buf[at++] = (uint8_t)dims[i];
    }
    memcpy(buf + at, data, ndata);
    return at + ndata;
}

/* Writes an unsigned-byte IDX file of shape dims with the given data. */
static void write_idx(const char *path, int ndim, const uint32_t *dims, const uint8_t *data,
                      size_t ndata)
{
    uint8_t buf[4096];
    write_bytes(path, buf, idx_image(buf, 0x08, ndim, dims, data, ndata));
}

/* Asserts the last error has status s (returned as got) and both parts. */
#define assert_last_error(got, s, part1, part2)                               \
    do {                                                                      \
        ck_assert_msg((got) == (s), "status %s, expected %s: %s",             \
                      ag_status_name(got), ag_status_name(s), ag_last_error()); \
        ck_assert_msg(strstr(ag_last_error(), (part1)) != NULL,               \
                      "message '%s' lacks '%s'", ag_last_error(), (part1));   \
        ck_assert_msg(strstr(ag_last_error(), (part2)) != NULL,               \
                      "message '%s' lacks '%s'", ag_last_error(), (part2));   \
    } while (0)

/* 5 images of 2x3 with pixel (i, r, c) = 40 i + 3 r + c + 7, labels
   {3, 0, 9, 1, 4}: the small dataset most tests use. */
static uint8_t img5[30];
static const uint8_t lbl5[5] = {3, 0, 9, 1, 4};

static void fill_img5(void)
{
    for (int i = 0; i < 5; i++)
        for (int p = 0; p < 6; p++) img5[i * 6 + p] = (uint8_t)(40 * i + 3 * (p / 3) + p % 3 + 7);
}

static ag_dataset *small_dataset(void)
{
    fill_img5();
    ag_dataset *ds = ag_dataset_from_bytes(5, 2, SHAPE(2, 3), img5, lbl5, 10);
    ck_assert_msg(ds != NULL, "%s", ag_last_error());
    return ds;
}

/* ---------------------------------------------------------------- IDX --- */

START_TEST(test_idx_reads_images_and_labels_exactly)
{
    make_tmpdir();
    char p1[128], p2[128];
    uint8_t data[3 * 2 * 4], labels[3] = {7, 0, 255};
    for (int i = 0; i < 24; i++) data[i] = (uint8_t)(i * 11 + 1);
    write_idx(tmp_path("img", p1), 3, (const uint32_t[]){3, 2, 4}, data, 24);
    write_idx(tmp_path("lbl", p2), 1, (const uint32_t[]){3}, labels, 3);
    ag_idx a, b;
    ck_assert_int_eq(ag_idx_load(p1, &a), AG_OK);
    ck_assert_int_eq(a.ndim, 3);
    ck_assert_int_eq(a.dims[0], 3); ck_assert_int_eq(a.dims[1], 2);
    ck_assert_int_eq(a.dims[2], 4); ck_assert_int_eq(a.dims[3], 0);
    ck_assert_int_eq(a.size, 24);
    ck_assert_mem_eq(a.data, data, 24);
    ck_assert_int_eq(ag_idx_load(p2, &b), AG_OK);
    ck_assert_int_eq(b.ndim, 1); ck_assert_int_eq(b.dims[0], 3); ck_assert_int_eq(b.size, 3);
    ck_assert_mem_eq(b.data, labels, 3);
    ag_idx_free(&a), ag_idx_free(&b);
    ck_assert_ptr_null(a.data); ck_assert_int_eq(a.size, 0);
    ag_idx_free(&a), ag_idx_free(NULL);                    /* no-ops */
    /* a 4-D file and an empty one (a zero dimension) */
    write_idx(p1, 4, (const uint32_t[]){2, 1, 2, 2}, data, 8);
    ck_assert_int_eq(ag_idx_load(p1, &a), AG_OK);
    ck_assert_int_eq(a.ndim, 4); ck_assert_int_eq(a.size, 8);
    ck_assert_mem_eq(a.data, data, 8);
    ag_idx_free(&a);
    write_idx(p1, 3, (const uint32_t[]){0, 28, 28}, data, 0);
    ck_assert_int_eq(ag_idx_load(p1, &a), AG_OK);
    ck_assert_int_eq(a.size, 0); ck_assert_int_eq(a.dims[1], 28);
    ag_idx_free(&a);
    rm_tmpdir((const char *[]){"img", "lbl"}, 2);
}
END_TEST

START_TEST(test_idx_refuses_truncated_files)
{
    make_tmpdir();
    char path[128];
    uint8_t file[64], data[2 * 3 * 4];
    for (int i = 0; i < 24; i++) data[i] = (uint8_t)i;
    size_t len = idx_image(file, 0x08, 3, (const uint32_t[]){2, 3, 4}, data, 24);
    ck_assert_uint_eq(len, 16 + 24);
    tmp_path("cut", path);
    /* in the magic, in the dims, header only, in the data, one byte short */
    const size_t cuts[] = {0, 3, 4, 9, 15, 16, 17, 30, 39};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        write_bytes(path, file, cuts[c]);
        ag_idx a;
        a.data = (uint8_t *)1;                  /* must be zeroed on failure */
        ag_status s = ag_idx_load(path, &a);
        ck_assert_msg(s == AG_ERR_FORMAT, "cut at %zu: %s", cuts[c], ag_last_error());
        ck_assert_ptr_null(a.data);
        ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_idx_load: '"));
        ck_assert_ptr_nonnull(strstr(ag_last_error(), path));
        ck_assert_msg(strstr(ag_last_error(), cuts[c] < 16 ? "truncated header" : "truncated: "),
                      "cut at %zu: %s", cuts[c], ag_last_error());
        char has[64];
        snprintf(has, sizeof has, "the file has %zu bytes", cuts[c]);
        ck_assert_msg(strstr(ag_last_error(), has), "cut at %zu: %s", cuts[c], ag_last_error());
    }
    write_bytes(path, file, 30);
    ag_idx a;
    ag_status s = ag_idx_load(path, &a);
    assert_last_error(s, AG_ERR_FORMAT, "the header says [2,3,4]",
                      "(24 data bytes after 16 header bytes), the file has 30 bytes");
    rm_tmpdir((const char *[]){"cut"}, 1);
}
END_TEST

START_TEST(test_idx_refuses_trailing_bytes)
{
    make_tmpdir();
    char path[128];
    uint8_t data[7] = {1, 2, 3, 4, 5, 6, 7};
    write_idx(tmp_path("long", path), 1, (const uint32_t[]){4}, data, 7);
    ag_idx a;
    ag_status s = ag_idx_load(path, &a);
    assert_last_error(s, AG_ERR_FORMAT, path, "3 trailing bytes after the data");
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "[4] (4 data bytes after 8 header bytes)"));
    ck_assert_ptr_null(a.data);
    write_idx(path, 1, (const uint32_t[]){6}, data, 7);       /* one byte over */
    s = ag_idx_load(path, &a);
    assert_last_error(s, AG_ERR_FORMAT, "ag_idx_load", "1 trailing bytes");
    rm_tmpdir((const char *[]){"long"}, 1);
}
END_TEST

START_TEST(test_idx_refuses_bad_magic_type_and_dims)
{
    make_tmpdir();
    char path[128];
    uint8_t file[64], data[4] = {1, 2, 3, 4};
    size_t len = idx_image(file, 0x08, 1, (const uint32_t[]){4}, data, 4);
    tmp_path("bad", path);
    ag_idx a;
    file[0] = 0x12;
    write_bytes(path, file, len);
    assert_last_error(ag_idx_load(path, &a), AG_ERR_FORMAT, path, "bad magic number 0x12000801");
    file[0] = 0, file[1] = 0x03;
    write_bytes(path, file, len);
    assert_last_error(ag_idx_load(path, &a), AG_ERR_FORMAT, "ag_idx_load", "magic number 0x00030801");
    file[0] = 0x1f, file[1] = 0x8b;             /* the .gz as published */
    write_bytes(path, file, len);
    assert_last_error(ag_idx_load(path, &a), AG_ERR_FORMAT, path, "a gzip file, not an IDX file");
    file[0] = 0, file[1] = 0;
    file[2] = 0x0d;                             /* float data */
    write_bytes(path, file, len);
    assert_last_error(ag_idx_load(path, &a), AG_ERR_FORMAT, path, "data type 0x0d is not supported");
    file[2] = 0x09;                             /* signed byte */
    write_bytes(path, file, len);
    assert_last_error(ag_idx_load(path, &a), AG_ERR_FORMAT, "ag_idx_load", "data type 0x09");
    file[2] = 0x08, file[3] = 0;                /* no dimensions */
    write_bytes(path, file, len);
    assert_last_error(ag_idx_load(path, &a), AG_ERR_FORMAT, path, "0 dimensions (1 to 4 supported)");
    file[3] = 5;
    write_bytes(path, file, len);
    assert_last_error(ag_idx_load(path, &a), AG_ERR_FORMAT, path, "5 dimensions");
    /* a header promising 2^128 bytes: refused before asking for memory */
    len = idx_image(file, 0x08, 4, (const uint32_t[]){0xffffffffu, 0xffffffffu, 0xffffffffu,
                                                      0xffffffffu}, data, 4);
    write_bytes(path, file, len);
    assert_last_error(ag_idx_load(path, &a), AG_ERR_FORMAT, path, "more data bytes than any file");
    /* 2^32-1 x 2 claims 8 GB: truncated, also without allocating it */
    len = idx_image(file, 0x08, 2, (const uint32_t[]){0xffffffffu, 2}, data, 4);
    write_bytes(path, file, len);
    assert_last_error(ag_idx_load(path, &a), AG_ERR_FORMAT, "truncated", "8589934590 data bytes");
    ck_assert_ptr_null(a.data);
    rm_tmpdir((const char *[]){"bad"}, 1);
}
END_TEST

START_TEST(test_idx_refuses_missing_paths_and_null)
{
    ag_idx a;
    const char *missing = "/nonexistent/ag/train-images-idx3-ubyte";
    assert_last_error(ag_idx_load(missing, &a), AG_ERR_IO, "ag_idx_load: '", missing);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "': cannot open: "));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "No such file"));
    assert_last_error(ag_idx_load("/tmp", &a), AG_ERR_IO, "'/tmp'", "not a regular file");
    assert_last_error(ag_idx_load(NULL, &a), AG_ERR_ARG, "ag_idx_load", "path is NULL");
    assert_last_error(ag_idx_load("/tmp", NULL), AG_ERR_ARG, "ag_idx_load", "out is NULL");
    /* a very long path is shortened in the message, keeping its end */
    char longp[400];
    memset(longp, 'a', sizeof longp);
    memcpy(longp, "/nonexistent/", 13);
    snprintf(longp + 380, 20, "/the-end.idx");
    assert_last_error(ag_idx_load(longp, &a), AG_ERR_IO, "'...aaa", "the-end.idx'");
}
END_TEST

/* ------------------------------------------------------------ dataset --- */

START_TEST(test_dataset_load_idx_values_and_labels)
{
    make_tmpdir();
    char pi[128], pl[128];
    fill_img5();
    write_idx(tmp_path("img", pi), 3, (const uint32_t[]){5, 2, 3}, img5, 30);
    write_idx(tmp_path("lbl", pl), 1, (const uint32_t[]){5}, lbl5, 5);
    ag_dataset *ds = ag_dataset_load_idx(pi, pl);
    ck_assert_msg(ds != NULL, "%s", ag_last_error());
    ck_assert_int_eq(ag_dataset_count(ds), 5);
    ck_assert_int_eq(ag_dataset_features(ds), 6);
    ck_assert_int_eq(ag_dataset_num_classes(ds), 10);
    int64_t shape[3];
    ck_assert_int_eq(ag_dataset_sample_shape(ds, shape), 2);
    ck_assert_int_eq(shape[0], 2); ck_assert_int_eq(shape[1], 3);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(ag_dataset_label(ds, i), lbl5[i]);
        const uint8_t *s = ag_dataset_sample(ds, i);
        for (int r = 0; r < 2; r++)
            for (int c = 0; c < 3; c++) ck_assert_int_eq(s[3 * r + c], 40 * i + 3 * r + c + 7);
    }
    ck_assert_int_eq(ag_dataset_label(ds, 5), -1); ck_assert_int_eq(ag_dataset_label(ds, -1), -1);
    ck_assert_ptr_null(ag_dataset_sample(ds, 5)); ck_assert_ptr_null(ag_dataset_sample(ds, -1));
    double mean, std;
    ag_dataset_get_normalize(ds, &mean, &std);
    ck_assert_double_eq(mean, 0); ck_assert_double_eq(std, 1);
    ag_dataset_free(ds);
    /* NULL accessors */
    ck_assert_int_eq(ag_dataset_count(NULL), 0); ck_assert_int_eq(ag_dataset_label(NULL, 0), -1);
    ck_assert_ptr_null(ag_dataset_sample(NULL, 0));
    ag_dataset_free(NULL);
    rm_tmpdir((const char *[]){"img", "lbl"}, 2);
}
END_TEST

START_TEST(test_dataset_load_idx_refuses_mismatches)
{
    make_tmpdir();
    char pi[128], pl[128], pm[128];
    fill_img5();
    write_idx(tmp_path("img", pi), 3, (const uint32_t[]){5, 2, 3}, img5, 30);
    write_idx(tmp_path("lbl", pl), 1, (const uint32_t[]){4}, lbl5, 4);
    ck_assert_ptr_null(ag_dataset_load_idx(pi, pl));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_dataset_load_idx: 5 images in '"));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "but 4 labels in '"));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), pi)); ck_assert_ptr_nonnull(strstr(ag_last_error(), pl));
    /* a label out of range: 12 at index 3 */
    write_idx(pl, 1, (const uint32_t[]){5}, (const uint8_t[]){3, 0, 9, 12, 4}, 5);
    ck_assert_ptr_null(ag_dataset_load_idx(pi, pl));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "label 12 at index 3 of '"));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "out of range for 10 classes"));
    ag_dataset *ds = ag_dataset_load_idx_classes(pi, pl, 13);       /* fine with 13 */
    ck_assert_msg(ds != NULL, "%s", ag_last_error());
    ck_assert_int_eq(ag_dataset_label(ds, 3), 12); ck_assert_int_eq(ag_dataset_num_classes(ds), 13);
    ag_dataset_free(ds);
    ck_assert_ptr_null(ag_dataset_load_idx_classes(pi, pl, 12));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "label 12 at index 3"));
    ck_assert_ptr_null(ag_dataset_load_idx_classes(pi, pl, 0));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "num_classes 0"));
    /* a 2-D labels file, a missing file, a broken one (prefixed message) */
    write_idx(tmp_path("m", pm), 2, (const uint32_t[]){5, 1}, lbl5, 5);
    ck_assert_ptr_null(ag_dataset_load_idx(pi, pm));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "has 2 dimensions, not 1"));
    ck_assert_ptr_null(ag_dataset_load_idx(pi, "/nonexistent/labels"));
    ck_assert_ptr_nonnull(strstr(ag_last_error(),
                                 "ag_dataset_load_idx: ag_idx_load: '/nonexistent/labels': "
                                 "cannot open: No such file"));
    write_bytes(pm, (const uint8_t[]){0, 0, 8, 3, 0}, 5);
    ck_assert_ptr_null(ag_dataset_load_idx(pm, pl));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_dataset_load_idx: ag_idx_load: '"));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "truncated header"));
    ck_assert_ptr_null(ag_dataset_load_idx(NULL, pl));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "images path is NULL"));
    rm_tmpdir((const char *[]){"img", "lbl", "m"}, 3);
}
END_TEST

START_TEST(test_dataset_from_bytes_checks_arguments)
{
    fill_img5();
    ck_assert_ptr_null(ag_dataset_from_bytes(5, 2, SHAPE(2, 3), img5, lbl5, 9));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_dataset_from_bytes: label 9 at index 2"));
    ck_assert_ptr_null(ag_dataset_from_bytes(5, 2, SHAPE(2, 3), img5, NULL, 10));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "labels is NULL for 5 samples"));
    ck_assert_ptr_null(ag_dataset_from_bytes(5, 4, SHAPE(1, 1, 2, 3), img5, lbl5, 10));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "4 dimensions"));
    ck_assert_ptr_null(ag_dataset_from_bytes(5, 2, SHAPE(2, 3), img5, lbl5, 257));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "num_classes 257"));
    ck_assert_ptr_null(ag_dataset_from_bytes(1, 3, SHAPE(65536, 65536, 2), img5, lbl5, 10));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "samples of more than 2^31 bytes"));
    ag_dataset *empty = ag_dataset_from_bytes(0, 1, SHAPE(4), NULL, NULL, 2);
    ck_assert_ptr_nonnull(empty);
    ck_assert_int_eq(ag_dataset_count(empty), 0); ck_assert_int_eq(ag_dataset_features(empty), 4);
    ag_dataset_free(empty);
}
END_TEST

START_TEST(test_dataset_pixel_stats_and_normalize)
{
    /* bytes {0, 51, 255, 255}: v = {0, 0.2, 1, 1}, mean 0.55,
       var = (0.3025 + 0.1225 + 0.2025 + 0.2025) / 4 = 0.2075 */
    ag_dataset *ds = ag_dataset_from_bytes(2, 1, SHAPE(2), (const uint8_t[]){0, 51, 255, 255},
                                           (const uint8_t[]){0, 1}, 2);
    double mean, std;
    ck_assert_int_eq(ag_dataset_pixel_stats(ds, &mean, &std), AG_OK);
    ck_assert_double_eq_tol(mean, 0.55, 1e-15);
    ck_assert_double_eq_tol(std, sqrt(0.2075), 1e-15);
    ck_assert_int_eq(ag_dataset_set_normalize(ds, 0.25, 0.5), AG_OK);
    ag_dataset_get_normalize(ds, &mean, &std);
    ck_assert_double_eq(mean, 0.25); ck_assert_double_eq(std, 0.5);
    assert_last_error(ag_dataset_set_normalize(ds, 0.1, 0), AG_ERR_ARG,
                      "ag_dataset_set_normalize", "std 0");
    assert_last_error(ag_dataset_set_normalize(ds, NAN, 1), AG_ERR_ARG, "mean nan", "finite");
    ag_dataset_get_normalize(ds, &mean, &std);            /* unchanged */
    ck_assert_double_eq(mean, 0.25); ck_assert_double_eq(std, 0.5);
    int64_t counts[2];
    ck_assert_int_eq(ag_dataset_class_counts(ds, counts), AG_OK);
    ck_assert_int_eq(counts[0], 1); ck_assert_int_eq(counts[1], 1);
    ag_dataset_free(ds);
}
END_TEST

START_TEST(test_dataset_split_views_and_subset_copies)
{
    ag_dataset *ds = small_dataset(), *a, *b;
    ag_dataset_set_normalize(ds, 0.5, 2);
    ck_assert_int_eq(ag_dataset_split(ds, 3, &a, &b), AG_OK);
    ck_assert_int_eq(ag_dataset_count(a), 3); ck_assert_int_eq(ag_dataset_count(b), 2);
    ck_assert_int_eq(ag_dataset_features(b), 6);
    ck_assert_ptr_eq(ag_dataset_sample(a, 0), ag_dataset_sample(ds, 0));     /* views */
    ck_assert_ptr_eq(ag_dataset_sample(b, 0), ag_dataset_sample(ds, 3));
    ck_assert_int_eq(ag_dataset_label(b, 0), 1); ck_assert_int_eq(ag_dataset_label(b, 1), 4);
    ck_assert_int_eq(ag_dataset_label(b, 2), -1);
    double mean, std;
    ag_dataset_get_normalize(b, &mean, &std);
    ck_assert_double_eq(mean, 0.5); ck_assert_double_eq(std, 2);
    ag_dataset_free(ds);                       /* views outlive their parent */
    ck_assert_int_eq(ag_dataset_sample(b, 1)[5], 40 * 4 + 3 + 2 + 7);
    /* a view of a view, then empty ends */
    ag_dataset *c, *d;
    ck_assert_int_eq(ag_dataset_split(b, 2, &c, &d), AG_OK);
    ck_assert_int_eq(ag_dataset_count(c), 2); ck_assert_int_eq(ag_dataset_count(d), 0);
    ag_dataset_free(b), ag_dataset_free(d);
    ck_assert_int_eq(ag_dataset_label(c, 1), 4);
    assert_last_error(ag_dataset_split(a, 4, &b, &d), AG_ERR_ARG, "ag_dataset_split",
                      "n_first 4 is outside [0, 3]");
    ck_assert_ptr_null(b); ck_assert_ptr_null(d);
    /* subset: copies in the given order */
    ag_dataset *s = ag_dataset_subset(a, (const int64_t[]){2, 0, 2}, 3);
    ck_assert_msg(s != NULL, "%s", ag_last_error());
    ck_assert_int_eq(ag_dataset_count(s), 3);
    ck_assert_int_eq(ag_dataset_label(s, 0), 9); ck_assert_int_eq(ag_dataset_label(s, 1), 3);
    ck_assert_mem_eq(ag_dataset_sample(s, 2), ag_dataset_sample(a, 2), 6);
    ck_assert_ptr_ne(ag_dataset_sample(s, 2), ag_dataset_sample(a, 2));
    ag_dataset_get_normalize(s, &mean, &std);              /* inherited too */
    ck_assert_double_eq(mean, 0.5); ck_assert_double_eq(std, 2);
    ck_assert_ptr_null(ag_dataset_subset(a, (const int64_t[]){0, 3}, 2));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_dataset_subset: indices[1] = 3 is outside [0, 3)"));
    ag_dataset_free(s), ag_dataset_free(a), ag_dataset_free(c);
}
END_TEST

/* ------------------------------------------------------------- epochs --- */

START_TEST(test_epoch_order_is_a_reproducible_permutation)
{
    enum { N = 1000 };
    static int64_t o1[N], o2[N], o3[N];
    ag_rng *r1 = ag_rng_new(7), *r2 = ag_rng_new(7), *r3 = ag_rng_new(8);
    ck_assert_int_eq(ag_epoch_order(o1, N, r1), AG_OK);
    ag_epoch_order(o2, N, r2), ag_epoch_order(o3, N, r3);
    int seen[N] = {0}, moved = 0, differ = 0;
    for (int i = 0; i < N; i++) {
        ck_assert(o1[i] >= 0 && o1[i] < N);
        seen[o1[i]]++;
        moved += o1[i] != i;
        ck_assert_int_eq(o1[i], o2[i]);                    /* same seed, same order */
        differ += o1[i] != o3[i];
    }
    for (int i = 0; i < N; i++) ck_assert_int_eq(seen[i], 1);
    ck_assert_int_gt(moved, N - 20);                       /* ~1 fixed point expected */
    ck_assert_int_gt(differ, N - 20);
    ag_epoch_order(o2, N, r2);                             /* the next epoch differs */
    int same = 0;
    for (int i = 0; i < N; i++) same += o1[i] == o2[i];
    ck_assert_int_lt(same, 20);
    ck_assert_int_eq(ag_epoch_order(o1, 5, NULL), AG_OK);  /* no rng: in sequence */
    for (int i = 0; i < 5; i++) ck_assert_int_eq(o1[i], i);
    assert_last_error(ag_epoch_order(NULL, 3, r1), AG_ERR_ARG, "ag_epoch_order", "order is NULL");
    ck_assert_int_eq(ag_epoch_order(NULL, 0, r1), AG_OK);
    ag_rng_free(r1), ag_rng_free(r2), ag_rng_free(r3);
}
END_TEST

START_TEST(test_epoch_order_is_uniform)
{
    /* the 6 orders of 3 items, 60,000 draws: each ~10,000 (sd ~91). The
       common mistake (j drawn from all n instead of 0..i) gives 8,889 and
       11,111; modulo bias would not show here but the rejection is exact. */
    ag_rng *r = ag_rng_new(123);
    int count[3][3][3] = {{{0}}};
    int64_t o[3];
    for (int k = 0; k < 60000; k++) {
        ag_epoch_order(o, 3, r);
        count[o[0]][o[1]][o[2]]++;
    }
    const int perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int p = 0; p < 6; p++) {
        int c = count[perms[p][0]][perms[p][1]][perms[p][2]];
        ck_assert_msg(c > 9500 && c < 10500, "order %d%d%d drawn %d times of 60000",
                      perms[p][0], perms[p][1], perms[p][2], c);
    }
    ag_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------ batches --- */

START_TEST(test_batch_values_are_bytes_over_255_with_labels)
{
    ag_dataset *ds = small_dataset();
    ag_tape *t = ag_tape_new();
    const int64_t order[5] = {4, 1, 3, 0, 2};
    int64_t labels[5] = {-7, -7, -7, -7, -7};
    ag_tensor *x = ag_dataset_batch(t, ds, order, 1, 3, AG_F64, labels);
    tu_assert_shape(x, 2, SHAPE(3, 6));
    ck_assert_ptr_eq(ag_tensor_tape(x), t);
    ck_assert_int_eq(ag_requires_grad(x), 0);
    for (int r = 0; r < 3; r++) {
        int64_t i = order[1 + r];
        ck_assert_int_eq(labels[r], lbl5[i]);
        for (int k = 0; k < 6; k++)
            ck_assert_double_eq(ag_tensor_get(x, r * 6 + k), img5[i * 6 + k] / 255.0);
    }
    /* f32, no order, the last partial batch (2 of 4 asked), no labels */
    ag_tensor *y = ag_dataset_batch(t, ds, NULL, 3, 4, AG_F32, NULL);
    tu_assert_shape(y, 2, SHAPE(2, 6));
    ck_assert_int_eq(ag_tensor_dtype(y), AG_F32);
    for (int k = 0; k < 12; k++)
        ck_assert_float_eq(((float *)ag_tensor_data(y))[k], (float)(img5[18 + k] / 255.0));
    /* normalized: (b / 255 - 0.3) / 0.2, persistent (tape NULL) */
    ag_dataset_set_normalize(ds, 0.3, 0.2);
    ag_tensor *z = ag_dataset_batch(NULL, ds, order, 0, 5, AG_F64, labels);
    tu_assert_shape(z, 2, SHAPE(5, 6));
    ck_assert_ptr_null(ag_tensor_tape(z));
    for (int k = 0; k < 6; k++)
        ck_assert_double_eq_tol(ag_tensor_get(z, k), (img5[24 + k] / 255.0 - 0.3) / 0.2, 1e-15);
    ck_assert_int_eq(labels[0], 4);
    ag_tensor_free(z);
    ag_tape_free(t);
    ag_dataset_free(ds);
}
END_TEST

START_TEST(test_batch_refuses_bad_arguments)
{
    ag_dataset *ds = small_dataset();
    ag_tape *t = ag_tape_new();
    int64_t labels[8];
    tu_assert_error(t, ag_dataset_batch(t, ds, NULL, 5, 2, AG_F32, labels), AG_ERR_ARG,
                    "ag_dataset_batch", "start 5 is outside [0, 5)");
    ck_assert_ptr_null(ag_dataset_batch(t, ds, NULL, 0, 2, AG_F32, labels));   /* sticky */
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "start 5"));
    ag_tape_reset(t);
    tu_assert_error(t, ag_dataset_batch(t, ds, NULL, 0, 0, AG_F32, labels), AG_ERR_ARG,
                    "ag_dataset_batch", "batch_size 0");
    ag_tape_reset(t);
    tu_assert_error(t, ag_dataset_batch(t, ds, (const int64_t[]){0, 1, 5, 2, 3}, 1, 4, AG_F32,
                                        labels), AG_ERR_ARG, "ag_dataset_batch",
                    "order[2] = 5 is outside [0, 5)");
    ag_tape_reset(t);
    tu_assert_error(t, ag_dataset_batch(t, ds, NULL, 0, 2, (ag_dtype)7, labels), AG_ERR_DTYPE,
                    "ag_dataset_batch", "dtype 7");
    ag_tape_reset(t);
    tu_assert_error(t, ag_dataset_batch(t, NULL, NULL, 0, 2, AG_F32, labels), AG_ERR_ARG,
                    "ag_dataset_batch", "dataset is NULL");
    ck_assert_ptr_null(ag_dataset_batch(NULL, ds, NULL, -1, 2, AG_F32, labels));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_dataset_batch: start -1 is outside"));
    ag_tape_free(t);
    ag_dataset_free(ds);
}
END_TEST

START_TEST(test_batch_into_fills_a_persistent_tensor)
{
    ag_dataset *ds = small_dataset();
    ag_tensor *dst = ag_full(NULL, AG_F32, 2, SHAPE(3, 6), -1.0);
    int64_t labels[5] = {-7, -7, -7, -7, -7};
    const int64_t order[5] = {2, 4, 0, 3, 1};
    ck_assert_int_eq(ag_dataset_batch_into(dst, ds, order, 0, labels), 3);
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(labels[r], lbl5[order[r]]);
        for (int k = 0; k < 6; k++)
            ck_assert_double_eq(ag_tensor_get(dst, r * 6 + k),
                                (float)(img5[order[r] * 6 + k] / 255.0));
    }
    labels[2] = -7;
    ck_assert_int_eq(ag_dataset_batch_into(dst, ds, order, 3, labels), 2);   /* partial */
    ck_assert_int_eq(labels[0], lbl5[3]); ck_assert_int_eq(labels[1], lbl5[1]);
    ck_assert_int_eq(labels[2], -7);
    ck_assert_double_eq(ag_tensor_get(dst, 6 + 5), (float)(img5[1 * 6 + 5] / 255.0));
    ck_assert_double_eq(ag_tensor_get(dst, 12), (float)(img5[0 * 6] / 255.0));  /* untouched */
    ag_tensor *bad = ag_zeros(NULL, AG_F32, 2, SHAPE(3, 5));
    ck_assert_int_eq(ag_dataset_batch_into(bad, ds, NULL, 0, labels), -1);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_dataset_batch_into: dst is [3,5]"));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "must be [batch, 6]"));
    ck_assert_int_eq(ag_dataset_batch_into(dst, ds, NULL, 9, labels), -1);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_dataset_batch_into: start 9"));
    ag_tensor_free(bad), ag_tensor_free(dst);
    ag_dataset_free(ds);
}
END_TEST

/* Regression (#11): a destination from before its tape's reset has no
   data any more: AG_ERR_STATE, not a write through NULL. */
START_TEST(test_batch_into_refuses_a_stale_destination)
{
    ag_dataset *ds = small_dataset();
    ag_tape *t = ag_tape_new();
    ag_tensor *dst = ag_zeros(t, AG_F32, 2, SHAPE(2, 6));
    int64_t labels[2] = {-7, -7};
    ck_assert_int_eq(ag_dataset_batch_into(dst, ds, NULL, 0, labels), 2);   /* fine */
    ag_tape_reset(t);
    labels[0] = labels[1] = -7;
    ag_set_last_error(AG_OK, "%s", "");
    ck_assert_int_eq(ag_dataset_batch_into(dst, ds, NULL, 0, labels), -1);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_dataset_batch_into: dst was made before "
                                                  "its tape was reset"));
    ck_assert_int_eq(labels[0], -7);                       /* nothing written */
    ck_assert_int_eq(ag_tape_status(t), AG_OK);            /* the tape is not blamed */
    ag_tape_free(t);
    ag_dataset_free(ds);
}
END_TEST

START_TEST(test_batch_on_a_reset_tape_allocates_nothing_new)
{
    ag_dataset *ds = small_dataset();
    ag_tape *t = ag_tape_new();
    int64_t order[5], labels[2];
    ag_rng *r = ag_rng_new(3);
    size_t reserved = 0;
    for (int epoch = 0; epoch < 50; epoch++) {
        ag_epoch_order(order, 5, r);
        for (int64_t start = 0; start < 5; start += 2) {
            ck_assert_ptr_nonnull(ag_dataset_batch(t, ds, order, start, 2, AG_F64, labels));
            ag_tape_reset(t);
        }
        if (epoch == 0) reserved = ag_tape_reserved(t);
        ck_assert_uint_eq(ag_tape_reserved(t), reserved);
    }
    ag_rng_free(r);
    ag_tape_free(t);
    ag_dataset_free(ds);
}
END_TEST

/* ---------------------------------------------------------- synthetic --- */

START_TEST(test_spirals_shape_balance_and_geometry)
{
    ag_rng *r = ag_rng_new(11);
    ag_dataset *ds = ag_dataset_spirals(301, 3, 0.0, r);
    ck_assert_msg(ds != NULL, "%s", ag_last_error());
    int64_t shape[3], counts[3];
    ck_assert_int_eq(ag_dataset_count(ds), 301); ck_assert_int_eq(ag_dataset_features(ds), 2);
    ck_assert_int_eq(ag_dataset_sample_shape(ds, shape), 1); ck_assert_int_eq(shape[0], 2);
    ck_assert_int_eq(ag_dataset_num_classes(ds), 3);
    ag_dataset_class_counts(ds, counts);
    ck_assert_int_eq(counts[0], 101); ck_assert_int_eq(counts[1], 100);
    ck_assert_int_eq(counts[2], 100);
    /* batch values are the coordinates; noise 0 puts each point on its
       arm: radius 0.9 t, angle 2 pi (k / 3 + 0.75 t), up to quantization */
    int64_t labels[301];
    ag_tensor *x = ag_dataset_batch(NULL, ds, NULL, 0, 301, AG_F64, labels);
    tu_assert_shape(x, 2, SHAPE(301, 2));
    int checked = 0;
    for (int i = 0; i < 301; i++) {
        ck_assert_int_eq(labels[i], i % 3);
        double px = ag_tensor_get(x, 2 * i), py = ag_tensor_get(x, 2 * i + 1);
        ck_assert(px >= -1 && px <= 1 && py >= -1 && py <= 1);
        double rad = sqrt(px * px + py * py), t = rad / 0.9;
        ck_assert_double_le(rad, 0.9 + 0.006);
        if (rad < 0.2) continue;              /* angle too sensitive near 0 */
        double want = TWO_PI * (labels[i] / 3.0 + 0.75 * t);
        double diff = remainder(atan2(py, px) - want, TWO_PI);
        ck_assert_msg(fabs(diff) < 0.06, "point %d (%g, %g) off its arm by %g rad", i, px, py, diff);
        checked++;
    }
    ck_assert_int_gt(checked, 200);
    ag_tensor_free(x);
    /* the same seed gives the same bytes; noise moves points */
    ag_rng *r2 = ag_rng_new(11);
    ag_dataset *same = ag_dataset_spirals(301, 3, 0.0, r2), *noisy = ag_dataset_spirals(301, 3, 0.05, r2);
    ck_assert_mem_eq(ag_dataset_sample(same, 0), ag_dataset_sample(ds, 0), 301 * 2);
    ck_assert(memcmp(ag_dataset_sample(noisy, 0), ag_dataset_sample(ds, 0), 301 * 2) != 0);
    ag_dataset_free(same), ag_dataset_free(noisy), ag_dataset_free(ds);
    ck_assert_ptr_null(ag_dataset_spirals(10, 1, 0.1, r));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_dataset_spirals: n 10, num_classes 1"));
    ck_assert_ptr_null(ag_dataset_spirals(10, 2, -0.1, r));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "noise -0.1"));
    ck_assert_ptr_null(ag_dataset_spirals(10, 2, 0.1, NULL));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "rng is NULL"));
    ag_rng_free(r), ag_rng_free(r2);
}
END_TEST

/* Regression (found by fuzzing): a file of 0 images may declare any image
   shape; one whose size overflows must be refused, not multiplied. */
START_TEST(test_dataset_refuses_overflowing_empty_shape)
{
    char a[128], b[128];
    make_tmpdir();
    write_idx(tmp_path("img", a), 3, (const uint32_t[]){0, 4294906851u, 1u << 20}, (const uint8_t *)"", 0);
    write_idx(tmp_path("lbl", b), 1, (const uint32_t[]){0}, (const uint8_t *)"", 0);
    ck_assert_ptr_null(ag_dataset_load_idx(a, b));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_dataset_load_idx: sample dimension 0 is "
                                                  "4294906851"));
    /* dims whose non-zero product is more than a tensor may hold: refused
       by the loader itself, whatever the place of the zero (#11) */
    const uint32_t huge[3][3] = {{0, 4294906851u, 4292018147u}, {4294906851u, 0, 4292018147u},
                                 {4294906851u, 4292018147u, 0}};
    for (int k = 0; k < 3; k++) {
        ag_idx idx;
        write_idx(a, 3, huge[k], (const uint8_t *)"", 0);
        ck_assert_int_eq(ag_idx_load(a, &idx), AG_ERR_FORMAT);
        ck_assert_ptr_nonnull(strstr(ag_last_error(), "more elements than a tensor may hold"));
        ck_assert_ptr_null(ag_dataset_load_idx(a, b));
    }
    /* still fine when the declared shape is sane */
    write_idx(a, 3, (const uint32_t[]){0, 28, 28}, (const uint8_t *)"", 0);
    ag_dataset *ds = ag_dataset_load_idx(a, b);
    ck_assert_ptr_nonnull(ds);
    ck_assert_int_eq(ag_dataset_features(ds), 784);
    ag_dataset_free(ds);
    rm_tmpdir((const char *const[]){"img", "lbl"}, 2);
}
END_TEST

Suite *suite_data(void)
{
    Suite *s = suite_create("data");
    TU_ADD(s, test_idx_reads_images_and_labels_exactly);
    TU_ADD(s, test_dataset_refuses_overflowing_empty_shape);
    TU_ADD(s, test_idx_refuses_truncated_files);
    TU_ADD(s, test_idx_refuses_trailing_bytes);
    TU_ADD(s, test_idx_refuses_bad_magic_type_and_dims);
    TU_ADD(s, test_idx_refuses_missing_paths_and_null);
    TU_ADD(s, test_dataset_load_idx_values_and_labels);
    TU_ADD(s, test_dataset_load_idx_refuses_mismatches);
    TU_ADD(s, test_dataset_from_bytes_checks_arguments);
    TU_ADD(s, test_dataset_pixel_stats_and_normalize);
    TU_ADD(s, test_dataset_split_views_and_subset_copies);
    TU_ADD(s, test_epoch_order_is_a_reproducible_permutation);
    TU_ADD(s, test_epoch_order_is_uniform);
    TU_ADD(s, test_batch_values_are_bytes_over_255_with_labels);
    TU_ADD(s, test_batch_refuses_bad_arguments);
    TU_ADD(s, test_batch_into_fills_a_persistent_tensor);
    TU_ADD(s, test_batch_into_refuses_a_stale_destination);
    TU_ADD(s, test_batch_on_a_reset_tape_allocates_nothing_new);
    TU_ADD(s, test_spirals_shape_balance_and_geometry);
    return s;
}
