/*
** tape.c: the tape's memory (data arena, tensor headers, nodes), its error
** state, grad and anomaly modes, recording a node, reset, and DOT export.
** Backward lives in backward.c; tensor creation in tensor.c.
**
** Memory. Tensor data comes from a chunked bump arena; on reset, if the
** step needed more than one block, the blocks are replaced by one of the
** total size, so from the second step on a training loop allocates
** nothing. Tensor headers come from two pools of fixed chunks that are
** never moved or freed before the tape: even generations use pool 0, odd
** ones pool 1. A header from the previous generation is therefore never
** reused by the current one, and its stale `gen` is always readable, so
** using a tensor from before a reset is an AG_ERR_STATE error, not a
** use-after-free.
*/
#if defined(__linux__)
#define _DEFAULT_SOURCE         /* madvise (MADV_HUGEPAGE) */
#endif
#include "ag_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define AGI_BLOCK_MIN ((size_t)1 << 20)

_Static_assert(sizeof(ag_tensor) == 128, "a tensor header is two cache lines");
_Static_assert(sizeof(agi_node) == 128, "a node is two cache lines");

const char *ag_status_name(ag_status s)
{
    static const char *const names[] = {
        "AG_OK", "AG_ERR_ARG", "AG_ERR_SHAPE", "AG_ERR_DTYPE", "AG_ERR_AXIS",
        "AG_ERR_STATE", "AG_ERR_NOMEM", "AG_ERR_ANOMALY", "AG_ERR_IO",
        "AG_ERR_FORMAT", "AG_ERR_GRADCHECK"};
    if ((unsigned)s < sizeof names / sizeof names[0]) return names[s];
    return "AG_ERR_UNKNOWN";
}

#define AGI_HUGE ((size_t)2 << 20)   /* a huge page: blocks from twice that use them */

/*
** A data block of at least cap bytes (*cap is rounded up): AGI_ALIGN-
** aligned, and from 4 MB on aligned to huge pages and marked for them
** (where the kernel offers them only on request, as Linux's default
** "madvise" mode): a CNN's tape of a few hundred MB then takes some
** hundred page faults instead of some hundred thousand, and fewer TLB
** misses. NULL when out of memory.
*/
static char *block_alloc(size_t *cap)
{
    if (*cap < 2 * AGI_HUGE) return aligned_alloc(AGI_ALIGN, *cap);
    size_t c = (*cap + AGI_HUGE - 1) & ~(AGI_HUGE - 1);
    if (c < *cap) return NULL;
    char *p = aligned_alloc(AGI_HUGE, c);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p) madvise(p, c, MADV_HUGEPAGE);     /* advice only: failure changes nothing */
#endif
    if (p) *cap = c;
    return p;
}

/* ----------------------------------------------------------- the tape --- */

ag_tape *ag_tape_new(void)
{
    ag_tape *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->grad_enabled = 1;
    t->rule_node = -1;
    return t;
}

static void hpool_free(agi_hpool *p)
{
    for (int i = 0; i < p->nchunks; i++) free(p->chunks[i]);
    free(p->chunks);
}

void ag_tape_free(ag_tape *t)
{
    if (!t) return;
    for (int i = 0; i < t->nblocks; i++) free(t->blocks[i].base);
    free(t->blocks);
    hpool_free(&t->pools[0]);
    hpool_free(&t->pools[1]);
    for (int32_t i = 0; i < t->cap_nodes / AGI_NODE_CHUNK; i++) free(t->node_chunks[i]);
    free(t->node_chunks);
    free(t->gacc);
    free(t->sval);
    free(t->mark);
    ag_tape_free(t->sub);
    free(t);
}

/* Makes pool p hold at least n chunks; 0 when out of memory. */
static int hpool_reserve(agi_hpool *p, int n)
{
    if (n > p->cap_chunks) {
        int cap = p->cap_chunks ? p->cap_chunks * 2 : 8;
        while (cap < n) cap *= 2;
        ag_tensor **c = realloc(p->chunks, (size_t)cap * sizeof *c);
        if (!c) return 0;
        p->chunks = c;
        p->cap_chunks = cap;
    }
    while (p->nchunks < n) {
        ag_tensor *chunk = aligned_alloc(64, AGI_HCHUNK * sizeof *chunk);
        if (!chunk) return 0;
        memset(chunk, 0, AGI_HCHUNK * sizeof *chunk);
        p->chunks[p->nchunks++] = chunk;
    }
    return 1;
}

