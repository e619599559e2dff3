/* delay.h: the paper's random gradient delays (Section 4), one definition
 * for every simulation of staleness: the parameter server's delay mode
 * (ps/delay.h) and the streaming-PCA runs (pca/pca.h).
 *
 * A delay tau >= 0 with mean (or value) N is drawn from
 *   fixed      tau = N
 *   uniform    tau uniform on {0, 1, ..., 2N}                       (mean N)
 *   geometric  P(tau = t) = p (1 - p)^t, t = 0, 1, ..., p = 1/(N+1)  (mean N)
 * and truncated at a cap C: a draw above C counts as C (the tail's mass lands
 * on C; fixed and uniform never exceed their default cap). The default cap,
 * mt_delay_default_cap, is the largest value the distribution takes (fixed N,
 * uniform 2N) or, for the unbounded geometric, the smallest C with
 * P(tau > C) < 1e-3, so its truncated mean stays within a few tenths of a
 * percent of N. N = 0 gives 0 for every kind without a draw.
 *
 * Draws. uniform: one mt_rng_below(2N + 1). geometric: one 64-bit draw u
 * against integer thresholds T_t ~ 2^64 (1 - p)^(t + 1) (T_0 = floor(2^64 N /
 * (N + 1)), T_t = floor(T_{t-1} N / (N + 1)), in 128-bit integer arithmetic,
 * computed once), tau = the number of thresholds above u: P(tau > t) =
 * T_t / 2^64. The same seed gives the same delays on every machine and libm,
 * in O(log C) a draw.
 *
 * Not here: what the delays are applied to (the ring of past parameters,
 * ps/delay.h; PCA's ring of iterates, pca/pca_run.c), the RNG's seeding.
 */
#ifndef MT_OPTIM_DELAY_H
#define MT_OPTIM_DELAY_H

#include "core/rng.h"

#include <stddef.h>
#include <stdint.h>

enum mt_delay_kind { MT_DELAY_FIXED, MT_DELAY_UNIFORM, MT_DELAY_GEOMETRIC };

/* "fixed", "uniform", "geometric" in enum order, NULL-terminated: the one
 * list of the kinds' names (flag parsers, JSON, reports). */
extern const char *const mt_delay_kind_names[];

/* A kind's name ("?" when unknown) and back (-1 when unknown). */
const char *mt_delay_kind_name(int kind);
int mt_delay_kind_parse(const char *s);

/* The largest delay the distribution draws (fixed: N, uniform: 2N) or, for
 * the geometric, the smallest cap C with P(tau > C) < 1e-3. */
int64_t mt_delay_default_cap(int kind, int64_t n);

typedef struct {
    int kind;            /* enum mt_delay_kind */
    int64_t n;           /* N >= 0 */
    int64_t cap;         /* C */
    uint64_t *threshold; /* geometric: (C) T_0 > T_1 > ...; NULL otherwise */
} mt_delay_dist;

/* kind, N in [0, 1000000] and cap C (< 0: the default; a cap below a fixed
 * delay is an error); builds the geometric thresholds. */
int mt_delay_dist_init(mt_delay_dist *d, int kind, int64_t n, int64_t cap);
void mt_delay_dist_free(mt_delay_dist *d);

/* One delay in [0, C] from r. */
int64_t mt_delay_dist_draw(const mt_delay_dist *d, mt_rng *r);

#endif
