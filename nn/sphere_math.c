/* sphere_math.c: names of the SphereConv operators (the math itself is inline
 * in sphere_math.h so that the layer's loops can vectorise it). */
#include "nn/sphere_math.h"

#include "core/status.h"

#include <string.h>

static const char *const op_names[] = {"none", "linear", "cosine", "sigmoid", "lr_sigmoid"};

const char *mt_sphere_op_name(mt_sphere_op op)
{
    if ((int)op < 0 || (int)op >= (int)(sizeof op_names / sizeof op_names[0]))
        return NULL;
    return op_names[op];
}

int mt_sphere_op_parse(const char *name, mt_sphere_op *out)
{
    if (!name || !out)
        return mt_error(MT_ERR_ARG, "sphere operator: null argument");
    for (int i = 0; i < (int)(sizeof op_names / sizeof op_names[0]); i++) {
        if (strcmp(name, op_names[i]) == 0) {
            *out = (mt_sphere_op)i;
            return MT_OK;
        }
    }
    if (strcmp(name, "lrsigmoid") == 0 || strcmp(name, "learnable") == 0 ||
        strcmp(name, "learnable-sigmoid") == 0) {
        *out = MT_SPHERE_LR_SIGMOID;
        return MT_OK;
    }
    return mt_error(MT_ERR_ARG,
                    "sphere operator: expected none|linear|cosine|sigmoid|lr_sigmoid, got '%s'",
                    name);
}
