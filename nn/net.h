/* net.h: mutau's networks: a builder, one flat parameter buffer, and the
 * training step (set input -> forward -> loss -> backward -> gradients).
 *
 * A network is a directed acyclic graph of layers over activation tensors,
 * built in order by the calls below. Each builder call takes tensor ids and
 * returns the id of the tensor it creates (>= 0), or a negative MT_ERR_* status
 * with a message (core/status.h). A negative id passed in is returned
 * unchanged, so a model can chain calls and check only the last one:
 *
 *     mt_net *net;  mt_net_create(&net, 128, 3, 32, 32);   // batch, C, H, W
 *     int x = mt_net_input(net);
 *     x = mt_conv(net, x, 16, 3, 1, 1, 0);                  // 16 ch, 3x3, stride 1, pad 1, no bias
 *     x = mt_batchnorm(net, x, 1);                          // BN + fused ReLU
 *     x = mt_global_avgpool(net, x);
 *     x = mt_linear(net, x, 100, 1);
 *     x = mt_softmax_xent(net, x, 0.0f);
 *     if (x < 0 || mt_net_finalize(net, NULL, NULL, NULL) < 0) { ...mt_errmsg()... }
 *
 * Parameters. All trainable parameters of a net live in ONE float buffer and
 * their gradients in another of the same size; non-trainable state (batch-norm
 * running mean and variance) in a third. Their layout is canonical and the same
 * on every machine: segments in layer order, conv weights OIHW, linear weights
 * (out, in) as PyTorch stores them, then biases; batch norm scale then shift
 * (and running mean then running variance in the state buffer). Layers reorder
 * to oneDNN's blocked layouts internally. mt_net_segments() lists every
 * segment with its name, kind, offset, count and shape.
 *
 * Sharing. mt_net_finalize() may be given externally owned buffers: several
 * nets (one per worker thread, one for evaluation, one with a smaller batch)
 * can then read the same parameters. mt_net_clone() rebuilds a finalized net
 * for another batch size on buffers of the caller's choice.
 *
 * Step. mt_net_set_input() copies a caller's NCHW (or NHWC) float batch and its
 * int labels; mt_net_forward() runs the layers (training mode: batch statistics
 * and running-statistics update; inference mode: running statistics);
 * mt_net_loss()/mt_net_probs() give the mean loss and per-sample
 * probabilities; mt_net_backward() OVERWRITES the gradient buffer with the
 * gradient of the mean loss (so no zero_grad is needed between steps;
 * mt_net_zero_grad() exists for callers that sum several backward passes
 * themselves). Forward and backward allocate nothing.
 *
 * Threads. A net may be used by one thread at a time; different nets may step
 * in different threads at once. oneDNN and mutau's own loops use as many
 * OpenMP threads as the CALLING thread's OpenMP setting says: call
 * mt_set_threads(T) in each worker thread before it steps its net. oneDNN's
 * primitives are made for one thread count, so a forward called with another
 * count than the last first re-creates them (once, with allocation): build
 * where convenient, step anywhere. Backward runs with its forward's count.
 *
 * Not here: optimizers (optim/), data loading (datasets/), the ResNet
 * definitions (models/), new layer kinds (nn/layer.h explains how to add one).
 */
#ifndef MT_NET_H
#define MT_NET_H

#include "core/rng.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct mt_net mt_net;

/* ---- building ---------------------------------------------------------- */

/* A new, empty net for batches of `batch` images of shape (c, h, w); its input
 * is tensor mt_net_input(net). */
int mt_net_create(mt_net **out, int batch, int c, int h, int w);
int mt_net_input(const mt_net *net);

/* 2-D convolution: `out_c` channels, square kernel k, stride, zero padding pad
 * on each side, optional bias. Output (out_c, (h + 2 pad - k)/stride + 1, ...). */
int mt_conv(mt_net *net, int x, int out_c, int k, int stride, int pad, int bias);

/* Batch normalization over (N, H, W) per channel, with learnable scale and
 * shift, eps 1e-5 and running-statistics momentum 0.1 (PyTorch's defaults:
 * running = (1 - m) running + m batch, unbiased variance); relu != 0 fuses a
 * ReLU on the output. mt_batchnorm_ex() sets momentum and eps. */
int mt_batchnorm(mt_net *net, int x, int relu);
int mt_batchnorm_ex(mt_net *net, int x, int relu, float momentum, float eps);

int mt_relu(mt_net *net, int x);

/* a + b (same shape), with an optional fused ReLU: the residual block's tail. */
int mt_add(mt_net *net, int a, int b, int relu);

