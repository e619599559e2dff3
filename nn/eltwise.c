/* eltwise.c: the element-wise passes of nn/eltwise.h. */
#include "nn/eltwise.h"

#include <string.h>

void mt_f32_add(float *o_, const float *a_, const float *b_, size_t n, int relu)
{
    const float *restrict a = a_, *restrict b = b_;
    float *restrict o = o_;
    if (relu) {
#pragma omp parallel for simd schedule(static)
        for (size_t k = 0; k < n; k++) {
            float v = a[k] + b[k];
            o[k] = v > 0 ? v : 0.0f;
        }
    } else {
#pragma omp parallel for simd schedule(static)
        for (size_t k = 0; k < n; k++)
            o[k] = a[k] + b[k];
    }
}

void mt_f32_accumulate(float *d_, const float *s_, size_t n)
{
    float *restrict d = d_;
    const float *restrict s = s_;
#pragma omp parallel for simd schedule(static)
    for (size_t k = 0; k < n; k++)
        d[k] += s[k];
}

void mt_f32_mask_grad(float *tv, const float *outv, const float *doutv, size_t n, int relu,
                      int accumulate)
{
    float *restrict t = tv;
    const float *restrict out = outv, *restrict dout = doutv;
    if (!relu && !accumulate) {
        memcpy(t, dout, n * sizeof *t);
        return;
    }
#pragma omp parallel for simd schedule(static)
    for (size_t k = 0; k < n; k++) {
        float g = !relu || out[k] > 0 ? dout[k] : 0.0f;
        t[k] = accumulate ? t[k] + g : g;
    }
}

void mt_f32_add_backward(float *da_, float *db_, const float *out, const float *dout, size_t n,
                         int relu, int acc)
{
    float *restrict da = da_, *restrict db = db_;
#pragma omp parallel for simd schedule(static)
    for (size_t k = 0; k < n; k++) {
        float g = !relu || out[k] > 0 ? dout[k] : 0.0f;
        da[k] = g;
        db[k] = acc ? db[k] + g : g;
    }
}

static inline __attribute__((always_inline)) void add_loop(mt_bf16 *restrict oo,
                                                            const mt_bf16 *restrict aa,
                                                            const mt_bf16 *restrict bb, size_t n,
                                                            const int relu)
{
#pragma omp parallel for simd schedule(static)
    for (size_t k = 0; k < n; k++) {
        float v = mt_bf16_to_f32(aa[k]) + mt_bf16_to_f32(bb[k]);
        oo[k] = mt_bf16_from_f32(relu && !(v > 0) ? 0.0f : v);
    }
}

void mt_bf16_add(mt_bf16 *o, const mt_bf16 *a, const mt_bf16 *b, size_t n, int relu)
{
    if (relu)
        add_loop(o, a, b, n, 1);
    else
        add_loop(o, a, b, n, 0);
}

void mt_bf16_accumulate(mt_bf16 *d, const mt_bf16 *s, size_t n)
{
    mt_bf16 *restrict dd = d;
    const mt_bf16 *restrict ss = s;
#pragma omp parallel for simd schedule(static)
    for (size_t k = 0; k < n; k++)
        dd[k] = mt_bf16_from_f32(mt_bf16_to_f32(dd[k]) + mt_bf16_to_f32(ss[k]));
}

void mt_bf16_mask_grad(mt_bf16 *t, const mt_bf16 *out, const mt_bf16 *dout, size_t n, int relu,
                       int accumulate)
{
    /* one loop per case: a condition that does not vary inside a loop kept
     * it from vectorising (4-5x slower) */
    if (!relu) {
        if (accumulate)
            mt_bf16_accumulate(t, dout, n);
        else
            memcpy(t, dout, n * sizeof *t);
        return;
    }
    mt_bf16 *restrict tt = t;
    const mt_bf16 *restrict oo = out, *restrict dd = dout;
    if (accumulate) {
#pragma omp parallel for simd schedule(static)
        for (size_t k = 0; k < n; k++) {
            float g = mt_bf16_to_f32(oo[k]) > 0 ? mt_bf16_to_f32(dd[k]) : 0.0f;
            tt[k] = mt_bf16_from_f32(mt_bf16_to_f32(tt[k]) + g);
        }
    } else {
#pragma omp parallel for simd schedule(static)
        for (size_t k = 0; k < n; k++)
            tt[k] = mt_bf16_to_f32(oo[k]) > 0 ? dd[k] : 0;
    }
}

/* The loop with relu and accumulate fixed, so that each case vectorises. */
static inline __attribute__((always_inline)) void add_backward_loop(
    mt_bf16 *restrict a, mt_bf16 *restrict b, const mt_bf16 *restrict oo,
    const mt_bf16 *restrict dd, size_t n, const int relu, const int accumulate)
{
#pragma omp parallel for simd schedule(static)
    for (size_t k = 0; k < n; k++) {
        /* g is a bf16 value, so converting it back is exact: only the sum rounds */
        float g = !relu || mt_bf16_to_f32(oo[k]) > 0 ? mt_bf16_to_f32(dd[k]) : 0.0f;
        a[k] = mt_bf16_from_f32(g);
        b[k] = mt_bf16_from_f32(accumulate ? mt_bf16_to_f32(b[k]) + g : g);
    }
}

void mt_bf16_add_backward(mt_bf16 *da, mt_bf16 *db, const mt_bf16 *out, const mt_bf16 *dout,
                          size_t n, int relu, int accumulate)
{
    if (relu && accumulate)
        add_backward_loop(da, db, out, dout, n, 1, 1);
    else if (relu)
        add_backward_loop(da, db, out, dout, n, 1, 0);
    else if (accumulate)
        add_backward_loop(da, db, out, dout, n, 0, 1);
    else
        add_backward_loop(da, db, out, dout, n, 0, 0);
}
