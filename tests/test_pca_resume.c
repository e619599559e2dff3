/* test_pca_resume.c: a streaming-PCA grid that is stopped and continued.
 *
 * The library: a grid stopped by its stop callback keeps whole cells only and,
 * continued, ends with the same bytes as an uninterrupted grid; a run polls
 * the callback; the progress file round-trips the settings and the completed
 * cells. The tool (from $MUTAU): SIGINT exits 4 within a second with
 * progress.bin and a line saying how to continue; --resume gives files
 * identical to an uninterrupted run's; --resume refuses problem flags, and a
 * truncated, corrupt or inconsistent progress.bin exits 2 naming the file and
 * the field; a new run into an unfinished directory is refused without
 * --force.
 */
#include "core/checkpoint.h"
#include "core/clock.h"
#include "core/status.h"
#include "pca/pca.h"
#include "pca/pca_ckpt.h"
#include "tests/check_main.h"
#include "tests/tool_run.h"

#include <jansson.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];

static void setup(void) { tmp_dir_make(tmpdir, sizeof tmpdir, "pca-resume"); }

static void teardown(void) { tmp_dir_remove(tmpdir); }

/* ---- the library ---- */

static mt_pca_cov paper_cov(void)
{
    mt_pca_cov c;
    const double diag[4] = {4, 3, 2, 1};
    ck_assert_int_eq(mt_pca_cov_diag(&c, diag, 4), MT_OK);
    return c;
}

static const double MUS[2] = {0.7, 0.9};
static const int TAUS[3] = {0, 8, 20};

static mt_pca_grid_cfg small_grid(const mt_pca_cov *c, const double *v0)
{
    return (mt_pca_grid_cfg){.base = {.cov = c,
                                      .lr = 0.0005,
                                      .delay_dist = MT_PCA_DELAY_UNIFORM,
                                      .data = MT_PCA_DATA_GAUSSIAN,
                                      .iters = 6000,
                                      .v0 = v0,
                                      .checkpoints = 4,
                                      .blowup = 1e6},
                             .momenta = MUS,
                             .n_mu = 2,
                             .delays = TAUS,
                             .n_tau = 3,
                             .runs = 5,
                             .seed = 7,
                             .threads = getenv("MUTAU_TSAN") ? 1 : 2};
}

/* Says stop once it has been asked `after` times. */
typedef struct {
    atomic_long calls;
    long after;
} stop_after;

static int stop_after_calls(void *ctx)
{
    stop_after *s = ctx;
    return atomic_fetch_add(&s->calls, 1) >= s->after;
}

typedef struct {
    atomic_long calls;
    long last_cell;
} cell_count;

static int count_cells(const mt_pca_grid_result *res, long cell, void *ctx)
{
    cell_count *c = ctx;
    ck_assert(res->cell_done[cell]);
    atomic_fetch_add(&c->calls, 1);
    c->last_cell = cell;
    return MT_OK;
}

static void assert_same_results(const mt_pca_grid_result *a, const mt_pca_grid_result *b)
{
    size_t n = (size_t)a->n_mu * a->n_tau * a->runs;
    ck_assert_int_eq(b->cells_done, (long)a->n_mu * a->n_tau);
    ck_assert_msg(memcmp(a->error, b->error, n * sizeof *a->error) == 0, "errors differ");
    ck_assert_msg(memcmp(a->diverged, b->diverged, n) == 0, "diverged flags differ");
    ck_assert_msg(memcmp(a->trace, b->trace, n * a->checkpoints * sizeof *a->trace) == 0, "traces differ");
}

