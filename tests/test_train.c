/* test_train.c: `mutau train` end to end on a tiny synthetic dataset and a
 * tiny ResNet: the run directory's files, bit-for-bit resume (after
 * --stop-after, SIGTERM and a failing step, and on the convolution choices
 * the checkpoint records, whatever this process would choose), refusal of
 * corrupt and foreign
 * checkpoints, divergence (NaN/Inf, and a loss above --divergence-loss), and
 * bad flags. Runs the built tool ($MUTAU). And the trainer of an MPI server
 * rank: the same parameters without a batch's activations; the duration
 * estimate a run prints from its first steps. */
#include "core/checkpoint.h"
#include "core/status.h"
#include "nn/conv_record.h"
#include "nn/net.h"
#include "tests/check_main.h"
#include "tests/tiny_data.h"
#include "tests/tool_run.h"
#include "trainer/conv_choices.h"
#include "trainer/progress.h"
#include "trainer/trainer.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char root[64];
static char data_dir[128];

/* A 4-class 1x8x8 IDX dataset of 192 training and 64 test images. */
static void setup(void)
{
    snprintf(root, sizeof root, "/tmp/mt_train_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(data_dir, sizeof data_dir, "%s/data", root);
    tiny_data_write(data_dir);
}

static void teardown(void) { ck_assert_int_eq(tmp_dir_remove(root), 0); }

/* Starts `EXE train ARGS... NULL` with stdout+stderr to root/NAME.out. */
static pid_t start_exe(const char *exe, const char *name, const char *const *args)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "train";
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    char out[160];
    snprintf(out, sizeof out, "%s/%s.out", root, name);
    return tool_spawn(out, argv);
}

static pid_t start(const char *name, const char *const *args)
{
    return start_exe(tool_path(), name, args);
}

static int run(const char *name, const char *const *args) { return tool_wait(start(name, args)); }

static char *slurp(const char *fmt, ...)
{
    char path[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    return file_read_checked(path, NULL);
}

static json_t *load_json(const char *run_name, const char *file)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s/%s", root, run_name, file);
    return json_read_checked(path);
}

/* log.csv with the two timing columns (images_per_s, seconds) cut off. */
static char *log_without_timings(const char *run_name)
{
    char *s = slurp("%s/%s/log.csv", root, run_name);
    char *out = malloc(strlen(s) + 1), *o = out;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        char *c1 = strrchr(line, ',');
        *c1 = '\0';
        char *c2 = strrchr(line, ',');
        *c2 = '\0';
        o += sprintf(o, "%s\n", line);
    }
    free(s);
    return out;
}

static void expect_output(const char *name, const char *needle)
{
    char *s = slurp("%s/%s.out", root, name);
    ck_assert_msg(strstr(s, needle) != NULL, "output of %s lacks '%s':\n%s", name, needle, s);
    free(s);
}

/* The common flags of the tiny runs: 6 steps per epoch of 32 images. */
#define TINY(dir_)                                                                          \
    "--data", data_dir, "--model", "resnet8", "--width", "16", "--batch", "32", "--lr", "0.05", \
        "--schedule", "cosine", "--warmup-epochs", "0.5", "--progress", "plain", "--threads",  \
        "1", "--eval-batch", "25", "--out", dir_

static char dir_a[160], dir_b[160], dir_c[160];

static void run_dirs(void)
{
    snprintf(dir_a, sizeof dir_a, "%s/a", root);
    snprintf(dir_b, sizeof dir_b, "%s/b", root);
    snprintf(dir_c, sizeof dir_c, "%s/c", root);
}

static void expect_same_checkpoint(const char *x, const char *y)
{
    char *ca = slurp("%s/%s/checkpoint.bin", root, x);
    char *cb = slurp("%s/%s/checkpoint.bin", root, y);
    struct stat sa, sb;
    char pa[200], pb[200];
    snprintf(pa, sizeof pa, "%s/%s/checkpoint.bin", root, x);
    snprintf(pb, sizeof pb, "%s/%s/checkpoint.bin", root, y);
    stat(pa, &sa);
    stat(pb, &sb);
    ck_assert_int_eq(sa.st_size, sb.st_size);
    long first_diff = -1;
    for (long i = 0; i < sa.st_size; i++)
        if (ca[i] != cb[i]) {
            first_diff = i;
            break;
        }
    ck_assert_msg(first_diff < 0, "checkpoints of %s and %s differ from byte %ld", x, y,
                  first_diff);
    free(ca);
    free(cb);
}

static void expect_same_files(const char *x, const char *y)
{
    expect_same_checkpoint(x, y);
    char *la = log_without_timings(x), *lb = log_without_timings(y);
    ck_assert_msg(strcmp(la, lb) == 0, "log.csv differs:\n%s---\n%s", la, lb);
    free(la);
    free(lb);
}

