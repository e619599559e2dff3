/* delay.c: the random gradient delays (see delay.h). */
#include "optim/delay.h"

#include "core/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const mt_delay_kind_names[] = {"fixed", "uniform", "geometric", NULL};

const char *mt_delay_kind_name(int kind)
{
    return kind >= MT_DELAY_FIXED && kind <= MT_DELAY_GEOMETRIC ? mt_delay_kind_names[kind] : "?";
}

int mt_delay_kind_parse(const char *s)
{
    for (int i = MT_DELAY_FIXED; i <= MT_DELAY_GEOMETRIC; i++)
        if (strcmp(s, mt_delay_kind_names[i]) == 0)
            return i;
    return -1;
}

int64_t mt_delay_default_cap(int kind, int64_t n)
{
    switch (kind) {
    case MT_DELAY_UNIFORM:
        return 2 * n;
    case MT_DELAY_GEOMETRIC:
        if (n == 0)
            return 0;
        /* P(tau > c) = (n / (n + 1))^(c + 1) < 1e-3. */
        return (int64_t)ceil(log(1e-3) / log((double)n / (double)(n + 1))) - 1;
    default:
        return n;
    }
}

int mt_delay_dist_init(mt_delay_dist *d, int kind, int64_t n, int64_t cap)
{
    memset(d, 0, sizeof *d);
    if (kind < MT_DELAY_FIXED || kind > MT_DELAY_GEOMETRIC)
        return mt_error(MT_ERR_ARG, "delay: unknown distribution %d", kind);
    if (n < 0 || n > 1000000)
        return mt_error(MT_ERR_ARG, "delay: %lld is not in [0, 1000000]", (long long)n);
    if (cap < 0)
        cap = mt_delay_default_cap(kind, n);
    if (kind == MT_DELAY_FIXED && cap < n)
        return mt_error(MT_ERR_ARG, "delay: tau max %lld is below the fixed delay %lld",
                        (long long)cap, (long long)n);
    d->kind = kind;
    d->n = n;
    d->cap = cap;
    if (kind != MT_DELAY_GEOMETRIC || n == 0 || cap == 0)
        return MT_OK;
    d->threshold = malloc((size_t)cap * sizeof *d->threshold);
    if (!d->threshold)
        return mt_error(MT_ERR_NOMEM, "delay: no memory for %lld thresholds", (long long)cap);
    /* T_t = floor(T_{t-1} n / (n + 1)) from T_{-1} = 2^64: exact integers. */
    unsigned __int128 t = (unsigned __int128)1 << 64;
    for (int64_t i = 0; i < cap; i++) {
        t = t * (uint64_t)n / (uint64_t)(n + 1);
        d->threshold[i] = (uint64_t)t;
    }
    return MT_OK;
}

void mt_delay_dist_free(mt_delay_dist *d)
{
    free(d->threshold);
    d->threshold = NULL;
}

int64_t mt_delay_dist_draw(const mt_delay_dist *d, mt_rng *r)
{
    if (d->n == 0)
        return 0;
    int64_t t;
    switch (d->kind) {
    case MT_DELAY_UNIFORM:
        t = (int64_t)mt_rng_below(r, (uint64_t)(2 * d->n + 1));
        break;
    case MT_DELAY_GEOMETRIC: {
        /* The number of thresholds above u: they decrease, so bisect. */
        uint64_t u = mt_rng_u64(r);
        int64_t lo = 0, hi = d->cap; /* threshold[i] > u for i < lo; <= u from hi on */
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (d->threshold[mid] > u)
                lo = mid + 1;
            else
                hi = mid;
        }
        t = lo;
        break;
    }
    default:
        t = d->n;
    }
    return t < d->cap ? t : d->cap;
}
