/* test_resnet.c: the ResNet builder and the whole-network API: parameter and
 * multiply-add counts against the published numbers, the segment list, the
 * shape signature, a small net overfitting a small batch, parameter sharing
 * between nets of different batch sizes, and two nets stepping in two
 * threads at once giving bit-identical results to one after the other, and
 * the per-kind time profile.
 */
#include "core/rng.h"
#include "core/status.h"
#include "models/resnet.h"
#include "nn/net.h"
#include "tests/check_main.h"
#include "tests/gradcheck.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Counting needs no primitives: build without finalizing. */
static mt_net *build(int depth, int classes, int shortcut, int batch)
{
    mt_resnet_cfg c = mt_resnet_default(depth, classes);
    c.shortcut = shortcut;
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, batch, c.c, c.h, c.w), MT_OK);
    ck_assert_msg(mt_resnet_build(net, &c) >= 0, "build: %s", mt_errmsg());
    return net;
}

START_TEST(resnet_counts_match_the_published_numbers)
{
    mt_net *n20 = build(20, 100, MT_SHORTCUT_A, 1), *n32 = build(32, 100, MT_SHORTCUT_A, 1);
    ck_assert_uint_eq(mt_net_param_count(n20), 275572);
    ck_assert_uint_eq(mt_net_param_count(n32), 470004);
    ck_assert_double_eq_tol(mt_net_macs(n20) / 1e6, 40.56, 0.005);
    ck_assert_double_eq_tol(mt_net_macs(n32) / 1e6, 68.87, 0.005);
    /* Batch norm running statistics: two per channel of 19 (31) BN layers. */
    ck_assert_uint_eq(mt_net_state_count(n20), 1376);
    /* Option B adds two 1x1 convs with BN: 16*32 + 32*64 + 2 (32 + 64). */
    mt_net *b20 = build(20, 100, MT_SHORTCUT_B, 1);
    ck_assert_uint_eq(mt_net_param_count(b20), 275572 + 512 + 2048 + 192);
    mt_net_free(n20);
    mt_net_free(n32);
    mt_net_free(b20);
}
END_TEST

/* The CIFAR-10 counts of the common PyTorch version (option A):
 * ResNet-20/32/44/56/110 have 269,722 / 464,154 / 658,586 / 853,018 /
 * 1,727,962 parameters. */
START_TEST(resnet_depths_have_the_cifar10_counts)
{
    const int depth[5] = {20, 32, 44, 56, 110};
    const size_t params[5] = {269722, 464154, 658586, 853018, 1727962};
    mt_net *net = build(depth[_i], 10, MT_SHORTCUT_A, 1);
    ck_assert_uint_eq(mt_net_param_count(net), params[_i]);
    mt_net_free(net);
}
END_TEST

START_TEST(nhwc_input_matches_nchw)
{
    mt_resnet_cfg c = mt_resnet_default(8, 4);
    c.h = 6;
    c.w = 5;
    mt_net *net;
    ck_assert_int_eq(mt_resnet_create(&net, &c, 2, NULL, NULL, NULL), MT_OK);
    mt_rng r;
    mt_rng_seed(&r, 2, 0);
    mt_net_init(net, &r);
    float nchw[2 * 3 * 6 * 5], nhwc[2 * 3 * 6 * 5], p[2][8];
    gc_fill_normal(nchw, sizeof nchw / sizeof *nchw, 2, 1);
    for (int n = 0; n < 2; n++)
        for (int ch = 0; ch < 3; ch++)
            for (int k = 0; k < 30; k++)
                nhwc[(n * 30 + k) * 3 + ch] = nchw[(n * 3 + ch) * 30 + k];
    ck_assert_int_eq(mt_net_set_input(net, nchw, 2, (int[2]){1, 3}), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 1), MT_OK);
    memcpy(p[0], mt_net_probs(net), sizeof p[0]);
    ck_assert_int_eq(mt_net_set_input_nhwc(net, nhwc, 2, (int[2]){1, 3}), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 1), MT_OK);
    memcpy(p[1], mt_net_probs(net), sizeof p[1]);
    ck_assert_int_eq(memcmp(p[0], p[1], sizeof p[0]), 0);
    mt_net_free(net);
}
END_TEST

