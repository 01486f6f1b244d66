/*
** plan.c: tape replay (ag_plan.h). A capture runs the user's function and
** its backward pass on a tape of the plan's own with t->plan set; each op
** logs a step (the kernel it ran and its operands, agi_plan_log), and the
** engine logs its gradient sinks. A run re-executes the steps in order on
** the same tensors: the tape's memory is never reset, so every buffer the
** capture wrote is there to be written again. The steps of each op family
** live beside its kernels (unary.c, binary.c, matmul.c, reduce.c...); this file holds
** the log, the checks and the public functions.
*/
#include "plan_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef agi_plan_input plan_input;

struct ag_plan {
    ag_tape *tape;
    agi_sc_prog *scalar;        /* the steps as a flat scalar program, or NULL */
    agi_step *steps;
    size_t n_steps, cap_steps;
    plan_input *inputs;
    int n_inputs, cap_inputs;
    uint64_t logged;            /* ops that logged a step (all of them, or refused) */
    char refused[AGI_MSG_LEN];  /* why the capture fails, or "" */
    ag_tensor *output;
    int n_wrt;
    ag_tensor **grads;
    char msg[AGI_MSG_LEN];
};

_Thread_local ag_plan *agi_plan_reading;

/* Keeps the first reason the capture must fail. */
static void refuse(ag_plan *p, const char *fmt, const char *what)
{
    if (!p->refused[0]) snprintf(p->refused, sizeof p->refused, fmt, what);
}

void agi_plan_read(const char *fn, int random)
{
    if (random)
        refuse(agi_plan_reading, "ag_plan_capture: the function drew random numbers (%s): "
               "a replay would repeat the same draws (draw them into an input instead)", fn);
    else
        refuse(agi_plan_reading, "ag_plan_capture: the function read a tensor's value (%s): "
               "its control flow may depend on it, which a plan cannot replay", fn);
}

void agi_plan_check_op(ag_tape *t, const agi_op *op)
{
    ag_plan *p = t->plan;
    if (p->logged != t->n_ops + 1)
        refuse(p, "ag_plan_capture: %s cannot be replayed by a plan (random ops and the "
               "op families not listed in ag_plan.h are not replayable; see ag_plan.h)",
               op->name);
    p->logged = t->n_ops + 1;        /* one refusal per op */
}

/* Remembers x (a persistent operand) as an input of the plan; 0 when out
   of memory. */
static int note_input(ag_plan *p, const ag_tensor *x)
{
    for (int i = p->n_inputs - 1; i >= 0 && i >= p->n_inputs - 8; i--)
        if (p->inputs[i].x == x) return 1;  /* the rest: dedup_inputs, at the end */
    if (p->n_inputs == p->cap_inputs) {
        int cap = p->cap_inputs ? 2 * p->cap_inputs : 16;
        plan_input *in = realloc(p->inputs, (size_t)cap * sizeof *in);
        if (!in) return 0;
        p->inputs = in;
        p->cap_inputs = cap;
    }
    plan_input *in = &p->inputs[p->n_inputs++];
    in->x = x;
    in->data = x->data;
    in->ndim = x->ndim;
    in->dtype = x->dtype;
    memcpy(in->shape, x->shape, sizeof in->shape);
    return 1;
}

agi_step *agi_plan_log(ag_tape *t, int op, agi_step_fn run, agi_fnptr kernel, ag_tensor *y,
                       ag_tensor *a, ag_tensor *b, double s, double s2)
{
    ag_plan *p = t->plan;
    if (op) {
        if (p->logged != t->n_ops)
            refuse(p, "ag_plan_capture: an op that a plan cannot replay ran before %s "
                   "(random ops and most op families are not replayable; see ag_plan.h)",
                   agi_fn(t));
        p->logged = t->n_ops + 1;
    }
    if ((a && !a->tape && !note_input(p, a)) || (b && !b->tape && !note_input(p, b)) ||
        (y && !y->tape && !note_input(p, y))) {
        refuse(p, "ag_plan_capture: out of memory for %s", "the plan's inputs");
        return NULL;
    }
    if (!run) return NULL;            /* nothing to re-run (a view, a detach) */
    if (p->n_steps == p->cap_steps) {
        size_t cap = p->cap_steps ? 2 * p->cap_steps : 256;
        agi_step *st = realloc(p->steps, cap * sizeof *st);
        if (!st) {
            refuse(p, "ag_plan_capture: out of memory for %s", "the plan's steps");
            return NULL;
        }
        p->steps = st;
        p->cap_steps = cap;
    }
    agi_step *st = &p->steps[p->n_steps++];
    *st = (agi_step){run, kernel, y, a, b, NULL, s, s2, NULL, NULL};
    return st;
}

