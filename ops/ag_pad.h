/*
** ag_pad.h: padding of the last one or two axes, PyTorch's F.pad for
** constant, reflect and replicate modes.
**
**     // x is [N,C,H,W]: one column left, two right, one row on top
**     ag_tensor *y = ag_pad(t, x, 4, (int64_t[]){1, 2, 1, 0}, AG_PAD_CONSTANT, 0);
**     // y is [N,C,H+1,W+3]
*/
#ifndef AG_PAD_H
#define AG_PAD_H

#include "ag_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_pad_mode {
    AG_PAD_CONSTANT = 0,    /* new elements hold value */
    AG_PAD_REFLECT = 1,     /* mirrored without repeating the edge: 2 1 | 1 2 3 | 2 1 */
    AG_PAD_REPLICATE = 2    /* the edge element repeated: 1 1 | 1 2 3 | 3 3 */
} ag_pad_mode;

/*
** Pads x's last npad / 2 axes: npad is 2 (pad = {left, right}, the last
** axis) or 4 (pad = {left, right, top, bottom}: the last axis, then the
** one before it), PyTorch's F.pad order. Each output dim is the input dim
** plus its two paddings. A negative padding removes that many elements
** from its side (a crop). The result is a new tape tensor of x's dtype.
**
** Modes and shapes, as PyTorch 1.13:
** - AG_PAD_CONSTANT: any x with at least npad / 2 dims; output dims may
**   be 0 (all cropped away), never negative.
** - AG_PAD_REFLECT and AG_PAD_REPLICATE: npad 2 takes x [N,C,W] or [C,W],
**   npad 4 takes x [N,C,H,W] or [C,H,W]; every dim but N non-empty; each
**   output dim at least 1; value must be 0 (PyTorch refuses a value for
**   these modes). Reflect needs each padding below its dim (a mirror
**   cannot reach further).
** Not offered: PyTorch's circular mode and 3-D padding (npad 6).
**
** Gradients of every order: constant padding's backward is padding dy by
** the negated amounts (a crop, and a crop's is a zero pad); reflect and
** replicate's is the transpose that adds each dy element to the x element
** it was copied from, whose own backward is the padding again.
**
** Errors (NULL, the error on the tape): AG_ERR_ARG for npad not 2 or 4,
** pad NULL, an unknown mode, a value with reflect or replicate, a
** padding beyond +-2147483647 or, for reflect, not below its dim;
** AG_ERR_SHAPE for too few or (reflect, replicate) too many dims of x,
** an empty dim where reflect or replicate needs one, and an output dim
** below 0 (constant) or 1. Messages name ag_pad, the paddings and x's
** shape.
*/
ag_tensor *ag_pad(ag_tape *t, ag_tensor *x, int npad, const int64_t *pad,
                  ag_pad_mode mode, double value);

#ifdef __cplusplus
}
#endif
#endif /* AG_PAD_H */
