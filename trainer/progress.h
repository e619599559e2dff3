/* progress.h: what a training loop shows while it runs.
 *
 * On a terminal (or --progress bar) one line per epoch redrawn in place:
 *   epoch  3/200 [#########.........] 120/390  2431 img/s  loss 1.2345  ETA 1:02:10
 * at most ten times a second, on stderr; when the output is not a terminal
 * (--progress plain) no bar, only the per-epoch summary lines on stdout;
 * quiet prints nothing but errors. The ETA covers the whole run (the remaining
 * steps at the current epoch's speed). Unless quiet, one line early in the run
 * says how long it will take, timed over its first steps (after the first,
 * which builds oneDNN's primitives):
 *   estimate: about 3h 12m for 200 epochs (78000 steps at 0.148 s a step, ...)
 *
 * Not here: the numbers themselves (the trainer measures them) or log.csv.
 */
#ifndef MT_TRAINER_PROGRESS_H
#define MT_TRAINER_PROGRESS_H

#include "core/clock.h"
#include "trainer/config.h"

#include <stdint.h>
#include <stdio.h>

typedef struct {
    int mode;             /* resolved: BAR, PLAIN or QUIET */
    int epochs;
    int64_t total_steps;  /* of the whole run */
    int epoch;
    int batches;          /* in this epoch */
    double t_start;       /* of this epoch's measured part */
    int first_index;      /* batch index at t_start */
    double t_last_draw;
    int batch_size;
    /* the run's duration, estimated once from its first steps */
    int64_t est_from; /* step when timing began; -1: not yet */
    double est_t0;
    int estimated;
} mt_progress;


/* mode AUTO becomes BAR when stderr is a terminal, else PLAIN. */
void mt_progress_init(mt_progress *p, int mode, int epochs, int64_t total_steps, int batch_size);

void mt_progress_epoch_begin(mt_progress *p, int epoch, int batches, int first_index);

/* After batch `index` (0-based) of the epoch; `step` is the global step done. */
void mt_progress_step(mt_progress *p, int index, int64_t step, double loss);

/* Clears the bar; the caller then prints the epoch's summary with
 * mt_progress_line. */
void mt_progress_epoch_end(mt_progress *p);

/* A line to stdout (unless quiet), after clearing any bar. */
void mt_progress_line(mt_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
