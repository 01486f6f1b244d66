/*
** conv.c: the convolution ops of ag_conv.h: conv1d/2d, conv_transpose1d/2d,
** unfold and fold: their options, shapes and errors, their nodes and
** backward rules. The kernels are in conv_kernel.c.
**
** Three ops close under differentiation (conv_internal.h has the "big"
** and "small" grids they map between):
**   conv       y = conv(x, w) + b       big -> small
**   transpose  y = conv_T(x, w) + b     small -> big
**   wgrad      W = wgrad(X, G)          big x small -> a weight
** All three are bilinear in their two tensors, and each one's partial
** derivatives are the other two: conv's dx is conv_T(dy, w) and its dw
** wgrad(x, dy); conv_T's dx is conv(dy, w) and its dw wgrad(dy, x);
** wgrad's dX is conv_T(G, dW) and its dG conv(X, dW). So every order of
** derivative is again these ops. The bias's gradient is dy summed over
** the batch and the grid (ag_sum). unfold and fold are each other's
** adjoint, and so each other's backward.
**
** Internally every op takes the output grid explicitly and the padding
** before each axis only: "same" padding, whose extra zero goes after,
** and conv's input gradient (whose size several inputs share) both need
** nothing more.
*/
#include "ag_ops_internal.h"
#include "ag_binary.h"
#include "ag_conv.h"
#include "ag_reduce.h"
#include "ag_shape.h"
#include "conv_internal.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------- checked arithmetic --- */

/* Products of sizes go through agi_mul (ag_internal.h); sums through: */

/* a + b for a, b >= 0; -1 when it overflows. */
static int64_t conv_add(int64_t a, int64_t b)
{
    if (a < 0 || b < 0 || b > INT64_MAX - a) return -1;
    return a + b;
}

/* d * (k - 1) + 1, the extent of a dilated kernel; -1 on overflow. */
static int64_t conv_span(int64_t d, int64_t k)
{
    int64_t e = agi_mul(d, k - 1);
    return e < 0 ? -1 : conv_add(e, 1);
}

/* ----------------------------------------------------- the three ops --- */

enum { CONV_FWD, CONV_TR, CONV_WG };

static ag_tensor *conv_make(ag_tape *t, int kind, ag_tensor *a, ag_tensor *bw,
                            ag_tensor *bias, const agi_conv_geom *g, const int64_t *out_sp);

/* db = dy summed over the batch and the grid: [Cout]. */
static ag_tensor *bias_grad(ag_tape *t, ag_tensor *gy, int nsp)
{
    ag_tensor *s = ag_sum(t, gy, 0, 0);                     /* [C, ...grid] */
    for (int i = 0; i < nsp; i++) s = ag_sum(t, s, -1, 0);
    return s;
}

/* y = conv(x, w) + b;  dx += conv_T(dy, w);  dw += wgrad(x, dy);  db += sum dy */
static void conv_fwd_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                              const uint8_t *need)
{
    const agi_conv_geom *g = n->aux;
    ag_tensor *x = n->in[0], *w = n->in[1];
    if (need[0]) gx[0] = conv_make(t, CONV_TR, gy, w, NULL, g, x->shape + 2);
    if (need[1]) gx[1] = conv_make(t, CONV_WG, x, gy, NULL, g, NULL);
    if (n->n_in > 2 && need[2]) gx[2] = bias_grad(t, gy, g->nsp);
}

/* y = conv_T(x, w) + b;  dx += conv(dy, w);  dw += wgrad(dy, x);  db += sum dy */
static void conv_tr_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                             const uint8_t *need)
{
    const agi_conv_geom *g = n->aux;
    ag_tensor *x = n->in[0], *w = n->in[1];
    if (need[0]) gx[0] = conv_make(t, CONV_FWD, gy, w, NULL, g, x->shape + 2);
    if (need[1]) gx[1] = conv_make(t, CONV_WG, gy, x, NULL, g, NULL);
    if (n->n_in > 2 && need[2]) gx[2] = bias_grad(t, gy, g->nsp);
}

/* W = wgrad(X, G);  dX += conv_T(G, dW);  dG += conv(X, dW) */
static void conv_wg_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                             const uint8_t *need)
{
    const agi_conv_geom *g = n->aux;
    ag_tensor *xb = n->in[0], *gs = n->in[1];
    if (need[0]) gx[0] = conv_make(t, CONV_TR, gs, gy, NULL, g, xb->shape + 2);
    if (need[1]) gx[1] = conv_make(t, CONV_FWD, xb, gy, NULL, g, gs->shape + 2);
}

