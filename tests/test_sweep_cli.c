/* test_sweep_cli.c: `mutau sweep` and `mutau report` end to end (the built
 * tool, from $MUTAU) on a tiny synthetic dataset and ResNet-8:
 *   - a 2 x 2 sweep completes, results.csv has a row per cell, the report's
 *     PNGs are valid images with more than one colour and its table lists
 *     every cell;
 *   - stopped by SIGTERM after its first cell and rerun, the sweep finishes
 *     without redoing the finished cell, resuming the interrupted one;
 *   - cells that diverge are marked diverged and the sweep goes on: weight
 *     decay alone multiplies theta by (1 - lr wd) per step, unstable when
 *     lr wd > 2; momentum mu moves that bound to 2 (1 + mu), so with
 *     lr wd = 2.5 the mu = 0 cell blows up, and the mu = 0.9 cell, whose
 *     loss climbs to 1e23 while staying finite, leaves --divergence-loss;
 *   - a cell whose worker fails (the test-only fault hook) is recorded as
 *     failed, the others go on, and a rerun resumes it;
 *   - a cell's process killed with SIGKILL is recorded as interrupted, the
 *     others go on, and a rerun resumes it from its checkpoint;
 *   - changed settings, bad flags and flags train refuses exit 2 with one
 *     line naming them, leaving the sweep directory as it was;
 *   - delay mode: a cell of W workers trains with delay W - 1 and its
 *     staleness reaches results.csv;
 *   - a dry run trains nothing, leaves nothing and, short of memory, says
 *     what does not fit instead of refusing;
 *   - `mutau report RUNDIR` draws one run, with steps.csv and the staleness
 *     histogram when they are there.
 */
#include "core/clock.h"
#include "tests/check_main.h"
#include "tests/png_check.h"
#include "tests/tool_run.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

static void setup(void) { tmp_dir_make(tmpdir, sizeof tmpdir, "sweep-cli"); }

static void teardown(void) { tmp_dir_remove(tmpdir); }

/* Runs `mutau ARGS` in tmpdir, output in out.txt / err.txt there; returns
 * the exit status and the stderr text in err (may be NULL). */
static int run(const char *args, char *err, size_t cap) { return tool_sh(tmpdir, args, err, cap); }

static char *read_in(const char *rel) { return file_read_in(tmpdir, rel); }

static int exists_in(const char *rel) { return file_exists_in(tmpdir, rel); }

/* 16x16 grey images: large enough for oneDNN's fast kernels, small enough
 * for a cell to take about a second. */
static void make_data(int train)
{
    char args[256];
    snprintf(args, sizeof args,
             "data synth syn --format idx --train %d --test 64 --classes 4 --size 16x16", train);
    ck_assert_int_eq(run(args, NULL, 0), 0);
}

#define TINY "--data syn --model resnet8 --width 16 --batch 32 --threads 1 "

static int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static void check_png(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    png_rgb img;
    ck_assert_msg(png_rgb_read(p, &img) == 0, "%s is not a PNG: %s", rel, img.message);
    ck_assert_msg(img.width >= 400 && img.height >= 300, "%s: %dx%d", rel, img.width, img.height);
    /* A drawn figure, not a blank page: many distinct colours. */
    int distinct = png_rgb_distinct(&img, 8);
    free(img.rgb);
    ck_assert_msg(distinct >= 8, "%s has %d colours", rel, distinct);
}

