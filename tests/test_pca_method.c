/* test_pca_method.c: the remedies on the streaming-PCA iteration
 * (pca/pca_method.h): single steps worked out by hand, the reductions to the
 * paper's iteration bit for bit, dana's refusal of random delays, and the
 * method kept in progress.bin. */
#include "core/status.h"
#include "pca/pca.h"
#include "pca/pca_ckpt.h"
#include "pca/pca_method.h"
#include "tests/check_main.h"
#include "tests/tool_run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void expect_vec(const char *what, const double *got, const double *want, int d)
{
    for (int i = 0; i < d; i++)
        ck_assert_msg(fabs(got[i] - want[i]) < 1e-12, "%s[%d]: got %.15g, want %.15g", what, i, got[i],
                      want[i]);
}

static mt_pca_run_cfg cfg2(const mt_pca_cov *c, mt_method_kind kind, int delay)
{
    mt_pca_run_cfg r = {.cov = c, .lr = 0.1, .momentum = 0.5, .delay = delay,
                        .delay_dist = MT_PCA_DELAY_FIXED, .iters = 10, .blowup = 1e6};
    r.method.kind = kind;
    mt_dc_asgd_config_default(&r.method.dc);
    return r;
}

START_TEST(dc_asgd_step_matches_hand_computation)
{
    /* d = 2, v = v_prev = (1, 0), w = (0.6, 0.8), x = (1, 1), lr 0.1, lambda = 1:
     * s = x.w = 1.4, D = s (x - s w) = 1.4 (0.16, -0.12) = (0.224, -0.168);
     * D~ = D - D D (v - w) = (0.224 - 0.050176 * 0.4, -0.168 - 0.028224 * (-0.8))
     *    = (0.2039296, -0.1454208);  v_next = v + 0.1 D~ = (1.02039296, -0.01454208). */
    double diag[] = {2, 1};
    mt_pca_cov c;
    ck_assert_int_eq(mt_pca_cov_diag(&c, diag, 2), MT_OK);
    mt_pca_run_cfg r = cfg2(&c, MT_METHOD_DC_ASGD, 1);
    r.method.dc.adaptive = 0;
    r.method.dc.lambda0 = 1;
    ck_assert_int_eq(mt_pca_run_check(&r), MT_OK);
    double work[64], v[] = {1, 0}, w[] = {0.6, 0.8}, x[] = {1, 1}, next[2];
    ck_assert_int_le(mt_pca_method_work_size(&r), 64);
    mt_pca_method_state s;
    mt_pca_method_init(&s, &r, work, v);
    mt_pca_method_step(&s, 1, 1, next, v, v, w, x);
    const double want[] = {1.02039296, -0.01454208};
    expect_vec("v_next", next, want, 2);
    mt_pca_cov_free(&c);
}
END_TEST

START_TEST(dana_steps_match_hand_computation)
{
    /* d = 2, delay 1: W = 2 workers in turn, mu 0.5, lr 0.1, x = (1, 1) every step, v_0 = (1, 0).
     *   k=0 (worker 0, reads v_0): s = 1, D = (0, 1), u0 = (0, 0.1), v_1 = (1, 0.1), U = (0, 0.1),
     *       its next read = v_1 + 0.5 U = (1, 0.15)
     *   k=1 (worker 1, read v_0): D = (0, 1), u1 = (0, 0.1), v_2 = (1, 0.2), U = (0, 0.2),
     *       its next read = (1, 0.3)
     *   k=2 (worker 0, reads (1, 0.15)): s = 1.15, x - s w = (-0.15, 0.8275),
     *       D = (-0.1725, 0.951625), u0 = 0.5 (0, 0.1) + 0.1 D = (-0.01725, 0.1451625),
     *       v_3 = (0.98275, 0.3451625), U = (-0.01725, 0.2451625),
     *       its next read = (0.974125, 0.46774375) */
    double diag[] = {2, 1};
    mt_pca_cov c;
    ck_assert_int_eq(mt_pca_cov_diag(&c, diag, 2), MT_OK);
    mt_pca_run_cfg r = cfg2(&c, MT_METHOD_DANA, 1);
    ck_assert_int_eq(mt_pca_run_check(&r), MT_OK);
    double work[64], x[] = {1, 1}, v[4][2] = {{1, 0}};
    ck_assert_int_le(mt_pca_method_work_size(&r), 64);
    mt_pca_method_state s;
    mt_pca_method_init(&s, &r, work, v[0]);
    ck_assert(mt_pca_method_own_reads(&s));
    for (int k = 0; k < 3; k++)
        mt_pca_method_step(&s, k, k < 1 ? k : 1, v[k + 1], v[k], k ? v[k - 1] : v[0], NULL, x);
    const double v1[] = {1, 0.1}, v2[] = {1, 0.2}, v3[] = {0.98275, 0.3451625};
    const double u_sum[] = {-0.01725, 0.2451625}, read[] = {0.974125, 0.46774375};
    expect_vec("v_1", v[1], v1, 2);
    expect_vec("v_2", v[2], v2, 2);
    expect_vec("v_3", v[3], v3, 2);
    expect_vec("U", s.u_sum, u_sum, 2);
    expect_vec("read", s.reads + 1 * 2, read, 2);
    mt_pca_cov_free(&c);
}
END_TEST

