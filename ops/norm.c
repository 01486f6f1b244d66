/*
** norm.c: the fused per-channel ops of batch normalization (ag_norm.h):
** ag_batch_norm_stats, ag_channel_affine, ag_batch_norm, and a private op
** of channel sums that their backward rules share. x is seen as [N, C,
** inner]; per-channel tensors are [C].
**
** The affine op is general inside this file: y = g*A + (x - m)*B + S,
** each of g*A, m and S optional (the public op is y = x*B + S). The
** centring by m keeps the backward of batch normalization exact to
** rounding when a channel's mean is large against its spread, as
** PyTorch's kernels do. The channel sums are [2, C]: sum g*(a - m) and
** sum g. Statistics and sums accumulate in double over 16 lanes per
** channel, in a fixed order (the same bits for any split).
*/
#include "ag_ops_internal.h"
#include "ag_arrange.h"
#include "ag_binary.h"
#include "ag_norm.h"
#include "ag_shape.h"
#include "ag_unary.h"

#include <stdio.h>
#include <string.h>

#define LANES 16

typedef struct chan {
    int64_t n, c, inner;        /* x is [n, c, inner] */
} chan;

static chan chan_of(const ag_tensor *x)
{
    chan g = {x->shape[0], x->shape[1], agi_numel(x->ndim - 2, x->shape + 2)};
    return g;
}

/* M, the values per channel (0 for a tensor without channels). */
static double per_channel(const ag_tensor *x)
{
    return x->shape[1] ? (double)(x->numel / x->shape[1]) : 0;
}