void agi_plan_operand(ag_tape *t, ag_tensor *x)
{
    if (x && !x->tape && !note_input(t->plan, x))
        refuse(t->plan, "ag_plan_capture: out of memory for %s", "the plan's inputs");
}

void *agi_plan_keep(ag_tape *t, const void *data, size_t bytes)
{
    void *k = agi_alloc(t, bytes);
    if (!k) {
        refuse(t->plan, "ag_plan_capture: out of memory for %s", "a step's data");
        return NULL;
    }
    memcpy(k, data, bytes);
    return k;
}

void agi_step_copy(const agi_step *s)
{
    if (s->y->numel) memcpy(s->y->data, s->a->data, agi_bytes(s->y->numel, s->y->dtype));
}

void agi_step_xy(const agi_step *s) { ((agi_xy_kernel)s->kernel)(s->a, s->y); }

void ag_plan_free(ag_plan *p)
{
    if (!p) return;
    agi_sc_free(p->scalar);
    ag_tape_free(p->tape);
    free(p->steps);
    free(p->inputs);
    free(p->grads);
    free(p);
}

static int cmp_input(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const plan_input *)a)->x, y = (uintptr_t)((const plan_input *)b)->x;
    return x < y ? -1 : x > y;
}

/* Drops repeated inputs (note_input looks back a few only). */
static void dedup_inputs(ag_plan *p)
{
    if (p->n_inputs < 2) return;
    qsort(p->inputs, (size_t)p->n_inputs, sizeof *p->inputs, cmp_input);
    int out = 1;
    for (int i = 1; i < p->n_inputs; i++)
        if (p->inputs[i].x != p->inputs[out - 1].x) p->inputs[out++] = p->inputs[i];
    p->n_inputs = out;
}

/* ------------------------------------------------------ sink fusion --- */
/*
** ag_backward writes a gradient straight into a leaf's grad buffer when
** the grad is none (ag_clear_grad; agi_grad_into), sparing a copy. A plan
** cannot decide that at capture, as the grad's state at a run is not
** known then; so a run decides it: a step whose output only a leaf's
** sink reads becomes a fused step, which writes the leaf's grad buffer
** itself when the grad is none (the same values: the same kernel), or
** runs the step and then the sink as before.
*/

/* A fused step: aux is the producer's step (kept), c the leaf, y the
   producer's output. */
static void fused_sink_step(const agi_step *st)
{
    const agi_step *prod = st->aux;
    ag_tensor *leaf = st->c, *g = st->y, *grad = leaf->grad;
    if (grad && (leaf->flags & AGI_GRAD_NONE) && grad->dtype == g->dtype &&
        grad->numel == g->numel) {
        void *own = g->data;
        g->data = grad->data;           /* the kernel writes the grad */
        prod->run(prod);
        g->data = own;
        leaf->flags &= (uint8_t)~AGI_GRAD_NONE;
        return;
    }
    prod->run(prod);
    agi_step sink = {.y = leaf, .a = g};
    agi_plan_sink_step(&sink);
}

/* Does step st touch memory at data (any operand's buffer)? */
static int touches(const agi_step *st, const void *data)
{
    return (st->y && st->y->data == data) || (st->a && st->a->data == data) ||
           (st->b && st->b->data == data) || (st->c && st->c->data == data);
}

