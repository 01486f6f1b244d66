/*
** test_lbfgs.c: L-BFGS (ag_lbfgs_new, ag_lbfgs_step). The first two
** iterations against the published rule computed here (a scaled steepest-
** descent step, then the BFGS inverse-Hessian update in matrix form), the
** strong Wolfe conditions at the step the line search picks (after
** extrapolating and after zooming), Rosenbrock against plain gradient
** descent, convex problems, the history limit,
** resuming from the state tensors, f32, and the error paths.
*/
#include "test_util.h"

#include <stdio.h>

/* ------------------------------------------------------------ problems --- */

/* f(x) = 0.5 x^T A x - b^T x + sum(exp(x_i) - c_i x_i), x the parameters
   flattened in order (n elements). exp_terms 0: a pure quadratic. */
typedef struct problem {
    int n_params;
    ag_tensor **params;
    int n;
    const double *A, *b, *c;
    int exp_terms;
    int calls;
} problem;

static ag_tensor *flat_params(ag_tape *t, problem *pb)
{
    ag_tensor *parts[4];
    for (int i = 0; i < pb->n_params; i++)
        parts[i] = ag_reshape(t, pb->params[i], 1, SHAPE(-1));
    return pb->n_params == 1 ? parts[0] : ag_concat(t, pb->n_params, parts, 0);
}

static ag_tensor *problem_loss(ag_tape *t, void *ctx)
{
    problem *pb = ctx;
    pb->calls++;
    ag_tensor *x = flat_params(t, pb);
    ag_tensor *A = ag_from_f64(t, AG_F64, 2, SHAPE(pb->n, pb->n), pb->A);
    ag_tensor *b = ag_from_f64(t, AG_F64, 1, SHAPE(pb->n), pb->b);
    if (ag_tensor_dtype(pb->params[0]) == AG_F32) {
        A = ag_cast(t, A, AG_F32);
        b = ag_cast(t, b, AG_F32);
    }
    ag_tensor *ax = ag_sum(t, ag_mul(t, A, x), 1, 0);                /* (A x)_i */
    ag_tensor *f = ag_sub(t, ag_mul_scalar(t, ag_sum(t, ag_mul(t, x, ax), AG_ALL, 0), 0.5),
                          ag_sum(t, ag_mul(t, b, x), AG_ALL, 0));
    if (pb->exp_terms) {
        ag_tensor *c = ag_from_f64(t, AG_F64, 1, SHAPE(pb->n), pb->c);
        f = ag_add(t, f, ag_sum(t, ag_sub(t, ag_exp(t, x), ag_mul(t, c, x)), AG_ALL, 0));
    }
    return f;
}

/* grad = A x - b (+ exp(x) - c) at the flat x, in plain C. */
static void problem_grad(const problem *pb, const double *x, double *g)
{
    for (int i = 0; i < pb->n; i++) {
        g[i] = -pb->b[i];
        for (int j = 0; j < pb->n; j++) g[i] += pb->A[i * pb->n + j] * x[j];
        if (pb->exp_terms) g[i] += exp(x[i]) - pb->c[i];
    }
}

static void problem_x(const problem *pb, double *x)
{
    int k = 0;
    for (int i = 0; i < pb->n_params; i++)
        for (int64_t j = 0; j < ag_tensor_numel(pb->params[i]); j++)
            x[k++] = ag_tensor_get(pb->params[i], j);
}

/* A = [[4,1,0],[1,3,1],[0,1,2]] (SPD), minimizer (1,-2,3): b = A x*. */
static const double A3[9] = {4, 1, 0, 1, 3, 1, 0, 1, 2};
static const double B3[3] = {2, -2, 4};
static const double XSTAR3[3] = {1, -2, 3};

/* Parameters u [2] and v [] holding x = (u0, u1, v). */
static void make_uv(ag_tensor **p, double u0, double u1, double v)
{
    p[0] = tu_tensor(AG_F64, 1, SHAPE(2), VALS(u0, u1));
    p[1] = tu_tensor(AG_F64, 0, NULL, VALS(v));
    ag_set_requires_grad(p[0], 1);
    ag_set_requires_grad(p[1], 1);
}

/* Rosenbrock f(x, y) = (1-x)^2 + 100 (y - x^2)^2, ctx the [2] parameter. */
static ag_tensor *rosenbrock(ag_tape *t, void *ctx)
{
    ag_tensor *p = ctx;
    ag_tensor *x = ag_slice(t, p, 0, 0, 1, 1), *y = ag_slice(t, p, 0, 1, 2, 1);
    return ag_add(t, ag_square(t, ag_rsub_scalar(t, x, 1)),
                  ag_mul_scalar(t, ag_square(t, ag_sub(t, y, ag_square(t, x))), 100));
}

static double dist_to_one(ag_tensor *p)
{
    return hypot(ag_tensor_get(p, 0) - 1, ag_tensor_get(p, 1) - 1);
}