/* The final iterate of run 0 of `r`. */
static void run_end(const mt_pca_run_cfg *r, double *v_end, double *trace)
{
    double *work = malloc((size_t)mt_pca_run_work_size(r) * sizeof *work);
    mt_pca_run_result res;
    ck_assert_int_eq(mt_pca_run(r, 3, 0, work, trace, v_end, &res), MT_OK);
    free(work);
}

START_TEST(reductions_to_the_paper_iteration_are_bit_for_bit)
{
    double diag[] = {4, 3, 2, 1}, v0[] = {0, 1, 0, 0};
    mt_pca_cov c;
    ck_assert_int_eq(mt_pca_cov_diag(&c, diag, 4), MT_OK);
    mt_pca_run_cfg base = {.cov = &c, .lr = 0.0005, .momentum = 0.9, .delay = 0, .delay_dist = MT_PCA_DELAY_FIXED,
                           .iters = 3000, .v0 = v0, .checkpoints = 10, .blowup = 1e6};
    double want[4], got[4], tw[10], tg[10];
    run_end(&base, want, tw);
    /* tau = 0: staleness-lr keeps eta, auto keeps the target, dc-asgd's correction is zero. */
    const mt_method_kind kinds[] = {MT_METHOD_STALENESS_LR, MT_METHOD_MSGD, MT_METHOD_DC_ASGD};
    for (int i = 0; i < 3; i++) {
        mt_pca_run_cfg r = base;
        r.method.kind = kinds[i];
        r.method.momentum_auto = i == 1;
        mt_dc_asgd_config_default(&r.method.dc);
        run_end(&r, got, tg);
        ck_assert_msg(memcmp(want, got, sizeof want) == 0 && memcmp(tw, tg, sizeof tw) == 0,
                      "method %d differs from eq. 2.1 at tau = 0", i);
    }
    /* delay 1: staleness-lr's eta / max(1, 1) is eta. */
    base.delay = 1;
    run_end(&base, want, tw);
    mt_pca_run_cfg r = base;
    r.method.kind = MT_METHOD_STALENESS_LR;
    run_end(&r, got, tg);
    ck_assert(memcmp(want, got, sizeof want) == 0);
    /* and at delay 4 the methods do change the run */
    base.delay = 4;
    run_end(&base, want, tw);
    for (int k = MT_METHOD_STALENESS_LR; k < MT_METHOD_COUNT; k++) {
        r = base;
        r.method.kind = (mt_method_kind)k;
        mt_dc_asgd_config_default(&r.method.dc);
        run_end(&r, got, tg);
        ck_assert_msg(memcmp(want, got, sizeof want) != 0, "%s did nothing at delay 4",
                      mt_method_name((mt_method_kind)k));
    }
    mt_pca_cov_free(&c);
}
END_TEST

