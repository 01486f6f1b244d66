/*
** unary.c: elementwise unary ops and cast. Each op: a kernel expression
** (instantiated for f32 and f64 by AGI_UNARY_KERNEL), its definition with
** the backward rule written with ops, and its constructor. Rules use the
** saved input (n->in[0]) or the output (n->out) so that, under
** create_graph, the gradient is itself differentiable.
*/
#include "ag_ops_internal.h"
#include "ag_binary.h"
#include "ag_unary.h"

ag_tensor *agi_unary(ag_tape *t, const agi_op *op, ag_tensor *x,
                     agi_unary_kernel kernel, double s, double s2)
{
    if (!agi_check(t, op->name, "x", x)) return NULL;
    ag_tensor *y = agi_new_like(t, op->name, x);
    if (!y) return NULL;
    kernel(x, y, s, s2);
    if (op->backward) {
        agi_node *n = agi_record(t, op, y, 1, &x);
        if (n) {
            n->fparam[0] = s;
            n->fparam[1] = s2;
        }
    } else {
        t->n_ops++;                       /* a mask: a constant */
    }
    return agi_done(t, op, y);
}

AGI_UNARY_KERNEL(neg_kernel, -x)
/* y = -x; dx -= dy */
static void neg_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)n, (void)need;
    gx[0] = ag_neg(t, gy);
}
static const agi_op op_neg = {"ag_neg", neg_backward};
ag_tensor *ag_neg(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_neg, x, neg_kernel, 0, 0);
}

AGI_UNARY_KERNEL(exp_kernel, exp(x))
/* y = e^x; dx += dy * y */
static void exp_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, gy, n->out);
}
static const agi_op op_exp = {"ag_exp", exp_backward};
ag_tensor *ag_exp(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_exp, x, exp_kernel, 0, 0);
}

AGI_UNARY_KERNEL(log_kernel, log(x))
/* y = ln x; dx += dy / x */
static void log_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_div(t, gy, n->in[0]);
}
static const agi_op op_log = {"ag_log", log_backward};
ag_tensor *ag_log(ag_tape *t, ag_tensor *x)
{
    return agi_unary(t, &op_log, x, log_kernel, 0, 0);
}