/* One training step of a ResNet-14 (shortcut option A or B) on 8x8 images,
 * keeping every gradient and activation buffer if `keep`, with the
 * recomputation allowance `allowance` if `set`, else the default: the
 * parameter gradients in *g (malloc'd), the input's in gx, the net's memory
 * in *m. Returns the net. */
static mt_net *resnet14_step(int shortcut, int keep, int set, size_t allowance, float **g,
                             float *gx, mt_net_mem *m)
{
    mt_resnet_cfg c = mt_resnet_default(14, 10);
    c.h = c.w = 8;
    c.shortcut = shortcut;
    float x[4 * 3 * 8 * 8];
    int labels[4] = {1, 2, 3, 9};
    gc_fill_normal(x, sizeof x / sizeof *x, 6, 1);
    mt_net *net;
    ck_assert_int_eq(mt_net_create(&net, 4, 3, 8, 8), MT_OK);
    ck_assert_int_eq(mt_net_keep_grads(net, keep), MT_OK);
    ck_assert_int_eq(mt_net_keep_activations(net, keep), MT_OK);
    if (set)
        ck_assert_int_eq(mt_net_recompute_allowance(net, allowance), MT_OK);
    ck_assert_int_eq(mt_net_want_input_grad(net, 1), MT_OK);
    ck_assert_int_ge(mt_resnet_build(net, &c), 0);
    ck_assert_msg(mt_net_finalize(net, NULL, NULL, NULL) == MT_OK, "%s", mt_errmsg());
    ck_assert_int_eq(mt_net_memory(net, m), MT_OK);
    mt_rng r;
    mt_rng_seed(&r, 6, 0);
    mt_net_init(net, &r);
    ck_assert_int_eq(mt_net_set_input(net, x, 4, labels), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 1), MT_OK);
    ck_assert_int_eq(mt_net_backward(net), MT_OK);
    size_t np = mt_net_param_count(net);
    *g = malloc(np * sizeof(float));
    memcpy(*g, mt_net_grads(net), np * sizeof(float));
    ck_assert_int_eq(mt_net_read_diff(net, mt_net_input(net), gx), MT_OK);
    return net;
}

/* Shared gradient buffers and shared, recomputed activations (allowance 0)
 * give the very gradients of one buffer per activation. */
