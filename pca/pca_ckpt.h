/* pca_ckpt.h: a streaming-PCA grid's progress on disk, so that a `mutau pca`
 * stopped by Ctrl-C, killed or cut off by a power loss continues where it was
 * and ends with the same files, bit for bit, as a run that was never stopped.
 *
 * The file (MT_PCA_CKPT_FILE in the output directory) is a core/checkpoint.h
 * checkpoint: written to a temporary file, fsync'ed and renamed, CRC-checked
 * on reading. Its sections:
 *
 *   settings    int64 format, d, diagonal, n_mu, n_tau, runs, checkpoints,
 *               delay_dist, data, random_init, write_runs, iters, seed;
 *               double lr, divergence bound, tolerance factor, seconds
 *   sigma       (d, d) the covariance as resolved, not the file it came from
 *   v0          (d) the start vector; empty for a random start per run
 *   momenta     (n_mu) double;  delays (n_tau) int32
 *   sigma_text, init_text   how Sigma and v0 were given (for the report)
 *   cells       (n_mu n_tau) bytes, 1 for a completed cell
 *   error, diverged, trace  the per-run results of the completed cells, in
 *               cell order (runs x 8, runs x 1, runs x checkpoints x 8 bytes
 *               per cell)
 *
 * So a checkpoint needs nothing else to be resumed: every setting that
 * changes a number is in it. Numbers are in the machine's byte order: a
 * checkpoint resumes on the same kind of machine.
 *
 * Not here: when to stop (the grid's stop callback), the report files.
 */
#ifndef MT_PCA_CKPT_H
#define MT_PCA_CKPT_H

#include "pca/pca.h"
#include "pca/pca_report.h"

#define MT_PCA_CKPT_FILE "progress.bin"

/* A grid read back from a checkpoint, ready to continue: grid.base.cov,
 * grid.momenta, grid.delays and grid.base.v0 point into this struct; threads,
 * progress and the callbacks are left for the caller. */
typedef struct {
    mt_pca_grid_cfg grid;
    mt_pca_cov cov;
    double *momenta;
    int *delays;
    double *v0;           /* NULL: a random start per run */
    double factor;        /* the report's tolerance */
    int write_runs;
    char sigma_text[256], init_text[256];
} mt_pca_saved;

/* Writes a grid's progress, now or after completed cells. */
typedef struct {
    char path[1024];
    const mt_pca_report *setup; /* the grid and what the report needs; result and out_dir unused */
    double *error;              /* staging: the completed cells packed in cell order */
    unsigned char *diverged;
    double *trace;
    double seconds_before;      /* grid seconds of the earlier parts */
    double t_open, last_end, last_cost;
    long saves;
} mt_pca_ckpt;

/* Prepares to write `path` for setup->grid (allocates a copy of the results'
 * size for the packed cells). `res` is the result the grid will fill (its
 * seconds are those of earlier parts). */
int mt_pca_ckpt_open(mt_pca_ckpt *w, const char *path, const mt_pca_report *setup,
                     const mt_pca_grid_result *res);

/* Writes every completed cell of res now. */
int mt_pca_ckpt_save(mt_pca_ckpt *w, const mt_pca_grid_result *res);

/* A grid's cell_done callback (ctx: the mt_pca_ckpt): saves after a
 * completed cell unless the last save took more than 5% of the time since
 * it ended, so that saving never costs more than about 5% of the run: a
 * killed grid loses the cells in flight and at most those completed in the
 * last 20 save-durations. */
int mt_pca_ckpt_on_cell(const mt_pca_grid_result *res, long cell, void *ctx);

void mt_pca_ckpt_close(mt_pca_ckpt *w);

/* Reads and checks `path`: the settings into `saved` and the completed cells
 * into `res` (allocated here, as by mt_pca_grid_init). MT_ERR_IO when the file
 * cannot be read, MT_ERR_FORMAT (or MT_ERR_ARG for a setting out of range)
 * naming the file and the field or section at fault otherwise. */
int mt_pca_ckpt_load(const char *path, mt_pca_saved *saved, mt_pca_grid_result *res);

void mt_pca_saved_free(mt_pca_saved *s);

#endif
