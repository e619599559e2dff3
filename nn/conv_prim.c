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
#include "nn/conv_choice.h"
#include "core/status.h"
#include "nn/net_internal.h"
#include "nn/plain_input.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* How a training convolution's passes pick direct or Winograd: by a timed
 * trial per shape, remembered (nn/conv_choice.h), unless MUTAU_CONV_ALG
 * forces one: "direct", or "winograd" (where oneDNN has it), for tests and
 * comparisons (results differ in the last bits between the two). */
enum { ALG_TIMED, ALG_DIRECT, ALG_WINOGRAD };
static int alg_mode(void)
{
    const char *e = getenv("MUTAU_CONV_ALG");
    if (e && strcmp(e, "direct") == 0)
        return ALG_DIRECT;
    return e && strcmp(e, "winograd") == 0 ? ALG_WINOGRAD : ALG_TIMED;
}

/* Timed runs per candidate in a trial (after one untimed): the fastest
 * counts, since other work on the machine only ever slows a run down. */
enum { TRIAL_REPS = 3 };

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

/* A convolution's descriptors in oneDNN's "any" layouts, from which each
 * pass's primitive descriptor is made. */
typedef struct {
    dnnl_memory_desc_t src_any, wei_any, dst_any, dwei_any;
    dnnl_dims_t strides, padding;
    int train;
} conv_descs;

static const char *const PASS_NAME[MT_CONV_PASSES] = {"conv forward", "conv backward data",
                                                      "conv backward weights"};

/* The operation descriptor of one pass with algorithm alg. The backward
 * passes use the layouts the forward chose (p->csrc_md, p->dst_md). */
static dnnl_status_t pass_desc(const mt_conv_prim *p, const conv_descs *d, int pass,
                               dnnl_alg_kind_t alg, dnnl_convolution_desc_t *cd)
{
    const dnnl_memory_desc_t *bias = p->has_bias ? &p->bias_md : NULL;
    if (pass == MT_CONV_FWD)
        return dnnl_convolution_forward_desc_init(
            cd, d->train ? dnnl_forward_training : dnnl_forward_inference, alg, &d->src_any,
            &d->wei_any, bias, &d->dst_any, d->strides, d->padding, d->padding);
    if (pass == MT_CONV_BWD_DATA)
        return dnnl_convolution_backward_data_desc_init(cd, alg, &p->csrc_md, &d->wei_any,
                                                        &p->dst_md, d->strides, d->padding,
                                                        d->padding);
    return dnnl_convolution_backward_weights_desc_init(cd, alg, &p->csrc_md, &d->dwei_any, bias,
                                                       &p->dst_md, d->strides, d->padding,
                                                       d->padding);
}

/* The primitive descriptor of one pass: Winograd when `winograd` and oneDNN
 * has a fast implementation for it, else direct. */
static int pass_pd(mt_conv_prim *p, const conv_descs *d, int pass, int winograd,
                   const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd)
{
    dnnl_convolution_desc_t cd;
    *pd = NULL;
    if (winograd && pass_desc(p, d, pass, dnnl_convolution_winograd, &cd) == dnnl_success) {
        int rc = make_pd(p->net, pd, &cd, hint, PASS_NAME[pass], 1);
        if (rc < 0 || *pd)
            return rc;
    }
    dnnl_status_t s = pass_desc(p, d, pass, dnnl_convolution_direct, &cd);
    if (s != dnnl_success)
        return mt_error_context(mt_dnnl_error("dnnl_convolution_*_desc_init", s), "%s",
                                PASS_NAME[pass]);
    return make_pd(p->net, pd, &cd, hint, PASS_NAME[pass], 0);
}

/* Whether pd runs oneDNN's Winograd. */
static int is_winograd(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    return impl && strstr(impl, "wino") != NULL;
}

/* Times a pass's direct and Winograd primitives; winograd set to which was
 * faster (0 when oneDNN has no Winograd for it), ms[] their times, *busy to
 * 1 when the machine was too busy to time them cleanly (left as is else). */
static int trial_pass(mt_conv_prim *p, const conv_descs *d, int pass,
                      const_dnnl_primitive_desc_t hint, int *winograd, double ms[2], int *busy)
{
    dnnl_primitive_desc_t cand[2] = {NULL, NULL};
    ms[0] = ms[1] = -1;
    *winograd = 0;
    int rc = pass_pd(p, d, pass, 0, hint, &cand[0]);
    if (rc >= 0)
        rc = pass_pd(p, d, pass, 1, hint, &cand[1]);
    double t[2];
    int was_busy = 0;
    if (rc >= 0)
        rc = mt_prims_time(p->net, (const const_dnnl_primitive_desc_t *)cand, 2, TRIAL_REPS, t,
                           &was_busy);
    *busy |= was_busy;
    for (int i = 0; i < 2 && rc >= 0; i++)
        ms[i] = 1e3 * t[i];
    /* pass_pd(.., 1, ..) falls back to direct: then there is no Winograd */
    if (rc >= 0 && is_winograd(cand[1]))
        *winograd = ms[1] < ms[0];
    else
        ms[1] = -1;
    for (int i = 0; i < 2; i++)
        if (cand[i])
            dnnl_primitive_desc_destroy(cand[i]);
    return rc;
}

