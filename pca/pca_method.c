/* pca_method.c: the remedies on the streaming-PCA iteration (see pca_method.h). */
#include "pca/pca_method.h"

#include "core/status.h"
#include "optim/staleness_lr.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

int mt_pca_method_parse(const char *name, mt_pca_method *out)
{
    memset(out, 0, sizeof *out);
    mt_dc_asgd_config_default(&out->dc);
    if (strcmp(name, "auto") == 0) {
        out->kind = MT_METHOD_MSGD;
        out->momentum_auto = 1;
        return MT_OK;
    }
    if (mt_method_parse(name, &out->kind) == MT_OK)
        return MT_OK;
    return mt_error(MT_ERR_ARG, "method '%s': expected msgd, staleness-lr, dc-asgd, dana or auto",
                    name);
}

const char *mt_pca_method_name(const mt_pca_method *m, char *buf, int cap)
{
    if (m->kind == MT_METHOD_MSGD && m->momentum_auto)
        snprintf(buf, (size_t)cap, "auto");
    else
        snprintf(buf, (size_t)cap, "%s%s", mt_method_name(m->kind), m->momentum_auto ? "+auto" : "");
    return buf;
}

int mt_pca_method_check(const mt_pca_run_cfg *cfg)
{
    const mt_pca_method *m = &cfg->method;
    if (m->kind < 0 || m->kind >= MT_METHOD_COUNT)
        return mt_error(MT_ERR_ARG, "pca run: unknown method %d", (int)m->kind);
    if (m->kind == MT_METHOD_DC_ASGD) {
        int rc = mt_dc_asgd_config_check(&m->dc);
        if (rc < 0)
            return rc;
    }
    if (m->kind == MT_METHOD_DANA && cfg->delay_dist != MT_PCA_DELAY_FIXED)
        return mt_error(MT_ERR_ARG, "pca run: method dana needs fixed delays (W = tau + 1 workers "
                                    "served in turn); a random delay has no worker to give it");
    return MT_OK;
}

static int workers(const mt_pca_run_cfg *cfg) { return cfg->delay + 1; }

long mt_pca_method_work_size(const mt_pca_run_cfg *cfg)
{
    long d = cfg->cov->d, n = d; /* dir */
    if (cfg->method.kind == MT_METHOD_DC_ASGD && cfg->method.dc.adaptive)
        n += d;
    if (cfg->method.kind == MT_METHOD_DANA)
        n += (long)workers(cfg) * d + d + (mt_delay_default_cap(cfg->delay_dist, cfg->delay) + 1) * d;
    return n;
}

void mt_pca_method_init(mt_pca_method_state *s, const mt_pca_run_cfg *cfg, double *work,
                        const double *v0)
{
    memset(s, 0, sizeof *s);
    s->cfg = cfg;
    s->d = cfg->cov->d;
    s->dir = work;
    work += s->d;
    mt_momentum_auto_init(&s->autom, cfg->momentum);
    if (cfg->method.kind == MT_METHOD_DC_ASGD && cfg->method.dc.adaptive) {
        s->mean_square = work;
        memset(s->mean_square, 0, (size_t)s->d * sizeof *work);
        work += s->d;
    }
    if (cfg->method.kind == MT_METHOD_DANA) {
        s->workers = workers(cfg);
        s->ring = mt_delay_default_cap(cfg->delay_dist, cfg->delay) + 1;
        s->u = work;
        work += (long)s->workers * s->d;
        s->u_sum = work;
        work += s->d;
        s->reads = work;
        memset(s->u, 0, (size_t)(s->workers + 1) * s->d * sizeof *work);
        memcpy(s->reads, v0, (size_t)s->d * sizeof *v0); /* everyone reads v_0 first */
    }
}

int mt_pca_method_own_reads(const mt_pca_method_state *s) { return s->reads != NULL; }

void mt_pca_method_step(mt_pca_method_state *s, long k, long t, double *v_next, const double *v,
                        const double *v_prev, const double *w, const double *x)
{
    const mt_pca_run_cfg *cfg = s->cfg;
    const int d = s->d;
    double lr = cfg->lr, mu = cfg->momentum;
    if (cfg->method.momentum_auto)
        mu = mt_momentum_auto_observe(&s->autom, t);
    if (cfg->method.kind == MT_METHOD_STALENESS_LR)
        lr = mt_staleness_lr(lr, t);
    if (cfg->method.kind != MT_METHOD_DC_ASGD && cfg->method.kind != MT_METHOD_DANA) {
        /* Only the step or the momentum differ: eq. 2.1's own arithmetic. */
        mt_pca_step(v_next, v, v_prev, w, x, d, lr, mu);
        return;
    }
    if (s->reads)
        w = s->reads + ((k - t) % s->ring) * d;
    double *D = s->dir;
    mt_pca_grad(D, w, x, d);
    if (cfg->method.kind == MT_METHOD_DC_ASGD) {
        /* g = -D: g~ = g + lambda g g (v - w), so D~ = D - lambda D D (v - w).
         * The step is eq. 2.1's expression minus lr times the correction, so a
         * zero correction (tau = 0, lambda_0 = 0) leaves its bits alone. */
        const mt_dc_asgd_config *dc = &cfg->method.dc;
        double sx = 0;
        for (int i = 0; i < d; i++)
            sx += x[i] * w[i];
        for (int i = 0; i < d; i++) {
            double lam = dc->lambda0;
            if (s->mean_square) {
                s->mean_square[i] = dc->decay * s->mean_square[i] + (1 - dc->decay) * D[i] * D[i];
                lam = dc->lambda0 / sqrt(s->mean_square[i] + dc->eps);
            }
            double corr = lam * D[i] * D[i] * (v[i] - w[i]);
            v_next[i] = v[i] + mu * (v[i] - v_prev[i]) + lr * sx * (x[i] - sx * w[i]) - lr * corr;
        }
        return;
    }
    if (cfg->method.kind == MT_METHOD_DANA) {
        double *u = s->u + (k % s->workers) * d;
        double *read = s->reads + ((k + 1) % s->ring) * d;
        for (int i = 0; i < d; i++) {
            double old = u[i];
            u[i] = mu * old + lr * D[i];
            v_next[i] = v[i] + u[i];
            s->u_sum[i] += u[i] - old;
            read[i] = v_next[i] + mu * s->u_sum[i];
        }
        return;
    }
}
