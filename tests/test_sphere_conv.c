/* test_sphere_conv.c: the SphereConv layer (nn/sphere_conv.h) and the
 * orthogonality penalty (nn/ortho_penalty.h).
 *
 * Forward values against a direct double-precision implementation written
 * here from the definition; gradients of sum(R .* y) for a fixed random R with
 * respect to the input, the weights and the learnable k against central
 * finite differences, for every operator, for plain and blocked (nChw16c)
 * input layouts, strided windows, patches nearly parallel or antiparallel to
 * a filter (c near +-1) and all-zero patches; the same for the
 * weight-normalised classifier (nn/weightnorm_linear.h). Tolerances are per coordinate:
 * |analytic - numeric| <= atol + rtol max(|analytic|, |numeric|); failures
 * print the worst coordinate.
 */
#include "core/rng.h"
#include "core/status.h"
#include "nn/net.h"
#include "nn/ortho_penalty.h"
#include "nn/sphere_conv.h"
#include "nn/weightnorm_linear.h"
#include "tests/check_main.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    mt_net *net;
    int in_id, mid_id, out_id;
    int n, c, h, w;
    size_t nx, ny, nmid;
    float *x, *r;
    mt_sphere_conv_cfg cfg;
    const char *label;
} fixture;

/* Adds the layer under test after tensor x; ctx is what it needs. */
typedef int (*layer_fn)(mt_net *net, int x, const void *ctx);

static int add_sphere(mt_net *net, int x, const void *ctx)
{
    return mt_sphere_conv_ex(net, x, ctx);
}

static void fill_normal(float *v, size_t n, uint64_t seed, uint64_t stream, float scale)
{
    mt_rng g;
    mt_rng_seed(&g, seed, stream);
    for (size_t i = 0; i < n; i++)
        v[i] = scale * (float)mt_rng_normal(&g);
}

/* Input (n, c, h, w) -> [plain 3x3 conv to pre_c channels, when pre_c > 0,
 * so that the layer reads oneDNN's blocked layout] -> the layer add() adds. */
static void build_with(fixture *f, int n, int c, int h, int w, int pre_c, layer_fn add,
                       const void *ctx, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->n = n, f->c = c, f->h = h, f->w = w;
    mt_set_threads(1); /* tiny tensors: threads only add waiting on a busy machine */
    ck_assert_int_eq(mt_net_create(&f->net, n, c, h, w), MT_OK);
    ck_assert_int_eq(mt_net_want_input_grad(f->net, 1), MT_OK);
    f->in_id = mt_net_input(f->net);
    f->mid_id = pre_c > 0 ? mt_conv(f->net, f->in_id, pre_c, 3, 1, 1, 0) : f->in_id;
    f->out_id = add(f->net, f->mid_id, ctx);
    ck_assert_msg(f->out_id >= 0, "build: %s", mt_errmsg());
    ck_assert_msg(mt_net_finalize(f->net, NULL, NULL, NULL) == MT_OK, "finalize: %s", mt_errmsg());
    mt_rng g;
    mt_rng_seed(&g, seed, 0);
    ck_assert_int_eq(mt_net_init(f->net, &g), MT_OK);
    int s[4];
    mt_net_shape(f->net, f->out_id, s);
    f->ny = (size_t)s[0] * s[1] * s[2] * s[3];
    mt_net_shape(f->net, f->mid_id, s);
    f->nmid = (size_t)s[0] * s[1] * s[2] * s[3];
    f->nx = (size_t)n * c * h * w;
    f->x = malloc(f->nx * sizeof *f->x);
    f->r = malloc(f->ny * sizeof *f->r);
    fill_normal(f->x, f->nx, seed, 1, 1.0f);
    fill_normal(f->r, f->ny, seed, 2, 1.0f);
}

