/*
** test_optim_state.c: validated optimizer state. Every value that enters
** an optimizer or a schedule (a checkpoint, a setter, a write through
** ag_optim_state between steps) and is later used as an index, a count or
** a divisor is range-checked where it enters: AG_ERR_FORMAT for a file,
** AG_ERR_ARG for a setter, AG_ERR_STATE for a step that finds bad state,
** each with a message naming the function, the value's name and the
** value, and a refusal changes nothing. L-BFGS' n_history (an out-of-
** bounds write before), the ruled state of every first-order optimizer,
** the step count at AG_OPTIM_MAX_STEPS (an overflow before), learning
** rates, schedule epochs, and the generator's state in a checkpoint.
*/
#include "st_test_util.h"

#include <float.h>

/* ------------------------------------------------------------ fixtures --- */

/* A module with one f64 parameter "w" [3] = (0.5, -1, 2). */
static ag_module *one_param_module(void)
{
    ag_module *m = tu_module_new();
    ck_assert_int_eq(ag_module_add_param(m, "w", tu_tensor(AG_F64, 1, SHAPE(3),
                                                           VALS(0.5, -1, 2))), AG_OK);
    return m;
}

static ag_tensor *param_of(ag_module *m) { return ag_module_get(m, "w"); }

/* sum c_k (w_k - 1)^2 with c = (1, 3, 0.5): the closure of L-BFGS and Newton. */
static ag_tensor *quadratic(ag_tape *t, void *ctx)
{
    ag_tensor *c = ag_from_f64(t, AG_F64, 1, SHAPE(3), VALS(1, 3, 0.5));
    ag_tensor *d = ag_add_scalar(t, (ag_tensor *)ctx, -1);
    return ag_sum(t, ag_mul(t, c, ag_square(t, d)), AG_ALL, 0);
}

/* One first-order step on the quadratic. */
static ag_status fo_step(ag_optim *o, ag_tensor *w)
{
    ag_tape *t = ag_tape_new();
    ag_optim_zero_grad(o);
    ck_assert_int_eq(ag_backward(t, quadratic(t, w)), AG_OK);
    ag_status s = ag_optim_step(o);
    ag_tape_free(t);
    return s;
}

static ag_tensor *state_named(const ag_optim *o, const char *name)
{
    ag_named_tensor st[32];
    int n = ag_optim_state(o, st, 32);
    for (int i = 0; i < n; i++)
        if (!strcmp(st[i].name, name)) return st[i].tensor;
    ck_abort_msg("no state '%s'", name);
    return NULL;
}

/* The module's tensors, then o's state; with the counters. */
typedef struct all_snap {
    tu_snap tensors;
    int64_t steps;
    double lr, base_lr;
} all_snap;

static void all_take(all_snap *s, ag_module *m, ag_optim *o)
{
    ag_named_tensor list[TU_MAX_SNAP];
    int n = ag_module_named_tensors(m, list, TU_MAX_SNAP, 1);
    n += ag_optim_state(o, list + n, TU_MAX_SNAP - n);
    tu_snap_take(&s->tensors, n, list);
    s->steps = ag_optim_steps(o);
    s->lr = ag_optim_get_lr(o);
    s->base_lr = ag_optim_base_lr(o);
}

static void all_assert_same_free(all_snap *s, ag_optim *o)
{
    tu_snap_assert_same(&s->tensors);
    ck_assert_int_eq(ag_optim_steps(o), s->steps);
    ck_assert_double_eq(ag_optim_get_lr(o), s->lr);
    ck_assert_double_eq(ag_optim_base_lr(o), s->base_lr);
    tu_snap_free(&s->tensors);
}

/* "<prefix>'<name>'<elem> is <v as %.17g>" into buf. */
static const char *value_text(char *buf, size_t size, const char *name, const char *elem,
                              double v)
{
    snprintf(buf, size, "state '%s'%s is %.17g, must be", name, elem, v);
    return buf;
}

static ag_lbfgs_opts small_lbfgs(void)
{
    ag_lbfgs_opts op = ag_lbfgs_default_opts();
    op.history_size = 2;
    op.max_iter = 3;
    op.lr = 0.1;                    /* slow enough that the history fills */
    return op;
}

static const double BAD_COUNTS[6] = {3, -1, 1e18, NAN, 1.5, INFINITY};

