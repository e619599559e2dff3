/* mpi_worker.c: a worker rank's pull and push (ps/mpi_ps.h): one receive
 * per shard straight into the network's parameters, one send per shard
 * straight from its gradient; the push's sends overlap the next pull. */
#include "ps/mpi_impl.h"
#include "ps/mpi_ps.h"

#include "core/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mt_mpi_worker {
    mt_mpi *m;
    size_t n, n_state;
    int S;
    int *begin, *count;      /* S: the shards */
    MPI_Request *push_req;   /* S gradient shards + the state + the report */
    MPI_Request *pull_req;   /* S theta shards + the state + the ticket */
    struct ticket_msg ticket;
    struct pull_msg msg;
    int n_report;
    double report[64];       /* the last push's report, in flight */
    double comm_s, compute_s, ready;
    int64_t gradients;
};

void mt_mpi_worker_free(mt_mpi_worker *w)
{
    if (!w)
        return;
    free(w->begin);
    free(w->count);
    free(w->push_req);
    free(w->pull_req);
    free(w);
}

int mt_mpi_worker_create(mt_mpi_worker **out, mt_mpi *m, size_t n, size_t n_state,
                         int n_report)
{
    *out = NULL;
    if (mt_mpi_is_server(m))
        return mt_error(MT_ERR_ARG, "mpi: rank %d is a server rank, not a worker", m->rank);
    if (n_report < 0 || n_report > 64)
        return mt_error(MT_ERR_ARG, "mpi: %d report numbers per push is not in [0, 64]",
                        n_report);
    if (n > (size_t)2147483647 || n_state > (size_t)2147483647)
        return mt_error(MT_ERR_ARG, "mpi: %zu parameters exceed MPI's int counts", n);
    mt_mpi_worker *w = calloc(1, sizeof *w);
    int S = m->servers;
    if (!w || !(w->begin = calloc((size_t)S, sizeof(int))) ||
        !(w->count = calloc((size_t)S, sizeof(int))) ||
        !(w->push_req = malloc((size_t)(S + 2) * sizeof(MPI_Request))) ||
        !(w->pull_req = malloc((size_t)(S + 2) * sizeof(MPI_Request)))) {
        mt_mpi_worker_free(w);
        return mt_error(MT_ERR_NOMEM, "mpi: out of memory");
    }
    w->m = m;
    w->n = n;
    w->n_state = n_state;
    w->S = S;
    w->n_report = n_report;
    for (int s = 0; s < S; s++) {
        size_t b, e;
        mt_ps_shard_range(n, S, s, &b, &e);
        w->begin[s] = (int)b;
        w->count[s] = (int)(e - b);
    }
    for (int i = 0; i < S + 2; i++)
        w->push_req[i] = MPI_REQUEST_NULL;
    for (int i = 0; i < S + 2; i++)
        w->pull_req[i] = MPI_REQUEST_NULL;
    w->ready = MPI_Wtime();
    *out = w;
    return MT_OK;
}

int mt_mpi_worker_pull(mt_mpi_worker *w, float *params, float *state, int64_t *version,
                       int64_t *batch)
{
    if (w->n_state && !state)
        return mt_error(MT_ERR_ARG, "mpi: pull without a state buffer for %zu floats",
                        w->n_state);
    double t0 = MPI_Wtime();
    MPI_Comm c = w->m->data;
    int S = w->S;
    /* The state is received into the buffer the last push sent it from. */
    int rc = MT_MPI(MPI_Wait(&w->push_req[S], MPI_STATUS_IGNORE));
    for (int s = 0; s < S && rc == MT_OK; s++)
        rc = MT_MPI(MPI_Irecv(params + w->begin[s], w->count[s], MPI_FLOAT, s, TAG_THETA, c,
                              &w->pull_req[s]));
    if (rc == MT_OK && w->n_state)
        rc = MT_MPI(MPI_Irecv(state, (int)w->n_state, MPI_FLOAT, 0, TAG_STATE, c,
                              &w->pull_req[S]));
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Irecv(&w->ticket, 3, MPI_INT64_T, 0, TAG_TICKET, c, &w->pull_req[S + 1]));
    if (rc == MT_OK) {
        w->msg = (struct pull_msg){w->comm_s, w->compute_s, (double)w->gradients};
        rc = MT_MPI(MPI_Send(&w->msg, 3, MPI_DOUBLE, 0, TAG_PULL, c));
    }
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Waitall(S + 2, w->push_req, MPI_STATUSES_IGNORE));
    if (rc == MT_OK)
        rc = MT_MPI(MPI_Waitall(S + 2, w->pull_req, MPI_STATUSES_IGNORE));
    w->ready = MPI_Wtime();
    w->comm_s += w->ready - t0;
    if (rc < 0)
        return rc;
    if (!w->ticket.work)
        return 0;
    *version = w->ticket.version;
    *batch = w->ticket.batch;
    return 1;
}

int mt_mpi_worker_push(mt_mpi_worker *w, const float *grad, const float *state,
                       const double *report)
{
    if (w->n_state && !state)
        return mt_error(MT_ERR_ARG, "mpi: push without the state (%zu floats)", w->n_state);
    double t0 = MPI_Wtime();
    w->compute_s += t0 - w->ready;
    MPI_Comm c = w->m->data;
    int rc = MT_OK;
    /* Shard 0's gradient goes first: rank 0 receives the state right after it. */
    for (int s = 0; s < w->S && rc == MT_OK; s++)
        rc = MT_MPI(MPI_Isend(grad + w->begin[s], w->count[s], MPI_FLOAT, s, TAG_GRAD, c,
                              &w->push_req[s]));
    if (rc == MT_OK && w->n_report) {
        memcpy(w->report, report, (size_t)w->n_report * sizeof(double));
        rc = MT_MPI(MPI_Isend(w->report, w->n_report, MPI_DOUBLE, 0, TAG_REPORT, c,
                              &w->push_req[w->S + 1]));
    }
    if (rc == MT_OK && w->n_state)
        rc = MT_MPI(MPI_Isend(state, (int)w->n_state, MPI_FLOAT, 0, TAG_STATE_PUSH, c,
                              &w->push_req[w->S]));
    w->gradients++;
    w->comm_s += MPI_Wtime() - t0;
    return rc;
}

int mt_mpi_worker_fail(mt_mpi_worker *w, int status)
{
    struct fail_msg f;
    memset(&f, 0, sizeof f);
    f.status = status;
    snprintf(f.message, sizeof f.message, "%s", mt_errmsg());
    return MT_MPI(MPI_Send(&f, (int)sizeof f, MPI_BYTE, 0, TAG_FAIL, w->m->data));
}

void mt_mpi_worker_timing(const mt_mpi_worker *w, double *comm_s, double *compute_s)
{
    *comm_s = w->comm_s;
    *compute_s = w->compute_s;
}
