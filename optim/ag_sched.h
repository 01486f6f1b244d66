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
** optimizer's lr to the schedule's value at epoch 0 (LinearLR's
** start_factor * base lr, say), and each ag_sched_step moves to the next
** epoch. The schedule borrows the optimizer, which must outlive it.
**
** Closed forms. Every schedule but ReduceLROnPlateau computes the lr of
** epoch e from the optimizer's base lr (ag_optim_base_lr, the lr given at
** its construction) by the closed form written below, which is what
** PyTorch's chained updates give when nothing else touches the lr.
** Difference from PyTorch: schedules do not chain. Two schedules on one
** optimizer, or ag_optim_set_lr calls between steps, do not compose: the
** last schedule to step sets the lr from the base lr.
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

/* lr_e = base_lr * gamma^floor(e / step_size). step_size >= 1, gamma
   finite and >= 0 (PyTorch's default gamma is 0.1). */
ag_sched *ag_step_lr_new(ag_optim *o, int step_size, double gamma);

/* lr_e = base_lr * gamma^(number of milestones <= e). milestones[0..n)
   are epochs >= 0 in any order (copied; a repeated one counts twice, as in
   PyTorch); n = 0 keeps the base lr. */
ag_sched *ag_multistep_lr_new(ag_optim *o, int n, const int *milestones, double gamma);

/* lr_e = base_lr * gamma^e. gamma finite and >= 0. */
ag_sched *ag_exponential_lr_new(ag_optim *o, double gamma);

/*
** lr_e = eta_min + (base_lr - eta_min) (1 + cos(pi e / t_max)) / 2, the
** closed form: it reaches eta_min at e = t_max and climbs back after it
** (a period of 2 t_max), as PyTorch's does (SGDR's restarts are not
** here). t_max >= 1, eta_min finite and >= 0.
*/
ag_sched *ag_cosine_annealing_lr_new(ag_optim *o, int t_max, double eta_min);

/*
** Linear warm-up (or decay) of the factor:
** lr_e = base_lr * (start + (end - start) * min(e, total_iters) / total_iters).
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
** restarts and the next cooldown epochs count no bad epochs. It scales the
** optimizer's current lr, not the base lr. A NaN metric is never an
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
** Moves to the next epoch and sets the optimizer's lr. AG_ERR_ARG for a
** NULL or ReduceLROnPlateau schedule (use ag_plateau_step), or when the
** closed form's lr is not finite (base_lr * gamma^e overflows for a
** gamma > 1 and a large e); AG_ERR_STATE at AG_SCHED_MAX_EPOCH. On an
** error the epoch and the lr are unchanged.
*/
ag_status ag_sched_step(ag_sched *s);
/* The lr the schedule set last (PyTorch's get_last_lr()); 0 for NULL. */
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
void ag_early_stop_free(ag_early_stop *es);             /* NULL is a no-op */

#ifdef __cplusplus
}
#endif
#endif /* AG_SCHED_H */
