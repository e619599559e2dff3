/* bn_add_passes.c: the passes of nn/bn_add_passes.h.
 *
 * Each pass is an `omp parallel for` over the chunks whose body calls an
 * always-inline chunk function with the element type and the block as
 * constants, so that the common case (16 channels a block) compiles to
 * 16-lane vector loops of its own. The lane loops are `omp simd`: the lanes
 * are separate channels, so their sums need no reassociation.
 */
#include "nn/bn_add_passes.h"

#include "nn/bf16.h"
#include "nn/relu_mask.h"

#include <stdint.h>

#define INLINE static inline __attribute__((always_inline))

INLINE float load(const void *p, size_t i, const int bf16)
{
    return bf16 ? mt_bf16_to_f32(((const mt_bf16 *)p)[i]) : ((const float *)p)[i];
}

INLINE void store(void *p, size_t i, float v, const int bf16)
{
    if (bf16)
        ((mt_bf16 *)p)[i] = mt_bf16_from_f32(v);
    else
        ((float *)p)[i] = v;
}

/* Where chunk q (image q / blocks, block q % blocks) starts, and the index of
 * its first channel in the [n][blocks * block] sums. */
INLINE size_t chunk_base(const mt_bn_chunks *k, int q)
{
    return (size_t)(q / k->blocks) * k->image_stride + (size_t)(q % k->blocks) * k->block_stride;
}

INLINE size_t chunk_sums(const mt_bn_chunks *k, int q)
{
    return (size_t)q * (size_t)k->block;
}

INLINE int chunk_channel(const mt_bn_chunks *k, int q)
{
    return (q % k->blocks) * k->block;
}

/* Runs CHUNK(k, q, ..., bf16, block) for every chunk, split across the
 * threads, with the type and the block as constants where they are common. */
#define FOR_CHUNKS(k, CHUNK, ...)                                                               \
    do {                                                                                       \
        int nq_ = (k)->n * (k)->blocks;                                                        \
        if ((k)->bf16 && (k)->block == 16) {                                                   \
            _Pragma("omp parallel for schedule(static)") for (int q = 0; q < nq_; q++)         \
                CHUNK(k, q, __VA_ARGS__, 1, 16);                                               \
        } else if ((k)->block == 16) {                                                         \
            _Pragma("omp parallel for schedule(static)") for (int q = 0; q < nq_; q++)         \
                CHUNK(k, q, __VA_ARGS__, 0, 16);                                               \
        } else if ((k)->bf16) {                                                                \
            _Pragma("omp parallel for schedule(static)") for (int q = 0; q < nq_; q++)         \
                CHUNK(k, q, __VA_ARGS__, 1, (k)->block);                                       \
        } else {                                                                               \
            _Pragma("omp parallel for schedule(static)") for (int q = 0; q < nq_; q++)         \
                CHUNK(k, q, __VA_ARGS__, 0, (k)->block);                                       \
        }                                                                                      \
    } while (0)

/* Lanes of the widest block handled with a constant: sums of a chunk live in
 * arrays of this many, of which a chunk uses `block`. */
enum { LANES = 16 };
/* Pixels summed in fp32 before the sum goes into the chunk's double one:
 * fp32 vector adds keep the passes at memory speed (a double per element
 * made them compute-bound), and a run of 64 loses nothing a double could
 * keep that matters. */
enum { RUN = 64 };

/* ---- forward ---- */

/* One read of the chunk: each lane's sums of d = x - K and d^2, K its first
 * pixel's value (a value of the same channel, so d stays of the size of the
 * spread and the variance, the sum of d^2 less hw times the mean d squared,
 * loses almost nothing to cancellation). */
