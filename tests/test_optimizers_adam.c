/*
** test_optimizers_adam.c: Adam (with AMSGrad and L2 decay), AdamW, Adamax
** and NAdam: the first three steps against the published rules written out
** in plain C below, convergence on a convex quadratic, state names, a
** state loaded into a fresh optimizer resuming exactly, and the
** hyper-parameter checks.
*/
#include "optim_test_util.h"

/* ------------------------------------------------- reference updates --- */

/* Adam / AdamW (decoupled): st s[0] m, s[1] v, s[2] vmax */
static void adam_like_ref(const ag_adam_opts *o, int decoupled, double *p, ot_state *st, int t)
{
    double b1 = o->beta1, b2 = o->beta2;
    for (int k = 0; k < 3; k++) {
        double g = 2 * OT_C[k] * p[k];
        if (o->maximize) g = -g;
        if (decoupled) p[k] *= 1 - o->lr * o->weight_decay;
        else g += o->weight_decay * p[k];
        double m = st->s[0][k] = b1 * st->s[0][k] + (1 - b1) * g;
        double v = st->s[1][k] = b2 * st->s[1][k] + (1 - b2) * g * g;
        if (o->amsgrad) v = st->s[2][k] = fmax(st->s[2][k], v);
        double mhat = m / (1 - pow(b1, t)), vhat = v / (1 - pow(b2, t));
        p[k] -= o->lr * mhat / (sqrt(vhat) + o->eps);
    }
}

static void adam_ref(const void *o, double *p, ot_state *st, int t)
{
    adam_like_ref(o, 0, p, st, t);
}

static void adamw_ref(const void *o, double *p, ot_state *st, int t)
{
    adam_like_ref(o, 1, p, st, t);
}

/* st s[0] m, s[1] u; scalar counts the times b2 u won the max */
static void adamax_ref(const void *opts, double *p, ot_state *st, int t)
{
    const ag_adamax_opts *o = opts;
    for (int k = 0; k < 3; k++) {
        double g = 2 * OT_C[k] * p[k] + o->weight_decay * p[k];
        st->scalar += o->beta2 * st->s[1][k] > fabs(g) + o->eps;
        st->s[0][k] = o->beta1 * st->s[0][k] + (1 - o->beta1) * g;
        st->s[1][k] = fmax(o->beta2 * st->s[1][k], fabs(g) + o->eps);
        p[k] -= o->lr / (1 - pow(o->beta1, t)) * st->s[0][k] / st->s[1][k];
    }
}

/* st s[0] m, s[1] v, scalar: prod of mu_1..mu_t (starts at 1) */
static void nadam_ref(const void *opts, double *p, ot_state *st, int t)
{
    const ag_nadam_opts *o = opts;
    double b1 = o->beta1, b2 = o->beta2;
    double mu = b1 * (1 - 0.5 * pow(0.96, t * o->momentum_decay));
    double mu1 = b1 * (1 - 0.5 * pow(0.96, (t + 1) * o->momentum_decay));
    if (t == 1) st->scalar = 1;
    st->scalar *= mu;
    for (int k = 0; k < 3; k++) {
        double g = 2 * OT_C[k] * p[k];
        if (o->decoupled_weight_decay) p[k] *= 1 - o->lr * o->weight_decay;
        else g += o->weight_decay * p[k];
        double m = st->s[0][k] = b1 * st->s[0][k] + (1 - b1) * g;
        double v = st->s[1][k] = b2 * st->s[1][k] + (1 - b2) * g * g;
        double mhat = mu1 * m / (1 - st->scalar * mu1) + (1 - mu) * g / (1 - st->scalar);
        p[k] -= o->lr * mhat / (sqrt(v / (1 - pow(b2, t))) + o->eps);
    }
}

/* ----------------------------------------------------------------- Adam --- */

