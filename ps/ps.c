/* ps.c: creating a multi-worker run over the server, what the three modes
 * share (failures, epoch ends, staleness collection), and mt_ps_run. The
 * modes themselves are run_async.c, run_sync.c and run_delay.c. */
#include "ps/ps_impl.h"

#include "core/clock.h"
#include "core/status.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const mt_ps_mode_names[] = {"async", "sync", "delay", NULL};

const char *mt_ps_mode_name(int mode)
{
    return mode >= 0 && mode <= MT_PS_DELAY ? mt_ps_mode_names[mode] : "?";
}

int mt_ps_mode_parse(const char *s)
{
    for (int i = 0; i <= MT_PS_DELAY; i++)
        if (strcmp(s, mt_ps_mode_names[i]) == 0)
            return i;
    return -1;
}

void mt_ps_config_default(mt_ps_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = MT_PS_ASYNC;
    cfg->workers = 1;
    cfg->delay_kind = MT_DELAY_FIXED;
    cfg->tau_max = -1;
    cfg->steps_per_epoch = 1;
    cfg->max_staleness = -1;
}

int mt_ps_cores(void) { return omp_get_num_procs(); }

/* Threads per worker after the default; compute threads run at once. */
static int resolve_threads(const mt_ps_config *cfg, int *concurrent)
{
    int cores = mt_ps_cores();
    int conc = cfg->mode == MT_PS_DELAY ? 1 : cfg->workers;
    if (concurrent)
        *concurrent = conc;
    if (cfg->threads > 0)
        return cfg->threads;
    return cores / conc > 1 ? cores / conc : 1;
}

int mt_ps_config_check(const mt_ps_config *cfg)
{
    if (cfg->mode < MT_PS_ASYNC || cfg->mode > MT_PS_DELAY)
        return mt_error(MT_ERR_ARG, "ps: mode %d is not async, sync or delay", cfg->mode);
    if (cfg->max_staleness >= 0 && cfg->mode != MT_PS_ASYNC)
        return mt_error(MT_ERR_ARG, "ps: max staleness: only async mode has staleness to bound "
                                    "(sync has none, delay mode draws it)");
    if (cfg->stale_policy != MT_PS_STALE_WAIT && cfg->stale_policy != MT_PS_STALE_DROP)
        return mt_error(MT_ERR_ARG, "ps: stale policy %d is not wait or drop", cfg->stale_policy);
    if (cfg->workers < 1 || cfg->workers > 4096)
        return mt_error(MT_ERR_ARG, "ps: workers: %d is not in [1, 4096]", cfg->workers);
    if (cfg->threads < 0)
        return mt_error(MT_ERR_ARG, "ps: threads per worker: %d < 0", cfg->threads);
    if (cfg->steps_per_epoch < 1)
        return mt_error(MT_ERR_ARG, "ps: steps per epoch: %lld < 1",
                        (long long)cfg->steps_per_epoch);
    if (!cfg->worker_main)
        return mt_error(MT_ERR_ARG, "ps: no worker function");
    if (!cfg->worker_ctx)
        return mt_error(MT_ERR_ARG, "ps: no worker contexts");
    if (cfg->mode == MT_PS_DELAY) {
        if (cfg->delay_kind < MT_DELAY_FIXED || cfg->delay_kind > MT_DELAY_GEOMETRIC)
            return mt_error(MT_ERR_ARG, "ps: delay distribution %d is not fixed, uniform or "
                            "geometric", cfg->delay_kind);
        if (cfg->delay < 0)
            return mt_error(MT_ERR_ARG, "ps: delay: %lld < 0", (long long)cfg->delay);
    }
    int conc;
    int t = resolve_threads(cfg, &conc);
    int cores = mt_ps_cores();
    if (!cfg->oversubscribe && (long)conc * t > cores)
        return mt_error(MT_ERR_ARG,
                        "ps: %d workers x %d threads exceed the %d cores (allow it with "
                        "oversubscribe)", conc, t, cores);
    return MT_OK;
}

