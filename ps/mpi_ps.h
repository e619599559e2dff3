/* mpi_ps.h: the parameter server across processes: server ranks that hold
 * shards of theta and apply the pushes, and workers that pull and push over
 * MPI, with the semantics of the in-process server (ps/server.h, ps/ps.h).
 *
 * Server ranks. Server rank s owns shard s of the flat buffer, the same
 * contiguous 16-float-aligned split as the in-process server's shards
 * (mt_ps_shard_range). It keeps the shard in an mt_ps_server of its own and
 * applies pushes with the same calls as the in-process modes
 * (mt_ps_push_from in async mode, with the pushing worker rank's index;
 * mt_ps_average, mt_ps_server_apply_range and mt_ps_server_advance in sync
 * mode): the update rule exists once, in optim/, and every method of
 * optim/method.h runs (dana in async mode only, as in one process). The
 * server config's `workers` is ignored: the worker ranks are the workers.
 * The rules are elementwise, so each server rank keeps the method's state of
 * its own shard (dana's momenta, dc-asgd's MeanSquare).
 * Rank 0 also holds the BN state, hands out the tickets and gates the epochs.
 *
 * A server rank runs a loop on one thread that answers one message at a
 * time, so every shard applies its pushes one after the other; a pull is
 * sent straight from the shard's theta (MPI_Isend, several pulls in flight at
 * once), and a push is applied only after the pulls in flight have left.
 * With dana or dc-asgd in async mode the server rank keeps W copies of its
 * shard (W x shard floats, allocated at creation): a pull is the in-process
 * pull (mt_ps_pull: theta, or dana's look-ahead) into the worker's copy, sent
 * from there, and that worker's push passes the copy as theta_read (dc-asgd);
 * pushes then need not wait for pulls in flight.
 * When idle it sleeps in short steps (idle_sleep_us) instead of spinning, so
 * that server ranks sharing cores with workers leave them the CPU.
 *
 * Modes.
 *   async  each pull gets the next batch number (one counter on rank 0, each
 *          batch once, in order) and theta as it is; the push is applied as
 *          it arrives. tau = k - v on shard 0 (below).
 *   sync   all W workers pull at version k and get batches kW + w; each
 *          server rank waits for the W gradients of its shard, averages them
 *          in worker order (mt_ps_average), takes one step, and the states
 *          are averaged likewise: bit for bit the in-process sync mode with W
 *          workers, for any S.
 *   (delay mode is a simulation of staleness and stays in one process.)
 *
 * Versions and tau with S > 1 shards. Each server rank counts the pushes
 * its shard has applied: its version k_s. In sync mode every shard takes the
 * same steps, so k_s = k on all of them and tau = 0. In unbounded async mode
 * (bounded staleness below has one clock) each shard
 * applies the pushes in the order they reach it, which may differ between
 * shards by messages in flight; every shard applies every push exactly once,
 * so all k_s are equal whenever the run is quiescent (epoch ends, the end).
 * A pull returns each shard at its own version (each shard consistent in
 * itself; the shards' versions may differ by the pushes in flight), and the
 * ticket carries shard 0's, v = k_0. The staleness reported is shard 0's:
 * tau = k_0 - v, where k_0 is shard 0's version when the push is applied
 * there; each shard's own step uses the learning rate of its own k_s and
 * its own version check. With S = 1 this is exactly the in-process
 * definition (one server, tau = k - v). Every server rank applies a
 * worker's push before it answers that worker's next pull, so a worker always
 * sees its own last step.
 *
 * Bounded staleness (async, max_staleness S >= 0): rank 0 decides every
 * push and sequences it. It hands out at most S + 1 tickets at once (wait
 * policy) and admits a push only when the in-process rule admits it
 * (ps/run_async.c: every older gradient in flight keeps tau <= S even if all
 * land first), or drops a push whose tau = k - v exceeds S (drop policy; its
 * ticket is handed out again, with the next batch). Every server rank
 * applies the admitted pushes in rank 0's order and answers a pull only once
 * it has applied every push admitted before the pull's ticket, so all
 * shards share one version clock: k is the number of pushes admitted, v the
 * number admitted before the ticket, tau = k - v is the same on every shard,
 * and the run equals one server applying the pushes in that order. The cost:
 * one small message per push to each server rank > 0, and a shard applies a
 * push only once the pushes before it are in.
 *
 * Epochs. Every steps_per_epoch versions rank 0 stops handing out batches
 * until every push of the epoch is applied on every shard; the shards are then
 * gathered to rank 0 (theta, velocity and the method's state, MPI_Gatherv
 * over the server ranks) and epoch_end runs on rank 0 on that consistent
 * snapshot, as in one process. At the end of a run the shards are gathered
 * again, so rank 0 holds the final theta, velocity and state.
 *
 * Failures: a worker's mt_mpi_worker_fail ends the run; mt_mpi_server_run
 * returns that status on every server rank, with the worker's message on
 * rank 0 ("rank R: ..."). MPI errors are returned as MT_ERR_LIB naming the
 * call and the rank.
 */
