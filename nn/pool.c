/*
** pool.c: the pooling layers MaxPool2d, AvgPool2d and AdaptiveAvgPool2d,
** each one op of ag_pool.h (no tensors). The constructors check what
** does not depend on the input; the ops check the rest at each forward.
*/
#include "layers_util.h"

typedef enum pool_kind { POOL_MAX, POOL_AVG, POOL_ADAPTIVE } pool_kind;

typedef struct pool_layer {
    ag_module base;
    pool_kind kind;
    int64_t kh, kw;                     /* kernel, or the adaptive output size */
    ag_pool2d_opts opts;
    char desc[AGN_DESC_LEN];
} pool_layer;

static ag_tensor *pool_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    pool_layer *p = (pool_layer *)m;
    if (!x) return ag_tape_set_error(t, AG_ERR_ARG, "%s: x is NULL", p->desc), NULL;
    if (p->kind == POOL_MAX) return ag_max_pool2d(t, x, p->kh, p->kw, &p->opts);
    if (p->kind == POOL_AVG) return ag_avg_pool2d(t, x, p->kh, p->kw, &p->opts);
    return ag_adaptive_avg_pool2d(t, x, p->kh, p->kw);
}

static const ag_module_ops maxpool_ops = {"MaxPool2d", pool_forward, NULL};
static const ag_module_ops avgpool_ops = {"AvgPool2d", pool_forward, NULL};
static const ag_module_ops adaptive_ops = {"AdaptiveAvgPool2d", pool_forward, NULL};

/* The kernel and the options alone: PyTorch's rules that hold for any x. */
static ag_status check_opts(const char *who, int is_max, int64_t kh, int64_t kw,
                            const ag_pool2d_opts *o)
{
    const int64_t k[2] = {kh, kw};
    if (kh < 1 || kw < 1)
        return ag_set_last_error(AG_ERR_ARG, "%s: kernel %lldx%lld must be at least 1x1", who,
                                 (long long)kh, (long long)kw);
    for (int i = 0; i < 2; i++) {
        if (o->stride[i] < 0 || o->padding[i] < 0 || o->dilation[i] < 0)
            return ag_set_last_error(AG_ERR_ARG, "%s: stride %lldx%lld, padding %lldx%lld and "
                                     "dilation %lldx%lld must be non-negative", who,
                                     (long long)o->stride[0], (long long)o->stride[1],
                                     (long long)o->padding[0], (long long)o->padding[1],
                                     (long long)o->dilation[0], (long long)o->dilation[1]);
        if (o->padding[i] > k[i] / 2)
            return ag_set_last_error(AG_ERR_ARG, "%s: padding %lldx%lld is more than half the "
                                     "kernel %lldx%lld", who, (long long)o->padding[0],
                                     (long long)o->padding[1], (long long)kh, (long long)kw);
    }
    if (is_max && (o->exclude_pad || o->divisor_override))
        return ag_set_last_error(AG_ERR_ARG, "%s: exclude_pad and divisor_override are options "
                                 "of average pooling", who);
    if (!is_max && (o->dilation[0] > 1 || o->dilation[1] > 1 || o->divisor_override < 0))
        return ag_set_last_error(AG_ERR_ARG, "%s: average pooling has no dilation, and "
                                 "divisor_override %lld must be non-negative", who,
                                 (long long)o->divisor_override);
    return AG_OK;
}

/* A pooling layer; desc from its arguments as PyTorch prints them. */
static ag_module *pool_new(const char *who, const ag_module_ops *ops, pool_kind kind,
                           int64_t kh, int64_t kw, const ag_pool2d_opts *opts)
{
    static const ag_pool2d_opts none;
    pool_layer *p = agn_alloc(sizeof *p, ops, who);
    if (!p) return NULL;
    p->kind = kind;
    p->kh = kh, p->kw = kw;
    p->opts = opts ? *opts : none;
    const ag_pool2d_opts *o = &p->opts;
    if (kind == POOL_ADAPTIVE)
        snprintf(p->desc, sizeof p->desc, "AdaptiveAvgPool2d(output_size=(%lld, %lld))",
                 (long long)kh, (long long)kw);
    else
        snprintf(p->desc, sizeof p->desc, "%s(kernel_size=(%lld, %lld), stride=(%lld, %lld), "
                 "padding=(%lld, %lld))", ops->type, (long long)kh, (long long)kw,
                 (long long)(o->stride[0] ? o->stride[0] : kh),
                 (long long)(o->stride[1] ? o->stride[1] : kw), (long long)o->padding[0],
                 (long long)o->padding[1]);
    return &p->base;
}

ag_module *ag_maxpool2d_new(int64_t kernel_h, int64_t kernel_w, const ag_pool2d_opts *opts)
{
    static const ag_pool2d_opts none;
    if (check_opts("ag_maxpool2d_new", 1, kernel_h, kernel_w, opts ? opts : &none) != AG_OK)
        return NULL;
    return pool_new("ag_maxpool2d_new", &maxpool_ops, POOL_MAX, kernel_h, kernel_w, opts);
}

ag_module *ag_avgpool2d_new(int64_t kernel_h, int64_t kernel_w, const ag_pool2d_opts *opts)
{
    static const ag_pool2d_opts none;
    if (check_opts("ag_avgpool2d_new", 0, kernel_h, kernel_w, opts ? opts : &none) != AG_OK)
        return NULL;
    return pool_new("ag_avgpool2d_new", &avgpool_ops, POOL_AVG, kernel_h, kernel_w, opts);
}

ag_module *ag_adaptive_avgpool2d_new(int64_t out_h, int64_t out_w)
{
    if (out_h < 1 || out_w < 1)
        return ag_set_last_error(AG_ERR_ARG, "ag_adaptive_avgpool2d_new: output size %lldx%lld "
                                 "must be at least 1x1", (long long)out_h, (long long)out_w),
               NULL;
    return pool_new("ag_adaptive_avgpool2d_new", &adaptive_ops, POOL_ADAPTIVE, out_h, out_w,
                    NULL);
}
