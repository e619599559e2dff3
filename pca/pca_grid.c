/* pca_grid.c: many runs of the streaming-PCA simulation over a grid of
 * (momentum, delay) cells, in parallel over runs with OpenMP.
 *
 * Each run writes only its own slots of the result arrays and draws its
 * randomness from (seed, run index), so the results are the same bit for bit
 * for any number of threads. Statistics are computed afterwards, in a fixed
 * order (pca_stats.c). Not a scheduler of anything but these runs.
 */
#include "pca/pca.h"

#include "core/status.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

void mt_pca_grid_free(mt_pca_grid_result *r)
{
    free(r->error);
    free(r->diverged);
    free(r->trace);
    memset(r, 0, sizeof *r);
}

int mt_pca_grid_run(const mt_pca_grid_cfg *cfg, mt_pca_grid_result *out)
{
    memset(out, 0, sizeof *out);
    if (cfg->n_mu < 1 || cfg->n_tau < 1 || cfg->runs < 1)
        return mt_error(MT_ERR_ARG, "pca grid: %d momenta, %d delays, %d runs: each must be >= 1",
                        cfg->n_mu, cfg->n_tau, cfg->runs);
    if (cfg->threads < 0)
        return mt_error(MT_ERR_ARG, "pca grid: %d threads, expected >= 0", cfg->threads);
    /* Validate every cell here, on the calling thread, where the message is seen. */
    long work = 0;
    for (int i = 0; i < cfg->n_mu; i++)
        for (int j = 0; j < cfg->n_tau; j++) {
            mt_pca_run_cfg rc = cfg->base;
            rc.momentum = cfg->momenta[i];
            rc.delay = cfg->delays[j];
            int st = mt_pca_run_check(&rc);
            if (st < 0)
                return st;
            long w = mt_pca_run_work_size(&rc);
            if (w > work)
                work = w;
        }
    const int ck = cfg->base.checkpoints;
    const long total = (long)cfg->n_mu * cfg->n_tau * cfg->runs;
    int threads = cfg->threads > 0 ? cfg->threads : omp_get_max_threads();
    out->n_mu = cfg->n_mu;
    out->n_tau = cfg->n_tau;
    out->runs = cfg->runs;
    out->checkpoints = ck;
    out->iters = cfg->base.iters;
    out->threads = threads;
    out->error = malloc((size_t)total * sizeof *out->error);
    out->diverged = malloc((size_t)total * sizeof *out->diverged);
    out->trace = ck > 0 ? malloc((size_t)total * ck * sizeof *out->trace) : NULL;
    double *scratch = malloc((size_t)threads * work * sizeof *scratch);
    if (!out->error || !out->diverged || (ck > 0 && !out->trace) || !scratch) {
        free(scratch);
        mt_pca_grid_free(out);
        return mt_error(MT_ERR_NOMEM, "pca grid: out of memory for %ld runs", total);
    }

    double t0 = omp_get_wtime();
    long done = 0, reported = 0;
    const long step = total / 200 > 0 ? total / 200 : 1;
    /* Runs with the largest delays first: they cost the same per step but
     * finish last otherwise; the order does not change any result. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long n = 0; n < total; n++) {
        long idx = total - 1 - n;
        int r = (int)(idx % cfg->runs);
        int j = (int)(idx / cfg->runs % cfg->n_tau);
        int i = (int)(idx / cfg->runs / cfg->n_tau);
        mt_pca_run_cfg rc = cfg->base;
        rc.momentum = cfg->momenta[i];
        rc.delay = cfg->delays[j];
        mt_pca_run_result res;
        double *w = scratch + (size_t)omp_get_thread_num() * work;
        mt_pca_run(&rc, cfg->seed, (uint64_t)r, w, ck > 0 ? out->trace + idx * ck : NULL, NULL, &res);
        out->error[idx] = res.error;
        out->diverged[idx] = (unsigned char)res.diverged;
        if (cfg->progress) {
            long now;
#pragma omp atomic capture
            now = ++done;
            long last;
#pragma omp atomic read
            last = reported;
            if (now - last >= step || now == total) {
#pragma omp critical(mt_pca_progress)
                {
                    if (now > reported) {
#pragma omp atomic write
                        reported = now;
                        cfg->progress(now, total, cfg->progress_ctx);
                    }
                }
            }
        }
    }
    out->seconds = omp_get_wtime() - t0;
    free(scratch);
    return MT_OK;
}
