/* test_pca.c: the streaming-PCA simulation: the step against hand
 * computations, Oja's rule converging, the error's definition, divergence
 * being counted, reproducibility across thread counts, the covariance
 * (eigendecomposition, square root, validation), the samplers and delays,
 * and the statistics behind the optimal delay.
 */
#include "core/rng.h"
#include "core/status.h"
#include "pca/pca.h"
#include "pca/pca_stats.h"
#include "tests/check_main.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static mt_pca_cov paper_cov(void)
{
    mt_pca_cov c;
    const double diag[4] = {4, 3, 2, 1};
    ck_assert_int_eq(mt_pca_cov_diag(&c, diag, 4), MT_OK);
    return c;
}

static mt_pca_run_cfg base_cfg(const mt_pca_cov *c, const double *v0)
{
    return (mt_pca_run_cfg){.cov = c,
                            .lr = 0.0005,
                            .momentum = 0,
                            .delay = 0,
                            .delay_dist = MT_PCA_DELAY_FIXED,
                            .data = MT_PCA_DATA_GAUSSIAN,
                            .iters = 100,
                            .v0 = v0,
                            .checkpoints = 0,
                            .blowup = 1e6};
}

START_TEST(step_matches_hand_computation)
{
    /* w = (0.6, 0.8), x = (1, 2): s = x.w = 2.2,
     * g = s (x - s w) = 2.2 * ((1, 2) - 2.2 (0.6, 0.8)) = 2.2 * (-0.32, 0.24) = (-0.704, 0.528).
     * v_next = v + 0.5 (v - v_prev) + 0.1 g with v = w, v_prev = (0.5, 0.9):
     *        = (0.6 + 0.05 - 0.0704, 0.8 - 0.05 + 0.0528) = (0.5796, 0.8028). */
    const double w[2] = {0.6, 0.8}, x[2] = {1, 2}, vp[2] = {0.5, 0.9};
    double g[2], vn[2];
    mt_pca_grad(g, w, x, 2);
    ck_assert_double_eq_tol(g[0], -0.704, 1e-15);
    ck_assert_double_eq_tol(g[1], 0.528, 1e-15);
    mt_pca_step(vn, w, vp, w, x, 2, 0.1, 0.5);
    ck_assert_double_eq_tol(vn[0], 0.5796, 1e-15);
    ck_assert_double_eq_tol(vn[1], 0.8028, 1e-15);
    /* The direction is orthogonal to w when |w| = 1: the projection removes the radial part. */
    ck_assert_double_eq_tol(g[0] * w[0] + g[1] * w[1], 0.0, 1e-15);
}
END_TEST

/* g(w, x) = (x.w) (x - (x.w) w), written out for d = 2. */
static void hand_grad(double g[2], const double w[2], const double x[2])
{
    double s = x[0] * w[0] + x[1] * w[1];
    g[0] = s * (x[0] - s * w[0]);
    g[1] = s * (x[1] - s * w[1]);
}