/* The lanes' total, in a fixed order. */
AGI_MV_HELPER double lanes_total(const double *acc)
{
    double s[LANES / 2];
    for (int k = 0; k < LANES / 2; k++) s[k] = acc[k] + acc[k + LANES / 2];
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

/* ACC_EXPR for element i = k (mod LANES) of every row of channel c of X
   [n, c, inner], the element named v and W's at the same place w. */
#define CHANNEL_LOOP(T, G, C, X, W, ACC_EXPR)                                 \
    for (int64_t n_ = 0; n_ < (G).n; n_++) {                                  \
        const T *xr_ = (X) + (n_ * (G).c + (C)) * (G).inner;                  \
        const T *wr_ = (W) + (n_ * (G).c + (C)) * (G).inner;                  \
        int64_t i_ = 0;                                                       \
        for (; i_ + LANES <= (G).inner; i_ += LANES)                          \
            for (int k = 0; k < LANES; k++) {                                 \
                const double v = xr_[i_ + k], w = wr_[i_ + k];                \
                (void)w;                                                      \
                ACC_EXPR;                                                     \
            }                                                                 \
        for (int k = 0; i_ + k < (G).inner; k++) {                            \
            const double v = xr_[i_ + k], w = wr_[i_ + k];                    \
            (void)w;                                                          \
            ACC_EXPR;                                                         \
        }                                                                     \
    }

/* ------------------------------------------------------------ kernels --- */

/*
** out[c] = mean, out[C + c] = biased variance of channel c, for channels
** [lo, hi) of x (two passes: the mean, then the squared deviations).
*/
#define DEFINE_STATS(NAME, T)                                                 \
    AGI_MV_HELPER void NAME(const T *x, chan g, double *out, int64_t lo, int64_t hi) \
    {                                                                         \
        const double m_count = (double)(g.n * g.inner);                       \
        for (int64_t c = lo; c < hi; c++) {                                   \
            double acc[LANES] = {0}, sq[LANES] = {0};                         \
            CHANNEL_LOOP(T, g, c, x, x, acc[k] += v)                          \
            const double mean = lanes_total(acc) / m_count;                   \
            CHANNEL_LOOP(T, g, c, x, x, sq[k] += (v - mean) * (v - mean))     \
            out[c] = mean;                                                    \
            out[g.c + c] = lanes_total(sq) / m_count;                         \
        }                                                                     \
    }

/* out[c] = sum g*(a - m[c]), out[C + c] = sum g over channel c (m NULL: 0). */
#define DEFINE_SUMS(NAME, T)                                                  \
    AGI_MV_HELPER void NAME(const T *gr, const T *a, const T *m, chan g, double *out, \
                     int64_t lo, int64_t hi)                                  \
    {                                                                         \
        for (int64_t c = lo; c < hi; c++) {                                   \
            const double mc = m ? m[c] : 0;                                   \
            double acc[LANES] = {0}, sum[LANES] = {0};                        \
            CHANNEL_LOOP(T, g, c, gr, a, (acc[k] += v * (w - mc), sum[k] += v)) \
            out[c] = lanes_total(acc);                                        \
            out[g.c + c] = lanes_total(sum);                                  \
        }                                                                     \
    }

/* y = g*A + (x - m)*B + S over the units [lo, hi): rows (n, c) when inner
   > 1, else samples n (vectorized over c). gv, av, mv, sv may be NULL. */
#define DEFINE_AFFINE(NAME, T)                                                \
    AGI_MV_HELPER void NAME(const T *gv, const T *av, const T *x, const T *mv, const T *bv, \
                     const T *sv, T *y, chan g, int64_t lo, int64_t hi)       \
    {                                                                         \
        for (int64_t u = lo; u < hi; u++) {                                   \
            if (g.inner > 1) {                                                \
                const int64_t c = u % g.c, o = u * g.inner;                   \
                const T a = av ? av[c] : 0, m = mv ? mv[c] : 0, b = bv[c];    \
                const T s = sv ? sv[c] : 0;                                   \
                if (gv)                                                       \
                    AGI_VLOOP(i, o, o + g.inner, y[i] = gv[i] * a + (x[i] - m) * b + s;); \
                else                                                          \
                    AGI_VLOOP(i, o, o + g.inner, y[i] = (x[i] - m) * b + s;); \
                continue;                                                     \
            }                                                                 \
            const int64_t o = u * g.c;                                        \
            AGI_VLOOP(c, 0, g.c, const T a = av ? av[c] : 0;                  \
                      const T m = mv ? mv[c] : 0; const T s = sv ? sv[c] : 0; \
                      y[o + c] = (gv ? gv[o + c] * a : 0) + (x[o + c] - m) * bv[c] + s;); \
        }                                                                     \
    }

DEFINE_STATS(stats_f32, float)
DEFINE_STATS(stats_f64, double)
DEFINE_SUMS(sums_f32, float)
DEFINE_SUMS(sums_f64, double)
DEFINE_AFFINE(affine_f32, float)
DEFINE_AFFINE(affine_f64, double)

/* The operands of a kernel run: tensors (NULL when absent), out. */
typedef struct norm_job {
    chan g;
    const ag_tensor *gt, *at, *x, *mt, *bt, *st;
    ag_tensor *y;
    double *out;
} norm_job;

#define DATA(T, X) ((X) ? (const T *)(X)->data : NULL)

AGI_RANGE_MV(stats_range, ctx, lo, hi)
{
    const norm_job *j = ctx;
    if (j->x->dtype == AG_F64)
        stats_f64(AGI_F64(j->x), j->g, j->out, lo, hi);
    else
        stats_f32(AGI_F32(j->x), j->g, j->out, lo, hi);
}

AGI_RANGE_MV(sums_range, ctx, lo, hi)
{
    const norm_job *j = ctx;
    if (j->x->dtype == AG_F64)
        sums_f64(AGI_F64(j->gt), AGI_F64(j->x), DATA(double, j->mt), j->g, j->out, lo, hi);
    else
        sums_f32(AGI_F32(j->gt), AGI_F32(j->x), DATA(float, j->mt), j->g, j->out, lo, hi);
}

AGI_RANGE_MV(affine_range, ctx, lo, hi)
{
    const norm_job *j = ctx;
    if (j->x->dtype == AG_F64)
        affine_f64(DATA(double, j->gt), DATA(double, j->at), AGI_F64(j->x), DATA(double, j->mt),
                   AGI_F64(j->bt), DATA(double, j->st), AGI_F64(j->y), j->g, lo, hi);
    else
        affine_f32(DATA(float, j->gt), DATA(float, j->at), AGI_F32(j->x), DATA(float, j->mt),
                   AGI_F32(j->bt), DATA(float, j->st), AGI_F32(j->y), j->g, lo, hi);
}

/* Runs a per-channel kernel (stats or sums) over the channels. */
static void run_channels(norm_job *j, agi_range_fn fn)
{
    int64_t per = j->g.n * j->g.inner;
    agi_parallel_range(j->g.c, per >= 1 && per < AGI_PAR_GRAIN ? AGI_PAR_GRAIN / per : 1, fn, j);
}

/* Runs the affine kernel over its units. */
static void run_affine(norm_job *j)
{
    int64_t units = j->g.inner > 1 ? j->g.n * j->g.c : j->g.n;
    int64_t len = j->g.inner > 1 ? j->g.inner : j->g.c;
    agi_parallel_range(units, len >= 1 && len < AGI_PAR_GRAIN ? AGI_PAR_GRAIN / len : 1,
                       affine_range, j);
}

/* A [2, C] tape tensor of x's dtype from out[2 * C]. */
static ag_tensor *pair_tensor(ag_tape *t, const char *fn, const ag_tensor *x, const double *out)
{
    ag_tensor *p = agi_new(t, fn, (ag_dtype)x->dtype, 2, (int64_t[]){2, x->shape[1]});
    if (!p) return NULL;
    for (int64_t i = 0; i < 2 * x->shape[1]; i++) {
        if (p->dtype == AG_F64)
            AGI_F64(p)[i] = out[i];
        else
            AGI_F32(p)[i] = (float)out[i];
    }
    return p;
}

/* Row r of a [2, C] tensor, as [C]. */
static ag_tensor *row(ag_tape *t, ag_tensor *m, int r)
{
    if (!m) return NULL;
    int64_t c = m->shape[1];
    return ag_reshape(t, ag_slice(t, m, 0, r, r + 1, 1), 1, &c);
}

/* ---------------------------------------------------------- the ops --- */

static ag_tensor *affine(ag_tape *t, ag_tensor *g, ag_tensor *a, ag_tensor *x, ag_tensor *m,
                         ag_tensor *b, ag_tensor *s);
static ag_tensor *sums(ag_tape *t, ag_tensor *g, ag_tensor *a, ag_tensor *m);

/* The operands of an affine node: in order x, B, then g and A, m, S when
   present (iparam[0..2] say which). */
typedef struct affine_in {
    int ix, ib, ig, ia, im, is;         /* positions in n->in, -1 when absent */
} affine_in;

static affine_in affine_slots(const agi_node *n)
{
    affine_in p = {0, 1, -1, -1, -1, -1};
    int k = 2;
    if (n->iparam[0]) p.ig = k++, p.ia = k++;
    if (n->iparam[1]) p.im = k++;
    if (n->iparam[2]) p.is = k++;
    return p;
}

#define IN(P) ((P) >= 0 ? n->in[P] : NULL)
#define NEED(P) ((P) >= 0 && need[P])

/* y = g*A + (x - m)*B + S; dx += dy*B, dB += sum dy*(x - m), dg += dy*A,
   dA += sum dy*g, dm -= B sum dy, dS += sum dy */
static void affine_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                            ag_tensor **gx, const uint8_t *need)
{
    const affine_in p = affine_slots(n);
    ag_tensor *b = n->in[p.ib];
    if (need[p.ix]) gx[p.ix] = affine(t, NULL, NULL, gy, NULL, b, NULL);
    if (NEED(p.ig)) gx[p.ig] = affine(t, NULL, NULL, gy, NULL, IN(p.ia), NULL);
    if (NEED(p.ia)) gx[p.ia] = row(t, sums(t, gy, IN(p.ig), NULL), 0);
    if (need[p.ib] || NEED(p.im) || NEED(p.is)) {
        ag_tensor *s = sums(t, gy, n->in[p.ix], IN(p.im));
        if (need[p.ib]) gx[p.ib] = row(t, s, 0);
        if (NEED(p.is)) gx[p.is] = row(t, s, 1);
        if (NEED(p.im)) gx[p.im] = ag_neg(t, ag_mul(t, b, row(t, s, 1)));
    }
}
/* ty = tg*A + (tx - tm)*B + tS + g*tA + (x - m)*tB: two affine ops */
static ag_tensor *affine_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const affine_in p = affine_slots(n);
#define TX(P) ((P) >= 0 ? tx[P] : NULL)
    ag_tensor *first = affine(t, TX(p.ig), IN(p.ia), tx[p.ix], TX(p.im), n->in[p.ib], TX(p.is));
    ag_tensor *second = affine(t, IN(p.ig), TX(p.ia), n->in[p.ix], IN(p.im), tx[p.ib], NULL);
