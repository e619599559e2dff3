/* report.c: the table, report.md and the figures of a sweep (see report.h). */
#include "sweep/report.h"

#include "core/status.h"
#include "plot/plot.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Display width of a UTF-8 string (one column per character). */
static int text_width(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static void put_padded(FILE *f, const char *s, int width, int right)
{
    int pad = width - text_width(s);
    if (right)
        for (int i = 0; i < pad; i++)
            fputc(' ', f);
    fputs(s, f);
    if (!right)
        for (int i = 0; i < pad; i++)
            fputc(' ', f);
}

/* One table entry: "85.21 ± 0.40*", "85.21 (1 run)", "diverged", "pending". */
static void entry_text(char *buf, size_t cap, const mt_sweep_stat *st, int best)
{
    size_t n;
    if (st->n == 0) {
        snprintf(buf, cap, "%s", st->diverged ? "diverged" : st->other ? "pending" : "-");
        return;
    }
    if (st->n > 1)
        n = (size_t)snprintf(buf, cap, "%.2f ± %.2f", 100 * st->mean, 100 * st->sd);
    else
        n = (size_t)snprintf(buf, cap, "%.2f", 100 * st->mean);
    if (n < cap && best)
        n += (size_t)snprintf(buf + n, cap - n, "*");
    if (n < cap && st->diverged)
        n += (size_t)snprintf(buf + n, cap - n, " (%d div.)", st->diverged);
    if (n < cap && st->other)
        snprintf(buf + n, cap - n, " (%d to run)", st->other);
}

void mt_sweep_table_print(FILE *f, const mt_sweep_spec *s, const mt_sweep_stat *stats,
                          int markdown)
{
    enum { W0 = 8, WC = 15 };
    char buf[96];
    int wc = WC;
    /* Widen the columns to the longest entry. */
    for (int i = 0; i < s->n_workers * s->n_momentum; i++) {
        entry_text(buf, sizeof buf, &stats[i], 1);
        if (text_width(buf) > wc)
            wc = text_width(buf);
    }
    if (markdown) {
        fprintf(f, "| workers |");
        for (int m = 0; m < s->n_momentum; m++)
            fprintf(f, " μ = %g |", s->momentum[m]);
        fprintf(f, " best μ |\n|---:|");
        for (int m = 0; m < s->n_momentum; m++)
            fprintf(f, "---:|");
        fprintf(f, "---:|\n");
    } else {
        put_padded(f, "workers", W0, 0);
        for (int m = 0; m < s->n_momentum; m++) {
            snprintf(buf, sizeof buf, "mu=%g", s->momentum[m]);
            fputs("  ", f);
            put_padded(f, buf, wc, 1);
        }
        fputs("  best mu\n", f);
    }
    for (int w = 0; w < s->n_workers; w++) {
        int best = mt_sweep_best_momentum(s, stats, w);
        snprintf(buf, sizeof buf, "%d", s->workers[w]);
        if (markdown)
            fprintf(f, "| %s |", buf);
        else
            put_padded(f, buf, W0, 0);
        for (int m = 0; m < s->n_momentum; m++) {
            entry_text(buf, sizeof buf, &stats[w * s->n_momentum + m], m == best);
            if (markdown) {
                fprintf(f, " %s |", buf);
            } else {
                fputs("  ", f);
                put_padded(f, buf, wc, 1);
            }
        }
        if (best >= 0)
            snprintf(buf, sizeof buf, "%g", s->momentum[best]);
        else
            snprintf(buf, sizeof buf, "-");
        fprintf(f, markdown ? " %s |\n" : "  %s\n", buf);
    }
}

/* ---- figures ------------------------------------------------------------ */

static int figure_path(char *buf, size_t cap, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) >= cap)
        return mt_error(MT_ERR_ARG, "report: path too long: %s/%s", dir, name);
    return MT_OK;
}