START_TEST(shared_grad_buffers_change_nothing)
{
    float *g[2], gx[2][4 * 3 * 8 * 8];
    size_t np = 0;
    for (int keep = 0; keep < 2; keep++) {
        mt_net_mem m;
        mt_net *net = resnet14_step(_i ? MT_SHORTCUT_B : MT_SHORTCUT_A, keep, 1, 0, &g[keep],
                                    gx[keep], &m);
        ck_assert_int_eq(m.recomputed > 0, !keep);
        np = mt_net_param_count(net);
        mt_net_free(net);
    }
    ck_assert_int_eq(memcmp(g[0], g[1], np * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(gx[0], gx[1], sizeof gx[0]), 0);
    free(g[0]);
    free(g[1]);
}
END_TEST

/* A training net recomputes activations for backward only when keeping them
 * would take more shared memory than its allowance, and computes the same
 * gradients bit for bit either way: a small net keeps them under the default
 * allowance, recomputes under one a byte below what recomputing saves (set by
 * the call or by MUTAU_RECOMPUTE_ALLOWANCE), keeps them at exactly that;
 * training clones inherit the allowance, inference clones recompute nothing;
 * a bad MUTAU_RECOMPUTE_ALLOWANCE fails finalize naming it. */
START_TEST(recomputes_only_over_the_allowance)
{
    unsetenv("MUTAU_RECOMPUTE_ALLOWANCE");
    float *g[4], gx[4 * 3 * 8 * 8];
    mt_net_mem m[4];
    mt_net *over, *net[4];
    net[0] = resnet14_step(MT_SHORTCUT_A, 0, 0, 0, &g[0], gx, &m[0]);
    size_t saves = m[0].recompute_saves, np = mt_net_param_count(net[0]);
    ck_assert_int_eq(m[0].recomputed, 0);
    ck_assert_uint_gt(saves, 0);
    ck_assert_uint_le(saves, MT_RECOMPUTE_ALLOWANCE);
    over = net[1] = resnet14_step(MT_SHORTCUT_A, 0, 1, saves - 1, &g[1], gx, &m[1]);
    ck_assert_int_gt(m[1].recomputed, 0);
    ck_assert_uint_eq(m[1].shared + saves, m[0].shared);
    net[2] = resnet14_step(MT_SHORTCUT_A, 0, 1, saves, &g[2], gx, &m[2]);
    ck_assert_int_eq(m[2].recomputed, 0);
    ck_assert_uint_eq(m[2].shared, m[0].shared);
    setenv("MUTAU_RECOMPUTE_ALLOWANCE", "0", 1);
    net[3] = resnet14_step(MT_SHORTCUT_A, 0, 0, 0, &g[3], gx, &m[3]);
    ck_assert_int_eq(m[3].recomputed, m[1].recomputed);
    for (int k = 1; k < 4; k++)
        ck_assert_msg(memcmp(g[0], g[k], np * sizeof(float)) == 0, "net %d: other gradients", k);
    for (int k = 0; k < 4; k++)
        if (net[k] != over)
            mt_net_free(net[k]);

    /* Clones: the environment no longer says, the source's allowance does. */
    unsetenv("MUTAU_RECOMPUTE_ALLOWANCE");
    mt_net *tc, *ic;
    mt_net_mem mc;
    ck_assert_int_eq(mt_net_clone(&tc, over, 4, NULL, NULL, NULL), MT_OK);
    ck_assert_int_eq(mt_net_memory(tc, &mc), MT_OK);
    ck_assert_int_eq(mc.recomputed, m[1].recomputed);
    ck_assert_int_eq(mt_net_clone_inference(&ic, over, 4, mt_net_params(over), mt_net_state(over),
                                            0),
                     MT_OK);
    ck_assert_int_eq(mt_net_memory(ic, &mc), MT_OK);
    ck_assert_int_eq(mc.recomputed, 0);
    mt_net_free(ic);
    mt_net_free(tc);
    mt_net_free(over);

    setenv("MUTAU_RECOMPUTE_ALLOWANCE", "lots", 1);
    mt_net *bad;
    mt_resnet_cfg c = mt_resnet_default(8, 10);
    ck_assert_int_eq(mt_net_create(&bad, 2, 3, 32, 32), MT_OK);
    ck_assert_int_ge(mt_resnet_build(bad, &c), 0);
    ck_assert_int_lt(mt_net_finalize(bad, NULL, NULL, NULL), 0);
    ck_assert_msg(strstr(mt_errmsg(), "MUTAU_RECOMPUTE_ALLOWANCE") != NULL, "%s", mt_errmsg());
    mt_net_free(bad);
    unsetenv("MUTAU_RECOMPUTE_ALLOWANCE");
    for (int k = 0; k < 4; k++)
        free(g[k]);
}
END_TEST

/* A net built at 2 threads and stepped at 1 re-creates its primitives: the
 * same gradients, bit for bit, as a net built at 1. */
START_TEST(thread_count_change_recreates_primitives)
{
    mt_resnet_cfg c = mt_resnet_default(8, 10);
    c.h = c.w = 8;
    float x[4 * 3 * 8 * 8], *g[2];
    gc_fill_normal(x, sizeof x / sizeof *x, 7, 1);
    int labels[4] = {0, 3, 5, 7};
    size_t np = 0;
    for (int k = 0; k < 2; k++) {
        mt_set_threads(k == 0 ? 2 : 1);
        mt_net *net;
        ck_assert_int_eq(mt_resnet_create(&net, &c, 4, NULL, NULL, NULL), MT_OK);
        mt_rng r;
        mt_rng_seed(&r, 7, 0);
        mt_net_init(net, &r);
        mt_set_threads(1);
        for (int step = 0; step < 2; step++) {
            ck_assert_int_eq(mt_net_set_input(net, x, 4, labels), MT_OK);
            ck_assert_msg(mt_net_forward(net, 1) == MT_OK, "%s", mt_errmsg());
            ck_assert_msg(mt_net_backward(net) == MT_OK, "%s", mt_errmsg());
        }
        np = mt_net_param_count(net);
        g[k] = malloc(np * sizeof(float));
        memcpy(g[k], mt_net_grads(net), np * sizeof(float));
        mt_net_free(net);
    }
    ck_assert_int_eq(memcmp(g[0], g[1], np * sizeof(float)), 0);
    free(g[0]);
    free(g[1]);
}
END_TEST

START_TEST(segments_tile_the_buffers)
{
    mt_net *net = build(20, 10, MT_SHORTCUT_A, 1);
    const mt_param_seg *s;
    int n = mt_net_segments(net, &s);
    ck_assert_int_gt(n, 0);
    size_t p = 0, st = 0;
    int convs = 0, bn_scales = 0, lin = 0;
    for (int i = 0; i < n; i++) {
        size_t *next = s[i].in_state ? &st : &p;
        ck_assert_uint_eq(s[i].offset, *next); /* contiguous, in order */
        size_t count = 1;
        for (int d = 0; d < s[i].ndim; d++)
            count *= (size_t)s[i].shape[d];
        ck_assert_uint_eq(count, s[i].count);
        *next += s[i].count;
        convs += s[i].kind == MT_SEG_CONV_WEIGHT;
        bn_scales += s[i].kind == MT_SEG_BN_SCALE;
        lin += s[i].kind == MT_SEG_LINEAR_WEIGHT;
        ck_assert_int_eq(s[i].in_state, s[i].kind == MT_SEG_BN_MEAN || s[i].kind == MT_SEG_BN_VAR);
        if (i > 0) /* all parameters before all state */
            ck_assert_int_ge(s[i].in_state, s[i - 1].in_state);
    }
    ck_assert_uint_eq(p, mt_net_param_count(net));
    ck_assert_uint_eq(st, mt_net_state_count(net));
    ck_assert_int_eq(convs, 19);
    ck_assert_int_eq(bn_scales, 19);
    ck_assert_int_eq(lin, 1);
    ck_assert_str_eq(s[0].name, "conv1.weight");
    ck_assert_int_eq(s[0].shape[0], 16);
    ck_assert_int_eq(s[0].shape[1], 3);
    mt_net_free(net);
}
END_TEST

START_TEST(signature_follows_shapes_not_batch)
{
    mt_net *a = build(20, 100, MT_SHORTCUT_A, 4), *b = build(20, 100, MT_SHORTCUT_A, 16);
    mt_net *c = build(20, 10, MT_SHORTCUT_A, 4), *d = build(32, 100, MT_SHORTCUT_A, 4);
    mt_net *e = build(20, 100, MT_SHORTCUT_B, 4);
    ck_assert_uint_eq(mt_net_signature(a), mt_net_signature(b));
    ck_assert_uint_ne(mt_net_signature(a), mt_net_signature(c));
    ck_assert_uint_ne(mt_net_signature(a), mt_net_signature(d));
    ck_assert_uint_ne(mt_net_signature(a), mt_net_signature(e));
    mt_net_free(a);
    mt_net_free(b);
    mt_net_free(c);
    mt_net_free(d);
    mt_net_free(e);
}
END_TEST

/* The fused block tail (nn/bn_add.c) signs as the batch norm and add it
 * replaced: these are the signatures of builds before it existed, so their
 * checkpoints resume. Built either way, the nets sign alike. */
START_TEST(signature_is_that_of_earlier_builds)
{
    const struct {
        int depth, shortcut;
        uint64_t sig;
    } want[] = {{20, MT_SHORTCUT_A, 0x3d46910e4a0ef709ULL},
                {32, MT_SHORTCUT_B, 0x44417bc64451e894ULL}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        for (int unfused = 0; unfused < 2; unfused++) {
            mt_resnet_cfg c = mt_resnet_default(want[i].depth, 100);
            c.shortcut = want[i].shortcut;
            c.tail = unfused ? MT_TAIL_UNFUSED : MT_TAIL_FUSED;
            mt_net *net;
            ck_assert_int_eq(mt_net_create(&net, 2, c.c, c.h, c.w), MT_OK);
            ck_assert_msg(mt_resnet_build(net, &c) >= 0, "build: %s", mt_errmsg());
            ck_assert_msg(mt_net_signature(net) == want[i].sig,
                          "resnet%d, option %c, %s: signature %#llx, earlier builds %#llx",
                          want[i].depth, want[i].shortcut, unfused ? "unfused" : "fused",
                          (unsigned long long)mt_net_signature(net),
                          (unsigned long long)want[i].sig);
            mt_net_free(net);
        }
}
END_TEST

START_TEST(bad_resnet_configs_are_refused)
{
    mt_resnet_cfg c = mt_resnet_default(21, 100);
    mt_net *net = NULL;
    ck_assert_int_eq(mt_resnet_create(&net, &c, 2, NULL, NULL, NULL), MT_ERR_ARG);
    ck_assert_ptr_null(net);
    ck_assert_msg(strstr(mt_errmsg(), "6k + 2") != NULL, "message: %s", mt_errmsg());
    c = mt_resnet_default(20, 1);
    ck_assert_int_eq(mt_resnet_create(&net, &c, 2, NULL, NULL, NULL), MT_ERR_ARG);
    c = mt_resnet_default(20, 10);
    c.shortcut = 'C';
    ck_assert_int_eq(mt_resnet_create(&net, &c, 2, NULL, NULL, NULL), MT_ERR_ARG);
    c = mt_resnet_default(20, 10);
    ck_assert_int_eq(mt_resnet_create(&net, &c, 0, NULL, NULL, NULL), MT_ERR_ARG);
}
END_TEST

/* Plain momentum SGD, enough to train in a test. */
static void sgd(mt_net *net, float *vel, float lr, float mu)
{
    float *p = mt_net_params(net);
    const float *g = mt_net_grads(net);
    for (size_t i = 0; i < mt_net_param_count(net); i++) {
        vel[i] = mu * vel[i] + g[i];
        p[i] -= lr * vel[i];
    }
}

/* _i = 0: fp32; 1 and 2: bf16 (option B, then A), skipped on a CPU without
 * native bf16 (tests/test_bf16.c checks the refusal there). */
START_TEST(small_resnet_overfits_a_small_batch)
{
    /* ResNet-8 (one block per stage), width 1, 3x12x12, 5 classes,
     * 20 random images with random labels: only memorisation can fit them. */
    if (_i > 0 && !mt_bf16_supported())
        return;
    enum { B = 20, K = 5 };
    const int steps = _i ? 200 : 150;
    mt_resnet_cfg c = mt_resnet_default(8, K);
    c.h = c.w = 12;
    c.shortcut = _i == 2 ? MT_SHORTCUT_A : MT_SHORTCUT_B;
    c.precision = _i ? MT_BF16 : MT_FP32;
    mt_net *net;
    ck_assert_msg(mt_resnet_create(&net, &c, B, NULL, NULL, NULL) == MT_OK, "%s", mt_errmsg());
    ck_assert_int_eq(mt_net_precision(net), c.precision);
    mt_rng r;
    mt_rng_seed(&r, 11, 0);
    ck_assert_int_eq(mt_net_init(net, &r), MT_OK);
    float *x = malloc(sizeof(float) * B * 3 * 12 * 12);
    int labels[B];
    gc_fill_normal(x, (size_t)B * 3 * 12 * 12, 11, 1);
    for (int i = 0; i < B; i++)
        labels[i] = (int)mt_rng_below(&r, K);
    float *vel = calloc(mt_net_param_count(net), sizeof *vel);
    ck_assert_int_eq(mt_net_set_input(net, x, B, labels), MT_OK);
    int step, correct = 0;
    float first = 0;
    for (step = 0; step < steps; step++) {
        ck_assert_msg(mt_net_forward(net, 1) == MT_OK, "%s", mt_errmsg());
        if (step == 0)
            first = mt_net_loss(net);
        correct = mt_net_correct(net, 1);
        if (correct == B)
            break;
        ck_assert_int_eq(mt_net_backward(net), MT_OK);
        sgd(net, vel, 0.05f, 0.9f);
    }
    ck_assert_msg(correct == B, "%d of %d right after %d steps (loss %g -> %g)", correct, B,
                  steps, first, mt_net_loss(net));
    ck_assert_float_lt(mt_net_loss(net), first);
    /* an inference clone (in the net's precision) agrees with the training
     * net's own evaluation on the running statistics */
    mt_net *ev;
    ck_assert_msg(mt_net_clone_inference(&ev, net, B, mt_net_params(net), mt_net_state(net), 0) ==
                      MT_OK,
                  "%s", mt_errmsg());
    ck_assert_int_eq(mt_net_precision(ev), c.precision);
    ck_assert_int_eq(mt_net_set_input(ev, x, B, labels), MT_OK);
    ck_assert_int_eq(mt_net_forward(ev, 0), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 0), MT_OK);
    ck_assert_float_eq_tol(mt_net_loss(ev), mt_net_loss(net), 1e-3f * (1 + mt_net_loss(net)));
    mt_net_free(ev);
    free(x);
    free(vel);
    mt_net_free(net);
}
END_TEST

START_TEST(clone_shares_parameters_and_evaluates_smaller_batches)
{
    mt_resnet_cfg c = mt_resnet_default(8, 7);
    c.h = c.w = 8;
    mt_net *big, *small;
    ck_assert_int_eq(mt_resnet_create(&big, &c, 6, NULL, NULL, NULL), MT_OK);
    mt_rng r;
    mt_rng_seed(&r, 3, 0);
    ck_assert_int_eq(mt_net_init(big, &r), MT_OK);
    float *state = mt_net_state(big);
    for (size_t i = 0; i < mt_net_state_count(big); i++)
        state[i] = 0.5f + 0.1f * (float)(i % 7); /* running stats that matter */
    ck_assert_int_eq(mt_net_clone(&small, big, 2, mt_net_params(big), NULL, mt_net_state(big)),
                     MT_OK);
    ck_assert_ptr_eq(mt_net_params(small), mt_net_params(big));
    ck_assert_uint_eq(mt_net_signature(small), mt_net_signature(big));
    float x[6 * 3 * 8 * 8];
    gc_fill_normal(x, sizeof x / sizeof *x, 3, 2);
    int labels[6] = {0, 1, 2, 3, 4, 5};
    /* The big net on 2 of its 6 slots, and the small one: same outputs. */
    ck_assert_int_eq(mt_net_set_input(big, x, 2, labels), MT_OK);
    ck_assert_int_eq(mt_net_forward(big, 0), MT_OK);
    ck_assert_int_eq(mt_net_set_input(small, x, 2, labels), MT_OK);
    ck_assert_int_eq(mt_net_forward(small, 0), MT_OK);
    double worst = 0;
    for (int i = 0; i < 2 * 7; i++)
        worst = fmax(worst, fabs(mt_net_probs(big)[i] - mt_net_probs(small)[i]));
    ck_assert_msg(worst < 1e-5, "probabilities differ by %g", worst);
    ck_assert_float_eq_tol(mt_net_loss(big), mt_net_loss(small), 1e-5);
    mt_net_free(small);
    mt_net_free(big);
}
END_TEST

/* An inference clone evaluates as the training net does in inference mode,
 * holds no gradients, refuses to train, and when it runs in the training
 * net's memory changes nothing in the training steps around it. */
START_TEST(inference_clone_evaluates_and_borrows_memory_harmlessly)
{
    mt_resnet_cfg c = mt_resnet_default(8, 7);
    c.h = c.w = 8;
    c.shortcut = MT_SHORTCUT_B;
    mt_net *net;
    ck_assert_int_eq(mt_resnet_create(&net, &c, 4, NULL, NULL, NULL), MT_OK);
    mt_rng r;
    mt_rng_seed(&r, 4, 0);
    ck_assert_int_eq(mt_net_init(net, &r), MT_OK);
    float x[4 * 3 * 8 * 8], y[4 * 3 * 8 * 8];
    gc_fill_normal(x, sizeof x / sizeof *x, 4, 1);
    gc_fill_normal(y, sizeof y / sizeof *y, 5, 1);
    int labels[4] = {0, 1, 2, 3};
    size_t np = mt_net_param_count(net);
    float *g[2] = {malloc(np * sizeof(float)), malloc(np * sizeof(float))};
    float probs[3][4 * 7];
    size_t ns = mt_net_state_count(net);
    float *state0 = malloc(ns * sizeof(float));
    memcpy(state0, mt_net_state(net), ns * sizeof(float));
    for (int share = 0; share < 2; share++) {
        mt_net *ev;
        memcpy(mt_net_state(net), state0, ns * sizeof(float)); /* the same running stats */
        ck_assert_int_eq(mt_net_clone_inference(&ev, net, 4, mt_net_params(net),
                                                mt_net_state(net), share),
                         MT_OK);
        ck_assert_ptr_null(mt_net_grads(ev));
        mt_net_mem m;
        ck_assert_int_eq(mt_net_memory(ev, &m), MT_OK);
        ck_assert(share ? m.shared == 0 && m.borrowed > 0 : m.shared > 0);
        /* a training step, an evaluation, then a step whose gradient is compared */
        ck_assert_int_eq(mt_net_set_input(net, x, 4, labels), MT_OK);
        ck_assert_int_eq(mt_net_forward(net, 1), MT_OK);
        ck_assert_int_eq(mt_net_backward(net), MT_OK);
        ck_assert_int_eq(mt_net_set_input(ev, y, 4, labels), MT_OK);
        ck_assert_int_eq(mt_net_forward(ev, 0), MT_OK);
        memcpy(probs[share], mt_net_probs(ev), sizeof probs[share]);
        ck_assert_int_eq(mt_net_forward(net, 1), MT_OK);
        ck_assert_int_eq(mt_net_backward(net), MT_OK);
        memcpy(g[share], mt_net_grads(net), np * sizeof(float));
        ck_assert_int_eq(mt_net_forward(ev, 1), MT_ERR_ARG);
        mt_net_free(ev);
    }
    /* the training net itself in inference mode: the same probabilities */
    memcpy(mt_net_state(net), state0, ns * sizeof(float));
    ck_assert_int_eq(mt_net_set_input(net, x, 4, labels), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 1), MT_OK); /* as before the evaluations */
    ck_assert_int_eq(mt_net_set_input(net, y, 4, labels), MT_OK);
    ck_assert_int_eq(mt_net_forward(net, 0), MT_OK);
    memcpy(probs[2], mt_net_probs(net), sizeof probs[2]);
    double worst = 0;
    for (int i = 0; i < 4 * 7; i++)
        worst = fmax(worst, fabs(probs[2][i] - probs[0][i]));
    ck_assert_msg(worst < 1e-5, "inference clone and training net differ by %g", worst);
    ck_assert_int_eq(memcmp(probs[0], probs[1], sizeof probs[0]), 0);
    ck_assert_int_eq(memcmp(g[0], g[1], np * sizeof(float)), 0);
    free(g[0]);
    free(g[1]);
    free(state0);
    mt_net_free(net);
}
END_TEST

