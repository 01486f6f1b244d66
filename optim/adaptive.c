/*
** adaptive.c: the optimizers with per-element step sizes from running
** averages of squared gradients: Adagrad, Adadelta and RMSprop (PyTorch's
** torch.optim names and rules). Adam and its kin are in adam.c.
*/
#include "first_order_base.h"

#include <math.h>

/* ------------------------------------------------------------ Adagrad --- */


ag_adagrad_opts ag_adagrad_defaults(void)
{
    return (ag_adagrad_opts){.lr = 1e-2, .lr_decay = 0, .weight_decay = 0,
                             .initial_accumulator_value = 0, .eps = 1e-10, .maximize = 0};
}

/* clr = lr / (1 + (t-1) lr_decay); sum += g^2; p -= clr g / (sqrt(sum) + eps) */
static ag_status adagrad_step(ag_optim *o, ag_tape *t)
{
    for (int i = 0; i < o->n_params; i++) {
        ag_tensor *p = o->params[i];
        if (!ag_tensor_grad(p)) continue;
        const ag_adagrad_opts *op = agp_param_opts(o, i);
        double clr = agp_param_lr(o, i) / (1 + (agp_fo_t(o, i) - 1) * op->lr_decay);
        ag_tensor *g = agp_fo_grad(o, t, i, op->maximize, op->weight_decay);
        ag_tensor *sum = ag_addcmul(t, agp_fo_state(o, i, 0), g, g, 1);
        ag_tensor *den = ag_add_scalar(t, ag_sqrt(t, sum), op->eps);
        agp_fo_set_state(o, i, 0, sum);
        agp_fo_write_param(o, i, (agp_write){AGP_ADDCDIV, p, g, den, -clr});
    }
    return agp_fo_commit(o, t);
}

static int adagrad_check(const char *fn, const ag_adagrad_opts *op)
{
    return agp_fo_check_lr(fn, op->lr) && agp_fo_check_nonneg(fn, "lr_decay", op->lr_decay) &&
           agp_fo_check_nonneg(fn, "weight_decay", op->weight_decay) &&
           agp_fo_check_nonneg(fn, "initial_accumulator_value",
                               op->initial_accumulator_value) &&
           agp_fo_check_nonneg(fn, "eps", op->eps);
}

static int adagrad_check_group(const ag_optim *o, const void *opts, const char *fn, double *lr)
{
    (void)o;
    *lr = ((const ag_adagrad_opts *)opts)->lr;
    return adagrad_check(fn, opts);
}

/* A group's "sum" starts at its initial_accumulator_value. */
static ag_status adagrad_init_group(ag_optim *o, int g)
{
    double v = ((const ag_adagrad_opts *)o->groups[g].opts)->initial_accumulator_value;
    return v != 0 ? agp_fo_fill_state(o, g, 0, v) : AG_OK;
}

static const agp_optim_ops adagrad_ops = {"Adagrad", adagrad_step, agp_fo_destroy};
static const agp_option adagrad_options[] = {
    AGP_OPTION(ag_adagrad_opts, lr_decay), AGP_OPTION(ag_adagrad_opts, weight_decay),
    AGP_OPTION(ag_adagrad_opts, initial_accumulator_value),
    AGP_OPTION(ag_adagrad_opts, eps),
    AGP_FLAG(ag_adagrad_opts, maximize), {NULL, 0, 0}};
static const agp_group_ops adagrad_groups = {sizeof(ag_adagrad_opts), adagrad_check_group,
                                          agp_fo_add_group, adagrad_options};

ag_optim *ag_adagrad_new(int n, ag_tensor *const *params, const ag_adagrad_opts *opts)
{
    ag_adagrad_opts op = opts ? *opts : ag_adagrad_defaults();
    if (!adagrad_check("ag_adagrad_new", &op)) return NULL;
    static const char *const names[] = {"sum"};
    ag_optim *o = agp_fo_new(sizeof(agp_fo), &adagrad_ops, &adagrad_groups, n, params, &op, op.lr,
                             1, names);
    if (!o) return NULL;
    ((agp_fo *)o)->init_group = adagrad_init_group;
    agp_fo_rule(o, 0, AGP_NONNEG);
    if (adagrad_init_group(o, 0) != AG_OK) {
        ag_optim_free(o);
        return NULL;
    }
    return o;
}

/* ----------------------------------------------------------- Adadelta --- */


