/* test_sphere_resnet.c: SphereResNet-n (models/sphere_resnet.h): exact
 * parameter and multiply-add counts of both width presets against counts
 * derived here from the architecture, and a SphereResNet-20 that overfits a
 * small synthetic batch (loss near 0, every image right) for three operator /
 * classifier combinations.
 */
#include "core/rng.h"
#include "core/status.h"
#include "models/sphere_resnet.h"
#include "nn/net.h"
#include "tests/check_main.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parameters and MACs of SphereResNet-depth at first-stage width w, 32x32x3
 * input, option-B shortcuts, bias-free classifier, counted conv by conv. */
static void expected_counts(int depth, int w, int classes, double *params, double *macs)
{
    int k = (depth - 2) / 6;
    double p = 0, m = 0;
    int in_c = 3, hw = 32;
    /* stem */
    p += 9.0 * in_c * w + 2 * w;
    m += 9.0 * in_c * w * hw * hw;
    in_c = w;
    for (int s = 0; s < 3; s++) {
        int out_c = w << s;
        for (int b = 0; b < k; b++) {
            int stride = s > 0 && b == 0 ? 2 : 1;
            int ohw = hw / stride;
            p += 9.0 * in_c * out_c + 9.0 * out_c * out_c + 4 * out_c;
            m += (9.0 * in_c * out_c + 9.0 * out_c * out_c) * ohw * ohw;
            if (in_c != out_c) {
                p += (double)in_c * out_c + 2 * out_c;
                m += (double)in_c * out_c * ohw * ohw;
            }
            in_c = out_c;
            hw = ohw;
        }
    }
    p += (double)in_c * classes;
    m += (double)in_c * classes;
    *params = p;
    *macs = m;
}

START_TEST(preset_sizes_are_exact)
{
    const int widths[2] = {MT_SPHERE_WIDTH_HE, MT_SPHERE_WIDTH_REFERENCE};
    mt_set_threads(1);
    for (int i = 0; i < 2; i++) {
        mt_sphere_resnet_cfg cfg = mt_sphere_resnet_default(32, 10);
        cfg.width = widths[i];
        mt_net *net;
        ck_assert_msg(mt_sphere_resnet_create(&net, &cfg, 1, NULL, NULL, NULL) == MT_OK, "%s",
                      mt_errmsg());
        double p, m;
        expected_counts(32, widths[i], 10, &p, &m);
        ck_assert_msg((double)mt_net_param_count(net) == p, "width %d: %zu parameters, want %.0f",
                      widths[i], mt_net_param_count(net), p);
        ck_assert_msg(fabs(mt_net_macs(net) - m) < 0.5, "width %d: %.0f MACs, want %.0f",
                      widths[i], mt_net_macs(net), m);
        mt_net_free(net);
    }
    /* The numbers docs/sphere.md quotes (CIFAR-10 head). */
    double p, m;
    expected_counts(32, 96, 10, &p, &m);
    ck_assert_double_eq(p, 16702176.0);
    ck_assert_double_eq(m, 2475200256.0);
    expected_counts(32, 16, 10, &p, &m);
    ck_assert_double_eq(p, 466896.0);
}
END_TEST

/* Shared and recomputed activations (allowance 0: the SphereConv's output
 * from its cached cosines, the batch norm's from its input) give the very
 * gradients of one buffer per activation, for every operator; _i >= 5 the
 * same in bf16 (the output recomputed from the kept bf16 convolution). */
START_TEST(recomputed_activations_change_nothing)
{
    if (_i >= 5 && !mt_bf16_supported())
        return;
    static const mt_sphere_op ops[] = {MT_SPHERE_LINEAR, MT_SPHERE_COSINE, MT_SPHERE_SIGMOID,
                                       MT_SPHERE_LR_SIGMOID, MT_SPHERE_NONE};
    const int n = 4, hw = 8;
    mt_sphere_resnet_cfg cfg = mt_sphere_resnet_default(8, 10);
    cfg.width = MT_SPHERE_WIDTH_HE;
    cfg.op = ops[_i % 5];
    cfg.precision = _i >= 5 ? MT_BF16 : MT_FP32;
    cfg.h = cfg.w = hw;
    float x[4 * 3 * 8 * 8], gx[2][4 * 3 * 8 * 8], *g[2];
    int labels[4] = {1, 2, 3, 9};
    mt_rng rng;
    mt_rng_seed(&rng, 5, 0);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = (float)mt_rng_normal(&rng);
    mt_set_threads(1);
    size_t np = 0;
    for (int keep = 0; keep < 2; keep++) {
        mt_net *net;
        ck_assert_int_eq(mt_net_create(&net, n, 3, hw, hw), MT_OK);
        ck_assert_int_eq(mt_net_keep_activations(net, keep), MT_OK);
        ck_assert_int_eq(mt_net_keep_grads(net, keep), MT_OK);
        ck_assert_int_eq(mt_net_recompute_allowance(net, 0), MT_OK);
        ck_assert_int_eq(mt_net_want_input_grad(net, 1), MT_OK);
        ck_assert_int_ge(mt_sphere_resnet_build(net, &cfg), 0);
        ck_assert_msg(mt_net_finalize(net, NULL, NULL, NULL) == MT_OK, "%s", mt_errmsg());
        mt_net_mem m;
        ck_assert_int_eq(mt_net_memory(net, &m), MT_OK);
        ck_assert_int_eq(m.recomputed > 0, !keep);
        mt_rng r;
        mt_rng_seed(&r, 6, 0);
        mt_net_init(net, &r);
        for (int step = 0; step < 2; step++) {
            ck_assert_int_eq(mt_net_set_input(net, x, n, labels), MT_OK);
            ck_assert_int_eq(mt_net_forward(net, 1), MT_OK);
            ck_assert_msg(mt_net_backward(net) == MT_OK, "%s", mt_errmsg());
        }
        np = mt_net_param_count(net);
        g[keep] = malloc(np * sizeof(float));
        memcpy(g[keep], mt_net_grads(net), np * sizeof(float));
        ck_assert_int_eq(mt_net_read_diff(net, mt_net_input(net), gx[keep]), MT_OK);
        mt_net_free(net);
    }
    ck_assert_msg(memcmp(g[0], g[1], np * sizeof(float)) == 0, "%s %s: parameter gradients differ",
                  mt_sphere_op_name(ops[_i % 5]), mt_precision_name(cfg.precision));
    ck_assert_int_eq(memcmp(gx[0], gx[1], sizeof gx[0]), 0);
    free(g[0]);
    free(g[1]);
}
END_TEST

