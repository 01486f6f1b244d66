/*
** test_optim_options.c: per-group options by name (ag_optim_group_option,
** ag_optim_set_group_option, ag_optim_option_names). For every optimizer
** with groups: options read back as constructed, per group; an optimizer
** made with base options and then set by name to others takes, step for
** step, the bits of one constructed with those others; SGD's weight
** decay set on one group gives the published update by hand; errors
** (unknown names listed, flags, ranges, options that decide the state,
** groups out of range, L-BFGS) change nothing.
*/
#include "test_util.h"

/* ------------------------------------------------------- the cases --- */

/* An optimizer made with its case's options (custom) or the base ones. */
typedef ag_optim *(*make_fn)(int n, ag_tensor *const *params, int custom);

static ag_optim *make_sgd(int n, ag_tensor *const *p, int custom)
{
    ag_sgd_opts o = ag_sgd_defaults();
    o.lr = 0.1, o.momentum = 0.5;
    if (custom) o.momentum = 0.9, o.dampening = 0.2, o.weight_decay = 0.01, o.maximize = 1;
    return ag_sgd_new(n, p, &o);
}

static ag_optim *make_nesterov(int n, ag_tensor *const *p, int custom)
{
    ag_sgd_opts o = ag_sgd_defaults();
    o.lr = 0.1, o.momentum = 0.9, o.nesterov = custom;
    return ag_sgd_new(n, p, &o);
}

static ag_adam_opts adam_opts(int custom, int w)
{
    ag_adam_opts o = w ? ag_adamw_defaults() : ag_adam_defaults();
    o.lr = 0.01, o.amsgrad = 1;
    if (custom) o.beta1 = 0.8, o.beta2 = 0.99, o.eps = 1e-6, o.weight_decay = 0.1;
    return o;
}

static ag_optim *make_adam(int n, ag_tensor *const *p, int custom)
{
    ag_adam_opts o = adam_opts(custom, 0);
    return ag_adam_new(n, p, &o);
}

static ag_optim *make_adamw(int n, ag_tensor *const *p, int custom)
{
    ag_adam_opts o = adam_opts(custom, 1);
    return ag_adamw_new(n, p, &o);
}

static ag_optim *make_adamax(int n, ag_tensor *const *p, int custom)
{
    ag_adamax_opts o = ag_adamax_defaults();
    if (custom) o.beta1 = 0.7, o.beta2 = 0.95, o.eps = 1e-5, o.weight_decay = 0.05, o.maximize = 1;
    return ag_adamax_new(n, p, &o);
}

static ag_optim *make_nadam(int n, ag_tensor *const *p, int custom)
{
    ag_nadam_opts o = ag_nadam_defaults();
    if (custom)
        o.beta1 = 0.85, o.beta2 = 0.98, o.eps = 1e-7, o.weight_decay = 0.02,
        o.momentum_decay = 5e-3, o.decoupled_weight_decay = 1;
    return ag_nadam_new(n, p, &o);
}

static ag_optim *make_adagrad(int n, ag_tensor *const *p, int custom)
{
    ag_adagrad_opts o = ag_adagrad_defaults();
    if (custom) o.lr_decay = 0.01, o.weight_decay = 0.03, o.eps = 1e-9, o.maximize = 1;
    return ag_adagrad_new(n, p, &o);
}

static ag_optim *make_adadelta(int n, ag_tensor *const *p, int custom)
{
    ag_adadelta_opts o = ag_adadelta_defaults();
    if (custom) o.rho = 0.8, o.eps = 1e-5, o.weight_decay = 0.02, o.maximize = 1;
    return ag_adadelta_new(n, p, &o);
}

static ag_optim *make_rmsprop(int n, ag_tensor *const *p, int custom)
{
    ag_rmsprop_opts o = ag_rmsprop_defaults();
    o.momentum = 0.3, o.centered = 1;
    if (custom) o.alpha = 0.9, o.eps = 1e-6, o.weight_decay = 0.01, o.momentum = 0.8;
    return ag_rmsprop_new(n, p, &o);
}

#define MAX_SET 7

/* The options that differ between custom and base, with custom's values. */
typedef struct opt_case {
    const char *what;
    make_fn make;
    int n_set;
    const char *names[MAX_SET];
    double values[MAX_SET];
} opt_case;

