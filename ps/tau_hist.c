/* tau_hist.c: the staleness histogram (see tau_hist.h). */
#include "ps/tau_hist.h"

#include <math.h>
#include <string.h>

void mt_tau_hist_clear(mt_tau_hist *h) { memset(h, 0, sizeof *h); }

void mt_tau_hist_add(mt_tau_hist *h, int64_t tau)
{
    if (tau < 0)
        tau = 0;
    h->count++;
    h->sum += tau;
    if (tau > h->max)
        h->max = tau;
    h->bin[tau < MT_TAU_BINS - 1 ? tau : MT_TAU_BINS - 1]++;
}

void mt_tau_hist_merge(mt_tau_hist *dst, const mt_tau_hist *src)
{
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->max > dst->max)
        dst->max = src->max;
    for (int t = 0; t < MT_TAU_BINS; t++)
        dst->bin[t] += src->bin[t];
}

double mt_tau_hist_mean(const mt_tau_hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}

int64_t mt_tau_hist_percentile(const mt_tau_hist *h, double p)
{
    if (h->count == 0)
        return 0;
    if (p < 0)
        p = 0;
    if (p > 100)
        p = 100;
    /* Rank ceil(p/100 * count), at least 1: p = 0 gives the minimum. */
    int64_t rank = (int64_t)ceil(p / 100.0 * (double)h->count);
    if (rank < 1)
        rank = 1;
    int64_t cum = 0;
    for (int t = 0; t < MT_TAU_BINS - 1; t++) {
        cum += h->bin[t];
        if (cum >= rank)
            return t;
    }
    return h->max; /* in the overflow bin: the exact value is not kept */
}

void mt_tau_hist_summary(const mt_tau_hist *h, mt_tau_summary *out)
{
    out->count = h->count;
    out->mean = mt_tau_hist_mean(h);
    out->max = h->max;
    out->p50 = mt_tau_hist_percentile(h, 50);
    out->p90 = mt_tau_hist_percentile(h, 90);
    out->p99 = mt_tau_hist_percentile(h, 99);
}