START_TEST(stopped_grid_keeps_whole_cells_and_continues_to_the_same_bytes)
{
    mt_pca_cov c = paper_cov();
    const double v0[4] = {0, 1, 0, 0};
    mt_pca_grid_cfg g = small_grid(&c, v0);
    mt_pca_grid_result full, part;
    ck_assert_int_eq(mt_pca_grid_run(&g, &full), MT_OK);
    ck_assert_int_eq(full.cells_done, 6);

    /* Stop after some polls: runs in flight are abandoned, so only whole cells count. */
    stop_after s = {.after = 12};
    cell_count cc = {.last_cell = -1};
    g.stop = stop_after_calls;
    g.stop_ctx = &s;
    g.cell_done = count_cells;
    g.cell_ctx = &cc;
    ck_assert_int_eq(mt_pca_grid_run(&g, &part), MT_ERR_INTERRUPTED);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "cells done"));
    ck_assert_int_lt(part.cells_done, 6);
    ck_assert_int_eq(atomic_load(&cc.calls), part.cells_done);
    long flagged = 0;
    for (long k = 0; k < 6; k++) {
        flagged += part.cell_done[k];
        if (part.cell_done[k]) /* a kept cell is final: the same as in the full grid */
            ck_assert_int_eq(memcmp(part.error + k * 5, full.error + k * 5, 5 * sizeof *part.error), 0);
    }
    ck_assert_int_eq(flagged, part.cells_done);

    /* Continued without the stop: the rest, and the same bytes as uninterrupted. */
    g.stop = NULL;
    long before = part.cells_done;
    ck_assert_int_eq(mt_pca_grid_continue(&g, &part), MT_OK);
    ck_assert_int_eq(atomic_load(&cc.calls), 6);
    ck_assert_int_eq(part.cells_done - before, 6 - before);
    assert_same_results(&full, &part);
    mt_pca_grid_free(&full), mt_pca_grid_free(&part);
    mt_pca_cov_free(&c);
}
END_TEST

static int stop_now(void *ctx)
{
    (void)ctx;
    return 1;
}

static int count_polls(void *ctx)
{
    ++*(int *)ctx;
    return 0;
}

START_TEST(run_polls_the_stop_callback)
{
    mt_pca_cov c = paper_cov();
    mt_pca_grid_cfg g = small_grid(&c, NULL);
    mt_pca_run_cfg rc = g.base;
    rc.iters = 100000;
    double *work = malloc((size_t)mt_pca_run_work_size(&rc) * sizeof *work);
    mt_pca_run_result res;
    /* Polled every few thousand steps (counted, not timed: a loaded machine
     * stretches time, not the schedule)... */
    int polls = 0;
    rc.stop = count_polls;
    rc.stop_ctx = &polls;
    ck_assert_int_eq(mt_pca_run(&rc, 1, 0, work, NULL, NULL, &res), MT_OK);
    ck_assert_msg(polls >= 10, "%d polls in 100000 steps", polls);
    /* ...and a yes stops the run. */
    rc.stop = stop_now;
    ck_assert_int_eq(mt_pca_run(&rc, 1, 0, work, NULL, NULL, &res), MT_ERR_INTERRUPTED);
    free(work);
    mt_pca_cov_free(&c);
}
END_TEST

