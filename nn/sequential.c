/*
** sequential.c: Sequential, a module whose children ("0", "1", ...) run
** in order. It holds nothing but its children.
*/
#include "layers_util.h"

/* x -> child 0 -> child 1 -> ...; x itself when there are none. */
static ag_tensor *sequential_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    if (!x) return ag_tape_set_error(t, AG_ERR_ARG, "Sequential: x is NULL"), NULL;
    for (int i = 0; i < m->n_children; i++) {
        ag_module *child = m->children[i].module;
        x = ag_module_forward(child, t, x);
        if (!x) {                       /* a child that left no error on t */
            ag_tape_set_error(t, AG_ERR_ARG, "Sequential: module %d (%s) returned NULL: %s", i,
                              child->ops && child->ops->type ? child->ops->type : "untyped",
                              ag_last_error());
            return NULL;
        }
    }
    return x;
}

static const ag_module_ops sequential_ops = {"Sequential", sequential_forward, NULL};

ag_status ag_sequential_add(ag_module *seq, ag_module *m)
{
    const char *who = "ag_sequential_add";
    if (!agn_is(seq, &sequential_ops)) {
        ag_module_free(m);
        return ag_set_last_error(AG_ERR_ARG, "%s: seq is %s, not a Sequential", who,
                                 seq ? seq->ops && seq->ops->type ? seq->ops->type
                                                                  : "an untyped module"
                                     : "NULL");
    }
    if (!m) return ag_set_last_error(AG_ERR_ARG, "%s: module %d is NULL", who,
                                     seq->n_children);
    char name[16];
    snprintf(name, sizeof name, "%d", seq->n_children);
    return ag_module_add_child(seq, name, m);
}

/* AG_OK when the arguments of ag_sequential_new are usable; else the error. */
static ag_status check_list(const char *who, int n, ag_module *const *modules)
{
    if (n < 0) return ag_set_last_error(AG_ERR_ARG, "%s: n is %d, must be >= 0", who, n);
    if (n > 0 && !modules)
        return ag_set_last_error(AG_ERR_ARG, "%s: modules is NULL with n = %d", who, n);
    for (int i = 0; i < n; i++)
        if (!modules[i]) return ag_set_last_error(AG_ERR_ARG, "%s: modules[%d] is NULL", who, i);
    return AG_OK;
}

ag_module *ag_sequential_new(int n, ag_module *const *modules)
{
    const char *who = "ag_sequential_new";
    ag_module *seq = NULL;
    if (check_list(who, n, modules) == AG_OK) seq = agn_alloc(sizeof *seq, &sequential_ops, who);
    for (int i = 0; i < n && modules; i++) {
        if (!seq) {                     /* ownership was passed: free the rest */
            ag_module_free(modules[i]);
        } else if (ag_sequential_add(seq, modules[i]) != AG_OK) {
            ag_module_free(seq);        /* holds 0..i-1; add freed i */
            seq = NULL;
        }
    }
    return seq;
}

int ag_sequential_len(const ag_module *seq)
{
    return agn_is(seq, &sequential_ops) ? seq->n_children : 0;
}

ag_module *ag_sequential_get(const ag_module *seq, int i)
{
    if (!agn_is(seq, &sequential_ops) || i < 0 || i >= seq->n_children) return NULL;
    return seq->children[i].module;
}
