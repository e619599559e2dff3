/* test_plot.c: the PNG figures: written, valid PNGs of the requested size
 * (read back with libpng), with the expected colours where it can be told
 * (series, marked cells), gaps for NaN, and errors for unwritable paths and
 * figures with nothing to draw, a full disk. Also two threads drawing at once.
 */
#include "core/status.h"
#include "plot/plot.h"
#include "tests/check_main.h"
#include "tests/png_check.h"
#include "tests/tool_run.h"

#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static void setup(void) { tmp_dir_make(tmpdir, sizeof tmpdir, "plot"); }

static void teardown(void) { tmp_dir_remove(tmpdir); }

START_TEST(line_chart_is_a_png_of_the_requested_size)
{
    double x[20], y1[20], y2[20], lo[20], hi[20];
    for (int i = 0; i < 20; i++) {
        x[i] = i;
        y1[i] = 0.01 * exp(0.2 * i);
        y2[i] = 0.5 / (1 + i);
        lo[i] = 0.7 * y1[i];
        hi[i] = 1.3 * y1[i];
    }
    y1[7] = NAN;  /* a gap */
    y2[3] = -1.0; /* not drawable on a log axis */
    mt_plot_series s[2] = {
        {.name = "rising", .n = 20, .x = x, .y = y1, .lo = lo, .hi = hi, .markers = 1},
        {.name = "falling", .n = 20, .x = x, .y = y2, .dashed = 1},
    };
    mt_plot_lines_opts o = {.title = "a test", .xlabel = "x", .ylabel = "y", .width = 640, .height = 480,
                            .log_y = 1, .ymin = NAN, .ymax = NAN, .legend_title = "series"};
    const char *path = tmp_path("lines.png");
    ck_assert_int_eq(mt_plot_lines(path, &o, s, 2), MT_OK);
    png_rgb im;
    ck_assert_int_eq(png_rgb_read(path, &im), 0);
    ck_assert_int_eq(im.width, 640);
    ck_assert_int_eq(im.height, 480);
    /* A white page with both series' colours on it. */
    ck_assert_int_gt(png_rgb_count_color(&im, 0xFFFFFF, 0), 640 * 480 / 3);
    ck_assert_int_gt(png_rgb_count_color(&im, mt_plot_color(0), 24), 100);
    ck_assert_int_gt(png_rgb_count_color(&im, mt_plot_color(1), 24), 50);
    free(im.rgb);

    /* Error bars, linear axes, a fixed range and another size. */
    o.spread = MT_PLOT_SPREAD_BARS;
    o.log_y = 0;
    o.ymin = 0;
    o.ymax = 1;
    o.width = 300;
    o.height = 200;
    o.legend = MT_PLOT_LEGEND_TOP_LEFT;
    ck_assert_int_eq(mt_plot_lines(path, &o, s, 2), MT_OK);
    ck_assert_int_eq(png_rgb_read(path, &im), 0);
    ck_assert_int_eq(im.width, 300);
    ck_assert_int_eq(im.height, 200);
    free(im.rgb);
}
END_TEST

START_TEST(line_chart_errors)
{
    double x[3] = {1, 2, 3}, nan3[3] = {NAN, NAN, NAN}, neg[3] = {-1, 0, -2};
    mt_plot_series s = {.name = "s", .n = 3, .x = x, .y = nan3};
    mt_plot_lines_opts o = {.ymin = NAN, .ymax = NAN};
    ck_assert_int_eq(mt_plot_lines(tmp_path("nan.png"), &o, &s, 1), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "no finite"));
    s.y = neg;
    o.log_y = 1;
    ck_assert_int_eq(mt_plot_lines(tmp_path("neg.png"), &o, &s, 1), MT_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "positive"));
    o.log_y = 0; /* the same values are fine on a linear axis */
    ck_assert_int_eq(mt_plot_lines(tmp_path("neg.png"), &o, &s, 1), MT_OK);
    ck_assert_int_eq(mt_plot_lines(tmp_path("none.png"), &o, &s, 0), MT_ERR_ARG);
    ck_assert_int_eq(mt_plot_lines("no/such/dir/x.png", &o, &s, 1), MT_ERR_IO);
    ck_assert_ptr_nonnull(strstr(mt_errmsg(), "no/such/dir/x.png"));
    s.lo = x; /* lo without hi */
    ck_assert_int_eq(mt_plot_lines(tmp_path("lo.png"), &o, &s, 1), MT_ERR_ARG);
    /* A single point and a constant series still make a figure. */
    mt_plot_series one = {.name = "one", .n = 1, .x = x, .y = x};
    ck_assert_int_eq(mt_plot_lines(tmp_path("one.png"), &o, &one, 1), MT_OK);
    o.width = 20;
    ck_assert_int_eq(mt_plot_lines(tmp_path("tiny.png"), &o, &one, 1), MT_ERR_ARG);
}
END_TEST

/* A full disk (simulated: no file may grow past 4 kB) while a figure is
 * written: cairo does not report it, the figure does: MT_ERR_IO naming the
 * file and the error, and the figure that was there before is kept. */
