/* test_train_mpi.c: `mutau train --transport mpi` end to end, under mpirun on
 * localhost (oversubscribed), on the tiny 1x8x8 dataset:
 *   - sync with 2 worker ranks equals the in-process sync run with 2 workers
 *     bit for bit (log.csv's trajectory, the checkpoint's parameters,
 *     velocity and BN state), and 2 server ranks equal 1;
 *   - a worker rank killed with SIGKILL mid-run ends the job; --resume
 *     completes the run, equal to the uninterrupted one bit for bit; so
 *     does a run stopped by SIGINT to mpirun (mpirun exits 1) and one
 *     stopped by SIGUSR1 to mpirun (every rank checkpoints, exit 4);
 *   - async: every step's push applied (staleness count = steps), the
 *     staleness and communication columns filled, the world in config.json;
 *   - bounded staleness (--max-staleness) with 3 worker ranks, 1 and 2 server
 *     ranks: no applied tau above the bound, every step applied, the drop
 *     policy's count consistent in final.json, log.csv and the workers'
 *     gradients; with one worker rank equal to the in-process bounded run
 *     bit for bit, and resumed bit for bit after a stop;
 *   - every worker rank runs the first worker's convolution choices, a
 *     resumed run those of its checkpoint;
 *   - a worker rank's loss above --divergence-loss ends the run as diverged;
 *   - every bad setup exits 2 with one line naming its cause (and the rank).
 * Needs mpirun (Open MPI's openmpi-bin, installed by `make deps`): without it
 * the tests fail saying so, they are never skipped. */
#include "tests/check_main.h"
#include "tests/mpirun_env.h"
#include "tests/run_files.h"
#include "tests/tiny_data.h"
#include "tests/tool_run.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char root[64];
static char data_dir[128];
static char mpirun[256];

static void setup(void)
{
    snprintf(mpirun, sizeof mpirun, "%s", mpirun_env());
    snprintf(root, sizeof root, "/tmp/mt_train_mpi_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(data_dir, sizeof data_dir, "%s/data", root);
    tiny_data_write(data_dir);
}

static void teardown(void) { ck_assert_int_eq(tmp_dir_remove(root), 0); }

static const char *dir_of(const char *name)
{
    static char dirs[8][160];
    static int next;
    char *d = dirs[next++ % 8];
    snprintf(d, sizeof dirs[0], "%s/%s", root, name);
    return d;
}

/* argv: [mpirun -np NP --oversubscribe] mutau train TINY --out root/NAME ARGS;
 * np 0: without mpirun. Started in the background, output in root/NAME.out. */
static pid_t start(int np, const char *name, const char *const *args)
{
    static char nps[16];
    const char *argv[96];
    int n = 0;
    if (np > 0) {
        snprintf(nps, sizeof nps, "%d", np);
        argv[n++] = mpirun;
        argv[n++] = "-np";
        argv[n++] = nps;
        argv[n++] = "--oversubscribe";
    }
    const char *tiny[] = {tool_path(), "train", "--data", data_dir, "--model", "resnet8",
                          "--width", "16", "--lr", "0.05", "--schedule", "cosine", "--epochs",
                          "3", "--batch", "16", "--progress", "plain", "--threads", "1",
                          "--eval-batch", "32", "--out", dir_of(name), NULL};
    for (int i = 0; tiny[i]; i++)
        argv[n++] = tiny[i];
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char out[200];
    snprintf(out, sizeof out, "%s/%s.out", root, name);
    return tool_spawn(out, argv);
}

static int train(int np, const char *name, const char *const *args)
{
    return tool_wait(start(np, name, args));
}

static char *output(const char *name)
{
    char path[200];
    snprintf(path, sizeof path, "%s/%s.out", root, name);
    return file_read_checked(path, NULL);
}

static void expect_exit(int got, int want, const char *name)
{
    if (got != want) {
        char *s = output(name);
        size_t len = strlen(s);
        ck_abort_msg("%s: exit %d, want %d:\n%s", name, got, want, len > 1500 ? s + len - 1500 : s);
    }
}

static void expect_line(const char *name, const char *needle)
{
    char *s = output(name);
    ck_assert_msg(strstr(s, needle) != NULL, "output of %s lacks '%s':\n%s", name, needle, s);
    free(s);
}

static json_t *run_json(const char *name, const char *file)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir_of(name), file);
    return json_read_checked(path);
}

