/* sphere_math.h: the scalar mathematics of hyperspherical convolution
 * (Liu et al. 2017, "Deep Hyperspherical Learning").
 *
 * A SphereConv output is g(theta), theta = arccos(c), c = <w, x> / (|w| |x|)
 * for one filter w and one input patch x. This header holds, per element:
 *   - the clamp of c strictly inside (-1, 1) and d theta / d c,
 *   - the operators g and their derivatives dg/dtheta (and dg/dk for the
 *     sigmoid operators, where k is the sigmoid's temperature),
 *   - a vectorisable arccos and exp, so that the layer's element-wise passes
 *     run at SIMD speed (libm's acosf and expf are scalar calls).
 * Everything is static inline so the layer's fused loops can inline and
 * vectorise it. Its square roots are sqrtf, correctly rounded: a file whose
 * loops use them is compiled with -fno-math-errno, without which sqrtf may
 * set errno and so keeps GCC from vectorising the loop (with it, one
 * vsqrtps, which measured faster than a bit-level guess and three Newton
 * steps). It deliberately knows nothing of tensors, layouts or oneDNN:
 * nn/sphere_conv.c applies it over whole activations.
 *
 * The operators (theta in [0, pi]):
 *   linear   g = 1 - 2 theta / pi
 *   cosine   g = cos theta = c            (no arccos needed, no clamp needed)
 *   sigmoid  g = C(k) (1 - e) / (1 + e),  e = exp(theta/k - pi/(2k)),
 *            C(k) = (1 + exp(-pi/(2k))) / (1 - exp(-pi/(2k)))
 *            so that g(0) = 1, g(pi/2) = 0, g(pi) = -1; k = 0.3 by default.
 *   learnable sigmoid: the same with one k per filter, k = |k_raw| + 0.05
 *            (the reference's parametrisation; k_raw starts at 0.7).
 */
#ifndef MT_SPHERE_MATH_H
#define MT_SPHERE_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef enum {
    MT_SPHERE_NONE = 0, /* a plain convolution: y = <w, x> */
    MT_SPHERE_LINEAR,
    MT_SPHERE_COSINE,
    MT_SPHERE_SIGMOID,    /* fixed k */
    MT_SPHERE_LR_SIGMOID  /* learnable k, one per output filter */
} mt_sphere_op;

/* Epsilon inside both square roots: |w| = sqrt(sum w^2 + eps), |x| likewise
 * (the reference value). It keeps all-zero patches and filters finite (c = 0). */
#define MT_SPHERE_NORM_EPS 1e-4f

/* c is clamped to [-1 + MT_SPHERE_CLAMP, 1 - MT_SPHERE_CLAMP] before arccos.
 * d arccos/dc = -1/sqrt(1 - c^2) is infinite at +-1; at the clamp it is about
 * -224, and beyond it the derivative of the clamped function is 0. The norm
 * eps already keeps the exact c below 1; the clamp catches float rounding of
 * nearly collinear patches, whose c can otherwise round to 1 or above. */
#define MT_SPHERE_CLAMP 1e-5f

/* Default temperature of the fixed sigmoid operator, the learnable one's
 * initial raw value and the floor added to |k_raw|. */
#define MT_SPHERE_SIGMOID_K 0.3f
#define MT_SPHERE_LR_K_INIT 0.7f
#define MT_SPHERE_LR_K_FLOOR 0.05f

#define MT_SPHERE_PI 3.14159265358979323846f
#define MT_SPHERE_HALF_PI 1.57079632679489661923f

/* The operator's name as used on the command line ("none", "linear",
 * "cosine", "sigmoid", "lr_sigmoid"), or NULL for an invalid value. */
const char *mt_sphere_op_name(mt_sphere_op op);

/* Parses a name from mt_sphere_op_name (also "learnable-sigmoid",
 * "lrsigmoid" and "learnable").
 * Returns MT_OK, or MT_ERR_ARG with a message naming the bad value. */
int mt_sphere_op_parse(const char *name, mt_sphere_op *out);

/* True when the operator applies arccos (linear and the sigmoids). */
static inline int mt_sphere_op_uses_theta(mt_sphere_op op)
{
    return op == MT_SPHERE_LINEAR || op == MT_SPHERE_SIGMOID || op == MT_SPHERE_LR_SIGMOID;
}

/* ---- vectorisable elementary functions ---------------------------------- */

/* arccos on [-1, 1] (Abramowitz & Stegun 4.4.46: sqrt(1-|x|) times a degree-7
 * polynomial, absolute error below 2e-8 before float rounding). Branch-free so
 * a loop of it vectorises (see above for sqrtf). */
static inline float mt_sphere_acosf(float x)
{
    float ax = fabsf(x);
    float p = -0.0012624911f;
    p = p * ax + 0.0066700901f;
    p = p * ax - 0.0170881256f;
    p = p * ax + 0.0308918810f;
    p = p * ax - 0.0501743046f;
    p = p * ax + 0.0889789874f;
    p = p * ax - 0.2145988016f;
    p = p * ax + 1.5707963050f;
    float r = sqrtf(1.0f - ax) * p;
    return x < 0.0f ? MT_SPHERE_PI - r : r;
}

