/*
** test_csv.c: ag_tensor_dataset_load_csv. Files written here and read back
** to the values written (header, delimiters, quotes, blanks, \r\n, target
** columns anywhere, class labels beyond 256, several regression targets,
** f32 and f64 storage), and every malformed file refused with its message:
** the file, the line and the column (empty file, header only, missing
** values, empty lines, non-numbers, ragged rows, open quotes, non-finite
** values, bad labels, bad target columns, NUL bytes, FIFOs, directories).
*/
#include "dataio_test_util.h"

#include <math.h>
#include <sys/types.h>

/* Loads text (written as d/name) with opts; asserts success. */
static ag_tensor_dataset *load_text(dio_dir *d, const char *name, const char *text,
                                    const ag_csv_opts *o)
{
    char p[128];
    ag_tensor_dataset *ds = ag_tensor_dataset_load_csv(dio_write_text(d, name, text, p), o);
    ck_assert_msg(ds != NULL, "%s", ag_last_error());
    return ds;
}

/* Asserts rows x cols features equal want (exactly, in the storage dtype). */
static void assert_features(const ag_tensor_dataset *ds, int64_t rows, int64_t cols,
                            const double *want)
{
    ck_assert_int_eq(ag_tensor_dataset_count(ds), rows);
    ck_assert_int_eq(ag_tensor_dataset_features(ds), cols);
    const int f32 = ag_tensor_dataset_dtype(ds) == AG_F32;
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            double w = f32 ? (double)(float)want[i * cols + j] : want[i * cols + j];
            ck_assert_msg(ag_tensor_dataset_feature(ds, i, j) == w, "[%lld,%lld]: %.17g, want "
                          "%.17g", (long long)i, (long long)j, ag_tensor_dataset_feature(ds, i, j), w);
        }
}

START_TEST(test_csv_header_quotes_and_class_column)
{
    dio_dir d;
    dio_dir_make(&d, "csv");
    const char *text = "\"x1\",\"x,2\",label,x3\r\n"
                       "1.5, -2 ,3,1e-3\r\n"
                       "0.1,\"4\",299,-7\r\n"
                       "  -0.0 ,\t8\t,3.0,12345678.9";       /* no final newline */
    ag_csv_opts o = {0};
    o.header = 1, o.class_targets = 1, o.ntargets = 1;
    o.targets = (const int[]){2};
    o.dtype = AG_F64;
    ag_tensor_dataset *ds = load_text(&d, "a.csv", text, &o);
    const double x[9] = {1.5, -2, 1e-3, 0.1, 4, -7, -0.0, 8, 12345678.9};
    assert_features(ds, 3, 3, x);
    ck_assert_int_eq(ag_tensor_dataset_target_kind(ds), AG_TARGET_CLASS);
    ck_assert_int_eq(ag_tensor_dataset_num_classes(ds), 300);
    ck_assert_int_eq(ag_tensor_dataset_label(ds, 0), 3);
    ck_assert_int_eq(ag_tensor_dataset_label(ds, 1), 299);
    ck_assert_int_eq(ag_tensor_dataset_label(ds, 2), 3);
    ck_assert(signbit(ag_tensor_dataset_feature(ds, 2, 0)));
    ag_tensor_dataset_free(ds);
    o.dtype = AG_F32, o.num_classes = 1000;                  /* f32: each value rounded once */
    ds = load_text(&d, "a.csv", text, &o);
    assert_features(ds, 3, 3, x);
    ck_assert_int_eq(ag_tensor_dataset_num_classes(ds), 1000);
    ck_assert(((const float *)ag_tensor_dataset_sample(ds, 1))[0] == 0.1f);
    ag_tensor_dataset_free(ds);
    dio_dir_remove(&d);
}
END_TEST

