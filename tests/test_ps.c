/* test_ps.c: the parameter server's parts: the staleness histogram, the
 * sharded server against optim's update on the whole buffer, the BN state
 * merge, whole-vector consistency of concurrent pulls and pushes (replayed
 * sequentially afterwards), and the delay distributions.
 * The modes that run workers over the server are tests/test_ps_modes.c. */
#include "core/rng.h"
#include "core/status.h"
#include "optim/msgd.h"
#include "ps/delay.h"
#include "ps/server.h"
#include "ps/tau_hist.h"
#include "tests/check_main.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

static void server_config(mt_ps_server_config *c, size_t n, size_t n_state, int shards)
{
    mt_ps_server_config_default(c, n, n_state);
    c->shards = shards;
    c->schedule.kind = MT_SCHED_MULTISTEP;
    c->schedule.base_lr = 0.1;
    c->schedule.gamma = 0.2;
    c->schedule.milestones[0] = 2;
    c->schedule.milestones[1] = 4;
    c->schedule.n_milestones = 2;
    c->schedule.steps_per_epoch = 3;
    c->schedule.epochs = 6;
}

static void fill_normal(float *x, size_t n, uint64_t seed)
{
    mt_rng r;
    mt_rng_seed(&r, seed, 7);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)mt_rng_normal(&r);
}

/* The first index where two float arrays differ in bits, or -1. */
static long first_difference(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0)
            return (long)i;
    return -1;
}

static void expect_same_bits(const char *what, const float *got, const float *want, size_t n)
{
    long i = first_difference(got, want, n);
    if (i >= 0)
        ck_abort_msg("%s: element %ld differs: %.9g, want %.9g", what, i, got[i], want[i]);
}

/* ---- the staleness histogram ---------------------------------------------- */

START_TEST(tau_hist_counts_mean_percentiles_and_merges)
{
    /* taus 0 x4, 1 x3, 2 x2, 9 x1: mean 1.6, p50 = 1 (rank 5), p90 = 2
     * (rank 9), p99 = 9 (rank 10), max 9. */
    mt_tau_hist a, b;
    mt_tau_hist_clear(&a);
    mt_tau_hist_clear(&b);
    int taus[] = {0, 1, 0, 2, 9, 1, 0, 2, 1, 0};
    for (int i = 0; i < 5; i++)
        mt_tau_hist_add(&a, taus[i]);
    for (int i = 5; i < 10; i++)
        mt_tau_hist_add(&b, taus[i]);
    mt_tau_hist_merge(&a, &b);
    mt_tau_summary s;
    mt_tau_hist_summary(&a, &s);
    ck_assert_int_eq(s.count, 10);
    ck_assert_double_eq_tol(s.mean, 1.6, 1e-12);
    ck_assert_int_eq(s.max, 9);
    ck_assert_int_eq(s.p50, 1);
    ck_assert_int_eq(s.p90, 2);
    ck_assert_int_eq(s.p99, 9);
    ck_assert_int_eq(mt_tau_hist_percentile(&a, 0), 0);
    ck_assert_int_eq(mt_tau_hist_percentile(&a, 40), 0);
    ck_assert_int_eq(mt_tau_hist_percentile(&a, 41), 1);

    /* Beyond the last exact bin: mean and max stay exact. */
    mt_tau_hist_clear(&b);
    mt_tau_hist_add(&b, 5000);
    mt_tau_hist_add(&b, 2);
    ck_assert_int_eq(b.max, 5000);
    ck_assert_double_eq_tol(mt_tau_hist_mean(&b), 2501.0, 1e-9);
    ck_assert_int_eq(mt_tau_hist_percentile(&b, 100), 5000);
    ck_assert_int_eq(mt_tau_hist_percentile(&b, 50), 2);
    mt_tau_hist_clear(&b);
    mt_tau_hist_summary(&b, &s);
    ck_assert_int_eq(s.count, 0);
    ck_assert_double_eq(s.mean, 0.0);
}
END_TEST

/* ---- the server ------------------------------------------------------------ */

