/*
** test_least_squares.c: Gauss-Newton and Levenberg-Marquardt
** (ag_minimize.h). Gauss-Newton's steps on the Rosenbrock residuals by
** hand, and on a curve fit against the normal equations solved here in
** plain C with the analytic Jacobian (both ways of computing J); LM's
** first step equal to Gauss-Newton's when it fits the trust region, its
** cost never increasing, Rosenbrock 2-D and 100-D and a sum-of-
** exponentials fit within stated iteration counts; a checkpoint round
** trip; bad options, state and residuals refused.
*/
#include "minimize_test_util.h"
#include "st_test_util.h"

static const ag_lsq_jacobian MODES[3] = {AG_LSQ_JACOBIAN_ROWS, AG_LSQ_JACOBIAN_COLUMNS,
                                         AG_LSQ_JACOBIAN_AUTO};

/* Residuals r = (10 (b - a^2), 1 - a) in 2-D: the Gauss-Newton step
   solves the linearization exactly, so from (a0, b0) it goes to (1, 2 a0
   - a0^2) and then to (1, 1). */
START_TEST(test_gauss_newton_steps_on_rosenbrock_by_hand)
{
    for (int k = 0; k < 3; k++) {
        mt_rosen r = mt_rosen_new(1, 0);
        ag_gauss_newton_opts op = ag_gauss_newton_default_opts();
        op.jacobian = MODES[k];
        ag_optim *o = ag_gauss_newton_new(2, r.p, &op);
        double cost;
        ck_assert_int_eq(ag_gauss_newton_step(o, mt_rosen_residuals, &r, &cost), AG_OK);
        ck_assert_double_eq_tol(cost, 0.5 * (4.4 * 4.4 + 2.2 * 2.2), 1e-12);
        ck_assert_double_eq_tol(ag_tensor_get(r.p[0], 0), 1, 1e-12);
        ck_assert_double_eq_tol(ag_tensor_get(r.p[1], 0), -2.4 - 1.44, 1e-12);
        ck_assert_int_eq(ag_gauss_newton_step(o, mt_rosen_residuals, &r, &cost), AG_OK);
        ck_assert_double_eq_tol(cost, 0.5 * 48.4 * 48.4, 1e-9);
        ck_assert_double_eq_tol(ag_tensor_get(r.p[0], 0), 1, 1e-12);
        ck_assert_double_eq_tol(ag_tensor_get(r.p[1], 0), 1, 1e-12);
        ck_assert_int_eq(ag_optim_steps(o), 2);
        ag_optim_free(o);
        mt_rosen_free(&r);
    }
}
END_TEST

/* ----------------------------------------------------------- curve fit --- */

/* y(t) = sum over terms of c_k exp(-l_k t); params x = (c_0, l_0, c_1,
   l_1, ...) in one tensor; residuals model - data at T points. */
#define NT 12
typedef struct fit {
    ag_tensor *x;
    int terms;
    double t[NT], y[NT];
} fit;

static fit fit_new(int terms, const double *truth, const double *start)
{
    fit f = {tu_tensor(AG_F64, 1, SHAPE(2 * terms), start), terms, {0}, {0}};
    ag_set_requires_grad(f.x, 1);
    for (int i = 0; i < NT; i++) {
        f.t[i] = 0.25 * i;
        f.y[i] = 0;
        for (int k = 0; k < terms; k++) f.y[i] += truth[2 * k] * exp(-truth[2 * k + 1] * f.t[i]);
    }
    return f;
}

static ag_tensor *fit_residuals(ag_tape *t, void *ctx)
{
    fit *f = ctx;
    ag_tensor *tt = ag_from_f64(t, AG_F64, 1, SHAPE(NT), f->t);
    ag_tensor *model = ag_mul_scalar(t, tt, 0);
    for (int k = 0; k < f->terms; k++) {
        ag_tensor *c = ag_slice(t, f->x, 0, 2 * k, 2 * k + 1, 1);
        ag_tensor *l = ag_slice(t, f->x, 0, 2 * k + 1, 2 * k + 2, 1);
        model = ag_add(t, model, ag_mul(t, c, ag_exp(t, ag_neg(t, ag_mul(t, l, tt)))));
    }
    return ag_sub(t, model, ag_from_f64(t, AG_F64, 1, SHAPE(NT), f->y));
}

