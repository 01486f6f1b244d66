/*
** plan_scalar.c: a plan's flat scalar program (plan_internal.h). A plan
** whose every step works on one-element tensors of one dtype (an
** objective written in scalar ops, and its backward pass) is compiled
** into instructions over an array of values: one slot per buffer (a view
** shares its buffer's slot), an op's scalar a constant slot. A run checks
** and loads the inputs, runs the instructions and stores the output and
** the gradients back, without a tensor header or a kernel call per op.
**
** Instructions: add, sub, mul, div, neg and the _scalar forms, square and
** reciprocal; exp, expm1, log, log1p, tanh, sigmoid, erf, sin, cos (the
** vector math's own functions on one element, as the ops' kernels call
** them), sqrt, abs, pow_scalar; a leaf's grad sink; and any other step on
** one-element tensors, run as it is (its operands written into its
** tensors first). Each is the operation the op's kernel does, in the same
** type: the same bits as a fresh recording.
**
** The compile also drops work whose result is known: an arithmetic
** instruction of constants is computed once (the same operation in the
** same type), a repeated instruction (same operation on the same slots,
** e.g. the two halves of the gradient of x*x) reuses the first one's
** result, and an instruction whose result nobody reads goes. Slots are
** then renumbered, reusing those of dead values, so the value array stays
** small (cache-resident) however long the program, and an arithmetic
** instruction whose result the next one takes from the register runs with
** it as one pair (one dispatch for two).
*/
#include "plan_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {                      /* opcodes (low 4 bits) */
    SC_ADD, SC_SUB, SC_MUL, SC_DIV, SC_NEG,   /* v[d] = v[a] op v[b]; -v[a] */
    SC_SINK,                /* leaf d's accumulator, slot b: = v[a] if empty, else += */
    SC_FN,                  /* v[d] = fns[b](v[a]) */
    SC_POW,                 /* v[d] = v[a] ^ v[b] (pow_scalar's kernel) */
    SC_STEP,                /* calls[a] runs as it is; v[d] = its output */
    SC_PA = 16, SC_PB = 32, /* arithmetic: a, b is the previous result (a register) */
    SC_FUSE = 64            /* a pair, see SC_FOP */
};

/* A pair of arithmetic instructions run as one (one dispatch): X, then the
   next instruction Y (an opcode Y with form F: 1 its a, 2 its b, 3 both
   are X's result). X reads its operands from the values. */
#define SC_FOP(X, Y, F) (SC_FUSE + (X) * 15 + (Y) * 3 + (F) - 1)

#define SC_MAX_FNS 16    /* the distinct op functions (agi_op_value) of one program */

/* Operand forms: (a, b), (a, s), (s, a), (a, a), (a), (1, a), fn(a). */
enum { F_AB, F_AS, F_SA, F_AA, F_A, F_1A, F_FN };

#define NONE UINT32_MAX

typedef struct sc_inst {
    uint32_t op, d, a, b;
} sc_inst;

typedef struct sc_inst16 {  /* the same, half the bytes: when every number fits */
    uint16_t op, d, a, b;
} sc_inst16;

typedef struct sc_call {    /* a step run as it is */
    agi_step st;            /* a copy (the plan's own steps change: sink fusion) */
    ag_tensor *in[3];       /* its operands written before it runs (NULL: none) */
    uint32_t slot[3];
} sc_call;

typedef struct sc_var {     /* an input (checked, loaded) or a leaf */
    const ag_tensor *x;
    void *data;             /* an input's buffer at capture; NULL: a leaf only */
    const void *gdata;      /* its leaf's grad buffer, or NULL (to prefetch) */
    uint32_t slot, leaf;    /* where its value goes, its leaf; or NONE */
    uint8_t ndim;
} sc_var;

typedef struct sc_io {
    uint32_t slot;
    void *data;
} sc_io;

typedef struct sc_leaf {    /* a leaf whose .grad the program fills */
    ag_tensor *leaf;
    const ag_tensor *grad;  /* its grad at capture (made once, kept) */
    void *gdata;            /* its data: a run reads no grad header */
    uint32_t slot;          /* its accumulator during a run */
} sc_leaf;

struct agi_sc_prog {
    int dtype;
    void *vals;             /* one double or float per slot */
    sc_inst *code;
    sc_inst16 *code16;      /* the code in short form, or NULL */
    sc_call *calls;
    sc_var *vars;
    sc_io *stores;
    sc_leaf *leaves;
    uint8_t *empty;         /* by leaf, during a run: its grad is none (1), was (2) */
    agi_value_fn fns[SC_MAX_FNS];   /* SC_FN's functions (agi_op_value), by index */
    size_t n_code, n_calls, n_vars, n_checked, n_stores, n_leaves;
};

