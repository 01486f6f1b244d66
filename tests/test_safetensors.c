/*
** test_safetensors.c: the safetensors format. The strict JSON parser;
** files byte-identical to the reference writer's (its published test
** vectors and a hand-built header); module round trips bit for bit;
** truncated, corrupted, wrong-shape, wrong-dtype and wrong-name files
** refused with a message and the module untouched; saves that fail (no
** such directory, a path under a regular file, a write cut short) leaving
** the old file byte-identical and no temporary file; the reader API and
** argument errors; a cross-check with the NumPy twin
** tests/safetensors_reader.py in both directions.
*/
#include "st_test_util.h"
#include "json_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

extern char **environ;

/* ------------------------------------------------------------- JSON --- */

static int parse(agi_json *d, const char *text, char *err)
{
    return agi_json_parse(d, text, strlen(text), 1, err, 160);
}

START_TEST(test_json_parser_reads_the_subset)
{
    agi_json d;
    char err[160];
    const char *text = "{\"a\":[1,-2,0,9223372036854775807],\"b\":{\"c\":\"q\\\"\\\\\\/\\b\\f\\n"
                       "\\r\\t\\u00e9\\ud83d\\ude00\xc3\xa9\"},\"e\":{},\"f\":[]}   \n";
    ck_assert_msg(parse(&d, text, err) == 0, "%s", err);
    const agi_json_node *root = &d.nodes[0];
    ck_assert_int_eq(root->kind, AGI_JSON_OBJECT);
    ck_assert_int_eq(root->count, 4);
    int a = root->child, b = d.nodes[a].next;
    ck_assert_str_eq(agi_json_key(&d, a), "a");
    ck_assert_int_eq(d.nodes[a].count, 4);
    int64_t want[4] = {1, -2, 0, INT64_MAX}, k = 0;
    for (int e = d.nodes[a].child; e >= 0; e = d.nodes[e].next, k++)
        ck_assert_int_eq(d.nodes[e].num, want[k]);
    int c = d.nodes[b].child;
    ck_assert_str_eq(agi_json_key(&d, c), "c");
    /* every escape decoded; the surrogate pair is U+1F600 (F0 9F 98 80) */
    ck_assert_str_eq(agi_json_str(&d, c), "q\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80\xc3\xa9");
    ck_assert_int_eq(d.nodes[d.nodes[b].next].count, 0);
    agi_json_free(&d);
}
END_TEST

START_TEST(test_json_parser_refuses_what_is_not_strict_json)
{
    static const struct { const char *text, *why; } bad[] = {
        {"", "expected '{'"},            {" {}", "expected '{'"},
        {"[1]", "expected '{'"},         {"{\"a\":1,}", "expected a string"},
        {"{\"a\":01}", "leading zero"},  {"{\"a\":1.5}", "only integers"},
        {"{\"a\":1e3}", "only integers"}, {"{\"a\":true}", "expected an object"},
        {"{\"a\":null}", "expected an object"}, {"{\"a\" 1}", "expected ':'"},
        {"{\"a\":1} x", "unexpected text"}, {"{\"a\":1", "expected ',' or '}'"},
        {"{\"a\":[1 2]}", "expected ',' or ']'"}, {"{\"a\":\"x}", "unterminated"},
        {"{\"a\":\"\x01\"}", "control character"}, {"{\"a\":\"\xff\"}", "invalid UTF-8"},
        {"{\"a\":\"\xc0\xaf\"}", "invalid UTF-8"}, {"{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8"},
        {"{\"a\":\"\\udc00\"}", "lone low surrogate"}, {"{\"a\":\"\\ud800x\"}", "high surrogate"},
        {"{\"a\":\"\\u00zz\"}", "4 hex digits"}, {"{\"a\":\"\\x\"}", "unknown escape"},
        {"{\"a\":\"\\u0000\"}", "\\u0000"}, {"{\"a\":99999999999999999999}", "too large"},
        {"{\"a\":-}", "expected a digit"},
    };
    agi_json d;
    char err[160];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int r = parse(&d, bad[i].text, err);
        ck_assert_msg(r == -1, "accepted '%s'", bad[i].text);
        ck_assert_msg(strstr(err, bad[i].why) && strstr(err, "at byte"),
                      "'%s': message '%s' lacks '%s'", bad[i].text, err, bad[i].why);
        agi_json_free(&d);
    }
    /* nesting is bounded (no stack overflow on hostile input) */
    char deep[300] = "{\"a\":";
    for (int i = 0; i < 200; i++) strcat(deep, "[");
    ck_assert_int_eq(parse(&d, deep, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "nesting too deep"));
    agi_json_free(&d);
    ck_assert_int_eq(agi_json_valid_utf8("\xe2\x82\xac", 3), 1);
    ck_assert_int_eq(agi_json_valid_utf8("\xe2\x82", 2), 0);
}
END_TEST

/* ------------------------------------------------ the exact bytes --- */

