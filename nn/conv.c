/*
** conv.c: the convolution layers of ag_conv_layers.h (Conv1d, Conv2d,
** ConvTranspose1d, ConvTranspose2d): a module each over the op of ag_conv.h,
** with PyTorch's tensor names, layout, default init and description. The
** options are checked at construction, as PyTorch does, so a bad layer
** never exists. Public API only.
*/
#include "layers_util.h"

#include <math.h>

#define CONV_DESC_LEN 224

typedef struct conv_layer {
    ag_module base;
    int nsp;                            /* spatial axes: 1 or 2 */
    int transposed;
    int64_t in, out;
    ag_conv_opts opts;                  /* a copy of the caller's */
    ag_tensor *weight, *bias;           /* registered; bias may be NULL */
    char desc[CONV_DESC_LEN];
} conv_layer;

typedef ag_tensor *(*conv_op)(ag_tape *, ag_tensor *, ag_tensor *, ag_tensor *,
                              const ag_conv_opts *);

/* y = the layer's op on x [N, in, ...] or [in, ...]. */
static ag_tensor *conv_layer_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    static const conv_op ops[2][2] = {{ag_conv1d, ag_conv2d},
                                      {ag_conv_transpose1d, ag_conv_transpose2d}};
    conv_layer *l = (conv_layer *)m;
    char s[128];
    if (!agn_check_input(t, l->desc, x, ag_tensor_dtype(l->weight), l->nsp + 1)) return NULL;
    const int nd = ag_tensor_ndim(x);
    if (nd > l->nsp + 2) {
        ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x is %s, expected %dD (unbatched) or %dD "
                          "(batched)", l->desc, agn_shape_str(x, s, sizeof s), l->nsp + 1,
                          l->nsp + 2);
        return NULL;
    }
    const int64_t c = ag_tensor_shape(x)[nd - l->nsp - 1];
    if (c != l->in) {
        ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x has %lld channels, expected %lld (x is %s)",
                          l->desc, (long long)c, (long long)l->in, agn_shape_str(x, s, sizeof s));
        return NULL;
    }
    return ops[l->transposed][l->nsp - 1](t, x, l->weight, l->bias, &l->opts);
}

static const ag_module_ops conv_ops[2][2] = {
    {{"Conv1d", conv_layer_forward, NULL}, {"Conv2d", conv_layer_forward, NULL}},
    {{"ConvTranspose1d", conv_layer_forward, NULL}, {"ConvTranspose2d", conv_layer_forward, NULL}},
};

/* ----------------------------------------------------------- options --- */

/* An option's effective entries (zeros read as dflt) as PyTorch prints a
   tuple: "(3, 3)", or "(3,)" in 1-D. */
static const char *tuple_str(const int64_t *v, int nsp, int64_t dflt, char *buf, size_t size)
{
    const long long a = v[0] ? v[0] : dflt;
    if (nsp == 2)
        snprintf(buf, size, "(%lld, %lld)", a, (long long)(v[1] ? v[1] : dflt));
    else
        snprintf(buf, size, "(%lld,)", a);
    return buf;
}

/* 1 if any of the nsp entries of v is not 0. */
static int any_set(const int64_t *v, int nsp) { return v[0] || (nsp == 2 && v[1]); }

/* 1 if a stride or dilation entry (0 meaning 1) is above 1. */
static int any_above_one(const int64_t *v, int nsp) { return v[0] > 1 || (nsp == 2 && v[1] > 1); }

