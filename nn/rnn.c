/*
** rnn.c: the recurrent layers of ag_rnn.h: RNNCell, LSTMCell and GRUCell,
** and RNN, LSTM and GRU over a sequence. One step's math (step() and its
** three kinds) is shared by cells and sequences; an LSTM's step is one
** op, ag_lstm_cell. A sequence projects each layer's whole input at once
** (one product, cut into steps by ag_unbind), runs the steps, and stacks
** each direction's outputs into the layer's output [T, B, D*H], the next
** layer's input. Public ops only; no gradient by hand.
*/
#include "layers_util.h"

#include <math.h>

typedef enum rnn_kind { K_RNN_TANH, K_RNN_RELU, K_LSTM, K_GRU } rnn_kind;

#define RNN_DESC_LEN 192

/* The tensors of one layer and direction (or of a cell); biases may be NULL. */
typedef struct rnn_params {
    ag_tensor *w_ih, *w_hh, *b_ih, *b_hh;
} rnn_params;

typedef struct rnn_cell {
    ag_module base;
    rnn_kind kind;
    int64_t input, hidden;
    rnn_params p;
    char desc[RNN_DESC_LEN];
} rnn_cell;

typedef struct rnn_seq {
    ag_module base;
    rnn_kind kind;
    int64_t input, hidden;
    int layers, dirs, batch_first;
    double dropout;
    ag_rng *rng;                        /* borrowed: dropout masks */
    rnn_params *p;                      /* [layers * dirs] */
    char desc[RNN_DESC_LEN];
} rnn_seq;

static int gates_of(rnn_kind k) { return k == K_LSTM ? 4 : k == K_GRU ? 3 : 1; }

static const char *kind_name(rnn_kind k)
{
    return k == K_LSTM ? "LSTM" : k == K_GRU ? "GRU" : "RNN";
}

/* ------------------------------------------------------------ one step --- */

/* What a step multiplies by: W_ih and W_hh, and the biases added to
   W_ih x and to W_hh h (either may be NULL). */
typedef struct step_w {
    ag_tensor *w_ih, *w_hh, *b_x, *b_h;
} step_w;

/* h' = act(xp + hp). */
static ag_tensor *rnn_step(ag_tape *t, rnn_kind k, ag_tensor *xp, ag_tensor *hp)
{
    ag_tensor *a = ag_add(t, xp, hp);
    return k == K_RNN_RELU ? ag_relu(t, a) : ag_tanh(t, a);
}

/* i, f, g, o from the gates xp + hp [B, 4H]; c' = f c + i g;
   h' = o tanh(c'): one op, ag_lstm_cell (its backward one pass too). */
static ag_tensor *lstm_step(ag_tape *t, ag_tensor *xp, ag_tensor *hp, ag_tensor *c,
                            ag_tensor **c_out)
{
    ag_tensor *h = NULL;
    if (ag_lstm_cell(t, xp, hp, c, &h, c_out) != AG_OK) return *c_out = NULL, NULL;
    return h;
}

/* r, z from the first 2H columns of xp + hp; n = tanh(xn + r hn) (hn
   holds b_hn); h' = n + z (h - n), which is (1 - z) n + z h. */
static ag_tensor *gru_step(ag_tape *t, ag_tensor *xp, ag_tensor *hp, ag_tensor *h)
{
    const int64_t hid = ag_tensor_dim(h, -1), sizes[2] = {2 * hid, hid};
    ag_tensor *xs[2] = {NULL, NULL}, *hs[2] = {NULL, NULL}, *rz[2] = {NULL, NULL};
    if (ag_split(t, xp, 2, sizes, -1, xs) != AG_OK || ag_split(t, hp, 2, sizes, -1, hs) != AG_OK)
        return NULL;
    if (ag_chunk(t, ag_sigmoid(t, ag_add(t, xs[0], hs[0])), 2, -1, rz, NULL) != AG_OK)
        return NULL;
    ag_tensor *n = ag_tanh(t, ag_addcmul(t, xs[1], rz[0], hs[1], 1.0));
    return ag_addcmul(t, n, rz[1], ag_sub(t, h, n), 1.0);
}

/* One step of any kind from the input's projection xp = x W_ih^T + b_x:
   h' from xp and h (c and *c_out for LSTM only). */
