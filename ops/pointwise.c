/*
** pointwise.c: PyTorch's compound elementwise ops, addcmul (x + v a b),
** addcdiv (x + v a / b) and lerp (a + w (b - a)), and their out= forms,
** which write into an existing tensor (an optimizer's update in place).
** One pass over memory where the composition of binary ops takes three.
** The tensor operands broadcast together (NumPy rules); each rule is
** written with ops, so every order of derivative works. The plain
** binary ops are in binary.c.
*/
#include "ag_ops_internal.h"
#include "ag_binary.h"
#include "ag_unary.h"

#include <stdio.h>
#include <string.h>

#define PW_MAX_IN 3

/*
** The operands of one pointwise op, already checked, and its plan: flat
** (st[k]: 1 for an input of y's size, 0 for a single element) or, with
** bcast set, the odometer over y's rows.
*/
typedef struct pw_args {
    int n_in;
    const ag_tensor *in[PW_MAX_IN];     /* in[2] repeats in[1] for two inputs */
    ag_tensor *y;
    double s;                           /* value or weight */
    int bcast;
    int64_t st[PW_MAX_IN];
    agi_iter it;
} pw_args;

typedef void (*pw_range)(void *p, int64_t lo, int64_t hi);

/* One vectorized row: the inputs read by LX, LA, LB (xx_[j_], or the
   element held for the row, x0_). */
#define PW_VROW(T, N, LX, LA, LB, EXPR)                                       \
    AGI_VLOOP(j_, 0, N, const T x = (LX), a = (LA), b = (LB); (void)b;        \
              yy_[j_] = (T)(EXPR);)

/*
** yy[j] = EXPR(x, a, b) for j in [0, N), input k read at j * SK: each
** stride 1 or 0 (an input held for the row, e.g. a 0-d operand) runs a
** vectorized loop, any other stride a plain one. y may be an input (an
** out= call in place): each element is read, then written, at the same
** index.
*/
#define PW_ROW(T, XX, SX, AA, SA, BB, SB, YY, N, EXPR)                        \
    do {                                                                      \
        const T *xx_ = (XX), *aa_ = (AA), *bb_ = (BB);                        \
        T *yy_ = (YY);                                                        \
        if ((N) <= 0) break;                                                  \
        const T x0_ = xx_[0], a0_ = aa_[0], b0_ = bb_[0];                     \
        switch (((SX) > 1 || (SA) > 1 || (SB) > 1) ? 8 : (int)((SX) * 4 + (SA) * 2 + (SB))) { \
        case 7: PW_VROW(T, N, xx_[j_], aa_[j_], bb_[j_], EXPR); break;        \
        case 6: PW_VROW(T, N, xx_[j_], aa_[j_], b0_, EXPR); break;            \
        case 5: PW_VROW(T, N, xx_[j_], a0_, bb_[j_], EXPR); break;            \
        case 4: PW_VROW(T, N, xx_[j_], a0_, b0_, EXPR); break;                \
        case 3: PW_VROW(T, N, x0_, aa_[j_], bb_[j_], EXPR); break;            \
        case 2: PW_VROW(T, N, x0_, aa_[j_], b0_, EXPR); break;                \
        case 1: PW_VROW(T, N, x0_, a0_, bb_[j_], EXPR); break;                \
        case 0: PW_VROW(T, N, x0_, a0_, b0_, EXPR); break;                    \
        default:                                                              \
            for (int64_t j_ = 0; j_ < (N); j_++) {                            \
                const T x = xx_[j_ * (SX)], a = aa_[j_ * (SA)];               \
                const T b = bb_[j_ * (SB)];                                   \
                (void)b;                                                      \
                yy_[j_] = (T)(EXPR);                                          \
            }                                                                 \
        }                                                                     \
    } while (0)

/* y = EXPR over pieces [LO, HI) of P: elements when flat, rows when not. */
#define PW_LOOP(T, P, LO, HI, EXPR)                                           \
    do {                                                                      \
        const T *p0_ = (const T *)(P)->in[0]->data;                           \
        const T *p1_ = (const T *)(P)->in[1]->data;                           \
        const T *p2_ = (const T *)(P)->in[2]->data;                           \
        T *py_ = (T *)(P)->y->data;                                           \
        if (!(P)->bcast) {                                                    \
            const int64_t *s_ = (P)->st;                                      \
            PW_ROW(T, p0_ + (LO) * s_[0], s_[0], p1_ + (LO) * s_[1], s_[1],   \
                   p2_ + (LO) * s_[2], s_[2], py_ + (LO), (HI) - (LO), EXPR); \
            break;                                                            \
        }                                                                     \
        agi_iter it_ = (P)->it;                                               \
        agi_iter_seek(&it_, 4, (LO));                                         \
        for (int64_t o_ = (LO); o_ < (HI); o_++) {                            \
            PW_ROW(T, p0_ + it_.off[1], it_.istride[1], p1_ + it_.off[2],     \
                   it_.istride[2], p2_ + it_.off[3], it_.istride[3],          \
                   py_ + it_.off[0], it_.inner, EXPR);                        \
            agi_iter_next(&it_, 4);                                           \
        }                                                                     \
    } while (0)

