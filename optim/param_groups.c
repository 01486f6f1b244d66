/*
** param_groups.c: parameter groups (PyTorch's param_groups): each group
** holds a run of the optimizer's parameters, its own learning rates and
** its own copy of the optimizer's options; ag_optim_add_param_group
** appends one. The update rules read a parameter's options and lr through
** agp_param_opts and agp_param_lr; the state each group needs is
** registered by the optimizer (ops->add_group).
*/
#include "optim_base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ag_status agp_set_group0_opts(ag_optim *o, const agp_group_ops *gops, const void *opts)
{
    void *copy = malloc(gops->opts_size);
    if (!copy) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", o->ops->name);
    memcpy(copy, opts, gops->opts_size);
    o->gops = gops;
    free(o->groups[0].opts);
    o->groups[0].opts = copy;
    return AG_OK;
}

const void *agp_param_opts(const ag_optim *o, int i)
{
    return o->groups[o->group_of[i]].opts;
}

double *agp_group_lr(ag_optim *o, int g) { return g ? &o->groups[g].lr : &o->lr; }
double *agp_group_base_lr(ag_optim *o, int g) { return g ? &o->groups[g].base_lr : &o->base_lr; }

double agp_param_lr(const ag_optim *o, int i)
{
    int g = o->group_of[i];
    return g ? o->groups[g].lr : o->lr;
}

int ag_optim_num_groups(const ag_optim *o) { return o ? o->n_groups : 0; }

int ag_optim_param_group(const ag_optim *o, int i)
{
    return o && i >= 0 && i < o->n_params ? o->group_of[i] : -1;
}

int ag_optim_group_size(const ag_optim *o, int g)
{
    return o && g >= 0 && g < o->n_groups ? o->groups[g].count : 0;
}

double ag_optim_group_lr(const ag_optim *o, int g)
{
    return o && g >= 0 && g < o->n_groups ? *agp_group_lr((ag_optim *)o, g) : 0;
}

double ag_optim_group_base_lr(const ag_optim *o, int g)
{
    return o && g >= 0 && g < o->n_groups ? *agp_group_base_lr((ag_optim *)o, g) : 0;
}

/* The new group's parameters: n >= 1, none NULL, a tape tensor, repeated,
   or already in the optimizer (PyTorch: "some parameters appear in more
   than one parameter group"). */
static ag_status check_new_params(const char *fn, const ag_optim *o, int n,
                                  ag_tensor *const *params)
{
    if (n < 1 || !params)
        return ag_set_last_error(AG_ERR_ARG, "%s: no parameters (n is %d)", fn, n);
    for (int i = 0; i < n; i++) {
        if (!params[i] || ag_tensor_tape(params[i]))
            return ag_set_last_error(AG_ERR_ARG, "%s: parameter %d is %s", fn, i,
                                     params[i] ? "a tape tensor" : "NULL");
        for (int j = 0; j < i; j++)
            if (params[j] == params[i])
                return ag_set_last_error(AG_ERR_ARG, "%s: parameter %d repeats %d", fn, i, j);
        for (int j = 0; j < o->n_params; j++)
            if (o->params[j] == params[i])
                return ag_set_last_error(AG_ERR_ARG, "%s: parameter %d is already parameter %d "
                                         "of the optimizer (group %d)", fn, i, j,
                                         o->group_of[j]);
    }
    return AG_OK;
}

/* Room for n more parameters and one more group (counts unchanged). */
static ag_status grow(const char *fn, ag_optim *o, int n)
{
    size_t total = (size_t)o->n_params + (size_t)n;
    ag_tensor **p = realloc(o->params, total * sizeof *p);
    if (p) o->params = p;
    int *of = p ? realloc(o->group_of, total * sizeof *of) : NULL;
    if (of) o->group_of = of;
    agp_group *g = of ? realloc(o->groups, (size_t)(o->n_groups + 1) * sizeof *g) : NULL;
    if (g) o->groups = g;
    return g ? AG_OK : ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
}

ag_status ag_optim_add_param_group(ag_optim *o, int n, ag_tensor *const *params,
                                   const void *opts)
{
    const char *fn = "ag_optim_add_param_group";
    if (!o) return ag_set_last_error(AG_ERR_ARG, "%s: optimizer is NULL", fn);
    if (!o->gops)
        return ag_set_last_error(AG_ERR_ARG, "%s: %s takes one parameter group (as PyTorch's)",
                                 fn, o->ops->name);
    if (o->n_params > 0x3fffffff - n)
        return ag_set_last_error(AG_ERR_ARG, "%s: too many parameters", fn);
    double lr = 0;
    if (!opts) opts = o->groups[0].opts;        /* PyTorch's defaults: the constructor's */
    ag_status s = check_new_params(fn, o, n, params);
    if (s == AG_OK && !o->gops->check_group(o, opts, fn, &lr)) s = AG_ERR_ARG;
    void *copy = s == AG_OK ? malloc(o->gops->opts_size) : NULL;
    if (s == AG_OK && !copy) s = ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    if (s == AG_OK) s = grow(fn, o, n);
    if (s != AG_OK) {
        free(copy);
        return s;
    }
    memcpy(copy, opts, o->gops->opts_size);
    int g = o->n_groups, first = o->n_params;
    o->groups[g] = (agp_group){first, n, lr, lr, copy};
    memcpy(o->params + first, params, (size_t)n * sizeof *params);
    for (int i = 0; i < n; i++) o->group_of[first + i] = g;
    o->n_params += n;
    o->n_groups++;
    s = o->gops->add_group(o, g);
    if (s != AG_OK) {                   /* the optimizer unregistered what it added */
        o->n_params -= n;
        o->n_groups--;
        free(copy);
    }
    return s;
}

