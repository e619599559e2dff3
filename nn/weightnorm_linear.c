/* weightnorm_linear.c: z = x W^T / |W rows| on OpenBLAS.
 *
 * With a_j = 1/|w_j| and z_nj = a_j <w_j, x_n>:
 *   dL/dx_n = sum_j dL/dz_nj a_j w_j
 *   dL/dw_j = a_j sum_n dL/dz_nj x_n - a_j^2 (sum_n dL/dz_nj z_nj) w_j.
 * The input is gathered into NCHW order (and its gradient scattered back)
 * element by element: it is the (n, c, 1, 1) output of global pooling, small.
 */
#include "nn/weightnorm_linear.h"

#include "core/status.h"
#include "nn/layer.h"
#include "nn/sphere_math.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int out;
} wn_cfg;

typedef struct {
    float *ia; /* (out) 1/|w_j| */
    float *gz; /* (out) sum_n dL/dz_nj z_nj */
} wn_priv;

enum { BUF_X, BUF_DZ, BUF_DX };

static int wn_fan(const mt_layer *l)
{
    return l->in[0]->c * l->in[0]->h * l->in[0]->w;
}

static int wn_infer(mt_layer *l)
{
    const wn_cfg *c = l->cfg;
    if (c->out < 1)
        return mt_error(MT_ERR_ARG, "%s: %d output features", l->name, c->out);
    l->out->c = c->out;
    l->out->h = l->out->w = 1;
    int ws[2] = {c->out, wn_fan(l)};
    int rc = mt_layer_param(l, "weight", MT_SEG_LINEAR_WEIGHT, 2, ws);
    return rc < 0 ? rc : MT_OK;
}

static int wn_compile(mt_layer *l)
{
    const wn_cfg *c = l->cfg;
    wn_priv *p = calloc(1, sizeof *p);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", l->name);
    l->priv = p;
    p->ia = calloc(c->out, sizeof *p->ia);
    p->gz = calloc(c->out, sizeof *p->gz);
    if (!p->ia || !p->gz)
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", l->name);
    if (l->in[0]->md.data_type != dnnl_f32)
        return mt_error(MT_ERR_ARG, "%s: reads fp32 inputs only (a bf16 input came)", l->name);
    mt_md_nchw(&l->out->md, l->out->n, c->out, 1, 1);
    size_t nx = (size_t)l->in[0]->n * wn_fan(l) * sizeof(float);
    int rc = mt_layer_buffer(l, BUF_X, nx);
    if (rc >= 0)
        rc = mt_layer_buffer_scoped(l, BUF_DZ, (size_t)l->out->n * c->out * sizeof(float),
                                    MT_BUF_BACKWARD);
    if (rc >= 0)
        rc = mt_layer_buffer_scoped(l, BUF_DX, nx, MT_BUF_BACKWARD);
    return rc;
}

/* Between the input's layout and NCHW rows; to_rows: gather, else scatter. */
static void copy_rows(const mt_tensor *t, float *act, float *rows, int to_rows)
{
    size_t i = 0;
    for (int n = 0; n < t->n; n++)
        for (int c = 0; c < t->c; c++)
            for (int h = 0; h < t->h; h++)
                for (int w = 0; w < t->w; w++, i++) {
                    size_t o = mt_md_offset(&t->md, n, c, h, w);
                    if (to_rows)
                        rows[i] = act[o];
                    else
                        act[o] = rows[i];
                }
}

static int wn_forward(mt_layer *l, int train)
{
    const wn_cfg *c = l->cfg;
    wn_priv *p = l->priv;
    int n = l->out->n, K = wn_fan(l), M = c->out;
    float *x = l->buf[BUF_X], *z = l->out->data;
    const float *W = l->param;
    copy_rows(l->in[0], l->in[0]->data, x, 1);
    for (int j = 0; j < M; j++) {
        double ss = 0;
        for (int i = 0; i < K; i++)
            ss += (double)W[(size_t)j * K + i] * W[(size_t)j * K + i];
        p->ia[j] = (float)(1.0 / sqrt(ss + MT_SPHERE_NORM_EPS));
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, M, K, 1.0f, x, K, W, K, 0.0f, z, M);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < M; j++)
            z[(size_t)i * M + j] *= p->ia[j];
    return MT_OK;
}

static int wn_backward(mt_layer *l)
{
    const wn_cfg *c = l->cfg;
    wn_priv *p = l->priv;
    int n = l->out->n, K = wn_fan(l), M = c->out;
    const float *x = l->buf[BUF_X], *dz = l->out->diff, *z = l->out->data, *W = l->param;
    float *dza = l->buf[BUF_DZ], *dW = l->grad;
    /* dza = dz a (per column), gz_j = sum_n dz_nj z_nj */
    memset(p->gz, 0, sizeof *p->gz * M);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < M; j++) {
            size_t q = (size_t)i * M + j;
            dza[q] = dz[q] * p->ia[j];
            p->gz[j] += dz[q] * z[q];
        }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, M, K, n, 1.0f, dza, M, x, K, 0.0f, dW, K);
    for (int j = 0; j < M; j++) {
        float f = -p->gz[j] * p->ia[j] * p->ia[j];
        for (int i = 0; i < K; i++)
            dW[(size_t)j * K + i] += f * W[(size_t)j * K + i];
    }
    float *dx = mt_layer_diff_begin(l, 0);
    if (!dx)
        return MT_OK;
    float *rows = l->buf[BUF_DX];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, K, M, 1.0f, dza, M, W, K, 0.0f, rows,
                K);
    memset(dx, 0, dnnl_memory_desc_get_size(&l->in[0]->md));
    copy_rows(l->in[0], dx, rows, 0);
    return mt_layer_diff_end(l, 0);
}

static int wn_init(mt_layer *l, mt_rng *rng)
{
    double std = sqrt(2.0 / wn_fan(l));
    for (size_t i = 0; i < l->n_param; i++)
        l->param[i] = (float)(std * mt_rng_normal(rng));
    return MT_OK;
}

static void wn_destroy(mt_layer *l)
{
    wn_priv *p = l->priv;
    if (!p)
        return;
    free(p->ia);
    free(p->gz);
    free(p);
    l->priv = NULL;
}

static double wn_macs(const mt_layer *l)
{
    return (double)((const wn_cfg *)l->cfg)->out * wn_fan(l);
}

static const mt_layer_kind wn_kind = {
    .name = "wnlinear",
    .infer = wn_infer,
    .compile = wn_compile,
    .forward = wn_forward,
    .backward = wn_backward,
    .init = wn_init,
    .destroy = wn_destroy,
    .macs = wn_macs,
};

int mt_weightnorm_linear(mt_net *net, int x, int out)
{
    if (x < 0)
        return x;
    wn_cfg cfg = {out};
    return mt_net_add_layer(net, &wn_kind, &x, 1, &cfg, sizeof cfg);
}
