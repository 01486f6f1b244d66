/*
** test_attention.c: ag_scaled_dot_product_attention. Forward values
** against a naive loop written here (masks of both kinds, causal, L != S,
** broadcast batch dims, a custom scale), against numbers PyTorch 1.13
** produced from its composition softmax(q k^T scale + mask) v (values and
** q, k, v gradients), gradcheck and gradgradcheck in f64 with and without
** masks, causal and dropout, dropout reproducible for a seed and equal to
** the composition with the same mask, the same bits for 1 and 2 threads,
** and the error paths.
*/
#include "test_util.h"

#include <stdlib.h>

/* ------------------------------------------------------------ helpers --- */

/* A persistent tensor of sin(a i + b), i the flat index (as the python
   that produced the PyTorch numbers). */
static ag_tensor *sin_tensor(ag_dtype dt, int ndim, const int64_t *shape, double a, double b)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    double *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) v[i] = sin(a * (double)i + b);
    ag_tensor *x = tu_tensor(dt, ndim, shape, v);
    free(v);
    return x;
}

/* x's flat offset for index idx of an nd-dim shape x broadcasts to. */
static int64_t bcast_offset(const ag_tensor *x, int nd, const int64_t *idx)
{
    const int xn = ag_tensor_ndim(x);
    int64_t off = 0, stride = 1;
    for (int d = xn - 1; d >= 0; d--) {
        const int64_t size = ag_tensor_shape(x)[d];
        off += (size == 1 ? 0 : idx[d + nd - xn]) * stride;
        stride *= size;
    }
    return off;
}

typedef struct attn_case {
    int nq, nk, nv;
    int64_t sq[4], sk[4], sv[4];
    int nm;                         /* mask dims (0: no mask) */
    int64_t sm[4];
    ag_attn_mask_kind kind;
    int causal;
    double scale;
} attn_case;

/* Asserts y == softmax(q k^T scale + mask) v by a naive loop in double. */
static void assert_naive(const attn_case *c, const ag_tensor *q, const ag_tensor *k,
                         const ag_tensor *v, const ag_tensor *m, const ag_tensor *y, double tol)
{
    const int nd = ag_tensor_ndim(y);
    const int64_t *ys = ag_tensor_shape(y);
    const int64_t L = ys[nd - 2], Ev = ys[nd - 1], S = ag_tensor_dim(k, -2), E = ag_tensor_dim(q, -1);
    const double scale = c->scale ? c->scale : 1 / sqrt((double)E);
    int64_t nb = 1, idx[AG_MAX_DIMS];
    for (int d = 0; d < nd - 2; d++) nb *= ys[d];
    for (int64_t b = 0; b < nb; b++)
        for (int64_t i = 0; i < L; i++) {
            double s[16], mx = -INFINITY, sum = 0;
            for (int64_t r = b, d = nd - 3; d >= 0; d--) idx[d] = r % ys[d], r /= ys[d];
            idx[nd - 2] = i;
            for (int64_t j = 0; j < S; j++) {
                idx[nd - 1] = 0;
                double dot = 0;
                for (int64_t e = 0; e < E; e++) {
                    idx[nd - 2] = i, idx[nd - 1] = e;
                    double qv = ag_tensor_get(q, bcast_offset(q, nd, idx));
                    idx[nd - 2] = j;
                    dot += qv * ag_tensor_get(k, bcast_offset(k, nd, idx));
                }
                s[j] = dot * scale;
                idx[nd - 2] = i, idx[nd - 1] = j;
                if (m && c->kind == AG_ATTN_MASK_ADD) s[j] += ag_tensor_get(m, bcast_offset(m, nd, idx));
                if (m && c->kind == AG_ATTN_MASK_BOOL && ag_tensor_get(m, bcast_offset(m, nd, idx)) == 0)
                    s[j] = -INFINITY;
                if (c->causal && j > i) s[j] = -INFINITY;
                if (s[j] > mx) mx = s[j];
            }
            for (int64_t j = 0; j < S; j++) sum += s[j] = exp(s[j] - mx);
            for (int64_t e = 0; e < Ev; e++) {
                double o = 0;
                for (int64_t j = 0; j < S; j++) {
                    idx[nd - 2] = j, idx[nd - 1] = e;
                    o += s[j] / sum * ag_tensor_get(v, bcast_offset(v, nd, idx));
                }
                double got = ag_tensor_get(y, (b * L + i) * Ev + e);
                ck_assert_msg(fabs(got - o) <= tol, "[%lld,%lld,%lld]: got %.17g, expected %.17g",
                              (long long)b, (long long)i, (long long)e, got, o);
            }
        }
}

