/* ps.h: multi-worker Async-MSGD training over the parameter server
 * (ps/server.h), in three modes behind one interface.
 *
 * The caller supplies the workers: a function run in each worker's thread,
 * one context per worker (its own network copy, batch source, loss
 * accumulators):
 *
 *     worker_main(worker_ctx, transport, worker)
 *
 * which loops over the transport of ps/transport.h: pull (theta_v straight
 * into the worker's parameter buffer, the BN state into its state buffer, a
 * ticket (v, batch)), compute the gradient of the loss of batch number
 * `batch` (0, 1, 2, ... in the shared epoch order) at those parameters, push
 * (the gradient straight from the worker's buffer, its updated state). The
 * worker updates the state as a training forward does (running = (1 - m)
 * running + m batch) and the server merges the result (server.h states the
 * rule). A failing step calls the transport's fail with its status (for
 * example MT_ERR_DIVERGED), which stops the run. ps never sees what a worker
 * computes (trainer/worker.h holds the loop).
 *
 * Modes:
 *   async  W worker threads, each looping pull -> grad -> push on its own
 *          buffers; tau is whatever the race produces (about W - 1 for
 *          equal workers) and is measured. Batch numbers are handed out in
 *          order from a shared counter, each exactly once.
 *   sync   W worker threads compute at the same version k on batches
 *          kW, ..., kW + W - 1; the gradients are summed in worker order and
 *          divided by W, the states likewise averaged, and one step is taken
 *          (tau = 0): the synchronous baseline. One server step consumes W
 *          batches, so an epoch of N samples is N / (W B) steps.
 *   delay  one compute thread (worker 0); step k's gradient is taken at
 *          theta_{k - tau_k} from a ring of past versions, tau_k fixed, uniform
 *          or geometric from a seed (ps/delay.h). The state is the current one
 *          (BN statistics do not affect a training gradient), so the merge is
 *          exactly the single-process update. Bit-for-bit reproducible and
 *          independent of the machine's cores, provided the worker is (fix T:
 *          oneDNN's results may depend on its thread count). A fixed delay of
 *          W - 1 is what W equal workers served round robin would produce.
 *
 * Epochs. Every `steps_per_epoch` server steps the run stops the world: no new
 * batch is handed out until every push of the epoch has been applied; then
 * epoch_end(ctx, ps, epoch, tau) runs in one worker's thread on a quiescent
 * server (evaluate mt_ps_server_theta(), write a checkpoint) with the epoch's
 * staleness histogram. It returns MT_OK to go on, > 0 to stop after this
 * epoch, or a negative status to fail the run. The workers then restart from
 * the same version, so the race (and tau) ramps up again over the first W
 * pushes of each epoch; with hundreds of steps per epoch that is noise.
 *
 * Threads. Each worker thread sets its OpenMP thread count to T before it
 * calls worker_main (oneDNN follows it); delay mode runs worker 0 in the
 * calling thread. By default T = max(1, cores / W) and
 * W x T may not exceed the cores; `oversubscribe` lifts the check.
 *
 * Checkpoints: the server's theta, velocity, state and version, the delay
 * ring and RNG (mt_ps_delay), and the two histograms are the whole state; all
 * are reachable below and writable on a stopped run, and ps/ps_ckpt.h moves
 * them to and from a checkpoint. Restored into a freshly created mt_ps,
 * mt_ps_run continues as if never stopped (the delay mode bit for bit).
 *
 * One mt_ps_run at a time per mt_ps.
 *
 * Not here: networks, data, the checkpoint file format, logging.
 */
#ifndef MT_PS_PS_H
#define MT_PS_PS_H

#include "ps/delay.h"
#include "ps/server.h"
#include "ps/tau_hist.h"
#include "ps/transport.h"

#include <stdint.h>

enum mt_ps_mode { MT_PS_ASYNC, MT_PS_SYNC, MT_PS_DELAY };
enum mt_ps_stale_policy { MT_PS_STALE_WAIT, MT_PS_STALE_DROP };

/* "async", "sync", "delay" in enum order, NULL-terminated (flag parsers). */
extern const char *const mt_ps_mode_names[];

/* A mode's name and back (-1 when unknown). */
const char *mt_ps_mode_name(int mode);
int mt_ps_mode_parse(const char *s);

typedef struct mt_ps mt_ps;

typedef int (*mt_ps_epoch_fn)(void *ctx, mt_ps *ps, int64_t epoch, const mt_tau_hist *tau);

