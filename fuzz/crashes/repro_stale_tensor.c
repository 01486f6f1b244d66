/*
** repro_stale_tensor.c: a use-after-free through a tensor from before a
** tape reset (library bug; see fuzz/crashes/README.md).
**
** ag_core.h: "Using a tape tensor after its tape was reset is an
** AG_ERR_STATE error, never a use-after-free". Ops check this (the
** tensor's generation), but ag_tensor_set, ag_tensor_get, ag_tensor_clone
** and ag_zero_grad do not. When the tape held more than one arena block,
** ag_tape_reset frees them and allocates one block of the total size
** (autograd/tape.c, ag_tape_reset), so the stale tensor's data pointer
** points into freed memory.
**
** Functions of nn/ that read a tensor's values to check them before any op
** has looked at the tensor (ag_bce_loss's probabilities, ag_hinge_loss's
** labels, Embedding's indices) do the same read through ag_tensor_get.
**
** Usage: repro_stale_tensor set|get|clone|zero_grad|bce|hinge|embedding
** (build: make fuzz-crashes). Each mode crashes under AddressSanitizer
** (heap-use-after-free); without it, set and zero_grad write into freed
** memory, and the others read it.
*/
#include <stdio.h>
#include <string.h>

#include "ag.h"

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "set";
    ag_tape *t = ag_tape_new();
    ag_tensor *x = ag_full(t, AG_F32, 1, (int64_t[]){4}, 1.0);      /* in the first 1 MB block */
    ag_set_requires_grad(x, 1);
    ag_backward(t, ag_sum(t, x, AG_ALL, 0));                       /* x's grad: on the tape */
    ag_zeros(t, AG_F64, 1, (int64_t[]){(int64_t)1 << 18});         /* 2 MB: a second block */
    ag_tape_reset(t);                        /* frees both blocks, makes one of 3 MB */
    if (!strcmp(mode, "set")) {
        printf("ag_tensor_set: %s\n", ag_status_name(ag_tensor_set(x, 0, 2.0)));
    } else if (!strcmp(mode, "get")) {
        printf("ag_tensor_get: %g\n", ag_tensor_get(x, 0));
    } else if (!strcmp(mode, "clone")) {
        ag_tensor *c = ag_tensor_clone(x);
        printf("ag_tensor_clone: %p\n", (void *)c);
        ag_tensor_free(c);
    } else if (!strcmp(mode, "zero_grad")) {
        ag_zero_grad(x);
        printf("ag_zero_grad: done\n");
    } else if (!strcmp(mode, "bce") || !strcmp(mode, "hinge")) {
        ag_tensor *y = ag_full(t, AG_F32, 1, (int64_t[]){4}, 1.0);
        ag_tensor *l = mode[0] == 'b' ? ag_bce_loss(t, x, y, AG_REDUCTION_MEAN)
                                      : ag_hinge_loss(t, y, x, AG_REDUCTION_MEAN);
        printf("%s: %p, %s\n", mode, (void *)l, ag_tape_errmsg(t));
    } else {
        ag_rng *r = ag_rng_new(1);
        ag_module *e = ag_embedding_new(4, 2, AG_F32, r);
        ag_tensor *y = ag_module_forward(e, t, x);
        printf("embedding: %p, %s\n", (void *)y, ag_tape_errmsg(t));
        ag_module_free(e);
        ag_rng_free(r);
    }
    ag_tape_free(t);
    return 0;
}