#undef TX
    return ag_add(t, first, second);
}
static const agi_op op_affine = {"ag_channel_affine", affine_backward, affine_jvp};

/* The affine op on checked operands (x and b present). */
static ag_tensor *affine(ag_tape *t, ag_tensor *g, ag_tensor *a, ag_tensor *x, ag_tensor *m,
                         ag_tensor *b, ag_tensor *s)
{
    if (t->status != AG_OK) return NULL;
    if (!x || !b || (g && !a))
        return agi_fail(t, AG_ERR_ARG, "%s: an operand is missing", op_affine.name);
    ag_tensor *y = agi_new_like(t, op_affine.name, x);
    if (!y) return NULL;
    norm_job j = {chan_of(x), g, a, x, m, b, s, y, NULL};
    run_affine(&j);
    ag_tensor *in[6] = {x, b};
    int k = 2;
    if (g) in[k++] = g, in[k++] = a;
    if (m) in[k++] = m;
    if (s) in[k++] = s;
    agi_node *nd = agi_record(t, &op_affine, y, k, in);
    if (nd) nd->iparam[0] = g != NULL, nd->iparam[1] = m != NULL, nd->iparam[2] = s != NULL;
    return agi_done(t, &op_affine, y);
}

/* s = [sum g*(a - m), sum g] per channel; dg += (a - m)*h0 + h1,
   da += g*h0, dm -= h0 * s[1] */
