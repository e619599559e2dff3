/* sphere_resnet.h: SphereResNet-n, the CIFAR ResNet-n of models/resnet.h
 * with a SphereConv (nn/sphere_conv.h) in place of each of its 3x3
 * convolutions (the stem's included), as in the SphereNet reference code:
 * batch norm and ReLU as usual, 1x1 convolution + BN shortcuts where the
 * shape changes (option B), global average pooling, a plain bias-free linear
 * classifier (or the weight-normalised one), softmax cross-entropy.
 *
 * Width presets (first-stage channels; stages are w, 2w, 4w):
 *   MT_SPHERE_WIDTH_HE        16: He's ResNet-32 widths 16/32/64
 *   MT_SPHERE_WIDTH_REFERENCE 96: the SphereNet reference's 96/192/384
 * The paper being reproduced does not say which its "SphereResNet34" used.
 *
 * Not here: the block structure itself (models/resnet.c builds it, with the
 * SphereConv passed in as its 3x3 convolution).
 */
#ifndef MT_SPHERE_RESNET_H
#define MT_SPHERE_RESNET_H

#include "models/resnet.h"
#include "nn/net.h"
#include "nn/sphere_math.h"

enum { MT_SPHERE_WIDTH_HE = 16, MT_SPHERE_WIDTH_REFERENCE = 96 };

typedef struct mt_sphere_resnet_cfg {
    int depth;     /* n = 6k + 2: 20, 32, 44, 56, 110, ... */
    int width;     /* first-stage channels, a multiple of 16 */
    int op;        /* mt_sphere_op of the 3x3 convolutions */
    float sigmoid_k;   /* k of the sigmoid operator (0: 0.3) */
    float ortho;       /* orthogonality penalty on every SphereConv, 0: none */
    int wn_classifier; /* 1: weight-normalised linear classifier */
    int shortcut;      /* MT_SHORTCUT_B (the reference) or MT_SHORTCUT_A */
    int classes;
    int c, h, w;       /* input shape */
    float label_smoothing;
    int precision;     /* enum mt_precision: MT_FP32 or MT_BF16 (nn/sphere_conv.h) */
    int tail;          /* enum mt_block_tail (models/resnet.h) */
} mt_sphere_resnet_cfg;

/* The reference's SphereResNet: linear operator, width 96, orthogonality
 * penalty 2e-4, option-B shortcuts, plain classifier, 3x32x32 input. */
mt_sphere_resnet_cfg mt_sphere_resnet_default(int depth, int classes);

/* "he" -> 16, "reference" -> 96; MT_ERR_ARG naming the choices otherwise. */
int mt_sphere_resnet_preset(const char *name, int *width);

/* Adds the layers to an empty net created with the cfg's input shape;
 * returns the loss tensor's id or a negative status. */
int mt_sphere_resnet_build(mt_net *net, const mt_sphere_resnet_cfg *cfg);

/* mt_net_create + mt_sphere_resnet_build + mt_net_finalize (own buffers when
 * params, grads, state are NULL). */
int mt_sphere_resnet_create(mt_net **out, const mt_sphere_resnet_cfg *cfg, int batch,
                            float *params, float *grads, float *state);

#endif