/* relu(bn(x) + s) in one layer, the residual block's tail: the same
 * parameters, statistics, signature and results (to rounding) as
 * mt_add(net, mt_batchnorm(net, x, 0), s, relu), with fewer passes over
 * memory. x and s must be different tensors. */
int mt_batchnorm_add(mt_net *net, int x, int s, int relu);
int mt_batchnorm_add_ex(mt_net *net, int x, int s, int relu, float momentum, float eps);

/* The option-A residual shortcut: x[:, :, ::stride, ::stride] with its
 * channels zero-padded to out_c (out_c - c)/2 on each side, no parameters. */
int mt_shortcut_pad(mt_net *net, int x, int out_c, int stride);

/* Pooling windows of k x k with stride and zero padding (padding is excluded
 * from averages). Global average pooling gives (c, 1, 1). */
int mt_maxpool(mt_net *net, int x, int k, int stride, int pad);
int mt_avgpool(mt_net *net, int x, int k, int stride, int pad);
int mt_global_avgpool(mt_net *net, int x);

/* Fully connected layer on the flattened (c*h*w) input: out = x W^T + b, with
 * W stored (out, in). Output shape (out, 1, 1). */
int mt_linear(mt_net *net, int x, int out, int bias);

/* Softmax cross-entropy against the labels given to mt_net_set_input(); the
 * last layer of a trainable net, exactly one per net. label_smoothing in
 * [0, 1): the target is (1 - s) one-hot + s / classes. Its output tensor holds
 * the probabilities (classes, 1, 1). */
int mt_softmax_xent(mt_net *net, int logits, float label_smoothing);

/* Arithmetic precision of the activations. MT_FP32 (the default): every
 * tensor fp32. MT_BF16: convolutions, batch norm, pooling, ReLU, the
 * residual add and the option-A shortcut compute on bf16 activations and
 * activation gradients (oneDNN's bf16 primitives); the parameters, their
 * gradients (the convolution's weight gradient is accumulated in fp32 by
 * oneDNN), batch-norm statistics, the linear layer and the loss stay fp32.
 * Convolution weights are converted to a bf16 copy in oneDNN's layout once
 * per forward (docs/nn.md). Needs a CPU with native bf16 (AVX512_BF16):
 * mt_bf16_supported(). */
enum mt_precision { MT_FP32 = 0, MT_BF16 = 1 };

/* Before finalize: sets the precision (clones inherit it). MT_BF16 on a CPU
 * without native bf16 is MT_ERR_ARG. */
int mt_net_set_precision(mt_net *net, int precision);
int mt_net_precision(const mt_net *net);

/* 1 when oneDNN runs bf16 natively here (AVX512_BF16 or newer, after any
 * ONEDNN_MAX_CPU_ISA / DNNL_MAX_CPU_ISA limit); 0 otherwise. */
int mt_bf16_supported(void);

/* "fp32" / "bf16" and back (-1 for anything else). */
const char *mt_precision_name(int precision);
int mt_precision_parse(const char *name);

/* Allocates activations and creates every oneDNN primitive. params, grads and
 * state may each be NULL (the net allocates and owns it) or a caller's buffer
 * of mt_net_param_count()/mt_net_state_count() floats that must outlive the net.
 * Call mt_net_init() to initialise parameters (shared buffers: once). */
int mt_net_finalize(mt_net *net, float *params, float *grads, float *state);

/* A finalized copy of `src`'s layers for another batch size, on the given
 * buffers (NULL: own ones, uninitialised). Giving src's own buffers shares
 * its parameters; then the two nets must not step at the same time if they
 * also share grads. */
int mt_net_clone(mt_net **out, const mt_net *src, int batch, float *params, float *grads,
                 float *state);

/* Before finalize: a net for inference only (evaluation). It keeps no
 * gradients and nothing for backward, makes oneDNN's inference primitives,
 * and reuses activation memory layer to layer, so it holds a few
 * activations whatever its depth; a training forward or backward on it is
 * an error, and only tensors no layer consumes (the outputs, the
 * probabilities) can be read after forward. mt_net_clone_inference() is
 * mt_net_clone() into such a net (no gradient buffer); with share_memory it
 * borrows src's activation memory (mt_net_borrow_memory). */
int mt_net_inference(mt_net *net, int on);
int mt_net_clone_inference(mt_net **out, const mt_net *src, int batch, float *params,
                           float *state, int share_memory);

/* Before finalize: run in the lender's shared activation memory (nn/buffers.c)
 * when it is large enough, instead of allocating one's own; otherwise
 * allocate as usual. Only for two nets that never step at the same time,
 * such as a training net and its evaluation net evaluated between steps:
 * what one leaves there between steps is garbage to the other (nothing a
 * net keeps from one step to the next lives there). The lender must outlive
 * the net. NULL: stop borrowing. */