static ag_tensor *step_xp(ag_tape *t, rnn_kind k, const step_w *w, ag_tensor *xp,
                          ag_tensor *h, ag_tensor *c, ag_tensor **c_out)
{
    ag_tensor *hp = ag_linear(t, h, w->w_hh, w->b_h);
    if (k == K_LSTM) return lstm_step(t, xp, hp, c, c_out);
    if (k == K_GRU) return gru_step(t, xp, hp, h);
    return rnn_step(t, k, xp, hp);
}

/* One step of any kind: h' from x and h (c and *c_out for LSTM only). */
static ag_tensor *step(ag_tape *t, rnn_kind k, const step_w *w, ag_tensor *x, ag_tensor *h,
                       ag_tensor *c, ag_tensor **c_out)
{
    return step_xp(t, k, w, ag_linear(t, x, w->w_ih, w->b_x), h, c, c_out);
}

/* --------------------------------------------------------- parameters --- */

/* Registers the four tensors of one layer and direction under PyTorch's
   names (suffix "", "_l0", "_l1_reverse", ...) and draws them from
   U(-1/sqrt(H), 1/sqrt(H)) in that order (zeros with a NULL rng). 1 when
   fine. */
static int add_params(ag_module *m, rnn_params *p, rnn_kind k, int64_t in, int64_t hid,
                      int bias, const char *suffix, ag_dtype dt, ag_rng *rng)
{
    static const char *const names[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    const int64_t rows = gates_of(k) * hid, cols[2] = {in, hid};
    const double bound = 1.0 / sqrt((double)hid);
    ag_tensor **slots[4] = {&p->w_ih, &p->w_hh, &p->b_ih, &p->b_hh};
    char name[AGM_NAME_MAX + 1];
    for (int i = 0; i < (bias ? 4 : 2); i++) {
        *slots[i] = i < 2 ? ag_zeros(NULL, dt, 2, (int64_t[]){rows, cols[i]})
                          : ag_zeros(NULL, dt, 1, &rows);
        snprintf(name, sizeof name, "%s%s", names[i], suffix);
        if (ag_module_add_param(m, name, *slots[i]) != AG_OK ||
            (rng && ag_init_uniform(*slots[i], -bound, bound, rng) != AG_OK))
            return 0;
    }
    return 1;
}

/* The checks every constructor starts with; AG_OK or the error set. */
static ag_status check_new(const char *who, int64_t in, int64_t hid, int layers, double dropout,
                           ag_dtype dt, const ag_rng *rng)
{
    if (agn_check_dtype(who, dt) != AG_OK) return AG_ERR_DTYPE;
    if (in < 1 || hid < 1 || layers < 1)
        return ag_set_last_error(AG_ERR_ARG, "%s: input_size %lld, hidden_size %lld and "
                                 "num_layers %d must be >= 1", who, (long long)in,
                                 (long long)hid, layers);
    if (!(dropout >= 0 && dropout <= 1))
        return ag_set_last_error(AG_ERR_ARG, "%s: dropout is %g, must be in [0, 1]", who,
                                 dropout);
    (void)rng;                          /* NULL: zeros, to be loaded */
    return AG_OK;
}

/* "tanh" (or NULL) and "relu": the kind, or -1 with the error set. */
static int nonlinearity_kind(const char *who, const char *nl)
{
    if (!nl || strcmp(nl, "tanh") == 0) return K_RNN_TANH;
    if (strcmp(nl, "relu") == 0) return K_RNN_RELU;
    ag_set_last_error(AG_ERR_ARG, "%s: unknown nonlinearity \"%s\" (\"tanh\" or \"relu\")",
                      who, nl);
    return -1;
}

/* -------------------------------------------------------------- cells --- */

static const ag_module_ops rnn_cell_ops, lstm_cell_ops, gru_cell_ops;

static int is_cell(const ag_module *m)
{
    return agn_is(m, &rnn_cell_ops) || agn_is(m, &lstm_cell_ops) || agn_is(m, &gru_cell_ops);
}

/* A state given to a cell: [B, H] (or [H] for an unbatched x), the
   cell's dtype. 1 when fine (or NULL); else 0 with the error on t. */
static int check_state(ag_tape *t, const char *desc, const char *what, const ag_tensor *s,
                       ag_dtype dt, int ndim, const int64_t *want)
{
    char got[128], exp[128];
    if (!s) return 1;
    if (ag_tape_check(t, desc, what, s) != AG_OK) return 0;
    if (ag_tensor_dtype(s) != dt)
        return ag_tape_set_error(t, AG_ERR_DTYPE, "%s: %s is %s, the layer is %s", desc, what,
                                 agn_dtype_name(ag_tensor_dtype(s)), agn_dtype_name(dt)), 0;
    int ok = ag_tensor_ndim(s) == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = ag_tensor_shape(s)[d] == want[d];
    if (ok) return 1;
    int n = snprintf(exp, sizeof exp, "[");
    for (int d = 0; d < ndim; d++)
        n += snprintf(exp + n, sizeof exp - (size_t)n, d ? ",%lld" : "%lld", (long long)want[d]);
    snprintf(exp + n, sizeof exp - (size_t)n, "]");
    return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: %s is %s, expected %s", desc, what,
                             agn_shape_str(s, got, sizeof got), exp), 0;
}