#ifndef MT_PS_MPI_PS_H
#define MT_PS_MPI_PS_H

#include "core/checkpoint.h"
#include "ps/mpi.h"
#include "ps/server.h"
#include "ps/tau_hist.h"

#include <stddef.h>
#include <stdint.h>

typedef struct mt_mpi_server mt_mpi_server;
typedef struct mt_mpi_worker mt_mpi_worker;

/* Rank 0, on a quiescent run: theta, velocity and state are the whole model
 * at version (epoch + 1) * steps_per_epoch. Returns MT_OK to go on, > 0 to
 * stop after this epoch, < 0 to fail the run. */
typedef int (*mt_mpi_epoch_fn)(void *ctx, mt_mpi_server *srv, int64_t epoch,
                               const mt_tau_hist *tau);

typedef struct {
    int mode;                  /* MT_PS_ASYNC or MT_PS_SYNC (ps/ps.h) */
    int64_t steps_per_epoch;   /* versions between epoch ends (> 0) */
    mt_mpi_epoch_fn epoch_end; /* rank 0; may be NULL */
    void *epoch_ctx;
    int idle_sleep_us;         /* a server rank with nothing to do sleeps up to this long
                                * between polls (0: spin) */
    /* A few numbers each push brings rank 0 besides the gradient (the batch's
     * loss, say), n_report doubles, handed to on_report with the batch number
     * when the push arrives (rank 0; before it is applied). 0: none. */
    int n_report;
    /* MT_OK, or a negative status (message set) that ends the run as a
     * worker's failure would. */
    int (*on_report)(void *ctx, int worker, int64_t batch, const double *report);
    void *report_ctx;
    /* Rank 0 asks this between messages whether to stop as on
     * mt_mpi_server_request_stop (e.g. core/signals.h's mt_signals_pending);
     * may be NULL. */
    int (*stop_poll)(void);
    /* Bounded staleness (async mode; below): max_staleness S >= 0 bounds tau
     * of every applied push (< 0: unbounded, the default); stale_policy (enum
     * mt_ps_stale_policy, ps/ps.h): wait (stale-synchronous parallel) or drop
     * (a push whose tau exceeds S is discarded and counted,
     * mt_mpi_server_dropped). The rules of the in-process async mode. */
    int64_t max_staleness;
    int stale_policy;
} mt_mpi_ps_config;

/* async, 1 step per epoch, no callbacks, 50 us, no reports, unbounded. */
void mt_mpi_ps_config_default(mt_mpi_ps_config *cfg);

/* On every server rank. `server` describes the whole model (n, n_state,
 * optimizer, weight-decay ranges over [0, n), schedule, state momentum); its
 * `shards` is ignored: the shards are the server ranks. theta0 (n floats) and
 * state0 (n_state; NULL: zeros) are the whole initial model, the same on
 * every server rank (each keeps its own shard). */
int mt_mpi_server_create(mt_mpi_server **out, mt_mpi *m, const mt_ps_server_config *server,
                         const mt_mpi_ps_config *cfg, const float *theta0, const float *state0);
void mt_mpi_server_free(mt_mpi_server *srv);

/* Rank 0, quiescent (in epoch_end or after the run): the update rule's state
 * gathered from the shards into a checkpoint being assembled: the sections
 * "method.*" of optim/method.h for the whole model (dana's momenta W x n,
 * dc-asgd's MeanSquare n, the auto statistics of shard 0) and, with momentum
 * auto and S > 1, "mpi.auto_shards" (double[S][2]: each shard's tau sum and
 * count; each shard measures its own tau). The bytes stay in srv: write the
 * checkpoint before the run goes on. */
int mt_mpi_server_ckpt_add(mt_mpi_server *srv, mt_ckpt *c);
/* Rank 0: the same sections from a checkpoint, kept until
 * mt_mpi_server_restore hands them to the shards. A checkpoint of another
 * method, worker count or size is refused naming the field. */
int mt_mpi_server_ckpt_load(mt_mpi_server *srv, const mt_ckpt *c);

