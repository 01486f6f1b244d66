/*
** matmul.c: ag_matmul, its kernel and its backward.
**
** The kernel computes C += op(A) . op(B) where op is the identity or a
** transpose read through strides (never materialised), for f32 and f64
** from one macro template. The backward needs a.b^T and a^T.b, and their
** own backward needs a^T.b^T, so the op is one family of four private
** variants (ta, tb) with one backward rule that closes over the family;
** a fifth flag sums the product over a shared batch axis (the gradient of
** an operand that was broadcast over the batch). Transposes and
** permutations of whole tensors are in linalg.c.
*/
#include "ag_ops_internal.h"
#include "ag_linalg.h"

#include <string.h>

/* ------------------------------------------------------------ kernel --- */

/*
** Blocking. B is packed one panel at a time (MM_KC rows of k by NR columns
** of n, NR = one SIMD register of T, zero-padded at the right edge) into a
** stack buffer; a tile of MM_MR rows of C lives in registers while it runs
** down the panel, each step one broadcast of A and one FMA per row. Rows of
** A are taken MM_MC at a time so the [MC, KC] block of A stays in L2 while
** every panel of B passes over it. Packing reads B through its strides, so
** a transposed B costs the same as a plain one; A is read through strides
** in place. Measured on one idle core of an AMD EPYC with AVX-512 (gcc 12
** -O2 -march=native, best of 5 runs of 200): 64x784 @ 784x256 f32 at 115
** GFLOP/s (f64: 58); its backward products 64x256 @ (784x256)^T at 107 and
** (64x784)^T @ 64x256 at 98; 64x256 @ 256x128 and its backward at 100-113.
** (About 70-90 when the other core is busy.)
*/
#if defined(__AVX512F__)
#define MM_VEC_BYTES 64
#elif defined(__AVX__)
#define MM_VEC_BYTES 32
#else
#define MM_VEC_BYTES 16
#endif
#define MM_NR(T) (MM_VEC_BYTES / (int)sizeof(T))   /* columns per panel */
#define MM_MR 8                                     /* rows per tile */
#define MM_KC 256                                   /* depth per panel */
#define MM_MC 128                                   /* rows per A block */

/* gcc only keeps the tile in registers if the row loop is unrolled. */
#if defined(__GNUC__)
#define MM_UNROLL _Pragma("GCC unroll 8")
#else
#define MM_UNROLL
#endif

/* gcc's ISO C mode does not contract a*b+c, so ask for the fma where it
   is an instruction (tgmath picks fmaf for float). */
#if defined(FP_FAST_FMA) && defined(FP_FAST_FMAF)
#define MM_FMA(x, y, z) fma((x), (y), (z))
#else
#define MM_FMA(x, y, z) ((x) * (y) + (z))
#endif

/* One product: op(A)(i,p) = a[i*a_rs + p*a_cs], op(B)(p,j) = b[p*b_rs +
   j*b_cs], C [m,n] contiguous. */
typedef struct mm_geom {
    int64_t m, n, k;
    int64_t a_rs, a_cs, b_rs, b_cs;
} mm_geom;

/* c [ROWS, NR] (row stride ldc) += a [ROWS, kc] (strides a_rs, a_cs) @
   pack [kc, NR]. */
#define MM_TILE(T, SUF, ROWS)                                                 \
    static void mm_tile##ROWS##_##SUF(int64_t kc, const T *restrict a,        \
                                      int64_t a_rs, int64_t a_cs,             \
                                      const T *restrict pack, T *restrict c,  \
                                      int64_t ldc)                            \
    {                                                                         \
        enum { NR = MM_NR(T) };                                               \
        T acc[ROWS][NR];                                                      \
        for (int r = 0; r < ROWS; r++)                                        \
            for (int l = 0; l < NR; l++) acc[r][l] = c[r * ldc + l];          \
        for (int64_t p = 0; p < kc; p++) {                                    \
            const T *restrict bp = pack + p * NR;                             \
            const T *ap = a + p * a_cs;                                       \
            MM_UNROLL                                                         \
            for (int r = 0; r < ROWS; r++) {                                  \
                const T x = ap[r * a_rs];                                     \
                for (int l = 0; l < NR; l++)                                  \
                    acc[r][l] = MM_FMA(x, bp[l], acc[r][l]);                  \
            }                                                                 \
        }                                                                     \
        for (int r = 0; r < ROWS; r++)                                        \
            for (int l = 0; l < NR; l++) c[r * ldc + l] = acc[r][l];          \
    }