/* ------------------------------------------------------------- L-BFGS --- */

/* A history length written between steps (too large, negative, huge, NaN,
   fractional, infinite) is refused by the next step, which writes nothing;
   ag_optim_check_state reports it too; a good value steps again. */
START_TEST(test_lbfgs_step_refuses_a_written_n_history)
{
    ag_module *m = one_param_module();
    ag_tensor *w = param_of(m);
    ag_lbfgs_opts op = small_lbfgs();
    ag_optim *o = ag_lbfgs_new(1, &w, &op);
    for (int k = 0; k < 2; k++) ck_assert_int_eq(ag_lbfgs_step(o, quadratic, w, NULL), AG_OK);
    ag_tensor *nh = state_named(o, "0.n_history");
    ck_assert_double_eq(ag_tensor_get(nh, 0), 2);
    char want[256];
    for (int i = 0; i < 6; i++) {
        ag_tensor_set(nh, 0, BAD_COUNTS[i]);
        all_snap s;
        all_take(&s, m, o);
        tu_assert_failed(ag_lbfgs_step(o, quadratic, w, NULL), AG_ERR_STATE,
                         "ag_lbfgs_step: LBFGS ", value_text(want, sizeof want, "0.n_history", "",
                                                             BAD_COUNTS[i]),
                         "an integer in [0, 2]");
        all_assert_same_free(&s, o);
        tu_assert_failed(ag_optim_check_state(o), AG_ERR_STATE, "ag_optim_check_state: LBFGS ",
                         want, NULL);
    }
    ag_tensor_set(nh, 0, 1);
    ck_assert_int_eq(ag_optim_check_state(o), AG_OK);
    ck_assert_int_eq(ag_lbfgs_step(o, quadratic, w, NULL), AG_OK);
    /* the counters are checked the same way */
    ag_tensor_set(state_named(o, "0.n_iter"), 0, -1);
    tu_assert_failed(ag_lbfgs_step(o, quadratic, w, NULL), AG_ERR_STATE, "ag_lbfgs_step",
                     "state '0.n_iter' is -1, must be an integer in [0, 9007199254740992]", NULL);
    ag_optim_free(o);
    ag_module_free(m);
}
END_TEST

/* Writes v into element i of o's state name, saves a checkpoint of (m, o,
   r) to path, and puts the old value back. */
static void save_with(const char *path, ag_module *m, ag_optim *o, ag_rng *r, const char *name,
                      int64_t i, double v)
{
    ag_tensor *x = state_named(o, name);
    double old = ag_tensor_get(x, i);
    ck_assert_int_eq(ag_tensor_set(x, i, v), AG_OK);
    ck_assert_int_eq(ag_checkpoint_save(path, m, o, r), AG_OK);
    ck_assert_int_eq(ag_tensor_set(x, i, old), AG_OK);
}

/* Asserts loading path into (m, o, r) fails with want and the parts and
   changes nothing (module, optimizer state and counters, generator). */
static void assert_load_refused(const char *path, ag_module *m, ag_optim *o, ag_rng *r,
                                ag_status want, const char *part1, const char *part2)
{
    all_snap s;
    uint64_t before[4], after[4];
    all_take(&s, m, o);
    ag_rng_get_state(r, before);
    tu_assert_failed(ag_checkpoint_load(path, m, o, r), want, "ag_checkpoint_load: ", part1,
                     part2);
    all_assert_same_free(&s, o);
    ag_rng_get_state(r, after);
    ck_assert(!memcmp(before, after, sizeof before));
}

/* A checkpoint whose L-BFGS counters or history length are out of range
   loads with AG_ERR_FORMAT and changes nothing; the good one loads. */
