/* linear.c: the fully connected layer, out = x W^T + b on OpenBLAS's sgemm,
 * with W (out, in) as PyTorch stores it. The input is flattened in NCHW order
 * (a reorder from a blocked layout first when needed; for the 1x1 output of
 * global pooling that is n*c floats).
 *
 * Not here: the softmax and loss (nn/softmax_xent.c).
 */
#include "core/status.h"
#include "nn/layer.h"
#include "nn/net_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

typedef struct {
    int out, bias;
} linear_cfg;

typedef struct {
    dnnl_primitive_t to_plain, from_plain; /* NULL when the input is already NCHW */
    dnnl_memory_t m_x, m_xp, m_dxp, m_dx;
    float *dx;
} linear_priv;

enum { BUF_X, BUF_DX };

static int in_features(const mt_layer *l)
{
    return l->in[0]->c * l->in[0]->h * l->in[0]->w;
}

static int linear_infer(mt_layer *l)
{
    const linear_cfg *c = l->cfg;
    if (c->out < 1)
        return mt_error(MT_ERR_ARG, "%s: %d output features", l->name, c->out);
    l->out->c = c->out;
    l->out->h = l->out->w = 1;
    int ws[2] = {c->out, in_features(l)};
    int rc = mt_layer_param(l, "weight", MT_SEG_LINEAR_WEIGHT, 2, ws);
    if (rc >= 0 && c->bias)
        rc = mt_layer_param(l, "bias", MT_SEG_BIAS, 1, &c->out);
    return rc < 0 ? rc : MT_OK;
}

static int reorder(mt_layer *l, dnnl_primitive_t *r, const dnnl_memory_desc_t *a,
                   const dnnl_memory_desc_t *b)
{
    dnnl_primitive_desc_t pd;
    MT_DNNL(dnnl_reorder_primitive_desc_create(&pd, a, mt_net_engine(l->net), b,
                                               mt_net_engine(l->net), NULL));
    int rc = mt_prim_create(l->net, r, pd, "linear input reorder");
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

static int linear_compile(mt_layer *l)
{
    const mt_tensor *x = l->in[0];
    linear_priv *p = calloc(1, sizeof *p);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "out of memory");
    l->priv = p;
    mt_md_nchw(&l->out->md, l->out->n, l->out->c, 1, 1);
    dnnl_memory_desc_t plain;
    mt_md_nchw(&plain, x->n, x->c, x->h, x->w);
    if (dnnl_memory_desc_equal(&plain, &x->md))
        return MT_OK;
    size_t bytes = (size_t)x->n * in_features(l) * sizeof(float);
    mt_layer_buffer(l, BUF_X, bytes);
    int rc = reorder(l, &p->to_plain, &x->md, &plain);
    if (rc >= 0 && x->needs_diff) {
        mt_layer_buffer(l, BUF_DX, bytes);
        rc = reorder(l, &p->from_plain, &plain, &x->md);
    }
    return rc;
}

static int linear_bind(mt_layer *l)
{
    linear_priv *p = l->priv;
    const mt_tensor *x = l->in[0];
    if (!p->to_plain)
        return MT_OK;
    dnnl_memory_desc_t plain;
    mt_md_nchw(&plain, x->n, x->c, x->h, x->w);
    int rc = mt_mem_create(l->net, &p->m_x, &x->md, x->data);
    if (rc >= 0)
        rc = mt_mem_create(l->net, &p->m_xp, &plain, l->buf[BUF_X]);
    if (rc >= 0 && p->from_plain)
        rc = mt_mem_create(l->net, &p->m_dxp, &plain, l->buf[BUF_DX]);
    if (rc >= 0 && p->from_plain)
        rc = mt_mem_create(l->net, &p->m_dx, &x->md, x->diff);
    p->dx = x->diff;
    return rc;
}

