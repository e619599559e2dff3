/* sweepdir.h: the sweep directory itself: created on first use, locked while
 * a sweep runs in it (one sweep at a time, an flock on DIR/.lock that the
 * kernel drops when the process dies), and checked against the settings it
 * was started with (DIR/sweep.json, sweep/grid.h).
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

/* A new sweep directory whose settings did not train: leaves nothing behind
 * (the lock file and the directory when empty). */
void mt_sweep_dir_forget(const char *dir);

#endif
