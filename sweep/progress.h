/* progress.h: what a running sweep shows: one line per finished cell and a
 * status line (cells done, running, diverged, failed, elapsed, ETA).
 *
 * bar: the status line redrawn in place on stderr, each event above it;
 * plain: each event with the status after it, one line per finished cell
 * (logs and pipes); quiet: nothing. The ETA is the remaining cells at the
 * pace measured so far, the trial's estimate until a fresh cell finishes.
 *
 * Not here: the cells' own progress (each cell's train.out).
 */
#ifndef MT_SWEEP_PROGRESS_H
#define MT_SWEEP_PROGRESS_H

typedef struct {
    int mode;                 /* MT_PROGRESS_BAR, _PLAIN or _QUIET (trainer/config.h) */
    int total, done_before;   /* cells in all, and finished before this process */
    int finished, diverged, failed, running;
    int jobs;
    double t0;                /* when this process started training cells */
    double est_cell;          /* estimated seconds of a fresh cell (NaN: unknown) */
    double measured_sum;      /* seconds of fresh cells finished in this process */
    int measured_n;
} mt_sweep_progress;

/* `mode` MT_PROGRESS_AUTO becomes BAR on a terminal, else PLAIN. */
void mt_sweep_progress_init(mt_sweep_progress *p, int mode, int total, int done_before, int jobs);

/* Shows `event` (one line, may be NULL) and the status line. */
void mt_sweep_progress_show(mt_sweep_progress *p, const char *event);

/* Ends the status line (bar mode) before other output follows. */
void mt_sweep_progress_end(mt_sweep_progress *p);

#endif
