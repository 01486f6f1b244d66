/*
** fuzz_files.c: every loader given paths that are not regular files, and
** regular files of any content, through the one file-opening path
** (nn/file.c). Input: up to 16 records, each
**     byte K      what the path is: K % 8 = 0 a regular file (its content
**                 follows), 1 a FIFO with no writer, 2 a directory,
**                 3 /dev/null, 4 a missing file, 5 a symlink to the FIFO,
**                 6 a symlink to the directory, 7 a symlink to itself
**     byte L      the loader: L % 7 = 0 ag_idx_load, 1 ag_dataset_load_idx
**                 with the path as images, 2 the same as labels,
**                 3 ag_safetensors_open, 4 ag_safetensors_load,
**                 5 ag_module_load, 6 ag_checkpoint_load
**     (K % 8 == 0) 2 bytes n, little-endian, then n bytes of content
** Contract checked: a path that is not a regular file is refused with
** AG_ERR_IO and a message that begins with the loader's name and says
** "not a regular file (" (or "cannot open: " for a missing file or a
** symlink loop), never read and never waited on: a loader that blocked on
** the FIFO would be reported as a timeout. A regular file may load or not;
** a failure leaves a message beginning with the loader's name, and a
** failed module load leaves the module unchanged.
*/
#include "fuzz_util.h"

#include <sys/stat.h>

#define RECORDS 16

static const char *const loader_fn[7] = {
    "ag_idx_load", "ag_dataset_load_idx", "ag_dataset_load_idx", "ag_safetensors_open",
    "ag_safetensors_load", "ag_module_load", "ag_checkpoint_load"};

typedef struct fz_files {
    char fifo[128], dir[128], missing[128], to_fifo[128], to_dir[128], loop[128];
    char images[128], labels[128];     /* valid partners for the dataset loader */
    ag_module *model;                  /* Linear(2, 3), f32 */
} fz_files;

static void make_path(char *buf, const char *name)
{
    snprintf(buf, 128, "%s/%s", fz_dir(), name);
}

/* The special paths, once per process (the scratch directory is removed
   at exit). */
static fz_files *setup(void)
{
    static fz_files f;
    if (f.model) return &f;
    make_path(f.fifo, "fifo");
    make_path(f.dir, "dir");
    make_path(f.missing, "missing");
    make_path(f.to_fifo, "to_fifo");
    make_path(f.to_dir, "to_dir");
    make_path(f.loop, "loop");
    if (mkfifo(f.fifo, 0600) != 0 || mkdir(f.dir, 0700) != 0 || symlink(f.fifo, f.to_fifo) ||
        symlink(f.dir, f.to_dir) || symlink(f.loop, f.loop)) {
        perror("fuzz_files: setup");
        abort();
    }
    static const uint8_t img[] = {0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 2, 7, 9};
    static const uint8_t lbl[] = {0, 0, 8, 1, 0, 0, 0, 1, 3};
    snprintf(f.images, sizeof f.images, "%s", fz_write_file("images.idx", img, sizeof img));
    snprintf(f.labels, sizeof f.labels, "%s", fz_write_file("labels.idx", lbl, sizeof lbl));
    ag_rng *r = ag_rng_new(5);
    f.model = ag_linear_new(2, 3, 1, AG_F32, r);
    ag_rng_free(r);
    if (!f.model) abort();
    return &f;
}

/* A checksum of the model's values (a failed load must not change them). */
static double model_sum(const ag_module *m)
{
    ag_named_tensor list[8];
    int n = ag_module_named_tensors(m, list, 8, 1);
    double s = 0;
    for (int i = 0; i < n && i < 8; i++)
        for (int64_t k = 0; k < ag_tensor_numel(list[i].tensor); k++)
            s += ag_tensor_get(list[i].tensor, k) * (double)(k + 1 + 7 * i);
    return s;
}

/* Runs loader k on path; the status (AG_OK when it loaded). */
static ag_status run_loader(const fz_files *f, int k, const char *path)
{
    ag_idx idx;
    ag_safetensors *st = NULL;
    ag_dataset *ds;
    ag_tensor *x = ag_zeros(NULL, AG_F32, 1, (int64_t[]){2});
    ag_named_tensor dest = {"x", x, 0};
    ag_status s;
    if (!x) abort();
    switch (k) {
    case 0:
        s = ag_idx_load(path, &idx);
        if (s == AG_OK) ag_idx_free(&idx);
        break;
    case 1:
    case 2:
        ds = k == 1 ? ag_dataset_load_idx_classes(path, f->labels, 10)
                    : ag_dataset_load_idx_classes(f->images, path, 10);
        s = ds ? AG_OK : AG_ERR_IO;         /* the real status is in the message */
        ag_dataset_free(ds);
        break;
    case 3: s = ag_safetensors_open(path, &st); break;
    case 4: s = ag_safetensors_load(path, 1, &dest, AG_LOAD_ALLOW_MISSING); break;
    case 5: s = ag_module_load(f->model, path); break;
    default: s = ag_checkpoint_load(path, f->model, NULL, NULL); break;
    }
    ag_safetensors_close(st);
    ag_tensor_free(x);
    return s;
}

/* One record: the path it names (writing a regular file's content). */
static const char *record_path(const fz_files *f, fz_in *in, int kind)
{
    switch (kind) {
    case 0: {
        size_t n = fz_u16(in), left = in->n - in->at;
        if (n > left) n = left;
        const char *p = fz_write_file("regular", in->p + in->at, n);
        in->at += n;
        return p;
    }
    case 1: return f->fifo;
    case 2: return f->dir;
    case 3: return "/dev/null";
    case 4: return f->missing;
    case 5: return f->to_fifo;
    case 6: return f->to_dir;
    default: return f->loop;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_files *f = setup();
    fz_in in = {data, size, 0};
    for (int r = 0; r < RECORDS && fz_more(&in); r++) {
        int kind = fz_u8(&in) % 8, k = fz_u8(&in) % 7;
        const char *path = record_path(f, &in, kind);
        double before = model_sum(f->model);
        fz_clear_error();
        ag_status s = run_loader(f, k, path);
        const char *msg = ag_last_error(), *fn = loader_fn[k];
        if (s != AG_OK)
            FZ_CHECK(!strncmp(msg, fn, strlen(fn)), "%s on %s: %s, message '%s'", fn, path,
                     ag_status_name(s), msg);
        if (s != AG_OK && k >= 5)
            FZ_CHECK(model_sum(f->model) == before, "%s failed and changed the model", fn);
        if (kind == 0) continue;
        const char *want = kind == 4 || kind == 7 ? "cannot open: " : "not a regular file (";
        FZ_CHECK((s == AG_ERR_IO || (s != AG_OK && (k == 1 || k == 2))) && strstr(msg, want) &&
                     strstr(msg, path),
                 "%s on %s (kind %d): %s, message '%s'", fn, path, kind, ag_status_name(s), msg);
    }
    return 0;
}
