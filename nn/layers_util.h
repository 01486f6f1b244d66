/*
** layers_util.h: helpers shared by the layer files of nn/ (not public,
** not installed): shape text for messages, the input checks every forward
** starts with, and the allocation of a layer struct. Built on the public
** API alone, like the layers themselves.
*/
#ifndef AG_LAYERS_UTIL_H
#define AG_LAYERS_UTIL_H

#include "ag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A layer's description for messages ("Linear(in_features=3, ...)"). */
#define AGN_DESC_LEN 96

/* Writes x's shape as "[4,5]" ("[]" for a scalar) into buf; returns buf. */
static inline const char *agn_shape_str(const ag_tensor *x, char *buf, size_t size)
{
    int n = snprintf(buf, size, "[");
    for (int d = 0; x && d < ag_tensor_ndim(x) && n > 0 && (size_t)n < size; d++)
        n += snprintf(buf + n, size - (size_t)n, d ? ",%lld" : "%lld",
                      (long long)ag_tensor_shape(x)[d]);
    if (n > 0 && (size_t)n < size) snprintf(buf + n, size - (size_t)n, "]");
    return buf;
}

static inline const char *agn_dtype_name(ag_dtype dt) { return dt == AG_F64 ? "f64" : "f32"; }

/*
** The checks a forward starts with: x present, of the layer's dtype, with
** at least min_ndim dimensions. Returns 1 when fine; else 0 with the error
** on t, the message starting with the layer's description.
*/
static inline int agn_check_input(ag_tape *t, const char *who, const ag_tensor *x,
                                  ag_dtype dt, int min_ndim)
{
    char s[128];
    if (!x) return ag_tape_set_error(t, AG_ERR_ARG, "%s: x is NULL", who), 0;
    if (ag_tensor_dtype(x) != dt)
        return ag_tape_set_error(t, AG_ERR_DTYPE, "%s: x is %s %s, the layer is %s", who,
                                 agn_dtype_name(ag_tensor_dtype(x)),
                                 agn_shape_str(x, s, sizeof s), agn_dtype_name(dt)), 0;
    if (ag_tensor_ndim(x) < min_ndim)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x is %s, expected at least %d "
                                 "dimension%s", who, agn_shape_str(x, s, sizeof s), min_ndim,
                                 min_ndim == 1 ? "" : "s"), 0;
    return 1;
}

/* AG_OK for AG_F32 and AG_F64; else an error naming the constructor. */
static inline ag_status agn_check_dtype(const char *who, ag_dtype dt)
{
    if (dt == AG_F32 || dt == AG_F64) return AG_OK;
    return ag_set_last_error(AG_ERR_DTYPE, "%s: unknown dtype %d (AG_F32 or AG_F64)", who,
                             (int)dt);
}

/* A zeroed layer struct of size bytes with its module part set up, or
   NULL with ag_last_error() set. */
static inline void *agn_alloc(size_t size, const ag_module_ops *ops, const char *who)
{
    ag_module *m = calloc(1, size);
    if (!m) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", who), NULL;
    ag_module_init(m, ops);
    return m;
}

/*
** The layout Dropout (dropout.c) and Dropout2d (dropout2d.c) share, so
** ag_dropout_set_rng sets either's generator: their structs are this.
*/
typedef struct agn_dropout {
    ag_module base;
    double p;
    ag_rng *rng;                        /* borrowed; NULL: none given yet */
    char desc[AGN_DESC_LEN];
} agn_dropout;

/* 1 when m is a Dropout2d (dropout2d.c). */
int agn_is_dropout2d(const ag_module *m);

/* Training with no generator: 1 when d can draw its mask; else 0 with the
   error on t naming the layer and the ways to give it one. */
static inline int agn_dropout_has_rng(ag_tape *t, const agn_dropout *d)
{
    if (d->rng) return 1;
    ag_tape_set_error(t, AG_ERR_STATE, "%s: training needs a generator for the mask and the "
                      "layer has none (give one to the constructor or set it with "
                      "ag_dropout_set_rng; evaluation needs none)", d->desc);
    return 0;
}

/* 1 when m was made with these ops (a layer of that type). */
static inline int agn_is(const ag_module *m, const ag_module_ops *ops)
{
    return m && m->ops == ops;
}

#endif /* AG_LAYERS_UTIL_H */
