/* run.h: a whole sweep, from its directory to its table: what `mutau sweep`
 * does once its flags are parsed.
 *
 *   the sweep directory (sweep/sweepdir.h: created, locked, sweep.json
 *   compared) -> J cells side by side and T threads each (sweep/plan.h) ->
 *   what is left to do (sweep/cell.h) -> a trial run for the estimate
 *   (sweep/trial.h) -> sweep.json recorded -> the cells, J at a time
 *   (sweep/scheduler.h) -> results.csv and the table.
 *
 * Rerunning skips finished cells (completed or diverged), resumes
 * interrupted ones from their checkpoints and retries failed ones. The run
 * installs the SIGINT/SIGTERM handlers (core/signals.h) for its duration.
 *
 * A dry run trains nothing and never refuses for memory: its trial is one
 * compute thread (the cells' settings in delay mode with delay 1, or the
 * single-process cell itself), from which it prints, per worker count, the
 * time and memory of a cell and how many fit side by side.
 *
 * Not here: flags (tools/cmd_sweep.c), reading and drawing results
 * (sweep/results.h, sweep/report.h).
 */
#ifndef MT_SWEEP_RUN_H
#define MT_SWEEP_RUN_H

#include "sweep/grid.h"

#include <stdio.h>

typedef struct {
    const mt_sweep_spec *spec;
    const char *dir;   /* the sweep directory */
    int jobs;          /* cells side by side; 0: as the cores and memory allow */
    int threads;       /* OpenMP threads per cell (per worker); 0: cores / (J x D) */
    int dry_run;
    int progress;      /* enum mt_progress_mode (trainer/config.h) */
    int trial_steps;   /* steps of the trial run */
    const char *cell;  /* --cell NAME: train this cell alone (NULL: every cell) */
    int cell_index;    /* --cell-index I (0-based, --list-cells' order); -1: none */
} mt_sweep_run_opts;

/* Runs the sweep. MT_OK: every cell finished (completed or diverged).
 * MT_ERR_ARG: bad settings or directory (the message names them; a cell's
 * settings refused by mutau train stop the sweep). MT_ERR_INTERRUPTED:
 * stopped by a signal, the running cells' checkpoints saved. MT_ERR_LIB:
 * some cells failed (results.csv and their train.out say why). */
int mt_sweep_run(const mt_sweep_run_opts *o);

/* One cell (o->cell or o->cell_index) of the sweep in o->dir, as a job of a
 * scheduler's array: the directory's shared lock and the cell's own
 * (sweep/sweepdir.h), sweep.json recorded or compared, then the cell as a
 * whole sweep would run it (skipped when finished, resumed from its
 * checkpoint, retried when failed), no trial, one cell at a time (--threads
 * as for --jobs 1). Returns as mt_sweep_run; a diverged cell is finished. */
int mt_sweep_run_cell(const mt_sweep_run_opts *o);

/* `--list-cells`: every cell of the grid, in the run order, one line each:
 * its name and its status in o->dir (pending when there is no directory).
 * Takes no lock and writes nothing; MT_ERR_ARG when the directory records
 * other settings. */
int mt_sweep_list_cells(const mt_sweep_run_opts *o, FILE *out);

#endif
