/* stale_bound.c: the wait policy's rule (see stale_bound.h). */
#include "ps/stale_bound.h"

/* Gradients in flight pulled at versions <= v. */
static int64_t in_flight_upto(const int64_t *inflight, int n, int64_t v)
{
    int64_t c = 0;
    for (int i = 0; i < n; i++)
        c += inflight[i] >= 0 && inflight[i] <= v;
    return c;
}

int64_t mt_stale_admissible_upto(const int64_t *inflight, int n, int64_t k, int64_t S)
{
    /* The oldest gradient without a step to spare: none pulled after it may
     * land before it. */
    int64_t limit = INT64_MAX;
    for (int i = 0; i < n; i++) {
        int64_t vb = inflight[i];
        if (vb >= 0 && vb < limit && (k - vb) + in_flight_upto(inflight, n, vb) > S)
            limit = vb;
    }
    return limit;
}
