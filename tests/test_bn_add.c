/* test_bn_add.c: the fused batch norm + residual add (nn/bn_add.c) against
 * finite differences and against the two layers it replaces, oneDNN's batch
 * norm then the add, in fp32 and bf16: outputs, running statistics,
 * gradients, inference, the net's signature; the same bits at one and two
 * threads; bad arguments.
 */
#include "check_main.h"
#include "core/status.h"
#include "gradcheck.h"
#include "nn/bn_add_passes.h"
#include "nn/net.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { POINTS = 40, KINKS = 3 };
static const float EPS = 1e-3f;
static const double ATOL = 2e-2, RTOL = 2e-2;

/* The shapes: n, c, h, w, relu, whether s comes through a conv (in x's
 * layout) or is the net's input (plain NCHW fp32: reordered into x's
 * layout), x's channels (0: c). oneDNN gives x in nChw16c (padded for 20),
 * nhwc for 16 channels out of 1 at 8x8. */
static const int shapes[][7] = {
    {2, 16, 5, 5, 1, 1, 0}, {3, 16, 4, 3, 0, 1, 0}, {2, 20, 3, 3, 1, 1, 0},
    {2, 32, 2, 3, 1, 1, 0}, {2, 16, 4, 4, 1, 0, 0}, {3, 3, 4, 5, 0, 0, 0},
    {32, 1, 8, 8, 0, 1, 16},
};
enum { N_SHAPES = sizeof shapes / sizeof *shapes };

/* x = conv(input), s = conv(input) or the input; then either the fused layer
 * or batch norm then add. Returns the output tensor. */
static int build(mt_net *net, const int *sh, int fused)
{
    int in = mt_net_input(net), c = sh[6] ? sh[6] : sh[1];
    int x = mt_conv(net, in, c, 3, 1, 1, 0);
    int s = sh[5] ? mt_conv(net, in, c, 1, 1, 0, 1) : in;
    if (fused)
        return mt_batchnorm_add(net, x, s, sh[4]);
    return mt_add(net, mt_batchnorm(net, x, 0), s, sh[4]);
}

static mt_net *make(const int *sh, int fused, int precision, int *out)
{
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, sh[0], sh[1], sh[2], sh[3]), MT_OK);
    ck_assert_int_eq(mt_net_want_input_grad(net, 1), MT_OK);
    ck_assert_int_eq(mt_net_set_precision(net, precision), MT_OK);
    ck_assert_int_eq(mt_net_keep_grads(net, 1), MT_OK);
    *out = build(net, sh, fused);
    ck_assert_msg(*out >= 0, "builder: %s", mt_errmsg());
    ck_assert_msg(mt_net_finalize(net, NULL, NULL, NULL) == MT_OK, "finalize: %s", mt_errmsg());
    return net;
}

/* Random parameters (batch-norm scale and shift too) and running statistics. */
static void randomize(mt_net *net, uint64_t seed)
{
    mt_rng r;
    mt_rng_seed(&r, seed, 0);
    ck_assert_int_eq(mt_net_init(net, &r), MT_OK);
    float *p = mt_net_params(net), *st = mt_net_state(net);
    for (size_t i = 0; i < mt_net_param_count(net); i++)
        p[i] += 0.3f * (float)mt_rng_normal(&r);
    for (size_t i = 0; i < mt_net_state_count(net); i++)
        st[i] = 0.5f + (float)mt_rng_uniform(&r);
}

START_TEST(gradients)
{
    const int *sh = shapes[_i];
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, sh[0], sh[1], sh[2], sh[3]), MT_OK);
    ck_assert_int_eq(mt_net_want_input_grad(net, 1), MT_OK);
    int y = build(net, sh, 1);
    ck_assert_msg(y >= 0, "builder: %s", mt_errmsg());
    ck_assert_msg(mt_net_finalize(net, NULL, NULL, NULL) == MT_OK, "finalize: %s", mt_errmsg());
    randomize(net, 700 + _i);
    size_t nx = (size_t)sh[0] * sh[1] * sh[2] * sh[3];
    float *x = malloc(nx * sizeof *x);
    gc_fill_normal(x, nx, 700 + _i, 9);
    gc_report rep;
    size_t failed = gc_net_check(net, y, x, NULL, EPS, POINTS, 700 + _i, ATOL, RTOL, &rep);
    ck_assert_msg(failed != (size_t)-1, "gradcheck: %s", mt_errmsg());
    ck_assert_msg(rep.checked > 0, "nothing checked");
    /* ReLU kinks: a difference quotient across one is wrong, not the gradient */
    ck_assert_msg(failed <= (size_t)(sh[4] ? KINKS : 0),
                  "%zu of %zu coordinates off; worst in %s[%zu]: analytic %.6g numeric %.6g",
                  failed, rep.checked, rep.what, rep.worst, rep.worst_analytic,
                  rep.worst_numeric);
    free(x);
    mt_net_free(net);
}
END_TEST

