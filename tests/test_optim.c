/* test_optim.c: momentum SGD against trajectories worked out by hand on small
 * quadratics, the velocity and previous-parameter forms against each other,
 * weight-decay ranges, the learning-rate schedules, and the random delays'
 * distributions (optim/delay.h, shared by ps/ and pca/). */
#include "core/rng.h"
#include "core/status.h"
#include "optim/delay.h"
#include "optim/msgd.h"
#include "optim/schedule.h"
#include "tests/check_main.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Relative rounding of a few float operations per step, compounded. */
static const double FLOAT_TOL = 2e-6;

static void expect_close(const char *what, int step, double got, double want, double tol)
{
    double err = fabs(got - want);
    if (err > tol * fmax(1.0, fabs(want)))
        ck_abort_msg("%s, step %d: got %.9g, want %.9g (difference %.3g > %.3g)", what, step, got,
                     want, err, tol);
}

START_TEST(heavy_ball_matches_hand_computed_trajectory)
{
    /* f(x) = x^2 (gradient 2x), x0 = 1, lr 0.1, mu 0.5, wd 0.1, so the decayed
     * gradient is 2.1 x and by hand:
     *   v1 = -0.1 * 2.1           = -0.21       x1 = 0.79
     *   v2 = -0.105  - 0.1659     = -0.2709     x2 = 0.5191
     *   v3 = -0.13545 - 0.109011  = -0.244461   x3 = 0.274639
     *   v4 = -0.1222305 - 0.05767419 = -0.17990469  x4 = 0.09473431 */
    const double want_x[] = {0.79, 0.5191, 0.274639, 0.09473431};
    const double want_v[] = {-0.21, -0.2709, -0.244461, -0.17990469};
    float x = 1.0f, v = 0.0f;
    for (int k = 0; k < 4; k++) {
        float g = 2.0f * x;
        mt_msgd_step(&x, &v, &g, 1, 0.1, 0.5, 0.1, 0);
        expect_close("x", k + 1, x, want_x[k], FLOAT_TOL);
        expect_close("v", k + 1, v, want_v[k], FLOAT_TOL);
    }
}
END_TEST

START_TEST(nesterov_matches_hand_computed_trajectory)
{
    /* Same problem; the step is mu * v_{k+1} - lr * d_k:
     *   d0 = 2.1,    v1 = -0.21,     x1 = 1 - 0.105 - 0.21          = 0.685
     *   d1 = 1.4385, v2 = -0.24885,  x2 = 0.685 - 0.124425 - 0.14385 = 0.416725
     *   d2 = 0.8751225, v3 = -0.21193725,
     *                  x3 = 0.416725 - 0.105968625 - 0.08751225     = 0.223244125 */
    const double want_x[] = {0.685, 0.416725, 0.223244125};
    float x = 1.0f, v = 0.0f;
    for (int k = 0; k < 3; k++) {
        float g = 2.0f * x;
        mt_msgd_step(&x, &v, &g, 1, 0.1, 0.5, 0.1, 1);
        expect_close("x", k + 1, x, want_x[k], FLOAT_TOL);
    }
}
END_TEST

START_TEST(zero_momentum_is_plain_sgd)
{
    /* mu = 0: x <- x - lr (g + wd x), on a 2-D quadratic with curvatures 1 and
     * 10. To rounding only: the compiler may fuse multiply-adds differently in
     * the two loops (-march=native has FMA), a few ulp per step. */
    float x[2] = {1.0f, -2.0f}, v[2] = {0.5f, 0.5f}; /* stale velocity must not matter */
    float y[2] = {1.0f, -2.0f};
    const float curv[2] = {1.0f, 10.0f};
    for (int k = 0; k < 20; k++) {
        float g[2] = {curv[0] * x[0], curv[1] * x[1]};
        mt_msgd_step(x, v, g, 2, 0.05, 0.0, 0.01, 0);
        for (int i = 0; i < 2; i++) {
            float gy = curv[i] * y[i];
            y[i] = y[i] - 0.05f * (gy + 0.01f * y[i]);
            expect_close("mu=0 vs plain SGD", k, x[i], y[i], FLOAT_TOL);
        }
    }
    /* And mu = 0 with Nesterov is plain SGD too. */
    float a = 3.0f, va = 0.0f, b = 3.0f;
    for (int k = 0; k < 10; k++) {
        float g = 2.0f * a;
        mt_msgd_step(&a, &va, &g, 1, 0.1, 0.0, 0.0, 1);
        b = b - 0.1f * (2.0f * b);
        expect_close("nesterov mu=0 vs plain SGD", k, a, b, FLOAT_TOL);
    }
}
END_TEST

