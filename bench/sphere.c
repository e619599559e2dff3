/* sphere.c: what a SphereConv training step costs next to the plain
 * convolution of the same shape, for the 3x3 convolutions of ResNet-32 at
 * He's widths (16/32/64) and the SphereResNet reference widths (96/192/384).
 *
 * How a layer is timed: bench/lib/sphere_layer.h. Prints one line per shape
 * and operator:
 *   bench sphereconv preset=P width=C hw=H batch=N op=OP plain_ms=.. sphere_ms=.. ratio=..
 * Timings are the calling thread's CPU time, the fastest of interleaved
 * steps, on one OpenMP thread (so all work runs on that thread and the CPU
 * time is the whole cost; MUTAU_BENCH_THREADS=N measures only the calling
 * thread's share): other work on a busy machine then inflates them less than
 * wall-clock time, though caches and memory bandwidth are still shared.
 *
 * Then the whole model: one training step of SphereResNet-32 (linear
 * operator, reference recipe) and of the plain ResNet-32 with the same
 * widths and 1x1 shortcuts, per image and per 50,000-image epoch:
 *   bench sphereresnet32 preset=P ... cpu_ms_per_image=.. epoch_cpu_min=.. ratio=..
 * `sphere he` or `sphere reference` runs one preset only.
 *
 * Not a test: it checks nothing but that the nets run.
 */
#include "bench/lib/sphere_layer.h"
#include "core/clock.h"
#include "core/rng.h"
#include "core/status.h"
#include "nn/net.h"
#include "models/resnet.h"
#include "models/sphere_resnet.h"
#include "nn/sphere_conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* CPU milliseconds per image of a training step of SphereResNet-32 (op >= 0)
 * or the plain ResNet-32 of the same widths and shortcuts (op < 0), 10
 * classes, 32x32x3: the fastest of `steps` steps after one warm-up. */
static double model_ms_per_image(int width, int op, int batch, int steps, double *params,
                                 double *macs)
{
    mt_net *net = NULL;
    int rc;
    if (op >= 0) {
        mt_sphere_resnet_cfg c = mt_sphere_resnet_default(32, 10);
        c.width = width;
        c.op = op;
        rc = mt_sphere_resnet_create(&net, &c, batch, NULL, NULL, NULL);
    } else {
        mt_resnet_cfg c = mt_resnet_default(32, 10);
        c.width = width / 16;
        c.shortcut = MT_SHORTCUT_B;
        rc = mt_resnet_create(&net, &c, batch, NULL, NULL, NULL);
    }
    mt_rng rng;
    mt_rng_seed(&rng, 3, 0);
    float *x = malloc(sizeof *x * batch * 3 * 32 * 32);
    int *labels = malloc(sizeof *labels * batch);
    if (rc < 0 || !x || !labels || mt_net_init(net, &rng) < 0) {
        fprintf(stderr, "bench sphere: %s\n", mt_errmsg());
        mt_net_free(net);
        free(x);
        free(labels);
        return -1;
    }
    for (int i = 0; i < batch * 3 * 32 * 32; i++)
        x[i] = (float)mt_rng_normal(&rng);
    for (int i = 0; i < batch; i++)
        labels[i] = i % 10;
    *params = (double)mt_net_param_count(net);
    *macs = mt_net_macs(net);
    double best = 1e30;
    for (int s = -1; s < steps; s++) {
        double t0 = 1e3 * mt_thread_cpu_now();
        if (mt_net_set_input(net, x, batch, labels) < 0 || mt_net_forward(net, 1) < 0 ||
            mt_net_backward(net) < 0) {
            fprintf(stderr, "bench sphere: %s\n", mt_errmsg());
            best = -1;
            break;
        }
        double t = 1e3 * mt_thread_cpu_now() - t0;
        if (s >= 0 && t < best)
            best = t;
    }
    mt_net_free(net);
    free(x);
    free(labels);
    return best < 0 ? -1 : best / batch;
}

/* Whole-model cost per epoch of 50,000 images, both presets. */
static int bench_models(const char *only)
{
    static const struct {
        const char *preset;
        int width, batch, steps;
    } m[2] = {{"he", 16, 128, 3}, {"reference", 96, 32, 2}};
    int status = 0;
    for (int i = 0; i < 2; i++) {
        if (only && strcmp(only, m[i].preset) != 0)
            continue;
        double p, macs, pp, pm;
        double sph = model_ms_per_image(m[i].width, MT_SPHERE_LINEAR, m[i].batch, m[i].steps, &p,
                                        &macs);
        double pl = model_ms_per_image(m[i].width, -1, m[i].batch, m[i].steps, &pp, &pm);
        if (sph < 0 || pl < 0) {
            status = 1;
            continue;
        }
        printf("bench sphereresnet32 preset=%s width=%d op=linear batch=%d params=%.0f "
               "macs_per_image=%.0f cpu_ms_per_image=%.2f images_per_cpu_s=%.1f "
               "epoch_cpu_min=%.1f plain_resnet32_cpu_ms_per_image=%.2f ratio=%.2f\n",
               m[i].preset, m[i].width, m[i].batch, p, macs, sph, 1e3 / sph, sph * 50000 / 6e4,
               pl, sph / pl);
        fflush(stdout);
    }
    return status;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *preset;
        int w[3];
    } presets[2] = {{"he", {16, 32, 64}}, {"reference", {96, 192, 384}}};
    const int ops[4] = {MT_SPHERE_LINEAR, MT_SPHERE_COSINE, MT_SPHERE_SIGMOID,
                        MT_SPHERE_LR_SIGMOID};
    const char *te = getenv("MUTAU_BENCH_THREADS");
    const int batch = 64, reps = 7, threads = te ? atoi(te) : 1;
    int status = 0;
    mt_set_threads(threads > 0 ? threads : 1);
    printf("SphereConv training step (forward + backward of one 3x3 layer) vs plain conv, "
           "batch %d, %d OpenMP thread (MUTAU_BENCH_THREADS), CPU time, fastest of %d interleaved "
           "steps\n",
           batch, mt_threads(), reps);
    for (int p = 0; p < 2; p++)
        for (int s = 0; s < 3; s++) {
            if (argc > 1 && strcmp(argv[1], presets[p].preset) != 0)
                continue; /* `sphere he` or `sphere reference`: one preset */
            int width = presets[p].w[s], hw = 32 >> s;
            for (int o = 0; o < 4; o++) {
                double plain, sph;
                if (mt_bench_sphere_layer(batch, width, hw, ops[o], reps, &plain, &sph) < 0) {
                    fprintf(stderr, "bench sphere: %s\n", mt_errmsg());
                    status = 1;
                    continue;
                }
                printf("bench sphereconv preset=%s width=%d hw=%d batch=%d op=%s plain_ms=%.2f "
                       "sphere_ms=%.2f ratio=%.2f\n",
                       presets[p].preset, width, hw, batch, mt_sphere_op_name((mt_sphere_op)ops[o]),
                       plain, sph, sph / plain);
                fflush(stdout);
            }
        }
    return status | bench_models(argc > 1 ? argv[1] : NULL);
}
