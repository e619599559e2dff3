/* ps.c: what the parameter server costs and whether it lets workers scale.
 *
 * 1. Server overhead. W threads (1..8) pull and push a flat buffer of
 *    ResNet-20's size (275,572 floats) through S shards with no computation in
 *    between: the saturated worst case. Per step: a worker's pull + push time
 *    and the server's throughput, and the overhead as a fraction of one
 *    ResNet-20 training step (batch 128, 1 thread), measured here when the
 *    model builds, else the stated 0.15 s.
 *      bench ps overhead workers=W shards=S pull_us=.. push_us=.. step_us=..
 *            pushes_per_s=.. fraction=..
 * 2. Scaling. Async training with 1 and 2 workers x 1 thread on ResNet-20
 *    gradients of a fixed synthetic batch (real forward/backward through the
 *    server), and on a fixed amount of arithmetic per gradient (no memory
 *    traffic: what the server alone allows). server_share is the part of the
 *    workers' time spent pulling and pushing (lock waits included): the
 *    speedup the server allows is about W (1 - server_share), whatever else
 *    runs on the machine.
 *    Three alternating rounds (16 steps per worker after one untimed step),
 *    then the median speedup against the 1.9x.
 *      bench ps scaling grad=resnet20|spin round=R workers=W images_per_s=..
 *            speedup=.. server_share=..
 *      bench ps scaling grad=resnet20|spin median_speedup=.. target=1.9 met|not-met
 * 3. Async W workers vs delay W-1. Equal workers on a least-squares problem:
 *    the measured tau and the loss reached, next to delay mode with a fixed
 *    delay of W - 1 and with none.
 *      bench ps tau workers=W mode=async|delay tau_mean=.. loss=..
 *
 * Timings are wall-clock on a machine other work may share: read them as
 * noisy. Not a test.
 */
#include "core/clock.h"
#include "core/rng.h"
#include "core/status.h"
#include "models/resnet.h"
#include "nn/net.h"
#include "ps/ps.h"
#include "trainer/worker.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { RESNET20_PARAMS = 275572, BATCH = 128 };
static const double STATED_STEP_S = 0.15;

/* The median of x[0..n-1], n odd; sorts x in place (insertion sort: n is tiny). */
static double median(double *x, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && x[j] < x[j - 1]; j--) {
            double v = x[j];
            x[j] = x[j - 1];
            x[j - 1] = v;
        }
    return x[n / 2];
}

static void server_config(mt_ps_server_config *c, size_t n, size_t n_state, int shards)
{
    mt_ps_server_config_default(c, n, n_state);
    c->shards = shards;
    c->schedule.base_lr = 0.01;
}

/* ---- 1. overhead -------------------------------------------------------------- */

struct hammer {
    mt_ps_server *s;
    int iters;
    double pull_s, push_s;
};

static void *hammer_thread(void *arg)
{
    struct hammer *h = arg;
    size_t n = mt_ps_server_n(h->s);
    float *theta = malloc(n * sizeof(float)), *grad = calloc(n, sizeof(float));
    for (size_t i = 0; i < n; i++)
        grad[i] = 1e-6f * (float)(i % 13);
    for (int it = 0; it < h->iters; it++) {
        double t0 = mt_now();
        int64_t v = mt_ps_pull(h->s, theta, NULL);
        double t1 = mt_now();
        mt_ps_push(h->s, grad, v, NULL, NULL, NULL);
        h->pull_s += t1 - t0;
        h->push_s += mt_now() - t1;
    }
    free(theta);
    free(grad);
    return NULL;
}

static void bench_overhead(double step_s)
{
    const int workers[] = {1, 2, 4, 8};
    const int shards[] = {1, 4, 16};
    float *theta0 = calloc(RESNET20_PARAMS, sizeof(float));
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 4; b++) {
            int W = workers[b], S = shards[a];
            mt_ps_server_config c;
            server_config(&c, RESNET20_PARAMS, 0, S);
            mt_ps_server *s;
            if (mt_ps_server_create(&s, &c, theta0, NULL) < 0) {
                fprintf(stderr, "bench ps: %s\n", mt_errmsg());
                exit(1);
            }
            struct hammer h[8];
            pthread_t th[8];
            int iters = 400 / W;
            double t0 = mt_now();
            for (int i = 0; i < W; i++) {
                h[i] = (struct hammer){s, iters, 0, 0};
                pthread_create(&th[i], NULL, hammer_thread, &h[i]);
            }
            double pull = 0, push = 0;
            for (int i = 0; i < W; i++) {
                pthread_join(th[i], NULL);
                pull += h[i].pull_s;
                push += h[i].push_s;
            }
            double wall = mt_now() - t0;
            int64_t pushes = mt_ps_server_version(s);
            double pull_us = 1e6 * pull / (double)pushes, push_us = 1e6 * push / (double)pushes;
            double step_us = pull_us + push_us;
            printf("bench ps overhead workers=%d shards=%d pull_us=%.1f push_us=%.1f step_us=%.1f "
                   "pushes_per_s=%.0f fraction=%.5f\n",
                   W, S, pull_us, push_us, step_us, (double)pushes / wall, step_us * 1e-6 / step_s);
            mt_ps_server_free(s);
        }
    free(theta0);
}