INLINE void moments_chunk(const mt_bn_chunks *k, int q, const void *x, double *mean, double *m2,
                          const int bf16, const int B)
{
    size_t base = chunk_base(k, q), at = chunk_sums(k, q);
    int hw = k->hw;
    for (int l0 = 0; l0 < B; l0 += LANES) {
        int nl = B - l0 < LANES ? B - l0 : LANES;
        double s1[LANES] = {0}, s2[LANES] = {0};
        float K[LANES];
        for (int l = 0; l < nl; l++)
            K[l] = load(x, base + l0 + l, bf16);
        for (int p0 = 0; p0 < hw; p0 += RUN) {
            float r1[LANES] = {0}, r2[LANES] = {0};
            for (int p = p0; p < hw && p < p0 + RUN; p++) {
                size_t e = base + (size_t)p * B + l0;
#pragma omp simd
                for (int l = 0; l < nl; l++) {
                    float d = load(x, e + l, bf16) - K[l];
                    r1[l] += d;
                    r2[l] += d * d;
                }
            }
            for (int l = 0; l < nl; l++) {
                s1[l] += r1[l];
                s2[l] += r2[l];
            }
        }
        for (int l = 0; l < nl; l++) {
            double md = s1[l] / hw, v = s2[l] - s1[l] * md;
            mean[at + l0 + l] = K[l] + md;
            m2[at + l0 + l] = v > 0 ? v : 0;
        }
    }
}

void mt_bn_chunk_moments(const mt_bn_chunks *k, const void *x, double *mean, double *m2)
{
    FOR_CHUNKS(k, moments_chunk, x, mean, m2);
}

/* Pixels one vector iteration of an element-wise pass takes: two where a
 * pixel is 16 lanes, so that 32 bf16 fill a 512-bit vector (over 16, GCC
 * made half vectors joined by shuffles, and the bf16 passes ran at half the
 * add's speed); one otherwise. Each lane's coefficient is repeated per pixel. */
#define PIXELS(B) ((B) == 16 ? 2 : 1)

/* The chunk's coefficients for PIXELS(B) pixels of B lanes: c itself, or in
 * buf repeated. */
INLINE const float *per_pixels(const float *c, float *buf, const int B)
{
    if (PIXELS(B) == 1)
        return c;
    for (int l = 0; l < PIXELS(B) * B; l++)
        buf[l] = c[l % B];
    return buf;
}

INLINE void apply_pixels(void *out, const void *x, const void *s, size_t e, const float *ca,
                         const float *cb, int relu, const int bf16, const int L)
{
#pragma omp simd
    for (int l = 0; l < L; l++) {
        float v = load(x, e + l, bf16) * ca[l] + cb[l] + load(s, e + l, bf16);
        store(out, e + l, !relu || v > 0 ? v : 0.0f, bf16);
    }
}

INLINE void apply_chunk(const mt_bn_chunks *k, int q, void *out, const void *x, const void *s,
                        const float *a, const float *b, int relu, const int bf16, const int B)
{
    size_t base = chunk_base(k, q);
    float abuf[2 * LANES], bbuf[2 * LANES];
    const float *ca = per_pixels(a + chunk_channel(k, q), abuf, B);
    const float *cb = per_pixels(b + chunk_channel(k, q), bbuf, B);
    int p = 0;
    for (; p + PIXELS(B) <= k->hw; p += PIXELS(B))
        apply_pixels(out, x, s, base + (size_t)p * B, ca, cb, relu, bf16, PIXELS(B) * B);
    for (; p < k->hw; p++)
        apply_pixels(out, x, s, base + (size_t)p * B, ca, cb, relu, bf16, B);
}

INLINE void apply_case(const mt_bn_chunks *k, int q, void *out, const void *x, const void *s,
                       const float *a, const float *b, int relu, const int bf16, const int B)
{
    if (relu)
        apply_chunk(k, q, out, x, s, a, b, 1, bf16, B);
    else
        apply_chunk(k, q, out, x, s, a, b, 0, bf16, B);
}

void mt_bn_add_apply(const mt_bn_chunks *k, void *out, const void *x, const void *s,
                     const float *a, const float *b, int relu)
{
    FOR_CHUNKS(k, apply_case, out, x, s, a, b, relu);
}

/* ---- backward ---- */

/* g[i] = (out[i] > 0 ? dout[i] : +0) with relu, else dout[i]; returns it as
 * fp32. Decided on the bits (nn/relu_mask.h), without a branch; a bf16 g is
 * dout's 16 bits unchanged. */
