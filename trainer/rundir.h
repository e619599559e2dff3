/* rundir.h: the files of a run directory.
 *
 *   config.json     every setting, the seed, versions, source revision, model facts
 *   log.csv         one row per epoch (columns below); timings are the only
 *                   columns that differ between a resumed and an uninterrupted run.
 *                   eval_* hold the evaluation split's numbers: the held-out
 *                   validation images with --val-size, else the test set
 *                   (config.json's data.eval_split says which). Runs before
 *                   this naming called them val_* whatever the split.
 *   steps.csv       with --log-every N: a row every N steps (trainer/steplog.h)
 *   final.json      status (running, completed, diverged, interrupted, failed), final and
 *                   best accuracy, per-class accuracy
 *   checkpoint.bin  the state to resume from (core/checkpoint.h)
 *
 * JSON files are written to a temporary file and renamed, like checkpoints.
 * Not here: what goes into config.json and final.json (trainer.c).
 */
#ifndef MT_TRAINER_RUNDIR_H
#define MT_TRAINER_RUNDIR_H

#include <jansson.h>
#include <stdint.h>

#define MT_LOG_HEADER                                                                        \
    "epoch,step,lr,train_loss,train_acc,eval_loss,eval_top1,eval_top5,images_per_s,seconds"

typedef struct {
    int epoch;       /* 1-based: epochs completed */
    int64_t step;    /* optimizer steps completed */
    double lr;       /* of the epoch's last step */
    double train_loss, train_acc;
    int evaluated;   /* 0: the eval_* columns are empty */
    /* on the evaluation split: the held-out validation images with
     * --val-size, else the test set (config.json's data.eval_split) */
    double eval_loss, eval_top1, eval_top5;
    double images_per_s; /* training images per second of this epoch */
    double seconds;      /* wall time of this epoch: training and evaluation */
} mt_log_row;

/* Whether `dir` can be a new run directory, checked before anything is
 * loaded or built: a directory that already holds a run (config.json) is
 * refused unless `force`, naming --resume and --force; so is a path that is
 * not a directory, or whose nearest existing level cannot be written.
 * MT_ERR_ARG with the message. */
int mt_rundir_check(const char *dir, int force);

/* Creates `dir` (and its parents) after mt_rundir_check; with `force` the old
 * run's checkpoint, final.json, log.csv and steps.csv are removed. */
int mt_rundir_create(const char *dir, int force);

/* Joins dir and name into buf. */
int mt_rundir_path(char *buf, size_t cap, const char *dir, const char *name);

/* Writes j (indented, keys in insertion order) to dir/name atomically. */
int mt_rundir_write_json(const char *dir, const char *name, const json_t *j);

/* Reads dir/name; the error names the file and the line of a syntax error. */
int mt_rundir_read_json(const char *dir, const char *name, json_t **out);

/* log.csv: starts it with the header (truncating). */
int mt_log_start(const char *dir);
int mt_log_append(const char *dir, const mt_log_row *row);
/* The same with more columns: extra_header (",a,b") follows the standard
 * header, extra (",1,2") ends the row (a multi-worker run's staleness). */
int mt_log_start_ext(const char *dir, const char *extra_header);
int mt_log_append_ext(const char *dir, const mt_log_row *row, const char *extra);
/* Keeps the header and the rows of epochs <= `epochs` (resuming from a
 * checkpoint taken after epoch `epochs`). */
int mt_log_truncate(const char *dir, int epochs);

/* The same for dir/name, any CSV whose first column is an integer: keeps the
 * rows whose first field is <= limit; a missing file is left missing. */
int mt_csv_truncate(const char *dir, const char *name, int64_t limit);

#endif