/* Asserts path holds 8-byte length, header text padded, then data. */
static void assert_file_bytes(const char *path, const char *header, const unsigned char *data,
                              size_t data_len)
{
    size_t n, hl = strlen(header), padded = (hl + 7) / 8 * 8;
    unsigned char *b = tu_read(path, &n);
    ck_assert_uint_eq(n, 8 + padded + data_len);
    for (int i = 0; i < 8; i++) ck_assert_uint_eq(b[i], (padded >> (8 * i)) & 0xFF);
    ck_assert_msg(!memcmp(b + 8, header, hl), "header is '%.*s'", (int)padded, (char *)b + 8);
    for (size_t i = hl; i < padded; i++) ck_assert_uint_eq(b[8 + i], ' ');
    ck_assert_msg(!data_len || !memcmp(b + 8 + padded, data, data_len), "data differs");
    free(b);
}

START_TEST(test_writer_matches_the_reference_vectors)
{
    /* the reference implementation's own test vectors (tensor.rs) */
    tu_dir d;
    tu_dir_make(&d);
    static const unsigned char f0to5[24] = {0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64,
                                            0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64};
    const float vals[6] = {0, 1, 2, 3, 4, 5};
    ag_st_tensor t = {"attn.0", "F32", 3, SHAPE(1, 2, 3), vals};
    ck_assert_int_eq(ag_safetensors_write(tu_path(&d, "a.st"), 1, &t, 0, NULL), AG_OK);
    assert_file_bytes(tu_path(&d, "a.st"),
                      "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}",
                      f0to5, 24);
    t = (ag_st_tensor){"attn0", "F32", 4, SHAPE(1, 1, 2, 3), vals};   /* forces 7 spaces */
    ck_assert_int_eq(ag_safetensors_write(tu_path(&d, "b.st"), 1, &t, 0, NULL), AG_OK);
    assert_file_bytes(tu_path(&d, "b.st"),
                      "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}",
                      f0to5, 24);
    ck_assert_int_eq(ag_safetensors_write(tu_path(&d, "c.st"), 0, NULL, 0, NULL), AG_OK);
    assert_file_bytes(tu_path(&d, "c.st"), "{}", NULL, 0);
    const char *kv[2] = {"framework", "pt"};
    ck_assert_int_eq(ag_safetensors_write(tu_path(&d, "d.st"), 0, NULL, 1, kv), AG_OK);
    assert_file_bytes(tu_path(&d, "d.st"), "{\"__metadata__\":{\"framework\":\"pt\"}}", NULL, 0);
    tu_dir_remove(&d);
}
END_TEST

START_TEST(test_writer_orders_by_alignment_then_name)
{
    /* given b, z, a, c and metadata b, a: written U64 z, F64 c, F32 a, F32 b
       (the reference's order), metadata keys sorted, strings escaped */
    tu_dir d;
    tu_dir_make(&d);
    const float b[2] = {1, 2}, a[1] = {3};
    const double c = 0.5;
    const uint64_t z = 0x0102030405060708u;
    ag_st_tensor t[4] = {{"b", "F32", 1, SHAPE(2), b}, {"z", "U64", 1, SHAPE(1), &z},
                         {"a", "F32", 1, SHAPE(1), a}, {"c\"\t", "F64", 0, NULL, &c}};
    const char *kv[4] = {"b", "2", "a", "\x01\\"};
    ck_assert_int_eq(ag_safetensors_write(tu_path(&d, "x.st"), 4, t, 2, kv), AG_OK);
    static const unsigned char data[28] = {
        8, 7, 6, 5, 4, 3, 2, 1,                 /* z, little-endian */
        0, 0, 0, 0, 0, 0, 0xE0, 0x3F,           /* c = 0.5 */
        0, 0, 0x40, 0x40,                       /* a = 3 */
        0, 0, 0x80, 0x3F, 0, 0, 0, 0x40};       /* b = 1, 2 */
    assert_file_bytes(tu_path(&d, "x.st"),
                      "{\"__metadata__\":{\"a\":\"\\u0001\\\\\",\"b\":\"2\"},"
                      "\"z\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                      "\"c\\\"\\t\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[8,16]},"
                      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]},"
                      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[20,28]}}",
                      data, 28);
    /* and it reads back: names unescaped, metadata, values */
    ag_safetensors *f;
    ck_assert_int_eq(ag_safetensors_open(tu_path(&d, "x.st"), &f), AG_OK);
    ck_assert_int_eq(ag_safetensors_count(f), 4);
    ck_assert_int_eq(ag_safetensors_find(f, "c\"\t"), 1);
    ck_assert_str_eq(ag_safetensors_meta(f, "a"), "\x01\\");
    ck_assert_int_eq(ag_safetensors_meta_count(f), 2);
    ck_assert_str_eq(ag_safetensors_meta_key(f, 1), "b");
    ck_assert_ptr_null(ag_safetensors_meta_key(f, 2));
    ck_assert_ptr_null(ag_safetensors_meta(f, "none"));
    uint64_t z2 = 0;
    ck_assert_int_eq(ag_safetensors_read(f, "z", "U64", 1, SHAPE(1), &z2), AG_OK);
    ck_assert(z2 == z);
    ag_st_info info;
    ck_assert_int_eq(ag_safetensors_info(f, 3, &info), AG_OK);
    ck_assert_str_eq(info.name, "b");
    ck_assert_str_eq(info.dtype, "F32");
    ck_assert_int_eq(info.ndim, 1);
    ck_assert_int_eq(info.shape[0], 2);
    ck_assert_int_eq(info.nbytes, 8);
    ag_safetensors_close(f);
    tu_dir_remove(&d);
}
END_TEST

