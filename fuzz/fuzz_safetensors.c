/*
** fuzz_safetensors.c: the safetensors reader and the loaders on top of it,
** fed arbitrary files. The input is the whole file. Each run:
**   - ag_safetensors_open, and on success every reader (count, info, find,
**     read with the entry's own dtype and shape, which must succeed, and
**     with a wrong dtype and shape, which must fail; the metadata);
**   - ag_safetensors_load into three fixed tensors with each of the four
**     flag combinations;
**   - ag_module_load and ag_checkpoint_load (with and without optimizer and
**     generator) into a small fixed model: Sequential(Linear(2, 3),
**     BatchNorm1d(3)) in f32, Adam over its parameters, a generator.
** Contracts checked beyond "no crash, leak or UB": an error leaves a
** message naming the function, and a failed load changes nothing.
** fuzz/make_seeds.c writes the seeds, the model's checkpoint among them.
*/
#include "fuzz_model.h"

static ag_module *model;
static ag_optim *adam;
static ag_rng *rng;
static ag_tensor *dest_a, *dest_b, *dest_c;

static void make_model(void)
{
    fz_make_model(&model, &adam, &rng);
    dest_a = ag_zeros(NULL, AG_F32, 2, (int64_t[]){2, 2});
    dest_b = ag_zeros(NULL, AG_F64, 1, (int64_t[]){3});
    dest_c = ag_zeros(NULL, AG_F32, 0, NULL);
    if (!dest_a || !dest_b || !dest_c) abort();
}

