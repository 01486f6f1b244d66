/*
** test_rnn_cell.c: ag_lstm_cell (the fused LSTM step) and ag_unbind (the
** op of several outputs the LSTM layer cuts its input product with).
** Forward values against a naive loop in this file (libm's exp and tanh)
** in f64 and f32; gradcheck and gradgradcheck in f64 (both outputs, each
** alone, squared); the fused backward kernel against the same cell
** composed of ordinary ops (f64 and f32), and against its own create_graph
** path; ag_jvp against reverse mode; the same bits for 1, 2 and 3
** threads; error paths.
*/
#include "jvp_test_util.h"

#include <stdint.h>

/* An ag_status call that failed: the status returned, and the tape's
   status and message. */
#define assert_status_error(t, call, status, part1, part2)                    \
    do {                                                                      \
        ag_status s_ = (call);                                                \
        ck_assert_msg(s_ == (status), "returned %s, expected %s: %s",         \
                      ag_status_name(s_), ag_status_name(status),             \
                      ag_tape_errmsg(t));                                     \
        tu_assert_error(t, (void *)NULL, status, part1, part2);               \
    } while (0)

/* ------------------------------------------------------ naive loop --- */

static double sigm(double z) { return 1 / (1 + exp(-z)); }

/* h', c' of one LSTM step by the definition, element by element; xg, hg
   are [rows, 4H] (hg may be NULL), c [rows, H]. */
static void naive_lstm(const ag_tensor *xg, const ag_tensor *hg, const ag_tensor *c,
                       int64_t rows, int64_t hid, double *h_out, double *c_out)
{
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < hid; j++) {
            double z[4];
            for (int k = 0; k < 4; k++) {
                const int64_t e = r * 4 * hid + k * hid + j;
                z[k] = ag_tensor_get(xg, e) + (hg ? ag_tensor_get(hg, e) : 0);
            }
            const double cn = sigm(z[1]) * ag_tensor_get(c, r * hid + j) + sigm(z[0]) * tanh(z[2]);
            c_out[r * hid + j] = cn;
            h_out[r * hid + j] = sigm(z[3]) * tanh(cn);
        }
}

/* A persistent tensor of dt with uniform values in [lo, hi). */
static ag_tensor *rnd(ag_dtype dt, int ndim, const int64_t *shape, double lo, double hi,
                      uint64_t seed)
{
    ag_rng *r = ag_rng_new(seed);
    ag_tensor *x = ag_rand_uniform(NULL, r, dt, ndim, shape, lo, hi);
    ag_rng_free(r);
    ck_assert_ptr_nonnull(x);
    return x;
}

static void check_forward(ag_dtype dt, int with_hg, int batched, double tol)
{
    const int64_t rows = batched ? 3 : 1, hid = 5;
    const int64_t gs[2] = {rows, 4 * hid}, cs[2] = {rows, hid};
    const int nd = batched ? 2 : 1;
    const int64_t *gshape = batched ? gs : gs + 1, *cshape = batched ? cs : cs + 1;
    ag_tensor *xg = rnd(dt, nd, gshape, -3, 3, 11), *hg = rnd(dt, nd, gshape, -2, 2, 12);
    ag_tensor *c = rnd(dt, nd, cshape, -2, 2, 13), *h, *cn;
    ag_tape *t = ag_tape_new();
    ck_assert_int_eq(ag_lstm_cell(t, xg, with_hg ? hg : NULL, c, &h, &cn), AG_OK);
    double eh[15], ec[15];
    naive_lstm(xg, with_hg ? hg : NULL, c, rows, hid, eh, ec);
    tu_assert_shape(h, nd, cshape);
    tu_assert_shape(cn, nd, cshape);
    ck_assert_int_eq(ag_tensor_dtype(h), dt);
    tu_assert_values(h, eh, rows * hid, tol);
    tu_assert_values(cn, ec, rows * hid, tol);
    ag_tape_free(t);
    ag_tensor_free(xg), ag_tensor_free(hg), ag_tensor_free(c);
}

