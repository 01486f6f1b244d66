/*
** test_cg_bfgs.c: nonlinear conjugate gradient and BFGS (ag_minimize.h).
** The published rules checked on a non-quadratic problem with gradients
** computed here in plain C: CG's beta (Fletcher-Reeves, Polak-Ribiere+),
** BFGS' first inverse-Hessian update in matrix form, the strong Wolfe
** conditions at the steps taken; on a quadratic, linear CG's iterates
** (finite termination) and BFGS to 1e-10 in 8 iterations; the extended
** Rosenbrock function in 2-D and 100-D within stated iteration counts; a checkpoint
** round trip; bad options and bad restored state refused.
*/
#include "minimize_test_util.h"
#include "st_test_util.h"

/* f(x) = 0.5 x^T A x - b^T x + e * sum(exp(x_i) - c_i x_i), x [3]. */
static const double A3[9] = {4, 1, 0, 1, 3, 1, 0, 1, 2};
static const double B3[3] = {2, -2, 4};
static const double C3[3] = {2, 0.5, 1};
static const double XSTAR3[3] = {1, -2, 3};        /* A x* = b */

typedef struct problem {
    ag_tensor *x;
    int exp_terms;
} problem;

static ag_tensor *problem_loss(ag_tape *t, void *ctx)
{
    problem *pb = ctx;
    ag_tensor *A = ag_from_f64(t, AG_F64, 2, SHAPE(3, 3), A3);
    ag_tensor *ax = ag_sum(t, ag_mul(t, A, pb->x), 1, 0);
    ag_tensor *f = ag_sub(t, ag_mul_scalar(t, ag_sum(t, ag_mul(t, pb->x, ax), AG_ALL, 0), 0.5),
                          ag_sum(t, ag_mul(t, ag_from_f64(t, AG_F64, 1, SHAPE(3), B3), pb->x),
                                 AG_ALL, 0));
    if (!pb->exp_terms) return f;
    ag_tensor *c = ag_from_f64(t, AG_F64, 1, SHAPE(3), C3);
    return ag_add(t, f, ag_sum(t, ag_sub(t, ag_exp(t, pb->x), ag_mul(t, c, pb->x)), AG_ALL, 0));
}

/* f and its gradient in plain C. */
static double problem_f(const problem *pb, const double *x, double *g)
{
    double f = 0;
    for (int i = 0; i < 3; i++) {
        double ax = 0;
        for (int j = 0; j < 3; j++) ax += A3[i * 3 + j] * x[j];
        f += 0.5 * x[i] * ax - B3[i] * x[i];
        g[i] = ax - B3[i];
        if (pb->exp_terms) f += exp(x[i]) - C3[i] * x[i], g[i] += exp(x[i]) - C3[i];
    }
    return f;
}