static const opt_case cases[] = {
    {"SGD", make_sgd, 4, {"momentum", "dampening", "weight_decay", "maximize"},
     {0.9, 0.2, 0.01, 1}},
    {"SGD (nesterov)", make_nesterov, 1, {"nesterov"}, {1}},
    {"Adam", make_adam, 4, {"beta1", "beta2", "eps", "weight_decay"}, {0.8, 0.99, 1e-6, 0.1}},
    {"AdamW", make_adamw, 4, {"beta1", "beta2", "eps", "weight_decay"}, {0.8, 0.99, 1e-6, 0.1}},
    {"Adamax", make_adamax, 5, {"beta1", "beta2", "eps", "weight_decay", "maximize"},
     {0.7, 0.95, 1e-5, 0.05, 1}},
    {"NAdam", make_nadam, 6,
     {"beta1", "beta2", "eps", "weight_decay", "momentum_decay", "decoupled_weight_decay"},
     {0.85, 0.98, 1e-7, 0.02, 5e-3, 1}},
    {"Adagrad", make_adagrad, 4, {"lr_decay", "weight_decay", "eps", "maximize"},
     {0.01, 0.03, 1e-9, 1}},
    {"Adadelta", make_adadelta, 4, {"rho", "eps", "weight_decay", "maximize"},
     {0.8, 1e-5, 0.02, 1}},
    {"RMSprop", make_rmsprop, 4, {"alpha", "eps", "weight_decay", "momentum"},
     {0.9, 1e-6, 0.01, 0.8}},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

/* ------------------------------------------------------- the steps --- */

/* One step of each of os[0..n): grads of sum(sin(3 a) + a^2 c) into a and
   of sum(b^3) into b. */
static void step(int n, ag_optim *const *os, ag_tensor *a, ag_tensor *b)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *c = ag_from_f64(t, AG_F64, 1, SHAPE(3), VALS(0.5, -1, 2));
    ag_tensor *la = ag_sum(t, ag_add(t, ag_sin(t, ag_mul_scalar(t, a, 3)),
                                     ag_mul(t, ag_mul(t, a, a), c)), AG_ALL, 0);
    ag_tensor *lb = ag_sum(t, ag_mul(t, ag_mul(t, b, b), b), AG_ALL, 0);
    for (int k = 0; k < n; k++) ag_optim_zero_grad(os[k]);
    ck_assert_msg(ag_backward(t, ag_add(t, la, lb)) == AG_OK, "%s", ag_tape_errmsg(t));
    for (int k = 0; k < n; k++) ck_assert_msg(ag_optim_step(os[k]) == AG_OK, "%s", ag_last_error());
    ag_tape_free(t);
}

static ag_tensor *param(const double *v, int n)
{
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(n), v);
    ag_set_requires_grad(p, 1);
    return p;
}

static const double a0[3] = {0.3, -0.7, 1.1}, b0[2] = {0.4, -0.2};

/* Every case: group 1 (added with the base options) set by name to the
   custom ones steps bit for bit as an optimizer made with them, group 0
   as one made with the base ones; the values read back; and the custom
   options do change the steps (so the comparison can fail). */
static void check_case(const opt_case *c)
{
    ag_tensor *a1 = param(a0, 3), *b1 = param(b0, 2), *a2 = param(a0, 3), *b2 = param(b0, 2);
    ag_tensor *a3 = param(a0, 3), *b3 = param(b0, 2);
    ag_optim *set = c->make(1, &a1, 0), *ref0 = c->make(1, &a2, 0), *ref1 = c->make(1, &b2, 1);
    ag_optim *plain = c->make(1, &b3, 0), *unused = c->make(1, &a3, 0);
    ck_assert_int_eq(ag_optim_add_param_group(set, 1, &b1, NULL), AG_OK);
    for (int i = 0; i < c->n_set; i++) {
        double v = -1;
        ck_assert_int_eq(ag_optim_group_option(ref1, 0, c->names[i], &v), AG_OK);
        ck_assert_msg(v == c->values[i], "%s: %s reads %g, made with %g", c->what, c->names[i],
                      v, c->values[i]);
        ck_assert_msg(ag_optim_set_group_option(set, 1, c->names[i], c->values[i]) == AG_OK,
                      "%s: %s", c->what, ag_last_error());
        ck_assert_int_eq(ag_optim_group_option(set, 1, c->names[i], &v), AG_OK);
        ck_assert_double_eq(v, c->values[i]);
    }
    for (int s = 0; s < 3; s++) {
        step(1, &set, a1, b1);
        step(2, (ag_optim *[]){ref0, ref1}, a2, b2);
        step(2, (ag_optim *[]){unused, plain}, a3, b3);
    }
    int differs = 0;
    for (int i = 0; i < 3; i++)
        ck_assert_msg(ag_tensor_get(a1, i) == ag_tensor_get(a2, i), "%s: group 0 element %d",
                      c->what, i);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(ag_tensor_get(b1, i) == ag_tensor_get(b2, i), "%s: group 1 element %d: "
                      "%.17g, made with the options %.17g", c->what, i, ag_tensor_get(b1, i),
                      ag_tensor_get(b2, i));
        differs |= ag_tensor_get(b3, i) != ag_tensor_get(b2, i);
    }
    ck_assert_msg(differs, "%s: the options changed nothing", c->what);
    ag_optim *all[5] = {set, ref0, ref1, plain, unused};
    for (int k = 0; k < 5; k++) ag_optim_free(all[k]);
    ag_tensor *ps[6] = {a1, b1, a2, b2, a3, b3};
    for (int k = 0; k < 6; k++) ag_tensor_free(ps[k]);
}

