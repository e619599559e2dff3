/* test_ps_modes.c: the three modes of ps/ps.h on a least-squares problem
 * whose gradient the tests compute themselves:
 *   - delay mode with tau = 0 is plain momentum SGD, bit for bit;
 *   - delay mode with a fixed tau > 0 follows a trajectory worked out by hand,
 *     and longer ones computed independently, to rounding;
 *   - random delays: the gradient is taken at exactly theta_{k - tau_k};
 *     reproducible from the seed, and a run stopped and restored from its
 *     state continues bit for bit;
 *   - async: no push lost, every batch used once, epoch callbacks on a
 *     quiescent server, mean tau close to W - 1 for W equal workers, one
 *     worker equals delay 0;
 *   - sync: equals one worker stepping on the averaged gradient;
 *   - failures and stop requests end a run cleanly with their status.
 * The workers are the trainer's worker loop (trainer/worker.h) with the
 * test problem's gradient as its step. The trainer-level test (delay 0 equals
 * the single-process trainer) belongs with the trainer, which plugs its
 * network into the same loop. */
#include "core/rng.h"
#include "core/status.h"
#include "optim/msgd.h"
#include "ps/ps.h"
#include "ps/ps_ckpt.h"
#include "tests/check_main.h"
#include "tests/round_barrier.h"
#include "trainer/worker.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- the test problem ------------------------------------------------------
 * Batch b's loss is 0.5 * sum_i a_i (theta_i - c_{b,i})^2, so its gradient is
 * a_i (theta_i - c_{b,i}), with a_i in [0.5, 1.5] and c_b drawn from (77, b).
 * Its "batch statistics" are c_b's first n_state entries, merged as a BN
 * forward does: s = (1 - m) s + m c with m = 0.1. */

enum { PN = 300, PSTATE = 6 };
static const float BN_M = 0.1f;

static void problem_curvature(float *a)
{
    mt_rng r;
    mt_rng_seed(&r, 76, 0);
    for (int i = 0; i < PN; i++)
        a[i] = 0.5f + (float)mt_rng_uniform(&r);
}

static void problem_target(int64_t batch, float *c)
{
    mt_rng r;
    mt_rng_seed(&r, 77, (uint64_t)batch);
    for (int i = 0; i < PN; i++)
        c[i] = (float)mt_rng_normal(&r);
}

typedef int (*grad_fn)(void *ctx, const float *theta, int64_t version, int64_t batch,
                       float *state, float *grad);

struct wctx {
    grad_fn grad;           /* the step's gradient (quad_grad) */
    float theta[PN];        /* the worker's buffers: pulled into, pushed from */
    float state[PSTATE];
    float g[PN];
    float a[PN];
    float c[PN];
    float state_in[PSTATE]; /* the state the callback was given */
    int sleep_us;           /* simulated compute time */
    atomic_int *seen;       /* per batch: times computed (NULL: not counted) */
    int64_t fail_at;        /* return an error at this batch (-1: never) */
    int64_t stop_at;        /* request a stop at this batch (-1: never) */
    mt_ps **ps;             /* for stop_at */
    int64_t *versions;      /* per batch: the version it was computed at (NULL: not kept) */
    int const_stats;        /* 1: every batch's statistics are {1, 2, ..., PSTATE} */
    int leaves;             /* 1: leaves after its first batch (leaving_main) */
    round_barrier *round;   /* met after every pull (NULL: none), tests/round_barrier.h */
    int64_t calls;
};

static int quad_grad(void *ctx, const float *theta, int64_t version, int64_t batch, float *state,
                     float *grad);

static void wctx_init(struct wctx *w)
{
    memset(w, 0, sizeof *w);
    problem_curvature(w->a);
    w->fail_at = -1;
    w->stop_at = -1;
    w->grad = quad_grad;
}

/* n workers with default contexts, ctx[i] = &w[i]. */
static void workers_init(struct wctx *w, void **ctx, int n)
{
    for (int i = 0; i < n; i++) {
        wctx_init(&w[i]);
        ctx[i] = &w[i];
    }
}

static void problem_gradient(struct wctx *w, const float *theta, int64_t batch, float *state,
                             float *grad)
{
    problem_target(batch, w->c);
    for (int i = 0; i < PN; i++)
        grad[i] = w->a[i] * (theta[i] - w->c[i]);
    if (state)
        for (int j = 0; j < PSTATE; j++)
            state[j] = (1.0f - BN_M) * state[j] + BN_M * w->c[j];
}

static int quad_grad(void *ctx, const float *theta, int64_t version, int64_t batch, float *state,
                     float *grad)
{
    struct wctx *w = ctx;
    w->calls++;
    if (state)
        memcpy(w->state_in, state, sizeof w->state_in);
    if (batch == w->fail_at)
        return mt_error(MT_ERR_DIVERGED, "loss of batch %lld is NaN", (long long)batch);
    if (batch == w->stop_at)
        mt_ps_request_stop(*w->ps);
    problem_gradient(w, theta, batch, state, grad);
    if (state && w->const_stats)
        for (int j = 0; j < PSTATE; j++)
            state[j] = (1.0f - BN_M) * w->state_in[j] + BN_M * (float)(j + 1);
    if (w->seen)
        atomic_fetch_add(&w->seen[batch], 1);
    if (w->versions)
        w->versions[batch] = version;
    if (w->sleep_us) {
        struct timespec ts = {0, (long)w->sleep_us * 1000L};
        nanosleep(&ts, NULL);
    }
    return MT_OK;
}

