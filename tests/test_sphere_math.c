/* test_sphere_math.c: the per-element mathematics of SphereConv
 * (nn/sphere_math.h) against hand-computed points and against independent
 * double-precision references built on libm, derivatives by central finite
 * differences of those references. */
#include "core/status.h"
#include "nn/sphere_math.h"
#include "tests/check_main.h"

#include <math.h>
#include <stdio.h>

/* Independent double references of the operators. */
static double ref_sigmoid(double theta, double k)
{
    double coeff = (1 + exp(-M_PI / (2 * k))) / (1 - exp(-M_PI / (2 * k)));
    double e = exp(theta / k - M_PI / (2 * k));
    return coeff * (1 - e) / (1 + e);
}

static double ref_linear(double theta) { return 1 - 2 * theta / M_PI; }

START_TEST(operators_at_hand_computed_points)
{
    /* theta = 0, pi/2, pi -> 1, 0, -1 for linear and for sigmoid at several k. */
    const float thetas[3] = {0.0f, MT_SPHERE_HALF_PI, MT_SPHERE_PI};
    const float want[3] = {1.0f, 0.0f, -1.0f};
    const float ks[4] = {0.05f, 0.3f, 0.75f, 2.0f};
    for (int i = 0; i < 3; i++) {
        float d;
        float g = mt_sphere_g(MT_SPHERE_LINEAR, thetas[i], 0, 0, &d);
        ck_assert_msg(fabsf(g - want[i]) < 1e-6f, "linear g(%g) = %g, want %g", thetas[i], g,
                      want[i]);
        for (int j = 0; j < 4; j++) {
            float coeff = mt_sphere_sigmoid_coeff(ks[j]);
            float dk;
            g = mt_sphere_sigmoid(thetas[i], ks[j], coeff, &d, &dk);
            ck_assert_msg(fabsf(g - want[i]) < 2e-6f, "sigmoid k=%g g(%g) = %g, want %g", ks[j],
                          thetas[i], g, want[i]);
            /* g is pinned at these points for every k, so dg/dk = 0 there. */
            ck_assert_msg(fabsf(dk) < 1e-4f, "sigmoid k=%g dg/dk(%g) = %g, want 0", ks[j],
                          thetas[i], dk);
        }
    }
    /* k = 0.3: e^{-pi/0.6} = 0.0053222, C = 1.0053222 / 0.9946778 = 1.0107001. */
    ck_assert_float_eq_tol(mt_sphere_sigmoid_coeff(0.3f), 1.0107001f, 2e-6f);
}
END_TEST

START_TEST(acos_and_exp_match_libm)
{
    double worst_acos = 0, worst_cos = 0;
    for (int i = -100000; i <= 100000; i++) {
        double c = i / 100000.0;
        double a = mt_sphere_acosf((float)c);
        worst_acos = fmax(worst_acos, fabs(a - acos((float)c)));
        /* cosine operator: cos(theta) recovers c */
        worst_cos = fmax(worst_cos, fabs(cos(a) - (float)c));
    }
    ck_assert_msg(worst_acos < 6e-7, "acos worst abs error %g", worst_acos);
    ck_assert_msg(worst_cos < 6e-7, "cos(acos(c)) - c worst %g", worst_cos);
    double worst_exp = 0;
    for (int i = -8000; i <= 8000; i++) {
        double x = i / 100.0;
        double e = mt_sphere_expf((float)x);
        worst_exp = fmax(worst_exp, fabs(e / exp((float)x) - 1));
    }
    ck_assert_msg(worst_exp < 5e-7, "exp worst rel error %g", worst_exp);
    ck_assert(isfinite(mt_sphere_expf(1000.0f)) && mt_sphere_expf(-1000.0f) >= 0.0f);
}
END_TEST

START_TEST(dg_dtheta_matches_finite_differences)
{
    const double h = 1e-5;
    double worst = 0;
    const float ks[3] = {0.05f, 0.3f, 0.75f};
    for (int i = 1; i < 64; i++) {
        double t = M_PI * i / 64.0;
        float d;
        mt_sphere_g(MT_SPHERE_LINEAR, (float)t, 0, 0, &d);
        double fd = (ref_linear(t + h) - ref_linear(t - h)) / (2 * h);
        worst = fmax(worst, fabs(d - fd) / fmax(1.0, fabs(fd)));
        for (int j = 0; j < 3; j++) {
            float coeff = mt_sphere_sigmoid_coeff(ks[j]);
            double g = mt_sphere_sigmoid((float)t, ks[j], coeff, &d, NULL);
            fd = (ref_sigmoid(t + h, ks[j]) - ref_sigmoid(t - h, ks[j])) / (2 * h);
            double err = fabs(d - fd) / fmax(1.0, fabs(fd));
            ck_assert_msg(err < 1e-5, "sigmoid k=%g theta=%g: dg/dtheta %g vs fd %g", ks[j], t, d,
                          fd);
            ck_assert_msg(fabs(g - ref_sigmoid(t, ks[j])) < 2e-6, "sigmoid k=%g theta=%g: %g vs %g",
                          ks[j], t, g, ref_sigmoid(t, ks[j]));
            worst = fmax(worst, err);
        }
    }
    ck_assert_msg(worst < 1e-5, "worst relative dg/dtheta error %g", worst);
}
END_TEST

