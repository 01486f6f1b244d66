/*
** arrange.c: ops that rearrange elements without changing them, beyond
** shape.c's reshapes, concat and slice: stack (along a new axis), split
** and chunk (several pieces along an axis), flip, roll, tril and triu.
** Every result is a new contiguous tensor.
**
** split and chunk are checks in front of ag_slice: each piece is a slice
** node. flip and roll are one kernel: each output coordinate along an axis
** is read from a remapped coordinate of x (reversed, or shifted with
** wrap-around), so a flip's backward is the same flip and a roll's is the
** roll by the opposite shifts.
*/
#include "ag_ops_internal.h"
#include "ag_arrange.h"
#include "multi_internal.h"
#include "ag_shape.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* -------------------------------------------------------------- stack --- */

/* y = stack(xs, axis); dxs[i] += reshape(slice(dy, axis, i, i+1), xs[i].shape) */
static void stack_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                           ag_tensor **gx, const uint8_t *need)
{
    const int axis = n->iparam[0];
    for (int i = 0; i < n->n_in; i++) {
        if (!need[i]) continue;
        const ag_tensor *x = n->in[i];
        gx[i] = ag_reshape(t, ag_slice(t, gy, axis, i, i + 1, 1), x->ndim, x->shape);
    }
}

/* ty = stack(txs, axis) */
static ag_tensor *stack_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_stack(t, n->n_in, tx, n->iparam[0]);
}

static const agi_op op_stack = {"ag_stack", stack_backward, stack_jvp};

/* Validates ag_stack's arguments; the normalised axis, or -1 (error set). */
static int stack_check(ag_tape *t, int n, ag_tensor *const *xs, int axis)
{
    char arg[32], s0[96], si[96];
    if (!t || t->status != AG_OK) return -1;
    if (!xs) return agi_fail(t, AG_ERR_ARG, "ag_stack: xs is NULL"), -1;
    if (n < 1) return agi_fail(t, AG_ERR_ARG, "ag_stack: n is %d, need at least 1", n), -1;
    for (int i = 0; i < n; i++) {
        snprintf(arg, sizeof arg, "xs[%d]", i);
        if (!agi_check(t, "ag_stack", arg, xs[i])) return -1;
    }
    const int nd = xs[0]->ndim;
    if (nd == AG_MAX_DIMS)
        return agi_fail(t, AG_ERR_SHAPE, "ag_stack: xs[0] is %s, already %d dimensions (the "
                        "most)", agi_shape_str(xs[0], s0), AG_MAX_DIMS), -1;
    int a = axis < 0 ? axis + nd + 1 : axis;
    if (a < 0 || a > nd)
        return agi_fail(t, AG_ERR_AXIS, "ag_stack: axis %d out of range for inputs of shape %s "
                        "(allowed %d..%d)", axis, agi_shape_str(xs[0], s0), -nd - 1, nd), -1;
    for (int i = 1; i < n; i++) {
        if (xs[i]->dtype != xs[0]->dtype)
            return agi_fail(t, AG_ERR_DTYPE, "ag_stack: dtypes differ: xs[0] is %s, xs[%d] is "
                            "%s (use ag_cast)", agi_dtype_name(xs[0]->dtype), i,
                            agi_dtype_name(xs[i]->dtype)), -1;
        if (!agi_same_shape(xs[i], xs[0]))
            return agi_fail(t, AG_ERR_SHAPE, "ag_stack: xs[0] is %s, xs[%d] is %s: all must "
                            "have one shape", agi_shape_str(xs[0], s0), i,
                            agi_shape_str(xs[i], si)), -1;
    }
    return a;
}

/* y [outer, n, rest] = the xs[i] [outer, rest] side by side; outer is the
   product of the dims before axis. */
static void stack_kernel(int n, ag_tensor *const *xs, int axis, ag_tensor *y)
{
    if (y->numel == 0) return;
    const size_t es = agi_dtype_size(y->dtype);
    const int64_t outer = agi_dims_prod(xs[0]->shape, 0, axis);
    const size_t row = (size_t)agi_dims_prod(xs[0]->shape, axis, xs[0]->ndim) * es;
    char *py = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < n; i++) {
            memcpy(py, (const char *)xs[i]->data + (size_t)o * row, row);
            py += row;
        }
}

