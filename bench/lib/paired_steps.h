/* paired_steps.h: timing two builds of one network against each other, for
 * the benchmarks that measure what a choice of the net costs or saves
 * (bench/recompute.c, bench/fused_tail.c): both nets step the same batch in
 * alternating rounds at the calling thread, timed by its CPU clock, so that
 * the time other processes take is not counted and a busy spell slows both.
 */
#ifndef MT_PAIRED_STEPS_H
#define MT_PAIRED_STEPS_H

#include "nn/net.h"

enum { MT_PAIRED_MAX_ROUNDS = 64 };

/* x: batch 3x32x32 images of N(0, 1) draws; y: labels i % classes. */
void mt_paired_batch(float *x, int *y, int batch, int classes);

/* One warm-up round, then `rounds` (1..MT_PAIRED_MAX_ROUNDS) in which
 * net[0] and then net[1] take one training step (forward and backward) on
 * x, y. median[k] and best[k]: net[k]'s median and fastest step, seconds. */
int mt_paired_steps(mt_net *const net[2], const float *x, const int *y, int batch, int rounds,
                    double median[2], double best[2]);

/* The ROUNDS argument of such a benchmark: argv[1] or def; -1 after an
 * error line naming prog when it is not in 1..MT_PAIRED_MAX_ROUNDS. */
int mt_paired_rounds(const char *prog, int argc, char **argv, int def);

#endif
