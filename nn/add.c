/* add.c: the residual add a + b with an optionally fused ReLU, the tail of a
 * ResNet block (oneDNN 2.6 has no norm+add+relu flag). Forward is one pass
 * when a and b share a layout (the ResNet case), else oneDNN's binary-add
 * primitive with a ReLU post-op; backward is one pass that masks the output
 * gradient by out > 0 and writes it to both inputs. Works in the inputs'
 * data type (fp32 or bf16; the add itself in fp32 either way).
 *
 * Not here: shortcut transforms (nn/shortcut_pad.c, or a 1x1 conv + BN).
 */
#include "core/status.h"
#include "nn/eltwise.h"
#include "nn/layer.h"
#include "nn/net_internal.h"

#include <stdlib.h>

typedef struct {
    dnnl_primitive_t fwd;
    dnnl_primitive_t to_b; /* gradient reorder when b's layout differs; NULL otherwise */
    dnnl_memory_t m_a, m_b, m_dst, m_g, m_db;
    int same; /* a, b and out share one layout */
} add_priv;

static int add_infer(mt_layer *l)
{
    const mt_tensor *a = l->in[0], *b = l->in[1];
    if (a->c != b->c || a->h != b->h || a->w != b->w)
        return mt_error(MT_ERR_ARG, "%s: shapes differ: (%d, %d, %d) + (%d, %d, %d)", l->name,
                        a->c, a->h, a->w, b->c, b->h, b->w);
    l->out->c = a->c;
    l->out->h = a->h;
    l->out->w = a->w;
    return MT_OK;
}

static int add_compile(mt_layer *l)
{
    const mt_add_cfg *c = l->cfg;
    const mt_tensor *a = l->in[0], *b = l->in[1];
    add_priv *p = calloc(1, sizeof *p);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "out of memory");
    l->priv = p;
    l->out->md = a->md;
    p->same = dnnl_memory_desc_equal(&a->md, &b->md);
    dnnl_binary_desc_t d;
    MT_DNNL(dnnl_binary_desc_init(&d, dnnl_binary_add, &a->md, &b->md, &l->out->md));
    dnnl_primitive_attr_t attr;
    int rc = mt_attr_create(&attr);
    if (rc < 0)
        return rc;
    dnnl_post_ops_t po = NULL;
    dnnl_status_t s = dnnl_success;
    if (c->relu) {
        s = dnnl_post_ops_create(&po);
        if (s == dnnl_success)
            s = dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
        if (s == dnnl_success)
            s = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    dnnl_primitive_desc_t pd = NULL;
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(&pd, &d, attr, mt_net_engine(l->net), NULL);
    if (po)
        dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success)
        return mt_dnnl_error("binary add with ReLU post-op", s);
    rc = mt_prim_create(l->net, &p->fwd, pd, "add forward");
    dnnl_primitive_desc_destroy(pd);
    /* backward masks by the output (with ReLU) and reads neither input */
    mt_layer_backward_reads(l, 0, 0, ((const mt_add_cfg *)l->cfg)->relu);
    if (rc < 0 || p->same || !b->needs_diff)
        return rc;
    /* b's gradient leaves through a reorder from the output's layout. */
    mt_layer_buffer_scoped(l, 0, dnnl_memory_desc_get_size(&l->out->md), MT_BUF_BACKWARD);
    dnnl_primitive_desc_t rpd;
    MT_DNNL(dnnl_reorder_primitive_desc_create(&rpd, &l->out->md, mt_net_engine(l->net), &b->md,
                                               mt_net_engine(l->net), NULL));
    rc = mt_prim_create(l->net, &p->to_b, rpd, "add gradient reorder");
    dnnl_primitive_desc_destroy(rpd);
    return rc;
}

static int add_bind(mt_layer *l)
{
    add_priv *p = l->priv;
    int rc = mt_mem_create(l->net, &p->m_a, &l->in[0]->md, l->in[0]->data);
    if (rc >= 0)
        rc = mt_mem_create(l->net, &p->m_b, &l->in[1]->md, l->in[1]->data);
    if (rc >= 0)
        rc = mt_mem_create(l->net, &p->m_dst, &l->out->md, l->out->data);
    if (rc >= 0 && p->to_b)
        rc = mt_mem_create(l->net, &p->m_g, &l->out->md, l->buf[0]);
    if (rc >= 0 && p->to_b)
        rc = mt_mem_create(l->net, &p->m_db, &l->in[1]->md, NULL);
    return rc;
}

