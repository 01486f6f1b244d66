/*
** plan_internal.h: what plan.c (the capture, the steps, the public
** functions of ag_plan.h) and plan_scalar.c (a plan's flat scalar
** program) share. Library-internal.
*/
#ifndef AG_PLAN_INTERNAL_H
#define AG_PLAN_INTERNAL_H

#include "ag_internal.h"

/* A persistent tensor a plan reads, as it was at capture. */
typedef struct agi_plan_input {
    const ag_tensor *x;
    void *data;
    int64_t shape[AG_MAX_DIMS];
    uint8_t ndim, dtype;
} agi_plan_input;

/* What a plan's scalar program is compiled from: the steps as captured
   (before any sink fusion), the inputs (sorted by x, no repeats), the
   output and the gradients a run must leave in their tensors. */
typedef struct agi_sc_source {
    const agi_step *steps;
    size_t n_steps;
    const agi_plan_input *inputs;
    int n_inputs;
    ag_tensor *output;
    ag_tensor *const *grads;
    int n_wrt;
} agi_sc_source;

typedef struct agi_sc_prog agi_sc_prog;

/*
** The steps of src as a flat program over an array of values (see
** plan_scalar.c), or NULL when a step cannot be one of its instructions
** (a tensor of more than one element, another dtype) or memory is short:
** the plan runs its steps then.
*/
agi_sc_prog *agi_sc_compile(const agi_sc_source *src);

/* Runs g with the inputs' current values: 1 when done; 0 when nothing
   visible changed and the plan must check its inputs and run its steps
   (an input's shape, dtype or buffer, or a leaf's grad tensor, is not
   the one of capture). */
int agi_sc_run(agi_sc_prog *g);

/* The number of instructions of g (for tests); 0 for NULL. */
size_t agi_sc_size(const agi_sc_prog *g);

void agi_sc_free(agi_sc_prog *g);

/* The number of instructions of p's scalar program, 0 when it has none
   (plan.c; for tests). */
size_t agi_plan_scalar_size(const ag_plan *p);

#endif /* AG_PLAN_INTERNAL_H */
