/*
** fuzz_api_ops.c: the API fuzzer's operands and its table of primitive
** ops (the ops/ headers and tensor creation). Every entry reads its arguments from
** the input and makes one public call on s->cur (the run's tape, the
** other tape, or NULL). Arguments are mostly valid, sometimes not (axes
** out of range, bad dtypes, negative or overflowing shapes, indices out of
** range, NULL arrays with n > 0 where the library must refuse them). Array
** arguments always have the length the API says the library may read: the
** harness never lies about sizes, so a bad read is the library's.
** Sizes the harness itself asks for stay small (FZ_MAX_NUMEL); shapes it
** makes that are too large for memory are ones the library must refuse
** before allocating (overflowing products, negative dims).
** Losses, layers and optimizers are in fuzz_api_nn.c.
*/
#include "fuzz_api.h"

#include <limits.h>
#include <math.h>

/* ------------------------------------------------------------ operands --- */

int fz_usable(const ag_tensor *x) { return x && ag_tensor_numel(x) <= FZ_MAX_NUMEL; }

ag_tensor *fz_tensor(fz_api *s) { return fz_tensor_ex(s, NULL); }

ag_tensor *fz_tensor_ex(fz_api *s, int *stale)
{
    uint8_t b = fz_u8(&s->in);
    ag_tensor *x;
    int old = b < 200 && fz_slot_stale(s, b % FZ_SLOTS);
    if (stale) *stale = old;
    if (old && s->fresh_only && fz_avoid_known_bugs()) return NULL;
    if (b < 200) x = s->slot[b % FZ_SLOTS];
    else if (b < 220) x = s->leaf[b % FZ_LEAVES];
    else if (b < 236) x = s->n_owned ? s->owned[b % s->n_owned] : NULL;
    else if (b < 250) x = NULL;
    else x = ag_full(s->other, b & 1 ? AG_F64 : AG_F32, 1, (int64_t[]){1 + b % 3}, 0.5);
    return fz_usable(x) ? x : NULL;
}

ag_dtype fz_dtype(fz_api *s)
{
    uint8_t b = fz_u8(&s->in);
    if (b < 250) return b & 1 ? AG_F64 : AG_F32;
    return (ag_dtype)(b - 248);                  /* 2..7: not a dtype */
}

int fz_axis(fz_api *s)
{
    static const int wild[] = {AG_ALL, INT_MIN, INT_MAX, AG_MAX_DIMS, -AG_MAX_DIMS - 1, 100,
                               AG_ALL - 1, AG_ALL + 1};
    uint8_t b = fz_u8(&s->in);
    if (b < 240) return (int)(b % 11) - 5;
    return wild[b % 8];
}

/* A shape that must be refused: too many dims, a negative dim, or a
   product too large for memory (overflowing int64 or numel * 16). */
static void bad_shape(fz_api *s, int *ndim, int64_t *shape)
{
    static const int64_t huge[] = {INT64_MAX, INT64_MIN, -1, (int64_t)1 << 62, (int64_t)1 << 33,
                                   (int64_t)1 << 40};
    int kind = fz_u8(&s->in) % 4;
    for (int i = 0; i <= AG_MAX_DIMS; i++) shape[i] = 1;
    if (kind == 0) *ndim = AG_MAX_DIMS + 1;
    else if (kind == 1) *ndim = -1;
    else if (kind == 2) *ndim = 2, shape[fz_u8(&s->in) & 1] = -1 - fz_u8(&s->in) % 3;
    else {
        *ndim = 3;                               /* e.g. [2^40, 2^40, 1]: overflow */
        shape[0] = huge[fz_u8(&s->in) % 6];
        shape[1] = huge[fz_u8(&s->in) % 6];
        if (shape[0] > 0 && shape[1] > 0 && shape[0] < INT64_MAX / 16 / shape[1])
            shape[1] = INT64_MAX;               /* still refused */
    }
}

