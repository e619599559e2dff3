/* rng.c: xoshiro256** (Blackman and Vigna) with splitmix64 seeding. */
#include "core/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void mt_rng_seed(mt_rng *r, uint64_t seed, uint64_t stream)
{
    /* Mix the stream into the seed through splitmix64 itself, so that nearby
     * (seed, stream) pairs land far apart. */
    uint64_t x = seed;
    uint64_t mixed = splitmix64(&x) ^ (stream * 0xd1b54a32d192ed03ULL);
    x = mixed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t mt_rng_u64(mt_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double mt_rng_uniform(mt_rng *r) { return (double)(mt_rng_u64(r) >> 11) * 0x1.0p-53; }

uint64_t mt_rng_below(mt_rng *r, uint64_t n)
{
    /* Reject the top partial block so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = mt_rng_u64(r);
    while (x >= limit);
    return x % n;
}

double mt_rng_normal(mt_rng *r)
{
    double u1 = 1.0 - mt_rng_uniform(r); /* (0, 1]: log stays finite */
    double u2 = mt_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void mt_rng_shuffle_u32(mt_rng *r, uint32_t *idx, uint64_t n)
{
    for (uint64_t i = n; i > 1; i--) {
        uint64_t j = mt_rng_below(r, i);
        uint32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