/* epoch .. val_top5 */
static const char TRAJECTORY[] = "11111111";
static const char *const STATE[] = {"params", "velocity", "bn_state", NULL};

/* The pid of world rank `rank` among mpirun's children (their environment
 * names it). */
static pid_t rank_pid(pid_t launcher, int rank)
{
    char want[64];
    snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
    return proc_child_with(launcher, "environ", want);
}

/* Starts `name` over 3 ranks and sends mpirun `sig` as soon as the first
 * checkpoint is there; mpirun's exit code. */
static int interrupt_after_checkpoint(const char *name, const char *const *args, int sig)
{
    pid_t p = start(3, name, args);
    char ckpt[256];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.bin", dir_of(name));
    const struct timespec tick = {0, 2 * 1000 * 1000};
    for (int i = 0; i < 60000 && access(ckpt, F_OK) != 0; i++)
        nanosleep(&tick, NULL);
    ck_assert_msg(access(ckpt, F_OK) == 0, "%s: no checkpoint after the first epoch", name);
    kill(p, sig);
    return tool_wait(p);
}

/* `mpirun -np NP mutau train --resume DIR` completes the run in DIR, equal
 * to the uninterrupted run `same`. */
static void resume_np_equals(int np, const char *name, const char *same)
{
    char out[200], nps[16];
    snprintf(out, sizeof out, "%s/%s.resumed.out", root, name);
    snprintf(nps, sizeof nps, "%d", np);
    const char *argv[] = {mpirun, "-np", nps, "--oversubscribe", tool_path(), "train",
                          "--resume", dir_of(name), NULL};
    expect_exit(tool_wait(tool_spawn(out, argv)), 0, name);
    run_expect_same_log(dir_of(name), dir_of(same), TRAJECTORY);
    run_expect_same_sections(dir_of(name), dir_of(same), STATE);
}

static void resume_equals(const char *name, const char *same) { resume_np_equals(3, name, same); }

START_TEST(sync_equals_threads_and_resumes)
{
    const char *sync_mpi[] = {"--transport", "mpi", "--mode", "sync", NULL};
    const char *sync_s2[] = {"--transport", "mpi", "--server-ranks", "2", "--mode", "sync", NULL};
    const char *sync_threads[] = {"--workers", "2", "--mode", "sync", NULL};
    expect_exit(train(3, "mpi", sync_mpi), 0, "mpi");
    expect_line("mpi", "rank 0: server (coordinator");
    expect_exit(train(0, "threads", sync_threads), 0, "threads");
    run_expect_same_log(dir_of("mpi"), dir_of("threads"), TRAJECTORY);
    run_expect_same_sections(dir_of("mpi"), dir_of("threads"), STATE);
    expect_exit(train(4, "s2", sync_s2), 0, "s2");
    run_expect_same_log(dir_of("s2"), dir_of("mpi"), TRAJECTORY);
    run_expect_same_sections(dir_of("s2"), dir_of("mpi"), STATE);

    /* A worker rank killed right after the first checkpoint ends the job.
     * Its pid first (the ranks start at once), then the checkpoint is
     * watched closely: the two epochs after it take a fraction of a second. */
    pid_t p = start(3, "killed", sync_mpi);
    char ckpt[256];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.bin", dir_of("killed"));
    const struct timespec tick = {0, 2 * 1000 * 1000};
    pid_t worker = -1;
    for (int i = 0; i < 30000 && worker < 0; i++) {
        worker = rank_pid(p, 2);
        if (worker < 0)
            nanosleep(&tick, NULL);
    }
    ck_assert_msg(worker > 0, "cannot find rank 2 among mpirun's children");
    for (int i = 0; i < 60000 && access(ckpt, F_OK) != 0; i++)
        nanosleep(&tick, NULL);
    ck_assert_msg(access(ckpt, F_OK) == 0, "no checkpoint after the first epoch");
    kill(worker, SIGKILL);
    int rc = tool_wait(p);
    ck_assert_msg(rc != 0, "the job went on without its worker");
    json_t *f = run_json("killed", "final.json");
    const char *st = json_string_value(json_object_get(f, "status"));
    ck_assert_msg(st && strcmp(st, "completed") != 0, "a killed run says %s", st ? st : "?");
    json_decref(f);
    /* --resume completes it, equal to the uninterrupted run. */
    resume_equals("killed", "mpi");

    /* Ctrl-C on mpirun: it sends the ranks SIGTERM a second later and
     * SIGKILL a second after that, and exits 1 whatever they return
     * (Open MPI 4.1); rank 0 checkpoints on the SIGTERM. --resume
     * completes the run, equal to the uninterrupted one. */
    rc = interrupt_after_checkpoint("ctrl_c", sync_mpi, SIGINT);
    ck_assert_msg(rc == 1, "mpirun after SIGINT: exit %d, want 1", rc);
    resume_equals("ctrl_c", "mpi");

    /* SIGUSR1, which mpirun forwards and lets the job end by itself: every
     * rank stops after the checkpoint and mpirun exits 4, as in one process. */
    rc = interrupt_after_checkpoint("usr1", sync_mpi, SIGUSR1);
    expect_exit(rc, 4, "usr1");
    f = run_json("usr1", "final.json");
    st = json_string_value(json_object_get(f, "status"));
    ck_assert_msg(st && strcmp(st, "interrupted") == 0, "after SIGUSR1: %s", st ? st : "?");
    json_decref(f);
    resume_equals("usr1", "mpi");
}
END_TEST