START_TEST(run_writes_config_log_final_and_checkpoint)
{
    run_dirs();
    const char *args[] = {TINY(dir_a), "--epochs", "2", NULL};
    ck_assert_int_eq(run("a", args), 0);
    expect_output("a", "epoch 2/2");

    json_t *cfg = load_json("a", "config.json");
    json_t *settings = json_object_get(cfg, "settings");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(settings, "optim"),
                                                        "batch")), 32);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(settings, "optim"),
                                                       "schedule")), "cosine");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(settings, "optim"),
                                                       "seed")), "1");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(json_object_get(cfg, "mutau"),
                                                            "revision")));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_object_get(cfg, "mutau"),
                                                                   "onednn")), "2."));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(cfg, "data"), "classes")),
                     4);
    json_decref(cfg);

    char *log = slurp("%s/a/log.csv", root);
    ck_assert_msg(strncmp(log, "epoch,step,lr,train_loss,train_acc,eval_loss,eval_top1,eval_top5,"
                               "images_per_s,seconds\n", 82) == 0, "header: %s", log);
    int rows = 0;
    for (char *p = log; *p; p++)
        rows += *p == '\n';
    ck_assert_int_eq(rows, 3);
    ck_assert_ptr_nonnull(strstr(log, "\n1,6,"));
    ck_assert_ptr_nonnull(strstr(log, "\n2,12,"));
    free(log);

    json_t *fin = load_json("a", "final.json");
    ck_assert_str_eq(json_string_value(json_object_get(fin, "status")), "completed");
    ck_assert_int_eq(json_integer_value(json_object_get(fin, "steps")), 12);
    json_t *final = json_object_get(fin, "final");
    double top1 = json_real_value(json_object_get(final, "top1"));
    double top5 = json_real_value(json_object_get(final, "top5"));
    ck_assert_msg(top1 >= 0 && top1 <= 1 && top5 == 1.0, "top1 %g top5 %g (4 classes: top-5 is 1)",
                  top1, top5);
    json_t *pc = json_object_get(fin, "per_class");
    ck_assert_int_eq(json_array_size(pc), 4);
    int images = 0, correct = 0;
    for (size_t k = 0; k < 4; k++) {
        images += (int)json_integer_value(json_object_get(json_array_get(pc, k), "images"));
        correct += (int)json_integer_value(json_object_get(json_array_get(pc, k), "correct"));
    }
    ck_assert_int_eq(images, 64);
    ck_assert_msg(abs(correct - (int)(top1 * 64 + 0.5)) <= 1, "per-class correct %d vs top-1 %g",
                  correct, top1);
    json_decref(fin);

    /* The same directory again is refused, naming --resume and --force. */
    ck_assert_int_eq(run("a2", args), 2);
    expect_output("a2", "--resume");
}
END_TEST

START_TEST(resume_is_bit_for_bit_the_uninterrupted_run)
{
    run_dirs();
    const char *ref[] = {TINY(dir_a), "--epochs", "6", NULL};
    ck_assert_int_eq(run("a", ref), 0);

    /* Stopped in the middle of epoch 1 (step 8 of 36), then resumed. */
    const char *stop[] = {TINY(dir_b), "--epochs", "6", "--stop-after", "8", NULL};
    ck_assert_int_eq(run("b1", stop), 4);
    expect_output("b1", "--resume");
    json_t *fin = load_json("b", "final.json");
    ck_assert_str_eq(json_string_value(json_object_get(fin, "status")), "interrupted");
    json_decref(fin);
    const char *res[] = {"--resume", dir_b, NULL};
    ck_assert_int_eq(run("b2", res), 0);
    expect_output("b2", "resuming");
    expect_same_files("a", "b");

    /* SIGTERM once the first epoch's checkpoint exists (five epochs remain,
     * far longer than the poll's millisecond), then resumed. */
    const char *sig[] = {TINY(dir_c), "--epochs", "6", NULL};
    pid_t pid = start("c1", sig);
    char ck[200];
    snprintf(ck, sizeof ck, "%s/checkpoint.bin", dir_c);
    for (int i = 0; i < 20000 && access(ck, F_OK) != 0; i++)
        usleep(1000);
    kill(pid, SIGTERM);
    int rc = tool_wait(pid);
    ck_assert_msg(rc == 4, "SIGTERM: exit %d (0 means the run ended before the signal)", rc);
    expect_output("c1", "SIGTERM");
    expect_output("c1", "mutau train --resume");
    const char *res_c[] = {"--resume", dir_c, NULL};
    ck_assert_int_eq(run("c2", res_c), 0);
    expect_same_files("a", "c");
}
END_TEST

/* A step whose gradient fails (build/mutau-faults, MUTAU_FAULT_STEP=0:N:
 * an allocation failure at batch N, trainer/fault.h) was not applied: the
 * run keeps the state before it in a checkpoint, exits 1 with the cause and
 * the resume command, and --resume ends with the uninterrupted run's files. */
START_TEST(failing_step_checkpoints_and_resumes_exactly)
{
    run_dirs();
    const char *ref[] = {TINY(dir_a), "--epochs", "3", NULL};
    ck_assert_int_eq(run("a", ref), 0);
    const char *args[] = {TINY(dir_b), "--epochs", "3", NULL};
    setenv("MUTAU_FAULT_STEP", "0:9", 1);
    int rc = tool_wait(start_exe(tool_faults_path(), "b1", args));
    unsetenv("MUTAU_FAULT_STEP");
    ck_assert_msg(rc == 1, "exit %d", rc);
    expect_output("b1", "mutau train: batch 9: out of memory (injected by MUTAU_FAULT_STEP=0:9); "
                        "stopped at epoch 2, step 9; checkpoint saved; resume with: mutau train "
                        "--resume");
    json_t *fin = load_json("b", "final.json");
    ck_assert_str_eq(json_string_value(json_object_get(fin, "status")), "failed");
    ck_assert_msg(strstr(json_string_value(json_object_get(fin, "message")), "batch 9: out of"),
                  "message: %s", json_string_value(json_object_get(fin, "message")));
    json_decref(fin);
    const char *res[] = {"--resume", dir_b, NULL};
    ck_assert_int_eq(run("b2", res), 0);
    expect_output("b2", "resuming");
    expect_same_files("a", "b");
}
END_TEST