/* Everything a step produces, read in NCHW fp32. */
typedef struct {
    float *out, *dx, *grads, *state, *infer;
    size_t n_out, n_x, n_param, n_state;
} result;

static void run(mt_net *net, int y, const int *sh, uint64_t seed, result *r)
{
    size_t nx = (size_t)sh[0] * sh[1] * sh[2] * sh[3];
    r->n_x = nx;
    r->n_out = (size_t)sh[0] * (sh[6] ? sh[6] : sh[1]) * sh[2] * sh[3];
    r->n_param = mt_net_param_count(net);
    r->n_state = mt_net_state_count(net);
    r->out = malloc(r->n_out * sizeof(float));
    r->infer = malloc(r->n_out * sizeof(float));
    r->dx = malloc(nx * sizeof(float));
    r->grads = malloc(r->n_param * sizeof(float));
    r->state = malloc(r->n_state * sizeof(float));
    float *x = malloc(nx * sizeof *x), *dy = malloc(r->n_out * sizeof *dy);
    gc_fill_normal(x, nx, seed, 1);
    gc_fill_normal(dy, r->n_out, seed, 2);
    ck_assert_int_eq(mt_net_set_input(net, x, sh[0], NULL), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 1), MT_OK);
    ck_assert_int_eq(mt_net_read(net, y, r->out), MT_OK);
    ck_assert_msg(mt_net_backward_from(net, y, dy) == MT_OK, "backward: %s", mt_errmsg());
    ck_assert_int_eq(mt_net_read_diff(net, mt_net_input(net), r->dx), MT_OK);
    memcpy(r->grads, mt_net_grads(net), r->n_param * sizeof(float));
    memcpy(r->state, mt_net_state(net), r->n_state * sizeof(float));
    ck_assert_int_eq(mt_net_forward(net, 0), MT_OK);
    ck_assert_int_eq(mt_net_read(net, y, r->infer), MT_OK);
    free(x);
    free(dy);
}

static void result_free(result *r)
{
    free(r->out);
    free(r->infer);
    free(r->dx);
    free(r->grads);
    free(r->state);
}

/* max |a - b| over max |b|, or (l2) |a - b| over |b| in the 2-norm */
static double rel(const float *a, const float *b, size_t n, int l2)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]), v = fabs((double)b[i]);
        d = l2 ? d + e * e : fmax(d, e);
        s = l2 ? s + v * v : fmax(s, v);
    }
    return s > 0 ? (l2 ? sqrt(d / s) : d / s) : d;
}

static void compare_with_unfused(int shape, int precision, double tol)
{
    const int *sh = shapes[shape];
    int yf, yu;
    mt_net *f = make(sh, 1, precision, &yf), *u = make(sh, 0, precision, &yu);
    ck_assert_uint_eq(mt_net_signature(f), mt_net_signature(u));
    ck_assert_uint_eq(mt_net_param_count(f), mt_net_param_count(u));
    ck_assert_uint_eq(mt_net_state_count(f), mt_net_state_count(u));
    randomize(u, 800 + shape);
    memcpy(mt_net_params(f), mt_net_params(u), mt_net_param_count(u) * sizeof(float));
    memcpy(mt_net_state(f), mt_net_state(u), mt_net_state_count(u) * sizeof(float));
    result rf, ru;
    run(f, yf, sh, 900 + shape, &rf);
    run(u, yu, sh, 900 + shape, &ru);
    const struct {
        const char *what;
        const float *a, *b;
        size_t n;
    } cmp[] = {{"output", rf.out, ru.out, rf.n_out},
               {"input gradient", rf.dx, ru.dx, rf.n_x},
               {"parameter gradients", rf.grads, ru.grads, rf.n_param},
               {"running statistics", rf.state, ru.state, rf.n_state},
               {"inference output", rf.infer, ru.infer, rf.n_out}};
    for (size_t i = 0; i < sizeof cmp / sizeof *cmp; i++) {
        double r = rel(cmp[i].a, cmp[i].b, cmp[i].n, precision == MT_BF16);
        ck_assert_msg(r <= tol, "shape %d, %s: %s differs from batch norm then add by %.3g",
                      shape, mt_precision_name(precision), cmp[i].what, r);
    }
    result_free(&rf);
    result_free(&ru);
    mt_net_free(f);
    mt_net_free(u);
}

START_TEST(matches_batchnorm_then_add)
{
    compare_with_unfused(_i, MT_FP32, 2e-5);
}
END_TEST

