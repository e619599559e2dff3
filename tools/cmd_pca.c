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
#include <sys/stat.h>
#include <unistd.h>

static const char *const CMD = "pca";

enum { MAX_MOMENTA = 64, MAX_DELAYS = 4096, MAX_DELAY = 100000, MAX_METHODS = 8 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mutau pca [OPTIONS]\n"
            "       mutau pca --resume DIR [--threads N] [--no-progress]\n\n"
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
            "  --momentum LIST      momenta mu in [0, 1) (default 0.7,0.8,0.85,0.9,0.95)\n"
            "  --method LIST        update rules (default msgd): msgd (eq. 2.1), staleness-lr\n"
            "                       (eta / max(1, tau_k)), dc-asgd (delay compensation, adaptive\n"
            "                       lambda_0 = 2), dana (DANA-Zero with tau + 1 workers in turn; fixed\n"
            "                       delays), auto (msgd with mu from the staleness, the momentum being\n"
            "                       the target); with several, each grid goes to DIR/METHOD/ and\n"
            "                       DIR/methods.csv compares their optimal delays\n"
            "  --delays SPEC        delays tau: a list 0,10,20 or a range A:B[:STEP] (default 0:160:5);\n"
            "                       ascending, the first is the reference for the optimal delay\n"
            "  --delay-dist D       fixed (default: tau_k = tau) | uniform (tau_k uniform on\n"
            "                       {0..2 tau}, mean tau) | geometric (mean tau, truncated at 20 tau)\n"
            "  --iters N            iterations per run (default 20000: mu = 0.7, the slowest, reaches\n"
            "                       its stationary error by about 7000 at tau = 0; see convergence.png)\n"
            "  --runs N             runs per cell (default 100)\n"
            "  --divergence-bound B a run diverged when |v|^2 > B (default 1e6)\n"
            "experiment:\n"
            "  --tolerance F        optimal delay: the largest tau whose mean error, and that of every\n"
            "                       smaller tau, is <= F x the reference error, no run diverged (default 2)\n"
            "  --seed S             seed (default 1); run r of every cell sees the same data stream\n"
            "  --threads N          threads (default: OpenMP's, OMP_NUM_THREADS); results do not depend on it\n"
            "  --checkpoints N      error recorded N times per run for trace.csv and convergence.png\n"
            "                       (default 50, 0 for none)\n"
            "  --out DIR            output directory (default pca-out): results.csv, trace.csv,\n"
            "                       summary.json, figure1.png, convergence.png, optimal_delay.png,\n"
            "                       heatmap.png\n"
            "  --runs-csv           also write runs.csv, one row per run\n"
            "  --force              start over in a DIR that holds an unfinished grid (progress.bin)\n"
            "  --resume DIR         continue the grid stopped in DIR from DIR/progress.bin, with DIR's\n"
            "                       own settings (only --threads and --no-progress may be given too);\n"
            "                       only the missing cells are run, and the files are the same bit for\n"
            "                       bit as an uninterrupted run's (summary.json's seconds and threads aside)\n"
            "  --no-progress        no progress line (shown by default on a terminal)\n"
            "  -h, --help           this help\n\n"
            "Ctrl-C or SIGTERM stops the grid within about a second: the completed cells are kept in\n"
            "DIR/progress.bin (saved atomically, also as cells complete, so a kill or a power loss loses\n"
            "little more than the cells in flight) and mutau pca --resume DIR continues it. A finished\n"
            "grid removes progress.bin.\n\n"
            "exit status: 0 done (diverged runs are results, not failures), 1 failure during the run,\n"
            "2 bad input (a flag, a file or a field), 4 interrupted (progress saved; continue with\n"
            "mutau pca --resume DIR)\n");
}

/* "A:B[:STEP]" or "a,b,c" into ascending delays; returns the count or -1. */
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

