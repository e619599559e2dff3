/* cmd_sweep.c: `mutau sweep`: momentum per worker count, every cell an
 * ordinary `mutau train` run directory under the sweep directory.
 *
 * Flags -> a grid (sweep/grid.h) -> sweep.json (a rerun with other settings
 * is refused) -> a trial run for the cost estimate -> the cells, J at a time,
 * each a child process of this same binary (sweep/spawn.h): a crashing cell
 * cannot take the sweep down, and resuming a cell is `mutau train --resume`.
 * Rerunning the command skips finished cells (completed or diverged),
 * resumes interrupted ones from their checkpoints and retries failed ones.
 * Ctrl-C/SIGTERM is passed on to the running cells once, their checkpoints
 * are awaited, and the sweep exits 4 with the command that resumes it.
 *
 * Not here: training (tools/cmd_train.c), reading results and drawing
 * (sweep/results.h, sweep/report.h).
 */
#include "core/meminfo.h"
#include "core/signals.h"
#include "core/status.h"
#include "datasets/dataset.h"
#include "ps/ps.h"
#include "sweep/estimate.h"
#include "sweep/grid.h"
#include "sweep/report.h"
#include "sweep/results.h"
#include "sweep/spawn.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "trainer/rundir.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const CMD = "sweep";

enum { TRIAL_STEPS = 6, ARGV_CAP = MT_SWEEP_MAX_ARGS + 32, ARGBUF_CAP = 8192 };

static void usage(FILE *out)
{
    fprintf(out,
"usage: mutau sweep [--preset quick|paper] [--workers LIST] [--momentum LIST]\n"
"                   [--repeats R] [--mode async|sync|delay] [--delay N] [--jobs J]\n"
"                   [--out DIR] [TRAIN FLAGS...]\n"
"\n"
"Trains every cell of workers x momentum x repeat as an ordinary `mutau train` run\n"
"directory DIR/wW_muM_rR and writes DIR/results.csv (one row per cell). Any flag\n"
"that is not the sweep's own is passed to every cell's `mutau train` (see mutau\n"
"train --help), e.g. --model resnet8 --epochs 3 --lr 0.05 --schedule cosine.\n"
"\n"
"Rerunning the same command resumes: finished cells (completed or diverged) are\n"
"skipped, interrupted cells continue from their checkpoints, failed cells are\n"
"retried. Other settings in the same DIR are refused (DIR/sweep.json records\n"
"them). A diverged cell is recorded as diverged and the sweep goes on.\n"
"\n"
"grid:\n"
"  --workers LIST      worker counts (default 1); a grid of only 1 without --mode\n"
"                      trains single-process runs, anything else passes --workers W\n"
"                      [--mode M] [--delay N] to mutau train\n"
"  --momentum LIST     momenta in [0, 1) (default 0.1,0.3,0.5,0.7,0.9)\n"
"  --repeats R         runs per (workers, momentum) (default 1)\n"
"  --seed S            repeat r trains with seed S + r - 1 (default 1)\n"
"  --mode MODE         async|sync|delay, passed to mutau train (default: train's)\n"
"  --delay N           delay mode: the same delay N for every cell (default: W - 1\n"
"                      for a cell of W workers, what W equal workers served in turn\n"
"                      produce)\n"
"  --preset NAME       quick: ResNet-8 on 10,000 Fashion-MNIST images in delay mode,\n"
"                      workers 1,2,4,8, about 10 minutes on 2 cores (docs/sweep.md);\n"
"                      paper: the paper's Figure 2 recipe (SphereResNet-32 on\n"
"                      CIFAR-100, batch 128, lr 0.2 x0.2 at 60/120/160, 200 epochs,\n"
"                      workers 1..8, 10 repeats). Other flags override the preset.\n"
"\n"
"running:\n"
"  --out DIR           the sweep directory (default sweeps/PRESET, or sweeps/sweep)\n"
"  --jobs J            cells trained side by side (default: as many as the cores\n"
"                      allow with each cell's threads: J x W x T <= cores for\n"
"                      async/sync, J x T <= cores for delay and one-worker cells;\n"
"                      then no more than fit in memory at the trial's peak)\n"
"  --threads T         OpenMP threads per cell (per worker) (default: cores / (J x W))\n"
"  --dry-run           print the cells and the time estimate, train nothing\n"
"  --help              this text\n"
"\n"
"Before training, a trial of %d steps of one cell times the model on this machine\n"
"and the sweep prints the cell count, an estimate of the total time and the\n"
"trial's peak memory x the cells side by side against the memory available\n"
"(MemAvailable or a cgroup limit; MUTAU_MEM_AVAILABLE=SIZE pretends another\n"
"amount, e.g. 8G), with a warning when --jobs J does not fit; then a progress\n"
"line (cells done, ETA). Each cell's output is in DIR/CELL/train.out.\n"
"`mutau report DIR` writes the tables and figures.\n"
"\n"
"exit status: 0 every cell finished (completed or diverged), 1 some cells failed\n"
"(see results.csv and their train.out), 2 bad flag, file or setting (one line\n"
"naming it), 4 interrupted (rerun the same command to resume).\n",
            TRIAL_STEPS);
}

/* ---- flags ---------------------------------------------------------------- */