ag_tensor *ag_stack(ag_tape *t, int n, ag_tensor *const *xs, int axis)
{
    int a = stack_check(t, n, xs, axis);
    if (a < 0) return NULL;
    int64_t shape[AG_MAX_DIMS];
    const ag_tensor *x0 = xs[0];
    for (int d = 0, k = 0; d <= x0->ndim; d++) shape[d] = d == a ? n : x0->shape[k++];
    ag_tensor *y = agi_new(t, op_stack.name, (ag_dtype)x0->dtype, x0->ndim + 1, shape);
    if (!y) return NULL;
    stack_kernel(n, xs, a, y);
    agi_node *nd = agi_record(t, &op_stack, y, n, xs);
    if (nd) nd->iparam[0] = a;
    return agi_done(t, &op_stack, y);
}

/* ------------------------------------------------------------- unbind --- */

/* ys[k] = x[.., k, ..] along axis; dx = stack(dys, axis), zeros for a
   piece that got no gradient */
static void unbind_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                            ag_tensor **gx, const uint8_t *need)
{
    (void)gy;                                 /* the anchor's: zeros */
    const agi_multi *m = n->aux;
    ag_tensor **gys = agi_alloc(t, (size_t)m->n_out * sizeof *gys);
    if (!gys) return;
    agi_multi_take(n, gys);
    for (int k = 0; k < m->n_out; k++) {
        const ag_tensor *y = m->outs[k];
        if (!gys[k] && !(gys[k] = ag_zeros(t, (ag_dtype)y->dtype, y->ndim, y->shape))) return;
    }
    if (need[0]) gx[0] = ag_stack(t, m->n_out, gys, n->iparam[0]);
}

/* tys = unbind(tx, axis); th = 0 */
static ag_tensor *unbind_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const agi_multi *m = n->aux;
    if (ag_unbind(t, tx[0], n->iparam[0], m->tans) != AG_OK) return NULL;
    return ag_zeros(t, (ag_dtype)n->out->dtype, 0, NULL);
}

static const agi_op op_unbind = {"ag_unbind", unbind_backward, unbind_jvp};
static const agi_op op_unbind_out = {"ag_unbind", agi_multi_out_backward, agi_multi_out_jvp};

/* Piece k of x along axis a, the axis dropped: x [outer, d, inner] gives
   [outer, inner]; a view of x's data when outer is 1, else a copy. */
static ag_tensor *unbind_piece(ag_tape *t, ag_tensor *x, int a, int64_t k)
{
    int64_t shape[AG_MAX_DIMS];
    for (int d = 0, j = 0; d < x->ndim; d++)
        if (d != a) shape[j++] = x->shape[d];
    const size_t es = agi_dtype_size(x->dtype);
    const int64_t outer = agi_dims_prod(x->shape, 0, a);
    const int64_t inner = agi_dims_prod(x->shape, a + 1, x->ndim);
    ag_tensor *y;
    if (outer == 1) {
        if (!(y = agi_view(t, op_unbind.name, x, x->ndim - 1, shape))) return NULL;
        y->numel = inner;
        y->data = (char *)x->data + (size_t)(k * inner) * es;
        return y;
    }
    if (!(y = agi_new(t, op_unbind.name, (ag_dtype)x->dtype, x->ndim - 1, shape))) return NULL;
    for (int64_t o = 0; o < outer && inner > 0; o++)
        memcpy((char *)y->data + (size_t)(o * inner) * es,
               (const char *)x->data + (size_t)((o * x->shape[a] + k) * inner) * es,
               (size_t)inner * es);
    return y;
}

