/*
** sched.c: learning-rate schedules bound to an optimizer, acting on each
** parameter group: StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR
** and LinearLR, stepped by PyTorch 1.13's chainable form (each epoch's lr
** from the group's current lr, so schedules compose) and jumped to an
** epoch by their closed form (from the group's base lr), and
** ReduceLROnPlateau, which scales the current lrs when a metric stalls.
*/
#include "ag_sched.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

typedef enum sched_kind {
    K_STEP, K_MULTISTEP, K_EXPONENTIAL, K_COSINE, K_LINEAR, K_PLATEAU
} sched_kind;

struct ag_sched {
    sched_kind kind;
    ag_optim *opt;                  /* borrowed */
    int64_t epoch;
    double last_lr;
    double gamma;                   /* step, multistep, exponential */
    int step_size;                  /* step */
    int n_milestones;               /* multistep: sorted copy */
    int *milestones;
    int t_max;                      /* cosine */
    double eta_min;
    double start, end;              /* linear */
    int total_iters;
    ag_plateau_opts plateau;        /* plateau */
    double best;
    int bad_epochs, cooldown_left;
};

/* Number of sorted milestones <= e (Python's bisect_right). */
static int milestones_passed(const ag_sched *s, int64_t e)
{
    int k = 0;
    while (k < s->n_milestones && s->milestones[k] <= e) k++;
    return k;
}

/* The closed-form lr of epoch e for a group of base lr base. */
static double closed_form_lr(const ag_sched *s, double base, int64_t e)
{
    double de = (double)e;
    switch (s->kind) {
    case K_STEP:
        return base * pow(s->gamma, (double)(e / s->step_size));
    case K_MULTISTEP:
        return base * pow(s->gamma, milestones_passed(s, e));
    case K_EXPONENTIAL:
        return base * pow(s->gamma, de);
    case K_COSINE:
        return s->eta_min + (base - s->eta_min) * (1 + cos(PI * de / s->t_max)) / 2;
    case K_LINEAR: {
        double frac = (double)(e < s->total_iters ? e : s->total_iters) / s->total_iters;
        return base * (s->start + (s->end - s->start) * frac);
    }
    case K_PLATEAU:
        break;
    }
    return base;
}

/* Milestones equal to e (a repeated one counts twice). */
static int milestones_at(const ag_sched *s, int64_t e)
{
    int k = 0;
    for (int i = 0; i < s->n_milestones; i++) k += s->milestones[i] == e;
    return k;
}

/* PyTorch 1.13's get_lr(): the lr of epoch e from the group's lr at e - 1
   (at e = 0, construction: from the lr it has). */
static double chained_lr(const ag_sched *s, double lr, double base, int64_t e)
{
    double de = (double)e, T = s->t_max;
    switch (s->kind) {
    case K_STEP:
        return e == 0 || e % s->step_size ? lr : lr * s->gamma;
    case K_MULTISTEP: {
        int k = milestones_at(s, e);
        return k ? lr * pow(s->gamma, k) : lr;
    }
    case K_EXPONENTIAL:
        return e == 0 ? lr : lr * s->gamma;
    case K_COSINE:
        if (e == 0) return lr;
        if (((e - 1 - s->t_max) % (2 * (int64_t)s->t_max) + 2 * (int64_t)s->t_max) %
                (2 * (int64_t)s->t_max) == 0)
            return lr + (base - s->eta_min) * (1 - cos(PI / T)) / 2;
        return (1 + cos(PI * de / T)) / (1 + cos(PI * (de - 1) / T)) * (lr - s->eta_min) +
               s->eta_min;
    case K_LINEAR:
        if (e == 0) return lr * s->start;
        if (e > s->total_iters) return lr;
        return lr * (1 + (s->end - s->start) /
                             (s->total_iters * s->start + (de - 1) * (s->end - s->start)));
    case K_PLATEAU:
        break;
    }
    return lr;
}

/* Moves to epoch e, setting every group's lr: by the chainable form when
   chained (a step), else by the closed form. A non-finite lr (base_lr
   gamma^e overflows for a large enough e) is refused, naming fn, and
   nothing changes. */
