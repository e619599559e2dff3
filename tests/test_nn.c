/* test_nn.c: every layer's input and parameter gradients against central
 * finite differences over several shapes (batch 1 and more, odd sizes,
 * stride 2, padding, channel counts that are not multiples of 16); the
 * convolution, batch norm and loss against naive double-precision references
 * (which also pins the canonical OIHW parameter layout); bad arguments.
 *
 * Tolerances: forward passes run in fp32, a difference quotient with step
 * 2e-3 carries about 1e-7 |f| / 2e-3 of rounding, so coordinates agree to
 * |a - n| <= 2e-2 + 2e-2 max(|a|, |n|). Layers with kinks (ReLU, max) may
 * have a difference that straddles the kink: up to 2% of the sampled
 * coordinates may miss there, never more.
 */
#include "core/status.h"
#include "nn/net.h"
#include "tests/check_main.h"
#include "tests/gradcheck.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 40 points per buffer; a kinked layer may miss 3 of its ~120-200. */
enum { POINTS = 40, KINKS = 3 };
static const float EPS = 1e-3f;
static const double ATOL = 2e-2, RTOL = 2e-2;

/* A new net with input gradients on, for one layer under test. */
static mt_net *new_net(int n, int c, int h, int w)
{
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, n, c, h, w), MT_OK);
    ck_assert_int_eq(mt_net_want_input_grad(net, 1), MT_OK);
    return net;
}

/* Finalizes, initialises with random parameters (not just the defaults,
 * so that batch-norm scale and shift are exercised), and runs the check. */
static void check_net(mt_net *net, int out, size_t allowed_kinks, uint64_t seed)
{
    ck_assert_msg(out >= 0, "builder: %s", mt_errmsg());
    ck_assert_msg(mt_net_finalize(net, NULL, NULL, NULL) == MT_OK, "finalize: %s", mt_errmsg());
    mt_rng r;
    mt_rng_seed(&r, seed, 0);
    ck_assert_int_eq(mt_net_init(net, &r), MT_OK);
    float *p = mt_net_params(net);
    for (size_t i = 0; i < mt_net_param_count(net); i++)
        p[i] += 0.3f * (float)mt_rng_normal(&r);
    int s[4];
    mt_net_shape(net, mt_net_input(net), s);
    size_t nx = (size_t)s[0] * s[1] * s[2] * s[3];
    float *x = malloc(nx * sizeof *x);
    gc_fill_normal(x, nx, seed, 9);
    gc_report rep;
    size_t failed = gc_net_check(net, out, x, NULL, EPS, POINTS, seed, ATOL, RTOL, &rep);
    ck_assert_msg(failed != (size_t)-1, "gradcheck: %s", mt_errmsg());
    ck_assert_msg(rep.checked > 0, "nothing checked");
    ck_assert_msg(failed <= allowed_kinks,
                  "%zu of %zu coordinates off; worst in %s[%zu]: analytic %.6g numeric %.6g",
                  failed, rep.checked, rep.what, rep.worst, rep.worst_analytic,
                  rep.worst_numeric);
    free(x);
    mt_net_free(net);
}

/* ---- convolution --------------------------------------------------------- */

static const int conv_shapes[][8] = {
    /* n, c, h, w, out_c, k, stride, pad */
    {1, 3, 7, 7, 5, 3, 1, 1},   {2, 5, 9, 9, 17, 3, 2, 1}, {3, 16, 8, 8, 16, 1, 2, 0},
    {2, 20, 6, 5, 32, 3, 1, 0}, {2, 16, 5, 5, 7, 3, 2, 1},  {2, 16, 6, 6, 32, 3, 1, 1},
};

START_TEST(conv_gradients)
{
    const int *s = conv_shapes[_i];
    mt_net *net = new_net(s[0], s[1], s[2], s[3]);
    int x = mt_net_input(net);
    /* A first conv to 16 channels puts the tested conv's input in a blocked
     * layout for the last shapes, as inside a real network. */
    if (s[1] == 16)
        x = mt_conv(net, x, 16, 1, 1, 0, 1);
    int y = mt_conv(net, x, s[4], s[5], s[6], s[7], _i % 2);
    check_net(net, y, 0, 100 + _i);
}
END_TEST