static void sums_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    ag_tensor *h0 = row(t, gy, 0), *m = n->n_in > 2 ? n->in[2] : NULL;
    if (need[0]) gx[0] = affine(t, NULL, NULL, n->in[1], m, h0, row(t, gy, 1));
    if (need[1]) gx[1] = affine(t, NULL, NULL, n->in[0], NULL, h0, NULL);
    if (n->n_in > 2 && need[2]) gx[2] = ag_neg(t, ag_mul(t, h0, row(t, n->out, 1)));
}
/* ts = [sum tg*(a - m) + g*ta - tm * sum g, sum tg] */
static ag_tensor *sums_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    ag_tensor *m = n->n_in > 2 ? n->in[2] : NULL;
    ag_tensor *s1 = sums(t, tx[0], n->in[1], m), *s2 = sums(t, n->in[0], tx[1], NULL);
    ag_tensor *r0 = ag_add(t, row(t, s1, 0), row(t, s2, 0));
    if (m) r0 = ag_sub(t, r0, ag_mul(t, tx[2], row(t, n->out, 1)));
    ag_tensor *rows[2] = {r0, row(t, s1, 1)};
    return r0 && rows[1] ? ag_stack(t, 2, rows, 0) : NULL;
}
static const agi_op op_sums = {"ag_batch_norm (channel sums)", sums_backward, sums_jvp};

/* [2, C]: sum g*(a - m) and sum g per channel (m may be NULL). */
static ag_tensor *sums(ag_tape *t, ag_tensor *g, ag_tensor *a, ag_tensor *m)
{
    if (t->status != AG_OK) return NULL;
    if (!g || !a) return agi_fail(t, AG_ERR_ARG, "%s: an operand is missing", op_sums.name);
    double *out = agi_alloc(t, (size_t)(2 * a->shape[1] + 1) * sizeof *out);
    if (!out) return NULL;
    norm_job j = {chan_of(a), g, NULL, a, m, NULL, NULL, NULL, out};
    run_channels(&j, sums_range);
    ag_tensor *s = pair_tensor(t, op_sums.name, a, out);
    if (!s) return NULL;
    ag_tensor *in[3] = {g, a, m};
    agi_record(t, &op_sums, s, m ? 3 : 2, in);
    return agi_done(t, &op_sums, s);
}

/* -------------------------------------------------------- the checks --- */

/* x has at least 2 dims. */
static int check_x(ag_tape *t, const char *fn, const ag_tensor *x)
{
    char sx[96];
    if (!agi_check(t, fn, "x", x)) return 0;
    if (x->ndim < 2)
        return agi_fail(t, AG_ERR_SHAPE, "%s: x is %s, expected [N, C, ...] (at least 2 dims)",
                        fn, agi_shape_str(x, sx)), 0;
    return 1;
}

