/*
** xor.c: XOR needs a hidden layer.
**
** The four points of XOR, (0,0) -> 0, (0,1) -> 1, (1,0) -> 1, (1,1) -> 0,
** are learned by two models side by side, with the same loss (binary
** cross-entropy on logits) and the same optimizer (Adam, lr 0.05):
**   two-layer:  Linear(2,4) -> Tanh -> Linear(4,1)
**   one-layer:  Linear(2,1), a logistic unit: sigmoid(w . x + b)
** No line separates XOR's classes, so the one-layer model gets at most 3 of
** the 4 points right; its best is w = 0, b = 0, p = 0.5 everywhere, a loss
** of ln 2 = 0.6931. The two-layer network bends its boundary and gets all 4.
** Also shown: the classic perceptron rule on the same points never settles
** (every pass over the data makes a mistake).
**
** Run:   build/examples/xor [--quick]
** Prints the two losses every few steps, each model's predictions with its
** accuracy, both decision regions as text maps, and the perceptron's errors.
*/
#include "ag.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const double XS[8] = {0, 0, 0, 1, 1, 0, 1, 1}, YS[4] = {0, 1, 1, 0};

typedef struct model {
    const char *name;
    ag_module *net;
    ag_optim *opt;
    double loss, p[4];
} model;

static int set_up(model *m, const char *name, ag_module *net)
{
    ag_tensor *params[8];
    m->name = name;
    m->net = net;
    int n = net ? ag_module_parameters(net, params, 8) : 0;
    ag_adam_opts ao = ag_adam_defaults();
    ao.lr = 0.05;
    m->opt = net ? ag_adam_new(n, params, &ao) : NULL;
    return m->opt ? 0 : -1;
}

/* One full-batch step; m->loss gets the loss before it. */
static int train_step(model *m, ag_tape *t, ag_tensor *X, ag_tensor *Y)
{
    ag_tape_reset(t);
    ag_tensor *loss = ag_bce_with_logits_loss(t, ag_module_forward(m->net, t, X), Y,
                                              AG_REDUCTION_MEAN);
    if (!loss || ag_backward(t, loss) != AG_OK)
        return fprintf(stderr, "xor: %s: %s\n", m->name, ag_tape_errmsg(t)), -1;
    m->loss = ag_tensor_get(loss, 0);
    if (ag_optim_step(m->opt) != AG_OK)
        return fprintf(stderr, "xor: %s: %s\n", m->name, ag_last_error()), -1;
    ag_optim_zero_grad(m->opt);
    return 0;
}

/* p[i] = sigmoid(net(pts[i])) for n points [n,2], without recording. */
static int predict(model *m, ag_tape *t, const double *pts, int64_t n, double *p)
{
    ag_tape_reset(t);
    int was = ag_set_grad_enabled(t, 0);
    ag_tensor *x = ag_from_f64(t, AG_F64, 2, (int64_t[]){n, 2}, pts);
    ag_tensor *y = ag_sigmoid(t, ag_module_forward(m->net, t, x));
    ag_set_grad_enabled(t, was);
    if (!y) return fprintf(stderr, "xor: %s: %s\n", m->name, ag_tape_errmsg(t)), -1;
    for (int64_t i = 0; i < n; i++) p[i] = ag_tensor_get(y, i);
    return 0;
}

/* Both models' class on a grid over [-0.25, 1.25]^2 ('#' for 1, '.' for 0,
   '~' for p near 0.5), the four training points marked 0 or 1. */
static int print_maps(model *ms, ag_tape *t)
{
    enum { W = 25, H = 13 };
    double pts[2 * W * H], p[2][W * H];
    for (int r = 0; r < H; r++)
        for (int c = 0; c < W; c++) {     /* points 0 and 1 on columns 4, W-5, rows H-3, 2 */
            pts[2 * (r * W + c)] = -0.25 + 1.5 * c / (W - 1);
            pts[2 * (r * W + c) + 1] = 1.25 - 1.5 * r / (H - 1);   /* x2 up */
        }
    if (predict(&ms[0], t, pts, W * H, p[0]) || predict(&ms[1], t, pts, W * H, p[1])) return -1;
    printf("\ndecision regions over [-0.25, 1.25]^2, x1 across, x2 up: '#' predicts 1, '.' 0,\n"
           "'~' undecided (p within 0.01 of 0.5); the digits are the four points' targets\n"
           "  %-*s   %s\n", W, ms[0].name, ms[1].name);
    for (int r = 0; r < H; r++) {
        for (int k = 0; k < 2; k++) {
            printf(k ? "   " : "  ");
            for (int c = 0; c < W; c++) {
                int on_point = (r == 2 || r == H - 3) && (c == 4 || c == W - 5);
                int label = (r == 2) != (c == W - 5);         /* x2 XOR x1 */
                double pk = p[k][r * W + c];
                char mark = fabs(pk - 0.5) < 0.01 ? '~' : pk > 0.5 ? '#' : '.';
                putchar(on_point ? '0' + label : mark);
            }
        }
        putchar('\n');
    }
    return 0;
}

