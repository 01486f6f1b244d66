/*
** test_interchange.c: files that move between this library and PyTorch:
** loading converts dtypes as load_state_dict's copies do (F16, BF16, F32,
** F64 and the integer types into F32 and F64, integers beyond 2^24 / 2^53
** refused), BatchNorm's num_batches_tracked saved as I64 and a PyTorch
** BatchNorm checkpoint loading with PyTorch's outputs, and the metadata of
** module files (description, version, the caller's entries).
*/
#include "st_test_util.h"

#include <math.h>

/* One raw tensor of dtype dt holding n elements of bits (little-endian
   host assumed by the test: the values are built in host order). */
#define RAW(name, dt, n, data) {(name), (dt), 1, SHAPE(n), (data)}

START_TEST(test_load_converts_float_dtypes)
{
    tu_dir d;
    tu_dir_make(&d);
    /* half: 1, -2, 0.333..., the smallest subnormal, inf, -0, the largest, a subnormal */
    const uint16_t f16[8] = {0x3C00, 0xC000, 0x3555, 0x0001, 0x7C00, 0x8000, 0x7BFF, 0x03FF};
    const uint16_t bf16[6] = {0x3F80, 0x4049, 0xC2F7, 0x0001, 0xFF80, 0x3DCD};
    const double f64[3] = {0.1, 1e300, -2.5};
    const float f32[2] = {0.1f, -3.75f};
    const ag_st_tensor t[4] = {RAW("h", "F16", 8, f16), RAW("b", "BF16", 6, bf16),
                               RAW("d", "F64", 3, f64), RAW("f", "F32", 2, f32)};
    ck_assert_int_eq(ag_safetensors_write(tu_path(&d, "f.st"), 4, t, 0, NULL), AG_OK);
    /* the values numpy's float16 and torch's bfloat16 give these bits */
    const double want_h[8] = {1, -2, 0.333251953125, 5.960464477539063e-08, INFINITY, -0.0,
                              65504, 6.097555160522461e-05};
    const double want_b[6] = {1, 3.140625, -123.5, 9.183549615799121e-41, -INFINITY,
                              0.10009765625};
    for (int k = 0; k < 2; k++) {
        ag_dtype dt = k ? AG_F64 : AG_F32;
        ag_tensor *h = ag_zeros(NULL, dt, 1, SHAPE(8)), *b = ag_zeros(NULL, dt, 1, SHAPE(6));
        ag_tensor *dd = ag_zeros(NULL, dt, 1, SHAPE(3)), *f = ag_zeros(NULL, dt, 1, SHAPE(2));
        ag_named_tensor dst[4] = {{"h", h, 0}, {"b", b, 0}, {"d", dd, 0}, {"f", f, 0}};
        ck_assert_int_eq(ag_safetensors_load(tu_path(&d, "f.st"), 4, dst, AG_LOAD_STRICT), AG_OK);
        for (int i = 0; i < 8; i++) {
            ck_assert(ag_tensor_get(h, i) == want_h[i]);
            ck_assert(signbit(ag_tensor_get(h, i)) == signbit(want_h[i]));
        }
        for (int i = 0; i < 6; i++) ck_assert(ag_tensor_get(b, i) == want_b[i]);
        /* F64 into F32 rounds to the nearest, 1e300 to inf (as torch's copy) */
        ck_assert(ag_tensor_get(dd, 0) == (k ? 0.1 : (double)0.1f));
        ck_assert(ag_tensor_get(dd, 1) == (k ? 1e300 : INFINITY));
        ck_assert(ag_tensor_get(dd, 2) == -2.5);
        ck_assert(ag_tensor_get(f, 0) == (double)0.1f && ag_tensor_get(f, 1) == -3.75);
        ag_tensor_free(h), ag_tensor_free(b), ag_tensor_free(dd), ag_tensor_free(f);
    }
    tu_dir_remove(&d);
}
END_TEST

