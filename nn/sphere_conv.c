/* sphere_conv.c: the SphereConv layer kind (see sphere_conv.h for the math).
 *
 * The heavy parts run on oneDNN through nn/conv_prim.h: s = <w, x> is the
 * ordinary convolution; backward-data and backward-weights of that same
 * convolution, fed with S = dL/ds, give most of the input and weight
 * gradients. Everything else is linear in the activations and runs as fused
 * passes in the convolution's own output layout (oneDNN's nChw16c on AVX-512):
 *   forward:  one pass over the output: c = s/|w||x|, y = g(theta); the
 *             convolution wrote s where backward keeps it (all but the fp32
 *             cosine operator, whose backward reads c = y);
 *   backward: one pass over the output: c again from s, F = dy/dc (fp32
 *             sigmoids from h = y/C), G = dL/dy F, S = G/(|w||x|), and the
 *             sums R_o = sum_{n,p} G c (filter-norm term), T_np = sum_o G c
 *             (patch-norm term) and dL/dk_o = sum_{n,p} dL/dy dy/dk
 *             (learnable sigmoid, u = (theta - pi/2)/k recomputed from c);
 *   plus the patch norms: sum_c x^2 per position, boxed over the window
 *   (zero padding counts as zeros), and in backward its transpose, added as
 *   x * U to the input gradient.
 * With L the loss: dL/dx = conv_bwd_data(S) - x * box^T(T / |x_p|^2),
 *                  dL/dw_o = conv_bwd_weights(S)_o - R_o w_o / |w_o|^2.
 * The forward, the recomputation of y and the backward all form
 * c = s |w|^-1 |x|^-1 with the same fp32 operations, so they agree bit for
 * bit.
 *
 * In a bf16 net the convolution (forward, backward data and weights) runs on
 * oneDNN's bf16 primitives; the output y, its gradient, S and the kept s are
 * bf16 (half the bytes), while every norm, c, theta, g and dy/dc is computed
 * in fp32; the sigmoid's derivatives are recomputed from c.
 *
 * Not here: the scalar math (sphere_math.h), the orthogonality penalty's
 * algebra (ortho_penalty.c).
 */
#include "nn/sphere_conv.h"

#include "core/status.h"
#include "nn/bf16.h"
#include "nn/conv_prim.h"
#include "nn/layer.h"
#include "nn/ortho_penalty.h"
#include "nn/sphere_math.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Where element (n, c, h, w) of an activation lives: oneDNN's strides of the
 * outer dimensions and at most one inner block of B channels (nChw16c: B = 16;
 * plain nchw and nhwc: B = 1). */
typedef struct {
    int B;
    long sn, sc, sh, sw, off0;
} sc_layout;

static int layout_from_md(const dnnl_memory_desc_t *md, sc_layout *lo, const char *what)
{
    if (md->ndims != 4 || md->format_kind != dnnl_blocked)
        return mt_error(MT_ERR_ARG, "sphere_conv: %s: expected a 4-D blocked oneDNN layout",
                        what);
    const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
    lo->B = 1;
    if (b->inner_nblks == 1 && b->inner_idxs[0] == 1)
        lo->B = (int)b->inner_blks[0];
    else if (b->inner_nblks != 0)
        return mt_error(MT_ERR_ARG,
                        "sphere_conv: %s: layouts with %d inner blocks are not supported", what,
                        b->inner_nblks);
    lo->sn = (long)b->strides[0];
    lo->sc = (long)b->strides[1];
    lo->sh = (long)b->strides[2];
    lo->sw = (long)b->strides[3];
    lo->off0 = (long)md->offset0;
    return MT_OK;
}

/* Offset of the first channel of block cb (channel cb when B = 1). */
static inline long lo_block(const sc_layout *lo, int n, int cb, int h, int w)
{
    return lo->off0 + n * lo->sn + cb * lo->sc + h * lo->sh + w * lo->sw;
}

typedef struct {
    mt_conv_prim conv;
    int bound;
    sc_layout src, dst;
    int n, ic, ih, iw, oc, oh, ow, k, stride, pad, op;
    int bf;  /* bf16 net: the convolution, y, dy and S are bf16 */
    int xbf; /* the input (and its gradient) is bf16 */
    int cb;  /* output channel blocks */
    int ocp; /* oc rounded up to the output block */
    int fan; /* ic k k */
    float sig_k;
    /* per output channel, ocp long (0 on the padding channels) */
    float *ia;     /* 1/|w_o| */
    float *mask;   /* 1 on real channels */
    float *ik;     /* 1/k of the sigmoid */
    float *coeff;  /* C(k) */
    float *icoeff; /* 1/C(k): backward recovers h = y/C */
    float *dcoeff; /* C'(k) */
    float *ksign;  /* d k / d k_raw */
    double *r, *dk;
    /* per image and position */
    float *ib; /* (n, oh, ow) 1/|x_p| */
    float *t;  /* (n, oh, ow) sum_o G c */
    float *sq; /* (n, ih, iw) sum_c x^2; backward: U */
    float *rows; /* (n, ih, ow) the box sum's row pass */
    float *gram;
    /* activation-sized, in the output layout (private buffers BUF_KEEP,
     * BUF_S): the convolution's output s, kept for backward (NULL where
     * nothing is kept), and S = dL/ds; bf16 in a bf16 net */
    float *kept_s, *s;
} sc_priv;

