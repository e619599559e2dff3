/* delay.c: the delay mode's delays and ring of past versions (see delay.h). */
#include "ps/delay.h"

#include "core/status.h"

#include <stdlib.h>
#include <string.h>

int mt_delay_init(mt_delay *d, int kind, int64_t n, int64_t tau_max, uint64_t seed, size_t dim)
{
    memset(d, 0, sizeof *d);
    if (dim == 0)
        return mt_error(MT_ERR_ARG, "delay: parameter count is 0");
    if (n < 0 || n > 100000)
        return mt_error(MT_ERR_ARG, "delay: %lld is not in [0, 100000]", (long long)n);
    int rc = mt_delay_dist_init(&d->dist, kind, n, tau_max);
    if (rc < 0)
        return rc;
    d->dim = dim;
    mt_rng_seed(&d->rng, seed, 0);
    int64_t cap = d->dist.cap;
    if (cap > 0) {
        size_t floats = (size_t)(cap + 1) * dim;
        if (floats / dim != (size_t)(cap + 1) || !(d->ring = malloc(floats * sizeof(float)))) {
            mt_delay_free(d);
            return mt_error(MT_ERR_NOMEM,
                            "delay: no memory for a ring of %lld versions of %zu parameters",
                            (long long)(cap + 1), dim);
        }
    }
    return MT_OK;
}

void mt_delay_free(mt_delay *d)
{
    mt_delay_dist_free(&d->dist);
    free(d->ring);
    d->ring = NULL;
}

int64_t mt_delay_draw(mt_delay *d) { return mt_delay_dist_draw(&d->dist, &d->rng); }

float *mt_delay_slot(mt_delay *d, int64_t v)
{
    if (!d->ring)
        return NULL;
    return d->ring + (size_t)(v % (d->dist.cap + 1)) * d->dim;
}

size_t mt_delay_ring_floats(const mt_delay *d)
{
    return d->ring ? (size_t)(d->dist.cap + 1) * d->dim : 0;
}
