/*
** attention.c: ag_scaled_dot_product_attention, one op: its checks, the
** fused kernel that turns raw scores into attention weights (scale,
** mask, causal mask and a stable softmax in one pass over each row, rows
** split over the thread pool), its backward rule, and the kernel of the
** rule's softmax step. The products are ag_matmul's family, run with
** grad mode off in the forward; the node keeps the weights (and the
** dropout mask), nothing else of size L x S.
*/
#include "ag_ops_internal.h"
#include "ag_attention.h"
#include "ag_arrange.h"
#include "ag_binary.h"
#include "ag_linalg.h"
#include "ag_random.h"
#include "ag_reduce.h"
#include "vmath_internal.h"

#include <math.h>
#include <string.h>

#define FN "ag_scaled_dot_product_attention"

/* The scores [batch..., L, S] and how the mask reads from them. */
typedef struct attn_plan {
    int ndim;
    int64_t shape[AG_MAX_DIMS];
    int64_t mstride[AG_MAX_DIMS];           /* the mask's, 0 where broadcast */
    double scale;
} attn_plan;

/* ------------------------------------------------------------ checks --- */

/* 1 if x, less its last skip_last dims, broadcasts to the scores' dims
   less as many without enlarging them (right-aligned, x's dims 1 or equal). */
static int fits_scores(const ag_tensor *x, int skip_last, const attn_plan *pl)
{
    const int xn = x->ndim - skip_last, sn = pl->ndim - skip_last;
    if (xn > sn) return 0;
    for (int i = 1; i <= xn; i++)
        if (x->shape[xn - i] != 1 && x->shape[xn - i] != pl->shape[sn - i]) return 0;
    return 1;
}

/* The scores' shape: q's and k's batch dims broadcast, then [L, S]; 0 if
   the batch dims do not broadcast. */
static int scores_shape(const ag_tensor *q, const ag_tensor *k, attn_plan *pl)
{
    const int nq = q->ndim - 2, nk = k->ndim - 2, n = nq > nk ? nq : nk;
    for (int i = 0; i < n; i++) {           /* i counts from the right */
        const int64_t dq = i < nq ? q->shape[nq - 1 - i] : 1;
        const int64_t dk = i < nk ? k->shape[nk - 1 - i] : 1;
        if (dq != dk && dq != 1 && dk != 1) return 0;
        pl->shape[n - 1 - i] = dq == 1 ? dk : dq;
    }
    pl->ndim = n + 2;
    pl->shape[n] = q->shape[q->ndim - 2];
    pl->shape[n + 1] = k->shape[k->ndim - 2];
    return 1;
}

/* The options: dropout, rng, scale, mask kind; 0 with the error on t. */
static int check_opts(ag_tape *t, const ag_tensor *q, const ag_attention_opts *o, double *scale)
{
    if (!(o->dropout_p >= 0 && o->dropout_p <= 1))
        return agi_fail(t, AG_ERR_ARG, FN ": dropout_p must be in [0, 1], got %g", o->dropout_p), 0;
    if (o->dropout_p > 0 && !o->rng)
        return agi_fail(t, AG_ERR_ARG, FN ": dropout_p %g needs an rng (rng is NULL)",
                        o->dropout_p), 0;
    if (!isfinite(o->scale))
        return agi_fail(t, AG_ERR_ARG, FN ": scale must be finite, got %g", o->scale), 0;
    if (o->mask && o->mask_kind != AG_ATTN_MASK_BOOL && o->mask_kind != AG_ATTN_MASK_ADD)
        return agi_fail(t, AG_ERR_ARG, FN ": unknown mask_kind %d", (int)o->mask_kind), 0;
    const int64_t e = q->shape[q->ndim - 1];
    *scale = o->scale != 0 ? o->scale : e > 0 ? 1 / sqrt((double)e) : 1;
    return 1;
}