/* A 0/1 mask with a pattern that leaves every row something to attend. */
static ag_tensor *bool_mask(ag_dtype dt, int nd, const int64_t *shape)
{
    int64_t n = 1;
    for (int d = 0; d < nd; d++) n *= shape[d];
    double *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) v[i] = (i % shape[nd - 1] == 0) || (i * 7 % 5 != 1);
    ag_tensor *x = tu_tensor(dt, nd, shape, v);
    free(v);
    return x;
}

static const attn_case cases[] = {
    {4, 4, 4, {2, 2, 3, 4}, {2, 2, 5, 4}, {2, 2, 5, 3}, 0, {0}, AG_ATTN_MASK_BOOL, 0, 0},
    {3, 3, 3, {2, 3, 4}, {2, 3, 4}, {2, 3, 2}, 0, {0}, AG_ATTN_MASK_BOOL, 1, 0},
    {3, 3, 3, {2, 5, 4}, {2, 3, 4}, {2, 3, 2}, 0, {0}, AG_ATTN_MASK_BOOL, 1, 0.7},
    {3, 3, 3, {2, 3, 4}, {2, 5, 4}, {2, 5, 2}, 2, {3, 5}, AG_ATTN_MASK_BOOL, 0, 0},
    {4, 4, 4, {2, 2, 4, 3}, {2, 2, 4, 3}, {2, 2, 4, 2}, 4, {2, 1, 1, 4}, AG_ATTN_MASK_BOOL, 1, 0},
    {3, 3, 3, {2, 3, 4}, {2, 5, 4}, {2, 5, 2}, 3, {2, 3, 5}, AG_ATTN_MASK_ADD, 0, 0},
    {4, 3, 2, {2, 3, 4, 2}, {3, 5, 2}, {5, 3}, 2, {4, 5}, AG_ATTN_MASK_ADD, 1, -0.5},
    {4, 4, 4, {2, 1, 3, 2}, {1, 2, 4, 2}, {1, 1, 4, 2}, 1, {4}, AG_ATTN_MASK_ADD, 0, 0},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* The operands of case c (dtype dt): q, k, v and the mask (or NULL). */
static void make_case(const attn_case *c, ag_dtype dt, ag_tensor **in)
{
    in[0] = sin_tensor(dt, c->nq, c->sq, 0.7, 0.1);
    in[1] = sin_tensor(dt, c->nk, c->sk, 1.3, 0.5);
    in[2] = sin_tensor(dt, c->nv, c->sv, 0.9, -0.3);
    in[3] = !c->nm ? NULL : c->kind == AG_ATTN_MASK_BOOL ? bool_mask(dt, c->nm, c->sm)
                                                        : sin_tensor(dt, c->nm, c->sm, 2.1, 0.4);
}

static void free_case(ag_tensor **in)
{
    for (int i = 0; i < 4; i++) ag_tensor_free(in[i]);
}

static ag_attention_opts case_opts(const attn_case *c, ag_tensor *mask)
{
    return (ag_attention_opts){.mask = mask, .mask_kind = c->kind, .is_causal = c->causal,
                               .scale = c->scale};
}

/* ------------------------------------------------------------ forward --- */

START_TEST(test_attention_matches_naive_loop)
{
    for (int d = 0; d < 2; d++)
        for (int i = 0; i < N_CASES; i++) {
            const ag_dtype dt = d ? AG_F32 : AG_F64;
            ag_tensor *in[4];
            make_case(&cases[i], dt, in);
            ag_tape *t = ag_tape_new();
            ag_attention_opts o = case_opts(&cases[i], in[3]);
            ag_tensor *y = ag_scaled_dot_product_attention(t, in[0], in[1], in[2], &o);
            ck_assert_msg(y != NULL, "case %d: %s", i, ag_tape_errmsg(t));
            ck_assert_int_eq(ag_tensor_dtype(y), dt);
            assert_naive(&cases[i], in[0], in[1], in[2], in[3], y, d ? 2e-6 : 1e-14);
            ag_tape_free(t);
            free_case(in);
        }
}
END_TEST

/* A NULL opts is PyTorch's defaults: the same as all zeros. */
START_TEST(test_attention_null_opts_default)
{
    ag_tensor *in[4];
    make_case(&cases[0], AG_F64, in);
    ag_tape *t = ag_tape_new();
    ag_attention_opts zero = {0};
    ag_tensor *y1 = ag_scaled_dot_product_attention(t, in[0], in[1], in[2], NULL);
    ag_tensor *y2 = ag_scaled_dot_product_attention(t, in[0], in[1], in[2], &zero);
    for (int64_t e = 0; e < ag_tensor_numel(y1); e++)
        ck_assert(ag_tensor_get(y1, e) == ag_tensor_get(y2, e));
    assert_naive(&cases[0], in[0], in[1], in[2], NULL, y1, 1e-14);
    ag_tape_free(t);
    free_case(in);
}
END_TEST

/* Numbers from PyTorch 1.13 (torch.softmax(q @ k.transpose(-2, -1) *
   scale + mask) @ v in f64, masked_fill(-inf) for the bool and causal
   masks; tests/ has no script: the formula is sin(a i + b) as here). */
static const double torch_y1[] = {
    -0.29552020666133955, 0.56464247339503548, 0.99749498660405445, -0.10491804171870711,
    0.4228390702935505, 0.63060000385624937, 0.10935620415650943, -0.20076016807636995,
    -0.35894524757244051, -0.87969575997167004, -0.91932852566467571, -0.26323179136580266,
    -0.36024251693578224, -0.2421553409814457, 0.059190169287684724, 0.4874034215233588,
    0.74705311781440276, 0.44134790819886471};
static const double torch_dq1[] = {
    0, 0, 0.061435613162953179, 0.27016687796217714, 0.1161182845661988, -0.31537601782654678,
    0, 0, -0.96415186347296, -0.61436717687837117, 0.15048750190547244, 0.22600126003253301};
static const double torch_dk1[] = {
    0.139962163460537, 0.11344308226941607, -0.093055516658883591, -0.2002025737352322,
    -0.04690664680165342, 0.086759491465816144, 0, 0, -0.29509692614528826,
    0.062455447684029011, 0.38760456979731844, 0.06426171982293305, -0.092507643652030139,
    -0.1267171675069621, 0, 0};
static const double torch_dv1[] = {
    0.99067718067354937, 1.3473256938269198, 1.4912611049301496, 0.52669572969037448,
    0.2823936263310276, -0.0064922213533031847, 0.18224752224106147, 0.049890792175149933,
    -0.090342596976191542, 0, 0, 0, -1.2323348743969271, -1.3715970888284987,
    -1.2943142816187536, -0.4104284822427644, -0.0028517332250547756, 0.40517524176496439,
    -0.011108211783662336, 0.041649925597356939, 0.0878324555253579, 0, 0, 0};
static const double torch_y2[] = {
    0.33502010490268125, 0.21074119360812266, 0.40014390988398985, 0.2402103102401319,
    0.48859492440359931, 0.29929002003381244, 0.027823139020274001, -0.10493821428154831,
    0.056101025149812384, -0.22896145155245959, 0.034113488048402613, -0.12172410761054206};

/* q [1,2,3,2], k [1,2,4,2], v [1,2,4,3], a bool mask [3,4] and causal;
   then an additive per-batch mask [2,1,4], scale 0.8, k and v broadcast. */
START_TEST(test_attention_matches_torch)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *q = sin_tensor(AG_F64, 4, SHAPE(1, 2, 3, 2), 0.7, 0.1);
    ag_tensor *k = sin_tensor(AG_F64, 4, SHAPE(1, 2, 4, 2), 1.3, 0.5);
    ag_tensor *v = sin_tensor(AG_F64, 4, SHAPE(1, 2, 4, 3), 0.9, -0.3);
    ag_tensor *m = tu_tensor(AG_F64, 2, SHAPE(3, 4), VALS(1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1));
    ag_tensor *in[3] = {q, k, v}, *g[3];
    for (int i = 0; i < 3; i++) ag_set_requires_grad(in[i], 1);
    ag_attention_opts o = {.mask = m, .is_causal = 1};
    ag_tensor *y = ag_scaled_dot_product_attention(t, q, k, v, &o);
    tu_assert_shape(y, 4, SHAPE(1, 2, 3, 3));
    tu_assert_values(y, torch_y1, 18, 1e-14);
    ag_tensor *gy = sin_tensor(AG_F64, 4, SHAPE(1, 2, 3, 3), 0.4, 0.2);
    ck_assert_int_eq(ag_grad(t, 1, &y, &gy, 3, in, g, 0), AG_OK);
    tu_assert_values(g[0], torch_dq1, 12, 1e-14);
    tu_assert_values(g[1], torch_dk1, 16, 1e-14);
    tu_assert_values(g[2], torch_dv1, 24, 1e-14);
    ag_tensor *q2 = sin_tensor(AG_F64, 3, SHAPE(2, 3, 2), 0.5, 0.3);
    ag_tensor *k2 = sin_tensor(AG_F64, 3, SHAPE(1, 4, 2), 1.1, -0.2);
    ag_tensor *v2 = sin_tensor(AG_F64, 3, SHAPE(1, 4, 2), 0.6, 0.7);
    ag_tensor *m2raw = sin_tensor(AG_F64, 3, SHAPE(2, 1, 4), 2.1, 0);
    ag_tensor *m2 = ag_sub_scalar(t, m2raw, 0.5);
    ag_attention_opts o2 = {.mask = m2, .mask_kind = AG_ATTN_MASK_ADD, .scale = 0.8};
    y = ag_scaled_dot_product_attention(t, q2, k2, v2, &o2);
    tu_assert_shape(y, 3, SHAPE(2, 3, 2));
    tu_assert_values(y, torch_y2, 12, 1e-14);
    ag_tape_free(t);
    ag_tensor_free(q), ag_tensor_free(k), ag_tensor_free(v), ag_tensor_free(m), ag_tensor_free(gy);
    ag_tensor_free(q2), ag_tensor_free(k2), ag_tensor_free(v2), ag_tensor_free(m2raw);
}
END_TEST

