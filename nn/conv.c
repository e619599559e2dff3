/* conv.c: the convolution layer kind: weights (OIHW) and an optional bias in
 * the net's flat buffer, the oneDNN work in nn/conv_prim.c.
 *
 * Not here: the primitives themselves (conv_prim.c), grouped or dilated
 * convolutions (no model of mutau uses them).
 */
#include "core/status.h"
#include "nn/conv_prim.h"
#include "nn/layer.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    int out_c, k, stride, pad, bias;
} conv_cfg;

static int conv_infer(mt_layer *l)
{
    const conv_cfg *c = l->cfg;
    const mt_tensor *x = l->in[0];
    if (c->out_c < 1 || c->k < 1 || c->stride < 1 || c->pad < 0)
        return mt_error(MT_ERR_ARG, "%s: out_c %d, kernel %d, stride %d, pad %d (need >= 1, >= 1, >= 1, >= 0)",
                        l->name, c->out_c, c->k, c->stride, c->pad);
    if (x->h + 2 * c->pad < c->k || x->w + 2 * c->pad < c->k)
        return mt_error(MT_ERR_ARG, "%s: kernel %d larger than the padded input %dx%d", l->name,
                        c->k, x->h + 2 * c->pad, x->w + 2 * c->pad);
    if (c->pad >= c->k)
        return mt_error(MT_ERR_ARG, "%s: padding %d >= kernel %d", l->name, c->pad, c->k);
    l->out->c = c->out_c;
    l->out->h = (x->h + 2 * c->pad - c->k) / c->stride + 1;
    l->out->w = (x->w + 2 * c->pad - c->k) / c->stride + 1;
    int ws[4] = {c->out_c, x->c, c->k, c->k};
    int rc = mt_layer_param(l, "weight", MT_SEG_CONV_WEIGHT, 4, ws);
    if (rc >= 0 && c->bias)
        rc = mt_layer_param(l, "bias", MT_SEG_BIAS, 1, &c->out_c);
    return rc < 0 ? rc : MT_OK;
}

static int conv_compile(mt_layer *l)
{
    const conv_cfg *c = l->cfg;
    const mt_tensor *x = l->in[0];
    mt_conv_prim *p = calloc(1, sizeof *p);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "out of memory");
    l->priv = p;
    int rc = mt_conv_prim_create(p, l->net, &x->md, x->n, x->c, x->h, x->w, c->out_c, c->k,
                                 c->stride, c->pad, c->bias, x->needs_diff, l->out->needs_diff,
                                 mt_net_dtype(l->net));
    if (rc < 0)
        return rc;
    p->owner = l;
    l->out->md = p->dst_md;
    mt_layer_backward_reads(l, 1, 0, 0);
    return mt_conv_prim_buffers(p, l);
}

static int conv_bind(mt_layer *l)
{
    const conv_cfg *c = l->cfg;
    size_t nw = l->n_param - (c->bias ? (size_t)c->out_c : 0);
    return mt_conv_prim_bind(l->priv, l->in[0]->data, l->out->data, l->param,
                             c->bias ? l->param + nw : NULL, l->in[0]->diff, l->out->diff,
                             l->grad, c->bias && l->grad ? l->grad + nw : NULL, l->buf);
}

static int conv_forward(mt_layer *l, int train)
{
    return mt_conv_prim_forward(l->priv);
}

static int conv_backward(mt_layer *l)
{
    mt_conv_prim *p = l->priv;
    /* Weights first: its reads of the output gradient overlap with nothing. */
    int rc = mt_conv_prim_backward_weights(p);
    float *dx = mt_layer_diff_begin(l, 0);
    if (rc >= 0 && dx) {
        rc = mt_conv_prim_set_diff_src(p, dx);
        if (rc >= 0)
            rc = mt_conv_prim_backward_data(p);
        if (rc >= 0)
            rc = mt_layer_diff_end(l, 0);
    }
    return rc;
}

static int conv_init(mt_layer *l, mt_rng *rng)
{
    const conv_cfg *c = l->cfg;
    size_t fan_in = (size_t)l->in[0]->c * c->k * c->k;
    size_t nw = fan_in * c->out_c;
    double std = sqrt(2.0 / fan_in);
    for (size_t i = 0; i < nw; i++)
        l->param[i] = (float)(std * mt_rng_normal(rng));
    for (size_t i = nw; i < l->n_param; i++)
        l->param[i] = 0;
    return MT_OK;
}

static void conv_destroy(mt_layer *l)
{
    mt_conv_prim_destroy(l->priv);
    free(l->priv);
    l->priv = NULL;
}

static double conv_macs(const mt_layer *l)
{
    const conv_cfg *c = l->cfg;
    return (double)l->out->c * l->out->h * l->out->w * l->in[0]->c * c->k * c->k;
}

static const mt_layer_kind conv_kind = {
    .name = "conv",
    .infer = conv_infer,
    .compile = conv_compile,
    .bind = conv_bind,
    .forward = conv_forward,
    .backward = conv_backward,
    .init = conv_init,
    .destroy = conv_destroy,
    .macs = conv_macs,
};

int mt_conv(mt_net *net, int x, int out_c, int k, int stride, int pad, int bias)
{
    conv_cfg c = {out_c, k, stride, pad, bias != 0};
    return mt_net_add_layer(net, &conv_kind, &x, 1, &c, sizeof c);
}
