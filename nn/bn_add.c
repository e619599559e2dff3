/* bn_add.c: batch normalization of x followed by the residual add of s and
 * an optional ReLU, relu(bn(x) + s), as one layer: the tail of a ResNet
 * block. oneDNN 2.6 fuses no add into its batch norm, and apart the two
 * moved every element of the tail five times more through memory: the batch
 * norm's output written and read back, its gradient written twice over by
 * the add's backward and read again.
 *
 * Training: one pass gathers each image's per-channel moments, one
 * normalizes, adds and masks.
 * Backward: one pass masks the output gradient, writes it as s's gradient
 * and sums it per channel, one writes x's gradient from it. Inference uses
 * the running statistics. The statistics, rules and parameters are those of
 * nn/batchnorm.c (scale, shift; running mean and variance, PyTorch's rule),
 * declared in the same order, so a net built with this layer keeps the
 * parameter layout and the signature (mt_net_signature) of the same net
 * built from mt_batchnorm and mt_add: checkpoints of either resume in the
 * other.
 *
 * x's layout must keep pixels dense: channel-blocked (nChw16c, nchw) or
 * channels-last (nhwc), what convolutions give; s in another layout or type
 * goes through a reorder into x's, its gradient through one back.
 *
 * Not here: the passes themselves (nn/bn_add_passes.c).
 */
#include "core/status.h"
#include "nn/bn_add_passes.h"
#include "nn/layer.h"
#include "nn/net_internal.h"

#include <math.h>
#include <stdlib.h>

/* The configurations of the two layers this one stands for, which it signs
 * the net with (bn_add_signs_as): bn.relu is 0, the ReLU follows the add. */
typedef struct {
    mt_bn_cfg bn;
    mt_add_cfg add;
} bn_add_cfg;

typedef struct {
    mt_bn_chunks chunks;
    int cpad; /* channels with the block's padding */
    dnnl_primitive_t s_in, g_out; /* s into x's layout, its gradient back; or NULL */
    dnnl_memory_t m_s, m_s_x, m_g, m_ds;
} bn_add_priv;

/* Buffers: per-channel coefficients (kept: the batch statistics between
 * forward and backward), the batch's mean and variance in double (cpad
 * each), each image's sums in forward and in backward, and
 * for an s in another layout its copy and its gradient in x's. */
enum { BUF_COEF, BUF_STATS, BUF_FWD_SUMS, BUF_BWD_SUMS, BUF_S, BUF_G };
/* The coefficient buffer's arrays, cpad floats each. */
enum { C_MEAN, C_ISTD, C_A, C_B, C_K1, C_K2, C_K0, C_COUNT };

static float *coef(mt_layer *l, int which)
{
    const bn_add_priv *p = l->priv;
    return (float *)l->buf[BUF_COEF] + (size_t)which * p->cpad;
}

static int bn_add_infer(mt_layer *l)
{
    const bn_add_cfg *c = l->cfg;
    if (!(c->bn.momentum >= 0 && c->bn.momentum <= 1) || !(c->bn.eps > 0))
        return mt_error(MT_ERR_ARG, "%s: momentum %g must be in [0, 1] and eps %g > 0", l->name,
                        c->bn.momentum, c->bn.eps);
    const mt_tensor *x = l->in[0], *s = l->in[1];
    if (x->c != s->c || x->h != s->h || x->w != s->w)
        return mt_error(MT_ERR_ARG, "%s: shapes differ: (%d, %d, %d) + (%d, %d, %d)", l->name,
                        x->c, x->h, x->w, s->c, s->h, s->w);
    if (x == s)
        return mt_error(MT_ERR_ARG, "%s: adds its own input; use mt_batchnorm and mt_add",
                        l->name);
    return mt_batchnorm_declare(l);
}

static int reorder(mt_layer *l, dnnl_primitive_t *prim, const dnnl_memory_desc_t *from,
                   const dnnl_memory_desc_t *to, const char *what)
{
    dnnl_primitive_desc_t pd;
    dnnl_engine_t e = mt_net_engine(l->net);
    MT_DNNL(dnnl_reorder_primitive_desc_create(&pd, from, e, to, e, NULL));
    int rc = mt_prim_create(l->net, prim, pd, what);
    dnnl_primitive_desc_destroy(pd);
    return rc;
}

