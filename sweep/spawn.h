/* spawn.h: a sweep cell's `mutau train` as a child process.
 *
 * Each child runs in a process group of its own, so a Ctrl-C at the terminal
 * reaches only the sweep, which then asks each child once (SIGTERM) to save
 * its checkpoint; a second signal from the terminal would otherwise kill the
 * children mid-save. A child also gets SIGTERM when the sweep dies without
 * cleaning up (Linux's parent-death signal), so no orphan keeps writing into
 * the sweep directory. Its stdout and stderr are appended to a file.
 *
 * Not here: scheduling, deciding what to run (tools/cmd_sweep.c).
 */
#ifndef MT_SWEEP_SPAWN_H
#define MT_SWEEP_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

/* The absolute path of the running executable (/proc/self/exe). */
int mt_spawn_self_exe(char *buf, size_t cap);

/* Starts argv[0] (searched in PATH when it has no slash: a launcher) with argv, output appended to `log_path`; *pid gets the
 * child. A program that cannot be executed exits 127 after writing why to
 * the log. */
int mt_spawn(pid_t *pid, char *const *argv, const char *log_path);

/* Asks a child to stop: `sig` (SIGTERM; SIGUSR1 for mpirun, which forwards
 * it to the ranks where it would kill them after SIGTERM). */
void mt_spawn_stop(pid_t pid, int sig);

/* Describes a wait status: "exit 3", "killed by SIGKILL". */
void mt_spawn_describe(int wstatus, char *buf, size_t cap);

#endif
