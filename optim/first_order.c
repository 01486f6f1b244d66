/*
** first_order.c: the machinery shared by the first-order optimizers:
** construction with named per-parameter state, all-or-nothing commits of a
** step's writes (copies, or out= ops that update in place), the gradient
** with maximize and weight decay, and the hyper-parameter checks. The update rules are in sgd.c, adaptive.c and
** adam.c.
*/
#include "first_order_base.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The rule of "step": a whole number of steps. */
static const agp_state_rule step_rule = {1, 0, (double)AG_OPTIM_MAX_STEPS, 1, 1};

/* Registers the states of parameters [first, n_params): the rule's, then
   "step". On failure the ones added are dropped. */
static ag_status register_states(ag_optim *o, int first)
{
    agp_fo *fo = (agp_fo *)o;
    int k = fo->per_param - 1, n0 = o->n_state;
    for (int i = first; i < o->n_params; i++) {
        for (int j = 0; j <= k; j++) {
            ag_tensor *x = j < k ? agp_add_state(o, i, fo->names[j])
                                 : agp_add_state_shaped(o, i, "step", AG_F64, 0, NULL, 0);
            if (!x) {
                agp_drop_state(o, n0);
                return AG_ERR_NOMEM;            /* ag_last_error() says where */
            }
            agp_state_rule r = j < k ? fo->rule[j] : step_rule;
            if (r.checked) agp_set_state_rule(o, o->n_state - 1, r);
        }
    }
    return AG_OK;
}

/* next sized for every parameter and state. */
static ag_status size_writes(ag_optim *o)
{
    agp_fo *fo = (agp_fo *)o;
    agp_write *w = realloc(fo->next, (size_t)(o->n_params + o->n_state) * sizeof *w);
    if (!w) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", o->ops->name);
    memset(w, 0, (size_t)(o->n_params + o->n_state) * sizeof *w);
    fo->next = w;
    return AG_OK;
}

ag_optim *agp_fo_new(size_t size, const agp_optim_ops *ops, const agp_group_ops *gops, int n,
                     ag_tensor *const *params, const void *opts, double lr, int k,
                     const char *const *names)
{
    ag_optim *o = agp_optim_new(size, ops, n, params, lr);
    if (!o) return NULL;
    agp_fo *fo = (agp_fo *)o;
    fo->per_param = k + 1;
    for (int j = 0; j < k; j++) fo->names[j] = names[j];
    if (agp_set_group0_opts(o, gops, opts) != AG_OK || register_states(o, 0) != AG_OK ||
        size_writes(o) != AG_OK) {
        ag_optim_free(o);               /* keeps ag_last_error() */
        return NULL;
    }
    return o;
}

ag_status agp_fo_add_group(ag_optim *o, int g)
{
    agp_fo *fo = (agp_fo *)o;
    int n0 = o->n_state;
    ag_status s = register_states(o, o->groups[g].first);
    if (s == AG_OK && fo->init_group) s = fo->init_group(o, g);
    if (s == AG_OK) s = size_writes(o);
    if (s != AG_OK) agp_drop_state(o, n0);
    return s;
}

void agp_fo_destroy(ag_optim *o)
{
    free(((agp_fo *)o)->next);
}

void agp_fo_rule(ag_optim *o, int j, agp_state_rule rule)
{
    agp_fo *fo = (agp_fo *)o;
    fo->rule[j] = rule;
    fo->rule[j].checked = 1;
    for (int i = 0; i < o->n_params; i++) agp_set_state_rule(o, i * fo->per_param + j, rule);
}

ag_status agp_fo_fill_state(ag_optim *o, int g, int j, double value)
{
    ag_status s = AG_OK;
    const agp_group *gr = &o->groups[g];
    for (int i = gr->first; i < gr->first + gr->count && s == AG_OK; i++) {
        ag_tensor *x = agp_fo_state(o, i, j);
        ag_tensor *v = ag_full(o->tape, ag_tensor_dtype(x), ag_tensor_ndim(x),
                               ag_tensor_shape(x), value);
        s = v ? ag_assign(x, v)
              : ag_set_last_error(ag_tape_status(o->tape), "%s", ag_tape_errmsg(o->tape));
    }
    ag_tape_reset(o->tape);
    return s;
}

double agp_fo_t(const ag_optim *o, int i)
{
    return ag_tensor_get(agp_fo_state(o, i, ((const agp_fo *)o)->per_param - 1), 0) + 1;
}

