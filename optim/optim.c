/*
** optim.c: the optimizer base: construction and validation of the
** parameter list, the state registry, the step driver (a private tape in
** no-grad mode, reset around each step), the checks of what enters the
** state (setters, state rules, the step count), accessors and free. The
** update rules live in their own files.
*/
#include "optim_base.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int agp_check_range(const char *fn, const char *what, double v, double lo, double hi)
{
    if (v >= lo && v <= hi) return 1;
    ag_set_last_error(AG_ERR_ARG, "%s: %s is %g, must be in [%g, %g]", fn, what, v, lo, hi);
    return 0;
}

int agp_same_layout(const ag_tensor *a, const ag_tensor *b)
{
    int nd = ag_tensor_ndim(a);
    return ag_tensor_dtype(a) == ag_tensor_dtype(b) && nd == ag_tensor_ndim(b) &&
           !memcmp(ag_tensor_shape(a), ag_tensor_shape(b), (size_t)nd * sizeof(int64_t));
}

ag_optim *agp_optim_new(size_t size, const agp_optim_ops *ops, int n,
                        ag_tensor *const *params, double lr)
{
    const char *fn = ops->name;
    if (n < 1 || !params)
        return ag_set_last_error(AG_ERR_ARG, "%s: no parameters", fn), NULL;
    for (int i = 0; i < n; i++) {
        if (!params[i] || ag_tensor_tape(params[i]))
            return ag_set_last_error(AG_ERR_ARG, "%s: parameter %d is %s", fn, i,
                                     params[i] ? "a tape tensor" : "NULL"), NULL;
        for (int j = 0; j < i; j++)
            if (params[j] == params[i])
                return ag_set_last_error(AG_ERR_ARG, "%s: parameter %d repeats %d", fn, i, j),
                       NULL;
    }
    if (!(isfinite(lr) && lr >= 0))
        return ag_set_last_error(AG_ERR_ARG, "%s: lr is %g, must be finite and >= 0", fn, lr),
               NULL;
    ag_optim *o = calloc(1, size);
    ag_tensor **p = malloc((size_t)n * sizeof *p);
    agp_group *g = calloc(1, sizeof *g);
    int *of = calloc((size_t)n, sizeof *of);
    ag_tape *t = ag_tape_new();
    if (!o || !p || !g || !of || !t) {
        free(o), free(p), free(g), free(of), ag_tape_free(t);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn), NULL;
    }
    memcpy(p, params, (size_t)n * sizeof *p);
    ag_set_grad_enabled(t, 0);
    o->ops = ops;
    o->n_params = n;
    o->params = p;
    o->lr = o->base_lr = lr;
    *g = (agp_group){0, n, lr, lr, NULL};
    o->n_groups = 1;
    o->groups = g;
    o->group_of = of;
    o->tape = t;
    return o;
}

ag_tensor *agp_add_state_shaped(ag_optim *o, int i, const char *name, ag_dtype dt, int ndim,
                                const int64_t *shape, double fill)
{
    if (o->n_state == o->cap_state) {
        int cap = o->cap_state ? 2 * o->cap_state : 8;
        ag_named_tensor *s = realloc(o->state, (size_t)cap * sizeof *s);
        if (s) o->state = s;
        agp_state_rule *r = s ? realloc(o->rules, (size_t)cap * sizeof *r) : NULL;
        if (!r) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", o->ops->name), NULL;
        o->rules = r;
        o->cap_state = cap;
    }
    ag_tensor *x = ag_full(NULL, dt, ndim, shape, fill);
    if (!x) return NULL;
    ag_named_tensor *e = &o->state[o->n_state++];
    snprintf(e->name, sizeof e->name, "%d.%s", i, name);
    e->tensor = x;
    e->is_buffer = 1;
    o->rules[o->n_state - 1] = (agp_state_rule){0, 0, 0, 0, 0};
    return x;
}

ag_tensor *agp_add_state(ag_optim *o, int i, const char *name)
{
    ag_tensor *p = o->params[i];
    return agp_add_state_shaped(o, i, name, ag_tensor_dtype(p), ag_tensor_ndim(p),
                                ag_tensor_shape(p), 0);
}

