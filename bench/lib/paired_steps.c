/* paired_steps.c: see paired_steps.h. */
#include "bench/lib/paired_steps.h"

#include "core/clock.h"
#include "core/rng.h"
#include "core/status.h"

#include <stdio.h>
#include <stdlib.h>

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void mt_paired_batch(float *x, int *y, int batch, int classes)
{
    mt_rng r;
    mt_rng_seed(&r, 1, 0);
    for (size_t i = 0; i < (size_t)batch * 3 * 32 * 32; i++)
        x[i] = (float)mt_rng_normal(&r);
    for (int i = 0; i < batch; i++)
        y[i] = i % classes;
}

int mt_paired_steps(mt_net *const net[2], const float *x, const int *y, int batch, int rounds,
                    double median[2], double best[2])
{
    double t[2][MT_PAIRED_MAX_ROUNDS];
    if (rounds < 1 || rounds > MT_PAIRED_MAX_ROUNDS)
        return mt_error(MT_ERR_ARG, "rounds %d (1..%d)", rounds, MT_PAIRED_MAX_ROUNDS);
    int rc = MT_OK;
    for (int s = 0; s <= rounds && rc >= 0; s++)
        for (int k = 0; k < 2 && rc >= 0; k++) {
            rc = mt_net_set_input(net[k], x, batch, y);
            double t0 = mt_thread_cpu_now();
            if (rc >= 0)
                rc = mt_net_forward(net[k], 1);
            if (rc >= 0)
                rc = mt_net_backward(net[k]);
            if (s > 0) /* the first round warms up */
                t[k][s - 1] = mt_thread_cpu_now() - t0;
        }
    if (rc < 0)
        return rc;
    for (int k = 0; k < 2; k++) {
        qsort(t[k], (size_t)rounds, sizeof(double), by_value);
        median[k] = t[k][rounds / 2];
        best[k] = t[k][0];
    }
    return MT_OK;
}

int mt_paired_rounds(const char *prog, int argc, char **argv, int def)
{
    int rounds = argc > 1 ? atoi(argv[1]) : def;
    if (rounds < 1 || rounds > MT_PAIRED_MAX_ROUNDS) {
        fprintf(stderr, "%s: ROUNDS %s: 1..%d\n", prog, argc > 1 ? argv[1] : "",
                MT_PAIRED_MAX_ROUNDS);
        return -1;
    }
    return rounds;
}
