/* cli.c: flag parsing and error reporting shared by the subcommands. */
#include "tools/cli.h"

#include "core/status.h"
#include "nn/conv_choice.h"

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

void cli_warn_busy_trials(const char *cmd, int rank)
{
    char path[4096], who[32] = "";
    int n = mt_conv_choice_busy(path, sizeof path);
    if (n == 0)
        return;
    if (rank >= 0)
        snprintf(who, sizeof who, "rank %d: ", rank);
    if (path[0])
        cli_error(cmd,
                  "warning: %s%d convolution algorithm choice%s in %s %s timed while this "
                  "machine was busy, so %s may be slower than the other algorithm; delete the "
                  "file when the machine is quiet to time %s again",
                  who, n, n == 1 ? "" : "s", path, n == 1 ? "was" : "were",
                  n == 1 ? "it" : "they", n == 1 ? "it" : "them");
    else
        cli_error(cmd,
                  "warning: %s%d convolution algorithm choice%s %s timed while this machine was "
                  "busy, so %s may be slower than the other algorithm",
                  who, n, n == 1 ? "" : "s", n == 1 ? "was" : "were", n == 1 ? "it" : "they");
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
    cli_error(cmd, "bad flag (see mutau %s --help)", cmd);
    return EXIT_USAGE;
}

const char *const cli_progress_modes[] = {"auto", "bar", "plain", "quiet", NULL};

/* Levenshtein distance between a[0..la) and b[0..lb), both short. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[64];
    if (lb >= sizeof row / sizeof row[0])
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* Whether s[0..len) contains sub[0..sl). */
static int contains(const char *s, size_t len, const char *sub, size_t sl)
{
    for (size_t i = 0; i + sl <= len; i++)
        if (strncmp(s + i, sub, sl) == 0)
            return 1;
    return 0;
}

/* The known flag a mistyped `name` (len bytes) most likely meant, or NULL:
 * one that starts with it (what getopt_long used to accept silently), one
 * the name contains (--no-progress for --progress), else one at most two
 * edits away (a third of the name for short names). */
static const char *suggest(const struct option *const *tables, int n, const char *name, size_t len)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t limit = len < 6 ? (len + 2) / 3 : 2;
    for (int t = 0; t < n; t++)
        for (const struct option *o = tables[t]; o->name; o++) {
            size_t ol = strlen(o->name);
            size_t d = len > 0 && len < ol && strncmp(o->name, name, len) == 0 ? 0
                       : ol >= 4 && ol < len && contains(name, len, o->name, ol) ? 1
                                                                                 : edit_distance(name, len, o->name, ol);
            if (d < best_d && (d == 0 || d <= limit)) {
                best = o->name;
                best_d = d;
            }
        }
    return best;
}

const struct option *cli_find_flag(const struct option *const *tables, int n_tables,
                                   const char *name)
{
    size_t len = strcspn(name, "=");
    for (int t = 0; t < n_tables; t++)
        for (const struct option *o = tables[t]; o->name; o++)
            if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
                return o;
    return NULL;
}

/* One "--name[=value]" at argv[*i]; advances *i past a separate value. */
static int check_long(const char *cmd, int argc, char **argv, int *i,
                      const struct option *const *tables, int n)
{
    const char *name = argv[*i] + 2;
    size_t len = strcspn(name, "=");
    const struct option *o = cli_find_flag(tables, n, name);
    if (!o) {
        const char *near = suggest(tables, n, name, len);
        if (near)
            cli_error(cmd, "unknown flag --%.*s; did you mean --%s?", (int)len, name, near);
        else
            cli_error(cmd, "unknown flag --%.*s (see mutau %s --help)", (int)len, name, cmd);
        return EXIT_USAGE;
    }
    int has_value = name[len] == '=';
    if (o->has_arg == no_argument && has_value) {
        cli_error(cmd, "--%s takes no value, got '%s'", o->name, argv[*i]);
        return EXIT_USAGE;
    }
    if (o->has_arg == required_argument && !has_value) {
        if (*i + 1 >= argc) {
            cli_error(cmd, "--%s: expected a value", o->name);
            return EXIT_USAGE;
        }
        (*i)++;
    }
    return 0;
}

/* A cluster of short flags "-xyz" at argv[*i]. */
static int check_short(const char *cmd, int argc, char **argv, int *i, const char *shortopts)
{
    for (const char *c = argv[*i] + 1; *c; c++) {
        const char *k = *c != ':' ? strchr(shortopts ? shortopts : "", *c) : NULL;
        if (!k) {
            cli_error(cmd, "unknown flag -%c (see mutau %s --help)", *c, cmd);
            return EXIT_USAGE;
        }
        if (k[1] == ':') {
            if (c[1] == '\0' && *i + 1 >= argc) {
                cli_error(cmd, "-%c: expected a value", *c);
                return EXIT_USAGE;
            }
            if (c[1] == '\0')
                (*i)++;
            return 0;
        }
    }
    return 0;
}

int cli_check_flags_in(const char *cmd, int argc, char **argv, const char *shortopts,
                       const struct option *const *tables, int n_tables)
{
    opterr = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        int rc = 0;
        if (a[0] == '-' && a[1] == '-')
            rc = check_long(cmd, argc, argv, &i, tables, n_tables);
        else if (a[0] == '-' && a[1])
            rc = check_short(cmd, argc, argv, &i, shortopts);
        if (rc)
            return rc;
    }
    return 0;
}

int cli_check_flags(const char *cmd, int argc, char **argv, const char *shortopts,
                    const struct option *opts)
{
    const struct option *const tables[] = {opts};
    return cli_check_flags_in(cmd, argc, argv, shortopts, tables, 1);
}
