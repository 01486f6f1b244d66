/*
** ag_module.h: the module interface. A module is a forward function on a
** tape plus the tensors it owns: parameters (which require grad) and
** buffers (state such as BatchNorm's running statistics), each with a
** name, and child modules. Layers in nn/ and a user's own layers are built
** the same way, from the public API alone:
**
**     typedef struct { ag_module base; ag_tensor *w; } scale_layer;
**     static ag_tensor *scale_forward(ag_module *m, ag_tape *t, ag_tensor *x)
**     {
**         return ag_mul(t, x, ((scale_layer *)m)->w);
**     }
**     static const ag_module_ops scale_ops = {"Scale", scale_forward, NULL};
**     ...
**     scale_layer *s = calloc(1, sizeof *s);
**     ag_module_init(&s->base, &scale_ops);
**     s->w = ag_ones(NULL, AG_F32, 1, (int64_t[]){n});
**     ag_module_add_param(&s->base, "weight", s->w);   // the module owns w now
**
** Names follow PyTorch's state_dict: a child's tensors are prefixed with
** the child's name and a dot ("0.weight", "2.running_mean").
*/
#ifndef AG_MODULE_H
#define AG_MODULE_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_module ag_module;

typedef struct ag_module_ops {
    const char *type;                   /* "Linear", "BatchNorm1d", ... */
    /* y = module(x) on tape t; NULL with the error on t. */
    ag_tensor *(*forward)(ag_module *m, ag_tape *t, ag_tensor *x);
    /* Frees what the module holds beyond its registered tensors and
       children, and the module's own memory. NULL: free(m). */
    void (*destroy)(ag_module *m);
} ag_module_ops;

typedef struct agm_entry {              /* a registered tensor */
    char name[64];
    ag_tensor *tensor;
    int is_buffer;
} agm_entry;

typedef struct agm_child {
    char name[64];
    ag_module *module;
} agm_child;

/* The common part of every module: embed it as the first member. Its
   fields are managed by the functions below; read them, don't write them. */
struct ag_module {
    const ag_module_ops *ops;
    int training;                       /* 1 after init; see ag_module_train */
    int n_entries, cap_entries;
    agm_entry *entries;
    int n_children, cap_children;
    agm_child *children;
};

/* Sets up m (already allocated, e.g. the first member of a layer struct). */
void ag_module_init(ag_module *m, const ag_module_ops *ops);

/*
** Registers a persistent tensor under name; m owns it from then on (it is
** freed with m, also when registration fails). A parameter is marked
** requires_grad. Names are unique within a module, at most 63 bytes.
** Returns AG_OK, or an error with ag_last_error() set.
*/
ag_status ag_module_add_param(ag_module *m, const char *name, ag_tensor *p);
ag_status ag_module_add_buffer(ag_module *m, const char *name, ag_tensor *b);
/* Registers a child module; m owns it (freed with m, also on failure). */
ag_status ag_module_add_child(ag_module *m, const char *name, ag_module *child);

/* y = m(x). NULL (with the error on t) on failure or for a NULL module. */
ag_tensor *ag_module_forward(ag_module *m, ag_tape *t, ag_tensor *x);

/* Training (1) or evaluation (0) mode, for m and all its children
   (Dropout and BatchNorm behave differently). */
void ag_module_train(ag_module *m, int training);
int ag_module_is_training(const ag_module *m);

/*
** Lists the parameters (and, with buffers set, the buffers too) of m and
** its children, depth first, with dotted names. Writes at most max entries
** to out (out may be NULL with max 0) and returns the total count.
*/
int ag_module_named_tensors(const ag_module *m, ag_named_tensor *out, int max,
                            int buffers);
/* The parameters alone, in the same order; returns the total count. */
int ag_module_parameters(const ag_module *m, ag_tensor **out, int max);
/* The tensor registered under a dotted name ("0.weight"), or NULL. */
ag_tensor *ag_module_get(const ag_module *m, const char *name);

/* Zeroes the grad of every parameter. */
void ag_module_zero_grad(ag_module *m);
/* Sets the grad of every parameter to none (ag_clear_grad). */
void ag_module_clear_grad(ag_module *m);

/* Frees m, its children and its tensors. NULL is a no-op. */
void ag_module_free(ag_module *m);

#ifdef __cplusplus
}
#endif
#endif /* AG_MODULE_H */