START_TEST(test_load_converts_integers_exactly_or_refuses)
{
    tu_dir d;
    tu_dir_make(&d);
    const int64_t i64[3] = {-7, 16777216, 3};                  /* 2^24 fits F32 */
    const int32_t i32[2] = {-2147483647 - 1, 5};
    const uint8_t u8[3] = {0, 200, 255};
    const int8_t i8[2] = {-128, 127};
    const uint8_t bools[2] = {1, 0};
    const ag_st_tensor t[5] = {RAW("a", "I64", 3, i64), RAW("b", "I32", 2, i32),
                               RAW("c", "U8", 3, u8), RAW("e", "I8", 2, i8),
                               RAW("f", "BOOL", 2, bools)};
    ck_assert_int_eq(ag_safetensors_write(tu_path(&d, "i.st"), 5, t, 0, NULL), AG_OK);
    ag_tensor *a = ag_zeros(NULL, AG_F32, 1, SHAPE(3)), *b = ag_zeros(NULL, AG_F64, 1, SHAPE(2));
    ag_tensor *c = ag_zeros(NULL, AG_F32, 1, SHAPE(3)), *e = ag_zeros(NULL, AG_F64, 1, SHAPE(2));
    ag_tensor *f = ag_zeros(NULL, AG_F32, 1, SHAPE(2));
    ag_named_tensor dst[5] = {{"a", a, 0}, {"b", b, 0}, {"c", c, 0}, {"e", e, 0}, {"f", f, 0}};
    ck_assert_int_eq(ag_safetensors_load(tu_path(&d, "i.st"), 5, dst, AG_LOAD_STRICT), AG_OK);
    tu_assert_values(a, VALS(-7, 16777216, 3), 3, 0);
    tu_assert_values(b, VALS(-2147483648.0, 5), 2, 0);
    tu_assert_values(c, VALS(0, 200, 255), 3, 0);
    tu_assert_values(e, VALS(-128, 127), 2, 0);
    tu_assert_values(f, VALS(1, 0), 2, 0);
    /* beyond 2^24 into F32, beyond 2^53 into F64: refused, nothing written */
    const int64_t big[2] = {1, 16777217};
    const int64_t huge[3] = {0, 9007199254740992, -9007199254740993};
    const uint64_t u64[1] = {UINT64_MAX};
    const ag_st_tensor t2[3] = {RAW("x", "I64", 2, big), RAW("y", "I64", 3, huge),
                                RAW("z", "U64", 1, u64)};
    ck_assert_int_eq(ag_safetensors_write(tu_path(&d, "big.st"), 3, t2, 0, NULL), AG_OK);
    ag_tensor *x32 = tu_tensor(AG_F32, 1, SHAPE(2), VALS(9, 9));
    ag_tensor *x64 = ag_zeros(NULL, AG_F64, 1, SHAPE(2));
    ag_tensor *y64 = tu_tensor(AG_F64, 1, SHAPE(3), VALS(9, 9, 9));
    ag_tensor *z64 = ag_zeros(NULL, AG_F64, 1, SHAPE(1));
    ag_named_tensor d1[2] = {{"y", y64, 0}, {"x", x32, 0}};
    tu_assert_failed(ag_safetensors_load(tu_path(&d, "big.st"), 2, d1, AG_LOAD_ALLOW_EXTRA),
                     AG_ERR_FORMAT, "tensor 'y' (I64) element 2 is -9007199254740993: beyond 2^53, "
                     "an F64 destination cannot hold it exactly", NULL, NULL);
    tu_assert_values(y64, VALS(9, 9, 9), 3, 0);                 /* all or nothing */
    ag_named_tensor d2 = {"x", x32, 0};
    tu_assert_failed(ag_safetensors_load(tu_path(&d, "big.st"), 1, &d2, AG_LOAD_ALLOW_EXTRA),
                     AG_ERR_FORMAT, "tensor 'x' (I64) element 1 is 16777217: beyond 2^24, an F32 "
                     "destination cannot hold it exactly", "big.st", "ag_safetensors_load");
    tu_assert_values(x32, VALS(9, 9), 2, 0);
    ag_named_tensor d3[2] = {{"x", x64, 0}, {"z", z64, 0}};  /* x fits F64, z never */
    tu_assert_failed(ag_safetensors_load(tu_path(&d, "big.st"), 2, d3, AG_LOAD_ALLOW_EXTRA),
                     AG_ERR_FORMAT, "tensor 'z' (U64) element 0 is 18446744073709551615", NULL,
                     NULL);
    ag_named_tensor d4 = {"x", x64, 0};
    ck_assert_int_eq(ag_safetensors_load(tu_path(&d, "big.st"), 1, &d4, AG_LOAD_ALLOW_EXTRA),
                     AG_OK);
    tu_assert_values(x64, VALS(1, 16777217), 2, 0);
    /* F8 and C64 do not convert */
    const uint8_t f8[1] = {0x38};
    const ag_st_tensor t3 = RAW("q", "F8_E4M3", 1, f8);
    ck_assert_int_eq(ag_safetensors_write(tu_path(&d, "f8.st"), 1, &t3, 0, NULL), AG_OK);
    ag_named_tensor d5 = {"q", z64, 0};
    tu_assert_failed(ag_safetensors_load(tu_path(&d, "f8.st"), 1, &d5, AG_LOAD_STRICT),
                     AG_ERR_FORMAT, "tensor 'q' is F8_E4M3 [1] in the file, but the destination "
                     "is F64 [1]", NULL, NULL);
    ag_tensor_free(a), ag_tensor_free(b), ag_tensor_free(c), ag_tensor_free(e), ag_tensor_free(f);
    ag_tensor_free(x32), ag_tensor_free(x64), ag_tensor_free(y64), ag_tensor_free(z64);
    tu_dir_remove(&d);
}
END_TEST

