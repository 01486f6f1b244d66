/*
** safetensors.c: reading the safetensors format (see ag_safetensors.h):
** the dtype table and byte-order helpers shared with the writer, the
** reader (the whole file read, every header field checked against the
** data), loading into tensors all or nothing, and ag_module_load. The
** writer is safetensors_write.c; the JSON syntax is parsed by json.c.
*/
#include "safetensors_util.h"
#include "file_util.h"
#include "json_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------- dtypes --- */

/* In the reference's order of increasing alignment: the writer lays the
   data out from the last to the first. swap is the byte-swapped unit. */
const agi_st_dtype agi_st_dtypes[AGI_ST_N_DTYPES] = {
    {"BOOL", 1, 1}, {"U8", 1, 1},   {"I8", 1, 1},   {"F8_E5M2", 1, 1}, {"F8_E4M3", 1, 1},
    {"F8_E8M0", 1, 1}, {"I16", 2, 2}, {"U16", 2, 2}, {"F16", 2, 2},   {"BF16", 2, 2},
    {"I32", 4, 4},  {"U32", 4, 4},  {"F32", 4, 4},  {"C64", 8, 4},    {"F64", 8, 8},
    {"I64", 8, 8},  {"U64", 8, 8},
};

int agi_st_dtype_index(const char *name)
{
    for (int i = 0; name && i < AGI_ST_N_DTYPES; i++)
        if (!strcmp(agi_st_dtypes[i].name, name)) return i;
    return -1;
}

const char *agi_st_dtype_of(ag_dtype dt) { return dt == AG_F64 ? "F64" : "F32"; }

/* numel * size into *nbytes; 0 when the shape breaks the rule of every
   tensor's shape (ag_shape_numel: a negative dim, or more than
   AG_NUMEL_MAX elements, zero dims aside). */
int agi_st_byte_size(int ndim, const int64_t *shape, int size, int64_t *nbytes)
{
    int64_t n = ag_size_mul(ag_shape_numel(ndim, shape), size);
    if (n < 0) return 0;
    *nbytes = n;
    return 1;
}

void agi_st_shape_str(int ndim, const int64_t *shape, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < ndim && k < len; d++)
        k += (size_t)snprintf(buf + k, len - k, d ? ",%lld" : "%lld", (long long)shape[d]);
    if (k < len) snprintf(buf + k, len - k, "]");
}

int agi_st_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

/* Copies n bytes of little-endian units of unit bytes to host order (or
   back: the swap is its own inverse). */
void agi_st_copy_le(void *dst, const void *src, size_t n, int unit)
{
    if (unit == 1 || agi_st_little_endian()) {
        memcpy(dst, src, n);
        return;
    }
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i + (size_t)unit <= n; i += (size_t)unit)
        for (int b = 0; b < unit; b++) d[i + (size_t)b] = s[i + (size_t)(unit - 1 - b)];
}

const char *agi_st_first_repeat(const char **v, int n)
{
    qsort(v, (size_t)n, sizeof *v, agi_st_cmp_cstr);
    for (int i = 1; i < n; i++)
        if (!strcmp(v[i], v[i - 1])) return v[i];
    return NULL;
}

int agi_st_cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int agi_st_cmp_pair(const void *a, const void *b)
{
    return strcmp(((const agi_st_pair *)a)->key, ((const agi_st_pair *)b)->key);
}

/* m's parameters and buffers, named; NULL (and the error) on failure. */
ag_named_tensor *agi_st_module_list(const char *fn, const ag_module *m, int *n)
{
    if (!m) return ag_set_last_error(AG_ERR_ARG, "%s: module is NULL", fn), NULL;
    *n = ag_module_named_tensors(m, NULL, 0, 1);
    ag_named_tensor *list = malloc((size_t)(*n + 1) * sizeof *list);
    if (!list) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn), NULL;
    ag_module_named_tensors(m, list, *n, 1);
    return list;
}

/* ------------------------------------------------------------ reading --- */

