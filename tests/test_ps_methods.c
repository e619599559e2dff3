/* test_ps_methods.c: the update rules of optim/method.h applied by the
 * parameter server (ps/): in delay mode on f(x) = x^2 the server reproduces
 * the trajectories worked out by hand in tests/test_methods.c (so the worker
 * index, the parameters read from the ring and dana's look-ahead ring are
 * plumbed right), a run with per-worker state resumes bit for bit through a
 * checkpoint, async dc-asgd gets the parameters each worker read, and the
 * combinations that are not defined are refused. */
#include "core/checkpoint.h"
#include "core/status.h"
#include "ps/ps.h"
#include "ps/ps_ckpt.h"
#include "tests/check_main.h"
#include "tests/round_barrier.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { N = 3 };

/* Every coordinate is the same f(x) = x^2 problem: gradient 2x. */
struct quad {
    float params[N], grad[N];
    long sleep_us; /* per gradient: unequal workers make tau vary */
    long pushes;   /* pushes this worker made (applied or dropped) */
    round_barrier *round; /* met after every pull (NULL: none), tests/round_barrier.h */
};

static int quad_main(void *ctx, mt_transport *t, int id)
{
    struct quad *q = ctx;
    mt_ticket tk;
    int rc;
    while ((rc = t->pull(t, id, q->params, NULL, &tk)) == 1) {
        if (q->round)
            round_barrier_wait(q->round);
        for (int i = 0; i < N; i++)
            q->grad[i] = 2.0f * q->params[i];
        if (q->sleep_us) {
            struct timespec ts = {0, q->sleep_us * 1000L};
            nanosleep(&ts, NULL);
        }
        q->pushes++;
        if ((rc = t->push(t, id, q->grad, NULL, &tk)) < 0)
            break;
    }
    if (q->round)
        round_barrier_leave(q->round);
    return rc;
}

static mt_ps *make(mt_method_kind kind, int autom, int mode, int workers, int64_t delay, void *const *ctx)
{
    mt_ps_server_config sc;
    mt_ps_server_config_default(&sc, N, 0);
    sc.opt.momentum = autom ? 0.9 : 0.5;
    sc.opt.weight_decay = 0;
    sc.schedule.base_lr = 0.1;
    sc.schedule.steps_per_epoch = 100;
    sc.method = kind;
    sc.momentum_auto = autom;
    mt_dc_asgd_config_default(&sc.dc);
    sc.dc.adaptive = 0;
    sc.dc.lambda0 = 1.0;
    mt_ps_config rc;
    mt_ps_config_default(&rc);
    rc.mode = mode;
    rc.workers = workers;
    rc.threads = 1;
    rc.oversubscribe = 1;
    rc.delay_kind = MT_DELAY_FIXED;
    rc.delay = delay;
    rc.steps_per_epoch = 100;
    rc.worker_main = quad_main;
    rc.worker_ctx = ctx;
    float theta0[N] = {1, 1, 1};
    mt_ps *ps;
    int st = mt_ps_create(&ps, &sc, &rc, theta0, NULL);
    ck_assert_msg(st == MT_OK, "%s", mt_errmsg());
    return ps;
}

static void expect_theta(mt_ps *ps, double want, const char *what)
{
    const float *th = mt_ps_server_theta(mt_ps_server_of(ps));
    for (int i = 0; i < N; i++)
        ck_assert_msg(fabs(th[i] - want) < 3e-6 * fmax(1, fabs(want)), "%s: theta[%d] = %.9g, want %.9g",
                      what, i, th[i], want);
}