void mt_ps_free(mt_ps *ps)
{
    if (!ps)
        return;
    for (int i = 0; ps->w && i < ps->n_workers; i++)
        free(ps->w[i].state_read);
    free(ps->w);
    free(ps->avg_grad);
    free(ps->avg_state);
    if (ps->has_delay)
        mt_delay_free(&ps->delay);
    mt_ps_server_free(ps->server);
    pthread_mutex_destroy(&ps->m);
    pthread_cond_destroy(&ps->cv);
    free(ps);
}

static float *floats_or_null(size_t n, int *failed)
{
    if (n == 0)
        return NULL;
    float *p = calloc(n, sizeof(float));
    if (!p)
        *failed = 1;
    return p;
}

int mt_ps_create(mt_ps **out, const mt_ps_server_config *server, const mt_ps_config *cfg,
                 const float *theta0, const float *state0)
{
    *out = NULL;
    int rc = mt_ps_config_check(cfg);
    if (rc < 0)
        return rc;
    mt_ps *ps = calloc(1, sizeof *ps);
    if (!ps)
        return mt_error(MT_ERR_NOMEM, "ps: out of memory");
    ps->cfg = *cfg;
    ps->threads = resolve_threads(cfg, NULL);
    pthread_mutex_init(&ps->m, NULL);
    pthread_cond_init(&ps->cv, NULL);
    atomic_init(&ps->stop_requested, 0);
    atomic_init(&ps->tau_sum, 0);
    atomic_init(&ps->tau_pushes, 0);
    /* Per-worker state (dana) for the workers the mode has: delay mode's fixed
     * delay N models N + 1 workers served in turn; a random delay has no
     * worker to give a push to, and sync mode takes one averaged step. */
    mt_ps_server_config sc = *server;
    int fixed = cfg->delay_kind == MT_DELAY_FIXED;
    sc.workers = cfg->mode != MT_PS_DELAY ? cfg->workers : fixed ? (int)cfg->delay + 1 : 1;
    ps->method_workers = sc.workers;
    if (server->method == MT_METHOD_DANA && (cfg->mode == MT_PS_SYNC || (cfg->mode == MT_PS_DELAY && !fixed))) {
        mt_ps_free(ps);
        return mt_error(MT_ERR_ARG, "ps: method dana is defined for async workers and for delay mode "
                                    "with a fixed delay (N + 1 workers in turn), not for %s",
                        cfg->mode == MT_PS_SYNC ? "sync mode" : "random delays");
    }
    rc = mt_ps_server_create(&ps->server, &sc, theta0, state0);
    if (rc < 0) {
        mt_ps_free(ps);
        return rc;
    }
    ps->n = server->n;
    ps->n_state = server->n_state;
    if (cfg->mode == MT_PS_DELAY) {
        rc = mt_delay_init(&ps->delay, cfg->delay_kind, cfg->delay, cfg->tau_max, cfg->seed,
                           server->n);
        ps->has_delay = 1;
        if (rc < 0) {
            mt_ps_free(ps);
            return mt_error_context(rc, "ps");
        }
    }
    ps->n_workers = cfg->mode == MT_PS_DELAY ? 1 : cfg->workers;
    ps->w = calloc((size_t)ps->n_workers, sizeof *ps->w);
    int failed = !ps->w;
    for (int i = 0; !failed && i < ps->n_workers; i++) {
        struct ps_worker *w = &ps->w[i];
        w->ps = ps;
        w->id = i;
        w->ctx = cfg->worker_ctx[i];
        /* The workers' own buffers are theirs: only the BN state as pulled
         * is kept here, for async mode's merge. */
        w->state_read =
            cfg->mode == MT_PS_ASYNC ? floats_or_null(ps->n_state, &failed) : NULL;
    }
    if (!failed && cfg->mode == MT_PS_SYNC && cfg->workers > 1) {
        ps->avg_grad = floats_or_null(ps->n, &failed);
        ps->avg_state = floats_or_null(ps->n_state, &failed);
    }
    if (failed) {
        mt_ps_free(ps);
        return mt_error(MT_ERR_NOMEM, "ps: out of memory for %d workers' buffers", cfg->workers);
    }
    *out = ps;
    return MT_OK;
}

