/* resnet_bench.c: the measurements behind bench/resnet.c and `mutau bench`
 * (see resnet_bench.h). */
#include "bench/lib/resnet_bench.h"

#include "core/clock.h"
#include "core/rng.h"
#include "core/status.h"
#include "models/resnet.h"
#include "nn/net.h"
#include "optim/msgd.h"
#include "trainer/model.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct mt_bench_net {
    mt_net *net;
    float *x;
    int *labels;
    float *velocity; /* the optimizer's */
};

/* The update a training step ends with: momentum SGD as the paper's recipe
 * (momentum 0.9, weight decay 5e-4) on the flat buffer. The learning rate is
 * small so that random labels cannot drive the weights far: the update
 * costs the same whatever its size. */
static void sgd_update(mt_bench_net *b)
{
    mt_msgd_step(mt_net_params(b->net), b->velocity, mt_net_grads(b->net),
                 mt_net_param_count(b->net), 1e-4, 0.9, 5e-4, 0);
}

/* Initialises b's net (seed 1) and sets a random batch (3x32x32, `classes`
 * labels) as its input. */
static int ready_net(mt_bench_net *b, int classes, int batch)
{
    mt_rng r;
    mt_rng_seed(&r, 1, 0);
    mt_net_init(b->net, &r);
    size_t n = (size_t)batch * 3 * 32 * 32;
    b->x = malloc(n * sizeof *b->x);
    b->labels = malloc((size_t)batch * sizeof *b->labels);
    if (!b->x || !b->labels)
        return mt_error(MT_ERR_NOMEM, "bench: out of memory");
    for (size_t i = 0; i < n; i++)
        b->x[i] = (float)mt_rng_normal(&r);
    for (int i = 0; i < batch; i++)
        b->labels[i] = (int)mt_rng_below(&r, (uint64_t)classes);
    return mt_net_set_input(b->net, b->x, batch, b->labels);
}

/* The bench net around a built net (freed on failure). */
static int wrap_net(mt_bench_net **out, mt_net *net, int classes, int batch)
{
    mt_bench_net *b = calloc(1, sizeof *b);
    if (!b) {
        mt_net_free(net);
        return mt_error(MT_ERR_NOMEM, "bench: out of memory");
    }
    b->net = net;
    int rc = ready_net(b, classes, batch);
    if (rc >= 0 && !(b->velocity = calloc(mt_net_param_count(net), sizeof *b->velocity)))
        rc = mt_error(MT_ERR_NOMEM, "bench: out of memory");
    if (rc < 0) {
        mt_bench_net_free(b);
        return rc;
    }
    *out = b;
    return MT_OK;
}

int mt_bench_net_create(mt_bench_net **out, int depth, int classes, int batch, int precision)
{
    mt_resnet_cfg c = mt_resnet_default(depth, classes);
    c.precision = precision;
    mt_net *net;
    int rc = mt_resnet_create(&net, &c, batch, NULL, NULL, NULL);
    return rc < 0 ? rc : wrap_net(out, net, classes, batch);
}

int mt_bench_model_create(mt_bench_net **out, const mt_train_config *cfg, int classes, int batch)
{
    mt_net *net;
    char desc[128];
    int rc = mt_model_build(&net, cfg, batch, 3, 32, 32, classes, desc, sizeof desc);
    return rc < 0 ? rc : wrap_net(out, net, classes, batch);
}

void mt_bench_net_free(mt_bench_net *b)
{
    if (!b)
        return;
    mt_net_free(b->net);
    free(b->x);
    free(b->labels);
    free(b->velocity);
    free(b);
}

/* warmup + steps steps, the timed ones profiled when `profile` is set (and
 * the profile printed to `print`, if not NULL). */
static int run_steps(mt_bench_net *b, int threads, int warmup, int steps, int profile,
                     FILE *print, mt_step_timing *out)
{
    if (steps < 1 || warmup < 0 || !out)
        return mt_error(MT_ERR_ARG, "bench: steps %d (>= 1), warmup %d (>= 0)", steps, warmup);
    mt_set_threads(threads);
    double best = INFINITY, best_cpu = INFINITY, total = 0, opt_total = 0;
    int rc = MT_OK;
    mt_net_profile_reset(b->net);
    for (int s = 0; s < warmup + steps && rc >= 0; s++) {
        mt_net_profile(b->net, profile && s >= warmup);
        double t0 = mt_now(), c0 = mt_thread_cpu_now();
        rc = mt_net_forward(b->net, 1);
        if (rc >= 0)
            rc = mt_net_backward(b->net);
        double t1 = mt_now();
        if (rc >= 0)
            sgd_update(b);
        double t2 = mt_now(), dt = t2 - t0, dc = mt_thread_cpu_now() - c0;
        if (s >= warmup) {
            total += dt;
            opt_total += t2 - t1;
            best = dt < best ? dt : best;
            best_cpu = dc < best_cpu ? dc : best_cpu;
        }
    }
    mt_net_profile(b->net, 0);
    if (rc >= 0 && print)
        mt_net_profile_print(b->net, print, steps, total, opt_total);
    out->best_s = best;
    out->best_cpu_s = best_cpu;
    out->mean_s = total / steps;
    out->conv_s = profile ? mt_net_profile_conv_seconds(b->net) / steps : 0;
    out->steps = steps;
    return rc;
}

int mt_bench_net_run(mt_bench_net *b, int threads, int warmup, int steps, FILE *profile,
                     mt_step_timing *out)
{
    return run_steps(b, threads, warmup, steps, profile != NULL, profile, out);
}

