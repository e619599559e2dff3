/* test_train_files.c: the trainer's settings and run-directory files without
 * a network: config.json round trip and hash, log.csv rows and truncation on
 * resume, refusal to reuse a run directory. */
#include "core/status.h"
#include "tests/check_main.h"
#include "tests/tool_run.h"
#include "trainer/config.h"
#include "trainer/rundir.h"
#include "trainer/train_ps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/mt_rundir_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) { ck_assert_int_eq(tmp_dir_remove(dir), 0); }

START_TEST(config_json_round_trips_and_hash_ignores_run_settings)
{
    mt_train_config a, b;
    mt_train_config_default(&a);
    ck_assert_int_eq(mt_train_config_check(&a), MT_OK);
    snprintf(a.data_dir, sizeof a.data_dir, "some/data");
    snprintf(a.model, sizeof a.model, "resnet56");
    a.schedule.kind = MT_SCHED_COSINE;
    a.schedule.base_lr = 0.123456789012345;
    a.schedule.warmup_epochs = 2.5;
    a.momentum = 0.7;
    a.nesterov = 1;
    a.wd_bn_bias = 0;
    a.seed = 18446744073709551615ULL; /* the largest seed survives JSON (as a string) */
    a.stop_after = 77;
    a.progress = MT_PROGRESS_QUIET;
    json_t *j = mt_train_config_to_json(&a);
    ck_assert_ptr_nonnull(j);
    char *text = json_dumps(j, 0);
    json_decref(j);
    json_t *back = json_loads(text, 0, NULL);
    free(text);
    mt_train_config_default(&b);
    ck_assert_int_eq(mt_train_config_from_json(&b, back, "config.json"), MT_OK);
    json_decref(back);
    ck_assert_str_eq(b.data_dir, "some/data");
    ck_assert_str_eq(b.model, "resnet56");
    ck_assert_int_eq(b.schedule.kind, MT_SCHED_COSINE);
    ck_assert(b.schedule.base_lr == a.schedule.base_lr);
    ck_assert(b.schedule.warmup_epochs == 2.5);
    ck_assert(b.momentum == 0.7);
    ck_assert_int_eq(b.nesterov, 1);
    ck_assert_int_eq(b.wd_bn_bias, 0);
    ck_assert_uint_eq(b.seed, a.seed);
    ck_assert_int_eq(b.stop_after, 77);
    ck_assert_int_eq(b.progress, MT_PROGRESS_QUIET);
    ck_assert_int_eq(b.schedule.n_milestones, 3);
    ck_assert_int_eq(b.schedule.milestones[2], 160);
    ck_assert_uint_eq(mt_train_config_hash(&a), mt_train_config_hash(&b));

    b.threads = 7; /* a run setting: same trajectory, same hash */
    snprintf(b.out_dir, sizeof b.out_dir, "elsewhere");
    ck_assert_uint_eq(mt_train_config_hash(&a), mt_train_config_hash(&b));
    b.momentum = 0.71; /* a trajectory setting: another hash */
    ck_assert_uint_ne(mt_train_config_hash(&a), mt_train_config_hash(&b));

    json_t *bad = json_pack("{s:{s:s}}", "optim", "momentum", "high");
    ck_assert_int_eq(mt_train_config_from_json(&b, bad, "c.json"), MT_ERR_FORMAT);
    ck_assert_str_eq(mt_errmsg(), "c.json: optim.momentum is not a number");
    json_decref(bad);
    /* 2^32 + 1 epochs would wrap to 1 in an int: refused instead. */
    bad = json_pack("{s:{s:I}}", "optim", "epochs", (json_int_t)4294967297LL);
    ck_assert_int_eq(mt_train_config_from_json(&b, bad, "c.json"), MT_ERR_FORMAT);
    ck_assert_str_eq(mt_errmsg(), "c.json: optim.epochs is 4294967297, beyond an int");
    json_decref(bad);
    bad = json_pack("{s:{s:I}}", "ps", "workers", (json_int_t)4294967298LL);
    mt_train_ps_config ps;
    mt_train_ps_config_default(&ps);
    ck_assert_int_eq(mt_train_ps_config_from_json(&ps, bad, "c.json"), MT_ERR_FORMAT);
    ck_assert_str_eq(mt_errmsg(), "c.json: ps.workers is 4294967298, beyond an int");
    json_decref(bad);
    a.epochs = MT_TRAIN_MAX_EPOCHS + 1;
    ck_assert_int_eq(mt_train_config_check(&a), MT_ERR_ARG);
    ck_assert_str_eq(mt_errmsg(), "--epochs: 100001 is not in [1, 100000]");
    a.epochs = MT_TRAIN_MAX_EPOCHS;

    a.momentum = 1.0;
    ck_assert_int_eq(mt_train_config_check(&a), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "--momentum"));
}
END_TEST