START_TEST(delay_mode_applies_each_rule_as_by_hand)
{
    struct quad q;
    memset(&q, 0, sizeof q);
    void *ctx[] = {&q};
    /* The hand-worked trajectories of tests/test_methods.c (mu 0.5, lr 0.1, x_0 = 1). */
    struct {
        mt_method_kind kind;
        int autom;
        int64_t delay, steps;
        double want;
    } cases[] = {
        {MT_METHOD_MSGD, 0, 2, 5, -0.4525},          /* x5 with delay 2 */
        {MT_METHOD_STALENESS_LR, 0, 2, 5, -0.1075},  /* eta / 2 from step 2 on */
        {MT_METHOD_DC_ASGD, 0, 2, 4, 0.299672},      /* lambda = 1 */
        {MT_METHOD_DANA, 0, 1, 5, 0.032},            /* 2 workers in turn, look-ahead reads */
        {MT_METHOD_MSGD, 1, 2, 4, -0.1107259259},    /* auto, target 0.9 */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mt_ps *ps = make(cases[c].kind, cases[c].autom, MT_PS_DELAY, 1, cases[c].delay, ctx);
        ck_assert_msg(mt_ps_run(ps, cases[c].steps) == MT_OK, "%s", mt_errmsg());
        char what[64];
        snprintf(what, sizeof what, "%s%s", mt_method_name(cases[c].kind), cases[c].autom ? "+auto" : "");
        expect_theta(ps, cases[c].want, what);
        mt_ps_free(ps);
    }
}
END_TEST