static ag_tensor *conv_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx);

/* [kind][spatial axes - 1] */
static const agi_op op_conv[3][2] = {
    {{"ag_conv1d", conv_fwd_backward, conv_jvp}, {"ag_conv2d", conv_fwd_backward, conv_jvp}},
    {{"ag_conv_transpose1d", conv_tr_backward, conv_jvp},
     {"ag_conv_transpose2d", conv_tr_backward, conv_jvp}},
    {{"ag_conv1d (weight gradient)", conv_wg_backward, conv_jvp},
     {"ag_conv2d (weight gradient)", conv_wg_backward, conv_jvp}},
};

/* A grid (height, width) from nsp spatial sizes: height 1 for 1-D. */
static void conv_grid(const int64_t *sp, int nsp, int64_t grid[2])
{
    grid[0] = nsp == 2 ? sp[0] : 1;
    grid[1] = sp[nsp - 1];
}

/* The sizes of op kind on a (first operand) and bw (second), and the
   result's shape (nsp + 2 dims). */
static void conv_dims(int kind, const ag_tensor *a, const ag_tensor *bw, const agi_conv_geom *g,
                      const int64_t *out_sp, agi_conv_dims *cd, int64_t *shape)
{
    const int nsp = g->nsp;
    *cd = (agi_conv_dims){.g = *g, .dtype = a->dtype, .n = a->shape[0]};
    if (kind == CONV_FWD) {
        cd->cb = a->shape[1], cd->cs = bw->shape[0];
        conv_grid(a->shape + 2, nsp, cd->hb), conv_grid(out_sp, nsp, cd->hs);
    } else if (kind == CONV_TR) {
        cd->cs = a->shape[1], cd->cb = bw->shape[1] * g->groups;
        conv_grid(a->shape + 2, nsp, cd->hs), conv_grid(out_sp, nsp, cd->hb);
    } else {
        cd->cb = a->shape[1], cd->cs = bw->shape[1];
        conv_grid(a->shape + 2, nsp, cd->hb), conv_grid(bw->shape + 2, nsp, cd->hs);
    }
    shape[0] = kind == CONV_WG ? cd->cs : cd->n;
    shape[1] = kind == CONV_WG ? cd->cb / g->groups : kind == CONV_FWD ? cd->cs : cd->cb;
    for (int i = 0; i < nsp; i++)
        shape[2 + i] = kind == CONV_WG ? g->k[2 - nsp + i] : out_sp[i];
}

/* Runs op kind's kernel; 0, or -1 with the error on t. */
static int conv_run_kernel(ag_tape *t, int kind, const agi_conv_dims *cd, const ag_tensor *a,
                           const ag_tensor *bw, const ag_tensor *bias, ag_tensor *y)
{
    const void *bd = bias ? bias->data : NULL;
    if (kind == CONV_FWD) return agi_conv_forward(t, cd, a->data, bw->data, bd, y->data);
    if (kind == CONV_TR) return agi_conv_transpose(t, cd, a->data, bw->data, bd, y->data);
    return agi_conv_wgrad(t, cd, a->data, bw->data, y->data);
}

/*
** Op kind on a and bw (and bias, or NULL), geometry g, the result's grid
** out_sp (CONV_FWD: the small grid; CONV_TR: the big one; CONV_WG: unused,
** the kernel's size is g's). The public constructors have checked every
** shape; the backward rules pass shapes that fit by construction.
*/
static ag_tensor *conv_make(ag_tape *t, int kind, ag_tensor *a, ag_tensor *bw,
                            ag_tensor *bias, const agi_conv_geom *g, const int64_t *out_sp)
{
    const agi_op *op = &op_conv[kind][g->nsp - 1];
    agi_conv_dims cd;
    int64_t shape[4];
    if (!agi_check(t, op->name, "x", a) || !agi_check(t, op->name, "w", bw)) return NULL;
    conv_dims(kind, a, bw, g, out_sp, &cd, shape);
    ag_tensor *y = agi_new(t, op->name, (ag_dtype)a->dtype, g->nsp + 2, shape);
    if (!y || conv_run_kernel(t, kind, &cd, a, bw, bias, y) < 0) return NULL;
    ag_tensor *in[3] = {a, bw, bias};
    agi_node *n = agi_record(t, op, y, bias ? 3 : 2, in);
    if (n) {
        agi_conv_geom *keep = agi_alloc(t, sizeof *keep);
        if (!keep) return NULL;
        *keep = *g;
        n->aux = keep;
    }
    return agi_done(t, op, y);
}

