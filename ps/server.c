/* server.c: sharded parameter server state, pull and push (see server.h for
 * the update, the consistency it guarantees and the BN state policy). */
#include "ps/server.h"

#include "core/status.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Shard boundaries fall on 16-float (64-byte) multiples so that two shards
 * never share a cache line. */
enum { SHARD_ALIGN = 16 };

struct shard {
    _Alignas(64) pthread_mutex_t lock;
    size_t begin, end;
    int64_t version; /* pushes applied to this shard; guarded by lock */
};

struct mt_ps_server {
    mt_ps_server_config cfg;
    mt_method *method;    /* the update rule, with its own copy of the decay ranges */
    float *theta, *velocity, *state;
    struct shard *shard;
    pthread_mutex_t state_lock; /* the stage after the last shard */
    _Atomic int64_t completed;  /* pushes that have passed every stage */
};

void mt_ps_shard_range(size_t n, int shards, int i, size_t *begin, size_t *end)
{
    size_t units = (n + SHARD_ALIGN - 1) / SHARD_ALIGN;
    size_t b = units * (size_t)i / (size_t)shards * SHARD_ALIGN;
    size_t e = units * (size_t)(i + 1) / (size_t)shards * SHARD_ALIGN;
    *begin = b < n ? b : n;
    *end = e < n ? e : n;
}

void mt_ps_server_config_default(mt_ps_server_config *cfg, size_t n, size_t n_state)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->n = n;
    cfg->n_state = n_state;
    cfg->shards = 1;
    cfg->opt.momentum = 0.9;
    cfg->opt.weight_decay = 5e-4;
    cfg->schedule.kind = MT_SCHED_CONSTANT;
    cfg->schedule.base_lr = 0.1;
    cfg->schedule.steps_per_epoch = 1;
    cfg->state_momentum = 0.1;
    mt_dc_asgd_config_default(&cfg->dc);
}

static void method_config(const mt_ps_server_config *cfg, mt_method_config *mc)
{
    mt_method_config_default(mc, cfg->method, &cfg->opt);
    mc->momentum_auto = cfg->momentum_auto;
    if (cfg->method == MT_METHOD_DC_ASGD)
        mc->dc = cfg->dc;
    mc->workers = cfg->workers > 0 ? cfg->workers : 1;
}

int mt_ps_server_config_check(const mt_ps_server_config *cfg)
{
    if (cfg->n == 0)
        return mt_error(MT_ERR_ARG, "ps: parameter count is 0");
    if (cfg->shards < 1 || cfg->shards > MT_PS_MAX_SHARDS)
        return mt_error(MT_ERR_ARG, "ps: shards: %d is not in [1, %d]", cfg->shards,
                        MT_PS_MAX_SHARDS);
    int rc = mt_msgd_config_check(&cfg->opt);
    if (rc < 0)
        return mt_error_context(rc, "ps");
    rc = mt_schedule_check(&cfg->schedule);
    if (rc < 0)
        return mt_error_context(rc, "ps");
    if (!(cfg->state_momentum >= 0.0 && cfg->state_momentum < 1.0))
        return mt_error(MT_ERR_ARG, "ps: state momentum %g is not in [0, 1)",
                        cfg->state_momentum);
    if (cfg->decay && cfg->decay->n != cfg->n)
        return mt_error(MT_ERR_ARG, "ps: weight-decay ranges cover %zu floats, parameters are %zu",
                        cfg->decay->n, cfg->n);
    mt_method_config mc;
    method_config(cfg, &mc);
    if ((rc = mt_method_config_check(&mc)) < 0)
        return mt_error_context(rc, "ps");
    return MT_OK;
}

static float *alloc_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

void mt_ps_server_free(mt_ps_server *s)
{
    if (!s)
        return;
    if (s->shard) {
        for (int i = 0; i < s->cfg.shards; i++)
            pthread_mutex_destroy(&s->shard[i].lock);
        free(s->shard);
    }
    pthread_mutex_destroy(&s->state_lock);
    mt_method_free(s->method);
    free(s->theta);
    free(s->velocity);
    free(s->state);
    free(s);
}