typedef struct st_entry {
    const char *name;            /* in the JSON document's pool */
    int dtype, ndim;
    int64_t shape[AG_MAX_DIMS];
    int64_t begin, end, nbytes;
} st_entry;

struct ag_safetensors {
    char *path;
    unsigned char *buf;          /* the whole file */
    size_t len;
    const unsigned char *data;   /* the byte after the header */
    int64_t data_len;
    agi_json doc;
    int n;
    st_entry *entries;           /* in data order */
    st_entry **by_name;          /* sorted by name */
    int n_meta;
    agi_st_pair *meta;           /* sorted by key */
};

/* Sets ag_last_error to "<fn>: <path>: <message>" and returns s. */
static ag_status ferr(const char *fn, const char *path, ag_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static ag_status ferr(const char *fn, const char *path, ag_status s, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ag_set_last_error(s, "%s: %s: %s", fn, path, msg);
}

/* The whole file into *buf (*len bytes), opened as every loader opens a
   file (agn_file_open: a regular file only, never blocking). */
static ag_status read_file(const char *fn, const char *path, unsigned char **buf, size_t *len)
{
    int64_t size;
    int fd = agn_file_open(fn, path, path, &size);
    if (fd < 0) return AG_ERR_IO;
    if ((uint64_t)size > SIZE_MAX - 1) {
        close(fd);
        return ferr(fn, path, AG_ERR_NOMEM, "%lld bytes do not fit in memory", (long long)size);
    }
    size_t want = (size_t)size;
    unsigned char *b = malloc(want ? want : 1);
    if (!b) {
        close(fd);
        return ferr(fn, path, AG_ERR_NOMEM, "out of memory for %zu bytes", want);
    }
    int64_t got = agn_file_read(fd, b, want);  /* fewer if the file shrank: judged as is */
    if (got < 0) {
        int e = errno;
        close(fd), free(b);
        return ferr(fn, path, AG_ERR_IO, "read failed: %s", strerror(e));
    }
    close(fd);
    *buf = b, *len = (size_t)got;
    return AG_OK;
}

/* Node c, or -1 with an error, when it is an array of at most max
   non-negative integers, the values in v. */
static int int_array(const agi_json *d, int c, int max, int64_t *v)
{
    if (c < 0 || d->nodes[c].kind != AGI_JSON_ARRAY || d->nodes[c].count > max) return -1;
    int k = 0;
    for (int e = d->nodes[c].child; e >= 0; e = d->nodes[e].next) {
        if (d->nodes[e].kind != AGI_JSON_INT || d->nodes[e].num < 0) return -1;
        v[k++] = d->nodes[e].num;
    }
    return k;
}

/* The members dtype, shape and data_offsets of tensor node c. */
static ag_status entry_fields(const char *fn, const ag_safetensors *f, int c, int field[3])
{
    static const char *const names[3] = {"dtype", "shape", "data_offsets"};
    const agi_json *d = &f->doc;
    const char *name = agi_json_key(d, c);
    if (d->nodes[c].kind != AGI_JSON_OBJECT)
        return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s': expected an object", name);
    field[0] = field[1] = field[2] = -1;
    for (int m = d->nodes[c].child; m >= 0; m = d->nodes[m].next) {
        const char *key = agi_json_key(d, m);
        int k = 0;
        while (k < 3 && strcmp(key, names[k])) k++;
        if (k == 3 || field[k] >= 0)
            return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s': %s key '%s'", name,
                        k == 3 ? "unexpected" : "repeated", key);
        field[k] = m;
    }
    for (int k = 0; k < 3; k++)
        if (field[k] < 0)
            return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s': no '%s'", name, names[k]);
    return AG_OK;
}

