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
#include "nn/plain_input.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

typedef struct {
    int out, bias;
} linear_cfg;

typedef struct {
    mt_plain_input x; /* the input as (n, in) */
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

static int linear_compile(mt_layer *l)
{
    linear_priv *p = calloc(1, sizeof *p);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "out of memory");
    l->priv = p;
    mt_md_nchw(&l->out->md, l->out->n, l->out->c, 1, 1);
    return mt_plain_input_compile(l, &p->x, BUF_X, BUF_DX);
}

static int linear_bind(mt_layer *l)
{
    return mt_plain_input_bind(l, &((linear_priv *)l->priv)->x);
}

static int linear_forward(mt_layer *l, int train)
{
    const linear_cfg *c = l->cfg;
    linear_priv *p = l->priv;
    const float *x;
    int rc = mt_plain_input_get(l, &p->x, &x);
    if (rc < 0)
        return rc;
    int n = l->out->n, K = in_features(l), M = c->out;
    const float *W = l->param;
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
    /* the plain input forward left (the reorder's output when there was one) */
    const float *x = p->x.to_plain ? l->buf[BUF_X] : l->in[0]->data;
    const float *dy = l->out->diff, *W = l->param;
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
    float *dxp = mt_plain_input_grad_buffer(l, &p->x, t);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, K, M, 1.0f, dy, M, W, K, 0.0f, dxp,
                K);
    return mt_plain_input_grad_done(l, &p->x, t);
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
    mt_plain_input_destroy(&p->x);
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