START_TEST(progress_file_round_trips_settings_and_cells)
{
    mt_pca_cov c = paper_cov();
    const double v0[4] = {0.5, 1, 0, -0.25};
    mt_pca_grid_cfg g = small_grid(&c, v0);
    g.base.delay_dist = MT_PCA_DELAY_GEOMETRIC;
    g.base.data = MT_PCA_DATA_BOUNDED;
    mt_pca_grid_result full, part;
    ck_assert_int_eq(mt_pca_grid_run(&g, &full), MT_OK);
    stop_after s = {.after = 15};
    g.stop = stop_after_calls;
    g.stop_ctx = &s;
    ck_assert_int_eq(mt_pca_grid_run(&g, &part), MT_ERR_INTERRUPTED);
    g.stop = NULL;

    char path[600];
    snprintf(path, sizeof path, "%s/%s", tmpdir, MT_PCA_CKPT_FILE);
    mt_pca_report setup = {.grid = &g, .factor = 3.5, .write_runs = 1, .sigma_text = "diag(4,3,2,1)",
                           .init_text = "given (0.5,1,0,-0.25)"};
    mt_pca_ckpt w;
    ck_assert_int_eq(mt_pca_ckpt_open(&w, path, &setup, &part), MT_OK);
    ck_assert_int_eq(mt_pca_ckpt_save(&w, &part), MT_OK);
    mt_pca_ckpt_close(&w);

    mt_pca_saved saved;
    mt_pca_grid_result back;
    ck_assert_msg(mt_pca_ckpt_load(path, &saved, &back) == MT_OK, "%s", mt_errmsg());
    const mt_pca_grid_cfg *h = &saved.grid;
    ck_assert_int_eq(h->n_mu, 2);
    ck_assert_int_eq(h->n_tau, 3);
    ck_assert_int_eq(h->runs, 5);
    ck_assert_int_eq(h->seed, 7);
    ck_assert_int_eq(h->base.iters, 6000);
    ck_assert_int_eq(h->base.checkpoints, 4);
    ck_assert_int_eq(h->base.delay_dist, MT_PCA_DELAY_GEOMETRIC);
    ck_assert_int_eq(h->base.data, MT_PCA_DATA_BOUNDED);
    ck_assert(h->base.lr == 0.0005 && h->base.blowup == 1e6);
    ck_assert(h->momenta[0] == 0.7 && h->momenta[1] == 0.9);
    ck_assert(h->delays[0] == 0 && h->delays[1] == 8 && h->delays[2] == 20);
    ck_assert_ptr_nonnull(h->base.v0);
    ck_assert_int_eq(memcmp(h->base.v0, v0, sizeof v0), 0);
    ck_assert_int_eq(saved.cov.diagonal, 1);
    ck_assert_int_eq(memcmp(saved.cov.root, c.root, 16 * sizeof *c.root), 0);
    ck_assert(saved.factor == 3.5 && saved.write_runs == 1);
    ck_assert_str_eq(saved.sigma_text, "diag(4,3,2,1)");
    ck_assert_str_eq(saved.init_text, "given (0.5,1,0,-0.25)");
    ck_assert_int_eq(back.cells_done, part.cells_done);
    ck_assert_int_eq(memcmp(back.cell_done, part.cell_done, 6), 0);

    /* Continued from the file, in a fresh result: the uninterrupted bytes. */
    saved.grid.threads = 1;
    ck_assert_int_eq(mt_pca_grid_continue(&saved.grid, &back), MT_OK);
    assert_same_results(&full, &back);
    mt_pca_grid_free(&back);
    mt_pca_saved_free(&saved);

    /* One byte changed anywhere: refused, naming the file. */
    long len;
    char *bytes = file_read_checked(path, &len);
    bytes[len / 2] ^= 0x10;
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(bytes, 1, (size_t)len, f);
    fclose(f);
    free(bytes);
    ck_assert_int_eq(mt_pca_ckpt_load(path, &saved, &back), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), MT_PCA_CKPT_FILE));
    mt_pca_grid_free(&full), mt_pca_grid_free(&part);
    mt_pca_cov_free(&c);
}
END_TEST

/* ---- the tool ---- */

/* Waits up to `limit` seconds for path to exist with more than `bytes` bytes; its size or -1. */
static long wait_for_size(const char *path, long bytes, double limit)
{
    double t0 = mt_now();
    struct stat st;
    while (mt_now() - t0 < limit) {
        if (stat(path, &st) == 0 && st.st_size > bytes)
            return (long)st.st_size;
        usleep(5000);
    }
    return -1;
}

/* A grid that runs for minutes, stopped by SIGINT as soon as it has started:
 * leaves dir/progress.bin. The latency from the signal to the exit in *latency. */
static void make_unfinished(const char *dir, double *latency)
{
    char out[600], ckpt[600];
    snprintf(out, sizeof out, "%s.log", dir);
    snprintf(ckpt, sizeof ckpt, "%s/%s", dir, MT_PCA_CKPT_FILE);
    const char *argv[] = {tool_path(), "pca", "--iters", "500000000", "--runs", "2", "--delays", "0,5",
                          "--momentum", "0.9", "--progress", "quiet", "--threads", "1", "--out", dir, NULL};
    pid_t pid = tool_spawn(out, argv);
    ck_assert_msg(wait_for_size(ckpt, 0, 20) > 0, "no %s after 20 s", ckpt);
    usleep(100000); /* inside the runs, not before them */
    double t0 = mt_now();
    kill(pid, SIGINT);
    int st = tool_wait(pid);
    if (latency)
        *latency = mt_now() - t0;
    char *text = file_read_checked(out, NULL);
    ck_assert_msg(st == 4, "SIGINT: exit %d, expected 4; output: %s", st, text);
    ck_assert_msg(strstr(text, "stopped by SIGINT") && strstr(text, "kept 0 of 2 cells") &&
                      strstr(text, "mutau pca --resume"),
                  "the stop line does not say what was kept and how to continue: %s", text);
    free(text);
    ck_assert_int_eq(access(ckpt, F_OK), 0);
}