/* Backward needs c (all but fp32 cosine, which reads it from y); it keeps
 * the convolution's output s, from which the forward, the recomputation of
 * y and the backward all form c = s ia ib with the same operations. F = dy/dc,
 * u and dy/dk are recomputed from c (and y = C h), which costs less than
 * writing and re-reading them (at narrow widths these passes are bound by
 * memory traffic, not arithmetic). */
enum { BUF_KEEP = MT_CONV_PRIM_BUFS, BUF_S };

static const mt_sphere_conv_cfg *cfg_of(const mt_layer *l)
{
    return (const mt_sphere_conv_cfg *)l->cfg;
}

/* ---- build ------------------------------------------------------------------ */

static int sc_infer(mt_layer *l)
{
    const mt_sphere_conv_cfg *c = cfg_of(l);
    const mt_tensor *x = l->in[0];
    if (c->out_c < 1 || c->k < 1 || c->stride < 1 || c->pad < 0)
        return mt_error(MT_ERR_ARG,
                        "%s: out_c %d, k %d, stride %d, pad %d: need out_c, k, stride >= 1, "
                        "pad >= 0",
                        l->name, c->out_c, c->k, c->stride, c->pad);
    if (!mt_sphere_op_name((mt_sphere_op)c->op))
        return mt_error(MT_ERR_ARG, "%s: unknown operator %d", l->name, c->op);
    if (!(c->sigmoid_k >= 0.0f) || !isfinite(c->sigmoid_k))
        return mt_error(MT_ERR_ARG, "%s: sigmoid k %g must be > 0", l->name, c->sigmoid_k);
    if (!(c->ortho >= 0.0f) || !isfinite(c->ortho))
        return mt_error(MT_ERR_ARG, "%s: orthogonality coefficient %g must be >= 0", l->name,
                        c->ortho);
    int oh = (x->h + 2 * c->pad - c->k) / c->stride + 1;
    int ow = (x->w + 2 * c->pad - c->k) / c->stride + 1;
    if (x->h + 2 * c->pad < c->k || x->w + 2 * c->pad < c->k || oh < 1 || ow < 1)
        return mt_error(MT_ERR_ARG, "%s: kernel %d with pad %d does not fit input %dx%d", l->name,
                        c->k, c->pad, x->h, x->w);
    l->out->c = c->out_c;
    l->out->h = oh;
    l->out->w = ow;
    int wshape[4] = {c->out_c, x->c, c->k, c->k};
    int rc = mt_layer_param(l, "weight", MT_SEG_CONV_WEIGHT, 4, wshape);
    if (rc < 0)
        return rc;
    if (c->op == MT_SPHERE_LR_SIGMOID) {
        int kshape[1] = {c->out_c};
        rc = mt_layer_param(l, "k", MT_SEG_OTHER, 1, kshape);
        if (rc < 0)
            return rc;
    }
    return MT_OK;
}

static void sc_destroy(mt_layer *l)
{
    sc_priv *p = l->priv;
    if (!p)
        return;
    mt_conv_prim_destroy(&p->conv);
    free(p->ia);
    free(p->mask);
    free(p->ik);
    free(p->coeff);
    free(p->icoeff);
    free(p->dcoeff);
    free(p->ksign);
    free(p->r);
    free(p->dk);
    free(p->ib);
    free(p->t);
    free(p->sq);
    free(p->rows);
    free(p->gram);
    free(p);
    l->priv = NULL;
}

