/* train_ps.h: multi-worker training (`mutau train --workers W --mode
 * async|sync|delay`): the trainer's run (trainer.h) with its steps taken by
 * the parameter server (ps/ps.h) and W network copies as its workers, each
 * running the worker loop (trainer/worker.h, trainer/net_worker.h) over the
 * server's transport. mt_train_ps_open attaches the server to the trainer as
 * its engine; from then on mt_trainer_load, mt_trainer_log_start,
 * mt_trainer_config_json and mt_trainer_run cover the multi-worker run too,
 * and the epoch's end is the trainer's own (mt_trainer_end_epoch), called by
 * the worker thread that completes the epoch.
 *
 * Everything a single-process run has holds here too: config.json (with a
 * `settings.ps` section), log.csv (with staleness and server-time columns),
 * final.json (with a staleness summary), evaluation of a consistent snapshot
 * of the server at every epoch end, progress, checkpoints with exact resume,
 * SIGINT/SIGTERM and --stop-after (checkpoint, MT_ERR_INTERRUPTED),
 * divergence (MT_ERR_DIVERGED, final.json "diverged").
 *
 * Epochs and batches. async and delay: one server step per batch, an epoch
 * is the trainer's B batches. sync: one step consumes W batches, an epoch is
 * floor(B / W) steps (the last B mod W batches of the epoch's order are left
 * out, as a partial batch is); the learning-rate schedule counts server
 * steps either way.
 *
 * Determinism. The training loss of an epoch is summed in batch order from a
 * per-batch record, whichever worker computed which batch, so delay and sync
 * runs are bit for bit reproducible (same build, same --threads) and a delay
 * run with delay 0 is bit for bit the single-process trainer. A resumed delay
 * or sync run continues bit for bit; an async run resumes its state exactly,
 * and its future is a race.
 *
 * Not here: the server and the modes (ps/), the worker loop
 * (trainer/worker.h), flag parsing (tools/).
 */
#ifndef MT_TRAINER_TRAIN_PS_H
#define MT_TRAINER_TRAIN_PS_H

#include "ps/tau_hist.h"
#include "trainer/trainer.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    int workers;       /* W >= 1 */
    int mode;          /* enum mt_ps_mode */
    int delay_kind;    /* enum mt_delay_kind (delay mode) */
    int64_t delay;     /* N (delay mode); < 0: W - 1, what W round-robin workers produce */
    int shards;        /* S, server locks (>= 1) */
    int oversubscribe; /* 1: allow W x T > cores */
    int ignore_memory; /* 1: build the W network copies even when they do not seem to fit */
    int method;        /* enum mt_method_kind (optim/method.h): the server's update rule */
    int momentum_auto; /* 1: mu from the measured staleness, the trainer's momentum the target */
    int64_t max_staleness; /* async: bound S on tau (< 0: none), ps/ps.h */
    int stale_policy;      /* enum mt_ps_stale_policy: wait or drop */
} mt_train_ps_config;

/* 1 worker, async (= the single-process trainer), fixed delay W - 1, 4 shards. */
void mt_train_ps_config_default(mt_train_ps_config *p);

/* Whether the settings need the server: anything but one async worker with
 * msgd, staleness-lr or dc-asgd (at tau = 0 all three are the single-process
 * trainer, and so is momentum auto: its mu stays at the target). */
int mt_train_ps_enabled(const mt_train_ps_config *p);

/* Checks the settings and the thread budget (W x T against the cores, T =
 * `threads`, 0 = the default of cores / W); MT_ERR_ARG naming the flag. */
int mt_train_ps_config_check(const mt_train_ps_config *p, int threads);

/* settings.ps of config.json and back (a missing section keeps p). */
json_t *mt_train_ps_config_to_json(const mt_train_ps_config *p, int threads_per_worker);
int mt_train_ps_config_from_json(mt_train_ps_config *p, const json_t *settings, const char *where);

/* The settings that shape the trajectory, chained onto hash h. */
uint64_t mt_train_ps_hash(uint64_t h, const mt_train_ps_config *p);

typedef struct mt_train_ps mt_train_ps;

/* After mt_trainer_open: builds the W - 1 further nets, their workers and
 * the server from t's parameters, and attaches the server to t as its engine
 * (mt_trainer_attach: sync mode's steps per epoch and schedule, the settings
 * hash). t must outlive the result; close the result before t.
 *
 * Memory first: unless ignore_memory, what the run would hold (the network
 * copies, the server, delay mode's ring; trainer/mem_guard.h) is compared
 * with what the process holds plus what the machine can still give
 * (core/meminfo.h), and a run that does not fit is refused with MT_ERR_ARG
 * and one line naming the flags to change, before anything is built. */
int mt_train_ps_open(mt_train_ps **out, mt_trainer *t, const mt_train_ps_config *p);
void mt_train_ps_close(mt_train_ps *r);

/* The OpenMP threads each worker uses. */
int mt_train_ps_threads(const mt_train_ps *r);

/* The staleness every multi-worker run reports, in threads or over MPI
 * (trainer/train_mpi.h): log.csv's tau_mean,tau_max,tau_p50,tau_p90,tau_p99
 * values of one epoch (",0.9833,2,1,1,2", into buf), the progress line's
 * ("  tau mean 0.98 max 2") and final.json's "staleness" object (with its histogram). */
void mt_train_tau_columns(const mt_tau_hist *tau, char *log, size_t log_cap, char *line,
                          size_t line_cap);
json_t *mt_train_tau_json(const mt_tau_hist *tau);

/* The epoch's per-batch records (loss x images and top-1 hits of each of
 * `slots` batches, summed in batch order at the epoch's end) as checkpoint
 * sections: added (get = 0) or read back (get = 1). */
int mt_train_records_ckpt(mt_ckpt *c, double *loss, int32_t *correct, int slots, int get);

/* One line saying how the steps are computed ("2 async workers x 1 thread, 4 shards"). */
void mt_train_ps_describe(const mt_train_ps *r, FILE *out);


#endif
