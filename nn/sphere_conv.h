/* sphere_conv.h: the hyperspherical convolution layer (SphereConv) of
 * Liu et al. 2017, "Deep Hyperspherical Learning".
 *
 * For filter o and output position p of image n:
 *     s = <w_o, x_p>                   the ordinary convolution (oneDNN)
 *     |w_o| = sqrt(sum w_o^2 + eps)    over (in, kh, kw)
 *     |x_p| = sqrt(sum x_p^2 + eps)    over the same window, zero padding
 *                                      counting as zeros: a box sum of
 *                                      sum_c x^2 (one channel)
 *     c = s / (|w_o| |x_p|),  y = g(arccos(clamp(c)))
 * with g one of the operators of nn/sphere_math.h (linear, cosine, sigmoid,
 * learnable sigmoid) or none (y = s: a plain convolution, bias-free).
 * eps = 1e-4 as in the reference. Backward gives the gradients of the input,
 * the weights and (learnable sigmoid) the per-filter k.
 *
 * Parameters (canonical layout, see nn/net.h): "<name>.weight" (out, in, k, k),
 * then for the learnable sigmoid "<name>.k" (out): the raw value k_raw, the
 * operator uses |k_raw| + 0.05; initialised to 0.7 (the reference's choice).
 * Weights are initialised He-normal, std sqrt(2 / (in k k)), as the reference.
 *
 * Orthogonality penalty (cfg.ortho = lambda > 0): lambda/2 |W W^T - I|_F^2 with
 * W the (out, in*k*k) matrix of this layer's filters (the reference: 2e-4,
 * on the Gram matrix of the filters). Its gradient is added to the weight
 * gradient in backward; its value is not part of the net's reported loss
 * (like weight decay); mt_ortho_penalty() computes it for inspection.
 *
 * Not here: the per-element math (nn/sphere_math.h), the convolution
 * primitives (nn/conv_prim.h), the weight-normalised classifier
 * (nn/weightnorm_linear.h).
 */
#ifndef MT_SPHERE_CONV_H
#define MT_SPHERE_CONV_H

#include "nn/net.h"
#include "nn/sphere_math.h"

/* The reference's orthogonality coefficient. */
#define MT_SPHERE_ORTHO_DEFAULT 2e-4f

typedef struct mt_sphere_conv_cfg {
    int out_c, k, stride, pad;
    int op;          /* mt_sphere_op */
    float sigmoid_k; /* k of MT_SPHERE_SIGMOID (> 0); 0 means MT_SPHERE_SIGMOID_K */
    float ortho;     /* lambda of the orthogonality penalty, 0: none */
} mt_sphere_conv_cfg;

/* A SphereConv with out_c filters of k x k, stride, zero padding pad, operator
 * op, sigmoid k 0.3 and no orthogonality penalty. Returns the output tensor id
 * or a negative status (see nn/net.h for chaining). */
int mt_sphere_conv(mt_net *net, int x, int out_c, int k, int stride, int pad, mt_sphere_op op);

/* The same with every option. */
int mt_sphere_conv_ex(mt_net *net, int x, const mt_sphere_conv_cfg *cfg);

#endif