/* Figure 2: one curve per worker count over momentum, bars ± sd. */
static int plot_vs_momentum(const char *dir, const mt_sweep_spec *s, const mt_sweep_stat *stats,
                            const char *subtitle)
{
    int nw = s->n_workers, nm = s->n_momentum;
    double *v = malloc(sizeof(double) * (size_t)(4 * nw * nm));
    mt_plot_series *ser = calloc((size_t)nw, sizeof *ser);
    char(*names)[32] = calloc((size_t)nw, sizeof *names);
    if (!v || !ser || !names) {
        free(v), free(ser), free(names);
        return mt_error(MT_ERR_NOMEM, "report: out of memory");
    }
    double *x = v, *y = v + nw * nm, *lo = y + nw * nm, *hi = lo + nw * nm;
    for (int w = 0; w < nw; w++) {
        for (int m = 0; m < nm; m++) {
            const mt_sweep_stat *st = &stats[w * nm + m];
            int k = w * nm + m;
            x[k] = s->momentum[m];
            y[k] = 100 * st->mean;
            double sd = isfinite(st->sd) ? 100 * st->sd : 0;
            lo[k] = y[k] - sd;
            hi[k] = y[k] + sd;
        }
        snprintf(names[w], sizeof names[w], "%d worker%s", s->workers[w], s->workers[w] == 1 ? "" : "s");
        ser[w] = (mt_plot_series){.name = names[w], .n = nm, .x = x + w * nm, .y = y + w * nm,
                                  .lo = lo + w * nm, .hi = hi + w * nm, .markers = 1};
    }
    char title[256], path[4096];
    snprintf(title, sizeof title, "Test accuracy vs momentum (%s)", subtitle);
    int rc = figure_path(path, sizeof path, dir, "accuracy_vs_momentum.png");
    mt_plot_lines_opts o = {.title = title,
                            .xlabel = "momentum μ",
                            .ylabel = "final test top-1 (%), mean ± sd over repeats",
                            .spread = MT_PLOT_SPREAD_BARS,
                            .ymin = NAN,
                            .ymax = NAN,
                            .legend_title = "workers",
                            .legend = MT_PLOT_LEGEND_RIGHT};
    if (rc == MT_OK)
        rc = mt_plot_lines(path, &o, ser, nw);
    free(v), free(ser), free(names);
    return rc;
}

static int plot_heatmap(const char *dir, const mt_sweep_spec *s, const mt_sweep_stat *stats,
                        const char *subtitle)
{
    int nw = s->n_workers, nm = s->n_momentum;
    double *val = malloc(sizeof(double) * (size_t)(nw * nm));
    unsigned char *mark = calloc((size_t)(nw * nm), 1);
    char(*rl)[24] = calloc((size_t)nw, sizeof *rl), (*cl)[24] = calloc((size_t)nm, sizeof *cl);
    const char **rows = calloc((size_t)nw, sizeof *rows), **cols = calloc((size_t)nm, sizeof *cols);
    int rc = MT_OK;
    if (!val || !mark || !rl || !cl || !rows || !cols)
        rc = mt_error(MT_ERR_NOMEM, "report: out of memory");
    for (int w = 0; rc == MT_OK && w < nw; w++) {
        for (int m = 0; m < nm; m++)
            val[w * nm + m] = 100 * stats[w * nm + m].mean;
        int b = mt_sweep_best_momentum(s, stats, w);
        if (b >= 0)
            mark[w * nm + b] = 1;
        snprintf(rl[w], sizeof rl[w], "W = %d", s->workers[w]);
        rows[w] = rl[w];
    }
    for (int m = 0; rc == MT_OK && m < nm; m++) {
        snprintf(cl[m], sizeof cl[m], "%g", s->momentum[m]);
        cols[m] = cl[m];
    }
    char title[256], path[4096];
    snprintf(title, sizeof title, "Mean test top-1 (%%), best μ outlined (%s)", subtitle);
    if (rc == MT_OK)
        rc = figure_path(path, sizeof path, dir, "heatmap.png");
    mt_plot_heatmap_opts o = {.title = title,
                              .xlabel = "momentum μ",
                              .ylabel = "workers W",
                              .value_label = "final test top-1 (%)",
                              .row_labels = rows,
                              .col_labels = cols,
                              .format = "%.1f",
                              .vmin = NAN,
                              .vmax = NAN};
    if (rc == MT_OK)
        rc = mt_plot_heatmap(path, &o, val, nw, nm, mark);
    free(val), free(mark), free(rl), free(cl), free(rows), free(cols);
    return rc;
}

/* Accuracy per epoch for worker count index w: a curve per momentum, the
 * mean over the repeats that reached each epoch, band ± sd. Diverged repeats
 * are left out, as in the table; unfinished ones count up to where they are. */
