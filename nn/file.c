/*
** file.c: opening a file for a loader (see file_util.h). Every loader
** opens its file here, so a FIFO, a directory or a device given as a path
** is refused the same way everywhere, before any read.
*/
#include "file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What a file that is not regular is, for the message. */
static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "of an unknown kind";
}

/* Closes fd (when >= 0) and records "fn: shown: what detail"; -1. */
static int refuse(int fd, const char *fn, const char *shown, const char *what,
                  const char *detail)
{
    ag_set_last_error(AG_ERR_IO, "%s: %s: %s%s", fn, shown, what, detail);
    if (fd >= 0) close(fd);
    return -1;
}

int agn_file_open(const char *fn, const char *path, const char *shown, int64_t *size)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return refuse(-1, fn, shown, "cannot open: ", strerror(errno));
    if (fstat(fd, &st) != 0) return refuse(fd, fn, shown, "cannot read: ", strerror(errno));
    if (!S_ISREG(st.st_mode)) {
        char kind[48];
        snprintf(kind, sizeof kind, "(%s)", file_kind(st.st_mode));
        return refuse(fd, fn, shown, "not a regular file ", kind);
    }
    int flags = fcntl(fd, F_GETFL);             /* reads may block again: a regular file */
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
        return refuse(fd, fn, shown, "cannot read: ", strerror(errno));
    *size = (int64_t)st.st_size;
    return fd;
}

int64_t agn_file_read(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (int64_t)got;
}
