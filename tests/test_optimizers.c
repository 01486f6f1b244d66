/*
** test_optimizers.c: SGD, Adagrad, Adadelta and RMSprop. For each: the
** first three steps against the published update rule written out in
** plain C below (non-default options exercised), convergence on a convex
** quadratic, the state created up front with PyTorch's names, and the
** hyper-parameter checks. Also what all optimizers share: a parameter with
** no grad is skipped, set_lr takes effect, f32 parameters. Adam and its
** kin are in test_optimizers_adam.c.
*/
#include "optim_test_util.h"

/* ------------------------------------------------- reference updates --- */

static void sgd_ref(const void *opts, double *p, ot_state *st, int t)
{
    const ag_sgd_opts *o = opts;
    for (int k = 0; k < 3; k++) {
        double g = 2 * OT_C[k] * p[k];
        if (o->maximize) g = -g;
        g += o->weight_decay * p[k];
        if (o->momentum != 0) {
            double b = t == 1 ? g : o->momentum * st->s[0][k] + (1 - o->dampening) * g;
            st->s[0][k] = b;
            g = o->nesterov ? g + o->momentum * b : b;
        }
        p[k] -= o->lr * g;
    }
}

static void adagrad_ref(const void *opts, double *p, ot_state *st, int t)
{
    const ag_adagrad_opts *o = opts;
    double clr = o->lr / (1 + (t - 1) * o->lr_decay);
    for (int k = 0; k < 3; k++) {
        double g = 2 * OT_C[k] * p[k] + o->weight_decay * p[k];
        if (t == 1) st->s[0][k] = o->initial_accumulator_value;
        st->s[0][k] += g * g;
        p[k] -= clr * g / (sqrt(st->s[0][k]) + o->eps);
    }
}

static void adadelta_ref(const void *opts, double *p, ot_state *st, int t)
{
    const ag_adadelta_opts *o = opts;
    (void)t;
    for (int k = 0; k < 3; k++) {
        double g = 2 * OT_C[k] * p[k] + o->weight_decay * p[k];
        double *v = &st->s[0][k], *u = &st->s[1][k];
        *v = o->rho * *v + (1 - o->rho) * g * g;
        double d = sqrt(*u + o->eps) / sqrt(*v + o->eps) * g;
        *u = o->rho * *u + (1 - o->rho) * d * d;
        p[k] -= o->lr * d;
    }
}

/* st: s[0] square_avg, s[1] momentum_buffer, s[2] grad_avg */
static void rmsprop_ref(const void *opts, double *p, ot_state *st, int t)
{
    const ag_rmsprop_opts *o = opts;
    (void)t;
    for (int k = 0; k < 3; k++) {
        double g = 2 * OT_C[k] * p[k] + o->weight_decay * p[k];
        double a = o->alpha;
        st->s[0][k] = a * st->s[0][k] + (1 - a) * g * g;
        double v = st->s[0][k];
        if (o->centered) {
            st->s[2][k] = a * st->s[2][k] + (1 - a) * g;
            v -= st->s[2][k] * st->s[2][k];
        }
        double step = g / (sqrt(v) + o->eps);
        if (o->momentum > 0) step = st->s[1][k] = o->momentum * st->s[1][k] + step;
        p[k] -= o->lr * step;
    }
}

/* ------------------------------------------------------------------ SGD --- */

