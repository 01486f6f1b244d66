/*
** dropout.c: Dropout: x times an inverted-dropout mask in training, x
** itself in evaluation. The generator is borrowed from the caller, given
** at construction or later (ag_dropout_set_rng, which also sets
** Dropout2d's: the two share agn_dropout's layout).
*/
#include "layers_util.h"

#include <math.h>

typedef agn_dropout dropout;

/* training: y = x * mask (mask 0 w.p. p, else 1/(1-p)); eval: y = x. */
static ag_tensor *dropout_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    dropout *d = (dropout *)m;
    if (ag_tape_check(t, d->desc, "x", x) != AG_OK) return NULL;
    if (!m->training || (d->p == 0 && !d->rng)) return x;   /* no draw needed */
    if (!agn_dropout_has_rng(t, d)) return NULL;
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
    dropout *d = agn_alloc(sizeof *d, &dropout_ops, who);
    if (!d) return NULL;
    d->p = p;
    d->rng = rng;
    snprintf(d->desc, sizeof d->desc, "Dropout(p=%g)", p);
    return &d->base;
}

/* Sets rng in m and every module below it that is a Dropout or Dropout2d. */
static void set_rng(ag_module *m, ag_rng *rng)
{
    if (agn_is(m, &dropout_ops) || agn_is_dropout2d(m)) ((dropout *)m)->rng = rng;
    for (int i = 0; i < m->n_children; i++) set_rng(m->children[i].module, rng);
}

ag_status ag_dropout_set_rng(ag_module *m, ag_rng *rng)
{
    if (!m) return ag_set_last_error(AG_ERR_ARG, "ag_dropout_set_rng: module is NULL");
    set_rng(m, rng);
    return AG_OK;
}
