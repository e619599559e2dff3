/* cmd_pca.c: `mutau pca`, the streaming-PCA experiment of the paper's
 * Figure 1: Async-MSGD's optimisation error after a fixed number of
 * iterations over a grid of momenta and delays, many runs per cell.
 *
 * Ctrl-C or SIGTERM stops it cleanly: the completed cells are kept in
 * OUT/progress.bin (pca/pca_ckpt.h, also saved as cells complete) and
 * `mutau pca --resume OUT` continues to the same files bit for bit; exit 4.
 *
 * This file parses flags and prints; the simulation is pca/pca.h, the files
 * and the table pca/pca_report.h, the progress file pca/pca_ckpt.h.
 */
#include "core/files.h"
#include "core/signals.h"
#include "core/status.h"
#include "pca/pca.h"
#include "pca/pca_ckpt.h"
#include "pca/pca_method.h"
#include "pca/pca_report.h"
#include "tools/cli.h"
#include "tools/commands.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const CMD = "pca";

enum { MAX_MOMENTA = 64, MAX_DELAYS = 4096, MAX_DELAY = 100000, MAX_METHODS = 8 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mutau pca [OPTIONS]\n"
            "       mutau pca --resume DIR [--threads N] [--progress MODE]\n\n"
            "Async-MSGD on streaming PCA (Liu et al. 2018, eq. 2.1, Figure 1):\n"
            "  v_{k+1} = v_k + mu (v_k - v_{k-1}) + lr (I - w w^T) X_k X_k^T w,  w = v_{k-tau_k},\n"
            "X_k i.i.d. with covariance Sigma, v_0 = v_{-1}. For every (momentum, delay) cell it runs\n"
            "--runs independent chains and reports the optimisation error 1 - |P v|^2/|v|^2 (P: the\n"
            "projector onto Sigma's top eigenspace; 1 - (e1.v)^2/|v|^2 by default) after --iters steps;\n"
            "a run whose |v|^2 exceeds --divergence-bound or turns NaN is counted as diverged, error 1.\n"
            "Defaults are the paper's setting.\n\n"
            "problem:\n"
            "  --dim N              dimension d (default 4, or the length of --sigma)\n"
            "  --sigma LIST         diagonal covariance, e.g. 4,3,2,1 (default d,d-1,...,1)\n"
            "  --sigma-file PATH    full covariance: d rows of d numbers (spaces, tabs or commas,\n"
            "                       '#' comments); checked symmetric and positive semidefinite\n"
            "  --data DIST          gaussian (default) | bounded: X = Sigma^1/2 z with z uniform on\n"
            "                       [-sqrt3, sqrt3]^d (bounded samples, the paper's Assumption 2)\n"
            "  --init V             saddle (default: the eigenvector of Sigma's second-largest\n"
            "                       eigenvalue, (0,1,0,0) for the paper) | random (a random unit\n"
            "                       vector per run) | a comma-separated vector of d numbers\n"
            "algorithm:\n"
            "  --lr ETA             step size (default 0.0005)\n"
            "  --momentum LIST      momenta mu in [0, 0.9999] (default 0.7,0.8,0.85,0.9,0.95)\n"
            "  --method LIST        update rules (default msgd): msgd (eq. 2.1), staleness-lr\n"
            "                       (eta / max(1, tau_k)), dc-asgd (delay compensation, adaptive\n"
            "                       lambda_0 = 2), dana (DANA-Zero with tau + 1 workers in turn; fixed\n"
            "                       delays), auto (msgd with mu from the staleness, the momentum being\n"
            "                       the target); with several, each grid goes to DIR/METHOD/ and\n"
            "                       DIR/methods.csv compares their optimal delays\n"
            "  --delays SPEC        delays tau: a list 0,10,20 or a range A:B[:STEP] (default 0:160:5);\n"
            "                       ascending, the first is the reference for the optimal delay\n"
            "  --delay-dist D       fixed (default: tau_k = tau) | uniform (tau_k uniform on\n"
            "                       {0..2 tau}, mean tau) | geometric (mean tau, capped where\n"
            "                       P(tau_k > cap) < 1e-3, about 6.9 tau)\n"
            "  --iters N            iterations per run (default 20000: mu = 0.7, the slowest, reaches\n"
            "                       its stationary error by about 7000 at tau = 0; see convergence.png)\n"
            "  --runs N             runs per cell (default 100)\n"
            "  --divergence-bound B a run diverged when |v|^2 > B (default 1e6)\n"
            "experiment:\n"
            "  --tolerance F        optimal delay: the largest tau whose mean error, and that of every\n"
            "                       smaller tau, is <= F x the reference error, no run diverged (default 2)\n"
            "  --seed N             seed (default 1); run r of every cell sees the same data stream\n"
            "  --threads N          threads (default: OpenMP's, OMP_NUM_THREADS); results do not depend on it\n"
            "  --checkpoints N      error recorded N times per run for trace.csv and convergence.png\n"
            "                       (default 50, 0 for none)\n"
            "  --out DIR            output directory (default pca-out): results.csv, trace.csv,\n"
            "                       summary.json, figure1.png, convergence.png, optimal_delay.png,\n"
            "                       heatmap.png\n"
            "  --runs-csv           also write runs.csv, one row per run\n"
            "  --force              start over in a DIR that holds an unfinished grid (progress.bin)\n"
            "  --resume DIR         continue the grid stopped in DIR from DIR/progress.bin, with DIR's\n"
            "                       own settings (only --threads and --progress may be given too);\n"
            "                       only the missing cells are run, and the files are the same bit for\n"
            "                       bit as an uninterrupted run's (summary.json's seconds and threads aside)\n"
            "  --progress MODE      auto|bar|plain|quiet: the share of runs done on stderr, a line\n"
"                       redrawn in place (bar) or a line per tenth (plain); default\n"
"                       auto: bar on a terminal, else plain\n"
            "  -h, --help           this help\n\n"
            "Ctrl-C or SIGTERM stops the grid within about a second: the completed cells are kept in\n"
            "DIR/progress.bin (saved atomically, also as cells complete, so a kill or a power loss loses\n"
            "little more than the cells in flight) and mutau pca --resume DIR continues it. A finished\n"
            "grid removes progress.bin.\n\n"
            "exit status: 0 done (diverged runs are results, not failures), 1 failure during the run,\n"
            "2 bad input (a flag, a file or a field), 4 interrupted (progress saved; continue with\n"
            "mutau pca --resume DIR)\n");
}

