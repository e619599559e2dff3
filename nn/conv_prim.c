/* conv_prim.c: a 2-D convolution's oneDNN primitives (forward, backward data,
 * backward weights), created once, with the reorders between the canonical
 * OIHW weights and oneDNN's blocked weights, and between the input tensor's
 * layout and the one the convolution prefers (normally none: the activations
 * are already blocked).
 *
 * Not here: parameters, initialisation, the net's bookkeeping (nn/conv.c).
 */
#include "nn/conv_prim.h"

#include "core/clock.h"
#include "core/status.h"
#include "nn/net_internal.h"
#include "nn/plain_input.h"

#include <stdlib.h>
#include <string.h>

/* The algorithm tried first: Winograd F(4x4, 3x3) where oneDNN has a jit
 * kernel for it (3x3, stride 1, channels in blocks of 16), the direct
 * convolution elsewhere. At one thread Winograd took 10-20% less CPU time
 * per ResNet-20 step here (docs/nn.md). MUTAU_CONV_ALG=direct turns it off
 * (results then differ in the last bits). */
static dnnl_alg_kind_t conv_alg(void)
{
    const char *e = getenv("MUTAU_CONV_ALG");
    return e && strcmp(e, "direct") == 0 ? dnnl_convolution_direct : dnnl_convolution_winograd;
}

/* With `optional`, a failure or a reference (slow) implementation leaves *pd
 * NULL and returns MT_OK, so the caller can try the next algorithm. */
static int make_pd(mt_net *net, dnnl_primitive_desc_t *pd, const void *desc,
                   const_dnnl_primitive_desc_t hint, const char *what, int optional)
{
    dnnl_primitive_attr_t attr;
    *pd = NULL;
    int rc = mt_attr_create(&attr);
    if (rc < 0)
        return rc;
    dnnl_status_t s = dnnl_primitive_desc_create(pd, desc, attr, net->eng, hint);
    dnnl_primitive_attr_destroy(attr);
    if (optional) {
        const char *impl = NULL;
        if (s == dnnl_success)
            dnnl_primitive_desc_query(*pd, dnnl_query_impl_info_str, 0, &impl);
        if (s != dnnl_success || !impl || strncmp(impl, "ref", 3) == 0) {
            if (s == dnnl_success)
                dnnl_primitive_desc_destroy(*pd);
            *pd = NULL;
            return MT_OK;
        }
    }
    if (s != dnnl_success) {
        *pd = NULL;
        mt_dnnl_error("dnnl_primitive_desc_create", s);
        return mt_error_context(MT_ERR_LIB, "%s", what);
    }
    return MT_OK;
}