START_TEST(three_delayed_steps_match_hand_computation)
{
    /* tau = 1, mu = 0.5, lr = 0.1, v_0 = v_{-1} = (0.6, 0.8). The delayed
     * read is clamped at v_0, so:
     *   v1 = v0 + 0.5 (v0 - v0) + lr g(v0, x1)
     *   v2 = v1 + 0.5 (v1 - v0) + lr g(v0, x2)
     *   v3 = v2 + 0.5 (v2 - v1) + lr g(v1, x3)
     * with x1, x2, x3 the run's samples (data stream = run index). */
    mt_pca_cov c;
    const double diag[2] = {4, 1};
    ck_assert_int_eq(mt_pca_cov_diag(&c, diag, 2), MT_OK);
    const double v0[2] = {0.6, 0.8};
    mt_pca_run_cfg cfg = base_cfg(&c, v0);
    cfg.lr = 0.1, cfg.momentum = 0.5, cfg.delay = 1, cfg.iters = 3;
    ck_assert_int_eq(mt_pca_run_check(&cfg), MT_OK);
    double work[64], v_end[2];
    ck_assert_int_le(mt_pca_run_work_size(&cfg), 64);
    mt_pca_run_result res;
    ck_assert_int_eq(mt_pca_run(&cfg, 11, 3, work, NULL, v_end, &res), MT_OK);

    mt_rng r;
    mt_rng_seed(&r, 11, 3);
    double x[3][2], z[2];
    for (int k = 0; k < 3; k++) {
        mt_pca_sample(&c, MT_PCA_DATA_GAUSSIAN, &r, x[k], z);
        /* Sigma^{1/2} = diag(2, 1): X_1 has twice the spread. */
        ck_assert_double_eq_tol(x[k][0], 2 * z[0], 1e-15);
        ck_assert_double_eq_tol(x[k][1], z[1], 1e-15);
    }
    double g[2], v1[2], v2[2], v3[2];
    hand_grad(g, v0, x[0]);
    v1[0] = v0[0] + 0.1 * g[0], v1[1] = v0[1] + 0.1 * g[1];
    hand_grad(g, v0, x[1]);
    v2[0] = v1[0] + 0.5 * (v1[0] - v0[0]) + 0.1 * g[0];
    v2[1] = v1[1] + 0.5 * (v1[1] - v0[1]) + 0.1 * g[1];
    hand_grad(g, v1, x[2]);
    v3[0] = v2[0] + 0.5 * (v2[0] - v1[0]) + 0.1 * g[0];
    v3[1] = v2[1] + 0.5 * (v2[1] - v1[1]) + 0.1 * g[1];
    double worst = fmax(fabs(v_end[0] - v3[0]), fabs(v_end[1] - v3[1]));
    if (worst > 1e-12)
        fprintf(stderr, "three steps: worst difference %g (got %.15g %.15g, want %.15g %.15g)\n", worst,
                v_end[0], v_end[1], v3[0], v3[1]);
    ck_assert_double_le(worst, 1e-12);
    ck_assert_int_eq(res.diverged, 0);
    ck_assert_double_eq_tol(res.error, 1 - v3[0] * v3[0] / (v3[0] * v3[0] + v3[1] * v3[1]), 1e-12);
    mt_pca_cov_free(&c);
}
END_TEST

START_TEST(oja_converges_to_top_eigenvector)
{
    /* mu = 0, tau = 0 is Oja's rule; from the saddle e2 the noise pushes v
     * off and it converges to +e1 or -e1. With lr = 0.002 the escape and the
     * contraction (rate lr (lambda1 - lambda2) = 0.002 per step) are done well
     * within 15000 steps; the stationary error is about lr/2 sum_j
     * lambda1 lambda_j / (lambda1 - lambda_j) ~ 0.02. */
    mt_pca_cov c = paper_cov();
    const double v0[4] = {0, 1, 0, 0};
    mt_pca_run_cfg cfg = base_cfg(&c, v0);
    cfg.lr = 0.002, cfg.iters = 15000;
    double work[64], v[4];
    int signs[2] = {0, 0};
    for (int run = 0; run < 8; run++) {
        mt_pca_run_result res;
        mt_pca_run(&cfg, 5, (uint64_t)run, work, NULL, v, &res);
        ck_assert_int_eq(res.diverged, 0);
        if (res.error > 0.1)
            fprintf(stderr, "run %d: error %g, v = (%g %g %g %g)\n", run, res.error, v[0], v[1], v[2], v[3]);
        ck_assert_double_lt(res.error, 0.1);
        ck_assert_double_gt(fabs(v[0]), 0.95);
        ck_assert_double_eq_tol(res.norm, 1.0, 0.05); /* Oja's rule keeps |v| near 1 */
        signs[v[0] > 0]++;
    }
    /* The sign is the noise's choice; 8 runs all on one side would be 1 in 128. */
    ck_assert_int_gt(signs[0] + signs[1], 0);
    mt_pca_cov_free(&c);
}
END_TEST

