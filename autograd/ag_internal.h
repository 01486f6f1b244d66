/*
** ag_internal.h: what autograd/ and ops/ share and users never see.
** The tensor and node layouts, the tape's arena, op definitions, error
** helpers, the broadcast iterator and the dtype templating macros.
** nn/, optim/, examples/ and bench/ must not include this file.
*/
#ifndef AG_INTERNAL_H
#define AG_INTERNAL_H

#include "ag_core.h"
#include "ag_plan.h"
#include <stdarg.h>

/*
** A tensor's header: 128 bytes, the fields every op reads in its first 64
** (a 0-d tensor touches one cache line; tape headers are 64-aligned). A
** tape tensor of at most 8 bytes keeps its data in inl: a scalar costs no
** arena line of its own.
*/
struct ag_tensor {
    void *data;             /* inl.bytes for a small tape tensor */
    ag_tape *tape;          /* owner; NULL when persistent */
    uint64_t gen;           /* the tape's generation when made */
    int64_t numel;
    ag_tensor *grad;        /* leaf grad, owned by this tensor */
    int32_t node;           /* index of the node that made it; -1 for leaves */
    uint8_t ndim;
    uint8_t dtype;
    uint8_t requires_grad;
    uint8_t flags;          /* AGI_OWNS_DATA, AGI_GRAD_NONE, AGI_GRAD_ADDS */
    union {                 /* data of a tape tensor of at most 8 bytes */
        double f64;
        float f32[2];
        unsigned char bytes[8];
    } inl;
    int64_t shape[AG_MAX_DIMS];
    char pad_[8];           /* to 128 bytes: two whole lines */
};

/* ag_tensor.flags. One byte written whole when a header is made: a
   bit-field there would be a read of a line not yet in cache, every op. */
enum {
    AGI_OWNS_DATA = 1,      /* persistent tensors free their data */
    AGI_GRAD_NONE = 2,      /* grad's buffer kept, its value none (ag_clear_grad) */
    AGI_GRAD_ADDS = 4       /* a hint: a leaf of at least AGI_ADDS_MIN elements whose
                               grad ag_backward filled; a rule may add into it */
};

/* Leaves this large get AGI_GRAD_ADDS: below, a rule adding into the
   grad in place saves less than the walk spends looking. */
#define AGI_ADDS_MIN 4096

typedef struct agi_node agi_node;

/*
** An op's backward rule, written with ops. gy is d loss / d out (out's
** shape). For each input i with need[i] set, the rule stores in gx[i] a
** tensor of in[i]'s shape (the engine accumulates it); it leaves the others
** NULL. On failure it returns NULL tensors and the tape holds the error.
** A rule may write gx[i] straight into agi_grad_into(t, i) when that is
** not NULL (see there).
*/
typedef void (*agi_backward_fn)(ag_tape *t, const agi_node *n, ag_tensor *gy,
                                ag_tensor **gx, const uint8_t *need);

/*
** An op's forward-mode (JVP) rule, written with ops (so the tangent is
** itself differentiable). tx[i] is the tangent of input i, of in[i]'s
** shape and dtype (zeros when that input's tangent is zero; ag_jvp runs
** no rule when every one is). Returns the tangent of out, of out's shape
** and dtype, or NULL with the tape in error. NULL in agi_op.jvp: ag_jvp
** refuses the op ("ag_jvp: op X has no forward-mode rule").
*/
typedef ag_tensor *(*agi_jvp_fn)(ag_tape *t, const agi_node *n, ag_tensor *const *tx);
/* The forward-mode rule of an identity op (y = x): ty = tx[0]. */
ag_tensor *agi_jvp_identity(ag_tape *t, const agi_node *n, ag_tensor *const *tx);