static int add_forward(mt_layer *l, int train)
{
    add_priv *p = l->priv;
    if (p->same) {
        /* One pass over the same layout: half the time oneDNN's binary
         * primitive with a post-op took here. */
        size_t n = mt_md_count(&l->out->md);
        int relu = ((const mt_add_cfg *)l->cfg)->relu;
        if (l->out->md.data_type == dnnl_bf16)
            mt_bf16_add((mt_bf16 *)l->out->data, (const mt_bf16 *)l->in[0]->data,
                        (const mt_bf16 *)l->in[1]->data, n, relu);
        else
            mt_f32_add(l->out->data, l->in[0]->data, l->in[1]->data, n, relu);
        return MT_OK;
    }
    dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC_0, p->m_a}, {DNNL_ARG_SRC_1, p->m_b},
                            {DNNL_ARG_DST, p->m_dst}};
    return mt_prim_exec(l->net, p->fwd, 3, a, "add forward");
}

/* t = (out > 0 ? dout : 0), or t = dout without ReLU, in the output's data
 * type. */
static void mask_grad(const mt_layer *l, void *t, const void *out, const void *dout, size_t n,
                      int relu)
{
    if (l->out->md.data_type == dnnl_bf16)
        mt_bf16_mask_grad(t, out, dout, n, relu, 0);
    else
        mt_f32_mask_grad(t, out, dout, n, relu, 0);
}

static int add_backward(mt_layer *l)
{
    const mt_add_cfg *c = l->cfg;
    add_priv *p = l->priv;
    mt_tensor *a = l->in[0], *b = l->in[1];
    const float *out = l->out->data, *dout = l->out->diff;
    size_t n = mt_md_count(&l->out->md);
    if (p->same && a != b && a->diff && !a->diff_written && b->diff) {
        /* The usual residual tail: one pass writes both gradients. */
        if (l->out->md.data_type == dnnl_bf16)
            mt_bf16_add_backward((mt_bf16 *)a->diff, (mt_bf16 *)b->diff, (const mt_bf16 *)out,
                                 (const mt_bf16 *)dout, n, c->relu, b->diff_written);
        else
            mt_f32_add_backward(a->diff, b->diff, out, dout, n, c->relu, b->diff_written);
        a->diff_written = b->diff_written = 1;
        return MT_OK;
    }
    int rc = MT_OK;
    for (int i = 0; i < 2 && rc >= 0; i++) {
        float *t = mt_layer_diff_begin(l, i);
        if (!t)
            continue;
        if (i == 1 && p->to_b) {
            mask_grad(l, l->buf[0], out, dout, n, c->relu);
            MT_DNNL(dnnl_memory_set_data_handle(p->m_db, t));
            dnnl_exec_arg_t r[2] = {{DNNL_ARG_FROM, p->m_g}, {DNNL_ARG_TO, p->m_db}};
            rc = mt_prim_exec(l->net, p->to_b, 2, r, "add gradient reorder");
        } else {
            mask_grad(l, t, out, dout, n, c->relu);
        }
        if (rc >= 0)
            rc = mt_layer_diff_end(l, i);
    }
    return rc;
}

static void add_destroy(mt_layer *l)
{
    add_priv *p = l->priv;
    if (p->fwd)
        dnnl_primitive_destroy(p->fwd);
    if (p->to_b)
        dnnl_primitive_destroy(p->to_b);
    dnnl_memory_t mems[] = {p->m_a, p->m_b, p->m_dst, p->m_g, p->m_db};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
    free(p);
    l->priv = NULL;
}

static const mt_layer_kind add_kind = {
    .name = "add",
    .infer = add_infer,
    .compile = add_compile,
    .bind = add_bind,
    .forward = add_forward,
    .backward = add_backward,
    .destroy = add_destroy,
};

int mt_add(mt_net *net, int a, int b, int relu)
{
    mt_add_cfg c = {relu != 0};
    int in[2] = {a, b};
    return mt_net_add_layer(net, &add_kind, in, 2, &c, sizeof c);
}