START_TEST(error_definition)
{
    mt_pca_cov c = paper_cov();
    const double e1[4] = {1, 0, 0, 0}, e2[4] = {0, 1, 0, 0}, half[4] = {1, 1, 0, 0};
    const double zero[4] = {0}, bad[4] = {NAN, 0, 0, 0};
    ck_assert_double_eq_tol(mt_pca_error(&c, e1), 0.0, 1e-15);
    ck_assert_double_eq_tol(mt_pca_error(&c, e2), 1.0, 1e-15);
    ck_assert_double_eq_tol(mt_pca_error(&c, half), 0.5, 1e-15);
    ck_assert_double_eq(mt_pca_error(&c, zero), 1.0);
    ck_assert_double_eq(mt_pca_error(&c, bad), 1.0);
    /* The same for v, -v and any multiple. */
    mt_rng r;
    mt_rng_seed(&r, 3, 0);
    for (int t = 0; t < 100; t++) {
        double v[4], m[4], s[4];
        for (int i = 0; i < 4; i++) {
            v[i] = mt_rng_normal(&r);
            m[i] = -v[i];
            s[i] = 7.5 * v[i];
        }
        double e = mt_pca_error(&c, v);
        ck_assert_double_eq(e, mt_pca_error(&c, m));
        ck_assert_double_eq_tol(e, mt_pca_error(&c, s), 1e-14);
        ck_assert(e >= 0 && e <= 1);
        ck_assert_double_eq_tol(e, 1 - v[0] * v[0] / (v[0] * v[0] + v[1] * v[1] + v[2] * v[2] + v[3] * v[3]),
                                1e-14);
    }
    mt_pca_cov_free(&c);
    /* A rotated Sigma: eigenvalues 3, 1 along (1,1)/sqrt2, (1,-1)/sqrt2. */
    const double sigma[4] = {2, 1, 1, 2};
    ck_assert_int_eq(mt_pca_cov_full(&c, sigma, 2, "test"), MT_OK);
    const double a[2] = {1, 0}, b[2] = {1, 1}, d[2] = {1, -1};
    ck_assert_double_eq_tol(mt_pca_error(&c, a), 0.5, 1e-12);
    ck_assert_double_eq_tol(mt_pca_error(&c, b), 0.0, 1e-12);
    ck_assert_double_eq_tol(mt_pca_error(&c, d), 1.0, 1e-12);
    mt_pca_cov_free(&c);
    /* A repeated top eigenvalue: the error is the distance to the whole eigenspace. */
    const double tie[3] = {2, 2, 1};
    ck_assert_int_eq(mt_pca_cov_diag(&c, tie, 3), MT_OK);
    ck_assert_int_eq(c.top_mult, 2);
    const double in_space[3] = {0.3, -0.7, 0}, out[3] = {0, 1, 1};
    ck_assert_double_eq_tol(mt_pca_error(&c, in_space), 0.0, 1e-15);
    ck_assert_double_eq_tol(mt_pca_error(&c, out), 0.5, 1e-15);
    mt_pca_cov_free(&c);
}
END_TEST

START_TEST(divergence_is_counted_not_a_crash)
{
    mt_pca_cov c = paper_cov();
    const double v0[4] = {0, 1, 0, 0};
    mt_pca_run_cfg cfg = base_cfg(&c, v0);
    cfg.lr = 0.05, cfg.momentum = 0.95, cfg.delay = 40, cfg.iters = 5000, cfg.checkpoints = 10;
    double *work = malloc((size_t)mt_pca_run_work_size(&cfg) * sizeof *work);
    double trace[10];
    mt_pca_run_result res;
    ck_assert_int_eq(mt_pca_run(&cfg, 1, 0, work, trace, NULL, &res), MT_OK);
    ck_assert_int_eq(res.diverged, 1);
    ck_assert_int_gt(res.diverged_at, 0);
    ck_assert_int_le(res.diverged_at, 5000);
    ck_assert_double_eq(res.error, 1.0);
    ck_assert(!(res.norm * res.norm <= 1e6)); /* large or NaN */
    ck_assert_double_eq(trace[9], 1.0);
    free(work);

    /* In a grid: counted per cell, and the stable cell next to it is not. */
    const double mus[1] = {0.95};
    const int taus[2] = {0, 40};
    mt_pca_grid_cfg g = {.base = cfg, .momenta = mus, .n_mu = 1, .delays = taus, .n_tau = 2, .runs = 4, .seed = 2};
    g.base.lr = 0.0005;
    g.base.iters = 3000;
    g.base.checkpoints = 0;
    mt_pca_grid_result r;
    ck_assert_int_eq(mt_pca_grid_run(&g, &r), MT_OK);
    mt_pca_stats s0, s1;
    mt_pca_stats_cell(&r, 0, 0, &s0);
    mt_pca_stats_cell(&r, 0, 1, &s1);
    ck_assert_int_eq(s0.diverged, 0);
    ck_assert_int_eq(s1.diverged, 4); /* mu = 0.95 cannot take tau = 40 (the grid's Figure 1 shows it) */
    ck_assert_double_eq(s1.mean, 1.0);
    ck_assert(isnan(s1.mean_converged));
    mt_pca_grid_free(&r);
    mt_pca_cov_free(&c);
}
END_TEST