START_TEST(shards_tile_the_buffer_on_cache_lines)
{
    const size_t sizes[] = {1, 17, 1000, 275572};
    const int shard_counts[] = {1, 3, 8, 100};
    float *theta = calloc(275572, sizeof(float));
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) {
            mt_ps_server_config c;
            server_config(&c, sizes[a], 0, shard_counts[b]);
            mt_ps_server *s;
            ck_assert_int_eq(mt_ps_server_create(&s, &c, theta, NULL), MT_OK);
            size_t expect_begin = 0;
            for (int i = 0; i < shard_counts[b]; i++) {
                size_t lo, hi;
                int64_t v;
                mt_ps_server_shard(s, i, &lo, &hi, &v);
                ck_assert_uint_eq(lo, expect_begin);
                ck_assert(hi >= lo);
                ck_assert(hi == sizes[a] || hi % 16 == 0);
                ck_assert_int_eq(v, 0);
                expect_begin = hi;
            }
            ck_assert_uint_eq(expect_begin, sizes[a]);
            mt_ps_server_free(s);
        }
    free(theta);
}
END_TEST

START_TEST(bad_configs_and_pushes_are_refused_with_a_message)
{
    float theta[4] = {0};
    mt_ps_server_config c;
    mt_ps_server *s;
    server_config(&c, 4, 0, 0);
    ck_assert_int_eq(mt_ps_server_create(&s, &c, theta, NULL), MT_ERR_ARG);
    ck_assert_ptr_null(s);
    ck_assert(strstr(mt_errmsg(), "shards") != NULL);
    server_config(&c, 4, 0, 1);
    c.opt.momentum = 1.0;
    ck_assert_int_eq(mt_ps_server_create(&s, &c, theta, NULL), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "momentum") != NULL);
    server_config(&c, 0, 0, 1);
    ck_assert_int_eq(mt_ps_server_create(&s, &c, theta, NULL), MT_ERR_ARG);

    server_config(&c, 4, 0, 2);
    ck_assert_int_eq(mt_ps_server_create(&s, &c, theta, NULL), MT_OK);
    float g[4] = {1, 1, 1, 1};
    ck_assert_int_eq(mt_ps_push(s, g, 1, NULL, NULL, NULL), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "version 1") != NULL);
    ck_assert_int_eq(mt_ps_server_version(s), 0);
    ck_assert_float_eq(mt_ps_server_theta(s)[0], 0.0f);
    mt_ps_server_free(s);
}
END_TEST

/* One thread pushing through S shards is, bit for bit, optim's update on the
 * whole buffer with the schedule's lr, for heavy ball and Nesterov, with
 * weight-decay ranges that do not line up with the shards. */
START_TEST(sequential_pushes_equal_the_optimizer_on_the_whole_buffer)
{
    const size_t n = 1000;
    float *theta0 = malloc(n * sizeof(float)), *ref = malloc(n * sizeof(float));
    float *vel = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
    fill_normal(theta0, n, 1);
    mt_msgd_ranges ranges;
    mt_msgd_ranges_init(&ranges, n);
    mt_msgd_ranges_add(&ranges, 0, 333, 1);
    mt_msgd_ranges_add(&ranges, 333, 100, 0);
    mt_msgd_ranges_add(&ranges, 500, 500, 1);
    for (int nesterov = 0; nesterov <= 1; nesterov++)
        for (int shards = 1; shards <= 7; shards += 3) {
            mt_ps_server_config c;
            server_config(&c, n, 0, shards);
            c.opt.nesterov = nesterov;
            c.decay = &ranges;
            mt_ps_server *s;
            ck_assert_int_eq(mt_ps_server_create(&s, &c, theta0, NULL), MT_OK);
            memcpy(ref, theta0, n * sizeof(float));
            memset(vel, 0, n * sizeof(float));
            for (int64_t k = 0; k < 18; k++) {
                fill_normal(g, n, 100 + (uint64_t)k);
                int64_t at;
                ck_assert_int_eq(mt_ps_push(s, g, k, NULL, NULL, &at), 0);
                ck_assert_int_eq(at, k);
                mt_msgd_apply(&c.opt, &ranges, ref, vel, g, 0, n, mt_schedule_lr(&c.schedule, k));
            }
            ck_assert_int_eq(mt_ps_server_version(s), 18);
            expect_same_bits("theta", mt_ps_server_theta(s), ref, n);
            expect_same_bits("velocity", mt_ps_server_velocity(s), vel, n);
            for (int i = 0; i < shards; i++) {
                int64_t v;
                mt_ps_server_shard(s, i, NULL, NULL, &v);
                ck_assert_int_eq(v, 18);
            }
            mt_ps_server_free(s);
        }
    mt_msgd_ranges_free(&ranges);
    free(theta0);
    free(ref);
    free(vel);
    free(g);
}
END_TEST