/* A comma-separated list of methods (pca/pca_method.h), each once. */
static int parse_methods(const char *s, mt_pca_method *out)
{
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf) {
        cli_error(CMD, "--method: list too long");
        return -1;
    }
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == MAX_METHODS) {
            cli_error(CMD, "--method: more than %d methods", MAX_METHODS);
            return -1;
        }
        if (mt_pca_method_parse(tok, &out[n]) < 0) {
            cli_error(CMD, "--method: %s", mt_errmsg());
            return -1;
        }
        for (int i = 0; i < n; i++)
            if (memcmp(&out[i], &out[n], sizeof out[n]) == 0) {
                cli_error(CMD, "--method: '%s' is listed twice", tok);
                return -1;
            }
        n++;
    }
    if (n == 0) {
        cli_error(CMD, "--method: expected a comma-separated list of methods, got '%s'", s);
        return -1;
    }
    return n;
}

/* "A:B[:STEP]" or "a,b,c" into ascending delays; returns the count or -1. */
static int parse_delays(const char *s, int *out, int cap)
{
    if (strchr(s, ':')) {
        long v[3] = {0, 0, 1};
        char *copy = strdup(s);
        if (!copy)
            return -1;
        int n = 0;
        char *save = NULL;
        for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
            if (n == 3 || cli_int(CMD, "delays", t, 0, MAX_DELAY, &v[n]) < 0) {
                if (n == 3)
                    cli_error(CMD, "--delays: expected A:B or A:B:STEP, got '%s'", s);
                free(copy);
                return -1;
            }
            n++;
        }
        free(copy);
        if (n < 2 || v[2] < 1 || v[1] < v[0]) {
            cli_error(CMD, "--delays: expected A:B[:STEP] with A <= B and STEP >= 1, got '%s'", s);
            return -1;
        }
        long count = (v[1] - v[0]) / v[2] + 1;
        if (count > cap) {
            cli_error(CMD, "--delays: '%s' gives %ld delays, at most %d", s, count, cap);
            return -1;
        }
        for (long k = 0; k < count; k++)
            out[k] = (int)(v[0] + k * v[2]);
        return (int)count;
    }
    long *tmp = malloc((size_t)cap * sizeof *tmp);
    if (!tmp)
        return -1;
    int n = cli_int_list(CMD, "delays", s, 0, MAX_DELAY, tmp, cap);
    for (int k = 0; k < n; k++) {
        out[k] = (int)tmp[k];
        if (k > 0 && out[k] <= out[k - 1]) {
            cli_error(CMD, "--delays: must be strictly ascending, got %d after %d in '%s'", out[k],
                      out[k - 1], s);
            n = -1;
            break;
        }
    }
    free(tmp);
    return n;
}

