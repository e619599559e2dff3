/* delay.c: delay distributions and the ring of past versions (see delay.h). */
#include "ps/delay.h"

#include "core/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"fixed", "uniform", "geometric"};

const char *mt_delay_kind_name(int kind)
{
    return kind >= 0 && kind <= MT_DELAY_GEOMETRIC ? kind_names[kind] : "?";
}

int mt_delay_kind_parse(const char *s)
{
    for (int i = 0; i <= MT_DELAY_GEOMETRIC; i++)
        if (strcmp(s, kind_names[i]) == 0)
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

int mt_delay_init(mt_delay *d, int kind, int64_t n, int64_t tau_max, uint64_t seed, size_t dim)
{
    memset(d, 0, sizeof *d);
    if (kind < MT_DELAY_FIXED || kind > MT_DELAY_GEOMETRIC)
        return mt_error(MT_ERR_ARG, "delay: unknown distribution %d", kind);
    if (n < 0 || n > 100000)
        return mt_error(MT_ERR_ARG, "delay: %lld is not in [0, 100000]", (long long)n);
    if (tau_max < 0)
        tau_max = mt_delay_default_cap(kind, n);
    if (kind == MT_DELAY_FIXED && tau_max < n)
        return mt_error(MT_ERR_ARG, "delay: tau max %lld is below the fixed delay %lld",
                        (long long)tau_max, (long long)n);
    if (dim == 0)
        return mt_error(MT_ERR_ARG, "delay: parameter count is 0");
    d->kind = kind;
    d->n = n;
    d->tau_max = tau_max;
    d->dim = dim;
    mt_rng_seed(&d->rng, seed, 0);
    if (tau_max > 0) {
        size_t floats = (size_t)(tau_max + 1) * dim;
        if (floats / dim != (size_t)(tau_max + 1) || !(d->ring = malloc(floats * sizeof(float))))
            return mt_error(MT_ERR_NOMEM,
                            "delay: no memory for a ring of %lld versions of %zu parameters",
                            (long long)(tau_max + 1), dim);
    }
    return MT_OK;
}

void mt_delay_free(mt_delay *d)
{
    free(d->ring);
    d->ring = NULL;
}

int64_t mt_delay_draw(mt_delay *d)
{
    int64_t t;
    switch (d->kind) {
    case MT_DELAY_UNIFORM:
        t = (int64_t)mt_rng_below(&d->rng, (uint64_t)(2 * d->n + 1));
        break;
    case MT_DELAY_GEOMETRIC:
        /* Failures before the first success of Bernoulli(1 / (N + 1)); past
         * the cap the outcome no longer matters, so stop drawing there. */
        t = 0;
        while (t < d->tau_max && mt_rng_below(&d->rng, (uint64_t)(d->n + 1)) != 0)
            t++;
        break;
    default:
        t = d->n;
    }
    return t < d->tau_max ? t : d->tau_max;
}

float *mt_delay_slot(mt_delay *d, int64_t v)
{
    if (!d->ring)
        return NULL;
    return d->ring + (size_t)(v % (d->tau_max + 1)) * d->dim;
}

size_t mt_delay_ring_floats(const mt_delay *d)
{
    return d->ring ? (size_t)(d->tau_max + 1) * d->dim : 0;
}