int mt_conv_prim_create(mt_conv_prim *p, mt_net *net, const dnnl_memory_desc_t *src_md, int n,
                        int ic, int ih, int iw, int oc, int k, int stride, int pad, int has_bias,
                        int bwd_data, int bwd_weights, dnnl_data_type_t dt)
{
    memset(p, 0, sizeof *p);
    if (!net || !src_md)
        return mt_error(MT_ERR_ARG, "conv: %s is NULL", net ? "src_md" : "net");
    if (n < 1 || ic < 1 || ih < 1 || iw < 1 || oc < 1 || k < 1 || stride < 1 || pad < 0)
        return mt_error(MT_ERR_ARG, "conv: impossible shape n %d ic %d %dx%d oc %d k %d stride %d pad %d",
                        n, ic, ih, iw, oc, k, stride, pad);
    if (ih + 2 * pad < k || iw + 2 * pad < k)
        return mt_error(MT_ERR_ARG, "conv: kernel %d larger than the padded input %dx%d", k,
                        ih + 2 * pad, iw + 2 * pad);
    p->net = net;
    p->n = n, p->ic = ic, p->ih = ih, p->iw = iw, p->oc = oc, p->k = k;
    p->stride = stride, p->pad = pad, p->has_bias = has_bias != 0;
    p->oh = (ih + 2 * pad - k) / stride + 1;
    p->ow = (iw + 2 * pad - k) / stride + 1;
    p->bwd_data = bwd_data != 0;
    p->bwd_weights = bwd_weights != 0;
    p->src_md = *src_md;

    if (dt != dnnl_f32 && dt != dnnl_bf16)
        return mt_error(MT_ERR_ARG, "conv: data type %d is neither f32 nor bf16", (int)dt);
    dnnl_memory_desc_t src_any, wei_any, dst_any, dwei_any;
    dnnl_dims_t sd = {n, ic, ih, iw}, wd = {oc, ic, k, k}, dd = {n, oc, p->oh, p->ow},
                bd = {oc};
    MT_DNNL(dnnl_memory_desc_init_by_tag(&src_any, 4, sd, dt, dnnl_format_tag_any));
    MT_DNNL(dnnl_memory_desc_init_by_tag(&wei_any, 4, wd, dt, dnnl_format_tag_any));
    MT_DNNL(dnnl_memory_desc_init_by_tag(&dst_any, 4, dd, dt, dnnl_format_tag_any));
    /* The weight gradient is fp32 in either precision: oneDNN's bf16
     * backward-weights accumulates in fp32 and writes it so (and the bias
     * gradient, bias_md, is fp32 too), so the optimizer never sees a bf16
     * rounding of a gradient. */
    MT_DNNL(dnnl_memory_desc_init_by_tag(&dwei_any, 4, wd, dnnl_f32, dnnl_format_tag_any));
    MT_DNNL(dnnl_memory_desc_init_by_tag(&p->wei_oihw_md, 4, wd, dnnl_f32, dnnl_oihw));
    MT_DNNL(dnnl_memory_desc_init_by_tag(&p->bias_md, 1, bd, dnnl_f32, dnnl_a));
    dnnl_dims_t strides = {stride, stride}, padding = {pad, pad};
    /* Winograd where it pays, measured per layer at one thread (CPU time,
     * ResNet-20, batch 128): forward for channels in whole blocks of 16 (6.2
     * against 7.2 ms at 16 channels, 3.2 against 5.0 at 32); backward only
     * from 32 channels (at 16, 14 against 12 ms: direct wins). Only on whole
     * 4x4 output tiles: with partial tiles oneDNN 2.6's Winograd
     * backward-weights got the bias gradient wrong (tests/test_nn.c's 6x6
     * case). The first layer (3 channels) stays direct: 1.4 against 6.6 ms.
     * Forward-only (inference) convolutions stay direct: Winograd's
     * scratchpad grows with the batch (892 MB for SphereResNet-32 width 96
     * at the evaluation batch of 500, against none for direct). */
    int wino = dt == dnnl_f32 && p->oh % 4 == 0 && p->ow % 4 == 0 && ic % 16 == 0 && oc % 16 == 0 &&
               (p->bwd_data || p->bwd_weights);
    int wino_bwd = wino && ic >= 32 && oc >= 32;
    const dnnl_alg_kind_t algs[2] = {wino ? conv_alg() : dnnl_convolution_direct,
                                     dnnl_convolution_direct};
    const dnnl_alg_kind_t balgs[2] = {wino_bwd ? conv_alg() : dnnl_convolution_direct,
                                      dnnl_convolution_direct};

    dnnl_convolution_desc_t cd;
    int train = p->bwd_data || p->bwd_weights;
    dnnl_primitive_desc_t fpd = NULL;
    int rc = MT_OK;
    for (int i = 0; i < 2 && !fpd; i++) {
        dnnl_alg_kind_t alg = algs[i];
        MT_DNNL(dnnl_convolution_forward_desc_init(
            &cd, train ? dnnl_forward_training : dnnl_forward_inference, alg, &src_any, &wei_any,
            p->has_bias ? &p->bias_md : NULL, &dst_any, strides, padding, padding));
        rc = make_pd(net, &fpd, &cd, NULL, "conv forward", i == 0 && alg != algs[1]);
    }
    if (rc < 0)
        return rc;
    p->csrc_md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0);
    p->wei_md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
    p->dst_md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
    rc = mt_prim_create(net, &p->fwd, fpd, "conv forward");
    if (rc >= 0)
        rc = mt_reorder_create(net, &p->src_reorder, &p->src_md, &p->csrc_md, "conv input reorder");
    if (rc >= 0)
        rc = mt_reorder_create(net, &p->wei_reorder, &p->wei_oihw_md, &p->wei_md,
                          "conv weight reorder");
    if (rc >= 0 && p->bwd_data) {
        dnnl_convolution_desc_t bdd;
        dnnl_primitive_desc_t bpd = NULL;
        for (int i = 0; i < 2 && !bpd; i++) {
            dnnl_status_t s = dnnl_convolution_backward_data_desc_init(
                &bdd, balgs[i], &p->csrc_md, &wei_any, &p->dst_md, strides, padding, padding);
            rc = s == dnnl_success ? make_pd(net, &bpd, &bdd, fpd, "conv backward data",
                                             i == 0 && balgs[0] != balgs[1])
                                   : mt_dnnl_error("dnnl_convolution_backward_data_desc_init", s);
        }
        if (rc >= 0) {
            /* Backward data reads the weights in its own blocked layout (the
             * transposed blocking): one more small reorder from OIHW. */
            p->bwei_md = *dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0);
            rc = mt_prim_create(net, &p->bwd_d, bpd, "conv backward data");
            dnnl_primitive_desc_destroy(bpd);
        }
        if (rc >= 0 && !dnnl_memory_desc_equal(&p->bwei_md, &p->wei_md)) {
            p->bwei = mt_alloc(dnnl_memory_desc_get_size(&p->bwei_md));
            if (!p->bwei)
                rc = mt_error(MT_ERR_NOMEM, "conv: out of memory");
            if (rc >= 0)
                rc = mt_reorder_create(net, &p->bwei_reorder, &p->wei_oihw_md, &p->bwei_md,
                                  "conv backward-data weight reorder");
        }
        if (rc >= 0)
            rc = mt_reorder_create(net, &p->dsrc_reorder, &p->csrc_md, &p->src_md,
                              "conv input-gradient reorder");
    }
    if (rc >= 0 && p->bwd_weights) {
        dnnl_convolution_desc_t wdd;
        dnnl_primitive_desc_t wpd = NULL;
        for (int i = 0; i < 2 && !wpd; i++) {
            dnnl_status_t s = dnnl_convolution_backward_weights_desc_init(
                &wdd, balgs[i], &p->csrc_md, &dwei_any, p->has_bias ? &p->bias_md : NULL,
                &p->dst_md, strides, padding, padding);
            rc = s == dnnl_success ? make_pd(net, &wpd, &wdd, fpd, "conv backward weights",
                                             i == 0 && balgs[0] != balgs[1])
                                   : mt_dnnl_error("dnnl_convolution_backward_weights_desc_init", s);
        }
        if (rc >= 0) {
            p->diff_wei_md = *dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0);
            rc = mt_prim_create(net, &p->bwd_w, wpd, "conv backward weights");
            dnnl_primitive_desc_destroy(wpd);
        }
        if (rc >= 0)
            rc = mt_reorder_create(net, &p->dwei_reorder, &p->diff_wei_md, &p->wei_oihw_md,
                              "conv weight-gradient reorder");
    }
    dnnl_primitive_desc_destroy(fpd);
    return rc;
}

