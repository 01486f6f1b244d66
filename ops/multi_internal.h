/*
** multi_internal.h: built-in ops of several outputs (ag_unbind,
** ag_lstm_cell), recorded as ag_custom_multi records a custom one: an
** anchor node A whose op is the real op (inputs the op's, output a 0-d
** zero h), then one node O_k per output (input h), consecutive on the
** tape. A backward walk reaches every O_k right before A: each O_k's rule
** keeps its output's gradient in the agi_multi, and A's rule reads them
** all at once (agi_multi_take). In forward mode A's JVP rule stores every
** output's tangent in tans[] (returning a 0-d zero) and each O_k's hands
** its own on. The anchor's op reads its agi_multi from n->aux.
*/
#ifndef AG_MULTI_INTERNAL_H
#define AG_MULTI_INTERNAL_H

#include "ag_internal.h"

typedef struct agi_multi {
    int n_out;
    ag_tensor **outs;           /* the recorded outputs */
    ag_tensor **gys;            /* their gradients in this walk, NULL where none */
    ag_tensor **tans;           /* their tangents, from the anchor's JVP rule */
} agi_multi;

/* The rules of the output nodes, for an op's out-node definition:
   {"ag_NAME", agi_multi_out_backward, agi_multi_out_jvp}. */
void agi_multi_out_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                            const uint8_t *need);
ag_tensor *agi_multi_out_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx);

/*
** After the op's kernel made outs[0..n_out) (tape tensors, one dtype):
** records the anchor (op, inputs in[0..n_in)) and the output nodes
** (out_op) when an input requires grad under grad mode, setting each
** output's requires_grad. Returns the anchor's node (its agi_multi in
** n->aux), or NULL when nothing was recorded or on error (t->status).
*/
agi_node *agi_record_multi(ag_tape *t, const agi_op *op, const agi_op *out_op, int n_in,
                           ag_tensor *const *in, int n_out, ag_tensor **outs);

/* In the anchor's backward rule: the outputs' gradients gathered in this
   walk, into gys[0..n_out) (NULL where none), cleared for the next walk. */
void agi_multi_take(const agi_node *n, ag_tensor **gys);

#endif /* AG_MULTI_INTERNAL_H */