/* Shapes and dtypes of q, k, v and the mask; plans the scores in pl. */
static int attn_check(ag_tape *t, const ag_tensor *q, const ag_tensor *k, const ag_tensor *v,
                      const ag_attention_opts *o, attn_plan *pl)
{
    const ag_tensor *m = o->mask;
    char s1[96], s2[96], s3[96], s4[96];
    if (!agi_check(t, FN, "q", q) || !agi_check(t, FN, "k", k) || !agi_check(t, FN, "v", v) ||
        (m && !agi_check(t, FN, "mask", m)))
        return 0;
    if (k->dtype != q->dtype || v->dtype != q->dtype || (m && m->dtype != q->dtype))
        return agi_fail(t, AG_ERR_DTYPE, FN ": dtypes differ: q is %s, k is %s, v is %s, mask "
                        "is %s", agi_dtype_name(q->dtype), agi_dtype_name(k->dtype),
                        agi_dtype_name(v->dtype), m ? agi_dtype_name(m->dtype) : "none"), 0;
    agi_shape_str(q, s1), agi_shape_str(k, s2), agi_shape_str(v, s3);
    if (q->ndim < 2 || k->ndim < 2 || v->ndim < 2)
        return agi_fail(t, AG_ERR_SHAPE, FN ": q, k and v must be at least 2-D: q is %s, k is "
                        "%s, v is %s", s1, s2, s3), 0;
    if (q->shape[q->ndim - 1] != k->shape[k->ndim - 1] ||
        k->shape[k->ndim - 2] != v->shape[v->ndim - 2])
        return agi_fail(t, AG_ERR_SHAPE, FN ": q must be [..., L, E], k [..., S, E] and v "
                        "[..., S, Ev]: q is %s, k is %s, v is %s", s1, s2, s3), 0;
    if (!check_opts(t, q, o, &pl->scale)) return 0;
    if (!scores_shape(q, k, pl) || !fits_scores(v, 2, pl))
        return agi_fail(t, AG_ERR_SHAPE, FN ": batch dims do not broadcast: q is %s, k is %s, "
                        "v is %s", s1, s2, s3), 0;
    if (m && !fits_scores(m, 0, pl))
        return agi_fail(t, AG_ERR_SHAPE, FN ": the mask does not broadcast to the scores: mask "
                        "is %s, scores are %s (q is %s, k is %s)", agi_shape_str(m, s4),
                        agi_dims_str(pl->ndim, pl->shape, s3), s1, s2), 0;
    if (m) agi_bcast_strides(m, pl->ndim, pl->shape, pl->mstride);
    return 1;
}

/* ----------------------------------------------------------- kernels --- */

/* The row kernels are AGI_RANGE_MV (compiled for AVX-512, AVX2 and the
   baseline; ag_ops_internal.h) and their helpers AGI_MV_HELPER, so the
   default portable build runs them at the width of the CPU at hand. */

/* A row kernel's work: rows of x, a [rows, S] view of the scores. */
typedef struct attn_job {
    ag_tensor *x;               /* the scores, then the weights; or dW, then dS */
    const ag_tensor *w;         /* the weights (dS kernel) */
    const ag_tensor *mask;
    const attn_plan *pl;
    int mask_kind, causal;
    double factor;              /* the scale; dS's factor */
} attn_job;

/* The mask's offset for row r of the scores (a batch index and a query). */
static int64_t mask_offset(const attn_plan *pl, int64_t r)
{
    int64_t off = 0;
    for (int d = pl->ndim - 2; d >= 0; d--) {
        off += (r % pl->shape[d]) * pl->mstride[d];
        r /= pl->shape[d];
    }
    return off;
}

