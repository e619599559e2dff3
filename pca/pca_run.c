/* pca_run.c: one run of Async-MSGD on streaming PCA (eq. 2.1 of the paper):
 * the sampler, the Oja direction, the momentum step and the loop that keeps a
 * ring of past iterates for the delayed read. The delays are optim/delay.h's.
 *
 * Not parallel: one run is a short sequential chain; grids parallelise over
 * runs (pca_grid.c).
 */
#include "pca/pca.h"

#include "core/status.h"
#include "pca/pca_method.h"

#include <math.h>
#include <string.h>

/* Stream offsets: run r draws its data from stream r, its delays and its
 * random start from streams far away, so that changing the delay
 * distribution leaves the data sequence unchanged. */
#define DELAY_STREAM (UINT64_C(1) << 40)
#define INIT_STREAM (UINT64_C(2) << 40)

void mt_pca_sample(const mt_pca_cov *c, mt_pca_data_dist data, mt_rng *r, double *x, double *z)
{
    int d = c->d;
    if (data == MT_PCA_DATA_BOUNDED) {
        for (int i = 0; i < d; i++)
            z[i] = 3.4641016151377546 * (mt_rng_uniform(r) - 0.5); /* 2 sqrt 3 (u - 1/2) */
    } else {
        /* Box-Muller, both values of each pair: half the logs of one-at-a-time. */
        for (int i = 0; i < d; i += 2) {
            double u1 = 1.0 - mt_rng_uniform(r);
            double u2 = mt_rng_uniform(r);
            double rad = sqrt(-2.0 * log(u1));
            double angle = 6.283185307179586 * u2;
            z[i] = rad * cos(angle);
            if (i + 1 < d)
                z[i + 1] = rad * sin(angle);
        }
    }
    if (c->diagonal) {
        for (int i = 0; i < d; i++)
            x[i] = c->root[(size_t)i * d + i] * z[i];
    } else {
        for (int i = 0; i < d; i++) {
            const double *row = c->root + (size_t)i * d;
            double s = 0;
            for (int j = 0; j < d; j++)
                s += row[j] * z[j];
            x[i] = s;
        }
    }
}

void mt_pca_grad(double *g, const double *w, const double *x, int d)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        s += x[i] * w[i];
    for (int i = 0; i < d; i++)
        g[i] = s * (x[i] - s * w[i]);
}

void mt_pca_step(double *v_next, const double *v, const double *v_prev, const double *w,
                 const double *x, int d, double lr, double mu)
{
    double s = 0;
    for (int i = 0; i < d; i++)
        s += x[i] * w[i];
    /* v + mu (v - v_prev) + lr s (x - s w), with s (x - s w) = (I - w w^T) x x^T w */
    for (int i = 0; i < d; i++)
        v_next[i] = v[i] + mu * (v[i] - v_prev[i]) + lr * s * (x[i] - s * w[i]);
}

int mt_pca_run_check(const mt_pca_run_cfg *cfg)
{
    if (!cfg->cov || cfg->cov->d < 1)
        return mt_error(MT_ERR_ARG, "pca run: no covariance");
    if (!(cfg->lr > 0) || !isfinite(cfg->lr))
        return mt_error(MT_ERR_ARG, "pca run: learning rate %g, expected > 0", cfg->lr);
    if (!(cfg->momentum >= 0 && cfg->momentum < 1))
        return mt_error(MT_ERR_ARG, "pca run: momentum %g not in [0, 1)", cfg->momentum);
    if (cfg->delay < 0 || cfg->delay > 1000000)
        return mt_error(MT_ERR_ARG, "pca run: delay %d not in [0, 1000000]", cfg->delay);
    if (cfg->delay_dist < MT_DELAY_FIXED || cfg->delay_dist > MT_DELAY_GEOMETRIC)
        return mt_error(MT_ERR_ARG, "pca run: unknown delay distribution %d", (int)cfg->delay_dist);
    if (cfg->data != MT_PCA_DATA_GAUSSIAN && cfg->data != MT_PCA_DATA_BOUNDED)
        return mt_error(MT_ERR_ARG, "pca run: unknown data distribution %d", (int)cfg->data);
    if (cfg->iters < 1)
        return mt_error(MT_ERR_ARG, "pca run: %ld iterations, expected >= 1", cfg->iters);
    if (cfg->checkpoints < 0 || cfg->checkpoints > cfg->iters)
        return mt_error(MT_ERR_ARG, "pca run: %d checkpoints not in [0, iterations = %ld]",
                        cfg->checkpoints, cfg->iters);
    if (!(cfg->blowup > 1) || isnan(cfg->blowup))
        return mt_error(MT_ERR_ARG, "pca run: divergence bound %g, expected > 1", cfg->blowup);
    if (cfg->v0) {
        double nn = 0;
        for (int i = 0; i < cfg->cov->d; i++) {
            if (!isfinite(cfg->v0[i]))
                return mt_error(MT_ERR_ARG, "pca run: start vector entry %d is not finite", i + 1);
            nn += cfg->v0[i] * cfg->v0[i];
        }
        if (nn == 0)
            return mt_error(MT_ERR_ARG, "pca run: the start vector is zero (a fixed point)");
    }
    return mt_pca_method_check(cfg);
}