START_TEST(async_applies_every_push)
{
    const char *async_mpi[] = {"--transport", "mpi", NULL};
    expect_exit(train(3, "async", async_mpi), 0, "async");
    json_t *f = run_json("async", "final.json");
    json_t *st = json_object_get(f, "staleness");
    /* 192 images, batch 16: 12 steps an epoch, 3 epochs. */
    ck_assert_int_eq(json_integer_value(json_object_get(st, "count")), 36);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(f, "mpi"), "workers")),
                     2);
    json_decref(f);
    json_t *c = run_json("async", "config.json");
    json_t *m = json_object_get(json_object_get(c, "settings"), "mpi");
    ck_assert_int_eq(json_integer_value(json_object_get(m, "ranks")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "server_ranks")), 1);
    ck_assert_int_eq((int)json_array_size(json_object_get(m, "hosts")), 3);
    json_decref(c);
    /* tau_mean .. comm_share filled in every row. */
    char *log = run_log_columns(dir_of("async"), "000000000011111111");
    ck_assert_msg(strstr(log, "tau_mean,tau_max,tau_p50,tau_p90,tau_p99,server_share,"
                              "momentum,comm_share,") != NULL, "log.csv columns:\n%s", log);
    ck_assert_msg(strstr(log, ",,") == NULL, "an empty staleness column:\n%s", log);
    free(log);
}
END_TEST

/* dana and dc-asgd over MPI: with one worker rank the async order is fixed
 * (pull, push, pull, ...), so the run is the in-process async run with one
 * worker bit for bit: log.csv's trajectory and the checkpoint's parameters,
 * velocity, BN state and the method's state gathered from the shards, with
 * one server rank and with two. dana's look-ahead pull comes from the
 * server's copy for the worker; dc-asgd's correction uses the same copy as
 * theta_read (zero at tau = 0, so the in-process run with one worker is the
 * single-process trainer, which has no method state to compare). */
START_TEST(methods_equal_threads)
{
    static const char *const methods[] = {"dana", "dc-asgd"};
    for (int i = 0; i < 2; i++) {
        const char *m = methods[i];
        char mpi1[32], mpi2[32], threads[32];
        snprintf(mpi1, sizeof mpi1, "%s_s1", m);
        snprintf(mpi2, sizeof mpi2, "%s_s2", m);
        snprintf(threads, sizeof threads, "%s_threads", m);
        const char *a1[] = {"--transport", "mpi", "--method", m, NULL};
        const char *a2[] = {"--transport", "mpi", "--server-ranks", "2", "--method", m, NULL};
        const char *at[] = {"--workers", "1", "--mode", "async", "--method", m, NULL};
        expect_exit(train(2, mpi1, a1), 0, mpi1);
        expect_exit(train(3, mpi2, a2), 0, mpi2);
        expect_exit(train(0, threads, at), 0, threads);
        run_expect_same_log(dir_of(mpi1), dir_of(threads), TRAJECTORY);
        run_expect_same_sections(dir_of(mpi1), dir_of(threads), STATE);
        run_expect_same_log(dir_of(mpi2), dir_of(mpi1), TRAJECTORY);
        run_expect_same_sections(dir_of(mpi2), dir_of(mpi1), STATE);
        const char *own[] = {i == 0 ? "method.dana_u" : "method.mean_square", NULL};
        run_expect_same_sections(dir_of(mpi2), dir_of(mpi1), own);
        if (i == 0)
            run_expect_same_sections(dir_of(mpi1), dir_of(threads), own);
        json_t *c = run_json(mpi2, "config.json");
        json_t *s = json_object_get(json_object_get(c, "settings"), "mpi");
        ck_assert_str_eq(json_string_value(json_object_get(s, "method")), m);
        json_decref(c);
    }
}
END_TEST