/* Checks a cell's x, h and c; the batch shape of the states in *nd/st. */
static int check_cell_inputs(const rnn_cell *l, ag_tape *t, const ag_tensor *x,
                             const ag_tensor *h, const ag_tensor *c, int *nd, int64_t *st)
{
    char s[128];
    ag_dtype dt = ag_tensor_dtype(l->p.w_ih);
    if (!agn_check_input(t, l->desc, x, dt, 1)) return 0;
    *nd = ag_tensor_ndim(x);
    if (*nd > 2 || ag_tensor_dim(x, -1) != l->input)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x is %s, expected [B, %lld] or [%lld]",
                                 l->desc, agn_shape_str(x, s, sizeof s), (long long)l->input,
                                 (long long)l->input), 0;
    if (c && l->kind != K_LSTM)
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: c is given, but only an LSTMCell has a "
                                 "cell state", l->desc), 0;
    st[0] = *nd == 2 ? ag_tensor_shape(x)[0] : l->hidden;
    st[1] = l->hidden;
    return check_state(t, l->desc, "h", h, dt, *nd, st) &&
           check_state(t, l->desc, "c", c, dt, *nd, st);
}

ag_status ag_rnn_cell_forward(ag_module *m, ag_tape *t, ag_tensor *x, ag_tensor *h,
                              ag_tensor *c, ag_tensor **h_out, ag_tensor **c_out)
{
    ag_tensor *cn = NULL;
    int nd;
    int64_t st[2];
    if (h_out) *h_out = NULL;
    if (c_out) *c_out = NULL;
    if (!t) return ag_set_last_error(AG_ERR_ARG, "ag_rnn_cell_forward: tape is NULL");
    if (ag_tape_status(t) != AG_OK) return ag_tape_status(t);
    if (!is_cell(m))
        return ag_tape_set_error(t, AG_ERR_ARG, "ag_rnn_cell_forward: the module is %s, not an "
                                 "RNNCell, LSTMCell or GRUCell",
                                 m && m->ops && m->ops->type ? m->ops->type : "NULL or untyped");
    rnn_cell *l = (rnn_cell *)m;
    if (!h_out) return ag_tape_set_error(t, AG_ERR_ARG, "%s: h_out is NULL", l->desc);
    if (!check_cell_inputs(l, t, x, h, c, &nd, st)) return ag_tape_status(t);
    ag_dtype dt = ag_tensor_dtype(l->p.w_ih);
    if (!h) h = ag_zeros(t, dt, nd, st);
    if (!c && l->kind == K_LSTM) c = ag_zeros(t, dt, nd, st);
    const step_w w = {l->p.w_ih, l->p.w_hh, l->p.b_ih, l->p.b_hh};
    ag_tensor *hn = step(t, l->kind, &w, x, h, c, &cn);
    if (!hn) return ag_tape_status(t);
    *h_out = hn;
    if (c_out) *c_out = cn;
    return AG_OK;
}

static ag_tensor *cell_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    ag_tensor *h = NULL;
    if (!t) return ag_set_last_error(AG_ERR_ARG, "%s: tape is NULL", ((rnn_cell *)m)->desc), NULL;
    return ag_rnn_cell_forward(m, t, x, NULL, NULL, &h, NULL) == AG_OK ? h : NULL;
}