/* All three bilinear: ty = K(ta, w) + K(a, tw) + tb, K the node's op */
static ag_tensor *conv_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    const int kind = (int)((n->op - &op_conv[0][0]) / 2);
    const int64_t *out_sp = kind == CONV_WG ? NULL : n->out->shape + 2;
    ag_tensor *da = conv_make(t, kind, tx[0], n->in[1], n->n_in > 2 ? tx[2] : NULL, n->aux,
                              out_sp);
    ag_tensor *dw = da ? conv_make(t, kind, n->in[0], tx[1], NULL, n->aux, out_sp) : NULL;
    return dw ? ag_add(t, da, dw) : NULL;
}

/* ---------------------------------------------------------- options --- */

/* A public call: its name and kind, the options read. */
typedef struct conv_call {
    const char *fn;
    int nsp;                        /* 1 or 2 */
    int transposed;                 /* conv_transpose */
    int patches;                    /* unfold, fold: no groups, no w */
    agi_conv_geom g;                /* k filled from w (or the kernel argument) */
    int64_t pad_hi[2];              /* padding after each axis */
    int64_t out_pad[2];
    ag_conv_padding kind;
} conv_call;

/* "(a, b)" for 2-D, "a" for 1-D: an option's entries as the call gave them. */
static const char *pair_str(const conv_call *c, const int64_t *v, char *buf)
{
    if (c->nsp == 2)
        snprintf(buf, 48, "(%lld, %lld)", (long long)v[0], (long long)v[1]);
    else
        snprintf(buf, 48, "%lld", (long long)v[0]);
    return buf;
}

/* 1 if opts's entries fit the call; else 0 with AG_ERR_ARG on t. */
static int conv_opts_valid(ag_tape *t, const conv_call *c, const ag_conv_opts *o)
{
    char b1[48], b2[48], b3[48], b4[48];
    if (c->nsp == 1 && (o->stride[1] || o->padding[1] || o->dilation[1] || o->output_padding[1]))
        return agi_fail(t, AG_ERR_ARG, "%s: a 1-D op reads entry [0] of each option; entry [1] "
                        "must be 0: stride[1] %lld, padding[1] %lld, dilation[1] %lld, "
                        "output_padding[1] %lld", c->fn, (long long)o->stride[1],
                        (long long)o->padding[1], (long long)o->dilation[1],
                        (long long)o->output_padding[1]), 0;
    for (int a = 0; a < c->nsp; a++)
        if (o->stride[a] < 0 || o->padding[a] < 0 || o->dilation[a] < 0 ||
            o->output_padding[a] < 0 || o->groups < 0)
            return agi_fail(t, AG_ERR_ARG, "%s: negative option: stride %s, padding %s, "
                            "dilation %s, output_padding %s, groups %lld (each >= 0; a stride, "
                            "dilation or groups of 0 means 1)", c->fn,
                            pair_str(c, o->stride, b1), pair_str(c, o->padding, b2),
                            pair_str(c, o->dilation, b3), pair_str(c, o->output_padding, b4),
                            (long long)o->groups), 0;
    if (o->padding_kind != AG_CONV_PADDING_EXPLICIT && o->padding_kind != AG_CONV_PADDING_SAME &&
        o->padding_kind != AG_CONV_PADDING_VALID)
        return agi_fail(t, AG_ERR_ARG, "%s: unknown padding_kind %d", c->fn,
                        (int)o->padding_kind), 0;
    return 1;
}

