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

/* The longest name of one tensor or child (bytes, without the NUL), and
   of a dotted name ("block.0.weight"): an ag_named_tensor's name. */
#define AGM_NAME_MAX 63
#define AGM_FULL_NAME_MAX 127

typedef struct agm_entry {              /* a registered tensor */
    char name[AGM_NAME_MAX + 1];
    ag_tensor *tensor;
    int is_buffer;
    int is_integer;                     /* a buffer of whole numbers (saved as I64) */
} agm_entry;

typedef struct agm_child {
    char name[AGM_NAME_MAX + 1];
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
    ag_module *parent;                  /* the module m is a child of; NULL */
};

/* Sets up m (already allocated, e.g. the first member of a layer struct). */
void ag_module_init(ag_module *m, const ag_module_ops *ops);

/*
** Registers a persistent tensor under name; m owns it from then on (it is
** freed with m, also when registration fails, but for the one case below).
** A parameter is marked requires_grad. Names are unique within a module,
** 1 to AGM_NAME_MAX (63) bytes, without a dot; the dotted name the tensor
** lists under (its ancestors' names, then its own: "block.0.weight")
** must fit in AGM_FULL_NAME_MAX (127) bytes, the room of an
** ag_named_tensor's name. A tensor is registered once in a whole tree of
** modules: registering one the tree already holds (under any name, in
** any module of it) is refused, and that tensor is not freed (the tree
** owns it). Returns AG_OK, or AG_ERR_ARG / AG_ERR_NOMEM with
** ag_last_error() naming the function, the name and the reason.
*/
ag_status ag_module_add_param(ag_module *m, const char *name, ag_tensor *p);
ag_status ag_module_add_buffer(ag_module *m, const char *name, ag_tensor *b);
/*
** A buffer of whole numbers (a counter such as BatchNorm's
** num_batches_tracked), kept in a float tensor here but saved as I64, the
** dtype PyTorch gives such buffers (ag_module_save; ag_safetensors.h).
** Registration as ag_module_add_buffer. The values must stay whole
** numbers within int64's range (|v| < 2^63) for a save to succeed.
*/
ag_status ag_module_add_int_buffer(ag_module *m, const char *name, ag_tensor *b);
/* 1 when the dotted name is a buffer added by ag_module_add_int_buffer. */
int ag_module_is_int_buffer(const ag_module *m, const char *name);
/*
** Registers a child module under name (rules of names as above; every
** dotted name the child lists, prefixed with m's and name, must fit in
** AGM_FULL_NAME_MAX bytes). m owns it: it is freed with m, also when
** registration fails, except when it is not m's to free, which is refused
** and leaves it alone: a NULL child, m itself or one of m's ancestors (a
** cycle), a child of another module (a module has one parent, as in
** PyTorch's state_dict names), or a child holding a tensor m's tree holds
** already.
*/
ag_status ag_module_add_child(ag_module *m, const char *name, ag_module *child);

/* y = m(x). NULL on failure, with the error on t, or in ag_last_error()
   when t is NULL; NULL for a NULL module. */
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

/*
** The module's description: its type and, recursively, its children's
** names and descriptions, e.g. "Sequential(0: Linear, 1: ReLU, 2:
** BatchNorm1d)" (the type is the ops' type, "Module" when it has none).
** ag_module_save writes it to the file's metadata and ag_module_load
** compares it. Writes at most size bytes with the NUL into buf (buf may be
** NULL with size 0) and returns the full length, without the NUL, as
** snprintf; "" (0) for a NULL module.
*/
size_t ag_module_describe(const ag_module *m, char *buf, size_t size);

/* Zeroes the grad of every parameter. */
void ag_module_zero_grad(ag_module *m);
/* Sets the grad of every parameter to none (ag_clear_grad). */
void ag_module_clear_grad(ag_module *m);

/* Frees m, its children and its tensors. NULL is a no-op, and so is a
   module that is another's child: it is freed with its parent. */
void ag_module_free(ag_module *m);

#ifdef __cplusplus
}
#endif
#endif /* AG_MODULE_H */