static void show_bar(long done, long total, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "\rmutau pca: %3ld%% (%ld of %ld runs)", 100 * done / total, done, total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
}

/* A line each time another tenth of the runs is done; ctx: the last tenth shown. */
static void show_plain(long done, long total, void *ctx)
{
    long *shown = ctx, tenth = 10 * done / total;
    if (tenth <= *shown)
        return;
    *shown = tenth;
    fprintf(stderr, "mutau pca: %3ld%% (%ld of %ld runs)\n", 100 * done / total, done, total);
    fflush(stderr);
}

/* The grid's progress callback for --progress MODE (CLI_PROGRESS_*). */
static void set_progress(mt_pca_grid_cfg *g, int mode)
{
    static long shown = -1;
    if (mode == CLI_PROGRESS_AUTO)
        mode = isatty(STDERR_FILENO) ? CLI_PROGRESS_BAR : CLI_PROGRESS_PLAIN;
    g->progress = mode == CLI_PROGRESS_BAR ? show_bar : mode == CLI_PROGRESS_PLAIN ? show_plain : NULL;
    g->progress_ctx = &shown;
}

static int stop_requested(void *ctx)
{
    (void)ctx;
    return mt_signals_pending() != 0;
}

static void print_setup(const mt_pca_grid_cfg *g, const char *sigma_text, const char *init_text)
{
    char method[64];
    printf("mutau pca: method %s, d = %d, Sigma = %s, lr = %g, %d momenta x %d delays (%s) x %d runs x %ld "
           "iterations, %s data, start %s, seed %llu\n",
           mt_pca_method_name(&g->base.method, method, sizeof method), g->base.cov->d, sigma_text,
           g->base.lr, g->n_mu, g->n_tau, mt_pca_delay_name(g->base.delay_dist),
           g->runs, g->base.iters, mt_pca_data_name(g->base.data), init_text, (unsigned long long)g->seed);
    fflush(stdout);
}

/* Runs the missing cells of `res` with progress saved in DIR/progress.bin
 * (written at once when `fresh`), then writes the report and removes the
 * progress file. Returns the exit code. */
static int run_grid(mt_pca_grid_cfg *g, mt_pca_grid_result *res, const mt_pca_report *setup, int fresh)
{
    const char *dir = setup->out_dir;
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, MT_PCA_CKPT_FILE);
    mt_pca_ckpt w;
    int rc = mt_pca_ckpt_open(&w, path, setup, res);
    if (rc == MT_OK && fresh)
        rc = mt_pca_ckpt_save(&w, res); /* from now on DIR holds an unfinished grid */
    if (rc < 0) {
        mt_pca_ckpt_close(&w);
        return cli_fail(CMD, mt_error_context(rc, "--out"));
    }
    g->stop = stop_requested;
    g->cell_done = mt_pca_ckpt_on_cell;
    g->cell_ctx = &w;
    mt_signals_install();
    rc = mt_pca_grid_continue(g, res);
    int sig = mt_signals_pending();
    mt_signals_restore();
    if (rc == MT_ERR_INTERRUPTED) {
        rc = mt_pca_ckpt_save(&w, res);
        mt_pca_ckpt_close(&w);
        if (g->progress == show_bar)
            fputc('\n', stderr);
        if (rc < 0) {
            cli_error(CMD, "stopped by %s, but the progress could not be saved: %s", mt_signal_name(sig),
                      mt_errmsg());
            return EXIT_FAILED;
        }
        long cells = (long)g->n_mu * g->n_tau;
        cli_error(CMD, "stopped by %s: kept %ld of %ld cells (%ld of %ld runs) in %s; continue with: mutau pca "
                  "--resume %s",
                  mt_signal_name(sig), res->cells_done, cells, res->cells_done * g->runs, cells * g->runs, path,
                  dir);
        return EXIT_INTERRUPTED;
    }
    mt_pca_ckpt_close(&w);
    if (rc < 0) {
        /* A failure during the run (the progress file could not be written) is not the user's input. */
        cli_error(CMD, "%s", mt_errmsg());
        return EXIT_FAILED;
    }
    mt_pca_report rep = *setup;
    rep.result = res;
    if ((rc = mt_pca_report_write(&rep, stdout)) < 0)
        return cli_fail(CMD, rc);
    /* The grid is in the files now; only an unfinished grid keeps progress.bin. */
    if (unlink(path) != 0 && errno != ENOENT) {
        cli_error(CMD, "%s: cannot remove: %s", path, strerror(errno));
        return EXIT_FAILED;
    }
    printf("results, summary.json and figures in %s/\n", dir);
    return EXIT_OK;
}