static ag_status set_epoch(const char *fn, ag_sched *s, int64_t e, int chained)
{
    int ng = ag_optim_num_groups(s->opt);
    double stack[8], *lrs = ng <= 8 ? stack : malloc((size_t)ng * sizeof *lrs);
    if (!lrs) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    ag_status st = AG_OK;
    for (int g = 0; s->kind != K_PLATEAU && g < ng && st == AG_OK; g++) {
        double lr = ag_optim_group_lr(s->opt, g), base = ag_optim_group_base_lr(s->opt, g);
        lrs[g] = chained ? chained_lr(s, lr, base, e) : closed_form_lr(s, base, e);
        if (!(isfinite(lrs[g]) && lrs[g] >= 0))
            st = ag_set_last_error(AG_ERR_ARG, "%s: the lr of group %d at epoch %" PRId64 " is "
                                   "%g (base lr %g), not a learning rate", fn, g, e, lrs[g],
                                   base);
    }
    for (int g = 0; s->kind != K_PLATEAU && g < ng && st == AG_OK; g++)
        ag_optim_set_group_lr(s->opt, g, lrs[g]);
    if (st == AG_OK) {
        s->last_lr = ag_optim_get_lr(s->opt);
        s->epoch = e;
    }
    if (lrs != stack) free(lrs);
    return st;
}

/* The schedule at epoch 0, or NULL (s freed) with the error. */
static ag_sched *start(const char *fn, ag_sched *s)
{
    if (set_epoch(fn, s, 0, 1) == AG_OK) return s;
    ag_sched_free(s);
    return NULL;
}

/* Refuses to count past AG_SCHED_MAX_EPOCH. */
static ag_status check_next_epoch(const char *fn, const ag_sched *s)
{
    if (s->epoch < AG_SCHED_MAX_EPOCH) return AG_OK;
    return ag_set_last_error(AG_ERR_STATE, "%s: the schedule is at epoch %" PRId64 ", the last "
                             "it counts (AG_SCHED_MAX_EPOCH)", fn, s->epoch);
}

/* A schedule of kind on o at epoch 0 (the caller fills its fields, then
   calls start). NULL + ag_last_error when o is NULL or out of memory. */
static ag_sched *sched_alloc(const char *fn, ag_optim *o, sched_kind kind)
{
    if (!o) return ag_set_last_error(AG_ERR_ARG, "%s: optimizer is NULL", fn), NULL;
    ag_sched *s = calloc(1, sizeof *s);
    if (!s) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn), NULL;
    s->kind = kind;
    s->opt = o;
    s->last_lr = ag_optim_get_lr(o);
    return s;
}

static int check_int(const char *fn, const char *what, int v, int lo)
{
    if (v >= lo) return 1;
    ag_set_last_error(AG_ERR_ARG, "%s: %s is %d, must be >= %d", fn, what, v, lo);
    return 0;
}

static int check_nonneg(const char *fn, const char *what, double v)
{
    if (isfinite(v) && v >= 0) return 1;
    ag_set_last_error(AG_ERR_ARG, "%s: %s is %g, must be finite and >= 0", fn, what, v);
    return 0;
}

ag_sched *ag_step_lr_new(ag_optim *o, int step_size, double gamma)
{
    const char *fn = "ag_step_lr_new";
    if (!check_int(fn, "step_size", step_size, 1) || !check_nonneg(fn, "gamma", gamma))
        return NULL;
    ag_sched *s = sched_alloc(fn, o, K_STEP);
    if (!s) return NULL;
    s->step_size = step_size;
    s->gamma = gamma;
    return start(fn, s);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

ag_sched *ag_multistep_lr_new(ag_optim *o, int n, const int *milestones, double gamma)
{
    const char *fn = "ag_multistep_lr_new";
    if (!check_int(fn, "n", n, 0) || !check_nonneg(fn, "gamma", gamma)) return NULL;
    if (n > 0 && !milestones)
        return ag_set_last_error(AG_ERR_ARG, "%s: milestones is NULL (n is %d)", fn, n), NULL;
    for (int i = 0; i < n; i++)
        if (milestones[i] < 0)
            return ag_set_last_error(AG_ERR_ARG, "%s: milestones[%d] is %d, must be >= 0", fn, i,
                                     milestones[i]), NULL;
    ag_sched *s = sched_alloc(fn, o, K_MULTISTEP);
    if (!s) return NULL;
    if (n > 0 && !(s->milestones = malloc((size_t)n * sizeof *s->milestones))) {
        free(s);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn), NULL;
    }
    if (n > 0) memcpy(s->milestones, milestones, (size_t)n * sizeof *milestones);
    if (n > 1) qsort(s->milestones, (size_t)n, sizeof *s->milestones, cmp_int);
    s->n_milestones = n;
    s->gamma = gamma;
    return start(fn, s);
}