/* Reads tensor node c into e and checks it on its own. */
static ag_status parse_entry(const char *fn, const ag_safetensors *f, int c, st_entry *e)
{
    const agi_json *d = &f->doc;
    int field[3];
    int64_t off[3];
    char sh[200];
    ag_status s = entry_fields(fn, f, c, field);
    if (s != AG_OK) return s;
    e->name = agi_json_key(d, c);
    const char *dt = agi_json_str(d, field[0]);
    if (d->nodes[field[0]].kind != AGI_JSON_STRING || (e->dtype = agi_st_dtype_index(dt)) < 0)
        return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s': unknown dtype '%s'", e->name, dt);
    if (d->nodes[field[1]].kind == AGI_JSON_ARRAY && d->nodes[field[1]].count > AG_MAX_DIMS)
        return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s': %d dimensions (at most %d)", e->name,
                    d->nodes[field[1]].count, AG_MAX_DIMS);
    if ((e->ndim = int_array(d, field[1], AG_MAX_DIMS, e->shape)) < 0)
        return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s': shape is not a list of "
                    "non-negative integers", e->name);
    if (int_array(d, field[2], 3, off) != 2 || off[0] > off[1])
        return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s': data_offsets is not [begin, end] "
                    "with 0 <= begin <= end", e->name);
    e->begin = off[0], e->end = off[1];
    agi_st_shape_str(e->ndim, e->shape, sh, sizeof sh);
    if (!agi_st_byte_size(e->ndim, e->shape, agi_st_dtypes[e->dtype].size, &e->nbytes))
        return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s': shape %s is too large: more than "
                    "%lld elements (AG_NUMEL_MAX), its zero dims aside", e->name, sh,
                    (long long)AG_NUMEL_MAX);
    if (e->end - e->begin != e->nbytes)
        return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s': data_offsets [%lld,%lld] hold %lld "
                    "bytes, but shape %s of %s needs %lld", e->name, (long long)e->begin,
                    (long long)e->end, (long long)(e->end - e->begin), sh, dt,
                    (long long)e->nbytes);
    if (e->end > f->data_len)
        return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s': data_offsets [%lld,%lld] run past "
                    "the end of the data (%lld bytes after the header)", e->name,
                    (long long)e->begin, (long long)e->end, (long long)f->data_len);
    return AG_OK;
}

/* __metadata__ (node c): an object of strings. */
static ag_status parse_meta(const char *fn, ag_safetensors *f, int c)
{
    const agi_json *d = &f->doc;
    if (f->meta) return ferr(fn, f->path, AG_ERR_FORMAT, "__metadata__ appears twice");
    if (d->nodes[c].kind != AGI_JSON_OBJECT)
        return ferr(fn, f->path, AG_ERR_FORMAT, "__metadata__ is not an object");
    f->meta = malloc((size_t)(d->nodes[c].count + 1) * sizeof *f->meta);
    if (!f->meta) return ferr(fn, f->path, AG_ERR_NOMEM, "out of memory");
    for (int m = d->nodes[c].child; m >= 0; m = d->nodes[m].next) {
        if (d->nodes[m].kind != AGI_JSON_STRING)
            return ferr(fn, f->path, AG_ERR_FORMAT, "__metadata__ value of '%s' is not a string",
                        agi_json_key(d, m));
        f->meta[f->n_meta++] = (agi_st_pair){agi_json_key(d, m), agi_json_str(d, m)};
    }
    qsort(f->meta, (size_t)f->n_meta, sizeof *f->meta, agi_st_cmp_pair);
    for (int i = 1; i < f->n_meta; i++)
        if (!strcmp(f->meta[i].key, f->meta[i - 1].key))
            return ferr(fn, f->path, AG_ERR_FORMAT, "__metadata__ key '%s' repeats",
                        f->meta[i].key);
    return AG_OK;
}