START_TEST(state_merge_is_the_usual_update_of_the_current_state)
{
    float theta[2] = {0, 0}, g[2] = {0, 0};
    float s0[2] = {1.0f, 2.0f};
    mt_ps_server_config c;
    server_config(&c, 2, 2, 1);
    c.state_momentum = 0.5;
    mt_ps_server *s;
    ck_assert_int_eq(mt_ps_server_create(&s, &c, theta, s0), MT_OK);
    float pulled[2], th[2];
    ck_assert_int_eq(mt_ps_pull(s, th, pulled), 0);
    ck_assert_float_eq(pulled[1], 2.0f);
    /* Fresh (tau 0): the worker's state is taken as is. */
    float mine[2] = {1.5f, 2.25f};
    ck_assert_int_eq(mt_ps_push(s, g, 0, mine, pulled, NULL), 0);
    ck_assert_float_eq(mt_ps_server_state(s)[0], 1.5f);
    ck_assert_float_eq(mt_ps_server_state(s)[1], 2.25f);
    /* Stale by one: pulled {1, 2} at version 0 and made {1.5, 1} of it, so
     * its batch statistics were b = {2, 0} (m = 0.5). The server is at
     * {1.5, 2.25} by now and takes 0.5 {1.5, 2.25} + 0.5 {2, 0}. */
    float other[2] = {1.5f, 1.0f};
    ck_assert_int_eq(mt_ps_push(s, g, 0, other, pulled, NULL), 1);
    ck_assert_float_eq(mt_ps_server_state(s)[0], 1.75f);
    ck_assert_float_eq(mt_ps_server_state(s)[1], 1.125f);
    /* No pulled copy: replaced; no new state: untouched. */
    float fresh[2] = {7.0f, 8.0f};
    ck_assert_int_eq(mt_ps_push(s, g, 0, fresh, NULL, NULL), 2);
    ck_assert_float_eq(mt_ps_server_state(s)[0], 7.0f);
    ck_assert_int_eq(mt_ps_push(s, g, 3, NULL, NULL, NULL), 0);
    ck_assert_float_eq(mt_ps_server_state(s)[1], 8.0f);
    ck_assert_int_eq(mt_ps_pull(s, th, pulled), 4);
    /* A synchronous step's averaged state replaces it, the version unmoved. */
    float avg[2] = {3.0f, 4.0f};
    mt_ps_server_set_state(s, avg);
    ck_assert_int_eq(mt_ps_pull(s, th, pulled), 4);
    ck_assert_float_eq(pulled[0], 3.0f);
    ck_assert_float_eq(pulled[1], 4.0f);
    mt_ps_server_free(s);

    /* Unknown m (0): the worker's increment s' - s_v lands on the current
     * state: {1.5, 2.25} + {0.5, -1}. */
    c.state_momentum = 0;
    ck_assert_int_eq(mt_ps_server_create(&s, &c, theta, s0), MT_OK);
    ck_assert_int_eq(mt_ps_pull(s, th, pulled), 0);
    ck_assert_int_eq(mt_ps_push(s, g, 0, mine, pulled, NULL), 0);
    ck_assert_int_eq(mt_ps_push(s, g, 0, other, pulled, NULL), 1);
    ck_assert_float_eq(mt_ps_server_state(s)[0], 2.0f);
    ck_assert_float_eq(mt_ps_server_state(s)[1], 1.25f);
    mt_ps_server_free(s);
    c.state_momentum = 1.0;
    ck_assert_int_eq(mt_ps_server_create(&s, &c, theta, s0), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "state momentum") != NULL);
}
END_TEST