/*
** Sums in double in ATTN_LANES partial sums (element j goes to sum j %
** ATTN_LANES; the partial sums are then added in order), so the loop is
** vectorized rather than one chain of dependent additions; the result
** depends only on the row, never on the thread or the split.
*/
#define ATTN_LANES 8
#define ATTN_SUM_DEF(T, SFX)                                                  \
    AGI_MV_HELPER double row_sum##SFX(const T *x, int64_t n)                  \
    {                                                                         \
        double part[ATTN_LANES] = {0};                                        \
        int64_t j = 0;                                                        \
        for (; j + ATTN_LANES <= n; j += ATTN_LANES)                          \
            for (int l = 0; l < ATTN_LANES; l++) part[l] += x[j + l];         \
        for (; j < n; j++) part[j % ATTN_LANES] += x[j];                      \
        double acc = 0;                                                       \
        for (int l = 0; l < ATTN_LANES; l++) acc += part[l];                  \
        return acc;                                                           \
    }                                                                         \
    AGI_MV_HELPER double row_dot##SFX(const T *x, const T *y, int64_t n)      \
    {                                                                         \
        double part[ATTN_LANES] = {0};                                        \
        int64_t j = 0;                                                        \
        for (; j + ATTN_LANES <= n; j += ATTN_LANES)                          \
            for (int l = 0; l < ATTN_LANES; l++)                              \
                part[l] += (double)x[j + l] * y[j + l];                       \
        for (; j < n; j++) part[j % ATTN_LANES] += (double)x[j] * y[j];       \
        double acc = 0;                                                       \
        for (int l = 0; l < ATTN_LANES; l++) acc += part[l];                  \
        return acc;                                                           \
    }                                                                         \
    /* x_j *= scale in place; the largest x_j (-inf for n = 0). */            \
    AGI_MV_HELPER T scale_max##SFX(T *x, int64_t n, T scale)                  \
    {                                                                         \
        T part[ATTN_LANES];                                                   \
        for (int l = 0; l < ATTN_LANES; l++) part[l] = -INFINITY;             \
        int64_t j = 0;                                                        \
        for (; j + ATTN_LANES <= n; j += ATTN_LANES)                          \
            for (int l = 0; l < ATTN_LANES; l++) {                            \
                x[j + l] *= scale;                                            \
                part[l] = x[j + l] > part[l] ? x[j + l] : part[l];            \
            }                                                                 \
        for (; j < n; j++) {                                                  \
            x[j] *= scale;                                                    \
            part[0] = x[j] > part[0] ? x[j] : part[0];                        \
        }                                                                     \
        T mx = part[0];                                                       \
        for (int l = 1; l < ATTN_LANES; l++) mx = part[l] > mx ? part[l] : mx; \
        return mx;                                                            \
    }
ATTN_SUM_DEF(float, _f32)
ATTN_SUM_DEF(double, _f64)