static double dot3(const double *a, const double *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

static problem problem_new(int exp_terms, double x0, double x1, double x2)
{
    problem pb = {tu_tensor(AG_F64, 1, SHAPE(3), (double[]){x0, x1, x2}), exp_terms};
    ag_set_requires_grad(pb.x, 1);
    return pb;
}

static void get3(ag_tensor *x, double *v)
{
    for (int i = 0; i < 3; i++) v[i] = ag_tensor_get(x, i);
}

static ag_tensor *state_of(ag_optim *o, const char *name)
{
    ag_named_tensor st[16];
    int n = ag_optim_state(o, st, 16);
    for (int i = 0; i < n && i < 16; i++)
        if (!strcmp(st[i].name, name)) return st[i].tensor;
    ck_abort_msg("no state '%s'", name);
    return NULL;
}

static void assert_close3(const double *got, const double *want, double tol, const char *what)
{
    for (int i = 0; i < 3; i++)
        ck_assert_msg(fabs(got[i] - want[i]) <= tol * fmax(1, fabs(want[i])),
                      "%s element %d: got %.17g, expected %.17g", what, i, got[i], want[i]);
}

/* The strong Wolfe conditions for the move x0 -> x1 = x0 + t d. */
static void assert_strong_wolfe(const problem *pb, const double *x0, const double *d,
                                double t, double c2)
{
    double g0[3], g1[3], x1[3];
    for (int i = 0; i < 3; i++) x1[i] = x0[i] + t * d[i];
    double f0 = problem_f(pb, x0, g0), f1 = problem_f(pb, x1, g1);
    ck_assert_msg(t > 0, "step %g", t);
    ck_assert_msg(f1 <= f0 + 1e-4 * t * dot3(g0, d), "Armijo: f0 %.17g f1 %.17g", f0, f1);
    ck_assert_msg(fabs(dot3(g1, d)) <= c2 * fabs(dot3(g0, d)) + 1e-12,
                  "curvature: %g vs %g", dot3(g1, d), dot3(g0, d));
}

/* ---------------------------------------------------------------- CG --- */

static void check_cg_beta(ag_cg_variant variant)
{
    problem pb = problem_new(1, 0.3, 0.7, -0.4);
    ag_cg_opts op = ag_cg_default_opts();
    op.variant = variant;
    op.max_iter = 1;
    ag_optim *o = ag_cg_new(1, &pb.x, &op);
    double x0[3], x1[3], x2[3], g0[3], g1[3], d1[3], d2[3], v[3];
    get3(pb.x, x0);
    problem_f(&pb, x0, g0);
    ck_assert_int_eq(ag_cg_step(o, problem_loss, &pb, NULL), AG_OK);
    get3(pb.x, x1);
    get3(state_of(o, "0.d"), d1);
    for (int i = 0; i < 3; i++) v[i] = -g0[i];
    assert_close3(d1, v, 1e-12, "first direction (-g0)");
    assert_strong_wolfe(&pb, x0, d1, ag_tensor_get(state_of(o, "0.t"), 0), 0.1);
    ck_assert_int_eq(ag_cg_step(o, problem_loss, &pb, NULL), AG_OK);
    get3(pb.x, x2);
    get3(state_of(o, "0.d"), d2);
    get3(state_of(o, "0.prev_flat_grad"), v);
    problem_f(&pb, x1, g1);
    assert_close3(v, g1, 1e-12, "gradient at x1");
    double beta = variant == AG_CG_FLETCHER_REEVES
                      ? dot3(g1, g1) / dot3(g0, g0)
                      : fmax(0, (dot3(g1, g1) - dot3(g1, g0)) / dot3(g0, g0));
    ck_assert_msg(beta > 0.01, "beta %g: the check needs a nonzero beta", beta);
    for (int i = 0; i < 3; i++) v[i] = -g1[i] + beta * d1[i];
    assert_close3(d2, v, 1e-12, "second direction (-g1 + beta d1)");
    double t = ag_tensor_get(state_of(o, "0.t"), 0);
    assert_strong_wolfe(&pb, x1, d2, t, 0.1);
    for (int i = 0; i < 3; i++) v[i] = x1[i] + t * d2[i];
    assert_close3(x2, v, 1e-12, "x2 = x1 + t d2");
    ck_assert_double_eq(ag_tensor_get(state_of(o, "0.n_iter"), 0), 2);
    ag_optim_free(o);
    ag_tensor_free(pb.x);
}

START_TEST(test_cg_beta_follows_the_variant)
{
    check_cg_beta(AG_CG_FLETCHER_REEVES);
    check_cg_beta(AG_CG_POLAK_RIBIERE_PLUS);
}
END_TEST

/* Linear CG (Nocedal & Wright Algorithm 5.2): the iterates nonlinear CG
   takes on a quadratic with exact line searches, either variant. */
START_TEST(test_cg_follows_linear_cg_on_a_quadratic)
{
    for (int variant = 0; variant < 2; variant++) {
        problem pb = problem_new(0, 0.5, 0.5, 0.5);
        ag_cg_opts op = ag_cg_default_opts();
        op.variant = (ag_cg_variant)variant;
        op.max_iter = 1;
        op.tolerance_change = 0;
        ag_optim *o = ag_cg_new(1, &pb.x, &op);
        double x[3], r[3], p[3], ap[3], got[3];
        get3(pb.x, x);
        problem_f(&pb, x, r);
        for (int i = 0; i < 3; i++) p[i] = -r[i];
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < 3; i++) ap[i] = dot3(A3 + 3 * i, p);
            double rr = dot3(r, r), alpha = rr / dot3(p, ap);
            for (int i = 0; i < 3; i++) x[i] += alpha * p[i], r[i] += alpha * ap[i];
            double beta = dot3(r, r) / rr;
            for (int i = 0; i < 3; i++) p[i] = -r[i] + beta * p[i];
            ck_assert_int_eq(ag_cg_step(o, problem_loss, &pb, NULL), AG_OK);
            get3(pb.x, got);
            assert_close3(got, x, 1e-8, "iterate");
        }
        assert_close3(got, XSTAR3, 1e-8, "minimizer after N = 3 iterations");
        ag_optim_free(o);
        ag_tensor_free(pb.x);
    }
}
END_TEST

