/*
** module.c: the module interface: registration of parameters, buffers and
** children (a tree: one parent per module, each tensor in one module, every
** dotted name short enough to list), forward dispatch, train/eval, listing
** with dotted names, free.
** Layers live in their own files; this file knows none of them.
*/
#include "ag_module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for a dotted name in a message (registered names fit in 128). */
#define AGM_MSG_NAME 256

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
        return ag_set_last_error(AG_ERR_ARG, "%s: bad name '%s' (1 to %d bytes, no dot)", fn,
                                 name ? name : "(null)", AGM_NAME_MAX);
    for (int i = 0; i < m->n_entries; i++)
        if (!strcmp(m->entries[i].name, name))
            return ag_set_last_error(AG_ERR_ARG, "%s: name '%s' is taken", fn, name);
    for (int i = 0; i < m->n_children; i++)
        if (!strcmp(m->children[i].name, name))
            return ag_set_last_error(AG_ERR_ARG, "%s: name '%s' is taken", fn, name);
    return AG_OK;
}

/* ------------------------------------------------------------ the tree --- */

/* "a.b" into buf (size bytes, cut short if need be). */
static void join(char *buf, size_t size, const char *a, const char *b)
{
    if (snprintf(buf, size, "%s.%s", a, b) < 0 && size) buf[0] = 0;
}

static const ag_module *root_of(const ag_module *m)
{
    while (m->parent) m = m->parent;
    return m;
}

/* The name m has in its parent ("" for a root). */
static const char *name_in_parent(const ag_module *m)
{
    for (int i = 0; m->parent && i < m->parent->n_children; i++)
        if (m->parent->children[i].module == m) return m->parent->children[i].name;
    return "";
}

/* m's dotted prefix ("block.0." for a child "0" of a child "block"), into
   buf (size bytes, cut short if need be); its full length. */
static size_t prefix_of(const ag_module *m, char *buf, size_t size)
{
    if (!m->parent) {
        if (size) buf[0] = 0;
        return 0;
    }
    size_t at = prefix_of(m->parent, buf, size);
    const char *own = name_in_parent(m);
    if (at < size) snprintf(buf + at, size - at, "%s.", own);
    return at + strlen(own) + 1;
}

/* The longest dotted name m lists (its tensors', its children's), into
   buf as prefix_of does; 0 when m holds no tensor at all. */
static size_t longest_name(const ag_module *m, char *buf, size_t size)
{
    size_t best = 0;
    for (int i = 0; i < m->n_entries; i++)
        if (strlen(m->entries[i].name) > best) {
            best = strlen(m->entries[i].name);
            snprintf(buf, size, "%s", m->entries[i].name);
        }
    char sub[AGM_MSG_NAME];
    for (int i = 0; i < m->n_children; i++) {
        size_t k = longest_name(m->children[i].module, sub, sizeof sub);
        size_t len = strlen(m->children[i].name) + 1 + k;
        if (k > 0 && len > best) {
            best = len;
            join(buf, size, m->children[i].name, sub);
        }
    }
    return best;
}

/* AG_OK when a tensor named prefix(m) + tail (tail_len bytes) fits an
   ag_named_tensor's name; else the error, quoting the name. */
static ag_status check_length(const ag_module *m, const char *fn, const char *tail,
                              size_t tail_len)
{
    char pre[AGM_MSG_NAME];
    size_t len = prefix_of(m, pre, sizeof pre) + tail_len;
    if (len < sizeof ((ag_named_tensor *)0)->name) return AG_OK;
    return ag_set_last_error(AG_ERR_ARG, "%s: the tensor name '%s%s' would be %zu bytes, more "
                             "than %d (ag_named_tensor.name): use shorter names", fn, pre, tail,
                             len, AGM_FULL_NAME_MAX);
}

/* The dotted name (below root) under which root's tree holds x, into buf;
   1 if it does, 0 if not. */