static void build(fixture *f, int n, int c, int h, int w, int pre_c, const mt_sphere_conv_cfg *cfg,
                  uint64_t seed)
{
    build_with(f, n, c, h, w, pre_c, add_sphere, cfg, seed);
    f->cfg = *cfg;
    f->label = mt_sphere_op_name((mt_sphere_op)cfg->op);
}

static void release(fixture *f)
{
    mt_net_free(f->net);
    free(f->x);
    free(f->r);
}

static double objective(fixture *f)
{
    ck_assert_int_eq(mt_net_set_input(f->net, f->x, f->n, NULL), MT_OK);
    ck_assert_msg(mt_net_forward(f->net, 1) == MT_OK, "forward: %s", mt_errmsg());
    float *y = malloc(f->ny * sizeof *y);
    ck_assert_int_eq(mt_net_read(f->net, f->out_id, y), MT_OK);
    double s = 0.0;
    for (size_t i = 0; i < f->ny; i++) {
        ck_assert_msg(isfinite(y[i]), "output %zu is %g", i, y[i]);
        s += (double)f->r[i] * y[i];
    }
    free(y);
    return s;
}

/* Central differences at up to max_pts coordinates of v (every coordinate
 * when there are fewer) against ana. */
static void compare(fixture *f, float *v, const float *ana, size_t cnt, float eps, double atol,
                    double rtol, const char *what)
{
    size_t step = cnt > 40 ? cnt / 40 : 1;
    double worst = 0.0, wa = 0, wn = 0;
    size_t wi = 0;
    for (size_t i = 0; i < cnt; i += step) {
        ck_assert_msg(isfinite(ana[i]), "%s[%zu]: analytic gradient %g", what, i, ana[i]);
        float keep = v[i];
        v[i] = keep + eps;
        double fp = objective(f);
        v[i] = keep - eps;
        double fm = objective(f);
        v[i] = keep;
        double num = (fp - fm) / (2.0 * eps);
        double err = fabs(ana[i] - num) / (atol + rtol * fmax(fabs(ana[i]), fabs(num)));
        if (err > worst)
            worst = err, wi = i, wa = ana[i], wn = num;
    }
    ck_assert_msg(worst <= 1.0,
                  "%s (%s): worst coordinate %zu: analytic %.6g, numeric %.6g (%.2f x tolerance)",
                  what, f->label, wi, wa, wn, worst);
}

/* Gradient check of input, weights and k. */
static void check_grads(fixture *f, float eps, double atol, double rtol)
{
    objective(f);
    ck_assert_msg(mt_net_backward_from(f->net, f->out_id, f->r) == MT_OK, "backward: %s",
                  mt_errmsg());
    size_t np = mt_net_param_count(f->net);
    float *g = malloc(np * sizeof *g), *gx = malloc(f->nx * sizeof *gx);
    memcpy(g, mt_net_grads(f->net), np * sizeof *g);
    ck_assert_int_eq(mt_net_read_diff(f->net, f->in_id, gx), MT_OK);
    const mt_param_seg *segs;
    int ns = mt_net_segments(f->net, &segs);
    float *p = mt_net_params(f->net);
    for (int s = 0; s < ns; s++) {
        if (segs[s].in_state)
            continue;
        compare(f, p + segs[s].offset, g + segs[s].offset, segs[s].count, eps, atol, rtol,
                segs[s].name);
    }
    compare(f, f->x, gx, f->nx, eps, atol, rtol, "input");
    free(g);
    free(gx);
}

static mt_sphere_conv_cfg cfg_of(int out_c, int k, int stride, int pad, mt_sphere_op op)
{
    mt_sphere_conv_cfg c = {.out_c = out_c, .k = k, .stride = stride, .pad = pad, .op = op,
                            .sigmoid_k = MT_SPHERE_SIGMOID_K, .ortho = 0.0f};
    return c;
}

/* ---- forward against a direct reference ---------------------------------------- */

