/*
** dataio_test_util.h: helpers for the data loader suites (test_csv.c,
** test_npy.c, test_batch_iter.c): a temporary folder per test, files
** written there byte by byte, and an assertion on a failed call's status
** and ag_last_error() message.
*/
#ifndef DATAIO_TEST_UTIL_H
#define DATAIO_TEST_UTIL_H

#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct dio_dir {
    char path[64];
    char names[32][32];
    int n;
} dio_dir;

/* A fresh temporary folder (dio_dir_remove removes it and its files). */
static inline void dio_dir_make(dio_dir *d, const char *tag)
{
    memset(d, 0, sizeof *d);
    snprintf(d->path, sizeof d->path, "/tmp/ag_test_%s_XXXXXX", tag);
    ck_assert_ptr_nonnull(mkdtemp(d->path));
}

/* The path of file name in d (buf of 128 bytes). */
static inline const char *dio_path(const dio_dir *d, const char *name, char buf[128])
{
    snprintf(buf, 128, "%s/%s", d->path, name);
    return buf;
}

/* Writes n bytes to d/name (remembered for removal); returns the path. */
static inline const char *dio_write(dio_dir *d, const char *name, const void *bytes, size_t n,
                                    char buf[128])
{
    dio_path(d, name, buf);
    FILE *f = fopen(buf, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
    int seen = 0;
    for (int i = 0; i < d->n; i++) seen |= !strcmp(d->names[i], name);
    if (!seen && d->n < 32) snprintf(d->names[d->n++], 32, "%s", name);
    return buf;
}

static inline const char *dio_write_text(dio_dir *d, const char *name, const char *text,
                                         char buf[128])
{
    return dio_write(d, name, text, strlen(text), buf);
}

static inline void dio_dir_remove(dio_dir *d)
{
    char buf[128];
    for (int i = 0; i < d->n; i++) ck_assert_int_eq(unlink(dio_path(d, d->names[i], buf)), 0);
    ck_assert_int_eq(rmdir(d->path), 0);
}

/* Asserts that a call failed (failed is true) with an ag_last_error()
   message holding part1 and part2. */
#define dio_assert_fails(failed, part1, part2)                                         \
    do {                                                                               \
        ck_assert_msg((failed), "the call did not fail");                              \
        ck_assert_msg(strstr(ag_last_error(), (part1)) != NULL,                         \
                      "message '%s' lacks '%s'", ag_last_error(), (part1));             \
        ck_assert_msg(strstr(ag_last_error(), (part2)) != NULL,                         \
                      "message '%s' lacks '%s'", ag_last_error(), (part2));             \
    } while (0)

#endif