static long file_size_of(const char *run_name, const char *file)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s/%s", root, run_name, file);
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The last line of root/NAME.out. */
static char *last_line(const char *name)
{
    char *s = slurp("%s/%s.out", root, name);
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '\n')
        s[--n] = '\0';
    char *nl = strrchr(s, '\n');
    char *line = strdup(nl ? nl + 1 : s);
    free(s);
    return line;
}

/* final.json's test evaluation and best epoch of two runs are the same. */
static void expect_same_final(const char *x, const char *y)
{
    json_t *fx = load_json(x, "final.json"), *fy = load_json(y, "final.json");
    ck_assert_str_eq(json_string_value(json_object_get(fy, "status")), "completed");
    const char *keys[] = {"final", "best", "per_class", "epochs_completed", "steps"};
    for (int i = 0; i < 5; i++)
        ck_assert_msg(json_equal(json_object_get(fx, keys[i]), json_object_get(fy, keys[i])),
                      "final.json's %s differs between %s and %s", keys[i], x, y);
    json_decref(fx);
    json_decref(fy);
}

/* A full disk (simulated: no file may grow past a size) while writing the
 * checkpoint, then while appending to log.csv: the run stops with exit 1 and
 * one line naming the file and the error, the previous checkpoint is intact,
 * and --resume with room again ends exactly as the uninterrupted run. */
START_TEST(disk_full_stops_cleanly_and_resume_continues_exactly)
{
    run_dirs();
    char dir_d[160], dir_e[160];
    snprintf(dir_d, sizeof dir_d, "%s/d", root);
    snprintf(dir_e, sizeof dir_e, "%s/e", root);
    const char *ref[] = {TINY(dir_a), "--epochs", "12", NULL};
    ck_assert_int_eq(run("a", ref), 0);

    /* The checkpoint: two epochs, then a resume that cannot write it. */
    const char *stop_d[] = {TINY(dir_d), "--epochs", "12", "--stop-after", "12", NULL};
    ck_assert_int_eq(run("d1", stop_d), 4);
    long ck_size = file_size_of("d", "checkpoint.bin");
    char *before = slurp("%s/checkpoint.bin", dir_d);
    const char *res_d[] = {"--resume", dir_d, NULL};
    const char *argv[64] = {tool_path(), "train"};
    for (int i = 0; res_d[i]; i++)
        argv[2 + i] = res_d[i];
    char out[200];
    snprintf(out, sizeof out, "%s/d2.out", root);
    ck_assert_int_eq(tool_wait(tool_spawn_limited(out, argv, ck_size / 2)), 1);
    char *line = last_line("d2");
    ck_assert_msg(strstr(line, "mutau train: ") == line && strstr(line, "checkpoint.bin") &&
                      strstr(line, "File too large"),
                  "the last line does not name the checkpoint and the error: '%s'", line);
    free(line);
    char *after = slurp("%s/checkpoint.bin", dir_d);
    ck_assert_int_eq(file_size_of("d", "checkpoint.bin"), ck_size);
    ck_assert_msg(memcmp(before, after, (size_t)ck_size) == 0, "the previous checkpoint changed");
    ck_assert_int_eq(file_size_of("d", "checkpoint.bin.tmp"), -1);
    json_t *fin = load_json("d", "final.json");
    ck_assert_str_eq(json_string_value(json_object_get(fin, "status")), "failed");
    json_decref(fin);
    free(before);
    free(after);
    ck_assert_int_eq(run("d3", res_d), 0);
    expect_same_files("a", "d");
    expect_same_final("a", "d");

    /* log.csv: ten epochs (a log longer than final.json), then a resume
     * whose next row does not fit. */
    const char *stop_e[] = {TINY(dir_e), "--epochs", "12", "--stop-after", "60", NULL};
    ck_assert_int_eq(run("e1", stop_e), 4);
    long log_size = file_size_of("e", "log.csv");
    ck_assert_msg(file_size_of("e", "final.json") < log_size + 20,
                  "final.json (%ld bytes) would not fit the limit", file_size_of("e", "final.json"));
    char *log_before = slurp("%s/log.csv", dir_e);
    const char *res_e[] = {"--resume", dir_e, NULL};
    for (int i = 0; res_e[i]; i++)
        argv[2 + i] = res_e[i];
    snprintf(out, sizeof out, "%s/e2.out", root);
    ck_assert_int_eq(tool_wait(tool_spawn_limited(out, argv, log_size + 20)), 1);
    line = last_line("e2");
    ck_assert_msg(strstr(line, "mutau train: ") == line && strstr(line, "log.csv: write failed") &&
                      strstr(line, "File too large"),
                  "the last line does not name log.csv and the error: '%s'", line);
    free(line);
    char *log_after = slurp("%s/log.csv", dir_e);
    ck_assert_msg(strcmp(log_before, log_after) == 0, "log.csv keeps a partial row:\n%s", log_after);
    free(log_before);
    free(log_after);
    ck_assert_int_eq(run("e3", res_e), 0);
    expect_same_files("a", "e");
    expect_same_final("a", "e");
}
END_TEST

