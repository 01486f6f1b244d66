/*
** ag_optim.h: what every optimizer shares. An optimizer updates a list of
** persistent parameters from their grads (ag_tensor_grad), in place, with
** tensor ops under no-grad on a private tape. It borrows the parameters
** (they must outlive it) and owns its state tensors, which exist from
** construction on (zeros), so a checkpoint can be loaded into a new one.
** Constructors are in ag_optimizers.h (first-order methods) and
** ag_lbfgs.h (L-BFGS, Newton).
**
** Parameter groups (PyTorch's param_groups). A constructor makes group 0
** from its parameters and options; ag_optim_add_param_group appends
** more, each with its own lr and options (weight decay, momentum, betas,
** ...). Parameters are numbered across groups in the order they were
** given (group 0's first), which is the "<i>" of the state names.
*/
#ifndef AG_OPTIM_H
#define AG_OPTIM_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_optim ag_optim;

/*
** The most steps an optimizer counts: 2^53, the last count whose
** successor is exact in a double (the update rules compute with the step
** as a double: bias corrections, schedules). A step at this count is
** refused (AG_ERR_STATE) rather than overflowing.
*/
#define AG_OPTIM_MAX_STEPS ((int64_t)1 << 53)

/*
** One update from the current grads. A parameter whose grad is NULL (no
** backward has reached it) is skipped, as PyTorch skips None grads: its
** state and its step count (state "<i>.step") are left as they were.
** Returns AG_OK, or an error with ag_last_error() set (parameters are left
** as they were when the error is found before any update). AG_ERR_STATE
** (nothing changes) when the step count is AG_OPTIM_MAX_STEPS or a scalar
** state tensor (see ag_optim_state) holds a value it may not.
*/
ag_status ag_optim_step(ag_optim *o);
/* Zeroes every parameter's grad. */
void ag_optim_zero_grad(ag_optim *o);
/* Sets every parameter's grad to none (ag_clear_grad; PyTorch's
   zero_grad(set_to_none=True), its default since 2.0): the faster choice
   when every step's backward reaches every parameter. */
void ag_optim_clear_grad(ag_optim *o);

/*
** The learning rate, and the base lr (PyTorch's initial_lr: the lr a
** group was given at construction or by ag_optim_add_param_group; the
** closed forms of schedules scale from it; settable so a checkpoint can
** restore it). ag_optim_get_lr and ag_optim_base_lr read group 0's;
** ag_optim_set_lr and ag_optim_set_base_lr set every group's; the _group_
** forms read or set group g's. The setters take a finite lr >= 0;
** anything else (negative, Inf, NaN, o NULL, g out of range) is an
** AG_ERR_ARG naming the function and the value, and changes nothing.
** The getters return 0 for NULL or a g out of range.
*/
double ag_optim_get_lr(const ag_optim *o);
ag_status ag_optim_set_lr(ag_optim *o, double lr);
double ag_optim_base_lr(const ag_optim *o);
ag_status ag_optim_set_base_lr(ag_optim *o, double lr);
double ag_optim_group_lr(const ag_optim *o, int g);
ag_status ag_optim_set_group_lr(ag_optim *o, int g, double lr);
double ag_optim_group_base_lr(const ag_optim *o, int g);
ag_status ag_optim_set_group_base_lr(ag_optim *o, int g, double lr);

/*
** Appends a parameter group (PyTorch's add_param_group): params[0..n)
** (borrowed, as the constructor's), updated with the options *opts,
** which must point to the options struct of the optimizer's type
** (ag_sgd_opts for SGD, ag_adam_opts for Adam and AdamW, ...; the
** optimizer cannot check the type). opts NULL: the options the optimizer
** was constructed with (PyTorch's defaults). The group's lr and base lr
** are opts->lr. Its state exists at once (zeros, Adagrad's sum at the
** group's initial_accumulator_value, NAdam's mu_product 1, "step" 0).
** Errors (AG_ERR_ARG, nothing changed): o NULL, an optimizer with one
** group only (L-BFGS, Newton: as PyTorch's LBFGS), n < 1, a parameter
** NULL, a tape tensor, repeated or already in the optimizer, options the
** constructor would refuse, and options that decide which state exists
** differing from group 0's: SGD's momentum != 0, RMSprop's momentum > 0
** and centered, Adam's and AdamW's amsgrad (difference from PyTorch,
** whose groups may differ there).
*/
ag_status ag_optim_add_param_group(ag_optim *o, int n, ag_tensor *const *params,
                                   const void *opts);
