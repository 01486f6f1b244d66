/*
** file_util.h: the one way nn/'s loaders open a file to read it (file.c):
** ag_idx_load (idx.c) and ag_safetensors_open (safetensors.c), which
** ag_safetensors_load, ag_module_load and ag_checkpoint_load go through.
** Not installed for users.
*/
#ifndef AG_FILE_UTIL_H
#define AG_FILE_UTIL_H

#include "ag.h"

#include <stddef.h>

/*
** Opens path to read it as a regular file, without ever blocking: the
** open is non-blocking (a FIFO with no writer would block a plain open
** forever, a terminal or a device might), the descriptor is checked with
** fstat, anything but a regular file is refused, and only then is
** O_NONBLOCK cleared for the reads. Returns the descriptor (the caller
** closes it) and the file's size in *size; or -1 with AG_ERR_IO in
** ag_last_error(): "fn: shown: cannot open: <reason>" or "fn: shown: not
** a regular file (a FIFO)" (a directory, a character device, ...). shown
** is the path as the caller's messages quote it.
*/
int agn_file_open(const char *fn, const char *path, const char *shown, int64_t *size);

/* Reads up to n bytes from fd into buf, again after a signal: the bytes
   read (fewer at the end of the file), or -1 with errno set. */
int64_t agn_file_read(int fd, void *buf, size_t n);

#endif