START_TEST(test_tiny_sweep_and_report)
{
    make_data(256);
    char err[8192];
    int rc = run("sweep --out sw --momentum 0.5,0.9 --repeats 2 " TINY
                 "--epochs 2 --lr 0.05 --schedule cosine",
                 err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    char *out = read_in("out.txt");
    ck_assert_msg(strstr(out, "4 cells") && strstr(out, "estimate:"), "stdout:\n%s", out);
    free(out);
    char *csv = read_in("sw/results.csv");
    ck_assert_ptr_nonnull(csv);
    ck_assert_int_eq(count_lines(csv), 5);
    const char *cells[4] = {"w1_mu0.5_r1", "w1_mu0.9_r1", "w1_mu0.5_r2", "w1_mu0.9_r2"};
    for (int i = 0; i < 4; i++) {
        char row[64];
        snprintf(row, sizeof row, "\n%s,1,", cells[i]);
        ck_assert_msg(strstr(csv, row), "no row for %s:\n%s", cells[i], csv);
    }
    ck_assert_msg(strstr(csv, ",pending") == NULL && strstr(csv, ",failed") == NULL, "%s", csv);
    /* Every cell's CPU time is recorded (the column before the status). */
    ck_assert_msg(strstr(csv, ",,completed") == NULL, "%s", csv);
    free(csv);

    rc = run("report sw", err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    out = read_in("out.txt");
    ck_assert_msg(strstr(out, "mu=0.5") && strstr(out, "mu=0.9") && strstr(out, "best mu"),
                  "table:\n%s", out);
    free(out);
    check_png("sw/accuracy_vs_momentum.png");
    check_png("sw/heatmap.png");
    check_png("sw/epochs_w1.png");
    char *md = read_in("sw/report.md");
    ck_assert_ptr_nonnull(md);
    for (int i = 0; i < 4; i++) {
        char row[64];
        snprintf(row, sizeof row, "| %s | completed |", cells[i]);
        ck_assert_msg(strstr(md, row), "report.md does not list %s:\n%s", cells[i], md);
    }
    ck_assert_msg(strstr(md, "| μ = 0.5 | μ = 0.9 | best μ |"), "%s", md);
    free(md);

    /* Rerun: nothing to train; changed settings: refused, nothing touched. */
    char *before = read_in("sw/w1_mu0.5_r1/final.json");
    rc = run("sweep --out sw --momentum 0.5,0.9 --repeats 2 " TINY
             "--epochs 2 --lr 0.05 --schedule cosine",
             err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    out = read_in("out.txt");
    ck_assert_msg(strstr(out, "0 to train"), "stdout:\n%s", out);
    free(out);
    rc = run("sweep --out sw --momentum 0.5,0.9 --repeats 2 " TINY
             "--epochs 2 --lr 0.1 --schedule cosine",
             err, sizeof err);
    ck_assert_int_eq(rc, 2);
    ck_assert_msg(strstr(err, "other settings") && strstr(err, "--lr 0.05") &&
                      strstr(err, "--lr 0.1"),
                  "stderr: %s", err);
    rc = run("sweep --out sw --momentum 0.5,0.7 --repeats 2 " TINY
             "--epochs 2 --lr 0.05 --schedule cosine",
             err, sizeof err);
    ck_assert_int_eq(rc, 2);
    ck_assert_msg(strstr(err, "--momentum: the sweep has 0.5,0.9, the command gives 0.5,0.7"),
                  "stderr: %s", err);
    char *after = read_in("sw/w1_mu0.5_r1/final.json");
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
}
END_TEST

/* `mutau ARGS` in the background in tmpdir, output in out1.txt and err1.txt
 * there; its pid (the shell execs the tool). */
static pid_t start_sweep(const char *args)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && exec '%s' %s >out1.txt 2>err1.txt", tmpdir, tool_path(),
             args);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

START_TEST(test_stopped_and_resumed)
{
    make_data(1024);
    const char *args = "sweep --out sw --momentum 0.3,0.6,0.9 --jobs 1 " TINY
                       "--epochs 4 --lr 0.05 --schedule cosine";
    pid_t pid = start_sweep(args);
    /* Wait for the first cell to complete, then stop the sweep. */
    double t0 = mt_now();
    int done = 0;
    while (!done && mt_now() - t0 < 120) {
        char *fin = read_in("sw/w1_mu0.3_r1/final.json");
        done = fin && strstr(fin, "\"completed\"");
        free(fin);
        if (!done)
            usleep(20000);
    }
    ck_assert_msg(done, "the first cell did not complete within 120 s");
    kill(pid, SIGTERM);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    char *err = read_in("err1.txt");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 4, "status %d: %s", st, err);
    ck_assert_msg(strstr(err, "resume with: mutau sweep"), "stderr: %s", err);
    free(err);
    char *first = read_in("sw/w1_mu0.3_r1/final.json");
    /* The second cell was stopped with a checkpoint, or had not started, or
     * (on a fast machine) finished. */
    char *second = read_in("sw/w1_mu0.6_r1/final.json");
    int second_stopped = second && strstr(second, "\"interrupted\"");
    int second_done = second && strstr(second, "\"completed\"");
    free(second);

    char e2[8192];
    int rc = run(args + 0, e2, sizeof e2);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, e2);
    char *out = read_in("out.txt");
    ck_assert_msg(strstr(out, second_stopped ? "1 resuming" : "0 resuming"), "stdout:\n%s", out);
    free(out);
    /* The finished cell was not trained again. */
    char *first_after = read_in("sw/w1_mu0.3_r1/final.json");
    ck_assert_str_eq(first, first_after);
    free(first);
    free(first_after);
    char *tout = read_in("sw/w1_mu0.3_r1/train.out");
    ck_assert_msg(strstr(tout, "resuming") == NULL, "%s", tout);
    free(tout);
    if (second_stopped) {
        tout = read_in("sw/w1_mu0.6_r1/train.out");
        ck_assert_msg(strstr(tout, "resuming sw/w1_mu0.6_r1"), "%s", tout);
        free(tout);
        /* One log row per epoch, none repeated. */
        char *log = read_in("sw/w1_mu0.6_r1/log.csv");
        ck_assert_int_eq(count_lines(log), 1 + 4);
        free(log);
    }
    (void)second_done;
    char *csv = read_in("sw/results.csv");
    ck_assert_int_eq(count_lines(csv), 4);
    int completed = 0;
    for (char *c = csv; (c = strstr(c, ",completed\n")); c++)
        completed++;
    ck_assert_msg(completed == 3, "%s", csv);
    free(csv);
}
END_TEST