/* Plain gradient descent on Rosenbrock: x -= lr * grad, grad from ag_grad. */
static void gradient_descent(ag_tensor *p, double lr, int steps)
{
    ag_tape *t = ag_tape_new();
    for (int k = 0; k < steps; k++) {
        ag_tensor *f = rosenbrock(t, p), *g;
        ck_assert_int_eq(ag_grad(t, 1, &f, NULL, 1, &p, &g, 0), AG_OK);
        for (int i = 0; i < 2; i++)
            ag_tensor_set(p, i, ag_tensor_get(p, i) - lr * ag_tensor_get(g, i));
        ag_tape_reset(t);
    }
    ag_tape_free(t);
}

static ag_tensor *state_of(ag_optim *o, const char *name)
{
    ag_named_tensor st[32];
    int n = ag_optim_state(o, st, 32);
    for (int i = 0; i < n && i < 32; i++)
        if (strcmp(st[i].name, name) == 0) return st[i].tensor;
    ck_abort_msg("no state %s", name);
    return NULL;
}

static double state_value(ag_optim *o, const char *name)
{
    return ag_tensor_get(state_of(o, name), 0);
}

static ag_lbfgs_opts opts_with(int max_iter, ag_line_search ls)
{
    ag_lbfgs_opts op = ag_lbfgs_default_opts();
    op.max_iter = max_iter;
    op.line_search = ls;
    return op;
}

/* ---------------------------------------------------------- iterations --- */

START_TEST(test_lbfgs_defaults_are_pytorchs)
{
    ag_lbfgs_opts op = ag_lbfgs_default_opts();
    ck_assert_double_eq(op.lr, 1);
    ck_assert_int_eq(op.max_iter, 20);
    ck_assert_int_eq(op.max_eval, 0);          /* max_iter * 5 / 4 */
    ck_assert_double_eq(op.tolerance_grad, 1e-7);
    ck_assert_double_eq(op.tolerance_change, 1e-9);
    ck_assert_int_eq(op.history_size, 100);
    ck_assert_int_eq(op.line_search, AG_LINE_SEARCH_NONE);
}
END_TEST

/* The first iteration: x1 = x0 - lr * min(1, 1/|g0|_1) * g0. */
static void check_first_iteration(double u0, double u1, double v, double lr)
{
    ag_tensor *p[2];
    make_uv(p, u0, u1, v);
    problem pb = {2, p, 3, A3, B3, NULL, 0, 0};
    double x0[3] = {u0, u1, v}, g0[3], g1 = 0, f0 = 0;
    problem_grad(&pb, x0, g0);
    for (int i = 0; i < 3; i++) {
        g1 += fabs(g0[i]);
        f0 -= B3[i] * x0[i];
        for (int j = 0; j < 3; j++) f0 += 0.5 * x0[i] * A3[i * 3 + j] * x0[j];
    }
    ag_lbfgs_opts op = opts_with(1, AG_LINE_SEARCH_NONE);
    op.lr = lr;
    ag_optim *o = ag_lbfgs_new(2, p, &op);
    ck_assert_ptr_nonnull(o);
    double loss = NAN;
    ck_assert_int_eq(ag_lbfgs_step(o, problem_loss, &pb, &loss), AG_OK);
    ck_assert_double_eq_tol(loss, f0, 1e-12);
    ck_assert_int_eq(pb.calls, 1);             /* max_iter 1: no evaluation after */
    double t = lr * fmin(1, 1 / g1), x1[3];
    problem_x(&pb, x1);
    for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(x1[i], x0[i] - t * g0[i], 1e-14);
    ck_assert_double_eq_tol(state_value(o, "0.t"), t, 1e-15);
    ck_assert_double_eq(state_value(o, "0.n_iter"), 1);
    ck_assert_double_eq(state_value(o, "0.func_evals"), 1);
    ck_assert_int_eq(ag_optim_steps(o), 1);
    ck_assert_ptr_null(ag_tensor_grad(p[0]));  /* .grad buffers never touched */
    ag_optim_free(o);
    ag_tensor_free(p[0]), ag_tensor_free(p[1]);
}

START_TEST(test_lbfgs_first_iteration_is_scaled_steepest_descent)
{
    check_first_iteration(2, 1, -1, 1);        /* |g|_1 = 24: t = 1/24 */
    check_first_iteration(2, 1, -1, 0.5);
    check_first_iteration(1.05, -2.1, 3.02, 2);/* |g|_1 < 1: t = lr */
}
END_TEST

/* x2 = x1 - lr * H1 g1 with the BFGS inverse Hessian from one pair:
   H1 = (I - rho s y^T) gamma I (I - rho y s^T) + rho s s^T. */