/*
** Row r of x [rows, S] in place: s_j = x_j * scale, plus the mask's m_j
** (additive) or -inf where m_j == 0 (bool) or j > i (causal, i the row's
** query), then softmax(s): the row's max subtracted, the vector math's
** exp, the sum in double (row_sum). A row masked whole is NaN (as torch).
*/
#define ATTN_WEIGHTS_DEF(T, SFX)                                              \
    AGI_MV_HELPER T masked_max##SFX(const attn_job *jb, T *x, int64_t r, int64_t n, \
                                    int64_t len)                              \
    {                                                                         \
        const attn_plan *pl = jb->pl;                                         \
        const int64_t mstep = pl->mstride[pl->ndim - 1];                      \
        const T scale = (T)jb->factor;                                        \
        const T *m = jb->mask ? (const T *)jb->mask->data + mask_offset(pl, r) : NULL; \
        const int64_t lim = jb->causal && r % len + 1 < n ? r % len + 1 : n;  \
        if (!m && lim == n) return scale_max##SFX(x, n, scale);               \
        T mx = -INFINITY;                                                     \
        for (int64_t j = 0; j < n; j++) {                                     \
            T s = x[j] * scale;                                               \
            if (m && jb->mask_kind == AG_ATTN_MASK_ADD) s += m[j * mstep];    \
            else if (m && m[j * mstep] == 0) s = -INFINITY;                   \
            x[j] = j < lim ? s : -INFINITY;                                   \
            if (x[j] > mx) mx = x[j];                                         \
        }                                                                     \
        return mx;                                                            \
    }                                                                         \
    AGI_RANGE_MV(weights_range##SFX, ctx, lo, hi)                             \
    {                                                                         \
        const attn_job *jb = ctx;                                             \
        const attn_plan *pl = jb->pl;                                         \
        const int64_t n = pl->shape[pl->ndim - 1], len = pl->shape[pl->ndim - 2]; \
        for (int64_t r = lo; r < hi; r++) {                                   \
            T *x = (T *)jb->x->data + r * n;                                  \
            const T mx = masked_max##SFX(jb, x, r, n, len);                   \
            AGI_VLOOP(j, 0, n, x[j] = x[j] - mx;);                            \
            agi_vm()->exp##SFX(x, x, n);                                      \
            const double acc = row_sum##SFX(x, n);                            \
            AGI_VLOOP(j, 0, n, x[j] = (T)(x[j] / acc););                      \
        }                                                                     \
    }
ATTN_WEIGHTS_DEF(float, _f32)
ATTN_WEIGHTS_DEF(double, _f64)

/* dS = factor * W * (dW - rowsum(dW * W)) in place of dW, row by row (the
   row's sum in double, row_dot). x is dW [rows, S], w the weights. */
#define ATTN_DSCORES_DEF(T, SFX)                                              \
    AGI_RANGE_MV(dscores_range##SFX, ctx, lo, hi)                             \
    {                                                                         \
        const attn_job *jb = ctx;                                             \
        const int64_t n = jb->x->shape[jb->x->ndim - 1];                      \
        const T f = (T)jb->factor;                                            \
        for (int64_t r = lo; r < hi; r++) {                                   \
            T *g = (T *)jb->x->data + r * n;                                  \
            const T *w = (const T *)jb->w->data + r * n;                      \
            const T d = (T)row_dot##SFX(g, w, n);                             \
            AGI_VLOOP(j, 0, n, g[j] = f * (w[j] * (g[j] - d)););              \
        }                                                                     \
    }
ATTN_DSCORES_DEF(float, _f32)
ATTN_DSCORES_DEF(double, _f64)

/* Runs a row kernel over the rows of jb->x, split over the pool. */
static void attn_rows(attn_job *jb, agi_range_fn f32, agi_range_fn f64)
{
    const ag_tensor *x = jb->x;
    if (x->numel == 0) return;
    const int64_t n = x->shape[x->ndim - 1];
    agi_parallel_range(x->numel / n, AGI_PAR_GRAIN / n + 1, x->dtype == AG_F64 ? f64 : f32, jb);
}

/* ---------------------------------------------------------- backward --- */

/* The weights softmax(q k^T scale + mask) again, written with ops so that
   they carry q's and k's gradients (the rule under create_graph). */
static ag_tensor *weights_with_ops(ag_tape *t, const agi_node *n)
{
    ag_tensor *q = n->in[0], *k = n->in[1], *m = n->iparam[1] ? n->in[3] : NULL;
    const ag_dtype dt = (ag_dtype)q->dtype;
    ag_tensor *s = ag_mul_scalar(t, ag_matmul_nt(t, q, k), n->fparam[0]);
    ag_tensor *ninf = ag_scalar(t, dt, -INFINITY);
    if (n->iparam[1] == 1 + AG_ATTN_MASK_ADD) s = ag_add(t, s, m);
    else if (m) s = ag_where(t, m, s, ninf);
    if (n->iparam[0]) {
        const int64_t shape[2] = {q->shape[q->ndim - 2], k->shape[k->ndim - 2]};
        s = ag_where(t, ag_tril(t, ag_ones(t, dt, 2, shape), 0), s, ninf);
    }
    return ag_softmax(t, s, -1);
}

/* dS = factor * W * (dW - rowsum(dW * W)): with ops under create_graph,
   else by the fused kernel in place of dw (a fresh product). */
static ag_tensor *dscores(ag_tape *t, ag_tensor *w, ag_tensor *dw, double factor)
{
    if (!w || !dw) return NULL;
    if (t->grad_enabled) {
        ag_tensor *dot = ag_sum(t, ag_mul(t, dw, w), -1, 1);
        ag_tensor *ds = ag_mul(t, w, ag_sub(t, dw, dot));
        return factor == 1 ? ds : ag_mul_scalar(t, ds, factor);
    }
    attn_job jb = {.x = dw, .w = w, .factor = factor};
    attn_rows(&jb, dscores_range_f32, dscores_range_f64);
    return dw;
}

/* y = W' @ v, W = softmax(q k^T s + mask), W' = W * drop (or W);
   dv += W'^T dy;  dW = (dy v^T) * drop;  dS = W * (dW - rowsum(dW * W));
   dq += s dS k;  dk += s dS^T q;  dmask += dS (additive; zeros for bool) */
static void attn_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                          const uint8_t *need)
{
    ag_tensor *q = n->in[0], *k = n->in[1], *v = n->in[2];
    const int has_mask = n->iparam[1] != 0, mask_grad = has_mask && need[3];
    const int additive = n->iparam[1] == 1 + AG_ATTN_MASK_ADD;
    ag_tensor *m = has_mask ? n->in[3] : NULL, *drop = n->iparam[2] ? n->in[3 + has_mask] : NULL;
    const double scale = n->fparam[0];
    ag_tensor *w = t->grad_enabled ? weights_with_ops(t, n) : n->saved;
    if (need[2]) gx[2] = agi_reduce_to(t, ag_matmul_tn(t, drop ? ag_mul(t, w, drop) : w, gy), v);
    if (mask_grad && !additive) gx[3] = ag_zeros(t, (ag_dtype)m->dtype, m->ndim, m->shape);
    if (!need[0] && !need[1] && !(mask_grad && additive)) return;
    ag_tensor *dw = ag_matmul_nt(t, gy, v);
    if (drop) dw = ag_mul(t, dw, drop);
    ag_tensor *ds = dscores(t, w, dw, mask_grad && additive ? 1 : scale);
    if (mask_grad && additive) {
        gx[3] = agi_reduce_to(t, ds, m);
        ds = ag_mul_scalar(t, ds, scale);
    }
    if (need[0]) gx[0] = agi_reduce_to(t, ag_matmul(t, ds, k), q);
    if (need[1]) gx[1] = agi_reduce_to(t, ag_matmul_tn(t, ds, q), k);
}

/* y = W' v as above; ty = tW' v + W' tv, tW = W * (tS - rowsum(W * tS)),
   tS = s (tq k^T + q tk^T) (+ tmask when additive), tW' = tW * drop */
static ag_tensor *attn_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    ag_tensor *q = n->in[0], *k = n->in[1], *v = n->in[2];
    const int has_mask = n->iparam[1] != 0;
    ag_tensor *drop = n->iparam[2] ? n->in[3 + has_mask] : NULL;
    ag_tensor *w = t->grad_enabled ? weights_with_ops(t, n) : n->saved;
    ag_tensor *ts = ag_mul_scalar(t, ag_add(t, ag_matmul_nt(t, tx[0], k), ag_matmul_nt(t, q, tx[1])),
                                  n->fparam[0]);
    if (n->iparam[1] == 1 + AG_ATTN_MASK_ADD) ts = ag_add(t, ts, tx[3]);
    ag_tensor *tw = ag_mul(t, w, ag_sub(t, ts, ag_sum(t, ag_mul(t, w, ts), -1, 1)));
    if (drop) w = ag_mul(t, w, drop), tw = ag_mul(t, tw, drop);
    return ag_add(t, ag_matmul(t, tw, v), ag_matmul(t, w, tx[2]));
}

