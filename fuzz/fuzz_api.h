/*
** fuzz_api.h: the API fuzzer's state, shared by its driver (fuzz_api.c)
** and its op table (fuzz_api_ops.c, fuzz_api_nn.c).
**
** The input is a program. A run holds a tape, a second tape (for tensors
** of another tape), 16 tensor slots that ops read and write (tape tensors,
** persistent ones, NULL, and tensors from before a reset, which the
** library must refuse), a few persistent leaves, modules and an
** optimizer. Each op reads its operands and arguments from the input, runs
** and stores its result in a slot; the driver then checks the library's
** error contract for that call (fz_after_op).
*/
#ifndef FUZZ_API_H
#define FUZZ_API_H

#include "fuzz_util.h"

#define FZ_SLOTS 16
#define FZ_LEAVES 4
#define FZ_OWNED 64
#define FZ_MODS 6
#define FZ_MAX_NUMEL 4096        /* operands larger than this are not used */

typedef struct fz_api {
    fz_in in;
    ag_tape *t, *other;
    ag_tape *cur;                    /* the tape of this op: t, other or NULL */
    ag_rng *rng;
    ag_tensor *slot[FZ_SLOTS];
    int slot_gen[FZ_SLOTS];          /* resets of the slot's tape when stored */
    int t_resets, other_resets;
    ag_tensor *leaf[FZ_LEAVES];      /* persistent, owned by the run */
    ag_tensor *owned[FZ_OWNED];      /* persistent results (clone, NULL tape) */
    int n_owned;
    ag_module *mod[FZ_MODS];
    int n_mod;
    ag_optim *opt;
    int64_t *scratch;                /* index arrays for one call */
    int nocheck;                     /* set by an op that is not a tensor op */
    int fresh_only;                  /* known bug: fz_tensor gives no stale slot */
} fz_api;

/* An op of the table: runs one public call built from the input. May
   return NULL (an error the library recorded). */
typedef ag_tensor *(*fz_op_fn)(fz_api *s);
typedef struct fz_op {
    const char *name;
    fz_op_fn fn;
} fz_op;

extern const fz_op fz_ops[];
extern const int fz_n_ops;
extern const fz_op fz_nn_ops[];
extern const int fz_n_nn_ops;

/* Operands and arguments (fuzz_api_ops.c). */
ag_tensor *fz_tensor(fz_api *s);          /* a slot, a leaf, NULL, foreign... */
/* The same; *stale tells whether it is a slot's tensor from before a reset. */
ag_tensor *fz_tensor_ex(fz_api *s, int *stale);
ag_dtype fz_dtype(fz_api *s);             /* mostly valid */
int fz_axis(fz_api *s);                   /* mostly in [-4, 4], sometimes wild */
int fz_usable(const ag_tensor *x);        /* not too large to compute with */
/* A shape, often derived from a slot's; ndim may be invalid (rarely). */
void fz_shape(fz_api *s, int *ndim, int64_t shape[AG_MAX_DIMS + 1]);
/* n int64 values in [lo, hi] (sometimes wild) in s->scratch. */
int64_t *fz_indices(fz_api *s, int64_t n, int64_t lo, int64_t hi);
/* Stores y in slot i; resets a tape (counted, so stale slots are known). */
void fz_store(fz_api *s, int i, ag_tensor *y);
void fz_reset(fz_api *s, ag_tape *t);
/* 1 when slot i holds a tape tensor from before its tape's last reset. */
int fz_slot_stale(const fz_api *s, int i);
/* Keeps a persistent tensor until the end of the run; NULL passes. */
ag_tensor *fz_own(fz_api *s, ag_tensor *x);
/* x made by a creation call on s->cur: owned by the run when s->cur is NULL. */
ag_tensor *fz_made(fz_api *s, ag_tensor *x);

#endif
