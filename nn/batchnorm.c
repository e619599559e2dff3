/* batchnorm.c: batch normalization on oneDNN, with an optionally fused ReLU
 * (dnnl_fuse_norm_relu): training uses the batch's statistics and updates the
 * running ones (PyTorch's rule: running = (1 - m) running + m batch, the
 * variance unbiased); inference uses the running statistics.
 *
 * Parameters: scale (C) then shift (C); state: running mean (C) then running
 * variance (C). The activation keeps its input's layout.
 *
 * Not here: the residual add + ReLU (nn/add.c).
 */
#include "core/status.h"
#include "nn/layer.h"
#include "nn/net_internal.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    dnnl_primitive_t fwd_train, fwd_infer, bwd;
    dnnl_memory_desc_t ws_md, c_md;
    dnnl_memory_t m_src, m_dst, m_scale, m_shift, m_mean, m_var, m_rmean, m_rvar, m_ws;
    dnnl_memory_t m_ddst, m_dsrc, m_dscale, m_dshift;
    float *dsrc; /* where m_dsrc points now */
} bn_priv;

enum { BUF_MEAN, BUF_VAR, BUF_WS };

static int bn_infer(mt_layer *l)
{
    const mt_bn_cfg *c = l->cfg;
    if (!(c->momentum >= 0 && c->momentum <= 1) || !(c->eps > 0))
        return mt_error(MT_ERR_ARG, "%s: momentum %g must be in [0, 1] and eps %g > 0", l->name,
                        c->momentum, c->eps);
    return mt_batchnorm_declare(l);
}

int mt_batchnorm_declare(mt_layer *l)
{
    const mt_tensor *x = l->in[0];
    l->out->c = x->c;
    l->out->h = x->h;
    l->out->w = x->w;
    int rc = mt_layer_param(l, "scale", MT_SEG_BN_SCALE, 1, &x->c);
    if (rc >= 0)
        rc = mt_layer_param(l, "shift", MT_SEG_BN_SHIFT, 1, &x->c);
    if (rc >= 0)
        rc = mt_layer_state(l, "running_mean", MT_SEG_BN_MEAN, 1, &x->c);
    if (rc >= 0)
        rc = mt_layer_state(l, "running_var", MT_SEG_BN_VAR, 1, &x->c);
    return rc < 0 ? rc : MT_OK;
}

static int make(mt_layer *l, dnnl_primitive_t *prim, const void *desc,
                const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *keep, const char *what)
{
    dnnl_primitive_attr_t attr;
    int rc = mt_attr_create(&attr);
    if (rc < 0)
        return rc;
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_primitive_desc_create(&pd, desc, attr, mt_net_engine(l->net), hint);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) {
        mt_dnnl_error("dnnl_primitive_desc_create", s);
        return mt_error_context(MT_ERR_LIB, "%s", what);
    }
    rc = mt_prim_create(l->net, prim, pd, what);
    if (keep && rc >= 0)
        *keep = pd;
    else
        dnnl_primitive_desc_destroy(pd);
    return rc;
}