/* `mutau pca --resume DIR`: the grid and its completed cells from
 * DIR/progress.bin; threads and progress from the flags. */
static int resume_grid(const char *dir, long threads, int progress)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, MT_PCA_CKPT_FILE);
    if (access(path, F_OK) != 0) {
        snprintf(path, sizeof path, "%s/summary.json", dir);
        if (access(path, F_OK) == 0)
            cli_error(CMD, "--resume: %s has no %s: its grid is complete (summary.json)", dir, MT_PCA_CKPT_FILE);
        else
            cli_error(CMD, "--resume: %s has no %s: there is no grid to continue", dir, MT_PCA_CKPT_FILE);
        return EXIT_USAGE;
    }
    mt_pca_saved saved;
    mt_pca_grid_result res;
    int rc = mt_pca_ckpt_load(path, &saved, &res);
    if (rc < 0)
        return cli_fail(CMD, mt_error_context(rc, "--resume"));
    saved.grid.threads = (int)threads;
    set_progress(&saved.grid, progress);
    print_setup(&saved.grid, saved.sigma_text, saved.init_text);
    printf("mutau pca: resuming %s: %ld of %ld cells done\n", dir, res.cells_done,
           (long)saved.grid.n_mu * saved.grid.n_tau);
    fflush(stdout);
    mt_pca_report setup = {.grid = &saved.grid,
                           .out_dir = dir,
                           .factor = saved.factor,
                           .write_runs = saved.write_runs,
                           .sigma_text = saved.sigma_text,
                           .init_text = saved.init_text};
    int status = run_grid(&saved.grid, &res, &setup, 0);
    mt_pca_grid_free(&res);
    mt_pca_saved_free(&saved);
    return status;
}

/* ---- flags ---------------------------------------------------------------- */

enum {
    O_DIM = 256, O_SIGMA, O_SIGMA_FILE, O_DATA, O_INIT, O_LR, O_MOMENTUM, O_DELAYS, O_DELAY_DIST,
    O_ITERS, O_RUNS, O_BOUND, O_TOL, O_SEED, O_THREADS, O_CK, O_OUT, O_RUNS_CSV, O_PROGRESS,
    O_FORCE, O_RESUME, O_METHOD, O_END
};