/* ---- threads -------------------------------------------------------------- */

enum { TB = 8, TK = 10, TSTEPS = 3 };

typedef struct {
    uint64_t seed;
    float *params; /* after TSTEPS steps */
    float loss;
    int status;
    size_t n;
} run;

static void *train_run(void *p)
{
    run *r = p;
    /* Two OpenMP threads per net (one under ThreadSanitizer, which cannot
     * see OpenMP's barriers): the count is the calling thread's own. */
    mt_set_threads(getenv("MUTAU_TSAN") ? 1 : 2);
    mt_resnet_cfg c = mt_resnet_default(8, TK);
    c.h = c.w = 16;
    mt_net *net;
    r->status = mt_resnet_create(&net, &c, TB, NULL, NULL, NULL);
    if (r->status < 0)
        return NULL;
    mt_rng g;
    mt_rng_seed(&g, 1, 0); /* same initial parameters for every run */
    mt_net_init(net, &g);
    r->n = mt_net_param_count(net);
    float *vel = calloc(r->n, sizeof *vel), x[TB * 3 * 16 * 16];
    int labels[TB];
    for (int s = 0; s < TSTEPS && r->status >= 0; s++) {
        gc_fill_normal(x, sizeof x / sizeof *x, r->seed, (uint64_t)s);
        for (int i = 0; i < TB; i++)
            labels[i] = (int)((r->seed + (uint64_t)(i * 3 + s)) % TK);
        r->status = mt_net_set_input(net, x, TB, labels);
        if (r->status >= 0)
            r->status = mt_net_forward(net, 1);
        if (r->status >= 0)
            r->status = mt_net_backward(net);
        if (r->status >= 0)
            sgd(net, vel, 0.1f, 0.9f);
    }
    r->loss = mt_net_loss(net);
    r->params = malloc(r->n * sizeof(float));
    memcpy(r->params, mt_net_params(net), r->n * sizeof(float));
    free(vel);
    mt_net_free(net);
    return NULL;
}

