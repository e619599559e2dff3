/* recompute.c: what recomputing activations for backward (nn/buffers.c)
 * costs in time and saves in memory: the same network built twice, once
 * recomputing whatever saves memory (mt_net_recompute_allowance 0) and once
 * recomputing nothing (SIZE_MAX; the activations then share the arena as
 * usual), stepped in alternating rounds on one random batch at one OpenMP
 * thread. Prints the nets' memory and, per model, the median and the best
 * step's CPU time of the calling thread (the time other processes take is not
 * counted):
 *   bench recompute model=... batch=... mb=... keep_mb=... median_ratio=... best_ratio=...
 * (ratio = time with recomputation / time keeping the activations).
 * Usage: recompute [ROUNDS]  (default 9)
 */
#include "core/clock.h"
#include "core/rng.h"
#include "core/status.h"
#include "models/resnet.h"
#include "models/sphere_resnet.h"
#include "nn/net.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { BATCH = 128, MAX_ROUNDS = 64 };

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int build(mt_net **net, int depth, int sphere, int keep)
{
    int rc = mt_net_create(net, BATCH, 3, 32, 32);
    if (rc < 0)
        return rc;
    mt_net_recompute_allowance(*net, keep ? SIZE_MAX : 0);
    if (sphere) {
        mt_sphere_resnet_cfg c = mt_sphere_resnet_default(depth, 100);
        c.width = MT_SPHERE_WIDTH_HE;
        rc = mt_sphere_resnet_build(*net, &c);
    } else {
        mt_resnet_cfg c = mt_resnet_default(depth, 100);
        rc = mt_resnet_build(*net, &c);
    }
    if (rc >= 0)
        rc = mt_net_finalize(*net, NULL, NULL, NULL);
    mt_rng r;
    mt_rng_seed(&r, 2, 0);
    return rc < 0 ? rc : mt_net_init(*net, &r);
}

static int measure(int depth, int sphere, int rounds, const float *x, const int *y)
{
    mt_net *net[2] = {NULL, NULL};
    double t[2][MAX_ROUNDS];
    mt_net_mem m[2];
    int rc = MT_OK;
    for (int k = 0; k < 2 && rc >= 0; k++)
        if ((rc = build(&net[k], depth, sphere, k)) >= 0)
            rc = mt_net_memory(net[k], &m[k]);
    for (int s = 0; s <= rounds && rc >= 0; s++)
        for (int k = 0; k < 2 && rc >= 0; k++) {
            mt_net_set_input(net[k], x, BATCH, y);
            double t0 = mt_thread_cpu_now();
            rc = mt_net_forward(net[k], 1);
            if (rc >= 0)
                rc = mt_net_backward(net[k]);
            if (s > 0) /* the first round warms up */
                t[k][s - 1] = mt_thread_cpu_now() - t0;
        }
    if (rc >= 0 && (!m[0].recomputed || m[1].recomputed))
        rc = mt_error(MT_ERR_LIB, "the nets do not differ in recomputation");
    if (rc >= 0) {
        for (int k = 0; k < 2; k++)
            qsort(t[k], (size_t)rounds, sizeof(double), by_value);
        printf("bench recompute model=%s%d batch=%d recomputed=%d mb=%.1f keep_mb=%.1f "
               "median_s=%.4f keep_median_s=%.4f median_ratio=%.3f best_ratio=%.3f\n",
               sphere ? "sphere-resnet-" : "resnet", depth, BATCH, m[0].recomputed, m[0].total / 1e6,
               m[1].total / 1e6, t[0][rounds / 2], t[1][rounds / 2],
               t[0][rounds / 2] / t[1][rounds / 2], t[0][0] / t[1][0]);
    }
    mt_net_free(net[0]);
    mt_net_free(net[1]);
    return rc;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 9;
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "recompute: ROUNDS %s: 1..%d\n", argc > 1 ? argv[1] : "", MAX_ROUNDS);
        return 2;
    }
    mt_set_threads(1);
    static float x[BATCH * 3 * 32 * 32];
    int y[BATCH];
    mt_rng r;
    mt_rng_seed(&r, 1, 0);
    for (size_t i = 0; i < sizeof x / sizeof *x; i++)
        x[i] = (float)mt_rng_normal(&r);
    for (int i = 0; i < BATCH; i++)
        y[i] = i % 100;
    static const int models[][2] = {{20, 0}, {32, 0}, {32, 1}}; /* depth, sphere */
    for (int k = 0; k < 3; k++)
        if (measure(models[k][0], models[k][1], rounds, x, y) < 0) {
            fprintf(stderr, "recompute: %s\n", mt_errmsg());
            return 1;
        }
    return 0;
}
