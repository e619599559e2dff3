/* train_ps.c: a training run whose steps the parameter server takes (see
 * train_ps.h): settings, the network workers over the server's transport,
 * the epoch-end callback (the server's state into the trainer, then the
 * trainer's one epoch end) and the run as the trainer's engine. */
#include "trainer/train_ps.h"

#include "core/checkpoint.h"
#include "core/meminfo.h"
#include "core/signals.h"
#include "core/status.h"
#include "ps/ps.h"
#include "ps/ps_ckpt.h"
#include "optim/method.h"
#include "trainer/mem_guard.h"
#include "trainer/net_worker.h"
#include "trainer/rundir.h"

#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <time.h>

/* log.csv's columns after the single-process ones. */
#define PS_LOG_COLUMNS ",tau_mean,tau_max,tau_p50,tau_p90,tau_p99,server_share,momentum,dropped"

struct worker {
    mt_train_ps *r;
    mt_net *own_net; /* NULL for worker 0, which steps the trainer's net */
    mt_net_worker nw;
    mt_worker loop;  /* the loop's buffers (the net's own) and step */
};

struct mt_train_ps {
    mt_trainer *t;
    mt_train_ps_config cfg; /* delay resolved */
    int per_step;           /* batches per server step: W in sync mode, else 1 */
    int slots;              /* batches trained per epoch: steps per epoch x per_step */
    int64_t dropped_before; /* mt_ps_dropped at the last epoch's end */
    mt_ps *ps;
    struct worker *w;
    int n_workers;
    void **ctx;
    double *loss;     /* (slots) loss x images of each batch of the epoch in progress */
    int32_t *correct; /* (slots) its top-1 hits */
    /* the run in progress */
    double t_epoch;  /* start of this process's part of the epoch in progress */
    int64_t v_epoch; /* the version then */
    mt_ps_timing timing_epoch; /* mt_ps_timing totals at t_epoch */
    /* memory at the start: what the run was expected to hold and what there was */
    uint64_t mem_need, mem_budget; /* bytes; mem_budget 0: unknown or not checked */
};

/* ---- settings ------------------------------------------------------------- */

void mt_train_ps_config_default(mt_train_ps_config *p)
{
    memset(p, 0, sizeof *p);
    p->workers = 1;
    p->mode = MT_PS_ASYNC;
    p->delay_kind = MT_DELAY_FIXED;
    p->delay = -1;
    p->shards = 4;
    p->max_staleness = -1;
}

int mt_train_ps_enabled(const mt_train_ps_config *p)
{
    return !(p->workers == 1 && p->mode == MT_PS_ASYNC && p->method != MT_METHOD_DANA);
}

static int64_t resolved_delay(const mt_train_ps_config *p)
{
    return p->delay >= 0 ? p->delay : p->workers - 1;
}