typedef struct {
    mt_sweep_spec spec;
    char out[PATH_MAX];
    int jobs, threads, dry_run;
    int given_workers, given_momentum;
} sweep_opts;

/* Sweep flags taking a value, and train flags the sweep sets itself. */
static const char *const own_flags[] = {"workers", "momentum", "repeats", "seed", "mode", "delay",
                                        "preset", "out", "jobs", "threads", NULL};
static const char *const refused[] = {"resume", "force", "progress", "stop-after", NULL};

static int index_of(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return i;
    return -1;
}

static int apply_preset(sweep_opts *o, const char *name)
{
    static const char *const presets[] = {"quick", "paper", NULL};
    int k = cli_choice(CMD, "preset", name, presets);
    if (k < 0)
        return -1;
    mt_sweep_spec *s = &o->spec;
    snprintf(s->preset, sizeof s->preset, "%s", presets[k]);
    static const double mu[] = {0.1, 0.3, 0.5, 0.7, 0.9};
    s->n_momentum = 5;
    memcpy(s->momentum, mu, sizeof mu);
    const char *const *args;
    char data[PATH_MAX];
    if (k == 0) {
        static const int w[] = {1, 2, 4, 8};
        s->n_workers = 4;
        memcpy(s->workers, w, sizeof w);
        s->repeats = 2;
        snprintf(s->mode, sizeof s->mode, "delay");
        static const char *const quick[] = {
            "--model", "resnet8", "--width", "16", "--limit-train", "10000", "--epochs", "3",
            "--batch", "64", "--lr", "0.1", "--schedule", "cosine", "--no-augment", NULL};
        args = quick;
        snprintf(data, sizeof data, "%s", MT_FASHION_MNIST_DIR);
    } else {
        s->n_workers = 8;
        for (int i = 0; i < 8; i++)
            s->workers[i] = i + 1;
        s->repeats = 10;
        snprintf(s->mode, sizeof s->mode, "async");
        static const char *const paper[] = {
            "--model", "sphere-resnet-32", "--batch", "128", "--lr", "0.2", "--schedule",
            "multistep", "--lr-milestones", "60,120,160", "--lr-gamma", "0.2", "--epochs", "200",
            NULL};
        args = paper;
        /* CIFAR-100 or nothing: the default falls back to Fashion-MNIST. */
        char found[PATH_MAX];
        int rc = mt_dataset_default_dir(found, sizeof found);
        if (rc != MT_OK || strcmp(found, MT_FASHION_MNIST_DIR) == 0) {
            cli_error(CMD,
                      "--preset paper: CIFAR-100 is not here (looked in $MUTAU_DATA, else "
                      "./data); get it with: mutau data fetch cifar100");
            return -1;
        }
        if (!realpath(found, data))
            snprintf(data, sizeof data, "%s", found);
    }
    for (int i = 0; args[i]; i++)
        if (mt_sweep_spec_add_arg(s, args[i]) != MT_OK)
            return cli_fail(CMD, MT_ERR_ARG), -1;
    if (mt_sweep_spec_add_arg(s, "--data") != MT_OK || mt_sweep_spec_add_arg(s, data) != MT_OK)
        return cli_fail(CMD, MT_ERR_ARG), -1;
    return 0;
}

/* One sweep flag with its value. */
static int apply_own(sweep_opts *o, const char *flag, const char *v)
{
    mt_sweep_spec *s = &o->spec;
    long n, list[MT_SWEEP_MAX_AXIS];
    if (strcmp(flag, "workers") == 0) {
        int k = cli_int_list(CMD, flag, v, 1, 4096, list, MT_SWEEP_MAX_AXIS);
        if (k < 0)
            return -1;
        s->n_workers = k;
        for (int i = 0; i < k; i++)
            s->workers[i] = (int)list[i];
        o->given_workers = 1;
        return 0;
    }
    if (strcmp(flag, "momentum") == 0) {
        int k = cli_double_list(CMD, flag, v, 0.0, 0.9999, s->momentum, MT_SWEEP_MAX_AXIS);
        if (k < 0)
            return -1;
        s->n_momentum = k;
        o->given_momentum = 1;
        return 0;
    }
    if (strcmp(flag, "repeats") == 0)
        return cli_int(CMD, flag, v, 1, 10000, &n) ? -1 : (s->repeats = (int)n, 0);
    if (strcmp(flag, "seed") == 0) {
        char *end;
        unsigned long long x = strtoull(v, &end, 10);
        if (!v[0] || *end || v[0] == '-') {
            cli_error(CMD, "--seed: expected a non-negative integer, got '%s'", v);
            return -1;
        }
        s->seed = x;
        return 0;
    }
    if (strcmp(flag, "mode") == 0) {
        static const char *const modes[] = {"async", "sync", "delay", NULL};
        int k = cli_choice(CMD, flag, v, modes);
        if (k < 0)
            return -1;
        snprintf(s->mode, sizeof s->mode, "%s", modes[k]);
        return 0;
    }
    if (strcmp(flag, "delay") == 0)
        return cli_int(CMD, flag, v, 0, 1000000, &n) ? -1 : (s->delay = n, 0);
    if (strcmp(flag, "out") == 0) {
        if (!v[0] || strlen(v) >= sizeof o->out - 64) {
            cli_error(CMD, "--out: expected a directory name shorter than %zu characters",
                      sizeof o->out - 64);
            return -1;
        }
        snprintf(o->out, sizeof o->out, "%s", v);
        return 0;
    }
    if (strcmp(flag, "jobs") == 0)
        return cli_int(CMD, flag, v, 1, 1024, &n) ? -1 : (o->jobs = (int)n, 0);
    if (strcmp(flag, "threads") == 0)
        return cli_int(CMD, flag, v, 1, 1024, &n) ? -1 : (o->threads = (int)n, 0);
    return 0; /* --preset was applied first */
}