/* Against a naive double-precision convolution on the OIHW parameters: a
 * direct case (odd sizes, stride 2, 19 channels) and a Winograd case (3x3,
 * stride 1, 16 -> 32 channels), whose transform costs a little accuracy. */
static const int ref_shapes[][8] = {
    /* n, c, h, w, out_c, k, stride, pad */
    {2, 5, 9, 8, 19, 3, 2, 1},
    {2, 16, 8, 8, 32, 3, 1, 1},
};

START_TEST(conv_matches_reference_and_layout_is_oihw)
{
    const int *sh = ref_shapes[_i];
    const int n = sh[0], c = sh[1], h = sh[2], w = sh[3], oc = sh[4], k = sh[5], st = sh[6],
              pd = sh[7];
    const int oh = (h + 2 * pd - k) / st + 1, ow = (w + 2 * pd - k) / st + 1;
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, n, c, h, w), MT_OK);
    int y = mt_conv(net, mt_net_input(net), oc, k, st, pd, 1);
    ck_assert_int_eq(mt_net_finalize(net, NULL, NULL, NULL), MT_OK);
    float *p = mt_net_params(net);
    gc_fill_normal(p, mt_net_param_count(net), 3, 0);
    ck_assert_uint_eq(mt_net_param_count(net), (size_t)oc * c * k * k + oc);
    float *x = malloc(sizeof(float) * n * c * h * w);
    gc_fill_normal(x, (size_t)n * c * h * w, 3, 1);
    ck_assert_int_eq(mt_net_set_input(net, x, n, NULL), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 0), MT_OK);
    int shp[4];
    mt_net_shape(net, y, shp);
    ck_assert_int_eq(shp[2], oh);
    ck_assert_int_eq(shp[3], ow);
    float *out = malloc(sizeof(float) * n * oc * oh * ow);
    ck_assert_int_eq(mt_net_read(net, y, out), MT_OK);
    const float *W = p, *b = p + oc * c * k * k;
    double worst = 0;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < oc; o++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    double s = b[o];
                    for (int ci = 0; ci < c; ci++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * st - pd + ky, ix = ox * st - pd + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w)
                                    continue;
                                s += (double)W[((o * c + ci) * k + ky) * k + kx] *
                                     x[((i * c + ci) * h + iy) * w + ix];
                            }
                    double d = fabs(s - out[((i * oc + o) * oh + oy) * ow + ox]);
                    worst = d > worst ? d : worst;
                }
    /* outputs are O(10): fp32 direct sums agree to 1e-4, Winograd to 1e-3 */
    ck_assert_msg(worst < 1e-3, "worst difference %g from the reference convolution", worst);
    free(x);
    free(out);
    mt_net_free(net);
}
END_TEST

/* Winograd's rounding (about 1e-5 relative) is too coarse for finite
 * differences to resolve, so its gradients are checked against the direct
 * convolution's, which the finite differences above pin down. */
static mt_net *two_convs(float *params_from, int *out)
{
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, 2, 16, 8, 8), MT_OK);
    mt_net_want_input_grad(net, 1);
    int y = mt_conv(net, mt_net_input(net), 32, 3, 1, 1, 1);
    *out = mt_conv(net, y, 32, 3, 1, 1, 0);
    ck_assert_int_eq(mt_net_finalize(net, NULL, NULL, NULL), MT_OK);
    if (params_from)
        memcpy(mt_net_params(net), params_from, mt_net_param_count(net) * sizeof(float));
    else
        gc_fill_normal(mt_net_params(net), mt_net_param_count(net), 4, 0);
    return net;
}

static double rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0, scale = 1e-12;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return worst / scale;
}

