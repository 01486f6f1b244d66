/*
** noise.c: annealed Gaussian gradient noise (Neelakantan et al. 2015,
** "Adding Gradient Noise Improves Learning for Very Deep Networks"):
** g += N(0, eta / (1 + step)^gamma), with ops on a private tape.
*/
#include "ag.h"

#include <math.h>
#include <stdlib.h>

static ag_status noise_check(const char *fn, int n, ag_tensor *const *params, ag_rng *rng,
                             double eta, double gamma, int64_t step)
{
    if (n < 1 || !params)
        return ag_set_last_error(AG_ERR_ARG, "%s: no parameters (n is %d)", fn, n);
    for (int i = 0; i < n; i++)
        if (!params[i]) return ag_set_last_error(AG_ERR_ARG, "%s: parameter %d is NULL", fn, i);
    if (!rng) return ag_set_last_error(AG_ERR_ARG, "%s: rng is NULL", fn);
    if (!(isfinite(eta) && eta >= 0))
        return ag_set_last_error(AG_ERR_ARG, "%s: eta is %g, must be finite and >= 0", fn, eta);
    if (!(isfinite(gamma) && gamma >= 0))
        return ag_set_last_error(AG_ERR_ARG, "%s: gamma is %g, must be finite and >= 0", fn,
                                 gamma);
    if (step < 0)
        return ag_set_last_error(AG_ERR_ARG, "%s: step is %lld, must be >= 0", fn,
                                 (long long)step);
    return AG_OK;
}

ag_status ag_grad_noise_add(int n, ag_tensor *const *params, ag_rng *rng, double eta,
                            double gamma, int64_t step)
{
    const char *fn = "ag_grad_noise_add";
    ag_status s = noise_check(fn, n, params, rng, eta, gamma, step);
    if (s != AG_OK) return s;
    double sigma = sqrt(eta / pow(1 + (double)step, gamma));
    ag_tape *t = ag_tape_new();
    ag_tensor **news = malloc((size_t)n * sizeof *news);
    if (!t || !news) {
        ag_tape_free(t), free(news);
        return ag_set_last_error(AG_ERR_NOMEM, "%s: out of memory", fn);
    }
    ag_set_grad_enabled(t, 0);
    for (int i = 0; i < n; i++) {
        ag_tensor *g = ag_tensor_grad(params[i]);
        news[i] = g ? ag_add(t, g, ag_rand_normal(t, rng, ag_tensor_dtype(g), ag_tensor_ndim(g),
                                                  ag_tensor_shape(g), 0, sigma))
                    : NULL;
    }
    if (ag_tape_status(t) != AG_OK)
        s = ag_set_last_error(ag_tape_status(t), "%s: %s", fn, ag_tape_errmsg(t));
    for (int i = 0; i < n && s == AG_OK; i++)
        if (news[i]) s = ag_assign(ag_tensor_grad(params[i]), news[i]);
    free(news);
    ag_tape_free(t);
    return s;
}
