/*
** adam.c: Adam (with AMSGrad), AdamW (decoupled weight decay), Adamax
** (infinity norm) and NAdam (Nesterov momentum with PyTorch's mu
** schedule), after PyTorch's torch.optim rules. The step count t is the
** parameter's own ("<i>.step" + 1 during a step), as PyTorch's.
*/
#include "first_order_base.h"

#include <math.h>

/* Checks lr, beta1, beta2, eps and weight_decay of one of the Adam kin. */
static int check_adam_like(const char *fn, double lr, double beta1, double beta2, double eps,
                           double weight_decay)
{
    return agp_fo_check_lr(fn, lr) && agp_fo_check_unit(fn, "beta1", beta1, 0) &&
           agp_fo_check_unit(fn, "beta2", beta2, 0) && agp_fo_check_nonneg(fn, "eps", eps) &&
           agp_fo_check_nonneg(fn, "weight_decay", weight_decay);
}

/* --------------------------------------------------------- Adam, AdamW --- */

typedef struct adam_optim {
    agp_fo fo;
    int decoupled;              /* AdamW */
} adam_optim;

ag_adam_opts ag_adam_defaults(void)
{
    return (ag_adam_opts){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                          .weight_decay = 0, .amsgrad = 0, .maximize = 0};
}

ag_adam_opts ag_adamw_defaults(void)
{
    ag_adam_opts op = ag_adam_defaults();
    op.weight_decay = 1e-2;
    return op;
}

/*
** AdamW: p *= 1 - lr wd (Adam: g += wd p); m = lerp(m, g, 1-b1);
** v = b2 v + (1-b2) g^2; vmax = max(vmax, v) (amsgrad);
** p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps),
** in place, one pass per parameter: ag_adam_update (ag_update.h), the
** fused kernel with PyTorch's order of operations. Every operand is
** checked before the first parameter is written, so a step that fails
** changes nothing.
*/
static ag_status adam_step(ag_optim *o, ag_tape *t)
{
    const adam_optim *a = (adam_optim *)o;
    for (int i = 0; i < o->n_params; i++) {
        const ag_tensor *p = o->params[i], *g = ag_tensor_grad(p);
        if (g && !agp_same_layout(g, p))
            return ag_set_last_error(AG_ERR_SHAPE, "%s: the grad of parameter %d has another "
                                     "shape or dtype than the parameter", o->ops->name, i);
    }
    for (int i = 0; i < o->n_params; i++) {
        ag_tensor *p = o->params[i];
        const ag_tensor *g = ag_tensor_grad(p);
        if (!g) continue;
        const ag_adam_opts *op = agp_param_opts(o, i);
        const ag_adam_hparams h = {.lr = agp_param_lr(o, i), .beta1 = op->beta1,
                                   .beta2 = op->beta2, .eps = op->eps,
                                   .weight_decay = op->weight_decay,
                                   .step = (int64_t)agp_fo_t(o, i), .decoupled = a->decoupled,
                                   .amsgrad = op->amsgrad, .maximize = op->maximize};
        if (!ag_adam_update(t, p, g, agp_fo_state(o, i, 0), agp_fo_state(o, i, 1),
                            op->amsgrad ? agp_fo_state(o, i, 2) : NULL, &h))
            return ag_set_last_error(ag_tape_status(t), "%s", ag_tape_errmsg(t));
    }
    agp_fo_count_steps(o);
    return AG_OK;
}

/* Valid, and amsgrad as group 0's (it decides whether "max_exp_avg_sq"
   exists). */
static int adam_check_group(const ag_optim *o, const void *opts, const char *fn, double *lr)
{
    const ag_adam_opts *op = opts, *first = o->groups[0].opts;
    if (!check_adam_like(fn, op->lr, op->beta1, op->beta2, op->eps, op->weight_decay)) return 0;
    if (!op->amsgrad != !first->amsgrad)
        return ag_set_last_error(AG_ERR_ARG, "%s: amsgrad is %d but group 0's is %d: the "
                                 "groups must agree on amsgrad", fn, op->amsgrad,
                                 first->amsgrad), 0;
    *lr = op->lr;
    return 1;
}

static const agp_optim_ops adam_ops = {"Adam", adam_step, agp_fo_destroy};
static const agp_option adam_options[] = {
    AGP_OPTION(ag_adam_opts, beta1), AGP_OPTION(ag_adam_opts, beta2),
    AGP_OPTION(ag_adam_opts, eps), AGP_OPTION(ag_adam_opts, weight_decay),
    AGP_FLAG(ag_adam_opts, amsgrad), AGP_FLAG(ag_adam_opts, maximize), {NULL, 0, 0}};
static const agp_group_ops adam_groups = {sizeof(ag_adam_opts), adam_check_group,
                                          agp_fo_add_group, adam_options};
static const agp_optim_ops adamw_ops = {"AdamW", adam_step, agp_fo_destroy};