/* ------------------------------------------- a PyTorch BatchNorm file --- */

/* torch.manual_seed(0); Sequential(Linear(3, 4), BatchNorm1d(4, momentum=0.3));
   three training forwards of randn(5, 3) * 2 + 1 under no_grad; BN's weight
   U(0.5, 1.5), bias U(-0.5, 0.5); eval(); its state_dict (PyTorch 1.13). */
static const float PT_W0[12] = {-0.00432251766f, 0.309715837f, -0.475185335f, -0.424894601f,
                                -0.222368971f, 0.154820725f, -0.0114391446f, 0.457774937f,
                                -0.0512363985f, 0.152774125f, -0.174482793f, -0.11348708f};
static const float PT_B0[4] = {-0.551570714f, -0.382368743f, -0.237997115f, 0.0213871151f};
static const float PT_W1[4] = {0.972450197f, 1.07507253f, 0.795234859f, 1.2966888f};
static const float PT_B1[4] = {-0.304269552f, 0.453685045f, 0.342649937f, -0.421641469f};
static const float PT_RM[4] = {-0.382624537f, -0.511381388f, 0.0857608616f, -0.0662582368f};
static const float PT_RV[4] = {1.32978666f, 0.759854078f, 0.939172745f, 0.471838981f};
static const int64_t PT_NBT = 3;

/* Writes the state_dict as safetensors.torch.save_file does (F32, the
   counter I64); nbt_dtype "F32" makes an older ag file instead. */
static void write_pytorch_bn(const char *path, const char *nbt_dtype)
{
    const float nbt32 = 3;
    const ag_st_tensor t[7] = {
        {"0.weight", "F32", 2, SHAPE(4, 3), PT_W0}, RAW("0.bias", "F32", 4, PT_B0),
        RAW("1.weight", "F32", 4, PT_W1), RAW("1.bias", "F32", 4, PT_B1),
        RAW("1.running_mean", "F32", 4, PT_RM), RAW("1.running_var", "F32", 4, PT_RV),
        {"1.num_batches_tracked", nbt_dtype, 0, NULL, strcmp(nbt_dtype, "I64") ? (const void *)&nbt32
                                                                             : &PT_NBT}};
    ck_assert_int_eq(ag_safetensors_write(path, 7, t, 0, NULL), AG_OK);
}