START_TEST(velocity_form_equals_previous_parameter_form)
{
    /* v_k = theta_k - theta_{k-1}: the two forms give the same trajectory to
     * rounding, on 64 coordinates of a random diagonal quadratic over 50 steps. */
    enum { N = 64 };
    float a[N], t1[N], v[N], t2[N], prev[N], g[N];
    mt_rng r;
    mt_rng_seed(&r, 5, 0);
    for (int i = 0; i < N; i++) {
        a[i] = (float)(0.1 + 2.0 * mt_rng_uniform(&r));
        t1[i] = t2[i] = prev[i] = (float)mt_rng_normal(&r);
        v[i] = 0.0f;
    }
    double worst = 0;
    for (int k = 0; k < 50; k++) {
        for (int i = 0; i < N; i++)
            g[i] = a[i] * t1[i];
        mt_msgd_step(t1, v, g, N, 0.1, 0.9, 5e-4, 0);
        for (int i = 0; i < N; i++)
            g[i] = a[i] * t2[i];
        mt_msgd_step_prev(t2, prev, g, N, 0.1, 0.9, 5e-4);
        for (int i = 0; i < N; i++) {
            worst = fmax(worst, fabs(t1[i] - t2[i]));
            worst = fmax(worst, fabs(v[i] - (t2[i] - prev[i])));
        }
    }
    ck_assert_msg(worst < 1e-5, "velocity and previous-parameter forms differ by %.3g", worst);
}
END_TEST

START_TEST(decay_ranges_choose_where_weight_decay_applies)
{
    /* Buffer of 10: [0,4) decayed, [4,6) not, [6,8) decayed, [8,10) unlisted. */
    mt_msgd_ranges r;
    mt_msgd_ranges_init(&r, 10);
    ck_assert_int_eq(mt_msgd_ranges_add(&r, 0, 3, 1), MT_OK);
    ck_assert_int_eq(mt_msgd_ranges_add(&r, 3, 1, 1), MT_OK); /* merged with the first */
    ck_assert_int_eq(mt_msgd_ranges_add(&r, 4, 2, 0), MT_OK);
    ck_assert_int_eq(mt_msgd_ranges_add(&r, 6, 2, 1), MT_OK);
    ck_assert_int_eq(r.n_ranges, 3);
    ck_assert_uint_eq(mt_msgd_ranges_decayed(&r), 6);
    ck_assert_int_eq(mt_msgd_ranges_add(&r, 5, 1, 1), MT_ERR_ARG);
    ck_assert_int_eq(mt_msgd_ranges_add(&r, 9, 5, 1), MT_ERR_ARG);

    mt_msgd_config c = {.momentum = 0.0, .weight_decay = 0.5, .nesterov = 0};
    float th[10], v[10] = {0}, g[10] = {0};
    for (int i = 0; i < 10; i++)
        th[i] = 1.0f;
    /* Apply in two shards split inside a range, as a sharded server would. */
    mt_msgd_apply(&c, &r, th, v, g, 0, 5, 0.1);
    mt_msgd_apply(&c, &r, th, v, g, 5, 10, 0.1);
    const float want[10] = {0.95f, 0.95f, 0.95f, 0.95f, 1, 1, 0.95f, 0.95f, 1, 1};
    for (int i = 0; i < 10; i++)
        ck_assert_msg(th[i] == want[i], "element %d: %g, want %g", i, th[i], want[i]);
    mt_msgd_ranges_free(&r);

    mt_msgd_config bad = {.momentum = 1.0};
    ck_assert_int_eq(mt_msgd_config_check(&bad), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "momentum"));
}
END_TEST

