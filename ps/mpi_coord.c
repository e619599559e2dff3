/* mpi_coord.c: rank 0's decisions: tickets (the shared batch counter in
 * async mode, kW + w in sync mode), the epoch gate and the epoch-end
 * callback on a gathered snapshot, bounded staleness (which push goes next,
 * or is dropped), stops and failures, and the end of the run.
 * The same rules as ps/run_async.c and ps/run_sync.c, driven by messages
 * instead of threads. */
#include "ps/mpi_server_impl.h"

#include "core/status.h"
#include "ps/ps.h"
#include "ps/stale_bound.h"

#include <stdint.h>
#include <stdio.h>

static int64_t next_gate(const mt_mpi_server *srv, int64_t v)
{
    int64_t spe = srv->cfg.steps_per_epoch;
    int64_t g = (v / spe + 1) * spe;
    return g < srv->steps ? g : srv->steps;
}

static int should_stop(const mt_mpi_server *srv)
{
    return srv->status != 0 || srv->stop_by_epoch || srv->stop_seen;
}

void mpi_coord_start(mt_mpi_server *srv)
{
    int64_t v = mt_ps_server_version(srv->shard);
    srv->status = 0;
    srv->errmsg[0] = '\0';
    srv->stop_by_epoch = 0;
    srv->stop_seen = 0;
    srv->finished = 0;
    srv->next = srv->done = v;
    srv->out = 0;
    srv->gate = next_gate(srv, v);
    srv->go = v < srv->steps;
    for (int w = 0; w < srv->W; w++) {
        srv->peer[w].waiting = 0;
        srv->peer[w].done = 0;
        srv->peer[w].ticket_step = -1;
        srv->peer[w].inflight = -1;
        srv->peer[w].pending = 0;
    }
}

static int tell_others(mt_mpi_server *srv, int tag, int64_t worker, int64_t value,
                       int64_t status)
{
    struct ctl_msg c = {worker, value, status};
    int rc = MT_OK;
    for (int s = 1; s < srv->S && rc == MT_OK; s++)
        rc = MT_MPI(MPI_Send(&c, 3, MPI_INT64_T, s, tag, srv->m->data));
    return rc;
}

static int end_worker(mt_mpi_server *srv, int w)
{
    srv->peer[w].done = 1;
    srv->finished++;
    int rc = mpi_serve_end(srv, w);
    return rc < 0 ? rc : tell_others(srv, TAG_GRANT, w, 0, 0);
}

static int give(mt_mpi_server *srv, int w, int64_t batch)
{
    int64_t k = mt_ps_server_version(srv->shard);
    srv->peer[w].ticket = (struct ticket_msg){k, batch, 1};
    srv->peer[w].inflight = k;
    int rc = mpi_serve_pull(srv, w);
    return rc < 0 ? rc : tell_others(srv, TAG_GRANT, w, 1, 0);
}

/* Answers worker w's pull, or leaves it waiting (for the epoch gate in async
 * mode, for the step's other gradients in sync mode; with bounded staleness
 * for its own push to be decided, and under the wait policy while S + 1
 * tickets are out). Async tickets count done + out, which is `next` unless
 * pushes were dropped. */
static int answer(mt_mpi_server *srv, int w)
{
    struct mpi_peer *p = &srv->peer[w];
    if (srv->cfg.mode == MT_PS_SYNC) {
        int64_t k = mt_ps_server_version(srv->shard);
        if (srv->status != 0)
            return end_worker(srv, w);
        if (p->ticket_step == k) {
            p->waiting = 1;
            return MT_OK;
        }
        if (!srv->go)
            return end_worker(srv, w);
        p->ticket_step = k;
        return give(srv, w, k * srv->W + w);
    }
    int bounded = mpi_bounded(srv);
    int64_t claimed = srv->done + srv->out;
    if (bounded && p->pending) {
        p->waiting = 1;
        return MT_OK;
    }
    if (should_stop(srv) || claimed >= srv->steps)
        return end_worker(srv, w);
    if (claimed >= srv->gate ||
        (bounded && srv->cfg.stale_policy == MT_PS_STALE_WAIT &&
         srv->out >= srv->cfg.max_staleness + 1)) {
        p->waiting = 1;
        return MT_OK;
    }
    srv->out++;
    return give(srv, w, srv->next++);
}

static int release_waiting(mt_mpi_server *srv)
{
    int rc = MT_OK;
    for (int w = 0; w < srv->W && rc == MT_OK; w++)
        if (srv->peer[w].waiting) {
            srv->peer[w].waiting = 0;
            rc = answer(srv, w);
        }
    return rc;
}

int mpi_coord_pull(mt_mpi_server *srv, int w)
{
    if (srv->peer[w].done)
        return mt_error(MT_ERR_FORMAT, "mpi: rank 0: worker rank %d pulled after its end",
                        mpi_worker_rank(srv, w));
    return answer(srv, w);
}

static void record_failure(mt_mpi_server *srv, int status, const char *message)
{
    if (srv->status == 0) {
        srv->status = status < 0 ? status : MT_ERR_LIB;
        snprintf(srv->errmsg, sizeof srv->errmsg, "%s", message);
    }
}

/* Every push below `v` is applied on every shard and no later ticket is out:
 * gather the shards and run the callback on the snapshot. */
static int epoch_close(mt_mpi_server *srv, int64_t v)
{
    int rc = tell_others(srv, TAG_EPOCH, 0, v, 0);
    if (rc == MT_OK)
        rc = mpi_gather(srv);
    if (rc < 0)
        return rc;
    if (srv->cfg.epoch_end) {
        int64_t epoch = v / srv->cfg.steps_per_epoch - 1;
        int r = srv->cfg.epoch_end(srv->cfg.epoch_ctx, srv, epoch, &srv->tau_epoch);
        if (r < 0)
            record_failure(srv, r, mt_errmsg());
        else if (r > 0)
            srv->stop_by_epoch = 1;
    }
    mt_tau_hist_clear(&srv->tau_epoch);
    return MT_OK;
}

