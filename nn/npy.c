/*
** npy.c: NumPy's .npy format (ag_npy_load) and datasets made of a features
** file and a targets file (ag_tensor_dataset_load_npy). The header dict is
** parsed by a small recursive-descent reader that knows only the three
** keys NumPy writes; the data is converted to doubles in C order (a
** Fortran-order array is transposed as it is converted).
*/
#include "file_util.h"
#include "tensor_dataset_util.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPY_FN "ag_npy_load"

/* What a header says. */
typedef struct npy_header {
    ag_npy_type type;
    int big_endian;
    int fortran;
    int ndim;
    int64_t shape[AG_MAX_DIMS];
    int seen[3];                  /* descr, fortran_order, shape */
} npy_header;

/* The header being parsed, for messages. */
typedef struct npy_parse {
    const char *shown;
    const char *text;             /* the dict, NUL-terminated */
    const char *p;
} npy_parse;

static const struct {
    const char *descr;
    ag_npy_type type;
    int big_endian;
} npy_types[] = {
    {"<f4", AG_NPY_F4, 0}, {">f4", AG_NPY_F4, 1}, {"<f8", AG_NPY_F8, 0}, {">f8", AG_NPY_F8, 1},
    {"<i4", AG_NPY_I4, 0}, {">i4", AG_NPY_I4, 1}, {"<i8", AG_NPY_I8, 0}, {">i8", AG_NPY_I8, 1},
    {"|u1", AG_NPY_U1, 0},
};

static const int npy_size[] = {4, 8, 4, 8, 1};       /* by ag_npy_type */

/* "ag_npy_load: 'file': <what>"; AG_ERR_FORMAT. */
static ag_status npy_fail(const char *shown, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ag_set_last_error(AG_ERR_FORMAT, "%s: '%s': %s", NPY_FN, shown, what);
}

/* A parse error: names the fault, the offset and quotes the header. */
static ag_status dict_fail(const npy_parse *ps, const char *what)
{
    return npy_fail(ps->shown, "bad header dict: %s at offset %d of \"%.100s\"", what,
                    (int)(ps->p - ps->text), ps->text);
}

/* --------------------------------------------------------- the dict --- */

static void skip_space(npy_parse *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r') ps->p++;
}

/* A quoted string ('...' or "...", no escapes) into out (cap bytes). */
static ag_status parse_string(npy_parse *ps, char *out, size_t cap)
{
    char q = *ps->p;
    if (q != '\'' && q != '"') return dict_fail(ps, "expected a quoted string");
    const char *end = strchr(ps->p + 1, q);
    if (!end) return dict_fail(ps, "a string is not closed");
    size_t n = (size_t)(end - ps->p - 1);
    if (n >= cap) return dict_fail(ps, "a string too long");
    memcpy(out, ps->p + 1, n);
    out[n] = '\0';
    ps->p = end + 1;
    return AG_OK;
}

static ag_status parse_descr(npy_parse *ps, npy_header *h)
{
    char d[32];
    if (*ps->p == '[')
        return npy_fail(ps->shown, "a structured dtype (descr is a list) is not supported");
    if (parse_string(ps, d, sizeof d) != AG_OK) return AG_ERR_FORMAT;
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (!strcmp(d, npy_types[i].descr)) {
            h->type = npy_types[i].type, h->big_endian = npy_types[i].big_endian;
            return AG_OK;
        }
    return npy_fail(ps->shown, "descr '%s' is not supported (<f4, <f8, <i4, <i8 in either byte "
                    "order, or |u1)", d);
}

static ag_status parse_bool(npy_parse *ps, npy_header *h)
{
    if (!strncmp(ps->p, "True", 4)) h->fortran = 1, ps->p += 4;
    else if (!strncmp(ps->p, "False", 5)) h->fortran = 0, ps->p += 5;
    else return dict_fail(ps, "fortran_order is not True or False");
    return AG_OK;
}

/* A tuple of non-negative integers: (), (3,), (3, 4), (3, 4,). */
static ag_status parse_shape(npy_parse *ps, npy_header *h)
{
    if (*ps->p != '(') return dict_fail(ps, "shape is not a tuple");
    ps->p++;
    for (h->ndim = 0;;) {
        skip_space(ps);
        if (*ps->p == ')') break;
        if (*ps->p < '0' || *ps->p > '9') return dict_fail(ps, "a dimension is not a non-negative integer");
        if (h->ndim == AG_MAX_DIMS)
            return npy_fail(ps->shown, "more than %d dimensions in the shape", AG_MAX_DIMS);
        int64_t v = 0;
        for (; *ps->p >= '0' && *ps->p <= '9'; ps->p++) {
            if (v > (INT64_MAX - 9) / 10) return dict_fail(ps, "a dimension too large");
            v = v * 10 + (*ps->p - '0');
        }
        if (*ps->p == 'L') ps->p++;                 /* Python 2's long */
        h->shape[h->ndim++] = v;
        skip_space(ps);
        if (*ps->p == ',') ps->p++;
        else if (*ps->p != ')') return dict_fail(ps, "expected ',' or ')' in the shape");
    }
    ps->p++;
    return AG_OK;
}

