/* transport.h: the seam between a worker and the parameter server.
 *
 * A worker is a loop (trainer/worker.h, the only one):
 *
 *     while ((rc = t->pull(t, id, params, state, &tk)) == 1) {
 *         gradient of batch tk.batch at params -> grad; state updated in place
 *         (on failure: t->fail(t, id, status), leave)
 *         if ((rc = t->push(t, id, grad, state, &tk)) < 0) leave;
 *     }
 *
 * and a transport is how pull and push reach the server. The buffers are the
 * worker's own (a network's parameter, gradient and BN-state buffers): pull
 * writes theta_v straight into params, push reads the gradient straight from
 * grad, so a transport copies at most what its medium needs. ps/ps.h's
 * in-process modes (async, sync, delay) are one implementation; a transport
 * over MPI is another, and the worker loop runs unchanged over both.
 *
 * Not here: threads (ps/ps.h starts the workers), the server's arithmetic
 * (ps/server.h), what a batch is (the worker's business).
 */
#ifndef MT_PS_TRANSPORT_H
#define MT_PS_TRANSPORT_H

#include <stdint.h>

/* What one pull hands a worker. */
typedef struct {
    int64_t version; /* v, the version of theta pulled; tau = k - v when step k applies the push */
    int64_t batch;   /* the batch to compute: 0, 1, 2, ... in the run's shared order, each
                        handed out once (sync: step k's W batches are kW ... kW + W - 1) */
} mt_ticket;

typedef struct mt_transport mt_transport;
struct mt_transport {
    /* 1: work to do: theta_v written into params (n floats), the matching BN
     *    state into state (n_state floats; NULL: none wanted), *tk filled;
     * 0: the run is over for this worker (its end, a stop request, a failure
     *    elsewhere);
     * < 0: an error (message set).
     * Blocks while the run is at an epoch end until the epoch is closed. */
    int (*pull)(mt_transport *t, int worker, float *params, float *state, mt_ticket *tk);
    /* The gradient (n floats) of batch tk->batch computed at tk->version and
     * the worker's updated BN state (NULL: none). The transport keeps what it
     * needs of the pull (the state as pulled, for the merge of ps/server.h);
     * grad and state stay untouched by the worker until its next pull.
     * Returns MT_OK (also when a failure elsewhere means the push is dropped:
     * the next pull says the run is over) or a negative status. */
    int (*push)(mt_transport *t, int worker, const float *grad, const float *state,
                const mt_ticket *tk);
    /* The worker's step failed with status (< 0, message set): the run stops
     * at a consistent server state and reports it. The worker then leaves. */
    void (*fail)(mt_transport *t, int worker, int status);
};

/* The body of worker `worker`'s thread: its loop over t (above). Returns
 * MT_OK when pull said the run is over, else the status it stopped on. */
typedef int (*mt_worker_main_fn)(void *worker_ctx, mt_transport *t, int worker);

#endif