static const float *plain_input(mt_layer *l)
{
    return ((linear_priv *)l->priv)->to_plain ? l->buf[BUF_X] : l->in[0]->data;
}

static int linear_forward(mt_layer *l, int train)
{
    const linear_cfg *c = l->cfg;
    linear_priv *p = l->priv;
    if (p->to_plain) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->m_x}, {DNNL_ARG_TO, p->m_xp}};
        int rc = mt_prim_exec(l->net, p->to_plain, 2, a, "linear input reorder");
        if (rc < 0)
            return rc;
        MT_DNNL(dnnl_stream_wait(mt_net_stream(l->net)));
    }
    int n = l->out->n, K = in_features(l), M = c->out;
    const float *x = plain_input(l), *W = l->param;
    float *y = l->out->data;
    if (c->bias) {
        const float *b = l->param + (size_t)M * K;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < M; j++)
                y[(size_t)i * M + j] = b[j];
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, M, K, 1.0f, x, K, W, K,
                c->bias ? 1.0f : 0.0f, y, M);
    return MT_OK;
}

static int linear_backward(mt_layer *l)
{
    const linear_cfg *c = l->cfg;
    linear_priv *p = l->priv;
    int n = l->out->n, K = in_features(l), M = c->out;
    const float *x = plain_input(l), *dy = l->out->diff, *W = l->param;
    float *dW = l->grad;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, K, n, 1.0f, dy, M, x, K, 0.0f, dW, K);
    if (c->bias) {
        float *db = l->grad + (size_t)M * K;
        for (int j = 0; j < M; j++) {
            double s = 0;
            for (int i = 0; i < n; i++)
                s += dy[(size_t)i * M + j];
            db[j] = (float)s;
        }
    }
    float *t = mt_layer_diff_begin(l, 0);
    if (!t)
        return MT_OK;
    float *dxp = p->from_plain ? l->buf[BUF_DX] : t;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, K, M, 1.0f, dy, M, W, K, 0.0f, dxp,
                K);
    if (p->from_plain) {
        if (t != p->dx) {
            MT_DNNL(dnnl_memory_set_data_handle(p->m_dx, t));
            p->dx = t;
        }
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->m_dxp}, {DNNL_ARG_TO, p->m_dx}};
        int rc = mt_prim_exec(l->net, p->from_plain, 2, a, "linear gradient reorder");
        if (rc < 0)
            return rc;
    }
    return mt_layer_diff_end(l, 0);
}

static int linear_init(mt_layer *l, mt_rng *rng)
{
    /* PyTorch's nn.Linear: weight and bias U(-1/sqrt(in), 1/sqrt(in)). */
    double bound = 1.0 / sqrt((double)in_features(l));
    for (size_t i = 0; i < l->n_param; i++)
        l->param[i] = (float)((2 * mt_rng_uniform(rng) - 1) * bound);
    return MT_OK;
}

static void linear_destroy(mt_layer *l)
{
    linear_priv *p = l->priv;
    if (p->to_plain)
        dnnl_primitive_destroy(p->to_plain);
    if (p->from_plain)
        dnnl_primitive_destroy(p->from_plain);
    dnnl_memory_t mems[] = {p->m_x, p->m_xp, p->m_dxp, p->m_dx};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
    free(p);
    l->priv = NULL;
}

static double linear_macs(const mt_layer *l)
{
    return (double)in_features(l) * ((const linear_cfg *)l->cfg)->out;
}

static const mt_layer_kind linear_kind = {
    .name = "fc",
    .infer = linear_infer,
    .compile = linear_compile,
    .bind = linear_bind,
    .forward = linear_forward,
    .backward = linear_backward,
    .init = linear_init,
    .destroy = linear_destroy,
    .macs = linear_macs,
};

int mt_linear(mt_net *net, int x, int out, int bias)
{
    linear_cfg c = {out, bias != 0};
    return mt_net_add_layer(net, &linear_kind, &x, 1, &c, sizeof c);
}
