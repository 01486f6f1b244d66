/*
** test_sched.c: learning-rate schedules and early stopping. The closed-form
** schedules against their formulas over 30 epochs (computed here by
** repeated multiplication or directly), ReduceLROnPlateau reducing exactly
** when patience runs out and respecting cooldown, threshold modes, min_lr
** and eps, early stopping restoring the best weights, and error paths.
*/
#include "test_util.h"

/* An SGD optimizer with base lr on a throwaway parameter p (caller frees). */
static ag_optim *sgd_with_lr(double lr, ag_tensor **p)
{
    *p = tu_tensor(AG_F64, 1, SHAPE(2), VALS(1, 2));
    ag_sgd_opts op = ag_sgd_defaults();
    op.lr = lr;
    ag_optim *o = ag_sgd_new(1, p, &op);
    ck_assert_ptr_nonnull(o);
    return o;
}

/* Asserts the schedule's and the optimizer's lr equal want (relative 1e-14). */
static void assert_lr(const ag_sched *s, const ag_optim *o, double want, int epoch)
{
    double tol = 1e-14 * fabs(want) + 1e-300;
    ck_assert_msg(fabs(ag_sched_get_last_lr(s) - want) <= tol, "epoch %d: schedule lr %.17g, "
                  "expected %.17g", epoch, ag_sched_get_last_lr(s), want);
    ck_assert_msg(fabs(ag_optim_get_lr(o) - want) <= tol, "epoch %d: optimizer lr %.17g, "
                  "expected %.17g", epoch, ag_optim_get_lr(o), want);
    ck_assert_int_eq(ag_sched_last_epoch(s), epoch);
}

