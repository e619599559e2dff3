/* test_sweep_cluster.c: `mutau sweep` on a cluster: the launcher template
 * (sweep/launcher.h) and single cells run as a job array's tasks:
 *   - a template splits into words as documented (quotes, backslashes,
 *     placeholders inside words, {{ }}) and every bad one is refused with one
 *     line (exit 2 from the tool);
 *   - under mpirun on localhost: two `--cell` runs of one sweep at once on
 *     different cells both complete, over MPI (config.json records the
 *     world: workers + 1 server rank); the same cell a second time, and a
 *     whole sweep, are refused meanwhile (exit 2, naming the lock); the
 *     third cell's --cell run stopped by SIGTERM stops its ranks with a
 *     checkpoint (exit 4); the whole sweep afterwards trains only that
 *     cell, resuming it through the launcher; --list-cells gives every
 *     cell's status.
 * The MPI part needs mpirun (make deps installs it): without it the test
 * fails saying so, it is never skipped. */
#include "sweep/launcher.h"
#include "core/status.h"
#include "tests/check_main.h"
#include "tests/mpirun_env.h"
#include "tests/tool_run.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];

static void setup(void) { tmp_dir_make(tmpdir, sizeof tmpdir, "sweep-cluster"); }

static void teardown(void) { tmp_dir_remove(tmpdir); }

/* ---- the template ---------------------------------------------------------- */

static void expect_words(const char *tmpl, const char *const *want)
{
    mt_launcher l;
    ck_assert_msg(mt_launcher_parse(&l, tmpl) == MT_OK, "%s: %s", tmpl, mt_errmsg());
    mt_launch_vars v = {.workers = 4, .server_ranks = 2, .threads = 3, .cell = "w4_mu0.7_r2"};
    int n = 0;
    while (want[n])
        n++;
    ck_assert_msg(l.n == n, "%s: %d words, want %d", tmpl, l.n, n);
    for (int i = 0; i < n; i++) {
        char w[256];
        ck_assert_int_eq(mt_launcher_word(&l, i, &v, w, sizeof w), MT_OK);
        ck_assert_msg(strcmp(w, want[i]) == 0, "%s: word %d is '%s', want '%s'", tmpl, i, w,
                      want[i]);
    }
}

static void expect_refused(const char *tmpl, const char *needle)
{
    mt_launcher l;
    ck_assert_msg(mt_launcher_parse(&l, tmpl) == MT_ERR_ARG, "%s was accepted", tmpl);
    ck_assert_msg(strstr(mt_errmsg(), "--launcher: ") == mt_errmsg() &&
                      strstr(mt_errmsg(), needle) && !strchr(mt_errmsg(), '\n'),
                  "%s: '%s' lacks '%s'", tmpl, mt_errmsg(), needle);
}

START_TEST(test_template_words)
{
    expect_words("mpirun -np {ranks}", (const char *const[]){"mpirun", "-np", "6", NULL});
    expect_words("  srun\t-n {ranks}  -c {threads} ",
                 (const char *const[]){"srun", "-n", "6", "-c", "3", NULL});
    expect_words("mpirun --map-by slot:PE={threads} -np {ranks} --output-filename out/{cell}",
                 (const char *const[]){"mpirun", "--map-by", "slot:PE=3", "-np", "6",
                                       "--output-filename", "out/w4_mu0.7_r2", NULL});
    /* Quotes group and placeholders still expand inside them; nothing else
     * is special. */
    expect_words("mpirun -np {ranks} -x 'A=1 2' \"B={workers}+{server_ranks}\" $HOME *",
                 (const char *const[]){"mpirun", "-np", "6", "-x", "A=1 2", "B=4+2", "$HOME",
                                       "*", NULL});
    expect_words("run a\\ b \"q\\\"x\\\\\" 'p\\q' {{x}} {ranks}",
                 (const char *const[]){"run", "a b", "q\"x\\", "p\\q", "{x}", "6", NULL});
    expect_words("x''y {ranks}", (const char *const[]){"xy", "6", NULL});

    /* {threads} without a value is refused when expanded. */
    mt_launcher l;
    ck_assert_int_eq(mt_launcher_parse(&l, "srun -n {ranks} -c {threads}"), MT_OK);
    ck_assert_int_eq(l.uses_threads, 1);
    mt_launch_vars v = {.workers = 1, .server_ranks = 1, .threads = 0, .cell = "c"};
    char w[64];
    ck_assert_int_eq(mt_launcher_word(&l, 4, &v, w, sizeof w), MT_ERR_ARG);
    ck_assert_int_eq(mt_launcher_word(&l, 2, &v, w, 2), MT_OK); /* "2" fits in 2 bytes */
    ck_assert_int_eq(mt_launcher_word(&l, 0, &v, w, 4), MT_ERR_ARG); /* "srun" does not */
}
END_TEST

