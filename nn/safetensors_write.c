/*
** safetensors_write.c: writing the safetensors format (see
** ag_safetensors.h): the header built as the reference writer builds it
** (tensors by dtype alignment then name, compact JSON, space padding to a
** multiple of 8), the data little-endian, all of it through a temporary
** file renamed over the target; ag_module_save.
*/
#include "safetensors_util.h"
#include "json_util.h"

#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------ header writing --- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_int(sbuf *b, int64_t v)
{
    char tmp[24];
    sb_put(b, tmp, (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)v));
}

/* s as a JSON string, escaped as serde_json and Python's json escape. */
static void sb_json_string(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t" : NULL;
        char u[8];
        if (esc) sb_str(b, esc);
        else if (c < 0x20) snprintf(u, sizeof u, "\\u%04x", c), sb_str(b, u);
        else sb_put(b, (const char *)&c, 1);
    }
    sb_put(b, "\"", 1);
}

typedef struct st_out {            /* one tensor to write, with its place */
    const ag_st_tensor *t;
    int dtype;
    int64_t nbytes, begin;
} st_out;

/* Reference order: larger alignment (later in agi_st_dtypes[]) first, then name. */
static int cmp_out(const void *a, const void *b)
{
    const st_out *x = a, *y = b;
    if (x->dtype != y->dtype) return y->dtype - x->dtype;
    return strcmp(x->t->name, y->t->name);
}

static void build_header(sbuf *b, int n, const st_out *out, int n_meta, const agi_st_pair *meta)
{
    sb_str(b, "{");
    if (n_meta > 0) {
        sb_str(b, "\"__metadata__\":{");
        for (int i = 0; i < n_meta; i++) {
            if (i) sb_str(b, ",");
            sb_json_string(b, meta[i].key);
            sb_str(b, ":");
            sb_json_string(b, meta[i].value);
        }
        sb_str(b, n ? "}," : "}");
    }
    for (int i = 0; i < n; i++) {
        const ag_st_tensor *t = out[i].t;
        if (i) sb_str(b, ",");
        sb_json_string(b, t->name);
        sb_str(b, ":{\"dtype\":");
        sb_json_string(b, agi_st_dtypes[out[i].dtype].name);
        sb_str(b, ",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d) sb_str(b, ",");
            sb_int(b, t->shape[d]);
        }
        sb_str(b, "],\"data_offsets\":[");
        sb_int(b, out[i].begin);
        sb_str(b, ",");
        sb_int(b, out[i].begin + out[i].nbytes);
        sb_str(b, "]}");
    }
    sb_str(b, "}");
    while (!b->oom && b->n % 8) sb_put(b, " ", 1);
}

/* ---------------------------------------------------- atomic file write --- */

/* Writes n bytes of units to fp in little-endian order. */
static int write_le(FILE *fp, const void *data, size_t n, int unit)
{
    if (n == 0) return 1;
    if (unit == 1 || agi_st_little_endian()) return fwrite(data, 1, n, fp) == n;
    unsigned char chunk[4096];
    const unsigned char *s = data;
    for (size_t off = 0; off < n; off += sizeof chunk) {
        size_t k = n - off < sizeof chunk ? n - off : sizeof chunk;
        agi_st_copy_le(chunk, s + off, k, unit);
        if (fwrite(chunk, 1, k, fp) != k) return 0;
    }
    return 1;
}

/* Writes the whole file to fp; 0 on the first failed write (errno set). */
static int write_body(FILE *fp, const sbuf *head, int n, const st_out *out)
{
    unsigned char len8[8];
    uint64_t len = head->n;
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(len >> (8 * i));
    if (fwrite(len8, 1, 8, fp) != 8 || fwrite(head->p, 1, head->n, fp) != head->n) return 0;
    for (int i = 0; i < n; i++)
        if (!write_le(fp, out[i].t->data, (size_t)out[i].nbytes, agi_st_dtypes[out[i].dtype].swap))
            return 0;
    return fflush(fp) == 0 && fsync(fileno(fp)) == 0;
}

/* Makes the rename durable; failures are ignored (some file systems
   cannot sync a directory, and the data is already safe in place). */