START_TEST(test_adam_defaults_three_steps)
{
    ag_adam_opts op = ag_adam_defaults();
    ck_assert_double_eq(op.lr, 1e-3);
    ck_assert_double_eq(op.beta2, 0.999);
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_adam_new(1, &p, NULL);
    ck_assert_str_eq(ag_optim_name(o), "Adam");
    ag_named_tensor names[3];
    ck_assert_int_eq(ag_optim_state(o, names, 3), 3);
    ck_assert_str_eq(names[0].name, "0.exp_avg");
    ck_assert_str_eq(names[1].name, "0.exp_avg_sq");
    ck_assert_str_eq(names[2].name, "0.step");
    ck_assert_int_eq(ag_tensor_dtype(names[2].tensor), AG_F64);
    ck_assert_int_eq(ag_tensor_ndim(names[2].tensor), 0);
    ot_state st;
    ot_check_three_steps(o, p, adam_ref, &op, &st);
    ck_assert_double_eq(ag_tensor_get(names[2].tensor, 0), 3);
    ot_assert_state(o, "0.exp_avg", st.s[0]);
    ot_assert_state(o, "0.exp_avg_sq", st.s[1]);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_adam_amsgrad_weight_decay_three_steps)
{
    /* beta2 0.5 and a large step make v fall at step 3, so the max matters */
    ag_adam_opts op = {.lr = 0.5, .beta1 = 0.8, .beta2 = 0.5, .eps = 1e-8,
                       .weight_decay = 0.05, .amsgrad = 1};
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_adam_new(1, &p, &op);
    ot_state st;
    ot_check_three_steps(o, p, adam_ref, &op, &st);
    int max_mattered = 0;
    for (int k = 0; k < 3; k++) max_mattered |= st.s[2][k] > st.s[1][k];
    ck_assert_msg(max_mattered, "test problem does not exercise amsgrad");
    ot_assert_state(o, "0.exp_avg_sq", st.s[1]);
    ot_assert_state(o, "0.max_exp_avg_sq", st.s[2]);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_adam_maximize_three_steps)
{
    ag_adam_opts op = ag_adam_defaults();
    op.lr = 0.1, op.maximize = 1;
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_adam_new(1, &p, &op);
    ot_state st;
    ot_check_three_steps(o, p, adam_ref, &op, &st);
    ck_assert_double_gt(fabs(ag_tensor_get(p, 1)), 2);      /* climbed away from 0 */
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_adam_converges)
{
    ag_tensor *p = ot_param(VALS(0, 0, 0));
    ag_adam_opts op = ag_adam_defaults();
    op.lr = 0.05;
    ag_optim *o = ag_adam_new(1, &p, &op);
    ck_assert_double_le(ot_converge(o, p, 500), 1e-9);
    ag_optim_free(o);
    p = (ag_tensor_free(p), ot_param(VALS(0, 0, 0)));
    op.amsgrad = 1;
    o = ag_adam_new(1, &p, &op);
    ck_assert_double_le(ot_converge(o, p, 500), 1e-9);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

/* ---------------------------------------------------------------- AdamW --- */

START_TEST(test_adamw_three_steps)
{
    ag_adam_opts op = ag_adamw_defaults();
    ck_assert_double_eq(op.weight_decay, 1e-2);
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_adamw_new(1, &p, NULL);
    ck_assert_str_eq(ag_optim_name(o), "AdamW");
    ot_state st;
    ot_check_three_steps(o, p, adamw_ref, &op, &st);
    ag_optim_free(o);
    /* a large decoupled decay, with amsgrad */
    op = (ag_adam_opts){.lr = 0.1, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8,
                        .weight_decay = 0.5, .amsgrad = 1};
    p = (ag_tensor_free(p), ot_param(OT_P0));
    o = ag_adamw_new(1, &p, &op);
    ot_check_three_steps(o, p, adamw_ref, &op, &st);
    ot_assert_state(o, "0.max_exp_avg_sq", st.s[2]);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_adamw_converges_near_minimum)
{
    /* decoupled decay shifts the fixed point: it ends near b, not at it */
    ag_tensor *p = ot_param(VALS(0, 0, 0));
    ag_adam_opts op = ag_adamw_defaults();
    op.lr = 0.05;
    ag_optim *o = ag_adamw_new(1, &p, &op);
    ck_assert_double_le(ot_converge(o, p, 500), 1e-2);
    ag_optim_free(o);
    p = (ag_tensor_free(p), ot_param(VALS(0, 0, 0)));
    op.weight_decay = 0;                /* no decay: Adam's exact convergence */
    o = ag_adamw_new(1, &p, &op);
    ck_assert_double_le(ot_converge(o, p, 500), 1e-9);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

/* --------------------------------------------------------------- Adamax --- */

START_TEST(test_adamax_three_steps)
{
    /* beta2 0.5: the decayed u wins over |g| + eps for some elements */
    ag_adamax_opts op = {.lr = 0.3, .beta1 = 0.8, .beta2 = 0.5, .eps = 1e-8,
                         .weight_decay = 0.01};
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_adamax_new(1, &p, &op);
    ot_state st;
    ot_check_three_steps(o, p, adamax_ref, &op, &st);
    ck_assert_msg(st.scalar > 0, "test problem does not exercise the decayed u");
    ot_assert_state(o, "0.exp_avg", st.s[0]);
    ot_assert_state(o, "0.exp_inf", st.s[1]);
    ag_optim_free(o);
    op = ag_adamax_defaults();
    ck_assert_double_eq(op.lr, 2e-3);
    p = (ag_tensor_free(p), ot_param(OT_P0));
    o = ag_adamax_new(1, &p, NULL);
    ot_check_three_steps(o, p, adamax_ref, &op, &st);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_adamax_converges)
{
    ag_tensor *p = ot_param(VALS(0, 0, 0));
    ag_adamax_opts op = ag_adamax_defaults();
    op.lr = 0.05;
    ag_optim *o = ag_adamax_new(1, &p, &op);
    ck_assert_double_le(ot_converge(o, p, 500), 1e-9);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

/* ---------------------------------------------------------------- NAdam --- */

START_TEST(test_nadam_three_steps)
{
    ag_nadam_opts op = {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.99, .eps = 1e-8,
                        .weight_decay = 0.02, .momentum_decay = 0.5};
    ag_tensor *p = ot_param(OT_P0);
    ag_optim *o = ag_nadam_new(1, &p, &op);
    ag_tensor *mp = ot_state_tensor(o, "0.mu_product");
    ck_assert_int_eq(ag_tensor_ndim(mp), 0);
    ck_assert_double_eq(ag_tensor_get(mp, 0), 1);
    ot_state st;
    ot_check_three_steps(o, p, nadam_ref, &op, &st);
    ck_assert_double_eq_tol(ag_tensor_get(ot_state_tensor(o, "0.mu_product"), 0), st.scalar,
                            1e-15);
    ot_assert_state(o, "0.exp_avg", st.s[0]);
    ot_assert_state(o, "0.exp_avg_sq", st.s[1]);
    ag_optim_free(o);
    /* decoupled weight decay; and the defaults */
    op.decoupled_weight_decay = 1, op.weight_decay = 0.3;
    p = (ag_tensor_free(p), ot_param(OT_P0));
    o = ag_nadam_new(1, &p, &op);
    ot_check_three_steps(o, p, nadam_ref, &op, &st);
    ag_optim_free(o);
    op = ag_nadam_defaults();
    ck_assert_double_eq(op.momentum_decay, 4e-3);
    p = (ag_tensor_free(p), ot_param(OT_P0));
    o = ag_nadam_new(1, &p, NULL);
    ot_check_three_steps(o, p, nadam_ref, &op, &st);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

START_TEST(test_nadam_converges)
{
    ag_tensor *p = ot_param(VALS(0, 0, 0));
    ag_nadam_opts op = ag_nadam_defaults();
    op.lr = 0.05;
    ag_optim *o = ag_nadam_new(1, &p, &op);
    ck_assert_double_le(ot_converge(o, p, 400), 1e-9);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

/* ---------------------------------------------------------------- common --- */

/* Two steps with a, its state and step count copied into a fresh b, then
   one step each: the same parameters (state exists up front, so a
   checkpoint loads into it). */
static void check_resume(ag_optim *(*make)(int, ag_tensor *const *, const void *),
                         const void *opts)
{
    ag_tensor *pa = ot_param(OT_P0), *pb = ot_param(OT_P0);
    ag_optim *a = make(1, &pa, opts), *b = make(1, &pb, opts);
    ag_tape *t = ag_tape_new();
    ot_step(a, t, pa, OT_C);
    ot_step(a, t, pa, OT_C);
    ag_named_tensor sa[8], sb[8];
    int n = ag_optim_state(a, sa, 8);
    ck_assert_int_eq(ag_optim_state(b, sb, 8), n);
    for (int i = 0; i < n; i++) {
        ck_assert_str_eq(sa[i].name, sb[i].name);
        ck_assert_int_eq(ag_assign(sb[i].tensor, sa[i].tensor), AG_OK);
    }
    ck_assert_int_eq(ag_assign(pb, pa), AG_OK);
    ag_optim_set_steps(b, ag_optim_steps(a));
    ot_step(a, t, pa, OT_C);
    ot_step(b, t, pb, OT_C);
    for (int k = 0; k < 3; k++) ck_assert_double_eq(ag_tensor_get(pb, k), ag_tensor_get(pa, k));
    ag_tape_free(t);
    ag_optim_free(a), ag_optim_free(b);
    ag_tensor_free(pa), ag_tensor_free(pb);
}

static ag_optim *make_adam(int n, ag_tensor *const *p, const void *o)
{
    return ag_adam_new(n, p, o);
}

static ag_optim *make_nadam(int n, ag_tensor *const *p, const void *o)
{
    return ag_nadam_new(n, p, o);
}

START_TEST(test_state_loads_into_fresh_optimizer)
{
    ag_adam_opts ao = ag_adam_defaults();
    ao.lr = 0.1, ao.amsgrad = 1;
    check_resume(make_adam, &ao);
    ag_nadam_opts no = ag_nadam_defaults();
    no.lr = 0.1;
    check_resume(make_nadam, &no);
}
END_TEST

START_TEST(test_adam_kin_reject_bad_options)
{
    ag_tensor *p = ot_param(OT_P0);
    ag_adam_opts ao = ag_adam_defaults();
    ao.beta1 = 1;
    ot_assert_fails(ag_adam_new(1, &p, &ao), "ag_adam_new", "beta1 is 1, must be in [0, 1)");
    ao = ag_adam_defaults(), ao.beta2 = -0.1;
    ot_assert_fails(ag_adam_new(1, &p, &ao), "ag_adam_new", "beta2 is -0.1");
    ao = ag_adam_defaults(), ao.eps = -1;
    ot_assert_fails(ag_adam_new(1, &p, &ao), "ag_adam_new", "eps is -1");
    ao = ag_adamw_defaults(), ao.weight_decay = -0.01;
    ot_assert_fails(ag_adamw_new(1, &p, &ao), "ag_adamw_new", "weight_decay is -0.01");
    ao = ag_adamw_defaults(), ao.lr = INFINITY;
    ot_assert_fails(ag_adamw_new(1, &p, &ao), "ag_adamw_new", "lr is inf");
    ag_adamax_opts xo = ag_adamax_defaults();
    xo.beta2 = NAN;
    ot_assert_fails(ag_adamax_new(1, &p, &xo), "ag_adamax_new", "beta2 is nan");
    ag_nadam_opts no = ag_nadam_defaults();
    no.momentum_decay = -1;
    ot_assert_fails(ag_nadam_new(1, &p, &no), "ag_nadam_new", "momentum_decay is -1");
    ot_assert_fails(ag_nadam_new(0, NULL, NULL), "NAdam", "no parameters");
    ag_tensor_free(p);
}
END_TEST

Suite *suite_optimizers_adam(void)
{
    Suite *s = suite_create("optimizers_adam");
    TU_ADD(s, test_adam_defaults_three_steps);
    TU_ADD(s, test_adam_amsgrad_weight_decay_three_steps);
    TU_ADD(s, test_adam_maximize_three_steps);
    TU_ADD(s, test_adam_converges);
    TU_ADD(s, test_adamw_three_steps);
    TU_ADD(s, test_adamw_converges_near_minimum);
    TU_ADD(s, test_adamax_three_steps);
    TU_ADD(s, test_adamax_converges);
    TU_ADD(s, test_nadam_three_steps);
    TU_ADD(s, test_nadam_converges);
    TU_ADD(s, test_state_loads_into_fresh_optimizer);
    TU_ADD(s, test_adam_kin_reject_bad_options);
    return s;
}
