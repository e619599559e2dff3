/* run_report.c: the figures and report.md of one run (see run_report.h). */
#include "sweep/run_report.h"

#include "core/status.h"
#include "plot/plot.h"
#include "sweep/csv.h"
#include "trainer/rundir.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the report says about the run, read from its files. */
typedef struct {
    const char *dir, *out;
    json_t *config, *final;  /* final: NULL while the run has not ended */
    mt_csv log, steps;       /* steps.rows == 0: no steps.csv */
    char split[16];          /* the evaluated split: "test", "val", ... */
    char what[256];          /* "resnet8 width 16, 4 classes ... on syn" */
    int figures;
    char names[4][32];       /* the figures written, in order */
} run;

static int exists(const char *dir, const char *name)
{
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

int mt_run_report_is_run(const char *dir)
{
    return exists(dir, "config.json") && exists(dir, "log.csv");
}

static const char *split_title(const char *split)
{
    return strcmp(split, "val") == 0 ? "validation" : split;
}

/* The split the log's evaluation columns hold: config.json's eval_split,
 * else the prefix of the first *_top1 column. */
static void find_split(run *r)
{
    const char *s = json_string_value(json_object_get(json_object_get(r->config, "data"), "eval_split"));
    int c = mt_csv_col_ending(&r->log, "_top1");
    if (s)
        snprintf(r->split, sizeof r->split, "%s", s);
    else if (c >= 0)
        snprintf(r->split, sizeof r->split, "%.*s", (int)strcspn(r->log.names[c], "_"),
                 r->log.names[c]);
    else
        snprintf(r->split, sizeof r->split, "evaluation");
}

static int read_run(run *r)
{
    int rc = mt_rundir_read_json(r->dir, "config.json", &r->config);
    if (rc != MT_OK)
        return rc;
    if (exists(r->dir, "final.json") && (rc = mt_rundir_read_json(r->dir, "final.json", &r->final)))
        return rc;
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/log.csv", r->dir);
    if ((rc = mt_csv_read(p, &r->log)) != MT_OK)
        return rc;
    if (mt_csv_col(&r->log, "epoch") < 0)
        return mt_error(MT_ERR_FORMAT, "%s: no epoch column", p);
    snprintf(p, sizeof p, "%s/steps.csv", r->dir);
    if (exists(r->dir, "steps.csv") && (rc = mt_csv_read(p, &r->steps)) != MT_OK)
        return rc;
    static const char *const steps_cols[] = {"step", "epoch", "lr", "loss", "tau_mean",
                                             "images_per_s"};
    for (int i = 0; i < 6 && r->steps.cols; i++)
        if (mt_csv_col(&r->steps, steps_cols[i]) < 0)
            return mt_error(MT_ERR_FORMAT, "%s: no %s column", p, steps_cols[i]);
    find_split(r);
    json_t *model = json_object_get(r->config, "model");
    const char *desc = json_string_value(json_object_get(model, "description"));
    const char *data = json_string_value(json_object_get(json_object_get(r->config, "data"), "dir"));
    snprintf(r->what, sizeof r->what, "%s on %s", desc ? desc : "?", data ? data : "?");
    return MT_OK;
}

/* Column `name` of t as a new array (scaled by `scale`), or NULL. */
static double *column(const mt_csv *t, const char *name, double scale)
{
    int c = mt_csv_col(t, name);
    if (c < 0 || t->rows == 0)
        return NULL;
    double *v = malloc((size_t)t->rows * sizeof *v);
    for (int i = 0; v && i < t->rows; i++)
        v[i] = scale * mt_csv_at(t, i, c);
    return v;
}

/* One figure of the series that exist (y != NULL), against x. */
static int figure(run *r, const char *file, const mt_plot_lines_opts *o, mt_plot_series *s,
                  int ns)
{
    int n = 0;
    for (int i = 0; i < ns; i++)
        if (s[i].y && s[i].x)
            s[n++] = s[i];
    if (n == 0)
        return MT_OK;
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", r->out, file);
    int rc = mt_plot_lines(path, o, s, n);
    if (rc == MT_OK)
        snprintf(r->names[r->figures++], sizeof r->names[0], "%s", file);
    /* A log without a single finished evaluation has nothing to draw yet. */
    return rc == MT_ERR_ARG ? MT_OK : rc;
}

static int plot_epochs(run *r)
{
    /* The evaluation columns: <split>_top1 and <split>_loss, else the first
     * *_top1 column and the loss of its prefix. */
    char eval_loss[64], eval_top1[64], title[512];
    const mt_csv *t = &r->log;
    snprintf(eval_top1, sizeof eval_top1, "%s_top1", r->split);
    int c = mt_csv_col(t, eval_top1) >= 0 ? mt_csv_col(t, eval_top1) : mt_csv_col_ending(t, "_top1");
    if (c >= 0)
        snprintf(eval_top1, sizeof eval_top1, "%s", t->names[c]);
    snprintf(eval_loss, sizeof eval_loss, "%.*s_loss", (int)(strlen(eval_top1) - 5), eval_top1);
    double *ep = column(t, "epoch", 1), *tl = column(t, "train_loss", 1),
           *el = column(t, eval_loss, 1), *ta = column(t, "train_acc", 100),
           *ea = column(t, eval_top1, 100);
    int n = t->rows, markers = n <= 30;
    mt_plot_series loss[2] = {
        {.name = "train (epoch mean)", .n = n, .x = ep, .y = tl, .markers = markers},
        {.name = split_title(r->split), .n = n, .x = ep, .y = el, .markers = markers}};
    snprintf(title, sizeof title, "Loss per epoch: train and %s split (%s)", split_title(r->split),
             r->what);
    mt_plot_lines_opts o = {.title = title, .xlabel = "epoch", .ylabel = "cross-entropy loss",
                            .ymin = NAN, .ymax = NAN, .legend = MT_PLOT_LEGEND_RIGHT,
                            .integer_x = 1};
    int rc = figure(r, "loss.png", &o, loss, 2);
    mt_plot_series acc[2] = {
        {.name = "train (epoch, augmented)", .n = n, .x = ep, .y = ta, .markers = markers},
        {.name = split_title(r->split), .n = n, .x = ep, .y = ea, .markers = markers}};
    snprintf(title, sizeof title, "Top-1 accuracy per epoch: train and %s split (%s)",
             split_title(r->split), r->what);
    o.ylabel = "top-1 (%)";
    if (rc == MT_OK)
        rc = figure(r, "accuracy.png", &o, acc, 2);
    free(ep), free(tl), free(el), free(ta), free(ea);
    return rc;
}

static int plot_steps(run *r)
{
    if (r->steps.rows == 0)
        return MT_OK;
    double *step = column(&r->steps, "step", 1), *loss = column(&r->steps, "loss", 1);
    mt_plot_series s = {.name = NULL, .n = r->steps.rows, .x = step, .y = loss};
    char title[512];
    snprintf(title, sizeof title, "Training loss per logged step (steps.csv; %s)", r->what);
    mt_plot_lines_opts o = {.title = title, .xlabel = "step", .ylabel = "training loss (batch)",
                            .ymin = NAN, .ymax = NAN, .integer_x = 1};
    int rc = figure(r, "loss_steps.png", &o, &s, 1);
    free(step), free(loss);
    return rc;
}

/* final.json's staleness.histogram, [[tau, count], ...], as stems. */
static int plot_staleness(run *r)
{
    json_t *h = json_object_get(json_object_get(r->final, "staleness"), "histogram");
    size_t n = json_array_size(h);
    if (n == 0)
        return MT_OK;
    double *tau = malloc(n * sizeof *tau), *count = malloc(n * sizeof *count);
    int rc = tau && count ? MT_OK : mt_error(MT_ERR_NOMEM, "report: out of memory");
    for (size_t i = 0; rc == MT_OK && i < n; i++) {
        json_t *pair = json_array_get(h, i);
        if (json_array_size(pair) != 2 || !json_is_number(json_array_get(pair, 0)) ||
            !json_is_number(json_array_get(pair, 1)))
            rc = mt_error(MT_ERR_FORMAT,
                          "%s/final.json: staleness.histogram[%zu]: expected [tau, count]", r->dir,
                          i);
        else {
            tau[i] = json_number_value(json_array_get(pair, 0));
            count[i] = json_number_value(json_array_get(pair, 1));
        }
    }
    if (rc == MT_OK) {
        mt_plot_series s = {.n = (int)n, .x = tau, .y = count, .stems = 1};
        char title[512];
        snprintf(title, sizeof title, "Staleness of the applied gradients (%s)", r->what);
        mt_plot_lines_opts o = {.title = title, .xlabel = "staleness τ (server steps)",
                                .ylabel = "gradients", .ymin = NAN, .ymax = NAN,
                                .integer_x = 1};
        rc = figure(r, "staleness.png", &o, &s, 1);
    }
    free(tau), free(count);
    return rc;
}

/* final.json's final evaluation as "test top-1 75.00% (top-5 100.00%)". */
static void final_text(const run *r, char *buf, size_t cap)
{
    json_t *f = json_object_get(r->final, "final");
    const char *split = json_string_value(json_object_get(f, "split"));
    if (!json_is_number(json_object_get(f, "top1"))) {
        snprintf(buf, cap, "no final evaluation");
        return;
    }
    snprintf(buf, cap, "final %s top-1 %.2f%% (top-5 %.2f%%)", split ? split : "test",
             100 * json_number_value(json_object_get(f, "top1")),
             100 * json_number_value(json_object_get(f, "top5")));
}

static int write_md(run *r, const char *status, const char *fin)
{
    char path[PATH_MAX + 32], tmp[PATH_MAX + 40];
    snprintf(path, sizeof path, "%s/report.md", r->out);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return mt_error(MT_ERR_IO, "%s: cannot write", tmp);
    fprintf(f, "# Run %s\n\n%s.\n\n", r->dir, r->what);
    fprintf(f, "| | |\n| --- | --- |\n| status | %s |\n| epochs in log.csv | %d |\n"
               "| result | %s |\n| evaluated each epoch | %s split |\n",
            status, r->log.rows, fin, split_title(r->split));
    if (r->steps.rows)
        fprintf(f, "| steps.csv | %d rows |\n", r->steps.rows);
    fprintf(f, "\n");
    for (int i = 0; i < r->figures; i++)
        fprintf(f, "![%s](%s)\n\n", r->names[i], r->names[i]);
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return mt_error(MT_ERR_IO, "%s: write failed", path);
    }
    return MT_OK;
}

int mt_run_report_write(const char *dir, const char *out, FILE *summary, int *figures)
{
    run r = {.dir = dir, .out = out};
    int rc = read_run(&r);
    if (rc == MT_OK)
        rc = plot_epochs(&r);
    if (rc == MT_OK)
        rc = plot_steps(&r);
    if (rc == MT_OK)
        rc = plot_staleness(&r);
    const char *status = json_string_value(json_object_get(r.final, "status"));
    char fin[128];
    final_text(&r, fin, sizeof fin);
    if (rc == MT_OK)
        rc = write_md(&r, status ? status : "running (no final.json yet)", fin);
    if (rc == MT_OK && summary)
        fprintf(summary, "%s: %s; %s, %d epoch%s in log.csv, %s\n", dir, r.what,
                status ? status : "running", r.log.rows, r.log.rows == 1 ? "" : "s", fin);
    *figures = r.figures;
    json_decref(r.config);
    json_decref(r.final);
    mt_csv_free(&r.log);
    mt_csv_free(&r.steps);
    return rc;
}