/* ------------------------------------------------ options by name --- */

/* The option called name of o's options, or NULL (error naming fn and
   listing the names) when o has no groups or no such option. */
static const agp_option *find_option(const char *fn, const ag_optim *o, const char *name)
{
    if (!o->gops)
        return ag_set_last_error(AG_ERR_ARG, "%s: %s has no per-group options (one group, "
                                 "as PyTorch's; its options are its constructor's)", fn,
                                 o->ops->name), NULL;
    for (const agp_option *op = o->gops->options; op && op->name; op++)
        if (!strcmp(op->name, name)) return op;
    char names[256];
    size_t len = (size_t)snprintf(names, sizeof names, "lr");
    for (const agp_option *op = o->gops->options; op && op->name && len < sizeof names; op++)
        len += (size_t)snprintf(names + len, sizeof names - len, ", %s", op->name);
    return ag_set_last_error(AG_ERR_ARG, "%s: %s has no option '%s' (its options: %s)", fn,
                             o->ops->name, name, names), NULL;
}

/* Checks the arguments every call by name shares; AG_OK or AG_ERR_ARG. */
static ag_status check_named(const char *fn, const ag_optim *o, int g, const char *name)
{
    if (!o) return ag_set_last_error(AG_ERR_ARG, "%s: optimizer is NULL", fn);
    if (!name) return ag_set_last_error(AG_ERR_ARG, "%s: name is NULL", fn);
    if (g < 0 || g >= o->n_groups)
        return ag_set_last_error(AG_ERR_ARG, "%s: group %d of %d (%s)", fn, g, o->n_groups,
                                 o->ops->name);
    return AG_OK;
}

ag_status ag_optim_group_option(const ag_optim *o, int g, const char *name, double *value)
{
    const char *fn = "ag_optim_group_option";
    ag_status s = check_named(fn, o, g, name);
    if (s == AG_OK && !value) s = ag_set_last_error(AG_ERR_ARG, "%s: value is NULL", fn);
    if (s != AG_OK) return s;
    if (!strcmp(name, "lr")) {
        *value = ag_optim_group_lr(o, g);
        return AG_OK;
    }
    const agp_option *op = find_option(fn, o, name);
    if (!op) return AG_ERR_ARG;
    const char *at = (const char *)o->groups[g].opts + op->offset;
    if (op->is_flag)
        *value = (double)*(const int *)(const void *)at;
    else
        *value = *(const double *)(const void *)at;
    return AG_OK;
}

ag_status ag_optim_set_group_option(ag_optim *o, int g, const char *name, double value)
{
    const char *fn = "ag_optim_set_group_option";
    ag_status s = check_named(fn, o, g, name);
    if (s != AG_OK) return s;
    if (!strcmp(name, "lr")) return ag_optim_set_group_lr(o, g, value);
    const agp_option *op = find_option(fn, o, name);
    if (!op) return AG_ERR_ARG;
    if (op->is_flag && value != 0 && value != 1)
        return ag_set_last_error(AG_ERR_ARG, "%s: %s's %s is a flag: 0 or 1, not %g", fn,
                                 o->ops->name, name, value);
    void *copy = malloc(o->gops->opts_size);
    if (!copy) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    memcpy(copy, o->groups[g].opts, o->gops->opts_size);
    char *at = (char *)copy + op->offset;
    if (op->is_flag)
        *(int *)(void *)at = (int)value;
    else
        *(double *)(void *)at = value;
    double lr;
    char who[96];
    snprintf(who, sizeof who, "%s (group %d)", fn, g);
    if (o->gops->check_group(o, copy, who, &lr))
        memcpy(o->groups[g].opts, copy, o->gops->opts_size);
    else
        s = AG_ERR_ARG;
    free(copy);
    return s;
}

int ag_optim_option_names(const ag_optim *o, const char **names, int max)
{
    if (!o || !o->gops) return 0;
    int n = 0;
    if (names && max > 0) names[0] = "lr";
    n++;
    for (const agp_option *op = o->gops->options; op && op->name; op++, n++)
        if (names && n < max) names[n] = op->name;
    return n;
}