static int cmp_entry_offsets(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_entry_names(const void *a, const void *b)
{
    return strcmp((*(const st_entry *const *)a)->name, (*(const st_entry *const *)b)->name);
}

/* The tensors, sorted by offset, must tile the data exactly; names unique. */
static ag_status check_layout(const char *fn, ag_safetensors *f)
{
    qsort(f->entries, (size_t)f->n, sizeof *f->entries, cmp_entry_offsets);
    int64_t at = 0;
    for (int i = 0; i < f->n; i++) {
        const st_entry *e = &f->entries[i];
        if (e->begin < at)
            return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s': data_offsets [%lld,%lld] overlap "
                        "tensor '%s' [%lld,%lld]", e->name, (long long)e->begin, (long long)e->end,
                        e[-1].name, (long long)e[-1].begin, (long long)e[-1].end);
        if (e->begin > at)
            return ferr(fn, f->path, AG_ERR_FORMAT, "data bytes %lld to %lld belong to no tensor "
                        "(before tensor '%s')", (long long)at, (long long)e->begin, e->name);
        at = e->end;
    }
    if (at != f->data_len)
        return ferr(fn, f->path, AG_ERR_FORMAT, "%lld bytes after the last tensor's data belong to "
                    "no tensor", (long long)(f->data_len - at));
    f->by_name = malloc((size_t)(f->n + 1) * sizeof *f->by_name);
    if (!f->by_name) return ferr(fn, f->path, AG_ERR_NOMEM, "out of memory");
    for (int i = 0; i < f->n; i++) f->by_name[i] = &f->entries[i];
    qsort(f->by_name, (size_t)f->n, sizeof *f->by_name, cmp_entry_names);
    for (int i = 1; i < f->n; i++)
        if (!strcmp(f->by_name[i]->name, f->by_name[i - 1]->name))
            return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s' appears twice",
                        f->by_name[i]->name);
    return AG_OK;
}

