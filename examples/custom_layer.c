/*
** custom_layer.c: a layer of your own, written with the public API only.
**
** An RBF (radial basis function) layer, which the library does not have:
**     y[n, j] = exp(-gamma_j |x[n] - c_j|^2),   gamma_j = exp(log_gamma_j)
** for x [N, in] and K learnable centers c [K, in] and widths log_gamma [K]
** (the log keeps gamma positive). It is a struct with an ag_module first,
** its tensors registered with ag_module_add_param, and a forward written
** with ops (broadcasting x [N,1,in] against c [K,in]), so backward and
** double backward come for free. The example
**   1. checks the layer's gradient and second gradient against finite
**      differences (ag_gradcheck, ag_gradgradcheck) with respect to its
**      input and both parameters, in f64;
**   2. shows the layer's own error message for an input of the wrong shape;
**   3. puts it in a Sequential, RBF(1 -> 12) then Linear(12 -> 1), in f32,
**      and fits y = sin(2x) + 0.3x on 64 points with Adam.
**
** Run:   build/examples/custom_layer [--quick]
** Prints the gradcheck verdicts, the model's parameter names, the loss every
** few steps and a few fitted points.
*/
#include "ag.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------- the RBF layer --- */

typedef struct rbf_layer {
    ag_module base;             /* first: a pointer to it is an ag_module */
    int64_t in, k;
    ag_tensor *centers;         /* [k, in] */
    ag_tensor *log_gamma;       /* [k] */
} rbf_layer;

/* "[5,3]" */
static const char *shape_str(const ag_tensor *x, char *buf, size_t size)
{
    size_t len = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ag_tensor_ndim(x) && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "," : "",
                                (long long)ag_tensor_dim(x, i));
    if (len < size) snprintf(buf + len, size - len, "]");
    return buf;
}

/* x [N, in] -> y [N, k]. */
static ag_tensor *rbf_forward(ag_module *m, ag_tape *t, ag_tensor *x)
{
    rbf_layer *r = (rbf_layer *)m;
    if (x && (ag_tensor_ndim(x) != 2 || ag_tensor_dim(x, 1) != r->in)) {
        char shape[96];
        ag_tape_set_error(t, AG_ERR_SHAPE, "RBF(in_features=%lld, centers=%lld): x must be "
                          "[N,%lld], got %s", (long long)r->in, (long long)r->k,
                          (long long)r->in, shape_str(x, shape, sizeof shape));
        return NULL;
    }
    ag_tensor *diff = ag_sub(t, ag_unsqueeze(t, x, 1), r->centers);   /* [N,k,in] */
    ag_tensor *dist2 = ag_sum(t, ag_square(t, diff), -1, 0);          /* [N,k] */
    return ag_exp(t, ag_neg(t, ag_mul(t, dist2, ag_exp(t, r->log_gamma))));
}

static const ag_module_ops rbf_ops = {"RBF", rbf_forward, NULL};   /* NULL: free(m) */

/* k centers drawn from U(lo, hi) in each of in dimensions, all widths
   gamma. NULL with ag_last_error() set on failure. */
static ag_module *rbf_new(int64_t in, int64_t k, double lo, double hi, double gamma,
                          ag_dtype dt, ag_rng *rng)
{
    if (in < 1 || k < 1 || !(gamma > 0)) {
        ag_set_last_error(AG_ERR_ARG, "rbf_new: in %lld and k %lld must be >= 1, gamma %g > 0",
                          (long long)in, (long long)k, gamma);
        return NULL;
    }
    rbf_layer *r = calloc(1, sizeof *r);
    ag_tensor *c = ag_rand_uniform(NULL, rng, dt, 2, (int64_t[]){k, in}, lo, hi);
    ag_tensor *lg = ag_full(NULL, dt, 1, (int64_t[]){k}, log(gamma));
    if (!r || !c || !lg) {
        if (!r) ag_set_last_error(AG_ERR_NOMEM, "rbf_new: out of memory");
        free(r), ag_tensor_free(c), ag_tensor_free(lg);
        return NULL;
    }
    ag_module_init(&r->base, &rbf_ops);
    r->in = in, r->k = k, r->centers = c, r->log_gamma = lg;
    if (ag_module_add_param(&r->base, "centers", c) != AG_OK) {
        ag_tensor_free(lg);                     /* not registered yet: still ours */
        return ag_module_free(&r->base), NULL;
    }
    if (ag_module_add_param(&r->base, "log_gamma", lg) != AG_OK)
        return ag_module_free(&r->base), NULL;
    return &r->base;
}

/* ----------------------------------------------------------- the checks --- */

/* The layer as a function of (x, centers, log_gamma) for gradcheck: the
   last two are the layer's own tensors, which gradcheck perturbs in place. */
static ag_tensor *layer_fn(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    return ag_module_forward(ctx, t, in[0]);
}