/* The producer of sink k's gradient when the pair can be fused (see
   above), or -1: the gradient has its own buffer, one step before k
   writes it and no other step touches it, nor the leaf's grad buffer
   between the two, and no other sink of that leaf runs between them. */
static ptrdiff_t fusable(const ag_plan *p, size_t k)
{
    const agi_step *sk = &p->steps[k];
    const ag_tensor *g = sk->a, *leaf = sk->y;
    const void *gbuf = leaf->grad ? leaf->grad->data : NULL;
    if (g->data == (const void *)g->inl.bytes || !g->tape || g == p->output) return -1;
    ptrdiff_t j = -1;
    for (size_t i = 0; i < p->n_steps; i++) {
        const agi_step *st = &p->steps[i];
        if (i == k) continue;
        if (j < 0 && i < k && st->y == g) {
            j = (ptrdiff_t)i;
            continue;
        }
        if (touches(st, g->data)) return -1;
        if (j >= 0 && i < k && (touches(st, gbuf) || (st->run == agi_plan_sink_step &&
                                                      st->y == leaf)))
            return -1;
    }
    return j;
}

/* Fuses every sink it can with its producer (each decided on the steps as
   captured, then applied); 0 when out of memory. */
static int fuse_sinks(ag_plan *p)
{
    ptrdiff_t *prod = malloc((p->n_steps ? p->n_steps : 1) * sizeof *prod);
    if (!prod) return 0;
    for (size_t k = 0; k < p->n_steps; k++)
        prod[k] = p->steps[k].run == agi_plan_sink_step ? fusable(p, k) : -1;
    for (size_t k = 0; k < p->n_steps; k++) {
        if (prod[k] < 0) continue;
        agi_step *st = &p->steps[prod[k]], *sk = &p->steps[k];
        void *kept = agi_plan_keep(p->tape, st, sizeof *st);
        if (!kept) return free(prod), 0;
        *st = (agi_step){fused_sink_step, NULL, st->y, NULL, NULL, sk->y, 0, 0, kept, NULL};
        sk->run = NULL;                 /* the sink is dropped */
    }
    free(prod);
    size_t out = 0;
    for (size_t k = 0; k < p->n_steps; k++)
        if (p->steps[k].run) p->steps[out++] = p->steps[k];
    p->n_steps = out;
    return 1;
}

/* The capture's recording and backward on p's tape; 0 (with the reason
   in ag_last_error()) on failure. */
static int capture(ag_plan *p, ag_plan_fn fn, void *ctx, ag_tensor *const *wrt)
{
    ag_tape *t = p->tape;
    t->plan = p;
    agi_plan_reading = p;
    ag_tensor *y = fn(t, ctx);
    agi_plan_reading = NULL;
    if (!y || t->status != AG_OK)
        return ag_set_last_error(t->status != AG_OK ? t->status : AG_ERR_ARG,
                                 "ag_plan_capture: the function failed: %s",
                                 t->status != AG_OK ? t->msg : "it returned NULL"), 0;
    if (y->numel != 1) {
        char buf[96];
        return ag_set_last_error(AG_ERR_SHAPE, "ag_plan_capture: the output is %s, not one "
                                 "element", agi_shape_str(y, buf)), 0;
    }
    if (p->refused[0]) return ag_set_last_error(AG_ERR_STATE, "%s", p->refused), 0;
    ag_status s = p->n_wrt ? ag_grad(t, 1, &y, NULL, p->n_wrt, wrt, p->grads, 0)
                           : ag_backward(t, y);
    if (s != AG_OK)
        return ag_set_last_error(s, "ag_plan_capture: the backward pass failed: %s",
                                 t->msg), 0;
    if (!p->refused[0] && p->logged != t->n_ops)
        refuse(p, "ag_plan_capture: an op that a plan cannot replay ran (the last op "
               "that made a tensor: %s; see ag_plan.h)", agi_fn(t));
    if (p->refused[0]) return ag_set_last_error(AG_ERR_STATE, "%s", p->refused), 0;
    p->output = y;
    dedup_inputs(p);
    agi_sc_source src = {p->steps, p->n_steps, p->inputs, p->n_inputs, y, p->grads, p->n_wrt};
    p->scalar = agi_sc_compile(&src);   /* NULL: the steps run (or memory is short) */
    if (!fuse_sinks(p)) return ag_set_last_error(AG_ERR_NOMEM, "%s", p->refused), 0;
    t->plan = NULL;
    return 1;
}

