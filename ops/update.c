/*
** update.c: fused parameter updates (ag_update.h). Adam's step in one
** pass over memory: blocks of UPD_BLOCK elements, each read once, taken
** through the rule in three loops that stay in the L1 cache (the part
** before the square root, the square root, the part after), then written
** once. Each statement mirrors one op of the composed rule
** (optim/adam.c's old path: mul_scalar, addcmul, sqrt, addcdiv, lerp,
** addcdiv) with the same scalars in the same dtype, so the values are the
** same bit for bit; tests/test_update.c checks that.
*/
#include "ag_ops_internal.h"
#include "ag_update.h"

#include <math.h>

#define UPD_BLOCK 128          /* elements: measured best of 64 to 1024 */
/* Least elements per thread when split: Adam moves 28 bytes per element (in
   f32), so as many bytes as AGI_PAR_GRAIN elements of a binary op. */
#define UPD_GRAIN (AGI_PAR_GRAIN / 4)

/* The rule's options, as bits of adam_job.opts. */
enum {
    UPD_MAXIMIZE = 1, UPD_L2 = 2, UPD_AMSGRAD = 4, UPD_LERP_SMALL = 8, UPD_DECOUPLED = 16
};

/* One step's operands and its scalars, converted once per dtype. */
typedef struct adam_job {
    ag_tensor *p, *m, *v, *vmax;
    const ag_tensor *g;
    int opts;                   /* UPD_* */
    double b2, c2, wd, keep, b1w, eps, bc2s, step;
} adam_job;

/*
** The rule over [lo, hi) for element type T and options OPTS. g2 holds
** the gradient as the rule uses it, den the denominator, for one block.
** OPTS is a constant in the common cases (adam_range), which leaves
** loops without tests that the vectorizer takes whole (a fifth faster).
*/
#define ADAM_RANGE(T, J, LO, HI, SQRT, OPTS)                                  \
    do {                                                                      \
        T *p_ = (T *)(J)->p->data, *m_ = (T *)(J)->m->data;                   \
        T *v_ = (T *)(J)->v->data;                                            \
        T *vm_ = (J)->vmax ? (T *)(J)->vmax->data : NULL;                     \
        const T *g_ = (const T *)(J)->g->data;                                \
        const T b2 = (T)(J)->b2, c2 = (T)(J)->c2, wd = (T)(J)->wd;            \
        const T keep = (T)(J)->keep, w = (T)(J)->b1w, eps = (T)(J)->eps;      \
        const T bc2s = (T)(J)->bc2s, st = (T)(J)->step;                       \
        T g2[UPD_BLOCK], den[UPD_BLOCK];                                      \
        for (int64_t b_ = (LO); b_ < (HI); b_ += UPD_BLOCK) {                 \
            const int64_t n_ = (HI) - b_ < UPD_BLOCK ? (HI) - b_ : UPD_BLOCK; \
            T *p = p_ + b_, *m = m_ + b_, *v = v_ + b_;                       \
            const T *g = g_ + b_;                                             \
            AGI_VLOOP(i, 0, n_, T gi = (OPTS) & UPD_MAXIMIZE ? -g[i] : g[i];  \
                      if ((OPTS) & UPD_L2) {                                  \
                          const T pw = p[i] * wd;                             \
                          gi = gi + pw;                                       \
                      }                                                       \
                      const T vb = v[i] * b2;                                 \
                      v[i] = vb + c2 * gi * gi;                               \
                      g2[i] = gi; den[i] = v[i];);                            \
            if ((OPTS) & UPD_AMSGRAD) {                                       \
                T *vm = vm_ + b_;                                             \
                AGI_VLOOP(i, 0, n_, vm[i] = vm[i] >= v[i] ? vm[i] : v[i];     \
                          den[i] = vm[i];);                                   \
            }                                                                 \
            SQRT(den, den, n_);                                               \
            if ((OPTS) & UPD_LERP_SMALL)                                      \
                AGI_VLOOP(i, 0, n_, m[i] = m[i] + w * (g2[i] - m[i]););       \
            else                                                              \
                AGI_VLOOP(i, 0, n_, m[i] = g2[i] - (g2[i] - m[i]) * (1 - w);); \
            AGI_VLOOP(i, 0, n_, const T d = eps + den[i] / bc2s;              \
                      const T base = (OPTS) & UPD_DECOUPLED ? p[i] * keep : p[i]; \
                      p[i] = base + st * m[i] / d;);                          \
        }                                                                     \
    } while (0)

/* The rule in j's dtype with options OPTS. */
#define ADAM_DTYPE(J, LO, HI, OPTS)                                           \
    do {                                                                      \
        if ((J)->p->dtype == AG_F64)                                          \
            ADAM_RANGE(double, J, LO, HI, agi_sqrt_f64, OPTS);                \
        else                                                                  \
            ADAM_RANGE(float, J, LO, HI, agi_sqrt_f32, OPTS);                 \
    } while (0)