START_TEST(test_csv_regression_targets_and_defaults)
{
    dio_dir d;
    dio_dir_make(&d, "csv");
    /* ';' between fields, targets the last then the first column */
    ag_csv_opts o = {0};
    o.delimiter = ';', o.ntargets = 2;
    o.targets = (const int[]){-1, 0};
    ag_tensor_dataset *ds = load_text(&d, "r.csv", "10;1;2;-1\n20;3;4;-2\n\n\n", &o);
    assert_features(ds, 2, 2, (const double[]){1, 2, 3, 4});
    ck_assert_int_eq(ag_tensor_dataset_target_kind(ds), AG_TARGET_FLOAT);
    ck_assert_int_eq(ag_tensor_dataset_target_cols(ds), 2);
    ck_assert(ag_tensor_dataset_target(ds, 0, 0) == -1 && ag_tensor_dataset_target(ds, 0, 1) == 10);
    ck_assert(ag_tensor_dataset_target(ds, 1, 0) == -2 && ag_tensor_dataset_target(ds, 1, 1) == 20);
    ck_assert_int_eq(ag_tensor_dataset_num_classes(ds), 0);
    ag_tensor_dataset_free(ds);
    /* NULL options: ',' and the last column one float target, f32; a BOM */
    ds = load_text(&d, "r.csv", "\xef\xbb\xbf" "1,2,0.5\n3,4,0.25\n", NULL);
    assert_features(ds, 2, 2, (const double[]){1, 2, 3, 4});
    ck_assert_int_eq(ag_tensor_dataset_dtype(ds), AG_F32);
    ck_assert(ag_tensor_dataset_target(ds, 1, 0) == 0.25);
    ag_tensor_dataset_free(ds);
    /* no targets; tabs between fields */
    o = (ag_csv_opts){0};
    o.ntargets = -1, o.delimiter = '\t';
    ds = load_text(&d, "r.csv", "1\t 2\n3 \t4\n", &o);
    assert_features(ds, 2, 2, (const double[]){1, 2, 3, 4});
    ck_assert_int_eq(ag_tensor_dataset_target_kind(ds), AG_TARGET_NONE);
    ck_assert_int_eq(ag_tensor_dataset_target_cols(ds), 0);
    ag_tensor_dataset_free(ds);
    /* non-finite values when allowed */
    o = (ag_csv_opts){0};
    o.allow_nonfinite = 1;
    ds = load_text(&d, "r.csv", "nan,-inf,1\n", &o);
    ck_assert(isnan(ag_tensor_dataset_feature(ds, 0, 0)));
    ck_assert(isinf(ag_tensor_dataset_feature(ds, 0, 1)) && ag_tensor_dataset_feature(ds, 0, 1) < 0);
    ag_tensor_dataset_free(ds);
    dio_dir_remove(&d);
}
END_TEST

/* Writes text and asserts the loader refuses it with a message naming the
   file and holding part. */
static void assert_refused(dio_dir *d, const char *text, size_t n, const ag_csv_opts *o,
                           const char *part)
{
    char p[128];
    ag_tensor_dataset *ds = ag_tensor_dataset_load_csv(dio_write(d, "bad.csv", text, n, p), o);
    dio_assert_fails(ds == NULL, "ag_tensor_dataset_load_csv: '", part);
    ck_assert_msg(strstr(ag_last_error(), "bad.csv': line ") != NULL, "%s", ag_last_error());
}

#define REFUSED(text, o, part) assert_refused(&d, text, strlen(text), o, part)

START_TEST(test_csv_refuses_malformed_files)
{
    dio_dir d;
    dio_dir_make(&d, "csv");
    ag_csv_opts h = {0};
    h.header = 1;
    REFUSED("", NULL, "line 1: empty file (no lines)");
    REFUSED("\n\r\n\n", NULL, "line 1: empty file (no lines)");
    REFUSED("\xef\xbb\xbf\n", NULL, "line 1: empty file (no lines)");
    REFUSED("a,b\n", &h, "line 1: a header line but no data lines");
    REFUSED("1,,3\n", NULL, "line 1, column 2: missing value (an empty field)");
    REFUSED("a,b,c\n1,2,3\n4,5,  \n", &h, "line 3, column 3: missing value");
    REFUSED("1,2\n\n3,4\n", NULL, "line 2: missing values (an empty line)");
    REFUSED("1,2\n3,abc\n", NULL, "line 2, column 2: 'abc' is not a number");
    REFUSED("1,2x\n", NULL, "line 1, column 2: '2x' is not a number");
    REFUSED("1,2\n3,4,5\n", NULL, "line 2: 3 fields, expected 2 (as line 1)");
    REFUSED("a,b,c\n1,2,3\n4,5\n", &h, "line 3: 2 fields, expected 3 (as line 1, the header)");
    REFUSED("1,2\n3,\"4\n", NULL, "line 2, column 2: a quote is not closed on its line");
    REFUSED("\"1\"x,2\n", NULL, "line 1, column 1: text after the closing quote");
    REFUSED("1,2\n3,nan\n", NULL, "line 2, column 2: 'nan' is not finite (allow_nonfinite");
    REFUSED("inf,2\n", NULL, "line 1, column 1: 'inf' is not finite");
    REFUSED("1e999,2\n", NULL, "line 1, column 1: '1e999' is beyond the range of a double");
    REFUSED("1e39,2\n", NULL, "line 1, column 1: '1e39' is beyond the range of f32 storage");
    assert_refused(&d, "1,2\n3,\0\n", 8, NULL, "line 2: a NUL byte: not a text file");
    ag_csv_opts f64 = {0};
    f64.dtype = AG_F64;
    ag_tensor_dataset *ds = load_text(&d, "ok.csv", "1e39,2\n", &f64);
    ck_assert(ag_tensor_dataset_feature(ds, 0, 0) == 1e39);
    ag_tensor_dataset_free(ds);
    dio_dir_remove(&d);
}
END_TEST

