/*
** ag_sched.h: learning-rate schedules (PyTorch's torch.optim.lr_scheduler):
** StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR and
** ReduceLROnPlateau; and early stopping, the other controller driven by a
** validation metric. A schedule is bound to one optimizer and sets its
** learning rate (ag_optim_set_lr) once per epoch:
**
**     ag_sched *s = ag_cosine_annealing_lr_new(opt, 100, 1e-5);
**     for (int epoch = 0; epoch < 100; epoch++) {
**         train_one_epoch(opt);           // uses ag_optim_get_lr(opt)
**         ag_sched_step(s);               // lr for the next epoch
**     }
**     ag_sched_free(s);
**
** Epochs. As in PyTorch, construction is epoch 0: it already sets the
** optimizer's lrs to the schedule's values at epoch 0 (LinearLR's
** start_factor * lr, say), and each ag_sched_step moves to the next
** epoch. The schedule borrows the optimizer, which must outlive it.
**
** Groups and chaining, as PyTorch 1.13. A schedule acts on every
** parameter group of the optimizer (the groups it has at each step; each
** group's base lr is its PyTorch base_lrs entry, see ag_optim_base_lr).
** ag_sched_step computes each group's new lr from its current lr by
** PyTorch's chainable form (get_lr()), written beside each constructor,
** so two schedules on one optimizer compose (StepLR then ExponentialLR
** multiply their factors; LinearLR warm-up under a cosine) and
** ag_optim_set_lr calls between steps carry on. Alone, the chainable
** form gives the closed form written beside each constructor (to
** rounding). ag_sched_set_last_epoch jumps by the closed form, from the
** groups' base lrs (PyTorch's step(epoch)). Difference from PyTorch: the
** base lr is the group's lr at optimizer construction or
** ag_optim_add_param_group (or as set by ag_optim_set_base_lr), not the
** lr the group has when the first schedule is made (PyTorch's
** initial_lr); they differ only when the lr was changed in between.
**
** Errors. Constructors return NULL with ag_last_error() naming the
** function, the argument and its value ("ag_step_lr_new: step_size is 0,
** must be >= 1"). Step functions return an ag_status likewise.
*/
#ifndef AG_SCHED_H
#define AG_SCHED_H

#include "ag_core.h"
#include "ag_optim.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_sched ag_sched;

/* lr_e = base_lr * gamma^floor(e / step_size). Chainable: lr *= gamma
   when e > 0 and e % step_size == 0. step_size >= 1, gamma finite and
   >= 0 (PyTorch's default gamma is 0.1). */
ag_sched *ag_step_lr_new(ag_optim *o, int step_size, double gamma);

/* lr_e = base_lr * gamma^(number of milestones <= e). Chainable: lr *=
   gamma^(milestones equal to e). milestones[0..n) are epochs >= 0 in any
   order (copied; a repeated one counts twice, as in PyTorch); n = 0 keeps
   the lr. */
ag_sched *ag_multistep_lr_new(ag_optim *o, int n, const int *milestones, double gamma);

/* lr_e = base_lr * gamma^e. Chainable: lr *= gamma when e > 0. gamma
   finite and >= 0. */
ag_sched *ag_exponential_lr_new(ag_optim *o, double gamma);

/*
** lr_e = eta_min + (base_lr - eta_min) (1 + cos(pi e / t_max)) / 2, the
** closed form: it reaches eta_min at e = t_max and climbs back after it
** (a period of 2 t_max), as PyTorch's does (SGDR's restarts are not
** here). Chainable (PyTorch's recursion): when (e - 1 - t_max) is a
** multiple of 2 t_max, lr += (base_lr - eta_min)(1 - cos(pi / t_max)) / 2;
** else lr = eta_min + (lr - eta_min)(1 + cos(pi e / t_max)) /
** (1 + cos(pi (e - 1) / t_max)). t_max >= 1, eta_min finite and >= 0.
*/
ag_sched *ag_cosine_annealing_lr_new(ag_optim *o, int t_max, double eta_min);

/*
** Linear warm-up (or decay) of the factor:
** lr_e = base_lr * (start + (end - start) * min(e, total_iters) / total_iters).
** Chainable: lr *= start at e = 0; for 0 < e <= total_iters, lr *= 1 +
** (end - start) / (total_iters start + (e - 1)(end - start)).
** start_factor in (0, 1], end_factor in [0, 1] (PyTorch's checks),
** total_iters >= 1. PyTorch's defaults: 1/3, 1.0, 5.
*/
ag_sched *ag_linear_lr_new(ag_optim *o, double start_factor, double end_factor,
                           int total_iters);

/* ----------------------------------------------------- ReduceLROnPlateau */

typedef enum ag_plateau_mode { AG_PLATEAU_MIN = 0, AG_PLATEAU_MAX = 1 } ag_plateau_mode;
typedef enum ag_threshold_mode { AG_THRESHOLD_REL = 0, AG_THRESHOLD_ABS = 1 } ag_threshold_mode;

typedef struct ag_plateau_opts {
    ag_plateau_mode mode;           /* AG_PLATEAU_MIN: a loss; MAX: an accuracy */
    double factor;                  /* 0.1: new lr = lr * factor; in [0, 1) */
    int patience;                   /* 10: bad epochs tolerated; >= 0 */
    double threshold;               /* 1e-4: significant change; finite, >= 0 */
    ag_threshold_mode threshold_mode;   /* AG_THRESHOLD_REL */
    int cooldown;                   /* 0: epochs to wait after a reduction; >= 0 */
    double min_lr;                  /* 0: lower bound on the lr; finite, >= 0 */
    double eps;                     /* 1e-8: smaller lr changes are skipped; >= 0 */
} ag_plateau_opts;
ag_plateau_opts ag_plateau_defaults(void);