static void sync_dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else return;
    int fd = open(dir, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Writes head and the data to path through "<path>.tmp.XXXXXX". */
static ag_status write_atomic(const char *fn, const char *path, const sbuf *head, int n,
                              const st_out *out)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 12);
    if (!tmp) return ag_set_last_error(AG_ERR_NOMEM, "%s: %s: out of memory", fn, path);
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return ag_set_last_error(AG_ERR_IO, "%s: %s: cannot create a temporary file beside it: %s",
                                 fn, path, strerror(e));
    }
    struct stat old;
    (void)fchmod(fd, stat(path, &old) == 0 ? (old.st_mode & 07777) : 0644);
    FILE *fp = fdopen(fd, "wb");
    int ok = fp && write_body(fp, head, n, out), e = errno;
    if (fp) {
        if (fclose(fp) != 0 && ok) ok = 0, e = errno;
    } else {
        close(fd);
    }
    const char *what = "writing the temporary file failed";
    if (ok && rename(tmp, path) != 0)
        ok = 0, e = errno, what = "cannot rename the temporary file over it";
    ag_status s = AG_OK;
    if (!ok) {
        unlink(tmp);
        s = ag_set_last_error(AG_ERR_IO, "%s: %s: %s: %s (the old file, if any, is unchanged)",
                              fn, path, what, strerror(e));
    } else {
        sync_dir_of(path);
    }
    free(tmp);
    return s;
}

/* ------------------------------------------------------------- saving --- */

/* AG_OK when the tensors and metadata can be written. */
static ag_status check_write_args(const char *fn, const char *path, int n,
                                  const ag_st_tensor *t, int n_meta, const char *const *kv)
{
    if (!path || !*path) return ag_set_last_error(AG_ERR_ARG, "%s: path is NULL or empty", fn);
    if (n < 0 || (n > 0 && !t) || n_meta < 0 || (n_meta > 0 && !kv))
        return ag_set_last_error(AG_ERR_ARG, "%s: %s: bad counts or NULL arrays (n %d, n_meta %d)",
                                 fn, path, n, n_meta);
    for (int i = 0; i < n; i++) {
        const char *name = t[i].name;
        int64_t nbytes;
        if (!name || !*name || !agi_json_valid_utf8(name, strlen(name)) ||
            !strcmp(name, "__metadata__"))
            return ag_set_last_error(AG_ERR_ARG, "%s: %s: tensor %d has a bad name '%s'", fn,
                                     path, i, name ? name : "(null)");
        int dt = agi_st_dtype_index(t[i].dtype);
        if (dt < 0)
            return ag_set_last_error(AG_ERR_ARG, "%s: %s: tensor '%s' has unknown dtype '%s'", fn,
                                     path, name, t[i].dtype ? t[i].dtype : "(null)");
        if (t[i].ndim < 0 || t[i].ndim > AG_MAX_DIMS || (t[i].ndim && !t[i].shape) ||
            !agi_st_byte_size(t[i].ndim, t[i].shape, agi_st_dtypes[dt].size, &nbytes) ||
            (nbytes > 0 && !t[i].data))
            return ag_set_last_error(AG_ERR_ARG, "%s: %s: tensor '%s' has a bad shape or no data",
                                     fn, path, name);
    }
    for (int i = 0; i < 2 * n_meta; i++)
        if (!kv[i] || (i % 2 == 0 && !*kv[i]) || !agi_json_valid_utf8(kv[i], strlen(kv[i])))
            return ag_set_last_error(AG_ERR_ARG, "%s: %s: metadata %s %d is NULL, empty or not "
                                     "UTF-8", fn, path, i % 2 ? "value" : "key", i / 2);
    return AG_OK;
}

/* Places out[] in the reference's order and gives each its data_offsets. */
static ag_status lay_out(const char *fn, const char *path, int n, const ag_st_tensor *t,
                         st_out *out, const char **names)
{
    for (int i = 0; i < n; i++) {
        out[i].t = &t[i];
        out[i].dtype = agi_st_dtype_index(t[i].dtype);
        agi_st_byte_size(t[i].ndim, t[i].shape, agi_st_dtypes[out[i].dtype].size, &out[i].nbytes);
        names[i] = t[i].name;
    }
    const char *rep = agi_st_first_repeat(names, n);
    if (rep)
        return ag_set_last_error(AG_ERR_ARG, "%s: %s: tensor name '%s' repeats", fn, path, rep);
    qsort(out, (size_t)n, sizeof *out, cmp_out);
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        if (out[i].nbytes > INT64_MAX - off)
            return ag_set_last_error(AG_ERR_ARG, "%s: %s: the tensors are too large", fn, path);
        out[i].begin = off;
        off += out[i].nbytes;
    }
    return AG_OK;
}