/* ------------------------------------------------------ round trips --- */

START_TEST(test_module_round_trip_is_bit_identical)
{
    tu_dir d;
    tu_dir_make(&d);
    ag_module *a = tu_toy_new(1, 4, "head"), *b = tu_toy_new(2, 4, "head");
    ag_tensor_set(ag_module_get(a, "bias"), 0, NAN);       /* any bits survive */
    ag_tensor_set(ag_module_get(a, "bias"), 1, -0.0);
    tu_snap sa;
    tu_snap_module(&sa, a);
    ck_assert_int_eq(ag_module_save(a, tu_path(&d, "m.st")), AG_OK);
    ck_assert_int_eq(tu_dir_count(&d, ".tmp."), 0);           /* no temporary left */
    ag_named_tensor lb[TU_MAX_SNAP];
    int n = ag_module_named_tensors(b, lb, TU_MAX_SNAP, 1);
    ck_assert(!tu_same_bits(lb[0].tensor, sa.copy[0]));       /* b starts different */
    ck_assert_int_eq(ag_module_load(b, tu_path(&d, "m.st")), AG_OK);
    tu_snap_assert_equals(&sa, n, lb);                        /* params and buffers */
    /* saving again gives the same bytes; saving over a file replaces it */
    size_t n1, n2;
    unsigned char *b1 = tu_read(tu_path(&d, "m.st"), &n1);
    ck_assert_int_eq(ag_module_save(b, tu_path(&d, "m.st")), AG_OK);
    unsigned char *b2 = tu_read(tu_path(&d, "m.st"), &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert(!memcmp(b1, b2, n1));
    free(b1), free(b2);
    tu_snap_free(&sa);
    ag_module_free(a), ag_module_free(b);
    tu_dir_remove(&d);
}
END_TEST

START_TEST(test_load_flags_and_named_lists)
{
    tu_dir d;
    tu_dir_make(&d);
    ag_tensor *x = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_tensor *y = tu_tensor(AG_F32, 2, SHAPE(1, 2), VALS(3, 4));
    ag_named_tensor src[2] = {{"x", x, 0}, {"y", y, 0}};
    ck_assert_int_eq(ag_safetensors_save(tu_path(&d, "s.st"), 2, src, 0, NULL), AG_OK);
    ag_tensor *x2 = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 0));
    ag_tensor *z2 = tu_tensor(AG_F64, 1, SHAPE(2), VALS(7, 7));
    ag_named_tensor dst[2] = {{"x", x2, 0}, {"z", z2, 0}};
    /* strict: y has no destination; z is not in the file */
    tu_assert_failed(ag_safetensors_load(tu_path(&d, "s.st"), 1, dst, AG_LOAD_STRICT),
                     AG_ERR_FORMAT, "ag_safetensors_load", "unexpected tensor 'y'", "s.st");
    tu_assert_failed(ag_safetensors_load(tu_path(&d, "s.st"), 2, dst, AG_LOAD_ALLOW_EXTRA),
                     AG_ERR_FORMAT, "tensor 'z' is missing from the file", NULL, NULL);
    tu_assert_values(x2, VALS(0, 0), 2, 0);                     /* all or nothing */
    ck_assert_int_eq(ag_safetensors_load(tu_path(&d, "s.st"), 2, dst,
                                         AG_LOAD_ALLOW_EXTRA | AG_LOAD_ALLOW_MISSING), AG_OK);
    tu_assert_values(x2, VALS(1, 2), 2, 0);
    tu_assert_values(z2, VALS(7, 7), 2, 0);                     /* missing: kept */
    /* dtypes convert (y is F32 in the file), shapes do not */
    ag_tensor *y64 = tu_tensor(AG_F64, 2, SHAPE(1, 2), VALS(0, 0));
    ag_named_tensor dy = {"y", y64, 0};
    ck_assert_int_eq(ag_safetensors_load(tu_path(&d, "s.st"), 1, &dy, AG_LOAD_ALLOW_EXTRA), AG_OK);
    tu_assert_values(y64, VALS(3, 4), 2, 0);
    ag_tensor *y21 = tu_tensor(AG_F64, 2, SHAPE(2, 1), VALS(0, 0));
    ag_named_tensor dy21 = {"y", y21, 0};
    tu_assert_failed(ag_safetensors_load(tu_path(&d, "s.st"), 1, &dy21, AG_LOAD_ALLOW_EXTRA),
                     AG_ERR_FORMAT, "tensor 'y' is F32 [1,2] in the file, but the destination is "
                     "F64 [2,1]", NULL, NULL);
    ag_tensor_free(y21);
    /* bad destinations */
    ag_named_tensor dup[2] = {{"x", x2, 0}, {"x", z2, 0}};
    tu_assert_failed(ag_safetensors_load(tu_path(&d, "s.st"), 2, dup, AG_LOAD_ALLOW_EXTRA),
                     AG_ERR_ARG, "destination name 'x' repeats", NULL, NULL);
    ag_tape *t = ag_tape_new();
    ag_named_tensor tape_dst = {"x", ag_zeros(t, AG_F64, 1, SHAPE(2)), 0};
    tu_assert_failed(ag_safetensors_load(tu_path(&d, "s.st"), 1, &tape_dst, AG_LOAD_ALLOW_EXTRA),
                     AG_ERR_ARG, "destination 'x' is a tape tensor", NULL, NULL);
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(y), ag_tensor_free(x2), ag_tensor_free(z2);
    ag_tensor_free(y64);
    tu_dir_remove(&d);
}
END_TEST