/* The shape a training convolution's choice is kept under. */
static mt_conv_key conv_key(const mt_conv_prim *p)
{
    return (mt_conv_key){omp_get_max_threads(), p->n, p->ic, p->ih, p->iw, p->oc, p->k,
                         p->stride, p->pad, p->has_bias, p->bwd_data, p->bwd_weights};
}

/* Which passes run Winograd (want[pass] = 1): as the run pinned for this
 * shape (a resumed run: nn/conv_choice.h), as MUTAU_CONV_ALG forces, as
 * recorded for this shape, or measured now and recorded. A trial times both
 * algorithms of each pass the convolution has, the backward ones behind the
 * faster forward; what is recorded is what every net of this shape then
 * runs (in this process and, through the file, in others). */
static int choose_algs(mt_conv_prim *p, const conv_descs *d, int want[MT_CONV_PASSES])
{
    mt_conv_key key = conv_key(p);
    if (mt_conv_choice_pinned(&key, want))
        return MT_OK;
    int mode = alg_mode();
    for (int i = 0; i < MT_CONV_PASSES; i++)
        want[i] = mode == ALG_WINOGRAD;
    if (mode != ALG_TIMED)
        return MT_OK;
    if (mt_conv_choice_find(&key, want))
        return MT_OK;
    double ms[MT_CONV_PASSES][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    dnnl_primitive_desc_t fpd = NULL;
    int busy = 0;
    int rc = trial_pass(p, d, MT_CONV_FWD, NULL, &want[MT_CONV_FWD], ms[MT_CONV_FWD], &busy);
    if (rc >= 0)
        rc = pass_pd(p, d, MT_CONV_FWD, want[MT_CONV_FWD], NULL, &fpd);
    if (rc >= 0) {
        p->csrc_md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0);
        p->dst_md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
    }
    if (rc >= 0 && p->bwd_data)
        rc = trial_pass(p, d, MT_CONV_BWD_DATA, fpd, &want[MT_CONV_BWD_DATA],
                        ms[MT_CONV_BWD_DATA], &busy);
    if (rc >= 0 && p->bwd_weights)
        rc = trial_pass(p, d, MT_CONV_BWD_WEIGHTS, fpd, &want[MT_CONV_BWD_WEIGHTS],
                        ms[MT_CONV_BWD_WEIGHTS], &busy);
    if (fpd)
        dnnl_primitive_desc_destroy(fpd);
    if (rc >= 0)
        mt_conv_choice_store(&key, want, ms, busy);
    return rc;
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
    conv_descs d;
    dnnl_dims_t sd = {n, ic, ih, iw}, wd = {oc, ic, k, k}, dd = {n, oc, p->oh, p->ow},
                bd = {oc};
    MT_DNNL(dnnl_memory_desc_init_by_tag(&d.src_any, 4, sd, dt, dnnl_format_tag_any));
    MT_DNNL(dnnl_memory_desc_init_by_tag(&d.wei_any, 4, wd, dt, dnnl_format_tag_any));
    MT_DNNL(dnnl_memory_desc_init_by_tag(&d.dst_any, 4, dd, dt, dnnl_format_tag_any));
    /* The weight gradient is fp32 in either precision: oneDNN's bf16
     * backward-weights accumulates in fp32 and writes it so (and the bias
     * gradient, bias_md, is fp32 too), so the optimizer never sees a bf16
     * rounding of a gradient. */
    MT_DNNL(dnnl_memory_desc_init_by_tag(&d.dwei_any, 4, wd, dnnl_f32, dnnl_format_tag_any));
    MT_DNNL(dnnl_memory_desc_init_by_tag(&p->wei_oihw_md, 4, wd, dnnl_f32, dnnl_oihw));
    MT_DNNL(dnnl_memory_desc_init_by_tag(&p->bias_md, 1, bd, dnnl_f32, dnnl_a));
    d.strides[0] = d.strides[1] = stride;
    d.padding[0] = d.padding[1] = pad;
    d.train = p->bwd_data || p->bwd_weights;
    /* Where Winograd may run at all; which of it and direct runs is then
     * measured (choose_algs). oneDNN 2.6's fp32 Winograd F(4x4, 3x3) needs
     * 3x3, stride 1 and channels in blocks of 16. Only on whole 4x4 output
     * tiles: with partial tiles its backward-weights got the bias gradient
     * wrong (tests/test_nn.c's 6x6 case). Forward-only (inference)
     * convolutions stay direct: Winograd's scratchpad grows with the batch
     * (892 MB for SphereResNet-32 width 96 at the evaluation batch of 500,
     * against none for direct). */
    int wino = dt == dnnl_f32 && k == 3 && stride == 1 && p->oh % 4 == 0 && p->ow % 4 == 0 &&
               ic % 16 == 0 && oc % 16 == 0 && d.train;
    int want[MT_CONV_PASSES] = {0, 0, 0};
    /* what runs, for the record of choices used (nn/conv_choice.h) */
    int ran[MT_CONV_PASSES] = {0, 0, 0};
    int rc = wino ? choose_algs(p, &d, want) : MT_OK;
    dnnl_primitive_desc_t fpd = NULL;
    if (rc >= 0)
        rc = pass_pd(p, &d, MT_CONV_FWD, want[MT_CONV_FWD], NULL, &fpd);
    if (rc < 0)
        return rc;
    ran[MT_CONV_FWD] = is_winograd(fpd);
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
        dnnl_primitive_desc_t bpd = NULL;
        rc = pass_pd(p, &d, MT_CONV_BWD_DATA, want[MT_CONV_BWD_DATA], fpd, &bpd);
        if (rc >= 0) {
            /* Backward data reads the weights in its own blocked layout (the
             * transposed blocking): one more small reorder from OIHW. */
            p->bwei_md = *dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0);
            ran[MT_CONV_BWD_DATA] = is_winograd(bpd);
            rc = mt_prim_create(net, &p->bwd_d, bpd, "conv backward data");
            dnnl_primitive_desc_destroy(bpd);
        }
        /* its own reorder even into the forward's layout: the forward's
         * blocked weights then need not be kept until backward */
        if (rc >= 0 && !dnnl_memory_desc_equal(&p->bwei_md, &p->wei_oihw_md))
            rc = mt_reorder_create(net, &p->bwei_reorder, &p->wei_oihw_md, &p->bwei_md,
                                   "conv backward-data weight reorder");
        if (rc >= 0)
            rc = mt_reorder_create(net, &p->dsrc_reorder, &p->csrc_md, &p->src_md,
                              "conv input-gradient reorder");
    }
    if (rc >= 0 && p->bwd_weights) {
        dnnl_primitive_desc_t wpd = NULL;
        rc = pass_pd(p, &d, MT_CONV_BWD_WEIGHTS, want[MT_CONV_BWD_WEIGHTS], fpd, &wpd);
        if (rc >= 0) {
            p->diff_wei_md = *dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0);
            ran[MT_CONV_BWD_WEIGHTS] = is_winograd(wpd);
            rc = mt_prim_create(net, &p->bwd_w, wpd, "conv backward weights");
            dnnl_primitive_desc_destroy(wpd);
        }
        if (rc >= 0)
            rc = mt_reorder_create(net, &p->dwei_reorder, &p->diff_wei_md, &p->wei_oihw_md,
                              "conv weight-gradient reorder");
    }
    dnnl_primitive_desc_destroy(fpd);
    if (rc >= 0 && wino) {
        mt_conv_key key = conv_key(p);
        rc = mt_conv_choice_note(&key, ran);
    }
    return rc;
}