/*
** A shape with a zero dim next to huge ones ([0, 2^40], [2^41, 0, 2^50]):
** empty, so cheap to make when accepted, and accepted only when the
** product of its non-zero dims is at most AG_NUMEL_MAX, wherever the zero
** is. Its huge dims are all >= 2^40, so a non-empty tensor an op derives
** from it (a sum over the zero axis, a product) has at least 2^40
** elements: more than the sanitizer's allocator gives (it then returns
** NULL: ASAN_OPTIONS allocator_may_return_null=1), never a slow huge one.
** Ops on the accepted ones must not visit their empty rows one by one.
*/
static void zero_huge_shape(fz_api *s, int *ndim, int64_t *shape)
{
    static const int64_t huge[] = {(int64_t)1 << 40, (int64_t)1 << 41, (int64_t)1 << 50,
                                   AG_NUMEL_MAX, (int64_t)1 << 62, INT64_MAX};
    *ndim = 2 + fz_u8(&s->in) % 3;
    for (int i = 0; i < *ndim; i++) {
        uint8_t b = fz_u8(&s->in);
        shape[i] = b < 128 ? huge[b % 6] : b < 192 ? 0 : 1 + b % 3;
    }
    shape[fz_u8(&s->in) % *ndim] = 0;            /* at least one zero */
}

/* Derives a shape from x: as is, one dim 1 (broadcast), a dim prepended,
   the first dropped. */
static void shape_like(fz_api *s, const ag_tensor *x, int *ndim, int64_t *shape)
{
    *ndim = ag_tensor_ndim(x);
    memcpy(shape, ag_tensor_shape(x), (size_t)*ndim * sizeof *shape);
    int how = fz_u8(&s->in) % 5;
    if (how == 1 && *ndim) shape[fz_u8(&s->in) % *ndim] = 1;
    if (how == 2 && *ndim < AG_MAX_DIMS) {
        memmove(shape + 1, shape, (size_t)*ndim * sizeof *shape);
        shape[0] = 1 + fz_u8(&s->in) % 3;
        ++*ndim;
    }
    if (how == 3 && *ndim) memmove(shape, shape + 1, (size_t)--*ndim * sizeof *shape);
}

void fz_shape(fz_api *s, int *ndim, int64_t shape[AG_MAX_DIMS + 1])
{
    uint8_t mode = fz_u8(&s->in);
    ag_tensor *like = s->slot[mode % FZ_SLOTS];
    for (int i = 0; i <= AG_MAX_DIMS; i++) shape[i] = 1;
    if (mode >= 248) {
        bad_shape(s, ndim, shape);
        return;
    }
    if (mode >= 236) {
        zero_huge_shape(s, ndim, shape);
        return;
    }
    if (mode < 96 && like) {
        shape_like(s, like, ndim, shape);
    } else {
        *ndim = fz_u8(&s->in) % 5;
        for (int i = 0; i < *ndim; i++) {
            uint8_t b = fz_u8(&s->in);
            shape[i] = b % 8 == 0 ? 0 : 1 + b % 4;
        }
    }
    int zero = 0;                                /* keep it small, or empty */
    for (int i = 0; i < *ndim; i++) zero |= shape[i] == 0;
    int64_t n = 1;
    for (int i = 0; i < *ndim && !zero; i++) {
        if (shape[i] > 0 && shape[i] > FZ_MAX_NUMEL / n) shape[i] = 1;
        n *= shape[i] > 0 ? shape[i] : 1;
    }
}

int64_t *fz_indices(fz_api *s, int64_t n, int64_t lo, int64_t hi)
{
    static const int64_t wild[] = {-1, INT64_MIN, INT64_MAX, -2};
    for (int64_t i = 0; i < n && i < 2 * FZ_MAX_NUMEL; i++) {
        uint8_t b = fz_u8(&s->in);
        if (b >= 250) s->scratch[i] = b < 254 ? wild[b - 250] : hi + 1;
        else s->scratch[i] = hi >= lo ? lo + (int64_t)(b % (uint64_t)(hi - lo + 1)) : lo;
    }
    return s->scratch;
}

void fz_store(fz_api *s, int i, ag_tensor *y)
{
    s->slot[i] = y;
    s->slot_gen[i] = ag_tensor_tape(y) == s->other ? s->other_resets : s->t_resets;
}

void fz_reset(fz_api *s, ag_tape *t)
{
    ag_tape_reset(t);
    if (t == s->t) s->t_resets++;
    if (t == s->other) s->other_resets++;
}