/* AG_OK if the options fit a layer of this kind; else AG_ERR_ARG naming who. */
static ag_status conv_check_opts(const char *who, int nsp, int transposed, const ag_conv_opts *o)
{
    const int kind = (int)o->padding_kind;
    if (nsp == 1 && (o->stride[1] || o->padding[1] || o->dilation[1] || o->output_padding[1]))
        return ag_set_last_error(AG_ERR_ARG, "%s: a 1-D layer reads entry [0] of each option; "
                                 "entry [1] must be 0", who);
    for (int a = 0; a < nsp; a++)
        if (o->stride[a] < 0 || o->padding[a] < 0 || o->dilation[a] < 0 ||
            o->output_padding[a] < 0 || o->groups < 0)
            return ag_set_last_error(AG_ERR_ARG, "%s: stride, padding, dilation, groups and "
                                     "output_padding must be >= 0 (0: the default)", who);
    if (kind < AG_CONV_PADDING_EXPLICIT || kind > AG_CONV_PADDING_VALID)
        return ag_set_last_error(AG_ERR_ARG, "%s: unknown padding_kind %d", who, kind);
    if (kind && (transposed || any_set(o->padding, nsp)))
        return ag_set_last_error(AG_ERR_ARG, "%s: padding \"%s\" is for convolutions without "
                                 "explicit padding only", who, kind == 1 ? "same" : "valid");
    if (kind == AG_CONV_PADDING_SAME && any_above_one(o->stride, nsp))
        return ag_set_last_error(AG_ERR_ARG, "%s: padding \"same\" is not supported for strided "
                                 "convolutions", who);
    if (!transposed && any_set(o->output_padding, nsp))
        return ag_set_last_error(AG_ERR_ARG, "%s: output_padding is for transposed "
                                 "convolutions only", who);
    for (int a = 0; a < nsp; a++) {
        const int64_t s = o->stride[a] ? o->stride[a] : 1, d = o->dilation[a] ? o->dilation[a] : 1;
        if (o->output_padding[a] >= s && o->output_padding[a] >= d)
            return ag_set_last_error(AG_ERR_ARG, "%s: output padding must be smaller than "
                                     "either stride or dilation", who);
    }
    return AG_OK;
}

/* AG_OK if channels, groups and kernel fit; else AG_ERR_ARG naming who. */
static ag_status conv_check_sizes(const char *who, int nsp, int64_t in, int64_t out,
                                  const int64_t *k, int64_t groups)
{
    if (in < 1 || out < 1)
        return ag_set_last_error(AG_ERR_ARG, "%s: in_channels %lld and out_channels %lld must "
                                 "be >= 1", who, (long long)in, (long long)out);
    for (int a = 0; a < nsp; a++)
        if (k[a] < 1)
            return ag_set_last_error(AG_ERR_ARG, "%s: kernel_size %lld must be >= 1", who,
                                     (long long)k[a]);
    if (in % groups || out % groups)
        return ag_set_last_error(AG_ERR_ARG, "%s: groups %lld must divide in_channels %lld and "
                                 "out_channels %lld", who, (long long)groups, (long long)in,
                                 (long long)out);
    return AG_OK;
}

/* The layer's description, as PyTorch's repr of the same module. */
static void conv_describe(conv_layer *l, const char *type, const int64_t *k)
{
    const ag_conv_opts *o = &l->opts;
    char b[4][48];
    int n = snprintf(l->desc, sizeof l->desc, "%s(%lld, %lld, kernel_size=%s, stride=%s", type,
                     (long long)l->in, (long long)l->out, tuple_str(k, l->nsp, 1, b[0], 48),
                     tuple_str(o->stride, l->nsp, 1, b[1], 48));
    if (o->padding_kind || any_set(o->padding, l->nsp))
        n += snprintf(l->desc + n, sizeof l->desc - (size_t)n, ", padding=%s",
                      o->padding_kind == AG_CONV_PADDING_SAME ? "same"
                      : o->padding_kind == AG_CONV_PADDING_VALID
                          ? "valid" : tuple_str(o->padding, l->nsp, 0, b[2], 48));
    if (any_above_one(o->dilation, l->nsp))
        n += snprintf(l->desc + n, sizeof l->desc - (size_t)n, ", dilation=%s",
                      tuple_str(o->dilation, l->nsp, 1, b[3], 48));
    if (any_set(o->output_padding, l->nsp))
        n += snprintf(l->desc + n, sizeof l->desc - (size_t)n, ", output_padding=%s",
                      tuple_str(o->output_padding, l->nsp, 0, b[2], 48));
    if (o->groups > 1)
        n += snprintf(l->desc + n, sizeof l->desc - (size_t)n, ", groups=%lld",
                      (long long)o->groups);
    snprintf(l->desc + n, sizeof l->desc - (size_t)n, "%s)", l->bias ? "" : ", bias=False");
}

/* ------------------------------------------------------ construction --- */

/* weight (and bias) made, registered and drawn from rng as PyTorch's
   reset_parameters (zeros when rng is NULL): AG_OK or an error with
   ag_last_error() set. */