START_TEST(test_step_lr_30_epochs)
{
    ag_tensor *p;
    ag_optim *o = sgd_with_lr(0.1, &p);
    ag_sched *s = ag_step_lr_new(o, 3, 0.5);
    double want = 0.1;
    for (int e = 0; e < 30; e++) {
        if (e > 0 && e % 3 == 0) want *= 0.5;
        assert_lr(s, o, want, e);
        ck_assert_int_eq(ag_sched_step(s), AG_OK);
    }
    ag_sched_free(s);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_multistep_lr_30_epochs)
{
    ag_tensor *p;
    ag_optim *o = sgd_with_lr(1.0, &p);
    int ms[4] = {12, 3, 20, 12};        /* unsorted; 12 twice: gamma^2 there */
    ag_sched *s = ag_multistep_lr_new(o, 4, ms, 0.1);
    ms[0] = 0;                          /* copied at construction */
    double want = 1.0;
    for (int e = 0; e < 30; e++) {
        if (e == 3 || e == 20) want *= 0.1;
        if (e == 12) want *= 0.01;
        assert_lr(s, o, want, e);
        ag_sched_step(s);
    }
    ag_sched_free(s);
    ag_optim_set_lr(o, 1.0);            /* schedules chain: a new one starts from the lr */
    s = ag_multistep_lr_new(o, 0, NULL, 0.1);                 /* no milestones */
    for (int e = 0; e < 5; e++, ag_sched_step(s)) assert_lr(s, o, 1.0, e);
    ag_sched_free(s);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_exponential_lr_30_epochs)
{
    ag_tensor *p;
    ag_optim *o = sgd_with_lr(0.5, &p);
    ag_sched *s = ag_exponential_lr_new(o, 0.9);
    double want = 0.5;
    for (int e = 0; e < 30; e++, want *= 0.9) {
        assert_lr(s, o, want, e);
        ag_sched_step(s);
    }
    ag_sched_free(s);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_cosine_annealing_lr_30_epochs)
{
    /* T_max 10: down to eta_min at 10, back up to the base at 20, down at 30 */
    ag_tensor *p;
    ag_optim *o = sgd_with_lr(0.2, &p);
    ag_sched *s = ag_cosine_annealing_lr_new(o, 10, 0.01);
    const double pi = 3.14159265358979323846;
    for (int e = 0; e <= 30; e++) {
        double want = 0.01 + (0.2 - 0.01) * (1 + cos(pi * e / 10)) / 2;
        assert_lr(s, o, want, e);
        ag_sched_step(s);
    }
    ag_sched_set_last_epoch(s, 10);
    assert_lr(s, o, 0.01, 10);
    ag_sched_set_last_epoch(s, 20);
    assert_lr(s, o, 0.2, 20);
    ag_sched_free(s);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_linear_lr_warmup_and_decay)
{
    /* PyTorch's documented example: base 0.05, start 0.5, 4 iterations */
    ag_tensor *p;
    ag_optim *o = sgd_with_lr(0.05, &p);
    ag_sched *s = ag_linear_lr_new(o, 0.5, 1.0, 4);
    const double doc[5] = {0.025, 0.03125, 0.0375, 0.04375, 0.05};
    for (int e = 0; e < 30; e++) {
        assert_lr(s, o, e < 5 ? doc[e] : 0.05, e);
        ag_sched_step(s);
    }
    ag_sched_free(s);
    /* a decay: factor 1 -> 0.1 over 10 epochs, then flat */
    s = ag_linear_lr_new(o, 1.0, 0.1, 10);
    for (int e = 0; e < 30; e++) {
        double f = e < 10 ? 1.0 + (0.1 - 1.0) * e / 10.0 : 0.1;
        assert_lr(s, o, 0.05 * f, e);
        ag_sched_step(s);
    }
    ag_sched_free(s);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_schedule_drives_the_optimizer_step)
{
    /* p -= lr * grad with the lr the schedule set: grad of sum(p) is 1 */
    ag_tensor *p;
    ag_optim *o = sgd_with_lr(1.0, &p);
    ag_set_requires_grad(p, 1);
    ag_sched *s = ag_exponential_lr_new(o, 0.5);
    ag_tape *t = ag_tape_new();
    double want = 1.0, lr = 1.0;
    for (int e = 0; e < 4; e++, lr *= 0.5) {
        ag_optim_zero_grad(o);
        ck_assert_int_eq(ag_backward(t, ag_sum(t, p, AG_ALL, 0)), AG_OK);
        ck_assert_int_eq(ag_optim_step(o), AG_OK);
        want -= lr;
        ck_assert_double_eq_tol(ag_tensor_get(p, 0), want, 1e-15);
        ag_sched_step(s);
        ag_tape_reset(t);
    }
    ag_tape_free(t);
    ag_sched_free(s);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

/* ------------------------------------------------ ReduceLROnPlateau --- */

/* Steps s with metrics[i] and asserts the lr after each is lrs[i]. */
static void plateau_run(ag_sched *s, const ag_optim *o, int n, const double *metrics,
                        const double *lrs)
{
    int64_t e0 = ag_sched_last_epoch(s);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(ag_plateau_step(s, metrics[i]), AG_OK);
        ck_assert_msg(fabs(ag_optim_get_lr(o) - lrs[i]) <= 1e-15 * lrs[i],
                      "metric %d (%g): lr %.17g, expected %.17g", i, metrics[i],
                      ag_optim_get_lr(o), lrs[i]);
        ck_assert_double_eq(ag_sched_get_last_lr(s), ag_optim_get_lr(o));
        ck_assert_int_eq(ag_sched_last_epoch(s), e0 + i + 1);
    }
}