START_TEST(test_lstm_cell_forward_matches_a_naive_loop)
{
    for (int batched = 0; batched < 2; batched++)
        for (int with_hg = 0; with_hg < 2; with_hg++) {
            check_forward(AG_F64, with_hg, batched, 1e-14);
            check_forward(AG_F32, with_hg, batched, 2e-6);
        }
    /* an empty batch gives empty states */
    ag_tensor *xg = ag_zeros(NULL, AG_F64, 2, SHAPE(0, 8));
    ag_tensor *c = ag_zeros(NULL, AG_F64, 2, SHAPE(0, 2));
    ag_tensor *h, *cn;
    ag_tape *t = ag_tape_new();
    ck_assert_int_eq(ag_lstm_cell(t, xg, xg, c, &h, &cn), AG_OK);
    tu_assert_shape(h, 2, SHAPE(0, 2));
    tu_assert_shape(cn, 2, SHAPE(0, 2));
    ag_tape_free(t);
    ag_tensor_free(xg), ag_tensor_free(c);
}
END_TEST

/* ------------------------------------------------------- gradients --- */

/* Which outputs a gradient function returns. */
enum { OUT_BOTH, OUT_H, OUT_C, OUT_SQUARED };

/* The cell on in = (xg, hg, c) (or (xg, c) when the ctx says no hg): h'
   and c' joined, h' or c' alone, or h'^2 c'. */
typedef struct cell_ctx {
    int which, with_hg;
} cell_ctx;

static ag_tensor *fn_cell(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    const cell_ctx *cc = ctx;
    ag_tensor *h, *c;
    if (ag_lstm_cell(t, in[0], cc->with_hg ? in[1] : NULL, in[cc->with_hg ? 2 : 1], &h, &c) !=
        AG_OK)
        return NULL;
    switch (cc->which) {
    case OUT_H: return h;
    case OUT_C: return c;
    case OUT_SQUARED: return ag_mul(t, ag_mul(t, h, h), c);
    default: return ag_concat(t, 2, (ag_tensor *[]){h, c}, -1);
    }
}

START_TEST(test_lstm_cell_gradcheck_and_gradgradcheck)
{
    ag_tensor *xg = tu_random(2, SHAPE(2, 8), -2, 2, 21);
    ag_tensor *hg = tu_random(2, SHAPE(2, 8), -1, 1, 22);
    ag_tensor *c = tu_random(2, SHAPE(2, 2), -1.5, 1.5, 23);
    for (int which = OUT_BOTH; which <= OUT_SQUARED; which++) {
        cell_ctx cc = {which, 1};
        tu_assert_gradchecks(fn_cell, &cc, 3, ((ag_tensor *[]){xg, hg, c}));
        cc.with_hg = 0;
        tu_assert_gradchecks(fn_cell, &cc, 2, ((ag_tensor *[]){xg, c}));
    }
    ag_tensor *x1 = tu_random(1, SHAPE(8), -2, 2, 24), *c1 = tu_random(1, SHAPE(2), -1, 1, 25);
    cell_ctx cc = {OUT_BOTH, 0};
    tu_assert_gradchecks(fn_cell, &cc, 2, ((ag_tensor *[]){x1, c1}));
    ag_tensor_free(xg), ag_tensor_free(hg), ag_tensor_free(c);
    ag_tensor_free(x1), ag_tensor_free(c1);
}
END_TEST

/* The same cell composed of ordinary ops (nn/rnn.c before the fused op). */
static void composed_cell(ag_tape *t, ag_tensor *xg, ag_tensor *hg, ag_tensor *c,
                          ag_tensor **h, ag_tensor **cn)
{
    ag_tensor *g4[4];
    ck_assert_int_eq(ag_chunk(t, ag_add(t, xg, hg), 4, -1, g4, NULL), AG_OK);
    ag_tensor *i = ag_sigmoid(t, g4[0]), *f = ag_sigmoid(t, g4[1]);
    ag_tensor *g = ag_tanh(t, g4[2]), *o = ag_sigmoid(t, g4[3]);
    *cn = ag_addcmul(t, ag_mul(t, f, c), i, g, 1.0);
    *h = ag_mul(t, o, ag_tanh(t, *cn));
}