START_TEST(winograd_matches_direct)
{
    int yd, yw;
    setenv("MUTAU_CONV_ALG", "direct", 1);
    mt_net *d = two_convs(NULL, &yd);
    /* forced: a timed choice could take direct for so small a shape */
    setenv("MUTAU_CONV_ALG", "winograd", 1);
    mt_net *w = two_convs(mt_net_params(d), &yw);
    unsetenv("MUTAU_CONV_ALG");
    const size_t nx = 2 * 16 * 8 * 8, ny = 2 * 32 * 8 * 8, np = mt_net_param_count(d);
    float *x = malloc(nx * sizeof *x), *R = malloc(ny * sizeof *R);
    float *buf[2][3];
    gc_fill_normal(x, nx, 4, 1);
    gc_fill_normal(R, ny, 4, 2);
    mt_net *nets[2] = {d, w};
    int ys[2] = {yd, yw};
    for (int k = 0; k < 2; k++) {
        buf[k][0] = malloc(ny * sizeof(float));
        buf[k][1] = malloc(np * sizeof(float));
        buf[k][2] = malloc(nx * sizeof(float));
        ck_assert_int_eq(mt_net_set_input(nets[k], x, 2, NULL), MT_OK);
        ck_assert_int_eq(mt_net_forward(nets[k], 1), MT_OK);
        ck_assert_int_eq(mt_net_read(nets[k], ys[k], buf[k][0]), MT_OK);
        ck_assert_int_eq(mt_net_backward_from(nets[k], ys[k], R), MT_OK);
        memcpy(buf[k][1], mt_net_grads(nets[k]), np * sizeof(float));
        ck_assert_int_eq(mt_net_read_diff(nets[k], mt_net_input(nets[k]), buf[k][2]), MT_OK);
    }
    const char *what[3] = {"output", "parameter gradient", "input gradient"};
    const size_t len[3] = {ny, np, nx};
    for (int j = 0; j < 3; j++) {
        double r = rel_diff(buf[1][j], buf[0][j], len[j]);
        ck_assert_msg(r < 1e-4, "%s: Winograd differs from direct by %g of its scale", what[j], r);
        free(buf[0][j]);
        free(buf[1][j]);
    }
    free(x);
    free(R);
    mt_net_free(d);
    mt_net_free(w);
}
END_TEST

/* ---- batch norm ----------------------------------------------------------- */

static const int bn_shapes[][5] = {
    /* n, c, h, w, relu */
    {1, 3, 5, 5, 0}, {4, 17, 3, 3, 1}, {2, 16, 4, 3, 0}, {3, 32, 2, 2, 1},
};

START_TEST(bn_gradients)
{
    const int *s = bn_shapes[_i];
    mt_net *net = new_net(s[0], s[1], s[2], s[3]);
    int x = mt_net_input(net);
    if (s[1] % 16 == 0)
        x = mt_conv(net, x, s[1], 1, 1, 0, 1); /* blocked input */
    int y = mt_batchnorm(net, x, s[4]);
    check_net(net, y, s[4] ? KINKS : 0, 200 + _i);
}
END_TEST