/*
** Group g's options by name, PyTorch's param_groups[g][name] (read and
** written between steps; the next step uses them). The names are the
** fields of the optimizer's options struct (ag_optimizers.h): "lr", and
** for SGD "momentum", "dampening", "weight_decay", "nesterov",
** "maximize"; for Adam and AdamW "beta1", "beta2" (PyTorch's betas
** tuple), "eps", "weight_decay", "amsgrad", "maximize"; and so on
** (ag_optim_option_names lists them). Flags (nesterov, amsgrad,
** centered, maximize, ...) read as 0 or 1. "lr" is the group's lr
** (ag_optim_group_lr; setting it leaves the base lr alone, as PyTorch's
** initial_lr).
** The setter checks the new value as the constructor and
** ag_optim_add_param_group would (ranges, flags 0 or 1, nesterov needing
** momentum and no dampening) and refuses to change what decides which
** state exists (SGD's momentum to or from 0, Adam's amsgrad, RMSprop's
** centered and momentum to or from 0): difference from PyTorch, which
** lets such a change through and builds the state at the next step.
** Errors (AG_ERR_ARG with ag_last_error() naming the function, the
** option and the value; nothing changed): o, name or value NULL, g out
** of range, an unknown name (the message lists the known ones), an
** optimizer without groups (L-BFGS, Newton: their options are fixed at
** construction), a value refused.
*/
ag_status ag_optim_group_option(const ag_optim *o, int g, const char *name, double *value);
ag_status ag_optim_set_group_option(ag_optim *o, int g, const char *name, double value);
/* The names ag_optim_group_option takes ("lr" first): writes at most max
   to names (borrowed static strings; names may be NULL with max 0) and
   returns how many there are; 0 for NULL or an optimizer without groups. */
int ag_optim_option_names(const ag_optim *o, const char **names, int max);

/* Groups (0 for NULL); parameters in group g (0 when out of range); the
   group of parameter i (-1 when out of range or o NULL). */
int ag_optim_num_groups(const ag_optim *o);
int ag_optim_group_size(const ag_optim *o, int g);
int ag_optim_param_group(const ag_optim *o, int i);

/* Updates taken: ag_optim_step calls that succeeded, whatever grads they
   found (0 for NULL). The update rules use each parameter's own count
   instead (state "<i>.step", see ag_optimizers.h). The setter, to resume
   a run, takes steps in [0, AG_OPTIM_MAX_STEPS]; else AG_ERR_ARG, nothing
   changed. */
int64_t ag_optim_steps(const ag_optim *o);
ag_status ag_optim_set_steps(ag_optim *o, int64_t steps);
const char *ag_optim_name(const ag_optim *o);       /* "Adam", ... */
int ag_optim_num_params(const ag_optim *o);         /* over every group */
ag_tensor *ag_optim_param(const ag_optim *o, int i);

/*
** The state tensors, named "<param index>.<name>" ("0.exp_avg",
** "3.momentum_buffer"), in a fixed order. Writes at most max entries and
** returns the total. The tensors belong to the optimizer; a checkpoint
** loads into them with ag_assign. Some state may only hold some values
** (each optimizer's header says which: Adam's "exp_avg_sq" >= 0, L-BFGS'
** "n_history" a whole number in [0, history_size], ...): a checkpoint
** holding others is refused, a step refuses to start from a scalar one
** (a counter or an index), and ag_optim_check_state checks them all.
*/
int ag_optim_state(const ag_optim *o, ag_named_tensor *out, int max);

/*
** Checks every state tensor against what it may hold: after restoring
** state by other means than ag_checkpoint_load (ag_safetensors_load into
** ag_optim_state's tensors, say). AG_OK, or AG_ERR_STATE with
** ag_last_error() naming the state, the element and its value
** (AG_ERR_ARG for NULL).
*/
ag_status ag_optim_check_state(const ag_optim *o);

void ag_optim_free(ag_optim *o);                    /* NULL is a no-op */

#ifdef __cplusplus
}
#endif
#endif /* AG_OPTIM_H */