int mt_bench_net_run_profiled(mt_bench_net *b, int threads, int warmup, int steps,
                              mt_step_timing *out)
{
    return run_steps(b, threads, warmup, steps, 1, NULL, out);
}

int mt_bench_resnet(int depth, int classes, int batch, int precision, int threads, int warmup,
                    int steps, FILE *profile, mt_step_timing *out)
{
    mt_bench_net *b;
    int rc = mt_bench_net_create(&b, depth, classes, batch, precision);
    if (rc < 0)
        return rc;
    rc = mt_bench_net_run(b, threads, warmup, steps, profile, out);
    mt_bench_net_free(b);
    return rc;
}

struct mt_torch_peer {
    pid_t pid;
    FILE *to, *from;
};

int mt_torch_peer_open(mt_torch_peer **out, const char *script)
{
    int in[2], outp[2];
    if (pipe(in) != 0)
        return mt_error(MT_ERR_IO, "bench: pipe failed");
    if (pipe(outp) != 0) {
        close(in[0]);
        close(in[1]);
        return mt_error(MT_ERR_IO, "bench: pipe failed");
    }
    pid_t pid = fork();
    if (pid < 0)
        return mt_error(MT_ERR_IO, "bench: fork failed");
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(outp[1], 1);
        close(in[0]), close(in[1]), close(outp[0]), close(outp[1]);
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        execl("/usr/bin/python3", "python3", script, "--serve", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    mt_torch_peer *t = calloc(1, sizeof *t);
    if (t) {
        t->pid = pid;
        t->to = fdopen(in[1], "w");
        t->from = fdopen(outp[0], "r");
    }
    char line[256];
    if (!t || !t->to || !t->from || !fgets(line, sizeof line, t->from) ||
        strncmp(line, "ready", 5) != 0) {
        mt_torch_peer_close(t);
        return mt_error(MT_ERR_LIB, "bench: %s --serve did not start", script);
    }
    *out = t;
    return MT_OK;
}

int mt_torch_peer_run(mt_torch_peer *t, int depth, int threads, int batch, int warmup, int steps,
                      double *images_per_s, double *cpu_images_per_s)
{
    fprintf(t->to, "%d %d %d %d %d\n", depth, threads, batch, warmup, steps);
    fflush(t->to);
    char line[512];
    if (!fgets(line, sizeof line, t->from))
        return mt_error(MT_ERR_LIB, "bench: PyTorch gave no answer");
    const char *w = strstr(line, " images_per_s="), *c = strstr(line, "cpu_images_per_s=");
    if (strncmp(line, "torch ", 6) != 0 || !w || !c)
        return mt_error(MT_ERR_LIB, "bench: PyTorch answered '%.100s'", line);
    *images_per_s = atof(w + 14);
    *cpu_images_per_s = atof(c + 17);
    return MT_OK;
}

void mt_torch_peer_close(mt_torch_peer *t)
{
    if (!t)
        return;
    if (t->to)
        fclose(t->to); /* end of input: the server returns */
    if (t->from)
        fclose(t->from);
    if (t->pid > 0)
        waitpid(t->pid, NULL, 0);
    free(t);
}

int mt_bench_have_torch(void)
{
    return system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0;
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

/* Every OpenMP thread busy with plain arithmetic for about `seconds`. */
static void burst(double seconds)
{
    double t0 = mt_now();
#pragma omp parallel
    {
        volatile double x = 1.0;
        while (mt_now() - t0 < seconds)
            for (int i = 0; i < 10000; i++)
                x = x * 1.0000001 + 1e-9;
    }
}

int mt_bench_blas_mix(int threads, mt_blas_mix *out)
{
    enum { REPS = 10 };
    mt_set_threads(threads);
    mt_bench_net *bn;
    int rc = mt_bench_net_create(&bn, 20, 100, 128, MT_FP32);
    if (rc < 0)
        return rc;
    mt_net *net = bn->net;
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
    /* Each round times four things back to back, so that all see the same
     * load: an sgemm after a burst of plain OpenMP work as long as a forward
     * (the control), an sgemm right after oneDNN's convolutions, a forward
     * right after an sgemm, and a forward after a plain burst (the control).
     * A pool of OpenBLAS threads fighting OpenMP's would slow the second and
     * third against their controls. */
    double g_alone = INFINITY, g_mixed = INFINITY, f_alone = INFINITY, f_mixed = INFINITY;
    double burst_s = 0.05;
    for (int r = 0; r < 1 + REPS && rc >= 0; r++) { /* one warm-up round */
        burst(burst_s);
        double t0 = mt_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
        double t1 = mt_now();
        rc = mt_net_forward(net, 1);
        double t2 = mt_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, k, b, n, 0, c, n);
        double t3 = mt_now();
        rc = rc < 0 ? rc : mt_net_forward(net, 1);
        double t4 = mt_now();
        burst(t4 - t3);
        double t5 = mt_now();
        rc = rc < 0 ? rc : mt_net_forward(net, 1);
        double t6 = mt_now();
        burst_s = t2 - t1;
        if (r < 1)
            continue;
        g_alone = fmin(g_alone, t1 - t0);
        g_mixed = fmin(g_mixed, t3 - t2);
        f_mixed = fmin(f_mixed, t4 - t3);
        f_alone = fmin(f_alone, t6 - t5);
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
    mt_bench_net_free(bn);
    return rc;
}
