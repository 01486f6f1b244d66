/*
** csv.c: ag_tensor_dataset_load_csv (ag_dataset_io.h). The file is read
** whole (through agn_file_open, the one way loaders open a file), then
** split into lines and fields; every field is parsed and checked where it
** is found, so a message can name its line and column. Values gather in
** growing double arrays and become a dataset through agn_tds_make.
*/
#include "file_util.h"
#include "tensor_dataset_util.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CSV_FN "ag_tensor_dataset_load_csv"
#define CSV_FIELD_MAX 256        /* longest field text kept to parse or quote */

/* A growing array of doubles. */
typedef struct csv_vec {
    double *v;
    int64_t n, cap;
} csv_vec;

typedef struct csv_ctx {
    const char *shown;           /* the path as quoted in messages */
    ag_csv_opts o;               /* resolved options */
    char delim;
    int ncols;                   /* fields a line (0 until the first line) */
    int *role;                   /* per column: -1 a feature, else its target slot */
    int ntargets;                /* resolved: 0 for none */
    double *tv;                  /* the targets of the line being read */
    int64_t rows;
    csv_vec x, y;                /* features, and targets (labels as doubles) */
} csv_ctx;

/* Records "load_csv: 'file': line L, column C: <what>"; AG_ERR_FORMAT. */
static ag_status csv_fail(const csv_ctx *c, int64_t line, int col, const char *fmt, ...)
{
    char what[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (col > 0)
        return ag_set_last_error(AG_ERR_FORMAT, "%s: '%s': line %lld, column %d: %s", CSV_FN,
                                 c->shown, (long long)line, col, what);
    return ag_set_last_error(AG_ERR_FORMAT, "%s: '%s': line %lld: %s", CSV_FN, c->shown,
                             (long long)line, what);
}

static ag_status vec_push(csv_vec *a, double v)
{
    if (a->n == a->cap) {
        int64_t cap = a->cap ? a->cap * 2 : 256;
        double *p = (uint64_t)cap <= SIZE_MAX / sizeof *p ? realloc(a->v, (size_t)cap * sizeof *p)
                                                           : NULL;
        if (!p) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", CSV_FN);
        a->v = p, a->cap = cap;
    }
    a->v[a->n++] = v;
    return AG_OK;
}

/* ------------------------------------------------------------ reading --- */

/* The whole file, NUL-terminated, in *buf (len bytes); AG_OK or the error. */
static ag_status read_file(const char *path, const char *shown, char **buf, int64_t *len)
{
    char quoted[176];
    snprintf(quoted, sizeof quoted, "'%s'", shown);
    int fd = agn_file_open(CSV_FN, path, quoted, len);
    if (fd < 0) return AG_ERR_IO;
    if ((uint64_t)*len >= SIZE_MAX || !(*buf = malloc((size_t)*len + 1))) {
        close(fd);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: %s: out of memory for %lld bytes", CSV_FN,
                                 quoted, (long long)*len);
    }
    int64_t got = agn_file_read(fd, *buf, (size_t)*len);
    close(fd);
    if (got != *len) {
        free(*buf), *buf = NULL;
        return ag_set_last_error(AG_ERR_IO, "%s: %s: read error (the file changed while being "
                                 "read?)", CSV_FN, quoted);
    }
    (*buf)[*len] = '\0';
    return AG_OK;
}

/* ------------------------------------------------------------- fields --- */

static int is_blank(char ch, char delim) { return (ch == ' ' || ch == '\t') && ch != delim; }

/*
** The field starting at *p in the line [*p, end): its text (unquoted,
** blanks around it trimmed, at most CSV_FIELD_MAX - 1 bytes kept, *long_
** set when longer) into text; *p moves past the field and its delimiter,
** *more says whether another field follows. AG_OK or the error.
*/
static ag_status next_field(const csv_ctx *c, int64_t line, int col, const char **p,
                            const char *end, char text[CSV_FIELD_MAX], int *too_long, int *more)
{
    const char *s = *p;
    size_t n = 0;
    *too_long = 0;
    while (s < end && is_blank(*s, c->delim)) s++;
    if (s < end && *s == '"') {
        for (s++;; s++) {
            if (s >= end) return csv_fail(c, line, col, "a quote is not closed on its line");
            if (*s == '"' && !(s + 1 < end && s[1] == '"')) break;
            if (*s == '"') s++;                      /* "" is one quote */
            if (n < CSV_FIELD_MAX - 1) text[n++] = *s;
            else *too_long = 1;
        }
        for (s++; s < end && is_blank(*s, c->delim); s++) {}
        if (s < end && *s != c->delim)
            return csv_fail(c, line, col, "text after the closing quote");
    } else {
        const char *start = s, *stop;
        while (s < end && *s != c->delim) s++;
        for (stop = s; stop > start && is_blank(stop[-1], c->delim); stop--) {}
        n = (size_t)(stop - start);
        if (n > CSV_FIELD_MAX - 1) n = CSV_FIELD_MAX - 1, *too_long = 1;
        memcpy(text, start, n);
    }
    text[n] = '\0';
    *more = s < end;                                 /* at a delimiter */
    *p = *more ? s + 1 : s;
    return AG_OK;
}

