/*
** test_optim_groups.c: per-parameter step counts and parameter groups of
** the first-order optimizers against PyTorch 1.13. Two parameters, a [3]
** in group 0 and b [2] in group 1 with other options; b has no grad at
** steps 1 and 2 (PyTorch's None: zero_grad(set_to_none=True)) and its
** first at step 3, so its bias corrections, lr_decay and first momentum
** step run at its own t = 1. The numbers were produced once by
** /usr/bin/python3 with torch 1.13, f64:
**
**   a = [1, -2, 0.5], b = [0.75, -0.25]; for s in 1..5:
**     opt.zero_grad(set_to_none=True)
**     loss = (tensor([.5, 1.5, 3]) * a**2).sum()
**     if s >= 3: loss += (tensor([2., -1.]) * b**3).sum()
**     loss.backward(); opt.step()
**
** with the optimizers and param_groups written beside each case. Also the
** group API's error paths.
*/
#include "st_test_util.h"

static const double GA[3] = {1.0, -2.0, 0.5}, GB[2] = {0.75, -0.25};
static const double CA[3] = {0.5, 1.5, 3.0}, CB[2] = {2.0, -1.0};

typedef struct groups_run {
    ag_tensor *a, *b;
    ag_tape *t;
} groups_run;

static groups_run run_new(void)
{
    groups_run r = {tu_tensor(AG_F64, 1, SHAPE(3), GA), tu_tensor(AG_F64, 1, SHAPE(2), GB),
                    ag_tape_new()};
    ag_set_requires_grad(r.a, 1);
    ag_set_requires_grad(r.b, 1);
    return r;
}

static void run_free(groups_run *r)
{
    ag_tensor_free(r->a), ag_tensor_free(r->b), ag_tape_free(r->t);
}

/* Step s (1-based) of the script above. */
static void run_step(groups_run *r, ag_optim *o, int s)
{
    ag_tape *t = r->t;
    ag_tensor *ca = tu_tensor(AG_F64, 1, SHAPE(3), CA), *cb = tu_tensor(AG_F64, 1, SHAPE(2), CB);
    ag_optim_clear_grad(o);
    ag_tensor *loss = ag_sum(t, ag_mul(t, ca, ag_square(t, r->a)), AG_ALL, 0);
    if (s >= 3) {
        ag_tensor *b3 = ag_mul(t, ag_square(t, r->b), r->b);
        loss = ag_add(t, loss, ag_sum(t, ag_mul(t, cb, b3), AG_ALL, 0));
    }
    ck_assert_int_eq(ag_backward(t, loss), AG_OK);
    ck_assert_msg(ag_optim_step(o) == AG_OK, "step %d: %s", s, ag_last_error());
    ag_tape_reset(t);
    ag_tensor_free(ca), ag_tensor_free(cb);
}

/* The value of state name ("1.step") of o. */
static double state_value(const ag_optim *o, const char *name, int64_t i)
{
    ag_named_tensor st[16];
    int n = ag_optim_state(o, st, 16);
    for (int k = 0; k < n && k < 16; k++)
        if (!strcmp(st[k].name, name)) return ag_tensor_get(st[k].tensor, i);
    ck_abort_msg("no state '%s'", name);
    return 0;
}

/* Adds b as group 1 with opts, runs the 5 steps, compares a and b with
   PyTorch's (1e-12) and the step counts (a 5, b 3). Frees o. */
static void check_against_torch(groups_run *r, ag_optim *o, const void *opts1,
                                const double want[5])
{
    ck_assert_msg(o != NULL, "%s", ag_last_error());
    ck_assert_msg(ag_optim_add_param_group(o, 1, &r->b, opts1) == AG_OK, "%s", ag_last_error());
    ck_assert_int_eq(ag_optim_num_groups(o), 2);
    ck_assert_int_eq(ag_optim_param_group(o, 1), 1);
    for (int s = 1; s <= 5; s++) run_step(r, o, s);
    for (int k = 0; k < 5; k++) {
        double got = ag_tensor_get(k < 3 ? r->a : r->b, k < 3 ? k : k - 3);
        ck_assert_msg(fabs(got - want[k]) <= 1e-12, "%s element %d: %.17g, torch %.17g",
                      ag_optim_name(o), k, got, want[k]);
    }
    ck_assert_double_eq(state_value(o, "0.step", 0), 5);
    ck_assert_double_eq(state_value(o, "1.step", 0), 3);
    ck_assert_int_eq(ag_optim_steps(o), 5);
    ag_optim_free(o);
    run_free(r);
}

