/*
** test_npy.c: the .npy loader and the datasets made of .npy files. Files
** written by NumPy (npy_test_data.h: versions 1.0, 2.0, 3.0; f4, f8 in both
** byte orders, i4, i8, u1; C and Fortran order) read back to the values
** NumPy wrote; malformed files written here byte by byte (bad magic,
** version, header length, dict, keys, dtype, shape, truncated and trailing
** data) each refused with its message; datasets of class labels beyond
** 256 and of regression targets; mismatched files.
*/
#include "dataio_test_util.h"
#include "npy_test_data.h"

#include <math.h>

/* A .npy file as NumPy lays it out: magic, version, header length, dict
   padded with spaces to a multiple of 64 and a newline, then data. */
static size_t build_npy(unsigned char *out, int version, const char *dict, const void *data,
                        size_t n)
{
    const size_t pre = version == 1 ? 10 : 12, len = strlen(dict);
    size_t hlen = len + 1;
    while ((pre + hlen) % 64) hlen++;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)version, out[7] = 0;
    for (size_t k = 0; k < pre - 8; k++) out[8 + k] = (unsigned char)(hlen >> (8 * k));
    memcpy(out + pre, dict, len);
    memset(out + pre + len, ' ', hlen - len - 1);
    out[pre + hlen - 1] = '\n';
    if (n) memcpy(out + pre + hlen, data, n);
    return pre + hlen + n;
}

/* Loads path and asserts the shape and the values. */
static void assert_npy(const char *path, ag_npy_type type, int ndim, const int64_t *shape,
                       const double *values)
{
    ag_npy a;
    ck_assert_msg(ag_npy_load(path, &a) == AG_OK, "%s", ag_last_error());
    ck_assert_int_eq(a.type, type);
    ck_assert_int_eq(a.ndim, ndim);
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        ck_assert_int_eq(a.shape[d], shape[d]);
        numel *= shape[d];
    }
    ck_assert_int_eq(a.numel, numel);
    for (int64_t i = 0; i < numel; i++)
        ck_assert_msg(a.data[i] == values[i], "element %lld: %.17g, expected %.17g",
                      (long long)i, a.data[i], values[i]);
    ag_npy_free(&a);
    ck_assert_ptr_null(a.data);
}

START_TEST(test_npy_reads_numpy_files_exactly)
{
    dio_dir d;
    char p[128];
    dio_dir_make(&d, "npy");
    assert_npy(dio_write(&d, "f4.npy", npy_feat_f4, sizeof npy_feat_f4, p), AG_NPY_F4, 2,
               (int64_t[]){3, 2}, (double[]){1.5, -2, 0.25, 3, 4, -0.125});
    assert_npy(dio_write(&d, "i8.npy", npy_lab_i8, sizeof npy_lab_i8, p), AG_NPY_I8, 1,
               (int64_t[]){3}, (double[]){0, 299, 7});
    /* Fortran order: NumPy's C-order view is [[0, .5, 1], [1.5, 2, 2.5]] */
    assert_npy(dio_write(&d, "f.npy", npy_fortran_f8, sizeof npy_fortran_f8, p), AG_NPY_F8, 2,
               (int64_t[]){2, 3}, (double[]){0, 0.5, 1, 1.5, 2, 2.5});
    double seq[12];
    for (int i = 0; i < 12; i++) seq[i] = i;     /* arange(12).reshape(2, 3, 2) */
    assert_npy(dio_write(&d, "f3.npy", npy_fortran3_f4, sizeof npy_fortran3_f4, p), AG_NPY_F4, 3,
               (int64_t[]){2, 3, 2}, seq);
    assert_npy(dio_write(&d, "big.npy", npy_big_f8_v2, sizeof npy_big_f8_v2, p), AG_NPY_F8, 2,
               (int64_t[]){2, 2}, (double[]){1e300, -2.5, 3, 0.1});
    assert_npy(dio_write(&d, "u1.npy", npy_u1_v3, sizeof npy_u1_v3, p), AG_NPY_U1, 2,
               (int64_t[]){1, 3}, (double[]){0, 255, 7});
    assert_npy(dio_write(&d, "i4.npy", npy_i4, sizeof npy_i4, p), AG_NPY_I4, 2,
               (int64_t[]){3, 1}, (double[]){-3, 5, 2147483647});
    /* written here: a 0-D array, an empty one, a shape without spaces */
    unsigned char buf[256];
    const double two = 2;
    size_t n = build_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &two, 8);
    assert_npy(dio_write(&d, "0d.npy", buf, n, p), AG_NPY_F8, 0, NULL, &two);
    n = build_npy(buf, 1, "{\"shape\":(0,4),\"descr\":\"<f4\",\"fortran_order\":True}", NULL, 0);
    assert_npy(dio_write(&d, "empty.npy", buf, n, p), AG_NPY_F4, 2, (int64_t[]){0, 4}, NULL);
    dio_dir_remove(&d);
}
END_TEST

