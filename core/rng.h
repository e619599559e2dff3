/* rng.h: the one random number generator of mutau.
 *
 * xoshiro256** seeded through splitmix64. The whole state is four 64-bit words
 * that a checkpoint can save and restore, and every draw is a pure function of
 * that state, so a seed reproduces a run bit for bit on any machine and any
 * thread count. Independent streams (one per run, worker or data loader) come
 * from mt_rng_seed(seed, stream). Not for cryptography.
 */
#ifndef MT_RNG_H
#define MT_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} mt_rng;

/* Seeds `r` for stream `stream` of `seed`; distinct (seed, stream) pairs give
 * unrelated sequences. */
void mt_rng_seed(mt_rng *r, uint64_t seed, uint64_t stream);

uint64_t mt_rng_u64(mt_rng *r);

/* Uniform on [0, 1) with 53 random bits. */
double mt_rng_uniform(mt_rng *r);

/* Uniform integer on [0, n), without modulo bias; n > 0. */
uint64_t mt_rng_below(mt_rng *r, uint64_t n);

/* Standard normal (Box-Muller, one value per call, no cached second value so
 * the state stays four words). */
double mt_rng_normal(mt_rng *r);

/* Fisher-Yates shuffle of idx[0..n). */
void mt_rng_shuffle_u32(mt_rng *r, uint32_t *idx, uint64_t n);

#endif