static const ag_module_ops rnn_cell_ops = {"RNNCell", cell_forward, NULL};
static const ag_module_ops lstm_cell_ops = {"LSTMCell", cell_forward, NULL};
static const ag_module_ops gru_cell_ops = {"GRUCell", cell_forward, NULL};

static ag_module *cell_new(const char *who, const ag_module_ops *ops, rnn_kind k, int64_t in,
                           int64_t hid, int bias, ag_dtype dt, ag_rng *rng)
{
    if (check_new(who, in, hid, 1, 0, dt, rng) != AG_OK) return NULL;
    rnn_cell *l = agn_alloc(sizeof *l, ops, who);
    if (!l) return NULL;
    l->kind = k;
    l->input = in;
    l->hidden = hid;
    snprintf(l->desc, sizeof l->desc, "%s(%lld, %lld%s%s)", ops->type, (long long)in,
             (long long)hid, bias ? "" : ", bias=False",
             k == K_RNN_RELU ? ", nonlinearity=relu" : "");
    if (!add_params(&l->base, &l->p, k, in, hid, bias, "", dt, rng)) {
        ag_module_free(&l->base);
        return NULL;
    }
    return &l->base;
}

ag_module *ag_rnn_cell_new(int64_t input_size, int64_t hidden_size, int bias,
                           const char *nonlinearity, ag_dtype dt, ag_rng *rng)
{
    int k = nonlinearity_kind("ag_rnn_cell_new", nonlinearity);
    if (k < 0) return NULL;
    return cell_new("ag_rnn_cell_new", &rnn_cell_ops, (rnn_kind)k, input_size, hidden_size,
                    bias, dt, rng);
}

ag_module *ag_lstm_cell_new(int64_t input_size, int64_t hidden_size, int bias, ag_dtype dt,
                            ag_rng *rng)
{
    return cell_new("ag_lstm_cell_new", &lstm_cell_ops, K_LSTM, input_size, hidden_size, bias,
                    dt, rng);
}

ag_module *ag_gru_cell_new(int64_t input_size, int64_t hidden_size, int bias, ag_dtype dt,
                           ag_rng *rng)
{
    return cell_new("ag_gru_cell_new", &gru_cell_ops, K_GRU, input_size, hidden_size, bias, dt,
                    rng);
}

/* ---------------------------------------------------------- sequences --- */

static const ag_module_ops rnn_ops, lstm_ops, gru_ops;

static int is_seq(const ag_module *m)
{
    return agn_is(m, &rnn_ops) || agn_is(m, &lstm_ops) || agn_is(m, &gru_ops);
}

/*
** One layer and direction over its input seq [n, B, I_k] from *h (and
** *c) [B, H]: the outputs [B, H] into hs[], the final states left in *h,
** *c; xps[] (n entries) is scratch. 1 when fine. For RNN and LSTM b_hh is
** folded into the input's bias (GRU keeps b_hn inside r * (...)).
**
** The input's projection is one product over all steps, cut into steps
** by ag_unbind: its backward stacks the steps' gradients once (a slice
** per step would place each into zeros of the whole product's size), so
** the backward too is one product, and W_ih's gradient one sum.
*/
static int run_direction(const rnn_seq *l, ag_tape *t, const rnn_params *p, int reverse,
                         ag_tensor *seq, ag_tensor **xps, ag_tensor **hs, ag_tensor **h,
                         ag_tensor **c)
{
    const int64_t n = ag_tensor_dim(seq, 0);
    step_w w = {p->w_ih, p->w_hh, p->b_ih, p->b_hh};
    if (l->kind != K_GRU && p->b_ih) w.b_x = ag_add(t, p->b_ih, p->b_hh), w.b_h = NULL;
    if (ag_unbind(t, ag_linear(t, seq, w.w_ih, w.b_x), 0, xps) != AG_OK) return 0;
    for (int64_t s = 0; s < n && *h; s++) {
        const int64_t at = reverse ? n - 1 - s : s;
        ag_tensor *c_next = NULL;
        hs[at] = *h = step_xp(t, l->kind, &w, xps[at], *h, *c, &c_next);
        if (l->kind == K_LSTM) *c = c_next;
    }
    return *h != NULL;
}

