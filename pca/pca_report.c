/* pca_report.c: the output files of a streaming-PCA grid and its table of
 * optimal delays (see pca_report.h for the list).
 */
#include "pca/pca_report.h"

#include "core/status.h"
#include "core/version.h"
#include "pca/pca_method.h"
#include "pca/pca_stats.h"
#include "plot/plot.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *mt_pca_delay_name(mt_pca_delay_dist d) { return mt_delay_kind_name(d); }

const char *mt_pca_data_name(mt_pca_data_dist d) { return d == MT_PCA_DATA_BOUNDED ? "bounded" : "gaussian"; }

/* What the report computes once and every writer reads. */
typedef struct {
    const mt_pca_report *r;
    const mt_pca_grid_cfg *g;
    const mt_pca_grid_result *res;
    mt_pca_stats *cells;  /* (n_mu, n_tau) */
    int *opt;             /* (n_mu) index of the optimal delay, -1 none */
    int *censored;        /* (n_mu) */
    double *tau_star;     /* (n_mu) the optimal delay, NaN when none */
    double *tau_linear;   /* (n_mu) the radial mode's linear-stability limit, NaN when none */
    mt_pca_scaling_fit fit, paper_fit;
    int paper_setting;    /* the grid is the paper's setting, so its numbers apply */
} report_data;