START_TEST(two_nets_in_two_threads_match_sequential_runs)
{
    run seq[2] = {{.seed = 5}, {.seed = 6}}, par[2] = {{.seed = 5}, {.seed = 6}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pthread_create(&t[i], NULL, train_run, &seq[i]), 0);
        pthread_join(t[i], NULL);
    }
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, train_run, &par[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(seq[i].status == MT_OK && par[i].status == MT_OK, "run failed: %s",
                      mt_errmsg());
        size_t diff = 0;
        for (size_t k = 0; k < seq[i].n; k++)
            diff += memcmp(&seq[i].params[k], &par[i].params[k], sizeof(float)) != 0;
        ck_assert_msg(diff == 0, "run %d: %zu of %zu parameters differ", i, diff, seq[i].n);
        ck_assert_float_eq(seq[i].loss, par[i].loss);
    }
    /* and the two runs (different data) really differ */
    ck_assert_int_ne(memcmp(seq[0].params, seq[1].params, seq[0].n * sizeof(float)), 0);
    for (int i = 0; i < 2; i++) {
        free(seq[i].params);
        free(par[i].params);
    }
}
END_TEST

/* The profile: nothing counted while off; on, every kind of a ResNet step has
 * its row, the weight reorders theirs, and the step its summary; timing
 * changes no result. */