/* A dana run over MPI stopped half way (--stop-after, exit 4, a checkpoint
 * with the momenta gathered from the shards) and resumed continues exactly
 * as the run that was not stopped: one server rank, and two with momentum
 * auto (each shard's statistics in the checkpoint). */
START_TEST(dana_resumes_bit_for_bit)
{
    const char *whole[] = {"--transport", "mpi", "--method", "dana", NULL};
    const char *stop[] = {"--transport", "mpi", "--method", "dana", "--stop-after", "18", NULL};
    expect_exit(train(2, "dana_whole", whole), 0, "dana_whole");
    expect_exit(train(2, "dana_stop", stop), 4, "dana_stop");
    resume_np_equals(2, "dana_stop", "dana_whole");
    const char *own[] = {"method.dana_u", "method.auto_tau_sum", "method.auto_count", NULL};
    run_expect_same_sections(dir_of("dana_stop"), dir_of("dana_whole"), own);

    const char *whole2[] = {"--transport", "mpi", "--server-ranks", "2", "--method", "dana",
                            "--momentum", "auto", NULL};
    const char *stop2[] = {"--transport", "mpi", "--server-ranks", "2", "--method", "dana",
                           "--momentum", "auto", "--stop-after", "18", NULL};
    expect_exit(train(3, "auto_whole", whole2), 0, "auto_whole");
    expect_exit(train(3, "auto_stop", stop2), 4, "auto_stop");
    resume_np_equals(3, "auto_stop", "auto_whole");
    /* log.csv's momentum: auto's mu at tau 0 is its target. */
    char *mu = run_log_columns(dir_of("auto_whole"), "00000000000000001");
    ck_assert_msg(strcmp(mu, "momentum,\n0.9,\n0.9,\n0.9,\n") == 0, "momentum column:\n%s", mu);
    free(mu);
    const char *own2[] = {"method.dana_u", "mpi.auto_shards", NULL};
    run_expect_same_sections(dir_of("auto_stop"), dir_of("auto_whole"), own2);
    uint64_t size = 0;
    char *shards = run_ckpt_section(dir_of("auto_whole"), "mpi.auto_shards", &size);
    ck_assert_int_eq((int)size, 4 * (int)sizeof(double));
    double st[4];
    memcpy(st, shards, sizeof st);
    free(shards);
    /* 36 pushes on each shard, all at tau 0 (one worker). */
    ck_assert(st[0] == 0 && st[1] == 36 && st[2] == 0 && st[3] == 36);
}
END_TEST

/* final.json of a bounded run with 3 epochs of 12 steps: completed, every
 * step applied, no tau above `bound` in the histogram; its dropped count,
 * which log.csv's dropped column (the 18th) sums to and, in a run that was
 * not resumed (the workers' seconds are the last invocation's), which the
 * workers' gradients exceed the steps by. */
