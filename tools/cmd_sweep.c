/* cmd_sweep.c: `mutau sweep`: momentum per worker count, every cell an
 * ordinary `mutau train` run directory under the sweep directory.
 *
 * This file turns the flags into a grid (sweep/grid.h) and the run's options;
 * the sweep itself is sweep/run.h: each cell a child process of this same
 * binary, so a crashing cell cannot take the sweep down and resuming a cell
 * is `mutau train --resume`. Stopped by Ctrl-C/SIGTERM, the sweep exits 4
 * with the command that resumes it.
 *
 * Not here: training (tools/cmd_train.c), reading results and drawing
 * (sweep/results.h, sweep/report.h).
 */
#include "core/status.h"
#include "datasets/dataset.h"
#include "sweep/grid.h"
#include "sweep/launcher.h"
#include "sweep/run.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "trainer/config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CMD = "sweep";

enum { TRIAL_STEPS = 6 };

static void usage(FILE *out)
{
    fprintf(out,
"usage: mutau sweep [--preset quick|methods|paper] [--workers LIST] [--momentum LIST]\n"
"                   [--method LIST] [--repeats R] [--mode async|sync|delay] [--delay N]\n"
"                   [--jobs J] [--out DIR] [--progress MODE] [--dry-run] [--launcher TEMPLATE]\n"
"                   [--list-cells | --cell NAME | --cell-index I] [TRAIN FLAGS...]\n"
"\n"
"Trains every cell of workers x momentum x method x repeat as an ordinary `mutau\n"
"train` run directory DIR/wW_muM_rR (msgd) or DIR/wW_muM_METHOD_rR and writes\n"
"DIR/results.csv (one row per cell). Any flag that is not the sweep's own is passed\n"
"to every cell's `mutau train` (see mutau train --help), e.g. --model resnet8\n"
"--epochs 3 --lr 0.05 --schedule cosine.\n"
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
"  --momentum LIST     momenta in [0, 0.9999] and `auto` (mu from the measured\n"
"                      staleness, docs/methods.md) (default 0.1,0.3,0.5,0.7,0.9)\n"
"  --method LIST       the servers' update rules, of msgd, staleness-lr, dc-asgd,\n"
"                      dana (docs/methods.md) (default msgd)\n"
"  --repeats R         runs per (workers, momentum, method) (default 1)\n"
"  --seed N            repeat r trains with seed N + r - 1 (default 1)\n"
"  --mode MODE         async|sync|delay, passed to mutau train (default: train's)\n"
"  --delay N           delay mode: the same delay N for every cell (default: W - 1\n"
"                      for a cell of W workers, what W equal workers served in turn\n"
"                      produce)\n"
"  --preset NAME       quick: ResNet-8 on 10,000 Fashion-MNIST images in delay mode,\n"
"                      workers 1,2,4,8, about 10 minutes on 2 cores (docs/sweep.md);\n"
"                      methods: the quick recipe with workers 2,4,8, momentum\n"
"                      0.3,0.7,0.9,auto and the four methods, 2 repeats (96 cells,\n"
"                      about 21 minutes on 2 idle cores, docs/methods.md);\n"
"                      paper: the paper's Figure 2 recipe (SphereResNet-32 on\n"
"                      CIFAR-100, batch 128, lr 0.2 x0.2 at 60/120/160, 200 epochs,\n"
"                      workers 1..8, 10 repeats; CIFAR-100 from --data DIR, else\n"
"                      $MUTAU_DATA, else ./data). Other flags override the preset.\n"
"\n"
"running:\n"
"  --out DIR           the sweep directory (default sweeps/PRESET, or sweeps/sweep)\n"
"  --jobs J            cells trained side by side (default: as many as the cores\n"
"                      allow with each cell's threads: J x W x T <= cores for\n"
"                      async/sync, J x T <= cores for delay and one-worker cells;\n"
"                      then no more than fit in memory at the trial's peak)\n"
"  --threads N         OpenMP threads per cell (per worker) (default: cores / (J x W))\n"
"  --progress MODE     auto|bar|plain|quiet: the sweep's progress line on stderr\n"
"                      (default auto: redrawn in place on a terminal, one line per\n"
"                      finished cell otherwise); cells always log plainly\n"
"  --dry-run           train nothing: time one compute thread and print, per worker\n"
"                      count, a cell's time and memory and how many fit side by side\n"
"\n"
"on a cluster (docs/sweep.md):\n"
"  --launcher TEMPLATE run each cell over MPI: TEMPLATE's words, then mutau train\n"
"                      --transport mpi ...; e.g. 'mpirun -np {ranks} --hostfile h'.\n"
"                      Placeholders: {ranks} (required: workers + --server-ranks),\n"
"                      {workers}, {server_ranks}, {threads}, {cell}; {{ }} are braces.\n"
"                      Split into words without a shell: '...' and \"...\" group,\n"
"                      \\ escapes, $VAR and * stay as they are. Modes async|sync;\n"
"                      --server-ranks S (default 1) is passed to every cell. One cell\n"
"                      at a time unless --jobs; --threads only when given\n"
"  --list-cells        print every cell's name and status, one per line, in the run\n"
"                      order (what --cell-index counts), and exit\n"
"  --cell NAME         train this one cell into DIR (resuming or skipping it as a\n"
"                      rerun would); --cell runs of one sweep may run at once, on\n"
"                      several nodes sharing DIR, each cell locked on its own\n"
"  --cell-index I      the same, the I-th cell of --list-cells (0-based): a job\n"
"                      array's index, e.g. $SLURM_ARRAY_TASK_ID\n"
"  -h, --help          this text\n"
"\n"
"Before training, a trial of %d steps of one cell times the model on this machine\n"
"and the sweep prints the cell count, an estimate of the total time and the\n"
"trial's peak memory x the cells side by side against the memory available\n"
"(MemAvailable or a cgroup limit; MUTAU_MEM_AVAILABLE=SIZE pretends another\n"
"amount, e.g. 8G), with a warning when --jobs J does not fit; then a progress\n"
"line (cells done, ETA). Each cell's output is in DIR/CELL/train.out.\n"
"`mutau report DIR` writes the tables and figures.\n"
"\n"
"exit status: 0 every cell finished (completed or diverged; --cell: that cell),\n"
"1 some cells failed\n"
"(see results.csv and their train.out), 2 bad flag, file or setting (one line\n"
"naming it), 4 interrupted: the sweep was stopped, or a cell was killed (SIGKILL)\n"
"while the others finished (rerun the same command to resume).\n",
            TRIAL_STEPS);
}

