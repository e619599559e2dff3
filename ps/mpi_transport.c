/* mpi_transport.c: the MPI worker as a transport (see mpi_transport.h). */
#include "ps/mpi_transport.h"

#include "core/status.h"

#include <stdio.h>

static int pull(mt_transport *base, int worker, float *params, float *state, mt_ticket *tk)
{
    mt_mpi_transport *t = (mt_mpi_transport *)base;
    return mt_mpi_worker_pull(t->worker, params, state, &tk->version, &tk->batch);
}

static int push(mt_transport *base, int worker, const float *grad, const float *state,
                const mt_ticket *tk)
{
    mt_mpi_transport *t = (mt_mpi_transport *)base;
    return mt_mpi_worker_push(t->worker, grad, state, t->report);
}

static void fail(mt_transport *base, int worker, int status)
{
    mt_mpi_transport *t = (mt_mpi_transport *)base;
    /* The step's message is what rank 0 must report; an MPI error here would
     * replace it, and the job ends either way. */
    char msg[512];
    snprintf(msg, sizeof msg, "%s", mt_errmsg());
    if (mt_mpi_worker_fail(t->worker, status) < 0)
        mt_error(status, "%s", msg);
}

void mt_mpi_transport_init(mt_mpi_transport *t, mt_mpi_worker *w, const double *report)
{
    t->base.pull = pull;
    t->base.push = push;
    t->base.fail = fail;
    t->worker = w;
    t->report = report;
}