/* Plain momentum SGD on one fixed batch; returns the final loss. */
static double overfit(mt_sphere_op op, int wn, int steps, int *correct)
{
    const int n = 16, classes = 4, c = 3, hw = 16;
    mt_sphere_resnet_cfg cfg = mt_sphere_resnet_default(20, classes);
    cfg.width = MT_SPHERE_WIDTH_HE;
    cfg.op = op;
    cfg.wn_classifier = wn;
    cfg.h = cfg.w = hw;
    mt_net *net;
    mt_set_threads(1); /* small tensors; one thread keeps a busy machine from stalling it */
    ck_assert_msg(mt_sphere_resnet_create(&net, &cfg, n, NULL, NULL, NULL) == MT_OK, "%s",
                  mt_errmsg());
    mt_rng rng;
    mt_rng_seed(&rng, 2024, 0);
    ck_assert_int_eq(mt_net_init(net, &rng), MT_OK);
    float *x = malloc(sizeof *x * n * c * hw * hw);
    int labels[16];
    for (int i = 0; i < n * c * hw * hw; i++)
        x[i] = (float)mt_rng_normal(&rng);
    for (int i = 0; i < n; i++)
        labels[i] = i % classes;
    size_t np = mt_net_param_count(net);
    float *v = calloc(np, sizeof *v), *p = mt_net_params(net);
    const float *g = mt_net_grads(net);
    double loss = 0;
    for (int s = 0; s < steps; s++) {
        ck_assert_int_eq(mt_net_set_input(net, x, n, labels), MT_OK);
        ck_assert_msg(mt_net_forward(net, 1) == MT_OK, "step %d: %s", s, mt_errmsg());
        ck_assert_msg(mt_net_backward(net) == MT_OK, "step %d: %s", s, mt_errmsg());
        for (size_t i = 0; i < np; i++) {
            v[i] = 0.9f * v[i] + g[i];
            p[i] -= 0.05f * v[i];
        }
    }
    /* the loss and accuracy of the final parameters, batch statistics */
    mt_net_set_input(net, x, n, labels);
    ck_assert_int_eq(mt_net_forward(net, 1), MT_OK);
    loss = mt_net_loss(net);
    *correct = mt_net_correct(net, 1);
    printf("sphere_resnet20 %s%s: loss %.4f, %d/%d right after %d steps\n",
           mt_sphere_op_name(op), wn ? " + weight-normalised head" : "", loss, *correct, n, steps);
    free(x);
    free(v);
    mt_net_free(net);
    return loss;
}

START_TEST(sphere_resnet20_overfits_a_small_batch)
{
    int correct;
    double loss = overfit(MT_SPHERE_LINEAR, 0, 30, &correct);
    ck_assert_msg(loss < 0.05 && correct == 16, "linear: loss %g, %d/16 right after 30 steps", loss,
                  correct);
    loss = overfit(MT_SPHERE_COSINE, 0, 30, &correct);
    ck_assert_msg(loss < 0.05 && correct == 16, "cosine: loss %g, %d/16 right after 30 steps", loss,
                  correct);
    loss = overfit(MT_SPHERE_LR_SIGMOID, 1, 30, &correct);
    ck_assert_msg(loss < 0.2 && correct == 16,
                  "learnable sigmoid, weight-normalised head: loss %g, %d/16 right", loss, correct);
}
END_TEST

START_TEST(presets_and_bad_widths)
{
    int w = 0;
    ck_assert_int_eq(mt_sphere_resnet_preset("he", &w), MT_OK);
    ck_assert_int_eq(w, 16);
    ck_assert_int_eq(mt_sphere_resnet_preset("reference", &w), MT_OK);
    ck_assert_int_eq(w, 96);
    ck_assert_int_eq(mt_sphere_resnet_preset("wide", &w), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "'wide'") != NULL);
    mt_sphere_resnet_cfg cfg = mt_sphere_resnet_default(20, 10);
    cfg.width = 40;
    mt_net *net;
    ck_assert_int_eq(mt_sphere_resnet_create(&net, &cfg, 2, NULL, NULL, NULL), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "width 40") != NULL);
    cfg = mt_sphere_resnet_default(21, 10);
    ck_assert_int_eq(mt_sphere_resnet_create(&net, &cfg, 2, NULL, NULL, NULL), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "depth 21") != NULL);
}
END_TEST

static Suite *sphere_resnet_suite(void)
{
    Suite *s = suite_create("sphere_resnet");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, preset_sizes_are_exact);
    tcase_add_test(tc, sphere_resnet20_overfits_a_small_batch);
    tcase_add_test(tc, presets_and_bad_widths);
    tcase_add_loop_test(tc, recomputed_activations_change_nothing, 0, 10);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(sphere_resnet_suite)
