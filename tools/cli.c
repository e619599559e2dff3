/* cli.c: flag parsing and error reporting shared by the subcommands. */
#include "tools/cli.h"

#include "core/status.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mutau %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_fail(const char *cmd, int status)
{
    cli_error(cmd, "%s", mt_errmsg()[0] ? mt_errmsg() : mt_status_name(status));
    switch (status) {
    case MT_ERR_ARG:
    case MT_ERR_FORMAT:
    case MT_ERR_IO:
        return EXIT_USAGE;
    case MT_ERR_DIVERGED:
        return EXIT_DIVERGED;
    case MT_ERR_INTERRUPTED:
        return EXIT_INTERRUPTED;
    default:
        return EXIT_FAILED;
    }
}

int cli_int(const char *cmd, const char *flag, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max) {
        cli_error(cmd, "--%s: expected an integer in [%ld, %ld], got '%s'", flag, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_double(const char *cmd, const char *flag, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < min || v > max) {
        cli_error(cmd, "--%s: expected a number in [%g, %g], got '%s'", flag, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Splits `s` at commas into a scratch copy and calls `one` on each item. */
static int parse_list(const char *cmd, const char *flag, const char *s, int cap,
                      int (*one)(const char *cmd, const char *flag, const char *item, int i, void *ctx),
                      void *ctx)
{
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (!copy) {
        cli_error(cmd, "--%s: out of memory", flag);
        return -1;
    }
    memcpy(copy, s, len + 1);
    int n = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (n == cap) {
            cli_error(cmd, "--%s: at most %d values, got more in '%s'", flag, cap, s);
            n = -1;
            break;
        }
        if (one(cmd, flag, item, n, ctx) < 0) {
            n = -1;
            break;
        }
        n++;
    }
    free(copy);
    if (n == 0) {
        cli_error(cmd, "--%s: expected a comma-separated list, got '%s'", flag, s);
        return -1;
    }
    return n;
}

struct double_list { double min, max, *out; };
struct int_list { long min, max, *out; };

static int one_double(const char *cmd, const char *flag, const char *item, int i, void *ctx)
{
    struct double_list *l = ctx;
    return cli_double(cmd, flag, item, l->min, l->max, &l->out[i]);
}

static int one_int(const char *cmd, const char *flag, const char *item, int i, void *ctx)
{
    struct int_list *l = ctx;
    return cli_int(cmd, flag, item, l->min, l->max, &l->out[i]);
}

int cli_double_list(const char *cmd, const char *flag, const char *s, double min, double max,
                    double *out, int cap)
{
    struct double_list l = {min, max, out};
    return parse_list(cmd, flag, s, cap, one_double, &l);
}

int cli_int_list(const char *cmd, const char *flag, const char *s, long min, long max, long *out,
                 int cap)
{
    struct int_list l = {min, max, out};
    return parse_list(cmd, flag, s, cap, one_int, &l);
}

int cli_choice(const char *cmd, const char *flag, const char *s, const char *const *choices)
{
    for (int i = 0; choices[i]; i++)
        if (strcmp(s, choices[i]) == 0)
            return i;
    char all[512] = "";
    for (int i = 0; choices[i]; i++) {
        if (i)
            strncat(all, "|", sizeof all - strlen(all) - 1);
        strncat(all, choices[i], sizeof all - strlen(all) - 1);
    }
    cli_error(cmd, "--%s: expected one of %s, got '%s'", flag, all, s);
    return -1;
}

int cli_bad_option(const char *cmd)
{
    fprintf(stderr, "Try 'mutau %s --help'.\n", cmd);
    return EXIT_USAGE;
}
