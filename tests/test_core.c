/* test_core.c: the status messages and the random number generator. */
#include "core/rng.h"
#include "core/status.h"
#include "tests/check_main.h"

#include <math.h>
#include <string.h>

START_TEST(error_message_is_kept_per_thread_and_prefixed)
{
    mt_clear_error();
    ck_assert_str_eq(mt_errmsg(), "");
    int rc = mt_error(MT_ERR_ARG, "conv: kernel %d < 1", 0);
    ck_assert_int_eq(rc, MT_ERR_ARG);
    ck_assert_str_eq(mt_errmsg(), "conv: kernel 0 < 1");
    rc = mt_error_context(MT_ERR_FORMAT, "%s", "train.bin");
    ck_assert_int_eq(rc, MT_ERR_FORMAT);
    ck_assert_str_eq(mt_errmsg(), "train.bin: conv: kernel 0 < 1");
    ck_assert_str_eq(mt_status_name(MT_ERR_DIVERGED), "diverged");
    ck_assert_str_eq(mt_status_name(MT_ERR_STEP), "a training step failed");
}
END_TEST

START_TEST(rng_is_reproducible_and_streams_differ)
{
    mt_rng a, b, c;
    mt_rng_seed(&a, 42, 0);
    mt_rng_seed(&b, 42, 0);
    mt_rng_seed(&c, 42, 1);
    int same_as_c = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = mt_rng_u64(&a);
        ck_assert_uint_eq(x, mt_rng_u64(&b));
        same_as_c += x == mt_rng_u64(&c);
    }
    ck_assert_int_eq(same_as_c, 0);
}
END_TEST

START_TEST(rng_moments_are_right)
{
    /* Mean and variance of 200k draws, within 5 standard errors. */
    mt_rng r;
    mt_rng_seed(&r, 7, 3);
    const int n = 200000;
    double su = 0, su2 = 0, sn = 0, sn2 = 0;
    for (int i = 0; i < n; i++) {
        double u = mt_rng_uniform(&r);
        ck_assert(u >= 0.0 && u < 1.0);
        su += u;
        su2 += u * u;
        double z = mt_rng_normal(&r);
        ck_assert(isfinite(z));
        sn += z;
        sn2 += z * z;
    }
    ck_assert_double_eq_tol(su / n, 0.5, 5 * sqrt(1.0 / 12 / n));
    ck_assert_double_eq_tol(su2 / n - (su / n) * (su / n), 1.0 / 12, 0.002);
    ck_assert_double_eq_tol(sn / n, 0.0, 5 * sqrt(1.0 / n));
    ck_assert_double_eq_tol(sn2 / n, 1.0, 0.02);
}
END_TEST

START_TEST(below_is_in_range_and_shuffle_is_a_permutation)
{
    mt_rng r;
    mt_rng_seed(&r, 1, 0);
    int hits[7] = {0};
    for (int i = 0; i < 7000; i++) {
        uint64_t x = mt_rng_below(&r, 7);
        ck_assert_uint_lt(x, 7);
        hits[x]++;
    }
    for (int i = 0; i < 7; i++)
        ck_assert_int_gt(hits[i], 800);

    uint32_t idx[1000];
    int seen[1000];
    memset(seen, 0, sizeof seen);
    for (uint32_t i = 0; i < 1000; i++)
        idx[i] = i;
    mt_rng_shuffle_u32(&r, idx, 1000);
    int moved = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        ck_assert_uint_lt(idx[i], 1000);
        seen[idx[i]]++;
        moved += idx[i] != i;
    }
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_int_gt(moved, 900);
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, error_message_is_kept_per_thread_and_prefixed);
    tcase_add_test(tc, rng_is_reproducible_and_streams_differ);
    tcase_add_test(tc, rng_moments_are_right);
    tcase_add_test(tc, below_is_in_range_and_shuffle_is_a_permutation);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(core_suite)