static int sc_compile(mt_layer *l)
{
    const mt_sphere_conv_cfg *c = cfg_of(l);
    const mt_tensor *x = l->in[0];
    sc_priv *p = calloc(1, sizeof *p);
    if (!p)
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", l->name);
    l->priv = p;
    p->n = x->n;
    p->ic = x->c;
    p->ih = x->h;
    p->iw = x->w;
    p->oc = c->out_c;
    p->oh = l->out->h;
    p->ow = l->out->w;
    p->k = c->k;
    p->stride = c->stride;
    p->pad = c->pad;
    p->op = c->op;
    p->fan = p->ic * p->k * p->k;
    p->sig_k = c->sigmoid_k > 0.0f ? c->sigmoid_k : MT_SPHERE_SIGMOID_K;
    p->bf = mt_net_dtype(l->net) == dnnl_bf16;
    p->xbf = x->md.data_type == dnnl_bf16;
    if (x->md.data_type != dnnl_f32 && !p->xbf)
        return mt_error(MT_ERR_ARG, "%s: input data type %d is neither fp32 nor bf16", l->name,
                        (int)x->md.data_type);
    int rc = mt_conv_prim_create(&p->conv, l->net, &x->md, p->n, p->ic, p->ih, p->iw, p->oc, p->k,
                                 p->stride, p->pad, 0, x->needs_diff, mt_layer_training(l),
                                 mt_net_dtype(l->net));
    if (rc < 0)
        return rc;
    p->conv.owner = l;
    l->out->md = p->conv.dst_md;
    if ((rc = layout_from_md(&x->md, &p->src, "input")) < 0 ||
        (rc = layout_from_md(&p->conv.dst_md, &p->dst, "output")) < 0)
        return rc;
    if ((rc = mt_conv_prim_buffers(&p->conv, l)) < 0)
        return rc;
    /* backward reads the input (weight gradient, patch norms) and, in fp32
     * but for the linear operator, its output (dy/dc from y; bf16 computes
     * it from the kept s) */
    mt_layer_backward_reads(l, 1, 0,
                            !p->bf && p->op != MT_SPHERE_LINEAR && p->op != MT_SPHERE_NONE);
    /* with s kept, y = g(theta(c)) is recomputed when a later backward (the
     * next batch norm's) needs it, instead of kept */
    if (p->op != MT_SPHERE_NONE && (p->bf || p->op != MT_SPHERE_COSINE) && mt_layer_training(l))
        mt_layer_can_regen(l, 0, 0);
    p->cb = (p->oc + p->dst.B - 1) / p->dst.B;
    p->ocp = p->cb * p->dst.B;
    if (p->op != MT_SPHERE_NONE) {
        size_t act = dnnl_memory_desc_get_size(&p->conv.dst_md);
        /* fp32 cosine reads c back from its output; every other case keeps s */
        if (((p->bf || p->op != MT_SPHERE_COSINE) &&
             (rc = mt_layer_buffer_scoped(l, BUF_KEEP, act, MT_BUF_TRAINING)) < 0) ||
            (rc = mt_layer_buffer_scoped(l, BUF_S, act, MT_BUF_BACKWARD)) < 0)
            return rc;
    }
    size_t npos = (size_t)p->n * p->oh * p->ow, nin = (size_t)p->n * p->ih * p->iw;
    p->ia = calloc(p->ocp, sizeof *p->ia);
    p->mask = calloc(p->ocp, sizeof *p->mask);
    p->ik = calloc(p->ocp, sizeof *p->ik);
    p->coeff = calloc(p->ocp, sizeof *p->coeff);
    p->icoeff = calloc(p->ocp, sizeof *p->icoeff);
    p->dcoeff = calloc(p->ocp, sizeof *p->dcoeff);
    p->ksign = calloc(p->ocp, sizeof *p->ksign);
    p->r = calloc(p->ocp, sizeof *p->r);
    p->dk = calloc(p->ocp, sizeof *p->dk);
    p->ib = calloc(npos, sizeof *p->ib);
    p->t = calloc(npos, sizeof *p->t);
    p->sq = calloc(nin, sizeof *p->sq);
    p->rows = calloc((size_t)p->n * p->ih * p->ow, sizeof *p->rows);
    if (c->ortho > 0.0f)
        p->gram = calloc((size_t)p->oc * p->oc, sizeof *p->gram);
    if (!p->ia || !p->mask || !p->ik || !p->coeff || !p->icoeff || !p->dcoeff || !p->ksign || !p->r || !p->dk || !p->ib ||
        !p->t || !p->sq || !p->rows || (c->ortho > 0.0f && !p->gram))
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", l->name);
    for (int o = 0; o < p->oc; o++) {
        p->mask[o] = 1.0f;
        p->ik[o] = 1.0f / p->sig_k;
        p->coeff[o] = mt_sphere_sigmoid_coeff(p->sig_k);
        p->icoeff[o] = 1.0f / p->coeff[o];
        p->ksign[o] = 1.0f;
    }
    /* The padding channels compute with k = 1, c = 0: finite, masked to 0. */
    for (int o = p->oc; o < p->ocp; o++) {
        p->ik[o] = 1.0f;
        p->coeff[o] = 1.0f;
        p->icoeff[o] = 1.0f;
    }
    return MT_OK;
}

static int sc_bind(mt_layer *l)
{
    sc_priv *p = l->priv;
    if (p->op != MT_SPHERE_NONE) {
        p->kept_s = l->buf[BUF_KEEP];
        p->s = l->buf[BUF_S];
    }
    float *ddst = p->op == MT_SPHERE_NONE ? l->out->diff : p->s;
    /* training: the convolution writes s where backward keeps it */
    float *dst = p->kept_s ? p->kept_s : l->out->data;
    int rc = mt_conv_prim_bind(&p->conv, l->in[0]->data, dst, l->param, NULL, NULL, ddst,
                               l->grad, NULL, l->buf);
    if (rc < 0)
        return rc;
    p->bound = 1;
    return MT_OK;
}

static int sc_init(mt_layer *l, mt_rng *rng)
{
    const mt_sphere_conv_cfg *c = cfg_of(l);
    int fan = l->in[0]->c * c->k * c->k;
    size_t nw = (size_t)c->out_c * fan;
    double std = sqrt(2.0 / fan);
    for (size_t i = 0; i < nw; i++)
        l->param[i] = (float)(std * mt_rng_normal(rng));
    if (c->op == MT_SPHERE_LR_SIGMOID)
        for (int o = 0; o < c->out_c; o++)
            l->param[nw + o] = MT_SPHERE_LR_K_INIT;
    return MT_OK;
}

static double sc_macs(const mt_layer *l)
{
    const mt_sphere_conv_cfg *c = cfg_of(l);
    return (double)c->out_c * l->out->h * l->out->w * l->in[0]->c * c->k * c->k;
}

/* ---- the norms ---------------------------------------------------------------- */

/* 1/|w_o| and, for the sigmoids, k and C(k) per filter. */
static void filter_norms(sc_priv *p, const float *w)
{
    const float *kraw = w + (size_t)p->oc * p->fan;
    for (int o = 0; o < p->oc; o++) {
        const float *wo = w + (size_t)o * p->fan;
        float ss = 0.0f;
        for (int i = 0; i < p->fan; i++)
            ss += wo[i] * wo[i];
        p->ia[o] = 1.0f / sqrtf(ss + MT_SPHERE_NORM_EPS);
        if (p->op == MT_SPHERE_LR_SIGMOID) {
            float k = mt_sphere_lr_k(kraw[o], &p->ksign[o]);
            p->ik[o] = 1.0f / k;
            p->coeff[o] = mt_sphere_sigmoid_coeff(k);
            p->icoeff[o] = 1.0f / p->coeff[o];
            p->dcoeff[o] = mt_sphere_sigmoid_dcoeff(k);
        }
    }
}