/* -------------------------------------------------------------- BFGS --- */

/* H1 = (I - rho s y^T) H0 (I - rho y s^T) + rho s s^T, H0 = (y.s/y.y) I,
   by explicit 3x3 products. */
static void bfgs_reference(const double *s, const double *y, double *h1)
{
    double rho = 1 / dot3(y, s), h0 = dot3(y, s) / dot3(y, y), l[9], tmp[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) l[i * 3 + j] = (i == j) - rho * s[i] * y[j];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) tmp[i * 3 + j] = l[i * 3 + j] * h0;     /* L H0 */
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double v = 0;
            for (int k = 0; k < 3; k++) v += tmp[i * 3 + k] * l[j * 3 + k];   /* (L H0) L^T */
            h1[i * 3 + j] = v + rho * s[i] * s[j];
        }
}

START_TEST(test_bfgs_second_iteration_is_the_bfgs_update)
{
    problem pb = problem_new(1, 0.3, 0.7, -0.4);
    ag_bfgs_opts op = ag_bfgs_default_opts();
    op.max_iter = 1;
    ag_optim *o = ag_bfgs_new(1, &pb.x, &op);
    double x0[3], x1[3], g0[3], g1[3], d1[3], d2[3], s[3], y[3], h1[9], v[3];
    get3(pb.x, x0);
    problem_f(&pb, x0, g0);
    ck_assert_int_eq(ag_bfgs_step(o, problem_loss, &pb, NULL), AG_OK);
    get3(pb.x, x1);
    get3(state_of(o, "0.d"), d1);
    for (int i = 0; i < 3; i++) v[i] = -g0[i];
    assert_close3(d1, v, 1e-12, "first direction (-g0)");
    assert_strong_wolfe(&pb, x0, d1, ag_tensor_get(state_of(o, "0.t"), 0), 0.9);
    ck_assert_double_eq(ag_tensor_get(state_of(o, "0.n_updates"), 0), 0);
    ck_assert_int_eq(ag_bfgs_step(o, problem_loss, &pb, NULL), AG_OK);
    problem_f(&pb, x1, g1);
    for (int i = 0; i < 3; i++) s[i] = x1[i] - x0[i], y[i] = g1[i] - g0[i];
    bfgs_reference(s, y, h1);
    tu_assert_values(state_of(o, "0.H"), h1, 9, 1e-10);
    ck_assert_double_eq(ag_tensor_get(state_of(o, "0.n_updates"), 0), 1);
    get3(state_of(o, "0.d"), d2);
    for (int i = 0; i < 3; i++) v[i] = -dot3(h1 + 3 * i, g1);
    assert_close3(d2, v, 1e-10, "second direction (-H1 g1)");
    assert_strong_wolfe(&pb, x1, d2, ag_tensor_get(state_of(o, "0.t"), 0), 0.9);
    ag_optim_free(o);
    ag_tensor_free(pb.x);
}
END_TEST

/* With exact line searches BFGS would end in N = 3 iterations (Nocedal &
   Wright, section 6.1); its line search (c2 = 0.9) accepts the first
   trial when it can, so it takes a few more. */
