/*
** embedding.c: Embedding, a lookup table "weight" [num, dim] whose rows
** are picked by index (ag_index_select), from an int64 array or from a
** tensor holding integral values.
*/
#include "layers_util.h"

#include <math.h>

typedef struct embedding {
    ag_module base;
    int64_t num, dim;
    ag_tensor *weight;                  /* [num, dim], registered */
    char desc[AGN_DESC_LEN];
} embedding;

/* 1 when every idx[i] is in [0, num); else 0 with the error on t. */
static int check_indices(const embedding *e, ag_tape *t, const int64_t *idx, int64_t n)
{
    if (n < 0 || (n > 0 && !idx))
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: %lld indices at %p", e->desc, (long long)n,
                                 (const void *)idx), 0;
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= e->num)
            return ag_tape_set_error(t, AG_ERR_ARG, "%s: index %lld at position %lld is out of "
                                     "range [0, %lld)", e->desc, (long long)idx[i], (long long)i,
                                     (long long)e->num), 0;
    return 1;
}

static const ag_module_ops embedding_ops;

ag_tensor *ag_embedding_lookup(ag_module *m, ag_tape *t, const int64_t *idx, int64_t n)
{
    if (!t || ag_tape_status(t) != AG_OK) return NULL;
    if (!agn_is(m, &embedding_ops))
        return ag_tape_set_error(t, AG_ERR_ARG, "ag_embedding_lookup: the module is %s, not an "
                                 "Embedding", m && m->ops && m->ops->type ? m->ops->type
                                                                          : "NULL or untyped"),
               NULL;
    embedding *e = (embedding *)m;
    if (!check_indices(e, t, idx, n)) return NULL;
    return ag_index_select(t, e->weight, 0, idx, n);
}

/* x holds integral values of shape S: rows as [prod S, dim] -> S + [dim]. */
static ag_tensor *embedding_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    embedding *e = (embedding *)m;
    char s[128];
    if (!x) return ag_tape_set_error(t, AG_ERR_ARG, "%s: x is NULL", e->desc), NULL;
    if (ag_tape_check(t, e->desc, "x", x) != AG_OK) return NULL;   /* read below */
    int nd = ag_tensor_ndim(x);
    if (nd >= AG_MAX_DIMS)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x %s has too many dimensions for the "
                                 "result", e->desc, agn_shape_str(x, s, sizeof s)), NULL;
    int64_t n = ag_tensor_numel(x);
    int64_t *idx = malloc((size_t)(n > 0 ? n : 1) * sizeof *idx);
    if (!idx) return ag_tape_set_error(t, AG_ERR_NOMEM, "%s: out of memory", e->desc), NULL;
    for (int64_t i = 0; i < n; i++) {
        double v = ag_tensor_get(x, i);
        if (v != floor(v) || !(v >= 0 && v < (double)e->num)) {
            free(idx);
            return ag_tape_set_error(t, AG_ERR_ARG, "%s: x[%lld] is %.17g, not an index in [0, "
                                     "%lld) (x is %s)", e->desc, (long long)i, v,
                                     (long long)e->num, agn_shape_str(x, s, sizeof s)), NULL;
        }
        idx[i] = (int64_t)v;
    }
    ag_tensor *rows = ag_index_select(t, e->weight, 0, idx, n);
    free(idx);                          /* index_select copied it */
    int64_t shape[AG_MAX_DIMS];
    memcpy(shape, ag_tensor_shape(x), (size_t)nd * sizeof *shape);
    shape[nd] = e->dim;
    return ag_reshape(t, rows, nd + 1, shape);
}

static const ag_module_ops embedding_ops = {"Embedding", embedding_forward, NULL};

ag_module *ag_embedding_new(int64_t num_embeddings, int64_t embedding_dim, ag_dtype dt,
                            ag_rng *rng)
{
    const char *who = "ag_embedding_new";
    if (agn_check_dtype(who, dt) != AG_OK) return NULL;
    if (num_embeddings < 0 || embedding_dim < 0)
        return ag_set_last_error(AG_ERR_ARG, "%s: num_embeddings %lld and embedding_dim %lld "
                                 "must be >= 0", who, (long long)num_embeddings,
                                 (long long)embedding_dim), NULL;
    embedding *e = agn_alloc(sizeof *e, &embedding_ops, who);
    if (!e) return NULL;
    e->num = num_embeddings;
    e->dim = embedding_dim;
    snprintf(e->desc, sizeof e->desc, "Embedding(%lld, %lld)", (long long)num_embeddings,
             (long long)embedding_dim);
    e->weight = ag_zeros(NULL, dt, 2, (int64_t[]){num_embeddings, embedding_dim});
    if (ag_module_add_param(&e->base, "weight", e->weight) != AG_OK ||
        (rng && ag_init_normal(e->weight, 0, 1, rng) != AG_OK)) {
        ag_module_free(&e->base);
        return NULL;
    }
    return &e->base;
}
