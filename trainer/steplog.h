/* steplog.h: steps.csv, a run inside its epochs (`mutau train --log-every N`):
 * a row every N optimizer steps,
 *
 *   step,epoch,lr,loss,tau_mean,images_per_s
 *
 *   step          optimizer (server) steps done: N, 2N, ...
 *   epoch         step / steps per epoch: epochs done, fractional
 *   lr            the learning rate of the row's last step
 *   loss          the mean training loss of the batches of the row's N steps
 *                 (a sync step has W), summed in batch order
 *   tau_mean      the mean staleness of the pushes applied since the previous
 *                 row (0 with one worker)
 *   images_per_s  training images per second since the previous row (timing:
 *                 the only column that differs between equal runs)
 *
 * Batches are reported as they are computed, by any number of threads, in
 * any order: a row is written once every batch of its steps is in, rows in
 * step order. Apart from images_per_s the rows are a function of the batches'
 * losses and the pushes' staleness, so delay and sync runs repeat them bit
 * for bit. A resumed run continues the file: the checkpoint keeps the row in
 * progress (mt_steplog_save, mt_steplog_row_get) and mt_steplog_truncate
 * drops rows past the checkpoint, so no step appears twice.
 *
 * Not here: log.csv (one row per epoch, trainer/rundir.h).
 */
#ifndef MT_TRAINER_STEPLOG_H
#define MT_TRAINER_STEPLOG_H

#include "core/checkpoint.h"
#include "optim/schedule.h"

#include <stdint.h>

typedef struct mt_steplog mt_steplog;

/* The pushes' staleness so far, cumulative: sum of tau and pushes. */
typedef void (*mt_steplog_tau_fn)(void *ctx, int64_t *tau_sum, int64_t *pushes);

typedef struct {
    const char *dir;           /* the run directory */
    int every;                 /* N >= 1 */
    int batches_per_step;      /* 1, or W for W sync workers */
    int batch;                 /* images a batch */
    int steps_per_epoch;
    int in_flight;             /* batches computed at once at most (W) */
    const mt_schedule *sched;  /* lr of a step; not owned */
    mt_steplog_tau_fn tau;     /* NULL: no staleness (one worker) */
    void *tau_ctx;
} mt_steplog_config;

/* The row in progress, as a checkpoint keeps it. */
typedef struct {
    int64_t next_batch;    /* batches summed into it end here */
    int64_t tau0, pushes0; /* the cumulative staleness at the previous row */
    int64_t per_row;       /* batches a row */
    double loss_sum;       /* its batches' losses so far */
} mt_steplog_row;

/* Opens dir/steps.csv to continue from step `step` (0: a fresh file with the
 * header, otherwise appended after mt_steplog_truncate), with the row in
 * progress `row` (NULL, or one of another N or position: afresh). */
int mt_steplog_open(mt_steplog **out, const mt_steplog_config *cfg, int64_t step,
                    const mt_steplog_row *row);
void mt_steplog_close(mt_steplog *s);

/* Batch number `batch` (0, 1, ... in step order) had mean loss `loss`;
 * writes the rows it completes. Thread-safe. */
int mt_steplog_batch(mt_steplog *s, int64_t batch, double loss);

/* The row in progress as the checkpoint section "steps.row" (its bytes kept
 * in s until the checkpoint is written); on a quiescent run. */
int mt_steplog_save(mt_steplog *s, mt_ckpt *c);
/* Reads it back: 1 when the checkpoint has one, 0 when not (an older
 * checkpoint, or a run without --log-every), < 0 on a malformed one. */
int mt_steplog_row_get(const mt_ckpt *c, mt_steplog_row *row);

/* Keeps the header and the rows of steps <= `step` of dir/steps.csv (none
 * there: nothing to do). */
int mt_steplog_truncate(const char *dir, int64_t step);

#endif
