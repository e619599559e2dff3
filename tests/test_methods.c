/* test_methods.c: the per-push rules of optim/method.h against trajectories
 * worked out by hand on f(x) = x^2 (gradient 2x) with a fixed delay; the
 * rules that must reduce to msgd doing so bit for bit; shard splits; the
 * state through a checkpoint file. */
#include "core/checkpoint.h"
#include "core/rng.h"
#include "core/status.h"
#include "optim/dana.h"
#include "optim/method.h"
#include "optim/momentum_auto.h"
#include "optim/staleness_lr.h"
#include "tests/check_main.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Relative rounding of a few float operations per step, compounded. */
static const double FLOAT_TOL = 3e-6;

static void expect_close(const char *what, int step, double got, double want)
{
    double err = fabs(got - want);
    if (err > FLOAT_TOL * fmax(1.0, fabs(want)))
        ck_abort_msg("%s, step %d: got %.9g, want %.9g (difference %.3g)", what, step, got, want,
                     err);
}

static mt_method *make(mt_method_kind kind, double mu, int workers, int autom)
{
    mt_msgd_config opt = {.momentum = mu, .weight_decay = 0, .nesterov = 0};
    mt_method_config c;
    mt_method_config_default(&c, kind, &opt);
    c.workers = workers;
    c.momentum_auto = autom;
    mt_method *m;
    ck_assert_int_eq(mt_method_create(&m, &c, NULL, 1), MT_OK);
    return m;
}

/* One scalar server run on f(x) = x^2, lr 0.1, x_0 = 1, gradient of step k
 * taken at x_{k - tau_k}, tau_k = min(k, delay); x[k + 1] and v[k + 1] out. */
static void scalar_run(mt_method *m, int delay, int steps, double *x_out, double *v_out,
                       double *mu_out)
{
    float x[16] = {1.0f}, v = 0;
    for (int k = 0; k < steps; k++) {
        int tau = k < delay ? k : delay;
        float read = x[k - tau];
        float g = 2.0f * read;
        float theta = x[k];
        mt_method_push p = mt_method_begin(m, 0, tau, 0.1);
        mt_method_apply(m, &p, &theta, &v, &g, &read, 0, 1);
        x[k + 1] = theta;
        x_out[k] = theta;
        v_out[k] = v;
        if (mu_out)
            mu_out[k] = p.mu;
    }
}

/* scalar_run against the hand-computed x, v (and mu when want_mu). */
static void expect_trajectory(mt_method *m, int delay, int steps, const double *want_x,
                              const double *want_v, const double *want_mu)
{
    double x[16], v[16], mu[16];
    scalar_run(m, delay, steps, x, v, mu);
    for (int k = 0; k < steps; k++) {
        expect_close("x", k + 1, x[k], want_x[k]);
        expect_close("v", k + 1, v[k], want_v[k]);
        if (want_mu)
            expect_close("mu", k + 1, mu[k], want_mu[k]);
    }
}

START_TEST(msgd_with_delay_matches_hand_computed_trajectory)
{
    /* mu 0.5, delay 2: the gradient is 2 x_{k-2} (2 x_0 before that).
     *   k=0: g = 2,   v1 = -0.2,                   x1 = 0.8
     *   k=1: g = 2,   v2 = -0.1 - 0.2   = -0.3,    x2 = 0.5
     *   k=2: g = 2,   v3 = -0.15 - 0.2  = -0.35,   x3 = 0.15
     *   k=3: g = 1.6, v4 = -0.175 - 0.16 = -0.335, x4 = -0.185
     *   k=4: g = 1,   v5 = -0.1675 - 0.1 = -0.2675, x5 = -0.4525 */
    const double want_x[] = {0.8, 0.5, 0.15, -0.185, -0.4525};
    const double want_v[] = {-0.2, -0.3, -0.35, -0.335, -0.2675};
    mt_method *m = make(MT_METHOD_MSGD, 0.5, 1, 0);
    expect_trajectory(m, 2, 5, want_x, want_v, NULL);
    mt_method_free(m);
}
END_TEST