void ps_fail_locked(mt_ps *ps, int status)
{
    if (ps->status == 0) {
        ps->status = status;
        snprintf(ps->errmsg, sizeof ps->errmsg, "%s", mt_errmsg());
    }
    pthread_cond_broadcast(&ps->cv);
}

void ps_fail(mt_ps *ps, int status)
{
    pthread_mutex_lock(&ps->m);
    ps_fail_locked(ps, status);
    pthread_mutex_unlock(&ps->m);
}

int ps_should_stop(mt_ps *ps)
{
    return ps->status != 0 || ps->stop_by_epoch ||
           atomic_load_explicit(&ps->stop_requested, memory_order_relaxed);
}

void ps_collect_tau(mt_ps *ps)
{
    for (int i = 0; i < ps->n_workers; i++) {
        mt_tau_hist_merge(&ps->tau_epoch, &ps->w[i].hist);
        mt_tau_hist_merge(&ps->tau_total, &ps->w[i].hist);
        mt_tau_hist_clear(&ps->w[i].hist);
    }
}

void ps_epoch_close(mt_ps *ps, int64_t version)
{
    ps_collect_tau(ps);
    if (ps->cfg.epoch_end) {
        int64_t epoch = version / ps->cfg.steps_per_epoch - 1;
        int rc = ps->cfg.epoch_end(ps->cfg.epoch_ctx, ps, epoch, &ps->tau_epoch);
        if (rc < 0) {
            if (ps->status == 0) {
                ps->status = rc;
                snprintf(ps->errmsg, sizeof ps->errmsg, "%s", mt_errmsg());
            }
        } else if (rc > 0) {
            ps->stop_by_epoch = 1;
        }
    }
    mt_tau_hist_clear(&ps->tau_epoch);
}

void ps_set_threads(const mt_ps *ps) { omp_set_num_threads(ps->threads); }

void ps_record_tau(mt_ps *ps, struct ps_worker *w, int64_t tau)
{
    mt_tau_hist_add(&w->hist, tau);
    atomic_fetch_add_explicit(&ps->tau_sum, tau, memory_order_relaxed);
    atomic_fetch_add_explicit(&ps->tau_pushes, 1, memory_order_relaxed);
}

void mt_ps_tau_running(const mt_ps *ps, int64_t *tau_sum, int64_t *pushes)
{
    mt_ps *m = (mt_ps *)ps;
    *tau_sum = atomic_load_explicit(&m->tau_sum, memory_order_relaxed);
    *pushes = atomic_load_explicit(&m->tau_pushes, memory_order_relaxed);
}

void ps_mark_pulled(struct ps_worker *w, double since)
{
    w->t_mark = mt_now();
    w->time.pull_s += w->t_mark - since;
}

void ps_transport_fail(mt_transport *t, int worker, int status)
{
    mt_ps *ps = ((struct ps_transport *)t)->ps;
    ps_mark_push(&ps->w[worker], mt_now());
    ps_fail(ps, status);
}

void ps_mark_push(struct ps_worker *w, double now)
{
    w->time.grad_s += now - w->t_mark;
    w->time.gradients++;
}

struct worker_arg {
    mt_ps *ps;
    mt_transport *t;
    struct ps_worker *w;
};

static void worker_ended(mt_ps *ps, struct ps_worker *w, int rc)
{
    if (rc < 0) {
        ps_fail(ps, rc);
    } else if (!w->finished) {
        mt_error(MT_ERR_LIB, "ps: worker %d left the run before its end", w->id);
        ps_fail(ps, MT_ERR_LIB);
    }
}