/* Splits "--name=value" or "--name value"; *used gets the arguments consumed. */
static void flag_at(char **argv, int argc, int i, char *name, size_t cap, const char **value,
                    int *used)
{
    const char *a = argv[i] + 2;
    const char *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    snprintf(name, cap, "%.*s", (int)(len < cap ? len : cap - 1), a);
    if (eq) {
        *value = eq + 1;
        *used = 1;
    } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
        *value = argv[i + 1];
        *used = 2;
    } else {
        *value = NULL;
        *used = 1;
    }
}

/* Parses argv into o; returns EXIT_OK, or an exit code after printing
 * (EXIT_OK with *help set for --help). Flags are not getopt_long's: every
 * flag the sweep does not know goes to `mutau train` with its value. */
static int parse(int argc, char **argv, sweep_opts *o, int *help)
{
    mt_sweep_spec *s = &o->spec;
    static const double default_mu[] = {0.1, 0.3, 0.5, 0.7, 0.9};
    s->n_workers = 1;
    s->workers[0] = 1;
    s->n_momentum = 5;
    memcpy(s->momentum, default_mu, sizeof default_mu);
    char name[64];
    const char *v;
    int used;
    /* The preset first, so that every other flag overrides it. */
    for (int i = 1; i < argc; i += used) {
        used = 1;
        if (strncmp(argv[i], "--", 2) != 0)
            continue;
        flag_at(argv, argc, i, name, sizeof name, &v, &used);
        if (strcmp(name, "preset") == 0) {
            if (!v) {
                cli_error(CMD, "--preset: expected quick or paper");
                return EXIT_USAGE;
            }
            if (apply_preset(o, v) < 0)
                return EXIT_USAGE;
        }
    }
    for (int i = 1; i < argc; i += used) {
        const char *a = argv[i];
        used = 1;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = 1;
            return EXIT_OK;
        }
        if (strncmp(a, "--", 2) != 0 || !a[2]) {
            cli_error(CMD, "unexpected argument '%s' (flags start with --; see --help)", a);
            return EXIT_USAGE;
        }
        if (strcmp(a, "--dry-run") == 0) {
            o->dry_run = 1;
            continue;
        }
        flag_at(argv, argc, i, name, sizeof name, &v, &used);
        if (index_of(refused, name) >= 0) {
            cli_error(CMD,
                      "--%s is the sweep's to set for each cell; rerun the same sweep command "
                      "to resume it",
                      name);
            return EXIT_USAGE;
        }
        if (index_of(own_flags, name) >= 0) {
            if (!v) {
                cli_error(CMD, "--%s: expected a value", name);
                return EXIT_USAGE;
            }
            if (apply_own(o, name, v) < 0)
                return EXIT_USAGE;
            continue;
        }
        /* A train flag, with its value when it has one. */
        for (int k = 0; k < used; k++)
            if (mt_sweep_spec_add_arg(s, argv[i + k]) != MT_OK)
                return cli_fail(CMD, MT_ERR_ARG);
    }
    int rc = mt_sweep_spec_check(s);
    if (rc != MT_OK)
        return cli_fail(CMD, rc);
    if (!o->out[0])
        snprintf(o->out, sizeof o->out, "sweeps/%s", s->preset[0] ? s->preset : "sweep");
    return EXIT_OK;
}

/* ---- the sweep directory ------------------------------------------------- */

static int make_dirs(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    for (char *c = p + 1; *c; c++)
        if (*c == '/') {
            *c = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return mt_error(MT_ERR_IO, "%s: %s", p, strerror(errno));
            *c = '/';
        }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return mt_error(MT_ERR_IO, "%s: %s", p, strerror(errno));
    return MT_OK;
}

static int file_exists(const char *dir, const char *name, const char *file)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s/%s", dir, name, file);
    return access(p, F_OK) == 0;
}

/* Creates the directory and takes its lock (one sweep at a time); compares
 * an existing sweep.json with the command's settings. *is_new: there was no
 * sweep.json (the caller records it once the settings have trained). Returns
 * an exit code. */