static void join(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static FILE *open_out(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        mt_error(MT_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

static int close_out(FILE *f, const char *path)
{
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return mt_error(MT_ERR_IO, "%s: write failed", path);
    return MT_OK;
}

/* A CSV number: empty for NaN. */
static void csv_num(FILE *f, double x)
{
    if (isfinite(x))
        fprintf(f, ",%.10g", x);
    else
        fputs(",", f);
}

static int write_results_csv(const report_data *d, const char *path)
{
    FILE *f = open_out(path);
    if (!f)
        return MT_ERR_IO;
    fprintf(f, "momentum,delay,runs,diverged,mean,sd,median,q10,q25,q75,q90,min,max,mean_converged,"
               "within_tolerance\n");
    for (int i = 0; i < d->g->n_mu; i++) {
        double bound = d->r->factor * d->cells[(size_t)i * d->g->n_tau].mean;
        for (int j = 0; j < d->g->n_tau; j++) {
            const mt_pca_stats *s = &d->cells[(size_t)i * d->g->n_tau + j];
            fprintf(f, "%g,%d,%d,%d", d->g->momenta[i], d->g->delays[j], s->runs, s->diverged);
            double v[] = {s->mean, s->sd, s->median, s->q10, s->q25, s->q75, s->q90, s->min, s->max,
                          s->mean_converged};
            for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
                csv_num(f, v[k]);
            fprintf(f, ",%d\n", s->diverged == 0 && s->mean <= bound);
        }
    }
    return close_out(f, path);
}

static int write_runs_csv(const report_data *d, const char *path)
{
    FILE *f = open_out(path);
    if (!f)
        return MT_ERR_IO;
    fprintf(f, "momentum,delay,run,error,diverged\n");
    for (int i = 0; i < d->g->n_mu; i++)
        for (int j = 0; j < d->g->n_tau; j++)
            for (int r = 0; r < d->res->runs; r++) {
                long at = mt_pca_grid_index(d->res, i, j, r);
                fprintf(f, "%g,%d,%d,%.10g,%d\n", d->g->momenta[i], d->g->delays[j], r, d->res->error[at],
                        d->res->diverged[at]);
            }
    return close_out(f, path);
}

static long checkpoint_iter(const mt_pca_grid_result *res, int c)
{
    return res->iters * (c + 1) / res->checkpoints;
}

static int write_trace_csv(const report_data *d, const char *path)
{
    int ck = d->res->checkpoints;
    double *mean = malloc((size_t)ck * sizeof *mean);
    if (!mean)
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
    FILE *f = open_out(path);
    if (!f) {
        free(mean);
        return MT_ERR_IO;
    }
    fprintf(f, "momentum,delay,iteration,mean_error\n");
    for (int i = 0; i < d->g->n_mu; i++)
        for (int j = 0; j < d->g->n_tau; j++) {
            mt_pca_trace_mean(d->res, i, j, mean);
            for (int c = 0; c < ck; c++)
                fprintf(f, "%g,%d,%ld,%.10g\n", d->g->momenta[i], d->g->delays[j],
                        checkpoint_iter(d->res, c), mean[c]);
        }
    free(mean);
    return close_out(f, path);
}

/* The paper's optimal delay for mu, where its numbers apply: its Sigma,
 * step size and fixed delays; -1 otherwise. */
static int paper_delay(const report_data *d, double mu) { return d->paper_setting ? mt_pca_paper_delay(mu) : -1; }

/* The radial mode's coefficient in the linearised mean dynamics. */
enum { LINEAR_TAU_MAX = 1000 };
static double linear_a(const report_data *d) { return 2 * d->g->base.lr * d->g->base.cov->eigval[0]; }

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static int write_summary_json(const report_data *d, const char *path)
{
    const mt_pca_grid_cfg *g = d->g;
    const mt_pca_cov *cov = g->base.cov;
    json_t *root = json_object();
    json_t *settings = json_object();
    json_object_set_new(root, "mutau_version", json_string(mt_version()));
    json_object_set_new(root, "revision", json_string(mt_source_revision()));
    json_object_set_new(settings, "dim", json_integer(cov->d));
    json_object_set_new(settings, "sigma_given_as", json_string(d->r->sigma_text ? d->r->sigma_text : ""));
    json_t *sigma = json_array(), *eig = json_array();
    for (int i = 0; i < cov->d; i++) {
        json_t *row = json_array();
        for (int j = 0; j < cov->d; j++)
            json_array_append_new(row, json_real(cov->sigma[(size_t)i * cov->d + j]));
        json_array_append_new(sigma, row);
        json_array_append_new(eig, json_real(cov->eigval[i]));
    }
    json_object_set_new(settings, "sigma", sigma);
    json_object_set_new(settings, "sigma_eigenvalues", eig);
    json_object_set_new(settings, "init", json_string(d->r->init_text ? d->r->init_text : ""));
    json_object_set_new(settings, "lr", json_real(g->base.lr));
    json_object_set_new(settings, "iters", json_integer(g->base.iters));
    json_object_set_new(settings, "runs", json_integer(g->runs));
    json_t *mus = json_array(), *taus = json_array();
    for (int i = 0; i < g->n_mu; i++)
        json_array_append_new(mus, json_real(g->momenta[i]));
    for (int j = 0; j < g->n_tau; j++)
        json_array_append_new(taus, json_integer(g->delays[j]));
    json_object_set_new(settings, "momenta", mus);
    json_object_set_new(settings, "delays", taus);
    json_object_set_new(settings, "delay_dist", json_string(mt_pca_delay_name(g->base.delay_dist)));
    json_object_set_new(settings, "data", json_string(mt_pca_data_name(g->base.data)));
    char method[64];
    json_object_set_new(settings, "method", json_string(mt_pca_method_name(&g->base.method, method, sizeof method)));
    if (g->base.method.kind == MT_METHOD_DC_ASGD) {
        json_object_set_new(settings, "dc_lambda0", json_real(g->base.method.dc.lambda0));
        json_object_set_new(settings, "dc_adaptive", json_boolean(g->base.method.dc.adaptive));
        json_object_set_new(settings, "dc_decay", json_real(g->base.method.dc.decay));
    }
    json_object_set_new(settings, "seed", json_integer((json_int_t)g->seed));
    json_object_set_new(settings, "threads", json_integer(d->res->threads));
    json_object_set_new(settings, "checkpoints", json_integer(g->base.checkpoints));
    json_object_set_new(settings, "divergence_bound_norm2", json_real(g->base.blowup));
    json_object_set_new(settings, "tolerance_factor", json_real(d->r->factor));
    json_object_set_new(root, "settings", settings);
    json_object_set_new(root, "error_definition",
                        json_string("1 - |P v|^2 / |v|^2, P the projector onto the top eigenspace of "
                                    "Sigma; a diverged run counts as 1"));
    json_object_set_new(root, "seconds", json_real(d->res->seconds));

    json_t *opt = json_array();
    for (int i = 0; i < g->n_mu; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "momentum", json_real(g->momenta[i]));
        json_object_set_new(o, "error_at_reference_delay", jnum(d->cells[(size_t)i * g->n_tau].mean));
        json_object_set_new(o, "optimal_delay", jnum(d->tau_star[i]));
        json_object_set_new(o, "linear_stability_delay", jnum(d->tau_linear[i]));
        json_object_set_new(o, "censored", json_boolean(d->censored[i]));
        int paper = paper_delay(d, g->momenta[i]);
        json_object_set_new(o, "paper", paper >= 0 ? json_integer(paper) : json_null());
        json_object_set_new(o, "theory_c2_fit", jnum(d->fit.c2 * (1 - g->momenta[i]) * (1 - g->momenta[i])));
        json_array_append_new(opt, o);
    }
    json_object_set_new(root, "optimal_delay", opt);
    json_t *fits = json_object();
    json_object_set_new(fits, "measured", json_pack("{s:i, s:o, s:o, s:o}", "points", d->fit.n, "c2",
                                                    jnum(d->fit.c2), "c", jnum(d->fit.c), "b", jnum(d->fit.b)));
    json_object_set_new(fits, "paper", json_pack("{s:i, s:o, s:o, s:o}", "points", d->paper_fit.n, "c2",
                                                 jnum(d->paper_fit.c2), "c", jnum(d->paper_fit.c), "b",
                                                 jnum(d->paper_fit.b)));
    json_object_set_new(root, "scaling_fits", fits);
    json_object_set_new(root, "linear_stability",
                        json_pack("{s:s, s:o, s:i}", "definition",
                                  "largest tau for which x_{k+1} = (1+mu) x_k - mu x_{k-1} - a x_{k-tau} "
                                  "is stable for every delay up to it, a = 2 lr lambda_1 (the radial mode)",
                                  "a", jnum(linear_a(d)), "searched_up_to", LINEAR_TAU_MAX));

    json_t *cells = json_array();
    for (int i = 0; i < g->n_mu; i++)
        for (int j = 0; j < g->n_tau; j++) {
            const mt_pca_stats *s = &d->cells[(size_t)i * g->n_tau + j];
            json_array_append_new(cells, json_pack("{s:o, s:i, s:i, s:o, s:o, s:o, s:o, s:o}", "momentum",
                                                   json_real(g->momenta[i]), "delay", g->delays[j],
                                                   "diverged", s->diverged, "mean", jnum(s->mean), "sd",
                                                   jnum(s->sd), "median", jnum(s->median), "q25",
                                                   jnum(s->q25), "q75", jnum(s->q75)));
        }
    json_object_set_new(root, "cells", cells);
    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) == 0
                 ? MT_OK
                 : mt_error(MT_ERR_IO, "%s: cannot write", path);
    json_decref(root);
    return rc;
}

/* One series per momentum, each with `each` doubles of storage and the
 * legend name "μ = ...". */
typedef struct {
    double *buf;        /* (n_mu, each) */
    char (*names)[48];  /* (n_mu) */
    mt_plot_series *s;  /* (n_mu) */
} momentum_series;

static int momentum_series_alloc(momentum_series *m, const mt_pca_grid_cfg *g, int each, const char *path)
{
    m->buf = malloc((size_t)g->n_mu * each * sizeof *m->buf);
    m->names = malloc((size_t)g->n_mu * sizeof *m->names);
    m->s = calloc((size_t)g->n_mu, sizeof *m->s);
    if (!m->buf || !m->names || !m->s) {
        free(m->buf), free(m->names), free(m->s);
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
    }
    for (int i = 0; i < g->n_mu; i++) {
        snprintf(m->names[i], sizeof m->names[i], "μ = %g", g->momenta[i]);
        m->s[i].name = m->names[i];
    }
    return MT_OK;
}

static void momentum_series_free(momentum_series *m) { free(m->buf), free(m->names), free(m->s); }

static int plot_figure1(const report_data *d, const char *path)
{
    const mt_pca_grid_cfg *g = d->g;
    int n = g->n_tau;
    momentum_series m;
    if (momentum_series_alloc(&m, g, 4 * n, path) < 0)
        return MT_ERR_NOMEM;
    for (int i = 0; i < g->n_mu; i++) {
        double *x = m.buf + (size_t)i * n * 4, *y = x + n, *lo = y + n, *hi = lo + n;
        for (int j = 0; j < n; j++) {
            const mt_pca_stats *c = &d->cells[(size_t)i * n + j];
            x[j] = g->delays[j];
            y[j] = c->mean;
            lo[j] = c->q25;
            hi[j] = c->q75;
        }
        m.s[i].n = n, m.s[i].x = x, m.s[i].y = y, m.s[i].lo = lo, m.s[i].hi = hi, m.s[i].markers = 1;
    }
    char title[200], method[64];
    int plain = g->base.method.kind == MT_METHOD_MSGD && !g->base.method.momentum_auto;
    snprintf(title, sizeof title, "%s, streaming PCA: error after %ld iterations (d = %d, η = %g, %d runs)",
             plain ? "Async-MSGD" : mt_pca_method_name(&g->base.method, method, sizeof method), g->base.iters,
             g->base.cov->d, g->base.lr, g->runs);
    char xlabel[96];
    snprintf(xlabel, sizeof xlabel, g->base.delay_dist == MT_PCA_DELAY_FIXED ? "delay τ" : "mean delay τ (%s)",
             mt_pca_delay_name(g->base.delay_dist));
    mt_plot_lines_opts o = {.title = title,
                            .xlabel = xlabel,
                            .ylabel = "optimisation error (mean; shaded: 25-75%)",
                            .width = 1000,
                            .height = 640,
                            .log_y = 1,
                            .spread = MT_PLOT_SPREAD_BAND,
                            .ymin = NAN,
                            .ymax = NAN,
                            .legend_title = "momentum"};
    int rc = mt_plot_lines(path, &o, m.s, g->n_mu);
    momentum_series_free(&m);
    return rc;
}

static int plot_convergence(const report_data *d, const char *path)
{
    const mt_pca_grid_cfg *g = d->g;
    int ck = d->res->checkpoints;
    momentum_series m;
    if (momentum_series_alloc(&m, g, 2 * ck, path) < 0)
        return MT_ERR_NOMEM;
    for (int i = 0; i < g->n_mu; i++) {
        double *x = m.buf + (size_t)i * ck * 2, *y = x + ck;
        mt_pca_trace_mean(d->res, i, 0, y);
        for (int c = 0; c < ck; c++)
            x[c] = (double)checkpoint_iter(d->res, c);
        m.s[i].n = ck, m.s[i].x = x, m.s[i].y = y;
    }
    char title[160];
    snprintf(title, sizeof title, "Mean error over %d runs vs iteration at delay τ = %d", g->runs, g->delays[0]);
    mt_plot_lines_opts o = {.title = title,
                            .xlabel = "iteration",
                            .ylabel = "optimisation error (mean over runs)",
                            .width = 1000,
                            .height = 640,
                            .log_y = 1,
                            .ymin = NAN,
                            .ymax = NAN,
                            .legend_title = "momentum"};
    int rc = mt_plot_lines(path, &o, m.s, g->n_mu);
    momentum_series_free(&m);
    return rc;
}

static int plot_optimal(const report_data *d, const char *path)
{
    const mt_pca_grid_cfg *g = d->g;
    enum { FINE = 101 };
    int n = g->n_mu;
    double *buf = malloc((size_t)(4 * n + 2 * FINE) * sizeof *buf);
    if (!buf)
        return mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
    double *mu = buf, *meas = mu + n, *paper = meas + n, *lin = paper + n, *fx = lin + n, *fy = fx + FINE;
    double lo = 1, hi = 0;
    int any_paper = 0;
    for (int i = 0; i < n; i++) {
        mu[i] = g->momenta[i];
        meas[i] = d->tau_star[i];
        lin[i] = d->tau_linear[i];
        int p = paper_delay(d, mu[i]);
        paper[i] = p >= 0 ? p : NAN;
        any_paper |= p >= 0;
        lo = fmin(lo, mu[i]);
        hi = fmax(hi, mu[i]);
    }
    for (int k = 0; k < FINE; k++) {
        fx[k] = lo + (hi - lo) * k / (FINE - 1);
        fy[k] = d->fit.c2 * (1 - fx[k]) * (1 - fx[k]);
    }
    char fit_name[96];
    snprintf(fit_name, sizeof fit_name, "theory %.0f (1-μ)²", d->fit.c2);
    mt_plot_series s[4];
    int ns = 0;
    s[ns++] = (mt_plot_series){.name = "measured", .n = n, .x = mu, .y = meas, .markers = 1};
    if (any_paper)
        s[ns++] = (mt_plot_series){.name = "paper (Figure 1)", .n = n, .x = mu, .y = paper, .markers = 1};
    if (isfinite(d->fit.c2))
        s[ns++] = (mt_plot_series){.name = fit_name, .n = FINE, .x = fx, .y = fy, .dashed = 1};
    s[ns++] = (mt_plot_series){.name = "linear stability, radial mode", .n = n, .x = mu, .y = lin, .markers = 1, .dashed = 1};
    char title[160];
    snprintf(title, sizeof title, "Optimal delay: largest τ with mean error within %g× that of τ = %d",
             d->r->factor, g->delays[0]);
    mt_plot_lines_opts o = {.title = title,
                            .xlabel = "momentum μ",
                            .ylabel = "optimal delay τ*",
                            .width = 1000,
                            .height = 640,
                            .ymin = NAN,
                            .ymax = NAN,
                            .legend = MT_PLOT_LEGEND_TOP_RIGHT};
    int rc = mt_plot_lines(path, &o, s, ns);
    free(buf);
    return rc;
}

/* The same grid as a heat map: log10 of the mean error per (momentum,
 * delay), each momentum's optimal delay outlined. */
static int plot_heatmap(const report_data *d, const char *path)
{
    const mt_pca_grid_cfg *g = d->g;
    size_t cells = (size_t)g->n_mu * g->n_tau;
    double *v = malloc(cells * sizeof *v);
    unsigned char *marked = calloc(cells, 1);
    char (*rows)[32] = malloc((size_t)g->n_mu * sizeof *rows);
    char (*cols)[16] = malloc((size_t)g->n_tau * sizeof *cols);
    const char **row_labels = malloc((size_t)g->n_mu * sizeof *row_labels);
    const char **col_labels = malloc((size_t)g->n_tau * sizeof *col_labels);
    int rc;
    if (!v || !marked || !rows || !cols || !row_labels || !col_labels) {
        rc = mt_error(MT_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < g->n_mu; i++) {
        snprintf(rows[i], sizeof rows[i], "%g", g->momenta[i]);
        row_labels[i] = rows[i];
        for (int j = 0; j < g->n_tau; j++) {
            double m = d->cells[(size_t)i * g->n_tau + j].mean;
            v[(size_t)i * g->n_tau + j] = m > 0 ? log10(m) : NAN;
        }
        if (d->opt[i] >= 0)
            marked[(size_t)i * g->n_tau + d->opt[i]] = 1;
    }
    for (int j = 0; j < g->n_tau; j++) {
        snprintf(cols[j], sizeof cols[j], "%d", g->delays[j]);
        col_labels[j] = cols[j];
    }
    char title[160];
    snprintf(title, sizeof title, "log10 mean error after %ld iterations; outlined: optimal delay (%g× τ = %d)",
             g->base.iters, d->r->factor, g->delays[0]);
    mt_plot_heatmap_opts o = {.title = title,
                              .xlabel = g->base.delay_dist == MT_PCA_DELAY_FIXED ? "delay τ" : "mean delay τ",
                              .ylabel = "momentum μ",
                              .value_label = "log10 mean error",
                              .row_labels = row_labels,
                              .col_labels = col_labels,
                              .format = g->n_tau <= 20 ? "%.1f" : "",
                              .width = 1200,
                              .height = 60 * g->n_mu + 240 < 2000 ? 60 * g->n_mu + 240 : 2000,
                              .vmin = NAN,
                              .vmax = NAN};
    rc = mt_plot_heatmap(path, &o, v, g->n_mu, g->n_tau, marked);
done:
    free(v), free(marked), free(rows), free(cols), free(row_labels), free(col_labels);
    return rc;
}

static void print_table(const report_data *d, FILE *t)
{
    const mt_pca_grid_cfg *g = d->g;
    char method[64];
    fprintf(t, "method %s\n", mt_pca_method_name(&g->base.method, method, sizeof method));
    fprintf(t, "optimal delay: the largest tau such that it and every smaller tau of the grid have no\n"
               "diverged run and a mean error <= %g x the mean error at tau = %d\n\n",
            d->r->factor, g->delays[0]);
    fprintf(t, "  momentum  error(tau=%d)  optimal tau  paper  linear  theory %.0f(1-mu)^2\n", g->delays[0],
            d->fit.c2);
    for (int i = 0; i < g->n_mu; i++) {
        char tau[32], paper[16], theory[32];
        if (d->opt[i] < 0)
            snprintf(tau, sizeof tau, "none");
        else
            snprintf(tau, sizeof tau, "%s%d", d->censored[i] ? ">=" : "", g->delays[d->opt[i]]);
        int p = paper_delay(d, g->momenta[i]);
        if (p >= 0)
            snprintf(paper, sizeof paper, "%d", p);
        else
            snprintf(paper, sizeof paper, "-");
        double th = d->fit.c2 * (1 - g->momenta[i]) * (1 - g->momenta[i]);
        if (isfinite(th))
            snprintf(theory, sizeof theory, "%.1f", th);
        else
            snprintf(theory, sizeof theory, "-");
        char lin[16];
        if (isfinite(d->tau_linear[i]))
            snprintf(lin, sizeof lin, "%s%.0f", d->tau_linear[i] >= LINEAR_TAU_MAX ? ">=" : "", d->tau_linear[i]);
        else
            snprintf(lin, sizeof lin, "none");
        fprintf(t, "  %8g  %13.4g  %11s  %5s  %6s  %19s\n", g->momenta[i], d->cells[(size_t)i * g->n_tau].mean,
                tau, paper, lin, theory);
    }
    fprintf(t, "\nlinear: the largest tau for which the linearised mean dynamics of the length of v,\n"
               "x_{k+1} = (1+mu) x_k - mu x_{k-1} - a x_{k-tau} with a = 2 lr lambda_1 = %g, is stable\n",
            linear_a(d));
    if (!d->paper_setting)
        fprintf(t, "\n(the paper's numbers are shown only for its setting: Sigma = diag(4,3,2,1), lr = 0.0005,\n"
                   "fixed delays)\n");
    fprintf(t, "\nfit over the measured optimal delays > 0 and not censored (%d points): tau* = c2 (1-mu)^2 with c2 = %.4g;\n"
               "free power law tau* = c (1-mu)^b with b = %.3g (the theory says 2)\n",
            d->fit.n, d->fit.c2, d->fit.b);
    if (d->paper_fit.n > 0)
        fprintf(t, "the paper's numbers for these momenta: c2 = %.4g, b = %.3g\n", d->paper_fit.c2, d->paper_fit.b);
    fprintf(t, "grid: %d x %d cells x %d runs x %ld iterations in %.2f s on %d threads\n", g->n_mu, g->n_tau,
            g->runs, g->base.iters, d->res->seconds, d->res->threads);
}

int mt_pca_report_write(const mt_pca_report *r, FILE *table)
{
    const mt_pca_grid_cfg *g = r->grid;
    report_data d = {.r = r, .g = g, .res = r->result};
    d.cells = calloc((size_t)g->n_mu * g->n_tau, sizeof *d.cells);
    d.opt = calloc((size_t)g->n_mu, sizeof *d.opt);
    d.censored = calloc((size_t)g->n_mu, sizeof *d.censored);
    d.tau_star = calloc((size_t)g->n_mu, sizeof *d.tau_star);
    d.tau_linear = calloc((size_t)g->n_mu, sizeof *d.tau_linear);
    double *paper_mu = calloc((size_t)g->n_mu, sizeof *paper_mu);
    double *paper_tau = calloc(2 * (size_t)g->n_mu, sizeof *paper_tau); /* and the delays to fit */
    int rc = MT_OK;
    if (!d.cells || !d.opt || !d.censored || !d.tau_star || !d.tau_linear || !paper_mu || !paper_tau) {
        rc = mt_error(MT_ERR_NOMEM, "pca report: out of memory");
        goto done;
    }
    for (int i = 0; i < g->n_mu && rc == MT_OK; i++)
        for (int j = 0; j < g->n_tau && rc == MT_OK; j++)
            rc = mt_pca_stats_cell(r->result, i, j, &d.cells[(size_t)i * g->n_tau + j]);
    if (rc < 0)
        goto done;
    const mt_pca_cov *cov = g->base.cov;
    d.paper_setting = cov->d == 4 && cov->diagonal && g->base.delay_dist == MT_PCA_DELAY_FIXED &&
                      fabs(g->base.lr - 0.0005) < 1e-12;
    for (int i = 0; i < cov->d && d.paper_setting; i++)
        d.paper_setting = cov->sigma[(size_t)i * 4 + i] == 4 - i;
    int np = 0;
    for (int i = 0; i < g->n_mu; i++) {
        d.opt[i] = mt_pca_optimal_delay(d.cells + (size_t)i * g->n_tau, g->n_tau, r->factor, &d.censored[i]);
        d.tau_star[i] = d.opt[i] >= 0 ? g->delays[d.opt[i]] : NAN;
        int lin = mt_pca_linear_max_delay(g->momenta[i], linear_a(&d), LINEAR_TAU_MAX);
        d.tau_linear[i] = lin >= 0 ? lin : NAN;
        int p = paper_delay(&d, g->momenta[i]);
        if (p >= 0)
            paper_mu[np] = g->momenta[i], paper_tau[np++] = p;
    }
    /* A censored optimal delay is only a lower bound: left out of the fit. */
    double *tau_fit = paper_tau + g->n_mu;
    for (int i = 0; i < g->n_mu; i++)
        tau_fit[i] = d.censored[i] ? NAN : d.tau_star[i];
    mt_pca_fit_scaling(g->momenta, tau_fit, g->n_mu, &d.fit);
    mt_pca_fit_scaling(paper_mu, paper_tau, np, &d.paper_fit);

    char path[4096];
    join(path, sizeof path, r->out_dir, "results.csv");
    if ((rc = write_results_csv(&d, path)) < 0)
        goto done;
    if (r->write_runs) {
        join(path, sizeof path, r->out_dir, "runs.csv");
        if ((rc = write_runs_csv(&d, path)) < 0)
            goto done;
    }
    if (r->result->checkpoints > 0) {
        join(path, sizeof path, r->out_dir, "trace.csv");
        if ((rc = write_trace_csv(&d, path)) < 0)
            goto done;
    }
    join(path, sizeof path, r->out_dir, "summary.json");
    if ((rc = write_summary_json(&d, path)) < 0)
        goto done;
    join(path, sizeof path, r->out_dir, "figure1.png");
    if ((rc = plot_figure1(&d, path)) < 0)
        goto done;
    if (r->result->checkpoints > 1) {
        join(path, sizeof path, r->out_dir, "convergence.png");
        if ((rc = plot_convergence(&d, path)) < 0)
            goto done;
    }
    join(path, sizeof path, r->out_dir, "heatmap.png");
    if ((rc = plot_heatmap(&d, path)) < 0)
        goto done;
    int any_opt = 0;
    for (int i = 0; i < g->n_mu; i++)
        any_opt |= d.opt[i] >= 0;
    if (any_opt) {
        join(path, sizeof path, r->out_dir, "optimal_delay.png");
        if ((rc = plot_optimal(&d, path)) < 0)
            goto done;
    }
    if (table)
        print_table(&d, table);
done:
    free(d.cells), free(d.opt), free(d.censored), free(d.tau_star), free(d.tau_linear), free(paper_mu), free(paper_tau);
    return rc;
}

int mt_pca_optimal_delays(const mt_pca_grid_cfg *g, const mt_pca_grid_result *res, double factor, int *opt,
                          int *censored, double *err0)
{
    mt_pca_stats *row = calloc((size_t)g->n_tau, sizeof *row);
    if (!row)
        return mt_error(MT_ERR_NOMEM, "pca report: out of memory");
    int rc = MT_OK;
    for (int i = 0; i < g->n_mu && rc == MT_OK; i++) {
        for (int j = 0; j < g->n_tau && rc == MT_OK; j++)
            rc = mt_pca_stats_cell(res, i, j, &row[j]);
        if (rc == MT_OK) {
            opt[i] = mt_pca_optimal_delay(row, g->n_tau, factor, &censored[i]);
            err0[i] = row[0].mean;
        }
    }
    free(row);
    return rc;
}

int mt_pca_methods_write(const mt_pca_grid_cfg *g, const mt_pca_method_row *rows, int n, double factor,
                         const char *dir, FILE *table)
{
    char path[4096];
    join(path, sizeof path, dir, "methods.csv");
    FILE *f = open_out(path);
    if (!f)
        return MT_ERR_IO;
    fprintf(f, "method,momentum,error_first_delay,optimal_delay,censored\n");
    for (int m = 0; m < n; m++)
        for (int i = 0; i < g->n_mu; i++) {
            fprintf(f, "%s,%.17g", rows[m].name, g->momenta[i]); /* csv_num writes the comma */
            csv_num(f, rows[m].err0[i]);
            if (rows[m].opt[i] >= 0)
                fprintf(f, ",%d,%d\n", g->delays[rows[m].opt[i]], rows[m].censored[i]);
            else
                fprintf(f, ",,0\n");
        }
    int rc = close_out(f, path);
    if (rc < 0 || !table)
        return rc;
    fprintf(table, "\noptimal delay per method (mean error <= %g x that at tau = %d; >= : the grid's last delay "
                   "still qualifies)\n\n  momentum",
            factor, g->delays[0]);
    for (int m = 0; m < n; m++)
        fprintf(table, "  %14s", rows[m].name);
    fputc('\n', table);
    for (int i = 0; i < g->n_mu; i++) {
        fprintf(table, "  %8g", g->momenta[i]);
        for (int m = 0; m < n; m++) {
            char cell[32];
            if (rows[m].opt[i] < 0)
                snprintf(cell, sizeof cell, "none");
            else
                snprintf(cell, sizeof cell, "%s%d", rows[m].censored[i] ? ">=" : "", g->delays[rows[m].opt[i]]);
            fprintf(table, "  %14s", cell);
        }
        fputc('\n', table);
    }
    fprintf(table, "\nmean error at tau = %d\n  momentum", g->delays[0]);
    for (int m = 0; m < n; m++)
        fprintf(table, "  %14s", rows[m].name);
    fputc('\n', table);
    for (int i = 0; i < g->n_mu; i++) {
        fprintf(table, "  %8g", g->momenta[i]);
        for (int m = 0; m < n; m++)
            fprintf(table, "  %14.4g", rows[m].err0[i]);
        fputc('\n', table);
    }
    return MT_OK;
}
