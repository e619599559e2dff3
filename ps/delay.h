/* delay.h: simulated staleness for the delay mode: the delays (optim/delay.h,
 * the paper's fixed, uniform and geometric delays with one truncation rule)
 * drawn from the run's seed, and the ring of past parameter versions.
 *
 * Step k's gradient is taken at theta_{k - tau_k}, tau_k drawn from the
 * distribution, truncated at tau_max (the ring's depth; default
 * mt_delay_default_cap) and capped at k (before step tau the gradient is
 * taken at theta_0).
 *
 * The ring holds the last tau_max + 1 versions: slot v mod (tau_max + 1) is
 * theta_v. Together with the RNG state it is what a checkpoint must save for
 * the run to resume bit for bit.
 *
 * Not here: running steps (ps/run_delay.c), the distribution itself
 * (optim/delay.h).
 */
#ifndef MT_PS_DELAY_H
#define MT_PS_DELAY_H

#include "core/rng.h"
#include "optim/delay.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    mt_delay_dist dist; /* kind, N and tau_max (dist.cap) */
    mt_rng rng;         /* the draws' state */
    size_t dim;         /* floats per version */
    float *ring;        /* (tau_max + 1) x dim; NULL when tau_max == 0 */
} mt_delay;

/* tau_max < 0 picks mt_delay_default_cap(kind, n); a cap below the fixed
 * delay is an error. The ring is allocated, not filled. Stream 0 of `seed`. */
int mt_delay_init(mt_delay *d, int kind, int64_t n, int64_t tau_max, uint64_t seed, size_t dim);
void mt_delay_free(mt_delay *d);

/* tau_k from the distribution, in [0, tau_max] (not yet capped at k). */
int64_t mt_delay_draw(mt_delay *d);

/* Ring slot of version v (dim floats), or NULL when tau_max == 0. */
float *mt_delay_slot(mt_delay *d, int64_t v);

/* Floats in the whole ring, (tau_max + 1) x dim, or 0 without a ring. */
size_t mt_delay_ring_floats(const mt_delay *d);

#endif