/* ------------------------------------------------- refusing files --- */

/* Asserts loading path into m fails with the parts in the message and
   leaves m as snap s recorded. */
static void assert_refused(ag_module *m, const tu_snap *s, const char *path, const char *part1,
                           const char *part2)
{
    tu_assert_failed(ag_module_load(m, path), AG_ERR_FORMAT, "ag_module_load", path, part1);
    if (part2) ck_assert_msg(strstr(ag_last_error(), part2), "'%s' lacks '%s'", ag_last_error(),
                             part2);
    tu_snap_assert_same(s);
}

START_TEST(test_truncated_files_are_refused)
{
    tu_dir d;
    tu_dir_make(&d);
    ag_module *a = tu_toy_new(1, 4, "head"), *b = tu_toy_new(2, 4, "head");
    const char *good = tu_path(&d, "good.st"), *cut = tu_path(&d, "cut.st");
    ck_assert_int_eq(ag_module_save(a, good), AG_OK);
    size_t n;
    unsigned char *buf = tu_read(good, &n);
    size_t hl = buf[0] | (size_t)buf[1] << 8;       /* small header: two bytes suffice */
    tu_snap sb;
    tu_snap_module(&sb, b);
    const struct { size_t at; const char *why; } cuts[] = {
        {0, "file is 0 bytes, too short"}, {5, "file is 5 bytes, too short"},
        {8, "runs past the end of the file"}, {8 + hl / 2, "runs past the end of the file"},
        {8 + hl - 1, "runs past the end of the file"}, {8 + hl, "run past the end of the data"},
        {8 + hl + 13, "run past the end of the data"}, {n - 1, "run past the end of the data"},
    };
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        tu_write(cut, buf, cuts[i].at);
        assert_refused(b, &sb, cut, cuts[i].why, NULL);
    }
    /* and a byte too many is refused too */
    unsigned char *more = malloc(n + 1);
    memcpy(more, buf, n);
    more[n] = 0;
    tu_write(cut, more, n + 1);
    assert_refused(b, &sb, cut, "1 bytes after the last tensor's data belong to no tensor", NULL);
    free(more);
    free(buf);
    tu_snap_free(&sb);
    ag_module_free(a), ag_module_free(b);
    tu_dir_remove(&d);
}
END_TEST

/* Copies src to dst with the header length changed to hl (the value). */
static void set_header_length(const char *src, const char *dst, uint64_t hl)
{
    size_t n;
    unsigned char *b = tu_read(src, &n);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hl >> (8 * i));
    tu_write(dst, b, n);
    free(b);
}

/* The toy module with 4 columns is laid out as
     head.num_batches F64 [] [0,8]     bias F32 [4] [8,24]
     head.running_mean F32 [4] [24,40] head.v F32 [4,1] [40,56]
     weight F32 [3,4] [56,104]
   (F64 first, then the F32 names in byte order). */