/* mkdir -p for the output directory. */
static int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        cli_error(CMD, "--out: path too long");
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        char c = *p;
        if (c == '/' || c == '\0') {
            *p = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
                cli_error(CMD, "--out: cannot create %s: %s", buf, strerror(errno));
                return -1;
            }
            *p = c;
        }
        if (c == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error(CMD, "--out: %s is not a directory", path);
        return -1;
    }
    return 0;
}

static void show_progress(long done, long total, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "\rmutau pca: %3ld%% (%ld of %ld runs)", 100 * done / total, done, total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
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
           mt_pca_method_name(&g->base.method, method, sizeof method), g->base.cov->d, sigma_text, g->base.lr, g->n_mu, g->n_tau, mt_pca_delay_name(g->base.delay_dist),
           g->runs, g->base.iters, mt_pca_data_name(g->base.data), init_text, (unsigned long long)g->seed);
    fflush(stdout);
}

/* Runs the missing cells of `res` with progress saved in DIR/progress.bin
 * (written at once when `fresh`), then writes the report and removes the
 * progress file. Returns the exit code. */
static int run_grid(mt_pca_grid_cfg *g, mt_pca_grid_result *res, const mt_pca_report *setup, int fresh,
                    int progress)
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
        if (progress)
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
    saved.grid.progress = progress ? show_progress : NULL;
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
    int status = run_grid(&saved.grid, &res, &setup, 0, progress);
    mt_pca_grid_free(&res);
    mt_pca_saved_free(&saved);
    return status;
}

/* Runs grid g (its method set) into dir, refusing an unfinished grid there
 * unless force; opt, censored, err0 (n_mu each) receive its optimal delays
 * when opt is not NULL. Returns the exit code. */
static int run_method(mt_pca_grid_cfg *g, const char *dir, int force, double tolerance, int runs_csv,
                      const char *sigma_text, const char *init_text, int progress, int *opt, int *censored,
                      double *err0)
{
    int rc, status = EXIT_OK;
    mt_pca_grid_result res;
    if ((rc = mt_pca_grid_init(g, &res)) < 0)
        return cli_fail(CMD, rc);
    if (make_dirs(dir) < 0) {
        status = EXIT_USAGE;
        goto free_res;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, MT_PCA_CKPT_FILE);
    if (access(path, F_OK) == 0 && !force) {
        cli_error(CMD,
                  "%s holds an unfinished grid (%s): continue it with mutau pca --resume %s, or start over "
                  "with --force",
                  dir, MT_PCA_CKPT_FILE, dir);
        status = EXIT_USAGE;
        goto free_res;
    }
    print_setup(g, sigma_text, init_text);
    mt_pca_report setup = {.grid = g,
                           .out_dir = dir,
                           .factor = tolerance,
                           .write_runs = runs_csv,
                           .sigma_text = sigma_text,
                           .init_text = init_text};
    status = run_grid(g, &res, &setup, 1, progress);
    if (status == EXIT_OK && opt && (rc = mt_pca_optimal_delays(g, &res, tolerance, opt, censored, err0)) < 0)
        status = cli_fail(CMD, rc);
free_res:
    mt_pca_grid_free(&res);
    return status;
}