START_TEST(bn_statistics_match_reference)
{
    const int n = 3, c = 4, h = 3, w = 5;
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, n, c, h, w), MT_OK);
    int y = mt_batchnorm_ex(net, mt_net_input(net), 0, 0.25f, 1e-5f);
    ck_assert_int_eq(mt_net_finalize(net, NULL, NULL, NULL), MT_OK);
    mt_rng r;
    mt_rng_seed(&r, 5, 0);
    ck_assert_int_eq(mt_net_init(net, &r), MT_OK);
    float *p = mt_net_params(net), *st = mt_net_state(net);
    for (int i = 0; i < c; i++) {
        p[i] = 0.5f + i; /* scale */
        p[c + i] = -1.0f + i; /* shift */
    }
    float x[3 * 4 * 3 * 5], out[3 * 4 * 3 * 5];
    gc_fill_normal(x, sizeof x / sizeof *x, 5, 1);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = 2 * x[i] + 1;
    ck_assert_int_eq(mt_net_set_input(net, x, n, NULL), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 1), MT_OK);
    ck_assert_int_eq(mt_net_read(net, y, out), MT_OK);
    double worst = 0, m = n * h * w;
    for (int ch = 0; ch < c; ch++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < h * w; k++)
                s += x[(i * c + ch) * h * w + k];
        double mean = s / m;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < h * w; k++) {
                double d = x[(i * c + ch) * h * w + k] - mean;
                s2 += d * d;
            }
        double var = s2 / m;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < h * w; k++) {
                int j = (i * c + ch) * h * w + k;
                double ref = (x[j] - mean) / sqrt(var + 1e-5) * p[ch] + p[c + ch];
                worst = fmax(worst, fabs(ref - out[j]));
            }
        /* running = 0.75 running + 0.25 batch, variance unbiased */
        ck_assert_double_eq_tol(st[ch], 0.25 * mean, 1e-5);
        ck_assert_double_eq_tol(st[c + ch], 0.75 + 0.25 * var * m / (m - 1), 1e-5);
    }
    ck_assert_msg(worst < 1e-4, "training output off by %g", worst);
    /* Inference uses the running statistics. */
    ck_assert_int_eq(mt_net_forward(net, 0), MT_OK);
    ck_assert_int_eq(mt_net_read(net, y, out), MT_OK);
    worst = 0;
    for (int ch = 0; ch < c; ch++)
        for (int i = 0; i < n; i++)
            for (int k = 0; k < h * w; k++) {
                int j = (i * c + ch) * h * w + k;
                double ref = (x[j] - st[ch]) / sqrt(st[c + ch] + 1e-5) * p[ch] + p[c + ch];
                worst = fmax(worst, fabs(ref - out[j]));
            }
    ck_assert_msg(worst < 1e-4, "inference output off by %g", worst);
    mt_net_free(net);
}
END_TEST

/* ---- ReLU, add, shortcut, pooling, linear -------------------------------- */

START_TEST(relu_gradients)
{
    mt_net *net = new_net(_i ? 2 : 1, 5, 4, 3);
    int x = mt_conv(net, mt_net_input(net), _i ? 16 : 7, 3, 1, 1, 1);
    check_net(net, mt_relu(net, x), KINKS, 300 + _i);
}
END_TEST

START_TEST(add_gradients)
{
    /* _i = 0: two branches; 1: x + conv(x), so the input's gradient is summed
     * from two consumers; 2: with ReLU on blocked layouts. */
    mt_net *net = new_net(2, _i == 2 ? 16 : 3, 5, 5);
    int x = mt_net_input(net), c = _i == 2 ? 16 : 3;
    int a = mt_conv(net, x, c, 3, 1, 1, 1);
    int b = _i == 0 ? mt_conv(net, x, c, 1, 1, 0, 1) : x;
    check_net(net, mt_add(net, a, b, _i != 0), KINKS, 400 + _i);
}
END_TEST

START_TEST(shortcut_gradients)
{
    /* Blocked (after a 16-channel conv) and plain input, odd sizes. */
    mt_net *net = new_net(2, _i ? 3 : 4, 7, 5);
    int x = mt_net_input(net);
    if (!_i)
        x = mt_conv(net, x, 16, 3, 1, 1, 0);
    int y = mt_shortcut_pad(net, x, _i ? 8 : 32, 2);
    int s[4];
    mt_net_shape(net, y, s);
    ck_assert_int_eq(s[2], 4);
    ck_assert_int_eq(s[3], 3);
    check_net(net, y, 0, 500 + _i);
}
END_TEST

