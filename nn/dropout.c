/*
** dropout.c: Dropout: x times an inverted-dropout mask in training, x
** itself in evaluation. The generator is borrowed from the caller.
*/
#include "layers_util.h"

#include <math.h>

typedef struct dropout {
    ag_module base;
    double p;
    ag_rng *rng;                        /* borrowed */
    char desc[AGN_DESC_LEN];
} dropout;

/* training: y = x * mask (mask 0 w.p. p, else 1/(1-p)); eval: y = x. */
static ag_tensor *dropout_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    dropout *d = (dropout *)m;
    if (ag_tape_check(t, d->desc, "x", x) != AG_OK) return NULL;
    if (!m->training) return x;
    ag_tensor *mask = ag_dropout_mask(t, d->rng, ag_tensor_dtype(x), ag_tensor_ndim(x),
                                      ag_tensor_shape(x), d->p);
    return ag_mul(t, x, mask);
}

static const ag_module_ops dropout_ops = {"Dropout", dropout_forward, NULL};

ag_module *ag_dropout_new(double p, ag_rng *rng)
{
    const char *who = "ag_dropout_new";
    if (!(p >= 0 && p <= 1))
        return ag_set_last_error(AG_ERR_ARG, "%s: p is %g, must be in [0, 1]", who, p), NULL;
    if (!rng) return ag_set_last_error(AG_ERR_ARG, "%s: generator is NULL", who), NULL;
    dropout *d = agn_alloc(sizeof *d, &dropout_ops, who);
    if (!d) return NULL;
    d->p = p;
    d->rng = rng;
    snprintf(d->desc, sizeof d->desc, "Dropout(p=%g)", p);
    return &d->base;
}
