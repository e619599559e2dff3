/* pool.c: max and average pooling (average excludes padding) on oneDNN, and
 * global average pooling as the average pool whose window is the whole
 * input. The output keeps oneDNN's choice of layout (the input's family).
 *
 * Not here: adaptive pooling to other output sizes.
 */
#include "core/status.h"
#include "nn/layer.h"
#include "nn/net_internal.h"

#include <stdlib.h>

typedef struct {
    int avg;             /* 0 max, 1 average */
    int k, stride, pad;  /* k = 0: global (the whole input) */
} pool_cfg;

typedef struct {
    dnnl_primitive_t fwd, bwd;
    dnnl_memory_desc_t ws_md;
    dnnl_memory_t m_src, m_dst, m_ws, m_ddst, m_dsrc;
    float *dsrc;
} pool_priv;

static void window(const mt_layer *l, int *kh, int *kw, int *s, int *p)
{
    const pool_cfg *c = l->cfg;
    if (c->k == 0) {
        *kh = l->in[0]->h, *kw = l->in[0]->w, *s = 1, *p = 0;
    } else {
        *kh = *kw = c->k, *s = c->stride, *p = c->pad;
    }
}

static int pool_infer(mt_layer *l)
{
    const pool_cfg *c = l->cfg;
    const mt_tensor *x = l->in[0];
    if (c->k != 0 && (c->k < 1 || c->stride < 1 || c->pad < 0 || c->pad >= c->k))
        return mt_error(MT_ERR_ARG, "%s: kernel %d, stride %d, pad %d (need k >= 1, stride >= 1, 0 <= pad < k)",
                        l->name, c->k, c->stride, c->pad);
    int kh, kw, s, p;
    window(l, &kh, &kw, &s, &p);
    if (x->h + 2 * p < kh || x->w + 2 * p < kw)
        return mt_error(MT_ERR_ARG, "%s: window %dx%d larger than the padded input %dx%d", l->name,
                        kh, kw, x->h + 2 * p, x->w + 2 * p);
    l->out->c = x->c;
    l->out->h = (x->h + 2 * p - kh) / s + 1;
    l->out->w = (x->w + 2 * p - kw) / s + 1;
    return MT_OK;
}

static int pool_compile(mt_layer *l)
{
    const pool_cfg *c = l->cfg;
    const mt_tensor *x = l->in[0];
    pool_priv *p = calloc(1, sizeof *p);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "out of memory");
    l->priv = p;
    int kh, kw, s, pd_;
    window(l, &kh, &kw, &s, &pd_);
    dnnl_memory_desc_t dst_any;
    dnnl_dims_t dd = {l->out->n, l->out->c, l->out->h, l->out->w};
    MT_DNNL(dnnl_memory_desc_init_by_tag(&dst_any, 4, dd, x->md.data_type, dnnl_format_tag_any));
    dnnl_dims_t strides = {s, s}, kernel = {kh, kw}, pad = {pd_, pd_};
    /* Right padding so that the last window fits exactly, as PyTorch's floor mode. */
    dnnl_dims_t pad_r = {(l->out->h - 1) * s + kh - x->h - pd_, (l->out->w - 1) * s + kw - x->w - pd_};
    dnnl_alg_kind_t alg = c->avg ? dnnl_pooling_avg_exclude_padding : dnnl_pooling_max;
    dnnl_pooling_desc_t d;
    MT_DNNL(dnnl_pooling_forward_desc_init(
        &d, mt_layer_training(l) ? dnnl_forward_training : dnnl_forward_inference, alg, &x->md,
        &dst_any, strides, kernel, pad, pad_r));
    mt_layer_backward_reads(l, 0, 0, 0); /* the max positions are in the workspace */
    dnnl_primitive_attr_t attr;
    int rc = mt_attr_create(&attr);
    if (rc < 0)
        return rc;
    dnnl_primitive_desc_t fpd;
    dnnl_status_t st = dnnl_primitive_desc_create(&fpd, &d, attr, mt_net_engine(l->net), NULL);
    if (st != dnnl_success) {
        dnnl_primitive_attr_destroy(attr);
        return mt_dnnl_error("dnnl_primitive_desc_create(pooling forward)", st);
    }
    l->out->md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
    if (ws && ws->ndims > 0) {
        p->ws_md = *ws;
        mt_layer_buffer_scoped(l, 0, dnnl_memory_desc_get_size(ws), MT_BUF_TRAINING);
    }
    rc = mt_prim_create(l->net, &p->fwd, fpd, "pooling forward");
    if (rc >= 0 && l->out->needs_diff) {
        dnnl_pooling_desc_t bd;
        dnnl_primitive_desc_t bpd = NULL;
        st = dnnl_pooling_backward_desc_init(&bd, alg, &x->md, &l->out->md, strides, kernel, pad,
                                             pad_r);
        if (st == dnnl_success)
            st = dnnl_primitive_desc_create(&bpd, &bd, attr, mt_net_engine(l->net), fpd);
        if (st != dnnl_success)
            rc = mt_dnnl_error("dnnl_primitive_desc_create(pooling backward)", st);
        else
            rc = mt_prim_create(l->net, &p->bwd, bpd, "pooling backward");
        if (bpd)
            dnnl_primitive_desc_destroy(bpd);
    }
    dnnl_primitive_desc_destroy(fpd);
    dnnl_primitive_attr_destroy(attr);
    return rc;
}