/* ---- workers ---------------------------------------------------------------------- */

/* The gradient of batch `batch` at theta into grad. */
typedef int (*grad_fn)(void *ctx, const float *theta, int64_t batch, float *grad);

/* A worker: the trainer's worker loop on its buffers (theta pulled into,
 * grad pushed from; a network's own buffers for ResNet-20). */
struct bworker {
    grad_fn fn;
    void *ctx;
    float *theta, *state, *grad;
};

static int bworker_step(void *ctx, const mt_ticket *tk)
{
    struct bworker *b = ctx;
    return b->fn(b->ctx, b->theta, tk->batch, b->grad);
}

static int bworker_main(void *ctx, mt_transport *t, int id)
{
    struct bworker *b = ctx;
    mt_worker w = {b->theta, b->state, b->grad, bworker_step, b};
    return mt_worker_loop(&w, t, id);
}

/* ---- ResNet-20 gradients -------------------------------------------------------- */

struct rworker {
    mt_net *net;
    float *x;
    int *y;
};

/* The net's gradient at its own parameters (theta is mt_net_params: the
 * pull wrote it there), into its own gradient buffer. */
static int resnet_grad(void *ctx, const float *theta, int64_t batch, float *grad)
{
    struct rworker *w = ctx;
    int rc = mt_net_set_input(w->net, w->x, BATCH, w->y);
    if (rc >= 0)
        rc = mt_net_forward(w->net, 1);
    if (rc >= 0)
        rc = mt_net_backward(w->net);
    return rc < 0 ? rc : MT_OK;
}

static int rworker_init(struct rworker *w, uint64_t seed)
{
    mt_resnet_cfg cfg = mt_resnet_default(20, 10);
    int rc = mt_resnet_create(&w->net, &cfg, BATCH, NULL, NULL, NULL);
    if (rc < 0)
        return rc;
    mt_rng r;
    mt_rng_seed(&r, seed, 1);
    size_t nx = (size_t)BATCH * 3 * 32 * 32;
    w->x = malloc(nx * sizeof(float));
    w->y = malloc(BATCH * sizeof(int));
    for (size_t i = 0; i < nx; i++)
        w->x[i] = (float)mt_rng_normal(&r);
    for (int i = 0; i < BATCH; i++)
        w->y[i] = (int)mt_rng_below(&r, 10);
    return mt_net_init(w->net, &r);
}

static void rworker_free(struct rworker *w)
{
    mt_net_free(w->net);
    free(w->x);
    free(w->y);
}

/* Median seconds of one ResNet-20 training step at 1 thread, or < 0. */
static double resnet_step_seconds(void)
{
    struct rworker w;
    mt_set_threads(1);
    if (rworker_init(&w, 1) < 0) {
        fprintf(stderr, "bench ps: ResNet-20 unavailable (%s); using the stated %.2f s\n",
                mt_errmsg(), STATED_STEP_S);
        return -1;
    }
    size_t n = mt_net_param_count(w.net);
    double t[5];
    for (int i = -1; i < 5; i++) {
        double t0 = mt_now();
        if (resnet_grad(&w, mt_net_params(w.net), 0, mt_net_grads(w.net)) < 0)
            return -1;
        if (i >= 0)
            t[i] = mt_now() - t0;
    }
    double step = median(t, 5);
    printf("bench ps resnet20_step batch=%d threads=1 params=%zu seconds=%.4f\n", BATCH, n, step);
    rworker_free(&w);
    return step;
}

/* ---- 2. scaling ------------------------------------------------------------------- */