/* x's layout as chunks of pixels: oneDNN's nChw16c (and nchw, 1-channel
 * blocks) give a chunk per image and channel block; channels-last (nhwc,
 * which oneDNN picks for some small convolutions) one chunk per image, all
 * its channels a pixel. 0 for any other layout or type. */
static int chunks_of(const dnnl_memory_desc_t *md, const mt_tensor *x, mt_bn_chunks *k)
{
    size_t st[4];
    int block = 0;
    if (!mt_md_channel_blocking(md, st, &block) ||
        (md->data_type != dnnl_f32 && md->data_type != dnnl_bf16))
        return 0;
    int bf16 = md->data_type == dnnl_bf16, hw = x->h * x->w;
    if (block == 1 && st[1] == 1 && st[3] == (size_t)x->c && st[2] == (size_t)x->w * x->c) {
        *k = (mt_bn_chunks){x->n, 1, x->c, hw, st[0], 0, bf16};
        return 1;
    }
    if (st[3] != (size_t)block || st[2] != (size_t)x->w * block)
        return 0;
    *k = (mt_bn_chunks){x->n, (x->c + block - 1) / block, block, hw, st[0], st[1], bf16};
    return 1;
}

static int bn_add_compile(mt_layer *l)
{
    const bn_add_cfg *c = l->cfg;
    const mt_tensor *x = l->in[0], *s = l->in[1];
    bn_add_priv *p = calloc(1, sizeof *p);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "out of memory");
    l->priv = p;
    if (!chunks_of(&x->md, x, &p->chunks))
        return mt_error(MT_ERR_LIB,
                        "%s: input layout is neither channel-blocked (nchw, nChw16c) nor "
                        "channels-last with dense pixels, or not fp32/bf16",
                        l->name);
    p->cpad = p->chunks.blocks * p->chunks.block;
    l->out->md = x->md;
    /* backward reads x and, with ReLU, the output (its mask) */
    mt_layer_backward_reads(l, 1, 0, c->add.relu);
    size_t sums = (size_t)x->n * p->cpad * 2 * sizeof(double);
    mt_layer_buffer(l, BUF_COEF, (size_t)C_COUNT * p->cpad * sizeof(float));
    mt_layer_buffer(l, BUF_STATS, 2 * (size_t)p->cpad * sizeof(double));
    if (mt_layer_training(l)) {
        mt_layer_buffer_scoped(l, BUF_FWD_SUMS, sums, MT_BUF_FORWARD);
        mt_layer_buffer_scoped(l, BUF_BWD_SUMS, sums, MT_BUF_BACKWARD);
    }
    if (dnnl_memory_desc_equal(&x->md, &s->md))
        return MT_OK;
    size_t bytes = dnnl_memory_desc_get_size(&x->md);
    mt_layer_buffer_scoped(l, BUF_S, bytes, MT_BUF_FORWARD);
    int rc = reorder(l, &p->s_in, &s->md, &x->md, "batch norm + add: shortcut reorder");
    if (rc < 0 || !mt_layer_training(l))
        return rc;
    mt_layer_buffer_scoped(l, BUF_G, bytes, MT_BUF_BACKWARD);
    return s->needs_diff ? reorder(l, &p->g_out, &x->md, &s->md,
                                   "batch norm + add: shortcut gradient reorder")
                         : MT_OK;
}

static int bn_add_bind(mt_layer *l)
{
    bn_add_priv *p = l->priv;
    int rc = MT_OK;
    if (p->s_in) {
        rc = mt_mem_create(l->net, &p->m_s, &l->in[1]->md, l->in[1]->data);
        if (rc >= 0)
            rc = mt_mem_create(l->net, &p->m_s_x, &l->in[0]->md, l->buf[BUF_S]);
    }
    if (rc >= 0 && p->g_out)
        rc = mt_mem_create(l->net, &p->m_g, &l->in[0]->md, l->buf[BUF_G]);
    if (rc >= 0 && p->g_out)
        rc = mt_mem_create(l->net, &p->m_ds, &l->in[1]->md, NULL);
    return rc;
}