START_TEST(delay_mode_with_method_state_resumes_bit_for_bit)
{
    enum { STEPS = 40, CUT = 13 };
    struct quad q;
    memset(&q, 0, sizeof q);
    void *ctx[] = {&q};
    const mt_method_kind kinds[] = {MT_METHOD_DANA, MT_METHOD_DC_ASGD};
    for (int m = 0; m < 2; m++) {
        mt_ps *a = make(kinds[m], 1, MT_PS_DELAY, 1, 3, ctx);
        ck_assert_int_eq(mt_ps_run(a, STEPS), MT_OK);
        mt_ps *b = make(kinds[m], 1, MT_PS_DELAY, 1, 3, ctx);
        ck_assert_int_eq(mt_ps_run(b, CUT), MT_OK);
        char dir[] = "/tmp/mt_ps_methods_XXXXXX", path[96];
        ck_assert_ptr_nonnull(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
        mt_ckpt out;
        mt_ckpt_init(&out, 7);
        ck_assert_int_eq(mt_ps_ckpt_add(b, &out), MT_OK);
        ck_assert_int_eq(mt_ckpt_write(&out, path), MT_OK);
        mt_ckpt_free(&out);
        mt_ps_free(b);
        mt_ckpt in;
        ck_assert_int_eq(mt_ckpt_read(&in, path, 7, "test"), MT_OK);
        mt_ps *c = make(kinds[m], 1, MT_PS_DELAY, 1, 3, ctx);
        ck_assert_msg(mt_ps_ckpt_load(c, &in) == MT_OK, "%s", mt_errmsg());
        /* msgd cannot take dana's or dc-asgd's state. */
        mt_ps *other = make(MT_METHOD_MSGD, 0, MT_PS_DELAY, 1, 3, ctx);
        ck_assert_int_eq(mt_ps_ckpt_load(other, &in), MT_ERR_FORMAT);
        mt_ps_free(other);
        mt_ckpt_free(&in);
        unlink(path);
        rmdir(dir);
        ck_assert_int_eq(mt_ps_run(c, STEPS), MT_OK);
        mt_ps_server *sa = mt_ps_server_of(a), *scc = mt_ps_server_of(c);
        ck_assert_msg(memcmp(mt_ps_server_theta(sa), mt_ps_server_theta(scc), N * sizeof(float)) == 0 &&
                          memcmp(mt_ps_server_velocity(sa), mt_ps_server_velocity(scc), N * sizeof(float)) == 0,
                      "%s: the resumed run differs", mt_method_name(kinds[m]));
        ck_assert(mt_method_momentum(mt_ps_server_method(sa)) == mt_method_momentum(mt_ps_server_method(scc)));
        mt_ps_free(a);
        mt_ps_free(c);
    }
}
END_TEST

START_TEST(async_and_sync_runs_take_the_methods)
{
    struct quad q[2];
    memset(q, 0, sizeof q);
    void *ctx[] = {&q[0], &q[1]};
    for (int kind = 0; kind < MT_METHOD_COUNT; kind++)
        for (int mode = MT_PS_ASYNC; mode <= MT_PS_SYNC; mode++) {
            if (kind == MT_METHOD_DANA && mode == MT_PS_SYNC)
                continue;
            mt_ps *ps = make((mt_method_kind)kind, 1, mode, 2, 0, ctx);
            ck_assert_msg(mt_ps_run(ps, 50) == MT_OK, "%s %s: %s", mt_method_name((mt_method_kind)kind),
                          mt_ps_mode_name(mode), mt_errmsg());
            /* x^2 from 1: every rule gets well towards 0 in 50 steps at lr 0.1 */
            const float *th = mt_ps_server_theta(mt_ps_server_of(ps));
            ck_assert_msg(fabs(th[0]) < 0.5, "%s %s: theta %g", mt_method_name((mt_method_kind)kind),
                          mt_ps_mode_name(mode), th[0]);
            mt_ps_free(ps);
        }
}
END_TEST

START_TEST(undefined_combinations_are_refused)
{
    struct quad q[2];
    memset(q, 0, sizeof q);
    void *ctx[] = {&q[0], &q[1]};
    mt_ps_server_config sc;
    mt_ps_server_config_default(&sc, N, 0);
    sc.method = MT_METHOD_DANA;
    mt_ps_config rc;
    mt_ps_config_default(&rc);
    rc.mode = MT_PS_SYNC;
    rc.workers = 2;
    rc.threads = 1;
    rc.oversubscribe = 1;
    rc.steps_per_epoch = 10;
    rc.worker_main = quad_main;
    rc.worker_ctx = ctx;
    float theta0[N] = {1, 1, 1};
    mt_ps *ps;
    ck_assert_int_eq(mt_ps_create(&ps, &sc, &rc, theta0, NULL), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "dana") && strstr(mt_errmsg(), "sync"));
    rc.mode = MT_PS_DELAY;
    rc.workers = 1;
    rc.delay_kind = MT_DELAY_UNIFORM;
    rc.delay = 2;
    ck_assert_int_eq(mt_ps_create(&ps, &sc, &rc, theta0, NULL), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "random"));
    /* dc-asgd must be told what the gradient was computed at; the default
     * configuration holds its defaults. */
    mt_ps_server *s;
    mt_ps_server_config_default(&sc, N, 0);
    sc.method = MT_METHOD_DC_ASGD;
    ck_assert(sc.dc.lambda0 == 2 && sc.dc.adaptive && sc.dc.eps > 0);
    ck_assert_int_eq(mt_ps_server_create(&s, &sc, theta0, NULL), MT_OK);
    float g[N] = {1, 1, 1};
    ck_assert_int_eq(mt_ps_push(s, g, 0, NULL, NULL, NULL), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "dc-asgd"));
    ck_assert_int_eq(mt_ps_push_from(s, 0, g, theta0, 0, NULL, NULL, NULL), 0);
    mt_ps_server_free(s);
}
END_TEST

/* 4 async workers of unequal speed (0.2 to 0.8 ms a gradient) for 300 steps
 * with staleness bound S (< 0: none); the largest tau applied, and pushes.
 * Without a bound, and with the drop policy, the workers meet in rounds
 * (tests/round_barrier.h): every round then has a push with tau >= 3, and,
 * with S = 0, one that is dropped, whatever the machine's timing. (The wait
 * policy cannot: a pull waits for other workers' pushes.) */