void ag_tape_reset(ag_tape *t)
{
    if (!t) return;
    size_t total = 0;
    for (int i = 0; i < t->nblocks; i++) total += t->blocks[i].cap;
    if (t->nblocks > 1) {           /* coalesce: one block from now on */
        char *base = block_alloc(&total);               /* total: a multiple of 64 */
        if (base) {
            for (int i = 0; i < t->nblocks; i++) free(t->blocks[i].base);
            t->blocks[0].base = base;
            t->blocks[0].cap = total;
            t->nblocks = 1;
        }
    }
    for (int i = 0; i < t->nblocks; i++) t->blocks[i].used = 0;
    t->cur = 0;
    /* Both header pools as large as the larger, so no step grows them. */
    int n = t->pools[0].nchunks > t->pools[1].nchunks ? t->pools[0].nchunks
                                                      : t->pools[1].nchunks;
    hpool_reserve(&t->pools[0], n);  /* on failure a later step grows it */
    hpool_reserve(&t->pools[1], n);
    t->gen++;
    t->pools[t->gen & 1].used = 0;
    t->n_nodes = 0;
    t->n_ops = 0;
    t->status = AG_OK;
    t->msg[0] = '\0';
}

ag_status ag_tape_status(const ag_tape *t) { return t ? t->status : AG_ERR_ARG; }
const char *ag_tape_errmsg(const ag_tape *t) { return t ? t->msg : "ag_tape_errmsg: tape is NULL"; }

void ag_tape_clear_error(ag_tape *t)
{
    if (!t) return;
    t->status = AG_OK;
    t->msg[0] = '\0';
}

size_t ag_tape_reserved(const ag_tape *t)
{
    if (!t) return 0;
    size_t n = 0;
    for (int i = 0; i < t->nblocks; i++) n += t->blocks[i].cap;
    n += (size_t)(t->pools[0].nchunks + t->pools[1].nchunks) * AGI_HCHUNK *
         sizeof(ag_tensor);
    n += (size_t)t->cap_nodes * sizeof(agi_node);
    n += t->cap_scratch * (sizeof(ag_tensor *) + sizeof(agi_sval) + 1);
    return n + ag_tape_reserved(t->sub);     /* ag_recompute's scratch tape */
}

size_t ag_tape_size(const ag_tape *t) { return t ? (size_t)t->n_nodes : 0; }

int ag_set_grad_enabled(ag_tape *t, int enabled)
{
    if (!t) return 0;
    int old = t->grad_enabled;
    t->grad_enabled = enabled != 0;
    return old;
}

int ag_is_grad_enabled(const ag_tape *t) { return t ? t->grad_enabled : 0; }

int ag_set_anomaly(ag_tape *t, int on)
{
    if (!t) return 0;
    int old = t->anomaly;
    t->anomaly = on != 0;
    return old;
}

/* ------------------------------------------------------------- memory --- */

void *agi_alloc_slow(ag_tape *t, size_t bytes)
{
    size_t need = (bytes + AGI_ALIGN - 1) & ~(size_t)(AGI_ALIGN - 1);
    if (need < bytes)
        return agi_fail(t, AG_ERR_NOMEM, "%s: out of memory: %zu bytes", agi_fn(t), bytes);
    for (; t->cur < t->nblocks; t->cur++) {
        agi_block *b = &t->blocks[t->cur];
        if (b->cap - b->used >= need) {
            void *p = b->base + b->used;
            b->used += need;
            return p;
        }
    }
    if (t->nblocks == t->cap_blocks) {
        int cap = t->cap_blocks ? t->cap_blocks * 2 : 8;
        agi_block *nb = realloc(t->blocks, (size_t)cap * sizeof *nb);
        if (!nb)
            return agi_fail(t, AG_ERR_NOMEM, "%s: out of memory for the tape's block list",
                            agi_fn(t));
        t->blocks = nb;
        t->cap_blocks = cap;
    }
    size_t last = t->nblocks ? t->blocks[t->nblocks - 1].cap : 0;
    size_t cap = last * 2 > AGI_BLOCK_MIN ? last * 2 : AGI_BLOCK_MIN;
    if (cap < need) cap = need;
    char *base = block_alloc(&cap);
    if (!base)
        return agi_fail(t, AG_ERR_NOMEM, "%s: out of memory: %zu bytes for the tape", agi_fn(t),
                        cap);
    agi_block *b = &t->blocks[t->nblocks++];
    b->base = base;
    b->cap = cap;
    b->used = need;
    t->cur = t->nblocks - 1;
    return base;
}