/* exp for arguments in [-87, 88] (clamped there): 2^n times a degree-6
 * polynomial on |r| <= ln2/2, relative error about 2e-7. */
static inline float mt_sphere_expf(float x)
{
    x = x > -87.0f ? x : -87.0f; /* ternaries, not fminf: they vectorise */
    x = x < 88.0f ? x : 88.0f;
    float n = rintf(x * 1.44269504089f);
    float r = x - n * 0.693145752f; /* ln2 split in two for exact reduction */
    r = r - n * 1.42860677e-6f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* ---- c, theta and the clamp ----------------------------------------------- */

/* c clamped into [-1 + MT_SPHERE_CLAMP, 1 - MT_SPHERE_CLAMP]. */
static inline float mt_sphere_clamp(float c)
{
    c = c > -1.0f + MT_SPHERE_CLAMP ? c : -1.0f + MT_SPHERE_CLAMP;
    return c < 1.0f - MT_SPHERE_CLAMP ? c : 1.0f - MT_SPHERE_CLAMP;
}

/* d theta / d c of theta = arccos(clamp(c)): -1/sqrt(1 - c^2) inside the clamp
 * range, 0 outside it (the clamp is flat there). */
static inline float mt_sphere_dtheta_dc(float c)
{
    float inside = fabsf(c) <= 1.0f - MT_SPHERE_CLAMP ? 1.0f : 0.0f;
    float cc = mt_sphere_clamp(c);
    return -inside / sqrtf(1.0f - cc * cc);
}

/* ---- the operators g(theta) ------------------------------------------------ */

/* C(k) = (1 + exp(-pi/(2k))) / (1 - exp(-pi/(2k))), k > 0. */
static inline float mt_sphere_sigmoid_coeff(float k)
{
    float m = mt_sphere_expf(-MT_SPHERE_HALF_PI / k);
    return (1.0f + m) / (1.0f - m);
}

/* C'(k) = dC/dk = m pi / ((1 - m)^2 k^2), m = exp(-pi/(2k)). */
static inline float mt_sphere_sigmoid_dcoeff(float k)
{
    float m = mt_sphere_expf(-MT_SPHERE_HALF_PI / k), om = 1.0f - m;
    return m * MT_SPHERE_PI / (om * om * k * k);
}

/* The sigmoid operator's value and derivatives at theta, with the per-filter
 * constants ik = 1/k, coeff = C(k), dcoeff = C'(k) given (a layer computes
 * them once per filter, not per element). dtheta, dk may be NULL.
 *   u = (theta - pi/2)/k, e = exp(u), h = (1-e)/(1+e), g = C h
 *   dg/dtheta = -2 C e / ((1+e)^2 k)
 *   dg/dk     = C'(k) h + 2 C e u / ((1+e)^2 k) */
static inline float mt_sphere_sigmoid_pre(float theta, float ik, float coeff, float dcoeff,
                                          float *dtheta, float *dk)
{
    float u = (theta - MT_SPHERE_HALF_PI) * ik;
    float e = mt_sphere_expf(u);
    float inv = 1.0f / (1.0f + e);
    float h = (1.0f - e) * inv;
    float de = 2.0f * e * inv * inv; /* -dh/du */
    if (dtheta)
        *dtheta = -coeff * de * ik;
    if (dk)
        *dk = dcoeff * h + coeff * de * u * ik;
    return coeff * h;
}

/* The same at (theta, k), C = C(k) given: the per-element form for scalar use. */
static inline float mt_sphere_sigmoid(float theta, float k, float coeff, float *dtheta, float *dk)
{
    return mt_sphere_sigmoid_pre(theta, 1.0f / k, coeff, dk ? mt_sphere_sigmoid_dcoeff(k) : 0.0f,
                                 dtheta, dk);
}

/* g(theta) for the operators that use theta (linear and both sigmoids; k and
 * coeff are ignored by linear). *dtheta gets dg/dtheta. */
static inline float mt_sphere_g(mt_sphere_op op, float theta, float k, float coeff, float *dtheta)
{
    if (op == MT_SPHERE_LINEAR) {
        *dtheta = -2.0f / MT_SPHERE_PI;
        return 1.0f - theta * (2.0f / MT_SPHERE_PI);
    }
    return mt_sphere_sigmoid(theta, k, coeff, dtheta, NULL);
}

/* The learnable k actually used: |k_raw| + floor, and d k / d k_raw. */
static inline float mt_sphere_lr_k(float k_raw, float *dk_draw)
{
    if (dk_draw)
        *dk_draw = k_raw < 0.0f ? -1.0f : 1.0f;
    return fabsf(k_raw) + MT_SPHERE_LR_K_FLOOR;
}

#endif