static int find_tensor(const ag_module *m, const ag_tensor *x, char *buf, size_t size)
{
    for (int i = 0; i < m->n_entries; i++)
        if (m->entries[i].tensor == x) return snprintf(buf, size, "%s", m->entries[i].name), 1;
    char sub[AGM_MSG_NAME];
    for (int i = 0; i < m->n_children; i++)
        if (find_tensor(m->children[i].module, x, sub, sizeof sub))
            return join(buf, size, m->children[i].name, sub), 1;
    return 0;
}

/* AG_OK when no tensor of sub's tree is already in the tree of m; else
   the error naming the tensor (a module would free it twice). */
static ag_status check_shared(const ag_module *m, const char *fn, const char *name,
                              const ag_module *sub)
{
    char where[AGM_MSG_NAME];
    for (int i = 0; i < sub->n_entries; i++)
        if (find_tensor(root_of(m), sub->entries[i].tensor, where, sizeof where))
            return ag_set_last_error(AG_ERR_ARG, "%s: '%s' holds a tensor the module's tree "
                                     "already holds (as '%s'); each tensor belongs to one "
                                     "module", fn, name, where);
    ag_status s = AG_OK;
    for (int i = 0; i < sub->n_children && s == AG_OK; i++)
        s = check_shared(m, fn, name, sub->children[i].module);
    return s;
}

/* AG_OK when child may become m's child, as far as ownership goes: not
   NULL, not m or one of its ancestors (a cycle), not another module's
   child, sharing no tensor with m's tree. On these errors child is not
   freed: it is not m's to free. */
static ag_status check_adoption(const ag_module *m, const char *fn, const char *name,
                                const ag_module *child)
{
    if (!child) return ag_set_last_error(AG_ERR_ARG, "%s: child '%s' is NULL", fn, name);
    for (const ag_module *a = m; a; a = a->parent)
        if (a == child)
            return ag_set_last_error(AG_ERR_ARG, "%s: child '%s' is %s (a cycle)", fn, name,
                                     a == m ? "the module itself" : "an ancestor of the module");
    if (child->parent)
        return ag_set_last_error(AG_ERR_ARG, "%s: child '%s' is already the child '%s' of "
                                 "another module (a module has one parent)", fn, name,
                                 name_in_parent(child));
    return check_shared(m, fn, name, child);
}

/* ---------------------------------------------------------- registry --- */

/* kind: 0 a parameter, 1 a buffer, 2 a buffer of whole numbers. */
static ag_status add_entry(ag_module *m, const char *fn, const char *name, ag_tensor *x,
                           int kind)
{
    char where[AGM_MSG_NAME];
    ag_status s = check_name(m, fn, name);
    if (s == AG_OK && !x) s = ag_set_last_error(AG_ERR_ARG, "%s: tensor '%s' is NULL", fn, name);
    if (s == AG_OK && find_tensor(root_of(m), x, where, sizeof where))
        return ag_set_last_error(AG_ERR_ARG, "%s: tensor '%s' is already registered in the "
                                 "module's tree (as '%s'); each tensor belongs to one module",
                                 fn, name, where);      /* not freed: the tree owns it */
    if (s == AG_OK && ag_tensor_tape(x))
        s = ag_set_last_error(AG_ERR_ARG, "%s: '%s' is a tape tensor; modules own "
                              "persistent tensors only", fn, name);
    if (s == AG_OK) s = check_length(m, fn, name, strlen(name));
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
    e->is_buffer = kind != 0;
    e->is_integer = kind == 2;
    if (!kind) ag_set_requires_grad(x, 1);
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

ag_status ag_module_add_int_buffer(ag_module *m, const char *name, ag_tensor *b)
{
    return add_entry(m, "ag_module_add_int_buffer", name, b, 2);
}

static void free_tree(ag_module *m);

ag_status ag_module_add_child(ag_module *m, const char *name, ag_module *child)
{
    const char *fn = "ag_module_add_child";
    ag_status s = m ? check_adoption(m, fn, name ? name : "(null)", child)
                    : ag_set_last_error(AG_ERR_ARG, "%s: module is NULL", fn);
    if (s != AG_OK) return s;                   /* child is not ours to free */
    s = check_name(m, fn, name);
    char tail[AGM_MSG_NAME];
    size_t k = s == AG_OK ? longest_name(child, tail, sizeof tail) : 0;
    if (k > 0) {
        char full[2 * AGM_MSG_NAME];
        join(full, sizeof full, name, tail);
        s = check_length(m, fn, full, strlen(name) + 1 + k);
    }
    if (s == AG_OK && m->n_children == m->cap_children) {
        int cap = m->cap_children ? 2 * m->cap_children : 4;
        agm_child *c = realloc(m->children, (size_t)cap * sizeof *c);
        if (!c) s = ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
        else m->children = c, m->cap_children = cap;
    }
    if (s != AG_OK) {
        free_tree(child);
        return s;
    }
    agm_child *c = &m->children[m->n_children++];
    strcpy(c->name, name);
    c->module = child;
    child->parent = m;
    return AG_OK;
}

ag_tensor *ag_module_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    if (!t) return ag_set_last_error(AG_ERR_ARG, "ag_module_forward: tape is NULL"), NULL;
    if (ag_tape_status(t) != AG_OK) return NULL;
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
        char sub[AGM_MSG_NAME];         /* every name fits: registration checks */
        snprintf(sub, sizeof sub, "%s%s.", prefix, m->children[i].name);
        count = list(m->children[i].module, sub, out, max, buffers, count);
    }
    return count;
}

