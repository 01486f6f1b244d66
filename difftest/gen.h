/*
** gen.h: the random graph generator of the differential test (difftest/).
**
** gen.c holds the driver (seeds, leaves, the description writer, the loss,
** gradients and Hessian-vector products); gen_ops.c, gen_ops2.c and gen_ops3.c hold one
** generator per op of the public API. Nothing here is part of the library:
** it is a test program linked with build/libag.a.
**
** A generator picks operands from the pool of tensors made so far (or makes
** new leaves), chooses parameters, checks that the inputs sit in the op's
** safe domain (positive for log, away from kinks for abs/relu/clamp/max, no
** ties), runs the op, and calls dt_commit, which writes the node with its
** value to the description, or rejects a result that is too big, not
** finite, or empty (the rejected tensor stays on the tape, unused).
*/
#ifndef DT_GEN_H
#define DT_GEN_H
#include <stdio.h>
#include "ag.h"

#define DT_MAX_NODES 512      /* tensors in one graph (leaves included) */
#define DT_SMALL_NUMEL 96     /* largest tensor kept in a small graph, */
#define DT_WIDE_NUMEL 2100    /* in a wide one (1 graph in 20), */
#define DT_MAX_NUMEL 2100     /* and the buffers' size */
#define DT_WIDE_SHAPE 600     /* largest random shape in a wide graph */
#define DT_VALUE_LIMIT 1e4    /* largest |value| kept */
#define DT_KINK 1e-6          /* least distance from a kink, a tie, a bound */
#define DT_ARGS 65536         /* the text of one op's arguments */

typedef struct dt_node {
    ag_tensor *x;
    int id;       /* its number in the description (%id) */
    int used;     /* consumed by a later op (so not a sink of the loss) */
    int leaf;
} dt_node;

/* What --inject corrupts in the description (the self-test). */
typedef enum dt_inject {
    DT_INJECT_NONE, DT_INJECT_VALUE, DT_INJECT_LOSS, DT_INJECT_GRAD,
    DT_INJECT_HVP, DT_INJECT_TINY
} dt_inject;

typedef struct dt_gen {
    ag_tape *t;
    ag_rng *rng;
    FILE *out;
    dt_node nodes[DT_MAX_NODES];
    int n;
    ag_tensor *owned[DT_MAX_NODES];   /* persistent leaves, freed per graph */
    int n_owned;
    char args[DT_ARGS];               /* the pending op's arguments */
    size_t args_len;
    int in[16], n_in;                 /* its tensor operands (pool indices) */
    int known_bugs;                   /* 1: generate ops with known bugs too */
    int wide;                         /* 1: large shapes (kernel blocking paths) */
    int64_t max_numel;                /* DT_SMALL_NUMEL or DT_WIDE_NUMEL */
    dt_inject inject;
    int injected;                     /* the corruption was written */
    int committing_loss;
    int fixed_v;                      /* HVP with v = ones (reproducers) */
} dt_gen;

/* ------------------------------------------------------------ gen.c --- */

double dt_unif(dt_gen *g, double lo, double hi);
int dt_int(dt_gen *g, int lo, int hi);               /* in [lo, hi] */
int dt_coin(dt_gen *g, double p);                    /* 1 with probability p */
/* A random shape: ndim in [min_nd, max_nd], dims in [1, 4] (wide graphs:
   also sizes around the kernels' block edges), of at most max_numel / 2
   elements (DT_WIDE_SHAPE in a wide graph). */
int dt_shape(dt_gen *g, int min_nd, int max_nd, int64_t *shape);
int64_t dt_numel(int nd, const int64_t *shape);

/* A new persistent leaf of uniform values in [lo, hi], pushed to at least
   0.1 from 0 when push is set; rg: requires grad. Returns its pool index. */
int dt_leaf(dt_gen *g, int nd, const int64_t *shape, double lo, double hi,
            int push, int rg);
/* A new persistent leaf holding v (numel values). */
int dt_leaf_vals(dt_gen *g, int nd, const int64_t *shape, const double *v, int rg);
typedef int (*dt_pred)(const dt_node *nd);
/* An operand: a tensor of the pool satisfying pred, or a new leaf in
   [lo, hi] (pushed from 0 when push) when none does, or now and then. */
