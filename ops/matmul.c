/*
** matmul.c: ag_matmul, ag_matmul_nt, ag_matmul_tn and ag_linear, their
** shapes and their backward.
**
** The kernel (matmul_kernel.c) computes C = op(A) . op(B) where op is
** the identity or a transpose read through strides (never materialised
** as a tensor), for f32 and f64, over the thread pool. The backward
** needs a.b^T and a^T.b, and their own backward needs a^T.b^T, so the op
** is one family of four variants (ta, tb) with one backward rule that
** closes over the family (three are public). Batch dims broadcast as
** NumPy's; a plan (mm_plan) gives the kernel the innermost run of batch
** dims one stride per operand reaches and loops over any others. A fifth
** flag sums the product over the batch (the gradient of a 2-D operand of
** a batched product); other broadcast gradients are summed by
** agi_reduce_to. ag_matmul's 1-D operands are zero-copy reshapes. ag_linear is x.w^T with the bias as the
** product's starting value, its rule written with the family, ag_sum and
** ag_reshape. Transposes and permutations of whole tensors are in
** linalg.c.
*/
#include "ag_ops_internal.h"
#include "ag_binary.h"
#include "ag_linalg.h"
#include "ag_reduce.h"
#include "ag_shape.h"
#include "matmul_internal.h"

#include <string.h>

/* ------------------------------------------------------------- shapes --- */

/* Rows and columns of the matrix x holds in its last two axes. */
static int64_t rows_of(const ag_tensor *x) { return x->shape[x->ndim - 2]; }
static int64_t cols_of(const ag_tensor *x) { return x->shape[x->ndim - 1]; }

/*
** A product of the family over its broadcast batch: the kernel's own
** batch (g.batch, one stride per operand) is the innermost run of batch
** dims that one stride reaches in a, b and C alike; the dims outside it
** (nouter, usually none) are looped, each a call of the kernel. Strides
** are in elements; 0 where an operand is broadcast (and C's when the
** product is summed over the batch).
*/
typedef struct mm_plan {
    agi_gemm g;
    int nouter, reduce;
    int64_t oshape[AG_MAX_DIMS];
    int64_t ostride[3][AG_MAX_DIMS];        /* a, b, C */
} mm_plan;

/* Strides of x's batch dims (all but its last two) seen from the
   broadcast batch bshape of nbd dims: 0 where x lacks the dim or has 1. */
static void batch_strides(const ag_tensor *x, int nbd, int64_t *stride)
{
    const int lead = nbd - (x->ndim - 2);
    int64_t s = rows_of(x) * cols_of(x);
    for (int i = nbd - 1; i >= 0; i--) {
        const int64_t own = i >= lead ? x->shape[i - lead] : 1;
        stride[i] = own == 1 ? 0 : s;
        s *= own;
    }
}

/* Splits the batch (nbd dims of bshape, strides str[a, b, C]) into the
   kernel's batch and the outer loop: size-1 dims dropped, a dim merged
   into the one outside it when every stride allows. */
static void plan_batch(mm_plan *p, int nbd, const int64_t *bshape,
                       const int64_t (*str)[AG_MAX_DIMS])
{
    int64_t sh[AG_MAX_DIMS], st[3][AG_MAX_DIMS];
    int n = 0;
    for (int i = 0; i < nbd; i++) {
        if (bshape[i] == 1) continue;
        int merge = n > 0;
        for (int k = 0; k < 3 && merge; k++) merge = st[k][n - 1] == str[k][i] * bshape[i];
        if (!merge) sh[n++] = 1;
        sh[n - 1] *= bshape[i];
        for (int k = 0; k < 3; k++) st[k][n - 1] = str[k][i];
    }
    p->g.batch = n ? sh[n - 1] : 1;
    p->g.a_bs = n ? st[0][n - 1] : 0;
    p->g.b_bs = n ? st[1][n - 1] : 0;
    p->g.c_bs = n ? st[2][n - 1] : 0;
    p->nouter = n ? n - 1 : 0;
    for (int d = 0; d < p->nouter; d++) {
        p->oshape[d] = sh[d];
        for (int k = 0; k < 3; k++) p->ostride[k][d] = st[k][d];
    }
}

