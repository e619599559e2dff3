/* plain_input.c: a layer's first input seen as plain NCHW (row-major
 * (n, c*h*w)), for layers that compute on plain arrays (the linear layer's
 * sgemm, the loss): a reorder in when the producer chose a blocked layout,
 * and one back for the input's gradient. Nothing is copied when the input is
 * already plain.
 */
#include "nn/plain_input.h"

#include "core/status.h"
#include "nn/net_internal.h"

#include <string.h>

int mt_reorder_create(mt_net *net, dnnl_primitive_t *r, const dnnl_memory_desc_t *from,
                      const dnnl_memory_desc_t *to, const char *what)
{
    *r = NULL;
    if (dnnl_memory_desc_equal(from, to))
        return MT_OK;
    dnnl_primitive_attr_t attr;
    int rc = mt_attr_create(&attr);
    if (rc < 0)
        return rc;
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = dnnl_reorder_primitive_desc_create(&pd, from, net->eng, to, net->eng, attr);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) {
        mt_dnnl_error("dnnl_reorder_primitive_desc_create", s);
        return mt_error_context(MT_ERR_LIB, "%s", what);
    }
    rc = mt_prim_create(net, r, pd, what);
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

int mt_plain_input_compile(mt_layer *l, mt_plain_input *p, int buf_x, int buf_dx)
{
    const mt_tensor *x = l->in[0];
    memset(p, 0, sizeof *p);
    p->buf_x = buf_x;
    p->buf_dx = buf_dx;
    dnnl_memory_desc_t plain;
    mt_md_nchw(&plain, x->n, x->c, x->h, x->w);
    if (dnnl_memory_desc_equal(&plain, &x->md))
        return MT_OK;
    size_t bytes = (size_t)x->n * x->c * x->h * x->w * sizeof(float);
    mt_layer_buffer(l, buf_x, bytes);
    int rc = mt_reorder_create(l->net, &p->to_plain, &x->md, &plain, "reorder to plain");
    if (rc >= 0 && x->needs_diff) {
        mt_layer_buffer_scoped(l, buf_dx, bytes, MT_BUF_BACKWARD);
        rc = mt_reorder_create(l->net, &p->from_plain, &plain, &x->md, "reorder from plain");
    }
    return rc;
}

int mt_plain_input_bind(mt_layer *l, mt_plain_input *p)
{
    const mt_tensor *x = l->in[0];
    if (!p->to_plain)
        return MT_OK;
    dnnl_memory_desc_t plain;
    mt_md_nchw(&plain, x->n, x->c, x->h, x->w);
    int rc = mt_mem_create(l->net, &p->m_x, &x->md, x->data);
    if (rc >= 0)
        rc = mt_mem_create(l->net, &p->m_xp, &plain, l->buf[p->buf_x]);
    if (rc >= 0 && p->from_plain)
        rc = mt_mem_create(l->net, &p->m_dxp, &plain, l->buf[p->buf_dx]);
    if (rc >= 0 && p->from_plain)
        rc = mt_mem_create(l->net, &p->m_dx, &x->md, x->diff);
    p->dx = x->diff;
    return rc;
}

int mt_plain_input_get(mt_layer *l, mt_plain_input *p, const float **x)
{
    *x = l->in[0]->data;
    if (!p->to_plain)
        return MT_OK;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->m_x}, {DNNL_ARG_TO, p->m_xp}};
    int rc = mt_prim_exec(l->net, p->to_plain, 2, a, "reorder to plain");
    if (rc < 0)
        return rc;
    MT_DNNL(dnnl_stream_wait(mt_net_stream(l->net)));
    *x = l->buf[p->buf_x];
    return MT_OK;
}

float *mt_plain_input_grad_buffer(mt_layer *l, mt_plain_input *p, float *target)
{
    return p->from_plain ? l->buf[p->buf_dx] : target;
}

int mt_plain_input_grad_done(mt_layer *l, mt_plain_input *p, float *target)
{
    if (p->from_plain) {
        if (target != p->dx) {
            MT_DNNL(dnnl_memory_set_data_handle(p->m_dx, target));
            p->dx = target;
        }
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->m_dxp}, {DNNL_ARG_TO, p->m_dx}};
        int rc = mt_prim_exec(l->net, p->from_plain, 2, a, "reorder from plain");
        if (rc < 0)
            return rc;
    }
    return mt_layer_diff_end(l, 0);
}

void mt_plain_input_destroy(mt_plain_input *p)
{
    if (p->to_plain)
        dnnl_primitive_destroy(p->to_plain);
    if (p->from_plain)
        dnnl_primitive_destroy(p->from_plain);
    dnnl_memory_t mems[] = {p->m_x, p->m_xp, p->m_dxp, p->m_dx};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
    memset(p, 0, sizeof *p);
}