static int open_sweep_dir(const sweep_opts *o, int *lock_fd, int *is_new)
{
    int rc = make_dirs(o->out);
    if (rc != MT_OK)
        return cli_fail(CMD, mt_error_context(rc, "--out"));
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/.lock", o->out);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        cli_error(CMD, "--out: %s: %s", p, strerror(errno));
        return EXIT_USAGE;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        cli_error(CMD, "--out: another mutau sweep is running in %s", o->out);
        close(fd);
        return EXIT_USAGE;
    }
    *lock_fd = fd;
    snprintf(p, sizeof p, "%s/sweep.json", o->out);
    *is_new = access(p, F_OK) != 0;
    if (*is_new)
        return EXIT_OK;
    mt_sweep_spec old;
    rc = mt_sweep_spec_load(o->out, &old);
    if (rc != MT_OK)
        return cli_fail(CMD, rc);
    rc = mt_sweep_spec_compare(&old, &o->spec);
    mt_sweep_spec_free(&old);
    if (rc != MT_OK) {
        cli_error(CMD,
                  "%s holds a sweep with other settings (%s); rerun it with its own settings "
                  "to resume, or give another --out",
                  o->out, mt_errmsg());
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

/* A new sweep directory whose settings did not train: leave nothing behind. */
static void forget_sweep_dir(const sweep_opts *o)
{
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/.lock", o->out);
    unlink(p);
    rmdir(o->out);
}

/* ---- cells ---------------------------------------------------------------- */

enum cell_state { CELL_DONE, CELL_FRESH, CELL_RESUME, CELL_RESTART };

static enum cell_state cell_state(const char *dir, const mt_sweep_result *r)
{
    if (strcmp(r->status, "completed") == 0 || strcmp(r->status, "diverged") == 0)
        return CELL_DONE;
    const char *name = r->cell.name;
    if (!file_exists(dir, name, "config.json"))
        return CELL_FRESH;
    return file_exists(dir, name, "checkpoint.bin") ? CELL_RESUME : CELL_RESTART;
}

/* cell.json: what the sweep knows about a cell's last process, and the CPU
 * seconds of all its processes so far (`cpu` is added to the recorded sum). */
static void write_cell_json(const char *dir, const mt_sweep_cell *c, const char *outcome,
                            const char *message, double cpu)
{
    char d[PATH_MAX * 2];
    snprintf(d, sizeof d, "%s/%s", dir, c->name);
    json_t *old = NULL;
    if (file_exists(dir, c->name, "cell.json") && mt_rundir_read_json(d, "cell.json", &old) == MT_OK)
        cpu += json_number_value(json_object_get(old, "cpu_seconds"));
    json_decref(old);
    json_t *j = json_pack("{s:s, s:i, s:f, s:i, s:I, s:s, s:s, s:f}", "cell", c->name, "workers",
                          c->workers, "momentum", c->momentum, "repeat", c->repeat, "seed",
                          (json_int_t)c->seed, "outcome", outcome, "message",
                          message ? message : "", "cpu_seconds", cpu);
    if (j && mt_rundir_write_json(d, "cell.json", j) != MT_OK)
        fprintf(stderr, "mutau sweep: warning: %s\n", mt_errmsg());
    json_decref(j);
}

/* The last non-empty line of a cell's train.out that is not getopt's "Try
 * 'mutau train --help'." (the error message). */
static void last_line(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] && strncmp(line, "Try '", 5) != 0)
            snprintf(buf, cap, "%s", line);
    }
    fclose(f);
}

typedef struct {
    const sweep_opts *o;
    char exe[PATH_MAX];
    int threads;
} runner;

/* Starts cell c in state st. */
static int start_cell(const runner *ru, const mt_sweep_cell *c, enum cell_state st, pid_t *pid)
{
    const char *dir = ru->o->out;
    char cdir[PATH_MAX * 2], log[PATH_MAX * 2 + 16], tbuf[16];
    snprintf(cdir, sizeof cdir, "%s/%s", dir, c->name);
    snprintf(log, sizeof log, "%s/train.out", cdir);
    int rc = make_dirs(cdir);
    if (rc != MT_OK)
        return rc;
    char *argv[ARGV_CAP];
    char buf[ARGBUF_CAP];
    if (st == CELL_RESUME) {
        snprintf(tbuf, sizeof tbuf, "%d", ru->threads);
        char *a[] = {(char *)ru->exe, "train", "--resume", cdir, "--threads", tbuf,
                     "--progress", "plain", NULL, NULL};
        /* The one train flag of the invocation, not of the run, that a
         * resumed cell needs again. */
        if (mt_sweep_cell_oversubscribes(&ru->o->spec, c))
            a[8] = "--oversubscribe";
        for (int i = 0; i < ru->o->spec.n_train_args; i++)
            if (strcmp(ru->o->spec.train_args[i], "--oversubscribe") == 0)
                a[8] = "--oversubscribe";
        memcpy(argv, a, sizeof a);
    } else {
        int n = mt_sweep_train_argv(&ru->o->spec, c, ru->exe, cdir, ru->threads, argv,
                                    ARGV_CAP - 1, buf, sizeof buf);
        if (n < 0)
            return n;
        if (st == CELL_RESTART) {
            argv[n++] = "--force";
            argv[n] = NULL;
        }
    }
    write_cell_json(dir, c, "running", NULL, 0);
    return mt_spawn(pid, argv, log);
}

/* ---- progress ------------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

typedef struct {
    int total, done_before, finished, diverged, failed, running;
    double t0, estimate_left; /* seconds of work left by the estimate, all jobs together */
    double est_cell;          /* estimated seconds of a fresh cell */
    double measured_sum;      /* seconds of cells finished in this process */
    int measured_n;
    int jobs, tty;
} progress;

