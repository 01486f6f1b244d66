/*
** matmul.c: ag_matmul, ag_matmul_nt, ag_matmul_tn and ag_linear, their
** shapes and their backward.
**
** The kernel (matmul_kernel.c) computes C = op(A) . op(B) where op is
** the identity or a transpose read through strides (never materialised
** as a tensor), for f32 and f64, over the thread pool. The backward
** needs a.b^T and a^T.b, and their own backward needs a^T.b^T, so the op
** is one family of four variants (ta, tb) with one backward rule that
** closes over the family (three are public); a fifth flag sums the
** product over a shared batch axis (the gradient of an operand that was
** broadcast over the batch). ag_linear is x.w^T with the bias as the
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
static int64_t batch_of(const ag_tensor *x) { return x->ndim == 3 ? x->shape[0] : 1; }

/*
** Checks the operands of op(a) @ op(b) and plans the product in pl (all
** but the data pointers and c_bs, which mm_fold sets once the result
** exists: its shape may yet be refused): its output shape in (ndim,
** shape) and the strides. reduce sums over the batch (both operands 3-D,
** a 2-D result). Returns 0 with the error on t if the shapes do not fit.
*/
static int mm_check(ag_tape *t, const char *fn, const ag_tensor *a, const ag_tensor *b,
                    const int *flags, agi_gemm *pl, int *ndim, int64_t *shape)
{
    const int ta = flags[0], tb = flags[1], reduce = flags[2];
    char s1[96], s2[96];
    if (a->ndim < 2 || a->ndim > 3 || b->ndim < 2 || b->ndim > 3)
        return agi_fail(t, AG_ERR_SHAPE, "%s: operands must be 2-D or 3-D: a is %s, b is %s",
                        fn, agi_shape_str(a, s1), agi_shape_str(b, s2)), 0;
    int64_t m = ta ? cols_of(a) : rows_of(a), k = ta ? rows_of(a) : cols_of(a);
    int64_t kb = tb ? cols_of(b) : rows_of(b), n = tb ? rows_of(b) : cols_of(b);
    if (k != kb)
        return agi_fail(t, AG_ERR_SHAPE, "%s: inner dimensions differ: a is %s, b is %s", fn,
                        agi_shape_str(a, s1), agi_shape_str(b, s2)), 0;
    if (a->ndim == 3 && b->ndim == 3 && a->shape[0] != b->shape[0])
        return agi_fail(t, AG_ERR_SHAPE, "%s: batch dimensions differ: a is %s, b is %s", fn,
                        agi_shape_str(a, s1), agi_shape_str(b, s2)), 0;
    int64_t nb = a->ndim == 3 ? a->shape[0] : batch_of(b);
    *ndim = (a->ndim == 3 || b->ndim == 3) && !reduce ? 3 : 2;
    shape[0] = nb;
    shape[*ndim - 2] = m;
    shape[*ndim - 1] = n;
    *pl = (agi_gemm){.dtype = a->dtype, .m = m, .n = n, .k = k,
                     .a_rs = ta ? 1 : cols_of(a), .a_cs = ta ? cols_of(a) : 1,
                     .b_rs = tb ? 1 : cols_of(b), .b_cs = tb ? cols_of(b) : 1,
                     .ldc = n, .batch = nb,
                     .a_bs = a->ndim == 3 ? agi_dims_prod(a->shape, 1, 3) : 0,
                     .b_bs = b->ndim == 3 ? agi_dims_prod(b->shape, 1, 3) : 0};
    return 1;
}

/* Sets the stride of C between products (y is C: [batch, m, n], or
   [m, n] summed over the batch when flags[2]), then folds the batch into one product
   where the memory allows: a stack of plain A over a shared B is one
   taller A; a batch-summed A^T.B is one deeper product (A and B
   [batch*k, ...] read as 2-D). a is 3-D when the batch is > 1. */
static void mm_fold(agi_gemm *pl, const int *flags, const ag_tensor *a, const ag_tensor *y)
{
    pl->c_bs = flags[2] ? 0 : agi_dims_prod(y->shape, y->ndim - 2, y->ndim);
    if (pl->batch <= 1) return;
    if (!flags[0] && pl->b_bs == 0 && pl->c_bs) {
        pl->m = agi_dims_prod(a->shape, 0, 2);          /* batch * m */
        pl->batch = 1;
    } else if (flags[0] && !flags[1] && pl->c_bs == 0) {
        pl->k = agi_dims_prod(a->shape, 0, 2);          /* batch * k */
        pl->batch = 1;
    }
}