/* ---------------------------------------------------------- gradients --- */

/* ctx: a case; in: q, k, v and (additive) the mask; a bool mask is made
   here; dropout_p > 0 draws from a generator seeded afresh each call. */
typedef struct grad_ctx {
    const attn_case *c;
    double dropout_p;
} grad_ctx;

static ag_tensor *apply_attention(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const grad_ctx *g = ctx;
    ag_tensor *mask = !g->c->nm ? NULL : g->c->kind == AG_ATTN_MASK_ADD ? in[3] : NULL;
    if (g->c->nm && g->c->kind == AG_ATTN_MASK_BOOL) {
        ag_tensor *b = bool_mask(AG_F64, g->c->nm, g->c->sm);
        mask = ag_mul_scalar(t, b, 1);                  /* onto the tape */
        ag_tensor_free(b);
    }
    ag_attention_opts o = case_opts(g->c, mask);
    o.dropout_p = g->dropout_p;
    o.rng = g->dropout_p > 0 ? ag_rng_new(77) : NULL;
    ag_tensor *y = ag_scaled_dot_product_attention(t, in[0], in[1], in[2], &o);
    ag_rng_free(o.rng);
    return y;
}

/* Small sizes: E 2, L 2 or 3, S 3. */
static const attn_case grad_cases[] = {
    {3, 3, 3, {2, 2, 2}, {2, 3, 2}, {2, 3, 2}, 0, {0}, AG_ATTN_MASK_BOOL, 0, 0},
    {3, 3, 3, {1, 3, 2}, {1, 3, 2}, {1, 3, 2}, 0, {0}, AG_ATTN_MASK_BOOL, 1, 0},
    {3, 3, 3, {2, 2, 2}, {2, 3, 2}, {2, 3, 1}, 2, {2, 3}, AG_ATTN_MASK_BOOL, 1, 0.9},
    {3, 3, 3, {2, 2, 2}, {2, 3, 2}, {2, 3, 2}, 3, {2, 1, 3}, AG_ATTN_MASK_ADD, 0, 0},
    {4, 3, 2, {2, 1, 2, 2}, {2, 3, 2}, {3, 2}, 2, {2, 3}, AG_ATTN_MASK_ADD, 1, 0},
};

