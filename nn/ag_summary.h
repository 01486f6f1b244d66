/*
** ag_summary.h: a model summary, as torchinfo's summary() prints it: each
** layer with its output shape for a given input and its parameter count,
** then the totals and the memory they take.
**
**     char text[4096];
**     if (ag_module_summary(net, 2, (int64_t[]){128, 784}, AG_F32, text,
**                           sizeof text) < 0)
**         fprintf(stderr, "%s\n", ag_last_error());
**     else
**         fputs(text, stdout);
**
** gives, for a Sequential of Linear, ReLU and Linear:
**
**     Layer (type)                  Output shape          Param #
**     ============================================================
**     Sequential                    [128,10]                   --
**       0 (Linear)                  [128,256]             200,960
**       1 (ReLU)                    [128,256]                  --
**       2 (Linear)                  [128,10]                2,570
**     ============================================================
**     Parameters: 203,530 (794.9 KiB); buffers: 0 (0 B)
**     Activations of one forward pass: 1.3 MiB
*/
#ifndef AG_SUMMARY_H
#define AG_SUMMARY_H

#include "ag_core.h"
#include "ag_module.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** Writes m's summary for an input of shape input_shape[0..ndim) (batch
** first, as the model's forward takes it) and dtype dt into buf (at most
** size bytes, always NUL-terminated when size > 0; buf may be NULL with
** size 0 to measure). Returns the length of the whole summary (as
** snprintf: more than size - 1 means it was cut), or -1 with
** ag_last_error() set (NULL m, a bad shape, or a forward that fails on
** such an input: the message is the forward's).
**
** How. The model runs once, in evaluation mode, with grad mode off, on a
** tape of its own, on an input of zeros; each module's training flag is
** restored afterwards and nothing is learned or updated (BatchNorm's
** running statistics are untouched). A Sequential's children run one by
** one, so each gets its own output shape; the children of other modules
** are listed with their parameter counts and "--" for a shape, since
** their forward runs inside their parent's. A parameter count of "--"
** means none. Activation memory is the sum of the outputs' bytes listed.
*/
int64_t ag_module_summary(ag_module *m, int ndim, const int64_t *input_shape, ag_dtype dt,
                          char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* AG_SUMMARY_H */
