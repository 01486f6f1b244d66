/*
** search.c: argmax, argmin and topk: positions of the extreme elements
** along an axis, as int64_t indices in the caller's array. argmax and
** argmin are constants (no node); topk's values are an ag_gather of x at
** the indices it found, so their gradient (of any order) is gather's.
**
** One order for all three: NaN above every number, then by value, then
** the lower index first. It is a strict total order on a row's positions,
** so every result is determined (no dependence on a sort's stability).
*/
#include "ag_ops_internal.h"
#include "ag_search.h"
#include "ag_shape.h"

#include <stdlib.h>
#include <string.h>

/* The shape of x reduced over axis a (or AG_ALL); returns its ndim. */
static int reduced_shape(const ag_tensor *x, int a, int keepdim, int64_t *shape)
{
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (a == AG_ALL || d == a) {
            if (keepdim) shape[nd++] = 1;
        } else {
            shape[nd++] = x->shape[d];
        }
    }
    return nd;
}

/* The caller's index array: given, with room for count entries; 0 + error if not. */
static int out_check(ag_tape *t, const char *fn, const char *name, const int64_t *out,
                     int64_t capacity, int64_t count, int ndim, const int64_t *shape)
{
    char ss[96];
    if (!out)
        return agi_fail(t, AG_ERR_ARG, "%s: %s is NULL (the result is %s)", fn, name,
                        agi_dims_str(ndim, shape, ss)), 0;
    if (capacity < count)
        return agi_fail(t, AG_ERR_ARG, "%s: %s has room for %lld indices, the result %s needs "
                        "%lld", fn, name, (long long)capacity, agi_dims_str(ndim, shape, ss),
                        (long long)count), 0;
    return 1;
}

/* ---------------------------------------------------- argmax, argmin --- */

/* v beats the best so far b: larger (smaller), or the first NaN. */
#define MAX_BEATS(v, b) ((v) > (b) || ((v) != (v) && (b) == (b)))
#define MIN_BEATS(v, b) ((v) < (b) || ((v) != (v) && (b) == (b)))

/* x is [outer, n, inner]: out[o*inner + j] = the first best i of x[o, :, j]. */
#define ARG_LOOP(T, X, OUT, OUTER, N, INNER, BEATS)                           \
    do {                                                                      \
        const T *px_ = (const T *)(X)->data;                                  \
        for (int64_t o_ = 0; o_ < (OUTER); o_++)                              \
            for (int64_t j_ = 0; j_ < (INNER); j_++) {                        \
                const T *row_ = px_ + o_ * (N) * (INNER) + j_;                \
                T best_ = row_[0];                                            \
                int64_t at_ = 0;                                              \
                for (int64_t i_ = 1; i_ < (N); i_++) {                        \
                    const T v_ = row_[i_ * (INNER)];                          \
                    if (BEATS(v_, best_)) best_ = v_, at_ = i_;               \
                }                                                             \
                (OUT)[o_ * (INNER) + j_] = at_;                               \
            }                                                                 \
    } while (0)

static ag_status arg_extremum(ag_tape *t, const char *fn, int is_max, ag_tensor *x, int axis,
                              int keepdim, int64_t *out, int64_t capacity, int *ndim,
                              int64_t *shape)
{
    char sx[96];
    int64_t outer, n, inner, rshape[AG_MAX_DIMS];
    if (!t) return AG_ERR_ARG;
    if (!agi_check(t, fn, "x", x)) return t->status;
    int a = agi_reduce_axis(t, fn, x, axis, 1, &outer, &n, &inner);
    if (a == -1) return t->status;
    if (n == 0) {
        agi_fail(t, AG_ERR_SHAPE, "%s: x is %s: %s has no elements to choose from", fn,
                 agi_shape_str(x, sx), a == AG_ALL ? "it" : "that axis");
        return t->status;
    }
    int nd = reduced_shape(x, a, keepdim, rshape);
    int64_t count = agi_numel(nd, rshape);
    if (!out_check(t, fn, "out", out, capacity, count, nd, rshape)) return t->status;
    if (count > 0) {
        if (x->dtype == AG_F64 && is_max) ARG_LOOP(double, x, out, outer, n, inner, MAX_BEATS);
        else if (x->dtype == AG_F64) ARG_LOOP(double, x, out, outer, n, inner, MIN_BEATS);
        else if (is_max) ARG_LOOP(float, x, out, outer, n, inner, MAX_BEATS);
        else ARG_LOOP(float, x, out, outer, n, inner, MIN_BEATS);
    }
    if (ndim) *ndim = nd;
    if (shape) memcpy(shape, rshape, (size_t)nd * sizeof *shape);
    t->n_ops++;                                   /* a constant: no node */
    return AG_OK;
}

ag_status ag_argmax(ag_tape *t, ag_tensor *x, int axis, int keepdim, int64_t *out,
                    int64_t capacity, int *ndim, int64_t *shape)
{
    return arg_extremum(t, "ag_argmax", 1, x, axis, keepdim, out, capacity, ndim, shape);
}

ag_status ag_argmin(ag_tape *t, ag_tensor *x, int axis, int keepdim, int64_t *out,
                    int64_t capacity, int *ndim, int64_t *shape)
{
    return arg_extremum(t, "ag_argmin", 0, x, axis, keepdim, out, capacity, ndim, shape);
}

/* --------------------------------------------------------------- topk --- */