START_TEST(shortcut_pads_zero_channels)
{
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, 1, 2, 3, 3), MT_OK);
    int y = mt_shortcut_pad(net, mt_net_input(net), 4, 2);
    ck_assert_int_eq(mt_net_finalize(net, NULL, NULL, NULL), MT_OK);
    float x[18], out[16];
    for (int i = 0; i < 18; i++)
        x[i] = (float)(i + 1);
    ck_assert_int_eq(mt_net_set_input(net, x, 1, NULL), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 0), MT_OK);
    ck_assert_int_eq(mt_net_read(net, y, out), MT_OK);
    /* channel 0 and 3 are zero; channels 1, 2 are x's channels 0, 1 at (0,0),
     * (0,2), (2,0), (2,2). */
    const float want[16] = {0, 0, 0, 0, 1, 3, 7, 9, 10, 12, 16, 18, 0, 0, 0, 0};
    for (int i = 0; i < 16; i++)
        ck_assert_float_eq(out[i], want[i]);
    mt_net_free(net);
}
END_TEST

/* On blocked layouts (after a conv of 16 or more channels) the shortcut
 * copies exactly, forward and backward, in fp32 and bf16: against its
 * definition on the NCHW values, for channel offsets of a whole block (16),
 * half a block (8) and neither (10, 2, 3), inputs with a partial block (20
 * channels), strides 1, 2 and 3. */
static const int pad_cases[][3] = {{16, 32, 2}, {16, 48, 1}, {20, 40, 2},
                                   {32, 64, 2}, {16, 20, 2}, {20, 26, 3}};

START_TEST(shortcut_copies_exactly)
{
    int c = pad_cases[_i / 2][0], oc = pad_cases[_i / 2][1], S = pad_cases[_i / 2][2];
    int bf = _i % 2, n = 2, h = 7, w = 5, oh = (h + S - 1) / S, ow = (w + S - 1) / S;
    int p0 = (oc - c) / 2;
    if (bf && !mt_bf16_supported())
        return;
    mt_net *net = new_net(n, 3, h, w);
    ck_assert_int_eq(mt_net_keep_activations(net, 1), MT_OK);
    ck_assert_int_eq(mt_net_keep_grads(net, 1), MT_OK);
    if (bf)
        ck_assert_int_eq(mt_net_set_precision(net, MT_BF16), MT_OK);
    int x = mt_conv(net, mt_net_input(net), c, 3, 1, 1, 0);
    int y = mt_shortcut_pad(net, x, oc, S);
    ck_assert_msg(y >= 0 && mt_net_finalize(net, NULL, NULL, NULL) == MT_OK, "%s", mt_errmsg());
    mt_rng g;
    mt_rng_seed(&g, 700 + (uint64_t)_i, 0);
    ck_assert_int_eq(mt_net_init(net, &g), MT_OK);
    size_t nx = (size_t)n * c * h * w, ny = (size_t)n * oc * oh * ow;
    float *in = malloc(sizeof *in * n * 3 * h * w), *xs = malloc(sizeof *xs * nx);
    float *ys = malloc(sizeof *ys * ny), *dy = malloc(sizeof *dy * ny);
    float *dx = malloc(sizeof *dx * nx);
    ck_assert(in && xs && ys && dy && dx);
    for (int i = 0; i < n * 3 * h * w; i++)
        in[i] = (float)mt_rng_normal(&g);
    for (size_t i = 0; i < ny; i++)
        dy[i] = (float)((int)(i % 251) - 125) / 8; /* exact in bf16 too */
    ck_assert_int_eq(mt_net_set_input(net, in, n, NULL), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 1), MT_OK);
    ck_assert_int_eq(mt_net_read(net, x, xs), MT_OK);
    ck_assert_int_eq(mt_net_read(net, y, ys), MT_OK);
    ck_assert_int_eq(mt_net_backward_from(net, y, dy), MT_OK);
    ck_assert_int_eq(mt_net_read_diff(net, x, dx), MT_OK);
    for (int b = 0; b < n; b++)
        for (int o = 0; o < oc; o++)
            for (int i = 0; i < oh * ow; i++) {
                int ic = o - p0, hh = i / ow * S, ww = i % ow * S;
                float want = ic >= 0 && ic < c ? xs[(((size_t)b * c + ic) * h + hh) * w + ww] : 0;
                float got = ys[((size_t)b * oc + o) * oh * ow + i];
                ck_assert_msg(memcmp(&got, &want, sizeof got) == 0,
                              "case %d: y[%d, %d, %d] = %g, not %g", _i, b, o, i, got, want);
            }
    for (int b = 0; b < n; b++)
        for (int ic = 0; ic < c; ic++)
            for (int i = 0; i < h * w; i++) {
                int hh = i / w, ww = i % w;
                float want = hh % S || ww % S
                                 ? 0
                                 : dy[(((size_t)b * oc + ic + p0) * oh + hh / S) * ow + ww / S];
                float got = dx[((size_t)b * c + ic) * h * w + i];
                ck_assert_msg(memcmp(&got, &want, sizeof got) == 0,
                              "case %d: dx[%d, %d, %d] = %g, not %g", _i, b, ic, i, got, want);
            }
    free(in), free(xs), free(ys), free(dy), free(dx);
    mt_net_free(net);
}
END_TEST

