/* sweepdir.h: the sweep directory itself: created on first use, locked while
 * a sweep runs in it, and checked against the settings it was started with
 * (DIR/sweep.json, sweep/grid.h).
 *
 * Locks are flock(2)s, which the kernel drops when the process dies (over
 * NFS, Linux turns them into the server's byte-range locks, so they hold
 * across nodes on a file system that supports locking):
 *   - a whole sweep holds DIR/.lock exclusively: one whole sweep at a time,
 *     and none while --cell runs go on;
 *   - a --cell run holds DIR/.lock shared (any number of them at once, on
 *     any nodes) and DIR/.locks/CELL exclusively (one process per cell);
 *   - whoever rewrites results.csv holds DIR/.results.lock meanwhile, so
 *     cells that end at once on different nodes do not write it over each
 *     other with older contents.
 *
 * Not here: the cells inside it (sweep/cell.h).
 */
#ifndef MT_SWEEP_SWEEPDIR_H
#define MT_SWEEP_SWEEPDIR_H

#include "sweep/grid.h"

/* Creates `dir`, takes its lock into *lock_fd (close it to release) and
 * compares an existing sweep.json with `s`. *is_new: there was no
 * sweep.json (the caller records it once the settings have trained).
 * MT_ERR_ARG when another sweep holds the lock or sweep.json records other
 * settings (the message names the setting); MT_ERR_IO when the directory or
 * its lock cannot be made. */
int mt_sweep_dir_open(const char *dir, const mt_sweep_spec *s, int *lock_fd, int *is_new);

/* Compares DIR/sweep.json, when there is one, with s: MT_ERR_ARG naming
 * the setting that differs. Takes no lock. */
int mt_sweep_dir_check(const char *dir, const mt_sweep_spec *s);

/* A --cell run's locks (see above): *lock_fd the directory's, shared,
 * *cell_fd the cell's; close both to release. sweep.json is recorded when
 * there is none yet (atomically: of --cell runs starting together one
 * writes it) and compared otherwise. MT_ERR_ARG naming the lock when a whole
 * sweep runs in `dir` or another process runs the cell, or naming the
 * setting that differs. */
int mt_sweep_dir_open_cell(const char *dir, const mt_sweep_spec *s, const char *cell, int *lock_fd,
                           int *cell_fd);

/* Waits for DIR/.results.lock; returns its descriptor (close it to
 * release), or -1 when it cannot be had (results.csv is then written
 * without it: it is a summary that every run rewrites whole). */
int mt_sweep_dir_lock_results(const char *dir);

/* A new sweep directory whose settings did not train: leaves nothing behind
 * (the lock file and the directory when empty). */
void mt_sweep_dir_forget(const char *dir);

#endif
