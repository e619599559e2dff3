/* conv_prim.h: one 2-D convolution on oneDNN, its three primitives created
 * once, with weights kept in the canonical OIHW layout outside.
 *
 * Layer kinds that are convolutions underneath (nn/conv.c, a SphereConv that
 * normalises its weights first) use this: create once in compile, then per
 * step forward (reorders OIHW weights to oneDNN's blocked layout, then runs
 * the direct convolution), backward data, backward weights (runs, then
 * reorders the weight gradient back to OIHW). Activations stay in the layout
 * oneDNN prefers; when that differs from the input tensor's layout the input
 * (and its gradient) go through a reorder kept here too.
 *
 * Not here: parameters, initialisation, the net's bookkeeping (nn/conv.c).
 */
#ifndef MT_CONV_PRIM_H
#define MT_CONV_PRIM_H

#include "nn/layer.h"

typedef struct mt_conv_prim {
    mt_net *net;
    int n, ic, ih, iw, oc, oh, ow, k, stride, pad, has_bias;
    int bwd_data, bwd_weights;
    dnnl_memory_desc_t src_md;  /* the caller's input layout */
    dnnl_memory_desc_t csrc_md; /* the layout the convolution reads */
    dnnl_memory_desc_t dst_md;  /* the output layout (give it to the output tensor) */
    dnnl_memory_desc_t wei_md, wei_oihw_md, bias_md;
    dnnl_memory_desc_t diff_wei_md;
    dnnl_primitive_t fwd, bwd_d, bwd_w;
    dnnl_primitive_t src_reorder, dsrc_reorder; /* NULL when layouts agree */
    dnnl_primitive_t wei_reorder, dwei_reorder; /* NULL when OIHW is what it uses */
    dnnl_memory_t m_src, m_csrc, m_wei_oihw, m_wei, m_bias, m_dst;
    dnnl_memory_t m_ddst, m_dcsrc, m_dsrc, m_dwei, m_dwei_oihw, m_dbias;
    void *csrc, *wei, *dcsrc, *dwei; /* private buffers (see mt_conv_prim_buffers) */
    /* backward data's own weight layout, its reorder and buffer */
    dnnl_memory_desc_t bwei_md;
    dnnl_primitive_t bwei_reorder;
    dnnl_memory_t m_bwei;
    void *bwei;
    /* The layer whose profile counters (t_conv, t_reorder) the primitives'
     * time goes to while the net profiles; NULL: none. Set by the caller. */
    mt_layer *owner;
} mt_conv_prim;

/* The private buffers, the layer's slots 0 .. MT_CONV_PRIM_BUFS - 1. */
enum { MT_CONV_PRIM_BUFS = 5 };

/* Creates the primitives for input (n, ic, ih, iw) in layout *src_md. bwd_data
 * / bwd_weights: whether to create those. dt (dnnl_f32 or dnnl_bf16) is the
 * type the convolution computes on: its input (converted by the input
 * reorder when *src_md is another type), output, input gradient and blocked
 * weights; the OIHW weights, the bias and their gradients are fp32 either
 * way. Fills p->dst_md. */
int mt_conv_prim_create(mt_conv_prim *p, mt_net *net, const dnnl_memory_desc_t *src_md, int n,
                        int ic, int ih, int iw, int oc, int k, int stride, int pad, int has_bias,
                        int bwd_data, int bwd_weights, dnnl_data_type_t dt);

/* In the layer's compile: requests the private buffers as l's slots 0..4,
 * each for the span it is read in: [0] the reordered input (forward and
 * backward weights), [1] the blocked weights (forward, and backward data when
 * it reads the same layout), [2] the reordered input gradient, [3] the
 * blocked weight gradient, [4] backward data's weights (backward). */
int mt_conv_prim_buffers(const mt_conv_prim *p, mt_layer *l);

/* Binds data pointers once they exist: input, output, weights (OIHW), bias,
 * their gradients (NULL where not needed) and the private buffers (l->buf). */
int mt_conv_prim_bind(mt_conv_prim *p, float *src, float *dst, float *wei_oihw, float *bias,
                      float *diff_src, float *diff_dst, float *diff_wei_oihw, float *diff_bias,
                      void *const bufs[MT_CONV_PRIM_BUFS]);

int mt_conv_prim_forward(mt_conv_prim *p);
int mt_conv_prim_backward_data(mt_conv_prim *p);    /* writes diff_src */
int mt_conv_prim_backward_weights(mt_conv_prim *p); /* overwrites diff_wei (OIHW), diff_bias */

/* Rebinds the input-gradient pointer (the net may hand out a scratch buffer). */
int mt_conv_prim_set_diff_src(mt_conv_prim *p, float *diff_src);

void mt_conv_prim_destroy(mt_conv_prim *p);

#endif