START_TEST(test_bfgs_converges_on_a_quadratic)
{
    problem pb = problem_new(0, 0.5, 0.5, 0.5);
    ag_bfgs_opts op = ag_bfgs_default_opts();
    op.max_iter = 8;
    op.tolerance_change = 0;
    ag_optim *o = ag_bfgs_new(1, &pb.x, &op);
    double x[3];
    ck_assert_int_eq(ag_bfgs_step(o, problem_loss, &pb, NULL), AG_OK);
    get3(pb.x, x);
    assert_close3(x, XSTAR3, 1e-10, "minimizer after 8 iterations");
    ag_optim_free(o);
    ag_tensor_free(pb.x);
}
END_TEST

/* ------------------------------------------------------- Rosenbrock --- */

typedef enum { RUN_PR, RUN_FR, RUN_BFGS } method;

/* Iterations (one per step) until max |x - 1| <= 1e-5, at most limit. */
static int rosen_iterations(method m, int n, double spread, int limit)
{
    mt_rosen r = mt_rosen_new(n, spread);
    ag_cg_opts co = ag_cg_default_opts();
    ag_bfgs_opts bo = ag_bfgs_default_opts();
    co.max_iter = bo.max_iter = 1;
    co.tolerance_change = bo.tolerance_change = 1e-14;
    co.variant = m == RUN_FR ? AG_CG_FLETCHER_REEVES : AG_CG_POLAK_RIBIERE_PLUS;
    ag_optim *o = m == RUN_BFGS ? ag_bfgs_new(2, r.p, &bo) : ag_cg_new(2, r.p, &co);
    int it = 0;
    while (it < limit && mt_rosen_error(&r) > 1e-5) {
        ag_status s = m == RUN_BFGS ? ag_bfgs_step(o, mt_rosen_loss, &r, NULL)
                                    : ag_cg_step(o, mt_rosen_loss, &r, NULL);
        ck_assert_msg(s == AG_OK, "%s", ag_last_error());
        it++;
    }
    ag_optim_free(o);
    mt_rosen_free(&r);
    return it;
}

/* Measured: 2-D 22 (PR+), 53 (FR), 38 (BFGS); 100-D with the spread start
   290, 416, 132. The limits leave about a third of room. */
START_TEST(test_cg_bfgs_minimize_rosenbrock)
{
    static const struct { method m; int n; double spread; int limit; } runs[] = {
        {RUN_PR, 1, 0, 30}, {RUN_FR, 1, 0, 70}, {RUN_BFGS, 1, 0, 50},
        {RUN_PR, 50, 0.05, 400}, {RUN_FR, 50, 0.05, 560}, {RUN_BFGS, 50, 0.05, 180}};
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        int it = rosen_iterations(runs[k].m, runs[k].n, runs[k].spread, runs[k].limit + 1);
        ck_assert_msg(it <= runs[k].limit, "run %zu (%d-D): %d iterations, more than %d", k,
                      2 * runs[k].n, it, runs[k].limit);
    }
}
END_TEST

/* ------------------------------------------------------- checkpoints --- */

static const ag_module_ops holder_ops = {"Holder", NULL, NULL};

/* A module owning the two Rosenbrock parameters (n elements each). */
static ag_module *holder_new(mt_rosen *r, int n)
{
    *r = mt_rosen_new(n, 0.1);
    ag_module *m = calloc(1, sizeof *m);
    ag_module_init(m, &holder_ops);
    ck_assert_int_eq(ag_module_add_param(m, "a", r->p[0]), AG_OK);
    ck_assert_int_eq(ag_module_add_param(m, "b", r->p[1]), AG_OK);
    return m;
}

static ag_optim *make(int bfgs, ag_tensor **p)
{
    ag_cg_opts co = ag_cg_default_opts();
    ag_bfgs_opts bo = ag_bfgs_default_opts();
    co.max_iter = bo.max_iter = 3;
    return bfgs ? ag_bfgs_new(2, p, &bo) : ag_cg_new(2, p, &co);
}

static ag_status step(int bfgs, ag_optim *o, mt_rosen *r)
{
    return bfgs ? ag_bfgs_step(o, mt_rosen_loss, r, NULL) : ag_cg_step(o, mt_rosen_loss, r, NULL);
}

