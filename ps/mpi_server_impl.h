/* mpi_server_impl.h: the server rank's state, shared by mpi_server.c (setup,
 * gathers, accessors), mpi_serve.c (the message loop and the shard's side of
 * the protocol) and mpi_coord.c (rank 0's tickets, gates and epoch ends).
 * Private to ps/mpi_*.c. */
#ifndef MT_PS_MPI_SERVER_IMPL_H
#define MT_PS_MPI_SERVER_IMPL_H

#include "ps/mpi_impl.h"
#include "ps/mpi_ps.h"

#include <signal.h>

/* One worker as a server rank sees it. */
struct mpi_peer {
    int64_t pulls;        /* pulls this rank has answered with work */
    int64_t pushes;       /* pushes this rank has applied (sync: in completed steps) */
    int64_t version_read; /* this shard's version sent with the last pull */
    int grant;            /* rank > 0: a grant waiting for the worker's previous push */
    float *grad;          /* sync: the worker's gradient of the step (this shard) */
    float *state_new;     /* sync, rank 0: the worker's state of the step */
    int has_grad;         /* sync: the step's gradient has arrived */
    /* rank 0 */
    float *state_read;    /* the state as sent with the last pull (the merge needs it) */
    struct ticket_msg ticket;
    struct pull_msg timing; /* as of the worker's last pull */
    int waiting;          /* a pull waiting for the epoch gate or the step */
    int done;             /* got the end of the run, or failed */
    int64_t ticket_step;  /* sync: the step of the last ticket (-1: none) */
    /* rank 0, bounded staleness */
    int64_t inflight;     /* the version of the ticket out (-1: none) */
    int pending;          /* the push arrived and waits for admission */
    int64_t arrival;      /* its place in the order of arrival */
    MPI_Message grad_msg, state_msg; /* its gradient and state, matched, still in MPI */
};

struct mt_mpi_server {
    mt_mpi *m;
    mt_mpi_ps_config cfg;
    int rank, S, W;
    size_t n, n_state, begin, end, len; /* the whole model; this rank's shard */
    mt_ps_server *shard;                /* this rank's shard (rank 0: and the state) */
    struct mpi_peer *peer;              /* W */
    MPI_Request *theta_req;             /* W: the pull in flight to each worker */
    MPI_Request *state_req;             /* W: rank 0, the state in flight */
    MPI_Request *ticket_req;            /* W: rank 0, the ticket in flight */
    float *grad;                        /* async: the push being applied (len) */
    float *state_new;                   /* async, rank 0: its state (n_state) */
    double *report;                     /* rank 0: the push's report (n_report) */
    float *avg_grad, *avg_state;        /* sync, W > 1: the step's averages */
    /* Async with a method that needs what each worker read (dana's look-ahead,
     * dc-asgd's theta_read): W copies of this shard, worker w's at w * stride,
     * each what w pulled, sent from there and kept until w's push; NULL
     * otherwise (the pull is sent straight from theta). */
    float *pull_copy;
    size_t copy_stride;
    const float **src;                  /* sync: W sources for mt_ps_average */
    int step_grads;                     /* sync: gradients of the step received */
    double busy_s, apply_s;
    int64_t pushes;

    /* Rank 0. */
    float *theta_all, *velocity_all; /* the gathered model (S = 1: the shard's own buffers) */
    int *counts, *displs;            /* S: shard sizes and offsets, for the gathers */
    mt_method *method_all;           /* the whole model's method state, gathered (S = 1: the
                                      * shard's own) */
    int own_method;                  /* method_all is rank 0's own copy (S > 1) */
    double *auto_all;                /* momentum auto: (tau sum, count) of each shard (2 S) */
    mt_tau_hist tau_epoch, tau_total;
    int64_t steps;                   /* the run's target version */
    int64_t next, done, gate;        /* async: tickets handed out, pushes applied; the gate */
    int64_t out;                     /* async: tickets handed out and not yet pushed */
    int64_t dropped;                 /* bounded, drop policy: pushes discarded */
    int64_t arrivals;                /* bounded: pushes arrived so far (their order) */
    int go;                          /* sync: the step in progress goes ahead */
    int finished;                    /* workers done */
    int status;                      /* the run's failure (< 0) or 0 */
    char errmsg[600];
    int stop_by_epoch;
    volatile sig_atomic_t stop_requested;
    int stop_seen;

    /* Ranks > 0. */
    int64_t epoch_at, end_at; /* gather at / end at this version (-1: none) */
    int expect;               /* bounded: the worker whose gradient rank 0 sequenced next
                               * (-1: none; the next message is rank 0's) */
    int expect_apply;         /* ... to be applied (1) or discarded (0: dropped) */
};

/* Bounded staleness is on (async mode, max_staleness >= 0). */
static inline int mpi_bounded(const mt_mpi_server *srv)
{
    return srv->cfg.max_staleness >= 0;
}

/* mpi_server.c: the shards gathered to rank 0 (collective over the server
 * ranks; rank 0's buffers get the whole model and the method's state). */
int mpi_gather(mt_mpi_server *srv);

/* mpi_serve.c: the shard's side of the protocol, on every server rank. */
int mpi_serve_pull(mt_mpi_server *srv, int w);  /* sends the shard (rank 0: state, ticket) */
int mpi_serve_end(mt_mpi_server *srv, int w);   /* empty shard (rank 0: end ticket) */
int mpi_wait_pulls(mt_mpi_server *srv);         /* every pull in flight has left */
/* Rank 0, bounded: receives worker w's pending push (its gradient and state,
 * still in MPI) and applies it (apply = 1) or discards it. */
int mpi_take_push(mt_mpi_server *srv, int w, int apply);
int mpi_worker_rank(const mt_mpi_server *srv, int w);

/* mpi_coord.c: rank 0's side. */
void mpi_coord_start(mt_mpi_server *srv);
int mpi_coord_pull(mt_mpi_server *srv, int w);     /* a pull request arrived */
int mpi_coord_pushed(mt_mpi_server *srv, int w, int64_t tau); /* async push applied */
int mpi_coord_arrived(mt_mpi_server *srv, int w);  /* bounded: a push waits to be decided */
int mpi_coord_stepped(mt_mpi_server *srv);         /* sync step applied */
int mpi_coord_fail(mt_mpi_server *srv, int w, int status, const char *message);
int mpi_coord_stop(mt_mpi_server *srv);            /* the stop request was seen */
int mpi_coord_error(mt_mpi_server *srv, int status); /* a callback failed (message set) */
int mpi_coord_finish(mt_mpi_server *srv);          /* tells ranks > 0 the end */

#endif
