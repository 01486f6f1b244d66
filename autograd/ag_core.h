/*
** ag_core.h: tensors, the tape, backward, gradient checking.
**
** This header is the reference manual for the core of the engine. Ops live
** in ops/ (ag_unary.h, ag_binary.h, ...); `#include "ag.h"` gets everything.
**
** A worked example (a scalar function and its gradient):
**
**     ag_tape *t = ag_tape_new();
**     int64_t shape[1] = {3};
**     double xs[3] = {1, 2, 3};
**     ag_tensor *x = ag_from_data(NULL, AG_F64, 1, shape, xs);  // persistent
**     ag_set_requires_grad(x, 1);
**     ag_tensor *y = ag_sum(t, ag_mul(t, x, x), AG_ALL, 0);     // y = sum x^2
**     if (!y || ag_backward(t, y) != AG_OK)
**         fprintf(stderr, "%s\n", ag_tape_errmsg(t));
**     // ag_tensor_data(ag_tensor_grad(x)) now holds {2, 4, 6}
**     ag_tape_free(t);
**     ag_tensor_free(x);
**
** Ownership. A tensor made with a NULL tape is persistent: the caller frees
** it with ag_tensor_free. Everything an op makes, and any tensor created with
** a tape, belongs to that tape and lives until ag_tape_reset or ag_tape_free.
** Using a tape tensor after its tape was reset is an AG_ERR_STATE error,
** never a use-after-free: tensor headers are not freed before the tape.
** A tensor from the step just before a reset is always caught; an older
** one is caught unless a later step has reused its header.
**
** Errors. Ops return NULL on failure and record a status and a message on the
** tape. Errors are sticky: every op on a tape in error, or given a NULL
** tensor, returns NULL and the first message is kept, so a whole forward
** pass can be checked once at its end. ag_tape_reset clears the error.
** An op called with a NULL tape (every op but creation needs one), and any
** call with no tape to hold its message, returns NULL or a status and
** leaves the message in ag_last_error(). The library never prints, aborts
** or exits.
*/
#ifndef AG_CORE_H
#define AG_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AG_MAX_DIMS 8      /* most dimensions a tensor may have */
#define AG_ALL (-1000)     /* "every axis" for reductions */

typedef enum ag_dtype { AG_F32 = 0, AG_F64 = 1 } ag_dtype;

typedef enum ag_status {
    AG_OK = 0,
    AG_ERR_ARG,       /* a NULL or out-of-range argument */
    AG_ERR_SHAPE,     /* shapes that do not fit the op */
    AG_ERR_DTYPE,     /* mixed or unsupported dtypes */
    AG_ERR_AXIS,      /* an axis out of range */
    AG_ERR_STATE,     /* a tensor from before a reset or another tape; an
                         object whose state cannot be worked from */
    AG_ERR_NOMEM,     /* an allocation failed or its size overflowed */
    AG_ERR_ANOMALY,   /* anomaly mode found a NaN or an Inf */
    AG_ERR_IO,        /* a file could not be read or written */
    AG_ERR_FORMAT,    /* a file is truncated, corrupt or of the wrong shape */
    AG_ERR_GRADCHECK  /* gradcheck found a mismatch */
} ag_status;

typedef struct ag_tape ag_tape;
typedef struct ag_tensor ag_tensor;
typedef struct ag_rng ag_rng;

/* Name of a status ("AG_ERR_SHAPE"); never NULL. */
const char *ag_status_name(ag_status s);

/*
** The message of the last failed call that has no tape to hold it (tensor
** creation with a NULL tape, ag_assign, modules, optimizers, files), for
** the calling thread; "" if none yet. Calls that succeed do not clear it.
*/
const char *ag_last_error(void);
/* Sets the calling thread's ag_last_error() message (printf-style) and
   returns s: for layers, optimizers and user code that report an error
   with no tape. */
