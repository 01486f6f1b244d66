/*
** ag_custom.h: custom ops, an op with your own forward and your own
** gradient rule (PyTorch's torch.autograd.Function, JAX's custom_vjp).
**
** A custom op is the engine's own op definition made public: a name, a
** forward that computes the output, and a backward rule that turns the
** output's gradient into the inputs' gradients. Use one to give a function
** a gradient it does not have (a straight-through estimator), a different
** one (gradient reversal, gradient clipping), or one at all (a function
** computed by external C code with a hand-written VJP).
**
** A worked example, the straight-through estimator y = sign(x) whose
** gradient is passed through where |x| <= 1 (Hubara et al.):
**
**     static ag_tensor *ste_forward(ag_custom_ctx *c, ag_tensor *const *in)
**     {
**         ag_tape *t = ag_custom_tape(c);
**         if (ag_custom_save(c, 1, in) != AG_OK) return NULL;   // x
**         return ag_sign(t, in[0]);
**     }
**     static ag_status ste_backward(ag_custom_ctx *c, ag_tensor *gy, ag_tensor **gx)
**     {
**         ag_tape *t = ag_custom_tape(c);
**         ag_tensor *x = ag_custom_saved(c, 0);
**         gx[0] = ag_mul(t, gy, ag_le_scalar(t, ag_abs(t, x), 1.0));  // dx = dy*(|x|<=1)
**         return ag_tape_status(t);
**     }
**     static const ag_custom_op ste = {.name = "ste", .forward = ste_forward,
**                                      .backward = ste_backward};
**     ...
**     ag_tensor *q = ag_custom(t, &ste, NULL, 1, &x);   // an op like any other
**
** The forward runs with grad mode off: the ops it calls record nothing, so
** the output's only history is the custom op. It may also compute with
** plain C on the data of tensors it makes (ag_zeros on ag_custom_tape(c),
** then ag_tensor_data).
**
** The backward rule runs inside ag_backward / ag_grad, with grad mode on
** exactly when the caller asked for create_graph. Written with ops (as
** above), it stays differentiable: gradients of gradients through the op
** work, and ag_gradgradcheck passes. A rule computed by plain C (or with
** ops on values the forward made, which carry no history) is only right
** once: declare the op AG_CUSTOM_ONCE_DIFFERENTIABLE, and a double
** backward through it is then an AG_ERR_STATE error naming the op instead
** of a silently wrong second derivative (PyTorch's @once_differentiable).
**
** Forward mode. With a jvp rule the op works under ag_jvp, ag_jacobian
** (AG_JAC_FORWARD) and forward-over-reverse Hessians; the estimator's rule
** is ty = tx * (|x| <= 1), the tangent its backward's Jacobian implies:
**
**     static ag_status ste_jvp(ag_custom_ctx *c, ag_tensor *const *tx, ag_tensor **ty)
**     {
**         ag_tape *t = ag_custom_tape(c);
**         ag_tensor *x = ag_custom_input(c, 0);
**         *ty = ag_mul(t, tx[0], ag_le_scalar(t, ag_abs(t, x), 1.0));
**         return ag_tape_status(t);
**     }
**
** A once-differentiable op's jvp rule runs with grad mode off too, and a
** tangent it gives under create_graph is behind the same barrier.
**
** Saved tensors. What the rule needs is saved in the forward with
** ag_custom_save and read back with ag_custom_saved. A saved input keeps
** its history, and a saved output is read back as the op's recorded
** output (with its history), so a rule written with ops on them is
** differentiable again. Any other tensor the forward made is a constant.
** Non-tensor state goes in ag_custom_alloc's memory, or behind the user
** pointer (which must then outlive the backward).
**
** Ownership. The op definition and the user pointer are borrowed and must
** live until the tape is reset (the backward reads them). Everything the
** forward and backward make belongs to the tape.
**
** Several outputs: ag_custom_multi, with forward_multi and backward_multi
** (the second receives every output's gradient, NULL for an output that
** got none, or zeros with AG_CUSTOM_MATERIALIZE_GRADS).
**
** Differences from PyTorch. Absent output gradients are NULL unless the
** op asks for zeros (PyTorch materializes them by default). An output
** that is one of the inputs, or any persistent tensor, is copied (PyTorch
** would return a view). Non-differentiable inputs (indices,
** masks, a scale) are declared once in the definition (JAX's
** nondiff_argnums) rather than by returning None.
*/
#ifndef AG_CUSTOM_H
#define AG_CUSTOM_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define AG_CUSTOM_MAX_INPUTS 32     /* inputs of one custom op */
#define AG_CUSTOM_MAX_SAVED 8       /* tensors one call may save */
#define AG_CUSTOM_MAX_OUTPUTS 16    /* outputs of one ag_custom_multi op */