ag_status ag_unbind(ag_tape *t, ag_tensor *x, int axis, ag_tensor **out)
{
    char s[96];
    if (!t) return agi_no_tape("ag_unbind");
    if (!agi_check(t, "ag_unbind", "x", x)) return t->status;
    if (!out) return agi_fail(t, AG_ERR_ARG, "ag_unbind: out is NULL"), AG_ERR_ARG;
    if (x->ndim == 0)
        return agi_fail(t, AG_ERR_SHAPE, "ag_unbind: x is 0-d (%s): no axis to unbind",
                        agi_shape_str(x, s)), AG_ERR_SHAPE;
    const int a = axis < 0 ? axis + x->ndim : axis;
    if (a < 0 || a >= x->ndim)
        return agi_fail(t, AG_ERR_AXIS, "ag_unbind: axis %d out of range for x of shape %s "
                        "(allowed %d..%d)", axis, agi_shape_str(x, s), -x->ndim,
                        x->ndim - 1), AG_ERR_AXIS;
    const int64_t n = x->shape[a];
    if (n > INT_MAX)
        return agi_fail(t, AG_ERR_SHAPE, "ag_unbind: x is %s, more than %d pieces along axis "
                        "%d", agi_shape_str(x, s), INT_MAX, axis), AG_ERR_SHAPE;
    for (int64_t k = 0; k < n; k++)
        if (!(out[k] = unbind_piece(t, x, a, k))) break;
    agi_node *nd = t->status == AG_OK && n > 0
                       ? agi_record_multi(t, &op_unbind, &op_unbind_out, 1, &x, (int)n, out)
                       : NULL;
    if (nd) nd->iparam[0] = a;
    for (int64_t k = 0; k < n && t->status == AG_OK; k++) agi_done(t, &op_unbind_out, out[k]);
    if (t->status != AG_OK)
        for (int64_t k = 0; k < n; k++) out[k] = NULL;
    return t->status;
}

/* ------------------------------------------------------ split, chunk --- */

/*
** Fills out[0..n) with the slices of x along axis a: piece i has sizes[i]
** elements, or (sizes NULL) step elements but the last, which has the
** rest. On failure every out[i] is NULL and the tape's status returned.
*/
static ag_status slice_pieces(ag_tape *t, ag_tensor *x, int a, int n, const int64_t *sizes,
                              int64_t step, ag_tensor **out)
{
    int64_t off = 0;
    for (int i = 0; i < n; i++) {
        int64_t len = sizes ? sizes[i] : i < n - 1 ? step : x->shape[a] - off;
        out[i] = ag_slice(t, x, a, off, off + len, 1);
        if (!out[i]) {
            for (int j = 0; j < n; j++) out[j] = NULL;
            return t->status;
        }
        off += len;
    }
    return AG_OK;
}

/* The checks split and chunk share: x usable and not 0-d, out given.
   Returns the normalised axis, or -1 (error set). */
static int pieces_check(ag_tape *t, const char *fn, ag_tensor *x, int axis, ag_tensor **out)
{
    if (!agi_check(t, fn, "x", x)) return -1;
    if (!out) return agi_fail(t, AG_ERR_ARG, "%s: out is NULL", fn), -1;
    if (x->ndim == 0)
        return agi_fail(t, AG_ERR_SHAPE, "%s: x is 0-d; it needs at least one dimension",
                        fn), -1;
    return agi_axis(t, fn, axis, x->ndim);
}

/* The sizes, each >= 0 and adding up to x's size along a; 0 + error if not. */
static int split_sizes_check(ag_tape *t, const ag_tensor *x, int a, int n,
                             const int64_t *sizes)
{
    char sx[96], ss[96];
    const int64_t dim = x->shape[a];
    int64_t sum = 0;
    int over = 0;
    if (n < 0 || (n > 0 && !sizes))
        return agi_fail(t, AG_ERR_ARG, "ag_split: %s (x is %s)", n < 0 ? "n is negative" :
                        "sizes is NULL", agi_shape_str(x, sx)), 0;
    for (int i = 0; i < n; i++) {
        if (sizes[i] < 0)
            return agi_fail(t, AG_ERR_ARG, "ag_split: sizes[%d] is %lld, negative (x is %s)",
                            i, (long long)sizes[i], agi_shape_str(x, sx)), 0;
        if (sizes[i] > dim - sum) over = 1;
        else sum += sizes[i];
    }
    if (over || sum != dim) {
        char total[32];
        snprintf(total, sizeof total, over ? "more than %lld" : "%lld",
                 (long long)(over ? dim : sum));
        return agi_fail(t, AG_ERR_SHAPE, "ag_split: sizes %s add up to %s, not %lld, the size "
                        "of axis %d of x (shape %s)", agi_dims_str(n, sizes, ss), total,
                        (long long)dim, a, agi_shape_str(x, sx)), 0;
    }
    return 1;
}

