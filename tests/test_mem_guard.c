/* test_mem_guard.c: the memory check of multi-worker runs.
 *   - trainer/mem_guard.h's arithmetic against sums worked by hand (async,
 *     sync, delay), the boundary where a run just fits, the most workers
 *     that fit, and its one-line messages word for word;
 *   - `mutau train` end to end on a tiny dataset ($MUTAU): refused with exit
 *     2 and one line when MUTAU_MEM_AVAILABLE makes memory look tiny (async
 *     workers, and a delay ring of 100001 versions), nothing written; the
 *     same run goes ahead with --ignore-memory; a bad MUTAU_MEM_AVAILABLE is
 *     exit 2 naming it; a run that fits records its estimate next to its
 *     peak in final.json, and the two agree; final.json says whether the
 *     training net recomputes activations (MUTAU_RECOMPUTE_ALLOWANCE);
 *   - `mutau sweep`: cells side by side against the memory (sweep/estimate.h)
 *     worked by hand; a dry run prints the trial's peak, runs fewer cells at
 *     a time when they do not fit, warns when --jobs or one cell alone does
 *     not fit, and a trial refused for memory stops the sweep with train's
 *     line (exit 2); a trained cell's line and final.json give its peak.
 */
#include "core/status.h"
#include "ps/ps.h"
#include "sweep/estimate.h"
#include "tests/check_main.h"
#include "tests/tiny_data.h"
#include "tests/tool_run.h"
#include "trainer/mem_guard.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 1000 parameters, 100 state floats, a 100 MB network, 1 MB of batch
 * buffers per worker, 500 MB held. */
static mt_mem_need need(int mode, int workers)
{
    return (mt_mem_need){.model = "resnet20",
                         .batch = 128,
                         .mode = mode,
                         .workers = workers,
                         .params = 1000,
                         .state = 100,
                         .net_bytes = 100000000,
                         .worker_bytes = 1000000,
                         .held = 500000000};
}

START_TEST(async_arithmetic)
{
    mt_mem_need m = need(MT_PS_ASYNC, 4);
    /* server (2 x 1000 + 100) x 4 = 8400; each network 100 MB + 1/16 for its
     * first step; per worker the state as pulled (100 x 4 = 400: theta and
     * the gradient live in the network) and its 1 MB; worker 0's network is
     * held already but for its first step. */
    ck_assert_uint_eq(mt_mem_need_extra(&m, 4),
                      8400 + 6250000 + 3 * 106250000 + 4 * (400 + 1000000));
    ck_assert_uint_eq(mt_mem_need_extra(&m, 4), 329010000);
    ck_assert_uint_eq(mt_mem_need_extra(&m, 3), 221759600);
    ck_assert_uint_eq(mt_mem_need_extra(&m, 1), 7258800);
    ck_assert_uint_eq(mt_mem_need_per_worker(&m), 107250400);

    /* Just fits, one byte short. */
    m.budget = 500000000 + 329010000;
    ck_assert_int_eq(mt_mem_need_check(&m), MT_OK);
    ck_assert_int_eq(mt_mem_need_max_workers(&m), 4);
    m.budget = 500000000 + 329009999;
    ck_assert_int_eq(mt_mem_need_check(&m), MT_ERR_ARG);
    ck_assert_int_eq(mt_mem_need_max_workers(&m), 3);

    m.budget = 800000000;
    ck_assert_int_eq(mt_mem_need_check(&m), MT_ERR_ARG);
    /* need 500 MB + 329.01 MB; 4 copies of 107.2504 MB leave 400.0084 MB. */
    ck_assert_str_eq(mt_errmsg(),
                     "--workers 4: 4 copies of resnet20 at batch 128 need about 829 MB (107 MB "
                     "a copy, 400 MB for the data, the evaluation network and the server), "
                     "800 MB is available; use fewer --workers (at most 3 fit), a smaller "
                     "--batch, or --mode delay (one network, tau = 3); --ignore-memory tries "
                     "anyway");
    /* Not even two fit: no advice about fewer workers. */
    m.budget = 550000000;
    ck_assert_int_eq(mt_mem_need_max_workers(&m), 1);
    ck_assert_int_eq(mt_mem_need_check(&m), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "; use a smaller --batch, or --mode delay") &&
                      !strstr(mt_errmsg(), "fewer --workers"),
                  "%s", mt_errmsg());
    m.budget = 500001000;
    ck_assert_int_eq(mt_mem_need_max_workers(&m), 0);
}
END_TEST