static void expected_second_iterate(const problem *pb, const double *x0, double lr, double *x2)
{
    double g0[3], g1[3], x1[3], s[3], y[3], sy = 0, yy = 0, t = 0;
    problem_grad(pb, x0, g0);
    for (int i = 0; i < 3; i++) t += fabs(g0[i]);
    t = lr * fmin(1, 1 / t);
    for (int i = 0; i < 3; i++) x1[i] = x0[i] - t * g0[i];
    problem_grad(pb, x1, g1);
    for (int i = 0; i < 3; i++) {
        s[i] = x1[i] - x0[i], y[i] = g1[i] - g0[i];
        sy += s[i] * y[i], yy += y[i] * y[i];
    }
    double rho = 1 / sy, gamma = sy / yy, H[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double v = 0;          /* sum_k (I - rho s y^T)_ik gamma (I - rho y s^T)_kj */
            for (int k = 0; k < 3; k++)
                v += ((i == k) - rho * s[i] * y[k]) * gamma * ((k == j) - rho * y[k] * s[j]);
            H[i * 3 + j] = v + rho * s[i] * s[j];
        }
    for (int i = 0; i < 3; i++) {
        double hg = 0;
        for (int j = 0; j < 3; j++) hg += H[i * 3 + j] * g1[j];
        x2[i] = x1[i] - lr * hg;
    }
}

START_TEST(test_lbfgs_second_iteration_is_the_bfgs_update)
{
    double x0[3] = {2, 1, -1}, want[3], x[3];
    for (int way = 0; way < 2; way++) {        /* two steps of 1 iteration, one of 2 */
        ag_tensor *p[2];
        make_uv(p, x0[0], x0[1], x0[2]);
        problem pb = {2, p, 3, A3, B3, NULL, 0, 0};
        expected_second_iterate(&pb, x0, 0.8, want);
        ag_lbfgs_opts op = opts_with(way ? 2 : 1, AG_LINE_SEARCH_NONE);
        op.lr = 0.8;
        op.max_eval = 10;          /* the default, 2 * 5 / 4, stops after one */
        ag_optim *o = ag_lbfgs_new(2, p, &op);
        for (int k = 0; k < (way ? 1 : 2); k++)
            ck_assert_int_eq(ag_lbfgs_step(o, problem_loss, &pb, NULL), AG_OK);
        problem_x(&pb, x);
        for (int i = 0; i < 3; i++) ck_assert_double_eq_tol(x[i], want[i], 1e-12);
        ck_assert_int_eq(pb.calls, 2);
        ck_assert_double_eq(state_value(o, "0.n_iter"), 2);
        ck_assert_double_eq(state_value(o, "0.n_history"), 1);
        ck_assert_int_eq(ag_optim_steps(o), way ? 1 : 2);
        ag_optim_free(o);
        ag_tensor_free(p[0]), ag_tensor_free(p[1]);
    }
}
END_TEST

/* -------------------------------------------------------- line search --- */

/* After one strong-Wolfe iteration from x0 along d = -g0, the step t
   satisfies f(x0 + t d) <= f0 + 1e-4 t g0.d and |g(x0 + t d).d| <= 0.9 |g0.d|. */
/* longer: the first trial lr/|g0|_1 is too short, so the search extrapolates. */
static void check_wolfe(double lr, double x, double y, int longer)
{
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(2), VALS(x, y));
    ag_set_requires_grad(p, 1);
    ag_lbfgs_opts op = opts_with(1, AG_LINE_SEARCH_STRONG_WOLFE);
    op.lr = lr;
    ag_optim *o = ag_lbfgs_new(1, &p, &op);
    double f0 = pow(1 - x, 2) + 100 * pow(y - x * x, 2);
    double g0[2] = {-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)};
    double loss;
    ck_assert_int_eq(ag_lbfgs_step(o, rosenbrock, p, &loss), AG_OK);
    ck_assert_double_eq_tol(loss, f0, 1e-12);
    double t = state_value(o, "0.t"), x1 = ag_tensor_get(p, 0), y1 = ag_tensor_get(p, 1);
    ck_assert_double_eq_tol(x1, x - t * g0[0], 1e-12);   /* moved along -g0 by t */
    ck_assert_double_eq_tol(y1, y - t * g0[1], 1e-12);
    double f1 = pow(1 - x1, 2) + 100 * pow(y1 - x1 * x1, 2);
    double g1[2] = {-2 * (1 - x1) - 400 * x1 * (y1 - x1 * x1), 200 * (y1 - x1 * x1)};
    double gtd0 = -(g0[0] * g0[0] + g0[1] * g0[1]), gtd1 = -(g1[0] * g0[0] + g1[1] * g0[1]);
    ck_assert_msg(f1 <= f0 + 1e-4 * t * gtd0, "Armijo fails: f1 %g f0 %g t %g", f1, f0, t);
    ck_assert_msg(fabs(gtd1) <= 0.9 * fabs(gtd0), "curvature fails: %g vs %g", gtd1, gtd0);
    ck_assert_double_gt(state_value(o, "0.func_evals"), 2);   /* it had to search */
    double t0 = lr / (fabs(g0[0]) + fabs(g0[1]));
    ck_assert_msg(longer ? t > t0 : t < t0, "t %g, first trial %g", t, t0);
    ag_optim_free(o);
    ag_tensor_free(p);
}

START_TEST(test_lbfgs_strong_wolfe_step_satisfies_the_conditions)
{
    check_wolfe(1e-4, -1.2, 1, 1); /* extrapolates (to the 10x bound) twice */
    check_wolfe(1, -1.2, 1, 0);    /* too long: zooms in */
    check_wolfe(1000, -1.2, 1, 0); /* far too long */
    check_wolfe(50, 0.5, -0.3, 0);
}
END_TEST