/* The sum of v[0..m) by halving (m a constant 16 in the common case): the
 * halves are vector adds, where an `omp simd reduction` here ends in a
 * lane-by-lane scalar loop. v is overwritten. */
static inline __attribute__((always_inline)) float lanes_sum(float *restrict v, const int m)
{
    if (m == 16) {
        for (int i = 0; i < 8; i++)
            v[i] += v[i + 8];
        for (int i = 0; i < 4; i++)
            v[i] += v[i + 4];
        return (v[0] + v[2]) + (v[1] + v[3]);
    }
    float acc = 0.0f;
    for (int i = 0; i < m; i++)
        acc += v[i];
    return acc;
}

typedef float v16f __attribute__((vector_size(64)));

/* Lanes of the 32 of (a, b) picked by constant indices:
 * __builtin_shufflevector, which GCC (12 and later) and Clang both have. */
#define PICK(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
/* The low and high halves of each 16-, 8-, 4- and 2-lane group. */
#define HALF_LO 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define HALF_HI 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define QUARTER_LO 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27
#define QUARTER_HI 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31
#define EIGHTH_LO 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29
#define EIGHTH_HI 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31
#define EVEN 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define ODD 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31

/* lanes_sum(v[j], 16) of 16 vectors at once, lane j of the result: the same
 * additions in the same order (lane i + lane i+8, then i + i+4, then
 * (0 + 2) + (1 + 3)), as a tree across the vectors that halves their count
 * at each level, 15 pairs of shuffles for 16 sums instead of one horizontal
 * sum each. v is overwritten. */
static inline __attribute__((always_inline)) v16f lanes_sum_16x16(v16f *v)
{
    /* vector j holds 2, 4, 8, then 16 vectors' partial sums, in their order */
    for (int j = 0; j < 8; j++)
        v[j] = PICK(v[2 * j], v[2 * j + 1], HALF_LO) + PICK(v[2 * j], v[2 * j + 1], HALF_HI);
    for (int j = 0; j < 4; j++)
        v[j] = PICK(v[2 * j], v[2 * j + 1], QUARTER_LO) +
               PICK(v[2 * j], v[2 * j + 1], QUARTER_HI);
    for (int j = 0; j < 2; j++)
        v[j] = PICK(v[2 * j], v[2 * j + 1], EIGHTH_LO) + PICK(v[2 * j], v[2 * j + 1], EIGHTH_HI);
    return PICK(v[0], v[1], EVEN) + PICK(v[0], v[1], ODD);
}

/* Element i of an activation of floats (bf = 0) or bf16 (bf = 1). */
static inline __attribute__((always_inline)) float ld(const void *restrict v, long i, const int bf)
{
    return bf ? mt_bf16_to_f32(((const mt_bf16 *)v)[i]) : ((const float *)v)[i];
}

/* sum_c x[o + c]^2 over the m channels of a block. */
static inline __attribute__((always_inline)) float block_sumsq(const void *restrict x, long o,
                                                               const int m, const int bf)
{
    float v[m];
#pragma omp simd
    for (int i = 0; i < m; i++) {
        float xi = ld(x, o + i, bf);
        v[i] = xi * xi;
    }
    return lanes_sum(v, m);
}

/* sq[n, h, w] = sum_c x[n, c, h, w]^2 along one input row; B constant (16)
 * in the common case, so a full block is one vector. The per-B dispatch is
 * inside the parallel loop: GCC outlines an OpenMP region before it inlines,
 * so a constant passed to a function holding the region does not reach it. */
static inline __attribute__((always_inline)) void sumsq_row(sc_priv *p, const void *x, int n,
                                                            int h, const int B, const int bf)
{
    const sc_layout *lo = &p->src;
    int iw = p->iw, ic = p->ic, full = ic / B, rest = ic % B, w = 0;
    float *sq = p->sq + ((size_t)n * p->ih + h) * iw;
    /* 16 positions at a time where whole blocks of 16 channels allow */
    for (; B == 16 && rest == 0 && w + 16 <= iw; w += 16) {
        v16f acc = {0};
        for (int cb = 0; cb < full; cb++) {
            v16f v[16];
            for (int j = 0; j < 16; j++) {
                long o = lo_block(lo, n, cb, h, w + j);
#pragma omp simd
                for (int i = 0; i < 16; i++) {
                    float xi = ld(x, o + i, bf);
                    v[j][i] = xi * xi;
                }
            }
            acc += lanes_sum_16x16(v);
        }
        memcpy(sq + w, &acc, sizeof acc);
    }
    for (; w < iw; w++) {
        float acc = 0.0f;
        for (int cb = 0; cb < full; cb++)
            acc += block_sumsq(x, lo_block(lo, n, cb, h, w), B, bf);
        if (rest)
            acc += block_sumsq(x, lo_block(lo, n, full, h, w), rest, bf);
        sq[w] = acc;
    }
}

static void channel_sumsq(sc_priv *p, const void *x)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < p->n; n++)
        for (int h = 0; h < p->ih; h++) {
            if (p->xbf)
                sumsq_row(p, x, n, h, p->src.B, 1);
            else if (p->src.B == 16)
                sumsq_row(p, x, n, h, 16, 0);
            else
                sumsq_row(p, x, n, h, p->src.B, 0);
        }
}

/* The offsets d in [*lo, *hi) of a k-wide window starting at i*st - pad
 * that fall inside [0, size): the zero padding contributes nothing. */