ag_status ag_split(ag_tape *t, ag_tensor *x, int n, const int64_t *sizes, int axis,
                   ag_tensor **out)
{
    if (!t) return AG_ERR_ARG;
    for (int i = 0; out && i < n; i++) out[i] = NULL;
    int a = pieces_check(t, "ag_split", x, axis, out);
    if (a < 0 || !split_sizes_check(t, x, a, n, sizes)) return t->status;
    return slice_pieces(t, x, a, n, sizes, 0, out);
}

ag_status ag_chunk(ag_tape *t, ag_tensor *x, int chunks, int axis, ag_tensor **out,
                   int *n_out)
{
    char sx[96];
    if (n_out) *n_out = 0;
    if (!t) return AG_ERR_ARG;
    for (int i = 0; out && i < chunks; i++) out[i] = NULL;
    int a = pieces_check(t, "ag_chunk", x, axis, out);
    if (a < 0) return t->status;
    if (chunks < 1) {
        agi_fail(t, AG_ERR_ARG, "ag_chunk: chunks is %d, must be at least 1 (x is %s)", chunks,
                 agi_shape_str(x, sx));
        return t->status;
    }
    const int64_t dim = x->shape[a];
    const int64_t step = dim / chunks + (dim % chunks != 0);      /* ceil, no overflow */
    const int count = step ? (int)(dim / step + (dim % step != 0)) : chunks;
    ag_status s = slice_pieces(t, x, a, count, NULL, step, out);
    if (s == AG_OK && n_out) *n_out = count;
    return s;
}

/* -------------------------------------------------------- flip, roll --- */

/*
** How flip and roll read x: y's coordinate i along axis d comes from x's
** shape[d] - 1 - i when flip[d], else from i - shift[d] (mod shape[d]).
** ndim and shape are x's, [1] for a 0-d x, or [numel] for the flattened
** roll; x and y are contiguous, so any of these describes them.
*/
typedef struct remap {
    int ndim;
    uint8_t flip[AG_MAX_DIMS];
    int64_t shape[AG_MAX_DIMS];
    int64_t shift[AG_MAX_DIMS];         /* in [0, shape[d]) */
} remap;

static void remap_init(remap *m, const ag_tensor *x)
{
    memset(m, 0, sizeof *m);
    m->ndim = x->ndim ? x->ndim : 1;
    m->shape[0] = 1;
    for (int d = 0; d < x->ndim; d++) m->shape[d] = x->shape[d];
}

static int64_t remap_coord(const remap *m, int d, int64_t i)
{
    if (m->flip[d]) return m->shape[d] - 1 - i;
    int64_t j = i - m->shift[d];
    return j < 0 ? j + m->shape[d] : j;
}

#define REVERSE_ROW(T, Y, X, LEN)                                             \
    do {                                                                      \
        T *yy_ = (T *)(Y);                                                    \
        const T *xx_ = (const T *)(X);                                        \
        for (int64_t j_ = 0; j_ < (LEN); j_++) yy_[j_] = xx_[(LEN) - 1 - j_]; \
    } while (0)

/* y = x read through m: y[i_0, .., i_last] = x[remap(i_0), .., remap(i_last)];
   each row of y (the last axis) is one x row reversed or rotated. */
static void remap_kernel(const ag_tensor *x, ag_tensor *y, const remap *m)
{
    if (y->numel == 0) return;
    const int last = m->ndim - 1;
    const int64_t len = m->shape[last], rows = y->numel / len, s = m->shift[last];
    const size_t es = agi_dtype_size(y->dtype);
    int64_t stride[AG_MAX_DIMS];
    agi_contig_strides(m->ndim, m->shape, stride);
    for (int64_t r = 0; r < rows; r++) {
        int64_t rest = r, src = 0;
        for (int d = last - 1; d >= 0; d--) {
            src += remap_coord(m, d, rest % m->shape[d]) * stride[d];
            rest /= m->shape[d];
        }
        char *yr = (char *)y->data + (size_t)(r * len) * es;
        const char *xr = (const char *)x->data + (size_t)src * es;
        if (m->flip[last] && y->dtype == AG_F64) {
            REVERSE_ROW(double, yr, xr, len);
        } else if (m->flip[last]) {
            REVERSE_ROW(float, yr, xr, len);
        } else {
            memcpy(yr, xr + (size_t)(len - s) * es, (size_t)s * es);
            memcpy(yr + (size_t)s * es, xr, (size_t)(len - s) * es);
        }
    }
}

