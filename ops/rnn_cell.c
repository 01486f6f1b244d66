/*
** rnn_cell.c: ag_lstm_cell (ag_rnn_cell.h), one LSTM step as one op: its
** checks, the fused forward kernel, the fused backward kernel, and the
** same backward and the JVP rule written with ops.
**
** The op has two outputs, h' and c' (multi_internal.h: an anchor node and
** one node per output), so its rule sees both gradients at once and makes
** dz [B, 4H] and dc [B, H] in one pass. The node keeps s [B, 5H]: each
** row the activations i, f, g, o and tanh(c'), so the backward computes no
** transcendental function. In a backward without create_graph (grad mode
** off: nothing is recorded) the rule runs that kernel; under create_graph
** it records the same formulas with ops on the inputs, whose rules give
** every higher order. Rows are split over the pool; every element's
** result depends on its row alone, so the bits are the same for any split.
*/
#include "ag_ops_internal.h"
#include "ag_rnn_cell.h"
#include "ag_arrange.h"
#include "ag_binary.h"
#include "ag_shape.h"
#include "ag_unary.h"
#include "multi_internal.h"
#include "vmath_internal.h"

#include <string.h>

#define FN "ag_lstm_cell"

/* The kernels' operands: rows of 4H gates and of H states. */
typedef struct lstm_job {
    const ag_tensor *xg, *hg, *c;       /* forward inputs; hg may be NULL */
    ag_tensor *s;                       /* [rows, 5H]: i f g o tanh(c') */
    ag_tensor *h, *cn;                  /* forward outputs */
    const ag_tensor *dh, *dcn;          /* backward: the outputs' gradients (either NULL) */
    ag_tensor *dz, *dc;                 /* backward results */
    int64_t hid;
} lstm_job;

/* ------------------------------------------------------------ forward --- */

/* s = [sigmoid, sigmoid, tanh, sigmoid](xg + hg) | tanh(c'); c' = f c + i g;
   h' = o tanh(c'). Rows [lo, hi); xg, hg are [rows, 4H], c, h, cn [rows, H]. */
#define LSTM_FWD_ROWS(T, SFX)                                                          \
    do {                                                                               \
        const agi_vmath_fns *vm_ = agi_vm();                                           \
        const int64_t H = jb->hid;                                                     \
        for (int64_t r = lo; r < hi; r++) {                                            \
            const T *xg = (const T *)jb->xg->data + r * 4 * H;                         \
            const T *hg = jb->hg ? (const T *)jb->hg->data + r * 4 * H : NULL;         \
            const T *c = (const T *)jb->c->data + r * H;                               \
            T *s = (T *)jb->s->data + r * 5 * H, *h = (T *)jb->h->data + r * H;        \
            T *cn = (T *)jb->cn->data + r * H;                                         \
            if (hg) AGI_VLOOP(j, 0, 4 * H, s[j] = xg[j] + hg[j];);                     \
            else memcpy(s, xg, (size_t)(4 * H) * sizeof(T));                           \
            vm_->sigmoid_##SFX(s, s, 2 * H);                                           \
            vm_->tanh_##SFX(s + 2 * H, s + 2 * H, H);                                  \
            vm_->sigmoid_##SFX(s + 3 * H, s + 3 * H, H);                               \
            const T *i = s, *f = s + H, *g = s + 2 * H, *o = s + 3 * H;                \
            T *tc = s + 4 * H;                                                         \
            AGI_VLOOP(j, 0, H, cn[j] = f[j] * c[j] + i[j] * g[j];);                    \
            vm_->tanh_##SFX(tc, cn, H);                                                \
            AGI_VLOOP(j, 0, H, h[j] = o[j] * tc[j];);                                  \
        }                                                                              \
    } while (0)

AGI_RANGE_MV(lstm_fwd_range, job, lo, hi)
{
    const lstm_job *jb = job;
    if (jb->s->dtype == AG_F64)
        LSTM_FWD_ROWS(double, f64);
    else
        LSTM_FWD_ROWS(float, f32);
}

/* ----------------------------------------------------------- backward --- */

/* dct = dc' + dh o (1 - tanh(c')^2); dz = [dct g i(1-i), dct c f(1-f),
   dct i (1-g^2), dh tanh(c') o(1-o)]; dc = dct f. Rows [lo, hi). */
