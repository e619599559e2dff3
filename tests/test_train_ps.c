/* test_train_ps.c: `mutau train --workers W --mode async|sync|delay` end to
 * end on a tiny synthetic dataset and a tiny ResNet, through the built tool
 * ($MUTAU):
 *   - delay mode with tau = 0 (and sync mode with one worker) is bit for bit
 *     the single-process trainer: log.csv rows without the timing and
 *     staleness columns, the final test numbers, and the checkpoint's
 *     parameters, velocity and BN statistics;
 *   - delay mode with random delays reproduces itself bit for bit, and a run
 *     stopped with --stop-after and resumed equals the uninterrupted one;
 *   - sync runs record tau = 0, async runs with 2 workers a mean tau near 1,
 *     and no push is lost (the staleness count is the step count);
 *   - SIGTERM stops an async run with a checkpoint (exit 4) and it resumes;
 *   - the drop policy's count survives a stop and a resume;
 *   - a worker whose gradient fails (the test-only fault hook) stops the run
 *     with a checkpoint, exit 1 naming the worker; it resumes exactly;
 *   - divergence (NaN/Inf, or a loss above --divergence-loss in every mode)
 *     exits 3, W x T beyond the cores and bad flags exit 2 naming
 *     the flag.
 */
#include "ps/ps.h"
#include "tests/check_main.h"
#include "tests/run_files.h"
#include "tests/tiny_data.h"
#include "tests/tool_run.h"

#include <jansson.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char root[64];
static char data_dir[128];

/* A 4-class 1x8x8 IDX dataset of 192 training and 64 test images. */
static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/mt_train_ps_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(data_dir, sizeof data_dir, "%s/data", root);
    tiny_data_write(data_dir);
}

static void teardown(void) { ck_assert_int_eq(tmp_dir_remove(root), 0); }

/* Runs argv (NULL-terminated) in the background, stdout and stderr to root/OUT.out. */
static pid_t spawn(const char *out_name, const char *const *argv)
{
    char out[200];
    snprintf(out, sizeof out, "%s/%s.out", root, out_name);
    return tool_spawn(out, argv);
}

/* Starts `EXE train` with the tiny flags (run directory root/NAME), then
 * `args` (NULL-terminated). */
static pid_t start_exe(const char *exe, const char *name, const char *const *args)
{
    static char out_dir[160];
    snprintf(out_dir, sizeof out_dir, "%s/%s", root, name);
    const char *argv[64] = {exe, "train", "--data", data_dir, "--model", "resnet8",
                            "--width", "16", "--lr", "0.05", "--schedule", "cosine",
                            "--warmup-epochs", "0.5", "--progress", "plain", "--threads", "1",
                            "--eval-batch", "25", "--out", out_dir};
    int n = 22;
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return spawn(name, argv);
}

static pid_t start(const char *name, const char *const *args)
{
    return start_exe(tool_path(), name, args);
}

static int train(const char *name, const char *const *args) { return tool_wait(start(name, args)); }

/* `mutau train --resume root/NAME`, output to root/OUT.out; the exit code. */
static int resume(const char *name, const char *out_name)
{
    char dir[160];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    const char *argv[] = {tool_path(), "train", "--resume", dir, NULL};
    return tool_wait(spawn(out_name, argv));
}

/* The whole file root/NAME/FILE (or root/NAME.out when file is NULL); *len its size. */
static char *slurp(const char *name, const char *file, long *len)
{
    char path[256];
    if (file)
        snprintf(path, sizeof path, "%s/%s/%s", root, name, file);
    else
        snprintf(path, sizeof path, "%s/%s.out", root, name);
    return file_read_checked(path, len);
}

static void expect_output(const char *name, const char *needle)
{
    char *s = slurp(name, NULL, NULL);
    ck_assert_msg(strstr(s, needle) != NULL, "output of %s lacks '%s':\n%s", name, needle, s);
    free(s);
}

static json_t *load_json(const char *name, const char *file)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s/%s", root, name, file);
    return json_read_checked(path);
}