void agp_fo_count_steps(ag_optim *o)
{
    int k = ((agp_fo *)o)->per_param - 1;
    for (int i = 0; i < o->n_params; i++)
        if (ag_tensor_grad(o->params[i])) {
            ag_tensor *st = agp_fo_state(o, i, k);
            ag_tensor_set(st, 0, ag_tensor_get(st, 0) + 1);
        }
}

ag_tensor *agp_fo_state(const ag_optim *o, int i, int j)
{
    return o->state[i * ((const agp_fo *)o)->per_param + j].tensor;
}

void agp_fo_write_param(ag_optim *o, int i, agp_write w)
{
    ((agp_fo *)o)->next[i] = w;
}

void agp_fo_write_state(ag_optim *o, int i, int j, agp_write w)
{
    agp_fo *fo = (agp_fo *)o;
    fo->next[o->n_params + i * fo->per_param + j] = w;
}

void agp_fo_set_param(ag_optim *o, int i, ag_tensor *value)
{
    agp_fo_write_param(o, i, (agp_write){AGP_COPY, value, NULL, NULL, 0});
}

void agp_fo_set_state(ag_optim *o, int i, int j, ag_tensor *value)
{
    agp_fo_write_state(o, i, j, (agp_write){AGP_COPY, value, NULL, NULL, 0});
}

/* Runs write w into dst; AG_OK or the error (ag_last_error() set). */
static ag_status run_write(ag_tape *t, ag_tensor *dst, const agp_write *w)
{
    ag_tensor *r = dst;
    switch (w->kind) {
    case AGP_NONE: return AG_OK;
    case AGP_COPY: return ag_assign(dst, w->x);
    case AGP_LERP: r = ag_lerp_out(t, dst, w->x, w->a, w->s); break;
    case AGP_ADDCMUL: r = ag_addcmul_out(t, dst, w->x, w->a, w->b, w->s); break;
    case AGP_ADDCDIV: r = ag_addcdiv_out(t, dst, w->x, w->a, w->b, w->s); break;
    }
    return r ? AG_OK : ag_set_last_error(ag_tape_status(t), "%s", ag_tape_errmsg(t));
}

ag_status agp_fo_commit(ag_optim *o, ag_tape *t)
{
    agp_fo *fo = (agp_fo *)o;
    int total = o->n_params + o->n_state;
    ag_status s = ag_tape_status(t);
    if (s != AG_OK) s = ag_set_last_error(s, "%s", ag_tape_errmsg(t));
    for (int k = o->n_params; k < total && s == AG_OK; k++)        /* states first */
        s = run_write(t, o->state[k - o->n_params].tensor, &fo->next[k]);
    for (int k = 0; k < o->n_params && s == AG_OK; k++)
        s = run_write(t, o->params[k], &fo->next[k]);
    for (int k = 0; k < total; k++) fo->next[k].kind = AGP_NONE;
    if (s == AG_OK) agp_fo_count_steps(o);
    return s;
}

ag_tensor *agp_fo_grad(ag_optim *o, ag_tape *t, int i, int maximize, double weight_decay)
{
    ag_tensor *p = o->params[i], *g = ag_tensor_grad(p);
    if (maximize) g = ag_neg(t, g);
    if (weight_decay != 0) g = ag_add(t, g, ag_mul_scalar(t, p, weight_decay));
    return g;
}

ag_tensor *agp_fo_axpby2(ag_tape *t, double a, ag_tensor *x, double b, ag_tensor *y)
{
    return ag_addcmul(t, ag_mul_scalar(t, x, a), y, y, b);
}

ag_tensor *agp_fo_one(ag_tape *t, const ag_tensor *x)
{
    return ag_scalar(t, ag_tensor_dtype(x), 1);
}

int agp_fo_check_lr(const char *fn, double lr)
{
    return agp_fo_check_nonneg(fn, "lr", lr);
}

int agp_fo_check_nonneg(const char *fn, const char *what, double v)
{
    if (isfinite(v) && v >= 0) return 1;
    ag_set_last_error(AG_ERR_ARG, "%s: %s is %g, must be finite and >= 0", fn, what, v);
    return 0;
}

int agp_fo_check_unit(const char *fn, const char *what, double v, int closed)
{
    if (v >= 0 && (closed ? v <= 1 : v < 1)) return 1;
    ag_set_last_error(AG_ERR_ARG, "%s: %s is %g, must be in [0, 1%c", fn, what, v,
                      closed ? ']' : ')');
    return 0;
}
