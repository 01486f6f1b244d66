/*
** fuzz_api.c: the API fuzzer's driver. A run (one input):
**   setup    a tape, a second tape, a generator, four persistent leaves
**            (most requiring grad), a few tape tensors in the slots, up to
**            six layers and an optimizer over the leaves and the layers'
**            parameters, all shaped by the input;
**   rounds   up to four: up to 48 ops from the tables (fuzz_api_ops.c,
**            fuzz_api_nn.c), each on the run's tape, the other tape or
**            NULL, its result stored in a slot; then the round's end:
**            ag_backward of a slot (summed to a scalar), ag_grad with
**            create_graph for up to three inputs, the backward of the
**            summed gradient (second order) and ag_grad of it again, an
**            optimizer step, and a tape reset (the slots keep their now
**            stale tensors, which the next round may pass to ops);
**   teardown everything freed (LeakSanitizer reports what is not).
** After each tensor op the library's error contract is checked
** (fz_after_op): on a tape in error an op returns NULL and keeps the first
** message; otherwise NULL comes with a status and a message, and a result
** comes with no error and is a well-formed tensor whose every element is
** readable. With no tape, an op of fuzz_api_ops.c that returns NULL has
** left a message naming a function in ag_last_error().
*/
#include "fuzz_api.h"

#define ROUNDS 4
#define OPS_PER_ROUND 48

void fz_make_layers(fz_api *s);
void fz_make_optim(fz_api *s);

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    ag_set_num_threads(1);       /* tensors here are small: no pool */
    return 0;
}

/* ----------------------------------------------------------- checking --- */

/* Checks y's shape obeys the shape rule and reads every element (ASan
   checks the data is there). */
static void touch(const ag_tensor *y)
{
    int64_t n = ag_tensor_numel(y);
    int nd = ag_tensor_ndim(y);
    FZ_CHECK(nd >= 0 && nd <= AG_MAX_DIMS, "result has %d dims", nd);
    for (int d = 0; d < nd; d++)
        FZ_CHECK(ag_tensor_shape(y)[d] >= 0, "result dim %d is negative", d);
    int64_t expect = ag_shape_numel(nd, ag_tensor_shape(y));   /* -1: the rule broken */
    FZ_CHECK(n == expect, "numel %lld for a shape of %lld", (long long)n, (long long)expect);
    FZ_CHECK(ag_tensor_dtype(y) == AG_F32 || ag_tensor_dtype(y) == AG_F64, "dtype %d",
             (int)ag_tensor_dtype(y));
    volatile double sink = 0;
    for (int64_t i = 0; i < n; i++) sink += ag_tensor_get(y, i);
    (void)sink;
}

static void fz_after_op(const char *name, ag_tape *tape, ag_status before, const char *msg,
                        const ag_tensor *y, int tensor_op)
{
    if (!tape) {                 /* a tensor op with no tape: the message in ag_last_error */
        FZ_CHECK(y || !tensor_op || !strncmp(ag_last_error(), "ag_", 3),
                 "%s: NULL with no tape and the message '%s'", name, ag_last_error());
        if (y) touch(y);
        return;
    }
    ag_status now = ag_tape_status(tape);
    if (before != AG_OK) {
        FZ_CHECK(!y, "%s: a result on a tape in error (%s)", name, msg);
        FZ_CHECK(now == before && !strcmp(msg, ag_tape_errmsg(tape)),
                 "%s: the first error '%s' was replaced by '%s'", name, msg,
                 ag_tape_errmsg(tape));
        return;
    }
    if (!y) {
        FZ_CHECK(now != AG_OK && ag_tape_errmsg(tape)[0], "%s: NULL with no error (%s)", name,
                 ag_status_name(now));
        return;
    }
    FZ_CHECK(now == AG_OK, "%s: a result and the error '%s'", name, ag_tape_errmsg(tape));
    FZ_CHECK(ag_tensor_tape(y) == tape || !ag_tensor_tape(y), "%s: a result on another tape",
             name);
    touch(y);
}

/* One op from the tables on the tape the input picks. */
static void step(fz_api *s)
{
    uint8_t b = fz_u8(&s->in);
    s->cur = b < 246 ? s->t : b & 1 ? NULL : s->other;
    int k = fz_u8(&s->in) % (fz_n_ops + fz_n_nn_ops);
    const fz_op *op = k < fz_n_ops ? &fz_ops[k] : &fz_nn_ops[k - fz_n_ops];
    ag_tape *tape = s->cur;
    ag_status before = tape ? ag_tape_status(tape) : AG_OK;
    char msg[512] = "";
    if (tape) snprintf(msg, sizeof msg, "%s", ag_tape_errmsg(tape));
    s->nocheck = 0, s->fresh_only = 0;
    fz_clear_error();
    ag_tensor *y = op->fn(s);
    s->fresh_only = 0;
    if (!s->nocheck) fz_after_op(op->name, tape, before, msg, y, k < fz_n_ops);
    uint8_t to = fz_u8(&s->in);
    if (y || to & 0x80) fz_store(s, to % FZ_SLOTS, y);
    if (ag_tape_status(s->other) != AG_OK) ag_tape_clear_error(s->other);
    if (ag_tape_status(s->t) != AG_OK && fz_u8(&s->in) < 224) ag_tape_clear_error(s->t);
}