START_TEST(corrupt_and_foreign_checkpoints_are_refused)
{
    run_dirs();
    const char *a[] = {TINY(dir_a), "--epochs", "1", NULL};
    ck_assert_int_eq(run("a", a), 0);
    const char *b[] = {TINY(dir_b), "--epochs", "1", "--width", "32", NULL};
    ck_assert_int_eq(run("b", b), 0);

    /* b's checkpoint (width 32) in a's directory (width 16). */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp '%s/checkpoint.bin' '%s/checkpoint.bin'", dir_b, dir_a);
    ck_assert_int_eq(system(cmd), 0);
    const char *ra[] = {"--resume", dir_a, NULL};
    ck_assert_int_eq(run("ra", ra), 2);
    expect_output("ra", "model signature");
    expect_output("ra", "does not match this model");

    /* A flipped byte in b's own checkpoint. */
    char path[200];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir_b);
    FILE *f = fopen(path, "r+b");
    fseek(f, 300, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 300, SEEK_SET);
    fputc(c ^ 1, f);
    fclose(f);
    const char *rb[] = {"--resume", dir_b, NULL};
    ck_assert_int_eq(run("rb", rb), 2);
    expect_output("rb", "CRC mismatch");
}
END_TEST

START_TEST(huge_lr_diverges_with_exit_3)
{
    run_dirs();
    const char *args[] = {TINY(dir_a), "--epochs", "2", "--lr", "1e5", "--warmup-epochs", "0",
                          NULL};
    ck_assert_int_eq(run("a", args), 3);
    expect_output("a", "diverged at epoch 1");
    json_t *fin = load_json("a", "final.json");
    ck_assert_str_eq(json_string_value(json_object_get(fin, "status")), "diverged");
    json_decref(fin);
}
END_TEST

/* lr 50 with momentum 0.99 sends the loss to 1e19 and more, but never to
 * Inf: with no bound the run "completes" at chance accuracy. The default
 * bound (100 ln 4 = 138.6 for the 4 classes) stops it as diverged within
 * steps. */
START_TEST(loss_above_the_bound_is_divergence)
{
    run_dirs();
    const char *args[] = {TINY(dir_a), "--epochs", "2", "--lr", "50", "--momentum", "0.99",
                          "--warmup-epochs", "0", NULL};
    ck_assert_int_eq(run("a", args), 3);
    expect_output("a", "exceeds --divergence-loss 138.629");
    json_t *fin = load_json("a", "final.json");
    ck_assert_str_eq(json_string_value(json_object_get(fin, "status")), "diverged");
    ck_assert_int_eq(json_integer_value(json_object_get(fin, "epochs_completed")), 0);
    json_decref(fin);
    json_t *cfg = load_json("a", "config.json");
    double bound = json_number_value(
        json_object_get(json_object_get(json_object_get(cfg, "settings"), "run"),
                        "divergence_loss"));
    json_decref(cfg);
    ck_assert_msg(bound > 138.62 && bound < 138.63, "config.json's divergence_loss %g", bound);
    /* The same run without a bound in reach: finite all along, "completed". */
    const char *nobound[] = {TINY(dir_b), "--epochs", "2", "--lr", "50", "--momentum", "0.99",
                             "--warmup-epochs", "0", "--divergence-loss", "1e300", NULL};
    ck_assert_int_eq(run("b", nobound), 0);
    fin = load_json("b", "final.json");
    ck_assert_str_eq(json_string_value(json_object_get(fin, "status")), "completed");
    json_decref(fin);
    /* A bound below the loss at initialisation (about ln 4) stops the first step. */
    const char *low[] = {TINY(dir_c), "--epochs", "1", "--divergence-loss", "0.5", NULL};
    ck_assert_int_eq(run("c", low), 3);
    expect_output("c", "diverged at epoch 1, step 1");
}
END_TEST

START_TEST(sphere_resnet_trains_with_its_operator)
{
    run_dirs();
    const char *args[] = {TINY(dir_a), "--epochs", "1", "--model", "sphere-resnet-8",
                          "--sphere-op", "learnable-sigmoid", NULL};
    ck_assert_int_eq(run("a", args), 0);
    json_t *cfg = load_json("a", "config.json");
    const char *desc = json_string_value(json_object_get(json_object_get(cfg, "model"),
                                                         "description"));
    ck_assert_msg(desc && strstr(desc, "sphere-resnet-8") && strstr(desc, "sigmoid"),
                  "model description '%s'", desc ? desc : "(none)");
    json_decref(cfg);
    json_t *fin = load_json("a", "final.json");
    ck_assert_str_eq(json_string_value(json_object_get(fin, "status")), "completed");
    json_decref(fin);
}
END_TEST

