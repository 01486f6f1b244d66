/*
** optim.c: the optimizer base: construction and validation of the
** parameter list, the state registry, the step driver (a private tape in
** no-grad mode, reset around each step), accessors and free. The update
** rules live in their own files.
*/
#include "optim_base.h"

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
    if (!agp_check_range(fn, "lr", lr, 0, INFINITY)) return NULL;
    ag_optim *o = calloc(1, size);
    ag_tensor **p = malloc((size_t)n * sizeof *p);
    ag_tape *t = ag_tape_new();
    if (!o || !p || !t) {
        free(o), free(p), ag_tape_free(t);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn), NULL;
    }
    memcpy(p, params, (size_t)n * sizeof *p);
    ag_set_grad_enabled(t, 0);
    o->ops = ops;
    o->n_params = n;
    o->params = p;
    o->lr = o->base_lr = lr;
    o->tape = t;
    return o;
}

ag_tensor *agp_add_state_shaped(ag_optim *o, int i, const char *name, ag_dtype dt, int ndim,
                                const int64_t *shape, double fill)
{
    if (o->n_state == o->cap_state) {
        int cap = o->cap_state ? 2 * o->cap_state : 8;
        ag_named_tensor *s = realloc(o->state, (size_t)cap * sizeof *s);
        if (!s) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", o->ops->name), NULL;
        o->state = s;
        o->cap_state = cap;
    }
    ag_tensor *x = ag_full(NULL, dt, ndim, shape, fill);
    if (!x) return NULL;
    ag_named_tensor *e = &o->state[o->n_state++];
    snprintf(e->name, sizeof e->name, "%d.%s", i, name);
    e->tensor = x;
    e->is_buffer = 1;
    return x;
}

ag_tensor *agp_add_state(ag_optim *o, int i, const char *name)
{
    ag_tensor *p = o->params[i];
    return agp_add_state_shaped(o, i, name, ag_tensor_dtype(p), ag_tensor_ndim(p),
                                ag_tensor_shape(p), 0);
}

ag_status ag_optim_step(ag_optim *o)
{
    if (!o) return ag_set_last_error(AG_ERR_ARG, "ag_optim_step: optimizer is NULL");
    ag_tape_reset(o->tape);
    ag_status s = o->ops->step(o, o->tape);
    if (s == AG_OK && ag_tape_status(o->tape) != AG_OK)
        s = ag_set_last_error(ag_tape_status(o->tape), "%s", ag_tape_errmsg(o->tape));
    if (s == AG_OK) o->steps++;
    ag_tape_reset(o->tape);             /* nothing of the step outlives it */
    return s;
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

void ag_optim_set_lr(ag_optim *o, double lr)
{
    if (o && lr >= 0) o->lr = lr;
}

void ag_optim_set_base_lr(ag_optim *o, double lr)
{
    if (o && lr >= 0) o->base_lr = lr;
}

void ag_optim_set_steps(ag_optim *o, int64_t steps)
{
    if (o && steps >= 0) o->steps = steps;
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
    free(o->params);
    ag_tape_free(o->tape);
    free(o);
}