/*
** A node's scalar rule, for the walk's scalar path (backward.c): when the
** op's output and every input are one element and the walk runs without
** create_graph (grad mode off), no plan captures and anomaly mode is off,
** the walk keeps a node's gradient as a value (agi_sval, in the node's
** dtype) and calls this instead of the op's rule: from gy it stores
** d loss / d in[j] in gx[j] for every input j (needed or not), computed in
** that dtype with the operations the op's own rule would run (the same
** bits), making no tensor. An op sets it on its node (n->scalar, with
** n->src) when the output is one element: ops/binary.c, ops/unary.c.
*/
typedef union agi_sval {
    double f64;
    float f32;
} agi_sval;
typedef void (*agi_scalar_fn)(const agi_node *n, agi_sval gy, agi_sval *gx);

typedef struct agi_op {
    const char *name;           /* the public function, "ag_matmul" */
    agi_backward_fn backward;
    agi_jvp_fn jvp;             /* forward mode (autograd/jvp.c) */
} agi_op;

/* y = f(x) on one element of dtype dt, bit for bit as the op's kernel
   computes it: what a scalar plan program (plan_scalar.c) runs for an
   elementwise op of one input, so the core runs the op's math without
   knowing it. */
typedef void (*agi_value_fn)(int dt, void *y, const void *x);

/* The op's one-element function, by the op's name ("ag_exp"), or NULL
   when it has none. Defined with the ops (ops/unary.c). */
agi_value_fn agi_op_value(const char *name);
/* y = x^p on one element, as ag_pow_scalar's kernel computes it (ops/unary.c). */
void agi_pow_value(int dt, void *y, const void *x, double p);

#define AGI_NODE_INLINE 4     /* inputs kept in the node itself */

/*
** A node: 128 bytes, 64-aligned in its chunk. The first line holds all the
** walk's scalar path reads (a scalar node's inputs are in in_inline); the
** second what the ops' own rules read.
*/
struct agi_node {
    ag_tensor *out;
    agi_scalar_fn scalar;   /* the scalar rule, or NULL (see agi_scalar_fn) */
    int32_t src[2];         /* with scalar: in[j]'s node, or -1 for a leaf (and
                               src[1] -1 for one input), so the walk routes
                               without reading the inputs' headers */
    union {
        ag_tensor *in_inline[AGI_NODE_INLINE];
        struct {                    /* a scalar node (n_in <= 2) */
            ag_tensor *in_scalar_[2];
            agi_sval val[2];        /* operand values when recorded, for the
                                       scalar rule: a and b, or x and y */
        };
    };
    int32_t n_in;
    uint8_t dtype;          /* with scalar: the node's dtype */
    uint8_t pad_[3];
    const agi_op *op;
    ag_tensor **in;         /* n_in inputs: in_inline, or the arena if more */
    int32_t iparam[4];      /* axes, flags */
    double fparam[2];       /* scalars (slope, exponent, bounds) */
    const void *aux;        /* op-owned data in the arena (indices, perm) */
    ag_tensor *saved;       /* an extra constant tensor (a mask, an argmax) */
};

#define AGI_MSG_LEN 512

typedef struct agi_block {
    char *base;
    size_t cap, used;
} agi_block;

#define AGI_HCHUNK 256              /* tensor headers per chunk */

typedef struct agi_hpool {          /* tensor headers, never moved */
    ag_tensor **chunks;
    int nchunks, cap_chunks;
    size_t used;                    /* headers handed out this generation */
} agi_hpool;

struct ag_tape {
    agi_block *blocks;              /* data arena; coalesced on reset */
    int nblocks, cap_blocks, cur;
    agi_hpool pools[2];             /* headers: pools alternate by generation */
    agi_node **node_chunks;         /* nodes in fixed chunks: never moved */
    int32_t n_nodes, cap_nodes;     /* cap_nodes = chunks * AGI_NODE_CHUNK */
    uint64_t gen;
    uint64_t n_ops;                 /* ops run this generation (recorded or not) */
    ag_tensor **gacc;               /* backward scratch, kept across resets */
    agi_sval *sval;                 /* the walk's scalar path: gradients as values */
    ag_tensor **grad_into;          /* while a rule runs: see agi_grad_into */
    const uint8_t *grad_adds;       /* with grad_into: see agi_grad_adds_into */
    uint8_t *mark;
    size_t cap_scratch;
    const char *fn;                 /* the op allocating now, for out-of-memory messages */
    int32_t rule_node;              /* the node whose backward rule runs, or -1 */
    ag_status status;
    uint8_t grad_enabled;
    uint8_t anomaly;
    uint8_t in_backward;
    ag_plan *plan;                  /* the plan capturing this tape's kernels, or NULL */
    char msg[AGI_MSG_LEN];
    ag_tape *sub;                   /* scratch tape of ag_recompute, made on first use */
};

