/* relu_mask.h: a ReLU's backward mask, g = (out > 0 ? dout : +0), decided on
 * the bits of out, for mutau's own loops (nn/eltwise.c, nn/bn_add_passes.c):
 * branch-free, so that loops over them vectorize.
 *
 * Not here: the passes over whole tensors (nn/eltwise.h).
 */
#ifndef MT_RELU_MASK_H
#define MT_RELU_MASK_H

#include "nn/bf16.h"

#include <stdint.h>
#include <string.h>

/* A bf16 value is > 0 when its bits, as an integer, are in [1, 0x7f80]: the
 * positive numbers (denormals too) and +inf, but no zero, negative or NaN.
 * The same answer as mt_bf16_to_f32(x) > 0 (without flushing denormals). */
static inline int mt_bf16_positive(mt_bf16 x)
{
    return (mt_bf16)(x - 1u) < 0x7f80u;
}

/* out > 0 ? d : +0, chosen on the bits: out > 0 when its bits less one are
 * below 0x7f800000 (positive denormals, normals and +inf; no zero, negative
 * or NaN), so d is and-ed with the sign of (b - 1) | (b - 1 + 0x800000)
 * inverted. The same result as the comparison, which GCC 12 turns into a
 * zero-masked load of dout, 10-15% slower on this CPU than a plain load and
 * an and (the fp32 ReLU cases ran at 0.7-0.8 of copy speed). */
static inline float mt_f32_relu_mask(float out, float d)
{
    uint32_t b, g;
    memcpy(&b, &out, sizeof b);
    memcpy(&g, &d, sizeof g);
    uint32_t x = b - 1u;
    g &= ~(uint32_t)((int32_t)(x | (x + 0x00800000u)) >> 31);
    memcpy(&d, &g, sizeof d);
    return d;
}

#endif
