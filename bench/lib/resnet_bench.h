/* resnet_bench.h: measuring the ResNet training step on this machine, shared
 * by the benchmark program (bench/resnet.c) and `mutau bench`.
 *
 * A step is forward + loss + backward + the momentum-SGD update of the flat
 * parameter buffer (as a training step ends), on a fixed random batch. Times are wall-clock per
 * step; the best step is reported next to the mean because other processes
 * on a shared machine only ever make steps slower.
 *
 * Not here: printing policy (the callers), accuracy (tests/).
 */
#ifndef MT_RESNET_BENCH_H
#define MT_RESNET_BENCH_H

#include "trainer/config.h"

#include <stdio.h>

typedef struct mt_step_timing {
    double best_s, mean_s; /* seconds per step */
    double best_cpu_s;     /* the calling thread's CPU time (all of it at 1 thread) */
    double conv_s;         /* per step, its convolution primitives' (profiled runs; else 0) */
    int steps;
} mt_step_timing;

/* A ResNet with its random batch, kept for several runs of steps; precision
 * is MT_FP32 or MT_BF16 (nn/net.h). */
typedef struct mt_bench_net mt_bench_net;
int mt_bench_net_create(mt_bench_net **out, int depth, int classes, int batch, int precision);
/* Runs warmup + steps steps with `threads` threads; profile as below. */
int mt_bench_net_run(mt_bench_net *b, int threads, int warmup, int steps, FILE *profile,
                     mt_step_timing *out);
/* The same with the net's profile on but printed nowhere, for out->conv_s:
 * the step against its convolution primitives alone. Profiled steps run
 * 2-16% slower (a clock read around every pass), so their times are for
 * shares, not speed. */
int mt_bench_net_run_profiled(mt_bench_net *b, int threads, int warmup, int steps,
                              mt_step_timing *out);
/* The same for the model a training configuration names (cfg->model,
 * width, sphere_op, precision; trainer/model.h), e.g. sphere-resnet-32. */
int mt_bench_model_create(mt_bench_net **out, const mt_train_config *cfg, int classes, int batch);
void mt_bench_net_free(mt_bench_net *b);

/* PyTorch kept running beside (bench/torch_resnet.py --serve), so that short
 * runs of both can alternate and see the same machine. */
typedef struct mt_torch_peer mt_torch_peer;
int mt_torch_peer_open(mt_torch_peer **out, const char *script);
/* Best-step images/s, wall clock and CPU time of PyTorch's calling thread. */
int mt_torch_peer_run(mt_torch_peer *t, int depth, int threads, int batch, int warmup, int steps,
                      double *images_per_s, double *cpu_images_per_s);
void mt_torch_peer_close(mt_torch_peer *t);

/* Times `steps` training steps of ResNet-depth (option A, 3x32x32, `classes`)
 * at batch `batch` with `threads` OpenMP threads in the calling thread, after
 * `warmup` untimed steps. With profile != NULL, also prints the per-layer
 * profile of the timed steps there. */
int mt_bench_resnet(int depth, int classes, int batch, int precision, int threads, int warmup,
                    int steps, FILE *profile, mt_step_timing *out);

/* Whether /usr/bin/python3 can import torch. */
int mt_bench_have_torch(void);

/* OpenBLAS next to oneDNN: a 512^3 sgemm right after a ResNet-20 forward's
 * convolutions against the same sgemm after as long a burst of plain OpenMP
 * work ("alone"), and the forward right after an sgemm against the forward
 * after a plain burst; best of 10 rounds, all four timed in every round. */
typedef struct mt_blas_mix {
    double sgemm_alone_ms, sgemm_mixed_ms, forward_alone_ms, forward_mixed_ms;
    int m, n, k;
} mt_blas_mix;
int mt_bench_blas_mix(int threads, mt_blas_mix *out);

/* "Haswell (OPENMP build: ...)": OpenBLAS's kernel and configuration. */
void mt_bench_blas_info(char *buf, size_t size);

#endif