/* 1 when position a of the row v ranks before position b: NaN first (with
   largest; last without), then larger (smaller) values, then lower index. */
static int ranks_before(const double *v, int64_t a, int64_t b, int largest)
{
    const int na = isnan(v[a]), nb = isnan(v[b]);
    if (na || nb) return na && nb ? a < b : largest ? na : nb;
    if (v[a] != v[b]) return largest ? v[a] > v[b] : v[a] < v[b];
    return a < b;
}

/* Restores the heap h[0..size) below pos; the root ranks last of all. */
static void sift_down(int64_t *h, int64_t size, int64_t pos, const double *v, int largest)
{
    for (;;) {
        int64_t c = 2 * pos + 1;
        if (c >= size) return;
        if (c + 1 < size && ranks_before(v, h[c], h[c + 1], largest)) c++;  /* the later */
        if (!ranks_before(v, h[pos], h[c], largest)) return;
        const int64_t tmp = h[pos];
        h[pos] = h[c];
        h[c] = tmp;
        pos = c;
    }
}

static int cmp_index(const void *a, const void *b)
{
    const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/*
** h[0..k) = the positions of the k first-ranked of v[0..n): a heap of the
** best k seen so far, its root the one that ranks last (O(n log k)); then
** sorted best first by popping, or by index.
*/
static void topk_row(const double *v, int64_t n, int64_t k, int largest, int sorted,
                     int64_t *h)
{
    if (k == 0) return;
    for (int64_t i = 0; i < k; i++) h[i] = i;
    for (int64_t i = k / 2; i-- > 0;) sift_down(h, k, i, v, largest);
    for (int64_t i = k; i < n; i++)
        if (ranks_before(v, i, h[0], largest)) {
            h[0] = i;
            sift_down(h, k, 0, v, largest);
        }
    if (!sorted) {
        qsort(h, (size_t)k, sizeof *h, cmp_index);
        return;
    }
    for (int64_t size = k; size > 1; size--) {     /* the last-ranked goes to the end */
        const int64_t tmp = h[0];
        h[0] = h[size - 1];
        h[size - 1] = tmp;
        sift_down(h, size - 1, 0, v, largest);
    }
}

/* idx [outer, k, inner] = the positions topk_row picks in each row of x
   [outer, n, inner]; row and heap are scratch of n and k entries. */
static void topk_kernel(const ag_tensor *x, int64_t outer, int64_t n, int64_t inner, int64_t k,
                        int largest, int sorted, int64_t *idx, double *row, int64_t *heap)
{
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            const int64_t base = o * n * inner + j;
            for (int64_t i = 0; i < n; i++)
                row[i] = x->dtype == AG_F64 ? AGI_F64(x)[base + i * inner]
                                            : (double)AGI_F32(x)[base + i * inner];
            topk_row(row, n, k, largest, sorted, heap);
            for (int64_t p = 0; p < k; p++) idx[(o * k + p) * inner + j] = heap[p];
        }
}

/* Checks ag_topk's arguments and fills the geometry; the axis or -1. */
static int topk_check(ag_tape *t, ag_tensor *x, int64_t k, int axis, int64_t *outer,
                      int64_t *n, int64_t *inner)
{
    char sx[96];
    if (!agi_check(t, "ag_topk", "x", x)) return -1;
    int a = agi_reduce_axis(t, "ag_topk", x, axis, 0, outer, n, inner);
    if (a == -1) return -1;
    if (k < 0 || k > *n)
        return agi_fail(t, AG_ERR_ARG, "ag_topk: k is %lld, not in [0, %lld] (axis %d of x, "
                        "shape %s)", (long long)k, (long long)*n, axis,
                        agi_shape_str(x, sx)), -1;
    return a;
}

ag_tensor *ag_topk(ag_tape *t, ag_tensor *x, int64_t k, int axis, int largest, int sorted,
                   int64_t *indices, int64_t capacity)
{
    int64_t outer, n, inner, shape[AG_MAX_DIMS];
    int a = topk_check(t, x, k, axis, &outer, &n, &inner);
    if (a == -1) return NULL;
    ag_tensor *src = x;
    if (a == AG_ALL) {                           /* 0-d: as [1], then back to 0-d */
        src = ag_reshape(t, x, 1, (const int64_t[]){1});
        a = 0;
    }
    const int nd = src ? src->ndim : 0;
    if (src) memcpy(shape, src->shape, sizeof shape);
    shape[a] = k;
    const int64_t count = outer * k * inner;         /* at most x's numel */
    if (!src || (indices && !out_check(t, "ag_topk", "indices", indices, capacity, count,
                                       nd, shape)))
        return NULL;
    int64_t *idx = agi_alloc(t, (size_t)count * sizeof *idx + 1);
    if (!idx) return NULL;
    if (count > 0) {                                 /* then n <= x's numel */
        double *row = agi_alloc(t, (size_t)n * sizeof *row);
        int64_t *heap = agi_alloc(t, (size_t)k * sizeof *heap);
        if (!row || !heap) return NULL;
        topk_kernel(src, outer, n, inner, k, largest, sorted, idx, row, heap);
    }
    if (indices) memcpy(indices, idx, (size_t)count * sizeof *idx);
    ag_tensor *values = ag_gather(t, src, a, idx, shape);
    if (values && x->ndim == 0 && k == 1) values = ag_reshape(t, values, 0, NULL);
    return values;
}