/* d/d(xg, hg, c) of sum(h' wh + c' wc) through the fused op (fused = 1)
   or the composed cell, with create_graph or not, into g[3] (persistent
   copies; caller frees). */
static void cell_grads(ag_dtype dt, int fused, int create_graph, ag_tensor **g)
{
    ag_tensor *xg = rnd(dt, 2, SHAPE(4, 12), -3, 3, 31), *hg = rnd(dt, 2, SHAPE(4, 12), -2, 2, 32);
    ag_tensor *c = rnd(dt, 2, SHAPE(4, 3), -2, 2, 33), *h, *cn, *gx[3];
    ag_tensor *wh = rnd(dt, 2, SHAPE(4, 3), -1, 1, 34), *wc = rnd(dt, 2, SHAPE(4, 3), -1, 1, 35);
    ag_tape *t = ag_tape_new();
    ag_tensor *in[3] = {ag_detach(t, xg), ag_detach(t, hg), ag_detach(t, c)};
    for (int k = 0; k < 3; k++) ag_set_requires_grad(in[k], 1);
    if (fused)
        ck_assert_int_eq(ag_lstm_cell(t, in[0], in[1], in[2], &h, &cn), AG_OK);
    else
        composed_cell(t, in[0], in[1], in[2], &h, &cn);
    ag_tensor *loss = ag_sum(t, ag_add(t, ag_mul(t, h, wh), ag_mul(t, cn, wc)), AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &loss, NULL, 3, in, gx, create_graph), AG_OK);
    for (int k = 0; k < 3; k++) ck_assert_ptr_nonnull(g[k] = ag_tensor_clone(gx[k]));
    ag_tape_free(t);
    ag_tensor_free(xg), ag_tensor_free(hg), ag_tensor_free(c);
    ag_tensor_free(wh), ag_tensor_free(wc);
}

static void assert_close(const ag_tensor *a, const ag_tensor *b, double tol)
{
    ck_assert_int_eq(ag_tensor_numel(a), ag_tensor_numel(b));
    for (int64_t e = 0; e < ag_tensor_numel(a); e++)
        ck_assert_msg(fabs(ag_tensor_get(a, e) - ag_tensor_get(b, e)) <= tol,
                      "element %lld: %.9g against %.9g", (long long)e, ag_tensor_get(a, e),
                      ag_tensor_get(b, e));
}

START_TEST(test_lstm_cell_backward_matches_the_composed_cell)
{
    const ag_dtype dts[2] = {AG_F64, AG_F32};
    const double tols[2] = {1e-13, 3e-6};
    for (int d = 0; d < 2; d++) {
        ag_tensor *ref[3], *fast[3], *graph[3];
        cell_grads(dts[d], 0, 0, ref);
        cell_grads(dts[d], 1, 0, fast);         /* the fused kernel */
        cell_grads(dts[d], 1, 1, graph);        /* the rule written with ops */
        for (int k = 0; k < 3; k++) {
            ck_assert_int_eq(ag_tensor_dtype(fast[k]), dts[d]);
            assert_close(fast[k], ref[k], tols[d]);
            assert_close(graph[k], ref[k], tols[d]);
            ag_tensor_free(ref[k]), ag_tensor_free(fast[k]), ag_tensor_free(graph[k]);
        }
    }
}
END_TEST

START_TEST(test_lstm_cell_jvp_matches_reverse_mode)
{
    ag_tensor *xg = tu_random(2, SHAPE(2, 8), -2, 2, 41);
    ag_tensor *hg = tu_random(2, SHAPE(2, 8), -1, 1, 42);
    ag_tensor *c = tu_random(2, SHAPE(2, 2), -1.5, 1.5, 43);
    cell_ctx cc = {OUT_BOTH, 1};
    jt_check("ag_lstm_cell", fn_cell, &cc, 3, ((ag_tensor *[]){xg, hg, c}), 0);
    cc = (cell_ctx){OUT_SQUARED, 0};
    jt_check("ag_lstm_cell (no hg, h^2 c)", fn_cell, &cc, 2, ((ag_tensor *[]){xg, c}), 0);
    ag_tensor_free(xg), ag_tensor_free(hg), ag_tensor_free(c);
}
END_TEST

