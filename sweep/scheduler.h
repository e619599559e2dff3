/* scheduler.h: a sweep's job slots: the cells still to do, J at a time, each
 * a child `mutau train` process (sweep/cell.h).
 *
 * A free slot takes the next cell; a finished child frees its slot, its
 * outcome goes to cell.json, the progress line and results.csv. A cell that
 * completes or diverges is finished; one that mutau train refuses (exit 2)
 * stops the sweep from starting more, since every cell shares the settings;
 * any other failure is recorded and the others go on. On SIGINT/SIGTERM
 * (core/signals.h) each running child is asked once to stop, and the
 * scheduler waits for their checkpoints.
 *
 * Not here: deciding J, the threads or what is left (sweep/run.h).
 */
#ifndef MT_SWEEP_SCHEDULER_H
#define MT_SWEEP_SCHEDULER_H

#include "sweep/cell.h"
#include "sweep/grid.h"
#include "sweep/progress.h"

typedef struct {
    const mt_sweep_spec *spec;
    const char *dir;  /* the sweep directory */
    const char *exe;  /* this program, run as `exe train ...` */
    int jobs;         /* cells side by side */
    int threads;      /* --threads of each cell */
} mt_sweep_slots;

/* Trains the cells `todo` (indices into the grid; `states` by index).
 * *refused is set when a cell's settings were refused (no more started).
 * MT_OK when every started cell ended (see p for how); an error when a cell
 * could not be started or the children could not be waited for. */
int mt_sweep_schedule(const mt_sweep_slots *sl, const int *todo, int n_todo,
                      const enum mt_cell_state *states, mt_sweep_progress *p, int *refused);

#endif
