/* trainer.h: a training run: the pieces, the epoch's end and the run.
 *
 * The pieces are separate so a multi-worker run (trainer/train_ps.h) reuses
 * them:
 *   mt_trainer_grad()   one batch -> gradient in the net's gradient buffer
 *                       (forward, loss, backward; no parameter change)
 *   mt_trainer_apply()  gradient -> parameters: one momentum SGD step at the
 *                       schedule's lr for the step
 *   mt_trainer_evaluate(), mt_trainer_save()/_load(), the run directory
 *   (trainer/rundir.h) and progress (trainer/progress.h).
 * mt_trainer_run() is the run: from the current position to the last epoch,
 * each epoch closed by mt_trainer_end_epoch() (evaluation when due, the
 * log.csv row, progress, the checkpoint when due), then the final test-set
 * report; it stops on divergence (MT_ERR_DIVERGED: a batch's loss NaN/Inf
 * or above cfg.divergence_loss) and on SIGINT/SIGTERM or
 * the --stop-after step count (checkpoint first, then MT_ERR_INTERRUPTED);
 * a step whose gradient fails (MT_ERR_STEP: a worker's allocation, oneDNN,
 * ...) was not applied, so the run keeps the whole state before it in a
 * checkpoint too, then fails (final.json "failed", the worker and the cause).
 * Its steps are taken by the loop of one process (batches from the
 * prefetching loader thread, grad, apply) or, when an engine is attached
 * (mt_trainer_attach: W workers over the parameter server), by the engine;
 * everything else is the same code whatever the number of workers.
 *
 * Determinism: parameters are initialised from (seed, stream 0); the data
 * order and augmentation are pure functions of (seed, epoch, position); the
 * checkpoint holds everything else (parameters, velocity, batch-norm running
 * statistics, epoch, step, batch position, the epoch's running sums, RNG), so
 * a resumed run is bit for bit the run that was not interrupted, given the
 * same build and the same thread count.
 *
 * Not here: flag parsing and exit codes (tools/cmd_train.c).
 */
#ifndef MT_TRAINER_TRAINER_H
#define MT_TRAINER_TRAINER_H

#include "core/checkpoint.h"
#include "core/rng.h"
#include "datasets/dataset.h"
#include "datasets/loader.h"
#include "nn/net.h"
#include "optim/msgd.h"
#include "optim/schedule.h"
#include "trainer/config.h"
#include "trainer/evaluate.h"
#include "trainer/progress.h"
#include "trainer/rundir.h"
#include "trainer/steplog.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

typedef struct mt_trainer mt_trainer;

/* Adds checkpoint sections (mt_trainer_save: their bytes must stay valid
 * until the file is written) or reads them back (mt_trainer_load: after the
 * trainer's own sections, with the position already restored). */
typedef int (*mt_trainer_ckpt_fn)(void *ctx, mt_ckpt *c);

/* What takes a run's steps when it is not the single-process loop
 * (trainer/train_ps.h). Hooks other than run may be NULL. */
typedef struct {
    void *ctx;
    /* Takes steps from the trainer's position until `target` steps in all,
     * or fewer on a stop (SIGINT/SIGTERM); at every epoch end it brings the
     * trainer up to date (mt_trainer_sync) and calls mt_trainer_end_epoch;
     * after it returns the trainer is up to date. Returns MT_OK (also when
     * stopped early: the step count tells), MT_ERR_DIVERGED, MT_ERR_STEP (a
     * worker's step failed; the state is whole) or an error. */
    int (*run)(void *ctx, int64_t target);
    mt_trainer_ckpt_fn ckpt_add, ckpt_get;
    const char *log_columns;            /* log.csv's columns after the standard ones (",a,b") */
    json_t *(*final_extra)(void *ctx);  /* keys added to final.json (a new reference) */
    void (*config_json)(void *ctx, json_t *config); /* adds to config.json */
    void (*final_line)(void *ctx, char *buf, size_t cap); /* ends the run's last progress line */
    mt_steplog_tau_fn tau_running;      /* the pushes' staleness so far (steps.csv) */
    int in_flight;                      /* batches computed at once at most (W) */
    int eval_threads;                   /* OpenMP threads for evaluations; 0: as they are */
} mt_trainer_engine;

/* One epoch's end, as its steps report it to mt_trainer_end_epoch. */
typedef struct {
    double images_per_s;    /* training images per second of this process's part of the epoch */
    const char *log_extra;  /* the engine's log.csv columns (",1,2"); NULL: none */
    const char *line_extra; /* appended to the progress line; NULL: nothing */
} mt_epoch_report;

