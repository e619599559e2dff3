/* results.h: what a sweep's cells produced, read back from their run
 * directories, as results.csv and as per-(workers, momentum) statistics.
 *
 * Every number comes from the cell's own files: final.json (status, final
 * test accuracy, epochs), log.csv (best accuracy over the evaluated epochs,
 * images/s, wall time, the per-epoch curve) and config.json (the mode, delay
 * and worker count the trainer recorded, when it records them). A cell that
 * never started, or whose process failed without a final status, has the
 * status "pending" or "failed" (the sweep's cell.json says which, and the CPU
 * time its processes used: on a shared machine the honest measure of cost).
 *
 * Not here: running cells, drawing (sweep/report.h).
 */
#ifndef MT_SWEEP_RESULTS_H
#define MT_SWEEP_RESULTS_H

#include "sweep/grid.h"

#include <stdio.h>

typedef struct {
    mt_sweep_cell cell;
    char status[16];          /* completed, diverged, interrupted, running, failed, pending */
    char mode[16];
    long delay;               /* the fixed (mean) delay of delay mode; -1 = none */
    double final_top1, final_top5; /* final.json's test evaluation; NaN when absent */
    double best_top1, best_top5;   /* best over log.csv's evaluated epochs (those with a
                                      finite loss); NaN when none */
    int best_epoch;           /* the epoch of best_top1; 0 when none */
    int epochs_done, epochs;  /* completed / planned */
    double tau_mean, tau_max; /* staleness over the run; 0 for single-process runs; NaN unknown */
    double momentum_used;     /* mean of log.csv's momentum column (the mu of each epoch; with
                                 auto, what the rule chose); NaN when the log has none */
    double images_per_s;      /* mean of log.csv's per-epoch values; NaN when none */
    double wall_seconds;      /* sum of log.csv's epoch times (across resumes); NaN when none */
    double cpu_seconds;       /* CPU time of the cell's processes (cell.json); NaN when unknown */
    char message[256];        /* final.json's message or the failure */
    /* the per-epoch curve (log.csv rows with an evaluation) */
    int n_curve;
    int *curve_epoch;
    double *curve_top1;
} mt_sweep_result;

/* Reads cell c of spec s from dir/c->name into r (r->curve_* allocated).
 * A missing or unreadable run directory is not an error: the status says
 * pending or failed and the message why. */
int mt_sweep_result_read(const mt_sweep_spec *s, const mt_sweep_cell *c, const char *dir,
                         mt_sweep_result *r);
void mt_sweep_result_free(mt_sweep_result *r);

/* All cells of the sweep in dir, in cell order (n = mt_sweep_cell_count).
 * *out is allocated; free with mt_sweep_results_free. */
int mt_sweep_results_read(const mt_sweep_spec *s, const char *dir, mt_sweep_result **out);
void mt_sweep_results_free(mt_sweep_result *r, int n);

/* results.csv: a header and one row per cell, written atomically. momentum
 * is empty for `auto` (momentum_used says what it chose); method is the
 * update rule (msgd in sweeps made before the method axis). */
#define MT_SWEEP_RESULTS_HEADER                                                                \
    "cell,workers,momentum,method,momentum_used,mode,delay,repeat,seed,final_top1,final_top5," \
    "best_top1,best_top5,"                                                                     \
    "best_epoch,epochs,epochs_planned,staleness_mean,staleness_max,images_per_s,wall_seconds,"  \
    "cpu_seconds,status"
int mt_sweep_results_write_csv(const char *path, const mt_sweep_result *r, int n);

/* Reads every cell of the sweep in dir again into *res (freeing what *res
 * held; NULL the first time) and rewrites dir/results.csv from it. */
int mt_sweep_results_update(const mt_sweep_spec *s, const char *dir, mt_sweep_result **res);

/* Mean and sample standard deviation over the completed repeats of one
 * (method, workers, momentum); sd is NaN with fewer than 2 values. */
typedef struct {
    mt_method_kind method;
    int workers;
    double momentum;   /* or MT_SWEEP_MU_AUTO */
    double used;       /* mean momentum_used of the completed repeats; NaN unknown */
    int n;             /* completed repeats */
    int diverged;      /* diverged repeats */
    int other;         /* repeats neither completed nor diverged (pending, failed, ...) */
    double mean, sd;   /* of final top-1 */
    double best_mean;  /* mean of best top-1 */
} mt_sweep_stat;

/* stats has mt_sweep_stat_count(s) = n_methods x n_workers x n_momentum
 * entries: a block of n_workers x n_momentum per method (in the spec's
 * order), row-major (workers, momentum). */
int mt_sweep_stat_count(const mt_sweep_spec *s);
void mt_sweep_stats(const mt_sweep_spec *s, const mt_sweep_result *r, mt_sweep_stat *stats);

/* Method q's block of stats. */
const mt_sweep_stat *mt_sweep_stats_of(const mt_sweep_spec *s, const mt_sweep_stat *stats, int q);

/* In one method's block: the momentum index with the highest mean final
 * top-1 in row w (auto included), or -1 when no cell of the row has a
 * completed repeat; _fixed leaves auto out. */
int mt_sweep_best_momentum(const mt_sweep_spec *s, const mt_sweep_stat *block, int w);
int mt_sweep_best_fixed_momentum(const mt_sweep_spec *s, const mt_sweep_stat *block, int w);

/* The index of auto on the momentum axis, or -1. */
int mt_sweep_auto_index(const mt_sweep_spec *s);

#endif
