/*
** gradcheck.c: checking gradients against finite differences.
**
** A user-defined function of three tensors, with broadcasting,
**     f(X, W, b)[n] = sum_j softplus(X W + b)[n, j] * tanh(X)[n, j]
** (X [N,3], W [3,3], b [3] added to every row; one output per row), has its
** Jacobian checked with ag_gradcheck and its second derivatives with
** ag_gradgradcheck. Then the same function with softplus replaced by a
** hand-written "custom gradient" built with ag_detach:
**     y = detach(softplus(z)) + (z - detach(z)) * detach(g(z)),
** whose value is softplus(z) and whose gradient is whatever g says. With a
** bug in g (sigmoid's derivative instead of sigmoid) gradcheck fails and its
** report names the worst Jacobian entry; with g right, gradcheck passes but
** gradgradcheck still fails: a detached derivative has no derivative of its
** own. Last, a point exactly at a kink (relu at 0) sets report.kink.
**
** Run:   build/examples/gradcheck [--quick]
** Prints each check's one-line report and the worst entry decoded into
** tensor names; exits 0 when every check came out as expected.
*/
#include "ag.h"

#include <stdio.h>
#include <string.h>

enum { IN = 3 };                            /* features: X is [N, IN] */
static const char *const input_names[] = {"X", "W", "b"};

typedef enum { SOFTPLUS_OPS, SOFTPLUS_CUSTOM, SOFTPLUS_BUGGY } softplus_kind;

/* softplus(z) computed by value, with a derivative supplied by hand:
   sigmoid(z) (right) or sigmoid(z)(1 - sigmoid(z)) (a classic mix-up). */
static ag_tensor *softplus_by_hand(ag_tape *t, ag_tensor *z, int buggy)
{
    ag_tensor *zd = ag_detach(t, z);        /* z's value, no history */
    ag_tensor *s = ag_sigmoid(t, zd);
    ag_tensor *g = buggy ? ag_mul(t, s, ag_rsub_scalar(t, s, 1)) : s;
    ag_tensor *carrier = ag_sub(t, z, zd);  /* 0 by value, d/dz = 1 */
    return ag_add(t, ag_softplus(t, zd), ag_mul(t, carrier, g));
}

/* f(X, W, b) = sum(softplus(X W + b) * tanh(X), axis 1): [N]. */
static ag_tensor *f(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    softplus_kind kind = *(const softplus_kind *)ctx;
    ag_tensor *z = ag_add(t, ag_matmul(t, in[0], in[1]), in[2]);   /* [N,3] + [3] */
    ag_tensor *act = kind == SOFTPLUS_OPS ? ag_softplus(t, z)
                                          : softplus_by_hand(t, z, kind == SOFTPLUS_BUGGY);
    return ag_sum(t, ag_mul(t, act, ag_tanh(t, in[0])), 1, 0);
}

/* sum relu(x): a kink wherever an element is 0. */
static ag_tensor *sum_relu(ag_tape *t, ag_tensor *const *in, void *ctx)
{
    (void)ctx;
    return ag_sum(t, ag_relu(t, in[0]), AG_ALL, 0);
}

/* "W[1,2]": element index of input i (2-D inputs by row and column). */
static void element_name(char *buf, size_t size, ag_tensor *const *in, int i, int64_t index)
{
    if (ag_tensor_ndim(in[i]) == 2) {
        int64_t cols = ag_tensor_dim(in[i], 1);
        snprintf(buf, size, "%s[%lld,%lld]", input_names[i], (long long)(index / cols),
                 (long long)(index % cols));
    } else {
        snprintf(buf, size, "%s[%lld]", input_names[i], (long long)index);
    }
}

/* Prints a report and the worst entry in words. For gradgradcheck the
   outputs are the gradients df/dX, df/dW, df/db laid end to end, and its
   inputs are X, W, b and v (the random weight on f's outputs). */
static void show(const char *title, ag_status st, const ag_gradcheck_report *r,
                 ag_tensor *const *in, int second_order)
{
    char out[64], wrt[64];
    printf("\n%s\n  %s\n", title, r->message);
    if (st != AG_OK && st != AG_ERR_GRADCHECK) return;     /* the function failed */
    if (r->input < 3) element_name(wrt, sizeof wrt, in, r->input, r->index);
    else snprintf(wrt, sizeof wrt, "v[%lld]", (long long)r->index);
    if (second_order) {
        int k = 0;
        int64_t e = r->output_index;
        while (k < 2 && e >= ag_tensor_numel(in[k])) e -= ag_tensor_numel(in[k++]);
        char g[48];
        element_name(g, sizeof g, in, k, e);
        snprintf(out, sizeof out, "(df/d%s)", g);
    } else {
        snprintf(out, sizeof out, "f[%lld]", (long long)r->output_index);
    }
    printf("  %lld entries compared; worst: d %s / d %s = %.6g by backward, %.6g by "
           "differences\n", (long long)r->checked, out, wrt, r->analytic, r->numeric);
}