int mt_conv_prim_buffers(const mt_conv_prim *p, mt_layer *l)
{
    size_t bytes[MT_CONV_PRIM_BUFS] = {
        p->src_reorder ? dnnl_memory_desc_get_size(&p->csrc_md) : 0,
        p->wei_reorder ? dnnl_memory_desc_get_size(&p->wei_md) : 0,
        p->dsrc_reorder ? dnnl_memory_desc_get_size(&p->csrc_md) : 0,
        p->dwei_reorder ? dnnl_memory_desc_get_size(&p->diff_wei_md) : 0,
        p->bwei_reorder ? dnnl_memory_desc_get_size(&p->bwei_md) : 0};
    /* Each lives only while it is read: the blocked weights are made from
     * OIHW at every forward, backward data's at every backward, so neither
     * is kept between steps or across the other pass. */
    int scope[MT_CONV_PRIM_BUFS] = {p->bwd_weights ? MT_BUF_TRAINING : MT_BUF_FORWARD,
                                    MT_BUF_FORWARD, MT_BUF_BACKWARD, MT_BUF_BACKWARD,
                                    MT_BUF_BACKWARD};
    for (int i = 0; i < MT_CONV_PRIM_BUFS; i++) {
        int rc = mt_layer_buffer_scoped(l, i, bytes[i], scope[i]);
        if (rc < 0)
            return rc;
    }
    return MT_OK;
}

int mt_conv_prim_bind(mt_conv_prim *p, float *src, float *dst, float *wei_oihw, float *bias,
                      float *diff_src, float *diff_dst, float *diff_wei_oihw, float *diff_bias,
                      void *const bufs[MT_CONV_PRIM_BUFS])
{
    mt_net *net = p->net;
    int rc = MT_OK;
    p->csrc = p->src_reorder ? bufs[0] : src;
    p->wei = p->wei_reorder ? bufs[1] : wei_oihw;
    p->dcsrc = p->dsrc_reorder ? bufs[2] : diff_src;
    p->dwei = p->dwei_reorder ? bufs[3] : diff_wei_oihw;
    p->bwei = p->bwei_reorder ? bufs[4] : NULL;
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
        /* without a reorder backward data reads the OIHW weights themselves */
        MEM(m_bwei, &p->bwei_md, p->bwei_reorder ? p->bwei : (void *)wei_oihw);
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
    memset(p, 0, sizeof *p);
}