static const struct option options[] = {
    {"dim", required_argument, 0, O_DIM},
    {"sigma", required_argument, 0, O_SIGMA},
    {"sigma-file", required_argument, 0, O_SIGMA_FILE},
    {"data", required_argument, 0, O_DATA},
    {"init", required_argument, 0, O_INIT},
    {"lr", required_argument, 0, O_LR},
    {"momentum", required_argument, 0, O_MOMENTUM},
    {"delays", required_argument, 0, O_DELAYS},
    {"delay-dist", required_argument, 0, O_DELAY_DIST},
    {"iters", required_argument, 0, O_ITERS},
    {"runs", required_argument, 0, O_RUNS},
    {"divergence-bound", required_argument, 0, O_BOUND},
    {"tolerance", required_argument, 0, O_TOL},
    {"seed", required_argument, 0, O_SEED},
    {"threads", required_argument, 0, O_THREADS},
    {"checkpoints", required_argument, 0, O_CK},
    {"out", required_argument, 0, O_OUT},
    {"runs-csv", no_argument, 0, O_RUNS_CSV},
    {"progress", required_argument, 0, O_PROGRESS},
    {"force", no_argument, 0, O_FORCE},
    {"resume", required_argument, 0, O_RESUME},
    {"method", required_argument, 0, O_METHOD},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* Everything the flags say, with the paper's defaults. */
typedef struct {
    long dim, iters, runs, seed, threads, checkpoints;
    double lr, bound, tolerance;
    double momenta[MAX_MOMENTA];
    int n_mu;
    int delays[MAX_DELAYS];
    int n_tau;                            /* -1: the default 0:160:5 */
    double sigma_diag[MT_PCA_MAX_DIM];
    int n_sigma;
    const char *sigma_file, *init, *out_dir, *sigma_arg, *resume;
    mt_pca_method methods[MAX_METHODS]; /* zero: msgd */
    int n_methods;
    int data, dist, runs_csv, force, progress;
    int given[O_END - O_DIM];
} pca_opts;

static void opts_default(pca_opts *o)
{
    static const double mu[] = {0.7, 0.8, 0.85, 0.9, 0.95};
    memset(o, 0, sizeof *o);
    o->iters = 20000;
    o->runs = 100;
    o->seed = 1;
    o->checkpoints = 50;
    o->lr = 0.0005;
    o->bound = 1e6;
    o->tolerance = 2.0;
    memcpy(o->momenta, mu, sizeof mu);
    o->n_mu = 5;
    o->n_tau = -1;
    o->n_methods = 1;
    o->init = "saddle";
    o->out_dir = "pca-out";
    o->data = MT_PCA_DATA_GAUSSIAN;
    o->dist = MT_PCA_DELAY_FIXED;
}

/* One flag into o; -1 after printing the error. */
static int apply_flag(pca_opts *o, int c, const char *arg)
{
    static const char *const data_names[] = {"gaussian", "bounded", NULL};
    static const char *const dist_names[] = {"fixed", "uniform", "geometric", NULL};
    switch (c) {
    case O_DIM: return cli_int(CMD, "dim", arg, 1, MT_PCA_MAX_DIM, &o->dim);
    case O_SIGMA:
        o->sigma_arg = arg;
        o->n_sigma = cli_double_list(CMD, "sigma", arg, 0, 1e12, o->sigma_diag, MT_PCA_MAX_DIM);
        return o->n_sigma < 0 ? -1 : 0;
    case O_SIGMA_FILE: o->sigma_file = arg; return 0;
    case O_DATA: return (o->data = cli_choice(CMD, "data", arg, data_names)) < 0 ? -1 : 0;
    case O_INIT: o->init = arg; return 0;
    case O_LR: return cli_double(CMD, "lr", arg, 1e-12, 10, &o->lr);
    case O_MOMENTUM:
        o->n_mu = cli_double_list(CMD, "momentum", arg, 0, 0.9999, o->momenta, MAX_MOMENTA);
        return o->n_mu < 0 ? -1 : 0;
    case O_DELAYS: return (o->n_tau = parse_delays(arg, o->delays, MAX_DELAYS)) < 0 ? -1 : 0;
    case O_DELAY_DIST:
        return (o->dist = cli_choice(CMD, "delay-dist", arg, dist_names)) < 0 ? -1 : 0;
    case O_ITERS: return cli_int(CMD, "iters", arg, 1, MT_PCA_MAX_ITERS, &o->iters);
    case O_RUNS: return cli_int(CMD, "runs", arg, 1, MT_PCA_MAX_RUNS, &o->runs);
    case O_BOUND: return cli_double(CMD, "divergence-bound", arg, 1.000001, 1e300, &o->bound);
    case O_TOL: return cli_double(CMD, "tolerance", arg, 1, 1e6, &o->tolerance);
    case O_SEED: return cli_int(CMD, "seed", arg, 0, __LONG_MAX__, &o->seed);
    case O_THREADS: return cli_int(CMD, "threads", arg, 0, 1024, &o->threads);
    case O_CK: return cli_int(CMD, "checkpoints", arg, 0, MT_PCA_MAX_CHECKPOINTS, &o->checkpoints);
    case O_OUT: o->out_dir = arg; return 0;
    case O_RUNS_CSV: o->runs_csv = 1; return 0;
    case O_PROGRESS:
        return (o->progress = cli_choice(CMD, "progress", arg, cli_progress_modes)) < 0 ? -1 : 0;
    case O_FORCE: o->force = 1; return 0;
    case O_RESUME: o->resume = arg; return 0;
    case O_METHOD: return (o->n_methods = parse_methods(arg, o->methods)) < 0 ? -1 : 0;
    }
    return cli_bad_option(CMD), -1;
}

/* argv into o: EXIT_OK, or an exit code after printing (*help: --help shown). */
static int parse(int argc, char **argv, pca_opts *o, int *help)
{
    optind = 1;
    if (cli_check_flags(CMD, argc, argv, "h", options))
        return EXIT_USAGE;
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'h') {
            *help = 1;
            return EXIT_OK;
        }
        if (c >= O_DIM && c < O_END)
            o->given[c - O_DIM] = 1;
        if (apply_flag(o, c, optarg) < 0)
            return EXIT_USAGE;
    }
    if (optind < argc) {
        cli_error(CMD, "unexpected argument '%s' (see mutau pca --help)", argv[optind]);
        return EXIT_USAGE;
    }
    if (o->n_tau < 0)
        o->n_tau = parse_delays("0:160:5", o->delays, MAX_DELAYS);
    if (o->checkpoints > o->iters)
        o->checkpoints = o->iters;
    return EXIT_OK;
}