ag_status ag_set_last_error(ag_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A tensor with a dotted name ("0.weight"), as modules and optimizers list
   their state. The tensor is borrowed. */
typedef struct ag_named_tensor {
    char name[128];
    struct ag_tensor *tensor;
    int is_buffer;          /* 1 for state that is not a parameter */
} ag_named_tensor;

/* ---------------------------------------------------------------- rng --- */

/*
** A seeded generator (xoshiro256**, seeded by splitmix64). The same seed
** gives the same numbers on every platform: normals use only IEEE-exact
** arithmetic, no libm. ag_rng_new returns NULL when out of memory.
*/
ag_rng *ag_rng_new(uint64_t seed);
void ag_rng_free(ag_rng *r);                       /* NULL is a no-op */
uint64_t ag_rng_u64(ag_rng *r);                    /* 64 random bits */
double ag_rng_uniform(ag_rng *r);                  /* in [0, 1) */
double ag_rng_normal(ag_rng *r);                   /* N(0, 1) */
/*
** The whole state (four words), to save and restore a generator exactly.
** Setting an all-zero state (the one state xoshiro256** never leaves: it
** would return 0 forever, and normal draws would never return) is an
** AG_ERR_ARG, as are NULL arguments; the error is in ag_last_error() and
** the generator is unchanged. A state read from a generator is never all
** zero.
*/
void ag_rng_get_state(const ag_rng *r, uint64_t state[4]);
ag_status ag_rng_set_state(ag_rng *r, const uint64_t state[4]);

/* ------------------------------------------------------------ tensors --- */

/* The most elements a tensor may hold, 2^59 - 1: its size in bytes (8 at
   most per element) then fits in int64 with room to round it up. */
#define AG_NUMEL_MAX (INT64_MAX / 16)

/*
** The element count of a shape, checked: the product of its ndim dims (1
** for ndim 0), or -1 when ndim is not in [0, AG_MAX_DIMS], shape is NULL
** with ndim > 0, a dim is negative, or the product of the non-zero dims is
** more than AG_NUMEL_MAX. This is the rule every tensor's shape obeys
** (creation, every op's result, every loader): a zero dim does not excuse
** huge other dims, so a shape is accepted or refused whatever the order of
** its dims, and any product of some dims of an accepted shape fits too.
** PyTorch differs here: it accepts [0, 2^40, 2^40] but refuses
** [2^40, 2^40, 0]; both are refused here.
*/
int64_t ag_shape_numel(int ndim, const int64_t *shape);

/* a * b for counts and sizes in bytes: -1 when a or b is negative or the
   product is more than INT64_MAX. */
int64_t ag_size_mul(int64_t a, int64_t b);

/*
** Creation. With t == NULL the tensor is persistent and owned by the caller;
** otherwise it belongs to tape t. shape has ndim entries (0 <= ndim <= 8,
** each >= 0); ndim 0 is a scalar. On failure these return NULL and record
** the error on t, or, when t is NULL, in ag_last_error().
*/
ag_tensor *ag_zeros(ag_tape *t, ag_dtype dt, int ndim, const int64_t *shape);
ag_tensor *ag_ones(ag_tape *t, ag_dtype dt, int ndim, const int64_t *shape);
ag_tensor *ag_full(ag_tape *t, ag_dtype dt, int ndim, const int64_t *shape,
                   double value);
/* data holds numel values of dt's C type (float or double), row-major. */
ag_tensor *ag_from_data(ag_tape *t, ag_dtype dt, int ndim,
                        const int64_t *shape, const void *data);
/* data holds numel doubles, converted to dt. */
ag_tensor *ag_from_f64(ag_tape *t, ag_dtype dt, int ndim,
                       const int64_t *shape, const double *data);
ag_tensor *ag_scalar(ag_tape *t, ag_dtype dt, double value);   /* ndim 0 */
/* 1-D: start, start+step, ... while < stop (> stop for step < 0). */
ag_tensor *ag_arange(ag_tape *t, ag_dtype dt, double start, double stop,
                     double step);
ag_tensor *ag_eye(ag_tape *t, ag_dtype dt, int64_t n);          /* n x n, n >= 0 */
/* Uniform in [lo, hi): lo and hi finite, lo <= hi (lo == hi gives lo);
   AG_ERR_ARG otherwise, as nn/'s init functions. */
ag_tensor *ag_rand_uniform(ag_tape *t, ag_rng *r, ag_dtype dt, int ndim,
                           const int64_t *shape, double lo, double hi);
/* Normal: mean and std finite, std >= 0 (0 gives mean); AG_ERR_ARG
   otherwise. */
ag_tensor *ag_rand_normal(ag_tape *t, ag_rng *r, ag_dtype dt, int ndim,
                          const int64_t *shape, double mean, double std);
/* A persistent deep copy of x's data (no grad, no history). */
ag_tensor *ag_tensor_clone(const ag_tensor *x);

/*
** Copies src's values into dst in place (PyTorch's dst.copy_(src) under
** no_grad): the way optimizers and running statistics update persistent
** tensors. Shapes must be equal; dtypes may differ (values are converted).
** Records nothing. Returns AG_OK, or an error with ag_last_error() set.
*/
ag_status ag_assign(ag_tensor *dst, const ag_tensor *src);

/* Frees a persistent tensor and its grad. NULL and tape tensors: no-op. */
void ag_tensor_free(ag_tensor *x);

ag_dtype ag_tensor_dtype(const ag_tensor *x);
int ag_tensor_ndim(const ag_tensor *x);
const int64_t *ag_tensor_shape(const ag_tensor *x);
int64_t ag_tensor_dim(const ag_tensor *x, int axis);   /* negative counts back */
int64_t ag_tensor_numel(const ag_tensor *x);
/* The data: float* for AG_F32, double* for AG_F64; writable. NULL for a
   tape tensor from before its tape's reset (its memory is gone). */
void *ag_tensor_data(ag_tensor *x);
/* Element i (row-major flat index) as a double. 0 when x is NULL, i is
   out of range or x is a stale tape tensor, with the reason in
   ag_last_error() (which a 0 read from the data leaves alone: clear it
   first to tell the two apart). */
double ag_tensor_get(const ag_tensor *x, int64_t i);
/* Sets element i; AG_ERR_ARG when x is NULL or i is out of range,
   AG_ERR_STATE for a stale tape tensor, each with ag_last_error(). */
ag_status ag_tensor_set(ag_tensor *x, int64_t i, double v);
/* The tape that owns x, or NULL for a persistent tensor. */
ag_tape *ag_tensor_tape(const ag_tensor *x);

/*
** Gradients of leaves. ag_backward accumulates into a leaf's grad, a tensor
** of the leaf's shape and dtype that the leaf owns (made on first use; NULL
** before). ag_zero_grad sets it to zero (PyTorch's zero_grad(set_to_none=
** False)); ag_tensor_grad is NULL until the first backward reaches the leaf.
** requires_grad may only be set on leaves (tensors no op made).
**
** ag_clear_grad sets the grad to none (PyTorch's x.grad = None, or
** zero_grad(set_to_none=True)): ag_tensor_grad(x) is NULL again, optimizers
** skip x, and the next backward that reaches x writes its gradient instead
** of adding it to zeros (one pass over memory instead of three, and none to
** zero it). ag_zero_grad leaves a none grad none, as PyTorch does. Unlike
** PyTorch, x keeps the buffer for that write: a grad fetched before
** ag_clear_grad holds its old values until the next backward reaches x,
** then the new ones.
*/
ag_tensor *ag_tensor_grad(const ag_tensor *x);
void ag_zero_grad(ag_tensor *x);
void ag_clear_grad(ag_tensor *x);
/*
** Sets x's grad to a copy of g's values, as PyTorch's x.grad = g (then
** clipping, an optimizer step or a test can act on a gradient no backward
** made); the next backward adds to it. g NULL: as ag_clear_grad. x must
** be a leaf; g has x's dtype and shape and may live anywhere (a tape, or
** persistent). AG_ERR_ARG (x NULL), AG_ERR_STATE (x not a leaf, x or g
** stale), AG_ERR_SHAPE (dtype or shape differ), AG_ERR_NOMEM, each with
** ag_last_error() naming ag_set_grad; x is unchanged on failure.
*/
ag_status ag_set_grad(ag_tensor *x, const ag_tensor *g);
/* AG_ERR_ARG for a NULL x, AG_ERR_STATE for a stale tape tensor or one
   made by an op (not a leaf), each with ag_last_error(). */
ag_status ag_set_requires_grad(ag_tensor *x, int requires_grad);
int ag_requires_grad(const ag_tensor *x);

/* --------------------------------------------------------------- tape --- */

ag_tape *ag_tape_new(void);             /* NULL when out of memory */
void ag_tape_free(ag_tape *t);          /* NULL is a no-op */
/*
** Frees every tensor and node on the tape at once and keeps the memory, so
** a training loop allocates nothing after its first step. Clears the error
** state. Grad mode and anomaly mode are kept.
*/
void ag_tape_reset(ag_tape *t);

ag_status ag_tape_status(const ag_tape *t);
const char *ag_tape_errmsg(const ag_tape *t);   /* "" when no error */
/* Checks that x may be used on t (not NULL, persistent or of t's current
   generation), as every op does; otherwise records the error, naming fn
   and arg, and returns it. For layers that read a tensor's values before
   any op sees it. Returns t's status if t is already in error; AG_ERR_ARG
   with ag_last_error() "fn: tape is NULL" when t is NULL. */
ag_status ag_tape_check(ag_tape *t, const char *fn, const char *arg, const ag_tensor *x);
/* Records an error on t (printf-style) unless t already holds one, and
   returns s: for layers and user code that check their own inputs. */
ag_status ag_tape_set_error(ag_tape *t, ag_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void ag_tape_clear_error(ag_tape *t);
/* Bytes the tape holds, with the scratch tape ag_recompute keeps beside
   it (ag_recompute.h). */
size_t ag_tape_reserved(const ag_tape *t);
size_t ag_tape_size(const ag_tape *t);      /* nodes recorded */

/*
** Grad mode. With it off (a no-grad region) ops record nothing and their
** results need no grad. Returns the previous setting.
*/
int ag_set_grad_enabled(ag_tape *t, int enabled);
int ag_is_grad_enabled(const ag_tape *t);

/*
** Anomaly mode: every op result and every gradient is checked for NaN and
** Inf; the first one found is an AG_ERR_ANOMALY naming the op and its place
** on the tape. Found while a backward rule runs, it names the op whose rule
** it is and its node first, then the op inside the rule ("ag_sqrt: backward
** of node #1: Inf at element 1 of the [2] result of ag_div in its rule").
** Slow; for debugging. Returns the previous setting.
*/
int ag_set_anomaly(ag_tape *t, int on);

/* A tape tensor sharing x's data, with no history and no grad. */
ag_tensor *ag_detach(ag_tape *t, ag_tensor *x);

/* ----------------------------------------------------------- backward --- */

/*
** Accumulates d loss / d leaf into the grad of every leaf that requires
** grad (so two calls without zeroing add, as in PyTorch). loss must have
** one element. The graph is kept until ag_tape_reset, so backward may run
** again. Returns the status, also recorded on the tape (AG_ERR_ARG with
** ag_last_error() when t is NULL).
**
** Changing a recorded tensor's data (ag_tensor_set, ag_assign, writing
** through ag_tensor_data) between an op and the backward through it is
** not supported and not detected (PyTorch refuses it through version
** counters): the gradient may use the old values or the new ones. One-
** element arithmetic ops, for example, keep their operands' values in the
** node for a fast scalar walk, while other rules read the inputs again.
*/
ag_status ag_backward(ag_tape *t, ag_tensor *loss);

/*
** The functional form. grads[i] = sum over k of grad_outputs[k]^T
** d outputs[k] / d inputs[i], as tape tensors of inputs[i]'s shape.
** grad_outputs may be NULL when every output has one element (ones are
** used), and any entry may be NULL likewise. inputs may be leaves or
** intermediate results; each must require grad (AG_ERR_ARG otherwise).
** An input the outputs do not depend on gets zeros (PyTorch would need
** allow_unused and return None), and an output that does not require grad
** is a constant that adds nothing (so the second derivative of a piecewise
** linear function comes out as zeros, as in PyTorch). With create_graph the backward pass is
** recorded on the tape, so grads can be differentiated again. Leaves'
** own grad buffers are not touched. A grad_output must have its output's
** shape (AG_ERR_SHAPE) and dtype (AG_ERR_DTYPE). Returns the status, also
** recorded on the tape (AG_ERR_ARG with ag_last_error() when t is NULL).
*/
ag_status ag_grad(ag_tape *t, int n_outputs, ag_tensor *const *outputs,
                  ag_tensor *const *grad_outputs, int n_inputs,
                  ag_tensor *const *inputs, ag_tensor **grads,
                  int create_graph);

/*
** Writes the tape as a Graphviz DOT graph: one box per recorded op with its
** output shape, one ellipse per leaf (filled when it requires grad).
*/
ag_status ag_tape_write_dot(ag_tape *t, const char *path);

/* ---------------------------------------------------------- gradcheck --- */

/*
** A function under test: builds one output from n inputs on tape t using
** ops only. Returns NULL on failure (the tape's error is reported).
*/
typedef ag_tensor *(*ag_fn)(ag_tape *t, ag_tensor *const *inputs, void *ctx);

/* eps must be finite and > 0, atol and rtol finite and >= 0 (AG_ERR_ARG
   otherwise); with atol = rtol = 0 only exact matches pass. */
typedef struct ag_gradcheck_opts {
    double eps;    /* central-difference step; default 1e-6 */
    double atol;   /* pass when |analytic-numeric| <= atol + rtol*|numeric| */
    double rtol;   /* defaults 1e-5 and 1e-3, as PyTorch's gradcheck */
} ag_gradcheck_opts;

typedef struct ag_gradcheck_report {
    int passed;           /* 1 when every element is within tolerance */
    int input;            /* the worst element: which input, */
    int64_t index;        /* its flat index in that input, */
    int64_t output_index; /* and the output element differentiated */
    double analytic;      /* d output / d input from backward */
    double numeric;       /* the same from central differences */
    double error;         /* |analytic - numeric| */
    int kink;             /* 1 when it failed where the one-sided differences disagree */
    int64_t checked;      /* Jacobian entries compared */
    char message[512];    /* a one-line summary, or the error */
} ag_gradcheck_report;

/*
** Compares the Jacobian of fn at inputs from backward with central
** differences, element by element. inputs must be persistent AG_F64
** tensors; their data is perturbed and restored. Returns AG_OK when every
** entry is within tolerance, AG_ERR_GRADCHECK when one is not, AG_ERR_ARG
** for bad inputs or options, or the error fn raised; report (may be NULL)
** names the worst entry, and on failure its message is also
** ag_last_error(). opts may be NULL for the defaults.
**
** Kinks: at a point where fn is not differentiable (relu or abs at 0, max
** with ties, clamp at its bounds) the two sides disagree and the check
** may fail with report->kink set (a symmetric kink such as abs at 0
** passes: both sides average to the defined derivative). Keep such inputs at least 100*eps from the
** kink: draw them, then push any |x| < 0.1 away from 0, and avoid ties.
*/
ag_status ag_gradcheck(ag_fn fn, void *ctx, int n_inputs,
                       ag_tensor *const *inputs,
                       const ag_gradcheck_opts *opts,
                       ag_gradcheck_report *report);

/*
** Second order: with a fixed random v of the output's shape, checks the
** Jacobian of (inputs, v) -> grad(<fn(inputs), v>, inputs) built with
** create_graph, against central differences, as PyTorch's gradgradcheck.
*/
ag_status ag_gradgradcheck(ag_fn fn, void *ctx, int n_inputs,
                           ag_tensor *const *inputs,
                           const ag_gradcheck_opts *opts,
                           ag_gradcheck_report *report);

#ifdef __cplusplus
}
#endif
#endif /* AG_CORE_H */