/*
** A scalar reference of PyTorch's strong-Wolfe search (torch.optim.lbfgs.
** _strong_wolfe: c1 1e-4, c2 0.9, 25 evaluations, cubic interpolation) on
** phi(t) = f(x0 + t d) for f(x) = 0.05 x^2 + sin(k x), which has many
** local minima, so every branch of the zoom is taken. hits[0] counts
** extrapolations, hits[1] "the old low becomes the high", hits[2] trials
** moved away from the bracket's ends for insufficient progress.
*/
typedef struct ref_pt { double t, f, gtd; } ref_pt;
static double ref_k, ref_x0, ref_d;

static ref_pt ref_phi(double t)
{
    double x = ref_x0 + t * ref_d;
    return (ref_pt){t, 0.05 * x * x + sin(ref_k * x), (0.1 * x + ref_k * cos(ref_k * x)) * ref_d};
}

static double ref_cubic(ref_pt a, ref_pt b, double lo, double hi)
{
    double d1 = a.gtd + b.gtd - 3 * (a.f - b.f) / (a.t - b.t), d2s = d1 * d1 - a.gtd * b.gtd;
    if (d2s < 0) return (lo + hi) / 2;
    double d2 = sqrt(d2s), m = a.t <= b.t
        ? b.t - (b.t - a.t) * ((b.gtd + d2 - d1) / (b.gtd - a.gtd + 2 * d2))
        : a.t - (a.t - b.t) * ((a.gtd + d2 - d1) / (a.gtd - b.gtd + 2 * d2));
    return fmin(fmax(m, lo), hi);
}

static ref_pt ref_strong_wolfe(double t, ref_pt p0, int *evals, int *hits)
{
    ref_pt prev = p0, cur = ref_phi(t), br[2] = {p0, p0};
    int it = 0, done = 0, nb = 2;
    *evals = 1;
    for (; it < 25; it++, ++*evals, hits[0]++) {
        int armijo_fails = cur.f > p0.f + 1e-4 * cur.t * p0.gtd || (it > 1 && cur.f >= prev.f);
        if (!armijo_fails && fabs(cur.gtd) <= -0.9 * p0.gtd) { br[0] = cur, nb = 1, done = 1; break; }
        if (armijo_fails || cur.gtd >= 0) { br[0] = prev, br[1] = cur; break; }
        double next = ref_cubic(prev, cur, cur.t + 0.01 * (cur.t - prev.t), cur.t * 10);
        prev = cur, cur = ref_phi(next);
    }
    if (it == 25) br[1] = cur;
    int low = nb == 1 || br[0].f <= br[1].f ? 0 : 1, insuf = 0;
    while (!done && it < 25 && fabs(br[1].t - br[0].t) * fabs(ref_d) >= 1e-9) {
        double lo = fmin(br[0].t, br[1].t), hi = fmax(br[0].t, br[1].t), eps = 0.1 * (hi - lo);
        double next = ref_cubic(br[0], br[1], lo, hi);
        if (fmin(hi - next, next - lo) >= eps) insuf = 0;
        else if (!insuf && next < hi && next > lo) insuf = 1;
        else next = fabs(next - hi) < fabs(next - lo) ? hi - eps : lo + eps, insuf = 0, hits[2]++;
        cur = ref_phi(next), ++*evals, it++;
        if (cur.f > p0.f + 1e-4 * cur.t * p0.gtd || cur.f >= br[low].f) {
            br[1 - low] = cur;
            low = br[0].f <= br[1].f ? 0 : 1;
        } else {
            if (fabs(cur.gtd) <= -0.9 * p0.gtd) done = 1;
            else if (cur.gtd * (br[1 - low].t - br[low].t) >= 0) br[1 - low] = br[low], hits[1]++;
            br[low] = cur;
        }
    }
    return br[low];
}

static ag_tensor *wavy(ag_tape *t, void *ctx)
{
    ag_tensor *x = ctx;
    return ag_add(t, ag_mul_scalar(t, ag_square(t, x), 0.05), ag_sin(t, ag_mul_scalar(t, x, ref_k)));
}

