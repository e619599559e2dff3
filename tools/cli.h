/* cli.h: what every `mutau` subcommand shares: exit codes, flag parsing that
 * names the flag at fault, and reporting a library error.
 *
 * Only tools/ exits the process; library code returns a status (core/status.h).
 */
#ifndef MT_CLI_H
#define MT_CLI_H

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

/* Prints the "unknown option / try --help" line for getopt's '?' and returns EXIT_USAGE. */
int cli_bad_option(const char *cmd);

#endif