int mt_train_ps_config_check(const mt_train_ps_config *p, int threads)
{
    if (p->workers < 1 || p->workers > 4096)
        return mt_error(MT_ERR_ARG, "--workers: %d is not in [1, 4096]", p->workers);
    if (p->mode < MT_PS_ASYNC || p->mode > MT_PS_DELAY)
        return mt_error(MT_ERR_ARG, "--mode: %d is not async, sync or delay", p->mode);
    if (p->shards < 1 || p->shards > MT_PS_MAX_SHARDS)
        return mt_error(MT_ERR_ARG, "--shards: %d is not in [1, %d]", p->shards,
                        MT_PS_MAX_SHARDS);
    if (p->delay_kind < MT_DELAY_FIXED || p->delay_kind > MT_DELAY_GEOMETRIC)
        return mt_error(MT_ERR_ARG, "--delay-dist: %d is not fixed, uniform or geometric",
                        p->delay_kind);
    if (p->mode != MT_PS_DELAY && p->delay >= 0)
        return mt_error(MT_ERR_ARG, "--delay: only with --mode delay (the mode is %s)",
                        mt_ps_mode_name(p->mode));
    if (p->mode != MT_PS_DELAY && p->delay_kind != MT_DELAY_FIXED)
        return mt_error(MT_ERR_ARG, "--delay-dist: only with --mode delay (the mode is %s)",
                        mt_ps_mode_name(p->mode));
    if (p->max_staleness >= 0 && p->mode != MT_PS_ASYNC)
        return mt_error(MT_ERR_ARG, "--max-staleness: only with --mode async (the mode is %s)",
                        mt_ps_mode_name(p->mode));
    if (p->method < 0 || p->method >= MT_METHOD_COUNT)
        return mt_error(MT_ERR_ARG, "--method: %d is not a method", p->method);
    if (p->method == MT_METHOD_DANA && p->mode == MT_PS_SYNC)
        return mt_error(MT_ERR_ARG, "--method dana: not with --mode sync (one averaged step has no "
                                    "worker to keep a momentum for)");
    if (p->method == MT_METHOD_DANA && p->mode == MT_PS_DELAY && p->delay_kind != MT_DELAY_FIXED)
        return mt_error(MT_ERR_ARG, "--method dana: delay mode needs --delay-dist fixed (N + 1 "
                                    "workers served in turn)");
    if (!mt_train_ps_enabled(p) || p->oversubscribe)
        return MT_OK;
    /* Computing threads at once: W, or one in delay mode. */
    int cores = mt_ps_cores();
    int conc = p->mode == MT_PS_DELAY ? 1 : p->workers;
    if (conc > cores)
        return mt_error(MT_ERR_ARG,
                        "--workers: %d %s workers exceed the %d cores (a thread each); give "
                        "--oversubscribe to time-share them",
                        conc, mt_ps_mode_name(p->mode), cores);
    if (threads > 0 && (long)conc * threads > cores)
        return mt_error(MT_ERR_ARG,
                        "--threads: %d worker%s x %d threads = %ld exceed the %d cores; give "
                        "fewer, or --oversubscribe to time-share them",
                        conc, conc == 1 ? "" : "s", threads, (long)conc * threads, cores);
    return MT_OK;
}

json_t *mt_train_ps_config_to_json(const mt_train_ps_config *p, int threads_per_worker)
{
    int delay = p->mode == MT_PS_DELAY;
    json_t *j = json_pack("{s:i, s:s, s:s?, s:o, s:i, s:b, s:b, s:i, s:s, s:b}", "workers", p->workers,
                     "mode", mt_ps_mode_name(p->mode), "delay_dist",
                     delay ? mt_delay_kind_name(p->delay_kind) : NULL, "delay",
                     delay ? json_integer(resolved_delay(p)) : json_null(), "shards", p->shards,
                     "oversubscribe", p->oversubscribe, "ignore_memory", p->ignore_memory,
                     "threads_per_worker", threads_per_worker, "method",
                     mt_method_name((mt_method_kind)p->method), "momentum_auto", p->momentum_auto);
    if (p->max_staleness >= 0) {
        json_object_set_new(j, "max_staleness", json_integer(p->max_staleness));
        json_object_set_new(j, "stale_policy",
                            json_string(p->stale_policy == MT_PS_STALE_DROP ? "drop" : "wait"));
    }
    return j;
}

/* ps.KEY, when present, into *out: an integer an int holds (the range is
 * checked with the flags'). */
static int get_count(const json_t *j, const char *key, int *out, const char *where)
{
    const json_t *v = json_object_get(j, key);
    if (!v)
        return MT_OK;
    if (!json_is_integer(v))
        return mt_error(MT_ERR_FORMAT, "%s: ps.%s is not an integer", where, key);
    if (json_integer_value(v) < INT_MIN || json_integer_value(v) > INT_MAX)
        return mt_error(MT_ERR_FORMAT, "%s: ps.%s is %lld, beyond an int", where, key,
                        (long long)json_integer_value(v));
    *out = (int)json_integer_value(v);
    return MT_OK;
}

