/*
** fuzz_api_nn.c: the API fuzzer's second table: losses, layers (made at
** the start of a run, some with invalid arguments), optimizer calls,
** gradient clipping, and the calls that are not tensor ops (requires_grad,
** grad and anomaly modes, zero_grad and clear_grad, clear_error, a reset
** in the middle of a sequence, ag_assign, element access, DOT export,
** backward and ag_grad at any point). Those set s->nocheck: the driver's
** per-op error check does not apply to them; they check their own
** contract here.
*/
#include "fuzz_api.h"

#include <limits.h>

static ag_reduction fz_red(fz_api *s)
{
    uint8_t b = fz_u8(&s->in);
    return b < 250 ? (ag_reduction)(b % 4) : (ag_reduction)(4 + b % 4);
}

/* ---------------------------------------------------------------- losses --- */

typedef ag_tensor *(*pair_loss_fn)(ag_tape *, ag_tensor *, ag_tensor *, ag_reduction);

/*
** Known bug (fuzz/crashes/README.md, api-stale-tensor-bce): ag_bce_loss,
** ag_bce_loss_weighted, ag_hinge_loss and Embedding's forward read a
** tensor's values (through ag_tensor_get) before any op has checked it, so
** a tensor from before a coalescing reset is a use-after-free. The ops
** below that may reach them take no stale operand (s->fresh_only) unless
** AG_FUZZ_KNOWN_BUGS=1.
*/
static ag_tensor *op_pair_loss(fz_api *s)
{
    s->fresh_only = 1;
    static const pair_loss_fn fns[] = {ag_mse_loss, ag_l1_loss, ag_bce_loss,
                                       ag_bce_with_logits_loss, ag_hinge_loss, ag_kl_div_loss,
                                       ag_cross_entropy_soft_loss};
    pair_loss_fn f = fns[fz_u8(&s->in) % 7];
    ag_tensor *a = fz_tensor(s), *b = fz_tensor(s);
    return f(s->cur, a, b, fz_red(s));
}

static ag_tensor *op_param_loss(fz_api *s)
{
    s->fresh_only = 1;
    int kind = fz_u8(&s->in) % 4;
    ag_tensor *a = fz_tensor(s), *b = fz_tensor(s), *w = fz_tensor(s), *pw = fz_tensor(s);
    double v = fz_double(&s->in);
    ag_reduction red = fz_red(s);
    if (kind == 0) return ag_huber_loss(s->cur, a, b, v, red);
    if (kind == 1) return ag_smooth_l1_loss(s->cur, a, b, v, red);
    if (kind == 2) return ag_bce_loss_weighted(s->cur, a, b, w, red);
    return ag_bce_with_logits_loss_weighted(s->cur, a, b, w, pw, red);
}

/* Class targets for x: as many as x has rows (every dim but the class
   axis 1), in [-1, C] (C = x's dim 1) mostly. */
static int64_t *class_targets(fz_api *s, const ag_tensor *x, int64_t *classes)
{
    int nd = ag_tensor_ndim(x);
    int64_t rows = 1, c = nd >= 2 ? ag_tensor_dim(x, 1) : nd == 1 ? ag_tensor_dim(x, 0) : 2;
    for (int d = 0; d < nd && nd >= 2; d++)
        if (d != 1) rows *= ag_tensor_dim(x, d);          /* a product of x's dims: fits */
    *classes = c;
    if (rows > 2 * FZ_MAX_NUMEL) return NULL;  /* an empty x of huge rows: no such array */
    int64_t *tg = fz_indices(s, rows > 0 ? rows : 1, fz_rare(&s->in, 8) ? -1 : 0, c - 1);
    return fz_rare(&s->in, 32) ? NULL : tg;
}

static ag_tensor *op_class_loss(fz_api *s)
{
    int kind = fz_u8(&s->in) % 6;
    ag_tensor *x = fz_tensor(s);
    int64_t c;
    int64_t *tg = class_targets(s, x, &c);
    ag_class_loss_opts o = {fz_u8(&s->in) & 1 ? fz_tensor(s) : NULL, fz_u8(&s->in) & 1,
                            (int64_t)(fz_u8(&s->in) % 4) - 1, 0};
    if (fz_u8(&s->in) & 1) o.label_smoothing = fz_double(&s->in);
    ag_reduction red = fz_red(s);
    switch (kind) {
    case 0: return ag_cross_entropy_loss(s->cur, x, tg, red);
    case 1: return ag_cross_entropy_loss_ex(s->cur, x, tg, fz_u8(&s->in) & 1 ? &o : NULL, red);
    case 2: return ag_nll_loss(s->cur, x, tg, red);
    case 3: return ag_nll_loss_ex(s->cur, x, tg, &o, red);
    case 4: return ag_multi_margin_loss(s->cur, x, tg, fz_double(&s->in), red);
    default: return ag_cross_entropy_soft_loss_ex(s->cur, x, fz_tensor(s), &o, red);
    }
}