/* A fixed amount of arithmetic in registers: what a worker would do if memory
 * were free. The result feeds the gradient so it cannot be optimised away. */
static int spin_grad(void *ctx, const float *theta, int64_t batch, float *grad)
{
    size_t n = *(const size_t *)ctx;
    double x = 1.0;
    for (long i = 0; i < 20000000L; i++)
        x = x * 0.999999 + 1e-7;
    grad[0] = (float)(x * 1e-9);
    memset(grad + 1, 0, (n - 1) * sizeof(float));
    return MT_OK;
}

static double async_images_per_s(int W, int use_resnet, int steps_per_worker, double *server_share)
{
    struct rworker rw[2];
    struct bworker bw[2];
    size_t n = RESNET20_PARAMS, ns = 0;
    void *ctx[2] = {&bw[0], &bw[1]};
    float *theta0 = NULL, *state0 = NULL, *bufs = NULL;
    if (use_resnet) {
        for (int i = 0; i < W; i++) {
            if (rworker_init(&rw[i], 1) < 0)
                return -1;
            bw[i] = (struct bworker){resnet_grad, &rw[i], mt_net_params(rw[i].net),
                                     mt_net_state(rw[i].net), mt_net_grads(rw[i].net)};
        }
        n = mt_net_param_count(rw[0].net);
        ns = mt_net_state_count(rw[0].net);
        theta0 = mt_net_params(rw[0].net);
        state0 = mt_net_state(rw[0].net);
        /* One untimed step per network first: the first pass faults in the
         * workspaces and warms oneDNN's caches, a one-off cost of any run. */
        int ok = 1;
        mt_set_threads(1);
        for (int i = 0; i < W && ok; i++)
            ok = resnet_grad(&rw[i], NULL, 0, NULL) >= 0;
        if (!ok)
            return -1;
    } else {
        theta0 = calloc(n, sizeof(float));
        bufs = calloc(4 * n, sizeof(float));
        if (!theta0 || !bufs)
            return -1;
        for (int i = 0; i < 2; i++)
            bw[i] = (struct bworker){spin_grad, &n, bufs + 2 * i * n, NULL, bufs + (2 * i + 1) * n};
    }
    mt_ps_server_config sc;
    server_config(&sc, n, ns, 4);
    mt_ps_config rc;
    mt_ps_config_default(&rc);
    rc.mode = MT_PS_ASYNC;
    rc.workers = W;
    rc.threads = 1;
    rc.oversubscribe = 1;
    rc.steps_per_epoch = 1000000;
    rc.worker_main = bworker_main;
    rc.worker_ctx = ctx;
    mt_ps *ps;
    double ips = -1;
    if (mt_ps_create(&ps, &sc, &rc, theta0, state0) == MT_OK) {
        double t0 = mt_now();
        if (mt_ps_run(ps, (int64_t)W * steps_per_worker) == MT_OK) {
            ips = (double)W * steps_per_worker * BATCH / (mt_now() - t0);
            mt_ps_timing tm;
            mt_ps_timing_get(ps, &tm);
            double all = tm.grad_s + tm.pull_s + tm.push_s + tm.wait_s;
            *server_share = (tm.pull_s + tm.push_s) / all;
        }
        mt_ps_free(ps);
    }
    if (ips < 0)
        fprintf(stderr, "bench ps: %s\n", mt_errmsg());
    if (use_resnet)
        for (int i = 0; i < W; i++)
            rworker_free(&rw[i]);
    else
        free(theta0);
    free(bufs);
    return ips;
}

static void bench_scaling(int have_resnet)
{
    enum { ROUNDS = 3 };
    for (int use_resnet = have_resnet; use_resnet >= 0; use_resnet--) {
        int steps = use_resnet ? 16 : 30;
        const char *name = use_resnet ? "resnet20" : "spin";
        double speedup[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) {
            double share1 = 0, share2 = 0;
            double one = async_images_per_s(1, use_resnet, steps, &share1);
            double two = async_images_per_s(2, use_resnet, steps, &share2);
            speedup[r] = two / one;
            printf("bench ps scaling grad=%s round=%d workers=1 threads=1 images_per_s=%.1f "
                   "server_share=%.4f\n",
                   name, r + 1, one, share1);
            printf("bench ps scaling grad=%s round=%d workers=2 threads=1 images_per_s=%.1f "
                   "speedup=%.3f server_share=%.4f cores=%d\n",
                   name, r + 1, two, speedup[r], share2, mt_ps_cores());
        }
        double m = median(speedup, ROUNDS);
        printf("bench ps scaling grad=%s median_speedup=%.3f target=1.9 %s\n", name, m,
               m >= 1.9 ? "met" : "not-met");
    }
}