ag_adadelta_opts ag_adadelta_defaults(void)
{
    return (ag_adadelta_opts){.lr = 1.0, .rho = 0.9, .eps = 1e-6, .weight_decay = 0,
                              .maximize = 0};
}

/* v = rho v + (1-rho) g^2; d = sqrt(u + eps) / sqrt(v + eps) g;
   u = rho u + (1-rho) d^2 (in place); p -= lr d (in place) */
static ag_status adadelta_step(ag_optim *o, ag_tape *t)
{
    for (int i = 0; i < o->n_params; i++) {
        ag_tensor *p = o->params[i];
        if (!ag_tensor_grad(p)) continue;
        const ag_adadelta_opts *op = agp_param_opts(o, i);
        double rho = op->rho;
        ag_tensor *g = agp_fo_grad(o, t, i, op->maximize, op->weight_decay);
        ag_tensor *v = agp_fo_axpby2(t, rho, agp_fo_state(o, i, 0), 1 - rho, g);
        ag_tensor *std = ag_sqrt(t, ag_add_scalar(t, v, op->eps));
        ag_tensor *u = agp_fo_state(o, i, 1);
        ag_tensor *d = ag_mul(t, ag_div(t, ag_sqrt(t, ag_add_scalar(t, u, op->eps)), std), g);
        agp_fo_set_state(o, i, 0, v);
        agp_fo_write_state(o, i, 1, (agp_write){AGP_ADDCMUL, ag_mul_scalar(t, u, rho), d, d,
                                                1 - rho});
        agp_fo_write_param(o, i, (agp_write){AGP_ADDCMUL, p, d, agp_fo_one(t, p),
                                             -agp_param_lr(o, i)});
    }
    return agp_fo_commit(o, t);
}

static int adadelta_check(const char *fn, const ag_adadelta_opts *op)
{
    return agp_fo_check_lr(fn, op->lr) && agp_fo_check_unit(fn, "rho", op->rho, 1) &&
           agp_fo_check_nonneg(fn, "eps", op->eps) &&
           agp_fo_check_nonneg(fn, "weight_decay", op->weight_decay);
}

static int adadelta_check_group(const ag_optim *o, const void *opts, const char *fn, double *lr)
{
    (void)o;
    *lr = ((const ag_adadelta_opts *)opts)->lr;
    return adadelta_check(fn, opts);
}

static const agp_optim_ops adadelta_ops = {"Adadelta", adadelta_step, agp_fo_destroy};
static const agp_option adadelta_options[] = {
    AGP_OPTION(ag_adadelta_opts, rho), AGP_OPTION(ag_adadelta_opts, eps),
    AGP_OPTION(ag_adadelta_opts, weight_decay), AGP_FLAG(ag_adadelta_opts, maximize),
    {NULL, 0, 0}};
static const agp_group_ops adadelta_groups = {sizeof(ag_adadelta_opts), adadelta_check_group,
                                          agp_fo_add_group, adadelta_options};

ag_optim *ag_adadelta_new(int n, ag_tensor *const *params, const ag_adadelta_opts *opts)
{
    ag_adadelta_opts op = opts ? *opts : ag_adadelta_defaults();
    if (!adadelta_check("ag_adadelta_new", &op)) return NULL;
    static const char *const names[] = {"square_avg", "acc_delta"};
    ag_optim *o = agp_fo_new(sizeof(agp_fo), &adadelta_ops, &adadelta_groups, n, params, &op, op.lr,
                             2, names);
    if (!o) return NULL;
    agp_fo_rule(o, 0, AGP_NONNEG);
    agp_fo_rule(o, 1, AGP_NONNEG);
    return o;
}

/* ------------------------------------------------------------ RMSprop --- */

typedef struct rmsprop_optim {
    agp_fo fo;
    int buf, avg;               /* state index of momentum_buffer, grad_avg; -1: none */
} rmsprop_optim;

ag_rmsprop_opts ag_rmsprop_defaults(void)
{
    return (ag_rmsprop_opts){.lr = 1e-2, .alpha = 0.99, .eps = 1e-8, .weight_decay = 0,
                             .momentum = 0, .centered = 0, .maximize = 0};
}

/* v = a v + (1-a) g^2; centered: ga = lerp(ga, g, 1-a), den = sqrt(v - ga^2) + eps,
   else den = sqrt(v) + eps; b = mu b + g / den, p -= lr b (b and p in place),
   or p -= lr g / den */
