/* dnnl_util.c: the small pieces every layer kind uses around oneDNN: error
 * reporting that names the failing call, plain memory descriptors, primitive
 * creation with the net's shared user scratchpad, and logical-to-physical
 * offsets in blocked layouts.
 *
 * Not here: the net's bookkeeping (nn/net.c) or any layer's math.
 */
#include "core/status.h"
#include "nn/layer.h"
#include "nn/net_internal.h"

#include <string.h>

static const char *dnnl_status_str(dnnl_status_t s)
{
    switch (s) {
    case dnnl_success: return "success";
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented (no implementation for these shapes/layouts)";
    case dnnl_iterator_ends: return "iterator ends";
    case dnnl_runtime_error: return "runtime error";
    case dnnl_not_required: return "not required";
    default: return "unknown status";
    }
}

int mt_dnnl_error(const char *call, dnnl_status_t s)
{
    /* Only the function's name, not its arguments: one line. */
    char name[64];
    size_t i = 0;
    while (call[i] && call[i] != '(' && i < sizeof name - 1) {
        name[i] = call[i];
        i++;
    }
    name[i] = 0;
    return mt_error(s == dnnl_out_of_memory ? MT_ERR_NOMEM : MT_ERR_LIB, "oneDNN %s failed: %s",
                    name, dnnl_status_str(s));
}

void mt_md_nchw(dnnl_memory_desc_t *md, int n, int c, int h, int w)
{
    dnnl_dims_t d = {n, c, h, w};
    dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, dnnl_nchw);
}

void mt_md_plain(dnnl_memory_desc_t *md, int ndims, const int *dims, dnnl_format_tag_t tag)
{
    dnnl_dims_t d;
    for (int i = 0; i < ndims; i++)
        d[i] = dims[i];
    dnnl_memory_desc_init_by_tag(md, ndims, d, dnnl_f32, tag);
}

int mt_attr_create(dnnl_primitive_attr_t *attr)
{
    MT_DNNL(dnnl_primitive_attr_create(attr));
    dnnl_status_t s = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
    if (s != dnnl_success) {
        dnnl_primitive_attr_destroy(*attr);
        *attr = NULL;
        return mt_dnnl_error("dnnl_primitive_attr_set_scratchpad_mode", s);
    }
    return MT_OK;
}

int mt_prim_create(mt_net *net, dnnl_primitive_t *prim, const_dnnl_primitive_desc_t pd,
                   const char *what)
{
    dnnl_status_t s = dnnl_primitive_create(prim, pd);
    if (s != dnnl_success) {
        *prim = NULL;
        mt_dnnl_error("dnnl_primitive_create", s);
        return mt_error_context(MT_ERR_LIB, "%s", what);
    }
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    if (smd) {
        size_t sz = dnnl_memory_desc_get_size(smd);
        if (sz > net->scratch_size)
            net->scratch_size = sz;
    }
    return MT_OK;
}

int mt_prim_exec(mt_net *net, dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args,
                 const char *what)
{
    dnnl_exec_arg_t a[16];
    if (nargs > 15)
        return mt_error(MT_ERR_ARG, "%s: %d arguments, at most 15", what, nargs);
    memcpy(a, args, (size_t)nargs * sizeof *a);
    int n = nargs;
    if (net->m_scratch)
        a[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, net->m_scratch};
    dnnl_status_t s = dnnl_primitive_execute(prim, net->stream, n, a);
    if (s != dnnl_success) {
        mt_dnnl_error("dnnl_primitive_execute", s);
        return mt_error_context(MT_ERR_LIB, "%s", what);
    }
    return MT_OK;
}

int mt_mem_create(mt_net *net, dnnl_memory_t *mem, const dnnl_memory_desc_t *md, void *data)
{
    MT_DNNL(dnnl_memory_create(mem, md, net->eng, data ? data : DNNL_MEMORY_NONE));
    return MT_OK;
}

size_t mt_md_offset(const dnnl_memory_desc_t *md, int n, int c, int h, int w)
{
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    dnnl_dim_t idx[DNNL_MAX_NDIMS] = {n, c, h, w};
    int nd = md->ndims;
    if (nd == 2) {
        /* (n, c) views of (n, c, 1, 1) tensors */
        idx[1] = c;
    }
    /* Each dimension is split into an outer index (strided) and inner
     * blocks (innermost last, dense). */
    dnnl_dim_t blk[DNNL_MAX_NDIMS];
    for (int d = 0; d < nd; d++)
        blk[d] = 1;
    for (int k = 0; k < b->inner_nblks; k++)
        blk[b->inner_idxs[k]] *= b->inner_blks[k];
    size_t off = (size_t)md->offset0;
    for (int d = 0; d < nd; d++)
        off += (size_t)(idx[d] / blk[d]) * (size_t)b->strides[d];
    size_t inner = 0;
    dnnl_dim_t rem[DNNL_MAX_NDIMS];
    for (int d = 0; d < nd; d++)
        rem[d] = blk[d];
    for (int k = 0; k < b->inner_nblks; k++) {
        int d = b->inner_idxs[k];
        rem[d] /= b->inner_blks[k];
        dnnl_dim_t i = (idx[d] / rem[d]) % b->inner_blks[k];
        inner = inner * (size_t)b->inner_blks[k] + (size_t)i;
    }
    return off + inner;
}

int mt_md_channel_blocking(const dnnl_memory_desc_t *md, size_t strides[4], int *block)
{
    if (md->format_kind != dnnl_blocked || md->ndims != 4)
        return 0;
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    if (b->inner_nblks > 1 || (b->inner_nblks == 1 && b->inner_idxs[0] != 1))
        return 0;
    *block = b->inner_nblks ? (int)b->inner_blks[0] : 1;
    for (int d = 0; d < 4; d++)
        strides[d] = (size_t)b->strides[d];
    return 1;
}

void mt_md_like(dnnl_memory_desc_t *out, const dnnl_memory_desc_t *like, int n, int c, int h,
                int w)
{
    size_t s[4];
    int block = 0;
    dnnl_format_tag_t tag = dnnl_nchw;
    if (mt_md_channel_blocking(like, s, &block)) {
        if (block == 16)
            tag = dnnl_nChw16c;
        else if (block == 8)
            tag = dnnl_nChw8c;
        else if (block == 4)
            tag = dnnl_nChw4c;
        else if (block == 1 && s[1] == 1 && like->dims[1] > 1)
            tag = dnnl_nhwc;
    }
    dnnl_dims_t d = {n, c, h, w};
    dnnl_memory_desc_init_by_tag(out, 4, d, like->data_type, tag);
}