START_TEST(test_lbfgs_line_search_follows_pytorchs_trace)
{
    static const double cases[][3] = {       /* k, x0, lr */
        {1, 1.75, 16}, {1, 1.5, 512}, {5, -1, 256}, {4, 2, 1024}, {3, 0.4, 1}, {2, -2.5, 0.01}};
    int hits[3] = {0, 0, 0};
    for (int c = 0; c < 6; c++) {
        ref_k = cases[c][0], ref_x0 = cases[c][1];
        double g0 = 0.1 * ref_x0 + ref_k * cos(ref_k * ref_x0);
        ref_d = -g0;
        ref_pt p0 = ref_phi(0);
        int evals;
        ref_pt want = ref_strong_wolfe(cases[c][2] * fmin(1, 1 / fabs(g0)), p0, &evals, hits);
        ag_tensor *x = tu_tensor(AG_F64, 0, NULL, VALS(ref_x0));
        ag_set_requires_grad(x, 1);
        ag_lbfgs_opts op = opts_with(1, AG_LINE_SEARCH_STRONG_WOLFE);
        op.lr = cases[c][2];
        ag_optim *o = ag_lbfgs_new(1, &x, &op);
        ck_assert_int_eq(ag_lbfgs_step(o, wavy, x, NULL), AG_OK);
        ck_assert_msg(fabs(state_value(o, "0.t") - want.t) <= 1e-10 * fmax(1, want.t),
                      "case %d: t %.17g, PyTorch's rule %.17g", c, state_value(o, "0.t"), want.t);
        ck_assert_double_eq_tol(ag_tensor_get(x, 0), ref_x0 + want.t * ref_d, 1e-9);
        ck_assert_double_eq(state_value(o, "0.func_evals"), 1 + evals);
        ag_optim_free(o);
        ag_tensor_free(x);
    }
    for (int i = 0; i < 3; i++) ck_assert_int_gt(hits[i], 0);   /* every branch was taken */
}
END_TEST

START_TEST(test_lbfgs_beats_gradient_descent_on_rosenbrock)
{
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(2), VALS(-1.2, 1));
    ag_set_requires_grad(p, 1);
    ag_lbfgs_opts op = ag_lbfgs_default_opts();
    op.line_search = AG_LINE_SEARCH_STRONG_WOLFE;
    /* with the default 1e-9 every step stops at once when g.d > -1e-9,
       about 4e-5 from (1, 1) in the curved valley (PyTorch does the same) */
    op.tolerance_change = 1e-20;
    ag_optim *o = ag_lbfgs_new(1, &p, &op);
    double first = 0, loss;
    for (int k = 0; k < 20 && dist_to_one(p) > 1e-6; k++) {
        ck_assert_int_eq(ag_lbfgs_step(o, rosenbrock, p, &loss), AG_OK);
        if (k == 0) first = loss;
    }
    ck_assert_double_eq_tol(first, 2.2 * 2.2 + 100 * 0.44 * 0.44, 1e-12);   /* f(-1.2, 1) */
    int iters = (int)state_value(o, "0.n_iter");
    ck_assert_msg(dist_to_one(p) <= 1e-6, "L-BFGS ended %g away", dist_to_one(p));
    ck_assert_int_lt(iters, 100);
    ck_assert_int_gt(iters, 0);
    ag_optim_free(o);
    /* plain gradient descent at a stable lr, 10x as many iterations */
    ag_tensor_set(p, 0, -1.2), ag_tensor_set(p, 1, 1);
    gradient_descent(p, 1e-3, 10 * iters);
    ck_assert_msg(dist_to_one(p) > 1e-2, "GD got %g close in %d steps", dist_to_one(p),
                  10 * iters);
    ck_assert(isfinite(ag_tensor_get(p, 0)));  /* stable, just slow */
    ag_tensor_free(p);
}
END_TEST

/* ----------------------------------------------------------- convergence --- */

START_TEST(test_lbfgs_converges_on_convex_problems)
{
    /* one step of at most 20 iterations reaches max |g| <= tolerance_grad;
       with a line search the loss's rounding (1e-16 of f) limits |g| to
       about sqrt(eps), so the tolerance is 1e-7 there */
    static const double C3[3] = {2, 0.5, 1};
    for (int ls = 0; ls < 2; ls++)
        for (int with_exp = 0; with_exp < 2; with_exp++) {
            ag_tensor *p[2];
            make_uv(p, 0.3, 0.7, -0.4);
            problem pb = {2, p, 3, A3, B3, C3, with_exp, 0};
            double tol = ls ? 1e-7 : 1e-10;
            ag_optim *o = ag_lbfgs_new(2, p, &(ag_lbfgs_opts){1, 20, 200, tol, 0, 10,
                                                              (ag_line_search)ls});
            ck_assert_int_eq(ag_lbfgs_step(o, problem_loss, &pb, NULL), AG_OK);
            double x[3], g[3];
            problem_x(&pb, x);
            problem_grad(&pb, x, g);
            ck_assert_double_lt(state_value(o, "0.n_iter"), 20);
            for (int i = 0; i < 3; i++) {
                ck_assert_msg(fabs(g[i]) <= tol, "ls %d exp %d: grad %d is %g", ls, with_exp,
                              i, g[i]);
                if (!with_exp) ck_assert_double_eq_tol(x[i], XSTAR3[i], 10 * tol);
            }
            ag_optim_free(o);
            ag_tensor_free(p[0]), ag_tensor_free(p[1]);
        }
}
END_TEST

