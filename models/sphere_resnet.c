/* sphere_resnet.c: SphereResNet-n as ResNet-n's body with SphereConv as its
 * 3x3 convolution, and the reference's bias-free head. */
#include "models/sphere_resnet.h"

#include "core/status.h"
#include "nn/sphere_conv.h"
#include "nn/weightnorm_linear.h"

#include <string.h>

mt_sphere_resnet_cfg mt_sphere_resnet_default(int depth, int classes)
{
    mt_sphere_resnet_cfg c = {
        .depth = depth, .width = MT_SPHERE_WIDTH_REFERENCE, .op = MT_SPHERE_LINEAR,
        .sigmoid_k = MT_SPHERE_SIGMOID_K, .ortho = MT_SPHERE_ORTHO_DEFAULT, .wn_classifier = 0,
        .shortcut = MT_SHORTCUT_B, .classes = classes, .c = 3, .h = 32, .w = 32,
        .label_smoothing = 0.0f};
    return c;
}

int mt_sphere_resnet_preset(const char *name, int *width)
{
    if (name && strcmp(name, "he") == 0)
        *width = MT_SPHERE_WIDTH_HE;
    else if (name && strcmp(name, "reference") == 0)
        *width = MT_SPHERE_WIDTH_REFERENCE;
    else
        return mt_error(MT_ERR_ARG, "sphere resnet: preset '%s': expected he (16/32/64) or "
                                    "reference (96/192/384)",
                        name ? name : "(null)");
    return MT_OK;
}

static int sphere_conv3x3(mt_net *net, int x, int out_c, int stride, void *ctx)
{
    const mt_sphere_resnet_cfg *c = ctx;
    mt_sphere_conv_cfg sc = {.out_c = out_c, .k = 3, .stride = stride, .pad = 1, .op = c->op,
                             .sigmoid_k = c->sigmoid_k, .ortho = c->ortho};
    return mt_sphere_conv_ex(net, x, &sc);
}

int mt_sphere_resnet_build(mt_net *net, const mt_sphere_resnet_cfg *cfg)
{
    if (!net || !cfg)
        return mt_error(MT_ERR_ARG, "sphere resnet: %s is NULL", net ? "cfg" : "net");
    int prc = mt_net_set_precision(net, cfg->precision);
    if (prc < 0)
        return prc;
    if (cfg->width < 16 || cfg->width % 16 != 0)
        return mt_error(MT_ERR_ARG,
                        "sphere resnet: width %d: the first stage's channels must be a positive "
                        "multiple of 16 (16: He's, 96: the reference's)",
                        cfg->width);
    if (!mt_sphere_op_name((mt_sphere_op)cfg->op))
        return mt_error(MT_ERR_ARG, "sphere resnet: unknown operator %d", cfg->op);
    mt_resnet_cfg base = {cfg->depth,  cfg->width / 16,      cfg->shortcut,
                          cfg->classes, cfg->c,             cfg->h,
                          cfg->w,       cfg->label_smoothing, cfg->precision,
                          cfg->tail};
    /* the conv maker reads op, k and ortho from cfg; it is not modified */
    int x = mt_resnet_body(net, &base, sphere_conv3x3, (void *)cfg);
    x = mt_global_avgpool(net, x);
    x = cfg->wn_classifier ? mt_weightnorm_linear(net, x, cfg->classes)
                           : mt_linear(net, x, cfg->classes, 0);
    return mt_softmax_xent(net, x, cfg->label_smoothing);
}

static int build(mt_net *net, const void *cfg)
{
    return mt_sphere_resnet_build(net, cfg);
}

int mt_sphere_resnet_create(mt_net **out, const mt_sphere_resnet_cfg *cfg, int batch,
                            float *params, float *grads, float *state)
{
    if (!out || !cfg)
        return mt_error(MT_ERR_ARG, "sphere resnet: %s is NULL", out ? "cfg" : "out");
    return mt_net_create_built(out, batch, cfg->c, cfg->h, cfg->w, build, cfg, params, grads,
                               state);
}
