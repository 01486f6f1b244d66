/*
** st_test_util.h: helpers for the file suites (safetensors, checkpoint):
** a private temporary directory per test, whole-file read/write and byte
** patching, snapshots of a module's tensors compared bit for bit, a toy
** module with parameters and buffers of both dtypes in a child, and a
** save that is made to fail half-way (a file size limit).
*/
#ifndef ST_TEST_UTIL_H
#define ST_TEST_UTIL_H

#include "test_util.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

/* ------------------------------------------------------------- files --- */

typedef struct tu_dir {
    char path[64];
    char buf[4][256];       /* rotating results of tu_path */
    int next;
} tu_dir;

static inline void tu_dir_make(tu_dir *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->path, sizeof d->path, "/tmp/ag_st_test_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(d->path));
}

/* dir/name (valid until four more calls). */
static inline const char *tu_path(tu_dir *d, const char *name)
{
    char *b = d->buf[d->next++ % 4];
    size_t k = strlen(d->path), m = strlen(name);
    ck_assert_uint_lt(k + m + 1, sizeof d->buf[0]);
    memcpy(b, d->path, k);                  /* (snprintf trips gcc's -Wrestrict here) */
    b[k] = '/';
    memcpy(b + k + 1, name, m + 1);
    return b;
}

/* Entries in the directory whose name contains part. */
static inline int tu_dir_count(const tu_dir *d, const char *part)
{
    DIR *dir = opendir(d->path);
    ck_assert_ptr_nonnull(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(dir));)
        if (e->d_name[0] != '.' && strstr(e->d_name, part)) n++;
    closedir(dir);
    return n;
}

/* Removes the directory and the files in it. */
static inline void tu_dir_remove(tu_dir *d)
{
    DIR *dir = opendir(d->path);
    if (!dir) return;
    char p[512];
    for (struct dirent *e; (e = readdir(dir));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", d->path, e->d_name);
        unlink(p);
    }
    closedir(dir);
    rmdir(d->path);
}

/* The whole file (caller frees); *len its size. */
static inline unsigned char *tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static inline void tu_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Where the len bytes of what occur in buf[0..n), or -1. */
static inline long tu_find(const unsigned char *buf, size_t n, const char *what)
{
    size_t k = strlen(what);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(buf + i, what, k)) return (long)i;
    return -1;
}

/* Copies src to dst with the first `from` replaced by `to` (same length). */
static inline void tu_patch(const char *src, const char *dst, const char *from, const char *to)
{
    size_t n;
    unsigned char *b = tu_read(src, &n);
    long at = tu_find(b, n, from);
    ck_assert_msg(at >= 0, "'%s' not found in %s", from, src);
    ck_assert_uint_eq(strlen(from), strlen(to));
    memcpy(b + at, to, strlen(to));
    tu_write(dst, b, n);
    free(b);
}

/* Asserts the status and that the message has every part (NULL ends). */
static inline void tu_assert_failed(ag_status s, ag_status want, const char *part1,
                                    const char *part2, const char *part3)
{
    const char *msg = ag_last_error();
    ck_assert_msg(s == want, "status %s, expected %s: %s", ag_status_name(s),
                  ag_status_name(want), msg);
    const char *parts[3] = {part1, part2, part3};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(!parts[i] || strstr(msg, parts[i]), "message '%s' lacks '%s'", msg,
                      parts[i]);
}

/* --------------------------------------------------------- snapshots --- */

#define TU_MAX_SNAP 32

/* Copies of named tensors, to prove later that nothing changed. */
typedef struct tu_snap {
    int n;
    ag_named_tensor live[TU_MAX_SNAP];
    ag_tensor *copy[TU_MAX_SNAP];
} tu_snap;

static inline void tu_snap_take(tu_snap *s, int n, const ag_named_tensor *list)
{
    ck_assert_int_le(n, TU_MAX_SNAP);
    s->n = n;
    for (int i = 0; i < n; i++) {
        s->live[i] = list[i];
        s->copy[i] = ag_tensor_clone(list[i].tensor);
        ck_assert_ptr_nonnull(s->copy[i]);
    }
}

static inline void tu_snap_module(tu_snap *s, const ag_module *m)
{
    ag_named_tensor list[TU_MAX_SNAP];
    int n = ag_module_named_tensors(m, list, TU_MAX_SNAP, 1);
    tu_snap_take(s, n, list);
}

