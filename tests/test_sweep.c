/* test_sweep.c: the sweep library without training: cell order, names and
 * seeds; the argument vector a cell passes to `mutau train`; sweep.json round
 * trip and the refusal of changed settings; a cell's results read from run
 * directories written here by hand; mean, sd and best momentum against values
 * computed by hand; results.csv and the table; the estimate's arithmetic
 * and its durations. The method axis and momentum auto: cell order and
 * names (msgd's as before the axis), their train flags, sweep.json with
 * and without methods, and the methods' table on results written by hand.
 */
#include "core/status.h"
#include "sweep/estimate.h"
#include "sweep/grid.h"
#include "sweep/report.h"
#include "sweep/results.h"
#include "tests/check_main.h"
#include "tests/tool_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static void setup(void) { tmp_dir_make(tmpdir, sizeof tmpdir, "sweep"); }

static void teardown(void) { tmp_dir_remove(tmpdir); }

/* workers {1, 4} x momentum {0.1, 0.9} x 2 repeats, seed 7. */
static void small_spec(mt_sweep_spec *s)
{
    mt_sweep_spec_init(s);
    s->n_workers = 2;
    s->workers[0] = 1;
    s->workers[1] = 4;
    s->n_momentum = 2;
    s->momentum[0] = 0.1;
    s->momentum[1] = 0.9;
    s->repeats = 2;
    s->seed = 7;
    ck_assert_int_eq(mt_sweep_spec_add_arg(s, "--epochs"), MT_OK);
    ck_assert_int_eq(mt_sweep_spec_add_arg(s, "3"), MT_OK);
}

START_TEST(test_cells_order_names_seeds)
{
    mt_sweep_spec s;
    small_spec(&s);
    ck_assert_int_eq(mt_sweep_cell_count(&s), 8);
    /* Repeat-major, then workers, then momentum. */
    const struct { int w; double mu; int r; unsigned seed; const char *name; } want[8] = {
        {1, 0.1, 1, 7, "w1_mu0.1_r1"}, {1, 0.9, 1, 7, "w1_mu0.9_r1"},
        {4, 0.1, 1, 7, "w4_mu0.1_r1"}, {4, 0.9, 1, 7, "w4_mu0.9_r1"},
        {1, 0.1, 2, 8, "w1_mu0.1_r2"}, {1, 0.9, 2, 8, "w1_mu0.9_r2"},
        {4, 0.1, 2, 8, "w4_mu0.1_r2"}, {4, 0.9, 2, 8, "w4_mu0.9_r2"},
    };
    for (int i = 0; i < 8; i++) {
        mt_sweep_cell c;
        mt_sweep_cell_at(&s, i, &c);
        ck_assert_int_eq(c.index, i);
        ck_assert_int_eq(c.workers, want[i].w);
        ck_assert(c.momentum == want[i].mu);
        ck_assert_int_eq(c.repeat, want[i].r);
        ck_assert_uint_eq(c.seed, want[i].seed);
        ck_assert_str_eq(c.name, want[i].name);
    }
    mt_sweep_spec_free(&s);
}
END_TEST

/* The arguments after "train" joined by spaces. */
static void joined_argv(const mt_sweep_spec *s, int index, char *out, size_t cap)
{
    char *argv[64], buf[2048];
    mt_sweep_cell c;
    mt_sweep_cell_at(s, index, &c);
    int n = mt_sweep_train_argv(s, &c, "/bin/mutau", "d/cell", 2, argv, 64, buf, sizeof buf);
    ck_assert_int_gt(n, 2);
    ck_assert_ptr_null(argv[n]);
    ck_assert_str_eq(argv[0], "/bin/mutau");
    ck_assert_str_eq(argv[1], "train");
    out[0] = '\0';
    for (int i = 2; i < n; i++) {
        strncat(out, argv[i], cap - strlen(out) - 1);
        if (i + 1 < n)
            strncat(out, " ", cap - strlen(out) - 1);
    }
}