/* Broadcasts the batch dims of a and b (all but the last two) into
   bshape (nbd dims); 0 with the error on t if they do not. */
static int mm_batch_shape(ag_tape *t, const char *fn, const ag_tensor *a, const ag_tensor *b,
                          int *nbd, int64_t *bshape)
{
    const int na = a->ndim - 2, nb = b->ndim - 2, n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {           /* i counts from the right */
        const int64_t da = i < na ? a->shape[na - 1 - i] : 1;
        const int64_t db = i < nb ? b->shape[nb - 1 - i] : 1;
        if (da != db && da != 1 && db != 1) {
            char s1[96], s2[96];
            return agi_fail(t, AG_ERR_SHAPE, "%s: batch dimensions do not broadcast: a is %s, "
                            "b is %s", fn, agi_shape_str(a, s1), agi_shape_str(b, s2)), 0;
        }
        bshape[n - 1 - i] = da == 1 ? db : da;
    }
    *nbd = n;
    return 1;
}

/*
** Checks the operands of op(a) @ op(b) and plans the product in p (all
** but the data pointers): its output shape in (ndim, shape), the
** broadcast batch then [m,n], or [m,n] alone when flags[2] sums the
** product over the batch (a 2-D operand's gradient). Returns 0 with the
** error on t if the shapes do not fit.
*/
static int mm_check(ag_tape *t, const char *fn, const ag_tensor *a, const ag_tensor *b,
                    const int *flags, mm_plan *p, int *ndim, int64_t *shape)
{
    const int ta = flags[0], tb = flags[1], reduce = flags[2];
    char s1[96], s2[96];
    int nbd;
    int64_t bshape[AG_MAX_DIMS], str[3][AG_MAX_DIMS];
    if (a->ndim < 2 || b->ndim < 2)
        return agi_fail(t, AG_ERR_SHAPE, "%s: operands must be at least 2-D: a is %s, b is %s",
                        fn, agi_shape_str(a, s1), agi_shape_str(b, s2)), 0;
    const int64_t m = ta ? cols_of(a) : rows_of(a), k = ta ? rows_of(a) : cols_of(a);
    const int64_t kb = tb ? cols_of(b) : rows_of(b), n = tb ? rows_of(b) : cols_of(b);
    if (k != kb)
        return agi_fail(t, AG_ERR_SHAPE, "%s: inner dimensions differ: a is %s, b is %s", fn,
                        agi_shape_str(a, s1), agi_shape_str(b, s2)), 0;
    if (!mm_batch_shape(t, fn, a, b, &nbd, bshape)) return 0;
    *ndim = reduce ? 2 : nbd + 2;
    memcpy(shape, bshape, sizeof(int64_t) * (size_t)(*ndim - 2));
    shape[*ndim - 2] = m;
    shape[*ndim - 1] = n;
    if (agi_numel(*ndim, shape) < 0) return agi_bad_shape(t, fn, *ndim, shape), 0;
    if (agi_numel(nbd, bshape) < 0) return agi_bad_shape(t, fn, nbd, bshape), 0;
    p->g = (agi_gemm){.dtype = a->dtype, .m = m, .n = n, .k = k,
                      .a_rs = ta ? 1 : cols_of(a), .a_cs = ta ? cols_of(a) : 1,
                      .b_rs = tb ? 1 : cols_of(b), .b_cs = tb ? cols_of(b) : 1, .ldc = n};
    p->reduce = reduce;
    batch_strides(a, nbd, str[0]);
    batch_strides(b, nbd, str[1]);
    int64_t cs = reduce ? 0 : m * n;                /* C is contiguous (or summed) */
    for (int i = nbd - 1; i >= 0; i--) {
        str[2][i] = cs;
        cs *= bshape[i];
    }
    plan_batch(p, nbd, bshape, (const int64_t (*)[AG_MAX_DIMS])str);
    return 1;
}