/* ---- consistency under concurrency --------------------------------------- */

enum { CN = 200, C_THREADS = 4, C_ITERS = 150, C_SHARDS = 5 };

struct crec {
    int64_t v, k;
    float theta[CN]; /* as pulled */
    float grad[CN];
};

struct cshared {
    mt_ps_server *s;
    struct crec *rec; /* C_THREADS x C_ITERS */
};

struct carg {
    struct cshared *sh;
    int id;
};

static void *consistency_thread(void *a_)
{
    struct carg *a = a_;
    for (int it = 0; it < C_ITERS; it++) {
        struct crec *r = &a->sh->rec[a->id * C_ITERS + it];
        r->v = mt_ps_pull(a->sh->s, r->theta, NULL);
        if (it % 2)
            sched_yield(); /* let others overtake between pull and push */
        /* Any gradient will do; this one depends on what was pulled, so a
         * torn read would show up in the replay as well. */
        for (int i = 0; i < CN; i++)
            r->grad[i] = r->theta[i] * 0.5f + (float)((a->id + 1) * (i % 7)) * 0.01f;
        int64_t tau = mt_ps_push(a->sh->s, r->grad, r->v, NULL, NULL, &r->k);
        if (tau < 0 || r->k - r->v != tau)
            r->k = -1;
    }
    return NULL;
}

/* Pushes and pulls race on 5 shards; afterwards the pushes are replayed one
 * by one in the order the server assigned (k). Every pull must equal the
 * replay's theta at the version it reported, bit for bit (no mixed
 * versions), and the final state the replay's last. */
START_TEST(concurrent_pulls_are_whole_vector_consistent_and_no_push_is_lost)
{
    mt_ps_server_config c;
    server_config(&c, CN, 0, C_SHARDS);
    c.schedule.kind = MT_SCHED_CONSTANT;
    c.schedule.base_lr = 0.05;
    float theta0[CN];
    fill_normal(theta0, CN, 3);
    struct cshared sh;
    ck_assert_int_eq(mt_ps_server_create(&sh.s, &c, theta0, NULL), MT_OK);
    int total = C_THREADS * C_ITERS;
    sh.rec = calloc((size_t)total, sizeof *sh.rec);
    pthread_t th[C_THREADS];
    struct carg args[C_THREADS];
    for (int t = 0; t < C_THREADS; t++) {
        args[t] = (struct carg){&sh, t};
        ck_assert_int_eq(pthread_create(&th[t], NULL, consistency_thread, &args[t]), 0);
    }
    for (int t = 0; t < C_THREADS; t++)
        pthread_join(th[t], NULL);
    ck_assert_int_eq(mt_ps_server_version(sh.s), total);

    /* by_k[k] = the record pushed as step k: each k exactly once. */
    struct crec **by_k = calloc((size_t)total, sizeof *by_k);
    int stale = 0;
    for (int i = 0; i < total; i++) {
        int64_t k = sh.rec[i].k;
        ck_assert_msg(k >= 0 && k < total, "push %d got step %lld", i, (long long)k);
        ck_assert_msg(by_k[k] == NULL, "step %lld assigned twice", (long long)k);
        by_k[k] = &sh.rec[i];
        stale += k > sh.rec[i].v;
    }
    /* Replay, keeping every version: history[v] = theta_v. */
    float(*history)[CN] = malloc((size_t)(total + 1) * sizeof *history);
    float vel[CN] = {0};
    memcpy(history[0], theta0, sizeof theta0);
    mt_msgd_ranges all;
    mt_msgd_ranges_init(&all, CN);
    mt_msgd_ranges_add(&all, 0, CN, 1);
    for (int k = 0; k < total; k++) {
        memcpy(history[k + 1], history[k], sizeof history[k]);
        mt_msgd_apply(&c.opt, &all, history[k + 1], vel, by_k[k]->grad, 0, CN, 0.05);
    }
    for (int i = 0; i < total; i++) {
        char what[64];
        snprintf(what, sizeof what, "pull %d (version %lld)", i, (long long)sh.rec[i].v);
        expect_same_bits(what, sh.rec[i].theta, history[sh.rec[i].v], CN);
    }
    expect_same_bits("final theta", mt_ps_server_theta(sh.s), history[total], CN);
    fprintf(stderr, "ps consistency: %d pushes from %d threads on %d shards, %d stale\n", total,
            C_THREADS, C_SHARDS, stale);
    mt_msgd_ranges_free(&all);
    free(history);
    free(by_k);
    free(sh.rec);
    mt_ps_server_free(sh.s);
}
END_TEST