START_TEST(test_lbfgs_stops_at_a_stationary_point)
{
    ag_tensor *p[2];
    make_uv(p, XSTAR3[0], XSTAR3[1], XSTAR3[2]);
    problem pb = {2, p, 3, A3, B3, NULL, 0, 0};
    ag_optim *o = ag_lbfgs_new(2, p, NULL);
    ck_assert_int_eq(ag_lbfgs_step(o, problem_loss, &pb, NULL), AG_OK);
    ck_assert_int_eq(pb.calls, 1);
    ck_assert_double_eq(state_value(o, "0.n_iter"), 0);
    ck_assert_double_eq(state_value(o, "0.func_evals"), 1);
    double x[3];
    problem_x(&pb, x);
    for (int i = 0; i < 3; i++) ck_assert_double_eq(x[i], XSTAR3[i]);
    ag_optim_free(o);
    ag_tensor_free(p[0]), ag_tensor_free(p[1]);
}
END_TEST

/* f(x) = 0.5 a x^2 on a scalar x; ctx = {a, x, calls}. */
typedef struct parabola { double a; ag_tensor *x; int calls; } parabola;

static ag_tensor *parabola_loss(ag_tape *t, void *ctx)
{
    parabola *pb = ctx;
    pb->calls++;
    return ag_mul_scalar(t, ag_square(t, pb->x), 0.5 * pb->a);
}

/* One step from x0 with lr and tolerance_change tol: the iterations it
   took, the closure calls and where x ended. In 1-D the first iteration
   moves x by lr * min(|g|, 1) against g (g.d = -g^2), the second (lr 1)
   lands on 0. */
static void run_parabola(double a, double x0, double lr, double tol, int *iters, int *calls,
                         double *x)
{
    parabola pb = {a, tu_tensor(AG_F64, 0, NULL, VALS(x0)), 0};
    ag_set_requires_grad(pb.x, 1);
    ag_lbfgs_opts op = opts_with(10, AG_LINE_SEARCH_NONE);
    op.tolerance_change = tol;
    op.lr = lr;
    ag_optim *o = ag_lbfgs_new(1, &pb.x, &op);
    ck_assert_int_eq(ag_lbfgs_step(o, parabola_loss, &pb, NULL), AG_OK);
    *iters = (int)state_value(o, "0.n_iter");
    *calls = pb.calls;
    *x = ag_tensor_get(pb.x, 0);
    ag_optim_free(o);
    ag_tensor_free(pb.x);
}

START_TEST(test_lbfgs_stopping_rules)
{
    int iters, calls;
    double x;
    /* a = 0.01, x0 = 10: g = 0.1, g.d = -0.01 */
    run_parabola(0.01, 10, 1, 0.02, &iters, &calls, &x);   /* g.d > -tol: no move */
    ck_assert_int_eq(iters, 1);
    ck_assert_int_eq(calls, 1);
    ck_assert_double_eq(x, 10);
    /* lr 0.1: the move is 0.01, the loss falls by 0.005 (100 - 9.99^2) = 0.0009995 */
    run_parabola(0.01, 10, 0.1, 0.005, &iters, &calls, &x);  /* loss change < tol */
    ck_assert_int_eq(iters, 1);
    ck_assert_int_eq(calls, 2);
    ck_assert_double_eq_tol(x, 9.99, 1e-14);
    run_parabola(0.01, 10, 1, 1e-9, &iters, &calls, &x);   /* none: 0 reached, |g| = 0 */
    ck_assert_int_eq(iters, 2);
    ck_assert_int_eq(calls, 3);
    ck_assert_double_eq_tol(x, 0, 1e-12);
    /* a = 100, x0 = 2: the move is 1 and the loss falls by 150 */
    run_parabola(100, 2, 1, 1.5, &iters, &calls, &x);      /* step |d t| = 1 <= tol */
    ck_assert_int_eq(iters, 1);
    ck_assert_int_eq(calls, 2);
    ck_assert_double_eq_tol(x, 1, 1e-14);
}
END_TEST

START_TEST(test_lbfgs_max_eval_and_history_size_limit_the_work)
{
    /* a 6-D quadratic: diagonal A = 1..6 with b = 1 */
    double A6[36] = {0}, B6[6];
    for (int i = 0; i < 6; i++) A6[i * 7] = i + 1, B6[i] = 1;
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(6), VALS(0, 0, 0, 0, 0, 0));
    ag_set_requires_grad(p, 1);
    problem pb = {1, &p, 6, A6, B6, NULL, 0, 0};
    ag_lbfgs_opts op = opts_with(40, AG_LINE_SEARCH_NONE);
    op.max_eval = 7;
    op.history_size = 2;
    op.tolerance_grad = op.tolerance_change = 0;
    ag_optim *o = ag_lbfgs_new(1, &p, &op);
    ck_assert_int_eq(ag_lbfgs_step(o, problem_loss, &pb, NULL), AG_OK);
    ck_assert_int_eq(pb.calls, 7);                         /* stopped by max_eval */
    ck_assert_double_eq(state_value(o, "0.n_iter"), 6);
    ck_assert_double_eq(state_value(o, "0.n_history"), 2);
    tu_assert_shape(state_of(o, "0.old_dirs"), 2, SHAPE(2, 6));
    for (int k = 0; k < 10; k++) ck_assert_int_eq(ag_lbfgs_step(o, problem_loss, &pb, NULL), AG_OK);
    for (int i = 0; i < 6; i++) ck_assert_double_eq_tol(ag_tensor_get(p, i), 1.0 / (i + 1), 1e-8);
    ck_assert_double_eq(state_value(o, "0.n_history"), 2);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