static void free_model(void)
{
    ag_optim_free(adam);
    ag_module_free(model);
    ag_rng_free(rng);
    ag_tensor_free(dest_a), ag_tensor_free(dest_b), ag_tensor_free(dest_c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    ag_set_num_threads(1);
    make_model();
    atexit(free_model);
    return 0;
}

static void clear_error(void) { ag_set_last_error(AG_OK, "%s", ""); }

/* An error must come with a message that names its function. */
static void check_failed(ag_status s, const char *fn)
{
    if (s == AG_OK) return;
    FZ_CHECK(strncmp(ag_last_error(), fn, strlen(fn)) == 0,
             "%s failed with %s, message '%s'", fn, ag_status_name(s), ag_last_error());
}

/* Element size of a safetensors dtype name, 0 if unknown here. */
static int dtype_size(const char *dt)
{
    static const char *const names[] = {"BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
                                        "I16", "U16", "F16", "BF16", "I32", "U32", "F32",
                                        "C64", "F64", "I64", "U64"};
    static const int sizes[] = {1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 8, 8, 8, 8};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (!strcmp(dt, names[i])) return sizes[i];
    return 0;
}

/* Entry i read back with its own dtype and shape (must work), then with a
   wrong dtype and a wrong shape (must fail and leave out untouched). */
static void read_entry(const ag_safetensors *f, int i)
{
    ag_st_info info;
    FZ_CHECK(ag_safetensors_info(f, i, &info) == AG_OK, "info(%d) failed", i);
    FZ_CHECK(info.ndim >= 0 && info.ndim <= AG_MAX_DIMS, "ndim %d", info.ndim);
    FZ_CHECK(ag_safetensors_find(f, info.name) == i, "find('%s') != %d", info.name, i);
    int size = dtype_size(info.dtype);
    FZ_CHECK(size > 0, "unknown dtype '%s' accepted", info.dtype);
    int64_t numel = 1;
    for (int d = 0; d < info.ndim; d++) numel *= info.shape[d];
    FZ_CHECK(numel * size == info.nbytes, "'%s': %lld elements of %d bytes in %lld bytes",
             info.name, (long long)numel, size, (long long)info.nbytes);
    unsigned char *out = malloc((size_t)info.nbytes + 8);
    if (!out) abort();
    ag_status s = ag_safetensors_read(f, info.name, info.dtype, info.ndim, info.shape, out);
    FZ_CHECK(s == AG_OK, "read('%s') of a checked file: %s", info.name, ag_last_error());
    const char *other = strcmp(info.dtype, "U8") ? "U8" : "I8";
    memset(out, 0xa5, (size_t)info.nbytes + 8);
    s = ag_safetensors_read(f, info.name, other, info.ndim, info.shape, out);
    FZ_CHECK(s != AG_OK, "read('%s') as %s succeeded", info.name, other);
    int64_t wrong[AG_MAX_DIMS + 1];
    memcpy(wrong, info.shape, sizeof info.shape);
    wrong[info.ndim] = 2;
    s = ag_safetensors_read(f, info.name, info.dtype, info.ndim + 1, wrong, out);
    FZ_CHECK(s != AG_OK || info.ndim + 1 > AG_MAX_DIMS, "read('%s') with a dim more succeeded",
             info.name);
    for (int64_t k = 0; k < info.nbytes + 8; k++)
        FZ_CHECK(out[k] == 0xa5, "a failed read wrote byte %lld", (long long)k);
    free(out);
}

static void read_everything(const ag_safetensors *f)
{
    int n = ag_safetensors_count(f);
    FZ_CHECK(n >= 0, "count %d", n);
    for (int i = 0; i < n; i++) read_entry(f, i);
    ag_st_info info;
    FZ_CHECK(ag_safetensors_info(f, n, &info) != AG_OK, "info(count) succeeded");
    FZ_CHECK(ag_safetensors_info(f, -1, &info) != AG_OK, "info(-1) succeeded");
    int m = ag_safetensors_meta_count(f);
    const char *prev = NULL;
    for (int i = 0; i < m; i++) {
        const char *k = ag_safetensors_meta_key(f, i);
        FZ_CHECK(k && ag_safetensors_meta(f, k), "meta key %d", i);
        FZ_CHECK(!prev || strcmp(prev, k) < 0, "meta keys not sorted: '%s', '%s'", prev, k);
        prev = k;
    }
    FZ_CHECK(!ag_safetensors_meta_key(f, m), "meta_key(count) is not NULL");
}

/* Bitwise copies of the model, optimizer and generator state, to prove a
   failed load changed nothing. */
typedef struct snapshot {
    int n;
    ag_tensor *copy[32];
    int64_t steps;
    double lr;
    uint64_t rng_state[4];
} snapshot;

static int list_state(ag_named_tensor *list, int max)
{
    int n = ag_module_named_tensors(model, list, max, 1);
    return n + ag_optim_state(adam, list + n, max - n);
}

static void snap_take(snapshot *s)
{
    ag_named_tensor list[32];
    s->n = list_state(list, 32);
    for (int i = 0; i < s->n; i++) s->copy[i] = ag_tensor_clone(list[i].tensor);
    s->steps = ag_optim_steps(adam);
    s->lr = ag_optim_get_lr(adam);
    ag_rng_get_state(rng, s->rng_state);
}

static void snap_check_free(snapshot *s, const char *what)
{
    ag_named_tensor list[32];
    list_state(list, 32);
    uint64_t st[4];
    ag_rng_get_state(rng, st);
    for (int i = 0; i < s->n; i++) {
        size_t bytes = (size_t)ag_tensor_numel(s->copy[i]) *
                       (ag_tensor_dtype(s->copy[i]) == AG_F64 ? 8 : 4);
        FZ_CHECK(!memcmp(ag_tensor_data(list[i].tensor), ag_tensor_data(s->copy[i]), bytes),
                 "a failed %s changed '%s'", what, list[i].name);
        ag_tensor_free(s->copy[i]);
    }
    FZ_CHECK(s->steps == ag_optim_steps(adam) && s->lr == ag_optim_get_lr(adam),
             "a failed %s changed the optimizer", what);
    FZ_CHECK(!memcmp(st, s->rng_state, sizeof st), "a failed %s changed the generator", what);
}

static void load_checkpoints(const char *path)
{
    static const int with[4][2] = {{1, 1}, {0, 0}, {1, 0}, {0, 1}};
    for (int k = 0; k < 4; k++) {
        snapshot snap;
        snap_take(&snap);
        clear_error();
        ag_status s = ag_checkpoint_load(path, model, with[k][0] ? adam : NULL,
                                         with[k][1] ? rng : NULL);
        check_failed(s, "ag_checkpoint_load");
        if (s == AG_OK) {
            for (int i = 0; i < snap.n; i++) ag_tensor_free(snap.copy[i]);
        } else {
            snap_check_free(&snap, "ag_checkpoint_load");
        }
    }
    snapshot snap;
    snap_take(&snap);
    clear_error();
    ag_status s = ag_module_load(model, path);
    check_failed(s, "ag_module_load");
    if (s == AG_OK) {
        for (int i = 0; i < snap.n; i++) ag_tensor_free(snap.copy[i]);
    } else {
        snap_check_free(&snap, "ag_module_load");
    }
}

static void load_fixed(const char *path)
{
    const ag_named_tensor dest[3] = {{"a", dest_a, 0}, {"b", dest_b, 0}, {"c", dest_c, 0}};
    for (unsigned flags = 0; flags < 4; flags++) {
        clear_error();
        check_failed(ag_safetensors_load(path, 3, dest, flags), "ag_safetensors_load");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_write_file("in.safetensors", data, size);
    ag_safetensors *f = NULL;
    clear_error();
    ag_status s = ag_safetensors_open(path, &f);
    check_failed(s, "ag_safetensors_open");
    FZ_CHECK((s == AG_OK) == (f != NULL), "open: status %s with handle %p", ag_status_name(s),
             (void *)f);
    if (f) read_everything(f);
    ag_safetensors_close(f);
    load_fixed(path);
    load_checkpoints(path);
    return 0;
}
