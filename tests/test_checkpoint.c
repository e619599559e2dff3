/* test_checkpoint.c: checkpoint files: round trip, and the refusals (truncated,
 * a flipped byte, another model's signature, missing or resized sections). */
#include "core/checkpoint.h"
#include "core/status.h"
#include "tests/check_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static char path[128];
static float params[1000];
static uint64_t step_state[2] = {12345, 678};

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mt_ckpt_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    for (int i = 0; i < 1000; i++)
        params[i] = (float)i * 0.5f - 3.0f;
}

static void teardown(void)
{
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    unlink(path);
    rmdir(dir);
}

static void write_one(uint64_t sig)
{
    mt_ckpt c;
    mt_ckpt_init(&c, sig);
    ck_assert_int_eq(mt_ckpt_add(&c, "params", params, sizeof params), MT_OK);
    ck_assert_int_eq(mt_ckpt_add(&c, "step", step_state, sizeof step_state), MT_OK);
    ck_assert_int_eq(mt_ckpt_add(&c, "empty", NULL, 0), MT_OK);
    ck_assert_int_eq(mt_ckpt_add(&c, "step", step_state, 8), MT_ERR_ARG); /* duplicate */
    ck_assert_int_eq(mt_ckpt_write(&c, path), MT_OK);
    mt_ckpt_free(&c);
}

static long file_size(void)
{
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    return (long)st.st_size;
}

START_TEST(round_trip_restores_every_section)
{
    write_one(0xabcdef0123456789ULL);
    /* Header 24 + 3 section heads of 32 + payload + CRC 4. */
    ck_assert_int_eq(file_size(), 24 + 3 * 32 + (long)sizeof params + 16 + 4);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0); /* renamed away */

    mt_ckpt c;
    ck_assert_int_eq(mt_ckpt_read(&c, path, 0xabcdef0123456789ULL, "test model"), MT_OK);
    ck_assert_int_eq(c.n_sections, 3);
    float back[1000];
    uint64_t st[2];
    ck_assert_int_eq(mt_ckpt_get(&c, "params", back, sizeof back), MT_OK);
    ck_assert_int_eq(memcmp(back, params, sizeof back), 0);
    ck_assert_int_eq(mt_ckpt_get(&c, "step", st, sizeof st), MT_OK);
    ck_assert_uint_eq(st[0], 12345);
    ck_assert_uint_eq(st[1], 678);
    /* A section of the wrong size or a missing one is named. */
    ck_assert_int_eq(mt_ckpt_get(&c, "params", back, 400), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "'params' has 4000 bytes"));
    ck_assert_int_eq(mt_ckpt_get(&c, "velocity", back, 4), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "no section 'velocity'"));
    mt_ckpt_free(&c);
}
END_TEST

START_TEST(truncated_file_is_refused)
{
    write_one(7);
    long n = file_size();
    for (long keep = n - 1; keep >= 0; keep -= (keep > 200 ? 997 : 7)) {
        ck_assert_int_eq(truncate(path, keep), 0);
        mt_ckpt c;
        int rc = mt_ckpt_read(&c, path, 7, "m");
        ck_assert_msg(rc == MT_ERR_FORMAT, "truncated to %ld bytes: status %d", keep, rc);
        ck_assert_msg(strstr(mt_errmsg(), "corrupt") || strstr(mt_errmsg(), "not a mutau"),
                      "truncated to %ld: message '%s'", keep, mt_errmsg());
        ck_assert_ptr_null(c.buffer);
    }
}
END_TEST

START_TEST(flipped_byte_is_refused_as_corrupt)
{
    write_one(7);
    long n = file_size();
    /* Flip one bit in the payload, in a section header and in the CRC itself. */
    const long where[] = {200, 30, n - 2};
    for (int k = 0; k < 3; k++) {
        write_one(7);
        FILE *f = fopen(path, "r+b");
        ck_assert_ptr_nonnull(f);
        fseek(f, where[k], SEEK_SET);
        int b = fgetc(f);
        fseek(f, where[k], SEEK_SET);
        fputc(b ^ 0x10, f);
        fclose(f);
        mt_ckpt c;
        ck_assert_int_eq(mt_ckpt_read(&c, path, 7, "m"), MT_ERR_FORMAT);
        ck_assert_msg(strstr(mt_errmsg(), "CRC mismatch"), "byte %ld: '%s'", where[k], mt_errmsg());
    }
}
END_TEST

START_TEST(other_model_signature_is_refused)
{
    write_one(0x1111);
    mt_ckpt c;
    ck_assert_int_eq(mt_ckpt_read(&c, path, 0x2222, "resnet20 width 16, 10 classes"),
                     MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "model signature 0x0000000000001111 does not match "
                                              "this model (resnet20 width 16, 10 classes"));
    ck_assert_int_eq(mt_ckpt_read(&c, "/nonexistent/ckpt.bin", 1, "m"), MT_ERR_IO);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "/nonexistent/ckpt.bin"));
    /* Not a checkpoint at all. */
    FILE *f = fopen(path, "wb");
    fputs("hello, this is text and not a checkpoint at all", f);
    fclose(f);
    ck_assert_int_eq(mt_ckpt_read(&c, path, 1, "m"), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "not a mutau checkpoint"));
}
END_TEST

START_TEST(hash_is_fnv1a)
{
    /* FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c (the published test vector). */
    ck_assert_uint_eq(mt_hash64(MT_HASH64_INIT, "a", 1), 0xaf63dc4c8601ec8cULL);
    ck_assert_uint_ne(mt_hash64_u64(MT_HASH64_INIT, 1), mt_hash64_u64(MT_HASH64_INIT, 2));
}
END_TEST

static Suite *checkpoint_suite(void)
{
    Suite *s = suite_create("checkpoint");
    TCase *tc = tcase_create("file");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip_restores_every_section);
    tcase_add_test(tc, truncated_file_is_refused);
    tcase_add_test(tc, flipped_byte_is_refused_as_corrupt);
    tcase_add_test(tc, other_model_signature_is_refused);
    tcase_add_test(tc, hash_is_fnv1a);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(checkpoint_suite)