ag_sched *ag_exponential_lr_new(ag_optim *o, double gamma)
{
    const char *fn = "ag_exponential_lr_new";
    if (!check_nonneg(fn, "gamma", gamma)) return NULL;
    ag_sched *s = sched_alloc(fn, o, K_EXPONENTIAL);
    if (!s) return NULL;
    s->gamma = gamma;
    return start(fn, s);
}

ag_sched *ag_cosine_annealing_lr_new(ag_optim *o, int t_max, double eta_min)
{
    const char *fn = "ag_cosine_annealing_lr_new";
    if (!check_int(fn, "t_max", t_max, 1) || !check_nonneg(fn, "eta_min", eta_min))
        return NULL;
    ag_sched *s = sched_alloc(fn, o, K_COSINE);
    if (!s) return NULL;
    s->t_max = t_max;
    s->eta_min = eta_min;
    return start(fn, s);
}

ag_sched *ag_linear_lr_new(ag_optim *o, double start_factor, double end_factor,
                           int total_iters)
{
    const char *fn = "ag_linear_lr_new";
    if (!(start_factor > 0 && start_factor <= 1))
        return ag_set_last_error(AG_ERR_ARG, "%s: start_factor is %g, must be in (0, 1]", fn,
                                 start_factor), NULL;
    if (!(end_factor >= 0 && end_factor <= 1))
        return ag_set_last_error(AG_ERR_ARG, "%s: end_factor is %g, must be in [0, 1]", fn,
                                 end_factor), NULL;
    if (!check_int(fn, "total_iters", total_iters, 1)) return NULL;
    ag_sched *s = sched_alloc(fn, o, K_LINEAR);
    if (!s) return NULL;
    s->start = start_factor;
    s->end = end_factor;
    s->total_iters = total_iters;
    return start(fn, s);
}

/* ---------------------------------------------------- ReduceLROnPlateau --- */

ag_plateau_opts ag_plateau_defaults(void)
{
    return (ag_plateau_opts){.mode = AG_PLATEAU_MIN, .factor = 0.1, .patience = 10,
                             .threshold = 1e-4, .threshold_mode = AG_THRESHOLD_REL,
                             .cooldown = 0, .min_lr = 0, .eps = 1e-8};
}

static int plateau_check(const char *fn, const ag_plateau_opts *op)
{
    if (op->mode != AG_PLATEAU_MIN && op->mode != AG_PLATEAU_MAX)
        return ag_set_last_error(AG_ERR_ARG, "%s: mode is %d, must be AG_PLATEAU_MIN or "
                                 "AG_PLATEAU_MAX", fn, (int)op->mode), 0;
    if (op->threshold_mode != AG_THRESHOLD_REL && op->threshold_mode != AG_THRESHOLD_ABS)
        return ag_set_last_error(AG_ERR_ARG, "%s: threshold_mode is %d, must be "
                                 "AG_THRESHOLD_REL or AG_THRESHOLD_ABS", fn,
                                 (int)op->threshold_mode), 0;
    if (!(op->factor >= 0 && op->factor < 1))
        return ag_set_last_error(AG_ERR_ARG, "%s: factor is %g, must be in [0, 1)", fn,
                                 op->factor), 0;
    return check_int(fn, "patience", op->patience, 0) &&
           check_int(fn, "cooldown", op->cooldown, 0) &&
           check_nonneg(fn, "threshold", op->threshold) &&
           check_nonneg(fn, "min_lr", op->min_lr) && check_nonneg(fn, "eps", op->eps);
}

