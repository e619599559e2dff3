/* fused_tail.c: what the fused batch norm + residual add (nn/bn_add.c)
 * saves: the same network built twice, its identity-shortcut blocks ending
 * in the fused layer or in batch norm then add (mt_resnet_cfg.tail),
 * with the same parameters, stepped in alternating rounds on one random
 * batch at one OpenMP thread. Prints, per model and precision, the median
 * and the best step's CPU time of the calling thread (the time other
 * processes take is not counted) and their ratios:
 *   bench fused_tail model=... precision=... median_s=... unfused_median_s=...
 *         median_ratio=... best_ratio=...
 * (ratio = fused / unfused: below 1 the fusion is faster). bf16 runs only on
 * a CPU with native bf16.
 * Usage: fused_tail [ROUNDS]  (default 9)
 */
#include "bench/lib/paired_steps.h"
#include "core/rng.h"
#include "core/status.h"
#include "models/resnet.h"
#include "models/sphere_resnet.h"
#include "nn/net.h"

#include <stdio.h>

enum { BATCH = 128 };

static int build(mt_net **net, int depth, int sphere, int precision, int unfused)
{
    int rc = mt_net_create(net, BATCH, 3, 32, 32);
    if (rc < 0)
        return rc;
    if (sphere) {
        mt_sphere_resnet_cfg c = mt_sphere_resnet_default(depth, 100);
        c.width = MT_SPHERE_WIDTH_HE;
        c.precision = precision;
        c.tail = unfused ? MT_TAIL_UNFUSED : MT_TAIL_FUSED;
        rc = mt_sphere_resnet_build(*net, &c);
    } else {
        mt_resnet_cfg c = mt_resnet_default(depth, 100);
        c.precision = precision;
        c.tail = unfused ? MT_TAIL_UNFUSED : MT_TAIL_FUSED;
        rc = mt_resnet_build(*net, &c);
    }
    if (rc >= 0)
        rc = mt_net_finalize(*net, NULL, NULL, NULL);
    mt_rng r;
    mt_rng_seed(&r, 2, 0);
    return rc < 0 ? rc : mt_net_init(*net, &r);
}

static int measure(int depth, int sphere, int precision, int rounds, const float *x,
                   const int *y)
{
    mt_net *net[2] = {NULL, NULL};
    double median[2], best[2];
    int rc = MT_OK;
    for (int k = 0; k < 2 && rc >= 0; k++)
        rc = build(&net[k], depth, sphere, precision, k);
    if (rc >= 0 && mt_net_signature(net[0]) != mt_net_signature(net[1]))
        rc = mt_error(MT_ERR_LIB, "the fused and unfused nets sign differently");
    if (rc >= 0)
        rc = mt_paired_steps(net, x, y, BATCH, rounds, median, best);
    if (rc >= 0)
        printf("bench fused_tail model=%s%d precision=%s batch=%d median_s=%.4f "
               "unfused_median_s=%.4f median_ratio=%.3f best_ratio=%.3f\n",
               sphere ? "sphere-resnet-" : "resnet", depth, mt_precision_name(precision), BATCH,
               median[0], median[1], median[0] / median[1], best[0] / best[1]);
    mt_net_free(net[0]);
    mt_net_free(net[1]);
    return rc;
}

int main(int argc, char **argv)
{
    int rounds = mt_paired_rounds("fused_tail", argc, argv, 9);
    if (rounds < 0)
        return 2;
    mt_set_threads(1);
    static float x[BATCH * 3 * 32 * 32];
    int y[BATCH];
    mt_paired_batch(x, y, BATCH, 100);
    static const int models[][2] = {{20, 0}, {32, 0}, {32, 1}}; /* depth, sphere */
    for (int p = 0; p < 2; p++) {
        if (p == MT_BF16 && !mt_bf16_supported())
            break;
        for (int k = 0; k < 3; k++)
            if (measure(models[k][0], models[k][1], p, rounds, x, y) < 0) {
                fprintf(stderr, "fused_tail: %s\n", mt_errmsg());
                return 1;
            }
    }
    return 0;
}