START_TEST(test_cg_bfgs_resume_from_a_checkpoint)
{
    tu_dir dir;
    tu_dir_make(&dir);
    const char *path = tu_path(&dir, "run.ckpt");
    for (int bfgs = 0; bfgs < 2; bfgs++) {
        mt_rosen ra, rb;
        ag_module *ma = holder_new(&ra, 3), *mb = holder_new(&rb, 3);
        ag_optim *a = make(bfgs, ra.p), *b = make(bfgs, rb.p);
        for (int i = 0; i < 2; i++) ck_assert_int_eq(step(bfgs, a, &ra), AG_OK);
        ck_assert_int_eq(ag_checkpoint_save(path, ma, a, NULL), AG_OK);
        ck_assert_int_eq(ag_checkpoint_load(path, mb, b, NULL), AG_OK);
        ck_assert_int_eq(ag_optim_steps(b), 2);
        for (int i = 0; i < 2; i++) {
            ck_assert_int_eq(step(bfgs, a, &ra), AG_OK);
            ck_assert_int_eq(step(bfgs, b, &rb), AG_OK);
        }
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < 3; i++)     /* the same bits */
                ck_assert_double_eq(ag_tensor_get(ra.p[k], i), ag_tensor_get(rb.p[k], i));
        ck_assert_double_eq(ag_tensor_get(state_of(a, "0.n_iter"), 0),
                            ag_tensor_get(state_of(b, "0.n_iter"), 0));
        /* a bad value in the file is refused, naming it */
        ag_tensor_set(state_of(a, "0.t"), 0, -1);
        ck_assert_int_eq(ag_checkpoint_save(path, ma, a, NULL), AG_OK);
        tu_assert_failed(ag_checkpoint_load(path, mb, b, NULL), AG_ERR_FORMAT, "ag_checkpoint_load",
                         "0.t' is -1", NULL);
        ag_optim_free(a), ag_optim_free(b);
        ag_module_free(ma), ag_module_free(mb);
    }
    tu_dir_remove(&dir);
}
END_TEST

/* -------------------------------------------------------------- errors --- */

START_TEST(test_cg_bfgs_refuse_bad_restored_state)
{
    for (int bfgs = 0; bfgs < 2; bfgs++) {
        mt_rosen r = mt_rosen_new(2, 0);
        ag_optim *o = make(bfgs, r.p);
        const char *fn = bfgs ? "ag_bfgs_step" : "ag_cg_step";
        ck_assert_int_eq(step(bfgs, o, &r), AG_OK);
        ag_tensor_set(state_of(o, "0.n_iter"), 0, 2.5);
        tu_assert_failed(step(bfgs, o, &r), AG_ERR_STATE, fn, "'0.n_iter' is 2.5",
                         "must be an integer");
        ag_tensor_set(state_of(o, "0.n_iter"), 0, 3);
        ag_tensor_set(state_of(o, "0.d"), 1, NAN);
        tu_assert_failed(ag_optim_check_state(o), AG_ERR_STATE, "'0.d' element 1 is nan", NULL,
                         NULL);
        ag_tensor_set(state_of(o, "0.d"), 1, 0);
        ck_assert_int_eq(ag_optim_check_state(o), AG_OK);
        if (bfgs) {
            ag_tensor *h = state_of(o, "0.H");
            double keep = ag_tensor_get(h, 1);
            ag_tensor_set(h, 1, keep + 1);
            tu_assert_failed(step(bfgs, o, &r), AG_ERR_STATE, "ag_bfgs_step: BFGS state '0.H' "
                             "is not symmetric", "(1, 0)", NULL);
            ag_tensor_set(h, 1, keep);
            ag_tensor_set(h, 5, 0);                         /* H[1][1] of a 4 x 4 */
            tu_assert_failed(step(bfgs, o, &r), AG_ERR_STATE, "diagonal element 1 is 0",
                             "must be > 0", NULL);
        }
        ag_optim_free(o);
        mt_rosen_free(&r);
    }
}
END_TEST

