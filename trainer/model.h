/* model.h: the model named by a training configuration, built as a net.
 *
 * Names: resnet20/32/44/56/110 (any resnetN with N = 6k+2; width = the first
 * stage's channels, a multiple of 16, default 16), and sphere-resnet-N with
 * cfg->sphere_op (width default 96, the SphereNet reference's; 16 gives He's
 * 16/32/64). This file only maps names to the builders in models/.
 */
#ifndef MT_TRAINER_MODEL_H
#define MT_TRAINER_MODEL_H

#include "nn/net.h"
#include "trainer/config.h"

#include <stddef.h>

/* Builds (and finalizes, own buffers) the model for batches of `batch`
 * images (c, h, w) and `classes` classes; desc gets a one-line description
 * ("resnet20 width 16, 10 classes, 0.27M parameters"). Unknown names are
 * MT_ERR_ARG naming --model and the choices. */
int mt_model_build(mt_net **net, const mt_train_config *cfg, int batch, int c, int h, int w,
                   int classes, char *desc, size_t cap);

#endif
