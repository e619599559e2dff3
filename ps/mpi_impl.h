/* mpi_impl.h: what the MPI transport's files (ps/mpi_*.c) share: the one
 * include of <mpi.h>, the check around every MPI call, the message tags and
 * the layouts of the small messages. Private to ps/mpi_*.c.
 *
 * The protocol (ps/mpi_ps.h explains the semantics). Worker w is world rank
 * S + w; rank 0 is the coordinator and shard 0's server; server rank s holds
 * shard s (a contiguous, 16-float-aligned range of the flat buffer).
 *
 *   pull: the worker posts one receive per shard straight into its
 *         parameters + shard offset (TAG_THETA from each server rank), one for
 *         the BN state (TAG_STATE from rank 0) and one for the ticket
 *         (TAG_TICKET from rank 0), then sends TAG_PULL to rank 0 and waits.
 *         Rank 0 grants the ticket (or the end of the run) when the epoch gate
 *         allows, sends its shard, the state and the ticket, and tells every
 *         other server rank (TAG_GRANT) to send its shard to w. A server rank
 *         sends w's pull only after it has applied w's previous push, so a
 *         worker always sees its own last step, as in one process.
 *   push: one send per shard straight from the gradient + shard offset
 *         (TAG_GRAD), then the report (TAG_REPORT) and the updated BN state
 *         (TAG_STATE_PUSH) to rank 0, right after shard 0's gradient: same
 *         source, so rank 0 receives them in that order. The
 *         server knows the version each worker read (it sent it), so a push
 *         carries no header.
 *   end of the run: rank 0 answers pulls with an end ticket (and every server
 *         rank sends w an empty shard so its receives complete), and when all
 *         workers are done tells the other server ranks the final version
 *         (TAG_END); they apply every push up to it, then the shards are
 *         gathered to rank 0.
 *   epoch end: when every push below the epoch's last batch is applied on
 *         shard 0 and no later ticket is out, rank 0 sends TAG_EPOCH with the
 *         version; each server rank gathers its shard to rank 0 once it has
 *         applied that many pushes (MPI_Gatherv over the server communicator).
 *   failure: a worker sends TAG_FAIL (status and message) to rank 0, which
 *         ends the run for everybody.
 *
 * Bounded staleness (async, max_staleness >= 0): rank 0 decides every push.
 *   It matches worker w's shard-0 gradient (MPI_Improbe) but leaves it in
 *   MPI (the handle kept, the report received) until the push is admissible
 *   (wait policy) or judged (drop policy); then it sends TAG_SEQ (apply or
 *   drop) to every other server rank, receives the gradient and applies or
 *   discards it. A server rank > 0 takes rank 0's messages strictly in order
 *   and, after a TAG_SEQ for w, probes for w's gradient only (the other
 *   workers' gradients wait in MPI), so every shard applies the pushes in
 *   rank 0's order and serves a grant at exactly the version rank 0 granted
 *   it at: one version clock, the same tau on every shard. A worker's pull is
 *   answered only after its push was decided.
 */
#ifndef MT_PS_MPI_IMPL_H
#define MT_PS_MPI_IMPL_H

#include "ps/mpi.h"

#include <mpi.h>
#include <stdint.h>

/* Checks one MPI call's return code: MT_OK, or MT_ERR_LIB with the message
 * "mpi: rank R: MPI_Call: MPI's error string". Use as
 *     int rc = MT_MPI(MPI_Isend(...));   if (rc < 0) return rc; */
#define MT_MPI(call) mt_mpi_check((call), #call)
int mt_mpi_check(int code, const char *call);

/* The world rank for messages (-1 before mt_mpi_init). */
int mt_mpi_world_rank(void);

enum mt_mpi_tag {
    TAG_PULL = 1,   /* worker -> rank 0: pull request (struct pull_msg) */
    TAG_TICKET,     /* rank 0 -> worker: the ticket (struct ticket_msg) */
    TAG_THETA,      /* server rank s -> worker: shard s of theta (empty: run over) */
    TAG_STATE,      /* rank 0 -> worker: the BN state (empty: run over) */
    TAG_GRAD,       /* worker -> server rank s: shard s of the gradient */
    TAG_REPORT,     /* worker -> rank 0: the push's report numbers (after shard 0's gradient) */
    TAG_STATE_PUSH, /* worker -> rank 0: the worker's updated BN state */
    TAG_FAIL,       /* worker -> rank 0: a failure (struct fail_msg) */
    TAG_GRANT,      /* rank 0 -> server rank s: serve worker w's pull (struct ctl_msg) */
    TAG_EPOCH,      /* rank 0 -> server rank s: gather at version v (struct ctl_msg) */
    TAG_END,        /* rank 0 -> server rank s: the run ends at version v (struct ctl_msg) */
    TAG_SEQ         /* bounded staleness, rank 0 -> server rank s: worker w's push is next:
                     * apply it (value 1) or receive and discard it (0: dropped) */
};

/* Worker -> rank 0 with each pull: the worker's time so far, for the log. */
struct pull_msg {
    double comm_s;    /* in pull and push (waiting for the servers included) */
    double compute_s; /* between a pull's return and the next push */
    double gradients; /* pushes so far */
};

/* Rank 0 -> worker. */
struct ticket_msg {
    int64_t version; /* shard 0's version of the theta sent (tau = k - version at push) */
    int64_t batch;   /* the batch to compute */
    int64_t work;    /* 1: compute; 0: the run is over for this worker */
};

/* Rank 0 -> the other server ranks. */
struct ctl_msg {
    int64_t worker;  /* TAG_GRANT, TAG_SEQ: the worker */
    int64_t value;   /* TAG_GRANT: 1 serve, 0 run over; TAG_SEQ: 1 apply, 0 drop;
                      * TAG_EPOCH/TAG_END: the version */
    int64_t status;  /* TAG_END: the run's status (MT_OK, MT_ERR_INTERRUPTED, ...) */
};

/* Worker -> rank 0. */
struct fail_msg {
    int32_t status;
    char message[500];
};

struct mt_mpi {
    int rank, size, servers;
    MPI_Comm data;   /* duplicate of the world: all parameter traffic */
    MPI_Comm role;   /* the server ranks' or the worker ranks' communicator */
    MPI_Comm node;   /* the ranks on this node */
    int node_size, node_rank, n_hosts;
    char (*hosts)[MPI_MAX_PROCESSOR_NAME];
};

#endif