START_TEST(dana_refuses_random_delays_and_names_parse)
{
    double diag[] = {2, 1};
    mt_pca_cov c;
    ck_assert_int_eq(mt_pca_cov_diag(&c, diag, 2), MT_OK);
    mt_pca_run_cfg r = cfg2(&c, MT_METHOD_DANA, 3);
    r.delay_dist = MT_PCA_DELAY_UNIFORM;
    ck_assert_int_eq(mt_pca_run_check(&r), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "dana") && strstr(mt_errmsg(), "fixed"));
    mt_pca_method m;
    char buf[32];
    ck_assert_int_eq(mt_pca_method_parse("auto", &m), MT_OK);
    ck_assert(m.kind == MT_METHOD_MSGD && m.momentum_auto);
    ck_assert_str_eq(mt_pca_method_name(&m, buf, sizeof buf), "auto");
    ck_assert_int_eq(mt_pca_method_parse("dc-asgd", &m), MT_OK);
    ck_assert(m.kind == MT_METHOD_DC_ASGD && m.dc.adaptive && m.dc.lambda0 == 2);
    ck_assert_int_eq(mt_pca_method_parse("nesterov", &m), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "nesterov") && strstr(mt_errmsg(), "auto"));
    mt_pca_cov_free(&c);
}
END_TEST

/* A grid whose results would not fit is refused before anything is
 * allocated, also when its counts come from a progress.bin (4 x 10^6 runs
 * with 100 checkpoints: 3.2 GB). */
START_TEST(grid_refuses_results_beyond_the_limit)
{
    double diag[] = {4, 3, 2, 1}, mus[] = {0.5, 0.9};
    int taus[] = {0, 2};
    mt_pca_cov c;
    ck_assert_int_eq(mt_pca_cov_diag(&c, diag, 4), MT_OK);
    mt_pca_grid_cfg g = {.base = {.cov = &c, .lr = 0.0005, .delay_dist = MT_PCA_DELAY_FIXED, .iters = 1000,
                                  .checkpoints = 100, .blowup = 1e6},
                         .momenta = mus, .n_mu = 2, .delays = taus, .n_tau = 2, .runs = 1000000, .seed = 1};
    ck_assert_uint_eq(mt_pca_grid_result_bytes(&g), 4000000ULL * (8 + 1 + 100 * 8));
    mt_pca_grid_result res;
    ck_assert_int_eq(mt_pca_grid_init(&g, &res), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "would keep 3.2 GB of results"), "%s", mt_errmsg());
    ck_assert_ptr_null(res.trace);
    g.runs = 100;
    ck_assert_int_eq(mt_pca_grid_init(&g, &res), MT_OK);
    mt_pca_grid_free(&res);
    mt_pca_cov_free(&c);
}
END_TEST

START_TEST(progress_file_keeps_the_method)
{
    double diag[] = {4, 3, 2, 1}, v0[] = {0, 1, 0, 0}, mus[] = {0.9};
    int taus[] = {0, 2};
    mt_pca_cov c;
    ck_assert_int_eq(mt_pca_cov_diag(&c, diag, 4), MT_OK);
    mt_pca_grid_cfg g = {.base = {.cov = &c, .lr = 0.0005, .delay_dist = MT_PCA_DELAY_FIXED, .iters = 50,
                                  .v0 = v0, .blowup = 1e6},
                         .momenta = mus, .n_mu = 1, .delays = taus, .n_tau = 2, .runs = 2, .seed = 1, .threads = 1};
    g.base.method.kind = MT_METHOD_DC_ASGD;
    mt_dc_asgd_config_default(&g.base.method.dc);
    g.base.method.dc.lambda0 = 0.75;
    g.base.method.momentum_auto = 1;
    mt_pca_grid_result res;
    ck_assert_int_eq(mt_pca_grid_init(&g, &res), MT_OK);
    char dir[] = "/tmp/mt_test_pca_method_XXXXXX", path[128];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/progress.bin", dir);
    mt_pca_report setup = {.grid = &g, .factor = 2, .sigma_text = "", .init_text = ""};
    mt_pca_ckpt w;
    ck_assert_int_eq(mt_pca_ckpt_open(&w, path, &setup, &res), MT_OK);
    ck_assert_int_eq(mt_pca_ckpt_save(&w, &res), MT_OK);
    mt_pca_ckpt_close(&w);
    mt_pca_saved saved;
    mt_pca_grid_result back;
    ck_assert_int_eq(mt_pca_ckpt_load(path, &saved, &back), MT_OK);
    const mt_pca_method *m = &saved.grid.base.method;
    ck_assert(m->kind == MT_METHOD_DC_ASGD && m->momentum_auto == 1 && m->dc.lambda0 == 0.75 &&
              m->dc.adaptive == 1 && m->dc.decay == 0.95 && m->dc.eps == 1e-7);
    mt_pca_grid_free(&back);
    mt_pca_saved_free(&saved);
    mt_pca_grid_free(&res);
    unlink(path);
    rmdir(dir);
    mt_pca_cov_free(&c);
}
END_TEST