/* Folds the kernel's batch into one product where the memory allows: a
   stack of plain A over a shared B is one taller A; a batch-summed A^T.B
   is one deeper product (A and B [batch*k, ...] read as 2-D). */
static void mm_fold(agi_gemm *g, int ta, int tb)
{
    if (g->batch <= 1) return;
    if (!ta && g->b_bs == 0 && g->a_bs == g->m * g->k && g->c_bs == g->m * g->n) {
        g->m *= g->batch;                           /* batch * m */
        g->batch = 1;
    } else if (ta && !tb && g->c_bs == 0 && g->a_bs == g->k * g->m && g->b_bs == g->k * g->n) {
        g->k *= g->batch;                           /* batch * k */
        g->batch = 1;
    }
}

/* y = the planned product of a and b: a kernel call per outer batch
   index, in order (a summed product adds to C after the first); zeros
   for an empty batch. */
static void mm_run(mm_plan *p, const ag_tensor *a, const ag_tensor *b, ag_tensor *y, int adds)
{
    const size_t es = agi_dtype_size(y->dtype);
    const int64_t outer = agi_dims_prod(p->oshape, 0, p->nouter);
    if (p->g.batch == 0 || outer == 0 || y->numel == 0) {
        if (!adds) agi_fill(y, 0);
        return;
    }
    int64_t idx[AG_MAX_DIMS] = {0}, off[3] = {0, 0, 0};
    for (int64_t o = 0; o < outer; o++) {
        p->g.a = (const char *)a->data + (size_t)off[0] * es;
        p->g.b = (const char *)b->data + (size_t)off[1] * es;
        p->g.c = (char *)y->data + (size_t)off[2] * es;
        p->g.accumulate = adds || (p->reduce && o > 0);
        agi_gemm_run(&p->g);
        for (int d = p->nouter - 1; d >= 0; d--) {      /* the odometer */
            for (int k = 0; k < 3; k++) off[k] += p->ostride[k][d];
            if (++idx[d] < p->oshape[d]) break;
            for (int k = 0; k < 3; k++) off[k] -= p->ostride[k][d] * p->oshape[d];
            idx[d] = 0;
        }
    }
}

/* A plan's replay of a product: the planned kernel calls again (aux: the
   mm_plan, kept on the plan's tape). */
static void mm_step(const agi_step *st) { mm_run(st->aux, st->a, st->b, st->y, 0); }

/* ---------------------------------------------------------------- op --- */

static ag_tensor *mm(ag_tape *t, ag_tensor *a, ag_tensor *b, int ta, int tb,
                     int reduce, ag_tensor *into, int adds);

/* The gradient of x, an operand of a product: op(p) @ op(q) brought back
   to x's shape. For a 2-D x of a batched product the kernel sums over the
   batch (the other factors then span all of it); an x broadcast over some
   batch dims has the full product summed to its shape. Written into
   `into` (agi_grad_adds_into; added into it when adds is set) when it is
   not NULL and fits. */
static ag_tensor *mm_grad(ag_tape *t, ag_tensor *p, ag_tensor *q, int tp, int tq,
                          const ag_tensor *x, ag_tensor *into, int adds)
{
    if (!p || !q) return NULL;
    const int reduce = x->ndim == 2 && (p->ndim > 2 || q->ndim > 2);
    return agi_reduce_to(t, mm(t, p, q, tp, tq, reduce, into, adds), x);
}

/* y = op_a(a) @ op_b(b);  d op_a(a) += dy @ op_b(b)^T;  d op_b(b) += op_a(a)^T @ dy
   (transposed back when ta or tb is set, and summed over the batch dims
   an operand was broadcast over), each again a product of the family. */