/* Counts the fields of a line (for the header and the first line). */
static ag_status count_fields(const csv_ctx *c, int64_t line, const char *p, const char *end,
                              int *count)
{
    char text[CSV_FIELD_MAX];
    int too_long, more = 1;
    for (*count = 0; more; (*count)++) {
        if (*count == 1 << 20) return csv_fail(c, line, 0, "more than 2^20 fields");
        ag_status s = next_field(c, line, *count + 1, &p, end, text, &too_long, &more);
        if (s != AG_OK) return s;
    }
    return AG_OK;
}

/* --------------------------------------------------------- the values --- */

/* text as a number: AG_OK with *v, or the error naming line and col. */
static ag_status parse_number(const csv_ctx *c, int64_t line, int col, const char *text,
                              int too_long, int target, double *v)
{
    if (!*text) return csv_fail(c, line, col, "missing value (an empty field)");
    char *stop;
    errno = 0;
    *v = strtod(text, &stop);
    if (too_long || *stop || stop == text)
        return csv_fail(c, line, col, "'%.40s%s' is not a number", text, too_long ? "..." : "");
    if (errno == ERANGE && isinf(*v))
        return csv_fail(c, line, col, "'%s' is beyond the range of a double", text);
    if (target && c->o.class_targets) {
        if (!(*v == floor(*v)) || fabs(*v) > 9007199254740992.0)
            return csv_fail(c, line, col, "class label '%s' is not a whole number", text);
        if (*v < 0) return csv_fail(c, line, col, "class label '%s' is negative", text);
        if (c->o.num_classes > 0 && *v >= (double)c->o.num_classes)
            return csv_fail(c, line, col, "class label '%s' is not below num_classes %lld", text,
                            (long long)c->o.num_classes);
        return AG_OK;
    }
    if (!isfinite(*v) && !c->o.allow_nonfinite)
        return csv_fail(c, line, col, "'%s' is not finite (allow_nonfinite accepts it)", text);
    if (isfinite(*v) && c->o.dtype == AG_F32 && fabs(*v) > FLT_MAX)
        return csv_fail(c, line, col, "'%s' is beyond the range of f32 storage (use AG_F64)", text);
    return AG_OK;
}

/* One data line: ncols numbers, features to x, targets to their slots in
   y. A line of another length is refused. */
static ag_status parse_row(csv_ctx *c, int64_t line, const char *p, const char *end)
{
    char text[CSV_FIELD_MAX];
    int too_long, more = 1, col = 0;
    if (p == end) return csv_fail(c, line, 0, "missing values (an empty line)");
    const char *first = c->o.header ? "line 1, the header" : "line 1";
    for (; more; col++) {
        double v = 0;
        if (col == c->ncols) {
            int count = 0;
            ag_status s = count_fields(c, line, p, end, &count);
            return s != AG_OK ? s : csv_fail(c, line, 0, "%d fields, expected %d (as %s)",
                                             col + count, c->ncols, first);
        }
        ag_status s = next_field(c, line, col + 1, &p, end, text, &too_long, &more);
        if (s == AG_OK) s = parse_number(c, line, col + 1, text, too_long, c->role[col] >= 0, &v);
        if (s == AG_OK && c->role[col] < 0) s = vec_push(&c->x, v);
        if (s != AG_OK) return s;
        if (c->role[col] >= 0) c->tv[c->role[col]] = v;
    }
    if (col < c->ncols)
        return csv_fail(c, line, 0, "%d fields, expected %d (as %s)", col, c->ncols, first);
    for (int k = 0; k < c->ntargets; k++)
        if (vec_push(&c->y, c->tv[k]) != AG_OK) return AG_ERR_NOMEM;
    c->rows++;
    return AG_OK;
}

/* The role of each of the ncols columns from the options (targets named
   by index, negative from the end), on the first line. */
static ag_status resolve_columns(csv_ctx *c, int64_t line)
{
    const int listed = c->o.ntargets > 0;
    c->ntargets = c->o.ntargets < 0 ? 0 : listed ? c->o.ntargets : 1;
    if (c->o.class_targets && c->ntargets != 1)
        return ag_set_last_error(AG_ERR_ARG, "%s: %d target columns: class targets need exactly "
                                 "1", CSV_FN, c->ntargets);
    if (c->ncols - c->ntargets < 1)
        return csv_fail(c, line, 0, "%d field%s: no column left for the features", c->ncols,
                        c->ncols == 1 ? "" : "s");
    c->role = malloc((size_t)c->ncols * sizeof *c->role);
    c->tv = malloc((size_t)(c->ntargets ? c->ntargets : 1) * sizeof *c->tv);
    if (!c->role || !c->tv)
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", CSV_FN);
    for (int i = 0; i < c->ncols; i++) c->role[i] = -1;
    for (int k = 0; k < c->ntargets; k++) {
        int want = listed ? c->o.targets[k] : -1;
        int col = want < 0 ? c->ncols + want : want;
        if (col < 0 || col >= c->ncols)
            return csv_fail(c, line, 0, "target column %d does not exist (the line has %d "
                            "columns: 0 to %d, or -1 to -%d)", want, c->ncols, c->ncols - 1,
                            c->ncols);
        if (c->role[col] >= 0)
            return ag_set_last_error(AG_ERR_ARG, "%s: target column %d is listed twice (targets[%d] "
                                     "= %d)", CSV_FN, col, k, want);
        c->role[col] = k;
    }
    return AG_OK;
}