/*
** Reduces the lr when a metric stops improving; stepped with the metric by
** ag_plateau_step (ag_sched_step is an error for it). opts NULL: defaults.
** A metric m improves on the best b when (mode MIN) m < b (1 - threshold)
** in rel mode or m < b - threshold in abs mode (mode MAX: m > b (1 +
** threshold), m > b + threshold); the first metric always improves. After
** more than patience bad epochs in a row, lr = max(lr * factor, min_lr)
** (skipped when that changes lr by eps or less), the bad-epoch count
** restarts and the next cooldown epochs count no bad epochs. It scales
** each group's current lr (one min_lr for all groups: PyTorch also takes
** a list), not the base lr. A NaN metric is never an
** improvement (as in PyTorch).
*/
ag_sched *ag_reduce_lr_on_plateau_new(ag_optim *o, const ag_plateau_opts *opts);
/* One epoch's metric. AG_ERR_ARG for a NULL or closed-form schedule,
   AG_ERR_STATE at AG_SCHED_MAX_EPOCH. */
ag_status ag_plateau_step(ag_sched *s, double metric);
/* Bad epochs counted so far (0 right after an improvement or reduction). */
int ag_plateau_num_bad_epochs(const ag_sched *s);

/* ------------------------------------------------------------- common --- */

/* The last epoch a schedule counts to (2^53: epochs enter the closed forms
   as doubles); stepping past it is an AG_ERR_STATE. */
#define AG_SCHED_MAX_EPOCH ((int64_t)1 << 53)

/*
** Moves to the next epoch and sets every group's lr. AG_ERR_ARG for a
** NULL or ReduceLROnPlateau schedule (use ag_plateau_step), or when a new
** lr is not finite (lr * gamma overflows for a gamma > 1 after many
** epochs; the message names the group); AG_ERR_STATE at
** AG_SCHED_MAX_EPOCH; AG_ERR_NOMEM (more than 8 groups) when out of
** memory. On an error the epoch and the lrs are unchanged.
*/
ag_status ag_sched_step(ag_sched *s);
/* Group 0's lr after the schedule's last step (PyTorch's get_last_lr()[0];
   every group's: ag_optim_group_lr); 0 for NULL. */
double ag_sched_get_last_lr(const ag_sched *s);
/* The current epoch (0 after construction); -1 for NULL. */
int64_t ag_sched_last_epoch(const ag_sched *s);
/*
** Jumps to epoch e in [0, AG_SCHED_MAX_EPOCH] (to resume training): a
** closed-form schedule sets the optimizer's lr to its value at e;
** ReduceLROnPlateau only records the epoch (its best metric and counters
** are kept). Errors (AG_ERR_ARG, nothing changed): s NULL, e out of
** range, or a non-finite lr at e.
*/
ag_status ag_sched_set_last_epoch(ag_sched *s, int64_t epoch);
void ag_sched_free(ag_sched *s);    /* NULL is a no-op; the optimizer is kept */

/* ------------------------------------------------------- early stopping */

typedef struct ag_early_stop ag_early_stop;

/*
** Early stopping on a validation loss (lower is better), as Keras'
** EarlyStopping(patience, min_delta, restore_best_weights=True). It keeps
** a copy of params[0..n) (borrowed; they must outlive it) as of the best
** loss so far; the copies start as the weights at construction.
** patience >= 0, min_delta finite and >= 0. NULL + ag_last_error() on bad
** arguments or when out of memory.
*/
ag_early_stop *ag_early_stop_new(int patience, double min_delta, int n,
                                 ag_tensor *const *params);
/*
** Records one epoch's loss. loss < best - min_delta is an improvement: the
** weights are copied and the count of bad epochs restarts (the first
** finite loss always improves; NaN never does). Otherwise the count grows.
** Returns 1 when the count of bad epochs in a row has reached patience
** (patience 0: the first bad epoch), meaning stop training; 0 to go on;
** -1 with ag_last_error() for a NULL es.
*/
int ag_early_stop_update(ag_early_stop *es, double loss);
/* Copies the best weights back into the parameters. */
ag_status ag_early_stop_restore(ag_early_stop *es);
double ag_early_stop_best(const ag_early_stop *es);      /* +inf before any; NaN for NULL */
/* The update (0-based) that gave the best loss; -1 before any or for NULL. */
int64_t ag_early_stop_best_epoch(const ag_early_stop *es);
/*
** To checkpoint and resume (ag_fit saves these): the updates recorded
** (-1 for NULL), the bad epochs in a row (-1 for NULL), and the best copy
** of params[i] (borrowed, owned by es; NULL for i out of range or NULL
** es), which a checkpoint loads into. ag_early_stop_set_state restores
** the counters: updates >= 0, best_epoch in [-1, updates) and -1 exactly
** when best is +inf (no update yet), bad_epochs in [0, updates], best not
** NaN; otherwise AG_ERR_ARG naming the values, and nothing changes.
*/
int64_t ag_early_stop_updates(const ag_early_stop *es);
int ag_early_stop_bad_epochs(const ag_early_stop *es);
ag_tensor *ag_early_stop_best_weight(const ag_early_stop *es, int i);
ag_status ag_early_stop_set_state(ag_early_stop *es, int64_t updates, double best,
                                  int64_t best_epoch, int bad_epochs);
void ag_early_stop_free(ag_early_stop *es);             /* NULL is a no-op */

#ifdef __cplusplus
}
#endif
#endif /* AG_SCHED_H */