START_TEST(test_checkpoint_refuses_bad_lbfgs_state)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *good = tu_path(&d, "good.ckpt"), *bad = tu_path(&d, "bad.ckpt");
    ag_module *ma = one_param_module(), *mb = one_param_module();
    ag_tensor *wa = param_of(ma), *wb = param_of(mb);
    ag_lbfgs_opts op = small_lbfgs();
    ag_optim *a = ag_lbfgs_new(1, &wa, &op), *b = ag_lbfgs_new(1, &wb, &op);
    ag_rng *ra = ag_rng_new(1), *rb = ag_rng_new(2);
    for (int k = 0; k < 2; k++) ck_assert_int_eq(ag_lbfgs_step(a, quadratic, wa, NULL), AG_OK);
    ck_assert_int_eq(ag_lbfgs_step(b, quadratic, wb, NULL), AG_OK);
    ck_assert_int_eq(ag_checkpoint_save(good, ma, a, ra), AG_OK);
    char want[256];
    for (int i = 0; i < 6; i++) {
        save_with(bad, ma, a, ra, "0.n_history", 0, BAD_COUNTS[i]);
        assert_load_refused(bad, mb, b, rb, AG_ERR_FORMAT, bad,
                            value_text(want, sizeof want, "optim.0.n_history", "",
                                       BAD_COUNTS[i]));
    }
    save_with(bad, ma, a, ra, "0.func_evals", 0, 0.5);
    assert_load_refused(bad, mb, b, rb, AG_ERR_FORMAT, "LBFGS state 'optim.0.func_evals' is 0.5",
                        "an integer in [0, 9007199254740992]");
    save_with(bad, ma, a, ra, "0.n_iter", 0, -3);
    assert_load_refused(bad, mb, b, rb, AG_ERR_FORMAT, "'optim.0.n_iter' is -3", NULL);
    ck_assert_int_eq(ag_checkpoint_load(good, mb, b, rb), AG_OK);
    ck_assert_double_eq(ag_tensor_get(state_named(b, "0.n_history"), 0), 2);
    ck_assert_int_eq(ag_lbfgs_step(a, quadratic, wa, NULL), AG_OK);
    ck_assert_int_eq(ag_lbfgs_step(b, quadratic, wb, NULL), AG_OK);
    for (int k = 0; k < 3; k++) ck_assert_double_eq(ag_tensor_get(wa, k), ag_tensor_get(wb, k));
    ag_optim_free(a), ag_optim_free(b);
    ag_module_free(ma), ag_module_free(mb);
    ag_rng_free(ra), ag_rng_free(rb);
    tu_dir_remove(&d);
}
END_TEST

/* ------------------------------------------------------- first order --- */

typedef ag_optim *(*make_fn)(ag_tensor *w);

static ag_optim *make_adam(ag_tensor *w) { return ag_adam_new(1, &w, NULL); }
static ag_optim *make_adamw(ag_tensor *w) { return ag_adamw_new(1, &w, NULL); }
static ag_optim *make_adamax(ag_tensor *w) { return ag_adamax_new(1, &w, NULL); }
static ag_optim *make_nadam(ag_tensor *w) { return ag_nadam_new(1, &w, NULL); }
static ag_optim *make_adagrad(ag_tensor *w) { return ag_adagrad_new(1, &w, NULL); }
static ag_optim *make_adadelta(ag_tensor *w) { return ag_adadelta_new(1, &w, NULL); }

static ag_optim *make_amsgrad(ag_tensor *w)
{
    ag_adam_opts op = ag_adam_defaults();
    op.amsgrad = 1;
    return ag_adam_new(1, &w, &op);
}

static ag_optim *make_rmsprop(ag_tensor *w)
{
    ag_rmsprop_opts op = ag_rmsprop_defaults();
    op.momentum = 0.5, op.centered = 1;
    return ag_rmsprop_new(1, &w, &op);
}

static const struct {
    make_fn make;
    const char *state;
    int64_t element;                /* -1: a 0-d state */
    double bad;
    const char *rule;
} FO_CASES[] = {
    {make_adam, "0.exp_avg_sq", 1, -1, "in [0, inf]"},
    {make_amsgrad, "0.max_exp_avg_sq", 2, NAN, "in [0, inf]"},
    {make_adamw, "0.exp_avg_sq", 0, -INFINITY, "in [0, inf]"},
    {make_adamax, "0.exp_inf", 1, -2, "in [0, inf]"},
    {make_nadam, "0.exp_avg_sq", 2, -1e-300, "in [0, inf]"},
    {make_nadam, "0.mu_product", -1, 1.5, "in [0, 1]"},
    {make_adagrad, "0.sum", 0, -1, "in [0, inf]"},
    {make_adadelta, "0.square_avg", 1, -1, "in [0, inf]"},
    {make_adadelta, "0.acc_delta", 2, NAN, "in [0, inf]"},
    {make_rmsprop, "0.square_avg", 0, -0.5, "in [0, inf]"},
};