START_TEST(log_rows_and_truncation_on_resume)
{
    ck_assert_int_eq(mt_log_start(dir), MT_OK);
    for (int e = 1; e <= 4; e++) {
        mt_log_row r = {.epoch = e, .step = 10 * e, .lr = 0.1, .train_loss = 1.0 / e,
                        .train_acc = 0.25 * e, .evaluated = e % 2 == 0, .eval_loss = 2.0,
                        .eval_top1 = 0.5, .eval_top5 = 0.75, .images_per_s = 1234.5,
                        .seconds = 9.25};
        ck_assert_int_eq(mt_log_append(dir, &r), MT_OK);
    }
    char path[128], buf[4096];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *f = fopen(path, "r");
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_str_eq(buf, MT_LOG_HEADER "\n"
                          "1,10,0.1,1,0.250000,,,,1234.5,9.250\n"
                          "2,20,0.1,0.5,0.500000,2,0.500000,0.750000,1234.5,9.250\n"
                          "3,30,0.1,0.3333333333,0.750000,,,,1234.5,9.250\n"
                          "4,40,0.1,0.25,1.000000,2,0.500000,0.750000,1234.5,9.250\n");
    /* Resuming from the checkpoint after epoch 2 drops rows 3 and 4. */
    ck_assert_int_eq(mt_log_truncate(dir, 2), MT_OK);
    f = fopen(path, "r");
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    ck_assert_str_eq(buf, MT_LOG_HEADER "\n"
                          "1,10,0.1,1,0.250000,,,,1234.5,9.250\n"
                          "2,20,0.1,0.5,0.500000,2,0.500000,0.750000,1234.5,9.250\n");
}
END_TEST

START_TEST(run_directory_is_not_reused_without_force)
{
    char sub[128];
    snprintf(sub, sizeof sub, "%s/x/y", dir);
    ck_assert_int_eq(mt_rundir_create(sub, 0), MT_OK); /* parents created */
    json_t *j = json_pack("{s:i}", "a", 1);
    ck_assert_int_eq(mt_rundir_write_json(sub, "config.json", j), MT_OK);
    json_decref(j);
    ck_assert_int_eq(mt_rundir_create(sub, 0), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "--resume"));
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "--force"));
    ck_assert_int_eq(mt_rundir_create(sub, 1), MT_OK);
    json_t *back;
    ck_assert_int_eq(mt_rundir_read_json(sub, "config.json", &back), MT_OK);
    ck_assert_int_eq(json_integer_value(json_object_get(back, "a")), 1);
    json_decref(back);
    /* A syntax error names the file and line. */
    char path[160];
    snprintf(path, sizeof path, "%s/final.json", sub);
    FILE *f = fopen(path, "w");
    fputs("{\n\"a\": ,\n}\n", f);
    fclose(f);
    ck_assert_int_eq(mt_rundir_read_json(sub, "final.json", &back), MT_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "final.json:2:"));
}
END_TEST

static Suite *train_files_suite(void)
{
    Suite *s = suite_create("train_files");
    TCase *tc = tcase_create("files");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, config_json_round_trips_and_hash_ignores_run_settings);
    tcase_add_test(tc, log_rows_and_truncation_on_resume);
    tcase_add_test(tc, run_directory_is_not_reused_without_force);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(train_files_suite)
