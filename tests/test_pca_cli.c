/* test_pca_cli.c: `mutau pca` end to end (the built tool, from $MUTAU): a
 * small grid writes every file with the right shape, the results do not
 * depend on --threads, and bad input exits 2 with a line naming the flag or
 * the file.
 */
#include "tests/check_main.h"
#include "tests/png_check.h"
#include "tests/tool_run.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[256];

static void setup(void) { tmp_dir_make(tmpdir, sizeof tmpdir, "pca-cli"); }

static void teardown(void) { tmp_dir_remove(tmpdir); }

/* Runs `mutau pca ARGS` with stdout and stderr in files of tmpdir; returns
 * the exit status, and the stderr text in err (may be NULL). */
static int run_pca(const char *args, char *err, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "pca %s", args);
    return tool_sh(tmpdir, cmd, err, cap);
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long n = 0;
    int c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

START_TEST(small_grid_writes_every_file)
{
    char args[1024], path[600];
    snprintf(args, sizeof args,
             "--runs 4 --iters 3000 --delays 0:20:10 --momentum 0.7,0.9 --checkpoints 10 --runs-csv "
             "--progress quiet --threads %d --out '%s/a'",
             getenv("MUTAU_TSAN") ? 1 : 2, tmpdir);
    ck_assert_int_eq(run_pca(args, NULL, 0), 0);
    snprintf(path, sizeof path, "%s/a/results.csv", tmpdir);
    ck_assert_int_eq(count_lines(path), 1 + 2 * 3);
    snprintf(path, sizeof path, "%s/a/runs.csv", tmpdir);
    ck_assert_int_eq(count_lines(path), 1 + 2 * 3 * 4);
    snprintf(path, sizeof path, "%s/a/trace.csv", tmpdir);
    ck_assert_int_eq(count_lines(path), 1 + 2 * 3 * 10);

    snprintf(path, sizeof path, "%s/a/summary.json", tmpdir);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    ck_assert_msg(j != NULL, "summary.json: %s", jerr.text);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "settings"), "runs")), 4);
    json_t *opt = json_object_get(j, "optimal_delay");
    ck_assert_int_eq(json_array_size(opt), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(opt, 0), "paper")), 120);
    ck_assert_int_eq(json_array_size(json_object_get(j, "cells")), 6);
    json_decref(j);

    const char *figs[4] = {"figure1.png", "convergence.png", "optimal_delay.png", "heatmap.png"};
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s/a/%s", tmpdir, figs[k]);
        png_rgb p;
        ck_assert_msg(png_rgb_read(path, &p) == 0, "%s is not a PNG", figs[k]);
        ck_assert_int_eq(p.width, k < 3 ? 1000 : 1200);
        ck_assert_int_eq(p.height, k < 3 ? 640 : 60 * 2 + 240);
        free(p.rgb);
    }
    snprintf(path, sizeof path, "%s/out.txt", tmpdir);
    char *out = file_read(path, NULL);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(strstr(out, "optimal tau"));
    free(out);
}
END_TEST

START_TEST(results_do_not_depend_on_threads)
{
    char args[1024], a[600], b[600];
    const char *common = "--runs 3 --iters 1500 --delays 0,15 --momentum 0.8 --delay-dist uniform "
                         "--data bounded --progress quiet --checkpoints 0 --seed 4";
    snprintf(args, sizeof args, "%s --threads 1 --out '%s/t1'", common, tmpdir);
    ck_assert_int_eq(run_pca(args, NULL, 0), 0);
    /* Under ThreadSanitizer OpenMP's barriers are invisible: one thread there. */
    snprintf(args, sizeof args, "%s --threads %d --out '%s/t2'", common, getenv("MUTAU_TSAN") ? 1 : 2, tmpdir);
    ck_assert_int_eq(run_pca(args, NULL, 0), 0);
    snprintf(a, sizeof a, "%s/t1/results.csv", tmpdir);
    snprintf(b, sizeof b, "%s/t2/results.csv", tmpdir);
    char *x = file_read(a, NULL), *y = file_read(b, NULL);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    ck_assert_str_eq(x, y);
    free(x), free(y);
}
END_TEST

START_TEST(bad_input_exits_2_naming_the_flag_or_file)
{
    char err[4096], args[1024];
    struct {
        const char *args, *needle;
    } cases[] = {
        {"--momentum 0.5,1.2", "--momentum"},
        {"--delays 20:10", "--delays"},
        {"--delays 10,5", "ascending"},
        {"--delay-dist poisson", "--delay-dist"},
        {"--lr -1", "--lr"},
        {"--sigma 1,1 --runs 1", "saddle"},
        {"--sigma 4,3 --dim 3", "--dim"},
        {"--init 1,0", "--init"},
        {"--sigma-file no/such/sigma.txt", "no/such/sigma.txt"},
        {"--bogus", "bogus"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        snprintf(args, sizeof args, "%s --out '%s/bad'", cases[k].args, tmpdir);
        int st = run_pca(args, err, sizeof err);
        ck_assert_msg(st == 2, "'%s' exited %d, expected 2", cases[k].args, st);
        ck_assert_msg(strstr(err, cases[k].needle) != NULL, "'%s': stderr '%s' does not name '%s'",
                      cases[k].args, err, cases[k].needle);
    }
    /* A covariance file that is not symmetric: the error names the file and the row. */
    char path[600];
    snprintf(path, sizeof path, "%s/sigma.txt", tmpdir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("2 1\n0.5 2\n", f);
    fclose(f);
    snprintf(args, sizeof args, "--sigma-file '%s' --out '%s/bad'", path, tmpdir);
    ck_assert_int_eq(run_pca(args, err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "sigma.txt"));
    ck_assert_ptr_nonnull(strstr(err, "row 1"));
    ck_assert_int_eq(run_pca("--help", NULL, 0), 0);
}
END_TEST

static Suite *pca_cli_suite(void)
{
    Suite *s = suite_create("pca_cli");
    TCase *tc = tcase_create("pca_cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, small_grid_writes_every_file);
    tcase_add_test(tc, results_do_not_depend_on_threads);
    tcase_add_test(tc, bad_input_exits_2_naming_the_flag_or_file);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(pca_cli_suite)
