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
 * Memory: the trial's peak resident size (final.json's peak_rss_bytes, or
 * the child's ru_maxrss) is what one cell of the grid's largest worker count
 * holds; J cells side by side hold about J times that, which must fit in
 * what the machine can give (core/meminfo.h) or the kernel's out-of-memory
 * killer ends cells without a message.
 *
 * Not here: running the trial (sweep/trial.h), what fits (sweep/plan.h).
 */
#ifndef MT_SWEEP_ESTIMATE_H
#define MT_SWEEP_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    double step_seconds;    /* per optimizer step */
    double startup_seconds; /* per process: data, model, primitives */
    double eval_seconds;    /* one evaluation pass over the evaluated split */
    double test_seconds;    /* the final pass over the test set */
    int epochs, steps_per_epoch, eval_every;
    int trial_steps;
    uint64_t peak_bytes;    /* the trial's peak resident size (0: unknown) */
    uint64_t network_bytes; /* one training network as the trainer measured it (a run with
                             * the parameter server records it; 0: unknown) */
    uint64_t params, state; /* floats of the model's parameters and state */
    uint64_t image_bytes;   /* one training image as floats */
    int batch, train_images;
} mt_sweep_cost;

/* Reads the trial run in `dir` that took `wall_seconds` in all. */
int mt_sweep_cost_read(const char *dir, double wall_seconds, mt_sweep_cost *c);

/* Seconds for a cell with `epochs_done` of the epochs already done. */
double mt_sweep_cost_cell(const mt_sweep_cost *c, int epochs_done);

/* How many cells of `peak` bytes fit side by side in `available` bytes, at
 * most `jobs` and at least 1 (one cell alone is mutau train's to check). */
int mt_sweep_jobs_fitting(uint64_t peak, uint64_t available, int jobs);

/* The memory line of the estimate: "memory: a cell peaked at 1.4 GB in the
 * trial; 2 side by side need about 2.8 GB, 21.9 GB is available". */
void mt_sweep_memory_line(char *buf, size_t cap, uint64_t peak, int jobs, uint64_t available);

/* "6 d 2 h", "3 h 20 min", "12 min 05 s", "40 s" (seconds rounded up); "?"
 * for a negative or non-finite time. */
void mt_sweep_format_duration(char *buf, unsigned long cap, double seconds);

#endif