START_TEST(test_sgd_plain_three_steps)
{
    ag_sgd_opts op = ag_sgd_defaults();
    op.lr = 0.1;
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_sgd_new(1, &p, &op);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(ag_optim_name(o), "SGD");
    ag_named_tensor only[2];                                /* no momentum: no buffer */
    ck_assert_int_eq(ag_optim_state(o, only, 2), 1);
    ck_assert_str_eq(only[0].name, "0.step");
    ot_state st;
    ot_check_three_steps(o, p, sgd_ref, &op, &st);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_sgd_nesterov_weight_decay_three_steps)
{
    ag_sgd_opts op = {.lr = 0.05, .momentum = 0.9, .weight_decay = 0.01, .nesterov = 1};
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_sgd_new(1, &p, &op);
    ck_assert_ptr_nonnull(o);
    ot_state st;
    ot_check_three_steps(o, p, sgd_ref, &op, &st);
    ot_assert_state(o, "0.momentum_buffer", st.s[0]);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_sgd_dampened_momentum_maximize_three_steps)
{
    /* first step: buffer = g (no dampening); later: 0.8 b + 0.7 g */
    ag_sgd_opts op = {.lr = 0.02, .momentum = 0.8, .dampening = 0.3, .weight_decay = 0.1,
                      .maximize = 1};
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_sgd_new(1, &p, &op);
    ot_state st;
    ot_check_three_steps(o, p, sgd_ref, &op, &st);
    ot_assert_state(o, "0.momentum_buffer", st.s[0]);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_sgd_converges)
{
    ag_tensor *p = ot_param(VALS(0, 0, 0));
    ag_sgd_opts op = {.lr = 0.05, .momentum = 0.9, .nesterov = 1};
    ag_optim *o = ag_sgd_new(1, &p, &op);
    ck_assert_double_le(ot_converge(o, p, 300), 1e-9);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_sgd_rejects_bad_options)
{
    ag_tensor *p = ot_param(OT_P0);
    ag_sgd_opts op = ag_sgd_defaults();
    op.lr = -0.1;
    ot_assert_fails(ag_sgd_new(1, &p, &op), "ag_sgd_new", "lr is -0.1");
    op = ag_sgd_defaults();                 /* no lr: required, as PyTorch's */
    ot_assert_fails(ag_sgd_new(1, &p, &op), "ag_sgd_new", "lr is required (SGD has no default "
                    "learning rate, as in PyTorch): set ag_sgd_opts.lr");
    ot_assert_fails(ag_sgd_new(1, &p, NULL), "ag_sgd_new", "lr is required");
    op.lr = INFINITY;
    ot_assert_fails(ag_sgd_new(1, &p, &op), "ag_sgd_new", "lr is inf");
    op = (ag_sgd_opts){.lr = 0.1}, op.momentum = -1;
    ot_assert_fails(ag_sgd_new(1, &p, &op), "ag_sgd_new", "momentum is -1, must be");
    op = (ag_sgd_opts){.lr = 0.1}, op.weight_decay = INFINITY;
    ot_assert_fails(ag_sgd_new(1, &p, &op), "ag_sgd_new", "weight_decay is inf");
    op = (ag_sgd_opts){.lr = 0.1}, op.dampening = 1.5;
    ot_assert_fails(ag_sgd_new(1, &p, &op), "ag_sgd_new", "dampening is 1.5, must be in [0, 1]");
    op = (ag_sgd_opts){.lr = 0.1}, op.nesterov = 1;
    ot_assert_fails(ag_sgd_new(1, &p, &op), "ag_sgd_new: nesterov needs momentum > 0",
                    "momentum is 0");
    op.momentum = 0.9, op.dampening = 0.1;
    ot_assert_fails(ag_sgd_new(1, &p, &op), "nesterov needs", "dampening 0.1");
    /* the parameter list (checked by the optimizer base) */
    op = (ag_sgd_opts){.lr = 0.1};
    ot_assert_fails(ag_sgd_new(0, &p, &op), "SGD", "no parameters");
    ot_assert_fails(ag_sgd_new(1, NULL, &op), "SGD", "no parameters");
    ag_tensor *two[2] = {p, p};
    ot_assert_fails(ag_sgd_new(2, two, &op), "SGD", "parameter 1 repeats 0");
    two[1] = NULL;
    ot_assert_fails(ag_sgd_new(2, two, &op), "SGD", "parameter 1 is NULL");
    ag_tensor_free(p);
}
END_TEST