void agp_set_state_rule(ag_optim *o, int k, agp_state_rule rule)
{
    rule.checked = 1;
    o->rules[k] = rule;
}

/* "an integer in [0, 20]" or "in [0, inf]" into buf. */
static const char *rule_text(const agp_state_rule *r, char *buf, size_t size)
{
    snprintf(buf, size, "%s[%.17g, %.17g]", r->integral ? "an integer in " : "in ", r->lo,
             r->hi);
    return buf;
}

ag_status agp_check_state_value(const ag_optim *o, int k, ag_tensor *v, ag_status code,
                                const char *who, const char *name)
{
    const agp_state_rule *r = &o->rules[k];
    if (!r->checked) return AG_OK;
    int64_t n = ag_tensor_numel(v);
    const void *data = ag_tensor_data(v);
    int f64 = ag_tensor_dtype(v) == AG_F64;
    for (int64_t i = 0; i < n; i++) {
        double x = f64 ? ((const double *)data)[i] : ((const float *)data)[i];
        if (x >= r->lo && x <= r->hi && (!r->integral || x == floor(x))) continue;
        char rule[96], elem[40] = "";
        if (ag_tensor_ndim(v) > 0) snprintf(elem, sizeof elem, " element %" PRId64, i);
        return ag_set_last_error(code, "%s: %s state '%s'%s is %.17g, must be %s", who,
                                 o->ops->name, name, elem, x, rule_text(r, rule, sizeof rule));
    }
    return AG_OK;
}

ag_status agp_step_begin(const ag_optim *o, const char *fn)
{
    if (o->steps >= AG_OPTIM_MAX_STEPS)
        return ag_set_last_error(AG_ERR_STATE, "%s: %s has taken %" PRId64 " steps, the most "
                                 "it counts (AG_OPTIM_MAX_STEPS)", fn, o->ops->name, o->steps);
    ag_status s = AG_OK;
    for (int k = 0; k < o->n_state && s == AG_OK; k++)
        if (o->rules[k].every_step)
            s = agp_check_state_value(o, k, o->state[k].tensor, AG_ERR_STATE, fn,
                                      o->state[k].name);
    return s;
}

ag_status ag_optim_check_state(const ag_optim *o)
{
    const char *fn = "ag_optim_check_state";
    if (!o) return ag_set_last_error(AG_ERR_ARG, "%s: optimizer is NULL", fn);
    ag_status s = AG_OK;
    for (int k = 0; k < o->n_state && s == AG_OK; k++)
        s = agp_check_state_value(o, k, o->state[k].tensor, AG_ERR_STATE, fn, o->state[k].name);
    return s;
}

ag_status ag_optim_step(ag_optim *o)
{
    if (!o) return ag_set_last_error(AG_ERR_ARG, "ag_optim_step: optimizer is NULL");
    ag_status s = agp_step_begin(o, "ag_optim_step");
    if (s != AG_OK) return s;
    ag_tape_reset(o->tape);
    s = o->ops->step(o, o->tape);
    if (s == AG_OK && ag_tape_status(o->tape) != AG_OK)
        s = ag_set_last_error(ag_tape_status(o->tape), "%s", ag_tape_errmsg(o->tape));
    if (s == AG_OK) o->steps++;
    ag_tape_reset(o->tape);             /* nothing of the step outlives it */
    return s;
}

void agp_drop_state(ag_optim *o, int n_state)
{
    while (o->n_state > n_state) ag_tensor_free(o->state[--o->n_state].tensor);
}

void ag_optim_zero_grad(ag_optim *o)
{
    if (!o) return;
    for (int i = 0; i < o->n_params; i++) ag_zero_grad(o->params[i]);
}

void ag_optim_clear_grad(ag_optim *o)
{
    if (!o) return;
    for (int i = 0; i < o->n_params; i++) ag_clear_grad(o->params[i]);
}

