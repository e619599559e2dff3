/* rounds.h: timing several sides (mutau nets, and PyTorch beside them) in
 * alternating rounds, shared by `mutau bench` and bench/speed_targets.c.
 *
 * On a shared machine a load comes and goes; in alternating short rounds it
 * hits every side alike. Each side's best step over all rounds says how fast
 * it can go, and the median over rounds of a round's ratio (its two sides'
 * best steps in that round) is a comparison that one lucky or unlucky round
 * cannot move.
 */
#ifndef MT_ROUNDS_H
#define MT_ROUNDS_H

#include "bench/lib/resnet_bench.h"

enum { MT_ROUNDS_MAX_SIDES = 4, MT_ROUNDS_MAX = 1000 };

typedef struct mt_rounds {
    int rounds, sides;                  /* sides: the nets in order, then PyTorch if any */
    double best_s[MT_ROUNDS_MAX_SIDES]; /* best step of all rounds, wall clock */
    double best_cpu_s[MT_ROUNDS_MAX_SIDES]; /* the same in the calling thread's CPU time */
    double mean_s[MT_ROUNDS_MAX_SIDES];     /* a mutau net's mean step (PyTorch's: 0) */
    double round_s[MT_ROUNDS_MAX_SIDES][MT_ROUNDS_MAX]; /* each round's best step */
} mt_rounds;

/* Times `rounds` rounds; in each, `steps` steps of every net in turn at
 * `threads` threads, then (torch != NULL) as many of PyTorch's ResNet-depth
 * at batch `batch`. The first round warms each side up with `warmup` untimed
 * steps, later ones with one. Returns MT_OK or the first failure's code
 * (message in mt_errmsg). */
int mt_rounds_run(mt_rounds *r, mt_bench_net *const *nets, int n_nets, mt_torch_peer *torch,
                  int depth, int threads, int batch, int warmup, int steps, int rounds);

/* The median of v[0..n-1], n >= 1 (v is sorted in place). */
double mt_bench_median(double *v, int n);

/* Side a's speed over side b's, each round (round_s[b] / round_s[a]), its
 * median over the rounds. */
double mt_rounds_median_ratio(const mt_rounds *r, int a, int b);

/* Side a's speed over side b's by their best steps (and by CPU time). */
double mt_rounds_best_ratio(const mt_rounds *r, int a, int b);
double mt_rounds_cpu_ratio(const mt_rounds *r, int a, int b);

#endif