static void mm_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                        const uint8_t *need)
{
    const int ta = n->iparam[0], tb = n->iparam[1];
    ag_tensor *a = n->in[0], *b = n->in[1];
    int sa, sb;
    ag_tensor *ia = agi_grad_adds_into(t, 0, &sa), *ib = agi_grad_adds_into(t, 1, &sb);
    if (need[0])
        gx[0] = ta ? mm_grad(t, b, gy, tb, 1, a, ia, sa) : mm_grad(t, gy, b, 0, !tb, a, ia, sa);
    if (need[1])
        gx[1] = tb ? mm_grad(t, gy, a, 1, ta, b, ib, sb) : mm_grad(t, a, gy, !ta, 0, b, ib, sb);
}

/* ty = op_a(ta) @ op_b(b) + op_a(a) @ op_b(tb), with the same flags */
static ag_tensor *mm_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const int ta = n->iparam[0], tb = n->iparam[1], reduce = n->iparam[2];
    ag_tensor *da = mm(t, tx[0], n->in[1], ta, tb, reduce, NULL, 0);
    ag_tensor *db = da ? mm(t, n->in[0], tx[1], ta, tb, reduce, NULL, 0) : NULL;
    return db ? ag_add(t, da, db) : NULL;
}

/* The family, by [ta][tb]. a@b, a@b^T and a^T@b are public and their
   rules reach only each other; a^T@b^T is private, there only to keep
   the rule total. */
static const agi_op op_matmul[2][2] = {
    {{"ag_matmul", mm_backward, mm_jvp}, {"ag_matmul_nt", mm_backward, mm_jvp}},
    {{"ag_matmul_tn", mm_backward, mm_jvp},
     {"ag_matmul (a^T @ b^T)", mm_backward, mm_jvp}},
};

/* Does into (or NULL) have the dtype and shape of a result? */
static int mm_fits(const ag_tensor *into, int dtype, int ndim, const int64_t *shape)
{
    if (!into || into->dtype != dtype || into->ndim != ndim) return 0;
    for (int d = 0; d < ndim; d++)
        if (into->shape[d] != shape[d]) return 0;
    return 1;
}

static ag_tensor *mm(ag_tape *t, ag_tensor *a, ag_tensor *b, int ta, int tb,
                     int reduce, ag_tensor *into, int adds)
{
    const agi_op *op = &op_matmul[ta][tb];
    const int flags[3] = {ta, tb, reduce};
    mm_plan pl;
    int ndim;
    int64_t shape[AG_MAX_DIMS];
    if (!agi_check2(t, op->name, a, b)) return NULL;
    if (!mm_check(t, op->name, a, b, flags, &pl, &ndim, shape)) return NULL;
    const int in_place = mm_fits(into, a->dtype, ndim, shape);
    ag_tensor *y = in_place ? into : agi_new(t, op->name, (ag_dtype)a->dtype, ndim, shape);
    if (!y) return NULL;
    mm_fold(&pl.g, ta, tb);
    mm_run(&pl, a, b, y, in_place && adds);
    if (t->plan) {
        agi_step *st = agi_plan_log(t, 1, mm_step, NULL, y, a, b, 0, 0);
        if (st) st->aux = agi_plan_keep(t, &pl, sizeof pl);
    }
    if (in_place) {                 /* a leaf's grad, grad mode off: no node */
        t->n_ops++;
        return y;
    }
    ag_tensor *in[2] = {a, b};
    agi_node *n = agi_record(t, op, y, 2, in);
    if (n) {
        n->iparam[0] = ta;
        n->iparam[1] = tb;
        n->iparam[2] = reduce;
    }
    return agi_done(t, op, y);
}