/* ------------------------------------------------------------ the file --- */

/* Options with their defaults; AG_ERR_ARG when out of range. */
static ag_status resolve_opts(csv_ctx *c, const ag_csv_opts *opts)
{
    if (opts) c->o = *opts;
    c->delim = c->o.delimiter ? c->o.delimiter : ',';
    if (c->delim == '"' || c->delim == '\n' || c->delim == '\r')
        return ag_set_last_error(AG_ERR_ARG, "%s: the delimiter may not be a quote, \\n or \\r",
                                 CSV_FN);
    if (c->o.dtype != AG_F32 && c->o.dtype != AG_F64)
        return ag_set_last_error(AG_ERR_DTYPE, "%s: dtype %d is not AG_F32 or AG_F64", CSV_FN,
                                 (int)c->o.dtype);
    if (c->o.ntargets > 0 && !c->o.targets)
        return ag_set_last_error(AG_ERR_ARG, "%s: ntargets is %d but targets is NULL", CSV_FN,
                                 c->o.ntargets);
    if (c->o.num_classes < 0 || (c->o.num_classes && !c->o.class_targets))
        return ag_set_last_error(AG_ERR_ARG, "%s: num_classes %lld (>= 0, and only with "
                                 "class_targets)", CSV_FN, (long long)c->o.num_classes);
    return AG_OK;
}

/* Every line of buf[0..len): the header (when asked for), then the rows. */
static ag_status parse_lines(csv_ctx *c, const char *buf, int64_t len)
{
    const char *nul = memchr(buf, '\0', (size_t)len);
    int64_t end = len, line = 0, first = len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3) ? 3 : 0;
    while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r')) end--;   /* empty lines */
    if (nul) {
        int64_t at = 1;
        for (const char *q = buf; q < nul; q++) at += *q == '\n';
        return csv_fail(c, at, 0, "a NUL byte: not a text file");
    }
    if (end <= first) return csv_fail(c, 1, 0, "empty file (no lines)");
    for (int64_t at = first; at < end; line++) {            /* after a UTF-8 byte order mark */
        const char *p = buf + at, *nl = memchr(p, '\n', (size_t)(end - at));
        const char *stop = nl ? nl : buf + end;
        at = stop - buf + 1;
        if (stop > p && stop[-1] == '\r') stop--;
        ag_status s = AG_OK;
        if (line == 0) {
            s = count_fields(c, 1, p, stop, &c->ncols);
            if (s == AG_OK) s = resolve_columns(c, 1);
            if (s == AG_OK && c->o.header) continue;
        }
        if (s == AG_OK) s = parse_row(c, line + 1, p, stop);
        if (s != AG_OK) return s;
    }
    if (c->rows == 0) return csv_fail(c, 1, 0, "a header line but no data lines");
    return AG_OK;
}

/* The dataset from the parsed values. */
static ag_tensor_dataset *make_dataset(const csv_ctx *c)
{
    const int64_t n = c->rows, features = c->ncols - c->ntargets;
    ag_target_kind kind = c->ntargets == 0 ? AG_TARGET_NONE
                        : c->o.class_targets ? AG_TARGET_CLASS : AG_TARGET_FLOAT;
    int64_t *labels = NULL, classes = 0;
    if (kind == AG_TARGET_CLASS) {
        if (!(labels = malloc((size_t)(n ? n : 1) * sizeof *labels)))
            return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", CSV_FN), NULL;
        for (int64_t i = 0; i < n; i++) {
            labels[i] = (int64_t)c->y.v[i];
            if (labels[i] >= classes) classes = labels[i] + 1;
        }
        if (c->o.num_classes) classes = c->o.num_classes;
    }
    ag_tensor_dataset *ds = agn_tds_make(CSV_FN, AG_ERR_FORMAT, n, 1, &features, c->o.dtype,
                                         c->x.v, kind, c->ntargets, c->y.v, labels, classes);
    free(labels);
    return ds;
}

ag_tensor_dataset *ag_tensor_dataset_load_csv(const char *path, const ag_csv_opts *opts)
{
    if (!path) return ag_set_last_error(AG_ERR_ARG, "%s: path is NULL", CSV_FN), NULL;
    char pbuf[168], *buf = NULL;
    csv_ctx c = {0};
    c.shown = agn_short_path(path, pbuf);
    int64_t len = 0;
    if (resolve_opts(&c, opts) != AG_OK || read_file(path, c.shown, &buf, &len) != AG_OK)
        return NULL;
    ag_tensor_dataset *ds = parse_lines(&c, buf, len) == AG_OK ? make_dataset(&c) : NULL;
    free(buf);
    free(c.role);
    free(c.tv);
    free(c.x.v);
    free(c.y.v);
    return ds;
}