START_TEST(bad_flags_exit_2_naming_the_flag)
{
    run_dirs();
    struct {
        const char *args[10];
        const char *needle;
    } cases[] = {
        {{"--momentum", "1.5", NULL}, "--momentum"},
        {{"--batch", "0", NULL}, "--batch"},
        {{"--schedule", "steps", NULL}, "--schedule"},
        {{"--lr-milestones", "60,30", NULL}, "--lr-milestones"},
        {{"--model", "resnet21", "--data", data_dir, "--out", dir_a, NULL}, "--model"},
        {{"--model", "resnet20", "--width", "24", "--data", data_dir, "--out", dir_a, NULL},
         "--width"},
        {{"--sphere-op", "tanh", NULL}, "--sphere-op"},
        {{"--data", "/nonexistent/data", "--out", dir_a, NULL}, "--data"},
        {{"--resume", dir_b, "--lr", "0.1", NULL}, "--lr"},
        {{"--resume", dir_b, NULL}, "--resume"},
        {{"--no-such-flag", NULL}, "no-such-flag"},
        {{"--divergence-loss", "-1", NULL}, "--divergence-loss: expected a number > 0, got '-1'"},
        {{"--divergence-loss", "0", NULL}, "--divergence-loss: expected a number > 0, got '0'"},
        {{"--divergence-loss", "abc", NULL}, "--divergence-loss: expected a number > 0"},
        {{"--divergence-loss", "inf", NULL}, "--divergence-loss: expected a number > 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = run("bad", cases[i].args);
        ck_assert_msg(rc == 2, "case %zu (%s): exit %d", i, cases[i].needle, rc);
        expect_output("bad", cases[i].needle);
        if (strncmp(cases[i].needle, "--divergence-loss", 17) == 0) {
            char *out = slurp("%s/bad.out", root);
            ck_assert_msg(strchr(out, '\n') == out + strlen(out) - 1, "not one line:\n%s", out);
            free(out);
        }
    }
    const char *help[] = {"--help", NULL};
    ck_assert_int_eq(run("help", help), 0);
    expect_output("help", "--wd-bn-bias");
    expect_output("help", "--divergence-loss");
}
END_TEST

/* --precision bf16: recorded in config.json, the checkpoint holds the fp32
 * parameters and a resumed run is the uninterrupted one bit for bit; the
 * precision cannot change on resume; the same for a SphereResNet; a CPU
 * without native bf16 (simulated by
 * limiting oneDNN's ISA) is refused with one line and exit 2. */
START_TEST(bf16_runs_record_precision_and_resume_bit_for_bit)
{
    run_dirs();
    if (!mt_bf16_supported()) {
        const char *no[] = {TINY(dir_a), "--epochs", "1", "--precision", "bf16", NULL};
        ck_assert_int_eq(run("nobf16", no), 2);
        expect_output("nobf16", "--precision bf16");
        return;
    }
    const char *ref[] = {TINY(dir_a), "--epochs", "3", "--precision", "bf16", NULL};
    ck_assert_int_eq(run("a", ref), 0);
    json_t *cfg = load_json("a", "config.json");
    ck_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(cfg, "settings"), "model"), "precision")),
        "bf16");
    json_decref(cfg);
    const char *stop[] = {TINY(dir_b), "--epochs", "3", "--precision", "bf16", "--stop-after", "8",
                          NULL};
    ck_assert_int_eq(run("b1", stop), 4);
    const char *change[] = {"--resume", dir_b, "--precision", "fp32", NULL};
    ck_assert_int_eq(run("b2", change), 2);
    expect_output("b2", "--precision");
    const char *res[] = {"--resume", dir_b, NULL};
    ck_assert_int_eq(run("b3", res), 0);
    expect_same_files("a", "b");
    /* a bf16 SphereResNet-8 the same: stopped and resumed, byte for byte */
    char dir_d[160], dir_e[160];
    snprintf(dir_d, sizeof dir_d, "%s/d", root);
    snprintf(dir_e, sizeof dir_e, "%s/e", root);
    const char *sref[] = {TINY(dir_d), "--epochs", "2", "--model", "sphere-resnet-8",
                          "--sphere-op", "learnable-sigmoid", "--precision", "bf16", NULL};
    ck_assert_int_eq(run("d", sref), 0);
    const char *sstop[] = {TINY(dir_e), "--epochs", "2", "--model", "sphere-resnet-8",
                           "--sphere-op", "learnable-sigmoid", "--precision", "bf16",
                           "--stop-after", "7", NULL};
    ck_assert_int_eq(run("e1", sstop), 4);
    const char *sres[] = {"--resume", dir_e, NULL};
    ck_assert_int_eq(run("e2", sres), 0);
    expect_same_files("d", "e");
    setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE", 1);
    const char *no[] = {TINY(dir_c), "--epochs", "1", "--precision", "bf16", "--force", NULL};
    int rc = run("nobf16", no);
    unsetenv("ONEDNN_MAX_CPU_ISA");
    ck_assert_int_eq(rc, 2);
    expect_output("nobf16", "--precision bf16: this CPU has no native bf16");
}
END_TEST

/* The section of DIR's checkpoint holding the run's convolution choices,
 * passed to edit (which may change the bytes and their size), then
 * the checkpoint written back whole (a valid CRC): what a damaged or
 * foreign record looks like past the CRC. */
static void edit_conv_choices(const char *dir, void (*edit)(unsigned char *b, size_t *n))
{
    char path[200];
    snprintf(path, sizeof path, "%s/checkpoint.bin", dir);
    mt_ckpt in, out;
    ck_assert_msg(mt_ckpt_read_any(&in, path) == MT_OK, "%s", mt_errmsg());
    mt_ckpt_init(&out, in.signature);
    static unsigned char b[1 << 16];
    for (int i = 0; i < in.n_sections; i++) {
        const mt_ckpt_section *sec = &in.sections[i];
        if (strcmp(sec->name, "conv_choices") != 0) {
            ck_assert_int_eq(mt_ckpt_add(&out, sec->name, sec->data, sec->size), MT_OK);
            continue;
        }
        ck_assert_uint_le(sec->size, sizeof b);
        memcpy(b, sec->data, sec->size);
        size_t n = sec->size;
        edit(b, &n);
        ck_assert_int_eq(mt_ckpt_add(&out, sec->name, b, n), MT_OK);
    }
    ck_assert_msg(mt_ckpt_write(&out, path) == MT_OK, "%s", mt_errmsg());
    mt_ckpt_free(&out);
    mt_ckpt_free(&in);
}

