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

/* Whether the sweep's tables, figures and titles name the method: not for a
 * sweep of msgd alone, whose report is that of sweeps made before the
 * method axis. */
static int names_methods(const mt_sweep_spec *s)
{
    return s->n_methods > 1 || s->methods[0] != MT_METHOD_MSGD;
}

/* One method's table (its block of stats). */
static void block_print(FILE *f, const mt_sweep_spec *s, const mt_sweep_stat *stats, int markdown)
{
    enum { W0 = 8, WC = 15 };
    char buf[96], mu[32];
    int wc = WC;
    /* Widen the columns to the longest entry. */
    for (int i = 0; i < s->n_workers * s->n_momentum; i++) {
        entry_text(buf, sizeof buf, &stats[i], 1);
        if (text_width(buf) > wc)
            wc = text_width(buf);
    }
    if (markdown) {
        fprintf(f, "| workers |");
        for (int m = 0; m < s->n_momentum; m++) {
            mt_sweep_format_mu(mu, sizeof mu, s->momentum[m]);
            fprintf(f, " μ = %s |", mu);
        }
        fprintf(f, " best μ |\n|---:|");
        for (int m = 0; m < s->n_momentum; m++)
            fprintf(f, "---:|");
        fprintf(f, "---:|\n");
    } else {
        put_padded(f, "workers", W0, 0);
        for (int m = 0; m < s->n_momentum; m++) {
            mt_sweep_format_mu(mu, sizeof mu, s->momentum[m]);
            snprintf(buf, sizeof buf, "mu=%s", mu);
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
            mt_sweep_format_mu(buf, sizeof buf, s->momentum[best]);
        else
            snprintf(buf, sizeof buf, "-");
        fprintf(f, markdown ? " %s |\n" : "  %s\n", buf);
    }
}

void mt_sweep_table_print(FILE *f, const mt_sweep_spec *s, const mt_sweep_stat *stats,
                          int markdown)
{
    for (int q = 0; q < s->n_methods; q++) {
        if (names_methods(s))
            fprintf(f, markdown ? "%s### %s\n\n" : "%smethod %s:\n", q ? "\n" : "",
                    mt_method_name(s->methods[q]));
        block_print(f, s, mt_sweep_stats_of(s, stats, q), markdown);
    }
}

/* A row label of the methods' tables and its cells, padded or piped. */
static void cell_out(FILE *f, const char *text, int width, int markdown, int first)
{
    if (markdown) {
        fprintf(f, first ? "| %s |" : " %s |", text);
    } else {
        if (!first)
            fputs("  ", f);
        put_padded(f, text, width, !first);
    }
}

void mt_sweep_methods_table_print(FILE *f, const mt_sweep_spec *s, const mt_sweep_stat *stats,
                                  int markdown)
{
    enum { W0 = 8 };
    int nq = s->n_methods, nw = s->n_workers, a = mt_sweep_auto_index(s);
    char buf[160], mu[32], fixed[32];
    for (int part = 0; part < 2; part++) {
        if (part == 1 && a < 0)
            break;
        /* part 0: each method's best (auto included) with its momentum;
         * part 1: auto minus the best fixed momentum, in points. */
        int wc = 14;
        for (int pass = 0; pass < 2; pass++) {
            if (pass == 1) {
                if (part == 0)
                    fprintf(f, markdown ? "" : "best final test top-1 (%%) per method, mean ± sd "
                                               "over repeats (its momentum):\n");
                else if (markdown)
                    fprintf(f, "\nMomentum `auto` against the best fixed momentum: points of "
                               "final test top-1 (auto's mean μ vs the best fixed μ).\n\n");
                else
                    fprintf(f, "\nmomentum auto against the best fixed momentum, points of "
                               "final test top-1 (auto's mean mu vs the best fixed mu):\n");
                cell_out(f, "workers", W0, markdown, 1);
                for (int q = 0; q < nq; q++)
                    cell_out(f, mt_method_name(s->methods[q]), wc, markdown, 0);
                fputc('\n', f);
                if (markdown) {
                    fprintf(f, "|---:|");
                    for (int q = 0; q < nq; q++)
                        fprintf(f, "---:|");
                    fputc('\n', f);
                }
            }
            for (int w = 0; w < nw; w++) {
                if (pass == 1) {
                    snprintf(buf, sizeof buf, "%d", s->workers[w]);
                    cell_out(f, buf, W0, markdown, 1);
                }
                for (int q = 0; q < nq; q++) {
                    const mt_sweep_stat *blk = mt_sweep_stats_of(s, stats, q);
                    int b = part == 0 ? mt_sweep_best_momentum(s, blk, w)
                                      : mt_sweep_best_fixed_momentum(s, blk, w);
                    const mt_sweep_stat *st = b >= 0 ? &blk[w * s->n_momentum + b] : NULL;
                    const mt_sweep_stat *au = a >= 0 ? &blk[w * s->n_momentum + a] : NULL;
                    snprintf(buf, sizeof buf, "-");
                    if (part == 0 && st) {
                        /* The per-method tables above count what is still to run. */
                        mt_sweep_format_mu(mu, sizeof mu, st->momentum);
                        if (st->n > 1)
                            snprintf(buf, sizeof buf, "%.2f ± %.2f (%s)", 100 * st->mean,
                                     100 * st->sd, mu);
                        else
                            snprintf(buf, sizeof buf, "%.2f (%s)", 100 * st->mean, mu);
                    } else if (part == 1 && st && au->n > 0) {
                        mt_sweep_format_mu(fixed, sizeof fixed, st->momentum);
                        if (isfinite(au->used))
                            snprintf(mu, sizeof mu, "%.2f", au->used);
                        else
                            snprintf(mu, sizeof mu, "?");
                        snprintf(buf, sizeof buf, "%+.2f (%s vs %s)",
                                 100 * (au->mean - st->mean), mu, fixed);
                    }
                    if (pass == 0 && text_width(buf) > wc)
                        wc = text_width(buf);
                    if (pass == 1)
                        cell_out(f, buf, wc, markdown, 0);
                }
                if (pass == 1)
                    fputc('\n', f);
            }
        }
    }
}

/* ---- figures ------------------------------------------------------------ */

/* What the figures of method q share: the file name's suffix ("" or
 * "_dana"), the title's method (" of dana") and the subtitle. */
typedef struct {
    const char *dir;
    const mt_sweep_spec *s;
    int q;
    char suffix[32], method[40];
    const char *subtitle;
} fig_ctx;

static void fig_ctx_init(fig_ctx *x, const char *dir, const mt_sweep_spec *s, int q,
                         const char *subtitle)
{
    x->dir = dir, x->s = s, x->q = q, x->subtitle = subtitle;
    x->suffix[0] = x->method[0] = '\0';
    if (s->n_methods > 1)
        snprintf(x->suffix, sizeof x->suffix, "_%s", mt_method_name(s->methods[q]));
    if (names_methods(s))
        snprintf(x->method, sizeof x->method, ", %s", mt_method_name(s->methods[q]));
}

/* dir/BASE{suffix}.png */
static int figure_path(char *buf, size_t cap, const fig_ctx *x, const char *base)
{
    if ((size_t)snprintf(buf, cap, "%s/%s%s.png", x->dir, base, x->suffix) >= cap)
        return mt_error(MT_ERR_ARG, "report: path too long: %s/%s%s.png", x->dir, base,
                        x->suffix);
    return MT_OK;
}

/* A diamond: `auto`'s marker, at the momentum it used. */
#define AUTO_MARKER "\xe2\x97\x86"

/* Figure 2: one curve per worker count over the fixed momenta, bars ± sd;
 * auto as a diamond of the curve's colour at the mean momentum it used. */
static int plot_vs_momentum(const fig_ctx *x, const mt_sweep_stat *stats)
{
    const mt_sweep_spec *s = x->s;
    int nw = s->n_workers, nm = s->n_momentum, a = mt_sweep_auto_index(s);
    int nf = a >= 0 ? nm - 1 : nm, ns = a >= 0 ? 2 * nw + 1 : nw;
    double *v = malloc(sizeof(double) * (size_t)(4 * nw * nm));
    mt_plot_series *ser = calloc((size_t)ns, sizeof *ser);
    char(*names)[32] = calloc((size_t)nw, sizeof *names);
    if (!v || !ser || !names) {
        free(v), free(ser), free(names);
        return mt_error(MT_ERR_NOMEM, "report: out of memory");
    }
    double *px = v, *py = v + nw * nm, *lo = py + nw * nm, *hi = lo + nw * nm;
    for (int w = 0; w < nw; w++) {
        /* The fixed momenta first, then auto's point last in the row. */
        int k = w * nm;
        for (int m = 0; m <= nm; m++) {
            int mm = m < nm ? m : a;
            if (m < nm && m == a)
                continue;
            if (m == nm && a < 0)
                break;
            const mt_sweep_stat *st = &stats[w * nm + mm];
            px[k] = mm == a ? st->used : s->momentum[mm];
            py[k] = 100 * st->mean;
            double sd = isfinite(st->sd) ? 100 * st->sd : 0;
            lo[k] = py[k] - sd;
            hi[k] = py[k] + sd;
            k++;
        }
        snprintf(names[w], sizeof names[w], "%d worker%s", s->workers[w],
                 s->workers[w] == 1 ? "" : "s");
        int o = w * nm;
        ser[w] = (mt_plot_series){.name = names[w], .n = nf, .x = px + o, .y = py + o,
                                  .lo = lo + o, .hi = hi + o, .markers = 1};
        if (a >= 0)
            ser[nw + w] = (mt_plot_series){.n = 1, .x = px + o + nf, .y = py + o + nf,
                                           .lo = lo + o + nf, .hi = hi + o + nf, .no_line = 1,
                                           .color = w + 1, .marker = AUTO_MARKER};
    }
    if (a >= 0) /* the legend's entry for every auto point */
        ser[2 * nw] = (mt_plot_series){.name = "auto, at its mean μ", .no_line = 1,
                                       .color = -1, .marker = AUTO_MARKER};
    char title[256], path[4096];
    snprintf(title, sizeof title, "Test accuracy vs momentum%s (%s)", x->method, x->subtitle);
    int rc = figure_path(path, sizeof path, x, "accuracy_vs_momentum");
    mt_plot_lines_opts o = {.title = title,
                            .xlabel = "momentum μ",
                            .ylabel = "final test top-1 (%), mean ± sd over repeats",
                            .spread = MT_PLOT_SPREAD_BARS,
                            .ymin = NAN,
                            .ymax = NAN,
                            .legend_title = "workers",
                            .legend = MT_PLOT_LEGEND_RIGHT};
    if (rc == MT_OK)
        rc = mt_plot_lines(path, &o, ser, ns);
    free(v), free(ser), free(names);
    return rc;
}

static int plot_heatmap(const fig_ctx *x, const mt_sweep_stat *stats)
{
    const mt_sweep_spec *s = x->s;
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
        mt_sweep_format_mu(cl[m], sizeof cl[m], s->momentum[m]);
        cols[m] = cl[m];
    }
    char title[256], path[4096];
    snprintf(title, sizeof title, "Mean test top-1 (%%)%s, best μ outlined (%s)", x->method,
             x->subtitle);
    if (rc == MT_OK)
        rc = figure_path(path, sizeof path, x, "heatmap");
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

/* Whether result q belongs on the epoch curve of (method, workers, momentum). */
static int on_curve(const mt_sweep_result *q, mt_method_kind method, int workers, double mu)
{
    return q->cell.method == method && q->cell.workers == workers && q->cell.momentum == mu &&
           strcmp(q->status, "diverged") != 0;
}

/* Accuracy per epoch for worker count index w: a curve per momentum, the
 * mean over the repeats that reached each epoch, band ± sd. Diverged repeats
 * are left out, as in the table; unfinished ones count up to where they are. */
static int plot_epochs(const fig_ctx *x, const mt_sweep_result *r, int w, int *written)
{
    const mt_sweep_spec *s = x->s;
    mt_method_kind method = s->methods[x->q];
    int nm = s->n_momentum, n = mt_sweep_cell_count(s), max_ep = 0;
    for (int i = 0; i < n; i++)
        if (r[i].cell.method == method && r[i].cell.workers == s->workers[w] &&
            strcmp(r[i].status, "diverged") != 0)
            for (int k = 0; k < r[i].n_curve; k++)
                if (r[i].curve_epoch[k] > max_ep)
                    max_ep = r[i].curve_epoch[k];
    if (max_ep == 0)
        return MT_OK; /* nothing evaluated yet for this worker count */
    size_t len = (size_t)nm * (size_t)max_ep;
    double *px = malloc(sizeof(double) * len), *py = malloc(sizeof(double) * len),
           *lo = malloc(sizeof(double) * len), *hi = malloc(sizeof(double) * len);
    mt_plot_series *ser = calloc((size_t)nm, sizeof *ser);
    char(*names)[32] = calloc((size_t)nm, sizeof *names);
    int rc = MT_OK;
    if (!px || !py || !lo || !hi || !ser || !names)
        rc = mt_error(MT_ERR_NOMEM, "report: out of memory");
    for (int m = 0; rc == MT_OK && m < nm; m++) {
        for (int e = 0; e < max_ep; e++) {
            double sum = 0, ss = 0;
            int cnt = 0;
            for (int pass = 0; pass < 2; pass++)
                for (int i = 0; i < n; i++) {
                    const mt_sweep_result *q = &r[i];
                    if (!on_curve(q, method, s->workers[w], s->momentum[m]))
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
            px[k] = e + 1;
            py[k] = cnt ? sum / cnt : NAN;
            double sd = cnt > 1 ? sqrt(ss / (cnt - 1)) : 0;
            lo[k] = py[k] - sd;
            hi[k] = py[k] + sd;
        }
        mt_sweep_format_mu(names[m], sizeof names[m], s->momentum[m]);
        size_t off = (size_t)m * (size_t)max_ep;
        ser[m] = (mt_plot_series){.name = names[m], .n = max_ep, .x = px + off, .y = py + off,
                                  .lo = lo + off, .hi = hi + off, .markers = max_ep <= 30};
    }
    char title[256], base[64], path[4096];
    snprintf(title, sizeof title, "Test top-1 per epoch, %d worker%s%s (%s)", s->workers[w],
             s->workers[w] == 1 ? "" : "s", x->method, x->subtitle);
    snprintf(base, sizeof base, "epochs_w%d", s->workers[w]);
    if (rc == MT_OK)
        rc = figure_path(path, sizeof path, x, base);
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
    free(px), free(py), free(lo), free(hi), free(ser), free(names);
    return rc;
}

/* The overlay: per method, its best mean over the momenta (auto included)
 * against the worker count, bars ± sd of that best. */
static int plot_methods(const char *dir, const mt_sweep_spec *s, const mt_sweep_stat *stats,
                        const char *subtitle)
{
    int nq = s->n_methods, nw = s->n_workers;
    double *v = malloc(sizeof(double) * (size_t)(4 * nq * nw));
    mt_plot_series *ser = calloc((size_t)nq, sizeof *ser);
    if (!v || !ser) {
        free(v), free(ser);
        return mt_error(MT_ERR_NOMEM, "report: out of memory");
    }
    double *px = v, *py = v + nq * nw, *lo = py + nq * nw, *hi = lo + nq * nw;
    for (int q = 0; q < nq; q++) {
        const mt_sweep_stat *blk = mt_sweep_stats_of(s, stats, q);
        for (int w = 0; w < nw; w++) {
            int k = q * nw + w, b = mt_sweep_best_momentum(s, blk, w);
            const mt_sweep_stat *st = b >= 0 ? &blk[w * s->n_momentum + b] : NULL;
            px[k] = s->workers[w];
            py[k] = st ? 100 * st->mean : NAN;
            double sd = st && isfinite(st->sd) ? 100 * st->sd : 0;
            lo[k] = py[k] - sd;
            hi[k] = py[k] + sd;
        }
        ser[q] = (mt_plot_series){.name = mt_method_name(s->methods[q]), .n = nw,
                                  .x = px + q * nw, .y = py + q * nw, .lo = lo + q * nw,
                                  .hi = hi + q * nw, .markers = 1};
    }
    char title[256], path[4096];
    snprintf(title, sizeof title, "Best test accuracy over momentum vs workers (%s)", subtitle);
    int rc = MT_OK;
    if ((size_t)snprintf(path, sizeof path, "%s/methods_vs_workers.png", dir) >= sizeof path)
        rc = mt_error(MT_ERR_ARG, "report: path too long: %s/methods_vs_workers.png", dir);
    mt_plot_lines_opts o = {.title = title,
                            .xlabel = strcmp(s->mode, "delay") == 0 && s->delay < 0
                                          ? "workers W (delay mode: τ = W − 1)"
                                          : "workers W",
                            .integer_x = 1,
                            .ylabel = "final test top-1 (%) at the best μ, mean ± sd",
                            .spread = MT_PLOT_SPREAD_BARS,
                            .ymin = NAN,
                            .ymax = NAN,
                            .legend_title = "method",
                            .legend = MT_PLOT_LEGEND_RIGHT};
    if (rc == MT_OK)
        rc = mt_plot_lines(path, &o, ser, nq);
    free(v), free(ser);
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
    int nw = s->n_workers, nm = s->n_momentum, nq = s->n_methods, n = mt_sweep_cell_count(s);
    mt_sweep_stat *stats = calloc((size_t)mt_sweep_stat_count(s), sizeof *stats);
    if (!stats)
        return mt_error(MT_ERR_NOMEM, "report: out of memory");
    mt_sweep_stats(s, r, stats);
    *figures = 0;
    char sub[128];
    subtitle_of(s, sub, sizeof sub);
    int any = 0, rc = MT_OK;
    for (int q = 0; rc == MT_OK && q < nq; q++) {
        fig_ctx x;
        fig_ctx_init(&x, dir, s, q, sub);
        const mt_sweep_stat *blk = mt_sweep_stats_of(s, stats, q);
        int any_q = 0;
        for (int i = 0; i < nw * nm; i++)
            any_q |= blk[i].n > 0;
        any |= any_q;
        if (any_q) {
            rc = plot_vs_momentum(&x, blk);
            if (rc == MT_OK)
                rc = plot_heatmap(&x, blk);
            if (rc == MT_OK)
                *figures += 2;
        }
        for (int w = 0; rc == MT_OK && w < nw; w++)
            rc = plot_epochs(&x, r, w, figures);
    }
    if (rc == MT_OK && any && nq > 1) {
        rc = plot_methods(dir, s, stats, sub);
        if (rc == MT_OK)
            (*figures)++;
    }
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
    char ws[512], ms[512], qs[128], args[4096];
    mt_sweep_format_ints(ws, sizeof ws, s->workers, nw);
    mt_sweep_format_momenta(ms, sizeof ms, s->momentum, nm);
    mt_sweep_format_methods(qs, sizeof qs, s->methods, nq);
    mt_sweep_format_args(args, sizeof args, s->train_args, s->n_train_args);
    int done = 0, diverged = 0;
    for (int i = 0; i < n; i++) {
        done += strcmp(r[i].status, "completed") == 0;
        diverged += strcmp(r[i].status, "diverged") == 0;
    }
    fprintf(f, "# Sweep report: momentum per worker count\n\n");
    fprintf(f, "- workers: %s; momentum: %s; method%s: %s; %d repeat%s (seeds %llu to %llu); "
               "mode: %s",
            ws, ms, nq == 1 ? "" : "s", qs, s->repeats, s->repeats == 1 ? "" : "s", (unsigned long long)s->seed,
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
    if (nq > 1 || mt_sweep_auto_index(s) >= 0) {
        fprintf(f, "\n## The methods compared\n\n"
                   "Each method's best final test top-1 (%%) over the momenta (`auto` "
                   "included), mean ± sd over repeats, with its momentum.\n\n");
        mt_sweep_methods_table_print(f, s, stats, 1);
    }
    if (any)
        fprintf(f, "\n## Figures\n\n");
    if (any && nq > 1)
        fprintf(f, "![best accuracy per method vs workers](methods_vs_workers.png)\n\n");
    for (int q = 0; any && q < nq; q++) {
        fig_ctx x;
        fig_ctx_init(&x, dir, s, q, sub);
        const char *base[] = {"accuracy_vs_momentum", "heatmap"};
        char eb[32];
        for (int k = 0; k < 2 + nw; k++) {
            if (k >= 2)
                snprintf(eb, sizeof eb, "epochs_w%d", s->workers[k - 2]);
            const char *b = k < 2 ? base[k] : eb;
            if (figure_path(path, sizeof path, &x, b) == MT_OK && access(path, F_OK) == 0)
                fprintf(f, "![%s%s](%s%s.png)\n\n", b, x.method, b, x.suffix);
        }
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