/* ag_custom_op.flags */
enum {
    /* The backward rule is right for first derivatives only: a double
       backward through the op is an AG_ERR_STATE error naming it. */
    AG_CUSTOM_ONCE_DIFFERENTIABLE = 1,
    /* ag_custom_multi: an output that got no gradient is handed to
       backward_multi as zeros instead of NULL (PyTorch's default,
       ctx.set_materialize_grads(True)). */
    AG_CUSTOM_MATERIALIZE_GRADS = 2
};

/* One call of a custom op: its tape, inputs, saved tensors. Opaque; valid
   in the forward and backward of that call. */
typedef struct ag_custom_ctx ag_custom_ctx;

typedef struct ag_custom_op {
    /* For messages ("my_op: backward gave no gradient for input 1"). */
    const char *name;
    /*
    ** Computes the output from inputs[0..n) with ops (grad mode off) or C.
    ** Returns a tensor of ag_custom_tape(c) or a persistent one (copied),
    ** or NULL on failure with the tape's error set (one is set for it,
    ** naming the op, if it is not).
    */
    ag_tensor *(*forward)(ag_custom_ctx *c, ag_tensor *const *inputs);
    /*
    ** Stores in gx[i], for every input i with ag_custom_needs_grad(c, i),
    ** d loss / d input i (a tensor of input i's shape and dtype) given gy =
    ** d loss / d output (the output's shape). gx[i] is NULL on entry; the
    ** others may be left NULL. Returns AG_OK, or an error (the tape's
    ** status after a failed op is fine). A missing or misshapen gradient
    ** is an error naming the op and the input.
    */
    ag_status (*backward)(ag_custom_ctx *c, ag_tensor *gy, ag_tensor **gx);
    /*
    ** The forward-mode rule (JAX's custom_jvp, autograd.Function's
    ** jvp), optional: what ag_jvp (ag_jvp.h) runs for this op. Stores in
    ** *out_tangent the output's tangent, a tensor of the output's shape
    ** and dtype, given tangents[i] = the tangent of input i (of input i's
    ** shape and dtype; zeros when that input has none; NULL for an input
    ** declared in nondiff). It reads the inputs with ag_custom_input or
    ** ag_custom_saved. Returns AG_OK, or an error as backward. Grad mode
    ** is on exactly when ag_jvp was asked for create_graph: written with
    ** ops on the inputs, the tangent is differentiable again in the inputs
    ** and the tangents (reverse-over-forward). NULL: ag_jvp through the op
    ** is an AG_ERR_STATE error naming it ("ag_jvp: custom op NAME has no
    ** forward-mode rule"). Reverse mode never calls it; forward mode never
    ** calls backward, so forward-over-reverse (ag_jvp of a gradient, a
    ** Hessian-vector product) needs both: this rule for the op itself and
    ** a backward written with ops, whose ops have their own rules.
    */
    ag_status (*jvp)(ag_custom_ctx *c, ag_tensor *const *tangents, ag_tensor **out_tangent);
    /* Bit i set: input i is not differentiable (indices, masks): it gets
       no gradient even when it requires grad, and the rule is never asked
       for one. */
    uint32_t nondiff;
    int flags;              /* AG_CUSTOM_ONCE_DIFFERENTIABLE | AG_CUSTOM_MATERIALIZE_GRADS */
    /*
    ** Several outputs (ag_custom_multi; PyTorch's Function returning a
    ** tuple): n_outputs in 1..AG_CUSTOM_MAX_OUTPUTS, and these two in
    ** place of forward and backward. forward_multi stores output k in
    ** outputs[k] (rules of forward's result) and returns AG_OK or an error.
    ** backward_multi gets gys[k] = d loss / d output k for every k, NULL
    ** where output k received no gradient (unused, or only by what needs
    ** none; zeros with AG_CUSTOM_MATERIALIZE_GRADS), at least one given,
    ** and fills gx as backward does. The jvp rule stores the n_outputs
    ** tangents in out_tangent[0..n_outputs).
    */
    int n_outputs;
    ag_status (*forward_multi)(ag_custom_ctx *c, ag_tensor *const *inputs, ag_tensor **outputs);
    ag_status (*backward_multi)(ag_custom_ctx *c, ag_tensor *const *gys, ag_tensor **gx);
} ag_custom_op;