double ag_optim_get_lr(const ag_optim *o) { return o ? o->lr : 0; }
double ag_optim_base_lr(const ag_optim *o) { return o ? o->base_lr : 0; }
int64_t ag_optim_steps(const ag_optim *o) { return o ? o->steps : 0; }
const char *ag_optim_name(const ag_optim *o) { return o ? o->ops->name : ""; }
int ag_optim_num_params(const ag_optim *o) { return o ? o->n_params : 0; }

ag_tensor *ag_optim_param(const ag_optim *o, int i)
{
    return o && i >= 0 && i < o->n_params ? o->params[i] : NULL;
}

/* A learning rate for setter fn: finite and >= 0. */
static ag_status set_rate(const char *fn, ag_optim *o, double lr, double *dst)
{
    if (!o) return ag_set_last_error(AG_ERR_ARG, "%s: optimizer is NULL", fn);
    if (!(isfinite(lr) && lr >= 0))
        return ag_set_last_error(AG_ERR_ARG, "%s: lr is %g, must be finite and >= 0", fn, lr);
    *dst = lr;
    return AG_OK;
}

ag_status ag_optim_set_lr(ag_optim *o, double lr)
{
    ag_status s = set_rate("ag_optim_set_lr", o, lr, o ? &o->lr : NULL);
    for (int g = 1; s == AG_OK && g < o->n_groups; g++) *agp_group_lr(o, g) = lr;
    return s;
}

ag_status ag_optim_set_base_lr(ag_optim *o, double lr)
{
    ag_status s = set_rate("ag_optim_set_base_lr", o, lr, o ? &o->base_lr : NULL);
    for (int g = 1; s == AG_OK && g < o->n_groups; g++) *agp_group_base_lr(o, g) = lr;
    return s;
}

ag_status ag_optim_set_group_lr(ag_optim *o, int g, double lr)
{
    const char *fn = "ag_optim_set_group_lr";
    if (o && (g < 0 || g >= o->n_groups))
        return ag_set_last_error(AG_ERR_ARG, "%s: group %d does not exist (the optimizer has "
                                 "%d)", fn, g, o->n_groups);
    return set_rate(fn, o, lr, o ? agp_group_lr(o, g) : NULL);
}

ag_status ag_optim_set_group_base_lr(ag_optim *o, int g, double lr)
{
    const char *fn = "ag_optim_set_group_base_lr";
    if (o && (g < 0 || g >= o->n_groups))
        return ag_set_last_error(AG_ERR_ARG, "%s: group %d does not exist (the optimizer has "
                                 "%d)", fn, g, o->n_groups);
    return set_rate(fn, o, lr, o ? agp_group_base_lr(o, g) : NULL);
}

ag_status ag_optim_set_steps(ag_optim *o, int64_t steps)
{
    const char *fn = "ag_optim_set_steps";
    if (!o) return ag_set_last_error(AG_ERR_ARG, "%s: optimizer is NULL", fn);
    if (steps < 0 || steps > AG_OPTIM_MAX_STEPS)
        return ag_set_last_error(AG_ERR_ARG, "%s: steps is %" PRId64 ", must be in [0, %" PRId64
                                 "] (AG_OPTIM_MAX_STEPS)", fn, steps, AG_OPTIM_MAX_STEPS);
    o->steps = steps;
    return AG_OK;
}

int ag_optim_state(const ag_optim *o, ag_named_tensor *out, int max)
{
    if (!o) return 0;
    for (int i = 0; out && i < o->n_state && i < max; i++) out[i] = o->state[i];
    return o->n_state;
}

void ag_optim_free(ag_optim *o)
{
    if (!o) return;
    if (o->ops->destroy) o->ops->destroy(o);
    for (int i = 0; i < o->n_state; i++) ag_tensor_free(o->state[i].tensor);
    free(o->state);
    free(o->rules);
    free(o->params);
    for (int g = 0; g < o->n_groups; g++) free(o->groups[g].opts);
    free(o->groups);
    free(o->group_of);
    ag_tape_free(o->tape);
    free(o);
}