static int plot_epochs(const char *dir, const mt_sweep_spec *s, const mt_sweep_result *r, int w,
                       const char *subtitle, int *written)
{
    int nm = s->n_momentum, n = mt_sweep_cell_count(s), max_ep = 0;
    for (int i = 0; i < n; i++)
        if (r[i].cell.workers == s->workers[w] && strcmp(r[i].status, "diverged") != 0)
            for (int k = 0; k < r[i].n_curve; k++)
                if (r[i].curve_epoch[k] > max_ep)
                    max_ep = r[i].curve_epoch[k];
    if (max_ep == 0)
        return MT_OK; /* nothing evaluated yet for this worker count */
    size_t len = (size_t)nm * (size_t)max_ep;
    double *x = malloc(sizeof(double) * len), *y = malloc(sizeof(double) * len),
           *lo = malloc(sizeof(double) * len), *hi = malloc(sizeof(double) * len);
    mt_plot_series *ser = calloc((size_t)nm, sizeof *ser);
    char(*names)[32] = calloc((size_t)nm, sizeof *names);
    int rc = MT_OK;
    if (!x || !y || !lo || !hi || !ser || !names)
        rc = mt_error(MT_ERR_NOMEM, "report: out of memory");
    for (int m = 0; rc == MT_OK && m < nm; m++) {
        for (int e = 0; e < max_ep; e++) {
            double sum = 0, ss = 0;
            int cnt = 0;
            for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < n; i++) {
                    const mt_sweep_result *q = &r[i];
                    if (q->cell.workers != s->workers[w] || q->cell.momentum != s->momentum[m] ||
                        strcmp(q->status, "diverged") == 0)
                        continue;
                    for (int k = 0; k < q->n_curve; k++)
                        if (q->curve_epoch[k] == e + 1 && isfinite(q->curve_top1[k])) {
                            double a = 100 * q->curve_top1[k];
                            if (pass == 0)
                                sum += a, cnt++;
                            else
                                ss += (a - sum / cnt) * (a - sum / cnt);
                        }
                }
            size_t k = (size_t)m * (size_t)max_ep + (size_t)e;
            x[k] = e + 1;
            y[k] = cnt ? sum / cnt : NAN;
            double sd = cnt > 1 ? sqrt(ss / (cnt - 1)) : 0;
            lo[k] = y[k] - sd;
            hi[k] = y[k] + sd;
        }
        snprintf(names[m], sizeof names[m], "%g", s->momentum[m]);
        size_t off = (size_t)m * (size_t)max_ep;
        ser[m] = (mt_plot_series){.name = names[m], .n = max_ep, .x = x + off, .y = y + off,
                                  .lo = lo + off, .hi = hi + off, .markers = max_ep <= 30};
    }
    char title[256], file[64], path[4096];
    snprintf(title, sizeof title, "Test top-1 per epoch, %d worker%s (%s)", s->workers[w],
             s->workers[w] == 1 ? "" : "s", subtitle);
    snprintf(file, sizeof file, "epochs_w%d.png", s->workers[w]);
    if (rc == MT_OK)
        rc = figure_path(path, sizeof path, dir, file);
    mt_plot_lines_opts o = {.title = title,
                            .xlabel = "epoch",
                            .integer_x = 1,
                            .ylabel = "test top-1 (%), mean ± sd over repeats",
                            .spread = MT_PLOT_SPREAD_BAND,
                            .ymin = NAN,
                            .ymax = NAN,
                            .legend_title = "momentum",
                            .legend = MT_PLOT_LEGEND_RIGHT};
    if (rc == MT_OK)
        rc = mt_plot_lines(path, &o, ser, nm);
    if (rc == MT_OK)
        (*written)++;
    free(x), free(y), free(lo), free(hi), free(ser), free(names);
    return rc;
}

/* ---- report.md ---------------------------------------------------------- */

/* "delay, 2 repeats": short, titles are one line. */
static void subtitle_of(const mt_sweep_spec *s, char *buf, size_t cap)
{
    if (s->delay >= 0)
        snprintf(buf, cap, "%s %ld, %d repeat%s", mt_sweep_mode(s), s->delay, s->repeats,
                 s->repeats == 1 ? "" : "s");
    else
        snprintf(buf, cap, "%s, %d repeat%s", mt_sweep_uses_ps(s) ? mt_sweep_mode(s) : "1 process",
                 s->repeats, s->repeats == 1 ? "" : "s");
}

static void write_cells(FILE *f, const mt_sweep_result *r, int n)
{
    fprintf(f, "| cell | status | final top-1 | final top-5 | best top-1 (epoch) | epochs | "
               "staleness mean / max | images/s | seconds | CPU seconds |\n"
               "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const mt_sweep_result *x = &r[i];
        char a[32] = "", b[32] = "", c[48] = "", t[48] = "", ips[24] = "", sec[24] = "",
             cpu[24] = "";
        if (isfinite(x->final_top1))
            snprintf(a, sizeof a, "%.2f%%", 100 * x->final_top1);
        if (isfinite(x->final_top5))
            snprintf(b, sizeof b, "%.2f%%", 100 * x->final_top5);
        if (isfinite(x->best_top1))
            snprintf(c, sizeof c, "%.2f%% (%d)", 100 * x->best_top1, x->best_epoch);
        if (isfinite(x->tau_mean))
            snprintf(t, sizeof t, "%.2f / %.0f", x->tau_mean, x->tau_max);
        if (isfinite(x->images_per_s))
            snprintf(ips, sizeof ips, "%.0f", x->images_per_s);
        if (isfinite(x->wall_seconds))
            snprintf(sec, sizeof sec, "%.1f", x->wall_seconds);
        if (isfinite(x->cpu_seconds))
            snprintf(cpu, sizeof cpu, "%.1f", x->cpu_seconds);
        fprintf(f, "| %s | %s | %s | %s | %s | %d/%d | %s | %s | %s | %s |\n", x->cell.name,
                x->status, a, b, c, x->epochs_done, x->epochs, t, ips, sec, cpu);
    }
}