static inline ag_tensor *new_header(ag_tape *t)
{
    agi_hpool *p = &t->pools[t->gen & 1];
    size_t chunk = p->used / AGI_HCHUNK;
    if (chunk >= (size_t)p->nchunks && !hpool_reserve(p, (int)chunk + 1))
        return agi_fail(t, AG_ERR_NOMEM, "%s: out of memory for tensor headers", agi_fn(t));
    ag_tensor *x = &p->chunks[chunk][p->used % AGI_HCHUNK];
    p->used++;
    x->grad = NULL;             /* the caller sets data, shape and the rest */
    x->requires_grad = 0;
    x->flags = 0;
    return x;
}

int64_t ag_shape_numel(int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > AG_MAX_DIMS || (ndim && !shape)) return -1;
    return agi_numel(ndim, shape);
}

int64_t ag_size_mul(int64_t a, int64_t b) { return agi_mul(a, b); }

void *agi_bad_shape(ag_tape *t, const char *fn, int ndim, const int64_t *shape)
{
    char buf[96];
    agi_dims_str(ndim, shape, buf);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return agi_fail(t, AG_ERR_SHAPE, "%s: shape %s: dimension %d is negative", fn, buf, i);
    return agi_fail(t, AG_ERR_SHAPE, "%s: shape %s is too large: more than %lld elements "
                    "(AG_NUMEL_MAX), its zero dims aside", fn, buf, (long long)AG_NUMEL_MAX);
}

/* A tape header for n elements of dtype dt and this shape, its data from
   the arena or, up to 8 bytes, inline; NULL (error set) when out of memory. */
static inline ag_tensor *make_tensor(ag_tape *t, const char *fn, int dt, int ndim,
                                     const int64_t *shape, int64_t n)
{
    t->fn = fn;                         /* for an out-of-memory message */
    size_t bytes = agi_bytes(n, dt);
    void *data = NULL;
    if (bytes > sizeof(((ag_tensor *)0)->inl) && !(data = agi_alloc(t, bytes))) return NULL;
    ag_tensor *x = new_header(t);
    if (!x) return NULL;
    x->data = data ? data : x->inl.bytes;
    x->tape = t;
    x->gen = t->gen;
    x->numel = n;
    x->ndim = (uint8_t)ndim;
    x->dtype = (uint8_t)dt;
    x->node = -1;
    for (int i = 0; i < ndim; i++) x->shape[i] = shape[i];
    return x;
}

ag_tensor *agi_new(ag_tape *t, const char *fn, ag_dtype dt, int ndim,
                   const int64_t *shape)
{
    if ((unsigned)ndim > AG_MAX_DIMS)
        return agi_fail(t, AG_ERR_SHAPE, "%s: %d dimensions (at most %d)", fn, ndim, AG_MAX_DIMS);
    if (dt != AG_F32 && dt != AG_F64)
        return agi_fail(t, AG_ERR_DTYPE, "%s: unknown dtype %d", fn, (int)dt);
    int64_t n = agi_numel(ndim, shape);
    if (n < 0) return agi_bad_shape(t, fn, ndim, shape);
    return make_tensor(t, fn, dt, ndim, shape, n);
}

/* x is a tensor: its shape and dtype need no check. */
ag_tensor *agi_new_like_slow(ag_tape *t, const char *fn, const ag_tensor *x)
{
    return make_tensor(t, fn, x->dtype, x->ndim, x->shape, x->numel);
}

ag_tensor *agi_view(ag_tape *t, const char *fn, ag_tensor *x, int ndim, const int64_t *shape)
{
    t->fn = fn;                         /* for an out-of-memory message */
    ag_tensor *y = new_header(t);
    if (!y) return NULL;
    y->data = x->data;
    y->tape = t;
    y->gen = t->gen;
    y->numel = x->numel;
    y->ndim = (uint8_t)ndim;
    y->dtype = x->dtype;
    y->node = -1;
    for (int i = 0; i < ndim; i++) y->shape[i] = shape[i];
    return y;
}

/* ------------------------------------------------------------- errors --- */

static _Thread_local char last_error[AGI_MSG_LEN];

const char *ag_last_error(void) { return last_error; }