START_TEST(test_template_refused)
{
    expect_refused("", "empty");
    expect_refused("   ", "empty");
    expect_refused("mpirun -np 2", "no {ranks}");
    expect_refused("mpirun -np {rank}", "unknown placeholder {rank}");
    expect_refused("mpirun -np {ranks} {", "a { without its }");
    expect_refused("mpirun -np {ranks} }", "a lone }");
    expect_refused("mpirun -np '{ranks}", "single quote");
    expect_refused("mpirun -np \"{ranks}", "double quote");
}
END_TEST

/* Runs `mutau ARGS` in tmpdir: the exit code, stderr in err. */
static int run(const char *args, char *err, size_t cap) { return tool_sh(tmpdir, args, err, cap); }

static void expect_one_line(const char *args, const char *needle)
{
    char err[4096];
    int rc = run(args, err, sizeof err);
    ck_assert_msg(rc == 2, "%s: exit %d: %s", args, rc, err);
    ck_assert_msg(strstr(err, needle) && strchr(err, '\n') == err + strlen(err) - 1,
                  "%s: stderr lacks '%s' on one line:\n%s", args, needle, err);
}

START_TEST(test_bad_setups)
{
    expect_one_line("sweep --out s --launcher 'mpirun -np 2' --list-cells", "no {ranks}");
    expect_one_line("sweep --out s --launcher 'mpirun -np {n}' --list-cells",
                    "unknown placeholder {n}");
    expect_one_line("sweep --out s --launcher 'mpirun -np {ranks}' --mode delay --list-cells",
                    "delay mode");
    expect_one_line("sweep --out s --launcher 'srun -n {ranks} -c {threads}' --list-cells",
                    "{threads} needs --threads");
    expect_one_line("sweep --out s --server-ranks 2 --list-cells", "--server-ranks: only with "
                                                                   "--launcher");
    expect_one_line("sweep --out s --transport mpi --list-cells", "--transport: the sweep sets it");
    expect_one_line("sweep --out s --cell w1_mu0.5_r1 --cell-index 0", "give one");
    expect_one_line("sweep --out s --cell w1_mu0.5_r1 --jobs 2", "--jobs");
    expect_one_line("sweep --out s --momentum 0.5 --cell w9_mu0.5_r1", "not a cell of this sweep");
    expect_one_line("sweep --out s --momentum 0.5 --cell-index 1", "--cell-index: 1 is not in "
                                                                   "[0, 0]");
    ck_assert_int_ne(access("s", F_OK), 0);
}
END_TEST

/* ---- cells over mpirun ------------------------------------------------------ */

#define SWEEP                                                                         \
    "sweep --out sw --workers 1,2,3 --momentum 0.5 --mode sync --progress plain --data syn " \
    "--model resnet8 --width 16 --batch 32 --epochs 3 --threads 1"

static char launcher[600]; /* mpirun -np {ranks} --oversubscribe */

/* Starts `mutau SWEEP --launcher L FLAG VALUE` in the background, output in
 * tmpdir/NAME.txt. */
static pid_t start(const char *name, const char *flag, const char *value)
{
    static char words[sizeof SWEEP];
    const char *argv[64];
    int n = 0;
    argv[n++] = tool_path();
    snprintf(words, sizeof words, "%s", SWEEP);
    for (char *t = strtok(words, " "); t; t = strtok(NULL, " "))
        argv[n++] = t;
    argv[n++] = "--launcher";
    argv[n++] = launcher;
    argv[n++] = flag;
    argv[n++] = value;
    argv[n] = NULL;
    char out[512];
    snprintf(out, sizeof out, "%s/%s.txt", tmpdir, name);
    return tool_spawn(out, argv);
}

/* Runs `mutau SWEEP --launcher L EXTRA` in tmpdir: exit code, stderr in err. */
static int sweep(const char *extra, char *err, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s --launcher '%s' %s", SWEEP, launcher, extra);
    return run(cmd, err, cap);
}

static char *read_in(const char *rel) { return file_read_in(tmpdir, rel); }

static int exists_in(const char *rel) { return file_exists_in(tmpdir, rel); }

static void expect_exit(pid_t pid, int want, const char *name)
{
    int got = tool_wait(pid);
    if (got != want) {
        char rel[128];
        snprintf(rel, sizeof rel, "%s.txt", name);
        char *s = read_in(rel);
        ck_abort_msg("%s: exit %d, want %d:\n%s", name, got, want, s ? s : "(no output)");
    }
}

/* The world config.json recorded for a cell run over MPI. */
static void expect_mpi_world(const char *cell, int ranks)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/sw/%s/config.json", tmpdir, cell);
    json_t *j = json_read_checked(p);
    json_t *m = json_object_get(json_object_get(j, "settings"), "mpi");
    ck_assert_msg(m != NULL, "%s: no settings.mpi", cell);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "ranks")), ranks);
    json_decref(j);
}