/* The perceptron rule, w += (y - step(w.x + b)) x, for `epochs` passes;
   returns the mistakes in the last pass (never 0 for XOR). */
static int perceptron(int epochs)
{
    double w[2] = {0, 0}, b = 0;
    int mistakes = 0;
    for (int e = 0; e < epochs; e++) {
        mistakes = 0;
        for (int i = 0; i < 4; i++) {
            double out = w[0] * XS[2 * i] + w[1] * XS[2 * i + 1] + b > 0;
            double err = YS[i] - out;
            mistakes += err != 0;
            w[0] += err * XS[2 * i], w[1] += err * XS[2 * i + 1], b += err;
        }
    }
    printf("\nperceptron rule: %d passes over the 4 points, %d mistake(s) in the last; "
           "w = (%g, %g), b = %g\n", epochs, mistakes, w[0], w[1], b);
    return mistakes;
}

static int parse_args(int argc, char **argv, int *quick)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) *quick = 1;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: xor [--quick]\n"
                   "  A two-layer network learns XOR; a single logistic unit cannot.\n"
                   "  --quick   fewer steps (CI)\n");
            return 1;
        } else {
            fprintf(stderr, "xor: unknown option '%s' (see --help)\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    int quick = 0, pr = parse_args(argc, argv, &quick);
    if (pr) return pr > 0 ? 0 : 2;
    int steps = quick ? 300 : 600, rc = 1;
    ag_rng *rng = ag_rng_new(1);
    ag_tape *t = ag_tape_new();
    ag_tensor *X = ag_from_f64(NULL, AG_F64, 2, (int64_t[]){4, 2}, XS);
    ag_tensor *Y = ag_from_f64(NULL, AG_F64, 2, (int64_t[]){4, 1}, YS);
    model ms[2] = {{0}, {0}};
    if (!rng || !t || !X || !Y ||
        set_up(&ms[0], "two-layer 2-4-1, tanh", ag_sequential_new(3, (ag_module *[]){
                   ag_linear_new(2, 4, 1, AG_F64, rng), ag_tanh_new(),
                   ag_linear_new(4, 1, 1, AG_F64, rng)})) ||
        set_up(&ms[1], "one-layer (logistic)", ag_linear_new(2, 1, 1, AG_F64, rng))) {
        fprintf(stderr, "xor: %s\n", ag_last_error());
        goto done;
    }
    printf("step   %-22s %s   (binary cross-entropy)\n", ms[0].name, ms[1].name);
    for (int s = 0; s < steps; s++) {
        if (train_step(&ms[0], t, X, Y) || train_step(&ms[1], t, X, Y)) goto done;
        if (s % (steps / 10) == 0 || s == steps - 1)
            printf("%4d   %-22.6f %.6f\n", s, ms[0].loss, ms[1].loss);
    }
    int correct[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        if (predict(&ms[k], t, XS, 4, ms[k].p)) goto done;
        for (int i = 0; i < 4; i++) correct[k] += (ms[k].p[i] > 0.5) == (YS[i] > 0.5);
    }
    printf("\n x1 x2  target | %-22s | %s\n", ms[0].name, ms[1].name);
    for (int i = 0; i < 4; i++)
        printf("  %g  %g    %g    |  p = %.4f  class %d     |  p = %.4f  class %d\n", XS[2 * i],
               XS[2 * i + 1], YS[i], ms[0].p[i], ms[0].p[i] > 0.5, ms[1].p[i], ms[1].p[i] > 0.5);
    for (int k = 0; k < 2; k++)
        printf("%s: accuracy %d/4 = %.0f%%\n", ms[k].name, correct[k], 25.0 * correct[k]);
    ag_tensor *w = ag_module_get(ms[1].net, "weight"), *b = ag_module_get(ms[1].net, "bias");
    printf("one-layer: w = (%.2g, %.2g), b = %.2g, loss %.6f vs ln 2 = %.6f: the best a line can "
           "do\n", ag_tensor_get(w, 0), ag_tensor_get(w, 1), ag_tensor_get(b, 0), ms[1].loss,
           log(2.0));
    if (print_maps(ms, t)) goto done;
    perceptron(quick ? 50 : 1000);
    rc = 0;
done:
    for (int k = 0; k < 2; k++) ag_optim_free(ms[k].opt), ag_module_free(ms[k].net);
    ag_tensor_free(X), ag_tensor_free(Y);
    ag_tape_free(t);
    ag_rng_free(rng);
    return rc;
}