START_TEST(test_train_argv)
{
    mt_sweep_spec s;
    small_spec(&s);
    char got[2048];
    /* Worker counts other than 1 in the grid: every cell passes --workers. */
    joined_argv(&s, 6, got, sizeof got);
    ck_assert_str_eq(got, "--epochs 3 --workers 4 --oversubscribe --momentum 0.1 --seed 8 "
                          "--threads 2 --progress plain --out d/cell");
    joined_argv(&s, 1, got, sizeof got);
    ck_assert_str_eq(got, "--epochs 3 --workers 1 --momentum 0.9 --seed 7 --threads 2 --progress "
                          "plain --out d/cell");
    /* Resumed cells need --oversubscribe again: async cells of W > 1 only. */
    mt_sweep_cell c4, c1;
    mt_sweep_cell_at(&s, 6, &c4);
    mt_sweep_cell_at(&s, 0, &c1);
    ck_assert_int_eq(mt_sweep_cell_oversubscribes(&s, &c4), 1);
    ck_assert_int_eq(mt_sweep_cell_oversubscribes(&s, &c1), 0);
    snprintf(s.mode, sizeof s.mode, "delay");
    ck_assert_int_eq(mt_sweep_cell_oversubscribes(&s, &c4), 0);
    s.mode[0] = '\0';
    /* Mode and delay follow the worker count. */
    snprintf(s.mode, sizeof s.mode, "delay");
    s.delay = 3;
    joined_argv(&s, 3, got, sizeof got);
    ck_assert_str_eq(got, "--epochs 3 --workers 4 --mode delay --delay 3 --momentum 0.9 --seed 7 "
                          "--threads 2 --progress plain --out d/cell");
    /* Delay mode without a delay: W - 1 per cell. */
    s.delay = -1;
    joined_argv(&s, 2, got, sizeof got);
    ck_assert_str_eq(got, "--epochs 3 --workers 4 --mode delay --delay 3 --momentum 0.1 --seed 7 "
                          "--threads 2 --progress plain --out d/cell");
    joined_argv(&s, 0, got, sizeof got);
    ck_assert_str_eq(got, "--epochs 3 --workers 1 --mode delay --delay 0 --momentum 0.1 --seed 7 "
                          "--threads 2 --progress plain --out d/cell");
    /* Over MPI (a launcher): --transport mpi instead of --workers, and the
     * cell's method as in one process (dana and dc-asgd run over MPI). */
    snprintf(s.transport, sizeof s.transport, "mpi");
    snprintf(s.mode, sizeof s.mode, "async");
    s.delay = -1;
    s.methods[0] = MT_METHOD_DANA;
    joined_argv(&s, 6, got, sizeof got);
    ck_assert_str_eq(got, "--epochs 3 --transport mpi --mode async --method dana --momentum 0.1 "
                          "--seed 8 --threads 2 --progress plain --out d/cell");
    s.transport[0] = '\0';
    s.methods[0] = MT_METHOD_MSGD;
    /* A sweep over momentum alone trains single-process runs. */
    s.n_workers = 1;
    s.mode[0] = '\0';
    s.delay = -1;
    ck_assert_int_eq(mt_sweep_uses_ps(&s), 0);
    joined_argv(&s, 0, got, sizeof got);
    ck_assert_str_eq(got, "--epochs 3 --momentum 0.1 --seed 7 --threads 2 --progress plain --out "
                          "d/cell");
    /* A momentum that %g would round is passed exactly. */
    s.momentum[0] = 0.123456789;
    joined_argv(&s, 0, got, sizeof got);
    ck_assert_msg(strstr(got, "--momentum 0.123456789 ") != NULL, "got '%s'", got);
    /* Too small a buffer is an error, not a truncated command. */
    char *argv[64], tiny[16];
    mt_sweep_cell c;
    mt_sweep_cell_at(&s, 0, &c);
    ck_assert_int_eq(mt_sweep_train_argv(&s, &c, "/bin/mutau", "d/cell", 2, argv, 64, tiny,
                                         sizeof tiny),
                     MT_ERR_ARG);
    mt_sweep_spec_free(&s);
}
END_TEST

START_TEST(test_spec_json_round_trip_and_compare)
{
    mt_sweep_spec a, b;
    small_spec(&a);
    snprintf(a.mode, sizeof a.mode, "delay");
    a.delay = 2;
    ck_assert_int_eq(mt_sweep_spec_save(tmpdir, &a), MT_OK);
    ck_assert_int_eq(mt_sweep_spec_load(tmpdir, &b), MT_OK);
    ck_assert_int_eq(mt_sweep_spec_compare(&a, &b), MT_OK);
    ck_assert_int_eq(b.n_train_args, 2);
    ck_assert_str_eq(b.train_args[1], "3");
    ck_assert_uint_eq(b.seed, 7);
    ck_assert_int_eq(b.delay, 2);

    b.momentum[1] = 0.7;
    ck_assert_int_eq(mt_sweep_spec_compare(&a, &b), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "--momentum: the sweep has 0.1,0.9, the command gives 0.1,0.7"),
                  "message: %s", mt_errmsg());
    b.momentum[1] = 0.9;
    free(b.train_args[1]);
    b.train_args[1] = strdup("4");
    ck_assert_int_eq(mt_sweep_spec_compare(&a, &b), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "train flags: the sweep has '--epochs 3', the command gives "
                                      "'--epochs 4'"),
                  "message: %s", mt_errmsg());
    free(b.train_args[1]);
    b.train_args[1] = strdup("3");
    b.repeats = 3;
    ck_assert_int_eq(mt_sweep_spec_compare(&a, &b), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "--repeats"), "message: %s", mt_errmsg());
    mt_sweep_spec_free(&a);
    mt_sweep_spec_free(&b);

    /* A damaged sweep.json names the file. */
    char p[512];
    snprintf(p, sizeof p, "%s/sweep.json", tmpdir);
    FILE *f = fopen(p, "w");
    fputs("{\"workers\": [1], \"momentum\": \"x\"}\n", f);
    fclose(f);
    ck_assert_int_eq(mt_sweep_spec_load(tmpdir, &b), MT_ERR_FORMAT);
    ck_assert_msg(strstr(mt_errmsg(), "sweep.json"), "message: %s", mt_errmsg());
}
END_TEST