START_TEST(pool_gradients)
{
    /* 0: max 3/2/1, 1: avg 3/2/1, 2: max 2/2/0 on blocked, 3: global avg */
    mt_net *net = new_net(2, 3, 7, 6);
    int x = mt_conv(net, mt_net_input(net), _i == 2 ? 16 : 5, 3, 1, 1, 1);
    int y = _i == 0   ? mt_maxpool(net, x, 3, 2, 1)
            : _i == 1 ? mt_avgpool(net, x, 3, 2, 1)
            : _i == 2 ? mt_maxpool(net, x, 2, 2, 0)
                      : mt_global_avgpool(net, x);
    check_net(net, y, _i == 1 || _i == 3 ? 0 : KINKS, 600 + _i);
}
END_TEST

START_TEST(linear_gradients)
{
    /* 0: straight from a plain input; 1: after a blocked conv and pooling */
    mt_net *net = new_net(_i ? 3 : 1, 5, 3, 3);
    int x = mt_net_input(net);
    if (_i)
        x = mt_global_avgpool(net, mt_conv(net, x, 16, 3, 1, 1, 0));
    check_net(net, mt_linear(net, x, 7, 1), 0, 700 + _i);
}
END_TEST

/* ---- the loss ------------------------------------------------------------- */

typedef struct {
    mt_net *net;
    float *x;
    int *labels;
} loss_ctx;

static double loss_of(void *p)
{
    loss_ctx *c = p;
    mt_net_set_input(c->net, c->x, mt_net_batch(c->net), c->labels);
    mt_net_forward(c->net, 1);
    return mt_net_loss(c->net);
}

START_TEST(softmax_xent_value_and_gradients)
{
    const int n = 4, K = 5;
    const float s = _i ? 0.1f : 0.0f;
    mt_net *net = new_net(n, 6, 1, 1);
    int z = mt_linear(net, mt_net_input(net), K, 1);
    ck_assert_int_ge(mt_softmax_xent(net, z, s), 0);
    ck_assert_int_eq(mt_net_finalize(net, NULL, NULL, NULL), MT_OK);
    mt_rng r;
    mt_rng_seed(&r, 8, 0);
    mt_net_init(net, &r);
    float x[4 * 6], logits[4 * 5];
    int labels[4] = {0, 4, 2, 2};
    gc_fill_normal(x, 24, 8, 1);
    for (int i = 0; i < 24; i++)
        x[i] *= 3; /* large logits: the stable form matters */
    loss_ctx c = {net, x, labels};
    double L = loss_of(&c);
    ck_assert_int_eq(mt_net_read(net, z, logits), MT_OK);
    double ref = 0;
    for (int i = 0; i < n; i++) {
        double m = -INFINITY, sum = 0;
        for (int k = 0; k < K; k++)
            m = fmax(m, logits[i * K + k]);
        for (int k = 0; k < K; k++)
            sum += exp(logits[i * K + k] - m);
        for (int k = 0; k < K; k++) {
            double t = s / K + (k == labels[i] ? 1 - s : 0);
            ref -= t * (logits[i * K + k] - m - log(sum));
            ck_assert_double_eq_tol(mt_net_probs(net)[i * K + k],
                                    exp(logits[i * K + k] - m) / sum, 1e-6);
        }
    }
    ck_assert_double_eq_tol(L, ref / n, 1e-5);
    ck_assert_int_eq(mt_net_backward(net), MT_OK);
    size_t np = mt_net_param_count(net);
    float *g = malloc(np * sizeof *g), gx[24];
    memcpy(g, mt_net_grads(net), np * sizeof *g);
    ck_assert_int_eq(mt_net_read_diff(net, mt_net_input(net), gx), MT_OK);
    gc_report rep;
    ck_assert_uint_eq(gc_compare(loss_of, &c, mt_net_params(net), g, np, EPS, 100, 1, 2e-3, 1e-2,
                                 &rep),
                      0);
    ck_assert_uint_eq(gc_compare(loss_of, &c, x, gx, 24, EPS, 100, 2, 2e-3, 1e-2, &rep), 0);
    free(g);
    mt_net_free(net);
}
END_TEST