ag_status ag_set_last_error(ag_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

void *agi_fail(ag_tape *t, ag_status s, const char *fmt, ...)
{
    va_list ap;
    if (!t) {                 /* no tape to hold it: the thread's last error */
        va_start(ap, fmt);
        vsnprintf(last_error, sizeof last_error, fmt, ap);
        va_end(ap);
        return NULL;
    }
    if (t->status != AG_OK) return NULL;
    t->status = s;
    va_start(ap, fmt);
    vsnprintf(t->msg, sizeof t->msg, fmt, ap);
    va_end(ap);
    return NULL;
}

ag_status ag_tape_check(ag_tape *t, const char *fn, const char *arg, const ag_tensor *x)
{
    fn = fn ? fn : "ag_tape_check";
    if (!t) return agi_no_tape(fn);
    if (t->status != AG_OK) return t->status;
    return agi_check(t, fn, arg ? arg : "x", x) ? AG_OK : t->status;
}

ag_status ag_tape_set_error(ag_tape *t, ag_status s, const char *fmt, ...)
{
    if (!t) return s;
    if (t->status == AG_OK) {
        va_list ap;
        t->status = s;
        va_start(ap, fmt);
        vsnprintf(t->msg, sizeof t->msg, fmt, ap);
        va_end(ap);
    }
    return s;
}

char *agi_dims_str(int ndim, const int64_t *shape, char *buf)
{
    int n = 0;
    buf[n++] = '[';
    for (int i = 0; i < ndim && n < 80; i++)
        n += snprintf(buf + n, 96 - (size_t)n, i ? ",%lld" : "%lld", (long long)shape[i]);
    snprintf(buf + n, 96 - (size_t)n, "]");
    return buf;
}

char *agi_shape_str(const ag_tensor *x, char *buf)
{
    return agi_dims_str(x->ndim, x->shape, buf);
}

ag_status agi_no_tape(const char *fn)
{
    return ag_set_last_error(AG_ERR_ARG, "%s: tape is NULL", fn);
}

int agi_check_fail(ag_tape *t, const char *fn, const char *arg, const ag_tensor *x)
{
    if (!t) return agi_no_tape(fn), 0;
    if (t->status != AG_OK) return 0;
    if (!x) return agi_fail(t, AG_ERR_ARG, "%s: %s is NULL", fn, arg), 0;
    if (x->tape && x->tape != t)
        return agi_fail(t, AG_ERR_STATE, "%s: %s belongs to another tape", fn, arg), 0;
    if (x->tape && x->gen != t->gen)
        return agi_fail(t, AG_ERR_STATE,
                        "%s: %s was made before the tape was reset", fn, arg), 0;
    return 1;
}

int agi_check2_fail(ag_tape *t, const char *fn, const ag_tensor *a, const ag_tensor *b)
{
    if (!agi_check(t, fn, "a", a) || !agi_check(t, fn, "b", b)) return 0;
    if (a->dtype != b->dtype)
        return agi_fail(t, AG_ERR_DTYPE, "%s: dtypes differ: a is %s, b is %s (use ag_cast)",
                        fn, agi_dtype_name(a->dtype),
                        agi_dtype_name(b->dtype)), 0;
    return 1;
}

int agi_axis(ag_tape *t, const char *fn, int axis, int ndim)
{
    int a = axis < 0 ? axis + ndim : axis;
    if (a < 0 || a >= ndim) {
        agi_fail(t, AG_ERR_AXIS, "%s: axis %d out of range for %d dimensions", fn, axis, ndim);
        return -1;
    }
    return a;
}

void agi_fill(ag_tensor *x, double v)
{
    if (x->dtype == AG_F64) {
        double *p = AGI_F64(x);
        for (int64_t i = 0; i < x->numel; i++) p[i] = v;
    } else {
        float *p = AGI_F32(x), f = (float)v;
        for (int64_t i = 0; i < x->numel; i++) p[i] = f;
    }
}

/* ------------------------------------------------------------ recording --- */

/* One more chunk of nodes; 0 when out of memory. */
static int grow_nodes(ag_tape *t)
{
    int32_t nchunks = t->cap_nodes / AGI_NODE_CHUNK;
    agi_node **c = realloc(t->node_chunks, (size_t)(nchunks + 1) * sizeof *c);
    if (!c) return 0;
    t->node_chunks = c;
    if (!(c[nchunks] = aligned_alloc(64, AGI_NODE_CHUNK * sizeof **c))) return 0;
    t->cap_nodes += AGI_NODE_CHUNK;
    return 1;
}

/* agi_record's rare paths: nothing to record (n_in 0: the op only
   counts), more inputs than the node holds, or a full node chunk. */
agi_node *agi_record_node(ag_tape *t, const agi_op *op, ag_tensor *out, int n_in,
                          ag_tensor *const *in)
{
    if (t->plan) agi_plan_check_op(t, op);
    t->n_ops++;
    if (n_in == 0) return NULL;
    if (t->n_nodes == t->cap_nodes && !grow_nodes(t))
        return agi_fail(t, AG_ERR_NOMEM, "%s: out of memory for the tape", op->name);
    agi_node *n = AGI_NODE(t, t->n_nodes);
    ag_tensor **ins = n->in_inline;
    if (n_in > AGI_NODE_INLINE && !(ins = agi_alloc(t, (size_t)n_in * sizeof *ins)))
        return NULL;
    for (int i = 0; i < n_in; i++) ins[i] = in[i];
    return agi_node_fill(t, n, op, out, ins, n_in);
}

/* Index of the first NaN or Inf in x, or -1. */
static int64_t first_nonfinite(const ag_tensor *x)
{
    for (int64_t i = 0; i < x->numel; i++) {
        double v = x->dtype == AG_F64 ? AGI_F64(x)[i] : AGI_F32(x)[i];
        if (!isfinite(v)) return i;
    }
    return -1;
}

/* agi_done's anomaly check (anomaly mode on, t not in error). Inside a
   backward rule the message names the op whose rule ran and its node
   first, then the op of the rule that made the NaN or Inf. */
ag_tensor *agi_done_check(ag_tape *t, const agi_op *op, ag_tensor *out)
{
    int64_t i = first_nonfinite(out);
    if (i < 0) return out;
    char buf[96];
    const char *what = isnan(out->dtype == AG_F64 ? AGI_F64(out)[i] : AGI_F32(out)[i])
                       ? "NaN" : "Inf";
    agi_shape_str(out, buf);
    if (t->in_backward && t->rule_node >= 0)
        return agi_fail(t, AG_ERR_ANOMALY, "%s: backward of node #%d: %s at element %lld of "
                        "the %s result of %s in its rule (op %llu on the tape)",
                        AGI_NODE(t, t->rule_node)->op->name, (int)t->rule_node, what,
                        (long long)i, buf, op->name, (unsigned long long)t->n_ops);
    return agi_fail(t, AG_ERR_ANOMALY, "%s: %s at element %lld of its %s result (op %llu on "
                    "the tape%s)", op->name, what, (long long)i, buf,
                    (unsigned long long)t->n_ops, t->in_backward ? ", during backward" : "");
}

/* --------------------------------------------------------------- detach --- */

static const agi_op op_detach = {"ag_detach", NULL, NULL};

ag_tensor *ag_detach(ag_tape *t, ag_tensor *x)
{
    if (!agi_check(t, "ag_detach", "x", x)) return NULL;
    t->fn = op_detach.name;
    ag_tensor *y = new_header(t);
    if (!y) return NULL;
    *y = *x;
    y->grad = NULL;
    y->tape = t;
    y->gen = t->gen;
    y->node = -1;
    y->requires_grad = 0;
    y->flags = 0;
    if (t->plan) agi_plan_log(t, 1, NULL, NULL, y, x, NULL, 0, 0);   /* shares x's data */
    t->n_ops++;
    return agi_done(t, &op_detach, y);
}

/* ------------------------------------------------------------------ DOT --- */

ag_status ag_tape_write_dot(ag_tape *t, const char *path)
{
    if (!t) return agi_no_tape("ag_tape_write_dot");
    if (!path) return agi_fail(t, AG_ERR_ARG, "ag_tape_write_dot: path is NULL"), AG_ERR_ARG;
    FILE *f = fopen(path, "w");
    if (!f) {
        agi_fail(t, AG_ERR_IO, "ag_tape_write_dot: cannot open '%s' for writing", path);
        return AG_ERR_IO;
    }
    char buf[96];
    fprintf(f, "digraph tape {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
    for (int32_t i = 0; i < t->n_nodes; i++) {
        const agi_node *n = AGI_NODE(t, i);
        fprintf(f, "  n%d [shape=box,label=\"#%d %s\\n%s %s\"];\n", i, i, n->op->name,
                agi_shape_str(n->out, buf), agi_dtype_name(n->out->dtype));
        for (int j = 0; j < n->n_in; j++) {
            const ag_tensor *x = n->in[j];
            if (x->node >= 0) {
                fprintf(f, "  n%d -> n%d;\n", x->node, i);
            } else {
                fprintf(f, "  l%p [shape=ellipse,%slabel=\"%s %s\"];\n  l%p -> n%d;\n",
                        (const void *)x, x->requires_grad ? "style=filled," : "",
                        x->tape ? "const" : (x->requires_grad ? "param" : "data"),
                        agi_shape_str(x, buf), (const void *)x, i);
            }
        }
    }
    fprintf(f, "}\n");
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) {
        agi_fail(t, AG_ERR_IO, "ag_tape_write_dot: write to '%s' failed", path);
        return AG_ERR_IO;
    }
    return AG_OK;
}