/* SGD([{a}, {b, lr .05, weight_decay .1, dampening .3}], lr .1, momentum .9,
   dampening .1, weight_decay .01) */
START_TEST(test_sgd_groups_late_grad_torch)
{
    static const double want[5] = {0.015589265485957779, 1.5425696349767566,
                                   -0.18152356999201616, 0.1186366616294898,
                                   -0.20218303962382364};
    groups_run r = run_new();
    ag_sgd_opts o0 = {.lr = 0.1, .momentum = 0.9, .dampening = 0.1, .weight_decay = 0.01};
    ag_sgd_opts o1 = o0;
    o1.lr = 0.05, o1.weight_decay = 0.1, o1.dampening = 0.3;
    check_against_torch(&r, ag_sgd_new(1, &r.a, &o0), &o1, want);
}
END_TEST

/* SGD([{a}, {b, lr .02, momentum .5}], lr .1, momentum .9, nesterov) */
START_TEST(test_sgd_nesterov_groups_late_grad_torch)
{
    static const double want[5] = {-0.10458168390000007, 0.69570447940000002,
                                   0.030721356800000016, 0.4793854768967577,
                                   -0.23159759049827922};
    groups_run r = run_new();
    ag_sgd_opts o0 = {.lr = 0.1, .momentum = 0.9, .nesterov = 1};
    ag_sgd_opts o1 = o0;
    o1.lr = 0.02, o1.momentum = 0.5;
    check_against_torch(&r, ag_sgd_new(1, &r.a, &o0), &o1, want);
}
END_TEST

/* Adagrad([{a}, {b, lr .2, lr_decay .5}], lr .1, lr_decay .1,
   initial_accumulator_value .1, weight_decay .01). (PyTorch 1.13 fills
   every group's sum with the constructor's initial_accumulator_value,
   ignoring a group's own; here a group's own is used: not tested.) */
START_TEST(test_adagrad_groups_late_grad_torch)
{
    static const double want[5] = {0.7397525733374678, -1.7246864236224078,
                                   0.25146153793094017, 0.4529265514815265,
                                   -0.11099127632658341};
    groups_run r = run_new();
    ag_adagrad_opts o0 = ag_adagrad_defaults();
    o0.lr = 0.1, o0.lr_decay = 0.1, o0.initial_accumulator_value = 0.1, o0.weight_decay = 0.01;
    ag_adagrad_opts o1 = o0;
    o1.lr = 0.2, o1.lr_decay = 0.5;
    ag_optim *o = ag_adagrad_new(1, &r.a, &o0);
    check_against_torch(&r, o, &o1, want);
}
END_TEST

/* Adadelta([{a}, {b, lr .5, rho .8, weight_decay .1}], lr 1, rho .9) */
START_TEST(test_adadelta_groups_late_grad_torch)
{
    static const double want[5] = {0.98363138734861555, -1.9835991388557257,
                                   0.48369589220227621, 0.74648759628896755,
                                   -0.24649775923161604};
    groups_run r = run_new();
    ag_adadelta_opts o0 = ag_adadelta_defaults();
    ag_adadelta_opts o1 = o0;
    o1.lr = 0.5, o1.rho = 0.8, o1.weight_decay = 0.1;
    check_against_torch(&r, ag_adadelta_new(1, &r.a, &o0), &o1, want);
}
END_TEST

/* RMSprop([{a}, {b, lr .02, alpha .9, momentum .3}], lr .01, alpha .99,
   momentum .5, centered, weight_decay .01) */
START_TEST(test_rmsprop_groups_late_grad_torch)
{
    static const double want[5] = {0.49398310774219245, -1.4674353269972322,
                                   0.058085974480943901, 0.56089213868972798,
                                   -0.094620108324749708};
    groups_run r = run_new();
    ag_rmsprop_opts o0 = ag_rmsprop_defaults();
    o0.lr = 0.01, o0.momentum = 0.5, o0.centered = 1, o0.weight_decay = 0.01;
    ag_rmsprop_opts o1 = o0;
    o1.lr = 0.02, o1.alpha = 0.9, o1.momentum = 0.3;
    check_against_torch(&r, ag_rmsprop_new(1, &r.a, &o0), &o1, want);
}
END_TEST