/* The header of f->buf: length, JSON, every entry, the layout. */
static ag_status parse_header(const char *fn, ag_safetensors *f)
{
    char jerr[160];
    if (f->len < 8)
        return ferr(fn, f->path, AG_ERR_FORMAT, "file is %zu bytes, too short for the 8-byte "
                    "header length", f->len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | f->buf[i];
    if (hlen > AG_SAFETENSORS_MAX_HEADER)
        return ferr(fn, f->path, AG_ERR_FORMAT, "header length %llu is absurd (more than %d bytes)",
                    (unsigned long long)hlen, AG_SAFETENSORS_MAX_HEADER);
    if (hlen > f->len - 8)
        return ferr(fn, f->path, AG_ERR_FORMAT, "header length %llu runs past the end of the file "
                    "(%zu bytes): truncated?", (unsigned long long)hlen, f->len);
    f->data = f->buf + 8 + hlen;
    f->data_len = (int64_t)(f->len - 8 - hlen);
    int r = agi_json_parse(&f->doc, (const char *)f->buf + 8, (size_t)hlen, 1, jerr, sizeof jerr);
    if (r != 0)
        return ferr(fn, f->path, r == -2 ? AG_ERR_NOMEM : AG_ERR_FORMAT,
                    "invalid JSON header: %s", jerr);
    const agi_json_node *root = &f->doc.nodes[0];
    f->entries = malloc((size_t)(root->count + 1) * sizeof *f->entries);
    if (!f->entries) return ferr(fn, f->path, AG_ERR_NOMEM, "out of memory");
    for (int c = root->child; c >= 0; c = f->doc.nodes[c].next) {
        ag_status s = !strcmp(agi_json_key(&f->doc, c), "__metadata__")
                          ? parse_meta(fn, f, c) : parse_entry(fn, f, c, &f->entries[f->n++]);
        if (s != AG_OK) return s;
    }
    return check_layout(fn, f);
}

/* Reads and checks path into *out (NULL on failure). */
static ag_status st_open(const char *fn, const char *path, ag_safetensors **out)
{
    *out = NULL;
    if (!path || !*path) return ag_set_last_error(AG_ERR_ARG, "%s: path is NULL or empty", fn);
    ag_safetensors *f = calloc(1, sizeof *f);
    char *p = malloc(strlen(path) + 1);
    if (!f || !p) {
        free(f), free(p);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: %s: out of memory", fn, path);
    }
    f->path = strcpy(p, path);
    ag_status s = read_file(fn, path, &f->buf, &f->len);
    if (s == AG_OK) s = parse_header(fn, f);
    if (s != AG_OK) ag_safetensors_close(f);
    else *out = f;
    return s;
}

ag_status ag_safetensors_open(const char *path, ag_safetensors **out)
{
    if (!out) return ag_set_last_error(AG_ERR_ARG, "ag_safetensors_open: out is NULL");
    return st_open("ag_safetensors_open", path, out);
}

void ag_safetensors_close(ag_safetensors *f)
{
    if (!f) return;
    agi_json_free(&f->doc);
    free(f->by_name);
    free(f->entries);
    free(f->meta);
    free(f->buf);
    free(f->path);
    free(f);
}

/* ----------------------------------------------------- file accessors --- */

static const st_entry *find_entry(const ag_safetensors *f, const char *name)
{
    int lo = 0, hi = f->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(name, f->by_name[mid]->name);
        if (c == 0) return f->by_name[mid];
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

int ag_safetensors_count(const ag_safetensors *f) { return f ? f->n : 0; }

ag_status ag_safetensors_info(const ag_safetensors *f, int i, ag_st_info *info)
{
    if (!f || !info || i < 0 || i >= f->n)
        return ag_set_last_error(AG_ERR_ARG, "ag_safetensors_info: no tensor %d (the file has %d)",
                                 i, f ? f->n : 0);
    const st_entry *e = &f->entries[i];
    memset(info, 0, sizeof *info);
    info->name = e->name;
    info->dtype = agi_st_dtypes[e->dtype].name;
    info->ndim = e->ndim;
    memcpy(info->shape, e->shape, (size_t)e->ndim * sizeof *e->shape);
    info->nbytes = e->nbytes;
    return AG_OK;
}

int ag_safetensors_find(const ag_safetensors *f, const char *name)
{
    const st_entry *e = f && name ? find_entry(f, name) : NULL;
    return e ? (int)(e - f->entries) : -1;
}

const char *ag_safetensors_meta(const ag_safetensors *f, const char *key)
{
    for (int i = 0; f && key && i < f->n_meta; i++)
        if (!strcmp(f->meta[i].key, key)) return f->meta[i].value;
    return NULL;
}

int ag_safetensors_meta_count(const ag_safetensors *f) { return f ? f->n_meta : 0; }

const char *ag_safetensors_meta_key(const ag_safetensors *f, int i)
{
    return f && i >= 0 && i < f->n_meta ? f->meta[i].key : NULL;
}

/* AG_OK when entry e (or its absence) fits a destination of this dtype
   (or, with convert, of a dtype e converts to) and shape; the message
   names the tensor and both sides. */
static ag_status check_fit(const char *fn, const ag_safetensors *f, const char *name,
                           const st_entry *e, int dtype, int convert, int ndim,
                           const int64_t *shape)
{
    char a[200], b[200];
    if (!e) return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s' is missing from the file", name);
    int same = (e->dtype == dtype || (convert && agi_st_converts(e->dtype))) && e->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = e->shape[d] == shape[d];
    if (same) return AG_OK;
    agi_st_shape_str(e->ndim, e->shape, a, sizeof a);
    agi_st_shape_str(ndim, shape, b, sizeof b);
    return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s' is %s %s in the file, but the destination "
                "is %s %s", name, agi_st_dtypes[e->dtype].name, a, agi_st_dtypes[dtype].name, b);
}

/* AG_OK when entry e loads into tensor x: the same shape, and a dtype
   that converts to x's (integers held exactly: see safetensors_convert.c). */
static ag_status check_load(const char *fn, const ag_safetensors *f, const char *name,
                            const st_entry *e, const ag_tensor *x)
{
    ag_dtype to = ag_tensor_dtype(x);
    int dt = agi_st_dtype_index(agi_st_dtype_of(to));
    ag_status s = check_fit(fn, f, name, e, dt, 1, ag_tensor_ndim(x), ag_tensor_shape(x));
    int64_t at;
    char val[32];
    if (s == AG_OK && agi_st_first_inexact(e->dtype, f->data + e->begin, ag_tensor_numel(x), to,
                                           &at, val, sizeof val))
        return ferr(fn, f->path, AG_ERR_FORMAT, "tensor '%s' (%s) element %lld is %s: beyond "
                    "2^%d, an %s destination cannot hold it exactly", name,
                    agi_st_dtypes[e->dtype].name, (long long)at, val, to == AG_F64 ? 53 : 24,
                    agi_st_dtype_of(to));
    return s;
}

/* Copies entry e into x, converting its dtype when it differs. */
static void copy_in(const ag_safetensors *f, const st_entry *e, ag_tensor *x)
{
    ag_dtype to = ag_tensor_dtype(x);
    if (e->dtype == agi_st_dtype_index(agi_st_dtype_of(to)))
        agi_st_copy_le(ag_tensor_data(x), f->data + e->begin, (size_t)e->nbytes,
                       agi_st_dtypes[e->dtype].swap);
    else
        agi_st_convert(e->dtype, f->data + e->begin, ag_tensor_numel(x), to, ag_tensor_data(x));
}

ag_status ag_safetensors_read(const ag_safetensors *f, const char *name, const char *dtype,
                              int ndim, const int64_t *shape, void *out)
{
    const char *fn = "ag_safetensors_read";
    int dt = agi_st_dtype_index(dtype);
    if (!f || !name || dt < 0 || ndim < 0 || ndim > AG_MAX_DIMS || (ndim && !shape) || !out)
        return ag_set_last_error(AG_ERR_ARG, "%s: NULL argument, unknown dtype or bad ndim", fn);
    const st_entry *e = find_entry(f, name);
    ag_status s = check_fit(fn, f, name, e, dt, 0, ndim, shape);
    if (s == AG_OK)
        agi_st_copy_le(out, f->data + e->begin, (size_t)e->nbytes, agi_st_dtypes[dt].swap);
    return s;
}

/* ------------------------------------------------ loading into tensors --- */

/* The destinations are usable; sorted holds their names, sorted. */
static ag_status check_dest(const char *fn, const ag_safetensors *f, int n,
                            const ag_named_tensor *dest, const char **sorted)
{
    for (int i = 0; i < n; i++) {
        if (!dest[i].tensor || ag_tensor_tape(dest[i].tensor))
            return ferr(fn, f->path, AG_ERR_ARG, "destination '%s' is %s", dest[i].name,
                        dest[i].tensor ? "a tape tensor (persistent ones only)" : "NULL");
        sorted[i] = dest[i].name;
    }
    const char *rep = agi_st_first_repeat(sorted, n);
    return rep ? ferr(fn, f->path, AG_ERR_ARG, "destination name '%s' repeats", rep) : AG_OK;
}

/* Checks every destination against the file, then copies them all. */
static ag_status st_load_into(const char *fn, const ag_safetensors *f, int n,
                              const ag_named_tensor *dest, unsigned flags)
{
    if (!f || n < 0 || (n > 0 && !dest))
        return ag_set_last_error(AG_ERR_ARG, "%s: NULL file, bad count %d or NULL list", fn, n);
    const char **sorted = malloc((size_t)(n + 1) * sizeof *sorted);
    if (!sorted) return ferr(fn, f->path, AG_ERR_NOMEM, "out of memory");
    ag_status s = check_dest(fn, f, n, dest, sorted);
    int matched = 0;
    for (int i = 0; s == AG_OK && i < n; i++) {
        const ag_tensor *x = dest[i].tensor;
        const st_entry *e = find_entry(f, dest[i].name);
        if (!e && (flags & AG_LOAD_ALLOW_MISSING)) continue;
        s = check_load(fn, f, dest[i].name, e, x);
        matched++;
    }
    int check_extra = s == AG_OK && !(flags & AG_LOAD_ALLOW_EXTRA) && matched < f->n;
    for (int i = 0; check_extra && s == AG_OK && i < f->n; i++) {
        const char *name = f->entries[i].name;
        if (!bsearch(&name, sorted, (size_t)n, sizeof *sorted, agi_st_cmp_cstr))
            s = ferr(fn, f->path, AG_ERR_FORMAT, "unexpected tensor '%s' in the file (no "
                     "destination has its name)", name);
    }
    free(sorted);
    for (int i = 0; s == AG_OK && i < n; i++) {      /* nothing below can fail */
        const st_entry *e = find_entry(f, dest[i].name);
        if (e) copy_in(f, e, dest[i].tensor);
    }
    return s;
}

ag_status ag_safetensors_load_into(const ag_safetensors *f, int n, const ag_named_tensor *dest,
                                   unsigned flags)
{
    return st_load_into("ag_safetensors_load_into", f, n, dest, flags);
}

ag_status ag_safetensors_load(const char *path, int n, const ag_named_tensor *dest,
                              unsigned flags)
{
    const char *fn = "ag_safetensors_load";
    ag_safetensors *f;
    ag_status s = st_open(fn, path, &f);
    if (s == AG_OK) s = st_load_into(fn, f, n, dest, flags);
    ag_safetensors_close(f);
    return s;
}

/* ------------------------------------------------------------ modules --- */

/* "MAJOR.MINOR.PATCH" (decimal numbers) into v[3]; 0 when it is not. */
static int parse_version(const char *text, long v[3])
{
    const char *p = text;
    for (int k = 0; k < 3; k++) {
        if (*p < '0' || *p > '9') return 0;
        char *end;
        v[k] = strtol(p, &end, 10);
        if (end - p > 6 || *end != (k < 2 ? '.' : '\0')) return 0;
        p = end + (k < 2);
    }
    return 1;
}

/* The library's metadata in f, where present, fits m and this library:
   the version readable and of a major number not above ours, the module
   description equal to m's. */
static ag_status check_module_meta(const char *fn, const ag_safetensors *f, const ag_module *m)
{
    const char *ver = ag_safetensors_meta(f, AG_META_VERSION);
    const char *desc = ag_safetensors_meta(f, AG_META_MODULE);
    long v[3], ours[3];
    parse_version(AG_VERSION, ours);
    if (ver && !parse_version(ver, v))
        return ferr(fn, f->path, AG_ERR_FORMAT, "metadata %s '%s' is not MAJOR.MINOR.PATCH",
                    AG_META_VERSION, ver);
    if (ver && v[0] > ours[0])
        return ferr(fn, f->path, AG_ERR_FORMAT, "written by version %s of the library, newer than "
                    "this one (%s)", ver, AG_VERSION);
    if (!desc) return AG_OK;
    size_t len = ag_module_describe(m, NULL, 0);
    char *mine = malloc(len + 1);
    if (!mine) return ferr(fn, f->path, AG_ERR_NOMEM, "out of memory");
    ag_module_describe(m, mine, len + 1);
    ag_status s = strcmp(mine, desc) ? ferr(fn, f->path, AG_ERR_FORMAT, "the file holds a %s, "
                                            "the module is a %s", desc, mine) : AG_OK;
    free(mine);
    return s;
}

static ag_status module_load(const char *fn, ag_module *m, const ag_safetensors *f,
                             unsigned flags)
{
    int n;
    ag_named_tensor *list = agi_st_module_list(fn, m, &n);
    if (!list) return m ? AG_ERR_NOMEM : AG_ERR_ARG;
    ag_status s = check_module_meta(fn, f, m);
    if (s == AG_OK) s = st_load_into(fn, f, n, list, flags);
    free(list);
    return s;
}

ag_status ag_module_load(ag_module *m, const char *path)
{
    const char *fn = "ag_module_load";
    if (!m) return ag_set_last_error(AG_ERR_ARG, "%s: module is NULL", fn);
    ag_safetensors *f;
    ag_status s = st_open(fn, path, &f);
    if (s == AG_OK) s = module_load(fn, m, f, AG_LOAD_STRICT);
    ag_safetensors_close(f);
    return s;
}

ag_status ag_module_load_file(ag_module *m, const ag_safetensors *f, unsigned flags)
{
    const char *fn = "ag_module_load_file";
    if (!f) return ag_set_last_error(AG_ERR_ARG, "%s: file is NULL", fn);
    return module_load(fn, m, f, flags);
}