START_TEST(profile_counts_each_kind_only_when_on)
{
    mt_resnet_cfg c = mt_resnet_default(8, 10);
    mt_net *net;
    ck_assert_msg(mt_resnet_create(&net, &c, 4, NULL, NULL, NULL) == MT_OK, "%s", mt_errmsg());
    mt_rng r;
    mt_rng_seed(&r, 5, 0);
    mt_net_init(net, &r);
    float x[4 * 3 * 32 * 32];
    int labels[4] = {1, 2, 3, 4};
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = (float)mt_rng_normal(&r);
    ck_assert_int_eq(mt_net_set_input(net, x, 4, labels), MT_OK);
    size_t n = mt_net_param_count(net);
    float *g_off = malloc(n * sizeof *g_off);
    ck_assert_ptr_nonnull(g_off);
    char *text = NULL;
    size_t len = 0;
    for (int on = 0; on < 2; on++) {
        mt_net_profile_reset(net);
        mt_net_profile(net, on);
        ck_assert_int_eq(mt_net_forward(net, 1), MT_OK);
        ck_assert_int_eq(mt_net_backward(net), MT_OK);
        mt_net_profile(net, 0);
        FILE *out = open_memstream(&text, &len);
        mt_net_profile_print(net, out, 1, on ? 1.0 : 0, on ? 1e-3 : 0);
        fclose(out);
        if (!on) {
            ck_assert_msg(strstr(text, "no profile") != NULL, "%s", text);
            memcpy(g_off, mt_net_grads(net), n * sizeof *g_off);
        } else {
            const char *rows[] = {"convolution", "weight reorders", "batch norm", "residual add",
                                  "shortcut", "pool+fc+loss", "optimizer", "between layers",
                                  "convolution primitives alone", "conv1 "};
            for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
                ck_assert_msg(strstr(text, rows[i]) != NULL, "no '%s' in:\n%s", rows[i], text);
            ck_assert_int_eq(memcmp(g_off, mt_net_grads(net), n * sizeof *g_off), 0);
        }
        free(text);
        text = NULL;
    }
    free(g_off);
    mt_net_free(net);
}
END_TEST

