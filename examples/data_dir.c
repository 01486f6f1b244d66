/*
** data_dir.c: example_data_dir (data_dir.h).
*/
#include "data_dir.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const files[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* The first of the four files dir lacks, or NULL when it has them all. */
static const char *missing(const char *dir)
{
    char path[PATH_MAX + 64];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (access(path, R_OK) != 0) return files[i];
    }
    return NULL;
}

/* build/data/fashion-mnist beside the running program's folder, up to
   two levels up (build/examples/NAME, build/valgrind/examples/NAME). */
static int near_program(char *out, size_t n)
{
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return 0;
    exe[len] = '\0';
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash) return 0;
        *slash = '\0';                       /* the folder above */
        snprintf(out, n, "%s/data/fashion-mnist", exe);
        if (!missing(out)) return 1;
    }
    return 0;
}

int example_data_dir(const char *given, char *out, size_t n)
{
    const char *asked = given ? given : getenv("AG_DATA_DIR");
    if (asked && *asked) {
        const char *m = missing(asked);
        if (!m) return snprintf(out, n, "%s", asked), 1;
        snprintf(out, n, "%s%s: cannot read %s/%s", given ? "--data " : "AG_DATA_DIR=", asked,
                 asked, m);
        return -1;
    }
    snprintf(out, n, "build/data/fashion-mnist");
    if (!missing(out) || near_program(out, n)) return 1;
    snprintf(out, n, "build/data/fashion-mnist");
    return 0;
}

int example_out_dir(const char *prog, const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0777) == 0) return 1;
    int err = errno;
    if (err == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && access(dir, W_OK) == 0)
        return 1;
    fprintf(stderr, "%s: cannot create the folder '%s': %s\n", prog, dir,
            err == EEXIST ? "it exists and is not a writable folder" : strerror(err));
    return 0;
}