/* The Gauss-Newton step of the one-term fit in plain C: the analytic J
   (columns exp(-l t), -c t exp(-l t)), J^T J d = -J^T r by Cramer. */
static void gn_reference(const fit *f, const double *x, double *d)
{
    double a = 0, b = 0, cc = 0, g0 = 0, g1 = 0;
    for (int i = 0; i < NT; i++) {
        double e = exp(-x[1] * f->t[i]), j0 = e, j1 = -x[0] * f->t[i] * e;
        double r = x[0] * e - f->y[i];
        a += j0 * j0, b += j0 * j1, cc += j1 * j1, g0 += j0 * r, g1 += j1 * r;
    }
    double det = a * cc - b * b;
    d[0] = -(cc * g0 - b * g1) / det;
    d[1] = -(a * g1 - b * g0) / det;
}

START_TEST(test_gauss_newton_step_matches_the_normal_equations)
{
    static const double truth[2] = {2.0, 0.7}, start[2] = {1.5, 0.4};
    for (int k = 0; k < 3; k++) {
        fit f = fit_new(1, truth, start);
        ag_gauss_newton_opts op = ag_gauss_newton_default_opts();
        op.jacobian = MODES[k];
        op.lr = 0.5;
        ag_optim *o = ag_gauss_newton_new(1, &f.x, &op);
        for (int step = 0; step < 3; step++) {
            double x[2] = {ag_tensor_get(f.x, 0), ag_tensor_get(f.x, 1)}, d[2];
            gn_reference(&f, x, d);
            ck_assert_int_eq(ag_gauss_newton_step(o, fit_residuals, &f, NULL), AG_OK);
            for (int i = 0; i < 2; i++)
                ck_assert_double_eq_tol(ag_tensor_get(f.x, i), x[i] + 0.5 * d[i], 1e-11);
        }
        ag_optim_free(o);
        ag_tensor_free(f.x);
    }
}
END_TEST

static ag_tensor *lm_state(ag_optim *o, const char *name)
{
    ag_named_tensor st[8];
    int n = ag_optim_state(o, st, 8);
    for (int i = 0; i < n && i < 8; i++)
        if (!strcmp(st[i].name, name)) return st[i].tensor;
    ck_abort_msg("no state '%s'", name);
    return NULL;
}

/* Near the solution the Gauss-Newton step fits in the first trust region
   (factor 100 |D x|) and lowers the cost: LM takes it with lambda = 0. */
START_TEST(test_lm_first_step_is_gauss_newton_when_it_fits)
{
    static const double truth[2] = {2.0, 0.7}, start[2] = {1.9, 0.75};
    fit f = fit_new(1, truth, start);
    ag_optim *o = ag_lm_new(1, &f.x, NULL);
    double x[2] = {start[0], start[1]}, d[2];
    gn_reference(&f, x, d);
    ck_assert_int_eq(ag_lm_step(o, fit_residuals, &f, NULL), AG_OK);
    for (int i = 0; i < 2; i++) ck_assert_double_eq_tol(ag_tensor_get(f.x, i), x[i] + d[i], 1e-11);
    ck_assert_double_eq(ag_tensor_get(lm_state(o, "0.par"), 0), 0);
    ck_assert_double_eq(ag_tensor_get(lm_state(o, "0.func_evals"), 0), 2);
    ag_optim_free(o);
    ag_tensor_free(f.x);
}
END_TEST

/* Steps until max |x - 1| <= 1e-8 (at most limit), asserting the cost
   never increases. */
static int lm_rosen_iterations(int n, double spread, int limit)
{
    mt_rosen r = mt_rosen_new(n, spread);
    ag_optim *o = ag_lm_new(2, r.p, NULL);
    double prev = INFINITY, cost;
    int it = 0;
    while (it < limit && mt_rosen_error(&r) > 1e-8) {
        ck_assert_int_eq(ag_lm_step(o, mt_rosen_residuals, &r, &cost), AG_OK);
        ck_assert_msg(cost <= prev, "step %d: cost %.17g after %.17g", it, cost, prev);
        prev = cost;
        it++;
    }
    ag_optim_free(o);
    mt_rosen_free(&r);
    return it;
}

/* Where Gauss-Newton's first step from (-1.2, 1) raises the cost from
   12.1 to 1171.28, LM shrinks its trust region instead. Measured: 15
   iterations in 2-D, 11 in 100-D with the spread start. */
