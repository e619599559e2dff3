/* pca_report.h: the files a streaming-PCA grid leaves in its output
 * directory, and the table of optimal delays printed at the end.
 *
 *   results.csv      one row per (momentum, delay): the spread of the error over runs
 *   runs.csv         one row per run (optional)
 *   trace.csv        the mean error over runs at each checkpoint, per cell
 *   summary.json     every setting, the optimal delays, the scaling fits, the timing
 *   figure1.png      error vs delay, one curve per momentum, the interquartile
 *                    range shaded, log10 error axis (the paper's Figure 1)
 *   convergence.png  error vs iteration at the smallest delay, one curve per
 *                    momentum: evidence that the iteration budget suffices
 *   optimal_delay.png  the optimal delay vs momentum: measured, the paper's,
 *                    the linear-stability limit and the fitted theory c (1 - mu)^2
 *   heatmap.png      log10 mean error per (momentum, delay), optimal delays outlined
 *   methods.csv      with several methods: the optimal delay per method and momentum
 *
 * Not the simulation (pca.h) nor its statistics (pca_stats.h).
 */
#ifndef MT_PCA_REPORT_H
#define MT_PCA_REPORT_H

#include "pca/pca.h"

#include <stdio.h>

typedef struct {
    const mt_pca_grid_cfg *grid;
    const mt_pca_grid_result *result;
    const char *out_dir;     /* must exist */
    double factor;           /* the optimal delay's tolerance: mean <= factor x the tau = 0 mean */
    int write_runs;          /* write runs.csv */
    const char *sigma_text;  /* how Sigma was given, e.g. "diag(4,3,2,1)" or a file name */
    const char *init_text;   /* how v0 was chosen, e.g. "saddle (0,1,0,0)" */
} mt_pca_report;

/* Writes every file above into out_dir and prints the optimal-delay table to
 * `table` (may be NULL). Errors name the file that could not be written. */
int mt_pca_report_write(const mt_pca_report *r, FILE *table);

/* The optimal delay of every momentum of a finished grid as an index into its
 * delays (-1: none), whether it is censored, and the mean error at the first
 * delay; each array (n_mu). */
int mt_pca_optimal_delays(const mt_pca_grid_cfg *g, const mt_pca_grid_result *res, double factor, int *opt,
                          int *censored, double *err0);

/* One method's row of the comparison (arrays of n_mu, from mt_pca_optimal_delays). */
typedef struct {
    const char *name;
    const int *opt, *censored;
    const double *err0;
} mt_pca_method_row;

/* `mutau pca --method LIST`: dir/methods.csv (method, momentum, error at the
 * first delay, optimal delay, censored) for n methods run on the grid g, and
 * the table of optimal delays per method and momentum to `table` (may be NULL). */
int mt_pca_methods_write(const mt_pca_grid_cfg *g, const mt_pca_method_row *rows, int n, double factor,
                         const char *dir, FILE *table);

/* The names used for the enums in files and flags. */
const char *mt_pca_delay_name(mt_pca_delay_dist d);
const char *mt_pca_data_name(mt_pca_data_dist d);

#endif