/* 1 if the options this kind of call does not take are at their defaults. */
static int conv_opts_fit_call(ag_tape *t, const conv_call *c, const ag_conv_opts *o)
{
    char b1[48], b2[48];
    const int has_op = o->output_padding[0] || o->output_padding[1];
    if (c->patches && (o->groups > 1 || has_op || o->padding_kind))
        return agi_fail(t, AG_ERR_ARG, "%s: takes stride, padding and dilation only: groups "
                        "%lld, output_padding %s, padding_kind %d must be 0", c->fn,
                        (long long)o->groups, pair_str(c, o->output_padding, b1),
                        (int)o->padding_kind), 0;
    if (!c->transposed && has_op)
        return agi_fail(t, AG_ERR_ARG, "%s: output_padding %s is for transposed convolutions "
                        "only", c->fn, pair_str(c, o->output_padding, b1)), 0;
    if (c->transposed && o->padding_kind)
        return agi_fail(t, AG_ERR_ARG, "%s: padding_kind \"%s\" is for convolutions only (as "
                        "in PyTorch); give explicit padding", c->fn,
                        o->padding_kind == AG_CONV_PADDING_SAME ? "same" : "valid"), 0;
    if (o->padding_kind && (o->padding[0] || o->padding[1]))
        return agi_fail(t, AG_ERR_ARG, "%s: padding %s given with padding_kind \"%s\": one or "
                        "the other", c->fn, pair_str(c, o->padding, b1),
                        o->padding_kind == AG_CONV_PADDING_SAME ? "same" : "valid"), 0;
    if (o->padding_kind == AG_CONV_PADDING_SAME && (o->stride[0] > 1 || o->stride[1] > 1))
        return agi_fail(t, AG_ERR_ARG, "%s: padding \"same\" is not supported for strided "
                        "convolutions (stride %s), as in PyTorch", c->fn,
                        pair_str(c, o->stride, b2)), 0;
    return 1;
}

/* An internal pair (height, width) as pair_str shows the option. */
static const char *geom_str(const conv_call *c, const int64_t *v, char *buf)
{
    return pair_str(c, c->nsp == 2 ? v : v + 1, buf);
}

/* 1 if output_padding < stride or < dilation on every axis (PyTorch's rule). */
static int conv_out_pad_valid(ag_tape *t, const conv_call *c)
{
    char b1[48], b2[48], b3[48];
    for (int a = 0; a < c->nsp; a++) {
        const int ax = c->nsp == 2 ? a : 1;
        if (c->out_pad[ax] >= c->g.s[ax] && c->out_pad[ax] >= c->g.d[ax])
            return agi_fail(t, AG_ERR_ARG, "%s: output padding must be smaller than either "
                            "stride or dilation: output_padding %s, stride %s, dilation %s",
                            c->fn, geom_str(c, c->out_pad, b1), geom_str(c, c->g.s, b2),
                            geom_str(c, c->g.d, b3)), 0;
    }
    return 1;
}

/* Reads opts (NULL: the defaults) into c. 1, or 0 with the error on t. */
static int conv_read_opts(ag_tape *t, conv_call *c, const ag_conv_opts *opts)
{
    static const ag_conv_opts defaults;
    const ag_conv_opts *o = opts ? opts : &defaults;
    if (!conv_opts_valid(t, c, o) || !conv_opts_fit_call(t, c, o)) return 0;
    c->g = (agi_conv_geom){.nsp = c->nsp, .k = {1, 1}, .s = {1, 1}, .d = {1, 1},
                           .groups = o->groups ? o->groups : 1};
    c->kind = o->padding_kind;
    for (int a = 0; a < c->nsp; a++) {
        const int ax = c->nsp == 2 ? a : 1;     /* 1-D is the width axis */
        c->g.s[ax] = o->stride[a] ? o->stride[a] : 1;
        c->g.d[ax] = o->dilation[a] ? o->dilation[a] : 1;
        c->g.p[ax] = c->pad_hi[ax] = o->padding[a];
        c->out_pad[ax] = o->output_padding[a];
    }
    return !c->transposed || conv_out_pad_valid(t, c);
}

/* ----------------------------------------------------------- shapes --- */

/* 1 if x, w and b are there, of this tape and of one dtype. */
static int conv_check_tensors(ag_tape *t, const conv_call *c, const ag_tensor *x,
                              const ag_tensor *w, const ag_tensor *b)
{
    if (!agi_check(t, c->fn, "x", x) || !agi_check(t, c->fn, "w", w) ||
        (b && !agi_check(t, c->fn, "b", b)))
        return 0;
    const ag_tensor *odd = w->dtype != x->dtype ? w : b && b->dtype != x->dtype ? b : NULL;
    if (odd)
        return agi_fail(t, AG_ERR_DTYPE, "%s: dtypes differ: x is %s, %s is %s (use ag_cast)",
                        c->fn, agi_dtype_name(x->dtype), odd == w ? "w" : "b",
                        agi_dtype_name(odd->dtype)), 0;
    return 1;
}