START_TEST(test_lm_solves_rosenbrock)
{
    int two = lm_rosen_iterations(1, 0, 100), hundred = lm_rosen_iterations(50, 0.05, 100);
    ck_assert_msg(two <= 20, "2-D: %d iterations", two);
    ck_assert_msg(hundred <= 15, "100-D: %d iterations", hundred);
}
END_TEST

/* Two exponentials from a start where each rate is off by a factor near
   2: LM within 10 iterations to 1e-7 (measured: 6). */
START_TEST(test_lm_fits_a_sum_of_exponentials)
{
    static const double truth[4] = {2.0, 1.3, 0.5, 0.2}, start[4] = {1.0, 2.5, 1.0, 0.1};
    fit f = fit_new(2, truth, start);
    ag_optim *o = ag_lm_new(1, &f.x, NULL);
    int it = 0;
    double err = INFINITY;
    for (; it < 10 && err > 1e-7; it++) {
        ck_assert_int_eq(ag_lm_step(o, fit_residuals, &f, NULL), AG_OK);
        err = 0;
        for (int i = 0; i < 4; i++) err = fmax(err, fabs(ag_tensor_get(f.x, i) - truth[i]));
    }
    ck_assert_msg(err <= 1e-7, "after %d iterations the error is %g", it, err);
    ag_optim_free(o);
    ag_tensor_free(f.x);
}
END_TEST

/* ----------------------------------------------------------- resuming --- */

static const ag_module_ops holder_ops = {"Holder", NULL, NULL};

START_TEST(test_lm_resumes_from_a_checkpoint)
{
    tu_dir dir;
    tu_dir_make(&dir);
    const char *path = tu_path(&dir, "lm.ckpt");
    mt_rosen r[2];
    ag_module *m[2];
    ag_optim *o[2];
    for (int k = 0; k < 2; k++) {
        r[k] = mt_rosen_new(3, 0.1);
        m[k] = calloc(1, sizeof *m[k]);
        ag_module_init(m[k], &holder_ops);
        ck_assert_int_eq(ag_module_add_param(m[k], "a", r[k].p[0]), AG_OK);
        ck_assert_int_eq(ag_module_add_param(m[k], "b", r[k].p[1]), AG_OK);
        o[k] = ag_lm_new(2, r[k].p, NULL);
    }
    for (int i = 0; i < 3; i++) ck_assert_int_eq(ag_lm_step(o[0], mt_rosen_residuals, &r[0], NULL), AG_OK);
    ck_assert_int_eq(ag_checkpoint_save(path, m[0], o[0], NULL), AG_OK);
    ck_assert_int_eq(ag_checkpoint_load(path, m[1], o[1], NULL), AG_OK);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 2; k++)
            ck_assert_int_eq(ag_lm_step(o[k], mt_rosen_residuals, &r[k], NULL), AG_OK);
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 3; i++)
            ck_assert_double_eq(ag_tensor_get(r[0].p[j], i), ag_tensor_get(r[1].p[j], i));
    ck_assert_double_eq(ag_tensor_get(lm_state(o[0], "0.delta"), 0),
                        ag_tensor_get(lm_state(o[1], "0.delta"), 0));
    ag_tensor_set(lm_state(o[0], "0.par"), 0, -0.5);
    ck_assert_int_eq(ag_checkpoint_save(path, m[0], o[0], NULL), AG_OK);
    tu_assert_failed(ag_checkpoint_load(path, m[1], o[1], NULL), AG_ERR_FORMAT,
                     "0.par' is -0.5", "must be in [0,", NULL);
    for (int k = 0; k < 2; k++) ag_optim_free(o[k]), ag_module_free(m[k]);
    tu_dir_remove(&dir);
}
END_TEST

/* -------------------------------------------------------------- errors --- */

static ag_tensor *rank_one(ag_tape *t, void *ctx)      /* r = a + b: J = [1, 1] */
{
    mt_rosen *r = ctx;
    return ag_add(t, r->p[0], r->p[1]);
}

static ag_tensor *sqrt_of_b(ag_tape *t, void *ctx)     /* NaN for b < 0 */
{
    return ag_sqrt(t, ((mt_rosen *)ctx)->p[1]);
}

static ag_tensor *null_no_error(ag_tape *t, void *ctx) { (void)t, (void)ctx; return NULL; }