START_TEST(staleness_lr_matches_hand_computed_trajectory)
{
    /* As above but eta_k = 0.1 / max(1, tau_k): 0.1, 0.1, then 0.05.
     *   k=0: v1 = -0.2,                          x1 = 0.8
     *   k=1: v2 = -0.1 - 0.2 = -0.3,             x2 = 0.5
     *   k=2: v3 = -0.15 - 0.05*2 = -0.25,        x3 = 0.25
     *   k=3: v4 = -0.125 - 0.05*1.6 = -0.205,    x4 = 0.045
     *   k=4: v5 = -0.1025 - 0.05*1 = -0.1525,    x5 = -0.1075 */
    const double want_x[] = {0.8, 0.5, 0.25, 0.045, -0.1075};
    const double want_v[] = {-0.2, -0.3, -0.25, -0.205, -0.1525};
    mt_method *m = make(MT_METHOD_STALENESS_LR, 0.5, 1, 0);
    expect_trajectory(m, 2, 5, want_x, want_v, NULL);
    ck_assert(mt_staleness_lr(0.1, 0) == 0.1 && mt_staleness_lr(0.1, 1) == 0.1);
    ck_assert(mt_staleness_lr(0.5, 2) == 0.25 && mt_staleness_lr(0.5, 8) == 0.0625);
    mt_method_free(m);
}
END_TEST

/* A scalar dc-asgd at mu 0.5 with the given lambda. */
static mt_method *make_dc(double lambda0, int adaptive, double decay, double eps)
{
    mt_msgd_config opt = {.momentum = 0.5};
    mt_method_config c;
    mt_method_config_default(&c, MT_METHOD_DC_ASGD, &opt);
    c.dc.lambda0 = lambda0;
    c.dc.adaptive = adaptive;
    c.dc.decay = decay;
    c.dc.eps = eps;
    mt_method *m;
    ck_assert_int_eq(mt_method_create(&m, &c, NULL, 1), MT_OK);
    return m;
}

START_TEST(dc_asgd_constant_matches_hand_computed_trajectory)
{
    /* lambda = 1 (DC-ASGD-c), mu 0.5, delay 2: g~ = g + g^2 (x_k - x_read).
     *   k=0: g = 2, x_k - x_read = 0:           g~ = 2,                       v1 = -0.2,   x1 = 0.8
     *   k=1: g = 2, 0.8 - 1 = -0.2:             g~ = 2 - 4*0.2 = 1.2,         v2 = -0.1 - 0.12 = -0.22,  x2 = 0.58
     *   k=2: g = 2, 0.58 - 1 = -0.42:           g~ = 2 - 4*0.42 = 0.32,       v3 = -0.11 - 0.032 = -0.142, x3 = 0.438
     *   k=3: g = 1.6, 0.438 - 0.8 = -0.362:     g~ = 1.6 - 2.56*0.362 = 0.67328,
     *                                           v4 = -0.071 - 0.067328 = -0.138328, x4 = 0.299672
     * (the true gradient at x3 is 0.876; the stale one 1.6: compensation moves most of the way). */
    const double want_x[] = {0.8, 0.58, 0.438, 0.299672};
    const double want_v[] = {-0.2, -0.22, -0.142, -0.138328};
    mt_method *m = make_dc(1.0, 0, 0.95, 1e-7);
    ck_assert(mt_method_needs_read(m));
    expect_trajectory(m, 2, 4, want_x, want_v, NULL);
    mt_method_free(m);
}
END_TEST

START_TEST(dc_asgd_adaptive_matches_hand_computed_trajectory)
{
    /* DC-ASGD-a with lambda_0 = 0.5, m = 0.5 (eps negligible), mu 0.5, delay 2:
     * MS_k = 0.5 MS_{k-1} + 0.5 g^2, lambda = 0.5 / sqrt(MS_k).
     *   k=0: g = 2, MS = 2,   lambda = 0.5/sqrt 2, x_k - x_read = 0: g~ = 2, v1 = -0.2, x1 = 0.8
     *   k=1: g = 2, MS = 1 + 2 = 3, lambda = 0.5/sqrt 3 = 0.28867513,
     *        g~ = 2 + 0.28867513 * 4 * (-0.2) = 1.76905989,
     *        v2 = -0.1 - 0.176905989 = -0.276905989,           x2 = 0.523094011
     *   k=2: g = 2, MS = 1.5 + 2 = 3.5, lambda = 0.5/sqrt 3.5 = 0.267261242,
     *        x_k - x_read = 0.523094011 - 1 = -0.476905989,
     *        g~ = 2 - 0.267261242 * 4 * 0.476905989 = 2 - 0.509833948 = 1.490166052,
     *        v3 = 0.5 * -0.276905989 - 0.1 * 1.490166052 = -0.138452995 - 0.149016605 = -0.287469600,
     *        x3 = 0.523094011 - 0.287469600 = 0.235624411
     * Worked in higher precision the values are the literals below. */
    const double want_x[] = {0.8, 0.523094010768, 0.235624410934};
    const double want_v[] = {-0.2, -0.276905989232, -0.287469599833};
    mt_method *m = make_dc(0.5, 1, 0.5, 1e-30);
    expect_trajectory(m, 2, 3, want_x, want_v, NULL);
    mt_method_free(m);
}
END_TEST

