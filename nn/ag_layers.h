/*
** ag_layers.h: the layers of nn/, as PyTorch's torch.nn modules of the
** same names. Each constructor returns an ag_module (see ag_module.h): run
** it with ag_module_forward(m, t, x), switch it with ag_module_train, list
** or load its tensors by name (PyTorch's state_dict names: "weight",
** "bias", "running_mean", ...), free it with ag_module_free.
**
**     ag_rng *rng = ag_rng_new(0);
**     ag_module *net = ag_sequential_new(3, (ag_module *[]){
**         ag_linear_new(784, 128, 1, AG_F32, rng),
**         ag_relu_new(),
**         ag_linear_new(128, 10, 1, AG_F32, rng)});
**     if (!net) fprintf(stderr, "%s\n", ag_last_error());
**     ag_tensor *logits = ag_module_forward(net, t, x);     // x is [N,784]
**
** Every layer's forward is a composition of ops, so its gradients of every
** order come from the ops' rules (gradcheck and gradgradcheck pass in f64).
**
** Errors. Constructors return NULL and set ag_last_error() (bad sizes or
** probabilities, an unknown dtype, out of memory).
** Forward returns NULL with the error on the tape; the message starts with
** the layer's description and names the shapes, e.g.
** "Linear(in_features=3, out_features=2): x's last dim is 5, expected 3
** (x is [4,5])". A layer with tensors of its own takes x of its dtype
** only (AG_ERR_DTYPE otherwise; cast with ag_cast); the activations
** without parameters take either dtype.
**
** Generators passed to constructors are borrowed: Linear and Embedding use
** theirs during construction only; Dropout keeps drawing from its own, so
** it must outlive the layer. Every layer accepts a NULL generator: layers
** with weights (Linear, Embedding, the convolutions of ag_conv_layers.h)
** then start all zeros, meant to be loaded (ag_module_load); Dropout and
** Dropout2d then have no generator until ag_dropout_set_rng gives them
** one, and until then run in evaluation only (a training forward is an
** error naming the layer):
**     ag_module *net = ag_sequential_new(2, (ag_module *[]){
**         ag_linear_new(784, 10, 1, AG_F32, NULL), ag_softmax_new(1)});
**     if (ag_module_load(net, "net.safetensors") != AG_OK) ...
*/
#ifndef AG_LAYERS_H
#define AG_LAYERS_H

#include "ag_core.h"
#include "ag_module.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ linear --- */

/*
** Linear(in_features, out_features, bias): y = x @ weight^T + bias, with
** "weight" [out, in] and "bias" [out] (no bias when bias is 0), PyTorch's
** layout. x is [..., in] with any number of leading dims (1-D [in] too);
** y is [..., out]. Init as PyTorch: weight kaiming_uniform(a = sqrt(5)),
** bias U(-1/sqrt(in), 1/sqrt(in)), both drawn from rng (weight first);
** all zeros when rng is NULL (to be loaded).
** For another init, fill the tensors with ag_init_* through
** ag_module_get(m, "weight"). in and out may be 0.
*/
ag_module *ag_linear_new(int64_t in_features, int64_t out_features, int bias,
                         ag_dtype dt, ag_rng *rng);

/* -------------------------------------------------------- sequential --- */

/*
** Sequential: the modules run in order, each output the next input.
** Children are named "0", "1", ..., so their tensors are "0.weight",
** "2.running_mean", ... as in PyTorch. Takes ownership of the n modules,
** also on failure (a NULL among them is AG_ERR_ARG and frees the others;
** the message keeps the last error, most likely the failed constructor's:
** "ag_sequential_new: modules[1] is NULL (last error: ag_linear_new:
** ...)"). A module may appear once (a repeat is AG_ERR_ARG; each module
** is freed once), and not be another module's child (AG_ERR_ARG, left to
** its parent; see ag_module_add_child). modules may be NULL when n is 0.
** An empty Sequential returns x, after checking it as an op does (NULL,
** stale or of another tape: an error on t).
*/
ag_module *ag_sequential_new(int n, ag_module *const *modules);
/* Appends m (named by its position); takes ownership of m, also on
   failure (but as ag_module_add_child). AG_ERR_ARG when seq is not a
   Sequential or m is NULL. */
ag_status ag_sequential_add(ag_module *seq, ag_module *m);
/* The number of modules in seq (0 if seq is not a Sequential). */
int ag_sequential_len(const ag_module *seq);
/* Module i of seq (borrowed), or NULL when out of range. */
ag_module *ag_sequential_get(const ag_module *seq, int i);

/* -------------------------------------------------------- activations --- */

