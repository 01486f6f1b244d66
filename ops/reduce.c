/*
** reduce.c: reductions over every element (axis AG_ALL) or one axis: sum,
** mean, max, min, var and logsumexp, with the axis check softmax.c shares.
** softmax and log_softmax live in softmax.c.
**
** Geometry. Reducing axis a sees x as [outer, n, inner]: n is a's length,
** outer the product of the dims before it, inner of those after. AG_ALL is
** [1, numel, 1]; a 0-d x is [1, 1, 1] and takes axis 0, -1 or AG_ALL (all
** three reduce nothing). Output element o*inner + j reduces the row
** x[o, :, j]; that flat place is the same with or without keepdim, so
** keepdim only changes the output's shape.
**
** Accuracy. Sums accumulate in double for both dtypes, so an f32 sum is
** off by little more than its final rounding. sum and mean add
** contiguous rows (inner == 1, which includes AG_ALL) pairwise, so the f64
** error grows as O(log n) rather than O(n); strided rows (inner > 1)
** accumulate in order, 256 columns at a time so that the reads stay
** contiguous. var takes two passes (the mean, then the squared
** deviations), in double.
**
** Backward. Every rule is written with ops. A rule first puts the reduced
** axis back into dy (size 1) with a private view op, a copy with a new
** shape whose backward is the same op the other way, then lets ag_expand
** or a broadcasting op spread it over x's shape; so gradients of any order
** work, with or without keepdim.
*/
#include "ag_ops_internal.h"
#include "ag_binary.h"
#include "ag_reduce.h"
#include "ag_shape.h"
#include "ag_unary.h"
#include "vmath_internal.h"

#include <string.h>

#define TILE 256            /* columns accumulated together when inner > 1 */
#define PAIRWISE_BASE 128   /* rows at most this long are summed directly */

int agi_reduce_axis(ag_tape *t, const char *fn, const ag_tensor *x, int axis,
                    int allow_all, int64_t *outer, int64_t *n, int64_t *inner)
{
    char buf[96];
    int a = axis;
    if (axis == AG_ALL && !allow_all) {
        agi_fail(t, AG_ERR_AXIS, "%s: needs one axis, not AG_ALL (x is %s)", fn,
                 agi_shape_str(x, buf));
        return -1;
    }
    if (x->ndim == 0 && (axis == 0 || axis == -1)) {
        a = AG_ALL;
    } else if (axis != AG_ALL) {
        a = axis < 0 ? axis + x->ndim : axis;
        if (a < 0 || a >= x->ndim) {
            agi_fail(t, AG_ERR_AXIS, "%s: axis %d out of range for x of shape %s",
                     fn, axis, agi_shape_str(x, buf));
            return -1;
        }
    }
    *outer = *n = *inner = 1;
    if (a == AG_ALL) {
        *n = x->numel;
        return a;
    }
    *outer = agi_dims_prod(x->shape, 0, a);
    *inner = agi_dims_prod(x->shape, a + 1, x->ndim);
    *n = x->shape[a];
    return a;
}

typedef struct rgeom {
    int axis;                   /* normalised, or AG_ALL */
    int keepdim;                /* 0 or 1 */
    int64_t outer, n, inner;
} rgeom;

/* The shape of x reduced over axis (or AG_ALL); returns its ndim. */
static int reduced_shape(const ag_tensor *x, int axis, int keepdim, int64_t *shape)
{
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (axis == AG_ALL || d == axis) {
            if (keepdim) shape[nd++] = 1;
        } else {
            shape[nd++] = x->shape[d];
        }
    }
    return nd;
}