#define LSTM_BWD_ROWS(T)                                                               \
    do {                                                                               \
        const int64_t H = jb->hid;                                                     \
        for (int64_t r = lo; r < hi; r++) {                                            \
            const T *s = (const T *)jb->s->data + r * 5 * H;                           \
            const T *c = (const T *)jb->c->data + r * H;                               \
            const T *dh = jb->dh ? (const T *)jb->dh->data + r * H : NULL;             \
            const T *dcn = jb->dcn ? (const T *)jb->dcn->data + r * H : NULL;          \
            T *dz = (T *)jb->dz->data + r * 4 * H, *dc = (T *)jb->dc->data + r * H;    \
            const T *i = s, *f = s + H, *g = s + 2 * H, *o = s + 3 * H, *tc = s + 4 * H; \
            T *dzi = dz, *dzf = dz + H, *dzg = dz + 2 * H, *dzo = dz + 3 * H;          \
            if (dcn) memcpy(dc, dcn, (size_t)H * sizeof(T));                           \
            else memset(dc, 0, (size_t)H * sizeof(T));                                 \
            if (dh) {                                                                  \
                AGI_VLOOP(j, 0, H, const T d = dh[j] * o[j];                           \
                          dc[j] += d * (1 - tc[j] * tc[j]);                            \
                          dzo[j] = dh[j] * tc[j] * (o[j] * (1 - o[j])););              \
            } else {                                                                   \
                memset(dzo, 0, (size_t)H * sizeof(T));                                 \
            }                                                                          \
            AGI_VLOOP(j, 0, H, const T d = dc[j];                                      \
                      dzi[j] = d * g[j] * (i[j] * (1 - i[j]));                         \
                      dzf[j] = d * c[j] * (f[j] * (1 - f[j]));                         \
                      dzg[j] = d * i[j] * (1 - g[j] * g[j]);                           \
                      dc[j] = d * f[j];);                                              \
        }                                                                              \
    } while (0)

AGI_RANGE_MV(lstm_bwd_range, job, lo, hi)
{
    const lstm_job *jb = job;
    if (jb->s->dtype == AG_F64)
        LSTM_BWD_ROWS(double);
    else
        LSTM_BWD_ROWS(float);
}

/* Rows per piece of the pool: some AGI_PAR_GRAIN elements each. */
static int64_t row_grain(int64_t hid)
{
    const int64_t g = AGI_PAR_GRAIN / (5 * hid + 1);
    return g > 0 ? g : 1;
}

/* i, f, g, o with ops on the node's inputs (xg, [hg,] c): differentiable. */
static int acts_ops(ag_tape *t, const agi_node *n, ag_tensor **a)
{
    ag_tensor *z = n->n_in == 3 ? ag_add(t, n->in[0], n->in[1]) : n->in[0], *zs[4];
    if (ag_chunk(t, z, 4, -1, zs, NULL) != AG_OK) return 0;
    a[0] = ag_sigmoid(t, zs[0]), a[1] = ag_sigmoid(t, zs[1]);
    a[2] = ag_tanh(t, zs[2]), a[3] = ag_sigmoid(t, zs[3]);
    return t->status == AG_OK;
}

/* y (1 - y): the derivative of a sigmoid y, with ops. */
static ag_tensor *dsig(ag_tape *t, ag_tensor *y) { return ag_mul(t, y, ag_rsub_scalar(t, y, 1)); }
/* 1 - y^2: the derivative of a tanh y, with ops. */
static ag_tensor *dtanh(ag_tape *t, ag_tensor *y) { return ag_rsub_scalar(t, ag_mul(t, y, y), 1); }

/* The fused kernel's formulas with ops (create_graph): dz into *dz, dc
   into *dc; dh or dcn may be NULL (not both). */