/* AG_ERR_SHAPE on t naming c's function, what (printf-style) and the
   shapes of x and w; returns 0. */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
static int conv_shape_fail(ag_tape *t, const conv_call *c, const ag_tensor *x,
                           const ag_tensor *w, const char *fmt, ...)
{
    char what[256], s1[96], s2[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return agi_fail(t, AG_ERR_SHAPE, "%s: %s: x is %s, w is %s", c->fn, what,
                    agi_shape_str(x, s1), agi_shape_str(w, s2)), 0;
}

/* 1 if the dims of x and w fit (ndim, kernel, groups, channels, bias). */
static int conv_check_dims(ag_tape *t, conv_call *c, const ag_tensor *x, const ag_tensor *w,
                           const ag_tensor *b)
{
    const int nsp = c->nsp, batched = x->ndim == nsp + 2;
    const int64_t groups = c->g.groups;
    char s1[96];
    if (x->ndim != nsp + 1 && !batched)
        return conv_shape_fail(t, c, x, w, "x must be %dD (unbatched) or %dD (batched)",
                               nsp + 1, nsp + 2);
    if (w->ndim != nsp + 2) return conv_shape_fail(t, c, x, w, "w must be %dD", nsp + 2);
    for (int a = 0; a < nsp; a++) {
        if (w->shape[2 + a] < 1) return conv_shape_fail(t, c, x, w, "kernel size must be >= 1");
        if (x->shape[x->ndim - nsp + a] < 1)
            return conv_shape_fail(t, c, x, w, "x's spatial sizes must be >= 1 (only the batch "
                                   "and the channels may be 0)");
        c->g.k[nsp == 2 ? a : 1] = w->shape[2 + a];
    }
    const int64_t cin = x->shape[batched];
    if (w->shape[0] < 1 || w->shape[0] % groups || cin % groups)
        return conv_shape_fail(t, c, x, w, "groups %lld must divide the input's %lld channels "
                               "and w's dim 0 (%lld, which must be >= 1)", (long long)groups,
                               (long long)cin, (long long)w->shape[0]);
    const int64_t wout = c->transposed ? agi_mul(w->shape[1], groups) : w->shape[0];
    if (wout < 0) return agi_fail(t, AG_ERR_NOMEM, "%s: the sizes overflow", c->fn), 0;
    const int64_t expect = c->transposed ? w->shape[0] : w->shape[1] * groups;
    if (cin != expect)
        return conv_shape_fail(t, c, x, w, "input has %lld channels but weight expects %lld "
                               "(groups %lld)", (long long)cin, (long long)expect,
                               (long long)groups);
    if (b && (b->ndim != 1 || b->shape[0] != wout))
        return conv_shape_fail(t, c, x, w, "b must be [%lld] (out channels), b is %s",
                               (long long)wout, agi_shape_str(b, s1));
    return 1;
}

/*
** The output size along internal axis ax of an input of size in (conv:
** floor((in + pads - span) / s) + 1; transposed: (in - 1) s - pads + span
** + output_padding), "same" padding settled here. -1 when the kernel is
** larger than the padded input, -2 when the result is < 1, -3 on overflow.
*/
static int64_t conv_out_size(conv_call *c, int ax, int64_t in)
{
    agi_conv_geom *g = &c->g;
    const int64_t span = conv_span(g->d[ax], g->k[ax]);
    if (span < 0) return -3;
    if (c->kind == AG_CONV_PADDING_SAME) {
        g->p[ax] = (span - 1) / 2;
        c->pad_hi[ax] = span - 1 - g->p[ax];
    }
    const int64_t pads = conv_add(g->p[ax], c->pad_hi[ax]);
    if (c->transposed) {
        const int64_t full = conv_add(conv_add(agi_mul(in - 1, g->s[ax]), span), c->out_pad[ax]);
        if (full < 0 || pads < 0) return -3;
        return full - pads < 1 ? -2 : full - pads;
    }
    const int64_t padded = conv_add(in, pads);
    if (padded < 0) return -3;
    return span > padded ? -1 : (padded - span) / g->s[ax] + 1;
}

/* The output's spatial sizes into out_sp; 1, or 0 with the error on t. */
static int conv_out_sizes(ag_tape *t, conv_call *c, const ag_tensor *x, const ag_tensor *w,
                          int64_t *out_sp)
{
    const int64_t *sp = x->shape + x->ndim - c->nsp;
    int64_t bad = 0;
    for (int a = 0; a < c->nsp; a++) {
        out_sp[a] = conv_out_size(c, c->nsp == 2 ? a : 1, sp[a]);
        if (out_sp[a] < 0 && !bad) bad = out_sp[a];
    }
    if (bad == -1)
        return conv_shape_fail(t, c, x, w, "the kernel (dilated) is larger than the padded "
                               "input"), 0;
    if (bad == -2)
        return conv_shape_fail(t, c, x, w, "the output size is too small (< 1)"), 0;
    if (bad == -3)
        return agi_fail(t, AG_ERR_NOMEM, "%s: the sizes overflow", c->fn), 0;
    return 1;
}

/* 1 if one image's patches (K x Ps elements) have a size in bytes. */
static int conv_scratch_fits(ag_tape *t, const conv_call *c, int64_t cb, const int64_t *small)
{
    int64_t n = agi_mul(agi_mul(cb / c->g.groups, agi_mul(c->g.k[0], c->g.k[1])), small[0]);
    if (c->nsp == 2) n = agi_mul(n, small[1]);
    if (n < 0 || n > AG_NUMEL_MAX)
        return agi_fail(t, AG_ERR_NOMEM, "%s: the patches of one image overflow a size",
                        c->fn), 0;
    return 1;
}

/* ----------------------------------------- convolution and transposed --- */

/* A convolution or transposed convolution call c: checks, then the op
   (on x as a batch of one when it is unbatched). */
static ag_tensor *conv_public(ag_tape *t, conv_call *c, ag_tensor *x, ag_tensor *w,
                              ag_tensor *b, const ag_conv_opts *opts)
{
    int64_t out_sp[2];
    if (!conv_check_tensors(t, c, x, w, b) || !conv_read_opts(t, c, opts) ||
        !conv_check_dims(t, c, x, w, b) || !conv_out_sizes(t, c, x, w, out_sp))
        return NULL;
    const int batched = x->ndim == c->nsp + 2;
    const int64_t *in_sp = x->shape + x->ndim - c->nsp;
    const int64_t cb = c->transposed ? w->shape[1] * c->g.groups : x->shape[batched];
    if (!conv_scratch_fits(t, c, cb, c->transposed ? in_sp : out_sp)) return NULL;
    ag_tensor *xb = batched ? x : ag_unsqueeze(t, x, 0);
    ag_tensor *y = conv_make(t, c->transposed ? CONV_TR : CONV_FWD, xb, w, b, &c->g, out_sp);
    return batched || !y ? y : ag_squeeze(t, y, 0);
}

ag_tensor *ag_conv2d(ag_tape *t, ag_tensor *x, ag_tensor *w, ag_tensor *b,
                     const ag_conv_opts *opts)
{
    conv_call c = {.fn = "ag_conv2d", .nsp = 2};
    return conv_public(t, &c, x, w, b, opts);
}

ag_tensor *ag_conv1d(ag_tape *t, ag_tensor *x, ag_tensor *w, ag_tensor *b,
                     const ag_conv_opts *opts)
{
    conv_call c = {.fn = "ag_conv1d", .nsp = 1};
    return conv_public(t, &c, x, w, b, opts);
}

ag_tensor *ag_conv_transpose2d(ag_tape *t, ag_tensor *x, ag_tensor *w, ag_tensor *b,
                               const ag_conv_opts *opts)
{
    conv_call c = {.fn = "ag_conv_transpose2d", .nsp = 2, .transposed = 1};
    return conv_public(t, &c, x, w, b, opts);
}

ag_tensor *ag_conv_transpose1d(ag_tape *t, ag_tensor *x, ag_tensor *w, ag_tensor *b,
                               const ag_conv_opts *opts)
{
    conv_call c = {.fn = "ag_conv_transpose1d", .nsp = 1, .transposed = 1};
    return conv_public(t, &c, x, w, b, opts);
}

/* ------------------------------------------------------ unfold, fold --- */

/* What unfold and fold keep for their backward: the geometry, both grids. */
typedef struct fold_aux {
    agi_conv_geom g;
    int64_t hb[2], hs[2];
} fold_aux;

static ag_tensor *patches_make(ag_tape *t, int fold, ag_tensor *x, const fold_aux *fa);

/* y = unfold(x);  dx += fold(dy) */
static void unfold_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                            const uint8_t *need)
{
    (void)need;
    gx[0] = patches_make(t, 1, gy, n->aux);
}