static ag_module *bn_model(ag_dtype dt)
{
    ag_rng *r = ag_rng_new(1);
    ag_module *m = ag_sequential_new(2, (ag_module *[]){ag_linear_new(3, 4, 1, dt, r),
                                                        ag_batchnorm1d_new(4, 1e-5, 0.3, 1, dt)});
    ag_rng_free(r);
    ck_assert_ptr_nonnull(m);
    return m;
}

/* m's eval output on PyTorch's x against PyTorch's y, within tol. */
static void assert_pytorch_outputs(ag_module *m, ag_dtype dt, double tol)
{
    /* m(x) in eval mode: float32, and the same model .double() */
    static const double y32[8] = {-1.51117492, 1.00691485, -0.387439907, -0.211084768,
                                  -0.0863746256, -0.385006756, 0.188343614, 0.254725605};
    static const double y64[8] = {-1.5111749766514153, 1.0069149056891602, -0.38743987581958172,
                                  -0.21108481680849911, -0.086374633778831839,
                                  -0.38500671741467229, 0.18834363187545017, 0.254725595024623};
    ag_tape *t = ag_tape_new();
    ag_tensor *x = tu_tensor(dt, 2, SHAPE(2, 3), VALS(0.5, -1, 2, 1.5, 0.25, -0.75));
    ag_module_train(m, 0);
    ag_tensor *y = ag_module_forward(m, t, x);
    tu_assert_values(y, dt == AG_F64 ? y64 : y32, 8, tol);
    ag_tensor_free(x);
    ag_tape_free(t);
}

START_TEST(test_pytorch_batchnorm_checkpoint_loads)
{
    tu_dir d;
    tu_dir_make(&d);
    write_pytorch_bn(tu_path(&d, "pt.st"), "I64");
    for (int k = 0; k < 2; k++) {
        ag_dtype dt = k ? AG_F64 : AG_F32;
        ag_module *m = bn_model(dt);
        ck_assert_int_eq(ag_module_load(m, tu_path(&d, "pt.st")), AG_OK);
        ck_assert(ag_tensor_get(ag_module_get(m, "1.num_batches_tracked"), 0) == 3);
        ck_assert(ag_tensor_get(ag_module_get(m, "1.running_var"), 3) == (double)PT_RV[3]);
        assert_pytorch_outputs(m, dt, k ? 1e-7 : 1e-6);
        /* saved back: the counter is I64 as PyTorch's, the rest the layer's dtype */
        ck_assert_int_eq(ag_module_save(m, tu_path(&d, "ag.st")), AG_OK);
        ag_safetensors *f;
        ag_st_info info;
        ck_assert_int_eq(ag_safetensors_open(tu_path(&d, "ag.st"), &f), AG_OK);
        ck_assert_int_eq(ag_safetensors_info(f, ag_safetensors_find(f, "1.num_batches_tracked"),
                                             &info), AG_OK);
        ck_assert_str_eq(info.dtype, "I64");
        ck_assert_int_eq(info.ndim, 0);
        int64_t nbt = -1;
        ck_assert_int_eq(ag_safetensors_read(f, "1.num_batches_tracked", "I64", 0, NULL, &nbt),
                         AG_OK);
        ck_assert_int_eq(nbt, 3);
        ck_assert_int_eq(ag_safetensors_info(f, ag_safetensors_find(f, "1.running_var"), &info),
                         AG_OK);
        ck_assert_str_eq(info.dtype, k ? "F64" : "F32");
        ag_safetensors_close(f);
        ag_module_free(m);
    }
    /* an older file with an F32 counter still loads */
    write_pytorch_bn(tu_path(&d, "old.st"), "F32");
    ag_module *m = bn_model(AG_F32);
    ck_assert_int_eq(ag_module_load(m, tu_path(&d, "old.st")), AG_OK);
    ck_assert(ag_tensor_get(ag_module_get(m, "1.num_batches_tracked"), 0) == 3);
    assert_pytorch_outputs(m, AG_F32, 1e-6);
    /* an integer buffer that is not a whole number cannot be saved */
    ag_tensor_set(ag_module_get(m, "1.num_batches_tracked"), 0, 2.5);
    tu_assert_failed(ag_module_save(m, tu_path(&d, "half.st")), AG_ERR_ARG, "ag_module_save",
                     "integer buffer '1.num_batches_tracked' element 0 is 2.5, not a whole number",
                     NULL);
    ck_assert_int_eq(access(tu_path(&d, "half.st"), F_OK), -1);
    ck_assert(ag_module_is_int_buffer(m, "1.num_batches_tracked"));
    ck_assert(!ag_module_is_int_buffer(m, "1.running_var"));
    ck_assert(!ag_module_is_int_buffer(m, "1.nothing"));
    ag_module_free(m);
    tu_dir_remove(&d);
}
END_TEST