/* h', c' and the gradients of sum(h' + c'^2) into out[5] with n threads,
   on rows large enough for the kernels to split over the pool. */
static void cell_run(int threads, ag_tensor **out)
{
    ck_assert_int_eq(ag_set_num_threads(threads), AG_OK);
    ag_tensor *xg = rnd(AG_F32, 2, SHAPE(128, 512), -3, 3, 51);
    ag_tensor *c = rnd(AG_F32, 2, SHAPE(128, 128), -2, 2, 52);
    ag_tensor *hg = rnd(AG_F32, 2, SHAPE(128, 512), -2, 2, 53), *h, *cn, *g[3];
    ag_tape *t = ag_tape_new();
    ag_tensor *in[3] = {ag_detach(t, xg), ag_detach(t, hg), ag_detach(t, c)};
    for (int k = 0; k < 3; k++) ag_set_requires_grad(in[k], 1);
    ck_assert_int_eq(ag_lstm_cell(t, in[0], in[1], in[2], &h, &cn), AG_OK);
    ag_tensor *loss = ag_sum(t, ag_add(t, h, ag_mul(t, cn, cn)), AG_ALL, 0);
    ck_assert_int_eq(ag_grad(t, 1, &loss, NULL, 3, in, g, 0), AG_OK);
    ag_tensor *keep[5] = {h, cn, g[0], g[1], g[2]};
    for (int k = 0; k < 5; k++) out[k] = ag_tensor_clone(keep[k]);
    ag_tape_free(t);
    ag_tensor_free(xg), ag_tensor_free(hg), ag_tensor_free(c);
}

START_TEST(test_lstm_cell_same_bits_for_any_thread_count)
{
    ag_tensor *one[5], *more[5];
    cell_run(1, one);
    for (int threads = 2; threads <= 3; threads++) {
        cell_run(threads, more);
        for (int k = 0; k < 5; k++) {
            const size_t bytes = (size_t)ag_tensor_numel(one[k]) * sizeof(float);
            ck_assert_msg(memcmp(ag_tensor_data(one[k]), ag_tensor_data(more[k]), bytes) == 0,
                          "result %d differs between 1 and %d threads", k, threads);
            ag_tensor_free(more[k]);
        }
    }
    ck_assert_int_eq(ag_set_num_threads(0), AG_OK);
    for (int k = 0; k < 5; k++) ag_tensor_free(one[k]);
}
END_TEST