static inline int window(int i, int st, int pad, int k, int size, int *lo, int *hi)
{
    int start = i * st - pad;
    *lo = start < 0 ? -start : 0;
    *hi = start + k > size ? size - start : k;
    return start;
}

/* The output columns [*x0, *x1) whose input column x st + off lies in [0, iw). */
static inline void columns(int off, int st, int iw, int ow, int *x0, int *x1)
{
    *x0 = off < 0 ? (-off + st - 1) / st : 0;
    *x1 = iw - 1 - off < 0 ? 0 : (iw - 1 - off) / st + 1;
    if (*x1 > ow)
        *x1 = ow;
}

/* The k x k box sum is separable: along rows into rs (ih, ow), then along
 * columns; each pass runs over contiguous columns and vectorises. Windows
 * are clipped to the input (zero padding contributes nothing). */
static void box_rows(const float *restrict in, float *restrict rs, int ih, int iw, int ow, int k,
                     int st, int pad)
{
    memset(rs, 0, sizeof *rs * ih * ow);
    for (int dx = 0; dx < k; dx++) {
        /* columns x with 0 <= x st - pad + dx < iw */
        int x0, x1, off = dx - pad;
        columns(off, st, iw, ow, &x0, &x1);
        for (int h = 0; h < ih; h++) {
            const float *restrict row = in + (size_t)h * iw + off;
            float *restrict r = rs + (size_t)h * ow;
            if (st == 1) {
#pragma omp simd
                for (int x = x0; x < x1; x++)
                    r[x] += row[x];
            } else {
                for (int x = x0; x < x1; x++)
                    r[x] += row[x * st];
            }
        }
    }
}

/* ib[n, p] = 1/sqrt(box sum of sq over p's window + eps). */
static void patch_norms(sc_priv *p)
{
    int ih = p->ih, iw = p->iw, oh = p->oh, ow = p->ow, k = p->k, st = p->stride, pad = p->pad;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < p->n; n++) {
        float *rs = p->rows + (size_t)n * ih * ow, *ib = p->ib + (size_t)n * oh * ow;
        box_rows(p->sq + (size_t)n * ih * iw, rs, ih, iw, ow, k, st, pad);
        for (int y = 0; y < oh; y++) {
            int y0, y1, h0 = window(y, st, pad, k, ih, &y0, &y1);
            float *restrict out = ib + (size_t)y * ow;
            for (int x = 0; x < ow; x++)
                out[x] = 0.0f;
            for (int dy = y0; dy < y1; dy++) {
                const float *restrict r = rs + (size_t)(h0 + dy) * ow;
#pragma omp simd
                for (int x = 0; x < ow; x++)
                    out[x] += r[x];
            }
            /* vsqrtps and vdivps: as exact as sqrtf and / (-fno-math-errno) */
#pragma omp simd
            for (int x = 0; x < ow; x++)
                out[x] = 1.0f / sqrtf(out[x] + MT_SPHERE_NORM_EPS);
        }
    }
}

/* U = box^T(v), v[n, p] = -t[n, p] ib[n, p]^2, into sq (n, ih, iw): the
 * transposes of the two passes above, columns first. */
static void patch_norms_backward(sc_priv *p)
{
    int ih = p->ih, iw = p->iw, oh = p->oh, ow = p->ow, k = p->k, st = p->stride, pad = p->pad;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < p->n; n++) {
        float *rs = p->rows + (size_t)n * ih * ow, *u = p->sq + (size_t)n * ih * iw;
        const float *t = p->t + (size_t)n * oh * ow, *ib = p->ib + (size_t)n * oh * ow;
        memset(rs, 0, sizeof *rs * ih * ow);
        for (int y = 0; y < oh; y++) {
            int y0, y1, h0 = window(y, st, pad, k, ih, &y0, &y1);
            const float *restrict ty = t + (size_t)y * ow, *restrict by = ib + (size_t)y * ow;
            for (int dy = y0; dy < y1; dy++) {
                float *restrict r = rs + (size_t)(h0 + dy) * ow;
#pragma omp simd
                for (int x = 0; x < ow; x++)
                    r[x] -= ty[x] * by[x] * by[x];
            }
        }
        memset(u, 0, sizeof *u * ih * iw);
        for (int dx = 0; dx < k; dx++) {
            int x0, x1, off = dx - pad;
            columns(off, st, iw, ow, &x0, &x1);
            for (int h = 0; h < ih; h++) {
                float *restrict row = u + (size_t)h * iw + off;
                const float *restrict r = rs + (size_t)h * ow;
                if (st == 1) {
#pragma omp simd
                    for (int x = x0; x < x1; x++)
                        row[x] += r[x];
                } else {
                    for (int x = x0; x < x1; x++)
                        row[x * st] += r[x];
                }
            }
        }
    }
}

/* dx[n, c, h, w] += x[n, c, h, w] U[n, h, w] along one input row, on floats
 * or (bf) bf16, the sum in fp32 rounded once. */
