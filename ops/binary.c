/*
** binary.c: elementwise binary ops with broadcasting (add, sub, mul, div,
** pow, maximum, minimum), their scalar forms, comparisons and where.
** Each op: a kernel expression, its definition with the backward rule
** (written with ops, so it can be differentiated again), its constructor.
** Gradients of broadcast inputs go back through agi_reduce_to. JVP rules
** (forward mode) broadcast the tangents as the forward broadcasts the
** inputs; a one-input op's is agi_jvp_symmetric (its Jacobian is diagonal).
*/
#include "ag_ops_internal.h"
#include "ag_binary.h"
#include "ag_unary.h"
#include "vmath_internal.h"

#include <string.h>

/* A plan's replay of a binary op: the kernel again, same operands. */
static void binary_step(const agi_step *st)
{
    ((agi_binary_kernel)st->kernel)(st->a, st->b, st->y);
}

/* y of a and b's broadcast shape; NULL (error set) if they do not
   broadcast or when out of memory. */
static ag_tensor *broadcast_out(ag_tape *t, const agi_op *op, const ag_tensor *a,
                                const ag_tensor *b)
{
    int ndim;
    int64_t shape[AG_MAX_DIMS];
    if (!agi_broadcast_shape(t, op->name, a, b, &ndim, shape)) return NULL;
    return agi_new(t, op->name, (ag_dtype)a->dtype, ndim, shape);
}

/* agi_binary, giving the node scalar rule fn (or none: NULL) when y is one
   element. Inlined into the arithmetic ops' constructors: their kernel
   and rule are then known calls. */
static inline ag_tensor *binary_op(ag_tape *t, const agi_op *op, ag_tensor *a, ag_tensor *b,
                                   agi_binary_kernel kernel, agi_scalar_fn fn)
{
    if (!agi_check2(t, op->name, a, b)) return NULL;
    ag_tensor *y = agi_same_shape(a, b) ? agi_new_like(t, op->name, a)  /* no broadcast */
                                        : broadcast_out(t, op, a, b);
    if (!y) return NULL;
    kernel(a, b, y);
    if (t->plan) {
        agi_step *st = agi_plan_log(t, 1, binary_step, (agi_fnptr)kernel, y, a, b, 0, 0);
        if (st) st->op = op;                /* for the plan's scalar program */
    }
    ag_tensor *in[2] = {a, b};
    if (op->backward) {
        agi_node *n = agi_record(t, op, y, 2, in);
        if (fn && n && y->numel == 1) {
            n->scalar = fn;
            n->src[0] = a->node;
            n->src[1] = b->node;
            n->dtype = y->dtype;
            n->val[0] = agi_sval_of(a);
            n->val[1] = agi_sval_of(b);
        }
    } else {
        t->n_ops++;                       /* a comparison: a constant */
    }
    return agi_done(t, op, y);
}

ag_tensor *agi_binary(ag_tape *t, const agi_op *op, ag_tensor *a, ag_tensor *b,
                      agi_binary_kernel kernel)
{
    return binary_op(t, op, a, b, kernel, NULL);
}

/* The gradient of a broadcast input: g brought back to input i's shape. */
#define GX(i, g) (gx[i] = agi_reduce_to(t, (g), n->in[i]))

/*
** A rule's scalar path: in backward without create_graph (grad mode off),
** when every operand is one element, the rule computes its gradients in C
** (the same operations in the same type as its ops would, so the same
** bits) into new one-element tensors: no op, no kernel dispatch. Not
** while a plan captures: a plan replays ops.
*/
static inline int scalar_rule(const ag_tape *t, const agi_node *n, const ag_tensor *gy)
{
    return !t->grad_enabled && !t->plan && gy->numel == 1 && n->in[0]->numel == 1 &&
           n->in[1]->numel == 1;
}

