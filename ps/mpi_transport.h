/* mpi_transport.h: a worker rank's side of the MPI parameter server
 * (ps/mpi_ps.h) as a transport (ps/transport.h), so the one worker loop
 * (trainer/worker.h) runs over MPI unchanged: pull is mt_mpi_worker_pull
 * (theta straight into the worker's parameters, the ticket from rank 0), push
 * is mt_mpi_worker_push (straight from its gradient), fail tells rank 0.
 *
 * A push also carries the numbers at `report` (the worker's step writes them
 * before the push: the batch's loss and hits for rank 0's log). */
#ifndef MT_PS_MPI_TRANSPORT_H
#define MT_PS_MPI_TRANSPORT_H

#include "ps/mpi_ps.h"
#include "ps/transport.h"

typedef struct {
    mt_transport base; /* first: what the worker loop is given */
    mt_mpi_worker *worker;
    const double *report; /* the n_report numbers of the next push; NULL when none */
} mt_mpi_transport;

/* t over worker w (not owned). */
void mt_mpi_transport_init(mt_mpi_transport *t, mt_mpi_worker *w, const double *report);

#endif