static inline __attribute__((always_inline)) void patch_term_row(sc_priv *p, const void *x,
                                                                 void *dx, int n, int h,
                                                                 const int B, const int bf)
{
    const sc_layout *lo = &p->src;
    int iw = p->iw, ic = p->ic, nb = (ic + B - 1) / B;
    for (int w = 0; w < iw; w++) {
        float u = p->sq[((size_t)n * p->ih + h) * iw + w];
        for (int cb = 0; cb < nb; cb++) {
            long o = lo_block(lo, n, cb, h, w);
            int m = cb < nb - 1 || ic % B == 0 ? B : ic % B;
            if (bf) {
                mt_bf16 *restrict d = (mt_bf16 *)dx + o;
#pragma omp simd
                for (int i = 0; i < m; i++)
                    d[i] = mt_bf16_from_f32(mt_bf16_to_f32(d[i]) + ld(x, o + i, 1) * u);
            } else if (m == B) {
                float *restrict d = (float *)dx + o;
#pragma omp simd
                for (int i = 0; i < B; i++)
                    d[i] += ld(x, o + i, 0) * u;
            } else {
                float *restrict d = (float *)dx + o;
                for (int i = 0; i < m; i++)
                    d[i] += ld(x, o + i, 0) * u;
            }
        }
    }
}

static void add_patch_term(sc_priv *p, const void *x, void *dx)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < p->n; n++)
        for (int h = 0; h < p->ih; h++) {
            if (p->xbf)
                patch_term_row(p, x, dx, n, h, p->src.B, 1);
            else if (p->src.B == 16)
                patch_term_row(p, x, dx, n, h, 16, 0);
            else
                patch_term_row(p, x, dx, n, h, p->src.B, 0);
        }
}

/* ---- the fused element-wise passes --------------------------------------------- */

/* g(theta(c)) in fp32 for a constant op; with d non-NULL also dy/dc there
 * and (learnable sigmoid) dy/dk in *dk. The forward and the recomputation
 * call this, so they see the same y. */
static inline __attribute__((always_inline)) float g_of_c(int op, float c, float ik, float coeff,
                                                          float dcoeff, float *d, float *dk)
{
    if (op == MT_SPHERE_COSINE) {
        if (d)
            *d = 1.0f;
        return c;
    }
    float th = mt_sphere_acosf(mt_sphere_clamp(c));
    if (op == MT_SPHERE_LINEAR) {
        if (d)
            *d = (-2.0f / MT_SPHERE_PI) * mt_sphere_dtheta_dc(c);
        return 1.0f - th * (2.0f / MT_SPHERE_PI);
    }
    float dth = 0.0f;
    float y = mt_sphere_sigmoid_pre(th, ik, coeff, dcoeff, d ? &dth : NULL, dk);
    if (d)
        *d = dth * mt_sphere_dtheta_dc(c);
    return y;
}

/* Stores v as element i of an activation of floats (bf = 0) or bf16 (bf = 1). */
static inline __attribute__((always_inline)) void st(void *v, long i, float x, const int bf)
{
    if (bf)
        ((mt_bf16 *)v)[i] = mt_bf16_from_f32(x);
    else
        ((float *)v)[i] = x;
}

/* y = g(theta(c)), c = s ia ib, over one channel block of one image, for a
 * constant op, B and precision (dispatched inside the parallel loop, see
 * sumsq_row; B = 16 makes the inner loop one AVX-512 vector). s and y may be
 * the same buffer: where nothing is kept for backward (fp32 cosine, whose
 * backward reads c back from y, and inference nets) the convolution writes
 * s into y and this converts it in place. */
static inline __attribute__((always_inline)) void forward_plane(sc_priv *p, void *y, const void *s,
                                                                int n, int cb, const int B,
                                                                const int op, const int bf)
{
    const sc_layout *lo = &p->dst;
    int oh = p->oh, ow = p->ow;
    const float *ia = p->ia + cb * B, *mask = p->mask + cb * B;
    const float *ik = p->ik + cb * B, *coeff = p->coeff + cb * B;
    for (int h = 0; h < oh; h++)
        for (int w = 0; w < ow; w++) {
            long o = lo_block(lo, n, cb, h, w);
            float ib = p->ib[((size_t)n * oh + h) * ow + w];
#pragma omp simd
            for (int i = 0; i < B; i++) {
                float c = ld(s, o + i, bf) * ia[i] * ib;
                st(y, o + i, g_of_c(op, c, ik[i], coeff[i], 0.0f, NULL, NULL) * mask[i], bf);
            }
        }
}

static inline __attribute__((always_inline)) void forward_plane_op(sc_priv *p, void *y,
                                                                   const void *s, int n, int cb,
                                                                   const int B, const int bf)
{
    if (p->op == MT_SPHERE_LINEAR)
        forward_plane(p, y, s, n, cb, B, MT_SPHERE_LINEAR, bf);
    else if (p->op == MT_SPHERE_COSINE)
        forward_plane(p, y, s, n, cb, B, MT_SPHERE_COSINE, bf);
    else /* both sigmoids */
        forward_plane(p, y, s, n, cb, B, MT_SPHERE_SIGMOID, bf);
}

/* The forward's pass and the recomputation of y from the kept s. */
static void elementwise_forward(sc_priv *p, void *y, const void *s)
{
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < p->n; n++)
        for (int cb = 0; cb < p->cb; cb++) {
            if (p->bf)
                forward_plane_op(p, y, s, n, cb, p->dst.B, 1);
            else if (p->dst.B == 16)
                forward_plane_op(p, y, s, n, cb, 16, 0);
            else
                forward_plane_op(p, y, s, n, cb, p->dst.B, 0);
        }
}

/* y = g(theta) again from the kept s: the forward's very operations. */
static int sc_regen(mt_layer *l)
{
    sc_priv *p = l->priv;
    elementwise_forward(p, l->out->data, p->kept_s);
    return MT_OK;
}

/* -dh/du = 2 e / (1 + e)^2 of the sigmoid from h = (1 - e)/(1 + e) itself:
 * 1 - h^2 = 4 e / (1 + e)^2. Exact in exact arithmetic; in float its
 * absolute error is that of h (a few 1e-8), so no exp is needed. */