/* Writes bytes as a file and asserts ag_npy_load refuses it with
   AG_ERR_FORMAT and a message holding part. */
static void assert_refused(dio_dir *d, const void *bytes, size_t n, const char *part)
{
    char p[128];
    ag_npy a;
    ag_status s = ag_npy_load(dio_write(d, "bad.npy", bytes, n, p), &a);
    dio_assert_fails(s == AG_ERR_FORMAT, "ag_npy_load: '", part);
    ck_assert_msg(strstr(ag_last_error(), "bad.npy") != NULL, "%s", ag_last_error());
    ck_assert_ptr_null(a.data);
    ck_assert_int_eq(a.ndim, 0);
}

/* A header dict with the data of npy_feat_f4's 6 floats. */
static void assert_dict_refused(dio_dir *d, int version, const char *dict, const char *part)
{
    unsigned char buf[512];
    size_t n = build_npy(buf, version, dict, npy_feat_f4 + 128, 24);
    assert_refused(d, buf, n, part);
}

START_TEST(test_npy_refuses_bad_preambles)
{
    dio_dir d;
    unsigned char b[sizeof npy_feat_f4];
    dio_dir_make(&d, "npy");
    memcpy(b, npy_feat_f4, sizeof b);
    b[1] = 'X';
    assert_refused(&d, b, sizeof b, "bad magic (not \\x93NUMPY): not a .npy file");
    assert_refused(&d, npy_feat_f4, 3, "truncated: 3 bytes, too short for the magic");
    assert_refused(&d, npy_feat_f4, 9, "too short for the header length");
    memcpy(b, npy_feat_f4, sizeof b);
    b[6] = 4;
    assert_refused(&d, b, sizeof b, "format version 4.0 is not supported (1.0, 2.0 or 3.0)");
    b[6] = 1, b[7] = 1;
    assert_refused(&d, b, sizeof b, "format version 1.1 is not supported");
    memcpy(b, npy_feat_f4, sizeof b);
    b[8] = 0xff, b[9] = 0x7f;                         /* header length 32767 */
    assert_refused(&d, b, sizeof b, "truncated header: its length is 32767 bytes, the file has "
                   "142 after the 10-byte preamble");
    memcpy(b, npy_feat_f4, sizeof b);
    b[127] = ' ';                                     /* the header's newline */
    assert_refused(&d, b, sizeof b, "the header does not end with a newline");
    dio_dir_remove(&d);
}
END_TEST

START_TEST(test_npy_refuses_bad_dicts)
{
    dio_dir d;
    dio_dir_make(&d, "npy");
    assert_dict_refused(&d, 1, "{'descr': '<f4' 'fortran_order': False, 'shape': (3, 2), }",
                        "bad header dict: expected ',' or '}' at offset 16 of \"{'descr': '<f4' "
                        "'fortran_order'");
    assert_dict_refused(&d, 1, "'descr': '<f4', 'fortran_order': False, 'shape': (3, 2)",
                        "bad header dict: expected '{' at offset 0");
    assert_dict_refused(&d, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), 'x': 1}",
                        "unknown key 'x' in the header dict");
    assert_dict_refused(&d, 1, "{'descr': '<f4', 'fortran_order': False}",
                        "the header dict has no 'shape' key");
    assert_dict_refused(&d, 1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
                        "'shape': (3, 2)}", "key 'descr' twice in the header dict");
    assert_dict_refused(&d, 1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (3, 2)}",
                        "fortran_order is not True or False");
    assert_dict_refused(&d, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, -2)}",
                        "a dimension is not a non-negative integer");
    assert_dict_refused(&d, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': [3, 2]}",
                        "shape is not a tuple");
    assert_dict_refused(&d, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2)} x",
                        "text after the dict");
    assert_dict_refused(&d, 1, "{'descr: '<f4', 'fortran_order': False, 'shape': (3, 2)}",
                        "unknown key 'descr: '");
    assert_dict_refused(&d, 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2)",
                        "expected ',' or '}'");
    dio_dir_remove(&d);
}
END_TEST