/* gx[I] = EXPR (of gy, a, b, y: the element values, type T), input I's shape. */
#define SCALAR_GX(I, EXPR)                                                 \
    do {                                                                   \
        ag_tensor *g_ = agi_new_like(t, n->op->name, n->in[I]);            \
        if (!g_) return;                                                   \
        if (gy->dtype == AG_F64) {                                         \
            typedef double T;                                              \
            const T gy_ = AGI_F64(gy)[0], a = AGI_F64(n->in[0])[0];        \
            const T b = AGI_F64(n->in[1])[0], y = AGI_F64(n->out)[0];      \
            (void)a, (void)b, (void)y;                                     \
            AGI_F64(g_)[0] = (T)(EXPR);                                    \
        } else {                                                           \
            typedef float T;                                               \
            const T gy_ = AGI_F32(gy)[0], a = AGI_F32(n->in[0])[0];        \
            const T b = AGI_F32(n->in[1])[0], y = AGI_F32(n->out)[0];      \
            (void)a, (void)b, (void)y;                                     \
            AGI_F32(g_)[0] = (T)(EXPR);                                    \
        }                                                                  \
        gx[I] = g_;                                                        \
    } while (0)

/* ---------------------------------------------------------- arithmetic --- */

AGI_BINARY_KERNEL(add_kernel, a + b)
/* y = a + b; da += dy; db += dy */
static void add_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    if (need[0]) GX(0, gy);
    if (need[1]) GX(1, gy);
}
/* ty = ta + tb */
static ag_tensor *add_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    (void)n;
    return ag_add(t, tx[0], tx[1]);
}
AGI_SCALAR_RULE2(add_scalar_rule, gy_, gy_)
static const agi_op op_add = {"ag_add", add_backward, add_jvp};
ag_tensor *ag_add(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return binary_op(t, &op_add, a, b, add_kernel, add_scalar_rule);
}

AGI_BINARY_KERNEL(sub_kernel, a - b)
/* y = a - b; da += dy; db -= dy (negated after the reduction to b's
   shape: the same values, a pass over b's size rather than y's) */
static void sub_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    if (scalar_rule(t, n, gy)) {
        if (need[0]) SCALAR_GX(0, gy_);
        if (need[1]) SCALAR_GX(1, -gy_);
        return;
    }
    if (need[0]) GX(0, gy);
    if (need[1]) gx[1] = ag_neg(t, agi_reduce_to(t, gy, n->in[1]));
}
/* ty = ta - tb */
static ag_tensor *sub_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    (void)n;
    return ag_sub(t, tx[0], tx[1]);
}
AGI_SCALAR_RULE2(sub_scalar_rule, gy_, -gy_)
static const agi_op op_sub = {"ag_sub", sub_backward, sub_jvp};
ag_tensor *ag_sub(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return binary_op(t, &op_sub, a, b, sub_kernel, sub_scalar_rule);
}

AGI_BINARY_KERNEL(mul_kernel, a * b)
/* y = a * b; da += dy * b; db += dy * a */
static void mul_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    if (scalar_rule(t, n, gy)) {
        if (need[0]) SCALAR_GX(0, gy_ * b);
        if (need[1]) SCALAR_GX(1, gy_ * a);
        return;
    }
    if (need[0]) GX(0, ag_mul(t, gy, n->in[1]));
    if (need[1]) GX(1, ag_mul(t, gy, n->in[0]));
}
/* ty = ta * b + a * tb */
static ag_tensor *mul_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_add(t, ag_mul(t, tx[0], n->in[1]), ag_mul(t, n->in[0], tx[1]));
}
AGI_SCALAR_RULE2(mul_scalar_rule, gy_ * b, gy_ * a)
static const agi_op op_mul = {"ag_mul", mul_backward, mul_jvp};
ag_tensor *ag_mul(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return binary_op(t, &op_mul, a, b, mul_kernel, mul_scalar_rule);
}

AGI_BINARY_KERNEL(div_kernel, a / b)
/* y = a / b; da += dy / b; db -= dy * y / b */
static void div_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    if (scalar_rule(t, n, gy)) {
        if (need[0]) SCALAR_GX(0, gy_ / b);
        if (need[1]) SCALAR_GX(1, -((T)(gy_ * y) / b));
        return;
    }
    if (need[0]) GX(0, ag_div(t, gy, n->in[1]));
    if (need[1]) GX(1, ag_neg(t, ag_div(t, ag_mul(t, gy, n->out), n->in[1])));
}
/* ty = (ta - y * tb) / b */
static ag_tensor *div_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_div(t, ag_sub(t, tx[0], ag_mul(t, n->out, tx[1])), n->in[1]);
}
/* y recomputed as the kernel did (the same bits) */
AGI_SCALAR_RULE2(div_scalar_rule, gy_ / b, -((T)(gy_ * (T)(a / b)) / b))
static const agi_op op_div = {"ag_div", div_backward, div_jvp};
ag_tensor *ag_div(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return binary_op(t, &op_div, a, b, div_kernel, div_scalar_rule);
}

