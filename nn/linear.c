/*
** linear.c: the Linear layer, y = x @ weight^T + bias (the op
** ag_linear), with PyTorch's layout ("weight" [out, in], "bias" [out])
** and default init.
*/
#include "layers_util.h"

#include <math.h>

typedef struct linear {
    ag_module base;
    int64_t in, out;
    ag_tensor *weight, *bias;           /* registered; bias may be NULL */
    char desc[AGN_DESC_LEN];
} linear;

/* x [..., in] -> [..., out]: one fused op (ag_linear), any leading dims. */
static ag_tensor *linear_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    linear *l = (linear *)m;
    char s[128];
    if (!agn_check_input(t, l->desc, x, ag_tensor_dtype(l->weight), 1)) return NULL;
    if (ag_tensor_dim(x, -1) != l->in) {
        ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x's last dim is %lld, expected %lld (x is %s)",
                          l->desc, (long long)ag_tensor_dim(x, -1), (long long)l->in,
                          agn_shape_str(x, s, sizeof s));
        return NULL;
    }
    return ag_linear(t, x, l->weight, l->bias);
}

static const ag_module_ops linear_ops = {"Linear", linear_forward, NULL};

ag_module *ag_linear_new(int64_t in_features, int64_t out_features, int bias, ag_dtype dt,
                         ag_rng *rng)
{
    const char *who = "ag_linear_new";
    if (agn_check_dtype(who, dt) != AG_OK) return NULL;
    if (in_features < 0 || out_features < 0)
        return ag_set_last_error(AG_ERR_ARG, "%s: in_features %lld and out_features %lld "
                                 "must be >= 0", who, (long long)in_features,
                                 (long long)out_features), NULL;
    linear *l = agn_alloc(sizeof *l, &linear_ops, who);
    if (!l) return NULL;
    l->in = in_features;
    l->out = out_features;
    snprintf(l->desc, sizeof l->desc, "Linear(in_features=%lld, out_features=%lld)",
             (long long)in_features, (long long)out_features);
    l->weight = ag_zeros(NULL, dt, 2, (int64_t[]){out_features, in_features});
    if (ag_module_add_param(&l->base, "weight", l->weight) != AG_OK) goto fail;
    if (rng && ag_init_kaiming_uniform(l->weight, sqrt(5.0), AG_FAN_IN, AG_NL_LEAKY_RELU,
                                       rng) != AG_OK)
        goto fail;
    if (bias) {
        l->bias = ag_zeros(NULL, dt, 1, (int64_t[]){out_features});
        if (ag_module_add_param(&l->base, "bias", l->bias) != AG_OK) goto fail;
        if (rng && ag_init_uniform_fan_in(l->bias, in_features, rng) != AG_OK) goto fail;
    }
    return &l->base;
fail:
    ag_module_free(&l->base);
    return NULL;
}
