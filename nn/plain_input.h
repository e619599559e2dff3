/* plain_input.h: a layer's first input as plain NCHW for layers that compute
 * on plain arrays (sgemm, the loss), with the reorders when the producer's
 * layout is blocked. Use: compile -> bind -> in forward get(), in backward
 * grad_buffer(target) to write the plain gradient then grad_done(target).
 */
#ifndef MT_PLAIN_INPUT_H
#define MT_PLAIN_INPUT_H

#include "nn/layer.h"

typedef struct mt_plain_input {
    dnnl_primitive_t to_plain, from_plain; /* NULL when the input is plain already */
    dnnl_memory_t m_x, m_xp, m_dxp, m_dx;
    float *dx;
    int buf_x, buf_dx; /* the layer's buffer slots used */
} mt_plain_input;

int mt_plain_input_compile(mt_layer *l, mt_plain_input *p, int buf_x, int buf_dx);
int mt_plain_input_bind(mt_layer *l, mt_plain_input *p);
/* Sets *x to the input in plain layout (reordering first if needed). */
int mt_plain_input_get(mt_layer *l, mt_plain_input *p, const float **x);
/* Where to write the plain gradient for target = mt_layer_diff_begin(l, 0),
 * and the call that moves it there and completes it. */
float *mt_plain_input_grad_buffer(mt_layer *l, mt_plain_input *p, float *target);
int mt_plain_input_grad_done(mt_layer *l, mt_plain_input *p, float *target);
void mt_plain_input_destroy(mt_plain_input *p);

/* A reorder primitive from one layout to another; *r = NULL when they agree. */
int mt_reorder_create(mt_net *net, dnnl_primitive_t *r, const dnnl_memory_desc_t *from,
                      const dnnl_memory_desc_t *to, const char *what);

#endif