static void backward_ops(ag_tape *t, const agi_node *n, ag_tensor *dh, ag_tensor *dcn,
                         ag_tensor **dz, ag_tensor **dc)
{
    ag_tensor *a[4], *c = n->in[n->n_in - 1];
    if (!acts_ops(t, n, a)) return;
    ag_tensor *tc = ag_tanh(t, ag_addcmul(t, ag_mul(t, a[1], c), a[0], a[2], 1.0));
    ag_tensor *dct = dcn, *dzo;
    if (dh) {
        ag_tensor *d = ag_mul(t, ag_mul(t, dh, a[3]), dtanh(t, tc));
        dct = dct ? ag_add(t, dct, d) : d;
        dzo = ag_mul(t, ag_mul(t, dh, tc), dsig(t, a[3]));
    } else {
        dzo = ag_zeros(t, (ag_dtype)c->dtype, c->ndim, c->shape);
    }
    ag_tensor *parts[4] = {ag_mul(t, ag_mul(t, dct, a[2]), dsig(t, a[0])),
                           ag_mul(t, ag_mul(t, dct, c), dsig(t, a[1])),
                           ag_mul(t, ag_mul(t, dct, a[0]), dtanh(t, a[2])), dzo};
    *dz = ag_concat(t, 4, parts, -1);
    *dc = ag_mul(t, dct, a[1]);
}

/* The fused kernel (grad mode off): dz and dc as new tape tensors. */
static void backward_kernel(ag_tape *t, const agi_node *n, ag_tensor *dh, ag_tensor *dcn,
                            ag_tensor **dz, ag_tensor **dc)
{
    const ag_tensor *c = n->in[n->n_in - 1], *xg = n->in[0];
    lstm_job jb = {.c = c, .s = n->saved, .dh = dh, .dcn = dcn, .hid = c->shape[c->ndim - 1]};
    if (!(jb.dz = agi_new_like(t, FN, xg)) || !(jb.dc = agi_new_like(t, FN, c))) return;
    const int64_t rows = c->ndim == 2 ? c->shape[0] : 1;
    agi_parallel_range(rows, row_grain(jb.hid), lstm_bwd_range, &jb);
    *dz = jb.dz, *dc = jb.dc;
}

/* (h', c') = lstm(xg + hg, c); dxg = dhg = dz, dc as above */
static void lstm_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                          const uint8_t *need)
{
    (void)gy;                           /* the anchor's: zeros */
    ag_tensor *gys[2], *dz = NULL, *dc = NULL;
    agi_multi_take(n, gys);
    const ag_tensor *c = n->in[n->n_in - 1];
    if (!gys[0] && !gys[1] && !(gys[1] = ag_zeros(t, (ag_dtype)c->dtype, c->ndim, c->shape)))
        return;
    if (t->grad_enabled)
        backward_ops(t, n, gys[0], gys[1], &dz, &dc);
    else
        backward_kernel(t, n, gys[0], gys[1], &dz, &dc);
    if (t->status != AG_OK) return;
    for (int k = 0; k + 1 < n->n_in; k++)
        if (need[k]) gx[k] = dz;
    if (need[n->n_in - 1]) gx[n->n_in - 1] = dc;
}

/* tc' = f tc + c f(1-f) tz_f + g i(1-i) tz_i + i (1-g^2) tz_g;
   th' = o(1-o) tz_o tanh(c') + o (1 - tanh(c')^2) tc'; th = 0 */
static ag_tensor *lstm_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const agi_multi *m = n->aux;
    ag_tensor *a[4], *tz[4], *c = n->in[n->n_in - 1], *tcp = tx[n->n_in - 1];
    ag_tensor *tzs = n->n_in == 3 ? ag_add(t, tx[0], tx[1]) : tx[0];
    if (!acts_ops(t, n, a) || ag_chunk(t, tzs, 4, -1, tz, NULL) != AG_OK) return NULL;
    ag_tensor *tcn = ag_mul(t, a[1], tcp);
    tcn = ag_addcmul(t, tcn, ag_mul(t, c, dsig(t, a[1])), tz[1], 1.0);
    tcn = ag_addcmul(t, tcn, ag_mul(t, a[2], dsig(t, a[0])), tz[0], 1.0);
    tcn = ag_addcmul(t, tcn, ag_mul(t, a[0], dtanh(t, a[2])), tz[2], 1.0);
    ag_tensor *tc = ag_tanh(t, ag_addcmul(t, ag_mul(t, a[1], c), a[0], a[2], 1.0));
    ag_tensor *th = ag_mul(t, ag_mul(t, dsig(t, a[3]), tz[3]), tc);
    m->tans[0] = ag_addcmul(t, th, ag_mul(t, a[3], dtanh(t, tc)), tcn, 1.0);
    m->tans[1] = tcn;
    return ag_zeros(t, (ag_dtype)n->out->dtype, 0, NULL);
}

