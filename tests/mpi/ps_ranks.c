/* ps_ranks.c: the multi-rank checks of the MPI parameter server
 * (ps/mpi_ps.h), started by tests/test_mpi.c under mpirun on localhost.
 *
 *     ps_ranks CHECK S STEPS STEPS_PER_EPOCH [SLEEP_MS [BOUND]]
 *
 * S server ranks, the rest workers, on a least-squares problem whose
 * gradient depends on the batch number (so a lost or repeated batch shows):
 *   sync   MPI sync mode against the in-process sync mode with the same W
 *          (ps/ps.h), run on rank 0 afterwards: theta, velocity, state and
 *          every epoch-end snapshot must be equal bit for bit.
 *   async  every batch handed out exactly once and every push applied: the
 *          BN-state slot counts pushes, sums batch numbers and their squares
 *          (state momentum 0 adds each worker's increment); each push's
 *          report (its batch number) reaches rank 0 with the push; the final
 *          version equals STEPS, each epoch's histogram holds STEPS_PER_EPOCH pushes;
 *          prints tau's mean (workers sleep SLEEP_MS per gradient).
 *   wait, drop   async with bounded staleness (max staleness BOUND, the
 *          wait or the drop policy), workers of unequal speed (worker w
 *          sleeps (w + 1) SLEEP_MS per gradient): no applied push has
 *          tau > BOUND, STEPS pushes applied (the state's count), every
 *          batch handed out exactly once (the reports: batches 0 ..
 *          STEPS + dropped - 1, each once; the applied ones the wait
 *          policy's 0 .. STEPS - 1), epoch ends quiescent; every server
 *          rank prints its own shard's tau histogram ("shard R tau ..."),
 *          which must be the same on every shard.
 *   fail   worker 0 fails at its third gradient: the run ends on every rank with its
 *          status and rank 0 has its message naming the rank (with a BOUND:
 *          under bounded staleness, the wait policy).
 *   agree  the start-up agreements: rank 2's settings hash differs, rank 1
 *          fails to read its data.
 * Rank 0 prints "ok ..." lines and exits 0 when the checks pass; any rank
 * prints "FAIL ..." and exits 1 otherwise.
 */
#include "core/status.h"
#include "ps/mpi.h"
#include "ps/mpi_ps.h"
#include "ps/mpi_transport.h"
#include "ps/ps.h"
#include "trainer/worker.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { N = 1003, N_STATE = 5, MAX_EPOCHS = 64 };

struct run_log {
    int epochs;
    uint64_t snapshot[MAX_EPOCHS]; /* hash of theta and state at each epoch end */
    int64_t version[MAX_EPOCHS];
    int64_t tau_count[MAX_EPOCHS];
};

static int counting; /* async check: the state counts pushes and batches */
static double run_seconds; /* rank 0: the server's run, wall time */
static int sleep_ms; /* per gradient (bounded checks: times the worker index + 1) */
static int fail_after = -1; /* fail check: this worker fails at its gradient number 3 */

/* One worker's buffers: the trainer's worker loop (trainer/worker.h) runs
 * them over the in-process transport and over MPI (ps/mpi_transport.h). */
struct worker {
    float params[N], grad[N], state[N_STATE];
    double report; /* what the push reports: the batch number */
};

static int gradient(void *ctx, const float *theta, int64_t version, int64_t batch, float *state,
                    float *grad);

static int worker_step(void *ctx, const mt_ticket *tk)
{
    struct worker *w = ctx;
    if (--fail_after == 0)
        return mt_error(MT_ERR_DIVERGED, "loss is NaN at batch %lld", (long long)tk->batch);
    w->report = (double)tk->batch;
    return gradient(NULL, w->params, tk->version, tk->batch, w->state, w->grad);
}

static int worker_main(void *ctx, mt_transport *t, int id)
{
    struct worker *w = ctx;
    mt_worker loop = {w->params, w->state, w->grad, worker_step, w};
    return mt_worker_loop(&loop, t, id);
}

