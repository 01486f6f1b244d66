/*
** dropout2d.c: Dropout2d: whole channels of x zeroed in training (one
** draw per (sample, channel)), x itself in evaluation. The generator is
** borrowed from the caller, given at construction or later
** (ag_dropout_set_rng, in dropout.c). Plain Dropout is in dropout.c.
*/
#include "layers_util.h"

typedef agn_dropout dropout2d;          /* the layout Dropout shares */

/* training: y = x * mask, mask [N, C, 1, 1] (or [N, C, 1]): 0 w.p. p,
   else 1/(1-p); eval: y = x. */
static ag_tensor *dropout2d_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    dropout2d *d = (dropout2d *)m;
    char s[128];
    if (!x) return ag_tape_set_error(t, AG_ERR_ARG, "%s: x is NULL", d->desc), NULL;
    if (!m->training) return x;
    int nd = ag_tensor_ndim(x);
    if (nd != 3 && nd != 4)
        return ag_tape_set_error(t, AG_ERR_SHAPE, "%s: x is %s, expected [N, C, H, W] or "
                                 "[N, C, L]", d->desc, agn_shape_str(x, s, sizeof s)), NULL;
    if (d->p == 0 && !d->rng) return x;    /* no draw needed */
    if (!agn_dropout_has_rng(t, d)) return NULL;
    const int64_t *shape = ag_tensor_shape(x);
    ag_tensor *mask = ag_dropout_mask(t, d->rng, ag_tensor_dtype(x), nd,
                                      (int64_t[]){shape[0], shape[1], 1, 1}, d->p);
    return ag_mul(t, x, mask);
}

static const ag_module_ops dropout2d_ops = {"Dropout2d", dropout2d_forward, NULL};

int agn_is_dropout2d(const ag_module *m) { return agn_is(m, &dropout2d_ops); }

ag_module *ag_dropout2d_new(double p, ag_rng *rng)
{
    const char *who = "ag_dropout2d_new";
    if (!(p >= 0 && p <= 1))
        return ag_set_last_error(AG_ERR_ARG, "%s: p is %g, must be in [0, 1]", who, p), NULL;
    dropout2d *d = agn_alloc(sizeof *d, &dropout2d_ops, who);
    if (!d) return NULL;
    d->p = p;
    d->rng = rng;
    snprintf(d->desc, sizeof d->desc, "Dropout2d(p=%g)", p);
    return &d->base;
}