/* A cell's process killed with SIGKILL (as the out-of-memory killer does)
 * after its first checkpoint: the sweep records it as interrupted, finishes
 * the other cell and exits 4; the rerun resumes the killed cell from its
 * checkpoint, and its log.csv ends with one row per epoch. */
START_TEST(test_killed_cell)
{
    make_data(1024);
    const char *args = "sweep --out sk --momentum 0.5,0.9 --jobs 1 " TINY
                       "--epochs 4 --lr 0.05 --schedule cosine";
    pid_t pid = start_sweep(args);
    /* The first cell's process, once its first epoch's checkpoint exists. */
    double t0 = mt_now();
    pid_t cell = -1;
    while (cell < 0 && mt_now() - t0 < 120) {
        if (exists_in("sk/w1_mu0.5_r1/checkpoint.bin"))
            cell = proc_child_with(pid, "cmdline", "sk/w1_mu0.5_r1");
        if (cell < 0)
            usleep(20000);
    }
    ck_assert_msg(cell > 0, "the first cell did not checkpoint within 120 s");
    ck_assert_int_eq(kill(cell, SIGKILL), 0);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    char *err = read_in("err1.txt");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 4, "status %d: %s", st, err);
    ck_assert_msg(strstr(err, "w1_mu0.5_r1: killed by SIGKILL, interrupted") &&
                      strstr(err, "w1_mu0.9_r1: completed") &&
                      strstr(err, "1 cell interrupted (killed;"),
                  "stderr: %s", err);
    free(err);
    char *cj = read_in("sk/w1_mu0.5_r1/cell.json");
    ck_assert_msg(cj && strstr(cj, "\"interrupted\"") && strstr(cj, "SIGKILL"), "%s",
                  cj ? cj : "(no cell.json)");
    free(cj);
    char *csv = read_in("sk/results.csv");
    ck_assert_msg(csv && strstr(strstr(csv, "\nw1_mu0.5_r1,"), ",interrupted\n") &&
                      strstr(strstr(csv, "\nw1_mu0.9_r1,"), ",completed\n"),
                  "%s", csv ? csv : "(no results.csv)");
    free(csv);

    char e2[8192];
    int rc = run(args, e2, sizeof e2);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, e2);
    char *out = read_in("out.txt");
    ck_assert_msg(strstr(out, "1 resuming"), "stdout:\n%s", out);
    free(out);
    char *tout = read_in("sk/w1_mu0.5_r1/train.out");
    ck_assert_msg(strstr(tout, "resuming sk/w1_mu0.5_r1"), "%s", tout);
    free(tout);
    char *log = read_in("sk/w1_mu0.5_r1/log.csv");
    ck_assert_int_eq(count_lines(log), 1 + 4);
    free(log);
    csv = read_in("sk/results.csv");
    ck_assert_msg(strstr(strstr(csv, "\nw1_mu0.5_r1,"), ",completed\n"), "%s", csv);
    free(csv);
}
END_TEST