struct mt_trainer {
    mt_train_config cfg;
    /* data */
    mt_dataset data;
    const mt_split *eval_split; /* val when held out, else test */
    const char *eval_name;      /* "val" or "test" */
    mt_norm norm;
    mt_pipeline_config pipe;
    int steps_per_epoch;
    int batches_per_step; /* batches one step consumes: 1, or W for W sync workers */
    /* model */
    mt_net *net;      /* training net, batch cfg.batch */
    mt_net *eval_net; /* inference net, batch cfg.eval_batch, same parameters and state */
    uint64_t net_bytes; /* memory the training net took while it was built (core/meminfo.h) */
    char model_desc[160];
    uint64_t signature;
    float *eval_x;
    int *eval_y;
    /* optimizer */
    mt_msgd_config opt;
    mt_msgd_ranges decay;
    float *velocity; /* theta_k - theta_{k-1} (heavy ball) */
    mt_schedule sched;
    mt_rng rng;
    uint64_t config_hash;
    /* where the run is */
    int epoch;       /* 0-based epoch in progress */
    int next_index;  /* next batch of that epoch */
    int64_t step;    /* optimizer steps done */
    double last_lr;
    /* the epoch in progress */
    double ep_loss_sum;
    int64_t ep_correct, ep_seen;
    double ep_seconds;  /* wall time of the epoch before this process's part */
    double t_epoch;     /* mt_now() when this process's part of the epoch began */
    /* results */
    double best_top1;
    int best_epoch;
    int evaluated;
    mt_eval_result last_eval;
    /* the run in progress */
    const char *dir;
    mt_progress progress;
    pthread_mutex_t progress_lock; /* workers' steps vs the epoch's end */
    mt_steplog *steplog;           /* steps.csv (--log-every), or NULL */
    mt_steplog_row steps_row;      /* the checkpoint's row in progress ... */
    int have_steps_row;            /* ... when it had one */
    mt_trainer_engine engine;      /* run == NULL: the single-process loop */
};

/* Opens the data, builds the model and the optimizer from cfg, initialises
 * the parameters from the seed. Errors name the flag, file or field. */
int mt_trainer_open(mt_trainer *t, const mt_train_config *cfg);

/* The same for a process that holds parameters but never computes a
 * gradient (an MPI server rank, trainer/train_mpi.h): its training net is
 * built for one image, so it holds the parameters, their layout, the BN
 * state and the evaluation net of a full trainer (the same values from the
 * same seed, the same checkpoint signature) without a batch's activations
 * and their gradients. mt_trainer_grad on it is for one image only. */
int mt_trainer_open_server(mt_trainer *t, const mt_train_config *cfg);
void mt_trainer_close(mt_trainer *t);

/* The gradient of the mean loss of one batch (x: n images, y: labels) into
 * mt_net_grads(net); *loss and *correct (top-1) of the batch. A loss that is
 * NaN/Inf or above max_loss (the run's cfg.divergence_loss; INFINITY: no
 * bound) returns MT_ERR_DIVERGED before the backward pass: divergence is
 * judged on every batch, in every kind of run, where its loss is computed. */
int mt_trainer_grad(mt_net *net, const float *x, const int *y, int n, double max_loss,
                    double *loss, int *correct);

/* One optimizer step on the trainer's parameters from the net's gradient at
 * the learning rate of step t->step; advances t->step. */
void mt_trainer_apply(mt_trainer *t);

/* Evaluates on the evaluation split (or the test split when `test`), into
 * t->last_eval. */
int mt_trainer_evaluate(mt_trainer *t, int test);

/* Hands the run's steps to an engine (copied): `batches_per_step` batches
 * a step (the epoch becomes data batches / batches_per_step steps, and the
 * schedule counts those), `hash` the settings' hash with the engine's
 * settings chained on (mt_train_config_hash's). MT_ERR_ARG when an epoch
 * would have no step. Before mt_trainer_load and mt_trainer_run. */
int mt_trainer_attach(mt_trainer *t, const mt_trainer_engine *e, int batches_per_step,
                      uint64_t hash);

/* Brings the trainer up to date with a run whose steps are taken elsewhere:
 * the step count (the batch position within the epoch in progress follows),
 * the last step's learning rate, the epoch's training sums so far (loss x
 * images, top-1 hits, images), and the parameters, velocity and BN state
 * copied into the trainer's buffers (each NULL: left as it is). */
void mt_trainer_sync(mt_trainer *t, int64_t step, double lr, const float *params,
                     const float *velocity, const float *state, double loss_sum, int64_t correct,
                     int64_t seen);

/* The end of epoch t->epoch, the one path every run takes: evaluation when
 * due (every --eval-every epochs and after the last), the log.csv row, the
 * progress line, the position moved to the next epoch, the checkpoint when
 * due. Called by the thread taking the steps, with nothing else running. */
int mt_trainer_end_epoch(mt_trainer *t, const mt_epoch_report *r);

/* Batch number `batch` of the run (0, 1, ... in step order; a step has
 * batches_per_step of them) was computed with mean loss `loss`: the progress
 * display and steps.csv. Safe from any number of threads (a busy display
 * skips it); an error writing steps.csv is returned. */
int mt_trainer_note_batch(mt_trainer *t, int64_t batch, double loss);

/* Checkpoint of the whole state (with the engine's sections); loading checks
 * the model signature, the settings' hash and the data's size. */
int mt_trainer_save(const mt_trainer *t, const char *path);
int mt_trainer_load(mt_trainer *t, const char *path);

/* Starts log.csv in `dir` with the header (and the engine's columns). */
int mt_trainer_log_start(const mt_trainer *t, const char *dir);

/* final.json in `dir` for `status` (running, completed, diverged,
 * interrupted, failed), `test` the final test-set evaluation (or NULL),
 * with the engine's keys. */
int mt_trainer_write_final(const mt_trainer *t, const char *dir, const char *status,
                           const char *message, const mt_eval_result *test, double seconds);

/* The run in `dir` (created by the caller, config.json written): from the
 * current state (fresh or loaded) to the end. Writes log.csv rows,
 * checkpoint.bin and final.json. Returns MT_OK, MT_ERR_DIVERGED,
 * MT_ERR_INTERRUPTED or MT_ERR_STEP (checkpoint written), or another error. */
int mt_trainer_run(mt_trainer *t, const char *dir);

/* config.json's contents: versions, settings, model and data facts (and
 * the engine's). */
json_t *mt_trainer_config_json(const mt_trainer *t);

#endif
