/*
** sgd.c: stochastic gradient descent with momentum, dampening, Nesterov
** momentum and L2 weight decay (PyTorch's torch.optim.SGD).
*/
#include "first_order_base.h"

#include <math.h>

/* The options of each group are in the base (agp_param_opts). */
typedef struct sgd_optim {
    agp_fo fo;
} sgd_optim;

ag_sgd_opts ag_sgd_defaults(void)
{
    return (ag_sgd_opts){.lr = NAN, .momentum = 0, .dampening = 0, .weight_decay = 0,
                         .nesterov = 0, .maximize = 0};
}

/* The momentum buffer's new value, mu b + (1 - damp) g (g on the
   parameter's first step: PyTorch's buffer starts as None). */
static agp_write sgd_buffer(ag_optim *o, ag_tape *t, int i, ag_tensor *g, ag_tensor *one)
{
    const ag_sgd_opts *op = agp_param_opts(o, i);
    if (agp_fo_t(o, i) == 1) return (agp_write){AGP_COPY, g, NULL, NULL, 0};
    return (agp_write){AGP_ADDCMUL, ag_mul_scalar(t, agp_fo_state(o, i, 0), op->momentum), g,
                       one, 1 - op->dampening};
}

/* g = grad + wd p; b = t == 1 ? g : mu b + (1 - damp) g;
   g = nesterov ? g + mu b : b; p -= lr g. Without Nesterov, b and then p
   are updated in place (p reads b's new value). */
static ag_status sgd_step(ag_optim *o, ag_tape *t)
{
    for (int i = 0; i < o->n_params; i++) {
        ag_tensor *p = o->params[i];
        if (!ag_tensor_grad(p)) continue;
        const ag_sgd_opts *op = agp_param_opts(o, i);
        ag_tensor *g = agp_fo_grad(o, t, i, op->maximize, op->weight_decay);
        ag_tensor *one = agp_fo_one(t, p), *step = g;
        if (op->momentum != 0) {
            agp_write b = sgd_buffer(o, t, i, g, one);
            if (op->nesterov) {
                ag_tensor *nb = b.kind == AGP_COPY ? g : ag_addcmul(t, b.x, b.a, b.b, b.s);
                agp_fo_set_state(o, i, 0, nb);
                step = ag_addcmul(t, g, nb, one, op->momentum);
            } else {
                agp_fo_write_state(o, i, 0, b);
                step = agp_fo_state(o, i, 0);
            }
        }
        agp_fo_write_param(o, i, (agp_write){AGP_ADDCMUL, p, step, one, -agp_param_lr(o, i)});
    }
    return agp_fo_commit(o, t);
}

static int sgd_check(const char *fn, const ag_sgd_opts *op)
{
    if (isnan(op->lr)) {
        ag_set_last_error(AG_ERR_ARG, "%s: lr is required (SGD has no default learning rate, "
                          "as in PyTorch): set ag_sgd_opts.lr", fn);
        return 0;
    }
    if (!agp_fo_check_lr(fn, op->lr) || !agp_fo_check_nonneg(fn, "momentum", op->momentum) ||
        !agp_fo_check_unit(fn, "dampening", op->dampening, 1) ||
        !agp_fo_check_nonneg(fn, "weight_decay", op->weight_decay))
        return 0;
    if (op->nesterov && (op->momentum <= 0 || op->dampening != 0)) {
        ag_set_last_error(AG_ERR_ARG, "%s: nesterov needs momentum > 0 and dampening 0 "
                          "(momentum is %g, dampening %g)", fn, op->momentum, op->dampening);
        return 0;
    }
    return 1;
}

/* A group's options: valid, and with momentum on as group 0's is (it
   decides whether "momentum_buffer" exists). */
static int sgd_check_group(const ag_optim *o, const void *opts, const char *fn, double *lr)
{
    const ag_sgd_opts *op = opts, *first = o->groups[0].opts;
    if (!sgd_check(fn, op)) return 0;
    if ((op->momentum != 0) != (first->momentum != 0))
        return ag_set_last_error(AG_ERR_ARG, "%s: momentum is %g but group 0's is %g: SGD's "
                                 "groups must all have momentum or none", fn, op->momentum,
                                 first->momentum), 0;
    *lr = op->lr;
    return 1;
}

static const agp_optim_ops sgd_ops = {"SGD", sgd_step, agp_fo_destroy};
static const agp_option sgd_options[] = {
    AGP_OPTION(ag_sgd_opts, momentum), AGP_OPTION(ag_sgd_opts, dampening),
    AGP_OPTION(ag_sgd_opts, weight_decay), AGP_FLAG(ag_sgd_opts, nesterov),
    AGP_FLAG(ag_sgd_opts, maximize), {NULL, 0, 0}};
static const agp_group_ops sgd_groups = {sizeof(ag_sgd_opts), sgd_check_group, agp_fo_add_group,
                                         sgd_options};

ag_optim *ag_sgd_new(int n, ag_tensor *const *params, const ag_sgd_opts *opts)
{
    ag_sgd_opts op = opts ? *opts : ag_sgd_defaults();
    if (!sgd_check("ag_sgd_new", &op)) return NULL;
    static const char *const names[] = {"momentum_buffer"};
    return agp_fo_new(sizeof(sgd_optim), &sgd_ops, &sgd_groups, n, params, &op, op.lr,
                      op.momentum != 0 ? 1 : 0, names);
}