static const agi_op op_lstm = {FN, lstm_backward, lstm_jvp};
static const agi_op op_lstm_out = {FN, agi_multi_out_backward, agi_multi_out_jvp};

/* ------------------------------------------------------------ checks --- */

/* xg, hg and c usable and of matching shapes and dtypes; 1 if so. */
static int lstm_check(ag_tape *t, const ag_tensor *xg, const ag_tensor *hg, const ag_tensor *c)
{
    char b1[96], b2[96], b3[96];
    if (!agi_check(t, FN, "xg", xg) || (hg && !agi_check(t, FN, "hg", hg)) ||
        !agi_check(t, FN, "c", c))
        return 0;
    if ((xg->ndim != 1 && xg->ndim != 2) || xg->shape[xg->ndim - 1] % 4 != 0)
        return agi_fail(t, AG_ERR_SHAPE, "%s: xg is %s, expected [B, 4H] or [4H]", FN,
                        agi_shape_str(xg, b1)), 0;
    if (hg && !agi_same_shape(hg, xg))
        return agi_fail(t, AG_ERR_SHAPE, "%s: hg is %s, xg is %s: they must have one shape",
                        FN, agi_shape_str(hg, b1), agi_shape_str(xg, b2)), 0;
    int64_t want[2] = {xg->shape[0], xg->shape[xg->ndim - 1] / 4};
    if (xg->ndim == 1) want[0] = want[1];
    if (c->ndim != xg->ndim || c->shape[0] != want[0] || c->shape[c->ndim - 1] != want[1])
        return agi_fail(t, AG_ERR_SHAPE, "%s: c is %s, expected %s for gates %s", FN,
                        agi_shape_str(c, b1), agi_dims_str(xg->ndim, want, b2),
                        agi_shape_str(xg, b3)), 0;
    if ((hg && hg->dtype != xg->dtype) || c->dtype != xg->dtype)
        return agi_fail(t, AG_ERR_DTYPE, "%s: dtypes differ: xg is %s, %s is %s (use ag_cast)",
                        FN, agi_dtype_name(xg->dtype), c->dtype != xg->dtype ? "c" : "hg",
                        agi_dtype_name(c->dtype != xg->dtype ? c->dtype : hg->dtype)), 0;
    return 1;
}

ag_status ag_lstm_cell(ag_tape *t, ag_tensor *xg, ag_tensor *hg, ag_tensor *c,
                       ag_tensor **h_out, ag_tensor **c_out)
{
    if (h_out) *h_out = NULL;
    if (c_out) *c_out = NULL;
    if (!t) return agi_no_tape(FN);
    if (t->status != AG_OK) return t->status;
    if (!h_out || !c_out)
        return agi_fail(t, AG_ERR_ARG, "%s: %s is NULL", FN, h_out ? "c_out" : "h_out"),
               AG_ERR_ARG;
    if (!lstm_check(t, xg, hg, c)) return t->status;
    const int64_t hid = c->shape[c->ndim - 1], rows = c->ndim == 2 ? c->shape[0] : 1;
    const int64_t sshape[2] = {rows, 5 * hid};
    lstm_job jb = {.xg = xg, .hg = hg, .c = c, .hid = hid};
    if (!(jb.s = agi_new(t, FN, (ag_dtype)c->dtype, 2, sshape)) ||
        !(jb.h = agi_new_like(t, FN, c)) || !(jb.cn = agi_new_like(t, FN, c)))
        return t->status;
    agi_parallel_range(rows, row_grain(hid), lstm_fwd_range, &jb);
    ag_tensor *outs[2] = {jb.h, jb.cn}, *in[3] = {xg, hg ? hg : c, c};
    agi_node *n = agi_record_multi(t, &op_lstm, &op_lstm_out, hg ? 3 : 2, in, 2, outs);
    if (n) n->saved = jb.s;
    if (t->status != AG_OK || !agi_done(t, &op_lstm_out, jb.h) ||
        !agi_done(t, &op_lstm_out, jb.cn))
        return t->status;
    *h_out = jb.h, *c_out = jb.cn;
    return AG_OK;
}
