/* report.h: a sweep's report: the mean ± sd table (terminal and Markdown),
 * report.md and the PNG figures.
 *
 * Figures (plot/plot.h, PLplot's cairo driver):
 *   accuracy_vs_momentum.png  final test top-1 vs momentum, one curve per
 *                             worker count, error bars ± one sd over repeats
 *                             (the paper's Figure 2);
 *   heatmap.png               workers x momentum of the mean, the best
 *                             momentum of each worker count outlined;
 *   epochs_wW.png             test top-1 vs epoch for worker count W, one
 *                             curve per momentum (mean over the repeats that
 *                             did not diverge, band ± sd).
 * Accuracies are shown in percent. Diverged repeats do not enter means; the
 * table counts them.
 *
 * Not here: reading the cells (sweep/results.h).
 */
#ifndef MT_SWEEP_REPORT_H
#define MT_SWEEP_REPORT_H

#include "sweep/results.h"

#include <stdio.h>

/* The table: a row per worker count, a column per momentum, "mean ± sd" of
 * the final top-1 in percent, the best momentum of each row marked with '*'
 * and named in a last column. `markdown`: a Markdown table instead of
 * aligned text. */
void mt_sweep_table_print(FILE *f, const mt_sweep_spec *s, const mt_sweep_stat *stats,
                          int markdown);

/* Writes report.md and the figures into `dir`; `figures` gets the figure
 * count written. */
int mt_sweep_report_write(const char *dir, const mt_sweep_spec *s, const mt_sweep_result *r,
                          int *figures);

#endif
