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

#include <math.h>
#include <stdlib.h>

typedef struct {
    float smoothing;
} xent_cfg;

typedef struct {
    dnnl_primitive_t to_plain, from_plain;
    dnnl_memory_t m_z, m_zp, m_dzp, m_dz;
    float *dz;
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

static int make_reorder(mt_layer *l, dnnl_primitive_t *r, const dnnl_memory_desc_t *a,
                        const dnnl_memory_desc_t *b)
{
    dnnl_primitive_desc_t pd;
    MT_DNNL(dnnl_reorder_primitive_desc_create(&pd, a, mt_net_engine(l->net), b,
                                               mt_net_engine(l->net), NULL));
    int rc = mt_prim_create(l->net, r, pd, "loss reorder");
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

static int xent_compile(mt_layer *l)
{
    const mt_tensor *z = l->in[0];
    xent_priv *p = calloc(1, sizeof *p);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "out of memory");
    l->priv = p;
    mt_md_nchw(&l->out->md, l->out->n, l->out->c, 1, 1);
    dnnl_memory_desc_t plain;
    mt_md_nchw(&plain, z->n, z->c, z->h, z->w);
    if (dnnl_memory_desc_equal(&plain, &z->md))
        return MT_OK;
    size_t bytes = (size_t)z->n * classes(l) * sizeof(float);
    mt_layer_buffer(l, 0, bytes);
    mt_layer_buffer(l, 1, bytes);
    int rc = make_reorder(l, &p->to_plain, &z->md, &plain);
    if (rc >= 0 && z->needs_diff)
        rc = make_reorder(l, &p->from_plain, &plain, &z->md);
    return rc;
}

static int xent_bind(mt_layer *l)
{
    xent_priv *p = l->priv;
    const mt_tensor *z = l->in[0];
    if (!p->to_plain)
        return MT_OK;
    dnnl_memory_desc_t plain;
    mt_md_nchw(&plain, z->n, z->c, z->h, z->w);
    int rc = mt_mem_create(l->net, &p->m_z, &z->md, z->data);
    if (rc >= 0)
        rc = mt_mem_create(l->net, &p->m_zp, &plain, l->buf[0]);
    if (rc >= 0 && p->from_plain)
        rc = mt_mem_create(l->net, &p->m_dzp, &plain, l->buf[1]);
    if (rc >= 0 && p->from_plain)
        rc = mt_mem_create(l->net, &p->m_dz, &z->md, z->diff);
    p->dz = z->diff;
    return rc;
}

static int xent_forward(mt_layer *l, int train)
{
    const xent_cfg *c = l->cfg;
    xent_priv *p = l->priv;
    const float *z = l->in[0]->data;
    if (p->to_plain) {
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->m_z}, {DNNL_ARG_TO, p->m_zp}};
        int rc = mt_prim_exec(l->net, p->to_plain, 2, a, "loss reorder");
        if (rc < 0)
            return rc;
        MT_DNNL(dnnl_stream_wait(mt_net_stream(l->net)));
        z = l->buf[0];
    }
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
    float *dz = p->from_plain ? l->buf[1] : t;
    int K = classes(l), n = mt_net_valid(l->net);
    const int *labels = mt_net_labels(l->net);
    const float *prob = l->out->data;
    float s = c->smoothing, inv = 1.0f / n;
    for (int i = 0; i < l->out->n; i++)
        for (int k = 0; k < K; k++) {
            float target = s / K + (k == labels[i] ? 1 - s : 0);
            dz[(size_t)i * K + k] = i < n ? (prob[(size_t)i * K + k] - target) * inv : 0.0f;
        }
    if (p->from_plain) {
        if (t != p->dz) {
            MT_DNNL(dnnl_memory_set_data_handle(p->m_dz, t));
            p->dz = t;
        }
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->m_dzp}, {DNNL_ARG_TO, p->m_dz}};
        int rc = mt_prim_exec(l->net, p->from_plain, 2, a, "loss gradient reorder");
        if (rc < 0)
            return rc;
    }
    return mt_layer_diff_end(l, 0);
}

static void xent_destroy(mt_layer *l)
{
    xent_priv *p = l->priv;
    if (p->to_plain)
        dnnl_primitive_destroy(p->to_plain);
    if (p->from_plain)
        dnnl_primitive_destroy(p->from_plain);
    dnnl_memory_t mems[] = {p->m_z, p->m_zp, p->m_dzp, p->m_dz};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
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
