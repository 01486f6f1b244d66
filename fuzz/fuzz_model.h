/*
** fuzz_model.h: the small fixed world that fuzz_safetensors loads files
** into and make_seeds.c saves checkpoints of: Sequential(Linear(2, 3),
** BatchNorm1d(3)) in f32, one optimizer of every kind over its four
** parameters (SGD with momentum, Adagrad, Adadelta, RMSprop centered with
** momentum, Adam, Adam with AMSGrad, AdamW, Adamax, NAdam, L-BFGS with
** the strong Wolfe line search, Newton), a generator, a fixed input batch
** and a tape; fz_step takes one step of any of them, fz_world_reset puts
** everything back as it was saved.
*/
#ifndef FUZZ_MODEL_H
#define FUZZ_MODEL_H

#include "fuzz_util.h"

#define FZ_N_OPTIMS 11

typedef struct fz_world {
    ag_module *model;
    ag_optim *optims[FZ_N_OPTIMS];      /* [FZ_ADAM] is the Adam of the first seeds */
    ag_rng *rng;
    ag_tensor *x;                       /* [4, 2] */
    ag_tape *tape;
} fz_world;

enum { FZ_SGD, FZ_ADAGRAD, FZ_ADADELTA, FZ_RMSPROP, FZ_ADAM, FZ_AMSGRAD, FZ_ADAMW, FZ_ADAMAX,
       FZ_NADAM, FZ_LBFGS, FZ_NEWTON };

/* A short name of optimizer k, for seed files. */
static inline const char *fz_optim_label(int k)
{
    static const char *const names[FZ_N_OPTIMS] = {"sgd", "adagrad", "adadelta", "rmsprop",
                                                   "adam", "amsgrad", "adamw", "adamax",
                                                   "nadam", "lbfgs", "newton"};
    return names[k];
}

static inline ag_optim *fz_optim_new(int k, int n, ag_tensor *const *p)
{
    ag_adam_opts ams = ag_adam_defaults();
    ag_rmsprop_opts rms = ag_rmsprop_defaults();
    ag_lbfgs_opts lb = ag_lbfgs_default_opts();
    ams.amsgrad = 1;
    rms.momentum = 0.5, rms.centered = 1;
    lb.history_size = 3, lb.max_iter = 2, lb.line_search = AG_LINE_SEARCH_STRONG_WOLFE;
    switch (k) {
    case FZ_SGD: return ag_sgd_new(n, p, &(ag_sgd_opts){.lr = 0.1, .momentum = 0.9});
    case FZ_ADAGRAD: return ag_adagrad_new(n, p, NULL);
    case FZ_ADADELTA: return ag_adadelta_new(n, p, NULL);
    case FZ_RMSPROP: return ag_rmsprop_new(n, p, &rms);
    case FZ_ADAM: return ag_adam_new(n, p, NULL);
    case FZ_AMSGRAD: return ag_adam_new(n, p, &ams);
    case FZ_ADAMW: return ag_adamw_new(n, p, NULL);
    case FZ_ADAMAX: return ag_adamax_new(n, p, NULL);
    case FZ_NADAM: return ag_nadam_new(n, p, NULL);
    case FZ_LBFGS: return ag_lbfgs_new(n, p, &lb);
    default: return ag_newton_new(n, p, NULL);
    }
}

static inline void fz_world_free(fz_world *w)
{
    for (int k = 0; k < FZ_N_OPTIMS; k++) ag_optim_free(w->optims[k]);
    ag_module_free(w->model);
    ag_rng_free(w->rng);
    ag_tensor_free(w->x);
    ag_tape_free(w->tape);
    memset(w, 0, sizeof *w);
}

static inline void fz_world_make(fz_world *w)
{
    memset(w, 0, sizeof *w);
    ag_rng *init = ag_rng_new(7);
    w->model = ag_sequential_new(2, (ag_module *[]){ag_linear_new(2, 3, 1, AG_F32, init),
                                                    ag_batchnorm1d_new(3, 1e-5, 0.1, 1, AG_F32)});
    ag_tensor *params[8];
    int n = w->model ? ag_module_parameters(w->model, params, 8) : 0;
    int ok = w->model != NULL;
    for (int k = 0; ok && k < FZ_N_OPTIMS; k++)
        ok = (w->optims[k] = fz_optim_new(k, n, params)) != NULL;
    w->rng = ag_rng_new(1);
    w->x = ag_rand_normal(NULL, init, AG_F32, 2, (int64_t[]){4, 2}, 0, 1);
    w->tape = ag_tape_new();
    ag_rng_free(init);
    if (!ok || !w->rng || !w->x || !w->tape) {
        fprintf(stderr, "fuzz: the fixed world: %s\n", ag_last_error());
        abort();
    }
}

