/*
** ag_checkpoint.h: training checkpoints: a module's parameters and
** buffers, an optimizer's state and a generator's state in one
** safetensors file, so training stopped and resumed continues bit for bit
** as if it had never stopped:
**
**     ag_checkpoint_save("run.ckpt", model, opt, rng);     // every N steps
**     ...                                                  // later, a new process:
**     model = build_model();            // same structure, any values
**     opt = <the same optimizer type over model's parameters>;
**     rng = ag_rng_new(0);              // any seed: its state is restored
**     if (ag_checkpoint_load("run.ckpt", model, opt, rng) != AG_OK)
**         fprintf(stderr, "%s\n", ag_last_error());
**
** The file (readable by any safetensors reader, see ag_safetensors.h):
**   "<name>"          each module tensor under its dotted name ("0.weight");
**                     integer buffers (BatchNorm's "num_batches_tracked")
**                     as I64, as ag_module_save and PyTorch's state_dict
**                     (files that hold them as F32 or F64, from before
**                     this rule, load too: any dtype that converts
**                     exactly, see ag_safetensors_load_into)
**   "optim.<name>"    each optimizer state tensor ("optim.0.exp_avg")
**   "rng.state"       the generator's four state words, U64 [4]
**   __metadata__      "ag.checkpoint": "2" (the format's version), and
**                     with an optimizer "optim.name", "optim.steps",
**                     "optim.groups" (the number of parameter groups),
**                     "optim.group_sizes" ("3,1": parameters per group),
**                     "optim.lrs" and "optim.base_lrs" (one per group,
**                     comma-separated; decimal, the doubles with 17
**                     significant digits, so they read back exact)
** Saving is atomic (a temporary file renamed over the old one).
**
** Differences from torch.save of state_dicts: hyper-parameters other than
** the learning rates (momentum, betas, weight decay) are not stored; they
** come from the optimizer the checkpoint is loaded into, as do the
** parameters it updates (matched by position: state "<i>.<name>" belongs
** to parameter i). Grads are not stored.
**
** Version 1 files (before per-parameter step counts and groups: one
** "optim.lr" and "optim.base_lr", no "optim.<i>.step") still load, by
** this rule: the optimizer must have one group, and every parameter's
** "step" is set to "optim.steps" (version 1 counted one step for all
** parameters, so that is what each had taken). Saving always writes
** version 2.
*/
#ifndef AG_CHECKPOINT_H
#define AG_CHECKPOINT_H
#include "ag_core.h"
#include "ag_module.h"
#include "ag_optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
** Saves m's parameters and buffers, and o's state, step count and
** learning rates when o is not NULL, and r's state when r is not NULL, to
** path. m must not be NULL. A module tensor named like optimizer state or
** "rng.state" is an AG_ERR_ARG, and so is an integer buffer holding a
** value that is not a whole number in int64's range (the message names
** it). Returns AG_OK, or an error with ag_last_error() naming
** ag_checkpoint_save, the path and the reason; on error any old file at
** path is unchanged.
*/
ag_status ag_checkpoint_save(const char *path, const ag_module *m, const ag_optim *o,
                             const ag_rng *r);

/*
** Restores what ag_checkpoint_save stored into m and, when not NULL, o
** and r, which must have the same structure (names, shapes, dtypes; the
** same optimizer type, the same number of parameter groups of the same
** sizes). Strict: every module tensor must be in the file,
** and every file tensor must belong to m, to o ("optim.*": ignored when o
** is NULL) or be "rng.state" (ignored when r is NULL). With o, the file
** must hold an optimizer of the same name; with r, a "rng.state".
** All or nothing: everything is checked before anything changes, so on
** any error m, o and r are as they were. Returns AG_OK or an error with
** ag_last_error() set (AG_ERR_FORMAT for a file that does not fit).
** Values are checked too, where they enter: "optim.steps" in [0,
** AG_OPTIM_MAX_STEPS], the learning rates finite and >= 0 (each group's
** lr and base lr are restored), "rng.state"
** not all zero, and the optimizer's state against what each state may
** hold (ag_optim_state: L-BFGS' history length, the running averages of
** squares, ...); the message names the value and quotes it.
*/
ag_status ag_checkpoint_load(const char *path, ag_module *m, ag_optim *o, ag_rng *r);

/*
** The same with n_extra more persistent f32/f64 tensors extra[0..n_extra)
** (borrowed) saved and restored under their own names beside the
** module's, e.g. a training loop's counters and history (ag_fit.h). A
** name must be new (not the module's, "optim.*" or "rng.state"; else
** AG_ERR_ARG). Loading is as strict as ag_checkpoint_load: every extra
** must be in the file with its shape, and a file holding extras loads
** only through these functions (ag_checkpoint_load calls them unexpected).
*/
ag_status ag_checkpoint_save_extra(const char *path, const ag_module *m, const ag_optim *o,
                                   const ag_rng *r, int n_extra, const ag_named_tensor *extra);
ag_status ag_checkpoint_load_extra(const char *path, ag_module *m, ag_optim *o, ag_rng *r,
                                   int n_extra, const ag_named_tensor *extra);

#ifdef __cplusplus
}
#endif
#endif