START_TEST(test_spec_check)
{
    mt_sweep_spec s;
    small_spec(&s);
    ck_assert_int_eq(mt_sweep_spec_check(&s), MT_OK);
    s.workers[1] = 1;
    ck_assert_int_eq(mt_sweep_spec_check(&s), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "--workers: 1 is listed twice"), "%s", mt_errmsg());
    s.workers[1] = 4;
    s.momentum[1] = 1.0;
    ck_assert_int_eq(mt_sweep_spec_check(&s), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "--momentum"), "%s", mt_errmsg());
    s.momentum[1] = 0.9;
    snprintf(s.mode, sizeof s.mode, "async");
    s.delay = 2;
    ck_assert_int_eq(mt_sweep_spec_check(&s), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "--delay"), "%s", mt_errmsg());
    mt_sweep_spec_free(&s);
}
END_TEST

/* ---- results from hand-written run directories ---------------------------- */

static void write_file(const char *dir, const char *name, const char *file, const char *text)
{
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/%s", dir, name, file);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static const char *LOG =
    "epoch,step,lr,train_loss,train_acc,val_loss,val_top1,val_top5,images_per_s,seconds\n"
    "1,10,0.1,2.0,0.3,1.9,0.50,0.90,100.0,2.5\n"
    "2,20,0.1,1.5,0.5,,,,300.0,1.5\n"
    "3,30,0.05,1.0,0.6,1.2,0.70,0.95,200.0,3.0\n"
    "4,40,0.01,0.9,0.7,1.3,0.65,0.97,200.0,3.0\n";

static void write_completed(const char *name, double top1)
{
    char fin[512];
    snprintf(fin, sizeof fin,
             "{\"status\": \"completed\", \"message\": \"\", \"epochs_completed\": 4, "
             "\"epochs\": 4, \"final\": {\"split\": \"test\", \"top1\": %.17g, \"top5\": 0.97}}",
             top1);
    write_file(tmpdir, name, "final.json", fin);
    write_file(tmpdir, name, "config.json", "{\"settings\": {\"optim\": {\"epochs\": 4}}}");
    write_file(tmpdir, name, "log.csv", LOG);
}

START_TEST(test_result_from_run_directory)
{
    mt_sweep_spec s;
    small_spec(&s);
    mt_sweep_cell c;
    mt_sweep_cell_at(&s, 0, &c);
    write_completed(c.name, 0.65);
    mt_sweep_result r;
    ck_assert_int_eq(mt_sweep_result_read(&s, &c, tmpdir, &r), MT_OK);
    ck_assert_str_eq(r.status, "completed");
    ck_assert_double_eq_tol(r.final_top1, 0.65, 1e-12);
    ck_assert_double_eq_tol(r.final_top5, 0.97, 1e-12);
    /* Best over the evaluated epochs (1, 3, 4): 0.70 at epoch 3; top-5 best 0.97. */
    ck_assert_double_eq_tol(r.best_top1, 0.70, 1e-12);
    ck_assert_int_eq(r.best_epoch, 3);
    ck_assert_double_eq_tol(r.best_top5, 0.97, 1e-12);
    ck_assert_int_eq(r.epochs_done, 4);
    ck_assert_int_eq(r.epochs, 4);
    /* (100 + 300 + 200 + 200) / 4 and 2.5 + 1.5 + 3 + 3. */
    ck_assert_double_eq_tol(r.images_per_s, 200.0, 1e-9);
    ck_assert_double_eq_tol(r.wall_seconds, 10.0, 1e-9);
    ck_assert_int_eq(r.n_curve, 3);
    ck_assert_int_eq(r.curve_epoch[1], 3);
    ck_assert_double_eq_tol(r.curve_top1[2], 0.65, 1e-12);
    /* Worker counts 1 and 4 in the grid: a server run; staleness unknown
     * until the trainer records it. */
    ck_assert(isnan(r.tau_mean));
    mt_sweep_result_free(&r);

    /* An evaluation of non-finite outputs (eval_loss NaN) does not count,
     * whatever accuracy it printed. (The fixture above has the val_* names
     * of older runs, this one today's eval_*: both are read.) */
    write_file(tmpdir, c.name, "log.csv",
               "epoch,eval_loss,eval_top1,eval_top5\n1,1.5,0.4,0.8\n2,-nan,1.0,1.0\n3,inf,1.0,"
               "1.0\n");
    ck_assert_int_eq(mt_sweep_result_read(&s, &c, tmpdir, &r), MT_OK);
    ck_assert_double_eq_tol(r.best_top1, 0.4, 1e-12);
    ck_assert_double_eq_tol(r.best_top5, 0.8, 1e-12);
    ck_assert_int_eq(r.n_curve, 1);
    mt_sweep_result_free(&r);

    /* Staleness columns, when the log has them. */
    write_file(tmpdir, c.name, "log.csv",
               "epoch,val_top1,staleness_mean,staleness_max\n1,0.5,2.5,7\n2,0.6,3.5,9\n");
    ck_assert_int_eq(mt_sweep_result_read(&s, &c, tmpdir, &r), MT_OK);
    ck_assert_double_eq_tol(r.tau_mean, 3.0, 1e-12);
    ck_assert_double_eq_tol(r.tau_max, 9.0, 1e-12);
    mt_sweep_result_free(&r);

    /* An epoch no run reaches (the report sizes its curves by the last one)
     * counts as the row's position; an epoch count beyond any run as unknown. */
    write_file(tmpdir, c.name, "log.csv", "epoch,eval_top1\n1,0.5\n2000000000,0.6\n");
    write_file(tmpdir, c.name, "config.json", "{\"settings\": {\"optim\": {\"epochs\": 4294967300}}}");
    ck_assert_int_eq(mt_sweep_result_read(&s, &c, tmpdir, &r), MT_OK);
    ck_assert_int_eq(r.n_curve, 2);
    ck_assert_int_eq(r.curve_epoch[1], 2);
    ck_assert_int_eq(r.epochs, 4); /* from final.json */
    mt_sweep_result_free(&r);
    write_completed(c.name, 0.65);

    /* Never started: pending. Failed without a status of its own: failed. */
    mt_sweep_cell_at(&s, 1, &c);
    ck_assert_int_eq(mt_sweep_result_read(&s, &c, tmpdir, &r), MT_OK);
    ck_assert_str_eq(r.status, "pending");
    ck_assert(isnan(r.final_top1));
    mt_sweep_result_free(&r);
    write_file(tmpdir, c.name, "final.json", "{\"status\": \"running\"}");
    write_file(tmpdir, c.name, "cell.json",
               "{\"outcome\": \"failed\", \"message\": \"killed by signal 9\", "
               "\"cpu_seconds\": 12.5}");
    ck_assert_int_eq(mt_sweep_result_read(&s, &c, tmpdir, &r), MT_OK);
    ck_assert_str_eq(r.status, "failed");
    ck_assert_double_eq_tol(r.cpu_seconds, 12.5, 1e-12);
    ck_assert_str_eq(r.message, "killed by signal 9");
    mt_sweep_result_free(&r);

    /* Diverged, with the trainer's message; delay mode records W - 1. */
    snprintf(s.mode, sizeof s.mode, "delay");
    mt_sweep_cell_at(&s, 2, &c);
    write_file(tmpdir, c.name, "final.json",
               "{\"status\": \"diverged\", \"message\": \"loss NaN\", \"epochs_completed\": 1}");
    ck_assert_int_eq(mt_sweep_result_read(&s, &c, tmpdir, &r), MT_OK);
    ck_assert_str_eq(r.status, "diverged");
    ck_assert_str_eq(r.message, "loss NaN");
    ck_assert_str_eq(r.mode, "delay");
    ck_assert_int_eq(r.delay, 3);
    mt_sweep_result_free(&r);
    mt_sweep_spec_free(&s);
}
END_TEST

START_TEST(test_stats_csv_and_table)
{
    mt_sweep_spec s;
    small_spec(&s);
    s.repeats = 3;
    /* (1, 0.1): 0.80, 0.82, 0.84 -> mean 0.82, sd 0.02.
     * (1, 0.9): 0.90, one diverged, one pending -> mean 0.90, sd NaN.
     * (4, 0.1): 0.70, 0.74, 0.72 -> mean 0.72, sd 0.02.
     * (4, 0.9): 0.60, 0.62, 0.64 -> mean 0.62. Best: 0.9 for 1 worker, 0.1 for 4. */
    const double acc[3][4] = {{0.80, 0.90, 0.70, 0.60}, {0.82, -1, 0.74, 0.62},
                              {0.84, -2, 0.72, 0.64}};
    for (int i = 0; i < mt_sweep_cell_count(&s); i++) {
        mt_sweep_cell c;
        mt_sweep_cell_at(&s, i, &c);
        double a = acc[c.repeat - 1][i % 4];
        if (a == -1)
            write_file(tmpdir, c.name, "final.json", "{\"status\": \"diverged\"}");
        else if (a >= 0)
            write_completed(c.name, a);
    }
    mt_sweep_result *r;
    ck_assert_int_eq(mt_sweep_results_read(&s, tmpdir, &r), MT_OK);
    mt_sweep_stat st[4];
    mt_sweep_stats(&s, r, st);
    ck_assert_int_eq(st[0].n, 3);
    ck_assert_double_eq_tol(st[0].mean, 0.82, 1e-12);
    ck_assert_double_eq_tol(st[0].sd, 0.02, 1e-12);
    ck_assert_int_eq(st[1].n, 1);
    ck_assert_int_eq(st[1].diverged, 1);
    ck_assert_int_eq(st[1].other, 1);
    ck_assert_double_eq_tol(st[1].mean, 0.90, 1e-12);
    ck_assert(isnan(st[1].sd));
    ck_assert_double_eq_tol(st[2].mean, 0.72, 1e-12);
    ck_assert_double_eq_tol(st[2].sd, 0.02, 1e-12);
    ck_assert_double_eq_tol(st[3].mean, 0.62, 1e-12);
    ck_assert_int_eq(mt_sweep_best_momentum(&s, st, 0), 1);
    ck_assert_int_eq(mt_sweep_best_momentum(&s, st, 1), 0);

    char p[512];
    snprintf(p, sizeof p, "%s/results.csv", tmpdir);
    ck_assert_int_eq(mt_sweep_results_write_csv(p, r, mt_sweep_cell_count(&s)), MT_OK);
    char *csv = file_read(p, NULL);
    ck_assert_ptr_nonnull(csv);
    int lines = 0;
    for (char *c = csv; *c; c++)
        lines += *c == '\n';
    ck_assert_int_eq(lines, 1 + 12);
    ck_assert_msg(strncmp(csv, MT_SWEEP_RESULTS_HEADER "\n", strlen(MT_SWEEP_RESULTS_HEADER) + 1) == 0,
                  "header: %.200s", csv);
    ck_assert_msg(strstr(csv, "\nw4_mu0.1_r2,4,0.1,msgd,,async,,2,8,0.740000,0.970000,0.700000,"
                              "0.970000,3,4,4,,,200.0,10.00,,completed\n"),
                  "csv:\n%s", csv);
    ck_assert_msg(strstr(csv, "\nw1_mu0.9_r2,4,") == NULL && strstr(csv, ",diverged\n") &&
                      strstr(csv, ",pending\n"),
                  "csv:\n%s", csv);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    mt_sweep_table_print(f, &s, st, 0);
    fclose(f);
    ck_assert_msg(strstr(text, "82.00 ± 2.00") && strstr(text, "90.00* (1 div.) (1 to run)") &&
                      strstr(text, "72.00 ± 2.00*") && strstr(text, "62.00 ± 2.00"),
                  "table:\n%s", text);
    /* The best momentum column: 0.9 for one worker, 0.1 for four. */
    ck_assert_msg(strstr(text, "(1 to run)  0.9\n") && strstr(text, "62.00 ± 2.00  0.1\n"),
                  "table:\n%s", text);
    free(text);
    free(csv);
    mt_sweep_results_free(r, mt_sweep_cell_count(&s));
    mt_sweep_spec_free(&s);
}
END_TEST

/* A cell's seconds from a trial's costs, by hand: start-up, the epochs left
 * times their steps, an evaluation every eval_every epochs plus the first,
 * and the final test pass. */
START_TEST(test_estimate_cell_seconds_and_durations)
{
    mt_sweep_cost c = {0};
    c.step_seconds = 0.125;
    c.startup_seconds = 4;
    c.eval_seconds = 2;
    c.test_seconds = 3;
    c.epochs = 10;
    c.steps_per_epoch = 100;
    c.eval_every = 3;
    /* 4 + 10*100*0.125 + (10/3 + 1)*2 + 3 = 4 + 125 + 8 + 3 */
    ck_assert_double_eq(mt_sweep_cost_cell(&c, 0), 140.0);
    /* 6 done: 4 + 4*100*0.125 + (4/3 + 1)*2 + 3 = 4 + 50 + 4 + 3 */
    ck_assert_double_eq(mt_sweep_cost_cell(&c, 6), 61.0);
    /* all done (or more, from an older grid): start-up, one evaluation, test */
    ck_assert_double_eq(mt_sweep_cost_cell(&c, 12), 9.0);
    c.eval_every = 0; /* evaluation only at the end */
    ck_assert_double_eq(mt_sweep_cost_cell(&c, 0), 134.0);

    static const struct {
        double seconds;
        const char *text;
    } durations[] = {{0, "0 s"},           {0.2, "1 s"},           {40, "40 s"},
                     {59.5, "60 s"},       {60, "1 min 00 s"},     {95, "1 min 35 s"},
                     {725, "12 min 05 s"}, {3600, "1 h 00 min"},   {12000, "3 h 20 min"},
                     {86400, "1 d 0 h"},   {6 * 86400 + 7300, "6 d 2 h"},
                     {-1, "?"},            {INFINITY, "?"},        {NAN, "?"}};
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        char buf[32];
        mt_sweep_format_duration(buf, sizeof buf, durations[i].seconds);
        ck_assert_msg(strcmp(buf, durations[i].text) == 0, "%g s reads '%s', want '%s'",
                      durations[i].seconds, buf, durations[i].text);
    }
}
END_TEST

