/* resnet.h: He et al.'s CIFAR ResNet-n (n = 6k + 2) built on nn/net.h.
 *
 * Three stages of k basic blocks (conv3x3-BN-ReLU-conv3x3-BN, + shortcut,
 * ReLU) with widths 16w, 32w, 64w; the first conv 3x3 to 16w; stages 2 and 3
 * start with stride 2; global average pooling; a linear head; softmax
 * cross-entropy. Shortcuts where the shape changes: option A (subsample +
 * zero-padded channels, no parameters) or option B (1x1 conv stride 2 + BN).
 * Any input shape (C, H, W) and class count.
 *
 * Not here: the hyperspherical variant (its own model file).
 */
#ifndef MT_RESNET_H
#define MT_RESNET_H

#include "nn/net.h"

enum mt_shortcut { MT_SHORTCUT_A = 'A', MT_SHORTCUT_B = 'B' };

/* How a block with the identity shortcut ends: batch norm, add and ReLU as
 * one layer (mt_batchnorm_add, the default) or as mt_batchnorm then mt_add.
 * Either way the same parameters, signature and results to rounding; the
 * fused layer is 1-2% faster (docs/nn.md, Fusions; bench/fused_tail.c
 * measures the two). */
enum mt_block_tail { MT_TAIL_FUSED = 0, MT_TAIL_UNFUSED = 1 };

typedef struct mt_resnet_cfg {
    int depth;       /* n = 6k + 2: 20, 32, 44, 56, 110, ... */
    int width;       /* multiplier w: stage widths 16w, 32w, 64w (1 for He's nets) */
    int shortcut;    /* MT_SHORTCUT_A or MT_SHORTCUT_B */
    int classes;
    int c, h, w;     /* input shape */
    float label_smoothing;
    int precision;   /* enum mt_precision (nn/net.h): MT_FP32 (0) or MT_BF16 */
    int tail;        /* enum mt_block_tail */
} mt_resnet_cfg;

/* Makes one 3x3 convolution (pad 1) of the residual body, stem and blocks:
 * the hyperspherical variant (models/sphere_resnet.h) passes its own. */
typedef int (*mt_resnet_conv_fn)(mt_net *net, int x, int out_c, int stride, void *ctx);

/* ResNet-depth, option A, width 1, 3x32x32 input. */
mt_resnet_cfg mt_resnet_default(int depth, int classes);

/* Adds the layers to an empty net created with the cfg's input shape and
 * returns the loss tensor's id (or a negative status). */
int mt_resnet_build(mt_net *net, const mt_resnet_cfg *cfg);

/* The stem and the three stages only (no pooling, head or loss), every 3x3
 * convolution made by conv3x3(net, x, out_c, stride, ctx) (NULL: a plain
 * bias-free mt_conv). Returns the last block's output id. */
int mt_resnet_body(mt_net *net, const mt_resnet_cfg *cfg, mt_resnet_conv_fn conv3x3, void *ctx);

/* mt_net_create + mt_resnet_build + mt_net_finalize (own buffers when params,
 * grads, state are NULL). */
int mt_resnet_create(mt_net **out, const mt_resnet_cfg *cfg, int batch, float *params,
                     float *grads, float *state);

#endif
