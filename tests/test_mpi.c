/* test_mpi.c: the MPI parameter server (ps/mpi_ps.h) across processes,
 * under mpirun on localhost (oversubscribed: more ranks than cores), through
 * tests/mpi/ps_ranks.c:
 *   - sync mode with W = 2 worker ranks equals the in-process sync mode with
 *     2 workers bit for bit (theta, velocity, BN state, every epoch-end
 *     snapshot), with S = 1 and S = 2 server ranks, the latter over TCP;
 *   - async mode: every batch handed out once, every push applied, epoch ends
 *     quiescent, mean tau close to W - 1 for equal workers, S = 1 and 2;
 *   - bounded staleness, 3 worker ranks of unequal speed, S = 1 and 2 server
 *     ranks: the wait policy with bounds 0 and 1, the drop policy with 0 and
 *     1: no applied tau above the bound, the steps all applied, every batch
 *     handed out once (drop: steps + dropped of them, dropped > 0 at bound 0),
 *     and every shard measured the same staleness push for push (its
 *     histogram);
 *   - a failing worker ends the run on every rank with its status, and rank 0
 *     names the worker's rank, also under bounded staleness with 2 server
 *     ranks;
 *   - the start-up agreements name the first rank that differs or failed.
 * These tests need mpirun (Open MPI's openmpi-bin, installed by `make deps`):
 * without it they fail, saying so; they are never skipped. */
#include "tests/check_main.h"
#include "tests/mpirun_env.h"
#include "tests/tool_run.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs `mpirun -np NP [MCA] ps_ranks ARGS` and returns its exit status; its
 * output (stdout and stderr) in out[cap]. */
static int run_ranks(int np, const char *mca, const char *args, char *out, size_t cap)
{
    const char *mpirun = mpirun_env();
    char tool[4096];
    snprintf(tool, sizeof tool, "%s", tool_path());
    char *dir = dirname(tool);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "timeout 120 %s -np %d --oversubscribe %s %s/tests/mpi/ps_ranks "
             "%s 2>&1", mpirun, np, mca ? mca : "", dir, args);
    FILE *p = popen(cmd, "r");
    ck_assert_msg(p != NULL, "cannot start %s", cmd);
    size_t len = fread(out, 1, cap - 1, p);
    out[len] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The end of a run's output, short enough for a Check message. */
static const char *tail(const char *out)
{
    size_t len = strlen(out);
    return len > 1500 ? out + len - 1500 : out;
}

static unsigned long long theta_hash(const char *out)
{
    const char *h = strstr(out, "theta hash ");
    ck_assert_msg(h != NULL, "no theta hash in:\n%s", tail(out));
    return strtoull(h + strlen("theta hash "), NULL, 16);
}

START_TEST(test_mpirun_present)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s --version 2>&1 | head -n 1", mpirun_env());
    FILE *p = popen(cmd, "r");
    char v[256] = "";
    if (p) {
        if (!fgets(v, sizeof v, p))
            v[0] = '\0';
        pclose(p);
    }
    v[strcspn(v, "\n")] = '\0';
    printf("test_mpi: multi-rank tests run under %s on localhost, oversubscribed\n", v);
    fflush(stdout);
}
END_TEST

START_TEST(test_sync_equals_in_process)
{
    static char one[16384], two[16384];
    int rc = run_ranks(3, NULL, "sync 1 24 6", one, sizeof one);
    ck_assert_msg(rc == 0 && strstr(one, "ok sync W=2 S=1"), "S = 1 (exit %d):\n%s", rc, tail(one));
    rc = run_ranks(4, "--mca btl self,tcp", "sync 2 24 6", two, sizeof two);
    ck_assert_msg(rc == 0 && strstr(two, "ok sync W=2 S=2"), "S = 2 (exit %d):\n%s", rc, tail(two));
    ck_assert_msg(theta_hash(one) == theta_hash(two), "S = 2 differs from S = 1");
}
END_TEST

static void check_async(int np, int S)
{
    static char out[16384];
    char args[64];
    snprintf(args, sizeof args, "async %d 60 30 3", S);
    int rc = run_ranks(np, NULL, args, out, sizeof out);
    ck_assert_msg(rc == 0 && strstr(out, "ok async: 60 pushes"), "S = %d (exit %d):\n%s", S, rc,
                  tail(out));
    const char *t = strstr(out, "tau_mean ");
    ck_assert_msg(t != NULL, "no tau in:\n%s", tail(out));
    double tau = atof(t + strlen("tau_mean "));
    int W = np - S;
    ck_assert_msg(tau > 0.75 * (W - 1) && tau < 1.25 * (W - 1),
                  "S = %d: mean tau %.3f is not close to W - 1 = %d", S, tau, W - 1);
}

