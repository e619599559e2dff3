/* stale_bound.h: the wait policy of bounded staleness (--max-staleness S
 * --stale-policy wait), one rule for the runner in one process
 * (ps/run_async.c) and for rank 0 over MPI (ps/mpi_coord.c).
 *
 * The invariant: for every gradient B in flight (pulled at version v_B),
 * (k - v_B) + (c(v_B) - 1) <= S, where k is the server's version and c(v)
 * counts the gradients in flight pulled at versions <= v: even if every
 * older one lands first, B's tau stays within S. A pull keeps it when at
 * most S others are in flight (the callers count their tickets); a push by A
 * keeps it when every B pulled before A (v_B < v_A) has one step to spare,
 * (k - v_B) + c(v_B) <= S. The oldest gradient can always be pushed, so
 * waiting ends.
 */
#ifndef MT_PS_STALE_BOUND_H
#define MT_PS_STALE_BOUND_H

#include <stdint.h>

/* The pushes that may land now at version k under bound S: those of
 * gradients pulled at versions <= the returned one (INT64_MAX: all).
 * inflight[i] is the version gradient i in flight was pulled at, -1 for a
 * slot with none. */
int64_t mt_stale_admissible_upto(const int64_t *inflight, int n, int64_t k, int64_t S);

#endif