static ag_optim *adam_make(const char *fn, int n, ag_tensor *const *params,
                           const ag_adam_opts *op, int decoupled)
{
    if (!check_adam_like(fn, op->lr, op->beta1, op->beta2, op->eps, op->weight_decay))
        return NULL;
    static const char *const names[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    ag_optim *o = agp_fo_new(sizeof(adam_optim), decoupled ? &adamw_ops : &adam_ops,
                             &adam_groups, n, params, op, op->lr, op->amsgrad ? 3 : 2, names);
    if (!o) return NULL;
    ((adam_optim *)o)->decoupled = decoupled;
    agp_fo_rule(o, 1, AGP_NONNEG);
    if (op->amsgrad) agp_fo_rule(o, 2, AGP_NONNEG);
    return o;
}

ag_optim *ag_adam_new(int n, ag_tensor *const *params, const ag_adam_opts *opts)
{
    ag_adam_opts op = opts ? *opts : ag_adam_defaults();
    return adam_make("ag_adam_new", n, params, &op, 0);
}

ag_optim *ag_adamw_new(int n, ag_tensor *const *params, const ag_adam_opts *opts)
{
    ag_adam_opts op = opts ? *opts : ag_adamw_defaults();
    return adam_make("ag_adamw_new", n, params, &op, 1);
}

/* ------------------------------------------------------------- Adamax --- */


ag_adamax_opts ag_adamax_defaults(void)
{
    return (ag_adamax_opts){.lr = 2e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                            .weight_decay = 0, .maximize = 0};
}

/* m = lerp(m, g, 1-b1); u = max(b2 u, |g| + eps); p -= lr / (1 - b1^t) * m / u
   (m and p in place) */
static ag_status adamax_step(ag_optim *o, ag_tape *t)
{
    for (int i = 0; i < o->n_params; i++) {
        ag_tensor *p = o->params[i];
        if (!ag_tensor_grad(p)) continue;
        const ag_adamax_opts *op = agp_param_opts(o, i);
        double clr = agp_param_lr(o, i) / (1 - pow(op->beta1, agp_fo_t(o, i)));
        ag_tensor *g = agp_fo_grad(o, t, i, op->maximize, op->weight_decay);
        ag_tensor *m = agp_fo_state(o, i, 0);
        ag_tensor *u = ag_maximum(t, ag_mul_scalar(t, agp_fo_state(o, i, 1), op->beta2),
                                  ag_add_scalar(t, ag_abs(t, g), op->eps));
        agp_fo_write_state(o, i, 0, (agp_write){AGP_LERP, m, g, NULL, 1 - op->beta1});
        agp_fo_set_state(o, i, 1, u);
        agp_fo_write_param(o, i, (agp_write){AGP_ADDCDIV, p, m, u, -clr});
    }
    return agp_fo_commit(o, t);
}

static int adamax_check_group(const ag_optim *o, const void *opts, const char *fn, double *lr)
{
    const ag_adamax_opts *op = opts;
    (void)o;
    *lr = op->lr;
    return check_adam_like(fn, op->lr, op->beta1, op->beta2, op->eps, op->weight_decay);
}

static const agp_optim_ops adamax_ops = {"Adamax", adamax_step, agp_fo_destroy};
static const agp_option adamax_options[] = {
    AGP_OPTION(ag_adamax_opts, beta1), AGP_OPTION(ag_adamax_opts, beta2),
    AGP_OPTION(ag_adamax_opts, eps), AGP_OPTION(ag_adamax_opts, weight_decay),
    AGP_FLAG(ag_adamax_opts, maximize), {NULL, 0, 0}};
static const agp_group_ops adamax_groups = {sizeof(ag_adamax_opts), adamax_check_group,
                                          agp_fo_add_group, adamax_options};

ag_optim *ag_adamax_new(int n, ag_tensor *const *params, const ag_adamax_opts *opts)
{
    ag_adamax_opts op = opts ? *opts : ag_adamax_defaults();
    if (!check_adam_like("ag_adamax_new", op.lr, op.beta1, op.beta2, op.eps, op.weight_decay))
        return NULL;
    static const char *const names[] = {"exp_avg", "exp_inf"};
    ag_optim *o = agp_fo_new(sizeof(agp_fo), &adamax_ops, &adamax_groups, n, params, &op, op.lr,
                             2, names);
    if (!o) return NULL;
    agp_fo_rule(o, 1, AGP_NONNEG);
    return o;
}

/* -------------------------------------------------------------- NAdam --- */


ag_nadam_opts ag_nadam_defaults(void)
{
    return (ag_nadam_opts){.lr = 2e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                           .weight_decay = 0, .momentum_decay = 4e-3,
                           .decoupled_weight_decay = 0, .maximize = 0};
}

/* mu_t = b1 (1 - 0.5 * 0.96^(t psi)) */
static double nadam_mu(const ag_nadam_opts *op, double step)
{
    return op->beta1 * (1 - 0.5 * pow(0.96, step * op->momentum_decay));
}

/* P = P mu_t; m, v as Adam; den = sqrt(v / (1 - b2^t)) + eps;
   p -= lr (1 - mu_t) / (1 - P) g / den + lr mu_{t+1} / (1 - P mu_{t+1}) m / den
   (PyTorch's two addcdiv_, the second straight into p; m in place) */
static ag_status nadam_step(ag_optim *o, ag_tape *t)
{
    for (int i = 0; i < o->n_params; i++) {
        ag_tensor *p = o->params[i];
        if (!ag_tensor_grad(p)) continue;
        const ag_nadam_opts *op = agp_param_opts(o, i);
        double step = agp_fo_t(o, i), lr = agp_param_lr(o, i), b1 = op->beta1, b2 = op->beta2;
        double mu = nadam_mu(op, step), mu_next = nadam_mu(op, step + 1);
        double bc2 = 1 - pow(b2, step);
        int decoupled = op->decoupled_weight_decay;
        ag_tensor *g = agp_fo_grad(o, t, i, op->maximize, decoupled ? 0 : op->weight_decay);
        if (decoupled && op->weight_decay != 0)
            p = ag_mul_scalar(t, p, 1 - lr * op->weight_decay);
        ag_tensor *mu_prod = agp_fo_state(o, i, 2), *m = agp_fo_state(o, i, 0);
        double prod = ag_tensor_get(mu_prod, 0) * mu;
        ag_tensor *v = agp_fo_axpby2(t, b2, agp_fo_state(o, i, 1), 1 - b2, g);
        ag_tensor *den = ag_add_scalar(t, ag_sqrt(t, ag_div_scalar(t, v, bc2)), op->eps);
        p = ag_addcdiv(t, p, g, den, -lr * (1 - mu) / (1 - prod));
        agp_fo_write_state(o, i, 0, (agp_write){AGP_LERP, m, g, NULL, 1 - b1});
        agp_fo_set_state(o, i, 1, v);
        agp_fo_set_state(o, i, 2, ag_mul_scalar(t, mu_prod, mu));
        agp_fo_write_param(o, i, (agp_write){AGP_ADDCDIV, p, m, den,
                                             -lr * mu_next / (1 - prod * mu_next)});
    }
    return agp_fo_commit(o, t);
}

static int nadam_check(const char *fn, const ag_nadam_opts *op)
{
    return check_adam_like(fn, op->lr, op->beta1, op->beta2, op->eps, op->weight_decay) &&
           agp_fo_check_nonneg(fn, "momentum_decay", op->momentum_decay);
}

static int nadam_check_group(const ag_optim *o, const void *opts, const char *fn, double *lr)
{
    (void)o;
    *lr = ((const ag_nadam_opts *)opts)->lr;
    return nadam_check(fn, opts);
}

/* Makes each mu_product of group g a 0-d tensor holding 1 (registered
   param-shaped). */
static ag_status nadam_init_group(ag_optim *o, int g)
{
    const agp_group *gr = &o->groups[g];
    for (int i = gr->first; i < gr->first + gr->count; i++) {
        ag_named_tensor *e = &o->state[i * ((agp_fo *)o)->per_param + 2];
        ag_tensor *one = ag_scalar(NULL, ag_tensor_dtype(e->tensor), 1.0);
        if (!one) return AG_ERR_NOMEM;
        ag_tensor_free(e->tensor);
        e->tensor = one;
    }
    return AG_OK;
}

static const agp_optim_ops nadam_ops = {"NAdam", nadam_step, agp_fo_destroy};
static const agp_option nadam_options[] = {
    AGP_OPTION(ag_nadam_opts, beta1), AGP_OPTION(ag_nadam_opts, beta2),
    AGP_OPTION(ag_nadam_opts, eps), AGP_OPTION(ag_nadam_opts, weight_decay),
    AGP_OPTION(ag_nadam_opts, momentum_decay),
    AGP_FLAG(ag_nadam_opts, decoupled_weight_decay),
    AGP_FLAG(ag_nadam_opts, maximize), {NULL, 0, 0}};
static const agp_group_ops nadam_groups = {sizeof(ag_nadam_opts), nadam_check_group,
                                          agp_fo_add_group, nadam_options};

ag_optim *ag_nadam_new(int n, ag_tensor *const *params, const ag_nadam_opts *opts)
{
    ag_nadam_opts op = opts ? *opts : ag_nadam_defaults();
    if (!nadam_check("ag_nadam_new", &op)) return NULL;
    static const char *const names[] = {"exp_avg", "exp_avg_sq", "mu_product"};
    ag_optim *o = agp_fo_new(sizeof(agp_fo), &nadam_ops, &nadam_groups, n, params, &op, op.lr,
                             3, names);
    if (!o) return NULL;
    ((agp_fo *)o)->init_group = nadam_init_group;
    if (nadam_init_group(o, 0) != AG_OK) {
        ag_optim_free(o);
        return NULL;
    }
    agp_fo_rule(o, 1, AGP_NONNEG);
    /* P_t = mu_1 ... mu_t in [0, 1], so that 1 - P_t mu_{t+1} > 0 divides */
    agp_fo_rule(o, 2, (agp_state_rule){1, 0, 1, 0, 1});
    return o;
}