/* x [T, B, I] ([B, T, I] with batch_first) or [T, I]; T >= 1. */
static int check_seq_x(const rnn_seq *l, ag_tape *t, const ag_tensor *x)
{
    char s[128];
    if (!agn_check_input(t, l->desc, x, ag_tensor_dtype(l->p[0].w_ih), 1)) return 0;
    const int nd = ag_tensor_ndim(x);
    if ((nd != 2 && nd != 3) || ag_tensor_dim(x, -1) != l->input)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x is %s, expected %s, %lld] or "
                                 "[T, %lld]", l->desc, agn_shape_str(x, s, sizeof s),
                                 l->batch_first ? "[B, T" : "[T, B", (long long)l->input,
                                 (long long)l->input), 0;
    if (ag_tensor_dim(x, nd == 3 && l->batch_first ? 1 : 0) == 0)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x is %s, an empty sequence", l->desc,
                                 agn_shape_str(x, s, sizeof s)), 0;
    return 1;
}

/* Checks x, h0 and c0; *batched, and the states' shape in st[0..nd). */
static int check_seq_inputs(const rnn_seq *l, ag_tape *t, const ag_tensor *x,
                            const ag_tensor *h0, const ag_tensor *c0, int64_t *st, int *nd)
{
    if (!check_seq_x(l, t, x)) return 0;
    if (c0 && l->kind != K_LSTM)
        return ag_tape_set_error(t, AG_ERR_ARG, "%s: c0 is given, but only an LSTM has a cell "
                                 "state", l->desc), 0;
    const int batched = ag_tensor_ndim(x) == 3;
    *nd = batched ? 3 : 2;
    st[0] = (int64_t)l->layers * l->dirs;
    st[1] = batched ? ag_tensor_dim(x, l->batch_first ? 0 : 1) : l->hidden;
    st[2] = l->hidden;
    ag_dtype dt = ag_tensor_dtype(l->p[0].w_ih);
    return check_state(t, l->desc, "h0", h0, dt, *nd, st) &&
           check_state(t, l->desc, "c0", c0, dt, *nd, st);
}

/* The initial state k of s0 [L*D, B, H] as [B, H], or zeros for NULL. */
static ag_tensor *state_at(ag_tape *t, ag_tensor *s0, int k, const int64_t *bh, ag_dtype dt)
{
    if (!s0) return ag_zeros(t, dt, 2, bh);
    return ag_reshape(t, ag_slice(t, s0, 0, k, k + 1, 1), 2, bh);
}

/* Layer k's output [T, B, D*H]: the directions' steps d0[] (and d1[],
   which may be NULL) stacked and joined; dropout applied in training but
   after the last layer. */
static ag_tensor *layer_output(const rnn_seq *l, ag_tape *t, int k, int n, ag_tensor *const *d0,
                               ag_tensor *const *d1)
{
    ag_tensor *y = ag_stack(t, n, d0, 0);
    if (d1) y = ag_concat(t, 2, (ag_tensor *[]){y, ag_stack(t, n, d1, 0)}, 2);
    if (k + 1 < l->layers && l->base.training && l->dropout > 0 && y)
        y = ag_mul(t, y, ag_dropout_mask(t, l->rng, ag_tensor_dtype(y), 3, ag_tensor_shape(y),
                                         l->dropout));
    return y;
}

/* Every layer over seq [T, B, I] from h0, c0 [L*D, B, H] (or NULL); the
   final states go to hl[], cl[] (L*D each); returns [T, B, D*H]. */