/* y = fold(x);  dx += unfold(dy) */
static void fold_backward(ag_tape *t, const agi_node *n, ag_tensor *gy, ag_tensor **gx,
                          const uint8_t *need)
{
    (void)need;
    gx[0] = patches_make(t, 0, gy, n->aux);
}

/* ty = unfold(tx) (or fold(tx)) */
static ag_tensor *patches_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx);

static const agi_op op_unfold = {"ag_unfold", unfold_backward, patches_jvp};
static const agi_op op_fold = {"ag_fold", fold_backward, patches_jvp};

static ag_tensor *patches_jvp(ag_tape *t, const agi_node *n, ag_tensor *const *tx)
{
    return patches_make(t, n->op == &op_fold, tx[0], n->aux);
}

/* unfold: x [N,C,Hb,Wb] -> [N, C*kH*kW, Hs*Ws]; fold: the reverse. */
static ag_tensor *patches_make(ag_tape *t, int fold, ag_tensor *x, const fold_aux *fa)
{
    const agi_op *op = fold ? &op_fold : &op_unfold;
    if (!agi_check(t, op->name, "x", x)) return NULL;
    const int64_t kk = fa->g.k[0] * fa->g.k[1];
    agi_conv_dims cd = {.g = fa->g, .dtype = x->dtype, .n = x->shape[0], .cs = 1,
                        .cb = fold ? x->shape[1] / kk : x->shape[1],
                        .hb = {fa->hb[0], fa->hb[1]}, .hs = {fa->hs[0], fa->hs[1]}};
    const int64_t shape[4] = {cd.n, fold ? cd.cb : cd.cb * kk,
                              fold ? cd.hb[0] : cd.hs[0] * cd.hs[1], cd.hb[1]};
    ag_tensor *y = agi_new(t, op->name, (ag_dtype)x->dtype, fold ? 4 : 3, shape);
    if (!y) return NULL;
    if (fold)
        agi_conv_fold(&cd, x->data, y->data);
    else
        agi_conv_unfold(&cd, x->data, y->data);
    agi_node *n = agi_record(t, op, y, 1, &x);
    if (n) {
        fold_aux *keep = agi_alloc(t, sizeof *keep);
        if (!keep) return NULL;
        *keep = *fa;
        n->aux = keep;
    }
    return agi_done(t, op, y);
}