/* The worker loop's step: the gradient at the pulled theta. */
static int wctx_step(void *ctx, const mt_ticket *tk)
{
    struct wctx *w = ctx;
    if (w->round)
        round_barrier_wait(w->round);
    return w->grad(w, w->theta, tk->version, tk->batch, w->state, w->g);
}

static int wctx_main(void *ctx, mt_transport *t, int id)
{
    struct wctx *w = ctx;
    mt_worker loop = {w->theta, w->state, w->g, wctx_step, w};
    int rc = mt_worker_loop(&loop, t, id);
    if (w->round)
        round_barrier_leave(w->round);
    return rc;
}

static void server_config(mt_ps_server_config *c, int shards)
{
    mt_ps_server_config_default(c, PN, PSTATE);
    c->shards = shards;
    c->opt.momentum = 0.7;
    c->opt.weight_decay = 1e-3;
    c->schedule.kind = MT_SCHED_MULTISTEP;
    c->schedule.base_lr = 0.1;
    c->schedule.gamma = 0.5;
    c->schedule.milestones[0] = 2;
    c->schedule.n_milestones = 1;
    c->schedule.steps_per_epoch = 10;
}

static void run_config(mt_ps_config *c, int mode, int workers, void *const *ctx)
{
    mt_ps_config_default(c);
    c->mode = mode;
    c->workers = workers;
    c->threads = 1;
    c->oversubscribe = 1;
    c->steps_per_epoch = 10;
    c->worker_main = wctx_main;
    c->worker_ctx = ctx;
}

static void initial_point(float *theta, float *state)
{
    mt_rng r;
    mt_rng_seed(&r, 5, 1);
    for (int i = 0; i < PN; i++)
        theta[i] = (float)mt_rng_normal(&r);
    for (int j = 0; j < PSTATE; j++)
        state[j] = j < PSTATE / 2 ? 0.0f : 1.0f;
}

static void expect_same_bits(const char *what, const float *got, const float *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0)
            ck_abort_msg("%s: element %zu differs: %.9g, want %.9g", what, i, got[i], want[i]);
}

/* The reference: one thread, optim's update on the whole buffer, gradient at
 * history[version_of(k)]. versions == NULL means tau = 0. */
static void reference_run(const mt_ps_server_config *sc, int64_t steps, const int64_t *versions,
                          float *theta_out, float *vel_out, float *state_out)
{
    struct wctx w;
    wctx_init(&w);
    float(*hist)[PN] = malloc((size_t)(steps + 1) * sizeof *hist);
    float state[PSTATE], grad[PN];
    initial_point(hist[0], state);
    float vel[PN] = {0};
    mt_msgd_ranges all;
    mt_msgd_ranges_init(&all, PN);
    mt_msgd_ranges_add(&all, 0, PN, 1);
    for (int64_t k = 0; k < steps; k++) {
        int64_t v = versions ? versions[k] : k;
        problem_gradient(&w, hist[v], k, state, grad);
        memcpy(hist[k + 1], hist[k], sizeof hist[k]);
        mt_msgd_apply(&sc->opt, &all, hist[k + 1], vel, grad, 0, PN,
                      mt_schedule_lr(&sc->schedule, k));
    }
    memcpy(theta_out, hist[steps], sizeof hist[steps]);
    memcpy(vel_out, vel, sizeof vel);
    memcpy(state_out, state, sizeof state);
    mt_msgd_ranges_free(&all);
    free(hist);
}

static mt_ps *create_ps(const mt_ps_server_config *sc, const mt_ps_config *rc)
{
    float theta0[PN], state0[PSTATE];
    initial_point(theta0, state0);
    mt_ps *ps;
    int rc_ = mt_ps_create(&ps, sc, rc, theta0, state0);
    ck_assert_msg(rc_ == MT_OK, "mt_ps_create: %s", mt_errmsg());
    return ps;
}

static void expect_run(mt_ps *ps, int64_t steps, int want)
{
    int rc = mt_ps_run(ps, steps);
    ck_assert_msg(rc == want, "mt_ps_run: %d (%s), want %d", rc, mt_errmsg(), want);
}

static void expect_matches_reference(mt_ps *ps, const mt_ps_server_config *sc, int64_t steps,
                                     const int64_t *versions)
{
    float theta[PN], vel[PN], state[PSTATE];
    reference_run(sc, steps, versions, theta, vel, state);
    mt_ps_server *s = mt_ps_server_of(ps);
    ck_assert_int_eq(mt_ps_server_version(s), steps);
    expect_same_bits("theta", mt_ps_server_theta(s), theta, PN);
    expect_same_bits("velocity", mt_ps_server_velocity(s), vel, PN);
    expect_same_bits("state", mt_ps_server_state(s), state, PSTATE);
}