static ag_tensor *op_penalty(fz_api *s)
{
    ag_tensor *ps[4];
    int n = (int)(fz_u8(&s->in) % 6) - 1;
    for (int i = 0; i < 4; i++) ps[i] = fz_tensor(s);
    return fz_u8(&s->in) & 1 ? ag_l1_penalty(s->cur, n, ps) : ag_l2_penalty(s->cur, n, ps);
}

/* ---------------------------------------------------------------- layers --- */

/* One layer from the input, sometimes with invalid arguments (then NULL
   with ag_last_error() set). */
static ag_module *make_layer(fz_api *s, int depth)
{
    int64_t a = (int64_t)(fz_u8(&s->in) % 6) - 1, b = 1 + fz_u8(&s->in) % 4;
    ag_dtype dt = fz_dtype(s);
    double v = fz_double(&s->in);
    ag_rng *r = fz_u8(&s->in) < 245 ? s->rng : NULL;
    switch (fz_u8(&s->in) % 14) {
    case 0: case 1: return ag_linear_new(a, b, fz_u8(&s->in) & 1, dt, r);
    case 2: return ag_batchnorm1d_new(a, v > 0 ? 1e-5 : v, fz_u8(&s->in) & 1 ? 0.1 : v,
                                      fz_u8(&s->in) & 1, dt);
    case 3: return ag_layernorm_new(a, v > 0 ? 1e-5 : v, fz_u8(&s->in) & 1, dt);
    case 4: return ag_dropout_new(v / 4, r);
    case 5: return ag_embedding_new(a, b, dt, r);
    case 6: return ag_prelu_new(a, v, dt);
    case 7: return ag_sigmoid_new();
    case 8: return ag_tanh_new();
    case 9: return ag_relu_new();
    case 10: return ag_leaky_relu_new(v);
    case 11: return ag_elu_new(v);
    case 12: return ag_softmax_new(fz_axis(s));
    default: break;
    }
    if (depth > 1) return ag_relu_new();
    ag_module *kids[3];
    int n = fz_u8(&s->in) % 4;
    for (int i = 0; i < n; i++) kids[i] = make_layer(s, depth + 1);
    return ag_sequential_new(n, kids);        /* a NULL kid: refused, the others freed */
}

void fz_make_layers(fz_api *s);
void fz_make_layers(fz_api *s)
{
    int n = fz_u8(&s->in) % (FZ_MODS + 1);
    for (int i = 0; i < n; i++) {
        fz_clear_error();
        ag_module *m = make_layer(s, 0);
        FZ_CHECK(m || ag_last_error()[0], "a layer constructor failed with no message");
        if (m) s->mod[s->n_mod++] = m;
    }
}

static ag_module *pick_layer(fz_api *s)
{
    uint8_t b = fz_u8(&s->in);
    return s->n_mod && b < 250 ? s->mod[b % s->n_mod] : NULL;
}

/* Layers that are the identity (Dropout in evaluation, an empty
   Sequential) return x itself, unchecked, as documented: even a tensor of
   another tape or from before a reset comes back with no error (reported
   as a minor deviation). Such a result is neither checked as an op's nor
   stored (x is in its slot already, with its staleness known). */
static ag_tensor *op_forward(fz_api *s)
{
    s->fresh_only = 1;                         /* Embedding: see op_pair_loss */
    ag_module *m = pick_layer(s);
    ag_tensor *x = fz_tensor(s), *y = ag_module_forward(m, s->cur, x);
    if (y && y == x) s->nocheck = 1, y = NULL;
    return y;
}

static ag_tensor *op_embedding_lookup(fz_api *s)
{
    ag_module *m = pick_layer(s);
    int64_t n = (int64_t)(fz_u8(&s->in) % 10) - 1;
    int64_t *idx = fz_indices(s, n > 0 ? n : 0, 0, 4);
    return ag_embedding_lookup(m, s->cur, n == 0 && fz_u8(&s->in) & 1 ? NULL : idx, n);
}

/* A layer's tensor into a slot (through the op result). */
static ag_tensor *op_layer_tensor(fz_api *s)
{
    ag_module *m = pick_layer(s);
    ag_named_tensor list[16];
    int n = ag_module_named_tensors(m, list, 16, 1);
    s->nocheck = 1;
    if (n > 16) n = 16;
    if (fz_u8(&s->in) & 1 && m) ag_module_train(m, fz_u8(&s->in) & 1);
    return n > 0 ? list[fz_u8(&s->in) % n].tensor : NULL;
}