/* Each first-order optimizer's state under a square root or a divisor
   (running averages of squares, NAdam's mu product) is refused from a
   checkpoint (AG_ERR_FORMAT, nothing changed) and by
   ag_optim_check_state; the state of a real run loads. */
START_TEST(test_checkpoint_refuses_bad_first_order_state)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *good = tu_path(&d, "good.ckpt"), *bad = tu_path(&d, "bad.ckpt");
    char want[256], elem[32];
    for (size_t c = 0; c < sizeof FO_CASES / sizeof FO_CASES[0]; c++) {
        ag_module *ma = one_param_module(), *mb = one_param_module();
        ag_optim *a = FO_CASES[c].make(param_of(ma)), *b = FO_CASES[c].make(param_of(mb));
        ag_rng *r = ag_rng_new(5);
        for (int k = 0; k < 2; k++) ck_assert_int_eq(fo_step(a, param_of(ma)), AG_OK);
        ck_assert_int_eq(fo_step(b, param_of(mb)), AG_OK);
        int64_t i = FO_CASES[c].element < 0 ? 0 : FO_CASES[c].element;
        elem[0] = 0;
        if (FO_CASES[c].element >= 0) snprintf(elem, sizeof elem, " element %lld", (long long)i);
        save_with(bad, ma, a, r, FO_CASES[c].state, i, FO_CASES[c].bad);
        char name[64];
        snprintf(name, sizeof name, "optim.%s", FO_CASES[c].state);
        assert_load_refused(bad, mb, b, r, AG_ERR_FORMAT,
                            value_text(want, sizeof want, name, elem, FO_CASES[c].bad),
                            FO_CASES[c].rule);
        ag_tensor *x = state_named(a, FO_CASES[c].state);
        double old = ag_tensor_get(x, i);
        ag_tensor_set(x, i, FO_CASES[c].bad);
        tu_assert_failed(ag_optim_check_state(a), AG_ERR_STATE, "ag_optim_check_state: ",
                         value_text(want, sizeof want, FO_CASES[c].state, elem,
                                    FO_CASES[c].bad), FO_CASES[c].rule);
        ag_tensor_set(x, i, old);
        ck_assert_int_eq(ag_checkpoint_save(good, ma, a, r), AG_OK);
        ck_assert_int_eq(ag_checkpoint_load(good, mb, b, r), AG_OK);
        ck_assert_int_eq(ag_optim_check_state(b), AG_OK);
        ck_assert_int_eq(fo_step(b, param_of(mb)), AG_OK);
        ag_optim_free(a), ag_optim_free(b);
        ag_module_free(ma), ag_module_free(mb);
        ag_rng_free(r);
    }
    tu_dir_remove(&d);
}
END_TEST

/* NAdam's mu product divides (1 - P mu): a step refuses one written out of
   [0, 1] between steps, and writes nothing. */
START_TEST(test_nadam_step_refuses_a_written_mu_product)
{
    ag_module *m = one_param_module();
    ag_optim *o = make_nadam(param_of(m));
    ck_assert_int_eq(fo_step(o, param_of(m)), AG_OK);
    ag_tensor_set(state_named(o, "0.mu_product"), 0, 1 / 0.9);
    all_snap s;
    all_take(&s, m, o);
    tu_assert_failed(fo_step(o, param_of(m)), AG_ERR_STATE, "ag_optim_step: NAdam state "
                     "'0.mu_product' is 1.1111111111111112, must be in [0, 1]", NULL,
                     NULL);
    all_assert_same_free(&s, o);
    ag_optim_free(o);
    ag_module_free(m);
}
END_TEST

/* ------------------------------------------------------- step counts --- */

/* The step count enters through ag_optim_set_steps and a checkpoint, both
   range-checked; at AG_OPTIM_MAX_STEPS every optimizer refuses to step
   (before: Adam's t = steps + 1 overflowed and every later step failed). */