static int check_layer(ag_rng *rng, int quick)
{
    ag_module *layer = rbf_new(2, 3, -1, 1, 0.8, AG_F64, rng);
    ag_tensor *x = ag_rand_normal(NULL, rng, AG_F64, 2, (int64_t[]){quick ? 2 : 4, 2}, 0, 1);
    if (!layer || !x) {
        fprintf(stderr, "custom_layer: %s\n", ag_last_error());
        return ag_module_free(layer), ag_tensor_free(x), -1;
    }
    ag_tensor *in[3] = {x, ag_module_get(layer, "centers"), ag_module_get(layer, "log_gamma")};
    ag_gradcheck_report r1, r2;
    ag_status s1 = ag_gradcheck(layer_fn, layer, 3, in, NULL, &r1);
    ag_status s2 = ag_gradgradcheck(layer_fn, layer, 3, in, NULL, &r2);
    printf("RBF(in 2, centers 3) in f64, x [%lld,2]; w.r.t. x, centers and log_gamma:\n"
           "  %s\n  %s\n", (long long)ag_tensor_dim(x, 0), r1.message, r2.message);

    ag_tape *t = ag_tape_new();                 /* an input of the wrong shape */
    ag_tensor *bad = t ? ag_zeros(t, AG_F64, 2, (int64_t[]){5, 3}) : NULL;
    ag_tensor *y = ag_module_forward(layer, t, bad);
    printf("a [5,3] input: %s\n\n", y ? "accepted (wrong!)" : ag_tape_errmsg(t));
    int ok = s1 == AG_OK && s2 == AG_OK && !y && t && ag_tape_status(t) == AG_ERR_SHAPE;
    ag_tape_free(t);
    ag_module_free(layer);
    ag_tensor_free(x);
    return ok ? 0 : -1;
}

/* ------------------------------------------------------------- training --- */

static double target(double x) { return sin(2 * x) + 0.3 * x; }

static int train(ag_rng *rng, int steps)
{
    enum { N = 64, K = 12 };
    float xs[N], ys[N];
    for (int i = 0; i < N; i++) {
        xs[i] = (float)(-2 + 4.0 * i / (N - 1));
        ys[i] = (float)target(xs[i]);
    }
    ag_module *net = ag_sequential_new(2, (ag_module *[]){
        rbf_new(1, K, -2, 2, 2.0, AG_F32, rng), ag_linear_new(K, 1, 1, AG_F32, rng)});
    ag_tensor *X = ag_from_data(NULL, AG_F32, 2, (int64_t[]){N, 1}, xs);
    ag_tensor *Y = ag_from_data(NULL, AG_F32, 2, (int64_t[]){N, 1}, ys);
    ag_tensor *params[8];
    ag_named_tensor names[8];
    int n = net ? ag_module_parameters(net, params, 8) : 0, rc = -1;
    ag_adam_opts ao = ag_adam_defaults();
    ao.lr = 0.05;
    ag_optim *opt = net ? ag_adam_new(n, params, &ao) : NULL;
    ag_tape *t = ag_tape_new();
    if (!opt || !X || !Y || !t) {
        fprintf(stderr, "custom_layer: %s\n", ag_last_error());
        goto done;
    }
    printf("Sequential(RBF(1 -> %d), Linear(%d -> 1)) in f32, fitting sin(2x) + 0.3x on %d "
           "points; parameters:\n", K, K, N);
    ag_module_named_tensors(net, names, 8, 0);
    for (int i = 0; i < n; i++) {
        char shape[96];
        printf("  %-12s %s\n", names[i].name, shape_str(names[i].tensor, shape, sizeof shape));
    }
    printf("step   MSE\n");
    for (int s = 0; s <= steps; s++) {
        ag_tape_reset(t);
        ag_tensor *pred = ag_module_forward(net, t, X);
        ag_tensor *loss = ag_mse_loss(t, pred, Y, AG_REDUCTION_MEAN);
        if (!loss || ag_backward(t, loss) != AG_OK) {
            fprintf(stderr, "custom_layer: %s\n", ag_tape_errmsg(t));
            goto done;
        }
        if (s % (steps / 8) == 0) printf("%4d   %.6f\n", s, ag_tensor_get(loss, 0));
        if (s == steps) {                       /* the last forward: a few points */
            printf("\n    x      target   model\n");
            for (int i = 0; i < N; i += 9)
                printf("  %6.3f  %7.4f  %7.4f\n", xs[i], ys[i], ag_tensor_get(pred, i));
        } else if (ag_optim_step(opt) != AG_OK) {
            fprintf(stderr, "custom_layer: %s\n", ag_last_error());
            goto done;
        }
        ag_optim_zero_grad(opt);
    }
    rc = 0;
done:
    ag_tape_free(t);
    ag_optim_free(opt);
    ag_module_free(net);
    ag_tensor_free(X), ag_tensor_free(Y);
    return rc;
}

static int parse_args(int argc, char **argv, int *quick)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) *quick = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: custom_layer [--quick]\n"
                   "  An RBF layer written with the public API: gradchecked, then trained\n"
                   "  inside a Sequential with Adam.\n"
                   "  --quick   fewer steps (CI)\n");
            return 1;
        } else {
            fprintf(stderr, "custom_layer: unknown option '%s' (see --help)\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int quick = 0, pr = parse_args(argc, argv, &quick);
    if (pr) return pr > 0 ? 0 : 2;
    ag_rng *rng = ag_rng_new(5);
    if (!rng) return fprintf(stderr, "custom_layer: out of memory\n"), 1;
    int rc = check_layer(rng, quick) || train(rng, quick ? 40 : 80);
    ag_rng_free(rng);
    return rc;
}