static int64_t expect_bounded(const char *name, int bound, int resumed)
{
    json_t *f = run_json(name, "final.json");
    ck_assert_str_eq(json_string_value(json_object_get(f, "status")), "completed");
    json_t *st = json_object_get(f, "staleness");
    ck_assert_int_eq(json_integer_value(json_object_get(st, "count")), 36);
    json_t *h = json_object_get(st, "histogram");
    ck_assert_msg(json_array_size(h) > 0, "%s: no staleness histogram", name);
    for (size_t i = 0; i < json_array_size(h); i++) {
        json_int_t tau = json_integer_value(json_array_get(json_array_get(h, i), 0));
        ck_assert_msg(tau <= bound, "%s: %lld pushes applied at tau %lld > %d", name,
                      (long long)json_integer_value(json_array_get(json_array_get(h, i), 1)),
                      (long long)tau, bound);
    }
    json_t *d = json_object_get(st, "dropped");
    ck_assert_msg(json_is_integer(d), "%s: final.json has no staleness.dropped", name);
    int64_t dropped = json_integer_value(d);
    json_int_t grads = json_integer_value(
        json_object_get(json_object_get(json_object_get(f, "mpi"), "worker_seconds"), "gradients"));
    ck_assert_msg(resumed || grads == 36 + dropped, "%s: %lld gradients pushed for 36 steps and %lld dropped",
                  name, (long long)grads, (long long)dropped);
    json_decref(f);
    char *col = run_log_columns(dir_of(name), "000000000000000001");
    ck_assert_msg(strncmp(col, "dropped,\n", 9) == 0, "%s: log.csv has no dropped column:\n%s",
                  name, col);
    int64_t sum = 0;
    for (const char *p = col + 9; *p; p = strchr(p, '\n') + 1)
        sum += atoll(p);
    ck_assert_msg(sum == dropped, "%s: log.csv's dropped sum to %lld, final.json says %lld", name,
                  (long long)sum, (long long)dropped);
    free(col);
    return dropped;
}

/* Stale-synchronous parallel and the drop policy over 3 worker ranks. */
START_TEST(bounded_staleness_holds)
{
    for (int i = 0; i < 4; i++) {
        const char *bound = i % 2 ? "1" : "0";
        int servers = i < 2 ? 1 : 2;
        char name[32];
        snprintf(name, sizeof name, "wait%s_s%d", bound, servers);
        const char *a[] = {"--transport", "mpi", "--max-staleness", bound,
                           servers > 1 ? "--server-ranks" : NULL, "2", NULL};
        expect_exit(train(servers + 3, name, a), 0, name);
        ck_assert_int_eq(expect_bounded(name, atoi(bound), 0), 0);
    }
    const char *drop[] = {"--transport", "mpi", "--server-ranks", "2", "--max-staleness", "0",
                          "--stale-policy", "drop", NULL};
    expect_exit(train(5, "drop0_s2", drop), 0, "drop0_s2");
    expect_bounded("drop0_s2", 0, 0);
    json_t *c = run_json("drop0_s2", "config.json");
    json_t *m = json_object_get(json_object_get(c, "settings"), "mpi");
    ck_assert_int_eq(json_integer_value(json_object_get(m, "max_staleness")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(m, "stale_policy")), "drop");
    json_decref(c);
}
END_TEST

/* One worker rank: the async order is fixed and tau is 0, so a bounded run
 * over MPI is the in-process bounded run with one worker bit for bit (dana,
 * so that the in-process run goes through the server), with one server rank
 * (wait) and two (drop, which then drops nothing); stopped and resumed, it
 * continues bit for bit. Three worker ranks under the drop policy, stopped
 * and resumed, complete the run with the count carried over. */
START_TEST(bounded_equals_threads_and_resumes)
{
    const char *a1[] = {"--transport", "mpi", "--method", "dana", "--max-staleness", "0", NULL};
    const char *a2[] = {"--transport", "mpi", "--server-ranks", "2", "--method", "dana",
                        "--max-staleness", "0", "--stale-policy", "drop", NULL};
    const char *at[] = {"--workers", "1", "--mode", "async", "--method", "dana",
                        "--max-staleness", "0", NULL};
    const char *stop[] = {"--transport", "mpi", "--method", "dana", "--max-staleness", "0",
                          "--stop-after", "18", NULL};
    expect_exit(train(2, "b_s1", a1), 0, "b_s1");
    expect_exit(train(3, "b_s2", a2), 0, "b_s2");
    expect_exit(train(0, "b_threads", at), 0, "b_threads");
    run_expect_same_log(dir_of("b_s1"), dir_of("b_threads"), TRAJECTORY);
    run_expect_same_sections(dir_of("b_s1"), dir_of("b_threads"), STATE);
    run_expect_same_log(dir_of("b_s2"), dir_of("b_s1"), TRAJECTORY);
    run_expect_same_sections(dir_of("b_s2"), dir_of("b_s1"), STATE);
    const char *own[] = {"method.dana_u", NULL};
    run_expect_same_sections(dir_of("b_s2"), dir_of("b_threads"), own);
    expect_exit(train(2, "b_stop", stop), 4, "b_stop");
    resume_np_equals(2, "b_stop", "b_s1");
    run_expect_same_sections(dir_of("b_stop"), dir_of("b_s1"), own);

    const char *drop_stop[] = {"--transport", "mpi", "--server-ranks", "2", "--max-staleness",
                               "0", "--stale-policy", "drop", "--stop-after", "18", NULL};
    expect_exit(train(5, "d_stop", drop_stop), 4, "d_stop");
    char out[200];
    snprintf(out, sizeof out, "%s/d_stop.resumed.out", root);
    const char *argv[] = {mpirun, "-np", "5", "--oversubscribe", tool_path(), "train",
                          "--resume", dir_of("d_stop"), NULL};
    expect_exit(tool_wait(tool_spawn(out, argv)), 0, "d_stop");
    expect_bounded("d_stop", 0, 1);
}
END_TEST