/* Adam([{a}, {b, lr .05, betas (.8, .99), weight_decay .1}], lr .1,
   amsgrad, weight_decay .01) */
START_TEST(test_adam_groups_late_grad_torch)
{
    static const double want[5] = {0.50796366187449049, -1.5029557808594793,
                                   0.027814447927657554, 0.60177983686891046,
                                   -0.10795791540227268};
    groups_run r = run_new();
    ag_adam_opts o0 = ag_adam_defaults();
    o0.lr = 0.1, o0.amsgrad = 1, o0.weight_decay = 0.01;
    ag_adam_opts o1 = o0;
    o1.lr = 0.05, o1.beta1 = 0.8, o1.beta2 = 0.99, o1.weight_decay = 0.1;
    check_against_torch(&r, ag_adam_new(1, &r.a, &o0), &o1, want);
}
END_TEST

/* AdamW([{a}, {b, lr .05, weight_decay .5}], lr .1, weight_decay .01) */
START_TEST(test_adamw_groups_late_grad_torch)
{
    static const double want[5] = {0.50408009274720167, -1.494045693628145,
                                   0.026528198421030311, 0.55064043120933581,
                                   -0.093381273718625007};
    groups_run r = run_new();
    ag_adam_opts o0 = ag_adamw_defaults();
    o0.lr = 0.1, o0.weight_decay = 0.01;
    ag_adam_opts o1 = o0;
    o1.lr = 0.05, o1.weight_decay = 0.5;
    check_against_torch(&r, ag_adamw_new(1, &r.a, &o0), &o1, want);
}
END_TEST

/* Adamax([{a}, {b, lr .05, betas (.8, .99)}], lr .1, weight_decay .01) */
START_TEST(test_adamax_groups_late_grad_torch)
{
    static const double want[5] = {0.55155380501124851, -1.5257775460645431,
                                   0.10018372167971513, 0.60929382039127244,
                                   -0.12683792961393431};
    groups_run r = run_new();
    ag_adamax_opts o0 = ag_adamax_defaults();
    o0.lr = 0.1, o0.weight_decay = 0.01;
    ag_adamax_opts o1 = o0;
    o1.lr = 0.05, o1.beta1 = 0.8, o1.beta2 = 0.99;
    check_against_torch(&r, ag_adamax_new(1, &r.a, &o0), &o1, want);
}
END_TEST

/* NAdam([{a}, {b, lr .05, momentum_decay .01}], lr .1, weight_decay .01),
   with torch 1.13's _single_tensor_nadam patched to PyTorch 2.0's
   mu_product_next = mu_product * mu_next (1.13 has mu_product * mu *
   mu_next, an extra mu_t; see ag_optimizers.h). */
START_TEST(test_nadam_groups_late_grad_torch)
{
    static const double want[5] = {0.62366289374578976, -1.6084596259638257,
                                   0.15963906958121271, 0.62782068648778133,
                                   -0.1423325602141898};
    groups_run r = run_new();
    ag_nadam_opts o0 = ag_nadam_defaults();
    o0.lr = 0.1, o0.weight_decay = 0.01;
    ag_nadam_opts o1 = o0;
    o1.lr = 0.05, o1.momentum_decay = 0.01;
    check_against_torch(&r, ag_nadam_new(1, &r.a, &o0), &o1, want);
}
END_TEST

