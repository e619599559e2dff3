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
#include "bench/lib/paired_steps.h"
#include "core/rng.h"
#include "core/status.h"
#include "models/resnet.h"
#include "models/sphere_resnet.h"
#include "nn/net.h"

#include <stdint.h>
#include <stdio.h>

enum { BATCH = 128 };

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
    double median[2], best[2];
    mt_net_mem m[2];
    int rc = MT_OK;
    for (int k = 0; k < 2 && rc >= 0; k++)
        if ((rc = build(&net[k], depth, sphere, k)) >= 0)
            rc = mt_net_memory(net[k], &m[k]);
    if (rc >= 0)
        rc = mt_paired_steps(net, x, y, BATCH, rounds, median, best);
    if (rc >= 0 && (!m[0].recomputed || m[1].recomputed))
        rc = mt_error(MT_ERR_LIB, "the nets do not differ in recomputation");
    if (rc >= 0)
        printf("bench recompute model=%s%d batch=%d recomputed=%d mb=%.1f keep_mb=%.1f "
               "median_s=%.4f keep_median_s=%.4f median_ratio=%.3f best_ratio=%.3f\n",
               sphere ? "sphere-resnet-" : "resnet", depth, BATCH, m[0].recomputed, m[0].total / 1e6,
               m[1].total / 1e6, median[0], median[1], median[0] / median[1], best[0] / best[1]);
    mt_net_free(net[0]);
    mt_net_free(net[1]);
    return rc;
}

int main(int argc, char **argv)
{
    int rounds = mt_paired_rounds("recompute", argc, argv, 9);
    if (rounds < 0)
        return 2;
    mt_set_threads(1);
    static float x[BATCH * 3 * 32 * 32];
    int y[BATCH];
    mt_paired_batch(x, y, BATCH, 100);
    static const int models[][2] = {{20, 0}, {32, 0}, {32, 1}}; /* depth, sphere */
    for (int k = 0; k < 3; k++)
        if (measure(models[k][0], models[k][1], rounds, x, y) < 0) {
            fprintf(stderr, "recompute: %s\n", mt_errmsg());
            return 1;
        }
    return 0;
}