/* epoch .. eval_top5 of the single-process columns. */
static const char TRAJECTORY[] = "11111111";
/* ... and tau_mean .. tau_p99 after images_per_s and seconds. */
static const char TRAJECTORY_TAU[] = "1111111100111110";

/* root/NAME */
static const char *run_dir(const char *name)
{
    static char dirs[4][160];
    static int next;
    char *d = dirs[next++ % 4];
    snprintf(d, sizeof dirs[0], "%s/%s", root, name);
    return d;
}

static void expect_same_log(const char *a, const char *b, const char *keep)
{
    run_expect_same_log(run_dir(a), run_dir(b), keep);
}

static void expect_same_sections(const char *a, const char *b, const char *const *secs)
{
    run_expect_same_sections(run_dir(a), run_dir(b), secs);
}

static double final_number(const char *name, const char *obj, const char *key)
{
    json_t *j = load_json(name, "final.json");
    json_t *o = obj ? json_object_get(j, obj) : j;
    ck_assert_msg(json_is_number(json_object_get(o, key)), "%s: final.json lacks %s.%s", name,
                  obj ? obj : "", key);
    double v = json_number_value(json_object_get(o, key));
    json_decref(j);
    return v;
}

static void expect_status(const char *name, const char *status)
{
    json_t *j = load_json(name, "final.json");
    const char *s = json_string_value(json_object_get(j, "status"));
    ck_assert_msg(s && strcmp(s, status) == 0, "%s: status %s, want %s", name, s ? s : "(none)",
                  status);
    json_decref(j);
}

static const char *const STATE[] = {"params", "velocity", "bn_state", NULL};

START_TEST(delay_zero_and_one_sync_worker_are_the_single_process_trainer)
{
    const char *plain[] = {"--batch", "32", "--epochs", "2", NULL};
    ck_assert_int_eq(train("plain", plain), 0);
    const char *delay[] = {"--batch", "32", "--epochs", "2", "--workers", "1", "--mode", "delay",
                           "--delay", "0", NULL};
    ck_assert_int_eq(train("delay0", delay), 0);
    const char *sync[] = {"--batch", "32", "--epochs", "2", "--workers", "1", "--mode", "sync",
                          NULL};
    ck_assert_int_eq(train("sync1", sync), 0);
    const char *runs[] = {"delay0", "sync1"};
    for (int i = 0; i < 2; i++) {
        expect_same_log("plain", runs[i], TRAJECTORY);
        expect_same_sections("plain", runs[i], STATE);
        ck_assert(final_number("plain", "final", "loss") == final_number(runs[i], "final", "loss"));
        ck_assert(final_number("plain", "final", "top1") == final_number(runs[i], "final", "top1"));
        ck_assert(final_number(runs[i], "staleness", "max") == 0);
        ck_assert(final_number(runs[i], "staleness", "count") == 12);
    }
    /* One async worker is the single-process trainer itself: no ps section. */
    json_t *cfg = load_json("plain", "config.json");
    ck_assert_ptr_null(json_object_get(json_object_get(cfg, "settings"), "ps"));
    json_decref(cfg);
    cfg = load_json("delay0", "config.json");
    json_t *ps = json_object_get(json_object_get(cfg, "settings"), "ps");
    ck_assert_str_eq(json_string_value(json_object_get(ps, "mode")), "delay");
    ck_assert_int_eq(json_integer_value(json_object_get(ps, "delay")), 0);
    json_decref(cfg);
}
END_TEST