static int64_t bounded_run(int64_t S, int policy, long *pushes, int64_t *dropped)
{
    struct quad q[4];
    void *ctx[4];
    memset(q, 0, sizeof q);
    round_barrier round;
    round_barrier_init(&round, 4);
    for (int i = 0; i < 4; i++) {
        q[i].sleep_us = 200 * (i + 1);
        q[i].round = S < 0 || policy == MT_PS_STALE_DROP ? &round : NULL;
        ctx[i] = &q[i];
    }
    mt_ps_server_config sc;
    mt_ps_server_config_default(&sc, N, 0);
    sc.opt.momentum = 0.5;
    sc.schedule.base_lr = 0.01;
    mt_ps_config rc;
    mt_ps_config_default(&rc);
    rc.mode = MT_PS_ASYNC;
    rc.workers = 4;
    rc.threads = 1;
    rc.oversubscribe = 1;
    /* One epoch: a dropped push puts the tickets out of step with the
     * rounds, and a pull held at an epoch end would wait for ever on
     * workers waiting for it at the round. */
    rc.steps_per_epoch = 300;
    rc.worker_main = quad_main;
    rc.worker_ctx = ctx;
    rc.max_staleness = S;
    rc.stale_policy = policy;
    float theta0[N] = {1, 1, 1};
    mt_ps *ps;
    ck_assert_int_eq(mt_ps_create(&ps, &sc, &rc, theta0, NULL), MT_OK);
    ck_assert_msg(mt_ps_run(ps, 300) == MT_OK, "%s", mt_errmsg());
    ck_assert_int_eq(mt_ps_server_version(mt_ps_server_of(ps)), 300);
    mt_tau_summary ts;
    mt_tau_hist_summary(mt_ps_tau_total(ps), &ts);
    ck_assert_int_eq(ts.count, 300);
    *pushes = q[0].pushes + q[1].pushes + q[2].pushes + q[3].pushes;
    *dropped = mt_ps_dropped(ps);
    mt_ps_free(ps);
    round_barrier_destroy(&round);
    return ts.max;
}

START_TEST(wait_policy_never_lets_tau_exceed_the_bound)
{
    long pushes;
    int64_t dropped;
    /* Unbounded, 4 workers in rounds reach tau >= 3: the bound below has work to do. */
    int64_t free_max = bounded_run(-1, MT_PS_STALE_WAIT, &pushes, &dropped);
    ck_assert_msg(free_max >= 3, "unbounded tau max %lld", (long long)free_max);
    for (int64_t S = 0; S <= 2; S++) {
        int64_t mx = bounded_run(S, MT_PS_STALE_WAIT, &pushes, &dropped);
        ck_assert_msg(mx <= S, "S = %lld: tau max %lld", (long long)S, (long long)mx);
        ck_assert_int_eq(pushes, 300);
        ck_assert_int_eq(dropped, 0);
    }
}
END_TEST

START_TEST(drop_policy_counts_what_it_discards)
{
    long pushes;
    int64_t dropped;
    int64_t mx = bounded_run(0, MT_PS_STALE_DROP, &pushes, &dropped);
    ck_assert_msg(mx == 0, "tau max %lld", (long long)mx);
    /* every push the workers made was applied (300) or dropped */
    ck_assert_msg(dropped > 0 && pushes == 300 + dropped, "pushes %ld, dropped %lld", pushes,
                  (long long)dropped);
    mx = bounded_run(1, MT_PS_STALE_DROP, &pushes, &dropped);
    ck_assert_msg(mx <= 1 && pushes == 300 + dropped, "tau max %lld, pushes %ld, dropped %lld",
                  (long long)mx, pushes, (long long)dropped);
}
END_TEST

static Suite *ps_methods_suite(void)
{
    Suite *s = suite_create("ps_methods");
    TCase *tc = tcase_create("methods");
    tcase_add_test(tc, delay_mode_applies_each_rule_as_by_hand);
    tcase_add_test(tc, delay_mode_with_method_state_resumes_bit_for_bit);
    tcase_add_test(tc, async_and_sync_runs_take_the_methods);
    tcase_add_test(tc, undefined_combinations_are_refused);
    tcase_add_test(tc, wait_policy_never_lets_tau_exceed_the_bound);
    tcase_add_test(tc, drop_policy_counts_what_it_discards);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(ps_methods_suite)