/* Instantiates the range function NAME(p, lo, hi) of a kernel for both
   dtypes (s converted to T). */
#define PW_KERNEL(NAME, EXPR)                                                 \
    static void NAME(void *pv_, int64_t lo_, int64_t hi_)                     \
    {                                                                         \
        const pw_args *p_ = pv_;                                              \
        if (p_->y->dtype == AG_F64) {                                         \
            const double s = p_->s;                                           \
            PW_LOOP(double, p_, lo_, hi_, EXPR);                              \
        } else {                                                              \
            const float s = (float)p_->s;                                     \
            PW_LOOP(float, p_, lo_, hi_, EXPR);                               \
        }                                                                     \
    }

/* Plans p (flat or broadcast) and runs kernel over it, split over the
   thread pool when large. */
static void pw_launch(pw_args *p, pw_range kernel)
{
    const ag_tensor *y = p->y;
    const int64_t n = y->numel;
    int flat = 1;
    for (int k = 0; k < PW_MAX_IN; k++) {
        p->st[k] = p->in[k]->numel == n;
        flat &= p->in[k]->numel == n || p->in[k]->numel == 1;
    }
    p->bcast = !flat;
    if (flat) {
        agi_parallel_range(n, AGI_PAR_GRAIN, kernel, p);
        return;
    }
    int64_t st[4][AG_MAX_DIMS];
    agi_contig_strides(y->ndim, y->shape, st[0]);
    for (int k = 0; k < PW_MAX_IN; k++)
        agi_bcast_strides(p->in[k], y->ndim, y->shape, st[k + 1]);
    agi_iter_init(&p->it, y->ndim, y->shape, 4, (const int64_t(*)[AG_MAX_DIMS])st);
    int64_t row = p->it.inner > 0 ? p->it.inner : 1;
    agi_parallel_range(p->it.outer, (AGI_PAR_GRAIN + row - 1) / row, kernel, p);
}

/* ------------------------------------------------------------- checks --- */

/* Shapes of the inputs, "x is [2,3], a is [3], b is [4]", into buf. */
static char *shapes_str(const pw_args *p, const char *const *names, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < p->n_in && used < len; k++) {
        char s[96];
        used += (size_t)snprintf(buf + used, len - used, "%s%s is %s", k ? ", " : "", names[k],
                                 agi_shape_str(p->in[k], s));
    }
    return buf;
}

/* The NumPy broadcast of the inputs' shapes into (ndim, shape); 0 and the
   error on t when they do not broadcast. */
static int pw_broadcast(ag_tape *t, const char *fn, const pw_args *p,
                        const char *const *names, int *ndim, int64_t *shape)
{
    int nd = 0;
    for (int k = 0; k < p->n_in; k++)
        if (p->in[k]->ndim > nd) nd = p->in[k]->ndim;
    for (int i = 0; i < nd; i++) {                  /* i counts from the right */
        int64_t size = 1;
        for (int k = 0; k < p->n_in; k++) {
            const ag_tensor *x = p->in[k];
            int64_t d = i < x->ndim ? x->shape[x->ndim - 1 - i] : 1;
            if (d != 1 && size != 1 && d != size) {
                char buf[400];
                agi_fail(t, AG_ERR_SHAPE, "%s: shapes do not broadcast: %s", fn,
                         shapes_str(p, names, buf, sizeof buf));
                return 0;
            }
            if (d != 1) size = d;
        }
        shape[nd - 1 - i] = size;
    }
    *ndim = nd;
    return 1;
}

/* Do a and b share memory other than element for element (a reshaped or
   sliced view of one at another offset or size)? Either may be NULL. */
static int partial_overlap(const ag_tensor *a, const ag_tensor *b)
{
    if (!a || !b || !a->numel || !b->numel) return 0;
    const char *a0 = a->data, *b0 = b->data;
    const char *a1 = a0 + (size_t)a->numel * agi_dtype_size(a->dtype);
    const char *b1 = b0 + (size_t)b->numel * agi_dtype_size(b->dtype);
    if (a1 <= b0 || b1 <= a0) return 0;
    return !(a0 == b0 && a1 == b1);
}