/* ---- the method axis and momentum auto ------------------------------------ */

/* workers {2, 4} x momentum {0.5, auto} x methods {msgd, dana} x 2 repeats,
 * delay mode. */
static void methods_spec(mt_sweep_spec *s)
{
    mt_sweep_spec_init(s);
    s->n_workers = 2;
    s->workers[0] = 2;
    s->workers[1] = 4;
    s->n_momentum = 2;
    s->momentum[0] = 0.5;
    s->momentum[1] = MT_SWEEP_MU_AUTO;
    s->n_methods = 2;
    s->methods[0] = MT_METHOD_MSGD;
    s->methods[1] = MT_METHOD_DANA;
    s->repeats = 2;
    snprintf(s->mode, sizeof s->mode, "delay");
}

START_TEST(test_method_axis_cells_and_argv)
{
    mt_sweep_spec s;
    methods_spec(&s);
    ck_assert_int_eq(mt_sweep_spec_check(&s), MT_OK);
    ck_assert_int_eq(mt_sweep_cell_count(&s), 16);
    /* Repeat-major, then workers, then momentum, the method innermost; msgd
     * keeps the names of sweeps made before the axis. */
    static const char *const want[8] = {"w2_mu0.5_r1",    "w2_mu0.5_dana_r1",
                                        "w2_muauto_r1",   "w2_muauto_dana_r1",
                                        "w4_mu0.5_r1",    "w4_mu0.5_dana_r1",
                                        "w4_muauto_r1",   "w4_muauto_dana_r1"};
    for (int i = 0; i < 16; i++) {
        mt_sweep_cell c;
        mt_sweep_cell_at(&s, i, &c);
        char name[64];
        snprintf(name, sizeof name, "%.*s%d", (int)strlen(want[i % 8]) - 1, want[i % 8],
                 1 + i / 8);
        ck_assert_str_eq(c.name, name);
        ck_assert_int_eq(c.method, i % 2 ? MT_METHOD_DANA : MT_METHOD_MSGD);
        ck_assert_int_eq(mt_sweep_mu_is_auto(c.momentum), i / 2 % 2);
        ck_assert_int_eq(c.repeat, 1 + i / 8);
    }
    char got[2048];
    joined_argv(&s, 0, got, sizeof got);
    ck_assert_str_eq(got, "--workers 2 --mode delay --delay 1 --momentum 0.5 --seed 1 "
                          "--threads 2 --progress plain --out d/cell");
    joined_argv(&s, 7, got, sizeof got);
    ck_assert_str_eq(got, "--workers 4 --mode delay --delay 3 --method dana --momentum auto "
                          "--seed 1 --threads 2 --progress plain --out d/cell");
    char buf[128];
    mt_sweep_format_momenta(buf, sizeof buf, s.momentum, s.n_momentum);
    ck_assert_str_eq(buf, "0.5,auto");
    mt_sweep_format_methods(buf, sizeof buf, s.methods, s.n_methods);
    ck_assert_str_eq(buf, "msgd,dana");
    /* One method: the cells of a sweep without the axis. */
    s.n_methods = 1;
    s.methods[0] = MT_METHOD_DC_ASGD;
    mt_sweep_cell c;
    mt_sweep_cell_at(&s, 7, &c);
    ck_assert_str_eq(c.name, "w4_muauto_dc-asgd_r2");
    mt_sweep_spec_free(&s);
}
END_TEST