static void bad_choice(unsigned char *b, size_t *n)
{
    b[MT_CONV_RECORD_HEAD + 4 * 12] = 7; /* the first entry's forward: neither 0 nor 1 */
}

static void other_isa(unsigned char *b, size_t *n) { b[4] ^= 0x40; }

/* cp -r of run directory `from` to `to` (under root). */
static void copy_run(const char *from, const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -r %s/%s %s/%s", root, from, root, to);
    ck_assert_int_eq(system(cmd), 0);
}

/* A resumed run runs the convolution algorithms of the run it continues,
 * whatever this process would choose: stopped under MUTAU_CONV_ALG=winograd,
 * resumed with the machine's record absent and unwritable and the choice
 * forced the other way (direct), or left to a trial, it ends as the
 * uninterrupted Winograd run byte for byte (one process, and two workers in
 * delay mode). A damaged record is refused with exit 2 in one line naming
 * the checkpoint; one made on another CPU ISA resumes with one warning. */
START_TEST(resume_runs_the_runs_convolution_choices)
{
    run_dirs();
    char dir_d[160], dir_e[160], dir_f[160];
    snprintf(dir_d, sizeof dir_d, "%s/d", root);
    snprintf(dir_e, sizeof dir_e, "%s/e", root);
    snprintf(dir_f, sizeof dir_f, "%s/f", root);
    const char *workers = _i ? "2" : "1", *mode = _i ? "delay" : "async";
    /* delay mode's log.csv has timing columns beyond the last two */
    void (*same)(const char *, const char *) = _i ? expect_same_checkpoint : expect_same_files;
    char cache[200];
    snprintf(cache, sizeof cache, "%s/no-such-dir/conv-algorithms", root);
    setenv("MUTAU_CONV_ALG", "winograd", 1);
    const char *ref[] = {TINY(dir_a), "--epochs", "2", "--workers", workers, "--mode", mode,
                         NULL};
    ck_assert_int_eq(run("a", ref), 0);
    const char *stop[] = {TINY(dir_b), "--epochs", "2", "--workers", workers, "--mode", mode,
                          "--stop-after", "8", NULL};
    ck_assert_int_eq(run("b1", stop), 4);
    unsetenv("MUTAU_CONV_ALG");
    copy_run("b", "c");
    copy_run("b", "d");
    copy_run("b", "e");
    copy_run("b", "f");

    /* the record: the shapes the nets were built with, Winograd where
     * oneDNN has it for them (the 16- and 32-channel 3x3 convolutions on an
     * AVX-512 machine) */
    unsigned char *bytes;
    size_t size;
    char ck[200];
    snprintf(ck, sizeof ck, "%s/checkpoint.bin", dir_b);
    ck_assert_msg(mt_conv_choices_read(ck, &bytes, &size) == MT_OK, "%s", mt_errmsg());
    mt_conv_record r;
    ck_assert_msg(mt_conv_record_parse(&r, bytes, size) == MT_OK, "%s", mt_errmsg());
    ck_assert_int_ge(r.n, 1);
    int wino = 0;
    for (int i = 0; i < r.n; i++)
        wino += r.choices[i].winograd[0];
    mt_conv_record_free(&r);
    free(bytes);

    setenv("MUTAU_CONV_CACHE", cache, 1);
    setenv("MUTAU_CONV_ALG", "direct", 1);
    const char *res_b[] = {"--resume", dir_b, NULL};
    ck_assert_int_eq(run("b2", res_b), 0);
    unsetenv("MUTAU_CONV_ALG");
    same("a", "b");
    const char *res_c[] = {"--resume", dir_c, NULL};
    ck_assert_int_eq(run("c2", res_c), 0);
    same("a", "c");
    /* the power of the test: without the record, direct is another run */
    if (wino) {
        snprintf(ck, sizeof ck, "%s/checkpoint.bin", dir_d);
        mt_ckpt in, out;
        ck_assert_int_eq(mt_ckpt_read_any(&in, ck), MT_OK);
        mt_ckpt_init(&out, in.signature);
        for (int i = 0; i < in.n_sections; i++)
            if (strcmp(in.sections[i].name, "conv_choices") != 0)
                mt_ckpt_add(&out, in.sections[i].name, in.sections[i].data, in.sections[i].size);
        ck_assert_int_eq(mt_ckpt_write(&out, ck), MT_OK);
        mt_ckpt_free(&out);
        mt_ckpt_free(&in);
        setenv("MUTAU_CONV_ALG", "direct", 1);
        const char *res_d[] = {"--resume", dir_d, NULL};
        ck_assert_int_eq(run("d2", res_d), 0);
        unsetenv("MUTAU_CONV_ALG");
        char *ca = slurp("%s/a/checkpoint.bin", root), *cd = slurp("%s/d/checkpoint.bin", root);
        ck_assert_msg(memcmp(ca, cd, 4096) != 0, "direct ran as Winograd without the record");
        free(ca);
        free(cd);
    }

    /* damaged past the CRC: exit 2, one line naming the file and section */
    edit_conv_choices(dir_e, bad_choice);
    const char *res_e[] = {"--resume", dir_e, NULL};
    ck_assert_int_eq(run("e2", res_e), 2);
    char *out = slurp("%s/e2.out", root);
    ck_assert_msg(strstr(out, "e/checkpoint.bin: section 'conv_choices'") &&
                      strchr(out, '\n') == out + strlen(out) - 1,
                  "not one line naming the file:\n%s", out);
    free(out);
    /* made on another CPU ISA: one warning, and the run goes on */
    edit_conv_choices(dir_f, other_isa);
    const char *res_f[] = {"--resume", dir_f, NULL};
    ck_assert_int_eq(run("f2", res_f), 0);
    out = slurp("%s/f2.out", root);
    char *w = strstr(out, "warning: ");
    ck_assert_msg(w && strstr(w, "f/checkpoint.bin") && strstr(w, "not bit for bit") &&
                      !strstr(w + 1, "warning: "),
                  "no single warning:\n%s", out);
    free(out);
    unsetenv("MUTAU_CONV_CACHE");
}
END_TEST