START_TEST(test_npy_refuses_bad_dtypes_and_shapes)
{
    dio_dir d;
    dio_dir_make(&d, "npy");
    assert_dict_refused(&d, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3, 1)}",
                        "descr '<c8' is not supported (<f4, <f8, <i4, <i8 in either byte order, "
                        "or |u1)");
    assert_dict_refused(&d, 1, "{'descr': '<u2', 'fortran_order': False, 'shape': (12,)}",
                        "descr '<u2' is not supported");
    assert_dict_refused(&d, 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,)}",
                        "a structured dtype (descr is a list) is not supported");
    assert_dict_refused(&d, 1, "{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (1, 1, 1, 1, 1, 1, 1, 1, 6)}", "more than 8 dimensions");
    assert_dict_refused(&d, 1, "{'descr': '<f4', 'fortran_order': False, "
                        "'shape': (1099511627776, 1099511627776)}",
                        "shape (1099511627776, 1099511627776) has more elements than a tensor");
    /* the data must be exactly numel values */
    assert_dict_refused(&d, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2)}",
                        "truncated: shape (4, 2) of 4-byte values needs 32 data bytes after the "
                        "128-byte header, the file has 24");
    assert_dict_refused(&d, 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)}",
                        "trailing bytes: shape (2,) of 8-byte values needs 16 data bytes after "
                        "the 128-byte header, the file has 24");
    assert_refused(&d, npy_feat_f4, sizeof npy_feat_f4 - 1, "truncated: shape (3, 2)");
    /* an int64 that a double cannot hold exactly */
    unsigned char buf[256];
    const int64_t big[2] = {5, ((int64_t)1 << 53) + 1};
    size_t n = build_npy(buf, 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", big, 16);
    assert_refused(&d, buf, n, "int64 value 9007199254740992 (element 1) is beyond 2^53");
    dio_dir_remove(&d);
}
END_TEST

START_TEST(test_npy_refuses_missing_files_and_null)
{
    ag_npy a;
    char p[128];
    dio_dir d;
    dio_dir_make(&d, "npy");
    dio_assert_fails(ag_npy_load(dio_path(&d, "none.npy", p), &a) == AG_ERR_IO,
                     "none.npy': cannot open", "No such file");
    dio_assert_fails(ag_npy_load(d.path, &a) == AG_ERR_IO, "not a regular file", "directory");
    dio_assert_fails(ag_npy_load(NULL, &a) == AG_ERR_ARG, "ag_npy_load", "path is NULL");
    dio_assert_fails(ag_npy_load(p, NULL) == AG_ERR_ARG, "ag_npy_load", "out is NULL");
    ag_npy_free(NULL);
    dio_dir_remove(&d);
}
END_TEST

/* -------------------------------------------------------- datasets --- */