/* The number of lines of `name`'s output that contain `needle`. */
static int lines_with(const char *name, const char *needle)
{
    char *s = output(name);
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    free(s);
    return n;
}

/* A loss that leaves --divergence-loss on a worker rank (lr 50, momentum
 * 0.99: huge but finite) ends the job as diverged, as NaN/Inf does. */
/* Every worker rank runs the convolution algorithms the first worker's nets
 * were built with, and a resumed run those of the run it continues: in sync
 * mode (a fixed order) a run whose second worker alone is told
 * MUTAU_CONV_ALG=winograd equals the all-direct run; a run stopped under
 * winograd and resumed under direct, with the machine's record absent and
 * unwritable, equals the uninterrupted winograd run. */
START_TEST(ranks_and_resumes_share_the_convolution_choices)
{
    const char *sync_mpi[] = {"--transport", "mpi", "--mode", "sync", NULL};
    setenv("MUTAU_CONV_ALG", "direct", 1);
    expect_exit(train(3, "direct", sync_mpi), 0, "direct");
    /* mpirun -np 2 mutau ... : -np 1 env MUTAU_CONV_ALG=winograd mutau ... */
    const char *tiny[] = {"train", "--data", data_dir, "--model", "resnet8", "--width", "16",
                          "--lr", "0.05", "--schedule", "cosine", "--epochs", "3", "--batch",
                          "16", "--progress", "plain", "--threads", "1", "--eval-batch", "32",
                          "--out", dir_of("mixed"), "--transport", "mpi", "--mode", "sync", NULL};
    const char *argv[96];
    int n = 0;
    for (const char *a0[] = {mpirun, "-np", "2", "--oversubscribe", tool_path(), NULL}, **a = a0;
         *a; a++)
        argv[n++] = *a;
    for (int i = 0; tiny[i]; i++)
        argv[n++] = tiny[i];
    for (const char *a1[] = {":", "-np", "1", "env", "MUTAU_CONV_ALG=winograd", tool_path(), NULL},
                    **a = a1;
         *a; a++)
        argv[n++] = *a;
    for (int i = 0; tiny[i]; i++)
        argv[n++] = tiny[i];
    argv[n] = NULL;
    char out[200];
    snprintf(out, sizeof out, "%s/mixed.out", root);
    expect_exit(tool_wait(tool_spawn(out, argv)), 0, "mixed");
    run_expect_same_log(dir_of("mixed"), dir_of("direct"), TRAJECTORY);
    run_expect_same_sections(dir_of("mixed"), dir_of("direct"), STATE);

    setenv("MUTAU_CONV_ALG", "winograd", 1);
    expect_exit(train(3, "wino", sync_mpi), 0, "wino");
    const char *stop[] = {"--transport", "mpi", "--mode", "sync", "--stop-after", "7", NULL};
    expect_exit(train(3, "wino_stop", stop), 4, "wino_stop");
    char cache[200];
    snprintf(cache, sizeof cache, "%s/no-such-dir/conv-algorithms", root);
    setenv("MUTAU_CONV_CACHE", cache, 1);
    setenv("MUTAU_CONV_ALG", "direct", 1);
    resume_equals("wino_stop", "wino");
    unsetenv("MUTAU_CONV_ALG");
    unsetenv("MUTAU_CONV_CACHE");
    /* the power of the test: the two algorithms give other parameters here */
    uint64_t na = 0, nb = 0;
    char *pa = run_ckpt_section(dir_of("wino"), "params", &na);
    char *pb = run_ckpt_section(dir_of("direct"), "params", &nb);
    ck_assert(na == nb && memcmp(pa, pb, na) != 0);
    free(pa);
    free(pb);
}
END_TEST