void mt_conv_prim_sizes(const mt_conv_prim *p, size_t bytes[4])
{
    bytes[0] = p->src_reorder ? dnnl_memory_desc_get_size(&p->csrc_md) : 0;
    bytes[1] = p->wei_reorder ? dnnl_memory_desc_get_size(&p->wei_md) : 0;
    bytes[2] = p->dsrc_reorder ? dnnl_memory_desc_get_size(&p->csrc_md) : 0;
    bytes[3] = p->dwei_reorder ? dnnl_memory_desc_get_size(&p->diff_wei_md) : 0;
}

int mt_conv_prim_bind(mt_conv_prim *p, float *src, float *dst, float *wei_oihw, float *bias,
                      float *diff_src, float *diff_dst, float *diff_wei_oihw, float *diff_bias,
                      void *const bufs[4])
{
    mt_net *net = p->net;
    int rc = MT_OK;
    p->csrc = p->src_reorder ? bufs[0] : src;
    p->wei = p->wei_reorder ? bufs[1] : wei_oihw;
    p->dcsrc = p->dsrc_reorder ? bufs[2] : diff_src;
    p->dwei = p->dwei_reorder ? bufs[3] : diff_wei_oihw;
#define MEM(m, md, ptr)                                                                        \
    if (rc >= 0)                                                                               \
    rc = mt_mem_create(net, &p->m, md, ptr)
    MEM(m_src, &p->src_md, src);
    MEM(m_csrc, &p->csrc_md, p->csrc);
    MEM(m_wei_oihw, &p->wei_oihw_md, wei_oihw);
    MEM(m_wei, &p->wei_md, p->wei);
    MEM(m_dst, &p->dst_md, dst);
    if (p->has_bias) {
        MEM(m_bias, &p->bias_md, bias);
    }
    if (p->bwd_data || p->bwd_weights) {
        MEM(m_ddst, &p->dst_md, diff_dst);
    }
    if (p->bwd_data) {
        /* no reorder: backward data reads either the forward's blocked
         * weights or (a plain layout) the OIHW weights themselves */
        MEM(m_bwei, &p->bwei_md,
            p->bwei_reorder ? (void *)p->bwei
            : dnnl_memory_desc_equal(&p->bwei_md, &p->wei_md) ? (void *)p->wei
                                                               : (void *)wei_oihw);
        MEM(m_dsrc, &p->src_md, diff_src);
        MEM(m_dcsrc, &p->csrc_md, p->dcsrc);
    }
    if (p->bwd_weights) {
        MEM(m_dwei_oihw, &p->wei_oihw_md, diff_wei_oihw);
        MEM(m_dwei, &p->diff_wei_md, p->dwei);
        if (p->has_bias) {
            MEM(m_dbias, &p->bias_md, diff_bias);
        }
    }
#undef MEM
    return rc;
}

