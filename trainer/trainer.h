/* trainer.h: single-process training: the pieces and the epoch loop.
 *
 * The pieces are separate so the parameter server (ps/) can reuse them with W
 * worker threads:
 *   mt_trainer_grad()   one batch -> gradient in the net's gradient buffer
 *                       (forward, loss, backward; no parameter change)
 *   mt_trainer_apply()  gradient -> parameters: one momentum SGD step at the
 *                       schedule's lr for the step
 *   mt_trainer_evaluate(), mt_trainer_save()/_load(), the run directory
 *   (trainer/rundir.h) and progress (trainer/progress.h).
 * mt_trainer_run() is the loop of one process: batches from the loader thread,
 * grad, apply, at each epoch's end evaluation, a log.csv row and a checkpoint;
 * it stops on divergence (MT_ERR_DIVERGED) and on SIGINT/SIGTERM or the
 * --stop-after step count (checkpoint first, then MT_ERR_INTERRUPTED).
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

#include <stdint.h>

typedef struct {
    mt_train_config cfg;
    /* data */
    mt_dataset data;
    const mt_split *eval_split; /* val when held out, else test */
    const char *eval_name;      /* "val" or "test" */
    mt_norm norm;
    mt_pipeline_config pipe;
    int steps_per_epoch;
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
    double ep_seconds;
    /* results */
    double best_top1;
    int best_epoch;
    int evaluated;
    mt_eval_result last_eval;
} mt_trainer;

/* Opens the data, builds the model and the optimizer from cfg, initialises
 * the parameters from the seed. Errors name the flag, file or field. */
int mt_trainer_open(mt_trainer *t, const mt_train_config *cfg);
void mt_trainer_close(mt_trainer *t);

/* The gradient of the mean loss of one batch (x: n images, y: labels) into
 * mt_net_grads(net); *loss and *correct (top-1) of the batch. A non-finite
 * loss returns MT_ERR_DIVERGED. */
int mt_trainer_grad(mt_net *net, const float *x, const int *y, int n, double *loss, int *correct);

/* One optimizer step on the trainer's parameters from the net's gradient at
 * the learning rate of step t->step; advances t->step. */
void mt_trainer_apply(mt_trainer *t);

/* Evaluates on the evaluation split (or the test split when `test`), into
 * t->last_eval. */
int mt_trainer_evaluate(mt_trainer *t, int test);

/* After an evaluation at the end of epoch t->epoch: t->last_eval into the
 * log row's val_* columns (marked evaluated), and the best top-1 and its
 * epoch kept. */
void mt_trainer_note_eval(mt_trainer *t, mt_log_row *row);

/* Checkpoint of the whole state; loading checks the model signature, the
 * settings' hash and the data's size. */
int mt_trainer_save(const mt_trainer *t, const char *path);
int mt_trainer_load(mt_trainer *t, const char *path);
/* The same with more sections (a multi-worker run's, trainer/train_ps.h):
 * `add` adds them to the checkpoint being written (their bytes must stay
 * valid until it is), `get` reads them after the trainer's own are loaded. */
typedef int (*mt_trainer_ckpt_fn)(void *ctx, mt_ckpt *c);
int mt_trainer_save_ext(const mt_trainer *t, const char *path, mt_trainer_ckpt_fn add, void *ctx);
int mt_trainer_load_ext(mt_trainer *t, const char *path, mt_trainer_ckpt_fn get, void *ctx);

/* final.json in `dir` for `status` (running, completed, diverged,
 * interrupted, failed), `test` the final test-set evaluation (or NULL);
 * the keys of `extra` (may be NULL; not stolen) are added. */
int mt_trainer_write_final(const mt_trainer *t, const char *dir, const char *status,
                           const char *message, const mt_eval_result *test, double seconds,
                           json_t *extra);

/* The run in `dir` (created by the caller, config.json written): from the
 * current state (fresh or loaded) to the end. Writes log.csv rows,
 * checkpoint.bin and final.json. Returns MT_OK, MT_ERR_DIVERGED or
 * MT_ERR_INTERRUPTED (checkpoint written), or another error. */
int mt_trainer_run(mt_trainer *t, const char *dir);

/* config.json's contents: versions, settings, model and data facts. */
json_t *mt_trainer_config_json(const mt_trainer *t);

#endif