/*
** Checks x and axis, fills g and makes the output. With nonempty, a
** reduction over zero elements is an AG_ERR_SHAPE error. NULL on error.
*/
static ag_tensor *reduce_begin(ag_tape *t, const agi_op *op, ag_tensor *x, int axis,
                               int keepdim, int nonempty, rgeom *g)
{
    char buf[96];
    int64_t shape[AG_MAX_DIMS];
    if (!agi_check(t, op->name, "x", x)) return NULL;
    g->axis = agi_reduce_axis(t, op->name, x, axis, 1, &g->outer, &g->n, &g->inner);
    if (g->axis == -1) return NULL;
    g->keepdim = keepdim != 0;
    if (nonempty && g->n == 0) {
        if (g->axis == AG_ALL)
            return agi_fail(t, AG_ERR_SHAPE, "%s: x is %s, with no elements to reduce",
                            op->name, agi_shape_str(x, buf));
        return agi_fail(t, AG_ERR_SHAPE, "%s: axis %d of x (shape %s) is empty", op->name,
                        axis, agi_shape_str(x, buf));
    }
    int nd = reduced_shape(x, g->axis, g->keepdim, shape);
    return agi_new(t, op->name, (ag_dtype)x->dtype, nd, shape);
}

/* Records op on x; stores the axis, keepdim and row length in the node. */
static agi_node *reduce_record(ag_tape *t, const agi_op *op, ag_tensor *x, ag_tensor *y,
                               const rgeom *g)
{
    agi_node *n = agi_record(t, op, y, 1, &x);
    if (n) {
        n->iparam[0] = g->axis;
        n->iparam[1] = g->keepdim;
        n->fparam[0] = (double)g->n;
    }
    return n;
}

/* --------------------------------------------------- the keepdim view --- */

static ag_tensor *keepdim_view(ag_tape *t, ag_tensor *x, int ndim, const int64_t *shape);

/* y = x with another shape (same elements, same order); dx += dy in x's shape */
static void view_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = keepdim_view(t, gy, n->in[0]->ndim, n->in[0]->shape);
}
/* ty = tx in y's shape */
static ag_tensor *view_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return keepdim_view(t, tx[0], n->out->ndim, n->out->shape);
}
static const agi_op op_view = {"ag_reduce (keepdim view)", view_backward, view_jvp};

/* A copy of x with shape (same numel): re-inserts or removes a size-1 axis. */
static ag_tensor *keepdim_view(ag_tape *t, ag_tensor *x, int ndim, const int64_t *shape)
{
    if (!agi_check(t, op_view.name, "x", x)) return NULL;
    ag_tensor *y = agi_new(t, op_view.name, (ag_dtype)x->dtype, ndim, shape);
    if (!y) return NULL;
    if (x->numel) memcpy(y->data, x->data, agi_bytes(x->numel, x->dtype));
    if (t->plan) agi_plan_log(t, 1, agi_step_copy, NULL, y, x, NULL, 0, 0);
    agi_record(t, &op_view, y, 1, &x);
    return agi_done(t, &op_view, y);
}

/* g (the shape of node n's output) with the reduced axis back, size 1. */
static ag_tensor *as_keepdim(ag_tape *t, ag_tensor *g, const agi_node *n)
{
    int64_t shape[AG_MAX_DIMS];
    if (!g || n->iparam[1] || n->iparam[0] == AG_ALL) return g;   /* 0-d broadcasts */
    int nd = reduced_shape(n->in[0], n->iparam[0], 1, shape);
    return keepdim_view(t, g, nd, shape);
}

/* g (the shape of node n's output) spread over n's input shape. */
static ag_tensor *spread(ag_tape *t, ag_tensor *g, const agi_node *n)
{
    return ag_expand(t, as_keepdim(t, g, n), n->in[0]->ndim, n->in[0]->shape);
}

/* ------------------------------------------------------------ kernels --- */

/* Visits every row x[o, :, j] of g's view: base is the flat offset of its
   first element, s its stride, out the output's flat index. */
#define FOR_EACH_ROW(G)                                                   \
    for (int64_t o_ = 0; o_ < (G)->outer; o_++)                           \
        for (int64_t j_ = 0, s = (G)->inner, base = o_ * (G)->n * s + j_, \
                     out = o_ * s + j_;                                   \
             j_ < s; j_++, base++, out++)

/* Sum of x[0..n) in double: halves down to PAIRWISE_BASE, then four
   accumulators. */
