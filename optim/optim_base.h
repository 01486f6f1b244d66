/*
** optim_base.h: the optimizer base shared by the files of optim/ (not
** installed). An optimizer is a struct whose first member is ag_optim,
** made by agp_optim_new, with its state registered by agp_add_state.
*/
#ifndef AG_OPTIM_BASE_H
#define AG_OPTIM_BASE_H

#include "ag.h"
#include "ag_optim.h"

typedef struct agp_optim_ops {
    const char *name;
    /* Updates every parameter with a grad; tape t is reset, grad mode off. */
    ag_status (*step)(ag_optim *o, ag_tape *t);
    void (*destroy)(ag_optim *o);       /* extra state; NULL if none */
} agp_optim_ops;

struct ag_optim {
    const agp_optim_ops *ops;
    int n_params;
    ag_tensor **params;                 /* borrowed */
    double lr, base_lr;
    int64_t steps;
    ag_tape *tape;                      /* private, for the update ops */
    int n_state, cap_state;
    ag_named_tensor *state;             /* owned */
};

/*
** Allocates an optimizer struct of size bytes (>= sizeof(ag_optim)),
** zeroed, with the base filled in. Validates: n >= 1, params not NULL,
** persistent, no duplicates; lr >= 0 and finite. NULL + ag_last_error.
*/
ag_optim *agp_optim_new(size_t size, const agp_optim_ops *ops, int n,
                        ag_tensor *const *params, double lr);
/* A zero tensor shaped like param i, registered as "<i>.<name>". */
ag_tensor *agp_add_state(ag_optim *o, int i, const char *name);
/* The same with its own dtype and shape, every element set to fill. */
ag_tensor *agp_add_state_shaped(ag_optim *o, int i, const char *name, ag_dtype dt, int ndim,
                                const int64_t *shape, double fill);
/* Checks a hyper-parameter: lo <= v <= hi (and not NaN); sets the error. */
/* Same dtype and shape? */
int agp_same_layout(const ag_tensor *a, const ag_tensor *b);
int agp_check_range(const char *fn, const char *what, double v, double lo, double hi);

#endif