/* A copy of the state tensors resumes a run exactly. */
START_TEST(test_lbfgs_resumes_from_its_state)
{
    static const double C3[3] = {2, 0.5, 1};
    ag_tensor *p[2], *q[2];
    make_uv(p, 0.3, 0.7, -0.4);
    problem pa = {2, p, 3, A3, B3, C3, 1, 0};
    ag_lbfgs_opts op = opts_with(3, AG_LINE_SEARCH_STRONG_WOLFE);
    ag_optim *a = ag_lbfgs_new(2, p, &op);
    ck_assert_int_eq(ag_lbfgs_step(a, problem_loss, &pa, NULL), AG_OK);
    make_uv(q, ag_tensor_get(p[0], 0), ag_tensor_get(p[0], 1), ag_tensor_get(p[1], 0));
    problem pb = {2, q, 3, A3, B3, C3, 1, 0};
    ag_optim *b = ag_lbfgs_new(2, q, &op);
    ag_named_tensor sa[16], sb[16];
    int n = ag_optim_state(a, sa, 16);
    ck_assert_int_eq(n, 11);
    ck_assert_int_eq(ag_optim_state(b, sb, 16), n);
    for (int i = 0; i < n; i++) {
        ck_assert_str_eq(sa[i].name, sb[i].name);
        ck_assert_int_eq(ag_assign(sb[i].tensor, sa[i].tensor), AG_OK);
    }
    ck_assert_double_eq(state_value(b, "0.n_iter"), 2);   /* max_eval 3 * 5 / 4 = 3 */
    ck_assert_int_eq(ag_lbfgs_step(a, problem_loss, &pa, NULL), AG_OK);
    ck_assert_int_eq(ag_lbfgs_step(b, problem_loss, &pb, NULL), AG_OK);
    for (int i = 0; i < 2; i++)
        ck_assert_double_eq(ag_tensor_get(q[0], i), ag_tensor_get(p[0], i));
    ck_assert_double_eq(ag_tensor_get(q[1], 0), ag_tensor_get(p[1], 0));
    ag_optim_free(a), ag_optim_free(b);
    for (int i = 0; i < 2; i++) ag_tensor_free(p[i]), ag_tensor_free(q[i]);
}
END_TEST

START_TEST(test_lbfgs_f32_parameters)
{
    ag_tensor *p = tu_tensor(AG_F32, 1, SHAPE(3), VALS(0, 0, 0));
    ag_set_requires_grad(p, 1);
    problem pb = {1, &p, 3, A3, B3, NULL, 0, 0};
    ag_optim *o = ag_lbfgs_new(1, &p, &(ag_lbfgs_opts){1, 20, 0, 1e-5, 1e-9, 10,
                                                       AG_LINE_SEARCH_STRONG_WOLFE});
    for (int k = 0; k < 3; k++) ck_assert_int_eq(ag_lbfgs_step(o, problem_loss, &pb, NULL), AG_OK);
    ck_assert_int_eq(ag_tensor_dtype(p), AG_F32);
    tu_assert_values(p, XSTAR3, 3, 1e-4);
    ag_optim_free(o);
    ag_tensor_free(p);
}
END_TEST

/* ----------------------------------------------------------------- errors --- */

static ag_tensor *bad_shapes(ag_tape *t, void *ctx)
{
    (void)ctx;
    return ag_matmul(t, ag_ones(t, AG_F64, 2, SHAPE(2, 3)), ag_ones(t, AG_F64, 2, SHAPE(2, 3)));
}

static ag_tensor *null_no_error(ag_tape *t, void *ctx) { (void)t, (void)ctx; return NULL; }

static ag_tensor *two_elements(ag_tape *t, void *ctx)
{
    return ag_mul_scalar(t, (ag_tensor *)ctx, 2);
}

static ag_tensor *fails_second_time(ag_tape *t, void *ctx)
{
    static int calls;
    if (ctx == NULL) return calls = 0, NULL;
    return ++calls > 1 ? NULL : rosenbrock(t, ctx);
}

#define assert_last_error(status, expr, part1, part2)                          \
    do {                                                                      \
        ck_assert_int_eq((expr), (status));                                   \
        ck_assert_msg(strstr(ag_last_error(), (part1)), "'%s' lacks '%s'",     \
                      ag_last_error(), (part1));                              \
        ck_assert_msg(strstr(ag_last_error(), (part2)), "'%s' lacks '%s'",     \
                      ag_last_error(), (part2));                              \
    } while (0)