static double ref_g(int op, double c, double k)
{
    double cl = fmin(fmax(c, -1.0 + MT_SPHERE_CLAMP), 1.0 - MT_SPHERE_CLAMP);
    double th = acos(cl);
    switch (op) {
    case MT_SPHERE_LINEAR:
        return 1.0 - 2.0 * th / M_PI;
    case MT_SPHERE_COSINE:
        return c;
    case MT_SPHERE_SIGMOID:
    case MT_SPHERE_LR_SIGMOID: {
        double m = exp(-M_PI / (2 * k)), e = exp(th / k - M_PI / (2 * k));
        return (1 + m) / (1 - m) * (1 - e) / (1 + e);
    }
    default:
        return c;
    }
}

/* y (n, oc, oh, ow) from x (n, ic, ih, iw) NCHW, w OIHW, directly. */
static void ref_forward(int op, const float *x, const float *w, const float *kraw, int n, int ic,
                        int ih, int iw, int oc, int k, int st, int pad, double sig_k, double *y,
                        int *oh_out, int *ow_out)
{
    int oh = (ih + 2 * pad - k) / st + 1, ow = (iw + 2 * pad - k) / st + 1;
    *oh_out = oh, *ow_out = ow;
    for (int b = 0; b < n; b++)
        for (int o = 0; o < oc; o++)
            for (int yy = 0; yy < oh; yy++)
                for (int xx = 0; xx < ow; xx++) {
                    double s = 0, xn = 0, wn = 0;
                    for (int c = 0; c < ic; c++)
                        for (int dy = 0; dy < k; dy++)
                            for (int dx = 0; dx < k; dx++) {
                                double wv = w[((o * ic + c) * k + dy) * k + dx];
                                wn += wv * wv;
                                int h = yy * st - pad + dy, ww = xx * st - pad + dx;
                                if (h < 0 || h >= ih || ww < 0 || ww >= iw)
                                    continue;
                                double xv = x[((b * ic + c) * ih + h) * iw + ww];
                                s += wv * xv;
                                xn += xv * xv;
                            }
                    double cc = s / (sqrt(wn + MT_SPHERE_NORM_EPS) * sqrt(xn + MT_SPHERE_NORM_EPS));
                    double kk = op == MT_SPHERE_LR_SIGMOID ? fabs(kraw[o]) + MT_SPHERE_LR_K_FLOOR
                                                           : sig_k;
                    y[((b * oc + o) * oh + yy) * ow + xx] = op == MT_SPHERE_NONE ? s
                                                                                 : ref_g(op, cc, kk);
                }
}

static void check_forward(int op, int pre_c, int oc, int k, int st, int pad)
{
    fixture f;
    mt_sphere_conv_cfg cfg = cfg_of(oc, k, st, pad, (mt_sphere_op)op);
    build(&f, 2, 3, 7, 6, pre_c, &cfg, 11 + op);
    objective(&f);
    float *xin = malloc(f.nmid * sizeof *xin), *y = malloc(f.ny * sizeof *y);
    double *ref = malloc(f.ny * sizeof *ref);
    mt_net_read(f.net, f.mid_id, xin);
    mt_net_read(f.net, f.out_id, y);
    int s[4];
    mt_net_shape(f.net, f.mid_id, s);
    const mt_param_seg *segs;
    int ns = mt_net_segments(f.net, &segs);
    const float *w = NULL, *kraw = NULL;
    for (int i = 0; i < ns; i++) {
        if (strstr(segs[i].name, "sphereconv") && segs[i].kind == MT_SEG_CONV_WEIGHT)
            w = mt_net_params(f.net) + segs[i].offset;
        if (strstr(segs[i].name, ".k"))
            kraw = mt_net_params(f.net) + segs[i].offset;
    }
    ck_assert_ptr_nonnull(w);
    int oh, ow;
    ref_forward(op, xin, w, kraw, s[0], s[1], s[2], s[3], oc, k, st, pad, MT_SPHERE_SIGMOID_K, ref,
                &oh, &ow);
    double worst = 0;
    size_t wi = 0;
    for (size_t i = 0; i < f.ny; i++) {
        double e = fabs(y[i] - ref[i]) / (1.0 + fabs(ref[i]));
        if (e > worst)
            worst = e, wi = i;
    }
    ck_assert_msg(worst < 2e-5, "op %s pre_c %d: worst output %zu: %g vs reference %g",
                  mt_sphere_op_name((mt_sphere_op)op), pre_c, wi, y[wi], ref[wi]);
    free(xin);
    free(y);
    free(ref);
    release(&f);
}