int mt_net_borrow_memory(mt_net *net, const mt_net *lender);

void mt_net_free(mt_net *net);

/* mt_net_create + build(net, cfg) + mt_net_finalize, freeing the net on any
 * failure (*out NULL then): the body of a model's create function. build
 * adds the layers and returns a tensor id or a negative status. */
typedef int (*mt_net_build_fn)(mt_net *net, const void *cfg);
int mt_net_create_built(mt_net **out, int batch, int c, int h, int w, mt_net_build_fn build,
                        const void *cfg, float *params, float *grads, float *state);

/* ---- parameters --------------------------------------------------------- */

enum mt_seg_kind {
    MT_SEG_CONV_WEIGHT,   /* (out, in, kh, kw) */
    MT_SEG_LINEAR_WEIGHT, /* (out, in) */
    MT_SEG_BIAS,          /* (out) */
    MT_SEG_BN_SCALE,      /* (c) */
    MT_SEG_BN_SHIFT,      /* (c) */
    MT_SEG_BN_MEAN,       /* (c), state buffer */
    MT_SEG_BN_VAR,        /* (c), state buffer */
    MT_SEG_OTHER
};

/* One named piece of the parameter (or state) buffer. Names are
 * "<layer>.<param>", e.g. "conv3.weight", "bn3.scale", "fc.bias". */
typedef struct mt_param_seg {
    char name[48];
    int kind;       /* enum mt_seg_kind */
    int in_state;   /* 1: lives in the state buffer, not the parameter buffer */
    size_t offset;  /* in floats, from the start of its buffer */
    size_t count;
    int ndim;
    int shape[4];
    int layer;      /* index of the owning layer */
} mt_param_seg;

size_t mt_net_param_count(const mt_net *net);
size_t mt_net_state_count(const mt_net *net);
float *mt_net_params(mt_net *net);
float *mt_net_grads(mt_net *net);
float *mt_net_state(mt_net *net);

/* The segments of the parameter buffer then of the state buffer, in order. */
int mt_net_segments(const mt_net *net, const mt_param_seg **segs);

/* Conv weights: He/Kaiming normal, std sqrt(2 / (in k k)); linear weight and
 * bias: U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's defaults); batch norm scale 1,
 * shift 0, running mean 0, running variance 1; other biases 0. Draws in
 * segment order, so a seed gives the same parameters on every machine. */
int mt_net_init(mt_net *net, mt_rng *rng);

void mt_net_zero_grad(mt_net *net);

/* ---- the step ----------------------------------------------------------- */

/* Copies n <= batch images (NCHW or NHWC floats) and n labels in [0, classes)
 * (labels may be NULL for inference without a loss). n < batch is for
 * inference only: the remaining slots are zero and loss, probabilities and
 * accuracy cover the first n; a training forward needs n == batch. */
int mt_net_set_input(mt_net *net, const float *x, int n, const int *labels);
int mt_net_set_input_nhwc(mt_net *net, const float *x, int n, const int *labels);

/* train != 0: batch statistics, running statistics updated, caches kept for
 * backward. A NaN/Inf loss returns MT_ERR_DIVERGED. */
int mt_net_forward(mt_net *net, int train);
/* Gradient of the mean loss of the last training forward into mt_net_grads(). */
int mt_net_backward(mt_net *net);

/* Backward from tensor `id` with the given gradient of some scalar w.r.t.
 * that tensor (NCHW floats), through the layers that produced it: gradient
 * checks of single layers, and losses computed outside the net. */
int mt_net_backward_from(mt_net *net, int id, const float *diff_nchw);

/* Before finalize: also compute the gradient w.r.t. the net's input (read it
 * with mt_net_read_diff(net, mt_net_input(net), ...)). Off by default. */
int mt_net_want_input_grad(mt_net *net, int on);

/* Before finalize: give every activation its own gradient buffer, so that
 * mt_net_read_diff() can read any of them after backward (costs memory:
 * about as much as the activations). Off by default. */
int mt_net_keep_grads(mt_net *net, int on);

/* Before finalize: give every activation its own buffer, so that mt_net_read()
 * can read any of them after forward. By default an activation that backward
 * does not read (a batch norm's output that only feeds a residual add, ...)
 * shares memory with later ones. Off by default. */
int mt_net_keep_activations(mt_net *net, int on);

