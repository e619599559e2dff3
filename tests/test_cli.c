/* test_cli.c: what every `mutau` subcommand shares, end to end (the built
 * tool, from $MUTAU):
 *   - flags by their exact names only: a prefix or a typo exits 2 with one
 *     line "mutau CMD: unknown flag --X; did you mean --Y?" (getopt_long
 *     alone took `--mom abc` as --momentum);
 *   - a flag without its value, or a value for a flag that takes none, is one
 *     line naming the flag;
 *   - the same names everywhere: --progress auto|bar|plain|quiet, and -h
 *     listed in every --help and working;
 *   - `mutau --version` and `mutau version`;
 *   - one documented momentum range, [0, 0.9999], in train, sweep and pca.
 */
#include "tests/check_main.h"
#include "tests/tool_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmpdir[256];

static void setup(void) { tmp_dir_make(tmpdir, sizeof tmpdir, "cli"); }

static void teardown(void) { tmp_dir_remove(tmpdir); }

static char err[8192];

static int run(const char *args) { return tool_sh(tmpdir, args, err, sizeof err); }

static char *out_text(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/out.txt", tmpdir);
    return file_read_checked(p, NULL);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* `args` exits 2 and stderr is exactly the one line `line`. */
static void expect_one_line(const char *args, const char *line)
{
    int rc = run(args);
    ck_assert_msg(rc == 2, "'%s' exited %d: %s", args, rc, err);
    char want[512];
    snprintf(want, sizeof want, "%s\n", line);
    ck_assert_msg(strcmp(err, want) == 0, "'%s': stderr\n%s\nexpected\n%s", args, err, want);
}

START_TEST(prefixes_and_typos_are_refused_with_a_suggestion)
{
    expect_one_line("train --mom abc", "mutau train: unknown flag --mom; did you mean --momentum?");
    expect_one_line("train --momentun 0.5",
                    "mutau train: unknown flag --momentun; did you mean --momentum?");
    expect_one_line("train --frobnicate", "mutau train: unknown flag --frobnicate (see mutau train --help)");
    expect_one_line("train -x", "mutau train: unknown flag -x (see mutau train --help)");
    expect_one_line("sweep --mom 0.5", "mutau sweep: unknown flag --mom; did you mean --momentum?");
    /* The sweep knows train's flags too: a typo of one is caught before any cell. */
    expect_one_line("sweep --out s --epoch 2",
                    "mutau sweep: unknown flag --epoch; did you mean --epochs?");
    expect_one_line("pca --no-progress", "mutau pca: unknown flag --no-progress; did you mean --progress?");
    expect_one_line("pca --iter 10", "mutau pca: unknown flag --iter; did you mean --iters?");
    expect_one_line("report --quiet sw", "mutau report: unknown flag --quiet (see mutau report --help)");
    expect_one_line("bench --thread 1", "mutau bench: unknown flag --thread; did you mean --threads?");
    expect_one_line("info --verbose", "mutau info: unknown flag --verbose (see mutau info --help)");
    expect_one_line("data synth x --formt idx",
                    "mutau data synth: unknown flag --formt; did you mean --format?");
    expect_one_line("data fetch cifar10 --quiet",
                    "mutau data fetch: unknown flag --quiet (see mutau data fetch --help)");
    expect_one_line("version --short", "mutau version: unknown flag --short (see mutau version --help)");
}
END_TEST

START_TEST(values_where_flags_need_them)
{
    expect_one_line("train --momentum", "mutau train: --momentum: expected a value");
    expect_one_line("train --nesterov=yes", "mutau train: --nesterov takes no value, got '--nesterov=yes'");
    expect_one_line("sweep --jobs", "mutau sweep: --jobs: expected a value");
    expect_one_line("pca --runs", "mutau pca: --runs: expected a value");
    /* --name=value is the same as --name value. */
    expect_one_line("train --momentum=2", "mutau train: --momentum: expected a number in [0, 0.9999], got '2'");
}
END_TEST

START_TEST(one_momentum_range_everywhere)
{
    expect_one_line("train --momentum 1", "mutau train: --momentum: expected a number in [0, 0.9999], got '1'");
    expect_one_line("sweep --momentum 0.5,1",
                    "mutau sweep: --momentum: expected a number in [0, 0.9999], got '1'");
    expect_one_line("pca --momentum 0.99999",
                    "mutau pca: --momentum: expected a number in [0, 0.9999], got '0.99999'");
}
END_TEST

START_TEST(every_help_lists_h_and_progress)
{
    static const char *const cmds[] = {"train", "sweep", "report", "pca", "data", "data fetch",
                                       "data info", "data synth", "bench", "info", "version"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char args[64];
        snprintf(args, sizeof args, "%s -h", cmds[i]);
        int rc = run(args);
        ck_assert_msg(rc == 0, "'%s' exited %d: %s", args, rc, err);
        char *h = out_text();
        snprintf(args, sizeof args, "%s --help", cmds[i]);
        ck_assert_int_eq(run(args), 0);
        char *h2 = out_text();
        ck_assert_msg(strcmp(h, h2) == 0, "%s: -h and --help differ", cmds[i]);
        ck_assert_msg(strstr(h, "-h, --help") || strstr(h, "-h | --help"),
                      "%s --help does not list -h:\n%s", cmds[i], h);
        free(h);
        free(h2);
    }
    /* One name for progress output in every command that shows any. */
    static const char *const progress[] = {"train", "sweep", "report", "pca", "data fetch"};
    for (size_t i = 0; i < sizeof progress / sizeof progress[0]; i++) {
        char args[64];
        snprintf(args, sizeof args, "%s --help", progress[i]);
        ck_assert_int_eq(run(args), 0);
        char *h = out_text();
        ck_assert_msg(strstr(h, "--progress") && strstr(h, "auto|bar|plain|quiet"),
                      "%s --help lacks --progress auto|bar|plain|quiet:\n%s", progress[i], h);
        free(h);
        snprintf(args, sizeof args, "%s --progress loud", progress[i]);
        int rc = run(args);
        ck_assert_msg(rc == 2 && strstr(err, "--progress: expected one of auto|bar|plain|quiet") &&
                          count_lines(err) == 1,
                      "'%s' exited %d: %s", args, rc, err);
    }
    /* --threads and --seed where a command has them. */
    static const char *const threads[] = {"train", "sweep", "pca", "bench"};
    for (size_t i = 0; i < sizeof threads / sizeof threads[0]; i++) {
        char args[64];
        snprintf(args, sizeof args, "%s --help", threads[i]);
        ck_assert_int_eq(run(args), 0);
        char *h = out_text();
        ck_assert_msg(strstr(h, "--threads "), "%s --help lacks --threads", threads[i]);
        free(h);
    }
}
END_TEST

START_TEST(version)
{
    ck_assert_int_eq(run("--version"), 0);
    char *a = out_text();
    ck_assert_int_eq(run("version"), 0);
    char *b = out_text();
    ck_assert_str_eq(a, b);
    ck_assert_msg(strncmp(a, "mutau 0.", 8) == 0 && strstr(a, "(revision ") &&
                      strstr(a, "\noneDNN 2.") && strstr(a, "\nOpenBLAS "),
                  "%s", a);
    ck_assert_int_eq(count_lines(a), 3);
    free(a);
    free(b);
    ck_assert_int_eq(run("--help"), 0);
    char *h = out_text();
    ck_assert_msg(strstr(h, "[-h | --help]") && strstr(h, "mutau --version"), "%s", h);
    static const char *const cmds[] = {"train", "sweep", "report", "pca", "data", "bench", "info",
                                       "version"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char row[32];
        snprintf(row, sizeof row, "\n  %s ", cmds[i]);
        ck_assert_msg(strstr(h, row), "mutau --help does not list %s:\n%s", cmds[i], h);
    }
    free(h);
    expect_one_line("frobnicate", "mutau: unknown command 'frobnicate' (see mutau --help)");
}
END_TEST

/* --model and --width name the network for timing as they do for --memory
 * and in train: one step of a narrow SphereResNet-8 is timed and reported
 * under its name. */
START_TEST(bench_times_the_model_named)
{
    int rc = run("bench --model sphere-resnet-8 --width 16 --threads 1 --batch 4 --steps 1 "
                 "--warmup 0 --classes 10");
    ck_assert_msg(rc == 0, "bench --model exited %d: %s", rc, err);
    char *o = out_text();
    const char *line = strstr(o, "\nbench model=sphere-resnet-8 width=16 threads=1 images_per_s=");
    ck_assert_msg(line && strstr(line, " mean_images_per_s=") && count_lines(o) == 2, "%s", o);
    free(o);
    expect_one_line("bench --model resnet20 --depth 32",
                    "mutau bench: --model and --depth both name the timed network: give one");
    expect_one_line("bench --model sphere-resnet-7 --steps 1",
                    "mutau bench: --model: sphere-resnet-7: SphereResNet depth must be 6k+2 >= 8 "
                    "(20, 32, 44, ...)");
}
END_TEST

static Suite *cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("flags");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, prefixes_and_typos_are_refused_with_a_suggestion);
    tcase_add_test(tc, values_where_flags_need_them);
    tcase_add_test(tc, one_momentum_range_everywhere);
    tcase_add_test(tc, every_help_lists_h_and_progress);
    tcase_add_test(tc, version);
    tcase_add_test(tc, bench_times_the_model_named);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(cli_suite)