/* ------------------------------------------------------------ metadata --- */

START_TEST(test_module_files_carry_metadata)
{
    tu_dir d;
    tu_dir_make(&d);
    ag_module *m = bn_model(AG_F32);
    char desc[128];
    ck_assert_uint_eq(ag_module_describe(m, desc, sizeof desc), 37);
    ck_assert_str_eq(desc, "Sequential(0: Linear, 1: BatchNorm1d)");
    char small[11];
    ck_assert_uint_eq(ag_module_describe(m, small, sizeof small), 37);
    ck_assert_str_eq(small, "Sequential");
    ck_assert_uint_eq(ag_module_describe(NULL, desc, sizeof desc), 0);
    ck_assert_str_eq(desc, "");
    const char *kv[4] = {"classes", "cat,dog,bird", "mean", "0.1307"};
    ck_assert_int_eq(ag_module_save_meta(m, tu_path(&d, "m.st"), 2, kv), AG_OK);
    ag_safetensors *f;
    ck_assert_int_eq(ag_safetensors_open(tu_path(&d, "m.st"), &f), AG_OK);
    ck_assert_int_eq(ag_safetensors_meta_count(f), 5);
    ck_assert_str_eq(ag_safetensors_meta(f, "format"), "pt");
    ck_assert_str_eq(ag_safetensors_meta(f, "ag.module"), "Sequential(0: Linear, 1: BatchNorm1d)");
    ck_assert_str_eq(ag_safetensors_meta(f, "ag.version"), AG_VERSION);
    ck_assert_str_eq(ag_safetensors_meta(f, "classes"), "cat,dog,bird");
    ck_assert_str_eq(ag_safetensors_meta(f, "mean"), "0.1307");
    ag_module *m2 = bn_model(AG_F32);
    ck_assert_int_eq(ag_module_load_file(m2, f, AG_LOAD_STRICT), AG_OK);
    ck_assert(ag_tensor_get(ag_module_get(m2, "0.weight"), 5) ==
              ag_tensor_get(ag_module_get(m, "0.weight"), 5));
    tu_assert_failed(ag_module_load_file(m2, NULL, 0), AG_ERR_ARG, "ag_module_load_file",
                     "file is NULL", NULL);
    tu_assert_failed(ag_module_load_file(NULL, f, 0), AG_ERR_ARG, "ag_module_load_file",
                     "module is NULL", NULL);
    ag_safetensors_close(f);
    /* reserved keys */
    const char *bad[2][2] = {{"format", "np"}, {"ag.module", "x"}};
    for (int i = 0; i < 2; i++)
        tu_assert_failed(ag_module_save_meta(m, tu_path(&d, "r.st"), 1, bad[i]), AG_ERR_ARG,
                         "ag_module_save_meta", bad[i][0], "is reserved");
    tu_assert_failed(ag_module_save_meta(m, tu_path(&d, "r.st"), 1, NULL), AG_ERR_ARG,
                     "ag_module_save_meta", "NULL list", NULL);
    ck_assert_int_eq(access(tu_path(&d, "r.st"), F_OK), -1);
    ag_module_free(m), ag_module_free(m2);
    tu_dir_remove(&d);
}
END_TEST