START_TEST(sync_arithmetic)
{
    mt_mem_need m = need(MT_PS_SYNC, 4);
    /* per worker its 1 MB (the pushed gradients are the networks' own); the
     * averaged gradient and state (1100 x 4 = 4400). */
    ck_assert_uint_eq(mt_mem_need_extra(&m, 4),
                      8400 + 6250000 + 3 * 106250000 + 4 * 1000000 + 4400);
    ck_assert_uint_eq(mt_mem_need_per_worker(&m), 107250000);
    /* One sync worker has no averages. */
    ck_assert_uint_eq(mt_mem_need_extra(&m, 1), 8400 + 6250000 + 1000000);
    m.budget = 800000000;
    ck_assert_int_eq(mt_mem_need_check(&m), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "use fewer --workers (at most 3 fit) or a smaller "
                                      "--batch; --ignore-memory tries anyway") &&
                      !strstr(mt_errmsg(), "--mode delay"),
                  "%s", mt_errmsg());
}
END_TEST

START_TEST(delay_arithmetic)
{
    mt_mem_need m = need(MT_PS_DELAY, 8);
    m.delay = 7;
    m.ring_versions = 8;
    /* No further network; one worker's batch buffers and the ring of
     * 8 x 1000 floats. */
    ck_assert_uint_eq(mt_mem_need_extra(&m, 8), 8400 + 6250000 + 1000000 + 32000);
    ck_assert_uint_eq(mt_mem_need_per_worker(&m), 0);
    /* A delay of 0 keeps no ring. */
    m.ring_versions = 1;
    ck_assert_uint_eq(mt_mem_need_extra(&m, 8), 8400 + 6250000 + 1000000);

    /* 4 MB of parameters, a fixed delay of 3000: 3001 versions, 12.004 GB. */
    m.params = 1000000;
    m.state = 0;
    m.delay = 3000;
    m.ring_versions = 3001;
    m.held = 1000000000;
    m.budget = 5000000000;
    ck_assert_uint_eq(mt_mem_need_extra(&m, 8),
                      UINT64_C(8000000) + 6250000 + 1000000 + UINT64_C(12004000000));
    ck_assert_int_eq(mt_mem_need_check(&m), MT_ERR_ARG);
    ck_assert_str_eq(mt_errmsg(),
                     "--workers 8: delay mode keeps the last 3001 versions of resnet20's "
                     "parameters (4.0 MB each, 12.0 GB in all); the run needs about 13.0 GB, "
                     "5.0 GB is available; use fewer --workers or a --delay; --ignore-memory "
                     "tries anyway");
    m.delay_given = 1;
    ck_assert_int_eq(mt_mem_need_check(&m), MT_ERR_ARG);
    ck_assert_msg(strncmp(mt_errmsg(), "--delay 3000: ", 14) == 0 &&
                      strstr(mt_errmsg(), "use a smaller --delay;"),
                  "%s", mt_errmsg());
    ck_assert_int_eq(mt_mem_need_max_workers(&m), 0);
    m.budget = UINT64_C(20000000000);
    ck_assert_int_eq(mt_mem_need_check(&m), MT_OK);
}
END_TEST

/* ---- mutau train end to end ------------------------------------------------------ */

static char root[256];

static void setup(void)
{
    tmp_dir_make(root, sizeof root, "mem_guard");
    char data[300];
    snprintf(data, sizeof data, "%s/data", root);
    tiny_data_write(data);
}