int mpi_coord_pushed(mt_mpi_server *srv, int w, int64_t tau)
{
    mt_tau_hist_add(&srv->tau_epoch, tau);
    mt_tau_hist_add(&srv->tau_total, tau);
    srv->out--;
    srv->peer[w].inflight = -1;
    if (++srv->done != srv->gate)
        return MT_OK;
    int rc = MT_OK;
    if (srv->gate % srv->cfg.steps_per_epoch == 0)
        rc = epoch_close(srv, srv->gate);
    srv->gate = next_gate(srv, srv->gate);
    return rc < 0 ? rc : release_waiting(srv);
}

/* ---- bounded staleness: the rules of ps/run_async.c, on rank 0 -------------- */

/* Wait policy (ps/stale_bound.h): the pushes that may land now are those
 * pulled at versions up to the returned one. */
static int64_t admissible_upto(const mt_mpi_server *srv)
{
    int64_t inflight[srv->W];
    for (int i = 0; i < srv->W; i++)
        inflight[i] = srv->peer[i].inflight;
    return mt_stale_admissible_upto(inflight, srv->W, mt_ps_server_version(srv->shard),
                                    srv->cfg.max_staleness);
}

/* The pending push to decide next, in the order of arrival: under the wait
 * policy the first admissible one (any once the run has failed, as in one
 * process), under the drop policy the first; -1: none. */
static int next_decision(const mt_mpi_server *srv)
{
    int best = -1;
    int wait = srv->cfg.stale_policy == MT_PS_STALE_WAIT && srv->status == 0;
    int64_t limit = wait ? admissible_upto(srv) : INT64_MAX;
    for (int w = 0; w < srv->W; w++) {
        const struct mpi_peer *p = &srv->peer[w];
        if (p->pending && p->inflight <= limit &&
            (best < 0 || p->arrival < srv->peer[best].arrival))
            best = w;
    }
    return best;
}

/* Applies worker w's push, or drops it when its tau exceeds S under the drop
 * policy (counted; its ticket goes out again). The other server ranks are
 * told first, so they take the pushes in the order decided here. */
static int decide(mt_mpi_server *srv, int w)
{
    struct mpi_peer *p = &srv->peer[w];
    int64_t tau = mt_ps_server_version(srv->shard) - p->ticket.version;
    int apply = srv->cfg.stale_policy != MT_PS_STALE_DROP || tau <= srv->cfg.max_staleness;
    p->pending = 0;
    int rc = tell_others(srv, TAG_SEQ, w, apply, 0);
    if (rc < 0)
        return rc;
    if (!apply) {
        srv->dropped++;
        srv->out--;
        p->inflight = -1;
    }
    return mpi_take_push(srv, w, apply); /* applied: mpi_coord_pushed */
}

/* Decides every pending push that may be decided, then answers the pulls
 * that can be answered (unbounded: only the latter). */
static int settle(mt_mpi_server *srv)
{
    int rc = MT_OK;
    for (int w; rc == MT_OK && mpi_bounded(srv) && (w = next_decision(srv)) >= 0;)
        rc = decide(srv, w);
    return rc < 0 ? rc : release_waiting(srv);
}

int mpi_coord_arrived(mt_mpi_server *srv, int w)
{
    struct mpi_peer *p = &srv->peer[w];
    if (p->pending || p->inflight < 0)
        return mt_error(MT_ERR_FORMAT, "mpi: rank 0: worker rank %d pushed without a ticket",
                        mpi_worker_rank(srv, w));
    p->pending = 1;
    p->arrival = srv->arrivals++;
    return settle(srv);
}

int mpi_coord_stepped(mt_mpi_server *srv)
{
    for (int j = 0; j < srv->W; j++) {
        mt_tau_hist_add(&srv->tau_epoch, 0);
        mt_tau_hist_add(&srv->tau_total, 0);
    }
    int64_t v = mt_ps_server_version(srv->shard);
    int rc = MT_OK;
    if (v % srv->cfg.steps_per_epoch == 0)
        rc = epoch_close(srv, v);
    srv->go = !should_stop(srv) && v < srv->steps;
    return rc < 0 ? rc : release_waiting(srv);
}

int mpi_coord_fail(mt_mpi_server *srv, int w, int status, const char *message)
{
    char text[560];
    snprintf(text, sizeof text, "rank %d: %s", mpi_worker_rank(srv, w), message);
    record_failure(srv, status, text);
    if (!srv->peer[w].done) {
        srv->peer[w].done = 1;
        srv->peer[w].waiting = 0;
        srv->finished++;
    }
    return settle(srv);
}

int mpi_coord_error(mt_mpi_server *srv, int status)
{
    record_failure(srv, status, mt_errmsg());
    return settle(srv);
}

int mpi_coord_stop(mt_mpi_server *srv)
{
    srv->stop_seen = 1;
    return settle(srv);
}

int mpi_coord_finish(mt_mpi_server *srv)
{
    int64_t v = mt_ps_server_version(srv->shard);
    if (srv->status == 0 && v < srv->steps && !srv->stop_by_epoch && srv->stop_seen) {
        srv->status = MT_ERR_INTERRUPTED;
        snprintf(srv->errmsg, sizeof srv->errmsg, "mpi: stopped at step %lld of %lld",
                 (long long)v, (long long)srv->steps);
    }
    return tell_others(srv, TAG_END, 0, v, srv->status);
}