#define DEFINE_PAIRWISE(NAME, T)                                          \
    static double NAME(const T *x, int64_t n)                             \
    {                                                                     \
        if (n > PAIRWISE_BASE)                                            \
            return NAME(x, n / 2) + NAME(x + n / 2, n - n / 2);           \
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;                            \
        int64_t k = 0;                                                    \
        for (; k + 4 <= n; k += 4) {                                      \
            s0 += x[k];                                                   \
            s1 += x[k + 1];                                               \
            s2 += x[k + 2];                                               \
            s3 += x[k + 3];                                               \
        }                                                                 \
        for (; k < n; k++) s0 += x[k];                                    \
        return (s0 + s1) + (s2 + s3);                                     \
    }

/*
** y[o, j] = sum over k of x[o, k, j], divided by div (x is [outer, n,
** inner]), for the units [lo, hi) of the work: a unit is one output
** (inner == 1, a pairwise sum) or TILE columns of one o, accumulated row
** by row in order (vectorized across the columns). Units own disjoint
** outputs and each output is summed alone, so any split gives the same
** bits.
*/
#define DEFINE_SUM(NAME, T, PAIRWISE)                                     \
    AGI_MV_HELPER void NAME(const T *x, T *y, const rgeom *g, double div, \
                     int64_t lo, int64_t hi)                              \
    {                                                                     \
        const int64_t n = g->n, inner = g->inner;                         \
        const int64_t tiles = (inner + TILE - 1) / TILE;                  \
        for (int64_t u = lo; u < hi; u++) {                               \
            const int64_t o = inner == 1 ? u : u / tiles;                 \
            const T *xo = x + o * n * inner;                              \
            T *yo = y + o * inner;                                        \
            if (inner == 1) {                                             \
                yo[0] = (T)(PAIRWISE(xo, n) / div);                       \
                continue;                                                 \
            }                                                             \
            double acc[TILE];                                             \
            const int64_t j0 = u % tiles * TILE;                          \
            const int64_t w = inner - j0 < TILE ? inner - j0 : TILE;      \
            for (int64_t j = 0; j < w; j++) acc[j] = 0;                   \
            for (int64_t k = 0; k < n; k++) {                             \
                const T *row = xo + k * inner + j0;                       \
                AGI_VLOOP(j, 0, w, acc[j] += row[j];);                    \
            }                                                             \
            for (int64_t j = 0; j < w; j++) yo[j0 + j] = (T)(acc[j] / div); \
        }                                                                 \
    }

DEFINE_PAIRWISE(pairwise_f64, double)
DEFINE_PAIRWISE(pairwise_f32, float)
DEFINE_SUM(sum_f64, double, pairwise_f64)
DEFINE_SUM(sum_f32, float, pairwise_f32)

typedef struct sum_job {
    const ag_tensor *x;
    ag_tensor *y;
    const rgeom *g;
    double div;
} sum_job;

AGI_RANGE_MV(sum_range, job, lo, hi)
{
    const sum_job *s = job;
    if (s->x->dtype == AG_F64)
        sum_f64(AGI_F64(s->x), AGI_F64(s->y), s->g, s->div, lo, hi);
    else
        sum_f32(AGI_F32(s->x), AGI_F32(s->y), s->g, s->div, lo, hi);
}

static void sum_kernel(const ag_tensor *x, ag_tensor *y, const rgeom *g, double div);

/* A plan's replay of sum or mean (aux: the geometry, s: the divisor). */
static void sum_step(const agi_step *st) { sum_kernel(st->a, st->y, st->aux, st->s); }

/* sum_kernel, and its step logged when a plan captures t. */
static void sum_run(ag_tape *t, const ag_tensor *x, ag_tensor *y, const rgeom *g, double div)
{
    sum_kernel(x, y, g, div);
    if (!t->plan) return;
    agi_step *st = agi_plan_log(t, 1, sum_step, NULL, y, (ag_tensor *)x, NULL, div, 0);
    if (st) st->aux = agi_plan_keep(t, g, sizeof *g);
}