/* Restores a checkpointed model on every server rank: rank 0 passes the whole
 * theta, velocity (n floats each), state and version k >= 0, the others NULL
 * and any version (rank 0's is sent to them); the method's state is what
 * mt_mpi_server_ckpt_load read on rank 0. Collective over the server ranks. */
int mt_mpi_server_restore(mt_mpi_server *srv, const float *theta, const float *velocity,
                          const float *state, int64_t version);

/* Serves the workers until the version reaches `steps` (a total), epoch_end
 * asks to stop, mt_mpi_server_request_stop was called on rank 0, or a worker
 * failed. Every worker gets the end of the run from its next pull. Returns
 * MT_OK, MT_ERR_INTERRUPTED (stopped by request; every ticket handed out was
 * applied first, so the state is consistent) or the failure's status; the
 * same on every server rank. Afterwards rank 0 holds the whole model. */
int mt_mpi_server_run(mt_mpi_server *srv, int64_t steps);

/* Asks a running mt_mpi_server_run on rank 0 to stop; async-signal-safe. */
void mt_mpi_server_request_stop(mt_mpi_server *srv);

/* Rank 0, quiescent (in epoch_end or after the run): the whole model. */
float *mt_mpi_server_theta(mt_mpi_server *srv);
float *mt_mpi_server_velocity(mt_mpi_server *srv);
float *mt_mpi_server_state(mt_mpi_server *srv); /* NULL when n_state == 0 */
int64_t mt_mpi_server_version(const mt_mpi_server *srv);
/* The momentum this rank's shard uses now (the fixed mu, or momentum auto's
 * from the tau its shard has seen). */
double mt_mpi_server_momentum(const mt_mpi_server *srv);
/* This rank's shard [begin, end) of the flat buffer. */
void mt_mpi_server_shard(const mt_mpi_server *srv, size_t *begin, size_t *end);
/* Rank 0: staleness of the epoch in progress and of the whole run. On a
 * server rank > 0, tau_total is the staleness its own shard measured (with
 * bounded staleness the same as rank 0's, push for push). */
mt_tau_hist *mt_mpi_server_tau_epoch(mt_mpi_server *srv);
mt_tau_hist *mt_mpi_server_tau_total(mt_mpi_server *srv);
/* Rank 0, drop policy: the pushes discarded so far (checkpoints carry it as
 * "mpi.dropped"); 0 otherwise. */
int64_t mt_mpi_server_dropped(const mt_mpi_server *srv);

/* Where time went. On every server rank: seconds spent handling messages
 * (busy: receiving pushes, applying them, answering pulls), of which in the
 * update itself (apply: the optimizer step, sync mode's averaging, the BN
 * merge), and the pushes applied. On rank 0 also the workers'
 * sums as of their last pull: seconds in communication (pull and push,
 * waiting for the servers included) and computing, and gradients pushed. */
typedef struct {
    double server_busy_s, server_apply_s;
    int64_t server_pushes;
    double worker_comm_s, worker_compute_s;
    int64_t worker_gradients;
} mt_mpi_timing;
void mt_mpi_server_timing(const mt_mpi_server *srv, mt_mpi_timing *out);

/* On a worker rank: n parameters, n_state state floats and n_report report
 * numbers per push, the same numbers as the servers'. */
int mt_mpi_worker_create(mt_mpi_worker **out, mt_mpi *m, size_t n, size_t n_state,
                         int n_report);
void mt_mpi_worker_free(mt_mpi_worker *w);

/* Pulls theta straight into params (n floats) and the BN state into state
 * (n_state; may be NULL only when n_state is 0); *version and *batch get the
 * ticket. Returns 1: compute batch *batch; 0: the run is over for this worker
 * (end, stop, a failure elsewhere); < 0: an MPI error (message set). */
int mt_mpi_worker_pull(mt_mpi_worker *w, float *params, float *state, int64_t *version,
                       int64_t *batch);

/* Pushes the gradient of the ticket just pulled, straight from grad (n
 * floats), the worker's updated state (n_state) and the report (n_report
 * doubles, copied; NULL when n_report is 0). grad and state must not change
 * until the next mt_mpi_worker_pull returns (the sends overlap it). */
int mt_mpi_worker_push(mt_mpi_worker *w, const float *grad, const float *state,
                       const double *report);

/* Tells rank 0 that this worker failed with `status` (message: mt_errmsg());
 * the run ends for everybody. Call instead of the push; no pull follows. */
int mt_mpi_worker_fail(mt_mpi_worker *w, int status);

/* This worker's seconds in communication and computing so far. */
void mt_mpi_worker_timing(const mt_mpi_worker *w, double *comm_s, double *compute_s);

#endif
