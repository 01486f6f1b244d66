/*
** summary.c: ag_module_summary (ag_summary.h). One evaluation-mode forward
** on zeros, a Sequential's children one at a time so each shows its output
** shape, written into the caller's buffer as a table. Public API only.
*/
#include "ag.h"
#include "ag_summary.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RULE "============================================================"

typedef struct text {           /* the caller's buffer, filled as snprintf does */
    char *buf;
    size_t size;
    int64_t len;                /* what the whole text needs */
} text;

static void put(text *o, const char *fmt, ...)
{
    va_list ap;
    size_t at = (size_t)o->len < o->size ? (size_t)o->len : o->size;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf ? o->buf + at : NULL, o->buf ? o->size - at : 0, fmt, ap);
    va_end(ap);
    if (n > 0) o->len += n;
}

/* 1234567 -> "1,234,567". */
static const char *grouped(int64_t v, char *b)
{
    char raw[32];
    int n = snprintf(raw, sizeof raw, "%lld", (long long)v), k = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0 && raw[i - 1] != '-') b[k++] = ',';
        b[k++] = raw[i];
    }
    b[k] = '\0';
    return b;
}

static const char *bytes_str(double v, char *b)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (v >= 1024 && u < 4) v /= 1024, u++;
    snprintf(b, 32, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
    return b;
}

static const char *shape_str(const ag_tensor *x, char *b, size_t n)
{
    int k = snprintf(b, n, "[");
    for (int d = 0; x && d < ag_tensor_ndim(x) && (size_t)k < n; d++)
        k += snprintf(b + k, n - (size_t)k, d ? ",%lld" : "%lld", (long long)ag_tensor_shape(x)[d]);
    if ((size_t)k < n) snprintf(b + k, n - (size_t)k, "]");
    return b;
}

/* The parameters (or buffers) registered on m itself and under it: count
   of elements and bytes. */
static void count(const ag_module *m, int buffers, int64_t *elems, double *bytes)
{
    int n = ag_module_named_tensors(m, NULL, 0, buffers);
    ag_named_tensor *all = n > 0 ? malloc((size_t)n * sizeof *all) : NULL;
    *elems = 0, *bytes = 0;
    if (!all) return;
    ag_module_named_tensors(m, all, n, buffers);
    for (int i = 0; i < n; i++)
        if (all[i].is_buffer == buffers) {
            int64_t e = ag_tensor_numel(all[i].tensor);
            *elems += e;
            *bytes += (double)e * (ag_tensor_dtype(all[i].tensor) == AG_F64 ? 8 : 4);
        }
    free(all);
}

typedef struct entry {          /* one row of the table */
    int depth;
    const char *name;           /* the child's name; NULL for the top module */
    const ag_module *m;
    char shape[64];             /* "--" when its forward ran inside its parent's */
} entry;

typedef struct rows {
    entry *e;
    int n, cap;
} rows;

/* Appends a row; its index, or -1 when out of memory. */
static int add(rows *r, int depth, const char *name, const ag_module *m)
{
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 32;
        entry *e = realloc(r->e, (size_t)cap * sizeof *e);
        if (!e) return -1;
        r->e = e, r->cap = cap;
    }
    r->e[r->n] = (entry){depth, name, m, "--"};
    return r->n++;
}

static const char *type_of(const ag_module *m)
{
    return m->ops && m->ops->type ? m->ops->type : "Module";
}

static void print_row(text *o, const entry *e)
{
    char label[96], num[32];
    int64_t p;
    double pb;
    count(e->m, 0, &p, &pb);
    if (e->name)
        snprintf(label, sizeof label, "%*s%s (%s)", 2 * e->depth, "", e->name, type_of(e->m));
    else
        snprintf(label, sizeof label, "%*s%s", 2 * e->depth, "", type_of(e->m));
    put(o, "%-29s %-17s %12s\n", label, e->shape, p ? grouped(p, num) : "--");
}

static int is_sequential(const ag_module *m) { return !strcmp(type_of(m), "Sequential"); }