/* Appends m's description to buf at *at (cut at size; *at counts on). */
static void describe(const ag_module *m, char *buf, size_t size, size_t *at)
{
    const char *type = m->ops && m->ops->type ? m->ops->type : "Module";
    for (int i = -1; i <= m->n_children; i++) {
        char piece[AGM_MSG_NAME];
        int n = i < 0 ? snprintf(piece, sizeof piece, "%s%s", type, m->n_children ? "(" : "")
                : i == m->n_children ? snprintf(piece, sizeof piece, "%s", i ? ")" : "")
                : snprintf(piece, sizeof piece, "%s%s: ", i ? ", " : "", m->children[i].name);
        for (int k = 0; k < n; k++, (*at)++)
            if (*at + 1 < size) buf[*at] = piece[k];
        if (i >= 0 && i < m->n_children) describe(m->children[i].module, buf, size, at);
    }
}

size_t ag_module_describe(const ag_module *m, char *buf, size_t size)
{
    size_t at = 0;
    if (m) describe(m, buf, size, &at);
    else at = 0;
    if (buf && size) buf[at < size ? at : size - 1] = 0;
    return at;
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

/* The entry registered under a dotted name, or NULL. */
static const agm_entry *entry_of(const ag_module *m, const char *name)
{
    if (!m || !name) return NULL;
    const char *dot = strchr(name, '.');
    if (!dot) {
        for (int i = 0; i < m->n_entries; i++)
            if (!strcmp(m->entries[i].name, name)) return &m->entries[i];
        return NULL;
    }
    size_t len = (size_t)(dot - name);
    for (int i = 0; i < m->n_children; i++)
        if (strlen(m->children[i].name) == len && !strncmp(m->children[i].name, name, len))
            return entry_of(m->children[i].module, dot + 1);
    return NULL;
}

ag_tensor *ag_module_get(const ag_module *m, const char *name)
{
    const agm_entry *e = entry_of(m, name);
    return e ? e->tensor : NULL;
}

int ag_module_is_int_buffer(const ag_module *m, const char *name)
{
    const agm_entry *e = entry_of(m, name);
    return e ? e->is_integer : 0;
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

/* Frees m's tree whatever its parent. */
static void free_tree(ag_module *m)
{
    for (int i = 0; i < m->n_children; i++) free_tree(m->children[i].module);
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

void ag_module_free(ag_module *m)
{
    if (m && !m->parent) free_tree(m);      /* a child goes with its parent */
}
