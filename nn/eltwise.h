/* eltwise.h: mutau's own element-wise passes over activations and their
 * gradients, in fp32 and bf16: the residual add (with its fused ReLU) forward
 * and backward, ReLU's backward mask, and summing a branch's gradient into
 * one already written. Each is one pass over flat arrays of n elements in any
 * layout the operands share, split across the OpenMP threads.
 *
 * The bf16 ones compute what the fp32 ones do on the bf16 values widened to
 * fp32 and round the result back as mt_bf16_from_f32 does (nn/bf16.h). A
 * result that is a bf16 input unchanged is copied as its 16 bits, except
 * where the rounding of mt_bf16_from_f32 is documented below (a NaN copied
 * through it is quieted).
 *
 * Not here: the layers that call them (nn/add.c, nn/relu.c, nn/net.c) or
 * oneDNN's element-wise primitives.
 */
#ifndef MT_ELTWISE_H
#define MT_ELTWISE_H

#include "nn/bf16.h"

#include <stddef.h>

/* o = a + b, then with relu o = (o > 0 ? o : +0) (a NaN sum becomes +0). */
void mt_f32_add(float *o, const float *a, const float *b, size_t n, int relu);
/* The same in fp32 on the widened values, rounded to bf16 once. */
void mt_bf16_add(mt_bf16 *o, const mt_bf16 *a, const mt_bf16 *b, size_t n, int relu);

/* d = d + s. */
void mt_f32_accumulate(float *d, const float *s, size_t n);
/* d = d + s, the sum in fp32, rounded to bf16. */
void mt_bf16_accumulate(mt_bf16 *d, const mt_bf16 *s, size_t n);

/* g = (out > 0 ? dout : +0) with relu, else dout; t = g, or with accumulate
 * t = t + g (so a -0 in t becomes +0 where g is +0). bf16: g is dout's 16
 * bits unchanged (NaNs too); only the accumulate rounds. */
void mt_f32_mask_grad(float *t, const float *out, const float *dout, size_t n, int relu,
                      int accumulate);
void mt_bf16_mask_grad(mt_bf16 *t, const mt_bf16 *out, const mt_bf16 *dout, size_t n, int relu,
                       int accumulate);

/* The residual add's backward in one pass: g as in mt_f32_mask_grad; da = g;
 * db = g, or db + g with accumulate. bf16: both outputs go through
 * mt_bf16_from_f32, so a NaN in g reaches da (and db) quieted (bit 6 set). */
void mt_f32_add_backward(float *da, float *db, const float *out, const float *dout, size_t n,
                         int relu, int accumulate);
void mt_bf16_add_backward(mt_bf16 *da, mt_bf16 *db, const mt_bf16 *out, const mt_bf16 *dout,
                          size_t n, int relu, int accumulate);

#endif
