/* cell.h: one cell of a sweep on disk: what is left to do for it, starting
 * its `mutau train` process, and the sweep's own record of it (cell.json).
 *
 * A cell is done when its final.json says completed or diverged; otherwise
 * it starts fresh (no config.json yet), resumes from its checkpoint, or
 * restarts with --force (a run that ended before its first checkpoint).
 * cell.json keeps what the sweep knows about the cell's last process (its
 * outcome and message) and the CPU seconds of all its processes so far.
 *
 * Not here: scheduling cells (sweep/scheduler.h), reading their results
 * (sweep/results.h).
 */
#ifndef MT_SWEEP_CELL_H
#define MT_SWEEP_CELL_H

#include "sweep/grid.h"
#include "sweep/results.h"

#include <stddef.h>
#include <sys/types.h>

enum mt_cell_state { MT_CELL_DONE, MT_CELL_FRESH, MT_CELL_RESUME, MT_CELL_RESTART };

/* The size of the argument vector and string buffer a cell's command needs. */
enum { MT_CELL_ARGV_CAP = MT_SWEEP_MAX_ARGS + 32 + 64, MT_CELL_ARGBUF_CAP = 16384 };

/* What is left to do for the cell whose result r was read from `dir`. */
enum mt_cell_state mt_cell_state_of(const char *dir, const mt_sweep_result *r);

/* The command of cell c of s in state st (fresh, resume or restart) in run
 * directory `cdir`: over MPI the launcher's words (sweep/launcher.h) first,
 * then `exe train ...` with --threads `threads` (0: none, the ranks decide).
 * The strings live in `buf` or the spec; returns the argument count (argv
 * NULL-terminated) or MT_ERR_ARG when it does not fit in `cap` entries. */
int mt_cell_argv(const mt_sweep_spec *s, const mt_sweep_cell *c, enum mt_cell_state st,
                 const char *exe, const char *cdir, int threads, char **argv, int cap, char *buf,
                 size_t bufcap);

/* Starts cell c of s in state st under `dir` as `exe train ...` with
 * --threads `threads`, its output appended to DIR/CELL/train.out; *pid gets
 * the child. Records the cell as running in cell.json. */
int mt_cell_start(const mt_sweep_spec *s, const mt_sweep_cell *c, enum mt_cell_state st,
                  const char *dir, const char *exe, int threads, pid_t *pid);

/* Writes DIR/CELL/cell.json: `outcome` (running, completed, diverged,
 * interrupted, failed), `message` (may be NULL) and `cpu` seconds added to
 * the recorded sum. A failure to write is a warning on stderr: the record
 * is for reports, the run directory holds the results. */
void mt_cell_record(const char *dir, const mt_sweep_cell *c, const char *outcome,
                    const char *message, double cpu);

/* The last non-empty line of a train.out, skipping "Try '...'" hints: the
 * error message of a process that failed. "" when there is none. */
void mt_cell_last_line(const char *path, char *buf, size_t cap);

#endif