/* The grid's settings are the checkpoint's: a flag that would change them
 * (or where the files go) is refused with --resume, not silently ignored. */
static int check_resume_flags(const pca_opts *o)
{
    for (const struct option *f = options; f->name; f++)
        if (f->val >= O_DIM && f->val < O_END && o->given[f->val - O_DIM] && f->val != O_RESUME &&
            f->val != O_THREADS && f->val != O_PROGRESS) {
            cli_error(CMD,
                      "--%s cannot be given with --resume: the grid's settings are in %s/%s (only "
                      "--threads and --progress may be given)",
                      f->name, o->resume, MT_PCA_CKPT_FILE);
            return EXIT_USAGE;
        }
    return EXIT_OK;
}

/* ---- the problem ------------------------------------------------------------ */

/* The covariance: a file, a diagonal list, or the paper's diag(d, ..., 1);
 * its description in text[cap]. */
static int make_cov(pca_opts *o, mt_pca_cov *cov, char *text, size_t cap)
{
    int rc;
    if (o->sigma_file && o->sigma_arg) {
        cli_error(CMD, "--sigma and --sigma-file: give one of them");
        return EXIT_USAGE;
    }
    if (o->sigma_file) {
        if ((rc = mt_pca_cov_read(cov, o->sigma_file)) < 0)
            return cli_fail(CMD, rc);
        if (o->dim && o->dim != cov->d) {
            cli_error(CMD, "--dim %ld but --sigma-file %s is %d x %d", o->dim, o->sigma_file,
                      cov->d, cov->d);
            mt_pca_cov_free(cov);
            return EXIT_USAGE;
        }
        snprintf(text, cap, "file %s", o->sigma_file);
        return EXIT_OK;
    }
    if (o->n_sigma == 0) {
        o->n_sigma = o->dim ? (int)o->dim : 4;
        for (int i = 0; i < o->n_sigma; i++)
            o->sigma_diag[i] = o->n_sigma - i;
    } else if (o->dim && o->dim != o->n_sigma) {
        cli_error(CMD, "--dim %ld but --sigma has %d entries", o->dim, o->n_sigma);
        return EXIT_USAGE;
    }
    if ((rc = mt_pca_cov_diag(cov, o->sigma_diag, o->n_sigma)) < 0) {
        cli_error(CMD, "--sigma: %s", mt_errmsg());
        return EXIT_USAGE;
    }
    int len = snprintf(text, cap, "diag(");
    for (int i = 0; i < o->n_sigma && len < (int)cap - 24; i++)
        len += snprintf(text + len, cap - len, "%s%g", i ? "," : "", o->sigma_diag[i]);
    snprintf(text + len, cap - len, "%s)", len >= (int)cap - 24 ? ",..." : "");
    return EXIT_OK;
}