/* s in x's layout: its own memory, or the copy the reorder makes. */
static int shortcut_in(mt_layer *l, const void **s)
{
    bn_add_priv *p = l->priv;
    *s = l->in[1]->data;
    if (!p->s_in)
        return MT_OK;
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->m_s}, {DNNL_ARG_TO, p->m_s_x}};
    *s = l->buf[BUF_S];
    return mt_prim_exec(l->net, p->s_in, 2, a, "batch norm + add: shortcut reorder");
}

/* The batch's mean and biased variance per channel from each image's
 * moments, combined in image order (Chan et al.'s pairwise rule with equal
 * counts); updates the running statistics by nn/batchnorm.c's rule. */
static void batch_statistics(mt_layer *l, const double *mean_i, const double *m2_i,
                             double *mean, double *var)
{
    const bn_add_cfg *c = l->cfg;
    bn_add_priv *p = l->priv;
    const mt_tensor *x = l->in[0];
    int n = x->n, cp = p->cpad, hw = x->h * x->w;
    double m = (double)n * hw;
    for (int ch = 0; ch < x->c; ch++) {
        double s = 0, m2 = 0, dev = 0;
        for (int i = 0; i < n; i++)
            s += mean_i[(size_t)i * cp + ch];
        double mu = s / n;
        for (int i = 0; i < n; i++) {
            double d = mean_i[(size_t)i * cp + ch] - mu;
            m2 += m2_i[(size_t)i * cp + ch];
            dev += d * d;
        }
        mean[ch] = mu;
        var[ch] = (m2 + hw * dev) / m;
        mt_batchnorm_update_running(&l->state[ch], &l->state[x->c + ch], (float)mu,
                                    (float)var[ch], m, c->bn.momentum);
    }
}

/* a = scale / sqrt(var + eps), b = shift - mean a; zero on padding channels. */
static void set_affine(mt_layer *l, const double *mean, const double *var)
{
    const bn_add_cfg *c = l->cfg;
    bn_add_priv *p = l->priv;
    int C = l->in[0]->c;
    float *a = coef(l, C_A), *b = coef(l, C_B), *mu = coef(l, C_MEAN), *is = coef(l, C_ISTD);
    for (int ch = 0; ch < p->cpad; ch++) {
        if (ch >= C) {
            a[ch] = b[ch] = mu[ch] = is[ch] = 0;
            continue;
        }
        double istd = 1 / sqrt(var[ch] + c->bn.eps);
        a[ch] = (float)(l->param[ch] * istd);
        b[ch] = (float)(l->param[C + ch] - mean[ch] * l->param[ch] * istd);
        mu[ch] = (float)mean[ch];
        is[ch] = (float)istd;
    }
}

static int bn_add_forward(mt_layer *l, int train)
{
    bn_add_priv *p = l->priv;
    const mt_tensor *x = l->in[0];
    int C = x->c;
    const void *s;
    int rc = shortcut_in(l, &s);
    if (rc < 0)
        return rc;
    double *mean = l->buf[BUF_STATS], *var = mean + p->cpad;
    if (train) {
        double *mi = l->buf[BUF_FWD_SUMS], *m2 = mi + (size_t)x->n * p->cpad;
        mt_bn_chunk_moments(&p->chunks, x->data, mi, m2);
        batch_statistics(l, mi, m2, mean, var);
    } else {
        for (int ch = 0; ch < C; ch++) {
            mean[ch] = l->state[ch];
            var[ch] = l->state[C + ch];
        }
    }
    set_affine(l, mean, var);
    mt_bn_add_apply(&p->chunks, l->out->data, x->data, s, coef(l, C_A), coef(l, C_B),
                    ((const bn_add_cfg *)l->cfg)->add.relu);
    return MT_OK;
}

