/* cli.h: what every `mutau` subcommand shares: exit codes, flag parsing that
 * names the flag at fault, and reporting a library error.
 *
 * Only tools/ exits the process; library code returns a status (core/status.h).
 */
#ifndef MT_CLI_H
#define MT_CLI_H

#include <getopt.h>
#include <stddef.h>

enum {
    EXIT_OK = 0,
    EXIT_FAILED = 1,      /* the work itself failed (I/O during a run, a library error) */
    EXIT_USAGE = 2,       /* bad input: a flag, a file, a field */
    EXIT_DIVERGED = 3,    /* the loss or the parameters became NaN/Inf */
    EXIT_INTERRUPTED = 4  /* stopped by Ctrl-C/SIGTERM after saving a checkpoint */
};

/* Prints "mutau CMD: MESSAGE" to stderr, one line. */
void cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "mutau CMD: <the calling thread's library message>" and returns the
 * exit code a library status maps to (bad input -> 2, divergence -> 3, ...). */
int cli_fail(const char *cmd, int status);

/* After the nets are built: one warning line when convolution choices this
 * process uses were timed while the machine was busy (nn/conv_choice.h), so
 * that a run that may be slower than it could be says why and what to do.
 * rank >= 0 names an MPI rank. */
void cli_warn_busy_trials(const char *cmd, int rank);

/* Parse a flag's value, or print "mutau CMD: --FLAG: expected ..., got 'S'" and
 * return -1. Ranges are inclusive. */
int cli_int(const char *cmd, const char *flag, const char *s, long min, long max, long *out);
int cli_double(const char *cmd, const char *flag, const char *s, double min, double max, double *out);

/* A comma-separated list ("0.1,0.3,0.5") of at most `cap` values, each in
 * range. Returns the count, or -1 after printing the error. */
int cli_double_list(const char *cmd, const char *flag, const char *s, double min, double max,
                    double *out, int cap);
int cli_int_list(const char *cmd, const char *flag, const char *s, long min, long max, long *out,
                 int cap);

/* Index of `s` in the NULL-terminated `choices`, or -1 after printing
 * "--FLAG: expected one of a|b|c, got 's'". */
int cli_choice(const char *cmd, const char *flag, const char *s, const char *const *choices);

/* Checks argv's flags against the command's table(s) before getopt_long
 * reads them: exact names only (getopt_long alone would take any unique
 * prefix, `--mom` for --momentum), a value wherever a flag needs one, none
 * where it takes none, and the short flags of `shortopts`. On the first
 * flag at fault prints one line and returns EXIT_USAGE:
 *   mutau CMD: unknown flag --mom; did you mean --momentum?
 *   mutau CMD: --out: expected a value
 * (the suggestion when a known flag starts with the name or is at most two
 * edits away). Returns 0 when every flag is known. Arguments that are not
 * flags are left to the command; "--" ends the flags. Turns off getopt's
 * own messages. */
int cli_check_flags(const char *cmd, int argc, char **argv, const char *shortopts,
                    const struct option *opts);
/* The same over several tables (a command that passes flags on to another). */
int cli_check_flags_in(const char *cmd, int argc, char **argv, const char *shortopts,
                       const struct option *const *tables, int n_tables);

/* The flag of `tables` named exactly `name` (no dashes; stops at '='), or NULL. */
const struct option *cli_find_flag(const struct option *const *tables, int n_tables,
                                   const char *name);

/* For getopt's '?' (a flag cli_check_flags let through, which should not
 * happen): one line, and EXIT_USAGE. */
int cli_bad_option(const char *cmd);

/* The --progress choices, auto|bar|plain|quiet, and their indices: the
 * order of enum mt_progress_mode (trainer/config.h), so an index is also a
 * trainer's mode. */
extern const char *const cli_progress_modes[];
enum { CLI_PROGRESS_AUTO, CLI_PROGRESS_BAR, CLI_PROGRESS_PLAIN, CLI_PROGRESS_QUIET };

#endif
