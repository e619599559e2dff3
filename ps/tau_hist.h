/* tau_hist.h: staleness statistics: a histogram of tau, the number of server
 * updates between the version a gradient was computed at and the version it
 * was applied to (tau = k - version read).
 *
 * One entry per gradient pushed. Counts are exact for tau < MT_TAU_BINS - 1;
 * larger values share the last bin (mean and max stay exact, a percentile that
 * lands in that bin is reported as the maximum). Histograms merge by adding,
 * so each worker keeps its own (no shared counter on the push path) and an
 * epoch's histogram is the sum of the workers'.
 *
 * Not here: printing or logging (the trainer writes log.csv).
 */
#ifndef MT_PS_TAU_HIST_H
#define MT_PS_TAU_HIST_H

#include <stdint.h>

enum { MT_TAU_BINS = 1024 };

typedef struct {
    int64_t count;             /* gradients recorded */
    int64_t sum;               /* sum of their tau, for the exact mean */
    int64_t max;               /* largest tau (0 when empty) */
    int64_t bin[MT_TAU_BINS];  /* bin[t]: gradients with tau t; the last: tau >= MT_TAU_BINS-1 */
} mt_tau_hist;

/* The numbers a log line needs. Percentiles are nearest-rank: the smallest
 * tau such that at least p% of the gradients have a tau no larger. */
typedef struct {
    int64_t count;
    double mean;  /* 0 when empty */
    int64_t max, p50, p90, p99;
} mt_tau_summary;

void mt_tau_hist_clear(mt_tau_hist *h);

/* Records one gradient of staleness tau (>= 0; a negative tau is counted as 0). */
void mt_tau_hist_add(mt_tau_hist *h, int64_t tau);

/* dst += src. */
void mt_tau_hist_merge(mt_tau_hist *dst, const mt_tau_hist *src);

double mt_tau_hist_mean(const mt_tau_hist *h);

/* Nearest-rank percentile, p in [0, 100]; 0 for an empty histogram. */
int64_t mt_tau_hist_percentile(const mt_tau_hist *h, double p);

void mt_tau_hist_summary(const mt_tau_hist *h, mt_tau_summary *out);

#endif