static int bn_add_backward(mt_layer *l)
{
    const bn_add_cfg *c = l->cfg;
    bn_add_priv *p = l->priv;
    const mt_tensor *x = l->in[0];
    int C = x->c, n = x->n, cp = p->cpad;
    /* g, the masked output gradient, is s's gradient: written where s's
     * goes when s shares x's layout, else to the buffer the reorder reads. */
    void *ds = mt_layer_diff_begin(l, 1);
    void *g = p->s_in ? l->buf[BUF_G] : ds ? ds : mt_layer_diff_scratch(l, 1);
    double *sg = l->buf[BUF_BWD_SUMS], *sgx = sg + (size_t)n * cp;
    const float *mean = coef(l, C_MEAN), *istd = coef(l, C_ISTD);
    mt_bn_add_grad_sums(&p->chunks, g, l->out->data, l->out->diff, x->data, mean, c->add.relu,
                        sg, sgx);
    double m = (double)n * x->h * x->w;
    float *k1 = coef(l, C_K1), *k2 = coef(l, C_K2), *k0 = coef(l, C_K0);
    for (int ch = 0; ch < cp; ch++) {
        if (ch >= C) {
            k1[ch] = k2[ch] = k0[ch] = 0;
            continue;
        }
        double dshift = 0, dgx = 0;
        for (int i = 0; i < n; i++) {
            dshift += sg[(size_t)i * cp + ch];
            dgx += sgx[(size_t)i * cp + ch];
        }
        double is = istd[ch], a = l->param[ch] * is, k = a * is * is * dgx / m;
        l->grad[ch] = (float)(dgx * is);
        l->grad[C + ch] = (float)dshift;
        /* dx = a (g - dshift / m - (x - mean) is^2 dgx / m) */
        k1[ch] = (float)a;
        k2[ch] = (float)k;
        k0[ch] = (float)(k * mean[ch] - a * dshift / m);
    }
    float *dx = mt_layer_diff_begin(l, 0);
    int rc = MT_OK;
    if (dx) {
        mt_bn_add_grad_input(&p->chunks, dx, g, x->data, k1, k2, k0);
        rc = mt_layer_diff_end(l, 0);
    }
    if (rc >= 0 && ds && p->g_out) {
        MT_DNNL(dnnl_memory_set_data_handle(p->m_ds, ds));
        dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, p->m_g}, {DNNL_ARG_TO, p->m_ds}};
        rc = mt_prim_exec(l->net, p->g_out, 2, a, "batch norm + add: shortcut gradient reorder");
    }
    if (rc >= 0 && ds)
        rc = mt_layer_diff_end(l, 1);
    return rc;
}

static void bn_add_destroy(mt_layer *l)
{
    bn_add_priv *p = l->priv;
    dnnl_primitive_t prims[] = {p->s_in, p->g_out};
    for (size_t i = 0; i < sizeof prims / sizeof *prims; i++)
        if (prims[i])
            dnnl_primitive_destroy(prims[i]);
    dnnl_memory_t mems[] = {p->m_s, p->m_s_x, p->m_g, p->m_ds};
    for (size_t i = 0; i < sizeof mems / sizeof *mems; i++)
        if (mems[i])
            dnnl_memory_destroy(mems[i]);
    free(p);
    l->priv = NULL;
}

/* In the net's signature: a batch norm of x without ReLU, then the add. */
static int bn_add_signs_as(const mt_layer *l, mt_layer_sig sig[MT_LAYER_MAX_SIG])
{
    const bn_add_cfg *c = l->cfg;
    const mt_tensor *x = l->in[0], *s = l->in[1];
    sig[0] = (mt_layer_sig){.kind = "bn", .cfg = &c->bn, .cfg_size = sizeof c->bn, .n_in = 1,
                            .in = {{x->c, x->h, x->w}}, .out = {x->c, x->h, x->w}};
    sig[1] = (mt_layer_sig){.kind = "add", .cfg = &c->add, .cfg_size = sizeof c->add, .n_in = 2,
                            .in = {{x->c, x->h, x->w}, {s->c, s->h, s->w}},
                            .out = {x->c, x->h, x->w}};
    return 2;
}

static const mt_layer_kind bn_add_kind = {
    .name = "bn_add",
    .infer = bn_add_infer,
    .compile = bn_add_compile,
    .bind = bn_add_bind,
    .forward = bn_add_forward,
    .backward = bn_add_backward,
    .init = mt_batchnorm_init,
    .destroy = bn_add_destroy,
    .signs_as = bn_add_signs_as,
};

int mt_batchnorm_add_ex(mt_net *net, int x, int s, int relu, float momentum, float eps)
{
    bn_add_cfg c = {{0, momentum, eps}, {relu != 0}};
    int in[2] = {x, s};
    return mt_net_add_layer(net, &bn_add_kind, in, 2, &c, sizeof c);
}

int mt_batchnorm_add(mt_net *net, int x, int s, int relu)
{
    return mt_batchnorm_add_ex(net, x, s, relu, 0.1f, 1e-5f);
}