START_TEST(test_npy_dataset_of_300_classes)
{
    dio_dir d;
    char fp[128], tp[128];
    dio_dir_make(&d, "npy");
    dio_write(&d, "x.npy", npy_feat_f4, sizeof npy_feat_f4, fp);
    dio_write(&d, "y.npy", npy_lab_i8, sizeof npy_lab_i8, tp);
    ag_npy_opts o = {0};
    o.class_targets = 1;
    ag_tensor_dataset *ds = ag_tensor_dataset_load_npy(fp, tp, &o);
    ck_assert_msg(ds != NULL, "%s", ag_last_error());
    ck_assert_int_eq(ag_tensor_dataset_count(ds), 3);
    ck_assert_int_eq(ag_tensor_dataset_features(ds), 2);
    ck_assert_int_eq(ag_tensor_dataset_dtype(ds), AG_F32);
    ck_assert_int_eq(ag_tensor_dataset_target_kind(ds), AG_TARGET_CLASS);
    ck_assert_int_eq(ag_tensor_dataset_num_classes(ds), 300);      /* largest label + 1 */
    const double x[6] = {1.5, -2, 0.25, 3, 4, -0.125};
    const int64_t y[3] = {0, 299, 7};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(ag_tensor_dataset_label(ds, i), y[i]);
        for (int j = 0; j < 2; j++) ck_assert(ag_tensor_dataset_feature(ds, i, j) == x[2 * i + j]);
    }
    ck_assert(((const float *)ag_tensor_dataset_sample(ds, 2))[1] == -0.125f);
    ag_tensor_dataset_free(ds);
    o.num_classes = 1000;
    ds = ag_tensor_dataset_load_npy(fp, tp, &o);
    ck_assert_int_eq(ag_tensor_dataset_num_classes(ds), 1000);
    ag_tensor_dataset_free(ds);
    o.num_classes = 299;
    dio_assert_fails(!ag_tensor_dataset_load_npy(fp, tp, &o), "ag_tensor_dataset_load_npy: '",
                     "y.npy': label 1, 299, is not below num_classes");
    dio_dir_remove(&d);
}
END_TEST

START_TEST(test_npy_dataset_regression_and_sample_shape)
{
    dio_dir d;
    char fp[128], tp[128];
    dio_dir_make(&d, "npy");
    dio_write(&d, "x.npy", npy_fortran3_f4, sizeof npy_fortran3_f4, fp);   /* (2, 3, 2) */
    dio_write(&d, "y.npy", npy_fortran_f8, sizeof npy_fortran_f8, tp);     /* (2, 3) */
    ag_npy_opts o = {0};
    o.dtype = AG_F64;
    ag_tensor_dataset *ds = ag_tensor_dataset_load_npy(fp, tp, &o);
    ck_assert_msg(ds != NULL, "%s", ag_last_error());
    int64_t shape[AG_MAX_DIMS];
    ck_assert_int_eq(ag_tensor_dataset_sample_shape(ds, shape), 2);
    ck_assert_int_eq(shape[0], 3);
    ck_assert_int_eq(shape[1], 2);
    ck_assert_int_eq(ag_tensor_dataset_features(ds), 6);
    ck_assert_int_eq(ag_tensor_dataset_target_kind(ds), AG_TARGET_FLOAT);
    ck_assert_int_eq(ag_tensor_dataset_target_cols(ds), 3);
    ck_assert_int_eq(ag_tensor_dataset_label(ds, 0), -1);
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 6; j++) ck_assert(ag_tensor_dataset_feature(ds, i, j) == 6 * i + j);
        for (int k = 0; k < 3; k++) ck_assert(ag_tensor_dataset_target(ds, i, k) == 1.5 * i + 0.5 * k);
    }
    ck_assert(((const double *)ag_tensor_dataset_sample(ds, 1))[5] == 11);
    ag_tensor_dataset_free(ds);
    /* features alone; a 1-D file is one value a sample */
    dio_write(&d, "y.npy", npy_lab_i8, sizeof npy_lab_i8, tp);
    ds = ag_tensor_dataset_load_npy(tp, NULL, NULL);
    ck_assert_int_eq(ag_tensor_dataset_target_kind(ds), AG_TARGET_NONE);
    ck_assert_int_eq(ag_tensor_dataset_sample_shape(ds, shape), 0);
    ck_assert_int_eq(ag_tensor_dataset_features(ds), 1);
    ck_assert(ag_tensor_dataset_feature(ds, 1, 0) == 299);
    ag_tensor_dataset_free(ds);
    dio_dir_remove(&d);
}
END_TEST

