/*
** ag.h: the whole public API of the engine. See autograd/ag_core.h first:
** it is the manual for tensors, the tape and backward.
*/
#ifndef AG_H
#define AG_H

#include "ag_core.h"
#include "ag_custom.h"
#include "ag_recompute.h"
#include "ag_vjp.h"
#include "ag_jvp.h"
#include "ag_plan.h"
/* ops */
#include "ag_unary.h"
#include "ag_binary.h"
#include "ag_reduce.h"
#include "ag_shape.h"
#include "ag_linalg.h"
#include "ag_conv.h"
#include "ag_update.h"
#include "ag_random.h"
#include "ag_arrange.h"
#include "ag_search.h"
#include "ag_scan.h"
#include "ag_mask.h"
#include "ag_sample.h"
#include "ag_threads.h"
#include "ag_pool.h"
#include "ag_pad.h"
#include "ag_norm.h"
#include "ag_vmath.h"
#include "ag_attention.h"
#include "ag_rnn_cell.h"
/* nn */
#include "ag_module.h"
#include "ag_layers.h"
#include "ag_conv_layers.h"
#include "ag_cnn_layers.h"
#include "ag_rnn.h"
#include "ag_init.h"
#include "ag_loss.h"
#include "ag_word2vec.h"
#include "ag_safetensors.h"
#include "ag_data.h"
#include "ag_dataset_io.h"
#include "ag_batch_iter.h"
#include "ag_summary.h"
#include "ag_attention_layers.h"
/* optim */
#include "ag_optim.h"
#include "ag_optimizers.h"
#include "ag_sched.h"
#include "ag_clip.h"
#include "ag_lbfgs.h"
#include "ag_minimize.h"
#include "ag_checkpoint.h"
#include "ag_fit.h"

#endif