START_TEST(random_delays_reproduce_and_resume_bit_for_bit)
{
    const char *a[] = {"--batch", "32", "--epochs", "3", "--workers", "4", "--mode", "delay",
                       "--delay", "2", "--delay-dist", "geometric", NULL};
    ck_assert_int_eq(train("a", a), 0);
    ck_assert_int_eq(train("b", a), 0);
    expect_same_log("a", "b", TRAJECTORY_TAU);
    long na, nb;
    char *ca = slurp("a", "checkpoint.bin", &na), *cb = slurp("b", "checkpoint.bin", &nb);
    ck_assert_msg(na == nb && memcmp(ca, cb, (size_t)na) == 0, "checkpoints differ");
    free(cb);
    /* Delays were drawn: some stale gradients, mean within reach of 2. */
    double mean = final_number("a", "staleness", "mean");
    ck_assert_msg(mean > 0.8 && mean < 3.2, "geometric delay 2: mean tau %g", mean);
    ck_assert_int_eq((int)final_number("a", "staleness", "count"), 18);

    /* Stopped in epoch 2 (step 8 of 18), then resumed. */
    const char *c[] = {"--batch", "32", "--epochs", "3", "--workers", "4", "--mode", "delay",
                       "--delay", "2", "--delay-dist", "geometric", "--stop-after", "8", NULL};
    ck_assert_int_eq(train("c", c), 4);
    expect_status("c", "interrupted");
    expect_output("c", "--resume");
    ck_assert_int_eq(resume("c", "c2"), 0);
    expect_output("c2", "resuming");
    expect_same_log("a", "c", TRAJECTORY_TAU);
    long nc;
    char *cc = slurp("c", "checkpoint.bin", &nc);
    ck_assert_msg(na == nc && memcmp(ca, cc, (size_t)na) == 0,
                  "the resumed run's checkpoint differs from the uninterrupted run's");
    free(ca);
    free(cc);
}
END_TEST

START_TEST(sync_resumes_bit_for_bit)
{
    /* 2 sync workers, batch 16: 12 batches an epoch make 6 steps of 2. */
    const char *a[] = {"--batch", "16", "--epochs", "2", "--workers", "2", "--mode", "sync",
                       NULL};
    ck_assert_int_eq(train("a", a), 0);
    const char *b[] = {"--batch", "16", "--epochs", "2", "--workers", "2", "--mode", "sync",
                       "--stop-after", "4", NULL};
    ck_assert_int_eq(train("b", b), 4);
    ck_assert_int_eq(resume("b", "b2"), 0);
    expect_same_log("a", "b", TRAJECTORY_TAU);
    long na, nb;
    char *ca = slurp("a", "checkpoint.bin", &na), *cb = slurp("b", "checkpoint.bin", &nb);
    ck_assert_msg(na == nb && memcmp(ca, cb, (size_t)na) == 0,
                  "the resumed sync run's checkpoint differs from the uninterrupted run's");
    free(ca);
    free(cb);
}
END_TEST

/* Column `col` (0-based) of every row of log.csv, into v; the row count. */
static int log_column(const char *name, int col, double *v, int cap)
{
    char *s = slurp(name, "log.csv", NULL);
    int rows = 0;
    char *save;
    for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line == s)
            continue; /* the header */
        char *c = line;
        for (int k = 0; k < col && c; k++)
            c = strchr(c, ',') ? strchr(c, ',') + 1 : NULL;
        ck_assert_msg(c != NULL, "%s/log.csv: row '%s' has no column %d", name, line, col);
        if (rows < cap)
            v[rows++] = strtod(c, NULL);
    }
    free(s);
    return rows;
}

enum { COL_TAU_MEAN = 10, COL_TAU_MAX = 11, COL_SHARE = 15, COL_DROPPED = 17 };