/* Checks the inputs (not NULL, of t, one dtype) and out when given (of t,
   that dtype, exactly the broadcast shape, nothing to differentiate). */
static int pw_check(ag_tape *t, const char *fn, const pw_args *p, const char *const *names,
                    const ag_tensor *out, int *ndim, int64_t *shape)
{
    char s1[96], s2[96];
    for (int k = 0; k < p->n_in; k++)
        if (!agi_check(t, fn, names[k], p->in[k])) return 0;
    if (out && !agi_check(t, fn, "out", out)) return 0;
    for (int k = 1; k < p->n_in; k++)
        if (p->in[k]->dtype != p->in[0]->dtype)
            return agi_fail(t, AG_ERR_DTYPE, "%s: dtypes differ: %s is %s, %s is %s (use ag_cast)",
                            fn, names[0], agi_dtype_name(p->in[0]->dtype), names[k],
                            agi_dtype_name(p->in[k]->dtype)), 0;
    if (!pw_broadcast(t, fn, p, names, ndim, shape)) return 0;
    if (!out) return 1;
    if (out->dtype != p->in[0]->dtype)
        return agi_fail(t, AG_ERR_DTYPE, "%s: out is %s, the inputs are %s", fn,
                        agi_dtype_name(out->dtype), agi_dtype_name(p->in[0]->dtype)), 0;
    if (out->ndim != *ndim || memcmp(out->shape, shape, (size_t)*ndim * sizeof *shape))
        return agi_fail(t, AG_ERR_SHAPE, "%s: out is %s, the result is %s", fn,
                        agi_shape_str(out, s1), agi_dims_str(*ndim, shape, s2)), 0;
    for (int k = 0; k < p->n_in; k++)
        if (partial_overlap(out, p->in[k]))
            return agi_fail(t, AG_ERR_ARG, "%s: out and %s share part of their memory (views "
                            "of one tensor at different offsets or sizes): out may be an input "
                            "itself, not overlap one", fn, names[k]), 0;
    for (int k = -1; t->grad_enabled && k < p->n_in; k++)
        if ((k < 0 ? out : p->in[k])->requires_grad)
            return agi_fail(t, AG_ERR_ARG, "%s: %s requires grad, and an out= op records no "
                            "gradient (call it with grad mode off)", fn,
                            k < 0 ? "out" : names[k]), 0;
    return 1;
}

/*
** Runs op over n_in inputs with scalar s: into a new tape tensor, recorded
** (out NULL), or into out, recorded nothing. Returns the result or NULL.
*/
static ag_tensor *pw_run(ag_tape *t, const agi_op *op, int n_in, ag_tensor **in,
                         const char *const *names, pw_range kernel, double s,
                         ag_tensor *out)
{
    int ndim;
    int64_t shape[AG_MAX_DIMS];
    char fn[48];
    snprintf(fn, sizeof fn, "%s%s", op->name, out ? "_out" : "");
    pw_args p = {.n_in = n_in, .in = {in[0], in[1], in[n_in - 1]}, .y = out, .s = s};
    if (!pw_check(t, fn, &p, names, out, &ndim, shape)) return NULL;
    if (!out && !(p.y = agi_new(t, fn, (ag_dtype)in[0]->dtype, ndim, shape))) return NULL;
    pw_launch(&p, kernel);
    if (out) {
        t->n_ops++;
        return agi_done(t, op, out);
    }
    agi_node *n = agi_record(t, op, p.y, n_in, in);
    if (n) n->fparam[0] = s;
    return agi_done(t, op, p.y);
}

/* The gradient of a broadcast input: g brought back to input i's shape. */
#define GX(i, g) (gx[i] = agi_reduce_to(t, (g), n->in[i]))

static const char *const xab[3] = {"x", "a", "b"};

/* ------------------------------------------------------------ addcmul --- */

/* As PyTorch's kernel: the scalar meets a first. */
PW_KERNEL(addcmul_kernel, x + s * a * b)
/* y = x + v a b; dx += dy; da += v dy b; db += v dy a */
static void addcmul_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                             const uint8_t *need)
{
    const double v = n->fparam[0];
    if (need[0]) GX(0, gy);
    if (need[1]) GX(1, ag_mul_scalar(t, ag_mul(t, gy, n->in[2]), v));
    if (need[2]) GX(2, ag_mul_scalar(t, ag_mul(t, gy, n->in[1]), v));
}
/* ty = tx + v (ta b + a tb) */
static ag_tensor *addcmul_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const double v = n->fparam[0];
    return ag_addcmul(t, ag_addcmul(t, tx[0], tx[1], n->in[2], v), n->in[1], tx[2], v);
}
static const agi_op op_addcmul = {"ag_addcmul", addcmul_backward, addcmul_jvp};