START_TEST(test_attention_gradchecks)
{
    for (size_t i = 0; i < sizeof grad_cases / sizeof grad_cases[0]; i++) {
        const attn_case *c = &grad_cases[i];
        grad_ctx g = {c, 0};
        ag_tensor *in[4];
        make_case(c, AG_F64, in);
        const int n = c->nm && c->kind == AG_ATTN_MASK_ADD ? 4 : 3;
        tu_assert_gradchecks(apply_attention, &g, n, in);
        free_case(in);
    }
}
END_TEST

START_TEST(test_attention_dropout_gradchecks)
{
    grad_ctx g = {&grad_cases[4], 0.3};
    ag_tensor *in[4];
    make_case(g.c, AG_F64, in);
    tu_assert_gradchecks(apply_attention, &g, 4, in);
    g.c = &grad_cases[1];
    tu_assert_gradchecks(apply_attention, &g, 3, in);
    free_case(in);
}
END_TEST

/* The bool mask is not differentiable: asked for, its gradient is zeros. */
START_TEST(test_attention_bool_mask_grad_is_zero)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *in[4];
    make_case(&cases[3], AG_F64, in);
    ag_set_requires_grad(in[0], 1), ag_set_requires_grad(in[3], 1);
    ag_attention_opts o = case_opts(&cases[3], in[3]);
    ag_tensor *y = ag_scaled_dot_product_attention(t, in[0], in[1], in[2], &o), *g[2];
    ag_tensor *wrt[2] = {in[0], in[3]};
    ck_assert_int_eq(tu_grad_of_sum(t, y, 2, wrt, g), AG_OK);
    tu_assert_shape(g[1], 2, SHAPE(3, 5));
    for (int64_t e = 0; e < 15; e++) ck_assert(ag_tensor_get(g[1], e) == 0);
    ag_tape_free(t);
    free_case(in);
}
END_TEST