/* ---- delay mode -------------------------------------------------------------- */

START_TEST(delay_zero_is_plain_momentum_sgd_bit_for_bit)
{
    mt_ps_server_config sc;
    server_config(&sc, 4);
    struct wctx w;
    wctx_init(&w);
    void *ctx[] = {&w};
    mt_ps_config rc;
    run_config(&rc, MT_PS_DELAY, 1, ctx);
    mt_ps *ps = create_ps(&sc, &rc);
    expect_run(ps, 37, MT_OK);
    expect_matches_reference(ps, &sc, 37, NULL);
    ck_assert_int_eq(mt_ps_tau_total(ps)->count, 37);
    ck_assert_int_eq(mt_ps_tau_total(ps)->max, 0);
    mt_ps_free(ps);
}
END_TEST

/* f(x) = x^2 / 2 (gradient x), x0 = 1, lr 0.5, mu 0.5, tau 1, by hand:
 *   x1 = 1 - 0.5 * x0                        =  0.5
 *   x2 = x1 - 0.5 * x0 + 0.5 (x1 - x0)       = -0.25
 *   x3 = x2 - 0.5 * x1 + 0.5 (x2 - x1)       = -0.875
 *   x4 = x3 - 0.5 * x2 + 0.5 (x3 - x2)       = -1.0625
 * (all exact in binary). */
static int identity_grad(void *ctx, const float *theta, int64_t version, int64_t batch,
                         float *state, float *grad)
{
    grad[0] = theta[0];
    return MT_OK;
}

static void scalar_trajectory(int64_t tau, double lr, double mu, double wd, int64_t steps,
                              float *out)
{
    mt_ps_server_config sc;
    mt_ps_server_config_default(&sc, 1, 0);
    sc.opt.momentum = mu;
    sc.opt.weight_decay = wd;
    sc.schedule.base_lr = lr;
    struct wctx w;
    wctx_init(&w);
    w.grad = identity_grad;
    void *ctx[] = {&w};
    mt_ps_config rc;
    run_config(&rc, MT_PS_DELAY, 1, ctx);
    rc.delay = tau;
    rc.steps_per_epoch = 1000;
    float x0 = 1.0f;
    mt_ps *ps;
    ck_assert_int_eq(mt_ps_create(&ps, &sc, &rc, &x0, NULL), MT_OK);
    for (int64_t k = 0; k < steps; k++) {
        expect_run(ps, k + 1, MT_OK);
        out[k] = mt_ps_server_theta(mt_ps_server_of(ps))[0];
    }
    mt_ps_free(ps);
}

START_TEST(fixed_delay_follows_the_hand_computed_async_msgd_trajectory)
{
    float x[4];
    scalar_trajectory(1, 0.5, 0.5, 0.0, 4, x);
    const float want[] = {0.5f, -0.25f, -0.875f, -1.0625f};
    for (int k = 0; k < 4; k++)
        ck_assert_msg(x[k] == want[k], "x%d = %.9g, want %.9g", k + 1, x[k], want[k]);

    /* tau 3 over 60 steps against the recurrence in double:
     * x_{k+1} = x_k - lr (x_{max(k-3,0)} + wd x_k) + mu (x_k - x_{k-1}). */
    enum { K = 60 };
    const double lr = 0.1, mu = 0.6, wd = 0.01;
    float got[K];
    scalar_trajectory(3, lr, mu, wd, K, got);
    double h[K + 1];
    h[0] = 1.0;
    double worst = 0;
    for (int k = 0; k < K; k++) {
        double prev = k ? h[k - 1] : h[0];
        h[k + 1] = h[k] - lr * (h[k - 3 > 0 ? k - 3 : 0] + wd * h[k]) + mu * (h[k] - prev);
        double err = fabs(got[k] - h[k + 1]);
        worst = err > worst ? err : worst;
    }
    /* |x| stays below 1 here; float rounding of a few ops per step, compounded
     * over 60 steps of a contracting recurrence. */
    if (worst > 1e-5)
        ck_abort_msg("tau 3 trajectory: worst difference %.3g > 1e-5", worst);
}
END_TEST

/* Random delays: the versions the gradients were taken at are k - min(tau_k, k)
 * with tau_k from the same seed, and the run equals the reference that uses
 * those versions. */