/* Runs the remap on x and records op with a tape copy of m (n->aux). */
static ag_tensor *remap_op(ag_tape *t, const agi_op *op, ag_tensor *x, const remap *m)
{
    if (!agi_check(t, op->name, "x", x)) return NULL;
    ag_tensor *y = agi_new_like(t, op->name, x);
    if (!y) return NULL;
    remap_kernel(x, y, m);
    agi_node *nd = agi_record(t, op, y, 1, &x);
    remap *kept = nd ? agi_alloc(t, sizeof *kept) : NULL;
    if (kept) {
        *kept = *m;
        nd->aux = kept;
    }
    return agi_done(t, op, y);
}

/* y = flip(x, axes); dx += flip(dy, axes) */
static void flip_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = remap_op(t, n->op, gy, n->aux);
}

/* ty = flip(tx, axes) (and roll(tx, shifts, axes): the same remap) */
static ag_tensor *remap_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return remap_op(t, n->op, tx[0], n->aux);
}

static const agi_op op_flip = {"ag_flip", flip_backward, remap_jvp};

ag_tensor *ag_flip(ag_tape *t, ag_tensor *x, int n, const int *axes)
{
    char sx[96];
    remap m;
    if (!agi_check(t, "ag_flip", "x", x)) return NULL;
    if (n < 0 || (n > 0 && !axes))
        return agi_fail(t, AG_ERR_ARG, "ag_flip: %s (x is %s)", n < 0 ? "n is negative" :
                        "axes is NULL", agi_shape_str(x, sx));
    remap_init(&m, x);
    for (int i = 0; i < n; i++) {
        int a = agi_axis(t, "ag_flip", axes[i], m.ndim);
        if (a < 0) return NULL;
        if (m.flip[a])
            return agi_fail(t, AG_ERR_AXIS, "ag_flip: axis %d appears twice in axes (x is %s)",
                            axes[i], agi_shape_str(x, sx));
        m.flip[a] = 1;
    }
    return remap_op(t, &op_flip, x, &m);
}

/* y = roll(x, shifts, axes); dx += roll(dy, -shifts, axes) */
static void roll_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    remap back = *(const remap *)n->aux;
    (void)need;
    for (int d = 0; d < back.ndim; d++)
        if (back.shift[d]) back.shift[d] = back.shape[d] - back.shift[d];
    gx[0] = remap_op(t, n->op, gy, &back);
}

static const agi_op op_roll = {"ag_roll", roll_backward, remap_jvp};

/* s modulo size, in [0, size) (0 for an empty axis). */
static int64_t wrap(int64_t s, int64_t size)
{
    if (size == 0) return 0;
    s %= size;
    return s < 0 ? s + size : s;
}

ag_tensor *ag_roll(ag_tape *t, ag_tensor *x, int n, const int64_t *shifts, const int *axes)
{
    char sx[96];
    remap m;
    if (!agi_check(t, "ag_roll", "x", x)) return NULL;
    if (n < 1 || !shifts)
        return agi_fail(t, AG_ERR_ARG, "ag_roll: %s (x is %s)", !shifts ? "shifts is NULL" :
                        "n is below 1: at least one shift is needed", agi_shape_str(x, sx));
    remap_init(&m, x);
    if (!axes) {                                  /* the flattened roll */
        if (n != 1)
            return agi_fail(t, AG_ERR_ARG, "ag_roll: %d shifts but axes is NULL (the "
                            "flattened roll takes one shift; x is %s)", n,
                            agi_shape_str(x, sx));
        m.ndim = 1;
        m.shape[0] = x->numel;
        m.shift[0] = wrap(shifts[0], x->numel);
        return remap_op(t, &op_roll, x, &m);
    }
    for (int i = 0; i < n; i++) {
        int a = agi_axis(t, "ag_roll", axes[i], x->ndim);
        if (a < 0) return NULL;
        m.shift[a] = wrap(m.shift[a] + wrap(shifts[i], m.shape[a]), m.shape[a]);
    }
    return remap_op(t, &op_roll, x, &m);
}