/* Splits the units over the pool when there is enough work: each unit
   reads n rows of at most TILE columns. */
static void sum_kernel(const ag_tensor *x, ag_tensor *y, const rgeom *g, double div)
{
    const int64_t cols = g->inner < TILE ? g->inner : TILE;
    /* units: at most y's element count, per_unit: at most x's; both fit */
    const int64_t tiles = (g->inner + TILE - 1) / TILE;
    const int64_t units = g->inner == 1 ? g->outer : agi_mul(g->outer, tiles);
    const int64_t per_unit = g->n && cols ? agi_mul(g->n, cols) : 1;
    sum_job job = {x, y, g, div};
    agi_parallel_range(units, (AGI_PAR_GRAIN + per_unit - 1) / per_unit, sum_range, &job);
}

/* y = the first extreme of each row, idx its flat index in x. BETTER(v, b)
   says v beats the best so far; a NaN beats every number (it propagates). */
#define EXTREMUM_LOOP(T, X, Y, IDX, G, BETTER)                            \
    do {                                                                  \
        const T *px = (const T *)(X)->data;                               \
        T *py = (T *)(Y)->data;                                           \
        FOR_EACH_ROW(G) {                                                 \
            T b = px[base];                                               \
            int64_t bi = base;                                            \
            for (int64_t k = 1, i = base + s; k < (G)->n; k++, i += s) {  \
                const T v = px[i];                                        \
                if (BETTER(v, b)) b = v, bi = i;                          \
            }                                                             \
            py[out] = b;                                                  \
            (IDX)[out] = bi;                                              \
        }                                                                 \
    } while (0)

#define MAX_BETTER(v, b) ((v) > (b) || ((v) != (v) && (b) == (b)))
#define MIN_BETTER(v, b) ((v) < (b) || ((v) != (v) && (b) == (b)))

/* y = sum over the row of (x - mean)^2 / div, two passes in double. */
#define VAR_LOOP(T, X, Y, G, DIV)                                         \
    do {                                                                  \
        const T *px = (const T *)(X)->data;                               \
        T *py = (T *)(Y)->data;                                           \
        FOR_EACH_ROW(G) {                                                 \
            double mean = 0, ss = 0;                                      \
            for (int64_t k = 0; k < (G)->n; k++) mean += px[base + k * s]; \
            mean /= (double)(G)->n;                                       \
            for (int64_t k = 0; k < (G)->n; k++) {                        \
                const double d = px[base + k * s] - mean;                 \
                ss += d * d;                                              \
            }                                                             \
            py[out] = (T)(ss / (DIV));                                    \
        }                                                                 \
    } while (0)

/* y = m + log(sum exp(x - m)), m the row's max (0 when it is infinite, so
   that all -inf gives -inf and a +inf gives +inf; a NaN gives NaN). The
   exps and the log are the vector math's (ag_vmath.h): x - m gathered
   LSE_CHUNK at a time, the sum in double and in order. */
#define LSE_CHUNK 256
#define LOGSUMEXP_LOOP(T, X, Y, G)                                        \
    do {                                                                  \
        const T *px = (const T *)(X)->data;                               \
        T *py = (T *)(Y)->data;                                           \
        const agi_vmath_fns *vm = agi_vm();                               \
        T buf[LSE_CHUNK];                                                 \
        FOR_EACH_ROW(G) {                                                 \
            T m = -INFINITY;                                              \
            double acc = 0;                                               \
            for (int64_t k = 0; k < (G)->n; k++)                          \
                if (px[base + k * s] > m) m = px[base + k * s];           \
            if (isinf(m)) m = 0;                                          \
            for (int64_t k0 = 0; k0 < (G)->n; k0 += LSE_CHUNK) {          \
                const int c = (int)((G)->n - k0 < LSE_CHUNK ? (G)->n - k0 : LSE_CHUNK); \
                for (int k = 0; k < c; k++) buf[k] = px[base + (k0 + k) * s] - m; \
                _Generic(m, float: vm->exp_f32, default: vm->exp_f64)(buf, buf, c); \
                for (int k = 0; k < c; k++) acc += buf[k];                \
            }                                                             \
            vm->log_f64(&acc, &acc, 1);                                   \
            py[out] = (T)(m + acc);                                       \
        }                                                                 \
    } while (0)