typedef struct {
    int mode;                /* enum mt_ps_mode */
    int workers;             /* W >= 1 (delay mode computes with worker 0) */
    int threads;             /* T, OpenMP threads per worker; 0: max(1, cores / W), delay: cores */
    int oversubscribe;       /* 1: allow W x T > cores */
    int delay_kind;          /* delay mode: enum mt_delay_kind */
    int64_t delay;           /* delay mode: N, the (mean) delay */
    int64_t tau_max;         /* delay mode: ring depth - 1; < 0: mt_delay_default_cap */
    uint64_t seed;           /* delay mode: the delays' seed */
    int64_t steps_per_epoch; /* server steps between epoch_end calls (> 0) */
    /* Bounded staleness (async mode): S >= 0 bounds tau of every applied push;
     * < 0: unbounded. wait (stale-synchronous parallel, Ho et al. 2013): a
     * worker whose push or pull would let some gradient in flight end up more
     * than S versions stale waits; drop: a push with tau > S is discarded and
     * counted (mt_ps_dropped), its batch skipped. */
    int64_t max_staleness;
    int stale_policy;        /* enum mt_ps_stale_policy */
    mt_worker_main_fn worker_main;
    void *const *worker_ctx; /* W contexts, one per worker (delay mode: worker 0's) */
    mt_ps_epoch_fn epoch_end; /* may be NULL */
    void *epoch_ctx;
} mt_ps_config;

/* async, 1 worker, T = 0, fixed delay 0, tau_max -1, seed 0, no callbacks. */
void mt_ps_config_default(mt_ps_config *cfg);

/* The cores OpenMP may use in this process. */
int mt_ps_cores(void);

/* Checks the run configuration (and the thread budget against the cores);
 * names the field at fault. */
int mt_ps_config_check(const mt_ps_config *cfg);

/* A server (see server.h) plus the mode's workers and buffers. */
int mt_ps_create(mt_ps **out, const mt_ps_server_config *server, const mt_ps_config *cfg,
                 const float *theta0, const float *state0);
void mt_ps_free(mt_ps *ps);

/* Runs server steps until the version reaches `steps` (a total, not a count:
 * a resumed run continues from its version). Returns MT_OK when there, or
 * when epoch_end asked to stop; MT_ERR_INTERRUPTED after mt_ps_request_stop
 * (every push handed out is applied first, so the state is consistent and
 * can be checkpointed); or the first failure's status (a worker's fail, the
 * epoch callback, a worker that left before the end) with its message. */
int mt_ps_run(mt_ps *ps, int64_t steps);

/* Asks a running mt_ps_run to stop; async-signal-safe. */
void mt_ps_request_stop(mt_ps *ps);

mt_ps_server *mt_ps_server_of(mt_ps *ps);
const mt_ps_config *mt_ps_config_of(const mt_ps *ps);
/* The OpenMP threads each worker uses (T as resolved at creation). */
int mt_ps_threads(const mt_ps *ps);
/* The delay sampler and ring (delay mode), else NULL. */
mt_delay *mt_ps_delay(mt_ps *ps);
/* Staleness of the epoch in progress (complete up to the last return of
 * mt_ps_run) and of the whole run. */
mt_tau_hist *mt_ps_tau_epoch(mt_ps *ps);
mt_tau_hist *mt_ps_tau_total(mt_ps *ps);
/* The run's pushes and the sum of their tau so far, readable at any time
 * (also while the run is live); restored with the checkpoint. */
void mt_ps_tau_running(const mt_ps *ps, int64_t *tau_sum, int64_t *pushes);

/* Where the workers' wall-clock time went, summed over workers since the
 * creation or the last reset: computing gradients, pulling (async: the copy
 * of theta; delay: the ring copy), pushing (the update, including waits for
 * shard locks; sync: averaging and the update of its slice), and waiting for
 * other workers (epoch ends; sync: barriers). The gradient time is the
 * worker's time between its pull and its push. server / (all) is the share of
 * the server in a worker's life. Read on a stopped run or in epoch_end
 * (the time in epoch_end itself shows up in the next epoch's waits). */
typedef struct {
    double grad_s, pull_s, push_s, wait_s;
    int64_t gradients;
} mt_ps_timing;
void mt_ps_timing_get(const mt_ps *ps, mt_ps_timing *out);

/* Pushes discarded by the drop policy since the run was created (quiescent
 * reads, e.g. at an epoch end). */
int64_t mt_ps_dropped(const mt_ps *ps);
void mt_ps_timing_reset(mt_ps *ps);

#endif
