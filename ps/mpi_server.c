/* mpi_server.c: a server rank's setup: its shard as an mt_ps_server of its
 * own (weight-decay ranges cut to the shard), the buffers, restoring a
 * checkpoint (scatter) and the gathers to rank 0; accessors (ps/mpi_ps.h). */
#include "ps/mpi_server_impl.h"

#include "core/status.h"
#include "ps/ps.h"

#include <stdlib.h>
#include <string.h>

void mt_mpi_ps_config_default(mt_mpi_ps_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->mode = MT_PS_ASYNC;
    cfg->steps_per_epoch = 1;
    cfg->idle_sleep_us = 50;
    cfg->max_staleness = -1;
}

static float *alloc_floats(size_t n)
{
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

/* The whole model's weight-decay ranges restricted to [b, e), shifted to 0.
 * Gaps stay gaps (not decayed), as in mt_msgd_apply. */
static int cut_ranges(mt_msgd_ranges *out, const mt_msgd_ranges *all, size_t n, size_t b,
                      size_t e)
{
    int rc = mt_msgd_ranges_init(out, e - b);
    if (rc < 0)
        return rc;
    if (!all)
        return e > b ? mt_msgd_ranges_add(out, 0, e - b, 1) : MT_OK;
    for (int i = 0; i < all->n_ranges && rc == MT_OK; i++) {
        size_t lo = all->ranges[i].offset, hi = lo + all->ranges[i].count;
        lo = lo > b ? lo : b;
        hi = hi < e ? hi : e;
        if (lo < hi)
            rc = mt_msgd_ranges_add(out, lo - b, hi - lo, all->ranges[i].decay);
    }
    return rc;
}

void mt_mpi_server_free(mt_mpi_server *srv)
{
    if (!srv)
        return;
    for (int w = 0; srv->peer && w < srv->W; w++) {
        free(srv->peer[w].grad);
        free(srv->peer[w].state_new);
        free(srv->peer[w].state_read);
    }
    free(srv->peer);
    free(srv->theta_req);
    free(srv->state_req);
    free(srv->ticket_req);
    free(srv->grad);
    free(srv->state_new);
    free(srv->report);
    free(srv->avg_grad);
    free(srv->avg_state);
    free(srv->src);
    free(srv->pull_copy);
    free(srv->auto_all);
    if (srv->own_method)
        mt_method_free(srv->method_all);
    if (srv->S > 1) {
        free(srv->theta_all);
        free(srv->velocity_all);
    }
    free(srv->counts);
    free(srv->displs);
    mt_ps_server_free(srv->shard);
    free(srv);
}

static int create_shard(mt_mpi_server *srv, const mt_ps_server_config *server,
                        const float *theta0, const float *state0)
{
    mt_msgd_ranges decay;
    int rc = cut_ranges(&decay, server->decay, srv->n, srv->begin, srv->end);
    if (rc < 0) {
        mt_msgd_ranges_free(&decay);
        return rc;
    }
    mt_ps_server_config c = *server;
    c.n = srv->len ? srv->len : 1; /* an empty shard keeps one unused float */
    c.n_state = srv->n_state;
    c.shards = 1;
    c.workers = srv->W; /* dana's momentum per worker rank */
    c.decay = srv->len ? &decay : NULL;
    float pad = 0.0f;
    rc = mt_ps_server_create(&srv->shard, &c, srv->len ? theta0 + srv->begin : &pad, state0);
    mt_msgd_ranges_free(&decay);
    return rc;
}

/* Whether the shard's method needs to keep what each worker pulled: dana's
 * look-ahead is not theta, dc-asgd's correction needs theta_read. In sync mode
 * tau = 0 and neither is needed (dana is refused there). */
static int keeps_reads(const mt_mpi_server *srv)
{
    const mt_method *m = mt_ps_server_method(srv->shard);
    return srv->cfg.mode == MT_PS_ASYNC &&
           (mt_method_config_of(m)->kind == MT_METHOD_DANA || mt_method_needs_read(m));
}

/* Rank 0, S > 1: the whole model's method, where the shards' state is
 * gathered for checkpoints; 0 or -1. */
static int alloc_method_all(mt_mpi_server *srv)
{
    mt_method *mine = mt_ps_server_method(srv->shard);
    if (srv->S == 1) {
        srv->method_all = mine;
        return 0;
    }
    srv->own_method = 1;
    if (mt_method_create(&srv->method_all, mt_method_config_of(mine), NULL, srv->n) < 0)
        return -1;
    if (mt_method_config_of(mine)->momentum_auto &&
        !(srv->auto_all = calloc(2 * (size_t)srv->S, sizeof(double))))
        return -1;
    return 0;
}

/* The buffers of the mode and the role; 0 or -1. */
static int alloc_buffers(mt_mpi_server *srv)
{
    int W = srv->W, sync = srv->cfg.mode == MT_PS_SYNC, r0 = srv->rank == 0;
    int fail = !(srv->peer = calloc((size_t)W, sizeof *srv->peer)) ||
               !(srv->theta_req = malloc((size_t)W * sizeof *srv->theta_req)) ||
               !(srv->state_req = malloc((size_t)W * sizeof *srv->state_req)) ||
               !(srv->ticket_req = malloc((size_t)W * sizeof *srv->ticket_req)) ||
               !(srv->src = calloc((size_t)W, sizeof *srv->src));
    if (fail)
        return -1;
    for (int w = 0; w < W; w++) {
        srv->theta_req[w] = srv->state_req[w] = srv->ticket_req[w] = MPI_REQUEST_NULL;
        struct mpi_peer *p = &srv->peer[w];
        p->ticket_step = -1;
        if (sync)
            fail |= !(p->grad = alloc_floats(srv->len));
        if (sync && r0 && srv->n_state)
            fail |= !(p->state_new = alloc_floats(srv->n_state));
        if (r0 && srv->n_state)
            fail |= !(p->state_read = alloc_floats(srv->n_state));
    }
    if (!sync) {
        fail |= !(srv->grad = alloc_floats(srv->len));
        if (r0 && srv->n_state)
            fail |= !(srv->state_new = alloc_floats(srv->n_state));
    } else if (W > 1) {
        fail |= !(srv->avg_grad = alloc_floats(srv->len));
        if (r0 && srv->n_state)
            fail |= !(srv->avg_state = alloc_floats(srv->n_state));
    }
    if (r0) {
        fail |= !(srv->report = calloc((size_t)srv->cfg.n_report + 1, sizeof(double))) ||
                !(srv->counts = calloc((size_t)srv->S, sizeof(int))) ||
                !(srv->displs = calloc((size_t)srv->S, sizeof(int)));
        if (srv->S > 1)
            fail |= !(srv->theta_all = alloc_floats(srv->n)) ||
                    !(srv->velocity_all = alloc_floats(srv->n));
        fail |= alloc_method_all(srv) < 0;
    }
    if (keeps_reads(srv)) {
        /* Each copy on its own cache lines; an empty shard keeps one float. */
        srv->copy_stride = (mt_ps_server_n(srv->shard) + 15) / 16 * 16;
        fail |= !(srv->pull_copy = alloc_floats((size_t)W * srv->copy_stride));
    }
    return fail ? -1 : 0;
}

int mt_mpi_server_create(mt_mpi_server **out, mt_mpi *m, const mt_ps_server_config *server,
                         const mt_mpi_ps_config *cfg, const float *theta0, const float *state0)
{
    *out = NULL;
    if (!mt_mpi_is_server(m))
        return mt_error(MT_ERR_ARG, "mpi: rank %d is a worker, not a server rank", m->rank);
    if (cfg->mode != MT_PS_ASYNC && cfg->mode != MT_PS_SYNC)
        return mt_error(MT_ERR_ARG, "mpi: mode %s runs in one process only; over MPI: async "
                        "or sync", mt_ps_mode_name(cfg->mode));
    if (cfg->steps_per_epoch < 1)
        return mt_error(MT_ERR_ARG, "mpi: steps per epoch %lld < 1",
                        (long long)cfg->steps_per_epoch);
    if (cfg->n_report < 0 || cfg->n_report > 64)
        return mt_error(MT_ERR_ARG, "mpi: %d report numbers per push is not in [0, 64]",
                        cfg->n_report);
    if (cfg->max_staleness >= 0 && cfg->mode != MT_PS_ASYNC)
        return mt_error(MT_ERR_ARG, "mpi: max staleness: only async mode has staleness to bound "
                        "(the mode is %s)", mt_ps_mode_name(cfg->mode));
    if (cfg->stale_policy != MT_PS_STALE_WAIT && cfg->stale_policy != MT_PS_STALE_DROP)
        return mt_error(MT_ERR_ARG, "mpi: stale policy %d is not wait or drop", cfg->stale_policy);
    if (server->n > (size_t)2147483647)
        return mt_error(MT_ERR_ARG, "mpi: %zu parameters exceed MPI's int counts", server->n);
    if (server->method == MT_METHOD_DANA && cfg->mode == MT_PS_SYNC)
        return mt_error(MT_ERR_ARG, "mpi: method dana is not defined for sync mode (one "
                        "averaged step has no worker to keep a momentum for)");
    mt_ps_server_config check = *server;
    check.shards = 1;
    int rc = mt_ps_server_config_check(&check);
    if (rc < 0)
        return rc;
    mt_mpi_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return mt_error(MT_ERR_NOMEM, "mpi: out of memory");
    srv->m = m;
    srv->cfg = *cfg;
    srv->rank = m->rank;
    srv->S = m->servers;
    srv->W = m->size - m->servers;
    srv->n = server->n;
    srv->n_state = srv->rank == 0 ? server->n_state : 0;
    srv->epoch_at = srv->end_at = -1;
    srv->expect = -1;
    mt_ps_shard_range(srv->n, srv->S, srv->rank, &srv->begin, &srv->end);
    srv->len = srv->end - srv->begin;
    rc = create_shard(srv, server, theta0, state0);
    if (rc == MT_OK && alloc_buffers(srv) < 0)
        rc = mt_error(MT_ERR_NOMEM, "mpi: rank %d: out of memory for %d workers' buffers",
                      srv->rank, srv->W);
    if (rc < 0) {
        mt_mpi_server_free(srv);
        return rc;
    }
    if (srv->rank == 0) {
        for (int s = 0; s < srv->S; s++) {
            size_t b, e;
            mt_ps_shard_range(srv->n, srv->S, s, &b, &e);
            srv->counts[s] = (int)(e - b);
            srv->displs[s] = (int)b;
        }
        if (srv->S == 1) {
            srv->theta_all = mt_ps_server_theta(srv->shard);
            srv->velocity_all = mt_ps_server_velocity(srv->shard);
        }
    }
    *out = srv;
    return MT_OK;
}

/* Scatter (to_shards) or gather one whole-model buffer over the server ranks. */
static int move(mt_mpi_server *srv, float *all, float *mine, int to_shards)
{
    if (srv->S == 1) {
        if (all != mine)
            memcpy(to_shards ? mine : all, to_shards ? all : mine, srv->len * sizeof(float));
        return MT_OK;
    }
    int count = (int)srv->len;
    if (to_shards)
        return MT_MPI(MPI_Scatterv(all, srv->counts, srv->displs, MPI_FLOAT, mine, count,
                                   MPI_FLOAT, 0, srv->m->role));
    return MT_MPI(MPI_Gatherv(mine, count, MPI_FLOAT, all, srv->counts, srv->displs, MPI_FLOAT,
                              0, srv->m->role));
}

/* The auto-momentum statistics of every shard to rank 0's auto_all (each
 * shard measures its own tau, so with S > 1 they may differ), or back. */
static int move_auto(mt_mpi_server *srv, int to_shards)
{
    mt_momentum_auto *a = mt_method_auto(mt_ps_server_method(srv->shard));
    double mine[2] = {a->tau_sum, (double)a->count}; /* counts are exact below 2^53 */
    int rc = to_shards ? MT_MPI(MPI_Scatter(srv->auto_all, 2, MPI_DOUBLE, mine, 2, MPI_DOUBLE,
                                            0, srv->m->role))
                       : MT_MPI(MPI_Gather(mine, 2, MPI_DOUBLE, srv->auto_all, 2, MPI_DOUBLE,
                                           0, srv->m->role));
    if (rc == MT_OK && to_shards) {
        a->tau_sum = mine[0];
        a->count = (int64_t)mine[1];
    }
    if (rc == MT_OK && !to_shards && srv->rank == 0) {
        /* method.auto_* of the checkpoint: shard 0's, as with one shard. */
        a = mt_method_auto(srv->method_all);
        a->tau_sum = srv->auto_all[0];
        a->count = (int64_t)srv->auto_all[1];
    }
    return rc;
}

/* The method's state between the shards and rank 0's method_all, like theta:
 * MeanSquare, each worker's dana momentum, the auto statistics. */
static int move_method(mt_mpi_server *srv, int to_shards)
{
    mt_method *mine = mt_ps_server_method(srv->shard), *all = srv->method_all;
    size_t stride = mt_ps_server_n(srv->shard); /* an empty shard's method holds one float */
    float *ms = mt_method_mean_square(mine), *u = mt_method_dana_u(mine);
    int rc = MT_OK;
    if (ms)
        rc = move(srv, all ? mt_method_mean_square(all) : NULL, ms, to_shards);
    for (int w = 0; u && w < srv->W && rc == MT_OK; w++)
        rc = move(srv, all ? mt_method_dana_u(all) + (size_t)w * srv->n : NULL,
                  u + (size_t)w * stride, to_shards);
    if (rc == MT_OK && srv->S > 1 && mt_method_config_of(mine)->momentum_auto)
        rc = move_auto(srv, to_shards);
    return rc;
}

int mpi_gather(mt_mpi_server *srv)
{
    int rc = move(srv, srv->theta_all, mt_ps_server_theta(srv->shard), 0);
    if (rc == MT_OK)
        rc = move(srv, srv->velocity_all, mt_ps_server_velocity(srv->shard), 0);
    if (rc == MT_OK)
        rc = move_method(srv, 0);
    return rc;
}

int mt_mpi_server_restore(mt_mpi_server *srv, const float *theta, const float *velocity,
                          const float *state, int64_t version)
{
    if (srv->rank == 0 && (!theta || !velocity || (srv->n_state && !state)))
        return mt_error(MT_ERR_ARG, "mpi: restore without theta, velocity or state on rank 0");
    /* Rank 0's version: only rank 0 has read the checkpoint. */
    int64_t k = version;
    int rc = srv->S > 1 ? MT_MPI(MPI_Bcast(&k, 1, MPI_INT64_T, 0, srv->m->role)) : MT_OK;
    /* MPI_Scatterv's send buffer is const in MPI-3; the move helper is not. */
    if (rc == MT_OK)
        rc = move(srv, (float *)theta, mt_ps_server_theta(srv->shard), 1);
    if (rc == MT_OK)
        rc = move(srv, (float *)velocity, mt_ps_server_velocity(srv->shard), 1);
    if (rc == MT_OK)
        rc = move_method(srv, 1); /* from method_all, as mt_mpi_server_ckpt_load left it */
    if (rc == MT_OK && srv->n_state && state != mt_ps_server_state(srv->shard))
        memcpy(mt_ps_server_state(srv->shard), state, srv->n_state * sizeof(float));
    if (rc == MT_OK)
        rc = mt_ps_server_set_version(srv->shard, k);
    /* Rank 0's whole-model buffers from the shards: collective, so every
     * server rank gathers (rank 0 alone would wait for the others forever). */
    if (rc == MT_OK && srv->S > 1)
        rc = mpi_gather(srv);
    return rc;
}

int mt_mpi_server_ckpt_add(mt_mpi_server *srv, mt_ckpt *c)
{
    int rc = mt_method_ckpt_add(srv->method_all, c);
    if (rc == MT_OK && srv->auto_all)
        rc = mt_ckpt_add(c, "mpi.auto_shards", srv->auto_all, 2 * (size_t)srv->S * sizeof(double));
    if (rc == MT_OK && mpi_bounded(srv))
        rc = mt_ckpt_add(c, "mpi.dropped", &srv->dropped, sizeof srv->dropped);
    return rc;
}

int mt_mpi_server_ckpt_load(mt_mpi_server *srv, const mt_ckpt *c)
{
    int rc = mt_method_ckpt_load(srv->method_all, c);
    if (rc == MT_OK && srv->auto_all)
        rc = mt_ckpt_get(c, "mpi.auto_shards", srv->auto_all,
                         2 * (size_t)srv->S * sizeof(double));
    if (rc == MT_OK && mpi_bounded(srv))
        rc = mt_ckpt_get(c, "mpi.dropped", &srv->dropped, sizeof srv->dropped);
    if (rc == MT_OK && srv->dropped < 0)
        return mt_error(MT_ERR_FORMAT, "%s: mpi.dropped is %lld < 0", c->path,
                        (long long)srv->dropped);
    return rc;
}

void mt_mpi_server_request_stop(mt_mpi_server *srv) { srv->stop_requested = 1; }

float *mt_mpi_server_theta(mt_mpi_server *srv) { return srv->theta_all; }
float *mt_mpi_server_velocity(mt_mpi_server *srv) { return srv->velocity_all; }
float *mt_mpi_server_state(mt_mpi_server *srv) { return mt_ps_server_state(srv->shard); }
int64_t mt_mpi_server_version(const mt_mpi_server *srv)
{
    return mt_ps_server_version(srv->shard);
}
double mt_mpi_server_momentum(const mt_mpi_server *srv)
{
    return mt_method_momentum(mt_ps_server_method(srv->shard));
}
void mt_mpi_server_shard(const mt_mpi_server *srv, size_t *begin, size_t *end)
{
    *begin = srv->begin;
    *end = srv->end;
}
mt_tau_hist *mt_mpi_server_tau_epoch(mt_mpi_server *srv) { return &srv->tau_epoch; }
mt_tau_hist *mt_mpi_server_tau_total(mt_mpi_server *srv) { return &srv->tau_total; }
int64_t mt_mpi_server_dropped(const mt_mpi_server *srv) { return srv->dropped; }

void mt_mpi_server_timing(const mt_mpi_server *srv, mt_mpi_timing *out)
{
    memset(out, 0, sizeof *out);
    out->server_busy_s = srv->busy_s;
    out->server_apply_s = srv->apply_s;
    out->server_pushes = srv->pushes;
    for (int w = 0; srv->rank == 0 && w < srv->W; w++) {
        out->worker_comm_s += srv->peer[w].timing.comm_s;
        out->worker_compute_s += srv->peer[w].timing.compute_s;
        out->worker_gradients += (int64_t)srv->peer[w].timing.gradients;
    }
}