START_TEST(dg_dk_matches_finite_differences)
{
    double worst = 0;
    const float ks[4] = {0.05f, 0.3f, 0.75f, 1.5f};
    for (int j = 0; j < 4; j++) {
        double h = 1e-6 * ks[j];
        for (int i = 0; i <= 32; i++) {
            double t = M_PI * i / 32.0;
            float dk;
            mt_sphere_sigmoid((float)t, ks[j], mt_sphere_sigmoid_coeff(ks[j]), NULL, &dk);
            double fd = (ref_sigmoid(t, ks[j] + h) - ref_sigmoid(t, ks[j] - h)) / (2 * h);
            double err = fabs(dk - fd) / fmax(1.0, fabs(fd));
            ck_assert_msg(err < 2e-4, "k=%g theta=%g: dg/dk %g vs fd %g", ks[j], t, dk, fd);
            worst = fmax(worst, err);
        }
    }
    /* The learnable parametrisation k = |k_raw| + 0.05 and its sign. */
    float s;
    ck_assert_float_eq_tol(mt_sphere_lr_k(-0.7f, &s), 0.75f, 1e-7f);
    ck_assert_float_eq(s, -1.0f);
    ck_assert_float_eq_tol(mt_sphere_lr_k(0.7f, &s), 0.75f, 1e-7f);
    ck_assert_float_eq(s, 1.0f);
    (void)worst;
}
END_TEST

START_TEST(clamp_and_dtheta_dc_near_plus_minus_one)
{
    /* Inside the clamp: -1/sqrt(1-c^2) against a finite difference of libm's
     * acos, including points within 1e-4 of the ends. */
    const double cs[] = {-0.9999, -0.999, -0.5, 0.0, 0.3, 0.999, 0.9999};
    for (unsigned i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        double c = cs[i], h = 1e-7;
        double fd = (acos(c + h) - acos(c - h)) / (2 * h);
        float d = mt_sphere_dtheta_dc((float)c);
        ck_assert_msg(fabs(d - fd) / fabs(fd) < 1e-3, "c=%g: dtheta/dc %g vs fd %g", c, d, fd);
    }
    /* At and beyond the ends: finite, clamped value, derivative 0. */
    const float ends[] = {-2.0f, -1.0f, 1.0f, 1.5f, INFINITY};
    for (unsigned i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        float c = mt_sphere_clamp(ends[i]);
        ck_assert(fabsf(c) < 1.0f);
        float t = mt_sphere_acosf(c);
        ck_assert_msg(isfinite(t) && t > 0.0f && t < MT_SPHERE_PI, "theta(%g) = %g", ends[i], t);
        ck_assert_float_eq(mt_sphere_dtheta_dc(ends[i]), 0.0f);
    }
    /* The steepest slope the clamp allows is finite: about 1/sqrt(2e-5). */
    float steep = mt_sphere_dtheta_dc(1.0f - MT_SPHERE_CLAMP);
    ck_assert_msg(isfinite(steep) && fabsf(steep) < 300.0f, "slope at the clamp %g", steep);
}
END_TEST

START_TEST(op_names_round_trip)
{
    for (int i = MT_SPHERE_NONE; i <= MT_SPHERE_LR_SIGMOID; i++) {
        mt_sphere_op op;
        ck_assert_int_eq(mt_sphere_op_parse(mt_sphere_op_name((mt_sphere_op)i), &op), MT_OK);
        ck_assert_int_eq(op, i);
    }
    mt_sphere_op op;
    ck_assert_int_eq(mt_sphere_op_parse("tanh", &op), MT_ERR_ARG);
    ck_assert(strstr(mt_errmsg(), "'tanh'") != NULL);
    ck_assert_ptr_null(mt_sphere_op_name((mt_sphere_op)17));
}
END_TEST

static Suite *sphere_math_suite(void)
{
    Suite *s = suite_create("sphere_math");
    TCase *tc = tcase_create("math");
    tcase_add_test(tc, operators_at_hand_computed_points);
    tcase_add_test(tc, acos_and_exp_match_libm);
    tcase_add_test(tc, dg_dtheta_matches_finite_differences);
    tcase_add_test(tc, dg_dk_matches_finite_differences);
    tcase_add_test(tc, clamp_and_dtheta_dc_near_plus_minus_one);
    tcase_add_test(tc, op_names_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(sphere_math_suite)
