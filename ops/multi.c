/*
** multi.c: the recording of built-in ops of several outputs
** (multi_internal.h): an anchor node and one node per output.
*/
#include "ag_ops_internal.h"
#include "multi_internal.h"
#include "ag_shape.h"

#include <string.h>

/* y_k = output k of the op; dh = 0 (dy_k kept for the anchor's rule) */
void agi_multi_out_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                            const uint8_t *need)
{
    agi_multi *m = (agi_multi *)n->aux;
    m->gys[n->iparam[0]] = gy;
    if (need[0]) gx[0] = ag_zeros(t, (ag_dtype)n->in[0]->dtype, 0, NULL);
}

/* ty_k = the tangent the anchor's rule gave output k */
ag_tensor *agi_multi_out_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    (void)t, (void)tx;
    const agi_multi *m = n->aux;
    return m->tans[n->iparam[0]];
}

void agi_multi_take(const agi_node *n, ag_tensor **gys)
{
    agi_multi *m = (agi_multi *)n->aux;
    for (int k = 0; k < m->n_out; k++) {
        gys[k] = m->gys[k];
        m->gys[k] = NULL;                   /* each walk gathers afresh */
    }
}

agi_node *agi_record_multi(ag_tape *t, const agi_op *op, const agi_op *out_op, int n_in,
                           ag_tensor *const *in, int n_out, ag_tensor **outs)
{
    ag_tensor *h = agi_new(t, op->name, (ag_dtype)outs[0]->dtype, 0, NULL);
    if (!h) return NULL;
    agi_fill(h, 0);
    agi_node *a = agi_record(t, op, h, n_in, in);
    if (!a) return NULL;                    /* nothing to differentiate (or an error) */
    agi_multi *m = agi_alloc(t, sizeof *m + 3 * (size_t)n_out * sizeof(ag_tensor *));
    if (!m) return NULL;
    ag_tensor **arr = (ag_tensor **)(m + 1);
    memset(arr, 0, 3 * (size_t)n_out * sizeof *arr);
    *m = (agi_multi){n_out, arr, arr + n_out, arr + 2 * n_out};
    a->aux = m;
    for (int k = 0; k < n_out; k++) {
        m->outs[k] = outs[k];
        agi_node *o = agi_record(t, out_op, outs[k], 1, &h);
        if (!o) return NULL;
        o->aux = m;
        o->iparam[0] = k;
    }
    return t->status == AG_OK ? a : NULL;
}