/* Reads the options and the kernel of unfold or fold into c. 1, or 0
   with the error on t. */
static int patches_args(ag_tape *t, conv_call *c, const int64_t *kernel,
                        const ag_conv_opts *opts)
{
    if (!conv_read_opts(t, c, opts)) return 0;
    if (!kernel || kernel[0] < 1 || kernel[1] < 1)
        return agi_fail(t, AG_ERR_ARG, kernel ? "%s: kernel (%lld, %lld): each must be >= 1"
                        : "%s: kernel is NULL", c->fn, kernel ? (long long)kernel[0] : 0LL,
                        kernel ? (long long)kernel[1] : 0LL), 0;
    c->g.k[0] = kernel[0];
    c->g.k[1] = kernel[1];
    return 1;
}

/* The patches' grid fa->hs of the grid fa->hb; 1, or 0 with the error on t
   naming x's shape. */
static int patches_grid(ag_tape *t, conv_call *c, const ag_tensor *x, fold_aux *fa)
{
    char s1[96];
    for (int ax = 0; ax < 2; ax++) {
        fa->hs[ax] = conv_out_size(c, ax, fa->hb[ax]);
        if (fa->hs[ax] == -3) return agi_fail(t, AG_ERR_NOMEM, "%s: the sizes overflow", c->fn), 0;
        if (fa->hs[ax] < 0)
            return agi_fail(t, AG_ERR_SHAPE, "%s: the kernel (%lld, %lld) (dilated) is larger "
                            "than the padded input (%lld, %lld): x is %s", c->fn,
                            (long long)c->g.k[0], (long long)c->g.k[1], (long long)fa->hb[0],
                            (long long)fa->hb[1], agi_shape_str(x, s1)), 0;
    }
    fa->g = c->g;
    return 1;
}