/* v (named what) is NULL or a [C] tensor of x's dtype. */
static int check_channel(ag_tape *t, const char *fn, const char *what, const ag_tensor *x,
                         const ag_tensor *v)
{
    char sx[96], sv[96];
    if (!v) return 1;
    if (!agi_check(t, fn, what, v)) return 0;
    if (v->dtype != x->dtype)
        return agi_fail(t, AG_ERR_DTYPE, "%s: %s is %s, x is %s (use ag_cast)", fn, what,
                        agi_dtype_name(v->dtype), agi_dtype_name(x->dtype)), 0;
    if (v->ndim != 1 || v->shape[0] != x->shape[1])
        return agi_fail(t, AG_ERR_SHAPE, "%s: %s is %s, expected [%lld] (x is %s)", fn, what,
                        agi_shape_str(v, sv), (long long)x->shape[1], agi_shape_str(x, sx)), 0;
    return 1;
}

/* ------------------------------------------------------ public ops --- */

ag_tensor *ag_channel_affine(ag_tape *t, ag_tensor *x, ag_tensor *scale, ag_tensor *shift)
{
    const char *fn = op_affine.name;
    if (!check_x(t, fn, x)) return NULL;
    if (!scale) return agi_fail(t, AG_ERR_ARG, "%s: scale is NULL", fn);
    if (!check_channel(t, fn, "scale", x, scale) || !check_channel(t, fn, "shift", x, shift))
        return NULL;
    return affine(t, NULL, NULL, x, NULL, scale, shift);
}

/* s = [mean, var] per channel; dx += (x - mean) * 2 h1 / M + h0 / M */
static void stats_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                           ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *x = n->in[0];
    const double count = per_channel(x);
    gx[0] = affine(t, NULL, NULL, x, row(t, n->out, 0), ag_mul_scalar(t, row(t, gy, 1),
                   2 / count), ag_div_scalar(t, row(t, gy, 0), count));
}
/* ts = [sum tx / M, 2 sum (x - mean) tx / M] */
static ag_tensor *stats_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const double count = per_channel(n->in[0]);
    ag_tensor *s = sums(t, tx[0], n->in[0], row(t, n->out, 0));
    ag_tensor *rows[2] = {ag_div_scalar(t, row(t, s, 1), count),
                          ag_mul_scalar(t, row(t, s, 0), 2 / count)};
    return rows[0] && rows[1] ? ag_stack(t, 2, rows, 0) : NULL;
}
static const agi_op op_stats = {"ag_batch_norm_stats", stats_backward, stats_jvp};

/* The statistics of x into a fresh out[2 * C]; NULL on failure. */
static double *stats_of(ag_tape *t, const ag_tensor *x)
{
    double *out = agi_alloc(t, (size_t)(2 * x->shape[1] + 1) * sizeof *out);
    if (!out) return NULL;
    norm_job j = {chan_of(x), NULL, NULL, x, NULL, NULL, NULL, NULL, out};
    run_channels(&j, stats_range);
    return out;
}

ag_tensor *ag_batch_norm_stats(ag_tape *t, ag_tensor *x)
{
    if (!check_x(t, op_stats.name, x)) return NULL;
    double *out = stats_of(t, x);
    ag_tensor *s = out ? pair_tensor(t, op_stats.name, x, out) : NULL;
    if (!s) return NULL;
    agi_record(t, &op_stats, s, 1, &x);
    return agi_done(t, &op_stats, s);
}

/* y = (x - mean) r w + b, r = (var + eps)^-1/2 of the batch; with
   S0 = sum dy (x - mean) and Sg = sum dy per channel (PyTorch's):
   dw += r S0, db += Sg, dx += r w (dy - Sg/M - (x - mean) r^2 S0/M) */
static void bn_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                        ag_tensor **gx, const uint8_t *need)
{
    ag_tensor *x = n->in[0], *w = n->iparam[0] ? n->in[1] : NULL;
    const int iw = 1, ib = 1 + n->iparam[0];
    const double count = per_channel(x);
    ag_tensor *st = ag_batch_norm_stats(t, x), *mean = row(t, st, 0);
    ag_tensor *r = ag_pow_scalar(t, ag_add_scalar(t, row(t, st, 1), n->fparam[0]), -0.5);
    ag_tensor *s = sums(t, gy, x, mean);
    ag_tensor *sg = row(t, s, 1), *rs0 = ag_mul(t, r, row(t, s, 0));
    if (w && need[iw]) gx[iw] = rs0;
    if (n->iparam[1] && need[ib]) gx[ib] = sg;
    if (!need[0]) return;
    ag_tensor *rw = w ? ag_mul(t, r, w) : r;
    ag_tensor *b = ag_mul_scalar(t, ag_mul(t, ag_mul(t, rw, r), rs0), -1 / count);
    gx[0] = affine(t, gy, rw, x, mean, b, ag_mul_scalar(t, ag_mul(t, rw, sg), -1 / count));
}
/* ty = (tx - tmean) r w + (x - mean)(tr w + r tw) + tb, with
   tmean = sum tx / M, tr = -r^3 sum (x - mean) tx / M */