static ag_status st_write(const char *fn, const char *path, int n, const ag_st_tensor *t,
                          int n_meta, const char *const *kv)
{
    ag_status s = check_write_args(fn, path, n, t, n_meta, kv);
    if (s != AG_OK) return s;
    st_out *out = malloc((size_t)(n ? n : 1) * sizeof *out);
    const char **names = malloc((size_t)(n > n_meta ? n + 1 : n_meta + 1) * sizeof *names);
    agi_st_pair *meta = malloc((size_t)(n_meta + 1) * sizeof *meta);
    sbuf head = {0};
    if (!out || !names || !meta)
        s = ag_set_last_error(AG_ERR_NOMEM, "%s: %s: out of memory", fn, path);
    if (s == AG_OK) s = lay_out(fn, path, n, t, out, names);
    for (int i = 0; s == AG_OK && i < n_meta; i++) {
        meta[i].key = names[i] = kv[2 * i];
        meta[i].value = kv[2 * i + 1];
    }
    const char *rep = s == AG_OK ? agi_st_first_repeat(names, n_meta) : NULL;
    if (rep) s = ag_set_last_error(AG_ERR_ARG, "%s: %s: metadata key '%s' repeats", fn, path, rep);
    if (s == AG_OK) {
        qsort(meta, (size_t)n_meta, sizeof *meta, agi_st_cmp_pair);
        build_header(&head, n, out, n_meta, meta);
        if (head.oom) s = ag_set_last_error(AG_ERR_NOMEM, "%s: %s: out of memory", fn, path);
        else if (head.n > AG_SAFETENSORS_MAX_HEADER)
            s = ag_set_last_error(AG_ERR_ARG, "%s: %s: the header would be %zu bytes (at most %d)",
                                  fn, path, head.n, AG_SAFETENSORS_MAX_HEADER);
    }
    if (s == AG_OK) s = write_atomic(fn, path, &head, n, out);
    free(head.p);
    free(meta);
    free(names);
    free(out);
    return s;
}

ag_status ag_safetensors_write(const char *path, int n, const ag_st_tensor *tensors,
                               int n_meta, const char *const *meta_kv)
{
    return st_write("ag_safetensors_write", path, n, tensors, n_meta, meta_kv);
}

/* Named ag tensors as raw tensors, then st_write. */
static ag_status st_save(const char *fn, const char *path, int n, const ag_named_tensor *named,
                         int n_meta, const char *const *kv)
{
    const char *shown = path ? path : "(null)";
    if (n < 0 || (n > 0 && !named))
        return ag_set_last_error(AG_ERR_ARG, "%s: %s: bad tensor count %d or NULL list", fn,
                                 shown, n);
    ag_st_tensor *t = malloc((size_t)(n ? n : 1) * sizeof *t);
    if (!t) return ag_set_last_error(AG_ERR_NOMEM, "%s: %s: out of memory", fn, shown);
    for (int i = 0; i < n; i++) {
        ag_tensor *x = named[i].tensor;
        if (!x) {
            free(t);
            return ag_set_last_error(AG_ERR_ARG, "%s: %s: tensor '%s' is NULL", fn, shown,
                                     named[i].name);
        }
        t[i] = (ag_st_tensor){named[i].name, agi_st_dtype_of(ag_tensor_dtype(x)),
                              ag_tensor_ndim(x), ag_tensor_shape(x), ag_tensor_data(x)};
    }
    ag_status s = st_write(fn, path, n, t, n_meta, kv);
    free(t);
    return s;
}

ag_status ag_safetensors_save(const char *path, int n, const ag_named_tensor *tensors,
                              int n_meta, const char *const *meta_kv)
{
    return st_save("ag_safetensors_save", path, n, tensors, n_meta, meta_kv);
}

/* ------------------------------------------------------------ modules --- */

/* Integer buffer x as int64 values in *out (malloc'ed): AG_OK, or an
   error when a value is not a whole number in int64's range. */
static ag_status to_int64(const char *fn, const char *path, const char *name,
                          const ag_tensor *x, int64_t **out)
{
    int64_t n = ag_tensor_numel(x);
    *out = malloc((size_t)(n ? n : 1) * sizeof **out);
    if (!*out) return ag_set_last_error(AG_ERR_NOMEM, "%s: %s: out of memory", fn, path);
    for (int64_t i = 0; i < n; i++) {
        double v = ag_tensor_get(x, i);
        if (!(v == floor(v) && fabs(v) < 9223372036854775808.0))
            return ag_set_last_error(AG_ERR_ARG, "%s: %s: integer buffer '%s' element %lld is "
                                     "%.17g, not a whole number in int64's range", fn, path,
                                     name, (long long)i, v);
        (*out)[i] = (int64_t)v;
    }
    return AG_OK;
}