/* pack [kc, NR] = op(B)[p, j] for p < kc, j < nr; zeros for j >= nr. */
#define MM_PACK(T, SUF)                                                       \
    static void mm_pack_##SUF(const T *b, int64_t rs, int64_t cs, int64_t kc, \
                              int64_t nr, T *restrict pack)                   \
    {                                                                         \
        enum { NR = MM_NR(T) };                                               \
        if (nr < NR)                                                          \
            memset(pack, 0, (size_t)kc * NR * sizeof(T));                     \
        if (cs == 1) {                  /* rows of B are contiguous */        \
            for (int64_t p = 0; p < kc; p++)                                  \
                memcpy(pack + p * NR, b + p * rs, (size_t)nr * sizeof(T));    \
        } else {                        /* a transposed B: walk its rows */   \
            for (int64_t j = 0; j < nr; j++)                                  \
                for (int64_t p = 0; p < kc; p++)                              \
                    pack[p * NR + j] = b[p * rs + j * cs];                    \
        }                                                                     \
    }

/* c [rows, nr] (row stride n) += a [rows, kc] @ pack: whole tiles, then
   the rows left over; a panel narrower than NR goes through a buffer. */
#define MM_PANEL(T, SUF)                                                      \
    static void mm_panel_##SUF(const mm_geom *g, const T *a, int64_t rows,    \
                               int64_t kc, const T *pack, T *c, int64_t nr)   \
    {                                                                         \
        enum { NR = MM_NR(T) };                                               \
        _Alignas(64) T buf[MM_MR * NR];                                       \
        for (int64_t i = 0; i < rows; i += MM_MR) {                           \
            int64_t mr = rows - i < MM_MR ? rows - i : MM_MR;                 \
            const T *ai = a + i * g->a_rs;                                    \
            T *ci = c + i * g->n;                                             \
            if (mr == MM_MR && nr == NR) {                                    \
                mm_tile8_##SUF(kc, ai, g->a_rs, g->a_cs, pack, ci, g->n);     \
                continue;                                                     \
            }                                                                 \
            for (int64_t r = 0; r < mr; r++) {                                \
                memset(buf + r * NR, 0, sizeof(T) * NR);                      \
                memcpy(buf + r * NR, ci + r * g->n, (size_t)nr * sizeof(T));  \
            }                                                                 \
            for (int64_t r = 0; r < mr; r++)                                  \
                mm_tile1_##SUF(kc, ai + r * g->a_rs, g->a_rs, g->a_cs, pack,  \
                               buf + r * NR, NR);                             \
            for (int64_t r = 0; r < mr; r++)                                  \
                memcpy(ci + r * g->n, buf + r * NR, (size_t)nr * sizeof(T));  \
        }                                                                     \
    }

/* C [m,n] += op(A) [m,k] @ op(B) [k,n]. */
#define MM_GEMM(T, SUF)                                                       \
    static void mm_gemm_##SUF(const mm_geom *g, const T *a, const T *b, T *c) \
    {                                                                         \
        enum { NR = MM_NR(T) };                                               \
        _Alignas(64) T pack[MM_KC * NR];                                      \
        for (int64_t p0 = 0; p0 < g->k; p0 += MM_KC) {                        \
            int64_t kc = g->k - p0 < MM_KC ? g->k - p0 : MM_KC;               \
            for (int64_t i0 = 0; i0 < g->m; i0 += MM_MC) {                    \
                int64_t rows = g->m - i0 < MM_MC ? g->m - i0 : MM_MC;         \
                const T *ab = a + i0 * g->a_rs + p0 * g->a_cs;                \
                for (int64_t j0 = 0; j0 < g->n; j0 += NR) {                   \
                    int64_t nr = g->n - j0 < NR ? g->n - j0 : NR;             \
                    mm_pack_##SUF(b + p0 * g->b_rs + j0 * g->b_cs, g->b_rs,   \
                                  g->b_cs, kc, nr, pack);                     \
                    mm_panel_##SUF(g, ab, rows, kc, pack, c + i0 * g->n + j0, \
                                   nr);                                       \
                }                                                             \
            }                                                                 \
        }                                                                     \
    }