static int bn_compile(mt_layer *l)
{
    const mt_bn_cfg *c = l->cfg;
    const mt_tensor *x = l->in[0];
    bn_priv *p = calloc(1, sizeof *p);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "out of memory");
    l->priv = p;
    unsigned flags = dnnl_use_scale | dnnl_use_shift | (c->relu ? dnnl_fuse_norm_relu : 0);
    dnnl_dims_t cd = {x->c};
    dnnl_memory_desc_init_by_tag(&p->c_md, 1, cd, dnnl_f32, dnnl_a);
    /* backward reads the input (and the ReLU's workspace), not the output,
     * which the forward recomputes from that input when a later backward
     * needs it */
    mt_layer_backward_reads(l, 1, 0, 0);
    mt_layer_can_regen(l, 1, 0);
    dnnl_batch_normalization_desc_t di;
    dnnl_status_t s = dnnl_batch_normalization_forward_desc_init(
        &di, dnnl_forward_inference, &x->md, c->eps, flags | dnnl_use_global_stats);
    if (!mt_layer_training(l)) {
        dnnl_primitive_desc_t ipd = NULL;
        int rc = s == dnnl_success
                     ? make(l, &p->fwd_infer, &di, NULL, &ipd, "batch norm forward (inference)")
                     : mt_dnnl_error("dnnl_batch_normalization_forward_desc_init", s);
        if (rc >= 0)
            l->out->md = *dnnl_primitive_desc_query_md(ipd, dnnl_query_dst_md, 0);
        if (ipd)
            dnnl_primitive_desc_destroy(ipd);
        return rc;
    }
    dnnl_batch_normalization_desc_t d;
    MT_DNNL(dnnl_batch_normalization_forward_desc_init(&d, dnnl_forward_training, &x->md, c->eps,
                                                        flags));
    dnnl_primitive_desc_t fpd = NULL;
    int rc = make(l, &p->fwd_train, &d, NULL, &fpd, "batch norm forward (training)");
    if (rc < 0)
        return rc;
    l->out->md = *dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t *ws = dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
    if (ws)
        p->ws_md = *ws;
    mt_layer_buffer(l, BUF_MEAN, (size_t)x->c * sizeof(float));
    mt_layer_buffer(l, BUF_VAR, (size_t)x->c * sizeof(float));
    if (ws && ws->ndims > 0)
        mt_layer_buffer_scoped(l, BUF_WS, dnnl_memory_desc_get_size(ws), MT_BUF_TRAINING);
    rc = s == dnnl_success
             ? make(l, &p->fwd_infer, &di, NULL, NULL, "batch norm forward (inference)")
             : mt_dnnl_error("dnnl_batch_normalization_forward_desc_init", s);
    if (rc >= 0) {
        dnnl_batch_normalization_desc_t db;
        s = dnnl_batch_normalization_backward_desc_init(&db, dnnl_backward, &l->out->md, &x->md,
                                                         c->eps, flags);
        rc = s == dnnl_success ? make(l, &p->bwd, &db, fpd, NULL, "batch norm backward")
                               : mt_dnnl_error("dnnl_batch_normalization_backward_desc_init", s);
    }
    dnnl_primitive_desc_destroy(fpd);
    return rc;
}

static int bn_bind(mt_layer *l)
{
    bn_priv *p = l->priv;
    mt_net *net = l->net;
    const mt_tensor *x = l->in[0];
    int C = x->c, rc = MT_OK;
#define MEM(m, md, ptr)                                                                        \
    if (rc >= 0)                                                                               \
    rc = mt_mem_create(net, &p->m, md, ptr)
    MEM(m_src, &x->md, x->data);
    MEM(m_dst, &l->out->md, l->out->data);
    MEM(m_scale, &p->c_md, l->param);
    MEM(m_shift, &p->c_md, l->param + C);
    MEM(m_mean, &p->c_md, l->buf[BUF_MEAN]);
    MEM(m_var, &p->c_md, l->buf[BUF_VAR]);
    MEM(m_rmean, &p->c_md, l->state);
    MEM(m_rvar, &p->c_md, l->state + C);
    if (l->buf[BUF_WS]) {
        MEM(m_ws, &p->ws_md, l->buf[BUF_WS]);
    }
    MEM(m_ddst, &l->out->md, l->out->diff);
    MEM(m_dsrc, &x->md, x->diff);
    MEM(m_dscale, &p->c_md, l->grad);
    MEM(m_dshift, &p->c_md, l->grad ? l->grad + C : NULL);
#undef MEM
    p->dsrc = x->diff;
    return rc;
}

/* The training forward's primitive: the same input gives the same batch
 * statistics, output and workspace, bit for bit. */
static int forward_train(mt_layer *l)
{
    bn_priv *p = l->priv;
    dnnl_exec_arg_t a[7] = {{DNNL_ARG_SRC, p->m_src},     {DNNL_ARG_DST, p->m_dst},
                            {DNNL_ARG_SCALE, p->m_scale}, {DNNL_ARG_SHIFT, p->m_shift},
                            {DNNL_ARG_MEAN, p->m_mean},   {DNNL_ARG_VARIANCE, p->m_var},
                            {DNNL_ARG_WORKSPACE, p->m_ws}};
    return mt_prim_exec(l->net, p->fwd_train, p->m_ws ? 7 : 6, a, "batch norm forward");
}

/* Recomputed for backward: the output only (running statistics untouched). */
static int bn_regen(mt_layer *l)
{
    return forward_train(l);
}