/* ------------------------------------------------------- a round's end --- */

/* Backward, ag_grad with create_graph, and second order from slot tensors. */
static void differentiate(fz_api *s)
{
    ag_tape *t = s->t;
    ag_tensor *loss = fz_tensor(s);
    if (!loss || ag_tape_status(t) != AG_OK) return;
    ag_tensor *l = ag_tensor_numel(loss) == 1 ? loss : ag_sum(t, loss, AG_ALL, 0);
    if (!l || !ag_requires_grad(l)) return;
    ag_status st = ag_backward(t, l);
    FZ_CHECK(st == ag_tape_status(t), "ag_backward returned %s, the tape holds %s",
             ag_status_name(st), ag_status_name(ag_tape_status(t)));
    if (st != AG_OK) return;
    ag_tensor *ins[3], *grads[3], *grads2[3];
    int n = 1 + fz_u8(&s->in) % 3;
    for (int i = 0; i < n; i++) ins[i] = fz_u8(&s->in) & 1 ? s->leaf[i] : fz_tensor(s);
    st = ag_grad(t, 1, &l, NULL, n, ins, grads, 1);
    if (st != AG_OK) return;
    for (int i = 0; i < n; i++)
        FZ_CHECK(grads[i] && ag_tensor_numel(grads[i]) == ag_tensor_numel(ins[i]),
                 "ag_grad: grads[%d] does not match its input", i);
    ag_tensor *g = ag_sum(t, grads[fz_u8(&s->in) % n], AG_ALL, 0);
    if (!g || !ag_requires_grad(g)) return;
    fz_store(s, fz_u8(&s->in) % FZ_SLOTS, g);
    if (fz_u8(&s->in) & 1) ag_backward(t, g);
    ag_grad(t, 1, &g, NULL, n, ins, grads2, fz_u8(&s->in) & 1);
}

static void end_round(fz_api *s)
{
    differentiate(s);
    uint8_t b = fz_u8(&s->in);
    if (s->opt && b & 1) {
        fz_clear_error();
        fz_check_error(ag_optim_step(s->opt), "ag_optim_step");
    }
    for (int i = 0; (b & 2) && i < FZ_LEAVES; i++) {
        if (b & 16)
            ag_clear_grad(s->leaf[i]);          /* none: the next backward writes */
        else
            ag_zero_grad(s->leaf[i]);
    }
    if (!(b & 4)) fz_reset(s, s->t);           /* else the next round goes on */
    if (b & 8) fz_reset(s, s->other);
}

/* ------------------------------------------------------------- a run --- */

static void setup(fz_api *s)
{
    s->t = ag_tape_new();
    s->other = ag_tape_new();
    s->rng = ag_rng_new(fz_u8(&s->in));
    s->scratch = malloc(2 * FZ_MAX_NUMEL * sizeof *s->scratch);
    if (!s->t || !s->other || !s->rng || !s->scratch) abort();
    s->cur = NULL;                             /* leaves: persistent */
    for (int i = 0; i < FZ_LEAVES; i++) {
        int nd;
        int64_t shape[AG_MAX_DIMS + 1];
        ag_dtype dt = fz_dtype(s);
        fz_shape(s, &nd, shape);
        s->leaf[i] = ag_rand_normal(NULL, s->rng, dt, nd, shape, 0, 1);
        ag_set_requires_grad(s->leaf[i], fz_u8(&s->in) < 200);
    }
    s->cur = s->t;
    for (int i = 0; i < FZ_SLOTS / 2; i++) {
        int nd;
        int64_t shape[AG_MAX_DIMS + 1];
        ag_dtype dt = fz_dtype(s);
        fz_shape(s, &nd, shape);
        fz_store(s, i, i < FZ_LEAVES ? s->leaf[i]
                                     : ag_rand_uniform(s->t, s->rng, dt, nd, shape, -2, 2));
    }
    ag_tape_clear_error(s->t);
    fz_make_layers(s);
    fz_make_optim(s);
}

static void teardown(fz_api *s)
{
    ag_optim_free(s->opt);
    for (int i = 0; i < s->n_mod; i++) ag_module_free(s->mod[i]);
    for (int i = 0; i < FZ_LEAVES; i++) ag_tensor_free(s->leaf[i]);
    for (int i = 0; i < s->n_owned; i++) ag_tensor_free(s->owned[i]);
    ag_tape_free(s->t);
    ag_tape_free(s->other);
    ag_rng_free(s->rng);
    free(s->scratch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_api s;
    memset(&s, 0, sizeof s);
    s.in = (fz_in){data, size, 0};
    setup(&s);
    for (int round = 0; round < ROUNDS && fz_more(&s.in); round++) {
        int n = 1 + fz_u8(&s.in) % OPS_PER_ROUND;
        for (int i = 0; i < n && fz_more(&s.in); i++) step(&s);
        end_round(&s);
    }
    teardown(&s);
    return 0;
}