int cmd_pca(int argc, char **argv)
{
    enum {
        O_DIM = 256, O_SIGMA, O_SIGMA_FILE, O_DATA, O_INIT, O_LR, O_MOMENTUM, O_DELAYS, O_DELAY_DIST,
        O_ITERS, O_RUNS, O_BOUND, O_TOL, O_SEED, O_THREADS, O_CK, O_OUT, O_RUNS_CSV, O_NO_PROGRESS,
        O_FORCE, O_RESUME, O_METHOD, O_END
    };
    static const struct option opts[] = {
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
        {"no-progress", no_argument, 0, O_NO_PROGRESS},
        {"force", no_argument, 0, O_FORCE},
        {"resume", required_argument, 0, O_RESUME},
        {"method", required_argument, 0, O_METHOD},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    static const char *const data_names[] = {"gaussian", "bounded", NULL};
    static const char *const dist_names[] = {"fixed", "uniform", "geometric", NULL};

    long dim = 0, iters = 20000, runs = 100, seed = 1, threads = 0, checkpoints = 50;
    double lr = 0.0005, bound = 1e6, tolerance = 2.0;
    double momenta[MAX_MOMENTA] = {0.7, 0.8, 0.85, 0.9, 0.95};
    int n_mu = 5;
    static int delays[MAX_DELAYS];
    int n_tau = -1;
    static double sigma_diag[MT_PCA_MAX_DIM];
    int n_sigma = 0;
    const char *sigma_file = NULL, *init = "saddle", *out_dir = "pca-out", *sigma_arg = NULL;
    const char *resume = NULL;
    mt_pca_method methods[MAX_METHODS] = {{0}};
    int n_methods = 1;
    int data = MT_PCA_DATA_GAUSSIAN, dist = MT_PCA_DELAY_FIXED, runs_csv = 0, force = 0;
    int progress = isatty(STDERR_FILENO);
    int given[O_END - O_DIM] = {0};

    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c >= O_DIM && c < O_END)
            given[c - O_DIM] = 1;
        switch (c) {
        case O_DIM:
            if (cli_int(CMD, "dim", optarg, 1, MT_PCA_MAX_DIM, &dim) < 0)
                return EXIT_USAGE;
            break;
        case O_SIGMA:
            sigma_arg = optarg;
            n_sigma = cli_double_list(CMD, "sigma", optarg, 0, 1e12, sigma_diag, MT_PCA_MAX_DIM);
            if (n_sigma < 0)
                return EXIT_USAGE;
            break;
        case O_SIGMA_FILE: sigma_file = optarg; break;
        case O_DATA:
            if ((data = cli_choice(CMD, "data", optarg, data_names)) < 0)
                return EXIT_USAGE;
            break;
        case O_INIT: init = optarg; break;
        case O_LR:
            if (cli_double(CMD, "lr", optarg, 1e-12, 10, &lr) < 0)
                return EXIT_USAGE;
            break;
        case O_MOMENTUM:
            n_mu = cli_double_list(CMD, "momentum", optarg, 0, 0.999999, momenta, MAX_MOMENTA);
            if (n_mu < 0)
                return EXIT_USAGE;
            break;
        case O_DELAYS:
            n_tau = parse_delays(optarg, delays, MAX_DELAYS);
            if (n_tau < 0)
                return EXIT_USAGE;
            break;
        case O_DELAY_DIST:
            if ((dist = cli_choice(CMD, "delay-dist", optarg, dist_names)) < 0)
                return EXIT_USAGE;
            break;
        case O_ITERS:
            if (cli_int(CMD, "iters", optarg, 1, 1000000000L, &iters) < 0)
                return EXIT_USAGE;
            break;
        case O_RUNS:
            if (cli_int(CMD, "runs", optarg, 1, 1000000, &runs) < 0)
                return EXIT_USAGE;
            break;
        case O_BOUND:
            if (cli_double(CMD, "divergence-bound", optarg, 1.000001, 1e300, &bound) < 0)
                return EXIT_USAGE;
            break;
        case O_TOL:
            if (cli_double(CMD, "tolerance", optarg, 1, 1e6, &tolerance) < 0)
                return EXIT_USAGE;
            break;
        case O_SEED:
            if (cli_int(CMD, "seed", optarg, 0, __LONG_MAX__, &seed) < 0)
                return EXIT_USAGE;
            break;
        case O_THREADS:
            if (cli_int(CMD, "threads", optarg, 0, 1024, &threads) < 0)
                return EXIT_USAGE;
            break;
        case O_CK:
            if (cli_int(CMD, "checkpoints", optarg, 0, 10000, &checkpoints) < 0)
                return EXIT_USAGE;
            break;
        case O_OUT: out_dir = optarg; break;
        case O_RUNS_CSV: runs_csv = 1; break;
        case O_NO_PROGRESS: progress = 0; break;
        case O_FORCE: force = 1; break;
        case O_RESUME: resume = optarg; break;
        case O_METHOD:
            if ((n_methods = parse_methods(optarg, methods)) < 0)
                return EXIT_USAGE;
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: return cli_bad_option(CMD);
        }
    }
    if (optind < argc) {
        cli_error(CMD, "unexpected argument '%s'", argv[optind]);
        return cli_bad_option(CMD);
    }
    if (resume) {
        /* The grid's settings are the checkpoint's: a flag that would change
         * them (or where the files go) is refused, not silently ignored. */
        for (const struct option *o = opts; o->name; o++)
            if (o->val >= O_DIM && o->val < O_END && given[o->val - O_DIM] && o->val != O_RESUME &&
                o->val != O_THREADS && o->val != O_NO_PROGRESS) {
                cli_error(CMD,
                          "--%s cannot be given with --resume: the grid's settings are in %s/%s (only "
                          "--threads and --no-progress may be given)",
                          o->name, resume, MT_PCA_CKPT_FILE);
                return EXIT_USAGE;
            }
        return resume_grid(resume, threads, progress);
    }
    if (n_tau < 0)
        n_tau = parse_delays("0:160:5", delays, MAX_DELAYS);
    if (checkpoints > iters)
        checkpoints = iters;

    /* The covariance: a file, a diagonal list, or the paper's diag(d, ..., 1). */
    mt_pca_cov cov;
    char sigma_text[256];
    int rc;
    if (sigma_file && sigma_arg) {
        cli_error(CMD, "--sigma and --sigma-file: give one of them");
        return EXIT_USAGE;
    }
    if (sigma_file) {
        if ((rc = mt_pca_cov_read(&cov, sigma_file)) < 0)
            return cli_fail(CMD, rc);
        if (dim && dim != cov.d) {
            cli_error(CMD, "--dim %ld but --sigma-file %s is %d x %d", dim, sigma_file, cov.d, cov.d);
            mt_pca_cov_free(&cov);
            return EXIT_USAGE;
        }
        snprintf(sigma_text, sizeof sigma_text, "file %s", sigma_file);
    } else {
        if (n_sigma == 0) {
            n_sigma = dim ? (int)dim : 4;
            for (int i = 0; i < n_sigma; i++)
                sigma_diag[i] = n_sigma - i;
        } else if (dim && dim != n_sigma) {
            cli_error(CMD, "--dim %ld but --sigma has %d entries", dim, n_sigma);
            return EXIT_USAGE;
        }
        if ((rc = mt_pca_cov_diag(&cov, sigma_diag, n_sigma)) < 0) {
            cli_error(CMD, "--sigma: %s", mt_errmsg());
            return EXIT_USAGE;
        }
        int len = snprintf(sigma_text, sizeof sigma_text, "diag(");
        for (int i = 0; i < n_sigma && len < (int)sizeof sigma_text - 24; i++)
            len += snprintf(sigma_text + len, sizeof sigma_text - len, "%s%g", i ? "," : "", sigma_diag[i]);
        snprintf(sigma_text + len, sizeof sigma_text - len, "%s)", len >= (int)sizeof sigma_text - 24 ? ",..." : "");
    }
    const int d = cov.d;

    /* The start vector. */
    double *v0 = malloc((size_t)d * sizeof *v0);
    char init_text[256];
    int status = EXIT_OK;
    if (!v0) {
        cli_error(CMD, "out of memory");
        mt_pca_cov_free(&cov);
        return EXIT_FAILED;
    }
    int random_init = 0;
    if (strcmp(init, "saddle") == 0) {
        if (cov.top_mult >= d) {
            cli_error(CMD, "--init saddle: Sigma has a single eigenvalue, so there is no saddle; use --init random or a vector");
            status = EXIT_USAGE;
            goto out;
        }
        /* The first eigenvector below the top eigenspace: a saddle of the Rayleigh quotient. */
        for (int i = 0; i < d; i++)
            v0[i] = cov.eigvec[(size_t)i * d + cov.top_mult];
        int len = snprintf(init_text, sizeof init_text, "saddle (");
        for (int i = 0; i < d && len < (int)sizeof init_text - 24; i++)
            len += snprintf(init_text + len, sizeof init_text - len, "%s%.4g", i ? "," : "", v0[i] == 0 ? 0.0 : v0[i]);
        snprintf(init_text + len, sizeof init_text - len, ")");
    } else if (strcmp(init, "random") == 0) {
        random_init = 1;
        snprintf(init_text, sizeof init_text, "random unit vector per run");
    } else {
        int n = cli_double_list(CMD, "init", init, -1e6, 1e6, v0, d);
        if (n < 0) {
            status = EXIT_USAGE;
            goto out;
        }
        if (n != d) {
            cli_error(CMD, "--init: expected saddle, random or %d numbers, got %d in '%s'", d, n, init);
            status = EXIT_USAGE;
            goto out;
        }
        snprintf(init_text, sizeof init_text, "given (%s)", init);
    }

    mt_pca_grid_cfg g = {
        .base = {.cov = &cov,
                 .lr = lr,
                 .delay_dist = (mt_pca_delay_dist)dist,
                 .data = (mt_pca_data_dist)data,
                 .iters = iters,
                 .v0 = random_init ? NULL : v0,
                 .checkpoints = (int)checkpoints,
                 .blowup = bound},
        .momenta = momenta,
        .n_mu = n_mu,
        .delays = delays,
        .n_tau = n_tau,
        .runs = (int)runs,
        .seed = (uint64_t)seed,
        .threads = (int)threads,
        .progress = progress ? show_progress : NULL,
    };
    /* Check the whole configuration before creating anything. */
    for (int j = 0; j < n_tau * n_methods; j++) {
        mt_pca_run_cfg rc1 = g.base;
        rc1.method = methods[j / n_tau];
        rc1.momentum = momenta[0];
        rc1.delay = delays[j % n_tau];
        if ((rc = mt_pca_run_check(&rc1)) < 0) {
            status = cli_fail(CMD, rc);
            goto out;
        }
    }
    /* The results and the progress file's packed copy of them. */
    double mem = 2.0 * n_mu * n_tau * runs * (checkpoints + 2) * 8;
    if (mem > 4e9) {
        cli_error(CMD, "the grid would keep %.1f GB of results (and their copy for progress.bin); lower --runs, "
                  "--checkpoints or the grid", mem / 1e9);
        status = EXIT_USAGE;
        goto out;
    }
    /* One grid per method: DIR itself for one, DIR/METHOD for several. */
    static int opt[MAX_METHODS][MAX_MOMENTA], censored[MAX_METHODS][MAX_MOMENTA];
    static double err0[MAX_METHODS][MAX_MOMENTA];
    static char names[MAX_METHODS][32];
    mt_pca_method_row rows[MAX_METHODS];
    if (n_methods > 1 && make_dirs(out_dir) < 0) {
        status = EXIT_USAGE;
        goto out;
    }
    for (int m = 0; m < n_methods && status == EXIT_OK; m++) {
        g.base.method = methods[m];
        mt_pca_method_name(&methods[m], names[m], sizeof names[m]);
        char dir[4000];
        if (snprintf(dir, sizeof dir, "%s%s%s", out_dir, n_methods > 1 ? "/" : "", n_methods > 1 ? names[m] : "") >=
            (int)sizeof dir) {
            cli_error(CMD, "--out: path too long");
            status = EXIT_USAGE;
            break;
        }
        status = run_method(&g, dir, force, tolerance, runs_csv, sigma_text, init_text, progress,
                            n_methods > 1 ? opt[m] : NULL, censored[m], err0[m]);
        rows[m] = (mt_pca_method_row){names[m], opt[m], censored[m], err0[m]};
    }
    if (n_methods > 1 && status == EXIT_OK &&
        (rc = mt_pca_methods_write(&g, rows, n_methods, tolerance, out_dir, stdout)) < 0)
        status = cli_fail(CMD, rc);
out:
    free(v0);
    mt_pca_cov_free(&cov);
    return status;
}
