/* train_mpi.c: the trainer's run over the MPI parameter server (see
 * train_mpi.h): rank 0's engine (the server's run, the epoch ends into the
 * trainer, checkpoints, config.json's world), the other server ranks' shard
 * and the worker ranks' loop. */
#include "trainer/train_mpi.h"

#include "core/checkpoint.h"
#include "core/clock.h"
#include "core/signals.h"
#include "core/status.h"
#include "optim/method.h"
#include "ps/mpi_ps.h"
#include "ps/mpi_transport.h"
#include "ps/ps.h"
#include "trainer/net_worker.h"
#include "trainer/train_ps.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* log.csv's columns after the single-process ones: the in-process
 * multi-worker run's (`dropped` with bounded staleness only, so that the
 * unbounded runs' logs keep their columns), then the workers' communication
 * share. */
#define MPI_LOG_COLUMNS \
    ",tau_mean,tau_max,tau_p50,tau_p90,tau_p99,server_share,momentum,comm_share"
#define MPI_LOG_COLUMNS_BOUNDED \
    ",tau_mean,tau_max,tau_p50,tau_p90,tau_p99,server_share,momentum,dropped,comm_share"

enum { REPORT_LOSS, REPORT_CORRECT, N_REPORT };

struct mt_train_mpi {
    mt_trainer *t;
    mt_mpi *m;
    mt_train_mpi_config cfg;
    int per_step; /* batches per step: W in sync mode, else 1 */
    int slots;    /* batches trained per epoch */
    /* server ranks */
    mt_mpi_server *srv;
    int64_t steps; /* the run's total */
    int served;    /* rank 0: the server has run in this process */
    /* rank 0 */
    double *loss;     /* (slots) loss x images of each batch of the epoch in progress */
    int32_t *correct; /* (slots) its top-1 hits */
    double t_epoch;   /* start of the epoch in progress (this invocation's part) */
    mt_mpi_timing timing_epoch;
    int64_t dropped_before; /* mt_mpi_server_dropped at the last epoch's end */
    /* worker ranks */
    mt_mpi_worker *mw;
    mt_mpi_transport tr;
    mt_net_worker nw;
    mt_worker loop;
    double report[N_REPORT];
};

int mt_train_mpi_threads(const mt_mpi *m, int threads)
{
    if (threads > 0)
        return threads;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int t = cores > 0 ? (int)(cores / mt_mpi_ranks_on_node(m)) : 1;
    return t > 1 ? t : 1;
}

/* ---- worker ranks ------------------------------------------------------------ */

/* The net worker's step, then the report its push carries to rank 0. */
static int worker_step(void *ctx, const mt_ticket *tk)
{
    mt_train_mpi *r = ctx;
    int rc = mt_net_worker_step(&r->nw, tk);
    if (rc < 0)
        return rc;
    r->report[REPORT_LOSS] = r->nw.loss * r->nw.n;
    r->report[REPORT_CORRECT] = r->nw.correct;
    return MT_OK;
}

static int open_worker(mt_train_mpi *r)
{
    mt_trainer *t = r->t;
    int rc = mt_mpi_worker_create(&r->mw, r->m, mt_net_param_count(t->net),
                                  mt_net_state_count(t->net), N_REPORT);
    if (rc == MT_OK)
        rc = mt_net_worker_init(&r->nw, t->net, &t->data.train, &t->pipe, r->slots,
                                t->cfg.divergence_loss);
    if (rc != MT_OK)
        return rc;
    mt_mpi_transport_init(&r->tr, r->mw, r->report);
    r->loop = mt_net_worker_loop(&r->nw);
    r->loop.step = worker_step;
    r->loop.ctx = r;
    return MT_OK;
}

/* ---- rank 0: the server's state into the trainer ------------------------------ */