START_TEST(grid_is_the_same_for_any_thread_count)
{
    mt_pca_cov c = paper_cov();
    const double v0[4] = {0, 1, 0, 0};
    const double mus[2] = {0.7, 0.9};
    const int taus[3] = {0, 7, 30};
    mt_pca_grid_cfg g = {.base = base_cfg(&c, v0), .momenta = mus, .n_mu = 2, .delays = taus, .n_tau = 3,
                         .runs = 6, .seed = 9};
    g.base.iters = 1500;
    g.base.checkpoints = 5;
    g.base.delay_dist = MT_PCA_DELAY_GEOMETRIC;
    mt_pca_grid_result a, b;
    /* Under ThreadSanitizer OpenMP's barriers are invisible, so keep one thread there. */
    int many = getenv("MUTAU_TSAN") ? 1 : 3;
    g.threads = 1;
    ck_assert_int_eq(mt_pca_grid_run(&g, &a), MT_OK);
    g.threads = many;
    ck_assert_int_eq(mt_pca_grid_run(&g, &b), MT_OK);
    long n = 2L * 3 * 6;
    ck_assert_int_eq(memcmp(a.error, b.error, (size_t)n * sizeof *a.error), 0);
    ck_assert_int_eq(memcmp(a.trace, b.trace, (size_t)n * 5 * sizeof *a.trace), 0);
    ck_assert_int_eq(memcmp(a.diverged, b.diverged, (size_t)n), 0);

    /* A cell does not depend on the rest of the grid: tau = 7 alone gives the same runs. */
    mt_pca_grid_result one;
    g.delays = taus + 1;
    g.n_tau = 1;
    ck_assert_int_eq(mt_pca_grid_run(&g, &one), MT_OK);
    for (int i = 0; i < 2; i++)
        for (int r = 0; r < 6; r++)
            ck_assert_double_eq(one.error[mt_pca_grid_index(&one, i, 0, r)], a.error[mt_pca_grid_index(&a, i, 1, r)]);

    /* Another seed gives other numbers. */
    mt_pca_grid_result other;
    g.seed = 10;
    ck_assert_int_eq(mt_pca_grid_run(&g, &other), MT_OK);
    int same = 0;
    for (int r = 0; r < 6; r++)
        same += other.error[r] == one.error[r];
    ck_assert_int_lt(same, 6);
    mt_pca_grid_free(&a), mt_pca_grid_free(&b), mt_pca_grid_free(&one), mt_pca_grid_free(&other);
    mt_pca_cov_free(&c);
}
END_TEST

