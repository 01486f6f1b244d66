/*
** activation_layers.c: the activations as modules: Sigmoid, Tanh, ReLU,
** LeakyReLU, ELU, Softmax, GELU, SiLU, Softsign, Hardtanh, LogSigmoid (no
** parameters; each one op) and PReLU (a learnable slope, composed from
** where/mul).
*/
#include "layers_util.h"

#include <math.h>
#include <string.h>

typedef enum act_kind {
    ACT_SIGMOID, ACT_TANH, ACT_RELU, ACT_LEAKY, ACT_ELU, ACT_SOFTMAX, ACT_GELU,
    ACT_GELU_TANH, ACT_SILU, ACT_SOFTSIGN, ACT_HARDTANH, ACT_LOG_SIGMOID
} act_kind;

typedef struct activation {
    ag_module base;
    act_kind kind;
    double param, param2;               /* LeakyReLU's slope, ELU's alpha,
                                           Hardtanh's min and max */
    int axis;                           /* Softmax's */
    char desc[AGN_DESC_LEN];
} activation;

static ag_tensor *activation_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    activation *a = (activation *)m;
    char s[128];
    if (!x) return ag_tape_set_error(t, AG_ERR_ARG, "%s: x is NULL", a->desc), NULL;
    switch (a->kind) {
    case ACT_SIGMOID: return ag_sigmoid(t, x);
    case ACT_TANH: return ag_tanh(t, x);
    case ACT_RELU: return ag_relu(t, x);
    case ACT_LEAKY: return ag_leaky_relu(t, x, a->param);
    case ACT_ELU: return ag_elu(t, x, a->param);
    case ACT_GELU: return ag_gelu(t, x);
    case ACT_GELU_TANH: return ag_gelu_tanh(t, x);
    case ACT_SILU: return ag_silu(t, x);
    case ACT_SOFTSIGN: return ag_softsign(t, x);
    case ACT_HARDTANH: return ag_hardtanh(t, x, a->param, a->param2);
    case ACT_LOG_SIGMOID: return ag_log_sigmoid(t, x);
    case ACT_SOFTMAX: {
        int nd = ag_tensor_ndim(x), lim = nd > 0 ? nd : 1;
        if (a->axis < -lim || a->axis >= lim)
            return ag_tape_set_error(t, AG_ERR_AXIS, "%s: axis %d is out of range for x %s",
                                     a->desc, a->axis, agn_shape_str(x, s, sizeof s)), NULL;
        return ag_softmax(t, x, a->axis);
    }
    }
    return ag_tape_set_error(t, AG_ERR_ARG, "%s: unknown activation", a->desc), NULL;
}

static const ag_module_ops sigmoid_ops = {"Sigmoid", activation_forward, NULL};
static const ag_module_ops tanh_ops = {"Tanh", activation_forward, NULL};
static const ag_module_ops relu_ops = {"ReLU", activation_forward, NULL};
static const ag_module_ops leaky_ops = {"LeakyReLU", activation_forward, NULL};
static const ag_module_ops elu_ops = {"ELU", activation_forward, NULL};
static const ag_module_ops softmax_ops = {"Softmax", activation_forward, NULL};
static const ag_module_ops gelu_ops = {"GELU", activation_forward, NULL};
static const ag_module_ops silu_ops = {"SiLU", activation_forward, NULL};
static const ag_module_ops softsign_ops = {"Softsign", activation_forward, NULL};
static const ag_module_ops hardtanh_ops = {"Hardtanh", activation_forward, NULL};
static const ag_module_ops log_sigmoid_ops = {"LogSigmoid", activation_forward, NULL};

/* An activation layer of this kind; desc is its description. */
static ag_module *activation_new(const char *who, const ag_module_ops *ops, act_kind kind,
                                 double param, int axis, const char *desc)
{
    activation *a = agn_alloc(sizeof *a, ops, who);
    if (!a) return NULL;
    a->kind = kind;
    a->param = param;
    a->param2 = 0;
    a->axis = axis;
    snprintf(a->desc, sizeof a->desc, "%s", desc);
    return &a->base;
}

ag_module *ag_sigmoid_new(void)
{
    return activation_new("ag_sigmoid_new", &sigmoid_ops, ACT_SIGMOID, 0, 0, "Sigmoid()");
}

ag_module *ag_tanh_new(void)
{
    return activation_new("ag_tanh_new", &tanh_ops, ACT_TANH, 0, 0, "Tanh()");
}

ag_module *ag_relu_new(void)
{
    return activation_new("ag_relu_new", &relu_ops, ACT_RELU, 0, 0, "ReLU()");
}

ag_module *ag_leaky_relu_new(double negative_slope)
{
    char desc[AGN_DESC_LEN];
    if (!isfinite(negative_slope))
        return ag_set_last_error(AG_ERR_ARG, "ag_leaky_relu_new: negative_slope %.17g is not "
                                 "finite", negative_slope), NULL;
    snprintf(desc, sizeof desc, "LeakyReLU(negative_slope=%g)", negative_slope);
    return activation_new("ag_leaky_relu_new", &leaky_ops, ACT_LEAKY, negative_slope, 0, desc);
}