START_TEST(matches_batchnorm_then_add_bf16)
{
    if (!mt_bf16_supported())
        return;
    /* Both round to bf16, at different points (the fused layer rounds an
     * fp32 s to bf16 before the add, the two layers after it), and where an
     * output is near 0 the ReLU's mask can differ: a few bf16 ulps (2^-8)
     * over the whole tensor, in the 2-norm. */
    compare_with_unfused(_i, MT_BF16, 2e-2);
}
END_TEST

/* The sums are per image and combined in image order: the thread count
 * changes nothing. */
START_TEST(same_bits_at_any_thread_count)
{
    const int sh[7] = {4, 32, 6, 6, 1, 1, 0};
    int precision = _i ? MT_BF16 : MT_FP32;
    if (precision == MT_BF16 && !mt_bf16_supported())
        return;
    result r[2];
    for (int t = 0; t < 2; t++) {
        omp_set_num_threads(t + 1);
        int y;
        mt_net *net = make(sh, 1, precision, &y);
        randomize(net, 42);
        run(net, y, sh, 43, &r[t]);
        mt_net_free(net);
    }
    omp_set_num_threads(1);
    ck_assert(memcmp(r[0].out, r[1].out, r[0].n_out * sizeof(float)) == 0);
    ck_assert(memcmp(r[0].dx, r[1].dx, r[0].n_x * sizeof(float)) == 0);
    /* the layer's own scale and shift, declared last (oneDNN's bf16
     * convolution sums its weight gradient in a thread-dependent order) */
    size_t own = 2 * (size_t)sh[1], at = r[0].n_param - own;
    ck_assert(memcmp(r[0].grads + at, r[1].grads + at, own * sizeof(float)) == 0);
    ck_assert(memcmp(r[0].state, r[1].state, r[0].n_state * sizeof(float)) == 0);
    result_free(&r[0]);
    result_free(&r[1]);
}
END_TEST

/* ---- the passes in each layout ------------------------------------------ */

enum { PN = 3, PC = 32, PH = 5, PW = 7, PHW = PH * PW, PE = PN * PC * PHW };

/* The chunks of an fp32 (PN, PC, PH, PW) tensor in layout `lay` (0: nChw16c,
 * 1: nhwc, 2: nchw) and where element (n, c, p) lives. */
static mt_bn_chunks layout_chunks(int lay)
{
    if (lay == 0)
        return (mt_bn_chunks){PN, PC / 16, 16, PHW, (size_t)PC * PHW, 16 * PHW, 0};
    if (lay == 1)
        return (mt_bn_chunks){PN, 1, PC, PHW, (size_t)PC * PHW, 0, 0};
    return (mt_bn_chunks){PN, PC, 1, PHW, (size_t)PC * PHW, PHW, 0};
}

static size_t at(int lay, int n, int c, int p)
{
    size_t img = (size_t)n * PC * PHW;
    if (lay == 0)
        return img + (size_t)(c / 16) * 16 * PHW + (size_t)p * 16 + c % 16;
    if (lay == 1)
        return img + (size_t)p * PC + c;
    return img + (size_t)c * PHW + p;
}

/* NCHW in, layout `lay` out, and back. */
static void to_layout(int lay, float *dst, const float *nchw)
{
    for (int n = 0; n < PN; n++)
        for (int c = 0; c < PC; c++)
            for (int p = 0; p < PHW; p++)
                dst[at(lay, n, c, p)] = nchw[((size_t)n * PC + c) * PHW + p];
}

static void from_layout(int lay, float *nchw, const float *src)
{
    for (int n = 0; n < PN; n++)
        for (int c = 0; c < PC; c++)
            for (int p = 0; p < PHW; p++)
                nchw[((size_t)n * PC + c) * PHW + p] = src[at(lay, n, c, p)];
}

/* Every pass on the same values in three layouts: the 16-lane path, the
 * general one and single lanes sum each channel in the same pixel order, so
 * all agree bit for bit; the moments match a direct sum in double. */