START_TEST(covariance_decomposition_and_validation)
{
    /* A 3 x 3 with known eigenvalues: Q diag(5, 2, 0.5) Q^T for a rotation Q. */
    const double th = 0.7, ph = 0.3;
    double q[9] = {cos(th), -sin(th), 0, sin(th), cos(th), 0, 0, 0, 1}, q2[9] = {1, 0, 0, 0, cos(ph), -sin(ph), 0, sin(ph), cos(ph)};
    double qq[9] = {0}, lam[3] = {5, 2, 0.5}, sigma[9] = {0};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                qq[i * 3 + j] += q[i * 3 + k] * q2[k * 3 + j];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                sigma[i * 3 + j] += qq[i * 3 + k] * lam[k] * qq[j * 3 + k];
    mt_pca_cov c;
    ck_assert_int_eq(mt_pca_cov_full(&c, sigma, 3, "test"), MT_OK);
    ck_assert_int_eq(c.diagonal, 0);
    for (int k = 0; k < 3; k++)
        ck_assert_double_eq_tol(c.eigval[k], lam[k], 1e-12);
    /* root * root = Sigma, and the top eigenvector is Q's first column up to sign. */
    double worst = 0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int k = 0; k < 3; k++)
                s += c.root[i * 3 + k] * c.root[k * 3 + j];
            worst = fmax(worst, fabs(s - sigma[i * 3 + j]));
        }
    ck_assert_double_le(worst, 1e-12);
    double dot = 0;
    for (int i = 0; i < 3; i++)
        dot += c.eigvec[i * 3 + 0] * qq[i * 3 + 0];
    ck_assert_double_eq_tol(fabs(dot), 1.0, 1e-12);
    mt_pca_cov_free(&c);

    const double indefinite[4] = {1, 2, 2, 1}; /* eigenvalues 3 and -1 */
    ck_assert_int_eq(mt_pca_cov_full(&c, indefinite, 2, "m.txt"), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "m.txt"));
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "positive semidefinite"));
    const double asym[4] = {1, 0.5, 0.2, 1};
    ck_assert_int_eq(mt_pca_cov_full(&c, asym, 2, "m.txt"), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "row 1, column 2"));
    const double negative[2] = {1, -1};
    ck_assert_int_eq(mt_pca_cov_diag(&c, negative, 2), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "entry 2"));
}
END_TEST

/* Writes text to a fresh temporary file; returns its path (static buffer). */
static const char *temp_file(const char *text)
{
    static char path[256];
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%s/mutau-pca-XXXXXX", dir);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(covariance_file)
{
    mt_pca_cov c;
    const char *p = temp_file("# a 3 x 3 covariance\n3, 1, 0\n1 3 0  # comment\n\n0\t0\t1\n");
    ck_assert_int_eq(mt_pca_cov_read(&c, p), MT_OK);
    ck_assert_int_eq(c.d, 3);
    ck_assert_double_eq_tol(c.eigval[0], 4.0, 1e-12);
    ck_assert_double_eq_tol(c.eigval[1], 2.0, 1e-12);
    ck_assert_double_eq_tol(c.eigval[2], 1.0, 1e-12);
    mt_pca_cov_free(&c);
    unlink(p);

    p = temp_file("1 0 0\n0 1\n0 0 1\n");
    ck_assert_int_eq(mt_pca_cov_read(&c, p), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), p));
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "row 2"));
    unlink(p);
    p = temp_file("1 0\n0 x1\n");
    ck_assert_int_eq(mt_pca_cov_read(&c, p), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "row 2"));
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "'x1'"));
    unlink(p);
    p = temp_file("1 0\n0 1\n0 0\n");
    ck_assert_int_eq(mt_pca_cov_read(&c, p), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "square"));
    unlink(p);
    ck_assert_int_eq(mt_pca_cov_read(&c, "no/such/file"), MT_ERR_IO);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "no/such/file"));
}
END_TEST

