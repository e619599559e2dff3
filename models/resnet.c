/* resnet.c: the CIFAR ResNet-n as a short function of builder calls. */
#include "models/resnet.h"

#include "core/status.h"

mt_resnet_cfg mt_resnet_default(int depth, int classes)
{
    mt_resnet_cfg c = {depth, 1, MT_SHORTCUT_A, classes, 3, 32, 32, 0.0f, MT_FP32, MT_TAIL_FUSED};
    return c;
}

static int plain_conv3x3(mt_net *net, int x, int out_c, int stride, void *ctx)
{
    (void)ctx;
    return mt_conv(net, x, out_c, 3, stride, 1, 0);
}

static int basic_block(mt_net *net, int x, int in_c, int out_c, int stride,
                       const mt_resnet_cfg *cfg, mt_resnet_conv_fn conv3x3, void *ctx)
{
    int y = conv3x3(net, x, out_c, stride, ctx);
    y = mt_batchnorm(net, y, 1);
    y = conv3x3(net, y, out_c, 1, ctx);
    if (stride == 1 && in_c == out_c && cfg->tail == MT_TAIL_FUSED)
        return mt_batchnorm_add(net, y, x, 1); /* the identity shortcut */
    y = mt_batchnorm(net, y, 0);
    int s = x;
    if (stride != 1 || in_c != out_c) {
        if (cfg->shortcut == MT_SHORTCUT_A) {
            s = mt_shortcut_pad(net, x, out_c, stride);
        } else {
            s = mt_conv(net, x, out_c, 1, stride, 0, 0);
            s = mt_batchnorm(net, s, 0);
        }
    }
    return mt_add(net, y, s, 1);
}

int mt_resnet_body(mt_net *net, const mt_resnet_cfg *cfg, mt_resnet_conv_fn conv3x3, void *ctx)
{
    if (!net || !cfg)
        return mt_error(MT_ERR_ARG, "resnet: %s is NULL", net ? "cfg" : "net");
    if (cfg->depth < 8 || (cfg->depth - 2) % 6 != 0)
        return mt_error(MT_ERR_ARG, "resnet: depth %d is not 6k + 2 (20, 32, 44, 56, 110, ...)",
                        cfg->depth);
    if (cfg->width < 1 || cfg->classes < 2)
        return mt_error(MT_ERR_ARG, "resnet: width %d (>= 1), classes %d (>= 2)", cfg->width,
                        cfg->classes);
    if (cfg->tail != MT_TAIL_FUSED && cfg->tail != MT_TAIL_UNFUSED)
        return mt_error(MT_ERR_ARG, "resnet: block tail %d (fused or unfused)", cfg->tail);
    if (cfg->shortcut != MT_SHORTCUT_A && cfg->shortcut != MT_SHORTCUT_B)
        return mt_error(MT_ERR_ARG, "resnet: shortcut '%c' (A or B)", cfg->shortcut);
    if (!conv3x3)
        conv3x3 = plain_conv3x3;
    int k = (cfg->depth - 2) / 6, w0 = 16 * cfg->width;
    int x = conv3x3(net, mt_net_input(net), w0, 1, ctx);
    x = mt_batchnorm(net, x, 1);
    int in_c = w0;
    for (int stage = 0; stage < 3; stage++) {
        int out_c = w0 << stage;
        for (int b = 0; b < k; b++) {
            x = basic_block(net, x, in_c, out_c, stage > 0 && b == 0 ? 2 : 1, cfg, conv3x3,
                            ctx);
            in_c = out_c;
        }
    }
    return x;
}

int mt_resnet_build(mt_net *net, const mt_resnet_cfg *cfg)
{
    int rc = mt_net_set_precision(net, cfg->precision);
    if (rc < 0)
        return rc;
    int x = mt_resnet_body(net, cfg, NULL, NULL);
    if (x < 0)
        return x;
    x = mt_global_avgpool(net, x);
    x = mt_linear(net, x, cfg->classes, 1);
    return mt_softmax_xent(net, x, cfg->label_smoothing);
}

static int build(mt_net *net, const void *cfg)
{
    return mt_resnet_build(net, cfg);
}

int mt_resnet_create(mt_net **out, const mt_resnet_cfg *cfg, int batch, float *params,
                     float *grads, float *state)
{
    if (!out || !cfg)
        return mt_error(MT_ERR_ARG, "resnet: %s is NULL", out ? "cfg" : "out");
    return mt_net_create_built(out, batch, cfg->c, cfg->h, cfg->w, build, cfg, params, grads,
                               state);
}
