/* relu.c: a standalone ReLU, in the input's layout. Forward on oneDNN's
 * eltwise primitive; backward masks the gradient by out > 0 in one pass.
 * Batch norm fuses its own ReLU and the residual add has one: this layer is
 * for nets that need ReLU elsewhere. Works in its input's data type (fp32 or
 * bf16).
 */
#include "core/status.h"
#include "nn/eltwise.h"
#include "nn/layer.h"
#include "nn/net_internal.h"

#include <stdlib.h>

typedef struct {
    dnnl_primitive_t fwd;
    dnnl_memory_t m_src, m_dst;
} relu_priv;

static int relu_infer(mt_layer *l)
{
    l->out->c = l->in[0]->c;
    l->out->h = l->in[0]->h;
    l->out->w = l->in[0]->w;
    return MT_OK;
}

static int relu_compile(mt_layer *l)
{
    relu_priv *p = calloc(1, sizeof *p);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "out of memory");
    l->priv = p;
    l->out->md = l->in[0]->md;
    mt_layer_backward_reads(l, 0, 0, 1); /* the mask is out > 0 */
    dnnl_eltwise_desc_t d;
    MT_DNNL(dnnl_eltwise_forward_desc_init(&d, dnnl_forward_training, dnnl_eltwise_relu,
                                           &l->in[0]->md, 0.0f, 0.0f));
    dnnl_primitive_attr_t attr;
    int rc = mt_attr_create(&attr);
    if (rc < 0)
        return rc;
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_primitive_desc_create(&pd, &d, attr, mt_net_engine(l->net), NULL);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return mt_dnnl_error("dnnl_primitive_desc_create(relu)", s);
    rc = mt_prim_create(l->net, &p->fwd, pd, "relu forward");
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

static int relu_bind(mt_layer *l)
{
    relu_priv *p = l->priv;
    int rc = mt_mem_create(l->net, &p->m_src, &l->in[0]->md, l->in[0]->data);
    return rc < 0 ? rc : mt_mem_create(l->net, &p->m_dst, &l->out->md, l->out->data);
}

static int relu_forward(mt_layer *l, int train)
{
    relu_priv *p = l->priv;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_SRC, p->m_src}, {DNNL_ARG_DST, p->m_dst}};
    return mt_prim_exec(l->net, p->fwd, 2, a, "relu forward");
}

static int relu_backward(mt_layer *l)
{
    float *t = mt_layer_diff_begin(l, 0);
    if (!t)
        return MT_OK;
    size_t n = mt_md_count(&l->out->md);
    if (l->out->md.data_type == dnnl_bf16)
        mt_bf16_mask_grad((mt_bf16 *)t, (const mt_bf16 *)l->out->data,
                          (const mt_bf16 *)l->out->diff, n, 1, 0);
    else
        mt_f32_mask_grad(t, l->out->data, l->out->diff, n, 1, 0);
    return mt_layer_diff_end(l, 0);
}

static void relu_destroy(mt_layer *l)
{
    relu_priv *p = l->priv;
    if (p->fwd)
        dnnl_primitive_destroy(p->fwd);
    if (p->m_src)
        dnnl_memory_destroy(p->m_src);
    if (p->m_dst)
        dnnl_memory_destroy(p->m_dst);
    free(p);
    l->priv = NULL;
}

static const mt_layer_kind relu_kind = {
    .name = "relu",
    .infer = relu_infer,
    .compile = relu_compile,
    .bind = relu_bind,
    .forward = relu_forward,
    .backward = relu_backward,
    .destroy = relu_destroy,
};

int mt_relu(mt_net *net, int x)
{
    return mt_net_add_layer(net, &relu_kind, &x, 1, NULL, 0);
}