int mt_conv_prim_set_diff_src(mt_conv_prim *p, float *diff_src)
{
    if (!p->bwd_data)
        return MT_OK;
    if (p->dsrc_reorder)
        MT_DNNL(dnnl_memory_set_data_handle(p->m_dsrc, diff_src));
    else if (p->dcsrc != diff_src) {
        MT_DNNL(dnnl_memory_set_data_handle(p->m_dcsrc, diff_src));
        p->dcsrc = diff_src;
    }
    return MT_OK;
}

enum { FWD = 0, BWD = 1 };
/* What a primitive's time counts as in the profile: the convolution proper,
 * a weight reorder, or neither (an activation's layout change: part of the
 * layer's other work). */
enum { CONV, WEIGHT_REORDER, OTHER };

/* Executes one of the convolution's primitives; while the net profiles, adds
 * its time to the owner's counter for `what_for` in pass FWD or BWD. Off,
 * the only cost is the test of net->profile. */
static int run(mt_conv_prim *p, dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args,
               const char *what, int pass, int what_for)
{
    mt_layer *l = p->net->profile && what_for != OTHER ? p->owner : NULL;
    double t0 = l ? mt_now() : 0;
    int rc = mt_prim_exec(p->net, prim, nargs, args, what);
    if (l)
        (what_for == WEIGHT_REORDER ? l->t_reorder : l->t_conv)[pass] += mt_now() - t0;
    return rc;
}