START_TEST(test_diverged_cell)
{
    make_data(256);
    char err[8192];
    int rc = run("sweep --out dv --momentum 0,0.9 --jobs 1 " TINY
                 "--epochs 8 --lr 2.5 --weight-decay 1 --schedule constant",
                 err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_msg(strstr(err, "w1_mu0_r1: diverged") && strstr(err, "w1_mu0.9_r1: diverged"),
                  "stderr: %s", err);
    char *csv = read_in("dv/results.csv");
    ck_assert_ptr_nonnull(csv);
    ck_assert_msg(strstr(csv, "\nw1_mu0_r1,") && strstr(strstr(csv, "\nw1_mu0_r1,"), ",diverged\n"),
                  "%s", csv);
    ck_assert_msg(strstr(strstr(csv, "\nw1_mu0.9_r1,"), ",diverged\n"), "%s", csv);
    free(csv);
    rc = run("report dv", err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    char *out = read_in("out.txt");
    ck_assert_msg(strstr(out, "diverged") && strstr(out, "2 diverged"), "%s", out);
    free(out);
    char *md = read_in("dv/report.md");
    /* mu = 0.9 keeps the decay stable, but its loss still climbs to 1e23
     * without reaching Inf: --divergence-loss makes it diverged, not a
     * result at chance accuracy. */
    ck_assert_msg(strstr(md, "| w1_mu0_r1 | diverged |") && strstr(md, "| w1_mu0.9_r1 | diverged |") &&
                      strstr(md, "exceeds --divergence-loss"),
                  "%s", md);
    free(md);
}
END_TEST

/* A cell whose worker's gradient fails (build/mutau-faults with
 * MUTAU_FAULT_STEP=1:13: worker 1 at batch 13, which only the 2-worker cell
 * has, after the trial's 12 batches) is recorded as failed with its
 * message; the other cell completes; the sweep exits 1. Rerun, the failed
 * cell resumes from the checkpoint its failure left and completes. */
START_TEST(test_failed_cell)
{
    make_data(256);
    const char *args = "sweep --out fl --workers 1,2 --mode sync --momentum 0.9 --jobs 1 " TINY
                       "--epochs 3 --lr 0.05 --schedule cosine";
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && MUTAU_FAULT_STEP=1:13 '%s' %s >out1.txt 2>err1.txt", tmpdir,
             tool_faults_path(), args);
    int st = system(cmd);
    char *err = read_in("err1.txt");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1, "status %d: %s", st, err);
    ck_assert_msg(strstr(err, "w2_mu0.9_r1: failed") &&
                      strstr(err, "worker 1, batch 13: out of memory") &&
                      strstr(err, "w1_mu0.9_r1: completed"),
                  "stderr: %s", err);
    free(err);
    char *csv = read_in("fl/results.csv");
    ck_assert_ptr_nonnull(csv);
    ck_assert_msg(strstr(strstr(csv, "\nw1_mu0.9_r1,"), ",completed\n") &&
                      strstr(strstr(csv, "\nw2_mu0.9_r1,"), ",failed\n"),
                  "%s", csv);
    free(csv);
    char *cell = read_in("fl/w2_mu0.9_r1/cell.json");
    ck_assert_msg(cell && strstr(cell, "\"failed\"") && strstr(cell, "worker 1, batch 13"),
                  "%s", cell ? cell : "(no cell.json)");
    free(cell);

    char e2[8192];
    int rc = run(args, e2, sizeof e2);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, e2);
    char *tout = read_in("fl/w2_mu0.9_r1/train.out");
    ck_assert_msg(strstr(tout, "resuming fl/w2_mu0.9_r1"), "%s", tout);
    free(tout);
    csv = read_in("fl/results.csv");
    ck_assert_msg(strstr(strstr(csv, "\nw2_mu0.9_r1,"), ",completed\n"), "%s", csv);
    free(csv);
}
END_TEST