START_TEST(passes_agree_across_layouts)
{
    static float in[4][PE], lay_in[4][PE], out[3][3][PE];
    static double mean[3][PN * PC], m2[3][PN * PC], sg[3][PN * PC], sgx[3][PN * PC];
    for (int i = 0; i < 4; i++)
        gc_fill_normal(in[i], PE, 77, (uint64_t)i);
    float a[PC], b[PC], mu[PC], k1[PC], k2[PC], k0[PC];
    for (int c = 0; c < PC; c++) {
        a[c] = 0.5f + 0.03f * c;
        b[c] = 0.1f * c - 1;
        mu[c] = 0.01f * c;
        k1[c] = 1.5f - 0.02f * c;
        k2[c] = 0.2f + 0.01f * c;
        k0[c] = -0.3f + 0.02f * c;
    }
    for (int lay = 0; lay < 3; lay++) {
        mt_bn_chunks k = layout_chunks(lay);
        for (int i = 0; i < 4; i++)
            to_layout(lay, lay_in[i], in[i]);
        /* in: x, s, the output (for the mask), its gradient */
        static float y[PE], g[PE], dx[PE];
        mt_bn_chunk_moments(&k, lay_in[0], mean[lay], m2[lay]);
        mt_bn_add_apply(&k, y, lay_in[0], lay_in[1], a, b, 1);
        mt_bn_add_grad_sums(&k, g, lay_in[2], lay_in[3], lay_in[0], mu, 1, sg[lay], sgx[lay]);
        mt_bn_add_grad_input(&k, dx, g, lay_in[0], k1, k2, k0);
        from_layout(lay, out[lay][0], y);
        from_layout(lay, out[lay][1], g);
        from_layout(lay, out[lay][2], dx);
    }
    /* the sums are [n][channel] in every layout */
    for (int lay = 1; lay < 3; lay++) {
        ck_assert_msg(memcmp(mean[lay], mean[0], sizeof mean[0]) == 0, "layout %d: means", lay);
        ck_assert_msg(memcmp(m2[lay], m2[0], sizeof m2[0]) == 0, "layout %d: moments", lay);
        ck_assert_msg(memcmp(sg[lay], sg[0], sizeof sg[0]) == 0, "layout %d: gradient sums", lay);
        ck_assert_msg(memcmp(sgx[lay], sgx[0], sizeof sgx[0]) == 0, "layout %d: sums g x", lay);
        for (int j = 0; j < 3; j++)
            ck_assert_msg(memcmp(out[lay][j], out[0][j], sizeof out[0][j]) == 0,
                          "layout %d: pass %d's output", lay, j);
    }
    for (int n = 0; n < PN; n++)
        for (int c = 0; c < PC; c++) {
            const float *v = in[0] + ((size_t)n * PC + c) * PHW;
            double s = 0, d2 = 0, gs = 0;
            for (int p = 0; p < PHW; p++)
                s += v[p];
            for (int p = 0; p < PHW; p++)
                d2 += (v[p] - s / PHW) * (v[p] - s / PHW);
            for (int p = 0; p < PHW; p++) {
                size_t e = ((size_t)n * PC + c) * PHW + p;
                float want = in[2][e] > 0 ? in[3][e] : 0.0f;
                ck_assert_float_eq(out[0][1][e], want);
                gs += want;
            }
            ck_assert_double_eq_tol(mean[0][n * PC + c], s / PHW, 1e-6);
            ck_assert_double_eq_tol(m2[0][n * PC + c], d2, 1e-5 * d2);
            ck_assert_double_eq_tol(sg[0][n * PC + c], gs, 1e-5);
        }
}
END_TEST

START_TEST(bad_arguments)
{
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, 2, 16, 4, 4), MT_OK);
    int x = mt_conv(net, mt_net_input(net), 16, 3, 1, 1, 0);
    ck_assert_int_eq(mt_batchnorm_add(net, x, x, 1), MT_ERR_ARG);
    mt_net_free(net);
    ck_assert_int_eq(mt_net_create(&net, 2, 16, 4, 4), MT_OK);
    x = mt_conv(net, mt_net_input(net), 16, 3, 1, 1, 0);
    int s = mt_conv(net, mt_net_input(net), 32, 3, 1, 1, 0);
    ck_assert_int_eq(mt_batchnorm_add(net, x, s, 1), MT_ERR_ARG);
    mt_net_free(net);
    ck_assert_int_eq(mt_net_create(&net, 2, 16, 4, 4), MT_OK);
    x = mt_conv(net, mt_net_input(net), 16, 3, 1, 1, 0);
    s = mt_conv(net, mt_net_input(net), 16, 3, 1, 1, 0);
    ck_assert_int_eq(mt_batchnorm_add_ex(net, x, s, 1, 1.5f, 1e-5f), MT_ERR_ARG);
    mt_net_free(net);
}
END_TEST

static Suite *bn_add_suite(void)
{
    Suite *s = suite_create("bn_add");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 120);
    tcase_add_loop_test(t, gradients, 0, N_SHAPES);
    tcase_add_loop_test(t, matches_batchnorm_then_add, 0, N_SHAPES);
    tcase_add_loop_test(t, matches_batchnorm_then_add_bf16, 0, N_SHAPES);
    tcase_add_loop_test(t, same_bits_at_any_thread_count, 0, 2);
    tcase_add_test(t, passes_agree_across_layouts);
    tcase_add_test(t, bad_arguments);
    suite_add_tcase(s, t);
    return s;
}

MT_CHECK_MAIN(bn_add_suite)