/* Elementwise, any shape, no parameters: the ops of ag_unary.h as layers. */
ag_module *ag_sigmoid_new(void);
ag_module *ag_tanh_new(void);
ag_module *ag_relu_new(void);
/* x > 0 ? x : negative_slope * x (PyTorch's default slope: 0.01). */
ag_module *ag_leaky_relu_new(double negative_slope);
/* x > 0 ? x : alpha * (e^x - 1) (PyTorch's default alpha: 1). */
ag_module *ag_elu_new(double alpha);
/* Softmax along axis (negative counts from the end); PyTorch's dim. */
ag_module *ag_softmax_new(int axis);
/* GELU with PyTorch's approximate argument: "none" (or NULL: x Phi(x), the
   erf form, ag_gelu) or "tanh" (ag_gelu_tanh); any other string is
   AG_ERR_ARG. */
ag_module *ag_gelu_new(const char *approximate);
ag_module *ag_silu_new(void);                          /* x sigmoid(x) */
ag_module *ag_softsign_new(void);                      /* x / (1 + |x|) */
/* min(max(x, min_val), max_val), no gradient at the bounds (PyTorch's
   defaults: -1, 1). AG_ERR_ARG unless min_val < max_val (PyTorch's
   assertion; a NaN fails it, an infinite bound does not). */
ag_module *ag_hardtanh_new(double min_val, double max_val);
ag_module *ag_log_sigmoid_new(void);                   /* ln sigmoid(x) */

/*
** PReLU: y = max(0, x) + a * min(0, x) with a learnable slope "weight" of
** num_parameters elements, all set to init (PyTorch's default 0.25).
** num_parameters is 1 (one slope for everything) or the number of
** channels: axis 1 of x ([N, C] or [N, C, ...]), axis 0 of a 1-D x.
** The gradient at x == 0 is a, as PyTorch's.
*/
ag_module *ag_prelu_new(int64_t num_parameters, double init, ag_dtype dt);

/* ------------------------------------------------------ normalization --- */

/* BatchNorm1d's momentum for a cumulative moving average (PyTorch's
   momentum=None): the running stats become the mean of all batches seen. */
#define AG_MOMENTUM_CUMULATIVE (-1.0)

/*
** BatchNorm1d(num_features, eps, momentum, affine) on x [N, C] or
** [N, C, L], statistics per channel C over N (and L). Training:
** y = (x - mean) / sqrt(var + eps) * weight + bias with the batch mean and
** biased variance, and the buffers are updated in place (no gradient):
**     running_mean = (1 - momentum) * running_mean + momentum * mean
**     running_var  = (1 - momentum) * running_var  + momentum * var_unbiased
** and num_batches_tracked += 1. Evaluation uses running_mean and
** running_var instead. Parameters "weight" (ones) and "bias" (zeros) when
** affine; buffers "running_mean" (zeros), "running_var" (ones) and
** "num_batches_tracked" (0), the names of PyTorch's state_dict.
** PyTorch's defaults: eps 1e-5, momentum 0.1, affine 1. momentum is in
** [0, 1] or AG_MOMENTUM_CUMULATIVE; eps >= 0.
** Training with one value per channel (N * L == 1) is an AG_ERR_SHAPE
** error, as in PyTorch ("Expected more than 1 value per channel when
** training"). The buffers are checked where a forward reads them (a
** checkpoint or a write may have put anything there): in training
** num_batches_tracked must be a whole number in [0, 2^53], in evaluation
** running_var must be >= 0 (not NaN); else AG_ERR_STATE on the tape.
** num_batches_tracked is an integer buffer (ag_module_add_int_buffer):
** a float of the layer's dtype here, saved as I64 as PyTorch's int64, and
** a PyTorch checkpoint's I64 (or an older file's F32/F64) loads into it.
** Differences: PyTorch does not
** check the buffers (a negative running_var gives NaN outputs there).
*/
ag_module *ag_batchnorm1d_new(int64_t num_features, double eps, double momentum,
                              int affine, ag_dtype dt);
/*
** With PyTorch's track_running_stats: when 0 the layer has no buffers
** (its state_dict is "weight" and "bias" with affine, else empty, as
** PyTorch's) and normalizes with the batch statistics in evaluation too;
** momentum is then unused (but still checked). One value per channel is
** then an AG_ERR_SHAPE error in evaluation too, as in PyTorch.
** ag_batchnorm1d_new is this with track_running_stats 1.
*/
ag_module *ag_batchnorm1d_new_ex(int64_t num_features, double eps, double momentum,
                                 int affine, int track_running_stats, ag_dtype dt);

/*
** LayerNorm over the last axis of size normalized_size:
** y = (x - mean) / sqrt(var + eps) * weight + bias, mean and biased
** variance over that axis, for x [..., D]. Parameters "weight" (ones) and
** "bias" (zeros) of shape [D] when affine (PyTorch's elementwise_affine).
** PyTorch's defaults: eps 1e-5, affine 1. For a normalized_shape of
** several axes, ag_layernorm_new_shape.
*/
ag_module *ag_layernorm_new(int64_t normalized_size, double eps, int affine,
                            ag_dtype dt);
