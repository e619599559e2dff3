/* eltwise.c: the element-wise passes of nn/eltwise.h.
 *
 * Each pass is one parallel region whose branches call an always-inline loop
 * with the case (relu, accumulate) as constants, so that each case compiles
 * to a loop of its own. A parallel region inside the inlined loop would not
 * do: OpenMP outlines it into a function before the constants reach it, and
 * that one function then tests the case in every iteration and loads the
 * arrays of every case (the backward passes ran at a third to a half of
 * memory speed so). The loops' worksharing (`omp for`) is orphaned, bound to
 * the caller's region, and waits for no one (nowait): the region's end is the
 * one barrier, as with `omp parallel for`.
 *
 * bf16 lanes are 16-bit integers wherever no arithmetic is needed (the ReLU
 * mask, copying a gradient): 32 lanes to an AVX-512 vector instead of 16
 * widened to fp32, and no rounding. Only a sum widens to fp32 and rounds.
 *
 * The loops load dout before masking it: written as `out > 0 ? dout[k] : 0`
 * the load is conditional, and GCC 12 made it a masked load merging into the
 * previous iteration's register, which chained the iterations (bf16 now
 * gets a zero-masked load, which has no such chain; fp32 not even that, see
 * mt_f32_relu_mask in nn/relu_mask.h).
 */
#include "nn/eltwise.h"

#include "nn/relu_mask.h"

#include <stdint.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))

/* LOOP(..., relu, acc) with relu and acc as constants, for every case. */
#define BY_CASE(relu, acc, LOOP, ...)                                                       \
    do {                                                                                   \
        if ((relu) && (acc))                                                               \
            LOOP(__VA_ARGS__, 1, 1);                                                       \
        else if (relu)                                                                     \
            LOOP(__VA_ARGS__, 1, 0);                                                       \
        else if (acc)                                                                      \
            LOOP(__VA_ARGS__, 0, 1);                                                       \
        else                                                                               \
            LOOP(__VA_ARGS__, 0, 0);                                                       \
    } while (0)

/* mt_bf16_from_f32(mt_bf16_to_f32(x)): x, but a NaN quieted (bit 6 set). */
INLINE mt_bf16 bf16_through_f32(mt_bf16 x)
{
    return (mt_bf16)((x & 0x7fffu) > 0x7f80u ? x | 0x40u : x);
}

INLINE mt_bf16 bf16_sum(mt_bf16 a, mt_bf16 b)
{
    return mt_bf16_from_f32(mt_bf16_to_f32(a) + mt_bf16_to_f32(b));
}

/* ---- fp32 ---- */

/* (acc is always 0: BY_CASE passes it to every loop) */
INLINE void f32_add_loop(float *restrict o, const float *restrict a, const float *restrict b,
                         size_t n, const int relu, const int acc)
{
#pragma omp for simd schedule(static) nowait
    for (size_t k = 0; k < n; k++) {
        float v = a[k] + b[k];
        o[k] = !relu || v > 0 ? v : 0.0f;
    }
}

void mt_f32_add(float *o, const float *a, const float *b, size_t n, int relu)
{
#pragma omp parallel
    BY_CASE(relu, 0, f32_add_loop, o, a, b, n);
}

/* t = g or t + g, g = (out > 0 ? dout : 0) or dout: the mask-and-accumulate
 * loops of both mt_f32_mask_grad and mt_f32_accumulate. */
INLINE void f32_mask_loop(float *restrict t, const float *restrict out,
                          const float *restrict dout, size_t n, const int relu, const int acc)
{
#pragma omp for simd schedule(static) nowait
    for (size_t k = 0; k < n; k++) {
        float g = relu ? mt_f32_relu_mask(out[k], dout[k]) : dout[k];
        t[k] = acc ? t[k] + g : g;
    }
}

void mt_f32_accumulate(float *d, const float *s, size_t n)
{
#pragma omp parallel
    f32_mask_loop(d, NULL, s, n, 0, 1);
}