static int on_report(void *ctx, int worker, int64_t batch, const double *report)
{
    mt_train_mpi *r = ctx;
    int64_t epoch;
    int slot;
    mt_batch_slot(batch, r->slots, &epoch, &slot);
    r->loss[slot] = report[REPORT_LOSS];
    r->correct[slot] = (int32_t)report[REPORT_CORRECT];
    /* The progress display and steps.csv. */
    return mt_trainer_note_batch(r->t, batch, report[REPORT_LOSS] / r->t->cfg.batch);
}

/* On the gathered model: parameters, velocity and state into the trainer's
 * net, the step and the epoch's sums so far (batches summed in order). */
static void sync_trainer(mt_train_mpi *r)
{
    mt_trainer *t = r->t;
    int64_t v = mt_mpi_server_version(r->srv);
    int64_t done = (v - (int64_t)t->epoch * t->steps_per_epoch) * r->per_step;
    double loss = 0;
    int64_t correct = 0;
    for (int64_t i = 0; i < done && i < r->slots; i++) {
        loss += r->loss[i];
        correct += r->correct[i];
    }
    mt_trainer_sync(t, v, v > 0 ? mt_schedule_lr(&t->sched, v - 1) : 0.0,
                    mt_mpi_server_theta(r->srv), mt_mpi_server_velocity(r->srv),
                    mt_mpi_server_state(r->srv), loss, correct, done * t->cfg.batch);
}

static int on_epoch_end(void *ctx, mt_mpi_server *srv, int64_t epoch, const mt_tau_hist *tau)
{
    mt_train_mpi *r = ctx;
    mt_trainer *t = r->t;
    if (epoch != t->epoch)
        return mt_error(MT_ERR_LIB, "trainer: the server ended epoch %lld, the trainer is in %d",
                        (long long)epoch + 1, t->epoch + 1);
    double now = mt_now(), train_s = now - r->t_epoch;
    int64_t v0 = t->step;
    sync_trainer(r);
    int64_t images = (t->step - v0) * r->per_step * t->cfg.batch;
    mt_mpi_timing tm;
    mt_mpi_server_timing(srv, &tm);
    double busy = tm.server_busy_s - r->timing_epoch.server_busy_s;
    double comm = tm.worker_comm_s - r->timing_epoch.worker_comm_s;
    double comp = tm.worker_compute_s - r->timing_epoch.worker_compute_s;
    char log_extra[192], line_extra[96];
    mt_train_tau_columns(tau, log_extra, sizeof log_extra, line_extra, sizeof line_extra);
    size_t len = strlen(log_extra);
    /* momentum: the mu in use at the epoch's end on shard 0 (momentum auto:
     * from the mean staleness of every push so far); dropped (bounded runs):
     * pushes the drop policy discarded in this epoch */
    len += (size_t)snprintf(log_extra + len, sizeof log_extra - len, ",%.5f,%.6g",
                            train_s > 0 ? busy / train_s : 0.0, mt_mpi_server_momentum(srv));
    if (r->cfg.max_staleness >= 0 && len < sizeof log_extra) {
        int64_t dropped = mt_mpi_server_dropped(srv);
        len += (size_t)snprintf(log_extra + len, sizeof log_extra - len, ",%lld",
                                (long long)(dropped - r->dropped_before));
        r->dropped_before = dropped;
    }
    if (len < sizeof log_extra)
        snprintf(log_extra + len, sizeof log_extra - len, ",%.5f",
                 comm + comp > 0 ? comm / (comm + comp) : 0.0);
    mt_epoch_report rep = {.images_per_s = train_s > 0 ? (double)images / train_s : 0,
                           .log_extra = log_extra,
                           .line_extra = line_extra};
    memset(r->loss, 0, (size_t)r->slots * sizeof *r->loss);
    memset(r->correct, 0, (size_t)r->slots * sizeof *r->correct);
    int rc = mt_trainer_end_epoch(t, &rep);
    r->t_epoch = mt_now();
    r->timing_epoch = tm;
    return rc;
}

/* ---- rank 0: checkpoints and reports --------------------------------------------- */