static void progress_line(progress *p, const char *event)
{
    char el[32], eta[32];
    double elapsed = now_seconds() - p->t0;
    int left = p->total - p->done_before - p->finished;
    /* Cells still to finish, at the pace measured so far once there is one. */
    double per = p->measured_n ? p->measured_sum / p->measured_n : p->est_cell;
    double eta_s = left > 0 ? per * left / p->jobs : 0;
    if (p->measured_n && left > 0)
        eta_s = fmax(0, eta_s - 0.5 * per * (p->running > 0)); /* the running ones are part way */
    mt_sweep_format_duration(el, sizeof el, elapsed);
    mt_sweep_format_duration(eta, sizeof eta, eta_s);
    char status[256];
    snprintf(status, sizeof status, "[%d/%d cells done, %d running, %d diverged, %d failed] "
                                    "elapsed %s, ETA %s",
             p->done_before + p->finished, p->total, p->running, p->diverged, p->failed, el, eta);
    if (p->tty) {
        fprintf(stderr, "\r\033[K");
        if (event)
            fprintf(stderr, "%s\n", event);
        fprintf(stderr, "%s", status);
    } else if (event) {
        fprintf(stderr, "%s  %s\n", event, status);
    }
    fflush(stderr);
}

/* ---- the trial run --------------------------------------------------------- */

