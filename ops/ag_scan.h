/*
** ag_scan.h: cumulative ops along an axis.
*/
#ifndef AG_SCAN_H
#define AG_SCAN_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** y[.., i, ..] = x[.., 0, ..] + ... + x[.., i, ..] along axis (negative
** counts from the end; AG_ALL is AG_ERR_AXIS, as PyTorch needs a dim). The
** result has x's shape and dtype; a 0-d x takes axis 0 or -1 and is
** copied. Each running sum accumulates in double, for f32 too (as
** PyTorch's CPU kernel: an f32 sum of 2^24 and then ones grows by 2 every
** other step instead of sticking at 2^24). The gradient is the reversed
** cumulative sum of dy, dx[i] = dy[i] + ... + dy[n-1], itself an op with
** cumsum as its backward, so gradients of every order are available.
** Errors: AG_ERR_ARG for a NULL or stale x, AG_ERR_AXIS for a bad axis
** (the message names the axis and x's shape).
*/
ag_tensor *ag_cumsum(ag_tape *t, ag_tensor *x, int axis);

#ifdef __cplusplus
}
#endif
#endif
