/*
** sequential.c: Sequential, a module whose children ("0", "1", ...) run
** in order. It holds nothing but its children.
*/
#include "layers_util.h"

/* x -> child 0 -> child 1 -> ...; x itself when there are none (checked
   as an op checks its input: not stale, not of another tape). */
static ag_tensor *sequential_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    if (ag_tape_check(t, "Sequential", "x", x) != AG_OK) return NULL;
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

/* "<what> <i> is NULL" (what ends in '[': "modules[1] is NULL"), with the
   last error (the failed constructor's, most likely) kept in the message. */
static ag_status null_module(const char *who, const char *what, int i)
{
    char last[256], name[32];
    snprintf(last, sizeof last, "%s", ag_last_error());
    snprintf(name, sizeof name, what[strlen(what) - 1] == '[' ? "%s%d]" : "%s %d", what, i);
    if (!*last) return ag_set_last_error(AG_ERR_ARG, "%s: %s is NULL", who, name);
    return ag_set_last_error(AG_ERR_ARG, "%s: %s is NULL (last error: %s)", who, name, last);
}

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
    if (!m) return null_module(who, "module", seq->n_children);
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
    for (int i = 0; i < n; i++) {
        if (!modules[i]) return null_module(who, "modules[", i);
        for (int j = 0; j < i; j++)
            if (modules[j] == modules[i])
                return ag_set_last_error(AG_ERR_ARG, "%s: modules[%d] repeats modules[%d] (a "
                                         "module has one parent)", who, i, j);
    }
    return AG_OK;
}

/* Frees modules[from..n) not freed yet: each once (a repeat is skipped),
   and not those another module owns (ag_module_free leaves a child). */
static void free_rest(int from, int n, ag_module *const *modules)
{
    for (int i = from; i < n && modules; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = modules[j] == modules[i];
        if (!seen) ag_module_free(modules[i]);
    }
}

ag_module *ag_sequential_new(int n, ag_module *const *modules)
{
    const char *who = "ag_sequential_new";
    ag_module *seq = NULL;
    if (check_list(who, n, modules) == AG_OK) seq = agn_alloc(sizeof *seq, &sequential_ops, who);
    if (!seq) {                         /* ownership was passed: free them */
        free_rest(0, n, modules);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (ag_sequential_add(seq, modules[i]) != AG_OK) {
            ag_module_free(seq);        /* holds 0..i-1; add freed i, or it was not ours */
            free_rest(i + 1, n, modules);
            return NULL;
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
