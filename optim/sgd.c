/*
** sgd.c: stochastic gradient descent with momentum, dampening, Nesterov
** momentum and L2 weight decay (PyTorch's torch.optim.SGD).
*/
#include "first_order_base.h"

typedef struct sgd_optim {
    agp_fo fo;
    ag_sgd_opts opt;
} sgd_optim;

ag_sgd_opts ag_sgd_defaults(void)
{
    return (ag_sgd_opts){.lr = 1e-3, .momentum = 0, .dampening = 0, .weight_decay = 0,
                         .nesterov = 0, .maximize = 0};
}

/* g = grad + wd p; b = t == 1 ? g : mu b + (1 - damp) g;
   g = nesterov ? g + mu b : b; p -= lr g */
static ag_status sgd_step(ag_optim *o, ag_tape *t)
{
    const ag_sgd_opts *op = &((sgd_optim *)o)->opt;
    int first = o->steps == 0;
    for (int i = 0; i < o->n_params; i++) {
        ag_tensor *p = o->params[i];
        if (!ag_tensor_grad(p)) continue;
        ag_tensor *g = agp_fo_grad(o, t, i, op->maximize, op->weight_decay);
        if (op->momentum != 0) {
            ag_tensor *b = agp_fo_state(o, i, 0);
            b = first ? g : agp_fo_axpby(t, op->momentum, b, 1 - op->dampening, g);
            agp_fo_set_state(o, i, 0, b);
            g = op->nesterov ? ag_add(t, g, ag_mul_scalar(t, b, op->momentum)) : b;
        }
        agp_fo_set_param(o, i, ag_sub(t, p, ag_mul_scalar(t, g, o->lr)));
    }
    return agp_fo_commit(o, t);
}

static const agp_optim_ops sgd_ops = {"SGD", sgd_step, agp_fo_destroy};

static int sgd_check(const char *fn, const ag_sgd_opts *op)
{
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

ag_optim *ag_sgd_new(int n, ag_tensor *const *params, const ag_sgd_opts *opts)
{
    ag_sgd_opts op = opts ? *opts : ag_sgd_defaults();
    if (!sgd_check("ag_sgd_new", &op)) return NULL;
    static const char *const names[] = {"momentum_buffer"};
    ag_optim *o = agp_fo_new(sizeof(sgd_optim), &sgd_ops, n, params, op.lr,
                             op.momentum != 0 ? 1 : 0, names);
    if (o) ((sgd_optim *)o)->opt = op;
    return o;
}