START_TEST(test_corrupted_files_are_refused)
{
    tu_dir d;
    tu_dir_make(&d);
    ag_module *a = tu_toy_new(1, 4, "head"), *b = tu_toy_new(2, 4, "head");
    const char *good = tu_path(&d, "good.st"), *bad = tu_path(&d, "bad.st");
    ck_assert_int_eq(ag_module_save(a, good), AG_OK);
    tu_snap sb;
    tu_snap_module(&sb, b);
    size_t n;
    unsigned char *buf = tu_read(good, &n);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | buf[i];
    ck_assert_uint_eq(n, 8 + hl + 104);
    ck_assert(tu_find(buf, n, "\"head.running_mean\":{\"dtype\":\"F32\",\"shape\":[4],"
                              "\"data_offsets\":[24,40]}") > 0);   /* the layout above */
    /* the header length: longer (data read as JSON), shorter, past the end, absurd */
    const struct { uint64_t hl; const char *why; } lengths[] = {
        {hl + 8, "invalid JSON header"}, {hl - 8, "invalid JSON header"},
        {hl + 105, "runs past the end of the file"}, {hl | (uint64_t)1 << 56, "is absurd"},
        {AG_SAFETENSORS_MAX_HEADER + 1, "is absurd"}, {0, "invalid JSON header"},
    };
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        set_header_length(good, bad, lengths[i].hl);
        assert_refused(b, &sb, bad, lengths[i].why, NULL);
    }
    /* the JSON and the entries, each patched in place (same length) */
    static const struct { const char *from, *to, *why1, *why2; } patches[] = {
        {"{\"__meta", "[\"__meta", "invalid JSON header: at byte 0", "expected '{'"},
        {"\"bias\":", "\"bias\";", "invalid JSON header", "expected ':' after a key"},
        {"[4,1]", "[4,-]", "invalid JSON header", "expected a digit"},
        {"\"F64\"", "\"F65\"", "tensor 'head.num_batches': unknown dtype 'F65'", NULL},
        {"\"dtype\"", "\"dtypf\"", "tensor 'head.num_batches': unexpected key 'dtypf'", NULL},
        {"[4,1]", "[\"4\"]", "tensor 'head.v': shape is not a list", NULL},
        {"[24,40]", "[24,44]", "tensor 'head.running_mean': data_offsets [24,44] hold 20 bytes, "
                               "but shape [4] of F32 needs 16", NULL},
        {"[24,40]", "[40,24]", "tensor 'head.running_mean': data_offsets is not [begin, end]",
         NULL},
        {"[40,56]", "[36,52]", "tensor 'head.v': data_offsets [36,52] overlap tensor "
                               "'head.running_mean' [24,40]", NULL},
        {"[56,104]", "[99,147]", "tensor 'weight': data_offsets [99,147] run past the end of "
                                 "the data (104 bytes", NULL},
        {"[4],\"data_offsets\":[8,24]", "[2],\"data_offsets\":[8,16]",
         "data bytes 16 to 24 belong to no tensor (before tensor 'head.running_mean')", NULL},
        {"[3,4],\"data_offsets\":[56,104]", "[2,4],\"data_offsets\":[56,88] ",
         "16 bytes after the last tensor's data belong to no tensor", NULL},
        {"\"head.v\"", "\"bias\"  ", "tensor 'bias' appears twice", NULL},
        {"[3,4]", "[4,3]", "tensor 'weight' is F32 [4,3] in the file, but the destination is "
                           "F32 [3,4]", NULL},
        {"\"bias\"", "\"bia2\"", "tensor 'bias' is missing from the file", NULL},
    };
    for (size_t i = 0; i < sizeof patches / sizeof patches[0]; i++) {
        tu_patch(good, bad, patches[i].from, patches[i].to);
        assert_refused(b, &sb, bad, patches[i].why1, patches[i].why2);
    }
    /* the good file still loads */
    ck_assert_int_eq(ag_module_load(b, good), AG_OK);
    free(buf);
    tu_snap_free(&sb);
    ag_module_free(a), ag_module_free(b);
    tu_dir_remove(&d);
}
END_TEST

START_TEST(test_wrong_shape_and_name_files_are_refused)
{
    tu_dir d;
    tu_dir_make(&d);
    ag_module *four = tu_toy_new(1, 4, "head"), *five = tu_toy_new(2, 5, "head");
    ag_module *other = tu_toy_new(3, 4, "tail");
    ck_assert_int_eq(ag_module_save(four, tu_path(&d, "four.st")), AG_OK);
    tu_snap s5, so;
    tu_snap_module(&s5, five);
    tu_snap_module(&so, other);
    assert_refused(five, &s5, tu_path(&d, "four.st"), "tensor 'weight' is F32 [3,4] in the file, "
                   "but the destination is F32 [3,5]", NULL);
    assert_refused(other, &so, tu_path(&d, "four.st"), "the file holds a Toy(head: Toy), "
                   "the module is a Toy(tail: Toy)", NULL);
    ag_named_tensor plain[8];                   /* without the metadata: the tensors decide */
    int np = ag_module_named_tensors(four, plain, 8, 1);
    ck_assert_int_eq(ag_safetensors_save(tu_path(&d, "plain.st"), np, plain, 0, NULL), AG_OK);
    assert_refused(other, &so, tu_path(&d, "plain.st"), "tensor 'tail.v' is missing", NULL);
    /* a file with one tensor more than the module */
    ag_named_tensor list[8];
    int n = ag_module_named_tensors(four, list, 7, 1);
    list[n] = (ag_named_tensor){"extra", list[0].tensor, 0};
    ck_assert_int_eq(ag_safetensors_save(tu_path(&d, "extra.st"), n + 1, list, 0, NULL), AG_OK);
    tu_snap_free(&so);
    ag_module_free(other);
    other = tu_toy_new(3, 4, "head");
    tu_snap_module(&so, other);
    assert_refused(other, &so, tu_path(&d, "extra.st"), "unexpected tensor 'extra'", NULL);
    tu_snap_free(&s5), tu_snap_free(&so);
    ag_module_free(four), ag_module_free(five), ag_module_free(other);
    tu_dir_remove(&d);
}
END_TEST

