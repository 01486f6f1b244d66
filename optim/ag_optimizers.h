/*
** ag_optimizers.h: the first-order optimizers, with PyTorch's names, update
** rules and defaults: SGD (momentum, dampening, Nesterov), Adagrad,
** Adadelta, RMSprop (centered, momentum), Adam (AMSGrad), AdamW, Adamax,
** NAdam. What every optimizer shares (step, zero_grad, lr, state, free) is
** in ag_optim.h.
**
**     ag_adam_opts ao = ag_adam_defaults();
**     ao.lr = 3e-4;
**     ag_optim *opt = ag_adam_new(n, params, &ao);   // NULL: see ag_last_error()
**     for (...) {
**         loss = ...; ag_backward(t, loss);
**         ag_optim_step(opt); ag_optim_zero_grad(opt); ag_tape_reset(t);
**     }
**     ag_optim_free(opt);
**
** Constructors. Each takes n parameters (persistent tensors, borrowed: they
** must outlive the optimizer) and an options struct; NULL options are the
** defaults, which are PyTorch's and are returned by ag_<name>_defaults().
** Every hyper-parameter is checked: an out-of-range or non-finite value
** returns NULL with ag_last_error() naming the function, the option and its
** value ("ag_adam_new: beta1 is 1, must be in [0, 1)"). All state tensors
** exist from construction on, named as PyTorch names them ("0.exp_avg",
** "1.momentum_buffer"; see ag_optim_state), so a checkpoint can be loaded
** into a fresh optimizer.
**
** State values. A state under a square root or a divisor must be >= 0
** (Inf allowed, NaN not): "exp_avg_sq", "max_exp_avg_sq", "exp_inf",
** "sum", "square_avg", "acc_delta"; NAdam's "mu_product" must be in
** [0, 1]. A checkpoint holding other values is refused (AG_ERR_FORMAT)
** and ag_optim_check_state reports them; a step checks "mu_product"
** (one number per parameter) again, not the element-wise ones.
**
** Updates. ag_optim_step runs the published rule with tensor ops on the
** optimizer's private tape, in the parameter's dtype, and assigns the new
** state and parameters only once every new value was computed, so a failed
** step changes nothing. With maximize set the gradient is negated before
** anything else (so weight decay still shrinks the parameters), as in
** PyTorch's code.
**
** Step counts, as PyTorch's. Each parameter has its own count t, state
** "<i>.step" (a 0-d AG_F64 whole number; PyTorch 1.13 keeps a float32
** 0-d tensor), which only steps that find its grad not NULL increase; t
** of a step is that count + 1. It drives the bias corrections (Adam,
** AdamW, Adamax, NAdam), Adagrad's lr_decay, NAdam's mu schedule and
** SGD's first momentum step, so a parameter whose first gradient arrives
** at the optimizer's third step gets PyTorch's first-step update then
** (its SGD momentum buffer starts as its gradient, undamped). Every
** optimizer here has "step", SGD included (PyTorch's SGD has none: its
** momentum_buffer is None until the first step; step 0 here means the
** same, so importing a PyTorch SGD state sets "step" to 1 wherever a
** momentum_buffer is present).
**
** Parameter groups (ag_optim_add_param_group, ag_optim.h): each group
** has its own copy of the options struct and its own lr; the rules above
** use, for each parameter, its group's. The options that decide which
** state exists must agree across groups (see ag_optim_add_param_group).
**
** Importing a PyTorch optimizer's state_dict. The state of parameter i
** (PyTorch's state[i], parameters numbered across param_groups in order,
** as here) maps name for name onto "<i>.<name>": exp_avg, exp_avg_sq,
** max_exp_avg_sq, step (Adam, AdamW); exp_avg, exp_inf, step (Adamax);
** exp_avg, exp_avg_sq, mu_product, step (NAdam); sum, step (Adagrad);
** square_avg, acc_delta, step (Adadelta); square_avg, momentum_buffer,
** grad_avg, step (RMSprop); momentum_buffer (SGD, plus step as above).
** Tensors keep the parameter's shape and dtype; step and mu_product are
** 0-d (convert PyTorch's float32 ones to the state's dtype). A state
** PyTorch has not created yet (no step taken) is zeros here, which is
** what PyTorch creates. Hyper-parameters (param_groups) are not state:
** give them to the constructor and ag_optim_add_param_group, and the
** lrs to ag_optim_set_group_lr.
*/
#ifndef AG_OPTIMIZERS_H
#define AG_OPTIMIZERS_H