static ag_tensor *bn_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    ag_tensor *x = n->in[0], *w = n->iparam[0] ? n->in[1] : NULL;
    ag_tensor *tw = w ? tx[1] : NULL, *tb = n->iparam[1] ? tx[1 + n->iparam[0]] : NULL;
    const double count = per_channel(x);
    ag_tensor *st = ag_batch_norm_stats(t, x), *mean = row(t, st, 0);
    ag_tensor *r = ag_pow_scalar(t, ag_add_scalar(t, row(t, st, 1), n->fparam[0]), -0.5);
    ag_tensor *s = sums(t, tx[0], x, mean);
    ag_tensor *tmean = ag_div_scalar(t, row(t, s, 1), count);
    ag_tensor *tr = ag_mul_scalar(t, ag_mul(t, ag_pow_scalar(t, r, 3), row(t, s, 0)), -1 / count);
    ag_tensor *b2 = w ? ag_add(t, ag_mul(t, tr, w), ag_mul(t, r, tw)) : tr;
    ag_tensor *first = affine(t, NULL, NULL, tx[0], tmean, w ? ag_mul(t, r, w) : r, tb);
    return ag_add(t, first, affine(t, NULL, NULL, x, mean, b2, NULL));
}
static const agi_op op_bn = {"ag_batch_norm", bn_backward, bn_jvp};

/* The per-channel mean, scale r*w and shift of the forward, as [C]
   tensors of x's dtype into p[0..2]. */
static int bn_params(ag_tape *t, const ag_tensor *x, const double *st, const ag_tensor *w,
                     const ag_tensor *b, double eps, ag_tensor **p)
{
    const int64_t c = x->shape[1];
    for (int k = 0; k < 3; k++)
        if (!(p[k] = agi_new(t, op_bn.name, (ag_dtype)x->dtype, 1, &c))) return 0;
    for (int64_t i = 0; i < c; i++) {
        const double r = 1 / sqrt(st[c + i] + eps);
        const double v[3] = {st[i], w ? r * ag_tensor_get(w, i) : r, b ? ag_tensor_get(b, i) : 0};
        for (int k = 0; k < 3; k++) {
            if (x->dtype == AG_F64)
                AGI_F64(p[k])[i] = v[k];
            else
                AGI_F32(p[k])[i] = (float)v[k];
        }
    }
    return 1;
}

ag_tensor *ag_batch_norm(ag_tape *t, ag_tensor *x, ag_tensor *weight, ag_tensor *bias,
                         double eps, ag_tensor **stats)
{
    const char *fn = op_bn.name;
    ag_tensor *p[3];
    if (stats) *stats = NULL;
    if (!check_x(t, fn, x) || !check_channel(t, fn, "weight", x, weight) ||
        !check_channel(t, fn, "bias", x, bias))
        return NULL;
    if (!(eps >= 0) || !isfinite(eps))
        return agi_fail(t, AG_ERR_ARG, "%s: eps %g must be finite and >= 0", fn, eps);
    double *st = stats_of(t, x);
    ag_tensor *y = st && bn_params(t, x, st, weight, bias, eps, p) ? agi_new_like(t, fn, x) : NULL;
    if (!y) return NULL;
    norm_job j = {chan_of(x), NULL, NULL, x, p[0], p[1], p[2], y, NULL};
    run_affine(&j);
    ag_tensor *in[3] = {x};
    int k = 1;
    if (weight) in[k++] = weight;
    if (bias) in[k++] = bias;
    agi_node *nd = agi_record(t, &op_bn, y, k, in);
    if (nd) nd->iparam[0] = weight != NULL, nd->iparam[1] = bias != NULL, nd->fparam[0] = eps;
    if (stats && !(*stats = pair_tensor(t, fn, x, st))) return NULL;
    return agi_done(t, &op_bn, y);
}
