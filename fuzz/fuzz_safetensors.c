/*
** fuzz_safetensors.c: the safetensors reader and the loaders on top of it,
** fed arbitrary files. The input is the whole file. Each run:
**   - ag_safetensors_open, and on success every reader (count, info, find,
**     read with the entry's own dtype and shape, which must succeed, and
**     with a wrong dtype and shape, which must fail; the metadata);
**   - ag_safetensors_load into three fixed tensors with each of the four
**     flag combinations;
**   - ag_module_load and ag_checkpoint_load into a small fixed world
**     (fuzz_model.h: Sequential(Linear(2, 3), BatchNorm1d(3)) in f32, a
**     generator, one optimizer of every kind): with and without Adam and
**     the generator, then with each optimizer in turn; after a load that
**     succeeds, the optimizer steps and the generator draws.
** Contracts checked beyond "no crash, leak, UB or hang": an error leaves a
** message naming the function; a failed load changes nothing; a loaded
** optimizer's state passes ag_optim_check_state, its step count and lr are
** in range, and a step returns AG_OK or an error with a message; the
** generator's state is never all zero and its normal draws return.
** The world is reset to its state at start-up before every input, so a
** run does not depend on the inputs before it. fuzz/make_seeds.c writes the seeds, checkpoints
** of every optimizer of the world among them.
*/
#include "fuzz_model.h"

#include <math.h>

static fz_world world;
static fz_saved pristine;
static ag_tensor *dest_a, *dest_b, *dest_c;

