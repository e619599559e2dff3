/* tool_run.h: what the end-to-end test programs share: the built tool's path
 * ($MUTAU), a temporary directory per test, running the tool with its output
 * in files, and reading files back whole.
 *
 * Not a harness: every test still states what it expects. Functions whose
 * failure means the test itself is broken (MUTAU unset, fork failed) assert
 * through Check; the others report failure to the caller.
 */
#ifndef MUTAU_TESTS_TOOL_RUN_H
#define MUTAU_TESTS_TOOL_RUN_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

/* The built tool's path from $MUTAU; fails the test when it is not set. */
const char *tool_path(void);

/* The tool built with the test-only fault hooks (trainer/fault.h), beside
 * it: $MUTAU-faults (build/mutau-faults, build/asan/mutau-faults). */
const char *tool_faults_path(void);

/* The source directory into buf[cap]: $MUTAU_SRC (make test sets it), else
 * the directory above the tool's build directory that holds tests/run.sh
 * (build/mutau, build/asan/mutau); fails the test when there is none. */
void source_dir(char *buf, size_t cap);

/* Makes $TMPDIR/mutau-NAME-XXXXXX (or under /tmp) into dir[cap]; asserts. */
void tmp_dir_make(char *dir, size_t cap, const char *name);

/* rm -rf dir: 0, or -1 after a line on stderr saying it could not. */
int tmp_dir_remove(const char *dir);

/* Starts argv (NULL-terminated, argv[0] a path) in the background with
 * stdout and stderr to the file out_path. */
pid_t tool_spawn(const char *out_path, const char *const *argv);

/* The same with no file written past max_file_bytes (RLIMIT_FSIZE, SIGXFSZ
 * ignored: such a write fails with EFBIG, as a full disk fails with ENOSPC);
 * 0 = no limit. */
pid_t tool_spawn_limited(const char *out_path, const char *const *argv, long max_file_bytes);

/* The child of `parent` whose /proc/PID/`list` (a NUL-separated list:
 * "environ" or "cmdline") holds the entry `entry`; -1 when there is none.
 * Each file is read whole: an entry may straddle any read boundary. */
pid_t proc_child_with(pid_t parent, const char *list, const char *entry);

/* Waits for pid: its exit code, or 128 + the signal that ended it. */
int tool_wait(pid_t pid);

/* Runs `mutau ARGS` through the shell in dir, stdout and stderr in
 * dir/out.txt and dir/err.txt; returns the exit status (-1 if it did not
 * exit) and the start of the stderr text in err[cap] (err may be NULL). */
int tool_sh(const char *dir, const char *args, char *err, size_t cap);

/* The whole file, NUL-terminated, malloc'd; its size in *len (len may be
 * NULL). file_read returns NULL when the file cannot be read;
 * file_read_checked fails the test naming the path. */
char *file_read(const char *path, long *len);
char *file_read_checked(const char *path, long *len);

/* file_read of DIR/REL; whether DIR/REL exists. */
char *file_read_in(const char *dir, const char *rel);
int file_exists_in(const char *dir, const char *rel);

/* The JSON document in path (json_decref it); fails the test naming the path
 * and the parser's reason. */
json_t *json_read_checked(const char *path);

#endif