#define AGI_NODE_CHUNK 1024
/* Node i of the tape. */
#define AGI_NODE(t, i) \
    (&(t)->node_chunks[(uint32_t)(i) / AGI_NODE_CHUNK][(uint32_t)(i) % AGI_NODE_CHUNK])

/* ------------------------------------------------------------- memory --- */

#define AGI_ALIGN 64                /* tape data alignment, bytes */

/* AGI_ALIGN-aligned tape memory; NULL + error. The common case (it fits in
   the current block) is inline: every op allocates. */
void *agi_alloc_slow(ag_tape *t, size_t bytes);
static inline void *agi_alloc(ag_tape *t, size_t bytes)
{
    size_t need = (bytes + AGI_ALIGN - 1) & ~(size_t)(AGI_ALIGN - 1);
    if (need >= bytes && t->cur < t->nblocks) {
        agi_block *b = &t->blocks[t->cur];
        if (b->cap - b->used >= need) {
            void *p = b->base + b->used;
            b->used += need;
            return p;
        }
    }
    return agi_alloc_slow(t, bytes);
}
/* The op whose memory the tape is finding, for messages ("ag_tape" when
   none has said). */
static inline const char *agi_fn(const ag_tape *t) { return t->fn ? t->fn : "ag_tape"; }
/* A new tape tensor, data uninitialised; NULL (error set) on failure. */
ag_tensor *agi_new(ag_tape *t, const char *fn, ag_dtype dt, int ndim,
                   const int64_t *shape);
static inline size_t agi_dtype_size(int dt) { return dt == AG_F64 ? sizeof(double) : sizeof(float); }
ag_tensor *agi_new_like_slow(ag_tape *t, const char *fn, const ag_tensor *x);
/* A tape tensor of x's shape and dtype (x a valid tensor: nothing to
   check). Inline for the case of every scalar op: its data fits in the
   header and the header chunk has room, so it cannot fail. */
static inline ag_tensor *agi_new_like(ag_tape *t, const char *fn, const ag_tensor *x)
{
    agi_hpool *p = &t->pools[t->gen & 1];
    if (x->numel * (int64_t)agi_dtype_size(x->dtype) > (int64_t)sizeof x->inl ||
        p->used >= (size_t)p->nchunks * AGI_HCHUNK)
        return agi_new_like_slow(t, fn, x);
    ag_tensor *y = &p->chunks[p->used / AGI_HCHUNK][p->used % AGI_HCHUNK];
    p->used++;
    y->data = y->inl.bytes;
    y->tape = t;
    y->gen = t->gen;
    y->numel = x->numel;
    y->grad = NULL;
    y->node = -1;
    y->ndim = x->ndim;
    y->dtype = x->dtype;
    y->requires_grad = 0;
    y->flags = 0;
    for (int i = 0; i < x->ndim; i++) y->shape[i] = x->shape[i];
    return y;
}
/* A tape tensor of the given shape (same element count as x, checked by
   the caller) sharing x's data: the zero-copy reshapes. NULL (error set,
   naming fn) when out of memory. */
ag_tensor *agi_view(ag_tape *t, const char *fn, ag_tensor *x, int ndim, const int64_t *shape);
/* Records why shape (which agi_numel refused) is refused, naming fn, on t
   or (t NULL) in ag_last_error(); returns NULL. */