#include "ag_core.h"
#include "ag_optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** SGD. g = grad + weight_decay * p; with momentum mu != 0:
** b = g at t = 1, else b = mu * b + (1 - dampening) * g; then
** g = g + mu * b (nesterov) or g = b; finally p -= lr * g.
** State: "momentum_buffer" (only when momentum != 0).
** Checks: momentum, weight_decay >= 0; dampening in [0, 1] (PyTorch does
** not check it); nesterov needs momentum > 0 and dampening == 0.
** The learning rate has no default, as in PyTorch (lr=required):
** ag_sgd_defaults() leaves it NaN, and ag_sgd_new with NULL options or a
** NaN lr is an AG_ERR_ARG ("ag_sgd_new: lr is required ...").
*/
typedef struct ag_sgd_opts {
    double lr;              /* required: NaN in ag_sgd_defaults() */
    double momentum;        /* 0 */
    double dampening;       /* 0 */
    double weight_decay;    /* 0 (L2 penalty added to the gradient) */
    int nesterov;           /* 0 */
    int maximize;           /* 0 */
} ag_sgd_opts;
ag_sgd_opts ag_sgd_defaults(void);
ag_optim *ag_sgd_new(int n, ag_tensor *const *params, const ag_sgd_opts *opts);

/*
** Adagrad. g = grad + weight_decay * p; clr = lr / (1 + (t - 1) lr_decay);
** sum += g^2; p -= clr * g / (sqrt(sum) + eps).
** State: "sum" (starts at initial_accumulator_value; each group's own,
** where PyTorch 1.13 fills every group's with the constructor's).
*/
typedef struct ag_adagrad_opts {
    double lr;                          /* 1e-2 */
    double lr_decay;                    /* 0 */
    double weight_decay;                /* 0 */
    double initial_accumulator_value;   /* 0 */
    double eps;                         /* 1e-10 */
    int maximize;                       /* 0 */
} ag_adagrad_opts;
ag_adagrad_opts ag_adagrad_defaults(void);
ag_optim *ag_adagrad_new(int n, ag_tensor *const *params, const ag_adagrad_opts *opts);

/*
** Adadelta. g = grad + weight_decay * p; v = rho v + (1 - rho) g^2;
** d = sqrt(u + eps) / sqrt(v + eps) * g; u = rho u + (1 - rho) d^2;
** p -= lr * d. State: "square_avg" (v), "acc_delta" (u).
*/
typedef struct ag_adadelta_opts {
    double lr;              /* 1.0 */
    double rho;             /* 0.9, in [0, 1] */
    double eps;             /* 1e-6 */
    double weight_decay;    /* 0 */
    int maximize;           /* 0 */
} ag_adadelta_opts;
ag_adadelta_opts ag_adadelta_defaults(void);
ag_optim *ag_adadelta_new(int n, ag_tensor *const *params, const ag_adadelta_opts *opts);

/*
** RMSprop. g = grad + weight_decay * p; v = alpha v + (1 - alpha) g^2;
** centered: ga = alpha ga + (1 - alpha) g, avg = sqrt(v - ga^2) + eps;
** else avg = sqrt(v) + eps. momentum > 0: b = momentum b + g / avg,
** p -= lr b; else p -= lr g / avg.
** State: "square_avg", "momentum_buffer" (momentum > 0), "grad_avg"
** (centered). alpha must be in [0, 1] (PyTorch only checks >= 0).
*/
typedef struct ag_rmsprop_opts {
    double lr;              /* 1e-2 */
    double alpha;           /* 0.99 */
    double eps;             /* 1e-8 */
    double weight_decay;    /* 0 */
    double momentum;        /* 0 */
    int centered;           /* 0 */
    int maximize;           /* 0 */
} ag_rmsprop_opts;
ag_rmsprop_opts ag_rmsprop_defaults(void);
ag_optim *ag_rmsprop_new(int n, ag_tensor *const *params, const ag_rmsprop_opts *opts);