/* ---- delays ---------------------------------------------------------------- */

START_TEST(the_ring_holds_tau_max_plus_one_versions)
{
    for (int kind = MT_DELAY_FIXED; kind <= MT_DELAY_GEOMETRIC; kind++) {
        mt_delay d;
        ck_assert_int_eq(mt_delay_init(&d, kind, 4, -1, 11, 8), MT_OK);
        ck_assert_int_eq(d.dist.cap, mt_delay_default_cap(kind, 4));
        ck_assert_uint_eq(mt_delay_ring_floats(&d), (size_t)(d.dist.cap + 1) * 8);
        ck_assert_ptr_eq(mt_delay_slot(&d, d.dist.cap + 1), mt_delay_slot(&d, 0));
        mt_delay_free(&d);
    }
    mt_delay d;
    ck_assert_int_eq(mt_delay_init(&d, MT_DELAY_FIXED, 0, -1, 1, 8), MT_OK);
    ck_assert_ptr_null(mt_delay_slot(&d, 0));
    mt_delay_free(&d);
}
END_TEST

START_TEST(delays_are_reproducible_from_the_seed)
{
    mt_delay a, b, c;
    ck_assert_int_eq(mt_delay_init(&a, MT_DELAY_GEOMETRIC, 3, -1, 5, 1), MT_OK);
    ck_assert_int_eq(mt_delay_init(&b, MT_DELAY_GEOMETRIC, 3, -1, 5, 1), MT_OK);
    ck_assert_int_eq(mt_delay_init(&c, MT_DELAY_GEOMETRIC, 3, -1, 6, 1), MT_OK);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t x = mt_delay_draw(&a);
        ck_assert_int_eq(x, mt_delay_draw(&b));
        differ += x != mt_delay_draw(&c);
    }
    ck_assert_int_gt(differ, 100);
    /* A cap below the fixed delay is refused. */
    mt_delay d;
    ck_assert_int_eq(mt_delay_init(&d, MT_DELAY_FIXED, 3, 2, 0, 1), MT_ERR_ARG);
    mt_delay_free(&a);
    mt_delay_free(&b);
    mt_delay_free(&c);
}
END_TEST

static Suite *ps_suite(void)
{
    Suite *s = suite_create("ps");
    TCase *tc = tcase_create("server");
    tcase_add_test(tc, tau_hist_counts_mean_percentiles_and_merges);
    tcase_add_test(tc, shards_tile_the_buffer_on_cache_lines);
    tcase_add_test(tc, bad_configs_and_pushes_are_refused_with_a_message);
    tcase_add_test(tc, sequential_pushes_equal_the_optimizer_on_the_whole_buffer);
    tcase_add_test(tc, state_merge_is_the_usual_update_of_the_current_state);
    tcase_add_test(tc, concurrent_pulls_are_whole_vector_consistent_and_no_push_is_lost);
    tcase_add_test(tc, the_ring_holds_tau_max_plus_one_versions);
    tcase_add_test(tc, delays_are_reproducible_from_the_seed);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(ps_suite)