int dt_operand(dt_gen *g, dt_pred pred, double lo, double hi, int push);
/* A pool index satisfying pred (NULL: any), preferring recent tensors and
   tensors that require grad; -1 if none. */
int dt_pick(dt_gen *g, dt_pred pred);

/* Building the pending op's description: begin, then arguments in the
   order of the C call (tape omitted), then commit. */
void dt_begin(dt_gen *g);
void dt_arg_t(dt_gen *g, int idx);                   /* %id */
void dt_arg_tl(dt_gen *g, int n, const int *idx);    /* [%a,%b] */
void dt_arg_i(dt_gen *g, long long v);
void dt_arg_f(dt_gen *g, double v);                  /* hex float */
void dt_arg_il(dt_gen *g, int n, const int64_t *v);  /* [1,2,3] */
/* Writes "node <id> <name> <args> -> [shape] : values" and adds y to the
   pool; returns its index, or -1 when y is rejected (too big, not finite,
   empty). A NULL y (a library error) stops the program with the message. */
int dt_commit(dt_gen *g, const char *name, ag_tensor *y);

/* Writes "note <text>": which generator made the next records (for the
   coverage count of generators whose ops have ordinary names). */
void dt_note(dt_gen *g, const char *text);

/* Value helpers. */
const double *dt_vals(const dt_node *nd);
double dt_min(const dt_node *nd);
double dt_max(const dt_node *nd);
double dt_min_abs(const dt_node *nd);
double dt_max_abs(const dt_node *nd);
/* min |a - b| over the broadcast of a and b (computed without recording). */
double dt_min_gap(dt_gen *g, ag_tensor *a, ag_tensor *b);
/* 1 when shapes a and b broadcast; out gets the result's shape. */
int dt_bcast(int na, const int64_t *a, int nb, const int64_t *b, int *nout,
             int64_t *out);
/* An operand of ndim in [min_nd, max_nd] (a pool tensor, or a new leaf). */
int dt_operand_nd(dt_gen *g, int min_nd, int max_nd);
/* An axis of an nd-dim tensor, either sign; AG_ALL now and then. */
int dt_rand_axis(dt_gen *g, int nd, int allow_all);
/* A pool index (or a new leaf in [lo, hi]) whose shape broadcasts with
   node a's; pred filters existing tensors. */
int dt_partner(dt_gen *g, int a, dt_pred pred, double lo, double hi, int push);

/* A dimension: 1 to 4, or in a wide graph one of the sizes around the
   library's blocking edges (matmul's 8-row tiles and 8-column panels, its
   256-deep and 128-row blocks, reduce's 128-long pairwise base and
   256-column tiles). */
int64_t dt_dim(dt_gen *g);

/* ------------------------------------------------------ gen_ops*.c --- */

typedef struct dt_op {
    const char *name;
    int (*run)(dt_gen *g, const struct dt_op *op);
    const void *def;
    int known_bug;     /* 1: skipped unless --with-known-bugs (see gen.c) */
} dt_op;

extern const dt_op dt_ops_a[];   /* gen_ops.c: elementwise, masks, where */
extern const int dt_n_ops_a;
extern const dt_op dt_ops_b[];   /* gen_ops2.c: reductions, linalg, shape */
extern const int dt_n_ops_b;
/* The first ops of a wide graph: a matmul and a reduction on shapes across
   the kernels' block edges; returns how many were kept. (gen_ops2.c) */
int dt_wide_kernels(dt_gen *g);
/* gen_ops3.c: concat, slice and the indexing ops (listed in dt_ops_b). */
int dt_run_concat(dt_gen *g, const dt_op *op);
int dt_run_slice(dt_gen *g, const dt_op *op);
int dt_run_index_select(dt_gen *g, const dt_op *op);
int dt_run_index_add(dt_gen *g, const dt_op *op);
int dt_run_gather(dt_gen *g, const dt_op *op);
int dt_run_scatter_add(dt_gen *g, const dt_op *op);

#endif
