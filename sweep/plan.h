/* plan.h: how a sweep shares the machine: cells side by side (J), OpenMP
 * threads per cell (T), and what fits in memory.
 *
 * Threads: a cell of W workers keeps W compute threads busy in async and
 * sync mode, one in delay mode and in single-process runs (its demand D);
 * J x D x T <= cores unless the user sets J or T.
 *
 * Memory: J cells side by side hold about J times one cell's peak, which
 * must fit in what the machine can give (core/meminfo.h) or the kernel's
 * out-of-memory killer ends cells without a message. A sweep measures the
 * peak in its trial at the grid's largest worker count. A dry run measures
 * instead one compute thread (sweep/run.h) and adds what each further worker
 * holds (trainer/mem_guard.h: its network copy and buffers; delay mode: the
 * longer ring of past parameters), so that it can say what fits without
 * building what does not.
 *
 * Not here: the trial (sweep/trial.h), the time per step (sweep/estimate.h).
 */
#ifndef MT_SWEEP_PLAN_H
#define MT_SWEEP_PLAN_H

#include "sweep/estimate.h"
#include "sweep/grid.h"

#include <stdint.h>
#include <stdio.h>

/* Compute threads a cell of W workers keeps busy (D above). */
int mt_sweep_cell_demand(const mt_sweep_spec *s, int workers);

/* The largest demand over the grid's worker counts. */
int mt_sweep_grid_demand(const mt_sweep_spec *s);

/* *jobs: `jobs` when > 0, else cores / D (at least 1); *threads: `threads`
 * when > 0, else cores / (J x D) (at least 1). */
void mt_sweep_plan_threads(const mt_sweep_spec *s, int cores, int jobs, int threads, int *jobs_out,
                           int *threads_out);

/* The peak resident bytes of a cell of W workers, from a trial of one
 * compute thread (`c`, with network_bytes measured). */
uint64_t mt_sweep_cell_peak(const mt_sweep_spec *s, const mt_sweep_cost *c, int workers);

/* Seconds of a fresh cell of W workers from a trial of one compute thread
 * with `threads` threads: the work spread over min(W, cores / (J x T))
 * workers running at once (async and sync), as if they scaled perfectly. */
double mt_sweep_cell_seconds(const mt_sweep_spec *s, const mt_sweep_cost *c, int workers,
                             int cores, int jobs, int threads);

/* J cells of `peak` bytes against `available`: prints the memory line of
 * the estimate to `out`, warnings to stderr, and lowers *jobs to what fits
 * unless `jobs_given`. */
void mt_sweep_plan_memory(FILE *out, uint64_t peak, uint64_t available, int *jobs, int jobs_given);

#endif