START_TEST(forward_matches_direct_reference)
{
    for (int op = MT_SPHERE_NONE; op <= MT_SPHERE_LR_SIGMOID; op++) {
        check_forward(op, 0, 5, 3, 1, 1);  /* plain input, 5 filters */
        check_forward(op, 16, 16, 3, 2, 1); /* blocked input and output, stride 2 */
    }
}
END_TEST

/* ---- hand-computed points ---------------------------------------------------------- */

/* One 2x3x3 patch, filters x, -x and one orthogonal to x: c = +-|x|^2/(|x|^2 + eps), 0. */
START_TEST(values_at_parallel_antiparallel_and_orthogonal_filters)
{
    const int ops[3] = {MT_SPHERE_LINEAR, MT_SPHERE_COSINE, MT_SPHERE_SIGMOID};
    for (int t = 0; t < 3; t++) {
        fixture f;
        mt_sphere_conv_cfg cfg = cfg_of(3, 3, 1, 0, (mt_sphere_op)ops[t]);
        build(&f, 1, 2, 3, 3, 0, &cfg, 5);
        float *w = mt_net_params(f.net);
        for (int i = 0; i < 18; i++) {
            f.x[i] = (i % 3 == 0) ? 1.0f : -0.5f;
            w[i] = f.x[i];
            w[18 + i] = -f.x[i];
            w[36 + i] = (i % 2 == 0) ? 1.0f : 0.0f;
        }
        double dot = 0;
        for (int i = 0; i < 18; i++)
            dot += f.x[i] * w[36 + i];
        for (int i = 0; i < 18; i++) /* make filter 2 orthogonal to x */
            w[36 + i] -= (float)(dot / 9.0) * f.x[i]; /* |x|^2 = 6 * 1 + 12 * 0.25 = 9 */
        objective(&f);
        float y[3];
        mt_net_read(f.net, f.out_id, y);
        /* c = 9 / 9.0001 is 1 - 1.1e-5, at the clamp: theta = 0.0045, g within 3e-3 of 1. */
        double tol = ops[t] == MT_SPHERE_COSINE ? 2e-5 : 5e-3;
        ck_assert_msg(fabs(y[0] - 1.0) < tol, "%s: parallel gives %g, want 1",
                      mt_sphere_op_name((mt_sphere_op)ops[t]), y[0]);
        ck_assert_msg(fabs(y[1] + 1.0) < tol, "%s: antiparallel gives %g, want -1",
                      mt_sphere_op_name((mt_sphere_op)ops[t]), y[1]);
        ck_assert_msg(fabs(y[2]) < 1e-5, "%s: orthogonal gives %g, want 0",
                      mt_sphere_op_name((mt_sphere_op)ops[t]), y[2]);
        if (ops[t] == MT_SPHERE_COSINE)
            ck_assert_msg(fabs(y[0] - 9.0 / 9.0001) < 2e-6, "cosine equals c: %.8f", y[0]);
        release(&f);
    }
}
END_TEST

/* ---- gradients --------------------------------------------------------------------- */

/* Every operator on one shape; pre_c > 0 puts a plain conv in front. */
static void grads_all_ops(int n, int c, int hw, int pre_c, int out_c, int stride, uint64_t seed,
                          float eps)
{
    for (int op = MT_SPHERE_NONE; op <= MT_SPHERE_LR_SIGMOID; op++) {
        fixture f;
        mt_sphere_conv_cfg cfg = cfg_of(out_c, 3, stride, 1, (mt_sphere_op)op);
        build(&f, n, c, hw, hw, pre_c, &cfg, seed + op);
        /* fp32 forward: the difference quotient carries about 1e-5 / eps of
         * rounding, hence atol 5e-3 */
        check_grads(&f, eps, 5e-3, 2e-2);
        release(&f);
    }
}