START_TEST(test_set_by_name_as_constructed)
{
    for (int k = 0; k < N_CASES; k++) check_case(&cases[k]);
}
END_TEST

/* Every name ag_optim_option_names lists reads back; lr is the group's. */
START_TEST(test_names_and_lr)
{
    ag_tensor *a = param(a0, 3), *b = param(b0, 2);
    ag_optim *o = make_adam(1, &a, 1);
    ck_assert_int_eq(ag_optim_add_param_group(o, 1, &b, NULL), AG_OK);
    const char *names[16];
    int n = ag_optim_option_names(o, names, 16);
    ck_assert_int_eq(n, 7);
    static const char *want[7] = {"lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad",
                                  "maximize"};
    static const double val[7] = {0.01, 0.8, 0.99, 1e-6, 0.1, 1, 0};
    for (int i = 0; i < n; i++) {
        double v;
        ck_assert_str_eq(names[i], want[i]);
        ck_assert_int_eq(ag_optim_group_option(o, 1, names[i], &v), AG_OK);
        ck_assert_double_eq(v, val[i]);
    }
    ck_assert_int_eq(ag_optim_option_names(o, NULL, 0), 7);
    ck_assert_int_eq(ag_optim_option_names(o, names, 2), 7);
    ck_assert_str_eq(names[1], "beta1");
    /* "lr" is the group's lr; the base lr stays */
    ck_assert_int_eq(ag_optim_set_group_option(o, 1, "lr", 0.5), AG_OK);
    ck_assert_double_eq(ag_optim_group_lr(o, 1), 0.5);
    ck_assert_double_eq(ag_optim_group_base_lr(o, 1), 0.01);
    ck_assert_double_eq(ag_optim_group_lr(o, 0), 0.01);
    ag_optim_free(o);
    ag_tensor_free(a), ag_tensor_free(b);
}
END_TEST

/* SGD without momentum, weight decay 0.5 set on group 1 only:
   p -= lr (g + wd p), by hand. */
START_TEST(test_weight_decay_by_hand)
{
    ag_tensor *a = param(a0, 3), *b = param(b0, 2);
    ag_sgd_opts so = ag_sgd_defaults();
    so.lr = 0.1;
    ag_optim *o = ag_sgd_new(1, &a, &so);
    ck_assert_int_eq(ag_optim_add_param_group(o, 1, &b, NULL), AG_OK);
    ck_assert_int_eq(ag_optim_set_group_option(o, 1, "weight_decay", 0.5), AG_OK);
    step(1, &o, a, b);
    static const double c[3] = {0.5, -1, 2};
    for (int i = 0; i < 3; i++) {              /* d/da sin(3a) + c a^2 = 3 cos(3a) + 2 c a */
        double g = 3 * cos(3 * a0[i]) + 2 * c[i] * a0[i];
        ck_assert_double_eq_tol(ag_tensor_get(a, i), a0[i] - 0.1 * g, 1e-15);
    }
    for (int i = 0; i < 2; i++) {              /* d/db b^3 = 3 b^2 */
        double g = 3 * b0[i] * b0[i] + 0.5 * b0[i];
        ck_assert_double_eq_tol(ag_tensor_get(b, i), b0[i] - 0.1 * g, 1e-15);
    }
    ag_optim_free(o);
    ag_tensor_free(a), ag_tensor_free(b);
}
END_TEST