/* Group lrs: set one group, set all, NULL options (the constructor's). */
START_TEST(test_group_lrs_and_default_options)
{
    groups_run r = run_new();
    ag_optim *o = ag_adam_new(1, &r.a, &(ag_adam_opts){.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999});
    ck_assert_int_eq(ag_optim_add_param_group(o, 1, &r.b, NULL), AG_OK);
    ck_assert_double_eq(ag_optim_group_lr(o, 1), 0.1);      /* the constructor's */
    ck_assert_int_eq(ag_optim_set_group_lr(o, 1, 0.5), AG_OK);
    ck_assert_double_eq(ag_optim_group_lr(o, 1), 0.5);
    ck_assert_double_eq(ag_optim_get_lr(o), 0.1);
    ck_assert_double_eq(ag_optim_group_base_lr(o, 1), 0.1);
    ck_assert_int_eq(ag_optim_set_lr(o, 0.25), AG_OK);       /* every group */
    ck_assert_double_eq(ag_optim_group_lr(o, 0), 0.25);
    ck_assert_double_eq(ag_optim_group_lr(o, 1), 0.25);
    ck_assert_int_eq(ag_optim_group_size(o, 1), 1);
    ck_assert_int_eq(ag_optim_num_params(o), 2);
    ck_assert_ptr_eq(ag_optim_param(o, 1), r.b);
    tu_assert_failed(ag_optim_set_group_lr(o, 2, 0.1), AG_ERR_ARG, "ag_optim_set_group_lr: "
                     "group 2 does not exist (the optimizer has 2)", NULL, NULL);
    tu_assert_failed(ag_optim_set_group_lr(o, 1, -1), AG_ERR_ARG, "ag_optim_set_group_lr: lr "
                     "is -1, must be finite and >= 0", NULL, NULL);
    ck_assert_double_eq(ag_optim_group_lr(o, 5), 0);
    ck_assert_int_eq(ag_optim_param_group(o, 2), -1);
    ag_optim_free(o);
    run_free(&r);
}
END_TEST

START_TEST(test_add_param_group_rejects_bad_groups)
{
    groups_run r = run_new();
    ag_tensor *c = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_sgd_opts op = {.lr = 0.1, .momentum = 0.9};
    ag_optim *o = ag_sgd_new(1, &r.a, &op);
    int n_state = ag_optim_state(o, NULL, 0);
    tu_assert_failed(ag_optim_add_param_group(o, 1, &r.a, NULL), AG_ERR_ARG,
                     "ag_optim_add_param_group: parameter 0 is already parameter 0 of the "
                     "optimizer (group 0)", NULL, NULL);
    tu_assert_failed(ag_optim_add_param_group(o, 0, &r.b, NULL), AG_ERR_ARG,
                     "ag_optim_add_param_group: no parameters (n is 0)", NULL, NULL);
    tu_assert_failed(ag_optim_add_param_group(o, 2, (ag_tensor *[]){r.b, r.b}, NULL),
                     AG_ERR_ARG, "ag_optim_add_param_group: parameter 1 repeats 0", NULL, NULL);
    ag_sgd_opts bad = op;
    bad.momentum = 0;
    tu_assert_failed(ag_optim_add_param_group(o, 1, &r.b, &bad), AG_ERR_ARG,
                     "ag_optim_add_param_group: momentum is 0 but group 0's is 0.9: SGD's "
                     "groups must all have momentum or none", NULL, NULL);
    bad = ag_sgd_defaults();
    tu_assert_failed(ag_optim_add_param_group(o, 1, &r.b, &bad), AG_ERR_ARG,
                     "ag_optim_add_param_group: lr is required", NULL, NULL);
    tu_assert_failed(ag_optim_add_param_group(NULL, 1, &r.b, NULL), AG_ERR_ARG,
                     "ag_optim_add_param_group: optimizer is NULL", NULL, NULL);
    ck_assert_int_eq(ag_optim_num_groups(o), 1);             /* nothing changed */
    ck_assert_int_eq(ag_optim_num_params(o), 1);
    ck_assert_int_eq(ag_optim_state(o, NULL, 0), n_state);
    ck_assert_int_eq(ag_optim_add_param_group(o, 2, (ag_tensor *[]){r.b, c}, NULL), AG_OK);
    ck_assert_int_eq(ag_optim_state(o, NULL, 0), 3 * n_state);
    ag_optim_free(o);
    /* one group only: L-BFGS */
    o = ag_lbfgs_new(1, &r.a, NULL);
    tu_assert_failed(ag_optim_add_param_group(o, 1, &r.b, NULL), AG_ERR_ARG,
                     "ag_optim_add_param_group: LBFGS takes one parameter group (as "
                     "PyTorch's)", NULL, NULL);
    ck_assert_int_eq(ag_optim_num_groups(o), 1);
    ag_optim_free(o);
    /* Adam's amsgrad decides the state: groups must agree */
    o = ag_adam_new(1, &r.a, NULL);
    ag_adam_opts ams = ag_adam_defaults();
    ams.amsgrad = 1;
    tu_assert_failed(ag_optim_add_param_group(o, 1, &r.b, &ams), AG_ERR_ARG,
                     "ag_optim_add_param_group: amsgrad is 1 but group 0's is 0", NULL, NULL);
    ag_optim_free(o);
    ag_tensor_free(c);
    run_free(&r);
}
END_TEST