START_TEST(random_delays_take_gradients_at_the_drawn_versions)
{
    enum { STEPS = 80 };
    for (int kind = MT_DELAY_UNIFORM; kind <= MT_DELAY_GEOMETRIC; kind++) {
        mt_ps_server_config sc;
        server_config(&sc, 3);
        struct wctx w;
        wctx_init(&w);
        int64_t versions[STEPS];
        w.versions = versions;
        void *ctx[] = {&w};
        mt_ps_config rc;
        run_config(&rc, MT_PS_DELAY, 1, ctx);
        rc.delay_kind = kind;
        rc.delay = 3;
        rc.seed = 99;
        mt_ps *ps = create_ps(&sc, &rc);
        expect_run(ps, STEPS, MT_OK);
        mt_delay d;
        ck_assert_int_eq(mt_delay_init(&d, kind, 3, -1, 99, 1), MT_OK);
        int64_t tau_sum = 0, tau_max = 0;
        for (int64_t k = 0; k < STEPS; k++) {
            int64_t t = mt_delay_draw(&d);
            t = t < k ? t : k;
            ck_assert_int_eq(versions[k], k - t);
            tau_sum += t;
            tau_max = t > tau_max ? t : tau_max;
        }
        mt_delay_free(&d);
        expect_matches_reference(ps, &sc, STEPS, versions);
        const mt_tau_hist *h = mt_ps_tau_total(ps);
        ck_assert_int_eq(h->count, STEPS);
        ck_assert_int_eq(h->sum, tau_sum);
        ck_assert_int_eq(h->max, tau_max);
        ck_assert_int_gt(tau_max, 3);
        mt_ps_free(ps);
    }
}
END_TEST

