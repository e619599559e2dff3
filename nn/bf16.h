/* bf16.h: bfloat16 numbers as mutau's own loops see them (the residual add,
 * ReLU's and the shortcut's backward, summing branch gradients): the upper
 * half of an fp32, converted with round-to-nearest-even as oneDNN does.
 *
 * Not here: which tensors are bf16 (nn/net.h, mt_net_set_precision), the
 * passes over whole bf16 tensors (nn/eltwise.h) or the oneDNN primitives,
 * which convert by themselves.
 */
#ifndef MT_BF16_H
#define MT_BF16_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint16_t mt_bf16;

static inline float mt_bf16_to_f32(mt_bf16 b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline mt_bf16 mt_bf16_from_f32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    /* a NaN stays a (quiet) NaN instead of rounding into infinity */
    return (mt_bf16)((u & 0x7fffffffu) > 0x7f800000u ? (u >> 16) | 0x40u : rounded);
}

#endif