/* a @ b with a vector operand, as NumPy: a 1-D a is the row [1,k], a 1-D
   b the column [k,1] (zero-copy reshapes), and the dim each added is
   dropped from the result. */
static ag_tensor *mm_vectors(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    const char *fn = op_matmul[0][0].name;
    char s1[96], s2[96];
    if (a->ndim == 0 || b->ndim == 0)
        return agi_fail(t, AG_ERR_SHAPE, "%s: operands must be at least 1-D: a is %s, b is %s",
                        fn, agi_shape_str(a, s1), agi_shape_str(b, s2));
    const int64_t k = a->shape[a->ndim - 1];
    if (k != b->shape[b->ndim == 1 ? 0 : b->ndim - 2])
        return agi_fail(t, AG_ERR_SHAPE, "%s: inner dimensions differ: a is %s, b is %s", fn,
                        agi_shape_str(a, s1), agi_shape_str(b, s2));
    ag_tensor *a2 = a->ndim == 1 ? ag_reshape(t, a, 2, (const int64_t[]){1, k}) : a;
    ag_tensor *b2 = b->ndim == 1 ? ag_reshape(t, b, 2, (const int64_t[]){k, 1}) : b;
    ag_tensor *y = mm(t, a2, b2, 0, 0, 0, NULL, 0);
    if (!y) return NULL;
    int64_t shape[AG_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < y->ndim; d++)
        if (!(a->ndim == 1 && d == y->ndim - 2) && !(b->ndim == 1 && d == y->ndim - 1))
            shape[nd++] = y->shape[d];
    return ag_reshape(t, y, nd, shape);
}

ag_tensor *ag_matmul(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    if (!agi_check2(t, op_matmul[0][0].name, a, b)) return NULL;
    if (a->ndim < 2 || b->ndim < 2) return mm_vectors(t, a, b);
    return mm(t, a, b, 0, 0, 0, NULL, 0);
}

ag_tensor *ag_matmul_nt(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return mm(t, a, b, 0, 1, 0, NULL, 0);
}

ag_tensor *ag_matmul_tn(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return mm(t, a, b, 1, 0, 0, NULL, 0);
}

/* ------------------------------------------------------------- linear --- */

/* Rows of x read as a matrix [rows, in]: the product of its leading dims. */
static int64_t lin_rows(const ag_tensor *x) { return agi_dims_prod(x->shape, 0, x->ndim - 1); }

/* x (or dy) as the matrix [rows, last dim]: itself when already 2-D. */
static ag_tensor *lin_matrix(ag_tape *t, ag_tensor *x)
{
    if (!x || x->ndim == 2) return x;
    return ag_reshape(t, x, 2, (int64_t[]){lin_rows(x), x->ndim ? x->shape[x->ndim - 1] : 1});
}

/* y = x @ w^T + b;  dx += dy @ w;  dw += dy^T @ x;  db += dy summed over rows
   (x and dy read as matrices [rows, in] and [rows, out]) */
static void linear_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                            const uint8_t *need)
{
    ag_tensor *x = n->in[0], *w = n->in[1], *g2 = lin_matrix(t, gy);
    int sx, sw;
    ag_tensor *ix = agi_grad_adds_into(t, 0, &sx), *iw = agi_grad_adds_into(t, 1, &sw);
    if (need[0]) {
        ag_tensor *dx = mm(t, g2, w, 0, 0, 0, x->ndim == 2 ? ix : NULL, sx);
        gx[0] = x->ndim == 2 ? dx : ag_reshape(t, dx, x->ndim, x->shape);
    }
    if (need[1]) gx[1] = mm_grad(t, g2, lin_matrix(t, x), 1, 0, w, iw, sw);
    if (n->n_in > 2 && need[2]) gx[2] = ag_sum(t, g2, 0, 0);
}
/* ty = tx @ w^T + x @ tw^T + tb */
static ag_tensor *linear_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    ag_tensor *dw = ag_linear(t, n->in[0], tx[1], n->n_in > 2 ? tx[2] : NULL);
    return ag_add(t, ag_linear(t, tx[0], n->in[1], NULL), dw);
}
static const agi_op op_linear = {"ag_linear", linear_backward, linear_jvp};