static int ckpt_add(void *ctx, mt_ckpt *c)
{
    mt_train_mpi *r = ctx;
    int rc = mt_ckpt_add(c, "mpi.tau_total", mt_mpi_server_tau_total(r->srv),
                         sizeof(mt_tau_hist));
    if (rc == MT_OK)
        rc = mt_train_records_ckpt(c, r->loss, r->correct, r->slots, 0);
    if (rc == MT_OK)
        rc = mt_mpi_server_ckpt_add(r->srv, c);
    /* Bounded: the drops before the epoch in progress, so that its log.csv
     * row counts the ones before a stop too. */
    if (rc == MT_OK && r->cfg.max_staleness >= 0)
        rc = mt_ckpt_add(c, "mpi.dropped_epoch_start", &r->dropped_before,
                         sizeof r->dropped_before);
    return rc;
}

static int ckpt_get(void *ctx, mt_ckpt *c)
{
    mt_train_mpi *r = ctx;
    int rc = mt_ckpt_get(c, "mpi.tau_total", mt_mpi_server_tau_total(r->srv),
                         sizeof(mt_tau_hist));
    if (rc == MT_OK)
        rc = mt_train_records_ckpt(c, r->loss, r->correct, r->slots, 1);
    if (rc == MT_OK)
        rc = mt_mpi_server_ckpt_load(r->srv, c);
    if (rc == MT_OK && r->cfg.max_staleness >= 0)
        rc = mt_ckpt_get(c, "mpi.dropped_epoch_start", &r->dropped_before,
                         sizeof r->dropped_before);
    return rc;
}

static json_t *world_json(const mt_train_mpi *r)
{
    json_t *hosts = json_array();
    for (int i = 0; i < mt_mpi_size(r->m); i++)
        json_array_append_new(hosts, json_string(mt_mpi_host(r->m, i)));
    json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:o, s:s, s:s, s:b}", "transport", "mpi",
                     "mode", mt_ps_mode_name(r->cfg.mode), "ranks", mt_mpi_size(r->m),
                     "server_ranks", mt_mpi_servers(r->m), "workers", mt_mpi_workers(r->m),
                     "threads_per_worker", r->cfg.threads, "distinct_hosts", mt_mpi_hosts(r->m),
                     "hosts", hosts, "library", mt_mpi_library_version(), "method",
                     mt_method_name((mt_method_kind)r->cfg.method), "momentum_auto",
                     r->cfg.momentum_auto);
    if (j && r->cfg.max_staleness >= 0) { /* as settings.ps has them in one process */
        json_object_set_new(j, "max_staleness", json_integer(r->cfg.max_staleness));
        json_object_set_new(j, "stale_policy",
                            json_string(r->cfg.stale_policy == MT_PS_STALE_DROP ? "drop" : "wait"));
    }
    return j;
}

static void config_json(void *ctx, json_t *config)
{
    mt_train_mpi *r = ctx;
    json_t *settings = json_object_get(config, "settings");
    if (settings)
        json_object_set_new(settings, "mpi", world_json(r));
}

static json_t *final_extra(void *ctx)
{
    mt_train_mpi *r = ctx;
    mt_mpi_timing tm;
    mt_mpi_server_timing(r->srv, &tm);
    json_t *w = world_json(r);
    double all = tm.worker_comm_s + tm.worker_compute_s;
    json_object_set_new(w, "comm_share", json_real(all > 0 ? tm.worker_comm_s / all : 0.0));
    /* Rank 0's shard: seconds handling messages, in the update, pushes. */
    json_object_set_new(w, "server_seconds",
                        json_pack("{s:f, s:f, s:I}", "busy", tm.server_busy_s, "update",
                                  tm.server_apply_s, "pushes", (json_int_t)tm.server_pushes));
    /* The workers' sums as of their last pull. */
    json_object_set_new(w, "worker_seconds",
                        json_pack("{s:f, s:f, s:I}", "comm", tm.worker_comm_s, "compute",
                                  tm.worker_compute_s, "gradients",
                                  (json_int_t)tm.worker_gradients));
    json_t *stale = mt_train_tau_json(mt_mpi_server_tau_total(r->srv));
    json_object_set_new(stale, "dropped", json_integer((json_int_t)mt_mpi_server_dropped(r->srv)));
    return json_pack("{s:o, s:o}", "staleness", stale, "mpi", w);
}

