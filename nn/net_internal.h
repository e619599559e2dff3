/* net_internal.h: the inside of mt_net, shared by nn/net.c and the helpers
 * in nn/. Layer kinds use the functions of nn/layer.h, not these fields.
 */
#ifndef MT_NET_INTERNAL_H
#define MT_NET_INTERNAL_H

#include "nn/layer.h"

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
    float *diff_scratch; /* for inputs whose gradient is summed */
    size_t diff_scratch_bytes;
    int *labels;
    int n_valid;
    float loss;
    int trained; /* the last forward was a training one */
    int has_labels;
    int profile;
};

/* Aligned allocation of n bytes, zeroed (NULL on failure). */
void *mt_alloc(size_t bytes);
void mt_free(void *p);

#endif