ag_tensor *ag_addcmul(ag_tape *t, ag_tensor *x, ag_tensor *a, ag_tensor *b, double value)
{
    ag_tensor *in[3] = {x, a, b};
    return pw_run(t, &op_addcmul, 3, in, xab, addcmul_kernel, value, NULL);
}

ag_tensor *ag_addcmul_out(ag_tape *t, ag_tensor *out, ag_tensor *x, ag_tensor *a, ag_tensor *b,
                          double value)
{
    ag_tensor *in[3] = {x, a, b};
    if (t && t->status == AG_OK && !out)
        return agi_fail(t, AG_ERR_ARG, "ag_addcmul_out: out is NULL");
    return pw_run(t, &op_addcmul, 3, in, xab, addcmul_kernel, value, out);
}

/* ------------------------------------------------------------ addcdiv --- */

PW_KERNEL(addcdiv_kernel, x + s * a / b)
/* y = x + v a / b; dx += dy; da += v dy / b; db -= v dy a / b^2 */
static void addcdiv_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                             const uint8_t *need)
{
    const double v = n->fparam[0];
    ag_tensor *a = n->in[1], *b = n->in[2];
    if (need[0]) GX(0, gy);
    if (need[1]) GX(1, ag_div(t, ag_mul_scalar(t, gy, v), b));
    if (need[2]) GX(2, ag_div(t, ag_mul_scalar(t, ag_mul(t, gy, a), -v), ag_square(t, b)));
}
/* ty = tx + v (ta - a tb / b) / b */
static ag_tensor *addcdiv_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    ag_tensor *a = n->in[1], *b = n->in[2];
    ag_tensor *num = ag_sub(t, tx[1], ag_div(t, ag_mul(t, a, tx[2]), b));
    return ag_addcdiv(t, tx[0], num, b, n->fparam[0]);
}
static const agi_op op_addcdiv = {"ag_addcdiv", addcdiv_backward, addcdiv_jvp};

ag_tensor *ag_addcdiv(ag_tape *t, ag_tensor *x, ag_tensor *a, ag_tensor *b, double value)
{
    ag_tensor *in[3] = {x, a, b};
    return pw_run(t, &op_addcdiv, 3, in, xab, addcdiv_kernel, value, NULL);
}

ag_tensor *ag_addcdiv_out(ag_tape *t, ag_tensor *out, ag_tensor *x, ag_tensor *a, ag_tensor *b,
                          double value)
{
    ag_tensor *in[3] = {x, a, b};
    if (t && t->status == AG_OK && !out)
        return agi_fail(t, AG_ERR_ARG, "ag_addcdiv_out: out is NULL");
    return pw_run(t, &op_addcdiv, 3, in, xab, addcdiv_kernel, value, out);
}

/* --------------------------------------------------------------- lerp --- */

/* PyTorch's two forms (x the start, a the end): from the start for a
   small weight, from the end otherwise, so weight 1 gives the end
   exactly. */
PW_KERNEL(lerp_small_kernel, x + s * (a - x))
PW_KERNEL(lerp_large_kernel, a - (a - x) * (1 - s))

/* y = a + w (b - a); da += (1 - w) dy; db += w dy */
static void lerp_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                          const uint8_t *need)
{
    const double w = n->fparam[0];
    if (need[0]) GX(0, ag_mul_scalar(t, gy, 1 - w));
    if (need[1]) GX(1, ag_mul_scalar(t, gy, w));
}
/* ty = lerp(ta, tb, w) */
static ag_tensor *lerp_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_lerp(t, tx[0], tx[1], n->fparam[0]);
}
static const agi_op op_lerp = {"ag_lerp", lerp_backward, lerp_jvp};

static ag_tensor *lerp(ag_tape *t, ag_tensor *out, ag_tensor *a, ag_tensor *b, double w)
{
    static const char *const names[2] = {"a", "b"};
    ag_tensor *in[2] = {a, b};
    pw_range k = fabs(w) < 0.5 ? lerp_small_kernel : lerp_large_kernel;
    return pw_run(t, &op_lerp, 2, in, names, k, w, out);
}

ag_tensor *ag_lerp(ag_tape *t, ag_tensor *a, ag_tensor *b, double weight)
{
    return lerp(t, NULL, a, b, weight);
}

ag_tensor *ag_lerp_out(ag_tape *t, ag_tensor *out, ag_tensor *a, ag_tensor *b, double weight)
{
    if (t && t->status == AG_OK && !out)
        return agi_fail(t, AG_ERR_ARG, "ag_lerp_out: out is NULL");
    return lerp(t, out, a, b, weight);
}