static ag_tensor *two_elements(ag_tape *t, void *ctx)
{
    return ag_square(t, ((mt_rosen *)ctx)->p[0]);
}

START_TEST(test_cg_bfgs_refuse_bad_options_and_calls)
{
    mt_rosen r = mt_rosen_new(2, 0);
    ag_cg_opts co = ag_cg_default_opts();
    co.variant = (ag_cg_variant)7;
    ot_fails(ag_cg_new(2, r.p, &co), "ag_cg_new: variant is 7", "AG_CG_FLETCHER_REEVES");
    co = ag_cg_default_opts(), co.c2 = 1;
    ot_fails(ag_cg_new(2, r.p, &co), "ag_cg_new: c2 is 1", "(1e-4, 1)");
    co = ag_cg_default_opts(), co.max_iter = 0;
    ot_fails(ag_cg_new(2, r.p, &co), "ag_cg_new: max_iter is 0", "[1,");
    co = ag_cg_default_opts(), co.restart_every = -1;
    ot_fails(ag_cg_new(2, r.p, &co), "restart_every is -1", "[0,");
    co = ag_cg_default_opts(), co.lr = -1;
    ot_fails(ag_cg_new(2, r.p, &co), "CG: lr is -1", ">= 0");
    co = ag_cg_default_opts(), co.tolerance_grad = NAN;
    ot_fails(ag_cg_new(2, r.p, &co), "tolerance_grad is nan", "[0, inf]");
    ag_bfgs_opts bo = ag_bfgs_default_opts();
    bo.max_params = 3;
    ot_fails(ag_bfgs_new(2, r.p, &bo), "ag_bfgs_new: the parameters have 4 elements",
             "max_params 3");
    bo = ag_bfgs_default_opts(), bo.tolerance_change = -1;
    ot_fails(ag_bfgs_new(2, r.p, &bo), "tolerance_change is -1", "[0, inf]");
    ot_fails(ag_bfgs_new(0, r.p, NULL), "BFGS: no parameters", "");
    ag_optim *cg = ag_cg_new(2, r.p, NULL), *bf = ag_bfgs_new(2, r.p, NULL);
    tu_assert_failed(ag_cg_step(bf, mt_rosen_loss, &r, NULL), AG_ERR_ARG,
                     "ag_cg_step: the optimizer is not a CG one", NULL, NULL);
    tu_assert_failed(ag_bfgs_step(NULL, mt_rosen_loss, &r, NULL), AG_ERR_ARG,
                     "ag_bfgs_step: the optimizer is NULL", NULL, NULL);
    tu_assert_failed(ag_bfgs_step(bf, NULL, &r, NULL), AG_ERR_ARG, "the closure is NULL", NULL,
                     NULL);
    tu_assert_failed(ag_optim_step(cg), AG_ERR_ARG, "CG needs a closure", "ag_cg_step", NULL);
    tu_assert_failed(ag_cg_step(cg, two_elements, &r, NULL), AG_ERR_SHAPE,
                     "ag_cg_step: the closure must return one element", "[2]", NULL);
    ck_assert_int_eq(ag_optim_steps(cg), 0);
    ag_optim_free(cg), ag_optim_free(bf);
    mt_rosen_free(&r);
}
END_TEST

Suite *suite_cg_bfgs(void)
{
    Suite *s = suite_create("cg_bfgs");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_cg_beta_follows_the_variant);
    tcase_add_test(tc, test_cg_follows_linear_cg_on_a_quadratic);
    tcase_add_test(tc, test_bfgs_second_iteration_is_the_bfgs_update);
    tcase_add_test(tc, test_bfgs_converges_on_a_quadratic);
    tcase_add_test(tc, test_cg_bfgs_minimize_rosenbrock);
    tcase_add_test(tc, test_cg_bfgs_resume_from_a_checkpoint);
    tcase_add_test(tc, test_cg_bfgs_refuse_bad_restored_state);
    tcase_add_test(tc, test_cg_bfgs_refuse_bad_options_and_calls);
    suite_add_tcase(s, tc);
    return s;
}