/* A module holding a and b ("a", "b"), borrowed by the caller's run. */
static ag_module *module_of(groups_run *r)
{
    ag_module *m = tu_module_new();
    ck_assert_int_eq(ag_module_add_param(m, "a", ag_tensor_clone(r->a)), AG_OK);
    ck_assert_int_eq(ag_module_add_param(m, "b", ag_tensor_clone(r->b)), AG_OK);
    ag_tensor *p[2];
    ck_assert_int_eq(ag_module_parameters(m, p, 2), 2);
    ag_tensor_free(r->a), ag_tensor_free(r->b);
    r->a = p[0], r->b = p[1];
    return m;
}

/* An Adam with a in group 0 (lr .1) and b in group 1 (lr .05, beta1 .8). */
static ag_optim *two_group_adam(groups_run *r)
{
    ag_adam_opts o0 = ag_adam_defaults(), o1;
    o0.lr = 0.1;
    o1 = o0, o1.lr = 0.05, o1.beta1 = 0.8;
    ag_optim *o = ag_adam_new(1, &r->a, &o0);
    ck_assert_int_eq(ag_optim_add_param_group(o, 1, &r->b, &o1), AG_OK);
    return o;
}

/* Two groups and per-parameter steps survive a checkpoint: the resumed run
   takes the same steps as the one that never stopped, bit for bit. */
START_TEST(test_checkpoint_keeps_groups_and_steps)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *path = tu_path(&d, "groups.ckpt");
    groups_run r = run_new(), q = run_new();
    ag_module *m = module_of(&r), *mq = module_of(&q);
    ag_optim *o = two_group_adam(&r), *oq = two_group_adam(&q);
    for (int s = 1; s <= 3; s++) run_step(&r, o, s);       /* b stepped once */
    ck_assert_int_eq(ag_optim_set_group_lr(o, 1, 0.03), AG_OK);
    ck_assert_int_eq(ag_checkpoint_save(path, m, o, NULL), AG_OK);
    ck_assert_msg(ag_checkpoint_load(path, mq, oq, NULL) == AG_OK, "%s", ag_last_error());
    ck_assert_double_eq(state_value(oq, "0.step", 0), 3);
    ck_assert_double_eq(state_value(oq, "1.step", 0), 1);
    ck_assert_double_eq(ag_optim_group_lr(oq, 1), 0.03);
    ck_assert_double_eq(ag_optim_group_base_lr(oq, 1), 0.05);
    ck_assert_double_eq(ag_optim_group_lr(oq, 0), 0.1);
    for (int s = 4; s <= 5; s++) run_step(&r, o, s), run_step(&q, oq, s);
    for (int k = 0; k < 3; k++) ck_assert(ag_tensor_get(r.a, k) == ag_tensor_get(q.a, k));
    for (int k = 0; k < 2; k++) ck_assert(ag_tensor_get(r.b, k) == ag_tensor_get(q.b, k));
    /* one group where the file has two: refused, nothing changed */
    ag_optim *one = ag_adam_new(2, (ag_tensor *[]){q.a, q.b}, NULL);
    tu_assert_failed(ag_checkpoint_load(path, mq, one, NULL), AG_ERR_FORMAT, "the file holds "
                     "'2' parameter groups ('optim.groups'), but the optimizer has 1", NULL,
                     NULL);
    ag_optim_free(one);
    ag_optim_free(o), ag_optim_free(oq);
    ag_module_free(m), ag_module_free(mq);
    r.a = r.b = q.a = q.b = NULL;               /* the modules owned them */
    run_free(&r), run_free(&q);
    tu_dir_remove(&d);
}
END_TEST