START_TEST(gradients_plain_layout)
{
    grads_all_ops(2, 3, 5, 0, 4, 1, 100, 1e-3f);
}
END_TEST

START_TEST(gradients_blocked_layout_strided)
{
    grads_all_ops(2, 2, 6, 16, 16, 2, 200, 1e-3f);
}
END_TEST

/* 8x8 outputs are whole 4x4 tiles: the convolution underneath can run on
 * oneDNN's Winograd kernels (nn/conv_prim.c; forced here), whose rounding
 * the sphere operators must tolerate like any other. */
START_TEST(gradients_whole_winograd_tiles)
{
    /* Winograd's rounding is larger than the direct kernels': a larger step
     * keeps it small against the difference (the operators are smooth on the
     * 1e-2 scale). */
    setenv("MUTAU_CONV_ALG", "winograd", 1); /* not left to a timed choice */
    grads_all_ops(2, 2, 8, 16, 16, 1, 250, 1e-2f);
    unsetenv("MUTAU_CONV_ALG");
}
END_TEST

/* Filters nearly parallel and antiparallel to the single patch: c about
 * +-0.9995, where d theta/dc is about -30; and the learnable k away from 0.7. */
START_TEST(gradients_near_c_plus_minus_one)
{
    for (int op = MT_SPHERE_LINEAR; op <= MT_SPHERE_LR_SIGMOID; op++) {
        fixture f;
        mt_sphere_conv_cfg cfg = cfg_of(2, 3, 1, 0, (mt_sphere_op)op);
        build(&f, 1, 2, 3, 3, 0, &cfg, 300 + op);
        float *w = mt_net_params(f.net), noise[36];
        fill_normal(noise, 36, 9, 9, 0.03f);
        for (int i = 0; i < 18; i++) {
            w[i] = f.x[i] + noise[i];
            w[18 + i] = -f.x[i] + noise[18 + i];
        }
        if (op == MT_SPHERE_LR_SIGMOID)
            w[36] = 0.2f, w[37] = -0.4f;
        objective(&f);
        float y[2];
        mt_net_read(f.net, f.out_id, y);
        ck_assert_msg(y[0] > 0.9f && y[1] < -0.9f, "near +-1: %g %g", y[0], y[1]);
        check_grads(&f, 1e-3f, 5e-3, 3e-2);
        release(&f);
    }
}
END_TEST

/* One image all zeros: its patches have |x| = sqrt(eps), c = 0; no NaN, and
 * the gradients there are still right. Also an all-zero filter. */
START_TEST(gradients_with_zero_patches_and_zero_filter)
{
    for (int op = MT_SPHERE_LINEAR; op <= MT_SPHERE_LR_SIGMOID; op++) {
        fixture f;
        mt_sphere_conv_cfg cfg = cfg_of(3, 3, 1, 1, (mt_sphere_op)op);
        build(&f, 2, 2, 4, 4, 0, &cfg, 400 + op);
        memset(f.x + 32, 0, 32 * sizeof *f.x); /* image 1 */
        for (int i = 0; i < 16; i++)
            f.x[i] = 0.0f; /* channel 0 of image 0 */
        memset(mt_net_params(f.net) + 18, 0, 18 * sizeof(float)); /* filter 1 */
        objective(&f);
        float *y = malloc(f.ny * sizeof *y);
        mt_net_read(f.net, f.out_id, y);
        for (size_t i = f.ny / 2; i < f.ny; i++)
            ck_assert_msg(fabsf(y[i]) < 1e-5f, "zero image gives %g at %zu", y[i], i);
        free(y);
        check_grads(&f, 5e-4f, 5e-3, 3e-2);
        release(&f);
    }
}
END_TEST