START_TEST(test_plateau_reduces_when_patience_runs_out)
{
    /* patience 2, rel threshold 0.1: 9.5 and 9.2 and 9.1 are not below
       10 * 0.9, so the third bad epoch reduces; 8 < 9 improves */
    ag_tensor *p;
    ag_optim *o = sgd_with_lr(1.0, &p);
    ag_plateau_opts op = ag_plateau_defaults();
    op.patience = 2, op.threshold = 0.1, op.factor = 0.5;
    ag_sched *s = ag_reduce_lr_on_plateau_new(o, &op);
    ck_assert_double_eq(ag_optim_get_lr(o), 1.0);              /* construction: unchanged */
    plateau_run(s, o, 3, VALS(10, 9.5, 9.2), VALS(1, 1, 1));
    ck_assert_int_eq(ag_plateau_num_bad_epochs(s), 2);
    plateau_run(s, o, 1, VALS(9.1), VALS(0.5));
    ck_assert_int_eq(ag_plateau_num_bad_epochs(s), 0);
    plateau_run(s, o, 4, VALS(8, 7.9, 7.5, 7.1), VALS(0.5, 0.5, 0.5, 0.5));
    /* 7.1 < 8 * 0.9 = 7.2 improved; three more bad epochs reduce again */
    plateau_run(s, o, 3, VALS(7.0, 7.0, 7.0), VALS(0.5, 0.5, 0.25));
    ag_sched_free(s);
    /* defaults: patience 10 (the 11th bad epoch reduces), factor 0.1 */
    s = ag_reduce_lr_on_plateau_new(o, NULL);
    ag_plateau_step(s, 1.0);
    for (int i = 0; i < 10; i++) ag_plateau_step(s, 1.0);
    ck_assert_double_eq(ag_optim_get_lr(o), 0.25);
    ag_plateau_step(s, 1.0);
    ck_assert_double_eq_tol(ag_optim_get_lr(o), 0.025, 1e-17);
    ag_sched_free(s);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_plateau_cooldown)
{
    /* patience 0, cooldown 2: a reduction, then two epochs whose bad
       epochs do not count, then the next bad epoch reduces again */
    ag_tensor *p;
    ag_optim *o = sgd_with_lr(1.0, &p);
    ag_plateau_opts op = ag_plateau_defaults();
    op.patience = 0, op.cooldown = 2, op.factor = 0.5;
    ag_sched *s = ag_reduce_lr_on_plateau_new(o, &op);
    plateau_run(s, o, 6, VALS(1, 2, 3, 4, 5, 6), VALS(1, 0.5, 0.5, 0.5, 0.25, 0.25));
    ag_sched_free(s);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_plateau_max_mode_abs_threshold)
{
    /* an accuracy: better means > best + 0.5 */
    ag_tensor *p;
    ag_optim *o = sgd_with_lr(1.0, &p);
    ag_plateau_opts op = ag_plateau_defaults();
    op.mode = AG_PLATEAU_MAX, op.threshold_mode = AG_THRESHOLD_ABS, op.threshold = 0.5;
    op.patience = 1, op.factor = 0.5;
    ag_sched *s = ag_reduce_lr_on_plateau_new(o, &op);
    /* 1.4 is within 0.5 of 1 (bad), 1.6 is better, 2.0 and 2.05 are bad */
    plateau_run(s, o, 5, VALS(1.0, 1.4, 1.6, 2.0, 2.05), VALS(1, 1, 1, 1, 0.5));
    ag_sched_free(s);
    /* min mode, abs: better means < best - 0.5 */
    op.mode = AG_PLATEAU_MIN;
    s = ag_reduce_lr_on_plateau_new(o, &op);
    plateau_run(s, o, 4, VALS(3.0, 2.6, 2.4, 2.0), VALS(0.5, 0.5, 0.5, 0.5));
    plateau_run(s, o, 2, VALS(1.95, 1.85), VALS(0.25, 0.25));    /* 1.85 < 2.4 - 0.5 */
    ck_assert_int_eq(ag_plateau_num_bad_epochs(s), 0);
    ag_sched_free(s);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_plateau_min_lr_eps_and_nan)
{
    ag_tensor *p;
    ag_optim *o = sgd_with_lr(1.0, &p);
    ag_plateau_opts op = ag_plateau_defaults();
    op.patience = 0, op.min_lr = 0.05;
    ag_sched *s = ag_reduce_lr_on_plateau_new(o, &op);
    /* NaN is never an improvement: it counts as a bad epoch */
    plateau_run(s, o, 5, VALS(1, NAN, 1, 1, 1), VALS(1, 0.1, 0.05, 0.05, 0.05));
    ag_sched_free(s);
    /* a change of eps or less is skipped */
    ag_optim_set_lr(o, 1e-8);
    op = ag_plateau_defaults();
    op.patience = 0, op.factor = 0.5;
    s = ag_reduce_lr_on_plateau_new(o, &op);
    plateau_run(s, o, 3, VALS(1, 1, 1), VALS(1e-8, 1e-8, 1e-8));
    ag_sched_free(s);
    op.eps = 1e-9;
    s = ag_reduce_lr_on_plateau_new(o, &op);
    plateau_run(s, o, 2, VALS(1, 1), VALS(1e-8, 5e-9));
    ag_sched_free(s);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

/* Asserts call returned NULL and ag_last_error() contains part. */
#define assert_fails(call, part)                                              \
    do {                                                                      \
        ck_assert_msg((call) == NULL, "expected failure: %s", #call);         \
        ck_assert_msg(strstr(ag_last_error(), (part)) != NULL,                \
                      "message '%s' lacks '%s'", ag_last_error(), (part));    \
    } while (0)

START_TEST(test_schedules_reject_bad_arguments)
{
    ag_tensor *p;
    ag_optim *o = sgd_with_lr(1.0, &p);
    assert_fails(ag_step_lr_new(o, 0, 0.1), "ag_step_lr_new: step_size is 0, must be >= 1");
    assert_fails(ag_step_lr_new(o, 2, -0.1), "ag_step_lr_new: gamma is -0.1");
    assert_fails(ag_step_lr_new(NULL, 2, 0.1), "ag_step_lr_new: optimizer is NULL");
    assert_fails(ag_multistep_lr_new(o, 2, NULL, 0.1), "ag_multistep_lr_new: milestones is NULL");
    assert_fails(ag_multistep_lr_new(o, 2, (const int[]){3, -1}, 0.1),
                 "milestones[1] is -1, must be >= 0");
    assert_fails(ag_multistep_lr_new(o, -1, NULL, 0.1), "n is -1");
    assert_fails(ag_exponential_lr_new(o, NAN), "ag_exponential_lr_new: gamma is nan");
    assert_fails(ag_cosine_annealing_lr_new(o, 0, 0), "ag_cosine_annealing_lr_new: t_max is 0");
    assert_fails(ag_cosine_annealing_lr_new(o, 5, -1), "eta_min is -1");
    assert_fails(ag_linear_lr_new(o, 0, 1, 5),
                 "ag_linear_lr_new: start_factor is 0, must be in (0, 1]");
    assert_fails(ag_linear_lr_new(o, 0.5, 1.5, 5), "end_factor is 1.5, must be in [0, 1]");
    assert_fails(ag_linear_lr_new(o, 0.5, 1, 0), "total_iters is 0");
    ag_plateau_opts op = ag_plateau_defaults();
    op.factor = 1.0;
    assert_fails(ag_reduce_lr_on_plateau_new(o, &op),
                 "ag_reduce_lr_on_plateau_new: factor is 1, must be in [0, 1)");
    op = ag_plateau_defaults(), op.patience = -1;
    assert_fails(ag_reduce_lr_on_plateau_new(o, &op), "patience is -1");
    op = ag_plateau_defaults(), op.cooldown = -2;
    assert_fails(ag_reduce_lr_on_plateau_new(o, &op), "cooldown is -2");
    op = ag_plateau_defaults(), op.threshold = -1e-4;
    assert_fails(ag_reduce_lr_on_plateau_new(o, &op), "threshold is -0.0001");
    op = ag_plateau_defaults(), op.mode = (ag_plateau_mode)7;
    assert_fails(ag_reduce_lr_on_plateau_new(o, &op), "mode is 7");
    op = ag_plateau_defaults(), op.min_lr = -1;
    assert_fails(ag_reduce_lr_on_plateau_new(o, &op), "min_lr is -1");
    /* stepping the wrong way */
    ag_sched *pl = ag_reduce_lr_on_plateau_new(o, NULL), *st = ag_step_lr_new(o, 1, 0.5);
    ck_assert_int_eq(ag_sched_step(pl), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "use ag_plateau_step"));
    ck_assert_int_eq(ag_plateau_step(st, 1.0), AG_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "not a ReduceLROnPlateau"));
    ck_assert_int_eq(ag_sched_set_last_epoch(st, -1), AG_ERR_ARG);
    ck_assert_int_eq(ag_sched_step(NULL), AG_ERR_ARG);
    ck_assert_int_eq(ag_sched_last_epoch(NULL), -1);
    ag_sched_free(pl), ag_sched_free(st), ag_sched_free(NULL);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

/* ---------------------------------------------------- early stopping --- */

static void set_values(ag_tensor *p, double a, double b)
{
    ag_tensor_set(p, 0, a), ag_tensor_set(p, 1, b);
}

START_TEST(test_early_stop_restores_best_weights)
{
    ag_tensor *p[2] = {tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 0)),
                       tu_tensor(AG_F32, 0, NULL, VALS(0))};
    ag_early_stop *es = ag_early_stop_new(2, 0.1, 2, p);
    ck_assert_ptr_nonnull(es);
    ck_assert(isinf(ag_early_stop_best(es)));
    const double losses[5] = {1.0, 0.95, 0.5, 0.6, 0.45};  /* 0.45 > 0.5 - 0.1: bad */
    const int stop[5] = {0, 0, 0, 0, 1};
    for (int e = 0; e < 5; e++) {
        set_values(p[0], e, 10 * e);
        ag_tensor_set(p[1], 0, -e);
        ck_assert_int_eq(ag_early_stop_update(es, losses[e]), stop[e]);
    }
    ck_assert_double_eq(ag_early_stop_best(es), 0.5);
    ck_assert_int_eq(ag_early_stop_best_epoch(es), 2);
    ck_assert_int_eq(ag_early_stop_restore(es), AG_OK);
    tu_assert_values(p[0], VALS(2, 20), 2, 0);              /* the weights of epoch 2 */
    tu_assert_values(p[1], VALS(-2), 1, 0);
    ag_early_stop_free(es);
    ag_tensor_free(p[0]), ag_tensor_free(p[1]);
}
END_TEST