START_TEST(delay_mode_is_reproducible_and_resumes_bit_for_bit)
{
    enum { STEPS = 45, CUT = 17 };
    mt_ps_server_config sc;
    server_config(&sc, 2);
    struct wctx w;
    wctx_init(&w);
    void *ctx[] = {&w};
    mt_ps_config rc;
    run_config(&rc, MT_PS_DELAY, 1, ctx);
    rc.delay_kind = MT_DELAY_GEOMETRIC;
    rc.delay = 2;
    rc.seed = 3;

    mt_ps *a = create_ps(&sc, &rc);
    expect_run(a, STEPS, MT_OK);
    mt_ps *b = create_ps(&sc, &rc);
    expect_run(b, CUT, MT_OK);

    /* b's whole state through a checkpoint file into a fresh run c. */
    char dir[64], path[96];
    snprintf(dir, sizeof dir, "/tmp/mt_ps_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    mt_ckpt out;
    mt_ckpt_init(&out, 42);
    ck_assert_int_eq(mt_ps_ckpt_add(b, &out), MT_OK);
    ck_assert_msg(mt_ckpt_write(&out, path) == MT_OK, "%s", mt_errmsg());
    mt_ckpt_free(&out);
    mt_ps_free(b);
    mt_ckpt in;
    ck_assert_msg(mt_ckpt_read(&in, path, 42, "test") == MT_OK, "%s", mt_errmsg());
    mt_ps *c = create_ps(&sc, &rc);
    ck_assert_msg(mt_ps_ckpt_load(c, &in) == MT_OK, "%s", mt_errmsg());
    mt_ps_server *scc = mt_ps_server_of(c);
    ck_assert_int_eq(mt_ps_server_version(scc), CUT);
    /* Another delay setting cannot resume from it. */
    rc.delay = 3;
    mt_ps *other = create_ps(&sc, &rc);
    ck_assert_int_eq(mt_ps_ckpt_load(other, &in), MT_ERR_FORMAT);
    ck_assert_msg(strstr(mt_errmsg(), "delay") != NULL, "%s", mt_errmsg());
    mt_ps_free(other);
    rc.delay = 2;
    mt_ckpt_free(&in);
    unlink(path);
    rmdir(dir);
    expect_run(c, STEPS, MT_OK);

    mt_ps_server *sa = mt_ps_server_of(a);
    ck_assert_int_eq(mt_ps_server_version(scc), STEPS);
    expect_same_bits("theta", mt_ps_server_theta(scc), mt_ps_server_theta(sa), PN);
    expect_same_bits("velocity", mt_ps_server_velocity(scc), mt_ps_server_velocity(sa), PN);
    expect_same_bits("state", mt_ps_server_state(scc), mt_ps_server_state(sa), PSTATE);
    ck_assert_int_eq(mt_ps_tau_total(c)->sum, mt_ps_tau_total(a)->sum);
    ck_assert_int_eq(mt_ps_tau_total(c)->count, STEPS);

    /* Another seed, another run. */
    rc.seed = 4;
    mt_ps *d = create_ps(&sc, &rc);
    expect_run(d, STEPS, MT_OK);
    ck_assert(memcmp(mt_ps_server_theta(mt_ps_server_of(d)), mt_ps_server_theta(sa),
                     PN * sizeof(float)) != 0);
    mt_ps_free(a);
    mt_ps_free(c);
    mt_ps_free(d);
}
END_TEST

/* ---- async mode -------------------------------------------------------------- */

struct epoch_log {
    int calls;
    int64_t version[16];
    int64_t epoch[16];
    int64_t count[16];
    int64_t gradients[16];
    int stop_after; /* return 1 at this epoch (-1: never) */
};

static int log_epoch(void *ctx, mt_ps *ps, int64_t epoch, const mt_tau_hist *tau)
{
    struct epoch_log *l = ctx;
    mt_ps_timing tm; /* readable here: the run is quiescent */
    mt_ps_timing_get(ps, &tm);
    if (l->calls < 16) {
        l->gradients[l->calls] = tm.gradients;
        l->version[l->calls] = mt_ps_server_version(mt_ps_server_of(ps));
        l->epoch[l->calls] = epoch;
        l->count[l->calls] = tau->count;
    }
    l->calls++;
    return epoch == l->stop_after ? 1 : MT_OK;
}

START_TEST(async_loses_no_push_and_closes_epochs_on_a_quiescent_server)
{
    enum { W = 4, STEPS = 400, SPE = 100 };
    mt_ps_server_config sc;
    server_config(&sc, 3);
    static atomic_int seen[STEPS];
    for (int i = 0; i < STEPS; i++)
        atomic_init(&seen[i], 0);
    struct wctx w[W];
    void *ctx[W];
    workers_init(w, ctx, W);
    for (int i = 0; i < W; i++)
        w[i].seen = seen;
    struct epoch_log log = {.stop_after = -1};
    mt_ps_config rc;
    run_config(&rc, MT_PS_ASYNC, W, ctx);
    rc.steps_per_epoch = SPE;
    rc.epoch_end = log_epoch;
    rc.epoch_ctx = &log;
    mt_ps *ps = create_ps(&sc, &rc);
    expect_run(ps, STEPS, MT_OK);
    mt_ps_server *s = mt_ps_server_of(ps);
    ck_assert_int_eq(mt_ps_server_version(s), STEPS);
    for (int i = 0; i < sc.shards; i++) {
        int64_t v;
        mt_ps_server_shard(s, i, NULL, NULL, &v);
        ck_assert_int_eq(v, STEPS);
    }
    for (int i = 0; i < STEPS; i++)
        ck_assert_msg(atomic_load(&seen[i]) == 1, "batch %d computed %d times", i,
                      atomic_load(&seen[i]));
    int64_t calls = 0;
    for (int i = 0; i < W; i++)
        calls += w[i].calls;
    ck_assert_int_eq(calls, STEPS);
    ck_assert_int_eq(mt_ps_tau_total(ps)->count, STEPS);
    ck_assert_int_eq(log.calls, STEPS / SPE);
    for (int e = 0; e < STEPS / SPE; e++) {
        ck_assert_int_eq(log.epoch[e], e);
        ck_assert_int_eq(log.version[e], (e + 1) * SPE);
        ck_assert_int_eq(log.count[e], SPE);
        ck_assert_int_eq(log.gradients[e], (e + 1) * SPE);
    }
    mt_ps_free(ps);
}
END_TEST

START_TEST(async_equal_workers_see_a_mean_staleness_near_w_minus_1)
{
    enum { STEPS = 240 };
    const int workers[] = {2, 4};
    for (int t = 0; t < 2; t++) {
        int W = workers[t];
        mt_ps_server_config sc;
        server_config(&sc, 4);
        struct wctx w[4];
        void *ctx[4];
        workers_init(w, ctx, W);
        round_barrier round;
        round_barrier_init(&round, W);
        for (int i = 0; i < W; i++) {
            w[i].sleep_us = 2000; /* equal compute times, much longer than a push */
            w[i].round = &round;
        }
        mt_ps_config rc;
        run_config(&rc, MT_PS_ASYNC, W, ctx);
        rc.steps_per_epoch = STEPS;
        mt_ps *ps = create_ps(&sc, &rc);
        expect_run(ps, STEPS, MT_OK);
        mt_tau_summary sum;
        mt_tau_hist_summary(mt_ps_tau_total(ps), &sum);
        fprintf(stderr, "ps async W=%d: tau mean %.3f p50 %lld p99 %lld max %lld\n", W, sum.mean,
                (long long)sum.p50, (long long)sum.p99, (long long)sum.max);
        ck_assert_int_eq(sum.count, STEPS);
        /* What any schedule guarantees: a push falls inside at most one
         * pull-to-push interval of each other worker (a worker has one
         * gradient in flight), so the staleness sums to at most (W - 1) per
         * push. What the rounds guarantee (tests/round_barrier.h, whatever
         * the machine's timing): at least (W - 1) / 2 on average, and W - 1
         * reached. Equal workers served in turn come near W - 1; a stalled
         * worker only lowers it, so nothing in between is asserted. */
        ck_assert_msg(sum.mean <= W - 1 + 1e-9, "W = %d: mean tau %.3f > %d", W, sum.mean, W - 1);
        ck_assert_msg(sum.mean >= 0.5 * (W - 1) - 1e-9, "W = %d: mean tau %.3f < %g", W,
                      sum.mean, 0.5 * (W - 1));
        ck_assert_int_ge(sum.max, W - 1);
        /* The gradients' time is counted as such: at least their 2 ms sleep
         * each (how small the server's share is depends on the machine). */
        mt_ps_timing tm;
        mt_ps_timing_get(ps, &tm);
        ck_assert_int_eq(tm.gradients, STEPS);
        ck_assert(tm.grad_s >= STEPS * 0.002);
        ck_assert(tm.pull_s >= 0 && tm.push_s >= 0);
        mt_ps_free(ps);
        round_barrier_destroy(&round);
    }
}
END_TEST

/* Batch statistics that never change, b = {1, ..., PSTATE}: the usual update
 * in any order gives s_K = b + 0.9^K (s_0 - b). Stale workers must not change
 * that (adding their increments instead would: e_{k+1} = e_k - 0.1 e_{k-tau}). */
START_TEST(async_merges_stale_bn_statistics_exactly)
{
    enum { W = 3, STEPS = 60 };
    mt_ps_server_config sc;
    server_config(&sc, 2);
    ck_assert_double_eq_tol(sc.state_momentum, BN_M, 1e-7);
    struct wctx w[W];
    void *ctx[W];
    workers_init(w, ctx, W);
    for (int i = 0; i < W; i++) {
        w[i].const_stats = 1;
        w[i].sleep_us = 1000;
    }
    mt_ps_config rc;
    run_config(&rc, MT_PS_ASYNC, W, ctx);
    rc.steps_per_epoch = STEPS;
    mt_ps *ps = create_ps(&sc, &rc);
    expect_run(ps, STEPS, MT_OK);
    /* Stale pushes happened (how many depends on the machine's timing). */
    ck_assert_int_gt(mt_ps_tau_total(ps)->sum, 0);
    float theta0[PN], s0[PSTATE];
    initial_point(theta0, s0);
    const float *st = mt_ps_server_state(mt_ps_server_of(ps));
    for (int j = 0; j < PSTATE; j++) {
        double b = j + 1, want = b + pow(0.9, STEPS) * (s0[j] - b);
        if (fabs(st[j] - want) > 1e-5 * b)
            ck_abort_msg("state %d: %.7f, want %.7f", j, st[j], want);
    }
    mt_ps_free(ps);
}
END_TEST

START_TEST(async_with_one_worker_equals_delay_zero)
{
    mt_ps_server_config sc;
    server_config(&sc, 5);
    struct wctx w;
    wctx_init(&w);
    void *ctx[] = {&w};
    mt_ps_config rc;
    run_config(&rc, MT_PS_ASYNC, 1, ctx);
    mt_ps *ps = create_ps(&sc, &rc);
    expect_run(ps, 33, MT_OK);
    expect_matches_reference(ps, &sc, 33, NULL);
    ck_assert_int_eq(mt_ps_tau_total(ps)->max, 0);
    mt_ps_free(ps);
}
END_TEST

/* ---- sync mode ----------------------------------------------------------------- */

START_TEST(sync_equals_one_worker_on_the_averaged_gradient)
{
    enum { W = 3, STEPS = 25 };
    mt_ps_server_config sc;
    server_config(&sc, 4);
    struct wctx w[W];
    void *ctx[W];
    workers_init(w, ctx, W);
    mt_ps_config rc;
    run_config(&rc, MT_PS_SYNC, W, ctx);
    mt_ps *ps = create_ps(&sc, &rc);
    expect_run(ps, STEPS, MT_OK);

    /* The reference: step k averages the gradients of batches kW .. kW+W-1
     * at theta_k (summed in order, divided by W), and the states likewise. */
    struct wctx r;
    wctx_init(&r);
    float theta[PN], state[PSTATE], vel[PN] = {0}, g[W][PN], st[W][PSTATE], avg[PN];
    initial_point(theta, state);
    mt_msgd_ranges all;
    mt_msgd_ranges_init(&all, PN);
    mt_msgd_ranges_add(&all, 0, PN, 1);
    for (int64_t k = 0; k < STEPS; k++) {
        for (int j = 0; j < W; j++) {
            memcpy(st[j], state, sizeof state);
            problem_gradient(&r, theta, k * W + j, st[j], g[j]);
        }
        for (int i = 0; i < PN; i++) {
            float acc = 0;
            for (int j = 0; j < W; j++)
                acc += g[j][i];
            avg[i] = acc / (float)W;
        }
        for (int i = 0; i < PSTATE; i++) {
            float acc = 0;
            for (int j = 0; j < W; j++)
                acc += st[j][i];
            state[i] = acc / (float)W;
        }
        mt_msgd_apply(&sc.opt, &all, theta, vel, avg, 0, PN, mt_schedule_lr(&sc.schedule, k));
    }
    mt_msgd_ranges_free(&all);
    mt_ps_server *s = mt_ps_server_of(ps);
    ck_assert_int_eq(mt_ps_server_version(s), STEPS);
    expect_same_bits("theta", mt_ps_server_theta(s), theta, PN);
    expect_same_bits("velocity", mt_ps_server_velocity(s), vel, PN);
    expect_same_bits("state", mt_ps_server_state(s), state, PSTATE);
    ck_assert_int_eq(mt_ps_tau_total(ps)->count, STEPS * W);
    ck_assert_int_eq(mt_ps_tau_total(ps)->max, 0);
    for (int i = 0; i < W; i++)
        ck_assert_int_eq(w[i].calls, STEPS);
    mt_ps_free(ps);

    /* One sync worker is delay 0. */
    run_config(&rc, MT_PS_SYNC, 1, ctx);
    ps = create_ps(&sc, &rc);
    expect_run(ps, 21, MT_OK);
    expect_matches_reference(ps, &sc, 21, NULL);
    mt_ps_free(ps);
}
END_TEST

/* ---- failures, stops, configuration ------------------------------------------- */

START_TEST(a_failing_gradient_stops_every_mode_with_its_message)
{
    for (int mode = MT_PS_ASYNC; mode <= MT_PS_DELAY; mode++) {
        mt_ps_server_config sc;
        server_config(&sc, 2);
        struct wctx w[3];
        void *ctx[3];
        workers_init(w, ctx, 3);
        for (int i = 0; i < 3; i++)
            w[i].fail_at = 37;
        mt_ps_config rc;
        run_config(&rc, mode, 3, ctx);
        mt_ps *ps = create_ps(&sc, &rc);
        int got = mt_ps_run(ps, 100);
        ck_assert_msg(got == MT_ERR_DIVERGED, "%s: %d", mt_ps_mode_name(mode), got);
        /* Named by the worker loop: the worker that computed batch 37 (sync:
         * 37 mod 3; delay: the one compute thread; async: any). */
        const char *msg = mt_errmsg();
        if (mode == MT_PS_ASYNC)
            ck_assert_msg(strncmp(msg, "worker ", 7) == 0 &&
                              strstr(msg, ", batch 37: loss of batch 37 is NaN"),
                          "async: %s", msg);
        else
            ck_assert_str_eq(msg, mode == MT_PS_SYNC ? "worker 1, batch 37: loss of batch 37 is NaN"
                                                     : "worker 0, batch 37: loss of batch 37 is NaN");
        /* Delay and sync stop right there; async workers finish the batches
         * they hold, and may have taken a few more meanwhile. Nothing handed
         * out and computed is lost. */
        int64_t v = mt_ps_server_version(mt_ps_server_of(ps));
        int64_t want_v = mode == MT_PS_SYNC ? 37 / 3 : 37;
        if (mode == MT_PS_ASYNC)
            ck_assert_msg(v >= 36 && v < 100, "async: stopped at %lld", (long long)v);
        else
            ck_assert_msg(v == want_v, "%s: stopped at %lld, want %lld", mt_ps_mode_name(mode),
                          (long long)v, (long long)want_v);
        ck_assert_int_eq(mt_ps_tau_total(ps)->count, v * (mode == MT_PS_SYNC ? 3 : 1));
        mt_ps_free(ps);
    }
}
END_TEST

/* A worker with `leaves` computes one batch, then leaves as a broken worker
 * would: the run fails with a message instead of waiting for it forever
 * (sync's barriers, async's epoch gate). */
static int leaving_main(void *ctx, mt_transport *t, int id)
{
    struct wctx *w = ctx;
    mt_ticket tk;
    if (!w->leaves)
        return wctx_main(ctx, t, id);
    if (t->pull(t, id, w->theta, w->state, &tk) == 1) {
        quad_grad(w, w->theta, tk.version, tk.batch, w->state, w->g);
        t->push(t, id, w->g, w->state, &tk);
    }
    return MT_OK;
}

START_TEST(a_worker_that_leaves_early_fails_the_run)
{
    for (int mode = MT_PS_ASYNC; mode <= MT_PS_DELAY; mode++) {
        mt_ps_server_config sc;
        server_config(&sc, 2);
        struct wctx w[2];
        void *ctx[2];
        workers_init(w, ctx, 2);
        w[mode == MT_PS_DELAY ? 0 : 1].leaves = 1; /* delay mode runs worker 0 only */
        w[0].sleep_us = 2000; /* async: worker 1 gets its batch long before the end */
        mt_ps_config rc;
        run_config(&rc, mode, 2, ctx);
        rc.worker_main = leaving_main;
        mt_ps *ps = create_ps(&sc, &rc);
        int got = mt_ps_run(ps, 100);
        ck_assert_msg(got == MT_ERR_LIB, "%s: %d", mt_ps_mode_name(mode), got);
        ck_assert_msg(strstr(mt_errmsg(), "left the run before its end") != NULL, "%s",
                      mt_errmsg());
        ck_assert_int_lt(mt_ps_server_version(mt_ps_server_of(ps)), 100);
        mt_ps_free(ps);
    }
}
END_TEST

START_TEST(a_stop_request_leaves_a_consistent_state_and_the_run_resumes)
{
    for (int mode = MT_PS_ASYNC; mode <= MT_PS_DELAY; mode++) {
        mt_ps_server_config sc;
        server_config(&sc, 2);
        mt_ps *ps = NULL;
        struct wctx w[3];
        void *ctx[3];
        workers_init(w, ctx, 3);
        for (int i = 0; i < 3; i++) {
            w[i].stop_at = 50;
            w[i].ps = &ps;
        }
        mt_ps_config rc;
        run_config(&rc, mode, 3, ctx);
        ps = create_ps(&sc, &rc);
        expect_run(ps, 100, MT_ERR_INTERRUPTED);
        int64_t v = mt_ps_server_version(mt_ps_server_of(ps));
        ck_assert_msg(v > 50 / 3 - 1 && v < 100, "%s: stopped at %lld", mt_ps_mode_name(mode),
                      (long long)v);
        /* Every gradient handed out was applied. */
        int64_t per_step = mode == MT_PS_SYNC ? 3 : 1;
        ck_assert_int_eq(mt_ps_tau_total(ps)->count, v * per_step);
        for (int i = 0; i < 3; i++)
            w[i].stop_at = -1;
        expect_run(ps, 100, MT_OK);
        ck_assert_int_eq(mt_ps_server_version(mt_ps_server_of(ps)), 100);
        ck_assert_int_eq(mt_ps_tau_total(ps)->count, 100 * per_step);
        mt_ps_free(ps);
    }
}
END_TEST

START_TEST(epoch_callback_can_stop_the_run)
{
    for (int mode = MT_PS_ASYNC; mode <= MT_PS_DELAY; mode++) {
        mt_ps_server_config sc;
        server_config(&sc, 2);
        struct wctx w[2];
        void *ctx[2];
        workers_init(w, ctx, 2);
        struct epoch_log log = {.stop_after = 1};
        mt_ps_config rc;
        run_config(&rc, mode, 2, ctx);
        rc.epoch_end = log_epoch;
        rc.epoch_ctx = &log;
        mt_ps *ps = create_ps(&sc, &rc);
        expect_run(ps, 100, MT_OK);
        ck_assert_int_eq(log.calls, 2);
        ck_assert_int_eq(mt_ps_server_version(mt_ps_server_of(ps)), 20);
        ck_assert_int_eq(log.count[1], mode == MT_PS_SYNC ? 20 : 10);
        ck_assert_int_eq(log.gradients[1], mode == MT_PS_SYNC ? 40 : 20);
        mt_ps_free(ps);
    }
}
END_TEST

START_TEST(bad_run_configs_name_the_field)
{
    struct wctx w;
    wctx_init(&w);
    void *ctx[] = {&w, &w, &w, &w, &w, &w, &w, &w};
    mt_ps_config rc;
    run_config(&rc, MT_PS_ASYNC, 0, ctx);
    ck_assert_int_eq(mt_ps_config_check(&rc), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "workers") != NULL);
    run_config(&rc, MT_PS_DELAY, 1, ctx);
    rc.delay = -1;
    ck_assert_int_eq(mt_ps_config_check(&rc), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "delay") != NULL);
    /* More compute threads than cores, unless allowed. */
    run_config(&rc, MT_PS_ASYNC, 1, ctx);
    rc.threads = mt_ps_cores() + 1;
    rc.oversubscribe = 0;
    ck_assert_int_eq(mt_ps_config_check(&rc), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "cores") != NULL);
    rc.oversubscribe = 1;
    ck_assert_int_eq(mt_ps_config_check(&rc), MT_OK);
    /* The default T fills the cores without exceeding them. */
    run_config(&rc, MT_PS_ASYNC, 1, ctx);
    rc.threads = 0;
    rc.oversubscribe = 0;
    ck_assert_int_eq(mt_ps_config_check(&rc), MT_OK);
    ck_assert_int_eq(mt_ps_mode_parse("sync"), MT_PS_SYNC);
    ck_assert_int_eq(mt_ps_mode_parse("hogwild"), -1);
}
END_TEST