int mt_ps_server_create(mt_ps_server **out, const mt_ps_server_config *cfg, const float *theta0,
                        const float *state0)
{
    *out = NULL;
    int rc = mt_ps_server_config_check(cfg);
    if (rc < 0)
        return rc;
    if (!theta0)
        return mt_error(MT_ERR_ARG, "ps: theta0 is NULL");
    mt_ps_server *s = calloc(1, sizeof *s);
    if (!s)
        return mt_error(MT_ERR_NOMEM, "ps: out of memory");
    s->cfg = *cfg;
    s->cfg.decay = NULL;
    pthread_mutex_init(&s->state_lock, NULL);
    mt_method_config mc;
    method_config(cfg, &mc);
    if ((rc = mt_method_create(&s->method, &mc, cfg->decay, cfg->n)) < 0) {
        mt_ps_server_free(s);
        return mt_error_context(rc, "ps");
    }
    s->theta = alloc_floats(cfg->n);
    s->velocity = alloc_floats(cfg->n);
    s->state = cfg->n_state ? alloc_floats(cfg->n_state) : NULL;
    s->shard = aligned_alloc(64, (size_t)cfg->shards * sizeof *s->shard);
    if (!s->theta || !s->velocity || (cfg->n_state && !s->state) || !s->shard) {
        free(s->shard);
        s->shard = NULL;
        mt_ps_server_free(s);
        return mt_error(MT_ERR_NOMEM, "ps: out of memory for %zu parameters", cfg->n);
    }
    memcpy(s->theta, theta0, cfg->n * sizeof(float));
    memset(s->velocity, 0, cfg->n * sizeof(float));
    if (cfg->n_state) {
        if (state0)
            memcpy(s->state, state0, cfg->n_state * sizeof(float));
        else
            memset(s->state, 0, cfg->n_state * sizeof(float));
    }
    for (int i = 0; i < cfg->shards; i++) {
        struct shard *sh = &s->shard[i];
        memset(sh, 0, sizeof *sh);
        pthread_mutex_init(&sh->lock, NULL);
        mt_ps_shard_range(cfg->n, cfg->shards, i, &sh->begin, &sh->end);
    }
    atomic_init(&s->completed, 0);
    *out = s;
    return MT_OK;
}

/* The one place the server calls the optimizer. */
static void apply_step(mt_ps_server *s, const mt_method_push *p, const float *grad,
                       const float *theta_read, size_t begin, size_t end)
{
    if (begin < end)
        mt_method_apply(s->method, p, s->theta, s->velocity, grad, theta_read, begin, end);
}

double mt_ps_server_lr(const mt_ps_server *s, int64_t k)
{
    return mt_schedule_lr(&s->cfg.schedule, k);
}

/* The hand-over-hand walk: with shard 0 already locked by the caller, runs
 * shard_fn on shards 0..S-1 and then state_fn (under the state lock when there
 * is state), taking each lock before releasing the previous one. */
typedef void (*stage_fn)(mt_ps_server *s, int shard, void *arg);

static void walk(mt_ps_server *s, stage_fn shard_fn, stage_fn state_fn, void *arg)
{
    struct shard *sh = s->shard;
    int last = s->cfg.shards - 1;
    for (int i = 0;; i++) {
        shard_fn(s, i, arg);
        if (i == last)
            break;
        pthread_mutex_lock(&sh[i + 1].lock);
        pthread_mutex_unlock(&sh[i].lock);
    }
    if (s->cfg.n_state) {
        pthread_mutex_lock(&s->state_lock);
        pthread_mutex_unlock(&sh[last].lock);
        state_fn(s, -1, arg);
        pthread_mutex_unlock(&s->state_lock);
    } else {
        state_fn(s, -1, arg);
        pthread_mutex_unlock(&sh[last].lock);
    }
}

struct pull_arg {
    float *theta, *state;
    double mu; /* dana's look-ahead */
};

static void pull_shard(mt_ps_server *s, int i, void *arg)
{
    struct pull_arg *a = arg;
    const struct shard *sh = &s->shard[i];
    mt_method_read(s->method, s->theta, s->velocity, a->theta, sh->begin, sh->end, a->mu);
}

static void pull_state(mt_ps_server *s, int i, void *arg)
{
    struct pull_arg *a = arg;
    if (a->state && s->cfg.n_state)
        memcpy(a->state, s->state, s->cfg.n_state * sizeof(float));
}

int64_t mt_ps_pull(mt_ps_server *s, float *theta, float *state)
{
    struct pull_arg a = {theta, state, 0};
    pthread_mutex_lock(&s->shard[0].lock);
    int64_t v = s->shard[0].version;
    a.mu = mt_method_momentum(s->method); /* pushes change it under this lock */
    walk(s, pull_shard, pull_state, &a);
    return v;
}

struct push_arg {
    const float *grad, *theta_read, *state_new, *state_read;
    int64_t k, tau;
    mt_method_push p;
};

static void push_shard(mt_ps_server *s, int i, void *arg)
{
    struct push_arg *a = arg;
    struct shard *sh = &s->shard[i];
    apply_step(s, &a->p, a->grad, a->theta_read, sh->begin, sh->end);
    sh->version = a->k + 1;
}

/* The BN state merge (server.h), then the push counts as complete. */
static void push_state(mt_ps_server *s, int i, void *arg)
{
    struct push_arg *a = arg;
    if (a->state_new && s->cfg.n_state) {
        float *st = s->state;
        size_t m = s->cfg.n_state;
        const float *sn = a->state_new, *sv = a->state_read;
        if (a->tau == 0 || !sv) {
            memcpy(st, sn, m * sizeof(float));
        } else if (s->cfg.state_momentum > 0) {
            const float keep = (float)(1.0 - s->cfg.state_momentum);
            for (size_t j = 0; j < m; j++)
                st[j] = sn[j] + keep * (st[j] - sv[j]);
        } else {
            for (size_t j = 0; j < m; j++)
                st[j] += sn[j] - sv[j];
        }
    }
    atomic_store_explicit(&s->completed, a->k + 1, memory_order_release);
}