START_TEST(samples_have_the_covariance)
{
    /* Sample covariance of 100k draws against Sigma, within 6 standard
     * errors (sd of x_i x_j is at most sqrt(2) Sigma_ii^1/2 Sigma_jj^1/2 / sqrt n
     * for these distributions). */
    const double sigma[9] = {3, 1, 0.5, 1, 2, 0, 0.5, 0, 1};
    mt_pca_cov c;
    ck_assert_int_eq(mt_pca_cov_full(&c, sigma, 3, "test"), MT_OK);
    for (int data = 0; data < 2; data++) {
        mt_rng r;
        mt_rng_seed(&r, 4, (uint64_t)data);
        const int n = 100000;
        double acc[9] = {0}, mean[3] = {0}, x[3], z[4], bound2 = 3 * 3 * c.eigval[0];
        /* bounded: |X|^2 = z^T Sigma z <= lambda_max |z|^2 <= 3 d lambda_max */
        for (int t = 0; t < n; t++) {
            mt_pca_sample(&c, (mt_pca_data_dist)data, &r, x, z);
            double nn = 0;
            for (int i = 0; i < 3; i++) {
                mean[i] += x[i];
                nn += x[i] * x[i];
                for (int j = 0; j < 3; j++)
                    acc[i * 3 + j] += x[i] * x[j];
            }
            if (data == MT_PCA_DATA_BOUNDED)
                ck_assert_double_le(nn, bound2 * (1 + 1e-12));
        }
        for (int i = 0; i < 3; i++) {
            ck_assert_double_eq_tol(mean[i] / n, 0.0, 6 * sqrt(sigma[i * 3 + i] / n));
            for (int j = 0; j < 3; j++) {
                double tol = 6 * sqrt(2.0 * sigma[i * 3 + i] * sigma[j * 3 + j] / n);
                double got = acc[i * 3 + j] / n;
                if (fabs(got - sigma[i * 3 + j]) > tol)
                    fprintf(stderr, "data %d: cov[%d][%d] = %g, want %g +- %g\n", data, i, j, got,
                            sigma[i * 3 + j], tol);
                ck_assert_double_eq_tol(got, sigma[i * 3 + j], tol);
            }
        }
    }
    mt_pca_cov_free(&c);
}
END_TEST

START_TEST(statistics_and_optimal_delay)
{
    /* Quantiles by hand: sorted 1..5, type 7: q25 = 2, median = 3, q10 = 1.4. */
    const double e[5] = {0.5, 0.1, 0.3, 0.2, 0.4};
    mt_pca_stats s;
    ck_assert_int_eq(mt_pca_stats_of(e, NULL, 5, &s), MT_OK);
    ck_assert_double_eq_tol(s.mean, 0.3, 1e-15);
    ck_assert_double_eq_tol(s.sd, sqrt(0.025), 1e-15);
    ck_assert_double_eq_tol(s.median, 0.3, 1e-15);
    ck_assert_double_eq_tol(s.q25, 0.2, 1e-15);
    ck_assert_double_eq_tol(s.q10, 0.14, 1e-15);
    ck_assert_double_eq_tol(s.q90, 0.46, 1e-15);
    /* A diverged run counts as error 1 in the mean, not in mean_converged. */
    const unsigned char div[5] = {0, 0, 0, 0, 1};
    ck_assert_int_eq(mt_pca_stats_of(e, div, 5, &s), MT_OK);
    ck_assert_int_eq(s.diverged, 1);
    ck_assert_double_eq_tol(s.mean, (0.5 + 0.1 + 0.3 + 0.2 + 1) / 5, 1e-15);
    ck_assert_double_eq_tol(s.mean_converged, (0.5 + 0.1 + 0.3 + 0.2) / 4, 1e-15);
    ck_assert_double_eq(s.max, 1.0);

    /* The optimal delay: the last of the leading run within factor 2 of the first. */
    mt_pca_stats cells[5] = {{.mean = 0.1}, {.mean = 0.15}, {.mean = 0.19}, {.mean = 0.25}, {.mean = 0.12}};
    int censored;
    ck_assert_int_eq(mt_pca_optimal_delay(cells, 5, 2.0, &censored), 2);
    ck_assert_int_eq(censored, 0);
    cells[3].mean = 0.2;
    ck_assert_int_eq(mt_pca_optimal_delay(cells, 5, 2.0, &censored), 4);
    ck_assert_int_eq(censored, 1);
    cells[1].diverged = 1; /* a diverged run disqualifies even a small mean */
    ck_assert_int_eq(mt_pca_optimal_delay(cells, 5, 2.0, &censored), 0);
    cells[0].diverged = 1;
    ck_assert_int_eq(mt_pca_optimal_delay(cells, 5, 2.0, &censored), -1);

    /* Exact tau = 3000 (1 - mu)^2 data recovers c2 = 3000 and b = 2. */
    const double mu[4] = {0.7, 0.8, 0.9, 0.95};
    double tau[4];
    for (int i = 0; i < 4; i++)
        tau[i] = 3000 * (1 - mu[i]) * (1 - mu[i]);
    mt_pca_scaling_fit f;
    mt_pca_fit_scaling(mu, tau, 4, &f);
    ck_assert_int_eq(f.n, 4);
    ck_assert_double_eq_tol(f.c2, 3000, 1e-9);
    ck_assert_double_eq_tol(f.b, 2, 1e-12);
    ck_assert_double_eq_tol(f.c, 3000, 1e-8);
    ck_assert_int_eq(mt_pca_paper_delay(0.85), 60);
    ck_assert_int_eq(mt_pca_paper_delay(0.5), -1);
}
END_TEST