/* One "key: value" of the dict. */
static ag_status parse_item(npy_parse *ps, npy_header *h)
{
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    char key[32];
    if (parse_string(ps, key, sizeof key) != AG_OK) return AG_ERR_FORMAT;
    int k = 0;
    while (k < 3 && strcmp(key, keys[k])) k++;
    if (k == 3) return npy_fail(ps->shown, "unknown key '%s' in the header dict", key);
    if (h->seen[k]++) return npy_fail(ps->shown, "key '%s' twice in the header dict", key);
    skip_space(ps);
    if (*ps->p != ':') return dict_fail(ps, "expected ':'");
    ps->p++;
    skip_space(ps);
    return k == 0 ? parse_descr(ps, h) : k == 1 ? parse_bool(ps, h) : parse_shape(ps, h);
}

/* The whole dict, then nothing but spaces. */
static ag_status parse_dict(npy_parse *ps, npy_header *h)
{
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    skip_space(ps);
    if (*ps->p != '{') return dict_fail(ps, "expected '{'");
    for (ps->p++;;) {
        skip_space(ps);
        if (*ps->p == '}') break;
        if (parse_item(ps, h) != AG_OK) return AG_ERR_FORMAT;
        skip_space(ps);
        if (*ps->p == ',') ps->p++;
        else if (*ps->p != '}') return dict_fail(ps, "expected ',' or '}'");
    }
    ps->p++;
    skip_space(ps);
    if (*ps->p) return dict_fail(ps, "text after the dict");
    for (int k = 0; k < 3; k++)
        if (!h->seen[k]) return npy_fail(ps->shown, "the header dict has no '%s' key", keys[k]);
    return AG_OK;
}

/* ------------------------------------------------------- the preamble --- */

static uint32_t le_u(const uint8_t *b, int n)
{
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/*
** Reads the magic, the version, the header length and the header from fd
** (a file of length bytes) into h; *data_at is where the data starts.
*/
static ag_status read_header(int fd, const char *shown, int64_t length, npy_header *h,
                             int64_t *data_at)
{
    uint8_t pre[12];
    int64_t got = agn_file_read(fd, pre, length < 12 ? (size_t)length : 12);
    if (got < 0) return ag_set_last_error(AG_ERR_IO, "%s: '%s': read error", NPY_FN, shown);
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6))
        return npy_fail(shown, got < 6 ? "truncated: %lld bytes, too short for the magic"
                        : got < 10 ? "truncated: %lld bytes, too short for the header length"
                        : "bad magic (not \\x93NUMPY): not a .npy file (%lld bytes)",
                        (long long)length);
    if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)
        return npy_fail(shown, "format version %d.%d is not supported (1.0, 2.0 or 3.0)", pre[6],
                        pre[7]);
    int pre_len = pre[6] == 1 ? 10 : 12;
    if (got < pre_len) return npy_fail(shown, "truncated in the header length");
    int64_t hlen = le_u(pre + 8, pre[6] == 1 ? 2 : 4);
    if (length - pre_len < hlen)
        return npy_fail(shown, "truncated header: its length is %lld bytes, the file has %lld "
                        "after the %d-byte preamble", (long long)hlen,
                        (long long)(length - pre_len), pre_len);
    char *text = malloc((size_t)hlen + 1);
    if (!text) return ag_set_last_error(AG_ERR_NOMEM, "%s: '%s': out of memory", NPY_FN, shown);
    ag_status s = AG_OK;
    if (lseek(fd, pre_len, SEEK_SET) != pre_len || agn_file_read(fd, text, (size_t)hlen) != hlen)
        s = ag_set_last_error(AG_ERR_IO, "%s: '%s': read error in the header", NPY_FN, shown);
    text[hlen] = '\0';
    if (s == AG_OK && (hlen == 0 || text[hlen - 1] != '\n' || memchr(text, '\0', (size_t)hlen)))
        s = npy_fail(shown, "the header does not end with a newline (or holds a NUL byte)");
    npy_parse ps = {shown, text, text};
    if (s == AG_OK) s = parse_dict(&ps, h);
    free(text);
    *data_at = pre_len + hlen;
    return s;
}

/* --------------------------------------------------------- the values --- */

/* Element i of raw (the file's bytes, type t, byte order) as a double;
   *inexact set for an int64 beyond 2^53 in magnitude. */
static double raw_value(const uint8_t *raw, ag_npy_type t, int big, int64_t i, int *inexact)
{
    const int size = npy_size[t];
    uint8_t b[8];
    for (int k = 0; k < size; k++) b[k] = raw[i * size + (big ? size - 1 - k : k)];
    uint64_t u = 0;
    for (int k = size - 1; k >= 0; k--) u = u << 8 | b[k];
    switch (t) {
    case AG_NPY_F4: { float f; uint32_t w = (uint32_t)u; memcpy(&f, &w, 4); return f; }
    case AG_NPY_F8: { double d; memcpy(&d, &u, 8); return d; }
    case AG_NPY_I4: return (double)(int32_t)(uint32_t)u;
    case AG_NPY_I8: {
        int64_t v = (int64_t)u;
        if (v > 9007199254740992LL || v < -9007199254740992LL) *inexact = 1;
        return (double)v;
    }
    default: return (double)b[0];
    }
}