START_TEST(sigint_exits_4_promptly_with_progress_saved)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/big", tmpdir);
    double latency;
    make_unfinished(dir, &latency);
    /* Each run is 500 million steps (about a minute): the workers poll inside it. */
    ck_assert_msg(latency < 1.0, "SIGINT took %.2f s to stop the grid", latency);
}
END_TEST

/* The files two finished output directories must share byte for byte. */
static void assert_same_files(const char *a, const char *b)
{
    const char *names[] = {"results.csv", "trace.csv", "runs.csv", "figure1.png", "convergence.png",
                           "heatmap.png"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char pa[700], pb[700];
        snprintf(pa, sizeof pa, "%s/%s", a, names[k]);
        snprintf(pb, sizeof pb, "%s/%s", b, names[k]);
        long la, lb;
        char *x = file_read_checked(pa, &la), *y = file_read_checked(pb, &lb);
        long at = 0;
        while (at < la && at < lb && x[at] == y[at])
            at++;
        ck_assert_msg(la == lb && at == la, "%s: %ld and %ld bytes, first difference at byte %ld", names[k], la,
                      lb, at);
        free(x), free(y);
    }
    /* summary.json: the same but for the wall time and the thread count. */
    char pa[700], pb[700];
    snprintf(pa, sizeof pa, "%s/summary.json", a);
    snprintf(pb, sizeof pb, "%s/summary.json", b);
    json_t *x = json_read_checked(pa), *y = json_read_checked(pb);
    json_object_del(x, "seconds"), json_object_del(y, "seconds");
    json_object_del(json_object_get(x, "settings"), "threads");
    json_object_del(json_object_get(y, "settings"), "threads");
    ck_assert_msg(json_equal(x, y), "summary.json differs beyond seconds and threads");
    json_decref(x), json_decref(y);
}

START_TEST(interrupted_then_resumed_equals_uninterrupted)
{
    /* 6 cells of 2 runs of 500000 steps: about half a second on one thread. */
    const char *grid[] = {"--runs", "2", "--iters", "500000", "--delays", "0,10,20", "--momentum", "0.7,0.9",
                          "--checkpoints", "5", "--delay-dist", "uniform", "--seed", "3", "--runs-csv",
                          "--progress", "quiet"};
    enum { NG = sizeof grid / sizeof grid[0] };
    char ref[600], dir[600], log[600], ckpt[700];
    snprintf(ref, sizeof ref, "%s/ref", tmpdir);
    snprintf(dir, sizeof dir, "%s/stopped", tmpdir);
    snprintf(log, sizeof log, "%s/stopped.log", tmpdir);
    snprintf(ckpt, sizeof ckpt, "%s/%s", dir, MT_PCA_CKPT_FILE);
    const char *argv[NG + 8] = {tool_path(), "pca"};
    memcpy(argv + 2, grid, sizeof grid);

    /* Stopped once the first completed cell is in progress.bin (it grows). */
    argv[NG + 2] = "--threads", argv[NG + 3] = "1", argv[NG + 4] = "--out", argv[NG + 5] = dir;
    argv[NG + 6] = NULL;
    pid_t pid = tool_spawn(log, argv);
    long empty = wait_for_size(ckpt, 0, 20);
    ck_assert_msg(empty > 0, "no %s", ckpt);
    ck_assert_msg(wait_for_size(ckpt, empty, 30) > 0, "%s did not grow with a completed cell", ckpt);
    kill(pid, SIGINT);
    int st = tool_wait(pid);
    char *text = file_read_checked(log, NULL);
    ck_assert_msg(st == 4, "exit %d, expected 4: %s", st, text);
    ck_assert_msg(strstr(text, "kept ") && !strstr(text, "kept 0 of"), "no completed cell kept: %s", text);
    free(text);
    ck_assert_int_eq(access(ckpt, F_OK), 0);

    /* Resumed on two threads (one under ThreadSanitizer, to which OpenMP's
     * barriers are invisible): only the missing cells run. */
    const char *two = getenv("MUTAU_TSAN") ? "1" : "2";
    char args[800], err[2048];
    snprintf(args, sizeof args, "pca --resume '%s' --threads %s", dir, two);
    ck_assert_msg(tool_sh(tmpdir, args, err, sizeof err) == 0, "--resume failed: %s", err);
    snprintf(args, sizeof args, "%s/out.txt", tmpdir);
    text = file_read_checked(args, NULL);
    ck_assert_msg(strstr(text, "resuming") && !strstr(text, " 0 of 6 cells done"), "%s", text);
    free(text);
    ck_assert_msg(access(ckpt, F_OK) != 0, "a finished grid keeps %s", ckpt);

    /* The same grid uninterrupted. */
    argv[NG + 3] = two, argv[NG + 5] = ref;
    pid = tool_spawn(log, argv);
    ck_assert_int_eq(tool_wait(pid), 0);
    assert_same_files(ref, dir);

    /* A finished directory has nothing to resume. */
    snprintf(args, sizeof args, "pca --resume '%s'", dir);
    ck_assert_int_eq(tool_sh(tmpdir, args, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "complete"), "%s", err);
}
END_TEST

