/* pca_grid.c: many runs of the streaming-PCA simulation over a grid of
 * (momentum, delay) cells, in parallel over runs with OpenMP, and able to stop
 * early and continue later.
 *
 * Each run writes only its own slots of the result arrays and draws its
 * randomness from (seed, run index), so the results are the same bit for bit
 * for any number of threads, in any order, and when a grid is stopped and
 * continued. Statistics are computed afterwards, in a fixed order
 * (pca_stats.c). What is kept across a stop is whole cells: a run in flight
 * is abandoned, and a cell counts only when all its runs are in. Not a
 * scheduler of anything but these runs, and not the file that holds a stopped
 * grid (pca_ckpt.h).
 */
#include "pca/pca.h"

#include "core/status.h"

#include <omp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mt_pca_grid_free(mt_pca_grid_result *r)
{
    free(r->error);
    free(r->diverged);
    free(r->trace);
    free(r->cell_done);
    memset(r, 0, sizeof *r);
}

uint64_t mt_pca_grid_result_bytes(const mt_pca_grid_cfg *cfg)
{
    const uint64_t runs = (uint64_t)cfg->n_mu * (uint64_t)cfg->n_tau * (uint64_t)cfg->runs;
    const uint64_t ck = cfg->base.checkpoints > 0 ? (uint64_t)cfg->base.checkpoints : 0;
    /* Per run: its error (a double), its divergence flag (a byte) and its trace. */
    return runs * (sizeof(double) + 1 + ck * sizeof(double));
}

int mt_pca_grid_init(const mt_pca_grid_cfg *cfg, mt_pca_grid_result *out)
{
    memset(out, 0, sizeof *out);
    if (cfg->n_mu < 1 || cfg->n_tau < 1 || cfg->runs < 1)
        return mt_error(MT_ERR_ARG, "pca grid: %d momenta, %d delays, %d runs: each must be >= 1",
                        cfg->n_mu, cfg->n_tau, cfg->runs);
    if (cfg->threads < 0)
        return mt_error(MT_ERR_ARG, "pca grid: %d threads, expected >= 0", cfg->threads);
    if (cfg->base.checkpoints < 0 || mt_pca_grid_result_bytes(cfg) > MT_PCA_MAX_RESULT_BYTES)
        return mt_error(MT_ERR_ARG,
                        "pca grid: %d momenta x %d delays x %d runs with %d checkpoints would keep %.1f GB of "
                        "results, more than the limit of %.1f GB: lower --runs, --checkpoints or the grid",
                        cfg->n_mu, cfg->n_tau, cfg->runs, cfg->base.checkpoints,
                        (double)mt_pca_grid_result_bytes(cfg) / 1e9, (double)MT_PCA_MAX_RESULT_BYTES / 1e9);
    /* Validate every cell here, on the calling thread, where the message is seen. */
    for (int i = 0; i < cfg->n_mu; i++)
        for (int j = 0; j < cfg->n_tau; j++) {
            mt_pca_run_cfg rc = cfg->base;
            rc.momentum = cfg->momenta[i];
            rc.delay = cfg->delays[j];
            int st = mt_pca_run_check(&rc);
            if (st < 0)
                return st;
        }
    const int ck = cfg->base.checkpoints;
    const long cells = (long)cfg->n_mu * cfg->n_tau;
    const long total = cells * cfg->runs;
    out->n_mu = cfg->n_mu;
    out->n_tau = cfg->n_tau;
    out->runs = cfg->runs;
    out->checkpoints = ck;
    out->iters = cfg->base.iters;
    out->error = malloc((size_t)total * sizeof *out->error);
    out->diverged = malloc((size_t)total * sizeof *out->diverged);
    out->trace = ck > 0 ? malloc((size_t)total * ck * sizeof *out->trace) : NULL;
    out->cell_done = calloc((size_t)cells, sizeof *out->cell_done);
    if (!out->error || !out->diverged || (ck > 0 && !out->trace) || !out->cell_done) {
        mt_pca_grid_free(out);
        return mt_error(MT_ERR_NOMEM, "pca grid: out of memory for %ld runs", total);
    }
    return MT_OK;
}

/* The stop request as the workers see it: once anyone has seen it (or a
 * callback failed), everyone sees it without asking cfg->stop again. */
typedef struct {
    const mt_pca_grid_cfg *cfg;
    atomic_int stopped;
} grid_stop;

static int grid_should_stop(void *ctx)
{
    grid_stop *s = ctx;
    if (atomic_load_explicit(&s->stopped, memory_order_relaxed))
        return 1;
    if (s->cfg->stop && s->cfg->stop(s->cfg->stop_ctx)) {
        atomic_store(&s->stopped, 1);
        return 1;
    }
    return 0;
}

