/*
** fuzz_model.h: the small fixed model that fuzz_safetensors loads files
** into and make_seeds.c saves checkpoints of: Sequential(Linear(2, 3),
** BatchNorm1d(3)) in f32, Adam over its four parameters, a generator.
*/
#ifndef FUZZ_MODEL_H
#define FUZZ_MODEL_H

#include "fuzz_util.h"

static inline void fz_make_model(ag_module **model, ag_optim **adam, ag_rng **rng)
{
    ag_rng *init = ag_rng_new(7);
    *model = ag_sequential_new(2, (ag_module *[]){ag_linear_new(2, 3, 1, AG_F32, init),
                                                  ag_batchnorm1d_new(3, 1e-5, 0.1, 1, AG_F32)});
    ag_tensor *params[8];
    int n = ag_module_parameters(*model, params, 8);
    ag_adam_opts o = ag_adam_defaults();
    *adam = ag_adam_new(n, params, &o);
    *rng = ag_rng_new(1);
    ag_rng_free(init);
    if (!*model || !*adam || !*rng) {
        fprintf(stderr, "fuzz: the fixed model: %s\n", ag_last_error());
        abort();
    }
}

#endif