INLINE float masked(void *g, const void *out, const void *dout, size_t i, const int relu,
                    const int bf16)
{
    if (bf16) {
        mt_bf16 d = ((const mt_bf16 *)dout)[i];
        mt_bf16 v = relu ? d & (mt_bf16)-mt_bf16_positive(((const mt_bf16 *)out)[i]) : d;
        ((mt_bf16 *)g)[i] = v;
        return mt_bf16_to_f32(v);
    }
    float d = ((const float *)dout)[i];
    float v = relu ? mt_f32_relu_mask(((const float *)out)[i], d) : d;
    ((float *)g)[i] = v;
    return v;
}

INLINE void grad_sums_chunk(const mt_bn_chunks *k, int q, void *g, const void *out,
                            const void *dout, const void *x, const float *mean, int relu,
                            double *sg, double *sgx, const int bf16, const int B)
{
    size_t base = chunk_base(k, q), at = chunk_sums(k, q);
    const float *cm = mean + chunk_channel(k, q);
    for (int l0 = 0; l0 < B; l0 += LANES) {
        int nl = B - l0 < LANES ? B - l0 : LANES;
        double s[LANES] = {0}, sx[LANES] = {0};
        for (int p0 = 0; p0 < k->hw; p0 += RUN) {
            float r[LANES] = {0}, rx[LANES] = {0};
            for (int p = p0; p < k->hw && p < p0 + RUN; p++) {
                size_t e = base + (size_t)p * B + l0;
#pragma omp simd
                for (int l = 0; l < nl; l++) {
                    float v = masked(g, out, dout, e + l, relu, bf16);
                    r[l] += v;
                    rx[l] += v * (load(x, e + l, bf16) - cm[l0 + l]);
                }
            }
            for (int l = 0; l < nl; l++) {
                s[l] += r[l];
                sx[l] += rx[l];
            }
        }
        for (int l = 0; l < nl; l++) {
            sg[at + l0 + l] = s[l];
            sgx[at + l0 + l] = sx[l];
        }
    }
}

INLINE void grad_sums_case(const mt_bn_chunks *k, int q, void *g, const void *out,
                           const void *dout, const void *x, const float *mean, int relu,
                           double *sg, double *sgx, const int bf16, const int B)
{
    if (relu)
        grad_sums_chunk(k, q, g, out, dout, x, mean, 1, sg, sgx, bf16, B);
    else
        grad_sums_chunk(k, q, g, out, dout, x, mean, 0, sg, sgx, bf16, B);
}

void mt_bn_add_grad_sums(const mt_bn_chunks *k, void *g, const void *out, const void *dout,
                         const void *x, const float *mean, int relu, double *sg, double *sgx)
{
    FOR_CHUNKS(k, grad_sums_case, g, out, dout, x, mean, relu, sg, sgx);
}

INLINE void grad_input_pixels(void *dx, const void *g, const void *x, size_t e, const float *k1,
                              const float *k2, const float *k0, const int bf16, const int L)
{
#pragma omp simd
    for (int l = 0; l < L; l++)
        store(dx, e + l, k1[l] * load(g, e + l, bf16) - k2[l] * load(x, e + l, bf16) + k0[l],
              bf16);
}

INLINE void grad_input_chunk(const mt_bn_chunks *k, int q, void *dx, const void *g,
                             const void *x, const float *c1, const float *c2, const float *c0,
                             const int bf16, const int B)
{
    size_t base = chunk_base(k, q);
    int ch = chunk_channel(k, q);
    float buf[3][2 * LANES];
    const float *k1 = per_pixels(c1 + ch, buf[0], B), *k2 = per_pixels(c2 + ch, buf[1], B);
    const float *k0 = per_pixels(c0 + ch, buf[2], B);
    int p = 0;
    for (; p + PIXELS(B) <= k->hw; p += PIXELS(B))
        grad_input_pixels(dx, g, x, base + (size_t)p * B, k1, k2, k0, bf16, PIXELS(B) * B);
    for (; p < k->hw; p++)
        grad_input_pixels(dx, g, x, base + (size_t)p * B, k1, k2, k0, bf16, B);
}

void mt_bn_add_grad_input(const mt_bn_chunks *k, void *dx, const void *g, const void *x,
                          const float *c1, const float *c2, const float *c0)
{
    FOR_CHUNKS(k, grad_input_chunk, dx, g, x, c1, c2, c0);
}