Suite *resnet_suite(void);
Suite *resnet_suite(void)
{
    Suite *s = suite_create("resnet");
    TCase *t = tcase_create("resnet");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, resnet_counts_match_the_published_numbers);
    tcase_add_loop_test(t, resnet_depths_have_the_cifar10_counts, 0, 5);
    tcase_add_test(t, nhwc_input_matches_nchw);
    tcase_add_test(t, thread_count_change_recreates_primitives);
    tcase_add_loop_test(t, shared_grad_buffers_change_nothing, 0, 2);
    tcase_add_test(t, recomputes_only_over_the_allowance);
    tcase_add_test(t, segments_tile_the_buffers);
    tcase_add_test(t, signature_follows_shapes_not_batch);
    tcase_add_test(t, signature_is_that_of_earlier_builds);
    tcase_add_test(t, bad_resnet_configs_are_refused);
    tcase_add_loop_test(t, small_resnet_overfits_a_small_batch, 0, 3);
    tcase_add_test(t, clone_shares_parameters_and_evaluates_smaller_batches);
    tcase_add_test(t, inference_clone_evaluates_and_borrows_memory_harmlessly);
    tcase_add_test(t, two_nets_in_two_threads_match_sequential_runs);
    tcase_add_test(t, profile_counts_each_kind_only_when_on);
    suite_add_tcase(s, t);
    return s;
}

MT_CHECK_MAIN(resnet_suite)