/*
** y = a^b by the vector math (ag_vmath.h): contiguous rows read in place,
** broadcast or strided ones gathered POW_CHUNK elements at a time.
*/
#define POW_CHUNK 256
#define POW_ROW(T, SFX, AA, SA, BB, SB, YY, N)                            \
    do {                                                                  \
        if ((SA) == 1 && (SB) == 1) {                                     \
            agi_vm()->pow##SFX((YY), (AA), (BB), (N));                    \
            break;                                                        \
        }                                                                 \
        T ga_[POW_CHUNK], gb_[POW_CHUNK];                                 \
        for (int64_t j0_ = 0; j0_ < (N); j0_ += POW_CHUNK) {              \
            const int c_ = (int)((N) - j0_ < POW_CHUNK ? (N) - j0_ : POW_CHUNK); \
            for (int k_ = 0; k_ < c_; k_++) {                             \
                ga_[k_] = (AA)[(j0_ + k_) * (SA)];                        \
                gb_[k_] = (BB)[(j0_ + k_) * (SB)];                        \
            }                                                             \
            agi_vm()->pow##SFX((YY) + j0_, ga_, gb_, c_);                 \
        }                                                                 \
    } while (0)

#define POW_LOOP(T, SFX, J, LO, HI)                                       \
    do {                                                                  \
        const T *pa_ = (const T *)(J)->a->data, *pb_ = (const T *)(J)->b->data; \
        T *py_ = (T *)(J)->y->data;                                       \
        if (!(J)->bcast) {                                                \
            POW_ROW(T, SFX, pa_ + (LO) * (J)->sa, (J)->sa, pb_ + (LO) * (J)->sb, \
                    (J)->sb, py_ + (LO), (HI) - (LO));                    \
            break;                                                        \
        }                                                                 \
        agi_iter it_ = (J)->it;                                           \
        agi_iter_seek(&it_, 3, (LO));                                     \
        for (int64_t o_ = (LO); o_ < (HI); o_++) {                        \
            POW_ROW(T, SFX, pa_ + it_.off[1], it_.istride[1], pb_ + it_.off[2], \
                    it_.istride[2], py_ + it_.off[0], it_.inner);         \
            agi_iter_next(&it_, 3);                                       \
        }                                                                 \
    } while (0)

AGI_RANGE_MV(pow_range, job, lo, hi)
{
    const agi_binary_job *j = job;
    if (j->y->dtype == AG_F64)
        POW_LOOP(double, _f64, j, lo, hi);
    else
        POW_LOOP(float, _f32, j, lo, hi);
}

static void pow_kernel(const ag_tensor *a, const ag_tensor *b, ag_tensor *y)
{
    agi_binary_job jb;
    int64_t n = agi_binary_plan(&jb, a, b, y);
    int64_t row = jb.bcast && jb.it.inner > 0 ? jb.it.inner : 1;
    agi_parallel_range(n, (AGI_PAR_GRAIN + row - 1) / row, pow_range, &jb);
}
/* y = a^b; da += dy * b * a^(b-1); db += dy * y * ln a (0 where a == 0) */
static void pow_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                         ag_tensor **gx, const uint8_t *need)
{
    ag_tensor *a = n->in[0], *b = n->in[1];
    if (need[0])
        GX(0, ag_mul(t, gy, ag_mul(t, b, ag_pow(t, a, ag_sub_scalar(t, b, 1)))));
    if (need[1]) {
        ag_tensor *zero = ag_scalar(t, (ag_dtype)a->dtype, 0);
        ag_tensor *lna = ag_where(t, ag_eq_scalar(t, a, 0), zero, ag_log(t, a));
        GX(1, ag_mul(t, gy, ag_mul(t, n->out, lna)));
    }
}
/* ty = ta * b * a^(b-1) + tb * y * ln a (0 where a == 0) */
static ag_tensor *pow_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    ag_tensor *a = n->in[0], *b = n->in[1];
    ag_tensor *da = ag_mul(t, tx[0], ag_mul(t, b, ag_pow(t, a, ag_sub_scalar(t, b, 1))));
    ag_tensor *zero = ag_scalar(t, (ag_dtype)a->dtype, 0);
    ag_tensor *lna = ag_where(t, ag_eq_scalar(t, a, 0), zero, ag_log(t, a));
    return ag_add(t, da, ag_mul(t, tx[1], ag_mul(t, n->out, lna)));
}
static const agi_op op_pow = {"ag_pow", pow_backward, pow_jvp};
ag_tensor *ag_pow(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return agi_binary(t, &op_pow, a, b, pow_kernel);
}

