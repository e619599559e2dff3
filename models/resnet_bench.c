/* resnet_bench.c: the measurements behind bench/resnet.c and `mutau bench`
 * (see resnet_bench.h). */
#include "models/resnet_bench.h"

#include "core/rng.h"
#include "core/status.h"
#include "models/resnet.h"
#include "nn/net.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int make_net(mt_net **net, int depth, int classes, int batch, float **x, int **labels)
{
    mt_resnet_cfg c = mt_resnet_default(depth, classes);
    int rc = mt_resnet_create(net, &c, batch, NULL, NULL, NULL);
    if (rc < 0)
        return rc;
    mt_rng r;
    mt_rng_seed(&r, 1, 0);
    mt_net_init(*net, &r);
    size_t n = (size_t)batch * 3 * 32 * 32;
    *x = malloc(n * sizeof **x);
    *labels = malloc((size_t)batch * sizeof **labels);
    if (!*x || !*labels) {
        free(*x);
        free(*labels);
        mt_net_free(*net);
        return mt_error(MT_ERR_NOMEM, "bench: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        (*x)[i] = (float)mt_rng_normal(&r);
    for (int i = 0; i < batch; i++)
        (*labels)[i] = (int)mt_rng_below(&r, (uint64_t)classes);
    return mt_net_set_input(*net, *x, batch, *labels);
}

int mt_bench_resnet(int depth, int classes, int batch, int threads, int warmup, int steps,
                    FILE *profile, mt_step_timing *out)
{
    if (steps < 1 || warmup < 0 || !out)
        return mt_error(MT_ERR_ARG, "bench: steps %d (>= 1), warmup %d (>= 0)", steps, warmup);
    mt_set_threads(threads);
    mt_net *net;
    float *x;
    int *labels;
    int rc = make_net(&net, depth, classes, batch, &x, &labels);
    if (rc < 0)
        return rc;
    double best = INFINITY, total = 0;
    for (int s = 0; s < warmup + steps && rc >= 0; s++) {
        if (s == warmup && profile)
            mt_net_profile(net, 1);
        double t0 = now();
        rc = mt_net_forward(net, 1);
        if (rc >= 0)
            rc = mt_net_backward(net);
        double dt = now() - t0;
        if (s >= warmup) {
            total += dt;
            best = dt < best ? dt : best;
        }
    }
    if (rc >= 0 && profile)
        mt_net_profile_print(net, profile, steps);
    out->best_s = best;
    out->mean_s = total / steps;
    out->steps = steps;
    mt_net_free(net);
    free(x);
    free(labels);
    return rc;
}

int mt_bench_have_torch(void)
{
    return system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
}

int mt_bench_torch(const char *script, int depth, int batch, int threads, int warmup, int steps,
                   double *images_per_s)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "OPENBLAS_NUM_THREADS=1 /usr/bin/python3 '%s' --depth %d --threads %d --batch %d "
             "--warmup %d --steps %d 2>&1",
             script, depth, threads, batch, warmup, steps);
    FILE *p = popen(cmd, "r");
    if (!p)
        return mt_error(MT_ERR_IO, "bench: cannot run %s", script);
    char line[512];
    int found = 0;
    while (fgets(line, sizeof line, p)) {
        const char *k = strstr(line, "images_per_s=");
        if (strncmp(line, "torch ", 6) == 0 && k) {
            *images_per_s = atof(k + 13);
            found = 1;
        }
    }
    int st = pclose(p);
    if (!found)
        return mt_error(MT_ERR_LIB, "bench: %s gave no measurement (exit status %d)", script, st);
    return MT_OK;
}

void mt_bench_blas_info(char *buf, size_t size)
{
    const char *core = openblas_get_corename();
    const char *cfg = openblas_get_config();
    const char *env = getenv("OPENBLAS_CORETYPE");
    snprintf(buf, size, "kernel %s, config '%s', parallel %s, OPENBLAS_CORETYPE=%s",
             core ? core : "?", cfg ? cfg : "?",
             openblas_get_parallel() == 2 ? "OpenMP" : openblas_get_parallel() == 1 ? "pthreads" : "none",
             env ? env : "(unset)");
}

int mt_bench_blas_mix(int threads, mt_blas_mix *out)
{
    enum { REPS = 10 };
    mt_set_threads(threads);
    mt_net *net;
    float *x;
    int *labels;
    int rc = make_net(&net, 20, 100, 128, &x, &labels);
    if (rc < 0)
        return rc;
    /* A gemm of the size of a wide layer: big enough to use every thread. */
    int m = 512, n = 512, k = 512;
    float *a = calloc((size_t)m * k, sizeof *a), *b = calloc((size_t)k * n, sizeof *b),
          *c = calloc((size_t)m * n, sizeof *c);
    if (!a || !b || !c) {
        rc = mt_error(MT_ERR_NOMEM, "bench: out of memory");
        goto done;
    }
    for (size_t i = 0; i < (size_t)m * k; i++)
        a[i] = b[i] = (float)(i % 7) * 0.1f;
    double g_alone = INFINITY, g_mixed = INFINITY, f_alone = INFINITY, f_mixed = INFINITY;
    for (int r = 0; r < 2 + REPS && rc >= 0; r++) { /* two warm-up rounds */
        /* Alternating: each sgemm right after oneDNN's convolutions, each
         * forward right after an sgemm. */
        double t0 = now();
        rc = mt_net_forward(net, 1);
        double t1 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
        double t2 = now();
        if (r < 2)
            continue;
        f_mixed = fmin(f_mixed, t1 - t0);
        g_mixed = fmin(g_mixed, t2 - t1);
    }
    for (int r = 0; r < REPS && rc >= 0; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
        g_alone = fmin(g_alone, now() - t0);
    }
    for (int r = 0; r < REPS && rc >= 0; r++) {
        double t0 = now();
        rc = mt_net_forward(net, 1);
        f_alone = fmin(f_alone, now() - t0);
    }
    out->sgemm_alone_ms = 1e3 * g_alone;
    out->sgemm_mixed_ms = 1e3 * g_mixed;
    out->forward_alone_ms = 1e3 * f_alone;
    out->forward_mixed_ms = 1e3 * f_mixed;
    out->m = m, out->n = n, out->k = k;
done:
    free(a);
    free(b);
    free(c);
    free(x);
    free(labels);
    mt_net_free(net);
    return rc;
}
