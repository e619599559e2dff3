/* test_kill_resume.c: tests/kill_resume.sh in the suite: `mutau train`
 * killed with SIGKILL at random moments (half of them inside a checkpoint
 * write) and resumed after each, three times in a row, single-process and in
 * delay mode, ends with the uninterrupted run's log.csv and final.json. By
 * hand, with many kills: MUTAU=build/mutau tests/kill_resume.sh -n 50. */
#include "tests/check_main.h"
#include "tests/tool_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

START_TEST(sigkill_and_resume_ends_as_the_uninterrupted_run)
{
    tool_path(); /* MUTAU must be set: the script runs it */
    const char *seed = getenv("MUTAU_KILL_SEED");
    char cmd[256];
    snprintf(cmd, sizeof cmd, "sh tests/kill_resume.sh -n 3 -s %s 2>&1", seed ? seed : "1");
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char out[8192] = "";
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "kill_resume.sh failed:\n%s", out);
    ck_assert_msg(strstr(out, "single:") && strstr(out, "delay:"), "both modes ran:\n%s", out);
}
END_TEST

static Suite *kill_resume_suite(void)
{
    Suite *s = suite_create("kill_resume");
    TCase *tc = tcase_create("sigkill");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, sigkill_and_resume_ends_as_the_uninterrupted_run);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(kill_resume_suite)