/* steps.csv without its last column (images_per_s, a timing). */
static char *steps_without_timing(const char *run_name)
{
    char *s = slurp("%s/%s/steps.csv", root, run_name);
    char *out = malloc(strlen(s) + 1), *o = out;
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n")) {
        *strrchr(line, ',') = '\0';
        o += sprintf(o, "%s\n", line);
    }
    free(s);
    return out;
}

START_TEST(log_every_writes_steps_csv_that_survives_resume)
{
    run_dirs();
    /* 3 epochs of 6 steps, a row every 4: steps 4, 8, 12, 16. */
    const char *ref[] = {TINY(dir_a), "--epochs", "3", "--log-every", "4", NULL};
    ck_assert_int_eq(run("a", ref), 0);
    char *a = steps_without_timing("a");
    const char *want_steps[] = {"4,0.6667,", "8,1.3333,", "12,2.0000,", "16,2.6667,"};
    char *line = a;
    ck_assert_msg(strncmp(line, "step,epoch,lr,loss,tau_mean\n", 28) == 0, "%s", a);
    for (int i = 0; i < 4; i++) {
        line = strchr(line, '\n') + 1;
        ck_assert_msg(strncmp(line, want_steps[i], strlen(want_steps[i])) == 0, "row %d: %s", i,
                      line);
        /* One worker: no staleness. */
        char *eol = strchr(line, '\n');
        ck_assert_msg(eol - line > 7 && strncmp(eol - 7, ",0.0000", 7) == 0, "row %d: %s", i,
                      line);
    }
    ck_assert_str_eq(strchr(line, '\n'), "\n");

    /* Stopped at step 10 (a row in progress), resumed: the same rows, none twice. */
    const char *stop[] = {TINY(dir_b), "--epochs", "3", "--log-every", "4", "--stop-after", "10",
                          NULL};
    ck_assert_int_eq(run("b1", stop), 4);
    const char *res[] = {"--resume", dir_b, NULL};
    ck_assert_int_eq(run("b2", res), 0);
    char *b = steps_without_timing("b");
    ck_assert_msg(strcmp(a, b) == 0, "steps.csv differs after a resume:\n%s---\n%s", a, b);
    expect_same_files("a", "b");
    free(a);
    free(b);

    /* Two workers in delay mode: tau is 1 once the first push is in, and
     * final.json has the staleness histogram. */
    const char *delay[] = {TINY(dir_c), "--epochs", "2", "--log-every", "3", "--workers", "2",
                           "--mode", "delay", NULL};
    ck_assert_int_eq(run("c", delay), 0);
    char *c = steps_without_timing("c");
    ck_assert_msg(strstr(c, "\n6,1.0000,") && strstr(c, ",1.0000\n12,2.0000,"), "%s", c);
    free(c);
    json_t *fin = load_json("c", "final.json");
    json_t *st = json_object_get(fin, "staleness");
    json_t *hist = json_object_get(st, "histogram");
    ck_assert_msg(json_is_array(hist) && json_array_size(hist) == 2, "histogram");
    /* tau 0 for the first step (nothing to be stale against), then 1. */
    ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(hist, 0), 0)), 0);
    ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(hist, 0), 1)), 1);
    ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(hist, 1), 0)), 1);
    ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(hist, 1), 1)), 11);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "count")), 12);
    json_decref(fin);
}
END_TEST

START_TEST(out_is_checked_before_the_data_is_loaded)
{
    run_dirs();
    const char *first[] = {TINY(dir_a), "--epochs", "1", NULL};
    ck_assert_int_eq(run("a", first), 0);
    /* The data folder does not exist: only a check made before loading it
     * can name --out. */
    const char *again[] = {"--data", "/nonexistent/data", "--out", dir_a, NULL};
    ck_assert_int_eq(run("again", again), 2);
    expect_output("again", "--out");
    expect_output("again", "already holds a run");
    char file[200];
    snprintf(file, sizeof file, "%s/a/log.csv/run", root);
    const char *not_dir[] = {"--data", "/nonexistent/data", "--out", file, NULL};
    ck_assert_int_eq(run("notdir", not_dir), 2);
    expect_output("notdir", "is not a directory");
}
END_TEST

/* Runs `steps` progress steps of a 10-epoch, 1000-step run in `mode`, `pause`
 * seconds apart, with stdout captured; returns what was printed. */
static char *progress_output(int mode, int steps, double pause)
{
    char path[160];
    snprintf(path, sizeof path, "%s/progress.out", root);
    fflush(stdout);
    int saved = dup(1);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    dup2(fileno(f), 1);
    mt_progress p;
    mt_progress_init(&p, mode, 10, 1000, 32);
    mt_progress_epoch_begin(&p, 0, 100, 0);
    struct timespec ts = {(time_t)pause, (long)((pause - (double)(time_t)pause) * 1e9)};
    for (int i = 0; i < steps; i++) {
        if (i > 0)
            nanosleep(&ts, NULL);
        mt_progress_step(&p, i, i + 1, 1.0);
    }
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    fclose(f);
    return slurp("%s/progress.out", root);
}