START_TEST(dana_matches_hand_computed_trajectory)
{
    /* DANA-Zero, 2 workers served in turn (worker k mod 2 pushes at step k and
     * pulls right after), mu 0.5, lr 0.1; both start reading theta^ = 1.
     *   k=0 w0: g = 2*1,   u0 = -0.2,            theta = 0.8,  U = -0.2,  w0 reads 0.8 - 0.1  = 0.7
     *   k=1 w1: g = 2*1,   u1 = -0.2,            theta = 0.6,  U = -0.4,  w1 reads 0.6 - 0.2  = 0.4
     *   k=2 w0: g = 2*0.7, u0 = -0.1 - 0.14 = -0.24, theta = 0.36, U = -0.44, w0 reads 0.36 - 0.22 = 0.14
     *   k=3 w1: g = 2*0.4, u1 = -0.1 - 0.08 = -0.18, theta = 0.18, U = -0.42, w1 reads 0.18 - 0.21 = -0.03
     *   k=4 w0: g = 2*0.14, u0 = -0.12 - 0.028 = -0.148, theta = 0.032, U = -0.328, w0 reads -0.132 */
    const double want_theta[] = {0.8, 0.6, 0.36, 0.18, 0.032};
    const double want_sum[] = {-0.2, -0.4, -0.44, -0.42, -0.328};
    const double want_read[] = {0.7, 0.4, 0.14, -0.03, -0.132};
    mt_method *m = make(MT_METHOD_DANA, 0.5, 2, 0);
    float theta = 1, U = 0, read[2];
    for (int w = 0; w < 2; w++)
        mt_method_read(m, &theta, &U, &read[w], 0, 1, mt_method_momentum(m));
    ck_assert(read[0] == 1.0f && read[1] == 1.0f);
    for (int k = 0; k < 5; k++) {
        int w = k % 2;
        float g = 2.0f * read[w];
        mt_method_push p = mt_method_begin(m, w, k == 0 ? 0 : 1, 0.1);
        mt_method_apply(m, &p, &theta, &U, &g, NULL, 0, 1);
        mt_method_read(m, &theta, &U, &read[w], 0, 1, mt_method_momentum(m));
        expect_close("theta", k + 1, theta, want_theta[k]);
        expect_close("U", k + 1, U, want_sum[k]);
        expect_close("read", k + 1, read[w], want_read[k]);
    }
    mt_method_free(m);
}
END_TEST

START_TEST(auto_momentum_rule_and_trajectory)
{
    /* mu = max(0, 0.9 - tau/(1 + tau)) for the mean tau. */
    ck_assert(fabs(mt_momentum_auto_rule(0.9, 0) - 0.9) < 1e-15);
    ck_assert(fabs(mt_momentum_auto_rule(0.9, 1) - 0.4) < 1e-15);
    ck_assert(fabs(mt_momentum_auto_rule(0.9, 3) - 0.15) < 1e-15);
    ck_assert(mt_momentum_auto_rule(0.9, 9) == 0.0);
    ck_assert(mt_momentum_auto_rule(0.9, 100) == 0.0);
    /* msgd, target 0.9, delay 2: tau = 0, 1, 2, 2 so the mean is 0, 1/2, 1, 5/4 and
     * mu = 0.9, 0.9 - 1/3 = 17/30, 0.4, 0.9 - 5/9 = 31/90.
     *   k=0: v1 = -0.2,                               x1 = 0.8
     *   k=1: v2 = -(17/30)*0.2 - 0.2 = -0.3133333333, x2 = 0.4866666667
     *   k=2: v3 = -0.4*0.3133333333 - 0.2 = -0.3253333333, x3 = 0.1613333333
     *   k=3: g = 1.6, v4 = -(31/90)*0.3253333333 - 0.16 = -0.2720592593, x4 = -0.1107259259 */
    const double want_mu[] = {0.9, 17.0 / 30, 0.4, 31.0 / 90};
    const double want_x[] = {0.8, 0.4866666667, 0.1613333333, -0.1107259259};
    const double want_v[] = {-0.2, -0.3133333333, -0.3253333333, -0.2720592593};
    mt_method *m = make(MT_METHOD_MSGD, 0.9, 1, 1);
    ck_assert(mt_method_momentum(m) == 0.9);
    expect_trajectory(m, 2, 4, want_x, want_v, want_mu);
    mt_method_free(m);
}
END_TEST