/* A version 1 checkpoint (one shared step count, no "<i>.step") loads by
   the documented rule: every parameter's step is optim.steps. */
START_TEST(test_checkpoint_version_1_sets_every_step)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *path = tu_path(&d, "v1.ckpt");
    static const double a[3] = {1, 2, 3}, b[2] = {4, 5}, m0[3] = {.1, .2, .3}, m1[2] = {.4, .5};
    static const double v0[3] = {.01, .02, .03}, v1[2] = {.04, .05};
    const ag_st_tensor raw[6] = {{"a", "F64", 1, SHAPE(3), a}, {"b", "F64", 1, SHAPE(2), b},
                                 {"optim.0.exp_avg", "F64", 1, SHAPE(3), m0},
                                 {"optim.0.exp_avg_sq", "F64", 1, SHAPE(3), v0},
                                 {"optim.1.exp_avg", "F64", 1, SHAPE(2), m1},
                                 {"optim.1.exp_avg_sq", "F64", 1, SHAPE(2), v1}};
    const char *kv[10] = {"ag.checkpoint", "1", "optim.name", "Adam", "optim.steps", "4",
                          "optim.lr", "0.01", "optim.base_lr", "0.02"};
    ck_assert_int_eq(ag_safetensors_write(path, 6, raw, 5, kv), AG_OK);
    groups_run r = run_new();
    ag_module *m = module_of(&r);
    ag_optim *o = ag_adam_new(2, (ag_tensor *[]){r.a, r.b}, NULL);
    ck_assert_msg(ag_checkpoint_load(path, m, o, NULL) == AG_OK, "%s", ag_last_error());
    ck_assert_double_eq(state_value(o, "0.step", 0), 4);
    ck_assert_double_eq(state_value(o, "1.step", 0), 4);
    ck_assert_double_eq(state_value(o, "1.exp_avg", 1), 0.5);
    ck_assert_double_eq(ag_optim_get_lr(o), 0.01);
    ck_assert_double_eq(ag_optim_base_lr(o), 0.02);
    ck_assert_int_eq(ag_optim_steps(o), 4);
    ck_assert_double_eq(ag_tensor_get(r.b, 1), 5);
    ag_optim_free(o);
    /* two groups: a version 1 file cannot say how to fill them */
    o = two_group_adam(&r);
    tu_assert_failed(ag_checkpoint_load(path, m, o, NULL), AG_ERR_FORMAT, "a version 1 "
                     "checkpoint holds one parameter group, but the optimizer has 2", NULL,
                     NULL);
    ag_optim_free(o);
    ag_module_free(m);
    r.a = r.b = NULL;
    run_free(&r);
    tu_dir_remove(&d);
}
END_TEST

/* Writes values into o's state name (the import of a PyTorch state). */
static void set_state(ag_optim *o, const char *name, int n, const double *v)
{
    ag_named_tensor st[16];
    int k, count = ag_optim_state(o, st, 16);
    for (k = 0; k < count && strcmp(st[k].name, name); k++) continue;
    ck_assert_msg(k < count, "no state '%s'", name);
    ck_assert_int_eq(ag_tensor_numel(st[k].tensor), n);
    for (int i = 0; i < n; i++) ck_assert_int_eq(ag_tensor_set(st[k].tensor, i, v[i]), AG_OK);
}

/* Parameters and state of a PyTorch optimizer after step 3 of the script,
   imported name for name; steps 4 and 5 then give PyTorch's parameters. */
static void import_and_finish(groups_run *r, ag_optim *o, const double after3[5],
                              const double want[5])
{
    for (int k = 0; k < 5; k++)
        ag_tensor_set(k < 3 ? r->a : r->b, k < 3 ? k : k - 3, after3[k]);
    ck_assert_int_eq(ag_optim_check_state(o), AG_OK);
    for (int s = 4; s <= 5; s++) run_step(r, o, s);
    for (int k = 0; k < 5; k++) {
        double got = ag_tensor_get(k < 3 ? r->a : r->b, k < 3 ? k : k - 3);
        ck_assert_msg(fabs(got - want[k]) <= 1e-12, "%s element %d: %.17g, torch %.17g",
                      ag_optim_name(o), k, got, want[k]);
    }
    ag_optim_free(o);
    run_free(r);
}

