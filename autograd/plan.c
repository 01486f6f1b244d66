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
#include "ag_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A persistent tensor a plan reads, as it was at capture. */
typedef struct plan_input {
    const ag_tensor *x;
    void *data;
    int64_t shape[AG_MAX_DIMS];
    uint8_t ndim, dtype;
} plan_input;

typedef struct sc_prog sc_prog;
static void sc_free(sc_prog *g);

struct ag_plan {
    ag_tape *tape;
    sc_prog *scalar;            /* the steps as a flat scalar program, or NULL */
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
    sc_free(p->scalar);
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

/* ------------------------------------------------- the scalar program --- */
/*
** A plan whose every step is an add, sub, mul, div or neg (their scalar
** forms, square, the engine's accumulation) on one-element tensors of one
** dtype, or a leaf's grad sink, is compiled into a flat program over a
** value array: one slot per buffer (a view shares its buffer's slot), an
** op's scalar a constant slot. A run loads the inputs' values, runs the
** program and stores the output and the gradients back: the same
** operations in the same type and order, so the same bits, without a
** tensor header or a kernel call per op.
*/
enum { SC_ADD, SC_SUB, SC_MUL, SC_DIV, SC_NEG, SC_SINK, SC_PA = 8, SC_PB = 16 };

typedef struct sc_inst {
    uint32_t op, d, a, b;            /* SC_SINK: leaves[d] += a, b its accumulator */
} sc_inst;

typedef struct sc_io {
    uint32_t slot;
    void *data;                      /* an input's (loaded: run checks it is still
                                        the input's), an output's (stored) */
} sc_io;

typedef struct sc_leaf {              /* a leaf whose .grad the plan fills */
    ag_tensor *leaf;
    const ag_tensor *grad;           /* its grad at capture (made once, kept) */
    void *gdata;                     /* its data: a run reads no grad header */
    uint32_t slot;                   /* its accumulator during a run */
} sc_leaf;

struct sc_prog {
    int dtype;
    void *vals;                      /* one double or float per slot */
    sc_inst *code;
    sc_io *loads, *stores;
    sc_leaf *leaves;
    uint8_t *empty;                  /* by leaf, during a run: its grad is none */
    size_t n_code, n_loads, n_stores, n_leaves;
};

/* How an elementwise op maps to an instruction: its opcode and operands
   (0: a, b; 1: a, s; 2: s, a; 3: a, a; 4: a). */
static const struct sc_form {
    const char *name;
    int op, form;
} sc_forms[] = {
    {"ag_add", SC_ADD, 0}, {"ag_grad (accumulate)", SC_ADD, 0}, {"ag_sub", SC_SUB, 0},
    {"ag_mul", SC_MUL, 0}, {"ag_div", SC_DIV, 0}, {"ag_add_scalar", SC_ADD, 1},
    {"ag_sub_scalar", SC_SUB, 1}, {"ag_rsub_scalar", SC_SUB, 2}, {"ag_mul_scalar", SC_MUL, 1},
    {"ag_div_scalar", SC_DIV, 1}, {"ag_rdiv_scalar", SC_DIV, 2}, {"ag_square", SC_MUL, 3},
    {"ag_neg", SC_NEG, 4},
};

static const struct sc_form *sc_form_of(const agi_step *st)
{
    for (size_t i = 0; st->op && i < sizeof sc_forms / sizeof *sc_forms; i++)
        if (!strcmp(st->op->name, sc_forms[i].name)) return &sc_forms[i];
    return NULL;
}

/* A compile's state: the slots by buffer (open addressing). */
typedef struct sc_build {
    const void **keys;
    uint32_t *slot_of;
    int shift;                       /* 64 - log2(cap) */
    uint8_t *written;                /* by slot: a step writes it */
    uint32_t *leaf_of;               /* by slot: the leaf it accumulates */
    size_t cap, n_slots, cap_slots;
    double *init;                    /* by slot: a constant's value */
    sc_prog *g;
} sc_build;

/* The slot of buffer key, or -1 when it has none. */
static int64_t sc_find(const sc_build *b, const void *key)
{
    size_t h = (size_t)(((uint64_t)(uintptr_t)key * 0x9E3779B97F4A7C15u) >> b->shift);
    while (b->keys[h] && b->keys[h] != key) h = (h + 1) & (b->cap - 1);
    return b->keys[h] ? (int64_t)b->slot_of[h] : -1;
}

/* The slot of buffer key (a new one when new_slot or unseen: *fresh set). */
static int64_t sc_slot(sc_build *b, const void *key, int new_slot, int *fresh)
{
    size_t h = (size_t)(((uint64_t)(uintptr_t)key * 0x9E3779B97F4A7C15u) >> b->shift);
    while (!new_slot && b->keys[h] && b->keys[h] != key) h = (h + 1) & (b->cap - 1);
    *fresh = new_slot || !b->keys[h];
    if (!*fresh) return b->slot_of[h];
    if (b->n_slots == b->cap_slots) return -1;
    if (!new_slot) {
        b->keys[h] = key;
        b->slot_of[h] = (uint32_t)b->n_slots;
    }
    b->written[b->n_slots] = 0;
    b->init[b->n_slots] = 0;
    return (int64_t)b->n_slots++;
}

/* The slot x is read from: an input's (loaded at each run), a constant's
   (its value now) or a step's output; -1 when x cannot be. */
static int64_t sc_read(sc_build *b, const ag_tensor *x)
{
    int fresh;
    int64_t s = sc_slot(b, x->data, 0, &fresh);
    if (s < 0 || !fresh) return s;
    b->init[s] = x->dtype == AG_F64 ? AGI_F64(x)[0] : AGI_F32(x)[0];
    if (!x->tape) b->g->loads[b->g->n_loads++] = (sc_io){(uint32_t)s, x->data};
    return s;
}

/* Appends step st's instruction; 0 when it has none. */
static int sc_add_step(sc_build *b, const agi_step *st)
{
    sc_prog *g = b->g;
    const int dt = g->dtype;
    int fresh;
    if (st->run == agi_plan_sink_step) {
        ag_tensor *leaf = st->y, *gr = leaf->grad;
        if (st->a->numel != 1 || st->a->dtype != dt || !gr) return 0;
        int64_t a = sc_read(b, st->a), acc = sc_slot(b, leaf, 0, &fresh);  /* keyed by header */
        if (a < 0 || acc < 0) return 0;
        if (fresh) {
            b->leaf_of[acc] = (uint32_t)g->n_leaves;
            g->leaves[g->n_leaves++] = (sc_leaf){leaf, gr, gr->data, (uint32_t)acc};
        }
        g->code[g->n_code++] = (sc_inst){SC_SINK, b->leaf_of[acc], (uint32_t)a, (uint32_t)acc};
        return 1;
    }
    const struct sc_form *f = sc_form_of(st);
    if (!f || st->y->numel != 1 || st->y->dtype != dt || st->a->numel != 1 ||
        (f->form == 0 && (st->b->numel != 1 || st->b->dtype != dt)))
        return 0;
    int64_t a = sc_read(b, st->a), c = a;
    if (f->form == 0) c = sc_read(b, st->b);
    if (f->form == 1 || f->form == 2) {
        c = sc_slot(b, NULL, 1, &fresh);            /* the scalar, in the op's type */
        if (c >= 0) b->init[c] = dt == AG_F64 ? st->s : (double)(float)st->s;
    }
    int64_t d = sc_slot(b, st->y->data, 0, &fresh);
    if (a < 0 || c < 0 || d < 0 || !fresh) return 0; /* y's buffer is new */
    b->written[d] = 1;
    if (f->form == 2) {
        int64_t tmp = a;
        a = c;
        c = tmp;
    }
    uint32_t op = (uint32_t)f->op;
    if (g->n_code && g->code[g->n_code - 1].op != SC_SINK) {   /* operands in r_ */
        const uint32_t prev = g->code[g->n_code - 1].d;
        op |= (a == prev ? SC_PA : 0) | (c == prev ? SC_PB : 0);
    }
    g->code[g->n_code++] = (sc_inst){op, (uint32_t)d, (uint32_t)a, (uint32_t)c};
    return 1;
}

/* Runs program g on its value array of type T: loads, code, stores. */
/* One arithmetic instruction in its three operand forms: from the value
   array, or with a (PA) or b (PB) the previous instruction's result, kept
   in a register (r_): a chain of ops pays no store-to-load latency. */
#define SC_CASES(OP, EXPR)                                                  \
    case OP: r_ = v_[c_->d] = EXPR(v_[c_->a], v_[c_->b]); break;            \
    case OP | SC_PA: r_ = v_[c_->d] = EXPR(r_, v_[c_->b]); break;           \
    case OP | SC_PB: r_ = v_[c_->d] = EXPR(v_[c_->a], r_); break;           \
    case OP | SC_PA | SC_PB: r_ = v_[c_->d] = EXPR(r_, r_); break;
#define SC_ADD_(x, y) ((x) + (y))
#define SC_SUB_(x, y) ((x) - (y))
#define SC_MUL_(x, y) ((x) * (y))
#define SC_DIV_(x, y) ((x) / (y))
#define SC_NEG_(x, y) (-(x))

/* Runs program g on its value array of type T: loads, code, stores. */
#define SC_RUN(T, G)                                                        \
    do {                                                                    \
        T *v_ = (T *)(G)->vals, r_ = 0;                                     \
        for (size_t i_ = 0; i_ < (G)->n_loads; i_++)                        \
            v_[(G)->loads[i_].slot] = *(const T *)(G)->loads[i_].data;      \
        const sc_inst *c_ = (G)->code, *e_ = c_ + (G)->n_code;              \
        for (; c_ < e_; c_++) {                                             \
            switch (c_->op) {                                               \
            SC_CASES(SC_ADD, SC_ADD_)                                       \
            SC_CASES(SC_SUB, SC_SUB_)                                       \
            SC_CASES(SC_MUL, SC_MUL_)                                       \
            SC_CASES(SC_DIV, SC_DIV_)                                       \
            SC_CASES(SC_NEG, SC_NEG_)                                       \
            default:                        /* SC_SINK */                   \
                if ((G)->empty[c_->d]) {                                    \
                    r_ = v_[c_->b] = v_[c_->a];                             \
                    (G)->empty[c_->d] = 0;                                  \
                } else {                                                    \
                    r_ = v_[c_->b] = v_[c_->b] + v_[c_->a];                 \
                }                                                           \
            }                                                               \
        }                                                                   \
        for (size_t i_ = 0; i_ < (G)->n_stores; i_++)                       \
            *(T *)(G)->stores[i_].data = v_[(G)->stores[i_].slot];          \
    } while (0)

/* The leaves' grads before a run: each accumulator holds its grad, or is
   empty when the grad is none (ag_clear_grad), as sink_leaf_grad would
   find it; 0 when a leaf's grad is not the one of capture (the steps run
   then: they make it). */
#define SC_LEAVES_IN(T, G)                                                  \
    do {                                                                    \
        T *v_ = (T *)(G)->vals;                                             \
        for (size_t j_ = 0; j_ < (G)->n_leaves; j_++) {                     \
            const sc_leaf *l_ = &(G)->leaves[j_];                           \
            if (l_->leaf->grad != l_->grad) return 0;                       \
            (G)->empty[j_] = (l_->leaf->flags & AGI_GRAD_NONE) != 0;        \
            if (!(G)->empty[j_]) v_[l_->slot] = *(const T *)l_->gdata;      \
        }                                                                   \
    } while (0)

/* ... and after: each accumulator that took a gradient goes to its grad. */
#define SC_LEAVES_OUT(T, G)                                                 \
    do {                                                                    \
        const T *v_ = (const T *)(G)->vals;                                 \
        for (size_t j_ = 0; j_ < (G)->n_leaves; j_++) {                     \
            const sc_leaf *l_ = &(G)->leaves[j_];                           \
            if ((G)->empty[j_]) continue;                                   \
            *(T *)l_->gdata = v_[l_->slot];                                 \
            l_->leaf->flags &= (uint8_t)~AGI_GRAD_NONE;                     \
        }                                                                   \
    } while (0)

/* Runs program g; 0 (nothing changed) when the steps must run instead. */
static int sc_run(sc_prog *g)
{
    if (g->dtype == AG_F64) {
        SC_LEAVES_IN(double, g);
        SC_RUN(double, g);
        SC_LEAVES_OUT(double, g);
    } else {
        SC_LEAVES_IN(float, g);
        SC_RUN(float, g);
        SC_LEAVES_OUT(float, g);
    }
    return 1;
}

static void sc_free(sc_prog *g)
{
    if (!g) return;
    free(g->vals), free(g->code), free(g->loads), free(g->stores), free(g->leaves), free(g->empty);
    free(g);
}

/* The program's value array and stores, once every step is in: a store
   for the output and each gradient a step writes; NULL when a sink's
   leaf's grad buffer is also read (as an input) or out of memory. */
static sc_prog *sc_finish(sc_build *b, const ag_plan *p)
{
    sc_prog *g = b->g;
    for (size_t k = 0; k < g->n_leaves; k++)
        if (sc_find(b, g->leaves[k].gdata) >= 0) return NULL;
    g->vals = malloc((b->n_slots ? b->n_slots : 1) * agi_dtype_size(g->dtype));
    g->stores = malloc((size_t)(p->n_wrt + 1) * sizeof *g->stores);
    g->empty = malloc(g->n_leaves ? g->n_leaves : 1);
    if (!g->vals || !g->stores || !g->empty) return NULL;
    for (size_t i = 0; i < b->n_slots; i++) {
        if (g->dtype == AG_F64)
            ((double *)g->vals)[i] = b->init[i];
        else
            ((float *)g->vals)[i] = (float)b->init[i];
    }
    for (int k = -1; k < p->n_wrt; k++) {
        ag_tensor *y = k < 0 ? p->output : p->grads[k];
        int64_t s = y && y->tape ? sc_find(b, y->data) : -1;
        if (s >= 0 && b->written[s]) g->stores[g->n_stores++] = (sc_io){(uint32_t)s, y->data};
    }
    return g;
}

/* The plan's scalar program, or NULL when a step has no instruction (the
   plan runs its steps then) or memory is short. */
static sc_prog *sc_compile(const ag_plan *p)
{
    sc_build b = {0};
    const size_t n = p->n_steps, max_slots = 3 * n + 1;
    if (!n || n > UINT32_MAX / 4 || !p->steps[0].y || p->steps[0].y->numel != 1) return NULL;
    b.cap = 16;
    b.shift = 60;
    while (b.cap < 2 * max_slots) b.cap *= 2, b.shift--;
    b.cap_slots = max_slots;
    b.keys = calloc(b.cap, sizeof *b.keys);
    b.slot_of = malloc(b.cap * sizeof *b.slot_of);
    b.written = malloc(max_slots);
    b.leaf_of = malloc(max_slots * sizeof *b.leaf_of);
    b.init = malloc(max_slots * sizeof *b.init);
    sc_prog *g = b.g = calloc(1, sizeof *g);
    if (g) {
        g->dtype = p->steps[0].y->dtype;
        g->code = malloc(n * sizeof *g->code);
        g->loads = malloc(max_slots * sizeof *g->loads);
        g->leaves = malloc(n * sizeof *g->leaves);
    }
    int ok = b.keys && b.slot_of && b.written && b.leaf_of && b.init && g && g->code &&
             g->loads && g->leaves;
    for (size_t i = 0; ok && i < n; i++) ok = sc_add_step(&b, &p->steps[i]);
    sc_prog *done = ok ? sc_finish(&b, p) : NULL;
    if (!done) sc_free(g);
    free(b.keys), free(b.slot_of), free(b.written), free(b.leaf_of), free(b.init);
    return done;
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
    if (!fuse_sinks(p)) return ag_set_last_error(AG_ERR_NOMEM, "%s", p->refused), 0;
    dedup_inputs(p);
    p->scalar = sc_compile(p);      /* NULL: the steps run (or memory is short) */
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
    ag_status s = check_inputs(p);
    if (s != AG_OK) return s;
    if (p->scalar && sc_run(p->scalar)) return AG_OK;
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

const char *ag_plan_errmsg(const ag_plan *p) { return p ? p->msg : "ag_plan_errmsg: plan is NULL"; }