static int pool_bind(mt_layer *l)
{
    pool_priv *p = l->priv;
    int rc = mt_mem_create(l->net, &p->m_src, &l->in[0]->md, l->in[0]->data);
    if (rc >= 0)
        rc = mt_mem_create(l->net, &p->m_dst, &l->out->md, l->out->data);
    if (rc >= 0 && l->buf[0])
        rc = mt_mem_create(l->net, &p->m_ws, &p->ws_md, l->buf[0]);
    if (rc >= 0 && p->bwd)
        rc = mt_mem_create(l->net, &p->m_ddst, &l->out->md, l->out->diff);
    if (rc >= 0 && p->bwd)
        rc = mt_mem_create(l->net, &p->m_dsrc, &l->in[0]->md, l->in[0]->diff);
    p->dsrc = l->in[0]->diff;
    return rc;
}

static int pool_forward(mt_layer *l, int train)
{
    pool_priv *p = l->priv;
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, p->m_src}, {DNNL_ARG_DST, p->m_dst},
                            {DNNL_ARG_WORKSPACE, p->m_ws}};
    return mt_prim_exec(l->net, p->fwd, p->m_ws ? 3 : 2, a, "pooling forward");
}

static int pool_backward(mt_layer *l)
{
    pool_priv *p = l->priv;
    float *t = mt_layer_diff_begin(l, 0);
    if (!t)
        return MT_OK;
    if (t != p->dsrc) {
        MT_DNNL(dnnl_memory_set_data_handle(p->m_dsrc, t));
        p->dsrc = t;
    }
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, p->m_ddst}, {DNNL_ARG_DIFF_SRC, p->m_dsrc},
                            {DNNL_ARG_WORKSPACE, p->m_ws}};
    int rc = mt_prim_exec(l->net, p->bwd, p->m_ws ? 3 : 2, a, "pooling backward");
    return rc < 0 ? rc : mt_layer_diff_end(l, 0);
}

static void pool_destroy(mt_layer *l)
{
    pool_priv *p = l->priv;
    if (p->fwd)
        dnnl_primitive_destroy(p->fwd);
    if (p->bwd)
        dnnl_primitive_destroy(p->bwd);
    dnnl_memory_t mems[] = {p->m_src, p->m_dst, p->m_ws, p->m_ddst, p->m_dsrc};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
    free(p);
    l->priv = NULL;
}

static const mt_layer_kind pool_kind = {
    .name = "pool",
    .infer = pool_infer,
    .compile = pool_compile,
    .bind = pool_bind,
    .forward = pool_forward,
    .backward = pool_backward,
    .destroy = pool_destroy,
};

int mt_maxpool(mt_net *net, int x, int k, int stride, int pad)
{
    if (k == 0)
        return mt_error(MT_ERR_ARG, "maxpool: kernel 0");
    pool_cfg c = {0, k, stride, pad};
    return mt_net_add_layer(net, &pool_kind, &x, 1, &c, sizeof c);
}

int mt_avgpool(mt_net *net, int x, int k, int stride, int pad)
{
    if (k == 0)
        return mt_error(MT_ERR_ARG, "avgpool: kernel 0");
    pool_cfg c = {1, k, stride, pad};
    return mt_net_add_layer(net, &pool_kind, &x, 1, &c, sizeof c);
}

int mt_global_avgpool(mt_net *net, int x)
{
    pool_cfg c = {1, 0, 1, 0};
    return mt_net_add_layer(net, &pool_kind, &x, 1, &c, sizeof c);
}