int mt_conv_prim_forward(mt_conv_prim *p)
{
    int rc = MT_OK;
    if (p->wei_reorder) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->m_wei_oihw}, {DNNL_ARG_TO, p->m_wei}};
        rc = run(p, p->wei_reorder, 2, a, "conv weight reorder", FWD, WEIGHT_REORDER);
    }
    if (rc >= 0 && p->src_reorder) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->m_src}, {DNNL_ARG_TO, p->m_csrc}};
        rc = run(p, p->src_reorder, 2, a, "conv input reorder", FWD, OTHER);
    }
    if (rc < 0)
        return rc;
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, p->m_csrc},
                            {DNNL_ARG_WEIGHTS, p->m_wei},
                            {DNNL_ARG_DST, p->m_dst},
                            {DNNL_ARG_BIAS, p->m_bias}};
    return run(p, p->fwd, p->has_bias ? 4 : 3, a, "conv forward", FWD, CONV);
}

int mt_conv_prim_backward_data(mt_conv_prim *p)
{
    if (!p->bwd_d)
        return mt_error(MT_ERR_ARG, "conv: created without backward data");
    int rc = MT_OK;
    if (p->bwei_reorder) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->m_wei_oihw}, {DNNL_ARG_TO, p->m_bwei}};
        rc = run(p, p->bwei_reorder, 2, r, "conv backward-data weight reorder", BWD,
                 WEIGHT_REORDER);
        if (rc < 0)
            return rc;
    }
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, p->m_ddst},
                            {DNNL_ARG_WEIGHTS, p->m_bwei},
                            {DNNL_ARG_DIFF_SRC, p->m_dcsrc}};
    rc = run(p, p->bwd_d, 3, a, "conv backward data", BWD, CONV);
    if (rc >= 0 && p->dsrc_reorder) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->m_dcsrc}, {DNNL_ARG_TO, p->m_dsrc}};
        rc = run(p, p->dsrc_reorder, 2, r, "conv input-gradient reorder", BWD, OTHER);
    }
    return rc;
}

int mt_conv_prim_backward_weights(mt_conv_prim *p)
{
    if (!p->bwd_w)
        return mt_error(MT_ERR_ARG, "conv: created without backward weights");
    dnnl_exec_arg_t a[4] = {{DNNL_ARG_SRC, p->m_csrc},
                            {DNNL_ARG_DIFF_DST, p->m_ddst},
                            {DNNL_ARG_DIFF_WEIGHTS, p->m_dwei},
                            {DNNL_ARG_DIFF_BIAS, p->m_dbias}};
    int rc = run(p, p->bwd_w, p->has_bias ? 4 : 3, a, "conv backward weights", BWD, CONV);
    if (rc >= 0 && p->dwei_reorder) {
        dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->m_dwei}, {DNNL_ARG_TO, p->m_dwei_oihw}};
        rc = run(p, p->dwei_reorder, 2, r, "conv weight-gradient reorder", BWD, WEIGHT_REORDER);
    }
    return rc;
}

void mt_conv_prim_destroy(mt_conv_prim *p)
{
    dnnl_primitive_t prims[] = {p->fwd,         p->bwd_d,        p->bwd_w,
                                p->src_reorder, p->dsrc_reorder, p->wei_reorder,
                                p->dwei_reorder, p->bwei_reorder};
    for (size_t i = 0; i < sizeof prims / sizeof *prims; i++)
        if (prims[i])
            dnnl_primitive_destroy(prims[i]);
    dnnl_memory_t mems[] = {p->m_src, p->m_csrc, p->m_wei_oihw, p->m_wei, p->m_bias, p->m_dst,
                            p->m_ddst, p->m_dcsrc, p->m_dsrc, p->m_dwei, p->m_dwei_oihw,
                            p->m_dbias, p->m_bwei};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
    mt_free(p->bwei);
    memset(p, 0, sizeof *p);
}
