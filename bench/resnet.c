/* resnet.c: the training-step throughput of ResNet-20 and ResNet-32 (batch
 * 128, 3x32x32, 100 classes; forward + loss + backward + SGD update) at 1
 * and 2 threads, OpenBLAS next to oneDNN, a per-layer time profile, and, when
 * /usr/bin/python3 has torch, the same step in PyTorch with the ratio.
 *
 * On a shared machine a measurement is only as good as its quietest moments,
 * so mutau and PyTorch (kept running beside, bench/torch_resnet.py --serve)
 * alternate in short rounds and each side reports its best step: a load that
 * comes and goes hits both alike. At one thread the CPU time of the computing
 * thread is reported too; it does not count time the thread waited for a
 * core.
 *
 * One machine-readable line per measurement:
 *   bench model=resnet20 threads=1 images_per_s=... mean_images_per_s=... cpu_images_per_s=...
 *   bench model=resnet20 threads=1 torch_images_per_s=... torch_cpu_images_per_s=... ratio=...
 *       median_ratio=... cpu_ratio=...
 *   bench blas_mix threads=2 sgemm_after_openmp_ms=... sgemm_after_convs_ms=... ...
 * Usage: bench/resnet [STEPS_PER_ROUND [ROUNDS]], from the repository root.
 */
#include "core/status.h"
#include "bench/lib/resnet_bench.h"
#include "bench/lib/rounds.h"
#include "nn/net.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int fail(void)
{
    fprintf(stderr, "bench: %s\n", mt_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    const int depths[] = {20, 32}, threads[] = {1, 2};
    const int batch = 128, classes = 100;
    int steps = argc > 1 ? atoi(argv[1]) : 4, rounds = argc > 2 ? atoi(argv[2]) : 3;
    if (steps < 1 || rounds < 1) {
        fprintf(stderr, "usage: %s [STEPS_PER_ROUND [ROUNDS]]\n", argv[0]);
        return 2;
    }
    const char *script = getenv("MUTAU_TORCH_SCRIPT");
    if (!script)
        script = "bench/torch_resnet.py";
    const dnnl_version_t *v = dnnl_version();
    char blas[512];
    mt_bench_blas_info(blas, sizeof blas);
    printf("ResNet training step: batch %d, 3x32x32, %d classes, forward + loss + backward + "
           "SGD update\n",
           batch, classes);
    printf("oneDNN %d.%d.%d (cpu runtime %s); OpenBLAS %s\n", v->major, v->minor, v->patch,
           v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other", blas);
    printf("%ld cores online; %d rounds of %d steps per side, best step reported\n",
           sysconf(_SC_NPROCESSORS_ONLN), rounds, steps);
    mt_torch_peer *torch = NULL;
    if (!mt_bench_have_torch() || access(script, R_OK) != 0)
        printf("PyTorch comparison skipped (no torch for /usr/bin/python3, or no %s)\n", script);
    else if (mt_torch_peer_open(&torch, script) < 0)
        return fail();
    static mt_rounds r;
    for (size_t d = 0; d < sizeof depths / sizeof *depths; d++) {
        mt_bench_net *b;
        if (mt_bench_net_create(&b, depths[d], classes, batch, MT_FP32) < 0)
            return fail();
        for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
            if (mt_rounds_run(&r, &b, 1, torch, depths[d], threads[t], batch, 2, steps,
                              rounds) < 0)
                return fail();
            printf("bench model=resnet%d threads=%d images_per_s=%.1f mean_images_per_s=%.1f",
                   depths[d], threads[t], batch / r.best_s[0], batch / r.mean_s[0]);
            if (threads[t] == 1)
                printf(" cpu_images_per_s=%.1f", batch / r.best_cpu_s[0]);
            printf("\n");
            if (torch) {
                printf("bench model=resnet%d threads=%d torch_images_per_s=%.1f", depths[d],
                       threads[t], batch / r.best_s[1]);
                if (threads[t] == 1)
                    printf(" torch_cpu_images_per_s=%.1f", batch / r.best_cpu_s[1]);
                printf(" ratio=%.2f median_ratio=%.2f", mt_rounds_best_ratio(&r, 0, 1),
                       mt_rounds_median_ratio(&r, 0, 1));
                if (threads[t] == 1)
                    printf(" cpu_ratio=%.2f", mt_rounds_cpu_ratio(&r, 0, 1));
                printf("\n");
            }
            fflush(stdout);
        }
        mt_bench_net_free(b);
    }
    mt_torch_peer_close(torch);
    for (int t = 1; t <= 2; t++) {
        mt_blas_mix m;
        if (mt_bench_blas_mix(t, &m) < 0)
            return fail();
        printf("bench blas_mix threads=%d sgemm=%dx%dx%d sgemm_after_openmp_ms=%.3f "
               "sgemm_after_convs_ms=%.3f resnet20_forward_after_openmp_ms=%.2f "
               "resnet20_forward_after_sgemm_ms=%.2f\n",
               t, m.m, m.n, m.k, m.sgemm_alone_ms, m.sgemm_mixed_ms, m.forward_alone_ms,
               m.forward_mixed_ms);
    }
    printf("\nper-layer profile, ResNet-20, 1 thread (ms per step, wall clock):\n");
    mt_step_timing tm;
    if (mt_bench_resnet(20, classes, batch, MT_FP32, 1, 2, 2 * steps, stdout, &tm) < 0)
        return fail();
    return 0;
}