/* The start vector v0[d] (*random: a random unit vector per run instead)
 * and its description in text[cap]. */
static int make_start(const pca_opts *o, const mt_pca_cov *cov, double *v0, int *random,
                      char *text, size_t cap)
{
    const int d = cov->d;
    const char *init = o->init;
    *random = 0;
    if (strcmp(init, "saddle") == 0) {
        if (cov->top_mult >= d) {
            cli_error(CMD, "--init saddle: Sigma has a single eigenvalue, so there is no saddle; "
                           "use --init random or a vector");
            return EXIT_USAGE;
        }
        /* The first eigenvector below the top eigenspace: a saddle of the Rayleigh quotient. */
        for (int i = 0; i < d; i++)
            v0[i] = cov->eigvec[(size_t)i * d + cov->top_mult];
        int len = snprintf(text, cap, "saddle (");
        for (int i = 0; i < d && len < (int)cap - 24; i++)
            len += snprintf(text + len, cap - len, "%s%.4g", i ? "," : "", v0[i] == 0 ? 0.0 : v0[i]);
        snprintf(text + len, cap - len, ")");
        return EXIT_OK;
    }
    if (strcmp(init, "random") == 0) {
        *random = 1;
        snprintf(text, cap, "random unit vector per run");
        return EXIT_OK;
    }
    int n = cli_double_list(CMD, "init", init, -1e6, 1e6, v0, d);
    if (n < 0)
        return EXIT_USAGE;
    if (n != d) {
        cli_error(CMD, "--init: expected saddle, random or %d numbers, got %d in '%s'", d, n, init);
        return EXIT_USAGE;
    }
    snprintf(text, cap, "given (%s)", init);
    return EXIT_OK;
}

/* The whole configuration, with each of the methods, checked before
 * anything is created. */