/* Rows for the children of m (whose forward ran as a whole), no shapes. */
static int add_children(rows *r, const ag_module *m, int depth)
{
    for (int i = 0; i < m->n_children; i++)
        if (add(r, depth, m->children[i].name, m->children[i].module) < 0 ||
            add_children(r, m->children[i].module, depth + 1) < 0)
            return -1;
    return 0;
}

/* Runs m on x and adds its rows (a Sequential's children one by one, each
   with its output shape). Returns m's output, or NULL (the error on t, or
   AG_ERR_NOMEM there). */
static ag_tensor *walk(rows *r, ag_module *m, const char *name, int depth, ag_tape *t,
                       ag_tensor *x, double *act)
{
    int k = add(r, depth, name, m);
    if (k < 0) return ag_tape_set_error(t, AG_ERR_NOMEM, "out of memory"), NULL;
    ag_tensor *y = x;
    if (is_sequential(m) && m->n_children > 0) {
        for (int i = 0; y && i < m->n_children; i++)
            y = walk(r, m->children[i].module, m->children[i].name, depth + 1, t, y, act);
    } else {
        y = ag_module_forward(m, t, x);
        if (y) *act += (double)ag_tensor_numel(y) * (ag_tensor_dtype(y) == AG_F64 ? 8 : 4);
        if (y && add_children(r, m, depth + 1) < 0)
            return ag_tape_set_error(t, AG_ERR_NOMEM, "out of memory"), NULL;
    }
    if (y) shape_str(y, r->e[k].shape, sizeof r->e[k].shape);
    return y;
}

/* Every module's training flag, depth first, saved into or restored from
   flags (NULL: count them). Returns the count. */
static int flags(ag_module *m, int *saved, int restore, int k)
{
    if (saved && restore) m->training = saved[k];
    else if (saved) saved[k] = m->training;
    k++;
    for (int i = 0; i < m->n_children; i++) k = flags(m->children[i].module, saved, restore, k);
    return k;
}

int64_t ag_module_summary(ag_module *m, int ndim, const int64_t *input_shape, ag_dtype dt,
                          char *buf, size_t size)
{
    text o = {buf, size, 0};
    if (buf && size) buf[0] = '\0';
    if (!m) return ag_set_last_error(AG_ERR_ARG, "ag_module_summary: m is NULL"), -1;
    ag_tape *t = ag_tape_new();
    int n = flags(m, NULL, 0, 0);
    int *saved = malloc((size_t)n * sizeof *saved);
    ag_tensor *x = t ? ag_zeros(t, dt, ndim, input_shape) : NULL;
    if (!t || !saved || !x) {
        const char *why = t && !saved ? "out of memory" : t ? ag_tape_errmsg(t) : "out of memory";
        ag_set_last_error(t && !x ? ag_tape_status(t) : AG_ERR_NOMEM, "ag_module_summary: %s",
                          why);
        ag_tape_free(t), free(saved);
        return -1;
    }
    flags(m, saved, 0, 0);
    ag_module_train(m, 0);
    ag_set_grad_enabled(t, 0);
    double act = 0, pb, bb;
    int64_t p, b;
    char s1[32], s2[32], s3[32], s4[32], s5[32];
    rows r = {NULL, 0, 0};
    ag_tensor *y = walk(&r, m, NULL, 0, t, x, &act);
    flags(m, saved, 1, 0);
    free(saved);
    if (!y) {
        ag_set_last_error(ag_tape_status(t), "ag_module_summary: the forward failed on an "
                          "input of zeros: %s", ag_tape_errmsg(t));
        ag_tape_free(t), free(r.e);
        return -1;
    }
    ag_tape_free(t);
    put(&o, "%-29s %-17s %12s\n%s\n", "Layer (type)", "Output shape", "Param #", RULE);
    for (int i = 0; i < r.n; i++) print_row(&o, &r.e[i]);
    free(r.e);
    count(m, 0, &p, &pb);
    count(m, 1, &b, &bb);
    put(&o, "%s\nParameters: %s (%s); buffers: %s (%s)\nActivations of one forward pass: %s\n",
        RULE, grouped(p, s1), bytes_str(pb, s2), grouped(b, s3), bytes_str(bb, s4),
        bytes_str(act, s5));
    return o.len;
}