AGI_RANGE_MV(adam_range, job, lo, hi)
{
    const adam_job *j = job;
    if (j->opts == UPD_LERP_SMALL)                              /* Adam's defaults */
        ADAM_DTYPE(j, lo, hi, UPD_LERP_SMALL);
    else if (j->opts == (UPD_LERP_SMALL | UPD_DECOUPLED))       /* AdamW's */
        ADAM_DTYPE(j, lo, hi, UPD_LERP_SMALL | UPD_DECOUPLED);
    else
        ADAM_DTYPE(j, lo, hi, j->opts);
}

/* ------------------------------------------------------------- checks --- */

/* x (argument name) is usable, of param's dtype and shape, and, with grad
   mode on, needs no gradient. */
static int check_like(ag_tape *t, const char *fn, const char *name, const ag_tensor *x,
                      const ag_tensor *param)
{
    char s1[96], s2[96];
    if (!agi_check(t, fn, name, x)) return 0;
    if (x->dtype != param->dtype)
        return agi_fail(t, AG_ERR_DTYPE, "%s: %s is %s, param is %s", fn, name,
                        agi_dtype_name(x->dtype), agi_dtype_name(param->dtype)), 0;
    if (!agi_same_shape(x, param))
        return agi_fail(t, AG_ERR_SHAPE, "%s: %s is %s, param is %s", fn, name,
                        agi_shape_str(x, s1), agi_shape_str(param, s2)), 0;
    if (t->grad_enabled && x->requires_grad)
        return agi_fail(t, AG_ERR_ARG, "%s: %s requires grad, and an update records no "
                        "gradient (call it with grad mode off)", fn, name), 0;
    return 1;
}

static int check_hparams(ag_tape *t, const char *fn, const ag_adam_hparams *h)
{
    const struct { const char *name; double v, hi; } r[] = {
        {"lr", h->lr, INFINITY}, {"eps", h->eps, INFINITY},
        {"weight_decay", h->weight_decay, INFINITY}, {"beta1", h->beta1, 1},
        {"beta2", h->beta2, 1}};
    for (size_t k = 0; k < sizeof r / sizeof r[0]; k++)
        if (!(isfinite(r[k].v) && r[k].v >= 0 && r[k].v < r[k].hi))
            return agi_fail(t, AG_ERR_ARG, "%s: %s is %.17g, must be %s", fn, r[k].name, r[k].v,
                            r[k].hi == 1 ? "in [0, 1)" : "finite and >= 0"), 0;
    if (h->step < 1)
        return agi_fail(t, AG_ERR_ARG, "%s: step is %lld, must be >= 1", fn,
                        (long long)h->step), 0;
    return 1;
}

/* --------------------------------------------------------------- Adam --- */

ag_tensor *ag_adam_update(ag_tape *t, ag_tensor *param, const ag_tensor *grad,
                          ag_tensor *exp_avg, ag_tensor *exp_avg_sq, ag_tensor *max_exp_avg_sq,
                          const ag_adam_hparams *h)
{
    static const char fn[] = "ag_adam_update";
    if (!t) return agi_no_tape(fn), NULL;
    if (t->status != AG_OK) return NULL;
    if (!h) return agi_fail(t, AG_ERR_ARG, "%s: h is NULL", fn);
    if (!agi_check(t, fn, "param", param) || !check_hparams(t, fn, h)) return NULL;
    if (t->grad_enabled && param->requires_grad)
        return agi_fail(t, AG_ERR_ARG, "%s: param requires grad, and an update records no "
                        "gradient (call it with grad mode off)", fn);
    if (!check_like(t, fn, "grad", grad, param) || !check_like(t, fn, "exp_avg", exp_avg, param) ||
        !check_like(t, fn, "exp_avg_sq", exp_avg_sq, param))
        return NULL;
    if (h->amsgrad && !max_exp_avg_sq)
        return agi_fail(t, AG_ERR_ARG, "%s: amsgrad is set and max_exp_avg_sq is NULL", fn);
    if (h->amsgrad && !check_like(t, fn, "max_exp_avg_sq", max_exp_avg_sq, param)) return NULL;
    const double step = (double)h->step;
    const double bc1 = 1 - pow(h->beta1, step), w = 1 - h->beta1;
    adam_job j = {
        .p = param, .m = exp_avg, .v = exp_avg_sq, .vmax = h->amsgrad ? max_exp_avg_sq : NULL,
        .g = grad,
        .opts = (h->maximize ? UPD_MAXIMIZE : 0) | (h->amsgrad ? UPD_AMSGRAD : 0) |
                (h->weight_decay != 0 ? (h->decoupled ? UPD_DECOUPLED : UPD_L2) : 0) |
                (fabs(w) < 0.5 ? UPD_LERP_SMALL : 0),
        .b2 = h->beta2, .c2 = 1 - h->beta2, .wd = h->weight_decay,
        .keep = 1 - h->lr * h->weight_decay, .b1w = w, .eps = h->eps,
        .bc2s = sqrt(1 - pow(h->beta2, step)), .step = -h->lr / bc1};
    agi_parallel_range(param->numel, UPD_GRAIN, adam_range, &j);
    t->n_ops++;
    return param;
}