/* ------------------------------------------------------------ dropout --- */

/* The same seed gives the same bits; the result is the composition
   (W * ag_dropout_mask(seed)) @ v with W the weights without dropout
   (W @ I picks them out: v the identity). */
START_TEST(test_attention_dropout_reproducible)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *q = sin_tensor(AG_F64, 3, SHAPE(2, 4, 3), 0.7, 0.1);
    ag_tensor *k = sin_tensor(AG_F64, 3, SHAPE(2, 5, 3), 1.3, 0.5);
    ag_tensor *eye = ag_eye(t, AG_F64, 5);
    ag_rng *r1 = ag_rng_new(5), *r2 = ag_rng_new(5), *r3 = ag_rng_new(5);
    ag_attention_opts o = {.is_causal = 1, .dropout_p = 0.4, .rng = r1};
    ag_tensor *y1 = ag_scaled_dot_product_attention(t, q, k, eye, &o);
    o.rng = r2;
    ag_tensor *y2 = ag_scaled_dot_product_attention(t, q, k, eye, &o);
    ag_attention_opts plain = {.is_causal = 1};
    ag_tensor *w = ag_scaled_dot_product_attention(t, q, k, eye, &plain);
    ag_tensor *m = ag_dropout_mask(t, r3, AG_F64, 3, SHAPE(2, 4, 5), 0.4);
    ag_tensor *expect = ag_mul(t, w, m);
    int zeros = 0;
    for (int64_t e = 0; e < 40; e++) {
        ck_assert(ag_tensor_get(y1, e) == ag_tensor_get(y2, e));
        ck_assert_double_eq_tol(ag_tensor_get(y1, e), ag_tensor_get(expect, e), 1e-15);
        zeros += ag_tensor_get(m, e) == 0;
    }
    ck_assert_int_gt(zeros, 5);                         /* some were dropped */
    o.dropout_p = 1;                                     /* all dropped: zeros */
    ag_tensor *y0 = ag_scaled_dot_product_attention(t, q, k, eye, &o);
    for (int64_t e = 0; e < 40; e++) ck_assert(ag_tensor_get(y0, e) == 0);
    ag_tape_free(t);
    ag_rng_free(r1), ag_rng_free(r2), ag_rng_free(r3);
    ag_tensor_free(q), ag_tensor_free(k);
}
END_TEST