ag_module *ag_elu_new(double alpha)
{
    char desc[AGN_DESC_LEN];
    if (!isfinite(alpha))
        return ag_set_last_error(AG_ERR_ARG, "ag_elu_new: alpha %.17g is not finite", alpha), NULL;
    snprintf(desc, sizeof desc, "ELU(alpha=%g)", alpha);
    return activation_new("ag_elu_new", &elu_ops, ACT_ELU, alpha, 0, desc);
}

ag_module *ag_softmax_new(int axis)
{
    char desc[AGN_DESC_LEN];
    snprintf(desc, sizeof desc, "Softmax(dim=%d)", axis);
    return activation_new("ag_softmax_new", &softmax_ops, ACT_SOFTMAX, 0, axis, desc);
}

ag_module *ag_gelu_new(const char *approximate)
{
    const int tanh_form = approximate && !strcmp(approximate, "tanh");
    if (approximate && !tanh_form && strcmp(approximate, "none"))
        return ag_set_last_error(AG_ERR_ARG, "ag_gelu_new: approximate '%s' is not 'none' "
                                 "or 'tanh'", approximate), NULL;
    return activation_new("ag_gelu_new", &gelu_ops, tanh_form ? ACT_GELU_TANH : ACT_GELU, 0,
                          0, tanh_form ? "GELU(approximate='tanh')" : "GELU(approximate='none')");
}

ag_module *ag_silu_new(void)
{
    return activation_new("ag_silu_new", &silu_ops, ACT_SILU, 0, 0, "SiLU()");
}

ag_module *ag_softsign_new(void)
{
    return activation_new("ag_softsign_new", &softsign_ops, ACT_SOFTSIGN, 0, 0, "Softsign()");
}

ag_module *ag_hardtanh_new(double min_val, double max_val)
{
    char desc[AGN_DESC_LEN];
    if (!(min_val < max_val))
        return ag_set_last_error(AG_ERR_ARG, "ag_hardtanh_new: min_val %g must be below "
                                 "max_val %g", min_val, max_val), NULL;
    snprintf(desc, sizeof desc, "Hardtanh(min_val=%g, max_val=%g)", min_val, max_val);
    ag_module *m = activation_new("ag_hardtanh_new", &hardtanh_ops, ACT_HARDTANH, min_val, 0,
                                  desc);
    if (m) ((activation *)m)->param2 = max_val;
    return m;
}

ag_module *ag_log_sigmoid_new(void)
{
    return activation_new("ag_log_sigmoid_new", &log_sigmoid_ops, ACT_LOG_SIGMOID, 0, 0,
                          "LogSigmoid()");
}

/* ------------------------------------------------------------- PReLU --- */

typedef struct prelu {
    ag_module base;
    int64_t num;
    ag_tensor *weight;                  /* [num], registered */
    char desc[AGN_DESC_LEN];
} prelu;

/* The slope shaped to broadcast against x: a scalar for one slope, else
   [C, 1, ..., 1] lined up with x's channel axis. NULL with the error on t. */
static ag_tensor *slope_for(prelu *p, ag_tape *t, const ag_tensor *x)
{
    char s[128];
    int nd = ag_tensor_ndim(x);
    if (p->num == 1) return ag_reshape(t, p->weight, 0, NULL);
    int axis = nd >= 2 ? 1 : 0;
    if (nd == 0 || ag_tensor_shape(x)[axis] != p->num)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x %s has %lld channels on axis %d, "
                                 "expected %lld", p->desc, agn_shape_str(x, s, sizeof s),
                                 nd ? (long long)ag_tensor_shape(x)[axis] : 0LL, axis,
                                 (long long)p->num), NULL;
    int64_t shape[AG_MAX_DIMS];
    shape[0] = p->num;
    for (int d = 1; d < nd - axis; d++) shape[d] = 1;
    return ag_reshape(t, p->weight, nd - axis, shape);
}

/* y = x > 0 ? x : a * x (so dy/dx = a at 0, as PyTorch). */
static ag_tensor *prelu_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    prelu *p = (prelu *)m;
    if (!agn_check_input(t, p->desc, x, ag_tensor_dtype(p->weight), 0)) return NULL;
    ag_tensor *a = slope_for(p, t, x);
    return ag_where(t, ag_gt_scalar(t, x, 0), x, ag_mul(t, a, x));
}

static const ag_module_ops prelu_ops = {"PReLU", prelu_forward, NULL};

ag_module *ag_prelu_new(int64_t num_parameters, double init, ag_dtype dt)
{
    const char *who = "ag_prelu_new";
    if (agn_check_dtype(who, dt) != AG_OK) return NULL;
    if (num_parameters < 1 || !isfinite(init))
        return ag_set_last_error(AG_ERR_ARG, "%s: num_parameters %lld must be >= 1 and init "
                                 "%.17g finite", who, (long long)num_parameters, init), NULL;
    prelu *p = agn_alloc(sizeof *p, &prelu_ops, who);
    if (!p) return NULL;
    p->num = num_parameters;
    snprintf(p->desc, sizeof p->desc, "PReLU(num_parameters=%lld)", (long long)num_parameters);
    p->weight = ag_full(NULL, dt, 1, (int64_t[]){num_parameters}, init);
    if (ag_module_add_param(&p->base, "weight", p->weight) != AG_OK) {
        ag_module_free(&p->base);
        return NULL;
    }
    return &p->base;
}