/* out (C order) from raw; a Fortran-order raw is read transposed: the
   element at C index (i0, .., ik) is at F offset i0 + s0 (i1 + s1 (...)). */
static ag_status convert(const char *shown, const uint8_t *raw, const npy_header *h,
                         int64_t numel, double *out)
{
    int64_t idx[AG_MAX_DIMS] = {0}, stride[AG_MAX_DIMS];
    stride[0] = 1;
    for (int d = 1; d < h->ndim; d++) stride[d] = stride[d - 1] * h->shape[d - 1];
    int inexact = 0;
    for (int64_t i = 0; i < numel; i++) {
        int64_t at = i;
        if (h->fortran) {
            at = 0;
            for (int d = 0; d < h->ndim; d++) at += idx[d] * stride[d];
            for (int d = h->ndim - 1; d >= 0 && ++idx[d] == h->shape[d]; d--) idx[d] = 0;
        }
        out[i] = raw_value(raw, h->type, h->big_endian, at, &inexact);
        if (inexact)
            return npy_fail(shown, "int64 value %lld (element %lld) is beyond 2^53: not exact as a "
                            "double", (long long)(int64_t)out[i], (long long)i);
    }
    return AG_OK;
}

/* "(3, 4)" for messages. */
static const char *shape_str(const npy_header *h, char buf[160])
{
    int at = snprintf(buf, 160, "(");
    for (int d = 0; d < h->ndim; d++)
        at += snprintf(buf + at, (size_t)(160 - at), d ? ", %lld" : "%lld", (long long)h->shape[d]);
    snprintf(buf + at, (size_t)(160 - at), h->ndim == 1 ? ",)" : ")");
    return buf;
}

/* Checks the data's length and reads and converts it into out. */
static ag_status read_data(int fd, const char *shown, int64_t length, int64_t data_at,
                           const npy_header *h, ag_npy *out)
{
    char sbuf[160];
    const int64_t numel = ag_shape_numel(h->ndim, h->shape);
    if (numel < 0)
        return npy_fail(shown, "shape %s has more elements than a tensor may hold (AG_NUMEL_MAX)",
                        shape_str(h, sbuf));
    const int64_t bytes = numel * npy_size[h->type], have = length - data_at;
    if (have != bytes)
        return npy_fail(shown, "%s: shape %s of %d-byte values needs %lld data bytes after the "
                        "%lld-byte header, the file has %lld", have < bytes ? "truncated" :
                        "trailing bytes", shape_str(h, sbuf), npy_size[h->type],
                        (long long)bytes, (long long)data_at, (long long)have);
    uint8_t *raw = malloc(bytes ? (size_t)bytes : 1);
    out->data = (uint64_t)numel <= SIZE_MAX / 8 ? malloc(numel ? (size_t)numel * 8 : 8) : NULL;
    ag_status s = AG_OK;
    if (!raw || !out->data)
        s = ag_set_last_error(AG_ERR_NOMEM, "%s: '%s': out of memory for shape %s", NPY_FN,
                              shown, shape_str(h, sbuf));
    else if (lseek(fd, data_at, SEEK_SET) != data_at || agn_file_read(fd, raw, (size_t)bytes) != bytes)
        s = ag_set_last_error(AG_ERR_IO, "%s: '%s': read error in the data", NPY_FN, shown);
    else s = convert(shown, raw, h, numel, out->data);
    free(raw);
    out->type = h->type, out->ndim = h->ndim, out->numel = numel;
    memcpy(out->shape, h->shape, sizeof out->shape);
    return s;
}

ag_status ag_npy_load(const char *path, ag_npy *out)
{
    if (out) memset(out, 0, sizeof *out);
    if (!path || !out)
        return ag_set_last_error(AG_ERR_ARG, "%s: %s is NULL", NPY_FN, path ? "out" : "path");
    char pbuf[168], quoted[176];
    const char *shown = agn_short_path(path, pbuf);
    snprintf(quoted, sizeof quoted, "'%s'", shown);
    int64_t length = 0, data_at = 0;
    int fd = agn_file_open(NPY_FN, path, quoted, &length);
    if (fd < 0) return AG_ERR_IO;
    npy_header h = {0};
    ag_status s = read_header(fd, shown, length, &h, &data_at);
    if (s == AG_OK) s = read_data(fd, shown, length, data_at, &h, out);
    close(fd);
    if (s != AG_OK) ag_npy_free(out);
    return s;
}

void ag_npy_free(ag_npy *npy)
{
    if (!npy) return;
    free(npy->data);
    memset(npy, 0, sizeof *npy);
}
