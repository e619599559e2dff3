/* trial.h: a short trial run of one cell's settings before a sweep trains:
 * `mutau train ... --stop-after STEPS` in DIR/.trial, removed afterwards.
 *
 * It times the model on this machine (sweep/estimate.h reads the run), and
 * since it is an ordinary `mutau train` it also checks that train accepts
 * every flag of the cells: settings that do not train are refused before
 * any cell starts, with train's own message.
 *
 * Not here: what the numbers mean (sweep/estimate.h).
 */
#ifndef MT_SWEEP_TRIAL_H
#define MT_SWEEP_TRIAL_H

#include "sweep/estimate.h"
#include "sweep/grid.h"

/* Runs `steps` steps of cell c of s with `threads` threads, the flags in
 * `extra` (NULL-terminated, may be NULL) after the cell's own, and reads its
 * cost. MT_ERR_ARG with train's message when it refuses the settings;
 * MT_ERR_INTERRUPTED when a signal arrived (core/signals.h; the trial is
 * stopped); MT_ERR_NOMEM when the kernel killed it (SIGKILL: out of memory;
 * cost->peak_bytes is then the size it had reached); MT_ERR_LIB when it
 * failed otherwise. */
int mt_sweep_trial(const mt_sweep_spec *s, const mt_sweep_cell *c, const char *dir,
                   const char *exe, int threads, int steps, const char *const *extra,
                   mt_sweep_cost *cost);

#endif
