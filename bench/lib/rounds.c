/* rounds.c: alternating rounds of steps (see rounds.h). */
#include "bench/lib/rounds.h"

#include "core/status.h"

#include <stdlib.h>

int mt_rounds_run(mt_rounds *r, mt_bench_net *const *nets, int n_nets, mt_torch_peer *torch,
                  int depth, int threads, int batch, int warmup, int steps, int rounds)
{
    int sides = n_nets + (torch != NULL);
    if (n_nets < 0 || sides < 1 || sides > MT_ROUNDS_MAX_SIDES || rounds < 1 ||
        rounds > MT_ROUNDS_MAX)
        return mt_error(MT_ERR_ARG, "bench: %d sides (1..%d) and %d rounds (1..%d)", sides,
                        MT_ROUNDS_MAX_SIDES, rounds, MT_ROUNDS_MAX);
    r->rounds = rounds;
    r->sides = sides;
    for (int k = 0; k < sides; k++) {
        r->best_s[k] = r->best_cpu_s[k] = 1e30;
        r->mean_s[k] = 0;
    }
    for (int i = 0; i < rounds; i++) {
        int warm = i == 0 ? warmup : 1;
        for (int k = 0; k < n_nets; k++) {
            mt_step_timing tm;
            int rc = mt_bench_net_run(nets[k], threads, warm, steps, NULL, &tm);
            if (rc < 0)
                return rc;
            r->round_s[k][i] = tm.best_s;
            r->mean_s[k] += tm.mean_s / rounds;
            r->best_s[k] = tm.best_s < r->best_s[k] ? tm.best_s : r->best_s[k];
            r->best_cpu_s[k] = tm.best_cpu_s < r->best_cpu_s[k] ? tm.best_cpu_s : r->best_cpu_s[k];
        }
        if (torch) {
            double ips, cips;
            int rc = mt_torch_peer_run(torch, depth, threads, batch, warm, steps, &ips, &cips);
            if (rc < 0)
                return rc;
            double s = batch / ips, c = batch / cips;
            r->round_s[n_nets][i] = s;
            r->best_s[n_nets] = s < r->best_s[n_nets] ? s : r->best_s[n_nets];
            r->best_cpu_s[n_nets] = c < r->best_cpu_s[n_nets] ? c : r->best_cpu_s[n_nets];
        }
    }
    return MT_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double mt_bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double mt_rounds_median_ratio(const mt_rounds *r, int a, int b)
{
    double v[MT_ROUNDS_MAX];
    for (int i = 0; i < r->rounds; i++)
        v[i] = r->round_s[b][i] / r->round_s[a][i];
    return mt_bench_median(v, r->rounds);
}

double mt_rounds_best_ratio(const mt_rounds *r, int a, int b)
{
    return r->best_s[b] / r->best_s[a];
}

double mt_rounds_cpu_ratio(const mt_rounds *r, int a, int b)
{
    return r->best_cpu_s[b] / r->best_cpu_s[a];
}