/* ------------------------------------------------------------- optimizer --- */

void fz_make_optim(fz_api *s);
void fz_make_optim(fz_api *s)
{
    ag_tensor *ps[FZ_LEAVES + 4 * FZ_MODS];
    int n = 0;
    for (int i = 0; i < FZ_LEAVES; i++)
        if (s->leaf[i]) ps[n++] = s->leaf[i];
    for (int i = 0; i < s->n_mod; i++) {
        int k = ag_module_parameters(s->mod[i], ps + n, 4);
        n += k < 4 ? k : 4;
    }
    uint8_t kind = fz_u8(&s->in);
    double lr = fz_double(&s->in);
    if (kind % 4 == 0) {
        ag_sgd_opts o = ag_sgd_defaults();
        o.lr = lr, o.momentum = fz_u8(&s->in) & 1 ? 0.9 : 0, o.nesterov = kind >> 2 & 1;
        s->opt = ag_sgd_new(n, ps, &o);
    } else if (kind % 4 == 1) {
        ag_adam_opts o = kind & 4 ? ag_adamw_defaults() : ag_adam_defaults();
        o.lr = lr, o.amsgrad = kind >> 3 & 1;
        s->opt = kind & 4 ? ag_adamw_new(n, ps, &o) : ag_adam_new(n, ps, &o);
    } else if (kind % 4 == 2) {
        ag_rmsprop_opts o = ag_rmsprop_defaults();
        o.lr = lr, o.centered = kind >> 2 & 1, o.momentum = kind & 8 ? 0.5 : 0;
        s->opt = ag_rmsprop_new(n, ps, &o);
    } else {
        ag_adagrad_opts o = ag_adagrad_defaults();
        o.lr = lr;
        s->opt = ag_adagrad_new(n, ps, &o);
    }
}

static ag_tensor *op_optim(fz_api *s)
{
    s->nocheck = 1;
    ag_tensor *ps[FZ_LEAVES];
    for (int i = 0; i < FZ_LEAVES; i++) ps[i] = s->leaf[i];
    int n = fz_u8(&s->in) % (FZ_LEAVES + 1);
    switch (fz_u8(&s->in) % 7) {
    case 0: case 1:
        fz_clear_error();
        if (s->opt) fz_check_error(ag_optim_step(s->opt), "ag_optim_step");
        break;
    case 2:
        if (s->opt && n % 2) ag_optim_clear_grad(s->opt);
        else if (s->opt) ag_optim_zero_grad(s->opt);
        break;
    case 3: if (s->opt) ag_optim_set_lr(s->opt, fz_double(&s->in)); break;
    case 4: ag_clip_grad_norm(n, ps, fz_double(&s->in), fz_double(&s->in), 0, NULL); break;
    case 5: ag_clip_grad_value(n, ps, fz_double(&s->in)); break;
    default:
        if (s->n_mod && n % 2) ag_module_clear_grad(s->mod[fz_u8(&s->in) % s->n_mod]);
        else if (s->n_mod) ag_module_zero_grad(s->mod[fz_u8(&s->in) % s->n_mod]);
        break;
    }
    return NULL;
}

/* ------------------------------------------------------ not tensor ops --- */

static ag_tensor *op_control(fz_api *s)
{
    s->nocheck = 1;
    int stale;
    ag_tensor *x = fz_tensor_ex(s, &stale);
    uint8_t b = fz_u8(&s->in);
    if (stale && fz_avoid_known_bugs() && (b % 10 == 3 || b % 10 == 7))
        return NULL;              /* zero_grad, set: known bug, see op_access */
    switch (b % 10) {
    case 0: ag_set_requires_grad(x, b >> 4 & 1); break;
    case 1: ag_set_grad_enabled(s->t, b >> 4 & 1); break;
    case 2: if (b > 200) ag_set_anomaly(s->t, b & 1); break;
    case 3:
        if (b & 0x80) ag_clear_grad(x);
        else ag_zero_grad(x);
        break;
    case 4: ag_tape_clear_error(s->t); break;
    case 5: if (b > 230) fz_reset(s, s->t); break;       /* slots go stale */
    case 6: {
        ag_tensor *src = fz_tensor(s);
        fz_clear_error();
        fz_check_error(ag_assign(x, src), "ag_assign");
        break;
    }
    case 7: ag_tensor_set(x, (int64_t)fz_u8(&s->in) - 2, fz_double(&s->in)); break;
    case 8: return ag_tensor_grad(x);
    default: {
        char path[128];
        snprintf(path, sizeof path, "%s/tape.dot", fz_dir());
        ag_tape_write_dot(s->t, fz_u8(&s->in) < 250 ? path : "/nonexistent/dir/x.dot");
        ag_tape_clear_error(s->t);
        break;
    }
    }
    return NULL;
}