static void free_fixed(void)
{
    fz_saved_free(&pristine);
    fz_world_free(&world);
    ag_tensor_free(dest_a), ag_tensor_free(dest_b), ag_tensor_free(dest_c);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    ag_set_num_threads(1);
    dest_a = ag_zeros(NULL, AG_F32, 2, (int64_t[]){2, 2});
    dest_b = ag_zeros(NULL, AG_F64, 1, (int64_t[]){3});
    dest_c = ag_zeros(NULL, AG_F32, 0, NULL);
    if (!dest_a || !dest_b || !dest_c) abort();
    fz_world_make(&world);
    fz_world_save(&world, &pristine);
    atexit(free_fixed);
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

/* Bitwise copies of the model, one optimizer's state and the generator's,
   to prove a failed load changed nothing. */
typedef struct snapshot {
    int n;
    ag_tensor *copy[32];
    int64_t steps;
    double lr, base_lr;
    uint64_t rng_state[4];
} snapshot;

static int list_state(const ag_optim *o, ag_named_tensor *list, int max)
{
    int n = ag_module_named_tensors(world.model, list, max, 1);
    FZ_CHECK(n + ag_optim_state(o, NULL, 0) <= max, "more than %d state tensors", max);
    return n + ag_optim_state(o, list + n, max - n);
}

static void snap_take(snapshot *s, const ag_optim *o)
{
    ag_named_tensor list[32];
    s->n = list_state(o, list, 32);
    for (int i = 0; i < s->n; i++) s->copy[i] = ag_tensor_clone(list[i].tensor);
    s->steps = ag_optim_steps(o);
    s->lr = ag_optim_get_lr(o);
    s->base_lr = ag_optim_base_lr(o);
    ag_rng_get_state(world.rng, s->rng_state);
}

static void snap_free(snapshot *s)
{
    for (int i = 0; i < s->n; i++) ag_tensor_free(s->copy[i]);
}

static void snap_check_free(snapshot *s, const ag_optim *o, const char *what)
{
    ag_named_tensor list[32];
    list_state(o, list, 32);
    uint64_t st[4];
    ag_rng_get_state(world.rng, st);
    for (int i = 0; i < s->n; i++) {
        size_t bytes = (size_t)ag_tensor_numel(s->copy[i]) *
                       (ag_tensor_dtype(s->copy[i]) == AG_F64 ? 8 : 4);
        FZ_CHECK(!memcmp(ag_tensor_data(list[i].tensor), ag_tensor_data(s->copy[i]), bytes),
                 "a failed %s changed '%s'", what, list[i].name);
    }
    snap_free(s);
    double lr = ag_optim_get_lr(o), base = ag_optim_base_lr(o);
    FZ_CHECK(s->steps == ag_optim_steps(o) && !memcmp(&s->lr, &lr, sizeof lr) &&
             !memcmp(&s->base_lr, &base, sizeof base), "a failed %s changed the optimizer", what);
    FZ_CHECK(!memcmp(st, s->rng_state, sizeof st), "a failed %s changed the generator", what);
}

/* What a loaded optimizer and generator must be: state within its rules,
   counters in range, a step that succeeds or says why, and draws that
   return (an all-zero generator state would loop forever). */
static void use_loaded(int k, int with_rng)
{
    ag_optim *o = world.optims[k];
    const char *name = ag_optim_name(o);
    FZ_CHECK(ag_optim_check_state(o) == AG_OK, "%s loaded state it refuses: %s", name,
             ag_last_error());
    double lr = ag_optim_get_lr(o), base = ag_optim_base_lr(o);
    int64_t steps = ag_optim_steps(o);
    FZ_CHECK(steps >= 0 && steps <= AG_OPTIM_MAX_STEPS, "%s loaded %lld steps", name,
             (long long)steps);
    FZ_CHECK(isfinite(lr) && lr >= 0 && isfinite(base) && base >= 0, "%s loaded lr %g, %g",
             name, lr, base);
    clear_error();
    ag_status s = fz_step(&world, k);
    FZ_CHECK(s == AG_OK || *ag_last_error(), "%s step failed with %s and no message", name,
             ag_status_name(s));
    if (!with_rng) return;
    uint64_t st[4];
    ag_rng_get_state(world.rng, st);
    FZ_CHECK(st[0] | st[1] | st[2] | st[3], "the generator was loaded all zero");
    ag_tape_reset(world.tape);
    ag_tensor *z = ag_rand_normal(world.tape, world.rng, AG_F64, 1, (int64_t[]){8}, 0, 1);
    FZ_CHECK(z != NULL, "ag_rand_normal from a loaded generator: %s", ag_tape_errmsg(world.tape));
    for (int i = 0; i < 4; i++) FZ_CHECK(isfinite(ag_rng_normal(world.rng)), "a normal draw");
    ag_tape_reset(world.tape);
}

/* ag_checkpoint_load into the world with optimizer k (or none) and the
   generator (or not); checked as above. */
static void load_checkpoint(const char *path, int k, int with_rng)
{
    ag_optim *o = k >= 0 ? world.optims[k] : NULL;
    snapshot snap;
    snap_take(&snap, world.optims[k >= 0 ? k : FZ_ADAM]);
    clear_error();
    ag_status s = ag_checkpoint_load(path, world.model, o, with_rng ? world.rng : NULL);
    check_failed(s, "ag_checkpoint_load");
    if (s != AG_OK) {
        snap_check_free(&snap, world.optims[k >= 0 ? k : FZ_ADAM], "ag_checkpoint_load");
        return;
    }
    snap_free(&snap);
    if (o) use_loaded(k, with_rng);
}

static void load_checkpoints(const char *path)
{
    load_checkpoint(path, FZ_ADAM, 1);
    load_checkpoint(path, -1, 0);
    load_checkpoint(path, FZ_ADAM, 0);
    load_checkpoint(path, -1, 1);
    for (int k = 0; k < FZ_N_OPTIMS; k++)
        if (k != FZ_ADAM) load_checkpoint(path, k, 1);
    snapshot snap;
    snap_take(&snap, world.optims[FZ_ADAM]);
    clear_error();
    ag_status s = ag_module_load(world.model, path);
    check_failed(s, "ag_module_load");
    if (s == AG_OK)
        snap_free(&snap);
    else
        snap_check_free(&snap, world.optims[FZ_ADAM], "ag_module_load");
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
    fz_world_reset(&world, &pristine);
    load_checkpoints(path);
    return 0;
}
