/*
** adaptive.c: the optimizers with per-element step sizes from running
** averages of squared gradients: Adagrad, Adadelta and RMSprop (PyTorch's
** torch.optim names and rules). Adam and its kin are in adam.c.
*/
#include "first_order_base.h"

#include <math.h>

/* ------------------------------------------------------------ Adagrad --- */

typedef struct adagrad_optim {
    agp_fo fo;
    ag_adagrad_opts opt;
} adagrad_optim;

ag_adagrad_opts ag_adagrad_defaults(void)
{
    return (ag_adagrad_opts){.lr = 1e-2, .lr_decay = 0, .weight_decay = 0,
                             .initial_accumulator_value = 0, .eps = 1e-10, .maximize = 0};
}

/* clr = lr / (1 + (t-1) lr_decay); sum += g^2; p -= clr g / (sqrt(sum) + eps) */
static ag_status adagrad_step(ag_optim *o, ag_tape *t)
{
    const ag_adagrad_opts *op = &((adagrad_optim *)o)->opt;
    double clr = o->lr / (1 + (double)o->steps * op->lr_decay);
    for (int i = 0; i < o->n_params; i++) {
        ag_tensor *p = o->params[i];
        if (!ag_tensor_grad(p)) continue;
        ag_tensor *g = agp_fo_grad(o, t, i, op->maximize, op->weight_decay);
        ag_tensor *sum = ag_addcmul(t, agp_fo_state(o, i, 0), g, g, 1);
        ag_tensor *den = ag_add_scalar(t, ag_sqrt(t, sum), op->eps);
        agp_fo_set_state(o, i, 0, sum);
        agp_fo_write_param(o, i, (agp_write){AGP_ADDCDIV, p, g, den, -clr});
    }
    return agp_fo_commit(o, t);
}

static const agp_optim_ops adagrad_ops = {"Adagrad", adagrad_step, agp_fo_destroy};

ag_optim *ag_adagrad_new(int n, ag_tensor *const *params, const ag_adagrad_opts *opts)
{
    const char *fn = "ag_adagrad_new";
    ag_adagrad_opts op = opts ? *opts : ag_adagrad_defaults();
    if (!agp_fo_check_lr(fn, op.lr) || !agp_fo_check_nonneg(fn, "lr_decay", op.lr_decay) ||
        !agp_fo_check_nonneg(fn, "weight_decay", op.weight_decay) ||
        !agp_fo_check_nonneg(fn, "initial_accumulator_value", op.initial_accumulator_value) ||
        !agp_fo_check_nonneg(fn, "eps", op.eps))
        return NULL;
    static const char *const names[] = {"sum"};
    ag_optim *o = agp_fo_new(sizeof(adagrad_optim), &adagrad_ops, n, params, op.lr, 1, names);
    if (!o) return NULL;
    ((adagrad_optim *)o)->opt = op;
    agp_fo_rule(o, 0, AGP_NONNEG);
    if (op.initial_accumulator_value != 0 &&
        agp_fo_fill_state(o, 0, op.initial_accumulator_value) != AG_OK) {
        ag_optim_free(o);
        return NULL;
    }
    return o;
}

/* ----------------------------------------------------------- Adadelta --- */

typedef struct adadelta_optim {
    agp_fo fo;
    ag_adadelta_opts opt;
} adadelta_optim;

ag_adadelta_opts ag_adadelta_defaults(void)
{
    return (ag_adadelta_opts){.lr = 1.0, .rho = 0.9, .eps = 1e-6, .weight_decay = 0,
                              .maximize = 0};
}

/* v = rho v + (1-rho) g^2; d = sqrt(u + eps) / sqrt(v + eps) g;
   u = rho u + (1-rho) d^2 (in place); p -= lr d (in place) */