START_TEST(accuracy_counts_top_k)
{
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, 3, 4, 1, 1), MT_OK);
    int z = mt_linear(net, mt_net_input(net), 4, 0);
    ck_assert_int_ge(mt_softmax_xent(net, z, 0), 0);
    ck_assert_int_eq(mt_net_finalize(net, NULL, NULL, NULL), MT_OK);
    float *W = mt_net_params(net);
    for (int i = 0; i < 16; i++)
        W[i] = i % 5 == 0; /* identity: logits = x */
    const float x[12] = {4, 3, 2, 1, 1, 2, 3, 4, 0, 9, 5, 7};
    const int labels[3] = {0, 2, 2};
    ck_assert_int_eq(mt_net_set_input(net, x, 3, labels), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 0), MT_OK);
    ck_assert_int_eq(mt_net_correct(net, 1), 1); /* sample 0 */
    ck_assert_int_eq(mt_net_correct(net, 2), 2); /* + sample 1 */
    ck_assert_int_eq(mt_net_correct(net, 3), 3); /* + sample 2 */
    /* A diverged net's NaN outputs are never correct. */
    W[0] = NAN;
    int rc = mt_net_forward(net, 0);
    ck_assert_msg(rc == MT_OK || rc == MT_ERR_DIVERGED, "forward: %d %s", rc, mt_errmsg());
    ck_assert_int_eq(mt_net_correct(net, 1), 0);
    ck_assert_int_eq(mt_net_correct(net, 4), 0);
    mt_net_free(net);
}
END_TEST

/* ---- bad arguments -------------------------------------------------------- */

static void expect_error(int rc, const char *what)
{
    ck_assert_msg(rc < 0, "%s: expected an error, got %d", what, rc);
    ck_assert_msg(strlen(mt_errmsg()) > 0, "%s: no message", what);
}