/* ------------------------------------------------------------ the run --- */

#define SC_ADD_(x, y) ((x) + (y))
#define SC_SUB_(x, y) ((x) - (y))
#define SC_MUL_(x, y) ((x) * (y))
#define SC_DIV_(x, y) ((x) / (y))
#define SC_NEG_(x, y) (-(x))
/* One arithmetic instruction in its four operand forms (r: the register). */
#define SC_CASES(OP, E)                                                     \
    case OP: r = v[c->d] = E(v[c->a], v[c->b]); break;                      \
    case OP | SC_PA: r = v[c->d] = E(r, v[c->b]); break;                    \
    case OP | SC_PB: r = v[c->d] = E(v[c->a], r); break;                    \
    case OP | SC_PA | SC_PB: r = v[c->d] = E(r, r); break;

/* The pairs: X (by EX), then Y (EY) in its three forms. */
#define SC_PAIR(X, EX, Y, EY)                                               \
    case SC_FOP(X, Y, 1):                                                   \
        t = v[c->d] = EX(v[c->a], v[c->b]), c++;                            \
        r = v[c->d] = EY(t, v[c->b]); break;                                \
    case SC_FOP(X, Y, 2):                                                   \
        t = v[c->d] = EX(v[c->a], v[c->b]), c++;                            \
        r = v[c->d] = EY(v[c->a], t); break;                                \
    case SC_FOP(X, Y, 3):                                                   \
        t = v[c->d] = EX(v[c->a], v[c->b]), c++;                            \
        r = v[c->d] = EY(t, t); break;
#define SC_PAIRS(X, EX)                                                     \
    SC_PAIR(X, EX, SC_ADD, SC_ADD_) SC_PAIR(X, EX, SC_SUB, SC_SUB_)         \
    SC_PAIR(X, EX, SC_MUL, SC_MUL_) SC_PAIR(X, EX, SC_DIV, SC_DIV_)         \
    SC_PAIR(X, EX, SC_NEG, SC_NEG_)

/* A step run as it is: its operands from the values, its output back. */
#define SC_CALL_DEF(NAME, T)                                                \
    static T NAME(const sc_call *k, const T *v)                             \
    {                                                                       \
        for (int i = 0; i < 3; i++)                                         \
            if (k->in[i]) *(T *)k->in[i]->data = v[k->slot[i]];             \
        k->st.run(&k->st);                                                  \
        return *(const T *)k->st.y->data;                                   \
    }
SC_CALL_DEF(sc_call_f64, double)
SC_CALL_DEF(sc_call_f32, float)

/* Asks for var w's lines (header, value, grad) before they are needed: the
   tensors of scalar code are scattered, each its own allocation. */
#define SC_AHEAD 8
static inline void sc_prefetch(const sc_var *w)
{
#if defined(__GNUC__)
    __builtin_prefetch(w->x);
    if (w->data) __builtin_prefetch(w->data);
    if (w->gdata) __builtin_prefetch(w->gdata);
#else
    (void)w;
#endif
}

/* The inputs checked and loaded, the leaves' grads read (each accumulator
   holds its grad, or is empty when the grad is none, as ag_backward's sink
   finds it); 0 when something is not as at capture. */
#define SC_VARS_IN(T, G, V)                                                 \
    for (size_t i_ = 0; i_ < (G)->n_vars; i_++) {                           \
        const sc_var *w_ = &(G)->vars[i_];                                  \
        const ag_tensor *x_ = w_->x;                                        \
        if (i_ + SC_AHEAD < (G)->n_vars) sc_prefetch(&(G)->vars[i_ + SC_AHEAD]); \
        if (w_->data && (x_->data != w_->data || x_->ndim != w_->ndim ||    \
                         x_->dtype != (G)->dtype || x_->numel != 1))        \
            return 0;                                                       \
        if (w_->slot != NONE) (V)[w_->slot] = *(const T *)w_->data;         \
        if (w_->leaf != NONE) {                                             \
            const sc_leaf *l_ = &(G)->leaves[w_->leaf];                     \
            if (x_->grad != l_->grad) return 0;                             \
            (G)->empty[w_->leaf] = (x_->flags & AGI_GRAD_NONE) != 0;        \
            if (!(G)->empty[w_->leaf]) (V)[l_->slot] = *(const T *)l_->gdata; \
        }                                                                   \
    }

