/* net_internal.h: the inside of mt_net, shared by nn/net.c and the helpers
 * in nn/. Layer kinds use the functions of nn/layer.h, not these fields.
 */
#ifndef MT_NET_INTERNAL_H
#define MT_NET_INTERNAL_H

#include "nn/layer.h"

/* One allocation of the net's activations, gradients and layer buffers
 * (nn/buffers.c): shared by buffers whose lifetimes do not overlap, or one
 * buffer's own. */
typedef struct mt_net_alloc {
    void *p;
    size_t bytes;
    int shared;    /* a piece of the arena, at offset */
    size_t offset;
} mt_net_alloc;

/* A recomputation for backward: layer's output, before the step at time `at`
 * (nn/buffers.c), needed until time `end`. */
typedef struct mt_regen {
    int layer, at, end;
} mt_regen;

struct mt_net {
    int batch, c, h, w;
    mt_layer **layers;
    int n_layers, cap_layers;
    mt_tensor **tensors;
    int n_tensors, cap_tensors;
    mt_param_seg *segs;
    int n_segs, cap_segs;
    size_t n_param, n_state;
    float *params, *grads, *state;
    int own_params, own_grads, own_state;
    int finalized;
    int status; /* the first builder error, sticky */
    int want_input_grad;
    int loss_layer; /* index, -1 when none */
    int classes;
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    size_t scratch_size;
    void *scratch;
    dnnl_memory_t m_scratch;
    int *labels;
    int n_valid;
    float loss;
    int trained; /* the last forward was a training one */
    int has_labels;
    int profile;
    int keep_grads;   /* every activation keeps its own gradient buffer */
    int keep_acts;    /* every activation keeps its own buffer */
    int inference;    /* forward only: no gradients, no caches for backward */
    mt_net_alloc *allocs; /* nn/buffers.c */
    int n_allocs, cap_allocs;
    void *arena;        /* the shared allocations' memory */
    size_t arena_bytes; /* 0 when borrowed */
    const mt_net *lender;
    mt_regen *regen; /* in order of time */
    int n_regen;
    int allowance_set;       /* mt_net_recompute_allowance was called */
    size_t allowance;        /* its bytes */
    size_t regen_saves;      /* arena bytes recomputing saves (chosen or not) */
    int threads; /* OpenMP threads the primitives were created for */
    int precision; /* enum mt_precision */
};

/* Re-creates every primitive for the calling thread's OpenMP thread count
 * when it differs from the one the net was built for (nn/net_threads.c). */
int mt_net_match_threads(mt_net *net);
int mt_net_recompile(mt_net *net);
/* (Re)allocates the shared scratchpad for net->scratch_size bytes; binds
 * every layer's memory objects. */
int mt_net_scratch_alloc(mt_net *net);
int mt_net_bind_all(mt_net *net);

/* Places every activation, gradient and layer buffer (shared where lifetimes
 * allow, nn/buffers.c) and frees them all. */
int mt_buffers_alloc(mt_net *net);
void mt_buffers_free(mt_net *net);
/* After a recompile: gives the buffer at *where at least `bytes` (a new one
 * when it had none, or when it was in the arena: memory of its own). */
int mt_buffers_regrow(mt_net *net, void **where, size_t bytes);
/* Recomputes the activations due before the step at time `at` (backward of
 * layer i: 2L - 1 - i); at < 0: those due before time `from` and still
 * needed then (a backward that starts midway). */
int mt_buffers_regen(mt_net *net, int from, int at);
/* Bytes of the shared arena (1: 0 when borrowed) or the own (0) allocations. */
size_t mt_buffers_bytes(const mt_net *net, int shared);

/* The configurations of a batch norm (nn/batchnorm.c) and of a residual add
 * (nn/add.c), here because the net's signature hashes their bytes and the
 * fused kind that stands for the two (nn/bn_add.c) must sign with the very
 * same bytes: one definition keeps them from drifting apart. */
typedef struct mt_bn_cfg {
    int relu;
    float momentum, eps;
} mt_bn_cfg;

typedef struct mt_add_cfg {
    int relu;
} mt_add_cfg;

/* In infer: a batch norm's output shape (input 0's) and its parameters
 * (scale, shift) and state (running mean, running variance), declared in
 * this order by the kinds that hold them (nn/batchnorm.c, nn/bn_add.c). */
int mt_batchnorm_declare(mt_layer *l);

/* A batch norm's parameters and state at their start (scale 1, shift 0;
 * running mean 0, running variance 1) for input 0's channels: the init of
 * the kinds that hold them (nn/batchnorm.c, nn/bn_add.c). */
int mt_batchnorm_init(mt_layer *l, mt_rng *rng);

/* After a training batch of `count` values per channel with this mean and
 * biased variance: one channel's running statistics by PyTorch's rule,
 * running = (1 - momentum) running + momentum batch, the variance unbiased
 * by count / (count - 1). One rule for the kinds that hold them
 * (nn/batchnorm.c, nn/bn_add.c), so that the two cannot drift apart. */
void mt_batchnorm_update_running(float *running_mean, float *running_var, float mean, float var,
                                 double count, float momentum);

/* Aligned allocation of n bytes, zeroed (NULL on failure). */
void *mt_alloc(size_t bytes);
void mt_free(void *p);

/* For layouts whose only blocking is on channels (nchw, nhwc, nChw16c ...):
 * element (n, c, h, w) is at n s0 + (c / block) s1 + h s2 + w s3 + c % block.
 * Returns 0 for other layouts. */
int mt_md_channel_blocking(const dnnl_memory_desc_t *md, size_t strides[4], int *block);
/* A layout of the same family and data type as `like` (nChw16c, nhwc, ...)
 * for new dims. */
void mt_md_like(dnnl_memory_desc_t *out, const dnnl_memory_desc_t *like, int n, int c, int h,
                int w);

#endif