/* The estimate comes once, after at least 5 steps and 2 s timed from the end
 * of the first step, and extrapolates their pace to the steps left. */
START_TEST(duration_estimate_from_the_first_steps)
{
    /* Five steps timed over less than 2 s: too early to say. */
    char *early = progress_output(MT_PROGRESS_PLAIN, 6, 0.05);
    ck_assert_msg(strstr(early, "estimate") == NULL, "estimate too early: %s", early);
    free(early);

    /* Five steps over 2.25 s: 0.45 s a step (more on a loaded machine), 994
     * steps left, about 7.5 minutes; printed once. */
    char *s = progress_output(MT_PROGRESS_PLAIN, 8, 0.45);
    const char *e = strstr(s, "estimate: about ");
    ck_assert_msg(e != NULL, "no estimate: %s", s);
    ck_assert_msg(strstr(e + 1, "estimate") == NULL, "estimate printed twice: %s", s);
    int minutes = 0;
    double per_step = 0;
    ck_assert_msg(sscanf(e, "estimate: about %d min for 10 epochs (994 steps at %lf s a step",
                         &minutes, &per_step) == 2,
                  "estimate line: %s", e);
    ck_assert_msg(per_step >= 0.449 && per_step < 1.5, "per step %g s", per_step);
    /* per_step is printed to 3 digits: the minutes may round the other way. */
    ck_assert_msg(abs(minutes - (int)ceil(per_step * 994 / 60)) <= 1, "%d min at %g s a step",
                  minutes, per_step);
    free(s);

    char *quiet = progress_output(MT_PROGRESS_QUIET, 8, 0.3);
    ck_assert_str_eq(quiet, "");
    free(quiet);
}
END_TEST

/* A server rank's trainer (mt_trainer_open_server) holds what a full one
 * does, bit for bit, where it matters to the server (parameters, state,
 * layout, signature), with a net of one image instead of a batch. */
START_TEST(server_trainer_has_the_parameters_without_the_batch)
{
    mt_train_config c;
    mt_train_config_default(&c);
    snprintf(c.data_dir, sizeof c.data_dir, "%s", data_dir);
    snprintf(c.model, sizeof c.model, "resnet8");
    c.width = 16;
    c.batch = 192; /* activations of 192 8x8 images: tens of MB */
    c.eval_batch = 64;
    c.threads = 1;
    mt_trainer srv, full;
    ck_assert_msg(mt_trainer_open_server(&srv, &c) == MT_OK, "%s", mt_errmsg());
    ck_assert_msg(mt_trainer_open(&full, &c) == MT_OK, "%s", mt_errmsg());
    size_t np = mt_net_param_count(full.net), ns = mt_net_state_count(full.net);
    ck_assert_uint_eq(mt_net_param_count(srv.net), np);
    ck_assert_uint_eq(mt_net_state_count(srv.net), ns);
    ck_assert_uint_eq(srv.signature, full.signature);
    ck_assert_uint_eq(srv.config_hash, full.config_hash);
    ck_assert_int_eq(srv.steps_per_epoch, full.steps_per_epoch);
    ck_assert(memcmp(mt_net_params(srv.net), mt_net_params(full.net), np * sizeof(float)) == 0);
    ck_assert(memcmp(mt_net_state(srv.net), mt_net_state(full.net), ns * sizeof(float)) == 0);
    ck_assert_int_eq(srv.decay.n_ranges, full.decay.n_ranges);
    /* Both hold the parameters; the full net adds a batch's activations and
     * their gradients (own and shared buffers; the scratchpad is oneDNN's
     * and much the same for one image). */
    mt_net_mem ms, mf;
    ck_assert_int_eq(mt_net_memory(srv.net, &ms), MT_OK);
    ck_assert_int_eq(mt_net_memory(full.net, &mf), MT_OK);
    ck_assert_uint_eq(ms.params, mf.params);
    ck_assert_msg((ms.own + ms.shared) * 10 < mf.own + mf.shared,
                  "activations: server net %zu bytes, full %zu", ms.own + ms.shared,
                  mf.own + mf.shared);
    mt_trainer_close(&full);
    mt_trainer_close(&srv);
}
END_TEST

static Suite *train_suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("end_to_end");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, run_writes_config_log_final_and_checkpoint);
    tcase_add_test(tc, resume_is_bit_for_bit_the_uninterrupted_run);
    tcase_add_loop_test(tc, resume_runs_the_runs_convolution_choices, 0, 2);
    tcase_add_test(tc, disk_full_stops_cleanly_and_resume_continues_exactly);
    tcase_add_test(tc, failing_step_checkpoints_and_resumes_exactly);
    tcase_add_test(tc, corrupt_and_foreign_checkpoints_are_refused);
    tcase_add_test(tc, huge_lr_diverges_with_exit_3);
    tcase_add_test(tc, loss_above_the_bound_is_divergence);
    tcase_add_test(tc, sphere_resnet_trains_with_its_operator);
    tcase_add_test(tc, bad_flags_exit_2_naming_the_flag);
    tcase_add_test(tc, log_every_writes_steps_csv_that_survives_resume);
    tcase_add_test(tc, out_is_checked_before_the_data_is_loaded);
    tcase_add_test(tc, bf16_runs_record_precision_and_resume_bit_for_bit);
    tcase_add_test(tc, server_trainer_has_the_parameters_without_the_batch);
    tcase_add_test(tc, duration_estimate_from_the_first_steps);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(train_suite)
