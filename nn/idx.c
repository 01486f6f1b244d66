/*
** idx.c: the IDX file loader (MNIST, Fashion-MNIST). Reads the whole file
** into memory after checking that its header describes it exactly: magic,
** data type (unsigned byte only), number of dimensions, and a length equal
** to header + product of dimensions. The dataset built on it is in
** dataset.c; nothing here knows about labels or classes.
*/
#include "file_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDX_UBYTE 0x08   /* the only data type accepted */

/* A path short enough to quote in a 512-byte message: its last 160 bytes
   after "..." when longer. */
static const char *short_path(const char *path, char buf[168])
{
    size_t len = strlen(path);
    if (len <= 160) return path;
    snprintf(buf, 168, "...%s", path + len - 160);
    return buf;
}

/* "[60000,28,28]" into buf. */
static const char *dims_str(int ndim, const int64_t *dims, char buf[64])
{
    int at = snprintf(buf, 64, "[");
    for (int i = 0; i < ndim; i++)
        at += snprintf(buf + at, (size_t)(64 - at), "%s%lld", i ? "," : "", (long long)dims[i]);
    snprintf(buf + at, (size_t)(64 - at), "]");
    return buf;
}

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Opens path as every loader does (agn_file_open: a regular file only,
   never blocking) and gives its length; NULL with the error. */
static FILE *open_regular(const char *path, const char *shown, int64_t *length)
{
    char quoted[176];
    snprintf(quoted, sizeof quoted, "'%s'", shown);
    int fd = agn_file_open("ag_idx_load", path, quoted, length);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        ag_set_last_error(AG_ERR_NOMEM, "ag_idx_load: %s: out of memory", quoted);
    }
    return f;
}

/*
** Reads and checks the header: ndim and dims into out, the header's
** length into *header. The file's length is checked against it too, so no
** memory is asked for on the word of a corrupt header.
*/
static ag_status read_header(FILE *f, const char *shown, int64_t length, ag_idx *out,
                             int64_t *header)
{
    uint8_t magic[4], word[4];
    if (length < 4 || fread(magic, 1, 4, f) != 4)
        return ag_set_last_error(AG_ERR_FORMAT, "ag_idx_load: '%s': truncated header: the file "
                                 "has %lld bytes, the magic number needs 4", shown, (long long)length);
    if (magic[0] == 0x1f && magic[1] == 0x8b)
        return ag_set_last_error(AG_ERR_FORMAT, "ag_idx_load: '%s': a gzip file, not an IDX "
                                 "file: gunzip it first (no zlib here)", shown);
    if (magic[0] != 0 || magic[1] != 0)
        return ag_set_last_error(AG_ERR_FORMAT, "ag_idx_load: '%s': bad magic number 0x%08x: not "
                                 "an IDX file (its first two bytes must be 0)", shown,
                                 (unsigned)be32(magic));
    if (magic[2] != IDX_UBYTE)
        return ag_set_last_error(AG_ERR_FORMAT, "ag_idx_load: '%s': data type 0x%02x is not "
                                 "supported (only 0x08, unsigned byte)", shown, magic[2]);
    if (magic[3] < 1 || magic[3] > AG_IDX_MAX_DIMS)
        return ag_set_last_error(AG_ERR_FORMAT, "ag_idx_load: '%s': %d dimensions (1 to %d "
                                 "supported)", shown, magic[3], AG_IDX_MAX_DIMS);
    out->ndim = magic[3];
    *header = 4 + 4 * (int64_t)out->ndim;
    if (length < *header)
        return ag_set_last_error(AG_ERR_FORMAT, "ag_idx_load: '%s': truncated header: the file "
                                 "has %lld bytes, a %d-D header needs %lld", shown,
                                 (long long)length, out->ndim, (long long)*header);
    for (int i = 0; i < out->ndim; i++) {
        if (fread(word, 1, 4, f) != 4)
            return ag_set_last_error(AG_ERR_IO, "ag_idx_load: '%s': read error in the header", shown);
        out->dims[i] = be32(word);
    }
    return AG_OK;
}

/* Checks that length == header + product of dims; sets out->size. The
   dims obey the rule of every tensor's shape (ag_shape_numel): a zero dim
   does not excuse huge others. */
static ag_status check_length(const char *shown, int64_t length, int64_t header, ag_idx *out)
{
    char dbuf[64];
    const int64_t size = ag_shape_numel(out->ndim, out->dims);    /* bytes: one a value */
    const char *shape = dims_str(out->ndim, out->dims, dbuf);
    if (size < 0)
        return ag_set_last_error(AG_ERR_FORMAT, "ag_idx_load: '%s': the header says %s: more "
                                 "elements than a tensor may hold (AG_NUMEL_MAX), more data "
                                 "bytes than any file holds (the file has %lld bytes)",
                                 shown, shape, (long long)length);
    if (length - header < size)
        return ag_set_last_error(AG_ERR_FORMAT, "ag_idx_load: '%s': truncated: the header says "
                                 "%s (%lld data bytes after %lld header bytes), the file has "
                                 "%lld bytes", shown, shape, (long long)size, (long long)header,
                                 (long long)length);
    if (length - header > size)
        return ag_set_last_error(AG_ERR_FORMAT, "ag_idx_load: '%s': %lld trailing bytes after the "
                                 "data: the header says %s (%lld data bytes after %lld header "
                                 "bytes), the file has %lld bytes", shown,
                                 (long long)(length - header - size), shape, (long long)size,
                                 (long long)header, (long long)length);
    if ((uint64_t)size > SIZE_MAX)
        return ag_set_last_error(AG_ERR_NOMEM, "ag_idx_load: '%s': %s is too large for memory",
                                 shown, shape);
    out->size = size;
    return AG_OK;
}

ag_status ag_idx_load(const char *path, ag_idx *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!path || !out)
        return ag_set_last_error(AG_ERR_ARG, "ag_idx_load: %s is NULL", path ? "out" : "path");
    char pbuf[168];
    const char *shown = short_path(path, pbuf);
    int64_t length = 0, header = 0;
    FILE *f = open_regular(path, shown, &length);
    if (!f) return AG_ERR_IO;
    ag_status s = read_header(f, shown, length, out, &header);
    if (s == AG_OK) s = check_length(shown, length, header, out);
    if (s == AG_OK && !(out->data = malloc(out->size ? (size_t)out->size : 1)))
        s = ag_set_last_error(AG_ERR_NOMEM, "ag_idx_load: '%s': out of memory for %lld bytes",
                              shown, (long long)out->size);
    if (s == AG_OK && fread(out->data, 1, (size_t)out->size, f) != (size_t)out->size)
        s = ag_set_last_error(AG_ERR_IO, "ag_idx_load: '%s': read error in the data "
                              "(the file changed while being read?)", shown);
    fclose(f);
    if (s != AG_OK) ag_idx_free(out);
    return s;
}

void ag_idx_free(ag_idx *idx)
{
    if (!idx) return;
    free(idx->data);
    memset(idx, 0, sizeof *idx);
}