START_TEST(bad_arguments_return_errors)
{
    mt_net *net = NULL;
    mt_clear_error();
    expect_error(mt_net_create(&net, 0, 3, 8, 8), "batch 0");
    ck_assert_ptr_null(net);
    expect_error(mt_net_create(NULL, 1, 3, 8, 8), "null out");
    ck_assert_int_eq(mt_net_create(&net, 2, 3, 8, 8), MT_OK);
    int x = mt_net_input(net);
    expect_error(mt_conv(net, x, 4, 11, 1, 0, 0), "kernel larger than input");
    ck_assert_msg(strstr(mt_errmsg(), "kernel") != NULL, "message: %s", mt_errmsg());
    expect_error(mt_conv(net, x, 0, 3, 1, 1, 0), "zero channels");
    expect_error(mt_conv(net, 99, 4, 3, 1, 1, 0), "unknown tensor");
    expect_error(mt_linear(net, x, 0, 1), "zero features");
    expect_error(mt_maxpool(net, x, 0, 1, 0), "pool kernel 0");
    mt_net_free(net);

    /* A failed call's status flows through later calls and finalize. */
    ck_assert_int_eq(mt_net_create(&net, 2, 3, 8, 8), MT_OK);
    x = mt_net_input(net);
    int a = mt_conv(net, x, 4, 3, 1, 1, 0);
    int b = mt_conv(net, x, 5, 3, 1, 1, 0);
    int bad = mt_add(net, a, b, 1);
    expect_error(bad, "add of different shapes");
    ck_assert_int_eq(mt_batchnorm(net, bad, 1), bad);
    expect_error(mt_net_finalize(net, NULL, NULL, NULL), "finalize after a failure");
    mt_net_free(net);

    ck_assert_int_eq(mt_net_create(&net, 2, 3, 4, 4), MT_OK);
    int z = mt_linear(net, mt_net_input(net), 3, 1);
    ck_assert_int_ge(mt_softmax_xent(net, z, 0.0f), 0);
    expect_error(mt_net_set_input(net, (float[48]){0}, 2, NULL), "input before finalize");
    ck_assert_int_eq(mt_net_finalize(net, NULL, NULL, NULL), MT_OK);
    expect_error(mt_conv(net, z, 4, 1, 1, 0, 0), "adding to a finalized net");
    expect_error(mt_net_backward(net), "backward before forward");
    expect_error(mt_net_set_input(net, NULL, 2, NULL), "null input");
    expect_error(mt_net_set_input(net, (float[96]){0}, 3, NULL), "more than the batch");
    expect_error(mt_net_set_input(net, (float[96]){0}, 2, (int[2]){0, 3}), "label 3 of 3");
    ck_assert_int_eq(mt_net_set_input(net, (float[96]){0}, 1, (int[1]){1}), MT_OK);
    expect_error(mt_net_forward(net, 1), "training on a partial batch");
    ck_assert_int_eq(mt_net_forward(net, 0), MT_OK);
    expect_error(mt_net_read(net, 42, (float[8]){0}), "read of an unknown tensor");
    expect_error(mt_net_read(net, z, NULL), "read into NULL");
    expect_error(mt_net_correct(net, 0), "top-0");
    expect_error(mt_net_init(net, NULL), "init without rng");
    mt_net_free(net);
    mt_net_free(NULL);

    ck_assert_int_eq(mt_net_create(&net, 2, 3, 4, 4), MT_OK);
    z = mt_linear(net, mt_net_input(net), 3, 1);
    ck_assert_int_ge(mt_softmax_xent(net, z, 0.0f), 0);
    expect_error(mt_softmax_xent(net, z, 0.0f), "second loss");
    expect_error(mt_net_finalize(net, NULL, NULL, NULL), "finalize after a rejected layer");
    mt_net_free(net);
}
END_TEST

Suite *nn_suite(void);
Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *t = tcase_create("layers");
    tcase_set_timeout(t, 60);
    tcase_add_loop_test(t, conv_gradients, 0, sizeof conv_shapes / sizeof *conv_shapes);
    tcase_add_loop_test(t, conv_matches_reference_and_layout_is_oihw, 0, 2);
    tcase_add_test(t, winograd_matches_direct);
    tcase_add_loop_test(t, bn_gradients, 0, sizeof bn_shapes / sizeof *bn_shapes);
    tcase_add_test(t, bn_statistics_match_reference);
    tcase_add_loop_test(t, relu_gradients, 0, 2);
    tcase_add_loop_test(t, add_gradients, 0, 3);
    tcase_add_loop_test(t, shortcut_gradients, 0, 2);
    tcase_add_test(t, shortcut_pads_zero_channels);
    tcase_add_loop_test(t, shortcut_copies_exactly, 0, 2 * sizeof pad_cases / sizeof *pad_cases);
    tcase_add_loop_test(t, pool_gradients, 0, 4);
    tcase_add_loop_test(t, linear_gradients, 0, 2);
    tcase_add_loop_test(t, softmax_xent_value_and_gradients, 0, 2);
    tcase_add_test(t, accuracy_counts_top_k);
    tcase_add_test(t, bad_arguments_return_errors);
    suite_add_tcase(s, t);
    return s;
}

MT_CHECK_MAIN(nn_suite)