START_TEST(cli_runs_a_grid_per_method_and_compares_them)
{
    char dir[512], err[1024], path[700];
    tmp_dir_make(dir, sizeof dir, "pca-method");
    int rc = tool_sh(dir, "pca --method msgd,dc-asgd,auto --momentum 0.8,0.9 --delays 0,2,4 --runs 3 --iters 300 "
                          "--checkpoints 3 --threads 1 --progress quiet --out grid",
                     err, sizeof err);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    const char *names[] = {"msgd", "dc-asgd", "auto"};
    for (int m = 0; m < 3; m++) {
        snprintf(path, sizeof path, "%s/grid/%s/results.csv", dir, names[m]);
        free(file_read_checked(path, NULL));
        snprintf(path, sizeof path, "%s/grid/%s/summary.json", dir, names[m]);
        json_t *j = json_read_checked(path);
        ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "settings"), "method")), names[m]);
        json_decref(j);
    }
    snprintf(path, sizeof path, "%s/grid/methods.csv", dir);
    char *csv = file_read_checked(path, NULL);
    int lines = 0;
    for (char *p = csv; *p; p++)
        lines += *p == '\n';
    ck_assert_msg(lines == 1 + 3 * 2, "methods.csv has %d lines:\n%s", lines, csv);
    ck_assert(strstr(csv, "\ndc-asgd,0.90000000000000002,") && strstr(csv, "\nauto,0.80000000000000004,"));
    free(csv);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    char *out = file_read_checked(path, NULL);
    ck_assert_msg(strstr(out, "optimal delay per method"), "%s", out);
    free(out);

    /* Bad lists and dana with random delays: exit 2 naming the flag. */
    rc = tool_sh(dir, "pca --method msgd,adam --out bad", err, sizeof err);
    ck_assert_msg(rc == 2 && strstr(err, "--method") && strstr(err, "adam"), "exit %d: %s", rc, err);
    rc = tool_sh(dir, "pca --method auto,auto --out bad", err, sizeof err);
    ck_assert_msg(rc == 2 && strstr(err, "twice"), "exit %d: %s", rc, err);
    rc = tool_sh(dir, "pca --method dana --delay-dist uniform --out bad", err, sizeof err);
    ck_assert_msg(rc == 2 && strstr(err, "dana"), "exit %d: %s", rc, err);
    tmp_dir_remove(dir);
}
END_TEST

static Suite *pca_method_suite(void)
{
    Suite *s = suite_create("pca_method");
    TCase *tc = tcase_create("methods");
    tcase_add_test(tc, dc_asgd_step_matches_hand_computation);
    tcase_add_test(tc, dana_steps_match_hand_computation);
    tcase_add_test(tc, reductions_to_the_paper_iteration_are_bit_for_bit);
    tcase_add_test(tc, dana_refuses_random_delays_and_names_parse);
    tcase_add_test(tc, progress_file_keeps_the_method);
    tcase_add_test(tc, grid_refuses_results_beyond_the_limit);
    tcase_add_test(tc, cli_runs_a_grid_per_method_and_compares_them);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(pca_method_suite)
