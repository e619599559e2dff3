/* sphere.c: what a SphereConv training step costs next to the plain
 * convolution of the same shape, for the 3x3 convolutions of ResNet-32 at
 * He's widths (16/32/64) and the SphereResNet reference widths (96/192/384).
 *
 * Each net is input -> 1x1 plain conv (so the measured layer reads oneDNN's
 * blocked activations, as inside a ResNet) -> the measured layer; the time is
 * that layer's own forward (training) plus backward (input, weights and k
 * gradients), from the net's per-layer profile. Prints one line per shape and
 * operator:
 *   bench sphereconv preset=P width=C hw=H batch=N op=OP plain_ms=.. sphere_ms=.. ratio=..
 * Timings are wall-clock, the fastest of interleaved steps, on one OpenMP
 * thread unless MUTAU_BENCH_THREADS says otherwise (OpenMP's spinning
 * threads make multi-threaded timings erratic when other work shares the
 * cores); they stay noisy on a busy machine.
 *
 * Not a test: it checks nothing but that the nets run.
 */
#include "core/rng.h"
#include "core/status.h"
#include "nn/layer.h"
#include "nn/net.h"
#include "nn/net_internal.h"
#include "nn/sphere_conv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    mt_net *net;
    int out;
    float *in, *dy;
} bench_net;

/* input -> 1x1 conv -> the measured layer (op < 0: a plain 3x3 conv). */
static int bench_open(bench_net *b, int batch, int width, int hw, int op)
{
    memset(b, 0, sizeof *b);
    if (mt_net_create(&b->net, batch, width, hw, hw) < 0)
        return -1;
    int x = mt_conv(b->net, mt_net_input(b->net), width, 1, 1, 0, 0);
    b->out = op < 0 ? mt_conv(b->net, x, width, 3, 1, 1, 0)
                    : mt_sphere_conv(b->net, x, width, 3, 1, 1, (mt_sphere_op)op);
    mt_rng rng;
    mt_rng_seed(&rng, 1, 0);
    if (b->out < 0 || mt_net_finalize(b->net, NULL, NULL, NULL) < 0 ||
        mt_net_init(b->net, &rng) < 0)
        return -1;
    size_t n = (size_t)batch * width * hw * hw;
    b->in = malloc(n * sizeof *b->in);
    b->dy = malloc(n * sizeof *b->dy);
    if (!b->in || !b->dy)
        return -1;
    for (size_t i = 0; i < n; i++) {
        b->in[i] = (float)mt_rng_normal(&rng);
        b->dy[i] = (float)mt_rng_normal(&rng) * 1e-3f;
    }
    mt_net_set_input(b->net, b->in, batch, NULL);
    mt_net_profile(b->net, 1);
    return 0;
}

/* Milliseconds of the measured layer's forward + backward in one step. */
static double bench_step(bench_net *b)
{
    mt_net_profile_reset(b->net);
    if (mt_net_forward(b->net, 1) < 0 || mt_net_backward_from(b->net, b->out, b->dy) < 0)
        return -1;
    const mt_layer *l = b->net->layers[b->net->n_layers - 1];
    return 1e3 * (l->t_fwd + l->t_bwd);
}

static void bench_close(bench_net *b)
{
    mt_net_free(b->net);
    free(b->in);
    free(b->dy);
}

/* The fastest of reps interleaved steps of the plain and the sphere layer:
 * on a shared machine the minimum is the closest to the uncontended cost,
 * and interleaving exposes both to the same load. */
static int compare(int batch, int width, int hw, int op, int reps, double *plain, double *sphere)
{
    bench_net a, b;
    int rc = bench_open(&a, batch, width, hw, -1) < 0 || bench_open(&b, batch, width, hw, op) < 0;
    *plain = *sphere = 1e30;
    for (int r = -1; r < reps && !rc; r++) {
        double tp = bench_step(&a), ts = bench_step(&b);
        if (tp < 0 || ts < 0)
            rc = 1;
        else if (r >= 0) {
            *plain = tp < *plain ? tp : *plain;
            *sphere = ts < *sphere ? ts : *sphere;
        }
    }
    if (rc)
        fprintf(stderr, "bench sphere: %s\n", mt_errmsg());
    bench_close(&a);
    bench_close(&b);
    return rc ? -1 : 0;
}

int main(void)
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
           "batch %d, %d OpenMP thread(s) (MUTAU_BENCH_THREADS), fastest of %d interleaved steps\n",
           batch, mt_threads(), reps);
    for (int p = 0; p < 2; p++)
        for (int s = 0; s < 3; s++) {
            int width = presets[p].w[s], hw = 32 >> s;
            for (int o = 0; o < 4; o++) {
                double plain, sph;
                if (compare(batch, width, hw, ops[o], reps, &plain, &sph) < 0) {
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
    return status;
}
