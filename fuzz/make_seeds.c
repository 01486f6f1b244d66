/*
** make_seeds.c: writes the seed corpora of the fuzz targets (`make
** fuzz-seeds`; the result is committed under fuzz/corpus/NAME/).
**   safetensors  files written by the library: checkpoints of the fixed
**                world of fuzz_model.h (with and without optimizer and
**                generator; one of each optimizer after two of its
**                steps), its module file, the three tensors
**                fuzz_safetensors loads by name, one tensor of every
**                known dtype with metadata; and hand-made small cases
**                (an empty header, a scalar, an empty tensor);
**   idx          inputs in fuzz_idx.c's layout: 8 control bytes, an image
**                file, a label file (1-D to 4-D images, 0 samples, other
**                class counts);
**   api          programs of random bytes (every input is a program) of a
**                few lengths, from a fixed generator.
** Usage: make_seeds DIR (writes DIR/safetensors, DIR/idx, DIR/api).
*/
#include "fuzz_model.h"

#include <errno.h>
#include <sys/stat.h>

static char root[256];

static const char *path_of(const char *sub, const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s/%s", root, sub, name);
    return p;
}

static void must(ag_status s, const char *what)
{
    if (s == AG_OK) return;
    fprintf(stderr, "make_seeds: %s: %s\n", what, ag_last_error());
    exit(1);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
}

/* A safetensors file from a JSON header (padded to 8) and raw data. */
static void st_raw(const char *name, const char *json, const void *data, size_t n)
{
    unsigned char buf[1024];
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(padded >> (8 * i));
    memset(buf + 8, ' ', padded);
    memcpy(buf + 8, json, len);
    if (n) memcpy(buf + 8 + padded, data, n);
    write_bytes(path_of("safetensors", name), buf, 8 + padded + n);
}

/* A checkpoint of every optimizer of the world after two steps of it
   (state that is not all zeros: L-BFGS' history, NAdam's mu product). */
static void optimizer_seeds(void)
{
    for (int k = 0; k < FZ_N_OPTIMS; k++) {
        fz_world w;
        fz_world_make(&w);
        for (int i = 0; i < 2; i++) must(fz_step(&w, k), fz_optim_label(k));
        char name[32];
        snprintf(name, sizeof name, "ckpt_%s", fz_optim_label(k));
        must(ag_checkpoint_save(path_of("safetensors", name), w.model, w.optims[k], w.rng),
             name);
        fz_world_free(&w);
    }
}

static void safetensors_seeds(void)
{
    fz_world w;
    fz_world_make(&w);
    ag_module *model = w.model;
    ag_optim *adam = w.optims[FZ_ADAM];
    must(ag_optim_set_steps(adam, 3), "steps");
    must(ag_checkpoint_save(path_of("safetensors", "ckpt_full"), model, adam, w.rng), "ckpt");
    must(ag_checkpoint_save(path_of("safetensors", "ckpt_model"), model, NULL, NULL), "ckpt");
    must(ag_checkpoint_save(path_of("safetensors", "ckpt_rng"), model, NULL, w.rng), "ckpt");
    must(ag_module_save(model, path_of("safetensors", "module")), "module");
    fz_world_free(&w);
    optimizer_seeds();

    float a[4] = {1, 2, 3, 4}, c = 5;
    double b[3] = {0.5, -1, 2};
    const ag_st_tensor fixed[3] = {{"a", "F32", 2, (int64_t[]){2, 2}, a},
                                   {"b", "F64", 1, (int64_t[]){3}, b},
                                   {"c", "F32", 0, NULL, &c}};
    must(ag_safetensors_write(path_of("safetensors", "fixed"), 3, fixed, 0, NULL), "fixed");

    static const char *const dts[] = {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
                                      "I16", "U16", "F16", "BF16", "I32", "U32", "F32",
                                      "C64", "F64", "I64", "U64"};
    static const char *const names[] = {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8",
                                        "t9", "t10", "t11", "t12", "t13", "t14", "t15", "t16"};
    unsigned char raw[64] = {1, 0, 1, 1, 0, 0, 1, 0};
    static const int64_t shape[2] = {2, 1};
    ag_st_tensor all[17];
    for (int i = 0; i < 17; i++) all[i] = (ag_st_tensor){names[i], dts[i], 1 + i % 2, shape, raw};
    const char *meta[4] = {"format", "pt", "note", "seed"};
    must(ag_safetensors_write(path_of("safetensors", "dtypes"), 17, all, 2, meta), "dtypes");

    st_raw("empty", "{}", NULL, 0);
    st_raw("meta_only", "{\"__metadata__\":{\"a\":\"b\"}}", NULL, 0);
    double one = 1;
    st_raw("scalar", "{\"x\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]}}", &one, 8);
    st_raw("zero_size", "{\"x\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]}}",
           NULL, 0);
}

