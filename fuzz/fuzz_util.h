/*
** fuzz_util.h: what the fuzz targets share. A reader that turns the input
** bytes into choices (exhausted input reads as zeros, so every input is a
** complete program), a private scratch directory per process for the files
** the loaders read, and FZ_CHECK, which turns a broken library contract
** (NULL with no error recorded, a message that is empty) into a crash the
** fuzzer reports.
*/
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "ag.h"

/* A contract the library documents, checked: abort() makes it a crash. */
#define FZ_CHECK(cond, ...)                                                   \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "contract broken at %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* ------------------------------------------------------------ reading --- */

typedef struct fz_in {
    const uint8_t *p;
    size_t n, at;
} fz_in;

static inline int fz_more(const fz_in *in) { return in->at < in->n; }

static inline uint8_t fz_u8(fz_in *in) { return in->at < in->n ? in->p[in->at++] : 0; }

static inline uint16_t fz_u16(fz_in *in)
{
    uint16_t lo = fz_u8(in);
    return (uint16_t)(lo | (uint16_t)fz_u8(in) << 8);
}

/* An integer in [lo, hi] (hi - lo < 65536). */
static inline int fz_range(fz_in *in, int lo, int hi)
{
    unsigned span = (unsigned)(hi - lo) + 1;
    return lo + (int)((span <= 256 ? fz_u8(in) : fz_u16(in)) % span);
}

/* 1 with probability about 1/n. */
static inline int fz_rare(fz_in *in, int n) { return fz_u8(in) % n == 0 && fz_more(in); }

/* A double: small integers and halves mostly, sometimes a special value. */
static inline double fz_double(fz_in *in)
{
    static const double special[16] = {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 1e-300, -1e-300,
                                       1e300, -1e300, 1.0 / 0.0, -1.0 / 0.0, 0.0 / 0.0,
                                       1e-7, 3e38, 1e-45};
    uint8_t b = fz_u8(in);
    if (b >= 240) return special[b - 240];
    return ((int)b - 120) / 16.0;
}

/*
** The library bugs fuzzing found (reproducers in fuzz/crashes/) were
** stepped around while they were open; they are fixed, so this is off
** unless AG_FUZZ_AVOID_KNOWN=1.
*/
static inline int fz_avoid_known_bugs(void)
{
    /* The bugs in fuzz/crashes/ are fixed (make fuzz-crashes replays them),
       so the harnesses no longer step around them; AG_FUZZ_AVOID_KNOWN=1
       brings the detours back should a regression need bisecting. */
    const char *v = getenv("AG_FUZZ_AVOID_KNOWN");
    return v && v[0] == '1';
}

/* ------------------------------------------------------------- files --- */

/* A scratch directory of this process (made once, removed at exit). */
static char fz_dir_path[64];

static void fz_dir_remove(void)
{
    char cmd[128];
    if (!fz_dir_path[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir_path);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fz_dir_path);
}

static inline const char *fz_dir(void)
{
    if (!fz_dir_path[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(fz_dir_path, sizeof fz_dir_path, "%s/ag_fuzz_XXXXXX", base);
        if (!mkdtemp(fz_dir_path)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(fz_dir_remove);
    }
    return fz_dir_path;
}

/* Writes data[0..n) to the scratch file name and returns its path
   (valid until the next call with the same name). */
static inline const char *fz_write_file(const char *name, const uint8_t *data, size_t n)
{
    static char paths[4][128];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, sizeof paths[0], "%s/%s", fz_dir(), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        perror("fuzz: open");
        abort();
    }
    for (size_t at = 0; at < n;) {
        ssize_t w = write(fd, data + at, n - at);
        if (w <= 0) {
            perror("fuzz: write");
            abort();
        }
        at += (size_t)w;
    }
    close(fd);
    return path;
}

/* Clears the thread's ag_last_error(), so a failure's message is new. */
static inline void fz_clear_error(void) { ag_set_last_error(AG_OK, "%s", ""); }

/* After fz_clear_error and a call: an error status must have left a
   message. */
static inline void fz_check_error(ag_status s, const char *what)
{
    if (s == AG_OK) return;
    FZ_CHECK(ag_last_error()[0], "%s failed with %s and no message", what, ag_status_name(s));
}

#endif