START_TEST(full_disk_is_reported_and_keeps_the_old_figure)
{
    double x[3] = {1, 2, 3}, y[3] = {0.5, 0.25, 0.125};
    mt_plot_series s = {.name = "s", .n = 3, .x = x, .y = y};
    mt_plot_lines_opts o = {.title = "full", .width = 640, .height = 480, .ymin = NAN, .ymax = NAN};
    const char *path = tmp_path("full.png");
    ck_assert_int_eq(mt_plot_lines(path, &o, &s, 1), MT_OK);
    long size;
    char *before = file_read_checked(path, &size);
    ck_assert_int_gt(size, 4096);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit lim = {4096, 4096};
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &lim);
        y[0] = 0.75; /* another figure, so an old file could not pass for it */
        int rc = mt_plot_lines(path, &o, &s, 1);
        int named = strstr(mt_errmsg(), path) && strstr(mt_errmsg(), "File too large");
        if (!named)
            fprintf(stderr, "message: %s\n", mt_errmsg());
        _exit(rc == MT_ERR_IO && named ? 0 : 1);
    }
    ck_assert_int_eq(tool_wait(pid), 0);
    long after_size;
    char *after = file_read_checked(path, &after_size);
    ck_assert_int_eq(after_size, size);
    ck_assert(memcmp(before, after, (size_t)size) == 0);
    ck_assert_int_ne(access(tmp_path("full.png.tmp"), F_OK), 0);
    free(before);
    free(after);
}
END_TEST

START_TEST(heat_map_marks_and_missing_cells)
{
    enum { R = 3, C = 4 };
    double v[R * C];
    for (int i = 0; i < R * C; i++)
        v[i] = i * 1.5;
    v[5] = NAN;
    unsigned char marked[R * C] = {0};
    const char *rows[R] = {"1 worker", "4 workers", "16 workers"};
    const char *cols[C] = {"0", "0.5", "0.9", "0.99"};
    mt_plot_heatmap_opts o = {.title = "heat", .xlabel = "momentum", .ylabel = "workers",
                              .value_label = "accuracy", .row_labels = rows, .col_labels = cols,
                              .format = "%.1f", .width = 500, .height = 400, .vmin = NAN, .vmax = NAN};
    const char *path = tmp_path("heat.png");
    ck_assert_int_eq(mt_plot_heatmap(path, &o, v, R, C, marked), MT_OK);
    png_rgb im;
    ck_assert_int_eq(png_rgb_read(path, &im), 0);
    ck_assert_int_eq(im.width, 500);
    ck_assert_int_eq(im.height, 400);
    const unsigned mark = 0xE8175D, missing = 0xC8C8C8, low = 0x440154, high = 0xFDE725;
    ck_assert_int_eq(png_rgb_count_color(&im, mark, 10), 0);
    ck_assert_int_gt(png_rgb_count_color(&im, missing, 2), 1000); /* the NaN cell */
    ck_assert_int_gt(png_rgb_count_color(&im, low, 6), 1000);     /* the lowest cell, viridis' dark end */
    ck_assert_int_gt(png_rgb_count_color(&im, high, 6), 1000);    /* the highest cell, its bright end */
    free(im.rgb);

    marked[0] = marked[7] = 1;
    ck_assert_int_eq(mt_plot_heatmap(path, &o, v, R, C, marked), MT_OK);
    ck_assert_int_eq(png_rgb_read(path, &im), 0);
    ck_assert_int_gt(png_rgb_count_color(&im, mark, 10), 200);
    free(im.rgb);

    double all_nan[2] = {NAN, NAN};
    ck_assert_int_eq(mt_plot_heatmap(tmp_path("nan.png"), &o, all_nan, 1, 2, NULL), MT_ERR_ARG);
    ck_assert_int_eq(mt_plot_heatmap("no/such/dir/h.png", &o, v, R, C, NULL), MT_ERR_IO);
    ck_assert_int_eq(mt_plot_heatmap(tmp_path("zero.png"), &o, v, 0, C, NULL), MT_ERR_ARG);
    /* One value, default labels, no text in cells. */
    double one = 3;
    mt_plot_heatmap_opts plain = {.format = "", .vmin = NAN, .vmax = NAN};
    ck_assert_int_eq(mt_plot_heatmap(tmp_path("one.png"), &plain, &one, 1, 1, NULL), MT_OK);
}
END_TEST

static void *draw_many(void *arg)
{
    int id = *(int *)arg;
    double x[4] = {0, 1, 2, 3}, y[4] = {1, 3, 2, 4};
    mt_plot_series s = {.name = "s", .n = 4, .x = x, .y = y};
    mt_plot_lines_opts o = {.width = 200 + 10 * id, .height = 150, .ymin = NAN, .ymax = NAN};
    for (int k = 0; k < 3; k++) {
        char name[64];
        snprintf(name, sizeof name, "thread%d-%d.png", id, k);
        char path[600];
        snprintf(path, sizeof path, "%s/%s", tmpdir, name);
        if (mt_plot_lines(path, &o, &s, 1) != MT_OK)
            return (void *)1;
        png_rgb im;
        if (png_rgb_read(path, &im) != 0 || im.width != 200 + 10 * id || im.height != 150) {
            free(im.rgb);
            return (void *)1;
        }
        free(im.rgb);
    }
    return NULL;
}

START_TEST(figures_from_two_threads)
{
    pthread_t t[2];
    int ids[2] = {0, 1};
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, draw_many, &ids[i]), 0);
    for (int i = 0; i < 2; i++) {
        void *bad;
        pthread_join(t[i], &bad);
        ck_assert_ptr_null(bad);
    }
}
END_TEST

static Suite *plot_suite(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("plot");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, line_chart_is_a_png_of_the_requested_size);
    tcase_add_test(tc, line_chart_errors);
    tcase_add_test(tc, full_disk_is_reported_and_keeps_the_old_figure);
    tcase_add_test(tc, heat_map_marks_and_missing_cells);
    tcase_add_test(tc, figures_from_two_threads);
    suite_add_tcase(s, tc);
    return s;
}

MT_CHECK_MAIN(plot_suite)