START_TEST(test_cells_over_mpirun)
{
    const char *mpirun = mpirun_env();
    ck_assert_int_eq(run("data synth syn --format idx --train 384 --test 64 --classes 4 "
                         "--size 16x16",
                         NULL, 0),
                     0);
    /* Three cells: w1 and w2 as --cell jobs, w3 left for the whole sweep. */
    snprintf(launcher, sizeof launcher, "%s -np {ranks} --oversubscribe", mpirun);
    ck_assert_int_eq(chdir(tmpdir), 0); /* start() runs in this directory too */
    pid_t a = start("a", "--cell", "w1_mu0.5_r1");
    pid_t b = start("b", "--cell-index", "1");
    /* A cell's run holds its lock once the cell's output has begun, and for
     * the seconds mpirun takes to start the ranks and train 24 steps. */
    for (int i = 0; i < 1200 && !exists_in("sw/w1_mu0.5_r1/train.out"); i++) {
        struct timespec ts = {0, 25 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    char err[4096];
    int rc = sweep("--cell w1_mu0.5_r1", err, sizeof err);
    ck_assert_msg(rc == 2 && strstr(err, "another mutau sweep --cell is running it") &&
                      strstr(err, ".locks/w1_mu0.5_r1 is locked"),
                  "the same cell twice: exit %d: %s", rc, err);
    rc = sweep("", err, sizeof err);
    ck_assert_msg(rc == 2 && strstr(err, "another mutau sweep is running in sw") &&
                      strstr(err, "sw/.lock is locked"),
                  "a whole sweep meanwhile: exit %d: %s", rc, err);
    expect_exit(a, 0, "a");
    expect_exit(b, 0, "b");
    expect_mpi_world("w1_mu0.5_r1", 2);
    expect_mpi_world("w2_mu0.5_r1", 3);

    ck_assert_int_eq(sweep("--list-cells", err, sizeof err), 0);
    char *out = read_in("out.txt");
    ck_assert_msg(strcmp(out, "w1_mu0.5_r1 completed\nw2_mu0.5_r1 completed\nw3_mu0.5_r1 "
                              "pending\n") == 0,
                  "--list-cells:\n%s", out);
    free(out);
    /* A finished cell again: nothing to do. */
    ck_assert_int_eq(sweep("--cell-index 0", err, sizeof err), 0);
    out = read_in("out.txt");
    ck_assert_msg(strstr(out, "completed before; nothing to do"), "%s", out);
    free(out);

    /* SIGTERM to a --cell run after its cell's first epoch: it stops the
     * cell with SIGUSR1 (mpirun forwards it and lets the ranks end), the
     * ranks checkpoint, exit 4. */
    pid_t c = start("c", "--cell-index", "2");
    for (int i = 0; i < 2400; i++) {
        char *log = read_in("sw/w3_mu0.5_r1/train.out");
        int begun = log && strstr(log, "epoch 1/3");
        free(log);
        if (begun)
            break;
        struct timespec ts = {0, 25 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(c, SIGTERM);
    expect_exit(c, 4, "c");
    out = read_in("c.txt");
    ck_assert_msg(strstr(out, "w3_mu0.5_r1: stopped, checkpoint saved") &&
                      strstr(out, "resume with: mutau sweep"),
                  "%s", out);
    free(out);

    /* The whole sweep trains only the cell left, resuming it, through the
     * launcher. */
    rc = sweep("", err, sizeof err);
    ck_assert_msg(rc == 0, "whole sweep: exit %d: %s", rc, err);
    out = read_in("out.txt");
    ck_assert_msg(strstr(out, "1 to train (1 resuming from checkpoints), 2 finished before"),
                  "%s", out);
    free(out);
    expect_mpi_world("w3_mu0.5_r1", 4);
    char *csv = read_in("sw/results.csv");
    ck_assert_ptr_nonnull(csv);
    ck_assert_msg(strstr(csv, "pending") == NULL && strstr(csv, "failed") == NULL, "%s", csv);
    free(csv);
}
END_TEST

static Suite *sweep_cluster_suite(void)
{
    Suite *s = suite_create("sweep_cluster");
    TCase *t = tcase_create("template");
    tcase_add_test(t, test_template_words);
    tcase_add_test(t, test_template_refused);
    suite_add_tcase(s, t);
    TCase *c = tcase_create("cli");
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_set_timeout(c, 240);
    tcase_add_test(c, test_bad_setups);
    tcase_add_test(c, test_cells_over_mpirun);
    suite_add_tcase(s, c);
    return s;
}

MT_CHECK_MAIN(sweep_cluster_suite)