/* Before finalize: whether a training net recomputes activations for
 * backward instead of keeping them (a batch norm's output, a SphereConv's
 * output: nn/buffers.c). It recomputes only when keeping them would make its
 * shared memory (the arena) larger by more than `bytes`: recomputing costs a
 * few percent of the step, so it is worth it only where the memory matters.
 * The results are the same bit for bit either way. 0: recompute whenever it
 * saves memory; SIZE_MAX: never. Default: $MUTAU_RECOMPUTE_ALLOWANCE (a size,
 * as "256M", "1G" or "0"; a bad one fails finalize naming it), else
 * MT_RECOMPUTE_ALLOWANCE. The choice depends on the net's layers, shapes,
 * batch and precision only, so every net of a run with the same ones (the
 * workers of a run) chooses alike. Clones inherit the allowance. */
#define MT_RECOMPUTE_ALLOWANCE ((size_t)256 * 1000 * 1000)
int mt_net_recompute_allowance(mt_net *net, size_t bytes);

float mt_net_loss(const mt_net *net);          /* mean over the valid samples */
const float *mt_net_probs(const mt_net *net);  /* (n, classes), row-major */
int mt_net_classes(const mt_net *net);
int mt_net_batch(const mt_net *net);
/* How many of the valid samples have their label among the k most probable. */
int mt_net_correct(const mt_net *net, int k);

/* Copies tensor `id` of the last forward (or its gradient after backward) in
 * NCHW order into out (n*c*h*w floats); for tests and inspection. Gradient
 * buffers of intermediate tensors are shared during backward (their
 * lifetimes do not overlap): after backward only the input's gradient is
 * sure to be there, unless mt_net_keep_grads(net, 1) was called. Likewise
 * activations that backward does not read (mt_net_keep_activations). */
int mt_net_read(mt_net *net, int id, float *out);
int mt_net_read_diff(mt_net *net, int id, float *out);
int mt_net_shape(const mt_net *net, int id, int shape[4]);

/* ---- facts -------------------------------------------------------------- */

/* Forward multiply-adds per image (convolutions and linear layers). */
double mt_net_macs(const mt_net *net);

/* A 64-bit hash of the layer kinds, their configurations and shapes
 * (batch excluded) and the parameter/state counts: a checkpoint made for one
 * net loads only into a net of the same signature. */
uint64_t mt_net_signature(const mt_net *net);

/* Sets the calling thread's number of OpenMP (and so oneDNN) threads. */
void mt_set_threads(int n);
int mt_threads(void);

/* Per-layer timing: when on, forward/backward time each layer, and within a
 * convolution its convolution primitives and weight reorders apart, and the
 * recomputation of dropped outputs for backward (clock reads around each;
 * off, a test of a flag). The counters add up over steps until reset.
 * mt_net_profile_print() writes the time per step by kind (weight reorders
 * and recomputation in rows of their own), then per layer, slowest first.
 * step_s and optimizer_s are the seconds the caller measured over the same
 * `steps` steps for the whole step and for its optimizer update (0: not
 * measured); with step_s it also prints the time between layers and the
 * step against its convolution primitives alone. */
void mt_net_profile(mt_net *net, int on);
void mt_net_profile_reset(mt_net *net);
void mt_net_profile_print(const mt_net *net, FILE *out, int steps, double step_s,
                          double optimizer_s);
/* The seconds the net's convolution primitives took since the last reset
 * (all passes, weight reorders not counted): what mt_net_profile_print sets
 * the step against. */
double mt_net_profile_conv_seconds(const mt_net *net);

/* What the net's own allocations hold (bytes): activation and gradient
 * buffers of its own and the shared arena (nn/buffers.c: also the layers'
 * scoped buffers, caches for backward, reordered weights, the gradient of
 * summed branches), layers' private buffers of their own, the parameter,
 * gradient and state buffers it owns, and scratch (oneDNN's scratchpad,
 * labels). Kinds' per-channel arrays and oneDNN's primitives are not
 * counted. */
typedef struct mt_net_mem {
    size_t own, shared, layer_private, params, scratch, total;
    size_t borrowed; /* the lender's shared memory this net runs in (not in total) */
    int recomputed;         /* activations recomputed for backward each step (0: keeps them) */
    size_t recompute_saves; /* the shared memory recomputing saves, or would save: the
                             * net's choice compares it with its allowance */
} mt_net_mem;
int mt_net_memory(const mt_net *net, mt_net_mem *m);
/* One line per layer (output size, own or shared memory, private buffers)
 * and the totals. */
void mt_net_memory_print(const mt_net *net, FILE *out);

/* Printable summary: one line per layer with shapes and parameter counts. */
void mt_net_print(const mt_net *net, FILE *out);

#endif
