/*
** gradients_through_time.c: how far back a gradient reaches in a
** recurrent network.
**
** Each configuration runs a cell over a random sequence (inputs N(0, 1),
** batch 16, 8 inputs, hidden 32, 100 steps, zero initial state), takes
** L = sum(h_T^2) / 2 of the last hidden state, and measures |dL/dh_t|
** (Frobenius norm over the batch) at every step t with ag_grad. The
** configurations:
**   - a tanh RNN with small recurrent weights (W_hh ~ N(0, 0.5^2 / H)):
**     each step back multiplies the gradient by W_hh^T diag(tanh'),
**     whose norm is below 1, so it vanishes geometrically;
**   - a tanh RNN with large recurrent weights (N(0, 2^2 / H)): the same
**     product, norm above 1 where tanh is not saturated, so it grows
**     back in time (explodes) until saturation caps it;
**   - the large one with LayerNorm on the pre-activation (h' = tanh(
**     LN(W_ih x + W_hh h + b))): the normalization divides out the
**     weights' scale, so the gradient neither explodes nor dies;
**   - an LSTM and a GRU at PyTorch's default init: the additive cell
**     state (c' = f c + i g) and the GRU's interpolation (h' = (1 - z) n
**     + z h) carry the gradient back through gates instead of a squashing
**     product, but at init those gates sit near 1/2, so it still halves
**     about every step: slower than the small tanh RNN, yet gone after
**     100 steps;
**   - an LSTM whose forget gate starts open (bias_ih's forget rows at 3,
**     sigmoid(3) = 0.95; Gers et al. 2000, Jozefowicz et al. 2015): the
**     cell state keeps the gradient across all 100 steps.
** Clipping: each line also gives the parameters' total gradient norm and
** what ag_clip_grad_norm(..., 1.0) leaves of it. Clipping does not change
** which steps the gradient reaches; it bounds the size of the update the
** exploding case would take.
**
** Run:   build/examples/gradients_through_time [--quick] [--steps N] [--out DIR]
** Prints one line per configuration (|dL/dh_t| at t = 1, T/2 and T, the
** ratio first/last, the parameter gradient norm before and after
** clipping) and writes DIR/gradients_through_time.svg (log scale).
*/
#include "ag.h"
#include "data_dir.h"
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 16
#define IN 8
#define HIDDEN 32
#define MAX_STEPS 1000
#define FORGET_BIAS 3.0

enum { TANH_SMALL, TANH_LARGE, TANH_LARGE_LN, LSTM, LSTM_FB, GRU, N_CONFIGS };
static const char *const names[N_CONFIGS] = {
    "tanh RNN, small W_hh", "tanh RNN, large W_hh", "tanh RNN, large W_hh, LayerNorm",
    "LSTM", "LSTM, forget bias 3", "GRU"};

typedef struct model {
    int kind;
    ag_module *cell, *ln;               /* ln: LayerNorm(H) for TANH_LARGE_LN */
} model;

/* The cell of configuration kind; recurrent weights redrawn for the RNNs. */
static int model_new(model *m, int kind, ag_rng *rng)
{
    m->kind = kind;
    m->ln = kind == TANH_LARGE_LN ? ag_layernorm_new(HIDDEN, 1e-5, 1, AG_F64) : NULL;
    m->cell = kind == LSTM || kind == LSTM_FB ? ag_lstm_cell_new(IN, HIDDEN, 1, AG_F64, rng)
            : kind == GRU   ? ag_gru_cell_new(IN, HIDDEN, 1, AG_F64, rng)
                            : ag_rnn_cell_new(IN, HIDDEN, 1, "tanh", AG_F64, rng);
    if (!m->cell || (kind == TANH_LARGE_LN && !m->ln)) return -1;
    if (kind == LSTM_FB) {                   /* bias_ih rows H..2H: the forget gate */
        ag_tensor *b = ag_module_get(m->cell, "bias_ih");
        for (int64_t i = HIDDEN; i < 2 * HIDDEN; i++) ag_tensor_set(b, i, FORGET_BIAS);
    }
    if (kind == LSTM || kind == LSTM_FB || kind == GRU) return 0;
    double std = (kind == TANH_SMALL ? 0.5 : 2.0) / sqrt((double)HIDDEN);
    return ag_init_normal(ag_module_get(m->cell, "weight_hh"), 0, std, rng) == AG_OK ? 0 : -1;
}

/* One step: the cell's own, or tanh(LN(pre-activation)) with its tensors. */
static ag_tensor *step(const model *m, ag_tape *t, ag_tensor *x, ag_tensor *h, ag_tensor **c)
{
    ag_tensor *hn = NULL;
    if (m->ln) {
        ag_tensor *pre = ag_add(t, ag_linear(t, x, ag_module_get(m->cell, "weight_ih"),
                                             ag_module_get(m->cell, "bias_ih")),
                                ag_linear(t, h, ag_module_get(m->cell, "weight_hh"),
                                          ag_module_get(m->cell, "bias_hh")));
        return ag_tanh(t, ag_module_forward(m->ln, t, pre));
    }
    const int lstm = m->kind == LSTM || m->kind == LSTM_FB;
    ag_rnn_cell_forward(m->cell, t, x, h, lstm ? *c : NULL, &hn, lstm ? c : NULL);
    return hn;
}

/* |dL/dh_t| for t < steps into norms, and the parameters' gradient norm
   before clipping into *pnorm. 0, or -1 with the error printed. */
