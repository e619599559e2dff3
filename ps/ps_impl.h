/* ps_impl.h: what the mode runners (run_async.c, run_sync.c, run_delay.c)
 * share with ps.c. Private to ps/. */
#ifndef MT_PS_IMPL_H
#define MT_PS_IMPL_H

#include "ps/ps.h"

#include <pthread.h>
#include <stdatomic.h>

struct ps_worker {
    mt_ps *ps;
    int id;
    void *ctx;
    float *state_read;   /* n_state: as pulled (async: the merge needs it) */
    const float *params; /* the worker's parameters as pulled (valid until its next pull): the
                            theta_read of dc-asgd, no copy */
    const float *grad;   /* sync: the pushed gradient, valid until the step is applied */
    const float *state;  /* sync: the pushed state, likewise */
    double t_mark;       /* when the worker's last pull or push returned */
    int finished;        /* pull told this worker the run is over */
    int64_t inflight;    /* bounded staleness: the version pulled and not yet pushed, -1: none
                            (under m) */
    mt_tau_hist hist;    /* this worker's pushes since the last merge */
    mt_ps_timing time;   /* this worker's, written only by its thread */
    pthread_t thread;
};

struct mt_ps {
    mt_ps_config cfg;
    int threads;
    mt_ps_server *server;
    size_t n, n_state;
    struct ps_worker *w;
    int n_workers; /* allocated workers (1 in delay mode) */
    int method_workers; /* the server's per-worker state: W; delay mode N + 1 (fixed delays) or 1 */
    mt_delay delay;
    int has_delay;
    float *avg_grad;  /* sync, W > 1: the averaged gradient */
    float *avg_state; /* sync: the averaged state */
    mt_tau_hist tau_epoch, tau_total;
    _Atomic int64_t tau_sum, tau_pushes; /* every push's tau so far, live (mt_ps_tau_running) */
    atomic_int stop_requested;

    /* Run control: guarded by m except where a runner says otherwise. */
    pthread_mutex_t m;
    pthread_cond_t cv;
    int64_t end;         /* target version of this mt_ps_run */
    int status;          /* first failure (< 0), else 0 */
    char errmsg[512];    /* its message, copied from the failing thread */
    int stop_by_epoch;   /* epoch_end returned > 0 */
    void *run_ctx;       /* the running mode's own control block */
    int64_t ckpt_meta[8]; /* what mt_ps_ckpt_add points a checkpoint at */
    int64_t ckpt_version;
    int64_t dropped;      /* pushes discarded by the drop policy (under m) */
};

/* Records a failure from any thread (under m): the first one wins. */
void ps_fail(mt_ps *ps, int status);
/* Same, for a caller that already holds m. */
void ps_fail_locked(mt_ps *ps, int status);

/* Whether the run should stop handing out work (stop asked, failure, or the
 * epoch callback's request); caller holds m or is the only thread. */
int ps_should_stop(mt_ps *ps);

/* Moves every worker's histogram into the epoch's and the run's. Only on a
 * quiescent run (no push in flight). */
void ps_collect_tau(mt_ps *ps);

/* At version `version`, a multiple of steps_per_epoch: collects the
 * histograms, runs epoch_end, resets the epoch histogram. Quiescent only.
 * Failures and stop requests are recorded in ps. */
void ps_epoch_close(mt_ps *ps, int64_t version);

/* Sets the calling thread's OpenMP thread count to the run's T. */
void ps_set_threads(const mt_ps *ps);

/* Runs worker_main of every worker over transport t, one thread each (one
 * worker: in the calling thread), and joins them. A worker that returns an
 * error, or returns before pull told it the run is over, fails the run, so
 * nobody waits for it. */
void ps_run_workers(mt_ps *ps, mt_transport *t);

/* What every mode's transport starts with: the workers are handed &t. */
struct ps_transport {
    mt_transport t;
    mt_ps *ps;
};

/* The transports' fail, the same in every mode: the run fails with status. */
void ps_transport_fail(mt_transport *t, int worker, int status);

/* At a pull's end: its time since `since`, and the gradient's start. */
void ps_mark_pulled(struct ps_worker *w, double since);
/* A push of staleness tau applied: the worker's histogram and the live sums. */
void ps_record_tau(mt_ps *ps, struct ps_worker *w, int64_t tau);

/* At a push's start: the gradient's time (since the pull returned) and count. */
void ps_mark_push(struct ps_worker *w, double now);

int ps_run_async(mt_ps *ps);
int ps_run_sync(mt_ps *ps);
int ps_run_delay(mt_ps *ps);

#endif
