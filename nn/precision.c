/* precision.c: a net's arithmetic precision (fp32 or bf16), whether this CPU
 * runs bf16 natively, and the element count of a memory descriptor in its
 * own data type.
 *
 * Not here: the layers' use of it (each kind picks its primitives' data
 * types in compile), mutau's own bf16 loops (nn/eltwise.c).
 */
#include "core/status.h"
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