/*
** The world as made, to go back to: copies of every module tensor and
** optimizer state tensor, the optimizers' counters, the generator's state.
** fz_world_reset restores it all (scratch buffers of the optimizers are
** rewritten by each step before they are read, grads are cleared).
*/
#define FZ_MAX_SAVED 160

typedef struct fz_saved {
    int n;
    ag_tensor *live[FZ_MAX_SAVED], *copy[FZ_MAX_SAVED];
    int64_t steps[FZ_N_OPTIMS];
    double lr[FZ_N_OPTIMS], base_lr[FZ_N_OPTIMS];
    uint64_t rng[4];
} fz_saved;

static inline void fz_save_list(fz_saved *sv, int n, const ag_named_tensor *list)
{
    for (int i = 0; i < n; i++) {
        if (sv->n == FZ_MAX_SAVED) abort();
        sv->live[sv->n] = list[i].tensor;
        if (!(sv->copy[sv->n++] = ag_tensor_clone(list[i].tensor))) abort();
    }
}

static inline void fz_world_save(const fz_world *w, fz_saved *sv)
{
    ag_named_tensor list[64];
    memset(sv, 0, sizeof *sv);
    fz_save_list(sv, ag_module_named_tensors(w->model, list, 64, 1), list);
    for (int k = 0; k < FZ_N_OPTIMS; k++) {
        fz_save_list(sv, ag_optim_state(w->optims[k], list, 64), list);
        sv->steps[k] = ag_optim_steps(w->optims[k]);
        sv->lr[k] = ag_optim_get_lr(w->optims[k]);
        sv->base_lr[k] = ag_optim_base_lr(w->optims[k]);
    }
    ag_rng_get_state(w->rng, sv->rng);
}

static inline void fz_world_reset(fz_world *w, const fz_saved *sv)
{
    int ok = 1;
    for (int i = 0; i < sv->n; i++) ok &= ag_assign(sv->live[i], sv->copy[i]) == AG_OK;
    for (int k = 0; k < FZ_N_OPTIMS; k++)
        ok &= ag_optim_set_steps(w->optims[k], sv->steps[k]) == AG_OK &&
              ag_optim_set_lr(w->optims[k], sv->lr[k]) == AG_OK &&
              ag_optim_set_base_lr(w->optims[k], sv->base_lr[k]) == AG_OK;
    ok &= ag_rng_set_state(w->rng, sv->rng) == AG_OK;
    ag_module_clear_grad(w->model);
    ag_module_train(w->model, 1);
    ag_tape_reset(w->tape);
    if (!ok) abort();
}

static inline void fz_saved_free(fz_saved *sv)
{
    for (int i = 0; i < sv->n; i++) ag_tensor_free(sv->copy[i]);
    sv->n = 0;
}

/* The loss of the model on the fixed input: mean(model(x)^2). */
static inline ag_tensor *fz_loss(ag_tape *t, void *ctx)
{
    fz_world *w = ctx;
    return ag_mean(t, ag_square(t, ag_module_forward(w->model, t, w->x)), AG_ALL, 0);
}

/*
** One step of optimizer k on the fixed loss: the closure ones through
** their step functions, the others after a backward (no grads when the
** forward fails: the step then skips every parameter). Its status.
*/
static inline ag_status fz_step(fz_world *w, int k)
{
    ag_optim *o = w->optims[k];
    if (k == FZ_LBFGS) return ag_lbfgs_step(o, fz_loss, w, NULL);
    if (k == FZ_NEWTON) return ag_newton_step(o, fz_loss, w, NULL);
    ag_tape_reset(w->tape);
    ag_module_clear_grad(w->model);
    ag_tensor *loss = fz_loss(w->tape, w);
    if (loss) ag_backward(w->tape, loss);
    ag_tape_reset(w->tape);
    return ag_optim_step(o);
}

#endif