/* ---- orthogonality penalty --------------------------------------------------------- */

START_TEST(ortho_penalty_value_and_gradient)
{
    /* W = [[1, 1], [0, 2]]: W W^T = [[2, 2], [2, 4]], minus I: [[1, 2], [2, 3]],
     * |.|^2 = 1 + 4 + 4 + 9 = 18, P = lambda/2 18 = 9 lambda. */
    float w[4] = {1, 1, 0, 2}, gram[4], g[4] = {0};
    double v = mt_ortho_penalty(w, 2, 2, 0.5f, g, gram);
    ck_assert_double_eq_tol(v, 4.5, 1e-6);
    /* 2 lambda M W = [[1, 2], [2, 3]] [[1, 1], [0, 2]] = [[1, 5], [2, 8]] */
    const float want[4] = {1, 5, 2, 8};
    for (int i = 0; i < 4; i++)
        ck_assert_msg(fabsf(g[i] - want[i]) < 1e-5f, "grad[%d] = %g, want %g", i, g[i], want[i]);
    /* finite differences on a random 5 x 7 */
    float a[35], ga[35] = {0}, gr[25];
    fill_normal(a, 35, 3, 3, 0.5f);
    mt_ortho_penalty(a, 5, 7, 2e-4f, ga, gr);
    for (int i = 0; i < 35; i++) {
        float keep = a[i];
        a[i] = keep + 1e-2f;
        double fp = mt_ortho_penalty(a, 5, 7, 2e-4f, NULL, gr);
        a[i] = keep - 1e-2f;
        double fm = mt_ortho_penalty(a, 5, 7, 2e-4f, NULL, gr);
        a[i] = keep;
        double num = (fp - fm) / 2e-2;
        ck_assert_msg(fabs(num - ga[i]) < 1e-7 + 1e-2 * fabs(num), "ortho grad[%d] %g vs fd %g", i,
                      ga[i], num);
    }
}
END_TEST

START_TEST(ortho_penalty_enters_the_weight_gradient)
{
    /* With a penalty, the weight gradient is the one without plus 2 lambda M W. */
    mt_sphere_conv_cfg c0 = cfg_of(4, 3, 1, 1, MT_SPHERE_LINEAR), c1 = c0;
    c1.ortho = 0.5f; /* large, so the term is visible */
    fixture a, b;
    build(&a, 1, 2, 4, 4, 0, &c0, 77);
    build(&b, 1, 2, 4, 4, 0, &c1, 77);
    objective(&a);
    objective(&b);
    mt_net_backward_from(a.net, a.out_id, a.r);
    mt_net_backward_from(b.net, b.out_id, b.r);
    float extra[72] = {0}, gram[16];
    mt_ortho_penalty(mt_net_params(a.net), 4, 18, 0.5f, extra, gram);
    for (int i = 0; i < 72; i++) {
        float want = mt_net_grads(a.net)[i] + extra[i];
        ck_assert_msg(fabsf(mt_net_grads(b.net)[i] - want) < 1e-4f * (1 + fabsf(want)),
                      "weight grad %d: %g, want %g", i, mt_net_grads(b.net)[i], want);
    }
    release(&a);
    release(&b);
}
END_TEST

/* ---- weight-normalised classifier ----------------------------------------------------- */

static int add_wn(mt_net *net, int x, const void *ctx)
{
    const int *pool = ctx;
    if (*pool)
        x = mt_global_avgpool(net, x);
    return mt_weightnorm_linear(net, x, 5);
}