/* ---------------------------------------------------------------- sum --- */

/* y = sum_a x; dx += expand(dy) */
static void sum_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = spread(t, gy, n);
}
/* ty = sum_a tx */
static ag_tensor *sum_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_sum(t, tx[0], n->iparam[0], n->iparam[1]);
}
static const agi_op op_sum = {"ag_sum", sum_backward, sum_jvp};

ag_tensor *ag_sum(ag_tape *t, ag_tensor *x, int axis, int keepdim)
{
    rgeom g;
    ag_tensor *y = reduce_begin(t, &op_sum, x, axis, keepdim, 0, &g);
    if (!y) return NULL;
    sum_run(t, x, y, &g, 1.0);
    reduce_record(t, &op_sum, x, y, &g);
    return agi_done(t, &op_sum, y);
}

/* --------------------------------------------------------------- mean --- */

/* y = sum_a x / n; dx += expand(dy / n) (divided before it is spread:
   the same values, one pass over the small tensor instead of x's) */
static void mean_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = spread(t, ag_div_scalar(t, gy, n->fparam[0]), n);
}
/* ty = mean_a tx */
static ag_tensor *mean_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_mean(t, tx[0], n->iparam[0], n->iparam[1]);
}
static const agi_op op_mean = {"ag_mean", mean_backward, mean_jvp};

ag_tensor *ag_mean(ag_tape *t, ag_tensor *x, int axis, int keepdim)
{
    rgeom g;
    ag_tensor *y = reduce_begin(t, &op_mean, x, axis, keepdim, 0, &g);
    if (!y) return NULL;
    sum_run(t, x, y, &g, (double)g.n);          /* 0/0: NaN for an empty axis */
    reduce_record(t, &op_mean, x, y, &g);
    return agi_done(t, &op_mean, y);
}

/* ---------------------------------------------------------- max, min --- */

/* The constant one-hot mask of node n's selected elements (n->aux). */
static ag_tensor *selection_mask(ag_tape *t, const agi_node *n)
{
    const ag_tensor *x = n->in[0];
    ag_tensor *m = ag_zeros(t, (ag_dtype)x->dtype, x->ndim, x->shape);
    if (!m) return NULL;
    const int64_t *idx = n->aux;
    for (int64_t i = 0; i < n->out->numel; i++) {
        if (m->dtype == AG_F64)
            AGI_F64(m)[idx[i]] = 1;
        else
            AGI_F32(m)[idx[i]] = 1;
    }
    return m;
}

/* y = max_a x (or min); dx += expand(dy) * onehot(first selected) */
static void extremum_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                              ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul(t, as_keepdim(t, gy, n), selection_mask(t, n));
}
/* ty = sum_a tx * onehot(first selected): tx at the selected element */
static ag_tensor *extremum_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_sum(t, ag_mul(t, tx[0], selection_mask(t, n)), n->iparam[0], n->iparam[1]);
}
static const agi_op op_max = {"ag_max", extremum_backward, extremum_jvp};
static const agi_op op_min = {"ag_min", extremum_backward, extremum_jvp};

/* Shared by ag_max and ag_min: values and the selected indices (n->aux). */
static ag_tensor *extremum(ag_tape *t, const agi_op *op, ag_tensor *x, int axis,
                           int keepdim)
{
    rgeom g;
    ag_tensor *y = reduce_begin(t, op, x, axis, keepdim, 1, &g);
    if (!y) return NULL;
    int64_t *idx = agi_alloc(t, (size_t)agi_mul(y->numel, sizeof *idx));   /* fits: numel */
    if (!idx) return NULL;
    int is_max = op == &op_max;
    if (x->dtype == AG_F64 && is_max)
        EXTREMUM_LOOP(double, x, y, idx, &g, MAX_BETTER);
    else if (x->dtype == AG_F64)
        EXTREMUM_LOOP(double, x, y, idx, &g, MIN_BETTER);
    else if (is_max)
        EXTREMUM_LOOP(float, x, y, idx, &g, MAX_BETTER);
    else
        EXTREMUM_LOOP(float, x, y, idx, &g, MIN_BETTER);
    agi_node *n = reduce_record(t, op, x, y, &g);
    if (n) n->aux = idx;
    return agi_done(t, op, y);
}