enum { VN = 1001 };

/* A buffer with weight decay on two of three ranges, random theta and
 * gradients. */
static void random_problem(mt_msgd_ranges *r, float *theta, float *read, float g[][VN], int steps)
{
    mt_msgd_ranges_init(r, VN);
    mt_msgd_ranges_add(r, 0, 400, 1);
    mt_msgd_ranges_add(r, 400, 100, 0);
    mt_msgd_ranges_add(r, 500, 501, 1);
    mt_rng rng;
    mt_rng_seed(&rng, 7, 0);
    for (int i = 0; i < VN; i++) {
        theta[i] = (float)mt_rng_normal(&rng);
        read[i] = theta[i] + 0.1f * (float)mt_rng_normal(&rng);
    }
    for (int k = 0; k < steps; k++)
        for (int i = 0; i < VN; i++)
            g[k][i] = (float)mt_rng_normal(&rng);
}

/* msgd through mt_msgd_apply against `kind` through the method interface,
 * staleness tau every step, on the same problem: must be equal bit for bit. */
static void expect_msgd_bits(mt_method_kind kind, int64_t tau, double lambda0, int adaptive,
                             int nesterov)
{
    enum { STEPS = 6 };
    static float theta0[VN], read[VN], g[STEPS][VN], a[VN], va[VN], b[VN], vb[VN];
    mt_msgd_ranges r;
    random_problem(&r, theta0, read, g, STEPS);
    mt_msgd_config opt = {.momentum = 0.9, .weight_decay = 5e-4, .nesterov = nesterov};
    mt_method_config c;
    mt_method_config_default(&c, kind, &opt);
    c.dc.lambda0 = lambda0;
    c.dc.adaptive = adaptive;
    mt_method *m;
    ck_assert_int_eq(mt_method_create(&m, &c, &r, VN), MT_OK);
    memcpy(a, theta0, sizeof a);
    memcpy(b, theta0, sizeof b);
    memset(va, 0, sizeof va);
    memset(vb, 0, sizeof vb);
    for (int k = 0; k < STEPS; k++) {
        mt_msgd_apply(&opt, &r, a, va, g[k], 0, VN, 0.05);
        mt_method_push p = mt_method_begin(m, 0, tau, 0.05);
        mt_method_apply(m, &p, b, vb, g[k], read, 0, VN);
    }
    ck_assert_msg(memcmp(a, b, sizeof a) == 0 && memcmp(va, vb, sizeof va) == 0,
                  "%s (tau %lld, lambda %g, adaptive %d, nesterov %d) differs from msgd",
                  mt_method_name(kind), (long long)tau, lambda0, adaptive, nesterov);
    mt_method_free(m);
    mt_msgd_ranges_free(&r);
}

START_TEST(reductions_to_msgd_are_bit_for_bit)
{
    for (int nesterov = 0; nesterov < 2; nesterov++) {
        expect_msgd_bits(MT_METHOD_MSGD, 5, 0, 0, nesterov);
        expect_msgd_bits(MT_METHOD_STALENESS_LR, 0, 0, 0, nesterov);
        expect_msgd_bits(MT_METHOD_STALENESS_LR, 1, 0, 0, nesterov);
        expect_msgd_bits(MT_METHOD_DC_ASGD, 3, 0.0, 0, nesterov);
        expect_msgd_bits(MT_METHOD_DC_ASGD, 3, 0.0, 1, nesterov);
    }
}
END_TEST