START_TEST(test_lstm_cell_errors)
{
    ag_tensor *xg = tu_random(2, SHAPE(2, 16), -1, 1, 61);
    ag_tensor *c = tu_random(2, SHAPE(2, 4), -1, 1, 62);
    ag_tensor *h, *cn, *bad;
    ck_assert_int_eq(ag_lstm_cell(NULL, xg, NULL, c, &h, &cn), AG_ERR_ARG);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_lstm_cell"));
    ag_tape *t = ag_tape_new();
    assert_status_error(t, ag_lstm_cell(t, NULL, NULL, c, &h, &cn), AG_ERR_ARG, "ag_lstm_cell",
                        "xg");
    ck_assert_ptr_null(h);
    ck_assert_ptr_null(cn);
    ag_tape_clear_error(t);
    assert_status_error(t, ag_lstm_cell(t, xg, NULL, c, &h, NULL), AG_ERR_ARG, "ag_lstm_cell",
                        "c_out is NULL");
    ag_tape_clear_error(t);
    bad = tu_random(2, SHAPE(2, 3), -1, 1, 64);
    assert_status_error(t, ag_lstm_cell(t, xg, NULL, bad, &h, &cn), AG_ERR_SHAPE,
                        "ag_lstm_cell: c is [2,3]", "expected [2,4] for gates [2,16]");
    ag_tensor_free(bad);
    ag_tape_clear_error(t);
    bad = tu_random(2, SHAPE(2, 6), -1, 1, 65);
    assert_status_error(t, ag_lstm_cell(t, bad, NULL, c, &h, &cn), AG_ERR_SHAPE,
                        "ag_lstm_cell: xg is [2,6]", "[B, 4H]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_lstm_cell(t, xg, bad, c, &h, &cn), AG_ERR_SHAPE,
                        "ag_lstm_cell: hg is [2,6]", "xg is [2,16]");
    ag_tensor_free(bad);
    ag_tape_clear_error(t);
    bad = tu_random(3, SHAPE(1, 2, 16), -1, 1, 66);
    assert_status_error(t, ag_lstm_cell(t, bad, NULL, c, &h, &cn), AG_ERR_SHAPE,
                        "ag_lstm_cell: xg is [1,2,16]", "[4H]");
    ag_tensor_free(bad);
    ag_tape_clear_error(t);
    bad = ag_zeros(NULL, AG_F32, 2, SHAPE(2, 4));
    assert_status_error(t, ag_lstm_cell(t, xg, NULL, bad, &h, &cn), AG_ERR_DTYPE,
                        "ag_lstm_cell: dtypes differ", "c is f32");
    ag_tensor_free(bad);
    /* sticky: the first error stays */
    ck_assert_int_eq(ag_lstm_cell(t, xg, NULL, c, &h, &cn), AG_ERR_DTYPE);
    ck_assert_ptr_null(h);
    ag_tape_free(t);
    ag_tensor_free(xg), ag_tensor_free(c);
}
END_TEST

/* An LSTM layer's y, h_n and c_n flattened and joined, from in = (x, h0,
   c0); ctx is the module. */
static ag_tensor *fn_lstm_layer(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *y, *hn, *cn;
    if (ag_rnn_forward(ctx, t, in[0], in[1], in[2], &y, &hn, &cn) != AG_OK) return NULL;
    ag_tensor *parts[3] = {ag_flatten(t, y, 0, -1), ag_flatten(t, hn, 0, -1),
                           ag_flatten(t, cn, 0, -1)};
    return ag_concat(t, 3, parts, 0);
}

/* Forward mode through the layer (ag_unbind and ag_lstm_cell inside):
   two layers, both directions, three steps. */
START_TEST(test_lstm_layer_jvp_matches_reverse_mode)
{
    ag_rng *r = ag_rng_new(5);
    ag_module *m = ag_lstm_new(2, 2, 2, 1, 0, 0.0, 1, AG_F64, r);
    ck_assert_ptr_nonnull(m);
    ag_tensor *x = tu_random(3, SHAPE(3, 2, 2), -1, 1, 91);
    ag_tensor *h0 = tu_random(3, SHAPE(4, 2, 2), -1, 1, 92);
    ag_tensor *c0 = tu_random(3, SHAPE(4, 2, 2), -1, 1, 93);
    jt_check("LSTM layer", fn_lstm_layer, m, 3, ((ag_tensor *[]){x, h0, c0}), 0);
    ag_tensor_free(x), ag_tensor_free(h0), ag_tensor_free(c0);
    ag_module_free(m);
    ag_rng_free(r);
}
END_TEST

/* ------------------------------------------------------------ unbind --- */