/* Share of the gradient that goes to a: 1 where a wins, 1/2 on ties. */
AGI_BINARY_KERNEL(max_share_kernel, a > b ? 1 : (a == b ? 0.5 : 0))
AGI_BINARY_KERNEL(min_share_kernel, a < b ? 1 : (a == b ? 0.5 : 0))
static const agi_op op_share = {"ag_maximum (share)", NULL, NULL};

/* y = max(a, b) or min(a, b); da += dy * share; db += dy * (1 - share) */
static void extremum_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                              ag_tensor **gx, const uint8_t *need,
                              agi_binary_kernel share_kernel)
{
    ag_tensor *share = agi_binary(t, &op_share, n->in[0], n->in[1], share_kernel);
    if (need[0]) GX(0, ag_mul(t, gy, share));
    if (need[1]) GX(1, ag_mul(t, gy, ag_rsub_scalar(t, share, 1)));
}

/* ty = tb + share * (ta - tb) */
static ag_tensor *extremum_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx,
                               agi_binary_kernel share_kernel)
{
    ag_tensor *share = agi_binary(t, &op_share, n->in[0], n->in[1], share_kernel);
    return ag_add(t, tx[1], ag_mul(t, share, ag_sub(t, tx[0], tx[1])));
}

AGI_BINARY_KERNEL(maximum_kernel, a >= b ? a : b)
static void maximum_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                             ag_tensor **gx, const uint8_t *need)
{
    extremum_backward(t, n, gy, gx, need, max_share_kernel);
}
static ag_tensor *maximum_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return extremum_jvp(t, n, tx, max_share_kernel);
}
static const agi_op op_maximum = {"ag_maximum", maximum_backward, maximum_jvp};
ag_tensor *ag_maximum(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return agi_binary(t, &op_maximum, a, b, maximum_kernel);
}

AGI_BINARY_KERNEL(minimum_kernel, a <= b ? a : b)
static void minimum_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                             ag_tensor **gx, const uint8_t *need)
{
    extremum_backward(t, n, gy, gx, need, min_share_kernel);
}
static ag_tensor *minimum_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return extremum_jvp(t, n, tx, min_share_kernel);
}
static const agi_op op_minimum = {"ag_minimum", minimum_backward, minimum_jvp};
ag_tensor *ag_minimum(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return agi_binary(t, &op_minimum, a, b, minimum_kernel);
}

/* --------------------------------------------------------- scalar forms --- */

/* y = x + s or x - s; dx += dy */
static void pass_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                          ag_tensor **gx, const uint8_t *need)
{
    (void)t, (void)n, (void)need;
    gx[0] = gy;
}

AGI_SCALAR_RULE1(pass_scalar_rule, gy_)

AGI_UNARY_KERNEL(add_scalar_kernel, x + s)
static const agi_op op_add_scalar = {"ag_add_scalar", pass_backward, agi_jvp_symmetric};
ag_tensor *ag_add_scalar(ag_tape *t, ag_tensor *x, double s)
{
    return agi_unary_scalar(t, &op_add_scalar, x, add_scalar_kernel, s, pass_scalar_rule);
}