static uint64_t hash_floats(uint64_t h, const float *x, size_t n)
{
    const unsigned char *b = (const unsigned char *)x;
    for (size_t i = 0; i < n * sizeof(float); i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* The gradient of batch `batch` at theta; the state as a BN forward would
 * update it (or, when counting, the push counters). */
static int gradient(void *ctx, const float *theta, int64_t version, int64_t batch, float *state,
                    float *grad)
{
    for (int i = 0; i < N; i++) {
        float a = 0.5f + (float)(i % 7) / 7.0f;
        float target = cosf(0.01f * (float)i + 0.3f * (float)batch);
        grad[i] = a * (theta[i] - target);
    }
    if (counting) {
        state[0] += 1.0f;
        state[1] += (float)batch;
        state[2] += (float)(batch * batch);
    } else {
        for (int j = 0; j < N_STATE; j++)
            state[j] = 0.9f * state[j] + 0.1f * sinf((float)j + (float)batch);
    }
    if (sleep_ms > 0) {
        struct timespec ts = {0, 1000000L * sleep_ms};
        nanosleep(&ts, NULL);
    }
    return MT_OK;
}

static void problem(mt_ps_server_config *sc, mt_msgd_ranges *decay, float *theta0)
{
    mt_ps_server_config_default(sc, N, N_STATE);
    sc->schedule.kind = MT_SCHED_MULTISTEP;
    sc->schedule.base_lr = 0.05;
    sc->schedule.gamma = 0.5;
    sc->schedule.milestones[0] = 2;
    sc->schedule.n_milestones = 1;
    sc->state_momentum = counting ? 0.0 : 0.1;
    mt_msgd_ranges_init(decay, N);
    mt_msgd_ranges_add(decay, 0, 300, 1);
    mt_msgd_ranges_add(decay, 300, 350, 0);
    mt_msgd_ranges_add(decay, 650, N - 650, 1);
    sc->decay = decay;
    for (int i = 0; i < N; i++)
        theta0[i] = sinf(0.37f * (float)i);
}

static int record(struct run_log *log, const float *theta, const float *state, int64_t version,
                  const mt_tau_hist *tau)
{
    if (log->epochs >= MAX_EPOCHS)
        return 1;
    int e = log->epochs++;
    log->snapshot[e] = hash_floats(hash_floats(14695981039346656037ull, theta, N), state,
                                   N_STATE);
    log->version[e] = version;
    log->tau_count[e] = tau->count;
    return MT_OK;
}

static int mpi_epoch(void *ctx, mt_mpi_server *srv, int64_t epoch, const mt_tau_hist *tau)
{
    return record(ctx, mt_mpi_server_theta(srv), mt_mpi_server_state(srv),
                  mt_mpi_server_version(srv), tau);
}

static int local_epoch(void *ctx, mt_ps *ps, int64_t epoch, const mt_tau_hist *tau)
{
    mt_ps_server *s = mt_ps_server_of(ps);
    return record(ctx, mt_ps_server_theta(s), mt_ps_server_state(s), mt_ps_server_version(s),
                  tau);
}

/* Rank 0: each push's report is its batch number, which rank 0 knows too. */
static int64_t reports, reports_wrong;
static double report_sum, report_sum2; /* of the reported batch numbers */
static int on_report(void *ctx, int worker, int64_t batch, const double *report)
{
    reports++;
    reports_wrong += report[0] != (double)batch;
    report_sum += report[0];
    report_sum2 += report[0] * report[0];
    return 0;
}

static int fail(const char *what)
{
    printf("FAIL %s\n", what);
    return 1;
}

/* The in-process sync run with W workers, compared with rank 0's result. */
static int compare_in_process(mt_mpi_server *srv, const mt_ps_server_config *sc,
                              const float *theta0, int W, int S, int64_t steps, int64_t spe,
                              const struct run_log *mpi_log)
{
    mt_ps_config cfg;
    mt_ps_config_default(&cfg);
    cfg.mode = MT_PS_SYNC;
    cfg.workers = W;
    cfg.threads = 1;
    cfg.oversubscribe = 1;
    cfg.steps_per_epoch = spe;
    cfg.worker_main = worker_main;
    static struct worker local[64];
    void *ctx[64];
    for (int i = 0; i < W && i < 64; i++)
        ctx[i] = &local[i];
    cfg.worker_ctx = ctx;
    struct run_log log = {0};
    cfg.epoch_end = local_epoch;
    cfg.epoch_ctx = &log;
    mt_ps *ps;
    if (mt_ps_create(&ps, sc, &cfg, theta0, NULL) < 0 || mt_ps_run(ps, steps) < 0)
        return fail(mt_errmsg());
    mt_ps_server *s = mt_ps_server_of(ps);
    int bad = memcmp(mt_ps_server_theta(s), mt_mpi_server_theta(srv), N * sizeof(float)) != 0 ||
              memcmp(mt_ps_server_velocity(s), mt_mpi_server_velocity(srv),
                     N * sizeof(float)) != 0 ||
              memcmp(mt_ps_server_state(s), mt_mpi_server_state(srv),
                     N_STATE * sizeof(float)) != 0;
    int epochs_bad = log.epochs != mpi_log->epochs ||
                     memcmp(log.snapshot, mpi_log->snapshot, sizeof log.snapshot) != 0 ||
                     memcmp(log.version, mpi_log->version, sizeof log.version) != 0;
    mt_ps_free(ps);
    if (bad)
        return fail("sync over MPI differs from the in-process sync mode");
    if (epochs_bad)
        return fail("sync over MPI: an epoch-end snapshot differs from the in-process one");
    printf("ok sync W=%d S=%d: %lld steps, %d epoch ends equal to in-process bit for bit, "
           "theta hash %016llx\n", W, S, (long long)steps, log.epochs,
           (unsigned long long)hash_floats(14695981039346656037ull, mt_mpi_server_theta(srv), N));
    return 0;
}

/* The sums of 0 .. n - 1 and of their squares. */
static void batch_sums(int64_t n, double *sum, double *sum2)
{
    *sum = *sum2 = 0;
    for (int64_t b = 0; b < n; b++) {
        *sum += (double)b;
        *sum2 += (double)b * (double)b;
    }
}

/* Every epoch end quiescent at its version with its epoch's pushes. */
static int epochs_quiescent(const struct run_log *log, int64_t steps, int64_t spe)
{
    if (log->epochs != steps / spe)
        return 0;
    for (int e = 0; e < log->epochs; e++)
        if (log->version[e] != (e + 1) * spe || log->tau_count[e] != spe)
            return 0;
    return 1;
}

static int check_async(mt_mpi_server *srv, int64_t steps, int64_t spe, const struct run_log *log)
{
    const float *st = mt_mpi_server_state(srv);
    double pushes = (double)steps, sum, sum2;
    batch_sums(steps, &sum, &sum2);
    mt_tau_hist *tau = mt_mpi_server_tau_total(srv);
    if (mt_mpi_server_version(srv) != steps || tau->count != steps)
        return fail("async: the final version or the push count is not STEPS");
    if (st[0] != pushes || st[1] != sum || st[2] != sum2)
        return fail("async: a batch was lost or repeated (state counters)");
    if (reports != steps || reports_wrong)
        return fail("async: a push's report did not arrive with its batch number");
    if (!epochs_quiescent(log, steps, spe))
        return fail("async: an epoch end missing or not quiescent at its version");
    mt_mpi_timing t;
    mt_mpi_server_timing(srv, &t);
    printf("ok async: %lld pushes, every batch once, %d epoch ends\n", (long long)steps,
           log->epochs);
    printf("tau_mean %.4f tau_max %lld server_busy_per_push_ms %.4f worker_comm_share %.4f "
           "wall_per_push_us %.1f\n",
           mt_tau_hist_mean(tau), (long long)tau->max,
           t.server_pushes ? 1e3 * t.server_busy_s / (double)t.server_pushes : 0.0,
           t.worker_comm_s / (t.worker_comm_s + t.worker_compute_s + 1e-12),
           1e6 * run_seconds / (double)steps);
    return 0;
}

/* Bounded staleness: the bound held, STEPS applied, every batch handed out once. */
static int check_bounded(mt_mpi_server *srv, int drop, int64_t bound, int64_t steps, int64_t spe,
                         const struct run_log *log)
{
    const float *st = mt_mpi_server_state(srv);
    mt_tau_hist *tau = mt_mpi_server_tau_total(srv);
    int64_t dropped = mt_mpi_server_dropped(srv);
    double sum, sum2, rsum, rsum2;
    batch_sums(steps, &sum, &sum2);
    batch_sums(steps + dropped, &rsum, &rsum2);
    if (mt_mpi_server_version(srv) != steps || tau->count != steps || st[0] != (double)steps)
        return fail("bounded: the final version or the pushes applied are not STEPS");
    if (tau->max > bound)
        return fail("bounded: an applied push had tau > the bound");
    if (!drop && (dropped != 0 || st[1] != sum || st[2] != sum2))
        return fail("wait: a batch was lost, repeated or dropped");
    if (reports != steps + dropped || reports_wrong || report_sum != rsum || report_sum2 != rsum2)
        return fail("bounded: the batches handed out are not 0 .. STEPS + dropped - 1, each once");
    if (!epochs_quiescent(log, steps, spe))
        return fail("bounded: an epoch end missing or not quiescent at its version");
    printf("ok %s: %lld pushes applied, %lld dropped, tau max %lld <= %lld, %d epoch ends\n",
           drop ? "drop" : "wait", (long long)steps, (long long)dropped, (long long)tau->max,
           (long long)bound, log->epochs);
    printf("tau_mean %.4f wall_per_push_us %.1f\n", mt_tau_hist_mean(tau),
           1e6 * run_seconds / (double)steps);
    return 0;
}

/* Every server rank: its shard's own tau histogram, to compare across shards. */
static void print_shard_tau(mt_mpi_server *srv, int rank)
{
    const mt_tau_hist *h = mt_mpi_server_tau_total(srv);
    uint64_t x = 14695981039346656037ull;
    for (int64_t t = 0; t <= h->max && t < MT_TAU_BINS; t++)
        x = (x ^ (uint64_t)h->bin[t]) * 1099511628211ull;
    printf("shard %d tau count %lld sum %lld max %lld hist %016llx\n", rank, (long long)h->count,
           (long long)h->sum, (long long)h->max, (unsigned long long)x);
}

static int run_server(mt_mpi *m, const char *check, int64_t steps, int64_t spe, int64_t bound)
{
    mt_ps_server_config sc;
    mt_msgd_ranges decay;
    static float theta0[N];
    problem(&sc, &decay, theta0);
    mt_mpi_ps_config cfg;
    mt_mpi_ps_config_default(&cfg);
    cfg.mode = strcmp(check, "sync") == 0 ? MT_PS_SYNC : MT_PS_ASYNC;
    cfg.steps_per_epoch = spe;
    struct run_log log = {0};
    cfg.epoch_end = mpi_epoch;
    cfg.epoch_ctx = &log;
    cfg.n_report = 1;
    cfg.on_report = on_report;
    int drop = strcmp(check, "drop") == 0, bounded = drop || strcmp(check, "wait") == 0;
    if (bounded || bound >= 0) { /* fail with a BOUND: under the wait policy */
        cfg.max_staleness = bound < 0 ? 0 : bound;
        cfg.stale_policy = drop ? MT_PS_STALE_DROP : MT_PS_STALE_WAIT;
    }
    mt_mpi_server *srv;
    int rc = mt_mpi_server_create(&srv, m, &sc, &cfg, theta0, NULL);
    if (rc < 0) {
        mt_msgd_ranges_free(&decay);
        return fail(mt_errmsg());
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = mt_mpi_server_run(srv, steps);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    run_seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    int status = 0;
    char expect[64];
    /* the rank, then the worker loop's "worker W, batch B: ", then the step's message */
    snprintf(expect, sizeof expect, "rank %d: worker 0, batch ", mt_mpi_servers(m));
    if (strcmp(check, "fail") == 0) {
        if (rc != MT_ERR_DIVERGED)
            status = fail("fail: the run did not end with the worker's status");
        else if (mt_mpi_rank(m) == 0 &&
                 (!strstr(mt_errmsg(), expect) || !strstr(mt_errmsg(), ": loss is NaN at batch")))
            status = fail(mt_errmsg());
        else if (mt_mpi_rank(m) == 0)
            printf("ok fail: %s\n", mt_errmsg());
    } else if (rc < 0) {
        status = fail(mt_errmsg());
    } else if (bounded) {
        print_shard_tau(srv, mt_mpi_rank(m));
        if (mt_mpi_rank(m) == 0)
            status = check_bounded(srv, drop, bound, steps, spe, &log);
    } else if (mt_mpi_rank(m) == 0) {
        status = cfg.mode == MT_PS_SYNC
                     ? compare_in_process(srv, &sc, theta0, mt_mpi_workers(m), mt_mpi_servers(m),
                                                 steps, spe, &log)
                     : check_async(srv, steps, spe, &log);
    }
    mt_mpi_server_free(srv);
    mt_msgd_ranges_free(&decay);
    return status;
}

static int run_worker(mt_mpi *m)
{
    static struct worker w;
    mt_mpi_worker *mw;
    if (mt_mpi_worker_create(&mw, m, N, N_STATE, 1) < 0)
        return fail(mt_errmsg());
    mt_mpi_transport t;
    mt_mpi_transport_init(&t, mw, &w.report);
    int rc = worker_main(&w, &t.base, mt_mpi_worker_index(m));
    mt_mpi_worker_free(mw);
    /* A failure that was the check's own is rank 0's to report. */
    return rc < 0 && rc != MT_ERR_DIVERGED ? fail(mt_errmsg()) : 0;
}

static int check_agreements(mt_mpi *m)
{
    int r = mt_mpi_rank(m);
    int mismatch = mt_mpi_first_mismatch(m, r == 2 ? 42 : 7);
    int failed = mt_mpi_first_failure(m, r == 1 ? MT_ERR_IO : MT_OK);
    int none = mt_mpi_first_failure(m, MT_OK);
    if (mismatch != 2 || failed != 1 || none != -1)
        return fail("agree: wrong rank for a mismatch or a failure");
    if (r == 0)
        printf("ok agree: settings differ on rank %d, data unreadable on rank %d\n", mismatch,
               failed);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: ps_ranks sync|async|wait|drop|fail|agree S STEPS "
                "STEPS_PER_EPOCH [SLEEP_MS [BOUND]]\n");
        return 2;
    }
    const char *check = argv[1];
    int S = atoi(argv[2]);
    int64_t steps = atoll(argv[3]), spe = atoll(argv[4]);
    sleep_ms = argc > 5 ? atoi(argv[5]) : 0;
    int64_t bound = argc > 6 ? atoll(argv[6]) : -1;
    int bounded = strcmp(check, "wait") == 0 || strcmp(check, "drop") == 0;
    counting = strcmp(check, "async") == 0 || bounded;
    mt_mpi *m;
    if (mt_mpi_init(&m, S) < 0) {
        printf("FAIL %s\n", mt_errmsg());
        return 2;
    }
    if (strcmp(check, "fail") == 0 && mt_mpi_worker_index(m) == 0)
        fail_after = 3;
    if (bounded && !mt_mpi_is_server(m))
        sleep_ms *= 1 + mt_mpi_worker_index(m); /* unequal workers: tau has work to bound */
    int status;
    if (strcmp(check, "agree") == 0)
        status = check_agreements(m);
    else if (mt_mpi_is_server(m))
        status = run_server(m, check, steps, spe, bound);
    else
        status = run_worker(m);
    if (mt_mpi_rank(m) == 0 && strcmp(check, "agree") != 0)
        printf("roles: %d ranks, %d server, %d workers, %d host(s)\n", mt_mpi_size(m),
               mt_mpi_servers(m), mt_mpi_workers(m), mt_mpi_hosts(m));
    fflush(stdout);
    mt_mpi_finalize(m);
    return status;
}