/* The module's tensors as raw ones (integer buffers as I64, their values
   in ints[i], NULL elsewhere); AG_OK or the error. */
static ag_status module_raw(const char *fn, const char *path, const ag_module *m, int n,
                            const ag_named_tensor *list, ag_st_tensor *raw, int64_t **ints)
{
    for (int i = 0; i < n; i++) {
        ag_tensor *x = list[i].tensor;
        raw[i] = (ag_st_tensor){list[i].name, agi_st_dtype_of(ag_tensor_dtype(x)),
                                ag_tensor_ndim(x), ag_tensor_shape(x), ag_tensor_data(x)};
        ints[i] = NULL;
        if (!ag_module_is_int_buffer(m, list[i].name)) continue;
        ag_status s = to_int64(fn, path, list[i].name, x, &ints[i]);
        if (s != AG_OK) return s;
        raw[i].dtype = "I64", raw[i].data = ints[i];
    }
    return AG_OK;
}

/* The metadata of a module's file: format, description, version, then
   the caller's entries (reserved keys refused). *kv is malloc'ed. */
static ag_status module_meta(const char *fn, const char *path, const char *desc, int n_meta,
                             const char *const *meta_kv, const char ***kv)
{
    if (n_meta < 0 || (n_meta > 0 && !meta_kv))
        return ag_set_last_error(AG_ERR_ARG, "%s: %s: bad metadata count %d or NULL list", fn,
                                 path, n_meta);
    for (int i = 0; i < n_meta; i++) {
        const char *k = meta_kv[2 * i];
        if (k && (!strcmp(k, AG_META_FORMAT) || !strncmp(k, "ag.", 3)))
            return ag_set_last_error(AG_ERR_ARG, "%s: %s: metadata key '%s' is reserved (\"%s\" "
                                     "and \"ag.*\" are the library's)", fn, path, k,
                                     AG_META_FORMAT);
    }
    *kv = malloc((size_t)(2 * n_meta + 6) * sizeof **kv);
    if (!*kv) return ag_set_last_error(AG_ERR_NOMEM, "%s: %s: out of memory", fn, path);
    const char *mine[6] = {AG_META_FORMAT, "pt", AG_META_MODULE, desc, AG_META_VERSION,
                           AG_VERSION};
    memcpy(*kv, mine, sizeof mine);
    if (n_meta) memcpy(*kv + 6, meta_kv, (size_t)(2 * n_meta) * sizeof **kv);
    return AG_OK;
}

static ag_status module_save(const char *fn, const ag_module *m, const char *path, int n_meta,
                             const char *const *meta_kv)
{
    const char *shown = path ? path : "(null)";
    int n;
    ag_named_tensor *list = agi_st_module_list(fn, m, &n);
    if (!list) return m ? AG_ERR_NOMEM : AG_ERR_ARG;
    size_t len = ag_module_describe(m, NULL, 0);
    char *desc = malloc(len + 1);
    ag_st_tensor *raw = malloc((size_t)(n + 1) * sizeof *raw);
    int64_t **ints = calloc((size_t)(n + 1), sizeof *ints);
    const char **kv = NULL;
    ag_status s = desc && raw && ints ? AG_OK
                : ag_set_last_error(AG_ERR_NOMEM, "%s: %s: out of memory", fn, shown);
    if (s == AG_OK) {
        ag_module_describe(m, desc, len + 1);
        s = module_meta(fn, shown, desc, n_meta, meta_kv, &kv);
    }
    if (s == AG_OK) s = module_raw(fn, shown, m, n, list, raw, ints);
    if (s == AG_OK) s = st_write(fn, path, n, raw, n_meta + 3, kv);
    for (int i = 0; ints && i < n; i++) free(ints[i]);
    free(ints), free(raw), free(desc), free(list);
    free((void *)kv);
    return s;
}

ag_status ag_module_save(const ag_module *m, const char *path)
{
    return module_save("ag_module_save", m, path, 0, NULL);
}

ag_status ag_module_save_meta(const ag_module *m, const char *path, int n_meta,
                              const char *const *meta_kv)
{
    return module_save("ag_module_save_meta", m, path, n_meta, meta_kv);
}