int64_t mt_ps_push(mt_ps_server *s, const float *grad, int64_t version_read,
                   const float *state_new, const float *state_read, int64_t *k_out)
{
    return mt_ps_push_from(s, 0, grad, NULL, version_read, state_new, state_read, k_out);
}

int64_t mt_ps_push_from(mt_ps_server *s, int worker, const float *grad, const float *theta_read,
                        int64_t version_read, const float *state_new, const float *state_read,
                        int64_t *k_out)
{
    int workers = s->cfg.workers > 0 ? s->cfg.workers : 1;
    if (worker < 0 || worker >= workers)
        return mt_error(MT_ERR_ARG, "ps: push from worker %d of %d", worker, workers);
    if (!theta_read && mt_method_needs_read(s->method))
        return mt_error(MT_ERR_ARG, "ps: method %s needs the parameters the gradient was computed at",
                        mt_method_name(s->cfg.method));
    pthread_mutex_lock(&s->shard[0].lock);
    int64_t k = s->shard[0].version;
    if (version_read < 0 || version_read > k) {
        pthread_mutex_unlock(&s->shard[0].lock);
        return mt_error(MT_ERR_ARG, "ps: push of a gradient from version %lld, server is at %lld",
                        (long long)version_read, (long long)k);
    }
    struct push_arg a = {grad, theta_read, state_new, state_read, k, k - version_read, {0}};
    a.p = mt_method_begin(s->method, worker, a.tau, mt_schedule_lr(&s->cfg.schedule, k));
    walk(s, push_shard, push_state, &a);
    if (k_out)
        *k_out = k;
    return a.tau;
}

void mt_ps_server_apply_range(mt_ps_server *s, const float *grad, int64_t k, size_t begin,
                              size_t end)
{
    /* tau = 0 every step: the auto momentum stays at its target, the step is
     * eta_k, dc-asgd's correction is zero (no theta_read: msgd's arithmetic). */
    mt_method_push p = {.worker = 0, .tau = 0, .lr = mt_schedule_lr(&s->cfg.schedule, k),
                        .mu = mt_method_momentum(s->method)};
    apply_step(s, &p, grad, NULL, begin, end);
}

mt_method *mt_ps_server_method(mt_ps_server *s) { return s->method; }

void mt_ps_server_read(mt_ps_server *s, float *out)
{
    mt_method_read(s->method, s->theta, s->velocity, out, 0, s->cfg.n, mt_method_momentum(s->method));
}

void mt_ps_average(float *dst, const float *const *src, int m, size_t begin, size_t end)
{
    const float inv = (float)m;
    for (size_t i = begin; i < end; i++) {
        float acc = 0.0f;
        for (int j = 0; j < m; j++)
            acc += src[j][i];
        dst[i] = acc / inv;
    }
}

void mt_ps_server_advance(mt_ps_server *s)
{
    int64_t k = atomic_load_explicit(&s->completed, memory_order_acquire);
    mt_ps_server_set_version(s, k + 1);
}

void mt_ps_server_set_state(mt_ps_server *s, const float *state)
{
    if (!s->cfg.n_state)
        return;
    pthread_mutex_lock(&s->state_lock);
    memcpy(s->state, state, s->cfg.n_state * sizeof(float));
    pthread_mutex_unlock(&s->state_lock);
}

int64_t mt_ps_server_version(const mt_ps_server *s)
{
    return atomic_load_explicit(&((mt_ps_server *)s)->completed, memory_order_acquire);
}

float *mt_ps_server_theta(mt_ps_server *s) { return s->theta; }
float *mt_ps_server_velocity(mt_ps_server *s) { return s->velocity; }
float *mt_ps_server_state(mt_ps_server *s) { return s->state; }
size_t mt_ps_server_n(const mt_ps_server *s) { return s->cfg.n; }
size_t mt_ps_server_n_state(const mt_ps_server *s) { return s->cfg.n_state; }
int mt_ps_server_shards(const mt_ps_server *s) { return s->cfg.shards; }

void mt_ps_server_shard(const mt_ps_server *s, int i, size_t *begin, size_t *end,
                        int64_t *version)
{
    const struct shard *sh = &s->shard[i];
    if (begin)
        *begin = sh->begin;
    if (end)
        *end = sh->end;
    if (version)
        *version = sh->version;
}

int mt_ps_server_set_version(mt_ps_server *s, int64_t k)
{
    if (k < 0)
        return mt_error(MT_ERR_ARG, "ps: version %lld < 0", (long long)k);
    for (int i = 0; i < s->cfg.shards; i++) {
        pthread_mutex_lock(&s->shard[i].lock);
        s->shard[i].version = k;
        pthread_mutex_unlock(&s->shard[i].lock);
    }
    atomic_store_explicit(&s->completed, k, memory_order_release);
    return MT_OK;
}