START_TEST(sync_has_no_staleness_and_async_about_one)
{
    /* Sync, 2 workers: 6 batches an epoch make 3 steps of 2. */
    const char *s[] = {"--batch", "32", "--epochs", "2", "--workers", "2", "--mode", "sync",
                       NULL};
    ck_assert_int_eq(train("sync", s), 0);
    char *header = slurp("sync", "log.csv", NULL);
    ck_assert_msg(strncmp(header, "epoch,step,lr,train_loss,train_acc,eval_loss,eval_top1,eval_top5,"
                                  "images_per_s,seconds,tau_mean,tau_max,tau_p50,tau_p90,tau_p99,"
                                  "server_share\n", 131) == 0, "header: %s", header);
    free(header);
    double v[8];
    ck_assert_int_eq(log_column("sync", COL_TAU_MAX, v, 8), 2);
    ck_assert(v[0] == 0 && v[1] == 0);
    ck_assert_int_eq(log_column("sync", 1, v, 8), 2);
    ck_assert_msg(v[0] == 3 && v[1] == 6, "sync steps %g, %g: want 3, 6", v[0], v[1]);
    ck_assert_int_eq((int)final_number("sync", NULL, "steps"), 6);
    /* Staleness counts gradients: 2 a step. */
    ck_assert_int_eq((int)final_number("sync", "staleness", "count"), 12);

    /* Async, 2 workers x 1 thread: 24 steps an epoch of batch 8. */
    const char *a[] = {"--batch", "8", "--epochs", "2", "--workers", "2", NULL};
    ck_assert_int_eq(train("async", a), 0);
    expect_status("async", "completed");
    ck_assert_int_eq(log_column("async", COL_TAU_MEAN, v, 8), 2);
    for (int e = 0; e < 2; e++)
        /* At most W - 1 = 1, whatever the schedule: a push lies in at most
         * one in-flight interval of the other worker. How close it comes
         * depends on the machine's load (a stalled worker lowers it), so
         * only that some push was stale is asked below that. */
        ck_assert_msg(v[e] > 0 && v[e] <= 1, "epoch %d: 2 async workers, mean tau %g", e + 1,
                      v[e]);
    ck_assert_int_eq(log_column("async", COL_SHARE, v, 8), 2);
    ck_assert_msg(v[0] >= 0 && v[0] < 1, "server share %g", v[0]);
    /* No push lost: every step's gradient was recorded once. */
    ck_assert_int_eq((int)final_number("async", NULL, "steps"), 48);
    ck_assert_int_eq((int)final_number("async", "staleness", "count"), 48);
    double top1 = final_number("async", "final", "top1");
    ck_assert(top1 >= 0 && top1 <= 1);
}
END_TEST

START_TEST(async_stops_on_sigterm_and_resumes)
{
    const char *a[] = {"--batch", "8", "--epochs", "8", "--workers", "2", NULL};
    pid_t pid = start("a", a);
    char ck[200];
    snprintf(ck, sizeof ck, "%s/a/checkpoint.bin", root);
    for (int i = 0; i < 60000 && access(ck, F_OK) != 0; i++)
        usleep(1000);
    kill(pid, SIGTERM);
    int rc = tool_wait(pid);
    ck_assert_msg(rc == 4, "SIGTERM: exit %d (0 means the run ended before the signal)", rc);
    expect_output("a", "SIGTERM");
    expect_status("a", "interrupted");
    ck_assert_int_eq(resume("a", "a2"), 0);
    expect_output("a2", "resuming");
    expect_status("a", "completed");
    /* Every step's push counted once across the two processes. */
    ck_assert_int_eq((int)final_number("a", NULL, "steps"), 8 * 24);
    ck_assert_int_eq((int)final_number("a", "staleness", "count"), 8 * 24);
    double v[16];
    ck_assert_int_eq(log_column("a", 0, v, 16), 8);
}
END_TEST

/* Bounded staleness, drop policy, 3 workers, stopped in the second epoch and
 * resumed: no applied tau above the bound, every step applied, and the
 * dropped count carried across the stop (final.json's is the sum of
 * log.csv's column, the stopped epoch's drops before the stop included). */
START_TEST(drop_count_survives_a_resume)
{
    const char *a[] = {"--batch", "16", "--epochs", "3", "--workers", "3", "--oversubscribe",
                       "--max-staleness", "0", "--stale-policy", "drop", "--stop-after", "18",
                       NULL};
    int rc = train("d", a);
    char *out = slurp("d", NULL, NULL);
    ck_assert_msg(rc == 4, "--stop-after: exit %d, want 4:\n%s", rc, out);
    free(out);
    rc = resume("d", "d2");
    out = slurp("d2", NULL, NULL);
    ck_assert_msg(rc == 0, "--resume: exit %d:\n%s", rc, out);
    free(out);
    expect_status("d", "completed");
    ck_assert_int_eq((int)final_number("d", "staleness", "count"), 36);
    ck_assert_int_eq((int)final_number("d", "staleness", "max"), 0);
    double v[8], sum = 0;
    ck_assert_int_eq(log_column("d", COL_DROPPED, v, 8), 3);
    for (int e = 0; e < 3; e++)
        sum += v[e];
    double dropped = final_number("d", "staleness", "dropped");
    ck_assert_msg(sum == dropped, "log.csv's dropped sum to %g, final.json says %g", sum, dropped);
}
END_TEST