/* The stores, then each accumulator that took a gradient to its grad
   (empty 2: the grad was none and took one, its flag to clear). */
#define SC_OUT(T, G, V)                                                     \
    for (size_t i_ = 0; i_ < (G)->n_stores; i_++)                           \
        *(T *)(G)->stores[i_].data = (V)[(G)->stores[i_].slot];             \
    for (size_t j_ = 0; j_ < (G)->n_leaves; j_++) {                         \
        const sc_leaf *l_ = &(G)->leaves[j_];                               \
        if ((G)->empty[j_] == 1) continue;                                  \
        *(T *)l_->gdata = (V)[l_->slot];                                    \
        if ((G)->empty[j_]) l_->leaf->flags &= (uint8_t)~AGI_GRAD_NONE;     \
    }

/* Runs g on its value array of type T (SFX f32/f64). */
#define SC_RUN_DEF(NAME, T, SFX, INST, CODE)                                \
    static int NAME(agi_sc_prog *g)                                         \
    {                                                                       \
        T *v = g->vals, r = 0, t;                                           \
        SC_VARS_IN(T, g, v)                                                 \
        const INST *c = g->CODE, *e = c + g->n_code;                        \
        for (; c < e; c++) {                                                \
            switch (c->op) {                                                \
            SC_CASES(SC_ADD, SC_ADD_)                                       \
            SC_CASES(SC_SUB, SC_SUB_)                                       \
            SC_CASES(SC_MUL, SC_MUL_)                                       \
            SC_CASES(SC_DIV, SC_DIV_)                                       \
            SC_CASES(SC_NEG, SC_NEG_)                                       \
            SC_PAIRS(SC_ADD, SC_ADD_) SC_PAIRS(SC_SUB, SC_SUB_)             \
            SC_PAIRS(SC_MUL, SC_MUL_) SC_PAIRS(SC_DIV, SC_DIV_)             \
            SC_PAIRS(SC_NEG, SC_NEG_)                                       \
            case SC_SINK:                                                   \
                if (g->empty[c->d] == 1) {                                  \
                    v[c->b] = v[c->a];                                      \
                    g->empty[c->d] = 2;                                     \
                } else {                                                    \
                    v[c->b] = v[c->b] + v[c->a];                            \
                }                                                           \
                break;                                                      \
            case SC_FN: g->fns[c->b](g->dtype, &v[c->d], &v[c->a]); break;  \
            case SC_POW: agi_pow_value(g->dtype, &v[c->d], &v[c->a], v[c->b]); break; \
            default: v[c->d] = sc_call_##SFX(&g->calls[c->a], v); break;    \
            }                                                               \
        }                                                                   \
        SC_OUT(T, g, v)                                                     \
        return 1;                                                           \
    }
SC_RUN_DEF(sc_run_f64, double, f64, sc_inst, code)
SC_RUN_DEF(sc_run_f32, float, f32, sc_inst, code)
SC_RUN_DEF(sc_run16_f64, double, f64, sc_inst16, code16)
SC_RUN_DEF(sc_run16_f32, float, f32, sc_inst16, code16)

int agi_sc_run(agi_sc_prog *g)
{
    if (g->code16) return g->dtype == AG_F64 ? sc_run16_f64(g) : sc_run16_f32(g);
    return g->dtype == AG_F64 ? sc_run_f64(g) : sc_run_f32(g);
}

size_t agi_sc_size(const agi_sc_prog *g) { return g ? g->n_code : 0; }

void agi_sc_free(agi_sc_prog *g)
{
    if (!g) return;
    free(g->vals), free(g->code), free(g->code16), free(g->calls), free(g->vars);
    free(g->stores);
    free(g->leaves), free(g->empty);
    free(g);
}

/* -------------------------------------------------------- the compile --- */

enum { K_CONST, K_INPUT, K_VALUE, K_ACC };    /* what a slot holds */

/* An open-addressed map of 64-bit keys to slots or indices. */
typedef struct sc_map {
    uint64_t *keys;
    uint32_t *vals;         /* NONE: an empty cell */
    size_t mask;
    int shift;
} sc_map;

