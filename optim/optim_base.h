/*
** optim_base.h: the optimizer base shared by the files of optim/ (not
** installed). An optimizer is a struct whose first member is ag_optim,
** made by agp_optim_new, with its state registered by agp_add_state.
*/
#ifndef AG_OPTIM_BASE_H
#define AG_OPTIM_BASE_H

#include "ag.h"
#include "ag_optim.h"

#include <stddef.h>

/*
** What the values of a state tensor may be: every element in [lo, hi]
** (NaN never), and a whole number when integral. Checked where values
** enter: a checkpoint load (AG_ERR_FORMAT), ag_optim_check_state
** (AG_ERR_STATE), and, for rules with every_step, before each step
** (AG_ERR_STATE), which catches a write through ag_optim_state between
** steps; every_step costs a pass over the tensor per step, so it is for
** the scalars that index or count (L-BFGS' history length, say).
*/
typedef struct agp_state_rule {
    int checked;                        /* 0: any value */
    double lo, hi;
    int integral;
    int every_step;
} agp_state_rule;

typedef struct agp_optim_ops {
    const char *name;
    /* Updates every parameter with a grad; tape t is reset, grad mode off. */
    ag_status (*step)(ag_optim *o, ag_tape *t);
    void (*destroy)(ag_optim *o);       /* extra state; NULL if none */
} agp_optim_ops;

/*
** What an optimizer with parameter groups adds (o->gops; NULL: one group
** only, as L-BFGS). opts_size: the size of its options struct.
** check_group checks the options of a new group (error naming fn, 0)
** and gives its lr; add_group registers the state of group g's
** parameters (o->params[first..n_params)), or fails changing nothing.
*/
/* One option of an optimizer's options struct, readable and settable by
   name per group (ag_optim_group_option): a double, or an int flag. */
typedef struct agp_option {
    const char *name;                   /* the field's name, PyTorch's key */
    size_t offset;                      /* offsetof in the options struct */
    int is_flag;                        /* an int 0/1 (nesterov, amsgrad, ...) */
} agp_option;
#define AGP_OPTION(type, field) {#field, offsetof(type, field), 0}
#define AGP_FLAG(type, field) {#field, offsetof(type, field), 1}

typedef struct agp_group_ops {
    size_t opts_size;
    int (*check_group)(const ag_optim *o, const void *opts, const char *fn, double *lr);
    ag_status (*add_group)(ag_optim *o, int g);
    const agp_option *options;          /* every field but lr; ends with {NULL} */
} agp_group_ops;

/* A parameter group: params[first .. first + count), its lrs and its
   options (an owned copy of the optimizer's options struct; NULL for an
   optimizer without groups). Group 0's lrs are o->lr and o->base_lr. */
typedef struct agp_group {
    int first, count;
    double lr, base_lr;                 /* groups >= 1 */
    void *opts;
} agp_group;

struct ag_optim {
    const agp_optim_ops *ops;
    const agp_group_ops *gops;          /* NULL: one group only */
    int n_params;
    ag_tensor **params;                 /* borrowed */
    double lr, base_lr;                 /* group 0's (the only group of most) */
    int n_groups;
    agp_group *groups;                  /* n_groups, in parameter order */
    int *group_of;                      /* n_params: the group of each parameter */
    int64_t steps;
    ag_tape *tape;                      /* private, for the update ops */
    int n_state, cap_state;
    ag_named_tensor *state;             /* owned */
    agp_state_rule *rules;              /* n_state: what each state may hold */
};

/*
** Allocates an optimizer struct of size bytes (>= sizeof(ag_optim)),
** zeroed, with the base filled in. Validates: n >= 1, params not NULL,
** persistent, no duplicates; lr >= 0 and finite. NULL + ag_last_error.
*/
ag_optim *agp_optim_new(size_t size, const agp_optim_ops *ops, int n,
                        ag_tensor *const *params, double lr);
/* Sets o->gops and gives group 0 a copy of opts (gops->opts_size
   bytes); AG_OK or AG_ERR_NOMEM. */
ag_status agp_set_group0_opts(ag_optim *o, const agp_group_ops *gops, const void *opts);
/* The options of parameter i's group / of group g. */
const void *agp_param_opts(const ag_optim *o, int i);
/* The lr of parameter i's group; a pointer to group g's lr, base lr. */
double agp_param_lr(const ag_optim *o, int i);
double *agp_group_lr(ag_optim *o, int g);
double *agp_group_base_lr(ag_optim *o, int g);
/* The state from n_state on is freed and unregistered (a failed add). */
void agp_drop_state(ag_optim *o, int n_state);

/* A zero tensor shaped like param i, registered as "<i>.<name>". */
ag_tensor *agp_add_state(ag_optim *o, int i, const char *name);
/* The same with its own dtype and shape, every element set to fill. */
ag_tensor *agp_add_state_shaped(ag_optim *o, int i, const char *name, ag_dtype dt, int ndim,
                                const int64_t *shape, double fill);
/* The rule state k's values must follow (see agp_state_rule). */
void agp_set_state_rule(ag_optim *o, int k, agp_state_rule rule);
/*
** Checks v, values meant for state k (of its dtype and shape), against
** its rule. AG_OK, or code with ag_last_error() "who: <optimizer> state
** 'name'[ element i] is <value>, must be <rule>".
*/
ag_status agp_check_state_value(const ag_optim *o, int k, ag_tensor *v, ag_status code,
                                const char *who, const char *name);
/*
** What every step runs first (ag_optim_step, ag_lbfgs_step,
** ag_newton_step): refuses a step count at AG_OPTIM_MAX_STEPS and state
** breaking an every_step rule, AG_ERR_STATE naming fn; AG_OK otherwise.
*/
ag_status agp_step_begin(const ag_optim *o, const char *fn);

/* Checks a hyper-parameter: lo <= v <= hi (and not NaN); sets the error. */
int agp_check_range(const char *fn, const char *what, double v, double lo, double hi);
/* Same dtype and shape? */
int agp_same_layout(const ag_tensor *a, const ag_tensor *b);

#endif