static inline float sig_de(float h)
{
    return 0.5f * (1.0f - h) * (1.0f + h);
}

/* The per-filter constants of one channel block. */
typedef struct {
    const float *ia, *mask, *ik, *coeff, *icoeff, *dcoeff;
} block_consts;

/* G = dL/dc at lane i of the block at offset o, with c in *c and, for the
 * learnable sigmoid, dy dy/dk in *dkt. c = s ia ib from the kept s as the
 * forward formed it (fp32 cosine: c = y). The one difference between the
 * precisions: fp32 recovers F = dy/dc of the sigmoids from h = y/C, bf16
 * recomputes F and dy/dk with g_of_c. */
static inline __attribute__((always_inline)) float grad_at(const sc_priv *p, const void *dy,
                                                           const float *y, long o, int i,
                                                           const block_consts *k, float ib,
                                                           float *c, float *dkt, const int op,
                                                           const int bf)
{
    if (!bf && op == MT_SPHERE_COSINE)
        *c = y[o + i];
    else
        *c = ld(p->kept_s, o + i, bf) * k->ia[i] * ib;
    float d = ld(dy, o + i, bf);
    if (bf) {
        float f, dk = 0.0f;
        g_of_c(op, *c, k->ik[i], k->coeff[i], k->dcoeff[i], &f,
               op == MT_SPHERE_LR_SIGMOID ? &dk : NULL);
        float dm = d * k->mask[i];
        *dkt = dm * dk;
        return dm * f;
    }
    if (op == MT_SPHERE_COSINE) /* F = 1 */
        return d * k->mask[i];
    if (op == MT_SPHERE_LINEAR) /* F = -2/pi dtheta/dc */
        return d * (-2.0f / MT_SPHERE_PI) * mt_sphere_dtheta_dc(*c) * k->mask[i];
    float hv = y[o + i] * k->icoeff[i], de = sig_de(hv);
    float f = -k->coeff[i] * k->ik[i] * de * mt_sphere_dtheta_dc(*c);
    if (op == MT_SPHERE_SIGMOID)
        return d * f * k->mask[i];
    /* and dy/dk = C' h + C de u / k, u = (theta - pi/2)/k as the forward had it */
    float u = (mt_sphere_acosf(mt_sphere_clamp(*c)) - MT_SPHERE_HALF_PI) * k->ik[i];
    float dm = d * k->mask[i];
    *dkt = dm * (k->dcoeff[i] * hv + k->coeff[i] * de * u * k->ik[i]);
    return dm * f;
}

/* G = dy F, S = G ia ib at one position (n, h, w) of channel block cb:
 * rb[o] += G c, db[o] += dy dy/dk, and G c of the block's channels into
 * gcv for T (constant op and precision, B constant 16 in the common case). */
static inline __attribute__((always_inline)) void backward_position(
    sc_priv *p, const void *dy, const float *y, int n, int cb, int h, int w,
    const block_consts *k, float *rb, float *db, float *gcv, const int B, const int op,
    const int bf)
{
    long o = lo_block(&p->dst, n, cb, h, w);
    float ib = p->ib[((size_t)n * p->oh + h) * p->ow + w], sc[B];
    for (int i = 0; i < B; i++)
        sc[i] = k->ia[i] * ib;
#pragma omp simd
    for (int i = 0; i < B; i++) {
        float c, dkt = 0.0f;
        float g = grad_at(p, dy, y, o, i, k, ib, &c, &dkt, op, bf);
        if (bf)
            ((mt_bf16 *)p->s)[o + i] = mt_bf16_from_f32(g * sc[i]);
        else
            p->s[o + i] = g * sc[i];
        gcv[i] = g * c;
        rb[i] += gcv[i];
        if (op == MT_SPHERE_LR_SIGMOID)
            db[i] += dkt;
    }
}

/* backward_position over image n; t[n, p] += sum_o G c, for 16 positions at
 * a time where the block is 16 channels (see lanes_sum_16x16). */
static inline __attribute__((always_inline)) void backward_image(sc_priv *p, const void *dy,
                                                                 const float *y, int n,
                                                                 float *rl, float *dl,
                                                                 const int B, const int op,
                                                                 const int bf)
{
    int oh = p->oh, ow = p->ow;
    for (int cb = 0; cb < p->cb; cb++) {
        int b0 = cb * B;
        block_consts k = {p->ia + b0,     p->mask + b0,   p->ik + b0,
                          p->coeff + b0,  p->icoeff + b0, p->dcoeff + b0};
        float *rb = rl + b0, *db = dl + b0;
        for (int h = 0; h < oh; h++) {
            float *t = p->t + ((size_t)n * oh + h) * ow;
            int w = 0;
            for (; B == 16 && w + 16 <= ow; w += 16) {
                v16f gc[16];
                for (int j = 0; j < 16; j++)
                    backward_position(p, dy, y, n, cb, h, w + j, &k, rb, db, (float *)&gc[j], B,
                                      op, bf);
                v16f sum = lanes_sum_16x16(gc);
                for (int j = 0; j < 16; j++)
                    t[w + j] += sum[j];
            }
            for (; w < ow; w++) {
                float gcv[B];
                backward_position(p, dy, y, n, cb, h, w, &k, rb, db, gcv, B, op, bf);
                t[w] += lanes_sum(gcv, B);
            }
        }
    }
}

/* backward_image with op and precision constant (dispatched inside the
 * parallel loop, see sumsq_row). */