int mt_sweep_report_write(const char *dir, const mt_sweep_spec *s, const mt_sweep_result *r,
                          int *figures)
{
    int nw = s->n_workers, nm = s->n_momentum, n = mt_sweep_cell_count(s);
    mt_sweep_stat *stats = calloc((size_t)(nw * nm), sizeof *stats);
    if (!stats)
        return mt_error(MT_ERR_NOMEM, "report: out of memory");
    mt_sweep_stats(s, r, stats);
    *figures = 0;
    char sub[128];
    subtitle_of(s, sub, sizeof sub);
    int any = 0;
    for (int i = 0; i < nw * nm; i++)
        any |= stats[i].n > 0;
    int rc = MT_OK;
    if (any) {
        rc = plot_vs_momentum(dir, s, stats, sub);
        if (rc == MT_OK)
            rc = plot_heatmap(dir, s, stats, sub);
        if (rc == MT_OK)
            *figures += 2;
    }
    for (int w = 0; rc == MT_OK && w < nw; w++)
        rc = plot_epochs(dir, s, r, w, sub, figures);
    if (rc != MT_OK) {
        free(stats);
        return rc;
    }

    char path[4096], tmp[4100];
    snprintf(path, sizeof path, "%s/report.md", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        free(stats);
        return mt_error(MT_ERR_IO, "%s: %s", tmp, strerror(errno));
    }
    char ws[512], ms[512], args[4096];
    mt_sweep_format_ints(ws, sizeof ws, s->workers, nw);
    mt_sweep_format_doubles(ms, sizeof ms, s->momentum, nm);
    mt_sweep_format_args(args, sizeof args, s->train_args, s->n_train_args);
    int done = 0, diverged = 0;
    for (int i = 0; i < n; i++) {
        done += strcmp(r[i].status, "completed") == 0;
        diverged += strcmp(r[i].status, "diverged") == 0;
    }
    fprintf(f, "# Sweep report: momentum per worker count\n\n");
    fprintf(f, "- workers: %s; momentum: %s; %d repeat%s (seeds %llu to %llu); mode: %s",
            ws, ms, s->repeats, s->repeats == 1 ? "" : "s", (unsigned long long)s->seed,
            (unsigned long long)(s->seed + (uint64_t)s->repeats - 1), mt_sweep_mode(s));
    if (s->delay >= 0)
        fprintf(f, ", delay %ld", s->delay);
    fprintf(f, "%s%s\n", s->preset[0] ? "; preset: " : "", s->preset);
    fprintf(f, "- train flags of every cell: `%s`\n", args);
    fprintf(f, "- cells: %d, completed %d, diverged %d, other %d (`results.csv` has one row "
               "each)\n\n",
            n, done, diverged, n - done - diverged);
    fprintf(f, "## Final test top-1 (%%), mean ± sd over completed repeats\n\n"
               "`*` marks the best momentum of each worker count (highest mean). Diverged "
               "repeats are counted, not averaged.\n\n");
    mt_sweep_table_print(f, s, stats, 1);
    if (any)
        fprintf(f, "\n## Figures\n\n"
                   "![accuracy vs momentum](accuracy_vs_momentum.png)\n\n"
                   "![heat map](heatmap.png)\n\n");
    for (int w = 0; w < nw; w++) {
        snprintf(path, sizeof path, "%s/epochs_w%d.png", dir, s->workers[w]);
        if (access(path, F_OK) == 0)
            fprintf(f, "![accuracy per epoch, %d workers](epochs_w%d.png)\n\n", s->workers[w],
                    s->workers[w]);
    }
    fprintf(f, "\n## Cells\n\n");
    write_cells(f, r, n);
    int problems = 0;
    for (int i = 0; i < n; i++)
        if (r[i].message[0] && strcmp(r[i].status, "completed")) {
            if (!problems++)
                fprintf(f, "\n## Notes\n\n");
            fprintf(f, "- %s (%s): %s\n", r[i].cell.name, r[i].status, r[i].message);
        }
    int bad = ferror(f);
    free(stats);
    if (fclose(f) != 0 || bad) {
        unlink(tmp);
        return mt_error(MT_ERR_IO, "%s: write failed", tmp);
    }
    snprintf(path, sizeof path, "%s/report.md", dir);
    if (rename(tmp, path) != 0)
        return mt_error(MT_ERR_IO, "%s: %s", path, strerror(errno));
    return MT_OK;
}
