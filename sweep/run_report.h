/* run_report.h: the report of one run directory (made by `mutau train`, or a
 * cell of a sweep): its curves and its staleness, as the sweep's report
 * (sweep/report.h) draws a whole grid.
 *
 * Reads, from the run directory:
 *   config.json  the model, the data and which split was evaluated
 *   log.csv      one row per epoch: epoch, train_loss, train_acc and the
 *                evaluated split's <split>_loss, <split>_top1 (the first
 *                column ending in _top1 names the split)
 *   final.json   status, the final test evaluation, and, when the run had
 *                workers, staleness.histogram: [tau, count] pairs
 *   steps.csv    (optional) one row per logged step, the columns exactly
 *                step,epoch,lr,loss,tau_mean,images_per_s
 * and writes into the output directory:
 *   loss.png          training and evaluation loss per epoch
 *   accuracy.png      training and evaluation top-1 per epoch (percent)
 *   loss_steps.png    the training loss per logged step (with steps.csv)
 *   staleness.png     how many gradients had each staleness tau (with a
 *                     histogram in final.json)
 *   report.md         the run's settings, results and figures
 * Epoch axes tick at whole epochs. Every figure and table names the split it
 * shows.
 *
 * Not here: sweeps (sweep/report.h), drawing (plot/plot.h).
 */
#ifndef MT_SWEEP_RUN_REPORT_H
#define MT_SWEEP_RUN_REPORT_H

#include <stdio.h>

/* Whether `dir` holds a run (its config.json and log.csv). */
int mt_run_report_is_run(const char *dir);

/* Writes the figures and report.md of the run in `run` into `out`, and a
 * few lines of summary to `summary` (NULL: none). *figures gets the number
 * of figures written. MT_ERR_FORMAT naming the file when one is malformed. */
int mt_run_report_write(const char *run, const char *out, FILE *summary, int *figures);

#endif