/* ---- 3. async W vs delay W - 1 ------------------------------------------------------ */

enum { LN = 2000 };

struct lsq {
    float a[LN];
};

/* Batch b: loss 0.5 sum a_i (theta_i - c_{b,i})^2, c ~ N(1, 1). */
static int lsq_grad(void *ctx, const float *theta, int64_t batch, float *grad)
{
    const struct lsq *p = ctx;
    mt_rng r;
    mt_rng_seed(&r, 9, (uint64_t)batch);
    for (int i = 0; i < LN; i++)
        grad[i] = p->a[i] * (theta[i] - 1.0f - (float)mt_rng_normal(&r));
    struct timespec ts = {0, 500000}; /* equal workers: 0.5 ms each */
    nanosleep(&ts, NULL);
    return MT_OK;
}

/* Expected loss minus its floor: 0.5 sum a_i (theta_i - 1)^2. */
static double lsq_excess(const struct lsq *p, const float *theta)
{
    double s = 0;
    for (int i = 0; i < LN; i++)
        s += 0.5 * p->a[i] * (theta[i] - 1.0) * (theta[i] - 1.0);
    return s;
}

static void bench_tau(void)
{
    static struct lsq p;
    mt_rng r;
    mt_rng_seed(&r, 8, 0);
    for (int i = 0; i < LN; i++)
        p.a[i] = 0.1f + 1.9f * (float)mt_rng_uniform(&r);
    float *theta0 = calloc(LN, sizeof(float));
    const int workers[] = {2, 4, 8};
    for (int t = 0; t < 3; t++) {
        int W = workers[t];
        for (int mode = 0; mode < 3; mode++) {
            mt_ps_server_config sc;
            server_config(&sc, LN, 0, 4);
            sc.opt.momentum = 0.5;
            sc.opt.weight_decay = 0;
            sc.schedule.base_lr = 0.02;
            static float bufs[8][2][LN];
            struct bworker bw[8];
            void *ctx[8];
            for (int i = 0; i < 8; i++) {
                bw[i] = (struct bworker){lsq_grad, &p, bufs[i][0], NULL, bufs[i][1]};
                ctx[i] = &bw[i];
            }
            mt_ps_config rc;
            mt_ps_config_default(&rc);
            rc.mode = mode == 0 ? MT_PS_ASYNC : MT_PS_DELAY;
            rc.workers = W;
            rc.threads = 1;
            rc.oversubscribe = 1;
            rc.delay = mode == 1 ? W - 1 : 0;
            rc.steps_per_epoch = 1000000;
            rc.worker_main = bworker_main;
            rc.worker_ctx = ctx;
            mt_ps *ps;
            if (mt_ps_create(&ps, &sc, &rc, theta0, NULL) < 0 || mt_ps_run(ps, 600) < 0) {
                fprintf(stderr, "bench ps: %s\n", mt_errmsg());
                exit(1);
            }
            mt_tau_summary s;
            mt_tau_hist_summary(mt_ps_tau_total(ps), &s);
            printf("bench ps tau workers=%d mode=%s delay=%lld tau_mean=%.3f tau_p99=%lld "
                   "excess_loss=%.4f\n",
                   W, mode == 0 ? "async" : "delay", (long long)rc.delay, s.mean,
                   (long long)s.p99, lsq_excess(&p, mt_ps_server_theta(mt_ps_server_of(ps))));
            mt_ps_free(ps);
        }
    }
    free(theta0);
}

/* Usage: ps [overhead|scaling|tau ...]: the named parts, all by default. */
int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int want[3] = {argc < 2, argc < 2, argc < 2};
    const char *names[3] = {"overhead", "scaling", "tau"};
    for (int i = 1; i < argc; i++)
        for (int j = 0; j < 3; j++)
            want[j] |= strcmp(argv[i], names[j]) == 0;
    double step_s = STATED_STEP_S;
    int have_resnet = 0;
    if (want[0] || want[1]) {
        double t = resnet_step_seconds();
        if (t > 0) {
            step_s = t;
            have_resnet = 1;
        }
    }
    if (want[0])
        bench_overhead(step_s);
    if (want[1])
        bench_scaling(have_resnet);
    if (want[2])
        bench_tau();
    return 0;
}