/* A file holding bn_model's tensors with this metadata. */
static void write_with_meta(ag_module *m, const char *path, int n_meta, const char *const *kv)
{
    ag_named_tensor list[8];
    int n = ag_module_named_tensors(m, list, 8, 1);
    ck_assert_int_eq(ag_safetensors_save(path, n, list, n_meta, kv), AG_OK);
}

START_TEST(test_module_metadata_is_validated_on_load)
{
    tu_dir d;
    tu_dir_make(&d);
    ag_module *m = bn_model(AG_F32);
    const char *path = tu_path(&d, "v.st");
    static const struct { const char *kv[2], *why; } cases[] = {
        {{"ag.version", "1.0.0"}, "written by version 1.0.0 of the library, newer than this one"},
        {{"ag.version", "0.2"}, "metadata ag.version '0.2' is not MAJOR.MINOR.PATCH"},
        {{"ag.version", "0.2.0x"}, "is not MAJOR.MINOR.PATCH"},
        {{"ag.version", "-1.2.0"}, "is not MAJOR.MINOR.PATCH"},
        {{"ag.module", "Sequential(0: Linear, 1: BatchNorm2d)"},
         "the file holds a Sequential(0: Linear, 1: BatchNorm2d), the module is a Sequential(0: "
         "Linear, 1: BatchNorm1d)"},
    };
    ag_tensor *w = ag_module_get(m, "0.weight");
    double before = ag_tensor_get(w, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ag_tensor_set(w, 0, before);
        write_with_meta(m, path, 1, cases[i].kv);
        ag_tensor_set(w, 0, 42);
        tu_assert_failed(ag_module_load(m, path), AG_ERR_FORMAT, "ag_module_load", "v.st",
                         cases[i].why);
        ck_assert(ag_tensor_get(w, 0) == 42);                    /* untouched */
    }
    /* an older version of this major, and a file without metadata, load */
    const char *ok[2] = {"ag.version", "0.1.7"};
    ag_tensor_set(w, 0, before);
    write_with_meta(m, path, 1, ok);
    ag_tensor_set(w, 0, 42);
    ck_assert_int_eq(ag_module_load(m, path), AG_OK);
    ck_assert(ag_tensor_get(w, 0) == before);
    write_with_meta(m, path, 0, NULL);
    ck_assert_int_eq(ag_module_load(m, path), AG_OK);
    ag_module_free(m);
    tu_dir_remove(&d);
}
END_TEST

/* AG_VERSION is the Makefile's VERSION. */
START_TEST(test_version_matches_the_makefile)
{
    FILE *fp = fopen("Makefile", "r");
    ck_assert_msg(fp != NULL, "Makefile not found: run the tests from the repository root");
    char line[256], found[64] = "";
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "VERSION = %63s", found) == 1) break;
    fclose(fp);
    ck_assert_str_eq(found, AG_VERSION);
}
END_TEST

Suite *suite_interchange(void)
{
    Suite *s = suite_create("interchange");
    TU_ADD(s, test_load_converts_float_dtypes);
    TU_ADD(s, test_load_converts_integers_exactly_or_refuses);
    TU_ADD(s, test_pytorch_batchnorm_checkpoint_loads);
    TU_ADD(s, test_module_files_carry_metadata);
    TU_ADD(s, test_module_metadata_is_validated_on_load);
    TU_ADD(s, test_version_matches_the_makefile);
    return s;
}