static void teardown(void) { ck_assert_int_eq(tmp_dir_remove(root), 0); }

#define TINY_FLAGS "--data data --model resnet8 --width 16 --batch 32 --epochs 1 " \
                   "--lr 0.05 --schedule cosine --threads 1 --eval-batch 32 "
#define TINY TINY_FLAGS "--progress quiet "

/* `mutau ARGS` in root with MUTAU_MEM_AVAILABLE=mem (NULL: unset); the
 * exit code, stderr in err. */
static int train_env(const char *mem, const char *args, char *err, size_t cap)
{
    if (mem)
        ck_assert_int_eq(setenv("MUTAU_MEM_AVAILABLE", mem, 1), 0);
    else
        ck_assert_int_eq(unsetenv("MUTAU_MEM_AVAILABLE"), 0);
    return tool_sh(root, args, err, cap);
}

/* `mutau train TINY ARGS`, as train_env. */
static int train(const char *mem, const char *args, char *err, size_t cap)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "train " TINY "%s", args);
    return train_env(mem, cmd, err, cap);
}

static const char *in_root(const char *rel)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    return p;
}

static int lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static int exists(const char *rel) { return access(in_root(rel), F_OK) == 0; }

START_TEST(train_refused)
{
    char err[2048];
    int rc = train("1M", "--workers 2 --oversubscribe --out a", err, sizeof err);
    ck_assert_msg(rc == 2, "exit %d: %s", rc, err);
    ck_assert_msg(lines(err) == 1, "not one line: %s", err);
    ck_assert_msg(strstr(err, "mutau train: --workers 2: 2 copies of resnet8 at batch 32 need "
                              "about ") &&
                      strstr(err, "1.0 MB is available; use a smaller --batch, or --mode delay "
                                  "(one network, tau = 1); --ignore-memory tries anyway"),
                  "%s", err);
    ck_assert_msg(!exists("a"), "a refused run made its directory");

    /* Delay mode: one network, but a ring of 100001 parameter versions. */
    rc = train("4G", "--workers 2 --mode delay --delay 100000 --out b", err, sizeof err);
    ck_assert_msg(rc == 2, "exit %d: %s", rc, err);
    ck_assert_msg(lines(err) == 1 &&
                      strstr(err, "mutau train: --delay 100000: delay mode keeps the last "
                                  "100001 versions of resnet8's parameters") &&
                      strstr(err, "4.0 GB is available; use a smaller --delay"),
                  "%s", err);
    ck_assert(!exists("b"));

    rc = train("plenty", "--workers 2 --oversubscribe --out c", err, sizeof err);
    ck_assert_msg(rc == 2 && strstr(err, "MUTAU_MEM_AVAILABLE: 'plenty' is not a size"),
                  "exit %d: %s", rc, err);
}
END_TEST