START_TEST(test_unbind_forward_every_axis)
{
    static const double iota[24] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                    12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};
    const ag_dtype dts[2] = {AG_F64, AG_F32};
    for (int d = 0; d < 2; d++) {
        ag_tensor *x = tu_tensor(dts[d], 3, SHAPE(2, 3, 4), iota), *out[4];
        ag_tape *t = ag_tape_new();
        for (int axis = -3; axis < 3; axis++) {
            const int a = axis < 0 ? axis + 3 : axis;
            ck_assert_int_eq(ag_unbind(t, x, axis, out), AG_OK);
            const int64_t dims[3] = {2, 3, 4};
            for (int64_t k = 0; k < dims[a]; k++) {
                ck_assert_int_eq(ag_tensor_ndim(out[k]), 2);
                ck_assert_int_eq(ag_tensor_dtype(out[k]), dts[d]);
                /* out[k][p, q] = x at (p, q) with k inserted at axis a */
                for (int64_t e = 0; e < ag_tensor_numel(out[k]); e++) {
                    const int64_t inner = ag_tensor_shape(out[k])[1];
                    int64_t co[3], pq[2] = {e / inner, e % inner};
                    for (int dd = 0, j = 0; dd < 3; dd++) co[dd] = dd == a ? k : pq[j++];
                    ck_assert_double_eq(ag_tensor_get(out[k], e), (co[0] * 3 + co[1]) * 4 + co[2]);
                }
            }
        }
        ag_tape_free(t);
        ag_tensor_free(x);
    }
}
END_TEST

/* Pieces 0 and 2 of unbind(x, axis 1) (piece 1 unused: its gradient is
   zeros), weighted and joined; with ctx set, squared. */
static ag_tensor *fn_unbind(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    ag_tensor *p[3];
    const int axis = *(const int *)ctx;
    if (ag_unbind(t, in[0], axis, p) != AG_OK) return NULL;
    ag_tensor *y = ag_concat(t, 2, (ag_tensor *[]){ag_mul_scalar(t, p[0], 2), p[2]}, -1);
    return ag_mul(t, y, y);
}

START_TEST(test_unbind_grads_and_jvp)
{
    ag_tensor *x = tu_random(3, SHAPE(3, 3, 2), -1, 1, 71);
    for (int axis = 0; axis < 2; axis++) {
        tu_assert_gradchecks(fn_unbind, &axis, 1, &x);
        jt_check("ag_unbind", fn_unbind, &axis, 1, &x, 0);
    }
    ag_tensor_free(x);
}
END_TEST

START_TEST(test_unbind_errors)
{
    ag_tensor *x = tu_random(2, SHAPE(2, 3), -1, 1, 81), *s = tu_tensor(AG_F64, 0, NULL, VALS(1));
    ag_tensor *out[3] = {x, x, x};
    ck_assert_int_eq(ag_unbind(NULL, x, 0, out), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_unbind"));
    ag_tape *t = ag_tape_new();
    assert_status_error(t, ag_unbind(t, x, 2, out), AG_ERR_AXIS, "ag_unbind: axis 2",
                        "x of shape [2,3] (allowed -2..1)");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_unbind(t, s, 0, out), AG_ERR_SHAPE, "ag_unbind: x is 0-d", "[]");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_unbind(t, x, 0, NULL), AG_ERR_ARG, "ag_unbind", "out is NULL");
    ag_tape_clear_error(t);
    assert_status_error(t, ag_unbind(t, NULL, 0, out), AG_ERR_ARG, "ag_unbind", "x");
    ag_tape_free(t);
    ag_tensor_free(x), ag_tensor_free(s);
}
END_TEST

Suite *suite_rnn_cell(void)
{
    Suite *s = suite_create("rnn_cell");
    TU_ADD(s, test_lstm_cell_forward_matches_a_naive_loop);
    TU_ADD(s, test_lstm_cell_gradcheck_and_gradgradcheck);
    TU_ADD(s, test_lstm_cell_backward_matches_the_composed_cell);
    TU_ADD(s, test_lstm_cell_jvp_matches_reverse_mode);
    TU_ADD(s, test_lstm_cell_same_bits_for_any_thread_count);
    TU_ADD(s, test_lstm_cell_errors);
    TU_ADD(s, test_lstm_layer_jvp_matches_reverse_mode);
    TU_ADD(s, test_unbind_forward_every_axis);
    TU_ADD(s, test_unbind_grads_and_jvp);
    TU_ADD(s, test_unbind_errors);
    return s;
}