/*
** Runs op on inputs[0..n_inputs) (1 <= n_inputs <= AG_CUSTOM_MAX_INPUTS,
** tensors of t or persistent, any dtypes and shapes) and records it on t
** like any op: the result requires grad when grad mode is on and a
** differentiable input requires grad. user is handed to the forward and
** backward (ag_custom_user). Returns the output, a tensor of t, or NULL
** with t's error set: AG_ERR_ARG for a NULL or incomplete op, a bad
** n_inputs or a NULL input; the forward's own error; AG_ERR_STATE for a
** forward that returned a tensor of another tape. Sticky like every op.
*/
ag_tensor *ag_custom(ag_tape *t, const ag_custom_op *op, void *user, int n_inputs,
                     ag_tensor *const *inputs);

/*
** Runs op (with n_outputs, forward_multi and backward_multi) on
** inputs[0..n_inputs) as ag_custom does and stores its op->n_outputs
** outputs, tensors of t, in outputs[]. Each is recorded on t: the op's
** rule runs once per backward walk, after every output's gradient is
** complete, with all of them (gradients of gradients, gradcheck and
** gradgradcheck work through it as through ag_custom). Returns AG_OK, or
** the error (recorded on t; outputs[] all NULL): ag_custom's, plus
** AG_ERR_ARG for a NULL outputs, n_outputs out of range or a missing
** forward_multi or backward_multi, and AG_ERR_STATE for a forward_multi
** that left an output NULL.
*/
ag_status ag_custom_multi(ag_tape *t, const ag_custom_op *op, void *user, int n_inputs,
                          ag_tensor *const *inputs, ag_tensor **outputs);

/* The tape the op runs on (for the ops in forward and backward). */
ag_tape *ag_custom_tape(const ag_custom_ctx *c);
/* The user pointer given to ag_custom. */
void *ag_custom_user(const ag_custom_ctx *c);
/* The number of inputs of this call; its outputs (1 for ag_custom). */
int ag_custom_num_inputs(const ag_custom_ctx *c);
int ag_custom_num_outputs(const ag_custom_ctx *c);
/* Input i as given to ag_custom (with its history), in any rule; NULL (and
   the tape's error set) for an i out of range. */
ag_tensor *ag_custom_input(const ag_custom_ctx *c, int i);
/*
** In the forward: 1 when input i will be asked for a gradient if the
** output is differentiated (it is differentiable, requires grad and grad
** mode is on), so work only the rule needs can be skipped. In the
** backward: 1 when this backward needs input i's gradient. 0 for an i out
** of range.
*/
int ag_custom_needs_grad(const ag_custom_ctx *c, int i);
/*
** In the forward: keeps tensors[0..n) for the backward (each a tensor of
** the tape or persistent; at most AG_CUSTOM_MAX_SAVED per call, in
** order). AG_ERR_ARG outside the forward, for too many or a NULL tensor;
** the error is also set on the tape.
*/
ag_status ag_custom_save(ag_custom_ctx *c, int n, ag_tensor *const *tensors);
/* Saved tensor i (0 for the first saved); NULL (and the tape's error set)
   when there is none. A saved input or the saved output keeps its history. */
ag_tensor *ag_custom_saved(const ag_custom_ctx *c, int i);
/* bytes of zeroed, 64-byte aligned memory on the tape for this call's
   non-tensor state, alive until the tape is reset; NULL (and the tape's
   error set) when out of memory. Call it in the forward, keep the pointer
   (ag_custom_state), read it in the backward. */
void *ag_custom_alloc(ag_custom_ctx *c, size_t bytes);
/* The last memory ag_custom_alloc gave this call, or NULL. */
void *ag_custom_state(const ag_custom_ctx *c);

#ifdef __cplusplus
}
#endif
#endif /* AG_CUSTOM_H */