static void final_line(void *ctx, char *buf, size_t cap)
{
    mt_train_mpi *r = ctx;
    mt_tau_summary ts;
    mt_tau_hist_summary(mt_mpi_server_tau_total(r->srv), &ts);
    snprintf(buf, cap, "; tau mean %.2f max %lld", ts.mean, (long long)ts.max);
}

/* The engine's run on rank 0: the server's steps to `target` (SIGINT/SIGTERM
 * stop it at a consistent state), then the trainer up to date. */
static int engine_run(void *ctx, int64_t target)
{
    mt_train_mpi *r = ctx;
    r->t_epoch = r->t->t_epoch;
    mt_mpi_server_timing(r->srv, &r->timing_epoch);
    r->served = 1;
    int rc = mt_mpi_server_run(r->srv, target);
    sync_trainer(r);
    return rc == MT_ERR_INTERRUPTED ? MT_OK : rc;
}

/* ---- building --------------------------------------------------------------------- */

static int open_server(mt_train_mpi *r)
{
    mt_trainer *t = r->t;
    mt_ps_server_config sc;
    mt_ps_server_config_default(&sc, mt_net_param_count(t->net), mt_net_state_count(t->net));
    sc.opt = t->opt;
    sc.decay = &t->decay;
    sc.schedule = t->sched; /* steps per epoch as attached */
    sc.method = (mt_method_kind)r->cfg.method;
    sc.momentum_auto = r->cfg.momentum_auto;
    mt_mpi_ps_config pc;
    mt_mpi_ps_config_default(&pc);
    pc.mode = r->cfg.mode;
    pc.steps_per_epoch = t->steps_per_epoch;
    pc.max_staleness = r->cfg.max_staleness;
    pc.stale_policy = r->cfg.stale_policy;
    if (mt_mpi_rank(r->m) == 0) {
        pc.epoch_end = on_epoch_end;
        pc.epoch_ctx = r;
        pc.n_report = N_REPORT;
        pc.on_report = on_report;
        pc.report_ctx = r;
        pc.stop_poll = mt_signals_pending;
    }
    return mt_mpi_server_create(&r->srv, r->m, &sc, &pc, mt_net_params(t->net),
                                mt_net_state(t->net));
}

void mt_train_mpi_close(mt_train_mpi *r)
{
    if (!r)
        return;
    mt_mpi_server_free(r->srv);
    mt_mpi_worker_free(r->mw);
    mt_net_worker_free(&r->nw);
    free(r->loss);
    free(r->correct);
    free(r);
}