ag_tensor *ag_unfold(ag_tape *t, ag_tensor *x, const int64_t kernel[2],
                     const ag_conv_opts *opts)
{
    conv_call c = {.fn = "ag_unfold", .nsp = 2, .patches = 1};
    fold_aux fa;
    char s1[96];
    if (!agi_check(t, c.fn, "x", x) || !patches_args(t, &c, kernel, opts)) return NULL;
    if (x->ndim != 3 && x->ndim != 4)
        return agi_fail(t, AG_ERR_SHAPE, "%s: x must be 3D (unbatched) or 4D (batched): x is %s",
                        c.fn, agi_shape_str(x, s1));
    fa.hb[0] = x->shape[x->ndim - 2];
    fa.hb[1] = x->shape[x->ndim - 1];
    if (fa.hb[0] < 1 || fa.hb[1] < 1)
        return agi_fail(t, AG_ERR_SHAPE, "%s: x's spatial sizes must be >= 1: x is %s", c.fn,
                        agi_shape_str(x, s1));
    if (!patches_grid(t, &c, x, &fa)) return NULL;
    if (agi_mul(x->shape[x->ndim - 3], agi_mul(c.g.k[0], c.g.k[1])) < 0 ||
        agi_mul(fa.hs[0], fa.hs[1]) < 0)
        return agi_fail(t, AG_ERR_NOMEM, "%s: the sizes overflow", c.fn);
    const int batched = x->ndim == 4;
    ag_tensor *y = patches_make(t, 0, batched ? x : ag_unsqueeze(t, x, 0), &fa);
    return batched || !y ? y : ag_squeeze(t, y, 0);
}

/* 1 if x fits fold's output_size and kernel (c, fa set); else 0 with the
   error on t. */
static int fold_check(ag_tape *t, conv_call *c, const ag_tensor *x, const int64_t *output_size,
                      fold_aux *fa)
{
    char s1[96];
    if (!output_size || output_size[0] < 1 || output_size[1] < 1)
        return agi_fail(t, AG_ERR_ARG, output_size ? "%s: output_size (%lld, %lld): each must "
                        "be >= 1" : "%s: output_size is NULL", c->fn,
                        output_size ? (long long)output_size[0] : 0LL,
                        output_size ? (long long)output_size[1] : 0LL), 0;
    if (x->ndim != 2 && x->ndim != 3)
        return agi_fail(t, AG_ERR_SHAPE, "%s: x must be 2D (unbatched) or 3D (batched): x is %s",
                        c->fn, agi_shape_str(x, s1)), 0;
    const int64_t kk = agi_mul(c->g.k[0], c->g.k[1]), rows = x->shape[x->ndim - 2];
    if (kk < 0) return agi_fail(t, AG_ERR_NOMEM, "%s: the sizes overflow", c->fn), 0;
    if (rows % kk)
        return agi_fail(t, AG_ERR_SHAPE, "%s: x's dim %d (%lld) must be a multiple of kH*kW = "
                        "%lld: x is %s", c->fn, x->ndim - 2, (long long)rows, (long long)kk,
                        agi_shape_str(x, s1)), 0;
    fa->hb[0] = output_size[0];
    fa->hb[1] = output_size[1];
    if (!patches_grid(t, c, x, fa)) return 0;
    if (agi_mul(fa->hs[0], fa->hs[1]) != x->shape[x->ndim - 1])
        return agi_fail(t, AG_ERR_SHAPE, "%s: x has %lld columns but output_size (%lld, %lld) "
                        "gives %lld x %lld sliding blocks: x is %s", c->fn,
                        (long long)x->shape[x->ndim - 1], (long long)fa->hb[0],
                        (long long)fa->hb[1], (long long)fa->hs[0], (long long)fa->hs[1],
                        agi_shape_str(x, s1)), 0;
    return 1;
}

ag_tensor *ag_fold(ag_tape *t, ag_tensor *x, const int64_t output_size[2],
                   const int64_t kernel[2], const ag_conv_opts *opts)
{
    conv_call c = {.fn = "ag_fold", .nsp = 2, .patches = 1};
    fold_aux fa;
    if (!agi_check(t, c.fn, "x", x) || !patches_args(t, &c, kernel, opts) ||
        !fold_check(t, &c, x, output_size, &fa))
        return NULL;
    const int batched = x->ndim == 3;
    ag_tensor *y = patches_make(t, 1, batched ? x : ag_unsqueeze(t, x, 0), &fa);
    return batched || !y ? y : ag_squeeze(t, y, 0);
}