START_TEST(divergence_exits_3)
{
    /* lr x weight decay = 1e6 multiplies the parameters by about -1e6 a step, so
     * they overflow within 7 of the 12 steps whatever the async race does with the
     * gradients (a smaller lr left divergence to the gradients, and to chance). */
    const char *a[] = {"--batch", "32", "--epochs", "2", "--workers", "2", "--lr", "1e6",
                       "--weight-decay", "1", "--warmup-epochs", "0", NULL};
    ck_assert_int_eq(train("a", a), 3);
    expect_output("a", "diverged at epoch 1");
    expect_status("a", "diverged");
    /* lr 50 with momentum 0.99: a loss far above --divergence-loss (100 ln 4)
     * but finite; every mode's workers judge their batches by the bound. */
    static const char *const modes[] = {"async", "sync", "delay"};
    for (int i = 0; i < 3; i++) {
        const char *b[] = {"--batch", "32", "--epochs", "2", "--workers", "2", "--mode",
                           modes[i], "--lr", "50", "--momentum", "0.99", "--warmup-epochs", "0",
                           NULL};
        int rc = train(modes[i], b);
        ck_assert_msg(rc == 3, "%s: exit %d", modes[i], rc);
        expect_output(modes[i], "exceeds --divergence-loss 138.629");
        expect_status(modes[i], "diverged");
    }
}
END_TEST

/* A worker whose gradient fails (build/mutau-faults with
 * MUTAU_FAULT_STEP=K:N, trainer/fault.h: an allocation failure of worker K
 * at batch N) stops the run at the state before that step: exit 1 naming
 * the worker and the cause, final.json "failed" with them, a checkpoint.
 * --resume with the ordinary tool then ends with the run that never failed,
 * bit for bit, in delay mode (random delays: the failed step's delay is
 * drawn again) and in sync mode; async completes with every step's push
 * counted once. */