int mt_train_mpi_open(mt_train_mpi **out, mt_trainer *t, mt_mpi *m, const mt_train_mpi_config *p)
{
    *out = NULL;
    if (p->mode != MT_PS_ASYNC && p->mode != MT_PS_SYNC)
        return mt_error(MT_ERR_ARG, "--mode %s: delay mode simulates staleness in one process; "
                        "over MPI the modes are async and sync", mt_ps_mode_name(p->mode));
    mt_train_mpi *r = calloc(1, sizeof *r);
    if (!r)
        return mt_error(MT_ERR_NOMEM, "trainer: out of memory");
    r->t = t;
    r->m = m;
    r->cfg = *p;
    r->per_step = p->mode == MT_PS_SYNC ? mt_mpi_workers(m) : 1;
    mt_trainer_engine e = {.ctx = r,
                           .run = engine_run,
                           .ckpt_add = ckpt_add,
                           .ckpt_get = ckpt_get,
                           .log_columns = p->max_staleness >= 0 ? MPI_LOG_COLUMNS_BOUNDED
                                                                : MPI_LOG_COLUMNS,
                           .final_extra = final_extra,
                           .config_json = config_json,
                           .final_line = final_line,
                           .eval_threads = p->threads};
    uint64_t h = mt_hash64_str(t->config_hash, "ps");
    h = mt_hash64_u64(h, (uint64_t)p->mode);
    h = mt_hash64_u64(h, (uint64_t)mt_mpi_workers(m));
    if (p->method != MT_METHOD_MSGD || p->momentum_auto) { /* msgd's runs keep their hash */
        h = mt_hash64_u64(h, (uint64_t)p->method);
        h = mt_hash64_u64(h, (uint64_t)p->momentum_auto);
    }
    if (p->max_staleness >= 0) { /* unbounded runs keep theirs */
        h = mt_hash64_u64(h, (uint64_t)p->max_staleness);
        h = mt_hash64_u64(h, (uint64_t)p->stale_policy);
    }
    int rc = mt_trainer_attach(t, &e, r->per_step, h);
    if (rc != MT_OK) {
        mt_train_mpi_close(r);
        return mt_error_context(rc, "--transport mpi with %d worker ranks", mt_mpi_workers(m));
    }
    r->slots = t->steps_per_epoch * r->per_step;
    r->steps = (int64_t)t->cfg.epochs * t->steps_per_epoch;
    if (mt_mpi_rank(m) == 0) {
        r->loss = calloc((size_t)r->slots, sizeof *r->loss);
        r->correct = calloc((size_t)r->slots, sizeof *r->correct);
        if (!r->loss || !r->correct)
            rc = mt_error(MT_ERR_NOMEM, "trainer: out of memory");
    }
    if (rc == MT_OK)
        rc = mt_mpi_is_server(m) ? open_server(r) : open_worker(r);
    if (rc != MT_OK) {
        mt_train_mpi_close(r);
        return rc;
    }
    *out = r;
    return MT_OK;
}

int mt_train_mpi_restore(mt_train_mpi *r)
{
    mt_trainer *t = r->t;
    int r0 = mt_mpi_rank(r->m) == 0;
    int64_t step = t->step;
    return mt_mpi_server_restore(r->srv, r0 ? mt_net_params(t->net) : NULL,
                                 r0 ? t->velocity : NULL, r0 ? mt_net_state(t->net) : NULL,
                                 step);
}

int mt_train_mpi_serve(mt_train_mpi *r)
{
    if (r->srv)
        return mt_mpi_server_run(r->srv, r->steps);
    omp_set_num_threads(r->cfg.threads);
    return mt_worker_loop(&r->loop, &r->tr.base, mt_mpi_worker_index(r->m));
}

int mt_train_mpi_release(mt_train_mpi *r)
{
    if (r->served || mt_mpi_rank(r->m) != 0)
        return MT_OK;
    r->served = 1;
    /* Every pull now gets the end of the run. */
    return mt_mpi_server_run(r->srv, mt_mpi_server_version(r->srv));
}

void mt_train_mpi_describe(const mt_train_mpi *r, FILE *out)
{
    const mt_mpi *m = r->m;
    int S = mt_mpi_servers(m), W = mt_mpi_workers(m);
    fprintf(out, "mpi: %d %s worker rank%s x %d thread%s, %d server rank%s, %d host%s\n", W,
            mt_ps_mode_name(r->cfg.mode), W == 1 ? "" : "s", r->cfg.threads,
            r->cfg.threads == 1 ? "" : "s", S, S == 1 ? "" : "s", mt_mpi_hosts(m),
            mt_mpi_hosts(m) == 1 ? "" : "s");
    for (int i = 0; i < mt_mpi_size(m); i++)
        fprintf(out, "  rank %d: %s on %s\n", i,
                i == 0 ? "server (coordinator, shard 0, BN state)"
                : i < S ? "server"
                        : "worker",
                mt_mpi_host(m, i));
}

uint64_t mt_train_mpi_hash(const mt_train_mpi *r, const char *out_dir)
{
    uint64_t h = mt_hash64_u64(r->t->config_hash, (uint64_t)mt_mpi_servers(r->m));
    h = mt_hash64_u64(h, (uint64_t)r->cfg.threads);
    return mt_hash64_str(h, out_dir);
}
