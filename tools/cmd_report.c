/* cmd_report.c: `mutau report DIR`: for a sweep directory, its
 * results.csv, report.md and figures from its cells' run directories and the
 * mean ± sd table on the terminal; for one run directory, its curves, its
 * staleness and report.md.
 *
 * Works on a sweep or a run that is still going or was stopped: cells
 * without a result are counted as still to run, a run without final.json is
 * drawn as far as its log goes. Not here: the reading and drawing
 * (sweep/results.h, sweep/report.h, sweep/run_report.h).
 */
#include "core/files.h"
#include "core/status.h"
#include "sweep/grid.h"
#include "sweep/report.h"
#include "sweep/results.h"
#include "sweep/run_report.h"
#include "tools/cli.h"
#include "tools/commands.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *const CMD = "report";

static void usage(FILE *out)
{
    fprintf(out,
"usage: mutau report SWEEPDIR|RUNDIR [--out DIR] [--progress MODE]\n"
"\n"
"Reads every cell of the sweep in SWEEPDIR (made by mutau sweep) and writes:\n"
"  SWEEPDIR/results.csv            one row per cell and repeat\n"
"  DIR/report.md                   settings, the mean ± sd table, the figures, every cell\n"
"  DIR/accuracy_vs_momentum.png    final test top-1 vs momentum, a curve per worker\n"
"                                  count, error bars ± sd over repeats (Figure 2)\n"
"  DIR/heatmap.png                 workers x momentum of the mean, best momentum outlined\n"
"  DIR/epochs_wW.png               test top-1 per epoch for W workers, a curve per momentum\n"
"and prints the table: final test top-1 (%%), mean ± sd over completed repeats per\n"
"(workers, momentum), '*' and the last column naming the best momentum per worker\n"
"count. Diverged repeats are counted, not averaged.\n"
"\n"
"For one run directory RUNDIR (made by mutau train, or a sweep's cell) it writes:\n"
"  DIR/loss.png          train and evaluation loss per epoch (log.csv)\n"
"  DIR/accuracy.png      train and evaluation top-1 per epoch\n"
"  DIR/loss_steps.png    training loss per logged step (steps.csv, when present)\n"
"  DIR/staleness.png     gradients per staleness tau (final.json's\n"
"                        staleness.histogram, runs with workers)\n"
"  DIR/report.md         the run, its result and the figures\n"
"and prints one line: the model, the status and the final test accuracy.\n"
"\n"
"  --out DIR        where report.md and the figures go (default SWEEPDIR)\n"
"  --progress MODE  auto|bar|plain|quiet: quiet prints only where the files went,\n"
"                   not the table (default auto)\n"
"  -h, --help       this text\n"
"\n"
"exit status: 0 written, 1 a figure or file could not be written, 2 bad flag, a\n"
"malformed file, or neither a sweep nor a run directory.\n");
}

enum { O_OUT = 256, O_PROGRESS, O_HELP };

static const struct option options[] = {
    {"out", required_argument, 0, O_OUT},
    {"progress", required_argument, 0, O_PROGRESS},
    {"help", no_argument, 0, O_HELP},
    {0, 0, 0, 0},
};

/* --out may name a new directory. */
static int make_out(const char *out, const char *dir)
{
    int rc = strcmp(out, dir) != 0 ? mt_mkdirs(out) : MT_OK;
    return rc == MT_OK ? EXIT_OK : cli_fail(CMD, mt_error_context(rc, "--out"));
}

static int report_run(const char *dir, const char *out, int quiet)
{
    int figures = 0;
    int rc = mt_run_report_write(dir, out, quiet ? NULL : stdout, &figures);
    if (rc != MT_OK) {
        cli_error(CMD, "%s", mt_errmsg());
        return rc == MT_ERR_ARG || rc == MT_ERR_FORMAT ? EXIT_USAGE : EXIT_FAILED;
    }
    printf("wrote %s/report.md and %d figure%s in %s\n", out, figures, figures == 1 ? "" : "s",
           out);
    return EXIT_OK;
}

int cmd_report(int argc, char **argv)
{
    const char *out = NULL;
    int quiet = 0, opt;
    optind = 1;
    if (cli_check_flags(CMD, argc, argv, "h", options))
        return EXIT_USAGE;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'h':
        case O_HELP: usage(stdout); return EXIT_OK;
        case O_OUT: out = optarg; break;
        case O_PROGRESS: {
            int k = cli_choice(CMD, "progress", optarg, cli_progress_modes);
            if (k < 0)
                return EXIT_USAGE;
            quiet = strcmp(cli_progress_modes[k], "quiet") == 0;
            break;
        }
        default: return cli_bad_option(CMD);
        }
    }
    if (optind != argc - 1) {
        cli_error(CMD, optind >= argc ? "expected a sweep or run directory (see --help)"
                                      : "expected one directory, got more (see --help)");
        return EXIT_USAGE;
    }
    const char *dir = argv[optind];
    if (!out)
        out = dir;
    if (make_out(out, dir) != EXIT_OK)
        return EXIT_USAGE;
    mt_sweep_spec s;
    int rc = mt_sweep_spec_load(dir, &s);
    if (rc == MT_ERR_IO && mt_run_report_is_run(dir))
        return report_run(dir, out, quiet);
    if (rc != MT_OK) {
        if (rc == MT_ERR_IO)
            cli_error(CMD,
                      "%s is neither a sweep directory (sweep.json) nor a run directory "
                      "(config.json and log.csv)",
                      dir);
        else
            cli_fail(CMD, rc);
        return EXIT_USAGE;
    }
    int n = mt_sweep_cell_count(&s), ec = EXIT_OK, figures = 0;
    mt_sweep_result *r = NULL;
    mt_sweep_stat *stats = calloc((size_t)mt_sweep_stat_count(&s), sizeof *stats);
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/results.csv", dir);
    if (!stats)
        rc = mt_error(MT_ERR_NOMEM, "out of memory");
    if (rc == MT_OK)
        rc = mt_sweep_results_read(&s, dir, &r);
    if (rc == MT_OK)
        rc = mt_sweep_results_write_csv(path, r, n);
    if (rc == MT_OK)
        rc = mt_sweep_report_write(out, &s, r, &figures);
    if (rc != MT_OK) {
        cli_error(CMD, "%s", mt_errmsg());
        ec = rc == MT_ERR_ARG || rc == MT_ERR_FORMAT ? EXIT_USAGE : EXIT_FAILED;
    } else {
        int done = 0, diverged = 0;
        for (int i = 0; i < n; i++) {
            done += strcmp(r[i].status, "completed") == 0;
            diverged += strcmp(r[i].status, "diverged") == 0;
        }
        if (!quiet) {
            mt_sweep_stats(&s, r, stats);
            printf("%s: %d cells, %d completed, %d diverged, %d other; final test top-1 (%%), "
                   "mean ± sd over repeats, * = best momentum per worker count:\n",
                   dir, n, done, diverged, n - done - diverged);
            mt_sweep_table_print(stdout, &s, stats, 0);
            if (s.n_methods > 1 || mt_sweep_auto_index(&s) >= 0) {
                printf("\n");
                mt_sweep_methods_table_print(stdout, &s, stats, 0);
            }
        }
        printf("wrote %s, %s/report.md and %d figure%s in %s\n", path, out, figures,
               figures == 1 ? "" : "s", out);
    }
    mt_sweep_results_free(r, n);
    free(stats);
    mt_sweep_spec_free(&s);
    return ec;
}