START_TEST(loss_above_the_bound_diverges)
{
    const char *a[] = {"--transport", "mpi", "--lr", "50", "--momentum", "0.99", NULL};
    expect_exit(train(3, "div", a), 3, "div");
    expect_line("div", "exceeds --divergence-loss");
    json_t *f = run_json("div", "final.json");
    ck_assert_str_eq(json_string_value(json_object_get(f, "status")), "diverged");
    json_decref(f);
}
END_TEST

START_TEST(bad_setups_exit_2)
{
    const char *mpi[] = {"--transport", "mpi", NULL};
    expect_exit(train(0, "outside", mpi), 2, "outside");
    expect_line("outside", "mutau train: --transport mpi: not started by mpirun");
    expect_exit(train(1, "alone", mpi), 2, "alone");
    expect_line("alone", "the world has one rank");
    const char *delay[] = {"--transport", "mpi", "--mode", "delay", NULL};
    expect_exit(train(2, "delay", delay), 2, "delay");
    expect_line("delay", "--mode delay: delay mode simulates staleness in one process");
    /* Every rank finds these; rank 0 alone says so. */
    const char *dana_sync[] = {"--transport", "mpi", "--mode", "sync", "--method", "dana", NULL};
    expect_exit(train(3, "dana_sync", dana_sync), 2, "dana_sync");
    ck_assert_int_eq(lines_with("dana_sync", "mutau train: "), 1);
    expect_line("dana_sync", "mutau train: --method dana: not with --mode sync");
    const char *bounded[] = {"--transport", "mpi", "--mode", "sync", "--max-staleness", "2",
                             NULL};
    expect_exit(train(3, "bounded", bounded), 2, "bounded");
    ck_assert_int_eq(lines_with("bounded", "mutau train: "), 1);
    expect_line("bounded", "mutau train: --max-staleness: only with --mode async");
    /* Two programs in one world (mpirun's A : B): the last rank differs. */
    const char *seed[] = {"--transport", "mpi", ":", "-np", "1", tool_path(), "train", "--data",
                          data_dir, "--model", "resnet8", "--epochs", "3", "--batch", "16",
                          "--threads", "1", "--seed", "7", "--transport", "mpi", "--out",
                          dir_of("flags"), NULL};
    expect_exit(train(2, "flags", seed), 2, "flags");
    expect_line("flags", "mutau train: rank 2: started with other flags than rank 0");
    const char *data[] = {"--transport", "mpi", ":", "-np", "1", tool_path(), "train", "--data",
                          "/nonexistent-mutau-data", "--transport", "mpi", "--out",
                          dir_of("data"), NULL};
    expect_exit(train(2, "data", data), 2, "data");
    expect_line("data", "mutau train: rank 2: --data: /nonexistent-mutau-data");
}
END_TEST

static Suite *train_mpi_suite(void)
{
    Suite *s = suite_create("train_mpi");
    TCase *tc = tcase_create("mpirun");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, sync_equals_threads_and_resumes);
    tcase_add_test(tc, ranks_and_resumes_share_the_convolution_choices);
    tcase_add_test(tc, async_applies_every_push);
    tcase_add_test(tc, loss_above_the_bound_diverges);
    tcase_add_test(tc, bad_setups_exit_2);
    suite_add_tcase(s, tc);
    TCase *m = tcase_create("methods");
    tcase_add_checked_fixture(m, setup, teardown);
    tcase_set_timeout(m, 600);
    tcase_add_test(m, methods_equal_threads);
    tcase_add_test(m, dana_resumes_bit_for_bit);
    suite_add_tcase(s, m);
    TCase *b = tcase_create("bounded");
    tcase_add_checked_fixture(b, setup, teardown);
    tcase_set_timeout(b, 600);
    tcase_add_test(b, bounded_staleness_holds);
    tcase_add_test(b, bounded_equals_threads_and_resumes);
    suite_add_tcase(s, b);
    return s;
}

MT_CHECK_MAIN(train_mpi_suite)
