/* method.c: the per-push rules behind one interface (see method.h). */
#include "optim/method.h"

#include "core/status.h"
#include "optim/dana.h"
#include "optim/staleness_lr.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[MT_METHOD_COUNT] = {"msgd", "staleness-lr", "dc-asgd", "dana"};

enum { META_N = 6, LAYOUT = 1 };
static const char *const meta_names[META_N] = {"layout",         "method",   "workers",
                                               "parameter count", "momentum auto", "dc-asgd adaptive"};

struct mt_method {
    mt_method_config cfg;
    mt_msgd_ranges decay;
    size_t n;
    mt_momentum_auto autom;
    float *mean_square; /* (n) dc-asgd-a */
    float *u;           /* (W, n) dana */
    int64_t meta[META_N];
};

const char *mt_method_name(mt_method_kind k)
{
    return k >= 0 && k < MT_METHOD_COUNT ? names[k] : "?";
}

int mt_method_parse(const char *name, mt_method_kind *out)
{
    for (int k = 0; k < MT_METHOD_COUNT; k++)
        if (strcmp(name, names[k]) == 0) {
            *out = (mt_method_kind)k;
            return MT_OK;
        }
    return mt_error(MT_ERR_ARG, "method '%s': expected msgd, staleness-lr, dc-asgd or dana", name);
}

void mt_method_config_default(mt_method_config *c, mt_method_kind kind, const mt_msgd_config *opt)
{
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->opt = *opt;
    c->momentum_auto = 0;
    mt_dc_asgd_config_default(&c->dc);
    c->workers = 1;
}

int mt_method_config_check(const mt_method_config *c)
{
    if (c->kind < 0 || c->kind >= MT_METHOD_COUNT)
        return mt_error(MT_ERR_ARG, "method: unknown kind %d", (int)c->kind);
    int rc = mt_msgd_config_check(&c->opt);
    if (rc < 0)
        return rc;
    if (c->kind == MT_METHOD_DC_ASGD && (rc = mt_dc_asgd_config_check(&c->dc)) < 0)
        return rc;
    if (c->workers < 1 || c->workers > 1 << 20)
        return mt_error(MT_ERR_ARG, "method workers: %d is not in [1, 1048576]", c->workers);
    if (c->kind == MT_METHOD_DANA && c->opt.nesterov)
        return mt_error(MT_ERR_ARG, "method dana: Nesterov is refused (dana's look-ahead is the "
                                    "Nesterov step already)");
    return MT_OK;
}

int mt_method_create(mt_method **out, const mt_method_config *c, const mt_msgd_ranges *decay,
                     size_t n)
{
    *out = NULL;
    int rc = mt_method_config_check(c);
    if (rc < 0)
        return rc;
    mt_method *m = calloc(1, sizeof *m);
    if (!m)
        return mt_error(MT_ERR_NOMEM, "method: out of memory");
    m->cfg = *c;
    m->n = n;
    mt_momentum_auto_init(&m->autom, c->opt.momentum);
    mt_msgd_ranges_init(&m->decay, n);
    if (decay) {
        if (decay->n != n) {
            mt_method_free(m);
            return mt_error(MT_ERR_ARG, "method: weight-decay ranges for %zu floats, buffer of %zu",
                            decay->n, n);
        }
        for (int i = 0; i < decay->n_ranges && rc == MT_OK; i++)
            rc = mt_msgd_ranges_add(&m->decay, decay->ranges[i].offset, decay->ranges[i].count,
                                    decay->ranges[i].decay);
    } else {
        rc = mt_msgd_ranges_add(&m->decay, 0, n, 1);
    }
    if (rc < 0) {
        mt_method_free(m);
        return rc;
    }
    if (c->kind == MT_METHOD_DC_ASGD && c->dc.adaptive)
        m->mean_square = calloc(n ? n : 1, sizeof *m->mean_square);
    if (c->kind == MT_METHOD_DANA)
        m->u = calloc((size_t)c->workers * (n ? n : 1), sizeof *m->u);
    if ((c->kind == MT_METHOD_DC_ASGD && c->dc.adaptive && !m->mean_square) ||
        (c->kind == MT_METHOD_DANA && !m->u)) {
        mt_method_free(m);
        return mt_error(MT_ERR_NOMEM, "method %s: out of memory for its state (%d workers x %zu floats)",
                        names[c->kind], c->workers, n);
    }
    *out = m;
    return MT_OK;
}

void mt_method_free(mt_method *m)
{
    if (!m)
        return;
    mt_msgd_ranges_free(&m->decay);
    free(m->mean_square);
    free(m->u);
    free(m);
}

const mt_method_config *mt_method_config_of(const mt_method *m) { return &m->cfg; }
float *mt_method_mean_square(mt_method *m) { return m->mean_square; }
float *mt_method_dana_u(mt_method *m) { return m->u; }
mt_momentum_auto *mt_method_auto(mt_method *m) { return &m->autom; }

int mt_method_needs_read(const mt_method *m)
{
    return m->cfg.kind == MT_METHOD_DC_ASGD && m->cfg.dc.lambda0 > 0;
}

mt_method_push mt_method_begin(mt_method *m, int worker, int64_t tau, double lr)
{
    mt_method_push p = {.worker = worker, .tau = tau, .lr = lr, .mu = m->cfg.opt.momentum};
    if (m->cfg.momentum_auto)
        p.mu = mt_momentum_auto_observe(&m->autom, tau);
    if (m->cfg.kind == MT_METHOD_STALENESS_LR)
        p.lr = mt_staleness_lr(lr, tau);
    return p;
}