/*
** Element access on any slot, stale ones included: the manual says using a
** tensor from before a reset is an error, never a use-after-free (a bug
** this target found and that is fixed: fuzz/crashes/README.md). A stale
** tensor reads as 0 and refuses writes with AG_ERR_STATE.
*/
static ag_tensor *op_access(fz_api *s)
{
    s->nocheck = 1;
    int i = fz_u8(&s->in) % FZ_SLOTS;
    ag_tensor *x = s->slot[i];
    if (!x || (fz_slot_stale(s, i) && fz_avoid_known_bugs())) return NULL;
    int64_t k = (int64_t)fz_u8(&s->in) - 4;
    /* (the harness's own idea of staleness can lag the library's, e.g. for
       tensors of a second tape: only the statuses are checked here, the
       memory safety by the sanitizers) */
    int in_range = k >= 0 && k < ag_tensor_numel(x);
    double v = ag_tensor_get(x, k);
    FZ_CHECK(in_range || v == 0, "get out of range gave %g", v);
    ag_status st = ag_tensor_set(x, k, fz_double(&s->in));
    FZ_CHECK(in_range ? (st == AG_OK || st == AG_ERR_STATE) : st == AG_ERR_ARG, "set(%lld): %s",
             (long long)k, ag_status_name(st));
    (void)ag_tensor_dim(x, fz_axis(s));
    return NULL;
}

/* ag_backward on any tensor, at any point of a sequence. */
static ag_tensor *op_backward(fz_api *s)
{
    s->nocheck = 1;
    ag_tensor *loss = fz_tensor(s);
    ag_status before = ag_tape_status(s->t);
    ag_status st = ag_backward(s->t, loss);
    if (before == AG_OK && st != AG_OK)
        FZ_CHECK(ag_tape_status(s->t) == st && ag_tape_errmsg(s->t)[0],
                 "ag_backward returned %s, tape holds %s", ag_status_name(st),
                 ag_status_name(ag_tape_status(s->t)));
    return NULL;
}

/* ag_grad of up to two outputs for up to three inputs; the first grad is
   the result (so later ops build on it: third order and beyond). */
static ag_tensor *op_grad(fz_api *s)
{
    ag_tensor *outs[2], *gouts[2], *ins[3], *grads[3] = {NULL, NULL, NULL};
    int n_out = 1 + (fz_u8(&s->in) & 1), n_in = (int)(fz_u8(&s->in) % 4);
    for (int i = 0; i < 2; i++) outs[i] = fz_tensor(s), gouts[i] = fz_tensor(s);
    for (int i = 0; i < 3; i++) ins[i] = fz_tensor(s);
    int cg = fz_u8(&s->in) & 1, use_gouts = fz_u8(&s->in) & 1;
    ag_status before = ag_tape_status(s->t);
    ag_status st = ag_grad(s->t, n_out, outs, use_gouts ? gouts : NULL, n_in, ins, grads, cg);
    s->nocheck = 1;
    if (before != AG_OK || st != AG_OK) {
        FZ_CHECK(before != AG_OK || (ag_tape_status(s->t) == st && ag_tape_errmsg(s->t)[0]),
                 "ag_grad returned %s, tape holds %s", ag_status_name(st),
                 ag_status_name(ag_tape_status(s->t)));
        return NULL;
    }
    for (int i = 0; i < n_in; i++) {
        FZ_CHECK(grads[i] && ag_tensor_ndim(grads[i]) == ag_tensor_ndim(ins[i]) &&
                     ag_tensor_dtype(grads[i]) == ag_tensor_dtype(ins[i]) &&
                     !memcmp(ag_tensor_shape(grads[i]), ag_tensor_shape(ins[i]),
                             (size_t)ag_tensor_ndim(ins[i]) * sizeof(int64_t)),
                 "ag_grad: grads[%d] does not match its input", i);
        if (ag_tensor_numel(grads[i]))
            (void)ag_tensor_get(grads[i], ag_tensor_numel(grads[i]) - 1);
    }
    return n_in ? grads[0] : NULL;
}

const fz_op fz_nn_ops[] = {
    {"pair_loss", op_pair_loss},   {"param_loss", op_param_loss},
    {"class_loss", op_class_loss}, {"penalty", op_penalty},
    {"forward", op_forward},       {"forward", op_forward},
    {"embedding", op_embedding_lookup}, {"layer_tensor", op_layer_tensor},
    {"optim", op_optim},           {"control", op_control},
    {"control", op_control},       {"backward", op_backward},
    {"grad", op_grad},             {"grad", op_grad},
    {"access", op_access},
};
const int fz_n_nn_ops = (int)(sizeof fz_nn_ops / sizeof fz_nn_ops[0]);