static inline __attribute__((always_inline)) void backward_image_op(sc_priv *p, const void *dy,
                                                                    const float *y, int n,
                                                                    float *rl, float *dl,
                                                                    const int B, const int bf)
{
    if (p->op == MT_SPHERE_LINEAR)
        backward_image(p, dy, y, n, rl, dl, B, MT_SPHERE_LINEAR, bf);
    else if (p->op == MT_SPHERE_COSINE)
        backward_image(p, dy, y, n, rl, dl, B, MT_SPHERE_COSINE, bf);
    else if (p->op == MT_SPHERE_SIGMOID)
        backward_image(p, dy, y, n, rl, dl, B, MT_SPHERE_SIGMOID, bf);
    else
        backward_image(p, dy, y, n, rl, dl, B, MT_SPHERE_LR_SIGMOID, bf);
}

static void elementwise_backward(sc_priv *p, const float *dy, const float *y)
{
    int ocp = p->ocp;
    double *r = p->r, *dkacc = p->dk;
    memset(r, 0, sizeof *r * ocp);
    memset(dkacc, 0, sizeof *dkacc * ocp);
    memset(p->t, 0, sizeof *p->t * (size_t)p->n * p->oh * p->ow);
#pragma omp parallel
    {
        float rl[ocp], dl[ocp];
        memset(rl, 0, sizeof rl);
        memset(dl, 0, sizeof dl);
#pragma omp for schedule(static)
        for (int n = 0; n < p->n; n++) {
            if (p->bf)
                backward_image_op(p, dy, y, n, rl, dl, p->dst.B, 1);
            else if (p->dst.B == 16)
                backward_image_op(p, dy, y, n, rl, dl, 16, 0);
            else
                backward_image_op(p, dy, y, n, rl, dl, p->dst.B, 0);
        }
#pragma omp critical
        for (int o = 0; o < ocp; o++) {
            r[o] += rl[o];
            dkacc[o] += dl[o];
        }
    }
}

/* ---- forward and backward ------------------------------------------------------ */

static int sc_forward(mt_layer *l, int train)
{
    sc_priv *p = l->priv;
    if (!p->bound) {
        int rc = sc_bind(l);
        if (rc < 0)
            return rc;
    }
    int rc = mt_conv_prim_forward(&p->conv);
    if (rc < 0 || p->op == MT_SPHERE_NONE)
        return rc;
    filter_norms(p, l->param);
    channel_sumsq(p, l->in[0]->data);
    patch_norms(p);
    elementwise_forward(p, l->out->data, p->kept_s ? p->kept_s : l->out->data);
    return MT_OK;
}

static int sc_backward(mt_layer *l)
{
    sc_priv *p = l->priv;
    const mt_sphere_conv_cfg *c = cfg_of(l);
    float *dx = mt_layer_diff_begin(l, 0);
    int rc;
    if (p->op != MT_SPHERE_NONE) {
        elementwise_backward(p, l->out->diff, l->out->data);
        if (dx)
            patch_norms_backward(p);
    }
    if ((rc = mt_conv_prim_backward_weights(&p->conv)) < 0)
        return rc;
    if (p->op != MT_SPHERE_NONE) {
        /* the |w| term: dL/dw_o -= R_o w_o / |w_o|^2 */
        for (int o = 0; o < p->oc; o++) {
            float f = (float)(-p->r[o]) * p->ia[o] * p->ia[o];
            const float *wo = l->param + (size_t)o * p->fan;
            float *go = l->grad + (size_t)o * p->fan;
            for (int i = 0; i < p->fan; i++)
                go[i] += f * wo[i];
        }
        if (p->op == MT_SPHERE_LR_SIGMOID) {
            float *gk = l->grad + (size_t)p->oc * p->fan;
            for (int o = 0; o < p->oc; o++)
                gk[o] = (float)p->dk[o] * p->ksign[o];
        }
    }
    if (c->ortho > 0.0f)
        mt_ortho_penalty(l->param, p->oc, p->fan, c->ortho, l->grad, p->gram);
    if (dx) {
        if ((rc = mt_conv_prim_set_diff_src(&p->conv, dx)) < 0 ||
            (rc = mt_conv_prim_backward_data(&p->conv)) < 0)
            return rc;
        if (p->op != MT_SPHERE_NONE)
            add_patch_term(p, l->in[0]->data, dx);
        return mt_layer_diff_end(l, 0);
    }
    return MT_OK;
}

static const mt_layer_kind sphere_conv_kind = {
    .name = "sphereconv",
    .infer = sc_infer,
    .compile = sc_compile,
    .forward = sc_forward,
    .backward = sc_backward,
    .regen = sc_regen,
    .init = sc_init,
    .destroy = sc_destroy,
    .macs = sc_macs,
    .bind = sc_bind,
};

int mt_sphere_conv_ex(mt_net *net, int x, const mt_sphere_conv_cfg *cfg)
{
    if (x < 0)
        return x;
    if (!net || !cfg)
        return mt_error(MT_ERR_ARG, "sphere_conv: null argument");
    return mt_net_add_layer(net, &sphere_conv_kind, &x, 1, cfg, sizeof *cfg);
}

int mt_sphere_conv(mt_net *net, int x, int out_c, int k, int stride, int pad, mt_sphere_op op)
{
    mt_sphere_conv_cfg cfg = {
        .out_c = out_c, .k = k, .stride = stride, .pad = pad, .op = op,
        .sigmoid_k = MT_SPHERE_SIGMOID_K, .ortho = 0.0f};
    return mt_sphere_conv_ex(net, x, &cfg);
}
