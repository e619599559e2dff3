/* signals.h: Ctrl-C, SIGTERM and SIGUSR1 as a request to stop cleanly.
 *
 * mt_signals_install() makes SIGINT, SIGTERM and SIGUSR1 set a flag (async-signal-safe:
 * the handler only stores a lock-free atomic int). Long loops poll mt_signals_pending()
 * between steps, finish the step, save their state and return
 * MT_ERR_INTERRUPTED. The handler is installed with SA_RESETHAND, so a second
 * Ctrl-C while the state is being saved kills the process the usual way.
 *
 * SIGUSR1 is for MPI runs: Open MPI's mpirun forwards it to every rank and
 * lets the job end by itself, where on SIGINT or SIGTERM it kills the ranks
 * after a timeout and exits 1 (docs/mpi.md); batch schedulers send it too
 * (Slurm's --signal).
 *
 * Not here: SIGHUP/SIGUSR2 handling, threads waiting on signals.
 */
#ifndef MT_SIGNALS_H
#define MT_SIGNALS_H

/* Installs the handlers (again re-arms them) and clears the flag. */
int mt_signals_install(void);

/* Restores the handlers that were there before mt_signals_install(). */
void mt_signals_restore(void);

/* The signal number received since install (SIGINT, SIGTERM or SIGUSR1), or 0. */
int mt_signals_pending(void);

/* Clears the flag. */
void mt_signals_clear(void);

/* "SIGINT", "SIGTERM", ... */
const char *mt_signal_name(int sig);

#endif