/* ---- flags ---------------------------------------------------------------- */

typedef struct {
    mt_sweep_spec spec;
    char out[PATH_MAX];
    int jobs, threads, dry_run, progress;
    int given_workers, given_momentum;
    int list_cells, cell_index;
    const char *cell;
    mt_launcher launcher;
} sweep_opts;

/* The sweep's own flags; any other flag of mutau train goes to every cell. */
static const struct option own_flags[] = {
    {"workers", required_argument, 0, 0}, {"momentum", required_argument, 0, 0},
    {"repeats", required_argument, 0, 0}, {"seed", required_argument, 0, 0},
    {"mode", required_argument, 0, 0},    {"delay", required_argument, 0, 0},
    {"preset", required_argument, 0, 0},  {"out", required_argument, 0, 0},
    {"jobs", required_argument, 0, 0},    {"threads", required_argument, 0, 0},
    {"progress", required_argument, 0, 0}, {"dry-run", no_argument, 0, 0},
    {"method", required_argument, 0, 0},  {"launcher", required_argument, 0, 0},
    {"list-cells", no_argument, 0, 0},    {"cell", required_argument, 0, 0},
    {"cell-index", required_argument, 0, 0}, {"help", no_argument, 0, 0},
    {0, 0, 0, 0},
};
/* Train flags that belong to each cell's invocation, which the sweep makes. */
static const char *const refused[] = {"resume", "force", "stop-after", NULL};