void *agi_bad_shape(ag_tape *t, const char *fn, int ndim, const int64_t *shape);
/* "f32" or "f64", for messages. */
static inline const char *agi_dtype_name(int dt) { return dt == AG_F64 ? "f64" : "f32"; }

/* --------------------------------------------------- checked arithmetic --- */
/*
** Element counts and byte sizes come from these helpers and nowhere else:
** no op or loader multiplies dims by hand. A tensor's shape is accepted by
** agi_numel (ag_shape_numel's rule: the product of its non-zero dims is at
** most AG_NUMEL_MAX), so any product of some of its dims fits, and
** agi_dims_prod and agi_bytes of a tensor's own dims need no check. Counts
** not yet known to fit (a target shape, a file's dims, a sum of dims) go
** through agi_numel or agi_mul, which check.
*/

/* a * b, or -1 when a or b is negative or the product is more than
   INT64_MAX (ag_size_mul). */
static inline int64_t agi_mul(int64_t a, int64_t b)
{
    if (a < 0 || b < 0) return -1;
#if defined(__GNUC__)
    int64_t p;
    return __builtin_mul_overflow(a, b, &p) ? -1 : p;
#else
    return b && a > INT64_MAX / b ? -1 : a * b;
#endif
}

/* The element count of ndim dims (0 <= ndim <= AG_MAX_DIMS, shape given
   when ndim > 0), or -1 when a dim is negative or the product of the
   non-zero dims is more than AG_NUMEL_MAX (ag_shape_numel). */
static inline int64_t agi_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    int zero = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] == 0) {
            zero = 1;
            continue;
        }
        n = agi_mul(n, shape[i]);
        if (n < 0 || n > AG_NUMEL_MAX) return -1;
    }
    return zero ? 0 : n;
}

/* The product of dims [from, to) of an accepted shape (a tensor's): 1 when
   empty; it fits by the rule above. */
static inline int64_t agi_dims_prod(const int64_t *shape, int from, int to)
{
    int64_t p = 1;
    for (int d = from; d < to; d++) p *= shape[d];
    return p;
}

/* The bytes of count elements of dtype dt, count a tensor's element count
   or a part of one (at most AG_NUMEL_MAX: it fits). */
static inline size_t agi_bytes(int64_t count, int dt)
{
    return (size_t)count * agi_dtype_size(dt);
}

/* ------------------------------------------------------------- errors --- */