static ag_status conv_params(conv_layer *l, const int64_t *k, int bias, ag_dtype dt, ag_rng *rng)
{
    const int64_t groups = l->opts.groups ? l->opts.groups : 1;
    int64_t shape[4] = {l->transposed ? l->in : l->out, (l->transposed ? l->out : l->in) / groups,
                        k[0], l->nsp == 2 ? k[1] : 0}, fan_in = 0;
    l->weight = ag_zeros(NULL, dt, l->nsp + 2, shape);
    ag_status s = ag_module_add_param(&l->base, "weight", l->weight);
    if (s == AG_OK && rng)              /* no generator: zeros, to be loaded */
        s = ag_init_kaiming_uniform(l->weight, sqrt(5.0), AG_FAN_IN, AG_NL_LEAKY_RELU, rng);
    if (s != AG_OK || !bias) return s;
    l->bias = ag_zeros(NULL, dt, 1, &l->out);
    s = ag_module_add_param(&l->base, "bias", l->bias);
    if (s != AG_OK || !rng) return s;
    s = ag_init_fans(l->weight, &fan_in, NULL);
    return s == AG_OK ? ag_init_uniform_fan_in(l->bias, fan_in, rng) : s;
}

/* Any of the four layers: nsp spatial axes, kernel k[nsp]. */
static ag_module *conv_layer_new(const char *who, int nsp, int transposed, int64_t in,
                                 int64_t out, const int64_t *k, const ag_conv_opts *opts,
                                 int bias, ag_dtype dt, ag_rng *rng)
{
    static const ag_conv_opts defaults;
    const ag_conv_opts *o = opts ? opts : &defaults;
    if (agn_check_dtype(who, dt) != AG_OK || conv_check_opts(who, nsp, transposed, o) != AG_OK ||
        conv_check_sizes(who, nsp, in, out, k, o->groups ? o->groups : 1) != AG_OK)
        return NULL;
    conv_layer *l = agn_alloc(sizeof *l, &conv_ops[transposed][nsp - 1], who);
    if (!l) return NULL;
    *l = (conv_layer){.base = l->base, .nsp = nsp, .transposed = transposed, .in = in,
                      .out = out, .opts = *o};
    if (conv_params(l, k, bias, dt, rng) != AG_OK) {
        ag_module_free(&l->base);
        return NULL;
    }
    conv_describe(l, conv_ops[transposed][nsp - 1].type, k);
    return &l->base;
}

ag_module *ag_conv2d_new(int64_t in_channels, int64_t out_channels,
                         const int64_t kernel_size[2], const ag_conv_opts *opts, int bias,
                         ag_dtype dt, ag_rng *rng)
{
    if (!kernel_size)
        return ag_set_last_error(AG_ERR_ARG, "ag_conv2d_new: kernel_size is NULL"), NULL;
    return conv_layer_new("ag_conv2d_new", 2, 0, in_channels, out_channels, kernel_size, opts,
                          bias, dt, rng);
}

ag_module *ag_conv1d_new(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
                         const ag_conv_opts *opts, int bias, ag_dtype dt, ag_rng *rng)
{
    return conv_layer_new("ag_conv1d_new", 1, 0, in_channels, out_channels, &kernel_size, opts,
                          bias, dt, rng);
}

ag_module *ag_conv_transpose2d_new(int64_t in_channels, int64_t out_channels,
                                   const int64_t kernel_size[2], const ag_conv_opts *opts,
                                   int bias, ag_dtype dt, ag_rng *rng)
{
    if (!kernel_size)
        return ag_set_last_error(AG_ERR_ARG, "ag_conv_transpose2d_new: kernel_size is NULL"),
               NULL;
    return conv_layer_new("ag_conv_transpose2d_new", 2, 1, in_channels, out_channels,
                          kernel_size, opts, bias, dt, rng);
}

ag_module *ag_conv_transpose1d_new(int64_t in_channels, int64_t out_channels,
                                   int64_t kernel_size, const ag_conv_opts *opts, int bias,
                                   ag_dtype dt, ag_rng *rng)
{
    return conv_layer_new("ag_conv_transpose1d_new", 1, 1, in_channels, out_channels,
                          &kernel_size, opts, bias, dt, rng);
}