static int index_of(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return i;
    return -1;
}

/* `data`: the --data the command gives (NULL: none), which wins over the
 * preset's own choice. */
static int apply_preset(sweep_opts *o, const char *name, const char *data_given)
{
    enum { QUICK, METHODS, PAPER };
    static const char *const presets[] = {"quick", "methods", "paper", NULL};
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
    if (k == QUICK || k == METHODS) {
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
    }
    if (k == METHODS) {
        /* The quick recipe, every method, a momentum from each part of the
         * quick sweep's curves and auto. One worker is left out: there
         * staleness-lr, dc-asgd and auto are msgd bit for bit (the quick
         * sweep has it). */
        static const int w[] = {2, 4, 8};
        s->n_workers = 3;
        memcpy(s->workers, w, sizeof w);
        static const double mm[] = {0.3, 0.7, 0.9, MT_SWEEP_MU_AUTO};
        s->n_momentum = 4;
        memcpy(s->momentum, mm, sizeof mm);
        s->n_methods = MT_METHOD_COUNT;
        for (int i = 0; i < MT_METHOD_COUNT; i++)
            s->methods[i] = (mt_method_kind)i;
    }
    if (k == PAPER) {
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
        int rc = data_given ? MT_OK : mt_dataset_default_dir(found, sizeof found);
        if (data_given)
            snprintf(found, sizeof found, "%s", data_given);
        else if (rc != MT_OK || strcmp(found, MT_FASHION_MNIST_DIR) == 0) {
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
    /* An explicit --data follows among the train flags. */
    if (!data_given &&
        (mt_sweep_spec_add_arg(s, "--data") != MT_OK || mt_sweep_spec_add_arg(s, data) != MT_OK))
        return cli_fail(CMD, MT_ERR_ARG), -1;
    return 0;
}

/* Calls one(item, i, ctx) on each comma-separated item of v (at most cap);
 * the count, or -1 after printing. */
static int each_item(const char *flag, const char *v, int cap,
                     int (*one)(const char *item, int i, void *ctx), void *ctx)
{
    char copy[4096];
    if (strlen(v) >= sizeof copy) {
        cli_error(CMD, "--%s: the list is longer than %zu characters", flag, sizeof copy - 1);
        return -1;
    }
    snprintf(copy, sizeof copy, "%s", v);
    int n = 0;
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (n == cap) {
            cli_error(CMD, "--%s: at most %d values, got more in '%s'", flag, cap, v);
            return -1;
        }
        if (one(item, n++, ctx) < 0)
            return -1;
    }
    if (n == 0)
        cli_error(CMD, "--%s: expected a comma-separated list, got '%s'", flag, v);
    return n > 0 ? n : -1;
}

static int one_momentum(const char *item, int i, void *ctx)
{
    double *out = ctx;
    if (strcmp(item, "auto") == 0)
        return out[i] = MT_SWEEP_MU_AUTO, 0;
    return cli_double(CMD, "momentum", item, 0.0, 0.9999, &out[i]);
}

/* "0.5,0.9,auto": auto is one more value on the momentum axis. */
static int momentum_list(const char *v, double *out)
{
    return each_item("momentum", v, MT_SWEEP_MAX_AXIS, one_momentum, out);
}

static int one_method(const char *item, int i, void *ctx)
{
    const char *names[MT_METHOD_COUNT + 1];
    for (int k = 0; k < MT_METHOD_COUNT; k++)
        names[k] = mt_method_name((mt_method_kind)k);
    names[MT_METHOD_COUNT] = NULL;
    int k = cli_choice(CMD, "method", item, names);
    if (k < 0)
        return -1;
    ((mt_method_kind *)ctx)[i] = (mt_method_kind)k;
    return 0;
}

static int method_list(const char *v, mt_method_kind *out)
{
    return each_item("method", v, MT_METHOD_COUNT, one_method, out);
}

/* One sweep flag with its value. */
static int apply_own(sweep_opts *o, const char *flag, const char *v)
{
    mt_sweep_spec *s = &o->spec;
    long n, list[MT_SWEEP_MAX_AXIS];
    if (strcmp(flag, "workers") == 0) {
        int k = cli_int_list(CMD, flag, v, 1, MT_SWEEP_MAX_WORKERS, list, MT_SWEEP_MAX_AXIS);
        if (k < 0)
            return -1;
        s->n_workers = k;
        for (int i = 0; i < k; i++)
            s->workers[i] = (int)list[i];
        o->given_workers = 1;
        return 0;
    }
    if (strcmp(flag, "momentum") == 0) {
        int k = momentum_list(v, s->momentum);
        if (k < 0)
            return -1;
        s->n_momentum = k;
        o->given_momentum = 1;
        return 0;
    }
    if (strcmp(flag, "method") == 0) {
        int k = method_list(v, s->methods);
        if (k < 0)
            return -1;
        s->n_methods = k;
        return 0;
    }
    if (strcmp(flag, "repeats") == 0)
        return cli_int(CMD, flag, v, 1, MT_SWEEP_MAX_REPEATS, &n) ? -1 : (s->repeats = (int)n, 0);
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
        return cli_int(CMD, flag, v, 0, MT_SWEEP_MAX_DELAY, &n) ? -1 : (s->delay = n, 0);
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
    if (strcmp(flag, "progress") == 0)
        return (o->progress = cli_choice(CMD, flag, v, cli_progress_modes)) < 0 ? -1 : 0;
    if (strcmp(flag, "launcher") == 0) {
        if (mt_launcher_parse(&o->launcher, v) != MT_OK)
            return cli_error(CMD, "%s", mt_errmsg()), -1;
        snprintf(s->transport, sizeof s->transport, "mpi");
        s->launcher = &o->launcher;
        return 0;
    }
    if (strcmp(flag, "cell") == 0) {
        o->cell = v;
        return 0;
    }
    if (strcmp(flag, "cell-index") == 0)
        return cli_int(CMD, flag, v, 0, INT_MAX, &n) ? -1 : (o->cell_index = (int)n, 0);
    return 0; /* --preset was applied first */
}

/* The flag at argv[i] ("--name=value" or "--name value", checked by
 * cli_check_flags_in): its name, its value (NULL: none) and the arguments
 * it takes up. */
static void flag_at(char **argv, int i, const struct option *const *tables, char *name,
                    size_t cap, const char **value, int *used)
{
    const char *a = argv[i] + 2;
    const char *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    snprintf(name, cap, "%.*s", (int)(len < cap ? len : cap - 1), a);
    const struct option *o = cli_find_flag(tables, 2, a);
    *used = 1;
    *value = NULL;
    if (eq) {
        *value = eq + 1;
    } else if (o && o->has_arg == required_argument) {
        *value = argv[i + 1];
        *used = 2;
    }
}

/* --list-cells, --cell, --cell-index and --dry-run: one at a time; --cell
 * trains one cell, so --jobs means nothing to it. */
static int check_modes(const sweep_opts *o)
{
    const char *one = o->cell ? "--cell" : o->cell_index >= 0 ? "--cell-index" : NULL;
    if (o->cell && o->cell_index >= 0)
        return cli_error(CMD, "--cell and --cell-index: give one"), -1;
    if (o->list_cells && (one || o->dry_run))
        return cli_error(CMD, "--list-cells: not with %s", one ? one : "--dry-run"), -1;
    if (one && o->dry_run)
        return cli_error(CMD, "%s: not with --dry-run (a dry run times the whole sweep)", one),
               -1;
    if (one && o->jobs)
        return cli_error(CMD, "--jobs: a %s run trains one cell", one), -1;
    if (o->launcher.uses_threads && !o->threads)
        return cli_error(CMD, "--launcher: {threads} needs --threads"), -1;
    return 0;
}

/* Parses argv into o; returns EXIT_OK, or an exit code after printing
 * (EXIT_OK with *help set for --help). Every flag the sweep does not know
 * goes to `mutau train` with its value. */
static int parse(int argc, char **argv, sweep_opts *o, int *help)
{
    mt_sweep_spec *s = &o->spec;
    static const double default_mu[] = {0.1, 0.3, 0.5, 0.7, 0.9};
    s->n_workers = 1;
    s->workers[0] = 1;
    s->n_momentum = 5;
    memcpy(s->momentum, default_mu, sizeof default_mu);
    const struct option *const tables[] = {own_flags, cmd_train_flags()};
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            *help = 1;
            return EXIT_OK;
        }
    if (cli_check_flags_in(CMD, argc, argv, "h", tables, 2))
        return EXIT_USAGE;
    char name[64];
    const char *v, *preset = NULL, *data = NULL;
    int used;
    for (int i = 1; i < argc; i += used) {
        used = 1;
        if (strncmp(argv[i], "--", 2) != 0)
            continue;
        flag_at(argv, i, tables, name, sizeof name, &v, &used);
        if (strcmp(name, "preset") == 0)
            preset = v;
        else if (strcmp(name, "data") == 0)
            data = v;
    }
    /* The preset first, so that every other flag overrides it. */
    if (preset && apply_preset(o, preset, data) < 0)
        return EXIT_USAGE;
    for (int i = 1; i < argc; i += used) {
        const char *a = argv[i];
        used = 1;
        if (strncmp(a, "--", 2) != 0 || !a[2]) {
            cli_error(CMD, "unexpected argument '%s' (flags start with --; see --help)", a);
            return EXIT_USAGE;
        }
        if (strcmp(a, "--dry-run") == 0) {
            o->dry_run = 1;
            continue;
        }
        if (strcmp(a, "--list-cells") == 0) {
            o->list_cells = 1;
            continue;
        }
        flag_at(argv, i, tables, name, sizeof name, &v, &used);
        if (index_of(refused, name) >= 0) {
            cli_error(CMD,
                      "--%s is the sweep's to set for each cell; rerun the same sweep command "
                      "to resume it",
                      name);
            return EXIT_USAGE;
        }
        if (cli_find_flag(tables, 1, name)) {
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
    if (check_modes(o) < 0)
        return EXIT_USAGE;
    if (!o->out[0])
        snprintf(o->out, sizeof o->out, "sweeps/%s", s->preset[0] ? s->preset : "sweep");
    return EXIT_OK;
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

int cmd_sweep(int argc, char **argv)
{
    static sweep_opts o; /* the launcher's text is large */
    memset(&o, 0, sizeof o);
    o.cell_index = -1;
    mt_sweep_spec_init(&o.spec);
    int help = 0;
    int ec = parse(argc, argv, &o, &help);
    if (help)
        usage(stdout);
    if (help || ec != EXIT_OK) {
        mt_sweep_spec_free(&o.spec);
        return ec;
    }
    mt_sweep_run_opts run = {.spec = &o.spec,
                             .dir = o.out,
                             .jobs = o.jobs,
                             .threads = o.threads,
                             .dry_run = o.dry_run,
                             .progress = o.progress,
                             .trial_steps = TRIAL_STEPS,
                             .cell = o.cell,
                             .cell_index = o.cell_index};
    int rc = o.list_cells                      ? mt_sweep_list_cells(&run, stdout)
             : o.cell || o.cell_index >= 0 ? mt_sweep_run_cell(&run)
                                              : mt_sweep_run(&run);
    if (rc != MT_OK) {
        ec = cli_fail(CMD, rc);
        if (rc == MT_ERR_INTERRUPTED)
            print_resume_command(argc, argv);
    }
    mt_sweep_spec_free(&o.spec);
    return ec;
}