START_TEST(test_method_axis_check_and_json)
{
    mt_sweep_spec s, b;
    methods_spec(&s);
    s.methods[1] = MT_METHOD_MSGD;
    ck_assert_int_eq(mt_sweep_spec_check(&s), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "--method: msgd is listed twice"), "%s", mt_errmsg());
    s.methods[1] = MT_METHOD_DANA;
    s.momentum[0] = MT_SWEEP_MU_AUTO;
    ck_assert_int_eq(mt_sweep_spec_check(&s), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "--momentum: auto is listed twice"), "%s", mt_errmsg());
    s.momentum[0] = 0.5;
    snprintf(s.mode, sizeof s.mode, "sync");
    ck_assert_int_eq(mt_sweep_spec_check(&s), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "--method: dana is not defined in sync mode"), "%s",
                  mt_errmsg());
    snprintf(s.mode, sizeof s.mode, "delay");

    /* sweep.json round trip: auto stays auto, the methods their names. */
    ck_assert_int_eq(mt_sweep_spec_save(tmpdir, &s), MT_OK);
    char p[512];
    snprintf(p, sizeof p, "%s/sweep.json", tmpdir);
    char *text = file_read(p, NULL);
    ck_assert_msg(strstr(text, "\"auto\"") && strstr(text, "\"dana\""), "%s", text);
    free(text);
    ck_assert_int_eq(mt_sweep_spec_load(tmpdir, &b), MT_OK);
    ck_assert_int_eq(mt_sweep_spec_compare(&s, &b), MT_OK);
    ck_assert(mt_sweep_mu_is_auto(b.momentum[1]));
    ck_assert_int_eq(b.n_methods, 2);
    ck_assert_int_eq(b.methods[1], MT_METHOD_DANA);
    b.n_methods = 1;
    ck_assert_int_eq(mt_sweep_spec_compare(&s, &b), MT_ERR_ARG);
    ck_assert_msg(strstr(mt_errmsg(), "--method: the sweep has msgd,dana, the command gives msgd"),
                  "%s", mt_errmsg());
    mt_sweep_spec_free(&b);

    /* A sweep.json from before the axis (no methods): msgd. */
    FILE *f = fopen(p, "w");
    fputs("{\"workers\": [1, 2], \"momentum\": [0.5, 0.9], \"repeats\": 1, \"seed\": \"1\", "
          "\"mode\": \"delay\", \"delay\": -1, \"train_flags\": []}\n",
          f);
    fclose(f);
    ck_assert_int_eq(mt_sweep_spec_load(tmpdir, &b), MT_OK);
    ck_assert_int_eq(b.n_methods, 1);
    ck_assert_int_eq(b.methods[0], MT_METHOD_MSGD);
    mt_sweep_cell c;
    mt_sweep_cell_at(&b, 3, &c);
    ck_assert_str_eq(c.name, "w2_mu0.9_r1");
    mt_sweep_spec_free(&b);
    /* Unknown methods and momenta are refused naming the file. */
    f = fopen(p, "w");
    fputs("{\"workers\": [1], \"momentum\": [\"fast\"], \"repeats\": 1, \"seed\": \"1\", "
          "\"mode\": \"delay\", \"delay\": -1, \"train_flags\": []}\n",
          f);
    fclose(f);
    ck_assert_int_eq(mt_sweep_spec_load(tmpdir, &b), MT_ERR_FORMAT);
    ck_assert_msg(strstr(mt_errmsg(), "sweep.json: momentum[0]"), "%s", mt_errmsg());
    f = fopen(p, "w");
    fputs("{\"workers\": [1], \"momentum\": [0.5], \"methods\": [\"adam\"], \"repeats\": 1, "
          "\"seed\": \"1\", \"mode\": \"delay\", \"delay\": -1, \"train_flags\": []}\n",
          f);
    fclose(f);
    ck_assert_int_eq(mt_sweep_spec_load(tmpdir, &b), MT_ERR_FORMAT);
    ck_assert_msg(strstr(mt_errmsg(), "sweep.json: methods[0]"), "%s", mt_errmsg());
    /* Counts beyond the flags' limits are refused before any cell is counted
     * (614,327,182 repeats overflowed the cell count). */
    const char *huge[] = {"\"workers\": [1], \"repeats\": 614327182, \"delay\": -1",
                          "\"workers\": [4294967297], \"repeats\": 1, \"delay\": -1",
                          "\"workers\": [1], \"repeats\": 1, \"delay\": 9999999999"};
    const char *named[] = {"sweep.json: repeats is 614327182", "sweep.json: workers[0] is 4294967297",
                           "sweep.json: delay is 9999999999"};
    for (int k = 0; k < 3; k++) {
        f = fopen(p, "w");
        fprintf(f, "{%s, \"momentum\": [0.5], \"seed\": \"1\", \"mode\": \"delay\", \"train_flags\": []}\n",
                huge[k]);
        fclose(f);
        ck_assert_int_eq(mt_sweep_spec_load(tmpdir, &b), MT_ERR_FORMAT);
        ck_assert_msg(strstr(mt_errmsg(), named[k]), "%s", mt_errmsg());
    }
    mt_sweep_spec_free(&s);
}
END_TEST