START_TEST(test_async_s1) { check_async(3, 1); }
END_TEST

START_TEST(test_async_s2) { check_async(4, 2); }
END_TEST

/* The rest of the line that starts with `prefix` in out ("" when none). */
static const char *line_after(const char *out, const char *prefix, char *buf, size_t cap)
{
    const char *p = strstr(out, prefix);
    buf[0] = '\0';
    if (p) {
        p += strlen(prefix);
        size_t n = strcspn(p, "\n");
        snprintf(buf, cap, "%.*s", (int)(n < cap - 1 ? n : cap - 1), p);
    }
    return buf;
}

/* ps_ranks POLICY over S server ranks and 3 workers (1, 2 and 3 ms a gradient). */
static void check_bounded(const char *policy, int S, int bound)
{
    static char out[16384];
    char args[64], ok[32], a[160], b[160];
    snprintf(args, sizeof args, "%s %d 60 20 1 %d", policy, S, bound);
    int rc = run_ranks(S + 3, NULL, args, out, sizeof out);
    snprintf(ok, sizeof ok, "ok %s: 60 pushes applied", policy);
    ck_assert_msg(rc == 0 && strstr(out, ok), "%s S = %d bound %d (exit %d):\n%s", policy, S,
                  bound, rc, tail(out));
    line_after(out, "shard 0 tau ", a, sizeof a);
    ck_assert_msg(a[0], "no shard 0 tau in:\n%s", tail(out));
    for (int s = 1; s < S; s++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "shard %d tau ", s);
        line_after(out, prefix, b, sizeof b);
        ck_assert_msg(strcmp(a, b) == 0, "%s bound %d: shard %d's tau (%s) is not shard 0's (%s)",
                      policy, bound, s, b, a);
    }
    if (strcmp(policy, "drop") == 0 && bound == 0)
        ck_assert_msg(!strstr(out, ", 0 dropped"), "drop at bound 0 dropped nothing:\n%s",
                      tail(out));
}

START_TEST(test_bounded_wait)
{
    check_bounded("wait", 1, 0);
    check_bounded("wait", 1, 1);
    check_bounded("wait", 2, 0);
    check_bounded("wait", 2, 1);
}
END_TEST

START_TEST(test_bounded_drop)
{
    check_bounded("drop", 1, 0);
    check_bounded("drop", 2, 0);
    check_bounded("drop", 2, 1);
}
END_TEST

START_TEST(test_worker_failure)
{
    static char out[16384];
    int rc = run_ranks(3, NULL, "fail 1 60 30", out, sizeof out);
    ck_assert_msg(rc == 0 && strstr(out, "ok fail: rank 1: worker 0, batch ") &&
                      strstr(out, ": loss is NaN at batch"),
                  "exit %d:\n%s", rc, tail(out));
    /* Bounded (wait, bound 1), 2 server ranks: the pushes waiting when the
     * worker fails are applied, every rank ends with the status. */
    rc = run_ranks(5, NULL, "fail 2 60 30 1 1", out, sizeof out);
    ck_assert_msg(rc == 0 && strstr(out, "ok fail: rank 2: worker 0, batch ") &&
                      strstr(out, ": loss is NaN at batch"),
                  "bounded: exit %d:\n%s", rc, tail(out));
}
END_TEST

START_TEST(test_agreements)
{
    static char out[16384];
    int rc = run_ranks(4, NULL, "agree 1 0 1", out, sizeof out);
    ck_assert_msg(rc == 0 && strstr(out, "ok agree"), "exit %d:\n%s", rc, tail(out));
}
END_TEST

static Suite *mpi_suite(void)
{
    Suite *s = suite_create("mpi");
    TCase *tc = tcase_create("ranks");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_mpirun_present);
    tcase_add_test(tc, test_sync_equals_in_process);
    tcase_add_test(tc, test_async_s1);
    tcase_add_test(tc, test_async_s2);
    tcase_add_test(tc, test_bounded_wait);
    tcase_add_test(tc, test_bounded_drop);
    tcase_add_test(tc, test_worker_failure);
    tcase_add_test(tc, test_agreements);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(mpi_suite)
