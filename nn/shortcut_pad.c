/* shortcut_pad.c: the option-A residual shortcut of He et al.'s CIFAR
 * ResNets: subsample by the stride and zero-pad the channels,
 * out[n, c + p, h, w] = x[n, c, h s, w s] with p = (out_c - c) / 2 channels of
 * zeros before and the rest after (as the common PyTorch version pads
 * planes/4 on each side). No parameters.
 *
 * Works directly on layouts blocked only on channels (nChw16c, nchw, nhwc),
 * the output in the input's layout family so that the residual add needs no
 * reorder, and in the input's data type (fp32 or bf16). Not here: option B
 * (a 1x1 conv + batch norm, built from layers).
 */
#include "core/status.h"
#include "nn/bf16.h"
#include "nn/layer.h"
#include "nn/net_internal.h"

#include <string.h>

typedef struct {
    int out_c, stride;
} pad_cfg;

static int pad_infer(mt_layer *l)
{
    const pad_cfg *c = l->cfg;
    const mt_tensor *x = l->in[0];
    if (c->stride < 1 || c->out_c < x->c)
        return mt_error(MT_ERR_ARG, "%s: stride %d (>= 1) and out_c %d (>= input's %d)", l->name,
                        c->stride, c->out_c, x->c);
    l->out->c = c->out_c;
    l->out->h = (x->h + c->stride - 1) / c->stride;
    l->out->w = (x->w + c->stride - 1) / c->stride;
    return MT_OK;
}

static int pad_compile(mt_layer *l)
{
    const mt_tensor *x = l->in[0];
    size_t s[4];
    int b;
    if (!mt_md_channel_blocking(&x->md, s, &b))
        return mt_error(MT_ERR_ARG, "input layout is blocked on more than channels");
    mt_md_like(&l->out->md, &x->md, l->out->n, l->out->c, l->out->h, l->out->w);
    mt_layer_backward_reads(l, 0, 0, 0);
    return MT_OK;
}

typedef struct {
    size_t s[4];
    int b;
} lay;

static inline size_t at(const lay *L, int n, int c, int h, int w)
{
    return n * L->s[0] + (size_t)(c / L->b) * L->s[1] + h * L->s[2] + w * L->s[3] + c % L->b;
}

/* The input's and output's layouts and the channel offset of the copy. */
static int layouts(const mt_layer *l, lay *X, lay *Y)
{
    mt_md_channel_blocking(&l->in[0]->md, X->s, &X->b);
    mt_md_channel_blocking(&l->out->md, Y->s, &Y->b);
    return (((const pad_cfg *)l->cfg)->out_c - l->in[0]->c) / 2;
}

/* The copies for one element type T (fp32 or bf16: the tensor's). */
#define PAD_COPIES(T, SUF)                                                                     \
    static void pad_forward_##SUF(const mt_layer *l, const T *xd, T *yd)                      \
    {                                                                                          \
        const mt_tensor *x = l->in[0], *y = l->out;                                            \
        lay X, Y;                                                                              \
        int p0 = layouts(l, &X, &Y), S = ((const pad_cfg *)l->cfg)->stride;                   \
        _Pragma("omp parallel for collapse(2) schedule(static)")                               \
        for (int n = 0; n < y->n; n++)                                                          \
            for (int oc = 0; oc < y->c; oc++) {                                                \
                int ic = oc - p0, in = ic >= 0 && ic < x->c;                                   \
                T *yo = yd + at(&Y, n, oc, 0, 0);                                              \
                const T *xo = in ? xd + at(&X, n, ic, 0, 0) : NULL;                            \
                for (int h = 0; h < y->h; h++)                                                 \
                    for (int w = 0; w < y->w; w++)                                             \
                        yo[h * Y.s[2] + w * Y.s[3]] =                                          \
                            in ? xo[(size_t)h * S * X.s[2] + (size_t)w * S * X.s[3]] : (T)0;   \
            }                                                                                  \
    }                                                                                          \
    static void pad_backward_##SUF(const mt_layer *l, T *dx, const T *dy)                     \
    {                                                                                          \
        const mt_tensor *x = l->in[0], *y = l->out;                                            \
        lay X, Y;                                                                              \
        int p0 = layouts(l, &X, &Y), S = ((const pad_cfg *)l->cfg)->stride;                   \
        /* Padding channels of a blocked layout stay zero: clear it all. */                    \
        memset(dx, 0, dnnl_memory_desc_get_size(&x->md));                                      \
        _Pragma("omp parallel for collapse(2) schedule(static)")                               \
        for (int n = 0; n < x->n; n++)                                                          \
            for (int ic = 0; ic < x->c; ic++) {                                                \
                T *xo = dx + at(&X, n, ic, 0, 0);                                              \
                const T *yo = dy + at(&Y, n, ic + p0, 0, 0);                                   \
                for (int h = 0; h < y->h; h++)                                                 \
                    for (int w = 0; w < y->w; w++)                                             \
                        xo[(size_t)h * S * X.s[2] + (size_t)w * S * X.s[3]] =                  \
                            yo[h * Y.s[2] + w * Y.s[3]];                                       \
            }                                                                                  \
    }