/* A finished cell whose log.csv records the momentum used (2 epochs). */
static void write_method_cell(const char *name, double top1, double mu1, double mu2)
{
    write_completed(name, top1);
    char log[512];
    snprintf(log, sizeof log,
             "epoch,eval_loss,eval_top1,eval_top5,momentum\n1,1.0,0.5,0.9,%g\n2,0.9,%.17g,0.95,"
             "%g\n",
             mu1, top1, mu2);
    write_file(tmpdir, name, "log.csv", log);
}

START_TEST(test_methods_table_and_csv)
{
    mt_sweep_spec s;
    methods_spec(&s);
    /* Final top-1 per (method, W, mu), repeats 1 and 2:
     *   msgd W=2: 0.5 -> 0.80, 0.82 (mean 0.81); auto -> 0.76, 0.78 (0.77)
     *   msgd W=4: 0.5 -> 0.70, 0.72 (0.71);      auto -> 0.73, 0.75 (0.74)
     *   dana W=2: 0.5 -> 0.84, 0.86 (0.85);      auto -> 0.80, 0.80 (0.80)
     *   dana W=4: 0.5 -> 0.75, 0.79 (0.77);      auto -> one repeat diverged, 0.70.
     * auto's log: mu 0.4 then 0.5 at W = 2 (mean 0.45), 0.2 and 0.1 at W = 4. */
    const double acc[2][8] = {{0.80, 0.84, 0.76, 0.80, 0.70, 0.75, 0.73, -1},
                              {0.82, 0.86, 0.78, 0.80, 0.72, 0.79, 0.75, 0.70}};
    for (int i = 0; i < mt_sweep_cell_count(&s); i++) {
        mt_sweep_cell c;
        mt_sweep_cell_at(&s, i, &c);
        double a = acc[c.repeat - 1][i % 8];
        int w4 = c.workers == 4;
        if (a < 0)
            write_file(tmpdir, c.name, "final.json", "{\"status\": \"diverged\"}");
        else if (mt_sweep_mu_is_auto(c.momentum))
            write_method_cell(c.name, a, w4 ? 0.2 : 0.4, w4 ? 0.1 : 0.5);
        else
            write_method_cell(c.name, a, 0.5, 0.5);
    }
    mt_sweep_result *r;
    int n = mt_sweep_cell_count(&s);
    ck_assert_int_eq(mt_sweep_results_read(&s, tmpdir, &r), MT_OK);
    ck_assert_int_eq(mt_sweep_stat_count(&s), 8);
    mt_sweep_stat st[8];
    mt_sweep_stats(&s, r, st);
    const mt_sweep_stat *msgd = mt_sweep_stats_of(&s, st, 0), *dana = mt_sweep_stats_of(&s, st, 1);
    ck_assert_int_eq(msgd[1].method, MT_METHOD_MSGD);
    ck_assert_int_eq(dana[1].method, MT_METHOD_DANA);
    ck_assert_double_eq_tol(msgd[1].mean, 0.77, 1e-12);
    ck_assert_double_eq_tol(msgd[1].used, 0.45, 1e-12);
    ck_assert_double_eq_tol(dana[2].mean, 0.77, 1e-12);
    ck_assert_int_eq(dana[3].n, 1);
    ck_assert_int_eq(dana[3].diverged, 1);
    ck_assert_double_eq_tol(dana[3].used, 0.15, 1e-12);
    /* Best (auto included) and best fixed: msgd W=4 is auto's. */
    ck_assert_int_eq(mt_sweep_best_momentum(&s, msgd, 1), 1);
    ck_assert_int_eq(mt_sweep_best_fixed_momentum(&s, msgd, 1), 0);
    ck_assert_int_eq(mt_sweep_best_momentum(&s, dana, 0), 0);
    ck_assert_int_eq(mt_sweep_auto_index(&s), 1);

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    mt_sweep_table_print(f, &s, st, 0);
    mt_sweep_methods_table_print(f, &s, st, 0);
    fclose(f);
    ck_assert_msg(strstr(text, "method msgd:\n") && strstr(text, "method dana:\n") &&
                      strstr(text, "mu=auto"),
                  "tables:\n%s", text);
    /* Best per method: msgd 81.00 ± 1.41 (0.5) at W = 2, 74.00 ± 1.41 (auto)
     * at W = 4; dana 85.00 ± 1.41 (0.5), 77.00 ± 2.83 (0.5). */
    ck_assert_msg(strstr(text, "81.00 ± 1.41 (0.5)") && strstr(text, "74.00 ± 1.41 (auto)") &&
                      strstr(text, "85.00 ± 1.41 (0.5)") && strstr(text, "77.00 ± 2.83 (0.5)"),
                  "tables:\n%s", text);
    /* auto - best fixed: msgd -4.00 and +3.00, dana -5.00 and -7.00, with
     * auto's mean mu and the best fixed one. */
    ck_assert_msg(strstr(text, "-4.00 (0.45 vs 0.5)") && strstr(text, "+3.00 (0.15 vs 0.5)") &&
                      strstr(text, "-5.00 (0.45 vs 0.5)") && strstr(text, "-7.00 (0.15 vs 0.5)"),
                  "tables:\n%s", text);
    free(text);

    char p[512];
    snprintf(p, sizeof p, "%s/results.csv", tmpdir);
    ck_assert_int_eq(mt_sweep_results_write_csv(p, r, n), MT_OK);
    char *csv = file_read(p, NULL);
    /* auto: an empty momentum, the mean it used in momentum_used. */
    ck_assert_msg(strstr(csv, "\nw4_muauto_dana_r2,4,,dana,0.15,delay,3,2,2,0.700000,"), "%s", csv);
    ck_assert_msg(strstr(csv, "\nw2_mu0.5_r1,2,0.5,msgd,0.5,delay,1,1,1,0.800000,"), "%s", csv);
    free(csv);

    /* report.md and the figures: one set per method and the overlay. */
    int figures = 0;
    ck_assert_int_eq(mt_sweep_report_write(tmpdir, &s, r, &figures), MT_OK);
    ck_assert_int_eq(figures, 2 * (2 + 2) + 1);
    static const char *const pngs[] = {"accuracy_vs_momentum_msgd.png", "heatmap_dana.png",
                                       "epochs_w4_dana.png", "methods_vs_workers.png"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, pngs[i]);
        ck_assert_msg(access(p, F_OK) == 0, "%s missing", pngs[i]);
    }
    snprintf(p, sizeof p, "%s/report.md", tmpdir);
    char *md = file_read(p, NULL);
    ck_assert_msg(strstr(md, "## The methods compared") && strstr(md, "### dana") &&
                      strstr(md, "| 4 | 74.00 ± 1.41 (auto) | 77.00 ± 2.83 (0.5) |") &&
                      strstr(md, "(methods_vs_workers.png)"),
                  "%s", md);
    free(md);
    mt_sweep_results_free(r, n);
    mt_sweep_spec_free(&s);
}
END_TEST

static Suite *sweep_suite(void)
{
    Suite *s = suite_create("sweep");
    TCase *tc = tcase_create("grid");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_cells_order_names_seeds);
    tcase_add_test(tc, test_train_argv);
    tcase_add_test(tc, test_spec_json_round_trip_and_compare);
    tcase_add_test(tc, test_spec_check);
    suite_add_tcase(s, tc);
    tc = tcase_create("results");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_result_from_run_directory);
    tcase_add_test(tc, test_stats_csv_and_table);
    tcase_add_test(tc, test_estimate_cell_seconds_and_durations);
    suite_add_tcase(s, tc);
    tc = tcase_create("methods");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_method_axis_cells_and_argv);
    tcase_add_test(tc, test_method_axis_check_and_json);
    tcase_add_test(tc, test_methods_table_and_csv);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(sweep_suite)