START_TEST(schedules_give_the_papers_values)
{
    /* The paper: 0.2, x0.2 at epochs 60, 120, 160; 10 steps per epoch. */
    mt_schedule s = {.kind = MT_SCHED_MULTISTEP, .base_lr = 0.2, .gamma = 0.2,
                     .milestones = {60, 120, 160}, .n_milestones = 3, .epochs = 200,
                     .steps_per_epoch = 10};
    ck_assert_int_eq(mt_schedule_check(&s), MT_OK);
    ck_assert_double_eq_tol(mt_schedule_lr(&s, 0), 0.2, 1e-15);
    ck_assert_double_eq_tol(mt_schedule_lr(&s, 599), 0.2, 1e-15);
    ck_assert_double_eq_tol(mt_schedule_lr(&s, 600), 0.04, 1e-15);
    ck_assert_double_eq_tol(mt_schedule_lr(&s, 1199), 0.04, 1e-15);
    ck_assert_double_eq_tol(mt_schedule_lr(&s, 1200), 0.008, 1e-15);
    ck_assert_double_eq_tol(mt_schedule_lr(&s, 1600), 0.0016, 1e-15);
    ck_assert_double_eq_tol(mt_schedule_lr(&s, 1999), 0.0016, 1e-15);

    /* Cosine from 0.1 to 0 over 3 epochs of 4 steps: at step 6 (half way)
     * 0.05, at step 3 0.1 * (1 + cos(pi/4)) / 2 = 0.0853553390593, at 12: 0. */
    mt_schedule c = {.kind = MT_SCHED_COSINE, .base_lr = 0.1, .final_lr = 0.0, .epochs = 3,
                     .steps_per_epoch = 4};
    ck_assert_int_eq(mt_schedule_check(&c), MT_OK);
    ck_assert_double_eq_tol(mt_schedule_lr(&c, 0), 0.1, 1e-15);
    ck_assert_double_eq_tol(mt_schedule_lr(&c, 3), 0.0853553390593, 1e-12);
    ck_assert_double_eq_tol(mt_schedule_lr(&c, 6), 0.05, 1e-15);
    ck_assert_double_eq_tol(mt_schedule_lr(&c, 12), 0.0, 1e-15);

    /* Linear warm-up over 1 epoch of 4 steps on a constant 0.4: 0.1, 0.2, 0.3, 0.4, 0.4. */
    mt_schedule w = {.kind = MT_SCHED_CONSTANT, .base_lr = 0.4, .warmup_epochs = 1.0,
                     .steps_per_epoch = 4};
    const double want[] = {0.1, 0.2, 0.3, 0.4, 0.4};
    for (int k = 0; k < 5; k++)
        ck_assert_double_eq_tol(mt_schedule_lr(&w, k), want[k], 1e-15);

    mt_schedule bad = s;
    bad.milestones[1] = 50;
    ck_assert_int_eq(mt_schedule_check(&bad), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "lr-milestones"));
    ck_assert_int_eq(mt_schedule_kind_parse("cosine"), MT_SCHED_COSINE);
    ck_assert_int_eq(mt_schedule_kind_parse("step"), -1);
}
END_TEST

/* ---- delays ---------------------------------------------------------------- */

