/*
** early_stop.c: early stopping on a validation loss, with a copy of the
** best weights to restore (Keras' EarlyStopping with
** restore_best_weights). Copies move with ag_assign, never by hand.
*/
#include "ag.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

struct ag_early_stop {
    int patience;
    double min_delta;
    int n;
    ag_tensor **params;                 /* borrowed */
    ag_tensor **best_weights;           /* owned copies */
    double best;
    int64_t epoch, best_epoch;
    int bad_epochs;
};

void ag_early_stop_free(ag_early_stop *es)
{
    if (!es) return;
    for (int i = 0; es->best_weights && i < es->n; i++) ag_tensor_free(es->best_weights[i]);
    free(es->best_weights);
    free(es->params);
    free(es);
}

static ag_status early_stop_check(const char *fn, int patience, double min_delta, int n,
                                  ag_tensor *const *params)
{
    if (patience < 0)
        return ag_set_last_error(AG_ERR_ARG, "%s: patience is %d, must be >= 0", fn, patience);
    if (!(isfinite(min_delta) && min_delta >= 0))
        return ag_set_last_error(AG_ERR_ARG, "%s: min_delta is %g, must be finite and >= 0", fn,
                                 min_delta);
    if (n < 1 || !params)
        return ag_set_last_error(AG_ERR_ARG, "%s: no parameters (n is %d)", fn, n);
    for (int i = 0; i < n; i++)
        if (!params[i]) return ag_set_last_error(AG_ERR_ARG, "%s: parameter %d is NULL", fn, i);
    return AG_OK;
}

ag_early_stop *ag_early_stop_new(int patience, double min_delta, int n,
                                 ag_tensor *const *params)
{
    const char *fn = "ag_early_stop_new";
    if (early_stop_check(fn, patience, min_delta, n, params) != AG_OK) return NULL;
    ag_early_stop *es = calloc(1, sizeof *es);
    if (!es) return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn), NULL;
    es->patience = patience;
    es->min_delta = min_delta;
    es->n = n;
    es->best = INFINITY;
    es->best_epoch = -1;
    es->params = malloc((size_t)n * sizeof *es->params);
    es->best_weights = calloc((size_t)n, sizeof *es->best_weights);
    int ok = es->params && es->best_weights;
    for (int i = 0; ok && i < n; i++) {
        es->params[i] = params[i];
        ok = (es->best_weights[i] = ag_tensor_clone(params[i])) != NULL;
    }
    if (!ok) {
        ag_early_stop_free(es);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn), NULL;
    }
    return es;
}

int ag_early_stop_update(ag_early_stop *es, double loss)
{
    if (!es) return ag_set_last_error(AG_ERR_ARG, "ag_early_stop_update: es is NULL"), -1;
    int64_t epoch = es->epoch++;
    if (loss < es->best - es->min_delta) {
        for (int i = 0; i < es->n; i++)
            if (ag_assign(es->best_weights[i], es->params[i]) != AG_OK) return -1;
        es->best = loss;
        es->best_epoch = epoch;
        es->bad_epochs = 0;
    } else if (es->bad_epochs < INT_MAX) {      /* >= patience by then: it said stop */
        es->bad_epochs++;
    }
    return es->bad_epochs >= es->patience && es->bad_epochs > 0;
}

ag_status ag_early_stop_restore(ag_early_stop *es)
{
    if (!es) return ag_set_last_error(AG_ERR_ARG, "ag_early_stop_restore: es is NULL");
    for (int i = 0; i < es->n; i++) {
        ag_status s = ag_assign(es->params[i], es->best_weights[i]);
        if (s != AG_OK) return s;
    }
    return AG_OK;
}

double ag_early_stop_best(const ag_early_stop *es) { return es ? es->best : NAN; }
int64_t ag_early_stop_best_epoch(const ag_early_stop *es) { return es ? es->best_epoch : -1; }

int64_t ag_early_stop_updates(const ag_early_stop *es) { return es ? es->epoch : -1; }
int ag_early_stop_bad_epochs(const ag_early_stop *es) { return es ? es->bad_epochs : -1; }

ag_tensor *ag_early_stop_best_weight(const ag_early_stop *es, int i)
{
    return es && i >= 0 && i < es->n ? es->best_weights[i] : NULL;
}

ag_status ag_early_stop_set_state(ag_early_stop *es, int64_t updates, double best,
                                  int64_t best_epoch, int bad_epochs)
{
    const char *fn = "ag_early_stop_set_state";
    if (!es) return ag_set_last_error(AG_ERR_ARG, "%s: es is NULL", fn);
    if (updates < 0 || best_epoch < -1 || best_epoch >= updates || bad_epochs < 0 ||
        bad_epochs > updates || (best_epoch < 0) != (best == INFINITY) || isnan(best))
        return ag_set_last_error(AG_ERR_ARG, "%s: inconsistent state: %lld updates, best %g at "
                                 "update %lld, %d bad epochs", fn, (long long)updates, best,
                                 (long long)best_epoch, bad_epochs);
    es->epoch = updates;
    es->best = best;
    es->best_epoch = best_epoch;
    es->bad_epochs = bad_epochs;
    return AG_OK;
}