/* Asserts status s is AG_ERR_ARG with both parts in the message. */
static void assert_refused(ag_status s, const char *part1, const char *part2)
{
    ck_assert_msg(s == AG_ERR_ARG, "status %s: %s", ag_status_name(s), ag_last_error());
    ck_assert_msg(strstr(ag_last_error(), part1), "'%s' lacks '%s'", ag_last_error(), part1);
    ck_assert_msg(!part2 || strstr(ag_last_error(), part2), "'%s' lacks '%s'", ag_last_error(),
                  part2);
}

START_TEST(test_errors_change_nothing)
{
    ag_tensor *a = param(a0, 3), *b = param(b0, 2);
    ag_sgd_opts so = ag_sgd_defaults();
    so.lr = 0.1, so.momentum = 0.9;
    ag_optim *o = ag_sgd_new(1, &a, &so);
    double v = 7;
    assert_refused(ag_optim_group_option(o, 0, "betas", &v), "ag_optim_group_option: SGD has "
                   "no option 'betas'", "(its options: lr, momentum, dampening, weight_decay, "
                   "nesterov, maximize)");
    ck_assert_double_eq(v, 7);
    assert_refused(ag_optim_group_option(o, 1, "momentum", &v), "group 1 of 1", NULL);
    assert_refused(ag_optim_group_option(o, 0, "momentum", NULL), "value is NULL", NULL);
    assert_refused(ag_optim_group_option(o, 0, NULL, &v), "name is NULL", NULL);
    assert_refused(ag_optim_group_option(NULL, 0, "lr", &v), "optimizer is NULL", NULL);
    assert_refused(ag_optim_set_group_option(o, 0, "momentum", 0), "momentum is 0 but group 0's "
                   "is 0.9", "all have momentum or none");
    assert_refused(ag_optim_set_group_option(o, 0, "weight_decay", -1), "weight_decay", "-1");
    assert_refused(ag_optim_set_group_option(o, 0, "nesterov", 2), "SGD's nesterov is a flag: "
                   "0 or 1, not 2", NULL);
    ck_assert_int_eq(ag_optim_set_group_option(o, 0, "dampening", 0.5), AG_OK);
    assert_refused(ag_optim_set_group_option(o, 0, "nesterov", 1), "nesterov needs momentum > 0 "
                   "and dampening 0", NULL);
    assert_refused(ag_optim_set_group_option(o, 0, "lr", -2), "ag_optim_set_group_lr", NULL);
    static const char *names[5] = {"momentum", "dampening", "weight_decay", "nesterov", "lr"};
    static const double want[5] = {0.9, 0.5, 0, 0, 0.1};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(ag_optim_group_option(o, 0, names[i], &v), AG_OK);
        ck_assert_double_eq(v, want[i]);
    }
    ag_optim_free(o);
    /* Adam's amsgrad decides its state: fixed */
    o = make_adam(1, &a, 0);
    assert_refused(ag_optim_set_group_option(o, 0, "amsgrad", 0), "amsgrad is 0 but group 0's "
                   "is 1", NULL);
    assert_refused(ag_optim_set_group_option(o, 0, "beta1", 1.5), "beta1", "1.5");
    ck_assert_int_eq(ag_optim_group_option(o, 0, "beta1", &v), AG_OK);
    ck_assert_double_eq(v, 0.9);
    ag_optim_free(o);
    /* L-BFGS has one group: its lr reads, no option by name does */
    o = ag_lbfgs_new(1, &b, NULL);
    ck_assert_int_eq(ag_optim_group_option(o, 0, "lr", &v), AG_OK);
    ck_assert_double_eq(v, ag_optim_get_lr(o));
    assert_refused(ag_optim_set_group_option(o, 0, "history_size", 3), "LBFGS has no per-group "
                   "options", NULL);
    ck_assert_int_eq(ag_optim_option_names(o, NULL, 0), 0);
    ag_optim_free(o);
    ag_tensor_free(a), ag_tensor_free(b);
}
END_TEST

Suite *suite_optim_options(void)
{
    Suite *s = suite_create("optim_options");
    TU_ADD(s, test_set_by_name_as_constructed);
    TU_ADD(s, test_names_and_lr);
    TU_ADD(s, test_weight_decay_by_hand);
    TU_ADD(s, test_errors_change_nothing);
    return s;
}