/* ------------------------------------------------------------- Adagrad --- */

START_TEST(test_adagrad_three_steps)
{
    ag_adagrad_opts op = {.lr = 0.1, .lr_decay = 0.05, .weight_decay = 0.02,
                          .initial_accumulator_value = 0.3, .eps = 1e-10};
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_adagrad_new(1, &p, &op);
    ck_assert_ptr_nonnull(o);
    ot_assert_state(o, "0.sum", VALS(0.3, 0.3, 0.3));         /* filled up front */
    ot_state st;
    ot_check_three_steps(o, p, adagrad_ref, &op, &st);
    ot_assert_state(o, "0.sum", st.s[0]);
    ag_optim_free(o);
    /* defaults, eps 1e-10 mattering not at all here but lr 1e-2 */
    p = (ag_tensor_free(p), ot_param(OT_P0));
    op = ag_adagrad_defaults();
    o = ag_adagrad_new(1, &p, NULL);
    ot_check_three_steps(o, p, adagrad_ref, &op, &st);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_adagrad_converges)
{
    ag_tensor *p = ot_param(VALS(0, 0, 0));
    ag_adagrad_opts op = ag_adagrad_defaults();
    op.lr = 0.5;
    ag_optim *o = ag_adagrad_new(1, &p, &op);
    ck_assert_double_le(ot_converge(o, p, 300), 1e-9);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_adagrad_rejects_bad_options)
{
    ag_tensor *p = ot_param(OT_P0);
    ag_adagrad_opts op = ag_adagrad_defaults();
    op.lr_decay = -1;
    ot_assert_fails(ag_adagrad_new(1, &p, &op), "ag_adagrad_new", "lr_decay is -1");
    op = ag_adagrad_defaults(), op.initial_accumulator_value = -0.5;
    ot_assert_fails(ag_adagrad_new(1, &p, &op), "ag_adagrad_new",
                    "initial_accumulator_value is -0.5");
    op = ag_adagrad_defaults(), op.eps = -1e-3;
    ot_assert_fails(ag_adagrad_new(1, &p, &op), "ag_adagrad_new", "eps is -0.001");
    ag_tensor_free(p);
}
END_TEST

/* ------------------------------------------------------------ Adadelta --- */

START_TEST(test_adadelta_three_steps)
{
    ag_adadelta_opts op = {.lr = 0.5, .rho = 0.8, .eps = 1e-3, .weight_decay = 0.01};
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_adadelta_new(1, &p, &op);
    ck_assert_ptr_nonnull(o);
    ot_state st;
    ot_check_three_steps(o, p, adadelta_ref, &op, &st);
    ot_assert_state(o, "0.square_avg", st.s[0]);
    ot_assert_state(o, "0.acc_delta", st.s[1]);
    ag_optim_free(o);
    p = (ag_tensor_free(p), ot_param(OT_P0));
    op = ag_adadelta_defaults();
    ck_assert_double_eq(op.lr, 1.0);
    o = ag_adadelta_new(1, &p, NULL);
    ot_check_three_steps(o, p, adadelta_ref, &op, &st);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_adadelta_converges)
{
    ag_tensor *p = ot_param(VALS(0, 0, 0));
    ag_adadelta_opts op = ag_adadelta_defaults();
    op.eps = 1e-4;                      /* the default 1e-6 needs ~900 steps here */
    ag_optim *o = ag_adadelta_new(1, &p, &op);
    ck_assert_double_le(ot_converge(o, p, 300), 1e-9);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_adadelta_rejects_bad_options)
{
    ag_tensor *p = ot_param(OT_P0);
    ag_adadelta_opts op = ag_adadelta_defaults();
    op.rho = 1.1;
    ot_assert_fails(ag_adadelta_new(1, &p, &op), "ag_adadelta_new",
                    "rho is 1.1, must be in [0, 1]");
    op = ag_adadelta_defaults(), op.weight_decay = -1;
    ot_assert_fails(ag_adadelta_new(1, &p, &op), "ag_adadelta_new", "weight_decay is -1");
    ag_tensor_free(p);
}
END_TEST