START_TEST(nonzero_corrections_differ_from_msgd)
{
    /* The bit-for-bit comparison above can fail: a real correction changes bits. */
    enum { STEPS = 2 };
    static float theta0[VN], read[VN], g[STEPS][VN], a[VN], va[VN];
    mt_msgd_ranges r;
    random_problem(&r, theta0, read, g, STEPS);
    mt_msgd_config opt = {.momentum = 0.9, .weight_decay = 5e-4};
    mt_method_config c;
    mt_method_config_default(&c, MT_METHOD_DC_ASGD, &opt);
    mt_method *m;
    ck_assert_int_eq(mt_method_create(&m, &c, &r, VN), MT_OK);
    memcpy(a, theta0, sizeof a);
    memset(va, 0, sizeof va);
    mt_method_push p = mt_method_begin(m, 0, 3, 0.05);
    mt_method_apply(m, &p, a, va, g[0], read, 0, VN);
    float ref = theta0[7], vref = 0;
    mt_msgd_step(&ref, &vref, &g[0][7], 1, 0.05, 0.9, 5e-4, 0);
    ck_assert(a[7] != ref);
    mt_method_free(m);
    mt_msgd_ranges_free(&r);
}
END_TEST

START_TEST(shard_splits_change_no_bit)
{
    enum { STEPS = 4 };
    static float theta0[VN], read[VN], g[STEPS][VN], a[VN], va[VN], b[VN], vb[VN];
    mt_msgd_ranges r;
    random_problem(&r, theta0, read, g, STEPS);
    mt_msgd_config opt = {.momentum = 0.9, .weight_decay = 5e-4};
    for (int kind = 0; kind < MT_METHOD_COUNT; kind++) {
        mt_method_config c;
        mt_method_config_default(&c, (mt_method_kind)kind, &opt);
        c.workers = 2;
        c.momentum_auto = 1;
        mt_method *m1, *m2;
        ck_assert_int_eq(mt_method_create(&m1, &c, &r, VN), MT_OK);
        ck_assert_int_eq(mt_method_create(&m2, &c, &r, VN), MT_OK);
        memcpy(a, theta0, sizeof a);
        memcpy(b, theta0, sizeof b);
        memset(va, 0, sizeof va);
        memset(vb, 0, sizeof vb);
        const size_t cuts[] = {0, 333, 450, 777, VN};
        for (int k = 0; k < STEPS; k++) {
            mt_method_push p1 = mt_method_begin(m1, k % 2, k, 0.05);
            mt_method_push p2 = mt_method_begin(m2, k % 2, k, 0.05);
            mt_method_apply(m1, &p1, a, va, g[k], read, 0, VN);
            for (int s = 0; s < 4; s++)
                mt_method_apply(m2, &p2, b, vb, g[k], read, cuts[s], cuts[s + 1]);
        }
        ck_assert_msg(memcmp(a, b, sizeof a) == 0 && memcmp(va, vb, sizeof va) == 0,
                      "%s: a split update differs", mt_method_name((mt_method_kind)kind));
        mt_method_free(m1);
        mt_method_free(m2);
    }
    mt_msgd_ranges_free(&r);
}
END_TEST