static Suite *ps_modes_suite(void)
{
    Suite *s = suite_create("ps_modes");
    TCase *tc = tcase_create("modes");
    tcase_add_test(tc, delay_zero_is_plain_momentum_sgd_bit_for_bit);
    tcase_add_test(tc, fixed_delay_follows_the_hand_computed_async_msgd_trajectory);
    tcase_add_test(tc, random_delays_take_gradients_at_the_drawn_versions);
    tcase_add_test(tc, delay_mode_is_reproducible_and_resumes_bit_for_bit);
    tcase_add_test(tc, async_loses_no_push_and_closes_epochs_on_a_quiescent_server);
    tcase_add_test(tc, async_equal_workers_see_a_mean_staleness_near_w_minus_1);
    tcase_add_test(tc, async_merges_stale_bn_statistics_exactly);
    tcase_add_test(tc, async_with_one_worker_equals_delay_zero);
    tcase_add_test(tc, sync_equals_one_worker_on_the_averaged_gradient);
    tcase_add_test(tc, a_failing_gradient_stops_every_mode_with_its_message);
    tcase_add_test(tc, a_worker_that_leaves_early_fails_the_run);
    tcase_add_test(tc, a_stop_request_leaves_a_consistent_state_and_the_run_resumes);
    tcase_add_test(tc, epoch_callback_can_stop_the_run);
    tcase_add_test(tc, bad_run_configs_name_the_field);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(ps_modes_suite)