START_TEST(resume_refuses_problem_flags)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/u", tmpdir);
    make_unfinished(dir, NULL);
    const char *flags[] = {"--iters 10", "--momentum 0.5", "--seed 2", "--out elsewhere", "--force", "--runs-csv"};
    for (size_t k = 0; k < sizeof flags / sizeof flags[0]; k++) {
        char args[800], err[2048], name[32];
        snprintf(args, sizeof args, "pca --resume '%s' %s --threads 1", dir, flags[k]);
        ck_assert_int_eq(tool_sh(tmpdir, args, err, sizeof err), 2);
        sscanf(flags[k], "%31s", name);
        ck_assert_msg(strstr(err, name) && strstr(err, "cannot be given with --resume"), "%s: %s", flags[k], err);
    }
    char args[800], err[2048];
    snprintf(args, sizeof args, "pca --resume '%s/none'", tmpdir);
    ck_assert_int_eq(tool_sh(tmpdir, args, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "no progress.bin"), "%s", err);
}
END_TEST

START_TEST(new_run_into_unfinished_dir_needs_force)
{
    char dir[600], args[900], err[2048], ckpt[700];
    snprintf(dir, sizeof dir, "%s/u", tmpdir);
    make_unfinished(dir, NULL);
    const char *small = "--runs 2 --iters 2000 --delays 0,5 --momentum 0.9 --progress quiet --threads 1";
    snprintf(args, sizeof args, "pca %s --out '%s'", small, dir);
    ck_assert_int_eq(tool_sh(tmpdir, args, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "unfinished") && strstr(err, "--resume") && strstr(err, "--force"), "%s", err);
    snprintf(args, sizeof args, "pca %s --out '%s' --force", small, dir);
    ck_assert_msg(tool_sh(tmpdir, args, err, sizeof err) == 0, "--force: %s", err);
    snprintf(ckpt, sizeof ckpt, "%s/%s", dir, MT_PCA_CKPT_FILE);
    ck_assert_int_eq(access(ckpt, F_OK), -1);
    /* A finished directory is simply written again. */
    snprintf(args, sizeof args, "pca %s --out '%s'", small, dir);
    ck_assert_int_eq(tool_sh(tmpdir, args, err, sizeof err), 0);
}
END_TEST

/* Rewrites the progress file with its settings' int64 number `field` (in
 * the order of pca_ckpt.h) set to v. */