int mt_pca_grid_continue(const mt_pca_grid_cfg *cfg, mt_pca_grid_result *out)
{
    const long cells = (long)cfg->n_mu * cfg->n_tau;
    const int runs = cfg->runs, ck = cfg->base.checkpoints;
    if (out->n_mu != cfg->n_mu || out->n_tau != cfg->n_tau || out->runs != runs || out->checkpoints != ck ||
        !out->cell_done)
        return mt_error(MT_ERR_ARG, "pca grid: the result is not of this grid (%d x %d x %d runs)", cfg->n_mu,
                        cfg->n_tau, runs);
    long work = 0;
    for (int j = 0; j < cfg->n_tau; j++) {
        mt_pca_run_cfg rc = cfg->base;
        rc.delay = cfg->delays[j];
        long w = mt_pca_run_work_size(&rc);
        if (w > work)
            work = w;
    }
    /* The cells still to run, the largest delays first: they cost the same
     * per step but would finish last otherwise; the order changes no result. */
    long *todo = malloc((size_t)cells * sizeof *todo);
    atomic_int *left = malloc((size_t)cells * sizeof *left);
    int threads = cfg->threads > 0 ? cfg->threads : omp_get_max_threads();
    double *scratch = malloc((size_t)threads * work * sizeof *scratch);
    if (!todo || !left || !scratch) {
        free(todo), free(left), free(scratch);
        return mt_error(MT_ERR_NOMEM, "pca grid: out of memory for %d threads", threads);
    }
    long n_todo = 0;
    for (long c = cells - 1; c >= 0; c--)
        if (!out->cell_done[c]) {
            atomic_init(&left[n_todo], runs);
            todo[n_todo++] = c;
        }
    out->threads = threads;

    grid_stop gs = {.cfg = cfg};
    atomic_init(&gs.stopped, 0);
    int failed = MT_OK;
    char fail_msg[512] = "";
    const long total = cells * runs, runs_todo = n_todo * runs;
    long done = total - runs_todo, reported = done;
    const long step = total / 200 > 0 ? total / 200 : 1;
    double t0 = omp_get_wtime();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long n = 0; n < runs_todo; n++) {
        if (grid_should_stop(&gs))
            continue; /* no new run once stopping; OpenMP has no break */
        const long k = n / runs, cell = todo[k];
        const int r = runs - 1 - (int)(n % runs);
        const long idx = cell * runs + r;
        mt_pca_run_cfg rc = cfg->base;
        rc.momentum = cfg->momenta[cell / cfg->n_tau];
        rc.delay = cfg->delays[cell % cfg->n_tau];
        rc.stop = grid_should_stop;
        rc.stop_ctx = &gs;
        mt_pca_run_result res;
        double *w = scratch + (size_t)omp_get_thread_num() * work;
        if (mt_pca_run(&rc, cfg->seed, (uint64_t)r, w, ck > 0 ? out->trace + idx * ck : NULL, NULL, &res) < 0)
            continue; /* abandoned: its cell is not complete */
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
        /* The last run of a cell to finish publishes it; the sequentially
         * consistent decrement orders every run's writes before the reads of
         * whoever sees the count reach zero. */
        if (atomic_fetch_sub(&left[k], 1) == 1) {
#pragma omp critical(mt_pca_cell_done)
            {
                out->cell_done[cell] = 1;
                out->cells_done++;
                if (cfg->cell_done && failed == MT_OK) {
                    int st = cfg->cell_done(out, cell, cfg->cell_ctx);
                    if (st < 0) {
                        /* Messages are per thread: carry it to the caller's. */
                        failed = st;
                        snprintf(fail_msg, sizeof fail_msg, "%s", mt_errmsg());
                        atomic_store(&gs.stopped, 1);
                    }
                }
            }
        }
    }
    out->seconds += omp_get_wtime() - t0;
    free(scratch);
    free(todo);
    free(left);
    if (failed < 0)
        return mt_error(failed, "%s", fail_msg);
    if (out->cells_done < cells)
        return mt_error(MT_ERR_INTERRUPTED, "pca grid: stopped with %ld of %ld cells done", out->cells_done,
                        cells);
    return MT_OK;
}

int mt_pca_grid_run(const mt_pca_grid_cfg *cfg, mt_pca_grid_result *out)
{
    int rc = mt_pca_grid_init(cfg, out);
    if (rc < 0)
        return rc;
    rc = mt_pca_grid_continue(cfg, out);
    if (rc < 0 && rc != MT_ERR_INTERRUPTED)
        mt_pca_grid_free(out);
    return rc;
}
