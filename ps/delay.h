/* delay.h: simulated staleness for the delay mode: the delay distribution and
 * the ring of past parameter versions.
 *
 * Step k's gradient is taken at theta_{k - tau_k} with tau_k drawn from
 *   fixed      tau_k = N
 *   uniform    tau_k uniform on {0, 1, ..., 2N}                (mean N)
 *   geometric  P(tau_k = t) = p (1 - p)^t, p = 1 / (N + 1)     (mean N)
 * (the paper's Section 4 random delays), each capped at tau_max, the ring's
 * depth, and at k (before step tau the gradient is taken at theta_0). The
 * geometric draw counts failed Bernoulli(p) trials with integer arithmetic
 * (mt_rng_below), so a seed gives the same delays on every machine and libm;
 * the cap truncates its tail (the default cap keeps the tail beyond it under
 * 1e-3, so the mean stays within a few tenths of a percent of N).
 *
 * The ring holds the last tau_max + 1 versions: slot v mod (tau_max + 1) is
 * theta_v. Together with the RNG state it is what a checkpoint must save for
 * the run to resume bit for bit.
 *
 * Not here: running steps (ps/ps.c).
 */
#ifndef MT_PS_DELAY_H
#define MT_PS_DELAY_H

#include "core/rng.h"

#include <stddef.h>
#include <stdint.h>

enum mt_delay_kind { MT_DELAY_FIXED, MT_DELAY_UNIFORM, MT_DELAY_GEOMETRIC };

/* "fixed", "uniform", "geometric" and back (-1 when unknown). */
const char *mt_delay_kind_name(int kind);
int mt_delay_kind_parse(const char *s);

/* The largest delay the distribution can draw (fixed: N, uniform: 2N) or,
 * for the unbounded geometric, the smallest cap with P(tau > cap) < 1e-3. */
int64_t mt_delay_default_cap(int kind, int64_t n);

typedef struct {
    int kind;       /* enum mt_delay_kind */
    int64_t n;      /* the mean N (>= 0) */
    int64_t tau_max;
    mt_rng rng;     /* the draws' state */
    size_t dim;     /* floats per version */
    float *ring;    /* (tau_max + 1) x dim; NULL when tau_max == 0 */
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
