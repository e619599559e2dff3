/* sphere_layer.c: one SphereConv layer's training step against the plain
 * convolution of the same shape (see sphere_layer.h). */
#include "bench/lib/sphere_layer.h"

#include "core/clock.h"
#include "core/rng.h"
#include "core/status.h"
#include "nn/net.h"
#include "nn/sphere_conv.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    mt_net *net;
    int out;
    float *in, *dy;
} bench_net;

/* input -> 1x1 conv -> the measured layer: kind 0 none (the baseline),
 * 1 a plain 3x3 conv, 2 a SphereConv with operator op. */
static int bench_open(bench_net *b, int batch, int width, int hw, int kind, int op)
{
    memset(b, 0, sizeof *b);
    if (mt_net_create(&b->net, batch, width, hw, hw) < 0)
        return -1;
    int x = mt_conv(b->net, mt_net_input(b->net), width, 1, 1, 0, 0);
    b->out = kind == 0   ? x
             : kind == 1 ? mt_conv(b->net, x, width, 3, 1, 1, 0)
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
    return mt_net_set_input(b->net, b->in, batch, NULL) < 0 ? -1 : 0;
}

/* CPU milliseconds of one training step (forward, backward from the output). */
static double bench_step(bench_net *b)
{
    double t0 = 1e3 * mt_thread_cpu_now();
    if (mt_net_forward(b->net, 1) < 0 || mt_net_backward_from(b->net, b->out, b->dy) < 0)
        return -1;
    return 1e3 * mt_thread_cpu_now() - t0;
}

static void bench_close(bench_net *b)
{
    mt_net_free(b->net);
    free(b->in);
    free(b->dy);
}

/* The measured layers' cost: the fastest of reps interleaved steps of each
 * net, minus the fastest step of the baseline net (the 1x1 conv alone). */
int mt_bench_sphere_layer(int batch, int width, int hw, int op, int reps, double *plain,
                          double *sphere)
{
    bench_net nets[3];
    memset(nets, 0, sizeof nets); /* all closable whichever fails to open */
    double best[3] = {1e30, 1e30, 1e30};
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++)
        rc = bench_open(&nets[i], batch, width, hw, i, op) < 0;
    for (int r = -1; r < reps && !rc; r++)
        for (int i = 0; i < 3 && !rc; i++) {
            double t = bench_step(&nets[i]);
            if (t < 0)
                rc = 1;
            else if (r >= 0 && t < best[i])
                best[i] = t;
        }
    for (int i = 0; i < 3; i++)
        bench_close(&nets[i]);
    *plain = best[1] - best[0];
    *sphere = best[2] - best[0];
    return rc ? MT_ERR_LIB : MT_OK;
}