/* ------------------------------------------------------------ threads --- */

/* Rows split over the pool: 1 and 2 threads give the same bits, forward
   and backward. */
START_TEST(test_attention_same_bits_any_thread_count)
{
    ag_tensor *q = sin_tensor(AG_F32, 3, SHAPE(4, 64, 16), 0.7, 0.1);
    ag_tensor *k = sin_tensor(AG_F32, 3, SHAPE(4, 300, 16), 1.3, 0.5);
    ag_tensor *v = sin_tensor(AG_F32, 3, SHAPE(4, 300, 8), 0.9, -0.3);
    ag_tensor *in[3] = {q, k, v};
    double sums[2][4] = {{0}};
    for (int i = 0; i < 3; i++) ag_set_requires_grad(in[i], 1);
    for (int run = 0; run < 2; run++) {
        ck_assert_int_eq(ag_set_num_threads(run + 1), AG_OK);
        ag_tape *t = ag_tape_new();
        ag_attention_opts o = {.is_causal = 1};
        ag_tensor *y = ag_scaled_dot_product_attention(t, q, k, v, &o), *g[3];
        ck_assert_int_eq(tu_grad_of_sum(t, y, 3, in, g), AG_OK);
        ag_tensor *outs[4] = {y, g[0], g[1], g[2]};
        for (int o2 = 0; o2 < 4; o2++)
            for (int64_t e = 0; e < ag_tensor_numel(outs[o2]); e++)
                sums[run][o2] += ag_tensor_get(outs[o2], e) * (double)(e % 7 + 1);
        ag_tape_free(t);
    }
    ag_set_num_threads(0);
    for (int o2 = 0; o2 < 4; o2++) ck_assert(sums[0][o2] == sums[1][o2]);
    ag_tensor_free(q), ag_tensor_free(k), ag_tensor_free(v);
}
END_TEST

/* A row whose every key is masked is NaN, as PyTorch's composition. */
START_TEST(test_attention_fully_masked_row_is_nan)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *q = ag_ones(t, AG_F64, 2, SHAPE(2, 2)), *v = ag_ones(t, AG_F64, 2, SHAPE(3, 1));
    ag_tensor *m = ag_from_f64(t, AG_F64, 2, SHAPE(2, 3), VALS(0, 0, 0, 1, 0, 1));
    ag_attention_opts o = {.mask = m};
    ag_tensor *y = ag_scaled_dot_product_attention(t, q, ag_ones(t, AG_F64, 2, SHAPE(3, 2)), v, &o);
    ck_assert(isnan(ag_tensor_get(y, 0)));
    ck_assert_double_eq_tol(ag_tensor_get(y, 1), 1, 1e-15);
    ag_tape_free(t);
}
END_TEST

/* -------------------------------------------------------------- errors --- */