static int check_grid(const mt_pca_grid_cfg *g, const mt_pca_method *methods, int n_methods)
{
    for (int j = 0; j < g->n_tau * n_methods; j++) {
        mt_pca_run_cfg one = g->base;
        one.method = methods[j / g->n_tau];
        one.momentum = g->momenta[0];
        one.delay = g->delays[j % g->n_tau];
        int rc = mt_pca_run_check(&one);
        if (rc < 0)
            return cli_fail(CMD, rc);
    }
    /* Checked again by mt_pca_grid_init: here before anything is created. */
    uint64_t bytes = mt_pca_grid_result_bytes(g);
    if (bytes > MT_PCA_MAX_RESULT_BYTES) {
        cli_error(CMD, "the grid would keep %.1f GB of results (and their copy for progress.bin), more than "
                       "the limit of %.1f GB; lower --runs, --checkpoints or the grid",
                  2.0 * (double)bytes / 1e9, 2.0 * MT_PCA_MAX_RESULT_BYTES / 1e9);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* The output directory, made; refused when it holds an unfinished grid
 * (unless --force). */
static int open_out(const char *dir, int force)
{
    int rc = mt_mkdirs(dir);
    if (rc != MT_OK)
        return cli_fail(CMD, mt_error_context(rc, "--out"));
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, MT_PCA_CKPT_FILE);
    if (access(path, F_OK) == 0 && !force) {
        cli_error(CMD,
                  "%s holds an unfinished grid (%s): continue it with mutau pca --resume %s, or "
                  "start over with --force",
                  dir, MT_PCA_CKPT_FILE, dir);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* ---- the command -------------------------------------------------------------- */

/* Runs grid g (its method set) into dir; opt, censored, err0 (n_mu each)
 * receive its optimal delays when opt is not NULL. Returns the exit code. */
static int run_method(mt_pca_grid_cfg *g, const pca_opts *o, const char *dir, const char *sigma_text,
                      const char *init_text, int *opt, int *censored, double *err0)
{
    mt_pca_grid_result res;
    int rc = mt_pca_grid_init(g, &res);
    if (rc < 0)
        return cli_fail(CMD, rc);
    int status = open_out(dir, o->force);
    if (status == EXIT_OK) {
        print_setup(g, sigma_text, init_text);
        mt_pca_report setup = {.grid = g,
                               .out_dir = dir,
                               .factor = o->tolerance,
                               .write_runs = o->runs_csv,
                               .sigma_text = sigma_text,
                               .init_text = init_text};
        status = run_grid(g, &res, &setup, 1);
    }
    if (status == EXIT_OK && opt &&
        (rc = mt_pca_optimal_delays(g, &res, o->tolerance, opt, censored, err0)) < 0)
        status = cli_fail(CMD, rc);
    mt_pca_grid_free(&res);
    return status;
}

/* One grid per method: DIR itself for one, DIR/METHOD for several, and then
 * DIR/methods.csv comparing them. */
static int run_methods(const pca_opts *o, mt_pca_grid_cfg *g, const char *sigma_text,
                       const char *init_text)
{
    static int opt[MAX_METHODS][MAX_MOMENTA], censored[MAX_METHODS][MAX_MOMENTA];
    static double err0[MAX_METHODS][MAX_MOMENTA];
    static char names[MAX_METHODS][32];
    mt_pca_method_row rows[MAX_METHODS];
    int n = o->n_methods, status = EXIT_OK;
    if (n > 1 && (status = open_out(o->out_dir, o->force)) != EXIT_OK)
        return status;
    for (int m = 0; m < n && status == EXIT_OK; m++) {
        g->base.method = o->methods[m];
        mt_pca_method_name(&o->methods[m], names[m], sizeof names[m]);
        char dir[4000];
        if (snprintf(dir, sizeof dir, "%s%s%s", o->out_dir, n > 1 ? "/" : "", n > 1 ? names[m] : "") >=
            (int)sizeof dir) {
            cli_error(CMD, "--out: path too long");
            return EXIT_USAGE;
        }
        status = run_method(g, o, dir, sigma_text, init_text, n > 1 ? opt[m] : NULL, censored[m],
                            err0[m]);
        rows[m] = (mt_pca_method_row){names[m], opt[m], censored[m], err0[m]};
    }
    int rc;
    if (n > 1 && status == EXIT_OK &&
        (rc = mt_pca_methods_write(g, rows, n, o->tolerance, o->out_dir, stdout)) < 0)
        status = cli_fail(CMD, rc);
    return status;
}

/* A fresh grid from the flags: the problem, the start, checks, the run. */
static int new_grid(pca_opts *o)
{
    mt_pca_cov cov;
    char sigma_text[256], init_text[256];
    int status = make_cov(o, &cov, sigma_text, sizeof sigma_text);
    if (status != EXIT_OK)
        return status;
    double *v0 = malloc((size_t)cov.d * sizeof *v0);
    if (!v0) {
        cli_error(CMD, "out of memory");
        mt_pca_cov_free(&cov);
        return EXIT_FAILED;
    }
    int random_init;
    status = make_start(o, &cov, v0, &random_init, init_text, sizeof init_text);
    mt_pca_grid_cfg g = {
        .base = {.cov = &cov,
                 .lr = o->lr,
                 .delay_dist = (mt_pca_delay_dist)o->dist,
                 .data = (mt_pca_data_dist)o->data,
                 .iters = o->iters,
                 .v0 = random_init ? NULL : v0,
                 .checkpoints = (int)o->checkpoints,
                 .blowup = o->bound},
        .momenta = o->momenta,
        .n_mu = o->n_mu,
        .delays = o->delays,
        .n_tau = o->n_tau,
        .runs = (int)o->runs,
        .seed = (uint64_t)o->seed,
        .threads = (int)o->threads,
    };
    set_progress(&g, o->progress);
    if (status == EXIT_OK)
        status = check_grid(&g, o->methods, o->n_methods);
    if (status == EXIT_OK)
        status = run_methods(o, &g, sigma_text, init_text);
    free(v0);
    mt_pca_cov_free(&cov);
    return status;
}

int cmd_pca(int argc, char **argv)
{
    static pca_opts o; /* large (the delay and sigma lists): not on the stack */
    opts_default(&o);
    int help = 0;
    int status = parse(argc, argv, &o, &help);
    if (help)
        usage(stdout);
    if (help || status != EXIT_OK)
        return status;
    if (o.resume) {
        status = check_resume_flags(&o);
        return status != EXIT_OK ? status : resume_grid(o.resume, o.threads, o.progress);
    }
    return new_grid(&o);
}