int fz_slot_stale(const fz_api *s, int i)
{
    ag_tape *t = ag_tensor_tape(s->slot[i]);     /* headers outlive resets */
    if (!t) return 0;
    return s->slot_gen[i] != (t == s->other ? s->other_resets : s->t_resets);
}

ag_tensor *fz_made(fz_api *s, ag_tensor *x) { return s->cur ? x : fz_own(s, x); }

ag_tensor *fz_own(fz_api *s, ag_tensor *x)
{
    if (!x || ag_tensor_tape(x)) return x;
    for (int i = 0; i < s->n_owned; i++)
        if (s->owned[i] == x) return x;
    if (s->n_owned == FZ_OWNED) {
        ag_tensor_free(x);
        s->nocheck = 1;                          /* NULL, though the call succeeded */
        return NULL;
    }
    return s->owned[s->n_owned++] = x;
}

/* ------------------------------------------------------------ elementwise --- */

typedef ag_tensor *(*unary_fn)(ag_tape *, ag_tensor *);
typedef ag_tensor *(*scalar_fn)(ag_tape *, ag_tensor *, double);
typedef ag_tensor *(*binary_fn)(ag_tape *, ag_tensor *, ag_tensor *);

static ag_tensor *op_unary(fz_api *s)
{
    static const unary_fn fns[] = {ag_neg, ag_exp, ag_log, ag_sqrt, ag_abs, ag_square,
                                   ag_reciprocal, ag_sin, ag_cos, ag_tanh, ag_sigmoid,
                                   ag_softplus, ag_relu, ag_sign, ag_detach};
    unary_fn f = fns[fz_u8(&s->in) % (sizeof fns / sizeof fns[0])];
    return f(s->cur, fz_tensor(s));
}

static ag_tensor *op_scalar(fz_api *s)
{
    static const scalar_fn fns[] = {ag_pow_scalar, ag_leaky_relu, ag_elu, ag_add_scalar,
                                    ag_sub_scalar, ag_rsub_scalar, ag_mul_scalar, ag_div_scalar,
                                    ag_rdiv_scalar, ag_gt_scalar, ag_ge_scalar, ag_lt_scalar,
                                    ag_le_scalar, ag_eq_scalar};
    scalar_fn f = fns[fz_u8(&s->in) % (sizeof fns / sizeof fns[0])];
    ag_tensor *x = fz_tensor(s);
    return f(s->cur, x, fz_double(&s->in));
}

static ag_tensor *op_clamp(fz_api *s)
{
    ag_tensor *x = fz_tensor(s);
    double lo = fz_double(&s->in);
    return ag_clamp(s->cur, x, lo, fz_double(&s->in));
}

static ag_tensor *op_cast(fz_api *s)
{
    ag_tensor *x = fz_tensor(s);
    return ag_cast(s->cur, x, fz_dtype(s));
}

/* An output of the product of a and b larger than this is not asked for. */
static int matmul_too_big(const ag_tensor *a, const ag_tensor *b)
{
    if (!a || !b) return 0;
    int64_t m = ag_tensor_ndim(a) >= 2 ? ag_tensor_dim(a, -2) : 1;
    int64_t n = ag_tensor_ndim(b) >= 1 ? ag_tensor_dim(b, -1) : 1;
    int64_t batch = ag_tensor_ndim(a) == 3 ? ag_tensor_dim(a, 0) : 1;
    if (ag_tensor_ndim(b) == 3 && ag_tensor_dim(b, 0) > batch) batch = ag_tensor_dim(b, 0);
    int64_t out = ag_size_mul(ag_size_mul(m, n), batch);     /* -1: overflowed */
    return out < 0 || out > 4 * FZ_MAX_NUMEL;
}

static ag_tensor *op_binary(fz_api *s)
{
    static const binary_fn fns[] = {ag_add, ag_sub, ag_mul, ag_div, ag_pow, ag_maximum,
                                    ag_minimum, ag_gt, ag_ge, ag_lt, ag_le, ag_eq, ag_matmul};
    int k = fz_u8(&s->in) % (sizeof fns / sizeof fns[0]);
    ag_tensor *a = fz_tensor(s), *b = fz_tensor(s);
    if (fns[k] == ag_matmul && matmul_too_big(a, b)) b = NULL;
    return fns[k](s->cur, a, b);
}

