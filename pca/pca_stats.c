/* pca_stats.c: summaries of the streaming-PCA grid (see pca_stats.h). */
#include "pca/pca_stats.h"

#include "core/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double mt_pca_quantile(const double *sorted, int n, double q)
{
    if (n < 1)
        return NAN;
    double h = (n - 1) * q;
    int lo = (int)floor(h);
    if (lo >= n - 1)
        return sorted[n - 1];
    return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
}

int mt_pca_stats_of(const double *error, const unsigned char *diverged, int n, mt_pca_stats *s)
{
    if (n < 1)
        return mt_error(MT_ERR_ARG, "pca stats: no runs");
    double *sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted)
        return mt_error(MT_ERR_NOMEM, "pca stats: out of memory");
    memset(s, 0, sizeof *s);
    s->runs = n;
    double sum = 0, sum_conv = 0;
    for (int r = 0; r < n; r++) {
        int div = diverged && diverged[r];
        double e = div ? 1.0 : error[r];
        sorted[r] = e;
        sum += e;
        s->diverged += div;
        if (!div)
            sum_conv += e;
    }
    s->mean = sum / n;
    double ss = 0;
    for (int r = 0; r < n; r++)
        ss += (sorted[r] - s->mean) * (sorted[r] - s->mean);
    s->sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
    s->mean_converged = s->diverged < n ? sum_conv / (n - s->diverged) : NAN;
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    s->min = sorted[0];
    s->max = sorted[n - 1];
    s->median = mt_pca_quantile(sorted, n, 0.5);
    s->q10 = mt_pca_quantile(sorted, n, 0.10);
    s->q25 = mt_pca_quantile(sorted, n, 0.25);
    s->q75 = mt_pca_quantile(sorted, n, 0.75);
    s->q90 = mt_pca_quantile(sorted, n, 0.90);
    free(sorted);
    return MT_OK;
}

int mt_pca_stats_cell(const mt_pca_grid_result *g, int i, int j, mt_pca_stats *s)
{
    long at = mt_pca_grid_index(g, i, j, 0);
    return mt_pca_stats_of(g->error + at, g->diverged + at, g->runs, s);
}

void mt_pca_trace_mean(const mt_pca_grid_result *g, int i, int j, double *mean)
{
    int ck = g->checkpoints;
    for (int c = 0; c < ck; c++)
        mean[c] = 0;
    for (int r = 0; r < g->runs; r++) {
        const double *t = g->trace + mt_pca_grid_index(g, i, j, r) * ck;
        for (int c = 0; c < ck; c++)
            mean[c] += t[c];
    }
    for (int c = 0; c < ck; c++)
        mean[c] /= g->runs;
}

int mt_pca_optimal_delay(const mt_pca_stats *cells, int n_tau, double factor, int *censored)
{
    *censored = 0;
    if (n_tau < 1 || cells[0].diverged > 0)
        return -1;
    double bound = factor * cells[0].mean;
    int best = 0;
    for (int j = 1; j < n_tau; j++) {
        if (cells[j].diverged > 0 || !(cells[j].mean <= bound))
            break;
        best = j;
    }
    *censored = best == n_tau - 1 && n_tau > 1;
    return best;
}

void mt_pca_fit_scaling(const double *mu, const double *tau, int n, mt_pca_scaling_fit *f)
{
    /* In logs: y = log tau, x = log(1 - mu); y = log c + b x. */
    double sx = 0, sy = 0, sxx = 0, sxy = 0, s2 = 0;
    int m = 0;
    for (int k = 0; k < n; k++) {
        if (!(tau[k] > 0) || !(mu[k] < 1))
            continue;
        double x = log(1 - mu[k]), y = log(tau[k]);
        sx += x, sy += y, sxx += x * x, sxy += x * y;
        s2 += y - 2 * x;
        m++;
    }
    f->n = m;
    f->c2 = m > 0 ? exp(s2 / m) : NAN;
    double den = m * sxx - sx * sx;
    if (m >= 2 && den > 1e-12 * m * sxx) {
        f->b = (m * sxy - sx * sy) / den;
        f->c = exp((sy - f->b * sx) / m);
    } else {
        f->b = f->c = NAN;
    }
}

int mt_pca_paper_delay(double mu)
{
    static const double paper_mu[] = {0.7, 0.8, 0.85, 0.9, 0.95};
    static const int paper_tau[] = {120, 80, 60, 30, 10};
    for (int k = 0; k < 5; k++)
        if (fabs(mu - paper_mu[k]) < 1e-9)
            return paper_tau[k];
    return -1;
}

int mt_pca_linear_stable(double mu, double a, int tau)
{
    int n = (tau > 1 ? tau : 1) + 1;
    double *c = calloc(2 * ((size_t)n + 1), sizeof *c); /* c[k]: coefficient of z^k; then scratch */
    if (!c)
        return 0;
    double *t = c + n + 1;
    c[n] = 1;
    c[n - 1] = -(1 + mu);
    c[n - 2] += mu;
    c[n - 1 - tau] += a;
    /* Schur-Cohn: all roots inside iff |c_0| < |c_m| and the same holds for
     * (c_m p(z) - c_0 p*(z)) / z, of one degree less, down to degree 0; the
     * reduced polynomial is renormalised to be monic at each stage. */
    int stable = 1;
    for (int m = n; m >= 1; m--) {
        double lead = c[m], tail = c[0];
        if (!(fabs(tail) < fabs(lead))) {
            stable = 0;
            break;
        }
        double norm = lead * lead - tail * tail;
        for (int k = 0; k < m; k++)
            t[k] = (lead * c[k + 1] - tail * c[m - 1 - k]) / norm;
        memcpy(c, t, (size_t)m * sizeof *t);
    }
    free(c);
    return stable;
}

int mt_pca_linear_max_delay(double mu, double a, int tau_max)
{
    int tau = -1;
    while (tau < tau_max && mt_pca_linear_stable(mu, a, tau + 1))
        tau++;
    return tau;
}