START_TEST(train_ignore_memory)
{
    char err[2048];
    int rc = train("1M", "--workers 2 --oversubscribe --ignore-memory --out a", err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    json_t *fin = json_read_checked(in_root("a/final.json"));
    ck_assert_str_eq(json_string_value(json_object_get(fin, "status")), "completed");
    json_t *mem = json_object_get(json_object_get(fin, "ps"), "memory");
    ck_assert_msg(json_is_null(json_object_get(mem, "available_bytes")),
                  "an unchecked run records no budget");
    ck_assert(json_is_true(json_object_get(json_object_get(fin, "ps"), "ignore_memory")));
    json_decref(fin);
}
END_TEST

START_TEST(train_estimate_matches_peak)
{
    char err[2048];
    int rc = train(NULL, "--workers 2 --oversubscribe --out a", err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    json_t *fin = json_read_checked(in_root("a/final.json"));
    json_t *mem = json_object_get(json_object_get(fin, "ps"), "memory");
    double est = json_number_value(json_object_get(mem, "estimate_bytes"));
    double net = json_number_value(json_object_get(mem, "network_bytes"));
    double peak = json_number_value(json_object_get(fin, "peak_rss_bytes"));
    ck_assert_msg(net > 0 && est > net && peak > 0, "network %g, estimate %g, peak %g", net, est,
                  peak);
    ck_assert_msg(json_is_integer(json_object_get(mem, "available_bytes")), "no budget recorded");
    /* The estimate counts what the run will hold; the peak is what it held.
     * Thread stacks and allocator slack come on top, so it may be somewhat
     * below the peak, and it should not be far above. */
    ck_assert_msg(est > 0.7 * peak && est < 1.5 * peak, "estimate %.1f MB, peak %.1f MB",
                  est / 1e6, peak / 1e6);
    json_decref(fin);
}
END_TEST

/* final.json says whether the training net recomputes activations for
 * backward (nn/net.h): the tiny net keeps them under the default allowance
 * and recomputes them with MUTAU_RECOMPUTE_ALLOWANCE=0, which saves memory. */
START_TEST(train_reports_recomputation)
{
    char err[2048];
    const char *out[2] = {"k/final.json", "r/final.json"};
    double saves[2];
    for (int k = 0; k < 2; k++) {
        if (k)
            ck_assert_int_eq(setenv("MUTAU_RECOMPUTE_ALLOWANCE", "0", 1), 0);
        else
            ck_assert_int_eq(unsetenv("MUTAU_RECOMPUTE_ALLOWANCE"), 0);
        int rc = train(NULL, k ? "--out r" : "--out k", err, sizeof err);
        ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
        json_t *fin = json_read_checked(in_root(out[k]));
        json_t *mem = json_object_get(fin, "memory");
        json_t *re = json_object_get(mem, "train_net_recomputes");
        ck_assert_msg(json_is_boolean(re) && json_is_true(re) == k, "%s: recomputes %s", out[k],
                      json_is_true(re) ? "true" : "not true");
        saves[k] = json_number_value(json_object_get(mem, "train_net_recompute_saves_bytes"));
        json_decref(fin);
    }
    unsetenv("MUTAU_RECOMPUTE_ALLOWANCE");
    ck_assert_msg(saves[0] > 0 && saves[0] == saves[1], "saves %g and %g bytes", saves[0],
                  saves[1]);
}
END_TEST

/* ---- mutau sweep ------------------------------------------------------------- */

START_TEST(sweep_jobs_arithmetic)
{
    /* 1.4 GB cells in 5 GB: 3 fit; never fewer than one, never more than asked. */
    ck_assert_int_eq(mt_sweep_jobs_fitting(1400000000, 5000000000, 8), 3);
    ck_assert_int_eq(mt_sweep_jobs_fitting(1400000000, 5000000000, 2), 2);
    ck_assert_int_eq(mt_sweep_jobs_fitting(1400000000, 4200000000, 8), 3);
    ck_assert_int_eq(mt_sweep_jobs_fitting(1400000000, 4199999999, 8), 2);
    ck_assert_int_eq(mt_sweep_jobs_fitting(1400000000, 1000, 8), 1);
    ck_assert_int_eq(mt_sweep_jobs_fitting(0, 1000, 8), 8); /* unknown peak */
    char line[256];
    mt_sweep_memory_line(line, sizeof line, 1400000000, 3, 21900000000);
    ck_assert_str_eq(line, "memory: a cell peaked at 1.4 GB in the trial; 3 side by side need "
                           "about 4.2 GB, 21.9 GB is available");
    mt_sweep_memory_line(line, sizeof line, 1400000000, 1, 21900000000);
    ck_assert_str_eq(line, "memory: a cell peaked at 1.4 GB in the trial, 21.9 GB is available");
}
END_TEST

#define SWEEP "sweep --dry-run --out sw --momentum 0.5 " TINY_FLAGS

START_TEST(sweep_memory)
{
    char err[2048];
    /* A dry run: the trial's peak against the machine's memory, per worker count. */
    int rc = train_env(NULL, SWEEP, err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    char *out = file_read_checked(in_root("out.txt"), NULL);
    ck_assert_msg(strstr(out, "cells side by side that fit") && strstr(out, " available"),
                  "%s", out);
    free(out);
    rc = train_env("1M", SWEEP, err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    out = file_read_checked(in_root("out.txt"), NULL);
    ck_assert_msg(strstr(out, "0: does not fit in 1.0 MB"), "%s", out);
    free(out);
    /* Single-process cells trained: the trial's peak against the memory. */
    rc = train_env(NULL, "sweep --out sw0 --momentum 0.5 " TINY_FLAGS, err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    out = file_read_checked(in_root("out.txt"), NULL);
    ck_assert_msg(strstr(out, "memory: a cell peaked at ") && strstr(out, " is available\n"),
                  "%s", out);
    int two = strstr(out, "; 2 side by side,") != NULL;
    free(out);
    /* 1 MB: one cell alone does not fit; the sweep's own choice of jobs
     * comes down to one at a time (with two cores or more). */
    rc = train_env("1M", "sweep --out sw2 --momentum 0.5 " TINY_FLAGS, err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    out = file_read_checked(in_root("out.txt"), NULL);
    ck_assert_msg(!two || strstr(out, "2 side by side need about "), "%s", out);
    ck_assert_msg(!two || strstr(out, "1.0 MB is available: 1 at a time\n"), "%s", out);
    ck_assert_msg(strstr(err, "mutau sweep: warning: one cell alone peaked at ") &&
                      strstr(err, "only 1.0 MB is available"),
                  "%s", err);
    free(out);
    /* Trained for real: each finished cell's line gives its peak, and its
     * final.json keeps it. */
    rc = train_env(NULL, "sweep --out sw1 --momentum 0.5 " TINY_FLAGS, err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_msg(strstr(err, "w1_mu0.5_r1: completed, test top-1 ") &&
                      strstr(err, " s CPU, peak "),
                  "%s", err);
    json_t *fin = json_read_checked(in_root("sw1/w1_mu0.5_r1/final.json"));
    ck_assert_msg(json_integer_value(json_object_get(fin, "peak_rss_bytes")) > (1 << 20),
                  "no peak_rss_bytes in the cell's final.json");
    json_decref(fin);
    /* Cells of 2 workers: a dry run says they do not fit... */
    rc = train_env("1M", SWEEP "--workers 1,2 --oversubscribe", err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    out = file_read_checked(in_root("out.txt"), NULL);
    ck_assert_msg(strstr(out, "\n        2 ") && strstr(out, "0: does not fit in 1.0 MB"), "%s", out);
    free(out);
    /* ... and the sweep's trial at 2 workers is refused by mutau train. */
    rc = train_env("1M", "sweep --out sw3 --momentum 0.5 " TINY_FLAGS "--workers 1,2 --oversubscribe",
                   err, sizeof err);
    ck_assert_msg(rc == 2, "exit %d: %s", rc, err);
    ck_assert_msg(strstr(err, "mutau sweep: the cells' settings do not train (trial run of "
                              "w2_mu0.5_r1: exit 2): mutau train: --workers 2: 2 copies of "
                              "resnet8"),
                  "%s", err);
}
END_TEST

static Suite *mem_guard_suite(void)
{
    Suite *s = suite_create("mem_guard");
    TCase *tc = tcase_create("arithmetic");
    tcase_add_test(tc, async_arithmetic);
    tcase_add_test(tc, sync_arithmetic);
    tcase_add_test(tc, delay_arithmetic);
    suite_add_tcase(s, tc);
    tc = tcase_create("train");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, train_refused);
    tcase_add_test(tc, train_ignore_memory);
    tcase_add_test(tc, train_estimate_matches_peak);
    tcase_add_test(tc, train_reports_recomputation);
    tcase_add_test(tc, sweep_memory);
    suite_add_tcase(s, tc);
    tc = tcase_create("sweep");
    tcase_add_test(tc, sweep_jobs_arithmetic);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(mem_guard_suite)