START_TEST(delay_distributions_have_the_stated_means_and_ranges)
{
    ck_assert_int_eq(mt_delay_kind_parse("geometric"), MT_DELAY_GEOMETRIC);
    ck_assert_int_eq(mt_delay_kind_parse("poisson"), -1);
    ck_assert_str_eq(mt_delay_kind_name(MT_DELAY_UNIFORM), "uniform");
    ck_assert_ptr_null(mt_delay_kind_names[MT_DELAY_GEOMETRIC + 1]);
    ck_assert_int_eq(mt_delay_default_cap(MT_DELAY_FIXED, 3), 3);
    ck_assert_int_eq(mt_delay_default_cap(MT_DELAY_UNIFORM, 3), 6);
    /* (4/5)^(c+1) < 1e-3 first at c + 1 = 31. */
    ck_assert_int_eq(mt_delay_default_cap(MT_DELAY_GEOMETRIC, 4), 30);

    const int draws = 100000;
    const int64_t ns[2] = {4, 12};
    mt_rng r;
    mt_rng_seed(&r, 11, 0);
    for (int in = 0; in < 2; in++)
        for (int kind = MT_DELAY_FIXED; kind <= MT_DELAY_GEOMETRIC; kind++) {
            int64_t n = ns[in];
            mt_delay_dist d;
            ck_assert_int_eq(mt_delay_dist_init(&d, kind, n, -1), MT_OK);
            double sum = 0, sum2 = 0;
            int64_t lo = 1 << 30, hi = -1;
            for (int i = 0; i < draws; i++) {
                int64_t t = mt_delay_dist_draw(&d, &r);
                sum += (double)t;
                sum2 += (double)t * (double)t;
                lo = t < lo ? t : lo;
                hi = t > hi ? t : hi;
            }
            double mean = sum / draws, var = sum2 / draws - mean * mean;
            /* Exact means: fixed and uniform N; the truncated geometric
             * sum_{t<c} t p q^t + c q^c = (q - q^(c+1)) / p with q = 1 - p. */
            double want = (double)n, want_var = 0;
            if (kind == MT_DELAY_UNIFORM)
                want_var = (double)((2 * n + 1) * (2 * n + 1) - 1) / 12.0;
            if (kind == MT_DELAY_GEOMETRIC) {
                double p = 1.0 / (double)(n + 1), q = 1 - p;
                want = (q - pow(q, (double)d.cap + 1)) / p;
                want_var = q / (p * p);
            }
            double se = sqrt(want_var / draws);
            if (fabs(mean - want) > 5 * se + 1e-12)
                ck_abort_msg("%s %lld: mean %.4f, want %.4f (5 se = %.4f)",
                             mt_delay_kind_name(kind), (long long)n, mean, want, 5 * se);
            if (kind == MT_DELAY_FIXED)
                ck_assert(lo == n && hi == n && var < 1e-12);
            if (kind == MT_DELAY_UNIFORM)
                ck_assert(lo == 0 && hi == 2 * n);
            if (kind == MT_DELAY_GEOMETRIC)
                ck_assert(lo == 0 && hi <= d.cap && hi > 2 * n);
            mt_delay_dist_free(&d);
        }
}
END_TEST

START_TEST(geometric_delays_follow_exact_integer_thresholds)
{
    /* N = 1: T_t = floor(T_{t-1} / 2) from 2^64, so P(tau > t) = 2^-(t+1)
     * exactly and tau counts the leading zero bits of the draw, up to the cap. */
    mt_delay_dist d;
    ck_assert_int_eq(mt_delay_dist_init(&d, MT_DELAY_GEOMETRIC, 1, 5), MT_OK);
    for (int t = 0; t < 5; t++)
        ck_assert_uint_eq(d.threshold[t], UINT64_C(1) << (63 - t));
    mt_rng a, b;
    mt_rng_seed(&a, 3, 0);
    mt_rng_seed(&b, 3, 0);
    for (int i = 0; i < 1000; i++) {
        uint64_t u = mt_rng_u64(&b);
        int64_t want = 0;
        while (want < 5 && !(u >> (63 - want) & 1))
            want++;
        ck_assert_int_eq(mt_delay_dist_draw(&d, &a), want);
    }
    mt_delay_dist_free(&d);
    /* N = 0 draws nothing; a cap below a fixed delay is refused. */
    ck_assert_int_eq(mt_delay_dist_init(&d, MT_DELAY_GEOMETRIC, 0, -1), MT_OK);
    ck_assert_int_eq(mt_delay_dist_draw(&d, &a), 0);
    ck_assert_uint_eq(mt_rng_u64(&a), mt_rng_u64(&b));
    mt_delay_dist_free(&d);
    ck_assert_int_eq(mt_delay_dist_init(&d, MT_DELAY_FIXED, 3, 2), MT_ERR_ARG);
}
END_TEST

static Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("msgd");
    tcase_add_test(tc, heavy_ball_matches_hand_computed_trajectory);
    tcase_add_test(tc, nesterov_matches_hand_computed_trajectory);
    tcase_add_test(tc, zero_momentum_is_plain_sgd);
    tcase_add_test(tc, velocity_form_equals_previous_parameter_form);
    tcase_add_test(tc, decay_ranges_choose_where_weight_decay_applies);
    suite_add_tcase(s, tc);
    TCase *ts = tcase_create("schedule");
    tcase_add_test(ts, schedules_give_the_papers_values);
    suite_add_tcase(s, ts);
    TCase *td = tcase_create("delay");
    tcase_add_test(td, delay_distributions_have_the_stated_means_and_ranges);
    tcase_add_test(td, geometric_delays_follow_exact_integer_thresholds);
    suite_add_tcase(s, td);
    return s;
}

MT_CHECK_MAIN(optim_suite)