static int map_init(sc_map *m, size_t entries)
{
    size_t cap = 16;
    int shift = 60;
    while (cap < 2 * entries) cap *= 2, shift--;
    m->keys = malloc(cap * sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    m->mask = cap - 1;
    m->shift = shift;
    if (m->vals) memset(m->vals, 0xff, cap * sizeof *m->vals);
    return m->keys && m->vals;
}

/* The cell of key: where it is, or the empty cell where it goes. */
static size_t map_cell(const sc_map *m, uint64_t key)
{
    size_t h = (size_t)((key * 0x9E3779B97F4A7C15u) >> m->shift);
    while (m->vals[h] != NONE && m->keys[h] != key) h = (h + 1) & m->mask;
    return h;
}

static uint32_t map_get(const sc_map *m, uint64_t key) { return m->vals[map_cell(m, key)]; }

static void map_put(sc_map *m, uint64_t key, uint32_t val)
{
    size_t h = map_cell(m, key);
    m->keys[h] = key;
    m->vals[h] = val;
}

static uint64_t ptr_key(const void *p) { return (uint64_t)(uintptr_t)p; }

/* A compile's state. Raw slots (SSA: each written by one instruction at
   most, an accumulator by its sinks) are renumbered at the end. */
typedef struct sc_build {
    const agi_sc_source *src;
    int dt;
    sc_map bufs, cse, consts;   /* buffer or leaf header -> slot; (op, a, b) -> instruction;
                                   a constant's bits -> slot */
    uint8_t *kind;              /* by slot */
    double *init;               /* by slot: a constant's value */
    const void **home;          /* by slot: an input's own buffer */
    size_t n_slots, cap_slots;
    sc_inst *code;
    size_t n_code;
    sc_call *calls;
    size_t n_calls;
    sc_leaf *leaves;
    size_t n_leaves;
    agi_value_fn fns[SC_MAX_FNS];   /* SC_FN's functions, by the instruction's b */
    int n_fns;
} sc_build;

static uint32_t new_slot(sc_build *b, int kind, double init)
{
    if (b->n_slots == b->cap_slots) return NONE;
    b->kind[b->n_slots] = (uint8_t)kind;
    b->init[b->n_slots] = init;
    b->home[b->n_slots] = NULL;
    return (uint32_t)b->n_slots++;
}

/* The slot of constant s in the program's type (one per value). */
static uint32_t const_slot(sc_build *b, double s)
{
    double v = b->dt == AG_F64 ? s : (double)(float)s;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    uint32_t k = map_get(&b->consts, bits);
    if (k == NONE && (k = new_slot(b, K_CONST, v)) != NONE) map_put(&b->consts, bits, k);
    return k;
}

/* The slot x is read from: an input's, a step's result, or a constant's
   (a tape tensor no step wrote: its value now); NONE when x cannot be. */
static uint32_t sc_read(sc_build *b, const ag_tensor *x)
{
    if (!x || x->numel != 1 || x->dtype != b->dt) return NONE;
    uint32_t s = map_get(&b->bufs, ptr_key(x->data));
    if (s != NONE || !x->tape) return s;
    s = new_slot(b, K_CONST, b->dt == AG_F64 ? AGI_F64(x)[0] : (double)AGI_F32(x)[0]);
    if (s != NONE) map_put(&b->bufs, ptr_key(x->data), s);
    return s;
}

static double arith_f64(uint32_t op, double x, double y)
{
    switch (op) {
    case SC_ADD: return x + y;
    case SC_SUB: return x - y;
    case SC_MUL: return x * y;
    case SC_DIV: return x / y;
    default: return -x;
    }
}

static float arith_f32(uint32_t op, float x, float y)
{
    switch (op) {
    case SC_ADD: return x + y;
    case SC_SUB: return x - y;
    case SC_MUL: return x * y;
    case SC_DIV: return x / y;
    default: return -x;
    }
}

/* The slot of op(a, c) (c: a slot, or fn's number): a constant when the
   operands are (arithmetic), an earlier instruction's result when it did
   the same, else a new instruction's. NONE when out of slots. */
static uint32_t emit(sc_build *b, uint32_t op, uint32_t a, uint32_t c)
{
    if (op <= SC_NEG && b->kind[a] == K_CONST && (op == SC_NEG || b->kind[c] == K_CONST)) {
        double x = b->init[a], y = op == SC_NEG ? 0 : b->init[c];
        return const_slot(b, b->dt == AG_F64 ? arith_f64(op, x, y)
                                             : (double)arith_f32(op, (float)x, (float)y));
    }
    uint64_t key = (uint64_t)op << 58 | (uint64_t)a << 29 | c;
    uint32_t i = map_get(&b->cse, key);
    if (i != NONE) return b->code[i].d;
    uint32_t d = new_slot(b, K_VALUE, 0);
    if (d == NONE) return NONE;
    map_put(&b->cse, key, (uint32_t)b->n_code);
    b->code[b->n_code++] = (sc_inst){op, d, a, c};
    return d;
}

/* How an op's step maps to an instruction: opcode, operand form, fn. */
static const struct sc_form {
    const char *name;
    uint8_t op, form, fn;
} sc_forms[] = {
    {"ag_add", SC_ADD, F_AB, 0}, {"ag_grad (accumulate)", SC_ADD, F_AB, 0},
    {"ag_sub", SC_SUB, F_AB, 0}, {"ag_mul", SC_MUL, F_AB, 0}, {"ag_div", SC_DIV, F_AB, 0},
    {"ag_add_scalar", SC_ADD, F_AS, 0}, {"ag_sub_scalar", SC_SUB, F_AS, 0},
    {"ag_rsub_scalar", SC_SUB, F_SA, 0}, {"ag_mul_scalar", SC_MUL, F_AS, 0},
    {"ag_div_scalar", SC_DIV, F_AS, 0}, {"ag_rdiv_scalar", SC_DIV, F_SA, 0},
    {"ag_square", SC_MUL, F_AA, 0}, {"ag_neg", SC_NEG, F_A, 0},
    {"ag_reciprocal", SC_DIV, F_1A, 0}, {"ag_pow_scalar", SC_POW, F_AS, 0},
};
/* Any op with a one-element function (agi_op_value): exp, log, tanh, ... */
static const struct sc_form sc_form_fn = {"", SC_FN, F_FN, 0};

static const struct sc_form *form_of(const agi_step *st)
{
    for (size_t i = 0; st->op && i < sizeof sc_forms / sizeof *sc_forms; i++)
        if (!strcmp(st->op->name, sc_forms[i].name)) return &sc_forms[i];
    return st->op && agi_op_value(st->op->name) ? &sc_form_fn : NULL;
}

/* The index of op's one-element function in b->fns (added when new), or
   NONE when the program has SC_MAX_FNS already. */
static uint32_t fn_index(sc_build *b, agi_value_fn f)
{
    for (int i = 0; i < b->n_fns; i++)
        if (b->fns[i] == f) return (uint32_t)i;
    if (b->n_fns == SC_MAX_FNS) return NONE;
    b->fns[b->n_fns] = f;
    return (uint32_t)b->n_fns++;
}

/* Binds y's buffer (new: a step writes it once) to slot s; 0 if it cannot. */
static int bind(sc_build *b, const ag_tensor *y, uint32_t s)
{
    if (s == NONE || !y || y->numel != 1 || y->dtype != b->dt ||
        map_get(&b->bufs, ptr_key(y->data)) != NONE)
        return 0;
    map_put(&b->bufs, ptr_key(y->data), s);
    return 1;
}

/* A leaf's grad sink: leaves[k] accumulates a. */
static int add_sink(sc_build *b, const agi_step *st)
{
    ag_tensor *leaf = st->y, *gr = leaf->grad;
    uint32_t a = sc_read(b, st->a), acc = map_get(&b->bufs, ptr_key(leaf));
    if (a == NONE || !gr || gr->numel != 1 || gr->dtype != b->dt) return 0;
    if (acc == NONE) {                  /* the leaf's accumulator, keyed by its header */
        if ((acc = new_slot(b, K_ACC, (double)b->n_leaves)) == NONE) return 0;
        map_put(&b->bufs, ptr_key(leaf), acc);
        b->leaves[b->n_leaves++] = (sc_leaf){leaf, gr, gr->data, acc};
    }
    b->code[b->n_code++] = (sc_inst){SC_SINK, (uint32_t)b->init[acc], a, acc};
    return 1;
}

/* Any other step on one-element tensors, run as it is. */
static int add_call(sc_build *b, const agi_step *st)
{
    ag_tensor *in[3] = {st->a, st->b, st->c};
    sc_call k = {*st, {NULL, NULL, NULL}, {NONE, NONE, NONE}};
    for (int i = 0; i < 3; i++) {
        if (!in[i]) continue;
        uint32_t s = sc_read(b, in[i]);
        if (s == NONE) return 0;
        if (b->home[s] != in[i]->data) k.in[i] = in[i], k.slot[i] = s;   /* not an input's */
    }
    uint32_t d = new_slot(b, K_VALUE, 0);
    if (!bind(b, st->y, d)) return 0;
    b->calls[b->n_calls] = k;
    b->code[b->n_code++] = (sc_inst){SC_STEP, d, (uint32_t)b->n_calls++, 0};
    return 1;
}

/* Appends step st's instruction (or none: a copy, a known result); 0 when
   it cannot be one. */
static int add_step(sc_build *b, const agi_step *st)
{
    if (st->run == agi_plan_sink_step) return add_sink(b, st);
    if (st->run == agi_step_copy) return bind(b, st->y, sc_read(b, st->a));
    const struct sc_form *f = form_of(st);
    if (!f) return add_call(b, st);
    uint32_t a = f->form == F_1A ? const_slot(b, 1) : sc_read(b, st->a), c = a;
    uint32_t x = f->form == F_1A ? sc_read(b, st->a) : a;
    if (f->form == F_AB) c = sc_read(b, st->b);
    if (f->form == F_AS || f->form == F_SA) c = const_slot(b, st->s);
    if (f->form == F_SA) c = a, a = const_slot(b, st->s);
    if (f->form == F_1A) c = x;
    if (f->form == F_FN) c = fn_index(b, agi_op_value(st->op->name));
    if (a == NONE || c == NONE) return 0;
    return bind(b, st->y, emit(b, f->op, a, c));
}

/* The slots instruction c reads (NONE where none); its call's for a step. */
static void reads_of(const sc_inst *c, const sc_call *calls, uint32_t r[3])
{
    r[0] = r[1] = r[2] = NONE;
    switch (c->op & 15) {
    case SC_STEP: memcpy(r, calls[c->a].slot, 3 * sizeof *r); break;
    case SC_FN: r[0] = c->a; break;
    case SC_NEG: r[0] = c->a; break;
    default: r[0] = c->a, r[1] = c->b; break;     /* SC_SINK's b: its accumulator */
    }
}

/* The slot a run must store into y's buffer, or NONE: y is not on the
   tape, or holds its value already (a constant, an input's own buffer). */
static uint32_t store_slot(const sc_build *b, const ag_tensor *y)
{
    uint32_t s = y && y->tape ? map_get(&b->bufs, ptr_key(y->data)) : NONE;
    if (s == NONE || b->kind[s] == K_CONST || b->home[s] == y->data) return NONE;
    return s;
}

#define UNUSED (SIZE_MAX - 1)     /* last[s]: no instruction reads s */
#define AT_END SIZE_MAX            /* last[s]: read at the end of a run */

/* Drops the instructions whose result nobody reads (sinks stay); last[s]
   becomes the last instruction reading slot s, AT_END for a slot read at
   the end (stored, an accumulator), UNUSED. live: a byte per instruction. */
static void drop_dead(sc_build *b, size_t *last, uint8_t *live)
{
    const agi_sc_source *src = b->src;
    uint32_t r[3];
    for (size_t s = 0; s < b->n_slots; s++) last[s] = b->kind[s] == K_ACC ? AT_END : UNUSED;
    for (int k = -1; k < src->n_wrt; k++) {
        uint32_t s = store_slot(b, k < 0 ? src->output : src->grads[k]);
        if (s != NONE) last[s] = AT_END;
    }
    for (size_t i = b->n_code; i-- > 0;) {
        const sc_inst *c = &b->code[i];
        live[i] = c->op == SC_SINK || last[c->d] != UNUSED;
        reads_of(c, b->calls, r);
        for (int j = 0; live[i] && j < 3; j++)
            if (r[j] != NONE && last[r[j]] == UNUSED) last[r[j]] = 0;   /* read */
    }
    size_t out = 0;
    for (size_t i = 0; i < b->n_code; i++)
        if (live[i]) b->code[out++] = b->code[i];
    b->n_code = out;
    for (size_t i = 0; i < b->n_code; i++) {            /* the last reads, in order */
        reads_of(&b->code[i], b->calls, r);
        for (int j = 0; j < 3; j++)
            if (r[j] != NONE && last[r[j]] != AT_END) last[r[j]] = i;
    }
}

/* Renumbers the slots (map: old to new): the constants, accumulators and
   inputs read first, then each value in a slot a dead value freed; the
   code is rewritten with the new numbers and its register forms. Returns
   the number of slots. fl: room for the free list. */
static size_t renumber(sc_build *b, const size_t *last, uint32_t *map, uint32_t *fl)
{
    size_t n = 0, n_fl = 0;
    uint32_t r[3];
    for (size_t s = 0; s < b->n_slots; s++)
        map[s] = b->kind[s] != K_VALUE && last[s] != UNUSED ? (uint32_t)n++ : NONE;
    for (size_t i = 0; i < b->n_code; i++) {
        sc_inst *c = &b->code[i];
        const uint32_t op = c->op;
        reads_of(c, b->calls, r);
        if (op == SC_STEP)
            for (int j = 0; j < 3; j++) b->calls[c->a].slot[j] = r[j] == NONE ? NONE : map[r[j]];
        else
            c->a = map[c->a];
        if (op != SC_STEP && op != SC_FN) c->b = op == SC_NEG ? c->a : map[c->b];
        if (op != SC_SINK) c->d = map[c->d] = n_fl ? fl[--n_fl] : (uint32_t)n++;
        for (int j = 0; j < 3; j++)                 /* the operands read for the last time */
            if (r[j] != NONE && last[r[j]] == i && b->kind[r[j]] != K_CONST &&
                (j == 0 || r[j] != r[j - 1]) && (j < 2 || r[j] != r[0]))
                fl[n_fl++] = map[r[j]];
        const sc_inst *p = i ? &b->code[i - 1] : NULL;
        if (p && (p->op & 15) <= SC_NEG && op <= SC_NEG)
            c->op |= (c->a == p->d ? SC_PA : 0) | (c->b == p->d ? SC_PB : 0);
    }
    return n;
}

/* Marks each arithmetic instruction whose result the next one reads from
   the register as the first of a pair (the pair runs as one), unless it
   reads the register itself (a pair's first reads memory: in a chain of
   dependent ops that would add a store-to-load delay to every op). */
static void pair_up(sc_inst *code, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        const uint32_t x = code[i].op & 15, y = code[i + 1].op;
        const uint32_t f = (y & SC_PA ? 1 : 0) | (y & SC_PB ? 2 : 0);
        if (code[i].op > SC_NEG || (y & 15) > SC_NEG || y >= SC_FUSE || !f)
            continue;
        code[i].op = SC_FOP(x, y & 15, f);
        i++;                                    /* y is the pair's: not a first */
    }
}