/* ------------------------------------------------------------- RMSprop --- */

START_TEST(test_rmsprop_centered_momentum_three_steps)
{
    ag_rmsprop_opts op = {.lr = 0.01, .alpha = 0.9, .eps = 1e-8, .weight_decay = 0.01,
                          .momentum = 0.5, .centered = 1};
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_rmsprop_new(1, &p, &op);
    ck_assert_ptr_nonnull(o);
    ag_named_tensor names[4];
    ck_assert_int_eq(ag_optim_state(o, names, 4), 4);
    ck_assert_str_eq(names[0].name, "0.square_avg");
    ck_assert_str_eq(names[1].name, "0.momentum_buffer");
    ck_assert_str_eq(names[2].name, "0.grad_avg");
    ck_assert_str_eq(names[3].name, "0.step");
    ot_state st;
    ot_check_three_steps(o, p, rmsprop_ref, &op, &st);
    ot_assert_state(o, "0.square_avg", st.s[0]);
    ot_assert_state(o, "0.momentum_buffer", st.s[1]);
    ot_assert_state(o, "0.grad_avg", st.s[2]);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_rmsprop_plain_three_steps)
{
    ag_rmsprop_opts op = ag_rmsprop_defaults();
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_rmsprop_new(1, &p, NULL);
    ck_assert_int_eq(ag_optim_state(o, NULL, 0), 2);        /* square_avg, step */
    ot_state st;
    ot_check_three_steps(o, p, rmsprop_ref, &op, &st);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_rmsprop_converges)
{
    ag_tensor *p = ot_param(VALS(0, 0, 0));
    ag_rmsprop_opts op = ag_rmsprop_defaults();
    op.momentum = 0.5, op.centered = 1;
    ag_optim *o = ag_rmsprop_new(1, &p, &op);
    ck_assert_double_le(ot_converge(o, p, 400), 1e-9);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_rmsprop_rejects_bad_options)
{
    ag_tensor *p = ot_param(OT_P0);
    ag_rmsprop_opts op = ag_rmsprop_defaults();
    op.alpha = -0.1;
    ot_assert_fails(ag_rmsprop_new(1, &p, &op), "ag_rmsprop_new", "alpha is -0.1");
    op = ag_rmsprop_defaults(), op.momentum = -0.5;
    ot_assert_fails(ag_rmsprop_new(1, &p, &op), "ag_rmsprop_new", "momentum is -0.5");
    ag_tensor_free(p);
}
END_TEST

/* ------------------------------------------------------------ common --- */

START_TEST(test_param_without_grad_is_skipped)
{
    ag_tensor *p[2] = {ot_param(OT_P0), ot_param(VALS(4, 5, 6))};
    ag_sgd_opts op = {.lr = 0.1, .momentum = 0.9};
    ag_optim *o = ag_sgd_new(2, p, &op);
    ck_assert_int_eq(ag_optim_num_params(o), 2);
    ck_assert_ptr_eq(ag_optim_param(o, 1), p[1]);
    ag_tape *t = ag_tape_new();
    ot_step(o, t, p[0], OT_C);          /* backward reaches p[0] only */
    tu_assert_values(p[1], VALS(4, 5, 6), 3, 0);
    tu_assert_values(ot_state_tensor(o, "1.momentum_buffer"), VALS(0, 0, 0), 3, 0);
    double g0[3];
    for (int k = 0; k < 3; k++) g0[k] = OT_P0[k] - 0.1 * 2 * OT_C[k] * OT_P0[k];
    tu_assert_values(p[0], g0, 3, 1e-15);
    ag_tape_free(t);
    ag_optim_free(o);
    ag_tensor_free(p[0]);
    ag_tensor_free(p[1]);
}
END_TEST