ag_plan *ag_plan_capture(ag_plan_fn fn, void *ctx, int n_wrt, ag_tensor *const *wrt)
{
    if (!fn || n_wrt < 0 || (n_wrt > 0 && !wrt))
        return ag_set_last_error(AG_ERR_ARG, "ag_plan_capture: %s",
                                 !fn ? "fn is NULL" : n_wrt < 0 ? "n_wrt is negative"
                                                                : "wrt is NULL"), NULL;
    if (agi_plan_reading)
        return ag_set_last_error(AG_ERR_STATE, "ag_plan_capture: called inside a capture"),
               NULL;
    ag_plan *p = calloc(1, sizeof *p);
    if (p) p->tape = ag_tape_new();
    if (p && n_wrt) p->grads = calloc((size_t)n_wrt, sizeof *p->grads);
    if (!p || !p->tape || (n_wrt && !p->grads)) {
        ag_plan_free(p);
        return ag_set_last_error(AG_ERR_NOMEM, "ag_plan_capture: out of memory"), NULL;
    }
    p->n_wrt = n_wrt;
    if (!capture(p, fn, ctx, wrt)) {
        ag_plan_free(p);
        return NULL;
    }
    return p;
}

/* AG_OK when every input has the shape, dtype and buffer it had at
   capture; else the error, with the message in p->msg. */
static ag_status check_inputs(ag_plan *p)
{
    char b1[96], b2[96];
    for (int i = 0; i < p->n_inputs; i++) {
        const plan_input *in = &p->inputs[i];
        const ag_tensor *x = in->x;
        int same = x->ndim == in->ndim;
        for (int d = 0; same && d < in->ndim; d++) same = x->shape[d] == in->shape[d];
        if (!same) {
            snprintf(p->msg, sizeof p->msg, "ag_plan_run: input %d is %s, it was %s at "
                     "capture: capture a new plan for the new shape", i, agi_shape_str(x, b1),
                     agi_dims_str(in->ndim, in->shape, b2));
            return AG_ERR_SHAPE;
        }
        if (x->dtype != in->dtype || x->data != in->data) {
            snprintf(p->msg, sizeof p->msg, "ag_plan_run: input %d %s since capture: capture "
                     "a new plan", i, x->dtype != in->dtype ? "changed dtype"
                                                            : "has a new data buffer");
            return AG_ERR_STATE;
        }
    }
    return AG_OK;
}

ag_status ag_plan_run(ag_plan *p)
{
    if (!p) return ag_set_last_error(AG_ERR_ARG, "ag_plan_run: plan is NULL");
    p->msg[0] = '\0';
    if (p->scalar && agi_sc_run(p->scalar)) return AG_OK;
    ag_status s = check_inputs(p);
    if (s != AG_OK) return s;
    const agi_step *st = p->steps, *end = st + p->n_steps;
    for (; st < end; st++) st->run(st);
    return AG_OK;
}

const ag_tensor *ag_plan_output(const ag_plan *p) { return p ? p->output : NULL; }

const ag_tensor *ag_plan_grad(const ag_plan *p, int k)
{
    return p && k >= 0 && k < p->n_wrt ? p->grads[k] : NULL;
}

size_t ag_plan_size(const ag_plan *p) { return p ? p->n_steps : 0; }

int agi_plan_compiled(const ag_plan *p) { return p && p->scalar; }

size_t agi_plan_scalar_size(const ag_plan *p) { return p ? agi_sc_size(p->scalar) : 0; }

const char *ag_plan_errmsg(const ag_plan *p) { return p ? p->msg : "ag_plan_errmsg: plan is NULL"; }
