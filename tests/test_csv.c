/* test_csv.c: every CSV file mutau writes, read with pandas as a user's
 * notebook would (tests/csv_check.py under /usr/bin/python3): each parses,
 * with the documented columns and types. The files come from the built tool
 * ($MUTAU): a single-process run and a delay-mode run (log.csv, steps.csv
 * when train has --log-every), a sweep (results.csv and its cells' log.csv)
 * and a PCA grid with two methods (results.csv, runs.csv, trace.csv,
 * methods.csv). Without pandas the test fails, naming the package: it does
 * not skip.
 */
#include "tests/check_main.h"
#include "tests/tool_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static void setup(void) { tmp_dir_make(tmpdir, sizeof tmpdir, "csv"); }

static void teardown(void) { tmp_dir_remove(tmpdir); }

static char err[8192];

static void mutau(const char *args)
{
    int rc = tool_sh(tmpdir, args, err, sizeof err);
    ck_assert_msg(rc == 0, "mutau %s: exit %d: %s", args, rc, err);
}

/* Runs the checker (with python flags `py`) on tmpdir/sub; its exit status,
 * its output in out[cap]. */
static int check_csv(const char *py, const char *sub, char *out, size_t cap)
{
    char src[512], cmd[1600];
    source_dir(src, sizeof src);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s '%s/tests/csv_check.py' '%s/%s' 2>&1", py, src,
             tmpdir, sub);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

#define TINY "--data syn --model resnet8 --width 16 --batch 32 --threads 1 --epochs 2 "

START_TEST(every_csv_reads_with_pandas)
{
    mutau("data synth syn --format idx --train 128 --test 32 --classes 4 --size 16x16");
    mutau("train --out out/plain --progress quiet " TINY);
    mutau("train --out out/delay --progress quiet --workers 2 --mode delay " TINY);
    mutau("train --help");
    char path[600];
    snprintf(path, sizeof path, "%s/out.txt", tmpdir);
    char *help = file_read_checked(path, NULL);
    int log_every = strstr(help, "--log-every") != NULL;
    free(help);
    if (log_every)
        mutau("train --out out/steps --progress quiet --workers 2 --mode delay --log-every 1 " TINY);
    /* The method axis and momentum auto: a method column, auto's empty momentum. */
    mutau("sweep --out out/sweep --mode delay --momentum 0.5,auto --method msgd,dana --progress "
          "quiet " TINY);
    mutau("pca --runs 2 --iters 400 --delays 0,5 --momentum 0.7,0.9 --checkpoints 4 --runs-csv "
          "--progress quiet --threads 1 --method msgd,staleness-lr --out out/pca");
    static char out[65536];
    int rc = check_csv("", "out", out, sizeof out);
    ck_assert_msg(rc == 0, "csv_check.py exited %d:\n%s", rc, out);
    static const char *const seen[] = {"plain/log.csv", "delay/log.csv", "sweep/results.csv",
                                       "sweep/w1_mu0.5_r1/log.csv",
                                       "sweep/w1_muauto_dana_r1/log.csv", "pca/methods.csv",
                                       "pca/msgd/results.csv", "pca/msgd/runs.csv",
                                       "pca/staleness-lr/trace.csv"};
    for (size_t i = 0; i < sizeof seen / sizeof seen[0]; i++)
        ck_assert_msg(strstr(out, seen[i]), "%s was not checked:\n%s", seen[i], out);
    if (log_every)
        ck_assert_msg(strstr(out, "steps/steps.csv"), "steps.csv was not checked:\n%s", out);
}
END_TEST

/* The checker can fail: a column of text where a number is documented, a
 * CSV it does not know, and pandas missing (python -S: no dist-packages). */
START_TEST(the_check_fails_loudly)
{
    static char out[8192];
    mutau("data synth syn --format idx --train 64 --test 32 --classes 4 --size 16x16");
    mutau("train --out bad --progress quiet " TINY);
    char path[600];
    snprintf(path, sizeof path, "%s/bad/log.csv", tmpdir);
    char *log = file_read_checked(path, NULL);
    char *row = strchr(log, '\n') + 1;
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "%.*sone,%s", (int)(row - log), log, strchr(row, ',') + 1);
    fclose(f);
    free(log);
    ck_assert_int_eq(check_csv("", "bad", out, sizeof out), 1);
    ck_assert_msg(strstr(out, "log.csv: epoch: an integer column") ||
                      strstr(out, "log.csv: epoch: a number column"),
                  "%s", out);
    snprintf(path, sizeof path, "%s/bad/log.csv", tmpdir);
    unlink(path);
    snprintf(path, sizeof path, "%s/bad/other.csv", tmpdir);
    f = fopen(path, "w");
    fputs("a,b\n1,2\n", f);
    fclose(f);
    ck_assert_int_eq(check_csv("", "bad", out, sizeof out), 1);
    ck_assert_msg(strstr(out, "other.csv: a CSV this check does not know"), "%s", out);
    ck_assert_int_eq(check_csv("-S", "bad", out, sizeof out), 1);
    ck_assert_msg(strstr(out, "pandas is not installed") && strstr(out, "python3-pandas"), "%s",
                  out);
}
END_TEST

static Suite *csv_suite(void)
{
    Suite *s = suite_create("csv");
    TCase *tc = tcase_create("pandas");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, every_csv_reads_with_pandas);
    tcase_add_test(tc, the_check_fails_loudly);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(csv_suite)