static int bn_forward(mt_layer *l, int train)
{
    bn_priv *p = l->priv;
    const mt_bn_cfg *c = l->cfg;
    if (!train) {
        dnnl_exec_arg_t a[6] = {{DNNL_ARG_SRC, p->m_src},     {DNNL_ARG_DST, p->m_dst},
                                {DNNL_ARG_SCALE, p->m_scale}, {DNNL_ARG_SHIFT, p->m_shift},
                                {DNNL_ARG_MEAN, p->m_rmean},  {DNNL_ARG_VARIANCE, p->m_rvar}};
        return mt_prim_exec(l->net, p->fwd_infer, 6, a, "batch norm forward (inference)");
    }
    int rc = forward_train(l);
    if (rc < 0)
        return rc;
    const mt_tensor *x = l->in[0];
    double m = x->n * x->h * x->w;
    const float *mean = l->buf[BUF_MEAN], *var = l->buf[BUF_VAR];
    for (int i = 0; i < x->c; i++)
        mt_batchnorm_update_running(&l->state[i], &l->state[x->c + i], mean[i], var[i], m,
                                    c->momentum);
    return MT_OK;
}

void mt_batchnorm_update_running(float *running_mean, float *running_var, float mean, float var,
                                 double count, float momentum)
{
    float unbias = count > 1 ? (float)(count / (count - 1)) : 1.0f;
    *running_mean = (1 - momentum) * *running_mean + momentum * mean;
    *running_var = (1 - momentum) * *running_var + momentum * var * unbias;
}

static int bn_backward(mt_layer *l)
{
    bn_priv *p = l->priv;
    float *dx = mt_layer_diff_begin(l, 0);
    /* the scale/shift gradients still need the pass */
    float *target = dx ? dx : mt_layer_diff_scratch(l, 0);
    if (target != p->dsrc) {
        MT_DNNL(dnnl_memory_set_data_handle(p->m_dsrc, target));
        p->dsrc = target;
    }
    dnnl_exec_arg_t a[10] = {{DNNL_ARG_SRC, p->m_src},
                             {DNNL_ARG_MEAN, p->m_mean},
                             {DNNL_ARG_VARIANCE, p->m_var},
                             {DNNL_ARG_DIFF_DST, p->m_ddst},
                             {DNNL_ARG_SCALE, p->m_scale},
                             {DNNL_ARG_SHIFT, p->m_shift},
                             {DNNL_ARG_DIFF_SRC, p->m_dsrc},
                             {DNNL_ARG_DIFF_SCALE, p->m_dscale},
                             {DNNL_ARG_DIFF_SHIFT, p->m_dshift},
                             {DNNL_ARG_WORKSPACE, p->m_ws}};
    int rc = mt_prim_exec(l->net, p->bwd, p->m_ws ? 10 : 9, a, "batch norm backward");
    if (rc >= 0 && dx)
        rc = mt_layer_diff_end(l, 0);
    return rc;
}

int mt_batchnorm_init(mt_layer *l, mt_rng *rng)
{
    int C = l->in[0]->c;
    for (int i = 0; i < C; i++) {
        l->param[i] = 1;
        l->param[C + i] = 0;
        l->state[i] = 0;
        l->state[C + i] = 1;
    }
    return MT_OK;
}

static void bn_destroy(mt_layer *l)
{
    bn_priv *p = l->priv;
    dnnl_primitive_t prims[] = {p->fwd_train, p->fwd_infer, p->bwd};
    for (size_t i = 0; i < sizeof prims / sizeof *prims; i++)
        if (prims[i])
            dnnl_primitive_destroy(prims[i]);
    dnnl_memory_t mems[] = {p->m_src,   p->m_dst,  p->m_scale, p->m_shift,  p->m_mean,
                            p->m_var,   p->m_rmean, p->m_rvar, p->m_ws,     p->m_ddst,
                            p->m_dsrc,  p->m_dscale, p->m_dshift};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
    free(p);
    l->priv = NULL;
}

static const mt_layer_kind bn_kind = {
    .name = "bn",
    .infer = bn_infer,
    .compile = bn_compile,
    .bind = bn_bind,
    .forward = bn_forward,
    .backward = bn_backward,
    .regen = bn_regen,
    .init = mt_batchnorm_init,
    .destroy = bn_destroy,
};

int mt_batchnorm_ex(mt_net *net, int x, int relu, float momentum, float eps)
{
    mt_bn_cfg c = {relu != 0, momentum, eps};
    return mt_net_add_layer(net, &bn_kind, &x, 1, &c, sizeof c);
}

int mt_batchnorm(mt_net *net, int x, int relu)
{
    return mt_batchnorm_ex(net, x, relu, 0.1f, 1e-5f);
}
