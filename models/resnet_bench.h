/* resnet_bench.h: measuring the ResNet training step on this machine, shared
 * by the benchmark program (bench/resnet.c) and `mutau bench`.
 *
 * A step is forward + loss + backward with the gradient ready in the flat
 * buffer (no optimizer), on a fixed random batch. Times are wall-clock per
 * step; the best step is reported next to the mean because other processes
 * on a shared machine only ever make steps slower.
 *
 * Not here: printing policy (the callers), accuracy (tests/).
 */
#ifndef MT_RESNET_BENCH_H
#define MT_RESNET_BENCH_H

#include <stdio.h>

typedef struct mt_step_timing {
    double best_s, mean_s; /* seconds per step */
    int steps;
} mt_step_timing;

/* Times `steps` training steps of ResNet-depth (option A, 3x32x32, `classes`)
 * at batch `batch` with `threads` OpenMP threads in the calling thread, after
 * `warmup` untimed steps. With profile != NULL, also prints the per-layer
 * profile of the timed steps there. */
int mt_bench_resnet(int depth, int classes, int batch, int threads, int warmup, int steps,
                    FILE *profile, mt_step_timing *out);

/* Whether /usr/bin/python3 can import torch. */
int mt_bench_have_torch(void);

/* Runs the PyTorch version of the same step (script: bench/torch_resnet.py)
 * and returns its images/s (best step), or a negative status. */
int mt_bench_torch(const char *script, int depth, int batch, int threads, int warmup, int steps,
                   double *images_per_s);

/* OpenBLAS next to oneDNN: times an sgemm alone, and the same sgemm run
 * between the convolutions of a ResNet-20 forward; likewise the forward alone
 * and with sgemms between. Fills ms per sgemm/forward for both. */
typedef struct mt_blas_mix {
    double sgemm_alone_ms, sgemm_mixed_ms, forward_alone_ms, forward_mixed_ms;
    int m, n, k;
} mt_blas_mix;
int mt_bench_blas_mix(int threads, mt_blas_mix *out);

/* "Haswell (OPENMP build: ...)": OpenBLAS's kernel and configuration. */
void mt_bench_blas_info(char *buf, size_t size);

#endif