ag_tensor *ag_max(ag_tape *t, ag_tensor *x, int axis, int keepdim)
{
    return extremum(t, &op_max, x, axis, keepdim);
}

ag_tensor *ag_min(ag_tape *t, ag_tensor *x, int axis, int keepdim)
{
    return extremum(t, &op_min, x, axis, keepdim);
}

/* ---------------------------------------------------------------- var --- */

/* y = sum_a (x - mean)^2 / d, d = max(n - correction, 0);
   dx += 2 (x - mean) dy / d, the mean taken again with ops */
static void var_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *x = n->in[0];
    ag_tensor *centred = ag_sub(t, x, ag_mean(t, x, n->iparam[0], 1));
    gx[0] = ag_mul_scalar(t, ag_mul(t, centred, as_keepdim(t, gy, n)),
                          2.0 / n->fparam[1]);
}
/* ty = 2 sum_a (x - mean) tx / d (the mean's own tangent sums to 0) */
static ag_tensor *var_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    ag_tensor *x = n->in[0];
    ag_tensor *centred = ag_sub(t, x, ag_mean(t, x, n->iparam[0], 1));
    return ag_mul_scalar(t, ag_sum(t, ag_mul(t, centred, tx[0]), n->iparam[0], n->iparam[1]),
                         2.0 / n->fparam[1]);
}
static const agi_op op_var = {"ag_var", var_backward, var_jvp};

ag_tensor *ag_var(ag_tape *t, ag_tensor *x, int axis, int correction, int keepdim)
{
    rgeom g;
    ag_tensor *y = reduce_begin(t, &op_var, x, axis, keepdim, 0, &g);
    if (!y) return NULL;
    /* PyTorch's divisor: never negative, so n <= correction gives x/0 */
    double div = (double)g.n > correction ? (double)g.n - correction : 0.0;
    if (x->dtype == AG_F64)
        VAR_LOOP(double, x, y, &g, div);
    else
        VAR_LOOP(float, x, y, &g, div);
    agi_node *n = reduce_record(t, &op_var, x, y, &g);
    if (n) {
        n->iparam[2] = correction;
        n->fparam[1] = div;
    }
    return agi_done(t, &op_var, y);
}

/* ---------------------------------------------------------- logsumexp --- */

/* y = log sum_a exp(x); dx += expand(dy) * exp(x - y) */
static void logsumexp_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                               ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    ag_tensor *y = as_keepdim(t, n->out, n);
    gx[0] = ag_mul(t, as_keepdim(t, gy, n), ag_exp(t, ag_sub(t, n->in[0], y)));
}
/* ty = sum_a tx * exp(x - y) */
static ag_tensor *logsumexp_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    ag_tensor *p = ag_exp(t, ag_sub(t, n->in[0], as_keepdim(t, n->out, n)));
    return ag_sum(t, ag_mul(t, tx[0], p), n->iparam[0], n->iparam[1]);
}
static const agi_op op_logsumexp = {"ag_logsumexp", logsumexp_backward, logsumexp_jvp};

ag_tensor *ag_logsumexp(ag_tape *t, ag_tensor *x, int axis, int keepdim)
{
    rgeom g;
    ag_tensor *y = reduce_begin(t, &op_logsumexp, x, axis, keepdim, 1, &g);
    if (!y) return NULL;
    if (x->dtype == AG_F64)
        LOGSUMEXP_LOOP(double, x, y, &g);
    else
        LOGSUMEXP_LOOP(float, x, y, &g);
    reduce_record(t, &op_logsumexp, x, y, &g);
    return agi_done(t, &op_logsumexp, y);
}
