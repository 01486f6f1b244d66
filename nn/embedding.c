/*
** embedding.c: Embedding, a lookup table "weight" [num, dim] whose rows
** are picked by index (ag_index_select), from an int64 array or from a
** tensor holding integral values; PyTorch's padding_idx, max_norm and
** scale_grad_by_freq (the last two change the table in place or scale
** the gradient: see lookup()).
*/
#include "layers_util.h"

#include <math.h>

typedef struct embedding {
    ag_module base;
    int64_t num, dim;
    int64_t padding_idx;                /* in [0, num), or AG_EMBEDDING_NO_PADDING */
    double max_norm, norm_type;         /* max_norm 0: none */
    int scale_grad_by_freq;
    ag_tensor *weight;                  /* [num, dim], registered */
    char desc[AGN_DESC_LEN + 64];
} embedding;

/* ||row r||_p of the table, in double. */
static double row_norm(const embedding *e, int64_t r)
{
    const int f64 = ag_tensor_dtype(e->weight) == AG_F64;
    const void *data = ag_tensor_data(e->weight);
    double acc = 0, p = e->norm_type;
    for (int64_t j = 0; j < e->dim; j++) {
        double v = fabs(f64 ? ((const double *)data)[r * e->dim + j]
                            : (double)((const float *)data)[r * e->dim + j]);
        acc = p == 2 ? acc + v * v : p == 1 ? acc + v : isinf(p) ? fmax(acc, v) : acc + pow(v, p);
    }
    return p == 2 ? sqrt(acc) : p == 1 || isinf(p) ? acc : pow(acc, 1 / p);
}

/* PyTorch's embedding_renorm_: each row named in idx whose p-norm is above
   max_norm is scaled by max_norm / (norm + 1e-7), once, in place, without
   gradient. done has room for num flags. */
static void renorm_rows(const embedding *e, const int64_t *idx, int64_t n, unsigned char *done)
{
    const int f64 = ag_tensor_dtype(e->weight) == AG_F64;
    void *data = ag_tensor_data(e->weight);
    for (int64_t i = 0; i < n; i++) {
        if (done[idx[i]]) continue;
        done[idx[i]] = 1;
        double norm = row_norm(e, idx[i]);
        if (!(norm > e->max_norm)) continue;
        double scale = e->max_norm / (norm + 1e-7);
        for (int64_t j = 0, r = idx[i] * e->dim; j < e->dim; j++) {
            if (f64) ((double *)data)[r + j] *= scale;
            else ((float *)data)[r + j] = (float)((double)((float *)data)[r + j] * scale);
        }
    }
}

/* The gradient's scale at each position into s[0..n): 0 at padding_idx,
   else 1 or, with scale_grad_by_freq, 1 / (the index's count in idx;
   count has room for num zeroed entries). Returns 1 when one is not 1. */
static int grad_scales(const embedding *e, const int64_t *idx, int64_t n, int64_t *count,
                       double *s)
{
    int any = 0;
    if (e->scale_grad_by_freq)
        for (int64_t i = 0; i < n; i++) count[idx[i]]++;
    for (int64_t i = 0; i < n; i++) {
        s[i] = idx[i] == e->padding_idx ? 0 : e->scale_grad_by_freq ? 1.0 / (double)count[idx[i]]
                                                                   : 1;
        any = any || s[i] != 1;
    }
    return any;
}

/* The [n, 1] tensor of gradient scales, or NULL when all are 1 (or on
   error, then with the error on t). */
static ag_tensor *scales_tensor(const embedding *e, ag_tape *t, const int64_t *idx, int64_t n)
{
    int64_t *count = calloc((size_t)(e->num > 0 ? e->num : 1), sizeof *count);
    double *s = malloc((size_t)(n > 0 ? n : 1) * sizeof *s);
    ag_tensor *y = NULL;
    if (!count || !s)
        ag_tape_set_error(t, AG_ERR_NOMEM, "%s: out of memory", e->desc);
    else if (grad_scales(e, idx, n, count, s))
        y = ag_from_f64(t, ag_tensor_dtype(e->weight), 2, (int64_t[]){n, 1}, s);
    free(count);
    free(s);
    return y;
}