static void *worker_thread(void *arg_)
{
    struct worker_arg *a = arg_;
    ps_set_threads(a->ps);
    int rc = a->ps->cfg.worker_main(a->w->ctx, a->t, a->w->id);
    worker_ended(a->ps, a->w, rc);
    return NULL;
}

void ps_run_workers(mt_ps *ps, mt_transport *t)
{
    int nw = ps->n_workers;
    struct worker_arg args[nw];
    for (int i = 0; i < nw; i++) {
        ps->w[i].finished = 0;
        args[i] = (struct worker_arg){ps, t, &ps->w[i]};
    }
    if (nw == 1) {
        /* One worker: the calling thread is its thread. */
        int saved = omp_get_max_threads();
        ps_set_threads(ps);
        worker_ended(ps, &ps->w[0], ps->cfg.worker_main(ps->w[0].ctx, t, 0));
        omp_set_num_threads(saved);
        return;
    }
    int started = 0;
    for (; started < nw; started++)
        if (pthread_create(&ps->w[started].thread, NULL, worker_thread, &args[started]) != 0)
            break;
    if (started < nw) {
        mt_error(MT_ERR_LIB, "ps: cannot start worker %d of %d", started, nw);
        ps_fail(ps, MT_ERR_LIB);
    }
    for (int i = 0; i < started; i++)
        pthread_join(ps->w[i].thread, NULL);
}

void mt_ps_timing_get(const mt_ps *ps, mt_ps_timing *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < ps->n_workers; i++) {
        const mt_ps_timing *t = &ps->w[i].time;
        out->grad_s += t->grad_s;
        out->pull_s += t->pull_s;
        out->push_s += t->push_s;
        out->wait_s += t->wait_s;
        out->gradients += t->gradients;
    }
}

void mt_ps_timing_reset(mt_ps *ps)
{
    for (int i = 0; i < ps->n_workers; i++)
        memset(&ps->w[i].time, 0, sizeof ps->w[i].time);
}

int mt_ps_run(mt_ps *ps, int64_t steps)
{
    if (steps < 0)
        return mt_error(MT_ERR_ARG, "ps: run to %lld steps", (long long)steps);
    ps->end = steps;
    ps->status = 0;
    ps->errmsg[0] = '\0';
    ps->stop_by_epoch = 0;
    if (mt_ps_server_version(ps->server) >= steps)
        return MT_OK;
    int rc;
    switch (ps->cfg.mode) {
    case MT_PS_SYNC:
        rc = ps_run_sync(ps);
        break;
    case MT_PS_DELAY:
        rc = ps_run_delay(ps);
        break;
    default:
        rc = ps_run_async(ps);
    }
    ps_collect_tau(ps);
    if (rc < 0)
        return rc;
    if (ps->status < 0)
        return mt_error(ps->status, "%s", ps->errmsg);
    int64_t v = mt_ps_server_version(ps->server);
    if (v < steps && !ps->stop_by_epoch &&
        atomic_load_explicit(&ps->stop_requested, memory_order_relaxed)) {
        atomic_store(&ps->stop_requested, 0);
        return mt_error(MT_ERR_INTERRUPTED, "ps: stopped at step %lld of %lld", (long long)v,
                        (long long)steps);
    }
    return MT_OK;
}

void mt_ps_request_stop(mt_ps *ps) { atomic_store(&ps->stop_requested, 1); }

mt_ps_server *mt_ps_server_of(mt_ps *ps) { return ps->server; }
const mt_ps_config *mt_ps_config_of(const mt_ps *ps) { return &ps->cfg; }
int mt_ps_threads(const mt_ps *ps) { return ps->threads; }
mt_delay *mt_ps_delay(mt_ps *ps) { return ps->has_delay ? &ps->delay : NULL; }
mt_tau_hist *mt_ps_tau_epoch(mt_ps *ps) { return &ps->tau_epoch; }
mt_tau_hist *mt_ps_tau_total(mt_ps *ps) { return &ps->tau_total; }

int64_t mt_ps_dropped(const mt_ps *ps) { return ps->dropped; }