/* ----------------------------------------------------- failing saves --- */

START_TEST(test_failed_save_leaves_the_old_file)
{
    tu_dir d;
    tu_dir_make(&d);
    ag_module *a = tu_toy_new(1, 4, "head"), *b = tu_toy_new(2, 4, "head");
    /* a path under a regular file, and a directory that does not exist */
    tu_write(tu_path(&d, "plain"), "x", 1);
    const char *under = tu_path(&d, "plain/x.st");
    tu_assert_failed(ag_module_save(a, under), AG_ERR_IO, "ag_module_save", under,
                     "Not a directory");
    const char *nodir = tu_path(&d, "no/such/dir/x.st");
    tu_assert_failed(ag_module_save(a, nodir), AG_ERR_IO, "ag_module_save", nodir,
                     "No such file or directory");
    /* a write cut short (the disk "fills up" at 100 bytes): root can be
       stopped this way, where file modes would not stop it */
    const char *path = tu_path(&d, "m.st");
    ck_assert_int_eq(ag_module_save(a, path), AG_OK);
    size_t n0, n1;
    unsigned char *before = tu_read(path, &n0);
    tu_fsize lim;
    tu_fsize_limit(&lim, 100);
    ag_status s = ag_module_save(b, path);
    tu_fsize_restore(&lim);
    tu_assert_failed(s, AG_ERR_IO, "ag_module_save", path,
                     "writing the temporary file failed: File too large");
    unsigned char *after = tu_read(path, &n1);
    ck_assert_uint_eq(n0, n1);
    ck_assert_msg(!memcmp(before, after, n0), "the old file changed");
    ck_assert_int_eq(tu_dir_count(&d, ".tmp."), 0);           /* temporary removed */
    free(before), free(after);
    /* the rename fails: the target is a directory (with a file in it) */
    const char *dir = tu_path(&d, "adir");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    tu_write(tu_path(&d, "adir/inside"), "y", 1);
    tu_assert_failed(ag_module_save(a, dir), AG_ERR_IO, "ag_module_save", dir,
                     "cannot rename the temporary file over it: Is a directory");
    ck_assert_int_eq(tu_dir_count(&d, ".tmp."), 0);
    unlink(tu_path(&d, "adir/inside"));
    rmdir(dir);
    /* a replaced file keeps its mode */
    chmod(path, 0600);
    ck_assert_int_eq(ag_module_save(b, path), AG_OK);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ag_module_free(a), ag_module_free(b);
    tu_dir_remove(&d);
}
END_TEST

START_TEST(test_argument_errors)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *p = tu_path(&d, "x.st");
    const double v[2] = {1, 2};
    ag_st_tensor two[2] = {{"a", "F64", 1, SHAPE(2), v}, {"a", "F32", 0, NULL, v}};
    tu_assert_failed(ag_safetensors_write(p, 2, two, 0, NULL), AG_ERR_ARG,
                     "ag_safetensors_write", "tensor name 'a' repeats", NULL);
    two[1].name = "__metadata__";
    tu_assert_failed(ag_safetensors_write(p, 2, two, 0, NULL), AG_ERR_ARG, "bad name", NULL, NULL);
    two[1].name = "\xff";
    tu_assert_failed(ag_safetensors_write(p, 2, two, 0, NULL), AG_ERR_ARG, "bad name", NULL, NULL);
    two[1] = (ag_st_tensor){"b", "F16x", 0, NULL, v};
    tu_assert_failed(ag_safetensors_write(p, 2, two, 0, NULL), AG_ERR_ARG,
                     "tensor 'b' has unknown dtype 'F16x'", NULL, NULL);
    two[1] = (ag_st_tensor){"b", "F64", 1, SHAPE(-1), v};
    tu_assert_failed(ag_safetensors_write(p, 2, two, 0, NULL), AG_ERR_ARG, "bad shape", NULL, NULL);
    two[1] = (ag_st_tensor){"b", "F64", 1, SHAPE(2), NULL};
    tu_assert_failed(ag_safetensors_write(p, 2, two, 0, NULL), AG_ERR_ARG, "no data", NULL, NULL);
    const char *kv[4] = {"k", "1", "k", "2"};
    tu_assert_failed(ag_safetensors_write(p, 1, two, 2, kv), AG_ERR_ARG,
                     "metadata key 'k' repeats", NULL, NULL);
    kv[2] = NULL;
    tu_assert_failed(ag_safetensors_write(p, 1, two, 2, kv), AG_ERR_ARG, "metadata key 1", NULL,
                     NULL);
    tu_assert_failed(ag_safetensors_write(NULL, 0, NULL, 0, NULL), AG_ERR_ARG, "path", NULL, NULL);
    ck_assert_int_eq(access(p, F_OK), -1);                  /* nothing was written */
    ag_named_tensor nul = {"n", NULL, 0};
    tu_assert_failed(ag_safetensors_save(p, 1, &nul, 0, NULL), AG_ERR_ARG,
                     "ag_safetensors_save: ", p, ": tensor 'n' is NULL");
    tu_assert_failed(ag_module_save(NULL, p), AG_ERR_ARG, "ag_module_save: module is NULL", NULL,
                     NULL);
    tu_assert_failed(ag_module_load(NULL, p), AG_ERR_ARG, "ag_module_load: module is NULL", NULL,
                     NULL);
    /* the reader */
    ag_safetensors *f = (ag_safetensors *)&d;
    tu_assert_failed(ag_safetensors_open(p, &f), AG_ERR_IO, "ag_safetensors_open", p,
                     "cannot open: No such file or directory");
    ck_assert_ptr_null(f);
    tu_assert_failed(ag_safetensors_open(d.path, &f), AG_ERR_IO, "a directory", NULL, NULL);
    ck_assert_int_eq(ag_safetensors_write(p, 1, two, 0, NULL), AG_OK);
    ck_assert_int_eq(ag_safetensors_open(p, &f), AG_OK);
    ag_st_info info;
    tu_assert_failed(ag_safetensors_info(f, 1, &info), AG_ERR_ARG, "no tensor 1 (the file has 1)",
                     NULL, NULL);
    double out[2] = {5, 5};
    tu_assert_failed(ag_safetensors_read(f, "a", "F32", 1, SHAPE(2), out), AG_ERR_FORMAT,
                     "ag_safetensors_read", "tensor 'a' is F64 [2] in the file, but the "
                     "destination is F32 [2]", NULL);
    tu_assert_failed(ag_safetensors_read(f, "a", "F64", 2, SHAPE(1, 2), out), AG_ERR_FORMAT,
                     "destination is F64 [1,2]", NULL, NULL);
    ck_assert(out[0] == 5 && out[1] == 5);
    ck_assert_int_eq(ag_safetensors_read(f, "a", "F64", 1, SHAPE(2), out), AG_OK);
    ck_assert(out[0] == 1 && out[1] == 2);
    ck_assert_int_eq(ag_safetensors_find(f, "zz"), -1);
    ck_assert_int_eq(ag_safetensors_count(NULL), 0);
    ag_safetensors_close(f);
    ag_safetensors_close(NULL);
    tu_dir_remove(&d);
}
END_TEST