/* An IDX file of unsigned bytes: header, then data. Returns its length. */
static size_t idx_file(unsigned char *out, int ndim, const uint32_t *dims, const uint8_t *data)
{
    size_t n = 1, at = 4;
    out[0] = out[1] = 0, out[2] = 0x08, out[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++, at += 4) {
        for (int k = 0; k < 4; k++) out[at + k] = (unsigned char)(dims[i] >> (24 - 8 * k));
        n *= dims[i];
    }
    memcpy(out + at, data, n);
    return at + n;
}

/* One idx seed: ctrl bytes (number of classes and choices), images, labels. */
static void idx_seed(const char *name, uint8_t classes, int ndim, const uint32_t *dims,
                     uint8_t choice)
{
    unsigned char buf[1024], img[512], lbl[64];
    uint8_t pixels[256], labels[16];
    size_t count = dims[0], features = 1;
    for (int i = 1; i < ndim; i++) features *= dims[i];
    for (size_t i = 0; i < count * features; i++) pixels[i] = (uint8_t)(i * 37 + 11);
    for (size_t i = 0; i < count; i++) labels[i] = (uint8_t)(i % (classes ? classes : 10));
    size_t li = idx_file(img, ndim, dims, pixels);
    size_t ll = idx_file(lbl, 1, (uint32_t[]){(uint32_t)count}, labels);
    uint8_t ctrl[8] = {classes, (uint8_t)li, (uint8_t)(li >> 8), choice, (uint8_t)(choice + 5),
                       (uint8_t)(choice >> 1), choice, (uint8_t)(choice * 3)};
    memcpy(buf, ctrl, 8);
    memcpy(buf + 8, img, li);
    memcpy(buf + 8 + li, lbl, ll);
    write_bytes(path_of("idx", name), buf, 8 + li + ll);
}

static void idx_seeds(void)
{
    idx_seed("images_3d", 0, 3, (uint32_t[]){6, 3, 4}, 11);
    idx_seed("images_2d", 3, 2, (uint32_t[]){9, 5}, 12);
    idx_seed("images_1d", 2, 1, (uint32_t[]){7}, 20);
    idx_seed("images_4d", 4, 4, (uint32_t[]){4, 2, 2, 3}, 9);
    idx_seed("no_samples", 0, 3, (uint32_t[]){0, 28, 28}, 8);
    idx_seed("one_class", 1, 2, (uint32_t[]){5, 2}, 33);
    idx_seed("many_classes", 200, 2, (uint32_t[]){16, 3}, 70);
}

static void api_seeds(void)
{
    static const size_t lengths[] = {64, 200, 512, 1024, 2048, 4096};
    ag_rng *r = ag_rng_new(2024);
    unsigned char buf[4096];
    for (int k = 0; k < 6; k++) {
        for (size_t i = 0; i < lengths[k]; i++) buf[i] = (unsigned char)ag_rng_u64(r);
        char name[32];
        snprintf(name, sizeof name, "random_%zu", lengths[k]);
        write_bytes(path_of("api", name), buf, lengths[k]);
    }
    ag_rng_free(r);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    snprintf(root, sizeof root, "%s", argv[1]);
    const char *subs[3] = {"safetensors", "idx", "api"};
    for (int i = 0; i < 3; i++) {
        char p[300];
        snprintf(p, sizeof p, "%s/%s", root, subs[i]);
        if (mkdir(root, 0755) != 0 && errno != EEXIST) return perror(root), 1;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) return perror(p), 1;
    }
    safetensors_seeds();
    idx_seeds();
    api_seeds();
    return 0;
}