START_TEST(test_early_stop_patience_zero_nan_and_initial_copy)
{
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(2), VALS(3, 4));
    ag_early_stop *es = ag_early_stop_new(0, 0, 1, &p);
    set_values(p, 7, 7);
    ck_assert_int_eq(ag_early_stop_restore(es), AG_OK);     /* before any update */
    tu_assert_values(p, VALS(3, 4), 2, 0);
    ck_assert_int_eq(ag_early_stop_best_epoch(es), -1);
    ck_assert_int_eq(ag_early_stop_update(es, NAN), 1);     /* NaN: bad, patience 0 */
    ck_assert_int_eq(ag_early_stop_update(es, 2.0), 0);
    ck_assert_int_eq(ag_early_stop_update(es, 1.5), 0);     /* improved */
    ck_assert_int_eq(ag_early_stop_update(es, 1.5), 1);     /* equal is not better */
    ag_early_stop_free(es);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_early_stop_rejects_bad_arguments)
{
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(2), VALS(3, 4));
    assert_fails(ag_early_stop_new(-1, 0, 1, &p), "ag_early_stop_new: patience is -1");
    assert_fails(ag_early_stop_new(1, -0.5, 1, &p), "min_delta is -0.5");
    assert_fails(ag_early_stop_new(1, NAN, 1, &p), "min_delta is nan");
    assert_fails(ag_early_stop_new(1, 0, 0, &p), "no parameters");
    ag_tensor *two[2] = {p, NULL};
    assert_fails(ag_early_stop_new(1, 0, 2, two), "parameter 1 is NULL");
    ck_assert_int_eq(ag_early_stop_update(NULL, 1.0), -1);
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_early_stop_update: es is NULL"));
    ck_assert_int_eq(ag_early_stop_restore(NULL), AG_ERR_ARG);
    ck_assert(isnan(ag_early_stop_best(NULL)));
    ag_early_stop_free(NULL);
    ag_tensor_free(p);
}
END_TEST