START_TEST(failing_worker_checkpoints_and_resumes)
{
    static const struct {
        const char *mode, *fault, *worker;
        const char *extra[5];
        int exact;
    } cases[] = {
        {"delay", "0:7", "worker 0, batch 7: ", {"--delay", "2", "--delay-dist", "geometric"}, 1},
        {"sync", "1:9", "worker 1, batch 9: ", {NULL}, 1},
        /* Async hands each batch to whichever worker asks first: worker 1
         * may never get a late batch, but its first one is certain. */
        {"async", "1:0", "worker 1, batch ", {NULL}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *args[16] = {"--batch", "32", "--epochs", "2", "--workers", "2", "--mode",
                                cases[i].mode};
        int n = 8;
        for (int k = 0; k < 4 && cases[i].extra[k]; k++)
            args[n++] = cases[i].extra[k];
        args[n] = NULL;
        char ref[32], failed[32], resumed[32];
        snprintf(ref, sizeof ref, "%s_ref", cases[i].mode);
        snprintf(failed, sizeof failed, "%s_fail", cases[i].mode);
        snprintf(resumed, sizeof resumed, "%s_resume", cases[i].mode);
        if (cases[i].exact)
            ck_assert_int_eq(train(ref, args), 0);
        setenv("MUTAU_FAULT_STEP", cases[i].fault, 1);
        int rc = tool_wait(start_exe(tool_faults_path(), failed, args));
        unsetenv("MUTAU_FAULT_STEP");
        ck_assert_msg(rc == 1, "%s: exit %d", cases[i].mode, rc);
        expect_output(failed, cases[i].worker);
        expect_output(failed, "out of memory (injected by MUTAU_FAULT_STEP");
        expect_output(failed, "checkpoint saved; resume with: mutau train --resume");
        expect_status(failed, "failed");
        json_t *fin = load_json(failed, "final.json");
        const char *msg = json_string_value(json_object_get(fin, "message"));
        ck_assert_msg(msg && strstr(msg, cases[i].worker) && strstr(msg, "out of memory"),
                      "%s: final.json message '%s'", cases[i].mode, msg ? msg : "(none)");
        json_decref(fin);
        ck_assert_int_eq(resume(failed, resumed), 0);
        expect_output(resumed, "resuming");
        expect_status(failed, "completed");
        ck_assert_int_eq((int)final_number(failed, NULL, "steps"),
                         strcmp(cases[i].mode, "sync") == 0 ? 6 : 12);
        if (!cases[i].exact) {
            ck_assert_int_eq((int)final_number(failed, "staleness", "count"), 12);
            continue;
        }
        expect_same_log(ref, failed, TRAJECTORY_TAU);
        long na, nb;
        char *ca = slurp(ref, "checkpoint.bin", &na), *cb = slurp(failed, "checkpoint.bin", &nb);
        ck_assert_msg(na == nb && memcmp(ca, cb, (size_t)na) == 0,
                      "%s: the resumed run's checkpoint differs from the run that did not fail",
                      cases[i].mode);
        free(ca);
        free(cb);
    }
}
END_TEST

START_TEST(thread_budget_and_bad_flags_exit_2_naming_the_flag)
{
    char over[16];
    snprintf(over, sizeof over, "%d", mt_ps_cores() + 1);
    struct {
        const char *args[10];
        const char *needle;
    } cases[] = {
        {{"--workers", over, NULL}, "--workers"},
        {{"--workers", over, "--mode", "sync", NULL}, "--oversubscribe"},
        {{"--workers", "1", "--mode", "delay", "--threads", over, NULL}, "--threads"},
        {{"--workers", "0", NULL}, "--workers"},
        {{"--mode", "hogwild", NULL}, "--mode"},
        {{"--delay", "2", NULL}, "--delay"},
        {{"--mode", "delay", "--delay-dist", "poisson", NULL}, "--delay-dist"},
        {{"--mode", "sync", "--delay-dist", "uniform", NULL}, "--delay-dist"},
        {{"--workers", "2", "--shards", "0", NULL}, "--shards"},
        /* 6 batches cannot make a step of 7 sync workers */
        {{"--batch", "32", "--workers", "7", "--mode", "sync", "--oversubscribe", NULL},
         "--workers"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = train("bad", cases[i].args);
        ck_assert_msg(rc == 2, "case %zu (%s): exit %d", i, cases[i].needle, rc);
        expect_output("bad", cases[i].needle);
    }
    const char *help[] = {"--help", NULL};
    ck_assert_int_eq(train("help", help), 0);
    expect_output("help", "--delay-dist");
    expect_output("help", "--oversubscribe");
    /* Allowed when asked for. */
    const char *ok[] = {"--batch", "32", "--epochs", "1", "--workers", over, "--oversubscribe",
                        NULL};
    ck_assert_int_eq(train("over", ok), 0);
    ck_assert_int_eq((int)final_number("over", "staleness", "count"), 6);
}
END_TEST

static Suite *train_ps_suite(void)
{
    Suite *s = suite_create("train_ps");
    TCase *tc = tcase_create("end_to_end");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, delay_zero_and_one_sync_worker_are_the_single_process_trainer);
    tcase_add_test(tc, random_delays_reproduce_and_resume_bit_for_bit);
    tcase_add_test(tc, sync_resumes_bit_for_bit);
    tcase_add_test(tc, sync_has_no_staleness_and_async_about_one);
    tcase_add_test(tc, async_stops_on_sigterm_and_resumes);
    tcase_add_test(tc, drop_count_survives_a_resume);
    tcase_add_test(tc, divergence_exits_3);
    tcase_add_test(tc, failing_worker_checkpoints_and_resumes);
    tcase_add_test(tc, thread_budget_and_bad_flags_exit_2_naming_the_flag);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(train_ps_suite)