void mt_f32_mask_grad(float *t, const float *out, const float *dout, size_t n, int relu,
                      int accumulate)
{
    if (!relu && !accumulate) {
        memcpy(t, dout, n * sizeof *t);
        return;
    }
#pragma omp parallel
    BY_CASE(relu, accumulate, f32_mask_loop, t, out, dout, n);
}

INLINE void f32_add_backward_loop(float *restrict da, float *restrict db,
                                  const float *restrict out, const float *restrict dout, size_t n,
                                  const int relu, const int acc)
{
#pragma omp for simd schedule(static) nowait
    for (size_t k = 0; k < n; k++) {
        float g = relu ? mt_f32_relu_mask(out[k], dout[k]) : dout[k];
        da[k] = g;
        db[k] = acc ? db[k] + g : g;
    }
}

void mt_f32_add_backward(float *da, float *db, const float *out, const float *dout, size_t n,
                         int relu, int accumulate)
{
#pragma omp parallel
    BY_CASE(relu, accumulate, f32_add_backward_loop, da, db, out, dout, n);
}

/* ---- bf16 ---- */

INLINE void bf16_add_loop(mt_bf16 *restrict o, const mt_bf16 *restrict a,
                          const mt_bf16 *restrict b, size_t n, const int relu, const int acc)
{
#pragma omp for simd schedule(static) nowait
    for (size_t k = 0; k < n; k++) {
        float v = mt_bf16_to_f32(a[k]) + mt_bf16_to_f32(b[k]);
        o[k] = mt_bf16_from_f32(!relu || v > 0 ? v : 0.0f);
    }
}

void mt_bf16_add(mt_bf16 *o, const mt_bf16 *a, const mt_bf16 *b, size_t n, int relu)
{
#pragma omp parallel
    BY_CASE(relu, 0, bf16_add_loop, o, a, b, n);
}

INLINE void bf16_mask_loop(mt_bf16 *restrict t, const mt_bf16 *restrict out,
                           const mt_bf16 *restrict dout, size_t n, const int relu, const int acc)
{
#pragma omp for simd schedule(static) nowait
    for (size_t k = 0; k < n; k++) {
        mt_bf16 d = dout[k], g = !relu || mt_bf16_positive(out[k]) ? d : 0;
        t[k] = acc ? bf16_sum(t[k], g) : g;
    }
}

void mt_bf16_accumulate(mt_bf16 *d, const mt_bf16 *s, size_t n)
{
#pragma omp parallel
    bf16_mask_loop(d, NULL, s, n, 0, 1);
}

void mt_bf16_mask_grad(mt_bf16 *t, const mt_bf16 *out, const mt_bf16 *dout, size_t n, int relu,
                       int accumulate)
{
    if (!relu && !accumulate) {
        memcpy(t, dout, n * sizeof *t);
        return;
    }
#pragma omp parallel
    BY_CASE(relu, accumulate, bf16_mask_loop, t, out, dout, n);
}

INLINE void bf16_add_backward_loop(mt_bf16 *restrict da, mt_bf16 *restrict db,
                                   const mt_bf16 *restrict out, const mt_bf16 *restrict dout,
                                   size_t n, const int relu, const int acc)
{
#pragma omp for simd schedule(static) nowait
    for (size_t k = 0; k < n; k++) {
        mt_bf16 d = dout[k], g = !relu || mt_bf16_positive(out[k]) ? d : 0;
        da[k] = bf16_through_f32(g);
        db[k] = acc ? bf16_sum(db[k], g) : bf16_through_f32(g);
    }
}

void mt_bf16_add_backward(mt_bf16 *da, mt_bf16 *db, const mt_bf16 *out, const mt_bf16 *dout,
                          size_t n, int relu, int accumulate)
{
#pragma omp parallel
    BY_CASE(relu, accumulate, bf16_add_backward_loop, da, db, out, dout, n);
}