/* SGD([{a}, {b, lr .05}], lr .1) with two schedules stepped in turn each
   epoch (PyTorch: opt.step(); s1.step(); s2.step()); want[e][g] is group
   g's lr at epoch e from PyTorch 1.13 (f64). */
static void check_chained(ag_sched *(*mk1)(ag_optim *), ag_sched *(*mk2)(ag_optim *),
                          int epochs, const double (*want)[2])
{
    ag_tensor *a = tu_tensor(AG_F64, 1, SHAPE(2), VALS(0, 0)), *b = tu_tensor(AG_F64, 0, NULL,
                                                                             VALS(0));
    ag_optim *o = ag_sgd_new(1, &a, &(ag_sgd_opts){.lr = 0.1});
    ag_sgd_opts o1 = {.lr = 0.05};
    ck_assert_int_eq(ag_optim_add_param_group(o, 1, &b, &o1), AG_OK);
    ag_sched *s1 = mk1(o), *s2 = mk2(o);
    ck_assert(s1 && s2);
    for (int e = 0; e < epochs; e++) {
        for (int g = 0; g < 2; g++) {
            double got = ag_optim_group_lr(o, g);
            ck_assert_msg(fabs(got - want[e][g]) <= 1e-14 * want[e][g], "epoch %d group %d: "
                          "%.17g, torch %.17g", e, g, got, want[e][g]);
        }
        ck_assert_double_eq(ag_sched_get_last_lr(s2), ag_optim_get_lr(o));
        ck_assert_int_eq(ag_sched_step(s1), AG_OK);
        ck_assert_int_eq(ag_sched_step(s2), AG_OK);
    }
    ag_sched_free(s1), ag_sched_free(s2);
    ag_optim_free(o);
    ag_tensor_free(a), ag_tensor_free(b);
}

