/* resnet.c: the training-step throughput of ResNet-20 and ResNet-32 (batch
 * 128, 3x32x32, 100 classes; forward + loss + backward, gradients ready) at 1
 * and 2 threads, a per-layer time profile, OpenBLAS next to oneDNN, and, when
 * /usr/bin/python3 has torch, the same step in PyTorch measured right after
 * each mutau measurement, with the ratio.
 *
 * Prints one machine-readable line per measurement:
 *   bench model=resnet20 threads=1 images_per_s=... mean_images_per_s=...
 *   bench model=resnet20 threads=1 torch_images_per_s=... ratio=...
 *   bench blas_mix threads=2 sgemm_alone_ms=... sgemm_after_convs_ms=... ...
 * images_per_s uses the best step (other processes only slow steps down),
 * mean_images_per_s the mean. Run from the repository root (make bench).
 */
#include "core/status.h"
#include "models/resnet_bench.h"

#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const int depths[] = {20, 32}, threads[] = {1, 2};
    const int batch = 128, classes = 100, warmup = 2;
    int steps = argc > 1 ? atoi(argv[1]) : 8;
    if (steps < 1)
        steps = 8;
    const char *script = getenv("MUTAU_TORCH_SCRIPT");
    if (!script)
        script = "bench/torch_resnet.py";
    const dnnl_version_t *v = dnnl_version();
    char blas[512];
    mt_bench_blas_info(blas, sizeof blas);
    printf("ResNet training step: batch %d, 3x32x32, %d classes, forward + loss + backward\n",
           batch, classes);
    printf("oneDNN %d.%d.%d (cpu runtime %s); OpenBLAS %s\n", v->major, v->minor, v->patch,
           v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other", blas);
    printf("%ld cores online; timings are wall clock and only as quiet as the machine\n",
           sysconf(_SC_NPROCESSORS_ONLN));
    int torch = mt_bench_have_torch() && access(script, R_OK) == 0;
    if (!torch)
        printf("PyTorch comparison skipped (no torch for /usr/bin/python3, or no %s)\n", script);
    int status = 0;
    for (size_t d = 0; d < sizeof depths / sizeof *depths; d++)
        for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
            mt_step_timing tm;
            if (mt_bench_resnet(depths[d], classes, batch, threads[t], warmup, steps, NULL, &tm) <
                0) {
                fprintf(stderr, "bench: %s\n", mt_errmsg());
                return 1;
            }
            double ips = batch / tm.best_s;
            printf("bench model=resnet%d threads=%d images_per_s=%.1f mean_images_per_s=%.1f\n",
                   depths[d], threads[t], ips, batch / tm.mean_s);
            fflush(stdout);
            double tips;
            if (torch) {
                if (mt_bench_torch(script, depths[d], batch, threads[t], warmup, steps, &tips) < 0) {
                    fprintf(stderr, "bench: %s\n", mt_errmsg());
                    status = 1;
                    continue;
                }
                printf("bench model=resnet%d threads=%d torch_images_per_s=%.1f ratio=%.2f\n",
                       depths[d], threads[t], tips, ips / tips);
                fflush(stdout);
            }
        }
    for (int t = 1; t <= 2; t++) {
        mt_blas_mix m;
        if (mt_bench_blas_mix(t, &m) < 0) {
            fprintf(stderr, "bench: %s\n", mt_errmsg());
            return 1;
        }
        printf("bench blas_mix threads=%d sgemm=%dx%dx%d sgemm_alone_ms=%.3f "
               "sgemm_after_convs_ms=%.3f resnet20_forward_alone_ms=%.2f "
               "resnet20_forward_after_sgemm_ms=%.2f\n",
               t, m.m, m.n, m.k, m.sgemm_alone_ms, m.sgemm_mixed_ms, m.forward_alone_ms,
               m.forward_mixed_ms);
    }
    printf("\nper-layer profile, ResNet-20, 1 thread (ms per step):\n");
    mt_step_timing tm;
    if (mt_bench_resnet(20, classes, batch, 1, warmup, steps, stdout, &tm) < 0) {
        fprintf(stderr, "bench: %s\n", mt_errmsg());
        return 1;
    }
    return status;
}