START_TEST(test_npy_dataset_refuses_mismatches_and_bad_values)
{
    dio_dir d;
    char fp[128], tp[128], bp[128];
    unsigned char buf[256];
    dio_dir_make(&d, "npy");
    dio_write(&d, "x.npy", npy_feat_f4, sizeof npy_feat_f4, fp);             /* 3 samples */
    dio_write(&d, "y.npy", npy_fortran_f8, sizeof npy_fortran_f8, tp);       /* 2 rows */
    dio_assert_fails(!ag_tensor_dataset_load_npy(fp, tp, NULL), "ag_tensor_dataset_load_npy: 3 "
                     "samples in '", "x.npy' but 2 targets in '");
    ag_npy_opts o = {0};
    o.class_targets = 1;
    dio_assert_fails(!ag_tensor_dataset_load_npy(fp, tp, &o), "y.npy': targets of 2 dims",
                     "class labels must be [N] or [N, 1]");
    /* labels that are not whole, or negative */
    const double half[3] = {0, 0.5, 1};
    size_t n = build_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", half, 24);
    dio_assert_fails(!ag_tensor_dataset_load_npy(fp, dio_write(&d, "h.npy", buf, n, bp), &o),
                     "h.npy': label 1, 0.5,", "is not a whole number");
    ag_tensor_dataset *ds = ag_tensor_dataset_load_npy(fp, bp, NULL);     /* fine as floats */
    ck_assert_msg(ds && ag_tensor_dataset_target(ds, 1, 0) == 0.5, "%s", ag_last_error());
    ag_tensor_dataset_free(ds);
    dio_write(&d, "i.npy", npy_i4, sizeof npy_i4, bp);                      /* -3 first */
    dio_assert_fails(!ag_tensor_dataset_load_npy(fp, bp, &o), "i.npy': label 0, -3,", "negative");
    /* non-finite features, refused unless allowed */
    const float nanx[4] = {1, 2, NAN, 4};
    n = build_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", nanx, 16);
    dio_write(&d, "nan.npy", buf, n, bp);
    dio_assert_fails(!ag_tensor_dataset_load_npy(bp, NULL, NULL), "nan.npy': the value of row 1, "
                     "column 0, nan, is not finite", "allow_nonfinite");
    ag_npy_opts allow = {0};
    allow.allow_nonfinite = 1;
    ds = ag_tensor_dataset_load_npy(bp, NULL, &allow);
    ck_assert_msg(ds && isnan(ag_tensor_dataset_feature(ds, 1, 0)), "%s", ag_last_error());
    ag_tensor_dataset_free(ds);
    /* 1e300 does not fit f32 storage */
    dio_write(&d, "big.npy", npy_big_f8_v2, sizeof npy_big_f8_v2, bp);
    dio_assert_fails(!ag_tensor_dataset_load_npy(bp, NULL, NULL), "the value of row 0, column 0",
                     "beyond the range of f32 storage (use AG_F64)");
    /* a 0-D features file; a file error carries this function's name */
    const double two = 2;
    n = build_npy(buf, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &two, 8);
    dio_assert_fails(!ag_tensor_dataset_load_npy(dio_write(&d, "s.npy", buf, n, bp), NULL, NULL),
                     "s.npy': a 0-D array", "sample axis");
    dio_assert_fails(!ag_tensor_dataset_load_npy(fp, dio_path(&d, "no.npy", bp), NULL),
                     "ag_tensor_dataset_load_npy: ag_npy_load: '", "no.npy': cannot open");
    dio_assert_fails(!ag_tensor_dataset_load_npy(NULL, NULL, NULL), "load_npy", "features_path is NULL");
    o.num_classes = 3, o.class_targets = 0;
    dio_assert_fails(!ag_tensor_dataset_load_npy(fp, NULL, &o), "num_classes 3", "only with class_targets");
    dio_dir_remove(&d);
}
END_TEST

Suite *suite_npy(void)
{
    Suite *s = suite_create("npy");
    TU_ADD(s, test_npy_reads_numpy_files_exactly);
    TU_ADD(s, test_npy_refuses_bad_preambles);
    TU_ADD(s, test_npy_refuses_bad_dicts);
    TU_ADD(s, test_npy_refuses_bad_dtypes_and_shapes);
    TU_ADD(s, test_npy_refuses_missing_files_and_null);
    TU_ADD(s, test_npy_dataset_of_300_classes);
    TU_ADD(s, test_npy_dataset_regression_and_sample_shape);
    TU_ADD(s, test_npy_dataset_refuses_mismatches_and_bad_values);
    return s;
}