static ag_tensor *op_where(fz_api *s)
{
    ag_tensor *m = fz_tensor(s), *a = fz_tensor(s);
    return ag_where(s->cur, m, a, fz_tensor(s));
}

/* ------------------------------------------------------------ reductions --- */

typedef ag_tensor *(*reduce_fn)(ag_tape *, ag_tensor *, int, int);

static ag_tensor *op_reduce(fz_api *s)
{
    static const reduce_fn fns[] = {ag_sum, ag_mean, ag_max, ag_min, ag_logsumexp};
    reduce_fn f = fns[fz_u8(&s->in) % 5];
    ag_tensor *x = fz_tensor(s);
    int axis = fz_axis(s);
    return f(s->cur, x, axis, fz_u8(&s->in) & 1);
}

static ag_tensor *op_var(fz_api *s)
{
    ag_tensor *x = fz_tensor(s);
    int axis = fz_axis(s), corr = (int)fz_u8(&s->in) % 5 - 1;
    return ag_var(s->cur, x, axis, corr, fz_u8(&s->in) & 1);
}

static ag_tensor *op_softmax(fz_api *s)
{
    ag_tensor *x = fz_tensor(s);
    int axis = fz_axis(s);
    return fz_u8(&s->in) & 1 ? ag_log_softmax(s->cur, x, axis) : ag_softmax(s->cur, x, axis);
}

/* ---------------------------------------------------------------- shape --- */

static ag_tensor *op_transpose(fz_api *s)
{
    ag_tensor *x = fz_tensor(s);
    int a0 = fz_axis(s);
    return ag_transpose(s->cur, x, a0, fz_axis(s));
}

