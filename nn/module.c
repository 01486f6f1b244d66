/*
** module.c: the module interface: registration of parameters, buffers and
** children, forward dispatch, train/eval, listing with dotted names, free.
** Layers live in their own files; this file knows none of them.
*/
#include "ag_module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ag_module_init(ag_module *m, const ag_module_ops *ops)
{
    if (!m) return;
    memset(m, 0, sizeof *m);
    m->ops = ops;
    m->training = 1;
}

/* AG_OK when name can be registered in m; else the error. */
static ag_status check_name(const ag_module *m, const char *fn, const char *name)
{
    if (!m) return ag_set_last_error(AG_ERR_ARG, "%s: module is NULL", fn);
    if (!name || !*name || strlen(name) >= sizeof m->entries[0].name || strchr(name, '.'))
        return ag_set_last_error(AG_ERR_ARG, "%s: bad name '%s' (1 to 63 bytes, no dot)", fn,
                                 name ? name : "(null)");
    for (int i = 0; i < m->n_entries; i++)
        if (!strcmp(m->entries[i].name, name))
            return ag_set_last_error(AG_ERR_ARG, "%s: name '%s' is taken", fn, name);
    for (int i = 0; i < m->n_children; i++)
        if (!strcmp(m->children[i].name, name))
            return ag_set_last_error(AG_ERR_ARG, "%s: name '%s' is taken", fn, name);
    return AG_OK;
}

static ag_status add_entry(ag_module *m, const char *fn, const char *name, ag_tensor *x,
                           int is_buffer)
{
    ag_status s = check_name(m, fn, name);
    if (s == AG_OK && !x) s = ag_set_last_error(AG_ERR_ARG, "%s: tensor '%s' is NULL", fn, name);
    if (s == AG_OK && ag_tensor_tape(x))
        s = ag_set_last_error(AG_ERR_ARG, "%s: '%s' is a tape tensor; modules own "
                              "persistent tensors only", fn, name);
    if (s == AG_OK && m->n_entries == m->cap_entries) {
        int cap = m->cap_entries ? 2 * m->cap_entries : 4;
        agm_entry *e = realloc(m->entries, (size_t)cap * sizeof *e);
        if (!e) s = ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
        else m->entries = e, m->cap_entries = cap;
    }
    if (s != AG_OK) {
        ag_tensor_free(x);              /* ownership passed either way */
        return s;
    }
    agm_entry *e = &m->entries[m->n_entries++];
    strcpy(e->name, name);
    e->tensor = x;
    e->is_buffer = is_buffer;
    if (!is_buffer) ag_set_requires_grad(x, 1);
    return AG_OK;
}

ag_status ag_module_add_param(ag_module *m, const char *name, ag_tensor *p)
{
    return add_entry(m, "ag_module_add_param", name, p, 0);
}

ag_status ag_module_add_buffer(ag_module *m, const char *name, ag_tensor *b)
{
    return add_entry(m, "ag_module_add_buffer", name, b, 1);
}

ag_status ag_module_add_child(ag_module *m, const char *name, ag_module *child)
{
    const char *fn = "ag_module_add_child";
    ag_status s = check_name(m, fn, name);
    if (s == AG_OK && (!child || child == m))
        s = ag_set_last_error(AG_ERR_ARG, "%s: child '%s' is NULL or the module itself", fn, name);
    if (s == AG_OK && m->n_children == m->cap_children) {
        int cap = m->cap_children ? 2 * m->cap_children : 4;
        agm_child *c = realloc(m->children, (size_t)cap * sizeof *c);
        if (!c) s = ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
        else m->children = c, m->cap_children = cap;
    }
    if (s != AG_OK) {
        if (child != m) ag_module_free(child);
        return s;
    }
    agm_child *c = &m->children[m->n_children++];
    strcpy(c->name, name);
    c->module = child;
    return AG_OK;
}

ag_tensor *ag_module_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    if (!t || ag_tape_status(t) != AG_OK) return NULL;
    if (!m || !m->ops || !m->ops->forward) {
        ag_tape_set_error(t, AG_ERR_ARG, "ag_module_forward: module is NULL or has no forward");
        return NULL;
    }
    return m->ops->forward(m, t, x);
}

void ag_module_train(ag_module *m, int training)
{
    if (!m) return;
    m->training = training != 0;
    for (int i = 0; i < m->n_children; i++) ag_module_train(m->children[i].module, training);
}

int ag_module_is_training(const ag_module *m) { return m ? m->training : 0; }

/* Lists m's tensors under prefix; returns the running count. */
static int list(const ag_module *m, const char *prefix, ag_named_tensor *out, int max,
                int buffers, int count)
{
    for (int i = 0; i < m->n_entries; i++) {
        const agm_entry *e = &m->entries[i];
        if (e->is_buffer && !buffers) continue;
        if (count < max) {
            snprintf(out[count].name, sizeof out[count].name, "%s%s", prefix, e->name);
            out[count].tensor = e->tensor;
            out[count].is_buffer = e->is_buffer;
        }
        count++;
    }
    for (int i = 0; i < m->n_children; i++) {
        char sub[128];
        snprintf(sub, sizeof sub, "%s%s.", prefix, m->children[i].name);
        count = list(m->children[i].module, sub, out, max, buffers, count);
    }
    return count;
}

int ag_module_named_tensors(const ag_module *m, ag_named_tensor *out, int max, int buffers)
{
    if (!m) return 0;
    return list(m, "", out, out ? max : 0, buffers, 0);
}

/* Visits every parameter of m and its children, in listing order. */
static int each_param(const ag_module *m, ag_tensor **out, int max, int count)
{
    for (int i = 0; i < m->n_entries; i++) {
        if (m->entries[i].is_buffer) continue;
        if (out && count < max) out[count] = m->entries[i].tensor;
        count++;
    }
    for (int i = 0; i < m->n_children; i++)
        count = each_param(m->children[i].module, out, max, count);
    return count;
}

int ag_module_parameters(const ag_module *m, ag_tensor **out, int max)
{
    return m ? each_param(m, out, max, 0) : 0;
}

ag_tensor *ag_module_get(const ag_module *m, const char *name)
{
    if (!m || !name) return NULL;
    const char *dot = strchr(name, '.');
    if (!dot) {
        for (int i = 0; i < m->n_entries; i++)
            if (!strcmp(m->entries[i].name, name)) return m->entries[i].tensor;
        return NULL;
    }
    size_t len = (size_t)(dot - name);
    for (int i = 0; i < m->n_children; i++)
        if (strlen(m->children[i].name) == len && !strncmp(m->children[i].name, name, len))
            return ag_module_get(m->children[i].module, dot + 1);
    return NULL;
}

void ag_module_zero_grad(ag_module *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_entries; i++)
        if (!m->entries[i].is_buffer) ag_zero_grad(m->entries[i].tensor);
    for (int i = 0; i < m->n_children; i++) ag_module_zero_grad(m->children[i].module);
}

void ag_module_clear_grad(ag_module *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_entries; i++)
        if (!m->entries[i].is_buffer) ag_clear_grad(m->entries[i].tensor);
    for (int i = 0; i < m->n_children; i++) ag_module_clear_grad(m->children[i].module);
}

void ag_module_free(ag_module *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_children; i++) ag_module_free(m->children[i].module);
    for (int i = 0; i < m->n_entries; i++) ag_tensor_free(m->entries[i].tensor);
    free(m->children);
    free(m->entries);
    m->children = NULL;
    m->entries = NULL;
    if (m->ops && m->ops->destroy)
        m->ops->destroy(m);
    else
        free(m);
}