START_TEST(linear_stability_of_the_delayed_heavy_ball)
{
    /* tau = 0: z^2 - (1 + mu - a) z + mu, stable iff 0 < a < 2 (1 + mu). */
    ck_assert_int_eq(mt_pca_linear_stable(0.0, 1.9, 0), 1);
    ck_assert_int_eq(mt_pca_linear_stable(0.0, 2.1, 0), 0);
    ck_assert_int_eq(mt_pca_linear_stable(0.5, 2.9, 0), 1);
    ck_assert_int_eq(mt_pca_linear_stable(0.5, 3.1, 0), 0);
    /* mu = 0, tau = 1: z^2 - z + a, stable iff a < 1 (the product of the roots). */
    ck_assert_int_eq(mt_pca_linear_stable(0.0, 0.99, 1), 1);
    ck_assert_int_eq(mt_pca_linear_stable(0.0, 1.01, 1), 0);
    /* The paper's setting, a = 2 eta lambda_1 = 0.004: the limits found from
     * the eigenvalues of the recursion's companion matrix (numpy.linalg.eigvals,
     * computed independently) are 115, 74, 53, 32, 13. */
    const double mu[5] = {0.7, 0.8, 0.85, 0.9, 0.95};
    const int want[5] = {115, 74, 53, 32, 13};
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(mt_pca_linear_max_delay(mu[i], 0.004, 1000), want[i]);
    ck_assert_int_eq(mt_pca_linear_max_delay(0.7, 0.004, 50), 50); /* capped */
    ck_assert_int_eq(mt_pca_linear_max_delay(0.5, 3.5, 10), -1);
}
END_TEST

START_TEST(bad_configurations_are_rejected)
{
    mt_pca_cov c = paper_cov();
    mt_pca_run_cfg cfg = base_cfg(&c, NULL);
    cfg.momentum = 1.0;
    ck_assert_int_eq(mt_pca_run_check(&cfg), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "momentum"));
    cfg = base_cfg(&c, NULL);
    cfg.lr = 0;
    ck_assert_int_eq(mt_pca_run_check(&cfg), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "learning rate"));
    const double zero[4] = {0};
    cfg = base_cfg(&c, zero);
    ck_assert_int_eq(mt_pca_run_check(&cfg), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "zero"));
    mt_pca_grid_cfg g = {.base = base_cfg(&c, NULL), .n_mu = 0, .n_tau = 1, .runs = 1};
    mt_pca_grid_result r;
    ck_assert_int_eq(mt_pca_grid_run(&g, &r), MT_ERR_ARG);
    mt_pca_cov_free(&c);
}
END_TEST

static Suite *pca_suite(void)
{
    Suite *s = suite_create("pca");
    TCase *tc = tcase_create("pca");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, step_matches_hand_computation);
    tcase_add_test(tc, three_delayed_steps_match_hand_computation);
    tcase_add_test(tc, oja_converges_to_top_eigenvector);
    tcase_add_test(tc, error_definition);
    tcase_add_test(tc, divergence_is_counted_not_a_crash);
    tcase_add_test(tc, grid_is_the_same_for_any_thread_count);
    tcase_add_test(tc, covariance_decomposition_and_validation);
    tcase_add_test(tc, covariance_file);
    tcase_add_test(tc, samples_have_the_covariance);
    tcase_add_test(tc, statistics_and_optimal_delay);
    tcase_add_test(tc, linear_stability_of_the_delayed_heavy_ball);
    tcase_add_test(tc, bad_configurations_are_rejected);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(pca_suite)
