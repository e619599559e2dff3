/* train_mpi.h: `mpirun -np N mutau train --transport mpi`: the trainer's run
 * with its steps taken by the parameter server over MPI (ps/mpi_ps.h).
 *
 * Every rank opens the trainer itself (its own data, its own network from the
 * same seed). Server rank 0 holds the run: it is the trainer's engine
 * (trainer.h: mt_trainer_attach), so the run directory, config.json, log.csv,
 * evaluation, checkpoints and final.json are the single-process run's code,
 * fed at each epoch end with the model gathered from the shards. The other
 * server ranks apply pushes to their shards; each worker rank runs the one
 * worker loop (trainer/worker.h) on its network over ps/mpi_transport.h.
 *
 * Batches. As in one process: async hands out batch numbers 0, 1, 2, ... in
 * the epoch order, each once; sync takes W batches a step (an epoch is
 * floor(B / W) steps); trainer/net_worker.h maps a batch number to its
 * images. Each push reports its batch's loss x images and top-1 hits to
 * rank 0, which sums them in batch order at the epoch's end, so a sync run
 * over MPI writes the numbers of the in-process sync run with the same W.
 *
 * The update rule (--method, --momentum auto) is the in-process server's
 * (docs/methods.md); its state (dana's momenta, dc-asgd's MeanSquare, the
 * auto statistics) is gathered from the shards into every checkpoint and
 * scattered back on --resume. config.json records it in settings.mpi.
 *
 * log.csv keeps the multi-worker columns (tau_mean ... tau_p99,
 * server_share: here the share of rank 0's time spent handling messages,
 * momentum: shard 0's mu at the epoch's end; with --max-staleness also
 * dropped, the pushes the drop policy discarded in the epoch) and adds
 * comm_share: the workers' share of their time in pull and push (waiting for
 * the servers included), as of their last pull. final.json's staleness has
 * the run's dropped count (checkpoints keep it).
 */
#ifndef MT_TRAINER_TRAIN_MPI_H
#define MT_TRAINER_TRAIN_MPI_H

#include "ps/mpi.h"
#include "trainer/trainer.h"

#include <stdio.h>

typedef struct {
    int mode;          /* MT_PS_ASYNC or MT_PS_SYNC */
    int threads;       /* T per worker rank, resolved (mt_train_mpi_threads) */
    int method;        /* enum mt_method_kind (optim/method.h): the servers' update rule */
    int momentum_auto; /* 1: mu from the measured staleness, the trainer's momentum the target */
    int64_t max_staleness; /* async: bound S on tau (< 0: none), ps/mpi_ps.h */
    int stale_policy;      /* enum mt_ps_stale_policy: wait or drop */
} mt_train_mpi_config;

/* T: `threads` when > 0, else the cores of this node divided by the ranks on
 * it (at least 1). */
int mt_train_mpi_threads(const mt_mpi *m, int threads);

typedef struct mt_train_mpi mt_train_mpi;

/* After mt_trainer_open on every rank of m: attaches the run's steps to t
 * (every rank: sync mode's steps per epoch; rank 0: as its engine) and
 * builds this rank's part: a shard server (server ranks) or a network worker
 * over the MPI transport (worker ranks). t must outlive the result. Not
 * collective; MT_ERR_ARG naming the flag for settings MPI cannot run. */
int mt_train_mpi_open(mt_train_mpi **out, mt_trainer *t, mt_mpi *m, const mt_train_mpi_config *p);
void mt_train_mpi_close(mt_train_mpi *r);

/* Server ranks, collective over them, after rank 0's mt_trainer_load: the
 * shards take rank 0's restored model and step. */
int mt_train_mpi_restore(mt_train_mpi *r);

/* Ranks other than 0: serve the shard or compute gradients until rank 0
 * ends the run; returns the run's status (MT_OK, MT_ERR_INTERRUPTED, or the
 * failure's, whose message rank 0 prints). */
int mt_train_mpi_serve(mt_train_mpi *r);

/* Rank 0 after mt_trainer_run: when the run took no step in this process (a
 * resumed run that was already complete, or a failure before its steps),
 * serves the other ranks the end of the run so they finish too. */
int mt_train_mpi_release(mt_train_mpi *r);

/* Rank 0: the roles and hosts, two lines. */
void mt_train_mpi_describe(const mt_train_mpi *r, FILE *out);

/* The settings every rank must share, chained onto the trainer's hash. */
uint64_t mt_train_mpi_hash(const mt_train_mpi *r, const char *out_dir);

#endif