/* *p (room for n_steps items) cut to its n items, taken from the build. */
static void *shrink(void *p, size_t n, size_t size)
{
    void **pp = p, *q = realloc(*pp, n ? n * size : 1);
    if (!q) q = *pp;                        /* keeps the larger block */
    *pp = NULL;
    return q;
}

/* The program, once the code is final: values, stores, leaves, vars; NULL
   when out of memory. */
static agi_sc_prog *finish(sc_build *b, const size_t *last, const uint32_t *map, size_t n)
{
    const agi_sc_source *src = b->src;
    agi_sc_prog *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->dtype = b->dt;
    memcpy(g->fns, b->fns, sizeof g->fns);
    g->vals = calloc(n ? n : 1, agi_dtype_size(b->dt));
    g->stores = malloc((size_t)(src->n_wrt + 1) * sizeof *g->stores);
    g->vars = malloc(((size_t)src->n_inputs + b->n_leaves + 1) * sizeof *g->vars);
    g->empty = malloc(b->n_leaves + 1);
    if (!g->vals || !g->stores || !g->vars || !g->empty) return agi_sc_free(g), NULL;
    for (size_t s = 0; s < b->n_slots; s++) {
        if (b->kind[s] != K_CONST || map[s] == NONE) continue;
        if (b->dt == AG_F64)
            ((double *)g->vals)[map[s]] = b->init[s];
        else
            ((float *)g->vals)[map[s]] = (float)b->init[s];
    }
    for (int k = -1; k < src->n_wrt; k++) {
        ag_tensor *y = k < 0 ? src->output : src->grads[k];
        uint32_t s = store_slot(b, y);
        if (s != NONE) g->stores[g->n_stores++] = (sc_io){map[s], y->data};
    }
    for (int i = 0; i < src->n_inputs; i++) {
        const agi_plan_input *in = &src->inputs[i];
        uint32_t s = map_get(&b->bufs, ptr_key(in->data));
        g->vars[g->n_vars++] = (sc_var){in->x, in->data, NULL,
                                        last[s] == UNUSED ? NONE : map[s], NONE, in->ndim};
    }
    g->n_checked = g->n_vars;
    for (size_t j = 0; j < b->n_leaves; j++) {
        sc_leaf *l = &b->leaves[j];
        l->slot = map[l->slot];
        size_t lo = 0, hi = g->n_checked;       /* the inputs are sorted by x */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if ((uintptr_t)g->vars[mid].x < (uintptr_t)l->leaf) lo = mid + 1;
            else hi = mid;
        }
        if (lo == g->n_checked || g->vars[lo].x != l->leaf) {   /* a leaf made on the tape */
            lo = g->n_vars;
            g->vars[g->n_vars++] = (sc_var){l->leaf, NULL, NULL, NONE, NONE, 0};
        }
        g->vars[lo].leaf = (uint32_t)j;
        g->vars[lo].gdata = l->gdata;
    }
    g->code = b->code, g->n_code = b->n_code, b->code = NULL;
    if (n <= UINT16_MAX && b->n_leaves <= UINT16_MAX && b->n_calls <= UINT16_MAX &&
        (g->code16 = malloc((g->n_code + 1) * sizeof *g->code16)) != NULL) {
        for (size_t i = 0; i < g->n_code; i++) {    /* short form: half the bytes to read */
            const sc_inst *c = &g->code[i];
            g->code16[i] = (sc_inst16){(uint16_t)c->op, (uint16_t)c->d, (uint16_t)c->a,
                                       (uint16_t)c->b};
        }
        free(g->code);
        g->code = NULL;
    }
    g->calls = shrink(&b->calls, b->n_calls, sizeof *b->calls), g->n_calls = b->n_calls;
    g->leaves = shrink(&b->leaves, b->n_leaves, sizeof *b->leaves), g->n_leaves = b->n_leaves;
    return g;
}