START_TEST(test_least_squares_refuse_bad_input)
{
    mt_rosen r = mt_rosen_new(1, 0);
    ag_lm_opts lo = ag_lm_default_opts();
    lo.factor = 0;
    ot_fails(ag_lm_new(2, r.p, &lo), "ag_lm_new: factor is 0", "> 0");
    lo = ag_lm_default_opts(), lo.max_trials = 0;
    ot_fails(ag_lm_new(2, r.p, &lo), "max_trials is 0", "[1,");
    lo = ag_lm_default_opts(), lo.jacobian = (ag_lsq_jacobian)9;
    ot_fails(ag_lm_new(2, r.p, &lo), "ag_lm_new: jacobian is 9", "AG_LSQ_JACOBIAN_AUTO");
    ag_gauss_newton_opts go = ag_gauss_newton_default_opts();
    go.max_params = 1;
    ot_fails(ag_gauss_newton_new(2, r.p, &go), "the parameters have 2 elements", "max_params 1");
    go = ag_gauss_newton_default_opts(), go.lr = INFINITY;
    ot_fails(ag_gauss_newton_new(2, r.p, &go), "lr is inf", "finite");
    ag_optim *gn = ag_gauss_newton_new(2, r.p, NULL), *lm = ag_lm_new(2, r.p, NULL);
    tu_assert_failed(ag_gauss_newton_step(gn, rank_one, &r, NULL), AG_ERR_ARG,
                     "ag_gauss_newton_step: J^T J is not positive definite", "rank < 2",
                     "ag_lm_new");
    ck_assert_double_eq(ag_tensor_get(r.p[0], 0), -1.2);    /* unchanged */
    ck_assert_int_eq(ag_lm_step(lm, rank_one, &r, NULL), AG_OK);   /* LM copes */
    ck_assert_double_eq_tol(ag_tensor_get(r.p[0], 0) + ag_tensor_get(r.p[1], 0), 0, 1e-9);
    ag_tensor_set(r.p[1], 0, -1);
    tu_assert_failed(ag_gauss_newton_step(gn, sqrt_of_b, &r, NULL), AG_ERR_ARG,
                     "ag_gauss_newton_step: residual 0 is ", "nan", NULL);
    tu_assert_failed(ag_lm_step(lm, null_no_error, &r, NULL), AG_ERR_ARG,
                     "ag_lm_step: the residual function returned NULL", NULL, NULL);
    tu_assert_failed(ag_lm_step(gn, rank_one, &r, NULL), AG_ERR_ARG,
                     "ag_lm_step: the optimizer is not a Levenberg-Marquardt one", NULL, NULL);
    tu_assert_failed(ag_gauss_newton_step(gn, NULL, &r, NULL), AG_ERR_ARG,
                     "the residual function is NULL", NULL, NULL);
    tu_assert_failed(ag_optim_step(lm), AG_ERR_ARG, "needs a residual function", "ag_lm_step",
                     NULL);
    /* restored state */
    ag_tensor_set(lm_state(lm, "0.n_iter"), 0, 1.5);
    tu_assert_failed(ag_lm_step(lm, rank_one, &r, NULL), AG_ERR_STATE, "'0.n_iter' is 1.5",
                     "must be an integer", NULL);
    ag_tensor_set(lm_state(lm, "0.n_iter"), 0, 1);
    ag_tensor_set(lm_state(lm, "0.diag"), 1, 0);
    tu_assert_failed(ag_lm_step(lm, rank_one, &r, NULL), AG_ERR_STATE,
                     "'0.diag' element 1 is 0", "must be > 0", NULL);
    ag_tensor_set(lm_state(lm, "0.delta"), 0, NAN);
    tu_assert_failed(ag_optim_check_state(lm), AG_ERR_STATE, "'0.delta' is nan", NULL, NULL);
    ag_optim_free(gn), ag_optim_free(lm);
    mt_rosen_free(&r);
}
END_TEST

Suite *suite_least_squares(void)
{
    Suite *s = suite_create("least_squares");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gauss_newton_steps_on_rosenbrock_by_hand);
    tcase_add_test(tc, test_gauss_newton_step_matches_the_normal_equations);
    tcase_add_test(tc, test_lm_first_step_is_gauss_newton_when_it_fits);
    tcase_add_test(tc, test_lm_solves_rosenbrock);
    tcase_add_test(tc, test_lm_fits_a_sum_of_exponentials);
    tcase_add_test(tc, test_lm_resumes_from_a_checkpoint);
    tcase_add_test(tc, test_least_squares_refuse_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