/* y = the planned product of a and b (zeros for an empty batch summed). */
static void mm_run(agi_gemm *pl, const ag_tensor *a, const ag_tensor *b, ag_tensor *y)
{
    if (pl->batch == 0) {
        agi_fill(y, 0);
        return;
    }
    pl->a = a->data;
    pl->b = b->data;
    pl->c = y->data;
    agi_gemm_run(pl);
}

/* ---------------------------------------------------------------- op --- */

static ag_tensor *mm(ag_tape *t, ag_tensor *a, ag_tensor *b, int ta, int tb,
                     int reduce, ag_tensor *into);

/* op(a) @ op(b) into a result of out_ndim dims: batch-summed when both
   operands are 3-D and the result is a 2-D operand's gradient; written
   into `into` (agi_grad_into) when it is not NULL and fits. */
static ag_tensor *mm_to(ag_tape *t, ag_tensor *a, ag_tensor *b, int ta, int tb,
                        int out_ndim, ag_tensor *into)
{
    if (!a || !b) return NULL;
    return mm(t, a, b, ta, tb, a->ndim == 3 && b->ndim == 3 && out_ndim == 2, into);
}

/* y = op_a(a) @ op_b(b);  d op_a(a) += dy @ op_b(b)^T;  d op_b(b) += op_a(a)^T @ dy
   (transposed back when ta or tb is set, and summed over the batch for a
   2-D operand), each again a product of the family. */
static void mm_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                        const uint8_t *need)
{
    const int ta = n->iparam[0], tb = n->iparam[1];
    ag_tensor *a = n->in[0], *b = n->in[1];
    ag_tensor *ia = agi_grad_into(t, 0), *ib = agi_grad_into(t, 1);
    if (need[0])
        gx[0] = ta ? mm_to(t, b, gy, tb, 1, a->ndim, ia) : mm_to(t, gy, b, 0, !tb, a->ndim, ia);
    if (need[1])
        gx[1] = tb ? mm_to(t, gy, a, 1, ta, b->ndim, ib) : mm_to(t, a, gy, !ta, 0, b->ndim, ib);
}

/* ty = op_a(ta) @ op_b(b) + op_a(a) @ op_b(tb), with the same flags */
static ag_tensor *mm_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const int ta = n->iparam[0], tb = n->iparam[1], reduce = n->iparam[2];
    ag_tensor *da = mm(t, tx[0], n->in[1], ta, tb, reduce, NULL);
    ag_tensor *db = da ? mm(t, n->in[0], tx[1], ta, tb, reduce, NULL) : NULL;
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
                     int reduce, ag_tensor *into)
{
    const agi_op *op = &op_matmul[ta][tb];
    const int flags[3] = {ta, tb, reduce};
    agi_gemm pl;
    int ndim;
    int64_t shape[3];
    if (!agi_check2(t, op->name, a, b)) return NULL;
    if (!mm_check(t, op->name, a, b, flags, &pl, &ndim, shape)) return NULL;
    const int in_place = mm_fits(into, a->dtype, ndim, shape);
    ag_tensor *y = in_place ? into : agi_new(t, op->name, (ag_dtype)a->dtype, ndim, shape);
    if (!y) return NULL;
    mm_fold(&pl, flags, a, y);
    mm_run(&pl, a, b, y);
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

ag_tensor *ag_matmul(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return mm(t, a, b, 0, 0, 0, NULL);
}

ag_tensor *ag_matmul_nt(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return mm(t, a, b, 0, 1, 0, NULL);
}

ag_tensor *ag_matmul_tn(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return mm(t, a, b, 1, 0, 0, NULL);
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
    if (need[0]) {
        ag_tensor *dx = mm_to(t, g2, w, 0, 0, 2, x->ndim == 2 ? agi_grad_into(t, 0) : NULL);
        gx[0] = x->ndim == 2 ? dx : ag_reshape(t, dx, x->ndim, x->shape);
    }
    if (need[1]) gx[1] = mm_to(t, g2, lin_matrix(t, x), 1, 0, 2, agi_grad_into(t, 1));
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

ag_tensor *ag_linear(ag_tape *t, ag_tensor *x, ag_tensor *w, ag_tensor *b)
{
    int64_t shape[AG_MAX_DIMS];
    if (!linear_check(t, x, w, b)) return NULL;
    memcpy(shape, x->shape, sizeof shape);
    shape[x->ndim - 1] = w->shape[0];
    ag_tensor *y = agi_new(t, op_linear.name, (ag_dtype)x->dtype, x->ndim, shape);
    if (!y) return NULL;
    linear_run(x, w, b, y);
    ag_tensor *in[3] = {x, w, b};
    agi_record(t, &op_linear, y, b ? 3 : 2, in);
    return agi_done(t, &op_linear, y);
}
