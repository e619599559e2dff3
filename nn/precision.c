/* precision.c: a net's arithmetic precision (fp32 or bf16), whether this CPU
 * runs bf16 natively, and the bf16 loops of nn/bf16.h.
 *
 * Not here: the layers' use of it (each kind picks its primitives' data
 * types in compile).
 */
#include "core/status.h"
#include "nn/bf16.h"
#include "nn/net_internal.h"

#include <string.h>

int mt_bf16_supported(void)
{
    /* oneDNN also runs bf16 on plain AVX-512 by emulation, several times
     * slower than fp32: that counts as no. The ISA values are bit sets, each
     * newer one containing the older (AMX includes AVX512_BF16). */
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    unsigned need = (unsigned)dnnl_cpu_isa_avx512_core_bf16;
    return (isa & need) == need;
}

const char *mt_precision_name(int precision)
{
    return precision == MT_BF16 ? "bf16" : "fp32";
}

int mt_precision_parse(const char *name)
{
    if (name && strcmp(name, "fp32") == 0)
        return MT_FP32;
    if (name && strcmp(name, "bf16") == 0)
        return MT_BF16;
    return -1;
}

int mt_net_set_precision(mt_net *net, int precision)
{
    if (!net)
        return mt_error(MT_ERR_ARG, "mt_net_set_precision: net is NULL");
    if (net->finalized)
        return mt_error(MT_ERR_ARG, "mt_net_set_precision: the net is already finalized");
    if (precision != MT_FP32 && precision != MT_BF16)
        return mt_error(MT_ERR_ARG, "mt_net_set_precision: %d is neither MT_FP32 nor MT_BF16",
                        precision);
    if (precision == MT_BF16 && !mt_bf16_supported())
        return mt_error(MT_ERR_ARG, "bf16 needs a CPU with native bf16 (AVX512_BF16); this one "
                                    "(or the ISA limit set for oneDNN) has none");
    net->precision = precision;
    return MT_OK;
}

int mt_net_precision(const mt_net *net)
{
    return net ? net->precision : MT_FP32;
}

dnnl_data_type_t mt_net_dtype(const mt_net *net)
{
    return net->precision == MT_BF16 ? dnnl_bf16 : dnnl_f32;
}

size_t mt_md_count(const dnnl_memory_desc_t *md)
{
    size_t bytes = dnnl_memory_desc_get_size(md);
    return md->data_type == dnnl_bf16 || md->data_type == dnnl_f16 ? bytes / 2 : bytes / 4;
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
