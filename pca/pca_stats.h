/* pca_stats.h: what the streaming-PCA grid measures, summarised: the spread
 * of the error over runs, the error over iterations, the "optimal delay" per
 * momentum, and fits of the delay's scaling in (1 - mu).
 *
 * Every summary is computed in a fixed order from the per-run results, so it
 * is the same for any thread count. Not a general statistics library.
 */
#ifndef MT_PCA_STATS_H
#define MT_PCA_STATS_H

#include "pca/pca.h"

typedef struct {
    int runs, diverged;
    /* Over all runs, a diverged run counting with the worst error, 1. */
    double mean, sd, median, q10, q25, q75, q90, min, max;
    double mean_converged; /* over the runs that did not diverge; NaN when none */
} mt_pca_stats;

/* Summarises n >= 1 errors (diverged may be NULL: none diverged). */
int mt_pca_stats_of(const double *error, const unsigned char *diverged, int n, mt_pca_stats *s);

/* The summary of cell (momentum i, delay j) of a grid. */
int mt_pca_stats_cell(const mt_pca_grid_result *g, int i, int j, mt_pca_stats *s);

/* The q-quantile (0 <= q <= 1) of sorted[0..n), interpolated linearly
 * between order statistics (Hyndman and Fan's type 7, R's default). */
double mt_pca_quantile(const double *sorted, int n, double q);

/* mean[c] = the mean error over runs of cell (i, j) at checkpoint c. */
void mt_pca_trace_mean(const mt_pca_grid_result *g, int i, int j, double *mean);

/* The "optimal delay" of one momentum: the index of the largest delay such
 * that every delay up to it (in the grid's order, which must be ascending)
 * has no diverged run and a mean error at most `factor` times that of the
 * first delay (the reference, normally tau = 0). Returns -1 when the
 * reference itself has diverged runs. *censored is set when the last delay
 * of the grid still qualifies: the optimal delay is then at least that. */
int mt_pca_optimal_delay(const mt_pca_stats *cells, int n_tau, double factor, int *censored);

/* Fits of tau* against (1 - mu) over the points with tau* > 0:
 * the theory's shape tau = c2 (1 - mu)^2 (least squares in log space, so c2
 * is the geometric mean of tau / (1 - mu)^2), and the free power law
 * tau = c (1 - mu)^b (needs two distinct momenta, else b is NaN). */
typedef struct {
    int n;          /* points used */
    double c2;      /* tau ~ c2 (1 - mu)^2 */
    double c, b;    /* tau ~ c (1 - mu)^b */
} mt_pca_scaling_fit;

void mt_pca_fit_scaling(const double *mu, const double *tau, int n, mt_pca_scaling_fit *f);

/* Linear stability of the delayed heavy-ball recursion
 *     x_{k+1} = (1 + mu) x_k - mu x_{k-1} - a x_{k-tau},
 * the linearisation of eq. 2.1's mean dynamics around the solution: the
 * radial mode (the length of v) has a = 2 eta lambda_1, the stiffest; the
 * tangential modes have a = eta (lambda_1 - lambda_j). Stable means every
 * root of z^n - (1+mu) z^{n-1} + mu z^{n-2} + a z^{n-1-tau} (n = max(tau,1)+1)
 * lies strictly inside the unit circle (Schur-Cohn test). */
int mt_pca_linear_stable(double mu, double a, int tau);

/* The largest tau <= tau_max such that the recursion is stable for every
 * delay up to it; -1 when tau = 0 is unstable already. */
int mt_pca_linear_max_delay(double mu, double a, int tau_max);

/* The paper's optimal delay for momentum mu (Figure 1: 0.7 -> 120,
 * 0.8 -> 80, 0.85 -> 60, 0.9 -> 30, 0.95 -> 10), or -1 for other momenta. */
int mt_pca_paper_delay(double mu);

#endif