static ag_status rmsprop_step(ag_optim *o, ag_tape *t)
{
    const rmsprop_optim *r = (rmsprop_optim *)o;
    for (int i = 0; i < o->n_params; i++) {
        ag_tensor *p = o->params[i];
        if (!ag_tensor_grad(p)) continue;
        const ag_rmsprop_opts *op = agp_param_opts(o, i);
        double a = op->alpha, lr = agp_param_lr(o, i);
        ag_tensor *g = agp_fo_grad(o, t, i, op->maximize, op->weight_decay);
        ag_tensor *v = agp_fo_axpby2(t, a, agp_fo_state(o, i, 0), 1 - a, g);
        agp_fo_set_state(o, i, 0, v);
        if (r->avg >= 0) {
            ag_tensor *ga = ag_lerp(t, agp_fo_state(o, i, r->avg), g, 1 - a);
            agp_fo_set_state(o, i, r->avg, ga);
            v = ag_addcmul(t, v, ga, ga, -1);
        }
        ag_tensor *den = ag_add_scalar(t, ag_sqrt(t, v), op->eps);
        if (r->buf >= 0) {
            ag_tensor *b = agp_fo_state(o, i, r->buf);
            agp_fo_write_state(o, i, r->buf, (agp_write){AGP_ADDCDIV, ag_mul_scalar(t, b,
                                                         op->momentum), g, den, 1});
            agp_fo_write_param(o, i, (agp_write){AGP_ADDCMUL, p, b, agp_fo_one(t, p), -lr});
        } else {
            agp_fo_write_param(o, i, (agp_write){AGP_ADDCDIV, p, g, den, -lr});
        }
    }
    return agp_fo_commit(o, t);
}

static int rmsprop_check(const char *fn, const ag_rmsprop_opts *op)
{
    return agp_fo_check_lr(fn, op->lr) && agp_fo_check_unit(fn, "alpha", op->alpha, 1) &&
           agp_fo_check_nonneg(fn, "eps", op->eps) &&
           agp_fo_check_nonneg(fn, "weight_decay", op->weight_decay) &&
           agp_fo_check_nonneg(fn, "momentum", op->momentum);
}

/* Valid, and momentum on and centered as group 0's (they decide which
   state exists). */
static int rmsprop_check_group(const ag_optim *o, const void *opts, const char *fn, double *lr)
{
    const ag_rmsprop_opts *op = opts, *first = o->groups[0].opts;
    if (!rmsprop_check(fn, op)) return 0;
    if ((op->momentum > 0) != (first->momentum > 0) || !op->centered != !first->centered)
        return ag_set_last_error(AG_ERR_ARG, "%s: momentum %g and centered %d, but group 0 has "
                                 "momentum %g and centered %d: RMSprop's groups must agree on "
                                 "momentum > 0 and on centered", fn, op->momentum,
                                 op->centered, first->momentum, first->centered), 0;
    *lr = op->lr;
    return 1;
}

static const agp_optim_ops rmsprop_ops = {"RMSprop", rmsprop_step, agp_fo_destroy};
static const agp_option rmsprop_options[] = {
    AGP_OPTION(ag_rmsprop_opts, alpha), AGP_OPTION(ag_rmsprop_opts, eps),
    AGP_OPTION(ag_rmsprop_opts, weight_decay), AGP_OPTION(ag_rmsprop_opts, momentum),
    AGP_FLAG(ag_rmsprop_opts, centered), AGP_FLAG(ag_rmsprop_opts, maximize), {NULL, 0, 0}};
static const agp_group_ops rmsprop_groups = {sizeof(ag_rmsprop_opts), rmsprop_check_group,
                                          agp_fo_add_group, rmsprop_options};

ag_optim *ag_rmsprop_new(int n, ag_tensor *const *params, const ag_rmsprop_opts *opts)
{
    ag_rmsprop_opts op = opts ? *opts : ag_rmsprop_defaults();
    if (!rmsprop_check("ag_rmsprop_new", &op)) return NULL;
    const char *names[3] = {"square_avg"};
    int k = 1, buf = -1, avg = -1;
    if (op.momentum > 0) names[buf = k++] = "momentum_buffer";
    if (op.centered) names[avg = k++] = "grad_avg";
    ag_optim *o = agp_fo_new(sizeof(rmsprop_optim), &rmsprop_ops, &rmsprop_groups, n, params,
                             &op, op.lr, k, names);
    if (!o) return NULL;
    rmsprop_optim *r = (rmsprop_optim *)o;
    r->buf = buf;
    r->avg = avg;
    agp_fo_rule(o, 0, AGP_NONNEG);
    return o;
}