/* 1 if x, w and b (b may be NULL) fit; else 0 with the error on t. */
static int linear_check(ag_tape *t, const ag_tensor *x, const ag_tensor *w, const ag_tensor *b)
{
    const char *fn = op_linear.name;
    char s1[96], s2[96];
    if (!agi_check(t, fn, "x", x) || !agi_check(t, fn, "w", w) || (b && !agi_check(t, fn, "b", b)))
        return 0;
    const ag_tensor *odd = w->dtype != x->dtype ? w : b && b->dtype != x->dtype ? b : NULL;
    if (odd)
        return agi_fail(t, AG_ERR_DTYPE, "%s: dtypes differ: x is %s, %s is %s (use ag_cast)", fn,
                        agi_dtype_name(x->dtype), odd == w ? "w" : "b",
                        agi_dtype_name(odd->dtype)), 0;
    if (x->ndim == 0 || w->ndim != 2)
        return agi_fail(t, AG_ERR_SHAPE, "%s: x must be [..., in] and w [out, in]: x is %s, w is %s",
                        fn, agi_shape_str(x, s1), agi_shape_str(w, s2)), 0;
    if (x->shape[x->ndim - 1] != w->shape[1])
        return agi_fail(t, AG_ERR_SHAPE, "%s: x's last dim differs from w's: x is %s, w is %s",
                        fn, agi_shape_str(x, s1), agi_shape_str(w, s2)), 0;
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        return agi_fail(t, AG_ERR_SHAPE, "%s: b must be [out] = [%lld]: b is %s, w is %s", fn,
                        (long long)w->shape[0], agi_shape_str(b, s1), agi_shape_str(w, s2)), 0;
    return 1;
}

/* y [rows, out] = b (each row, or 0) + x [rows, in] @ w [out, in]^T. */
static void linear_run(const ag_tensor *x, const ag_tensor *w, const ag_tensor *b, ag_tensor *y)
{
    const int64_t rows = lin_rows(x), out = w->shape[0], in = w->shape[1];
    const size_t es = agi_dtype_size(y->dtype);
    if (rows == 0 || out == 0) return;
    for (int64_t i = 0; b && i < rows; i++)
        memcpy((char *)y->data + (size_t)(i * out) * es, b->data, (size_t)out * es);
    agi_gemm g = {.dtype = y->dtype, .accumulate = b != NULL, .m = rows, .n = out, .k = in,
                  .a = x->data, .a_rs = in, .a_cs = 1, .b = w->data, .b_rs = 1, .b_cs = in,
                  .c = y->data, .ldc = out, .batch = 1};
    agi_gemm_run(&g);
}

/* A plan's replay of ag_linear (c: the bias or NULL). */
static void linear_step(const agi_step *st) { linear_run(st->a, st->b, st->c, st->y); }

ag_tensor *ag_linear(ag_tape *t, ag_tensor *x, ag_tensor *w, ag_tensor *b)
{
    int64_t shape[AG_MAX_DIMS];
    if (!linear_check(t, x, w, b)) return NULL;
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = w->shape[0];
    ag_tensor *y = agi_new(t, op_linear.name, (ag_dtype)x->dtype, x->ndim, shape);
    if (!y) return NULL;
    linear_run(x, w, b, y);
    if (t->plan) {
        agi_step *st = agi_plan_log(t, 1, linear_step, NULL, y, x, w, 0, 0);
        if (st) st->c = b;
        agi_plan_operand(t, b);
    }
    ag_tensor *in[3] = {x, w, b};
    agi_record(t, &op_linear, y, b ? 3 : 2, in);
    return agi_done(t, &op_linear, y);
}