START_TEST(test_step_count_is_range_checked)
{
    ag_module *m = one_param_module();
    ag_tensor *w = param_of(m);
    ag_optim *o = make_adam(w);
    const int64_t bad[3] = {-1, AG_OPTIM_MAX_STEPS + 1, INT64_MAX};
    char want[256];
    for (int i = 0; i < 3; i++) {
        snprintf(want, sizeof want, "ag_optim_set_steps: steps is %lld, must be in [0, "
                 "9007199254740992]", (long long)bad[i]);
        tu_assert_failed(ag_optim_set_steps(o, bad[i]), AG_ERR_ARG, want, NULL, NULL);
        ck_assert_int_eq(ag_optim_steps(o), 0);
    }
    tu_assert_failed(ag_optim_set_steps(NULL, 1), AG_ERR_ARG, "ag_optim_set_steps: optimizer "
                     "is NULL", NULL, NULL);
    ck_assert_int_eq(AG_OPTIM_MAX_STEPS, 9007199254740992LL);
    ck_assert_int_eq(ag_optim_set_steps(o, AG_OPTIM_MAX_STEPS - 1), AG_OK);
    /* the parameter's own count (PyTorch's state 'step') gives t */
    ag_tensor_set(state_named(o, "0.step"), 0, (double)(AG_OPTIM_MAX_STEPS - 1));
    ck_assert_int_eq(fo_step(o, w), AG_OK);                 /* t = 2^53: exact */
    ck_assert_double_eq(ag_tensor_get(state_named(o, "0.step"), 0), 9007199254740992.0);
    ck_assert_int_eq(ag_optim_steps(o), AG_OPTIM_MAX_STEPS);
    /* bias corrections are 1 there: m = 0.1 g, v = 0.001 g^2, g(w0) = -1 */
    const double w0 = 0.5 + 1e-3 * 0.1 / (sqrt(0.001) + 1e-8);
    ck_assert_double_eq_tol(ag_tensor_get(w, 0), w0, 1e-12);
    all_snap s;
    all_take(&s, m, o);
    tu_assert_failed(fo_step(o, w), AG_ERR_STATE, "ag_optim_step: Adam has taken "
                     "9007199254740992 steps, the most it counts", NULL, NULL);
    all_assert_same_free(&s, o);
    /* the closure optimizers too */
    ag_lbfgs_opts op = small_lbfgs();
    ag_optim *l = ag_lbfgs_new(1, &w, &op), *nt = ag_newton_new(1, &w, NULL);
    ck_assert_int_eq(ag_optim_set_steps(l, AG_OPTIM_MAX_STEPS), AG_OK);
    ck_assert_int_eq(ag_optim_set_steps(nt, AG_OPTIM_MAX_STEPS), AG_OK);
    tu_assert_failed(ag_lbfgs_step(l, quadratic, w, NULL), AG_ERR_STATE, "ag_lbfgs_step: LBFGS "
                     "has taken 9007199254740992 steps", NULL, NULL);
    tu_assert_failed(ag_newton_step(nt, quadratic, w, NULL), AG_ERR_STATE, "ag_newton_step: "
                     "Newton has taken 9007199254740992 steps", NULL, NULL);
    ck_assert_double_eq_tol(ag_tensor_get(w, 0), w0, 1e-12);
    ag_optim_free(l), ag_optim_free(nt), ag_optim_free(o);
    ag_module_free(m);
}
END_TEST

/* A checkpoint's step count above AG_OPTIM_MAX_STEPS (or past int64) is
   refused with AG_ERR_FORMAT; AG_OPTIM_MAX_STEPS itself loads. */