START_TEST(test_csv_refuses_bad_labels_and_target_columns)
{
    dio_dir d;
    dio_dir_make(&d, "csv");
    ag_csv_opts c = {0};
    c.class_targets = 1;
    REFUSED("1,0\n2,2.5\n", &c, "line 2, column 2: class label '2.5' is not a whole number");
    REFUSED("1,-1\n", &c, "line 1, column 2: class label '-1' is negative");
    REFUSED("1,nan\n", &c, "class label 'nan' is not a whole number");
    c.num_classes = 5;
    REFUSED("1,4\n2,7\n", &c, "line 2, column 2: class label '7' is not below num_classes 5");
    ag_csv_opts t = {0};
    t.ntargets = 1, t.targets = (const int[]){5};
    REFUSED("1,2,3\n", &t, "line 1: target column 5 does not exist (the line has 3 columns: 0 to "
            "2, or -1 to -3)");
    t.targets = (const int[]){-4};
    REFUSED("1,2,3\n", &t, "target column -4 does not exist");
    REFUSED("7\n", NULL, "line 1: 1 field: no column left for the features");
    char p[128];
    t.ntargets = 2, t.targets = (const int[]){0, -3};
    dio_assert_fails(!ag_tensor_dataset_load_csv(dio_write_text(&d, "t.csv", "1,2,3\n", p), &t),
                     "ag_tensor_dataset_load_csv: target column 0 is listed twice",
                     "(targets[1] = -3)");
    dio_dir_remove(&d);
}
END_TEST

START_TEST(test_csv_refuses_bad_paths_and_options)
{
    dio_dir d;
    char p[128];
    dio_dir_make(&d, "csv");
    dio_assert_fails(!ag_tensor_dataset_load_csv(dio_path(&d, "none.csv", p), NULL),
                     "none.csv': cannot open", "No such file");
    dio_assert_fails(!ag_tensor_dataset_load_csv(d.path, NULL), "not a regular file",
                     "(a directory)");
    ck_assert_int_eq(mkfifo(dio_path(&d, "fifo", p), 0600), 0);      /* never read, never blocks */
    snprintf(d.names[d.n++], 32, "fifo");
    dio_assert_fails(!ag_tensor_dataset_load_csv(p, NULL), "fifo': not a regular file",
                     "(a FIFO)");
    dio_write_text(&d, "ok.csv", "1,2\n", p);
    ag_csv_opts o = {0};
    o.delimiter = '"';
    dio_assert_fails(!ag_tensor_dataset_load_csv(p, &o), "load_csv", "delimiter may not be a quote");
    o = (ag_csv_opts){0};
    o.dtype = (ag_dtype)7;
    dio_assert_fails(!ag_tensor_dataset_load_csv(p, &o), "load_csv", "dtype 7 is not AG_F32");
    o = (ag_csv_opts){0};
    o.ntargets = 2;
    dio_assert_fails(!ag_tensor_dataset_load_csv(p, &o), "ntargets is 2", "targets is NULL");
    o.targets = (const int[]){0, 1}, o.class_targets = 1;
    dio_assert_fails(!ag_tensor_dataset_load_csv(p, &o), "2 target columns",
                     "class targets need exactly 1");
    o = (ag_csv_opts){0};
    o.num_classes = 3;
    dio_assert_fails(!ag_tensor_dataset_load_csv(p, &o), "num_classes 3", "only with class_targets");
    dio_assert_fails(!ag_tensor_dataset_load_csv(NULL, NULL), "load_csv", "path is NULL");
    dio_dir_remove(&d);
}
END_TEST

Suite *suite_csv(void)
{
    Suite *s = suite_create("csv");
    TU_ADD(s, test_csv_header_quotes_and_class_column);
    TU_ADD(s, test_csv_regression_targets_and_defaults);
    TU_ADD(s, test_csv_refuses_malformed_files);
    TU_ADD(s, test_csv_refuses_bad_labels_and_target_columns);
    TU_ADD(s, test_csv_refuses_bad_paths_and_options);
    return s;
}