START_TEST(test_lbfgs_error_paths)
{
    ag_tensor *p = tu_tensor(AG_F64, 1, SHAPE(2), VALS(-1.2, 1));
    ag_set_requires_grad(p, 1);
    ag_optim *o = ag_lbfgs_new(1, &p, &(ag_lbfgs_opts){1, 20, 0, 1e-7, 1e-9, 100,
                                                       AG_LINE_SEARCH_STRONG_WOLFE});
    ck_assert_str_eq(ag_optim_name(o), "LBFGS");
    assert_last_error(AG_ERR_ARG, ag_lbfgs_step(o, NULL, p, NULL), "ag_lbfgs_step", "closure is NULL");
    assert_last_error(AG_ERR_ARG, ag_lbfgs_step(NULL, rosenbrock, p, NULL), "ag_lbfgs_step", "NULL");
    assert_last_error(AG_ERR_ARG, ag_optim_step(o), "LBFGS", "needs a closure");
    assert_last_error(AG_ERR_SHAPE, ag_lbfgs_step(o, bad_shapes, NULL, NULL),
                      "ag_lbfgs_step: the closure failed: ag_matmul", "[2,3]");
    assert_last_error(AG_ERR_ARG, ag_lbfgs_step(o, null_no_error, NULL, NULL),
                      "ag_lbfgs_step", "returned NULL");
    assert_last_error(AG_ERR_SHAPE, ag_lbfgs_step(o, two_elements, p, NULL),
                      "ag_lbfgs_step", "one element, got shape [2]");
    /* a closure failing inside the line search leaves the parameters at the start */
    fails_second_time(NULL, NULL);
    assert_last_error(AG_ERR_ARG, ag_lbfgs_step(o, fails_second_time, p, NULL),
                      "ag_lbfgs_step", "returned NULL");
    ck_assert_double_eq(ag_tensor_get(p, 0), -1.2);
    ck_assert_double_eq(ag_tensor_get(p, 1), 1);
    ck_assert_int_eq(ag_optim_steps(o), 0);
    ag_set_requires_grad(p, 0);
    assert_last_error(AG_ERR_ARG, ag_lbfgs_step(o, rosenbrock, p, NULL), "parameter 0",
                      "does not require grad");
    ag_set_requires_grad(p, 1);
    ag_optim *nt = ag_newton_new(1, &p, NULL);
    assert_last_error(AG_ERR_ARG, ag_lbfgs_step(nt, rosenbrock, p, NULL), "ag_lbfgs_step",
                      "not an L-BFGS");
    ag_optim_free(nt);
    /* options */
    ag_lbfgs_opts op = ag_lbfgs_default_opts();
    op.history_size = 0;
    ck_assert_ptr_null(ag_lbfgs_new(1, &p, &op));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "ag_lbfgs_new: history_size is 0"));
    op = ag_lbfgs_default_opts(), op.max_iter = 0;
    ck_assert_ptr_null(ag_lbfgs_new(1, &p, &op));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "max_iter is 0"));
    op = ag_lbfgs_default_opts(), op.tolerance_grad = -1;
    ck_assert_ptr_null(ag_lbfgs_new(1, &p, &op));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "tolerance_grad is -1"));
    op = ag_lbfgs_default_opts(), op.line_search = (ag_line_search)7;
    ck_assert_ptr_null(ag_lbfgs_new(1, &p, &op));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "line_search is 7"));
    op = ag_lbfgs_default_opts(), op.lr = -1;
    ck_assert_ptr_null(ag_lbfgs_new(1, &p, &op));
    ck_assert_ptr_nonnull(strstr(ag_last_error(), "lr is -1"));
    ck_assert_ptr_null(ag_lbfgs_new(0, &p, NULL));
    /* and it still works after all that */
    double before, after;
    ck_assert_int_eq(ag_lbfgs_step(o, rosenbrock, p, &before), AG_OK);
    ck_assert_int_eq(ag_lbfgs_step(o, rosenbrock, p, &after), AG_OK);
    ck_assert_double_eq_tol(before, 24.2, 1e-12);
    ck_assert_double_lt(after, before);
    ag_optim_free(o);
    ag_optim_free(NULL);
    ag_tensor_free(p);
}
END_TEST

Suite *suite_lbfgs(void)
{
    Suite *s = suite_create("lbfgs");
    TU_ADD(s, test_lbfgs_defaults_are_pytorchs);
    TU_ADD(s, test_lbfgs_first_iteration_is_scaled_steepest_descent);
    TU_ADD(s, test_lbfgs_second_iteration_is_the_bfgs_update);
    TU_ADD(s, test_lbfgs_strong_wolfe_step_satisfies_the_conditions);
    TU_ADD(s, test_lbfgs_line_search_follows_pytorchs_trace);
    TU_ADD(s, test_lbfgs_beats_gradient_descent_on_rosenbrock);
    TU_ADD(s, test_lbfgs_converges_on_convex_problems);
    TU_ADD(s, test_lbfgs_stops_at_a_stationary_point);
    TU_ADD(s, test_lbfgs_stopping_rules);
    TU_ADD(s, test_lbfgs_max_eval_and_history_size_limit_the_work);
    TU_ADD(s, test_lbfgs_resumes_from_its_state);
    TU_ADD(s, test_lbfgs_f32_parameters);
    TU_ADD(s, test_lbfgs_error_paths);
    return s;
}
