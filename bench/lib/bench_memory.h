/* bench_memory.h: the measurement behind `mutau bench --memory`. */
#ifndef MT_BENCH_MEMORY_H
#define MT_BENCH_MEMORY_H

#include "trainer/config.h"

#include <stdio.h>

/* Builds cfg's model (cfg->model, width, sphere_op) for 3x32x32 images and
 * `classes` classes at cfg->batch with its inference clone at
 * cfg->eval_batch, runs one training step and one evaluation forward on
 * random data, and prints one "bench memory ..." line to out (the nets' own
 * totals, the process's resident size after each stage and its peak); with
 * layers != NULL also both nets' per-layer tables there. */
int mt_bench_memory(const mt_train_config *cfg, int classes, FILE *layers, FILE *out);

#endif