/*
** Adam and AdamW (one options struct, two sets of defaults).
** Adam: g = grad + weight_decay * p (L2). AdamW: p *= 1 - lr * weight_decay
** first (decoupled decay) and g = grad. Then m = b1 m + (1 - b1) g;
** v = b2 v + (1 - b2) g^2; with amsgrad vmax = max(vmax, v) replaces v in
** denom = sqrt(v) / sqrt(1 - b2^t) + eps; p -= lr / (1 - b1^t) * m / denom.
** State: "exp_avg", "exp_avg_sq", "max_exp_avg_sq" (amsgrad).
** beta1, beta2 in [0, 1).
*/
typedef struct ag_adam_opts {
    double lr;              /* 1e-3 */
    double beta1, beta2;    /* 0.9, 0.999 */
    double eps;             /* 1e-8 */
    double weight_decay;    /* Adam 0, AdamW 1e-2 */
    int amsgrad;            /* 0 */
    int maximize;           /* 0 */
} ag_adam_opts;
ag_adam_opts ag_adam_defaults(void);
ag_adam_opts ag_adamw_defaults(void);
ag_optim *ag_adam_new(int n, ag_tensor *const *params, const ag_adam_opts *opts);
ag_optim *ag_adamw_new(int n, ag_tensor *const *params, const ag_adam_opts *opts);

/*
** Adamax. g = grad + weight_decay * p; m = b1 m + (1 - b1) g;
** u = max(b2 u, |g| + eps); p -= lr / (1 - b1^t) * m / u.
** State: "exp_avg", "exp_inf".
*/
typedef struct ag_adamax_opts {
    double lr;              /* 2e-3 */
    double beta1, beta2;    /* 0.9, 0.999 */
    double eps;             /* 1e-8 */
    double weight_decay;    /* 0 */
    int maximize;           /* 0 */
} ag_adamax_opts;
ag_adamax_opts ag_adamax_defaults(void);
ag_optim *ag_adamax_new(int n, ag_tensor *const *params, const ag_adamax_opts *opts);

/*
** NAdam (Dozat 2016, with PyTorch's momentum schedule).
** g = grad + weight_decay * p, or p *= 1 - lr * weight_decay first when
** decoupled_weight_decay. mu_t = b1 (1 - 0.5 * 0.96^(t psi)) with
** psi = momentum_decay; P_t = mu_1 ... mu_t (state "mu_product");
** m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
** denom = sqrt(v / (1 - b2^t)) + eps;
** p -= lr (1 - mu_t) / (1 - P_t) * g / denom
**      + lr mu_{t+1} / (1 - P_t mu_{t+1}) * m / denom.
** State: "exp_avg", "exp_avg_sq", "mu_product" (a 0-d tensor starting at
** 1, one per parameter as in PyTorch). Difference from PyTorch 1.13: its
** second term divides by 1 - P_t mu_t mu_{t+1} (an extra mu_t, fixed in
** PyTorch 2.0); here by 1 - P_t mu_{t+1}, as in 2.0 and the paper.
*/
typedef struct ag_nadam_opts {
    double lr;                  /* 2e-3 */
    double beta1, beta2;        /* 0.9, 0.999 */
    double eps;                 /* 1e-8 */
    double weight_decay;        /* 0 */
    double momentum_decay;      /* 4e-3 */
    int decoupled_weight_decay; /* 0 */
    int maximize;               /* 0 */
} ag_nadam_opts;
ag_nadam_opts ag_nadam_defaults(void);
ag_optim *ag_nadam_new(int n, ag_tensor *const *params, const ag_nadam_opts *opts);

#ifdef __cplusplus
}
#endif
#endif /* AG_OPTIMIZERS_H */