static void remove_trial(const char *dir)
{
    static const char *const files[] = {"config.json", "log.csv", "final.json", "checkpoint.bin",
                                        "checkpoint.bin.tmp", "train.out", "cell.json", NULL};
    char p[PATH_MAX * 2];
    for (int i = 0; files[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* Times TRIAL_STEPS steps of cell c (the largest worker count of the grid, so
 * that the trial also checks that mutau train accepts every flag). Returns
 * an exit code; bad settings print train's own message. */
static int run_trial(const runner *ru, const mt_sweep_cell *c, mt_sweep_cost *cost)
{
    char tdir[PATH_MAX + 16], log[PATH_MAX + 32], steps[16];
    snprintf(tdir, sizeof tdir, "%s/.trial", ru->o->out);
    snprintf(log, sizeof log, "%s/train.out", tdir);
    remove_trial(tdir);
    int rc = make_dirs(tdir);
    if (rc != MT_OK)
        return cli_fail(CMD, rc);
    char *argv[ARGV_CAP];
    char buf[ARGBUF_CAP];
    int n = mt_sweep_train_argv(&ru->o->spec, c, ru->exe, tdir, ru->threads, argv, ARGV_CAP - 4,
                                buf, sizeof buf);
    if (n < 0)
        return cli_fail(CMD, n);
    snprintf(steps, sizeof steps, "%d", TRIAL_STEPS);
    argv[n++] = "--stop-after";
    argv[n++] = steps;
    argv[n] = NULL;
    double t0 = now_seconds();
    pid_t pid;
    rc = mt_spawn(&pid, argv, log);
    if (rc != MT_OK)
        return cli_fail(CMD, rc);
    int st;
    struct rusage use; /* the trial's peak resident size */
    memset(&use, 0, sizeof use);
    while (wait4(pid, &st, 0, &use) < 0) {
        if (errno != EINTR) {
            cli_error(CMD, "waiting for the trial run: %s", strerror(errno));
            return EXIT_FAILED;
        }
        if (mt_signals_pending())
            mt_spawn_stop(pid);
    }
    double wall = now_seconds() - t0;
    if (mt_signals_pending()) {
        remove_trial(tdir);
        cli_error(CMD, "stopped by %s during the trial run; nothing trained yet",
                  mt_signal_name(mt_signals_pending()));
        return EXIT_INTERRUPTED;
    }
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code != EXIT_OK && code != EXIT_INTERRUPTED && code != EXIT_DIVERGED) {
        char line[1024], how[96];
        last_line(log, line, sizeof line);
        mt_spawn_describe(st, how, sizeof how);
        cli_error(CMD, "the cells' settings do not train (trial run of %s: %s): %s", c->name, how,
                  line[0] ? line : "no message");
        remove_trial(tdir);
        return code == EXIT_USAGE ? EXIT_USAGE : EXIT_FAILED;
    }
    rc = mt_sweep_cost_read(tdir, wall, cost);
    if (rc == MT_OK && (uint64_t)use.ru_maxrss * 1024 > cost->peak_bytes)
        cost->peak_bytes = (uint64_t)use.ru_maxrss * 1024; /* Linux: kilobytes */
    remove_trial(tdir);
    return rc == MT_OK ? EXIT_OK : cli_fail(CMD, rc);
}

/* ---- threads -------------------------------------------------------------- */

/* Threads a cell of W workers keeps busy per OpenMP thread: W computing
 * workers in async and sync mode, one compute thread otherwise. */
static int cell_demand(const mt_sweep_spec *s, int workers)
{
    if (!mt_sweep_uses_ps(s))
        return 1;
    return strcmp(mt_sweep_mode(s), "delay") == 0 ? 1 : workers;
}

/* ---- memory ------------------------------------------------------------------ */

/* J cells side by side, each as large as the trial at its peak, against what
 * the machine can give: fewer at a time when J was the sweep's choice, a
 * warning when it was the user's (--jobs) or when one cell alone is too
 * large (a single-process cell, or --ignore-memory: mutau train refuses the
 * others itself). */
static void check_memory(sweep_opts *o, const mt_sweep_cost *cost, int jobs_given)
{
    mt_mem_avail a;
    int rc = cost->peak_bytes ? mt_mem_available(&a) : MT_ERR_IO;
    if (rc == MT_ERR_ARG)
        fprintf(stderr, "mutau sweep: warning: %s; memory not checked\n", mt_errmsg());
    if (rc != MT_OK)
        return;
    uint64_t have = a.budget ? a.budget : a.available, peak = cost->peak_bytes;
    int fit = mt_sweep_jobs_fitting(peak, have, o->jobs);
    char line[256], s_peak[32], s_have[32];
    mt_sweep_memory_line(line, sizeof line, peak, o->jobs, have);
    mt_mem_format(s_peak, sizeof s_peak, peak);
    mt_mem_format(s_have, sizeof s_have, have);
    if (fit < o->jobs && !jobs_given) {
        printf("%s: %d at a time\n", line, fit);
        o->jobs = fit;
    } else {
        printf("%s\n", line);
    }
    if (peak > have)
        fprintf(stderr,
                "mutau sweep: warning: one cell alone peaked at %s, only %s is available: the "
                "kernel's out-of-memory killer may end cells (SIGKILL, no checkpoint); fewer "
                "--workers or a smaller --batch need less\n",
                s_peak, s_have);
    else if (fit < o->jobs)
        fprintf(stderr,
                "mutau sweep: warning: --jobs %d: %d cells side by side need about %d x %s, "
                "only %s is available: the kernel's out-of-memory killer may end cells "
                "(SIGKILL, no checkpoint); --jobs %d fits\n",
                o->jobs, o->jobs, o->jobs, s_peak, s_have, fit);
    fflush(stdout);
}

/* ---- the command ------------------------------------------------------------ */

static void print_resume_command(int argc, char **argv)
{
    fprintf(stderr, "resume with: mutau sweep");
    for (int i = 1; i < argc; i++) {
        if (strpbrk(argv[i], " \t'\"$\\"))
            fprintf(stderr, " '%s'", argv[i]);
        else
            fprintf(stderr, " %s", argv[i]);
    }
    fprintf(stderr, "\n");
}

static int write_results(const sweep_opts *o, mt_sweep_result **res)
{
    int n = mt_sweep_cell_count(&o->spec);
    if (*res)
        mt_sweep_results_free(*res, n);
    *res = NULL;
    int rc = mt_sweep_results_read(&o->spec, o->out, res);
    if (rc == MT_OK) {
        char p[PATH_MAX + 16];
        snprintf(p, sizeof p, "%s/results.csv", o->out);
        rc = mt_sweep_results_write_csv(p, *res, n);
    }
    return rc;
}

static void print_table(const sweep_opts *o, const mt_sweep_result *res)
{
    const mt_sweep_spec *s = &o->spec;
    mt_sweep_stat *stats = calloc((size_t)(s->n_workers * s->n_momentum), sizeof *stats);
    if (!stats)
        return;
    mt_sweep_stats(s, res, stats);
    printf("\nfinal test top-1 (%%), mean ± sd over repeats, * = best momentum per worker "
           "count:\n");
    mt_sweep_table_print(stdout, s, stats, 0);
    free(stats);
}

typedef struct {
    pid_t pid;
    int cell;
    double t0;
} slot;

/* Runs the cells in `todo` (indices; state in `states`) J at a time. */
static int run_cells(const runner *ru, const int *todo, int n_todo, const enum cell_state *states,
                     progress *p, int *usage_error)
{
    const sweep_opts *o = ru->o;
    slot *slots = calloc((size_t)o->jobs, sizeof *slots);
    if (!slots)
        return mt_error(MT_ERR_NOMEM, "sweep: out of memory");
    int next = 0, stopping = 0, rc = MT_OK;
    progress_line(p, NULL);
    double last_tick = now_seconds();
    for (;;) {
        if (!stopping && mt_signals_pending()) {
            stopping = 1;
            if (p->tty)
                fprintf(stderr, "\n");
            fprintf(stderr, "mutau sweep: %s: stopping the %d running cell%s (checkpoints)...\n",
                    mt_signal_name(mt_signals_pending()), p->running, p->running == 1 ? "" : "s");
            for (int j = 0; j < o->jobs; j++)
                if (slots[j].pid > 0)
                    mt_spawn_stop(slots[j].pid);
        }
        /* Fill the free slots. */
        for (int j = 0; !stopping && !*usage_error && j < o->jobs && next < n_todo; j++) {
            if (slots[j].pid > 0)
                continue;
            mt_sweep_cell c;
            mt_sweep_cell_at(&o->spec, todo[next], &c);
            rc = start_cell(ru, &c, states[todo[next]], &slots[j].pid);
            if (rc != MT_OK) {
                stopping = 1;
                break;
            }
            slots[j].cell = todo[next++];
            slots[j].t0 = now_seconds();
            p->running++;
        }
        if (p->running == 0)
            break;
        int st;
        struct rusage use;
        pid_t pid = wait4(-1, &st, WNOHANG, &use);
        if (pid < 0 && errno != EINTR) {
            rc = mt_error(MT_ERR_LIB, "waitpid: %s", strerror(errno));
            break;
        }
        if (pid <= 0) {
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            if (p->tty && now_seconds() - last_tick >= 1) {
                progress_line(p, NULL);
                last_tick = now_seconds();
            }
            continue;
        }
        int j = 0;
        while (j < o->jobs && slots[j].pid != pid)
            j++;
        if (j == o->jobs)
            continue; /* not one of ours */
        slots[j].pid = 0;
        p->running--;
        mt_sweep_cell c;
        mt_sweep_cell_at(&o->spec, slots[j].cell, &c);
        char how[96], line[1024], log[PATH_MAX * 2 + 16], event[PATH_MAX * 3 + 1400];
        mt_spawn_describe(st, how, sizeof how);
        snprintf(log, sizeof log, "%s/%s/train.out", o->out, c.name);
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        double secs = now_seconds() - slots[j].t0;
        double cpu = (double)use.ru_utime.tv_sec + 1e-6 * (double)use.ru_utime.tv_usec +
                     (double)use.ru_stime.tv_sec + 1e-6 * (double)use.ru_stime.tv_usec;
        if (code == EXIT_OK || code == EXIT_DIVERGED) {
            mt_sweep_result r;
            mt_sweep_result_read(&o->spec, &c, o->out, &r);
            write_cell_json(o->out, &c, code == EXIT_OK ? "completed" : "diverged", r.message,
                            cpu);
            char peak[32];
            mt_mem_format(peak, sizeof peak, (uint64_t)use.ru_maxrss * 1024);
            if (code == EXIT_OK)
                snprintf(event, sizeof event,
                         "%s: completed, test top-1 %.2f%% (%.0f s, %.0f s CPU, peak %s)", c.name,
                         100 * r.final_top1, secs, cpu, peak);
            else
                snprintf(event, sizeof event, "%s: diverged: %s", c.name, r.message);
            mt_sweep_result_free(&r);
            p->finished++;
            p->diverged += code == EXIT_DIVERGED;
            if (states[slots[j].cell] == CELL_FRESH) {
                p->measured_sum += secs;
                p->measured_n++;
            }
        } else if (code == EXIT_INTERRUPTED && stopping) {
            write_cell_json(o->out, &c, "interrupted", "stopped with the sweep", cpu);
            snprintf(event, sizeof event, "%s: stopped, checkpoint saved", c.name);
        } else {
            last_line(log, line, sizeof line);
            char msg[1200];
            snprintf(msg, sizeof msg, "%s: %s", how, line[0] ? line : "no message");
            write_cell_json(o->out, &c, "failed", msg, cpu);
            snprintf(event, sizeof event, "%s: failed (%s; see %s)", c.name, msg, log);
            p->failed++;
            p->finished++;
            /* Bad input is the same for every cell: start no more. */
            if (code == EXIT_USAGE)
                *usage_error = 1;
        }
        progress_line(p, event);
        mt_sweep_result *res = NULL;
        if (write_results(o, &res) != MT_OK)
            fprintf(stderr, "mutau sweep: warning: results.csv: %s\n", mt_errmsg());
        mt_sweep_results_free(res, mt_sweep_cell_count(&o->spec));
    }
    if (p->tty)
        fprintf(stderr, "\n");
    free(slots);
    return rc;
}

int cmd_sweep(int argc, char **argv)
{
    sweep_opts o;
    memset(&o, 0, sizeof o);
    mt_sweep_spec_init(&o.spec);
    int help = 0, lock_fd = -1, is_new = 0;
    int ec = parse(argc, argv, &o, &help);
    if (help) {
        usage(stdout);
        mt_sweep_spec_free(&o.spec);
        return EXIT_OK;
    }
    mt_sweep_result *res = NULL;
    int *todo = NULL;
    enum cell_state *states = NULL;
    const mt_sweep_spec *s = &o.spec;
    int n = mt_sweep_cell_count(s);
    if (ec != EXIT_OK)
        goto done;
    if ((ec = open_sweep_dir(&o, &lock_fd, &is_new)) != EXIT_OK)
        goto done;

    /* Threads: J x demand x T within the cores unless the user says otherwise. */
    runner ru = {.o = &o};
    int cores = mt_ps_cores(), demand = 1, jobs_given = o.jobs > 0;
    for (int i = 0; i < s->n_workers; i++)
        if (cell_demand(s, s->workers[i]) > demand)
            demand = cell_demand(s, s->workers[i]);
    if (!o.jobs)
        o.jobs = cores / demand > 1 ? cores / demand : 1;
    ru.threads = o.threads ? o.threads : (cores / (o.jobs * demand) > 1 ? cores / (o.jobs * demand) : 1);
    if (o.jobs * demand * ru.threads > cores)
        fprintf(stderr,
                "mutau sweep: note: %d job%s x %d worker thread%s x %d OpenMP thread%s > %d "
                "cores: the threads will wait for each other and the estimate is short\n",
                o.jobs, o.jobs == 1 ? "" : "s", demand, demand == 1 ? "" : "s", ru.threads,
                ru.threads == 1 ? "" : "s", cores);
    int rc = mt_spawn_self_exe(ru.exe, sizeof ru.exe);
    if (rc != MT_OK) {
        ec = cli_fail(CMD, rc);
        goto done;
    }

    /* What is left to do. */
    if ((rc = mt_sweep_results_read(s, o.out, &res)) != MT_OK) {
        ec = cli_fail(CMD, rc);
        goto done;
    }
    todo = malloc(sizeof *todo * (size_t)n);
    states = malloc(sizeof *states * (size_t)n);
    if (!todo || !states) {
        ec = cli_fail(CMD, mt_error(MT_ERR_NOMEM, "out of memory"));
        goto done;
    }
    int n_todo = 0, n_resume = 0;
    for (int i = 0; i < n; i++) {
        states[i] = cell_state(o.out, &res[i]);
        if (states[i] == CELL_DONE)
            continue;
        todo[n_todo++] = i;
        n_resume += states[i] == CELL_RESUME;
    }
    char ws[512], ms[512];
    mt_sweep_format_ints(ws, sizeof ws, s->workers, s->n_workers);
    mt_sweep_format_doubles(ms, sizeof ms, s->momentum, s->n_momentum);
    printf("sweep %s: %d cells = workers {%s} x momentum {%s} x %d repeat%s, mode %s%s\n", o.out,
           n, ws, ms, s->repeats, s->repeats == 1 ? "" : "s", mt_sweep_mode(s),
           mt_sweep_uses_ps(s) ? "" : " (single-process runs)");
    printf("%d to train (%d resuming from checkpoints), %d finished before; %d side by side, "
           "%d thread%s each\n",
           n_todo, n_resume, n - n_todo, o.jobs, ru.threads, ru.threads == 1 ? "" : "s");
    fflush(stdout);

    progress p = {.total = n, .done_before = n - n_todo, .jobs = o.jobs,
                  .tty = isatty(STDERR_FILENO), .est_cell = NAN};
    mt_signals_install();
    if (n_todo > 0) {
        /* The trial: the first cell to train, at the grid's largest worker count. */
        mt_sweep_cell c;
        mt_sweep_cell_at(s, todo[0], &c);
        for (int i = 0; i < s->n_workers; i++)
            if (s->workers[i] > c.workers)
                c.workers = s->workers[i];
        snprintf(c.name, sizeof c.name, "w%d_mu%g_r%d", c.workers, c.momentum, c.repeat);
        mt_sweep_cost cost;
        printf("timing %d steps of the model...\n", TRIAL_STEPS);
        fflush(stdout);
        ec = run_trial(&ru, &c, &cost);
        if (ec != EXIT_OK) {
            if (is_new)
                forget_sweep_dir(&o);
            goto done_signals;
        }
        check_memory(&o, &cost, jobs_given);
        p.jobs = o.jobs;
        double total = 0;
        for (int i = 0; i < n_todo; i++)
            total += mt_sweep_cost_cell(&cost, res[todo[i]].epochs_done);
        p.est_cell = mt_sweep_cost_cell(&cost, 0);
        char tot[32], one[32];
        mt_sweep_format_duration(tot, sizeof tot, total / o.jobs);
        mt_sweep_format_duration(one, sizeof one, p.est_cell);
        printf("estimate: %.3g s per step x %d steps per epoch x %d epochs: about %s per cell, "
               "%s in all with %d side by side (a busy machine is slower)\n",
               cost.step_seconds, cost.steps_per_epoch, cost.epochs, one, tot, o.jobs);
        fflush(stdout);
    }
    if (o.dry_run) {
        if (is_new)
            forget_sweep_dir(&o);
        goto done_signals;
    }
    if (is_new && (rc = mt_sweep_spec_save(o.out, s)) != MT_OK) {
        ec = cli_fail(CMD, rc);
        goto done_signals;
    }
    if (n_todo == 0)
        goto summary;

    p.t0 = now_seconds();
    int usage_error = 0;
    rc = run_cells(&ru, todo, n_todo, states, &p, &usage_error);
    if (rc != MT_OK) {
        ec = cli_fail(CMD, rc);
        goto done_signals;
    }
    if (mt_signals_pending()) {
        int left = n - p.done_before - p.finished;
        cli_error(CMD, "stopped by %s: %d of %d cells finished, %d to go",
                  mt_signal_name(mt_signals_pending()), n - left, n, left);
        write_results(&o, &res);
        print_resume_command(argc, argv);
        ec = EXIT_INTERRUPTED;
        goto done_signals;
    }
    if (usage_error) {
        cli_error(CMD, "a cell's settings were refused by mutau train (see the message above); "
                       "no further cells started");
        write_results(&o, &res);
        ec = EXIT_USAGE;
        goto done_signals;
    }

summary:
    if ((rc = write_results(&o, &res)) != MT_OK) {
        ec = cli_fail(CMD, rc);
        goto done_signals;
    }
    {
        int failed = 0;
        for (int i = 0; i < n; i++)
            failed += strcmp(res[i].status, "failed") == 0;
        print_table(&o, res);
        printf("\nresults: %s/results.csv; figures and report.md: mutau report %s\n", o.out,
               o.out);
        if (failed) {
            cli_error(CMD, "%d cell%s failed (status \"failed\" in results.csv, output in each "
                           "cell's train.out); rerun the command to retry them",
                      failed, failed == 1 ? "" : "s");
            ec = EXIT_FAILED;
        }
    }
done_signals:
    mt_signals_restore();
done:
    if (lock_fd >= 0)
        close(lock_fd);
    mt_sweep_results_free(res, n);
    free(todo);
    free(states);
    mt_sweep_spec_free(&o.spec);
    return ec;
}