START_TEST(test_set_lr_takes_effect)
{
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_sgd_new(1, &p, &(ag_sgd_opts){.lr = 1e-3});
    ck_assert_double_eq(ag_optim_get_lr(o), 1e-3);
    ag_optim_set_lr(o, 0.25);
    ck_assert_double_eq(ag_optim_base_lr(o), 1e-3);
    ag_tape *t = ag_tape_new();
    ot_step(o, t, p, OT_C);
    double want[3];
    for (int k = 0; k < 3; k++) want[k] = OT_P0[k] * (1 - 0.25 * 2 * OT_C[k]);
    tu_assert_values(p, want, 3, 1e-15);
    ag_tape_free(t);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_f32_parameters)
{
    /* RMSprop on an f32 parameter: state in f32, values near the f64 rule */
    ag_tensor *p = tu_tensor(AG_F32, 1, SHAPE(3), OT_P0);
    ag_set_requires_grad(p, 1);
    ag_rmsprop_opts op = {.lr = 0.01, .alpha = 0.9, .eps = 1e-8, .momentum = 0.5, .centered = 1};
    ag_optim *o = ag_rmsprop_new(1, &p, &op);
    ck_assert_int_eq(ag_tensor_dtype(ot_state_tensor(o, "0.square_avg")), AG_F32);
    ag_tape *t = ag_tape_new();
    ag_tensor *c = tu_tensor(AG_F32, 1, SHAPE(3), OT_C);
    double pr[3] = {OT_P0[0], OT_P0[1], OT_P0[2]};
    ot_state st = {0};
    for (int step = 1; step <= 3; step++) {
        ag_optim_zero_grad(o);
        ck_assert_int_eq(ag_backward(t, ag_sum(t, ag_mul(t, c, ag_square(t, p)), AG_ALL, 0)),
                         AG_OK);
        ck_assert_int_eq(ag_optim_step(o), AG_OK);
        rmsprop_ref(&op, pr, &st, step);
        tu_assert_values(p, pr, 3, 1e-6);
        ag_tape_reset(t);
    }
    ag_tape_free(t);
    ag_tensor_free(c);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_tape_tensor_is_not_a_parameter)
{
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_zeros(t, AG_F64, 1, SHAPE(3));
    ot_assert_fails(ag_adagrad_new(1, &x, NULL), "Adagrad", "parameter 0 is a tape tensor");
    ag_tape_free(t);
    ck_assert_int_eq(ag_optim_step(NULL), AG_ERR_ARG);
    ag_optim_free(NULL);
}
END_TEST

Suite *suite_optimizers(void)
{
    Suite *s = suite_create("optimizers");
    TU_ADD(s, test_sgd_plain_three_steps);
    TU_ADD(s, test_sgd_nesterov_weight_decay_three_steps);
    TU_ADD(s, test_sgd_dampened_momentum_maximize_three_steps);
    TU_ADD(s, test_sgd_converges);
    TU_ADD(s, test_sgd_rejects_bad_options);
    TU_ADD(s, test_adagrad_three_steps);
    TU_ADD(s, test_adagrad_converges);
    TU_ADD(s, test_adagrad_rejects_bad_options);
    TU_ADD(s, test_adadelta_three_steps);
    TU_ADD(s, test_adadelta_converges);
    TU_ADD(s, test_adadelta_rejects_bad_options);
    TU_ADD(s, test_rmsprop_centered_momentum_three_steps);
    TU_ADD(s, test_rmsprop_plain_three_steps);
    TU_ADD(s, test_rmsprop_converges);
    TU_ADD(s, test_rmsprop_rejects_bad_options);
    TU_ADD(s, test_param_without_grad_is_skipped);
    TU_ADD(s, test_set_lr_takes_effect);
    TU_ADD(s, test_f32_parameters);
    TU_ADD(s, test_tape_tensor_is_not_a_parameter);
    return s;
}