/* Records the first error on t (printf-style message); returns NULL. */
void *agi_fail(ag_tape *t, ag_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Writes "[2,3]" into buf (at least 96 bytes); returns buf. */
char *agi_shape_str(const ag_tensor *x, char *buf);
char *agi_dims_str(int ndim, const int64_t *shape, char *buf);

/*
** Checks that an op may run on t with input x: t not in error, x not NULL,
** x persistent or of this tape and generation. Returns 1 if fine; else
** records the error (naming fn and argument name) and returns 0. With no
** tape the message ("fn: tape is NULL") goes to ag_last_error(): the one
** argument check of every op, so every refusal leaves a message.
*/
int agi_check_fail(ag_tape *t, const char *fn, const char *arg, const ag_tensor *x);
/* Records "fn: tape is NULL" in ag_last_error(); returns AG_ERR_ARG. */
ag_status agi_no_tape(const char *fn);
static inline int agi_check(ag_tape *t, const char *fn, const char *arg, const ag_tensor *x)
{
    if (t && t->status == AG_OK && x && (!x->tape || (x->tape == t && x->gen == t->gen)))
        return 1;
    return agi_check_fail(t, fn, arg, x);
}
/* Both checks plus equal dtypes. */
int agi_check2_fail(ag_tape *t, const char *fn, const ag_tensor *a, const ag_tensor *b);
static inline int agi_check2(ag_tape *t, const char *fn, const ag_tensor *a,
                             const ag_tensor *b)
{
    if (agi_check(t, fn, "a", a) && agi_check(t, fn, "b", b) && a->dtype == b->dtype) return 1;
    return agi_check2_fail(t, fn, a, b);
}
/* Normalises a possibly negative axis for ndim dims; -1 + error if bad. */
int agi_axis(ag_tape *t, const char *fn, int axis, int ndim);

/* ------------------------------------------------------------ the tape --- */

/*
** Called by an op after its forward kernel: sets out->requires_grad and,
** when grad mode is on and an input requires grad, appends a node for op
** with these inputs. Returns the node, so the op can store parameters, or
** NULL when nothing was recorded (or on error: check t->status).
*/
/* Fills node n (the tape's next) for op with inputs ins (already stored)
   and makes it out's node. */
static inline agi_node *agi_node_fill(ag_tape *t, agi_node *n, const agi_op *op, ag_tensor *out,
                                      ag_tensor **ins, int n_in)
{
    n->op = op;
    n->out = out;
    n->in = ins;
    n->n_in = n_in;
    n->iparam[0] = n->iparam[1] = n->iparam[2] = n->iparam[3] = 0;
    n->fparam[0] = n->fparam[1] = 0;
    n->aux = NULL;
    n->saved = NULL;
    n->scalar = NULL;
    out->node = t->n_nodes++;
    return n;
}
agi_node *agi_record_node(ag_tape *t, const agi_op *op, ag_tensor *out, int n_in,
                          ag_tensor *const *in);
static inline agi_node *agi_record(ag_tape *t, const agi_op *op, ag_tensor *out, int n_in,
                                   ag_tensor *const *in)
{
    uint8_t req = 0;
    if (t->grad_enabled)
        for (int i = 0; i < n_in; i++) {
            const ag_tensor *x = in[i];
            req |= x ? x->requires_grad : 0;
        }
    out->requires_grad = req;
    if (!req || n_in > AGI_NODE_INLINE || t->n_nodes == t->cap_nodes || t->plan)
        return agi_record_node(t, op, out, req ? n_in : 0, in);   /* counts the op */
    t->n_ops++;
    agi_node *n = AGI_NODE(t, t->n_nodes);
    for (int i = 0; i < n_in; i++) n->in_inline[i] = in[i];
    return agi_node_fill(t, n, op, out, n->in_inline, n_in);
}
/*
** Defines scalar rule NAME (agi_scalar_fn) of a binary op: gx[0] = G0,
** gx[1] = G1, of gy_, a and b (n->val, the operands' values when recorded)
** as values of type T, the node's dtype; and of a one-input op: gx[0] =
** G0 of gy_, x and y (n->val) and s (fparam[0], rounded to T as kernels
** do). The rule reads the node only: no tensor header.
*/
#define AGI_SCALAR_RULE2(NAME, G0, G1)                                     \
    static void NAME(const agi_node *n, agi_sval g_, agi_sval *gx)        \
    {                                                                      \
        if (n->dtype == AG_F64) {                                          \
            typedef double T;                                              \
            const T gy_ = g_.f64, a = n->val[0].f64, b = n->val[1].f64;    \
            (void)a, (void)b;                                              \
            gx[0].f64 = (T)(G0);                                           \
            gx[1].f64 = (T)(G1);                                           \
        } else {                                                           \
            typedef float T;                                               \
            const T gy_ = g_.f32, a = n->val[0].f32, b = n->val[1].f32;    \
            (void)a, (void)b;                                              \
            gx[0].f32 = (T)(G0);                                           \
            gx[1].f32 = (T)(G1);                                           \
        }                                                                  \
    }
#define AGI_SCALAR_RULE1(NAME, G0)                                         \
    static void NAME(const agi_node *n, agi_sval g_, agi_sval *gx)        \
    {                                                                      \
        if (n->dtype == AG_F64) {                                          \
            typedef double T;                                              \
            const T gy_ = g_.f64, x = n->val[0].f64, y = n->val[1].f64;    \
            const T s = (T)n->fparam[0];                                   \
            (void)x, (void)y, (void)s;                                     \
            gx[0].f64 = (T)(G0);                                           \
        } else {                                                           \
            typedef float T;                                               \
            const T gy_ = g_.f32, x = n->val[0].f32, y = n->val[1].f32;    \
            const T s = (T)n->fparam[0];                                   \
            (void)x, (void)y, (void)s;                                     \
            gx[0].f32 = (T)(G0);                                           \
        }                                                                  \
    }
/* The value of one-element tensor x (either dtype). */
static inline agi_sval agi_sval_of(const ag_tensor *x)
{
    agi_sval v;
    if (x->dtype == AG_F64)
        v.f64 = *(const double *)x->data;
    else
        v.f32 = *(const float *)x->data;
    return v;
}

/* Ends an op: anomaly check of out; returns out, or NULL if t is in error. */
ag_tensor *agi_done_check(ag_tape *t, const agi_op *op, ag_tensor *out);

/*
** Inside a backward rule: the grad buffer of input i (a leaf whose grad
** ag_clear_grad set to none, in ag_backward without create_graph: grad
** mode is off), which the rule may fill with input i's gradient and
** store in gx[i], sparing the engine a copy; or NULL.
*/
static inline ag_tensor *agi_grad_into(const ag_tape *t, int i)
{
    return t->grad_into && !t->grad_adds[i] ? t->grad_into[i] : NULL;
}

/*
** The same for a rule that can also add into a grad: the buffer of input
** i, also when it already holds a value (a large leaf used again, as a
** recurrent layer's weight at every step), *adds set then: the rule adds
** input i's gradient into the buffer (C += A B) instead of writing it,
** and stores the buffer in gx[i]. NULL when there is none.
*/
static inline ag_tensor *agi_grad_adds_into(const ag_tape *t, int i, int *adds)
{
    *adds = t->grad_into ? t->grad_adds[i] : 0;
    return t->grad_into ? t->grad_into[i] : NULL;
}
static inline ag_tensor *agi_done(ag_tape *t, const agi_op *op, ag_tensor *out)
{
    if (t->status != AG_OK) return NULL;
    return t->anomaly ? agi_done_check(t, op, out) : out;
}

/* -------------------------------------------------------------- plans --- */

/*
** While a plan captures a tape (t->plan set, ag_plan.h), each op that runs
** a kernel logs a step: the function that re-runs that kernel and its
** operands. An op that logs nothing cannot be replayed: agi_record (or,
** for ops that record no node, the end of the capture) refuses the plan.
*/
typedef void (*agi_fnptr)(void);      /* a kernel, cast back by its step */
typedef struct agi_step agi_step;
typedef void (*agi_step_fn)(const agi_step *s);
struct agi_step {
    agi_step_fn run;
    agi_fnptr kernel;
    ag_tensor *y;                     /* written */
    ag_tensor *a, *b, *c;             /* read (b, c may be NULL) */
    double s, s2;                     /* the op's scalars */
    void *aux;                        /* op data on the plan's tape (a geometry, indices) */
    const agi_op *op;                 /* an elementwise op's definition, else NULL */
};

/* Logs the step of the op now running (the kernel it ran, its operands);
   counts as that op's replay. Engine work that is no op (a leaf's grad
   sink) passes op 0. Out of memory fails the capture, not the op. Returns
   the step (valid until the next log), for an op to set c and aux, or
   NULL (nothing to run, or out of memory). */
agi_step *agi_plan_log(ag_tape *t, int op, agi_step_fn run, agi_fnptr kernel, ag_tensor *y,
                       ag_tensor *a, ag_tensor *b, double s, double s2);
/* Notes x (an operand of the logged step, persistent or not) as an input
   of the plan when persistent; 0 (the capture refused) when out of memory. */
void agi_plan_operand(ag_tape *t, ag_tensor *x);
/* Copies count bytes of the op's data (a geometry) onto the plan's tape
   for a step's aux; NULL (the capture refused) when out of memory. */
void *agi_plan_keep(ag_tape *t, const void *data, size_t bytes);
/* Shared replays: y = a, byte for byte (a copy with a new shape); and
   kernel(a, y) for a kernel of type agi_xy_kernel. */
typedef void (*agi_xy_kernel)(const ag_tensor *x, ag_tensor *y);
void agi_step_copy(const agi_step *s);
void agi_step_xy(const agi_step *s);
/* The replay of a leaf's grad sink (backward.c): adds a (the gradient) into
   leaf y's .grad, or copies it there when the grad is none. */
void agi_plan_sink_step(const agi_step *s);
/* Does plan p run as a flat scalar program (plan.c)? For tests. */
int agi_plan_compiled(const ag_plan *p);
/* Called by agi_record while capturing: refuses the plan when op logged no
   step. */
void agi_plan_check_op(ag_tape *t, const agi_op *op);
/* Set while a plan's function runs: reading a tensor's value or drawing a
   random number then refuses the plan (random != 0: a draw). */
extern _Thread_local ag_plan *agi_plan_reading;
void agi_plan_read(const char *fn, int random);
static inline void agi_plan_note_read(const char *fn)
{
    if (agi_plan_reading) agi_plan_read(fn, 0);
}
static inline void agi_plan_note_draw(const char *fn)
{
    if (agi_plan_reading) agi_plan_read(fn, 1);
}

/* ---------------------------------------------------------- broadcast --- */

/* NumPy broadcast of two shapes into out; 0 (and error naming fn) if not. */
int agi_broadcast_shape(ag_tape *t, const char *fn, const ag_tensor *a,
                        const ag_tensor *b, int *ndim, int64_t *shape);

/*
** Strides of x seen from an output of ndim dims and the given shape
** (right-aligned, 0 where x is broadcast). x must broadcast to shape.
*/
void agi_bcast_strides(const ag_tensor *x, int ndim, const int64_t *shape,
                       int64_t *strides);

/* Row-major strides of a contiguous shape. */
void agi_contig_strides(int ndim, const int64_t *shape, int64_t *strides);

/*
** An odometer over an output shape carrying up to 4 strided offsets, for
** the kernels that cannot use a flat loop. The innermost dim is left to
** the caller's loop: iterate "for each outer index, for j < inner".
*/
typedef struct agi_iter {
    int ndim;                   /* outer dims (the output's minus one) */
    int64_t shape[AG_MAX_DIMS];
    int64_t idx[AG_MAX_DIMS];
    int64_t stride[4][AG_MAX_DIMS];
    int64_t off[4];
    int64_t inner;              /* length of the innermost dim */
    int64_t istride[4];         /* its strides */
    int64_t outer;              /* number of outer positions */
} agi_iter;

void agi_iter_init(agi_iter *it, int ndim, const int64_t *shape, int nops,
                   const int64_t (*strides)[AG_MAX_DIMS]);
void agi_iter_next(agi_iter *it, int nops);

/* ------------------------------------------------------ dtype helpers --- */

#define AGI_F32(x) ((float *)(x)->data)
#define AGI_F64(x) ((double *)(x)->data)

/* Shapes equal (ndim and every dim)? */
static inline int agi_same_shape(const ag_tensor *a, const ag_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return 0;
    return 1;
}

/* Fills a tape tensor with a constant (either dtype). */
void agi_fill(ag_tensor *x, double v);

/* ----------------------------------------------------------- backward --- */

/* gx of an op whose input was broadcast: sums g back to x's shape. */
ag_tensor *agi_reduce_to(ag_tape *t, ag_tensor *g, const ag_tensor *x);

/*
** The JVP rule of an op of one input whose Jacobian is symmetric: every
** elementwise one-input op (a diagonal Jacobian: ty = f'(x) tx) and
** softmax. J v = J^T v, so the tangent is the op's own backward rule
** applied to tx[0]. Defined in jvp.c.
*/
ag_tensor *agi_jvp_symmetric(ag_tape *t, const agi_node *n, ag_tensor *const *tx);

/* The engine's own same-shape add, with a backward rule (for create_graph). */
ag_tensor *agi_accumulate(ag_tape *t, ag_tensor *a, ag_tensor *b);

#endif /* AG_INTERNAL_H */