int mt_train_ps_config_from_json(mt_train_ps_config *p, const json_t *settings, const char *where)
{
    const json_t *j = json_object_get(settings, "ps");
    if (!j)
        return MT_OK;
    if (!json_is_object(j))
        return mt_error(MT_ERR_FORMAT, "%s: ps is not an object", where);
    const json_t *v;
    int rc = get_count(j, "workers", &p->workers, where);
    if (rc == MT_OK)
        rc = get_count(j, "shards", &p->shards, where);
    if (rc != MT_OK)
        return rc;
    if ((v = json_object_get(j, "oversubscribe")))
        p->oversubscribe = json_is_true(v);
    if ((v = json_object_get(j, "ignore_memory")))
        p->ignore_memory = json_is_true(v);
    if ((v = json_object_get(j, "mode"))) {
        int m = json_is_string(v) ? mt_ps_mode_parse(json_string_value(v)) : -1;
        if (m < 0)
            return mt_error(MT_ERR_FORMAT, "%s: ps.mode is not async, sync or delay", where);
        p->mode = m;
    }
    if ((v = json_object_get(j, "delay_dist")) && !json_is_null(v)) {
        int k = json_is_string(v) ? mt_delay_kind_parse(json_string_value(v)) : -1;
        if (k < 0)
            return mt_error(MT_ERR_FORMAT, "%s: ps.delay_dist is not fixed, uniform or geometric",
                            where);
        p->delay_kind = k;
    }
    if ((v = json_object_get(j, "delay")) && !json_is_null(v)) {
        if (!json_is_integer(v))
            return mt_error(MT_ERR_FORMAT, "%s: ps.delay is not an integer", where);
        p->delay = (int64_t)json_integer_value(v);
    }
    if ((v = json_object_get(j, "method"))) {
        mt_method_kind k;
        if (!json_is_string(v) || mt_method_parse(json_string_value(v), &k) < 0)
            return mt_error(MT_ERR_FORMAT, "%s: ps.method is not msgd, staleness-lr, dc-asgd or dana",
                            where);
        p->method = k;
    }
    if ((v = json_object_get(j, "momentum_auto")))
        p->momentum_auto = json_is_true(v);
    if ((v = json_object_get(j, "max_staleness"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return mt_error(MT_ERR_FORMAT, "%s: ps.max_staleness is not an integer >= 0", where);
        p->max_staleness = (int64_t)json_integer_value(v);
    }
    if ((v = json_object_get(j, "stale_policy")))
        p->stale_policy = json_is_string(v) && strcmp(json_string_value(v), "drop") == 0
                              ? MT_PS_STALE_DROP
                              : MT_PS_STALE_WAIT;
    return MT_OK;
}

uint64_t mt_train_ps_hash(uint64_t h, const mt_train_ps_config *p)
{
    /* Shards and oversubscription do not change what is computed. */
    h = mt_hash64_str(h, "ps");
    h = mt_hash64_u64(h, (uint64_t)p->mode);
    h = mt_hash64_u64(h, (uint64_t)p->workers);
    if (p->mode == MT_PS_DELAY) {
        h = mt_hash64_u64(h, (uint64_t)p->delay_kind);
        h = mt_hash64_u64(h, (uint64_t)resolved_delay(p));
    }
    if (p->method != MT_METHOD_MSGD || p->momentum_auto) {
        h = mt_hash64_u64(h, (uint64_t)p->method);
        h = mt_hash64_u64(h, (uint64_t)p->momentum_auto);
    }
    if (p->max_staleness >= 0) {
        h = mt_hash64_u64(h, (uint64_t)p->max_staleness);
        h = mt_hash64_u64(h, (uint64_t)p->stale_policy);
    }
    return h;
}

/* ---- the workers ------------------------------------------------------------ */

/* The net worker's step, then the batch's record: the single-process
 * trainer's loss x n, summed in batch order at the epoch's end. */
static int worker_step(void *ctx, const mt_ticket *tk)
{
    struct worker *w = ctx;
    mt_train_ps *r = w->r;
    int rc = mt_net_worker_step(&w->nw, tk);
    if (rc < 0)
        return rc;
    int slot = w->nw.slot;
    r->loss[slot] = w->nw.loss * w->nw.n;
    r->correct[slot] = (int32_t)w->nw.correct;
    return mt_trainer_note_batch(r->t, tk->batch, w->nw.loss);
}

static void tau_running(void *ctx, int64_t *tau_sum, int64_t *pushes)
{
    mt_ps_tau_running(((mt_train_ps *)ctx)->ps, tau_sum, pushes);
}

static int worker_main(void *ctx, mt_transport *t, int id)
{
    struct worker *w = ctx;
    return mt_worker_loop(&w->loop, t, id);
}

/* ---- the server's state into the trainer -------------------------------------- */

/* On a quiescent server: parameters, velocity and BN state into the trainer's
 * net (which the evaluation net shares), the step and the epoch's sums so
 * far, as an evaluation, a checkpoint and final.json want them. */
static void sync_trainer(mt_train_ps *r)
{
    mt_trainer *t = r->t;
    mt_ps_server *s = mt_ps_server_of(r->ps);
    int64_t v = mt_ps_server_version(s);
    int64_t done = (v - (int64_t)t->epoch * t->steps_per_epoch) * r->per_step;
    double loss = 0;
    int64_t correct = 0;
    for (int64_t i = 0; i < done; i++) {
        loss += r->loss[i];
        correct += r->correct[i];
    }
    mt_trainer_sync(t, v, v > 0 ? mt_ps_server_lr(s, v - 1) : 0.0, mt_ps_server_theta(s),
                    mt_ps_server_velocity(s), mt_ps_server_state(s), loss, correct,
                    done * t->cfg.batch);
}

/* ---- checkpoints ------------------------------------------------------------ */

static int ckpt_add(void *ctx, mt_ckpt *c)
{
    mt_train_ps *r = ctx;
    int rc = mt_ps_ckpt_add(r->ps, c);
    if (rc == MT_OK)
        rc = mt_train_records_ckpt(c, r->loss, r->correct, r->slots, 0);
    /* Bounded: the drops before the epoch in progress, so that its log.csv
     * row counts the ones before a stop too. */
    if (rc == MT_OK && r->cfg.max_staleness >= 0)
        rc = mt_ckpt_add(c, "train.dropped_before", &r->dropped_before,
                         sizeof r->dropped_before);
    return rc;
}

int mt_train_records_ckpt(mt_ckpt *c, double *loss, int32_t *correct, int slots, int get)
{
    size_t nl = (size_t)slots * sizeof *loss, nc = (size_t)slots * sizeof *correct;
    int rc = get ? mt_ckpt_get(c, "train.batch_loss", loss, nl)
                 : mt_ckpt_add(c, "train.batch_loss", loss, nl);
    if (rc == MT_OK)
        rc = get ? mt_ckpt_get(c, "train.batch_correct", correct, nc)
                 : mt_ckpt_add(c, "train.batch_correct", correct, nc);
    return rc;
}

static int ckpt_get(void *ctx, mt_ckpt *c)
{
    mt_train_ps *r = ctx;
    int rc = mt_ps_ckpt_load(r->ps, c);
    if (rc == MT_OK)
        rc = mt_train_records_ckpt(c, r->loss, r->correct, r->slots, 1);
    /* Absent from checkpoints written before it was kept: 0, as ps.dropped. */
    if (rc == MT_OK && r->cfg.max_staleness >= 0 && mt_ckpt_find(c, "train.dropped_before"))
        rc = mt_ckpt_get(c, "train.dropped_before", &r->dropped_before,
                         sizeof r->dropped_before);
    if (rc != MT_OK)
        return rc;
    int64_t v = mt_ps_server_version(mt_ps_server_of(r->ps));
    if (v != r->t->step)
        return mt_error(MT_ERR_FORMAT, "%s: the server is at step %lld, the trainer at %lld",
                        c->path, (long long)v, (long long)r->t->step);
    return MT_OK;
}

/* ---- the epoch's end ----------------------------------------------------------- */

static double server_share(const mt_ps_timing *now, const mt_ps_timing *before)
{
    double server = (now->pull_s - before->pull_s) + (now->push_s - before->push_s);
    double all = server + (now->grad_s - before->grad_s) + (now->wait_s - before->wait_s);
    return all > 0 ? server / all : 0.0;
}

/* Runs in a worker thread on a quiescent server at the end of epoch `epoch`. */
static int on_epoch_end(void *ctx, mt_ps *ps, int64_t epoch, const mt_tau_hist *tau)
{
    mt_train_ps *r = ctx;
    mt_trainer *t = r->t;
    if (epoch != t->epoch)
        return mt_error(MT_ERR_LIB, "trainer: the server ended epoch %lld, the trainer is in %d",
                        (long long)epoch + 1, t->epoch + 1);
    double train_s = mt_now() - r->t_epoch;
    sync_trainer(r);
    int64_t images = (t->step - r->v_epoch) * r->per_step * t->cfg.batch;
    mt_ps_timing tm;
    mt_ps_timing_get(ps, &tm);
    char log_extra[160], line_extra[96];
    mt_train_tau_columns(tau, log_extra, sizeof log_extra, line_extra, sizeof line_extra);
    size_t len = strlen(log_extra);
    /* momentum: the mu in use at the epoch's end (momentum auto: from the
     * mean staleness of every push so far); dropped: pushes the drop policy
     * discarded in this epoch */
    int64_t dropped = mt_ps_dropped(ps);
    snprintf(log_extra + len, sizeof log_extra - len, ",%.5f,%.6g,%lld",
             server_share(&tm, &r->timing_epoch),
             mt_method_momentum(mt_ps_server_method(mt_ps_server_of(ps))),
             (long long)(dropped - r->dropped_before));
    r->dropped_before = dropped;
    mt_epoch_report rep = {.images_per_s = train_s > 0 ? (double)images / train_s : 0,
                           .log_extra = log_extra,
                           .line_extra = line_extra};
    /* The next epoch's sums and staleness start from zero (its checkpoint
     * holds them so). */
    memset(r->loss, 0, (size_t)r->slots * sizeof *r->loss);
    memset(r->correct, 0, (size_t)r->slots * sizeof *r->correct);
    mt_tau_hist_clear(mt_ps_tau_epoch(ps));
    int rc = mt_trainer_end_epoch(t, &rep);
    r->t_epoch = mt_now();
    r->v_epoch = t->step;
    r->timing_epoch = tm;
    return rc;
}
/* ---- building and the run -------------------------------------------------------- */

/* Whether the run fits in memory (trainer/mem_guard.h); before anything is
 * built. Records the need and the budget for final.json. */
static int check_memory(mt_train_ps *r, const mt_train_ps_config *p)
{
    mt_trainer *t = r->t;
    const mt_split *tr = &t->data.train;
    mt_mem_need m = {.model = t->cfg.model,
                     .batch = t->cfg.batch,
                     .mode = p->mode,
                     .workers = p->workers,
                     .delay_kind = p->delay_kind,
                     .delay = resolved_delay(p),
                     .delay_given = p->delay >= 0,
                     .params = mt_net_param_count(t->net),
                     .state = mt_net_state_count(t->net),
                     .net_bytes = t->net_bytes};
    if (p->mode == MT_PS_DELAY)
        m.ring_versions = mt_delay_default_cap(p->delay_kind, m.delay) + 1;
    /* mt_ps_net_worker_init's buffers: the epoch order and one batch. */
    m.worker_bytes = (uint64_t)tr->n * sizeof(uint32_t) +
                     (uint64_t)t->cfg.batch * (mt_split_image_bytes(tr) * sizeof(float) + sizeof(int));
    mt_mem_usage use;
    m.held = mt_mem_usage_self(&use) == MT_OK ? use.rss : 0;
    r->mem_need = m.held + mt_mem_need_extra(&m, p->workers);
    if (p->ignore_memory)
        return MT_OK;
    mt_mem_avail avail;
    int rc = mt_mem_available(&avail);
    if (rc == MT_ERR_ARG)
        return rc; /* MUTAU_MEM_AVAILABLE is not a size */
    if (rc != MT_OK || m.held == 0) {
        mt_clear_error(); /* nothing to compare with: the run goes ahead */
        return MT_OK;
    }
    /* The user's allowance for the whole process, or what it holds and can get. */
    m.budget = avail.budget ? avail.budget : m.held + avail.available;
    r->mem_budget = m.budget;
    return mt_mem_need_check(&m);
}

void mt_train_ps_close(mt_train_ps *r)
{
    if (!r)
        return;
    mt_ps_free(r->ps);
    for (int i = 0; r->w && i < r->n_workers; i++) {
        mt_net_worker_free(&r->w[i].nw);
        mt_net_free(r->w[i].own_net);
    }
    free(r->w);
    free(r->ctx);
    free(r->loss);
    free(r->correct);
    free(r);
}

int mt_train_ps_threads(const mt_train_ps *r) { return mt_ps_threads(r->ps); }

void mt_train_ps_describe(const mt_train_ps *r, FILE *out)
{
    const mt_train_ps_config *p = &r->cfg;
    int t = mt_ps_threads(r->ps);
    if (p->mode == MT_PS_DELAY && p->delay_kind == MT_DELAY_FIXED)
        fprintf(out, "delay mode: tau %lld (%lld workers served in turn), one compute thread x %d\n",
                (long long)p->delay, (long long)p->delay + 1, t);
    else if (p->mode == MT_PS_DELAY)
        fprintf(out, "delay mode: tau %s with mean %lld, one compute thread x %d\n",
                mt_delay_kind_name(p->delay_kind), (long long)p->delay, t);
    else
        fprintf(out, "%d %s worker%s x %d thread%s, %d shard%s\n", p->workers,
                mt_ps_mode_name(p->mode), p->workers == 1 ? "" : "s", t, t == 1 ? "" : "s",
                p->shards, p->shards == 1 ? "" : "s");
}

static void config_json(void *ctx, json_t *config)
{
    const mt_train_ps *r = ctx;
    json_t *settings = json_object_get(config, "settings");
    if (settings)
        json_object_set_new(settings, "ps",
                            mt_train_ps_config_to_json(&r->cfg, mt_ps_threads(r->ps)));
}

/* final.json's staleness summary and server numbers. */
static json_t *final_extra(void *ctx)
{
    mt_train_ps *r = ctx;
    mt_ps_timing tm, zero = {0};
    mt_ps_timing_get(r->ps, &tm);
    json_t *cfg = mt_train_ps_config_to_json(&r->cfg, mt_ps_threads(r->ps));
    json_object_set_new(cfg, "server_share", json_real(server_share(&tm, &zero)));
    json_object_set_new(cfg, "seconds",
                        json_pack("{s:f, s:f, s:f, s:f}", "gradients", tm.grad_s, "pull",
                                  tm.pull_s, "push", tm.push_s, "wait", tm.wait_s));
    /* The estimate at the start (trainer/mem_guard.h) next to the peak. */
    json_t *budget = r->mem_budget ? json_integer((json_int_t)r->mem_budget) : json_null();
    json_object_set_new(cfg, "memory",
                        json_pack("{s:I, s:I, s:o}", "network_bytes",
                                  (json_int_t)r->t->net_bytes, "estimate_bytes",
                                  (json_int_t)r->mem_need, "available_bytes", budget));
    json_t *stale = mt_train_tau_json(mt_ps_tau_total(r->ps));
    json_object_set_new(stale, "dropped", json_integer((json_int_t)mt_ps_dropped(r->ps)));
    return json_pack("{s:o, s:o}", "staleness", stale, "ps",
                     cfg);
}

void mt_train_tau_columns(const mt_tau_hist *tau, char *log, size_t log_cap, char *line,
                          size_t line_cap)
{
    mt_tau_summary ts;
    mt_tau_hist_summary(tau, &ts);
    snprintf(log, log_cap, ",%.4f,%lld,%lld,%lld,%lld", ts.mean, (long long)ts.max,
             (long long)ts.p50, (long long)ts.p90, (long long)ts.p99);
    snprintf(line, line_cap, "  tau mean %.2f max %lld", ts.mean, (long long)ts.max);
}

json_t *mt_train_tau_json(const mt_tau_hist *tau)
{
    mt_tau_summary ts;
    mt_tau_hist_summary(tau, &ts);
    /* [tau, count] for every tau seen; the last bin holds tau >= MT_TAU_BINS - 1. */
    json_t *hist = json_array();
    for (int i = 0; i < MT_TAU_BINS; i++)
        if (tau->bin[i])
            json_array_append_new(hist, json_pack("[i, I]", i, (json_int_t)tau->bin[i]));
    return json_pack("{s:I, s:f, s:I, s:I, s:I, s:I, s:o}", "count", (json_int_t)ts.count,
                     "mean", ts.mean, "max", (json_int_t)ts.max, "p50", (json_int_t)ts.p50,
                     "p90", (json_int_t)ts.p90, "p99", (json_int_t)ts.p99, "histogram", hist);
}

static void final_line(void *ctx, char *buf, size_t cap)
{
    mt_train_ps *r = ctx;
    mt_tau_summary ts;
    mt_tau_hist_summary(mt_ps_tau_total(r->ps), &ts);
    snprintf(buf, cap, "; tau mean %.2f max %lld", ts.mean, (long long)ts.max);
}

/* mt_ps_run in a thread of its own while the calling thread watches for
 * SIGINT/SIGTERM: the run's threads block both, so the handler runs only in
 * the watching thread, the only one that reads its flag (core/signals.h), and
 * turns it into mt_ps_request_stop. */
struct runner {
    mt_ps *ps;
    int64_t target;
    int rc;
    char msg[1024]; /* the run thread's error message */
    atomic_int done;
};

static void *run_thread(void *arg)
{
    struct runner *u = arg;
    u->rc = mt_ps_run(u->ps, u->target);
    if (u->rc < 0)
        snprintf(u->msg, sizeof u->msg, "%s", mt_errmsg());
    atomic_store(&u->done, 1);
    return NULL;
}

static int run_watching_signals(mt_ps *ps, int64_t target)
{
    struct runner u = {.ps = ps, .target = target};
    atomic_init(&u.done, 0);
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_t th;
    int started = pthread_create(&th, NULL, run_thread, &u) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!started)
        return mt_error(MT_ERR_LIB, "trainer: cannot start the run's thread");
    const struct timespec tick = {0, 20 * 1000 * 1000};
    while (!atomic_load(&u.done)) {
        if (mt_signals_pending())
            mt_ps_request_stop(ps);
        nanosleep(&tick, NULL);
    }
    pthread_join(th, NULL);
    return u.rc < 0 ? mt_error(u.rc, "%s", u.msg) : u.rc;
}

/* The engine's run: the server's steps to `target`, then the trainer up to
 * date. A stop request is not an error here: the trainer sees the step count. */
static int engine_run(void *ctx, int64_t target)
{
    mt_train_ps *r = ctx;
    r->t_epoch = r->t->t_epoch;
    r->v_epoch = r->t->step;
    mt_ps_timing_get(r->ps, &r->timing_epoch);
    int rc = run_watching_signals(r->ps, target);
    sync_trainer(r);
    return rc == MT_ERR_INTERRUPTED ? MT_OK : rc;
}

/* ---- building ------------------------------------------------------------------ */

int mt_train_ps_open(mt_train_ps **out, mt_trainer *t, const mt_train_ps_config *p)
{
    *out = NULL;
    int rc = mt_train_ps_config_check(p, t->cfg.threads);
    if (rc != MT_OK)
        return rc;
    mt_train_ps *r = calloc(1, sizeof *r);
    if (!r)
        return mt_error(MT_ERR_NOMEM, "trainer: out of memory");
    r->t = t;
    r->cfg = *p;
    r->cfg.delay = p->mode == MT_PS_DELAY ? resolved_delay(p) : -1;
    r->per_step = p->mode == MT_PS_SYNC ? p->workers : 1;
    int batches = t->steps_per_epoch;
    int spe = batches / r->per_step;
    if (spe < 1) {
        mt_train_ps_close(r);
        return mt_error(MT_ERR_ARG,
                        "--workers: %d sync workers take %d batches a step, an epoch has %d "
                        "(%d images of batch %d)",
                        p->workers, p->workers, batches, t->data.train.n, t->cfg.batch);
    }
    r->slots = spe * r->per_step;
    r->loss = calloc((size_t)r->slots, sizeof *r->loss);
    r->correct = calloc((size_t)r->slots, sizeof *r->correct);
    r->n_workers = p->mode == MT_PS_DELAY ? 1 : p->workers;
    rc = check_memory(r, p);
    if (rc != MT_OK) {
        mt_train_ps_close(r);
        return rc;
    }
    r->w = calloc((size_t)r->n_workers, sizeof *r->w);
    r->ctx = calloc((size_t)r->n_workers, sizeof *r->ctx);
    if (!r->loss || !r->correct || !r->w || !r->ctx) {
        mt_train_ps_close(r);
        return mt_error(MT_ERR_NOMEM, "trainer: out of memory for %d workers", p->workers);
    }
    for (int i = 0; i < r->n_workers && rc == MT_OK; i++) {
        struct worker *w = &r->w[i];
        w->r = r;
        r->ctx[i] = w;
        mt_net *net = t->net;
        if (i > 0) {
            rc = mt_net_clone(&w->own_net, t->net, t->cfg.batch, NULL, NULL, NULL);
            net = w->own_net;
        }
        if (rc == MT_OK)
            rc = mt_net_worker_init(&w->nw, net, &t->data.train, &t->pipe, r->slots,
                                    t->cfg.divergence_loss);
        w->loop = mt_net_worker_loop(&w->nw);
        w->loop.step = worker_step;
        w->loop.ctx = w;
        if (rc != MT_OK)
            rc = mt_error_context(rc, "worker %d", i);
    }
    mt_ps_server_config sc;
    mt_ps_server_config_default(&sc, mt_net_param_count(t->net), mt_net_state_count(t->net));
    sc.shards = p->shards;
    sc.opt = t->opt;
    sc.decay = &t->decay;
    sc.method = (mt_method_kind)p->method;
    sc.momentum_auto = p->momentum_auto;
    sc.schedule = t->sched;
    /* Sync mode: the epoch and the schedule count server steps. */
    sc.schedule.steps_per_epoch = spe;
    mt_ps_config pc;
    mt_ps_config_default(&pc);
    pc.mode = p->mode;
    pc.workers = p->workers;
    pc.threads = t->cfg.threads;
    pc.oversubscribe = p->oversubscribe;
    pc.delay_kind = p->delay_kind;
    pc.delay = r->cfg.delay < 0 ? 0 : r->cfg.delay;
    /* The delays' own seed, apart from the parameters' and the data's. */
    pc.seed = mt_hash64_str(mt_hash64_u64(MT_HASH64_INIT, t->cfg.seed), "delays");
    pc.steps_per_epoch = spe;
    pc.max_staleness = p->max_staleness;
    pc.stale_policy = p->stale_policy;
    pc.worker_main = worker_main;
    pc.worker_ctx = r->ctx;
    pc.epoch_end = on_epoch_end;
    pc.epoch_ctx = r;
    if (rc == MT_OK)
        rc = mt_schedule_check(&sc.schedule);
    if (rc == MT_OK)
        rc = mt_ps_create(&r->ps, &sc, &pc, mt_net_params(t->net), mt_net_state(t->net));
    if (rc != MT_OK) {
        mt_train_ps_close(r);
        return rc;
    }
    /* Evaluation: the idle workers' threads, within the cores and within
     * OMP_NUM_THREADS when the environment sets it (tests/run.sh does under
     * ThreadSanitizer, which cannot see OpenMP's barriers). */
    int threads = mt_ps_threads(r->ps), cores = mt_ps_cores();
    long eval = p->mode == MT_PS_DELAY ? threads : (long)threads * p->workers;
    const char *env = getenv("OMP_NUM_THREADS");
    long cap = env ? strtol(env, NULL, 10) : 0;
    if (eval > cores)
        eval = cores;
    if (cap > 0 && eval > cap)
        eval = cap;
    mt_trainer_engine e = {.ctx = r,
                           .run = engine_run,
                           .ckpt_add = ckpt_add,
                           .ckpt_get = ckpt_get,
                           .log_columns = PS_LOG_COLUMNS,
                           .final_extra = final_extra,
                           .config_json = config_json,
                           .final_line = final_line,
                           .tau_running = tau_running,
                           .in_flight = p->workers,
                           .eval_threads = eval > threads ? (int)eval : threads};
    rc = mt_trainer_attach(t, &e, r->per_step, mt_train_ps_hash(t->config_hash, &r->cfg));
    if (rc != MT_OK) {
        mt_train_ps_close(r);
        return rc;
    }
    *out = r;
    return MT_OK;
}
