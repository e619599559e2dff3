/* report.h: a sweep's report: the mean ± sd table (terminal and Markdown),
 * report.md and the PNG figures.
 *
 * Figures (plot/plot.h, PLplot's cairo driver), per method; with more than
 * one method in the sweep each name ends in _METHOD (accuracy_vs_momentum_dana.png):
 *   accuracy_vs_momentum.png  final test top-1 vs momentum, one curve per
 *                             worker count, error bars ± one sd over repeats
 *                             (the paper's Figure 2); `auto` as a diamond of
 *                             the worker count's colour at the mean momentum
 *                             it used;
 *   heatmap.png               workers x momentum of the mean, the best
 *                             momentum of each worker count outlined;
 *   epochs_wW.png             test top-1 vs epoch for worker count W, one
 *                             curve per momentum (mean over the repeats that
 *                             did not diverge, band ± sd);
 * and, with more than one method:
 *   methods_vs_workers.png    each method's best mean over the momenta
 *                             against the worker count, error bars ± sd.
 * Accuracies are shown in percent. Diverged repeats do not enter means; the
 * table counts them.
 *
 * Not here: reading the cells (sweep/results.h).
 */
#ifndef MT_SWEEP_REPORT_H
#define MT_SWEEP_REPORT_H

#include "sweep/results.h"

#include <stdio.h>

/* The table of each method (headed by its name when the sweep has another
 * method than msgd): a row per worker count, a column per momentum, "mean ±
 * sd" of the final top-1 in percent, the best momentum of each row marked
 * with '*' and named in a last column. `markdown`: a Markdown table instead
 * of aligned text. stats: mt_sweep_stats's. */
void mt_sweep_table_print(FILE *f, const mt_sweep_spec *s, const mt_sweep_stat *stats,
                          int markdown);

/* The methods' comparison, for a sweep of several methods or with `auto` on
 * the momentum axis (else nothing): a row per worker count, a column per
 * method, the best mean ± sd over the momenta (auto included) and its
 * momentum; then, with auto, auto's mean minus that of the best fixed
 * momentum in points, with the mean momentum auto used and the best fixed
 * one. `markdown` as above. */
void mt_sweep_methods_table_print(FILE *f, const mt_sweep_spec *s, const mt_sweep_stat *stats,
                                  int markdown);

/* Writes report.md and the figures into `dir`; `figures` gets the figure
 * count written. */
int mt_sweep_report_write(const char *dir, const mt_sweep_spec *s, const mt_sweep_result *r,
                          int *figures);

#endif