ag_sched *ag_reduce_lr_on_plateau_new(ag_optim *o, const ag_plateau_opts *opts)
{
    const char *fn = "ag_reduce_lr_on_plateau_new";
    ag_plateau_opts op = opts ? *opts : ag_plateau_defaults();
    if (!plateau_check(fn, &op)) return NULL;
    ag_sched *s = sched_alloc(fn, o, K_PLATEAU);
    if (!s) return NULL;
    s->plateau = op;
    s->best = op.mode == AG_PLATEAU_MIN ? INFINITY : -INFINITY;
    return s;
}

/* Is metric m significantly better than best b? (NaN: never.) */
static int plateau_better(const ag_plateau_opts *op, double m, double b)
{
    int rel = op->threshold_mode == AG_THRESHOLD_REL;
    if (op->mode == AG_PLATEAU_MIN)
        return rel ? m < b * (1 - op->threshold) : m < b - op->threshold;
    return rel ? m > b * (1 + op->threshold) : m > b + op->threshold;
}

ag_status ag_plateau_step(ag_sched *s, double metric)
{
    if (!s || s->kind != K_PLATEAU)
        return ag_set_last_error(AG_ERR_ARG, "ag_plateau_step: %s", s ? "not a "
                                 "ReduceLROnPlateau schedule" : "schedule is NULL");
    const ag_plateau_opts *op = &s->plateau;
    ag_status st = check_next_epoch("ag_plateau_step", s);
    if (st != AG_OK) return st;
    s->epoch++;
    if (plateau_better(op, metric, s->best)) {
        s->best = metric;
        s->bad_epochs = 0;
    } else if (s->bad_epochs < INT_MAX) {   /* patience <= INT_MAX: it has acted by then */
        s->bad_epochs++;
    }
    if (s->cooldown_left > 0) {
        s->cooldown_left--;
        s->bad_epochs = 0;              /* bad epochs in cooldown do not count */
    }
    if (s->bad_epochs > op->patience) {
        for (int g = 0; g < ag_optim_num_groups(s->opt); g++) {
            double old = ag_optim_group_lr(s->opt, g), lr = fmax(old * op->factor, op->min_lr);
            if (old - lr > op->eps) ag_optim_set_group_lr(s->opt, g, lr);
        }
        s->cooldown_left = op->cooldown;
        s->bad_epochs = 0;
    }
    s->last_lr = ag_optim_get_lr(s->opt);
    return AG_OK;
}

int ag_plateau_num_bad_epochs(const ag_sched *s)
{
    return s && s->kind == K_PLATEAU ? s->bad_epochs : 0;
}

/* ------------------------------------------------------------- common --- */

ag_status ag_sched_step(ag_sched *s)
{
    const char *fn = "ag_sched_step";
    if (!s) return ag_set_last_error(AG_ERR_ARG, "%s: schedule is NULL", fn);
    if (s->kind == K_PLATEAU)
        return ag_set_last_error(AG_ERR_ARG, "%s: ReduceLROnPlateau needs a metric: use "
                                 "ag_plateau_step", fn);
    ag_status st = check_next_epoch(fn, s);
    return st == AG_OK ? set_epoch(fn, s, s->epoch + 1, 1) : st;
}

double ag_sched_get_last_lr(const ag_sched *s) { return s ? s->last_lr : 0; }
int64_t ag_sched_last_epoch(const ag_sched *s) { return s ? s->epoch : -1; }

ag_status ag_sched_set_last_epoch(ag_sched *s, int64_t epoch)
{
    const char *fn = "ag_sched_set_last_epoch";
    if (!s) return ag_set_last_error(AG_ERR_ARG, "%s: schedule is NULL", fn);
    if (epoch < 0 || epoch > AG_SCHED_MAX_EPOCH)
        return ag_set_last_error(AG_ERR_ARG, "%s: epoch is %" PRId64 ", must be in [0, %" PRId64
                                 "] (AG_SCHED_MAX_EPOCH)", fn, epoch, AG_SCHED_MAX_EPOCH);
    return set_epoch(fn, s, epoch, 0);
}

void ag_sched_free(ag_sched *s)
{
    if (!s) return;
    free(s->milestones);
    free(s);
}
