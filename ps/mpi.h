/* mpi.h: the MPI world mutau runs in when started by mpirun with
 * --transport mpi: which rank does what, on which host, and the agreements
 * every rank must reach before training (same settings, everyone's data read).
 *
 * Roles. Of N ranks, world ranks 0 .. S-1 are server ranks and S .. N-1 are
 * workers (worker w is world rank S + w, W = N - S). Server rank 0 is also the
 * coordinator: it hands out the tickets (version, batch), holds the BN state,
 * gates the epochs and runs the epoch-end callback; it is the rank that writes
 * the run directory. The roles are split with MPI_Comm_split (a server
 * communicator and a worker communicator); the parameter traffic goes over a
 * duplicate of the world communicator (ps/mpi_ps.h).
 *
 * Only the transport's own files (ps/mpi_*.c) include <mpi.h>: this header is
 * plain C. MPI is initialised by mt_mpi_init alone, so a program that never
 * calls it runs without mpirun exactly as before.
 *
 * Errors: every MPI call is checked (MT_MPI in ps/mpi_impl.h) and reported as
 * MT_ERR_LIB with the call and the world rank in the message; MPI's error
 * handler is set to return, never to abort. Ending the job is the tool's
 * decision (mt_mpi_abort).
 */
#ifndef MT_PS_MPI_H
#define MT_PS_MPI_H

#include <stddef.h>
#include <stdint.h>

typedef struct mt_mpi mt_mpi;

/* Whether this process was started by an MPI launcher (mpirun, srun with
 * PMIx): read from the environment, without initialising MPI. */
int mt_mpi_launched(void);

/* This process's world rank as the launcher tells it in the environment,
 * before (or without) MPI_Init; -1 when unknown. */
int mt_mpi_launch_rank(void);

/* Initialises MPI (thread level FUNNELED: only the calling thread talks to
 * MPI; OpenMP threads compute), sets the roles for S = server_ranks server
 * ranks and gathers every rank's host name. A world of one rank, or S not in
 * [1, N - 1], is MT_ERR_ARG naming the numbers. Collective over the world. */
int mt_mpi_init(mt_mpi **out, int server_ranks);

/* MPI_Finalize after freeing the communicators. Collective. */
void mt_mpi_finalize(mt_mpi *m);

/* Ends every rank of the job at once with `code` (MPI_Abort). For tools only:
 * the way out when one rank must stop the others and cannot tell them. */
void mt_mpi_abort(mt_mpi *m, int code);

int mt_mpi_rank(const mt_mpi *m);        /* world rank */
int mt_mpi_size(const mt_mpi *m);        /* N */
int mt_mpi_servers(const mt_mpi *m);     /* S */
int mt_mpi_workers(const mt_mpi *m);     /* W = N - S */
int mt_mpi_is_server(const mt_mpi *m);
int mt_mpi_worker_index(const mt_mpi *m); /* w in [0, W) on a worker rank, -1 on a server */
/* The host name of world rank r (MPI_Get_processor_name). */
const char *mt_mpi_host(const mt_mpi *m, int r);
/* How many ranks share this rank's node (MPI_COMM_TYPE_SHARED), and this
 * rank's index among them. */
int mt_mpi_ranks_on_node(const mt_mpi *m);
int mt_mpi_node_index(const mt_mpi *m);
/* The number of distinct hosts. */
int mt_mpi_hosts(const mt_mpi *m);

/* Every rank passes its own status; returns, on every rank, the lowest world
 * rank whose status is negative, or -1 when all succeeded. The caller on that
 * rank owns the message (mt_errmsg). Collective. */
int mt_mpi_first_failure(mt_mpi *m, int status);

/* Every rank passes a hash of its settings; returns, on every rank, the lowest
 * world rank whose hash differs from rank 0's, or -1 when all agree (< -1:
 * an MPI error, message set). Collective. */
int mt_mpi_first_mismatch(mt_mpi *m, uint64_t hash);

/* Sends root's *size bytes at *bytes to every rank (MPI_Bcast): on the
 * others *bytes becomes a malloc'd copy (NULL when size is 0) and *size its
 * size. Sizes above max are refused (root: MT_ERR_ARG). Collective. */
int mt_mpi_bcast_bytes(mt_mpi *m, int root, unsigned char **bytes, size_t *size, size_t max);

/* Blocks until every rank has called it (MPI_Barrier over the world). */
int mt_mpi_barrier(mt_mpi *m);

/* Open MPI's version string ("Open MPI v4.1.4, ..."), for config.json. */
const char *mt_mpi_library_version(void);

#endif