AGI_UNARY_KERNEL(sub_scalar_kernel, x - s)
static const agi_op op_sub_scalar = {"ag_sub_scalar", pass_backward, agi_jvp_symmetric};
ag_tensor *ag_sub_scalar(ag_tape *t, ag_tensor *x, double s)
{
    return agi_unary_scalar(t, &op_sub_scalar, x, sub_scalar_kernel, s, pass_scalar_rule);
}

AGI_UNARY_KERNEL(rsub_scalar_kernel, s - x)
/* y = s - x; dx -= dy */
static void rsub_scalar_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                 ag_tensor **gx, const uint8_t *need)
{
    (void)n, (void)need;
    gx[0] = ag_neg(t, gy);
}
AGI_SCALAR_RULE1(rsub_scalar_rule, -gy_)
static const agi_op op_rsub_scalar = {"ag_rsub_scalar", rsub_scalar_backward, agi_jvp_symmetric};
ag_tensor *ag_rsub_scalar(ag_tape *t, ag_tensor *x, double s)
{
    return agi_unary_scalar(t, &op_rsub_scalar, x, rsub_scalar_kernel, s, rsub_scalar_rule);
}

AGI_UNARY_KERNEL(mul_scalar_kernel, x * s)
/* y = x * s; dx += dy * s */
static void mul_scalar_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_mul_scalar(t, gy, n->fparam[0]);
}
AGI_SCALAR_RULE1(mul_scalar_scalar_rule, gy_ * s)
static const agi_op op_mul_scalar = {"ag_mul_scalar", mul_scalar_backward, agi_jvp_symmetric};
ag_tensor *ag_mul_scalar(ag_tape *t, ag_tensor *x, double s)
{
    return agi_unary_scalar(t, &op_mul_scalar, x, mul_scalar_kernel, s, mul_scalar_scalar_rule);
}

AGI_UNARY_KERNEL(div_scalar_kernel, x / s)
/* y = x / s; dx += dy / s */
static void div_scalar_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_div_scalar(t, gy, n->fparam[0]);
}
AGI_SCALAR_RULE1(div_scalar_scalar_rule, gy_ / s)
static const agi_op op_div_scalar = {"ag_div_scalar", div_scalar_backward, agi_jvp_symmetric};
ag_tensor *ag_div_scalar(ag_tape *t, ag_tensor *x, double s)
{
    return agi_unary_scalar(t, &op_div_scalar, x, div_scalar_kernel, s, div_scalar_scalar_rule);
}

AGI_UNARY_KERNEL(rdiv_scalar_kernel, s / x)
/* y = s / x; dx -= dy * y / x */
static void rdiv_scalar_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                 ag_tensor **gx, const uint8_t *need)
{
    (void)need;
    gx[0] = ag_neg(t, ag_div(t, ag_mul(t, gy, n->out), n->in[0]));
}
AGI_SCALAR_RULE1(rdiv_scalar_scalar_rule, -((T)(gy_ * y) / x))
static const agi_op op_rdiv_scalar = {"ag_rdiv_scalar", rdiv_scalar_backward, agi_jvp_symmetric};
ag_tensor *ag_rdiv_scalar(ag_tape *t, ag_tensor *x, double s)
{
    return agi_unary_scalar(t, &op_rdiv_scalar, x, rdiv_scalar_kernel, s, rdiv_scalar_scalar_rule);
}

/* --------------------------------------------------------- comparisons --- */

/* Masks have no backward (NULL rule): agi_binary and agi_unary record
   nothing for them, so their results never require grad. */