static ag_status adadelta_step(ag_optim *o, ag_tape *t)
{
    const ag_adadelta_opts *op = &((adadelta_optim *)o)->opt;
    double rho = op->rho;
    for (int i = 0; i < o->n_params; i++) {
        ag_tensor *p = o->params[i];
        if (!ag_tensor_grad(p)) continue;
        ag_tensor *g = agp_fo_grad(o, t, i, op->maximize, op->weight_decay);
        ag_tensor *v = agp_fo_axpby2(t, rho, agp_fo_state(o, i, 0), 1 - rho, g);
        ag_tensor *std = ag_sqrt(t, ag_add_scalar(t, v, op->eps));
        ag_tensor *u = agp_fo_state(o, i, 1);
        ag_tensor *d = ag_mul(t, ag_div(t, ag_sqrt(t, ag_add_scalar(t, u, op->eps)), std), g);
        agp_fo_set_state(o, i, 0, v);
        agp_fo_write_state(o, i, 1, (agp_write){AGP_ADDCMUL, ag_mul_scalar(t, u, rho), d, d,
                                                1 - rho});
        agp_fo_write_param(o, i, (agp_write){AGP_ADDCMUL, p, d, agp_fo_one(t, p), -o->lr});
    }
    return agp_fo_commit(o, t);
}

static const agp_optim_ops adadelta_ops = {"Adadelta", adadelta_step, agp_fo_destroy};

ag_optim *ag_adadelta_new(int n, ag_tensor *const *params, const ag_adadelta_opts *opts)
{
    const char *fn = "ag_adadelta_new";
    ag_adadelta_opts op = opts ? *opts : ag_adadelta_defaults();
    if (!agp_fo_check_lr(fn, op.lr) || !agp_fo_check_unit(fn, "rho", op.rho, 1) ||
        !agp_fo_check_nonneg(fn, "eps", op.eps) ||
        !agp_fo_check_nonneg(fn, "weight_decay", op.weight_decay))
        return NULL;
    static const char *const names[] = {"square_avg", "acc_delta"};
    ag_optim *o = agp_fo_new(sizeof(adadelta_optim), &adadelta_ops, n, params, op.lr, 2, names);
    if (!o) return NULL;
    ((adadelta_optim *)o)->opt = op;
    agp_fo_rule(o, 0, AGP_NONNEG);
    agp_fo_rule(o, 1, AGP_NONNEG);
    return o;
}

/* ------------------------------------------------------------ RMSprop --- */

typedef struct rmsprop_optim {
    agp_fo fo;
    ag_rmsprop_opts opt;
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
    const ag_rmsprop_opts *op = &r->opt;
    double a = op->alpha;
    for (int i = 0; i < o->n_params; i++) {
        ag_tensor *p = o->params[i];
        if (!ag_tensor_grad(p)) continue;
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
            agp_fo_write_param(o, i, (agp_write){AGP_ADDCMUL, p, b, agp_fo_one(t, p), -o->lr});
        } else {
            agp_fo_write_param(o, i, (agp_write){AGP_ADDCDIV, p, g, den, -o->lr});
        }
    }
    return agp_fo_commit(o, t);
}

static const agp_optim_ops rmsprop_ops = {"RMSprop", rmsprop_step, agp_fo_destroy};

ag_optim *ag_rmsprop_new(int n, ag_tensor *const *params, const ag_rmsprop_opts *opts)
{
    const char *fn = "ag_rmsprop_new";
    ag_rmsprop_opts op = opts ? *opts : ag_rmsprop_defaults();
    if (!agp_fo_check_lr(fn, op.lr) || !agp_fo_check_unit(fn, "alpha", op.alpha, 1) ||
        !agp_fo_check_nonneg(fn, "eps", op.eps) ||
        !agp_fo_check_nonneg(fn, "weight_decay", op.weight_decay) ||
        !agp_fo_check_nonneg(fn, "momentum", op.momentum))
        return NULL;
    const char *names[3] = {"square_avg"};
    int k = 1, buf = -1, avg = -1;
    if (op.momentum > 0) names[buf = k++] = "momentum_buffer";
    if (op.centered) names[avg = k++] = "grad_avg";
    ag_optim *o = agp_fo_new(sizeof(rmsprop_optim), &rmsprop_ops, n, params, op.lr, k, names);
    if (!o) return NULL;
    rmsprop_optim *r = (rmsprop_optim *)o;
    r->opt = op;
    r->buf = buf;
    r->avg = avg;
    agp_fo_rule(o, 0, AGP_NONNEG);
    return o;
}