static ag_sched *mk_step(ag_optim *o) { return ag_step_lr_new(o, 3, 0.5); }
static ag_sched *mk_exp(ag_optim *o) { return ag_exponential_lr_new(o, 0.9); }
static ag_sched *mk_linear(ag_optim *o) { return ag_linear_lr_new(o, 0.25, 1.0, 4); }
static ag_sched *mk_cosine(ag_optim *o) { return ag_cosine_annealing_lr_new(o, 6, 0.001); }

/* StepLR(3, .5) then ExponentialLR(.9): the factors multiply, per group. */
START_TEST(test_step_then_exponential_chain_per_group_torch)
{
    static const double want[10][2] = {
        {0.10000000000000001, 0.050000000000000003}, {0.090000000000000011, 0.045000000000000005},
        {0.081000000000000016, 0.040500000000000008}, {0.03645000000000001, 0.018225000000000005},
        {0.032805000000000008, 0.016402500000000004}, {0.029524500000000009, 0.014762250000000005},
        {0.013286025000000005, 0.0066430125000000026},
        {0.011957422500000005, 0.0059787112500000027},
        {0.010761680250000006, 0.005380840125000003},
        {0.0048427561125000025, 0.0024213780562500013}};
    check_chained(mk_step, mk_exp, 10, want);
}
END_TEST

/* LinearLR(.25, 1, 4) then CosineAnnealingLR(6, 1e-3): warm-up under a
   cosine, PyTorch's recursive (chainable) cosine, past t_max. */
START_TEST(test_linear_then_cosine_chain_per_group_torch)
{
    static const double want[12][2] = {
        {0.025000000000000001, 0.012500000000000001}, {0.040886293005892381, 0.020476640152000083},
        {0.047148077533125735, 0.023710577533125735}, {0.041195000528708968, 0.020882500528708971},
        {0.025850769556128608, 0.013350769556128603},
        {0.0076587436338565844, 0.0043093787284675519}, {0.001, 0.001},
        {0.0076317425126702842, 0.0042823776072812517},
        {0.025750000000000002, 0.013250000000000001}, {0.050500000000000038, 0.025500000000000019},
        {0.075250000000000081, 0.03775000000000004}, {0.093368257487329798, 0.046717622392718788}};
    check_chained(mk_linear, mk_cosine, 12, want);
}
END_TEST

Suite *suite_sched(void)
{
    Suite *s = suite_create("sched");
    TU_ADD(s, test_step_lr_30_epochs);
    TU_ADD(s, test_multistep_lr_30_epochs);
    TU_ADD(s, test_exponential_lr_30_epochs);
    TU_ADD(s, test_cosine_annealing_lr_30_epochs);
    TU_ADD(s, test_linear_lr_warmup_and_decay);
    TU_ADD(s, test_schedule_drives_the_optimizer_step);
    TU_ADD(s, test_plateau_reduces_when_patience_runs_out);
    TU_ADD(s, test_plateau_cooldown);
    TU_ADD(s, test_plateau_max_mode_abs_threshold);
    TU_ADD(s, test_plateau_min_lr_eps_and_nan);
    TU_ADD(s, test_schedules_reject_bad_arguments);
    TU_ADD(s, test_early_stop_restores_best_weights);
    TU_ADD(s, test_early_stop_patience_zero_nan_and_initial_copy);
    TU_ADD(s, test_early_stop_rejects_bad_arguments);
    TU_ADD(s, test_step_then_exponential_chain_per_group_torch);
    TU_ADD(s, test_linear_then_cosine_chain_per_group_torch);
    return s;
}