/* --------------------------------------------------------- tril, triu --- */

static ag_tensor *tri_op(ag_tape *t, const agi_op *op, ag_tensor *x, int64_t k);

/* y = tril(x, k) (or triu); dx += tril(dy, k) (or triu) */
static void tri_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = tri_op(t, n->op, gy, *(const int64_t *)n->aux);
}

/* ty = tril(tx, k) (or triu) */
static ag_tensor *tri_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return tri_op(t, n->op, tx[0], *(const int64_t *)n->aux);
}

static const agi_op op_tril = {"ag_tril", tri_backward, tri_jvp};
static const agi_op op_triu = {"ag_triu", tri_backward, tri_jvp};

/* x, y are [mats, R, C]: y[b, i, j] = x[b, i, j] where j - i <= k (tril) or
   j - i >= k (upper), else 0. |k| <= R + C + 1, so i + k cannot overflow. */
static void tri_kernel(const ag_tensor *x, ag_tensor *y, int64_t k, int upper)
{
    if (y->numel == 0) return;
    const int64_t R = x->shape[x->ndim - 2], C = x->shape[x->ndim - 1];
    const int64_t rows = y->numel / C;
    const size_t es = agi_dtype_size(y->dtype);
    for (int64_t r = 0; r < rows; r++) {
        int64_t i = r % R, lo = 0, hi = C;
        if (upper) lo = i + k < 0 ? 0 : i + k > C ? C : i + k;
        else hi = i + k + 1 < 0 ? 0 : i + k + 1 > C ? C : i + k + 1;
        char *yr = (char *)y->data + (size_t)(r * C) * es;
        const char *xr = (const char *)x->data + (size_t)(r * C) * es;
        memset(yr, 0, (size_t)lo * es);                     /* lo <= hi always */
        memcpy(yr + (size_t)lo * es, xr + (size_t)lo * es, (size_t)(hi - lo) * es);
        memset(yr + (size_t)hi * es, 0, (size_t)(C - hi) * es);
    }
}

static ag_tensor *tri_op(ag_tape *t, const agi_op *op, ag_tensor *x, int64_t k)
{
    if (!agi_check(t, op->name, "x", x)) return NULL;
    ag_tensor *y = agi_new_like(t, op->name, x);
    if (!y) return NULL;
    tri_kernel(x, y, k, op == &op_triu);
    agi_node *nd = agi_record(t, op, y, 1, &x);
    int64_t *kept = nd ? agi_alloc(t, sizeof *kept) : NULL;
    if (kept) {
        *kept = k;
        nd->aux = kept;
    }
    return agi_done(t, op, y);
}

/* Checks x and clamps k to [-R-1, C+1] (the same triangle). */
static ag_tensor *tri_public(ag_tape *t, const agi_op *op, ag_tensor *x, int64_t k)
{
    char sx[96];
    if (!agi_check(t, op->name, "x", x)) return NULL;
    if (x->ndim < 2)
        return agi_fail(t, AG_ERR_SHAPE, "%s: x is %s; it needs at least 2 dimensions (a "
                        "matrix or a batch of them)", op->name, agi_shape_str(x, sx));
    const int64_t R = x->shape[x->ndim - 2], C = x->shape[x->ndim - 1];
    if (k < -R - 1) k = -R - 1;
    if (k > C + 1) k = C + 1;
    return tri_op(t, op, x, k);
}

ag_tensor *ag_tril(ag_tape *t, ag_tensor *x, int64_t diagonal)
{
    return tri_public(t, &op_tril, x, diagonal);
}

ag_tensor *ag_triu(ag_tape *t, ag_tensor *x, int64_t diagonal)
{
    return tri_public(t, &op_triu, x, diagonal);
}