#define MM_KERNELS(T, SUF)                                                    \
    MM_TILE(T, SUF, 8)                                                        \
    MM_TILE(T, SUF, 1)                                                        \
    MM_PACK(T, SUF)                                                           \
    MM_PANEL(T, SUF)                                                          \
    MM_GEMM(T, SUF)

MM_KERNELS(float, f32)
MM_KERNELS(double, f64)

/* ------------------------------------------------------------- shapes --- */

/*
** A planned product: `batch` products of geometry g, operand i advancing
** by stride[i] elements per product (0: shared), the result by c_stride
** (0: every product adds into one C, the batch-summed form).
*/
typedef struct mm_plan {
    mm_geom g;
    int64_t batch;
    int64_t a_stride, b_stride, c_stride;
} mm_plan;

/* Rows and columns of the matrix x holds in its last two axes. */
static int64_t rows_of(const ag_tensor *x) { return x->shape[x->ndim - 2]; }
static int64_t cols_of(const ag_tensor *x) { return x->shape[x->ndim - 1]; }
static int64_t batch_of(const ag_tensor *x) { return x->ndim == 3 ? x->shape[0] : 1; }

/*
** Checks the operands of op(a) @ op(b) and plans the product: its output
** shape in (ndim, shape) and the strides. reduce sums over the batch (both
** operands 3-D, a 2-D result). Returns 0 with the error on t if the shapes
** do not fit.
*/
static int mm_check(ag_tape *t, const char *fn, const ag_tensor *a, const ag_tensor *b,
                    const int *flags, mm_plan *pl, int *ndim, int64_t *shape)
{
    const int ta = flags[0], tb = flags[1], reduce = flags[2];
    char s1[96], s2[96];
    if (a->ndim < 2 || a->ndim > 3 || b->ndim < 2 || b->ndim > 3)
        return agi_fail(t, AG_ERR_SHAPE, "%s: operands must be 2-D or 3-D: a is %s, b is %s",
                        fn, agi_shape_str(a, s1), agi_shape_str(b, s2)), 0;
    int64_t m = ta ? cols_of(a) : rows_of(a), k = ta ? rows_of(a) : cols_of(a);
    int64_t kb = tb ? cols_of(b) : rows_of(b), n = tb ? rows_of(b) : cols_of(b);
    if (k != kb)
        return agi_fail(t, AG_ERR_SHAPE, "%s: inner dimensions differ: a is %s, b is %s", fn,
                        agi_shape_str(a, s1), agi_shape_str(b, s2)), 0;
    if (a->ndim == 3 && b->ndim == 3 && a->shape[0] != b->shape[0])
        return agi_fail(t, AG_ERR_SHAPE, "%s: batch dimensions differ: a is %s, b is %s", fn,
                        agi_shape_str(a, s1), agi_shape_str(b, s2)), 0;
    int64_t nb = a->ndim == 3 ? a->shape[0] : batch_of(b);
    *ndim = (a->ndim == 3 || b->ndim == 3) && !reduce ? 3 : 2;
    shape[0] = nb;
    shape[*ndim - 2] = m;
    shape[*ndim - 1] = n;
    pl->g = (mm_geom){m, n, k, ta ? 1 : cols_of(a), ta ? cols_of(a) : 1,
                      tb ? 1 : cols_of(b), tb ? cols_of(b) : 1};
    pl->batch = nb;
    pl->a_stride = a->ndim == 3 ? m * k : 0;
    pl->b_stride = b->ndim == 3 ? k * n : 0;
    pl->c_stride = reduce ? 0 : m * n;
    return 1;
}

/* Folds the batch into one product where the memory allows: a stack of
   plain A over a shared B is one taller A; a batch-summed A^T.B is one
   deeper product (A and B [batch*k, ...] read as 2-D). */