START_TEST(state_round_trips_through_a_checkpoint)
{
    enum { STEPS = 8, HALF = 4 };
    static float theta0[VN], read[VN], g[STEPS][VN], a[VN], va[VN], b[VN], vb[VN];
    mt_msgd_ranges r;
    random_problem(&r, theta0, read, g, STEPS);
    mt_msgd_config opt = {.momentum = 0.9, .weight_decay = 5e-4};
    char path[] = "/tmp/mt_test_methods_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    for (int kind = 0; kind < MT_METHOD_COUNT; kind++) {
        mt_method_config c;
        mt_method_config_default(&c, (mt_method_kind)kind, &opt);
        c.workers = 3;
        c.momentum_auto = 1;
        mt_method *m1, *m2;
        ck_assert_int_eq(mt_method_create(&m1, &c, &r, VN), MT_OK);
        memcpy(a, theta0, sizeof a);
        memset(va, 0, sizeof va);
        for (int k = 0; k < STEPS; k++) {
            if (k == HALF) { /* save the state; b continues from it in a fresh method */
                mt_ckpt ck;
                mt_ckpt_init(&ck, 42);
                ck_assert_int_eq(mt_method_ckpt_add(m1, &ck), MT_OK);
                ck_assert_int_eq(mt_ckpt_write(&ck, path), MT_OK);
                mt_ckpt_free(&ck);
                memcpy(b, a, sizeof b);
                memcpy(vb, va, sizeof vb);
            }
            mt_method_push p = mt_method_begin(m1, k % 3, k % 4, 0.05);
            mt_method_apply(m1, &p, a, va, g[k], read, 0, VN);
        }
        ck_assert_int_eq(mt_method_create(&m2, &c, &r, VN), MT_OK);
        mt_ckpt in;
        ck_assert_int_eq(mt_ckpt_read(&in, path, 42, "test"), MT_OK);
        ck_assert_int_eq(mt_method_ckpt_load(m2, &in), MT_OK);
        mt_ckpt_free(&in);
        for (int k = HALF; k < STEPS; k++) {
            mt_method_push p = mt_method_begin(m2, k % 3, k % 4, 0.05);
            mt_method_apply(m2, &p, b, vb, g[k], read, 0, VN);
        }
        ck_assert_msg(memcmp(a, b, sizeof a) == 0 && memcmp(va, vb, sizeof va) == 0,
                      "%s: the resumed run differs", mt_method_name((mt_method_kind)kind));
        mt_method_free(m1);
        mt_method_free(m2);
    }
    /* Another method's checkpoint is refused, naming both. */
    mt_method_config c;
    mt_method_config_default(&c, MT_METHOD_MSGD, &opt);
    mt_method *m;
    ck_assert_int_eq(mt_method_create(&m, &c, &r, VN), MT_OK);
    mt_ckpt in;
    ck_assert_int_eq(mt_ckpt_read(&in, path, 42, "test"), MT_OK);
    ck_assert_int_eq(mt_method_ckpt_load(m, &in), MT_ERR_FORMAT);
    ck_assert_msg(strstr(mt_errmsg(), "dana") && strstr(mt_errmsg(), "msgd"), "%s", mt_errmsg());
    mt_ckpt_free(&in);
    mt_method_free(m);
    unlink(path);
    mt_msgd_ranges_free(&r);
}
END_TEST

START_TEST(bad_configurations_name_the_field)
{
    mt_msgd_config opt = {.momentum = 0.9};
    mt_method_config c;
    mt_method_kind k;
    ck_assert_int_eq(mt_method_parse("dc-asgd", &k), MT_OK);
    ck_assert_int_eq(k, MT_METHOD_DC_ASGD);
    ck_assert_int_eq(mt_method_parse("adam", &k), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "adam") && strstr(mt_errmsg(), "staleness-lr"));
    mt_method_config_default(&c, MT_METHOD_DANA, &opt);
    c.opt.nesterov = 1;
    ck_assert_int_eq(mt_method_config_check(&c), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "Nesterov"));
    mt_method_config_default(&c, MT_METHOD_DC_ASGD, &opt);
    c.dc.decay = 1.0;
    ck_assert_int_eq(mt_method_config_check(&c), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "decay"));
    c.dc.decay = 0.95;
    c.dc.lambda0 = -1;
    ck_assert_int_eq(mt_method_config_check(&c), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "lambda"));
    mt_method_config_default(&c, MT_METHOD_MSGD, &opt);
    c.workers = 0;
    ck_assert_int_eq(mt_method_config_check(&c), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "workers"));
}
END_TEST

static Suite *methods_suite(void)
{
    Suite *s = suite_create("methods");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, msgd_with_delay_matches_hand_computed_trajectory);
    tcase_add_test(tc, staleness_lr_matches_hand_computed_trajectory);
    tcase_add_test(tc, dc_asgd_constant_matches_hand_computed_trajectory);
    tcase_add_test(tc, dc_asgd_adaptive_matches_hand_computed_trajectory);
    tcase_add_test(tc, dana_matches_hand_computed_trajectory);
    tcase_add_test(tc, auto_momentum_rule_and_trajectory);
    tcase_add_test(tc, reductions_to_msgd_are_bit_for_bit);
    tcase_add_test(tc, nonzero_corrections_differ_from_msgd);
    tcase_add_test(tc, shard_splits_change_no_bit);
    tcase_add_test(tc, state_round_trips_through_a_checkpoint);
    tcase_add_test(tc, bad_configurations_name_the_field);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(methods_suite)