/* The same copies when both layouts hold blocks of 16 channels (nChw16c,
 * what oneDNN picks on AVX-512), one block of 16 lanes at a time: lane i of
 * output block ob is input channel 16 ob + i - p0, which lies in input block
 * ob - q - 1 for the lanes below r and in block ob - q for the others
 * (p0 = 16 q + r); a lane whose channel is not one of x's is zero. Each lane
 * reads one of two runs of consecutive elements, so the 16 lanes are a few
 * vector instructions, where the copies above take one element at a time
 * with the layout's strides (3-5x memory time). Backward writes every
 * element of dx once, zeros included, instead of clearing dx first. */
#define PAD_COPIES16(T, SUF)                                                                   \
    static void pad_forward16_##SUF(const mt_layer *l, const T *xd, T *yd)                    \
    {                                                                                          \
        const mt_tensor *x = l->in[0], *y = l->out;                                            \
        lay X, Y;                                                                              \
        int p0 = layouts(l, &X, &Y), S = ((const pad_cfg *)l->cfg)->stride;                   \
        int q = p0 / 16, r = p0 % 16, xc = x->c, nb = (y->c + 15) / 16;                         \
        _Pragma("omp parallel for collapse(2) schedule(static)")                               \
        for (int n = 0; n < y->n; n++)                                                          \
            for (int ob = 0; ob < nb; ob++) {                                                  \
                /* where lane i's element is, less i, from a position's start */               \
                long da = (long)(ob - q - 1) * (long)X.s[1] + 16 - r;                          \
                long db = (long)(ob - q) * (long)X.s[1] - r;                                   \
                int c0 = 16 * ob - p0;                                                         \
                for (int h = 0; h < y->h; h++)                                                 \
                    for (int w = 0; w < y->w; w++) {                                           \
                        T *restrict yo = yd + n * Y.s[0] + ob * Y.s[1] + h * Y.s[2] +           \
                                         w * Y.s[3];                                           \
                        long xo = (long)(n * X.s[0] + (size_t)h * S * X.s[2] +                  \
                                         (size_t)w * S * X.s[3]);                              \
                        _Pragma("omp simd")                                                    \
                        for (int i = 0; i < 16; i++) {                                         \
                            int ic = c0 + i;                                                   \
                            T v = 0;                                                           \
                            if (ic >= 0 && ic < xc)                                            \
                                v = i < r ? xd[xo + da + i] : xd[xo + db + i];                 \
                            yo[i] = v;                                                         \
                        }                                                                      \
                    }                                                                          \
            }                                                                                  \
    }                                                                                          \
    static void pad_backward16_##SUF(const mt_layer *l, T *dx, const T *dy)                   \
    {                                                                                          \
        const mt_tensor *x = l->in[0];                                                          \
        lay X, Y;                                                                              \
        int p0 = layouts(l, &X, &Y), S = ((const pad_cfg *)l->cfg)->stride;                   \
        int q = p0 / 16, r = p0 % 16, xc = x->c, nb = (xc + 15) / 16;                          \
        /* the loop below writes n nb 16 h w distinct elements: all of a dense layout */     \
        if (dnnl_memory_desc_get_size(&x->md) !=                                               \
            (size_t)x->n * nb * 16 * x->h * x->w * sizeof(T))                                  \
            memset(dx, 0, dnnl_memory_desc_get_size(&x->md));                                  \
        _Pragma("omp parallel for collapse(2) schedule(static)")                               \
        for (int n = 0; n < x->n; n++)                                                          \
            for (int ib = 0; ib < nb; ib++) {                                                  \
                /* lane i is output channel 16 ib + i + p0: block ib + q at lane i + r        \
                 * (i < 16 - r), else block ib + q + 1 */                                      \
                long da = (long)(ib + q) * (long)Y.s[1] + r;                                   \
                long db = (long)(ib + q + 1) * (long)Y.s[1] + r - 16;                          \
                int c0 = 16 * ib;                                                              \
                for (int h = 0; h < x->h; h++) {                                               \
                    T *xr = dx + n * X.s[0] + ib * X.s[1] + h * X.s[2];                        \
                    /* a row of x between two rows of y, or (below) a position */              \
                    /* between two of y's positions: zeros */                                  \
                    for (int w = 0; w < x->w && h % S; w++) {                                  \
                        T *restrict z = xr + w * X.s[3];                                       \
                        _Pragma("omp simd")                                                    \
                        for (int i = 0; i < 16; i++)                                           \
                            z[i] = 0;                                                          \
                    }                                                                          \
                    long yo = (long)(n * Y.s[0] + (size_t)(h / S) * Y.s[2]);                   \
                    for (int w = 0; w < x->w && h % S == 0; w += S, yo += (long)Y.s[3]) {     \
                        T *restrict xo = xr + w * X.s[3];                                      \
                        _Pragma("omp simd")                                                    \
                        for (int i = 0; i < 16; i++) {                                         \
                            T v = 0;                                                           \
                            if (c0 + i < xc)                                                   \
                                v = i < 16 - r ? dy[yo + da + i] : dy[yo + db + i];            \
                            xo[i] = v;                                                         \
                        }                                                                      \
                        for (int k = 1; k < S && w + k < x->w; k++) {                          \
                            T *restrict z = xr + (w + k) * X.s[3];                             \
                            _Pragma("omp simd")                                                \
                            for (int i = 0; i < 16; i++)                                       \
                                z[i] = 0;                                                      \
                        }                                                                      \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
    }
PAD_COPIES(float, f32)
PAD_COPIES(mt_bf16, bf16) /* the bf16 zero is all bits 0, as (mt_bf16)0 */
PAD_COPIES16(float, f32)
PAD_COPIES16(mt_bf16, bf16)
#undef PAD_COPIES
#undef PAD_COPIES16

/* Both layouts in blocks of 16 channels. */
static int blocked16(const mt_layer *l)
{
    lay X, Y;
    layouts(l, &X, &Y);
    return X.b == 16 && Y.b == 16;
}

static int pad_forward(mt_layer *l, int train)
{
    int bf = l->out->md.data_type == dnnl_bf16, b16 = blocked16(l);
    const void *x = l->in[0]->data;
    void *y = l->out->data;
    if (bf && b16)
        pad_forward16_bf16(l, x, y);
    else if (bf)
        pad_forward_bf16(l, x, y);
    else if (b16)
        pad_forward16_f32(l, x, y);
    else
        pad_forward_f32(l, x, y);
    return MT_OK;
}

static int pad_backward(mt_layer *l)
{
    float *dx = mt_layer_diff_begin(l, 0);
    if (!dx)
        return MT_OK;
    int bf = l->out->md.data_type == dnnl_bf16, b16 = blocked16(l);
    const void *dy = l->out->diff;
    if (bf && b16)
        pad_backward16_bf16(l, (mt_bf16 *)dx, dy);
    else if (bf)
        pad_backward_bf16(l, (mt_bf16 *)dx, dy);
    else if (b16)
        pad_backward16_f32(l, dx, dy);
    else
        pad_backward_f32(l, dx, dy);
    return mt_layer_diff_end(l, 0);
}

static const mt_layer_kind pad_kind = {
    .name = "shortcut",
    .infer = pad_infer,
    .compile = pad_compile,
    .forward = pad_forward,
    .backward = pad_backward,
};

int mt_shortcut_pad(mt_net *net, int x, int out_c, int stride)
{
    pad_cfg c = {out_c, stride};
    return mt_net_add_layer(net, &pad_kind, &x, 1, &c, sizeof c);
}
