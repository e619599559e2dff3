/* model.c: model names -> the builders of models/. */
#include "trainer/model.h"

#include "core/status.h"
#include "models/resnet.h"
#include "models/sphere_resnet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "resnet20" -> 20; -1 when `name` is not PREFIX followed by digits only. */
static int depth_of(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || !name[n])
        return -1;
    int d = 0;
    for (const char *p = name + n; *p; p++) {
        if (*p < '0' || *p > '9' || d > 10000)
            return -1;
        d = 10 * d + (*p - '0');
    }
    return d;
}

static void describe(char *desc, size_t cap, const char *name, const char *extra, int width,
                     int classes, const mt_net *net)
{
    snprintf(desc, cap, "%s%s width %d, %d classes, %.3gM parameters", name, extra, width, classes,
             (double)mt_net_param_count(net) / 1e6);
}

int mt_model_build(mt_net **net, const mt_train_config *cfg, int batch, int c, int h, int w,
                   int classes, char *desc, size_t cap)
{
    *net = NULL;
    int depth = depth_of(cfg->model, "resnet");
    if (depth >= 0) {
        if (depth < 8 || (depth - 2) % 6 != 0)
            return mt_error(MT_ERR_ARG,
                            "--model: %s: ResNet depth must be 6k+2 >= 8 (20, 32, 44, 56, 110)",
                            cfg->model);
        int width = cfg->width ? cfg->width : 16;
        if (width % 16 != 0)
            return mt_error(MT_ERR_ARG,
                            "--width: %d: ResNet stages are 16w, 32w, 64w channels, so the width "
                            "must be a multiple of 16",
                            width);
        mt_resnet_cfg rc = mt_resnet_default(depth, classes);
        rc.width = width / 16;
        rc.c = c;
        rc.h = h;
        rc.w = w;
        rc.label_smoothing = (float)cfg->label_smoothing;
        rc.precision = cfg->precision;
        int s = mt_resnet_create(net, &rc, batch, NULL, NULL, NULL);
        if (s < 0)
            return mt_error_context(s, "--model %s", cfg->model);
        describe(desc, cap, cfg->model, "", width, classes, *net);
        return MT_OK;
    }
    depth = depth_of(cfg->model, "sphere-resnet-");
    if (depth >= 0) {
        if (depth < 8 || (depth - 2) % 6 != 0)
            return mt_error(MT_ERR_ARG,
                            "--model: %s: SphereResNet depth must be 6k+2 >= 8 (20, 32, 44, ...)",
                            cfg->model);
        mt_sphere_resnet_cfg sc = mt_sphere_resnet_default(depth, classes);
        mt_sphere_op op;
        if (mt_sphere_op_parse(cfg->sphere_op, &op) < 0)
            return mt_error(MT_ERR_ARG,
                            "--sphere-op: '%s': expected linear|cosine|sigmoid|learnable-sigmoid|none",
                            cfg->sphere_op);
        sc.op = op;
        if (cfg->width) {
            if (cfg->width % 16 != 0)
                return mt_error(MT_ERR_ARG,
                                "--width: %d: SphereResNet widths are multiples of 16 (16: He's "
                                "16/32/64, 96: the SphereNet reference's 96/192/384)",
                                cfg->width);
            sc.width = cfg->width;
        }
        sc.c = c;
        sc.h = h;
        sc.w = w;
        sc.label_smoothing = (float)cfg->label_smoothing;
        sc.precision = cfg->precision;
        int s = mt_sphere_resnet_create(net, &sc, batch, NULL, NULL, NULL);
        if (s < 0)
            return mt_error_context(s, "--model %s", cfg->model);
        char extra[48];
        snprintf(extra, sizeof extra, " (%s)", mt_sphere_op_name(op));
        describe(desc, cap, cfg->model, extra, sc.width, classes, *net);
        return MT_OK;
    }
    return mt_error(MT_ERR_ARG,
                    "--model: '%s' is unknown: expected resnetN (N = 6k+2: resnet20, resnet32, "
                    "resnet44, resnet56, resnet110) or sphere-resnet-N (sphere-resnet-32)",
                    cfg->model);
}
