/*
** loss_util.h: helpers shared by the loss files (nn/loss*.c) and
** nothing else: argument checks that record errors naming the calling
** loss, and the reductions. Not a public header (not installed).
*/
#ifndef AG_LOSS_UTIL_H
#define AG_LOSS_UTIL_H

#include "ag.h"

#define AGI_LOSS_DIMS 96    /* size of a buffer for agi_loss_dims */

/* "[2,3]": x's shape written into buf. */
const char *agi_loss_dims(const ag_tensor *x, char buf[AGI_LOSS_DIMS]);
/* "f32" or "f64". */
const char *agi_loss_dtype(const ag_tensor *x);

/* 1 when t can take a new tensor; 0 for a NULL tape (ag_last_error() is
   set, naming fn) or a tape already in error (its message is kept). */
int agi_loss_begin(ag_tape *t, const char *fn);
/* 1 when x is usable on t; else records AG_ERR_ARG (NULL) or AG_ERR_STATE
   (x belongs to another tape) naming fn and the argument, and gives 0. */
int agi_loss_tensor(ag_tape *t, const char *fn, const char *name,
                    const ag_tensor *x);
/* 1 when red is MEAN, SUM or NONE, or BATCHMEAN with batchmean_ok. */
int agi_loss_reduction(ag_tape *t, const char *fn, ag_reduction red,
                       int batchmean_ok);
/* 1 when a and b share dtype (AG_ERR_DTYPE) and shape (AG_ERR_SHAPE). */
int agi_loss_same(ag_tape *t, const char *fn, const char *aname,
                  const ag_tensor *a, const char *bname, const ag_tensor *b);
/* 1 when w has x's dtype and broadcasts to x's shape exactly. */
int agi_loss_broadcasts(ag_tape *t, const char *fn, const char *wname,
                        const ag_tensor *w, const char *xname,
                        const ag_tensor *x);

/* loss reduced as red says (BATCHMEAN: sum / loss's dim 0). */
ag_tensor *agi_loss_reduce(ag_tape *t, ag_tensor *loss, ag_reduction red);

#endif