START_TEST(test_checkpoint_refuses_a_step_count_out_of_range)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *good = tu_path(&d, "good.ckpt"), *bad = tu_path(&d, "bad.ckpt");
    ag_module *ma = one_param_module(), *mb = one_param_module();
    ag_optim *a = make_adam(param_of(ma)), *b = make_adam(param_of(mb));
    ag_rng *r = ag_rng_new(3);
    ck_assert_int_eq(ag_optim_set_steps(a, AG_OPTIM_MAX_STEPS), AG_OK);
    ck_assert_int_eq(ag_checkpoint_save(good, ma, a, r), AG_OK);
    tu_patch(good, bad, "\"9007199254740992\"", "\"9007199254740993\"");
    assert_load_refused(bad, mb, b, r, AG_ERR_FORMAT, "__metadata__ 'optim.steps' is "
                        "'9007199254740993', not a step count in [0, 9007199254740992]", NULL);
    tu_patch(good, bad, "\"9007199254740992\"", "\"9999999999999999\"");
    assert_load_refused(bad, mb, b, r, AG_ERR_FORMAT, "'optim.steps' is '9999999999999999'", NULL);
    ck_assert_int_eq(ag_optim_set_steps(a, 1), AG_OK);
    ck_assert_int_eq(ag_checkpoint_save(good, ma, a, r), AG_OK);
    tu_patch(good, bad, "\"optim.steps\":\"1\"", "\"optim.steps\":\"-\"");
    assert_load_refused(bad, mb, b, r, AG_ERR_FORMAT, "'optim.steps' is '-', not a step count",
                        NULL);
    ck_assert_int_eq(ag_optim_set_steps(a, AG_OPTIM_MAX_STEPS), AG_OK);
    ck_assert_int_eq(ag_checkpoint_save(good, ma, a, r), AG_OK);
    ck_assert_int_eq(ag_checkpoint_load(good, mb, b, r), AG_OK);
    ck_assert_int_eq(ag_optim_steps(b), AG_OPTIM_MAX_STEPS);
    ag_optim_free(a), ag_optim_free(b);
    ag_module_free(ma), ag_module_free(mb);
    ag_rng_free(r);
    tu_dir_remove(&d);
}
END_TEST

/* ---------------------------------------------------- learning rates --- */

/* The lr setters take a finite lr >= 0 only (before, Inf was taken and
   NaN ignored without a word); constructors likewise. */
START_TEST(test_learning_rates_are_range_checked)
{
    ag_module *m = one_param_module();
    ag_tensor *w = param_of(m);
    ag_optim *o = make_adam(w);
    const double bad[4] = {NAN, INFINITY, -INFINITY, -1};
    char want[96];
    for (int i = 0; i < 4; i++) {
        snprintf(want, sizeof want, "lr is %g, must be finite and >= 0", bad[i]);
        tu_assert_failed(ag_optim_set_lr(o, bad[i]), AG_ERR_ARG, "ag_optim_set_lr: ", want,
                         NULL);
        tu_assert_failed(ag_optim_set_base_lr(o, bad[i]), AG_ERR_ARG, "ag_optim_set_base_lr: ",
                         want, NULL);
        ck_assert_double_eq(ag_optim_get_lr(o), 1e-3);
        ck_assert_double_eq(ag_optim_base_lr(o), 1e-3);
    }
    tu_assert_failed(ag_optim_set_lr(NULL, 1), AG_ERR_ARG, "ag_optim_set_lr: optimizer is NULL",
                     NULL, NULL);
    ck_assert_int_eq(ag_optim_set_lr(o, 0), AG_OK);
    ck_assert_int_eq(ag_optim_set_lr(o, DBL_MAX), AG_OK);
    ck_assert_int_eq(ag_optim_set_base_lr(o, 0.25), AG_OK);
    ck_assert_double_eq(ag_optim_get_lr(o), DBL_MAX);
    ck_assert_double_eq(ag_optim_base_lr(o), 0.25);
    ag_lbfgs_opts lo = ag_lbfgs_default_opts();
    lo.lr = INFINITY;
    ck_assert_ptr_null(ag_lbfgs_new(1, &w, &lo));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "lr is inf, must be finite and >= 0"));
    ag_newton_opts no = ag_newton_default_opts();
    no.lr = NAN;
    ck_assert_ptr_null(ag_newton_new(1, &w, &no));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "must be finite and >= 0"));
    ag_optim_free(o);
    ag_module_free(m);
}
END_TEST

/* A schedule whose closed form overflows (base_lr gamma^e) refuses the
   epoch instead of setting an infinite lr; epochs are range-checked. */