static ag_tensor *run_layers(const rnn_seq *l, ag_tape *t, ag_tensor *seq, ag_tensor *h0,
                             ag_tensor *c0, ag_tensor **hl, ag_tensor **cl)
{
    const int64_t n = ag_tensor_dim(seq, 0), bh[2] = {ag_tensor_dim(seq, 1), l->hidden};
    const ag_dtype dt = ag_tensor_dtype(l->p[0].w_ih);
    ag_tensor **xps = malloc(3 * (size_t)n * sizeof *xps);
    if (!xps) return ag_tape_set_error(t, AG_ERR_NOMEM, "%s: out of memory", l->desc), NULL;
    ag_tensor **outs[2] = {xps + n, xps + 2 * n};
    int ok = 1;
    for (int k = 0; k < l->layers && ok; k++) {
        for (int d = 0; d < l->dirs && ok; d++) {
            const int i = k * l->dirs + d;
            hl[i] = state_at(t, h0, i, bh, dt);
            cl[i] = l->kind == K_LSTM ? state_at(t, c0, i, bh, dt) : NULL;
            ok = run_direction(l, t, &l->p[i], d, seq, xps, outs[d], &hl[i], &cl[i]);
        }
        if (ok) ok = (seq = layer_output(l, t, k, (int)n, outs[0],
                                         l->dirs == 2 ? outs[1] : NULL)) != NULL;
    }
    free(xps);
    return ok ? seq : NULL;
}

/* ag_stack of the n final states, squeezed to [n, H] when unbatched. */
static ag_tensor *final_states(ag_tape *t, int n, ag_tensor *const *s, int batched)
{
    ag_tensor *y = ag_stack(t, n, s, 0);
    return batched ? y : ag_squeeze(t, y, 1);
}

/* The checked forward: y, h_n and c_n (c_n NULL but for LSTM). */
static int seq_run(const rnn_seq *l, ag_tape *t, ag_tensor *x, ag_tensor *h0, ag_tensor *c0,
                   ag_tensor **out, ag_tensor **hn, ag_tensor **cn)
{
    int64_t st[3];
    int nd;
    if (!check_seq_inputs(l, t, x, h0, c0, st, &nd)) return 0;
    const int batched = nd == 3, n = (int)st[0];
    ag_tensor **hl = calloc(2 * (size_t)n, sizeof *hl), **cl = hl + n;
    if (!hl) return ag_tape_set_error(t, AG_ERR_NOMEM, "%s: out of memory", l->desc), 0;
    ag_tensor *seq = !batched ? ag_unsqueeze(t, x, 1) : l->batch_first ? ag_transpose(t, x, 0, 1)
                                                                       : x;
    if (!batched) h0 = h0 ? ag_unsqueeze(t, h0, 1) : NULL, c0 = c0 ? ag_unsqueeze(t, c0, 1) : NULL;
    ag_tensor *y = run_layers(l, t, seq, h0, c0, hl, cl);
    *out = !batched ? ag_squeeze(t, y, 1) : l->batch_first ? ag_transpose(t, y, 0, 1) : y;
    *hn = final_states(t, n, hl, batched);
    *cn = l->kind == K_LSTM ? final_states(t, n, cl, batched) : NULL;
    free(hl);
    return ag_tape_status(t) == AG_OK;
}

ag_status ag_rnn_forward(ag_module *m, ag_tape *t, ag_tensor *x, ag_tensor *h0, ag_tensor *c0,
                         ag_tensor **y, ag_tensor **h_n, ag_tensor **c_n)
{
    ag_tensor *out = NULL, *hn = NULL, *cn = NULL;
    if (y) *y = NULL;
    if (h_n) *h_n = NULL;
    if (c_n) *c_n = NULL;
    if (!t) return ag_set_last_error(AG_ERR_ARG, "ag_rnn_forward: tape is NULL");
    if (ag_tape_status(t) != AG_OK) return ag_tape_status(t);
    if (!is_seq(m))
        return ag_tape_set_error(t, AG_ERR_ARG, "ag_rnn_forward: the module is %s, not an RNN, "
                                 "LSTM or GRU",
                                 m && m->ops && m->ops->type ? m->ops->type : "NULL or untyped");
    if (!seq_run((rnn_seq *)m, t, x, h0, c0, &out, &hn, &cn)) return ag_tape_status(t);
    if (y) *y = out;
    if (h_n) *h_n = hn;
    if (c_n) *c_n = cn;
    return AG_OK;
}

static ag_tensor *seq_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    ag_tensor *y = NULL;
    if (!t) return ag_set_last_error(AG_ERR_ARG, "%s: tape is NULL", ((rnn_seq *)m)->desc), NULL;
    return ag_rnn_forward(m, t, x, NULL, NULL, &y, NULL, NULL) == AG_OK ? y : NULL;
}

static void seq_destroy(ag_module *m)
{
    free(((rnn_seq *)m)->p);
    free(m);
}