START_TEST(test_bad_input)
{
    make_data(256);
    char err[8192];
    ck_assert_int_eq(run("sweep --out b --momentum 0.5,1.5 " TINY, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--momentum") && count_lines(err) == 1, "stderr: %s", err);
    ck_assert_int_eq(run("sweep --out b --momentum 0.5,0.5 " TINY, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "listed twice"), "stderr: %s", err);
    ck_assert_int_eq(run("sweep --out b --resume x", err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--resume"), "stderr: %s", err);
    ck_assert_int_eq(run("sweep --out b --preset fast", err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--preset: expected one of quick|methods|paper"), "stderr: %s", err);
    /* The method axis and momentum auto: one line naming the flag. */
    ck_assert_int_eq(run("sweep --out b --method msgd,adam " TINY, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--method: expected one of msgd|staleness-lr|dc-asgd|dana, got "
                              "'adam'") &&
                      count_lines(err) == 1,
                  "stderr: %s", err);
    ck_assert_int_eq(run("sweep --out b --method dana,dana " TINY, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--method: dana is listed twice") && count_lines(err) == 1,
                  "stderr: %s", err);
    ck_assert_int_eq(run("sweep --out b --method dana --mode sync --workers 2 " TINY, err,
                         sizeof err),
                     2);
    ck_assert_msg(strstr(err, "--method: dana is not defined in sync mode") &&
                      count_lines(err) == 1,
                  "stderr: %s", err);
    ck_assert_int_eq(run("sweep --out b --momentum 0.5,auto,auto " TINY, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--momentum: auto is listed twice") && count_lines(err) == 1,
                  "stderr: %s", err);
    ck_assert_int_eq(run("sweep --out b --momentum 0.5,automatic " TINY, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--momentum") && strstr(err, "automatic") && count_lines(err) == 1,
                  "stderr: %s", err);
    ck_assert_int_eq(run("sweep --out b --method , " TINY, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "--method: expected a comma-separated list") &&
                      count_lines(err) == 1,
                  "stderr: %s", err);
    ck_assert_msg(!exists_in("b/sweep.json"), "sweep.json written for refused settings");
    ck_assert_int_eq(run("sweep --out b stray", err, sizeof err), 2);
    /* A flag mutau train refuses: its own message, and no sweep left behind. */
    ck_assert_int_eq(run("sweep --out b --momentum 0.5 --bogus 3 " TINY "--epochs 1", err,
                         sizeof err),
                     2);
    ck_assert_msg(strstr(err, "--bogus"), "stderr: %s", err);
    ck_assert_msg(!exists_in("b/sweep.json"), "sweep.json written for settings that do not train");
    /* The sweep then starts afresh with good settings. */
    ck_assert_int_eq(run("sweep --out b --momentum 0.5 " TINY "--epochs 1", err, sizeof err), 0);
    /* Worker counts: cells pass --workers to mutau train; a trainer without
     * the parameter server refuses it by name, one with it trains. */
    int rc = run("sweep --out w --workers 1,2 --momentum 0.5 " TINY "--epochs 1", err, sizeof err);
    if (rc == 2) {
        ck_assert_msg(strstr(err, "--workers"), "stderr: %s", err);
    } else {
        ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
        char *csv = read_in("w/results.csv");
        ck_assert_msg(strstr(csv, "\nw2_mu0.5_r1,2,0.5,"), "%s", csv);
        free(csv);
    }
    ck_assert_int_eq(run("report nowhere", err, sizeof err), 2);
    ck_assert_msg(strstr(err, "neither a sweep directory (sweep.json) nor a run directory") &&
                      count_lines(err) == 1,
                  "stderr: %s", err);
    ck_assert_int_eq(run("report", err, sizeof err), 2);
}
END_TEST

/* Delay mode: a cell of W workers trains with delay W - 1, and results.csv
 * records the delay and the staleness the trainer measured (the ring fills
 * over the first W - 1 steps, so the mean is below W - 1, the max equal). */
START_TEST(test_delay_mode_cells)
{
    make_data(256);
    char err[8192];
    int rc = run("sweep --out dm --workers 1,3 --momentum 0.5 --mode delay " TINY
                 "--epochs 2 --lr 0.05 --schedule cosine",
                 err, sizeof err);
    if (rc == 2 && strstr(err, "'--workers'"))
        return; /* a trainer without the parameter server: test_bad_input covers it */
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    char *cfg = read_in("dm/w3_mu0.5_r1/config.json");
    ck_assert_msg(cfg && strstr(cfg, "\"delay\": 2"), "%s", cfg);
    free(cfg);
    char *csv = read_in("dm/results.csv");
    ck_assert_msg(strstr(csv, "\nw1_mu0.5_r1,1,0.5,msgd,0.5,delay,0,1,1,"), "%s", csv);
    ck_assert_msg(strstr(csv, "\nw3_mu0.5_r1,3,0.5,msgd,0.5,delay,2,1,1,"), "%s", csv);
    /* staleness_mean, staleness_max of the 3-worker cell: below 2, and 2. */
    const char *row = strstr(csv, "\nw3_mu0.5_r1,");
    const char *f = row + 1;
    for (int k = 0; k < 16; k++)
        f = strchr(f, ',') + 1;
    double mean = strtod(f, NULL);
    double max = strtod(strchr(f, ',') + 1, NULL);
    ck_assert_msg(mean > 1.5 && mean < 2 && max == 2, "staleness %g / %g in %s", mean, max, row);
    free(csv);
}
END_TEST

/* --precision is a train flag: every cell gets it (here a one-worker cell
 * and a 2-worker delay-mode cell, whose workers clone the bf16 net); where
 * bf16 cannot run (oneDNN's ISA limited below AVX512_BF16) the sweep stops
 * at once with train's one line and leaves no sweep behind. */
START_TEST(test_precision_passes_to_cells)
{
    make_data(128);
    char err[8192];
    setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE", 1);
    int rc = run("sweep --out nb --momentum 0.5 " TINY "--epochs 1 --precision bf16", err,
                 sizeof err);
    unsetenv("ONEDNN_MAX_CPU_ISA");
    ck_assert_int_eq(rc, 2);
    ck_assert_msg(strstr(err, "--precision bf16") && count_lines(err) == 1, "stderr: %s", err);
    ck_assert_msg(!exists_in("nb/sweep.json"), "sweep.json written for settings that do not train");
    rc = run("sweep --out bf --workers 1,2 --mode delay --momentum 0.5 " TINY
             "--epochs 1 --precision bf16",
             err, sizeof err);
    if (rc == 2 && strstr(err, "--precision bf16"))
        return; /* no native bf16 here: the refusal above is what can be checked */
    if (rc == 2 && strstr(err, "'--workers'"))
        return; /* a trainer without the parameter server */
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    const char *cells[] = {"bf/w1_mu0.5_r1/config.json", "bf/w2_mu0.5_r1/config.json"};
    for (int i = 0; i < 2; i++) {
        char *cfg = read_in(cells[i]);
        ck_assert_msg(cfg && strstr(cfg, "\"precision\": \"bf16\""), "%s: %s", cells[i], cfg);
        free(cfg);
    }
}
END_TEST

/* A dry run trains nothing and never refuses for memory: with less memory
 * than one cell needs it still prints the estimate per worker count, says
 * what does not fit, exits 0 and leaves no sweep directory behind. */
START_TEST(test_dry_run)
{
    make_data(256);
    char err[8192];
    int rc = run("sweep --out dry --workers 1,4 --momentum 0.5,0.9 --mode async " TINY
                 "--epochs 2 --dry-run",
                 err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    char *out = read_in("out.txt");
    ck_assert_msg(strstr(out, "4 cells") && strstr(out, "one compute thread") &&
                      strstr(out, "time per cell") && strstr(out, "in all"),
                  "stdout:\n%s", out);
    free(out);
    ck_assert_msg(!exists_in("dry"), "a dry run left its sweep directory behind");
    /* 1 MB: no cell fits, and the dry run says so instead of refusing. */
    char args[512];
    snprintf(args, sizeof args, "sweep --out dry --workers 1,4 --momentum 0.5 " TINY
                                "--epochs 2 --dry-run");
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cd '%s' && MUTAU_MEM_AVAILABLE=1M '%s' %s >out.txt 2>err.txt",
             tmpdir, tool_path(), args);
    ck_assert_int_eq(system(cmd), 0);
    out = read_in("out.txt");
    ck_assert_msg(strstr(out, "does not fit in 1.0 MB"), "stdout:\n%s", out);
    free(out);
    ck_assert_msg(!exists_in("dry"), "a dry run left its sweep directory behind");
    /* --preset paper: an explicit --data wins over $MUTAU_DATA and ./data;
     * without it and without CIFAR-100 there, one line says how to get it. */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && env -u MUTAU_DATA '%s' sweep --preset paper --out dry --dry-run "
             "--workers 1,2 --repeats 1 --momentum 0.5 " TINY "--epochs 2 >out.txt 2>err.txt",
             tmpdir, tool_path());
    ck_assert_int_eq(system(cmd), 0);
    out = read_in("out.txt");
    ck_assert_msg(strstr(out, "2 cells = workers {1,2}") && strstr(out, "time per cell"),
                  "stdout:\n%s", out);
    free(out);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && env -u MUTAU_DATA '%s' sweep --preset paper --out dry --dry-run "
             ">out.txt 2>err.txt",
             tmpdir, tool_path());
    int st = system(cmd);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "status %d", st);
    char *e = read_in("err.txt");
    ck_assert_msg(strstr(e, "--preset paper: CIFAR-100 is not here") &&
                      strstr(e, "mutau data fetch cifar100") && count_lines(e) == 1,
                  "stderr: %s", e);
    free(e);
}
END_TEST

static void write_in(const char *rel, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void mkdir_in(const char *rel)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    ck_assert_int_eq(mkdir(p, 0755), 0);
}

/* A finished cell of a sweep, by hand: final.json and a two-epoch log.csv
 * whose momentum column is mu. */
static void fake_cell(const char *sweep, const char *cell, double top1, double mu)
{
    char rel[256], text[512];
    snprintf(rel, sizeof rel, "%s/%s", sweep, cell);
    mkdir_in(rel);
    snprintf(rel, sizeof rel, "%s/%s/final.json", sweep, cell);
    snprintf(text, sizeof text,
             "{\"status\": \"completed\", \"epochs_completed\": 2, \"epochs\": 2, "
             "\"final\": {\"top1\": %.4f, \"top5\": 0.99}}",
             top1);
    write_in(rel, text);
    snprintf(rel, sizeof rel, "%s/%s/log.csv", sweep, cell);
    snprintf(text, sizeof text,
             "epoch,eval_loss,eval_top1,eval_top5,tau_mean,momentum\n1,1.2,0.5,0.9,1,%g\n"
             "2,1.0,%.4f,0.99,1,%g\n",
             mu, top1, mu);
    write_in(rel, text);
}

/* `mutau report` on sweep directories written by hand: one made before the
 * method axis (sweep.json without methods, results.csv without the method
 * column) reports as msgd with its old table and figure names; one with two
 * methods and auto prints a table per method and the methods' comparison,
 * and draws a Figure 2 per method and the overlay. */
START_TEST(test_report_methods_by_hand)
{
    char err[8192];
    mkdir_in("old");
    write_in("old/sweep.json", "{\"workers\": [2], \"momentum\": [0.5, 0.9], \"repeats\": 1, "
                               "\"seed\": \"1\", \"mode\": \"delay\", \"delay\": -1, "
                               "\"train_flags\": []}\n");
    write_in("old/results.csv", "cell,workers,momentum,mode,delay,repeat,seed,final_top1\n"
                                "w2_mu0.5_r1,2,0.5,delay,1,1,1,0.8\n");
    fake_cell("old", "w2_mu0.5_r1", 0.80, 0.5);
    fake_cell("old", "w2_mu0.9_r1", 0.70, 0.9);
    int rc = run("report old", err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    char *out = read_in("out.txt");
    ck_assert_msg(strstr(out, "80.00*") && !strstr(out, "method") && !strstr(out, "auto"),
                  "stdout:\n%s", out);
    free(out);
    char *csv = read_in("old/results.csv");
    ck_assert_msg(strstr(csv, "\nw2_mu0.5_r1,2,0.5,msgd,0.5,delay,1,"), "%s", csv);
    free(csv);
    check_png("old/accuracy_vs_momentum.png");
    ck_assert(!exists_in("old/methods_vs_workers.png"));

    mkdir_in("m");
    write_in("m/sweep.json", "{\"workers\": [2, 4], \"momentum\": [0.5, 0.9, \"auto\"], "
                             "\"methods\": [\"msgd\", \"dana\"], \"repeats\": 1, \"seed\": \"1\", "
                             "\"mode\": \"delay\", \"delay\": -1, \"train_flags\": []}\n");
    /* msgd: 0.80, 0.70, auto 0.78 (mu 0.4) at W = 2; 0.74, 0.50, auto 0.75
     * (mu 0.15) at W = 4. dana: 0.83, 0.85, auto 0.80; 0.77, 0.76, auto 0.74. */
    const char *names[12] = {"w2_mu0.5_r1",  "w2_mu0.5_dana_r1",  "w2_mu0.9_r1",
                             "w2_mu0.9_dana_r1", "w2_muauto_r1", "w2_muauto_dana_r1",
                             "w4_mu0.5_r1",  "w4_mu0.5_dana_r1",  "w4_mu0.9_r1",
                             "w4_mu0.9_dana_r1", "w4_muauto_r1", "w4_muauto_dana_r1"};
    const double acc[12] = {0.80, 0.83, 0.70, 0.85, 0.78, 0.80,
                            0.74, 0.77, 0.50, 0.76, 0.75, 0.74};
    const double mu[12] = {0.5, 0.5, 0.9, 0.9, 0.4, 0.4, 0.5, 0.5, 0.9, 0.9, 0.15, 0.15};
    for (int i = 0; i < 12; i++)
        fake_cell("m", names[i], acc[i], mu[i]);
    rc = run("report m", err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    out = read_in("out.txt");
    ck_assert_msg(strstr(out, "method msgd:") && strstr(out, "method dana:") &&
                      strstr(out, "mu=auto") && strstr(out, "75.00 (auto)") &&
                      strstr(out, "85.00 (0.9)") && strstr(out, "-2.00 (0.40 vs 0.5)") &&
                      strstr(out, "+1.00 (0.15 vs 0.5)") && strstr(out, "-5.00 (0.40 vs 0.9)"),
                  "stdout:\n%s", out);
    free(out);
    csv = read_in("m/results.csv");
    ck_assert_msg(strstr(csv, "\nw4_muauto_dana_r1,4,,dana,0.15,delay,3,"), "%s", csv);
    free(csv);
    check_png("m/accuracy_vs_momentum_msgd.png");
    check_png("m/accuracy_vs_momentum_dana.png");
    check_png("m/heatmap_dana.png");
    check_png("m/epochs_w4_dana.png");
    check_png("m/methods_vs_workers.png");
    char *md = read_in("m/report.md");
    ck_assert_msg(md && strstr(md, "methods: msgd,dana") && strstr(md, "### dana") &&
                      strstr(md, "| 2 | 80.00 (0.5) | 85.00 (0.9) |") &&
                      strstr(md, "![accuracy_vs_momentum, dana](accuracy_vs_momentum_dana.png)"),
                  "%s", md);
    free(md);
}
END_TEST

/* `mutau report RUNDIR` on one run: loss and accuracy per epoch; with a
 * (hand-made) steps.csv and final.json's staleness histogram, the loss per
 * step and the histogram too; a steps.csv without its columns exits 2 with
 * one line naming the file and the column. */
START_TEST(test_report_one_run)
{
    make_data(256);
    char err[8192];
    int rc = run("train --out r " TINY "--epochs 3 --lr 0.05 --schedule cosine --progress quiet",
                 err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    rc = run("report r --out rep", err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    char *out = read_in("out.txt");
    ck_assert_msg(strstr(out, "r: resnet8") && strstr(out, "completed, 3 epochs") &&
                      strstr(out, "final test top-1") && strstr(out, "2 figures"),
                  "stdout:\n%s", out);
    free(out);
    check_png("rep/loss.png");
    check_png("rep/accuracy.png");
    ck_assert(!exists_in("rep/loss_steps.png") && !exists_in("rep/staleness.png"));
    char *md = read_in("rep/report.md");
    ck_assert_msg(md && strstr(md, "| evaluated each epoch | test split |") &&
                      strstr(md, "![accuracy.png](accuracy.png)"),
                  "%s", md);
    free(md);

    /* The files a run with workers and --log-every adds, by hand. */
    write_in("r/steps.csv", "step,epoch,lr,loss,tau_mean,images_per_s\n"
                            "1,1,0.05,1.40,0,900\n2,1,0.05,1.31,1,950\n3,1,0.049,1.22,1.5,990\n"
                            "4,2,0.04,1.10,1.5,1000\n5,2,0.03,1.02,1.5,1010\n");
    char path[1024];
    snprintf(path, sizeof path, "%s/r/final.json", tmpdir);
    json_t *fin = json_read_checked(path);
    json_t *st = json_object();
    json_object_set_new(st, "histogram", json_pack("[[i,i],[i,i],[i,i]]", 0, 3, 1, 8, 2, 1));
    json_object_set_new(fin, "staleness", st);
    ck_assert_int_eq(json_dump_file(fin, path, JSON_INDENT(2)), 0);
    json_decref(fin);
    rc = run("report r", err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    check_png("r/loss_steps.png");
    check_png("r/staleness.png");
    md = read_in("r/report.md");
    ck_assert_msg(strstr(md, "| steps.csv | 5 rows |") && strstr(md, "(staleness.png)"), "%s", md);
    free(md);

    write_in("r/steps.csv", "step,epoch,lr,loss,images_per_s\n1,1,0.05,1.4,900\n");
    rc = run("report r", err, sizeof err);
    ck_assert_int_eq(rc, 2);
    ck_assert_msg(strstr(err, "r/steps.csv: no tau_mean column") && count_lines(err) == 1,
                  "stderr: %s", err);
}
END_TEST

static Suite *sweep_cli_suite(void)
{
    Suite *s = suite_create("sweep_cli");
    TCase *tc = tcase_create("sweep");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_tiny_sweep_and_report);
    tcase_add_test(tc, test_stopped_and_resumed);
    tcase_add_test(tc, test_diverged_cell);
    tcase_add_test(tc, test_failed_cell);
    tcase_add_test(tc, test_killed_cell);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_delay_mode_cells);
    tcase_add_test(tc, test_precision_passes_to_cells);
    tcase_add_test(tc, test_dry_run);
    tcase_add_test(tc, test_report_one_run);
    tcase_add_test(tc, test_report_methods_by_hand);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(sweep_cli_suite)