long mt_pca_run_work_size(const mt_pca_run_cfg *cfg)
{
    long ring = (long)mt_delay_default_cap(cfg->delay_dist, cfg->delay) + 1;
    /* ring of iterates, v_prev, v_next, x, z; the method's */
    return (ring + 4) * (long)cfg->cov->d + mt_pca_method_work_size(cfg);
}

/* How often |v|^2 is checked: a blow-up is cubic, so it reaches Inf within a
 * few dozen steps of leaving the sphere and a coarse check loses nothing. */
enum { CHECK_EVERY = 16 };

/* Steps between polls of cfg->stop: about a million flops (a step costs
 * about d flops, d^2 with a full covariance), a power of two in [1, 4096], so
 * a stop request is seen within milliseconds at any d and the poll costs
 * nothing measurable. */
static long poll_every(const mt_pca_cov *c)
{
    double flops = 8.0 * c->d * (c->diagonal ? 1 : c->d);
    long n = 4096;
    while (n > 1 && n * flops > 1e6)
        n /= 2;
    return n;
}

int mt_pca_run(const mt_pca_run_cfg *cfg, uint64_t seed, uint64_t run, double *work,
               double *trace, double *v_end, mt_pca_run_result *out)
{
    const mt_pca_cov *c = cfg->cov;
    const int d = c->d;
    mt_delay_dist delays;
    int rc = mt_delay_dist_init(&delays, cfg->delay_dist, cfg->delay, -1);
    if (rc < 0)
        return rc;
    const long ring = (long)delays.cap + 1;
    double *hist = work;              /* (ring, d): v_k lives in slot k % ring */
    double *v_prev = hist + ring * d; /* (d) v_{k-1} */
    double *v_next = v_prev + d;      /* (d) */
    double *x = v_next + d;           /* (d) */
    double *z = x + d;                /* (d) */

    mt_rng data_rng, delay_rng;
    mt_rng_seed(&data_rng, seed, run);
    mt_rng_seed(&delay_rng, seed, DELAY_STREAM + run);
    if (cfg->v0) {
        memcpy(hist, cfg->v0, (size_t)d * sizeof *hist);
    } else {
        mt_rng init_rng;
        mt_rng_seed(&init_rng, seed, INIT_STREAM + run);
        double nn;
        do {
            nn = 0;
            for (int i = 0; i < d; i++) {
                hist[i] = mt_rng_normal(&init_rng);
                nn += hist[i] * hist[i];
            }
        } while (nn == 0);
        for (int i = 0; i < d; i++)
            hist[i] /= sqrt(nn);
    }
    memcpy(v_prev, hist, (size_t)d * sizeof *hist); /* v_{-1} = v_0 */
    const int plain = cfg->method.kind == MT_METHOD_MSGD && !cfg->method.momentum_auto;
    mt_pca_method_state method;
    mt_pca_method_init(&method, cfg, z + d, hist);

    out->diverged = 0;
    out->diverged_at = -1;
    int next_ck = 0;
    long ck_at = cfg->checkpoints > 0 ? cfg->iters / cfg->checkpoints : -1;
    const long poll_mask = poll_every(c) - 1;
    long k;
    for (k = 0; k < cfg->iters; k++) {
        if (cfg->stop && (k & poll_mask) == poll_mask && cfg->stop(cfg->stop_ctx)) {
            mt_delay_dist_free(&delays);
            return MT_ERR_INTERRUPTED;
        }
        double *v = hist + (k % ring) * d;
        long t = (long)mt_delay_dist_draw(&delays, &delay_rng);
        if (t > k)
            t = k; /* before the start the history is v_0 */
        const double *w = hist + ((k - t) % ring) * d;
        mt_pca_sample(c, cfg->data, &data_rng, x, z);
        if (plain)
            mt_pca_step(v_next, v, v_prev, w, x, d, cfg->lr, cfg->momentum);
        else
            mt_pca_method_step(&method, k, t, v_next, v, v_prev, w, x);
        memcpy(v_prev, v, (size_t)d * sizeof *v);
        memcpy(hist + ((k + 1) % ring) * d, v_next, (size_t)d * sizeof *v);
        if ((k + 1) % CHECK_EVERY == 0 || k + 1 == cfg->iters) {
            double nn = 0;
            for (int i = 0; i < d; i++)
                nn += v_next[i] * v_next[i];
            if (!(nn <= cfg->blowup)) { /* also catches NaN */
                out->diverged = 1;
                out->diverged_at = k + 1;
                break;
            }
        }
        if (trace && next_ck < cfg->checkpoints && k + 1 == ck_at) {
            trace[next_ck++] = mt_pca_error(c, v_next);
            ck_at = cfg->iters * (next_ck + 1) / cfg->checkpoints;
        }
    }
    const double *v = hist + ((out->diverged ? k + 1 : cfg->iters) % ring) * d;
    double nn = 0;
    for (int i = 0; i < d; i++)
        nn += v[i] * v[i];
    out->norm = sqrt(nn);
    out->error = out->diverged ? 1.0 : mt_pca_error(c, v);
    if (trace)
        for (; next_ck < cfg->checkpoints; next_ck++)
            trace[next_ck] = 1.0; /* the error of a diverged run */
    if (v_end)
        memcpy(v_end, v, (size_t)d * sizeof *v);
    mt_delay_dist_free(&delays);
    return MT_OK;
}