/* torch.optim.Adam([a, b], lr .1, amsgrad=True): state_dict()['state']
   after 3 steps (b's first grad at step 3), imported. */
START_TEST(test_adam_imports_torch_state)
{
    groups_run r = run_new();
    ag_adam_opts op = ag_adam_defaults();
    op.lr = 0.1, op.amsgrad = 1;
    ag_optim *o = ag_adam_new(2, (ag_tensor *[]){r.a, r.b}, &op);
    set_state(o, "0.step", 1, VALS(3));
    set_state(o, "0.exp_avg", 3, VALS(0.2420412230612338, -1.5390499458291707,
                                      0.63971245234691054));
    set_state(o, "0.exp_avg_sq", 3, VALS(0.0024478507392712789, 0.097550940399842995,
                                         0.018001948046408214));
    set_state(o, "0.max_exp_avg_sq", 3, VALS(0.0024478507392712789, 0.097550940399842995,
                                             0.018001948046408214));
    set_state(o, "1.step", 1, VALS(1));
    set_state(o, "1.exp_avg", 2, VALS(0.33749999999999991, -0.018749999999999996));
    set_state(o, "1.exp_avg_sq", 2, VALS(0.01139062500000001, 3.5156250000000031e-05));
    set_state(o, "1.max_exp_avg_sq", 2, VALS(0.01139062500000001, 3.5156250000000031e-05));
    import_and_finish(&r, o, VALS(0.70158627450441502, -1.7006233917912488, 0.20487125044086524,
                                  0.65000000029629634, -0.15000000533333305),
                      VALS(0.50796366192722098, -1.5029557808623537, 0.027814447930519542,
                           0.45663462110527092, 0.010032566891106584));
}
END_TEST

/* torch.optim.SGD([a, b], lr .1, momentum .9, dampening .1): its state has
   momentum_buffer only; "step" is set to 1 where one exists (the rule in
   ag_optimizers.h). */
START_TEST(test_sgd_imports_torch_state)
{
    groups_run r = run_new();
    ag_optim *o = ag_sgd_new(2, (ag_tensor *[]){r.a, r.b},
                             &(ag_sgd_opts){.lr = 0.1, .momentum = 0.9, .dampening = 0.1});
    set_state(o, "0.momentum_buffer", 3, VALS(2.1951000000000001, -9.5633999999999997,
                                              2.4407999999999999));
    set_state(o, "1.momentum_buffer", 2, VALS(3.375, -0.1875));
    set_state(o, "0.step", 1, VALS(1));
    set_state(o, "1.step", 1, VALS(1));
    import_and_finish(&r, o, VALS(0.50949, 0.47434000000000015, -0.42208000000000007,
                                  0.41249999999999998, -0.23125000000000001),
                      VALS(0.023058188999999948, 1.5404619460000002, -0.18293516799999995,
                           -0.33935891512558602, -0.16096089890539092));
}
END_TEST

Suite *suite_optim_groups(void)
{
    Suite *s = suite_create("optim_groups");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_sgd_groups_late_grad_torch);
    tcase_add_test(tc, test_sgd_nesterov_groups_late_grad_torch);
    tcase_add_test(tc, test_adagrad_groups_late_grad_torch);
    tcase_add_test(tc, test_adadelta_groups_late_grad_torch);
    tcase_add_test(tc, test_rmsprop_groups_late_grad_torch);
    tcase_add_test(tc, test_adam_groups_late_grad_torch);
    tcase_add_test(tc, test_adamw_groups_late_grad_torch);
    tcase_add_test(tc, test_adamax_groups_late_grad_torch);
    tcase_add_test(tc, test_nadam_groups_late_grad_torch);
    tcase_add_test(tc, test_group_lrs_and_default_options);
    tcase_add_test(tc, test_add_param_group_rejects_bad_groups);
    tcase_add_test(tc, test_checkpoint_keeps_groups_and_steps);
    tcase_add_test(tc, test_checkpoint_version_1_sets_every_step);
    tcase_add_test(tc, test_adam_imports_torch_state);
    tcase_add_test(tc, test_sgd_imports_torch_state);
    suite_add_tcase(s, tc);
    return s;
}