/* One check; returns 0 when it came out as expected (pass or fail). */
static int expect(const char *title, int second_order, softplus_kind kind, ag_tensor *const *in,
                  int expect_pass)
{
    ag_gradcheck_report r;
    ag_status st = second_order ? ag_gradgradcheck(f, &kind, 3, in, NULL, &r)
                                : ag_gradcheck(f, &kind, 3, in, NULL, &r);
    show(title, st, &r, in, second_order);
    if (st != AG_OK && st != AG_ERR_GRADCHECK) return 1;  /* an error, not a verdict */
    if ((st == AG_OK) == expect_pass) return 0;
    printf("  UNEXPECTED: this check should have %s\n", expect_pass ? "passed" : "failed");
    return 1;
}

static int parse_args(int argc, char **argv, int *quick)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) *quick = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: gradcheck [--quick]\n"
                   "  Checks a function's gradient and second gradient against finite\n"
                   "  differences, and shows a wrong hand-written gradient being caught.\n"
                   "  --quick   fewer rows in X (CI)\n");
            return 1;
        } else {
            fprintf(stderr, "gradcheck: unknown option '%s' (see --help)\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int quick = 0, pr = parse_args(argc, argv, &quick);
    if (pr) return pr > 0 ? 0 : 2;
    int64_t n = quick ? 2 : 4;
    ag_rng *rng = ag_rng_new(7);
    ag_tensor *in[3] = {
        rng ? ag_rand_normal(NULL, rng, AG_F64, 2, (int64_t[]){n, IN}, 0, 1) : NULL,
        rng ? ag_rand_normal(NULL, rng, AG_F64, 2, (int64_t[]){IN, IN}, 0, 0.5) : NULL,
        rng ? ag_rand_normal(NULL, rng, AG_F64, 1, (int64_t[]){IN}, 0, 0.1) : NULL};
    ag_tensor *x = ag_from_f64(NULL, AG_F64, 1, (int64_t[]){4}, (double[]){0.5, -1, 0, 2});
    if (!in[0] || !in[1] || !in[2] || !x) {
        fprintf(stderr, "gradcheck: %s\n", rng ? ag_last_error() : "out of memory");
        return 1;
    }
    printf("f(X, W, b) = sum(softplus(X W + b) * tanh(X), axis 1), X [%lld,3], W [3,3], "
           "b [3]\ntolerance: |analytic - numeric| <= 1e-5 + 1e-3 |numeric|, "
           "central differences with eps 1e-6\n", (long long)n);
    int bad = 0;
    bad += expect("1. the function built from ops: gradcheck", 0, SOFTPLUS_OPS, in, 1);
    bad += expect("2. the same: gradgradcheck (the second derivatives, v is a random "
                  "weight on the outputs)", 1, SOFTPLUS_OPS, in, 1);
    bad += expect("3. softplus with a WRONG hand-written gradient, s(1-s) instead of s: "
                  "gradcheck", 0, SOFTPLUS_BUGGY, in, 0);
    bad += expect("4. softplus with the right hand-written gradient: gradcheck", 0,
                  SOFTPLUS_CUSTOM, in, 1);
    bad += expect("5. the same: gradgradcheck (the detached derivative has no derivative)",
                  1, SOFTPLUS_CUSTOM, in, 0);

    ag_gradcheck_report r;
    ag_status st = ag_gradcheck(sum_relu, NULL, 1, &x, NULL, &r);
    printf("\n6. sum relu(x) at x = [0.5, -1, 0, 2]: element 2 sits on the kink\n  %s\n",
           r.message);
    if (st != AG_ERR_GRADCHECK || !r.kink || r.index != 2) {
        printf("  UNEXPECTED: the kink at element 2 should have been reported\n");
        bad++;
    }
    printf("\n%s\n", bad ? "some checks did not come out as expected"
                         : "all six checks came out as expected");
    for (int i = 0; i < 3; i++) ag_tensor_free(in[i]);
    ag_tensor_free(x);
    ag_rng_free(rng);
    return bad ? 1 : 0;
}
