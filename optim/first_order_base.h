/*
** first_order_base.h: what the first-order optimizers share (not
** installed): construction with per-parameter named state, hyper-parameter
** checks, the gradient as the rules see it, and the deferred writes that
** make a step all-or-nothing. Built on optim_base.h.
*/
#ifndef AG_FIRST_ORDER_BASE_H
#define AG_FIRST_ORDER_BASE_H

#include "optim_base.h"

#include <math.h>

/*
** One scheduled write of a step into a parameter or state tensor dst: a
** copy of a tape tensor (AGP_COPY, dst = x), or an out= op that computes
** the new value straight into dst, with no tape tensor and no copy:
** AGP_LERP dst = lerp(x, a, s), AGP_ADDCMUL dst = x + s a b, AGP_ADDCDIV
** dst = x + s a / b. Operands may be dst itself (an update in place).
*/
typedef enum agp_write_kind { AGP_NONE, AGP_COPY, AGP_LERP, AGP_ADDCMUL, AGP_ADDCDIV } agp_write_kind;

typedef struct agp_write {
    agp_write_kind kind;
    ag_tensor *x, *a, *b;
    double s;
} agp_write;

/* The most state tensors per parameter a first-order optimizer has
   (RMSprop's three, plus "step"). */
#define AGP_FO_MAX_STATE 5

/*
** A first-order optimizer: the base, per_param state tensors per
** parameter (registered in parameter order, so state j of parameter i is
** o->state[i * per_param + j]): the rule's k named states, then "step"
** (index k = per_param - 1), the parameter's own step count as PyTorch
** keeps it (a 0-d AG_F64 whole number, counting the steps that found a
** grad). next holds the writes of one step, one slot per parameter then
** one per state tensor, run by agp_fo_commit. init_group (NULL: none)
** gives a new group's state its first values (Adagrad's initial sum).
** Embed it as the first member of an optimizer struct.
*/
typedef struct agp_fo {
    ag_optim base;
    int per_param;
    const char *names[AGP_FO_MAX_STATE];        /* static strings */
    agp_state_rule rule[AGP_FO_MAX_STATE];
    agp_write *next;            /* n_params + n_state slots, AGP_NONE = unchanged */
    ag_status (*init_group)(ag_optim *o, int g);
} agp_fo;

/*
** Makes an optimizer of size bytes (>= sizeof(agp_fo)) with group 0 of n
** parameters, options opts (ops->opts_size bytes, copied) and lr, and k
** state tensors per parameter named names[0..k) (zeros shaped like the
** parameter), plus "step". ops->destroy must be agp_fo_destroy or call
** it; gops->add_group must be agp_fo_add_group. NULL + ag_last_error on
** failure (nothing leaks).
*/
ag_optim *agp_fo_new(size_t size, const agp_optim_ops *ops, const agp_group_ops *gops, int n,
                     ag_tensor *const *params, const void *opts, double lr, int k,
                     const char *const *names);
void agp_fo_destroy(ag_optim *o);
/* Registers the state of group g's parameters and calls init_group. */
ag_status agp_fo_add_group(ag_optim *o, int g);

/* The step count t of parameter i during a step: its "step" + 1. */
double agp_fo_t(const ag_optim *o, int i);
/* Adds 1 to the "step" of every parameter with a grad (a step's end;
   agp_fo_commit does it when it succeeds). */
void agp_fo_count_steps(ag_optim *o);

/* State j of every parameter follows rule (see agp_state_rule). */
void agp_fo_rule(ag_optim *o, int j, agp_state_rule rule);
/* The rule of a running average of squares (under a square root or a
   divisor): every element >= 0 (Inf allowed, NaN not). */
#define AGP_NONNEG ((agp_state_rule){1, 0, INFINITY, 0, 0})

/* Sets state j of group g's parameters to value (Adagrad's initial sum). */
ag_status agp_fo_fill_state(ag_optim *o, int g, int j, double value);
/* State j of parameter i. */
ag_tensor *agp_fo_state(const ag_optim *o, int i, int j);
/* Schedules the new value of parameter i / of its state j as a copy of a
   tape tensor (or NULL when an op failed: the tape holds the error). */
void agp_fo_set_param(ag_optim *o, int i, ag_tensor *value);
void agp_fo_set_state(ag_optim *o, int i, int j, ag_tensor *value);
/* Schedules the new value of parameter i / of its state j as an out= op
   (see agp_write). Its operands are read when it runs, at commit. */
void agp_fo_write_param(ag_optim *o, int i, agp_write w);
void agp_fo_write_state(ag_optim *o, int i, int j, agp_write w);
/*
** Runs every scheduled write when tape t holds no error; otherwise writes
** nothing and returns the tape's error as ag_last_error(). State tensors
** are written first, then parameters, each in order, so a parameter's
** out= op reads its state's new values (Adam's p += s m / d after
** m.lerp_(g)); a rule that needs an old value computes with it before.
** Every tape tensor is made before the commit, so only an operand of the
** wrong shape (a bug) can fail a write half way. On success the steps
** are counted (agp_fo_count_steps).
*/
ag_status agp_fo_commit(ag_optim *o, ag_tape *t);

/*
** The gradient of parameter i as the rules use it: grad, negated when
** maximize, plus weight_decay * p when weight_decay != 0. Call only for a
** parameter whose grad is not NULL.
*/
ag_tensor *agp_fo_grad(ag_optim *o, ag_tape *t, int i, int maximize, double weight_decay);
/* a * x + b * y * y in two passes (a running average of squares). */
ag_tensor *agp_fo_axpby2(ag_tape *t, double a, ag_tensor *x, double b, ag_tensor *y);
/* A 0-d one of x's dtype: b of AGP_ADDCMUL for dst = x + s a. */
ag_tensor *agp_fo_one(ag_tape *t, const ag_tensor *x);

/* Hyper-parameter checks; each sets ag_last_error naming fn, what and v. */
int agp_fo_check_lr(const char *fn, double lr);                 /* finite, >= 0 */
int agp_fo_check_nonneg(const char *fn, const char *what, double v);   /* finite, >= 0 */
/* In [0, 1), or [0, 1] when closed. */
int agp_fo_check_unit(const char *fn, const char *what, double v, int closed);

#endif