/* Bitwise equality of a and b (dtype, shape and every byte). */
static inline int tu_same_bits(ag_tensor *a, ag_tensor *b)
{
    if (ag_tensor_dtype(a) != ag_tensor_dtype(b) || ag_tensor_ndim(a) != ag_tensor_ndim(b))
        return 0;
    for (int d = 0; d < ag_tensor_ndim(a); d++)
        if (ag_tensor_shape(a)[d] != ag_tensor_shape(b)[d]) return 0;
    size_t size = ag_tensor_dtype(a) == AG_F64 ? 8 : 4;
    return !memcmp(ag_tensor_data(a), ag_tensor_data(b), (size_t)ag_tensor_numel(a) * size);
}

/* Asserts every live tensor still holds its snapshot's bits. */
static inline void tu_snap_assert_same(const tu_snap *s)
{
    for (int i = 0; i < s->n; i++)
        ck_assert_msg(tu_same_bits(s->live[i].tensor, s->copy[i]), "tensor '%s' changed",
                      s->live[i].name);
}

/* Asserts the list holds the snapshot's bits, tensor by tensor (same names). */
static inline void tu_snap_assert_equals(const tu_snap *s, int n, const ag_named_tensor *list)
{
    ck_assert_int_eq(n, s->n);
    for (int i = 0; i < n; i++) {
        ck_assert_str_eq(list[i].name, s->live[i].name);
        ck_assert_msg(tu_same_bits(list[i].tensor, s->copy[i]), "tensor '%s' differs",
                      list[i].name);
    }
}

static inline void tu_snap_free(tu_snap *s)
{
    for (int i = 0; i < s->n; i++) ag_tensor_free(s->copy[i]);
    s->n = 0;
}

/* -------------------------------------------------------- toy module --- */

static const ag_module_ops tu_toy_ops = {"Toy", NULL, NULL};

static inline ag_module *tu_module_new(void)
{
    ag_module *m = calloc(1, sizeof *m);
    ck_assert_ptr_nonnull(m);
    ag_module_init(m, &tu_toy_ops);
    return m;
}

/*
** A module with a child:
**   weight [3,cols] F32, bias [cols] F32 (parameters)
**   head.v [cols,1] F32 (parameter), head.running_mean [cols] F32,
**   head.num_batches [] F64 (buffers)
** values drawn from seed. child names the child ("head").
*/
static inline ag_module *tu_toy_new(uint64_t seed, int64_t cols, const char *child)
{
    ag_rng *r = ag_rng_new(seed);
    ag_module *m = tu_module_new(), *h = tu_module_new();
    ck_assert_int_eq(ag_module_add_param(m, "weight", ag_rand_normal(NULL, r, AG_F32, 2,
                                         SHAPE(3, cols), 0, 0.5)), AG_OK);
    ck_assert_int_eq(ag_module_add_param(m, "bias", ag_rand_normal(NULL, r, AG_F32, 1,
                                         SHAPE(cols), 0, 0.1)), AG_OK);
    ck_assert_int_eq(ag_module_add_param(h, "v", ag_rand_normal(NULL, r, AG_F32, 2,
                                         SHAPE(cols, 1), 0, 0.5)), AG_OK);
    ck_assert_int_eq(ag_module_add_buffer(h, "running_mean", ag_rand_uniform(NULL, r, AG_F32, 1,
                                          SHAPE(cols), -1, 1)), AG_OK);
    ck_assert_int_eq(ag_module_add_buffer(h, "num_batches", ag_scalar(NULL, AG_F64,
                                          (double)(seed % 100))), AG_OK);
    ck_assert_int_eq(ag_module_add_child(m, child, h), AG_OK);
    ag_rng_free(r);
    return m;
}

/* ---------------------------------------------------- a failing save --- */

/* Limits the size of files this process writes to limit bytes (a write
   beyond it fails with EFBIG instead of raising SIGXFSZ); tu_fsize_restore
   undoes it. Root cannot be stopped by file modes, but by this it can. */
typedef struct tu_fsize {
    struct rlimit old;
    void (*old_handler)(int);
} tu_fsize;

static inline void tu_fsize_limit(tu_fsize *f, rlim_t limit)
{
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &f->old), 0);
    f->old_handler = signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {limit, f->old.rlim_max};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
}

static inline void tu_fsize_restore(tu_fsize *f)
{
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &f->old), 0);
    signal(SIGXFSZ, f->old_handler);
}

#endif /* ST_TEST_UTIL_H */