static const ag_module_ops rnn_ops = {"RNN", seq_forward, seq_destroy};
static const ag_module_ops lstm_ops = {"LSTM", seq_forward, seq_destroy};
static const ag_module_ops gru_ops = {"GRU", seq_forward, seq_destroy};

/* The description as PyTorch prints the module ("LSTM(3, 4, num_layers=2)"). */
static void seq_describe(rnn_seq *l, int bias)
{
    char extra[128] = "";
    int n = 0;
    if (l->layers != 1) n += snprintf(extra + n, sizeof extra - (size_t)n, ", num_layers=%d",
                                      l->layers);
    if (l->kind == K_RNN_RELU) n += snprintf(extra + n, sizeof extra - (size_t)n,
                                             ", nonlinearity=relu");
    if (!bias) n += snprintf(extra + n, sizeof extra - (size_t)n, ", bias=False");
    if (l->batch_first) n += snprintf(extra + n, sizeof extra - (size_t)n, ", batch_first=True");
    if (l->dropout > 0) n += snprintf(extra + n, sizeof extra - (size_t)n, ", dropout=%g",
                                      l->dropout);
    if (l->dirs == 2) snprintf(extra + n, sizeof extra - (size_t)n, ", bidirectional=True");
    snprintf(l->desc, sizeof l->desc, "%s(%lld, %lld%s)", kind_name(l->kind),
             (long long)l->input, (long long)l->hidden, extra);
}

static ag_module *seq_new(const char *who, const ag_module_ops *ops, rnn_kind k, int64_t in,
                          int64_t hid, int layers, int bias, int batch_first, double dropout,
                          int bidirectional, ag_dtype dt, ag_rng *rng)
{
    if (check_new(who, in, hid, layers, dropout, dt, rng) != AG_OK) return NULL;
    rnn_seq *l = agn_alloc(sizeof *l, ops, who);
    if (!l) return NULL;
    l->kind = k;
    l->input = in;
    l->hidden = hid;
    l->layers = layers;
    l->dirs = bidirectional ? 2 : 1;
    l->batch_first = batch_first != 0;
    l->dropout = dropout;
    l->rng = rng;
    seq_describe(l, bias);
    l->p = calloc((size_t)layers * (size_t)l->dirs, sizeof *l->p);
    int ok = l->p != NULL;
    if (!ok) ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", who);
    for (int i = 0; ok && i < layers * l->dirs; i++) {
        char suffix[32];
        snprintf(suffix, sizeof suffix, "_l%d%s", i / l->dirs, i % l->dirs ? "_reverse" : "");
        ok = add_params(&l->base, &l->p[i], k, i < l->dirs ? in : hid * l->dirs, hid, bias,
                        suffix, dt, rng);
    }
    if (!ok) {
        ag_module_free(&l->base);
        return NULL;
    }
    return &l->base;
}

ag_module *ag_rnn_new(int64_t input_size, int64_t hidden_size, int num_layers,
                      const char *nonlinearity, int bias, int batch_first, double dropout,
                      int bidirectional, ag_dtype dt, ag_rng *rng)
{
    int k = nonlinearity_kind("ag_rnn_new", nonlinearity);
    if (k < 0) return NULL;
    return seq_new("ag_rnn_new", &rnn_ops, (rnn_kind)k, input_size, hidden_size, num_layers,
                   bias, batch_first, dropout, bidirectional, dt, rng);
}

ag_module *ag_lstm_new(int64_t input_size, int64_t hidden_size, int num_layers, int bias,
                       int batch_first, double dropout, int bidirectional, ag_dtype dt,
                       ag_rng *rng)
{
    return seq_new("ag_lstm_new", &lstm_ops, K_LSTM, input_size, hidden_size, num_layers, bias,
                   batch_first, dropout, bidirectional, dt, rng);
}

ag_module *ag_gru_new(int64_t input_size, int64_t hidden_size, int num_layers, int bias,
                      int batch_first, double dropout, int bidirectional, ag_dtype dt,
                      ag_rng *rng)
{
    return seq_new("ag_gru_new", &gru_ops, K_GRU, input_size, hidden_size, num_layers, bias,
                   batch_first, dropout, bidirectional, dt, rng);
}
