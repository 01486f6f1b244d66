/*
** reshape_layers.c: Flatten and Unflatten, the layers of ag_flatten and
** ag_reshape (no tensors).
*/
#include "layers_util.h"

/* ------------------------------------------------------------ Flatten --- */

typedef struct flatten {
    ag_module base;
    int start, end;
    char desc[AGN_DESC_LEN];
} flatten;

static ag_tensor *flatten_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    flatten *f = (flatten *)m;
    if (!x) return ag_tape_set_error(t, AG_ERR_ARG, "%s: x is NULL", f->desc), NULL;
    return ag_flatten(t, x, f->start, f->end);
}

static const ag_module_ops flatten_ops = {"Flatten", flatten_forward, NULL};

ag_module *ag_flatten_new(int start_axis, int end_axis)
{
    flatten *f = agn_alloc(sizeof *f, &flatten_ops, "ag_flatten_new");
    if (!f) return NULL;
    f->start = start_axis, f->end = end_axis;
    snprintf(f->desc, sizeof f->desc, "Flatten(start_dim=%d, end_dim=%d)", start_axis, end_axis);
    return &f->base;
}

/* ---------------------------------------------------------- Unflatten --- */

typedef struct unflatten {
    ag_module base;
    int axis, n;
    int64_t sizes[AG_MAX_DIMS];
    char desc[AGN_DESC_LEN];
} unflatten;

/* x's shape with axis a replaced by the sizes (a -1 inferred) into shape;
   its ndim, or -1 with the error on t. */
static int unflatten_shape(unflatten *u, ag_tape *t, const ag_tensor *x, int a, int64_t *shape)
{
    char s[128];
    const int nd = ag_tensor_ndim(x), out = nd - 1 + u->n;
    const int64_t *xs = ag_tensor_shape(x), dim = xs[a];
    int64_t prod = 1;
    int free_at = -1;
    if (out > AG_MAX_DIMS)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x is %s: the result would have %d dims, "
                                 "more than %d", u->desc, agn_shape_str(x, s, sizeof s), out,
                                 AG_MAX_DIMS), -1;
    for (int i = 0; i < u->n; i++)
        if (u->sizes[i] == -1) free_at = i;
        else prod *= u->sizes[i];
    if (free_at >= 0 ? (prod == 0 || dim % prod) : prod != dim)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: the sizes do not multiply up to the size "
                                 "%lld of dim %d of x %s", u->desc, (long long)dim, a,
                                 agn_shape_str(x, s, sizeof s)), -1;
    int k = 0;
    for (int d = 0; d < nd; d++) {
        if (d != a) {
            shape[k++] = xs[d];
            continue;
        }
        for (int i = 0; i < u->n; i++) shape[k++] = i == free_at ? dim / prod : u->sizes[i];
    }
    return out;
}

static ag_tensor *unflatten_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    unflatten *u = (unflatten *)m;
    char s[128];
    int64_t shape[AG_MAX_DIMS];
    if (!x) return ag_tape_set_error(t, AG_ERR_ARG, "%s: x is NULL", u->desc), NULL;
    if (ag_tape_check(t, u->desc, "x", x) != AG_OK) return NULL;
    const int nd = ag_tensor_ndim(x), a = u->axis < 0 ? u->axis + nd : u->axis;
    if (a < 0 || a >= nd)
        return ag_tape_set_error(t, AG_ERR_AXIS, "%s: dim %d is out of range for x %s", u->desc,
                                 u->axis, agn_shape_str(x, s, sizeof s)), NULL;
    int out = unflatten_shape(u, t, x, a, shape);
    return out < 0 ? NULL : ag_reshape(t, x, out, shape);
}

static const ag_module_ops unflatten_ops = {"Unflatten", unflatten_forward, NULL};

ag_module *ag_unflatten_new(int axis, int n, const int64_t *sizes)
{
    const char *who = "ag_unflatten_new";
    int frees = 0;
    if (n < 1 || n > AG_MAX_DIMS || !sizes)
        return ag_set_last_error(AG_ERR_ARG, "%s: %d sizes%s: give 1 to %d", who, n,
                                 sizes ? "" : " (sizes is NULL)", AG_MAX_DIMS), NULL;
    for (int i = 0; i < n; i++) {
        frees += sizes[i] == -1;
        if (sizes[i] < -1 || frees > 1)
            return ag_set_last_error(AG_ERR_ARG, "%s: size %d is %lld: sizes are >= 0, or one "
                                     "of them -1 (inferred)", who, i, (long long)sizes[i]), NULL;
    }
    unflatten *u = agn_alloc(sizeof *u, &unflatten_ops, who);
    if (!u) return NULL;
    u->axis = axis, u->n = n;
    memcpy(u->sizes, sizes, (size_t)n * sizeof *sizes);
    int k = snprintf(u->desc, sizeof u->desc, "Unflatten(dim=%d, unflattened_size=(", axis);
    for (int i = 0; i < n && k > 0 && (size_t)k < sizeof u->desc; i++)
        k += snprintf(u->desc + k, sizeof u->desc - (size_t)k, i ? ", %lld" : "%lld",
                      (long long)sizes[i]);
    if (k > 0 && (size_t)k < sizeof u->desc) snprintf(u->desc + k, sizeof u->desc - (size_t)k, "))");
    return &u->base;
}