/*
** LayerNorm(normalized_shape): the same over the trailing ndim axes of x
** (1 <= ndim <= 8), which must equal normalized_shape[0..ndim) (each >= 1;
** AG_ERR_SHAPE naming both otherwise, "LayerNorm((3, 4)): x's last 2 dims
** must be [3,4] (x is [2,4,3])"): mean and biased variance over all their
** elements together, "weight" and "bias" of shape normalized_shape.
** ag_layernorm_new(D, ...) is ag_layernorm_new_shape(1, &D, ...).
*/
ag_module *ag_layernorm_new_shape(int ndim, const int64_t *normalized_shape, double eps,
                                  int affine, ag_dtype dt);

/* ------------------------------------------------------------ dropout --- */

/*
** Dropout(p): in training y = x * mask with ag_dropout_mask (each element
** zeroed with probability p, the rest scaled by 1/(1-p), so E[y] = x),
** one draw per element from rng in row-major order: the same generator
** state gives the same mask. In evaluation the forward returns x itself,
** as PyTorch (x checked as an op checks its input: NULL, stale or of
** another tape is an error on t). p in [0, 1] (PyTorch's default 0.5).
** rng is borrowed and must outlive the layer. rng may be NULL (a model
** built to be loaded, or for evaluation): a training forward is then
** AG_ERR_STATE on t, "Dropout(p=0.5): training needs a generator ...",
** until ag_dropout_set_rng gives one; with p = 0 it returns x, as there
** is nothing to draw.
*/
ag_module *ag_dropout_new(double p, ag_rng *rng);

/*
** Gives m, when it is a Dropout or Dropout2d, and every Dropout and
** Dropout2d among its descendants (a Sequential's, a Transformer layer's)
** the generator rng (borrowed: it must outlive them; NULL takes it away),
** replacing any they had. Other modules are untouched; a tree with no
** dropout layer is fine. AG_OK, or AG_ERR_ARG for a NULL m.
*/
ag_status ag_dropout_set_rng(ag_module *m, ag_rng *rng);

/* ---------------------------------------------------------- embedding --- */

/*
** Embedding(num_embeddings, embedding_dim): a lookup table "weight"
** [num, dim], init N(0, 1) from rng as PyTorch (zeros when rng is NULL,
** to be loaded). The forward takes a tensor
** of indices stored as f32 or f64 values (any shape S, either dtype: an
** index tensor, the API's one integer index form, see ag_index_tensor)
** and returns S + [dim] in the layer's dtype; a value that is not an integer
** in [0, num) is an AG_ERR_ARG naming its position. The indices get no
** gradient. Differences: no sparse gradients; padding_idx, max_norm and
** scale_grad_by_freq are ag_embedding_new_full's.
*/
ag_module *ag_embedding_new(int64_t num_embeddings, int64_t embedding_dim,
                            ag_dtype dt, ag_rng *rng);

/* padding_idx of ag_embedding_new_full when there is none (PyTorch's None). */
#define AG_EMBEDDING_NO_PADDING INT64_MIN

/*
** Embedding with PyTorch's options (its defaults: AG_EMBEDDING_NO_PADDING,
** max_norm 0 meaning None, norm_type 2, scale_grad_by_freq 0):
**   padding_idx in [-num, num) (negative counts from the end): that row
**   is zeroed at construction, and the forward never sends it a gradient
**   (its grad stays zero; its value is returned as it is);
**   max_norm > 0: before each lookup, every row the indices name whose
**   norm_type-norm is above max_norm is scaled in place, without
**   gradient, by max_norm / (norm + 1e-7), as PyTorch's embedding_renorm_
**   (the table changes: an optimizer's state is not told);
**   scale_grad_by_freq: the gradient reaching a row from one lookup is
**   divided by the number of times its index appears in that lookup.
** Where a gradient is scaled (padding_idx or scale_grad_by_freq hit),
** the result is d + (rows - d) * s with d the rows detached: equal to
** the rows, but a row holding an Inf or NaN gives NaN there. Difference
** from PyTorch: the scale applies on every way back through the lookup,
** so a second-order gradient through a scaled lookup is scaled twice
** (PyTorch's double backward of embedding leaves scale_grad_by_freq out
** of one of the two); with padding_idx alone both give zeros. Errors as
** ag_embedding_new, and AG_ERR_ARG for a padding_idx out of range, a
** negative or NaN max_norm, a norm_type not > 0.
*/
ag_module *ag_embedding_new_full(int64_t num_embeddings, int64_t embedding_dim,
                                 int64_t padding_idx, double max_norm, double norm_type,
                                 int scale_grad_by_freq, ag_dtype dt, ag_rng *rng);
/* The rows idx[0..n) of m's table: [n, dim] (ag_index_select), the
   forward for int64 indices. NULL with the error on t when m is not an
   Embedding or an index is out of range. */
ag_tensor *ag_embedding_lookup(ag_module *m, ag_tape *t, const int64_t *idx, int64_t n);

#ifdef __cplusplus
}
#endif
#endif /* AG_LAYERS_H */