START_TEST(test_attention_errors)
{
    ag_tape *t = ag_tape_new();
#define Z(...) ag_zeros(t, AG_F32, (int)(sizeof SHAPE(__VA_ARGS__) / 8), SHAPE(__VA_ARGS__))
#define SDPA(q, k, v, o) ag_scaled_dot_product_attention(t, q, k, v, o)
    tu_assert_error(t, SDPA(Z(2, 3, 4), Z(2, 5, 3), Z(2, 5, 6), NULL), AG_ERR_SHAPE,
                    "ag_scaled_dot_product_attention: q must be [..., L, E]",
                    "q is [2,3,4], k is [2,5,3], v is [2,5,6]");
    ag_tape_reset(t);
    tu_assert_error(t, SDPA(Z(2, 3, 4), Z(2, 5, 4), Z(2, 6, 6), NULL), AG_ERR_SHAPE,
                    "q must be [..., L, E], k [..., S, E]", "v is [2,6,6]");
    ag_tape_reset(t);
    tu_assert_error(t, SDPA(Z(2, 3, 4), Z(3, 5, 4), Z(3, 5, 6), NULL), AG_ERR_SHAPE,
                    "batch dims do not broadcast", "q is [2,3,4], k is [3,5,4], v is [3,5,6]");
    ag_tape_reset(t);
    tu_assert_error(t, SDPA(Z(1, 3, 4), Z(1, 5, 4), Z(2, 5, 6), NULL), AG_ERR_SHAPE,
                    "batch dims do not broadcast", "v is [2,5,6]");
    ag_tape_reset(t);
    tu_assert_error(t, SDPA(Z(4), Z(5, 4), Z(5, 6), NULL), AG_ERR_SHAPE, "at least 2-D",
                    "q is [4], k is [5,4], v is [5,6]");
    ag_tape_reset(t);
    ag_attention_opts o = {.mask = Z(2, 3, 4)};
    tu_assert_error(t, SDPA(Z(2, 3, 4), Z(2, 5, 4), Z(2, 5, 6), &o), AG_ERR_SHAPE,
                    "the mask does not broadcast to the scores",
                    "mask is [2,3,4], scores are [2,3,5] (q is [2,3,4], k is [2,5,4])");
    ag_tape_reset(t);
    o = (ag_attention_opts){.dropout_p = 0.5};
    tu_assert_error(t, SDPA(Z(3, 4), Z(5, 4), Z(5, 6), &o), AG_ERR_ARG,
                    "ag_scaled_dot_product_attention", "dropout_p 0.5 needs an rng");
    ag_tape_reset(t);
    o = (ag_attention_opts){.dropout_p = 1.5};
    tu_assert_error(t, SDPA(Z(3, 4), Z(5, 4), Z(5, 6), &o), AG_ERR_ARG, "dropout_p must be in "
                    "[0, 1]", "1.5");
    ag_tape_reset(t);
    o = (ag_attention_opts){.scale = INFINITY};
    tu_assert_error(t, SDPA(Z(3, 4), Z(5, 4), Z(5, 6), &o), AG_ERR_ARG, "scale must be finite",
                    "inf");
    ag_tape_reset(t);
    o = (ag_attention_opts){.mask = Z(3, 5), .mask_kind = (ag_attn_mask_kind)7};
    tu_assert_error(t, SDPA(Z(3, 4), Z(5, 4), Z(5, 6), &o), AG_ERR_ARG, "unknown mask_kind", "7");
    ag_tape_reset(t);
    o = (ag_attention_opts){.mask = ag_zeros(t, AG_F64, 2, SHAPE(3, 5))};
    tu_assert_error(t, SDPA(Z(3, 4), Z(5, 4), Z(5, 6), &o), AG_ERR_DTYPE, "dtypes differ",
                    "q is f32, k is f32, v is f32, mask is f64");
    ag_tape_reset(t);
    tu_assert_error(t, SDPA(Z(3, 4), NULL, Z(5, 6), NULL), AG_ERR_ARG,
                    "ag_scaled_dot_product_attention", "k is NULL");
    ck_assert_ptr_null(SDPA(Z(3, 4), Z(5, 4), Z(5, 6), NULL));   /* sticky */
    ck_assert_ptr_nonnull(strstr(ag_tape_errmsg(t), "k is NULL"));
    ag_tape_free(t);
#undef SDPA
#undef Z
}
END_TEST

Suite *suite_attention(void)
{
    Suite *s = suite_create("attention");
    TU_ADD(s, test_attention_matches_naive_loop);
    TU_ADD(s, test_attention_null_opts_default);
    TU_ADD(s, test_attention_matches_torch);
    TU_ADD(s, test_attention_gradchecks);
    TU_ADD(s, test_attention_dropout_gradchecks);
    TU_ADD(s, test_attention_bool_mask_grad_is_zero);
    TU_ADD(s, test_attention_dropout_reproducible);
    TU_ADD(s, test_attention_same_bits_any_thread_count);
    TU_ADD(s, test_attention_fully_masked_row_is_nan);
    TU_ADD(s, test_attention_errors);
    return s;
}