START_TEST(weightnorm_linear_values_and_gradients)
{
    /* Plain (n, 3, 2, 2) input flattened to 12 features: logits against a
     * direct computation, then gradients. */
    fixture f;
    int pool = 0;
    build_with(&f, 3, 3, 2, 2, 0, add_wn, &pool, 501);
    f.label = "wnlinear";
    objective(&f);
    float z[15];
    mt_net_read(f.net, f.out_id, z);
    const float *W = mt_net_params(f.net);
    for (int n = 0; n < 3; n++)
        for (int j = 0; j < 5; j++) {
            double dot = 0, ww = 0;
            for (int i = 0; i < 12; i++) {
                dot += (double)W[j * 12 + i] * f.x[n * 12 + i];
                ww += (double)W[j * 12 + i] * W[j * 12 + i];
            }
            double want = dot / sqrt(ww + 1e-4);
            ck_assert_msg(fabs(z[n * 5 + j] - want) < 1e-5 * (1 + fabs(want)),
                          "logit (%d, %d): %g, want %g", n, j, z[n * 5 + j], want);
        }
    check_grads(&f, 1e-3f, 1e-3, 1e-2);
    release(&f);
    /* Blocked input: conv to 16 channels, global pooling, then the head. */
    pool = 1;
    build_with(&f, 2, 2, 4, 4, 16, add_wn, &pool, 502);
    f.label = "wnlinear after pooling";
    check_grads(&f, 1e-3f, 1e-3, 1e-2);
    /* Scaling a row of W leaves the logits unchanged (up to eps). */
    float before[10], after[10];
    objective(&f);
    mt_net_read(f.net, f.out_id, before);
    const mt_param_seg *segs;
    int ns = mt_net_segments(f.net, &segs);
    float *wl = mt_net_params(f.net) + segs[ns - 1].offset;
    for (int i = 0; i < 16; i++)
        wl[i] *= 3.0f;
    objective(&f);
    mt_net_read(f.net, f.out_id, after);
    for (int i = 0; i < 10; i++)
        ck_assert_msg(fabsf(after[i] - before[i]) < 1e-4f * (1 + fabsf(before[i])),
                      "logit %d changed from %g to %g when its row was scaled", i, before[i],
                      after[i]);
    release(&f);
}
END_TEST

START_TEST(bad_configurations_are_refused)
{
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, 1, 3, 8, 8), MT_OK);
    int x = mt_net_input(net);
    mt_sphere_conv_cfg c = cfg_of(4, 3, 1, 1, (mt_sphere_op)9);
    ck_assert_int_lt(mt_sphere_conv_ex(net, x, &c), 0);
    ck_assert_msg(strstr(mt_errmsg(), "operator") != NULL, "%s", mt_errmsg());
    mt_net_free(net);
    ck_assert_int_eq(mt_net_create(&net, 1, 3, 8, 8), MT_OK);
    c = cfg_of(4, 3, 1, 1, MT_SPHERE_LINEAR);
    c.ortho = -1.0f;
    ck_assert_int_lt(mt_sphere_conv_ex(net, mt_net_input(net), &c), 0);
    ck_assert_msg(strstr(mt_errmsg(), "orthogonality") != NULL, "%s", mt_errmsg());
    mt_net_free(net);
}
END_TEST

static Suite *sphere_conv_suite(void)
{
    Suite *s = suite_create("sphere_conv");
    TCase *tc = tcase_create("layer");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, forward_matches_direct_reference);
    tcase_add_test(tc, values_at_parallel_antiparallel_and_orthogonal_filters);
    tcase_add_test(tc, gradients_plain_layout);
    tcase_add_test(tc, gradients_blocked_layout_strided);
    tcase_add_test(tc, gradients_whole_winograd_tiles);
    tcase_add_test(tc, gradients_near_c_plus_minus_one);
    tcase_add_test(tc, gradients_with_zero_patches_and_zero_filter);
    tcase_add_test(tc, ortho_penalty_value_and_gradient);
    tcase_add_test(tc, ortho_penalty_enters_the_weight_gradient);
    tcase_add_test(tc, weightnorm_linear_values_and_gradients);
    tcase_add_test(tc, bad_configurations_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(sphere_conv_suite)