static const agi_op op_attention = {FN, attn_backward, attn_jvp};

/* ------------------------------------------------------------ the op --- */

/* Records the node of y: inputs q, k, v, then the mask and the dropout
   mask when there are; the weights w saved; the scale and flags. */
static ag_tensor *attn_record(ag_tape *t, const ag_attention_opts *o, ag_tensor *q,
                              ag_tensor *k, ag_tensor *v, ag_tensor *w, ag_tensor *drop,
                              ag_tensor *y, double scale)
{
    ag_tensor *in[5] = {q, k, v, NULL, NULL};
    int n_in = 3;
    if (o->mask) in[n_in++] = o->mask;
    if (drop) in[n_in++] = drop;
    agi_node *n = agi_record(t, &op_attention, y, n_in, in);
    if (n) {
        n->iparam[0] = o->is_causal != 0;
        n->iparam[1] = o->mask ? 1 + (int)o->mask_kind : 0;
        n->iparam[2] = drop != NULL;
        n->fparam[0] = scale;
        n->saved = w;
    }
    return agi_done(t, &op_attention, y);
}

ag_tensor *ag_scaled_dot_product_attention(ag_tape *t, ag_tensor *q, ag_tensor *k,
                                           ag_tensor *v, const ag_attention_opts *opts)
{
    const ag_attention_opts o = opts ? *opts : (ag_attention_opts){0};
    attn_plan pl;
    if (!attn_check(t, q, k, v, &o, &pl)) return NULL;
    const uint8_t grad = t->grad_enabled;
    t->grad_enabled = 0;                    /* the steps are this op's, not nodes */
    ag_tensor *w = ag_matmul_nt(t, q, k), *drop = NULL;
    if (w) {
        attn_job jb = {.x = w, .mask = o.mask, .pl = &pl, .mask_kind = (int)o.mask_kind,
                       .causal = o.is_causal != 0, .factor = pl.scale};
        attn_rows(&jb, weights_range_f32, weights_range_f64);
        if (o.dropout_p > 0)
            drop = ag_dropout_mask(t, o.rng, (ag_dtype)q->dtype, w->ndim, w->shape, o.dropout_p);
    }
    ag_tensor *y = ag_matmul(t, drop ? ag_mul(t, w, drop) : w, v);
    t->grad_enabled = grad;
    if (!y) return NULL;
    return attn_record(t, &o, q, k, v, w, drop, y, pl.scale);
}
