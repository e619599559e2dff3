/* bn_add_passes.h: the passes of the batch norm + residual add layer
 * (nn/bn_add.c) over activations whose pixels are dense: a chunk is one
 * image's `block` channels over all its hw pixels, hw * block contiguous
 * elements, pixel after pixel. oneDNN's nChw16c has a chunk per image and 16
 * channels, nchw one per image and channel (a block of 1), nhwc one per
 * image (a block of all channels).
 *
 * Each pass splits the chunks across the OpenMP threads, and every sum is a
 * chunk's own, in double, in pixel order: the caller combines them across
 * images in a fixed order, so the statistics and gradients come out the same,
 * bit for bit, at any thread count. Coefficients of a block's padding
 * channels (past the tensor's last) are the caller's zeros, which keep the
 * padding of what the passes write zero.
 *
 * fp32 or bf16 activations (bf16: widened to fp32, results rounded to
 * nearest even as nn/bf16.h does); coefficients and sums are fp32 / double
 * either way.
 *
 * Not here: combining the sums, the parameters and the net's bookkeeping
 * (nn/bn_add.c).
 */
#ifndef MT_BN_ADD_PASSES_H
#define MT_BN_ADD_PASSES_H

#include <stddef.h>

typedef struct mt_bn_chunks {
    int n, blocks, block, hw; /* images, channel blocks, channels a block, pixels */
    size_t image_stride, block_stride; /* in elements */
    int bf16;                          /* elements are bf16, else fp32 */
} mt_bn_chunks;

/* Per image and channel: the mean of its hw values and the sum of their
 * squared deviations from that mean. mean, m2: [n][blocks * block]. */
void mt_bn_chunk_moments(const mt_bn_chunks *k, const void *x, double *mean, double *m2);

/* out = x a + b + s per channel (a, b: blocks * block), then with relu
 * (out > 0 ? out : +0; a NaN becomes +0). */
void mt_bn_add_apply(const mt_bn_chunks *k, void *out, const void *x, const void *s,
                     const float *a, const float *b, int relu);

/* g = (out > 0 ? dout : +0) with relu, else dout, written to g; per image and
 * channel, the sums of g and of g (x - mean): sg, sgx [n][blocks * block]. */
void mt_bn_add_grad_sums(const mt_bn_chunks *k, void *g, const void *out, const void *dout,
                         const void *x, const float *mean, int relu, double *sg, double *sgx);

/* dx = c1 g - c2 x + c0 per channel. */
void mt_bn_add_grad_input(const mt_bn_chunks *k, void *dx, const void *g, const void *x,
                          const float *c1, const float *c2, const float *c0);

#endif
