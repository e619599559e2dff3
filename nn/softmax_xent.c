/* softmax_xent.c: softmax cross-entropy, the loss layer. Stable: log p =
 * z - max z - log sum exp(z - max z), sums in double. With label smoothing s
 * the target is (1 - s) one-hot + s / K. The loss is the mean over the valid
 * samples; its gradient (p - target) / n goes to the logits.
 *
 * Its output tensor holds the probabilities (n, K) in row-major order.
 * Not here: accuracy (mt_net_correct in nn/net.c).
 */
#include "core/status.h"
#include "nn/layer.h"
#include "nn/net_internal.h"
#include "nn/plain_input.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    float smoothing;
} xent_cfg;

typedef struct {
    mt_plain_input z; /* the logits as (n, K) */
} xent_priv;

static int classes(const mt_layer *l)
{
    return l->in[0]->c * l->in[0]->h * l->in[0]->w;
}

static int xent_infer(mt_layer *l)
{
    const xent_cfg *c = l->cfg;
    mt_net *net = l->net;
    if (!(c->smoothing >= 0 && c->smoothing < 1))
        return mt_error(MT_ERR_ARG, "%s: label smoothing %g outside [0, 1)", l->name,
                        c->smoothing);
    if (net->loss_layer >= 0)
        return mt_error(MT_ERR_ARG, "%s: the net already has a loss layer", l->name);
    if (classes(l) < 2)
        return mt_error(MT_ERR_ARG, "%s: %d classes (need >= 2)", l->name, classes(l));
    l->out->c = classes(l);
    l->out->h = l->out->w = 1;
    net->loss_layer = l->index;
    net->classes = classes(l);
    return MT_OK;
}

static int xent_compile(mt_layer *l)
{
    xent_priv *p = calloc(1, sizeof *p);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "out of memory");
    l->priv = p;
    mt_md_nchw(&l->out->md, l->out->n, l->out->c, 1, 1);
    return mt_plain_input_compile(l, &p->z, 0, 1);
}

static int xent_bind(mt_layer *l)
{
    return mt_plain_input_bind(l, &((xent_priv *)l->priv)->z);
}

static int xent_forward(mt_layer *l, int train)
{
    const xent_cfg *c = l->cfg;
    xent_priv *p = l->priv;
    const float *z;
    int rc = mt_plain_input_get(l, &p->z, &z);
    if (rc < 0)
        return rc;
    int K = classes(l), n = mt_net_valid(l->net);
    const int *labels = mt_net_labels(l->net);
    float *prob = l->out->data;
    double s = c->smoothing, total = 0;
    for (int i = 0; i < l->out->n; i++) {
        const float *zi = z + (size_t)i * K;
        float *pi = prob + (size_t)i * K;
        float m = zi[0];
        for (int k = 1; k < K; k++)
            m = zi[k] > m ? zi[k] : m;
        double sum = 0;
        for (int k = 0; k < K; k++)
            sum += exp((double)zi[k] - m);
        double lse = m + log(sum);
        double li = 0, mean_logp = 0;
        for (int k = 0; k < K; k++) {
            double lp = zi[k] - lse;
            pi[k] = (float)exp(lp);
            mean_logp += lp;
        }
        if (i < n) {
            li = -(1 - s) * (zi[labels[i]] - lse) - s * mean_logp / K;
            total += li;
        }
    }
    mt_net_set_loss(l->net, (float)(total / n));
    return MT_OK;
}

static int xent_backward(mt_layer *l)
{
    const xent_cfg *c = l->cfg;
    xent_priv *p = l->priv;
    float *t = mt_layer_diff_begin(l, 0);
    if (!t)
        return MT_OK;
    float *dz = mt_plain_input_grad_buffer(l, &p->z, t);
    int K = classes(l), n = mt_net_valid(l->net);
    const int *labels = mt_net_labels(l->net);
    const float *prob = l->out->data;
    float s = c->smoothing, inv = 1.0f / n;
    for (int i = 0; i < l->out->n; i++)
        for (int k = 0; k < K; k++) {
            float target = s / K + (k == labels[i] ? 1 - s : 0);
            dz[(size_t)i * K + k] = i < n ? (prob[(size_t)i * K + k] - target) * inv : 0.0f;
        }
    return mt_plain_input_grad_done(l, &p->z, t);
}

static void xent_destroy(mt_layer *l)
{
    xent_priv *p = l->priv;
    mt_plain_input_destroy(&p->z);
    free(p);
    l->priv = NULL;
}

static const mt_layer_kind xent_kind = {
    .name = "loss",
    .infer = xent_infer,
    .compile = xent_compile,
    .bind = xent_bind,
    .forward = xent_forward,
    .backward = xent_backward,
    .destroy = xent_destroy,
};

int mt_softmax_xent(mt_net *net, int logits, float label_smoothing)
{
    xent_cfg c = {label_smoothing};
    return mt_net_add_layer(net, &xent_kind, &logits, 1, &c, sizeof c);
}