START_TEST(test_schedules_refuse_what_they_cannot_count)
{
    ag_module *m = one_param_module();
    ag_optim *o = ag_sgd_new(1, (ag_tensor *[]){param_of(m)}, &(ag_sgd_opts){.lr = 1});
    ag_sched *s = ag_exponential_lr_new(o, 10);
    tu_assert_failed(ag_sched_set_last_epoch(s, 400), AG_ERR_ARG, "ag_sched_set_last_epoch: the "
                     "lr of group 0 at epoch 400 is inf (base lr 1), not a learning rate", NULL, NULL);
    ck_assert_int_eq(ag_sched_last_epoch(s), 0);
    ck_assert_double_eq(ag_optim_get_lr(o), 1);
    ck_assert_int_eq(ag_sched_set_last_epoch(s, 308), AG_OK);
    ck_assert_double_eq_tol(ag_optim_get_lr(o), 1e308, 1e293);
    tu_assert_failed(ag_sched_step(s), AG_ERR_ARG, "ag_sched_step: the lr of group 0 at epoch 309 is inf",
                     NULL, NULL);
    ck_assert_int_eq(ag_sched_last_epoch(s), 308);
    ck_assert_double_eq(ag_sched_get_last_lr(s), ag_optim_get_lr(o));
    ag_sched_free(s);
    /* epochs */
    s = ag_step_lr_new(o, 2, 0.5);
    tu_assert_failed(ag_sched_set_last_epoch(s, INT64_MAX), AG_ERR_ARG, "ag_sched_set_last_"
                     "epoch: epoch is 9223372036854775807, must be in [0, 9007199254740992]",
                     NULL, NULL);
    ck_assert_int_eq(ag_sched_set_last_epoch(s, AG_SCHED_MAX_EPOCH), AG_OK);
    tu_assert_failed(ag_sched_step(s), AG_ERR_STATE, "ag_sched_step: the schedule is at epoch "
                     "9007199254740992, the last it counts", NULL, NULL);
    ag_sched_free(s);
    s = ag_reduce_lr_on_plateau_new(o, NULL);
    ck_assert_int_eq(ag_sched_set_last_epoch(s, AG_SCHED_MAX_EPOCH), AG_OK);
    tu_assert_failed(ag_plateau_step(s, 1.0), AG_ERR_STATE, "ag_plateau_step: the schedule is "
                     "at epoch 9007199254740992", NULL, NULL);
    ag_sched_free(s);
    ag_optim_free(o);
    ag_module_free(m);
}
END_TEST

/* --------------------------------------------------------- generator --- */

/* A checkpoint holding an all-zero generator state (xoshiro's fixed
   point: zeros forever, normal draws never return) is refused. */
START_TEST(test_checkpoint_refuses_an_all_zero_generator)
{
    tu_dir d;
    tu_dir_make(&d);
    const char *good = tu_path(&d, "good.ckpt"), *bad = tu_path(&d, "bad.ckpt");
    ag_module *m = one_param_module();
    ag_optim *o = make_adam(param_of(m));
    ag_rng *r = ag_rng_new(9);
    ck_assert_int_eq(ag_checkpoint_save(good, m, o, r), AG_OK);
    size_t n;
    unsigned char *buf = tu_read(good, &n);
    size_t hl = buf[0] | (size_t)buf[1] << 8 | (size_t)buf[2] << 16;
    ck_assert_int_ge(tu_find(buf, n, "\"rng.state\":{\"dtype\":\"U64\",\"shape\":[4],"
                             "\"data_offsets\":[0,32]}"), 0);
    memset(buf + 8 + hl, 0, 32);
    tu_write(bad, buf, n);
    free(buf);
    assert_load_refused(bad, m, o, r, AG_ERR_FORMAT, bad, "tensor 'rng.state' is all zero, not "
                        "a generator state");
    ck_assert_int_eq(ag_checkpoint_load(bad, m, o, NULL), AG_OK);     /* ignored without r */
    ag_optim_free(o);
    ag_module_free(m);
    ag_rng_free(r);
    tu_dir_remove(&d);
}
END_TEST

Suite *suite_optim_state(void)
{
    Suite *s = suite_create("optim_state");
    TU_ADD(s, test_lbfgs_step_refuses_a_written_n_history);
    TU_ADD(s, test_checkpoint_refuses_bad_lbfgs_state);
    TU_ADD(s, test_checkpoint_refuses_bad_first_order_state);
    TU_ADD(s, test_nadam_step_refuses_a_written_mu_product);
    TU_ADD(s, test_step_count_is_range_checked);
    TU_ADD(s, test_checkpoint_refuses_a_step_count_out_of_range);
    TU_ADD(s, test_learning_rates_are_range_checked);
    TU_ADD(s, test_schedules_refuse_what_they_cannot_count);
    TU_ADD(s, test_checkpoint_refuses_an_all_zero_generator);
    return s;
}
