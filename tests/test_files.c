/*
** test_files.c: the one file-opening path every loader goes through
** (nn/file.c): ag_idx_load, ag_dataset_load_idx, ag_safetensors_open,
** ag_safetensors_load, ag_module_load and ag_checkpoint_load each given a
** FIFO with no writer (which used to block forever in open), a directory,
** a character device (/dev/null) and a missing path: each is refused at
** once with AG_ERR_IO and a message naming the function, the path and
** what the path is.
**
** A FIFO that blocked the loader would hang the suite, so a guard thread
** unblocks any reader after GUARD_NS (it opens the FIFO for writing, which
** succeeds only while a reader is waiting, and closes it at once: the
** reader sees an empty file): a loader that blocked then fails on time,
** not by hanging.
*/
#include "st_test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>

#define GUARD_NS 2000000000LL       /* the guard releases a blocked reader after 2 s */
#define QUICK_NS 1000000000LL       /* a refusal must come well before that */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

typedef struct guard {
    const char *fifo;
    atomic_int done;
    pthread_t thread;
} guard;

/* After GUARD_NS, opens the FIFO for writing whenever a reader waits on
   it (ENXIO while none does), until the test is done. */
static void *guard_main(void *arg)
{
    guard *g = arg;
    int64_t t0 = now_ns();
    while (!atomic_load(&g->done)) {
        if (now_ns() - t0 >= GUARD_NS) {
            int fd = open(g->fifo, O_WRONLY | O_NONBLOCK);
            if (fd >= 0) close(fd);
        }
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
    return NULL;
}

static void guard_start(guard *g, const char *fifo)
{
    g->fifo = fifo;
    atomic_init(&g->done, 0);
    ck_assert_int_eq(pthread_create(&g->thread, NULL, guard_main, g), 0);
}

static void guard_stop(guard *g)
{
    atomic_store(&g->done, 1);
    pthread_join(g->thread, NULL);
}

/* Every loader, by number: 0 ag_idx_load, 1 ag_dataset_load_idx (the bad
   path as the images), 2 ag_safetensors_open, 3 ag_safetensors_load,
   4 ag_module_load, 5 ag_checkpoint_load. good is a valid IDX file. */
#define N_LOADERS 6
static const char *const loader_names[N_LOADERS] = {
    "ag_idx_load", "ag_dataset_load_idx", "ag_safetensors_open", "ag_safetensors_load",
    "ag_module_load", "ag_checkpoint_load"};

static ag_status run_loader(int k, const char *path, const char *good, ag_module *m)
{
    ag_idx idx;
    ag_safetensors *f = NULL;
    ag_dataset *ds;
    ag_tensor *x = ag_zeros(NULL, AG_F32, 1, SHAPE(2));
    ag_named_tensor dest = {"x", x, 0};
    ag_status s = AG_OK;
    switch (k) {
    case 0: s = ag_idx_load(path, &idx); break;
    case 1:
        ds = ag_dataset_load_idx(path, good);
        s = ds ? AG_OK : AG_ERR_IO;
        ag_dataset_free(ds);
        break;
    case 2: s = ag_safetensors_open(path, &f); break;
    case 3: s = ag_safetensors_load(path, 1, &dest, AG_LOAD_STRICT); break;
    case 4: s = ag_module_load(m, path); break;
    default: s = ag_checkpoint_load(path, m, NULL, NULL); break;
    }
    if (s == AG_OK && k == 0) ag_idx_free(&idx);
    ag_safetensors_close(f);
    ag_tensor_free(x);
    return s;
}

/* Loader k refuses path quickly with AG_ERR_IO, naming itself, the path
   and `what`. */
static void assert_refused(int k, const char *path, const char *good, ag_module *m,
                           const char *what)
{
    ag_set_last_error(AG_OK, "%s", "");
    int64_t t0 = now_ns();
    ag_status s = run_loader(k, path, good, m);
    int64_t took = now_ns() - t0;
    const char *msg = ag_last_error();
    ck_assert_msg(took < QUICK_NS, "%s on %s took %.3f s (blocked?)", loader_names[k], path,
                  (double)took * 1e-9);
    ck_assert_msg(s == AG_ERR_IO, "%s on %s: %s, %s", loader_names[k], path,
                  ag_status_name(s), msg);
    ck_assert_msg(!strncmp(msg, loader_names[k], strlen(loader_names[k])),
                  "%s on %s: message '%s'", loader_names[k], path, msg);
    ck_assert_msg(strstr(msg, path) && strstr(msg, what), "%s on %s: message '%s' lacks '%s'",
                  loader_names[k], path, msg, what);
}

/* Regression (#11): a FIFO given to a loader blocked it forever in open. */
START_TEST(test_loaders_refuse_non_regular_files)
{
    tu_dir d;
    tu_dir_make(&d);
    char fifo[256], good[256], missing[256];
    snprintf(fifo, sizeof fifo, "%s", tu_path(&d, "pipe"));
    snprintf(good, sizeof good, "%s", tu_path(&d, "labels.idx"));
    snprintf(missing, sizeof missing, "%s", tu_path(&d, "none"));
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    tu_write(good, (const uint8_t[]){0, 0, 8, 1, 0, 0, 0, 1, 3}, 9);
    ag_module *m = tu_toy_new(1, 2, "head");
    guard g;
    guard_start(&g, fifo);
    for (int k = 0; k < N_LOADERS; k++) {
        assert_refused(k, fifo, good, m, "not a regular file (a FIFO)");
        assert_refused(k, d.path, good, m, "not a regular file (a directory)");
        assert_refused(k, "/dev/null", good, m, "not a regular file (a character device)");
        assert_refused(k, missing, good, m, "cannot open: No such file or directory");
    }
    guard_stop(&g);
    /* the loaders still read regular files (the labels file itself) */
    ag_idx idx;
    ck_assert_int_eq(ag_idx_load(good, &idx), AG_OK);
    ck_assert_int_eq(idx.size, 1);
    ck_assert_int_eq(idx.data[0], 3);
    ag_idx_free(&idx);
    ag_module_free(m);
    tu_dir_remove(&d);
}
END_TEST

Suite *suite_files(void)
{
    Suite *s = suite_create("files");
    TCase *tc = tcase_create("test_loaders_refuse_non_regular_files");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_loaders_refuse_non_regular_files);
    suite_add_tcase(s, tc);
    return s;
}