static void mm_fold(mm_plan *pl, const int *flags)
{
    if (pl->batch <= 1) return;
    if (!flags[0] && pl->b_stride == 0 && pl->c_stride) {
        pl->g.m *= pl->batch;
        pl->batch = 1;
    } else if (flags[0] && !flags[1] && pl->c_stride == 0) {
        pl->g.k *= pl->batch;
        pl->batch = 1;
    }
}

static void mm_run(const mm_plan *pl, const ag_tensor *a, const ag_tensor *b, ag_tensor *y)
{
    agi_fill(y, 0);
    for (int64_t i = 0; i < pl->batch; i++) {
        if (y->dtype == AG_F64)
            mm_gemm_f64(&pl->g, AGI_F64(a) + i * pl->a_stride, AGI_F64(b) + i * pl->b_stride,
                        AGI_F64(y) + i * pl->c_stride);
        else
            mm_gemm_f32(&pl->g, AGI_F32(a) + i * pl->a_stride, AGI_F32(b) + i * pl->b_stride,
                        AGI_F32(y) + i * pl->c_stride);
    }
}

/* ---------------------------------------------------------------- op --- */

static ag_tensor *mm(ag_tape *t, ag_tensor *a, ag_tensor *b, int ta, int tb,
                     int reduce);

/* op(a) @ op(b) into a result of out_ndim dims: batch-summed when both
   operands are 3-D and the result is a 2-D operand's gradient. */
static ag_tensor *mm_to(ag_tape *t, ag_tensor *a, ag_tensor *b, int ta, int tb,
                        int out_ndim)
{
    if (!a || !b) return NULL;
    return mm(t, a, b, ta, tb, a->ndim == 3 && b->ndim == 3 && out_ndim == 2);
}

/* y = op_a(a) @ op_b(b);  d op_a(a) += dy @ op_b(b)^T;  d op_b(b) += op_a(a)^T @ dy
   (transposed back when ta or tb is set, and summed over the batch for a
   2-D operand), each again a product of the family. */
static void mm_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                        const uint8_t *need)
{
    const int ta = n->iparam[0], tb = n->iparam[1];
    ag_tensor *a = n->in[0], *b = n->in[1];
    if (need[0])
        gx[0] = ta ? mm_to(t, b, gy, tb, 1, a->ndim) : mm_to(t, gy, b, 0, !tb, a->ndim);
    if (need[1])
        gx[1] = tb ? mm_to(t, gy, a, 1, ta, b->ndim) : mm_to(t, a, gy, !ta, 0, b->ndim);
}

/* The family, by [ta][tb]. Only the plain product is public; from it the
   rule reaches a@b^T and a^T@b, which reach each other and a@b again, so
   a^T@b^T is there only to keep the rule total. */
static const agi_op op_matmul[2][2] = {
    {{"ag_matmul", mm_backward}, {"ag_matmul (a @ b^T)", mm_backward}},
    {{"ag_matmul (a^T @ b)", mm_backward}, {"ag_matmul (a^T @ b^T)", mm_backward}},
};

static ag_tensor *mm(ag_tape *t, ag_tensor *a, ag_tensor *b, int ta, int tb,
                     int reduce)
{
    const agi_op *op = &op_matmul[ta][tb];
    const int flags[3] = {ta, tb, reduce};
    mm_plan pl;
    int ndim;
    int64_t shape[3];
    if (!agi_check2(t, op->name, a, b)) return NULL;
    if (!mm_check(t, op->name, a, b, flags, &pl, &ndim, shape)) return NULL;
    ag_tensor *y = agi_new(t, op->name, (ag_dtype)a->dtype, ndim, shape);
    if (!y) return NULL;
    mm_fold(&pl, flags);
    mm_run(&pl, a, b, y);
    ag_tensor *in[2] = {a, b};
    agi_node *n = agi_record(t, op, y, 2, in);
    if (n) {
        n->iparam[0] = ta;
        n->iparam[1] = tb;
        n->iparam[2] = reduce;
    }
    return agi_done(t, op, y);
}

ag_tensor *ag_matmul(ag_tape *t, ag_tensor *a, ag_tensor *b)
{
    return mm(t, a, b, 0, 0, 0);
}
