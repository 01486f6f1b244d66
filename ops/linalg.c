/*
** linalg.c: ag_transpose and ag_permute, which move axes. Both copy (the
** engine has no views) with one strided kernel: the output is walked in
** order and each element read from where the permutation puts it in x.
** Matrix products are in matmul.c.
*/
#include "ag_ops_internal.h"
#include "ag_linalg.h"

#include <stdio.h>
#include <string.h>

/* y [x.shape[perm[0]], ...] = x with axis d of y read along axis perm[d]. */
#define PERMUTE_LOOP(T, X, Y, IT)                                             \
    do {                                                                      \
        const T *px = (const T *)(X)->data;                                   \
        T *py = (T *)(Y)->data;                                               \
        const int64_t sx = (IT)->istride[1];                                  \
        for (int64_t o = 0; o < (IT)->outer; o++) {                           \
            T *restrict yy = py + (IT)->off[0];                               \
            const T *restrict xx = px + (IT)->off[1];                         \
            for (int64_t j = 0; j < (IT)->inner; j++) yy[j] = xx[j * sx];     \
            agi_iter_next((IT), 2);                                           \
        }                                                                     \
    } while (0)

static void permute_kernel(const ag_tensor *x, ag_tensor *y, const int *perm)
{
    int64_t xs[AG_MAX_DIMS], st[4][AG_MAX_DIMS];
    agi_iter it;
    agi_contig_strides(x->ndim, x->shape, xs);
    agi_contig_strides(y->ndim, y->shape, st[0]);
    for (int d = 0; d < y->ndim; d++) st[1][d] = xs[perm[d]];
    agi_iter_init(&it, y->ndim, y->shape, 2, (const int64_t(*)[AG_MAX_DIMS])st);
    if (y->dtype == AG_F64)
        PERMUTE_LOOP(double, x, y, &it);
    else
        PERMUTE_LOOP(float, x, y, &it);
}

/* Runs the copy for a checked, normalised perm; the node (or NULL). */
static ag_tensor *permute_run(ag_tape *t, const agi_op *op, ag_tensor *x,
                              const int *perm, agi_node **node)
{
    int64_t shape[AG_MAX_DIMS];
    *node = NULL;
    for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[perm[d]];
    ag_tensor *y = agi_new(t, op->name, (ag_dtype)x->dtype, x->ndim, shape);
    if (!y) return NULL;
    permute_kernel(x, y, perm);
    *node = agi_record(t, op, y, 1, &x);
    return y;
}

/* ---------------------------------------------------------- transpose --- */

/* y = x with axes i and j swapped; dx += transpose(dy, i, j) */
static void transpose_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                               ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_transpose(t, gy, n->iparam[0], n->iparam[1]);
}
/* ty = transpose(tx, i, j) */
static ag_tensor *transpose_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_transpose(t, tx[0], n->iparam[0], n->iparam[1]);
}
static const agi_op op_transpose = {"ag_transpose", transpose_backward, transpose_jvp};

ag_tensor *ag_transpose(ag_tape *t, ag_tensor *x, int axis0, int axis1)
{
    if (!agi_check(t, op_transpose.name, "x", x)) return NULL;
    int i = agi_axis(t, op_transpose.name, axis0, x->ndim);
    int j = i < 0 ? -1 : agi_axis(t, op_transpose.name, axis1, x->ndim);
    if (j < 0) return NULL;
    int perm[AG_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) perm[d] = d;
    perm[i] = j;
    perm[j] = i;
    agi_node *n;
    ag_tensor *y = permute_run(t, &op_transpose, x, perm, &n);
    if (n) {
        n->iparam[0] = i;
        n->iparam[1] = j;
    }
    return y ? agi_done(t, &op_transpose, y) : NULL;
}

/* ------------------------------------------------------------ permute --- */

/* y = permute(x, perm); dx += permute(dy, inverse of perm) */
static void permute_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                             ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    const int *perm = n->aux;
    int inv[AG_MAX_DIMS];
    for (int d = 0; d < n->out->ndim; d++) inv[perm[d]] = d;
    gx[0] = ag_permute(t, gy, inv);
}
/* ty = permute(tx, perm) */
static ag_tensor *permute_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_permute(t, tx[0], n->aux);
}
static const agi_op op_permute = {"ag_permute", permute_backward, permute_jvp};

/* "{0,0,1}" into buf (at least 96 bytes). */
static char *perm_str(const int *perm, int ndim, char *buf)
{
    int len = 0;
    buf[len++] = '{';
    for (int d = 0; d < ndim; d++)
        len += snprintf(buf + len, 96 - (size_t)len, d ? ",%d" : "%d", perm[d]);
    snprintf(buf + len, 96 - (size_t)len, "}");
    return buf;
}

/* Normalises perm (negative axes count from the end) into out; 0 (and the
   error on t) unless it is a permutation of x's axes. */
static int perm_check(ag_tape *t, const ag_tensor *x, const int *perm, int *out)
{
    char s1[96], s2[96];
    int seen[AG_MAX_DIMS] = {0};
    if (x->ndim && !perm)
        return agi_fail(t, AG_ERR_ARG, "ag_permute: perm is NULL"), 0;
    for (int d = 0; d < x->ndim; d++) {
        int a = perm[d] < 0 ? perm[d] + x->ndim : perm[d];
        if (a < 0 || a >= x->ndim)
            return agi_fail(t, AG_ERR_AXIS, "ag_permute: axis %d out of range in perm %s "
                            "for x %s", perm[d], perm_str(perm, x->ndim, s1),
                            agi_shape_str(x, s2)), 0;
        if (seen[a]++)
            return agi_fail(t, AG_ERR_ARG, "ag_permute: perm %s repeats axis %d, so it is "
                            "not a permutation of the axes of x %s",
                            perm_str(perm, x->ndim, s1), a, agi_shape_str(x, s2)), 0;
        out[d] = a;
    }
    return 1;
}

ag_tensor *ag_permute(ag_tape *t, ag_tensor *x, const int *perm)
{
    int p[AG_MAX_DIMS];
    if (!agi_check(t, op_permute.name, "x", x)) return NULL;
    if (!perm_check(t, x, perm, p)) return NULL;
    agi_node *n;
    ag_tensor *y = permute_run(t, &op_permute, x, p, &n);
    if (n) {
        int *saved = agi_alloc(t, sizeof p);
        if (saved) memcpy(saved, p, sizeof p);
        n->aux = saved;
    }
    return y ? agi_done(t, &op_permute, y) : NULL;
}