#define COMPARISON(NAME, OP)                                                  \
    AGI_BINARY_KERNEL(NAME##_kernel, a OP b)                                  \
    static const agi_op op_##NAME = {"ag_" #NAME, NULL, NULL};                \
    ag_tensor *ag_##NAME(ag_tape *t, ag_tensor *a, ag_tensor *b)              \
    {                                                                         \
        return agi_binary(t, &op_##NAME, a, b, NAME##_kernel);                \
    }                                                                         \
    AGI_UNARY_KERNEL(NAME##_scalar_kernel, x OP s)                            \
    static const agi_op op_##NAME##_scalar = {"ag_" #NAME "_scalar", NULL, NULL}; \
    ag_tensor *ag_##NAME##_scalar(ag_tape *t, ag_tensor *x, double s)         \
    {                                                                         \
        return agi_unary(t, &op_##NAME##_scalar, x, NAME##_scalar_kernel, s, 0); \
    }

COMPARISON(gt, >)
COMPARISON(ge, >=)
COMPARISON(lt, <)
COMPARISON(le, <=)
COMPARISON(eq, ==)

/* ---------------------------------------------------------------- where --- */

#define WHERE_LOOP(T, M, A, B, Y, IT)                                         \
    do {                                                                      \
        const T *pm = (const T *)(M)->data, *pa = (const T *)(A)->data;       \
        const T *pb = (const T *)(B)->data;                                   \
        T *py = (T *)(Y)->data;                                               \
        for (int64_t o = 0; o < (IT)->outer; o++) {                           \
            for (int64_t j = 0; j < (IT)->inner; j++)                         \
                py[(IT)->off[0] + j] =                                        \
                    pm[(IT)->off[1] + j * (IT)->istride[1]] != 0              \
                        ? pa[(IT)->off[2] + j * (IT)->istride[2]]             \
                        : pb[(IT)->off[3] + j * (IT)->istride[3]];            \
            agi_iter_next((IT), 4);                                           \
        }                                                                     \
    } while (0)

/* y = m ? a : b; da += m ? dy : 0; db += m ? 0 : dy; the mask gets zeros */
static void where_backward(ag_tape *t, const agi_node *n, ag_tensor *gy,
                           ag_tensor **gx, const uint8_t *need)
{
    ag_tensor *m = n->in[0];
    ag_tensor *zero = ag_scalar(t, (ag_dtype)gy->dtype, 0);
    if (need[0]) gx[0] = ag_zeros(t, (ag_dtype)m->dtype, m->ndim, m->shape);
    if (need[1]) GX(1, ag_where(t, m, gy, zero));
    if (need[2]) GX(2, ag_where(t, m, zero, gy));
}
/* ty = m ? ta : tb (the mask's tangent is unused) */
static ag_tensor *where_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return ag_where(t, n->in[0], tx[1], tx[2]);
}
static const agi_op op_where = {"ag_where", where_backward, where_jvp};

ag_tensor *ag_where(ag_tape *t, ag_tensor *mask, ag_tensor *a, ag_tensor *b)
{
    int ndim, ndim2;
    int64_t shape[AG_MAX_DIMS], shape2[AG_MAX_DIMS];
    if (!agi_check(t, "ag_where", "mask", mask) || !agi_check2(t, "ag_where", a, b))
        return NULL;
    if (mask->dtype != a->dtype)
        return agi_fail(t, AG_ERR_DTYPE, "ag_where: mask is %s, a and b are %s",
                        agi_dtype_name(mask->dtype), agi_dtype_name(a->dtype));
    if (!agi_broadcast_shape(t, "ag_where", a, b, &ndim, shape)) return NULL;
    ag_tensor ab = {0};                      /* a header with the a-b shape */
    ab.ndim = (uint8_t)ndim;
    memcpy(ab.shape, shape, sizeof shape);
    if (!agi_broadcast_shape(t, "ag_where (mask with a,b)", mask, &ab, &ndim2, shape2))
        return NULL;
    ag_tensor *y = agi_new(t, "ag_where", (ag_dtype)a->dtype, ndim2, shape2);
    if (!y) return NULL;
    int64_t st[4][AG_MAX_DIMS];
    agi_iter it;
    agi_contig_strides(ndim2, shape2, st[0]);
    agi_bcast_strides(mask, ndim2, shape2, st[1]);
    agi_bcast_strides(a, ndim2, shape2, st[2]);
    agi_bcast_strides(b, ndim2, shape2, st[3]);
    agi_iter_init(&it, ndim2, shape2, 4, (const int64_t(*)[AG_MAX_DIMS])st);
    if (y->dtype == AG_F64)
        WHERE_LOOP(double, mask, a, b, y, &it);
    else
        WHERE_LOOP(float, mask, a, b, y, &it);
    ag_tensor *in[3] = {mask, a, b};
    agi_record(t, &op_where, y, 3, in);
    return agi_done(t, &op_where, y);
}
