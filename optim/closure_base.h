/*
** closure_base.h: what the closure-driven optimizers (lbfgs.c, newton.c)
** share, defined in lbfgs.c (not installed): evaluating the closure and
** its gradient, moving the parameters along a flat vector, and copying
** tensor values into flat double vectors.
*/
#ifndef AG_CLOSURE_BASE_H
#define AG_CLOSURE_BASE_H

#include "optim_base.h"
#include "ag_lbfgs.h"

/* The parameters' total element count (N of the flat vector). */
int64_t agp_params_numel(const ag_optim *o);

/*
** Resets tape t (forcing grad mode on), runs f on it and checks its
** result (not NULL, one element), then the gradient of the loss with
** respect to every parameter: grads[i], a tape tensor of param i's shape
** (ag_grad, create_graph as given). *loss gets the loss value. On error
** returns the status with ag_last_error() set, prefixed with fn.
*/
ag_status agp_closure_eval(const char *fn, ag_optim *o, ag_tape *t, ag_closure f,
                           void *ctx, int create_graph, double *loss, ag_tensor **grads);

/* Copies the values of x (f32 or f64) to out[0..numel). */
void agp_copy_values(ag_tensor *x, double *out);

/*
** Sets every parameter p_i = base_i + alpha * v[off_i .. off_i + numel_i)
** with ops on the optimizer's no-grad tape and ag_assign (base NULL: the
** parameters themselves). v is the flat vector, parameters in order.
*/
ag_status agp_params_axpy(const char *fn, ag_optim *o, ag_tensor *const *base,
                          double alpha, const double *v);

#endif
