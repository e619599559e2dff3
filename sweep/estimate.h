/* estimate.h: how long a sweep will take on this machine, from a short trial
 * run of one cell's settings (`mutau train ... --stop-after K`).
 *
 * The trial's final.json gives the seconds per optimizer step (its first
 * steps included, so the estimate leans long), its config.json the steps per
 * epoch, epochs, evaluation cadence and evaluation images, and the wall time
 * of the whole process the start-up cost (loading data, building the model).
 * An evaluated image is counted as a third of a trained one (a forward pass
 * against forward + backward). Cells run side by side are assumed not to
 * slow each other down, which holds while jobs x threads fit the cores.
 *
 * Not here: running the trial (tools/cmd_sweep.c).
 */
#ifndef MT_SWEEP_ESTIMATE_H
#define MT_SWEEP_ESTIMATE_H

typedef struct {
    double step_seconds;    /* per optimizer step */
    double startup_seconds; /* per process: data, model, primitives */
    double eval_seconds;    /* one evaluation pass over the evaluated split */
    double test_seconds;    /* the final pass over the test set */
    int epochs, steps_per_epoch, eval_every;
    int trial_steps;
} mt_sweep_cost;

/* Reads the trial run in `dir` that took `wall_seconds` in all. */
int mt_sweep_cost_read(const char *dir, double wall_seconds, mt_sweep_cost *c);

/* Seconds for a cell with `epochs_done` of the epochs already done. */
double mt_sweep_cost_cell(const mt_sweep_cost *c, int epochs_done);

/* "3 h 20 min", "12 min 5 s", "40 s". */
void mt_sweep_format_duration(char *buf, unsigned long cap, double seconds);

#endif