/* -------------------------------------------------- the NumPy twin --- */

#define TWIN "tests/safetensors_reader.py"
#define PYTHON "/usr/bin/python3"

/* Runs argv (argv[0] a path) and returns its exit status, -1 if it could
   not run or died. quiet sends its output to /dev/null. */
static int run_opt(const char *const *argv, int quiet)
{
    pid_t pid;
    int st, r;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (quiet) {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    }
    r = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0 || waitpid(pid, &st, 0) < 0) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run(const char *const *argv) { return run_opt(argv, 0); }

static void spec_hex(FILE *f, const char *s)
{
    fputc(' ', f);
    for (; *s; s++) fprintf(f, "%02x", (unsigned char)*s);
}

/* Writes tensors and metadata in the twin's EXPECTED/SPEC format. */
static void write_spec(const char *path, int n, const ag_st_tensor *t, int n_meta,
                       const char *const *kv)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < n_meta; i++) {
        fputs("meta", f);
        spec_hex(f, kv[2 * i]);
        spec_hex(f, kv[2 * i + 1]);
        fputc('\n', f);
    }
    for (int i = 0; i < n; i++) {
        int64_t numel = 1;
        int size = strcmp(t[i].dtype, "F32") ? 8 : 4;
        fputs("tensor", f);
        spec_hex(f, t[i].name);
        fprintf(f, " %s %d", t[i].dtype, t[i].ndim);
        for (int k = 0; k < t[i].ndim; k++) fprintf(f, " %lld", (long long)t[i].shape[k]);
        for (int k = 0; k < t[i].ndim; k++) numel *= t[i].shape[k];
        for (int64_t k = 0; k < numel; k++) {
            uint64_t bits = 0;
            uint32_t b32;
            if (size == 4) memcpy(&b32, (const char *)t[i].data + 4 * k, 4), bits = b32;
            else memcpy(&bits, (const char *)t[i].data + 8 * k, 8);
            fprintf(f, size == 4 ? " %08llx" : " %016llx", (unsigned long long)bits);
        }
        fputc('\n', f);
    }
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_numpy_twin_reads_and_writes_the_same_files)
{
    if (access(PYTHON, X_OK) != 0) {
        printf("safetensors: the NumPy cross-check is SKIPPED: %s not found\n", PYTHON);
        return;
    }
    if (run_opt((const char *const[]){PYTHON, "-c", "import numpy", NULL}, 1) != 0) {
        printf("safetensors: the NumPy cross-check is SKIPPED: %s cannot import numpy "
               "(apt-get install python3-numpy)\n", PYTHON);
        return;
    }
    ck_assert_msg(access(TWIN, R_OK) == 0, "%s not found: run the tests from the repository root",
                  TWIN);
    tu_dir d;
    tu_dir_make(&d);
    const float w[6] = {1.0f / 3, -0.0f, INFINITY, NAN, 1e-45f, -2.5f};
    const double b[4] = {3.141592653589793, -1e300, 5e-324, 0.1}, s = 42;
    const uint64_t u[4] = {0, UINT64_MAX, 0x8000000000000001u, 12345};
    const ag_st_tensor t[5] = {
        {"layer.0/w\"\xc3\xa9\t", "F32", 2, SHAPE(2, 3), w}, {"bias", "F64", 1, SHAPE(4), b},
        {"rng.state", "U64", 1, SHAPE(4), u}, {"scalar", "F64", 0, NULL, &s},
        {"empty", "F32", 2, SHAPE(0, 3), NULL}};
    const char *kv[4] = {"format", "pt", "note", "\xc3\xbcn\"q\"\n"};
    /* C writes, NumPy reads, compares, and checks every byte of the file */
    const char *file = tu_path(&d, "c.st"), *expect = tu_path(&d, "expect.txt");
    ck_assert_int_eq(ag_safetensors_write(file, 5, t, 2, kv), AG_OK);
    write_spec(expect, 5, t, 2, kv);
    ck_assert_int_eq(run((const char *const[]){PYTHON, TWIN, "check", file, expect, NULL}), 0);
    /* the check can fail: one bit off in the expectation (its complaint hidden) */
    const float w2[6] = {1.0f / 3, 0.0f, INFINITY, NAN, 1e-45f, -2.5f};
    ag_st_tensor t2[5];
    memcpy(t2, t, sizeof t2);
    t2[0].data = w2;
    write_spec(expect, 5, t2, 2, kv);
    ck_assert_int_eq(run_opt((const char *const[]){PYTHON, TWIN, "check", file, expect, NULL}, 1),
                     1);
    /* NumPy writes (from a spec), C reads */
    const float v[6] = {0.5f, -1.25f, 3e38f, -1e-40f, 7, 8};
    const double c[4] = {-0.0, 1.0 / 7, 2e-310, -3};
    const ag_st_tensor t3[3] = {{"v", "F32", 2, SHAPE(3, 2), v}, {"c", "F64", 1, SHAPE(4), c},
                                {"rng.state", "U64", 1, SHAPE(4), u}};
    const char *spec = tu_path(&d, "spec.txt"), *pyfile = tu_path(&d, "py.st");
    write_spec(spec, 3, t3, 1, kv);
    ck_assert_int_eq(run((const char *const[]){PYTHON, TWIN, "write", pyfile, spec, NULL}), 0);
    ag_tensor *vt = ag_zeros(NULL, AG_F32, 2, SHAPE(3, 2));
    ag_tensor *ct = ag_zeros(NULL, AG_F64, 1, SHAPE(4));
    ag_named_tensor dst[2] = {{"v", vt, 0}, {"c", ct, 0}};
    ck_assert_int_eq(ag_safetensors_load(pyfile, 2, dst, AG_LOAD_ALLOW_EXTRA), AG_OK);
    ck_assert(!memcmp(ag_tensor_data(vt), v, sizeof v));
    ck_assert(!memcmp(ag_tensor_data(ct), c, sizeof c));
    ag_safetensors *f;
    uint64_t u2[4];
    ck_assert_int_eq(ag_safetensors_open(pyfile, &f), AG_OK);
    ck_assert_int_eq(ag_safetensors_read(f, "rng.state", "U64", 1, SHAPE(4), u2), AG_OK);
    ck_assert(!memcmp(u, u2, sizeof u));
    ck_assert_str_eq(ag_safetensors_meta(f, "format"), "pt");
    ck_assert_int_eq(ag_safetensors_meta_count(f), 1);
    ag_safetensors_close(f);
    /* and the twin's file is the one this library writes, byte for byte */
    ck_assert_int_eq(ag_safetensors_write(file, 3, t3, 1, kv), AG_OK);
    size_t n1, n2;
    unsigned char *b1 = tu_read(file, &n1), *b2 = tu_read(pyfile, &n2);
    ck_assert(n1 == n2 && !memcmp(b1, b2, n1));
    free(b1), free(b2);
    ag_tensor_free(vt), ag_tensor_free(ct);
    tu_dir_remove(&d);
}
END_TEST

Suite *suite_safetensors(void)
{
    Suite *s = suite_create("safetensors");
    TU_ADD(s, test_json_parser_reads_the_subset);
    TU_ADD(s, test_json_parser_refuses_what_is_not_strict_json);
    TU_ADD(s, test_writer_matches_the_reference_vectors);
    TU_ADD(s, test_writer_orders_by_alignment_then_name);
    TU_ADD(s, test_module_round_trip_is_bit_identical);
    TU_ADD(s, test_load_flags_and_named_lists);
    TU_ADD(s, test_truncated_files_are_refused);
    TU_ADD(s, test_corrupted_files_are_refused);
    TU_ADD(s, test_wrong_shape_and_name_files_are_refused);
    TU_ADD(s, test_failed_save_leaves_the_old_file);
    TU_ADD(s, test_argument_errors);
    TU_ADD(s, test_numpy_twin_reads_and_writes_the_same_files);
    return s;
}