static ag_tensor *op_permute(fz_api *s)
{
    ag_tensor *x = fz_tensor(s);
    int perm[AG_MAX_DIMS], n = ag_tensor_ndim(x);
    for (int i = 0; i < AG_MAX_DIMS; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {           /* a permutation, sometimes broken */
        int j = fz_u8(&s->in) % (i + 1), tmp = perm[i];
        perm[i] = perm[j], perm[j] = tmp;
    }
    if (n && fz_rare(&s->in, 8)) perm[fz_u8(&s->in) % n] = fz_axis(s);
    return ag_permute(s->cur, x, perm);
}

static ag_tensor *op_reshape_like(fz_api *s)
{
    ag_tensor *x = fz_tensor(s);
    int nd, kind = fz_u8(&s->in) % 3;
    int64_t shape[AG_MAX_DIMS + 1];
    if (kind == 2 && x && fz_u8(&s->in) & 1) {  /* a reshape that fits: numel, or -1 */
        nd = 2;
        shape[0] = fz_u8(&s->in) & 1 ? -1 : 1;
        shape[1] = ag_tensor_numel(x);
    } else {
        fz_shape(s, &nd, shape);
    }
    if (kind == 0) return ag_expand(s->cur, x, nd, shape);
    if (kind == 1) return ag_sum_to(s->cur, x, nd, shape);
    return ag_reshape(s->cur, x, nd, shape);
}

static ag_tensor *op_squeeze(fz_api *s)
{
    ag_tensor *x = fz_tensor(s);
    int kind = fz_u8(&s->in) % 3, a = fz_axis(s);
    if (kind == 0) return ag_squeeze(s->cur, x, a);
    if (kind == 1) return ag_unsqueeze(s->cur, x, a);
    return ag_flatten(s->cur, x, a, fz_axis(s));
}

static ag_tensor *op_concat(fz_api *s)
{
    ag_tensor *xs[4];
    int n = (int)(fz_u8(&s->in) % 6) - 1;        /* -1 .. 4 */
    for (int i = 0; i < 4; i++) xs[i] = fz_tensor(s);
    return ag_concat(s->cur, n, xs, fz_axis(s));
}

static ag_tensor *op_slice(fz_api *s)
{
    static const int64_t wild[] = {INT64_MIN, INT64_MAX, INT64_MIN + 1, INT64_MAX - 1};
    ag_tensor *x = fz_tensor(s);
    int axis = fz_axis(s);
    int64_t v[3];
    for (int i = 0; i < 3; i++) {
        uint8_t b = fz_u8(&s->in);
        v[i] = b >= 248 ? wild[b % 4] : (int64_t)(b % 13) - 6;
    }
    return ag_slice(s->cur, x, axis, v[0], v[1], v[2]);
}

static int64_t dim_or(const ag_tensor *x, int axis, int64_t dflt)
{
    int nd = ag_tensor_ndim(x), a = axis < 0 && axis > INT_MIN + 8 ? axis + nd : axis;
    return x && a >= 0 && a < nd ? ag_tensor_shape(x)[a] : dflt;
}

static ag_tensor *op_index_select(fz_api *s)
{
    ag_tensor *x = fz_tensor(s);
    int axis = fz_axis(s);
    int64_t n = (int64_t)(fz_u8(&s->in) % 10) - 1;   /* -1 .. 8 */
    int64_t *idx = fz_indices(s, n > 0 ? n : 0, 0, dim_or(x, axis, 2) - 1);
    if (n == 0 && fz_u8(&s->in) & 1) idx = NULL;
    if (fz_u8(&s->in) & 1) return ag_index_select(s->cur, x, axis, idx, n);
    int nd;
    int64_t shape[AG_MAX_DIMS + 1];
    if (x && fz_u8(&s->in) & 1) {                     /* src that fits */
        nd = ag_tensor_ndim(x);
        memcpy(shape, ag_tensor_shape(x), (size_t)nd * sizeof *shape);
        int a = axis < 0 && axis > INT_MIN + 8 ? axis + nd : axis;
        if (a >= 0 && a < nd) shape[a] = n;
    } else {
        fz_shape(s, &nd, shape);
    }
    ag_tensor *src = nd >= 0 && nd <= AG_MAX_DIMS && n >= 0
                         ? fz_made(s, ag_full(s->cur, ag_tensor_dtype(x), nd, shape, 1.5))
                         : NULL;
    return ag_index_add(s->cur, x, axis, idx, n, src);
}

/* gather and scatter_add: index of a shape no larger than x's. */
static ag_tensor *op_gather(fz_api *s)
{
    ag_tensor *x = fz_tensor(s);
    int axis = fz_axis(s), nd = ag_tensor_ndim(x);
    int64_t ishape[AG_MAX_DIMS], n = 1;
    for (int d = 0; d < AG_MAX_DIMS; d++) {
        int64_t dim = d < nd ? ag_tensor_shape(x)[d] : 1;
        uint8_t b = fz_u8(&s->in);
        ishape[d] = b >= 250 ? dim + 1 : b >= 245 ? -1 : dim > 0 ? 1 + b % dim : 0;
        if (d < nd) n *= ishape[d] > 0 ? ishape[d] : 0;
    }
    int64_t *index = fz_indices(s, n, 0, dim_or(x, axis, 2) - 1);
    if (fz_u8(&s->in) & 1) return ag_gather(s->cur, x, axis, index, ishape);
    ag_tensor *src = NULL;
    int bad = 0;
    for (int d = 0; d < nd; d++) bad |= ishape[d] < 0;
    if (x && !bad) src = fz_made(s, ag_full(s->cur, ag_tensor_dtype(x), nd, ishape, -0.5));
    return ag_scatter_add(s->cur, x, axis, index, ishape, src);
}

/* ------------------------------------------------------------- creation --- */


static ag_tensor *op_create(fz_api *s)
{
    int kind = fz_u8(&s->in) % 6, nd;
    int64_t shape[AG_MAX_DIMS + 1];
    ag_dtype dt = fz_dtype(s);
    fz_shape(s, &nd, shape);
    double v = fz_double(&s->in), data[FZ_MAX_NUMEL];
    switch (kind) {
    case 0: return fz_made(s, ag_zeros(s->cur, dt, nd, shape));
    case 1: return fz_made(s, ag_ones(s->cur, dt, nd, shape));
    case 2: return fz_made(s, ag_full(s->cur, dt, nd, shape, v));
    case 3: return fz_made(s, ag_rand_uniform(s->cur, fz_u8(&s->in) & 1 ? s->rng : NULL, dt, nd,
                                           shape, v, fz_double(&s->in)));
    case 4: return fz_made(s, ag_rand_normal(s->cur, s->rng, dt, nd, shape, v, fz_double(&s->in)));
    default: break;
    }
    int64_t n = 1;                  /* numel, capped at FZ_MAX_NUMEL + 1 (no overflow) */
    for (int i = 0; i < nd && i <= AG_MAX_DIMS; i++) {
        int64_t d = shape[i] > 0 ? shape[i] : 0;
        n = d > FZ_MAX_NUMEL || n * d > FZ_MAX_NUMEL ? FZ_MAX_NUMEL + 1 : n * d;
    }
    for (int64_t i = 0; i < n && i < FZ_MAX_NUMEL; i++) data[i] = fz_double(&s->in);
    if (nd > AG_MAX_DIMS || nd < 0 || n > FZ_MAX_NUMEL) n = 0;   /* refused anyway */
    const double *p = fz_u8(&s->in) < 250 ? data : NULL;
    if (n && fz_u8(&s->in) & 1) {                   /* as raw data of the dtype */
        float f[FZ_MAX_NUMEL];
        for (int64_t i = 0; i < n; i++) f[i] = (float)data[i];
        return fz_made(s, ag_from_data(s->cur, dt, nd, shape, p ? (dt == AG_F32 ? (void *)f
                                                                 : (void *)data) : NULL));
    }
    return fz_made(s, ag_from_f64(s->cur, dt, nd, shape, p));
}

static ag_tensor *op_create_1d(fz_api *s)
{
    ag_dtype dt = fz_dtype(s);
    uint8_t kind = fz_u8(&s->in);
    if (kind & 1) {
        static const int64_t ns[] = {0, 1, 2, 3, 5, -1, INT64_MIN, (int64_t)1 << 33};
        return fz_made(s, ag_eye(s->cur, dt, ns[kind >> 1 & 7]));
    }
    if (kind & 2) return fz_made(s, ag_scalar(s->cur, dt, fz_double(&s->in)));
    if (kind >= 240 && s->cur)          /* 2 MB: the arena gets a second block */
        return ag_zeros(s->cur, AG_F64, 1, (int64_t[]){(int64_t)1 << 18});
    double start = fz_double(&s->in), stop = fz_double(&s->in), step = fz_double(&s->in);
    double span = (stop - start) / step;
    if (span > FZ_MAX_NUMEL && span <= 1e15) stop = start;   /* no huge ranges: see top */
    return fz_made(s, ag_arange(s->cur, dt, start, stop, step));
}

static ag_tensor *op_dropout_mask(fz_api *s)
{
    int nd;
    int64_t shape[AG_MAX_DIMS + 1];
    ag_dtype dt = fz_dtype(s);
    fz_shape(s, &nd, shape);
    double p = fz_double(&s->in);
    return fz_made(s, ag_dropout_mask(s->cur, fz_u8(&s->in) < 240 ? s->rng : NULL, dt, nd, shape,
                                   p));
}

static ag_tensor *op_clone(fz_api *s)
{
    int stale;
    ag_tensor *x = fz_tensor_ex(s, &stale);
    if (stale && fz_avoid_known_bugs()) x = NULL;  /* known bug: see op_access */
    ag_tensor *y = fz_own(s, ag_tensor_clone(x));       /* no tape: NULL with no error */
    if (!y || !s->cur || fz_u8(&s->in) & 1) s->nocheck = 1;
    return y && !s->nocheck ? ag_detach(s->cur, y) : y;
}

const fz_op fz_ops[] = {
    {"unary", op_unary},       {"scalar", op_scalar},
    {"clamp", op_clamp},       {"cast", op_cast},
    {"binary", op_binary},     {"binary", op_binary},
    {"where", op_where},       {"reduce", op_reduce},
    {"var", op_var},           {"softmax", op_softmax},
    {"transpose", op_transpose}, {"permute", op_permute},
    {"reshape", op_reshape_like}, {"squeeze", op_squeeze},
    {"concat", op_concat},     {"slice", op_slice},
    {"index", op_index_select}, {"gather", op_gather},
    {"create", op_create},     {"create", op_create},
    {"create_1d", op_create_1d}, {"dropout_mask", op_dropout_mask},
    {"clone", op_clone},       {"unary", op_unary},
};
const int fz_n_ops = (int)(sizeof fz_ops / sizeof fz_ops[0]);