double mt_method_momentum(const mt_method *m)
{
    return m->cfg.momentum_auto ? mt_momentum_auto_current(&m->autom) : m->cfg.opt.momentum;
}

struct apply {
    mt_method *m;
    const mt_method_push *p;
    float *theta, *velocity;
    const float *grad, *theta_read;
};

static void apply_piece(void *ctx, size_t b, size_t e, double wd)
{
    const struct apply *a = ctx;
    const mt_method *m = a->m;
    const mt_method_push *p = a->p;
    size_t n = e - b;
    switch (m->cfg.kind) {
    case MT_METHOD_DC_ASGD:
        if (a->theta_read) {
            mt_dc_asgd_step(&m->cfg.dc, a->theta + b, a->velocity + b,
                            m->mean_square ? m->mean_square + b : NULL, a->grad + b,
                            a->theta_read + b, n, p->lr, p->mu, wd, m->cfg.opt.nesterov);
            break;
        }
        /* lambda_0 = 0 needs no theta_read: the correction is zero. */
        /* fall through */
    case MT_METHOD_MSGD:
    case MT_METHOD_STALENESS_LR:
        mt_msgd_step(a->theta + b, a->velocity + b, a->grad + b, n, p->lr, p->mu, wd,
                     m->cfg.opt.nesterov);
        break;
    case MT_METHOD_DANA:
        mt_dana_step(a->theta + b, m->u + (size_t)p->worker * m->n + b, a->velocity + b,
                     a->grad + b, n, p->lr, p->mu, wd);
        break;
    default: break;
    }
}

void mt_method_apply(mt_method *m, const mt_method_push *p, float *theta, float *velocity,
                     const float *grad, const float *theta_read, size_t begin, size_t end)
{
    struct apply a = {m, p, theta, velocity, grad, theta_read};
    mt_msgd_ranges_walk(&m->decay, begin, end, m->cfg.opt.weight_decay, apply_piece, &a);
}

void mt_method_read(const mt_method *m, const float *theta, const float *velocity, float *out,
                    size_t begin, size_t end, double mu)
{
    if (m->cfg.kind == MT_METHOD_DANA)
        mt_dana_lookahead(out + begin, theta + begin, velocity + begin, end - begin, mu);
    else if (out != theta)
        memcpy(out + begin, theta + begin, (end - begin) * sizeof *out);
}

static void fill_meta(const mt_method *m, int64_t *meta)
{
    meta[0] = LAYOUT;
    meta[1] = m->cfg.kind;
    meta[2] = m->cfg.kind == MT_METHOD_DANA ? m->cfg.workers : 0;
    meta[3] = (int64_t)m->n;
    meta[4] = m->cfg.momentum_auto;
    meta[5] = m->cfg.kind == MT_METHOD_DC_ASGD ? m->cfg.dc.adaptive : 0;
}

/* The state sections after method.meta, pointing into m. */
static int sections(mt_method *m, const char **name, void **data, size_t *size)
{
    int k = 0;
    name[k] = "method.auto_tau_sum";
    data[k] = &m->autom.tau_sum;
    size[k++] = sizeof m->autom.tau_sum;
    name[k] = "method.auto_count";
    data[k] = &m->autom.count;
    size[k++] = sizeof m->autom.count;
    if (m->mean_square) {
        name[k] = "method.mean_square";
        data[k] = m->mean_square;
        size[k++] = m->n * sizeof *m->mean_square;
    }
    if (m->u) {
        name[k] = "method.dana_u";
        data[k] = m->u;
        size[k++] = (size_t)m->cfg.workers * m->n * sizeof *m->u;
    }
    return k;
}

int mt_method_ckpt_add(mt_method *m, mt_ckpt *c)
{
    fill_meta(m, m->meta);
    int rc = mt_ckpt_add(c, "method.meta", m->meta, sizeof m->meta);
    const char *name[4];
    void *data[4];
    size_t size[4];
    int k = sections(m, name, data, size);
    for (int i = 0; i < k && rc == MT_OK; i++)
        rc = mt_ckpt_add(c, name[i], data[i], size[i]);
    return rc;
}

int mt_method_ckpt_load(mt_method *m, const mt_ckpt *c)
{
    /* A checkpoint from before methods is msgd's, which has no state. */
    if (m->cfg.kind == MT_METHOD_MSGD && !m->cfg.momentum_auto && !mt_ckpt_find(c, "method.meta"))
        return MT_OK;
    int64_t want[META_N], got[META_N];
    fill_meta(m, want);
    int rc = mt_ckpt_get(c, "method.meta", got, sizeof got);
    if (rc < 0)
        return rc;
    for (int i = 0; i < META_N; i++) {
        if (got[i] == want[i])
            continue;
        if (i == 1)
            return mt_error(MT_ERR_FORMAT, "checkpoint: method is %s, this run's is %s",
                            mt_method_name((mt_method_kind)got[1]), names[m->cfg.kind]);
        return mt_error(MT_ERR_FORMAT, "checkpoint: method %s is %lld, this run's is %lld",
                        meta_names[i], (long long)got[i], (long long)want[i]);
    }
    const char *name[4];
    void *data[4];
    size_t size[4];
    int k = sections(m, name, data, size);
    for (int i = 0; i < k; i++)
        if ((rc = mt_ckpt_get(c, name[i], data[i], size[i])) < 0)
            return rc;
    return MT_OK;
}