static int measure(const model *m, ag_tape *t, ag_tensor *xs, int steps, double *norms,
                   double *pnorm)
{
    ag_tensor *hs[MAX_STEPS], *gs[MAX_STEPS], *params[8];
    ag_tape_reset(t);
    ag_tensor *h = ag_zeros(t, AG_F64, 2, (int64_t[]){BATCH, HIDDEN}), *c = h;
    for (int s = 0; s < steps; s++) {
        ag_tensor *x = ag_reshape(t, ag_slice(t, xs, 0, s, s + 1, 1), 2,
                                  (int64_t[]){BATCH, IN});
        hs[s] = h = step(m, t, x, h, &c);
    }
    ag_tensor *loss = ag_mul_scalar(t, ag_sum(t, ag_square(t, h), AG_ALL, 0), 0.5);
    if (!loss || ag_grad(t, 1, &loss, NULL, steps, hs, gs, 0) != AG_OK ||
        ag_backward(t, loss) != AG_OK)
        return fprintf(stderr, "gradients_through_time: %s\n", ag_tape_errmsg(t)), -1;
    for (int s = 0; s < steps; s++) {
        double acc = 0;
        for (int64_t i = 0; i < ag_tensor_numel(gs[s]); i++)
            acc += ag_tensor_get(gs[s], i) * ag_tensor_get(gs[s], i);
        norms[s] = sqrt(acc);
    }
    int n = ag_module_parameters(m->cell, params, 4);
    if (m->ln) n += ag_module_parameters(m->ln, params + n, 4);
    if (ag_clip_grad_norm(n, params, 1.0, 2.0, 0, pnorm) != AG_OK)
        return fprintf(stderr, "gradients_through_time: %s\n", ag_last_error()), -1;
    return 0;
}

static int usage(FILE *f, int status)
{
    fprintf(f, "usage: gradients_through_time [--quick] [--steps N] [--out DIR]\n"
               "  --quick     the same 100 steps (it is quick already; for CI)\n"
               "  --steps N   sequence length, 2 to %d (default 100)\n"
               "  --out DIR   folder for gradients_through_time.svg (default .)\n",
            MAX_STEPS);
    return status;
}

int main(int argc, char **argv)
{
    long steps = 100;
    char *end;
    const char *out = ".";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) continue;
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            steps = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || steps < 2 || steps > MAX_STEPS) {
                fprintf(stderr, "gradients_through_time: --steps needs a number in [2, %d], "
                        "got '%s'\n", MAX_STEPS, argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return usage(stdout, 0);
        else {
            fprintf(stderr, "gradients_through_time: unknown or incomplete option '%s'\n",
                    argv[i]);
            return usage(stderr, 2);
        }
    }
    if (!example_out_dir("gradients_through_time", out)) return 1;
    static double norms[N_CONFIGS][MAX_STEPS], step_index[MAX_STEPS];
    svg_series series[N_CONFIGS];
    int rc = 1, last = (int)steps - 1;
    ag_rng *rng = ag_rng_new(42);
    ag_tape *t = ag_tape_new();
    ag_tensor *xs = rng ? ag_rand_normal(NULL, rng, AG_F64, 3, (int64_t[]){steps, BATCH, IN},
                                         0, 1) : NULL;
    if (!xs || !t) {
        fprintf(stderr, "gradients_through_time: %s\n", ag_last_error());
        goto done;
    }
    printf("L = sum(h_T^2) / 2 after T = %ld steps (batch %d, %d inputs, hidden %d)\n\n"
           "%-32s %10s %10s %10s %11s %10s %8s\n", steps, BATCH, IN, HIDDEN, "configuration",
           "|dh_1|", "|dh_T/2|", "|dh_T|", "first/last", "|grad|", "clipped");
    for (int k = 0; k < N_CONFIGS; k++) {
        model m = {0, NULL, NULL};
        double pnorm = 0, *nk = norms[k];
        int bad = model_new(&m, k, rng) || measure(&m, t, xs, (int)steps, nk, &pnorm);
        if (bad && !ag_tape_errmsg(t)[0]) fprintf(stderr, "gradients_through_time: %s\n",
                                                  ag_last_error());
        ag_module_free(m.cell), ag_module_free(m.ln);
        if (bad) goto done;
        printf("%-32s %10.2e %10.2e %10.2e %11.2e %10.2e %8.2g\n", names[k], nk[0],
               nk[last / 2], nk[last], nk[0] / nk[last], pnorm, fmin(pnorm, 1.0));
        series[k] = (svg_series){names[k], step_index, nk, (int)steps, NULL, 0, 0, 0};
    }
    for (int s = 0; s < steps; s++) step_index[s] = s + 1;
    char path[1024];
    snprintf(path, sizeof path, "%s/gradients_through_time.svg", out);
    svg_plot pl = {"Gradient of the last step's loss w.r.t. each hidden state",
                   "step t", "|dL/dh_t|", 1, 900, 600, 1, (double)steps, 0, 0, 1, 0, NULL};
    if (svg_line_plot(path, &pl, series, N_CONFIGS) != 0) {
        fprintf(stderr, "gradients_through_time: cannot write %s\n", path);
        goto done;
    }
    printf("\nwrote %s\n", path);
    rc = 0;
done:
    ag_tape_free(t);
    ag_tensor_free(xs);
    ag_rng_free(rng);
    return rc;
}