/* The build's arrays for n steps and cap slots; 0 when out of memory. */
static int build_init(sc_build *b, size_t n, size_t cap)
{
    b->cap_slots = cap;
    b->kind = malloc(cap);
    b->init = malloc(cap * sizeof *b->init);
    b->home = malloc(cap * sizeof *b->home);
    b->code = malloc(n * sizeof *b->code);
    b->calls = malloc(n * sizeof *b->calls);
    b->leaves = malloc(n * sizeof *b->leaves);
    return b->kind && b->init && b->home && b->code && b->calls && b->leaves &&
           map_init(&b->bufs, cap) && map_init(&b->cse, n) && map_init(&b->consts, cap);
}

static void build_free(sc_build *b)
{
    free(b->kind), free(b->init), free(b->home), free(b->code), free(b->calls);
    free(b->leaves);
    sc_map *m[3] = {&b->bufs, &b->cse, &b->consts};
    for (int i = 0; i < 3; i++) free(m[i]->keys), free(m[i]->vals);
}

/* The inputs' slots (each one element of the program's dtype); 0 if not. */
static int seed_inputs(sc_build *b)
{
    for (int i = 0; i < b->src->n_inputs; i++) {
        const agi_plan_input *in = &b->src->inputs[i];
        if (in->x->numel != 1 || in->dtype != b->dt) return 0;
        if (map_get(&b->bufs, ptr_key(in->data)) != NONE) continue;
        uint32_t s = new_slot(b, K_INPUT, 0);
        if (s == NONE) return 0;
        b->home[s] = in->data;
        map_put(&b->bufs, ptr_key(in->data), s);
    }
    return 1;
}

agi_sc_prog *agi_sc_compile(const agi_sc_source *src)
{
    const size_t n = src->n_steps, cap = 3 * n + (size_t)src->n_inputs + 2;
    if (!n || !src->steps[0].y || cap >= ((size_t)1 << 29)) return NULL;
    sc_build b = {.src = src, .dt = src->steps[0].y->dtype};
    agi_sc_prog *g = NULL;
    int ok = build_init(&b, n, cap) && seed_inputs(&b);
    for (size_t i = 0; ok && i < n; i++) ok = add_step(&b, &src->steps[i]);
    size_t *last = ok ? malloc(b.n_slots * sizeof *last) : NULL;
    uint32_t *map = ok ? malloc(2 * b.n_slots * sizeof *map) : NULL;
    uint8_t *live = ok ? malloc(b.n_code + 1) : NULL;
    if (last && map && live) {
        drop_dead(&b, last, live);
        size_t n_slots = renumber(&b, last, map, map + b.n_slots);
        pair_up(b.code, b.n_code);
        g = finish(&b, last, map, n_slots);
    }
    free(last), free(map), free(live);
    build_free(&b);
    return g;
}