static void set_setting(const char *path, int field, int64_t v)
{
    mt_ckpt c, out;
    uint64_t sig = mt_hash64_str(MT_HASH64_INIT, "mutau pca grid progress");
    ck_assert_msg(mt_ckpt_read(&c, path, sig, "pca") == MT_OK, "%s", mt_errmsg());
    mt_ckpt_init(&out, sig);
    const mt_ckpt_section *s = mt_ckpt_find(&c, "settings");
    ck_assert_ptr_nonnull(s);
    unsigned char *copy = malloc(s->size);
    memcpy(copy, s->data, s->size);
    memcpy(copy + 8 * field, &v, 8);
    for (int k = 0; k < c.n_sections; k++) {
        const mt_ckpt_section *t = &c.sections[k];
        ck_assert_int_eq(mt_ckpt_add(&out, t->name, strcmp(t->name, "settings") ? t->data : copy, t->size), MT_OK);
    }
    ck_assert_int_eq(mt_ckpt_write(&out, path), MT_OK);
    mt_ckpt_free(&out);
    mt_ckpt_free(&c);
    free(copy);
}

START_TEST(bad_progress_file_exits_2_naming_file_and_field)
{
    char dir[600], ckpt[700], saved[700], args[900], err[2048];
    snprintf(dir, sizeof dir, "%s/u", tmpdir);
    make_unfinished(dir, NULL);
    snprintf(ckpt, sizeof ckpt, "%s/%s", dir, MT_PCA_CKPT_FILE);
    snprintf(saved, sizeof saved, "%s/good.bin", tmpdir);
    long len;
    char *good = file_read_checked(ckpt, &len);
    snprintf(args, sizeof args, "pca --resume '%s' --threads 1", dir);

    /* Truncated (half of it): the CRC does not match. */
    FILE *f = fopen(ckpt, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(good, 1, (size_t)len / 2, f);
    fclose(f);
    ck_assert_int_eq(tool_sh(tmpdir, args, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "progress.bin") && strstr(err, "CRC"), "%s", err);

    /* Settings out of range, and settings that do not fit the stored cells. */
    struct {
        int field; /* d=1, n_mu=3, runs=5, checkpoints=6 */
        int64_t value;
        const char *needle;
    } cases[] = {{5, 0, "'runs'"}, {6, -1, "'checkpoints'"}, {3, 3, "'momenta'"}, {1, 5, "'sigma'"}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        f = fopen(ckpt, "wb");
        ck_assert_ptr_nonnull(f);
        fwrite(good, 1, (size_t)len, f);
        fclose(f);
        set_setting(ckpt, cases[k].field, cases[k].value);
        ck_assert_int_eq(tool_sh(tmpdir, args, err, sizeof err), 2);
        ck_assert_msg(strstr(err, "progress.bin") && strstr(err, cases[k].needle), "field %d: %s",
                      cases[k].field, err);
    }
    free(good);

    /* Not a checkpoint at all. */
    f = fopen(ckpt, "w");
    ck_assert_ptr_nonnull(f);
    fputs("momentum,delay\n", f);
    fclose(f);
    ck_assert_int_eq(tool_sh(tmpdir, args, err, sizeof err), 2);
    ck_assert_msg(strstr(err, "progress.bin"), "%s", err);
}
END_TEST

static Suite *pca_resume_suite(void)
{
    Suite *s = suite_create("pca_resume");
    TCase *lib = tcase_create("library");
    tcase_add_checked_fixture(lib, setup, teardown);
    tcase_set_timeout(lib, 20);
    tcase_add_test(lib, stopped_grid_keeps_whole_cells_and_continues_to_the_same_bytes);
    tcase_add_test(lib, run_polls_the_stop_callback);
    tcase_add_test(lib, progress_file_round_trips_settings_and_cells);
    suite_add_tcase(s, lib);
    TCase *tool = tcase_create("tool");
    tcase_add_checked_fixture(tool, setup, teardown);
    tcase_set_timeout(tool, 60);
    tcase_add_test(tool, sigint_exits_4_promptly_with_progress_saved);
    tcase_add_test(tool, interrupted_then_resumed_equals_uninterrupted);
    tcase_add_test(tool, resume_refuses_problem_flags);
    tcase_add_test(tool, new_run_into_unfinished_dir_needs_force);
    tcase_add_test(tool, bad_progress_file_exits_2_naming_file_and_field);
    suite_add_tcase(s, tool);
    return s;
}

MT_CHECK_MAIN(pca_resume_suite)