/*
** The rows idx[0..n) (checked) as [n, dim]. max_norm first renormalizes
** the rows named, in place (PyTorch does the same, under no_grad). Where
** a row's gradient must be scaled (0 at padding_idx, 1/count with
** scale_grad_by_freq), y = d + (rows - d) s with d = rows detached: the
** value is rows', the gradient to the table is dy s.
*/
static ag_tensor *lookup(const embedding *e, ag_tape *t, const int64_t *idx, int64_t n)
{
    if (e->max_norm > 0) {
        unsigned char *done = calloc((size_t)(e->num > 0 ? e->num : 1), 1);
        if (!done) return ag_tape_set_error(t, AG_ERR_NOMEM, "%s: out of memory", e->desc), NULL;
        renorm_rows(e, idx, n, done);
        free(done);
    }
    ag_tensor *rows = ag_index_select(t, e->weight, 0, idx, n);
    if (!rows || (e->padding_idx == AG_EMBEDDING_NO_PADDING && !e->scale_grad_by_freq))
        return rows;
    ag_tensor *s = scales_tensor(e, t, idx, n);
    if (!s) return ag_tape_status(t) == AG_OK ? rows : NULL;
    ag_tensor *d = ag_detach(t, rows);
    return ag_add(t, d, ag_mul(t, ag_sub(t, rows, d), s));
}

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
    return lookup(e, t, idx, n);
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
    ag_tensor *rows = lookup(e, t, idx, n);
    free(idx);                          /* index_select copied it */
    int64_t shape[AG_MAX_DIMS];
    memcpy(shape, ag_tensor_shape(x), (size_t)nd * sizeof *shape);
    shape[nd] = e->dim;
    return ag_reshape(t, rows, nd + 1, shape);
}

static const ag_module_ops embedding_ops = {"Embedding", embedding_forward, NULL};

/* Checks the options; AG_OK or the error set. */
static ag_status check_options(const char *who, int64_t num, int64_t padding_idx,
                               double max_norm, double norm_type)
{
    if (padding_idx != AG_EMBEDDING_NO_PADDING && (padding_idx < -num || padding_idx >= num))
        return ag_set_last_error(AG_ERR_ARG, "%s: padding_idx %lld must be within "
                                 "num_embeddings %lld", who, (long long)padding_idx,
                                 (long long)num);
    if (!(max_norm >= 0) || !(norm_type > 0))
        return ag_set_last_error(AG_ERR_ARG, "%s: max_norm %g must be >= 0 (0: none) and "
                                 "norm_type %g > 0", who, max_norm, norm_type);
    return AG_OK;
}

ag_module *ag_embedding_new_full(int64_t num_embeddings, int64_t embedding_dim,
                                 int64_t padding_idx, double max_norm, double norm_type,
                                 int scale_grad_by_freq, ag_dtype dt, ag_rng *rng)
{
    const char *who = "ag_embedding_new_full";
    if (check_options(who, num_embeddings, padding_idx, max_norm, norm_type) != AG_OK)
        return NULL;
    ag_module *m = ag_embedding_new(num_embeddings, embedding_dim, dt, rng);
    if (!m) return NULL;
    embedding *e = (embedding *)m;
    e->padding_idx = padding_idx < 0 && padding_idx != AG_EMBEDDING_NO_PADDING
                         ? padding_idx + num_embeddings : padding_idx;
    e->max_norm = max_norm;
    e->norm_type = norm_type;
    e->scale_grad_by_freq = scale_grad_by_freq != 0;
    int n = (int)strlen(e->desc) - 1;                   /* before the ')' */
    if (e->padding_idx != AG_EMBEDDING_NO_PADDING)
        n += snprintf(e->desc + n, sizeof e->desc - (size_t)n, ", padding_idx=%lld",
                      (long long)e->padding_idx);
    if (max_norm > 0) n += snprintf(e->desc + n, sizeof e->desc - (size_t)n, ", max_norm=%g",
                                    max_norm);
    if (scale_grad_by_freq)
        n += snprintf(e->desc + n, sizeof e->desc - (size_t)n, ", scale_grad_by_freq=True");
    snprintf(e->desc + n, sizeof e->desc - (size_t)n, ")");
    if (e->padding_idx != AG_EMBEDDING_NO_PADDING) {         /* PyTorch zeroes that row */
        void *data = ag_tensor_data(e->weight);
        size_t es = dt == AG_F64 ? sizeof(double) : sizeof(float);
        memset((char *)data + (size_t)(e->padding_idx * embedding_dim) * es, 0,
               (size_t)embedding_dim * es);
    }
    return m;
}

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
    e->padding_idx = AG_EMBEDDING_NO_PADDING;
    e->norm_type = 2;
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
